#!/usr/bin/env bash
# The Kubernetes server binaries (and kubeadm, kubectl) for the node image, built from the Go
# module proxy into $CACHE/kubernetes/$KUBERNETES_VERSION/bin. Skips when they are already there.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/hack/gobuild.sh"

K8S_BIN=$CACHE/kubernetes/$KUBERNETES_VERSION/bin
TARGETS=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubeadm kubectl)

phase "kubernetes $KUBERNETES_VERSION binaries"
for t in "${TARGETS[@]}"; do [[ -x $K8S_BIN/$t ]] || missing=1; done
if [[ -z ${missing:-} ]]; then info "cached in $K8S_BIN"; exit 0; fi
info "building from the Go module proxy (cold: 5-45 min on 2 cores, cached afterwards)"
rm -rf "$K8S_BIN.tmp"
run_logged "kubernetes-$KUBERNETES_VERSION" k8s_build "$K8S_BIN.tmp" "${TARGETS[@]}"
[[ $("$K8S_BIN.tmp/kubeadm" version -o short) == "$KUBERNETES_VERSION" ]] || die "kubeadm does not report $KUBERNETES_VERSION"
rm -rf "$K8S_BIN" && mv "$K8S_BIN.tmp" "$K8S_BIN"
