#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""kubed server owns the cluster's address plan: --service-cidr,
--service-node-port-range, --cluster-domain, --cluster-dns,
--advertise-address.  Checks the allocators, the `kubernetes` Service and
its Endpoints, the serving certificate's names, the ConfigMap
kube-system/libkube-cluster (its podRoutes following Node changes), and
that bad values are refused.

usage: test_cluster_settings.py KUBED"""
import os
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "apiserver"))
from kubed_harness import Failures, Kubed, check_refused_flags  # noqa: E402

SVCS = "/api/v1/namespaces/default/services"


def svc(name, **spec):
    s = {"ports": [{"port": 80, "protocol": "TCP"}]}
    s.update(spec)
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": s}


def wait_get(k, path, timeout=10):
    deadline = time.time() + timeout
    while True:
        r = k.request("GET", path)
        if r.status == 200 or time.time() > deadline:
            return r
        time.sleep(0.1)


def routes(k):
    r = k.request("GET", "/api/v1/namespaces/kube-system/configmaps/libkube-cluster")
    return r.json().get("data", {}).get("podRoutes", "") if r.status == 200 else ""


def wait_routes(k, cond, timeout=10):
    deadline = time.time() + timeout
    while True:
        text = routes(k)
        if cond(text) or time.time() > deadline:
            return text
        time.sleep(0.1)


def check_pod_routes(k, t):
    """podRoutes: one sorted line per Node with a pod CIDR and an
    InternalIP, following creates, changes and deletes."""
    for name, cidr, ip in (("route-b", "10.42.201.0/24", "192.0.2.2"),
                           ("route-a", "10.42.200.0/24", "192.0.2.1")):
        r = k.request("POST", "/api/v1/nodes", {
            "apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "spec": {"podCIDR": cidr},
            "status": {"addresses": [{"type": "Hostname", "address": name},
                                     {"type": "InternalIP", "address": ip}]}})
        t.check(r.status == 201, "Node %s created" % name, r.body[:300])

    def ours(text):
        return [ln for ln in text.splitlines() if ln.startswith("route-")]
    text = wait_routes(k, lambda x: len(ours(x)) == 2)
    t.check(ours(text) == ["route-a 10.42.200.0/24 192.0.2.1",
                           "route-b 10.42.201.0/24 192.0.2.2"],
            "podRoutes: a sorted line per Node with a pod CIDR and an InternalIP",
            text)
    r = k.request("PATCH", "/api/v1/nodes/route-a/status",
                  {"status": {"addresses": [{"type": "InternalIP",
                                             "address": "192.0.2.9"}]}},
                  ctype="application/merge-patch+json")
    t.check(r.status == 200, "Node route-a's address changed", r.body[:300])
    text = wait_routes(k, lambda x: "192.0.2.9" in x)
    t.check(ours(text) == ["route-a 10.42.200.0/24 192.0.2.9",
                           "route-b 10.42.201.0/24 192.0.2.2"],
            "podRoutes follows a Node's new address", text)
    r = k.request("DELETE", "/api/v1/nodes/route-b")
    t.check(r.status == 200, "Node route-b deleted", r.body[:300])
    text = wait_routes(k, lambda x: "route-b" not in x)
    t.check(ours(text) == ["route-a 10.42.200.0/24 192.0.2.9"],
            "podRoutes drops a deleted Node", text)


def main():
    kubed = sys.argv[1]
    t = Failures()
    k = Kubed(kubed, extra=["--service-cidr", "10.123.0.0/24",
                            "--service-node-port-range", "31000-31009",
                            "--cluster-domain", "corp.example",
                            "--no-registry"])
    try:
        k.start()
        r = wait_get(k, SVCS + "/kubernetes")
        t.check(r.status == 200 and r.json()["spec"]["clusterIP"] == "10.123.0.1",
                "kubernetes Service has the first address of the service CIDR",
                r.body[:300])
        r = wait_get(k, "/api/v1/namespaces/default/endpoints/kubernetes")
        ips = [a["ip"] for s in r.json().get("subsets", [])
               for a in s.get("addresses", [])] if r.status == 200 else []
        t.check(ips == ["127.0.0.1"], "--no-node: endpoints say 127.0.0.1", ips)
        r = wait_get(k, "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes")
        sl = r.json() if r.status == 200 else {}
        t.check([e["addresses"] for e in sl.get("endpoints", [])] == [["127.0.0.1"]]
                and [p["port"] for p in sl.get("ports", [])] == [k.port]
                and sl["metadata"]["labels"].get("kubernetes.io/service-name") == "kubernetes",
                "EndpointSlice default/kubernetes: the advertised address and the "
                "port really listened on", sl)
        deadline = time.time() + 10
        while time.time() < deadline:
            r = k.request("GET", "/api/v1/namespaces/default/endpoints/kubernetes")
            ports = [p["port"] for s in r.json().get("subsets", []) for p in s.get("ports", [])]
            if ports == [k.port]:
                break
            time.sleep(0.1)
        t.check(ports == [k.port], "Endpoints default/kubernetes: the port really listened on",
                (ports, k.port))
        r = k.request("POST", SVCS, svc("a"))
        ip = r.json().get("spec", {}).get("clusterIP", "") if r.status == 201 else ""
        t.check(ip.startswith("10.123.0.") and ip != "10.123.0.1",
                "a Service's cluster IP comes from --service-cidr", ip)
        r = k.request("POST", SVCS, svc("b", clusterIP="10.96.0.50"))
        t.check(r.status == 422 and "10.123.0.0/24" in r.json().get("message", ""),
                "a cluster IP outside the CIDR is refused naming it", r.body[:300])
        r = k.request("POST", SVCS, svc("np", type="NodePort"))
        np = r.json()["spec"]["ports"][0].get("nodePort") if r.status == 201 else 0
        t.check(31000 <= np <= 31009, "node port from --service-node-port-range", np)
        r = k.request("POST", SVCS, svc("np2", type="NodePort",
                                        ports=[{"port": 80, "nodePort": 30080}]))
        t.check(r.status == 422 and "31000-31009" in r.json().get("message", ""),
                "a node port outside the range is refused naming it", r.body[:300])
        r = wait_get(k, "/api/v1/namespaces/kube-system/configmaps/libkube-cluster")
        data = r.json().get("data", {}) if r.status == 200 else {}
        want = {"serviceCIDR": "10.123.0.0/24", "serviceNodePortRange": "31000-31009",
                "clusterDomain": "corp.example", "clusterDNS": "10.123.0.10",
                "clusterCIDR": "10.42.0.0/16", "advertiseAddress": "127.0.0.1"}
        t.check(all(data.get(a) == b for a, b in want.items()),
                "ConfigMap kube-system/libkube-cluster has the plan", data)
        check_pod_routes(k, t)
        pem = ssl.get_server_certificate(("127.0.0.1", k.port))
        txt = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName"],
                             input=pem, capture_output=True, text=True).stdout
        t.check("10.123.0.1" in txt and "kubernetes.default.svc.corp.example" in txt
                and "10.96.0.1" not in txt,
                "the serving certificate names the cluster's address and domain", txt)
        k.stop()
    finally:
        k.cleanup()
    check_refused_flags(kubed, t, (("--service-cidr", "10.96.0.1/12"),
                        ("--service-cidr", "banana"),
                        ("--service-node-port-range", "32767-30000"),
                        ("--cluster-dns", "10.96.0.x"),
                        ("--cluster-domain", "Bad_Domain"),
                        ("--advertise-address", "nowhere")))
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
