#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The node's streaming server end to end, with real containers and real
clients: kubectl 1.32 (WebSocket, and SPDY forced), Debian's kubectl 1.20
(SPDY), the Python client's kubernetes.stream, `kube`, and the libkube
Python module; logs, exec (exit codes, stdin, -it under a pty with
resize), attach, cp both ways, port-forward; pods of a node served
in-process and of a node served by another process over its kubelet
HTTPS port.  Each upgrade's negotiated protocol is checked on the server
side (kubectl silently falls back from WebSocket to SPDY).

  test_nodestream.py NODESTREAM_TEST KUBE MAKE_BUNDLE GET_KUBECTL [PYMODDIR]
"""

import os
import re
import signal
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nodestream_env as ne  # noqa: E402

TOOL, KUBE, BUNDLE, GET_KUBECTL = sys.argv[1:5]
PYMOD = sys.argv[5] if len(sys.argv) > 5 else ""

ne.check_prerequisites()
ne.enter_private_netns()


def on_term(sig, frame):
    # meson's timeout: clean up (the finally below) before going.
    raise SystemExit(f"killed by signal {sig}")


signal.signal(signal.SIGTERM, on_term)

results = []


def check(name, fn):
    try:
        fn()
        results.append((name, "ok", ""))
        print(f"ok   {name}", flush=True)
    except Exception as e:  # report every failure, keep going
        results.append((name, "FAIL", repr(e)))
        print(f"FAIL {name}: {e}", flush=True)
        traceback.print_exc()


def skipped(name, why):
    results.append((name, "skip", why))
    print(f"skip {name}: {why}", flush=True)


def expect(cond, what, *detail):
    if not cond:
        raise AssertionError(what + "".join(f"\n  {d}" for d in detail))


class Upgrades:
    """The "node: exec|portforward PATH: TRANSPORT PROTOCOL" lines the
    streaming servers log, read as they come."""

    def __init__(self, path):
        self.path = path
        self.off = 0

    def new(self):
        with open(self.path) as f:
            f.seek(self.off)
            text = f.read()
            self.off = f.tell()
        return re.findall(r"node: (\w+) (\S+): (\S+) (\S+)", text)

    def expect(self, path_part, transport, protocol):
        seen = self.new()
        ok = any(path_part in p and t == transport and pr == protocol
                 for _, p, t, pr in seen)
        expect(ok, f"no {transport} {protocol} upgrade for {path_part}",
               f"seen: {seen}")


def run(argv, env=None, input=None, timeout=60):
    e = dict(os.environ, KUBECONFIG=E.kubeconfig)
    e.update(env or {})
    return subprocess.run(argv, input=input, capture_output=True, env=e,
                          timeout=timeout,
                          text=not isinstance(input, bytes))


# ---------------------------------------------------------------------------
# The environment.

E = ne.Env(TOOL, BUNDLE)
ok = False
try:
    E.certs()
    # node-a (in-process): the busy pod and friends.
    E.container("node-a", "busy", "c1", ne.C1_SCRIPT)
    E.container("node-a", "busy", "c2", "echo from-c2; while true; do sleep 1; done")
    for att in ("att-ws", "att-spdy", "att-120", "att-kube"):
        E.container("node-a", "busy", att, ne.ATT_SCRIPT, stdin=True,
                    stdin_once=True)
    for t in ("tty1", "tty2"):
        E.container("node-a", "busy", t, "", stdin=True, tty=True)
    # A container that restarted: its previous instance's log.
    prev_id, prev_log = E.container("node-a", "crash", "c1",
                                    "echo previous-run; exit 1",
                                    log_name="c1-0", record=False)
    E.wait_exit(prev_id)
    cur_id, cur_log = E.container("node-a", "crash", "c1",
                                  "echo current-run; while true; do sleep 1; done",
                                  log_name="c1-1", record=False)
    E.map_line("node-a", "crash", "c1", cur_id, cur_log, prev_log,
               E.tmp + "/sb-crash/net", "uid-crash")
    for r in ("rot1", "rot2"):
        E.container("node-a", "rot", r, ne.ROT_SCRIPT, max_size=4096,
                    max_files=80)
    for e_ in ("e1", "e2"):
        E.container("node-a", "ends", e_, ne.ENDS_SCRIPT)
    E.map_waiting("wait", "w1", "ContainerCreating")
    # node-b (another process): the remote pod.
    E.container("node-b", "remote", "r1", ne.C1_SCRIPT)
    E.start_server()
    E.start_agent()
    UP_A = Upgrades(E.log_path("server"))
    UP_B = Upgrades(E.log_path("agent"))

    E.apply({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a"}})
    E.apply({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-b"}})
    E.patch_status("node", "node-b", {
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": E.agent_port}}})
    E.pod("busy", "node-a",
          [ne.ctr("c1"), ne.ctr("c2")] +
          [ne.ctr(a, stdin=True, stdinOnce=True)
           for a in ("att-ws", "att-spdy", "att-120", "att-kube")] +
          [ne.ctr(t, stdin=True, tty=True) for t in ("tty1", "tty2")],
          labels={"app": "busy"})
    E.pod("crash", "node-a", [ne.ctr("c1")], labels={"app": "crash"})
    E.pod("rot", "node-a", [ne.ctr("rot1"), ne.ctr("rot2")])
    E.pod("ends", "node-a", [ne.ctr("e1"), ne.ctr("e2")])
    E.pod("remote", "node-b", [ne.ctr("r1")])
    E.apply({"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": "wait", "namespace": "default"},
             "spec": {"nodeName": "node-a", "containers": [ne.ctr("w1")]}})

    r = subprocess.run([GET_KUBECTL], capture_output=True, text=True)
    K120 = r.stdout.strip() if r.returncode == 0 else None
    K120_WHY = r.stderr.strip() or "unavailable"
    K132 = ne.KUBECTL_132

    # Wait until c1's server is up (its output says the script got there).
    deadline = time.time() + 30
    while time.time() < deadline:
        r = run([K132, "exec", "busy", "-c", "c1", "--", "sh", "-c",
                 "test -s /tmp/www/big && test -s /tmp/www2/index.html"])
        if r.returncode == 0:
            break
        time.sleep(0.2)
    UP_A.new()
    import nodestream_checks as checks  # noqa: E402
    checks.run_all(checks.Ctx(E=E, K132=K132, K120=K120, K120_WHY=K120_WHY,
                              KUBE=KUBE, PYMOD=PYMOD, UP_A=UP_A, UP_B=UP_B,
                              run=run, check=check, skipped=skipped))
    ok = True
finally:
    cleaned = E.close()

failed = [r for r in results if r[1] == "FAIL"]
skips = [r for r in results if r[1] == "skip"]
passed = [r for r in results if r[1] == "ok"]
print(f"node-streaming: {len(passed)} passed, {len(failed)} failed, "
      f"{len(skips)} skipped" + ("" if cleaned else ", cleanup FAILED"))
for name, _, why in skips:
    print(f"  skipped {name}: {why}")
sys.exit(0 if ok and not failed and cleaned else 1)
