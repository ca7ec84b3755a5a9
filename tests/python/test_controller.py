# SPDX-License-Identifier: Apache-2.0
"""libkube.Controller: reconcile over an informer and a rate-limited work
queue; outcomes; stop; Server.close(); a controller over HTTPS."""
import threading
import time

import pytest

import libkube
from conftest import configmap


def wait_until(cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


def start(ctl):
    t = threading.Thread(target=ctl.run)
    t.start()
    assert wait_until(lambda: ctl.synced)
    return t


def test_reconcile_from_cache(server):
    c = server.client()
    c.create(configmap("before", data={"x": "1"}))
    seen = {}

    def reconcile(key):
        obj = ctl.get(key)
        seen[key] = obj["data"] if obj else None
    ctl = libkube.Controller(c, "v1", "ConfigMap", reconcile,
                             namespace="default")
    t = start(ctl)
    assert wait_until(lambda: "default/before" in seen)
    c.create(configmap("after", data={"y": "2"}))
    assert wait_until(lambda: seen.get("default/after") == {"y": "2"})
    c.delete("v1", "ConfigMap", "after")
    assert wait_until(lambda: "default/after" in seen and seen["default/after"] is None)
    ctl.stop()
    t.join(10)
    assert not t.is_alive()
    with pytest.raises(RuntimeError, match="only while"):
        ctl.get("default/before")


def test_errors_back_off_and_delays_requeue(server, monkeypatch):
    c = server.client()
    calls = []
    reported = []
    monkeypatch.setattr("sys.unraisablehook",
                        lambda u: reported.append(u.exc_value))

    def reconcile(key):
        calls.append((key, time.monotonic()))
        n = sum(1 for k, _ in calls if k == key)
        if key.endswith("/flaky") and n <= 3:
            raise RuntimeError("attempt %d" % n)
        if key.endswith("/again") and n <= 2:
            return 0.05  # seconds
        return None
    ctl = libkube.Controller(c, "v1", "ConfigMap", reconcile,
                             label_selector="ctl=yes")
    t = start(ctl)
    c.create(configmap("flaky", labels={"ctl": "yes"}))
    c.create(configmap("again", labels={"ctl": "yes"}))
    c.create(configmap("ignored", labels={"ctl": "no"}))
    assert wait_until(lambda: sum(1 for k, _ in calls if k == "default/flaky") >= 4)
    assert wait_until(lambda: sum(1 for k, _ in calls if k == "default/again") >= 3)
    time.sleep(0.3)
    ctl.stop()
    t.join(10)
    keys = {k for k, _ in calls}
    assert keys == {"default/flaky", "default/again"}
    flaky = [ts for k, ts in calls if k == "default/flaky"]
    assert len(flaky) == 4  # three failures, then success: no more calls
    # Exponential backoff: each retry waits longer than the one before.
    gaps = [b - a for a, b in zip(flaky, flaky[1:])]
    assert gaps[2] > gaps[0]
    assert [str(e) for e in reported] == ["attempt 1", "attempt 2", "attempt 3"]
    assert ctl.failed == 3
    assert ctl.reconciled >= 7


def test_workers_never_share_a_key(server):
    c = server.client()
    active = set()
    overlap = []
    lock = threading.Lock()
    done = []

    def reconcile(key):
        with lock:
            if key in active:
                overlap.append(key)
            active.add(key)
        time.sleep(0.005)
        with lock:
            active.discard(key)
            done.append(key)
    ctl = libkube.Controller(c, "v1", "ConfigMap", reconcile, workers=4)
    t = start(ctl)
    for i in range(10):
        c.create(configmap("w%d" % i))
    for r in range(5):
        for i in range(10):
            c.patch("v1", "ConfigMap", "w%d" % i, {"data": {"r": str(r)}})
    assert wait_until(lambda: len(set(done)) >= 10)
    ctl.stop()
    t.join(10)
    assert overlap == []


def test_stop_from_reconcile(server):
    c = server.client()
    ctl = libkube.Controller(c, "v1", "ConfigMap", lambda key: ctl.stop())
    c.create(configmap("x"))
    ctl.run()  # returns once reconcile stopped it
    assert ctl.reconciled >= 1


def test_server_close_stops_controller():
    srv = libkube.Server()
    ctl = libkube.Controller(srv.client(), "v1", "ConfigMap", lambda key: None)
    t = start(ctl)
    srv.close()
    t.join(10)
    assert not t.is_alive()
    with pytest.raises(ConnectionError):
        ctl.run()


def test_controller_over_https(tls_server):
    c = libkube.Client(tls_server.kubeconfig)
    seen = set()
    ctl = libkube.Controller(c, "v1", "ConfigMap",
                             lambda key: seen.add(key), namespace="default")
    t = start(ctl)
    tls_server.client().create(configmap("https-seen"))
    assert wait_until(lambda: "default/https-seen" in seen)
    ctl.stop()
    t.join(10)


def test_bad_arguments(server):
    c = server.client()
    with pytest.raises(TypeError, match="libkube.Client"):
        libkube.Controller("client", "v1", "ConfigMap", print)
    with pytest.raises(TypeError, match="callable"):
        libkube.Controller(c, "v1", "ConfigMap", "not callable")
    with pytest.raises(ValueError, match="no matches"):
        libkube.Controller(c, "v1", "Widget", print)
    with pytest.raises(ValueError, match="workers"):
        libkube.Controller(c, "v1", "ConfigMap", print, workers=0)
    with pytest.raises(ValueError, match="label_selector"):
        libkube.Controller(c, "v1", "ConfigMap", print, label_selector="a in")
    with pytest.raises(TypeError):
        libkube.Controller(c, "v1", "ConfigMap")
    ctl = libkube.Controller(c, "v1", "ConfigMap", print)
    with pytest.raises(RuntimeError):
        ctl.get("default/x")
    with pytest.raises(TypeError):
        ctl.get(5)


def test_unix_client_refused(tmpdir_path):
    import json
    import os
    kc = os.path.join(tmpdir_path, "kc")
    with open(kc, "w") as f:
        json.dump({"apiVersion": "v1", "kind": "Config",
                   "clusters": [{"name": "c", "cluster": {
                       "server": "unix:" + tmpdir_path + "/s.sock"}}],
                   "contexts": [{"name": "x", "context": {"cluster": "c"}}],
                   "current-context": "x"}, f)
    ctl = libkube.Controller(libkube.Client(kc), "v1", "ConfigMap", print)
    with pytest.raises(ValueError, match="unix"):
        ctl.run()


def test_reference_cycle_is_collected(server):
    import gc
    import weakref
    c = server.client()

    def make():
        ctl = libkube.Controller(c, "v1", "ConfigMap",
                                 lambda key: ctl.stop())
        return weakref.ref(ctl)
    ref = make()
    gc.collect()
    assert ref() is None
