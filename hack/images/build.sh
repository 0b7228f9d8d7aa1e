#!/usr/bin/env bash
# make images: build images/<name>/ as airyard/<name>:<VERSION> (all, or the names given).
source "$(dirname "$0")/../lib.sh"
source "$ROOT/hack/images/docker-build.sh"
TAG=$(cat "$ROOT/VERSION")

names=("$@")
if (( ${#names[@]} == 0 )); then
  for d in "$ROOT"/images/*/Dockerfile; do names+=("$(basename "$(dirname "$d")")"); done
fi
# Build an image after the airyard/* images it is FROM (e.g. a pipeline's Spark jobs on airyard/spark).
ordered=()
visit() {
  local n=$1 base
  [[ " ${ordered[*]} " == *" $n "* ]] && return 0
  for base in $(sed -n 's#^FROM airyard/\([a-z0-9-]*\):.*#\1#p' "$ROOT/images/$n/Dockerfile" 2>/dev/null); do
    [[ -f $ROOT/images/$base/Dockerfile ]] && visit "$base"
  done
  ordered+=("$n")
}
for n in "${names[@]}"; do visit "$n"; done
names=("${ordered[@]}")

phase "images (airyard/*:$TAG)"
[[ -n $(ca_bundle) ]] && info "extra CA bundle for builds: $(ca_bundle) (a BuildKit secret, not kept in images)"
for n in "${names[@]}"; do
  [[ -f $ROOT/images/$n/Dockerfile ]] || die "no image images/$n"
  # A Dockerfile may name another build context ("# airyard:context=../.."), relative to its folder.
  ctx=$(sed -n 's/^# airyard:context=\([^ ]*\).*/\1/p' "$ROOT/images/$n/Dockerfile")
  run_logged "image-$n" docker_build --progress=plain -f "$ROOT/images/$n/Dockerfile" -t "airyard/$n:$TAG" \
    "$ROOT/images/$n/${ctx:-.}"
  info "airyard/$n:$TAG $(docker image inspect -f '{{.Size}}' "airyard/$n:$TAG" | numfmt --to=iec)"
done
