{{/* Name of the Secret holding the admin (MinIO root) credentials (keys `access-key`, `secret-key`). */}}
{{- define "objectstore.authSecret" -}}
{{- .Values.auth.existingSecret | default (printf "%s-auth" (include "airyard.fullname" .)) -}}
{{- end -}}

{{/* The S3 endpoint URL clients use (in-cluster DNS name; plain HTTP inside the cluster). */}}
{{- define "objectstore.endpoint" -}}
{{- printf "http://%s.%s.svc:9000" (include "airyard.fullname" .) .Release.Namespace -}}
{{- end -}}

{{/* The connection Secret of one declared user: include "objectstore.userSecret" (list $ "name") */}}
{{- define "objectstore.userSecret" -}}
{{- printf "%s-user-%s" (include "airyard.fullname" (index . 0)) (index . 1) -}}
{{- end -}}

{{/* Selector of the server pods only (the Jobs carry the chart's selector labels too). */}}
{{- define "objectstore.serverSelectorLabels" -}}
{{ include "airyard.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end -}}

{{/*
Users must name declared buckets and be unique: the schema cannot relate two lists, so a wrong
name fails the render here instead of leaving a user with a policy on a bucket nobody creates.
*/}}
{{- define "objectstore.validate" -}}
{{- $seen := dict -}}
{{- range $i, $user := .Values.users -}}
{{- if hasKey $seen $user.name -}}
{{- fail (printf "users[%d].name: %q is declared twice" $i $user.name) -}}
{{- end -}}
{{- $_ := set $seen $user.name true -}}
{{- range $bucket := prepend ($user.readBuckets | default list) $user.bucket -}}
{{- if not (has $bucket $.Values.buckets) -}}
{{- fail (printf "users[%d] (%s): bucket %q is not in buckets %v" $i $user.name $bucket $.Values.buckets) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
