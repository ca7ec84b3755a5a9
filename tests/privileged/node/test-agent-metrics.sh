#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Resource metrics of a node joined with `kubed agent` (root): kubed server
# with its own node plus one agent, in a network namespace of the test's
# own, each with its own data dir, cgroup parent, runtime root, bridge and
# pod CIDR.  The API server scrapes the agent's kubelet port
# (/stats/summary over HTTPS, its kubelet client certificate, the
# kubelet's serving certificate verified against the cluster CA) as
# metrics-server does: kubectl 1.32 top node lists both nodes with
# figures, top pod shows a CPU burner pinned to the agent node, an HPA on
# a deployment placed there gets a current utilization; a Ready Node whose
# kubelet accepts connections and never answers is left out while the
# API keeps answering.
#   test-agent-metrics.sh KUBED KUBE SOURCE_ROOT
set -u
KUBED=$1; KUBE=$2; SRC=$3; shift 3
. "$SRC/tests/privileged/node/lib.sh"
[ -x "$KUBECTL" ] || skip "kubectl 1.32 missing ($KUBECTL)"

# The server's node takes the lower half of the pod range, the agent the
# upper one.
POD_CIDR=10.$o2.$o3.0/25
A=$tmp/agent; AN=$NODE-a; AIP=${NODE_IP%.*}.3
ACG=$CG-a; ART=$RT-a; ABR=${BR}a; ACIDR=10.$o2.$o3.128/25
GHOST=ghost-$id; GIP=${NODE_IP%.*}.4
a_pid=""; g_pid=""; url=""

# the CPU of pod $1 in kubectl top, in millicores
top_milli() {
    v=$(KC top pods --no-headers 2>/dev/null | awk -v p=$1 '$1 == p {print $2}')
    case $v in *m) echo ${v%m} ;; "") echo 0 ;; *) echo $((v * 1000)) ;; esac
}
burning() { [ "$(top_milli "$1")" -gt 0 ]; }
# a row of kubectl top nodes with figures: NAME CPU(cores) CPU% MEMORY MEMORY%
node_row() { KC top nodes --no-headers 2>/dev/null | grep -E "^$1 +[0-9]+m? +[0-9]+% +[0-9]+[KMG]i +[0-9]+% *$"; }
ready() { [ "$(K get node "$1" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; }
pod_node() { jp pod/$1 '{.spec.nodeName}'; }
# the HPA's autoscaling/v1 status.currentCPUUtilizationPercentage
hpa_util() {
    KC get --raw /apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/spin 2>/dev/null |
        /usr/bin/python3 -c 'import json, sys
print(json.load(sys.stdin).get("status", {}).get("currentCPUUtilizationPercentage", ""))' 2>/dev/null
}
has_util() { [ -n "$(hpa_util)" ]; }

finish_all() {
    if [ -n "$kubed_pid" ]; then
        K delete hpa spin >/dev/null 2>&1
        K delete deployment spin --wait=false >/dev/null 2>&1
        K delete node $GHOST >/dev/null 2>&1
        K delete pods --all --grace-period=1 --wait=false >/dev/null 2>&1
        wait_until 60 no_pods || echo "pods left: $(K get pods -o name 2>&1)"
    fi
    [ -n "$g_pid" ] && kill $g_pid 2>/dev/null && wait $g_pid 2>/dev/null
    if [ -n "$a_pid" ]; then
        kill -TERM $a_pid 2>/dev/null; wait $a_pid 2>/dev/null
    fi
    stop_kubed TERM
    out=$(leftovers) && ok "server node: nothing left behind" || bad "server node: nothing left behind" "$out"
    out=$(D=$A RT=$ART CG=$ACG leftovers) && ok "agent node: nothing left behind" || bad "agent node: nothing left behind" "$out"
    remove_cgroups $CG; remove_cgroups $ACG
    grep " $tmp" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
    ip netns del $NS 2>/dev/null
    if [ $fail -ne 0 ]; then
        for f in kubed agent; do
            echo "--- $f log (last 40 lines) ---"
            grep -v 'DEBUG' "$tmp/$f.log" 2>/dev/null | tail -40
        done
        echo "--- scrapes ---"
        grep 'metrics of node' "$tmp/kubed.log" | tail -10
    fi
    rm -rf "$RT" "$ART" "$tmp"
    echo "$pass passed, $fail failed"
    [ $fail = 0 ]
}
trap 'finish_all; exit $?' EXIT
trap 'bad "interrupted"; exit 1' INT TERM

mkdir -p "$D" "$A"
setup_netns || { bad "netns"; exit 1; }
IN ip addr add $AIP/24 dev nodeif
IN ip addr add $GIP/24 dev nodeif
out=$(load_images) || { bad "busybox image" "$out"; exit 1; }
out=$(D=$A load_images) || { bad "busybox image for the agent" "$out"; exit 1; }
start_kubed --horizontal-pod-autoscaler-sync-period 2s && ok "kubed server with its node $NODE Ready" ||
    { bad "kubed" "$(tail -30 $tmp/kubed.log)"; exit 1; }
url=$(sed -n 's/^kubed: listening on \(https:[^ ]*\) .*/\1/p' "$tmp/kubed.log" | head -1)
nsenter --net=/run/netns/$NS "$KUBED" agent --data-dir "$A" \
    --server "$url" --token "$(cat "$D/join-token")" --certificate-authority "$D/ca.crt" \
    --node-name $AN --node-ip $AIP --pod-cidr $ACIDR \
    --cni-bridge $ABR --cgroup-parent $ACG --runtime-root $ART \
    --kubelet-listen "$AIP:10250" >>"$tmp/agent.log" 2>&1 &
a_pid=$!
wait_until 60 ready $AN && ok "agent node $AN Ready" || { bad "agent Ready" "$(tail -20 $tmp/agent.log)"; exit 1; }

# ---- a CPU burner on the agent's node ----
apply "apiVersion: v1
kind: Pod
metadata: {name: burn, labels: {app: burn}}
spec:
  nodeName: $AN
  terminationGracePeriodSeconds: 1
  containers:
  - name: spin
    image: busybox:1.35.0
    command: [sh, -c, 'while :; do :; done']
    resources: {requests: {cpu: 100m}, limits: {cpu: 300m}}"
wait_until 60 running burn && [ "$(pod_node burn)" = $AN ] && ok "burner Running on $AN" ||
    bad "burner Running" "$(K describe pod burn 2>&1 | tail -20)"
wait_until 90 burning burn && ok "kubectl top pods: burn on the agent node at $(top_milli burn)m" ||
    bad "kubectl top pods" "$(KC top pods 2>&1)" "$(KC get --raw /apis/metrics.k8s.io/v1beta1/namespaces/default/pods 2>&1)"
wait_until 30 node_row $AN && r1=$(node_row $AN) && r0=$(node_row $NODE) &&
    ok "kubectl top nodes lists both: $(echo $r0) / $(echo $r1)" ||
    bad "kubectl top nodes" "$(KC top nodes 2>&1)" "$(KC get --raw /apis/metrics.k8s.io/v1beta1/nodes 2>&1)"
out=$(KC get --raw /apis/metrics.k8s.io/v1beta1/nodes/$AN 2>&1)
echo "$out" | grep -q '"kind":"NodeMetrics"' && echo "$out" | grep -q '"window":"10s"' &&
    ok "NodeMetrics of $AN" || bad "NodeMetrics $AN" "$out"
out=$(K top nodes 2>&1)
echo "$out" | grep -q "^$AN " && echo "$out" | grep -q "^$NODE " && ok "kube top nodes lists both" || bad "kube top nodes" "$out"

# ---- an HPA on a deployment placed on the agent's node ----
apply "apiVersion: apps/v1
kind: Deployment
metadata: {name: spin}
spec:
  replicas: 1
  selector: {matchLabels: {app: spin}}
  template:
    metadata: {labels: {app: spin}}
    spec:
      nodeSelector: {kubernetes.io/hostname: $AN}
      terminationGracePeriodSeconds: 1
      containers:
      - name: spin
        image: busybox:1.35.0
        command: [sh, -c, 'while :; do :; done']
        resources: {requests: {cpu: 100m}, limits: {cpu: 150m}}"
out=$(KC autoscale deploy spin --cpu-percent=50 --min=1 --max=2 2>&1)
[ "$out" = "horizontalpodautoscaler.autoscaling/spin autoscaled" ] && ok "kubectl autoscale deploy spin" || bad "kubectl autoscale" "$out"
sp=$(K get pods -l app=spin -o 'jsonpath={.items[0].metadata.name}' 2>/dev/null)
spin_node() { sp=$(K get pods -l app=spin -o 'jsonpath={.items[0].metadata.name}' 2>/dev/null) && [ "$(pod_node "$sp")" = $AN ]; }
wait_until 30 spin_node && ok "spin placed on $AN" || bad "spin placement" "$(K get pods -o wide 2>&1)"
wait_until 120 has_util && ok "HPA current CPU utilization $(hpa_util)%" ||
    bad "HPA utilization" "$(KC describe hpa spin 2>&1 | tail -20)" "$(KC top pods 2>&1)"
out=$(KC get hpa spin 2>&1)
echo "$out" | grep -q "Deployment/spin *cpu: [0-9]*%/50%" && ok "kubectl get hpa shows cpu: N%/50%" || bad "kubectl get hpa" "$out"

# ---- a Ready Node whose kubelet never answers ----
# A listener on its address that accepts and holds the connection
# without a word (it notes each connection in $tmp/ghost-conns).
(exec ip netns exec $NS /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 10250)); s.listen(16)
held = []
while True:
    c, _ = s.accept(); held.append(c)
    open(sys.argv[2], "a").write("conn\n")
' $GIP $tmp/ghost-conns) &
g_pid=$! # the listener itself (each step execs)
apply "apiVersion: v1
kind: Node
metadata: {name: $GHOST, labels: {kubernetes.io/hostname: $GHOST}}
spec:
  taints: [{key: example.com/ghost, effect: NoSchedule}]"
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
KC patch node $GHOST --subresource=status --type=merge -p "{\"status\":{\
\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"$GIP\"}],\
\"daemonEndpoints\":{\"kubeletEndpoint\":{\"Port\":10250}},\
\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"KubeletReady\",\"message\":\"ghost\",\
\"lastHeartbeatTime\":\"$now\",\"lastTransitionTime\":\"$now\"}]}}" >/dev/null 2>&1 &&
    ok "Node $GHOST Ready at $GIP:10250" || bad "ghost node" "$(K get node $GHOST -o yaml 2>&1)"
wait_until 40 test -s $tmp/ghost-conns && ok "the server tried $GHOST's kubelet port" ||
    bad "scrape of $GHOST" "$(grep 'metrics of node' $tmp/kubed.log | tail -5)"
# While that scrape hangs: the API answers with the other nodes.
# kubectl lists every Node and shows <unknown> for those the metrics API
# leaves out.
out=$(KC top nodes 2>&1); rc=$?
[ $rc = 0 ] && node_row $AN >/dev/null && node_row $NODE >/dev/null && echo "$out" | grep -q "^$GHOST  *<unknown>  *<unknown>" &&
    ok "kubectl top nodes answers during the hung scrape: $GHOST <unknown>, the others with figures" || bad "top nodes with ghost" "rc=$rc" "$out"
out=$(KC get --raw /apis/metrics.k8s.io/v1beta1/nodes 2>&1); rc=$?
[ $rc = 0 ] && echo "$out" | grep -q "\"name\":\"$AN\"" && ! echo "$out" | grep -q "\"name\":\"$GHOST\"" &&
    ok "NodeMetricsList without $GHOST" || bad "NodeMetricsList with ghost" "rc=$rc" "$out"
out=$(KC top node $GHOST 2>&1)
echo "$out" | grep -q "nodemetrics.metrics.k8s.io \"$GHOST\" not found" && ok "top node $GHOST: NotFound" || bad "top node ghost" "$out"
wait_until 40 grep -q "metrics of node $GHOST: " $tmp/kubed.log &&
    ok "the hung scrape ends: $(grep -m1 "metrics of node $GHOST: " $tmp/kubed.log | sed 's/.*metrics of node //')" ||
    bad "scrape timeout" "$(grep 'metrics of node' $tmp/kubed.log | tail -5)"
out=$(KC top pods --no-headers 2>&1)
echo "$out" | grep -q "^burn " && ok "kubectl top pods still lists burn" || bad "top pods after ghost" "$out"
K delete node $GHOST >/dev/null 2>&1 && ok "Node $GHOST deleted"

# ---- the agent's node goes away: its metrics go too ----
K delete hpa spin >/dev/null 2>&1
K delete deployment spin >/dev/null 2>&1
K delete pod burn --grace-period=1 >/dev/null 2>&1
wait_until 60 no_pods && ok "pods deleted" || bad "pods deleted" "$(K get pods 2>&1)"
kill -TERM $a_pid 2>/dev/null; wait $a_pid 2>/dev/null; a_pid=""
K delete node $AN >/dev/null 2>&1
agent_gone() { ! KC top nodes --no-headers 2>/dev/null | grep -q "^$AN "; }
wait_until 40 agent_gone && node_row $NODE >/dev/null && ok "node $AN deleted: left out of top nodes, $NODE still there" ||
    bad "deleted node in top" "$(KC top nodes 2>&1)"
