#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Pods of a node in another process, through the kubelet port (root): two
# kubed servers of one cluster (one etcd store, the same cluster CA, as the
# control-plane servers of a cluster share them), each with its node, the
# second's node serving on --kubelet-listen.  kubectl and the Python client
# talk to the first server only; its API server reaches the second's pod
# by proxying over HTTPS to that node's kubelet port with its kubelet
# client certificate (logs, exec, port-forward, cp; WebSocket and SPDY).
#   test-kubelet-port.sh KUBED KUBE SOURCE_ROOT
set -u
KUBED=$1; KUBE=$2; SRC=$3; shift 3
. "$SRC/tests/privileged/node/lib.sh"
ETCD=/usr/bin/etcd
[ -x $ETCD ] || skip "etcd missing"
command -v curl >/dev/null || skip "curl missing"
[ -x "$KUBECTL" ] || skip "$KUBECTL missing"
PY=/usr/bin/python3
$PY -c 'import kubernetes.stream, websocket' 2>/dev/null || skip "python3-kubernetes / python3-websocket missing"

# The second server and its node.
D2=$tmp/data2
NODE2=$NODE-b
NODE_IP2=${NODE_IP%.2}.3
CG2=$CG-b
RT2=$RT-b
BR2=ktc$id
POD_CIDR2=10.$o2.$((o3 % 250 + 1)).0/24
KP2=$((20000 + rnd % 9000))
kubed2_pid="" etcd_pid="" ssl_pid=""

cleanup2() {
    [ -n "$ssl_pid" ] && { kill $ssl_pid 2>/dev/null; wait $ssl_pid 2>/dev/null; }
    [ -n "$kubed2_pid" ] && { kill -KILL $kubed2_pid 2>/dev/null; wait $kubed2_pid 2>/dev/null; }
    [ -n "$etcd_pid" ] && { kill $etcd_pid 2>/dev/null; wait $etcd_pid 2>/dev/null; }
    for f in /sys/fs/cgroup/*/$CG2; do
        [ -d "$f" ] || continue
        find "$f" -name cgroup.procs 2>/dev/null | while read -r p; do
            for pid in $(cat "$p"); do kill -9 $pid 2>/dev/null; done
        done
        sleep 0.2
        find "$f" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    rm -rf "$RT2"
}
trap 'cleanup2; finish; rc=$?; exit $rc' EXIT INT TERM

# Upgrades the second node's streaming server logged after mark.
mark() { at=$(wc -l < "$tmp/kubed2.log"); }
upgraded() { # upgraded PATH TRANSPORT PROTOCOL
    tail -n +$((at + 1)) "$tmp/kubed2.log" | grep -q "node: [a-z]* $1: $2 $3\$"
}
node2_ready() {
    [ "$(K get node $NODE2 -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}
ready() { [ "$(jp pod/$1 '{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }

setup_netns || { echo "cannot create network namespace"; exit 1; }
IN ip addr add $NODE_IP2/24 dev nodeif
out=$(load_images) || bad "images" "$out"
out=$(sh "$SRC/images/busybox.sh" --data-dir "$D2" --kube "$KUBE" 2>&1) || bad "images (second node)" "$out"
ip netns exec $NS $ETCD --name default --data-dir "$tmp/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster default=http://127.0.0.1:2380 --log-level error >"$tmp/etcd.log" 2>&1 &
etcd_pid=$!
wait_until 20 IN curl -sf http://127.0.0.1:2379/health || { bad "etcd starts" "$(cat "$tmp/etcd.log")"; exit 1; }
STORE="--store etcd --etcd-endpoints http://127.0.0.1:2379"
start_kubed $STORE || { bad "the first kubed starts and its node gets Ready" "$(tail -30 $tmp/kubed.log)"; exit 1; }
ok "the first kubed starts and its node gets Ready"
# One cluster, one CA: the second server signs its kubelet certificate
# with it, and the first one's kubelet client certificate is accepted.
cp -p "$D/ca.crt" "$D/ca.key" "$D2/"
nsenter --net=/run/netns/$NS "$KUBED" server --data-dir "$D2" $STORE \
    --listen tcp:127.0.0.1:0 --no-registry \
    --node-name $NODE2 --node-ip $NODE_IP2 --pod-cidr $POD_CIDR2 \
    --cni-bridge $BR2 --cgroup-parent $CG2 --runtime-root $RT2 \
    --kubelet-listen $NODE_IP2:$KP2 >>"$tmp/kubed2.log" 2>&1 &
kubed2_pid=$!
wait_until 30 node2_ready && ok "the second kubed's node is Ready (seen through the first)" ||
    { bad "second node Ready" "$(tail -30 "$tmp/kubed2.log")"; exit 1; }
[ "$(jp node/$NODE2 '{.status.daemonEndpoints.kubeletEndpoint.Port}')" = $KP2 ] &&
    ok "its kubeletEndpoint.Port is $KP2" || bad "kubeletEndpoint.Port" "$(jp node/$NODE2 '{.status.daemonEndpoints}')"

printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: rp\nspec:\n  nodeName: %s\n  containers:\n  - name: c\n    image: busybox:1.35.0\n    command: [sh, -c, %s]\n' \
    $NODE2 "'mkdir -p /www && echo remote-ok > /www/index.html && httpd -p 8080 -h /www && for i in 1 2 3; do echo r-\$i; done; exec sleep 1000000'" |
    K apply -f - >/dev/null
wait_until 60 ready rp && ok "pod on the second node Ready" || bad "rp Ready" "$(K describe pod rp)"
wait_until 20 sh -c "ip netns exec $NS env KUBECONFIG=$KUBECONFIG $KUBECTL logs rp 2>/dev/null | grep -q r-3"

mark
out=$(KC logs rp --tail=2 2>&1)
[ "$out" = "r-2
r-3" ] && ok "kubectl logs --tail=2 through the first server" || bad "logs" "$out"
for v in "kubectl-1.32 $KUBECTL X=1 websocket v5.channel.k8s.io" \
         "kubectl-1.32 $KUBECTL KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false spdy v5.channel.k8s.io" \
         "kubectl-1.20 ${K120:-none} X=1 spdy v4.channel.k8s.io"; do
    set -- $v
    [ -x "$2" ] || continue
    mark
    out=$(C $3 "$2" exec rp -- sh -c 'echo r; exit 2' 2>/dev/null </dev/null)
    rc=$?
    [ $rc = 2 ] && [ "$out" = r ] && ok "$1 exec ($4) exits 2 through the kubelet port" || bad "$1 exec ($4)" "rc=$rc" "$out"
    upgraded /exec/default/rp/c $4 $5 && ok "... the second node negotiated $4 $5" ||
        bad "exec upgrade on the second node ($4)" "$(tail -n +$((at + 1)) "$tmp/kubed2.log" | grep 'node: ')"
    out=$(printf 'abc\n' | C $3 "$2" exec -i rp -- cat 2>&1)
    [ "$out" = abc ] && ok "$1 exec -i ($4) through the kubelet port" || bad "$1 exec -i ($4)" "$out"
done
[ -n "$K120" ] || echo "skipped kubectl 1.20: $K120_WHY"
echo payload-$id > "$tmp/cpf"
C X=1 "$KUBECTL" cp "$tmp/cpf" rp:/tmp/cpf >/dev/null 2>&1 </dev/null &&
    C X=1 "$KUBECTL" cp rp:/tmp/cpf "$tmp/cpb" >/dev/null 2>&1 </dev/null && cmp -s "$tmp/cpf" "$tmp/cpb" &&
    ok "kubectl cp both ways through the kubelet port" || bad "cp" "$(cat "$tmp/cpb" 2>&1)"
lp=$((30000 + rnd % 20000))
for v in "X=1 spdy-over-websocket SPDY/3.1+portforward.k8s.io" "KUBECTL_PORT_FORWARD_WEBSOCKETS=false spdy portforward.k8s.io"; do
    set -- $v
    lp=$((lp + 1))
    mark
    Cbg $1 "$KUBECTL" port-forward pod/rp $lp:8080 > "$tmp/pf.out" 2>&1
    pf=$!
    wait_until 20 sh -c "[ \"\$(ip netns exec $NS curl -s --max-time 5 http://127.0.0.1:$lp/)\" = remote-ok ]" &&
        ok "kubectl port-forward ($2) through the kubelet port" || bad "port-forward ($2)" "$(cat "$tmp/pf.out")"
    upgraded /portForward/default/rp $2 $3 && ok "... the second node negotiated $2 $3" ||
        bad "port-forward upgrade ($2)" "$(tail -n +$((at + 1)) "$tmp/kubed2.log" | grep 'node: ')"
    kill $pf 2>/dev/null; wait $pf 2>/dev/null
done
out=$(C X=1 $PY -c "
from kubernetes import client, config
from kubernetes.stream import stream
config.load_kube_config()
v1 = client.CoreV1Api()
o = stream(v1.connect_get_namespaced_pod_exec, 'rp', 'default',
           command=['sh', '-c', 'echo py; exit 6'], stderr=True, stdin=False,
           stdout=True, tty=False, _preload_content=False)
o.run_forever(timeout=20)
print(o.returncode, repr(o.read_stdout()))" 2>&1)
[ "$out" = "6 'py\\n'" ] && ok "python client: stream() exec through the kubelet port" || bad "python exec" "$out"
! grep -q "node: exec /api/v1/namespaces/default/pods/rp" "$tmp/kubed.log" &&
    ok "the first server's own node served none of it" || bad "the first server served rp itself"

# A kubelet port whose certificate the cluster CA did not sign is refused:
# a Node whose kubelet endpoint is an openssl s_server with a self-signed
# certificate (for the right IP, so only its issuer is wrong).
if command -v openssl >/dev/null; then
    NODE3=$NODE-x
    NODE_IP3=${NODE_IP%.2}.4
    KP3=$((KP2 + 1))
    IN ip addr add $NODE_IP3/24 dev nodeif
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=$NODE3 \
        -addext "subjectAltName=IP:$NODE_IP3" -keyout "$tmp/rogue.key" \
        -out "$tmp/rogue.crt" >/dev/null 2>&1
    ip netns exec $NS openssl s_server -quiet -www -accept $NODE_IP3:$KP3 \
        -cert "$tmp/rogue.crt" -key "$tmp/rogue.key" </dev/null >"$tmp/rogue.log" 2>&1 &
    ssl_pid=$!
    wait_until 10 IN curl -sk -o /dev/null https://$NODE_IP3:$KP3/ ||
        bad "the rogue kubelet port listens" "$(cat "$tmp/rogue.log")"
    printf 'apiVersion: v1\nkind: Node\nmetadata:\n  name: %s\n' $NODE3 | K apply -f - >/dev/null
    KC patch node $NODE3 --subresource=status --type=merge -p \
        "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"$NODE_IP3\"}],\"daemonEndpoints\":{\"kubeletEndpoint\":{\"Port\":$KP3}}}}" >/dev/null
    printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: xp\nspec:\n  nodeName: %s\n  containers:\n  - name: c\n    image: busybox:1.35.0\n' \
        $NODE3 | K apply -f - >/dev/null
    out=$(KC logs xp 2>&1); rc=$?
    [ $rc != 0 ] && echo "$out" | grep -q "certificate verify failed: self.signed certificate" &&
        ! echo "$out" | grep -qi "s_server" &&
        ok "kubectl logs refuses a kubelet whose certificate the cluster CA did not sign" ||
        bad "rogue kubelet refused" "rc=$rc" "$out"
    out=$(C X=1 "$KUBECTL" exec xp -- true 2>&1 </dev/null); rc=$?
    [ $rc != 0 ] && echo "$out" | grep -q "certificate verify failed" &&
        ok "kubectl exec refuses it too" || bad "rogue kubelet refused (exec)" "rc=$rc" "$out"
    ! grep -q "kubelets are not verified" "$tmp/kubed.log" &&
        ok "no unverified-kubelet warning with a cluster CA" || bad "unverified-kubelet warning"
    K delete pod xp --grace-period=0 --force >/dev/null 2>&1
    K delete node $NODE3 >/dev/null 2>&1
    kill $ssl_pid 2>/dev/null; wait $ssl_pid 2>/dev/null; ssl_pid=""
else
    echo "skipped the rogue kubelet check: openssl missing"
fi

# The second node first: its pods go, it stops, nothing of it is left.
K delete pod rp --grace-period=1 >/dev/null 2>&1
wait_until 60 gone rp || bad "rp deleted" "$(K get pod rp -o yaml)"
kill -TERM $kubed2_pid; wait $kubed2_pid; rc=$?; kubed2_pid=""
[ $rc = 0 ] && ok "the second kubed stops cleanly" || bad "second kubed stop" "exit status $rc" "$(tail -5 "$tmp/kubed2.log")"
out=$(D=$D2 CG=$CG2 RT=$RT2 leftovers) && ok "nothing of the second node left behind" || bad "second node leftovers" "$out"
