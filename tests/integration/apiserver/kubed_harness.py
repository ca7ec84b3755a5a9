# SPDX-License-Identifier: Apache-2.0
"""Start a real kubed on a temporary data dir, a free port and a temporary
unix socket, and talk HTTP(S) to it with the standard library only."""
import http.client
import json
import os
import select
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:300])


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Etcd:
    """A private etcd on loopback (Debian's /usr/bin/etcd): one member
    alone, or one of an EtcdCluster."""
    BINARY = "/usr/bin/etcd"

    def __init__(self, base_dir, name="default"):
        self.name = name
        self.dir = os.path.join(base_dir,
                                "etcd" if name == "default" else
                                "etcd-" + name)
        self.proc = None
        self.endpoint = None
        self.cport, self.pport = free_port(), free_port()
        self.curl = "http://127.0.0.1:%d" % self.cport
        self.purl = "http://127.0.0.1:%d" % self.pport

    @classmethod
    def available(cls):
        return os.access(cls.BINARY, os.X_OK)

    def spawn(self, initial_cluster=None):
        self.log = open(self.dir + ".log", "ab")
        self.proc = subprocess.Popen(
            [self.BINARY, "--name", self.name, "--data-dir", self.dir,
             "--listen-client-urls", self.curl,
             "--advertise-client-urls", self.curl,
             "--listen-peer-urls", self.purl,
             "--initial-advertise-peer-urls", self.purl,
             "--initial-cluster",
             initial_cluster or "%s=%s" % (self.name, self.purl),
             "--log-level", "error"],
            stdout=self.log, stderr=self.log)
        self.endpoint = self.curl

    def wait(self, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.cport,
                                               timeout=1)
                c.request("GET", "/health")
                if c.getresponse().status == 200:
                    c.close()
                    return self
                c.close()
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("etcd %s did not start" % self.name)

    def start(self, timeout=20):
        self.spawn()
        return self.wait(timeout)

    def stop(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            self.log.close()


class EtcdCluster:
    """n etcd members on loopback in one cluster; endpoint lists them all
    (for --etcd-endpoints)."""

    def __init__(self, base_dir, n=3):
        self.members = [Etcd(base_dir, "m%d" % i) for i in range(n)]
        self.endpoint = ",".join(m.curl for m in self.members)

    def start(self, timeout=30):
        initial = ",".join("%s=%s" % (m.name, m.purl) for m in self.members)
        for m in self.members:
            m.spawn(initial)
        for m in self.members:
            m.wait(timeout)
        return self

    def stop(self):
        for m in self.members:
            m.stop()


class Kubed:
    def __init__(self, kubed, store="memory", extra=(), data_dir=None,
                 token="test-token", preexec_fn=None, node=False):
        self.kubed = kubed
        # kubed runs a node agent unless --no-node: these tests talk to the
        # API only, and a node would touch the host's network and cgroups.
        self.node = node
        self.preexec_fn = preexec_fn
        self.own_dir = data_dir is None
        self.tmp = data_dir or tempfile.mkdtemp(prefix="kubed-test-")
        self.data = os.path.join(self.tmp, "data")
        self.sock = os.path.join(self.tmp, "kubed.sock")
        self.token = token
        self.store = store
        self.extra = list(extra)
        self.proc = None
        self.port = None
        self.log_path = os.path.join(self.tmp, "kubed.log")
        self.etcd = None

    def start(self, timeout=float(os.environ.get("KUBED_START_TIMEOUT", "10"))):
        args = [self.kubed, "server", "--data-dir", self.data,
                "--listen", "unix:" + self.sock,
                "--listen", "tcp:127.0.0.1:0",
                "--store", self.store, "--token", self.token] + self.extra
        if not self.node:
            args.append("--no-node")
        if self.store == "etcd":
            if self.etcd is None:
                self.etcd = Etcd(self.tmp).start()
            args += ["--etcd-endpoints", self.etcd.endpoint]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                                     stderr=self.log,
                                     preexec_fn=self.preexec_fn)
        deadline = time.time() + timeout
        buf = b""
        while time.time() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
                if b"kubeconfig written" in buf:
                    break
            if self.proc.poll() is not None:
                break
        for line in buf.decode().splitlines():
            if "listening on https://" in line or "listening on http://" in line:
                self.port = int(line.split("://", 1)[1].split(":")[1].split()[0])
                self.scheme = line.split("listening on ", 1)[1].split(":")[0]
        if self.port is None:
            self.stop(kill=True)
            raise RuntimeError("kubed did not start: %r\n%s" %
                               (buf, self.read_log()))
        # Wait for bootstrap (namespaces) to finish.
        while time.time() < deadline:
            if self.request("GET", "/readyz").status == 200:
                return self
            time.sleep(0.05)
        raise RuntimeError("kubed never became ready")

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def ssl_context(self):
        ctx = ssl.create_default_context(cafile=os.path.join(self.data, "tls.crt"))
        return ctx

    def conn(self, timeout=10):
        if self.scheme == "https":
            return http.client.HTTPSConnection("127.0.0.1", self.port,
                                               timeout=timeout,
                                               context=self.ssl_context())
        return http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=timeout)

    def request(self, method, path, body=None, ctype=None, accept=None,
                token=True, headers=None, timeout=10):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + (self.token if token is True else token)
        if ctype:
            h["Content-Type"] = ctype
        if accept:
            h["Accept"] = accept
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode()
        c = self.conn(timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return Response(r.status, dict(r.getheaders()), data.decode(errors="replace"))
        finally:
            c.close()

    def unix_request(self, method, path, body=None, ctype="application/json"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.sock)
        c = http.client.HTTPConnection("localhost")
        c.sock = s
        h = {}
        if body is not None:
            if not isinstance(body, (str, bytes)):
                body = json.dumps(body)
            h["Content-Type"] = ctype
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return Response(r.status, dict(r.getheaders()), data.decode())

    def stop(self, kill=False, timeout=15):
        """SIGTERM (or SIGKILL) the kubed we started; returns its exit code."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc.stdout.close()
        self.log.close()
        self.proc = None
        return rc

    def cleanup(self):
        self.stop(kill=True)
        if self.etcd:
            self.etcd.stop()
        if self.own_dir:
            shutil.rmtree(self.tmp, ignore_errors=True)


def pod(name, labels=None, image="nginx", ns=None, node=None, **spec):
    p = {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": name, "labels": labels or {}},
         "spec": {"containers": [{"name": "c", "image": image}]}}
    if ns:
        p["metadata"]["namespace"] = ns
    if node:
        p["spec"]["nodeName"] = node
    # No scheduler in kubed serves this name: the pods stay as the tests
    # leave them (no binding, no status writes behind their backs).
    p["spec"]["schedulerName"] = "libkube-test-unscheduled"
    p["spec"].update(spec)
    return p


def check_refused_flags(kubed, t, flags):
    """Each (flag, value) makes `kubed server` exit non-zero with a message
    naming the flag and saying "invalid"."""
    for flag, value in flags:
        p = subprocess.run([kubed, "server", "--no-node", "--store", "memory",
                            "--listen", "unix:/nonexistent/x.sock", flag, value],
                           capture_output=True, text=True, timeout=20)
        t.check(p.returncode != 0 and flag in p.stderr and "invalid" in p.stderr,
                "%s %s is refused clearly" % (flag, value), p.stderr[-300:])


class Failures:
    def __init__(self):
        self.failed = []
        self.passed = 0

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
        else:
            self.failed.append("%s %s" % (what, detail))
            print("FAIL:", what, detail, flush=True)

    def finish(self):
        print("%d checks passed, %d failed" % (self.passed, len(self.failed)))
        return 1 if self.failed else 0
