#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Several nodes (root): one `kubed server --no-node` and two `kubed agent`s
# joined with the join token, all in a network namespace of the test's
# own, each agent with its own data directory, node name, node address,
# cgroup parent, runtime root, CNI bridge and pod CIDR.  Both Nodes go
# Ready with Leases; the agents read only what the Node authorizer lets
# them (their own pods, their own Node, one watch per configMap/Secret);
# a Deployment spreads over both and its pods run with a configMap volume
# and a Secret env; kubectl 1.32 get nodes -o wide; an agent restarted
# adopts its containers without restarting them and follows a configMap
# change; a bad join token fails with one line; each agent gets a kubelet
# serving certificate for its own address only.  Nothing may be left.
#   test-agent.sh KUBED KUBE SOURCE_ROOT
set -u
KUBED=$1; KUBE=$2; SRC=$3; shift 3
. "$SRC/tests/privileged/node/lib.sh"
[ -x "$KUBECTL" ] || skip "kubectl 1.32 missing ($KUBECTL)"

# Per agent: data dir, node name, address, cgroup parent, runtime root,
# bridge, pod CIDR.
A1=$tmp/agent1; A2=$tmp/agent2
N1=$NODE-a; N2=$NODE-b
IP1=$NODE_IP; IP2=${NODE_IP%.*}.3
CG1=$CG-a; CG2=$CG-b
RT1=$RT-a; RT2=$RT-b
BR1=${BR}a; BR2=${BR}b
CIDR1=10.$o2.$o3.0/25; CIDR2=10.$o2.$o3.128/25
a1_pid=""; a2_pid=""; url=""

server_url() { url=$(sed -n 's/^kubed: listening on \(https:[^ ]*\) .*/\1/p' "$tmp/kubed.log" | head -1); [ -n "$url" ]; }

start_server() {
    nsenter --net=/run/netns/$NS "$KUBED" server --no-node --data-dir "$D" \
        --listen tcp:127.0.0.1:0 --listen unix:$tmp/kubed.sock \
        --cluster-cidr 10.$o2.$o3.0/24 --node-cidr-mask-size 25 \
        >>"$tmp/kubed.log" 2>&1 &
    kubed_pid=$!
    wait_until 20 server_url && wait_until 20 K get ns default
}

# start_agent N [flags...]: agent N (1 or 2) in the namespace.
start_agent() {
    an=$1; shift
    eval "dir=\$A$an node=\$N$an ip=\$IP$an cg=\$CG$an rt=\$RT$an br=\$BR$an cidr=\$CIDR$an"
    nsenter --net=/run/netns/$NS "$KUBED" agent --data-dir "$dir" \
        --node-name "$node" --node-ip "$ip" --pod-cidr "$cidr" \
        --cni-bridge "$br" --cgroup-parent "$cg" --runtime-root "$rt" \
        --kubelet-listen "$ip:10250" "$@" \
        >>"$tmp/agent$an.log" 2>&1 &
    eval "a${an}_pid=$!"
}
join_flags() { echo --server "$url" --token "$(cat "$D/join-token")" --certificate-authority "$D/ca.crt"; }
stop_agent() { # stop_agent N: SIGTERM, wait; the exit code is left in $agent_rc
    eval "p=\$a${1}_pid"
    agent_rc=""
    [ -n "$p" ] || return 0
    kill -TERM "$p" 2>/dev/null
    wait "$p"; agent_rc=$?
    eval "a${1}_pid=''"
}
ready() { [ "$(K get node "$1" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; }
lease() { K get lease -n kube-node-lease "$1" -o 'jsonpath={.spec.renewTime}' 2>/dev/null | grep -q .; }
pods_of() { K get pods -l app=spread -o 'jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName} {.status.phase}{"\n"}{end}' 2>/dev/null; }
all_running() { [ "$(pods_of | grep -c ' Running$')" = 2 ]; }
pod_on() { pods_of | awk -v n="$1" '$2 == n {print $1}' | head -1; }
# agent_log N POD: the container's CRI log text on agent N's node
agent_log() {
    eval "dir=\$A$1"
    cat "$dir"/logs/pods/default_"$2"_*/c/*.log 2>/dev/null | sed 's/^[^ ]* std[a-z]* [FP] //'
}
NK() { # NK N ARGS: kubectl 1.32 as agent N's node identity
    eval "dir=\$A$1"; shift
    IN "$KUBECTL" --kubeconfig "$dir/kubelet.kubeconfig" "$@"
}

finish_agents() {
    if [ -n "$kubed_pid" ]; then
        K delete deployment spread --wait=false >/dev/null 2>&1
        K delete pods --all --grace-period=1 --wait=false >/dev/null 2>&1
        [ -n "$a1_pid" ] && [ -n "$a2_pid" ] && { wait_until 60 no_pods || echo "pods left: $(K get pods -o name 2>&1)"; }
    fi
    stop_agent 1; stop_agent 2
    stop_kubed TERM
    for i in 1 2; do
        eval "D=\$A$i RT=\$RT$i CG=\$CG$i"
        out=$(leftovers) && ok "agent $i: nothing left behind" || bad "agent $i: nothing left behind" "$out"
        remove_cgroups $CG
        rm -rf "$RT"
    done
    grep " $tmp" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
    ip netns del $NS 2>/dev/null
    if [ $fail -ne 0 ]; then
        for f in kubed agent1 agent2; do
            echo "--- $f log (last 40 lines) ---"
            grep -v 'DEBUG' "$tmp/$f.log" 2>/dev/null | tail -40
        done
    fi
    rm -rf "$tmp"
    echo "$pass passed, $fail failed"
    [ $fail = 0 ]
}
trap 'finish_agents; exit $?' EXIT INT TERM

setup_netns || { bad "network namespace"; exit 1; }
IN ip addr add $IP2/24 dev nodeif
for i in 1 2; do
    eval "D=\$A$i"
    load_images || { bad "images for agent $i"; D=$tmp/data; exit 1; }
done
D=$tmp/data
start_server && ok "kubed server --no-node at $url" || { bad "server" "$(tail -20 $tmp/kubed.log)"; exit 1; }

# ---- a bad token: one line, non-zero, nothing kept ----
out=$(nsenter --net=/run/netns/$NS "$KUBED" agent --server "$url" \
    --token abcdef.0123456789abcdef --certificate-authority "$D/ca.crt" \
    --data-dir "$tmp/bad" --node-name bad-$id 2>&1 >/dev/null); rc=$?
[ $rc -ne 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
    printf '%s' "$out" | grep -q "^kubed agent: cannot join $url as node bad-$id: .*Unauthorized" &&
    ok "bad token: one line, exit $rc" || bad "bad token" "rc=$rc" "$out"
[ ! -e "$tmp/bad/kubelet.kubeconfig" ] && ok "bad token: no credentials kept" || bad "bad token kept credentials"
out=$(nsenter --net=/run/netns/$NS "$KUBED" agent --data-dir "$tmp/bad2" 2>&1); rc=$?
[ $rc -ne 0 ] && printf '%s' "$out" | grep -q "needed to join" &&
    ok "no credentials and no token: says so" || bad "no token" "rc=$rc" "$out"

# Kept credentials the server refuses: a client certificate of another CA.
mkdir -p $tmp/stale
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj "/O=system:nodes/CN=system:node:stale-$id" -keyout $tmp/stale.key -out $tmp/stale.crt 2>/dev/null
printf 'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: %s\n    certificate-authority-data: %s\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\nusers:\n- name: u\n  user:\n    client-certificate-data: %s\n    client-key-data: %s\n' \
    "$url" "$(base64 -w0 "$D/ca.crt")" "$(base64 -w0 $tmp/stale.crt)" "$(base64 -w0 $tmp/stale.key)" > $tmp/stale/kubelet.kubeconfig
out=$(timeout 60 nsenter --net=/run/netns/$NS "$KUBED" agent --data-dir "$tmp/stale" --node-name stale-$id \
    --runtime-root $RT-s --cgroup-parent $CG-s --cni-bridge ${BR}s 2>&1 >/dev/null); rc=$?
rm -rf $RT-s
[ $rc -ne 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
    printf '%s' "$out" | grep -q "^kubed agent: the credentials in $tmp/stale/kubelet.kubeconfig are not accepted by $url: remote error: tls: .*unknown ca" &&
    ok "kept credentials refused: one line, exit $rc" || bad "stale credentials" "rc=$rc" "$out"

# ---- two agents join ----
start_agent 1 $(join_flags)
start_agent 2 $(join_flags)
wait_until 60 ready $N1 && wait_until 30 ready $N2 && ok "both Nodes Ready" ||
    bad "nodes Ready" "$(K get nodes 2>&1)" "$(tail -20 $tmp/agent1.log)" "$(tail -20 $tmp/agent2.log)"
wait_until 20 lease $N1 && wait_until 20 lease $N2 && ok "both Leases in kube-node-lease" || bad "leases" "$(K get lease -A 2>&1)"
grep -q "node $N1 joined $url" $tmp/agent1.log && ok "agent 1 joined with the token" || bad "join line" "$(head -5 $tmp/agent1.log)"
[ "$(stat -c %a $A1/kubelet.kubeconfig)" = 600 ] && ok "credentials kept 0600 in the data dir" || bad "kubeconfig mode"
out=$(NK 1 auth whoami -o jsonpath='{.status.userInfo.username} {.status.userInfo.groups}' 2>&1)
case $out in "system:node:$N1 "*system:nodes*) ok "agent 1 is system:node:$N1 in system:nodes" ;; *) bad "whoami" "$out" ;; esac

# The kubelet serving certificate: for the Node's own addresses, approved
# and signed by the cluster CA; a request for another node's address waits.
if command -v openssl >/dev/null; then
    wait_until 30 test -s $A1/kubelet-serving.crt && wait_until 30 test -s $A2/kubelet-serving.crt &&
        openssl verify -CAfile "$D/ca.crt" $A1/kubelet-serving.crt >/dev/null 2>&1 &&
        openssl x509 -in $A1/kubelet-serving.crt -noout -ext subjectAltName 2>/dev/null | grep -q "IP Address:$IP1" &&
        openssl x509 -in $A1/kubelet-serving.crt -noout -ext extendedKeyUsage 2>/dev/null | grep -q "TLS Web Server Authentication" &&
        openssl x509 -in $A1/kubelet-serving.crt -noout -subject 2>/dev/null | grep -q "CN *= *system:node:$N1" &&
        [ "$(stat -c %a $A1/kubelet-serving.key)" = 600 ] &&
        ok "kubelet serving certificate for $IP1, signed by the cluster CA" ||
        bad "serving certificate" "$(ls -l $A1)" "$(K get csr 2>&1)" "$(grep serving $tmp/agent1.log)"
    out=$(K get csr -o 'jsonpath={range .items[?(@.spec.signerName=="kubernetes.io/kubelet-serving")]}{.spec.username} {.status.conditions[0].type}{"\n"}{end}' 2>&1)
    echo "$out" | grep -q "^system:node:$N1 Approved$" && ok "kubelet-serving CSR approved for the node" || bad "serving CSR" "$out"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $tmp/x.key \
        -subj "/O=system:nodes/CN=system:node:$N1" -addext "subjectAltName=IP:$IP2" -out $tmp/x.csr 2>/dev/null
    printf 'apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\nmetadata: {name: steal-%s}\nspec:\n  signerName: kubernetes.io/kubelet-serving\n  usages: [digital signature, key encipherment, server auth]\n  request: %s\n' \
        $id "$(base64 -w0 $tmp/x.csr)" > $tmp/x.yaml
    NK 1 create -f $tmp/x.yaml >/dev/null 2>&1 && sleep 1 &&
        [ -z "$(K get csr steal-$id -o 'jsonpath={.status.conditions}{.status.certificate}' 2>&1)" ] &&
        ok "a serving CSR for another node's address is not approved" || bad "steal CSR" "$(K get csr steal-$id -o yaml 2>&1)"
fi

# What the Node authorizer leaves a node: its pods by field selector, its
# own Node, no listing of secrets; every pod, namespace and NetworkPolicy
# read only (system:libkube:node-network-policy: policy enforcement).
NK 1 get pods -A --field-selector spec.nodeName=$N1 >/dev/null 2>&1 && ok "node lists its own pods" || bad "node own pods"
out=$(NK 1 get pods -A 2>&1) && ok "node lists all pods (system:libkube:node-network-policy)" || bad "list all pods" "$out"
out=$(NK 1 get secrets 2>&1)
echo "$out" | grep -q "No Object name found" && ok "node cannot list secrets" || bad "list secrets" "$out"
out=$(NK 1 get node $N2 2>&1)
echo "$out" | grep -q "cannot read '$N2', only its own Node object" && ok "node cannot read the other Node" || bad "read other node" "$out"

# ---- a Deployment over both nodes, configMap volume and secret env ----
K create configmap greeting --from-literal=greeting=hello-v1 >/dev/null
K create secret generic token --from-literal=value=s3cr3t >/dev/null
K create secret generic unrelated --from-literal=value=x >/dev/null
apply "apiVersion: apps/v1
kind: Deployment
metadata: {name: spread}
spec:
  replicas: 2
  selector: {matchLabels: {app: spread}}
  template:
    metadata: {labels: {app: spread}}
    spec:
      terminationGracePeriodSeconds: 1
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: spread}}}
      containers:
      - name: c
        image: busybox:1.35.0
        command: [sh, -c, 'echo secret=\$TOKEN; while true; do echo greeting=\$(cat /cfg/greeting); sleep 1; done']
        env: [{name: TOKEN, valueFrom: {secretKeyRef: {name: token, key: value}}}]
        volumeMounts: [{name: cfg, mountPath: /cfg}]
      volumes: [{name: cfg, configMap: {name: greeting}}]"
wait_until 90 all_running && ok "2 pods Running" || bad "pods Running" "$(pods_of)" "$(K describe pods -l app=spread 2>&1 | tail -30)"
p1=$(pod_on $N1); p2=$(pod_on $N2)
[ -n "$p1" ] && [ -n "$p2" ] && ok "one pod on each node ($p1, $p2)" || bad "spread" "$(pods_of)"
for i in 1 2; do
    eval "p=\$p$i dir=\$A$i"
    [ -n "$p" ] || continue
    wait_until 20 sh -c "cat $dir/logs/pods/default_${p}_*/c/*.log 2>/dev/null | grep -q greeting=hello-v1" &&
        agent_log $i "$p" | grep -q "secret=s3cr3t" &&
        ok "node $i: configMap volume and secret env" || bad "node $i volume/env" "$(agent_log $i "$p" | head -5)"
done
[ "$(K get pod "$p1" -o 'jsonpath={.status.hostIP}')" = $IP1 ] && [ "$(K get pod "$p2" -o 'jsonpath={.status.hostIP}')" = $IP2 ] &&
    ok "hostIPs are the nodes' addresses" || bad "hostIP"
ip1=$(K get pod "$p1" -o 'jsonpath={.status.podIP}'); ip2=$(K get pod "$p2" -o 'jsonpath={.status.podIP}')
case "$ip1 $ip2" in "10.$o2.$o3."*" 10.$o2.$o3."*) [ "$ip1" != "$ip2" ] && ok "pod IPs from each node's CIDR ($ip1, $ip2)" || bad "pod IPs" "$ip1 $ip2" ;; *) bad "pod IPs" "$ip1 $ip2" ;; esac
# Per-object watches only: the agent's cache never saw the unrelated secret.
NK 1 get secret unrelated >/dev/null 2>&1 && bad "node read an unrelated secret" || ok "unrelated secret not readable by the node"
NK 1 get secrets --field-selector metadata.name=token >/dev/null 2>&1 && ok "node lists its pod's secret by name" || bad "node list token by name"

# ---- logs and exec through the agents' kubelet ports (HTTPS, the API
# server's client certificate from the cluster CA) ----
[ "$(K get node $N1 -o 'jsonpath={.status.daemonEndpoints.kubeletEndpoint.Port}')" = 10250 ] &&
    ok "Node reports its kubelet port" || bad "kubelet port" "$(K get node $N1 -o yaml 2>&1 | grep -A3 daemonEndpoints)"
wait_until 30 sh -c "grep -q 'kubelet port listening on $IP2:10250' $tmp/agent2.log" ||
    bad "agent 2 kubelet port" "$(tail -5 $tmp/agent2.log)"
for i in 1 2; do
    eval "p=\$p$i"
    [ -n "$p" ] || continue
    out=$(K logs "$p" --tail=100 2>&1)
    echo "$out" | grep -q "secret=s3cr3t" && ok "kube logs of the pod on node $i" || bad "logs node $i" "$out"
    out=$(KC exec "$p" -- cat /cfg/greeting 2>&1)
    [ "$out" = hello-v1 ] && ok "kubectl exec in the pod on node $i" || bad "exec node $i" "$out"
done
KC exec "$p2" -- sh -c 'exit 3' >/dev/null 2>&1; rc=$?
[ $rc = 3 ] && ok "exec exit code through the kubelet port" || bad "exec exit code" "rc=$rc"
out=$(IN curl -sk --max-time 5 "https://$IP1:10250/containerLogs/default/$p1/c" -o /dev/null -w '%{http_code}' 2>&1)
[ "$out" = 401 ] && ok "kubelet port refuses a client without a certificate" || bad "kubelet port auth" "$out"

# ---- kubectl get nodes -o wide ----
out=$(KC get nodes -o wide 2>&1)
hdr=$(echo "$out" | head -1)
echo "$hdr" | grep -q "^NAME *STATUS *ROLES *AGE *VERSION *INTERNAL-IP *EXTERNAL-IP *OS-IMAGE *KERNEL-VERSION *CONTAINER-RUNTIME$" &&
    ok "get nodes -o wide: columns" || bad "wide header" "$out"
os=$(. /etc/os-release; echo "$PRETTY_NAME")
for i in 1 2; do
    eval "node=\$N$i ip=\$IP$i"
    row=$(echo "$out" | grep "^$node ")
    echo "$row" | grep -q "^$node  *Ready  *<none>  *[0-9][0-9a-z]*  *v1.32.0  *$ip  *<none>  *$os  *$(uname -r)  *libkube://" &&
        ok "get nodes -o wide: $node Ready, $ip, $os" || bad "wide row $node" "$out"
done

# ---- restart agent 1: adopted, not restarted ----
cid=$(K get pod "$p1" -o 'jsonpath={.status.containerStatuses[0].containerID}')
started=$(K get pod "$p1" -o 'jsonpath={.status.containerStatuses[0].state.running.startedAt}')
# the containers' shells (their sleeps come and go)
procs=$(for pid in $(find /sys/fs/cgroup/*/$CG1 -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u); do
    [ "$(cat /proc/$pid/comm 2>/dev/null)" = sh ] && echo $pid; done | tr '\n' ' ')
stop_agent 1
[ "$agent_rc" = 0 ] && ok "SIGTERM: agent exits 0" || bad "agent exit" "rc=$agent_rc" "$(tail -5 $tmp/agent1.log)"
alive=""
for pid in $procs; do kill -0 $pid 2>/dev/null && alive="$alive $pid"; done
[ -n "$procs" ] && [ -n "$alive" ] && ok "containers keep running without the agent" || bad "containers after stop" "$procs / $alive"
start_agent 1
wait_until 30 sh -c "grep -q 'using the credentials in $A1/kubelet.kubeconfig' $tmp/agent1.log" &&
    ok "restart reuses the kept credentials" || bad "reuse" "$(tail -5 $tmp/agent1.log)"
wait_until 30 ready $N1 && ok "node 1 Ready again" || bad "ready again"
sleep 2
[ "$(K get pod "$p1" -o 'jsonpath={.status.containerStatuses[0].containerID}')" = "$cid" ] &&
    [ "$(K get pod "$p1" -o 'jsonpath={.status.containerStatuses[0].restartCount}')" = 0 ] &&
    [ "$(K get pod "$p1" -o 'jsonpath={.status.containerStatuses[0].state.running.startedAt}')" = "$started" ] &&
    ok "container adopted: same id, same start, no restart" || bad "adoption" "$(K get pod "$p1" -o yaml 2>&1 | tail -30)"
for pid in $alive; do kill -0 $pid 2>/dev/null || bad "process $pid gone after restart"; done
K create configmap greeting --from-literal=greeting=hello-v2 --dry-run=client -o yaml | K apply -f - >/dev/null 2>&1
wait_until 90 sh -c "cat $A1/logs/pods/default_${p1}_*/c/*.log 2>/dev/null | grep -q greeting=hello-v2" &&
    wait_until 30 sh -c "cat $A2/logs/pods/default_${p2}_*/c/*.log 2>/dev/null | grep -q greeting=hello-v2" &&
    ok "configMap change reaches both nodes (per-object watches)" || bad "configMap update" "$(agent_log 1 "$p1" | tail -3)"

# ---- the end: pods go through their nodes ----
K delete deployment spread >/dev/null 2>&1
torn_down() { [ -z "$(ls "$A1/pods" "$A2/pods" 2>/dev/null | grep -v ':$' | grep .)" ]; }
wait_until 60 no_pods && wait_until 60 torn_down &&
    ok "deployment deleted: pods gone, torn down on both nodes" || bad "pods gone" "$(pods_of)" "$(ls $A1/pods $A2/pods)"
stop_agent 1; stop_agent 2
[ -z "$a1_pid" ] && [ -z "$a2_pid" ] && ok "agents stopped"
