#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# docker.io/library/busybox:latest (and busybox:<version>) from Debian's
# busybox-static, plus what a shell in a pod needs to resolve a name:
# busybox's static wget/nslookup cannot use glibc's resolver, so the image
# also carries glibc, its NSS modules and getent (`getent hosts NAME`).
#   images/busybox.sh [--data-dir DIR] [--kube KUBE]
. "$(dirname "$0")/lib.sh"
[ -x /bin/busybox ] || { echo "busybox.sh: apt-get install busybox-static" >&2; exit 1; }
bbver=$(/bin/busybox | head -1 | sed -n 's/^BusyBox v\([0-9.]*\).*/\1/p')
key="busybox-$(pkg_version busybox-static)-$(pkg_version libc6)-$(pkg_version libc-bin)"
if ! load_cached "$key"; then
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/kube-busybox-XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    rootfs=$tmp/rootfs
    mkdir -p "$rootfs/usr/lib" "$rootfs/usr/lib64"
    usr_merge "$rootfs"
    NO_CONFIG=1 sh "$root/scripts/make-busybox-bundle.sh" "$tmp" >/dev/null
    copy_closure "$rootfs" /usr/bin/getent
    for m in libnss_files.so.2 libnss_dns.so.2 libresolv.so.2; do
        [ -e "/lib/x86_64-linux-gnu/$m" ] && copy_file "/lib/x86_64-linux-gnu/$m" "$rootfs"
    done
    # getent replaces busybox's missing applet; keep ldconfig-free lookups
    ln -sf ../../usr/bin/getent "$rootfs/bin/getent" 2>/dev/null || true
    cat > "$rootfs/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
    printf 'root:x:0:\nnogroup:x:65534:\n' > "$rootfs/etc/group"
    printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$rootfs/etc/nsswitch.conf"
    mkdir -p "$rootfs/var" "$rootfs/home"
    tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 \
        -C "$rootfs" -cf "$tmp/rootfs.tar" .
    d=$(mktemp -d "${TMPDIR:-/tmp}/kube-busybox-store-XXXXXX")
    "$KUBE" image import --data-dir "$d" -q "$tmp/rootfs.tar" busybox:latest \
        -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        -c 'CMD ["sh"]' >/dev/null
    "$KUBE" image export --data-dir "$d" busybox:latest "$cache/$key.tar"
    rm -rf "$d"
    load_cached "$key"
fi
[ -n "$bbver" ] && "$KUBE" image tag $dd_args busybox:latest "busybox:$bbver"
echo "docker.io/library/busybox:latest${bbver:+ busybox:$bbver}"
