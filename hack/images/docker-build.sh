# shellcheck shell=bash
# docker_build ARGS...: `docker build` with BuildKit, passing the extra CA bundle as a build
# secret (id=ca-bundle) when there is one. Dockerfiles use it only inside the RUN steps that
# download (`--mount=type=secret,id=ca-bundle`), so it never lands in an image layer.
#
# The bundle: $AIRYARD_CA_BUNDLE if set; otherwise the host's CA bundle when the host trusts
# locally added CAs (a TLS-intercepting proxy, a corporate CA); otherwise none.
ca_bundle() {
  if [[ -n ${AIRYARD_CA_BUNDLE:-} ]]; then
    [[ -s $AIRYARD_CA_BUNDLE ]] || die "AIRYARD_CA_BUNDLE=$AIRYARD_CA_BUNDLE is not a readable file"
    echo "$AIRYARD_CA_BUNDLE"
  elif compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null && [[ -s /etc/ssl/certs/ca-certificates.crt ]]; then
    echo /etc/ssl/certs/ca-certificates.crt
  fi
}

# A client that speaks BuildKit to the daemon: buildx when installed, else the classic
# BuildKit mode of Debian's docker.io client (newer clients without buildx refuse it).
docker_build() {
  local ca secret=()
  ca=$(ca_bundle)
  [[ -n $ca ]] && secret=(--secret "id=ca-bundle,src=$ca")
  if docker buildx version >/dev/null 2>&1; then
    docker buildx build --load "${secret[@]}" "$@"
  elif [[ -x /usr/bin/docker ]]; then
    DOCKER_BUILDKIT=1 /usr/bin/docker build "${secret[@]}" "$@"
  else
    DOCKER_BUILDKIT=1 docker build "${secret[@]}" "$@"
  fi
}
