#!/usr/bin/env bash
# make ui: the Airflow UI (api-server) on http://localhost:${UI_PORT:-8080} until Ctrl-C.
source "$(dirname "$0")/lib.sh"
NAMESPACE=${AIRYARD_NAMESPACE:-airyard}
PORT=${UI_PORT:-8080}
password=$(kubectl -n "$NAMESPACE" get secret airyard-airflow-admin -o jsonpath='{.data.password}' | base64 -d) \
  || die "no airyard release in namespace $NAMESPACE (make up)"
phase "Airflow UI on http://localhost:$PORT (Ctrl-C to stop)"
info "login: admin / password: kubectl -n $NAMESPACE get secret airyard-airflow-admin -o jsonpath='{.data.password}' | base64 -d"
[[ -n $password ]] || die "the admin password Secret is empty"
exec kubectl -n "$NAMESPACE" port-forward --address 127.0.0.1 service/airyard-api-server "$PORT:8080"
