#!/usr/bin/env bash
# make docker: a working Docker engine. Installs Debian's docker.io when missing, starts dockerd
# when it is not running, and makes --privileged containers work where the capability bounding set
# lacks capabilities Docker asks for. Does nothing where `docker run --privileged` already works.
source "$(dirname "$0")/../lib.sh"

# A one-file image (static busybox) to prove --privileged works without pulling anything.
probe_image() {
  docker image inspect airyard/probe:1 >/dev/null 2>&1 && return 0
  apt_install busybox-static
  local d; d=$(mktemp -d); mkdir "$d/bin"; cp /bin/busybox "$d/bin/true"
  tar -C "$d" -c . | docker import -c 'ENTRYPOINT ["/bin/true"]' - airyard/probe:1 >/dev/null
  rm -rf "$d"
}
privileged_ok() { probe_image && docker run --rm --privileged airyard/probe:1 >/dev/null; }

phase "docker engine"
if docker info >/dev/null 2>&1 && privileged_ok; then
  info "docker $(docker version -f '{{.Server.Version}}') works, --privileged included"; exit 0
fi

if ! have dockerd; then
  apt_install docker.io
fi
apt_install jq libcap2-bin iptables ca-certificates

# Only hosts missing capabilities in their bounding set need the wrapper.
runtime_changed=0
if [[ $(awk '/^CapBnd:/{print $2}' /proc/self/status) != "$(printf '%016x' $(( (1 << ($(cat /proc/sys/kernel/cap_last_cap) + 1)) - 1 )))" ]]; then
  if ! cmp -s "$ROOT/hack/docker/runc-capfilter" /usr/local/sbin/runc-capfilter; then
    install -m 0755 "$ROOT/hack/docker/runc-capfilter" /usr/local/sbin/runc-capfilter
    runtime_changed=1
  fi
  mkdir -p /etc/docker
  want='{"runtimes": {"capfilter": {"path": "/usr/local/sbin/runc-capfilter"}}, "default-runtime": "capfilter"}'
  if [[ ! -f /etc/docker/daemon.json ]] || ! jq -e '."default-runtime" == "capfilter"' /etc/docker/daemon.json >/dev/null; then
    if [[ -f /etc/docker/daemon.json ]]; then
      jq --argjson w "$want" '. * $w' /etc/docker/daemon.json > /etc/docker/daemon.json.new
      mv /etc/docker/daemon.json.new /etc/docker/daemon.json
    else
      echo "$want" | jq . > /etc/docker/daemon.json
    fi
    runtime_changed=1
    info "default runtime: runc-capfilter (capabilities outside the bounding set are dropped)"
  fi
fi

start_dockerd() {
  local i
  if have systemctl && [[ -d /run/systemd/system ]]; then
    systemctl restart docker
  else
    # A stopping daemon still holds its pid file and socket until its containers have stopped.
    if pkill -x dockerd 2>/dev/null; then
      for i in $(seq 60); do pgrep -x dockerd >/dev/null || break; sleep 1; done
    fi
    # dockerd outlives this script: in its own session, and holding none of the caller's
    # descriptors beyond stdio, or a caller's lock or pipe would stay open as long as the daemon.
    (
      for fd in /proc/self/fd/*; do
        fd=${fd##*/}
        if (( fd > 2 )); then eval "exec $fd>&-" 2>/dev/null || true; fi
      done
      exec setsid dockerd </dev/null >"$LOGS/dockerd.log" 2>&1
    ) &
  fi
  for i in $(seq 120); do docker info >/dev/null 2>&1 && return 0; sleep 1; done
  die "dockerd did not start; see $LOGS/dockerd.log"
}

if ! docker info >/dev/null 2>&1 || (( runtime_changed )); then
  info "starting dockerd"
  start_dockerd
fi
privileged_ok || die "docker run --privileged still fails; see $LOGS/dockerd.log"
info "docker $(docker version -f '{{.Server.Version}}') works, --privileged included"
