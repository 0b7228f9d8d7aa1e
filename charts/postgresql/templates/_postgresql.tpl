{{/* Name of the Secret holding the superuser password (key `postgres-password`). */}}
{{- define "postgresql.authSecret" -}}
{{- .Values.auth.existingSecret | default (printf "%s-auth" (include "airyard.fullname" .)) -}}
{{- end -}}

{{/* The in-cluster host name clients use. */}}
{{- define "postgresql.host" -}}
{{- printf "%s.%s.svc" (include "airyard.fullname" .) .Release.Namespace -}}
{{- end -}}

{{/* Connection Secret of one database: include "postgresql.databaseSecret" (dict "ctx" . "db" $db) */}}
{{- define "postgresql.databaseSecret" -}}
{{- printf "%s-%s" (include "airyard.fullname" .ctx) (.db.name | replace "_" "-") -}}
{{- end -}}

{{/* Fails the render when two databases share a name or an owner (one password per role). */}}
{{- define "postgresql.checkDatabases" -}}
{{- $names := list -}}
{{- $users := list -}}
{{- range .Values.databases -}}
{{- if has (.name | replace "_" "-") $names -}}
{{- fail (printf "databases: the name %q appears twice (names differing only in _ and - share a Secret)" .name) -}}
{{- end -}}
{{- if has .user $users -}}
{{- fail (printf "databases: the user %q owns two databases; give each database its own user" .user) -}}
{{- end -}}
{{- $names = append $names (.name | replace "_" "-") -}}
{{- $users = append $users .user -}}
{{- end -}}
{{- end -}}
