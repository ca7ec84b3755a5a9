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


SECTIONS = {"api": ["api"], "daemonset": ["daemonset"],
            "statefulset": ["statefulset"]}


def main():
    return run_sections(__doc__, SECTIONS, Suite, "kube-rev-test-")


if __name__ == "__main__":
    sys.exit(main())
