{{/* Name of the Secret holding the administrative password (key `password`). */}}
{{- define "mongodb.authSecret" -}}
{{- .Values.auth.existingSecret | default (printf "%s-auth" (include "airyard.fullname" .)) -}}
{{- end -}}

{{/* The connection Secret of one declared database: <fullname>-<database>. */}}
{{- define "mongodb.databaseSecret" -}}
{{- printf "%s-%s" (include "airyard.fullname" .ctx) .db.name -}}
{{- end -}}

{{- define "mongodb.host" -}}
{{- printf "%s.%s.svc" (include "airyard.fullname" .) .Release.Namespace -}}
{{- end -}}

{{/* "true" when the server keeps its data on the pod's volume (not FerretDB over PostgreSQL). */}}
{{- define "mongodb.persistent" -}}
{{- if and .Values.persistence.enabled (or (eq .Values.engine "mongodb") (eq .Values.ferretdb.backend "sqlite")) -}}
true
{{- end -}}
{{- end -}}

{{/* Checks the schema cannot express; each message names the key. */}}
{{- define "mongodb.validate" -}}
{{- $seen := dict -}}
{{- range $i, $db := .Values.databases -}}
{{- if hasKey $seen $db.name -}}
{{- fail (printf "databases[%d].name: %q is declared twice" $i $db.name) -}}
{{- end -}}
{{- $_ := set $seen $db.name true -}}
{{- end -}}
{{- if and (eq .Values.engine "ferretdb") (eq .Values.ferretdb.backend "postgresql") (not .Values.ferretdb.postgresql.existingSecret) -}}
{{- fail "ferretdb.postgresql.existingSecret: required when ferretdb.backend is postgresql" -}}
{{- end -}}
{{- end -}}
