#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# spec.shareProcessNamespace end to end (root): kubed with its node in a
# network namespace of the test's own, pods from the offline busybox image,
# the real kubectl 1.32.  The containers of such a pod share one PID
# namespace whose PID 1 is the pause (kube-pause, in <pod cgroup>/pause):
# each sees the others' processes and their files through /proc/PID/root,
# an orphan that exits is reaped (in a pod without the field it stays a
# zombie of the container's init, and no pause is made); ephemeral
# containers join the shared namespace; `kubectl debug --copy-to
# --share-processes` gives a copy whose containers see each other; a kubed
# restart keeps the same pause and containers start into it; a killed
# pause gets the sandbox made again (SandboxChanged); deleting the
# pods leaves no pause, cgroup or mount behind.
#   test-share-pid.sh KUBED KUBE SOURCE_ROOT
set -u
KUBED=$1; KUBE=$2; SRC=$3; shift 3
. "$SRC/tests/privileged/node/lib.sh"
[ -x "$KUBECTL" ] || skip "$KUBECTL missing"
trap 'finish; exit $?' EXIT INT TERM

IMG=busybox:1.35.0
ready_all() { [ "$(jp pod/$1 '{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
ns_dir() { echo "$D/pods/$(jp pod/$1 '{.metadata.uid}')/ns"; }
# pid_of POD CTR ARGS: the PID, in the pod's view from CTR, of the process
# whose command line is ARGS
pid_of() {
    KC exec "$1" -c "$2" -- ps -o pid,args 2>/dev/null | awk -v a="$3" '{p=$1; $1=""; if (substr($0, 2) == a) print p}' | head -1
}
state_of() { KC exec "$1" -c "$2" -- sh -c "cut -d' ' -f3 /proc/$3/stat" 2>/dev/null; }
gone_in() { ! KC exec "$1" -c "$2" -- test -e "/proc/$3" >/dev/null 2>&1; }
e_running() { [ -n "$(jp pod/$1 "{.status.ephemeralContainerStatuses[?(@.name==\"$2\")].state.running.startedAt}")" ]; }

setup_netns || { echo "cannot create network namespace"; exit 1; }
out=$(load_images) || bad "images" "$out"
start_kubed || { bad "kubed starts and its node gets Ready" "$(tail -30 $tmp/kubed.log)"; exit 1; }
ok "kubed starts and its node gets Ready"

apply "apiVersion: v1
kind: Pod
metadata: {name: shared}
spec:
  shareProcessNamespace: true
  terminationGracePeriodSeconds: 1
  containers:
  - {name: a, image: $IMG, command: [sh, -c, 'echo from-a > /a-marker; exec sleep 1000000']}
  - {name: b, image: $IMG, command: [sleep, '2000000']}"
apply "apiVersion: v1
kind: Pod
metadata: {name: plain}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: app, image: $IMG, command: [sleep, '3000000']}"
wait_until 90 ready_all shared && wait_until 60 ready_all plain ||
    { bad "pods shared and plain Ready" "$(K describe pods 2>&1 | tail -40)"; exit 1; }
ok "pods shared (shareProcessNamespace) and plain Ready"

# ---- the shared namespace
out=$(KC exec shared -c a -- ps -o pid,args 2>&1)
echo "$out" | grep -q '^ *1 /pause$' && ok "kubectl exec shared -c a -- ps: PID 1 is /pause" ||
    bad "PID 1 is the pause" "$out"
echo "$out" | grep -q ' sleep 2000000$' && echo "$out" | grep -q ' sleep 1000000$' &&
    ok "... and a sees b's process (sleep 2000000) beside its own" || bad "a sees b" "$out"
out=$(KC exec shared -c b -- ps -o pid,args 2>&1)
echo "$out" | grep -q ' sleep 1000000$' && ok "b sees a's process" || bad "b sees a" "$out"
a=$(KC exec shared -c a -- readlink /proc/self/ns/pid 2>&1)
b=$(KC exec shared -c b -- readlink /proc/self/ns/pid 2>&1)
[ -n "$a" ] && [ "$a" = "$b" ] && ok "a and b are in one PID namespace ($a)" || bad "one pid ns" "$a / $b"
pa=$(pid_of shared b "sleep 1000000")
out=$(KC exec shared -c b -- cat /proc/$pa/root/a-marker 2>&1)
[ "$out" = from-a ] && ok "b reads a's file through /proc/$pa/root" || bad "/proc/PID/root" "pid $pa: $out"
nsd=$(ns_dir shared)
pp=$(cat "$nsd/pause.pid" 2>/dev/null)
[ -n "$pp" ] && [ "$(cat /proc/$pp/cmdline 2>/dev/null | tr '\0' ' ')" = "/pause " ] &&
    [ "$(readlink /proc/$pp/ns/pid)" = "$a" ] &&
    ok "the pause ($pp on the host) holds that namespace" || bad "pause process" "pid '$pp'" "$(ls -l $nsd 2>&1)"
cg=$(jp pod/shared '{.metadata.uid}')
grep -q "/pod$cg/pause\$" /proc/$pp/cgroup 2>/dev/null && ok "... in the pod's cgroup (<pod>/pause)" ||
    bad "pause cgroup" "$(cat /proc/$pp/cgroup 2>&1)"

# ---- zombies: an orphan's exit is reaped by the pause
zp=$(KC exec shared -c a -- sh -c 'sleep 3 >/dev/null 2>&1 & echo $!' 2>&1)
case "$zp" in ''|*[!0-9]*) bad "orphan started" "$zp";; *)
    ppid=$(KC exec shared -c a -- sh -c "cut -d' ' -f4 /proc/$zp/stat" 2>&1)
    [ "$ppid" = 1 ] && ok "an orphan (sleep 3, PID $zp) is the pause's child" || bad "orphan's parent" "$ppid"
    wait_until 60 gone_in shared a "$zp" && ok "... and when it exits the pause reaps it (no zombie)" ||
        bad "zombie reaped" "state $(state_of shared a $zp)";;
esac
# without the field: no pause, the container's init is PID 1 and the
# orphan stays a zombie of it
out=$(KC exec plain -c app -- ps -o pid,args 2>&1)
echo "$out" | grep -q '^ *1 sleep 3000000$' && ! echo "$out" | grep -q pause &&
    ok "plain pod: PID 1 is its container's init, no pause" || bad "plain PID 1" "$out"
pn=$(ns_dir plain)
[ -d "$pn" ] && [ ! -e "$pn/pid" ] && [ ! -e "$pn/pause.pid" ] &&
    [ -z "$(ls -d /sys/fs/cgroup/*/$CG/*/pod$(jp pod/plain '{.metadata.uid}')/pause 2>/dev/null)" ] &&
    ok "... no pinned pid namespace, no pause cgroup" || bad "plain sandbox" "$(ls -l $pn 2>&1)"
zq=$(KC exec plain -c app -- sh -c 'sleep 1 >/dev/null 2>&1 & echo $!' 2>&1)
zombie() { [ "$(state_of plain app "$zq")" = Z ]; }
wait_until 60 zombie && ok "... where an orphan's exit leaves a zombie (the control)" ||
    bad "plain zombie" "state '$(state_of plain app $zq)'"

# ---- ephemeral containers join the shared namespace (also with a target)
KC debug shared --image=$IMG -c dbg -- sleep 4000000 >/dev/null 2>&1
KC debug shared --image=$IMG -c tgt --target=b -- sleep 5000000 >/dev/null 2>&1
wait_until 30 e_running shared dbg && wait_until 30 e_running shared tgt || bad "debug containers run" "$(jp pod/shared '{.status.ephemeralContainerStatuses}')"
out=$(KC exec shared -c a -- ps -o args 2>&1)
echo "$out" | grep -q '^sleep 4000000$' && echo "$out" | grep -q '^sleep 5000000$' &&
    [ "$(KC exec shared -c dbg -- readlink /proc/self/ns/pid 2>&1)" = "$a" ] &&
    [ "$(KC exec shared -c tgt -- readlink /proc/self/ns/pid 2>&1)" = "$a" ] &&
    ok "kubectl debug (with and without --target): in the shared namespace" || bad "ephemeral" "$out"

# ---- kubectl debug --copy-to --share-processes
out=$(KC debug plain --copy-to=cp --share-processes --image=$IMG -- sleep 1000 2>&1)
[ $? = 0 ] && ok "kubectl debug plain --copy-to=cp --share-processes" || bad "copy-to" "$out"
wait_until 90 ready_all cp && [ "$(jp pod/cp '{.spec.shareProcessNamespace}')" = true ] ||
    bad "cp Ready with shareProcessNamespace" "$(K get pod cp -o yaml 2>&1 | tail -40)"
dn=$(jp pod/cp '{.spec.containers[1].name}')
out=$(KC exec cp -c "$dn" -- ps -o pid,args 2>&1)
echo "$out" | grep -q '^ *1 /pause$' && echo "$out" | grep -q ' sleep 3000000$' &&
    ok "... its debug container $dn sees app's process, PID 1 the pause" || bad "copy sees" "$out"
out=$(KC exec cp -c app -- ps -o args 2>&1)
echo "$out" | grep -q '^sleep 1000$' && ok "... and app sees $dn's" || bad "copy app sees" "$out"

# ---- kubed restarts: the same pause, containers still start into it
stop_kubed TERM
kill -0 "$pp" 2>/dev/null && ok "kubed stopped: the pause lives on" || bad "pause after stop"
start_kubed || { bad "kubed restarts" "$(tail -20 "$tmp/kubed.log")"; exit 1; }
wait_until 30 ready_all shared && [ "$(cat "$nsd/pause.pid" 2>/dev/null)" = "$pp" ] && kill -0 "$pp" &&
    [ "$(jp pod/shared '{.status.containerStatuses[*].restartCount}')" = "0 0" ] &&
    ok "kubed restart: same pause ($pp), containers not restarted" ||
    bad "after restart" "$(jp pod/shared '{.status.containerStatuses}')"
out=$(KC exec shared -c b -- ps -o pid,args 2>&1)
echo "$out" | grep -q '^ *1 /pause$' && echo "$out" | grep -q ' sleep 1000000$' &&
    ok "... exec into b still sees a and the pause" || bad "after restart ps" "$out"
KC debug shared --image=$IMG -c late -- sleep 6000000 >/dev/null 2>&1
wait_until 30 e_running shared late && KC exec shared -c a -- ps -o args 2>&1 | grep -q '^sleep 6000000$' &&
    ok "... a container started after the restart joins the namespace" ||
    bad "late" "$(jp pod/shared '{.status.ephemeralContainerStatuses}')"
cpp=$(cat "$(ns_dir cp)/pause.pid" 2>/dev/null)

# ---- the pause dies: the sandbox is made again, the containers restart
kill -9 "$pp"
new_pause() { q=$(cat "$nsd/pause.pid" 2>/dev/null) && [ -n "$q" ] && [ "$q" != "$pp" ] && kill -0 "$q"; }
restarted() { [ "$(jp pod/shared '{.status.containerStatuses[*].restartCount}')" = "1 1" ] && ready_all shared; }
wait_until 90 restarted && new_pause && event_has shared "Pod sandbox changed, it will be killed and re-created." &&
    ok "the pause killed: SandboxChanged, a new pause, a and b restarted once" ||
    bad "pause killed" "$(events_of shared)" "$(jp pod/shared '{.status.containerStatuses}')"
pp=$(cat "$nsd/pause.pid" 2>/dev/null)
out=$(KC exec shared -c b -- ps -o pid,args 2>&1)
echo "$out" | grep -q '^ *1 /pause$' && echo "$out" | grep -q ' sleep 1000000$' &&
    ok "... b sees the new pause as PID 1 and a" || bad "after pause death ps" "$out"

# ---- deletion: no pause left
K delete pod shared cp plain --grace-period=1 >/dev/null 2>&1
wait_until 60 no_pods && ok "the pods are deleted" || bad "pods deleted" "$(K get pods 2>&1)"
# The Pod object goes once its containers are stopped; the sandbox (and
# with it the pause) is torn down right after, as the kubelet does.
pauses_gone() { ! kill -0 "$pp" 2>/dev/null && ! kill -0 "${cpp:-0}" 2>/dev/null; }
wait_until 30 pauses_gone && ok "... their pauses are gone" || bad "pauses left" "$pp $cpp"
