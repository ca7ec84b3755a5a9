#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Print the path of Debian's kubectl (package kubernetes-client, 1.20.2),
# unpacked -- not installed, it would collide with /usr/bin/kubectl -- into
# a cache directory.  Exits 77 with a reason on stderr when apt cannot
# download it (no network, no Debian archive).
set -u
CACHE=${LIBKUBE_TEST_CACHE:-/var/cache/libkube-test}/kubectl
BIN=$CACHE/usr/bin/kubectl
if [ -x "$BIN" ]; then
  echo "$BIN"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
  echo "skip: apt-get/dpkg not available to fetch kubernetes-client" >&2
  exit 77
fi
if ! mkdir -p "$CACHE" 2>/dev/null; then
  echo "skip: cannot create the cache directory $CACHE" >&2
  exit 77
fi
# Tests run in parallel: one download at a time.
exec 9>"$CACHE.lock"
flock 9 2>/dev/null || true
if [ -x "$BIN" ]; then
  echo "$BIN"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && apt-get download kubernetes-client) >"$tmp/log" 2>&1; then
  echo "skip: 'apt-get download kubernetes-client' failed:" >&2
  tail -n 3 "$tmp/log" >&2
  exit 77
fi
deb=$(ls "$tmp"/kubernetes-client_*.deb 2>/dev/null | head -n 1)
if [ -z "$deb" ] || ! dpkg -x "$deb" "$tmp/root"; then
  echo "skip: could not unpack kubernetes-client" >&2
  exit 77
fi
rm -rf "$CACHE"
mv "$tmp/root" "$CACHE"
if [ ! -x "$BIN" ]; then
  echo "skip: the kubernetes-client package has no usr/bin/kubectl" >&2
  exit 77
fi
echo "$BIN"
