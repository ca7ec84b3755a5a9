#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# docker.io/library/node:<major> and node:latest from the host's nodejs
# package (its files and their shared-library closure), on the busybox
# base (a shell for RUN steps and `kube exec`): two layers.
#   images/node.sh [--data-dir DIR] [--kube KUBE]
. "$(dirname "$0")/lib.sh"
command -v node >/dev/null || { echo "node.sh: apt-get install nodejs" >&2; exit 1; }
version=$(node --version | sed 's/^v//')
major=${version%%.*}
key="node-$(pkg_version nodejs)-$(pkg_version libc6)-$(pkg_version busybox-static)"
if ! load_cached "$key"; then
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/kube-node-XXXXXX")
    d=$(mktemp -d "${TMPDIR:-/tmp}/kube-node-store-XXXXXX")
    trap 'rm -rf "$tmp" "$d"' EXIT
    sh "$here/busybox.sh" --data-dir "$d" --kube "$KUBE" >/dev/null
    rootfs=$tmp/ctx/rootfs
    mkdir -p "$rootfs"
    # the package's files (documentation and headers left out)
    dpkg -L nodejs | grep -v -e '^/usr/share/doc/' -e '^/usr/share/man/' \
        -e '^/usr/include/' -e '^/\.$' |
        while read -r f; do
            if [ -L "$f" ] || { [ -e "$f" ] && [ ! -d "$f" ]; }; then echo "${f#/}"; fi
        done | tar -C / --no-recursion -T - -cf - | tar -C "$rootfs" --no-same-owner -xf -
    copy_closure "$rootfs" "$(readlink -f "$(command -v node)")"
    # libraries the busybox base already has stay out of this layer
    for f in usr/lib/x86_64-linux-gnu/libc.so.6 usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 \
        usr/lib64/ld-linux-x86-64.so.2; do
        rm -f "$rootfs/$f"
    done
    cat > "$tmp/ctx/Dockerfile" <<D
FROM docker.io/library/busybox:latest
COPY rootfs/ /
ENV NODE_VERSION=$version
CMD ["node"]
D
    "$KUBE" build --data-dir "$d" -q -t "node:$major" "$tmp/ctx" >/dev/null
    "$KUBE" image export --data-dir "$d" "node:$major" "$cache/$key.tar"
    load_cached "$key"
fi
"$KUBE" image tag $dd_args "node:$major" node:latest
echo "docker.io/library/node:$major docker.io/library/node:latest"
