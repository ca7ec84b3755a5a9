#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Real kubectl against a real kubed: the checks the kube CLI passes
(../cli/cli_checks.py), run with Debian's kubectl 1.20.2 (unpacked by
get-kubectl.sh into a cache) or with /usr/bin/kubectl (a dispatcher running
kubectl 1.32 here).  Exits 77 with a reason when that kubectl is missing.

usage: test_kubectl.py KUBED debian|system"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cli"))
import cli_checks  # noqa: E402


def find_kubectl(mode):
    if mode == "debian":
        p = subprocess.run([os.path.join(HERE, "get-kubectl.sh")],
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            print(p.stderr.strip() or "skip: kubectl 1.20 unavailable")
            sys.exit(77 if p.returncode == 77 else 1)
        return p.stdout.strip(), "kubectl-1.20"
    path = "/usr/bin/kubectl"
    if not os.access(path, os.X_OK):
        print("skip: %s does not exist" % path)
        sys.exit(77)
    return path, "kubectl"


DRY_YAML = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: drydep
spec:
  replicas: 1
  selector:
    matchLabels:
      app: drydep
  template:
    metadata:
      labels:
        app: drydep
    spec:
      containers:
      - name: c
        image: x
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: drycm
data:
  a: "1"
"""


def check_server_dry_run(t, c, tmp):
    """--dry-run=server with apply, create and patch.  kubectl 1.20 first
    looks for a dryRun query parameter on the kind's PATCH operation in the
    protobuf /openapi/v2 document and refuses ("doesn't support dry-run")
    when it is missing; kubectl 1.32 sends dryRun=All without asking."""
    path = cli_checks.write(tmp, "dry.yaml", DRY_YAML)

    def gone(what):
        rc, out, err = c.run("get", "deployment/drydep", "configmap/drycm",
                             "deployment/dryd", "-o", "name",
                             "--ignore-not-found")
        t.check(rc == 0 and out.strip() == "", what + " stores nothing",
                (rc, out, err))

    rc, out, err = c.run("apply", "--dry-run=server", "-f", path)
    t.check(rc == 0 and out.splitlines() == [
        "deployment.apps/drydep created (server dry run)",
        "configmap/drycm created (server dry run)"] and err == "",
        "apply --dry-run=server", (rc, out, err))
    gone("apply --dry-run=server")
    rc, out, err = c.run("create", "deployment", "dryd", "--image=x",
                         "--dry-run=server")
    t.check(rc == 0 and out.strip() ==
            "deployment.apps/dryd created (server dry run)" and err == "",
            "create deployment --dry-run=server", (rc, out, err))
    rc, out, err = c.run("create", "-f", path, "--dry-run=server")
    t.check(rc == 0 and out.splitlines() == [
        "deployment.apps/drydep created (server dry run)",
        "configmap/drycm created (server dry run)"] and err == "",
        "create -f --dry-run=server", (rc, out, err))
    gone("create --dry-run=server")
    # Plain apply (client-side validation against /openapi/v2) still works.
    rc, out, err = c.run("apply", "-f", path)
    t.check(rc == 0 and out.splitlines() == ["deployment.apps/drydep created",
                                             "configmap/drycm created"]
            and err == "", "apply after the dry runs", (rc, out, err))
    rc, out, err = c.run("apply", "-f", path)
    t.check(rc == 0 and out.splitlines() == ["deployment.apps/drydep unchanged",
                                             "configmap/drycm unchanged"],
            "second apply", (rc, out, err))
    rc, out, err = c.run("patch", "deployment", "drydep", "-p",
                         '{"spec":{"replicas":3}}', "--dry-run=server")
    t.check(rc == 0 and out.startswith("deployment.apps/drydep patched")
            and err == "", "patch --dry-run=server", (rc, out, err))
    rc, out, err = c.run("patch", "configmap", "drycm", "--type=merge", "-p",
                         '{"data":{"a":"2"}}', "--dry-run=server")
    t.check(rc == 0 and out.startswith("configmap/drycm patched")
            and err == "", "merge patch --dry-run=server", (rc, out, err))
    rc, out, err = c.run("get", "deployment", "drydep", "-o",
                         "jsonpath={.spec.replicas}")
    t.check(out == "1", "patch --dry-run=server stores nothing", (out, err))
    rc, out, err = c.run("get", "configmap", "drycm", "-o",
                         "jsonpath={.data.a}")
    t.check(out == "1", "merge patch --dry-run=server stores nothing",
            (out, err))
    rc, out, err = c.run("patch", "deployment", "drydep", "-p",
                         '{"spec":{"replicas":2}}')
    t.check(rc == 0 and out.strip() == "deployment.apps/drydep patched",
            "patch", (rc, out, err))
    rc, out, err = c.run("get", "deployment", "drydep", "-o",
                         "jsonpath={.spec.replicas}")
    t.check(out == "2", "patch stored", (out, err))
    rc, out, err = c.run("delete", "-f", path, "--dry-run=server")
    t.check(rc == 0 and 'deployment.apps "drydep" deleted (server dry run)'
            in out, "delete --dry-run=server", (rc, out, err))
    rc, out, err = c.run("get", "deployment/drydep", "configmap/drycm",
                         "-o", "name")
    t.check(rc == 0 and out.split() == ["deployment.apps/drydep",
                                        "configmap/drycm"],
            "delete --dry-run=server keeps the objects", (rc, out, err))
    rc, out, err = c.run("delete", "-f", path)
    t.check(rc == 0, "delete -f", (rc, out, err))
    gone("delete")


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("debian", "system"):
        print(__doc__)
        return 2
    kubectl, flavor = find_kubectl(sys.argv[2])
    print("using", kubectl, flush=True)
    return cli_checks.run_all(kubectl, sys.argv[1], flavor,
                              extra=check_server_dry_run)


if __name__ == "__main__":
    sys.exit(main())
