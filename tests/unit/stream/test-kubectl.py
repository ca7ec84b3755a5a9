#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Interop: real kubectl binaries against the stream sessions, served by
stream-test-server on a loopback port.  kubectl 1.32 silently falls back to
SPDY when a WebSocket upgrade fails, so every run also checks which
transport and protocol the server negotiated.

usage: test-kubectl.py STREAM_TEST_SERVER GET_KUBECTL_SH
Exits 77 when no kubectl can be found."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

K132 = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"


def find_kubectls(get_kubectl):
    found = []
    if os.access(K132, os.X_OK):
        found.append(("1.32", K132))
    r = subprocess.run(["sh", get_kubectl], capture_output=True, text=True)
    if r.returncode == 0 and r.stdout.strip():
        found.append(("1.20", r.stdout.strip()))
    else:
        print(f"note: no kubectl 1.20: {r.stderr.strip()}")
    return found


kubectls = find_kubectls(sys.argv[2])
if not kubectls:
    print(f"SKIP: neither {K132} nor Debian's kubectl 1.20 is available")
    sys.exit(77)

home = tempfile.mkdtemp(prefix="stream-kubectl-")
server = subprocess.Popen([sys.argv[1]], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True)
results = []


def upgrade_line():
    return server.stdout.readline().split()[1:]


def kubectl(binary, args, env=None, **kw):
    e = dict(os.environ, HOME=home, KUBECONFIG="/dev/null", **(env or {}))
    return subprocess.run([binary, f"--server=http://127.0.0.1:{port}"] + args,
                          env=e, capture_output=True, text=True, timeout=60,
                          **kw)


def check(name, fn):
    try:
        fn()
        results.append(None)
        print(f"ok   {name}")
    except Exception as e:
        results.append(e)
        print(f"FAIL {name}: {e!r}")


def exec_cases(ver, binary, env, want):
    def exit_code():
        r = kubectl(binary, ["exec", "p", "--", "exit", "3"], env)
        assert r.returncode == 3, (r.returncode, r.stderr)
        assert r.stdout == "bye\n", r.stdout
        assert upgrade_line() == want, want

    def stdin_cat():
        r = kubectl(binary, ["exec", "-i", "p", "--", "cat"], env,
                    input="line one\nline two\n")
        assert r.returncode == 0, (r.returncode, r.stderr)
        assert r.stdout == "line one\nline two\n", r.stdout
        assert upgrade_line() == want

    def internal_error():
        r = kubectl(binary, ["exec", "p", "--", "fail"], env)
        assert r.returncode != 0
        assert "not running" in r.stderr, r.stderr
        upgrade_line()

    def tty_resize(verb, cols, rows):
        # A real terminal (script(1) gives kubectl a pty of that size):
        # kubectl sends the size on the resize stream.
        args = [binary, f"--server=http://127.0.0.1:{port}"] + verb
        cmd = f"stty cols {cols} rows {rows}; " + " ".join(args)
        e = dict(os.environ, HOME=home, KUBECONFIG="/dev/null", **(env or {}))
        r = subprocess.run(["script", "-qec", cmd, "/dev/null"], env=e,
                           capture_output=True, text=True, timeout=60)
        assert upgrade_line() == want
        # attach first sends the size plus one, to make the program
        # redraw; the scripted container reports the first size.
        if verb[0] == "attach":
            cols, rows = cols + 1, rows + 1
        assert f"{cols}x{rows}\n" in r.stdout, (r.returncode, r.stdout)

    check(f"kubectl {ver} exec exit code ({' '.join(want)})", exit_code)
    if shutil.which("script"):
        check(f"kubectl {ver} exec -it resize ({' '.join(want)})",
              lambda: tty_resize(["exec", "-it", "p", "--", "size"], 123, 45))
        check(f"kubectl {ver} attach -it resize ({' '.join(want)})",
              lambda: tty_resize(["attach", "-it", "p"], 91, 37))
    check(f"kubectl {ver} exec stdin ({' '.join(want)})", stdin_cat)
    check(f"kubectl {ver} exec error ({' '.join(want)})", internal_error)


def port_forward(ver, binary, env, want):
    def run():
        e = dict(os.environ, HOME=home, KUBECONFIG="/dev/null", **(env or {}))
        pf = subprocess.Popen(
            [binary, f"--server=http://127.0.0.1:{port}", "port-forward",
             "pod/p", "0:8080", "0:9090"], env=e, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        try:
            local = {}
            deadline = time.time() + 30
            while len(local) < 2 and time.time() < deadline:
                line = pf.stdout.readline()
                if not line:
                    break
                if line.startswith("Forwarding from 127.0.0.1:"):
                    lp = int(line.split(":")[1].split()[0])
                    local[int(line.split("->")[1])] = lp
            assert len(local) == 2, local
            for remote, msg in ((8080, b"hello"), (9090, b"world"),
                                (8080, b"again")):
                s = socket.create_connection(("127.0.0.1", local[remote]),
                                             timeout=10)
                s.sendall(msg)
                s.shutdown(socket.SHUT_WR)
                got = b""
                while True:
                    c = s.recv(100)
                    if not c:
                        break
                    got += c
                s.close()
                assert got == msg.upper(), (remote, got)
            assert upgrade_line() == want, want
        finally:
            pf.kill()
            pf.wait()

    check(f"kubectl {ver} port-forward ({' '.join(want)})", run)


try:
    port = int(server.stdout.readline().split()[1])
    for ver, binary in kubectls:
        if ver == "1.32":
            exec_cases(ver, binary, None,
                       ["exec", "websocket", "5", "v5.channel.k8s.io"])
            exec_cases(ver, binary,
                       {"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false"},
                       ["exec", "spdy", "5", "v5.channel.k8s.io"])
            port_forward(ver, binary, None,
                         ["portforward", "spdy-over-websocket", "1",
                          "SPDY/3.1+portforward.k8s.io"])
            port_forward(ver, binary,
                         {"KUBECTL_PORT_FORWARD_WEBSOCKETS": "false"},
                         ["portforward", "spdy", "1", "portforward.k8s.io"])
        else:
            exec_cases(ver, binary, None,
                       ["exec", "spdy", "4", "v4.channel.k8s.io"])
            port_forward(ver, binary, None,
                         ["portforward", "spdy", "1", "portforward.k8s.io"])
finally:
    server.kill()
    server.wait()
    shutil.rmtree(home, ignore_errors=True)

failed = sum(1 for e in results if e)
print(f"{len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
