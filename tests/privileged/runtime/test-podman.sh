#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Stretch: podman drives kube-runtime with --runtime (through conmon).
#   test-podman.sh KUBE_RUNTIME MAKE_BUNDLE_SCRIPT
set -u
kube=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") # keep the alias name
script=$2
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v podman >/dev/null || { echo "SKIP: podman not installed"; exit 77; }
[ -x /bin/busybox ] || { echo "SKIP: busybox-static missing"; exit 77; }
tmp=$(mktemp -d /tmp/kube-rt-podman-XXXXXX)
P() {
    podman --root "$tmp/root" --runroot "$tmp/run" --storage-driver vfs \
        --cgroup-manager cgroupfs --events-backend file --runtime "$kube" "$@"
}
cleanup() {
    P rm -f -a >/dev/null 2>&1
    P rmi -f -a >/dev/null 2>&1
    rm -rf "$tmp"
    # podman's cgroupfs parent (and conmon's cgroup below it), when empty
    for d in /sys/fs/cgroup/*/libpod_parent /sys/fs/cgroup/libpod_parent; do
        [ -d "$d" ] || continue
        for sub in "$d"/*/; do [ -d "$sub" ] && rmdir "$sub" 2>/dev/null; done
        rmdir "$d" 2>/dev/null
    done
}
trap cleanup EXIT
fail=0
check() {
    if [ "$2" != "$3" ]; then echo "FAIL $1: expected '$2', got '$3'"; fail=1; else echo "ok $1"; fi
}
NO_CONFIG=1 sh "$script" "$tmp/img" >/dev/null || exit 1
tar -C "$tmp/img/rootfs" -cf "$tmp/rootfs.tar" . || exit 1
P import "$tmp/rootfs.tar" localhost/kube-busybox >/dev/null 2>&1 ||
    { echo "SKIP: podman cannot import an image here"; exit 77; }
# Limits no higher than ours: raising them needs CAP_SYS_RESOURCE.
ul="--ulimit nofile=$(ulimit -Hn):$(ulimit -Hn) --ulimit nproc=1024:1024"
out=$(P run --rm --network none $ul localhost/kube-busybox /bin/sh -c 'echo hello; exit 3' 2>&1)
check "podman run exit code" 3 $?
check "podman run output" hello "$out"
out=$(P run --rm -t --network none $ul localhost/kube-busybox /bin/sh -c 'tty; echo tty-$((1+1)); exit 4' </dev/null 2>&1)
rc=$?
check "podman run -t exit code" 4 $rc
out=$(printf '%s' "$out" | tr -d '\r' | tr '\n' ' ')
case $out in */dev/pts/0*tty-2*) ok=0 ;; *) ok=1; echo "$out" ;; esac
check "podman run -t output" 0 $ok
P run -d --name kube-pd --network none $ul localhost/kube-busybox /bin/sleep 30 >/dev/null 2>&1
check "podman run -d" 0 $?
out=$(P exec kube-pd /bin/cat /proc/1/cmdline 2>&1 | tr '\0' ' ')
check "podman exec" "/bin/sleep 30 " "$out"
# terminals: conmon hands kube-runtime a --console-socket
out=$(P exec -t kube-pd /bin/sh -c 'tty; echo exec-$((1+1))' </dev/null 2>&1 | tr -d '\r' | tr '\n' ' ')
case $out in */dev/pts/*exec-2*) ok=0 ;; *) ok=1; echo "$out" ;; esac
check "podman exec -t" 0 $ok
P stop -t 1 kube-pd >/dev/null 2>&1
check "podman stop" 0 $?
P rm kube-pd >/dev/null 2>&1
check "podman rm" 0 $?
exit $fail
