#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The scheduler loop of `kubed server` against Node objects created through
the API (no kubelet): pods are bound where bin-packing puts them, node
selectors and taints are respected, pods bound by someone else count,
unschedulable pods get a FailedScheduling event and the PodScheduled=False
condition and are retried when a node is added or a pod goes away, and a
burst of pods never over-commits a node.

Every node has 1 CPU per 2Gi of memory and every pod asks in the same ratio,
so BalancedAllocation scores all nodes alike and MostAllocated decides: the
feasible node with the highest utilisation after placement wins.

usage: test_scheduler.py KUBED [memory|sqlite]
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "apiserver"))
from kubed_harness import Failures, Kubed  # noqa: E402

GI = 1024 ** 3
NS = "/api/v1/namespaces/default"


def node(name, cpu, labels=None, taints=None):
    n = {"apiVersion": "v1", "kind": "Node",
         "metadata": {"name": name, "labels": labels or {}},
         "spec": {},
         "status": {"allocatable": {"cpu": str(cpu), "memory": "%dGi" % (2 * cpu),
                                    "pods": "110"},
                    "capacity": {"cpu": str(cpu), "memory": "%dGi" % (2 * cpu),
                                 "pods": "110"}}}
    if taints:
        n["spec"]["taints"] = taints
    return n


def pod(name, cpu_milli, node_name=None, selector=None, tolerate=False,
        scheduler=None):
    p = {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": name, "labels": {"app": "sched-test"}},
         "spec": {"containers": [{
             "name": "c", "image": "busybox",
             "resources": {"requests": {
                 "cpu": "%dm" % cpu_milli,
                 "memory": "%dMi" % (cpu_milli * 2048 // 1000)}}}]}}
    if node_name:
        p["spec"]["nodeName"] = node_name
    if selector:
        p["spec"]["nodeSelector"] = selector
    if tolerate:
        p["spec"]["tolerations"] = [{"key": "dedicated", "operator": "Equal",
                                     "value": "gpu", "effect": "NoSchedule"}]
    if scheduler:
        p["spec"]["schedulerName"] = scheduler
    return p


class T:
    def __init__(self, k, t):
        self.k = k
        self.t = t

    def create(self, path, obj):
        r = self.k.request("POST", path, obj)
        if r.status != 201:
            raise RuntimeError("create %s: %r" % (obj["metadata"]["name"], r))
        # Nodes: make sure the status (allocatable) is there even if a
        # server dropped it on create.
        if obj["kind"] == "Node" and "allocatable" not in r.json().get("status", {}):
            r = self.k.request("PATCH", "/api/v1/nodes/%s/status" % obj["metadata"]["name"],
                               {"status": obj["status"]},
                               ctype="application/merge-patch+json")
            if r.status != 200:
                raise RuntimeError("node status: %r" % r)
        return r.json()

    def get_pod(self, name):
        r = self.k.request("GET", NS + "/pods/" + name)
        return r.json() if r.status == 200 else None

    def wait_bound(self, name, timeout=10.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            p = self.get_pod(name)
            if p and p["spec"].get("nodeName"):
                return p["spec"]["nodeName"]
            time.sleep(0.02)
        return None

    def events(self, name):
        r = self.k.request("GET", NS + "/events?fieldSelector=involvedObject.name%3D" + name)
        return r.json()["items"] if r.status == 200 else []

    def wait_event(self, name, reason, timeout=10.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            evs = [e for e in self.events(name) if e.get("reason") == reason]
            if evs:
                return evs
            time.sleep(0.05)
        return []

    def place(self, name, expect, **kw):
        self.create(NS + "/pods", pod(name, **kw))
        got = self.wait_bound(name)
        self.t.check(got == expect, "%s bound to %s" % (name, expect), "got %r" % got)
        return got


def check_unschedulable(s, t, name, n_nodes, why):
    evs = s.wait_event(name, "FailedScheduling")
    t.check(len(evs) >= 1, "%s gets FailedScheduling" % name)
    if not evs:
        return
    e = evs[0]
    msg = e.get("message", "")
    t.check(msg.startswith("0/%d nodes are available" % n_nodes),
            "%s message counts %d nodes" % (name, n_nodes), msg)
    t.check(why in msg, "%s message says %r" % (name, why), msg)
    t.check(e.get("type") == "Warning", "%s event type Warning" % name, e.get("type"))
    io = e.get("involvedObject", {})
    p = s.get_pod(name)
    t.check(io.get("kind") == "Pod" and io.get("name") == name and
            io.get("namespace") == "default" and p and io.get("uid") == p["metadata"]["uid"],
            "%s event involvedObject" % name, io)
    t.check(e.get("source", {}).get("component") == "default-scheduler",
            "%s event source" % name, e.get("source"))
    t.check(p and not p["spec"].get("nodeName"), "%s stays unbound" % name)
    # The PodScheduled=False condition follows the event.
    deadline = time.time() + 5
    cond = None
    while time.time() < deadline:
        p = s.get_pod(name)
        cond = [c for c in p.get("status", {}).get("conditions", [])
                if c.get("type") == "PodScheduled"]
        if cond and cond[0].get("status") == "False":
            break
        time.sleep(0.05)
    t.check(cond and cond[0].get("status") == "False" and
            cond[0].get("reason") == "Unschedulable" and
            cond[0].get("message", "").startswith("0/%d nodes" % n_nodes),
            "%s PodScheduled=False/Unschedulable" % name, cond)


def main():
    if len(sys.argv) < 2:
        print("usage: test_scheduler.py KUBED [memory|sqlite]", file=sys.stderr)
        return 2
    store = sys.argv[2] if len(sys.argv) > 2 else "memory"
    t = Failures()
    k = Kubed(sys.argv[1], store=store)
    try:
        k.start()
        s = T(k, t)
        taint = [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]
        s.create("/api/v1/nodes", node("n1", 4, {"zone": "a"}))
        s.create("/api/v1/nodes", node("n2", 8, {"zone": "b"}))
        s.create("/api/v1/nodes", node("n3", 12, {"zone": "a"}, taint))
        s.create("/api/v1/nodes", node("n4", 16, {"zone": "b", "disk": "ssd"}))

        # A pod bound by someone else counts on n4: 12 of 16 CPUs.
        s.create(NS + "/pods", pod("pre", 12000, node_name="n4"))
        # Fullest feasible node first.
        s.place("p1", "n4", cpu_milli=1000)   # n4 13/16 beats n1 1/4
        s.place("p2", "n4", cpu_milli=2000)   # n4 15/16
        s.place("p3", "n1", cpu_milli=2000)   # n4 is full: n1 2/4 beats n2 2/8
        s.place("p4", "n4", cpu_milli=1000, selector={"disk": "ssd"})  # 16/16
        s.place("p5", "n1", cpu_milli=1000, tolerate=True)  # n1 3/4
        s.place("p6", "n3", cpu_milli=10000, tolerate=True)  # only n3 has 10
        ev = s.wait_event("p1", "Scheduled")
        t.check(ev and ev[0]["message"] == "Successfully assigned default/p1 to n4" and
                ev[0].get("type") == "Normal",
                "Scheduled event", ev and ev[0].get("message"))
        p1 = s.get_pod("p1")
        cond = [c for c in p1.get("status", {}).get("conditions", [])
                if c.get("type") == "PodScheduled"]
        t.check(cond and cond[0]["status"] == "True", "p1 PodScheduled=True", cond)

        # Fits nowhere: n1 1 free, n2 8, n3 2 (and tainted), n4 0.
        s.create(NS + "/pods", pod("p7", 10000))
        check_unschedulable(s, t, "p7", 4, "Insufficient cpu")
        # A selector nobody matches.
        s.create(NS + "/pods", pod("p8", 100, selector={"zone": "nowhere"}))
        check_unschedulable(s, t, "p8", 4, "node affinity/selector")
        # Another scheduler's pod is left alone.
        s.create(NS + "/pods", pod("other", 100, scheduler="someone-else"))

        # A new node lets p7 in (retried at once, not after its backoff).
        t0 = time.time()
        s.create("/api/v1/nodes", node("n5", 16, {"zone": "c"}))
        got = s.wait_bound("p7")
        t.check(got == "n5", "p7 bound to the new node n5", got)
        t.check(time.time() - t0 < 3, "p7 retried when the node appeared",
                "%.2fs" % (time.time() - t0))

        # n5 10/16: p9 (12) does not fit anywhere until p7 goes away.
        s.create(NS + "/pods", pod("p9", 12000))
        check_unschedulable(s, t, "p9", 5, "Insufficient cpu")
        r = k.request("DELETE", NS + "/pods/p7", {"gracePeriodSeconds": 0})
        t.check(r.status == 200, "delete p7", r)
        got = s.wait_bound("p9")
        t.check(got == "n5", "p9 bound to n5 once p7 was deleted", got)

        p8 = s.get_pod("p8")
        t.check(p8 and not p8["spec"].get("nodeName"), "p8 still pending")
        other = s.get_pod("other")
        t.check(other and not other["spec"].get("nodeName"),
                "pod of another scheduler not bound")
        t.check(not s.events("other"), "no events for another scheduler's pod",
                s.events("other"))
        evs = s.events("p8")
        msgs = [e["message"] for e in evs if e["reason"] == "FailedScheduling"]
        # Retried at least twice (backoff, node n5 added): one event per
        # distinct explanation (0/4 nodes, then 0/5 nodes).
        t.check(len(msgs) == len(set(msgs)) == 2,
                "a repeated failure does not repeat the event", msgs)

        # A burst: the free room is n1 1 CPU, n2 8, n5 4 (n3 is tainted, n4
        # full), 13 CPUs: 26 pods of 500m created back to back are all bound
        # (many in one pass, assumed before their bindings return) and no
        # node ends up over-committed.
        for i in range(26):
            s.create(NS + "/pods", pod("burst-%d" % i, 500))
        bound = [s.wait_bound("burst-%d" % i) for i in range(26)]
        t.check(all(bound), "burst pods all bound",
                [i for i, b in enumerate(bound) if not b])
        pods = k.request("GET", NS + "/pods").json()["items"]
        used = {}
        for p in pods:
            n = p["spec"].get("nodeName")
            if not n:
                continue
            c = p["spec"]["containers"][0]["resources"]["requests"]["cpu"]
            used[n] = used.get(n, 0) + int(c[:-1])
        cap = {"n1": 4000, "n2": 8000, "n3": 12000, "n4": 16000, "n5": 16000}
        t.check(all(used[n] <= cap[n] for n in used), "no node over-committed", used)
        t.check(used == cap | {"n3": 10000}, "burst fills n1, n2 and n5", used)

        # A pod bound to a node that does not exist yet counts once the node
        # appears: n6 (16) with "early" (12) leaves 4 CPUs.
        s.create(NS + "/pods", pod("early", 12000, node_name="n6"))
        time.sleep(0.2)
        s.create("/api/v1/nodes", node("n6", 16, {"zone": "d"}))
        s.create(NS + "/pods", pod("late", 6000))
        check_unschedulable(s, t, "late", 6, "Insufficient cpu")
        s.place("fits", "n6", cpu_milli=4000)
    except Exception as e:  # report, then fail
        t.check(False, "scheduler test raised %r" % e)
        print(k.read_log()[-4000:], file=sys.stderr)
    finally:
        k.cleanup()
    check_flags(t, sys.argv[1], store)
    check_packing_profile(t, sys.argv[1], store)
    return t.finish()


def check_flags(t, kubed, store):
    """--scheduler-config (LeastAllocated spreads) and --disable-scheduler."""
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write("# spread instead of packing\nstrategy = LeastAllocated\n")
        conf = f.name
    k = Kubed(kubed, store=store, extra=["--scheduler-config", conf])
    try:
        k.start()
        s = T(k, t)
        s.create("/api/v1/nodes", node("big", 16))
        s.create("/api/v1/nodes", node("small", 4))
        s.create(NS + "/pods", pod("a", 1000, node_name="big"))
        s.place("spread", "big", cpu_milli=1000)  # 2/16 beats 1/4 when spreading
    except Exception as e:
        t.check(False, "--scheduler-config raised %r" % e)
    finally:
        k.cleanup()
        os.unlink(conf)
    k = Kubed(kubed, store=store, extra=["--disable-scheduler"])
    try:
        k.start()
        s = T(k, t)
        s.create("/api/v1/nodes", node("n1", 4))
        s.create(NS + "/pods", pod("alone", 100))
        time.sleep(0.5)
        p = s.get_pod("alone")
        t.check(p and not p["spec"].get("nodeName"), "--disable-scheduler leaves pods unbound")
        t.check(not s.events("alone"), "--disable-scheduler writes no events")
    except Exception as e:
        t.check(False, "--disable-scheduler raised %r" % e)
    finally:
        k.cleanup()


def check_packing_profile(t, kubed, store):
    """The packing profile (libkube.io/VectorFit, README): a CPU-heavy pod
    that would strand a nearly full node's memory goes to the node that it
    evens out, a memory-heavy one then evens the full node out."""
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write("score.libkube.io/VectorFit = 1\n"
                "score.NodeResourcesFit = 0\n"
                "score.NodeResourcesBalancedAllocation = 0\n"
                "percentageOfNodesToScore = 100\n")
        conf = f.name
    k = Kubed(kubed, store=store, extra=["--scheduler-config", conf])

    def sized(obj, cpu, mem):
        if obj["kind"] == "Node":
            for r in ("allocatable", "capacity"):
                obj["status"][r]["memory"] = mem
        else:
            obj["spec"]["containers"][0]["resources"]["requests"] = {
                "cpu": cpu, "memory": mem}
        return obj
    try:
        k.start()
        s = T(k, t)
        for n in ("pa", "pb", "pc"):
            s.create("/api/v1/nodes", sized(node(n, 16), None, "64Gi"))
        s.create(NS + "/pods", sized(pod("full", 0, node_name="pa"),
                                     "14", "40Gi"))
        s.create(NS + "/pods", sized(pod("memory", 0, node_name="pc"),
                                     "2", "24Gi"))
        s.wait_bound("full")
        s.wait_bound("memory")
        s.create(NS + "/pods", sized(pod("cpuheavy", 0), "2", "2Gi"))
        got = s.wait_bound("cpuheavy")
        t.check(got == "pc", "packing profile: CPU-heavy pod evens pc out",
                "got %r" % got)
        s.create(NS + "/pods", sized(pod("memheavy", 0), "1", "16Gi"))
        got = s.wait_bound("memheavy")
        t.check(got == "pa", "packing profile: memory-heavy pod evens pa out",
                "got %r" % got)
    except Exception as e:
        t.check(False, "packing profile raised %r" % e)
    finally:
        k.cleanup()
        os.unlink(conf)


if __name__ == "__main__":
    sys.exit(main())
