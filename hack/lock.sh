#!/usr/bin/env bash
# make lock: resolve each requirements *.in into its pinned, hashed *.lock (Python 3.11, Linux).
source "$(dirname "$0")/lib.sh"
"$ROOT/hack/venv.sh"
phase "lock files"
cd "$ROOT"
for in in requirements/*.in images/*/requirements.in; do
  [[ -f $in ]] || continue
  out=${in%.in}.lock
  info "$in -> $out"
  .venv/bin/uv pip compile --native-tls -q --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
    --generate-hashes --no-header "$in" -o "$out"
done
