#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 14's adversarial suite against a real kubed, beyond what
test_hardening.py covers (slowloris variants against TCP and TLS while the
unix socket answers, connection floods, two Content-Length headers,
over-limit bodies, NUL and oversize URIs, chunk extensions: its helpers are
reused here, its checks are not repeated).  Loopback only, bounded in count
and time:

- memory floods: heads just under the limit, bodies just under theirs on
  100 connections: the bodies being read have a global budget (429
  Status past it), RSS stays bounded and comes back near idle;
- malformed framing: bad and overflowing chunk sizes, a truncated chunk,
  Content-Length with Transfer-Encoding, NUL in a header, a header block
  over the limit, NUL in a JSON name: each a JSON Status, and the server
  keeps serving;
- slow watchers: non-reading watchers past a small --watch-budget-bytes
  are ended (the furthest behind), the peak RSS stays bounded, the API
  answers meanwhile, and memory is returned once they are gone;
- file modes: the data directory 0700 and every file kubed creates in it
  0600 (a Secret's value cannot be read as `nobody` from store.db, -wal or
  -shm even when the directory is opened up); an existing 0755 data
  directory is tightened and the log says so; a shared sticky directory or
  one owned by another user is refused.

usage: test_adversarial.py KUBED"""
import base64
import os
import pwd
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kubed_harness import Failures, Kubed  # noqa: E402
from test_hardening import (check_unix, raw, read_response,  # noqa: E402
                            status_of)

MiB = 1024 * 1024


def rss_kib(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


# ---- malformed requests ----

def send_raw(k, tls, data, timeout=10):
    s = raw(k, tls)
    try:
        s.sendall(data)
        return read_response(s, timeout)
    finally:
        s.close()


def test_framing(k, t):
    tls = k.scheme == "https"
    auth = ("Authorization: Bearer %s\r\n" % k.token).encode()
    post = (b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\n"
            b"Host: x\r\n" + auth + b"Content-Type: application/json\r\n")
    cases = [
        ("bad chunk size", post + b"Transfer-Encoding: chunked\r\n\r\n"
         b"zz\r\n{}\r\n0\r\n\r\n", 400),
        ("overflowing chunk size", post + b"Transfer-Encoding: chunked\r\n\r\n"
         b"fffffffffffffffffffff\r\n{}\r\n0\r\n\r\n", 400),
        ("chunk without its CRLF", post + b"Transfer-Encoding: chunked\r\n\r\n"
         b"2\r\n{}XX3\r\n", 400),
        ("Content-Length with Transfer-Encoding", post +
         b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
         b"2\r\n{}\r\n0\r\n\r\n", 400),
        ("NUL in a header value", b"GET /api/v1/namespaces HTTP/1.1\r\n"
         b"Host: x\r\n" + auth + b"X-A: a\x00b\r\n\r\n", 400),
        ("header block over the limit", b"GET /api/v1/namespaces HTTP/1.1\r\n"
         b"Host: x\r\n" + auth + b"X-Big: " + b"a" * (1100 * 1024) +
         b"\r\n\r\n", 431),
    ]
    for what, data, code in cases:
        resp = send_raw(k, tls, data)
        got, st = status_of(resp)
        t.check(got == code and isinstance(st, dict) and
                st.get("kind") == "Status",
                "%s: %d Status (%s)" % (what, code, k.scheme), resp[:200])
    # A NUL inside a JSON string is refused by validation, not cut.
    body = (b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":'
            b'"a\\u0000b"},"data":{"k":"v"}}')
    resp = send_raw(k, tls, post + b"Content-Length: %d\r\n\r\n" % len(body)
                    + body)
    got, st = status_of(resp)
    t.check(got in (400, 422) and st and st.get("kind") == "Status",
            "NUL in a name: 400/422 Status (%s)" % k.scheme, resp[:200])
    r = k.request("GET", "/api/v1/namespaces/default")
    t.check(r.status == 200, "serves after malformed requests (%s)" %
            k.scheme, r)


# ---- memory floods ----

def test_memory_floods(kubed, t):
    """Many connections holding big heads, then big bodies: RSS stays
    bounded (bodies being read have a global budget: 429 past it) and is
    back near idle once they are gone."""
    k = Kubed(kubed, extra=["--plain-http", "--no-registry", "--no-scheduler"])
    try:
        k.start()
        base = rss_kib(k.proc.pid)
        socks = []
        for _ in range(150):
            s = socket.create_connection(("127.0.0.1", k.port), 10)
            s.sendall(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n"
                      b"X-A: " + b"a" * 600000)
            socks.append(s)
        time.sleep(1)
        for s in socks:
            s.close()
        auth = ("Authorization: Bearer %s\r\n" % k.token).encode()
        socks = []
        for _ in range(100):
            s = socket.create_connection(("127.0.0.1", k.port), 10)
            try:
                s.sendall(b"POST /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n" +
                          auth + b"Content-Type: application/json\r\n"
                          b"Content-Length: 3000000\r\n\r\n" +
                          b"{" * 2500000)
            except OSError:
                pass  # refused and closed under us: fine
            socks.append(s)
        time.sleep(1)
        peak = rss_kib(k.proc.pid)
        refused = 0
        for s in socks:
            code, st = status_of(read_response(s, 0.2))
            if code == 429 and st and st.get("kind") == "Status":
                refused += 1
        check_unix(t, k, "with 100 connections sending bodies")
        for s in socks:
            s.close()
        time.sleep(1.5)
        after = rss_kib(k.proc.pid)
        print("memory floods: RSS base %d KiB, peak %d KiB, after %d KiB; "
              "%d bodies refused with 429" % (base, peak, after, refused))
        t.check(refused > 0, "bodies past the global budget get 429 Status",
                refused)
        t.check(peak < base + 128 * 1024, "RSS bounded while 250 MB of "
                "bodies are sent", "%d KiB" % peak)
        t.check(after < base + 8 * 1024, "RSS back near idle after the "
                "floods", "base %d after %d KiB" % (base, after))
        t.check(k.stop() == 0, "SIGTERM exits 0 after the floods")
    finally:
        if t.failed:
            print(k.read_log()[-2000:])
        k.cleanup()


# ---- slow watchers ----

def open_watcher(k, path, small_window=True):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if small_window:
        # A tiny receive window: the backlog stays in kubed, not in the
        # kernel.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect(("127.0.0.1", k.port))
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
              b"Authorization: Bearer " + k.token.encode() + b"\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            break
        head += chunk
    return s, head


def ended(s, limit=256 * MiB, timeout=3):
    """Drain s: True when the server closed it (EOF or reset)."""
    s.settimeout(timeout)
    got = 0
    try:
        while got < limit:
            chunk = s.recv(1 << 20)
            if not chunk:
                return True
            got += len(chunk)
    except socket.timeout:
        return False
    except OSError:
        return True
    return False


def read_all(s, counts, i):
    """A fast watcher: read until the server ends the stream."""
    s.settimeout(60)
    try:
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            counts[i] += len(chunk)
    except OSError:
        pass


def test_slow_watchers(kubed, t):
    budget = 32 * MiB
    n_slow, n_fast, n_objects, size = 24, 8, 40, 512 * 1024
    n_watchers = n_slow + n_fast
    k = Kubed(kubed, extra=["--plain-http", "--no-registry", "--no-scheduler",
                            "--watch-budget-bytes", str(budget)])
    socks, fast, threads = [], [], []
    counts = [0] * n_fast
    try:
        k.start()
        path = "/api/v1/namespaces/default/configmaps?watch=1"
        for i in range(n_watchers):
            s, head = open_watcher(k, path, small_window=i >= n_fast)
            if i < n_fast:
                fast.append(s)
                th = threading.Thread(target=read_all, args=(s, counts, i))
                th.start()
                threads.append(th)
            else:
                socks.append(s)
        t.check(len(socks) == n_slow and len(fast) == n_fast, "watchers open")
        base = rss_kib(k.proc.pid)
        value = "x" * size
        for i in range(n_objects):
            r = k.unix_request("POST", "/api/v1/namespaces/default/configmaps",
                               {"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": {"name": "big-%d" % i},
                                "data": {"v": value}})
            if r.status != 201:
                t.check(False, "create big configmap", r)
                break
            # The fast watchers keep up: the next object comes once each
            # has read this one (on a loaded 2-core machine Python threads
            # can read slower than kubed writes, and a watcher that is
            # really behind is rightly ended).
            deadline = time.monotonic() + 10
            while (min(counts) < (i + 1) * size and
                   time.monotonic() < deadline):
                time.sleep(0.005)
        check_unix(t, k, "with %d slow watchers" % n_watchers)
        r = k.request("GET", "/api/v1/namespaces/default/configmaps?limit=1")
        t.check(r.status == 200, "TCP answers with slow watchers", r)
        peak = rss_kib(k.proc.pid, "VmHWM")
        # What the store itself holds (objects and their history) plus the
        # budget and slack; without the budget every watcher queues all
        # n_objects * size bytes (32 x 16 MiB).
        stored = n_objects * size // 1024
        bound = base + 3 * stored + budget // 1024 + 48 * 1024
        t.check(peak < bound, "peak RSS bounded by the watch budget",
                "base %d KiB peak %d KiB bound %d KiB" % (base, peak, bound))
        print("slow watchers: RSS base %d KiB, peak %d KiB (bound %d KiB)" %
              (base, peak, bound))
        log = k.read_log()
        t.check("over their budget" in log, "the log says watchers were "
                "ended over the budget", log[-800:])
        n_ended = sum(1 for s in socks if ended(s))
        t.check(0 < n_ended, "slow watchers ended",
                "%d of %d" % (n_ended, n_slow))
        deadline = time.monotonic() + 30
        while (min(counts) < n_objects * size and
               time.monotonic() < deadline):
            time.sleep(0.1)
        t.check(min(counts) >= n_objects * size and
                all(th.is_alive() for th in threads),
                "the fast watchers got every event and were not ended",
                counts)
        for s in socks + fast:
            s.shutdown(socket.SHUT_RDWR)
            s.close()
        for th in threads:
            th.join()
        socks, fast = [], []
        time.sleep(1)
        after = rss_kib(k.proc.pid)
        print("slow watchers: %d of %d ended; RSS after they left %d KiB" %
              (n_ended, n_slow, after))
        t.check(after < base + 3 * stored + 16 * 1024,
                "RSS back near idle once the watchers are gone",
                "base %d KiB after %d KiB peak %d KiB" % (base, after, peak))
        # From now on (an initial list of every big object would be over
        # the budget by itself).
        r = k.request("GET", "/api/v1/namespaces/default/configmaps?limit=1")
        rv = r.json()["metadata"]["resourceVersion"]
        s, head = open_watcher(k, path + "&resourceVersion=" + rv)
        t.check(b" 200 " in head, "a new watch is served", head[:100])
        s.close()
        t.check(k.stop() == 0, "SIGTERM exits 0 after the slow watchers")
    finally:
        for s in socks + fast:
            s.close()
        if t.failed:
            print(k.read_log()[-3000:])
        k.cleanup()
        for th in threads:
            th.join()


# ---- file modes ----

def as_nobody_can_read(paths):
    """Which of paths a process running as nobody can open for reading."""
    nobody = pwd.getpwnam("nobody")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            readable = []
            for p in paths:
                try:
                    with open(p, "rb") as f:
                        f.read(1)
                    readable.append(p)
                except OSError:
                    pass
            os.write(w, "\n".join(readable).encode())
        finally:
            os._exit(0)
    os.close(w)
    out = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        out += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return [p for p in out.decode().split("\n") if p]


def refused(kubed, data, what, t, needle):
    sock = os.path.join(os.path.dirname(data), "kubed.sock")
    p = subprocess.run([kubed, "server", "--data-dir", data, "--listen",
                        "unix:" + sock, "--store", "memory", "--no-registry", "--no-node",
                        "--no-scheduler"], capture_output=True, timeout=20)
    err = p.stderr.decode(errors="replace")
    t.check(p.returncode != 0 and needle in err, "kubed refuses " + what,
            "rc %d: %s" % (p.returncode, err[-300:]))


def test_file_modes(kubed, t):
    if os.geteuid() != 0:
        print("file modes: not root, the checks as `nobody` are skipped")
    tmp = tempfile.mkdtemp(prefix="kubed-modes-")
    os.chmod(tmp, 0o711)  # nobody may traverse it, as /var/lib would be
    data = os.path.join(tmp, "data")
    os.mkdir(data, 0o755)
    os.chmod(data, 0o755)
    with open(os.path.join(data, "token"), "w") as f:
        f.write("test-token\n")
    os.chmod(os.path.join(data, "token"), 0o644)
    k = Kubed(kubed, store="sqlite", data_dir=tmp,
              extra=["--no-scheduler", "--no-registry"])
    try:
        k.start()
        log = k.read_log()
        t.check("tightened to 0700" in log, "the log says the 0755 data "
                "directory was tightened", log[-500:])
        secret = b"s3cr3t-value-issue14"
        b64 = base64.b64encode(secret).decode()
        r = k.request("POST", "/api/v1/namespaces/default/secrets",
                      {"apiVersion": "v1", "kind": "Secret",
                       "metadata": {"name": "private"},
                       "data": {"password": b64}})
        t.check(r.status == 201, "secret created", r)
        mode = stat.S_IMODE(os.stat(data).st_mode)
        t.check(mode == 0o700, "data directory 0700", oct(mode))
        names = sorted(os.listdir(data))
        for want in ("store.db", "store.db-wal", "store.db-shm", "token",
                     "tls.key", "tls.crt", "kubeconfig.yaml"):
            t.check(want in names, "kubed created " + want, names)
        paths = []
        for name in names:
            p = os.path.join(data, name)
            st = os.lstat(p)
            m = stat.S_IMODE(st.st_mode)
            want = 0o700 if stat.S_ISDIR(st.st_mode) else 0o600
            t.check(m & 0o077 == 0, "%s is private" % name,
                    "%s (want %s)" % (oct(m), oct(want)))
            if stat.S_ISREG(st.st_mode):
                paths.append(p)
        with open(os.path.join(data, "store.db-wal"), "rb") as f:
            wal = f.read()
        t.check(b64.encode() in wal, "the secret is in the WAL (the check "
                "below means something)")
        if os.geteuid() == 0:
            # An operator opens the directory up: the files stay private.
            os.chmod(data, 0o755)
            readable = as_nobody_can_read(paths)
            os.chmod(data, 0o700)
            t.check(not readable, "nobody reads none of the data files",
                    readable)
        t.check(k.stop() == 0, "SIGTERM exits 0")
        # Restarted on a loosened directory with a loosened database.
        os.chmod(data, 0o750)
        os.chmod(os.path.join(data, "store.db"), 0o644)
        k.start()
        log = k.read_log()
        t.check(stat.S_IMODE(os.stat(data).st_mode) == 0o700 and
                stat.S_IMODE(os.stat(os.path.join(data, "store.db")).st_mode)
                == 0o600, "a loosened directory and database are tightened "
                "on start")
        t.check("store.db was mode 0644" in log, "the log names the "
                "loosened database", log[-500:])
        r = k.request("GET", "/api/v1/namespaces/default/secrets/private")
        t.check(r.status == 200 and b64 in r.body, "the secret survives", r)
        t.check(k.stop() == 0, "SIGTERM exits 0 (restart)")
    finally:
        if t.failed:
            print(k.read_log()[-3000:])
        k.cleanup()
        subprocess.run(["rm", "-rf", tmp])
    # Directories that cannot be tightened safely are refused.
    tmp = tempfile.mkdtemp(prefix="kubed-modes-")
    try:
        shared = os.path.join(tmp, "shared")
        os.mkdir(shared)
        os.chmod(shared, 0o1777)
        refused(kubed, shared, "a shared sticky data directory", t,
                "shared directory")
        if os.geteuid() == 0:
            other = os.path.join(tmp, "other")
            os.mkdir(other)
            os.chmod(other, 0o755)
            os.chown(other, pwd.getpwnam("nobody").pw_uid, -1)
            refused(kubed, other, "a data directory owned by another user",
                    t, "owned by uid")
    finally:
        subprocess.run(["rm", "-rf", tmp])


def main():
    kubed = sys.argv[1]
    t = Failures()
    tls_k = Kubed(kubed, extra=["--no-registry", "--no-scheduler"])
    plain_k = Kubed(kubed, extra=["--plain-http", "--no-registry",
                                  "--no-scheduler"])
    try:
        tls_k.start()
        plain_k.start()
        test_framing(tls_k, t)
        test_framing(plain_k, t)
        for k in (tls_k, plain_k):
            t.check(k.stop() == 0, "SIGTERM exits 0 (%s)" % k.scheme)
    finally:
        if t.failed:
            print(tls_k.read_log()[-2000:])
        tls_k.cleanup()
        plain_k.cleanup()
    test_memory_floods(kubed, t)
    test_slow_watchers(kubed, t)
    test_file_modes(kubed, t)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
