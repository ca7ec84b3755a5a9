#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Regenerate the kubectl fixtures of tests/unit/client (not run by the
test suite: it needs the real kubectl 1.32 and a built kubed).

usage: capture.py KUBED KUBE [KUBECTL]

Starts kubed (no scheduler: nothing changes behind the captures), applies
setup.yaml with kubectl, adds events with fixed timestamps, then for each
case records what kubectl 1.32 prints and what the library needs to print
it without a server:

- describe-<case>.json / .txt: the object, the answers to every request
  `kube describe` makes for it (taken from its -v=6 log, fetched from
  kubed), the time kubectl ran, and kubectl's text;
- get-<case>.json / .txt: the Tables kubectl received (its -v=9 log) with
  the printer flags, and kubectl's text;
- out-<case>.json / .txt: an object or list as kubectl received it, the -o
  format, and kubectl's text.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "integration", "apiserver"))
from kubed_harness import Kubed  # noqa: E402

KUBECTL_DEFAULT = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"

DESCRIBE = [
    ("pod-rich", ["pod", "rich"]),
    ("pod-kubia", ["pod", "kubia"]),
    ("deployment-web", ["deployment", "web"]),
    ("deployment-dep2", ["deployment", "dep2"]),
    ("service-web", ["service", "web"]),
    ("service-multi", ["service", "multi"]),
    ("service-headless", ["service", "hl"]),
    ("service-external", ["service", "ext"]),
    ("service-kubernetes", ["service", "kubernetes"]),
    ("node-n1", ["node", "n1"]),
    ("namespace-team", ["namespace", "team"]),
    ("namespace-default", ["namespace", "default"]),
    ("configmap-cfg", ["configmap", "cfg"]),
    ("secret-sec", ["secret", "sec"]),
    ("serviceaccount-sa1", ["serviceaccount", "sa1"]),
    ("replicaset-rs1", ["replicaset", "rs1"]),
    ("replicationcontroller-rc1", ["replicationcontroller", "rc1"]),
    ("daemonset-ds1", ["daemonset", "ds1"]),
    ("statefulset-sts1", ["statefulset", "sts1"]),
    ("job-job1", ["job", "job1"]),
    ("cronjob-cj1", ["cronjob", "cj1"]),
    ("endpoints-manual", ["endpoints", "manual"]),
    ("pvc-c1", ["pvc", "c1"]),
    ("resourcequota-q1", ["resourcequota", "q1", "-n", "team"]),
    ("limitrange-lr1", ["limitrange", "lr1", "-n", "team"]),
    ("lease-lease1", ["lease", "lease1"]),
]

# (case, kubectl get args, printer flags, label columns, kind prefix)
GET = [
    ("pods", ["pods"], [], [], None),
    ("pods-wide", ["pods", "-o", "wide"], ["WIDE"], [], None),
    ("pods-all-namespaces", ["pods", "-A"], ["NAMESPACE"], [], None),
    ("pods-show-labels", ["pods", "--show-labels"], ["SHOW_LABELS"], [], None),
    ("pods-label-columns", ["pods", "-L", "app,example.com/x"], [],
     ["app", "example.com/x"], None),
    ("pods-no-headers", ["pods", "--no-headers"], ["NO_HEADERS"], [], None),
    ("deployments-wide", ["deployments", "-o", "wide"], ["WIDE"], [], None),
    ("services-wide", ["services", "-o", "wide"], ["WIDE"], [], None),
    ("nodes-wide", ["nodes", "-o", "wide"], ["WIDE"], [], None),
    ("namespaces", ["namespaces"], [], [], None),
    ("configmaps", ["configmaps"], [], [], None),
    ("jobs-wide", ["jobs", "-o", "wide"], ["WIDE"], [], None),
    ("cronjobs-wide", ["cronjobs", "-o", "wide"], ["WIDE"], [], None),
    ("statefulsets-wide", ["statefulsets", "-o", "wide"], ["WIDE"], [], None),
    ("replicasets-wide", ["rs", "-o", "wide"], ["WIDE"], [], None),
]

# (case, kubectl get args, -o value)
OUT = [
    ("pod-rich-json", ["pod", "rich", "-o", "json"], "json"),
    ("pod-rich-yaml", ["pod", "rich", "-o", "yaml"], "yaml"),
    ("pod-rich-name", ["pod", "rich", "-o", "name"], "name"),
    ("pod-rich-jsonpath", ["pod", "rich", "-o",
                           "jsonpath={.metadata.name} {.spec.containers[*].image}"
                           " {.spec.tolerations[?(@.effect==\"NoExecute\")].key}"],
     "jsonpath={.metadata.name} {.spec.containers[*].image}"
     " {.spec.tolerations[?(@.effect==\"NoExecute\")].key}"),
    ("node-n1-yaml", ["node", "n1", "-o", "yaml"], "yaml"),
    ("deployment-dep2-json", ["deployment", "dep2", "-o", "json"], "json"),
    ("configmap-cfg-yaml", ["configmap", "cfg", "-o", "yaml"], "yaml"),
]


class Capture:
    def __init__(self, kubed, kube, kubectl):
        self.kube, self.kubectl = kube, kubectl
        self.k = Kubed(kubed, store="memory", extra=["--no-scheduler"]).start()
        self.home = tempfile.mkdtemp(prefix="kubectl-capture-")
        self.env = dict(os.environ, TZ="UTC", HOME=self.home,
                        KUBECONFIG=os.path.join(self.k.data, "kubeconfig.yaml"))

    def run(self, binary, args, stdin=None):
        p = subprocess.run([binary] + args, input=stdin, capture_output=True,
                           text=True, env=self.env, timeout=60)
        return p.returncode, p.stdout, p.stderr

    def must(self, binary, args, stdin=None):
        rc, out, err = self.run(binary, args, stdin)
        if rc != 0:
            raise RuntimeError("%s %s: %s" % (binary, " ".join(args), err))
        return out

    def get(self, path):
        r = self.k.request("GET", path)
        return r.status, r.body.decode() if isinstance(r.body, bytes) else r.body

    def setup(self):
        with open(os.path.join(HERE, "setup.yaml")) as f:
            self.must(self.kubectl, ["apply", "-f", "-"], stdin=f.read())
        self.must(self.kubectl, ["run", "kubia", "--image=kubia", "--port=8080"])
        self.must(self.kubectl, ["create", "deployment", "web", "--image=nginx",
                                 "--replicas=2"])
        self.must(self.kubectl, ["expose", "deployment", "web", "--port=80",
                                 "--target-port=8080"])
        # Events at fixed times: ages depend only on when kubectl ran.
        now = int(time.time())

        def ts(t):
            return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))

        def uid(kind, name, ns="default"):
            out = self.must(self.kubectl, ["get", kind, name, "-n", ns, "-o",
                                           "jsonpath={.metadata.uid}"])
            return out.strip()

        events = []
        for i, (kind, name, typ, reason, count, first, last, msg, ref_uid) in enumerate([
                ("Pod", "kubia", "Normal", "Scheduled", 1, 7200, 7200,
                 "Successfully assigned default/kubia to n1", None),
                ("Pod", "kubia", "Warning", "BackOff", 12, 3600, 45,
                 "Back-off pulling image \"kubia\"  ", None),
                ("Pod", "rich", "Normal", "Pulled", 1, 90061, 90061,
                 "Container image \"nginx\" already present", None),
                ("Deployment", "web", "Normal", "ScalingReplicaSet", 1, 300, 300,
                 "Scaled up replica set web-abc to 2", None),
                ("Service", "web", "Normal", "Type", 2, 600, 30,
                 "ClusterIP -> ClusterIP", None),
                ("Node", "n1", "Normal", "NodeNotSchedulable", 1, 120, 120,
                 "Node n1 status is now: NodeNotSchedulable", "name"),
                ("Node", "n1", "Normal", "RegisteredNode", 1, 240, 240,
                 "Node n1 event: Registered Node n1 in Controller", None)]):
            u = name if ref_uid == "name" else uid(kind.lower(), name)
            events.append({
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": "ev%d" % i, "namespace": "default"},
                "involvedObject": {"kind": kind, "name": name, "uid": u,
                                   "namespace": "" if kind == "Node" else "default",
                                   "apiVersion": "v1"},
                "type": typ, "reason": reason, "message": msg, "count": count,
                "firstTimestamp": ts(now - first), "lastTimestamp": ts(now - last),
                "source": {"component": "kubelet" if kind in ("Pod", "Node")
                           else "deployment-controller"}})
        self.must(self.kubectl, ["create", "-f", "-"], stdin=json.dumps(
            {"apiVersion": "v1", "kind": "List", "items": events}))

    def kubectl_at(self, args):
        """kubectl's output and the second it ran in (retried until the run
        fits in one second, so ages are reproducible)."""
        for _ in range(10):
            t0 = time.time()
            rc, out, err = self.run(self.kubectl, args)
            t1 = time.time()
            if int(t0) == int(t1):
                return rc, out, err, int(t0)
            time.sleep(0.05)
        raise RuntimeError("kubectl %s never ran within a second" % args)

    def describe(self, case, args):
        rc, out, err, now = self.kubectl_at(["describe"] + args)
        if rc != 0:
            raise RuntimeError("kubectl describe %s: %s" % (args, err))
        rc, _, log = self.run(self.kube, ["describe"] + args + ["-v=6"])
        paths = re.findall(r"DEBUG client: GET https?://[^/\s]+(\S+) -> ", log)
        if rc != 0 or not paths:
            raise RuntimeError("kube describe %s: %s" % (args, log))
        status, body = self.get(paths[0])
        obj = json.loads(body)
        responses = {}
        for p in paths[1:]:
            status, body = self.get(p)
            responses[p] = {"status": status, "body": body}
        fixture = {"apiVersion": obj["apiVersion"], "kind": obj["kind"],
                   "now": now, "object": obj, "responses": responses}
        self.write("describe-" + case, fixture, out)

    def get_table(self, case, args, flags, label_columns, kind_prefix):
        rc, out, err, _ = self.kubectl_at(["get"] + args + ["-v=9"])
        if rc != 0:
            raise RuntimeError("kubectl get %s: %s" % (args, err))
        tables = [json.loads(b) for b in bodies(err)
                  if '"kind":"Table"' in b]
        fixture = {"flags": flags, "labelColumns": label_columns,
                   "kindPrefix": kind_prefix, "tables": tables}
        self.write("get-" + case, fixture, out)

    def output(self, case, args, fmt):
        rc, out, err, _ = self.kubectl_at(["get"] + args + ["-v=9"])
        if rc != 0:
            raise RuntimeError("kubectl get %s: %s" % (args, err))
        objs = [json.loads(b) for b in bodies(err) if b.startswith("{")]
        self.write("out-" + case, {"output": fmt, "object": objs[-1]}, out)

    @staticmethod
    def write(name, fixture, text):
        with open(os.path.join(HERE, name + ".json"), "w") as f:
            json.dump(fixture, f, indent=1, sort_keys=True)
            f.write("\n")
        with open(os.path.join(HERE, name + ".txt"), "w") as f:
            f.write(text)
        print("captured", name)

    def close(self):
        self.k.cleanup()
        shutil.rmtree(self.home, ignore_errors=True)


def bodies(log):
    """The response bodies of a kubectl -v=9 log (Go-quoted strings)."""
    out = []
    for m in re.finditer(r'"Response Body" body="((?:[^"\\]|\\.)*)"', log):
        out.append(json.loads('"' + m.group(1) + '"'))
    return out


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__)
        return 2
    kubectl = sys.argv[3] if len(sys.argv) == 4 else KUBECTL_DEFAULT
    c = Capture(sys.argv[1], sys.argv[2], kubectl)
    try:
        c.setup()
        for case, args in DESCRIBE:
            c.describe(case, args)
        for case, args, flags, cols, prefix in GET:
            c.get_table(case, args, flags, cols, prefix)
        for case, args, fmt in OUT:
            c.output(case, args, fmt)
    finally:
        c.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
