{{/* The headless Service: per-node DNS names for the quorum and the advertised listeners. */}}
{{- define "kafka.authOn" -}}
{{- if and .Values.auth.enabled (eq .Values.provider "kraft") }}true{{ end -}}
{{- end -}}

{{/* The super user's Secret (brokers, controllers, the topics Job) and a client user's: (list . "movies"). */}}
{{- define "kafka.adminSecret" -}}
{{- printf "%s-admin" (include "airyard.fullname" .) -}}
{{- end -}}
{{- define "kafka.userSecret" -}}
{{- printf "%s-user-%s" (include "airyard.fullname" (index . 0)) (index . 1) -}}
{{- end -}}

{{- define "kafka.headless" -}}
{{- printf "%s-headless" (include "airyard.fullname" .) -}}
{{- end -}}

{{/* Replication factor of internal and declared topics: every node, up to 3. */}}
{{- define "kafka.replicationFactor" -}}
{{- min 3 (int .Values.replicas) -}}
{{- end -}}

{{/* host:port clients bootstrap from, per provider. */}}
{{- define "kafka.bootstrapServers" -}}
{{- $fullname := include "airyard.fullname" . -}}
{{- if eq .Values.provider "external" -}}
{{- required "external.bootstrapServers is required with provider external" .Values.external.bootstrapServers -}}
{{- else if eq .Values.provider "strimzi" -}}
{{- printf "%s-kafka-bootstrap.%s.svc:9092" $fullname .Release.Namespace -}}
{{- else -}}
{{- printf "%s.%s.svc:9092" $fullname .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/*
The KRaft cluster id: 16 bytes, base64url without padding, as Kafka's Uuid expects. Derived from
the namespace and release so renders stay deterministic (a random id would re-format on every sync).
Templates cannot decode hex, so the first 32 hex digits of a sha256 are re-encoded by hand: three
hex digits (12 bits) make two base64 characters, the last two digits (8 bits) make the 22nd and a
final character carrying 2 bits.
*/}}
{{- define "kafka.clusterId" -}}
{{- if .Values.kraft.clusterId -}}
{{- .Values.kraft.clusterId -}}
{{- else -}}
{{- $hex := printf "airyard-kafka/%s/%s" .Release.Namespace .Release.Name | sha256sum | trunc 32 -}}
{{- $b64 := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" -}}
{{- $digit := dict "0" 0 "1" 1 "2" 2 "3" 3 "4" 4 "5" 5 "6" 6 "7" 7 "8" 8 "9" 9 "a" 10 "b" 11 "c" 12 "d" 13 "e" 14 "f" 15 -}}
{{- $out := "" -}}
{{- range $i := until 10 -}}
{{- $v := 0 -}}
{{- range $j := until 3 -}}
{{- $pos := add (mul $i 3) $j | int -}}
{{- $v = add (mul $v 16) (get $digit (substr $pos (add $pos 1 | int) $hex)) -}}
{{- end -}}
{{- $c1 := div $v 64 | int -}}
{{- $c2 := mod $v 64 | int -}}
{{- $out = printf "%s%s%s" $out (substr $c1 (add $c1 1 | int) $b64) (substr $c2 (add $c2 1 | int) $b64) -}}
{{- end -}}
{{- $v := add (mul (get $digit (substr 30 31 $hex)) 16) (get $digit (substr 31 32 $hex)) -}}
{{- $hi := div $v 4 | int -}}
{{- $lo := mul (mod $v 4) 16 | int -}}
{{- printf "%s%s%s" $out (substr $hi (add $hi 1 | int) $b64) (substr $lo (add $lo 1 | int) $b64) -}}
{{- end -}}
{{- end -}}

{{/* server.properties of the kraft provider; .Values.config wins over the chart's settings. */}}
{{- define "kafka.serverProperties" -}}
{{- $fullname := include "airyard.fullname" . -}}
{{- $rf := include "kafka.replicationFactor" . | int -}}
{{- $minIsr := ternary 2 1 (ge $rf 3) -}}
{{- $voters := list -}}
{{- range $i := until (int .Values.replicas) -}}
{{- $voters = append $voters (printf "%d@%s-%d.%s.%s.svc:9093" $i $fullname $i (include "kafka.headless" $) $.Release.Namespace) -}}
{{- end -}}
{{- $props := dict
      "process.roles" "broker,controller"
      "listeners" "PLAINTEXT://:9092,CONTROLLER://:9093"
      "controller.listener.names" "CONTROLLER"
      "inter.broker.listener.name" "PLAINTEXT"
      "listener.security.protocol.map" "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
      "controller.quorum.voters" (join "," $voters)
      "log.dirs" "/var/lib/kafka/data"
      "num.partitions" 1
      "default.replication.factor" $rf
      "min.insync.replicas" $minIsr
      "offsets.topic.replication.factor" $rf
      "transaction.state.log.replication.factor" $rf
      "transaction.state.log.min.isr" $minIsr
      "share.coordinator.state.topic.replication.factor" $rf
      "share.coordinator.state.topic.min.isr" $minIsr
-}}
{{- if include "kafka.authOn" . }}
{{- /* Users (SCRAM) and the admin (PLAIN) on the clients' listener; brokers and controllers talk
as the admin (SCRAM cannot serve the controllers' listener). Nothing is allowed without an ACL. */}}
{{- $_ := mergeOverwrite $props (dict
      "listeners" "CLIENT://:9092,CONTROLLER://:9093"
      "inter.broker.listener.name" "CLIENT"
      "listener.security.protocol.map" "CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
      "sasl.enabled.mechanisms" "SCRAM-SHA-512,PLAIN"
      "listener.name.controller.sasl.enabled.mechanisms" "PLAIN"
      "sasl.mechanism.inter.broker.protocol" "PLAIN"
      "sasl.mechanism.controller.protocol" "PLAIN"
      "authorizer.class.name" "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
      "super.users" "User:admin"
      "allow.everyone.if.no.acl.found" "false") }}
{{- end }}
{{- /* YAML numbers reach templates as float64: print integers as integers, not 1e+09. */}}
{{- range $key, $value := merge (deepCopy .Values.config) $props }}
{{ $key }}={{ if kindIs "float64" $value }}{{ int64 $value }}{{ else }}{{ $value }}{{ end }}
{{- end }}
{{- end -}}

{{/*
The declared topics with defaults filled in, as a list of dicts; config values become strings
(what Kafka's admin API takes). Fails when a topic asks for more replicas than there are nodes.
*/}}
{{- define "kafka.topics" -}}
{{- $rf := include "kafka.replicationFactor" . | int -}}
{{- $topics := list -}}
{{- range .Values.topics -}}
{{- $config := dict -}}
{{- range $key, $value := (.config | default dict) -}}
{{- $_ := set $config $key (ternary (printf "%d" (int64 $value)) (toString $value) (kindIs "float64" $value)) -}}
{{- end -}}
{{- $topic := dict "name" .name "partitions" (int (.partitions | default 1)) "replicationFactor" (int (.replicationFactor | default $rf)) "config" $config -}}
{{- if and (ne $.Values.provider "external") (gt $topic.replicationFactor (int $.Values.replicas)) -}}
{{- fail (printf "topics: %s asks for replicationFactor %d but replicas is %d" .name $topic.replicationFactor (int $.Values.replicas)) -}}
{{- end -}}
{{- $topics = append $topics $topic -}}
{{- end -}}
{{- toJson $topics -}}
{{- end -}}
