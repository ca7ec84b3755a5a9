# SPDX-License-Identifier: Apache-2.0
"""Every Client call, in-process and over HTTPS, and every error path."""
import json
import os

import pytest

import libkube
from conftest import configmap


def test_create_get(client):
    c, ns = client
    made = c.create(configmap("one", ns, {"k": "v"}))
    assert made["metadata"]["uid"]
    assert made["metadata"]["resourceVersion"]
    assert made["metadata"]["namespace"] == ns
    got = c.get("v1", "ConfigMap", "one", namespace=ns)
    assert got["data"] == {"k": "v"}
    assert got["metadata"]["resourceVersion"] == made["metadata"]["resourceVersion"]


def test_namespace_argument_and_default(client):
    c, ns = client
    assert c.namespace == "default"
    c.create(configmap("in-arg"), namespace=ns)
    assert c.get("v1", "ConfigMap", "in-arg", ns)["metadata"]["namespace"] == ns
    # No namespace anywhere: the client's.
    c.create(configmap("in-default-" + ns))
    c.get("v1", "ConfigMap", "in-default-" + ns)
    c.delete("v1", "ConfigMap", "in-default-" + ns)


def test_cluster_scoped(client):
    c, ns = client
    got = c.get("v1", "Namespace", ns)
    assert got["metadata"]["name"] == ns
    names = [n["metadata"]["name"]
             for n in c.list("v1", "Namespace")["items"]]
    assert ns in names


def test_not_found(client):
    c, ns = client
    with pytest.raises(libkube.ApiError) as e:
        c.get("v1", "ConfigMap", "nope", namespace=ns)
    assert e.value.code == 404
    assert e.value.reason == "NotFound"
    assert e.value.status["kind"] == "Status"
    assert e.value.status["details"]["name"] == "nope"
    assert 'configmaps "nope" not found' in str(e.value)


def test_already_exists(client):
    c, ns = client
    c.create(configmap("dup", ns))
    with pytest.raises(libkube.ApiError) as e:
        c.create(configmap("dup", ns))
    assert e.value.code == 409 and e.value.reason == "AlreadyExists"


def test_invalid(client):
    c, ns = client
    with pytest.raises(libkube.ApiError) as e:
        c.create(configmap("Bad_Name", ns))
    assert e.value.code == 422 and e.value.reason == "Invalid"
    assert e.value.status["details"]["causes"]


def test_replace_and_conflict(client):
    c, ns = client
    made = c.create(configmap("r", ns, {"a": "1"}))
    made["data"]["a"] = "2"
    new = c.replace(made)
    assert new["data"]["a"] == "2"
    assert new["metadata"]["resourceVersion"] != made["metadata"]["resourceVersion"]
    with pytest.raises(libkube.ApiError) as e:
        c.replace(made)  # stale resourceVersion
    assert e.value.code == 409 and e.value.reason == "Conflict"


def test_patch_types(client):
    c, ns = client
    c.create(configmap("p", ns, {"a": "1"}))
    out = c.patch("v1", "ConfigMap", "p", {"data": {"b": "2"}}, namespace=ns)
    assert out["data"] == {"a": "1", "b": "2"}
    out = c.patch("v1", "ConfigMap", "p", {"data": {"a": None}},
                  patch_type="strategic", namespace=ns)
    assert out["data"] == {"b": "2"}
    out = c.patch("v1", "ConfigMap", "p",
                  [{"op": "add", "path": "/data/c", "value": "3"}],
                  patch_type="json", namespace=ns)
    assert out["data"] == {"b": "2", "c": "3"}
    out = c.patch("v1", "ConfigMap", "p", '{"data": {"d": "4"}}',
                  namespace=ns)
    assert out["data"]["d"] == "4"
    with pytest.raises(libkube.ApiError) as e:
        c.patch("v1", "ConfigMap", "p",
                [{"op": "test", "path": "/data/c", "value": "x"}],
                patch_type="json", namespace=ns)
    assert e.value.code in (409, 422)


def test_patch_status_subresource(client):
    c, ns = client
    # Bound already: the scheduler leaves it alone.  (A pending pod's status
    # is also written by the scheduler, and the API server answers a
    # racing merge patch with 409 instead of retrying it: a known defect.)
    c.create({"apiVersion": "v1", "kind": "Pod",
              "metadata": {"name": "pod", "namespace": ns},
              "spec": {"nodeName": "elsewhere",
                       "containers": [{"name": "c", "image": "busybox"}]}})
    out = c.patch("v1", "Pod", "pod", {"status": {"phase": "Running"}},
                  namespace=ns, subresource="status")
    assert out["status"]["phase"] == "Running"


def test_apply(client):
    c, ns = client
    obj = configmap("ssa", ns, {"a": "1"})
    out = c.apply(obj, field_manager="mgr-a")
    assert out["data"] == {"a": "1"}
    managers = {m["manager"] for m in out["metadata"]["managedFields"]}
    assert "mgr-a" in managers
    # Another manager changing an owned field: Conflict, unless forced.
    with pytest.raises(libkube.ApiError) as e:
        c.apply(configmap("ssa", ns, {"a": "2"}), field_manager="mgr-b")
    assert e.value.code == 409 and e.value.reason == "Conflict"
    out = c.apply(configmap("ssa", ns, {"a": "2"}), "mgr-b", force=True)
    assert out["data"]["a"] == "2"


def test_dry_run(client):
    c, ns = client
    out = c.create(configmap("dry", ns), dry_run=True)
    assert out["metadata"]["name"] == "dry"
    with pytest.raises(libkube.ApiError):
        c.get("v1", "ConfigMap", "dry", ns)
    c.create(configmap("wet", ns))
    c.delete("v1", "ConfigMap", "wet", ns, dry_run=True)
    c.get("v1", "ConfigMap", "wet", ns)


def test_list(client):
    c, ns = client
    for i in range(5):
        c.create(configmap("l%d" % i, ns, labels={"i": str(i % 2)}))
    lst = c.list("v1", "ConfigMap", namespace=ns)
    assert lst["kind"] == "ConfigMapList"
    assert int(lst["metadata"]["resourceVersion"]) > 0
    names = sorted(i["metadata"]["name"] for i in lst["items"])
    assert [n for n in names if n.startswith("l")] == ["l0", "l1", "l2", "l3", "l4"]
    odd = c.list("v1", "ConfigMap", namespace=ns, label_selector="i=1")
    assert sorted(i["metadata"]["name"] for i in odd["items"]) == ["l1", "l3"]
    one = c.list("v1", "ConfigMap", namespace=ns,
                 field_selector="metadata.name=l2")
    assert [i["metadata"]["name"] for i in one["items"]] == ["l2"]
    # Pages.
    seen, token = [], None
    while True:
        page = c.list("v1", "ConfigMap", namespace=ns, label_selector="i",
                      limit=2, continue_token=token)
        assert len(page["items"]) <= 2
        seen += [i["metadata"]["name"] for i in page["items"]]
        token = page["metadata"].get("continue")
        if not token:
            break
    assert sorted(seen) == ["l0", "l1", "l2", "l3", "l4"]
    # All namespaces.
    everywhere = c.list("v1", "ConfigMap")
    assert any(i["metadata"]["namespace"] == ns for i in everywhere["items"])


def test_delete(client):
    c, ns = client
    c.create(configmap("d", ns))
    uid = c.get("v1", "ConfigMap", "d", ns)["metadata"]["uid"]
    out = c.delete("v1", "ConfigMap", "d", namespace=ns,
                   propagation="Background", grace_period=0)
    # What kube-apiserver answers for an object removed at once.
    assert out["kind"] == "Status" and out["status"] == "Success"
    assert out["details"] == {"name": "d", "kind": "configmaps", "uid": uid}
    with pytest.raises(libkube.ApiError) as e:
        c.delete("v1", "ConfigMap", "d", namespace=ns)
    assert e.value.reason == "NotFound"
    # Without options (no DeleteOptions body is sent).
    c.create(configmap("plain", ns))
    out = c.delete("v1", "ConfigMap", "plain", namespace=ns)
    assert out["kind"] == "Status" and out["details"]["name"] == "plain"
    with pytest.raises(libkube.ApiError) as e:
        c.get("v1", "ConfigMap", "plain", ns)
    assert e.value.reason == "NotFound"
    # Foreground: the object waits for the garbage collector, marked.
    c.create(configmap("fg", ns))
    out = c.delete("v1", "ConfigMap", "fg", namespace=ns,
                   propagation="Foreground")
    assert "foregroundDeletion" in out["metadata"].get("finalizers", [])
    assert out["metadata"]["deletionTimestamp"]


def test_unicode_and_big_objects(client):
    c, ns = client
    data = {"emoji": "Grüße ✓ 日本", "big": "x" * 200000}
    c.create(configmap("u", ns, data))
    assert c.get("v1", "ConfigMap", "u", ns)["data"] == data


def test_bad_arguments(client):
    c, ns = client
    with pytest.raises(TypeError):
        c.get("v1", "ConfigMap")
    with pytest.raises(TypeError, match="must be a str"):
        c.get("v1", "ConfigMap", 5)
    with pytest.raises(TypeError, match="must be a str"):
        c.get(None, "ConfigMap", "x")
    with pytest.raises(ValueError, match="no matches for kind"):
        c.get("v1", "Gadget", "x")
    with pytest.raises(ValueError, match="empty"):
        c.get("v1", "ConfigMap", "")
    with pytest.raises(TypeError, match="dict"):
        c.create(["not", "a", "dict"])
    with pytest.raises(ValueError, match="apiVersion"):
        c.create({"metadata": {"name": "x"}})
    with pytest.raises(ValueError, match="metadata.name"):
        c.replace({"apiVersion": "v1", "kind": "ConfigMap"})
    with pytest.raises(TypeError):
        c.create({"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "x"}, "data": {"k": object()}})
    with pytest.raises(ValueError, match="patch_type"):
        c.patch("v1", "ConfigMap", "x", {}, patch_type="apply")
    with pytest.raises(ValueError, match="patch_type"):
        c.patch("v1", "ConfigMap", "x", {}, patch_type="nope")
    with pytest.raises(TypeError, match="patch must be"):
        c.patch("v1", "ConfigMap", "x", 42)
    with pytest.raises(ValueError, match="propagation"):
        c.delete("v1", "ConfigMap", "x", propagation="Sideways")
    with pytest.raises(ValueError, match="grace_period"):
        c.delete("v1", "ConfigMap", "x", grace_period=-1)
    with pytest.raises(ValueError, match="limit"):
        c.list("v1", "ConfigMap", limit=0)
    with pytest.raises(ValueError, match="field_manager"):
        c.apply(configmap("x", ns), field_manager="")
    with pytest.raises(ValueError, match="metadata.name"):
        c.apply({"apiVersion": "v1", "kind": "ConfigMap"}, "m")
    with pytest.raises(ValueError, match="timeout"):
        c.watch("v1", "ConfigMap", timeout=0)
    with pytest.raises(TypeError):
        c.get("v1", "ConfigMap", "x", bogus=1)


def test_bad_field_selector_is_api_error(client):
    c, ns = client
    with pytest.raises(libkube.ApiError) as e:
        c.list("v1", "ConfigMap", namespace=ns, field_selector="no-operator")
    assert e.value.code == 400


def test_client_kubeconfig_errors(tmpdir_path):
    with pytest.raises(FileNotFoundError):
        libkube.Client(os.path.join(tmpdir_path, "missing"))
    bad = os.path.join(tmpdir_path, "bad")
    with open(bad, "w") as f:
        f.write("clusters: [ this is not\n")
    with pytest.raises(ValueError):
        libkube.Client(bad)
    with pytest.raises(TypeError):
        libkube.Client(5)
    with pytest.raises(ValueError, match="timeout"):
        libkube.Client(bad, timeout=-1)


def test_client_unknown_context(tls_server):
    with pytest.raises(FileNotFoundError):
        libkube.Client(tls_server.kubeconfig, context="nope")


def test_connection_refused(tmpdir_path):
    kc = os.path.join(tmpdir_path, "kc")
    with open(kc, "w") as f:
        json.dump({"apiVersion": "v1", "kind": "Config",
                   "clusters": [{"name": "c", "cluster": {
                       "server": "unix:" + tmpdir_path + "/no.sock"}}],
                   "contexts": [{"name": "x", "context": {"cluster": "c"}}],
                   "current-context": "x"}, f)
    c = libkube.Client(kc)
    assert c.server.startswith("unix:")
    with pytest.raises(ConnectionError):
        c.get("v1", "ConfigMap", "x")


def test_pathlike_kubeconfig(tls_server):
    import pathlib
    c = libkube.Client(pathlib.Path(tls_server.kubeconfig))
    assert c.server == tls_server.url
    c.list("v1", "Namespace")


def test_unix_socket(tmpdir_path):
    sock = os.path.join(tmpdir_path, "k.sock")
    with libkube.Server(listen=("unix:" + sock,)) as srv:
        assert srv.kubeconfig is None
        kc = os.path.join(tmpdir_path, "kc")
        with open(kc, "w") as f:
            json.dump({"apiVersion": "v1", "kind": "Config",
                       "clusters": [{"name": "c",
                                     "cluster": {"server": "unix:" + sock}}],
                       "contexts": [{"name": "x",
                                     "context": {"cluster": "c"}}],
                       "current-context": "x"}, f)
        c = libkube.Client(kc)
        c.create(configmap("via-unix"))
        assert srv.client().get("v1", "ConfigMap", "via-unix")["metadata"]["name"] == "via-unix"


def test_client_timeout(tls_server):
    c = tls_server.client(timeout=0.2)
    c.list("v1", "ConfigMap")
    assert libkube.Client(tls_server.kubeconfig, timeout=5).list("v1", "Namespace")


def test_json_encoding(client):
    c, ns = client
    tricky = {"quote": 'a"b', "backslash": "c\\d", "controls": "\n\r\t\x01\x1f",
              "unicode": "é日😀", "empty": ""}
    c.create(configmap("enc", ns, tricky))
    assert c.get("v1", "ConfigMap", "enc", ns)["data"] == tricky
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "nums", "namespace": ns},
           "spec": {"activeDeadlineSeconds": 2 ** 31 - 1,
                    "terminationGracePeriodSeconds": 0,
                    "automountServiceAccountToken": False,
                    "containers": ({"name": "c", "image": "busybox",
                                    "ports": [{"containerPort": 80}]},)}}
    out = c.create(pod)
    assert out["spec"]["activeDeadlineSeconds"] == 2 ** 31 - 1
    assert out["spec"]["automountServiceAccountToken"] is False
    assert out["spec"]["containers"][0]["ports"][0]["containerPort"] == 80
    # An integer beyond int64 is sent as written; the server refuses it.
    pod["metadata"]["name"] = "huge"
    pod["spec"]["activeDeadlineSeconds"] = 10 ** 30
    with pytest.raises(libkube.ApiError) as e:
        c.create(pod)
    assert e.value.code in (400, 422)


def test_json_encoding_errors(client):
    c, ns = client
    cm = configmap("bad", ns)
    with pytest.raises(ValueError, match="JSON compliant"):
        c.create(dict(cm, extra=float("nan")))
    with pytest.raises(ValueError, match="JSON compliant"):
        c.create(dict(cm, extra=float("inf")))
    with pytest.raises(TypeError, match="keys must be str"):
        c.create(dict(cm, data={1: "x"}))
    with pytest.raises(TypeError, match="not JSON serializable"):
        c.create(dict(cm, data={"x": {1, 2}}))
    loop = []
    loop.append(loop)
    with pytest.raises(RecursionError):
        c.create(dict(cm, extra=loop))
    with pytest.raises(UnicodeEncodeError):
        c.create(configmap("bad", ns, {"k": "\udc80"}))
