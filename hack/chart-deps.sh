#!/usr/bin/env bash
# make chart-deps: the dependency archives every chart needs, built locally (never committed).
# Our charts are packaged from this checkout. The official Airflow chart is packaged from
# $AIRFLOW_CHART (a local copy of its chart/ folder) when set; otherwise Helm fetches it from
# its repository (users with network access).
source "$(dirname "$0")/lib.sh"
TOOLS=helm "$ROOT/hack/tools.sh" >/dev/null
# The Spark operator's CRDs come from its pinned Go module (generated, not committed).
"$ROOT/hack/spark-operator-crds.sh"
phase "chart dependencies"
cd "$ROOT/charts"
for chart in */; do
  chart=${chart%/}
  [[ $chart == airyard ]] && continue
  grep -q '^dependencies:' "$chart/Chart.yaml" 2>/dev/null || continue
  helm dependency build --skip-refresh "$chart" >/dev/null
done
umbrella=$ROOT/charts/airyard
mkdir -p "$umbrella/charts"
# The official chart first, into a scratch folder: when it cannot be had, the archive packaged
# before (if any) stays, and nothing else has been touched.
official=$(mktemp -d)
trap 'rm -rf "$official"' EXIT
if [[ -n ${AIRFLOW_CHART:-} ]]; then
  [[ -f $AIRFLOW_CHART/Chart.yaml ]] || die "AIRFLOW_CHART=$AIRFLOW_CHART has no Chart.yaml (point it at the official chart's chart/ folder)"
  helm package "$AIRFLOW_CHART" -d "$official" >/dev/null
  info "official Airflow chart from $AIRFLOW_CHART ($(sed -n 's/^version: //p' "$AIRFLOW_CHART/Chart.yaml"))"
else
  helm repo add apache-airflow https://airflow.apache.org >/dev/null 2>&1 || true
  if ! helm pull apache-airflow/airflow --version "$(sed -n '/name: airflow$/{n;s/ *version: //p}' "$umbrella/Chart.yaml")" \
    -d "$official" 2>/dev/null; then
    compgen -G "$umbrella/charts/airflow-[0-9]*.tgz" >/dev/null ||
      die "the official Airflow chart cannot be fetched: set AIRFLOW_CHART to a local copy of its chart/ folder"
    info "official Airflow chart unreachable: keeping $(cd "$umbrella/charts" && ls airflow-[0-9]*.tgz), packaged before"
    cp -p "$umbrella"/charts/airflow-[0-9]*.tgz "$official"/
  fi
fi
rm -f "$umbrella"/charts/*.tgz
mv "$official"/*.tgz "$umbrella/charts/"
# Our sub-charts (file:// dependencies), packaged into the umbrella.
for dep in $(sed -n 's#^ *repository: file://\.\./\(.*\)$#\1#p' "$umbrella/Chart.yaml"); do
  helm package "$dep" -d "$umbrella/charts" >/dev/null
done
info "$(ls "$umbrella/charts" | tr '\n' ' ')"
