#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Install what libkube needs on Debian 12 (as root) and build it into ./build.
# Idempotent: re-running only rebuilds what changed.
set -eu
cd "$(dirname "$0")/.."

# One package per line, sorted (branches add lines without colliding).
PACKAGES="
  bind9-dnsutils
  binutils
  bpftool
  buildah
  busybox-static
  chromium
  chromium-driver
  clang
  containernetworking-plugins
  crun
  curl
  dnsperf
  etcd-server
  gcc
  iproute2
  iptables
  libarchive-dev
  libbpf-dev
  libclang-rt-14-dev
  libcmocka-dev
  libcurl4-openssl-dev
  libevent-dev
  libhttp-parser-dev
  libjemalloc-dev
  libjson-c-dev
  libldns-dev
  libnftables-dev
  libnghttp2-dev
  libpcre2-dev
  libseccomp-dev
  libsqlite3-dev
  libssl-dev
  libyaml-dev
  meson
  ninja-build
  nftables
  nodejs
  nsd
  pkg-config
  podman
  procps
  python3
  python3-dev
  python3-grpcio
  python3-kubernetes
  python3-pytest
  python3-selenium
  python3-websocket
  runc
  skopeo
  umoci
  util-linux
  zlib1g-dev
  zsh
"

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $missing
else
  # The kubectl test fetches Debian's kubernetes-client with apt-get download,
  # which needs package lists.
  [ -n "$(ls /var/lib/apt/lists/ 2>/dev/null | grep -v lock | head -1)" ] || apt-get update -qq
fi

if [ ! -f build/build.ninja ]; then
  meson setup build --buildtype=debugoptimized
fi
ninja -C build

# Offline base images (busybox, node) into kubed's default store; the
# scripts cache their archives, so this is quick after the first run.
if [ "$(id -u)" = 0 ]; then
  sh images/busybox.sh --kube build/frontends/cli/kube >/dev/null
  sh images/node.sh --kube build/frontends/cli/kube >/dev/null
fi
