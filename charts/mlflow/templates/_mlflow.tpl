{{/* Secret with the backend store's postgresql:// URI (default: the postgresql chart's `mlflow` database). */}}
{{- define "mlflow.backendSecret" -}}
{{- .Values.backendStore.existingSecret | default (printf "%s-postgresql-mlflow" .Release.Name) -}}
{{- end -}}

{{/* Secret with the object store connection (default: the objectstore chart's admin connection). */}}
{{- define "mlflow.artifactsSecret" -}}
{{- .Values.artifacts.existingSecret | default (printf "%s-objectstore-connection" .Release.Name) -}}
{{- end -}}

{{/* Secret with the basic-auth admin password and the Flask session key. */}}
{{- define "mlflow.authSecret" -}}
{{- .Values.auth.existingSecret | default (printf "%s-auth" (include "airyard.fullname" .)) -}}
{{- end -}}

{{- define "mlflow.artifactsDestination" -}}
{{- printf "s3://%s/%s" .Values.artifacts.bucket (.Values.artifacts.prefix | trimAll "/") | trimSuffix "/" -}}
{{- end -}}

{{/*
The client label another airyard chart of this release admits (its <fullname>-client), computed
with the library's fullname rule for that chart: (dict "ctx" . "chart" "postgresql").
*/}}
{{- define "mlflow.peerClientLabel" -}}
{{- $release := .ctx.Release.Name -}}
{{- $fullname := ternary $release (printf "%s-%s" $release .chart) (contains .chart $release) -}}
{{- printf "%s-client" ($fullname | trunc 63 | trimSuffix "-") -}}
{{- end -}}

{{/*
Host headers the server answers to: the Service's DNS names (with and without a port), localhost,
and serverAllowedHosts. MLflow compares them exactly unless a pattern holds a `*`.
*/}}
{{- define "mlflow.allowedHosts" -}}
{{- $fullname := include "airyard.fullname" . -}}
{{- $hosts := list -}}
{{- range (list $fullname (printf "%s.%s" $fullname .Release.Namespace) (printf "%s.%s.svc" $fullname .Release.Namespace) (printf "%s.%s.svc.cluster.local" $fullname .Release.Namespace) "localhost" "127.0.0.1") -}}
{{- $hosts = append (append $hosts .) (printf "%s:*" .) -}}
{{- end -}}
{{- concat $hosts .Values.serverAllowedHosts | join "," -}}
{{- end -}}
