#!/usr/bin/env bash
# make metrics: the metrics UI (VictoriaMetrics' vmui with the platform's dashboards, PromQL,
# alerts) on http://localhost:${METRICS_PORT:-8428} until Ctrl-C.
source "$(dirname "$0")/lib.sh"
NAMESPACE=${AIRYARD_NAMESPACE:-airyard}
RELEASE=${AIRYARD_RELEASE:-airyard}
PORT=${METRICS_PORT:-8428}
service=$RELEASE-metrics-store
kubectl -n "$NAMESPACE" get service "$service" >/dev/null 2>&1 \
  || die "no $service in namespace $NAMESPACE (make up, with metrics.enabled)"
phase "metrics on http://localhost:$PORT/vmui/ (Ctrl-C to stop)"
info "dashboards: http://localhost:$PORT/vmui/#/dashboards; alerts: vmalert's rules are in the store as ALERTS"
exec kubectl -n "$NAMESPACE" port-forward --address 127.0.0.1 "service/$service" "$PORT:8428"
