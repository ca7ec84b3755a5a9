#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Resource metrics end to end (root): kubed server with its node in a
# network namespace of the test's own.  A busybox pod burning CPU (capped
# at 300m by its limit) shows in the node's Summary API, in
# metrics.k8s.io (NodeMetrics, PodMetrics, label selectors) and in
# `kubectl top nodes|pods [--containers]` and `kube top` with more than
# 100m; then (section hpa) a HorizontalPodAutoscaler scales a deployment
# of such pods up.
#   test-metrics.sh KUBED KUBE SOURCE_ROOT [SECTION...]
set -u
KUBED=$1; KUBE=$2; SRC=$3; shift 3
. "$SRC/tests/privileged/node/lib.sh"
trap 'finish; exit $?' EXIT INT TERM

# the CPU of pod $1 (container $2 with --containers) in kubectl top, in
# millicores
top_milli() {
    if [ $# -gt 1 ]; then
        v=$(KC top pods --containers --no-headers 2>/dev/null | awk -v p=$1 -v c=$2 '$1 == p && $2 == c {print $3}')
    else
        v=$(KC top pods --no-headers 2>/dev/null | awk -v p=$1 '$1 == p {print $2}')
    fi
    case $v in *m) echo ${v%m} ;; "") echo 0 ;; *) echo $((v * 1000)) ;; esac
}
burning() { [ "$(top_milli "$@")" -gt 100 ]; }

sec_top() {
    apply "apiVersion: v1
kind: Pod
metadata: {name: burn, labels: {app: burn}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: spin
    image: busybox:1.35.0
    command: [sh, -c, 'while :; do :; done']
    resources: {requests: {cpu: 100m}, limits: {cpu: 300m}}
  - name: idle
    image: busybox:1.35.0
    command: [sleep, '3600']"
    wait_until 60 running burn && ok "burner Running" || bad "burner Running" "$(K describe pod burn)"
    out=$(KC get --raw /apis/metrics.k8s.io/v1beta1 2>&1)
    echo "$out" | grep -q '"kind":"PodMetrics"' && ok "discovery lists metrics.k8s.io/v1beta1" || bad "discovery" "$out"
    wait_until 60 burning burn && ok "kubectl top pods: burn > 100m ($(top_milli burn)m)" ||
        bad "kubectl top pods" "$(KC top pods 2>&1)" "$(KC get --raw /apis/metrics.k8s.io/v1beta1/namespaces/default/pods 2>&1)"
    burning burn spin && ok "kubectl top pods --containers: spin > 100m" || bad "top --containers" "$(KC top pods --containers 2>&1)"
    m=$(top_milli burn spin)
    [ "$m" -le 400 ] && ok "the limit caps it ($m m <= 400m)" || bad "cpu limit" "$m"
    [ "$(top_milli burn idle)" -lt 50 ] && ok "the idle container shows little" || bad "idle container" "$(KC top pods --containers 2>&1)"
    out=$(KC top pods -l app=burn 2>&1)
    echo "$out" | grep -q '^burn ' && ok "top pods -l app=burn" || bad "label selector" "$out"
    out=$(KC top pods -l app=nothing 2>&1)
    echo "$out" | grep -q 'No resources found' && ok "top pods -l app=nothing: No resources found" || bad "empty selector" "$out"
    out=$(KC top pod nosuch 2>&1)
    echo "$out" | grep -q 'podmetrics.metrics.k8s.io "default/nosuch" not found' && ok "top pod nosuch: NotFound" || bad "top pod nosuch" "$out"
    out=$(KC top nodes 2>&1)
    echo "$out" | grep -q "^$NODE " && echo "$out" | head -1 | grep -q 'CPU(cores)' && ok "kubectl top nodes" || bad "top nodes" "$out"
    out=$(K top nodes 2>&1)
    echo "$out" | grep -q "^$NODE " && ok "kube top nodes" || bad "kube top nodes" "$out"
    out=$(K top pods --containers 2>&1)
    echo "$out" | grep -q "^burn *spin " && ok "kube top pods --containers" || bad "kube top pods" "$out"
    for args in "pods" "pods --containers" "nodes" "pods -A"; do
        a=$(K top $args 2>&1 | head -1); b=$(KC top $args 2>&1 | head -1)
        [ "$a" = "$b" ] && ok "kube top $args: kubectl's header" || bad "kube top $args header" "kube:    $a" "kubectl: $b"
    done
    out=$(KC get --raw /apis/metrics.k8s.io/v1beta1/nodes/$NODE 2>&1)
    echo "$out" | grep -q '"kind":"NodeMetrics"' && echo "$out" | grep -q '"window":"10s"' && ok "NodeMetrics get" || bad "NodeMetrics" "$out"
    K delete pod burn --grace-period=1 >/dev/null 2>&1
    wait_until 60 gone burn && ok "burner deleted" || bad "burner deleted"
}

mkdir -p "$D"
setup_netns || { bad "netns"; exit 1; }
out=$(load_images) || { bad "busybox image" "$out"; exit 1; }
start_kubed ${KUBED_HPA_FLAGS:-} && ok "kubed with its node Ready" || { bad "kubed" "$(tail -30 $tmp/kubed.log)"; exit 1; }
sections=${*:-top hpa}
for s in $sections; do
    command -v sec_$s >/dev/null 2>&1 || continue
    sec_$s
done
