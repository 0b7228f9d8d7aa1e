#!/usr/bin/env bash
# make base-images: make the upstream base images our Dockerfiles name available locally.
# Pulls them where a registry answers; otherwise builds them from Debian packages (mmdebstrap)
# and `docker import`s them under the upstream name, so Dockerfiles stay standard.
source "$(dirname "$0")/../lib.sh"

build_debian_slim() {
  local ref=$1 tar=$CACHE/base/debian-$DEBIAN_SUITE-slim.tar
  mkdir -p "$CACHE/base"
  apt_install mmdebstrap
  # Like the upstream slim image: minbase, no docs, man pages or locales.
  mmdebstrap --variant=minbase --mode=root --format=tar \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --aptopt='APT::Install-Recommends "false"' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    --customize-hook="copy-in $ROOT/hack/images/rootfs/docker-clean /etc/apt/apt.conf.d" \
    "$DEBIAN_SUITE" "$tar.tmp" "$(host_apt_sources)"
  mv "$tar.tmp" "$tar"
  docker import -c 'CMD ["bash"]' -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$tar" "$ref" >/dev/null
  rm -f "$tar"
}

phase "base images"
for ref in "debian:$DEBIAN_SUITE-slim"; do
  if docker image inspect "$ref" >/dev/null 2>&1; then info "$ref present"; continue; fi
  if timeout 120 docker pull -q "$ref" >/dev/null 2>&1; then info "$ref pulled"; continue; fi
  run_logged "base-$ref" build_debian_slim "$ref"
  info "$ref built from Debian packages ($(docker image inspect -f '{{.Size}}' "$ref" | numfmt --to=iec))"
done
