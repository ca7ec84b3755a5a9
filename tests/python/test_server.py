# SPDX-License-Identifier: Apache-2.0
"""libkube.Server: options, stores, listeners, life cycle."""
import os
import threading

import pytest

import libkube
from conftest import configmap


def test_context_manager():
    with libkube.Server() as srv:
        assert srv.running
        assert srv.kubeconfig is None and srv.url is None
        assert srv.data_dir is None
        c = srv.client()
        assert c.server == "in-process"
        c.create(configmap("x"))
    assert not srv.running
    with pytest.raises(ConnectionError):
        c.get("v1", "ConfigMap", "x")
    with pytest.raises(ConnectionError):
        srv.client()
    srv.close()  # idempotent


def test_client_namespace():
    with libkube.Server() as srv:
        c = srv.client(namespace="kube-system")
        assert c.namespace == "kube-system"
        c.create(configmap("here"))
        assert c.get("v1", "ConfigMap", "here")["metadata"]["namespace"] == "kube-system"
        with pytest.raises(ValueError, match="timeout"):
            srv.client(timeout=0)
        with pytest.raises(TypeError):
            srv.client(namespace=3)


def test_tcp_listener_and_private_data_dir():
    with libkube.Server(listen=["tcp:127.0.0.1:0"]) as srv:
        d = srv.data_dir
        assert d and os.path.isdir(d)
        assert srv.url.startswith("https://127.0.0.1:")
        assert os.path.exists(srv.kubeconfig)
        https = libkube.Client(srv.kubeconfig)
        https.create(configmap("over-tls"))
        assert srv.client().get("v1", "ConfigMap", "over-tls")
    assert not os.path.exists(d)  # the private directory is gone


def test_sqlite_persists(tmpdir_path):
    with libkube.Server(store="sqlite", data_dir=tmpdir_path) as srv:
        assert srv.data_dir == tmpdir_path
        srv.client().create(configmap("durable", data={"k": "v"}))
    assert os.path.exists(os.path.join(tmpdir_path, "store.db"))
    with libkube.Server(store="sqlite", data_dir=tmpdir_path) as srv:
        assert srv.client().get("v1", "ConfigMap", "durable")["data"] == {"k": "v"}


def test_sqlite_private_dir():
    with libkube.Server(store="sqlite") as srv:
        d = srv.data_dir
        srv.client().create(configmap("x"))
    assert not os.path.exists(d)


def test_scheduler_binds():
    with libkube.Server() as srv:
        c = srv.client()
        c.create({"apiVersion": "v1", "kind": "Node",
                  "metadata": {"name": "n1"},
                  "status": {"allocatable": {"cpu": "4", "memory": "8Gi",
                                             "pods": "110"},
                             "conditions": [{"type": "Ready",
                                             "status": "True"}]}})
        rv = c.list("v1", "Pod", namespace="default")["metadata"]["resourceVersion"]
        w = c.watch("v1", "Pod", namespace="default", resource_version=rv,
                    timeout=10)
        c.create({"apiVersion": "v1", "kind": "Pod",
                  "metadata": {"name": "p", "namespace": "default"},
                  "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
        for ev in w:
            if ev["object"]["spec"].get("nodeName"):
                assert ev["object"]["spec"]["nodeName"] == "n1"
                break
        else:
            pytest.fail("the pod was never bound")
        w.close()


def test_no_scheduler():
    with libkube.Server(scheduler=False) as srv:
        c = srv.client()
        c.create({"apiVersion": "v1", "kind": "Pod",
                  "metadata": {"name": "p"},
                  "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
        assert not c.get("v1", "Pod", "p")["spec"].get("nodeName")


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"store": "mongodb"}, ValueError, "store must be"),
    ({"store": 5}, TypeError, "store must be a str"),
    ({"store": "etcd"}, ValueError, "etcd_endpoints"),
    ({"listen": "tcp:127.0.0.1:0"}, TypeError, "not a str"),
    ({"listen": [5]}, TypeError, "must be a str"),
    ({"listen": ["http://x"]}, ValueError, "listen spec"),
    ({"node": "yes"}, TypeError, "node must be a bool or a dict"),
    ({"node": {"node_ip": 5}}, TypeError, "node_ip must be a str"),
    ({"node": {"nodename": "x"}}, ValueError, "unknown node option"),
    ({"node": {"max_pods": 0}}, ValueError, "max_pods"),
    ({"node": {"pod_cidr": "10.0.0.0/99"}}, Exception, "CIDR|cidr"),
    ({"data_dir": 3}, TypeError, "data_dir"),
    ({"bogus": 1}, TypeError, "bogus"),
])
def test_bad_options(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        libkube.Server(**kwargs)


def test_listener_error():
    with pytest.raises(Exception):
        libkube.Server(listen=["tcp:256.1.1.1:1"])


def test_unreachable_etcd():
    with pytest.raises(Exception) as e:
        libkube.Server(store="etcd", etcd_endpoints="http://127.0.0.1:9")
    assert not isinstance(e.value, (SystemError, KeyboardInterrupt))


def test_close_while_calls_run():
    """close() from one thread while others hammer the server: every call
    either works or raises ConnectionError/ApiError(503); nothing hangs."""
    srv = libkube.Server()
    outcomes = {"ok": 0, "closed": 0, "unavailable": 0}
    lock = threading.Lock()

    def hammer(k):
        c = srv.client()
        i = 0
        while True:
            try:
                c.create(configmap("h%d-%d" % (k, i)))
                key = "ok"
            except ConnectionError:
                key = "closed"
            except libkube.ApiError as e:
                assert e.code == 503
                key = "unavailable"
            with lock:
                outcomes[key] += 1
            if key == "closed":
                return
            i += 1
    threads = [threading.Thread(target=hammer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    while outcomes["ok"] < 200:
        threading.Event().wait(0.01)
    srv.close()
    for t in threads:
        t.join(10)
        assert not t.is_alive()
    assert outcomes["closed"] == 4


def test_dealloc_without_close():
    srv = libkube.Server(listen=["tcp:127.0.0.1:0"])
    d = srv.data_dir
    srv.client().create(configmap("x"))
    del srv
    assert not os.path.exists(d)


def test_client_outlives_server_object():
    c = libkube.Server().client()  # the client keeps its Server alive
    c.create(configmap("kept"))
    assert c.get("v1", "ConfigMap", "kept")


def _deployment(name, replicas):
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas,
                     "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [
                                      {"name": "c", "image": "busybox"}]}}}}


def _owned_pods(c, app):
    return c.list("v1", "Pod", namespace="default",
                  label_selector=f"app={app}")["items"]


def test_controllers_run_in_process():
    import time
    with libkube.Server() as srv:
        c = srv.client()
        c.create(_deployment("web", 3))
        deadline = time.time() + 30
        while time.time() < deadline and len(_owned_pods(c, "web")) < 3:
            time.sleep(0.05)
        pods = _owned_pods(c, "web")
        assert len(pods) == 3
        rs = c.list("apps/v1", "ReplicaSet", namespace="default")["items"]
        assert [r["metadata"]["ownerReferences"][0]["name"] for r in rs] == ["web"]
        assert all(p["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"
                   for p in pods)
        # Cascading delete: the garbage collector removes what the
        # Deployment owned.
        c.delete("apps/v1", "Deployment", "web", namespace="default",
                 propagation="Foreground")
        deadline = time.time() + 30
        while time.time() < deadline and _owned_pods(c, "web"):
            time.sleep(0.05)
        assert _owned_pods(c, "web") == []


def test_controllers_off():
    import time
    with libkube.Server(controllers=False) as srv:
        c = srv.client()
        c.create(_deployment("idle", 2))
        # Nothing reconciles it: give a running controller ample time to
        # have acted, then check that none did.
        time.sleep(1.0)
        assert c.list("apps/v1", "ReplicaSet", namespace="default")["items"] == []
        assert _owned_pods(c, "idle") == []
