#!/usr/bin/env bash
# make cluster: the single-node kind cluster `airyard`. Uses kindest/node where it can be had
# (or $AIRYARD_NODE_IMAGE); otherwise builds our own node image with no registry.
source "$(dirname "$0")/../lib.sh"

CLUSTER=${AIRYARD_CLUSTER:-airyard}
CONTEXT=kind-$CLUSTER
NODE=$CLUSTER-control-plane
UPSTREAM_NODE=kindest/node:${KIND_NODE_TAG:-v1.35.0}

"$ROOT/hack/docker/ensure.sh"
TOOLS="kind kubectl" "$ROOT/hack/tools.sh"

phase "cluster $CLUSTER"
# dags/ and plugins/ reach the pods through the node's bind mounts of the checkout (k8s/kind):
# the node must mount this checkout's folders, not ones deleted since (a checkout removed and
# cloned again to the same path leaves the node an empty folder until it restarts).
check_mounts() {
  local folder source
  for folder in dags plugins; do
    source=$(docker inspect -f "{{range .Mounts}}{{if eq .Destination \"/mnt/airyard/$folder\"}}{{.Source}}{{end}}{{end}}" "$NODE")
    [[ $source == "$ROOT/$folder" ]] ||
      die "cluster $CLUSTER mounts $folder/ from '${source:-nowhere}', not from this checkout ($ROOT): make down, then make up"
    if [[ $(docker exec "$NODE" stat -c %i "/mnt/airyard/$folder") != $(stat -c %i "$ROOT/$folder") ]]; then
      info "$folder/ was deleted and created again since the node started: restarting the node"
      docker restart "$NODE" >/dev/null
    fi
  done
}

# After the node container restarts (check_mounts, or dockerd started again), the API still shows
# pods Ready from before until the kubelet has restarted them: wait until every running container
# started after the node did.
wait_for_kubelet() {
  local since waiting="" deadline=$((SECONDS + 600))
  since=$(docker inspect -f '{{.State.StartedAt}}' "$NODE" | cut -c1-19)Z
  until kubectl get pods -A -o json 2>/dev/null | python3 -c '
import json, sys
since = sys.argv[1]
for pod in json.load(sys.stdin)["items"]:
    for c in pod["status"].get("containerStatuses", []) if pod["status"].get("phase") == "Running" else []:
        if c.get("state", {}).get("running", {}).get("startedAt", since) < since:
            sys.exit(1)
' "$since" 2>/dev/null; do
    (( SECONDS < deadline )) || die "the pods of cluster $CLUSTER did not restart within 600 s of its node ($since)"
    [[ -n $waiting ]] || { info "node started at $since: waiting for the kubelet to restart its pods"; waiting=1; }
    sleep 5
  done
}

if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  info "exists (make down to delete it)"
  check_mounts
  wait_for_kubelet
else
  node=${AIRYARD_NODE_IMAGE:-}
  offline=1
  if [[ -z $node ]]; then
    if docker image inspect "$UPSTREAM_NODE" >/dev/null 2>&1 || timeout 300 docker pull -q "$UPSTREAM_NODE" >/dev/null 2>&1; then
      node=$UPSTREAM_NODE; offline=0
    else
      info "$UPSTREAM_NODE cannot be pulled: building our own node image"
      "$ROOT/hack/cluster/node-image.sh"
      node=airyard.local/kind-node:$KUBERNETES_VERSION
    fi
  elif [[ $node == kindest/* ]]; then
    offline=0
  fi
  phase "cluster $CLUSTER"
  config=$CACHE/kind-$CLUSTER.yaml
  sed -e "s#@REPO@#$ROOT#g" -e "s#@NODE_IMAGE@#$node#g" -e "s#@IMAGE_REPOSITORY@#$NODE_IMAGE_REPOSITORY#g" \
      -e "s#^name: .*#name: $CLUSTER#" "$ROOT/k8s/kind/cluster.yaml" > "$config"
  if (( ! offline )); then
    # kindest/node brings its own CNI and pulls control-plane images from their usual home.
    python3 - "$config" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p).read()
s = re.sub(r"\n  disableDefaultCNI: true[^\n]*", "", s)
s = re.sub(r"\n  - \|\n    # offline node:.*", "\n", s, flags=re.S)
open(p, "w").write(s)
PY
  fi
  info "node image $node"
  run_logged "kind-create-$CLUSTER" kind create cluster --name "$CLUSTER" --config "$config" --wait 5m --retain
fi

kubectl config use-context "$CONTEXT" >/dev/null
phase "waiting for the cluster"
kubectl wait --for=condition=Ready node --all --timeout=300s >/dev/null
kubectl -n kube-system wait --for=condition=Ready pod --all --timeout=300s >/dev/null
kubectl -n local-path-storage rollout status deploy/local-path-provisioner --timeout=300s >/dev/null
# NetworkPolicies are enforced, as on the clusters users run (Calico, Cilium): a policy that
# admits too much or cuts a component off fails here first.
"$ROOT/hack/cluster/netpol.sh"
kubectl get nodes -o wide
info "kubectl context: $CONTEXT"
