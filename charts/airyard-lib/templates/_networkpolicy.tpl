{{/*
A service's NetworkPolicies. Its namespace and the tasks namespace deny everything by default
(airflow-bootstrap's baseline), so both ends of a connection need an allow:
  - <fullname>: the service's pods admit, on its ports, pods that carry the client label
    airyard.io/<chart>-client: "true" (in the release namespace or the tasks namespace), each other, and
    the peers of .Values.networkPolicy.allowedClients; they send only to each other.
  - <fullname>-clients: pods of the release namespace that carry the client label may send to the
    service's pods on its ports. In the tasks namespace, airflow-bootstrap (which owns it) renders
    the same for each service a task may declare: a service chart installed on its own needs none.
Call with (dict "ctx" . "ports" (list 5432)).
*/}}
{{- define "airyard.networkPolicy" -}}
{{- $ctx := .ctx -}}
{{- if $ctx.Values.networkPolicy.enabled }}
{{- $ports := include "airyard.networkPolicyPorts" .ports }}
{{- $client := dict (include "airyard.clientLabel" $ctx) "true" }}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "airyard.fullname" $ctx }}
  labels:
    {{- include "airyard.labels" $ctx | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "airyard.selectorLabels" $ctx | nindent 6 }}
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
        - podSelector:
            matchLabels: {{- toYaml $client | nindent 14 }}
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: {{ include "airyard.tasksNamespace" $ctx }}
          podSelector:
            matchLabels: {{- toYaml $client | nindent 14 }}
        - podSelector:
            matchLabels:
              {{- include "airyard.selectorLabels" $ctx | nindent 14 }}
        {{- with $ctx.Values.networkPolicy.allowedClients }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports: {{- $ports | nindent 8 }}
  egress:
    - to:
        - podSelector:
            matchLabels:
              {{- include "airyard.selectorLabels" $ctx | nindent 14 }}
      ports: {{- $ports | nindent 8 }}
    {{- include "airyard.networkPolicyDNS" . | nindent 4 }}
---
{{ include "airyard.clientsNetworkPolicy" (dict "ctx" $ctx "name" (printf "%s-clients" (include "airyard.fullname" $ctx))
    "client" $client "server" (include "airyard.selectorLabels" $ctx | fromYaml) "ports" .ports) }}
{{- end }}
{{- end -}}

{{/*
Egress of a service's clients: pods labelled `client` (a dict) may send to the pods labelled
`server` in the release namespace, on `ports` (all when empty), and look names up. The service
charts render it in the release namespace, airflow-bootstrap in the tasks namespace (`namespace`).
*/}}
{{- define "airyard.clientsNetworkPolicy" -}}
{{- $ctx := .ctx -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ .name }}
  {{- with .namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    {{- include "airyard.labels" $ctx | nindent 4 }}
spec:
  podSelector:
    matchLabels: {{- toYaml .client | nindent 6 }}
  policyTypes: [Egress]
  egress:
    - to:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: {{ $ctx.Release.Namespace }}
          podSelector:
            matchLabels: {{- toYaml .server | nindent 14 }}
      {{- with .ports }}
      ports: {{- include "airyard.networkPolicyPorts" . | nindent 8 }}
      {{- end }}
    {{- include "airyard.networkPolicyDNS" . | nindent 4 }}
{{- end -}}

{{/* Name lookups, wherever the cluster's DNS runs: a chart installed on its own (no
airflow-bootstrap baseline in its namespace) still resolves its peers' names. */}}
{{- define "airyard.networkPolicyDNS" -}}
- ports:
    - {port: 53, protocol: UDP}
    - {port: 53, protocol: TCP}
{{- end -}}

{{/* NetworkPolicyPort objects of a list of TCP ports. */}}
{{- define "airyard.networkPolicyPorts" -}}
{{- range . }}
- port: {{ . }}
  protocol: TCP
{{- end }}
{{- end -}}

{{/*
The label of pods that call the Kubernetes API (operators, Jobs that write Secrets, Airflow's
launchers, Spark drivers): airflow-bootstrap's baseline lets them reach the API server.
*/}}
{{- define "airyard.kubeApiClientLabel" -}}
{{ include "airyard.clientLabelFor" "kube-api" }}
{{- end -}}
