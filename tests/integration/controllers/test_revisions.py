#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""ControllerRevisions (apps/v1) and the history of DaemonSets and
StatefulSets against a real kubed with the suite's stand-in kubelet: the
API (discovery, validation, `kubectl get controllerrevisions` columns),
revisions created and numbered on template changes, an unchanged template
reusing its revision, revisionHistoryLimit pruning, `kubectl rollout
history` (and --revision=N), `kubectl rollout undo` rolling the pods back
with the old revision renumbered, the StatefulSet's current/update
revisions, and garbage collection of revisions with their owner.

usage: test_revisions.py KUBED KUBE [memory|sqlite] [SECTION...]
sections: api daemonset statefulset (default: all)"""
import os
import sys

from ctl_harness import run_sections, wait  # noqa: E402
from test_workloads import Suite as WorkloadSuite  # noqa: E402

APPS = "/apis/apps/v1/namespaces/default"
NS = "/api/v1/namespaces/default"
HASH = "controller-revision-hash"


def revision(name, data, rev=None):
    o = {"apiVersion": "apps/v1", "kind": "ControllerRevision",
         "metadata": {"name": name}, "data": data}
    if rev is not None:
        o["revision"] = rev
    return o


def workload(kind, name, image, **spec):
    """An apps/v1 kind selecting app=name, one container c of image."""
    s = {"selector": {"matchLabels": {"app": name}},
         "template": {"metadata": {"labels": {"app": name}},
                      "spec": {"containers": [{"name": "c",
                                               "image": image}]}}}
    s.update(spec)
    return {"apiVersion": "apps/v1", "kind": kind,
            "metadata": {"name": name}, "spec": s}


def owned_by(obj, uid):
    if not obj:
        return False
    return any(r.get("uid") == uid and r.get("controller")
               for r in obj["metadata"].get("ownerReferences", []))


class Suite(WorkloadSuite):
    """test_workloads' suite (check, apply, ds_pods) with the revisions'
    steps."""

    def revisions(self, uid):
        """The revisions controlled by uid, by revision number."""
        return sorted((r for r in self.a.items(APPS + "/controllerrevisions")
                       if owned_by(r, uid)), key=lambda r: r["revision"])

    # ---- the API -----------------------------------------------------------

    def api(self):
        t = self.check
        r = self.k.request("GET", "/apis/apps/v1")
        res = {x["name"]: x for x in r.json().get("resources", [])} \
            if r.status == 200 else {}
        cr = res.get("controllerrevisions", {})
        t(cr.get("kind") == "ControllerRevision" and cr.get("namespaced") and
          sorted(cr.get("verbs", [])) == sorted([
              "create", "delete", "deletecollection", "get", "list", "patch",
              "update", "watch"]), "discovery lists controllerrevisions", cr)
        t("controllerrevisions/status" not in res, "no status subresource")

        # Created without a revision: 0; data any JSON object.
        r = self.k.request("POST", APPS + "/controllerrevisions",
                           revision("r0", {"spec": {"a": [1, 2]}}))
        t(r.status == 201 and r.json().get("revision") == 0 and
          r.json().get("data") == {"spec": {"a": [1, 2]}},
          "create: revision defaults to 0, data kept", r)
        r = self.k.request("POST", APPS + "/controllerrevisions",
                           revision("r1", {"x": "y"}, 3))
        t(r.status == 201 and r.json().get("revision") == 3, "create r1", r)

        def invalid(r, field, words):
            if r.status != 422:
                return False
            st = r.json()
            causes = st.get("details", {}).get("causes", [])
            return st.get("reason") == "Invalid" and any(
                c.get("field") == field and words in c.get("message", "")
                for c in causes)
        r = self.k.request("POST", APPS + "/controllerrevisions",
                           revision("bad", {"x": 1}, -1))
        t(invalid(r, "revision", "must be greater than or equal to 0"),
          "negative revision: 422 on revision", r)
        r = self.k.request("POST", APPS + "/controllerrevisions",
                           {"apiVersion": "apps/v1",
                            "kind": "ControllerRevision",
                            "metadata": {"name": "nodata"}, "revision": 1})
        t(invalid(r, "data", "Required value"), "data required", r)
        r = self.k.request("POST", APPS + "/controllerrevisions",
                           revision("Bad_Name", {"x": 1}, 1))
        t(invalid(r, "metadata.name", "RFC 1123"), "name a DNS subdomain", r)

        # data is immutable; revision may change (controllers renumber).
        r = self.a.patch(APPS + "/controllerrevisions/r1",
                         {"data": {"x": "z"}})
        t(invalid(r, "data", "field is immutable"),
          "data immutable: 422 on data", r)
        r = self.a.patch(APPS + "/controllerrevisions/r1", {"revision": 7})
        t(r.status == 200 and r.json().get("revision") == 7,
          "revision updated", r)
        r = self.a.patch(APPS + "/controllerrevisions/r1", {"revision": -2})
        t(invalid(r, "revision", "greater than or equal to 0"),
          "negative revision on update", r)

        # Table: NAME CONTROLLER REVISION AGE.
        own = workload("DaemonSet", "own", "own:1")
        own["spec"]["template"]["spec"]["nodeSelector"] = {"none": "x"}
        owner = self.a.create(APPS + "/daemonsets", own)
        ref = {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "own",
               "uid": owner["metadata"]["uid"], "controller": True}
        rv = revision("own-manual", {"y": 1}, 4)
        rv["metadata"]["ownerReferences"] = [ref]
        self.a.create(APPS + "/controllerrevisions", rv)
        for cli in filter(None, [self.kubectl, self.kube]):
            rc, out, err = cli.run("get", "controllerrevisions")
            lines = out.splitlines()
            head = lines[0].split() if lines else []
            rows = {ln.split()[0]: ln.split() for ln in lines[1:]}
            t(rc == 0 and head == ["NAME", "CONTROLLER", "REVISION", "AGE"],
              "%s get controllerrevisions header" % cli.flavor, (rc, out, err))
            t(rows.get("r0", [])[1:3] == ["<none>", "0"] and
              rows.get("r1", [])[1:3] == ["<none>", "7"] and
              rows.get("own-manual", [])[1:3] ==
              ["daemonset.apps/own", "4"],
              "%s get controllerrevisions rows" % cli.flavor, out)
        self.python_client()
        # Deleting the owner deletes its revisions (garbage collector).
        r = self.k.request("DELETE", APPS + "/daemonsets/own")
        t(r.status == 200, "delete the owner", r)
        t(wait(lambda: self.a.get(
            APPS + "/controllerrevisions/own-manual") is None, 30),
          "the owner's revision is garbage collected")
        for n in ("r0", "r1"):
            self.k.request("DELETE", APPS + "/controllerrevisions/" + n)


    def python_client(self):
        """The official Python client reads them as V1ControllerRevision."""
        try:
            from kubernetes import client, config
        except ImportError:
            print("note: python3-kubernetes missing, its checks skipped")
            return
        api = client.AppsV1Api(config.new_client_from_config(
            config_file=os.path.join(self.k.data, "kubeconfig.yaml")))
        items = api.list_namespaced_controller_revision("default").items
        got = {r.metadata.name: (r.revision, r.data) for r in items}
        self.check(got.get("r1") == (7, {"x": "y"}) and
                   got.get("r0") == (0, {"spec": {"a": [1, 2]}}),
                   "python client lists V1ControllerRevisions", got)
        r = api.read_namespaced_controller_revision("own-manual", "default")
        self.check(r.metadata.owner_references[0].kind == "DaemonSet" and
                   r.revision == 4, "python client reads one", r.metadata)

    # ---- DaemonSet -------------------------------------------------------

    def history(self, kind, name, uid, images):
        """kubectl (and kube) rollout history list the revisions;
        --revision=N shows each one's template (images: revision number ->
        image)."""
        t = self.check
        want = [str(n) for n in sorted(images)]
        for cli in filter(None, [self.kubectl, self.kube]):
            rc, out, err = cli.run("rollout", "history",
                                   "%s/%s" % (kind, name))
            lines = out.splitlines()
            listed = [ln.split()[0] for ln in lines[2:] if ln.strip()]
            t(rc == 0 and listed == want and lines[1].split() ==
              ["REVISION", "CHANGE-CAUSE"] and
              lines[0].startswith(kind.replace("sts", "statefulset").replace(
                  "ds", "daemonset") + ".apps/" + name),
              "%s rollout history %s lists %s" % (cli.flavor, kind, want),
              (rc, out, err))
            for n, image in sorted(images.items()):
                rc, out, err = cli.run("rollout", "history",
                                       "%s/%s" % (kind, name),
                                       "--revision=%d" % n)
                t(rc == 0 and "with revision #%d" % n in out and
                  "Image:" in out and
                  image == out.split("Image:")[1].split()[0],
                  "%s rollout history %s --revision=%d: %s" % (
                      cli.flavor, kind, n, image), (rc, out, err))

    def rev_images(self, uid):
        """revision number -> the image of its template."""
        return {r["revision"]: r["data"]["spec"]["template"]["spec"][
            "containers"][0]["image"] for r in self.revisions(uid)}

    def daemonset(self):
        t = self.check
        base = APPS + "/daemonsets/agent"
        ds = workload("DaemonSet", "agent", "agent:1", revisionHistoryLimit=2)
        rc, out, err = self.apply(ds)
        t(rc == 0, "apply daemonset", (rc, out, err))
        uid = self.a.get(base)["metadata"]["uid"]

        def running(image):
            ps = self.ds_pods("agent")
            ok = len(ps) == 3 and all(
                p.get("status", {}).get("phase") == "Running" and
                p["spec"]["containers"][0]["image"] == image for p in ps)
            return ps if ok else None
        ps = wait(lambda: running("agent:1"), 60)
        t(ps is not None, "three pods of agent:1")
        revs = wait(lambda: self.revisions(uid), 30)
        t(len(revs) == 1, "one revision", revs)
        if revs:
            r = revs[0]
            h = r["metadata"]["labels"].get(HASH)
            t(r["revision"] == 1 and r["metadata"]["name"] == "agent-" + str(h)
              and r["metadata"]["labels"].get("app") == "agent",
              "revision 1 named agent-<hash>, template labels", r["metadata"])
            tm = r["data"]["spec"]["template"]
            t(tm.get("$patch") == "replace" and
              tm["spec"]["containers"][0]["image"] == "agent:1" and
              list(r["data"]) == ["spec"] and list(r["data"]["spec"]) ==
              ["template"], "data: the template patch", r["data"])
            t(ps and all(p["metadata"]["labels"].get(HASH) == h for p in ps),
              "pods carry the revision's hash", h)

        # A metadata-only change makes no revision.
        self.a.patch(base, {"metadata": {"annotations": {"note": "x"}}})
        c = self.kubectl or self.kube
        rc, out, err = c.run("set", "image", "ds/agent", "c=agent:2")
        t(rc == 0, "set image agent:2", (rc, out, err))
        t(wait(lambda: running("agent:2"), 90) is not None, "rolled to agent:2")
        t(wait(lambda: self.rev_images(uid) == {1: "agent:1", 2: "agent:2"},
               30), "revisions 1 and 2", self.rev_images(uid))
        self.history("ds", "agent", uid, {1: "agent:1", 2: "agent:2"})

        # Undo: the old template, its revision renumbered 3, pods back.
        old = {r["revision"]: r for r in self.revisions(uid)}.get(1)
        if self.kubectl:
            rc, out, err = self.kubectl.run("rollout", "undo", "ds/agent")
            t(rc == 0 and "daemonset.apps/agent rolled back" in out,
              "kubectl rollout undo ds", (rc, out, err))
        else:
            self.a.patch(base, old["data"],
                         ctype="application/strategic-merge-patch+json")
        t(wait(lambda: running("agent:1"), 90) is not None,
          "undo: pods back to agent:1")
        t(wait(lambda: self.rev_images(uid) == {2: "agent:2", 3: "agent:1"},
               30), "undo: the old revision renumbered 3",
          self.rev_images(uid))
        again = {r["revision"]: r for r in self.revisions(uid)}.get(3)
        t(old and again and again["metadata"]["name"] ==
          old["metadata"]["name"], "undo reuses the revision object")
        ps = self.ds_pods("agent")
        t(old and all(p["metadata"]["labels"].get(HASH) ==
                      old["metadata"]["labels"][HASH] for p in ps),
          "undo: pods carry the old hash again")
        if self.kubectl:
            rc, out, err = self.kubectl.run("rollout", "status", "ds/agent",
                                            "--timeout=60s", timeout=70)
            t(rc == 0 and "successfully rolled out" in out,
              "kubectl rollout status ds after undo", (rc, out, err))

        # revisionHistoryLimit 2: two more templates, the oldest goes.
        for img in ("agent:3", "agent:4"):
            c.run("set", "image", "ds/agent", "c=" + img)
            t(wait(lambda: running(img), 90) is not None, "rolled to " + img)
        want = {3: "agent:1", 4: "agent:3", 5: "agent:4"}
        t(wait(lambda: self.rev_images(uid) == want, 30),
          "history limit 2: revision 2 pruned", self.rev_images(uid))
        self.history("ds", "agent", uid, want)
        if self.kubectl:
            rc, out, err = self.kubectl.run("rollout", "undo", "ds/agent",
                                            "--to-revision=3")
            t(rc == 0 and "rolled back" in out, "undo --to-revision=3",
              (rc, out, err))
            t(wait(lambda: running("agent:1"), 90) is not None,
              "undo --to-revision: agent:1 again")
            t(wait(lambda: self.rev_images(uid) ==
                   {4: "agent:3", 5: "agent:4", 6: "agent:1"}, 30),
              "revision 3 renumbered 6", self.rev_images(uid))
            rc, out, err = self.kubectl.run("rollout", "undo", "ds/agent",
                                            "--to-revision=9")
            t(rc != 0 and "unable to find specified revision 9" in
              out + err, "undo to a missing revision", (rc, out, err))
            rc, out, err = self.kubectl.run("get", "controllerrevisions")
            t(rc == 0 and out.count("daemonset.apps/agent") == 3,
              "kubectl get controllerrevisions shows the three", out)

            # kube rollout undo: the previous revision (5, agent:4).
            rc, out, err = self.kube.run("rollout", "undo", "ds/agent",
                                         "--dry-run=client")
            t(rc == 0 and out.startswith("daemonset.apps/agent will roll back "
                                         "to Pod Template:") and
              "agent:4" in out, "kube rollout undo --dry-run=client",
              (rc, out, err))
            rc, out, err = self.kube.run("rollout", "undo", "ds/agent",
                                         "--dry-run=server")
            d = self.a.get(base)
            t(rc == 0 and out.strip() == "daemonset.apps/agent rolled back "
              "(server dry run)" and d["spec"]["template"]["spec"][
                  "containers"][0]["image"] == "agent:1",
              "kube rollout undo --dry-run=server changes nothing",
              (rc, out, err))
            rc, out, err = self.kube.run("rollout", "undo", "ds/agent")
            t(rc == 0 and out.strip() == "daemonset.apps/agent rolled back",
              "kube rollout undo ds", (rc, out, err))
            t(wait(lambda: running("agent:4"), 90) is not None,
              "kube undo: agent:4 again")
            t(wait(lambda: self.rev_images(uid) ==
                   {4: "agent:3", 6: "agent:1", 7: "agent:4"}, 30),
              "revision 5 renumbered 7", self.rev_images(uid))
            rc, out, err = self.kube.run("rollout", "undo", "ds/agent",
                                         "--to-revision=7")
            t(rc == 0 and "skipped rollback (current template already "
              "matches revision 7)" in out, "kube undo to the current one",
              (rc, out, err))
            rc, out, err = self.kube.run("rollout", "undo", "ds/agent",
                                         "--to-revision=2")
            t(rc != 0 and "unable to find specified revision 2 in history"
              in out + err, "kube undo to a pruned revision", (rc, out, err))

        # Deleting the DaemonSet deletes its revisions.
        c.run("delete", "ds", "agent")
        t(wait(lambda: not self.revisions(uid), 60),
          "revisions garbage collected with the DaemonSet",
          self.rev_images(uid))


    def collide(self, kind, name, pods, **spec):
        """A revision of another's holding the name <set>-<hash>: the set
        raises status.collisionCount and names its revision with the new
        hash, which its `pods` pods carry.  The set's uid."""
        t = self.check
        coll = APPS + "/%ss" % kind.lower()
        base = coll + "/" + name
        obj = workload(kind, name, name + ":1", **spec)
        first = self.a.create(coll, obj)
        revs = wait(lambda: self.revisions(first["metadata"]["uid"]), 30)
        taken_name = revs[0]["metadata"]["name"] if revs else "?"
        self.k.request("DELETE", base)
        t(wait(lambda: self.a.get(APPS + "/controllerrevisions/" +
                                  taken_name) is None and
               not self.ds_pods(name), 60),
          "%s: the first set's revision and pods went" % kind, taken_name)
        taken = self.a.create(APPS + "/controllerrevisions",
                              revision(taken_name, {"other": True}, 1))
        uid = self.a.create(coll, obj)["metadata"]["uid"]
        revs = wait(lambda: self.revisions(uid), 30)
        st = (self.a.get(base) or {}).get("status", {})
        rname = revs[0]["metadata"]["name"] if revs else "?"
        t(revs and st.get("collisionCount") == 1 and rname != taken_name and
          rname.startswith(name + "-") and revs[0]["revision"] == 1,
          "%s collision: collisionCount 1, another name" % kind, (st, revs))
        got = self.a.get(APPS + "/controllerrevisions/" + taken_name)
        t(got and got["metadata"]["uid"] == taken["metadata"]["uid"] and
          not got["metadata"].get("ownerReferences"),
          "%s: the other revision is left alone" % kind, got)
        # DaemonSet pods carry the hash, StatefulSet pods the name.
        label = revs[0]["metadata"]["labels"].get(HASH) \
            if kind == "DaemonSet" and revs else rname
        t(wait(lambda: len(self.ds_pods(name)) == pods and all(
            p["metadata"]["labels"].get(HASH) == label
            for p in self.ds_pods(name)), 60),
          "%s: pods carry the new revision" % kind,
          (label, [(p["metadata"]["name"], p["metadata"]["labels"].get(HASH))
                   for p in self.ds_pods(name)]))
        if kind == "StatefulSet":
            t(wait(lambda: self.a.get(base)["status"].get("updateRevision")
                   == rname, 30), "updateRevision is the new name",
              self.a.get(base)["status"])
        self.k.request("DELETE", APPS + "/controllerrevisions/" + taken_name)
        return uid

    def collision(self):
        t = self.check
        base = APPS + "/daemonsets/col"
        uid = self.collide("DaemonSet", "col", 3)
        # An orphan the selector matches is adopted (its creation wakes the
        # DaemonSet), and counted as an old revision.
        orphan = revision("col-orphan", {"spec": {"template": {
            "$patch": "replace", "metadata": {"labels": {"app": "col"}}}}}, 9)
        orphan["metadata"]["labels"] = {"app": "col"}
        self.a.create(APPS + "/controllerrevisions", orphan)
        got = wait(lambda: owned_by(self.a.get(
            APPS + "/controllerrevisions/col-orphan"), uid), 30)
        t(got, "an orphan revision is adopted",
          self.a.get(APPS + "/controllerrevisions/col-orphan"))
        t(wait(lambda: [r["revision"] for r in self.revisions(uid)] ==
               [9, 10], 30), "the current revision renumbered past it (10)",
          [(r["metadata"]["name"], r["revision"])
           for r in self.revisions(uid)])
        self.k.request("DELETE", base)
        t(wait(lambda: self.a.get(APPS + "/controllerrevisions/col-orphan")
               is None, 30), "the adopted revision goes with the DaemonSet")

    def sts_collision(self):
        uid = self.collide("StatefulSet", "scol", 2, replicas=2,
                           serviceName="scol")
        self.k.request("DELETE", APPS + "/statefulsets/scol")
        self.check(wait(lambda: not self.revisions(uid), 30),
                   "StatefulSet revisions collected")

    # ---- StatefulSet -----------------------------------------------------

    def statefulset(self):
        t = self.check
        base = APPS + "/statefulsets/web"
        sts = workload("StatefulSet", "web", "web:1", replicas=3,
                       serviceName="web", revisionHistoryLimit=2)
        rc, out, err = self.apply(sts)
        t(rc == 0, "apply statefulset", (rc, out, err))
        uid = self.a.get(base)["metadata"]["uid"]

        def images():
            return {p["metadata"]["name"]: p["spec"]["containers"][0]["image"]
                    for p in self.ds_pods("web")
                    if p.get("status", {}).get("phase") == "Running"}

        def all_on(image):
            return images() == {"web-%d" % i: image for i in range(3)}

        def status():
            return self.a.get(base).get("status", {})
        t(wait(lambda: all_on("web:1"), 90), "web-0..2 run web:1", images())
        revs = wait(lambda: self.revisions(uid), 30)
        t(len(revs) == 1, "one revision", revs)
        r1 = revs[0] if revs else {"metadata": {"name": "?", "labels": {}}}
        name1 = r1["metadata"]["name"]
        t(r1.get("revision") == 1 and name1 == "web-" +
          r1["metadata"]["labels"].get(HASH, "?") and
          r1["metadata"]["labels"].get("app") == "web",
          "revision 1 web-<hash> with the template labels", r1["metadata"])
        t(wait(lambda: status().get("currentRevision") == name1 and
               status().get("updateRevision") == name1, 30),
          "status current = update = revision 1", status())
        t(all(p["metadata"]["labels"].get(HASH) == name1
              for p in self.ds_pods("web")), "pods labelled with revision 1")

        c = self.kubectl or self.kube
        c.run("set", "image", "sts/web", "c=web:2")
        t(wait(lambda: all_on("web:2"), 120), "rolled to web:2", images())
        t(wait(lambda: self.rev_images(uid) == {1: "web:1", 2: "web:2"}, 30),
          "revisions 1 and 2", self.rev_images(uid))
        name2 = {r["revision"]: r["metadata"]["name"]
                 for r in self.revisions(uid)}.get(2)
        t(wait(lambda: status().get("currentRevision") == name2 ==
               status().get("updateRevision"), 30),
          "status current = update = revision 2", status())
        self.history("sts", "web", uid, {1: "web:1", 2: "web:2"})

        # A partition: web-2 only; a pod re-created below it gets the
        # current revision's template.
        self.a.patch(base, {"spec": {"updateStrategy": {
            "rollingUpdate": {"partition": 2}}}})
        c.run("set", "image", "sts/web", "c=web:3")
        t(wait(lambda: images() == {"web-0": "web:2", "web-1": "web:2",
                                    "web-2": "web:3"}, 90),
          "partition 2: web-2 updated only", images())
        st = status()
        t(st.get("currentRevision") == name2 and
          st.get("updateRevision") not in (None, name2),
          "current revision 2, update revision 3", st)
        old_uid = self.a.get(NS + "/pods/web-0")["metadata"]["uid"]
        self.k.request("DELETE", NS + "/pods/web-0")

        def recreated():
            p = self.a.get(NS + "/pods/web-0")
            return p if p and p["metadata"]["uid"] != old_uid and \
                p.get("status", {}).get("phase") == "Running" else None
        p = wait(recreated, 60)
        t(p and p["spec"]["containers"][0]["image"] == "web:2" and
          p["metadata"]["labels"].get(HASH) == name2,
          "web-0 re-created from the current revision",
          p and (p["spec"]["containers"][0]["image"], p["metadata"]["labels"]))
        self.a.patch(base, {"spec": {"updateStrategy": {
            "rollingUpdate": {"partition": 0}}}})
        t(wait(lambda: all_on("web:3"), 120), "partition 0: all web:3",
          images())

        # Undo: web:2 again, its revision renumbered 4.
        if self.kubectl:
            rc, out, err = self.kubectl.run("rollout", "undo", "sts/web")
            t(rc == 0 and "statefulset.apps/web rolled back" in out,
              "kubectl rollout undo sts", (rc, out, err))
        else:
            old = {r["revision"]: r for r in self.revisions(uid)}[2]
            self.a.patch(base, old["data"],
                         ctype="application/strategic-merge-patch+json")
        t(wait(lambda: all_on("web:2"), 120), "undo: pods back to web:2",
          images())
        want = {1: "web:1", 3: "web:3", 4: "web:2"}
        t(wait(lambda: self.rev_images(uid) == want, 30),
          "undo: revision 2 renumbered 4", self.rev_images(uid))
        t(wait(lambda: status().get("updateRevision") == name2 ==
               status().get("currentRevision"), 30),
          "undo: the old revision is current and update again", status())
        t(all(p["metadata"]["labels"].get(HASH) == name2
              for p in self.ds_pods("web")), "pods labelled revision 2 again")
        if self.kubectl:
            rc, out, err = self.kubectl.run("rollout", "status", "sts/web",
                                            "--timeout=60s", timeout=70)
            t(rc == 0 and "roll out complete" in out,
              "kubectl rollout status sts after undo", (rc, out, err))

        # revisionHistoryLimit 2: one more template, revision 1 goes.
        c.run("set", "image", "sts/web", "c=web:5")
        t(wait(lambda: all_on("web:5"), 120), "rolled to web:5", images())
        want = {3: "web:3", 4: "web:2", 5: "web:5"}
        t(wait(lambda: self.rev_images(uid) == want, 30),
          "history limit 2: revision 1 pruned", self.rev_images(uid))
        self.history("sts", "web", uid, want)

        c.run("delete", "sts", "web")
        t(wait(lambda: not self.revisions(uid), 60),
          "revisions garbage collected with the StatefulSet",
          self.rev_images(uid))


SECTIONS = {"api": ["api"], "daemonset": ["daemonset", "collision"],
            "statefulset": ["statefulset", "sts_collision"]}


def main():
    return run_sections(__doc__, SECTIONS, Suite, "kube-rev-test-")


if __name__ == "__main__":
    sys.exit(main())
