{{/* Secret with the backend store's postgresql:// URI (default: the postgresql chart's `mlflow` database). */}}
{{- define "mlflow.backendSecret" -}}
{{- .Values.backendStore.existingSecret | default (printf "%s-mlflow" (include "airyard.peerFullname" (dict "ctx" . "chart" "postgresql"))) -}}
{{- end -}}

{{/* Secret with the object store connection (default: the objectstore chart's user `mlflow`). */}}
{{- define "mlflow.artifactsSecret" -}}
{{- .Values.artifacts.existingSecret | default (printf "%s-user-mlflow" (include "airyard.peerFullname" (dict "ctx" . "chart" "objectstore"))) -}}
{{- end -}}

{{/* Secret with the basic-auth admin password and the Flask session key. */}}
{{- define "mlflow.authSecret" -}}
{{- .Values.auth.existingSecret | default (printf "%s-auth" (include "airyard.fullname" .)) -}}
{{- end -}}

{{- define "mlflow.artifactsDestination" -}}
{{- printf "s3://%s/%s" .Values.artifacts.bucket (.Values.artifacts.prefix | trimAll "/") | trimSuffix "/" -}}
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

{{/* The backend store URI in the environment, as SQLAlchemy's psycopg2 dialect wants its scheme. */}}
{{- define "mlflow.backendEnv" -}}
- name: BACKEND_STORE_URI
  valueFrom:
    secretKeyRef:
      name: {{ include "mlflow.backendSecret" . }}
      key: {{ .Values.backendStore.uriKey }}
{{- end -}}

{{- define "mlflow.exportBackendUri" -}}
export MLFLOW_BACKEND_STORE_URI="postgresql+psycopg2://${BACKEND_STORE_URI#*://}"
{{- end -}}
