#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# kubed's built-in registry against the real clients: skopeo copies both
# ways, podman pushes and pulls, `kube push` then `kube image pull` into a
# second data directory, `kube build --push`, and a pushed image runs at
# once from the store the registry serves.
#   test-registry-interop.sh KUBE KUBED RUN_IMAGE SOURCE_ROOT
set -u
kube=$1; kubed=$2; run=$3; src=$4
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
for t in skopeo podman umoci; do
    command -v $t >/dev/null || { echo "SKIP: $t not installed (scripts/setup.sh installs it)"; exit 77; }
done
[ -x /bin/busybox ] || { echo "SKIP: busybox-static missing"; exit 77; }
tmp=$(mktemp -d /tmp/kube-reg-interop-XXXXXX)
D=$tmp/data
D2=$tmp/data2
pass=0; fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; shift; [ $# -gt 0 ] && printf '%s\n' "$@" | head -30; fail=$((fail + 1)); }
P() {
    podman --root "$tmp/proot" --runroot "$tmp/prun" --storage-driver vfs \
        --cgroup-manager cgroupfs --events-backend file "$@"
}
kpid=
cleanup() {
    [ -n "$kpid" ] && kill "$kpid" 2>/dev/null && wait "$kpid" 2>/dev/null
    P rmi -f -a >/dev/null 2>&1
    grep " $tmp" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
K() { "$kube" "$@" --data-dir "$D"; }
K2() { "$kube" "$@" --data-dir "$D2"; }

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
R=127.0.0.1:$port
sh "$src/images/busybox.sh" --data-dir "$D" --kube "$kube" >/dev/null || { echo "FAIL busybox base"; exit 1; }
"$kubed" server --data-dir "$D" --store memory --listen "unix:$tmp/kubed.sock" --no-scheduler \
    --no-node --registry-listen "tcp:$R" >"$tmp/kubed.log" 2>&1 &
kpid=$!
for i in $(seq 100); do
    curl -sf "http://$R/v2/" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -sf "http://$R/v2/" >/dev/null && ok "kubed serves the registry on $R" || { bad "registry up" "$(cat "$tmp/kubed.log")"; exit 1; }

# skopeo pulls what the store holds, and pushes back under another name
out=$(skopeo copy --src-tls-verify=false "docker://$R/library/busybox:latest" "oci:$tmp/sko:bb" 2>&1) &&
    ok "skopeo copy docker://registry -> oci:" || bad "skopeo pull" "$out"
out=$(umoci unpack --image "$tmp/sko:bb" "$tmp/bundle" 2>&1) && [ -x "$tmp/bundle/rootfs/bin/busybox" ] &&
    ok "what skopeo pulled unpacks (umoci)" || bad "umoci unpack of the pull" "$out"
out=$(skopeo copy --dest-tls-verify=false "oci:$tmp/sko:bb" "docker://$R/interop/skopeo:v1" 2>&1) &&
    ok "skopeo copy oci: -> docker://registry" || bad "skopeo push" "$out"
out=$(K image inspect docker.io/interop/skopeo:v1 2>&1) && ok "skopeo's push is a store image at once" ||
    bad "pushed image in the store" "$out"
out=$(skopeo inspect --tls-verify=false "docker://$R/interop/skopeo:v1" 2>&1) &&
    echo "$out" | grep -q '"Architecture"' && ok "skopeo inspect of the pushed tag" || bad "skopeo inspect" "$out"
out=$(skopeo list-tags --tls-verify=false "docker://$R/interop/skopeo" 2>&1) && echo "$out" | grep -q '"v1"' &&
    ok "skopeo list-tags" || bad "skopeo list-tags" "$out"

# podman pull, tag, push (its own chunked uploads), pull back
out=$(P pull --tls-verify=false "$R/library/busybox:latest" 2>&1) && ok "podman pull from the registry" ||
    bad "podman pull" "$out"
out=$(P tag "$R/library/busybox:latest" "$R/interop/podman:v2" 2>&1 &&
      P push --tls-verify=false "$R/interop/podman:v2" 2>&1) && ok "podman push to the registry" || bad "podman push" "$out"
P rmi -f -a >/dev/null 2>&1
out=$(P pull --tls-verify=false "$R/interop/podman:v2" 2>&1) && ok "podman pulls its own push back" ||
    bad "podman pull back" "$out"
# (the hard limits as they are: a nested sandbox may forbid raising them)
ul="--ulimit nofile=$(ulimit -Hn):$(ulimit -Hn) --ulimit nproc=1024:1024"
out=$(P run --rm --network none $ul --runtime runc "$R/interop/podman:v2" echo from-podman 2>&1)
echo "$out" | grep -q from-podman && ok "podman runs the pulled image" || bad "podman run" "$out"
out=$("$run" "$D" docker.io/interop/podman:v2 -- echo ran-from-store 2>&1)
echo "$out" | grep -q ran-from-store && ok "podman's push runs from the store (no copy)" || bad "run pushed image" "$out"

# kube push, then kube image pull into a second data directory
out=$("$kube" push busybox "$R/interop/kube:v3" --data-dir "$D" 2>&1) && ok "kube push to the registry" ||
    bad "kube push" "$out"
out=$(K2 image pull "$R/interop/kube:v3" 2>&1) && ok "kube image pull into a second data dir" ||
    bad "kube image pull" "$out"
a=$(K image inspect busybox | sed -n 's/.*"Id": "\([^"]*\)".*/\1/p')
b=$(K2 image inspect "$R/interop/kube:v3" | sed -n 's/.*"Id": "\([^"]*\)".*/\1/p')
[ -n "$a" ] && [ "$a" = "$b" ] && ok "same image ID on both sides" || bad "image IDs" "$a" "$b"
out=$("$run" "$D2" "$R/interop/kube:v3" -- echo ran-in-second 2>&1)
echo "$out" | grep -q ran-in-second && ok "the pulled image runs in the second store" || bad "run pulled" "$out"

# kube build --push
ctx=$tmp/ctx; mkdir -p "$ctx"
printf 'FROM %s/interop/kube:v3\nRUN echo built > /built.txt\nCMD ["cat", "/built.txt"]\n' "$R" > "$ctx/Dockerfile"
out=$("$kube" build --data-dir "$D2" -t "$R/interop/built:v4" --push "$ctx" 2>&1) &&
    echo "$out" | grep -q "Pushed $R/interop/built:v4" && ok "kube build --push" || bad "build --push" "$out"
out=$("$run" "$D" docker.io/interop/built:v4 2>&1)
[ "$out" = built ] && ok "the built image runs from kubed's store at once" || bad "run built" "$out"
out=$(curl -s "http://$R/v2/_catalog")
missing=
for r in library/busybox interop/skopeo interop/podman interop/kube interop/built; do
    echo "$out" | grep -q "\"$r\"" || missing="$missing $r"
done
[ -z "$missing" ] && ok "catalog lists every repository" || bad "catalog lacks$missing" "$out"

echo "$pass passed, $fail failed"
[ $fail = 0 ]
