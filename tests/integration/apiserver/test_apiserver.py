#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""HTTP-level tests of kubed's API server: discovery, CRUD, errors as
Status, selectors, paging, watch streams, Table output, dryRun,
generateName, subresources, graceful and namespace deletion.

usage: test_apiserver.py KUBED [STORE]"""
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kubed_harness import Etcd, Failures, Kubed, pod  # noqa: E402

PODS = "/api/v1/namespaces/default/pods"


def test_discovery(k, t):
    r = k.request("GET", "/version")
    t.check(r.status == 200 and r.json()["major"] == "1", "version", r)
    r = k.request("GET", "/api")
    t.check(r.status == 200 and r.json()["versions"] == ["v1"], "/api", r)
    t.check("serverAddressByClientCIDRs" in r.json(), "/api cidrs")
    r = k.request("GET", "/apis")
    groups = {g["name"] for g in r.json()["groups"]}
    t.check(r.status == 200 and "apps" in groups, "/apis has apps", groups)
    r = k.request("GET", "/api/v1")
    res = {e["name"]: e for e in r.json()["resources"]}
    t.check("pods" in res and res["pods"]["kind"] == "Pod" and
            res["pods"]["namespaced"] is True, "/api/v1 pods entry")
    t.check("po" in res["pods"].get("shortNames", []), "pods shortName po")
    t.check("pods/status" in res and "pods/log" in res, "pods subresources")
    t.check(res["namespaces"]["namespaced"] is False, "namespaces cluster-scoped")
    r = k.request("GET", "/apis/apps/v1")
    res = {e["name"]: e for e in r.json()["resources"]}
    t.check("deployments" in res and "deployments/scale" in res,
            "apps/v1 deployments + scale")
    t.check(res["deployments/scale"].get("group") == "autoscaling",
            "scale group autoscaling")
    agg = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
           "application/json")
    r = k.request("GET", "/apis", accept=agg)
    t.check(r.status == 200 and "as=APIGroupDiscoveryList" in
            r.headers.get("Content-Type", ""), "aggregated discovery content type", r)
    groups = {g["metadata"]["name"]: g for g in r.json().get("items", [])}
    deps = [x for x in groups.get("apps", {}).get("versions", [{}])[0].get("resources", [])
            if x["resource"] == "deployments"]
    t.check(deps and deps[0]["scope"] == "Namespaced" and
            any(s["subresource"] == "scale" for s in deps[0].get("subresources", [])),
            "aggregated apps/v1 deployments", deps)
    r = k.request("GET", "/api", accept=agg)
    core = r.json().get("items", [{}])[0]
    t.check(core.get("metadata", {}).get("name") == "" and
            any(x["resource"] == "pods" for x in core["versions"][0]["resources"]),
            "aggregated core group", r)
    r = k.request("GET", "/apis/apps")
    t.check(r.status == 200 and r.json()["kind"] == "APIGroup", "/apis/apps")
    r = k.request("GET", "/openapi/v2",
                  accept="application/com.github.proto-openapi.spec.v2@v1.0+protobuf")
    t.check(r.status == 200 and r.headers.get("Content-Type") ==
            "application/octet-stream", "/openapi/v2 protobuf for kubectl", r.status)
    r = k.request("GET", "/openapi/v2", accept="application/json")
    doc = r.json() if r.status == 200 else {}
    t.check(doc.get("swagger") == "2.0" and
            "io.k8s.api.apps.v1.Deployment" in doc.get("definitions", {}) and
            "/api/v1/namespaces/{namespace}/pods/{name}" in doc.get("paths", {}),
            "/openapi/v2 JSON document from the kinds table", list(doc)[:5])
    for p in ("/healthz", "/livez", "/readyz"):
        r = k.request("GET", p, token=False)
        t.check(r.status == 200 and r.body == "ok", p, r)
    r = k.request("GET", "/apis/nope.example.com/v1")
    t.check(r.status == 404, "unknown group 404", r)


def test_auth(k, t):
    r = k.request("GET", "/api/v1/namespaces", token=False)
    t.check(r.status == 401 and r.json()["reason"] == "Unauthorized",
            "401 without token", r)
    r = k.request("GET", "/api/v1/namespaces", token="wrong")
    t.check(r.status == 401 and r.json()["kind"] == "Status",
            "401 with a wrong token", r)
    r = k.unix_request("GET", "/api/v1/namespaces")
    t.check(r.status == 200, "unix socket needs no token", r)
    r = k.request("GET", "/api/v1/namespaces")
    names = {i["metadata"]["name"] for i in r.json()["items"]}
    t.check({"default", "kube-system", "kube-public"} <= names,
            "bootstrap namespaces", names)
    r = k.request("GET", "/api/v1/namespaces/default/services/kubernetes")
    t.check(r.status == 200, "kubernetes service", r)


def test_crud(k, t):
    r = k.request("POST", PODS, pod("p1", {"app": "a"}))
    t.check(r.status == 201, "create pod", r)
    o = r.json()
    m = o["metadata"]
    t.check(o.get("status", {}).get("phase") == "Pending", "new pod Pending")
    t.check(m.get("uid") and m.get("creationTimestamp") and
            m.get("resourceVersion") and m.get("generation") == 1,
            "server-set metadata", m)
    t.check(o["kind"] == "Pod" and o["apiVersion"] == "v1", "kind/apiVersion")
    rv1 = m["resourceVersion"]
    r = k.request("GET", PODS + "/p1")
    t.check(r.status == 200 and r.json()["metadata"]["resourceVersion"] == rv1,
            "get pod same rv", r)
    # Python-client style body: no kind/apiVersion, creationTimestamp null.
    body = {"metadata": {"name": "p2", "creationTimestamp": None,
                         "labels": {"app": "b"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}],
                     "schedulerName": "libkube-test-unscheduled"}}
    r = k.request("POST", PODS, body)
    t.check(r.status == 201 and r.json()["kind"] == "Pod", "create without kind", r)
    r = k.request("POST", PODS, pod("p1"))
    t.check(r.status == 409 and r.json()["reason"] == "AlreadyExists",
            "duplicate 409 AlreadyExists", r)
    t.check(r.status == 409 and r.json()["message"] == 'pods "p1" already exists',
            "duplicate message")
    # PUT with stale resourceVersion
    cur = k.request("GET", PODS + "/p1").json()
    cur["metadata"]["labels"]["x"] = "1"
    r = k.request("PUT", PODS + "/p1", cur)
    t.check(r.status == 200, "update", r)
    rv2 = r.json()["metadata"]["resourceVersion"]
    t.check(int(rv2) > int(rv1), "update bumps rv", (rv1, rv2))
    t.check(r.json()["metadata"]["generation"] == 1, "label change keeps generation")
    cur["metadata"]["labels"]["x"] = "2"
    r = k.request("PUT", PODS + "/p1", cur)  # cur still has rv1
    t.check(r.status == 409 and r.json()["reason"] == "Conflict",
            "stale rv 409 Conflict", r)
    # generation bump on spec change
    cur = k.request("GET", PODS + "/p1").json()
    cur["spec"]["activeDeadlineSeconds"] = 100
    r = k.request("PUT", PODS + "/p1", cur)
    t.check(r.status == 200 and r.json()["metadata"]["generation"] == 2,
            "spec change bumps generation", r)
    # status not changed by a main-resource PUT
    cur = r.json()
    cur["status"] = {"phase": "Running"}
    r = k.request("PUT", PODS + "/p1", cur)
    t.check(r.status == 200 and r.json().get("status", {}).get("phase") != "Running",
            "PUT ignores status", r)
    cur = k.request("GET", PODS + "/p1").json()
    cur["status"] = {"phase": "Running"}
    r = k.request("PUT", PODS + "/p1/status", cur)
    t.check(r.status == 200 and r.json()["status"]["phase"] == "Running",
            "PUT status", r)
    # delete
    r = k.request("DELETE", PODS + "/p2")
    t.check(r.status == 200, "delete p2", r)
    r = k.request("GET", PODS + "/p2")
    t.check(r.status == 404 and r.json()["reason"] == "NotFound" and
            r.json()["message"] == 'pods "p2" not found', "deleted is 404", r)
    r = k.request("DELETE", PODS + "/p2")
    t.check(r.status == 404, "delete missing 404", r)
    # cluster-scoped
    # Cordoned and tainted: a scheduler running in kubed leaves it alone,
    # so the pods these tests bind by hand are the only ones on it.
    r = k.request("POST", "/api/v1/nodes",
                  {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
                   "spec": {"unschedulable": True,
                            "taints": [{"key": "libkube.test/apiserver",
                                        "effect": "NoSchedule"}]}})
    t.check(r.status == 201 and "namespace" not in r.json()["metadata"],
            "create node", r)
    r = k.request("GET", "/api/v1/nodes/n1")
    t.check(r.status == 200, "get node", r)
    # apps group
    dep = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "d1"},
           "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "d1"}},
                    "template": {"metadata": {"labels": {"app": "d1"}},
                                 "spec": {"containers": [{"name": "c", "image": "nginx"}],
                                          "schedulerName": "libkube-test-unscheduled"}}}}
    r = k.request("POST", "/apis/apps/v1/namespaces/default/deployments", dep)
    t.check(r.status == 201, "create deployment", r)


def test_errors(k, t):
    r = k.request("POST", PODS, "{not json", ctype="application/json")
    t.check(r.status == 400 and r.json()["reason"] == "BadRequest",
            "malformed JSON 400", r)
    r = k.request("POST", PODS, "a: [b", ctype="application/yaml")
    t.check(r.status == 400 and r.json()["kind"] == "Status",
            "malformed YAML 400", r)
    r = k.request("POST", PODS, b"k8s\x00\xff\xff\xff",
                  ctype="application/vnd.kubernetes.protobuf")
    t.check(r.status in (400, 415) and r.json()["kind"] == "Status",
            "malformed protobuf 400", r)
    r = k.request("POST", PODS, "x", ctype="application/xml")
    t.check(r.status == 415 and r.json()["reason"] == "UnsupportedMediaType",
            "unsupported media type 415", r)
    r = k.request("GET", "/api/v1/namespaces/default/frobs")
    t.check(r.status == 404 and r.json()["reason"] == "NotFound",
            "unknown resource 404", r)
    big = json.dumps(pod("big", annotations=None)).replace(
        '"labels": {}', '"labels": {}, "annotations": {"a": "%s"}' % ("x" * (4 << 20)))
    r = k.request("POST", PODS, big)
    t.check(r.status == 413 and r.json()["reason"] == "RequestEntityTooLarge",
            "body over limit 413", r.status)
    bad = pod("Bad_Name")
    bad["spec"]["containers"][0].pop("image")
    r = k.request("POST", PODS, bad)
    if r.status == 201 and os.environ.get("KUBE_TEST_NO_VALIDATION"):
        print("SKIP: validation not linked in this build")
        k.request("DELETE", PODS + "/Bad_Name")
    else:
        t.check(r.status == 422 and r.json()["reason"] == "Invalid",
                "invalid object 422", r)
        causes = r.json().get("details", {}).get("causes", []) if r.status == 422 else []
        t.check(len(causes) >= 1 and all("field" in c for c in causes),
                "422 has field causes", causes)
    r = k.request("POST", "/api/v1/namespaces/nosuchns/pods", pod("p"))
    t.check(r.status == 404 and "nosuchns" in r.json()["message"],
            "create in missing namespace 404", r)
    r = k.request("POST", PODS, pod("p9", ns="other"))
    t.check(r.status == 400, "namespace mismatch 400", r)
    r = k.request("POST", PODS, {"apiVersion": "v1", "kind": "Service",
                                 "metadata": {"name": "x"}})
    t.check(r.status == 400, "kind mismatch 400", r)
    r = k.request("GET", PODS + "?labelSelector=a%20in%20(", )
    t.check(r.status == 400, "bad label selector 400", r)
    r = k.request("GET", PODS + "?fieldSelector=spec.nodeNmae%3Dx")
    t.check(r.status == 400 and "field label not supported" in r.json()["message"],
            "unknown field label 400", r)
    r = k.request("GET", PODS + "?fieldSelector=spec.nodeName%3D,status.phase!%3DFailed")
    t.check(r.status == 200, "declared field labels accepted", r)


def test_services(k, t):
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s1"},
           "spec": {"selector": {"app": "a"},
                    "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}}
    r = k.request("POST", "/api/v1/namespaces/default/services", svc)
    ip = r.json()["spec"].get("clusterIP", "") if r.status == 201 else ""
    t.check(r.status == 201 and ip.startswith("10.") and ip != "10.96.0.1",
            "clusterIP allocated", r)
    svc["metadata"]["name"] = "s2"
    svc["spec"]["type"] = "NodePort"
    r = k.request("POST", "/api/v1/namespaces/default/services", svc)
    np = r.json()["spec"]["ports"][0].get("nodePort", 0) if r.status == 201 else 0
    t.check(r.status == 201 and 30000 <= np <= 32767 and
            r.json()["spec"]["clusterIP"] != ip, "nodePort allocated", r)
    svc["metadata"]["name"] = "s3"
    svc["spec"]["clusterIP"] = ip
    r = k.request("POST", "/api/v1/namespaces/default/services", svc)
    t.check(r.status == 422, "clusterIP in use 422", r)
    cur = k.request("GET", "/api/v1/namespaces/default/services/s2").json()
    del cur["spec"]["clusterIP"]
    cur["metadata"]["labels"] = {"x": "y"}
    r = k.request("PUT", "/api/v1/namespaces/default/services/s2", cur)
    t.check(r.status == 200 and r.json()["spec"]["ports"][0].get("nodePort") == np,
            "update keeps allocations", r)


def test_protobuf(k, t):
    """Bodies kubectl 1.32 sends (captured in tests/unit/patch/vectors)."""
    vec = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "..", "..", "unit", "patch", "vectors")
    for fname, url, name in (
            ("configmap.pb", "/api/v1/namespaces/default/configmaps", "cfg"),
            ("deployment.pb", "/apis/apps/v1/namespaces/default/deployments", "web")):
        with open(os.path.join(vec, fname), "rb") as f:
            body = f.read()
        r = k.request("POST", url, body, ctype="application/vnd.kubernetes.protobuf")
        t.check(r.status == 201 and r.json()["metadata"]["name"] == name,
                "protobuf create " + fname, r)
    r = k.request("GET", "/apis/apps/v1/namespaces/default/deployments/web")
    t.check(r.status == 200 and r.json()["spec"]["replicas"] == 3 and
            r.json()["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25",
            "protobuf deployment decoded", r)
    k.request("DELETE", "/apis/apps/v1/namespaces/default/deployments/web")


def test_lists(k, t):
    for i in range(6):
        r = k.request("POST", PODS, pod("l%d" % i, {"tier": "web" if i % 2 else "db",
                                                     "idx": str(i)}))
        t.check(r.status == 201, "create l%d" % i, r)
    r = k.request("GET", PODS + "?labelSelector=tier%3Dweb")
    names = sorted(i["metadata"]["name"] for i in r.json()["items"])
    t.check(names == ["l1", "l3", "l5"], "label selector", names)
    t.check(r.json()["kind"] == "PodList" and r.json()["metadata"]["resourceVersion"],
            "PodList with rv")
    r = k.request("GET", PODS + "?fieldSelector=metadata.name%3Dl2")
    names = [i["metadata"]["name"] for i in r.json()["items"]]
    t.check(names == ["l2"], "field selector metadata.name", names)
    r = k.request("GET", "/api/v1/pods?labelSelector=tier%3Ddb,idx%21%3D0")
    names = sorted(i["metadata"]["name"] for i in r.json()["items"])
    t.check(names == ["l2", "l4"], "all-namespace list with selectors", names)
    r = k.request("GET", PODS + "?labelSelector=nomatch%3D1")
    t.check(r.json()["items"] == [], "empty list items is []", r)
    # paging
    got, cont, pages = [], None, 0
    while True:
        q = "?limit=2&labelSelector=idx" + ("&continue=" + cont if cont else "")
        r = k.request("GET", PODS + q)
        t.check(r.status == 200, "page", r)
        body = r.json()
        got += [i["metadata"]["name"] for i in body["items"]]
        pages += 1
        cont = body["metadata"].get("continue")
        if not cont or pages > 10:
            break
    t.check(sorted(got) == ["l%d" % i for i in range(6)] and pages == 3,
            "limit/continue pages", (got, pages))
    r = k.request("GET", PODS + "?resourceVersion=999999999&resourceVersionMatch=NotOlderThan")
    t.check(r.status == 504, "future resourceVersion", r)


def test_table(k, t):
    acc = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    r = k.request("GET", PODS, accept=acc)
    tbl = r.json()
    t.check(tbl["kind"] == "Table" and tbl["apiVersion"] == "meta.k8s.io/v1",
            "Table list", tbl.get("kind"))
    cols = [c["name"] for c in tbl["columnDefinitions"]]
    t.check(cols[:2] == ["Name", "Ready"] or cols[:2] == ["NAME", "READY"],
            "pod columns", cols)
    t.check(len(tbl["rows"]) > 0 and
            tbl["rows"][0]["object"]["kind"] == "PartialObjectMetadata",
            "rows carry PartialObjectMetadata")
    r = k.request("GET", PODS + "/l1", accept=acc)
    t.check(r.json()["kind"] == "Table" and len(r.json()["rows"]) == 1,
            "Table get", r)
    r = k.request("GET", "/apis/apps/v1/namespaces/default/deployments", accept=acc)
    t.check(r.json()["kind"] == "Table", "deployment Table")


def read_events(resp, n, timeout=5):
    out = []
    deadline = time.time() + timeout
    while len(out) < n and time.time() < deadline:
        line = resp.readline()
        if not line:
            break
        out.append(json.loads(line))
    return out


def test_watch(k, t):
    rv = k.request("GET", PODS).json()["metadata"]["resourceVersion"]
    c = k.conn(timeout=10)
    c.request("GET", PODS + "?watch=true&resourceVersion=%s&labelSelector=w%%3D1" % rv,
              headers={"Authorization": "Bearer " + k.token})
    resp = c.getresponse()
    t.check(resp.status == 200, "watch status 200", resp.status)
    # Unfiltered second watcher, and a Table watcher.
    c2 = k.conn(timeout=10)
    c2.request("GET", PODS + "?watch=1&resourceVersion=%s&labelSelector=w" % rv,
               headers={"Authorization": "Bearer " + k.token,
                        "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    resp2 = c2.getresponse()
    k.request("POST", PODS, pod("w1", {"w": "1"}))
    k.request("POST", PODS, pod("w2", {"w": "2"}))
    cur = k.request("GET", PODS + "/w1").json()
    cur["metadata"]["labels"]["extra"] = "y"
    k.request("PUT", PODS + "/w1", cur)
    cur = k.request("GET", PODS + "/w2").json()
    cur["metadata"]["labels"]["w"] = "1"   # enters the selection
    k.request("PUT", PODS + "/w2", cur)
    cur = k.request("GET", PODS + "/w1").json()
    cur["metadata"]["labels"]["w"] = "0"   # leaves the selection
    k.request("PUT", PODS + "/w1", cur)
    k.request("DELETE", PODS + "/w2")
    evs = read_events(resp, 5)
    got = [(e["type"], e["object"]["metadata"]["name"]) for e in evs]
    t.check(got == [("ADDED", "w1"), ("MODIFIED", "w1"), ("ADDED", "w2"),
                    ("DELETED", "w1"), ("DELETED", "w2")],
            "filtered watch events", got)
    t.check(all(e["object"]["metadata"].get("resourceVersion") for e in evs),
            "events carry resourceVersion")
    evs2 = read_events(resp2, 6)
    t.check(len(evs2) == 6 and all(e["object"]["kind"] == "Table" for e in evs2),
            "Table watch events", [e["type"] for e in evs2])
    c.close()
    c2.close()
    # timeoutSeconds ends the stream
    c3 = k.conn(timeout=10)
    start = time.time()
    c3.request("GET", PODS + "?watch=true&timeoutSeconds=1&resourceVersion=%s" % rv,
               headers={"Authorization": "Bearer " + k.token})
    r3 = c3.getresponse()
    data = r3.read()
    t.check(time.time() - start < 5 and data.count(b"\n") >= 6,
            "timeoutSeconds ends watch after replay", len(data))
    c3.close()
    # watch without resourceVersion sends the current state as ADDED
    c4 = k.conn(timeout=10)
    c4.request("GET", PODS + "?watch=true&timeoutSeconds=1&fieldSelector=metadata.name%3Dl1",
               headers={"Authorization": "Bearer " + k.token})
    evs = [json.loads(line) for line in c4.getresponse().read().splitlines()]
    t.check([(e["type"], e["object"]["metadata"]["name"]) for e in evs] == [("ADDED", "l1")],
            "initial ADDED events", evs)
    c4.close()


def test_watch_expired(k, t):
    # The memory/sqlite store keeps a long history; revision 1 may still be
    # there.  Ask for a compacted one explicitly when the store compacted.
    c = k.conn(timeout=10)
    c.request("GET", PODS + "?watch=true&resourceVersion=1&timeoutSeconds=1",
              headers={"Authorization": "Bearer " + k.token})
    r = c.getresponse()
    t.check(r.status == 200, "old-rv watch answered", r.status)
    r.read()
    c.close()


def test_dryrun_generatename(k, t):
    r = k.request("POST", PODS + "?dryRun=All", pod("dry"))
    t.check(r.status == 201, "dryRun create answers 201", r)
    r = k.request("GET", PODS + "/dry")
    t.check(r.status == 404, "dryRun wrote nothing", r)
    body = pod("")
    del body["metadata"]["name"]
    body["metadata"]["generateName"] = "gen-"
    r = k.request("POST", PODS, body)
    name = r.json()["metadata"]["name"] if r.status == 201 else ""
    t.check(r.status == 201 and name.startswith("gen-") and len(name) == 9,
            "generateName", name)
    r = k.request("DELETE", PODS + "/" + name + "?dryRun=All")
    t.check(r.status == 200 and k.request("GET", PODS + "/" + name).status == 200,
            "dryRun delete keeps the object")


def test_subresources(k, t):
    base = "/apis/apps/v1/namespaces/default/deployments/d1"
    r = k.request("GET", base + "/scale")
    t.check(r.status == 200 and r.json()["kind"] == "Scale" and
            r.json()["spec"]["replicas"] == 2 and
            r.json()["status"]["selector"] == "app=d1", "get scale", r)
    sc = r.json()
    sc["spec"]["replicas"] = 5
    r = k.request("PUT", base + "/scale", sc)
    t.check(r.status == 200 and r.json()["spec"]["replicas"] == 5, "put scale", r)
    t.check(k.request("GET", base).json()["spec"]["replicas"] == 5,
            "scale wrote the deployment")
    r = k.request("PATCH", base + "/scale", {"spec": {"replicas": 3}},
                  ctype="application/merge-patch+json")
    t.check(r.status in (200, 415) , "patch scale", r)
    if r.status == 200:
        t.check(k.request("GET", base).json()["spec"]["replicas"] == 3,
                "patch scale wrote the deployment")
    # binding
    k.request("POST", PODS + "?fieldManager=creator", pod("bindme"))
    # The Binding's own duplicate fields, as for any body.
    dup = ('{"apiVersion":"v1","kind":"Binding","metadata":{"name":"bindme"},'
           '"target":{"name":"n0"},"target":{"name":"n1"}}')
    r = k.request("POST", PODS + "/bindme/binding?fieldValidation=Strict", dup,
                  ctype="application/json")
    t.check(r.status == 400 and 'duplicate field \\"target\\"' in r.body,
            "strict binding with a duplicate field 400", r)
    gen0 = k.request("GET", PODS + "/bindme").json()["metadata"].get("generation")
    k.request("PATCH", PODS + "/bindme", {"metadata": {"annotations": {"kept": "yes"}}},
              ctype="application/merge-patch+json")
    r = k.request("POST", PODS + "/bindme/binding",
                  {"apiVersion": "v1", "kind": "Binding",
                   "metadata": {"name": "bindme",
                                "annotations": {"example.com/by": "binder"}},
                   "target": {"kind": "Node", "name": "n1"}},
                  headers={"User-Agent": "binder/1.0"})
    t.check(r.status == 201, "binding", r)
    p = k.request("GET", PODS + "/bindme").json()
    t.check(p["spec"].get("nodeName") == "n1", "binding set nodeName")
    t.check(any(c.get("type") == "PodScheduled" and c.get("status") == "True"
                for c in p.get("status", {}).get("conditions", [])),
            "binding set PodScheduled=True", p.get("status"))
    # As kube-apiserver's BindingREST, which edits the pod through its
    # storage: the binder gets no managedFields entry on the pod.
    t.check("binder" not in [e["manager"] for e in
                             p["metadata"].get("managedFields", [])],
            "binding added no managedFields entry",
            p["metadata"].get("managedFields"))
    t.check(p["metadata"].get("generation") == gen0,
            "binding leaves metadata.generation alone",
            (gen0, p["metadata"].get("generation")))
    t.check(p["metadata"].get("annotations", {}).get("example.com/by") == "binder"
            and p["metadata"]["annotations"].get("kept") == "yes",
            "binding copied its annotations onto the pod's",
            p["metadata"].get("annotations"))
    r = k.request("POST", PODS + "/bindme/binding",
                  {"metadata": {"name": "bindme"},
                   "target": {"kind": "Node", "name": "n2"}})
    t.check(r.status == 409 and r.json().get("message") ==
            'Operation cannot be fulfilled on pods/binding "bindme": pod bindme '
            'is already assigned to node "n1"', "second binding 409", r)
    # BindingREST.Create's own checks.
    k.request("POST", PODS, pod("bind2"))
    r = k.request("POST", PODS + "/bind2/binding",
                  {"target": {"kind": "Node", "name": "n1"}})
    t.check(r.status == 400 and r.json().get("message") ==
            "name in URL does not match name in Binding object",
            "binding without the pod's name 400", r)
    r = k.request("POST", PODS + "/bind2/binding",
                  {"metadata": {"name": "bind2"},
                   "target": {"kind": "Pod", "name": "n1"}})
    t.check(r.status == 422 and 'target.kind: Unsupported value: "Pod": '
            'supported values: "Node", "<empty>"' in r.json().get("message", ""),
            "binding to a target that is not a Node 422", r)
    r = k.request("POST", PODS + "/bind2/binding",
                  {"metadata": {"name": "bind2"}, "target": {"kind": "Node"}})
    t.check(r.status == 422 and "target.name: Required value" in
            r.json().get("message", ""), "binding without target.name 422", r)
    r = k.request("POST", PODS + "/bind2/binding",
                  {"metadata": {"name": "bind2", "uid": "not-the-uid"},
                   "target": {"name": "n1"}})
    t.check(r.status == 409 and "Precondition failed: UID in precondition: "
            "not-the-uid" in r.json().get("message", ""),
            "binding with another pod's uid 409", r)
    gated = pod("gated")
    gated["spec"]["schedulingGates"] = [{"name": "example.com/wait"}]
    k.request("POST", PODS, gated)
    r = k.request("POST", PODS + "/gated/binding",
                  {"metadata": {"name": "gated"}, "target": {"name": "n1"}})
    t.check(r.status == 409 and "pod gated has non-empty .spec.schedulingGates"
            in r.json().get("message", ""), "binding a gated pod 409", r)
    r = k.request("GET", PODS + "/bind2")
    t.check(not r.json()["spec"].get("nodeName"), "refused bindings bound nothing")
    # RBAC: a binding is `create` on pods/binding, and nothing else.
    rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/default/"
    k.request("POST", rbac + "roles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "binder"},
        "rules": [{"apiGroups": [""], "resources": ["pods/binding"],
                   "verbs": ["create"]}]})
    k.request("POST", rbac + "rolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "binder"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                    "name": "binder"},
        "subjects": [{"kind": "User", "name": "binder-user"}]})
    body = {"metadata": {"name": "bind2"}, "target": {"name": "n1"}}
    r = k.request("POST", PODS + "/bind2/binding", body,
                  headers={"Impersonate-User": "nobody-user"})
    t.check(r.status == 403 and 'cannot create resource "pods/binding" in API '
            'group "" in the namespace "default"' in r.json().get("message", ""),
            "binding without create on pods/binding 403", r)
    r = k.request("POST", PODS + "/bind2/binding", body,
                  headers={"Impersonate-User": "binder-user"})
    t.check(r.status == 201, "create on pods/binding is enough to bind", r)
    uid = p["metadata"]["uid"]
    for name, objname in (("e1", "bindme"), ("e2", "other")):
        k.request("POST", "/api/v1/namespaces/default/events",
                  {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
                   "involvedObject": {"kind": "Pod", "namespace": "default",
                                      "name": objname, "uid": uid},
                   "reason": "Tested", "message": "m", "type": "Normal"})
    ev = k.request("GET", "/api/v1/namespaces/default/events?fieldSelector="
                   "involvedObject.name%3Dbindme,involvedObject.namespace%3Ddefault,"
                   "involvedObject.uid%3D" + uid)
    names = [e["metadata"]["name"] for e in ev.json()["items"]]
    t.check(names == ["e1"], "events by involvedObject field selector", names)
    r = k.request("GET", PODS + "/bindme/log")
    t.check(r.status >= 400 and r.json()["kind"] == "Status", "log answers Status", r)
    # As kube-apiserver: no host, no location, an empty log; exec needs one.
    r = k.request("GET", PODS + "/l1/log")
    t.check(r.status == 200 and r.body == "", "log of unscheduled pod: empty", r)
    r = k.request("POST", PODS + "/l1/exec?command=true&stdout=true")
    t.check(r.status == 400 and "does not have a host assigned" in r.json()["message"],
            "exec into an unscheduled pod 400", r)


def test_patch(k, t):
    r = k.request("PATCH", PODS + "/l1", {"metadata": {"labels": {"m": "1"}}},
                  ctype="application/merge-patch+json")
    if r.status == 415:
        print("SKIP: patch engines not linked yet")
        return
    t.check(r.status == 200 and r.json()["metadata"]["labels"]["m"] == "1",
            "merge patch", r)
    r = k.request("PATCH", PODS + "/l1",
                  {"spec": {"containers": [{"name": "c", "image": "nginx:2"}]}},
                  ctype="application/strategic-merge-patch+json")
    t.check(r.status == 200 and r.json()["spec"]["containers"][0]["image"] == "nginx:2",
            "strategic merge patch", r)
    r = k.request("PATCH", PODS + "/l1",
                  [{"op": "replace", "path": "/metadata/labels/m", "value": "2"}],
                  ctype="application/json-patch+json")
    t.check(r.status == 200 and r.json()["metadata"]["labels"]["m"] == "2",
            "json patch", r)
    r = k.request("PATCH", PODS + "/l1", "{bad", ctype="application/merge-patch+json")
    t.check(r.status == 400, "malformed patch 400", r)
    r = k.request("PATCH", PODS + "/nope", {"metadata": {}},
                  ctype="application/merge-patch+json")
    t.check(r.status == 404, "patch missing 404", r)


def test_server_side_apply(k, t):
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"},
          "data": {"a": "1"}}
    url = "/api/v1/namespaces/default/configmaps/ssa?fieldManager=mgr1"
    r = k.request("PATCH", url, json.dumps(cm), ctype="application/apply-patch+yaml")
    t.check(r.status == 201, "apply creates", r)
    mf = r.json()["metadata"].get("managedFields", []) if r.status == 201 else []
    t.check(any(m.get("manager") == "mgr1" and m.get("operation") == "Apply"
                for m in mf), "managedFields recorded", mf)
    cm2 = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"},
           "data": {"a": "2"}}
    r = k.request("PATCH", "/api/v1/namespaces/default/configmaps/ssa?fieldManager=mgr2",
                  json.dumps(cm2), ctype="application/apply-patch+yaml")
    t.check(r.status == 409 and r.json()["reason"] == "Conflict", "apply conflict 409", r)
    r = k.request("PATCH", "/api/v1/namespaces/default/configmaps/ssa?fieldManager=mgr2&force=true",
                  json.dumps(cm2), ctype="application/apply-patch+yaml")
    t.check(r.status == 200 and r.json()["data"]["a"] == "2", "apply force", r)
    r = k.request("PATCH", "/api/v1/namespaces/default/configmaps/ssa",
                  "data: {b: '3'}\n", ctype="application/apply-patch+yaml")
    t.check(r.status == 400, "apply without fieldManager 400", r)
    r = k.request("PATCH", "/api/v1/namespaces/default/configmaps/ssa",
                  {"data": {"c": "4"}}, ctype="application/merge-patch+json",
                  headers={"User-Agent": "kubectl/v1.32.0 (linux/amd64)"})
    mf = r.json()["metadata"].get("managedFields", [])
    t.check(any(m.get("manager") == "kubectl" and m.get("operation") == "Update"
                for m in mf), "manager from User-Agent", mf)


def test_graceful_delete(k, t):
    """The deletion handshake of a pod bound to a node: DELETE marks it
    (deletionTimestamp, deletionGracePeriodSeconds) and keeps it, however
    long; the node's agent ends it with gracePeriodSeconds 0 and the pod's
    uid as precondition.  Unbound pods go at once, as does a forced delete."""
    k.request("POST", PODS, pod("grace", node="n1", terminationGracePeriodSeconds=1))
    r = k.request("DELETE", PODS + "/grace")
    m = r.json().get("metadata", {}) if r.status == 200 else {}
    t.check(r.status == 200 and m.get("deletionTimestamp")
            and m.get("deletionGracePeriodSeconds") == 1,
            "graceful delete sets deletionTimestamp and the grace period", r)
    cur = k.request("GET", PODS + "/grace").json()
    cur["status"] = {"phase": "Running"}
    r = k.request("PUT", PODS + "/grace/status", cur)
    t.check(r.status == 200, "status update during grace", r)
    # Past the grace period, writes and repeated DELETEs keep it: only the
    # node's agent (or a forced delete) removes it.
    time.sleep(1.5)
    cur = k.request("GET", PODS + "/grace").json()
    cur["status"] = {"phase": "Running", "message": "still stopping"}
    r = k.request("PUT", PODS + "/grace/status", cur)
    t.check(r.status == 200 and k.request("GET", PODS + "/grace").status == 200,
            "a status write past the grace period keeps the pod", r)
    r = k.request("DELETE", PODS + "/grace")
    t.check(r.status == 200 and r.json()["metadata"]["deletionTimestamp"] ==
            m.get("deletionTimestamp") and
            k.request("GET", PODS + "/grace").status == 200,
            "a second DELETE leaves the pending deletion as it is", r)
    r = k.request("DELETE", PODS + "/grace", {
        "kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
        "preconditions": {"uid": "not-the-uid"}})
    t.check(r.status == 409 and "Precondition failed: UID in precondition"
            in r.json().get("message", ""),
            "grace-0 delete with a wrong uid precondition: Conflict", r)
    r = k.request("DELETE", PODS + "/grace", {
        "kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
        "preconditions": {"uid": cur["metadata"]["uid"]}})
    t.check(r.status == 200 and k.request("GET", PODS + "/grace").status == 404,
            "the node's grace-0 delete with the pod's uid removes it", r)
    # A shorter grace period moves deletionTimestamp back.
    k.request("POST", PODS, pod("short", node="n1", terminationGracePeriodSeconds=600))
    r1 = k.request("DELETE", PODS + "/short")
    r2 = k.request("DELETE", PODS + "/short?gracePeriodSeconds=5")
    t.check(r2.status == 200 and
            r2.json()["metadata"].get("deletionGracePeriodSeconds") == 5 and
            r2.json()["metadata"]["deletionTimestamp"] <
            r1.json()["metadata"]["deletionTimestamp"],
            "a shorter grace period shortens the pending deletion", r2)
    r = k.request("DELETE", PODS + "/short?gracePeriodSeconds=0")
    t.check(r.status == 200 and k.request("GET", PODS + "/short").status == 404,
            "force delete (grace 0) of a terminating pod removes it", r)
    # Never scheduled: nothing to stop, removed at once.
    k.request("POST", PODS, pod("unbound", terminationGracePeriodSeconds=30))
    r = k.request("DELETE", PODS + "/unbound")
    t.check(r.status == 200 and k.request("GET", PODS + "/unbound").status == 404,
            "an unbound pod is deleted at once", r)
    # Finished: nothing to stop either.
    k.request("POST", PODS, pod("done", node="n1"))
    cur = k.request("GET", PODS + "/done").json()
    cur["status"] = {"phase": "Succeeded"}
    k.request("PUT", PODS + "/done/status", cur)
    r = k.request("DELETE", PODS + "/done")
    t.check(r.status == 200 and k.request("GET", PODS + "/done").status == 404,
            "a finished pod is deleted at once", r)
    # A bound pod with finalizers and the agent's grace-0 delete: it waits
    # for the finalizer, then goes with its last one.
    p = pod("finbound", node="n1")
    p["metadata"]["finalizers"] = ["example.com/y"]
    k.request("POST", PODS, p)
    k.request("DELETE", PODS + "/finbound")
    r = k.request("DELETE", PODS + "/finbound?gracePeriodSeconds=0")
    t.check(r.status == 200 and r.json()["metadata"].get(
        "deletionGracePeriodSeconds") == 0 and
        k.request("GET", PODS + "/finbound").status == 200,
        "grace-0 delete keeps a pod with finalizers", r)
    r = k.request("PATCH", PODS + "/finbound", {"metadata": {"finalizers": None}},
                  ctype="application/merge-patch+json")
    t.check(r.status == 200 and k.request("GET", PODS + "/finbound").status == 404,
            "the last finalizer removed: the pod goes", r)
    # finalizers
    p = pod("fin")
    p["metadata"]["finalizers"] = ["example.com/x"]
    k.request("POST", PODS, p)
    r = k.request("DELETE", PODS + "/fin")
    t.check(r.status == 200 and k.request("GET", PODS + "/fin").status == 200,
            "finalizer keeps the object")
    cur = k.request("GET", PODS + "/fin").json()
    t.check(cur["metadata"].get("deletionTimestamp"), "finalized object marked")
    # The pod gc controller marks an unscheduled terminating pod Failed
    # (DeletionByPodGC) meanwhile, as kube-controller-manager's does: a
    # client's stale update gets 409 and reads again.
    for _ in range(5):
        cur["metadata"]["finalizers"] = []
        r = k.request("PUT", PODS + "/fin", cur)
        if r.status != 409:
            break
        cur = k.request("GET", PODS + "/fin").json()
    t.check(r.status == 200, "remove finalizer", r)
    t.check(k.request("GET", PODS + "/fin").status == 404,
            "removing the last finalizer deletes")
    # propagationPolicy recorded
    d = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs1"},
         "spec": {"selector": {"matchLabels": {"a": "b"}},
                  "template": {"metadata": {"labels": {"a": "b"}},
                               "spec": {"containers": [{"name": "c", "image": "x"}],
                                        "schedulerName": "libkube-test-unscheduled"}}}}
    k.request("POST", "/apis/apps/v1/namespaces/default/replicasets", d)
    r = k.request("DELETE", "/apis/apps/v1/namespaces/default/replicasets/rs1",
                  {"kind": "DeleteOptions", "apiVersion": "v1",
                   "propagationPolicy": "Foreground"})
    t.check(r.status == 200 and "foregroundDeletion" in
            r.json()["metadata"].get("finalizers", []), "Foreground recorded", r)


def test_delete_replies(k, t):
    """What a DELETE answers, as kube-apiserver's generic registry: a Status
    naming what went when the object is removed at once (dryRun too), the
    object when it stays (grace period, finalizers) or when its registry
    returns deleted objects (pods, services, service accounts, ...)."""
    cm = "/api/v1/namespaces/default/configmaps"
    k.request("POST", cm, {"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "gone-cm"}, "data": {"a": "b"}})
    uid = k.request("GET", cm + "/gone-cm").json()["metadata"]["uid"]
    r = k.request("DELETE", cm + "/gone-cm?dryRun=All")
    t.check(r.status == 200 and r.json() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
        "details": {"name": "gone-cm", "kind": "configmaps", "uid": uid}} and
        k.request("GET", cm + "/gone-cm").status == 200,
        "dryRun delete of a ConfigMap answers the Status, keeps it", r)
    r = k.request("DELETE", cm + "/gone-cm")
    t.check(r.status == 200 and r.json() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
        "details": {"name": "gone-cm", "kind": "configmaps", "uid": uid}},
        "delete of a ConfigMap answers a Status", r)
    dep = "/apis/apps/v1/namespaces/default/deployments"
    k.request("POST", dep, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "gone-d"},
        "spec": {"selector": {"matchLabels": {"a": "gone"}},
                 "template": {"metadata": {"labels": {"a": "gone"}},
                              "spec": {"containers": [{"name": "c", "image": "x"}],
                                       "schedulerName": "libkube-test-unscheduled"}}}})
    r = k.request("DELETE", dep + "/gone-d")
    t.check(r.status == 200 and r.json().get("kind") == "Status" and
            r.json().get("details", {}).get("group") == "apps" and
            r.json()["details"].get("kind") == "deployments",
            "a Deployment's Status names its group", r)
    # Finalizers keep it: the marked object.
    k.request("POST", cm, {"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "kept-cm",
                                        "finalizers": ["example.com/keep"]}})
    r = k.request("DELETE", cm + "/kept-cm")
    t.check(r.status == 200 and r.json().get("kind") == "ConfigMap" and
            r.json()["metadata"].get("deletionTimestamp"),
            "a ConfigMap kept by a finalizer answers itself", r)
    # orphanDependents: false and not gone: 202 Accepted.
    r = k.request("DELETE", cm + "/kept-cm", {
        "kind": "DeleteOptions", "apiVersion": "v1", "orphanDependents": False})
    t.check(r.status == 202 and r.json().get("kind") == "ConfigMap",
            "orphanDependents false on an object that stays: 202", r)
    k.request("PATCH", cm + "/kept-cm", {"metadata": {"finalizers": None}},
              ctype="application/merge-patch+json")
    # A pod with a grace period: the pod, marked.
    k.request("POST", PODS, pod("gone-pod", node="n1",
                                terminationGracePeriodSeconds=30))
    r = k.request("DELETE", PODS + "/gone-pod")
    t.check(r.status == 200 and r.json().get("kind") == "Pod" and
            r.json()["metadata"].get("deletionGracePeriodSeconds") == 30,
            "a pod in its grace period answers itself", r)
    k.request("DELETE", PODS + "/gone-pod?gracePeriodSeconds=0")
    # ReturnDeletedObject registries: the object even when removed at once.
    k.request("POST", PODS, pod("gone-now"))
    r = k.request("DELETE", PODS + "/gone-now")
    t.check(r.status == 200 and r.json().get("kind") == "Pod" and
            k.request("GET", PODS + "/gone-now").status == 404,
            "an unbound pod removed at once answers itself", r)
    sa = "/api/v1/namespaces/default/serviceaccounts"
    k.request("POST", sa, {"apiVersion": "v1", "kind": "ServiceAccount",
                           "metadata": {"name": "gone-sa"}})
    r = k.request("DELETE", sa + "/gone-sa")
    t.check(r.status == 200 and r.json().get("kind") == "ServiceAccount",
            "a ServiceAccount answers itself", r)
    # deletecollection answers the list of what it deleted.
    for i in range(2):
        k.request("POST", cm, {"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": "dc%d" % i,
                                            "labels": {"dc": "x"}}})
    r = k.request("DELETE", cm + "?labelSelector=dc%3Dx")
    t.check(r.status == 200 and r.json().get("kind") == "ConfigMapList" and
            sorted(i["metadata"]["name"] for i in r.json()["items"]) ==
            ["dc0", "dc1"], "deletecollection answers the deleted list", r)


def test_namespace_delete(k, t):
    r = k.request("POST", "/api/v1/namespaces",
                  {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gone"}})
    t.check(r.status == 201, "create namespace", r)
    for i in range(3):
        k.request("POST", "/api/v1/namespaces/gone/pods", pod("x%d" % i))
    k.request("POST", "/api/v1/namespaces/gone/configmaps",
              {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"},
               "data": {"a": "b"}})
    r = k.request("DELETE", "/api/v1/namespaces/gone")
    t.check(r.status == 200 and r.json()["status"]["phase"] == "Terminating",
            "namespace Terminating", r)
    r = k.request("POST", "/api/v1/namespaces/gone/pods", pod("late"))
    t.check(r.status in (403, 404), "no new content in terminating namespace", r)
    deadline = time.time() + 5
    while time.time() < deadline and \
            k.request("GET", "/api/v1/namespaces/gone").status == 200:
        time.sleep(0.1)
    t.check(k.request("GET", "/api/v1/namespaces/gone").status == 404,
            "namespace removed")
    t.check(k.request("GET", "/api/v1/namespaces/gone/pods").json()["items"] == [],
            "its pods removed")


def test_deletecollection(k, t):
    r = k.request("DELETE", PODS + "?labelSelector=tier%3Ddb")
    t.check(r.status == 200, "deletecollection", r)
    left = [i["metadata"]["name"] for i in
            k.request("GET", PODS + "?labelSelector=tier").json()["items"]]
    t.check(sorted(left) == ["l1", "l3", "l5"], "deletecollection by selector", left)


def test_racing_patches(k, t):
    """Merge patches racing each other on one object all apply: a lost
    compare-and-swap is retried on the new state (GuaranteedUpdate), and a
    stale resourceVersion in a patch is still a 409."""
    cm = "/api/v1/namespaces/default/configmaps"
    k.request("POST", cm, {"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "race"}, "data": {}})
    results = []

    def writer(i):
        for j in range(10):
            r = k.request("PATCH", cm + "/race",
                          {"data": {"w%d-%d" % (i, j): "x"}},
                          ctype="application/merge-patch+json")
            results.append(r.status)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t.check(results.count(200) == 80, "80 racing patches answered 200",
            sorted(set(results)))
    data = k.request("GET", cm + "/race").json().get("data", {})
    t.check(len(data) == 80, "every racing patch applied", len(data))
    r = k.request("PATCH", cm + "/race",
                  {"metadata": {"resourceVersion": "1"}, "data": {"z": "1"}},
                  ctype="application/merge-patch+json")
    t.check(r.status == 409, "a stale resourceVersion in a patch is 409", r)


def test_racing_deletes(k, t):
    """A DELETE that keeps the object (a finalizer) racing patches of it is
    retried on the new state as an update is, never a 409 (a controller's
    status write racing `kubectl delete`); its preconditions still are."""
    cm = "/api/v1/namespaces/default/configmaps"
    k.request("POST", cm, {"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "race-del",
                                        "finalizers": ["example.com/keep"]},
                           "data": {}})
    results = []

    def patcher(i):
        for j in range(10):
            k.request("PATCH", cm + "/race-del", {"data": {"p%d-%d" % (i, j): "x"}},
                      ctype="application/merge-patch+json")

    def deleter(i):
        for j in range(5):
            r = k.request("DELETE", cm + "/race-del",
                          {"kind": "DeleteOptions", "apiVersion": "v1",
                           "propagationPolicy": "Foreground"})
            results.append(r.status)

    threads = [threading.Thread(target=patcher, args=(i,)) for i in range(4)]
    threads += [threading.Thread(target=deleter, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t.check(results.count(200) == 20, "20 racing deletes answered 200",
            sorted(set(results)))
    cur = k.request("GET", cm + "/race-del").json()
    # The garbage collector (when kubed runs it) may already have ended
    # the foreground deletion of an object that has no dependents.
    fins = cur["metadata"].get("finalizers", [])
    t.check("example.com/keep" in fins and
            set(fins) <= {"example.com/keep", "foregroundDeletion"} and
            len(cur.get("data", {})) == 40 and
            cur["metadata"].get("deletionTimestamp"),
            "every racing delete and patch applied", cur["metadata"])
    r = k.request("DELETE", cm + "/race-del",
                  {"kind": "DeleteOptions", "apiVersion": "v1",
                   "preconditions": {"resourceVersion": "1"}})
    t.check(r.status == 409, "a stale resourceVersion precondition is 409", r)
    r = k.request("PATCH", cm + "/race-del", {"metadata": {"finalizers": None}},
                  ctype="application/merge-patch+json")
    t.check(r.status == 200 and
            k.request("GET", cm + "/race-del").status == 404,
            "gone with its finalizers", r)


def test_concurrent_watchers(k, t):
    """Many watchers: each gets the one write."""
    rv = k.request("GET", PODS).json()["metadata"]["resourceVersion"]
    conns = []
    for _ in range(50):
        c = k.conn(timeout=10)
        c.request("GET", PODS + "?watch=1&fieldSelector=metadata.name%3Dfanout"
                  "&resourceVersion=" + rv,
                  headers={"Authorization": "Bearer " + k.token})
        conns.append((c, c.getresponse()))
    k.request("POST", PODS, pod("fanout"))
    ok = 0
    for c, resp in conns:
        ev = json.loads(resp.readline())
        ok += ev["type"] == "ADDED" and ev["object"]["metadata"]["name"] == "fanout"
        c.close()
    t.check(ok == 50, "50 watchers got the event", ok)


def main():
    kubed = sys.argv[1]
    store = sys.argv[2] if len(sys.argv) > 2 else "memory"
    k = Kubed(kubed, store=store)
    if store == "etcd" and not Etcd.available():
        print("SKIP: %s is not installed" % Etcd.BINARY)
        return 77
    t = Failures()
    try:
        k.start()
        for fn in (test_discovery, test_auth, test_crud, test_errors, test_services, test_protobuf,
                   test_lists, test_racing_patches, test_racing_deletes,
                   test_table, test_watch, test_watch_expired,
                   test_dryrun_generatename, test_subresources, test_patch,
                   test_server_side_apply,
                   test_graceful_delete, test_delete_replies,
                   test_namespace_delete,
                   test_deletecollection, test_concurrent_watchers):
            try:
                fn(k, t)
            except Exception as e:  # a crash of one group is a failure
                import traceback
                traceback.print_exc()
                t.check(False, fn.__name__, "raised %r" % e)
        r = k.request("GET", "/healthz")
        t.check(r.status == 200, "server alive at the end")
        rc = k.stop()
        t.check(rc == 0, "SIGTERM exits 0", rc)
    finally:
        if t.failed:
            print(k.read_log()[-4000:])
        k.cleanup()
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
