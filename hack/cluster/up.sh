#!/usr/bin/env bash
# make cluster: the single-node kind cluster `airyard`. Uses kindest/node where it can be had
# (or $AIRYARD_NODE_IMAGE); otherwise builds our own node image with no registry.
source "$(dirname "$0")/../lib.sh"

CLUSTER=${AIRYARD_CLUSTER:-airyard}
CONTEXT=kind-$CLUSTER
UPSTREAM_NODE=kindest/node:${KIND_NODE_TAG:-v1.35.0}

"$ROOT/hack/docker/ensure.sh"
TOOLS="kind kubectl" "$ROOT/hack/tools.sh"

phase "cluster $CLUSTER"
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  info "exists (make down to delete it)"
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
kubectl get nodes -o wide
info "kubectl context: $CONTEXT"
