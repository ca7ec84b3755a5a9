#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""PodDisruptionBudgets, the eviction subresource and `kubectl drain`
against a real kubed (no node agent: the suite's stand-in kubelet marks
bound pods ready and ends graceful deletions; "killing" its node leaves
the pods as they are):

- pdb: policy/v1 discovery, bad specs refused with 422 and the field
  paths, the disruption controller's status (percentages against the
  Deployment's and ReplicaSet's scale, maxUnavailable, an integer
  minAvailable above the pods there are, unmanaged pods, a spec change
  moving observedGeneration, a scale change), kubectl and kube `create
  pdb`, `get pdb` and `describe pdb`;
- eviction: allowed (201 Status Success, DisruptionTarget on the pod,
  disruptionsAllowed taken and the pod in disruptedPods) and refused with
  kube-apiserver's exact 429, concurrent evictions taking one budget
  once (its writes conflict and are decided again), unready pods
  protected by an unmet budget unless unhealthyPodEvictionPolicy is
  AlwaysAllow, pending pods
  evictable regardless, more than
  one budget 500, dry run, a v1beta1 body, bad bodies, the default roles
  (edit evicts, view may not),
  the Python client's create_namespaced_pod_eviction;
- drain: kubectl 1.32 drain --ignore-daemonsets --delete-emptydir-data
  cordons, evicts within the budget (retrying the 429s), waits, and with
  a budget allowing nothing gives up at --timeout; kubectl uncordon; the
  same through kube cordon / drain / uncordon.

usage: test_disruption.py KUBED KUBE [memory|sqlite|etcd] [SECTION...]
(on etcd the concurrent evictions' budget writes do conflict)
sections: pdb eviction drain (default: all)"""
import json
import os
import shutil
import sys
import tempfile
import threading

from ctl_harness import (KUBECTL, UNREADY, Api, FakeKubelet,  # noqa: E402
                         Failures, Kubed, add_nodes, kubed_args, make_clis,
                         ready_pods, template, wait, wind_down)
from kubed_harness import Etcd  # noqa: E402

NS = "/api/v1/namespaces/default"
APPS = "/apis/apps/v1/namespaces/default"
POLICY = "/apis/policy/v1/namespaces/default/poddisruptionbudgets"
VIOLATION = ("Cannot evict pod as it would violate the pod's disruption "
             "budget.")


def pdb(name, labels, **spec):
    s = {"selector": {"matchLabels": labels}} if labels is not None else {}
    s.update(spec)
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": name}, "spec": s}


def deployment(name, replicas, labels, volumes=False):
    tmpl = template(labels)
    if volumes:
        tmpl["spec"]["volumes"] = [{"name": "scratch", "emptyDir": {}}]
        tmpl["spec"]["containers"][0]["volumeMounts"] = [
            {"name": "scratch", "mountPath": "/scratch"}]
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {"replicas": replicas,
                     "selector": {"matchLabels": labels},
                     "template": tmpl}}


def eviction(name, version="policy/v1", **extra):
    e = {"apiVersion": version, "kind": "Eviction",
         "metadata": {"name": name, "namespace": "default"}}
    e.update(extra)
    return e


def cond(obj, typ):
    for c in (obj or {}).get("status", {}).get("conditions", []):
        if c.get("type") == typ:
            return c
    return None


def causes(r):
    try:
        return {(c.get("field"), c.get("reason"))
                for c in r.json().get("details", {}).get("causes", [])}
    except ValueError:
        return set()


class Suite:
    def __init__(self, t, k, kubelet, kube, kubectl):
        self.t = t
        self.k = k
        self.a = Api(k)
        self.kubelet = kubelet
        self.kube = kube
        self.kubectl = kubectl

    def check(self, *args):
        self.t.check(*args)

    def status(self, name):
        return (self.a.get(POLICY + "/" + name) or {}).get("status", {})

    def wait_status(self, name, timeout=30, **want):
        """The budget's status once every field in want has that value."""
        def ok():
            b = self.a.get(POLICY + "/" + name) or {}
            st = b.get("status", {})
            if st.get("observedGeneration") != \
                    b.get("metadata", {}).get("generation"):
                return None
            return st if all(st.get(k) == v for k, v in want.items()) \
                else None
        return wait(ok, timeout) or self.status(name)

    def pods(self, selector):
        return self.a.items(NS + "/pods", selector)

    def evict(self, name, body=None, query=""):
        return self.k.request("POST", "%s/pods/%s/eviction%s" % (NS, name,
                                                                 query),
                              body if body is not None else eviction(name))

    # ---- pdb ---------------------------------------------------------------

    def pdb(self):
        t = self.check
        r = self.k.request("GET", "/apis/policy/v1")
        res = {x["name"]: x for x in r.json().get("resources", [])} \
            if r.status == 200 else {}
        t("poddisruptionbudgets" in res and
          res["poddisruptionbudgets"].get("shortNames") == ["pdb"] and
          "poddisruptionbudgets/status" in res, "discovery policy/v1", res)
        core = {x["name"]: x for x in
                self.k.request("GET", "/api/v1").json()["resources"]}
        ev = core.get("pods/eviction", {})
        t(ev.get("group") == "policy" and ev.get("version") == "v1" and
          ev.get("kind") == "Eviction" and ev.get("verbs") == ["create"],
          "discovery pods/eviction", ev)

        # Bad specs: 422 Invalid with the field paths of kube-apiserver.
        bad = [
            (pdb("b1", {"app": "x"}, minAvailable=1, maxUnavailable=1),
             ("spec", "FieldValueInvalid")),
            (pdb("b2", {"app": "x"}, minAvailable="150%"),
             ("spec.minAvailable", "FieldValueInvalid")),
            (pdb("b3", {"app": "x"}, maxUnavailable=-1),
             ("spec.maxUnavailable", "FieldValueInvalid")),
            (pdb("b4", {"app": "x"}, minAvailable="half"),
             ("spec.minAvailable", "FieldValueInvalid")),
            (pdb("b5", None, minAvailable=1, selector={"matchExpressions": [
                {"key": "app", "operator": "Near", "values": ["x"]}]}),
             ("spec.selector.matchExpressions[0].operator",
              "FieldValueNotSupported")),
            (pdb("b6", {"app": "x"}, minAvailable=1,
                 unhealthyPodEvictionPolicy="Never"),
             ("spec.unhealthyPodEvictionPolicy", "FieldValueNotSupported")),
            (pdb("b7", {"app": "-bad-"}, minAvailable=1),
             ("spec.selector.matchLabels", "FieldValueInvalid")),
        ]
        for body, want in bad:
            r = self.k.request("POST", POLICY, body)
            t(r.status == 422 and r.json().get("reason") == "Invalid" and
              want in causes(r), "422 %s" % want[0],
              (body["metadata"]["name"], r.status, r.body[:300]))
        r = self.k.request("POST", POLICY,
                           pdb("b1", {"app": "x"}, minAvailable=1,
                               maxUnavailable=1))
        t("minAvailable and maxUnavailable cannot be both set" in
          r.json().get("message", ""), "both set message", r.body[:300])

        # A new budget: the zero status PrepareForCreate leaves.
        r = self.k.request("POST", POLICY,
                           pdb("web", {"app": "web"}, minAvailable="50%"))
        t(r.status == 201, "create pdb web", r)
        if r.status == 201:
            st = r.json().get("status")
            t(st == {"disruptionsAllowed": 0, "currentHealthy": 0,
                     "desiredHealthy": 0, "expectedPods": 0},
              "new budget's status", st)
        # Status updates are validated too.
        b = self.a.get(POLICY + "/web")
        b["status"]["disruptionsAllowed"] = -1
        r = self.k.request("PUT", POLICY + "/web/status", b)
        t(r.status == 422 and ("status.disruptionsAllowed",
                               "FieldValueInvalid") in causes(r),
          "422 status.disruptionsAllowed", (r.status, r.body[:300]))

        self.a.create(APPS + "/deployments",
                      deployment("web", 4, {"app": "web"}))
        st = self.wait_status("web", currentHealthy=4, expectedPods=4)
        t(st.get("expectedPods") == 4 and st.get("desiredHealthy") == 2 and
          st.get("currentHealthy") == 4 and
          st.get("disruptionsAllowed") == 2 and
          st.get("observedGeneration") == 1,
          "50% of a Deployment of 4", st)
        c = cond({"status": st}, "DisruptionAllowed")
        t(c and c["status"] == "True" and c["reason"] == "SufficientPods" and
          c.get("lastTransitionTime"), "DisruptionAllowed True", c)

        # The Deployment's scale, not the pods there are, is expected.
        self.a.patch(APPS + "/deployments/web", {"spec": {"replicas": 6}})
        st = self.wait_status("web", currentHealthy=6, expectedPods=6)
        t(st.get("desiredHealthy") == 3 and st.get("disruptionsAllowed") == 3,
          "50% of 6, rounded up", st)

        # A spec change: a new generation, observed.
        r = self.a.patch(POLICY + "/web", {"spec": {"minAvailable": 5}})
        t(r.status == 200 and r.json()["metadata"].get("generation") == 2,
          "spec change bumps generation", r)
        st = self.wait_status("web", desiredHealthy=5)
        t(st.get("observedGeneration") == 2 and
          st.get("disruptionsAllowed") == 1 and
          st.get("expectedPods") == 6, "integer minAvailable 5 of 6", st)

        # maxUnavailable against a bare ReplicaSet's scale.
        self.a.create(APPS + "/replicasets", {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "rs"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "rs"}},
                     "template": template({"app": "rs"})}})
        self.a.create(POLICY, pdb("rs", {"app": "rs"}, maxUnavailable="34%"))
        st = self.wait_status("rs", currentHealthy=3)
        t(st.get("expectedPods") == 3 and st.get("desiredHealthy") == 1 and
          st.get("disruptionsAllowed") == 2,
          "maxUnavailable 34% of 3 (rounded up: 2)", st)

        # More wanted than there are: nothing allowed, InsufficientPods.
        self.a.create(POLICY, pdb("many", {"app": "rs"}, minAvailable=4))
        st = self.wait_status("many", currentHealthy=3)
        c = cond({"status": st}, "DisruptionAllowed")
        t(st.get("expectedPods") == 3 and st.get("desiredHealthy") == 4 and
          st.get("disruptionsAllowed") == 0 and c and
          c["status"] == "False" and c["reason"] == "InsufficientPods",
          "minAvailable 4 of 3: InsufficientPods", st)

        # Pods without a controller: a percentage cannot be computed.
        for i in range(2):
            p = {"apiVersion": "v1", "kind": "Pod",
                 "metadata": {"name": "solo%d" % i,
                              "labels": {"app": "solo"}},
                 "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
            self.a.create(NS + "/pods", p)
        self.a.create(POLICY, pdb("solo", {"app": "solo"}, minAvailable="50%"))
        evs = wait(lambda: self.a.events("default", "solo", "UnmanagedPods"))
        t(evs and evs[0]["type"] == "Warning" and
          "were found to be unmanaged" in evs[0]["message"],
          "UnmanagedPods event", evs)
        self.a.create(POLICY, pdb("none", {"app": "nothing"}, minAvailable=1))
        evs = wait(lambda: self.a.events("default", "none", "NoPods"))
        t(evs and evs[0]["message"] == "No matching pods found",
          "NoPods event", evs)

        # create pdb: kube builds what kubectl builds, refuses alike.
        specs, errs = {}, {}
        for cli in filter(None, [self.kubectl, self.kube]):
            name = "gen-" + cli.flavor
            rc, out, err = cli.run("create", "pdb", name,
                                   "--selector=app=x,tier in (a,b),!gone",
                                   "--min-available=50%")
            t(rc == 0 and out == "poddisruptionbudget.policy/%s created\n" %
              name, "%s create pdb" % cli.flavor, (rc, out, err))
            specs[cli.flavor] = (self.a.get(POLICY + "/" + name) or
                                 {}).get("spec")
            errs[cli.flavor] = [
                cli.run("create", "pdb", "bad", *args)[2] for args in (
                    ["--selector=app=x"], ["--min-available=1"],
                    ["--selector=app=x", "--min-available=1",
                     "--max-unavailable=1"],
                    ["--selector=app=x", "--min-available=1Gi"],
                    ["--selector=app!=x", "--min-available=1"])]
        t(len({json.dumps(v, sort_keys=True) for v in specs.values()}) == 1
          and specs.get("kube", {}).get("minAvailable") == "50%",
          "kube and kubectl create the same pdb", specs)
        t(len({tuple(v) for v in errs.values()}) == 1 and
          errs["kube"][0] == "error: one of min-available or max-unavailable "
          "must be specified\n", "kube and kubectl refuse alike", errs)

        # kube describe prints what kubectl describe does.
        outs = {}
        for cli in filter(None, [self.kubectl, self.kube]):
            rc, out, err = cli.run("describe", "pdb", "rs")
            outs[cli.flavor] = out.split("Events:")[0]
            t(rc == 0 and "Max unavailable:  34%" in out and
              "Allowed disruptions:  2" in out and "Total:                3"
              in out, "%s describe pdb" % cli.flavor, (rc, out, err))
        t(len(set(outs.values())) == 1, "kube and kubectl describe alike",
          outs)

        # Tables: kubectl and kube.
        for cli in filter(None, [self.kubectl, self.kube]):
            rc, out, err = cli.run("get", "pdb")
            lines = out.splitlines()
            head = lines[0].split() if lines else []
            t(rc == 0 and head == ["NAME", "MIN", "AVAILABLE", "MAX",
                                   "UNAVAILABLE", "ALLOWED", "DISRUPTIONS",
                                   "AGE"],
              "%s get pdb header" % cli.flavor, (rc, out, err))
            rows = {ln.split()[0]: ln.split()[1:4] for ln in lines[1:]}
            t(rows.get("web") == ["5", "N/A", "1"] and
              rows.get("rs") == ["N/A", "34%", "2"],
              "%s get pdb rows" % cli.flavor, rows)

    # ---- eviction ----------------------------------------------------------

    def eviction(self):
        t = self.check
        self.a.create(APPS + "/deployments", deployment("ev", 2, {"app": "ev"}))
        self.a.create(POLICY, pdb("ev", {"app": "ev"}, minAvailable=1))
        st = self.wait_status("ev", currentHealthy=2, disruptionsAllowed=1)
        t(st.get("disruptionsAllowed") == 1, "ev allows one", st)
        pods = wait(lambda: len(ready_pods(self.pods("app=ev"))) == 2 and
                    ready_pods(self.pods("app=ev")))
        names = sorted(p["metadata"]["name"] for p in pods or [])
        t(len(names) == 2, "two ev pods ready", names)
        if len(names) != 2:
            return
        # Their kubelets stop: evicted pods stay (being deleted) meanwhile.
        for n in ("n1", "n2"):
            self.kubelet.kill(n)

        # Allowed: 201 Status Success; the pod is marked, the budget taken.
        r = self.evict(names[0])
        t(r.status == 201 and r.json() == {
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Success", "code": 201}, "eviction allowed: 201", r)
        p = self.a.get(NS + "/pods/" + names[0])
        c = cond(p, "DisruptionTarget")
        t(p and p["metadata"].get("deletionTimestamp") and c and
          c["status"] == "True" and c["reason"] == "EvictionByEvictionAPI" and
          c["message"] == "Eviction API: evicting",
          "evicted pod: deleting, DisruptionTarget", p and p["status"])
        st = self.status("ev")
        # (until the controller sees the pod deleting and counts it out)
        t(st.get("disruptionsAllowed") == 0 and
          (names[0] in st.get("disruptedPods", {}) or
           st.get("currentHealthy") == 1),
          "budget taken (disruptedPods)", st)

        # Refused: kube-apiserver's 429 to the letter.
        st = self.wait_status("ev", disruptionsAllowed=0, currentHealthy=1)
        r = self.evict(names[1])
        want = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                "status": "Failure", "message": VIOLATION,
                "reason": "TooManyRequests",
                "details": {"causes": [{
                    "reason": "DisruptionBudget",
                    "message": "The disruption budget ev needs 1 healthy "
                               "pods and has 1 currently"}]},
                "code": 429}
        t(r.status == 429 and r.json() == want, "eviction refused: 429",
          (r.status, r.body))
        p = self.a.get(NS + "/pods/" + names[1])
        t(p and not p["metadata"].get("deletionTimestamp"),
          "refused pod stays", p and p["metadata"])

        # dryRun: allowed, nothing changes.
        self.a.patch(POLICY + "/ev", {"spec": {"minAvailable": 0}})
        self.wait_status("ev", disruptionsAllowed=1)
        r = self.evict(names[1], eviction(names[1], deleteOptions={
            "dryRun": ["All"]}))
        t(r.status == 201, "dry-run eviction 201", r)
        p = self.a.get(NS + "/pods/" + names[1])
        t(p and not p["metadata"].get("deletionTimestamp") and
          not cond(p, "DisruptionTarget") and
          self.status("ev").get("disruptionsAllowed") == 1,
          "dry run changed nothing", p and p["metadata"])
        # A v1beta1 body with deleteOptions: grace period honoured.
        r = self.evict(names[1], eviction(names[1], "policy/v1beta1",
                                          deleteOptions={
                                              "gracePeriodSeconds": 7}))
        p = self.a.get(NS + "/pods/" + names[1])
        t(r.status == 201 and p and
          p["metadata"].get("deletionGracePeriodSeconds") == 7,
          "v1beta1 eviction, gracePeriodSeconds 7", (r, p and p["metadata"]))
        for n in ("n1", "n2"):
            self.kubelet.revive(n)
        t(wait(lambda: not any(self.a.get(NS + "/pods/" + n) for n in names)),
          "evicted pods gone once their kubelet ends them")

        self.race()
        self.unhealthy()

        # Pending pods go whatever the budget says.
        self.a.create(POLICY, pdb("stuck", {"app": "stuck"}, minAvailable=1))
        self.a.create(NS + "/pods", {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "stuck", "labels": {"app": "stuck"}},
            "spec": {"nodeSelector": {"no": "such-node"},
                     "containers": [{"name": "c", "image": "nginx"}]}})
        st = self.wait_status("stuck", expectedPods=1)
        t(st.get("disruptionsAllowed") == 0 and st.get("expectedPods") == 1,
          "stuck's budget allows nothing", st)
        r = self.evict("stuck")
        t(r.status == 201 and not self.a.get(NS + "/pods/stuck"),
          "pending pod evicted regardless", r)

        # Two budgets over one pod: 500 as kube-apiserver.
        self.a.create(APPS + "/deployments",
                      deployment("two", 1, {"app": "two"}))
        self.a.create(POLICY, pdb("two-a", {"app": "two"}, maxUnavailable=1))
        self.a.create(POLICY, pdb("two-b", {"app": "two"}, maxUnavailable=1))
        pods = wait(lambda: ready_pods(self.pods("app=two")))
        name = pods[0]["metadata"]["name"] if pods else "missing"
        r = self.evict(name)
        t(r.status == 500 and r.json().get("message") ==
          "This pod has more than one PodDisruptionBudget, which the "
          "eviction subresource does not support.", "two budgets: 500", r)

        # Bad requests.
        r = self.evict(name, eviction("other"))
        t(r.status == 400 and r.json().get("message") ==
          "name in URL does not match name in Eviction object",
          "name mismatch 400", r)
        r = self.k.request("GET", NS + "/pods/%s/eviction" % name)
        t(r.status == 405, "GET eviction 405", r)
        r = self.evict("nosuch")
        t(r.status == 404 and r.json().get("reason") == "NotFound",
          "evict missing pod 404", r)
        r = self.k.request("POST", NS + "/pods/%s/eviction" % name, "{",
                           ctype="application/json")
        t(r.status == 400, "malformed body 400", r)

        self.python_client()

        self.rbac()

        # Default roles: edit may create evictions (only create).
        role = self.a.get("/apis/rbac.authorization.k8s.io/v1/clusterroles/"
                          "system:aggregate-to-edit") or {}
        rules = [x for x in role.get("rules", [])
                 if "pods/eviction" in x.get("resources", [])]
        t(rules and all(x["verbs"] == ["create"] for x in rules),
          "edit: pods/eviction create", rules)
        view = self.a.get("/apis/rbac.authorization.k8s.io/v1/clusterroles/"
                          "system:aggregate-to-view") or {}
        t(any("policy" in x.get("apiGroups", []) and
              "poddisruptionbudgets" in x.get("resources", [])
              for x in view.get("rules", [])), "view: poddisruptionbudgets")

    def race(self):
        """Evictions at once against a budget allowing one: the budget's
        writes conflict, the losers decide again, exactly one goes."""
        t = self.check
        self.a.create(APPS + "/deployments",
                      deployment("race", 4, {"app": "race"}))
        self.a.create(POLICY, pdb("race", {"app": "race"}, minAvailable=3))
        st = self.wait_status("race", currentHealthy=4, disruptionsAllowed=1)
        pods = ready_pods(self.pods("app=race"))
        t(st.get("disruptionsAllowed") == 1 and len(pods) == 4,
          "race allows one", st)
        for n in ("n1", "n2"):
            self.kubelet.kill(n)
        codes = []
        lock = threading.Lock()
        go = threading.Event()

        def one(name):
            go.wait()
            r = self.evict(name)
            with lock:
                codes.append(r.status)
        threads = [threading.Thread(target=one, args=(p["metadata"]["name"],))
                   for p in pods]
        for th in threads:
            th.start()
        go.set()
        for th in threads:
            th.join(30)
        t(sorted(codes) == [201, 429, 429, 429],
          "concurrent evictions: one 201, three 429", codes)
        gone = [p for p in self.pods("app=race")
                if p["metadata"].get("deletionTimestamp")]
        t(len(gone) == 1, "one pod evicted", len(gone))
        for n in ("n1", "n2"):
            self.kubelet.revive(n)

    def unhealthy(self):
        """Running but unready pods: the default policy (IfHealthyBudget)
        protects them while the budget is not met, AlwaysAllow does not."""
        t = self.check
        self.a.create(APPS + "/deployments",
                      deployment("sick", 2, {"app": "sick", UNREADY: "true"}))
        pods = wait(lambda: [p for p in self.pods("app=sick")
                             if p["spec"].get("nodeName")]
                    if len([p for p in self.pods("app=sick")
                            if p["spec"].get("nodeName")]) == 2 else None)
        names = sorted(p["metadata"]["name"] for p in pods or [])
        for n in names:
            r = self.a.patch(NS + "/pods/%s/status" % n, {"status": {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": "False"}]}})
            t(r.status == 200, "sick pod Running, not ready", r)
        self.a.create(POLICY, pdb("sick", {"app": "sick"}, minAvailable=1))
        st = self.wait_status("sick", expectedPods=2)
        t(st.get("currentHealthy") == 0 and st.get("disruptionsAllowed") == 0,
          "sick budget: none healthy", st)
        if len(names) != 2:
            return
        r = self.evict(names[0])
        t(r.status == 429 and r.json().get("message") == VIOLATION,
          "unready pod of an unmet budget: 429", (r.status, r.body))
        self.a.patch(POLICY + "/sick", {"spec": {
            "unhealthyPodEvictionPolicy": "AlwaysAllow"}})
        self.wait_status("sick", expectedPods=2)
        r = self.evict(names[0])
        t(r.status == 201, "AlwaysAllow: unready pod evicted", r)

    def token_for(self, sa, role):
        """A ServiceAccount bound to ClusterRole `role` in default, and a
        token of it (TokenRequest)."""
        self.a.create(NS + "/serviceaccounts", {
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": sa}})
        self.a.create("/apis/rbac.authorization.k8s.io/v1/namespaces/default/"
                      "rolebindings", {
                          "apiVersion": "rbac.authorization.k8s.io/v1",
                          "kind": "RoleBinding", "metadata": {"name": sa},
                          "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                      "kind": "ClusterRole", "name": role},
                          "subjects": [{"kind": "ServiceAccount", "name": sa,
                                        "namespace": "default"}]})
        r = self.k.request("POST", NS + "/serviceaccounts/%s/token" % sa, {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"expirationSeconds": 600}})
        return r.json()["status"]["token"] if r.status == 201 else None

    def rbac(self):
        """edit may evict, view may not (but reads the budgets)."""
        t = self.check
        editor = self.token_for("evictor", "edit")
        viewer = self.token_for("watcher", "view")
        t(editor and viewer, "tokens")
        if not (editor and viewer):
            return
        self.a.create(NS + "/pods", {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "victim"},
            "spec": {"nodeSelector": {"no": "such-node"},
                     "containers": [{"name": "c", "image": "nginx"}]}})
        r = self.k.request("POST", NS + "/pods/victim/eviction",
                           eviction("victim"), token=viewer)
        t(r.status == 403 and r.json().get("reason") == "Forbidden",
          "view cannot evict", r)
        r = self.k.request("GET", POLICY, token=viewer)
        t(r.status == 200, "view lists poddisruptionbudgets", r)
        r = self.k.request("POST", NS + "/pods/victim/eviction",
                           eviction("victim"), token=editor)
        t(r.status == 201, "edit evicts", r)

    def python_client(self):
        """The official Python client's create_namespaced_pod_eviction."""
        t = self.check
        try:
            from kubernetes import client, config
        except ImportError:
            print("note: python3-kubernetes missing, its checks skipped")
            return
        self.a.create(APPS + "/deployments", deployment("py", 2, {"app": "py"}))
        self.a.create(POLICY, pdb("py", {"app": "py"}, minAvailable=1))
        st = self.wait_status("py", currentHealthy=2, disruptionsAllowed=1)
        t(st.get("disruptionsAllowed") == 1, "py allows one", st)
        pods = wait(lambda: len(ready_pods(self.pods("app=py"))) == 2 and
                    ready_pods(self.pods("app=py"))) or []
        names = [p["metadata"]["name"] for p in pods]
        if len(names) != 2:
            t(False, "two py pods", names)
            return
        api = client.CoreV1Api(config.new_client_from_config(
            os.path.join(self.k.data, "kubeconfig.yaml")))

        def body(n):
            return client.V1Eviction(metadata=client.V1ObjectMeta(
                name=n, namespace="default"))
        r = api.create_namespaced_pod_eviction(names[0], "default",
                                               body(names[0]))
        t(r.kind == "Status", "python: evicted", r)
        try:
            api.create_namespaced_pod_eviction(names[1], "default",
                                               body(names[1]))
            t(False, "python: second eviction refused")
        except client.exceptions.ApiException as e:
            t(e.status == 429 and
              json.loads(e.body).get("message") == VIOLATION,
              "python: 429 ApiException", (e.status, e.body))

    # ---- drain -------------------------------------------------------------

    def drain(self):
        t = self.check
        kc = self.kubectl
        # The workload lands on n1 (n2 cordoned meanwhile); a DaemonSet
        # runs everywhere.
        t(kc.run("cordon", "n2")[0] == 0, "cordon n2")
        self.a.create(APPS + "/deployments",
                      deployment("app", 3, {"app": "app"}, volumes=True))
        self.a.create(APPS + "/daemonsets", {
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "agent"},
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                     "template": template({"app": "agent"})}})
        on = wait(lambda: len([p for p in ready_pods(self.pods("app=app"))
                               if p["spec"]["nodeName"] == "n1"]) == 3)
        t(on, "three app pods on n1")
        rc, out, err = kc.run("uncordon", "n2")
        t(rc == 0 and "node/n2 uncordoned" in out, "uncordon n2",
          (rc, out, err))
        rc, out, err = kc.run("create", "pdb", "app", "--selector=app=app",
                              "--min-available=2")
        t(rc == 0, "kubectl create pdb", (rc, out, err))
        st = self.wait_status("app", currentHealthy=3, disruptionsAllowed=1)
        t(st.get("disruptionsAllowed") == 1, "app allows one", st)

        rc, out, err = kc.run("drain", "n1", "--ignore-daemonsets",
                              "--delete-emptydir-data", "--timeout=120s",
                              timeout=150)
        t(rc == 0 and "node/n1 cordoned" in out and
          out.count("evicted") == 3 and "node/n1 drained" in out,
          "kubectl drain n1", (rc, out, err))
        t("ignoring DaemonSet-managed Pods" in err, "DaemonSet pods ignored",
          err)
        pods = ready_pods(self.pods("app=app"))
        t(len(pods) == 3 and all(p["spec"]["nodeName"] == "n2"
                                 for p in pods),
          "app runs on n2", [(p["metadata"]["name"], p["spec"]["nodeName"])
                             for p in pods])
        ds = [p for p in self.pods("app=agent")
              if p["spec"].get("nodeName") == "n1"]
        t(len(ds) == 1, "the DaemonSet's pod stays on n1", len(ds))
        n1 = self.a.get("/api/v1/nodes/n1")
        t(n1["spec"].get("unschedulable") is True, "n1 unschedulable")
        rc, out, err = kc.run("get", "nodes", "n1")
        t(rc == 0 and "SchedulingDisabled" in out, "n1 SchedulingDisabled",
          out)
        st = self.wait_status("app", currentHealthy=3)
        t(st.get("currentHealthy") == 3 and st.get("disruptionsAllowed") == 1,
          "app healthy again", st)

        rc, out, err = kc.run("uncordon", "n1")
        t(rc == 0 and "node/n1 uncordoned" in out, "kubectl uncordon n1",
          (rc, out, err))
        t(not self.a.get("/api/v1/nodes/n1")["spec"].get("unschedulable"),
          "n1 schedulable")

        # A budget allowing nothing: drain gives up at --timeout.
        self.a.patch(POLICY + "/app", {"spec": {"minAvailable": None,
                                                "maxUnavailable": 0}})
        st = self.wait_status("app", disruptionsAllowed=0, desiredHealthy=3)
        t(st.get("disruptionsAllowed") == 0, "maxUnavailable 0", st)
        rc, out, err = kc.run("drain", "n2", "--ignore-daemonsets",
                              "--delete-emptydir-data", "--timeout=8s",
                              timeout=60)
        t(rc != 0 and VIOLATION in err and
          "global timeout reached: 8s" in err and
          'unable to drain node "n2"' in err,
          "drain blocked by the budget times out", (rc, out, err))
        pods = ready_pods(self.pods("app=app"))
        t(len(pods) == 3 and all(p["spec"]["nodeName"] == "n2"
                                 for p in pods), "nothing evicted", len(pods))
        rc, out, err = kc.run("uncordon", "n2")
        t(rc == 0 and "node/n2 uncordoned" in out, "kubectl uncordon n2",
          (rc, out, err))
        self.kube_drain()

    def kube_drain(self):
        """The same with kube cordon / drain / uncordon."""
        t = self.check
        kube = self.kube
        self.a.patch(POLICY + "/app", {"spec": {"maxUnavailable": None,
                                                "minAvailable": 2}})
        st = self.wait_status("app", disruptionsAllowed=1, desiredHealthy=2)
        t(st.get("disruptionsAllowed") == 1, "app allows one again", st)
        rc, out, err = kube.run("drain", "n2", "--ignore-daemonsets")
        t(rc == 1 and "node/n2 cordoned" in out and
          "cannot delete Pods with local storage (use --delete-emptydir-data "
          "to override): default/app-" in err,
          "kube drain refuses local storage", (rc, out, err))
        rc, out, err = kube.run("uncordon", "n1")
        t(rc == 0 and out == "node/n1 already uncordoned\n",
          "kube uncordon n1 (already)", (rc, out, err))
        rc, out, err = kube.run("drain", "n2", "--ignore-daemonsets",
                                "--delete-emptydir-data", "--timeout=120s",
                                timeout=150)
        t(rc == 0 and "node/n2 already cordoned" in out and
          out.count("evicted") == 3 and "node/n2 drained" in out and
          "ignoring DaemonSet-managed Pods" in err,
          "kube drain n2", (rc, out, err))
        pods = ready_pods(self.pods("app=app"))
        t(len(pods) == 3 and all(p["spec"]["nodeName"] == "n1"
                                 for p in pods), "app runs on n1", len(pods))
        self.a.patch(POLICY + "/app", {"spec": {"minAvailable": 3}})
        self.wait_status("app", disruptionsAllowed=0, desiredHealthy=3)
        rc, out, err = kube.run("drain", "n1", "--ignore-daemonsets",
                                "--delete-emptydir-data", "--timeout=6s",
                                timeout=60)
        t(rc == 1 and VIOLATION in err and
          "global timeout reached: 6s" in err and
          'unable to drain node "n1"' in err,
          "kube drain blocked by the budget times out", (rc, out, err))
        rc, out, err = kube.run("uncordon", "n1", "n2")
        t(rc == 0 and "node/n1 uncordoned" in out and
          "node/n2 uncordoned" in out, "kube uncordon n1 n2", (rc, out, err))


SECTIONS = {"pdb": ["pdb"], "eviction": ["eviction"], "drain": ["drain"]}


def main():
    if len(sys.argv) < 3 or any(a not in SECTIONS for a in sys.argv[4:]):
        print(__doc__)
        return 2
    kubed, kube = sys.argv[1], sys.argv[2]
    store = sys.argv[3] if len(sys.argv) > 3 else "memory"
    sections = sys.argv[4:] or list(SECTIONS)
    if store == "etcd" and not Etcd.available():
        print("SKIP: %s missing: no etcd store to test with" % Etcd.BINARY)
        return 77
    if "drain" in sections and not os.access(KUBECTL, os.X_OK):
        print("SKIP: %s missing: kubectl drain cannot be tested" % KUBECTL)
        return 77
    t = Failures()
    k = Kubed(kubed, store=store, extra=kubed_args(kubed))
    tmp = tempfile.mkdtemp(prefix="kube-pdb-test-")
    clis = []
    kubelet = None
    try:
        k.start()
        add_nodes(k, ["n1", "n2"])
        kubelet = FakeKubelet(k, ["n1", "n2"]).start()
        kube_cli, kubectl, clis = make_clis(k, kube)
        s = Suite(t, k, kubelet, kube_cli, kubectl)
        for name in sections:
            for step in SECTIONS[name]:
                getattr(s, step)()
    finally:
        wind_down(t, k, kubelet, clis)
        shutil.rmtree(tmp, ignore_errors=True)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
