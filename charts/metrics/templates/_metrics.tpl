{{/* Object names: <fullname>-<part> (store, alerting, alertmanager, kube-state-metrics, exporter). */}}
{{- define "metrics.name" -}}
{{- printf "%s-%s" (include "airyard.fullname" .ctx) .part | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of a part's objects and pods, and the selector of its pods. */}}
{{- define "metrics.labels" -}}
{{ include "airyard.labels" .ctx }}
app.kubernetes.io/component: {{ .part }}
{{- end -}}

{{- define "metrics.selectorLabels" -}}
{{ include "airyard.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .part }}
{{- end -}}

{{/*
What the store scrapes in the release namespace besides itself, and what the Prometheus Operator's
PodMonitors select: each a job name, its pods' labels, the container port and the path. A target
whose chart is not installed has no pods, and its job stays empty.
*/}}
{{- define "metrics.targets" -}}
{{- $part := dict "ctx" . -}}
{{- $targets := list -}}
{{- if .Values.alerting.enabled -}}
{{- $targets = append $targets (dict "job" "alerting" "port" 8880 "selector" (include "metrics.selectorLabels" (dict "ctx" . "part" "alerting") | fromYaml)) -}}
{{- $targets = append $targets (dict "job" "alertmanager" "port" 9093 "selector" (include "metrics.selectorLabels" (dict "ctx" . "part" "alertmanager") | fromYaml)) -}}
{{- end -}}
{{- if .Values.kubeStateMetrics.enabled -}}
{{- $targets = append $targets (dict "job" "kube-state-metrics" "port" 8080 "selector" (include "metrics.selectorLabels" (dict "ctx" . "part" "kube-state-metrics") | fromYaml)) -}}
{{- end -}}
{{- if .Values.exporter.enabled -}}
{{- $targets = append $targets (dict "job" "services" "port" 9300 "selector" (include "metrics.selectorLabels" (dict "ctx" . "part" "exporter") | fromYaml)) -}}
{{- end -}}
{{- /* Airflow's StatsD exporter (the official chart's) and MinIO's own metrics. */ -}}
{{- $targets = append $targets (dict "job" "airflow" "port" 9102 "selector" (dict "tier" "airflow" "component" "statsd" "release" .Release.Name)) -}}
{{- $targets = append $targets (dict "job" "objectstore" "port" 9000 "path" "/minio/v2/metrics/cluster"
    "selector" (dict "app.kubernetes.io/name" "objectstore" "app.kubernetes.io/instance" .Release.Name)) -}}
{{- toJson $targets -}}
{{- end -}}

{{/* Cluster-scoped objects carry the namespace too: two installations may share a release name. */}}
{{- define "metrics.clusterName" -}}
{{- printf "%s-%s" .ctx.Release.Namespace (include "metrics.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The namespaces whose pods are scraped and whose objects kube-state-metrics reports. */}}
{{- define "metrics.namespaces" -}}
{{- list .Release.Namespace (include "airyard.tasksNamespace" .) | toJson -}}
{{- end -}}

{{/* Base URL of the store and of Alertmanager, inside the namespace. */}}
{{- define "metrics.storeUrl" -}}
http://{{ include "metrics.name" (dict "ctx" . "part" "store") }}:8428
{{- end -}}
{{- define "metrics.alertmanagerUrl" -}}
http://{{ include "metrics.name" (dict "ctx" . "part" "alertmanager") }}:9093
{{- end -}}

{{/*
The alert rule groups in force: files/rules/*.yaml (unless switched off or disabled by name), then
alerting.extraGroups. Thresholds are written into the default rules' expressions here, so the
rules file stays valid Prometheus rule format that vmalert and a PrometheusRule both read.
Every rule is checked for the keys a rule must have: a bad one fails the render, named.
*/}}
{{- define "metrics.ruleGroups" -}}
{{- $groups := list -}}
{{- if .Values.alerting.defaultRules -}}
{{- $t := .Values.alerting.thresholds -}}
{{- range $path, $_ := .Files.Glob "files/rules/*.yaml" -}}
{{- $text := $.Files.Get $path -}}
{{- range $key, $value := dict "HEARTBEAT_SECONDS" $t.heartbeatSeconds "TASK_FAILURE_RATIO" $t.taskFailureRatio "KAFKA_LAG" $t.kafkaLag "VOLUME_USED_RATIO" $t.volumeUsedRatio "BACKUP_AGE_SECONDS" (mul $t.backupAgeHours 3600) -}}
{{- $text = replace (printf "${%s}" $key) (toString $value) $text -}}
{{- end -}}
{{- range ($text | fromYaml).groups -}}
{{- if not (has .name $.Values.alerting.disabledGroups) -}}
{{- $groups = append $groups . -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $groups = concat $groups .Values.alerting.extraGroups -}}
{{- range $groups -}}
{{- $group := .name -}}
{{- range .rules -}}
{{- $name := .alert | default .record | default "(unnamed)" -}}
{{- if not (or .alert .record) -}}
{{- fail (printf "alerting: rule %s of group %s has neither `alert` nor `record`" $name $group) -}}
{{- end -}}
{{- if not (and (kindIs "string" .expr) (trim (.expr | default ""))) -}}
{{- fail (printf "alerting: rule %s of group %s has no `expr` string" $name $group) -}}
{{- end -}}
{{- include "metrics.checkExpr" (dict "expr" .expr "what" (printf "rule %s of group %s" $name $group)) -}}
{{- end -}}
{{- end -}}
{{- toJson (dict "groups" $groups) -}}
{{- end -}}

{{/*
The dashboards (vmui's format), file name -> dashboard: files/dashboards/*.json, then
dashboards.extra. Each panel's queries are checked as the rules' are.
*/}}
{{- define "metrics.dashboards" -}}
{{- $all := dict -}}
{{- range $path, $_ := .Files.Glob "files/dashboards/*.json" -}}
{{- $_ := set $all (base $path) ($.Files.Get $path | fromJson) -}}
{{- end -}}
{{- range $file, $dashboard := .Values.dashboards.extra -}}
{{- $_ := set $all $file $dashboard -}}
{{- end -}}
{{- range $file, $dashboard := $all -}}
{{- range $dashboard.rows -}}
{{- range .panels -}}
{{- $what := printf "panel %q of dashboard %s" (.title | default "") $file -}}
{{- if not .expr -}}
{{- fail (printf "dashboards: %s has no `expr`" $what) -}}
{{- end -}}
{{- range .expr -}}
{{- include "metrics.checkExpr" (dict "expr" . "what" $what) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $all -}}
{{- end -}}

{{/*
What a template can check of a query without a PromQL parser: balanced brackets and quotes. The
full parse is vmalert's -dryRun in the alerting pod's init container, which fails the install
with the rule's name; this catches the common typos at render time, naming the rule or panel.
*/}}
{{- define "metrics.checkExpr" -}}
{{- $bare := regexReplaceAll `"(\\.|[^"\\])*"|'(\\.|[^'\\])*'` .expr "" -}}
{{- if regexMatch `["']` $bare -}}
{{- fail (printf "%s: unterminated string in %q" .what .expr) -}}
{{- end -}}
{{- range $pair := list (list "(" ")") (list "[" "]") (list "{" "}") -}}
{{- $open := len (splitList (index $pair 0) $bare) -}}
{{- $close := len (splitList (index $pair 1) $bare) -}}
{{- if ne $open $close -}}
{{- fail (printf "%s: unbalanced %s%s in %q" $.what (index $pair 0) (index $pair 1) $.expr) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A part's ServiceAccount, as a document of its own. */}}
{{- define "metrics.serviceAccount" -}}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "metrics.name" . }}
  labels:
    {{- include "metrics.labels" . | nindent 4 }}
{{- end -}}

{{/*
A Role and its RoleBinding for a part's ServiceAccount in a namespace, (dict "part" … "namespace" …
"rules" …); without "namespace", a ClusterRole and its ClusterRoleBinding, named after the release's
namespace too (cluster-wide names are shared by every release).
*/}}
{{- define "metrics.grant" -}}
{{- $kind := ternary "Role" "ClusterRole" (hasKey . "namespace") -}}
{{- $name := ternary (include "metrics.name" .part) (include "metrics.clusterName" .part) (hasKey . "namespace") -}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ $kind }}
metadata:
  name: {{ $name }}
  {{- with .namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    {{- include "metrics.labels" .part | nindent 4 }}
rules: {{- toYaml .rules | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ $kind }}Binding
metadata:
  name: {{ $name }}
  {{- with .namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    {{- include "metrics.labels" .part | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: {{ $kind }}
  name: {{ $name }}
subjects:
  - kind: ServiceAccount
    name: {{ include "metrics.name" .part }}
    namespace: {{ .part.ctx.Release.Namespace }}
{{- end -}}

{{/*
The kinds kube-state-metrics reports (its --resources names) and their API groups. Not Secrets:
listing them would hand it every credential of the platform to report their names.
*/}}
{{- define "metrics.kubeStateKinds" -}}
{{- dict
    "pods" "" "persistentvolumeclaims" "" "services" ""
    "deployments" "apps" "statefulsets" "apps" "daemonsets" "apps" "replicasets" "apps"
    "jobs" "batch" "cronjobs" "batch" | toJson -}}
{{- end -}}

{{- define "metrics.kubeStateResources" -}}
{{- keys (include "metrics.kubeStateKinds" . | fromJson) | sortAlpha | toJson -}}
{{- end -}}

{{/* kube-state-metrics' report of SparkApplications: one series per application, its state a label. */}}
{{- define "metrics.sparkApplicationState" -}}
{{- $states := list "NEW" "SUBMITTED" "RUNNING" "COMPLETED" "FAILED" "SUBMISSION_FAILED" "PENDING_RERUN" "INVALIDATING" "SUCCEEDING" "FAILING" "UNKNOWN" -}}
{{- dict "kind" "CustomResourceStateMetrics" "spec" (dict "resources" (list (dict
    "groupVersionKind" (dict "group" "sparkoperator.k8s.io" "version" "v1beta2" "kind" "SparkApplication")
    "metrics" (list (dict "name" "sparkapplication_state" "help" "The state of a SparkApplication"
      "each" (dict "type" "StateSet" "stateSet" (dict "labelName" "state" "path" (list "status" "applicationState" "state") "list" $states))))))) | toJson -}}
{{- end -}}

{{- define "metrics.kubeStateRules" -}}
{{- $byGroup := dict -}}
{{- range $kind, $group := include "metrics.kubeStateKinds" . | fromJson -}}
{{- $_ := set $byGroup $group (append (get $byGroup $group | default list) $kind) -}}
{{- end -}}
{{- if .Values.kubeStateMetrics.sparkApplications -}}
{{- $_ := set $byGroup "sparkoperator.k8s.io" (list "sparkapplications") -}}
{{- end -}}
{{- $rules := list -}}
{{- range $group := keys $byGroup | sortAlpha -}}
{{- $rules = append $rules (dict "apiGroups" (list $group) "resources" (get $byGroup $group | sortAlpha) "verbs" (list "list" "watch")) -}}
{{- end -}}
{{- toJson $rules -}}
{{- end -}}

{{/*
A dashboard of vmui's format in Grafana's JSON, the same queries: a row panel per row, its panels
on Grafana's 24-column grid (vmui's width is out of 12), each query a target of the datasource.
*/}}
{{- define "metrics.grafanaDashboard" -}}
{{- $datasource := dict "type" "prometheus" "uid" .ctx.Values.grafana.datasourceUid -}}
{{- $panels := list -}}
{{- $y := 0 -}}
{{- $id := 0 -}}
{{- range $row := .dashboard.rows -}}
{{- $id = add1 $id -}}
{{- $panels = append $panels (dict "id" $id "type" "row" "title" ($row.title | default "") "collapsed" false "gridPos" (dict "x" 0 "y" $y "w" 24 "h" 1)) -}}
{{- $y = add1 $y -}}
{{- $x := 0 -}}
{{- range $panel := $row.panels -}}
{{- $w := mul (int ($panel.width | default 6)) 2 -}}
{{- if gt (add $x $w) 24 -}}{{- $x = 0 -}}{{- $y = add $y 8 -}}{{- end -}}
{{- $targets := list -}}
{{- range $i, $expr := $panel.expr -}}
{{- $targets = append $targets (dict "refId" (printf "%c" (add 65 $i)) "expr" $expr "datasource" $datasource) -}}
{{- end -}}
{{- $id = add1 $id -}}
{{- $panels = append $panels (dict "id" $id "type" "timeseries" "title" ($panel.title | default "") "description" ($panel.description | default "")
    "datasource" $datasource "targets" $targets "gridPos" (dict "x" $x "y" $y "w" $w "h" 8)
    "fieldConfig" (dict "defaults" (dict "unit" ($panel.unit | default "short")) "overrides" list)) -}}
{{- $x = add $x $w -}}
{{- end -}}
{{- $y = add $y 8 -}}
{{- end -}}
{{- dict "title" .dashboard.title "uid" (printf "airyard-%s" (trimSuffix ".json" .file)) "schemaVersion" 39 "editable" true
    "time" (dict "from" "now-6h" "to" "now") "refresh" "30s" "tags" (list "airyard") "panels" $panels | toJson -}}
{{- end -}}
