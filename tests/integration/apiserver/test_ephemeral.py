#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""pods/ephemeralcontainers against a real kubed (--no-node): discovery,
GET, strategic merge / JSON / merge patch and PUT as kube-apiserver serves
them (only spec.ephemeralContainers moves), its validation with field
paths (added, never changed or removed; no ports, probes, resources,
lifecycle; unique names; targetContainerName names a container; not on
create, not in templates, not on static pods), RBAC on the subresource,
PodSecurity's verdict on the debug container, the Python client,
and the real kubectl 1.32 `debug` (the patch it sends) when present.

usage: test_ephemeral.py KUBED"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kubed_harness import Failures, Kubed, pod  # noqa: E402

KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"
P = "/api/v1/namespaces/default/pods"
SMP = "application/strategic-merge-patch+json"
JSONP = "application/json-patch+json"
MERGE = "application/merge-patch+json"


def ec(name, **kw):
    c = {"name": name, "image": "busybox"}
    c.update(kw)
    return c


def add_patch(*containers):
    return json.dumps({"spec": {"ephemeralContainers": list(containers)}})


def causes(r):
    try:
        d = r.json().get("details", {})
    except ValueError:
        return []
    return [(c.get("field"), c.get("reason"), c.get("message"))
            for c in d.get("causes", [])]


def invalid(t, r, field, reason, words, what):
    """422 Invalid with a cause at field (reason, message containing
    words)."""
    ok = r.status == 422 and r.json().get("reason") == "Invalid" and any(
        f == field and rs == reason and words in (m or "")
        for f, rs, m in causes(r))
    t.check(ok, what, repr(r))


def check_discovery(k, t):
    r = k.request("GET", "/api/v1")
    res = {x["name"]: x for x in r.json().get("resources", [])}
    e = res.get("pods/ephemeralcontainers", {})
    t.check(e.get("kind") == "Pod" and e.get("namespaced") is True and
            sorted(e.get("verbs", [])) == ["get", "patch", "update"],
            "discovery: pods/ephemeralcontainers is a Pod with get, patch, "
            "update", repr(e))
    r = k.request("GET", "/api",
                  accept="application/json;g=apidiscovery.k8s.io;"
                  "v=v2;as=APIGroupDiscoveryList")
    subs = []
    for g in r.json().get("items", []):
        for v in g.get("versions", []):
            for res_ in v.get("resources", []):
                if res_.get("resource") == "pods":
                    subs = res_.get("subresources", [])
    s = [x for x in subs if x.get("subresource") == "ephemeralcontainers"]
    t.check(len(s) == 1 and sorted(s[0].get("verbs", [])) ==
            ["get", "patch", "update"] and
            s[0].get("responseKind", {}).get("kind") == "Pod",
            "aggregated discovery lists ephemeralcontainers", repr(s))


def check_create_and_templates(k, t):
    p = pod("born", ephemeralContainers=[ec("dbg")])
    r = k.request("POST", P, p)
    invalid(t, r, "spec.ephemeralContainers", "FieldValueForbidden",
            "cannot be set on create", "no ephemeral containers on create")
    d = {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "d"},
         "spec": {"selector": {"matchLabels": {"a": "b"}},
                  "template": {"metadata": {"labels": {"a": "b"}},
                               "spec": {"containers": [
                                   {"name": "c", "image": "nginx"}],
                                   "ephemeralContainers": [ec("dbg")]}}}}
    r = k.request("POST", "/apis/apps/v1/namespaces/default/deployments", d)
    invalid(t, r, "spec.template.spec.ephemeralContainers",
            "FieldValueForbidden",
            "ephemeral containers not allowed in pod template",
            "no ephemeral containers in pod templates")


def check_updates(k, t):
    p = pod("web", initContainers=[{"name": "init", "image": "busybox"}])
    p["metadata"]["labels"] = {"app": "web"}
    r = k.request("POST", P, p)
    t.check(r.status == 201, "create pod web", repr(r))
    sub = P + "/web/ephemeralcontainers"
    r = k.request("GET", sub)
    t.check(r.status == 200 and r.json().get("kind") == "Pod" and
            r.json()["metadata"]["name"] == "web",
            "GET ephemeralcontainers is the pod", repr(r))
    r = k.request("GET", P + "/nope/ephemeralcontainers")
    t.check(r.status == 404 and r.json().get("reason") == "NotFound" and
            r.json().get("details", {}).get("name") == "nope",
            "a missing pod is NotFound with its name", repr(r))
    for m in ("POST", "DELETE"):
        r = k.request(m, sub, body="{}" if m == "POST" else None,
                      ctype="application/json")
        t.check(r.status == 405, "%s on ephemeralcontainers: 405" % m,
                repr(r))

    # strategic merge patch, as kubectl debug sends it
    r = k.request("PATCH", sub, add_patch(ec(
        "dbg", targetContainerName="c", stdin=True, tty=True,
        command=["sh"])), ctype=SMP)
    t.check(r.status == 200, "strategic merge patch adds dbg", repr(r))
    ecs = r.json().get("spec", {}).get("ephemeralContainers", []) \
        if r.status == 200 else []
    d = ecs[0] if ecs else {}
    t.check(len(ecs) == 1 and d.get("imagePullPolicy") == "Always" and
            d.get("terminationMessagePath") == "/dev/termination-log" and
            d.get("terminationMessagePolicy") == "File" and
            d.get("targetContainerName") == "c",
            "the new container is defaulted", repr(d))
    rv1 = r.json()["metadata"]["resourceVersion"] if r.status == 200 else ""

    # changing or removing it is refused, with the field path
    r = k.request("PATCH", sub, add_patch(ec("dbg", image="alpine")),
                  ctype=SMP)
    invalid(t, r, "spec.ephemeralContainers", "FieldValueForbidden",
            'existing ephemeral containers "dbg" may not be changed',
            "changing an existing ephemeral container: 422 Invalid")
    t.check('Pod "web" is invalid: spec.ephemeralContainers: Forbidden: '
            'existing ephemeral containers "dbg" may not be changed'
            in r.json().get("message", ""), "kube-apiserver's message",
            r.json().get("message"))
    r = k.request("PATCH", sub, json.dumps(
        [{"op": "replace", "path": "/spec/ephemeralContainers/0/image",
          "value": "alpine"}]), ctype=JSONP)
    invalid(t, r, "spec.ephemeralContainers", "FieldValueForbidden",
            'existing ephemeral containers "dbg" may not be changed',
            "a JSON patch changing it: 422")
    r = k.request("PATCH", sub, json.dumps(
        [{"op": "remove", "path": "/spec/ephemeralContainers/0"}]),
        ctype=JSONP)
    invalid(t, r, "spec.ephemeralContainers", "FieldValueForbidden",
            'existing ephemeral containers "dbg" may not be removed',
            "a JSON patch removing it: 422")
    r = k.request("PATCH", sub, json.dumps(
        {"spec": {"ephemeralContainers": None}}), ctype=MERGE)
    invalid(t, r, "spec.ephemeralContainers", "FieldValueForbidden",
            "may not be removed", "a merge patch dropping them: 422")

    # JSON patch adds a second; the rest of the pod does not move
    r = k.request("PATCH", sub, json.dumps(
        [{"op": "add", "path": "/spec/ephemeralContainers/-",
          "value": ec("dbg2")},
         {"op": "replace", "path": "/metadata/labels/app", "value": "x"},
         {"op": "replace", "path": "/spec/containers/0/image",
          "value": "other"}]), ctype=JSONP)
    body = r.json() if r.status == 200 else {}
    t.check(r.status == 200 and
            [c["name"] for c in body["spec"]["ephemeralContainers"]] ==
            ["dbg", "dbg2"] and body["metadata"]["labels"] == {"app": "web"}
            and body["spec"]["containers"][0]["image"] == "nginx",
            "JSON patch adds dbg2 and changes nothing else", repr(r))

    # PUT (UpdateEphemeralContainers): stale resourceVersion conflicts
    cur = k.request("GET", sub).json()
    stale = json.loads(json.dumps(cur))
    stale["metadata"]["resourceVersion"] = rv1
    stale["spec"]["ephemeralContainers"].append(ec("dbg3"))
    r = k.request("PUT", sub, stale)
    t.check(r.status == 409 and r.json().get("reason") == "Conflict",
            "PUT with a stale resourceVersion: 409 Conflict", repr(r))
    cur["spec"]["ephemeralContainers"].append(ec("dbg3"))
    cur["status"] = {"phase": "Failed"}
    r = k.request("PUT", sub, cur)
    body = r.json() if r.status == 200 else {}
    t.check(r.status == 200 and len(body["spec"]["ephemeralContainers"]) == 3
            and body["status"]["phase"] == "Pending",
            "PUT adds dbg3 (status untouched)", repr(r))

    # the pod itself may not change them
    r = k.request("PATCH", P + "/web", add_patch(ec("viamain")), ctype=SMP)
    t.check(r.status == 422 and "pod updates may not change fields" in
            r.json().get("message", ""),
            "the main resource may not add one", repr(r))
    r = k.request("PATCH", P + "/web/status", json.dumps(
        {"spec": {"ephemeralContainers": [ec("viastatus")]}}), ctype=MERGE)
    got = [c["name"] for c in
           k.request("GET", P + "/web").json()["spec"]["ephemeralContainers"]]
    t.check(r.status == 200 and got == ["dbg", "dbg2", "dbg3"],
            "pods/status does not move them", repr(got))


def check_bad_inputs(k, t):
    sub = P + "/web/ephemeralcontainers"
    cases = [
        (ec("c"), "spec.ephemeralContainers[0].name", "FieldValueDuplicate",
         '"c"', "a name of a regular container"),
        (ec("init"), "spec.ephemeralContainers[0].name",
         "FieldValueDuplicate", '"init"', "a name of an init container"),
        (ec("x", targetContainerName="nosuch"),
         "spec.ephemeralContainers[0].targetContainerName",
         "FieldValueNotFound", '"nosuch"', "an unknown target"),
        (ec("x", targetContainerName="dbg"),
         "spec.ephemeralContainers[0].targetContainerName",
         "FieldValueNotFound", '"dbg"', "an ephemeral target"),
        (ec("x", ports=[{"containerPort": 80}]),
         "spec.ephemeralContainers[0].ports", "FieldValueForbidden",
         "cannot be set for an Ephemeral Container", "ports"),
        (ec("x", resources={"limits": {"cpu": "1"}}),
         "spec.ephemeralContainers[0].resources", "FieldValueForbidden",
         "cannot be set for an Ephemeral Container", "resources"),
        (ec("x", livenessProbe={"exec": {"command": ["true"]}}),
         "spec.ephemeralContainers[0].livenessProbe", "FieldValueForbidden",
         "cannot be set for an Ephemeral Container", "a liveness probe"),
        (ec("x", readinessProbe={"tcpSocket": {"port": 1}}),
         "spec.ephemeralContainers[0].readinessProbe", "FieldValueForbidden",
         "cannot be set for an Ephemeral Container", "a readiness probe"),
        (ec("x", lifecycle={"preStop": {"exec": {"command": ["true"]}}}),
         "spec.ephemeralContainers[0].lifecycle", "FieldValueForbidden",
         "cannot be set for an Ephemeral Container", "lifecycle"),
        (ec("x", restartPolicy="Always"),
         "spec.ephemeralContainers[0].restartPolicy", "FieldValueForbidden",
         "cannot be set for an Ephemeral Container", "restartPolicy"),
        ({"name": "x"}, "spec.ephemeralContainers[0].image",
         "FieldValueRequired", "Required value", "no image"),
        (ec("Bad_Name"), "spec.ephemeralContainers[0].name",
         "FieldValueInvalid", "RFC 1123", "a bad name"),
        (ec("x", volumeMounts=[{"name": "nov", "mountPath": "/m"}]),
         "spec.ephemeralContainers[0].volumeMounts[0].name",
         "FieldValueNotFound", '"nov"', "a mount of no volume"),
    ]
    for c, field, reason, words, what in cases:
        r = k.request("PATCH", sub, add_patch(c), ctype=SMP)
        invalid(t, r, field, reason, words, "refused: " + what)
    r = k.request("PATCH", sub, "{not json", ctype=SMP)
    t.check(r.status == 400, "a malformed patch: 400", repr(r))
    r = k.request("PATCH", sub, json.dumps(
        {"spec": {"ephemeralContainers": "nope"}}), ctype=MERGE)
    t.check(r.status in (400, 422), "ephemeralContainers not a list: "
            "refused", repr(r))
    got = k.request("GET", sub).json()["spec"]["ephemeralContainers"]
    t.check(len(got) == 3, "nothing of the refused ones stayed", repr(got))

    # a pod with volumes: subPath is forbidden
    p = pod("vol", volumes=[{"name": "v", "emptyDir": {}}])
    k.request("POST", P, p)
    r = k.request("PATCH", P + "/vol/ephemeralcontainers", add_patch(ec(
        "x", volumeMounts=[{"name": "v", "mountPath": "/m",
                            "subPath": "s"}])), ctype=SMP)
    invalid(t, r, "spec.ephemeralContainers[0].volumeMounts[0].subPath",
            "FieldValueForbidden", "cannot be set for an Ephemeral Container",
            "refused: a subPath mount")
    r = k.request("PATCH", P + "/vol/ephemeralcontainers", add_patch(ec(
        "x", volumeMounts=[{"name": "v", "mountPath": "/m"}])), ctype=SMP)
    t.check(r.status == 200, "a plain volume mount is fine", repr(r))

    # static pods take none
    sp = pod("mirror")
    sp["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "abc"}
    r = k.request("POST", P, sp)
    if r.status == 201:
        r = k.request("PATCH", P + "/mirror/ephemeralcontainers",
                      add_patch(ec("x")), ctype=SMP)
        t.check(r.status == 422 and "static pods do not support ephemeral "
                "containers" in r.json().get("message", ""),
                "a mirror pod takes no ephemeral container", repr(r))


def check_rbac(k, t, tmp):
    def as_user(tok, method, path, body=None, ctype=None):
        return k.request(method, path, body, ctype=ctype, token=tok)

    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "debugger"},
            "rules": [{"apiGroups": [""], "resources": ["pods"],
                       "verbs": ["get", "list", "watch", "patch"]},
                      {"apiGroups": [""],
                       "resources": ["pods/ephemeralcontainers"],
                       "verbs": ["patch"]}]}
    viewer = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
              "metadata": {"name": "patcher"},
              "rules": [{"apiGroups": [""], "resources": ["pods"],
                         "verbs": ["get", "patch"]}]}
    rb = "/apis/rbac.authorization.k8s.io/v1/namespaces/default/"
    k.request("POST", rb + "roles", role)
    k.request("POST", rb + "roles", viewer)
    for user, r_ in (("dora", "debugger"), ("pat", "patcher")):
        k.request("POST", rb + "rolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding", "metadata": {"name": user},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                        "kind": "Role", "name": r_},
            "subjects": [{"kind": "User", "name": user,
                          "apiGroup": "rbac.authorization.k8s.io"}]})
    sub = P + "/web/ephemeralcontainers"
    r = as_user("pat-tok", "PATCH", sub, add_patch(ec("bypat")), SMP)
    t.check(r.status == 403 and r.json().get("message") ==
            'pods "web" is forbidden: User "pat" cannot patch resource '
            '"pods/ephemeralcontainers" in API group "" in the namespace '
            '"default"', "patch pods does not grant the subresource",
            repr(r))
    r = as_user("pat-tok", "GET", sub)
    t.check(r.status == 403, "nor its get", repr(r))
    r = as_user("dora-tok", "PATCH", sub, add_patch(ec("bydora")), SMP)
    t.check(r.status == 200, "patch pods/ephemeralcontainers grants it",
            repr(r))
    r = as_user("dora-tok", "PUT", sub, k.request("GET", sub).json())
    t.check(r.status == 403 and 'cannot update resource '
            '"pods/ephemeralcontainers"' in r.json().get("message", ""),
            "update is a verb of its own", repr(r))


def check_pod_security(k, t):
    """PodSecurity judges a debug container by the namespace's level."""
    k.request("POST", "/api/v1/namespaces", {
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "strict", "labels": {
            "pod-security.kubernetes.io/enforce": "restricted"}}})
    good = {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}}
    p = pod("sp", ns="strict")
    p["spec"]["containers"][0]["securityContext"] = good
    r = k.request("POST", "/api/v1/namespaces/strict/pods", p)
    t.check(r.status == 201, "a restricted pod", repr(r))
    sub = "/api/v1/namespaces/strict/pods/sp/ephemeralcontainers"
    r = k.request("PATCH", sub, add_patch(ec("loose")), ctype=SMP)
    t.check(r.status == 403 and r.json().get("message", "").startswith(
        'pods "sp" is forbidden: violates PodSecurity "restricted:latest": ')
        and 'container "loose" must set' in r.json().get("message", ""),
        "PodSecurity refuses a debug container below the level", repr(r))
    r = k.request("PATCH", sub, add_patch(ec("tight", securityContext=good)),
                  ctype=SMP)
    t.check(r.status == 200, "... and admits one that meets it", repr(r))


def check_python_client(k, t):
    """The Python client's read/patch/replace_namespaced_pod_
    ephemeralcontainers (python3-kubernetes, when installed)."""
    try:
        from kubernetes import client, config
    except ImportError:
        print("note: python3-kubernetes missing, its client not checked")
        return
    api = client.CoreV1Api(config.new_client_from_config(
        os.path.join(k.data, "kubeconfig.yaml")))
    p = api.read_namespaced_pod_ephemeralcontainers("web", "default")
    n = len(p.spec.ephemeral_containers or [])
    p = api.patch_namespaced_pod_ephemeralcontainers("web", "default", {
        "spec": {"ephemeralContainers": [ec("py1", stdin=True)]}})
    names = [c.name for c in p.spec.ephemeral_containers]
    t.check("py1" in names and len(names) == n + 1,
            "python client: patch adds py1", repr(names))
    p.spec.ephemeral_containers.append(client.V1EphemeralContainer(
        name="py2", image="busybox"))
    p = api.replace_namespaced_pod_ephemeralcontainers("web", "default", p)
    t.check([c.name for c in p.spec.ephemeral_containers][-1] == "py2",
            "python client: replace adds py2")
    p.spec.ephemeral_containers[-1].image = "alpine"
    try:
        api.replace_namespaced_pod_ephemeralcontainers("web", "default", p)
        t.check(False, "python client: changing py2 refused")
    except client.exceptions.ApiException as e:
        body = json.loads(e.body)
        t.check(e.status == 422 and body["details"]["causes"][0]["field"] ==
                "spec.ephemeralContainers",
                "python client: changing py2 is a 422 at "
                "spec.ephemeralContainers", e.body)


def check_kubectl(k, t):
    if not os.access(KUBECTL, os.X_OK):
        print("note: %s missing, kubectl debug not checked" % KUBECTL)
        return

    def kubectl(*args):
        p = subprocess.run([KUBECTL, "--kubeconfig",
                            os.path.join(k.data, "kubeconfig.yaml")] +
                           list(args), capture_output=True, text=True,
                           timeout=60)
        return p.returncode, p.stdout, p.stderr

    rc, out, err = kubectl("debug", "web", "--image=busybox:1.35.0",
                           "-c", "kdbg", "--target=c", "--", "sleep", "1000")
    got = k.request("GET", P + "/web").json()["spec"]["ephemeralContainers"]
    kd = [c for c in got if c["name"] == "kdbg"]
    t.check(rc == 0 and len(kd) == 1 and kd[0].get("command") ==
            ["sleep", "1000"] and kd[0].get("targetContainerName") == "c" and
            kd[0].get("imagePullPolicy") == "IfNotPresent",
            "kubectl debug adds an ephemeral container", out + err)
    rc, out, err = kubectl(
        "patch", "pod", "web", "--subresource=ephemeralcontainers",
        "--type=json", "-p", json.dumps(
            [{"op": "replace", "path": "/spec/ephemeralContainers/%d/image"
              % got.index(kd[0]) if kd else 0, "value": "alpine"}]))
    t.check(rc != 0 and 'The Pod "web" is invalid: spec.ephemeralContainers: '
            'Forbidden: existing ephemeral containers "kdbg" may not be '
            'changed' in err, "kubectl patch --subresource changing it: the "
            "422", err)
    rc, out, err = kubectl("debug", "web", "--image=busybox",
                           "--target=nosuch", "-c", "k2")
    t.check(rc != 0 and "spec.ephemeralContainers[" in err and
            "targetContainerName: Not found: \"nosuch\"" in err,
            "kubectl debug --target of no container: the 422", err)
    rc, out, err = kubectl("debug", "web", "--image=busybox")
    t.check(rc == 0 and "Defaulting debug container name to debugger-" in
            out, "kubectl debug names the container itself", out + err)
    rc, out, err = kubectl("get", "pod", "web", "-o",
                           "jsonpath={.spec.ephemeralContainers[*].name}")
    t.check(rc == 0 and "kdbg" in out and "debugger-" in out,
            "kubectl sees them", out + err)


def main():
    t = Failures()
    tmp = tempfile.mkdtemp(prefix="ephemeral-test-")
    tokens = os.path.join(tmp, "tokens.csv")
    with open(tokens, "w") as f:
        f.write("dora-tok,dora,u1\npat-tok,pat,u2\n")
    k = Kubed(sys.argv[1], extra=["--no-registry", "--no-scheduler",
                                  "--token-auth-file", tokens])
    try:
        k.start()
        check_discovery(k, t)
        check_create_and_templates(k, t)
        check_updates(k, t)
        check_bad_inputs(k, t)
        check_rbac(k, t, tmp)
        check_pod_security(k, t)
        check_python_client(k, t)
        check_kubectl(k, t)
        t.check(k.stop() == 0, "SIGTERM exits 0")
    finally:
        if t.failed:
            print(k.read_log()[-3000:])
        k.cleanup()
        os.unlink(tokens)
        os.rmdir(tmp)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
