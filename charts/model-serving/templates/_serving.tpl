{{/* Secret with the MLflow connection (default: the mlflow chart's of this release). */}}
{{- define "serving.mlflowSecret" -}}
{{- .Values.mlflow.connectionSecret | default (printf "%s-mlflow-connection" .Release.Name) -}}
{{- end -}}
