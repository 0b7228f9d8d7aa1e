#!/usr/bin/env bash
# make venv: .venv/ with exactly the packages of requirements/dev.lock (hash-checked).
source "$(dirname "$0")/lib.sh"
UV_VERSION=0.13.8
stamp=$ROOT/.venv/.lock-sha
want=$(sha256sum "$ROOT/requirements/dev.lock" | cut -d' ' -f1)
[[ -f $stamp && $(cat "$stamp") == "$want" ]] && exit 0
phase "python environment (.venv)"
have python3 || apt_install python3 python3-venv
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "Python ≥ 3.11 is required (found $(python3 -V))"
[[ -x $ROOT/.venv/bin/python ]] || python3 -m venv "$ROOT/.venv" || { apt_install python3-venv; python3 -m venv "$ROOT/.venv"; }
# uv resolves and installs fast; --native-tls makes it trust the system CA store (proxies).
[[ $("$ROOT/.venv/bin/uv" --version 2>/dev/null) == "uv $UV_VERSION"* ]] || \
  "$ROOT/.venv/bin/python" -m pip install -q "uv==$UV_VERSION"
run_logged venv-sync "$ROOT/.venv/bin/uv" pip sync --native-tls --python "$ROOT/.venv/bin/python" \
  "$ROOT/requirements/dev.lock"
# uv is not in the lock (it is the installer); keep it for `make lock`.
"$ROOT/.venv/bin/python" -m pip install -q "uv==$UV_VERSION"
echo "$want" > "$stamp"
