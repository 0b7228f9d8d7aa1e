#!/usr/bin/env bash
# NetworkPolicy enforcement on the kind cluster (part of make cluster): kube-router's network
# policy controller, built from the Go module proxy, loaded into the node and run as a DaemonSet
# (k8s/kind/kube-router.yaml). Idempotent: an existing cluster gets it too.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/hack/gobuild.sh"
source "$ROOT/hack/images/docker-build.sh"

CLUSTER=${AIRYARD_CLUSTER:-airyard}
IMAGE=$NODE_IMAGE_REPOSITORY/kube-router:$KUBE_ROUTER_VERSION
BIN=$CACHE/components/kube-router-$KUBE_ROUTER_VERSION

build() {
  # v$KUBE_ROUTER_VERSION's own golang.org/x and gRPC versions carry reported vulnerabilities:
  # the build raises them to the pinned ones below.
  [[ -x $BIN ]] || GO_REQUIRE=$KUBE_ROUTER_GO_REQUIRE go_build "$BIN" github.com/cloudnativelabs/kube-router/v2 \
    "$KUBE_ROUTER_VERSION" github.com/cloudnativelabs/kube-router/v2/cmd/kube-router \
    "-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION"
  local ctx; ctx=$(mktemp -d)
  cp "$ROOT/k8s/kind/components/kube-router/Dockerfile" "$BIN" "$ctx/"
  mv "$ctx/$(basename "$BIN")" "$ctx/kube-router"
  docker_build -q -t "$IMAGE" "$ctx" >/dev/null
  rm -rf "$ctx"
}

phase "NetworkPolicy enforcement (kube-router $KUBE_ROUTER_VERSION)"
docker image inspect "$IMAGE" >/dev/null 2>&1 || run_logged kube-router-build build
node=$CLUSTER-control-plane
if ! docker exec "$node" ctr -n k8s.io images ls -q 2>/dev/null | grep -qx "$IMAGE"; then
  run_logged kube-router-load kind load docker-image --name "$CLUSTER" "$IMAGE"
fi
service_cidr=$(kubectl -n kube-system get configmap kubeadm-config -o jsonpath='{.data.ClusterConfiguration}' |
  sed -n 's/^ *serviceSubnet: *//p')
[[ -n $service_cidr ]] || die "cannot read the service subnet from kube-system/kubeadm-config"
sed -e "s#@IMAGE@#$IMAGE#" -e "s#@SERVICE_CIDR@#$service_cidr#" "$ROOT/k8s/kind/kube-router.yaml" | kubectl apply -f - >/dev/null
kubectl -n kube-system rollout status daemonset/kube-router --timeout=180s >/dev/null
info "enforcing: $(kubectl get networkpolicies -A --no-headers 2>/dev/null | wc -l) NetworkPolicies"
