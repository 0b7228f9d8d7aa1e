{{/*
Name prefix of what the official chart's values and task code name literally: the Secrets of the
Fernet key, API secret key, JWT secret and metadata URI, the connections, the worker pods'
ServiceAccount. Fixed, not the release's: a chart's values cannot be templated, so these names
are the same for any release name (one airyard per namespace).
*/}}
{{- define "bootstrap.prefix" -}}
airyard-airflow
{{- end -}}

{{/* In-cluster DNS name of a platform service of this release: (list . "redis"). */}}
{{- define "bootstrap.host" -}}
{{- $ctx := index . 0 -}}
{{- printf "%s-%s.%s.svc" $ctx.Release.Name (index . 1) $ctx.Release.Namespace -}}
{{- end -}}

{{/* Name of the tasks-namespace Secret holding the one connection `conn_id`: (list . "kafka_default"). */}}
{{- define "bootstrap.connectionSecret" -}}
{{- printf "%s-conn-%s" (include "bootstrap.prefix" (index . 0)) (index . 1 | replace "_" "-") -}}
{{- end -}}

{{/*
The Airflow connections to the platform's services, as {from, json, services} for the secrets Job
and the service catalog: `from` reads credentials out of each service chart's connection Secret,
`json` holds one AIRFLOW_CONN_<ID> JSON document per connection whose string leaves reference
those values, `services` maps what a task may declare ("kafka", "objectstore:weather") to its
connection and to the service whose NetworkPolicy admits it.
*/}}
{{- define "bootstrap.connections" -}}
{{- $rel := .Release.Name -}}
{{- $p := .Values.connections.platform -}}
{{- $from := dict -}}
{{- $json := dict -}}
{{- $services := dict -}}
{{- if $p.postgres }}
{{- range .Values.connections.postgresDatabases }}
{{- $secret := printf "%s-postgresql-%s" $rel . }}
{{- $_ := set $from (printf "pg_%s_user" .) (printf "%s/username" $secret) }}
{{- $_ := set $from (printf "pg_%s_password" .) (printf "%s/password" $secret) }}
{{- $_ := set $json (printf "AIRFLOW_CONN_POSTGRES_%s" (upper .)) (dict "conn_type" "postgres" "host" (include "bootstrap.host" (list $ "postgresql")) "port" 5432 "login" (printf "{pg_%s_user}" .) "password" (printf "{pg_%s_password}" .) "schema" .) }}
{{- $_ := set $services (printf "postgresql:%s" .) (dict "connection" (printf "postgres_%s" .) "network" "postgresql") }}
{{- end }}
{{- end }}
{{- if $p.redis }}
{{- $_ := set $from "redis_password" (printf "%s-redis-connection/password" $rel) }}
{{- $_ := set $json "AIRFLOW_CONN_REDIS_DEFAULT" (dict "conn_type" "redis" "host" (include "bootstrap.host" (list . "redis")) "port" 6379 "password" "{redis_password}" "extra" (dict "db" 0)) }}
{{- $_ := set $services "redis" (dict "connection" "redis_default" "network" "redis") }}
{{- end }}
{{- if $p.kafka }}
{{- $_ := set $from "kafka_bootstrap" (printf "%s-kafka-connection/bootstrap-servers" $rel) }}
{{- /* With Kafka authentication, one connection per Kafka user (charts/kafka auth.users), each
limited by its ACLs; without it, kafka_default, which anyone may use for anything. */}}
{{- range .Values.connections.kafkaUsers }}
{{- $secret := printf "%s-kafka-user-%s" $rel . }}
{{- $v := printf "kafka_%s" (. | replace "-" "_") }}
{{- range $key := list "username" "password" "mechanism" }}
{{- $_ := set $from (printf "%s_%s" $v $key) (printf "%s/%s" $secret $key) }}
{{- end }}
{{- $sasl := dict "security.protocol" "SASL_PLAINTEXT" "sasl.mechanism" (printf "{%s_mechanism}" $v) "sasl.username" (printf "{%s_username}" $v) "sasl.password" (printf "{%s_password}" $v) }}
{{- $_ := set $json (printf "AIRFLOW_CONN_%s" (upper $v)) (dict "conn_type" "kafka" "extra" (merge (dict "bootstrap.servers" "{kafka_bootstrap}") $sasl)) }}
{{- $_ := set $services (printf "kafka:%s" .) (dict "connection" $v "network" "kafka") }}
{{- else }}
{{- $_ := set $json "AIRFLOW_CONN_KAFKA_DEFAULT" (dict "conn_type" "kafka" "extra" (dict "bootstrap.servers" "{kafka_bootstrap}")) }}
{{- $_ := set $services "kafka" (dict "connection" "kafka_default" "network" "kafka") }}
{{- end }}
{{- end }}
{{- if $p.mongodb }}
{{- /* mongo_default is the movie pipeline's database; each of mongoUsers gets mongo_<user>. */}}
{{- $dbs := dict "MONGO_DEFAULT" .Values.connections.mongoDatabase }}
{{- range .Values.connections.mongoUsers }}
{{- $_ := set $dbs (printf "MONGO_%s" (upper . | replace "-" "_")) . }}
{{- end }}
{{- range $id, $db := $dbs }}
{{- $secret := printf "%s-mongodb-%s" $rel $db }}
{{- $v := printf "mongo_%s" ($db | replace "-" "_") }}
{{- $_ := set $from (printf "%s_user" $v) (printf "%s/username" $secret) }}
{{- $_ := set $from (printf "%s_password" $v) (printf "%s/password" $secret) }}
{{- $_ := set $json (printf "AIRFLOW_CONN_%s" $id) (dict "conn_type" "mongo" "host" (include "bootstrap.host" (list $ "mongodb")) "port" 27017 "login" (printf "{%s_user}" $v) "password" (printf "{%s_password}" $v) "schema" $db "extra" (dict "authSource" $db)) }}
{{- $_ := set $services (printf "mongodb:%s" $db) (dict "connection" (lower $id) "network" "mongodb") }}
{{- end }}
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
{{- if ne $id "AIRYARD_LOGS" }}
{{- $_ := set $services (printf "objectstore:%s" $user) (dict "connection" (lower $id) "network" "objectstore") }}
{{- end }}
{{- end }}
{{- end }}
{{- if and $p.mlflow .Values.connections.mlflowUser }}
{{- /* A non-admin MLflow user (charts/mlflow auth.users): the admin's credentials never become a connection. */}}
{{- $secret := printf "%s-mlflow-user-%s" $rel .Values.connections.mlflowUser }}
{{- range $key := list "tracking-uri" "username" "password" }}
{{- $_ := set $from (printf "mlflow_%s" (replace "-" "_" $key)) (printf "%s/%s" $secret $key) }}
{{- end }}
{{- $_ := set $json "AIRFLOW_CONN_MLFLOW_TRACKING" (dict "conn_type" "http" "host" "{mlflow_tracking_uri}" "login" "{mlflow_username}" "password" "{mlflow_password}") }}
{{- $_ := set $services "mlflow" (dict "connection" "mlflow_tracking" "network" "mlflow") }}
{{- end }}
{{- if $p.modelServing }}
{{- $_ := set $json "AIRFLOW_CONN_BACKEND_API" (dict "conn_type" "http" "host" (printf "http://%s:8000" (include "bootstrap.host" (list . "model-serving")))) }}
{{- $_ := set $services "model-serving" (dict "connection" "backend_api" "network" "model-serving") }}
{{- end }}
{{- if $p.kubernetes }}
{{- $_ := set $json "AIRFLOW_CONN_KUBERNETES_DEFAULT" (dict "conn_type" "kubernetes" "extra" (dict "in_cluster" true "xcom_sidecar_container_image" .Values.connections.xcomSidecarImage)) }}
{{- end }}
{{- range $name, $s := $services }}
{{- $_ := set $s "secret" (include "bootstrap.connectionSecret" (list $ $s.connection)) }}
{{- end }}
{{- toJson (dict "from" $from "json" $json "services" $services) -}}
{{- end -}}

{{/* The label of pods that declare an outside system (external:<conn_id>, plugins/airyard/services.py). */}}
{{- define "bootstrap.externalClientLabel" -}}
{{ include "airyard.clientLabelFor" "external" }}
{{- end -}}

{{/*
The API server's addresses as a JSON list of CIDRs: networkPolicy.kubeAPI.cidrs, else the
`kubernetes` Service's EndpointSlice (a live install), else any address (helm template, Argo CD),
which the policy still limits to the API's ports.
*/}}
{{- define "bootstrap.kubeApiCidrs" -}}
{{- $cidrs := .Values.networkPolicy.kubeAPI.cidrs -}}
{{- if not $cidrs -}}
{{- $slice := lookup "discovery.k8s.io/v1" "EndpointSlice" "default" "kubernetes" | default dict -}}
{{- range $slice.endpoints | default list -}}
{{- range .addresses -}}
{{- $cidrs = append $cidrs (printf "%s/%s" . (ternary "128" "32" (contains ":" .))) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson ($cidrs | default (list "0.0.0.0/0")) -}}
{{- end -}}

{{/* Fails the render on an egress rule that opens everything, unless networkPolicy.allowOpenEgress. */}}
{{- define "bootstrap.checkOpenEgress" -}}
{{- $np := .Values.networkPolicy -}}
{{- if not $np.allowOpenEgress -}}
{{- range $name := list "external" "alerts" -}}
{{- $rule := get $np $name -}}
{{- if $rule.to -}}
{{- if not $rule.ports -}}
{{- fail (printf "airflow-bootstrap.networkPolicy.%s opens every port (ports is empty): list the ports, or set networkPolicy.allowOpenEgress=true to accept it" $name) -}}
{{- end -}}
{{- range $rule.to -}}
{{- $block := .ipBlock | default dict -}}
{{- if and (has $block.cidr (list "0.0.0.0/0" "::/0")) (not $block.except) -}}
{{- fail (printf "airflow-bootstrap.networkPolicy.%s.to opens every address (%s without except): list the destinations, or set networkPolicy.allowOpenEgress=true to accept it" $name $block.cidr) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
What a Job running the Airflow image needs: the image's user with group 0 (its files belong to
group 0), the metadata database, airflow.cfg from the official chart, writable /tmp and logs.
Set in one mapping: keys appended after the library's would repeat, which strict YAML readers
(skaffold's post-renderer) reject; `set` because sprig's merge treats 0 as unset.
*/}}
{{- define "bootstrap.airflowPodSecurityContext" -}}
{{- $podSecurity := include "airyard.podSecurityContext" (dict "uid" 50000) | fromYaml }}
{{- $_ := set $podSecurity "runAsGroup" 0 }}
{{- $_ = set $podSecurity "fsGroup" 0 }}
{{- toYaml $podSecurity }}
{{- end -}}

{{/* (dict "ctx" . "mounts" <extra volumeMounts>) */}}
{{- define "bootstrap.airflowContainer" -}}
image: {{ include "airyard.image" .ctx.Values.image }}
imagePullPolicy: {{ .ctx.Values.image.pullPolicy }}
securityContext:
  {{- include "airyard.containerSecurityContext" .ctx | nindent 2 }}
volumeMounts:
  - name: config
    mountPath: /opt/airflow/airflow.cfg
    subPath: airflow.cfg
    readOnly: true
  - name: tmp
    mountPath: /tmp
  - name: logs
    mountPath: /opt/airflow/logs
  {{- with .mounts }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{- define "bootstrap.metadataEnv" -}}
- name: AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
  valueFrom:
    secretKeyRef:
      name: {{ tpl .Values.metadataSecret . }}
      key: connection
{{- end -}}

{{- define "bootstrap.airflowVolumes" -}}
- name: config
  configMap:
    name: {{ tpl .Values.airflowConfigMap . }}
- name: tmp
  emptyDir: {}
- name: logs
  emptyDir: {}
{{- end -}}

{{/* The CronJob whose pod backs the platform up before a migration ("" when off). */}}
{{- define "bootstrap.backupCronJob" -}}
{{- if .Values.migrations.backupFirst -}}
{{- .Values.migrations.backupCronJob | default (include "airyard.peerFullname" (dict "ctx" . "chart" "backup")) -}}
{{- end -}}
{{- end -}}
