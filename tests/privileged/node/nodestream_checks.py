# SPDX-License-Identifier: Apache-2.0
"""The checks of test_nodestream.py, against the environment it built
(nodestream_env.py): every client, every transport, every verb."""

import fcntl
import hashlib
import os
import pty
import re
import select
import socket
import struct
import subprocess
import termios
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Optional

import nodestream_env as ne

SPDY = {"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false"}
PF_SPDY = {"KUBECTL_PORT_FORWARD_WEBSOCKETS": "false"}


@dataclass
class Ctx:
    E: Any
    K132: str
    K120: Optional[str]
    K120_WHY: str
    KUBE: str
    PYMOD: str
    UP_A: Any
    UP_B: Any
    run: Callable
    check: Callable
    skipped: Callable


C: Ctx = None


def expect(cond, what, *detail):
    if not cond:
        raise AssertionError(what + "".join(f"\n  {d}" for d in detail))


def show(r):
    return f"rc={r.returncode} stdout={r.stdout!r} stderr={r.stderr!r}"


def clients():
    """(name, argv prefix, env, expected transport, protocol) of every
    remote-command client that runs from the command line."""
    out = [("kubectl-1.32", [C.K132], {}, "websocket", "v5.channel.k8s.io"),
           ("kubectl-1.32-spdy", [C.K132], SPDY, "spdy", "v5.channel.k8s.io"),
           ("kube", [C.KUBE], {}, "websocket", "v5.channel.k8s.io"),
           ("kube-spdy", [C.KUBE], SPDY, "spdy", "v5.channel.k8s.io")]
    if C.K120:
        out.append(("kubectl-1.20", [C.K120], {}, "spdy", "v4.channel.k8s.io"))
    return out


def py(code, timeout=60):
    """Run a Python snippet with the official client (KUBECONFIG set)."""
    pre = ("import os, sys, time\n"
           "from kubernetes import client, config\n"
           "from kubernetes.stream import stream, portforward\n"
           "config.load_kube_config(os.environ['KUBECONFIG'])\n"
           "v1 = client.CoreV1Api()\n")
    return C.run([ne.PYTHON, "-c", pre + code], timeout=timeout)


# ---------------------------------------------------------------------------
# exec


def exec_exit_code(name, argv, env, transport, proto):
    def fn():
        r = C.run(argv + ["exec", "busy", "-c", "c1", "--", "sh", "-c",
                          "echo out; echo err >&2; exit 3"], env=env)
        expect(r.returncode == 3, "exit code 3 expected", show(r))
        expect(r.stdout == "out\n", "stdout", show(r))
        expect("err\n" in r.stderr and
               "command terminated with exit code 3" in r.stderr,
               "stderr", show(r))
        C.UP_A.expect("/pods/busy/exec", transport, proto)
    C.check(f"{name}: exec exit code 3", fn)


def exec_stdin(name, argv, env, transport, proto):
    def fn():
        data = "".join(f"line {i} of the input\n" for i in range(20000))
        r = C.run(argv + ["exec", "-i", "busy", "-c", "c1", "--", "cat"],
                  env=env, input=data)
        expect(r.returncode == 0, "exec -i cat", show(r)[:300])
        expect(r.stdout == data, f"cat returned {len(r.stdout)} of "
               f"{len(data)} bytes")
        C.UP_A.expect("/pods/busy/exec", transport, proto)
    C.check(f"{name}: exec -i (460 KB through stdin and back)", fn)


def exec_tty_script(name, argv, env, transport, proto):
    """-it under `script`: the size of script's pty reaches the process,
    and the exit code comes back through script -e."""
    def fn():
        cmd = " ".join(argv) + " exec -it busy -c c1 -- sh -c " \
            "'stty size; exit 7'"
        r = C.run(["script", "-qec", f"stty rows 33 cols 101; {cmd}",
                   "/dev/null"], env=env, input="")
        expect(r.returncode == 7, "exit code 7 through the terminal", show(r))
        expect("33 101" in r.stdout, "the terminal size", show(r))
        C.UP_A.expect("/pods/busy/exec", transport, proto)
    C.check(f"{name}: exec -it under script (size, exit code)", fn)


def pty_run(argv, env, rows, cols, steps, timeout=30):
    """Run argv on a pty of rows x cols.  steps: (regex, action) pairs: wait
    for regex in the output, then write bytes or resize (a tuple).  Returns
    (output, exit status)."""
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols,
                                                       0, 0))
        os.execvpe(argv[0], argv, env)
    out = b""
    deadline = time.time() + timeout
    pos = 0

    def pump(t):
        nonlocal out
        r, _, _ = select.select([fd], [], [], t)
        if not r:
            return True
        try:
            d = os.read(fd, 65536)
        except OSError:
            return False
        if not d:
            return False
        out += d
        return True
    try:
        for regex, action in steps:
            while not re.search(regex, out[pos:].decode(errors="replace")):
                expect(time.time() < deadline, f"pty: no {regex!r}",
                       out.decode(errors="replace"))
                expect(pump(0.2), f"pty: ended before {regex!r}",
                       out.decode(errors="replace"))
            pos = len(out)
            if isinstance(action, tuple):
                fcntl.ioctl(fd, termios.TIOCSWINSZ,
                            struct.pack("HHHH", action[0], action[1], 0, 0))
            elif action:
                os.write(fd, action)
        while time.time() < deadline and pump(0.2):
            pass
    finally:
        try:
            _, status = os.waitpid(pid, os.WNOHANG)
            if _ == 0:
                os.kill(pid, 9)
                _, status = os.waitpid(pid, 0)
        finally:
            os.close(fd)
    return out.decode(errors="replace"), os.waitstatus_to_exitcode(status)


def exec_tty_resize(name, argv, env, transport, proto):
    def fn():
        e = dict(os.environ, KUBECONFIG=C.E.kubeconfig, **env)
        out, code = pty_run(
            argv + ["exec", "-it", "busy", "-c", "c1", "--", "sh", "-c",
                    # kubectl sends the resize and the typed line on two
                    # channels from two goroutines: the line may overtake
                    # the resize, so wait (bounded) for the size to change.
                    "stty size; read x; i=0; while [ \"$(stty size)\" = "
                    "'33 101' ] && [ $i -lt 100 ]; do sleep 0.1; "
                    "i=$((i+1)); done; stty size; exit 5"], e, 33, 101,
            [(r"33 101", (40, 120)), (r"", b"go\r")])
        expect("40 120" in out, "the new size after SIGWINCH", out)
        expect(code == 5, f"exit code 5, got {code}", out)
        C.UP_A.expect("/pods/busy/exec", transport, proto)
    C.check(f"{name}: exec -it resize on SIGWINCH", fn)


def exec_errors():
    def same(args):
        a = C.run([C.K132] + args)
        b = C.run([C.KUBE] + args)
        expect((a.returncode, a.stdout, a.stderr) ==
               (b.returncode, b.stdout, b.stderr),
               f"kube differs from kubectl for {args}", show(a), show(b))
        return a

    def fn():
        r = same(["exec", "busy", "-c", "c1", "--", "/nonexistent"])
        expect(r.returncode == 1 and "error executing command in container"
               in r.stderr, "exec of a missing program", show(r))
        r = same(["exec", "busy", "-c", "nope", "--", "true"])
        expect("container nope is not valid for pod busy" in r.stderr,
               "unknown container", show(r))
        r = same(["exec", "nopod", "--", "true"])
        expect('pods "nopod" not found' in r.stderr, "missing pod", show(r))
        r = same(["exec", "wait", "--", "true"])
        expect('container not found ("w1")' in r.stderr,
               "a waiting container", show(r))
        r = same(["exec", "busy", "--", "echo", "defaulted"])
        expect('Defaulted container "c1" out of: c1, c2' in r.stderr and
               r.stdout == "defaulted\n", "default container", show(r))
    C.check("exec errors and defaults: kube prints what kubectl prints", fn)


def python_exec():
    def fn():
        r = py("r = stream(v1.connect_get_namespaced_pod_exec, 'busy', "
               "'default', container='c1', command=['sh', '-c', "
               "'cat; echo err >&2; exit 3'], stdin=True, stdout=True, "
               "stderr=True, tty=False, _preload_content=False)\n"
               "r.write_stdin('from python\\n')\n"
               "out = ''\n"
               "t = time.time()\n"
               "while r.is_open() and time.time() - t < 10:\n"
               "    r.update(timeout=1)\n"
               "    out += r.read_stdout() or ''\n"
               "    if 'from python' in out: break\n"
               "r.close()\n"
               "print(repr(out))\n"
               "o = stream(v1.connect_get_namespaced_pod_exec, 'busy', "
               "'default', container='c1', command=['sh', '-c', 'echo hi; "
               "exit 3'], stderr=True, stdin=False, stdout=True, tty=False, "
               "_preload_content=False)\n"
               "o.run_forever(timeout=20)\n"
               "print(o.returncode, repr(o.read_stdout()))\n")
        expect(r.returncode == 0, "python exec", show(r))
        expect("'from python\\n'" in r.stdout and "3 'hi\\n'" in r.stdout,
               "python exec output and exit code", show(r))
        C.UP_A.expect("/pods/busy/exec", "websocket", "v4.channel.k8s.io")
    C.check("python kubernetes.stream: exec (stdin, exit code)", fn)


def libkube_module():
    if not C.PYMOD:
        C.skipped("libkube.Client.logs/exec", "the Python module is not built")
        return

    def fn():
        code = ("import os, sys\n"
                f"sys.path.insert(0, {C.PYMOD!r})\n"
                "import libkube\n"
                "c = libkube.Client(os.environ['KUBECONFIG'])\n"
                "print(repr(c.logs('busy', container='c2', tail=1)))\n"
                "print(c.exec('busy', ['sh', '-c', 'cat; exit 4'], "
                "container='c1', stdin='in\\n'))\n"
                "try:\n"
                "    c.logs('wait')\n"
                "except libkube.ApiError as e:\n"
                "    print(e.code, e.reason)\n"
                "it = c.logs('busy', container='c2', follow=True, tail=1)\n"
                "print(repr(next(iter(it))))\n"
                "it.close()\n")
        r = C.run([ne.PYTHON, "-c", code])
        expect(r.returncode == 0, "libkube module", show(r))
        expect(r.stdout.splitlines() == ["'from-c2\\n'",
                                         "(4, 'in\\n', '')",
                                         "400 BadRequest", "'from-c2'"],
               "libkube.Client.logs/exec", show(r))
    C.check("libkube.Client: logs (text, follow) and exec", fn)


# ---------------------------------------------------------------------------
# attach


def attach_stdin(name, argv, env, transport, proto, container):
    def fn():
        r = C.run(argv + ["attach", "-i", "busy", "-c", container], env=env,
                  input="hello\n")
        expect(r.returncode == 0, "attach -i", show(r))
        expect(r.stdout == "got:hello\nbye\n", "the container's answer",
               show(r))
        C.UP_A.expect("/pods/busy/attach", transport, proto)
    C.check(f"{name}: attach -i (stdinOnce container)", fn)


def attach_tty(name, argv, container):
    def fn():
        e = dict(os.environ, KUBECONFIG=C.E.kubeconfig)
        out, code = pty_run(argv + ["attach", "-it", "busy", "-c", container],
                            e, 30, 90,
                            [(r"try pressing enter", b"\r"),
                             (r"#", b"echo from-$((6*7))\r"),
                             (r"from-42", b"exit\r")])
        expect("from-42" in out, "the shell's answer", out)
        expect(code == 0, f"exit code {code}", out)
        C.UP_A.expect("/pods/busy/attach", "websocket", "v5.channel.k8s.io")
    C.check(f"{name}: attach -it to a terminal", fn)


# ---------------------------------------------------------------------------
# cp


def cp_both_ways(name, argv, env):
    def fn():
        src = os.path.join(C.E.tmp, f"cp-src-{name}")
        os.makedirs(os.path.join(src, "sub"))
        with open(os.path.join(src, "a.txt"), "w") as f:
            f.write("alpha\n")
        with open(os.path.join(src, "sub", "b.bin"), "wb") as f:
            f.write(os.urandom(300000))
        os.chmod(os.path.join(src, "a.txt"), 0o751)
        remote = f"/tmp/cp-{name}"
        r = C.run(argv + ["cp", src, f"busy:{remote}", "-c", "c1"], env=env)
        expect(r.returncode == 0, "cp to the pod", show(r))
        r = C.run(argv + ["exec", "busy", "-c", "c1", "--", "sh", "-c",
                          f"cd {remote} && find . | sort && "
                          "ls -l a.txt | cut -c1-10 && "
                          "sha256sum sub/b.bin | cut -d' ' -f1"], env=env)
        want = hashlib.sha256(open(os.path.join(src, "sub", "b.bin"),
                                   "rb").read()).hexdigest()
        expect(r.stdout.split() == [".", "./a.txt", "./sub", "./sub/b.bin",
                                    "-rwxr-x--x", want],
               "the tree in the pod", show(r))
        back = os.path.join(C.E.tmp, f"cp-back-{name}")
        r = C.run(argv + ["cp", f"busy:{remote}", back, "-c", "c1"], env=env)
        expect(r.returncode == 0, "cp from the pod", show(r))
        for rel in ("a.txt", "sub/b.bin"):
            a = open(os.path.join(src, rel), "rb").read()
            b = open(os.path.join(back, rel), "rb").read()
            expect(a == b, f"{rel} differs after the round trip")
        one = os.path.join(C.E.tmp, f"cp-one-{name}")
        r = C.run(argv + ["cp", "busy:/tmp/www/index.html", one, "-c", "c1"],
                  env=env)
        expect(r.returncode == 0 and open(one).read() == "pf-8080\n",
               "cp of one file", show(r))
    C.check(f"{name}: cp to and from the pod", fn)


# ---------------------------------------------------------------------------
# port-forward


def http_get(port, path="/", host="127.0.0.1"):
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}{path}"
    with urllib.request.urlopen(url, timeout=20) as f:
        return f.read()


class Forward:
    """A port-forward process and the local ports it printed."""

    def __init__(self, argv, env, n):
        e = dict(os.environ, KUBECONFIG=C.E.kubeconfig, **env)
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=e, text=True)
        self.ports = {}
        deadline = time.time() + 30
        while len(self.ports) < n and time.time() < deadline:
            line = self.p.stdout.readline()
            if not line:
                break
            m = re.match(r"Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)", line)
            if m:
                self.ports[int(m.group(2))] = int(m.group(1))
        if len(self.ports) != n:
            expect(False, "port-forward did not listen", self.stop())

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(2)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        out, err = self.p.communicate()
        return f"rc={self.p.returncode} out={out!r} err={err!r}"


def port_forward(name, argv, env, transport, proto, pod="busy", up=None):
    def fn():
        f = Forward(argv + ["port-forward", pod, ":8080", ":9090"], env, 2)
        try:
            expect(http_get(f.ports[8080]) == b"pf-8080\n", "port 8080")
            expect(http_get(f.ports[9090]) == b"pf-9090\n", "port 9090")
            # Several connections at once, one of them 2 MiB.
            got = {}

            def get(i):
                got[i] = http_get(f.ports[8080], "/big" if i == 0 else "/")
            ts = [threading.Thread(target=get, args=(i,)) for i in range(6)]
            for t in ts:
                t.start()
            for t in ts:
                t.join(60)
            r = C.run([C.KUBE, "exec", pod, "-c", pod == "busy" and "c1" or
                       "r1", "--", "sha256sum", "/tmp/www/big"])
            expect(hashlib.sha256(got.get(0, b"")).hexdigest() ==
                   r.stdout.split()[0], "the 2 MiB file through the forward")
            expect(all(got.get(i) == b"pf-8080\n" for i in range(1, 6)),
                   "parallel connections", got.keys())
        finally:
            stop = f.stop()
        (up or C.UP_A).expect(f"/{pod}/portforward" if up is None
                              else "/portForward/", transport, proto)
        expect(f.p.returncode == 0, "port-forward ends on SIGINT with 0", stop)
    C.check(f"{name}: port-forward (2 ports, parallel, 2 MiB)", fn)


def port_forward_refused():
    def fn():
        outs = []
        for argv in ([C.K132], [C.KUBE]):
            f = Forward(argv + ["port-forward", "busy", ":9999"], {}, 1)
            try:
                http_get(f.ports[9999])
            except Exception:
                pass
            f.p.wait(20)
            out = f.stop()
            outs.append(out)
            expect("connection refused" in out and
                   "lost connection to pod" in out and f.p.returncode == 1,
                   "the pod's refusal reported", out)
    C.check("port-forward to a closed port: kubectl's error, from kube too",
            fn)


def python_portforward():
    def fn():
        # A WebSocket port-forward has no per-port end of data (the whole
        # connection ends after the last port): read one HTTP response by
        # its Content-Length.
        r = py("import re\n"
               "pf = portforward(v1.connect_get_namespaced_pod_portforward, "
               "'busy', 'default', ports='8080,9090')\n"
               "for port in (8080, 9090):\n"
               "    s = pf.socket(port)\n"
               "    s.settimeout(20)\n"
               "    s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n')\n"
               "    data = b''\n"
               "    while True:\n"
               "        head, _, body = data.partition(b'\\r\\n\\r\\n')\n"
               "        m = re.search(rb'Content-Length: (\\d+)', head)\n"
               "        if m and len(body) >= int(m.group(1)): break\n"
               "        d = s.recv(4096)\n"
               "        if not d: break\n"
               "        data += d\n"
               "    print(body)\n")
        expect(r.returncode == 0 and
               r.stdout.splitlines() == ["b'pf-8080\\n'", "b'pf-9090\\n'"],
               "python port-forward", show(r))
        C.UP_A.expect("/busy/portforward", "websocket", "v4.channel.k8s.io")
    C.check("python kubernetes.stream: port-forward (2 ports)", fn)


# ---------------------------------------------------------------------------
# logs


def logs_same():
    future = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                           time.gmtime(time.time() + 3600))
    cases = [["logs", "busy"], ["logs", "busy", "-c", "c1"],
             ["logs", "busy", "c2"], ["logs", "busy", "-c", "c1", "--tail=2"],
             ["logs", "busy", "-c", "c1", "--tail=0"],
             ["logs", "busy", "-c", "c1", "--limit-bytes=8"],
             ["logs", "busy", "-c", "c1", "--since=1h"],
             ["logs", "busy", "-c", "c1", f"--since-time={future}"],
             ["logs", "busy", "-c", "c1", "--since-time=2000-01-01T00:00:00Z"],
             ["logs", "busy", "--all-containers"],
             ["logs", "busy", "--all-containers", "--prefix"],
             ["logs", "-l", "app=crash", "--prefix"],
             ["logs", "-l", "app=nobody"],
             ["logs", "crash"], ["logs", "crash", "--previous"],
             ["logs", "crash", "-p", "--timestamps"],
             ["logs", "busy", "-c", "c2", "--previous"],
             ["logs", "wait"], ["logs", "nopod"], ["logs", "busy", "-c", "nope"],
             ["logs", "busy", "-c", "c1", "--tail=-5"],
             ["logs", "busy", "-c", "c1", "--since=1h",
              "--since-time=2020-01-01T00:00:00Z"],
             ["logs", "remote"]]

    def fn():
        for args in cases:
            a = C.run([C.K132] + args)
            b = C.run([C.KUBE] + args)
            if "--all-containers" in args or "-l" in args:
                # kubectl reads several logs in Go's random map order.
                sa = (a.returncode, sorted(a.stdout.splitlines()), a.stderr)
                sb = (b.returncode, sorted(b.stdout.splitlines()), b.stderr)
            else:
                sa = (a.returncode, a.stdout, a.stderr)
                sb = (b.returncode, b.stdout, b.stderr)
            expect(sa == sb, f"kube differs from kubectl for {args}", show(a),
                   show(b))
        r = C.run([C.KUBE, "logs", "busy", "-c", "c1"])
        # stdout and stderr are separate pipes: their order may vary.
        expect(sorted(r.stdout.splitlines()) ==
               sorted(["hello", "err"] + [f"line-{i}" for i in range(1, 6)]),
               "c1's log", show(r))
        r = C.run([C.KUBE, "logs", "crash", "--previous"])
        expect(r.stdout == "previous-run\n", "the previous instance", show(r))
        r = C.run([C.KUBE, "logs", "busy", "-c", "c1", "--tail=1",
                   "--timestamps"])
        expect(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z \S+\n",
                            r.stdout), "RFC 3339 timestamps", show(r))
        r = C.run([C.KUBE, "logs", "busy", "-c", "c1",
                   f"--since-time={future}"])
        expect(r.returncode == 0 and r.stdout == "", "nothing after a future "
               "since-time", show(r))
        r = C.run([C.KUBE, "logs", "wait"])
        expect('container "w1" in pod "wait" is waiting to start: '
               'ContainerCreating' in r.stderr, "a waiting container", show(r))
        r = C.run([C.KUBE, "logs", "-l", "app=busy", "--all-containers",
                   "--prefix", "--tail=1"])
        expect("[pod/busy/c2] from-c2\n" in r.stdout, "-l --all-containers "
               "--prefix", show(r))
    C.check("logs: kube prints what kubectl 1.32 prints (23 flag sets)", fn)


def logs_follow_ends(name, argv, container):
    def fn():
        e = dict(os.environ, KUBECONFIG=C.E.kubeconfig)
        p = subprocess.Popen(argv + ["logs", "-f", "ends", "-c", container],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=e, text=True)
        try:
            first = p.stdout.readline()
            expect(first == "start\n", "the first line", first)
            r = C.run([C.KUBE, "exec", "ends", "-c", container, "--",
                       "touch", "/tmp/stop"])
            expect(r.returncode == 0, "touch", show(r))
            out, err = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
        expect(out == "end\n" and p.returncode == 0,
               "follow ends with the container", out, err)
    C.check(f"{name}: logs -f ends when the container stops", fn)


def logs_follow_rotation(name, argv, container):
    def fn():
        e = dict(os.environ, KUBECONFIG=C.E.kubeconfig)
        p = subprocess.Popen(argv + ["logs", "-f", "rot", "-c", container],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=e, text=True)
        lines = []
        try:
            expect(p.stdout.readline() == "ready\n", "ready")
            r = C.run([C.KUBE, "exec", "rot", "-c", container, "--", "touch",
                       "/tmp/go"])
            expect(r.returncode == 0, "touch", show(r))
            deadline = time.time() + 60
            while time.time() < deadline:
                line = p.stdout.readline()
                if not line or line == "rot-done\n":
                    break
                lines.append(line)
        finally:
            p.kill()
            p.wait()
        want = [f"rot-{i}\n" for i in range(1, 3001)]
        missing = sorted(set(want) - set(lines), key=lambda s: int(s[4:]))
        expect(lines == want, f"{len(lines)} lines, {len(missing)} missing "
               f"(first {missing[:3]})")
        rotated = [f for f in os.listdir(C.E.logs)
                   if f.startswith(f"rot-{container}.log.")]
        expect(len(rotated) >= 10, f"the log rotated ({len(rotated)} files)")
    C.check(f"{name}: logs -f across {30}+ rotations, no line lost", fn)


def python_logs():
    def fn():
        r = py("print(repr(v1.read_namespaced_pod_log('busy', 'default', "
               "container='c2', tail_lines=1)))\n"
               "w = v1.read_namespaced_pod_log('crash', 'default', "
               "follow=True, previous=True, _preload_content=False)\n"
               "print(repr(w.read().decode()))\n")
        expect(r.stdout.splitlines() == ["'from-c2\\n'",
                                         "'previous-run\\n'"],
               "python logs", show(r))
    C.check("python client: read_namespaced_pod_log", fn)


# ---------------------------------------------------------------------------
# the remote node (kubelet HTTPS port of another process)


def remote():
    def fn():
        for name, argv, env, transport, proto in clients():
            r = C.run(argv + ["exec", "remote", "--", "sh", "-c",
                              "echo r; exit 2"], env=env)
            expect(r.returncode == 2 and r.stdout == "r\n",
                   f"{name}: remote exec", show(r))
            C.UP_B.expect("/exec/default/remote/r1", transport, proto)
        r = C.run([C.K132, "logs", "remote", "--tail=1"])
        # stdout and stderr lines of one moment come in either order.
        expect(r.stdout in ("err\n", "line-5\n"), "remote logs", show(r))
        r = py("o = stream(v1.connect_get_namespaced_pod_exec, 'remote', "
               "'default', command=['sh', '-c', 'echo p; exit 6'], "
               "stderr=True, stdin=False, stdout=True, tty=False, "
               "_preload_content=False)\n"
               "o.run_forever(timeout=20)\n"
               "print(o.returncode, repr(o.read_stdout()))\n")
        expect(r.stdout.strip() == "6 'p\\n'", "python remote exec", show(r))
        C.UP_B.expect("/exec/default/remote/r1", "websocket",
                      "v4.channel.k8s.io")
    C.check("remote node: exec (every client) and logs through the kubelet "
            "port", fn)
    port_forward("kubectl-1.32 remote", [C.K132], {}, "spdy-over-websocket",
                 "SPDY/3.1+portforward.k8s.io", pod="remote", up=C.UP_B)
    port_forward("kube remote", [C.KUBE], PF_SPDY, "spdy",
                 "portforward.k8s.io", pod="remote", up=C.UP_B)

    def auth():
        base = f"https://127.0.0.1:{C.E.agent_port}"
        r = subprocess.run(["curl", "-sk", base + "/healthz"],
                           capture_output=True, text=True)
        expect(r.stdout == "ok", "healthz", r.stdout)
        r = subprocess.run(["curl", "-sk", "-o", "/dev/null", "-w",
                            "%{http_code}",
                            base + "/containerLogs/default/remote/r1"],
                           capture_output=True, text=True)
        expect(r.stdout == "401", "no client certificate: 401", r.stdout)
        c = C.E.certdir
        r = subprocess.run(["curl", "-s", "--cacert", f"{c}/ca.crt",
                            "--cert", f"{c}/client.crt", "--key",
                            f"{c}/client.key",
                            base + "/containerLogs/default/remote/r1"
                            "?tailLines=1"], capture_output=True, text=True)
        expect(r.stdout in ("err\n", "line-5\n"),
               "with the client certificate", r.stdout)
    C.check("kubelet port: client certificate required (healthz open)", auth)


# ---------------------------------------------------------------------------


def run_all(ctx):
    global C
    C = ctx
    for name, argv, env, transport, proto in clients():
        exec_exit_code(name, argv, env, transport, proto)
        exec_stdin(name, argv, env, transport, proto)
        exec_tty_script(name, argv, env, transport, proto)
    if not C.K120:
        C.skipped("kubectl-1.20 (exec, attach, cp, port-forward)", C.K120_WHY)
    for name, argv, env, transport, proto in clients()[:3:2]:
        exec_tty_resize(name, argv, env, transport, proto)
    exec_errors()
    python_exec()
    libkube_module()
    attach_stdin("kubectl-1.32", [C.K132], {}, "websocket",
                 "v5.channel.k8s.io", "att-ws")
    attach_stdin("kubectl-1.32-spdy", [C.K132], SPDY, "spdy",
                 "v5.channel.k8s.io", "att-spdy")
    attach_stdin("kube", [C.KUBE], {}, "websocket", "v5.channel.k8s.io",
                 "att-kube")
    if C.K120:
        attach_stdin("kubectl-1.20", [C.K120], {}, "spdy",
                     "v4.channel.k8s.io", "att-120")
    attach_tty("kubectl-1.32", [C.K132], "tty1")
    attach_tty("kube", [C.KUBE], "tty2")
    cp_both_ways("kubectl-1.32", [C.K132], {})
    cp_both_ways("kubectl-1.32-spdy", [C.K132], SPDY)
    cp_both_ways("kube", [C.KUBE], {})
    if C.K120:
        cp_both_ways("kubectl-1.20", [C.K120], {})
    port_forward("kubectl-1.32", [C.K132], {}, "spdy-over-websocket",
                 "SPDY/3.1+portforward.k8s.io")
    port_forward("kubectl-1.32-spdy", [C.K132], PF_SPDY, "spdy",
                 "portforward.k8s.io")
    port_forward("kube", [C.KUBE], {}, "spdy-over-websocket",
                 "SPDY/3.1+portforward.k8s.io")
    port_forward("kube-spdy", [C.KUBE], PF_SPDY, "spdy", "portforward.k8s.io")
    if C.K120:
        port_forward("kubectl-1.20", [C.K120], {}, "spdy",
                     "portforward.k8s.io")
    port_forward_refused()
    python_portforward()
    logs_same()
    logs_follow_ends("kubectl-1.32", [C.K132], "e1")
    logs_follow_ends("kube", [C.KUBE], "e2")
    logs_follow_rotation("kubectl-1.32", [C.K132], "rot1")
    logs_follow_rotation("kube", [C.KUBE], "rot2")
    python_logs()
    remote()
