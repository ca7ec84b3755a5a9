#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""kube get --raw PATH and kube get ... --subresource status|scale against
a real kubed (--no-node), beside kubectl 1.32 (the same output and exit
code, ages aside); without kubectl the kube side is checked against what
the API returns.

usage: test_get_raw.py KUBED KUBE"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_checks import Failures, Kubed, finish, kube_beside_kubectl  # noqa: E402

CASES = [
    "get --raw /healthz",
    "get --raw /api/v1/namespaces/default/configmaps/cm",
    "get --raw /api/v1/namespaces/default/configmaps?labelSelector=k%3Dv",
    "get --raw /apis/apps/v1/namespaces/default/deployments/d/scale",
    "get --raw /api/v1/namespaces/default/configmaps/nope",
    "get --raw /no/such/path",
    "get --raw foo",
    "get pods --raw /api",
    "get --raw /api -o json",
    "get --raw /api -w",
    "get --raw /api -l a=b",
    "get deployment d --subresource status",
    "get deployment d --subresource scale",
    "get deployment/d --subresource=scale -o json",
    "get deployment d --subresource scale -o yaml",
    "get deployment d --subresource status -o jsonpath={.spec.replicas}",
    "get deployment d --subresource scale -o jsonpath={.spec.replicas}",
    "get pod p --subresource status",
    "get pod p --subresource status -o name",
    "get deployment nope --subresource scale",
    "get deployments --subresource scale",
    "get deployment d --subresource scale -o wide",
    "get deployment d --subresource scale --no-headers",
    "get deployment d --subresource foo",
    "get configmap cm --subresource status",
]

AGE = re.compile(r"(?<=\s)\d+(s|m\d*s?)(?=\s|$)", re.M)
# A List's resourceVersion is the store's revision at the time of the LIST:
# a Lease renewed between the kube and the kubectl call moves it.
LIST_RV = re.compile(r'"metadata":\s*\{\s*"resourceVersion":\s*"\d+"\s*\}')


def norm(s):
    return LIST_RV.sub('"metadata":{"resourceVersion":"RV"}', AGE.sub("AGE", s))


def main():
    t = Failures()
    k = Kubed(sys.argv[1], store="memory")
    kube = kubectl = None
    try:
        k.start()
        kube, kubectl = kube_beside_kubectl(sys.argv[2], k)
        kube.run("create", "configmap", "cm", "--from-literal=a=1")
        kube.run("label", "configmap", "cm", "k=v")
        kube.run("create", "deployment", "d", "--image=nginx", "--replicas=2")
        kube.run("run", "p", "--image=nginx")
        for args in CASES:
            argv = args.split()
            rc, out, err = kube.run(*argv)
            if kubectl:
                krc, kout, kerr = kubectl.run(*argv)
                t.check((rc, norm(out), norm(err)) == (krc, norm(kout), norm(kerr)),
                        "kube and kubectl: " + args,
                        ((rc, out[:600], err), (krc, kout[:600], kerr)))
            else:
                print("kube %s -> %d %r %r" % (args, rc, out[:200], err))
        # The kube side on its own: raw bodies are the API's, unchanged.
        r = k.request("GET", "/api/v1/namespaces/default/configmaps/cm")
        rc, out, err = kube.run("get", "--raw", "/api/v1/namespaces/default/configmaps/cm")
        t.check(rc == 0 and json.loads(out) == r.json(),
                "kube get --raw gives the API's object", (rc, out[:300], err))
        rc, out, err = kube.run("get", "--raw", "/healthz")
        t.check((rc, out, err) == (0, "ok", ""), "kube get --raw /healthz prints ok", (rc, out, err))
        rc, out, err = kube.run("get", "--raw", "/api/v1/namespaces/default/configmaps/nope")
        t.check(rc == 1 and err == 'Error from server (NotFound): configmaps "nope" not found\n',
                "kube get --raw of a missing object: NotFound", (rc, out, err))
        rc, out, err = kube.run("get", "deployment", "d", "--subresource", "scale", "-o", "json")
        o = json.loads(out) if rc == 0 else {}
        t.check(o.get("kind") == "Scale" and o.get("spec", {}).get("replicas") == 2,
                "kube get --subresource scale -o json is the Scale", (rc, out[:300], err))
        rc, out, err = kube.run("get", "deployment", "d", "--subresource", "scale")
        t.check(rc == 0 and out.split("\n")[0].split()[:3] == ["NAME", "DESIRED", "AVAILABLE"]
                and out.split("\n")[1].split()[:2] == ["d", "2"],
                "kube get --subresource scale prints the Scale table", (rc, out, err))
        rc, out, err = kube.run("get", "deployment", "d", "--subresource", "foo")
        t.check(rc == 1 and err == "Error from server (NotFound): the server could not find "
                "the requested resource\n", "kube get --subresource foo: the server's NotFound",
                (rc, out, err))
    finally:
        rc = finish(t, k, (kube, kubectl))
    return rc


if __name__ == "__main__":
    sys.exit(main())
