#!/usr/bin/env bash
# make dev: `skaffold dev` on the kind cluster (profile `dev`: DAGs and plugins from the checkout
# through the node's hostPath, see k8s/dev/values.yaml). Extra arguments go to skaffold.
# `hack/dev.sh build` is skaffold's custom build command for every artifact (skaffold.yaml).
source "$(dirname "$0")/lib.sh"
source "$ROOT/hack/images/docker-build.sh"
CLUSTER=${AIRYARD_CLUSTER:-airyard}
VERSION=$(cat "$ROOT/VERSION")

build() {
  # Skaffold sets IMAGE (airyard/<name>:<digest tag>), BUILD_CONTEXT and PUSH_IMAGE.
  [[ ${PUSH_IMAGE:-false} != true ]] || die "skaffold asks to push $IMAGE: airyard builds for a local kind cluster only"
  local repo=${IMAGE%:*} name
  name=${repo#airyard/}
  [[ -f $ROOT/images/$name/Dockerfile ]] || die "no image images/$name for $IMAGE"
  phase "image $name"
  # Also tag airyard/<name>:<VERSION>: charts, task pods (AIRYARD_IMAGE_TAG) and images built
  # FROM airyard/spark:<VERSION> name that tag, and skaffold only loads the images it deploys.
  docker_build --progress=plain -f "$ROOT/images/$name/Dockerfile" -t "$IMAGE" -t "airyard/$name:$VERSION" \
    "$BUILD_CONTEXT"
  if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    "$ROOT/hack/images/load.sh" "$name"
  fi
}

case ${1:-} in
  build) build ;;
  *)
    "$ROOT/hack/cluster/up.sh"
    "$ROOT/hack/images/base-images.sh"
    phase "skaffold dev (Ctrl-C stops it; the platform stays installed)"
    exec skaffold dev --cleanup=false "$@"
    ;;
esac
