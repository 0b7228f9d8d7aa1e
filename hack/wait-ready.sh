#!/usr/bin/env bash
# Wait until every Deployment and StatefulSet of a namespace is rolled out (new pods ready, old gone) and every Job has
# completed, printing progress. (Helm's --wait does not wait for Jobs.)
source "$(dirname "$0")/lib.sh"
NAMESPACE=${1:-airyard}
TIMEOUT=${WAIT_TIMEOUT:-1200}
phase "waiting for namespace $NAMESPACE to be ready (up to $TIMEOUT s)"
deadline=$((SECONDS + TIMEOUT))
while :; do
  pending=$(kubectl -n "$NAMESPACE" get deploy,statefulset -o json | python3 -c '
import json, sys
for o in json.load(sys.stdin)["items"]:
    want, s = o["spec"].get("replicas", 1), o.get("status", {})
    ready = s.get("readyReplicas", 0)
    # Rolled out: the controller saw this spec, every pod runs it and is ready, no old pod is left.
    rolled = (
        s.get("observedGeneration", 0) >= o["metadata"]["generation"]
        and s.get("updatedReplicas", 0) == want
        and s.get("replicas", 0) == want
        and (o["kind"] == "Deployment" or s.get("currentRevision") == s.get("updateRevision"))
    )
    if ready < want or not rolled:
        print(o["kind"] + "/" + o["metadata"]["name"], f"{ready}/{want}" + ("" if rolled else " rolling"))
')
  jobs=$(kubectl -n "$NAMESPACE" get jobs -o json | python3 -c '
import json, sys
for o in json.load(sys.stdin)["items"]:
    s = o.get("status", {})
    if o["metadata"].get("ownerReferences"):  # CronJob runs come and go
        continue
    if not s.get("succeeded") and not any(c["type"] == "Failed" and c["status"] == "True" for c in s.get("conditions", [])):
        print("job/" + o["metadata"]["name"])
    elif not s.get("succeeded"):
        print("FAILED job/" + o["metadata"]["name"])
')
  if [[ $jobs == *FAILED* ]]; then
    kubectl -n "$NAMESPACE" get pods | grep -v Completed >&2
    die "set-up job failed: $(grep FAILED <<<"$jobs" | head -3 | tr '\n' ' ') (kubectl -n $NAMESPACE logs job/<name>)"
  fi
  if [[ -z $pending && -z $jobs ]]; then info "all workloads ready, all jobs complete"; break; fi
  (( SECONDS < deadline )) || { kubectl -n "$NAMESPACE" get pods >&2; die "not ready after $TIMEOUT s: $pending $jobs"; }
  info "waiting: $(echo $pending $jobs | cut -c1-150)"
  sleep 10
done
