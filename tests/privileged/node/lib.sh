# SPDX-License-Identifier: Apache-2.0
# Shared by the node agent's privileged tests (sourced): a network
# namespace of the test's own with the node address on a veth pair inside
# it, kubed (with its node) started in it, clients run in it, and a cleanup
# that checks nothing was left behind (then removes what was, and fails).
#
# Needs: KUBED, KUBE, SRC set; defines ok/bad/check, K (kube), KC (kubectl
# 1.32), C/Cbg (a client with an environment variable), start_kubed, stop_kubed, wait_until, podlog, jp, leftovers.

pass=0; fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; shift; [ $# -gt 0 ] && printf '%s\n' "$@" | head -40; fail=$((fail + 1)); }
check() { name=$1; shift; if "$@" >/dev/null 2>&1; then ok "$name"; else bad "$name"; fi; }

skip() { echo "SKIP: $1"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
for t in ip nsenter iptables; do command -v $t >/dev/null || skip "$t missing"; done
for p in bridge host-local portmap; do
    [ -x /usr/lib/cni/$p ] || skip "containernetworking-plugins missing (/usr/lib/cni/$p)"
done
[ -x /bin/busybox ] || skip "busybox-static missing"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || skip "no overlayfs"
KUBECTL=/usr/lib/google-cloud-sdk/bin/kubectl.1.32
# kubectl 1.20 (SPDY only): /usr/bin/kubectl.1.20, else Debian's
# kubernetes-client unpacked by get-kubectl.sh; K120 empty (and K120_WHY
# says why) when neither is there.
K120=/usr/bin/kubectl.1.20 K120_WHY=""
if [ ! -x $K120 ]; then
    K120=$("$SRC/tests/integration/kubectl/get-kubectl.sh" 2>"${TMPDIR:-/tmp}/k120.$$") ||
        { K120=""; K120_WHY=$(cat "${TMPDIR:-/tmp}/k120.$$"); }
    rm -f "${TMPDIR:-/tmp}/k120.$$"
fi

# unique names: several tests (and helpers) run on this machine at once
rnd=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
id=$(printf '%05x' $((rnd % 1048576)))
NS=ktn$id
BR=ktb$id
o2=$((100 + rnd % 100)); o3=$(((rnd / 100) % 250 + 1))
POD_CIDR=10.$o2.$o3.0/24
POD_NET=10.$o2.$o3
NODE_IP=10.$((o2 + 100 > 250 ? o2 - 50 : o2 + 50)).$o3.2
CG=libkube-test-$id
RT=/run/libkube/test-$id
NODE=node-$id
tmp=$(mktemp -d /tmp/kube-node-test-XXXXXX)
D=$tmp/data
export KUBECONFIG=$D/kubeconfig.yaml
kubed_pid=""

K() { ip netns exec $NS "$KUBE" "$@"; }
KC() { ip netns exec $NS "$KUBECTL" "$@"; }
IN() { ip netns exec $NS "$@"; }
# C VAR=VALUE CLIENT ARGS...: a client in the namespace with one variable
# of its environment set (X=1 for none); Cbg the same in the background,
# with $! the client's own PID (each step execs).
C() { e=$1; shift; ip netns exec $NS env KUBECONFIG="$KUBECONFIG" "$e" "$@"; }
Cbg() { (e=$1; shift; exec ip netns exec $NS env KUBECONFIG="$KUBECONFIG" "$e" "$@") & }

setup_netns() {
    ip netns add $NS || return 1
    IN ip link set lo up
    IN ip link add nodeif type veth peer name nodepeer
    IN ip addr add $NODE_IP/24 dev nodeif
    IN ip link set nodeif up
    IN ip link set nodepeer up
}

# start_kubed [extra flags...]: in the test's namespace (nsenter --net, not
# ip netns exec, which would hide the host's cgroup mounts under a new
# /sys); waits until the node is Ready.
start_kubed() {
    nsenter --net=/run/netns/$NS "$KUBED" server --data-dir "$D" \
        --listen tcp:127.0.0.1:0 --listen unix:$tmp/kubed.sock \
        --node-name $NODE --node-ip $NODE_IP --pod-cidr $POD_CIDR \
        --dns-upstream none \
        --cni-bridge $BR --cgroup-parent $CG --runtime-root $RT "$@" \
        >>"$tmp/kubed.log" 2>&1 &
    kubed_pid=$!
    wait_until 20 node_ready
}
node_ready() {
    [ "$(K get node $NODE -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}
stop_kubed() { # stop_kubed [SIGNAL]
    [ -n "$kubed_pid" ] || return 0
    kill -${1:-TERM} $kubed_pid 2>/dev/null
    wait $kubed_pid 2>/dev/null
    kubed_pid=""
}

# wait_until SECONDS COMMAND...: poll every 0.1 s.
wait_until() {
    t=$1; shift
    n=$((t * 10))
    while [ $n -gt 0 ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1; n=$((n - 1))
    done
    return 1
}

# jp KIND/NAME JSONPATH
jp() { K get "$1" -o "jsonpath=$2" 2>/dev/null; }
phase_is() { [ "$(jp pod/$1 '{.status.phase}')" = "$2" ]; }
running() { phase_is $1 Running && [ "$(jp pod/$1 '{.status.containerStatuses[0].state.running.startedAt}')" != "" ]; }
waiting_is() { [ "$(jp pod/$1 "{.status.containerStatuses[0].state.waiting.reason}")" = "$2" ]; }
gone() { ! K get pod "$1" >/dev/null 2>&1; }
no_pods() { out=$(K get pods -o name 2>&1) && [ -z "$out" ]; }

# podlog NAME CONTAINER [RESTART]: the container's CRI log, text only (the
# latest instance's by default).
podlog() {
    if [ -n "${3:-}" ]; then
        f=$(ls "$D"/logs/pods/default_$1_*/$2/$3.log 2>/dev/null | head -1)
    else
        f=$(ls -v "$D"/logs/pods/default_$1_*/$2/*.log 2>/dev/null | tail -1)
    fi
    [ -n "$f" ] && sed 's/^[^ ]* std[a-z]* [FP] //' "$f"
}
log_has() { podlog "$1" "$2" ${4:-} | grep -q -- "$3"; }
events_of() { K get events --field-selector involvedObject.name=$1 -o 'jsonpath={range .items[*]}{.reason}: {.message}{"\n"}{end}' 2>/dev/null; }
event_has() { events_of "$1" | grep -q -- "$2"; }

apply() { printf '%s\n' "$1" | K apply -f - >/dev/null; }

# Everything the node made is gone: pods, mounts, containers, cgroups,
# veths, addresses.  Prints what is left; 1 when something is.
leftovers() {
    left=""
    m=$(grep " $tmp" /proc/mounts | awk '{print $2}')
    [ -n "$m" ] && left="$left
mounts: $m"
    [ -d "$D/pods" ] && [ -n "$(ls "$D/pods")" ] && left="$left
pod dirs: $(ls "$D/pods")"
    [ -d "$RT" ] && [ -n "$(ls "$RT")" ] && left="$left
runtime containers: $(ls "$RT")"
    procs=$(cat /sys/fs/cgroup/*/$CG/cgroup.procs /sys/fs/cgroup/*/$CG/*/cgroup.procs \
        /sys/fs/cgroup/*/$CG/*/*/cgroup.procs /sys/fs/cgroup/*/$CG/*/*/*/cgroup.procs 2>/dev/null)
    [ -n "$procs" ] && left="$left
processes: $procs"
    pods_cg=$(find /sys/fs/cgroup/*/$CG -mindepth 1 -type d -name 'pod*' 2>/dev/null)
    [ -n "$pods_cg" ] && left="$left
pod cgroups: $pods_cg"
    if ip netns list | grep -qw $NS; then
        v=$(IN ip -br link | grep veth)
        [ -n "$v" ] && left="$left
veths: $v"
    fi
    a=$(ls "$D/cni/networks/libkube" 2>/dev/null | grep -v -e lock -e last_reserved)
    [ -n "$a" ] && left="$left
addresses: $a"
    [ -z "$left" ] && return 0
    echo "$left"
    return 1
}

# remove_cgroups PARENT: kill what runs below the cgroup parent, remove it.
remove_cgroups() {
    for f in /sys/fs/cgroup/*/$1; do
        [ -d "$f" ] || continue
        find "$f" -name cgroup.procs 2>/dev/null | while read -r p; do
            for pid in $(cat "$p"); do kill -9 $pid 2>/dev/null; done
        done
    done
    sleep 0.2
    for f in /sys/fs/cgroup/*/$1; do
        [ -d "$f" ] && find "$f" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
}

# The end: delete what the test made, stop kubed, check leftovers (a
# failure if any), then remove them anyway.
finish() {
    if [ -n "$kubed_pid" ]; then
        K delete pods --all --grace-period=1 --wait=false >/dev/null 2>&1
        wait_until 60 no_pods || echo "pods left: $(K get pods -o name 2>&1)"
        stop_kubed TERM
    fi
    out=$(leftovers) && ok "nothing left behind" || bad "nothing left behind" "$out"
    # force cleanup of whatever is left
    remove_cgroups $CG
    grep " $tmp" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
    ip netns del $NS 2>/dev/null
    if [ $fail -ne 0 ] && [ -f "$tmp/kubed.log" ]; then
        echo "--- kubed log (last 80 lines) ---"
        grep -v 'DEBUG apiserver' "$tmp/kubed.log" | tail -80
    fi
    rm -rf "$RT" "$tmp"
    echo "$pass passed, $fail failed"
    [ $fail = 0 ]
}

load_images() {
    out=$(sh "$SRC/images/busybox.sh" --data-dir "$D" --kube "$KUBE" 2>&1) || { echo "$out"; return 1; }
    if [ "${WANT_NODE_IMAGE:-}" = 1 ] && command -v node >/dev/null; then
        out=$(sh "$SRC/images/node.sh" --data-dir "$D" --kube "$KUBE" 2>&1) || { echo "$out"; return 1; }
    fi
}
