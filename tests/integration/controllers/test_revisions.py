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


def owned_by(obj, uid):
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
        owner = self.a.create(APPS + "/daemonsets", {
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "own"},
            "spec": {"selector": {"matchLabels": {"app": "own"}},
                     "template": {"metadata": {"labels": {"app": "own"}},
                                  "spec": {"nodeSelector": {"none": "x"},
                                           "containers": [{
                                               "name": "c",
                                               "image": "own:1"}]}}}})
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
        # Deleting the owner deletes its revisions (garbage collector).
        r = self.k.request("DELETE", APPS + "/daemonsets/own")
        t(r.status == 200, "delete the owner", r)
        t(wait(lambda: self.a.get(
            APPS + "/controllerrevisions/own-manual") is None, 30),
          "the owner's revision is garbage collected")
        for n in ("r0", "r1"):
            self.k.request("DELETE", APPS + "/controllerrevisions/" + n)


    # ---- DaemonSet -------------------------------------------------------

    def history(self, kind, name, uid, images):
        """kubectl rollout history lists the revisions; --revision=N shows
        each one's template (images: revision number -> image)."""
        if not self.kubectl:
            return
        t = self.check
        rc, out, err = self.kubectl.run("rollout", "history",
                                        "%s/%s" % (kind, name))
        listed = [ln.split()[0] for ln in out.splitlines()[2:] if ln.strip()]
        want = [str(n) for n in sorted(images)]
        t(rc == 0 and listed == want and "CHANGE-CAUSE" in out,
          "kubectl rollout history %s lists %s" % (kind, want), (rc, out, err))
        for n, image in sorted(images.items()):
            rc, out, err = self.kubectl.run("rollout", "history",
                                            "%s/%s" % (kind, name),
                                            "--revision=%d" % n)
            t(rc == 0 and "with revision #%d" % n in out and
              "Image:" in out and image in out.split("Image:")[1].split()[0],
              "kubectl rollout history %s --revision=%d: %s" % (kind, n, image),
              (rc, out, err))

    def rev_images(self, uid):
        """revision number -> the image of its template."""
        return {r["revision"]: r["data"]["spec"]["template"]["spec"][
            "containers"][0]["image"] for r in self.revisions(uid)}

    def daemonset(self):
        t = self.check
        base = APPS + "/daemonsets/agent"
        ds = {"apiVersion": "apps/v1", "kind": "DaemonSet",
              "metadata": {"name": "agent"},
              "spec": {"selector": {"matchLabels": {"app": "agent"}},
                       "revisionHistoryLimit": 2,
                       "template": {"metadata": {"labels": {"app": "agent"}},
                                    "spec": {"containers": [{
                                        "name": "c", "image": "agent:1"}]}}}}
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

        # Deleting the DaemonSet deletes its revisions.
        c.run("delete", "ds", "agent")
        t(wait(lambda: not self.revisions(uid), 60),
          "revisions garbage collected with the DaemonSet",
          self.rev_images(uid))


SECTIONS = {"api": ["api"], "daemonset": ["daemonset"],
            "statefulset": ["statefulset"]}


def main():
    return run_sections(__doc__, SECTIONS, Suite, "kube-rev-test-")


if __name__ == "__main__":
    sys.exit(main())
