#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""CustomResourceDefinitions end to end: a real kubed (memory or sqlite
store) driven by real kubectl 1.32, Debian's kubectl 1.20 or the official
Python client.  Create a definition, wait until it is Established, CRUD
custom objects (namespaced and cluster-scoped, two versions), schema
rejection with field paths, printer columns (also -o wide), status and
scale subresources, apply twice, edit, explain, watch, restart kubed (the
sqlite store keeps the definitions and objects), delete the definition
(its objects go with it).  Exits 77 with a reason when the client is
missing.

The kube flavor drives this project's `kube` CLI, which finds the custom
kinds by listing the definitions, through the same checks as kubectl 1.32
plus the names, output formats and verbs of kube_checks().

usage: test_crd.py KUBED kubectl-1.32|kubectl-1.20|python memory|sqlite
       test_crd.py KUBED kube memory|sqlite KUBE"""
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cli"))
sys.path.insert(0, os.path.join(HERE, "..", "apiserver"))
from kubed_harness import Failures, Kubed  # noqa: E402
from cli_checks import Cli, table, write  # noqa: E402

KUBECTL_132 = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"
GROUP = "stable.example.com"
CRD_NAME = "crontabs." + GROUP

CRD_YAML = r"""apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames: [ct]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
        labelSelectorPath: .status.labelSelector
    additionalPrinterColumns:
    - name: Spec
      type: string
      description: The cron spec defining the interval a CronJob is run
      jsonPath: .spec.cronSpec
    - name: Replicas
      type: integer
      jsonPath: .spec.replicas
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
    - name: Image
      type: string
      priority: 1
      jsonPath: .spec.image
    schema:
      openAPIV3Schema:
        type: object
        description: CronTab runs an image on a schedule.
        properties:
          spec:
            type: object
            description: What the cron table runs and when.
            required: [cronSpec]
            properties:
              cronSpec:
                type: string
                description: The schedule, in cron format.
                pattern: '^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$'
              image:
                type: string
              replicas:
                type: integer
                minimum: 1
                maximum: 10
                default: 1
              mode:
                type: string
                enum: [fast, slow]
                default: slow
              extra:
                type: object
                x-kubernetes-preserve-unknown-fields: true
          status:
            type: object
            properties:
              replicas:
                type: integer
              labelSelector:
                type: string
"""

WIDGETS_YAML = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.org
spec:
  group: example.org
  scope: Cluster
  names:
    plural: widgets
    singular: widget
    kind: Widget
  versions:
  - name: v1beta1
    served: true
    storage: false
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size:
                type: integer
                format: int32
"""


def cron(name, spec="* * * * */5", image="cron-image", **extra):
    s = {"cronSpec": spec, "image": image}
    s.update(extra)
    return {"apiVersion": GROUP + "/v1", "kind": "CronTab",
            "metadata": {"name": name}, "spec": s}


def wait(pred, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    return pred()


# ---------------------------------------------------------------- kubectl --


class KubectlSuite:
    def __init__(self, t, c, tmp, flavor):
        self.t, self.c, self.tmp = t, c, tmp
        self.new = flavor in ("kubectl-1.32", "kube")

    def run(self, *args, **kw):
        return self.c.run(*args, **kw)

    def raw_get(self, path):
        """`get --raw PATH`; `kube` has no --raw, so HTTP for it."""
        if self.c.flavor != "kube":
            return self.run("get", "--raw", path)
        r = self.c.kubed.request("GET", path)
        return (0 if r.status < 400 else 1, r.body if r.status < 400 else "",
                "" if r.status < 400 else r.body)

    def apply_obj(self, obj, *extra):
        path = write(self.tmp, "obj.json", json.dumps(obj))
        return self.run("apply", "-f", path, *extra)

    def get_json(self, *args):
        rc, out, err = self.run("get", *args, "-o", "json")
        try:
            return json.loads(out)
        except ValueError:
            return {"_err": (rc, out, err)}

    def create_definition(self):
        t = self.t
        path = write(self.tmp, "crd.yaml", CRD_YAML)
        rc, out, err = self.run("apply", "-f", path)
        t.check(rc == 0 and out.strip() ==
                "customresourcedefinition.apiextensions.k8s.io/%s created" % CRD_NAME,
                "apply CRD", (rc, out, err))
        rc, out, err = self.run("wait", "--for", "condition=established",
                                "--timeout=20s", "crd/" + CRD_NAME)
        t.check(rc == 0 and "condition met" in out, "wait Established",
                (rc, out, err))
        rc, out, err = self.run("get", "crd")
        rows = table(out)
        t.check(rc == 0 and rows and rows[0] == ["NAME", "CREATED AT"] and
                any(r[0] == CRD_NAME for r in rows[1:]), "get crd", (out, err))
        crd = self.get_json("crd", CRD_NAME)
        conds = {c["type"]: c["status"]
                 for c in crd.get("status", {}).get("conditions", [])}
        t.check(conds.get("NamesAccepted") == "True" and
                conds.get("Established") == "True" and
                crd["status"]["acceptedNames"]["kind"] == "CronTab" and
                crd["status"]["storedVersions"] == ["v1"],
                "CRD status", crd.get("status"))
        rc, out, err = self.run("api-resources", "--api-group=" + GROUP)
        t.check(rc == 0 and ["crontabs", "ct", GROUP + "/v1", "true",
                             "CronTab"] in table(out),
                "api-resources lists the custom resource", (out, err))

    def crud(self):
        t = self.t
        rc, out, err = self.apply_obj(cron("first", extra={"any": [1, {"x": 2}]}))
        t.check(rc == 0 and out.strip() == "crontab.%s/first created" % GROUP,
                "apply custom object", (rc, out, err))
        obj = self.get_json("ct", "first")
        t.check(obj.get("spec", {}).get("replicas") == 1 and
                obj["spec"].get("mode") == "slow" and
                obj["spec"]["extra"] == {"any": [1, {"x": 2}]} and
                obj["metadata"].get("generation") == 1,
                "defaults applied, unknown fields kept where preserved", obj)
        rc, out, err = self.apply_obj(cron("first", extra={"any": [1, {"x": 2}]}))
        t.check(rc == 0 and out.strip() == "crontab.%s/first unchanged" % GROUP,
                "apply twice", (rc, out, err))
        rc, out, err = self.run("get", "crontabs")
        rows = table(out)
        t.check(rc == 0 and rows and rows[0] == ["NAME", "SPEC", "REPLICAS", "AGE"]
                and rows[1][:3] == ["first", "* * * * */5", "1"],
                "printer columns", (out, err))
        rc, out, err = self.run("get", "ct", "-o", "wide")
        rows = table(out)
        t.check(rc == 0 and rows and rows[0] == ["NAME", "SPEC", "REPLICAS",
                                                 "AGE", "IMAGE"]
                and rows[1][0] == "first" and rows[1][-1] == "cron-image",
                "printer columns -o wide", (out, err))
        rc, out, err = self.run("get", "crontab.%s" % GROUP, "first", "-o",
                                "jsonpath={.spec.cronSpec}")
        t.check(rc == 0 and out == "* * * * */5", "get by group-qualified name",
                (out, err))
        # Schema rejection: every problem with its field path.
        bad = cron("bad", spec="every minute", replicas=20, mode="sometimes")
        rc, out, err = self.apply_obj(bad)
        t.check(rc != 0 and 'The CronTab "bad" is invalid' in err and
                "spec.cronSpec: Invalid value: \"every minute\": spec.cronSpec "
                "in body should match" in err and
                "spec.replicas: Invalid value: 20: spec.replicas in body should "
                "be less than or equal to 10" in err and
                "spec.mode: Unsupported value: \"sometimes\": supported values: "
                "\"fast\", \"slow\"" in err,
                "schema rejection with field paths", (rc, out, err))
        rc, out, err = self.apply_obj({"apiVersion": GROUP + "/v1",
                                       "kind": "CronTab",
                                       "metadata": {"name": "noreq"},
                                       "spec": {"image": "x"}})
        # kubectl 1.20 validates against the published definition first.
        t.check(rc != 0 and ("spec.cronSpec: Required value" in err or
                             'missing required field "cronSpec"' in err),
                "required field", (rc, out, err))
        # Unknown fields: kubectl 1.32 asks for strict validation, 1.20
        # checks the published definition; without either, they are pruned.
        rc, out, err = self.apply_obj(cron("strict", bogus=1))
        t.check(rc != 0 and ('strict decoding error: unknown field '
                             '"spec.bogus"' in err if self.new else
                             'unknown field "bogus"' in err),
                "unknown field refused", (rc, out, err))
        rc, out, err = self.apply_obj(cron("pruned", bogus=1),
                                      "--validate=false")
        obj = self.get_json("ct", "pruned")
        t.check(rc == 0 and "bogus" not in obj.get("spec", {}),
                "unknown field pruned", (rc, out, err, obj))
        self.run("delete", "ct", "pruned")

    def subresources(self):
        t = self.t
        # A main-resource update leaves status alone.
        rc, out, err = self.run("patch", "ct", "first", "--type=merge", "-p",
                                '{"status":{"replicas":7}}')
        obj = self.get_json("ct", "first")
        t.check(rc == 0 and "replicas" not in obj.get("status", {}),
                "status ignored through the main resource", (rc, out, err, obj))
        if self.new:
            rc, out, err = self.run(
                "patch", "ct", "first", "--subresource=status", "--type=merge",
                "-p", '{"status":{"replicas":2,"labelSelector":"app=cron"}}')
            t.check(rc == 0, "patch --subresource=status", (rc, out, err))
        else:
            body = self.get_json("ct", "first")
            body["status"] = {"replicas": 2, "labelSelector": "app=cron"}
            path = write(self.tmp, "status.json", json.dumps(body))
            rc, out, err = self.run(
                "replace", "--raw",
                "/apis/%s/v1/namespaces/default/crontabs/first/status" % GROUP,
                "-f", path)
            t.check(rc == 0, "replace --raw .../status", (rc, out, err))
        rc, out, err = self.raw_get(
            "/apis/%s/v1/namespaces/default/crontabs/first/status" % GROUP)
        try:
            st = json.loads(out).get("status", {})
        except ValueError:
            st = {}
        t.check(st == {"replicas": 2, "labelSelector": "app=cron"},
                "status subresource", (out, err))
        gen = self.get_json("ct", "first")["metadata"].get("generation")
        t.check(gen == 1, "a status write keeps the generation", gen)
        rc, out, err = self.run("scale", "ct", "first", "--replicas=3")
        t.check(rc == 0 and out.strip() == "crontab.%s/first scaled" % GROUP,
                "kubectl scale", (rc, out, err))
        rc, out, err = self.raw_get(
            "/apis/%s/v1/namespaces/default/crontabs/first/scale" % GROUP)
        try:
            sc = json.loads(out)
        except ValueError:
            sc = {}
        t.check(sc.get("kind") == "Scale" and sc["spec"] == {"replicas": 3} and
                sc["status"] == {"replicas": 2, "selector": "app=cron"},
                "scale subresource", (out, err))
        obj = self.get_json("ct", "first")
        t.check(obj["spec"]["replicas"] == 3 and obj["metadata"]["generation"] == 2,
                "scale wrote spec.replicas and bumped the generation", obj)
        rc, out, err = self.run("scale", "ct", "first", "--replicas=30")
        t.check(rc != 0 and "spec.replicas" in err and "10" in err,
                "scale beyond the schema's maximum", (rc, out, err))
        rc, out, err = self.run("patch", "ct", "first", "-p",
                                '{"spec":{"replicas":4}}')
        t.check(rc != 0 and ("strategic-merge-patch" in err or
                             "UnsupportedMediaType" in err),
                "strategic merge patch refused (415)", (rc, out, err))

    def edit_explain(self):
        t = self.t
        editor = os.path.join(self.tmp, "editor.sh")
        with open(editor, "w") as f:
            f.write("#!/bin/sh\nsed -i 's/image: cron-image/image: edited/' \"$1\"\n")
        os.chmod(editor, stat.S_IRWXU)
        rc, out, err = self.run("edit", "ct", "first",
                                env={"EDITOR": editor, "KUBE_EDITOR": editor})
        obj = self.get_json("ct", "first")
        t.check(rc == 0 and out.strip() == "crontab.%s/first edited" % GROUP and
                obj["spec"]["image"] == "edited", "kubectl edit", (rc, out, err))
        rc, out, err = self.run("explain", "crontabs.spec")
        t.check(rc == 0 and "KIND:" in out and "CronTab" in out and
                "What the cron table runs and when." in out and
                "cronSpec" in out and "The schedule, in cron format." in out,
                "kubectl explain", (rc, out, err))
        rc, out, err = self.run("explain", "ct")
        t.check(rc == 0 and "CronTab runs an image on a schedule." in out and
                "metadata" in out, "kubectl explain (root)", (rc, out, err))

    def watch(self):
        t = self.t
        p = self.c.popen("get", "ct", "--watch", "-o", "name")
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(p.stdout))
        reader.start()
        time.sleep(1)
        self.apply_obj(cron("watched"))
        seen = wait(lambda: any("watched" in l for l in lines))
        p.terminate()
        p.wait(10)
        reader.join(10)
        t.check(seen and "crontab.%s/first\n" % GROUP in lines,
                "watch sees existing and new objects", lines)

    def other_kinds(self):
        t = self.t
        path = write(self.tmp, "widgets.yaml", WIDGETS_YAML)
        rc, out, err = self.run("apply", "-f", path)
        t.check(rc == 0, "apply cluster-scoped CRD", (rc, out, err))
        self.run("wait", "--for", "condition=established", "--timeout=20s",
                 "crd/widgets.example.org")
        w = {"apiVersion": "example.org/v1beta1", "kind": "Widget",
             "metadata": {"name": "w1"}, "spec": {"size": 3}}
        rc, out, err = self.apply_obj(w)
        t.check(rc == 0, "create through v1beta1", (rc, out, err))
        rc, out, err = self.run("get", "widgets.v1.example.org", "w1", "-o",
                                "jsonpath={.apiVersion} {.spec.size}")
        t.check(rc == 0 and out == "example.org/v1 3", "read through v1",
                (out, err))
        rc, out, err = self.run("get", "widgets.v1beta1.example.org", "w1",
                                "-o", "jsonpath={.apiVersion}")
        t.check(rc == 0 and out == "example.org/v1beta1", "read through v1beta1",
                (out, err))
        rc, out, err = self.apply_obj({"apiVersion": "example.org/v1",
                                       "kind": "Widget",
                                       "metadata": {"name": "w2"},
                                       "spec": {"size": 2147483648}})
        t.check(rc != 0 and "spec.size" in err and "int32" in err,
                "int32 format refused", (rc, out, err))
        rc, out, err = self.run("get", "widgets")
        t.check(rc == 0 and table(out)[0] == ["NAME", "AGE"] and
                table(out)[1][0] == "w1", "cluster-scoped list", (out, err))

    def kube_names_outputs(self, kubectl):
        """`kube` only: every name of the custom resource, the output
        formats, the table against kubectl 1.32's, describe, label, patch,
        delete, a cluster-scoped object and unknown names."""
        t = self.t
        rc, out, err = self.apply_obj(cron("names", image="img-n"))
        t.check(rc == 0 and out.strip() == "crontab.%s/names created" % GROUP,
                "kube apply", (rc, out, err))
        path = write(self.tmp, "c2.json", json.dumps(cron("made")))
        rc, out, err = self.run("create", "-f", path)
        t.check(rc == 0 and out.strip() == "crontab.%s/made created" % GROUP,
                "kube create -f", (rc, out, err))
        for name in ("crontabs", "crontab", "ct", "CronTab",
                     "crontabs." + GROUP, "crontab." + GROUP, "ct." + GROUP,
                     "crontabs.v1." + GROUP):
            rc, out, err = self.run("get", name, "names", "-o", "name")
            t.check(rc == 0 and out.strip() == "crontab.%s/names" % GROUP,
                    "kube get " + name, (rc, out, err))
        obj = self.get_json("ct/names")
        t.check(obj.get("kind") == "CronTab" and
                obj.get("spec", {}).get("image") == "img-n", "-o json", obj)
        rc, out, err = self.run("get", "ct", "names", "-o", "yaml")
        t.check(rc == 0 and "kind: CronTab" in out and "image: img-n" in out,
                "-o yaml", (out, err))
        rc, out, err = self.run("get", "ct", "-o",
                                "custom-columns=N:.metadata.name,I:.spec.image")
        t.check(rc == 0 and ["names", "img-n"] in table(out) and
                table(out)[0] == ["N", "I"], "-o custom-columns", (out, err))
        rc, out, err = self.run("get", "-f", path, "-o", "name")
        t.check(rc == 0 and out.strip() == "crontab.%s/made" % GROUP,
                "kube get -f", (rc, out, err))
        if kubectl:
            for args in (("get", "ct"), ("get", "ct", "-o", "wide"),
                         ("get", "ct", "names", "made")):
                rc, out, err = self.run(*args)
                p = subprocess.run([kubectl] + list(args), capture_output=True,
                                   text=True, timeout=30, env=self.c.env)
                # AGE may tick between the two runs.
                strip = lambda rows: [r[:3] + r[4:] for r in rows]  # noqa
                t.check(rc == 0 and p.returncode == 0 and
                        strip(table(out)) == strip(table(p.stdout)),
                        "table as kubectl 1.32: " + " ".join(args),
                        (out, p.stdout, err))
        rc, out, err = self.run("describe", "ct", "names")
        t.check(rc == 0 and re.search(r"^Name:\s+names$", out, re.M) and
                re.search(r"^Kind:\s+CronTab$", out, re.M) and
                "img-n" in out, "kube describe", (out, err))
        rc, out, err = self.run("label", "ct", "names", "tier=cron")
        t.check(rc == 0 and out.strip() == "crontab.%s/names labeled" % GROUP,
                "kube label", (rc, out, err))
        rc, out, err = self.run("patch", "crontab", "names", "--type=merge",
                                "-p", '{"spec":{"image":"img-p"}}')
        obj = self.get_json("ct", "names")
        t.check(rc == 0 and out.strip() == "crontab.%s/names patched" % GROUP
                and obj["spec"]["image"] == "img-p" and
                obj["metadata"]["labels"] == {"tier": "cron"},
                "kube patch --type=merge", (rc, out, err, obj))
        rc, out, err = self.run("patch", "ct", "names", "-p",
                                '{"spec":{"image":"x"}}')
        # The server refuses the strategic merge patch kubectl sends.
        t.check(rc != 0 and err.startswith(
                    "error: application/strategic-merge-patch+json is not "
                    "supported by %s/v1, Kind=CronTab: the body of the "
                    "request was in an unknown format" % GROUP),
                "strategic merge refused for custom resources", (rc, out, err))
        if kubectl:
            p = subprocess.run([kubectl, "patch", "ct", "names", "-p",
                                '{"spec":{"image":"x"}}'], capture_output=True,
                               text=True, timeout=30, env=self.c.env)
            t.check(p.returncode == rc and p.stderr == err,
                    "strategic merge refused as kubectl 1.32 says",
                    (err, p.stderr))
        rc, out, err = self.run("scale", "ct", "names", "--replicas=4")
        obj = self.get_json("ct", "names")
        t.check(rc == 0 and out.strip() == "crontab.%s/names scaled" % GROUP
                and obj["spec"]["replicas"] == 4, "kube scale", (rc, out, err))
        rc, out, err = self.run("__complete", "get", "ct", "")
        t.check(rc == 0 and {"names", "made"} <= set(out.split()),
                "kube completes custom object names", (rc, out, err))
        rc, out, err = self.run("delete", "-f", path)
        t.check(rc == 0 and out.strip() ==
                'crontab.%s "made" deleted' % GROUP, "kube delete -f",
                (rc, out, err))
        rc, out, err = self.run("delete", "ct", "names")
        t.check(rc == 0 and out.strip() ==
                'crontab.%s "names" deleted' % GROUP, "kube delete",
                (rc, out, err))
        rc, out, err = self.run("get", "widget", "w1", "-o", "name")
        t.check(rc == 0 and out.strip() == "widget.example.org/w1",
                "cluster-scoped custom object", (rc, out, err))
        rc, out, err = self.run("get", "widgets", "-n", "kube-system",
                                "-o", "name")
        t.check(rc == 0 and "widget.example.org/w1" in out.split(),
                "cluster scope ignores the namespace", (rc, out, err))
        rc, out, err = self.run("apply", "-f", path, "--validate=maybe")
        t.check(rc != 0 and err.strip() == 'error: invalid - validate option '
                '"maybe"; must be one of: strict (or true), warn, ignore (or '
                'false)', "bad --validate", (rc, out, err))
        rc, out, err = self.run("get", "nosuchthings")
        t.check(rc != 0 and err.strip() == "error: the server doesn't have a "
                'resource type "nosuchthings"', "unknown name", (rc, out, err))
        rc, out, err = self.apply_obj({"apiVersion": "nope.example/v1",
                                       "kind": "Nope",
                                       "metadata": {"name": "n"}})
        t.check(rc != 0 and 'no matches for kind "Nope" in version '
                '"nope.example/v1"' in err, "unknown kind", (rc, out, err))

    def after_restart(self):
        t = self.t
        rc, out, err = self.run("wait", "--for", "condition=established",
                                "--timeout=20s", "crd/" + CRD_NAME)
        t.check(rc == 0, "definition Established after restart", (rc, out, err))
        rc, out, err = self.run("get", "ct", "-o", "name")
        t.check(rc == 0 and "crontab.%s/first" % GROUP in out.split(),
                "objects served after restart", (rc, out, err))
        obj = self.get_json("ct", "first")
        t.check(obj.get("spec", {}).get("image") == "edited" and
                obj.get("status", {}).get("replicas") == 2,
                "objects kept their state", obj)
        rc, out, err = self.run("get", "widgets.v1beta1.example.org", "w1",
                                "-o", "jsonpath={.spec.size}")
        t.check(rc == 0 and out == "3", "second definition after restart",
                (out, err))

    def delete_definition(self):
        t = self.t
        rc, out, err = self.run("delete", "crd", CRD_NAME, timeout=60)
        t.check(rc == 0 and 'customresourcedefinition.apiextensions.k8s.io "%s" '
                "deleted" % CRD_NAME in out, "delete CRD", (rc, out, err))
        rc, out, err = self.run("get", "crd", CRD_NAME)
        t.check(rc != 0 and "NotFound" in err, "definition gone", (rc, out, err))
        rc, out, err = self.raw_get(
            "/apis/%s/v1/namespaces/default/crontabs" % GROUP)
        t.check(rc != 0 and "NotFound" in err, "resource no longer served",
                (rc, out, err))
        # Defined again: none of the old objects come back.
        path = write(self.tmp, "crd.yaml", CRD_YAML)
        self.run("apply", "-f", path)
        self.run("wait", "--for", "condition=established", "--timeout=20s",
                 "crd/" + CRD_NAME)
        rc, out, err = self.run("get", "ct", "-A", "-o", "name")
        t.check(rc == 0 and out.strip() == "", "objects were deleted with it",
                (rc, out, err))
        self.run("delete", "crd", CRD_NAME, "widgets.example.org", timeout=60)


def run_kubectl(kubed_path, flavor, store, kubectl):
    t = Failures()
    k = Kubed(kubed_path, store=store)
    tmp = tempfile.mkdtemp(prefix="kube-crd-test-")
    c = None
    try:
        k.start()
        c = Cli(kubectl, k, flavor)
        s = KubectlSuite(t, c, tmp, flavor)
        s.create_definition()
        s.crud()
        s.subresources()
        s.edit_explain()
        s.watch()
        s.other_kinds()
        if flavor == "kube":
            s.kube_names_outputs(KUBECTL_132 if os.access(KUBECTL_132, os.X_OK)
                                 else None)
        if store != "memory":
            k.stop()
            k.start()
            c.env["KUBECONFIG"] = os.path.join(k.data, "kubeconfig.yaml")
            s.after_restart()
        s.delete_definition()
    finally:
        if t.failed:
            print("---- kubed log (tail) ----")
            print("\n".join(k.read_log().splitlines()[-30:]))
        if c:
            c.cleanup()
        k.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    return t.finish()


# ----------------------------------------------------------------- python --


def run_python(kubed_path, store):
    import yaml
    from kubernetes import client, config, watch
    t = Failures()
    k = Kubed(kubed_path, store=store)
    try:
        k.start()

        def apis():
            config.load_kube_config(os.path.join(k.data, "kubeconfig.yaml"))
            return client.ApiextensionsV1Api(), client.CustomObjectsApi()

        ext, co = apis()
        crd = ext.create_custom_resource_definition(yaml.safe_load(CRD_YAML))
        t.check(crd.metadata.name == CRD_NAME and
                crd.status.stored_versions == ["v1"],
                "create CRD", crd.status)

        def established():
            c = ext.read_custom_resource_definition(CRD_NAME)
            conds = {x.type: x.status for x in (c.status.conditions or [])}
            return conds.get("Established") == "True" and c
        c = wait(established)
        t.check(bool(c) and c.status.accepted_names.kind == "CronTab",
                "wait Established", c and c.status)
        args = (GROUP, "v1", "default", "crontabs")
        o = co.create_namespaced_custom_object(*args, cron("first"))
        t.check(o["spec"]["replicas"] == 1 and o["spec"]["mode"] == "slow",
                "create custom object (defaults)", o)
        o = co.get_namespaced_custom_object(*args, "first")
        t.check(o["metadata"]["name"] == "first", "get", o)
        lst = co.list_namespaced_custom_object(*args)
        t.check([i["metadata"]["name"] for i in lst["items"]] == ["first"] and
                lst["kind"] == "CronTabList", "list", lst)
        o = co.patch_namespaced_custom_object(*args, "first",
                                              {"spec": {"image": "patched"}})
        t.check(o["spec"]["image"] == "patched", "patch (merge)", o)
        o["spec"]["replicas"] = 5
        o = co.replace_namespaced_custom_object(*args, "first", o)
        t.check(o["spec"]["replicas"] == 5, "replace", o)
        try:
            co.create_namespaced_custom_object(
                *args, cron("bad", spec="x", replicas="three"))
            t.check(False, "schema rejection")
        except client.exceptions.ApiException as e:
            body = json.loads(e.body)
            fields = sorted(c["field"] for c in body["details"]["causes"])
            t.check(e.status == 422 and fields == ["spec.cronSpec",
                                                   "spec.replicas"],
                    "schema rejection with field paths", body)
        o = co.patch_namespaced_custom_object_status(
            *args, "first", {"status": {"replicas": 2,
                                        "labelSelector": "app=cron"}})
        t.check(o["status"] == {"replicas": 2, "labelSelector": "app=cron"},
                "status subresource", o)
        s = co.patch_namespaced_custom_object_scale(
            *args, "first", {"spec": {"replicas": 3}})
        t.check(s["spec"]["replicas"] == 3 and s["status"]["replicas"] == 2,
                "scale subresource", s)
        s = co.get_namespaced_custom_object_scale(*args, "first")
        t.check(s["status"].get("selector") == "app=cron", "get scale", s)
        # Watch: the existing object, then a new one.
        w = watch.Watch()
        events = []

        def watcher():
            for ev in w.stream(co.list_namespaced_custom_object, *args,
                               timeout_seconds=10):
                events.append((ev["type"], ev["object"]["metadata"]["name"]))
                if ev["object"]["metadata"]["name"] == "second":
                    w.stop()
        th = threading.Thread(target=watcher)
        th.start()
        time.sleep(0.5)
        co.create_namespaced_custom_object(*args, cron("second"))
        th.join(15)
        t.check(("ADDED", "first") in events and ("ADDED", "second") in events,
                "watch", events)
        ext.create_custom_resource_definition(yaml.safe_load(WIDGETS_YAML))
        wait(lambda: any(x.type == "Established" and x.status == "True"
                         for x in ext.read_custom_resource_definition(
                             "widgets.example.org").status.conditions or []))
        o = co.create_cluster_custom_object(
            "example.org", "v1beta1", "widgets",
            {"apiVersion": "example.org/v1beta1", "kind": "Widget",
             "metadata": {"name": "w1"}, "spec": {"size": 3}})
        o = co.get_cluster_custom_object("example.org", "v1", "widgets", "w1")
        t.check(o["apiVersion"] == "example.org/v1" and o["spec"]["size"] == 3,
                "cluster-scoped object through another version", o)
        if store != "memory":
            k.stop()
            k.start()
            ext, co = apis()
            c = wait(established)
            t.check(bool(c), "Established after restart")
            names = [i["metadata"]["name"]
                     for i in co.list_namespaced_custom_object(*args)["items"]]
            t.check(names == ["first", "second"], "objects after restart",
                    names)
        co.delete_namespaced_custom_object(*args, "second")
        ext.delete_custom_resource_definition(CRD_NAME)

        def gone():
            try:
                ext.read_custom_resource_definition(CRD_NAME)
                return False
            except client.exceptions.ApiException as e:
                return e.status == 404
        t.check(wait(gone, 30), "definition deleted")
        try:
            co.list_namespaced_custom_object(*args)
            t.check(False, "resource gone with its definition")
        except client.exceptions.ApiException as e:
            t.check(e.status == 404, "resource gone with its definition",
                    e.status)
        ext.delete_custom_resource_definition("widgets.example.org")
    finally:
        if t.failed:
            print("---- kubed log (tail) ----")
            print("\n".join(k.read_log().splitlines()[-30:]))
        k.cleanup()
    return t.finish()


def main():
    if len(sys.argv) not in (4, 5) or sys.argv[3] not in ("memory", "sqlite"):
        print(__doc__)
        return 2
    kubed_path, flavor, store = sys.argv[1:4]
    if flavor == "kube" and len(sys.argv) == 5:
        return run_kubectl(kubed_path, flavor, store, sys.argv[4])
    if flavor == "python":
        try:
            import kubernetes  # noqa: F401
        except ImportError:
            print("skip: python3-kubernetes is not installed")
            return 77
        return run_python(kubed_path, store)
    if flavor == "kubectl-1.32":
        if not os.access(KUBECTL_132, os.X_OK):
            print("skip: %s does not exist" % KUBECTL_132)
            return 77
        return run_kubectl(kubed_path, flavor, store, KUBECTL_132)
    if flavor == "kubectl-1.20":
        p = subprocess.run([os.path.join(HERE, "..", "kubectl",
                                         "get-kubectl.sh")],
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            print(p.stderr.strip() or "skip: kubectl 1.20 unavailable")
            return 77 if p.returncode == 77 else 1
        return run_kubectl(kubed_path, flavor, store, p.stdout.strip())
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
