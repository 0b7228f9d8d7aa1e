{{/*
A NetworkPolicy that admits only declared clients to a service's ports:
  - pods that carry the client label <fullname>-client: "true", in the release namespace or in
    the tasks namespace (task pods, airyard.tasksNamespace),
  - the peers listed in .Values.networkPolicy.allowedClients (NetworkPolicyPeer objects).
Call with (dict "ctx" . "ports" (list 5432)).
*/}}
{{- define "airyard.networkPolicy" -}}
{{- $ctx := .ctx -}}
{{- if $ctx.Values.networkPolicy.enabled }}
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
  policyTypes: [Ingress]
  ingress:
    - from:
        - podSelector:
            matchLabels:
              {{ include "airyard.clientLabel" $ctx }}: "true"
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: {{ include "airyard.tasksNamespace" $ctx }}
          podSelector:
            matchLabels:
              {{ include "airyard.clientLabel" $ctx }}: "true"
        - podSelector:
            matchLabels:
              {{- include "airyard.selectorLabels" $ctx | nindent 14 }}
        {{- with $ctx.Values.networkPolicy.allowedClients }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        {{- range .ports }}
        - port: {{ . }}
          protocol: TCP
        {{- end }}
{{- end }}
{{- end -}}
