# Shared helpers for hack/ scripts: pinned versions, paths, phase logging.
# shellcheck shell=bash
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=hack/versions.env
source "$ROOT/hack/versions.env"

# Built artefacts are cached outside the checkout, keyed by version, so a fresh clone reuses them.
CACHE=${AIRYARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/airyard}
BIN=$ROOT/.bin
LOGS=$CACHE/logs
mkdir -p "$CACHE" "$BIN" "$LOGS"
export PATH="$BIN:$PATH"
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

_phase=""
phase() { _phase=$1; printf '\n==> %s\n' "$*" >&2; }
info() { printf '    %s\n' "$*" >&2; }
die() { printf 'ERROR%s: %s\n' "${_phase:+ in phase '$_phase'}" "$*" >&2; exit 1; }

# run_logged NAME CMD...: run a long step with its output in $LOGS/NAME.log, print a heartbeat
# every 30 s, and on failure show the log's tail and name the phase and the log.
run_logged() {
  local name=$1; shift
  local log=$LOGS/$name.log start=$SECONDS next=30 pid rc
  info "$name (log: $log)"
  "$@" >"$log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 2
    if (( SECONDS - start >= next )); then
      info "… $name still running ($((SECONDS - start)) s): $(tail -n 1 "$log" | cut -c1-100)"
      next=$((next + 30))
    fi
  done
  if wait "$pid"; then rc=0; else rc=$?; fi
  if (( rc != 0 )); then
    tail -n 30 "$log" >&2
    die "$name failed (exit $rc); full log: $log"
  fi
  info "$name done in $((SECONDS - start)) s"
}

have() { command -v "$1" >/dev/null 2>&1; }

# restart_airflow NAMESPACE RELEASE: roll the Airflow components (they re-read Secrets and drop
# what they cached) and wait until each has rolled out. Not the StatsD exporter: it reads no Secret,
# and a restart drops every figure the tasks have sent it.
restart_airflow() {
  local d selector="tier=airflow,release=$2,component!=statsd"
  kubectl -n "$1" rollout restart deployment -l "$selector" >/dev/null
  for d in $(kubectl -n "$1" get deployment -l "$selector" -o name); do
    kubectl -n "$1" rollout status "$d" --timeout=10m >/dev/null || die "$d did not roll out in $1"
  done
}

apt_install() {
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  (( ${#missing[@]} == 0 )) && return 0
  info "apt-get install ${missing[*]}"
  if [[ ! -f /var/lib/apt/lists/.airyard-updated ]] || ! apt-cache policy "${missing[0]}" | grep -q Candidate; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && touch /var/lib/apt/lists/.airyard-updated
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The apt sources file this host already uses: image rootfs builds fetch from the same mirror.
host_apt_sources() {
  local f
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do
    [[ -s $f ]] && grep -qv '^[[:space:]]*#' "$f" && { echo "$f"; return 0; }
  done
  die "no apt sources found on this host"
}
