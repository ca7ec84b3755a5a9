#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# --proxy-mode auto on a host without cgroup v2 (root): kubed runs in a
# mount namespace of its own where every cgroup2 mount is unmounted (the
# host's stay), so its eBPF socket load balancer cannot attach; auto falls
# back to nftables, says so in the log and the Node's annotation
# libkube.io/proxy-mode, and a ClusterIP answers through the node's table
# (from the node's namespace, to a server of the test); stopped, kubed
# leaves no table and no route.  (auto taking ebpf where the programs
# attach is what every other node test runs: the default.)
#   test-proxy-auto.sh KUBED KUBE SOURCE_ROOT
set -u
KUBED=$1; KUBE=$2; SRC=$3; shift 3
. "$SRC/tests/privileged/node/lib.sh"
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 missing"
command -v nft >/dev/null || skip "nft missing (apt-get install nftables)"
command -v unshare >/dev/null || skip "unshare missing (util-linux)"
PROBE="/usr/bin/python3 $SRC/tests/privileged/net/probe.py"
SVC_CIDR=172.22.$o3.0/24
srv=""
cleanup() {
    [ -n "$srv" ] && kill $srv 2>/dev/null
    finish
}
trap 'cleanup; exit $?' EXIT INT TERM

setup_netns || { bad "netns"; exit 1; }
# The cgroup2 mounts, deepest first, unmounted in kubed's mount namespace.
CG2=$(awk '$0 ~ / - cgroup2 / {print $5}' /proc/self/mountinfo | sort -r | tr '\n' ' ')
unshare -m --propagation private sh -c "for m in $CG2; do umount -l \$m || exit 1; done
    exec nsenter --net=/run/netns/$NS \"$KUBED\" server --data-dir \"$D\" \
        --listen tcp:127.0.0.1:0 --listen unix:$tmp/kubed.sock \
        --node-name $NODE --node-ip $NODE_IP --pod-cidr $POD_CIDR \
        --dns-upstream none --service-cidr $SVC_CIDR \
        --cni-bridge $BR --cgroup-parent $CG --runtime-root $RT" \
    >>"$tmp/kubed.log" 2>&1 &
kubed_pid=$!

logged() { grep -q "node $NODE: proxy mode $1 (asked: auto)" $tmp/kubed.log; }
wait_until 30 logged nftables && ok "log: proxy mode nftables (asked: auto)" ||
    bad "mode in the log" "$(grep -i 'proxy\|balanc' $tmp/kubed.log | tail)"
grep -q "eBPF socket load balancing unavailable (.*): nftables instead" $tmp/kubed.log &&
    ok "log: why eBPF is unavailable" || bad "fallback reason" "$(grep -i 'balanc' $tmp/kubed.log | tail -3)"
annotated() { [ "$(jp node/$NODE '{.metadata.annotations.libkube\.io/proxy-mode}')" = nftables ]; }
wait_until 30 annotated && ok "Node annotation libkube.io/proxy-mode: nftables" ||
    bad "annotation" "$(K get node $NODE -o yaml 2>&1 | head -20)"
TABLE=$(sed -n 's/.*nftables table ip \(libkube-[0-9a-z]*\).*/\1/p' $tmp/kubed.log | tail -1)
[ -n "$TABLE" ] && IN nft list table ip $TABLE >/dev/null 2>&1 &&
    ok "table ip $TABLE in the node's namespace" || bad "table" "$(IN nft list tables 2>&1)"

# a ClusterIP over a server of the test in the node's namespace
IN /usr/bin/python3 -m http.server --bind $NODE_IP 8000 >/dev/null 2>&1 & srv=$!
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports: [{name: p, port: 80}]\n---\n' > $tmp/s.yaml
printf 'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s-1, labels: {kubernetes.io/service-name: s}}\naddressType: IPv4\nports: [{name: p, port: 8000}]\nendpoints:\n- addresses: [%s]\n' $NODE_IP >> $tmp/s.yaml
wait_until 20 K apply -f $tmp/s.yaml
VIP=$(jp svc/s '{.spec.clusterIP}')
answers() { IN $PROBE tcp $VIP 80 1 2>&1 | grep -q "Directory listing"; }
wait_until 20 answers && ok "ClusterIP $VIP:80 answers through the table" ||
    bad "ClusterIP" "$(IN $PROBE tcp $VIP 80 1 2>&1)" "$(IN nft list table ip $TABLE 2>&1 | head -40)"

stop_kubed TERM
! IN nft list table ip $TABLE >/dev/null 2>&1 && ok "kubed stopped: its table is gone" ||
    bad "table cleanup" "$(IN nft list tables 2>&1)"
[ -z "$(IN ip route show $SVC_CIDR)" ] && ok "kubed stopped: the service CIDR's route is gone" ||
    bad "route cleanup" "$(IN ip route show $SVC_CIDR)"
