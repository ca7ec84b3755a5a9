# SPDX-License-Identifier: Apache-2.0
"""Client.watch: events in order, timeouts, close, errors, ERROR events."""
import http.server
import json
import os
import socketserver
import threading
import time

import pytest

import libkube
from conftest import configmap


def test_events(client):
    c, ns = client
    rv = c.list("v1", "ConfigMap", namespace=ns)["metadata"]["resourceVersion"]
    w = c.watch("v1", "ConfigMap", namespace=ns, resource_version=rv)
    c.create(configmap("a", ns, {"v": "1"}))
    c.patch("v1", "ConfigMap", "a", {"data": {"v": "2"}}, namespace=ns)
    c.delete("v1", "ConfigMap", "a", namespace=ns)
    # The namespace's kube-root-ca.crt (the root-ca-cert-publisher's) may
    # show up too: only "a" counts.
    events = []
    while len(events) < 3:
        e = next(w)
        if e["object"]["metadata"]["name"] == "a":
            events.append(e)
    w.close()
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    assert events[1]["object"]["data"] == {"v": "2"}
    assert all(e["object"]["metadata"]["name"] == "a" for e in events)
    with pytest.raises(StopIteration):
        next(w)


def test_initial_state_and_timeout(client):
    c, ns = client
    for i in range(3):
        c.create(configmap("i%d" % i, ns))
    # No resourceVersion: the current objects first; the server ends the
    # stream after `timeout` seconds.
    events = list(c.watch("v1", "ConfigMap", namespace=ns, timeout=1))
    names = sorted(e["object"]["metadata"]["name"] for e in events
                   if e["type"] == "ADDED")
    assert [n for n in names if n.startswith("i")] == ["i0", "i1", "i2"]


def test_selectors(client):
    c, ns = client
    rv = c.list("v1", "ConfigMap", namespace=ns)["metadata"]["resourceVersion"]
    with c.watch("v1", "ConfigMap", namespace=ns, resource_version=rv,
                 label_selector="pick=yes") as w:
        c.create(configmap("no", ns, labels={"pick": "no"}))
        c.create(configmap("yes", ns, labels={"pick": "yes"}))
        ev = next(w)
        assert ev["object"]["metadata"]["name"] == "yes"
    with c.watch("v1", "ConfigMap", namespace=ns, resource_version=rv,
                 field_selector="metadata.name=no") as w:
        assert next(w)["object"]["metadata"]["name"] == "no"


def test_all_namespaces(client):
    c, ns = client
    rv = c.list("v1", "ConfigMap")["metadata"]["resourceVersion"]
    with c.watch("v1", "ConfigMap", resource_version=rv) as w:
        c.create(configmap("anywhere", ns))
        ev = next(w)
        assert ev["object"]["metadata"]["namespace"] == ns


def test_watch_errors(client):
    c, ns = client
    w = c.watch("v1", "ConfigMap", namespace=ns, resource_version="abc")
    with pytest.raises(libkube.ApiError) as e:
        next(w)
    assert e.value.code == 400
    with pytest.raises(StopIteration):
        next(w)
    with pytest.raises(ValueError, match="no matches"):
        c.watch("v1", "Gizmo")
    with pytest.raises(TypeError):
        c.watch("v1", "ConfigMap", timeout="soon")


def test_abandoned_watch(client):
    """Dropping an iterator mid-stream frees it; its thread ends at the
    next event."""
    c, ns = client
    for _ in range(20):
        w = c.watch("v1", "ConfigMap", namespace=ns)
        del w
    c.create(configmap("wake", ns))
    assert c.get("v1", "ConfigMap", "wake", ns)


def test_close_server_ends_watch():
    srv = libkube.Server()
    c = srv.client()
    w = c.watch("v1", "ConfigMap")
    got = []

    def consume():
        got.extend(w)
    t = threading.Thread(target=consume)
    t.start()
    time.sleep(0.2)
    srv.close()
    t.join(10)
    assert not t.is_alive()
    with pytest.raises(ConnectionError):
        c.watch("v1", "ConfigMap")


class _ErrorEventHandler(http.server.BaseHTTPRequestHandler):
    """Answers a watch with one ADDED event, then a 410 ERROR event."""
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        events = [
            {"type": "ADDED", "object": {"apiVersion": "v1",
                                         "kind": "ConfigMap",
                                         "metadata": {"name": "x"}}},
            {"type": "ERROR", "object": {
                "kind": "Status", "apiVersion": "v1", "metadata": {},
                "status": "Failure", "reason": "Expired", "code": 410,
                "message": "too old resource version: 5 (100)"}},
        ]
        body = "".join(json.dumps(e) + "\n" for e in events).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_error_event(tmpdir_path):
    httpd = socketserver.TCPServer(("127.0.0.1", 0), _ErrorEventHandler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        kc = os.path.join(tmpdir_path, "kc")
        with open(kc, "w") as f:
            json.dump({"apiVersion": "v1", "kind": "Config",
                       "clusters": [{"name": "c", "cluster": {
                           "server": "http://127.0.0.1:%d"
                           % httpd.server_address[1]}}],
                       "contexts": [{"name": "x",
                                     "context": {"cluster": "c"}}],
                       "current-context": "x"}, f)
        w = libkube.Client(kc).watch("v1", "ConfigMap", resource_version="5")
        assert next(w)["type"] == "ADDED"
        with pytest.raises(libkube.ApiError) as e:
            next(w)
        assert e.value.code == 410
        assert e.value.reason == "Expired"
        assert "too old resource version" in str(e.value)
        assert e.value.status["code"] == 410
        with pytest.raises(StopIteration):
            next(w)
    finally:
        httpd.shutdown()
        httpd.server_close()
