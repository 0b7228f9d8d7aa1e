#!/usr/bin/env bash
# Regenerate the JSON schemas of the Prometheus Operator's objects the metrics chart renders
# (PodMonitor, PrometheusRule: prometheusOperator.*), from the CRDs in the operator's Go module.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
module=github.com/prometheus-operator/prometheus-operator@v0.85.0
dir=$(cd "$(mktemp -d)" && GOFLAGS=-mod=mod go mod download -json "$module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
python3 "$here/../crd2jsonschema.py" "$here" \
  "$dir/example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml" \
  "$dir/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml"
