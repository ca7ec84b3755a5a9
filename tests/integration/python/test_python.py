#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The official Python client (Debian's python3-kubernetes) against a real
kubed: list, create, read, replace, patch, delete, watch and scale, over
TLS with the bearer token from the kubeconfig kubed writes.  Exits 77 when
the kubernetes package is missing.

usage: test_python.py KUBED"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "apiserver"))
from kubed_harness import Failures, Kubed  # noqa: E402

try:
    import urllib3
    from kubernetes import client, config, watch
    from kubernetes.client.rest import ApiException
except ImportError as e:  # pragma: no cover - depends on the machine
    print("skip: the kubernetes Python package is not installed (%s); "
          "apt-get install python3-kubernetes" % e)
    sys.exit(77)


def pod(name, labels=None):
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels or {"app": name}),
        spec=client.V1PodSpec(containers=[client.V1Container(
            name="c", image="kubia",
            ports=[client.V1ContainerPort(container_port=8080)])]))


def deployment(name, replicas=1):
    labels = {"app": name}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[client.V1Container(
                    name="web", image="nginx")]))))


def status_of(fn, *args, **kw):
    try:
        fn(*args, **kw)
        return 200
    except ApiException as e:
        return e.status


def run(t, k):
    api_client = config.new_client_from_config(
        config_file=os.path.join(k.data, "kubeconfig.yaml"))
    core = client.CoreV1Api(api_client)
    apps = client.AppsV1Api(api_client)
    ns = "default"

    # list
    names = [n.metadata.name for n in core.list_namespace().items]
    t.check("default" in names and "kube-system" in names, "list namespaces", names)
    t.check(core.list_namespaced_pod(ns).items == [], "empty pod list")

    # create / read
    created = core.create_namespaced_pod(ns, pod("py1"))
    t.check(created.metadata.name == "py1" and created.metadata.uid
            and created.metadata.resource_version, "create pod", created.metadata)
    got = core.read_namespaced_pod("py1", ns)
    t.check(got.spec.containers[0].image == "kubia"
            and got.spec.containers[0].ports[0].container_port == 8080, "read pod")
    t.check(status_of(core.create_namespaced_pod, ns, pod("py1")) == 409,
            "duplicate create is 409")
    t.check(status_of(core.read_namespaced_pod, "nope", ns) == 404, "missing pod is 404")

    # replace (and a conflict with a stale resourceVersion)
    got.metadata.labels["replaced"] = "yes"
    rep = core.replace_namespaced_pod("py1", ns, got)
    t.check(rep.metadata.labels.get("replaced") == "yes"
            and rep.metadata.resource_version != got.metadata.resource_version,
            "replace pod", rep.metadata.labels)
    t.check(status_of(core.replace_namespaced_pod, "py1", ns, got) == 409,
            "stale replace is a 409 conflict")

    # patch: the client sends strategic merge for a dict body
    p = core.patch_namespaced_pod("py1", ns, {"metadata": {"labels": {"patched": "1"}}})
    t.check(p.metadata.labels.get("patched") == "1" and p.metadata.labels.get("replaced") == "yes",
            "patch pod", p.metadata.labels)
    p = core.patch_namespaced_pod("py1", ns, [{"op": "add", "path": "/metadata/labels/jp",
                                              "value": "x"}])
    t.check(p.metadata.labels.get("jp") == "x", "JSON patch", p.metadata.labels)

    # label selectors
    core.create_namespaced_pod(ns, pod("py2", {"app": "other"}))
    sel = [x.metadata.name for x in core.list_namespaced_pod(ns, label_selector="app=py1").items]
    t.check(sel == ["py1"], "list with a label selector", sel)

    # watch: ADDED, MODIFIED, DELETED of a pod created while watching
    rv = core.list_namespaced_pod(ns).metadata.resource_version
    events = []
    w = watch.Watch()

    def watcher():
        for ev in w.stream(core.list_namespaced_pod, ns, resource_version=rv,
                           timeout_seconds=5):
            events.append((ev["type"], ev["object"].metadata.name))
            if ev["type"] == "DELETED" and ev["object"].metadata.name == "py3":
                w.stop()

    th = threading.Thread(target=watcher)
    th.start()
    time.sleep(0.3)
    core.create_namespaced_pod(ns, pod("py3"))
    core.patch_namespaced_pod("py3", ns, {"metadata": {"labels": {"w": "1"}}})
    core.delete_namespaced_pod("py3", ns, grace_period_seconds=0)
    th.join(15)
    t.check(not th.is_alive(), "watch ended")
    t.check(("ADDED", "py3") in events and ("MODIFIED", "py3") in events
            and ("DELETED", "py3") in events, "watch sees ADDED/MODIFIED/DELETED", events)

    # delete
    core.delete_namespaced_pod("py1", ns)
    deadline = time.time() + 10
    while time.time() < deadline and status_of(core.read_namespaced_pod, "py1", ns) != 404:
        time.sleep(0.1)
    t.check(status_of(core.read_namespaced_pod, "py1", ns) == 404, "delete pod")
    t.check(status_of(core.delete_namespaced_pod, "py1", ns) == 404, "delete twice is 404")

    # deployments and the scale subresource
    d = apps.create_namespaced_deployment(ns, deployment("pyweb"))
    t.check(d.spec.replicas == 1, "create deployment")
    sc = apps.read_namespaced_deployment_scale("pyweb", ns)
    t.check(sc.spec.replicas == 1 and sc.status is not None, "read scale", sc)
    sc = apps.patch_namespaced_deployment_scale("pyweb", ns, {"spec": {"replicas": 3}})
    t.check(sc.spec.replicas == 3, "patch scale", sc.spec)
    t.check(apps.read_namespaced_deployment("pyweb", ns).spec.replicas == 3,
            "scale changed the deployment")
    sc = apps.read_namespaced_deployment_scale("pyweb", ns)
    sc.spec.replicas = 2
    sc = apps.replace_namespaced_deployment_scale("pyweb", ns, sc)
    t.check(apps.read_namespaced_deployment("pyweb", ns).spec.replicas == 2,
            "replace scale")
    listed = [x.metadata.name for x in apps.list_namespaced_deployment(ns).items]
    t.check(listed == ["pyweb"], "list deployments", listed)

    # namespaces, all-namespace lists, field selectors, status reads
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="pyns")))
    core.create_namespaced_pod("pyns", pod("inns"))
    everywhere = [(x.metadata.namespace, x.metadata.name)
                  for x in core.list_pod_for_all_namespaces().items]
    t.check(("pyns", "inns") in everywhere and ("default", "py2") in everywhere,
            "list pods in all namespaces", everywhere)
    fs = [x.metadata.name for x in core.list_pod_for_all_namespaces(
        field_selector="metadata.namespace=pyns").items]
    t.check(fs == ["inns"], "field selector", fs)
    st = core.read_namespaced_pod_status("inns", "pyns")
    t.check(st.status.phase == "Pending", "read pod status", st.status.phase)
    p = apps.patch_namespaced_deployment("pyweb", ns, {"spec": {"template": {"spec": {
        "containers": [{"name": "web", "image": "nginx:2"}]}}}})
    t.check([c.image for c in p.spec.template.spec.containers] == ["nginx:2"],
            "strategic patch merges containers by name",
            [c.image for c in p.spec.template.spec.containers])
    core.delete_namespace("pyns")

    # services and config maps
    svc = core.create_namespaced_service(ns, client.V1Service(
        metadata=client.V1ObjectMeta(name="pysvc"),
        spec=client.V1ServiceSpec(selector={"app": "pyweb"},
                                  ports=[client.V1ServicePort(port=80, target_port=8080)])))
    t.check(svc.spec.ports[0].port == 80 and svc.spec.cluster_ip, "create service", svc.spec)
    cm = core.create_namespaced_config_map(ns, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="pycm"), data={"k": "v"}))
    t.check(cm.data == {"k": "v"}, "create config map")
    # What client-go's typed clients decode: a V1Status for a ConfigMap or
    # a Deployment removed at once, the Service itself (ReturnDeletedObject).
    st = core.delete_namespaced_config_map("pycm", ns)
    t.check(isinstance(st, client.V1Status) and st.status == "Success" and
            st.details.name == "pycm" and st.details.kind == "configmaps" and
            st.details.uid == cm.metadata.uid, "delete config map: Status", st)
    st = apps.delete_namespaced_deployment("pyweb", ns)
    t.check(st.status == "Success" and st.details.group == "apps",
            "delete deployment: Status with its group", st)
    gone = core.delete_namespaced_service("pysvc", ns)
    t.check(getattr(gone, "kind", None) == "Service" or
            (isinstance(gone, client.V1Status) and gone.kind == "Service"),
            "delete service answers the Service", gone)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    urllib3.disable_warnings()
    t = Failures()
    k = Kubed(sys.argv[1], store="memory")
    try:
        k.start()
        run(t, k)
    except Exception as e:  # report, never hang
        import traceback
        traceback.print_exc()
        t.check(False, "unexpected exception", repr(e))
    finally:
        k.cleanup()
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
