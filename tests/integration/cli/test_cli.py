#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The kube CLI against a real kubed: every shared check (cli_checks.py)
plus what only kube does (the unix socket, edit, logs/exec reports).

usage: test_cli.py KUBED KUBE"""
import os
import re
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_checks  # noqa: E402
from cli_checks import table, write  # noqa: E402


def kube_only(t, c, tmp):
    # The unix socket needs no token and no kubeconfig.
    rc, out, err = c.run("--server", "unix:" + c.kubed.sock, "get", "ns", "-o", "name",
                         env={"KUBECONFIG": "/nonexistent"})
    t.check(rc == 0 and "namespace/default" in out.split(), "unix socket server", (rc, out, err))
    rc, out, err = c.run("--kubeconfig", "/nonexistent", "get", "ns")
    t.check(rc == 1 and "/nonexistent" in err, "explicit missing kubeconfig", (rc, err))
    rc, out, err = c.run("--server", "unix:" + c.kubed.sock + ".nope", "get", "ns")
    t.check(rc == 1 and "refused" in err and "kubed" in err, "socket not there", (rc, err))
    rc, out, err = c.run("--token", "wrong", "get", "pods")
    t.check(rc == 1 and err.startswith("Error from server (Unauthorized)"), "bad token", (rc, err))
    # Exact layout of a table (kubectl: 3 spaces after the widest cell).
    rc, out, err = c.run("get", "ns", "default", "kube-system", "--no-headers")
    t.check(rc == 0 and re.match(r"^default       Active   \S+\nkube-system   Active   \S+\n$", out),
            "table padding", out)
    # edit through $EDITOR.
    editor = write(tmp, "editor.sh",
                   "#!/bin/sh\nsed -i 's/^  labels:/  labels:\\n    edited: \"yes\"/' \"$1\"\n")
    os.chmod(editor, stat.S_IRWXU)
    rc, out, err = c.run("edit", "pod", "kubia", env={"EDITOR": editor})
    t.check(rc == 0 and out.strip() == "pod/kubia edited", "edit", (rc, out, err))
    rc, out, err = c.run("get", "pod", "kubia", "-o", "jsonpath={.metadata.labels.edited}")
    t.check(out == "yes", "edit stored the change", (out, err))
    rc, out, err = c.run("edit", "pod", "kubia", env={"EDITOR": "true"})
    t.check(rc == 0 and "Edit cancelled, no changes made." in err, "edit without change", (rc, err))
    # As kube-apiserver: an unscheduled pod has an empty log; a pod bound to
    # a node the server does not know cannot be reached.
    c.run("run", "bound", "--image=x")
    bound = c.kubed.request("POST", "/api/v1/namespaces/default/pods/bound/binding",
                            {"apiVersion": "v1", "kind": "Binding",
                             "metadata": {"name": "bound"},
                             "target": {"kind": "Node", "name": "node-without-agent"}})
    rc, out, err = c.run("logs", "inteam", "-n", "team")
    t.check(rc == 0 and out == "" and err == "", "logs of an unscheduled pod", (rc, out, err))
    rc, out, err = c.run("exec", "inteam", "-n", "team", "--", "ls")
    t.check(rc == 1 and err.strip() == "Error from server (BadRequest): pod inteam does not "
            "have a host assigned", "exec into an unscheduled pod", (rc, err))
    t.check(bound.status == 201, "bind the pod to a node", bound)
    if bound.status == 201:
        missing = 'Error from server (NotFound): nodes "node-without-agent" not found'
        rc, out, err = c.run("logs", "bound")
        t.check(rc == 1 and err.strip() == missing, "logs: the pod's node is unknown",
                (rc, err))
        rc, out, err = c.run("exec", "bound", "--", "ls")
        t.check(rc == 1 and err.strip() == missing, "exec: the pod's node is unknown",
                (rc, err))
    # A pod on a node is deleted gracefully (its agent confirms); --force
    # --grace-period=0 removes it at once.
    rc, out, err = c.run("delete", "pod", "bound", "--force", "--grace-period=0")
    t.check(rc == 0 and out.strip() == 'pod "bound" force deleted'
            and err.startswith("warning: Immediate deletion does not wait"),
            "delete --force --grace-period=0", (rc, out, err))
    rc, out, err = c.run("get", "pod", "bound")
    t.check(rc == 1 and "NotFound" in err, "force-deleted pod is gone", (rc, err))
    rc, out, err = c.run("logs", "nope")
    t.check(rc == 1 and 'pods "nope" not found' in err, "logs of a missing pod", (rc, err))
    # api-resources -o name and --namespaced=false.
    rc, out, err = c.run("api-resources", "--namespaced=false", "-o", "name")
    names = out.split()
    t.check(rc == 0 and "namespaces" in names and "nodes" in names and "pods" not in names,
            "api-resources --namespaced=false -o name", out)
    rc, out, err = c.run("get", "all")
    t.check(rc == 0 and "pod/kubia" in out and "deployment.apps/web" in out
            and "service/kubernetes" in out, "get all", out)
    # describe shows the pod's Events (the scheduler reports that no node
    # fits at every attempt: one Event with a count, "1s (x3 over 5s)"),
    # found with the involvedObject field selector.
    deadline = time.time() + 10
    while time.time() < deadline:
        rc, out, err = c.run("describe", "pod", "kubia")
        if "FailedScheduling" in out:
            break
        time.sleep(0.2)
    t.check(re.search(r"^  Type\s+Reason\s+Age\s+From\s+Message$", out, re.M)
            and re.search(r"^  Warning\s+FailedScheduling\s+\S+(?: \(x\d+ over \S+\))?\s+"
                          r"default-scheduler\s+", out, re.M),
            "describe lists the pod's events", out[-600:])
    rc, out, err = c.run("describe", "nodes")
    t.check(rc == 0, "describe nodes", (rc, err))
    rc, out, err = c.run("version", "-o", "json")
    t.check(rc == 0 and '"serverVersion"' in out, "version -o json", out)
    # --context picks another context of the kubeconfig (unix socket, other
    # namespace); TLS is verified unless --insecure-skip-tls-verify.
    with open(c.env["KUBECONFIG"]) as f:
        kc = f.read()
    kc = kc.replace("contexts:\n", "contexts:\n- name: sockctx\n  context:\n"
                    "    cluster: sock\n    user: admin\n    namespace: team\n", 1)
    kc = kc.replace("clusters:\n", "clusters:\n- name: sock\n  cluster:\n"
                    "    server: unix:%s\n" % c.kubed.sock, 1)
    kcpath = write(tmp, "kubeconfig", kc)
    rc, out, err = c.run("--kubeconfig", kcpath, "--context", "sockctx", "get", "pods", "-o", "name")
    t.check(rc == 0 and out.strip() == "pod/inteam", "--context", (rc, out, err))
    rc, out, err = c.run("--kubeconfig", kcpath, "--context", "nope", "get", "pods")
    t.check(rc == 1 and "context was not found for specified context: nope" in err,
            "unknown --context", (rc, err))
    url = "https://127.0.0.1:%d" % c.kubed.port
    rc, out, err = c.run("--server", url, "--token", c.kubed.token, "get", "ns", "default",
                         "-o", "name", env={"KUBECONFIG": "/nonexistent"})
    t.check(rc == 1 and "x509" in err, "TLS verification without the CA fails", (rc, err))
    rc, out, err = c.run("--server", url, "--token", c.kubed.token, "--insecure-skip-tls-verify",
                         "get", "ns", "default", "-o", "name", env={"KUBECONFIG": "/nonexistent"})
    t.check(rc == 0 and out.strip() == "namespace/default", "--insecure-skip-tls-verify",
            (rc, out, err))
    rc, out, err = c.run("--server", url, "--certificate-authority",
                         os.path.join(c.kubed.data, "tls.crt"), "--token", c.kubed.token,
                         "get", "ns", "default", "-o", "name", env={"KUBECONFIG": "/nonexistent"})
    t.check(rc == 0 and out.strip() == "namespace/default", "--certificate-authority",
            (rc, out, err))
    # create service, and describe of a node.
    rc, out, err = c.run("create", "service", "nodeport", "np", "--tcp=80:8080")
    t.check(rc == 0 and out.strip() == "service/np created", "create service nodeport", (out, err))
    rc, out, err = c.run("get", "svc", "np", "-o", "jsonpath={.spec.type} {.spec.ports[0].nodePort}")
    t.check(rc == 0 and out.startswith("NodePort ") and out.split()[1].isdigit(),
            "node port allocated", out)
    c.run("delete", "svc", "np")
    # Unschedulable, so the scheduler binds none of the pending pods to it.
    node = write(tmp, "node.yaml", "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n"
                 "  labels:\n    node-role.kubernetes.io/worker: \"\"\n"
                 "spec:\n  unschedulable: true\n"
                 "status:\n  capacity:\n    cpu: \"4\"\n    memory: 8Gi\n")
    rc, out, err = c.run("create", "-f", node)
    t.check(rc == 0 and out.strip() == "node/n1 created", "create node", (out, err))
    rc, out, err = c.run("describe", "node", "n1")
    t.check(rc == 0 and re.search(r"^Name:\s+n1$", out, re.M)
            and re.search(r"^Roles:\s+worker$", out, re.M)
            and re.search(r"^Unschedulable:\s+true$", out, re.M), "describe node", out)
    c.run("delete", "node", "n1")
    rc, out, err = c.run("get", "--help")
    t.check(rc == 0 and "kube get [flags]" in out and "--selector" in out
            and "--kubeconfig" in out, "get --help", (rc, out[:200], err))
    rows = table(c.run("get", "deploy", "-o", "wide")[1])
    t.check(rows and rows[0][-3:] == ["CONTAINERS", "IMAGES", "SELECTOR"], "deploy -o wide", rows)


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    kubed, kube = sys.argv[1], sys.argv[2]
    return cli_checks.run_all(kube, kubed, "kube", extra=kube_only)


if __name__ == "__main__":
    sys.exit(main())
