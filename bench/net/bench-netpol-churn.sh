#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# bench-netpol-churn: what the NetworkPolicy part of a node agent spends
# while the cluster's pods churn elsewhere.  `kubed server` with its real
# node (in a network namespace of the bench's own, as the privileged
# tests run it) and --hollow-nodes 10; a Deployment of N replicas on the
# hollow nodes is created, goes Running and is deleted, four times:
# without any NetworkPolicy; with one selecting no pod of the real node;
# with one isolating a pod of the real node whose peers are the
# Deployment's pods; with one isolating it whose peers are other pods.  The real node's
# agent tells at its stop how many passes it ran and their CPU time
# ("network policy: P passes (X ms CPU) for E changes ..."); printed per
# round, with --json a last line of one JSON object.  Asserts nothing.
#   bench-netpol-churn.sh KUBED KUBE SOURCE_ROOT [--json] [-n N]
set -u
KUBED=$1; KUBE=$2; SRC=$3; shift 3
JSON=0; N=300
while [ $# -gt 0 ]; do
    case $1 in --json) JSON=1 ;; -n) N=$2; shift ;; esac
    shift
done
pass=0; fail=0
. "$SRC/tests/privileged/node/lib.sh"
trap 'stop_kubed TERM; remove_cgroups $CG; ip netns del $NS 2>/dev/null; rm -rf "$RT" "$tmp"' EXIT INT TERM
say() { echo "$@"; }  # with --json too: the JSON object comes last

setup_netns || { echo "bench-netpol-churn: netns"; exit 1; }
all_running() { [ "$(K get pods -l app=churn --field-selector status.phase=Running -o name 2>/dev/null | wc -l)" -ge $N ]; }
none_left() { [ -z "$(K get pods -l app=churn -o name 2>/dev/null)" ]; }

# round NAME [PEER-APP [local]]: one kubed run (a policy for app=web
# allowing pods app=PEER-APP, a pod app=web on the real node); prints
# "passes ms events seconds"
round() {
    : >"$tmp/kubed.log"
    start_kubed --hollow-nodes 10 --service-cidr 172.22.$o3.0/24 || { echo "bench-netpol-churn: kubed" >&2; return 1; }
    if [ "${3:-}" = local ]; then
        load_images >/dev/null || { echo "bench-netpol-churn: images" >&2; return 1; }
        printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: web, labels: {app: web}}\nspec:\n  nodeName: %s\n  terminationGracePeriodSeconds: 1\n  containers: [{name: c, image: busybox:1.35.0, command: [sleep, "3600"]}]\n' $NODE |
            K apply -f - >/dev/null
        wait_until 60 running web || echo "bench-netpol-churn: web not Running" >&2
    fi
    if [ -n "${2:-}" ]; then
        printf 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: default}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  ingress: [{from: [{podSelector: {matchLabels: {app: %s}}}]}]\n' $2 |
            K apply -f - >/dev/null
    fi
    t0=$(date +%s.%N)
    printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: churn}\nspec:\n  replicas: %d\n  selector: {matchLabels: {app: churn}}\n  template:\n    metadata: {labels: {app: churn}}\n    spec:\n      nodeSelector: {node.libkube.io/hollow: "true"}\n      containers: [{name: c, image: busybox:1.35.0}]\n' $N |
        K apply -f - >/dev/null
    wait_until 300 all_running || echo "bench-netpol-churn: not all Running" >&2
    K delete deployment churn >/dev/null
    wait_until 300 none_left || echo "bench-netpol-churn: pods left" >&2
    t1=$(date +%s.%N)
    if [ "${3:-}" = local ]; then
        K delete pod web --grace-period=1 >/dev/null 2>&1
        wait_until 60 no_pods || echo "bench-netpol-churn: web left" >&2
    fi
    stop_kubed TERM
    sed -n 's/.*network policy: \([0-9]*\) passes (\([0-9.]*\) ms CPU) for \([0-9]*\) changes.*/\1 \2 \3/p' "$tmp/kubed.log" | tail -1 |
        { read p ms ev; echo "$p $ms $ev $(awk "BEGIN {printf \"%.1f\", $t1 - $t0}")"; }
    rm -rf "$D"
}
r1=$(round plain) && r2=$(round policy churn) && r3=$(round isolated churn local) &&
    r4=$(round isolated-other other local) || exit 1
set -- $r1 $r2 $r3 $r4
say "no policy:               $1 passes, $2 ms CPU for $3 changes ($N pods created and deleted on hollow nodes in $4 s)"
say "a policy, no local pod:  $5 passes, $6 ms CPU for $7 changes ($N pods, $8 s)"
say "a local pod isolated:    $9 passes, ${10} ms CPU for ${11} changes ($N pods, ${12} s)"
say "  its peers other pods:  ${13} passes, ${14} ms CPU for ${15} changes ($N pods, ${16} s)"
[ $JSON = 1 ] && printf '{"pods": %d, "netpol_passes_no_policy": %s, "netpol_cpu_ms_no_policy": %s, "netpol_passes_policy_elsewhere": %s, "netpol_cpu_ms_policy_elsewhere": %s, "netpol_passes_local_isolated": %s, "netpol_cpu_ms_local_isolated": %s, "netpol_passes_local_isolated_other_peers": %s, "netpol_cpu_ms_local_isolated_other_peers": %s, "netpol_changes": %s}\n' \
    $N $1 $2 $5 $6 $9 ${10} ${13} ${14} ${11}
exit 0
