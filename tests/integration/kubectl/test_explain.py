#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""/openapi/v3 and `kubectl explain` against a real kubed (--no-node):
the discovery document and the per-group-version documents (built-in
kinds named as upstream with their group-version-kind, custom resources
in their group-version), kubectl 1.32's explain of built-in kinds, fields
and --recursive, and of a custom resource, and that apply and the Python
client work as before.  Exits 77 when kubectl 1.32 is missing.

`kube explain` must print what kubectl 1.32 prints, byte for byte.

usage: test_explain.py KUBED KUBE"""
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cli"))
from cli_checks import Cli, Failures, Kubed, write  # noqa: E402

KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"

CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: crontabs, singular: crontab, kind: CronTab}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        description: A CronTab runs a command on a schedule. This description is
          longer than a line of eighty characters, so that kubectl wraps it at its words.
        properties:
          spec:
            type: object
            description: What the crontab runs.
            properties:
              cronSpec: {type: string, description: The schedule in cron format.}
              replicas: {type: integer, format: int32}
              mode: {type: string, enum: [a, b]}
              tags: {type: array, items: {type: string}}
              labels: {type: object, additionalProperties: {type: string}}
"""


def schemas(k, gv):
    r = k.request("GET", "/openapi/v3")
    url = r.json()["paths"][gv]["serverRelativeURL"]
    doc = k.request("GET", url)
    return doc.status, doc.json().get("components", {}).get("schemas", {})


def main():
    if not os.access(KUBECTL, os.X_OK):
        print("skip: %s not found" % KUBECTL)
        return 77
    t = Failures()
    k = Kubed(sys.argv[1], store="memory")
    tmp = tempfile.mkdtemp(prefix="kube-explain-test-")
    c = None
    try:
        k.start()
        c = Cli(KUBECTL, k, "kubectl")
        r = k.request("GET", "/openapi/v3")
        paths = r.json().get("paths", {}) if r.status == 200 else {}
        t.check("api/v1" in paths and "apis/apps/v1" in paths and
                paths["api/v1"]["serverRelativeURL"].startswith("/openapi/v3/api/v1?hash="),
                "/openapi/v3 discovery", (r.status, list(paths)[:5]))
        st, s = schemas(k, "api/v1")
        pod = s.get("io.k8s.api.core.v1.Pod", {})
        t.check(st == 200 and pod.get("x-kubernetes-group-version-kind") ==
                [{"group": "", "kind": "Pod", "version": "v1"}] and
                pod["properties"]["spec"] == {"$ref": "#/components/schemas/io.k8s.api.core.v1.PodSpec"}
                and "io.k8s.api.core.v1.PodSpec" in s and
                "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in s,
                "api/v1 document: Pod with its GVK and refs", (st, pod))
        st, s = schemas(k, "apis/apps/v1")
        t.check(st == 200 and "io.k8s.api.apps.v1.Deployment" in s and
                "io.k8s.api.core.v1.Pod" not in s, "apps/v1 document", (st, list(s)[:5]))
        r = k.request("GET", "/openapi/v3/apis/nope/v1")
        t.check(r.status == 404, "unknown group-version: 404", r.status)

        rc, out, err = c.run("explain", "pods")
        t.check(rc == 0 and out.startswith("KIND:       Pod\nVERSION:    v1\n") and
                "  spec\t<PodSpec>" in out and "  status\t<PodStatus>" in out,
                "kubectl explain pods", (rc, out, err))
        rc, out, err = c.run("explain", "deployment.spec.strategy")
        t.check(rc == 0 and out.startswith("GROUP:      apps\nKIND:       Deployment\n") and
                "FIELD: strategy <DeploymentStrategy>" in out and
                "  rollingUpdate\t<RollingUpdateDeployment>" in out and
                "  type\t<string>" in out, "kubectl explain deployment.spec.strategy",
                (rc, out, err))
        rc, out, err = c.run("explain", "pods.spec.containers")
        t.check(rc == 0 and "DESCRIPTION:\n    List of containers belonging to the pod. "
                "Containers cannot currently be\n    added or removed." in out and
                "  image\t<string>\n    Docker image name. More info:" in out,
                "kubectl explain pods.spec.containers: upstream field descriptions",
                (rc, out[:600], err))
        rc, out, err = c.run("explain", "pods.spec.containers", "--recursive")
        t.check(rc == 0 and "FIELD: containers <[]Container>" in out and
                "  env\t<[]EnvVar>\n    name\t<string>" in out and
                "      configMapKeyRef\t<ConfigMapKeySelector>" in out,
                "kubectl explain pods.spec.containers --recursive", (rc, out[:400], err))
        rc, out, err = c.run("explain", "pods.spec.nosuchfield")
        t.check(rc == 1 and 'field "nosuchfield" does not exist' in err,
                "explain of a missing field", (rc, out, err))

        rc, out, err = c.run("apply", "-f", write(tmp, "crd.yaml", CRD))
        t.check(rc == 0, "create the CRD", (rc, out, err))
        deadline = time.time() + 20
        while time.time() < deadline:
            rc, out, err = c.run("explain", "crontabs.spec")
            if rc == 0:
                break
            time.sleep(0.3)
        t.check(rc == 0 and "KIND:       CronTab" in out and "What the crontab runs." in out
                and "  cronSpec\t<string>\n    The schedule in cron format." in out,
                "kubectl explain crontabs.spec", (rc, out, err))
        st, s = schemas(k, "apis/stable.example.com/v1")
        t.check(st == 200 and s.get("com.example.stable.v1.CronTab", {}).get(
                "x-kubernetes-group-version-kind") ==
                [{"group": "stable.example.com", "kind": "CronTab", "version": "v1"}],
                "the CRD's group-version document", (st, list(s)))

        # kube explain: kubectl's output, byte for byte.
        kube = Cli(sys.argv[2], k, "kube")
        for args in (["pods"], ["pods.spec"], ["deployment.spec.strategy"],
                     ["pods.spec.containers", "--recursive"], ["pods", "--recursive"],
                     ["pods.spec.containers"], ["deploy.spec"], ["pods.spec.containers.image"],
                     ["svc.spec.ports.targetPort"], ["crontabs"], ["crontabs.spec"],
                     ["crontabs", "--recursive"], ["crontab.spec.cronSpec"],
                     ["crontabs.stable.example.com"], ["crontabs.spec.mode"],
                     ["crontabs.spec.labels"], ["crontabs.spec.tags"],
                     ["deploy.spec.template.spec.nosuch"], ["nope"], [],
                     ["pods", "--api-version=v2"], ["pods", "x"]):
            want = c.run("explain", *args)
            got = kube.run("explain", *args)
            t.check(got == want, "kube explain " + " ".join(args), (got, want))
        kube.cleanup()

        # kubectl 1.20 reads the protobuf /openapi/v2, built-in kinds included.
        import subprocess
        p = subprocess.run([os.path.join(HERE, "get-kubectl.sh")],
                           capture_output=True, text=True)
        if p.returncode == 0 and p.stdout.strip():
            old = Cli(p.stdout.strip(), k, "kubectl-1.20")
            rc, out, err = old.run("explain", "pods")
            t.check(rc == 0 and out.startswith("KIND:     Pod\nVERSION:  v1\n") and
                    "   spec\t<Object>" in out and "APIVersion defines the versioned" in out,
                    "kubectl 1.20 explain pods", (rc, out[:300], err))
            rc, out, err = old.run("explain", "deployment.spec.strategy")
            t.check(rc == 0 and "RESOURCE: strategy <Object>" in out and
                    "   type\t<string>\n     Type of deployment." in out,
                    "kubectl 1.20 explain deployment.spec.strategy", (rc, out, err))
            rc, out, err = old.run("explain", "crontabs.spec")
            t.check(rc == 0 and "What the crontab runs." in out,
                    "kubectl 1.20 explain crontabs.spec", (rc, out, err))
            old.cleanup()
        else:
            print("note: kubectl 1.20 unavailable:", p.stdout.strip() or p.stderr.strip())

        # apply (strategic merge from the compiled-in types) as before.
        rc, out, err = c.run("create", "deployment", "web", "--image=nginx", "--save-config")
        rc, out, err = c.run("get", "deploy", "web", "-o", "json")
        d = json.loads(out) if rc == 0 else {}
        d.get("spec", {})["replicas"] = 2
        for f in ("resourceVersion", "uid", "creationTimestamp", "managedFields"):
            d.get("metadata", {}).pop(f, None)
        rc, out, err = c.run("apply", "-f", write(tmp, "d.json", json.dumps(d)))
        t.check(rc == 0 and out.strip() == "deployment.apps/web configured",
                "kubectl apply of a built-in kind", (rc, out, err))
        code = ("import kubernetes, sys\n"
                "kubernetes.config.load_kube_config(sys.argv[1])\n"
                "a = kubernetes.client.AppsV1Api()\n"
                "print(a.read_namespaced_deployment('web', 'default').spec.replicas)\n")
        import subprocess
        p = subprocess.run(["/usr/bin/python3", "-c", code, c.env["KUBECONFIG"]],
                           capture_output=True, text=True, timeout=60)
        t.check(p.returncode == 0 and p.stdout.strip() == "2", "the Python client",
                (p.returncode, p.stdout, p.stderr[-300:]))
    finally:
        if t.failed:
            print("---- kubed log (tail) ----")
            print("\n".join(k.read_log().splitlines()[-30:]))
        if c:
            c.cleanup()
        k.cleanup()
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
