#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The HorizontalPodAutoscaler on custom and external metrics through the
aggregation layer: a tiny metrics adapter (metrics_adapter.py, HTTPS on
loopback) behind a Service whose Endpoints point at it, registered with
APIServices v1beta2.custom.metrics.k8s.io (its caBundle: the adapter's
certificate is checked for metrics-adapter.default.svc) and
v1beta1.external.metrics.k8s.io (insecureSkipTLSVerify); a caBundle that
did not sign it gets no answer.  kubed proxies
/apis/custom.metrics.k8s.io/... to it with the caller in X-Remote-User;
Pods (AverageValue), Object (Value) and External (AverageValue) metrics
scale their targets with upstream's reasons and status; a metric the
adapter does not have gives FailedGetPodsMetric with its answer.  Exits
77 without openssl (the adapter's certificate).

usage: test_hpa_custom.py KUBED KUBE [memory|sqlite]"""
import base64
import os
import shutil
import sys
import tempfile

from ctl_harness import (KUBECTL, Api, Cli, FakeKubelet,  # noqa: E402
                         Failures, Kubed, add_nodes, kubed_args, wait,
                         wind_down)
from metrics_adapter import Adapter  # noqa: E402
from test_hpa import condition, workload  # noqa: E402

NS = "/api/v1/namespaces/default"
APPS = "/apis/apps/v1/namespaces/default"
HPA2 = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers"
APISVC = "/apis/apiregistration.k8s.io/v1/apiservices"


def apiservice(group, version, ca_pem=None):
    """An APIService for the adapter: verified with ca_pem (its caBundle),
    or insecureSkipTLSVerify."""
    spec = {"group": group, "version": version,
            "service": {"namespace": "default", "name": "metrics-adapter"},
            "groupPriorityMinimum": 100, "versionPriority": 100}
    if ca_pem:
        spec["caBundle"] = base64.b64encode(ca_pem.encode()).decode()
    else:
        spec["insecureSkipTLSVerify"] = True
    return {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
            "metadata": {"name": "%s.%s" % (version, group)}, "spec": spec}


def hpa(name, kind, metric, maxr=10):
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1",
                                        "kind": kind, "name": name},
                     "minReplicas": 1, "maxReplicas": maxr,
                     "metrics": [metric]}}


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
    k = Kubed(kubed, store=store,
              extra=kubed_args(kubed) +
              ["--horizontal-pod-autoscaler-sync-period", "1s"])
    tmp = tempfile.mkdtemp(prefix="hpa-custom-")
    clis = []
    kubelet = adapter = None
    try:
        k.start()
        a = Api(k)
        add_nodes(k, ["n1"])
        kubelet = FakeKubelet(k, ["n1"]).start()

        def pods(ns, sel):
            return [p["metadata"]["name"] for p in
                    a.items("/api/v1/namespaces/%s/pods" % ns, sel)
                    if not p["metadata"].get("deletionTimestamp")]
        adapter = Adapter(tmp, pods).start()
        adapter.expose(a)
        a.create(APISVC, apiservice("custom.metrics.k8s.io", "v1beta2",
                                    adapter.cert_pem))
        a.create(APISVC, apiservice("external.metrics.k8s.io", "v1beta1"))
        # a caBundle that did not sign the adapter's certificate: refused
        other, _ = Adapter.certificate(tmp, "other",
                                       "metrics-adapter.default.svc")
        with open(other) as f:
            a.create(APISVC, apiservice("wrong.example.com", "v1", f.read()))
        r = k.request("GET", "/apis/wrong.example.com/v1")
        # (the adapter also sees kubed's discovery checks of its own
        # APIServices: only requests for the wrong group count)
        t.check(r.status in (502, 503) and
                not [p for p, q, u in adapter.requests
                     if p.startswith("/apis/wrong.example.com")],
                "a backend the caBundle does not verify: no answer", r)
        r = k.request("POST", APISVC, dict(apiservice("x.io", "v1"),
                                           metadata={"name": "wrong"}))
        t.check(r.status == 422 and "metadata.name" in r.body,
                "APIService named other than version.group: 422", r)

        # the group and the proxy
        g = a.get("/apis/custom.metrics.k8s.io")
        t.check(g and g["kind"] == "APIGroup" and
                g["preferredVersion"]["groupVersion"] ==
                "custom.metrics.k8s.io/v1beta2", "APIGroup from APIServices",
                g)
        lst = a.get("/apis")
        names = {g["name"]: g for g in (lst or {}).get("groups", [])}
        t.check("custom.metrics.k8s.io" in names and
                names["external.metrics.k8s.io"]["preferredVersion"] ==
                {"groupVersion": "external.metrics.k8s.io/v1beta1",
                 "version": "v1beta1"},
                "the aggregated groups in /apis", sorted(names))
        adapter.pod_values["packets-per-second"] = "2k"
        a.create(APPS + "/deployments", workload("Deployment", "pm", 2))
        wait(lambda: len(pods("default", "app=pm")) == 2, 30)
        r = k.request("GET", "/apis/custom.metrics.k8s.io/v1beta2/namespaces/"
                      "default/pods/*/packets-per-second?labelSelector=app%3Dpm")
        body = r.json() if r.status == 200 else {}
        t.check(body.get("kind") == "MetricValueList" and
                len(body["items"]) == 2, "proxied MetricValueList", r)
        t.check(adapter.requests and adapter.requests[-1][2],
                "the adapter sees the caller in X-Remote-User",
                adapter.requests[-1:])
        if os.access(KUBECTL, os.X_OK):
            kc = Cli(KUBECTL, k, "kubectl")
            clis.append(kc)
            rc, out, err = kc.run(
                "get", "--raw", "/apis/external.metrics.k8s.io/v1beta1/"
                "namespaces/default/nosuch")
            t.check(rc != 0 and "the server could not find the metric" in
                    err, "kubectl get --raw: the adapter's 404", (rc, err))
            rc, out, err = kc.run("get", "apiservices")
            t.check(rc == 0 and "v1beta2.custom.metrics.k8s.io" in out and
                    "default/metrics-adapter" in out,
                    "kubectl get apiservices", (out, err))

        # Pods: 2 pods at 2k against 1k each -> 4
        a.create(HPA2, hpa("pm", "Deployment", {
            "type": "Pods", "pods": {
                "metric": {"name": "packets-per-second"},
                "target": {"type": "AverageValue", "averageValue": "1k"}}}))
        ev = wait(lambda: a.events("default", "pm", "SuccessfulRescale"), 30)
        t.check(ev and ev[0]["message"] == "New size: 4; reason: pods metric "
                "packets-per-second above target",
                "Pods metric: SuccessfulRescale to 4", ev)
        adapter.pod_values["packets-per-second"] = "1k"
        h = a.get(HPA2 + "/pm")
        t.check(condition(h, "ScalingActive") == "True/ValidMetricFound" and
                h["status"]["currentMetrics"][0]["type"] == "Pods" and
                h["status"]["currentMetrics"][0]["pods"]["metric"]["name"] ==
                "packets-per-second", "Pods metric: status", h)

        # Object: a value of 20 against 10, one ready pod -> 2
        adapter.object_values["requests-per-second"] = "20"
        a.create(APPS + "/replicasets", workload("ReplicaSet", "om", 1))
        wait(lambda: len(pods("default", "app=om")) == 1, 30)
        a.create(HPA2, hpa("om", "ReplicaSet", {
            "type": "Object", "object": {
                "describedObject": {"apiVersion": "v1", "kind": "Service",
                                    "name": "metrics-adapter"},
                "metric": {"name": "requests-per-second"},
                "target": {"type": "Value", "value": "10"}}}))
        ev = wait(lambda: a.events("default", "om", "SuccessfulRescale"), 30)
        t.check(ev and ev[0]["message"] == "New size: 2; reason: Service "
                "metric requests-per-second above target",
                "Object metric: SuccessfulRescale to 2", ev)
        adapter.object_values["requests-per-second"] = "10"
        asked = [p for p, q, u in adapter.requests
                 if "requests-per-second" in p]
        t.check(asked and asked[0] == "/apis/custom.metrics.k8s.io/v1beta2/"
                "namespaces/default/services/metrics-adapter/"
                "requests-per-second", "Object metric: the object's path",
                asked[:1])

        # External: 90 in all against 30 per pod -> 3, then steady
        adapter.external_values["queue_messages_ready"] = ["45", "45"]
        a.create(APPS + "/replicasets", workload("ReplicaSet", "em", 1))
        a.create(HPA2, hpa("em", "ReplicaSet", {
            "type": "External", "external": {
                "metric": {"name": "queue_messages_ready", "selector": {
                    "matchLabels": {"queue": "worker_tasks"}}},
                "target": {"type": "AverageValue", "averageValue": "30"}}}))
        ev = wait(lambda: a.events("default", "em", "SuccessfulRescale"), 30)
        t.check(ev and ev[0]["message"] == "New size: 3; reason: external "
                "metric queue_messages_ready(&LabelSelector{MatchLabels:"
                "map[string]string{queue: worker_tasks,},MatchExpressions:"
                "[]LabelSelectorRequirement{},}) above target",
                "External metric: SuccessfulRescale to 3", ev)

        def steady():
            h = a.get(HPA2 + "/em")
            cm = (h or {}).get("status", {}).get("currentMetrics") or [{}]
            return (h["status"].get("desiredReplicas") == 3 and
                    cm[0].get("external", {}).get("current") ==
                    {"averageValue": "30"}) and h
        h = wait(steady, 30)
        t.check(h, "External metric: 3 replicas at 30 each",
                a.get(HPA2 + "/em"))
        asked = [q for p, q, u in adapter.requests
                 if p.endswith("/queue_messages_ready")]
        t.check(asked and asked[0].get("labelSelector") ==
                ["queue=worker_tasks"],
                "External metric: the metric selector asked", asked[:1])

        # an Object metric on a kind no one serves
        a.create(APPS + "/replicasets", workload("ReplicaSet", "uk", 1))
        a.create(HPA2, hpa("uk", "ReplicaSet", {
            "type": "Object", "object": {
                "describedObject": {"apiVersion": "example.com/v1",
                                    "kind": "Thing", "name": "t"},
                "metric": {"name": "rps"},
                "target": {"type": "Value", "value": "1"}}}))
        h = wait(lambda: condition(a.get(HPA2 + "/uk"), "ScalingActive") and
                 a.get(HPA2 + "/uk"), 30)
        msg = [c for c in (h or {}).get("status", {}).get("conditions", [])
               if c["type"] == "ScalingActive"]
        t.check(msg and msg[0]["reason"] == "FailedGetObjectMetric" and
                'no matches for kind "Thing" in group "example.com"' in
                msg[0]["message"], "Object metric on an unknown kind", msg)

        # a metric the adapter does not serve
        a.create(APPS + "/replicasets", workload("ReplicaSet", "nm", 1))
        a.create(HPA2, hpa("nm", "ReplicaSet", {
            "type": "Pods", "pods": {
                "metric": {"name": "nosuch"},
                "target": {"type": "AverageValue", "averageValue": "1"}}}))
        h = wait(lambda: condition(a.get(HPA2 + "/nm"), "ScalingActive") and
                 a.get(HPA2 + "/nm"), 30)
        msg = [c for c in (h or {}).get("status", {}).get("conditions", [])
               if c["type"] == "ScalingActive"]
        t.check(msg and msg[0]["reason"] == "FailedGetPodsMetric" and
                msg[0]["message"] == "the HPA was unable to compute the "
                "replica count: unable to get metric nosuch: unable to fetch "
                "metrics from custom metrics API: the server could not find "
                "the metric nosuch for pods", "unknown metric: the adapter's "
                "answer in FailedGetPodsMetric", msg)
    finally:
        if adapter:
            adapter.stop()
        wind_down(t, k, kubelet, clis)
        shutil.rmtree(tmp, ignore_errors=True)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
