{{/* The S3 connection Secret (keys endpoint, region, access-key, secret-key). */}}
{{- define "backup.targetSecret" -}}
{{- .Values.target.existingSecret | default (printf "%s-user-backup" (include "airyard.peerFullname" (dict "ctx" . "chart" "objectstore"))) -}}
{{- end -}}

{{/* A service of this release: host or Secret, unless set ((list . "postgresql" "auth")). */}}
{{- define "backup.peer" -}}
{{- printf "%s%s" (include "airyard.peerFullname" (dict "ctx" (index . 0) "chart" (index . 1))) (index . 2) -}}
{{- end -}}
