#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The HorizontalPodAutoscaler controller of `kubed server` without a node
(so without metrics.k8s.io): `kubectl autoscale` (1.32) and `kube
autoscale` create autoscaling/v1 HPAs; a target above maxReplicas or below
minReplicas is rescaled through its scale subresource with upstream's
SuccessfulRescale reasons (Deployment, ReplicaSet, StatefulSet); an HPA
whose metrics cannot be read says so in its conditions
(FailedGetResourceMetric) and events; a target that does not exist gives
FailedGetScale; Pods, Object, External and ContainerResource metrics
without an adapter or metrics API give upstream's FailedGetPodsMetric,
FailedGetObjectMetric, FailedGetExternalMetric and
FailedGetContainerResourceMetric; `kubectl top` and `kube top` say the
Metrics API is not available.  The real metrics path (a pod burning CPU scaled up) is the
privileged test node-metrics.

usage: test_hpa.py KUBED KUBE [memory|sqlite]"""
import os
import sys

from ctl_harness import (KUBECTL, Api, Cli, FakeKubelet,  # noqa: E402
                         Failures, Kubed, add_nodes, kubed_args, wait)

NS = "/api/v1/namespaces/default"
APPS = "/apis/apps/v1/namespaces/default"
HPA2 = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers"


def workload(kind, name, replicas):
    tpl = {"metadata": {"labels": {"app": name}},
           "spec": {"containers": [{"name": "c", "image": "busybox",
                                    "resources": {"requests":
                                                  {"cpu": "100m"}}}]}}
    spec = {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": tpl}
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {"apiVersion": "apps/v1", "kind": kind,
            "metadata": {"name": name}, "spec": spec}


def condition(hpa, type_):
    for c in (hpa or {}).get("status", {}).get("conditions", []):
        if c["type"] == type_:
            return "%s/%s" % (c["status"], c["reason"])
    return None


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
    kubelet = None
    try:
        k.start()
        add_nodes(k, ["n1"])
        kubelet = FakeKubelet(k, ["n1"]).start()
        a = Api(k)
        kube_cli = Cli(kube, k, "kube")
        clis.append(kube_cli)
        kubectl = None
        if os.access(KUBECTL, os.X_OK):
            kubectl = Cli(KUBECTL, k, "kubectl")
            clis.append(kubectl)
        else:
            print("note: %s missing, kubectl checks skipped" % KUBECTL)
        cli = kubectl or kube_cli

        # above max: scaled down to max
        a.create(APPS + "/deployments", workload("Deployment", "web", 5))
        rc, out, err = cli.run("autoscale", "deploy", "web", "--min=2",
                               "--max=3", "--cpu-percent=50")
        t.check(rc == 0 and out.strip() ==
                "horizontalpodautoscaler.autoscaling/web autoscaled",
                "autoscale deploy web", (rc, out, err))
        v1 = a.get("/apis/autoscaling/v1/namespaces/default/"
                   "horizontalpodautoscalers/web")
        t.check(v1 and v1["spec"].get("targetCPUUtilizationPercentage") == 50
                and v1["spec"].get("minReplicas") == 2 and
                v1["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1",
                                                 "kind": "Deployment",
                                                 "name": "web"},
                "autoscaling/v1 object", v1)

        def replicas(path):
            o = a.get(path)
            return o and o["spec"].get("replicas")
        t.check(wait(lambda: replicas(APPS + "/deployments/web") == 3, 30),
                "above maxReplicas: scaled to 3",
                a.get(APPS + "/deployments/web"))
        ev = wait(lambda: a.events("default", "web", "SuccessfulRescale"), 10)
        t.check(ev and ev[0]["message"] == "New size: 3; reason: Current "
                "number of replicas above Spec.MaxReplicas",
                "SuccessfulRescale above max", ev)
        # below min: scaled up to min
        a.patch(APPS + "/deployments/web/scale", {"spec": {"replicas": 1}})
        t.check(wait(lambda: replicas(APPS + "/deployments/web") == 2, 30),
                "below minReplicas: scaled to 2",
                a.get(APPS + "/deployments/web"))
        ev = wait(lambda: [e for e in a.events("default", "web",
                                               "SuccessfulRescale")
                           if "below" in e["message"]], 10)
        t.check(ev and ev[0]["message"] == "New size: 2; reason: Current "
                "number of replicas below Spec.MinReplicas",
                "SuccessfulRescale below min", ev)
        st = wait(lambda: (a.get(HPA2 + "/web") or {}).get("status", {})
                  .get("lastScaleTime") and a.get(HPA2 + "/web"), 10)
        t.check(st and st["status"].get("desiredReplicas") == 2,
                "status desiredReplicas and lastScaleTime", st)

        # within range, no metrics API: the conditions say why
        a.create(APPS + "/replicasets", workload("ReplicaSet", "rs", 2))
        a.create(HPA2, {
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "rs"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1",
                                        "kind": "ReplicaSet", "name": "rs"},
                     "minReplicas": 1, "maxReplicas": 4,
                     "metrics": [{"type": "Resource", "resource": {
                         "name": "memory", "target": {
                             "type": "AverageValue",
                             "averageValue": "100Mi"}}}]}})
        h = wait(lambda: condition(a.get(HPA2 + "/rs"), "ScalingActive") and
                 a.get(HPA2 + "/rs"), 30)
        t.check(condition(h, "ScalingActive") ==
                "False/FailedGetResourceMetric" and
                condition(h, "AbleToScale") ==
                "True/SucceededGetScaleSubresource",
                "no metrics API: ScalingActive False FailedGetResourceMetric",
                h)
        ev = wait(lambda: a.events("default", "rs",
                                   "FailedComputeMetricsReplicas"), 10)
        t.check(ev and ev[0]["message"].startswith(
            "invalid metrics (1 invalid out of 1), first error is: "),
            "event FailedComputeMetricsReplicas", ev)
        t.check(replicas(APPS + "/replicasets/rs") == 2, "rs left at 2")

        # Pods, Object, External and ContainerResource metrics without an
        # adapter (no APIService registered) nor metrics.k8s.io:
        # each its own reason, upstream's messages, an empty currentMetrics
        # entry per failed metric
        cases = [
            ("pm", {"type": "Pods", "pods": {
                "metric": {"name": "packets-per-second"},
                "target": {"type": "AverageValue", "averageValue": "1k"}}},
             "FailedGetPodsMetric",
             "unable to get metric packets-per-second: unable to fetch "
             "metrics from custom metrics API: no custom metrics API "
             "(custom.metrics.k8s.io) registered",
             "failed to get pods metric value: "),
            ("om", {"type": "Object", "object": {
                "describedObject": {"apiVersion": "networking.k8s.io/v1",
                                    "kind": "Ingress", "name": "main-route"},
                "metric": {"name": "requests-per-second"},
                "target": {"type": "Value", "value": "2k"}}},
             "FailedGetObjectMetric",
             "unable to get metric requests-per-second: unable to fetch "
             "metrics from custom metrics API: no custom metrics API "
             "(custom.metrics.k8s.io) registered on Ingress "
             "default/main-route",
             "failed to get object metric value: "),
            ("em", {"type": "External", "external": {
                "metric": {"name": "queue_messages_ready", "selector": {
                    "matchLabels": {"queue": "worker_tasks"}}},
                "target": {"type": "AverageValue", "averageValue": "30"}}},
             "FailedGetExternalMetric",
             "unable to get external metric default/queue_messages_ready/"
             "&LabelSelector{MatchLabels:map[string]string{queue: "
             "worker_tasks,},MatchExpressions:[]LabelSelectorRequirement{},}"
             ": unable to fetch metrics from external metrics API: the "
             "server could not find the requested resource (get "
             "queue_messages_ready.external.metrics.k8s.io)",
             "failed to get queue_messages_ready external metric value: "),
            ("cm", {"type": "ContainerResource", "containerResource": {
                "name": "cpu", "container": "c",
                "target": {"type": "Utilization", "averageUtilization": 60}}},
             "FailedGetContainerResourceMetric",
             "failed to get cpu utilization: unable to get metrics for "
             "resource cpu: unable to fetch metrics from resource metrics "
             "API: ",
             "failed to get c container metric value: "),
        ]
        for name, metric, reason, msg, outer in cases:
            a.create(APPS + "/replicasets", workload("ReplicaSet", name, 2))
            a.create(HPA2, {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": name},
                "spec": {"scaleTargetRef": {"apiVersion": "apps/v1",
                                            "kind": "ReplicaSet",
                                            "name": name},
                         "minReplicas": 1, "maxReplicas": 4,
                         "metrics": [metric]}})
        for name, metric, reason, msg, outer in cases:
            h = wait(lambda: condition(a.get(HPA2 + "/" + name),
                                       "ScalingActive") and
                     a.get(HPA2 + "/" + name), 30)
            conds = {c["type"]: c for c in
                     (h or {}).get("status", {}).get("conditions", [])}
            act = conds.get("ScalingActive", {})
            t.check(act.get("status") == "False" and
                    act.get("reason") == reason and
                    act.get("message", "").startswith(
                        "the HPA was unable to compute the replica count: " +
                        msg), "%s: ScalingActive False %s" % (name, reason),
                    act)
            t.check(h and h["status"].get("currentMetrics") == [{"type": ""}],
                    "%s: an empty currentMetrics entry" % name, h)
            ev = wait(lambda: a.events("default", name, reason), 10)
            t.check(ev and ev[0]["type"] == "Warning" and
                    ev[0]["message"].startswith(msg),
                    "%s: event %s" % (name, reason), ev)
            ev = wait(lambda: a.events("default", name,
                                       "FailedComputeMetricsReplicas"), 10)
            t.check(ev and ev[0]["message"].startswith(
                "invalid metrics (1 invalid out of 1), first error is: " +
                outer + msg), "%s: FailedComputeMetricsReplicas" % name, ev)
            t.check(replicas(APPS + "/replicasets/" + name) == 2,
                    "%s: left at 2" % name)

        # a StatefulSet above max, through kube autoscale
        a.create(APPS + "/statefulsets", workload("StatefulSet", "db", 3))
        rc, out, err = kube_cli.run("autoscale", "statefulset", "db",
                                    "--max=1")
        t.check(rc == 0, "kube autoscale statefulset db", (rc, out, err))
        t.check(wait(lambda: replicas(APPS + "/statefulsets/db") == 1, 30),
                "statefulset scaled to 1", a.get(APPS + "/statefulsets/db"))

        # a target that does not exist
        rc, out, err = kube_cli.run("autoscale", "deploy", "nosuch", "--max=2")
        t.check(rc == 0, "autoscale a missing deployment (created)", err)
        # (a v1 object: no conditions in its status, the event says it)
        ev = wait(lambda: a.events("default", "nosuch", "FailedGetScale"), 30)
        t.check(ev and 'deployments.apps "nosuch" not found' in
                ev[0]["message"], "missing target: event FailedGetScale", ev)

        # bad input
        rc, out, err = kube_cli.run("autoscale", "deploy", "web")
        t.check(rc != 0 and "--max=MAXPODS is required" in err,
                "kube autoscale without --max", (rc, out, err))
        rc, out, err = kube_cli.run("autoscale", "svc", "x", "--max=2")
        t.check(rc != 0 and "cannot autoscale" in err,
                "kube autoscale of a service", (rc, out, err))
        for c in clis:
            rc, out, err = c.run("top", "pods")
            t.check(rc != 0 and "Metrics API not available" in err,
                    "%s top pods: Metrics API not available" % c.flavor,
                    (rc, out, err))
    finally:
        if kubelet:
            kubelet.stop()
        if t.failed:
            print("---- kubed log (tail) ----")
            print("\n".join(k.read_log().splitlines()[-40:]))
        for c in clis:
            c.cleanup()
        k.cleanup()
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
