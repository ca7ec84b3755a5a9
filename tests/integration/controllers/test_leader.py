#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Two `kubed server --no-node` on one 3-member etcd cluster (started by
the test on loopback): both serve the API, exactly one holds the kube-scheduler and
kube-controller-manager Leases and schedules / reconciles; a Deployment
made through either gets its pods once, each bound once.  kill -9 of the
leader: the other takes both Leases once the lease (15 s) has run out,
and a scale-up through it is reconciled and scheduled, still with no
ReplicaSet or pod made twice.  The handover time is printed, not
asserted.  Exits 77 without /usr/bin/etcd.

usage: test_leader.py KUBED KUBE"""
import collections
import shutil
import sys
import tempfile
import time

from ctl_harness import (Api, FakeKubelet, Failures, Kubed,  # noqa: E402
                         add_nodes, wait)
from kubed_harness import Etcd, EtcdCluster  # noqa: E402
from test_hpa import workload  # noqa: E402

APPS = "/apis/apps/v1/namespaces/default"
LEASE = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/"
NAMES = ("kube-scheduler", "kube-controller-manager")
# The API only: no registry, DNS or dashboard to collide on ports.
QUIET = ["--no-registry", "--no-dns", "--no-dashboard"]


def holder(a, name):
    lease = a.get(LEASE + name)
    return (lease or {}).get("spec", {}).get("holderIdentity")


def acquired(k, name):
    return "acquired lease kube-system/%s" % name in k.read_log()


def pods(a):
    return a.items("/api/v1/namespaces/default/pods", "app=web")


def scheduled_twice(a):
    evs = a.events("default", reason="Scheduled")
    n = collections.Counter(e["involvedObject"]["name"] for e in evs)
    return sorted(name for name, c in n.items() if c > 1)


def settled(a, want):
    """want pods, all bound, all Running, and the count stays."""
    def ok():
        ps = pods(a)
        return (len(ps) == want and
                all(p["spec"].get("nodeName") and
                    p.get("status", {}).get("phase") == "Running"
                    for p in ps))
    if not wait(ok, 60):
        return False
    time.sleep(2)  # anything made twice would show now
    return ok()


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    if not Etcd.available():
        print("SKIP: %s missing (the shared store of both servers)" %
              Etcd.BINARY)
        return 77
    kubed = sys.argv[1]
    t = Failures()
    tmp = tempfile.mkdtemp(prefix="kubed-leader-")
    etcd = EtcdCluster(tmp, 3).start()
    ka = Kubed(kubed, store="etcd", extra=QUIET)
    kb = Kubed(kubed, store="etcd", extra=QUIET)
    ka.etcd = kb.etcd = etcd
    kubelet = None
    try:
        ka.start()
        a = Api(ka)
        t.check(all(wait(lambda: holder(a, n), 30) for n in NAMES),
                "first server holds both leases")
        kb.start()
        b = Api(kb)
        leader = {n: holder(a, n) for n in NAMES}
        t.check(all(acquired(ka, n) and not acquired(kb, n) for n in NAMES),
                "exactly one server leads (the first)",
                (leader, kb.read_log()[-2000:]))
        t.check({n: holder(b, n) for n in NAMES} == leader,
                "both servers serve the same Leases", leader)

        add_nodes(kb, ["n1", "n2"])
        kubelet = FakeKubelet(kb, ["n1", "n2"]).start()
        b.create(APPS + "/deployments", workload("Deployment", "web", 3))
        t.check(settled(a, 3), "3 pods through the leader, seen by both",
                [p["metadata"]["name"] for p in pods(b)])
        rss = a.items(APPS + "/replicasets", "app=web")
        t.check(len(rss) == 1, "one ReplicaSet", len(rss))
        t.check(not acquired(kb, NAMES[0]) and not acquired(kb, NAMES[1]),
                "the second server stays a candidate")

        # kill -9 the leader
        killed = time.time()
        ka.stop(kill=True)
        took = wait(lambda: all(acquired(kb, n) for n in NAMES) and
                    time.time() - killed, 60, 0.2)
        t.check(took, "the second server takes both leases",
                kb.read_log()[-2000:])
        if took:
            print("handover after kill -9: %.1f s (lease duration 15 s)" %
                  took)
        t.check(all(holder(b, n) and holder(b, n) != leader[n]
                    for n in NAMES), "new holders",
                {n: holder(b, n) for n in NAMES})
        lease = b.get(LEASE + "kube-controller-manager")
        t.check(lease and lease["spec"].get("leaseTransitions", 0) >= 1,
                "leaseTransitions counted", lease)
        b.patch(APPS + "/deployments/web", {"spec": {"replicas": 5}})
        t.check(settled(b, 5), "scaled to 5 by the new leader",
                [p["metadata"]["name"] for p in pods(b)])
        rss = b.items(APPS + "/replicasets", "app=web")
        t.check(len(rss) == 1, "still one ReplicaSet", len(rss))
        t.check(not scheduled_twice(b), "no pod scheduled twice",
                scheduled_twice(b))
    finally:
        if kubelet:
            kubelet.stop()
        if t.failed:
            for name, k in (("first", ka), ("second", kb)):
                print("---- %s kubed log (tail) ----" % name)
                print("\n".join(k.read_log().splitlines()[-25:]))
        kb.cleanup()
        ka.cleanup()
        etcd.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
