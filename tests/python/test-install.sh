#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `meson install` into a scratch DESTDIR, then use the installed tree as an
# outside project would: build examples/embed standalone with
# `pkg-config libkube` and run it (node.c: built, its usage checked); import the installed Python module (next
# to its .pyi) and run a server with it.
#   test-install.sh BUILDDIR SRCDIR PYTHON
set -eu
build=$1 src=$2 py=$3
tmp=$(mktemp -d /tmp/libkube-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
set -x  # the commands go to stderr: the test log shows where it stopped
meson install -C "$build" --destdir "$tmp" --no-rebuild >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; exit 1; }
pc=$(find "$tmp" -name libkube.pc | head -1)
lib=$(find "$tmp" -name 'libkube.so.0' | head -1)
[ -n "$pc" ] && [ -n "$lib" ] || { echo "install: no libkube.pc or libkube.so.0"; exit 1; }
export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$tmp"
# shellcheck disable=SC2046
cc -std=gnu11 -Wall -Werror -Wno-unused-parameter -o "$tmp/platform" \
    "$src/examples/embed/platform.c" $(pkg-config --cflags --libs libkube) -pthread
LD_LIBRARY_PATH="$(dirname "$lib")" "$tmp/platform"
echo "install: examples/embed built with pkg-config libkube and ran"
# The variant with a node needs root and a network of its own to run (the
# privileged test embed-node does that): built here, and its usage checked.
# shellcheck disable=SC2046
cc -std=gnu11 -Wall -Werror -Wno-unused-parameter -o "$tmp/platform-node" \
    "$src/examples/embed/node.c" $(pkg-config --cflags --libs libkube) -pthread
rc=0
LD_LIBRARY_PATH="$(dirname "$lib")" "$tmp/platform-node" 2>"$tmp/usage" || rc=$?
[ $rc = 2 ] && grep -q '^usage: .* DATA_DIR NODE_NAME NODE_IP POD_CIDR' "$tmp/usage" ||
    { echo "install: platform-node without arguments: rc $rc"; cat "$tmp/usage"; exit 1; }
echo "install: examples/embed/node.c built with pkg-config libkube"

mod=$(find "$tmp" -name 'libkube.abi3.so' | head -1)
if [ -z "$mod" ]; then
    echo "install: the Python module was not built (no python3-dev): skipped"
    exit 0
fi
[ -f "$(dirname "$mod")/libkube.pyi" ] || { echo "install: no libkube.pyi next to $mod"; exit 1; }
# The installed module finds libkube.so through its RUNPATH (the prefix's
# libdir), not through LD_LIBRARY_PATH.
runpath=$(readelf -d "$mod" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
[ "$runpath" = "$(dirname "${lib#"$tmp"}")" ] ||
    { echo "install: RUNPATH \"$runpath\" is not $(dirname "${lib#"$tmp"}")"; exit 1; }
# From $tmp: the build directory (the cwd of meson tests) holds libkube.so,
# which Python would try to import as the module "libkube".
cd "$tmp"
LD_LIBRARY_PATH="$(dirname "$lib")" PYTHONPATH="$(dirname "$mod")" "$py" - "$tmp" <<'PY'
import sys
import libkube
assert libkube.__file__.startswith(sys.argv[1]), libkube.__file__
with libkube.Server() as srv:
    c = srv.client()
    c.create({"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "installed"}})
    assert c.get("v1", "ConfigMap", "installed")["metadata"]["name"] == "installed"
print("install: the installed module imports and serves:", libkube.__file__[len(sys.argv[1]):])
PY
