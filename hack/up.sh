#!/usr/bin/env bash
# make up: from nothing to a running platform on the local kind cluster — Docker, tools, the
# cluster, every image, the chart dependencies, `helm upgrade --install`, and a wait until every
# workload is ready and every set-up Job has finished. Safe to re-run (it converges).
source "$(dirname "$0")/lib.sh"
RELEASE=airyard
NAMESPACE=${AIRYARD_NAMESPACE:-airyard}
start=$SECONDS

"$ROOT/hack/preflight.sh"
"$ROOT/hack/cluster/up.sh"
"$ROOT/hack/images/base-images.sh"
# IMAGES="a b" limits the (re)build and load to those images.
# shellcheck disable=SC2086
"$ROOT/hack/images/build.sh" ${IMAGES:-}
# shellcheck disable=SC2086
"$ROOT/hack/images/load.sh" ${IMAGES:-}
"$ROOT/hack/chart-deps.sh"

phase "helm upgrade --install $RELEASE (namespace $NAMESPACE)"
installed_before=$(helm status "$RELEASE" --namespace "$NAMESPACE" >/dev/null 2>&1 && echo yes || true)
# The namespace with its Pod Security labels: every pod of the platform must meet "restricted"
# (the chart labels the tasks namespace itself). Relabels it after `make dev` (privileged).
AIRYARD_NAMESPACE=$NAMESPACE "$ROOT/hack/namespace.sh" restricted
# Converge on the chart as it is here: --reset-values (without values, `helm upgrade` would reuse
# the previous release's), --force-conflicts (helm 4 applies server-side and would otherwise stop
# at objects someone changed by hand).
run_logged "helm-$RELEASE" helm upgrade --install "$RELEASE" "$ROOT/charts/airyard" \
  --namespace "$NAMESPACE" --timeout 20m --reset-values --force-conflicts \
  ${AIRYARD_VALUES:+--values "$AIRYARD_VALUES"}

# Tags stay the same across rebuilds, so workloads whose image content changed are restarted.
# A first install has just started every pod on the loaded images: nothing to restart.
changed=$(cat "$CACHE/loaded/${AIRYARD_CLUSTER:-airyard}/.changed" 2>/dev/null || true)
if [[ -n $changed && -n $installed_before ]]; then
  phase "restarting workloads whose image changed"
  kubectl -n "$NAMESPACE" get deploy,statefulset -o json | python3 -c '
import json, sys
changed = set(sys.argv[1].split())
for o in json.load(sys.stdin)["items"]:
    spec = o["spec"]["template"]["spec"]
    if {c["image"] for c in spec.get("containers", []) + spec.get("initContainers", [])} & changed:
        print(o["kind"].lower() + "/" + o["metadata"]["name"])
' "$changed" | xargs -r kubectl -n "$NAMESPACE" rollout restart
fi

"$ROOT/hack/wait-ready.sh" "$NAMESPACE"

phase "airyard is up ($((SECONDS - start)) s)"
cat <<MSG
    Airflow UI:    make ui, then open http://localhost:8080
    Login:         $(kubectl -n "$NAMESPACE" get secret "$RELEASE-airflow-admin" -o jsonpath='{.data.username}' | base64 -d)
    Password:      kubectl -n $NAMESPACE get secret $RELEASE-airflow-admin -o jsonpath='{.data.password}' | base64 -d; echo
    Tests:         make test (no cluster), make e2e (this cluster)
MSG
