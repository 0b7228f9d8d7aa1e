{{/*
Generated credentials, created once by a Job and never changed (see airyard_toolbox.secrets).
Templates cannot generate them: a random value changes on every render, so every GitOps sync would
roll every password. The Job is named by airyard.hashedJob: a changed spec runs a new Job, an
unchanged one is left alone by upgrades and syncs.

Call with (dict "ctx" . "spec" (dict "secrets" (list ...))).
*/}}
{{- define "airyard.secretsJob" -}}
{{- $ctx := .ctx -}}
{{- $fullname := include "airyard.fullname" $ctx -}}
{{- $spec := merge (dict "labels" (dict "app.kubernetes.io/instance" $ctx.Release.Name "app.kubernetes.io/part-of" "airyard")) .spec -}}
{{- $specJson := toJson $spec -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $fullname }}-secrets
  labels:
    {{- include "airyard.labels" $ctx | nindent 4 }}
automountServiceAccountToken: false
{{- /* The names it may read and update, by namespace: its own Secrets where they go, and in the
release namespace the Secrets it copies from. */ -}}
{{- $names := dict $ctx.Release.Namespace list -}}
{{- range $spec.secrets }}
{{- $ns := .namespace | default $ctx.Release.Namespace }}
{{- $_ := set $names $ns (append ($names | dig $ns list) .name) }}
{{- range $key, $ref := merge dict (.from | default dict) (.inputs | default dict) }}
{{- $_ := set $names $ctx.Release.Namespace (append (get $names $ctx.Release.Namespace) ((splitList "/" $ref) | first)) }}
{{- end }}
{{- with .copy }}
{{- $_ := set $names $ctx.Release.Namespace (append (get $names $ctx.Release.Namespace) .) }}
{{- end }}
{{- end }}
{{- range $ns, $secretNames := $names }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ $fullname }}-secrets
  namespace: {{ $ns }}
  labels:
    {{- include "airyard.labels" $ctx | nindent 4 }}
rules:
  # create cannot be limited to names; get can, and is limited to the Secrets of the spec.
  - apiGroups: [""]
    resources: [secrets]
    verbs: [create]
  {{- if has $ns ($spec.prune | default list) }}
  # Pruning finds the Secrets the spec no longer names by its labels: their names are not known.
  - apiGroups: [""]
    resources: [secrets]
    verbs: [list, delete]
  {{- end }}
  # get reads the Secrets of the spec and those it copies from; update re-derives connection Secrets.
  - apiGroups: [""]
    resources: [secrets]
    verbs: [get, update]
    resourceNames:
      {{- range $secretNames | uniq }}
      - {{ . }}
      {{- end }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ $fullname }}-secrets
  namespace: {{ $ns }}
  labels:
    {{- include "airyard.labels" $ctx | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ $fullname }}-secrets
subjects:
  - kind: ServiceAccount
    name: {{ $fullname }}-secrets
    namespace: {{ $ctx.Release.Namespace }}
{{- end }}
---
{{ include "airyard.hashedJob" (dict "ctx" (dict "ctx" $ctx "fullname" $fullname "specJson" $specJson)
    "template" "airyard.secretsJobManifest" "prefix" (printf "%s-secrets" $fullname)) }}
{{- end -}}

{{- define "airyard.secretsJobManifest" -}}
{{- $ctx := .ctx -}}
{{- $fullname := .fullname -}}
{{- $specJson := .specJson -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: "@JOB_NAME@"
  labels:
    {{- include "airyard.labels" $ctx | nindent 4 }}
    app.kubernetes.io/component: secrets
spec:
  backoffLimit: 6
  template:
    metadata:
      labels:
        {{- include "airyard.labels" $ctx | nindent 8 }}
        app.kubernetes.io/component: secrets
        {{ include "airyard.kubeApiClientLabel" $ctx }}: "true"
    spec:
      serviceAccountName: {{ $fullname }}-secrets
      automountServiceAccountToken: true
      restartPolicy: OnFailure
      securityContext:
        {{- include "airyard.podSecurityContext" (dict "uid" 10001) | nindent 8 }}
      containers:
        - name: secrets
          image: {{ include "airyard.toolboxImage" $ctx }}
          imagePullPolicy: IfNotPresent
          command: [python3, -m, airyard_toolbox.secrets, --namespace, {{ $ctx.Release.Namespace }}]
          args: [--spec, {{ $specJson | quote }}]
          securityContext:
            {{- include "airyard.containerSecurityContext" $ctx | nindent 12 }}
          resources:
            requests: {cpu: 10m, memory: 32Mi}
            limits: {memory: 96Mi}
{{- end -}}

{{/*
A Job named <prefix>-<hash of its whole manifest> (the manifest says name: "@JOB_NAME@"). Jobs are
immutable: any change (spec, pod template, labels, image) must run a new Job, and an unchanged one
is left alone by upgrades and GitOps syncs. Call with
(dict "ctx" <the template's context> "template" "<define rendering the Job>" "prefix" "<name>").
*/}}
{{- define "airyard.hashedJob" -}}
{{- $manifest := include .template .ctx -}}
{{- if $manifest -}}
{{- $name := printf "%s-%s" (.prefix | trunc 54 | trimSuffix "-") ($manifest | sha256sum | trunc 8) -}}
{{- $manifest | replace "@JOB_NAME@" $name -}}
{{- end -}}
{{- end -}}
