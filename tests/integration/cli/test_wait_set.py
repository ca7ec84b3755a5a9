#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""kube wait and kube set image|env|resources against a real kubed
(--no-node), side by side with kubectl 1.32: each command runs with both
clients on twin objects (kube's on "b-...", kubectl's on "a-..."), and the
output, exit code and resulting containers must be the same.  Without
kubectl 1.32 the kube side still runs against the expected texts.

usage: test_wait_set.py KUBED KUBE"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_checks import Cli, Failures, Kubed  # noqa: E402

KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"

# (arguments with @N for the twin's name, expected kube output or None)
SET = [
    ("set image deployment/@N nginx=nginx:1.25", "deployment.apps/@N image updated\n"),
    ("set image deployment/@N nginx=nginx:1.25", ""),
    ("set image deployment/@N nope=x", 'error: unable to find container named "nope"\n'),
    ("set image deploy @N nginx=nginx:2", "deployment.apps/@N image updated\n"),
    ("set image deployment/@N", "error: at least one image update is required\n"),
    ("set env deployment/@N A=1 B=2", "deployment.apps/@N env updated\n"),
    ("set env deployment/@N A-", "deployment.apps/@N env updated\n"),
    ("set env deployment/@N A-", ""),
    ("set env deployment/@N C=3 -c nope",
     'Warning: Deployment/@N does not have any containers matching "nope"\n'),
    ("set env deployment/@N D=4 B-", "deployment.apps/@N env updated\n"),
    ("set resources deployment/@N --requests=cpu=100m --limits=memory=64Mi",
     "deployment.apps/@N resource requirements updated\n"),
    ("set resources deployment/@N --requests=cpu=100m", ""),
    ("set resources deployment/@N --requests=cpu=200m,memory=10Mi",
     "deployment.apps/@N resource requirements updated\n"),
    ("set resources deployment/@N -c nope --limits=cpu=1",
     "error: unable to find container named nope\n"),
    ("set resources deployment/@N",
     "error: you must specify an update to requests or limits (in the form of "
     "--requests/--limits)\n"),
    ("set resources deployment/@N --limits=foo",
     "error: Invalid argument syntax foo, expected <resource>=<value>\n"),
    ("set image deployment/@N *=nginx:3", "deployment.apps/@N image updated\n"),
    ("set env deployment/@N 1A=x",
     'error: "1A" is not a valid key name: a valid environment variable name must consist '
     "of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit "
     "(e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation "
     "is '[-._a-zA-Z][-._a-zA-Z0-9]*')\n"),
    ("set env deployment/@N E=1 E-",
     "error: can not both modify and remove the same environment variable in the same "
     "command\n"),
    ("set resources deployment/@N --limits=cpu=abc",
     "error: quantities must match the regular expression "
     "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'\n"),
    ("set image svc/kubernetes a=b", "error: services/kubernetes the object is not a pod or "
     "does not have a pod template: *v1.Service\n"),
    ("set image pod/@N @N=busybox", "pod/@N image updated\n"),
    ("set image pod/@N @N=nginx:1 --dry-run=server", "pod/@N image updated (server dry run)\n"),
    ("set image pod/@N @N=nginx:1 --dry-run=client", "pod/@N image updated (dry run)\n"),
    ("set image pod/nope x=y", 'Error from server (NotFound): pods "nope" not found\n'),
    # A pod's env and resources cannot change: the server says so.
    ("set env pod/@N X=1", None),
    ("set resources pod/@N --limits=cpu=1", None),
]

WAIT = [
    ("wait --for=condition=Ready pod/@N --timeout=1s",
     "error: timed out waiting for the condition on pods/@N\n"),
    ("wait --for=condition=PodScheduled=False pod/@N --timeout=1s",
     "pod/@N condition met\n"),
    ("wait --for=condition=podscheduled=false pod/@N", "pod/@N condition met\n"),
    ("wait --for=jsonpath={.status.phase}=Pending pod/@N --timeout=5s",
     "pod/@N condition met\n"),
    ("wait --for=jsonpath=.status.phase=Pending pod/@N", "pod/@N condition met\n"),
    ("wait --for=jsonpath={.spec.nodeName} pod/@N --timeout=1s",
     "error: timed out waiting for the condition on pods/@N\n"),
    ("wait --for=jsonpath={.status.phase}= pod/@N",
     "error: jsonpath wait has to have a value after equal sign, like "
     "--for=jsonpath='{.status.readyReplicas}'=3\n"),
    ("wait --for=delete pod/nope --timeout=1s", ""),
    ("wait --for=condition=Ready pod/nope --timeout=1s",
     'Error from server (NotFound): pods "nope" not found\n'),
    ("wait --for=bogus pod/@N", 'error: unrecognized condition: "bogus"\n'),
    ("wait pod/@N", 'error: unrecognized condition: ""\n'),
    ("wait --for=delete pod/@N --timeout=0", "error: condition not met for pods/@N\n"),
    ("wait --for=jsonpath={.status.phase}=Pending pods --timeout=1s",
     "error: resource(s) were provided, but no name was specified\n"),
    ("wait --for=create pod/@N", "pod/@N condition met\n"),
    ("wait --for=condition=Available deploy/@N --timeout=1s",
     "error: timed out waiting for the condition on deployments/@N\n"),
    ("wait --for=jsonpath={.status.phase}=Pending pods -l run=@N", "pod/@N condition met\n"),
    ("wait --for=jsonpath={.status.phase}=Pending pods -l run=none --timeout=1s",
     "error: no matching resources found\n"),
]


def twin(args, name):
    return [a.replace("@N", name) for a in args.split()]


def containers(c, kind, name):
    rc, out, err = c.run("get", kind, name, "-o", "json")
    if rc != 0:
        return None
    o = json.loads(out)
    spec = o["spec"] if kind == "pod" else o["spec"]["template"]["spec"]
    return spec["containers"]


def compare(t, kube, kubectl, table, kinds):
    for args, want in table:
        rc, out, err = kube.run(*twin(args, "b"))
        got = out + err
        if want is not None:
            t.check(got == want.replace("@N", "b") and rc == (1 if "rror" in want else 0),
                    "kube " + args, (rc, got))
        if kubectl:
            krc, kout, kerr = kubectl.run(*twin(args, "a"))
            t.check((krc, (kout + kerr).replace("a", "b")) == (rc, got.replace("a", "b")),
                    "kube and kubectl: " + args, ((krc, kout + kerr), (rc, got)))
    if kubectl:
        for kind in kinds:
            t.check(json.dumps(containers(kube, kind, "b")) ==
                    json.dumps(containers(kube, kind, "a")).replace('"a"', '"b"'),
                    "the same %s after kube set and kubectl set" % kind,
                    (containers(kube, kind, "b"), containers(kube, kind, "a")))


def main():
    t = Failures()
    k = Kubed(sys.argv[1], store="memory")
    kube = kubectl = kube_outs = None
    try:
        k.start()
        kube = Cli(sys.argv[2], k, "kube")
        if os.access(KUBECTL, os.X_OK):
            kubectl = Cli(KUBECTL, k, "kubectl")
        else:
            print("note: %s not found: kube's output checked alone" % KUBECTL)
        for n in ("a", "b"):
            kube.run("create", "deployment", n, "--image=nginx")
            kube.run("run", n, "--image=nginx")
        compare(t, kube, kubectl, SET, ("deployment", "pod"))
        # -l and --all, in a namespace of each client's own (global flags
        # before the verb).
        for c, ns in ((kube, "kube-ns"), (kubectl, "kubectl-ns")):
            if not c:
                continue
            c.run("create", "namespace", ns)
            for n in ("x1", "x2"):
                c.run("-n", ns, "create", "deployment", n, "--image=nginx")
            c.run("-n", ns, "label", "deployment", "x1", "tier=web")
            outs = [c.run("-n", ns, "set", "image", "deployments", "--all", "nginx=nginx:7"),
                    c.run("-n", ns, "set", "env", "deploy", "-l", "tier=web", "A=1"),
                    c.run("-n", ns, "set", "env", "deploy", "-l", "tier=none", "A=1"),
                    c.run("-n", ns, "set", "image", "deployments", "nginx=nginx:8")]
            if c is kube:
                kube_outs = outs
                t.check(outs[0][1] == "deployment.apps/x1 image updated\n"
                        "deployment.apps/x2 image updated\n" and
                        outs[1][1] == "deployment.apps/x1 env updated\n" and
                        outs[2] == (0, "", "") and
                        outs[3] == (1, "", "error: resource(s) were provided, but no name "
                                    "was specified\n"),
                        "kube set with --all and -l", outs)
            else:
                t.check(outs == kube_outs, "kube and kubectl set with --all and -l",
                        (outs, kube_outs))
        compare(t, kube, kubectl, WAIT, ())
        # A wait that sees its object go, and one that sees it appear.
        waits = []
        for c in filter(None, (kube, kubectl)):
            waits.append(c.popen("wait", "--for=delete", "pod/a", "--timeout=60s"))
        time.sleep(0.5)
        waits2 = [c.popen("wait", "--for=create", "pod/late", "--timeout=60s")
                  for c in filter(None, (kube, kubectl))]
        kube.run("delete", "pod", "a", "--wait=false")
        kube.run("run", "late", "--image=nginx")
        for p in waits:
            out, err = p.communicate(timeout=60)
            t.check(p.returncode == 0 and out == "pod/a condition met\n",
                    "wait --for=delete while the pod goes", (p.args[0], p.returncode, out, err))
        for p in waits2:
            out, err = p.communicate(timeout=60)
            t.check(p.returncode == 0 and out == "pod/late condition met\n",
                    "wait --for=create while the pod comes",
                    (p.args[0], p.returncode, out, err))
    finally:
        if t.failed:
            print("---- kubed log (tail) ----")
            print("\n".join(k.read_log().splitlines()[-30:]))
        for c in (kube, kubectl):
            if c:
                c.cleanup()
        k.cleanup()
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
