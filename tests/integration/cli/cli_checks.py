# SPDX-License-Identifier: Apache-2.0
"""The command-line checks shared by the kube CLI and kubectl suites: each
drives a real kubed (fresh data dir, temporary socket, free loopback port)
with a client binary and compares the output with what kubectl prints."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "apiserver"))
from kubed_harness import Failures, Kubed  # noqa: E402,F401


class Cli:
    """Runs one client binary against one kubed with its kubeconfig."""

    def __init__(self, argv0, kubed, flavor):
        self.argv0 = argv0
        self.kubed = kubed
        self.flavor = flavor  # "kube", "kubectl-1.20", "kubectl"
        self.home = tempfile.mkdtemp(prefix="kube-cli-home-")
        self.env = dict(os.environ)
        self.env["KUBECONFIG"] = os.path.join(kubed.data, "kubeconfig.yaml")
        self.env["HOME"] = self.home
        self.env.pop("KUBE_EDITOR", None)
        self.env.pop("EDITOR", None)

    def run(self, *args, stdin=None, timeout=30, env=None):
        e = dict(self.env)
        e.update(env or {})
        p = subprocess.run([self.argv0] + list(args), input=stdin,
                           capture_output=True, text=True, timeout=timeout,
                           env=e)
        return p.returncode, p.stdout, p.stderr

    def popen(self, *args):
        return subprocess.Popen([self.argv0] + list(args),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=self.env)

    def cleanup(self):
        shutil.rmtree(self.home, ignore_errors=True)


KUBECTL_132 = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"


def kube_beside_kubectl(kube_path, k):
    """kube and, when it is installed, kubectl 1.32 against kubed `k`:
    (kube, kubectl or None)."""
    kube = Cli(kube_path, k, "kube")
    if os.access(KUBECTL_132, os.X_OK):
        return kube, Cli(KUBECTL_132, k, "kubectl")
    print("note: %s not found: kube's output checked alone" % KUBECTL_132)
    return kube, None


def finish(t, k, clients):
    """The end of a test: kubed's log tail on failure, clean up; the exit
    status."""
    if t.failed:
        print("---- kubed log (tail) ----")
        print("\n".join(k.read_log().splitlines()[-30:]))
    for c in clients:
        if c:
            c.cleanup()
    k.cleanup()
    return t.finish()


def table(text):
    """Split a kubectl table into rows of cells (2+ spaces separate)."""
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()
            if line.strip()]


def aligned(text):
    """Every row's cells start where the header's columns start."""
    lines = [l for l in text.splitlines() if l.strip()]
    if not lines:
        return False
    starts = [m.start() for m in re.finditer(r"(?<!\S)\S", lines[0])]
    for l in lines[1:]:
        for s in starts[1:]:
            if s >= len(l) or l[s] == " " or l[s - 1] != " ":
                return False
    return True


def json_stream(text):
    """The JSON values printed one after another (pretty or one per line)."""
    dec, pos, out = json.JSONDecoder(), 0, []
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return out
        try:
            v, pos = dec.raw_decode(text, pos)
        except ValueError:
            return out
        out.append(v)


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def write(dirpath, name, text):
    path = os.path.join(dirpath, name)
    with open(path, "w") as f:
        f.write(text)
    return path


DEPLOY_YAML = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  labels:
    app: app
    tier: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app: app
  template:
    metadata:
      labels:
        app: app
    spec:
      containers:
      - name: app
        image: kubia
        ports:
        - containerPort: 8080
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  a: "1"
"""


def check_discovery(t, c):
    rc, out, err = c.run("version")
    t.check(rc == 0 and "Server Version" in out and "1" in out, "version", (rc, out, err))
    rc, out, err = c.run("cluster-info")
    out = ANSI.sub("", out)  # kubectl colours even when not on a terminal
    t.check(rc == 0 and re.search(r"is running at https://127\.0\.0\.1:%d" % c.kubed.port, out),
            "cluster-info names the API server", (rc, out, err))
    rc, out, err = c.run("api-resources")
    rows = table(out)
    t.check(rc == 0 and rows and rows[0][:5] == ["NAME", "SHORTNAMES", "APIVERSION",
                                                 "NAMESPACED", "KIND"],
            "api-resources header", (rc, out[:200], err))
    t.check(["pods", "po", "v1", "true", "Pod"] in rows, "api-resources lists pods", out[:300])
    t.check(["deployments", "deploy", "apps/v1", "true", "Deployment"] in rows,
            "api-resources lists deployments")
    t.check(["namespaces", "ns", "v1", "false", "Namespace"] in rows,
            "api-resources lists namespaces")


def check_run_get_describe(t, c):
    rc, out, err = c.run("run", "kubia", "--image=kubia", "--port=8080")
    t.check(rc == 0 and out.strip() == "pod/kubia created", "run", (rc, out, err))
    rc, out, err = c.run("get", "pods")
    rows = table(out)
    t.check(rc == 0 and rows[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
            "get pods header", (rc, out, err))
    t.check(any(r[:4] == ["kubia", "0/1", "Pending", "0"] for r in rows[1:]),
            "get pods row", out)
    t.check(aligned(out), "get pods columns aligned", out)
    rc, out, err = c.run("get", "pods", "-o", "wide")
    t.check(rc == 0 and table(out)[0][:6] == ["NAME", "READY", "STATUS", "RESTARTS",
                                              "AGE", "IP"]
            and "NOMINATED NODE" in out, "get -o wide adds priority-1 columns", out)
    rc, out, err = c.run("get", "pods", "-L", "run,absent")
    rows = table(out)
    t.check(rc == 0 and rows[0][-2:] == ["RUN", "ABSENT"] and rows[1][0] == "kubia"
            and rows[1][-1] == "kubia", "-L label columns", out)
    c.run("run", "aaa-first", "--image=x")
    rc, out, err = c.run("get", "pods", "--sort-by=.metadata.name", "-o", "name")
    t.check(rc == 0 and out.split()[:2] == ["pod/aaa-first", "pod/kubia"], "--sort-by (objects)",
            (out, err))
    rc, out, err = c.run("get", "pods", "--sort-by={.spec.containers[0].image}")
    rows = table(out)
    t.check(rc == 0 and [r[0] for r in rows[1:3]] == ["kubia", "aaa-first"], "--sort-by (table)",
            (out, err))
    c.run("delete", "pod", "aaa-first")
    rc, out, err = c.run("get", "pods", "--show-labels")
    t.check(rc == 0 and "LABELS" in out and "run=kubia" in out, "--show-labels", out)
    rc, out, err = c.run("get", "pod", "kubia", "-o", "json")
    try:
        obj = json.loads(out)
    except ValueError:
        obj = {}
    t.check(obj.get("kind") == "Pod" and obj["metadata"]["labels"] == {"run": "kubia"}
            and obj["spec"]["containers"][0]["ports"][0]["containerPort"] == 8080,
            "get -o json", out[:300])
    t.check(out.startswith("{\n    \"apiVersion\": \"v1\",\n    \"kind\": \"Pod\""),
            "-o json uses a 4-space indent", out[:80])
    rc, out, err = c.run("get", "pod", "kubia", "-o", "yaml")
    t.check(rc == 0 and "kind: Pod" in out and "  name: kubia" in out, "get -o yaml", out[:200])
    rc, out, err = c.run("get", "pods", "-o", "name")
    t.check(rc == 0 and "pod/kubia" in out.split(), "get -o name", out)
    rc, out, err = c.run("get", "pods", "-o", "jsonpath={.items[*].metadata.name}")
    t.check(rc == 0 and "kubia" in out.split(), "get -o jsonpath items", (out, err))
    rc, out, err = c.run("get", "pod", "kubia", "-o",
                         "jsonpath={.spec.containers[0].image}")
    t.check(rc == 0 and out == "kubia", "get -o jsonpath field", (out, err))
    rc, out, err = c.run("get", "pods", "-o",
                         "custom-columns=NAME:.metadata.name,IMAGES:.spec.containers[*].image,"
                         "PORT:.spec.containers[0].ports[0].containerPort,NODE:.spec.nodeName")
    t.check(rc == 0 and table(out)[0] == ["NAME", "IMAGES", "PORT", "NODE"]
            and ["kubia", "kubia", "8080", "<none>"] in table(out), "-o custom-columns", (out, err))
    rc, out, err = c.run("get", "pods", "-l", "run=kubia", "-o", "name")
    t.check(rc == 0 and out.strip() == "pod/kubia", "get -l", (out, err))
    rc, out, err = c.run("get", "pods", "-l", "run=nothing")
    t.check(rc == 0 and out == "" and "No resources found in default namespace." in err,
            "empty list message", (out, err))
    rc, out, err = c.run("get", "pods", "--field-selector", "metadata.name=kubia", "-o", "name")
    t.check(rc == 0 and out.strip() == "pod/kubia", "get --field-selector", (out, err))
    rc, out, err = c.run("describe", "pod", "kubia")
    t.check(rc == 0 and re.search(r"^Name:\s+kubia$", out, re.M)
            and re.search(r"^Namespace:\s+default$", out, re.M)
            and re.search(r"^Labels:\s+run=kubia$", out, re.M)
            and re.search(r"^Containers:$", out, re.M)
            and re.search(r"^    Image:\s+kubia$", out, re.M)
            and re.search(r"^Events:", out, re.M),
            "describe pod", out)
    rc, out, err = c.run("get", "ns")
    rows = table(out)
    t.check(rc == 0 and ["default", "Active"] == rows[1][:2] if len(rows) > 1 else False,
            "get namespaces", out)


def check_create_apply_scale_expose(t, c, tmp):
    rc, out, err = c.run("create", "deployment", "web", "--image=nginx")
    t.check(rc == 0 and out.strip() == "deployment.apps/web created",
            "create deployment", (rc, out, err))
    rc, out, err = c.run("get", "deploy", "web")
    rows = table(out)
    t.check(rc == 0 and rows[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
            and rows[1][0] == "web", "get deployment", out)
    rc, out, err = c.run("describe", "deployment", "web")
    t.check(rc == 0 and re.search(r"^Name:\s+web$", out, re.M)
            and re.search(r"^Selector:\s+app=web$", out, re.M)
            and re.search(r"^Replicas:\s+1 desired", out, re.M), "describe deployment", out)
    rc, out, err = c.run("scale", "deployment", "web", "--replicas=3")
    t.check(rc == 0 and out.strip() == "deployment.apps/web scaled", "scale", (out, err))
    rc, out, err = c.run("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}")
    t.check(out == "3", "scale took effect", (out, err))
    rc, out, err = c.run("expose", "deployment", "web", "--port=80", "--target-port=8080")
    t.check(rc == 0 and out.strip() == "service/web exposed", "expose", (out, err))
    rc, out, err = c.run("get", "svc", "web", "-o", "json")
    try:
        svc = json.loads(out)
    except ValueError:
        svc = {"spec": {}}
    ports = svc["spec"].get("ports") or [{}]
    t.check(ports[0].get("port") == 80 and ports[0].get("targetPort") == 8080
            and svc["spec"].get("selector") == {"app": "web"}, "exposed service", out[:400])
    rc, out, err = c.run("describe", "service", "web")
    t.check(rc == 0 and re.search(r"^Selector:\s+app=web$", out, re.M)
            and re.search(r"^TargetPort:\s+8080/TCP$", out, re.M), "describe service", out)
    rc, out, err = c.run("create", "namespace", "team")
    t.check(rc == 0 and out.strip() == "namespace/team created", "create namespace", (out, err))
    rc, out, err = c.run("describe", "namespace", "team")
    t.check(rc == 0 and re.search(r"^Status:\s+Active$", out, re.M), "describe namespace", out)

    path = write(tmp, "app.yaml", DEPLOY_YAML)
    rc, out, err = c.run("apply", "-f", path)
    t.check(rc == 0 and out.split("\n")[:2] == ["deployment.apps/app created",
                                                 "configmap/cfg created"],
            "apply creates", (out, err))
    rc, out, err = c.run("get", "deploy", "app", "-o", "json")
    ann = json.loads(out)["metadata"].get("annotations", {}) if rc == 0 else {}
    last = ann.get("kubectl.kubernetes.io/last-applied-configuration", "")
    t.check(last and json.loads(last)["spec"]["replicas"] == 1,
            "apply records last-applied-configuration", ann)
    rc, out, err = c.run("apply", "-f", path)
    t.check(rc == 0 and out.split("\n")[:2] == ["deployment.apps/app unchanged",
                                                 "configmap/cfg unchanged"],
            "second apply is unchanged", (out, err))
    write(tmp, "app.yaml", DEPLOY_YAML.replace("replicas: 1", "replicas: 2")
          .replace("    tier: web\n", ""))
    rc, out, err = c.run("apply", "-f", path)
    t.check(rc == 0 and "deployment.apps/app configured" in out
            and "configmap/cfg unchanged" in out, "changed apply patches", (out, err))
    rc, out, err = c.run("get", "deploy", "app", "-o", "json")
    d = json.loads(out) if rc == 0 else {"spec": {}, "metadata": {}}
    t.check(d["spec"].get("replicas") == 2 and "tier" not in d["metadata"].get("labels", {}),
            "apply patch changed replicas and removed the dropped label",
            (d["spec"].get("replicas"), d["metadata"].get("labels")))
    # -f with a directory and with stdin (multi-document YAML).
    sub = os.path.join(tmp, "dir")
    os.makedirs(sub, exist_ok=True)
    write(sub, "one.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d1\n")
    write(sub, "two.json", '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"d2"}}')
    write(sub, "ignored.txt", "not yaml")
    rc, out, err = c.run("create", "-f", sub)
    t.check(rc == 0 and out.split() == ["configmap/d1", "created", "configmap/d2", "created"],
            "create -f directory", (out, err))
    saved = write(tmp, "saved.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                  "  name: saved\ndata:\n  k: v\n")
    rc, out, err = c.run("create", "--save-config", "-f", saved)
    t.check(rc == 0 and out.strip() == "configmap/saved created", "create --save-config", (out, err))
    rc, out, err = c.run("apply", "-f", saved)
    t.check(rc == 0 and out.strip() == "configmap/saved unchanged",
            "apply after create --save-config is unchanged", (out, err))
    c.run("delete", "configmap", "saved")
    rc, out, err = c.run("apply", "-f", "-", stdin="apiVersion: v1\nkind: ConfigMap\n"
                         "metadata:\n  name: s1\n---\napiVersion: v1\nkind: ConfigMap\n"
                         "metadata:\n  name: s2\n")
    t.check(rc == 0 and out.split() == ["configmap/s1", "created", "configmap/s2", "created"],
            "apply -f - with two documents", (out, err))


def check_label_annotate_patch(t, c):
    rc, out, err = c.run("label", "pod", "kubia", "env=prod")
    t.check(rc == 0 and out.strip() == "pod/kubia labeled", "label", (out, err))
    rc, out, err = c.run("label", "pod", "kubia", "env=dev")
    t.check(rc != 0 and "already has a value (prod)" in err and "--overwrite" in err,
            "label without --overwrite refuses", (rc, out, err))
    rc, out, err = c.run("label", "pod", "kubia", "env=dev", "--overwrite")
    t.check(rc == 0 and out.strip() == "pod/kubia labeled", "label --overwrite", (out, err))
    rc, out, err = c.run("get", "pods", "-l", "env=dev", "-o", "name")
    t.check(out.strip() == "pod/kubia", "label visible to selectors", out)
    rc, out, err = c.run("label", "pod", "kubia", "env-")
    # kubectl 1.20 says "labeled", newer ones (and kube) "unlabeled".
    want = "pod/kubia labeled" if c.flavor == "kubectl-1.20" else "pod/kubia unlabeled"
    t.check(rc == 0 and out.strip() == want, "label removal", (out, err))
    rc, out, err = c.run("get", "pod", "kubia", "-o", "jsonpath={.metadata.labels}")
    t.check("env" not in out, "label removed", out)
    rc, out, err = c.run("annotate", "pod", "kubia", "note=hello")
    t.check(rc == 0 and out.strip() == "pod/kubia annotated", "annotate", (out, err))
    rc, out, err = c.run("get", "pod", "kubia", "-o", "jsonpath={.metadata.annotations.note}")
    t.check(out == "hello", "annotation stored", out)
    rc, out, err = c.run("annotate", "pod", "kubia", "example.com/owner=team-a")
    rc, out, err = c.run("get", "pod", "kubia", "-o",
                         r"jsonpath={.metadata.annotations.example\.com/owner}")
    t.check(rc == 0 and out == "team-a", "jsonpath with an escaped dot", (out, err))
    rc, out, err = c.run("get", "pod", "kubia", "-o", "jsonpath={.metadata.name")
    t.check(rc == 1 and "error parsing jsonpath {.metadata.name, unclosed action"
            in err and not out, "a bad jsonpath: error and exit 1", (rc, out, err))
    rc, out, err = c.run("patch", "pod", "kubia", "-p", '{"metadata":{"labels":{"p":"s"}}}')
    t.check(rc == 0 and out.strip() == "pod/kubia patched", "patch (strategic)", (out, err))
    rc, out, err = c.run("patch", "pod", "kubia", "--type=merge", "-p",
                         '{"metadata":{"labels":{"p":"m"}}}')
    t.check(rc == 0 and out.strip() == "pod/kubia patched", "patch --type=merge", (out, err))
    rc, out, err = c.run("patch", "pod", "kubia", "--type=json", "-p",
                         '[{"op":"replace","path":"/metadata/labels/p","value":"j"}]')
    t.check(rc == 0 and out.strip() == "pod/kubia patched", "patch --type=json", (out, err))
    rc, out, err = c.run("get", "pod", "kubia", "-o", "jsonpath={.metadata.labels.p}")
    t.check(out == "j", "patches applied in order", out)
    rc, out, err = c.run("patch", "deployment", "web", "-p",
                         '{"spec":{"template":{"spec":{"containers":[{"name":"nginx",'
                         '"image":"nginx:2"}]}}}}')
    t.check(rc == 0, "strategic patch of a container by name", (out, err))
    rc, out, err = c.run("get", "deploy", "web", "-o",
                         "jsonpath={.spec.template.spec.containers[*].image}")
    t.check(out == "nginx:2", "strategic patch merged the container by name", out)


class Reader:
    """Collects a child's stdout in a thread, so a test can wait for the
    first output (a watcher has listed and is now watching)."""

    def __init__(self, proc):
        self.proc = proc
        self.chunks = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        for line in self.proc.stdout:
            self.chunks.append(line)

    def wait_output(self, timeout=30):
        deadline = time.time() + timeout
        while not self.chunks and time.time() < deadline and self.proc.poll() is None:
            time.sleep(0.05)
        return bool(self.chunks)

    def finish(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.thread.join(10)
        self.proc.stderr.close()
        return "".join(self.chunks)


def check_watch(t, c):
    # Watchers print tables, events as JSON, and tables with EVENT; each has
    # listed (printed the existing pod) before the changes begin.
    readers = [Reader(c.popen("get", "pods", "-w")),
               Reader(c.popen("get", "pods", "-w", "--output-watch-events", "-o", "json")),
               Reader(c.popen("get", "pods", "-w", "--output-watch-events"))]
    for r in readers:
        t.check(r.wait_output(), "watcher started", r.proc.args)
    c.run("run", "watched", "--image=x")
    c.run("label", "pod", "watched", "seen=yes")
    c.run("delete", "pod", "watched", "--wait=false")
    def done():
        rows = sum(line.startswith("watched ") for line in readers[0].chunks)
        return (rows >= 3 and "DELETED" in "".join(readers[1].chunks)
                and "DELETED" in "".join(readers[2].chunks))

    deadline = time.time() + 20
    while time.time() < deadline and not done():
        time.sleep(0.1)
    outs = [r.finish() for r in readers]
    rows = table(outs[0])
    t.check(rows and rows[0][0] == "NAME" and sum(1 for r in rows if r[0] == "watched") >= 3,
            "get -w prints a row per change", outs[0])
    w3_rows = table(outs[2])
    t.check(w3_rows and w3_rows[0][:2] == ["EVENT", "NAME"]
            and ["ADDED", "watched"] in [r[:2] for r in w3_rows]
            and ["DELETED", "watched"] in [r[:2] for r in w3_rows],
            "get -w --output-watch-events adds an EVENT column", outs[2])
    events = json_stream(outs[1])
    seen = [(e.get("type"), e.get("object", {}).get("metadata", {}).get("name"))
            for e in events]
    t.check(("ADDED", "watched") in seen and ("MODIFIED", "watched") in seen
            and ("DELETED", "watched") in seen,
            "get -w --output-watch-events sees ADDED/MODIFIED/DELETED", seen)


def check_server_side_apply(t, c, tmp):
    path = write(tmp, "ssa.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                 "  name: ssa\ndata:\n  a: \"1\"\n")
    rc, out, err = c.run("apply", "--server-side", "-f", path)
    t.check(rc == 0 and out.strip() == "configmap/ssa serverside-applied",
            "server-side apply creates", (rc, out, err))
    rc, out, err = c.run("get", "cm", "ssa", "-o", "jsonpath={.metadata.managedFields[0].operation}")
    t.check(out == "Apply", "server-side apply records managed fields", (out, err))
    write(tmp, "ssa.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
          "  name: ssa\ndata:\n  a: \"2\"\n")
    rc, out, err = c.run("apply", "--server-side", "--field-manager=other", "-f", path)
    t.check(rc == 1 and "Apply failed with 1 conflict" in err and ".data.a" in err
            and "--force-conflicts" in err,
            "server-side apply conflict with another manager", (rc, err))
    rc, out, err = c.run("apply", "--server-side", "--field-manager=other",
                         "--force-conflicts", "-f", path)
    t.check(rc == 0 and out.strip() == "configmap/ssa serverside-applied",
            "--force-conflicts takes the field", (rc, out, err))
    rc, out, err = c.run("get", "cm", "ssa", "-o", "jsonpath={.data.a}")
    t.check(out == "2", "forced value stored", out)


def check_conflicts_dry_run(t, c):
    rc, out, err = c.run("label", "pod", "kubia", "x=y", "--resource-version=1")
    t.check(rc == 1 and err.startswith("Error from server (Conflict): ")
            and 'pods "kubia"' in err, "stale resourceVersion conflicts", (rc, err))
    rc, out, err = c.run("run", "kubia", "--image=kubia")
    t.check(rc == 1 and err.strip() == 'Error from server (AlreadyExists): pods "kubia" already exists',
            "duplicate create", (rc, err))
    rc, out, err = c.run("create", "deployment", "dry", "--image=x", "--dry-run=server")
    t.check(rc == 0 and out.strip() == "deployment.apps/dry created (server dry run)",
            "server dry run", (out, err))
    rc, out, err = c.run("get", "deployment", "dry")
    t.check(rc == 1 and "NotFound" in err, "server dry run stores nothing", (rc, out, err))
    rc, out, err = c.run("run", "dry2", "--image=x", "--dry-run=client", "-o", "yaml")
    t.check(rc == 0 and "name: dry2" in out and "run: dry2" in out, "client dry run", out)
    rc, out, err = c.run("get", "pod", "dry2")
    t.check(rc == 1, "client dry run stores nothing", (rc, out))


def check_bad_input(t, c, tmp):
    rc, out, err = c.run("get", "pod", "nope")
    t.check(rc == 1 and err.strip() == 'Error from server (NotFound): pods "nope" not found',
            "get missing pod", (rc, err))
    rc, out, err = c.run("get", "nosuchkind")
    t.check(rc == 1 and 'the server doesn\'t have a resource type "nosuchkind"' in err,
            "unknown resource type", (rc, err))
    rc, out, err = c.run("delete", "pod", "nope")
    t.check(rc == 1 and 'pods "nope" not found' in err, "delete missing pod", (rc, err))
    rc, out, err = c.run("create", "-f", os.path.join(tmp, "missing.yaml"))
    t.check(rc == 1 and "does not exist" in err, "create -f missing file", (rc, err))
    bad = write(tmp, "broken.yaml", "a: [\n")
    rc, out, err = c.run("apply", "-f", bad)
    t.check(rc == 1 and "error" in err.lower(), "apply -f malformed YAML", (rc, err))
    rc, out, err = c.run("get", "pods", "-o", "bogus")
    t.check(rc == 1 and "unable to match a printer" in err, "unknown -o format", (rc, err))
    rc, out, err = c.run("scale", "deployment", "web")
    t.check(rc == 1 and "replicas" in err, "scale without --replicas", (rc, err))
    rc, out, err = c.run("patch", "pod", "kubia", "--type=json", "-p",
                         '[{"op":"remove","path":"/metadata/labels/absent"}]')
    t.check(rc == 1 and ("Error from server" in err or "invalid" in err),
            "failing JSON patch", (rc, err))
    rc, out, err = c.run("patch", "pod", "kubia", "-p", "{not json")
    t.check(rc == 1 and "rror" in err, "malformed patch", (rc, err))
    rc, out, err = c.run("get")
    t.check(rc == 1 and "You must specify the type of resource to get" in err,
            "get without a type", (rc, err))
    rc, out, err = c.run("get", "pod", "kubia", "-A")
    t.check(rc == 1 and "a resource cannot be retrieved by name across all namespaces" in err,
            "get NAME -A", (rc, err))
    rc, out, err = c.run("get", "pods", "--no-such-flag")
    t.check(rc == 1 and "unknown flag: --no-such-flag" in err, "unknown flag", (rc, err))
    rc, out, err = c.run("create", "-f", write(tmp, "noimage.yaml",
                                               "apiVersion: v1\nkind: Pod\nmetadata:\n"
                                               "  name: noimage\nspec:\n  containers:\n"
                                               "  - name: c\n"))
    t.check(rc == 1 and err.strip() == 'The Pod "noimage" is invalid: '
            'spec.containers[0].image: Required value', "invalid object", (rc, err))
    rc, out, err = c.run("create", "-f", write(tmp, "nokind.yaml", "metadata:\n  name: x\n"))
    t.check(rc == 1 and "kind" in err.lower(), "object without kind", (rc, err))


def check_namespaces(t, c):
    rc, out, err = c.run("run", "inteam", "--image=x", "-n", "team")
    t.check(rc == 0 and out.strip() == "pod/inteam created", "run -n", (out, err))
    rc, out, err = c.run("get", "pods", "-n", "team", "-o", "name")
    t.check(out.strip() == "pod/inteam", "get -n", out)
    rc, out, err = c.run("get", "pods", "-A")
    rows = table(out)
    t.check(rc == 0 and rows[0][:2] == ["NAMESPACE", "NAME"]
            and ["team", "inteam"] in [r[:2] for r in rows]
            and ["default", "kubia"] in [r[:2] for r in rows], "get -A", out)
    t.check(aligned(out), "get -A columns aligned", out)


def check_delete(t, c, tmp):
    rc, out, err = c.run("delete", "pod", "kubia")
    t.check(rc == 0 and out.strip() == 'pod "kubia" deleted', "delete pod", (rc, out, err))
    rc, out, err = c.run("get", "pod", "kubia")
    t.check(rc == 1 and "NotFound" in err, "deleted pod is gone when delete returns", (rc, err))
    rc, out, err = c.run("delete", "-f", os.path.join(tmp, "app.yaml"))
    t.check(rc == 0 and 'deployment.apps "app" deleted' in out and 'configmap "cfg" deleted' in out,
            "delete -f", (out, err))
    c.run("run", "l1", "--image=x", "--labels=grp=a")
    c.run("run", "l2", "--image=x", "--labels=grp=a")
    rc, out, err = c.run("delete", "pods", "-l", "grp=a")
    t.check(rc == 0 and sorted(out.split("\n")[:2]) == ['pod "l1" deleted', 'pod "l2" deleted'],
            "delete -l", (out, err))
    rc, out, err = c.run("delete", "configmaps", "--all")
    t.check(rc == 0 and 'configmap "d1" deleted' in out, "delete --all", (out, err))
    rc, out, err = c.run("get", "configmaps", "-o", "name")
    t.check("configmap/d1" not in out and "configmap/s1" not in out, "--all removed them", out)
    rc, out, err = c.run("delete", "svc/web", "deployment/web")
    t.check(rc == 0 and 'service "web" deleted' in out and 'deployment.apps "web" deleted' in out,
            "delete TYPE/NAME ...", (out, err))


def run_all(argv0, kubed_path, flavor, extra=None):
    """Start kubed, run every check with the given client, return the exit
    code (0 ok, 1 failures)."""
    t = Failures()
    k = Kubed(kubed_path, store="memory")
    tmp = tempfile.mkdtemp(prefix="kube-cli-test-")
    c = None
    try:
        k.start()
        c = Cli(argv0, k, flavor)
        check_discovery(t, c)
        check_run_get_describe(t, c)
        check_create_apply_scale_expose(t, c, tmp)
        check_label_annotate_patch(t, c)
        check_watch(t, c)
        check_server_side_apply(t, c, tmp)
        check_conflicts_dry_run(t, c)
        check_bad_input(t, c, tmp)
        check_namespaces(t, c)
        if extra:
            extra(t, c, tmp)
        check_delete(t, c, tmp)
    finally:
        if t.failed:
            if k.proc and k.proc.poll() is not None:
                print("kubed exited with status %s" % k.proc.returncode)
            print("---- kubed log (tail) ----")
            print("\n".join(k.read_log().splitlines()[-30:]))
        if c:
            c.cleanup()
        k.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    return t.finish()
