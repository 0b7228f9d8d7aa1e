{{/* Name of the Secret holding the password (key `password`). */}}
{{- define "redis.authSecret" -}}
{{- .Values.auth.existingSecret | default (printf "%s-auth" (include "airyard.fullname" .)) -}}
{{- end -}}
