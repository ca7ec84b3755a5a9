#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# NetworkPolicy enforced by the node's eBPF tc programs, end to end (root):
# kubed with its node in a network namespace of the test's own, busybox
# pods in three namespaces (one labelled team=trusted), real connections
# (wget from `kubectl 1.32 exec`, nslookup over UDP) and policies created
# with kubectl 1.32:
#   - default deny ingress: nobody reaches the web pod, the node still
#     does (probes: the pod stays Ready), replies to the pods' own
#     connections pass (stateful); a TCP connection established before
#     the policy (sink connected to ticker, which sends a line a second)
#     stops carrying data, and carries it again once a policy allows it;
#   - a podSelector peer with a named port: that client reaches port 8080
#     and not 9090; other pods and other namespaces still cannot;
#   - a namespaceSelector peer with a port range (endPort);
#   - an ipBlock with an except;
#   - egress deny: no connections, no DNS; allowing UDP 53 to the node
#     brings name resolution back and nothing else; a pod created under
#     the policy is held from its first connection;
#   - policies removed: everything reaches everything again;
#   - kubed stopped with its pods running: the programs leave every veth;
#     started again: they come back and the policies hold;
#   - a port of another bridge (another node's) is never touched.
#   test-netpol.sh KUBED KUBE SOURCE_ROOT
set -u
KUBED=$1; KUBE=$2; SRC=$3; shift 3
. "$SRC/tests/privileged/node/lib.sh"
[ -x "$KUBECTL" ] || skip "kubectl 1.32 missing ($KUBECTL)"
command -v tc >/dev/null || skip "tc missing (iproute2)"
command -v bpftool >/dev/null || skip "bpftool missing (apt-get install bpftool)"
SVC_CIDR=172.22.$o3.0/24
DNS_IP=${SVC_CIDR%.0/24}.10

# finish deletes the default namespace's pods; the others' go first.
no_pods_in() { out=$(K -n $1 get pods -o name 2>&1) && [ -z "$out" ]; }
cleanup() {
    if [ -n "$kubed_pid" ]; then
        for ns in trusted plain; do K -n $ns delete pods --all --grace-period=1 --wait=false >/dev/null 2>&1; done
        for ns in trusted plain; do wait_until 60 no_pods_in $ns; done
    fi
    finish
}
trap 'cleanup; exit $?' EXIT INT TERM

# can NS POD IP PORT: an HTTP GET from the pod gets the page ("ok").
# (busybox 1.35's wget -T crashes: `timeout` ends a connect that hangs)
can() { out=$(KC -n $1 exec $2 -- timeout 3 wget -qO- http://$3:$4/ 2>/dev/null) && [ "$out" = ok ]; }
cannot() { ! can "$@"; }
# resolves NS POD: the pod's nslookup of a Service name gets an answer.
resolves() { KC -n $1 exec $2 -- nslookup -timeout=2 kubernetes.default.svc.cluster.local $DNS_IP 2>/dev/null | grep -q "^Address.*${SVC_CIDR%.0/24}.1$"; }
ip_of() { K -n $1 get pod $2 -o 'jsonpath={.status.podIP}' 2>/dev/null; }
ready() { [ "$(K get pod $1 -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; }
# policy NAME SPEC: kubectl 1.32 applies NetworkPolicy NAME (namespace
# default) with that spec (YAML lines indented by two).
policy() {
    printf 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: %s, namespace: default}\nspec:\n%s\n' "$1" "$2" |
        KC apply -f - >/dev/null
}
# The veths on the node's bridge, and the ids of the programs on them.
veths() { IN ip -o link show master $BR 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//'; }
prog_ids() { for v in $(veths); do IN tc filter show dev $v $1; done 2>/dev/null | sed -n 's/.* id \([0-9]*\).*/\1/p' | sort -u; }
all_attached() { n=0; for v in $(veths); do n=$((n + 1)); IN tc filter show dev $v ingress | grep -q 'kube_np_from_po' || return 1; IN tc filter show dev $v egress | grep -q kube_np_to_pod || return 1; done; [ $n -ge 6 ]; }
none_attached() { for v in $(veths); do [ -z "$(IN tc filter show dev $v ingress)$(IN tc filter show dev $v egress)" ] || return 1; done; }
progs_gone() { for i in "$@"; do bpftool prog show id $i >/dev/null 2>&1 && return 1; done; return 0; }

setup_netns || { bad "netns"; exit 1; }
# A bridge of someone else's beside the node's, with a port: never touched.
IN ip link add ${BR}x type bridge && IN ip link add npx0 type veth peer name npx1 &&
    IN ip link set npx0 master ${BR}x && IN ip link set npx0 up && IN ip link set ${BR}x up
load_images || { bad "images"; exit 1; }
start_kubed --service-cidr $SVC_CIDR &&
    ok "kubed Ready" || { bad "kubed Ready" "$(tail -30 $tmp/kubed.log)"; exit 1; }
grep -q "network policies enforced by eBPF" $tmp/kubed.log &&
    ok "the node enforces network policies with eBPF" || bad "datapath" "$(grep -i polic $tmp/kubed.log | tail -5)"

K create namespace trusted >/dev/null && K label namespace trusted team=trusted >/dev/null
K create namespace plain >/dev/null
server() { # server NS NAME LABELS: httpd on 8080 (named http) and 9090 (alt)
    apply "apiVersion: v1
kind: Pod
metadata: {name: $2, namespace: $1, labels: {$3}}
spec:
  containers:
  - name: web
    image: busybox:1.35.0
    command: [sh, -c, 'mkdir -p /www && echo ok > /www/index.html && httpd -p 9090 -h /www && exec httpd -f -p 8080 -h /www']
    ports: [{name: http, containerPort: 8080}, {name: alt, containerPort: 9090}]
    readinessProbe: {httpGet: {port: 8080}, periodSeconds: 1}"
}
client() { # client NS NAME LABELS
    apply "apiVersion: v1
kind: Pod
metadata: {name: $2, namespace: $1, labels: {$3}}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: busybox:1.35.0, command: [sleep, '3600']}]"
}
server default web "app: web"
apply "apiVersion: v1
kind: Pod
metadata: {name: ticker, labels: {app: ticker}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:1.35.0
    command: [nc, -l, -p, '7000', -e, sh, -c, 'i=0; while :; do i=\$((i + 1)); echo tick-\$i; sleep 1; done']"
server plain pweb "app: pweb"
client default client "role: client"
client default other "role: other"
client trusted tclient "role: client"
client plain pclient "role: client"
running_in() { [ "$(K -n $1 get pod $2 -o 'jsonpath={.status.phase}' 2>/dev/null)" = Running ]; }
for p in default/web default/ticker plain/pweb default/client default/other trusted/tclient plain/pclient; do
    wait_until 60 running_in ${p%/*} ${p#*/} || bad "pod $p Running" "$(K get pods -A -o wide 2>&1)"
done
# One long-lived connection: sink connects to ticker, which sends a line
# a second; sink's nc prints them (its log).
TICKER=$(ip_of default ticker)
apply "apiVersion: v1
kind: Pod
metadata: {name: sink, labels: {role: sink}}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: busybox:1.35.0, command: [nc, $TICKER, '7000']}]"
ticks() { podlog sink c | grep -c '^tick-'; }
# ticks_stopped: no line arrives for 4 s; ticks_flow: lines arrive.
ticks_stopped() { a=$(ticks); sleep 4; [ "$(ticks)" = "$a" ]; }
ticks_flow() { a=$(ticks); sleep 2; [ "$(ticks)" -gt "$a" ]; }
# tries N CMD...: CMD (which takes its own time) until it succeeds, N times at most.
tries() { k=$1; shift; while [ $k -gt 0 ]; do "$@" 2>/dev/null && return 0; k=$((k - 1)); done; return 1; }
WEB=$(ip_of default web); PWEB=$(ip_of plain pweb); OTHER=$(ip_of default other)
wait_until 30 ready web && wait_until 30 all_attached &&
    ok "8 pods Running (web $WEB, pweb $PWEB), the programs on all their veths" ||
    bad "setup" "$(K get pods -A -o wide 2>&1)" "$(for v in $(veths); do echo $v; IN tc filter show dev $v ingress; done)"

[ -z "$(IN tc filter show dev npx0 ingress)$(IN tc filter show dev npx0 egress)" ] &&
    ok "a port of another bridge in the same namespace gets no program" || bad "foreign port" "$(IN tc filter show dev npx0 ingress)"

# ---- no policy: everything reaches everything ----
can default client $WEB 8080 && can default other $WEB 9090 && can trusted tclient $WEB 8080 &&
    can plain pclient $WEB 8080 && can default client $PWEB 8080 &&
    ok "no policy: every pod reaches web and pweb" || bad "baseline"
resolves default client && ok "no policy: a pod resolves names over UDP" || bad "baseline DNS"
ticks_at_least() { [ "$(ticks)" -ge $1 ]; }
tries 30 ticks_flow && wait_until 30 ticks_at_least 3 &&
    ok "no policy: sink's connection to ticker ($TICKER:7000) carries a line a second" ||
    bad "ticker" "$(podlog sink c | tail -3)" "$(podlog ticker c | tail -3)"

# ---- default deny ingress ----
policy default-deny "  podSelector: {}
  policyTypes: [Ingress]"
[ "$(KC get netpol default-deny -o 'jsonpath={.spec.policyTypes}')" = '["Ingress"]' ] &&
    KC get netpol | grep -q '^default-deny *<none> ' &&
    ok "kubectl 1.32 created default-deny (get netpol: POD-SELECTOR <none>)" || bad "kubectl get netpol" "$(KC get netpol 2>&1)"
wait_until 20 cannot default client $WEB 8080 &&
    ok "default deny ingress: client cannot reach web" || bad "default deny" "$(tail -5 $tmp/kubed.log)"
cannot default other $WEB 9090 && cannot trusted tclient $WEB 8080 && cannot plain pclient $WEB 8080 &&
    ok "default deny ingress: nor can any other pod, from any namespace" || bad "default deny, other pods"
out=$(IN timeout 3 wget -qO- http://$WEB:8080/ 2>&1)
[ "$out" = ok ] && ok "the node still reaches the isolated pod" || bad "node to pod" "$out"
sleep 2
ready web && ok "web stays Ready (its readiness probe comes from the node)" || bad "probe under deny" "$(K get pod web -o yaml | tail -20)"
can default client $PWEB 8080 &&
    ok "stateful: client's own connection out gets its replies through its deny-all ingress" || bad "replies"
cannot plain pclient $(ip_of default client) 8080 && ok "(and nothing reaches client)" || bad "client isolated"
# Established before the policy: cut at its next packet, not kept until idle.
n=$(ticks)
tries 5 ticks_stopped && ticks_stopped &&
    ok "default deny ingress: sink's connection to ticker, established before, stops carrying data (after $n lines)" ||
    bad "established flow under deny" "$(podlog sink c | tail -3)"
policy allow-ticker "  podSelector: {matchLabels: {app: ticker}}
  ingress:
  - from: [{podSelector: {matchLabels: {role: sink}}}]"
# TCP retransmits what was held: the same connection goes on.
tries 30 ticks_flow && [ "$(podlog sink c | grep -c '^tick-1$')" = 1 ] &&
    [ "$(jp pod/sink '{.status.containerStatuses[0].restartCount}')" = 0 ] &&
    ok "allowed again: the same connection carries lines again ($(ticks) in all)" ||
    bad "established flow allowed again" "$(podlog sink c | tail -3)"
KC delete netpol allow-ticker >/dev/null

# ---- podSelector, named port ----
policy allow-client "  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {role: client}}}]
    ports: [{port: http}]"
wait_until 20 can default client $WEB 8080 &&
    ok "podSelector role=client, port http: client reaches web:8080" || bad "podSelector allow"
cannot default client $WEB 9090 && ok "port-limited: client cannot reach web:9090" || bad "port limit"
cannot default other $WEB 8080 && ok "podSelector: other (role=other) still cannot" || bad "podSelector, other"
cannot trusted tclient $WEB 8080 &&
    ok "podSelector alone means this namespace: trusted/tclient (role=client) cannot" || bad "podSelector, other namespace"

# ---- namespaceSelector, port range ----
policy allow-trusted "  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: trusted}}}]
    ports: [{protocol: TCP, port: 9000, endPort: 9100}]"
wait_until 20 can trusted tclient $WEB 9090 &&
    ok "namespaceSelector team=trusted, ports 9000-9100: tclient reaches web:9090" || bad "namespaceSelector allow"
cannot trusted tclient $WEB 8080 && ok "namespaceSelector: not port 8080" || bad "namespaceSelector port"
cannot plain pclient $WEB 9090 && ok "namespaceSelector: plain/pclient cannot" || bad "namespaceSelector, plain"

# ---- ipBlock with except ----
policy allow-block "  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{ipBlock: {cidr: $POD_CIDR, except: [$OTHER/32]}}]
    ports: [{port: 8080}]"
wait_until 20 can plain pclient $WEB 8080 &&
    ok "ipBlock $POD_CIDR: plain/pclient reaches web:8080" || bad "ipBlock allow"
cannot default other $WEB 8080 && ok "ipBlock except $OTHER/32: other still cannot" || bad "ipBlock except"
cannot plain pclient $WEB 9090 && ok "ipBlock: not port 9090" || bad "ipBlock port"

# kube prints what kubectl prints
same=1
for p in default-deny allow-client allow-trusted allow-block; do
    a=$(KC describe netpol $p 2>&1); b=$(K describe netpol $p 2>&1)
    [ "$a" = "$b" ] || { same=0; bad "kube describe netpol $p" "$a" "--- kube:" "$b"; }
done
[ $same = 1 ] && [ "$(KC get netpol 2>&1 | awk '{print $1, $2}')" = "$(K get netpol 2>&1 | awk '{print $1, $2}')" ] &&
    ok "kube get/describe netpol print what kubectl 1.32 prints" || bad "kube get netpol" "$(KC get netpol 2>&1)" "$(K get netpol 2>&1)"

# ---- egress ----
policy client-egress "  podSelector: {matchLabels: {role: client}}
  policyTypes: [Egress]"
wait_until 20 cannot default client $PWEB 8080 &&
    ok "egress deny: client cannot reach plain/pweb" || bad "egress deny"
cannot default client $WEB 8080 && ok "egress deny: nor web, which would let it in" || bad "egress deny, web"
resolves default client && bad "egress deny: DNS still answers" || ok "egress deny: no DNS either"
can default other $PWEB 8080 && ok "egress deny: other (not selected) still reaches pweb" || bad "egress, other"
policy client-egress "  podSelector: {matchLabels: {role: client}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: $NODE_IP/32}}]
    ports: [{protocol: UDP, port: 53}]"
wait_until 20 resolves default client &&
    ok "egress UDP 53 to the node allowed: client resolves names" || bad "egress DNS allow" "$(KC exec client -- nslookup -timeout=2 kubernetes.default.svc.cluster.local $DNS_IP 2>&1)"
cannot default client $PWEB 8080 && ok "egress: still nothing else" || bad "egress, rest"
# A pod created under the policy is held by it from its first instruction.
apply "apiVersion: v1
kind: Pod
metadata: {name: early, labels: {role: client}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:1.35.0
    command: [sh, -c, 'if timeout 3 wget -qO- http://$PWEB:8080/; then echo reached; else echo blocked; fi; sleep 3600']"
wait_until 40 log_has early c 'reached\|blocked'
podlog early c | grep -qx blocked && ! podlog early c | grep -qx reached &&
    ok "a new pod under the egress policy is blocked from its first connection" || bad "new pod" "$(podlog early c)"

# ---- removed ----
npol=$(KC get netpol -o name | wc -l)
KC delete netpol --all >/dev/null
wait_until 20 can default other $WEB 8080 && can default client $PWEB 8080 && can trusted tclient $WEB 8080 &&
    can plain pclient $WEB 9090 && can default client $WEB 9090 &&
    ok "$npol policies deleted: every pod reaches everything again" || bad "restore"

# ---- stop and start again ----
policy default-deny "  podSelector: {}
  policyTypes: [Ingress]"
wait_until 20 cannot default client $WEB 8080 || bad "deny before the restart"
ids=$(prog_ids ingress; prog_ids egress)
stop_kubed TERM
[ -n "$ids" ] && none_attached && progs_gone $ids &&
    ok "kubed stopped, pods running: no program left on any veth ($(echo $ids | wc -w) programs freed)" ||
    bad "stop cleanup" "ids: $ids" "$(for v in $(veths); do echo $v; IN tc filter show dev $v ingress; IN tc filter show dev $v egress; done)"
start_kubed --service-cidr $SVC_CIDR || bad "kubed restart" "$(tail -20 $tmp/kubed.log)"
wait_until 30 all_attached && wait_until 20 cannot default client $WEB 8080 && can default client $PWEB 8080 &&
    ok "started again: programs back on the veths, default-deny holds" || bad "after restart"
