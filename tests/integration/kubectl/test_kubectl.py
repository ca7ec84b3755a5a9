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


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("debian", "system"):
        print(__doc__)
        return 2
    kubectl, flavor = find_kubectl(sys.argv[2])
    print("using", kubectl, flush=True)
    return cli_checks.run_all(kubectl, sys.argv[1], flavor)


if __name__ == "__main__":
    sys.exit(main())
