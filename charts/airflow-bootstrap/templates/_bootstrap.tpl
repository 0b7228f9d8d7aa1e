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
{{- /* One connection per object store user, each limited to its bucket; none holds the root
credentials. Remote task logs use the logs user, which may only touch the logs bucket. */}}
{{- $users := dict "AIRYARD_LOGS" .Values.connections.logsUser }}
{{- range .Values.connections.objectstoreUsers }}
{{- $_ := set $users (printf "OBJECTSTORE_%s" (upper . | replace "-" "_")) . }}
{{- end }}
{{- range $id, $user := $users }}
{{- $v := printf "s3_%s" ($user | replace "-" "_") }}
{{- range $key := list "endpoint" "region" "access-key" "secret-key" }}
{{- $_ := set $from (printf "%s_%s" $v (replace "-" "_" $key)) (printf "%s-objectstore-user-%s/%s" $rel $user $key) }}
{{- end }}
{{- $_ := set $json (printf "AIRFLOW_CONN_%s" $id) (dict "conn_type" "aws" "login" (printf "{%s_access_key}" $v) "password" (printf "{%s_secret_key}" $v) "extra" (dict "endpoint_url" (printf "{%s_endpoint}" $v) "region_name" (printf "{%s_region}" $v))) }}
{{- end }}
{{- end }}
{{- if and $p.mlflow .Values.connections.mlflowUser }}
{{- /* A non-admin MLflow user (charts/mlflow auth.users): the admin's credentials never become a connection. */}}
{{- $secret := printf "%s-mlflow-user-%s" $rel .Values.connections.mlflowUser }}
{{- range $key := list "tracking-uri" "username" "password" }}
{{- $_ := set $from (printf "mlflow_%s" (replace "-" "_" $key)) (printf "%s/%s" $secret $key) }}
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
