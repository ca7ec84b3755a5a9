#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The store and our archives against the real tools: skopeo and umoci read
# DATA/images as it is; podman loads both export formats and runs our
# images under runc and crun; podman's own archives import back with the
# same image ID.
#   test-image-interop.sh KUBE RUN_IMAGE SOURCE_ROOT
set -u
kube=$1; run=$2; src=$3
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
for t in skopeo umoci podman; do
    command -v $t >/dev/null || { echo "SKIP: $t not installed (scripts/setup.sh installs it)"; exit 77; }
done
[ -x /bin/busybox ] || { echo "SKIP: busybox-static missing"; exit 77; }
tmp=$(mktemp -d /tmp/kube-img-interop-XXXXXX)
D=$tmp/data
pass=0; fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; shift; [ $# -gt 0 ] && printf '%s\n' "$@" | head -30; fail=$((fail + 1)); }
P() {
    podman --root "$tmp/proot" --runroot "$tmp/prun" --storage-driver vfs \
        --cgroup-manager cgroupfs --events-backend file "$@"
}
cleanup() {
    P rm -f -a >/dev/null 2>&1
    P rmi -f -a >/dev/null 2>&1
    grep " $tmp" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
    rm -rf "$tmp"
    for d in /sys/fs/cgroup/*/libpod_parent /sys/fs/cgroup/libpod_parent; do
        [ -d "$d" ] || continue
        for sub in "$d"/*/; do [ -d "$sub" ] && rmdir "$sub" 2>/dev/null; done
        rmdir "$d" 2>/dev/null
    done
}
trap cleanup EXIT
K() { "$kube" "$@" --data-dir "$D"; }

sh "$src/images/busybox.sh" --data-dir "$D" --kube "$kube" >/dev/null || { echo "FAIL busybox base"; exit 1; }
ctx=$tmp/ctx; mkdir -p "$ctx"
echo payload > "$ctx/p.txt"
printf 'FROM busybox\nCOPY p.txt /data/p.txt\nRUN echo ran > /data/ran.txt && rm /etc/group\nCMD ["cat", "/data/p.txt", "/data/ran.txt"]\n' > "$ctx/Dockerfile"
out=$(K build -t interop:1 "$ctx" 2>&1) || { echo "FAIL build" "$out"; exit 1; }
ref=docker.io/library/interop:1
mdigest=$(K image inspect interop:1 | sed -n 's/.*"Digest": "\([^"]*\)".*/\1/p')
id=$(K image inspect interop:1 | sed -n 's/.*"Id": "\([^"]*\)".*/\1/p')

# skopeo and umoci read the layout directly
out=$(skopeo inspect "oci:$D/images:$ref" 2>&1)
echo "$out" | grep -q "\"Digest\": \"$mdigest\"" && ok "skopeo inspect oci:DATA/images:$ref" || bad "skopeo inspect" "$out"
out=$(skopeo copy "oci:$D/images:$ref" "dir:$tmp/skodir" 2>&1) && ok "skopeo copy out of the store" || bad "skopeo copy" "$out"
out=$(umoci unpack --image "$D/images:$ref" "$tmp/bundle" 2>&1)
[ "$(cat "$tmp/bundle/rootfs/data/p.txt" 2>/dev/null)" = payload ] && [ ! -e "$tmp/bundle/rootfs/etc/group" ] &&
    [ -e "$tmp/bundle/rootfs/etc/passwd" ] && ok "umoci unpack (layers and whiteouts)" || bad "umoci unpack" "$out"

# our archives into podman, run under runc and crun
K image export interop:1 "$tmp/d.tar" --format docker-archive &&
K image export interop:1 "$tmp/o.tar" --format oci-archive || bad "export"
out=$(skopeo inspect "docker-archive:$tmp/d.tar" 2>&1) && ok "skopeo reads our docker-archive" || bad "skopeo docker-archive" "$out"
out=$(skopeo inspect "oci-archive:$tmp/o.tar:$ref" 2>&1) && ok "skopeo reads our oci-archive" || bad "skopeo oci-archive" "$out"
out=$(P load -i "$tmp/d.tar" 2>&1)
echo "$out" | grep -q "Loaded image: $ref" && ok "podman load docker-archive" || bad "podman load docker-archive" "$out"
P rmi -f -a >/dev/null 2>&1
out=$(P load -i "$tmp/o.tar" 2>&1)
echo "$out" | grep -q "Loaded image" && ok "podman load oci-archive" || bad "podman load oci-archive" "$out"
P tag "$(P images -q | head -1)" "$ref" >/dev/null 2>&1
ul="--ulimit nofile=$(ulimit -Hn):$(ulimit -Hn) --ulimit nproc=1024:1024"
out=$(P run --rm --network none $ul --runtime runc "$ref" 2>&1)
[ "$out" = "payload
ran" ] && ok "podman run (runc)" || bad "podman run runc" "$out"
if command -v crun >/dev/null; then
    # crun 1.8 refuses this hybrid cgroup layout unless the cgroup2 mount
    # is out of its sight (as bench-runtime does)
    out=$(unshare -m sh -c "mount --make-rprivate / && { umount /sys/fs/cgroup/unified 2>/dev/null; true; } &&
        podman --root $tmp/proot --runroot $tmp/prun --storage-driver vfs --cgroup-manager cgroupfs \
        --events-backend file run --rm --network none $ul --runtime crun $ref" 2>&1)
    [ "$out" = "payload
ran" ] && ok "podman run (crun)" || bad "podman run crun" "$out"
fi

# podman's archives into our store
P save --format docker-archive -o "$tmp/ps.tar" "$ref" >/dev/null 2>&1
P save --format oci-archive -o "$tmp/po.tar" "$ref" >/dev/null 2>&1
for a in ps po; do
    d2=$tmp/back-$a
    out=$("$kube" image import --data-dir "$d2" "$tmp/$a.tar" 2>&1)
    id2=$("$kube" image inspect --data-dir "$d2" "$ref" 2>/dev/null | sed -n 's/.*"Id": "\([^"]*\)".*/\1/p')
    [ "$id2" = "$id" ] && ok "podman save ($a) imports with the same image ID" || bad "import podman save $a" "$out" "$id2 != $id"
    out=$("$run" "$d2" "$ref" 2>&1)
    [ "$out" = "payload
ran" ] && ok "the imported image runs ($a)" || bad "run imported $a" "$out"
done
# skopeo copy into an oci-archive and back
skopeo copy "oci:$D/images:$ref" "oci-archive:$tmp/sk.tar:$ref" >/dev/null 2>&1
out=$("$kube" image import --data-dir "$tmp/back-sk" "$tmp/sk.tar" 2>&1)
echo "$out" | grep -q "Loaded image: $ref" && ok "skopeo's oci-archive imports" || bad "skopeo archive import" "$out"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
