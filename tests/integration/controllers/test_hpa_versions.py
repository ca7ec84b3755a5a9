#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""HorizontalPodAutoscaler at autoscaling/v1 and autoscaling/v2, one object
stored at v2 and converted as kube-apiserver converts it: a v1 object read
at v2 has spec.metrics with its cpu Utilization target (80 % when it set
none); a v2 object read at v1 has targetCPUUtilizationPercentage and its
other metrics, behavior, current metrics and conditions in the
autoscaling.alpha.kubernetes.io/* annotations; a v1 GET/PUT round trip
keeps every v2 field; patch, list and watch at v1; `kubectl get
horizontalpodautoscalers.v1.autoscaling` and `kubectl get hpa` (1.32)
print the same targets;
`kubectl autoscale`; python3-kubernetes reads both versions.

usage: test_hpa_versions.py KUBED KUBE [memory|sqlite]"""
import json
import os
import sys

from ctl_harness import (KUBECTL, Api, Cli, Failures, Kubed,  # noqa: E402
                         kubed_args, wait, wind_down)
from test_hpa import workload  # noqa: E402

APPS = "/apis/apps/v1/namespaces/default"
V1 = "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers"
V2 = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers"
ANN = "autoscaling.alpha.kubernetes.io/"


def deployment(name, replicas):
    return workload("Deployment", name, replicas)


REF = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
MEM = {"type": "Resource", "resource": {"name": "memory", "target": {
    "type": "AverageValue", "averageValue": "100Mi"}}}
PODS = {"type": "Pods", "pods": {
    "metric": {"name": "packets-per-second"},
    "target": {"type": "AverageValue", "averageValue": "1k"}}}
OBJ = {"type": "Object", "object": {
    "describedObject": {"apiVersion": "networking.k8s.io/v1",
                        "kind": "Ingress", "name": "main-route"},
    "target": {"type": "Value", "value": "10k"},
    "metric": {"name": "requests-per-second"}}}
EXT = {"type": "External", "external": {
    "metric": {"name": "queue_messages_ready",
               "selector": {"matchLabels": {"queue": "worker_tasks"}}},
    "target": {"type": "AverageValue", "averageValue": "30"}}}
CPU = {"type": "Resource", "resource": {"name": "cpu", "target": {
    "type": "Utilization", "averageUtilization": 60}}}
BEHAVIOR = {"scaleDown": {"stabilizationWindowSeconds": 60,
                          "policies": [{"type": "Pods", "value": 1,
                                        "periodSeconds": 30}]}}
# What the API makes of BEHAVIOR (upstream's defaults for the rest).
BEHAVIOR_DEFAULTED = {
    "scaleDown": {"stabilizationWindowSeconds": 60, "selectPolicy": "Max",
                  "policies": [{"type": "Pods", "value": 1,
                                "periodSeconds": 30}]},
    "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                             {"type": "Percent", "value": 100,
                              "periodSeconds": 15}]}}


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    kubed, kube = sys.argv[1], sys.argv[2]
    store = sys.argv[3] if len(sys.argv) > 3 else "memory"
    t = Failures()
    k = Kubed(kubed, store=store,
              extra=kubed_args(kubed) +
              ["--horizontal-pod-autoscaler-sync-period", "1s"])
    clis = []
    try:
        k.start()
        a = Api(k)
        a.create(APPS + "/deployments", deployment("web", 2))

        # ---- v1 in, v2 out
        a.create(V1, {"apiVersion": "autoscaling/v1",
                      "kind": "HorizontalPodAutoscaler",
                      "metadata": {"name": "one"},
                      "spec": {"scaleTargetRef": REF, "maxReplicas": 4,
                               "targetCPUUtilizationPercentage": 50}})
        h2 = a.get(V2 + "/one")
        t.check(h2 and h2["apiVersion"] == "autoscaling/v2" and
                h2["spec"]["metrics"] == [{
                    "type": "Resource", "resource": {"name": "cpu", "target": {
                        "type": "Utilization", "averageUtilization": 50}}}] and
                "targetCPUUtilizationPercentage" not in h2["spec"] and
                h2["spec"]["minReplicas"] == 1,
                "v1 object read at v2: a cpu Utilization metric", h2)
        a.create(V1, {"apiVersion": "autoscaling/v1",
                      "kind": "HorizontalPodAutoscaler",
                      "metadata": {"name": "dflt"},
                      "spec": {"scaleTargetRef": REF, "maxReplicas": 3}})
        h2 = a.get(V2 + "/dflt")
        h1 = a.get(V1 + "/dflt")
        t.check(h2 and h2["spec"]["metrics"][0]["resource"]["target"] ==
                {"type": "Utilization", "averageUtilization": 80} and
                h1 and h1["spec"].get("targetCPUUtilizationPercentage") == 80,
                "v1 without a target: 80% cpu at both versions", (h1, h2))

        # ---- v2 in, v1 out
        spec = {"scaleTargetRef": REF, "minReplicas": 1, "maxReplicas": 5,
                "metrics": [MEM, PODS, OBJ, EXT, CPU], "behavior": BEHAVIOR}
        made = a.create(V2, {"apiVersion": "autoscaling/v2",
                             "kind": "HorizontalPodAutoscaler",
                             "metadata": {"name": "web",
                                          "annotations": {"keep": "me"}},
                             "spec": spec})
        t.check(made["spec"]["behavior"] == BEHAVIOR_DEFAULTED,
                "v2 behavior defaulted as upstream", made["spec"])
        # the controller's status (conditions: no metrics API here)
        wait(lambda: (a.get(V2 + "/web") or {}).get("status", {})
             .get("conditions"), 30)
        h2 = a.get(V2 + "/web")
        h1 = a.get(V1 + "/web")
        ann = (h1 or {}).get("metadata", {}).get("annotations", {})
        t.check(h1 and h1["apiVersion"] == "autoscaling/v1" and
                h1["spec"] == {"scaleTargetRef": REF, "minReplicas": 1,
                               "maxReplicas": 5,
                               "targetCPUUtilizationPercentage": 60},
                "v2 object read at v1: targetCPUUtilizationPercentage", h1)
        others = json.loads(ann.get(ANN + "metrics", "null"))
        t.check(others == [
            {"type": "Resource", "resource": {
                "name": "memory", "targetAverageValue": "100Mi"}},
            {"type": "Pods", "pods": {"metricName": "packets-per-second",
                                      "targetAverageValue": "1k"}},
            {"type": "Object", "object": {
                "target": OBJ["object"]["describedObject"],
                "metricName": "requests-per-second", "targetValue": "10k"}},
            {"type": "External", "external": {
                "metricName": "queue_messages_ready",
                "metricSelector": {"matchLabels": {"queue": "worker_tasks"}},
                "targetAverageValue": "30"}}],
            "the other metrics in %smetrics (v1 MetricSpecs)" % ANN, ann)
        beh = json.loads(ann.get(ANN + "behavior", "null"))
        t.check(beh and beh["ScaleDown"]["StabilizationWindowSeconds"] == 60
                and beh["ScaleUp"]["Policies"][0] ==
                {"Type": "Pods", "Value": 4, "PeriodSeconds": 15},
                "behavior in %sbehavior (upstream's Go field names)" % ANN,
                beh)
        conds = json.loads(ann.get(ANN + "conditions", "null"))
        t.check(conds and conds == h2["status"]["conditions"],
                "status.conditions in %sconditions" % ANN, (conds, h2))
        t.check(ann.get("keep") == "me" and
                "conditions" not in h1.get("status", {}) and
                h1["status"].get("currentReplicas") ==
                h2["status"].get("currentReplicas"),
                "v1 status: replicas, user annotations kept", h1)
        t.check(not any(key.startswith(ANN) for key in
                        h2["metadata"].get("annotations", {})),
                "no round-trip annotation at v2", h2["metadata"])

        # ---- round trip: a v1 client writes back what it read
        h1 = a.get(V1 + "/web")
        h1["metadata"]["labels"] = {"touched": "v1"}
        r = k.request("PUT", V1 + "/web", h1)
        t.check(r.status == 200, "PUT at v1", r)
        back = a.get(V2 + "/web")
        t.check(back and back["spec"] == h2["spec"] and
                back["metadata"]["labels"] == {"touched": "v1"} and
                back["metadata"]["annotations"] == {"keep": "me"},
                "v2 -> v1 -> v2: spec (behavior, 5 metrics) unchanged",
                (back, h2))
        # a status written at v1 keeps the v2 conditions (annotation)
        st1 = a.get(V1 + "/web")
        r = k.request("PUT", V1 + "/web/status", st1)
        back = a.get(V2 + "/web")
        t.check(r.status == 200 and back["status"].get("conditions") and
                back["status"]["conditions"][0]["type"] ==
                h2["status"]["conditions"][0]["type"],
                "status PUT at v1 keeps conditions", (r, back))

        # ---- patch at v1: the cpu target moves, the rest stays
        r = a.patch(V1 + "/web", {"spec": {"targetCPUUtilizationPercentage":
                                           70}})
        p2 = a.get(V2 + "/web")
        t.check(r.status == 200 and r.json()["apiVersion"] ==
                "autoscaling/v1" and
                r.json()["spec"]["targetCPUUtilizationPercentage"] == 70 and
                p2["spec"]["metrics"][:4] == [MEM, PODS, OBJ, EXT] and
                p2["spec"]["metrics"][4]["resource"]["target"] ==
                {"type": "Utilization", "averageUtilization": 70} and
                p2["spec"]["behavior"] == BEHAVIOR_DEFAULTED,
                "merge patch at v1", (r, p2))

        # ---- list and watch at v1
        items = a.items(V1)
        web = [i for i in items if i["metadata"]["name"] == "web"]
        t.check(web and web[0]["spec"].get(
            "targetCPUUtilizationPercentage") == 70 and
            "metrics" not in web[0]["spec"], "list at v1", web)
        r = k.request("GET", V1 + "?watch=1&timeoutSeconds=1&fieldSelector="
                      "metadata.name%3Dweb")
        evs = [json.loads(line) for line in r.body.splitlines() if line]
        t.check(evs and evs[0]["object"]["apiVersion"] == "autoscaling/v1" and
                evs[0]["object"]["spec"].get(
                    "targetCPUUtilizationPercentage") == 70,
                "watch at v1", evs[:1])
        r = k.request("GET", V2 + "?watch=1&timeoutSeconds=1&fieldSelector="
                      "metadata.name%3Done")
        evs = [json.loads(line) for line in r.body.splitlines() if line]
        t.check(evs and evs[0]["object"]["spec"].get("metrics"),
                "watch at v2 of a v1-made object", evs[:1])

        # ---- kubectl
        if os.access(KUBECTL, os.X_OK):
            kc = Cli(KUBECTL, k, "kubectl")
            clis.append(kc)
            # kubectl 1.32 expands the short name "hpa" to the preferred
            # version whatever version follows it (client-go's
            # shortcutExpander sets LongForm.Version): hpa.v1.autoscaling
            # asks for v2, as against kube-apiserver; the long name asks
            # for v1.
            HV1 = "horizontalpodautoscalers.v1.autoscaling"
            rc1, out1, err1 = kc.run("get", HV1, "web")
            rc2, out2, err2 = kc.run("get", "hpa", "web")
            def no_age(out):  # AGE may tick between the two calls
                return [line.rsplit(None, 1)[0] for line in out.splitlines()]
            t.check(rc1 == 0 and rc2 == 0 and no_age(out1) == no_age(out2) and
                    "memory: <unknown>/100Mi, packets-per-second: "
                    "<unknown>/1k + 3 more..." in out1,
                    "kubectl get hpa at v1 and v2: same row",
                    (out1, err1, out2, err2))
            rc, out, err = kc.run("get", HV1, "web", "-o", "json")
            o = json.loads(out) if rc == 0 else {}
            t.check(o.get("apiVersion") == "autoscaling/v1" and
                    ANN + "metrics" in o["metadata"].get("annotations", {}),
                    "kubectl get (v1) -o json", (rc, out, err))
            rc, out, err = kc.run("get", "hpa", "web", "-o",
                                  "jsonpath={.apiVersion} "
                                  "{.spec.metrics[4].resource.target."
                                  "averageUtilization}")
            t.check(rc == 0 and out.strip() == "autoscaling/v2 70",
                    "kubectl get hpa (v2)", (rc, out, err))
            a.create(APPS + "/deployments", deployment("auto", 1))
            rc, out, err = kc.run("autoscale", "deploy", "auto", "--max=3",
                                  "--cpu-percent=40")
            h1 = a.get(V1 + "/auto")
            h2 = a.get(V2 + "/auto")
            t.check(rc == 0 and h1 and h2 and
                    h1["spec"]["targetCPUUtilizationPercentage"] == 40 and
                    h2["spec"]["metrics"][0]["resource"]["target"] ==
                    {"type": "Utilization", "averageUtilization": 40},
                    "kubectl autoscale: readable at v1 and v2",
                    (rc, out, err, h1, h2))
            rc, out, err = kc.run("get", HV1)
            t.check(rc == 0 and all(n in out for n in ("web", "one", "dflt",
                                                       "auto")),
                    "kubectl get (v1 list)", (out, err))
            rc, out, err = kc.run("delete", HV1, "dflt", "-o", "name")
            t.check(rc == 0 and a.get(V2 + "/dflt") is None,
                    "kubectl delete at v1", (rc, out, err))
        else:
            print("note: %s missing, kubectl checks skipped" % KUBECTL)

        # ---- python3-kubernetes
        try:
            import kubernetes  # noqa: F401
            have_py = True
        except ImportError:
            have_py = False
            print("note: python3-kubernetes missing, its checks skipped")
        if have_py:
            from kubernetes import client
            cfg = client.Configuration()
            cfg.host = "%s://127.0.0.1:%d" % (k.scheme, k.port)
            cfg.verify_ssl = False
            cfg.api_key = {"authorization": "Bearer " + k.token}
            api = client.ApiClient(cfg)
            # (this python3-kubernetes has AutoscalingV1Api, no V2)
            v1 = client.AutoscalingV1Api(api)
            o1 = v1.read_namespaced_horizontal_pod_autoscaler("web",
                                                              "default")
            t.check(o1.spec.target_cpu_utilization_percentage == 70 and
                    ANN + "behavior" in o1.metadata.annotations,
                    "python3-kubernetes: v1 read", o1)
            body = client.V1HorizontalPodAutoscaler(
                metadata=client.V1ObjectMeta(name="py"),
                spec=client.V1HorizontalPodAutoscalerSpec(
                    scale_target_ref=client.V1CrossVersionObjectReference(
                        api_version="apps/v1", kind="Deployment", name="web"),
                    max_replicas=2, target_cpu_utilization_percentage=33))
            v1.create_namespaced_horizontal_pod_autoscaler("default", body)
            o2 = a.get(V2 + "/py")
            t.check(o2 and o2["spec"]["metrics"][0]["resource"]["target"] ==
                    {"type": "Utilization", "averageUtilization": 33},
                    "python3-kubernetes: v1 create, v2 read", o2)

        # ---- bad input at v1 is refused at v1's words
        r = k.request("POST", V1, {
            "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "bad"},
            "spec": {"scaleTargetRef": REF, "maxReplicas": 2,
                     "targetCPUUtilizationPercentage": 0}})
        t.check(r.status == 422 and "targetCPUUtilizationPercentage" in
                r.body, "v1 validation", r)
        r = k.request("POST", V1, {
            "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "junk",
                         "annotations": {ANN + "metrics": "not json"}},
            "spec": {"scaleTargetRef": REF, "maxReplicas": 2}})
        j2 = a.get(V2 + "/junk")
        t.check(r.status == 201 and j2 and
                j2["spec"]["metrics"][0]["resource"]["name"] == "cpu" and
                "annotations" not in j2["metadata"],
                "an unparsable metrics annotation is dropped", (r, j2))
    finally:
        wind_down(t, k, None, clis)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
