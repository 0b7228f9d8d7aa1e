#!/usr/bin/env bash
# make load-images: load the built airyard/* images into the kind cluster, so pods start with
# imagePullPolicy IfNotPresent and never ask a registry. An image already loaded into this very
# node (same image ID, same node container) is skipped: `kind load` would export it again.
source "$(dirname "$0")/../lib.sh"
CLUSTER=${AIRYARD_CLUSTER:-airyard}
TAG=$(cat "$ROOT/VERSION")
names=("$@")
if (( ${#names[@]} == 0 )); then
  for d in "$ROOT"/images/*/Dockerfile; do names+=("$(basename "$(dirname "$d")")"); done
fi
node=$(docker inspect -f '{{.Id}}' "$CLUSTER-control-plane" 2>/dev/null) || die "no kind cluster $CLUSTER (make cluster)"
stamps=$CACHE/loaded/$CLUSTER
mkdir -p "$stamps"
# Images whose content changed under the same tag: running pods keep the old content until they
# are restarted (hack/up.sh restarts the workloads that use them).
: > "$stamps/.changed"
phase "load images into kind cluster $CLUSTER"
for n in "${names[@]}"; do
  id=$(docker image inspect -f '{{.Id}}' "airyard/$n:$TAG" 2>/dev/null) || die "image airyard/$n:$TAG is not built (make images IMAGES=$n)"
  if [[ -f $stamps/$n && $(cat "$stamps/$n") == "$node $id" ]]; then
    info "airyard/$n:$TAG already loaded"; continue
  fi
  run_logged "load-$n" kind load docker-image --name "$CLUSTER" "airyard/$n:$TAG"
  [[ -f $stamps/$n ]] && echo "airyard/$n:$TAG" >> "$stamps/.changed"
  echo "$node $id" > "$stamps/$n"
done
