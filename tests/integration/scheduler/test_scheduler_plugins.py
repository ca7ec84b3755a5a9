#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The scheduler inside `kubed server`, the plugins that need more than one
pod to show: namespaceSelector of pod anti-affinity (resolved against the
namespaces' labels), PodTopologySpread through the API
(topologySpreadConstraints), and preemption performed: the victim gets
DisruptionTarget and is deleted, the preemptor gets
status.nominatedNodeName and is bound once the victim is gone.

usage: test_scheduler_plugins.py KUBED [memory|sqlite]
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "apiserver"))
from kubed_harness import Failures, Kubed  # noqa: E402

ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"


def node(name, cpu, labels):
    labels = dict(labels, **{HOST: name})
    res = {"cpu": str(cpu), "memory": "16Gi", "pods": "110"}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": labels}, "spec": {},
            "status": {"allocatable": res, "capacity": res}}


def pod(name, ns, cpu="100m", labels=None, pool=None, **spec):
    p = {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
         "spec": dict({"containers": [{
             "name": "c", "image": "pause",
             "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}]},
             **spec)}
    if pool:
        p["spec"]["nodeSelector"] = {"pool": pool}
    return p


class T:
    def __init__(self, k, t):
        self.k, self.t = k, t

    def create(self, path, obj):
        r = self.k.request("POST", path, obj)
        if r.status != 201:
            raise RuntimeError("create %s: %r" % (obj["metadata"]["name"], r))
        return r.json()

    def get(self, ns, name):
        r = self.k.request("GET", "/api/v1/namespaces/%s/pods/%s" % (ns, name))
        return r.json() if r.status == 200 else None

    def wait(self, what, fn, timeout=10.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = fn()
            if v:
                return v
            time.sleep(0.02)
        return None

    def wait_bound(self, ns, name):
        return self.wait("bound", lambda: (self.get(ns, name) or {})
                         .get("spec", {}).get("nodeName"))

    def pod(self, p):
        ns = p["metadata"]["namespace"]
        self.create("/api/v1/namespaces/%s/pods" % ns, p)
        return self.wait_bound(ns, p["metadata"]["name"])


def check_ns_selector(s, t):
    for ns, team in (("team-a", "a"), ("team-b", "b")):
        s.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                        "metadata": {"name": ns,
                                                     "labels": {"team": team}}})
    s.create("/api/v1/nodes", node("ns1", 8, {"pool": "ns"}))
    s.create("/api/v1/nodes", node("ns2", 8, {"pool": "ns"}))
    green = {"color": "green"}
    got = s.pod(pod("a0", "team-a", cpu="1", labels=green, pool="ns"))
    t.check(got in ("ns1", "ns2"), "a0 bound", got)
    other = "ns2" if got == "ns1" else "ns1"

    def anti(name, team):
        return pod(name, "team-b", labels=green, pool="ns", affinity={
            "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
                "labelSelector": {"matchLabels": green},
                "topologyKey": HOST,
                "namespaceSelector": {"matchLabels": {"team": team}}}]}})
    # Selects team-a, where a0 runs: not a0's node.
    b0 = s.pod(anti("b0", "a"))
    t.check(b0 == other, "anti-affinity via namespaceSelector avoids a0's node",
            b0)
    # Selects no namespace: nothing to avoid, even on a0's node (where a
    # selector taken for "every namespace" would forbid it).
    p = anti("b1", "nobody")
    p["spec"]["nodeSelector"] = {HOST: got}
    b1 = s.pod(p)
    t.check(b1 == got, "a selector matching no namespace selects no pods",
            "a0 on %s, b0 on %s, b1 on %s" % (got, b0, b1))


def check_spread(s, t):
    for name, zone in (("s1", "z1"), ("s2", "z1"), ("s3", "z2")):
        s.create("/api/v1/nodes", node(name, 8, {"pool": "spread", ZONE: zone}))
    blue = {"color": "blue"}
    zones = {"s1": "z1", "s2": "z1", "s3": "z2"}
    placed = []
    for i in range(6):
        got = s.pod(pod("sp-%d" % i, "default", labels=blue, pool="spread",
                        topologySpreadConstraints=[{
                            "maxSkew": 1, "topologyKey": ZONE,
                            "whenUnsatisfiable": "DoNotSchedule",
                            "labelSelector": {"matchLabels": blue}}]))
        placed.append(zones.get(got))
        counts = [placed.count("z1"), placed.count("z2")]
        t.check(abs(counts[0] - counts[1]) <= 1,
                "spread within maxSkew after %d pods" % (i + 1), placed)
    t.check(placed.count("z1") == 3 and placed.count("z2") == 3,
            "6 pods spread 3/3 over the zones (MostAllocated alone packs)",
            placed)


def check_preemption(s, t):
    s.create("/api/v1/nodes", node("p1", 2, {"pool": "prio"}))
    low = s.pod(pod("low", "default", cpu="1500m", pool="prio",
                    terminationGracePeriodSeconds=0))
    t.check(low == "p1", "low-priority pod bound", low)
    s.create("/api/v1/namespaces/default/pods",
             pod("high", "default", cpu="1500m", pool="prio", priority=100))
    got = s.wait_bound("default", "high")
    t.check(got == "p1", "high-priority pod bound after preemption", got)
    t.check(s.get("default", "low") is None, "the victim was deleted",
            s.get("default", "low"))
    high = s.get("default", "high") or {}
    t.check(high.get("status", {}).get("nominatedNodeName") == "p1",
            "preemptor had status.nominatedNodeName", high.get("status"))
    r = s.k.request("GET", "/api/v1/namespaces/default/events")
    evs = [e for e in r.json().get("items", [])
           if e.get("reason") == "Preempted"
           and e["involvedObject"].get("name") == "low"]
    t.check(evs and "on node p1" in evs[0].get("message", ""),
            "Preempted event on the victim", evs)
    # Equal priority never preempts.
    s.create("/api/v1/namespaces/default/pods",
             pod("same", "default", cpu="1500m", pool="prio", priority=100))
    time.sleep(0.5)
    t.check(not (s.get("default", "same") or {}).get("spec", {}).get("nodeName")
            and s.get("default", "high") is not None,
            "equal priority: no preemption")


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    store = sys.argv[2] if len(sys.argv) > 2 else "memory"
    t = Failures()
    k = Kubed(sys.argv[1], store=store)
    try:
        k.start()
        s = T(k, t)
        check_ns_selector(s, t)
        check_spread(s, t)
        check_preemption(s, t)
    except Exception as e:  # report, then fail
        t.check(False, "scheduler plugins test raised %r" % e)
        print(k.read_log()[-4000:], file=sys.stderr)
    finally:
        k.cleanup()
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
