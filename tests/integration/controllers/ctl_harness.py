# SPDX-License-Identifier: Apache-2.0
"""What the controller suites share: a kubed with its controllers and
scheduler but no node agent (`--no-node` when kubed has one), Node objects
for the scheduler, and a stand-in kubelet that marks bound pods Running and
Ready and finishes the graceful deletion of bound pods, as a kubelet would,
so that no container is needed."""
import datetime
import shutil
import tempfile
import os
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "apiserver"))
sys.path.insert(0, os.path.join(HERE, "..", "cli"))
from kubed_harness import Failures, Kubed  # noqa: E402,F401
from cli_checks import Cli  # noqa: E402,F401

KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"
# Pods with this label stay not ready (the stand-in kubelet leaves them).
UNREADY = "test.libkube.io/unready"
# Pods with this label run to completion: their container exits with the
# label's value (0: Succeeded, else Failed).
EXIT = "test.libkube.io/exit"


def kubed_args(kubed):
    """--no-node when this kubed runs a node agent by default."""
    p = subprocess.run([kubed, "server", "--help"], capture_output=True,
                       text=True, timeout=10)
    return ["--no-node"] if "--no-node" in p.stdout + p.stderr else []


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def wait(cond, timeout=30.0, step=0.05):
    """Poll cond until it returns something true; that value, or None."""
    deadline = time.time() + timeout
    while True:
        v = cond()
        if v or time.time() > deadline:
            return v
        time.sleep(step)


def q(s):
    return urllib.parse.quote(s, safe="")


def node(name, cpu=64):
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name,
                         "labels": {"kubernetes.io/hostname": name}},
            "spec": {},
            "status": {"allocatable": {"cpu": str(cpu), "memory": "256Gi",
                                       "pods": "1000"},
                       "capacity": {"cpu": str(cpu), "memory": "256Gi",
                                    "pods": "1000"},
                       "conditions": [{"type": "Ready", "status": "True",
                                       "lastHeartbeatTime": now(),
                                       "lastTransitionTime": now()}]}}


def add_nodes(k, names):
    for n in names:
        obj = node(n)
        r = k.request("POST", "/api/v1/nodes", obj)
        if r.status not in (201, 409):
            raise RuntimeError("node %s: %r" % (n, r))
        r = k.request("PATCH", "/api/v1/nodes/%s/status" % n,
                      {"status": obj["status"]},
                      ctype="application/merge-patch+json")
        if r.status != 200:
            raise RuntimeError("node %s status: %r" % (n, r))


def micro_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")


LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"


class FakeKubelet:
    """Bound pods become Running and Ready (a podIP each); bound pods being
    deleted go at once (DELETE with gracePeriodSeconds 0, as the kubelet
    ends a graceful deletion).  Pods labelled UNREADY stay not ready; pods
    labelled EXIT end Succeeded or Failed with that exit code.  The
    nodes' Leases in kube-node-lease are renewed (every `beat` seconds), as
    node agents do, except for nodes made dead with kill(): their pods are
    left as they are until revive()."""

    def __init__(self, k, nodes=(), beat=0.5):
        self.k = k
        self.nodes = list(nodes)
        self.beat = beat
        self.last_beat = 0.0
        self.dead = set()
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()
        self.ips = {}
        self.ready = 0
        self.errors = []
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stop_ev.set()
        self.thread.join(10)

    def ip(self, uid):
        if uid not in self.ips:
            n = len(self.ips) + 10
            self.ips[uid] = "10.244.%d.%d" % (n // 250, n % 250 + 2)
        return self.ips[uid]

    def run(self):
        while not self.stop_ev.is_set():
            try:
                self.step()
            except Exception as e:  # kubed restarting: try again
                self.errors.append(repr(e))
            self.stop_ev.wait(0.05)

    def kill(self, node):
        with self.lock:
            self.dead.add(node)

    def revive(self, node):
        """The node agent is back: it posts Ready and renews its Lease."""
        with self.lock:
            self.dead.discard(node)
        t = now()
        r = self.k.request("GET", "/api/v1/nodes/" + node)
        conds = [c for c in r.json()["status"].get("conditions", [])
                 if c["type"] != "Ready"]
        conds.append({"type": "Ready", "status": "True",
                      "reason": "KubeletReady",
                      "message": "kubelet is posting ready status",
                      "lastHeartbeatTime": t, "lastTransitionTime": t})
        for c in conds:
            if c["type"] != "Ready" and c.get("status") == "Unknown":
                c.update(status="False", lastHeartbeatTime=t,
                         lastTransitionTime=t, reason="KubeletHasSufficient",
                         message="ok")
        self.k.request("PATCH", "/api/v1/nodes/%s/status" % node,
                       {"status": {"conditions": conds}},
                       ctype="application/merge-patch+json")

    def heartbeat(self):
        if time.time() - self.last_beat < self.beat:
            return
        self.last_beat = time.time()
        with self.lock:
            alive = [n for n in self.nodes if n not in self.dead]
        for n in alive:
            spec = {"holderIdentity": n, "leaseDurationSeconds": 40,
                    "renewTime": micro_now()}
            r = self.k.request("PATCH", LEASES + "/" + n, {"spec": spec},
                               ctype="application/merge-patch+json")
            if r.status == 404:
                self.k.request("POST", LEASES, {
                    "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": n, "namespace": "kube-node-lease"},
                    "spec": spec})

    def step(self):
        self.heartbeat()
        with self.lock:
            dead = set(self.dead)
        r = self.k.request("GET", "/api/v1/pods")
        if r.status != 200:
            return
        for p in r.json()["items"]:
            m = p["metadata"]
            path = "/api/v1/namespaces/%s/pods/%s" % (m["namespace"], m["name"])
            nn = p["spec"].get("nodeName")
            # no node agent runs for nodes it was not given (when given)
            if not nn or nn in dead or (self.nodes and nn not in self.nodes):
                continue
            if m.get("deletionTimestamp"):
                self.k.request("DELETE", path, {
                    "kind": "DeleteOptions", "apiVersion": "v1",
                    "gracePeriodSeconds": 0,
                    "preconditions": {"uid": m["uid"]}})
                continue
            if m.get("labels", {}).get(UNREADY) == "true":
                continue
            st = p.get("status", {})
            if st.get("phase") in ("Succeeded", "Failed"):
                continue
            code = m.get("labels", {}).get(EXIT)
            if code is not None:
                self.finish(p, path, int(code))
                continue
            ready = [c for c in st.get("conditions", [])
                     if c.get("type") == "Ready" and c.get("status") == "True"]
            if st.get("phase") == "Running" and ready:
                continue
            t = now()
            conds = [{"type": c, "status": "True", "lastTransitionTime": t}
                     for c in ("PodScheduled", "Initialized", "ContainersReady",
                               "Ready")]
            cs = [{"name": c["name"], "image": c["image"], "imageID": "",
                   "ready": True, "restartCount": 0, "started": True,
                   "state": {"running": {"startedAt": t}}}
                  for c in p["spec"]["containers"]]
            ip = self.ip(m["uid"])
            r = self.k.request("PATCH", path + "/status", {"status": {
                "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                "hostIP": "192.168.0.1", "startTime": t, "conditions": conds,
                "containerStatuses": cs}},
                ctype="application/merge-patch+json")
            if r.status == 200:
                self.ready += 1


    def finish(self, p, path, code):
        t = now()
        cs = [{"name": c["name"], "image": c["image"], "imageID": "",
               "ready": False, "restartCount": 0, "started": False,
               "state": {"terminated": {"exitCode": code, "startedAt": t,
                                        "finishedAt": t,
                                        "reason": "Completed" if code == 0
                                        else "Error"}}}
              for c in p["spec"]["containers"]]
        ip = self.ip(p["metadata"]["uid"])
        self.k.request("PATCH", path + "/status", {"status": {
            "phase": "Succeeded" if code == 0 else "Failed", "podIP": ip,
            "podIPs": [{"ip": ip}], "hostIP": "192.168.0.1", "startTime": t,
            "conditions": [{"type": "Ready", "status": "False",
                            "lastTransitionTime": t}],
            "containerStatuses": cs}}, ctype="application/merge-patch+json")


class Api:
    """Small typed helpers over Kubed.request."""

    def __init__(self, k):
        self.k = k

    def get(self, path):
        r = self.k.request("GET", path)
        return r.json() if r.status == 200 else None

    def items(self, path, selector=None):
        if selector:
            path += "?labelSelector=" + q(selector)
        r = self.k.request("GET", path)
        return r.json()["items"] if r.status == 200 else []

    def create(self, path, obj):
        r = self.k.request("POST", path, obj)
        if r.status != 201:
            raise RuntimeError("create %s: %r" % (path, r))
        return r.json()

    def patch(self, path, body, ctype="application/merge-patch+json"):
        return self.k.request("PATCH", path, body, ctype=ctype)

    def events(self, ns, name=None, reason=None):
        path = "/api/v1/namespaces/%s/events" % ns
        evs = self.items(path)
        return [e for e in evs
                if (name is None or e["involvedObject"].get("name") == name) and
                (reason is None or e.get("reason") == reason)]


def ready_pods(pods):
    return [p for p in pods if not p["metadata"].get("deletionTimestamp") and
            p.get("status", {}).get("phase") == "Running"]


def template(labels, image="nginx:1", name="nginx"):
    return {"metadata": {"labels": dict(labels)},
            "spec": {"containers": [{"name": name, "image": image}]}}


def make_clis(k, kube):
    """kube and kubectl 1.32 (None when missing) for k, and the list of
    both to clean up."""
    kube_cli = Cli(kube, k, "kube")
    clis = [kube_cli]
    kubectl = None
    if os.access(KUBECTL, os.X_OK):
        kubectl = Cli(KUBECTL, k, "kubectl")
        clis.append(kubectl)
    else:
        print("note: %s missing, kubectl checks skipped" % KUBECTL)
    return kube_cli, kubectl, clis


def wind_down(t, k, kubelet, clis):
    """Stop the stand-in kubelet, show kubed's log tail after a failure,
    remove the clients' and kubed's files."""
    if kubelet:
        kubelet.stop()
    if t.failed:
        print("---- kubed log (tail) ----")
        print("\n".join(k.read_log().splitlines()[-40:]))
    for c in clis:
        c.cleanup()
    k.cleanup()


def run_sections(doc, sections, make_suite, prefix):
    """main() of a suite over kubed with nodes n1..n3 and the stand-in
    kubelet: argv is KUBED KUBE [STORE] [SECTION...]; `sections` maps a
    section to the suite's method names; make_suite(t, k, kube, kubectl,
    tmp) builds the suite.  Returns the exit code."""
    if len(sys.argv) < 3 or any(a not in sections for a in sys.argv[4:]):
        print(doc)
        return 2
    kubed, kube = sys.argv[1], sys.argv[2]
    store = sys.argv[3] if len(sys.argv) > 3 else "memory"
    names = sys.argv[4:] or list(sections)
    t = Failures()
    k = Kubed(kubed, store=store, extra=kubed_args(kubed))
    tmp = tempfile.mkdtemp(prefix=prefix)
    clis = []
    kubelet = None
    try:
        k.start()
        add_nodes(k, ["n1", "n2", "n3"])
        kubelet = FakeKubelet(k, ["n1", "n2", "n3"]).start()
        kube_cli, kubectl, clis = make_clis(k, kube)
        s = make_suite(t, k, kube_cli, kubectl, tmp)
        for name in names:
            for step in sections[name]:
                getattr(s, step)()
    finally:
        wind_down(t, k, kubelet, clis)
        shutil.rmtree(tmp, ignore_errors=True)
    return t.finish()
