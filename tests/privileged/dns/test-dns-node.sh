#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Cluster DNS with a node (root): kubed server with its node inside a
# network namespace of the test's own (--dns-upstream none), its DNS
# listening on the node IP, port 53 (the default).  kube-system/kube-dns
# points there; dig from the namespace, and pods whose resolv.conf names
# the node IP resolve a Service by its short name (search path), the full
# name, SRV (svc.ns through dig's search list), a headless Service's pod address, and get NXDOMAIN
# for a deleted Service.  Nothing may be left behind.
#   test-dns-node.sh KUBED KUBE SOURCE_ROOT
set -u
KUBED=$1; KUBE=$2; SRC=$3; shift 3
. "$SRC/tests/privileged/node/lib.sh"
command -v dig >/dev/null || skip "dig missing (bind9-dnsutils)"
trap 'finish; exit $?' EXIT INT TERM

DIG() { IN dig @$NODE_IP +short +time=2 +tries=2 "$@"; }

setup_netns || { echo "cannot create network namespace"; exit 1; }
out=$(load_images) || bad "images" "$out"
start_kubed || { bad "kubed starts and its node gets Ready" "$(tail -30 $tmp/kubed.log)"; exit 1; }
ok "kubed starts and its node gets Ready"

grep -q "cluster DNS for cluster.local listening on $NODE_IP:53" $tmp/kubed.log &&
    ok "DNS listens on the node IP, port 53" || bad "DNS listen" "$(grep -i dns $tmp/kubed.log)"
wait_until 10 sh -c "[ \"\$(ip netns exec $NS $KUBE get endpoints -n kube-system kube-dns -o 'jsonpath={.subsets[0].addresses[0].ip}')\" = $NODE_IP ]" &&
    ok "kube-dns Endpoints: the node IP" || bad "kube-dns Endpoints" "$(K get endpoints -n kube-system kube-dns -o yaml)"
kip=$(jp svc/kubernetes '{.spec.clusterIP}')
[ "$(DIG kubernetes.default.svc.cluster.local)" = "$kip" ] &&
    ok "dig kubernetes.default.svc.cluster.local = $kip" || bad "dig kubernetes" "$(DIG kubernetes.default.svc.cluster.local)"
out=$(IN dig @$NODE_IP +time=2 +tries=1 www.example.com 2>&1)
echo "$out" | grep -q "status: SERVFAIL" && ok "other names: SERVFAIL (upstream none)" || bad "upstream none" "$out"

apply "apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  hostname: web-0
  subdomain: webh
  containers:
  - name: web
    image: busybox:1.35.0
    command: [sh, -c, 'mkdir -p /www && echo hi > /www/index.html && exec httpd -f -p 8080 -h /www']
    ports: [{containerPort: 8080, name: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: webh}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 8080}]"
wait_until 30 running web && ok "pod web Running" || bad "web Running" "$(K describe pod web)"
pip=$(jp pod/web '{.status.podIP}')
sip=$(jp svc/web '{.spec.clusterIP}')
wait_until 15 sh -c "[ \"\$(ip netns exec $NS dig @$NODE_IP +short webh.default.svc.cluster.local)\" = $pip ]" &&
    ok "headless webh -> pod IP $pip" || bad "headless" "$(DIG webh.default.svc.cluster.local)"
[ "$(DIG web-0.webh.default.svc.cluster.local)" = "$pip" ] && ok "hostname.subdomain record" ||
    bad "hostname.subdomain" "$(DIG web-0.webh.default.svc.cluster.local)"
[ "$(DIG SRV _http._tcp.web.default.svc.cluster.local)" = "0 100 80 web.default.svc.cluster.local." ] &&
    ok "SRV of the named port" || bad "SRV" "$(DIG SRV _http._tcp.web.default.svc.cluster.local)"

# A pod resolving through the node's DNS with the search path ClusterFirst
# pods get (dnsPolicy None here: the Service VIP of kube-dns is the
# proxy's, not this test's).
apply "apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  restartPolicy: Never
  dnsPolicy: None
  dnsConfig:
    nameservers: [$NODE_IP]
    searches: [default.svc.cluster.local, svc.cluster.local, cluster.local]
    options: [{name: ndots, value: '5'}]
  containers:
  - name: c
    image: busybox:1.35.0
    command: [sh, -c, 'for n in web web.default.svc.cluster.local webh; do echo \"== \$n\"; nslookup \$n; done; echo \"== srv\"; nslookup -type=SRV _http._tcp.web.default.svc.cluster.local; echo \"== gone\"; nslookup nosuch.default.svc.cluster.local; echo done']"
wait_until 40 phase_is client Succeeded || wait_until 5 log_has client c done
L=$(podlog client c)
sect() { echo "$L" | sed -n "/^== $1\$/,/^== /p"; }
for n in web web.default.svc.cluster.local; do
    sect $n | grep -q "Address: $sip" && ok "pod resolves $n -> $sip" || bad "pod resolves $n" "$(sect $n)"
done
sect webh | grep -q "Address: $pip" && ok "pod resolves headless webh -> $pip" || bad "pod headless" "$(sect webh)"
sect srv | grep -q "service = 0 100 80 web.default.svc.cluster.local" && ok "pod resolves SRV _http._tcp.web.default.svc.cluster.local" || bad "pod SRV" "$(sect srv)"
sect gone | grep -qi "NXDOMAIN" && ok "pod gets NXDOMAIN for a missing Service" || bad "pod NXDOMAIN" "$(sect gone)"

# svc.ns through a search list (busybox's nslookup searches only for names
# without dots; dig does as a resolver with ndots:5 would).
[ "$(DIG +search +ndots=5 +domain=svc.cluster.local web.default)" = "$sip" ] &&
    ok "web.default through the search list" || bad "web.default search" "$(DIG +search +ndots=5 +domain=svc.cluster.local web.default)"

K delete svc web >/dev/null
wait_until 10 sh -c "ip netns exec $NS dig @$NODE_IP web.default.svc.cluster.local | grep -q NXDOMAIN" &&
    ok "deleted Service: NXDOMAIN" || bad "deleted Service" "$(IN dig @$NODE_IP web.default.svc.cluster.local)"
K delete svc webh >/dev/null
# The pods go while kubed still runs: the agent deletes a Pod's object
# before its sandbox is torn down, and a kubed stopped in between would
# leave that teardown for its next start.
K delete pod web client --grace-period=1 --wait=false >/dev/null 2>&1
wait_until 60 no_pods
wait_until 30 leftovers
