#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Interop: Debian's python3-websocket (the WebSocket library of the
Kubernetes Python client) and the Python client's own kubernetes.stream
(exec and port-forward over v4.channel.k8s.io) against the stream sessions,
served by stream-test-server on a loopback port.

usage: test-python-client.py STREAM_TEST_SERVER
Exits 77 when the Python modules are missing."""
import json
import subprocess
import sys
import time
import traceback

try:
    import websocket
    from kubernetes import client as kclient
    from kubernetes.stream import portforward, stream
except ImportError as e:  # pragma: no cover
    print(f"SKIP: python3-websocket / python3-kubernetes missing: {e}")
    sys.exit(77)

results = []


def check(name, fn):
    try:
        fn()
        results.append((name, None))
        print(f"ok   {name}")
    except Exception as e:  # report every failure, keep going
        results.append((name, e))
        print(f"FAIL {name}: {e!r}")
        traceback.print_exc()


server = subprocess.Popen([sys.argv[1]], stdout=subprocess.PIPE,
                          stderr=sys.stderr, text=True)
try:
    line = server.stdout.readline().split()
    assert line[0] == "PORT", line
    port = int(line[1])
    base = f"127.0.0.1:{port}"
    cfg = kclient.Configuration()
    cfg.host = f"http://{base}"
    api = kclient.CoreV1Api(kclient.ApiClient(cfg))
    upgrades = []

    def next_upgrade():
        upgrades.append(server.stdout.readline().split())
        return upgrades[-1]

    def exec_exit_code():
        r = stream(api.connect_get_namespaced_pod_exec, "p", "default",
                   command=["exit", "3"], stdin=False, stdout=True,
                   stderr=True, tty=False, _preload_content=False)
        r.run_forever(timeout=10)
        assert r.read_stdout() == "bye\n"
        assert r.returncode == 3, r.returncode
        assert next_upgrade() == ["UPGRADE", "exec", "websocket", "4",
                                  "v4.channel.k8s.io"], upgrades[-1]

    def exec_preloaded():
        out = stream(api.connect_get_namespaced_pod_exec, "p", "default",
                     command=["exit", "0"], stdin=False, stdout=True,
                     stderr=True, tty=False)
        assert out == "bye\n", repr(out)
        next_upgrade()

    def exec_stdin_stderr():
        r = stream(api.connect_get_namespaced_pod_exec, "p", "default",
                   command=["echo-line"], stdin=True, stdout=True,
                   stderr=True, tty=False, _preload_content=False)
        r.write_stdin("hello kube\n")
        r.run_forever(timeout=10)
        assert r.read_stdout() == "HELLO KUBE\n"
        assert r.read_stderr() == "to-stderr\n"
        assert r.returncode == 0
        next_upgrade()

    def exec_tty_resize():
        r = stream(api.connect_get_namespaced_pod_exec, "p", "default",
                   command=["size"], stdin=True, stdout=True, stderr=False,
                   tty=True, _preload_content=False)
        r.write_channel(4, json.dumps({"Width": 100, "Height": 40}))
        r.run_forever(timeout=10)
        assert r.read_stdout() == "100x40\n"
        assert r.returncode == 0
        next_upgrade()

    def exec_internal_error():
        r = stream(api.connect_get_namespaced_pod_exec, "p", "default",
                   command=["fail"], stdin=False, stdout=True, stderr=True,
                   tty=False, _preload_content=False)
        r.run_forever(timeout=10)
        st = json.loads(r.read_channel(3))
        assert st["status"] == "Failure" and st["reason"] == "InternalError"
        assert "not running" in st["message"]
        next_upgrade()

    def port_forward():
        pf = portforward(api.connect_get_namespaced_pod_portforward, "p",
                         "default", ports="8080,9090")
        for p, data in ((8080, b"ping"), (9090, b"pong")):
            s = pf.socket(p)
            s.settimeout(10)
            s.sendall(data)
            got = b""
            while len(got) < len(data):
                chunk = s.recv(100)
                assert chunk, "port closed"
                got += chunk
            assert got == data.upper(), got
            assert pf.error(p) is None
        pf.close()
        assert next_upgrade() == ["UPGRADE", "portforward", "websocket", "4",
                                  "v4.channel.k8s.io"], upgrades[-1]

    def port_forward_refused():
        pf = portforward(api.connect_get_namespaced_pod_portforward, "p",
                         "default", ports="666")
        deadline = time.time() + 10
        while pf.error(666) is None and time.time() < deadline:
            time.sleep(0.05)
        assert "connection refused" in (pf.error(666) or ""), pf.error(666)
        pf.close()
        next_upgrade()

    def raw_websocket_v5():
        url = (f"ws://{base}/api/v1/namespaces/default/pods/p/exec?"
               "command=cat&stdin=true&stdout=true")
        ws = websocket.create_connection(
            url, subprotocols=["v5.channel.k8s.io", "v4.channel.k8s.io"])
        assert ws.subprotocol == "v5.channel.k8s.io", ws.subprotocol
        ws.ping("are you there")
        op, frame = ws.recv_data_frame(True)
        # The "connection established" message comes first ([1]), then
        # the pong.
        seen = []
        while op != websocket.ABNF.OPCODE_PONG:
            seen.append(frame.data)
            op, frame = ws.recv_data_frame(True)
        assert frame.data == b"are you there"
        assert seen == [b"\x01"], seen
        ws.send_binary(b"\x00abc")
        ws.send_binary(b"\x00def")
        ws.send_binary(b"\xff\x00")  # v5: close stdin
        out, status = b"", b""
        while True:
            op, frame = ws.recv_data_frame(True)
            if op == websocket.ABNF.OPCODE_CLOSE:
                code = int.from_bytes(frame.data[:2], "big")
                assert code == 1000, code
                break
            if frame.data[:1] == b"\x01":
                out += frame.data[1:]
            elif frame.data[:1] == b"\x03":
                status += frame.data[1:]
        assert out == b"abcdef", out
        assert json.loads(status)["status"] == "Success"
        ws.close()
        assert next_upgrade() == ["UPGRADE", "exec", "websocket", "5",
                                  "v5.channel.k8s.io"], upgrades[-1]

    def raw_websocket_refused():
        url = f"ws://{base}/api/v1/namespaces/default/pods/p/exec?stdout=1"
        try:
            websocket.create_connection(url, subprotocols=["v9.channel.k8s.io"])
        except websocket.WebSocketBadStatusException as e:
            assert e.status_code == 403, e.status_code
        else:
            raise AssertionError("upgrade was accepted")

    for name, fn in [("exec exit code", exec_exit_code),
                     ("exec preloaded output", exec_preloaded),
                     ("exec stdin and stderr", exec_stdin_stderr),
                     ("exec tty resize", exec_tty_resize),
                     ("exec internal error", exec_internal_error),
                     ("port-forward two ports", port_forward),
                     ("port-forward refused port", port_forward_refused),
                     ("websocket-client v5 close signal", raw_websocket_v5),
                     ("websocket-client refused protocol",
                      raw_websocket_refused)]:
        check(name, fn)
finally:
    server.kill()
    server.wait()

failed = sum(1 for _, e in results if e)
print(f"{len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
