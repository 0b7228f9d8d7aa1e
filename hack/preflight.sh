#!/usr/bin/env bash
# Checks what `make up` needs before its first long step (Kubernetes builds, images), so a missing
# prerequisite fails in seconds with what to do, not after half an hour of building:
#   - the official Airflow chart: $AIRFLOW_CHART (a local copy of its chart/ folder), or its Helm
#     repository reachable;
#   - disk: AIRYARD_MIN_FREE_GB (default 25) free where Docker keeps images.
source "$(dirname "$0")/lib.sh"
phase "preflight"

version=$(sed -n '/name: airflow$/{n;s/ *version: //p}' "$ROOT/charts/airyard/Chart.yaml")
if [[ -n ${AIRFLOW_CHART:-} ]]; then
  [[ -f $AIRFLOW_CHART/Chart.yaml ]] ||
    die "AIRFLOW_CHART=$AIRFLOW_CHART has no Chart.yaml: point it at the official Airflow chart's chart/ folder"
  info "official Airflow chart: $AIRFLOW_CHART ($(sed -n 's/^version: //p' "$AIRFLOW_CHART/Chart.yaml"))"
elif curl -fsS --max-time 20 -o /dev/null https://airflow.apache.org/index.yaml 2>/dev/null; then
  info "official Airflow chart: $version from https://airflow.apache.org"
else
  die "the official Airflow chart's repository (https://airflow.apache.org) cannot be reached: set AIRFLOW_CHART to a local copy of the chart's chart/ folder (version $version)"
fi

where=/var/lib/docker
[[ -d $where ]] || where=/
free_gb=$(( $(df --output=avail -k "$where" | tail -1) / 1024 / 1024 ))
(( free_gb >= ${AIRYARD_MIN_FREE_GB:-25} )) ||
  die "$free_gb GiB free on $where; make up needs ${AIRYARD_MIN_FREE_GB:-25} GiB (Kubernetes build, images, the cluster)"
info "$free_gb GiB free on $where"
