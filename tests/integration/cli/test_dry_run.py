#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""--dry-run=server on every kube command that writes, against a real kubed
(--no-node) with an audit log: each command must send its writes with
dryRun=All (the audit log's requestURI shows every write the clients
made) and change nothing (the object reads back the same, same
resourceVersion; a created object does not exist, a deleted one still
does).  kube's output is compared with kubectl 1.32's for the same command
when kubectl is there.  `kube rollout undo deploy/x --dry-run=server` is
the one that used to roll back for real.

usage: test_dry_run.py KUBED KUBE"""
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_checks import Failures, Kubed, finish, kube_beside_kubectl, write  # noqa: E402

CM_APPLY = """apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
data:
  a: "changed"
"""
CM_NEW = """apiVersion: v1
kind: ConfigMap
metadata:
  name: fresh
data:
  a: "1"
"""

# (arguments, the object that must not change or appear "kind/name",
#  "same" | "absent" | "present", kube's expected output)
CASES = [
    ("rollout undo deployment/d", "deployment/d", "same",
     "deployment.apps/d rolled back (server dry run)\n"),
    ("rollout undo deployment/d --to-revision=1", "deployment/d", "same",
     "deployment.apps/d rolled back (server dry run)\n"),
    ("scale deployment/d --replicas=5", "deployment/d", "same",
     "deployment.apps/d scaled (server dry run)\n"),
    ("set image deployment/d nginx=nginx:9", "deployment/d", "same",
     "deployment.apps/d image updated (server dry run)\n"),
    ("set resources deployment/d --limits=cpu=1", "deployment/d", "same",
     "deployment.apps/d resource requirements updated (server dry run)\n"),
    ("label deployment d x=y", "deployment/d", "same",
     "deployment.apps/d labeled (server dry run)\n"),
    ("annotate deployment d a=b", "deployment/d", "same",
     "deployment.apps/d annotated (server dry run)\n"),
    ("patch deployment d -p {\"spec\":{\"replicas\":7}}", "deployment/d", "same",
     "deployment.apps/d patched\n"),  # kubectl adds no "(server dry run)" here
    ("patch deployment d -p {\"spec\":{\"replicas\":1}}", "deployment/d", "same",
     "deployment.apps/d patched (no change)\n"),
    ("apply -f @APPLY", "configmap/cm", "same",
     "configmap/cm configured (server dry run)\n"),
    ("apply --server-side --force-conflicts -f @APPLY", "configmap/cm", "same",
     "configmap/cm serverside-applied (server dry run)\n"),
    ("create -f @NEW", "configmap/fresh", "absent",
     "configmap/fresh created (server dry run)\n"),
    ("create deployment fresh --image=nginx", "deployment/fresh", "absent",
     "deployment.apps/fresh created (server dry run)\n"),
    ("create configmap fresh --from-literal=a=1", "configmap/fresh", "absent",
     "configmap/fresh created (server dry run)\n"),
    ("set env deployment/d X=1", "deployment/d", "same",
     "deployment.apps/d env updated (server dry run)\n"),
    ("expose deployment d --port=80", "service/d", "absent",
     "service/d exposed (server dry run)\n"),
    ("run fresh --image=nginx", "pod/fresh", "absent",
     "pod/fresh created (server dry run)\n"),
    ("autoscale deployment d --max=3", "hpa/d", "absent",
     "horizontalpodautoscaler.autoscaling/d autoscaled (server dry run)\n"),
    ("delete configmap cm", "configmap/cm", "present",
     'configmap "cm" deleted (server dry run)\n'),
    ("delete deployment d", "deployment/d", "present",
     'deployment.apps "d" deleted (server dry run)\n'),
]


def audit_writes(path, start):
    """Writes the clients sent over HTTP since offset `start` of the log
    (the controllers' own writes are "in-process")."""
    with open(path) as f:
        f.seek(start)
        evs = [json.loads(l) for l in f if l.strip()]
    return [e for e in evs if e.get("sourceIPs") and e["sourceIPs"] != ["in-process"]]


def addresses_only(writes):
    """sourceIPs hold addresses, not address:port."""
    return all(ip in ("127.0.0.1", "::1") or not ip.startswith("127.")
               for w in writes for ip in w["sourceIPs"])


def snapshot(c, ref):
    rc, out, err = c.run("get", ref, "-o", "json")
    return json.loads(out) if rc == 0 else None


def main():
    t = Failures()
    tmp = tempfile.mkdtemp(prefix="kube-dry-run-")
    audit = os.path.join(tmp, "audit.log")
    k = Kubed(sys.argv[1], store="memory", extra=["--audit-log-path", audit])
    kube = kubectl = None
    try:
        k.start()
        kube, kubectl = kube_beside_kubectl(sys.argv[2], k)
        apply_f = write(tmp, "apply.yaml", CM_APPLY)
        new_f = write(tmp, "new.yaml", CM_NEW)
        # --save-config: kubectl apply warns about an object without it
        kube.run("create", "configmap", "cm", "--from-literal=a=1", "--save-config")
        kube.run("create", "deployment", "d", "--image=nginx")
        # Two revisions, so that undo has one to go back to.
        deadline = time.time() + 30
        while time.time() < deadline:
            rc, out, _ = kube.run("get", "rs", "-o", "name")
            if out.strip():
                break
            time.sleep(0.1)
        kube.run("set", "image", "deployment/d", "nginx=nginx:2")
        while time.time() < deadline:
            rc, out, _ = kube.run("rollout", "history", "deployment/d")
            if "\n2 " in out:
                break
            time.sleep(0.1)
        t.check("\n2 " in out, "deployment d has two revisions", out)
        for args, ref, want, expect in CASES:
            argv = [a.replace("@APPLY", apply_f).replace("@NEW", new_f)
                    for a in args.split()] + ["--dry-run=server"]
            for c in filter(None, (kube, kubectl)):
                time.sleep(0.3)  # let the controllers' writes settle
                before = snapshot(c, ref)
                start = os.path.getsize(audit)
                rc, out, err = c.run(*argv)
                time.sleep(0.2)
                after = snapshot(c, ref)
                writes = audit_writes(audit, start)
                name = "%s %s --dry-run=server" % (c.flavor, args)
                if c is kube:
                    t.check(rc == 0 and out + err == expect, name + ": output",
                            (rc, out, err))
                else:
                    t.check(rc == 0 and out + err == expect,
                            name + ": the same output as kube's", (rc, out, err))
                # (kubectl sends a delete's dryRun in the DeleteOptions
                # body, which the audit log does not show: kube's only.)
                if c is kube:
                    t.check(writes and all("dryRun=All" in w["requestURI"] for w in writes),
                            name + ": every write sent with dryRun=All",
                            [(w["verb"], w["requestURI"]) for w in writes])
                    t.check(addresses_only(writes), name + ": audit sourceIPs are addresses",
                            [w["sourceIPs"] for w in writes])
                if want == "same":
                    t.check(before is not None and before == after,
                            name + ": %s unchanged (resourceVersion %s)" %
                            (ref, (before or {}).get("metadata", {}).get("resourceVersion")),
                            (before, after))
                elif want == "absent":
                    t.check(after is None, name + ": %s was not created" % ref, after)
                else:
                    t.check(after is not None and after == before,
                            name + ": %s still there, unchanged" % ref, after)
        # apply to an object made without --save-config: kubectl's warning
        # (with kube's name), under --dry-run=server too; then not again.
        kube.run("create", "configmap", "bare", "--from-literal=a=1")
        bare_f = write(tmp, "bare.yaml", CM_APPLY.replace("name: cm", "name: bare"))
        rc, out, err = kube.run("apply", "-f", bare_f, "--dry-run=server")
        warn = ("Warning: resource configmaps/bare is missing the "
                "kubectl.kubernetes.io/last-applied-configuration annotation which is "
                "required by kube apply. kube apply should only be used on resources "
                "created declaratively by either kube create --save-config or kube apply. "
                "The missing annotation will be patched automatically.\n")
        t.check((rc, out, err) == (0, "configmap/bare configured (server dry run)\n", warn),
                "kube apply --dry-run=server warns about the missing last-applied annotation",
                (rc, out, err))
        if kubectl:
            krc, kout, kerr = kubectl.run("apply", "-f", bare_f, "--dry-run=server")
            kerr = kerr.replace("kubectl apply", "kube apply").replace("kubectl create", "kube create")
            t.check((krc, kout, kerr) == (rc, out, err),
                    "... as kubectl does", (krc, kout, kerr))
        rc, out, err = kube.run("apply", "-f", bare_f)
        t.check((rc, out, err) == (0, "configmap/bare configured\n", warn),
                "kube apply warns and adds the annotation", (rc, out, err))
        rc, out, err = kube.run("apply", "-f", bare_f)
        t.check((rc, out, err) == (0, "configmap/bare unchanged\n", ""),
                "the next kube apply has nothing to warn about", (rc, out, err))
        # The template of revision 2 is still the deployment's.
        d = snapshot(kube, "deployment/d")
        img = d["spec"]["template"]["spec"]["containers"][0]["image"] if d else None
        t.check(img == "nginx:2", "after every undo --dry-run=server the image is still nginx:2",
                img)
        # The real undo still rolls back (the flag changed nothing else).
        rc, out, err = kube.run("rollout", "undo", "deployment/d")
        d = snapshot(kube, "deployment/d")
        img = d["spec"]["template"]["spec"]["containers"][0]["image"] if d else None
        t.check(rc == 0 and out == "deployment.apps/d rolled back\n" and img == "nginx",
                "kube rollout undo without --dry-run rolls back to nginx", (rc, out, err, img))
    finally:
        rc = finish(t, k, (kube, kubectl))
        shutil.rmtree(tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
