#!/usr/bin/env bash
# make down: delete the kind cluster. Images and build caches stay, so `make cluster` is quick.
source "$(dirname "$0")/../lib.sh"
CLUSTER=${AIRYARD_CLUSTER:-airyard}
phase "delete cluster $CLUSTER"
TOOLS=kind "$ROOT/hack/tools.sh" 2>/dev/null
kind delete cluster --name "$CLUSTER"
