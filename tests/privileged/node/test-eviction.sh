#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Node-pressure eviction end to end (root): kubed with its node in a
# network namespace of the test's own, pods from the offline busybox image.
#  1. memory: kubed restarted with --eviction-hard memory.available<1Pi
#     (above any machine's free memory: MemoryPressure turns on without
#     using any memory): the condition with the kubelet's reason and
#     message, the node lifecycle controller's memory-pressure:NoSchedule
#     taint, a NodeHasInsufficientMemory event, pods evicted one per
#     interval in the kubelet's order (the pod above its memory request
#     first, then the one within it), each Failed with reason Evicted,
#     the kubelet's message and an Evicted event, its containers stopped;
#     the system-node-critical pod is never evicted; DisruptionTarget;
#     admission refuses a BestEffort pod (Evicted, "The node had
#     condition: [MemoryPressure]. ") but not one tolerating the taint.
#  2. disk: the data directory is a 256 MiB tmpfs of the test's own; kubed
#     restarted with --eviction-hard nodefs.available<48Mi and a 3 s
#     pressure transition period; filling the tmpfs turns DiskPressure
#     (and its taint) on, the pod using its emptyDir is evicted (ephemeral-
#     storage), freeing the space turns both off again after the
#     transition period; MemoryPressure is False again.
#  3. soft: --eviction-soft memory.available<1Pi with a 5 s grace period:
#     MemoryPressure on, a Burstable pod admitted and then evicted.
#   test-eviction.sh KUBED KUBE SOURCE_ROOT
set -u
KUBED=$1; KUBE=$2; SRC=$3; shift 3
. "$SRC/tests/privileged/node/lib.sh"
# the data directory on a tmpfs outside $tmp (whose mounts the final
# check counts as leftovers)
DFS=/run/libkube-evict-$id
D=$DFS/data
export KUBECONFIG=$D/kubeconfig.yaml
cleanup() {
    finish; rc=$?
    m=$(grep " $DFS/" /proc/mounts | awk '{print $2}' | sort -r)
    [ -n "$m" ] && echo "mounts left under the data dir: $m" && rc=1
    printf '%s\n' $m | xargs -r -n1 umount -l 2>/dev/null
    umount -l $DFS 2>/dev/null; rmdir $DFS 2>/dev/null
    exit $rc
}
trap cleanup EXIT INT TERM

cond() { jp node/$NODE "{.status.conditions[?(@.type==\"$1\")].$2}"; }
cond_is() { [ "$(cond $1 status)" = "$2" ]; }
taints() { jp node/$NODE '{range .spec.taints[*]}{.key}:{.effect}{" "}{end}'; }
has_taint() { taints | grep -q "$1"; }
no_taint() { ! has_taint "$1"; }
node_events() { K get events --field-selector involvedObject.kind=Node -o 'jsonpath={range .items[*]}{.reason}: {.message}{"\n"}{end}' 2>/dev/null; }
node_event_has() { node_events | grep -q -- "$1"; }
evicted() { phase_is $1 Failed && [ "$(jp pod/$1 '{.status.reason}')" = Evicted ]; }
any_evicted() { evicted hog || evicted within || evicted crit; }

setup_netns || { bad "network namespace"; exit 1; }
mkdir -p $DFS
mount -t tmpfs -o size=256m,mode=0700 tmpfs $DFS || { bad "tmpfs for the data directory"; exit 1; }
mkdir -p "$D"
load_images || { bad "busybox image"; exit 1; }

# ---- pods under the default thresholds ----
start_kubed --eviction-pressure-transition-period 3s || { bad "kubed started"; exit 1; }
cond_is MemoryPressure False && [ "$(cond MemoryPressure reason)" = KubeletHasSufficientMemory ] &&
    cond_is DiskPressure False && cond_is PIDPressure False &&
    ok "default thresholds: no pressure (KubeletHasSufficientMemory)" ||
    bad "no pressure at first" "$(jp node/$NODE '{.status.conditions}')"
pod() { # pod NAME EXTRA-SPEC CONTAINER-EXTRA
    apply "apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  nodeName: $NODE
  terminationGracePeriodSeconds: 30
$2
  containers:
  - name: c
    image: busybox:1.35.0
    command: [sh, -c, 'trap \"exit 0\" TERM; while true; do sleep 1; done']
$3"
}
# hog: above its request (none); within: 1Gi requested, uses a few KiB;
# crit: system-node-critical, BestEffort
pod hog "" ""
pod within "" "    resources: {requests: {memory: 1Gi}}"
pod crit "  priorityClassName: system-node-critical" ""
for p in hog within crit; do
    wait_until 60 running $p || bad "$p running" "$(K describe pod $p)"
done
ok "three pods running"

# ---- memory pressure ----
stop_kubed TERM
start_kubed --eviction-hard 'memory.available<1Pi' --eviction-pressure-transition-period 3s ||
    { bad "kubed restarted with memory.available<1Pi"; exit 1; }
wait_until 30 cond_is MemoryPressure True &&
    [ "$(cond MemoryPressure reason)" = KubeletHasInsufficientMemory ] &&
    [ "$(cond MemoryPressure message)" = "kubelet has insufficient memory available" ] &&
    ok "MemoryPressure True: KubeletHasInsufficientMemory, kubelet has insufficient memory available" ||
    bad "MemoryPressure" "$(jp node/$NODE '{.status.conditions}')"
wait_until 30 has_taint node.kubernetes.io/memory-pressure:NoSchedule &&
    ok "taint node.kubernetes.io/memory-pressure:NoSchedule" || bad "memory-pressure taint" "$(taints)"
wait_until 10 node_event_has "NodeHasInsufficientMemory: Node $NODE status is now: NodeHasInsufficientMemory" &&
    ok "NodeHasInsufficientMemory event" || bad "node event" "$(node_events)"
wait_until 60 any_evicted
if evicted hog && phase_is within Running && phase_is crit Running; then
    ok "first eviction: the pod above its request (hog), the others still run"
else
    bad "first eviction order" "hog=$(jp pod/hog '{.status.phase}') within=$(jp pod/within '{.status.phase}') crit=$(jp pod/crit '{.status.phase}')"
fi
msg=$(jp pod/hog '{.status.message}')
case "$msg" in
"The node was low on resource: memory. Threshold quantity: 1Pi, available: "*". Container c was using "*", request is 0, has larger consumption of memory. ")
    ok "message: $msg" ;;
*) bad "eviction message" "$msg" ;;
esac
wait_until 10 event_has hog "Evicted: The node was low on resource: memory." &&
    ok "Evicted event on the pod" || bad "Evicted event" "$(events_of hog)"
stopped() { [ -n "$(jp pod/$1 '{.status.containerStatuses[0].state.terminated.finishedAt}')" ]; }
wait_until 30 stopped hog && ok "the evicted pod's container stopped" || bad "hog stopped" "$(jp pod/hog '{.status}')"
wait_until 60 evicted within && phase_is crit Running &&
    ok "second eviction: the pod within its request; the critical pod runs" ||
    bad "second eviction" "within=$(jp pod/within '{.status.phase}') crit=$(jp pod/crit '{.status.phase}')"
case "$(jp pod/within '{.status.message}')" in
*"Container c"*) bad "within's message names its container" "$(jp pod/within '{.status.message}')" ;;
"The node was low on resource: memory. Threshold quantity: 1Pi, available: "*) ok "a pod within its request: no container in the message" ;;
*) bad "within's message" "$(jp pod/within '{.status.message}')" ;;
esac
dt=$(jp pod/hog '{.status.conditions[?(@.type=="DisruptionTarget")].status} {.status.conditions[?(@.type=="DisruptionTarget")].reason}')
[ "$dt" = "True TerminationByKubelet" ] && ok "DisruptionTarget True, TerminationByKubelet" || bad "DisruptionTarget" "$(jp pod/hog '{.status.conditions}')"
# admission under memory pressure: BestEffort refused unless it tolerates
# the memory-pressure taint
pod late "" ""
pod tol "  tolerations: [{key: node.kubernetes.io/memory-pressure, operator: Exists, effect: NoSchedule}]" ""
wait_until 30 evicted late && [ "$(jp pod/late '{.status.message}')" = "The node had condition: [MemoryPressure]. " ] &&
    ok "BestEffort pod refused: Failed, Evicted, The node had condition: [MemoryPressure]." ||
    bad "admission" "$(jp pod/late '{.status}')"
wait_until 10 event_has late "Evicted: The node had condition: \[MemoryPressure\]." &&
    ok "Evicted event of the refused pod" || bad "refusal event" "$(events_of late)"
admitted() { running tol || evicted tol; }
wait_until 60 admitted && case "$(jp pod/tol '{.status.message}')" in
    "The node had condition"*) false ;; *) true ;; esac &&
    ok "BestEffort pod tolerating memory-pressure admitted" || bad "tolerating pod" "$(jp pod/tol '{.status}')"
# two more eviction intervals: nothing left to evict but the critical pod
sleep 21
running crit && ok "system-node-critical pod never evicted" || bad "crit" "$(jp pod/crit '{.status}')"

# ---- disk pressure and recovery ----
stop_kubed TERM
start_kubed --eviction-hard 'nodefs.available<48Mi' --eviction-pressure-transition-period 3s ||
    { bad "kubed restarted with nodefs.available<48Mi"; exit 1; }
wait_until 30 cond_is MemoryPressure False && ok "MemoryPressure False with the default memory threshold gone" ||
    bad "MemoryPressure after restart" "$(cond MemoryPressure status)"
wait_until 30 no_taint node.kubernetes.io/memory-pressure && ok "memory-pressure taint removed" || bad "memory taint" "$(taints)"
cond_is DiskPressure False || bad "DiskPressure before filling" "$(cond DiskPressure status)"
# a pod using 8 MiB of its emptyDir on the data filesystem
apply "apiVersion: v1
kind: Pod
metadata: {name: writer}
spec:
  nodeName: $NODE
  terminationGracePeriodSeconds: 30
  volumes: [{name: d, emptyDir: {}}]
  containers:
  - name: c
    image: busybox:1.35.0
    volumeMounts: [{name: d, mountPath: /d}]
    command: [sh, -c, 'dd if=/dev/zero of=/d/f bs=1M count=8; trap \"exit 0\" TERM; while true; do sleep 1; done']"
wait_until 60 running writer || bad "writer running" "$(K describe pod writer)"
free=$(df -k --output=avail $DFS | tail -1)
dd if=/dev/zero of=$DFS/fill bs=1k count=$((free - 24 * 1024)) 2>/dev/null
wait_until 30 cond_is DiskPressure True && [ "$(cond DiskPressure reason)" = KubeletHasDiskPressure ] &&
    ok "filled the data filesystem: DiskPressure True (KubeletHasDiskPressure)" ||
    bad "DiskPressure" "$(jp node/$NODE '{.status.conditions}') $(df -k $DFS)"
wait_until 30 has_taint node.kubernetes.io/disk-pressure:NoSchedule &&
    ok "taint node.kubernetes.io/disk-pressure:NoSchedule" || bad "disk-pressure taint" "$(taints)"
wait_until 60 evicted writer && ok "DiskPressure: the pod using its emptyDir evicted" ||
    bad "disk eviction" "$(jp pod/writer '{.status}')"
case "$(jp pod/writer '{.status.message}')" in
"The node was low on resource: ephemeral-storage. Threshold quantity: 48Mi, available: "*) ok "message: $(jp pod/writer '{.status.message}')" ;;
*) bad "disk eviction message" "$(jp pod/writer '{.status.message}')" ;;
esac
rm -f $DFS/fill
wait_until 40 cond_is DiskPressure False && [ "$(cond DiskPressure reason)" = KubeletHasNoDiskPressure ] &&
    ok "freed: DiskPressure False after the transition period" || bad "recovery" "$(jp node/$NODE '{.status.conditions}')"
wait_until 30 no_taint node.kubernetes.io/disk-pressure && ok "disk-pressure taint removed" || bad "disk taint" "$(taints)"
node_event_has "NodeHasNoDiskPressure: Node $NODE status is now: NodeHasNoDiskPressure" &&
    ok "NodeHasNoDiskPressure event" || bad "recovery event" "$(node_events)"
running crit && ok "the critical pod still runs" || bad "crit at the end" "$(jp pod/crit '{.status}')"

# ---- a soft threshold: pressure at once, eviction after its grace period ----
stop_kubed TERM
start_kubed --eviction-hard 'memory.available<0' --eviction-soft 'memory.available<1Pi' \
    --eviction-soft-grace-period 'memory.available=5s' --eviction-pressure-transition-period 3s ||
    { bad "kubed restarted with a soft threshold"; exit 1; }
wait_until 30 cond_is MemoryPressure True && ok "soft memory.available<1Pi: MemoryPressure True" ||
    bad "soft MemoryPressure" "$(jp node/$NODE '{.status.conditions}')"
# Burstable: admitted under memory pressure alone
pod soft "" "    resources: {requests: {memory: 1Mi}}"
wait_until 60 evicted soft &&
    case "$(jp pod/soft '{.status.message}')" in
    "The node was low on resource: memory. Threshold quantity: 1Pi, available: "*) true ;; *) false ;; esac &&
    ok "Burstable pod admitted, then evicted once the soft grace period passed" ||
    bad "soft eviction" "$(jp pod/soft '{.status}')"
running crit && ok "the critical pod runs on" || bad "crit after soft" "$(jp pod/crit '{.status}')"
