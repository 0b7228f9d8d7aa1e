{{/* Namespaces whose SparkApplications the operator runs (each entry templated). */}}
{{- define "sparkOperator.jobNamespaces" -}}
{{- $namespaces := list -}}
{{- range .Values.spark.jobNamespaces | default (list .Release.Namespace) }}
{{- $namespaces = append $namespaces (tpl . $) -}}
{{- end -}}
{{- $namespaces | uniq | join "," -}}
{{- end -}}

{{- define "sparkOperator.sparkServiceAccount" -}}
{{- .Values.spark.serviceAccount.name | default (printf "%s-spark" (include "airyard.fullname" .)) -}}
{{- end -}}

{{/* Webhook configurations are cluster-scoped: one name per release and namespace. */}}
{{- define "sparkOperator.webhookName" -}}
{{- printf "%s-%s" (include "airyard.fullname" .) .Release.Namespace | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* include "sparkOperator.componentLabels" (list . "controller") */}}
{{- define "sparkOperator.selectorLabels" -}}
{{ include "airyard.selectorLabels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "sparkOperator.labels" -}}
{{ include "airyard.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/*
The pod both components share: one image, one binary (`controller start` / `webhook start`),
restricted security, a read-only root with scratch space in /tmp.
include "sparkOperator.pod" (dict "ctx" . "component" "controller" "args" (list ...) "values" .Values.controller "ports" (list ...) "mounts" (list ...))
*/}}
{{- define "sparkOperator.pod" -}}
{{- $ctx := .ctx -}}
metadata:
  labels:
    {{- include "sparkOperator.labels" (list $ctx .component) | nindent 4 }}
    {{ include "airyard.kubeApiClientLabel" $ctx }}: "true"
spec:
  serviceAccountName: {{ include "airyard.fullname" $ctx }}-{{ .component }}
  automountServiceAccountToken: true
  securityContext:
    {{- include "airyard.podSecurityContext" (dict "uid" 185) | nindent 4 }}
  containers:
    - name: {{ .component }}
      image: {{ include "airyard.image" $ctx.Values.image }}
      imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
      args:
        - {{ .component }}
        - start
        - --zap-log-level={{ .values.logLevel }}
        - --namespaces={{ include "sparkOperator.jobNamespaces" $ctx }}
        - --health-probe-bind-address=:8081
        - --leader-election=true
        - --leader-election-lock-name={{ include "airyard.fullname" $ctx }}-{{ .component }}
        - --leader-election-lock-namespace={{ $ctx.Release.Namespace }}
        {{- range .args }}
        - {{ . }}
        {{- end }}
      ports:
        - name: health
          containerPort: 8081
        {{- with .ports }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      readinessProbe:
        {{- if .readyPort }}
        {{- /* /readyz turns ready before the webhook server listens: ready means serving. */}}
        tcpSocket:
          port: {{ .readyPort }}
        {{- else }}
        httpGet:
          path: /readyz
          port: health
        {{- end }}
        periodSeconds: 2
      livenessProbe:
        httpGet:
          path: /healthz
          port: health
        initialDelaySeconds: 10
        periodSeconds: 15
        failureThreshold: 4
      resources:
        {{- toYaml .values.resources | nindent 8 }}
      securityContext:
        {{- include "airyard.containerSecurityContext" $ctx | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        {{- with .mounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
    {{- range .mounts }}
    - name: {{ .name }}
      emptyDir:
        medium: Memory
        sizeLimit: 1Mi
    {{- end }}
{{- end -}}

{{/* One webhook: (list ctx path apiGroup apiVersion commonFields resources operations) */}}
{{- define "sparkOperator.webhookEntry" -}}
{{- $ctx := index . 0 -}}
- name: {{ index . 1 }}.sparkoperator.k8s.io
  {{- toYaml (index . 4) | nindent 2 }}
  clientConfig:
    service:
      name: {{ include "airyard.fullname" $ctx }}-webhook
      namespace: {{ $ctx.Release.Namespace }}
      port: {{ $ctx.Values.webhook.port }}
      path: /{{ index . 1 }}
  rules:
    - apiGroups: [{{ index . 2 | quote }}]
      apiVersions: [{{ index . 3 | quote }}]
      resources: [{{ index . 5 }}]
      operations: [{{ index . 6 }}]
{{- end -}}
