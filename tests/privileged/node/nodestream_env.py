# SPDX-License-Identifier: Apache-2.0
"""The environment of the node streaming test: a private network namespace,
busybox containers in pinned pod sandboxes, a control plane whose node
"node-a" is served in-process, an agent process serving "node-b" over its
kubelet HTTPS port, and the Node/Pod objects that point at them.

Everything lives under one temporary directory and one network namespace
made for the test; Env.close() removes the containers, the pinned
namespaces and the directory, and stops the processes it started (by
PID)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

KUBECTL_132 = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"
PYTHON = "/usr/bin/python3"


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


def enter_private_netns():
    """Re-run this program in a network namespace of its own (only lo), so
    every listener, port-forward and client of the test is private."""
    if os.environ.get("NODESTREAM_NETNS") == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        return
    env = dict(os.environ, NODESTREAM_NETNS="1")
    os.execvpe("unshare", ["unshare", "--net", "--", sys.executable]
               + sys.argv, env)


def check_prerequisites():
    if os.geteuid() != 0:
        skip("needs root (containers, network namespaces)")
    for tool in ("unshare", "ip", "openssl", "script", "curl"):
        if not shutil.which(tool):
            skip(f"{tool} is not installed")
    if not os.path.exists("/bin/busybox"):
        skip("busybox-static is not installed")
    if not os.access(KUBECTL_132, os.X_OK):
        skip(f"{KUBECTL_132} is missing")
    r = subprocess.run([PYTHON, "-c", "import kubernetes.stream, websocket"],
                       capture_output=True)
    if r.returncode != 0:
        skip("python3-kubernetes / python3-websocket missing")


# The main process of each container (busybox sh).
C1_SCRIPT = r"""
echo hello
echo err >&2
for i in 1 2 3 4 5; do echo line-$i; done
mkdir -p /tmp/www /tmp/www2
echo pf-8080 > /tmp/www/index.html
echo pf-9090 > /tmp/www2/index.html
head -c 2097152 /dev/urandom > /tmp/www/big
httpd -p 8080 -h /tmp/www
httpd -p 9090 -h /tmp/www2
while true; do sleep 1; done
"""
ATT_SCRIPT = "while read l; do echo got:$l; done; echo bye"
ROT_SCRIPT = r"""
echo ready
while [ ! -e /tmp/go ]; do sleep 0.1; done
i=1
while [ $i -le 3000 ]; do echo rot-$i; i=$((i+1)); done
echo rot-done
while true; do sleep 1; done
"""
ENDS_SCRIPT = r"""
echo start
while [ ! -e /tmp/stop ]; do sleep 0.1; done
echo end
"""


class Env:
    def __init__(self, tool, bundle_script):
        self.tool = tool
        self.tmp = tempfile.mkdtemp(prefix="nodestream-")
        self.rt = os.path.join(self.tmp, "rt")
        self.logs = os.path.join(self.tmp, "logs")
        os.makedirs(self.logs)
        self.prefix = f"ns{os.getpid()}"
        self.sandboxes = []
        self.procs = []
        self.map_a = os.path.join(self.tmp, "map-a")
        self.map_b = os.path.join(self.tmp, "map-b")
        self.lines_a, self.lines_b = [], []
        env = dict(os.environ, NO_CONFIG="1")
        subprocess.run([bundle_script, os.path.join(self.tmp, "bundle")],
                       env=env, check=True, capture_output=True)
        self.rootfs = os.path.join(self.tmp, "bundle", "rootfs")

    # ---- containers ----

    def container(self, node, pod, name, script, *, stdin=False,
                  stdin_once=False, tty=False, log=True, max_size=0,
                  max_files=0, log_name=None, record=True, uid=None):
        sandbox = os.path.join(self.tmp, "sb-" + pod)
        if sandbox not in self.sandboxes:
            self.sandboxes.append(sandbox)
        cid = f"{self.prefix}-{pod}-{log_name or name}"
        path = os.path.join(self.logs, f"{pod}-{log_name or name}.log")
        argv = [self.tool, "start", self.rt, self.rootfs, cid,
                "--sandbox", sandbox]
        if log:
            argv += ["--log", path]
        if stdin:
            argv.append("--stdin")
        if stdin_once:
            argv.append("--stdin-once")
        if tty:
            argv.append("--tty")
        if max_size:
            argv += ["--log-max-size", str(max_size)]
        if max_files:
            argv += ["--log-max-files", str(max_files)]
        argv += ["--", "/bin/sh"] if tty else ["--", "/bin/sh", "-c", script]
        subprocess.run(argv, check=True)
        if record:
            self.map_line(node, pod, name, cid, path, "-", sandbox + "/net",
                          uid or f"uid-{pod}")
        return cid, path

    def map_line(self, node, pod, name, cid, log, prev, netns, uid):
        lines = self.lines_a if node == "node-a" else self.lines_b
        lines.append(f"default {pod} {name} {cid} {log} {prev} {netns} {uid}")
        self.write_maps()

    def map_waiting(self, pod, name, reason):
        self.lines_a.append(f"default {pod} {name} waiting {reason}")
        self.write_maps()

    def write_maps(self):
        for path, lines in ((self.map_a, self.lines_a),
                            (self.map_b, self.lines_b)):
            with open(path + ".new", "w") as f:
                f.write("\n".join(lines) + "\n")
            os.replace(path + ".new", path)

    def wait_exit(self, cid):
        subprocess.run([self.tool, "wait", self.rt, cid], check=True,
                       capture_output=True)

    # ---- certificates ----

    def certs(self):
        d = os.path.join(self.tmp, "certs")
        os.makedirs(d)

        def run(*args):
            subprocess.run(["openssl"] + list(args), cwd=d, check=True,
                           capture_output=True)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
              "-nodes"]
        run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt",
            "-days", "1", "-subj", "/CN=nodestream-test-ca")
        with open(os.path.join(d, "san.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\n")
        for name, subj, ext in (
                ("agent", "/CN=node-b", ["-extfile", "san.ext"]),
                ("client", "/CN=kube-apiserver-kubelet-client/O=system:masters",
                 [])):
            run("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", subj)
            run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt",
                "-CAkey", "ca.key", "-CAcreateserial", "-out", f"{name}.crt",
                "-days", "1", *ext)
        self.certdir = d
        return d

    # ---- processes ----

    def start(self, argv, name):
        out = open(os.path.join(self.tmp, name + ".out"), "w+")
        err = open(os.path.join(self.tmp, name + ".err"), "w+")
        p = subprocess.Popen(argv, stdout=out, stderr=err)
        self.procs.append(p)
        deadline = time.time() + 30
        while time.time() < deadline:
            out.seek(0)
            text = out.read()
            if text.count("\n") >= (2 if name == "server" else 1):
                return p, text
            if p.poll() is not None:
                err.seek(0)
                raise RuntimeError(f"{name} exited: {err.read()}")
            time.sleep(0.05)
        raise RuntimeError(f"{name} did not start")

    def start_server(self):
        c = self.certdir
        _, text = self.start([self.tool, "server",
                              os.path.join(self.tmp, "data"), "node-a",
                              self.rt, self.map_a,
                              f"{c}/client.crt", f"{c}/client.key",
                              f"{c}/ca.crt"], "server")
        fields = dict(line.split(" ", 1) for line in text.splitlines())
        self.url = fields["URL"]
        self.kubeconfig = fields["KUBECONFIG"]

    def start_agent(self):
        c = self.certdir
        _, text = self.start([self.tool, "agent", self.rt, self.map_b,
                              f"{c}/agent.crt", f"{c}/agent.key",
                              f"{c}/ca.crt"], "agent")
        self.agent_port = int(text.split()[1])

    def log_path(self, name):
        return os.path.join(self.tmp, name + ".err")

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        r = subprocess.run([self.tool, "cleanup", self.rt] + self.sandboxes,
                           capture_output=True, text=True)
        if r.returncode != 0:
            print("cleanup:", r.stderr.strip())
        shutil.rmtree(self.tmp, ignore_errors=True)
        return r.returncode == 0

    # ---- API objects ----

    def kubectl(self, *args, input=None, env=None, timeout=60):
        e = dict(os.environ, KUBECONFIG=self.kubeconfig)
        e.update(env or {})
        return subprocess.run([KUBECTL_132] + list(args), input=input,
                              capture_output=True, text=True, env=e,
                              timeout=timeout)

    def apply(self, obj):
        r = self.kubectl("apply", "-f", "-", input=json.dumps(obj))
        if r.returncode != 0:
            raise RuntimeError(r.stderr)

    def patch_status(self, kind, name, status):
        r = self.kubectl("patch", kind, name, "--subresource=status",
                         "--type=merge", "-p", json.dumps({"status": status}))
        if r.returncode != 0:
            raise RuntimeError(r.stderr)

    def pod(self, name, node, containers, labels=None):
        self.apply({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": name, "namespace": "default",
                                 "labels": labels or {}},
                    "spec": {"nodeName": node, "containers": containers}})
        self.patch_status("pod", name, {"phase": "Running"})


def ctr(name, **kw):
    c = {"name": name, "image": "busybox"}
    c.update(kw)
    return c
