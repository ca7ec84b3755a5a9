# SPDX-License-Identifier: Apache-2.0
"""Who may do what, against a real kubed with the real kubectl 1.32: the
cluster CA and its files, allow/deny matrices for each kind of identity
(token file user, x509 user from `kube config new-user`, ServiceAccount
token from `kubectl create token`, bootstrap token, node certificate from
an approved CSR), kube-apiserver's 403 wording, `kubectl auth can-i` (with
--as and --list), kube's bootstrap roles of the control plane's components
(system:kube-scheduler, ...), impersonation, the Node authorizer, the audit log, the
unix socket staying admin, and the Python client as a token user.

usage: test_authz.py KUBED KUBE"""
import base64
import json
import os
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "apiserver"))
from kubed_harness import Failures, Kubed  # noqa: E402

KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"


def forbidden(user, verb, res, ns=None, group="", name=None, reason=None,
              sub=None):
    q = res + ("." + group if group else "")
    m = q + (' "%s"' % name if name else "") + " is forbidden: "
    m += 'User "%s" cannot %s resource "%s" in API group "%s"' % (
        user, verb, res + ("/" + sub if sub else ""), group)
    m += ' in the namespace "%s"' % ns if ns else " at the cluster scope"
    if reason:
        m += ": " + reason
    return m


class Cluster:
    def __init__(self, k, t, tmp):
        self.k = k
        self.t = t
        self.tmp = tmp
        self.admin_cfg = os.path.join(k.data, "kubeconfig.yaml")

    def kubectl(self, *args, cfg=None, token=None, stdin=None, env=None):
        cmd = [KUBECTL, "--kubeconfig", cfg or self.admin_cfg]
        if token:
            cmd += ["--token", token]
        e = dict(os.environ, HOME=self.tmp)
        if env:
            e.update(env)
        p = subprocess.run(cmd + list(args), input=stdin, capture_output=True,
                           text=True, timeout=60, env=e)
        return p.returncode, p.stdout, p.stderr

    def ok(self, what, *args, **kw):
        rc, out, err = self.kubectl(*args, **kw)
        self.t.check(rc == 0, what, (rc, out, err))
        return out

    def denied(self, what, message, *args, **kw):
        rc, out, err = self.kubectl(*args, **kw)
        self.t.check(rc != 0 and message in err, what,
                     "want %r, got rc=%d %r" % (message, rc, err))

    def can_i(self, what, want, *args, **kw):
        rc, out, err = self.kubectl("auth", "can-i", *args, **kw)
        got = out.strip()
        self.t.check(got == want and rc == (0 if want == "yes" else 1), what,
                     (rc, out, err))


def check_files(c):
    t, d = c.t, c.k.data
    mode = lambda f: stat.S_IMODE(os.stat(os.path.join(d, f)).st_mode)
    t.check(os.path.exists(os.path.join(d, "ca.crt")), "DATA/ca.crt exists")
    t.check(mode("ca.key") == 0o600, "ca.key is 0600", oct(mode("ca.key")))
    t.check(mode("join-token") == 0o600, "join-token is 0600")
    join = open(os.path.join(d, "join-token")).read().strip()
    admin = open(os.path.join(d, "token")).read().strip() if os.path.exists(
        os.path.join(d, "token")) else c.k.token
    t.check(len(join) == 23 and join[6] == "." and join != admin,
            "join token is a bootstrap token, not the admin token", join)
    ca = open(os.path.join(d, "ca.crt")).read().strip()
    cfg = open(c.admin_cfg).read()
    t.check(base64.b64encode((ca + "\n").encode()).decode() in cfg,
            "kubeconfig carries the cluster CA")
    p = subprocess.run(["openssl", "verify", "-CAfile",
                        os.path.join(d, "ca.crt"), os.path.join(d, "tls.crt")],
                       capture_output=True, text=True)
    t.check(p.returncode == 0, "serving certificate signed by the CA",
            p.stdout + p.stderr)
    p = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName",
                        "-in", os.path.join(d, "tls.crt")],
                       capture_output=True, text=True)
    t.check("127.0.0.1" in p.stdout and "kubernetes.default.svc" in p.stdout,
            "serving SANs", p.stdout)
    return join


def check_token_users(c):
    # alice (groups devs) and bob come from --token-auth-file.
    c.denied("alice without roles: 403 wording",
             forbidden("alice", "list", "pods", ns="default"),
             "get", "pods", token="alice-tok")
    c.can_i("can-i as alice: no", "no", "list", "pods", token="alice-tok")
    c.denied("a wrong token is 401", "Unauthorized", "get", "pods",
             token="nope")
    c.ok("rolebinding edit for alice", "create", "rolebinding", "alice-edit",
         "--clusterrole", "edit", "--user", "alice", "-n", "default")
    c.ok("alice creates a configmap in default", "create", "configmap", "a1",
         "--from-literal=k=v", token="alice-tok")
    c.denied("alice cannot write in kube-system",
             forbidden("alice", "create", "configmaps", ns="kube-system"),
             "create", "configmap", "a1", "--from-literal=k=v", "-n",
             "kube-system", token="alice-tok")
    c.denied("alice cannot list nodes (cluster scope wording)",
             forbidden("alice", "list", "nodes"), "get", "nodes",
             token="alice-tok")
    c.denied("alice cannot read rolebindings (edit has no RBAC)",
             forbidden("alice", "list", "rolebindings", ns="default",
                       group="rbac.authorization.k8s.io"),
             "get", "rolebindings", token="alice-tok")
    c.can_i("can-i create pods as alice: yes", "yes", "create", "pods",
            token="alice-tok")
    c.can_i("admin: can-i --as alice", "yes", "create", "deployments.apps",
            "--as", "alice")
    c.can_i("admin: can-i --as bob", "no", "create", "pods", "--as", "bob")
    c.can_i("admin: can-i --as bob --as-group devs (group binding later)",
            "no", "list", "pods", "-n", "kube-system", "--as", "bob",
            "--as-group", "devs")
    # Escalation: edit on rolebindings is not enough to bind admin.
    c.ok("alice may write rolebindings", "create", "role", "rb-writer",
         "--verb=create,get,list", "--resource=rolebindings,roles")
    c.ok("bind rb-writer", "create", "rolebinding", "alice-rb",
         "--role", "rb-writer", "--user", "alice")
    c.denied("alice cannot bind cluster-admin (escalation)",
             "is attempting to grant RBAC permissions not currently held",
             "create", "rolebinding", "alice-root", "--clusterrole",
             "cluster-admin", "--user", "alice", token="alice-tok")
    c.denied("alice cannot write a role with secrets rights she lacks",
             "is attempting to grant RBAC permissions not currently held",
             "create", "role", "r2", "--verb=get",
             "--resource=rolebindings.rbac.authorization.k8s.io",
             "--resource=nodes", token="alice-tok")
    c.ok("alice binds view (she holds it all in default)", "create",
         "rolebinding", "alice-view2", "--clusterrole", "view", "--user",
         "erin", token="alice-tok")
    c.ok("alice writes a role within her rights", "create", "role", "r3",
         "--verb=get", "--resource=configmaps", token="alice-tok")
    c.ok("clusterrolebinding view for group devs", "create",
         "clusterrolebinding", "devs-view", "--clusterrole", "view",
         "--group", "devs")
    c.ok("alice (in devs) lists pods in kube-system", "get", "pods", "-n",
         "kube-system", token="alice-tok")
    c.denied("bob (not in devs) cannot",
             forbidden("bob", "list", "pods", ns="kube-system"), "get",
             "pods", "-n", "kube-system", token="bob-tok")
    c.can_i("admin: can-i --as bob --as-group devs", "yes", "list", "pods",
            "-n", "kube-system", "--as", "bob", "--as-group", "devs")
    out = c.ok("can-i --list as alice", "auth", "can-i", "--list", "-n",
               "default", token="alice-tok")
    c.t.check("configmaps" in out and "selfsubjectaccessreviews" in out,
              "can-i --list shows alice's rules", out)
    # Impersonation needs the impersonate verb.
    c.denied("alice may not impersonate",
             'users "bob" is forbidden: User "alice" cannot impersonate '
             'resource "users" in API group "" at the cluster scope',
             "get", "pods", "--as", "bob", token="alice-tok")
    c.ok("impersonator role", "create", "clusterrole", "impersonator",
         "--verb=impersonate", "--resource=users,groups")
    c.ok("impersonator binding", "create", "clusterrolebinding",
         "alice-impersonates", "--clusterrole", "impersonator", "--user",
         "alice")
    c.denied("alice as bob is bob",
             forbidden("bob", "list", "pods", ns="default"),
             "get", "pods", "--as", "bob", token="alice-tok")
    out = c.ok("whoami as alice", "auth", "whoami", "-o", "json",
               token="alice-tok")
    try:
        ui = json.loads(out)["status"]["userInfo"]
        c.t.check(ui["username"] == "alice" and "devs" in ui["groups"] and
                  "system:authenticated" in ui["groups"], "whoami", ui)
    except (ValueError, KeyError) as e:
        c.t.check(False, "whoami json", (e, out))


def check_sar(c):
    """SubjectAccessReview and LocalSubjectAccessReview for another user."""
    def review(path, spec):
        r = c.k.request("POST", path, {"apiVersion": "authorization.k8s.io/v1",
                                       "kind": path.rsplit("/", 1)[1],
                                       "spec": spec})
        return r.status, (r.json().get("status", {}) if r.status == 201
                          else r.body)
    ra = {"verb": "create", "resource": "configmaps", "namespace": "default"}
    st = review("/apis/authorization.k8s.io/v1/subjectaccessreviews",
                {"user": "alice", "groups": ["devs"], "resourceAttributes": ra})
    c.t.check(st[0] == 201 and st[1].get("allowed") is True,
              "SubjectAccessReview: alice may create configmaps", st)
    ra = dict(ra, namespace="kube-system")
    st = review("/apis/authorization.k8s.io/v1/subjectaccessreviews",
                {"user": "alice", "groups": ["devs"], "resourceAttributes": ra})
    c.t.check(st[0] == 201 and not st[1].get("allowed"),
              "SubjectAccessReview: not in kube-system", st)
    st = review("/apis/authorization.k8s.io/v1/namespaces/default/"
                "localsubjectaccessreviews",
                {"user": "bob", "resourceAttributes":
                 {"verb": "get", "resource": "pods", "namespace": "default"}})
    c.t.check(st[0] == 201 and not st[1].get("allowed"),
              "LocalSubjectAccessReview: bob may not get pods", st)
    st = review("/apis/authorization.k8s.io/v1/subjectaccessreviews",
                {"user": "alice", "groups": ["system:authenticated"],
                 "nonResourceAttributes":
                 {"verb": "get", "path": "/healthz"}})
    c.t.check(st[0] == 201 and st[1].get("allowed") is True,
              "SubjectAccessReview of a path", st)
    # An ordinary user may not ask about others.
    r = c.k.request("POST", "/apis/authorization.k8s.io/v1/"
                    "subjectaccessreviews",
                    {"apiVersion": "authorization.k8s.io/v1",
                     "kind": "SubjectAccessReview",
                     "spec": {"user": "x", "resourceAttributes": ra}},
                    token="bob-tok")
    c.t.check(r.status == 403 and r.json()["message"] == forbidden(
        "bob", "create", "subjectaccessreviews",
        group="authorization.k8s.io"), "bob cannot review others", r)


def check_x509_user(c, kube):
    cfg = os.path.join(c.tmp, "carol.kubeconfig")
    p = subprocess.run([kube, "config", "new-user", "carol", "--group", "qa",
                        "-o", cfg, "--data-dir", c.k.data],
                       capture_output=True, text=True, timeout=30)
    c.t.check(p.returncode == 0 and os.path.exists(cfg),
              "kube config new-user", (p.returncode, p.stdout, p.stderr))
    if not os.path.exists(cfg):
        return
    c.t.check(stat.S_IMODE(os.stat(cfg).st_mode) == 0o600,
              "user kubeconfig is 0600")
    c.denied("x509 carol without roles",
             forbidden("carol", "list", "pods", ns="default"),
             "get", "pods", cfg=cfg)
    c.ok("pod p1 for carol", "run", "p1", "--image=nginx",
         "--overrides={\"spec\":{\"schedulerName\":\"none\"}}")
    c.ok("pod p2 for carol", "run", "p2", "--image=nginx",
         "--overrides={\"spec\":{\"schedulerName\":\"none\"}}")
    c.ok("role with resourceNames", "create", "role", "p1-reader",
         "--verb=get", "--resource=pods", "--resource-name=p1")
    c.ok("bind it to group qa", "create", "rolebinding", "qa-p1",
         "--role", "p1-reader", "--group", "qa")
    c.ok("carol (O=qa) gets p1", "get", "pod", "p1", cfg=cfg)
    c.denied("carol cannot get p2", forbidden("carol", "get", "pods",
                                              ns="default", name="p2"),
             "get", "pod", "p2", cfg=cfg)
    c.denied("carol cannot list pods",
             forbidden("carol", "list", "pods", ns="default"),
             "get", "pods", cfg=cfg)


def check_sa_tokens(c):
    c.ok("serviceaccount robot", "create", "serviceaccount", "robot")
    rc, tok, err = c.kubectl("create", "token", "robot", "--duration", "20m")
    tok = tok.strip()
    c.t.check(rc == 0 and tok.count(".") == 2, "kubectl create token",
              (rc, err))
    payload = tok.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    c.t.check(claims.get("sub") == "system:serviceaccount:default:robot" and
              claims["exp"] - claims["iat"] == 1200 and
              claims["kubernetes.io"]["serviceaccount"]["name"] == "robot",
              "token claims", claims)
    c.denied("robot without roles",
             forbidden("system:serviceaccount:default:robot", "list", "pods",
                       ns="default"), "get", "pods", token=tok)
    c.ok("bind view to robot", "create", "rolebinding", "robot-view",
         "--clusterrole", "view", "--serviceaccount", "default:robot")
    c.ok("robot lists pods", "get", "pods", token=tok)
    c.denied("robot cannot delete",
             forbidden("system:serviceaccount:default:robot", "delete",
                       "pods", ns="default", name="p2"),
             "delete", "pod", "p2", token=tok)
    c.can_i("robot can-i list pods", "yes", "list", "pods", token=tok)
    c.can_i("can-i --as the serviceaccount", "no", "delete", "pods", "--as",
            "system:serviceaccount:default:robot")
    rc, other, err = c.kubectl("create", "token", "robot", "--audience",
                               "https://elsewhere.example")
    c.denied("a token for another audience is refused", "Unauthorized",
             "get", "pods", token=other.strip())
    c.denied("too short a duration", "may not specify a duration less than "
             "10 minutes", "create", "token", "robot", "--duration", "1m")
    c.denied("token of a missing serviceaccount", 'serviceaccounts "ghost" '
             "not found", "create", "token", "ghost")
    # A token bound to a pod dies with the pod.
    rc, bound, err = c.kubectl("create", "token", "robot", "--bound-object-kind",
                               "Pod", "--bound-object-name", "p2")
    c.ok("pod-bound token works", "get", "pods", token=bound.strip())
    c.ok("delete p2", "delete", "pod", "p2", "--grace-period=0", "--force")
    c.denied("pod-bound token dies with the pod", "Unauthorized", "get",
             "pods", token=bound.strip())
    r = c.k.request("POST", "/apis/authentication.k8s.io/v1/tokenreviews",
                    {"apiVersion": "authentication.k8s.io/v1",
                     "kind": "TokenReview", "spec": {"token": tok}})
    st = r.json().get("status", {}) if r.status == 201 else {}
    c.t.check(st.get("authenticated") is True and
              st["user"]["username"] == "system:serviceaccount:default:robot"
              and "system:serviceaccounts:default" in st["user"]["groups"],
              "TokenReview of the robot's token", r)
    r = c.k.request("POST", "/apis/authentication.k8s.io/v1/tokenreviews",
                    {"apiVersion": "authentication.k8s.io/v1",
                     "kind": "TokenReview", "spec": {"token": "bogus"}})
    c.t.check(r.status == 201 and
              not r.json()["status"].get("authenticated"),
              "TokenReview of a bogus token", r)
    c.ok("delete robot", "delete", "serviceaccount", "robot")
    c.denied("token of a deleted serviceaccount", "Unauthorized", "get",
             "pods", token=tok)


CSR_TMPL = {"apiVersion": "certificates.k8s.io/v1",
            "kind": "CertificateSigningRequest",
            "metadata": {"name": None},
            "spec": {"signerName":
                     "kubernetes.io/kube-apiserver-client-kubelet",
                     "usages": ["digital signature", "client auth"],
                     "request": None}}


def node_credentials(c, join, node):
    """Bootstrap token -> CSR -> approved certificate: a kubeconfig."""
    key = os.path.join(c.tmp, node + ".key")
    csr = subprocess.run(
        ["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-subj",
         "/O=system:nodes/CN=system:node:" + node],
        capture_output=True, text=True)
    c.t.check(csr.returncode == 0, "openssl req", csr.stderr)
    obj = json.loads(json.dumps(CSR_TMPL))
    obj["metadata"]["name"] = "node-csr-" + node
    obj["spec"]["request"] = base64.b64encode(csr.stdout.encode()).decode()
    c.ok("bootstrap token creates the CSR", "create", "-f", "-",
         stdin=json.dumps(obj), token=join)
    cert = None
    for _ in range(100):
        rc, out, err = c.kubectl("get", "csr", "node-csr-" + node, "-o",
                                 "json", token=join)
        if rc == 0 and json.loads(out).get("status", {}).get("certificate"):
            st = json.loads(out)
            cert = base64.b64decode(st["status"]["certificate"])
            break
        time.sleep(0.1)
    c.t.check(cert is not None, "CSR approved and signed", out)
    if cert is None:
        return None
    conds = [x["type"] for x in st["status"].get("conditions", [])]
    c.t.check("Approved" in conds and
              st["spec"]["username"].startswith("system:bootstrap:") and
              "system:bootstrappers" in st["spec"]["groups"],
              "CSR approved, requester stamped", st)
    crt = os.path.join(c.tmp, node + ".crt")
    open(crt, "wb").write(cert)
    cfg = os.path.join(c.tmp, node + ".kubeconfig")
    env = {"KUBECONFIG": cfg}
    server = "https://127.0.0.1:%d" % c.k.port
    for args in (["config", "set-cluster", "c", "--server", server,
                  "--certificate-authority", os.path.join(c.k.data, "ca.crt")],
                 ["config", "set-credentials", "n", "--client-certificate",
                  crt, "--client-key", key],
                 ["config", "set-context", "x", "--cluster", "c", "--user",
                  "n"],
                 ["config", "use-context", "x"]):
        subprocess.run([KUBECTL] + args, env=dict(os.environ, **env),
                       capture_output=True, check=False)
    return cfg


def check_bootstrap_and_node(c, join):
    c.denied("the join token cannot read pods",
             forbidden("system:bootstrap:" + join[:6], "list", "pods",
                       ns="default"), "get", "pods", token=join)
    cfg = node_credentials(c, join, "n1")
    if not cfg:
        return
    u = "system:node:n1"
    out = c.ok("node whoami", "auth", "whoami", "-o", "json", cfg=cfg)
    c.t.check('"system:node:n1"' in out and "system:nodes" in out,
              "the certificate is system:node:n1 in system:nodes", out)
    node = {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "n1"}}
    c.ok("node creates its Node", "create", "-f", "-", cfg=cfg,
         stdin=json.dumps(node))
    node["metadata"]["name"] = "n2"
    c.denied("node cannot create another Node", 'node "n1" is not allowed '
             'to modify node "n2"', "create", "-f", "-", cfg=cfg,
             stdin=json.dumps(node))
    c.ok("admin creates n2", "create", "-f", "-", stdin=json.dumps(node))
    c.ok("node labels its own Node", "label", "node", "n1", "a=b", cfg=cfg)
    c.denied("node cannot read n2 (kubectl label reads it first)",
             forbidden(u, "get", "nodes", name="n2",
                       reason="node 'n1' cannot read 'n2', only its own Node "
                       "object"),
             "label", "node", "n2", "a=b", cfg=cfg)
    c.ok("node lists its own pods", "get", "pods", "-A", "--field-selector",
         "spec.nodeName=n1", cfg=cfg)
    # every pod, namespace and NetworkPolicy, read only: the default
    # ClusterRole system:libkube:node-network-policy bound to system:nodes
    # (what a node enforcing NetworkPolicy reads, as calico-node does)
    c.ok("node lists all pods (system:libkube:node-network-policy)", "get",
         "pods", "-A", cfg=cfg)
    c.ok("node lists NetworkPolicies", "get", "networkpolicies", "-A",
         cfg=cfg)
    c.ok("node lists Namespaces", "get", "namespaces", cfg=cfg)
    c.denied("node cannot create a NetworkPolicy",
             forbidden(u, "create", "networkpolicies",
                       group="networking.k8s.io", ns="default"),
             "create", "-f", "-", cfg=cfg, stdin=json.dumps(
                 {"apiVersion": "networking.k8s.io/v1",
                  "kind": "NetworkPolicy", "metadata": {"name": "np"},
                  "spec": {"podSelector": {}}}))
    c.denied("node cannot list all nodes",
             forbidden(u, "list", "nodes", reason="node 'n1' cannot read all "
                       "nodes, only its own Node object"),
             "get", "nodes", cfg=cfg)
    c.ok("node reads its own Node", "get", "node", "n1", cfg=cfg)
    # NodeRestriction: a node creates only mirror pods bound to and owned
    # by itself
    n1_uid = c.ok("n1's uid", "get", "node", "n1", "-o",
                  "jsonpath={.metadata.uid}").strip()
    mirror = {"apiVersion": "v1", "kind": "Pod",
              "metadata": {"name": "static-n1", "annotations":
                           {"kubernetes.io/config.mirror": "h"},
                           "ownerReferences": [
                               {"apiVersion": "v1", "kind": "Node",
                                "name": "n1", "uid": n1_uid,
                                "controller": True}]},
              "spec": {"nodeName": "n1",
                       "containers": [{"name": "c", "image": "nginx"}]}}
    plain = json.loads(json.dumps(mirror))
    del plain["metadata"]["annotations"]
    c.denied("node cannot create a pod that is not a mirror pod",
             'pods "static-n1" is forbidden: pod does not have '
             '"kubernetes.io/config.mirror" annotation, node "n1" can only '
             'create mirror pods', "create", "-f", "-", cfg=cfg,
             stdin=json.dumps(plain))
    other = json.loads(json.dumps(mirror))
    other["spec"]["nodeName"] = "n2"
    c.denied("node cannot create a mirror pod bound to another node",
             'node "n1" can only create pods with spec.nodeName set to '
             'itself', "create", "-f", "-", cfg=cfg, stdin=json.dumps(other))
    c.ok("node creates its mirror pod", "create", "-f", "-", cfg=cfg,
         stdin=json.dumps(mirror))
    c.ok("admin deletes the mirror pod", "delete", "pod", "static-n1",
         "--grace-period=0", "--force")
    c.ok("secret s1", "create", "secret", "generic", "s1",
         "--from-literal=a=b")
    c.ok("secret s2", "create", "secret", "generic", "s2",
         "--from-literal=a=b")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "on-n1"},
           "spec": {"nodeName": "n1", "schedulerName": "none",
                    "containers": [{"name": "c", "image": "nginx"}],
                    "volumes": [{"name": "v", "secret": {"secretName": "s1"}}]}}
    c.ok("pod bound to n1 using s1", "create", "-f", "-",
         stdin=json.dumps(pod))
    c.ok("node reads s1", "get", "secret", "s1", cfg=cfg)
    reason = "no relationship found between node 'n1' and this object"
    c.denied("node cannot read s2",
             forbidden(u, "get", "secrets", ns="default", name="s2",
                       reason=reason), "get", "secret", "s2", cfg=cfg)
    c.denied("node cannot list secrets",
             forbidden(u, "list", "secrets", ns="default",
                       reason="No Object name found"),
             "get", "secrets", cfg=cfg)
    c.ok("node lists s1 by name (a per-object watch's list)", "get",
         "secrets", "--field-selector", "metadata.name=s1", cfg=cfg)
    c.denied("node cannot list s2 by name",
             forbidden(u, "list", "secrets", ns="default", name="s2",
                       reason=reason),
             "get", "secrets", "--field-selector", "metadata.name=s2", cfg=cfg)
    pod["metadata"]["name"] = "on-n1-b"
    pod["spec"]["volumes"][0]["secret"]["secretName"] = "s2"
    c.ok("a second pod on n1 uses s2", "create", "-f", "-",
         stdin=json.dumps(pod))
    ok = False
    for _ in range(50):
        if c.kubectl("get", "secret", "s2", cfg=cfg)[0] == 0:
            ok = True
            break
        time.sleep(0.1)
    c.t.check(ok, "node reads s2 once a pod on it refers to it")
    c.ok("node patches its pod's status", "patch", "pod", "on-n1",
         "--subresource=status", "--type=merge", "-p",
         '{"status":{"message":"from n1"}}', cfg=cfg)
    pod2 = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "on-n2"},
            "spec": {"nodeName": "n2", "schedulerName": "none",
                     "containers": [{"name": "c", "image": "nginx"}]}}
    c.ok("pod bound to n2", "create", "-f", "-", stdin=json.dumps(pod2))
    c.denied("node cannot patch another node's pod",
             forbidden(u, "patch", "pods", ns="default", name="on-n2",
                       sub="status",
                       reason="node 'n1' can only modify pods bound to it"),
             "patch", "pod", "on-n2", "--subresource=status", "--type=merge",
             "-p", '{"status":{"message":"x"}}', cfg=cfg)
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "n1", "namespace": "kube-node-lease"},
             "spec": {"holderIdentity": "n1"}}
    c.ok("node creates its lease", "create", "-f", "-", cfg=cfg,
         stdin=json.dumps(lease))
    c.ok("node updates its lease", "label", "lease", "n1", "-n",
         "kube-node-lease", "x=y", cfg=cfg)
    lease["metadata"]["name"] = "n2"
    c.ok("admin creates n2's lease", "create", "-f", "-",
         stdin=json.dumps(lease))
    c.denied("node cannot touch n2's lease", "can only access node lease",
             "label", "lease", "n2", "-n", "kube-node-lease", "x=y", cfg=cfg)
    c.denied("node cannot create deployments",
             forbidden(u, "create", "deployments", ns="default",
                       group="apps"),
             "create", "deployment", "d", "--image=nginx", cfg=cfg)
    c.can_i("node can-i get its own Node", "yes", "get", "nodes/n1", cfg=cfg)
    c.can_i("node cannot-i get nodes", "no - node 'n1' cannot read all nodes, "
            "only its own Node object", "get", "nodes", cfg=cfg)


def check_join_node(c, join, kube):
    out = os.path.join(c.tmp, "n3.kubeconfig")
    p = subprocess.run([kube, "config", "join-node", "n3", "--server",
                        "https://127.0.0.1:%d" % c.k.port, "--token", join,
                        "--certificate-authority",
                        os.path.join(c.k.data, "ca.crt"), "-o", out],
                       capture_output=True, text=True, timeout=90)
    c.t.check(p.returncode == 0, "kube config join-node", (p.stdout, p.stderr))
    if p.returncode:
        return
    o = c.ok("joined node whoami", "auth", "whoami", "-o", "json", cfg=out)
    c.t.check('"system:node:n3"' in o, "the joined node is system:node:n3", o)
    p = subprocess.run([kube, "config", "join-node", "n4", "--server",
                        "https://127.0.0.1:%d" % c.k.port, "--token",
                        "aaaaaa.bbbbbbbbbbbbbbbb", "--certificate-authority",
                        os.path.join(c.k.data, "ca.crt"), "-o", out + "4"],
                       capture_output=True, text=True, timeout=90)
    c.t.check(p.returncode != 0 and "Unauthorized" in p.stderr,
              "a wrong join token is refused", (p.stdout, p.stderr))


def check_manual_approval(c):
    """A user's CSR (signer kube-apiserver-client) waits for `kubectl
    certificate approve`; then the CA signs it and the certificate works."""
    key = os.path.join(c.tmp, "dave.key")
    csr = subprocess.run(
        ["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-subj",
         "/O=devs/CN=dave"], capture_output=True, text=True)
    obj = json.loads(json.dumps(CSR_TMPL))
    obj["metadata"]["name"] = "dave"
    obj["spec"]["signerName"] = "kubernetes.io/kube-apiserver-client"
    obj["spec"]["request"] = base64.b64encode(csr.stdout.encode()).decode()
    c.ok("user CSR", "create", "-f", "-", stdin=json.dumps(obj))
    time.sleep(0.3)
    out = c.ok("CSR pending", "get", "csr", "dave", "-o", "json")
    c.t.check("certificate" not in json.loads(out).get("status", {}),
              "a user's CSR is not auto-approved", out)
    c.ok("kubectl certificate approve", "certificate", "approve", "dave")
    cert = None
    for _ in range(50):
        st = json.loads(c.ok("CSR status", "get", "csr", "dave", "-o",
                             "json")).get("status", {})
        if st.get("certificate"):
            cert = base64.b64decode(st["certificate"])
            break
        time.sleep(0.1)
    c.t.check(cert is not None, "approved CSR signed")
    if not cert:
        return
    crt = os.path.join(c.tmp, "dave.crt")
    open(crt, "wb").write(cert)
    rc, out, err = c.kubectl("auth", "whoami", "-o", "json",
                             "--client-certificate", crt, "--client-key", key,
                             "--token", "")
    c.t.check(rc == 0 and '"dave"' in out and '"devs"' in out,
              "the signed certificate authenticates dave in devs",
              (out, err))


def check_audit(c, path):
    lines = open(path).read().splitlines()
    events = [json.loads(x) for x in lines]
    c.t.check(events and all(e["kind"] == "Event" and
                             e["apiVersion"] == "audit.k8s.io/v1" and
                             e["level"] == "Metadata" for e in events),
              "audit lines are audit.k8s.io/v1 Events", lines[:1])
    mine = [e for e in events if e["user"]["username"] == "alice" and
            e["verb"] == "create" and
            e.get("objectRef", {}).get("resource") == "configmaps"]
    codes = sorted(e["responseStatus"]["code"] for e in mine)
    c.t.check(codes == [201, 403] and
              mine[0]["objectRef"]["apiVersion"] == "v1" and
              mine[0]["requestURI"].startswith("/api/v1/namespaces/"),
              "alice's creates are audited (allowed and denied)", mine)
    c.t.check(not any(e["verb"] in ("get", "list", "watch") for e in events),
              "reads are not audited")
    agents = {e.get("userAgent", "").split("/")[0] for e in events
              if e["user"]["username"] == "system:apiserver"}
    c.t.check("kube-controller-manager" in agents,
              "in-process controllers' writes carry their User-Agent",
              sorted(agents))


# kube-apiserver 1.32's bootstrap ClusterRoles (bootstrappolicy), less the
# controllers' system:controller:* ones and those of APIs kubed lacks.
KUBE_ROLES = [
    "admin", "cluster-admin", "edit", "view", "system:aggregate-to-admin",
    "system:aggregate-to-edit", "system:aggregate-to-view",
    "system:auth-delegator", "system:basic-user",
    "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
    "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
    "system:certificates.k8s.io:kube-apiserver-client-approver",
    "system:certificates.k8s.io:kube-apiserver-client-kubelet-approver",
    "system:certificates.k8s.io:kubelet-serving-approver",
    "system:certificates.k8s.io:legacy-unknown-approver",
    "system:discovery", "system:heapster", "system:kube-aggregator",
    "system:kube-controller-manager", "system:kube-dns",
    "system:kube-scheduler", "system:kubelet-api-admin", "system:monitoring",
    "system:node", "system:node-bootstrapper", "system:node-problem-detector",
    "system:node-proxier", "system:persistent-volume-provisioner",
    "system:public-info-viewer", "system:service-account-issuer-discovery",
    "system:volume-scheduler"]


def check_bootstrap_roles(c):
    out = c.ok("kubectl get clusterroles", "get", "clusterroles", "-o",
               "name")
    have = {x.split("/", 1)[1] for x in out.split()}
    c.t.check(not set(KUBE_ROLES) - have, "kube's bootstrap ClusterRoles",
              sorted(set(KUBE_ROLES) - have))
    out = c.ok("kubectl get clusterrolebindings", "get",
               "clusterrolebindings", "-o", "json")
    crbs = {b["metadata"]["name"]: b for b in json.loads(out)["items"]}
    subj = lambda n: [(x["kind"], x["name"])  # noqa: E731
                      for x in crbs.get(n, {}).get("subjects") or []]
    c.t.check(subj("system:kube-scheduler") ==
              [("User", "system:kube-scheduler")] and
              subj("system:volume-scheduler") ==
              [("User", "system:kube-scheduler")] and
              subj("system:kube-controller-manager") ==
              [("User", "system:kube-controller-manager")] and
              subj("system:node-proxier") == [("User", "system:kube-proxy")] and
              subj("system:monitoring") == [("Group", "system:monitoring")] and
              "system:node" in crbs and subj("system:node") == [],
              "kube's bootstrap ClusterRoleBindings and their subjects",
              {n: subj(n) for n in crbs})
    role = json.loads(c.ok("system:kube-scheduler -o json", "get",
                           "clusterrole", "system:kube-scheduler", "-o",
                           "json"))
    c.t.check(role["metadata"]["labels"] ==
              {"kubernetes.io/bootstrapping": "rbac-defaults"} and
              role["metadata"]["annotations"] ==
              {"rbac.authorization.kubernetes.io/autoupdate": "true"} and
              len(role["rules"]) == 18,
              "system:kube-scheduler: kube's label, annotation and 18 rules",
              role["metadata"])
    sched = ("--as", "system:kube-scheduler")
    c.can_i("scheduler: create pods/binding", "yes", "create", "pods",
            "--subresource", "binding", *sched)
    c.can_i("scheduler: patch pods/status", "yes", "patch", "pods",
            "--subresource", "status", *sched)
    c.can_i("scheduler: no pod creates", "no", "create", "pods", *sched)
    c.can_i("scheduler: its own lease", "yes", "update",
            "leases.coordination.k8s.io/kube-scheduler", "-n", "kube-system",
            *sched)
    c.can_i("scheduler: not another's lease", "no", "update",
            "leases.coordination.k8s.io/kube-controller-manager", "-n",
            "kube-system", *sched)
    c.can_i("volume scheduler: patch persistentvolumes", "yes", "patch",
            "persistentvolumes", *sched)
    c.can_i("controller manager: list anything", "yes", "list", "secrets",
            "-A", "--as", "system:kube-controller-manager")
    c.can_i("controller manager: no deletes of pods", "no", "delete", "pods",
            "--as", "system:kube-controller-manager")
    c.can_i("kube-proxy: watch endpointslices", "yes", "watch",
            "endpointslices.discovery.k8s.io", "-A", "--as",
            "system:kube-proxy")
    c.can_i("system:monitoring: GET /metrics", "yes", "get", "/metrics",
            "--as", "prom", "--as-group", "system:monitoring")
    c.can_i("others: no /metrics", "no", "get", "/metrics", "--as", "prom")


def check_unix_and_python(c):
    r = c.k.unix_request("GET", "/api/v1/namespaces/default/pods")
    c.t.check(r.status == 200, "unix socket is still the admin", r)
    code = r'''
import sys
try:
    import kubernetes
except ImportError:
    print("SKIP"); sys.exit(0)
from kubernetes import client
cfg = client.Configuration()
cfg.host = sys.argv[1]
cfg.ssl_ca_cert = sys.argv[2]
cfg.api_key = {"authorization": "Bearer alice-tok"}
api = client.CoreV1Api(client.ApiClient(cfg))
api.list_namespaced_pod("default")
try:
    api.list_namespaced_secret("kube-system")
    print("NO-403")
except client.exceptions.ApiException as e:
    print(e.status, __import__("json").loads(e.body)["message"])
'''
    p = subprocess.run(["/usr/bin/python3", "-c", code,
                        "https://127.0.0.1:%d" % c.k.port,
                        os.path.join(c.k.data, "ca.crt")],
                       capture_output=True, text=True, timeout=60)
    if p.stdout.strip() == "SKIP":
        print("python client not installed: its checks skipped")
        return
    c.t.check(p.returncode == 0 and p.stdout.startswith("403 ") and
              forbidden("alice", "list", "secrets", ns="kube-system") in p.stdout,
              "python client as alice: 403 with the wording", (p.stdout,
                                                              p.stderr[-500:]))


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    kubed, kube = sys.argv[1], sys.argv[2]
    if not os.access(KUBECTL, os.X_OK):
        print("SKIP: %s not installed" % KUBECTL)
        return 77
    if subprocess.run(["openssl", "version"], capture_output=True).returncode:
        print("SKIP: openssl not installed")
        return 77
    tmp = tempfile.mkdtemp(prefix="authz-test-")
    tokens = os.path.join(tmp, "tokens.csv")
    with open(tokens, "w") as f:
        f.write('alice-tok,alice,u1,"devs,qa-not"\nbob-tok,bob,u2\n')
    audit = os.path.join(tmp, "audit.log")
    extra = ["--token-auth-file", tokens, "--audit-log-path", audit,
             "--no-registry"]
    helptext = subprocess.run([kubed, "server", "--help"], capture_output=True,
                              text=True).stdout
    if "--no-node" in helptext:
        extra.append("--no-node")
    t = Failures()
    k = Kubed(kubed, store="sqlite", extra=extra)
    try:
        k.start()
        c = Cluster(k, t, tmp)
        join = check_files(c)
        check_token_users(c)
        check_bootstrap_roles(c)
        check_sar(c)
        check_x509_user(c, kube)
        check_sa_tokens(c)
        check_bootstrap_and_node(c, join)
        check_join_node(c, join, kube)
        check_manual_approval(c)
        check_audit(c, audit)
        check_unix_and_python(c)
    finally:
        k.cleanup()
        subprocess.run(["rm", "-rf", tmp])
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
