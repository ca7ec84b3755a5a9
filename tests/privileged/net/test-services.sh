#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Services in each proxy mode (--proxy-mode ebpf: socket load balancing;
# nftables: kube-proxy's nftables layout), end to end (root): kubed with its
# node in a network namespace of the test's own, a Service over two
# busybox httpd pods reached at its ClusterIP from the node's namespace
# (getpeername shows the VIP) and from inside a pod, balanced over both;
# UDP to a Service whose EndpointSlice names two servers of the test (the
# replies come from the VIP; a flow whose endpoint goes moves on); a Service without endpoints refuses; a
# NodePort from the node (node address, 127.0.0.1) and from another
# namespace standing in for an outside client (the node's NAT rules);
# externalTrafficPolicy Local; sessionAffinity ClientIP; a LoadBalancer
# Service (its ingress is the node address at once); the kubernetes Service to the API server's
# advertised address, from the node and from a pod; an endpoint going
# away; a second cluster with another service CIDR side by side (each
# reaches its own VIPs; killed with -9 it leaves nothing); and the
# programs, the unreachable route and the NAT chain gone once kubed stops.
# The mode is in the Node's annotation libkube.io/proxy-mode and the log.
# In nftables mode the checks of the programs become checks of the node's
# table (ip libkube-<hash>: made at start, gone on stop, the second
# cluster's in its own namespace) and of the service CIDR's route to lo.
#   test-services.sh KUBED KUBE SOURCE_ROOT [ebpf|nftables]
set -u
KUBED=$1; KUBE=$2; SRC=$3; MODE=${4:-ebpf}; shift 3
. "$SRC/tests/privileged/node/lib.sh"
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 missing"
if [ $MODE = ebpf ]; then
    command -v bpftool >/dev/null || skip "bpftool missing (apt-get install bpftool)"
    CGROOT=$(awk '$0 ~ / - cgroup2 / {print $5; exit}' /proc/self/mountinfo)
    [ -n "$CGROOT" ] || skip "no cgroup v2 mount"
else
    command -v nft >/dev/null || skip "nft missing (apt-get install nftables)"
fi
PROBE="/usr/bin/python3 $SRC/tests/privileged/net/probe.py"
# Addresses of this test only (lib.sh picked POD_CIDR and NODE_IP).
SVC_CIDR=172.20.$o3.0/24
SVC_B=172.21.$o3.0/24
NP_RANGE=31$((rnd % 9))00-31$((rnd % 9))99
NODE_IP2=${NODE_IP%.2}.3
NS_B=${NS}b
NS_OUT=${NS}o
OUT_IP=${NODE_IP%.2}.20
NODE_IP_B=${NODE_IP%.2}.12
D_B=$tmp/data-b
b_pid=""; servers=""

cleanup() {
    for p in $servers; do kill $p 2>/dev/null; done
    if [ -n "$b_pid" ]; then kill $b_pid 2>/dev/null; wait $b_pid 2>/dev/null; fi
    ip netns del $NS_B 2>/dev/null
    ip netns del $NS_OUT 2>/dev/null
    rm -rf "${RT}-b"
    for f in /sys/fs/cgroup/*/${CG}-b; do [ -d "$f" ] && find "$f" -depth -type d -exec rmdir {} \; 2>/dev/null; done
    finish
}
trap 'cleanup; exit $?' EXIT INT TERM

# The nftables table kubed logged (nftables mode).
nft_table() { sed -n 's/.*nftables table ip \(libkube-[0-9a-z]*\).*/\1/p' "$1" | tail -1; }
# The program ids kubed logged for its service load balancer.
prog_ids() { sed -n 's/.*service load balancing for .* (programs \([0-9 ]*\)).*/\1/p' "$1" | tail -1; }
attached() { # attached ID...: every id is attached at the cgroup root
    out=$(bpftool cgroup show "$CGROOT" 2>/dev/null)
    for i in "$@"; do echo "$out" | awk '{print $1}' | grep -qx "$i" || return 1; done
}
detached() { # detached ID...: none is attached, none still loaded
    out=$(bpftool cgroup show "$CGROOT" 2>/dev/null)
    for i in "$@"; do
        echo "$out" | awk '{print $1}' | grep -qx "$i" && return 1
        bpftool prog show id "$i" >/dev/null 2>&1 && return 1
    done
    return 0
}
# selectorless NAME PORT TARGET PROTO ADDR...: a Service without selector
# and its EndpointSlice (the YAML on stdout)
selectorless() {
    n=$1; p=$2; t=$3; pr=$4; shift 4
    printf 'apiVersion: v1\nkind: Service\nmetadata: {name: %s}\nspec:\n  ports: [{name: p, port: %s, protocol: %s}]\n---\n' $n $p $pr
    printf 'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: %s-1, labels: {kubernetes.io/service-name: %s}}\naddressType: IPv4\n' $n $n
    printf 'ports: [{name: p, port: %s, protocol: %s}]\nendpoints:\n' $t $pr
    for a in "$@"; do printf -- '- addresses: [%s]\n' $a; done
}
slice_ready() {
    n=$(K get endpointslices -l kubernetes.io/service-name=$1 -o json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sum(1 for s in d.get("items", [d]) for e in s.get("endpoints") or []
          if (e.get("conditions") or {}).get("ready", True)))')
    [ "$n" = "$2" ]
}

setup_netns || { bad "netns"; exit 1; }
IN ip addr add $NODE_IP2/24 dev nodeif
load_images || { bad "images"; exit 1; }
start_kubed --service-cidr $SVC_CIDR --service-node-port-range $NP_RANGE --dns-upstream none --proxy-mode $MODE &&
    ok "kubed Ready" || { bad "kubed Ready" "$(tail -30 $tmp/kubed.log)"; exit 1; }

# ---- the mode: log, annotation ----
grep -q "node $NODE: proxy mode $MODE (asked: $MODE)" $tmp/kubed.log &&
    ok "log: proxy mode $MODE" || bad "log line" "$(grep -i 'proxy' $tmp/kubed.log | tail)"
mode_annotated() { [ "$(jp node/$NODE '{.metadata.annotations.libkube\.io/proxy-mode}')" = $MODE ]; }
wait_until 20 mode_annotated && ok "Node annotation libkube.io/proxy-mode: $MODE" ||
    bad "annotation" "$(K get node $NODE -o yaml 2>&1 | head -20)"

if [ $MODE = ebpf ]; then
# ---- the programs ----
ids=$(prog_ids "$tmp/kubed.log")
set -- $ids
[ $# = 4 ] && attached $ids && ok "4 programs attached at $CGROOT ($ids)" ||
    bad "programs attached" "ids: $ids" "$(bpftool cgroup show $CGROOT)" "$(grep -i 'service\|bpf' $tmp/kubed.log | tail)"
out=$(bpftool cgroup show "$CGROOT" 2>/dev/null)
for t in inet4_connect udp4_sendmsg udp4_recvmsg inet4_getpeername; do
    echo "$out" | grep -E "^ *($(echo $ids | tr ' ' '|')) " | grep -E "cgroup_$t +multi" >/dev/null &&
        ok "attached: cgroup_$t, multi" || bad "attach type $t" "$out"
done

IN ip route show type unreachable | grep -q "^unreachable $SVC_CIDR" &&
    ok "unreachable route for $SVC_CIDR in the node's namespace" || bad "unreachable route" "$(IN ip route show type unreachable)"
else
# ---- the table ----
TABLE=$(nft_table "$tmp/kubed.log")
[ -n "$TABLE" ] && IN nft list table ip $TABLE >/dev/null 2>&1 &&
    ok "nftables table ip $TABLE in the node's namespace" || bad "table" "$TABLE" "$(IN nft list tables 2>&1)" "$(grep -i 'nft\|proxy' $tmp/kubed.log | tail)"
IN ip route show $SVC_CIDR | grep -q "dev nodeif .*src $NODE_IP" &&
    ok "route $SVC_CIDR dev nodeif src $NODE_IP (to the DNAT) in the node's namespace" || bad "service route" "$(IN ip route)"
[ "$(IN cat /proc/sys/net/ipv4/conf/all/route_localnet)" = 1 ] && ok "route_localnet on in the node's namespace" || bad "route_localnet"
fi

# ---- a Service over two pods ----
for n in web1 web2; do
    apply "apiVersion: v1
kind: Pod
metadata: {name: $n, labels: {app: web}}
spec:
  containers:
  - name: web
    image: busybox:1.35.0
    command: [sh, -c, 'mkdir -p /www && echo $n > /www/index.html && exec httpd -f -p 8080 -h /www']
    ports: [{name: http, containerPort: 8080}]"
done
apply "apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: h, port: 80, targetPort: http}]"
apply "apiVersion: v1
kind: Service
metadata: {name: empty}
spec:
  selector: {app: nothing}
  ports: [{port: 80}]"
wait_until 40 running web1 && wait_until 20 running web2 && ok "backends Running" || bad "backends" "$(K get pods -o wide 2>&1)" "$(podlog web1 web)" "$(podlog web2 web)" "$(events_of web1)"
wait_until 60 slice_ready web 2 && ok "EndpointSlice: 2 ready endpoints" || bad "slice" "$(K get endpointslices -l kubernetes.io/service-name=web -o json 2>&1 | head -60)"
VIP=$(jp svc/web '{.spec.clusterIP}')
case $VIP in ${SVC_CIDR%.0/24}.*) ok "ClusterIP $VIP in $SVC_CIDR" ;; *) bad "ClusterIP" "$VIP" ;; esac

# (the slice reaches the proxy through its informer a moment after the API)
both_answer() { out=$(IN $PROBE tcp $1 $2 40 2>&1); echo "$out" | grep -qx web1 && echo "$out" | grep -qx web2; }
wait_until 20 both_answer $VIP 80
out=$(IN $PROBE tcp $VIP 80 40 2>&1)
echo "$out" | grep -qx web1 && echo "$out" | grep -qx web2 &&
    ok "node namespace: $VIP:80 balanced over both pods" || bad "VIP from the node" "$out" "$(IN ip route)"
[ "$(echo "$out" | grep '^peer=')" = "peer=$VIP:80" ] &&
    ok "getpeername() says $VIP:80" || bad "getpeername" "$out"

apply "apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers:
  - name: c
    image: busybox:1.35.0
    command: [sh, -c, 'for i in \$(seq 30); do wget -qO- http://$VIP/; done; echo done-web; wget -qO- http://$(jp svc/empty '{.spec.clusterIP}')/ 2>&1; echo done-empty; nc -w 5 ${SVC_CIDR%.0/24}.1 443 </dev/null && echo kubernetes-reached; echo done-kubernetes; nslookup web.default.svc.cluster.local ${SVC_CIDR%.0/24}.10 2>&1; echo done-dns; sleep 3600']"
wait_until 40 log_has client c done-dns
out=$(podlog client c)
echo "$out" | grep -qx web1 && echo "$out" | grep -qx web2 &&
    ok "inside a pod: $VIP:80 balanced over both pods" || bad "VIP from a pod" "$out"
echo "$out" | grep -q "refused" && ok "inside a pod: a Service without endpoints refuses" || bad "empty from a pod" "$out"
echo "$out" | sed -n '/done-kubernetes/,/done-dns/p' | grep -q "Address.*$VIP" &&
    ok "inside a pod: the cluster DNS answers through its Service VIP ${SVC_CIDR%.0/24}.10" || bad "DNS via the VIP" "$out"
echo "$out" | grep -q 'kubernetes-reached$' && ok "inside a pod: the kubernetes Service reaches the API server" || bad "kubernetes from a pod" "$out"

out=$(IN $PROBE tcp $(jp svc/empty '{.spec.clusterIP}') 80 1 2>&1)
[ "$out" = refused ] && ok "a Service without endpoints: connection refused" || bad "empty Service" "$out"
out=$(IN $PROBE tcp ${SVC_CIDR%.0/24}.250 80 1 2>&1)
[ "$out" = "error: No route to host" ] && ok "an unallocated address of the service CIDR: no route to host (the unreachable route)" || bad "unallocated VIP" "$out"

# ---- UDP ----
for a in $NODE_IP $NODE_IP2; do
    ip netns exec $NS $PROBE udpserve $a 9053 & servers="$servers $!"
done
apply "$(selectorless dgram 53 9053 UDP $NODE_IP $NODE_IP2)"
UVIP=$(jp svc/dgram '{.spec.clusterIP}')
sleep 0.5
# (ebpf: per datagram; nftables: per flow, as conntrack keeps a DNAT)
UDP_HOW=""; [ $MODE = nftables ] && UDP_HOW=fresh
out=$(IN $PROBE udp $UVIP 53 40 $UDP_HOW 2>&1)
echo "$out" | grep -qx "udp-$NODE_IP" && echo "$out" | grep -qx "udp-$NODE_IP2" &&
    ok "UDP: $UVIP:53 balanced over both servers" || bad "UDP balanced" "$out"
[ "$(echo "$out" | grep '^from=')" = "from=$UVIP:53" ] &&
    ok "UDP: replies come from $UVIP:53 (recvmsg)" || bad "UDP recvmsg" "$out"

# ---- a UDP flow whose endpoint goes: its next datagram reaches the other
# (nftables: the flow's conntrack entry is deleted, as kube-proxy does) ----
rm -f $tmp/go
IN $PROBE udphold $UVIP 53 $tmp/go > $tmp/hold.out 2>&1 & hp=$!
wait_until 10 grep -q '^first=udp-' $tmp/hold.out
first=$(sed -n 's/^first=udp-//p' $tmp/hold.out)
other=$NODE_IP; [ "$first" = $NODE_IP ] && other=$NODE_IP2
apply "$(selectorless dgram 53 9053 UDP $other)"
only_other() { [ "$(IN $PROBE udp $UVIP 53 6 fresh 2>&1 | grep '^udp-')" = "udp-$other" ]; }
wait_until 20 only_other
# (nftables: the held flow's conntrack entry is deleted just after the
# commit that only_other saw; wait for that too)
stale_gone() { ! ip netns exec $NS grep -q "udp .* dst=$UVIP .*dport=53 src=$first " /proc/net/nf_conntrack; }
wait_until 10 stale_gone
touch $tmp/go; wait $hp
out=$(cat $tmp/hold.out)
[ -n "$first" ] && [ "$(echo "$out" | grep '^after=')" = "after=udp-$other" ] &&
    ok "UDP: a flow on $first whose endpoint went goes on to $other" || bad "UDP flow after its endpoint went" "$out"

# ---- externalTrafficPolicy: Local (an endpoint on another node) ----
apply "apiVersion: v1
kind: Service
metadata: {name: dlocal}
spec:
  type: NodePort
  externalTrafficPolicy: Local
  ports: [{name: p, port: 53, protocol: UDP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: dlocal-1, labels: {kubernetes.io/service-name: dlocal}}
addressType: IPv4
ports: [{name: p, port: 9053, protocol: UDP}]
endpoints:
- {addresses: [$NODE_IP], nodeName: $NODE}
- {addresses: [$NODE_IP2], nodeName: elsewhere}"
DVIP=$(jp svc/dlocal '{.spec.clusterIP}'); DNP=$(jp svc/dlocal '{.spec.ports[0].nodePort}')
sleep 0.5
out=$(IN $PROBE udp $DVIP 53 30 $UDP_HOW 2>&1)
echo "$out" | grep -qx "udp-$NODE_IP" && echo "$out" | grep -qx "udp-$NODE_IP2" &&
    ok "externalTrafficPolicy Local: the ClusterIP still uses every endpoint" || bad "etp Local ClusterIP" "$out"
out=$(IN $PROBE udp $NODE_IP $DNP 30 2>&1)
[ "$(echo "$out" | grep '^udp-')" = "udp-$NODE_IP" ] &&
    ok "externalTrafficPolicy Local: the node port uses this node's endpoint only" || bad "etp Local node port" "$out"

# ---- NodePort ----
apply "apiVersion: v1
kind: Service
metadata: {name: webnp}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]"
NP=$(jp svc/webnp '{.spec.ports[0].nodePort}')
wait_until 60 slice_ready webnp 2
wait_until 20 both_answer $NODE_IP $NP
out=$(IN $PROBE tcp $NODE_IP $NP 30 2>&1)
echo "$out" | grep -qx web1 && echo "$out" | grep -qx web2 &&
    ok "NodePort $NODE_IP:$NP balanced over both pods" || bad "NodePort node IP" "$out"
out=$(IN $PROBE tcp 127.0.0.1 $NP 10 2>&1)
echo "$out" | grep -qxE 'web1|web2' && ok "NodePort on 127.0.0.1:$NP in the node's namespace" || bad "NodePort loopback" "$out"

# ---- a pod to a node port on the node's address (a packet: NAT) ----
apply "apiVersion: v1
kind: Pod
metadata: {name: npclient}
spec:
  containers:
  - name: c
    image: busybox:1.35.0
    command: [sh, -c, 'for i in \$(seq 20); do wget -qO- http://$NODE_IP:$NP/; done; echo done-np; sleep 3600']"
wait_until 60 log_has npclient c done-np
out=$(podlog npclient c)
echo "$out" | grep -qx web1 && echo "$out" | grep -qx web2 &&
    ok "inside a pod: NodePort $NODE_IP:$NP balanced over both pods" || bad "NodePort from a pod" "$out"

# ---- node ports from outside: another namespace on the node's link ----
ip netns add $NS_OUT
ip -n $NS link set nodepeer netns $NS_OUT
ip -n $NS_OUT link set lo up
ip -n $NS_OUT addr add $OUT_IP/24 dev nodepeer
ip -n $NS_OUT link set nodepeer up
both_answer_out() { out=$(ip netns exec $NS_OUT $PROBE tcp $1 $2 40 2>&1); echo "$out" | grep -qx web1 && echo "$out" | grep -qx web2; }
wait_until 20 both_answer_out $NODE_IP $NP
out=$(ip netns exec $NS_OUT $PROBE tcp $NODE_IP $NP 40 2>&1)
echo "$out" | grep -qx web1 && echo "$out" | grep -qx web2 && [ "$(echo "$out" | grep '^peer=')" = "peer=$NODE_IP:$NP" ] &&
    ok "NodePort $NODE_IP:$NP from an outside namespace balanced over both pods" ||
    bad "NodePort from outside" "$out" "$(IN iptables -t nat -S 2>&1 | grep KUBE-NP)" "$(IN sysctl net.ipv4.ip_forward)"
if [ $MODE = ebpf ]; then
IN iptables -t nat -S 2>/dev/null | grep -q "^-A PREROUTING .* -j KUBE-NP-" &&
    ok "NAT chain for outside clients jumped to from PREROUTING" || bad "NAT jump" "$(IN iptables -t nat -S 2>&1)"
else
IN nft list map ip $TABLE nodeports 2>/dev/null | grep -q "tcp . $NP : goto nodeport-tcp-$NP" &&
    ok "node port $NP in the table's nodeports map" || bad "nodeports map" "$(IN nft list map ip $TABLE nodeports 2>&1)"
[ -z "$(IN iptables -t nat -S 2>/dev/null | grep KUBE-NP-)" ] && ok "no iptables NAT chain in nftables mode" || bad "iptables chain in nftables mode"
fi

# ---- sessionAffinity: ClientIP ----
apply "apiVersion: v1
kind: Service
metadata: {name: sticky}
spec:
  selector: {app: web}
  sessionAffinity: ClientIP
  ports: [{port: 80, targetPort: http}]"
SVIP=$(jp svc/sticky '{.spec.clusterIP}')
wait_until 60 slice_ready sticky 2
wait_until 20 sh -c "ip netns exec $NS $PROBE tcp $SVIP 80 1 | grep -q '^web'"
out=$(IN $PROBE tcp $SVIP 80 30 2>&1)
[ "$(echo "$out" | grep -c '^web')" = 1 ] && ok "sessionAffinity ClientIP: 30 connections, one backend" || bad "affinity" "$out"
if [ $MODE = nftables ]; then
    IN nft list table ip $TABLE 2>/dev/null | grep -A6 "set affinity-service-$SVIP-tcp-80__" | grep -q "elements = { $NODE_IP " &&
        ok "affinity set of the chosen endpoint holds the client $NODE_IP" || bad "affinity set" "$(IN nft list table ip $TABLE 2>&1 | grep -A6 affinity)"
fi

# ---- LoadBalancer: the node's address at once ----
apply "apiVersion: v1
kind: Service
metadata: {name: weblb}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 8081, targetPort: http}]"
wait_until 20 sh -c "[ \"\$(ip netns exec $NS $KUBE get svc weblb -o 'jsonpath={.status.loadBalancer.ingress[0].ip}')\" = $NODE_IP ]" &&
    ok "LoadBalancer ingress is the node address $NODE_IP" || bad "LoadBalancer status" "$(K get svc weblb -o yaml 2>&1)"
out=$(KC get svc weblb 2>&1)
echo "$out" | grep -q "LoadBalancer .* $NODE_IP " && ok "kubectl shows EXTERNAL-IP $NODE_IP" || bad "kubectl EXTERNAL-IP" "$out"
wait_until 20 both_answer $NODE_IP 8081
out=$(IN $PROBE tcp $NODE_IP 8081 30 2>&1)
echo "$out" | grep -qx web1 && echo "$out" | grep -qx web2 &&
    ok "LoadBalancer $NODE_IP:8081 balanced over both pods" || bad "LoadBalancer traffic" "$out"
wait_until 20 both_answer_out $NODE_IP 8081 &&
    ok "LoadBalancer $NODE_IP:8081 from an outside namespace balanced over both pods" ||
    bad "LoadBalancer from outside" "$(ip netns exec $NS_OUT $PROBE tcp $NODE_IP 8081 10 2>&1)"

# ---- the kubernetes Service reaches the API server (advertised address) ----
KVIP=$(jp svc/kubernetes '{.spec.clusterIP}')
[ "$KVIP" = ${SVC_CIDR%.0/24}.1 ] && ok "kubernetes Service at $KVIP" || bad "kubernetes ClusterIP" "$KVIP"
[ "$(jp endpoints/kubernetes '{.subsets[0].addresses[0].ip}')" = $NODE_IP ] &&
    ok "kubernetes Endpoints say $NODE_IP" || bad "kubernetes endpoints" "$(K get endpoints kubernetes -o yaml 2>&1)"
out=$(IN $PROBE tls $KVIP 443 2>&1)
[ "$out" = "tls ok peer=$KVIP:443" ] && ok "TLS to the API server through $KVIP:443" || bad "kubernetes VIP" "$out"
[ "$(K get configmap -n kube-system libkube-cluster -o 'jsonpath={.data.serviceCIDR} {.data.advertiseAddress} {.data.clusterDNS}')" = "$SVC_CIDR $NODE_IP ${SVC_CIDR%.0/24}.10" ] &&
    ok "ConfigMap libkube-cluster: service CIDR, advertised address, DNS" || bad "settings" "$(K get configmap -n kube-system libkube-cluster -o yaml 2>&1)"

# ---- connect() latency, VIP vs the backend directly (a figure) ----
ip netns exec $NS $PROBE acceptserve $NODE_IP2 9100 & servers="$servers $!"
apply "$(selectorless lat 9100 9100 TCP $NODE_IP2)"
LVIP=$(jp svc/lat '{.spec.clusterIP}')
sleep 0.5
out=$(IN $PROBE latency $LVIP 9100 5000 $NODE_IP2 9100 2>&1)
echo "# connect() median: VIP $(echo $out | cut -d' ' -f1) us, backend directly $(echo $out | cut -d' ' -f2) us"

# ---- an endpoint goes away ----
K delete pod web2 --grace-period=1 >/dev/null 2>&1
wait_until 30 slice_ready web 1 && sleep 0.3
out=$(IN $PROBE tcp $VIP 80 20 2>&1)
[ "$(echo "$out" | grep -v '^peer=')" = web1 ] && ok "after web2 is deleted only web1 answers" || bad "endpoint removed" "$out"

# ---- a second cluster beside it ----
ip netns add $NS_B
ip netns exec $NS_B ip link set lo up
ip netns exec $NS_B ip link add nodeif type veth peer name nodepeer
ip netns exec $NS_B ip addr add $NODE_IP_B/24 dev nodeif
ip netns exec $NS_B ip link set nodeif up
ip netns exec $NS_B ip link set nodepeer up
nsenter --net=/run/netns/$NS_B "$KUBED" server --data-dir "$D_B" \
    --listen tcp:127.0.0.1:0 --listen unix:$tmp/kubed-b.sock \
    --node-name $NODE-b --node-ip $NODE_IP_B --pod-cidr 10.$o2.$(((o3 + 1) % 250)).0/24 \
    --cni-bridge ${BR}b --cgroup-parent ${CG}-b --runtime-root ${RT}-b \
    --service-cidr $SVC_B --no-registry --dns-upstream none --proxy-mode $MODE >>"$tmp/kubed-b.log" 2>&1 &
b_pid=$!
KB() { ip netns exec $NS_B env KUBECONFIG="$D_B/kubeconfig.yaml" "$KUBE" "$@"; }
if [ $MODE = ebpf ]; then
wait_until 20 sh -c "[ -n \"\$(sed -n 's/.*(programs \([0-9 ]*\)).*/\1/p' $tmp/kubed-b.log)\" ]"
ids_b=$(prog_ids "$tmp/kubed-b.log")
set -- $ids_b
[ $# = 4 ] && attached $ids $ids_b && ok "both clusters' programs attached side by side" ||
    bad "second cluster programs" "$ids_b" "$(tail -20 $tmp/kubed-b.log)"
else
wait_until 20 sh -c "grep -q 'nftables table ip libkube-' $tmp/kubed-b.log"
TABLE_B=$(nft_table "$tmp/kubed-b.log")
[ -n "$TABLE_B" ] && [ "$TABLE_B" != "$TABLE" ] && ip netns exec $NS_B nft list table ip $TABLE_B >/dev/null 2>&1 &&
    IN nft list table ip $TABLE >/dev/null 2>&1 && ! IN nft list table ip $TABLE_B >/dev/null 2>&1 &&
    ok "both clusters' tables side by side ($TABLE, $TABLE_B), each in its node's namespace" ||
    bad "second cluster table" "$TABLE_B" "$(tail -20 $tmp/kubed-b.log)"
fi
ip netns exec $NS_B /usr/bin/python3 -m http.server --bind $NODE_IP_B 8000 >/dev/null 2>&1 & servers="$servers $!"
selectorless b 80 8000 TCP $NODE_IP_B > $tmp/b.yaml
wait_until 20 KB apply -f $tmp/b.yaml
VIP_B=$(KB get svc b -o 'jsonpath={.spec.clusterIP}' 2>/dev/null)
case $VIP_B in ${SVC_B%.0/24}.*) ok "cluster B's ClusterIP $VIP_B in $SVC_B" ;; *) bad "cluster B ClusterIP" "$VIP_B" ;; esac
sleep 0.5
out=$(ip netns exec $NS_B $PROBE tcp $VIP_B 80 3 2>&1)
echo "$out" | grep -q "Directory listing" && echo "$out" | grep -qx "peer=$VIP_B:80" &&
    ok "cluster B reaches its own VIP $VIP_B (cluster A's programs leave it alone)" || bad "cluster B VIP" "$out"
out=$(IN $PROBE tcp $VIP 80 5 2>&1)
[ "$(echo "$out" | grep -v '^peer=')" = web1 ] && ok "cluster A still reaches $VIP" || bad "cluster A VIP with B running" "$out"
if [ $MODE = ebpf ]; then
# Killed, not stopped: the programs live only as long as the process.
kill -9 $b_pid; wait $b_pid 2>/dev/null; b_pid=""
wait_until 10 detached $ids_b && ok "cluster B killed (-9): its programs are gone" ||
    bad "cluster B cleanup" "$(bpftool cgroup show $CGROOT)"
attached $ids && ok "cluster A's programs stay" || bad "cluster A's programs after B stopped"
else
# A table outlives a killed process: stopped, B removes its own.
kill $b_pid; wait $b_pid 2>/dev/null; b_pid=""
! ip netns exec $NS_B nft list table ip $TABLE_B >/dev/null 2>&1 && ok "cluster B stopped: its table is gone" ||
    bad "cluster B cleanup" "$(ip netns exec $NS_B nft list tables 2>&1)"
IN nft list table ip $TABLE >/dev/null 2>&1 && ok "cluster A's table stays" || bad "cluster A's table after B stopped"
fi
out=$(IN $PROBE tcp $VIP 80 3 2>&1)
[ "$(echo "$out" | grep -v '^peer=')" = web1 ] && ok "cluster A still balances" || bad "cluster A after B stopped" "$out"

if [ $MODE = nftables ]; then
    ! grep -q "service proxy: nftables:" $tmp/kubed.log && ok "every nftables commit succeeded (no rebuild)" ||
        bad "failed commits" "$(grep 'service proxy: nftables:' $tmp/kubed.log | head -5)"
fi

# ---- stop: nothing left at the cgroup root ----
K delete pods --all --grace-period=1 --wait=false >/dev/null 2>&1
wait_until 60 no_pods
stop_kubed TERM
if [ $MODE = ebpf ]; then
wait_until 10 detached $ids && ok "kubed stopped: its programs and maps are gone" ||
    bad "cleanup" "$(bpftool cgroup show $CGROOT)"
else
! IN nft list table ip $TABLE >/dev/null 2>&1 && ok "kubed stopped: its table ip $TABLE is gone" ||
    bad "table cleanup" "$(IN nft list tables 2>&1)"
[ -z "$(IN ip route show $SVC_CIDR)" ] && ok "kubed stopped: the service CIDR's route is gone" ||
    bad "service route cleanup" "$(IN ip route show $SVC_CIDR)"
fi
[ -z "$(IN iptables -t nat -S 2>/dev/null | grep KUBE-NP-)" ] && ok "kubed stopped: its NAT chain is gone" ||
    bad "NAT cleanup" "$(IN iptables -t nat -S 2>&1)"
[ -z "$(IN ip route show type unreachable)" ] && ok "kubed stopped: the unreachable route is gone" ||
    bad "route cleanup" "$(IN ip route show type unreachable)"
