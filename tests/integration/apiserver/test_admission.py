#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The built-in admission plugins against a real kubed, driven by the real
kubectl 1.32 (its printed warnings and the denials' messages):

- PodSecurity: a namespace's enforce level refuses a pod with
  kube-apiserver's message, its warn level prints "Warning: would violate
  PodSecurity ...", workload templates warn, relabelling a namespace warns
  about its existing pods, an invalid level is refused;
- LimitRanger: a LimitRange's defaults land in a new pod (and the
  kubernetes.io/limit-ranger annotation says so), its max refuses;
- ResourceQuota: pods, requests.cpu and count/configmaps are enforced at
  admission ("exceeded quota: ..."), a pod without the limited request is
  refused ("must specify"), and dry-run creates are checked, not counted.

usage: test_admission.py KUBED"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kubed_harness import Failures, Kubed  # noqa: E402

KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"


def kubectl(k, *args, stdin=None):
    p = subprocess.run([KUBECTL, "--kubeconfig",
                        os.path.join(k.data, "kubeconfig.yaml")] + list(args),
                       input=stdin, capture_output=True, text=True,
                       timeout=30)
    return p.returncode, p.stdout, p.stderr


RESTRICTED_NGINX = (
    'pods "nginx" is forbidden: violates PodSecurity "restricted:latest": '
    'allowPrivilegeEscalation != false (container "nginx" must set '
    'securityContext.allowPrivilegeEscalation=false), unrestricted '
    'capabilities (container "nginx" must set '
    'securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod '
    'or container "nginx" must set securityContext.runAsNonRoot=true), '
    'seccompProfile (pod or container "nginx" must set '
    'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")')


def test_pod_security(k, t):
    kubectl(k, "create", "ns", "r")
    rc, out, err = kubectl(k, "label", "ns", "r",
                           "pod-security.kubernetes.io/enforce=restricted")
    t.check(rc == 0, "label the namespace restricted", err)
    rc, out, err = kubectl(k, "-n", "r", "run", "nginx", "--image=nginx")
    t.check(rc != 0 and "Error from server (Forbidden): " + RESTRICTED_NGINX
            in err, "restricted refuses a plain pod, in kube-apiserver's "
            "words", err)
    ok_pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "ok", "namespace": "r"},
        "spec": {"securityContext": {"runAsNonRoot": True,
                                     "seccompProfile":
                                     {"type": "RuntimeDefault"}},
                 "containers": [{"name": "c", "image": "nginx",
                                 "securityContext": {
                                     "allowPrivilegeEscalation": False,
                                     "capabilities": {"drop": ["ALL"]}}}]}}
    rc, out, err = kubectl(k, "apply", "-f", "-", stdin=json.dumps(ok_pod))
    t.check(rc == 0 and "Warning" not in err, "a restricted pod is admitted",
            err)
    kubectl(k, "label", "ns", "default",
            "pod-security.kubernetes.io/warn=baseline")
    rc, out, err = kubectl(
        k, "-n", "default", "run", "p2", "--image=nginx",
        "--overrides", json.dumps({"spec": {
            "hostNetwork": True,
            "containers": [{"name": "p2", "image": "nginx",
                            "securityContext": {"privileged": True}}]}}))
    t.check(rc == 0 and 'Warning: would violate PodSecurity '
            '"baseline:latest": host namespaces (hostNetwork=true), '
            'privileged (container "p2" must not set '
            'securityContext.privileged=true)' in err,
            "warn prints kubectl's Warning and admits", err)
    kubectl(k, "label", "ns", "default",
            "pod-security.kubernetes.io/warn=restricted", "--overwrite")
    rc, out, err = kubectl(k, "-n", "default", "create", "deployment", "d",
                           "--image=nginx")
    t.check(rc == 0 and 'Warning: would violate PodSecurity '
            '"restricted:latest": allowPrivilegeEscalation != false '
            '(container "nginx" must set' in err,
            "a Deployment's template is warned about", err)
    rc, out, err = kubectl(k, "label", "ns", "default",
                           "pod-security.kubernetes.io/enforce=baseline")
    t.check(rc == 0 and 'Warning: existing pods in namespace "default" '
            'violate the new PodSecurity enforce level "baseline:latest"'
            in err and "Warning: p2: host namespaces, privileged" in err,
            "relabelling warns about existing pods", err)
    rc, out, err = kubectl(k, "label", "ns", "default",
                           "pod-security.kubernetes.io/enforce=bogus",
                           "--overwrite")
    t.check(rc != 0 and 'Invalid value: "bogus": must be one of privileged, '
            'baseline, restricted' in err, "an invalid level is refused", err)


LIMITS = """apiVersion: v1
kind: LimitRange
metadata: {name: lr, namespace: q}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 256Mi}
    defaultRequest: {cpu: 100m}
    max: {cpu: "1"}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: rq, namespace: q}
spec:
  hard: {pods: "2", requests.cpu: 250m, count/configmaps: "2"}
"""


def test_limits_and_quota(k, t):
    kubectl(k, "create", "ns", "q")
    rc, out, err = kubectl(k, "apply", "-f", "-", stdin=LIMITS)
    t.check(rc == 0, "LimitRange and ResourceQuota created", err)
    rc, out, err = kubectl(k, "-n", "q", "run", "a", "--image=nginx")
    t.check(rc == 0, "a pod within the quota", err)
    rc, out, err = kubectl(k, "-n", "q", "get", "pod", "a", "-o", "json")
    pod = json.loads(out) if rc == 0 else {}
    res = pod.get("spec", {}).get("containers", [{}])[0].get("resources", {})
    t.check(res == {"limits": {"cpu": "500m", "memory": "256Mi"},
                    "requests": {"cpu": "100m", "memory": "256Mi"}},
            "the LimitRange's defaults are set", res)
    ann = pod.get("metadata", {}).get("annotations", {})
    t.check(ann.get("kubernetes.io/limit-ranger") ==
            "LimitRanger plugin set: cpu, memory request for container a; "
            "cpu, memory limit for container a", "limit-ranger annotation",
            ann)
    rc, out, err = kubectl(
        k, "-n", "q", "run", "b", "--image=nginx", "--overrides",
        json.dumps({"spec": {"containers": [{
            "name": "b", "image": "nginx",
            "resources": {"requests": {"cpu": "100m"},
                          "limits": {"cpu": "2"}}}]}}))
    t.check(rc != 0 and 'pods "b" is forbidden: maximum cpu usage per '
            'Container is 1, but limit is 2' in err, "LimitRange max refuses",
            err)
    rc, out, err = kubectl(k, "-n", "q", "run", "c", "--image=nginx",
                           "--dry-run=server")
    t.check(rc == 0, "a dry-run create fits", err)
    rc, out, err = kubectl(k, "-n", "q", "run", "c", "--image=nginx")
    t.check(rc == 0, "the dry run was not counted", err)
    rc, out, err = kubectl(k, "-n", "q", "run", "d", "--image=nginx")
    t.check(rc != 0 and 'pods "d" is forbidden: exceeded quota: rq, '
            'requested: pods=1,requests.cpu=100m, used: '
            'pods=2,requests.cpu=200m, limited: pods=2,requests.cpu=250m'
            in err, "the quota refuses the third pod", err)
    kubectl(k, "-n", "q", "delete", "pod", "c", "--wait=false")
    kubectl(k, "-n", "q", "delete", "limitrange", "lr")
    rc, out, err = kubectl(k, "-n", "q", "run", "e", "--image=nginx")
    t.check(rc != 0 and 'pods "e" is forbidden: failed quota: rq: must '
            'specify requests.cpu' in err,
            "a pod without the limited request is refused", err)
    # kube-root-ca.crt (the root-ca-cert-publisher's) counts, as in
    # Kubernetes: wait for it, then one more fits.
    deadline = time.time() + 30
    while time.time() < deadline and kubectl(
            k, "-n", "q", "get", "cm", "kube-root-ca.crt")[0] != 0:
        time.sleep(0.1)
    rc, out, err = kubectl(k, "-n", "q", "create", "cm", "x")
    t.check(rc == 0, "one configmap fits", err)
    rc, out, err = kubectl(k, "-n", "q", "create", "cm", "y")
    t.check(rc != 0 and 'configmaps "y" is forbidden: exceeded quota: rq, '
            'requested: count/configmaps=1, used: count/configmaps=2, '
            'limited: count/configmaps=2' in err,
            "count/configmaps is enforced", err)


def main():
    if not os.access(KUBECTL, os.X_OK):
        print("SKIP: %s is missing" % KUBECTL)
        return 77
    t = Failures()
    k = Kubed(sys.argv[1], extra=["--no-registry", "--no-scheduler"])
    try:
        k.start()
        test_pod_security(k, t)
        test_limits_and_quota(k, t)
        t.check(k.stop() == 0, "SIGTERM exits 0")
    finally:
        if t.failed:
            print(k.read_log()[-3000:])
        k.cleanup()
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
