#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""What the writers inside kubed leave on objects, as against Kubernetes
1.32: kubed --no-node --hollow-nodes 1 (the hollow kubelet runs in the
server).

managers: the in-process controllers, scheduler and kubelet send
kube's User-Agents, so managedFields name kube-controller-manager,
kube-scheduler and kubelet (never "unknown"), with subresource status
for their status writes (scale for `kubectl scale`), and so does
`kubectl get -o yaml --show-managed-fields`.

conditions: a condition's lastTransitionTime moves only when its status
does (podutil.UpdatePodCondition, SetDeploymentCondition): PodScheduled
False keeps its time when the scheduler's message changes, the binding's
PodScheduled True replaces it whole (reason and message gone) with a new
time; a rollout moves Progressing's lastUpdateTime, not its
lastTransitionTime, and leaves Available's alone.  Pod conditions always
show lastProbeTime and lastTransitionTime, null when unset, as kube's
typed encoding does.

usage: test_writers.py KUBED KUBE [memory|sqlite] [managers|conditions]"""
import os
import sys
import time

from ctl_harness import (KUBECTL, Api, Cli, Failures, Kubed,  # noqa: E402
                         kubed_args, wait, wind_down)

NS = "/api/v1/namespaces/default"
APPS = "/apis/apps/v1/namespaces/default"
NODE = "/api/v1/nodes/hollow-node-0"


def managers(o):
    """(manager, operation, subresource) of o's managedFields."""
    return sorted({(m.get("manager"), m.get("operation"),
                    m.get("subresource", ""))
                   for m in (o or {}).get("metadata", {})
                   .get("managedFields", [])})


def cond(o, typ):
    for c in (o or {}).get("status", {}).get("conditions", []):
        if c.get("type") == typ:
            return c
    return None


def pod(name, selector=None):
    spec = {"containers": [{"name": "c", "image": "nginx:1"}]}
    if selector:
        spec["nodeSelector"] = selector
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name}, "spec": spec}


def deployment(name, image="nginx:1"):
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [
                                      {"name": "c", "image": image}]}}}}


def running(a, path):
    o = a.get(path)
    return o if (o or {}).get("status", {}).get("phase") == "Running" else None


def check_managers(t, a, k, kc):
    a.create(APPS + "/deployments", deployment("web"))
    p = wait(lambda: [x for x in a.items(NS + "/pods", "app=web")
                      if x.get("status", {}).get("phase") == "Running"], 30)
    t.check(p, "the Deployment's pod runs on the hollow node", p)
    if not p:
        return
    name = p[0]["metadata"]["name"]
    got = managers(a.get(NS + "/pods/" + name))
    t.check(("kube-controller-manager", "Update", "") in got and
            ("kubelet", "Update", "status") in got,
            "pod: kube-controller-manager made it, kubelet wrote its status "
            "(subresource status)", got)
    rs = a.items(APPS + "/replicasets", "app=web")
    t.check(rs and managers(rs[0]) ==
            [("kube-controller-manager", "Update", ""),
             ("kube-controller-manager", "Update", "status")],
            "replicaset: kube-controller-manager, and for its status",
            rs and managers(rs[0]))
    d = wait(lambda: ("kube-controller-manager", "Update", "status") in
             managers(a.get(APPS + "/deployments/web")), 15)
    t.check(d, "deployment status: kube-controller-manager",
            managers(a.get(APPS + "/deployments/web")))
    got = managers(a.get(NODE))
    t.check(("kubelet", "Update", "") in got and
            ("kubelet", "Update", "status") in got,
            "node: kubelet, and for its status", got)
    lease = a.get("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/"
                  "leases/hollow-node-0")
    t.check(managers(lease) == [("kubelet", "Update", "")],
            "node lease: kubelet",
            managers(lease))
    # An unschedulable pod: the scheduler's PodScheduled=False write.
    a.create(NS + "/pods", pod("stuck", {"disk": "none"}))
    got = wait(lambda: ("kube-scheduler", "Update", "status") in
               managers(a.get(NS + "/pods/stuck")), 15)
    t.check(got, "unschedulable pod: kube-scheduler wrote its condition",
            managers(a.get(NS + "/pods/stuck")))
    evs = a.items(NS + "/events")
    unknown = [e["metadata"]["name"] for e in evs
               if any(m[0] == "unknown" for m in managers(e))]
    ev_managers = sorted({m[0] for e in evs for m in managers(e)})
    t.check(evs and not unknown and "kube-scheduler" in ev_managers and
            "kubelet" in ev_managers and
            "kube-controller-manager" in ev_managers,
            "events: written as kube-scheduler, kubelet, "
            "kube-controller-manager; none as unknown",
            (ev_managers, unknown))
    # Nothing anywhere written as "unknown"; what kube-apiserver makes
    # itself (namespaces, bootstrap roles, APIServices) says so.
    # (The test's own writes send no User-Agent: not these.)
    lists = ["/api/v1/configmaps", "/api/v1/endpoints",
             "/api/v1/pods?labelSelector=app%3Dweb", "/api/v1/nodes", "/api/v1/namespaces", "/api/v1/services",
             "/apis/apps/v1/replicasets",
             "/apis/coordination.k8s.io/v1/leases",
             "/apis/discovery.k8s.io/v1/endpointslices",
             "/apis/rbac.authorization.k8s.io/v1/clusterroles",
             "/apis/apiregistration.k8s.io/v1/apiservices"]
    unknown = [(p, o["metadata"]["name"]) for p in lists for o in a.items(p)
               if any(m[0] == "unknown" for m in managers(o))]
    t.check(not unknown, "no object has a manager \"unknown\"", unknown)
    t.check(managers(a.get("/api/v1/namespaces/default")) ==
            [("kube-apiserver", "Update", "")] and
            managers(a.get("/apis/rbac.authorization.k8s.io/v1/"
                           "clusterroles/system:kube-scheduler")) ==
            [("kube-apiserver", "Update", "")] and
            ("kube-apiserver", "Update", "") in
            managers(a.get("/apis/apiregistration.k8s.io/v1/apiservices/"
                           "v1.apps")),
            "bootstrap objects: kube-apiserver",
            [managers(a.get("/api/v1/namespaces/default")),
             managers(a.get("/apis/apiregistration.k8s.io/v1/apiservices/"
                            "v1.apps"))])
    if kc:
        rc, out, err = kc.run("get", "pod", name, "-o", "yaml",
                              "--show-managed-fields")
        lines = [ln.strip() for ln in out.splitlines()
                 if ln.strip().startswith("manager:")]
        subs = [ln.strip() for ln in out.splitlines()
                if ln.strip().startswith("subresource:")]
        t.check(rc == 0 and "manager: kubelet" in lines and
                "manager: kube-controller-manager" in lines and
                "manager: unknown" not in lines and
                subs == ["subresource: status"],
                "kubectl get pod -o yaml --show-managed-fields", (out, err))
        rc, out, err = kc.run("scale", "deployment", "web", "--replicas=2")
        got = managers(a.get(APPS + "/deployments/web"))
        t.check(rc == 0 and any(m[2] == "scale" for m in got),
                "kubectl scale: an entry with subresource scale", got)


def check_conditions(t, a, k, kc):
    a.create(NS + "/pods", pod("sel", {"disk": "ssd"}))
    c0 = wait(lambda: cond(a.get(NS + "/pods/sel"), "PodScheduled"), 15)
    t.check(c0 and c0["status"] == "False" and
            c0.get("reason") == "Unschedulable" and
            "lastProbeTime" in c0 and c0["lastProbeTime"] is None,
            "no node fits: PodScheduled False, Unschedulable, "
            "lastProbeTime null (kube's typed encoding)", c0)
    if not c0:
        return
    time.sleep(1.2)  # the times have seconds: let one pass
    r = a.patch(NODE, {"spec": {"taints": [
        {"key": "x", "value": "y", "effect": "NoSchedule"}]}})
    c1 = wait(lambda: (lambda c: c if c and c.get("message") !=
                       c0.get("message") else None)(
        cond(a.get(NS + "/pods/sel"), "PodScheduled")), 15)
    t.check(r.status == 200 and c1 and "taint" in c1.get("message", "") and
            c1["status"] == "False" and
            c1["lastTransitionTime"] == c0["lastTransitionTime"],
            "a new message, the same status: lastTransitionTime kept",
            (c0, c1))
    time.sleep(1.2)
    r = a.patch(NODE, {"metadata": {"labels": {"disk": "ssd"}},
                       "spec": {"taints": None}})
    p = wait(lambda: running(a, NS + "/pods/sel"), 30)
    c2 = cond(p, "PodScheduled")
    t.check(r.status == 200 and c2 and c2["status"] == "True" and
            c2["lastTransitionTime"] > c0["lastTransitionTime"] and
            "reason" not in c2 and "message" not in c2,
            "bound: PodScheduled True replaces the condition, a new "
            "lastTransitionTime", c2)
    ready = cond(p, "Ready")
    t.check(ready and ready["status"] == "True" and
            cond(p, "ContainersReady") and cond(p, "Initialized"),
            "the kubelet's conditions are there", p and p.get("status"))

    a.create(APPS + "/deployments", deployment("roll"))
    d0 = wait(lambda: (lambda d: d if d and (cond(d, "Progressing") or {})
                       .get("reason") == "NewReplicaSetAvailable" and
                       (cond(d, "Available") or {}).get("status") == "True"
                       else None)(a.get(APPS + "/deployments/roll")), 30)
    t.check(d0, "deployment: Available, NewReplicaSetAvailable",
            d0 and d0.get("status"))
    if not d0:
        return
    time.sleep(1.2)
    r = a.patch(APPS + "/deployments/roll", {"spec": {"template": {"spec": {
        "containers": [{"name": "c", "image": "nginx:2"}]}}}},
        ctype="application/strategic-merge-patch+json")
    d1 = wait(lambda: (lambda d: d if d and (cond(d, "Progressing") or {})
                       .get("reason") == "NewReplicaSetAvailable" and
                       cond(d, "Progressing")["lastUpdateTime"] !=
                       cond(d0, "Progressing")["lastUpdateTime"]
                       else None)(a.get(APPS + "/deployments/roll")), 30)
    p0, p1 = cond(d0, "Progressing"), cond(d1, "Progressing")
    a0, a1 = cond(d0, "Available"), cond(d1, "Available")
    t.check(r.status == 200 and d1 and
            p1["lastTransitionTime"] == p0["lastTransitionTime"] and
            p1["lastUpdateTime"] > p0["lastUpdateTime"] and
            a1 == a0,
            "rollout: Progressing's lastUpdateTime moves, its "
            "lastTransitionTime and Available do not", (d0 and d0["status"],
                                                         d1 and d1["status"]))


SECTIONS = {"managers": check_managers, "conditions": check_conditions}


def main():
    if len(sys.argv) < 3 or any(s not in SECTIONS for s in sys.argv[4:]):
        print(__doc__)
        return 2
    kubed = sys.argv[1]
    store = sys.argv[3] if len(sys.argv) > 3 else "memory"
    t = Failures()
    k = Kubed(kubed, store=store,
              extra=kubed_args(kubed) + ["--hollow-nodes", "1"])
    clis = []
    try:
        k.start()
        a = Api(k)
        kc = None
        if os.access(KUBECTL, os.X_OK):
            kc = Cli(KUBECTL, k, "kubectl")
            clis.append(kc)
        ok = wait(lambda: cond(a.get(NODE), "Ready"), 20)
        t.check(ok, "the hollow node is there", a.get(NODE))
        for s in sys.argv[4:] or list(SECTIONS):
            SECTIONS[s](t, a, k, kc)
    finally:
        wind_down(t, k, None, clis)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
