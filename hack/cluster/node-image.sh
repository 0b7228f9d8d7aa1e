#!/usr/bin/env bash
# The kind node image, built with no registry: Kubernetes from the Go module proxy, the
# control-plane images kubeadm expects, a Debian rootfs from mmdebstrap. Every step is cached
# by version; the node image carries a hash of its inputs and is rebuilt only when they change.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/hack/gobuild.sh"
source "$ROOT/hack/images/docker-build.sh"

NODE_IMAGE=airyard.local/kind-node:$KUBERNETES_VERSION
ROOTFS_IMAGE=airyard.local/kind-rootfs:$DEBIAN_SUITE
K8S_BIN=$CACHE/kubernetes/$KUBERNETES_VERSION/bin
COMP=$CACHE/components
KIND_DIR=$ROOT/k8s/kind
ROOTFS_PACKAGES=systemd,systemd-sysv,dbus,containerd,runc,containernetworking-plugins,iptables,nftables,conntrack,iproute2,ethtool,util-linux,mount,kmod,procps,ca-certificates,jq,socat,e2fsprogs,bash,libseccomp2,pigz,libcap2-bin

inputs_hash() {
  (cd "$ROOT" && cat hack/versions.env hack/cluster/node-image.sh \
    && find k8s/kind/node k8s/kind/components k8s/kind/default-storage.yaml -type f -print0 | sort -z | xargs -0 cat) \
    | sha256sum | cut -c1-16
}

# image_for NAME: the kubeadm image reference whose name ends in /NAME.
image_for() { grep -E "/$1:" <<<"$IMAGES"; }
version_of() { local ref; ref=$(image_for "$1"); echo "${ref##*:}"; }

component_binaries() {
  local etcd_v coredns_v
  etcd_v=v$(version_of etcd); etcd_v=${etcd_v%-*}
  coredns_v=$(version_of coredns)
  mkdir -p "$COMP"
  [[ -x $COMP/etcd-$etcd_v ]] || go_build "$COMP/etcd-$etcd_v" go.etcd.io/etcd/server/v3 "$etcd_v" go.etcd.io/etcd/server/v3
  [[ -x $COMP/etcdctl-$etcd_v ]] || go_build "$COMP/etcdctl-$etcd_v" go.etcd.io/etcd/etcdctl/v3 "$etcd_v" go.etcd.io/etcd/etcdctl/v3
  [[ -x $COMP/coredns-$coredns_v ]] || go_build "$COMP/coredns-$coredns_v" github.com/coredns/coredns "$coredns_v" github.com/coredns/coredns
  [[ -x $COMP/local-path-provisioner-$LOCAL_PATH_PROVISIONER_VERSION ]] || \
    go_build "$COMP/local-path-provisioner-$LOCAL_PATH_PROVISIONER_VERSION" github.com/rancher/local-path-provisioner \
      "$LOCAL_PATH_PROVISIONER_VERSION" github.com/rancher/local-path-provisioner
  [[ -x $COMP/pause-$(version_of pause) ]] || gcc -Os -static -o "$COMP/pause-$(version_of pause)" "$KIND_DIR/components/pause/pause.c"
  strip "$COMP/pause-$(version_of pause)"
}

rootfs_image() {
  docker image inspect "$ROOTFS_IMAGE" >/dev/null 2>&1 && return 0
  apt_install mmdebstrap
  local tar=$CACHE/base/kind-rootfs-$DEBIAN_SUITE.tar
  mkdir -p "$CACHE/base"
  mmdebstrap --variant=minbase --mode=root --format=tar --include="$ROOTFS_PACKAGES" \
    --aptopt='APT::Install-Recommends "false"' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "$DEBIAN_SUITE" "$tar.tmp" "$(host_apt_sources)"
  docker import "$tar.tmp" "$ROOTFS_IMAGE" >/dev/null
  rm -f "$tar.tmp"
}

# Build one component image from a context holding exactly the files it copies.
component_image() { # REF DOCKERFILE FILE... (each FILE as SRC:NAME)
  local ref=$1 dockerfile=$2; shift 2
  local ctx; ctx=$(mktemp -d)
  local f; for f in "$@"; do cp "${f%%:*}" "$ctx/${f##*:}"; done
  docker_build -q -f "$dockerfile" "${BUILD_ARGS[@]}" -t "$ref" "$ctx" >/dev/null
  rm -rf "$ctx"
}

component_images() {
  local c ref
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    BUILD_ARGS=(--build-arg "NAME=$c"); component_image "$(image_for "$c")" "$KIND_DIR/components/Dockerfile.binary" "$K8S_BIN/$c:$c"
  done
  BUILD_ARGS=(); component_image "$(image_for kube-proxy)" "$KIND_DIR/components/kube-proxy/Dockerfile" "$K8S_BIN/kube-proxy:kube-proxy"
  local etcd_v=v$(version_of etcd); etcd_v=${etcd_v%-*}
  BUILD_ARGS=(--build-arg NAME=etcd)
  component_image "$(image_for etcd)" "$KIND_DIR/components/Dockerfile.binary" "$COMP/etcd-$etcd_v:etcd"
  BUILD_ARGS=(); component_image "$(image_for coredns)" "$KIND_DIR/components/coredns/Dockerfile" "$COMP/coredns-$(version_of coredns):coredns"
  component_image "$(image_for pause)" "$KIND_DIR/components/pause/Dockerfile" "$COMP/pause-$(version_of pause):pause"
  BUILD_ARGS=(--build-arg NAME=local-path-provisioner)
  component_image "$NODE_IMAGE_REPOSITORY/local-path-provisioner:$LOCAL_PATH_PROVISIONER_VERSION" "$KIND_DIR/components/Dockerfile.binary" \
    "$COMP/local-path-provisioner-$LOCAL_PATH_PROVISIONER_VERSION:local-path-provisioner"
  BUILD_ARGS=(); component_image "$NODE_IMAGE_REPOSITORY/busybox:$BUSYBOX_VERSION" "$KIND_DIR/components/Dockerfile.busybox" "/bin/busybox:busybox"
}

node_image() {
  local ctx=$CACHE/node-context hash=$1
  rm -rf "$ctx" && mkdir -p "$ctx/bin"
  cp -a "$KIND_DIR/node/files" "$ctx/files"
  cp "$K8S_BIN"/{kubeadm,kubelet,kubectl} "$ctx/bin/"
  sed -e "s#IMAGE_REPOSITORY#$NODE_IMAGE_REPOSITORY#g" -e "s#LOCAL_PATH_VERSION#$LOCAL_PATH_PROVISIONER_VERSION#g" \
      -e "s#BUSYBOX_VERSION#$BUSYBOX_VERSION#g" "$KIND_DIR/default-storage.yaml" > "$ctx/default-storage.yaml"
  docker_build -q -f "$KIND_DIR/node/Dockerfile" --build-arg "ROOTFS=$ROOTFS_IMAGE" \
    --build-arg "PAUSE_IMAGE=$(image_for pause)" --build-arg "KUBERNETES_VERSION=$KUBERNETES_VERSION" \
    -t airyard.local/kind-node-base:"$hash" "$ctx" >/dev/null

  # Preload every image into the node's containerd (namespace k8s.io), so kubeadm and kubelet
  # never pull. containerd runs in a plain container just long enough to import the archive.
  local archive=$ctx/images.tar cid
  docker save -o "$archive" $IMAGES "$NODE_IMAGE_REPOSITORY/local-path-provisioner:$LOCAL_PATH_PROVISIONER_VERSION" \
    "$NODE_IMAGE_REPOSITORY/busybox:$BUSYBOX_VERSION"
  cid=$(docker run -d --entrypoint=sleep --security-opt seccomp=unconfined \
        airyard.local/kind-node-base:"$hash" infinity)
  trap 'docker rm -f "$cid" >/dev/null 2>&1 || true' RETURN
  docker cp "$archive" "$cid:/images.tar"
  # --no-unpack: only the content store is written, so no overlay mount happens inside the
  # container's own overlay filesystem; images are unpacked on first use in the running node.
  docker exec "$cid" bash -c '
    set -e
    containerd >/tmp/containerd.log 2>&1 &
    for i in $(seq 30); do ctr version >/dev/null 2>&1 && break; sleep 1; done
    ctr -n k8s.io images import --all-platforms --no-unpack --digests /images.tar
    ctr -n k8s.io images ls -q
    kill %1; wait || true
    rm -f /images.tar /tmp/containerd.log'
  docker commit --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' \
    --change "LABEL airyard.inputs=$hash" "$cid" "$NODE_IMAGE" >/dev/null
  rm -rf "$ctx"
}

phase "kind node image $NODE_IMAGE"
hash=$(inputs_hash)
if [[ $(docker image inspect -f '{{index .Config.Labels "airyard.inputs"}}' "$NODE_IMAGE" 2>/dev/null) == "$hash" ]]; then
  info "up to date (inputs $hash)"; exit 0
fi
"$ROOT/hack/cluster/k8s-binaries.sh"
"$ROOT/hack/images/base-images.sh"
phase "kind node image $NODE_IMAGE"
BUSYBOX_VERSION=$(dpkg-query -W -f '${Version}' busybox-static 2>/dev/null | sed 's/^[0-9]*://; s/[^A-Za-z0-9_.-].*//') || true
[[ -n $BUSYBOX_VERSION ]] || { apt_install busybox-static; BUSYBOX_VERSION=$(dpkg-query -W -f '${Version}' busybox-static | sed 's/^[0-9]*://; s/[^A-Za-z0-9_.-].*//'); }
IMAGES=$("$K8S_BIN/kubeadm" config images list --kubernetes-version "$KUBERNETES_VERSION" --image-repository "$NODE_IMAGE_REPOSITORY")
run_logged node-component-binaries component_binaries
run_logged node-rootfs rootfs_image
run_logged node-component-images component_images
run_logged node-assemble node_image "$hash"
info "built $NODE_IMAGE ($(docker image inspect -f '{{.Size}}' "$NODE_IMAGE" | numfmt --to=iec))"
