#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The agent's client certificate is renewed before it expires (root): a
# `kubed server --no-node --cluster-signing-duration 90s` and one `kubed
# agent` in a network namespace of the test's own.  The agent's
# system:node:NAME certificate lasts 90 s; at 70-90 % of its lifetime the
# agent asks for a new one through a CSR with its current certificate
# (approved as a node renewing its own), rewrites its kubeconfig in its
# data dir, and its new connections use it: after the first certificate
# expired the Node's Lease is still renewed and the kept kubeconfig still
# authenticates.  The kubelet serving certificate is renewed the same way
# and the kubelet port serves the new one: kubectl logs and exec of a pod
# on the agent work after the first one expired (the API server checks
# the kubelet's certificate: --kubelet-certificate-authority).  A bad
# --cluster-signing-duration is refused.
#   test-agent-renewal.sh KUBED KUBE SOURCE_ROOT
set -u
KUBED=$1; KUBE=$2; SRC=$3; shift 3
. "$SRC/tests/privileged/node/lib.sh"
[ -x "$KUBECTL" ] || skip "kubectl 1.32 missing ($KUBECTL)"
command -v openssl >/dev/null || skip "openssl missing"
A1=$tmp/agent; N1=$NODE-a; CG1=$CG-a; RT1=$RT-a; BR1=${BR}a
a_pid=""; url=""

server_url() { url=$(sed -n 's/^kubed: listening on \(https:[^ ]*\) .*/\1/p' "$tmp/kubed.log" | head -1); [ -n "$url" ]; }
ready() { [ "$(K get node "$1" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; }
# the client certificate of the agent's kubeconfig, as PEM
agent_cert() {
    sed -n 's/^ *client-certificate-data: *//p' "$A1/kubelet.kubeconfig" | base64 -d 2>/dev/null
}
cert_field() { agent_cert | openssl x509 -noout "$1" 2>/dev/null | sed 's/^[^=]*=//'; }
serving_field() { openssl x509 -in "$A1/kubelet-serving.crt" -noout "$1" 2>/dev/null | sed 's/^[^=]*=//'; }
renew_time() { K get lease -n kube-node-lease $N1 -o 'jsonpath={.spec.renewTime}' 2>/dev/null; }

cleanup() {
    if [ -n "$a_pid" ]; then kill -TERM $a_pid 2>/dev/null; wait $a_pid 2>/dev/null; a_pid=""; fi
    stop_kubed TERM
    remove_cgroups $CG1
    rm -rf "$RT1"
    [ $fail -ne 0 ] && { echo "--- agent log (last 30 lines) ---"; grep -v DEBUG "$tmp/agent.log" | tail -30; }
    finish
}
trap 'cleanup; exit $?' EXIT INT TERM

setup_netns || { bad "network namespace"; exit 1; }
sD=$D; D=$A1
load_images || { D=$sD; bad "images"; exit 1; }
D=$sD
out=$(nsenter --net=/run/netns/$NS "$KUBED" server --no-node --data-dir $tmp/bad --listen tcp:127.0.0.1:0 --cluster-signing-duration 5x 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "invalid cluster signing duration \"5x\"" &&
    ok "bad --cluster-signing-duration refused (exit $rc)" || bad "bad duration" "rc=$rc" "$out"
nsenter --net=/run/netns/$NS "$KUBED" server --no-node --data-dir "$D" \
    --listen tcp:127.0.0.1:0 --listen unix:$tmp/kubed.sock \
    --cluster-signing-duration 90s --kubelet-certificate-authority "$D/ca.crt" \
    >>"$tmp/kubed.log" 2>&1 &
kubed_pid=$!
wait_until 20 server_url && wait_until 20 K get ns default && ok "kubed server --cluster-signing-duration 90s" ||
    { bad "server" "$(tail -20 $tmp/kubed.log)"; exit 1; }
nsenter --net=/run/netns/$NS "$KUBED" agent --data-dir "$A1" \
    --server "$url" --token "$(cat "$D/join-token")" --certificate-authority "$D/ca.crt" \
    --node-name $N1 --node-ip $NODE_IP --pod-cidr $POD_CIDR --cni-bridge $BR1 \
    --cgroup-parent $CG1 --runtime-root $RT1 --kubelet-listen $NODE_IP:10250 \
    >>"$tmp/agent.log" 2>&1 &
a_pid=$!
wait_until 60 ready $N1 && ok "agent joined, node $N1 Ready" || bad "agent Ready" "$(tail -20 $tmp/agent.log)"

apply "apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: busybox:1.35.0, command: [sh, -c, 'echo hello-renewal; exec sleep 3600']}"
serial1=$(cert_field -serial); end1=$(cert_field -enddate); start1=$(cert_field -startdate)
wait_until 30 test -s $A1/kubelet-serving.crt
sserial1=$(serving_field -serial); send1=$(serving_field -enddate)
life=$(( $(date -d "$end1" +%s) - $(date -d "$start1" +%s) ))
[ -n "$serial1" ] && [ $life -le 100 ] && ok "first client certificate lasts ${life} s (serial $serial1)" ||
    bad "first certificate" "$start1 .. $end1"

renewed() { [ -n "$(cert_field -serial)" ] && [ "$(cert_field -serial)" != "$serial1" ]; }
wait_until 150 renewed && ok "client certificate renewed before it expired ($end1)" ||
    bad "renewal" "$(grep -i certificate $tmp/agent.log | tail -5)" "$(K get csr 2>&1)"
at=$(date +%s)
[ $at -lt $(date -d "$end1" +%s) ] && ok "renewed ahead of expiry ($(( $(date -d "$end1" +%s) - at )) s left)" ||
    bad "renewed too late"
agent_cert > $tmp/new.crt
openssl verify -CAfile "$D/ca.crt" $tmp/new.crt >/dev/null 2>&1 &&
    openssl x509 -in $tmp/new.crt -noout -subject | grep -q "CN *= *system:node:$N1" &&
    ok "the new certificate: system:node:$N1, signed by the cluster CA, kept in $A1/kubelet.kubeconfig" ||
    bad "new certificate" "$(openssl x509 -in $tmp/new.crt -noout -subject -issuer 2>&1)"
[ "$(stat -c %a $A1/kubelet.kubeconfig)" = 600 ] && ok "kubeconfig still 0600" || bad "kubeconfig mode"
out=$(K get csr -o 'jsonpath={range .items[*]}{.spec.username} {.spec.signerName} {.status.conditions[0].reason}{"\n"}{end}' 2>&1)
echo "$out" | grep -q "^system:node:$N1 kubernetes.io/kube-apiserver-client-kubelet AutoApproved$" &&
    ok "renewal CSR by system:node:$N1 auto-approved" || bad "renewal CSR" "$out"
grep -q "client certificate renewed" $tmp/agent.log && ok "agent logs the renewal" || bad "renewal log"

srenewed() { [ -n "$(serving_field -serial)" ] && [ "$(serving_field -serial)" != "$sserial1" ]; }
wait_until 150 srenewed && ok "kubelet serving certificate renewed before it expired ($send1)" ||
    bad "serving renewal" "$(grep -i serving $tmp/agent.log | tail -5)"
openssl x509 -in $A1/kubelet-serving.crt -noout -ext subjectAltName 2>/dev/null | grep -q "IP Address:$NODE_IP" &&
    ok "the renewed serving certificate names $NODE_IP" || bad "serving SAN"

# ---- after the first certificates expired: the node goes on ----
now=$(date +%s); exp=$(date -d "$end1" +%s)
sexp=$(date -d "$send1" +%s); [ $sexp -gt $exp ] && exp=$sexp
[ $now -le $((exp + 3)) ] && sleep $((exp + 3 - now))
r1=$(renew_time)
lease_moved() { [ "$(renew_time)" != "$r1" ]; }
wait_until 30 lease_moved && ok "Lease renewed after the first certificate expired (new connections use the new one)" ||
    bad "lease after expiry" "$r1" "$(grep -i 'error\|warn' $tmp/agent.log | tail -5)"
ready $N1 && ok "node still Ready" || bad "node Ready after expiry"
out=$(IN "$KUBECTL" --kubeconfig "$A1/kubelet.kubeconfig" auth whoami -o jsonpath='{.status.userInfo.username}' 2>&1)
[ "$out" = "system:node:$N1" ] && ok "the kept kubeconfig authenticates as system:node:$N1" || bad "whoami" "$out"
wait_until 60 running p
out=$(KC logs p 2>&1)
[ "$out" = hello-renewal ] && ok "kubectl logs through the kubelet port after the first serving certificate expired" ||
    bad "logs after expiry" "$out" "$(grep -i 'kubelet port\|serving' $tmp/agent.log | tail -5)"
grep -q "http: serving the renewed certificate $A1/kubelet-serving.crt" $tmp/agent.log &&
    ok "the kubelet port took the renewed serving certificate" || bad "listener reload" "$(grep -i 'renewed' $tmp/agent.log | tail -3)"
out=$(KC exec p -- echo exec-ok 2>&1)
[ "$out" = exec-ok ] && ok "kubectl exec through the kubelet port after it" || bad "exec after expiry" "$out"
K delete pod p --grace-period=1 >/dev/null 2>&1
wait_until 30 sh -c "[ -z \"\$(ls $A1/pods 2>/dev/null)\" ]"
! grep -q "Unauthorized" $tmp/agent.log && ok "no Unauthorized answer in the agent's log" || bad "unauthorized" "$(grep Unauthorized $tmp/agent.log | tail -3)"
kill -TERM $a_pid; wait $a_pid; rc=$?; a_pid=""
[ $rc = 0 ] && ok "agent stopped (exit 0)" || bad "agent exit" "rc=$rc"
