#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Hollow nodes against a real kubed (`--no-node`, no privileges):

agents: two `kubed agent --hollow 2` processes (nodes a-0, a-1 and b-0,
  b-1) join a kubed with its scheduler and controllers: the Nodes are
  Ready with the kubelet's conditions and Leases, a Deployment's pods go
  Running on them (podIP from each node's podCIDR, container statuses,
  the kubelet's events), kubectl 1.32 shows nodes and pods; the process
  holding most pods is killed (-9): its nodes go Ready=Unknown with the
  unreachable taints, the node lifecycle controller evicts their pods
  after tolerationSeconds and the Deployment's replacements run on the
  other process's nodes; started again, its nodes are Ready, the taints go
  and the evicted pods finish terminating; a pod delete, a scale down and
  a Deployment delete end with the pods gone (the hollow kubelet's side of
  the graceful deletion).
server: `kubed server --hollow-nodes 3`: the nodes inside the server, a
  Deployment Running on them, `kubectl get nodes`.
simulate: `kube simulate` on a manifest that fits and on one that does not
  (exit 3, the scheduler's reason, the nodes needed from a second run on
  more nodes), and bad input.

usage: test_hollow.py KUBED KUBE [memory|sqlite] [SECTION...]"""
import ipaddress
import os
import shutil
import signal
import subprocess
import sys
import tempfile

from ctl_harness import (Api, Failures, Kubed, kubed_args,  # noqa: E402
                         make_clis, ready_pods, template, wait, wind_down)

from test_nodes import NOT_READY, UNREACHABLE, cond, live, taints  # noqa: E402

NS = "/api/v1/namespaces/default"
APPS = "/apis/apps/v1/namespaces/default"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
GRACE = 3  # --node-monitor-grace-period


class Agent:
    """One `kubed agent --hollow N` process."""

    def __init__(self, kubed, k, prefix, count, tmp):
        self.args = [kubed, "agent", "--hollow", str(count),
                     "--name-prefix", prefix,
                     "--server", "https://127.0.0.1:%d" % k.port,
                     "--token", k.token,
                     "--certificate-authority", os.path.join(k.data, "ca.crt"),
                     "--node-lease-duration-seconds", "4",
                     "--node-label", "pool=" + prefix.rstrip("-")]
        self.prefix = prefix
        self.names = ["%s%d" % (prefix, i) for i in range(count)]
        self.log_path = os.path.join(tmp, "agent-%s.log" % prefix.rstrip("-"))
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, stdout=self.log,
                                     stderr=self.log)
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        self.proc = None

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""


class Suite:
    def __init__(self, t, k, a, kubectl, kube, tmp):
        self.t = t
        self.k = k
        self.a = a
        self.kubectl = kubectl
        self.kube = kube
        self.tmp = tmp

    def check(self, *args):
        self.t.check(*args)

    def node(self, name):
        return self.a.get("/api/v1/nodes/" + name)

    def pods(self, selector):
        return self.a.items(NS + "/pods", selector)

    def running(self, selector, n, among=None):
        """The pods of `selector` when exactly n live ones exist and all run
        ready on nodes of `among` (any node when None)."""
        def c():
            ps = live(self.pods(selector))
            ok = [p for p in ready_pods(ps) if cond(p, "Ready") and
                  cond(p, "Ready")["status"] == "True" and
                  (among is None or p["spec"].get("nodeName") in among)]
            return ps if len(ps) == n and len(ok) == n else None
        return c

    def nodes_ready(self, names):
        return all((cond(self.node(x) or {}, "Ready") or {}).get("status") ==
                   "True"
                   for x in names)

    def deployment(self, name, replicas, toleration_s=None):
        tmpl = template({"app": name})
        tmpl["spec"]["containers"][0]["resources"] = {
            "requests": {"cpu": "100m", "memory": "64Mi"}}
        if toleration_s is not None:
            tmpl["spec"]["tolerations"] = [
                {"key": k, "operator": "Exists", "effect": "NoExecute",
                 "tolerationSeconds": toleration_s}
                for k in (UNREACHABLE, NOT_READY)]
        self.a.create(APPS + "/deployments", {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {"replicas": replicas,
                     "selector": {"matchLabels": {"app": name}},
                     "template": tmpl}})

    def check_pod_status(self, pods, what):
        t = self.check
        for p in pods:
            st = p["status"]
            node = self.node(p["spec"]["nodeName"])
            cidr = node["spec"].get("podCIDR")
            ip = st.get("podIP")
            t(cidr and ip and ipaddress.ip_address(ip) in
              ipaddress.ip_network(cidr),
              what + ": podIP %s in the node's podCIDR %s" % (ip, cidr))
            cs = st.get("containerStatuses", [])
            t(len(cs) == 1 and cs[0].get("ready") and cs[0].get("started") and
              "running" in cs[0].get("state", {}) and
              cs[0]["name"] == "nginx" and cs[0]["image"] == "nginx:1",
              what + ": container status running, started, ready", cs)
            types = {c["type"]: c["status"] for c in st.get("conditions", [])}
            t(all(types.get(x) == "True" for x in
                  ("PodReadyToStartContainers", "Initialized",
                   "ContainersReady", "Ready", "PodScheduled")),
              what + ": pod conditions True", types)
        ips = [p["status"].get("podIP") for p in pods]
        t(len(set(ips)) == len(ips), what + ": pod IPs distinct", ips)

    # ---- two agent processes --------------------------------------------

    def agents(self, kubed):
        t = self.check
        a = Agent(kubed, self.k, "a-", 2, self.tmp).start()
        b = Agent(kubed, self.k, "b-", 2, self.tmp).start()
        self.procs = [a, b]
        names = a.names + b.names
        ok = wait(lambda: self.nodes_ready(names), 30)
        t(ok, "agents: 4 hollow nodes Ready",
          [cond(self.node(x) or {}, "Ready") for x in names])
        if not ok:
            return
        n = self.node("a-0")
        conds = {c["type"]: (c["status"], c.get("reason")) for c in
                 n["status"]["conditions"]}
        t(conds == {"Ready": ("True", "KubeletReady"),
                    "MemoryPressure": ("False", "KubeletHasSufficientMemory"),
                    "DiskPressure": ("False", "KubeletHasNoDiskPressure"),
                    "PIDPressure": ("False", "KubeletHasSufficientPID")},
          "agents: the kubelet's conditions", conds)
        labels = n["metadata"].get("labels", {})
        t(labels.get("kubernetes.io/hostname") == "a-0" and
          labels.get("pool") == "a" and
          labels.get("node.libkube.io/hollow") == "true",
          "agents: node labels", labels)
        t(n["status"]["allocatable"].get("pods") == "110" and
          n["status"]["nodeInfo"]["kubeletVersion"] == "v1.32.0",
          "agents: allocatable and nodeInfo", n["status"])
        lease = wait(lambda: self.a.get(LEASES + "/b-1"), 10)
        t(lease and lease["spec"]["holderIdentity"] == "b-1" and
          lease["spec"]["leaseDurationSeconds"] == 4 and
          lease["metadata"]["ownerReferences"][0]["name"] == "b-1",
          "agents: the node's Lease in kube-node-lease", lease)
        self.deployment("web", 6, toleration_s=2)
        pods = wait(self.running("app=web", 6), 60)
        t(pods is not None, "agents: 6 pods Running on hollow nodes",
          [(p["metadata"]["name"], p["spec"].get("nodeName"),
            p["status"].get("phase")) for p in self.pods("app=web")])
        if not pods:
            return
        self.check_pod_status(pods, "agents")
        started = wait(lambda: [e for e in self.a.events("default", None,
                                                         "Started")
                                if e["involvedObject"]["name"] ==
                                pods[0]["metadata"]["name"]], 10)
        t(started and started[0]["message"] == "Started container nginx" and
          started[0]["source"]["component"] == "kubelet" and
          started[0]["source"].get("host") == pods[0]["spec"]["nodeName"] and
          started[0]["involvedObject"].get("fieldPath") ==
          "spec.containers{nginx}",
          "agents: Started event from the node's kubelet", started)
        if self.kubectl:
            rc, out, err = self.kubectl.run("get", "nodes", "--no-headers")
            rows = {l.split()[0]: l.split()[1] for l in out.splitlines()}
            t(rc == 0 and all(rows.get(x) == "Ready" for x in names),
              "agents: kubectl get nodes shows them Ready", (rc, out, err))
            rc, out, err = self.kubectl.run("get", "pods", "-l", "app=web",
                                            "-o", "wide", "--no-headers")
            lines = out.splitlines()
            t(rc == 0 and len(lines) == 6 and
              all(l.split()[1] == "1/1" and l.split()[2] == "Running" and
                  l.split()[6] in names for l in lines),
              "agents: kubectl get pods -o wide: 1/1 Running on hollow nodes",
              (rc, out, err))
            rc, out, err = self.kubectl.run("logs", pods[0]["metadata"]["name"])
            t(rc != 0 and "no preferred addresses" in err,
              "agents: kubectl logs says the node has no address", (rc, err))

        # The process holding most pods dies.
        per = {x.prefix: [p for p in pods
                          if p["spec"]["nodeName"].startswith(x.prefix)]
               for x in (a, b)}
        victim, other = (a, b) if len(per["a-"]) >= len(per["b-"]) else (b, a)
        doomed = {p["metadata"]["name"] for p in per[victim.prefix]}
        victim.stop(signal.SIGKILL)

        def tainted():
            ns = [self.node(x) for x in victim.names]
            return ns if all((UNREACHABLE, "NoExecute") in taints(n)
                             for n in ns) else None
        ns = wait(tainted, 30)
        t(ns is not None, "failure: the dead process's nodes tainted "
          "unreachable:NoExecute",
          [self.node(x)["spec"].get("taints") for x in victim.names])
        if ns:
            rc_ = cond(ns[0], "Ready")
            t(rc_["status"] == "Unknown" and rc_["reason"] == "NodeStatusUnknown",
              "failure: Ready=Unknown NodeStatusUnknown", rc_)
        t(self.nodes_ready(other.names),
          "failure: the other process's nodes stay Ready")
        back = wait(self.running("app=web", 6, among=other.names), 60)
        t(back is not None, "failure: pods evicted and recreated on the "
          "live hollow nodes",
          [(p["metadata"]["name"], p["spec"].get("nodeName"),
            p["metadata"].get("deletionTimestamp")) for p in
           self.pods("app=web")])
        gone = [self.a.get(NS + "/pods/" + x) for x in doomed]
        t(all(g is None or g["metadata"].get("deletionTimestamp")
              for g in gone),
          "failure: the dead node's pods are being deleted", gone)
        if self.kubectl:
            rc, out, err = self.kubectl.run("get", "node", victim.names[0],
                                            "--no-headers")
            t(rc == 0 and out.split()[1] == "NotReady",
              "failure: kubectl shows the dead node NotReady", (rc, out, err))

        # It comes back: Ready again, taints gone, evicted pods finish.
        victim.start()
        ok = wait(lambda: self.nodes_ready(victim.names) and
                  all(not self.node(x)["spec"].get("taints")
                      for x in victim.names), 30)
        t(ok, "recovery: the nodes are Ready again without taints",
          [self.node(x)["spec"].get("taints") for x in victim.names])
        left = wait(lambda: all(self.a.get(NS + "/pods/" + x) is None
                                for x in doomed), 30)
        t(left, "recovery: the evicted pods finished terminating",
          [x for x in doomed if self.a.get(NS + "/pods/" + x)])

        # Deletion: one pod, a scale down, the Deployment.
        pods = wait(self.running("app=web", 6), 30) or []
        if pods:
            name = pods[0]["metadata"]["name"]
            r = self.k.request("DELETE", NS + "/pods/" + name)
            t(r.status == 200 and r.json()["metadata"].get("deletionTimestamp"),
              "delete: graceful (deletionTimestamp set)", r)
            t(wait(lambda: self.a.get(NS + "/pods/" + name) is None, 20),
              "delete: the hollow kubelet finished the deletion")
            kill = wait(lambda: [e for e in self.a.events("default", name,
                                                          "Killing")], 10)
            t(kill and kill[0]["message"] == "Stopping container nginx",
              "delete: Killing event", kill)
            t(wait(self.running("app=web", 6), 30) is not None,
              "delete: the ReplicaSet replaced it")
        r = self.a.patch(APPS + "/deployments/web/scale",
                         {"spec": {"replicas": 2}})
        t(r.status == 200 and wait(lambda: len(self.pods("app=web")) == 2, 30),
          "scale down: 2 pods left", len(self.pods("app=web")))
        if self.kubectl:
            rc, out, err = self.kubectl.run("delete", "deployment", "web")
            t(rc == 0, "delete: kubectl delete deployment", (rc, out, err))
        else:
            self.k.request("DELETE", APPS + "/deployments/web")
        t(wait(lambda: not self.pods("app=web"), 30),
          "delete: the Deployment's pods are gone",
          [p["metadata"]["name"] for p in self.pods("app=web")])

    # ---- inside the server -------------------------------------------------

    def server(self, kubed):
        t = self.check
        names = ["hollow-node-%d" % i for i in range(3)]
        t(wait(lambda: self.nodes_ready(names), 30),
          "server: 3 hollow nodes Ready")
        self.deployment("inside", 4)
        pods = wait(self.running("app=inside", 4, among=names), 60)
        t(pods is not None, "server: 4 pods Running on the server's nodes",
          [(p["metadata"]["name"], p["spec"].get("nodeName")) for p in
           self.pods("app=inside")])
        if pods:
            self.check_pod_status(pods, "server")
        if self.kubectl:
            rc, out, err = self.kubectl.run("get", "nodes", "--no-headers")
            rows = {l.split()[0]: l.split()[1] for l in out.splitlines()}
            t(rc == 0 and all(rows.get(x) == "Ready" for x in names),
              "server: kubectl get nodes", (rc, out, err))
        self.k.request("DELETE", APPS + "/deployments/inside")
        t(wait(lambda: not self.pods("app=inside"), 30),
          "server: the Deployment's pods are gone")


MANIFEST = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: %d
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx
        resources: {requests: {cpu: "1", memory: 1Gi}}
"""


def simulate(t, kube, tmp):
    path = os.path.join(tmp, "app.yaml")

    def run(replicas, *args):
        with open(path, "w") as f:
            f.write(MANIFEST % replicas)
        p = subprocess.run([kube, "simulate", "-f", path] + list(args),
                           capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout, p.stderr

    rc, out, err = run(6, "--nodes", "3", "--node-size", "cpu=2,memory=8Gi")
    rows = [l.split() for l in out.splitlines() if l.startswith("shop ")]
    t.check(rc == 0 and len(rows) == 6 and
            all(r[2].startswith("hollow-node-") for r in rows) and
            all(r[3] == "1000m" and r[4] == "1Gi" for r in rows),
            "simulate: 6 pods placed, one row each", (rc, out, err))
    per = {}
    for r in rows:
        per[r[2]] = per.get(r[2], 0) + 1
    t.check(sorted(per.values()) == [2, 2, 2],
            "simulate: 2 pods of 1 cpu on each 2-cpu node", per)
    t.check("nodes needed: 3" in out and "lower bound from requests: 3" in out,
            "simulate: nodes needed", out)
    t.check(not [d for d in os.listdir("/tmp")
                 if d.startswith("kube-simulate-") and
                 os.path.getmtime(os.path.join("/tmp", d)) >
                 os.path.getmtime(path)],
            "simulate: the throw-away cluster's directory removed")
    rc, out, err = run(7, "--nodes", "3", "--node-size", "cpu=2,memory=8Gi")
    t.check(rc == 3 and "1 unschedulable" in out and
            "Insufficient cpu" in out and "nodes needed: 4 (another run" in out
            and "lower bound from requests: 4" in out,
            "simulate: a workload that does not fit: exit 3, why, and the "
            "nodes it needs from a second run", (rc, out, err))
    rc, out, err = run(7, "--nodes", "3", "--node-size", "cpu=2,memory=8Gi",
                       "--search=false")
    t.check(rc == 3 and "nodes needed: more than 3;" in out,
            "simulate: --search=false runs once", (rc, out, err))
    rc, out, err = run(1, "--nodes", "0")
    t.check(rc == 1 and "--nodes" in err, "simulate: --nodes 0 refused",
            (rc, err))
    rc, out, err = run(1, "--node-size", "cpu")
    t.check(rc == 1 and "bad --node-size" in err,
            "simulate: bad --node-size refused", (rc, err))
    p = subprocess.run([kube, "simulate", "--nodes", "2"], capture_output=True,
                       text=True, timeout=30)
    t.check(p.returncode == 1 and "-f" in p.stderr,
            "simulate: no manifests refused", (p.returncode, p.stderr))


SECTIONS = ["agents", "server", "simulate"]


def main():
    if len(sys.argv) < 3 or any(a not in SECTIONS for a in sys.argv[4:]):
        print(__doc__)
        return 2
    kubed, kube = sys.argv[1], sys.argv[2]
    store = sys.argv[3] if len(sys.argv) > 3 else "memory"
    sections = sys.argv[4:] or SECTIONS
    t = Failures()
    tmp = tempfile.mkdtemp(prefix="hollow-test-")
    try:
        if "simulate" in sections:
            simulate(t, kube, tmp)
        for name in [s for s in sections if s != "simulate"]:
            extra = kubed_args(kubed) + [
                "--node-monitor-grace-period=%ds" % GRACE]
            if name == "server":
                extra += ["--hollow-nodes", "3"]
            k = Kubed(kubed, store=store, extra=extra)
            clis = []
            s = None
            try:
                k.start()
                _, kubectl, clis = make_clis(k, kube)
                s = Suite(t, k, Api(k), kubectl, kube, tmp)
                s.procs = []
                getattr(s, name)(kubed)
            finally:
                for p in (s.procs if s else []):
                    p.stop()
                    if t.failed:
                        print("---- %s (tail) ----" % p.log_path)
                        print("\n".join(p.read_log().splitlines()[-20:]))
                wind_down(t, k, None, clis)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
