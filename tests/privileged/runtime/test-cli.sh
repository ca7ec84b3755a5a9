#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The same OCI command lines against kube-runtime, runc and crun (those that
# are installed): run's exit code, create/start/state/kill/delete, --pid-file.
# Terminals through --console-socket (create and exec -t) with recvtty.
#   test-cli.sh KUBE_RUNTIME MAKE_BUNDLE_SCRIPT [RECVTTY]
set -u
kube=$1
script=$2
recvtty=${3:-}
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -x /bin/busybox ] || { echo "SKIP: busybox-static missing"; exit 77; }
tmp=$(mktemp -d /tmp/kube-rt-cli-XXXXXX)
cgp=libkube-cli-test-$$
cleanup() {
    for r in kube runc crun; do
        for id in run-$r life-$r tty-$r; do
            case $r in
            kube) "$kube" --root "$tmp/state-kube" delete -f "$id" ;;
            runc) runc --root "$tmp/state-runc" delete -f "$id" ;;
            crun) crun_cmd --root "$tmp/state-crun" delete -f "$id" ;;
            esac
        done
    done >/dev/null 2>&1
    # the spec template uses the runtime's default parent "libkube": remove
    # it when nothing else lives there (rmdir refuses otherwise)
    for d in /sys/fs/cgroup/*/libkube /sys/fs/cgroup/libkube; do
        [ -d "$d" ] && rmdir "$d" 2>/dev/null
    done
    for d in /sys/fs/cgroup/*/$cgp /sys/fs/cgroup/$cgp; do
        [ -d "$d" ] && rmdir "$d"/* "$d" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
# crun 1.8 refuses hybrid cgroups: run it without the cgroup2 mount.
crun_cmd() {
    if [ -d /sys/fs/cgroup/unified ]; then
        unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified; exec crun "$@"' crun "$@"
    else
        crun "$@"
    fi
}
fail=0
check() { # what expected got
    if [ "$2" != "$3" ]; then echo "FAIL $1: expected '$2', got '$3'"; fail=1; else echo "ok $1"; fi
}
NO_CONFIG=1 sh "$script" "$tmp/rootfs-src" >/dev/null || exit 1
for r in kube runc crun; do
    case $r in
    kube) rt() { "$kube" --root "$tmp/state-kube" "$@"; } ;;
    runc) command -v runc >/dev/null || { echo "runc not installed: skipped"; continue; }
          rt() { runc --root "$tmp/state-runc" "$@"; } ;;
    crun) command -v crun >/dev/null || { echo "crun not installed: skipped"; continue; }
          rt() { crun_cmd --root "$tmp/state-crun" "$@"; } ;;
    esac
    b=$tmp/bundle-$r
    CGROUPS_PATH=/$cgp/$r sh "$script" "$b" /bin/sh -c 'echo hello-$(hostname); exit 3' >/dev/null
    out=$(rt run --bundle "$b" "run-$r" </dev/null 2>&1)
    check "$r run exit code" 3 $?
    check "$r run output" hello-busybox "$out"
    CGROUPS_PATH=/$cgp/$r sh "$script" "$b" /bin/sleep 30 >/dev/null
    rt create --bundle "$b" --pid-file "$tmp/pid-$r" "life-$r" </dev/null >/dev/null 2>&1
    check "$r create" 0 $?
    st=$(rt state "life-$r" | grep '"status"' | tr -d ' ,"')
    check "$r state after create" status:created "$st"
    pid=$(cat "$tmp/pid-$r" 2>/dev/null)
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
    check "$r pid-file names a live process" 0 $?
    rt start "life-$r"
    check "$r start" 0 $?
    st=$(rt state "life-$r" | grep '"status"' | tr -d ' ,"')
    check "$r state after start" status:running "$st"
    rt exec "life-$r" /bin/sh -c 'exit 4' </dev/null
    check "$r exec exit code" 4 $?
    out=$(rt exec "life-$r" /bin/cat /proc/1/cmdline </dev/null | tr '\0' ' ')
    check "$r exec sees the container's init" "/bin/sleep 30 " "$out"
    if [ $r = kube ]; then
        rt stats "life-$r" | grep -q '"pids":1,'
        check "kube stats" 0 $?
        rt pause "life-$r" && rt state "life-$r" | grep -q '"paused"'
        check "kube pause" 0 $?
        rt resume "life-$r" && rt state "life-$r" | grep -q '"running"'
        check "kube resume" 0 $?
        [ "$(rt list -q)" = "life-$r" ]
        check "kube list -q" 0 $?
    fi
    if [ -n "$recvtty" ]; then
        # exec -d -t --console-socket, as conmon runs it for podman exec -t
        "$recvtty" "$tmp/ex-$r.sock" 'stty size; echo ex-$((1+1)); exit 5
' "$tmp/ex-$r.out" 10 &
        rpid=$!
        i=0; while [ ! -S "$tmp/ex-$r.sock" ] && [ $i -lt 200 ]; do sleep 0.02; i=$((i+1)); done
        printf '{"args":["/bin/sh"],"cwd":"/","env":["PATH=/bin"],"terminal":true,"consoleSize":{"height":21,"width":77},"user":{"uid":0,"gid":0}}' > "$tmp/proc-$r.json"
        rt exec -d -t --console-socket "$tmp/ex-$r.sock" --pid-file "$tmp/expid-$r" \
            --process "$tmp/proc-$r.json" "life-$r" </dev/null
        check "$r exec -t --console-socket" 0 $?
        wait $rpid
        out=$(tr -d '\r' < "$tmp/ex-$r.out")
        case $out in *"21 77"*ex-2*) ok=0 ;; *) ok=1; echo "$out" ;; esac
        check "$r exec terminal output and size" 0 $ok
    fi
    rt kill "life-$r" KILL
    check "$r kill" 0 $?
    i=0
    while [ $i -lt 50 ] && rt state "life-$r" 2>/dev/null | grep -q running; do
        sleep 0.05; i=$((i+1))
    done
    st=$(rt state "life-$r" | grep '"status"' | tr -d ' ,"')
    check "$r state after kill" status:stopped "$st"
    rt delete "life-$r"
    check "$r delete" 0 $?
    rt state "life-$r" >/dev/null 2>&1
    check "$r state after delete fails" 1 $([ $? -ne 0 ] && echo 1 || echo 0)
    # gone, or a zombie waiting for whoever adopted it (runc/crun leave the
    # reaping of a killed init to the reaper they were reparented to)
    alive=0
    if [ -r "/proc/$pid/stat" ]; then
        state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
        [ "$state" = Z ] || [ -z "$state" ] || alive=1
    fi
    check "$r no process left" 0 $alive
    [ -d "/sys/fs/cgroup/memory/$cgp/$r" ] || [ -d "/sys/fs/cgroup/$cgp/$r" ]
    check "$r no cgroup left" 1 $?
done
# process.terminal through --console-socket on create, for all three
for r in kube runc crun; do
    [ -n "$recvtty" ] || break
    case $r in
    kube) rt() { "$kube" --root "$tmp/state-kube" "$@"; } ;;
    runc) command -v runc >/dev/null || continue
          rt() { runc --root "$tmp/state-runc" "$@"; } ;;
    crun) command -v crun >/dev/null || continue
          rt() { crun_cmd --root "$tmp/state-crun" "$@"; } ;;
    esac
    b=$tmp/bundle-tty-$r
    CGROUPS_PATH=/$cgp/tty-$r sh "$script" "$b" /bin/sh -c 'tty; read x; echo got-$x-$((1+1)); exit 6' >/dev/null
    sed -i 's/"terminal": false/"terminal": true/' "$b/config.json"
    "$recvtty" "$tmp/tty-$r.sock" 'hello
' "$tmp/tty-$r.out" 10 &
    rpid=$!
    i=0; while [ ! -S "$tmp/tty-$r.sock" ] && [ $i -lt 200 ]; do sleep 0.02; i=$((i+1)); done
    rt create --bundle "$b" --console-socket "$tmp/tty-$r.sock" "tty-$r" </dev/null >/dev/null 2>&1
    check "$r create --console-socket" 0 $?
    rt start "tty-$r"
    check "$r start with a terminal" 0 $?
    wait $rpid
    out=$(tr -d '\r' < "$tmp/tty-$r.out")
    case $out in */dev/pts/0*got-hello-2*) ok=0 ;; *) ok=1; echo "$out" ;; esac
    check "$r terminal output" 0 $ok
    rt delete -f "tty-$r" >/dev/null 2>&1
    [ -d "/sys/fs/cgroup/memory/$cgp/tty-$r" ]
    check "$r no cgroup left (tty)" 1 $?
done
# kube only: a terminal without a console socket is refused when detached
b=$tmp/bundle-tty-kube
"$kube" --root "$tmp/state-kube" create --bundle "$b" tty-nosock </dev/null >/dev/null 2>&1
check "kube create of a terminal without --console-socket fails" 1 $?
# kube only: pin a sandbox from the command line
"$kube" --root "$tmp/state-kube" sandbox pin --hostname cli-sbx --sysctl net.ipv4.ip_forward=1 "$tmp/sbx"
check "kube sandbox pin" 0 $?
out=$(nsenter --uts="$tmp/sbx/uts" --net="$tmp/sbx/net" sh -c 'hostname; cat /proc/sys/net/ipv4/ip_forward' | tr '\n' ' ')
check "kube sandbox hostname and sysctl" "cli-sbx 1 " "$out"
"$kube" --root "$tmp/state-kube" sandbox unpin "$tmp/sbx"
check "kube sandbox unpin" 0 $?
grep -q "$tmp/sbx" /proc/self/mountinfo
check "kube sandbox: no mount left" 1 $?
# kube only: the spec template runs as is on the busybox rootfs.
mkdir -p "$tmp/spec" && cp -a "$tmp/rootfs-src/rootfs" "$tmp/spec/rootfs"
"$kube" spec --bundle "$tmp/spec"
check "kube spec" 0 $?
"$kube" --root "$tmp/state-kube" run --bundle "$tmp/spec" spec-kube </dev/null >/dev/null 2>&1
check "kube run of the spec template" 0 $?
exit $fail
