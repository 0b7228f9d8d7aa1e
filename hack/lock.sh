#!/usr/bin/env bash
# make lock: resolve each requirements *.in into its pinned, hashed *.lock (Python 3.11, Linux).
# Image locks first; the dev lock is constrained by the Airflow image's so tests run the same pins.
source "$(dirname "$0")/lib.sh"
"$ROOT/hack/venv.sh"
phase "lock files"
cd "$ROOT"
compile() { # IN [extra args]
  local in=$1; shift
  info "$in -> ${in%.in}.lock"
  .venv/bin/uv pip compile --native-tls -q --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
    --generate-hashes --no-header "$@" "$in" -o "${in%.in}.lock"
}
for in in images/*/requirements.in; do compile "$in"; done
compile requirements/dev.in -c images/airflow/requirements.lock
