#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Three nodes of one cluster on one machine (root): `kubed server` with
# its node and two `kubed agent`s, each in a network namespace of its own,
# joined by veths to a bridge in a third namespace the test makes (a
# fourth stands in for an outside client).  Own data dirs, cgroup
# parents, runtime roots, CNI bridges and pod CIDRs.  Checks: the server
# publishes every Node's pod CIDR and address (ConfigMap
# kube-system/libkube-cluster, key podRoutes), which the agent may read
# and nothing else of kube-system; each node routes the other's pod CIDR
# via its address and masquerades only what leaves the cluster CIDR;
# pod-to-pod across nodes (server/agent and agent/agent) keeps the pod's
# address; the agent masquerades DNATed traffic of its own node ports
# only, not another node's DNAT in the same namespace; an edited
# serviceNodePortRange starts the agents' service proxies again; NetworkPolicy on an agent's node (default-deny ingress cuts a
# pod off from pods on the other nodes, a podSelector rule lets one back,
# deleting the policies restores access; its programs go with the agent);
# a pod on the agent reaches a ClusterIP whose endpoint is on the server's node and the
# cluster DNS (address from the settings) through its VIP; each node's
# socket load balancer translates its own sockets only
# (internalTrafficPolicy Local answers with the client's node's pod, from
# pods and from each node's namespace); a NodePort on the agent's address
# from the outside namespace reaches a pod on the server's node; a
# stopped agent leaves no route, chain or program; a deleted Node's route
# goes from the server's node; the server's go when it stops.
# With MODE nftables every node runs --proxy-mode nftables: the checks of
# each node's programs become checks of each node's table (its own name,
# in its own namespace, the Node's annotation libkube.io/proxy-mode).
#   test-multinode.sh KUBED KUBE SOURCE_ROOT [ebpf|nftables]
set -u
KUBED=$1; KUBE=$2; SRC=$3; MODE=${4:-ebpf}; shift 3
. "$SRC/tests/privileged/node/lib.sh"
command -v bpftool >/dev/null || skip "bpftool missing (apt-get install bpftool)"
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 missing"
[ -x "$KUBECTL" ] || skip "kubectl 1.32 missing ($KUBECTL)"
CGROOT=$(awk '$0 ~ / - cgroup2 / {print $5; exit}' /proc/self/mountinfo)
[ -n "$CGROOT" ] || skip "no cgroup v2 mount"
[ $MODE = ebpf ] || command -v nft >/dev/null || skip "nft missing (apt-get install nftables)"

# Namespaces: NS the server's node (lib.sh's clients run there), NS2 and
# NS3 the agents', NSB the bridge's, NSO the outside client's.
NS2=${NS}a; NS3=${NS}b; NSB=${NS}x; NSO=${NS}o
IP1=$NODE_IP; IP2=${NODE_IP%.2}.3; IP3=${NODE_IP%.2}.4; OUT_IP=${NODE_IP%.2}.20
CL=10.$o2.$o3.0/24; CIDR1=10.$o2.$o3.0/26; CIDR2=10.$o2.$o3.64/26; CIDR3=10.$o2.$o3.128/26
SVC=172.23.$o3.0/24
A1=$tmp/agent; N1=$NODE-a; CG1=$CG-a; RT1=$RT-a; BR1=${BR}a
A2=$tmp/agent2; N2=$NODE-b; CG2=$CG-b; RT2=$RT-b; BR2=${BR}b
a_pid=""; b_pid=""; out_pid=""; url=""

IN2() { ip netns exec $NS2 "$@"; }
# the agent's identity (system:node:N1), from the agent's namespace
NK() { IN2 "$KUBECTL" --kubeconfig "$A1/kubelet.kubeconfig" "$@"; }
prog_ids() { sed -n 's/.*service load balancing for .* (programs \([0-9 ]*\)).*/\1/p' "$1" | tail -1; }
attached() {
    out=$(bpftool cgroup show "$CGROOT" 2>/dev/null)
    for i in "$@"; do echo "$out" | awk '{print $1}' | grep -qx "$i" || return 1; done
}
detached() {
    out=$(bpftool cgroup show "$CGROOT" 2>/dev/null)
    for i in "$@"; do
        echo "$out" | awk '{print $1}' | grep -qx "$i" && return 1
        bpftool prog show id "$i" >/dev/null 2>&1 && return 1
    done
    return 0
}
nft_table() { sed -n 's/.*nftables table ip \(libkube-[0-9a-z]*\).*/\1/p' "$1" | tail -1; }
has_table() { ip netns exec $1 nft list table ip $2 >/dev/null 2>&1; }
server_url() { url=$(sed -n 's/^kubed: listening on \(https:[^ ]*\) .*/\1/p' "$tmp/kubed.log" | head -1); [ -n "$url" ]; }
ready() { [ "$(K get node "$1" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; }
route_via() { # route_via NETNS CIDR GW
    ip -n $1 route show "$2" 2>/dev/null | grep -q "via $3 "
}
no_route() { [ -z "$(ip -n $1 route show "$2" 2>/dev/null)" ]; }
masq_rules() { ip netns exec $1 iptables -t nat -S 2>/dev/null | grep -- "-j MASQUERADE" | grep KUBE-MASQ; }
# get POD URL: wget from inside a pod (kubectl exec through the node)
# (busybox 1.35's wget -T crashes: the timeout is kubectl's)
# (one retry when the API server's exec proxy could not reach the kubelet
# port: a TLS handshake with a freshly started agent failed once in CI
# runs, "TLS with the backend failed"; the datapath is what is tested here)
get1() { timeout 20 ip netns exec $NS "$KUBECTL" exec "$1" -- wget -qO- "$2" 2>&1; }
get() {
    out1=$(get1 "$@")
    case $out1 in *"(ServiceUnavailable)"*) echo "# retried: $out1" >&2; get1 "$@" ;; *) printf '%s\n' "$out1" ;; esac
}
# pyget NETNS URL N: N GETs from a namespace, one body line each
pyget() {
    timeout 60 ip netns exec $1 /usr/bin/python3 -c '
import sys, urllib.request
for _ in range(int(sys.argv[2])):
    try:
        print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode().strip())
    except Exception as e:
        print("error: %s" % e)' "$2" $3 2>&1
}
answers_only() { # answers_only POD URL WANT N: N GETs, every answer starts with WANT
    i=0
    while [ $i -lt $4 ]; do
        o=$(get "$1" "$2"); case $o in "$3 "*) ;; *) echo "answer $i: $o"; return 1 ;; esac
        i=$((i + 1))
    done
}
ns_answers_only() { # ns_answers_only NETNS VIP WANT: 20 GETs from a node's namespace
    o=$(pyget $1 http://$2/cgi-bin/ip 20)
    [ -n "$o" ] && [ -z "$(echo "$o" | grep -v "^$3 ")" ]
}

cleanup() {
    if [ -n "$kubed_pid" ]; then
        K delete pods --all --grace-period=1 --wait=false >/dev/null 2>&1
        wait_until 60 no_pods || echo "pods left: $(K get pods -o wide 2>&1)"
    fi
    if [ -n "$a_pid" ]; then kill -TERM $a_pid 2>/dev/null; wait $a_pid 2>/dev/null; a_pid=""; fi
    if [ -n "$b_pid" ]; then kill -TERM $b_pid 2>/dev/null; wait $b_pid 2>/dev/null; b_pid=""; fi
    [ -n "$out_pid" ] && kill $out_pid 2>/dev/null
    stop_kubed TERM
    sD=$D sRT=$RT sCG=$CG sNS=$NS
    D=$A1 RT=$RT1 CG=$CG1 NS=$NS2
    out=$(leftovers) && ok "agent 1: nothing left behind" || bad "agent 1: nothing left behind" "$out"
    D=$A2 RT=$RT2 CG=$CG2 NS=$NS3
    out=$(leftovers) && ok "agent 2: nothing left behind" || bad "agent 2: nothing left behind" "$out"
    D=$sD RT=$sRT CG=$sCG NS=$sNS
    remove_cgroups $CG1; remove_cgroups $CG2
    rm -rf "$RT1" "$RT2"
    ip netns del $NS2 2>/dev/null
    ip netns del $NS3 2>/dev/null
    ip netns del $NSO 2>/dev/null
    ip netns del $NSB 2>/dev/null
    [ $fail -ne 0 ] && for f in agent agent2; do echo "--- $f log (last 30 lines) ---"; grep -v DEBUG "$tmp/$f.log" | tail -30; done
    finish
}
trap 'cleanup; exit $?' EXIT INT TERM

# ---- the machine: a bridge namespace, three namespaces on it ----
ip netns add $NSB && ip -n $NSB link set lo up &&
    ip -n $NSB link add br0 type bridge && ip -n $NSB link set br0 up || { bad "bridge namespace"; exit 1; }
join() { # join NETNS ADDR PORTNAME: eth0 in NETNS on the bridge
    ip netns list | grep -qw "$1" || ip netns add $1
    ip -n $1 link set lo up
    ip -n $1 link add eth0 type veth peer name $3 &&
        ip -n $1 link set $3 netns $NSB &&
        ip -n $NSB link set $3 master br0 up &&
        ip -n $1 addr add $2/24 dev eth0 && ip -n $1 link set eth0 up
}
join $NS $IP1 p1 && join $NS2 $IP2 p2 && join $NS3 $IP3 p3 && join $NSO $OUT_IP po || { bad "veths"; exit 1; }
ok "node namespaces on one bridge ($IP1, $IP2, $IP3, outside $OUT_IP)"
load_images || { bad "images (server)"; exit 1; }
sD=$D; D=$A1
load_images || { D=$sD; bad "images (agent 1)"; exit 1; }
D=$A2
load_images || { D=$sD; bad "images (agent 2)"; exit 1; }
D=$sD

nsenter --net=/run/netns/$NS "$KUBED" server --data-dir "$D" \
    --listen tcp:$IP1:0 --listen unix:$tmp/kubed.sock \
    --node-name $NODE --node-ip $IP1 --pod-cidr $CIDR1 \
    --cluster-cidr $CL --node-cidr-mask-size 26 --service-cidr $SVC \
    --dns-upstream none --cni-bridge $BR --cgroup-parent $CG --runtime-root $RT \
    --proxy-mode $MODE >>"$tmp/kubed.log" 2>&1 &
kubed_pid=$!
wait_until 20 server_url && wait_until 30 node_ready && ok "kubed server with node $NODE at $url" ||
    { bad "server" "$(tail -20 $tmp/kubed.log)"; exit 1; }
nsenter --net=/run/netns/$NS2 "$KUBED" agent --data-dir "$A1" \
    --server "$url" --token "$(cat "$D/join-token")" --certificate-authority "$D/ca.crt" \
    --node-name $N1 --node-ip $IP2 --pod-cidr $CIDR2 --cni-bridge $BR1 \
    --cgroup-parent $CG1 --runtime-root $RT1 --kubelet-listen $IP2:10250 \
    --proxy-mode $MODE >>"$tmp/agent.log" 2>&1 &
a_pid=$!
nsenter --net=/run/netns/$NS3 "$KUBED" agent --data-dir "$A2" \
    --server "$url" --token "$(cat "$D/join-token")" --certificate-authority "$D/ca.crt" \
    --node-name $N2 --node-ip $IP3 --pod-cidr $CIDR3 --cni-bridge $BR2 \
    --cgroup-parent $CG2 --runtime-root $RT2 --kubelet-listen $IP3:10250 \
    --proxy-mode $MODE >>"$tmp/agent2.log" 2>&1 &
b_pid=$!
wait_until 60 ready $N1 && ok "kubed agent: node $N1 Ready" || bad "agent Ready" "$(tail -20 $tmp/agent.log)"
wait_until 60 ready $N2 && ok "kubed agent: node $N2 Ready" || bad "agent 2 Ready" "$(tail -20 $tmp/agent2.log)"

# ---- what the nodes learn: ConfigMap libkube-cluster ----
routes_published() {
    r=$(K get configmap -n kube-system libkube-cluster -o 'jsonpath={.data.podRoutes}' 2>/dev/null)
    echo "$r" | grep -qx "$NODE $CIDR1 $IP1" && echo "$r" | grep -qx "$N1 $CIDR2 $IP2" &&
        echo "$r" | grep -qx "$N2 $CIDR3 $IP3"
}
wait_until 20 routes_published && ok "podRoutes: the three Nodes' pod CIDR and address" ||
    bad "podRoutes" "$(K get configmap -n kube-system libkube-cluster -o yaml 2>&1)"
K create configmap other -n kube-system --from-literal=x=y >/dev/null 2>&1
out=$(NK get configmap -n kube-system libkube-cluster -o 'jsonpath={.data.serviceCIDR}' 2>&1)
[ "$out" = "$SVC" ] && ok "the node may read ConfigMap kube-system/libkube-cluster" || bad "node reads settings" "$out"
out=$(NK get configmap -n kube-system other 2>&1)
echo "$out" | grep -q "Forbidden\|forbidden" && ok "the node may not read another ConfigMap of kube-system" || bad "node reads other" "$out"
out=$(NK get node $NODE 2>&1)
echo "$out" | grep -q "only its own Node object" && ok "the node still may not read the other Node" || bad "node reads node" "$out"

# ---- routes and masquerade ----
wait_until 20 route_via $NS $CIDR2 $IP2 && ok "server's node: $CIDR2 via $IP2" || bad "server route" "$(ip -n $NS route)"
wait_until 20 route_via $NS2 $CIDR1 $IP1 && ok "agent's node: $CIDR1 via $IP1" || bad "agent route" "$(ip -n $NS2 route)"
wait_until 20 route_via $NS $CIDR3 $IP3 && route_via $NS2 $CIDR3 $IP3 &&
    route_via $NS3 $CIDR1 $IP1 && route_via $NS3 $CIDR2 $IP2 &&
    ok "agent 2: routes to both others, and both others to its $CIDR3" || bad "agent 2 routes" "$(ip -n $NS3 route)" "$(ip -n $NS2 route)"
masq_rules $NS2 | grep -q -- "-s $CIDR2 ! -d $CL -j MASQUERADE" &&
    masq_rules $NS | grep -q -- "-s $CIDR1 ! -d $CL -j MASQUERADE" &&
    ok "masquerade only leaving $CL, on both nodes" || bad "masquerade" "$(masq_rules $NS)" "$(masq_rules $NS2)"

# ---- each node's programs (or table), scoped to it ----
wait_until 20 sh -c "grep -q 'service load balancing for' $tmp/agent.log"
mode_of() { [ "$(jp node/$1 '{.metadata.annotations.libkube\.io/proxy-mode}')" = $MODE ]; }
wait_until 20 mode_of $NODE && wait_until 20 mode_of $N1 && wait_until 20 mode_of $N2 &&
    ok "the three Nodes' annotation libkube.io/proxy-mode: $MODE" ||
    bad "proxy-mode annotations" "$(K get nodes -o yaml 2>&1 | grep proxy-mode)"
if [ $MODE = ebpf ]; then
ids1=$(prog_ids $tmp/kubed.log); ids2=$(prog_ids $tmp/agent.log)
[ -n "$ids1" ] && [ -n "$ids2" ] && attached $ids1 $ids2 &&
    grep -q "for this network namespace and cgroup $CG1" $tmp/agent.log &&
    grep -q "for this network namespace and cgroup $CG\$" $tmp/kubed.log &&
    ok "both nodes' programs at $CGROOT, each scoped to its namespace and cgroup parent" ||
    bad "programs" "server: $ids1 agent: $ids2" "$(grep -i 'service load bal' $tmp/kubed.log $tmp/agent.log)"
else
T1=$(nft_table $tmp/kubed.log); T2=$(nft_table $tmp/agent.log)
[ -n "$T1" ] && [ -n "$T2" ] && [ "$T1" != "$T2" ] && has_table $NS $T1 && has_table $NS2 $T2 &&
    ! has_table $NS $T2 && ! has_table $NS2 $T1 &&
    ok "each node's nftables table in its own namespace ($T1, $T2)" ||
    bad "tables" "server: $T1 agent: $T2" "$(grep -i 'nftables' $tmp/kubed.log $tmp/agent.log)"
fi

# ---- pods on both nodes ----
# (httpd says REMOTE_ADDR=[::ffff:A.B.C.D])
K create configmap cgi --from-literal=ip='#!/bin/sh
echo Content-Type: text/plain
echo
a=${REMOTE_ADDR#\[::ffff:}
echo "$(hostname) ${a%\]}"' >/dev/null
pod() { # pod NAME NODE LABELS COMMAND
    apply "apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {$3}}
spec:
  nodeName: $2
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:1.35.0
    command: [sh, -c, '$4']
    volumeMounts: [{name: cgi, mountPath: /www/cgi-bin}]
  volumes: [{name: cgi, configMap: {name: cgi, defaultMode: 0755}}]"
}
pod web-s $NODE "app: web, side: s" "exec httpd -f -p 8080 -h /www"
pod web-a $N1 "app: web, side: a" "exec httpd -f -p 8080 -h /www"
pod client-s $NODE "role: client" "exec sleep 3600"
pod client-a $N1 "role: client" "exec sleep 3600"
pod web-b $N2 "app: other" "exec httpd -f -p 8080 -h /www"
for p in web-s web-a client-s client-a web-b; do
    wait_until 60 running $p || bad "$p Running" "$(K get pod $p -o wide 2>&1)" "$(events_of $p)"
done
ws=$(jp pod/web-s '{.status.podIP}'); wa=$(jp pod/web-a '{.status.podIP}')
cs=$(jp pod/client-s '{.status.podIP}'); ca=$(jp pod/client-a '{.status.podIP}')
case "$ws $cs" in 10.$o2.$o3.*" "10.$o2.$o3.*) ;; *) bad "server pod IPs" "$ws $cs" ;; esac
echo "# pods: web-s $ws, client-s $cs (node $NODE); web-a $wa, client-a $ca (node $N1)"

# ---- pod to pod across nodes: the pod's own address ----
out=$(get client-a http://$ws:8080/cgi-bin/ip)
[ "$out" = "web-s $ca" ] && ok "client-a ($N1) -> web-s ($NODE) by pod IP, seen from $ca" || bad "agent pod -> server pod" "$out"
out=$(get client-s http://$wa:8080/cgi-bin/ip)
[ "$out" = "web-a $cs" ] && ok "client-s ($NODE) -> web-a ($N1) by pod IP, seen from $cs" || bad "server pod -> agent pod" "$out"
wb=$(jp pod/web-b '{.status.podIP}')
out=$(get client-a http://$wb:8080/cgi-bin/ip)
[ "$out" = "web-b $ca" ] && ok "client-a ($N1) -> web-b ($N2, $wb) by pod IP across agents, seen from $ca" || bad "agent pod -> agent pod" "$out"

# ---- NetworkPolicy enforced on an agent's node ----
# An agent (system:node:NAME) lists every pod, namespace and policy
# through ClusterRole system:libkube:node-network-policy (bound to
# system:nodes); the Node authorizer still refuses the rest.
out=$(NK get pods -A -o name 2>&1); out2=$(NK get networkpolicies -A 2>&1)
echo "$out" | grep -qx pod/web-s && ! echo "$out2" | grep -qi forbidden &&
    ok "the node lists every pod and NetworkPolicy (system:libkube:node-network-policy)" || bad "node lists pods, policies" "$out" "$out2"
out=$(NK get secrets -A 2>&1)
echo "$out" | grep -qi forbidden && ok "the node still may not list Secrets" || bad "node lists secrets" "$out"
grep -q "not enforced" $tmp/agent.log $tmp/agent2.log && bad "agents enforce policies" "$(grep 'not enforced' $tmp/agent.log $tmp/agent2.log)" ||
    ok "both agents enforce NetworkPolicy (no 'not enforced' in their logs)"
np_apply() { printf 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: %s}\nspec:\n%s\n' "$1" "$2" | K apply -f - >/dev/null; }
reaches() { [ "$(get $1 http://$wb:8080/cgi-bin/ip)" = "web-b $2" ]; }
veths3() { ip -n $NS3 -o link show master $BR2 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//'; }
# blocked POD: no answer from web-b within 3 s (a dropped SYN), or refused
blocked() {
    o=$(timeout 20 ip netns exec $NS "$KUBECTL" exec $1 -- sh -c \
        "wget -qO- http://$wb:8080/cgi-bin/ip & p=\$!; sleep 3; kill \$p 2>/dev/null && echo timed-out; wait" 2>&1)
    case $o in *web-b*) return 1 ;; *timed-out*|*"wget: "*) return 0 ;; esac; return 1
}
np_apply deny-b '  podSelector: {matchLabels: {app: other}}
  policyTypes: [Ingress]'
wait_until 30 blocked client-a && blocked client-s &&
    ok "default-deny ingress on web-b ($N2): client-a ($N1) and client-s ($NODE) cut off" ||
    bad "deny on agent" "$(get client-a http://$wb:8080/cgi-bin/ip)" "$(for v in $(veths3); do ip netns exec $NS3 tc filter show dev $v ingress; done 2>&1)"
K label pod client-a np=allowed >/dev/null
np_apply allow-a '  podSelector: {matchLabels: {app: other}}
  policyTypes: [Ingress]
  ingress: [{from: [{podSelector: {matchLabels: {np: allowed}}}]}]'
wait_until 30 reaches client-a $ca && ok "allow by podSelector np=allowed: client-a ($N1) reaches web-b ($N2) again" ||
    bad "allow on agent" "$(get client-a http://$wb:8080/cgi-bin/ip)"
blocked client-s && ok "client-s ($NODE), not selected, stays cut off from web-b" || bad "unselected peer" "$(get client-s http://$wb:8080/cgi-bin/ip)"
np_ids=$(for v in $(veths3); do ip netns exec $NS3 tc filter show dev $v ingress; ip netns exec $NS3 tc filter show dev $v egress; done 2>/dev/null |
    sed -n 's/.* id \([0-9]*\).*/\1/p' | sort -u)
[ -n "$np_ids" ] && ok "agent $N2: policy programs on its pods' veths (ids $(echo $np_ids))" || bad "agent policy programs"
K delete networkpolicy deny-b allow-a >/dev/null 2>&1
wait_until 30 reaches client-s $cs && ok "policies deleted: client-s ($NODE) reaches web-b ($N2) again" ||
    bad "access after delete" "$(get client-s http://$wb:8080/cgi-bin/ip)"

# ---- leaving the cluster CIDR: the node's address ----
IN3() { ip netns exec $NSO "$@"; }
IN3 /usr/bin/python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(s):
        b = ("out " + s.client_address[0] + "\n").encode()
        s.send_response(200); s.send_header("Content-Length", str(len(b))); s.end_headers(); s.wfile.write(b)
    def log_message(s, *a): pass
http.server.HTTPServer((sys.argv[1], 8000), H).serve_forever()' $OUT_IP >/dev/null 2>&1 &
out_pid=$!
wait_until 10 sh -c "ip netns exec $NSO /usr/bin/python3 -c 'import socket; socket.create_connection((\"$OUT_IP\", 8000), 1)'"
out=$(get client-a http://$OUT_IP:8000/)
[ "$out" = "out $IP2" ] && ok "client-a -> outside $OUT_IP: masqueraded to the node's $IP2" || bad "masquerade out" "$out"

# ---- a ClusterIP from the agent's pod to the server's node ----
apply "apiVersion: v1
kind: Service
metadata: {name: srv}
spec:
  selector: {side: s}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: local}
spec:
  selector: {app: web}
  internalTrafficPolicy: Local
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: np}
spec:
  type: NodePort
  selector: {side: s}
  ports: [{port: 80, targetPort: 8080}]"
VIP=$(jp svc/srv '{.spec.clusterIP}'); LVIP=$(jp svc/local '{.spec.clusterIP}'); NP=$(jp svc/np '{.spec.ports[0].nodePort}')
vip_up() { get $1 http://$2/cgi-bin/ip | grep -q "^$3 "; }
wait_until 30 vip_up client-a $VIP web-s
out=$(get client-a http://$VIP/cgi-bin/ip)
[ "$out" = "web-s $ca" ] && ok "client-a ($N1) -> ClusterIP $VIP -> web-s ($NODE), seen from $ca" || bad "agent pod -> VIP" "$out" "$(grep -i 'proxy\|svclb\|balanc' $tmp/agent.log | tail -5)"

# the cluster DNS (on the server's node) through its VIP, from the
# agent's pod: the address from the cluster settings, UDP translated by
# the agent's programs
out=$(timeout 20 ip netns exec $NS "$KUBECTL" exec client-a -- cat /etc/resolv.conf 2>&1)
echo "$out" | grep -qx "nameserver ${SVC%.0/24}.10" && ok "client-a's resolv.conf: the cluster's DNS ${SVC%.0/24}.10 (from libkube-cluster)" ||
    bad "agent pod resolv.conf" "$out"
out=$(timeout 20 ip netns exec $NS "$KUBECTL" exec client-a -- nslookup srv.default.svc.cluster.local 2>&1)
echo "$out" | grep -q "Address.*$VIP" && ok "client-a resolves srv.default.svc.cluster.local to $VIP through the DNS VIP (served on $NODE)" ||
    bad "DNS from the agent's pod" "$out"

# internalTrafficPolicy Local: each node's own endpoint, so each node
# translated its own clients' sockets (and nobody's twice)
wait_until 30 vip_up client-s $LVIP web-s
out=$(answers_only client-a http://$LVIP/cgi-bin/ip web-a 8) && ok "internalTrafficPolicy Local from client-a: web-a only (the agent translated)" ||
    bad "local from agent pod" "$out"
out=$(answers_only client-s http://$LVIP/cgi-bin/ip web-s 8) && ok "internalTrafficPolicy Local from client-s: web-s only (the server's node translated)" ||
    bad "local from server pod" "$out"
ns_answers_only $NS2 $LVIP web-a && ok "internalTrafficPolicy Local from $N1's namespace: web-a only" ||
    bad "local from agent ns" "$(pyget $NS2 http://$LVIP/cgi-bin/ip 3)"
ns_answers_only $NS $LVIP web-s && ok "internalTrafficPolicy Local from $NODE's namespace: web-s only" ||
    bad "local from server ns" "$(pyget $NS http://$LVIP/cgi-bin/ip 3)"

# ---- NodePort on the agent's address from outside, endpoint on the server's node ----
np_out() { pyget $NSO http://$IP2:$NP/cgi-bin/ip 1 | grep -q "^web-s "; }
wait_until 30 np_out
out=$(pyget $NSO http://$IP2:$NP/cgi-bin/ip 10)
[ -n "$out" ] && [ -z "$(echo "$out" | grep -vx "web-s $IP2")" ] &&
    ok "outside -> NodePort $IP2:$NP -> web-s on $NODE (masqueraded by $N1)" ||
    bad "NodePort on agent" "$out" "$(IN2 iptables -t nat -S 2>&1 | grep -i 'KUBE')"

# ---- another node's DNAT in the agent's namespace is not the agent's ----
# Nodes side by side may share a namespace: stand-in for another node, a
# second address of $NS2 with a node-port DNAT rule of the test's own to
# web-s.  The agent's masquerade rule for DNATed traffic counts (kernel
# counters) its own NodePort connection and not the other node's.
IP2B=${NODE_IP%.2}.5
MASQ=$(IN2 iptables -t nat -S 2>/dev/null | sed -n 's/^-N \(KUBE-MASQ-[A-Z0-9]*\)$/\1/p' | head -1)
masq_dnat() { IN2 iptables -t nat -L "$MASQ" -v -x -n 2>/dev/null | awk '/ctstate DNAT/ {print $1}'; }
connect_out() { IN3 /usr/bin/python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 2).close()' "$@" 2>/dev/null; }
IN2 ip addr add $IP2B/24 dev eth0 && IN2 iptables -t nat -N TEST-OTHER-NODE &&
    IN2 iptables -t nat -A TEST-OTHER-NODE -d $IP2B/32 -p tcp --dport $NP -j DNAT --to-destination $ws:8080 &&
    IN2 iptables -t nat -I PREROUTING 1 -j TEST-OTHER-NODE || bad "the other node's DNAT rule"
c0=$(masq_dnat)
connect_out $IP2B $NP # not masqueraded: web-s answers the client directly, which refuses it
c1=$(masq_dnat)
connect_out $IP2 $NP
c2=$(masq_dnat)
[ -n "$c0" ] && [ "$c1" = "$c0" ] && [ "$c2" -gt "$c1" ] &&
    ok "$N1 masquerades its own NodePort's DNAT ($c1 -> $c2 connections), not another node's in its namespace ($IP2B)" ||
    bad "masquerade scoped to the node's DNAT" "counts $c0 $c1 $c2" "$(IN2 iptables -t nat -S $MASQ 2>&1)"
IN2 iptables -t nat -D PREROUTING -j TEST-OTHER-NODE; IN2 iptables -t nat -F TEST-OTHER-NODE
IN2 iptables -t nat -X TEST-OTHER-NODE; IN2 ip addr del $IP2B/24 dev eth0

# ---- the settings change while the agents run: their service proxies follow ----
range0=$(K get configmap -n kube-system libkube-cluster -o 'jsonpath={.data.serviceNodePortRange}' 2>/dev/null)
K -n kube-system patch configmap libkube-cluster --type merge -p "{\"data\":{\"serviceNodePortRange\":\"$NP-$NP\"}}" >/dev/null
if [ $MODE = ebpf ]; then
new_progs() { i=$(prog_ids $tmp/agent.log); [ -n "$i" ] && [ "$i" != "$ids2" ]; }
wait_until 30 new_progs && grep -q "node ports now $SVC $NP-$NP (were $SVC $range0)" $tmp/agent.log &&
    ids3=$(prog_ids $tmp/agent.log) && attached $ids3 && wait_until 10 detached $ids2 &&
    ok "serviceNodePortRange edited to $NP-$NP: $N1's proxy started again (programs $ids2 -> $ids3)" ||
    bad "settings change" "$(grep -i 'proxy\|node ports' $tmp/agent.log | tail -5)"
else
# (the table is made again under its name: a second "nftables table" line)
table_again() { [ "$(grep -c "nftables table ip $T2" $tmp/agent.log)" -ge 2 ]; }
wait_until 30 table_again && grep -q "node ports now $SVC $NP-$NP (were $SVC $range0)" $tmp/agent.log &&
    wait_until 10 has_table $NS2 $T2 &&
    ok "serviceNodePortRange edited to $NP-$NP: $N1's proxy started again (table $T2 made again)" ||
    bad "settings change" "$(grep -i 'proxy\|node ports' $tmp/agent.log | tail -5)"
fi
wait_until 30 np_out && out=$(get client-a http://$VIP/cgi-bin/ip) && [ "$out" = "web-s $ca" ] &&
    ok "after it: NodePort $IP2:$NP from outside and ClusterIP $VIP from client-a answer" ||
    bad "services after the settings change" "$out" "$(pyget $NSO http://$IP2:$NP/cgi-bin/ip 1)"
ids2=$(prog_ids $tmp/agent.log)

# ---- the agent stops: its routes, chains and programs go ----
K delete pod web-a client-a --grace-period=1 >/dev/null 2>&1
wait_until 30 sh -c "[ -z \"\$(ls $A1/pods 2>/dev/null)\" ]"
kill -TERM $a_pid; wait $a_pid; rc=$?; a_pid=""
[ $rc = 0 ] && ok "agent stopped (exit 0)" || bad "agent exit" "rc=$rc"
no_route $NS2 $CIDR1 && ok "agent stopped: its route to $CIDR1 is gone" || bad "agent route left" "$(ip -n $NS2 route)"
[ -z "$(IN2 iptables -t nat -S 2>/dev/null | grep 'KUBE-MASQ\|KUBE-NP')" ] && ok "agent stopped: its nat chains are gone" ||
    bad "agent chains left" "$(IN2 iptables -t nat -S 2>&1)"
[ -z "$(ip -n $NS2 route show type unreachable)" ] && [ -z "$(ip -n $NS2 route show $SVC)" ] &&
    ok "agent stopped: its route of $SVC is gone" || bad "agent service route" "$(ip -n $NS2 route)"
if [ $MODE = ebpf ]; then
wait_until 10 detached $ids2 && ok "agent stopped: its programs are gone" || bad "agent programs" "$(bpftool cgroup show $CGROOT)"
attached $ids1 && ok "the server's node's programs stay" || bad "server programs after agent stop"
else
! has_table $NS2 $T2 && ok "agent stopped: its table $T2 is gone" || bad "agent table" "$(IN2 nft list tables 2>&1)"
has_table $NS $T1 && ok "the server's node's table stays" || bad "server table after agent stop"
fi

# ---- the Node goes: the server's node drops its route ----
K delete node $N1 >/dev/null 2>&1
wait_until 20 no_route $NS $CIDR2 && ok "Node $N1 deleted: the server's route to $CIDR2 is gone" || bad "route after node delete" "$(ip -n $NS route)"

# ---- agent 2 stops (its Node stays): its routes go, the others' stay ----
K delete pod web-b --grace-period=1 >/dev/null 2>&1
wait_until 30 sh -c "[ -z \"\$(ls $A2/pods 2>/dev/null)\" ]"
kill -TERM $b_pid; wait $b_pid; rc=$?; b_pid=""
[ $rc = 0 ] && no_route $NS3 $CIDR1 && no_route $NS3 $CIDR2 &&
    [ -z "$(ip netns exec $NS3 iptables -t nat -S 2>/dev/null | grep 'KUBE-MASQ\|KUBE-NP')" ] &&
    ok "agent 2 stopped: its routes and chains are gone" || bad "agent 2 stop" "rc=$rc" "$(ip -n $NS3 route)"
np_gone() { for i in $np_ids; do bpftool prog show id $i >/dev/null 2>&1 && return 1; done; return 0; }
[ -n "$np_ids" ] && wait_until 10 np_gone && ok "agent 2 stopped: its policy programs are gone" || bad "agent 2 policy programs" "$np_ids"
route_via $NS $CIDR3 $IP3 && ok "the server's node keeps its route to $CIDR3 (the Node is still there)" || bad "server route to agent 2"

# ---- the server stops ----
K delete pods --all --grace-period=1 --wait=false >/dev/null 2>&1
wait_until 60 no_pods
stop_kubed TERM
if [ $MODE = ebpf ]; then
wait_until 10 detached $ids1 && ok "server stopped: its programs are gone" || bad "server programs" "$(bpftool cgroup show $CGROOT)"
else
! has_table $NS $T1 && [ -z "$(ip -n $NS route show $SVC)" ] && ok "server stopped: its table $T1 and route of $SVC are gone" ||
    bad "server table" "$(IN nft list tables 2>&1)" "$(ip -n $NS route)"
fi
no_route $NS $CIDR3 && ok "server stopped: its route to $CIDR3 is gone" || bad "server route left" "$(ip -n $NS route)"
[ -z "$(IN iptables -t nat -S 2>/dev/null | grep 'KUBE-MASQ\|KUBE-NP')" ] && ok "server stopped: its nat chains are gone" ||
    bad "server chains left" "$(IN iptables -t nat -S 2>&1)"
