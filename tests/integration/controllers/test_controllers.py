#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The controllers of `kubed server` against a real kubed (no node agent: a
stand-in kubelet marks bound pods Running and Ready): ReplicaSet and
ReplicationController (scale with kube and kubectl, adoption and release,
events, status), Deployment (rolling update, Recreate, history, undo,
pause/resume/restart and status with kubectl 1.32 and `kube rollout`, the
same output from both, progress deadline), the garbage collector (kubectl
and kube delete with --cascade=background|orphan|foreground, dangling
owners, an owner cycle), Endpoints and EndpointSlices, leader-election
Leases, bad input, and (sqlite) a restart that creates nothing twice.

usage: test_controllers.py KUBED KUBE [memory|sqlite] [SECTION...]
sections: manager replicaset deployment gc endpoints (default: all)"""
import shutil
import sys
import tempfile

from ctl_harness import (UNREADY, Api, FakeKubelet, Failures,  # noqa: E402
                         Kubed, add_nodes, kubed_args, make_clis, ready_pods,
                         template, wait, wind_down)

NS = "/api/v1/namespaces/default"
APPS = "/apis/apps/v1/namespaces/default"


def owned_by(obj, uid):
    return any(r.get("uid") == uid and r.get("controller")
               for r in obj["metadata"].get("ownerReferences", []))


def live(pods):
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


class Suite:
    def __init__(self, t, k, kube, kubectl):
        self.t = t
        self.k = k
        self.a = Api(k)
        self.kube = kube
        self.kubectl = kubectl  # None when kubectl 1.32 is missing

    def check(self, *args):
        self.t.check(*args)

    def pods(self, selector):
        return live(self.a.items(NS + "/pods", selector))

    def wait_pods(self, selector, n, ready=True, timeout=60):
        def cond():
            ps = self.pods(selector)
            got = ready_pods(ps) if ready else ps
            return ps if len(got) == n and len(ps) == n else None
        return wait(cond, timeout) or []

    def rs_of(self, deploy_uid):
        return [r for r in self.a.items(APPS + "/replicasets")
                if owned_by(r, deploy_uid)]

    # ---- ReplicaSet / ReplicationController ----------------------------

    def replicaset(self):
        t = self.check
        rs = self.a.create(APPS + "/replicasets", {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "rs1"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "rs1"}},
                     "template": template({"app": "rs1"})}})
        uid = rs["metadata"]["uid"]
        pods = self.wait_pods("app=rs1", 3)
        t(len(pods) == 3 and all(owned_by(p, uid) for p in pods),
          "rs: 3 pods owned by the ReplicaSet", len(pods))
        t(all(p["metadata"]["generateName"] == "rs1-" for p in pods),
          "rs: pods named rs1-*")

        def status_is(want):
            def cond():
                s = self.a.get(APPS + "/replicasets/rs1").get("status", {})
                return s if all(s.get(k, 0) == v for k, v in want.items()) else None
            return cond
        st = wait(status_is({"replicas": 3, "fullyLabeledReplicas": 3,
                             "readyReplicas": 3, "availableReplicas": 3,
                             "observedGeneration": 1}))
        t(st is not None, "rs: status counts ready and available pods",
          self.a.get(APPS + "/replicasets/rs1").get("status"))
        evs = self.a.events("default", "rs1", "SuccessfulCreate")
        t(len(evs) >= 3 and all(e["message"].startswith("Created pod: rs1-")
                                for e in evs) and
          evs[0]["source"].get("component") == "replicaset-controller",
          "rs: SuccessfulCreate events", [e.get("message") for e in evs])

        rc, out, err = self.kube.run("scale", "rs", "rs1", "--replicas=5")
        t(rc == 0 and out == "replicaset.apps/rs1 scaled\n", "kube scale rs",
          (rc, out, err))
        t(len(self.wait_pods("app=rs1", 5)) == 5, "rs: scaled up to 5")
        if self.kubectl:
            rc, out, err = self.kubectl.run("scale", "replicaset/rs1",
                                            "--replicas=1")
            t(rc == 0 and out == "replicaset.apps/rs1 scaled\n",
              "kubectl scale rs", (rc, out, err))
        else:
            self.kube.run("scale", "rs", "rs1", "--replicas=1")
        t(len(self.wait_pods("app=rs1", 1)) == 1, "rs: scaled down to 1")
        dels = wait(lambda: [e for e in self.a.events("default", "rs1",
                                                      "SuccessfulDelete")])
        t(dels and dels[0]["message"].startswith("Deleted pod: rs1-"),
          "rs: SuccessfulDelete events", dels)

        # An orphan matching the selector is adopted, then one goes.
        self.a.create(NS + "/pods", {"apiVersion": "v1", "kind": "Pod",
                                     "metadata": {"name": "stray",
                                                  "labels": {"app": "rs1"}},
                                     "spec": template({})["spec"]})

        def adopted():
            ps = self.pods("app=rs1")
            return ps if len(ps) == 1 and owned_by(ps[0], uid) else None
        t(wait(adopted) is not None, "rs: orphan adopted, surplus deleted",
          [(p["metadata"]["name"], p["metadata"].get("ownerReferences"))
           for p in self.pods("app=rs1")])

        # A pod whose labels stop matching is released and replaced.
        kept = self.pods("app=rs1")[0]["metadata"]["name"]
        self.a.patch(NS + "/pods/" + kept,
                     {"metadata": {"labels": {"app": "elsewhere"}}})
        released = wait(lambda: (lambda p: p if p and not p["metadata"].get(
            "ownerReferences") else None)(self.a.get(NS + "/pods/" + kept)))
        t(released is not None, "rs: pod released when its labels change")
        t(len(self.wait_pods("app=rs1", 1)) == 1 and
          self.pods("app=rs1")[0]["metadata"]["name"] != kept,
          "rs: a replacement created")
        self.a.k.request("DELETE", NS + "/pods/" + kept,
                         {"gracePeriodSeconds": 0})

        # Bad input: the API refuses, nothing is created.
        bad = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
               "metadata": {"name": "bad"},
               "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "x"}},
                        "template": template({"app": "y"})}}
        r = self.k.request("POST", APPS + "/replicasets", bad)
        t(r.status == 422 and r.json().get("reason") == "Invalid" and
          "selector" in r.json().get("message", ""),
          "rs: selector not matching the template labels is Invalid", r)
        bad["spec"]["selector"] = {"matchExpressions": [
            {"key": "app", "operator": "Sometimes", "values": ["x"]}]}
        r = self.k.request("POST", APPS + "/replicasets", bad)
        t(r.status == 422 and r.json().get("reason") == "Invalid",
          "rs: an unknown selector operator is Invalid", r)
        t(self.a.get(APPS + "/replicasets/bad") is None, "rs: nothing stored")

    def replication_controller(self):
        t = self.check
        rc_obj = self.a.create(NS + "/replicationcontrollers", {
            "apiVersion": "v1", "kind": "ReplicationController",
            "metadata": {"name": "rc1"},
            "spec": {"replicas": 2, "selector": {"app": "rc1"},
                     "template": template({"app": "rc1"})}})
        pods = self.wait_pods("app=rc1", 2)
        t(len(pods) == 2 and all(owned_by(p, rc_obj["metadata"]["uid"])
                                 for p in pods), "rc: 2 pods owned")
        st = wait(lambda: (lambda s: s if s.get("readyReplicas") == 2 else None)(
            self.a.get(NS + "/replicationcontrollers/rc1").get("status", {})))
        t(st and st.get("replicas") == 2, "rc: status", st)
        evs = self.a.events("default", "rc1", "SuccessfulCreate")
        t(evs and evs[0]["source"].get("component") ==
          "replication-controller", "rc: events from replication-controller",
          evs[:1])
        rc, out, err = self.kube.run("delete", "rc", "rc1")
        t(rc == 0, "kube delete rc", (rc, out, err))
        t(wait(lambda: not self.pods("app=rc1")), "rc: pods collected")

    # ---- Deployment ------------------------------------------------------

    def deployment(self):
        t = self.check
        c = self.kubectl or self.kube
        if self.kubectl:
            rc, out, err = self.kubectl.run("create", "deployment", "web",
                                            "--image=nginx:1", "--replicas=3")
        else:
            rc, out, err = self.kube.run("create", "deployment", "web",
                                         "--image=nginx:1", "--replicas=3")
        t(rc == 0, "create deployment", (rc, out, err))
        for cli in filter(None, [self.kubectl, self.kube]):
            rc, out, err = cli.run("rollout", "status", "deployment/web",
                                   "--timeout=90s", timeout=100)
            t(rc == 0 and out.endswith(
                'deployment "web" successfully rolled out\n'),
              "%s rollout status" % cli.flavor, (rc, out, err))
        d = self.a.get(APPS + "/deployments/web")
        uid = d["metadata"]["uid"]
        rss = self.rs_of(uid)
        t(len(rss) == 1, "deploy: one ReplicaSet", len(rss))
        first = rss[0]["metadata"]["name"] if rss else ""
        h = rss[0]["metadata"]["labels"].get("pod-template-hash") if rss else ""
        t(first == "web-" + (h or "?") and
          rss[0]["spec"]["selector"]["matchLabels"].get("pod-template-hash") == h,
          "deploy: ReplicaSet named and selected by pod-template-hash", first)
        conds = {c_["type"]: c_ for c_ in d["status"].get("conditions", [])}
        t(conds.get("Available", {}).get("reason") == "MinimumReplicasAvailable"
          and conds.get("Progressing", {}).get("reason") ==
          "NewReplicaSetAvailable", "deploy: conditions", conds)
        t(d["metadata"]["annotations"].get(
            "deployment.kubernetes.io/revision") == "1", "deploy: revision 1")

        # A rolling update of 10 replicas stays within surge/unavailable.
        self.a.patch(APPS + "/deployments/web", {"spec": {
            "replicas": 10, "strategy": {"rollingUpdate": {
                "maxSurge": 2, "maxUnavailable": "10%"}}}})
        self.wait_pods("app=web", 10)
        wait(lambda: (lambda s: s.get("availableReplicas") == 10)(
            self.a.get(APPS + "/deployments/web")["status"]))
        self.set_image(c, "web", "nginx:2")
        over, under = self.watch_rollout("app=web", 10, 12, 9)
        t(not over, "rolling update: never more than replicas + maxSurge",
          over)
        t(not under, "rolling update: never fewer ready than replicas - "
          "maxUnavailable", under)
        rss = self.rs_of(uid)
        t(len(rss) == 2 and sorted(r["spec"]["replicas"] for r in rss) == [0, 10],
          "deploy: old ReplicaSet at 0, new at 10",
          [(r["metadata"]["name"], r["spec"]["replicas"]) for r in rss])
        evs = self.a.events("default", "web", "ScalingReplicaSet")
        t(any(e["message"].startswith("Scaled down replica set %s from" % first)
              for e in evs), "deploy: ScalingReplicaSet events",
          [e["message"] for e in evs][:4])

        self.history_same("web")
        self.history_same("web", "--revision=1")
        # undo: back to revision 1's template, its ReplicaSet reused.
        rc, out, err = c.run("rollout", "undo", "deployment/web")
        t(rc == 0 and out == "deployment.apps/web rolled back\n",
          "%s rollout undo" % c.flavor, (rc, out, err))
        self.wait_rolled("web")
        d = self.a.get(APPS + "/deployments/web")
        t(d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1"
          and d["metadata"]["annotations"].get(
              "deployment.kubernetes.io/revision") == "3",
          "undo: template of revision 1 as revision 3")
        back = [r for r in self.rs_of(uid) if r["spec"]["replicas"] == 10]
        t(len(back) == 1 and back[0]["metadata"]["name"] == first,
          "undo: the first ReplicaSet scaled back up")
        rc, out, err = self.kube.run("rollout", "undo", "deployment/web",
                                     "--to-revision=2")
        t(rc == 0 and out == "deployment.apps/web rolled back\n",
          "kube rollout undo --to-revision", (rc, out, err))
        self.wait_rolled("web")
        d = self.a.get(APPS + "/deployments/web")
        t(d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2",
          "undo --to-revision=2")
        self.history_same("web")

        # pause / resume
        rc, out, err = self.kube.run("rollout", "pause", "deployment/web")
        t(rc == 0 and out == "deployment.apps/web paused\n", "kube rollout pause",
          (rc, out, err))
        n_rs = len(self.rs_of(uid))
        self.set_image(c, "web", "nginx:3")
        d = wait(lambda: (lambda d: d if d["status"].get("observedGeneration") ==
                          d["metadata"]["generation"] else None)(
            self.a.get(APPS + "/deployments/web")))
        t(d and len(self.rs_of(uid)) == n_rs, "paused: no new ReplicaSet")
        conds = {c_["type"]: c_ for c_ in d["status"].get("conditions", [])} if d else {}
        t(conds.get("Progressing", {}).get("reason") == "DeploymentPaused",
          "paused: Progressing reason DeploymentPaused", conds.get("Progressing"))
        if self.kubectl:
            rc, out, err = self.kubectl.run("rollout", "pause", "deployment/web")
            rc2, out2, err2 = self.kube.run("rollout", "pause", "deployment/web")
            t((rc, out, err) == (rc2, out2, err2.replace("kube", "kubectl")) or
              (rc == rc2 and out == out2 and err.split(":", 1)[-1] ==
               err2.split(":", 1)[-1]),
              "pause twice: same answer", ((rc, out, err), (rc2, out2, err2)))
        rc, out, err = (self.kubectl or self.kube).run("rollout", "resume",
                                                       "deployment/web")
        t(rc == 0 and out == "deployment.apps/web resumed\n", "rollout resume",
          (rc, out, err))
        self.wait_rolled("web")
        t(len(self.rs_of(uid)) == n_rs + 1, "resumed: the new ReplicaSet")
        rc, out, err = self.kube.run("rollout", "restart", "deployment/web")
        t(rc == 0 and out == "deployment.apps/web restarted\n",
          "kube rollout restart", (rc, out, err))
        self.wait_rolled("web")
        d = self.a.get(APPS + "/deployments/web")
        t("kubectl.kubernetes.io/restartedAt" in
          d["spec"]["template"]["metadata"].get("annotations", {}),
          "restart: restartedAt annotation")
        if self.kubectl:
            a = self.kubectl.run("rollout", "status", "deployment/web")
            b = self.kube.run("rollout", "status", "deployment/web")
            t(a == b, "rollout status: same output", (a, b))

        # revisionHistoryLimit: old ReplicaSets beyond it are deleted.
        self.a.patch(APPS + "/deployments/web",
                     {"spec": {"revisionHistoryLimit": 1}})
        t(wait(lambda: len(self.rs_of(uid)) == 2), "revisionHistoryLimit 1",
          len(self.rs_of(uid)))
        self.history_same("web")

        # Proportional scaling in the middle of a rollout: the new pods
        # stay unready, so both ReplicaSets are live; scaling splits.
        self.a.patch(APPS + "/deployments/web", {"spec": {
            "template": {"metadata": {"labels": {UNREADY: "true"}}}}})
        # It settles with the old ReplicaSet at 9 (maxUnavailable 1) and
        # the new one at 3 (maxSurge 2).
        def settled():
            d_ = self.a.get(APPS + "/deployments/web")
            rs = self.rs_of(uid)
            return (d_["status"].get("observedGeneration") ==
                    d_["metadata"]["generation"] and len(rs) == 3 and
                    sorted(r["spec"]["replicas"] for r in rs) == [0, 3, 9] and
                    sorted(r["status"].get("replicas", 0) for r in rs) == [0, 3, 9])
        t(wait(settled), "proportional: rollout stuck at 9 old + 3 new",
          [(r["metadata"]["name"], r["spec"]["replicas"]) for r in self.rs_of(uid)])
        c.run("scale", "deployment/web", "--replicas=20")

        def split():
            rs = [r for r in self.rs_of(uid) if r["spec"]["replicas"] > 0]
            total = sum(r["spec"]["replicas"] for r in rs)
            return rs if len(rs) == 2 and total == 22 else None
        rs = wait(split)
        t(rs is not None, "proportional: 20 + maxSurge 2 split over both",
          [(r["metadata"]["name"], r["spec"]["replicas"]) for r in self.rs_of(uid)])
        if rs:
            new = [r for r in rs if UNREADY in
                   r["spec"]["template"]["metadata"]["labels"]][0]
            # old 9*22/12 = 16.5 -> 17, new 3*22/12 = 5.5 -> 6 capped at
            # the 2 left to add (as kube-controller-manager rounds).
            t(new["spec"]["replicas"] == 5, "proportional: new 3 -> 5",
              new["spec"]["replicas"])

        # progress deadline
        self.a.patch(APPS + "/deployments/web",
                     {"spec": {"progressDeadlineSeconds": 1}})

        def exceeded():
            d_ = self.a.get(APPS + "/deployments/web")
            cs = {c_["type"]: c_ for c_ in d_["status"].get("conditions", [])}
            p = cs.get("Progressing", {})
            return p if p.get("reason") == "ProgressDeadlineExceeded" else None
        p = wait(exceeded, 30)
        t(p and p["status"] == "False", "ProgressDeadlineExceeded", p)
        for cli in filter(None, [self.kubectl, self.kube]):
            rc, out, err = cli.run("rollout", "status", "deployment/web")
            t(rc == 1 and 'deployment "web" exceeded its progress deadline' in err,
              "%s rollout status: deadline" % cli.flavor, (rc, out, err))
        # Back to a template whose pods get ready.
        self.a.patch(APPS + "/deployments/web", {"spec": {
            "replicas": 3, "progressDeadlineSeconds": 600,
            "template": {"metadata": {"labels": {UNREADY: None}}}}})
        self.wait_rolled("web")
        # Recreate: all old pods gone before new ones come.  (Switching
        # strategy with two active ReplicaSets and a new size at once would
        # stay a scaling event forever, in kube-controller-manager too.)
        self.a.patch(APPS + "/deployments/web", {"spec": {
            "strategy": {"type": "Recreate", "rollingUpdate": None}}})
        self.wait_rolled("web")
        self.set_image(c, "web", "nginx:4")
        over, _ = self.watch_rollout("app=web", 3, 3, 0, recreate=True)
        t(not over, "recreate: old and new pods never together", over)

    def set_image(self, c, name, image):
        if c.flavor == "kube":
            r = self.a.patch(APPS + "/deployments/" + name, {"spec": {"template": {
                "spec": {"containers": [{"name": "nginx", "image": image}]}}}},
                ctype="application/strategic-merge-patch+json")
            self.check(r.status == 200, "patch image", r)
        else:
            rc, out, err = c.run("set", "image", "deployment/" + name,
                                 "nginx=" + image)
            self.check(rc == 0, "kubectl set image", (rc, out, err))

    def wait_rolled(self, name):
        def cond():
            d = self.a.get(APPS + "/deployments/" + name)
            s = d.get("status", {})
            return (s.get("observedGeneration") == d["metadata"]["generation"] and
                    s.get("updatedReplicas") == d["spec"]["replicas"] and
                    s.get("replicas") == d["spec"]["replicas"] and
                    s.get("availableReplicas") == d["spec"]["replicas"])
        self.check(wait(cond, 90) is True, "rollout of %s finished" % name)

    def watch_rollout(self, selector, replicas, most, least, recreate=False):
        """Sample the pods until the rollout ends; samples with more live
        pods than `most` or fewer ready than `least`."""
        over, under = [], []
        images = set()

        def cond():
            ps = self.pods(selector)
            if len(ps) > most:
                over.append(len(ps))
            imgs = {p["spec"]["containers"][0]["image"] for p in ps}
            if recreate and len(imgs) > 1:
                over.append(sorted(imgs))
            images.update(imgs)
            if len(ready_pods(ps)) < least:
                under.append(len(ready_pods(ps)))
            d = self.a.get(APPS + "/deployments/web")
            s = d["status"]
            return (s.get("observedGeneration") == d["metadata"]["generation"] and
                    s.get("updatedReplicas") == replicas and
                    s.get("replicas") == replicas and
                    s.get("availableReplicas") == replicas)
        self.check(wait(cond, 90, 0.01), "rollout finished")
        return over, under

    def history_same(self, name, *extra):
        args = ("rollout", "history", "deployment/" + name) + extra
        b = self.kube.run(*args)
        self.check(b[0] == 0 and "REVISION" in b[1] or "Pod Template" in b[1],
                   "kube " + " ".join(args), b)
        if self.kubectl:
            a = self.kubectl.run(*args)
            self.check(a == b, "same output: " + " ".join(args), (a, b))

    # ---- garbage collector ----------------------------------------------

    def deploy(self, name, replicas=2):
        self.a.create(APPS + "/deployments", {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {"replicas": replicas,
                     "selector": {"matchLabels": {"app": name}},
                     "template": template({"app": name})}})
        self.wait_pods("app=" + name, replicas)
        return self.a.get(APPS + "/deployments/" + name)

    def gc(self):
        t = self.check
        c = self.kubectl or self.kube
        d = self.deploy("bg")
        rc, out, err = c.run("delete", "deployment", "bg")
        t(rc == 0 and out == 'deployment.apps "bg" deleted\n', "delete deploy",
          (rc, out, err))
        t(wait(lambda: not self.rs_of(d["metadata"]["uid"]) and
               not self.pods("app=bg")), "background: ReplicaSets and pods go")

        d = self.deploy("orph")
        rss = self.rs_of(d["metadata"]["uid"])
        rc, out, err = c.run("delete", "deployment", "orph", "--cascade=orphan")
        t(rc == 0, "delete --cascade=orphan", (rc, out, err))
        rs = wait(lambda: (lambda r: r if r and not r["metadata"].get(
            "ownerReferences") else None)(
            self.a.get(APPS + "/replicasets/" + rss[0]["metadata"]["name"])))
        t(rs is not None, "orphan: ReplicaSet kept without its owner")
        t(len(self.pods("app=orph")) == 2, "orphan: pods kept")
        t(self.a.get(APPS + "/deployments/orph") is None, "orphan: owner gone")
        rc, out, err = self.kube.run("delete", "rs", rss[0]["metadata"]["name"])
        t(wait(lambda: not self.pods("app=orph")), "orphan: pods go with the rs")

        for cli in filter(None, [self.kube, self.kubectl]):
            name = "fg-" + cli.flavor.replace("-", "")
            d = self.deploy(name)
            rc, out, err = cli.run("delete", "deployment", name,
                                   "--cascade=foreground", timeout=90)
            t(rc == 0 and out == 'deployment.apps "%s" deleted\n' % name,
              "%s delete --cascade=foreground" % cli.flavor, (rc, out, err))
            # Foreground: the owner went last.
            t(not self.rs_of(d["metadata"]["uid"]) and
              not self.a.items(NS + "/pods", "app=" + name),
              "foreground: dependents gone before the owner")

        # A dangling owner reference: the dependent is collected.
        self.a.create(NS + "/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "dangling", "ownerReferences": [{
                "apiVersion": "v1", "kind": "ConfigMap", "name": "nobody",
                "uid": "00000000-0000-0000-0000-000000000001"}]}})
        t(wait(lambda: self.a.get(NS + "/configmaps/dangling") is None),
          "dangling owner: dependent deleted")
        # An owner cycle deleted in the foreground ends.
        a = self.a.create(NS + "/configmaps", {"apiVersion": "v1",
                                               "kind": "ConfigMap",
                                               "metadata": {"name": "cyc-a"}})
        b = self.a.create(NS + "/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cyc-b", "ownerReferences": [{
                "apiVersion": "v1", "kind": "ConfigMap", "name": "cyc-a",
                "uid": a["metadata"]["uid"], "blockOwnerDeletion": True}]}})
        self.a.patch(NS + "/configmaps/cyc-a", {"metadata": {"ownerReferences": [{
            "apiVersion": "v1", "kind": "ConfigMap", "name": "cyc-b",
            "uid": b["metadata"]["uid"], "blockOwnerDeletion": True}]}})
        rc, out, err = c.run("delete", "configmap", "cyc-a",
                             "--cascade=foreground", timeout=90)
        t(rc == 0, "cycle: delete --cascade=foreground returns", (rc, out, err))
        t(wait(lambda: self.a.get(NS + "/configmaps/cyc-b") is None and
               self.a.get(NS + "/configmaps/cyc-a") is None),
          "cycle: both deleted")

    # ---- Endpoints / EndpointSlices ---------------------------------------

    def endpoints(self):
        t = self.check
        self.a.create(APPS + "/deployments", {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "ep"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "ep"}},
                     "template": {"metadata": {"labels": {"app": "ep"}},
                                  "spec": {"containers": [{
                                      "name": "c", "image": "nginx",
                                      "ports": [{"name": "http",
                                                 "containerPort": 80}]}]}}}})
        self.wait_pods("app=ep", 3)
        self.a.create(NS + "/services", {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "ep"},
            "spec": {"selector": {"app": "ep"}, "ports": [
                {"name": "web", "port": 8080, "targetPort": "http"}]}})
        pod_ips = sorted(p["status"]["podIP"] for p in self.pods("app=ep"))

        def ep_ips(key="addresses"):
            e = self.a.get(NS + "/endpoints/ep")
            subs = (e or {}).get("subsets") or []
            return sorted(a_["ip"] for s in subs for a_ in s.get(key, []))
        t(wait(lambda: ep_ips() == pod_ips), "endpoints: the ready pods",
          (ep_ips(), pod_ips))
        e = self.a.get(NS + "/endpoints/ep")
        t(e["subsets"][0]["ports"] == [{"name": "web", "port": 80,
                                        "protocol": "TCP"}],
          "endpoints: named target port resolved", e["subsets"][0].get("ports"))

        def slices():
            return self.a.items("/apis/discovery.k8s.io/v1/namespaces/default/"
                                "endpointslices", "kubernetes.io/service-name=ep")
        sl = wait(lambda: (lambda s: s if s and sorted(
            x["addresses"][0] for x in s[0].get("endpoints") or []) == pod_ips
            else None)(slices()))
        t(sl and len(sl) == 1, "endpointslice: one slice with the pods",
          slices())
        if sl:
            s = sl[0]
            t(s["addressType"] == "IPv4" and
              s["metadata"]["labels"].get("endpointslice.kubernetes.io/managed-by")
              == "endpointslice-controller.k8s.io" and
              s["ports"] == [{"name": "web", "port": 80, "protocol": "TCP"}] and
              all(x["conditions"] == {"ready": True, "serving": True,
                                      "terminating": False}
                  for x in s["endpoints"]) and
              all(x.get("targetRef", {}).get("kind") == "Pod" and x.get("nodeName")
                  for x in s["endpoints"]),
              "endpointslice: fields", s)
        # A not-ready pod: notReadyAddresses, ready false.
        self.a.create(NS + "/pods", {"apiVersion": "v1", "kind": "Pod",
                                     "metadata": {"name": "ep-unready", "labels": {
                                         "app": "ep", UNREADY: "true"}},
                                     "spec": {"nodeName": "n1", "containers": [{
                                         "name": "c", "image": "nginx", "ports": [{
                                             "name": "http", "containerPort": 80}]}]}})
        self.a.patch(NS + "/pods/ep-unready/status", {"status": {
            "phase": "Running", "podIP": "10.250.0.9",
            "conditions": [{"type": "Ready", "status": "False"}]}})
        t(wait(lambda: ep_ips("notReadyAddresses") == ["10.250.0.9"]),
          "endpoints: notReadyAddresses", self.a.get(NS + "/endpoints/ep"))

        def unready_in_slice():
            for s in slices():
                for x in s.get("endpoints") or []:
                    if x["addresses"] == ["10.250.0.9"]:
                        return x["conditions"]
        t(wait(unready_in_slice) == {"ready": False, "serving": False,
                                     "terminating": False},
          "endpointslice: not ready", unready_in_slice())
        self.a.patch(NS + "/services/ep", {"spec": {"publishNotReadyAddresses": True}})
        t(wait(lambda: "10.250.0.9" in ep_ips()),
          "publishNotReadyAddresses: in addresses")
        # Headless
        self.a.create(NS + "/services", {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "hl"},
            "spec": {"clusterIP": "None", "selector": {"app": "ep"},
                     "ports": [{"port": 80}]}})
        hs = wait(lambda: self.a.items(
            "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
            "kubernetes.io/service-name=hl"))
        t(hs and hs[0]["metadata"]["labels"].get("service.kubernetes.io/headless")
          == "", "headless: slice labelled", hs)
        he = wait(lambda: self.a.get(NS + "/endpoints/hl"))
        t(he and he["metadata"]["labels"].get("service.kubernetes.io/headless")
          == "", "headless: endpoints labelled", he)
        # The kubernetes service's endpoints stay the API server's.
        ke = self.a.get(NS + "/endpoints/kubernetes")
        t(ke is None or all("targetRef" not in a_ for s in ke.get("subsets", [])
                            for a_ in s.get("addresses", [])),
          "kubernetes endpoints left alone", ke)
        self.k.request("DELETE", NS + "/pods/ep-unready", {"gracePeriodSeconds": 0})

    # ---- Leases, restart -------------------------------------------------

    def leases(self):
        for name in ("kube-controller-manager", "kube-scheduler"):
            lease = wait(lambda: (lambda l: l if l and l["spec"].get(
                "holderIdentity") else None)(self.a.get(
                    "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/"
                    + name)))
            self.check(lease and lease["spec"]["leaseDurationSeconds"] == 15,
                       "lease %s held" % name, lease)

    def restart(self):
        t = self.check
        d = self.deploy("keep", 4)
        rss = {r["metadata"]["uid"] for r in self.rs_of(d["metadata"]["uid"])}
        uids = {p["metadata"]["uid"] for p in self.pods("app=keep")}
        rc = self.k.stop()
        t(rc == 0, "kubed stops cleanly", rc)
        self.k.start()
        # Wait for the controllers: a scale they have to act on.
        self.a.patch(APPS + "/deployments/keep", {"spec": {"replicas": 5}})
        ps = self.wait_pods("app=keep", 5)
        now_uids = {p["metadata"]["uid"] for p in ps}
        t(len(ps) == 5 and uids <= now_uids,
          "restart: the 4 pods kept, one added", (len(uids & now_uids), len(ps)))
        t({r["metadata"]["uid"] for r in self.rs_of(d["metadata"]["uid"])} == rss,
          "restart: no second ReplicaSet")


SECTIONS = {
    "manager": ["leases", "restart"],
    "replicaset": ["replicaset", "replication_controller"],
    "deployment": ["deployment"],
    "gc": ["gc"],
    "endpoints": ["endpoints"],
}


def main():
    if len(sys.argv) < 3 or any(a not in SECTIONS for a in sys.argv[4:]):
        print(__doc__)
        return 2
    kubed, kube = sys.argv[1], sys.argv[2]
    store = sys.argv[3] if len(sys.argv) > 3 else "memory"
    sections = sys.argv[4:] or list(SECTIONS)
    t = Failures()
    k = Kubed(kubed, store=store, extra=kubed_args(kubed))
    tmp = tempfile.mkdtemp(prefix="kube-ctl-test-")
    clis = []
    kubelet = None
    try:
        k.start()
        add_nodes(k, ["n1", "n2", "n3"])
        kubelet = FakeKubelet(k, ["n1", "n2", "n3"]).start()
        kube_cli, kubectl, clis = make_clis(k, kube)
        s = Suite(t, k, kube_cli, kubectl)
        for name in sections:
            for step in SECTIONS[name]:
                if step == "restart" and store == "memory":
                    continue
                getattr(s, step)()
    finally:
        wind_down(t, k, kubelet, clis)
        shutil.rmtree(tmp, ignore_errors=True)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
