#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The node controllers of `kubed server` against a real kubed (a stand-in
kubelet renews the nodes' Leases and marks pods ready; "killing" a node
stops both): node lifecycle (Ready=Unknown with kube-controller-manager's
reason and message, unreachable taints, kubectl showing NotReady, pods
evicted after their tolerationSeconds and recreated elsewhere by their
Deployment, DefaultTolerationSeconds, recovery removing the taints, no
eviction when every node is down), node IPAM (distinct pod CIDRs, a
restart handing out nothing twice, a bad --cluster-cidr), ServiceAccount
"default" and ConfigMap kube-root-ca.crt in every namespace, the
PersistentVolume binder (a claim bound to the smallest fitting volume,
kubectl showing both Bound, Released after the claim goes) and the
built-in local-path provisioner (default StorageClass, a claim without a
class provisioned on its pod's node, Delete removing the directory).

usage: test_nodes.py KUBED KUBE [memory|sqlite] [SECTION...]
sections: nodelifecycle podgc nodeipam serviceaccounts pvbinder localpath
(default: all)"""
import ipaddress
import json
import os
import subprocess
import sys
import tempfile
import time

from ctl_harness import (Api, FakeKubelet, Failures, Kubed,  # noqa: E402
                         add_nodes, kubed_args, make_clis, ready_pods,
                         template, wait, wind_down)

NS = "/api/v1/namespaces/default"
APPS = "/apis/apps/v1/namespaces/default"
NODES = ["n1", "n2", "n3"]
GRACE = 3  # --node-monitor-grace-period for the suite
UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"


def live(pods):
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


def cond(obj, typ):
    for c in obj.get("status", {}).get("conditions", []):
        if c["type"] == typ:
            return c
    return None


def taints(node):
    return {(t["key"], t["effect"]) for t in node["spec"].get("taints", [])}


class Suite:
    def __init__(self, t, k, kubelet, kube, kubectl, store):
        self.t = t
        self.k = k
        self.a = Api(k)
        self.kubelet = kubelet
        self.kube = kube
        self.kubectl = kubectl
        self.store = store

    def check(self, *args):
        self.t.check(*args)

    def node(self, name):
        return self.a.get("/api/v1/nodes/" + name)

    def pods(self, selector):
        return live(self.a.items(NS + "/pods", selector))

    # ---- node lifecycle -------------------------------------------------

    def nodelifecycle(self):
        t = self.check
        plain = self.a.create(NS + "/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "plain"},
            "spec": template({})["spec"]})
        tols = {(x.get("key"), x.get("effect"), x.get("tolerationSeconds"))
                for x in plain["spec"].get("tolerations", [])}
        t(tols == {(NOT_READY, "NoExecute", 300), (UNREACHABLE, "NoExecute", 300)},
          "DefaultTolerationSeconds: not-ready and unreachable for 300 s",
          plain["spec"].get("tolerations"))
        tmpl = template({"app": "evict"})
        tmpl["spec"]["tolerations"] = [{
            "key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
            "tolerationSeconds": 3}]
        self.a.create(APPS + "/deployments", {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "evict"},
            "spec": {"replicas": 6, "selector": {"matchLabels": {"app": "evict"}},
                     "template": tmpl}})

        def six_ready(avoid=None):
            def c():
                ps = self.pods("app=evict")
                ok = [p for p in ready_pods(ps)
                      if p["spec"].get("nodeName") != avoid]
                return ps if len(ps) == 6 and len(ok) == 6 else None
            return c
        pods = wait(six_ready(), 60) or []
        t(len(pods) == 6, "nodelifecycle: 6 pods ready", len(pods))
        if not pods:
            return
        tols = pods[0]["spec"]["tolerations"]
        t(any(x.get("key") == UNREACHABLE and x.get("tolerationSeconds") == 3
              for x in tols) and
          any(x.get("key") == NOT_READY and x.get("tolerationSeconds") == 300
              for x in tols),
          "DefaultTolerationSeconds keeps the pod's own toleration", tols)
        victim = pods[0]["spec"]["nodeName"]
        doomed = {p["metadata"]["name"] for p in pods
                  if p["spec"]["nodeName"] == victim}
        self.kubelet.kill(victim)
        n = wait(lambda: (lambda x: x if (UNREACHABLE, "NoExecute") in
                          taints(x) else None)(self.node(victim)), 30)
        t(n is not None, "nodelifecycle: silent node tainted unreachable:NoExecute",
          self.node(victim))
        if not n:
            return
        rc = cond(n, "Ready")
        t(rc["status"] == "Unknown" and rc["reason"] == "NodeStatusUnknown" and
          rc["message"] == "Kubelet stopped posting node status.",
          "nodelifecycle: Ready=Unknown NodeStatusUnknown", rc)
        t((UNREACHABLE, "NoSchedule") in taints(n),
          "nodelifecycle: unreachable:NoSchedule too", n["spec"].get("taints"))
        t(all(x.get("timeAdded") for x in n["spec"]["taints"]
              if x["effect"] == "NoExecute"),
          "nodelifecycle: the NoExecute taint has timeAdded", n["spec"]["taints"])
        others = [self.node(x) for x in NODES if x != victim]
        t(all(cond(o, "Ready")["status"] == "True" and not o["spec"].get("taints")
              for o in others), "nodelifecycle: the other nodes untouched")
        if self.kubectl:
            rc_, out, err = self.kubectl.run("get", "node", victim, "--no-headers")
            t(rc_ == 0 and out.split()[1] == "NotReady",
              "kubectl get node shows NotReady", (rc_, out, err))
        # Evicted after 3 s; the Deployment brings 6 back elsewhere.
        back = wait(six_ready(avoid=victim), 60)
        t(back is not None, "nodelifecycle: pods recreated on healthy nodes",
          [(p["metadata"]["name"], p["spec"].get("nodeName"))
           for p in self.pods("app=evict")])
        gone = [self.a.get(NS + "/pods/" + name) for name in doomed]
        t(all(g is None or (g["metadata"].get("deletionTimestamp") and
                            cond(g, "DisruptionTarget") and
                            cond(g, "DisruptionTarget")["reason"] ==
                            "DeletionByTaintManager")
              for g in gone),
          "nodelifecycle: evicted pods carry DisruptionTarget", gone)
        evs = wait(lambda: [e for e in self.a.events("default", None,
                                                     "TaintManagerEviction")
                            if e["involvedObject"]["name"] in doomed])
        t(evs and evs[0]["message"] == "Marking for deletion Pod default/" +
          evs[0]["involvedObject"]["name"],
          "nodelifecycle: TaintManagerEviction events", evs)
        nev = wait(lambda: [e for e in self.a.events("default", victim,
                                                     "NodeNotReady")
                            if e["involvedObject"]["kind"] == "Node"])
        t(nev and nev[0]["message"] ==
          "Node %s status is now: NodeNotReady" % victim,
          "nodelifecycle: NodeNotReady event", nev)
        # The node comes back: taints go, its terminating pods finish.
        self.kubelet.revive(victim)
        ok = wait(lambda: not self.node(victim)["spec"].get("taints"), 30)
        t(ok, "nodelifecycle: recovery removes the taints",
          self.node(victim)["spec"].get("taints"))
        left = wait(lambda: all(self.a.get(NS + "/pods/" + n_) is None
                                for n_ in doomed), 30)
        t(left, "nodelifecycle: the dead node's pods finish terminating")

        # Every node silent: master disruption mode, nothing evicted.
        before = {p["metadata"]["uid"] for p in self.pods("app=evict")}
        for x in NODES:
            self.kubelet.kill(x)
        allu = wait(lambda: all(cond(self.node(x), "Ready")["status"] ==
                                "Unknown" for x in NODES), 30)
        t(allu, "disruption: every node Unknown")
        time.sleep(GRACE + 2)
        t(all((UNREACHABLE, "NoExecute") not in taints(self.node(x))
              for x in NODES), "disruption: no NoExecute taint when all are down",
          [self.node(x)["spec"].get("taints") for x in NODES])
        now_uids = {p["metadata"]["uid"] for p in self.pods("app=evict")}
        t(now_uids == before, "disruption: no pod evicted")
        for x in NODES:
            self.kubelet.revive(x)
        ok = wait(lambda: all(not self.node(x)["spec"].get("taints")
                              for x in NODES), 30)
        t(ok, "disruption: recovered nodes have no taints")
        t(wait(six_ready(), 60) is not None, "disruption: pods ready again")

    # ---- pod garbage collector --------------------------------------

    def podgc(self):
        """Pods no node agent will finish are force-deleted: bound to a node
        that does not exist (after the 40 s quarantine: phase Failed and
        DisruptionTarget DeletionByPodGC first), or terminating on a node
        that is not Ready and carries the out-of-service taint."""
        t = self.check
        spec = dict(template({})["spec"], nodeName="ghost")
        self.a.create(NS + "/pods", {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "orphan", "finalizers": ["example.com/keep"]},
            "spec": spec})
        self.a.create(NS + "/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "orphan2"},
            "spec": spec})
        p = wait(lambda: (lambda x: x if x and x["metadata"].get(
            "deletionTimestamp") else None)(self.a.get(NS + "/pods/orphan")), 90)
        t(p and p["status"].get("phase") == "Failed" and
          (cond(p, "DisruptionTarget") or {}).get("reason") == "DeletionByPodGC"
          and p["metadata"].get("deletionGracePeriodSeconds") == 0,
          "podgc: an orphaned pod is marked Failed (DeletionByPodGC) and "
          "force-deleted", p)
        t(wait(lambda: self.a.get(NS + "/pods/orphan2") is None, 30),
          "podgc: an orphaned pod without finalizers is gone")
        r = self.k.request("PATCH", NS + "/pods/orphan",
                           {"metadata": {"finalizers": None}},
                           ctype="application/merge-patch+json")
        t(r.status == 200 and self.a.get(NS + "/pods/orphan") is None,
          "podgc: its last finalizer removed, the pod goes", r)

        # A node that is gone for good: its terminating pods stay until
        # the out-of-service taint says so.
        victim = "n3"
        self.a.create(NS + "/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "oos"},
            "spec": dict(template({})["spec"], nodeName=victim,
                         tolerations=[{"operator": "Exists"}])})
        wait(lambda: (self.a.get(NS + "/pods/oos") or {}).get(
            "status", {}).get("phase") == "Running", 30)
        self.kubelet.kill(victim)
        t(wait(lambda: cond(self.node(victim), "Ready")["status"] == "Unknown",
               30), "podgc: the node is not ready")
        self.k.request("DELETE", NS + "/pods/oos")
        time.sleep(1)
        p = self.a.get(NS + "/pods/oos")
        t(p and p["metadata"].get("deletionTimestamp"),
          "podgc: a terminating pod on a dead node stays", p)
        n = self.node(victim)
        tl = n["spec"].get("taints", []) + [{
            "key": "node.kubernetes.io/out-of-service",
            "value": "nodeshutdown", "effect": "NoExecute"}]
        r = self.k.request("PATCH", "/api/v1/nodes/" + victim,
                           {"spec": {"taints": tl}},
                           ctype="application/merge-patch+json")
        t(r.status == 200 and wait(lambda: self.a.get(NS + "/pods/oos") is None,
                                   30),
          "podgc: out-of-service taint: the terminating pod is force-deleted", r)
        self.kubelet.revive(victim)
        self.k.request("PATCH", "/api/v1/nodes/" + victim,
                       {"spec": {"taints": None}},
                       ctype="application/merge-patch+json")

    # ---- node IPAM ------------------------------------------------------

    def cidrs(self):
        out = {}
        for n in self.a.items("/api/v1/nodes"):
            c = n["spec"].get("podCIDR")
            if c:
                out[n["metadata"]["name"]] = c
        return out

    def nodeipam(self):
        t = self.check
        got = wait(lambda: (lambda c: c if len(c) == 3 else None)(self.cidrs()))
        t(got is not None, "nodeipam: every node has a podCIDR", self.cidrs())
        if not got:
            return
        nets = [ipaddress.ip_network(c) for c in got.values()]
        cluster = ipaddress.ip_network("10.42.0.0/16")
        t(len(set(nets)) == 3 and all(x.prefixlen == 24 and
                                      x.subnet_of(cluster) for x in nets),
          "nodeipam: distinct /24s of 10.42.0.0/16", got)
        n1 = self.node("n1")
        t(n1["spec"].get("podCIDRs") == [n1["spec"]["podCIDR"]],
          "nodeipam: podCIDRs matches podCIDR", n1["spec"])
        if self.kubectl:
            rc, out, err = self.kubectl.run("get", "node", "n1", "-o",
                                            "jsonpath={.spec.podCIDR}")
            t(rc == 0 and out == got["n1"], "kubectl sees the podCIDR",
              (rc, out, err))
        add_nodes(self.k, ["extra"])
        e = wait(lambda: self.cidrs().get("extra"))
        t(e and e not in got.values(), "nodeipam: a new node gets a free block", e)
        self.k.request("DELETE", "/api/v1/nodes/extra")
        if self.store == "sqlite":
            rc = self.k.stop()
            t(rc == 0, "kubed stops cleanly", rc)
            self.k.start()
            add_nodes(self.k, ["late"])
            late = wait(lambda: self.cidrs().get("late"))
            t(late and late not in got.values(),
              "nodeipam: after a restart no block is handed out twice",
              (late, got))
        # A bad flag: one line, non-zero exit.
        tmp = tempfile.mkdtemp(prefix="kube-ipam-test-")
        p = subprocess.run([self.k.kubed, "server", "--store", "memory",
                            "--data-dir", tmp, "--listen",
                            "unix:" + os.path.join(tmp, "s.sock"),
                            "--cluster-cidr", "10.42.0.0/33"],
                           capture_output=True, text=True, timeout=20)
        t(p.returncode != 0 and "--cluster-cidr" in p.stderr,
          "kubed rejects a bad --cluster-cidr", (p.returncode, p.stderr))

    # ---- ServiceAccounts and kube-root-ca.crt ---------------------------

    def serviceaccounts(self):
        t = self.check
        with open(os.path.join(self.k.data, "ca.crt")) as f:
            ca = f.read()
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            sa = wait(lambda: self.a.get("/api/v1/namespaces/%s/serviceaccounts/"
                                         "default" % ns))
            t(sa is not None, "serviceaccount default in " + ns)
            cm = wait(lambda: self.a.get("/api/v1/namespaces/%s/configmaps/"
                                         "kube-root-ca.crt" % ns))
            t(cm and cm["data"] == {"ca.crt": ca} and
              cm["metadata"]["annotations"].get("kubernetes.io/description"),
              "kube-root-ca.crt in " + ns, cm)
        c = self.kubectl or self.kube
        rc, out, err = c.run("create", "namespace", "team")
        t(rc == 0, "create namespace team", (rc, out, err))
        sa = wait(lambda: self.a.get("/api/v1/namespaces/team/serviceaccounts/"
                                     "default"))
        t(sa is not None, "serviceaccount: a new namespace gets default")
        for cli in filter(None, [self.kubectl, self.kube]):
            rc, out, err = cli.run("get", "serviceaccounts", "-n", "team")
            t(rc == 0 and out.split("\n")[1].split()[0] == "default",
              "%s get serviceaccounts" % cli.flavor, (rc, out, err))
            rc, out, err = cli.run("get", "configmap", "kube-root-ca.crt", "-n",
                                   "team", "-o", "json")
            t(rc == 0 and json.loads(out)["data"]["ca.crt"] == ca,
              "%s sees kube-root-ca.crt" % cli.flavor, (rc, out[:60], err))
        uid = sa["metadata"]["uid"]
        self.k.request("DELETE", "/api/v1/namespaces/team/serviceaccounts/default")
        again = wait(lambda: (lambda s: s if s and s["metadata"]["uid"] != uid
                              else None)(self.a.get(
                                  "/api/v1/namespaces/team/serviceaccounts/default")))
        t(again is not None, "serviceaccount: a deleted default comes back")
        self.a.patch("/api/v1/namespaces/team/configmaps/kube-root-ca.crt",
                     {"data": {"ca.crt": "tampered"}})
        fixed = wait(lambda: (lambda m: m if m and m["data"].get("ca.crt") == ca
                              else None)(self.a.get(
                                  "/api/v1/namespaces/team/configmaps/"
                                  "kube-root-ca.crt")))
        t(fixed is not None, "kube-root-ca.crt: an edit is put back")

    # ---- PersistentVolume binder ----------------------------------------

    def pvbinder(self):
        t = self.check
        for name, size in (("pv-big", "5Gi"), ("pv-small", "1Gi")):
            self.a.create("/api/v1/persistentvolumes", {
                "apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": {"name": name},
                "spec": {"capacity": {"storage": size},
                         "accessModes": ["ReadWriteOnce"],
                         "persistentVolumeReclaimPolicy": "Retain",
                         "hostPath": {"path": "/tmp/" + name}}})
        self.a.create(NS + "/persistentvolumeclaims", {
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "",
                     "resources": {"requests": {"storage": "512Mi"}}}})

        def bound():
            c = self.a.get(NS + "/persistentvolumeclaims/data")
            v = self.a.get("/api/v1/persistentvolumes/pv-small")
            ok = (c and v and c["status"].get("phase") == "Bound" and
                  v["status"].get("phase") == "Bound")
            return (c, v) if ok else None
        got = wait(bound)
        t(got is not None, "pvbinder: claim bound to the smallest volume",
          (self.a.get(NS + "/persistentvolumeclaims/data"),
           self.a.get("/api/v1/persistentvolumes/pv-small")))
        if not got:
            return
        c, v = got
        t(c["spec"]["volumeName"] == "pv-small" and
          c["status"]["capacity"] == {"storage": "1Gi"} and
          v["spec"]["claimRef"]["uid"] == c["metadata"]["uid"] and
          c["metadata"]["annotations"].get("pv.kubernetes.io/bind-completed")
          == "yes", "pvbinder: both sides of the binding", (c, v))
        if self.kubectl:
            rc, out, err = self.kubectl.run("get", "pvc", "data", "--no-headers")
            f = out.split()
            t(rc == 0 and f[1:3] == ["Bound", "pv-small"] and f[3] == "1Gi",
              "kubectl get pvc shows Bound", (rc, out, err))
        big = self.a.get("/api/v1/persistentvolumes/pv-big")
        t(big["status"].get("phase") == "Available" and
          not big["spec"].get("claimRef"), "pvbinder: the big volume stays free")
        c_ = self.kubectl or self.kube
        rc, out, err = c_.run("delete", "pvc", "data")
        t(rc == 0, "delete pvc", (rc, out, err))
        rel = wait(lambda: self.a.get("/api/v1/persistentvolumes/pv-small")[
            "status"].get("phase") == "Released")
        t(rel, "pvbinder: the volume is Released with its claim gone",
          self.a.get("/api/v1/persistentvolumes/pv-small"))

    def localpath(self):
        t = self.check
        c_ = self.kubectl or self.kube
        sc = wait(lambda: self.a.get(
            "/apis/storage.k8s.io/v1/storageclasses/local-path"))
        t(sc is not None, "localpath: StorageClass local-path created")
        if self.kubectl:
            rc, out, err = self.kubectl.run("get", "storageclass")
            t(rc == 0 and out.split("\n")[1].split()[:5] ==
              ["local-path", "(default)", "rancher.io/local-path", "Delete",
               "WaitForFirstConsumer"], "kubectl get storageclass",
              (rc, out, err))
        self.a.create(NS + "/persistentvolumeclaims", {
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "web-data"},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "128Mi"}}}})
        waiting = wait(lambda: self.a.events("default", "web-data",
                                             "WaitForFirstConsumer"))
        c = self.a.get(NS + "/persistentvolumeclaims/web-data")
        t(waiting and c["spec"].get("storageClassName") == "local-path" and
          c["status"]["phase"] == "Pending",
          "localpath: default class, waiting for the first consumer", c)
        spec = template({})["spec"]
        spec["volumes"] = [{"name": "d", "persistentVolumeClaim":
                            {"claimName": "web-data"}}]
        spec["containers"][0]["volumeMounts"] = [{"name": "d",
                                                  "mountPath": "/data"}]
        self.a.create(NS + "/pods", {"apiVersion": "v1", "kind": "Pod",
                                     "metadata": {"name": "web-user"},
                                     "spec": spec})

        def bound():
            c = self.a.get(NS + "/persistentvolumeclaims/web-data")
            return c if c["status"].get("phase") == "Bound" else None
        c = wait(bound, 30)
        t(c is not None, "localpath: the claim is provisioned and bound",
          self.a.get(NS + "/persistentvolumeclaims/web-data"))
        if not c:
            return
        pod = self.a.get(NS + "/pods/web-user")
        v = self.a.get("/api/v1/persistentvolumes/" + c["spec"]["volumeName"])
        want = os.path.join(self.k.data, "storage", "%s_default_web-data" %
                            v["metadata"]["name"])
        terms = v["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
        t(v["spec"]["hostPath"]["path"] == want and
          terms[0]["matchExpressions"][0]["values"] == [pod["spec"]["nodeName"]]
          and v["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"]
          == "rancher.io/local-path",
          "localpath: a hostPath volume on the pod's node", v)
        if self.kubectl:
            rc, out, err = self.kubectl.run("get", "pvc", "web-data",
                                            "--no-headers")
            f = out.split()
            t(rc == 0 and f[1] == "Bound" and f[5] == "local-path",
              "kubectl get pvc: Bound, local-path", (rc, out, err))
        os.makedirs(want, exist_ok=True)  # as the node agent does
        with open(os.path.join(want, "f"), "w") as fh:
            fh.write("data\n")
        rc, out, err = c_.run("delete", "pod", "web-user", "--wait=false")
        rc, out, err = c_.run("delete", "pvc", "web-data", "--wait=false")
        t(rc == 0, "delete the claim", (rc, out, err))
        gone = wait(lambda: self.a.get("/api/v1/persistentvolumes/" +
                                       v["metadata"]["name"]) is None, 30)
        t(gone and not os.path.exists(want),
          "localpath: Delete removes the directory and the volume",
          (os.path.exists(want),))


SECTIONS = ["nodelifecycle", "podgc", "nodeipam", "serviceaccounts", "pvbinder",
            "localpath"]


def main():
    if len(sys.argv) < 3 or any(a not in SECTIONS for a in sys.argv[4:]):
        print(__doc__)
        return 2
    kubed, kube = sys.argv[1], sys.argv[2]
    store = sys.argv[3] if len(sys.argv) > 3 else "memory"
    sections = sys.argv[4:] or SECTIONS
    t = Failures()
    k = Kubed(kubed, store=store, extra=kubed_args(kubed) + [
        "--node-monitor-grace-period=%ds" % GRACE])
    clis = []
    kubelet = None
    try:
        k.start()
        add_nodes(k, NODES)
        kubelet = FakeKubelet(k, NODES).start()
        kube_cli, kubectl, clis = make_clis(k, kube)
        s = Suite(t, k, kubelet, kube_cli, kubectl, store)
        for name in sections:
            getattr(s, name)()
    finally:
        wind_down(t, k, kubelet, clis)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
