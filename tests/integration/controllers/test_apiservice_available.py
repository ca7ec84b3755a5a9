#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""APIServices' Available condition and the aggregated groups in
discovery: kubed checks each APIService as kube-aggregator's availability
controller does (Local; ServiceNotFound; ServicePortError;
EndpointsNotFound; MissingEndpoints; a GET of /apis/<group>/<version> at
the backend, FailedDiscoveryCheck or Passed), registers Local ones for
its built-in group-versions at start and for the served versions of
CustomResourceDefinitions (made and deleted with them, as kube-apiserver's
crdregistration controller), and lists the groups the
backends serve, with their resources, in /apis (APIGroupList and the
aggregated apidiscovery.k8s.io/v2 document).  The backend is the tiny
HTTPS metrics adapter (metrics_adapter.py) on loopback behind a Service
whose Endpoints point at it.  kubectl 1.32: `get apiservices` (its
AVAILABLE column) and `api-resources` (the aggregated groups).  Exits 77
without openssl (the adapter's certificate).

usage: test_apiservice_available.py KUBED KUBE [memory|sqlite]"""
import os
import shutil
import sys
import tempfile

from ctl_harness import (KUBECTL, Api, Cli, Failures, Kubed,  # noqa: E402
                         kubed_args, wait, wind_down)
from metrics_adapter import Adapter  # noqa: E402
from test_hpa_custom import apiservice  # noqa: E402

NS = "/api/v1/namespaces/default"
APISVC = "/apis/apiregistration.k8s.io/v1/apiservices"
V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def available(a, name):
    """The Available condition of APIService name: (status, reason,
    message), or None."""
    o = a.get(APISVC + "/" + name) or {}
    for c in o.get("status", {}).get("conditions", []):
        if c.get("type") == "Available":
            return c.get("status"), c.get("reason"), c.get("message")
    return None


def backend(name, svc):
    """An APIService of group <name>.example.com for Service default/svc."""
    o = apiservice(name + ".example.com", "v1")
    o["spec"]["service"]["name"] = svc
    return o


CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
AUTO = "kube-aggregator.kubernetes.io/automanaged"


def crd(group, versions):
    """A CRD `gadgets.<group>` with versions {name: served}."""
    schema = {"openAPIV3Schema": {"type": "object",
                                  "x-kubernetes-preserve-unknown-fields":
                                  True}}
    return {"apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "gadgets." + group},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"plural": "gadgets", "singular": "gadget",
                               "kind": "Gadget"},
                     "versions": [{"name": v, "served": served,
                                   "storage": i == 0, "schema": schema}
                                  for i, (v, served) in
                                  enumerate(versions.items())]}}


def check_crd_apiservices(t, a, k, kc):
    """Local APIServices for a CRD's served versions: made with it
    (automanaged "true", groupPriorityMinimum 1000, versionPriority 100,
    Available True Local), the version's gone when it stops being served,
    all gone with the CRD; one made by hand under such a name stays."""
    g = "conform.example.com"
    a.create(CRDS, crd(g, {"v1": True, "v1beta1": True, "v1alpha1": False}))
    local = ("True", "Local", "Local APIServices are always available")
    c = wait(lambda: available(a, "v1." + g) == local and
             available(a, "v1beta1." + g) == local, 15)
    v1 = a.get(APISVC + "/v1." + g) or {}
    t.check(c and v1.get("metadata", {}).get("labels", {}).get(AUTO) ==
            "true" and v1.get("spec") ==
            {"group": g, "version": "v1", "groupPriorityMinimum": 1000,
             "versionPriority": 100} and
            a.get(APISVC + "/v1alpha1." + g) is None,
            "a CRD's served versions get Local APIServices (v1, v1beta1; "
            "not the unserved v1alpha1)", (v1, available(a, "v1beta1." + g)))
    if kc:
        rc, out, err = kc.run("get", "apiservices")
        rows = {ln.split()[0]: ln.split()[1:-1]
                for ln in out.splitlines()[1:] if ln.strip()}
        t.check(rc == 0 and rows.get("v1." + g) == ["Local", "True"] and
                rows.get("v1beta1." + g) == ["Local", "True"],
                "kubectl get apiservices lists the CRD's group-versions",
                (out, err))
    r = a.patch(CRDS + "/gadgets." + g,
                [{"op": "replace", "path": "/spec/versions/1/served",
                  "value": False}], ctype="application/json-patch+json")
    gone = wait(lambda: a.get(APISVC + "/v1beta1." + g) is None, 15)
    t.check(r.status == 200 and gone and a.get(APISVC + "/v1." + g),
            "a version no longer served loses its APIService", r)
    a.create(APISVC, {"apiVersion": "apiregistration.k8s.io/v1",
                      "kind": "APIService",
                      "metadata": {"name": "v2." + g},
                      "spec": {"group": g, "version": "v2",
                               "groupPriorityMinimum": 1000,
                               "versionPriority": 50}})
    r = k.request("DELETE", CRDS + "/gadgets." + g)
    gone = wait(lambda: a.get(APISVC + "/v1." + g) is None, 15)
    t.check(r.status in (200, 202) and gone and
            a.get(APISVC + "/v2." + g) is not None,
            "the CRD's APIServices go with it; one made by hand stays",
            (r, a.get(APISVC + "/v2." + g)))
    k.request("DELETE", APISVC + "/v2." + g)


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    if not Adapter.available():
        print("SKIP: /usr/bin/openssl missing (the adapter's certificate)")
        return 77
    kubed, store = sys.argv[1], (sys.argv[3] if len(sys.argv) > 3
                                 else "memory")
    t = Failures()
    k = Kubed(kubed, store=store, extra=kubed_args(kubed))
    tmp = tempfile.mkdtemp(prefix="apiservice-")
    clis = []
    adapter = None
    try:
        k.start()
        a = Api(k)
        adapter = Adapter(tmp, lambda ns, sel: []).start()
        adapter.expose(a)
        a.create(APISVC, apiservice("custom.metrics.k8s.io", "v1beta2",
                                    adapter.cert_pem))
        a.create(APISVC, apiservice("external.metrics.k8s.io", "v1beta1"))

        # passed: the backend answered its discovery document
        for name in ("v1beta2.custom.metrics.k8s.io",
                     "v1beta1.external.metrics.k8s.io"):
            c = wait(lambda: (available(a, name) or ("",))[0] == "True" and
                     available(a, name), 30)
            t.check(c == ("True", "Passed", "all checks passed"),
                    name + ": Available True, Passed", available(a, name))
        t.check(any(p == "/apis/custom.metrics.k8s.io/v1beta2" and
                    u == "system:kube-aggregator"
                    for p, q, u in adapter.requests),
                "the discovery check asks /apis/<group>/<version> as "
                "system:kube-aggregator", adapter.requests[:3])

        # each way of being unavailable, with kube-aggregator's reason
        other, _ = Adapter.certificate(tmp, "other",
                                       "metrics-adapter.default.svc")
        with open(other) as f:
            a.create(APISVC, apiservice("wrong.example.com", "v1", f.read()))
        a.create(APISVC, backend("missing", "nosuch"))
        a.create(NS + "/services", {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "otherport"},
            "spec": {"ports": [{"name": "web", "port": 8443}]}})
        a.create(APISVC, backend("port", "otherport"))
        a.create(NS + "/services", {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "noendpoints"},
            "spec": {"ports": [{"name": "https", "port": 443}]}})
        a.create(APISVC, backend("noep", "noendpoints"))
        a.create(NS + "/services", {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "noaddr"},
            "spec": {"ports": [{"name": "https", "port": 443}]}})
        a.create(NS + "/endpoints", {
            "apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": "noaddr"},
            "subsets": [{"notReadyAddresses": [{"ip": "127.0.0.1"}],
                         "ports": [{"name": "https", "port": adapter.port}]}]})
        a.create(APISVC, backend("noaddr", "noaddr"))
        local = {"apiVersion": "apiregistration.k8s.io/v1",
                 "kind": "APIService", "metadata": {"name": "v1.local.io"},
                 "spec": {"group": "local.io", "version": "v1",
                          "groupPriorityMinimum": 100,
                          "versionPriority": 100}}
        a.create(APISVC, local)
        want = {
            "v1.missing.example.com": (
                "False", "ServiceNotFound",
                'service/nosuch in "default" is not present'),
            "v1.port.example.com": (
                "False", "ServicePortError",
                'service/otherport in "default" is not listening on port '
                '443'),
            "v1.noep.example.com": (
                "False", "EndpointsNotFound",
                'cannot find endpoints for service/noendpoints in '
                '"default"'),
            "v1.noaddr.example.com": (
                "False", "MissingEndpoints",
                'endpoints for service/noaddr in "default" have no '
                'addresses with port name "https"'),
            "v1.local.io": ("True", "Local",
                            "Local APIServices are always available"),
        }
        for name, c in sorted(want.items()):
            got = wait(lambda: available(a, name) == c, 30)
            t.check(got, "%s: Available %s, %s" % (name, c[0], c[1]),
                    available(a, name))
        # the built-in group-versions: Local APIServices made at start
        c = wait(lambda: available(a, "v1.apps") == want["v1.local.io"] and
                 available(a, "v1."), 30)
        apps = a.get(APISVC + "/v1.apps") or {}
        t.check(c == want["v1.local.io"] and
                apps.get("metadata", {}).get("labels") ==
                {"kube-aggregator.kubernetes.io/automanaged": "onstart"} and
                apps["spec"].get("groupPriorityMinimum") == 17800 and
                "service" not in apps["spec"],
                "built-in group-versions have Local APIServices (v1., "
                "v1.apps)", apps)
        c = wait(lambda: (available(a, "v1.wrong.example.com") or
                          ("", ""))[1] == "FailedDiscoveryCheck" and
                 available(a, "v1.wrong.example.com"), 30)
        t.check(c and c[0] == "False" and c[2].startswith(
            "failing or missing response from https://127.0.0.1:%d/apis/"
            "wrong.example.com/v1: " % adapter.port),
            "a backend the caBundle does not verify: FailedDiscoveryCheck",
            c)

        # repaired: the Endpoints get an address, the condition follows
        r = a.patch(NS + "/endpoints/noaddr", {"subsets": [{
            "addresses": [{"ip": "127.0.0.1"}],
            "ports": [{"name": "https", "port": adapter.port}]}]})
        t.check(r.status == 200, "Endpoints noaddr patched", r)
        c = wait(lambda: (available(a, "v1.noaddr.example.com") or
                          ("",))[0] == "False" and
                 available(a, "v1.noaddr.example.com")[1] ==
                 "FailedDiscoveryCheck" and
                 available(a, "v1.noaddr.example.com"), 30)
        t.check(c and "bad status from" in c[2] and c[2].endswith(": 404"),
                "addresses now: the discovery check runs (the adapter "
                "does not serve noaddr.example.com: 404)", c)

        # discovery: the APIGroupList and the aggregated document
        lst = a.get("/apis") or {}
        names = [g["name"] for g in lst.get("groups", [])]
        t.check("custom.metrics.k8s.io" in names and
                "external.metrics.k8s.io" in names,
                "/apis lists the aggregated groups", names)
        r = k.request("GET", "/apis", accept=V2)
        doc = r.json() if r.status == 200 else {}
        items = {g["metadata"]["name"]: g for g in doc.get("items", [])}
        cm = items.get("custom.metrics.k8s.io", {}).get("versions", [{}])[0]
        pods = [x for x in cm.get("resources", [])
                if x.get("resource") == "pods"]
        t.check(r.headers.get("Content-Type", "").startswith(
            "application/json;g=apidiscovery.k8s.io;v=v2") and
            cm.get("version") == "v1beta2" and
            cm.get("freshness") == "Current" and pods and
            pods[0].get("subresources", [{}])[0].get("subresource") ==
            "packets-per-second", "v2 discovery: custom.metrics.k8s.io "
            "v1beta2, Current, pods/packets-per-second", cm)
        em = items.get("external.metrics.k8s.io", {}).get("versions",
                                                           [{}])[0]
        t.check([x.get("resource") for x in em.get("resources", [])] ==
                ["queue_messages_ready"] and
                em["resources"][0]["responseKind"] ==
                {"group": "external.metrics.k8s.io", "version": "v1beta1",
                 "kind": "ExternalMetricValueList"} and
                em["resources"][0]["scope"] == "Namespaced",
                "v2 discovery: external.metrics.k8s.io's resource", em)
        wr = items.get("wrong.example.com", {}).get("versions", [{}])[0]
        t.check(wr.get("freshness") == "Stale",
                "v2 discovery: a failing APIService's version is Stale", wr)

        if os.access(KUBECTL, os.X_OK):
            kc = Cli(KUBECTL, k, "kubectl")
            clis.append(kc)
            rc, out, err = kc.run("get", "apiservices")
            rows = {ln.split()[0]: ln.split()[1:-1]
                    for ln in out.splitlines()[1:] if ln.strip()}
            t.check(rc == 0 and out.split("\n")[0].split()[:3] ==
                    ["NAME", "SERVICE", "AVAILABLE"] and
                    rows.get("v1beta2.custom.metrics.k8s.io") ==
                    ["default/metrics-adapter", "True"] and
                    rows.get("v1.missing.example.com") ==
                    ["default/nosuch", "False", "(ServiceNotFound)"] and
                    rows.get("v1.local.io") == ["Local", "True"] and
                    rows.get("v1.") == ["Local", "True"] and
                    rows.get("v2.autoscaling") == ["Local", "True"],
                    "kubectl get apiservices: the AVAILABLE column",
                    (out, err))
            # the unavailable ones would make discovery partial (kubectl
            # reports stale group-versions as errors, as against
            # kube-apiserver): remove them first
            for name in ("v1.wrong.example.com", "v1.missing.example.com",
                         "v1.port.example.com", "v1.noep.example.com",
                         "v1.noaddr.example.com", "v1.local.io"):
                k.request("DELETE", APISVC + "/" + name)
            rc, out, err = kc.run("api-resources")
            t.check(rc == 0 and any(
                ln.split()[:2] == ["queue_messages_ready",
                                   "external.metrics.k8s.io/v1beta1"]
                for ln in out.splitlines()),
                "kubectl api-resources: the aggregated group's resource "
                "(custom.metrics' are all <resource>/<metric> subresources, "
                "which api-resources does not list)",
                (rc, [ln for ln in out.splitlines() if "metrics" in ln],
                 err))
        check_crd_apiservices(t, a, k, clis[0] if clis else None)
    finally:
        if adapter:
            adapter.stop()
        wind_down(t, k, None, clis)
        shutil.rmtree(tmp, ignore_errors=True)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
