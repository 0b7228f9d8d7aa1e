#!/usr/bin/env bash
# make dev: `skaffold dev` on the kind cluster (profile `dev`: DAGs and plugins from the checkout
# through the node's hostPath, see k8s/dev/values.yaml). Extra arguments go to skaffold.
# `hack/dev.sh build` is skaffold's custom build command for every artifact, `hack/dev.sh chart-deps`
# its render hook (skaffold.yaml).
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

# skaffold's render hook: hack/chart-deps.sh, but an archive that comes out byte for byte the same
# keeps its file and mtime. `skaffold dev` watches the chart folder, archives included: a rewritten
# archive would start another deploy, whose render hook rewrites it again, without end.
chart_deps() {
  local dir=$ROOT/charts/airyard/charts keep f
  keep=$(mktemp -d)
  trap 'rm -rf "$keep"' RETURN
  if compgen -G "$dir/*.tgz" >/dev/null; then cp -p "$dir"/*.tgz "$keep"/; fi
  "$ROOT/hack/chart-deps.sh"
  for f in "$keep"/*.tgz; do
    [[ -f $f ]] || continue
    if cmp -s "$f" "$dir/${f##*/}"; then cp -p "$f" "$dir/${f##*/}"; fi
  done
}

case ${1:-} in
  build) build ;;
  chart-deps) chart_deps ;;
  *)
    "$ROOT/hack/cluster/up.sh"
    "$ROOT/hack/images/base-images.sh"
    phase "skaffold dev (Ctrl-C stops it; the platform stays installed)"
    exec skaffold dev --cleanup=false "$@"
    ;;
esac
