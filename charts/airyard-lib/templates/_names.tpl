{{/* Names and labels. Every object of every airyard chart is named and labelled here. */}}

{{- define "airyard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-<chart>, or just the release when it already contains the chart name. */}}
{{- define "airyard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "airyard.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "airyard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "airyard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "airyard.labels" -}}
{{ include "airyard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | default .Chart.Version | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: airyard
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/*
The fullname of another airyard chart installed with the same release name (airyard.fullname's
rule without overrides), which prefixes its Secrets and names its objects:
(dict "ctx" . "chart" "postgresql").
*/}}
{{- define "airyard.peerFullname" -}}
{{- $release := .ctx.Release.Name -}}
{{- ternary $release (printf "%s-%s" $release .chart) (contains .chart $release) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The label a pod carries to be let in by a service's NetworkPolicy: airyard.io/<service>-client.
Its key names the kind of service, not the release, so that values, the official chart's pod
labels and task code (plugins/airyard/services.py) can write it literally for any release name:
NetworkPolicies admit it only from the release's own namespaces (one airyard per namespace).
(include "airyard.clientLabelFor" "postgresql"), or airyard.clientLabel for this chart's own.
*/}}
{{- define "airyard.clientLabelFor" -}}
airyard.io/{{ . }}-client
{{- end -}}

{{- define "airyard.clientLabel" -}}
{{ include "airyard.clientLabelFor" .Chart.Name }}
{{- end -}}

{{/* image: {repository, tag} -> "repository:tag" */}}
{{- define "airyard.image" -}}
{{- printf "%s:%s" .repository (.tag | toString) -}}
{{- end -}}

{{- define "airyard.toolboxImage" -}}
{{- (.Values.global).toolboxImage | default "airyard/toolbox:0.1.0" -}}
{{- end -}}

{{/*
The namespace where task code runs: KubernetesExecutor worker pods, the pods tasks start and their
SparkApplications. Nothing of the platform's lives there. global.tasks.namespace (templated),
default "<release namespace>-tasks": one per installation, as a namespace holds one release.
*/}}
{{- define "airyard.tasksNamespace" -}}
{{- $tasks := ((.Values.global).tasks) | default dict -}}
{{- tpl ($tasks.namespace | default "{{ .Release.Namespace }}-tasks") . -}}
{{- end -}}
