#!/usr/bin/env bash
# Before `helm upgrade` (hack/up.sh) and skaffold's deploy: delete the official chart's finished
# migration Job when the upgrade would change its image. The chart names that Job without a hash,
# and a Job's pod template is immutable, so the upgrade would fail ("field is immutable") instead
# of migrating. Helm then creates it again and it migrates (idempotent).
#   hack/migration-job.sh [IMAGE]   IMAGE: what the upgrade deploys; without it, any finished Job goes.
source "$(dirname "$0")/lib.sh"
# skaffold names the namespaces it deploys to (`-n` included) to its hooks.
NAMESPACE=${SKAFFOLD_NAMESPACES:-}
NAMESPACE=${NAMESPACE%%,*}
NAMESPACE=${NAMESPACE:-${AIRYARD_NAMESPACE:-airyard}}
JOB=airyard-run-airflow-migrations
CONTEXT=${SKAFFOLD_KUBE_CONTEXT:+--context=$SKAFFOLD_KUBE_CONTEXT}

# shellcheck disable=SC2086  # CONTEXT is empty or one argument
read -r image succeeded < <(kubectl $CONTEXT -n "$NAMESPACE" get job "$JOB" --ignore-not-found \
  -o jsonpath='{.spec.template.spec.containers[0].image} {.status.succeeded}{"\n"}') || true
[[ -n ${image:-} && ${succeeded:-0} -ge 1 ]] || exit 0
[[ -z ${1:-} || $1 != "$image" ]] || exit 0
echo "    $JOB ran $image: deleted, so the upgrade runs it again${1:+ with $1}"
# shellcheck disable=SC2086
kubectl $CONTEXT -n "$NAMESPACE" delete job "$JOB" --wait=true >/dev/null
