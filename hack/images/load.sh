#!/usr/bin/env bash
# make load-images: load the built airyard/* images into the kind cluster, so pods start with
# imagePullPolicy IfNotPresent and never ask a registry.
source "$(dirname "$0")/../lib.sh"
CLUSTER=${AIRYARD_CLUSTER:-airyard}
TAG=$(cat "$ROOT/VERSION")
names=("$@")
if (( ${#names[@]} == 0 )); then
  for d in "$ROOT"/images/*/Dockerfile; do names+=("$(basename "$(dirname "$d")")"); done
fi
phase "load images into kind cluster $CLUSTER"
for n in "${names[@]}"; do
  run_logged "load-$n" kind load docker-image --name "$CLUSTER" "airyard/$n:$TAG"
done
