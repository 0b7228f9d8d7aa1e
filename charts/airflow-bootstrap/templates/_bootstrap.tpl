{{/* Name prefix of the Secrets shared with the official chart. */}}
{{- define "bootstrap.prefix" -}}
{{- tpl .Values.secretPrefix . -}}
{{- end -}}

{{/* In-cluster DNS name of a platform service of this release: (list . "redis"). */}}
{{- define "bootstrap.host" -}}
{{- $ctx := index . 0 -}}
{{- printf "%s-%s.%s.svc" $ctx.Release.Name (index . 1) $ctx.Release.Namespace -}}
{{- end -}}

{{/*
The Airflow connections to the platform's services, as {from: {...}, json: {...}} for the secrets
Job: `from` reads credentials out of each service chart's connection Secret, `json` holds one
AIRFLOW_CONN_<ID> JSON document per connection whose string leaves reference those values.
*/}}
{{- define "bootstrap.connections" -}}
{{- $rel := .Release.Name -}}
{{- $p := .Values.connections.platform -}}
{{- $from := dict -}}
{{- $json := dict -}}
{{- if $p.postgres }}
{{- range .Values.connections.postgresDatabases }}
{{- $secret := printf "%s-postgresql-%s" $rel . }}
{{- $_ := set $from (printf "pg_%s_user" .) (printf "%s/username" $secret) }}
{{- $_ := set $from (printf "pg_%s_password" .) (printf "%s/password" $secret) }}
{{- $_ := set $json (printf "AIRFLOW_CONN_POSTGRES_%s" (upper .)) (dict "conn_type" "postgres" "host" (include "bootstrap.host" (list $ "postgresql")) "port" 5432 "login" (printf "{pg_%s_user}" .) "password" (printf "{pg_%s_password}" .) "schema" .) }}
{{- end }}
{{- end }}
{{- if $p.redis }}
{{- $_ := set $from "redis_password" (printf "%s-redis-connection/password" $rel) }}
{{- $_ := set $json "AIRFLOW_CONN_REDIS_DEFAULT" (dict "conn_type" "redis" "host" (include "bootstrap.host" (list . "redis")) "port" 6379 "password" "{redis_password}" "extra" (dict "db" 0)) }}
{{- end }}
{{- if $p.kafka }}
{{- $_ := set $from "kafka_bootstrap" (printf "%s-kafka-connection/bootstrap-servers" $rel) }}
{{- $_ := set $json "AIRFLOW_CONN_KAFKA_DEFAULT" (dict "conn_type" "kafka" "extra" (dict "bootstrap.servers" "{kafka_bootstrap}")) }}
{{- end }}
{{- if $p.mongodb }}
{{- $secret := printf "%s-mongodb-%s" $rel .Values.connections.mongoDatabase }}
{{- $_ := set $from "mongo_user" (printf "%s/username" $secret) }}
{{- $_ := set $from "mongo_password" (printf "%s/password" $secret) }}
{{- $_ := set $json "AIRFLOW_CONN_MONGO_DEFAULT" (dict "conn_type" "mongo" "host" (include "bootstrap.host" (list . "mongodb")) "port" 27017 "login" "{mongo_user}" "password" "{mongo_password}" "schema" .Values.connections.mongoDatabase "extra" (dict "authSource" .Values.connections.mongoDatabase)) }}
{{- end }}
{{- if $p.objectstore }}
{{- $secret := printf "%s-objectstore-connection" $rel }}
{{- range $key := list "endpoint" "region" "access-key" "secret-key" }}
{{- $_ := set $from (printf "s3_%s" (replace "-" "_" $key)) (printf "%s/%s" $secret $key) }}
{{- end }}
{{- $_ := set $json "AIRFLOW_CONN_AWS_DEFAULT" (dict "conn_type" "aws" "login" "{s3_access_key}" "password" "{s3_secret_key}" "extra" (dict "endpoint_url" "{s3_endpoint}" "region_name" "{s3_region}")) }}
{{- /* Remote task logs use an identity that may only touch the logs bucket. */}}
{{- $logs := printf "%s-objectstore-user-%s" $rel .Values.connections.logsUser }}
{{- range $key := list "access-key" "secret-key" }}
{{- $_ := set $from (printf "logs_%s" (replace "-" "_" $key)) (printf "%s/%s" $logs $key) }}
{{- end }}
{{- $_ := set $json "AIRFLOW_CONN_AIRYARD_LOGS" (dict "conn_type" "aws" "login" "{logs_access_key}" "password" "{logs_secret_key}" "extra" (dict "endpoint_url" "{s3_endpoint}" "region_name" "{s3_region}")) }}
{{- end }}
{{- if $p.mlflow }}
{{- range $key := list "tracking-uri" "username" "password" }}
{{- $_ := set $from (printf "mlflow_%s" (replace "-" "_" $key)) (printf "%s-mlflow-connection/%s" $rel $key) }}
{{- end }}
{{- $_ := set $json "AIRFLOW_CONN_MLFLOW_TRACKING" (dict "conn_type" "http" "host" "{mlflow_tracking_uri}" "login" "{mlflow_username}" "password" "{mlflow_password}") }}
{{- end }}
{{- if $p.modelServing }}
{{- $_ := set $json "AIRFLOW_CONN_BACKEND_API" (dict "conn_type" "http" "host" (printf "http://%s:8000" (include "bootstrap.host" (list . "model-serving")))) }}
{{- end }}
{{- if $p.kubernetes }}
{{- $_ := set $json "AIRFLOW_CONN_KUBERNETES_DEFAULT" (dict "conn_type" "kubernetes" "extra" (dict "in_cluster" true "xcom_sidecar_container_image" .Values.connections.xcomSidecarImage)) }}
{{- end }}
{{- toJson (dict "from" $from "json" $json) -}}
{{- end -}}
