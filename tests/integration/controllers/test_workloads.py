#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The batch and workload controllers of `kubed server` against a real
kubed with the suite's stand-in kubelet (pods labelled EXIT run to
completion): Job (completions, parallelism, Indexed, backoffLimit,
podFailurePolicy, the tracking finalizer, ttlSecondsAfterFinished,
suspend) through kubectl 1.32 (apply, wait, get) and kube; CronJob (a
scheduled Job, history, kubectl create job --from=cronjob); DaemonSet (a
pod per node, rolling update, kubectl rollout status ds, nodeSelector);
StatefulSet (ordered pods, hostname, rolling update, scale, claims).

usage: test_workloads.py KUBED KUBE [memory|sqlite] [SECTION...]
sections: job cronjob daemonset statefulset (default: all)"""
import json
import os
import sys

from ctl_harness import EXIT, Api, run_sections, wait  # noqa: E402

NS = "/api/v1/namespaces/default"
BATCH = "/apis/batch/v1/namespaces/default"
FINALIZER = "batch.kubernetes.io/job-tracking"


def job(name, exit_code=0, **spec):
    s = {"template": {"metadata": {"labels": {EXIT: str(exit_code)}},
                      "spec": {"restartPolicy": "Never",
                               "containers": [{"name": "c",
                                               "image": "busybox"}]}}}
    s.update(spec)
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name}, "spec": s}


def cond(obj, type_):
    for c in (obj or {}).get("status", {}).get("conditions", []):
        if c.get("type") == type_ and c.get("status") == "True":
            return c
    return None


class Suite:
    def __init__(self, t, k, kube, kubectl, tmp):
        self.t = t
        self.k = k
        self.a = Api(k)
        self.kube = kube
        self.kubectl = kubectl
        self.tmp = tmp

    def check(self, *args):
        self.t.check(*args)

    def apply(self, obj):
        path = os.path.join(self.tmp, obj["metadata"]["name"] + ".json")
        with open(path, "w") as f:
            json.dump(obj, f)
        c = self.kubectl or self.kube
        return c.run("apply", "-f", path)

    def job_pods(self, name):
        return self.a.items(NS + "/pods", "batch.kubernetes.io/job-name=" +
                            name)

    def wait_job(self, name, type_, timeout=60):
        return wait(lambda: cond(self.a.get(BATCH + "/jobs/" + name), type_),
                    timeout)

    # ---- Job ---------------------------------------------------------------

    def job(self):
        t = self.check
        rc, out, err = self.apply(job("pi", completions=3, parallelism=2))
        t(rc == 0, "apply job", (rc, out, err))
        if self.kubectl:
            rc, out, err = self.kubectl.run(
                "wait", "--for=condition=complete", "job/pi", "--timeout=60s",
                timeout=70)
            t(rc == 0 and "condition met" in out, "kubectl wait complete",
              (rc, out, err))
        j = self.wait_job("pi", "Complete")
        t(j is not None, "pi Complete")
        j = self.a.get(BATCH + "/jobs/pi")
        st = j.get("status", {})
        t(st.get("succeeded") == 3 and not st.get("active") and
          st.get("completionTime") and st.get("startTime"),
          "pi status counts", st)
        t(cond(j, "SuccessCriteriaMet") is not None, "SuccessCriteriaMet", st)
        t(not st.get("uncountedTerminatedPods"), "nothing uncounted", st)
        pods = self.job_pods("pi")
        t(len(pods) == 3, "three pods", len(pods))
        t(wait(lambda: all(FINALIZER not in p["metadata"].get("finalizers", [])
                           for p in self.job_pods("pi"))),
          "tracking finalizers removed")
        for cli in filter(None, [self.kubectl, self.kube]):
            rc, out, err = cli.run("get", "job", "pi")
            t(rc == 0 and "3/3" in out and "Complete" in out,
              "%s get job" % cli.flavor, (rc, out, err))

        # Indexed: one pod per index, hostname and index annotation.
        self.apply(job("ix", completions=3, parallelism=3,
                       completionMode="Indexed"))
        t(self.wait_job("ix", "Complete") is not None, "ix Complete")
        j = self.a.get(BATCH + "/jobs/ix")
        t(j["status"].get("completedIndexes") == "0-2", "completedIndexes",
          j["status"])
        idx = sorted(p["metadata"]["annotations"].get(
            "batch.kubernetes.io/job-completion-index", "?")
            for p in self.job_pods("ix"))
        t(idx == ["0", "1", "2"], "index annotations", idx)
        hosts = sorted(p["spec"].get("hostname", "")
                       for p in self.job_pods("ix"))
        t(hosts == ["ix-0", "ix-1", "ix-2"], "hostnames", hosts)

        # backoffLimit: two failures fail the job.
        self.apply(job("bad", exit_code=1, backoffLimit=1))
        if self.kubectl:
            rc, out, err = self.kubectl.run(
                "wait", "--for=condition=failed", "job/bad", "--timeout=60s",
                timeout=70)
            t(rc == 0, "kubectl wait failed", (rc, out, err))
        c = self.wait_job("bad", "Failed")
        t(c is not None and c.get("reason") == "BackoffLimitExceeded",
          "bad Failed BackoffLimitExceeded", c)
        j = self.a.get(BATCH + "/jobs/bad")
        t(j["status"].get("failed") == 2 and cond(j, "FailureTarget"),
          "bad failed 2, FailureTarget", j["status"])

        # podFailurePolicy FailJob on exit code 3.
        self.apply(job("pfp", exit_code=3, backoffLimit=5, podFailurePolicy={
            "rules": [{"action": "FailJob", "onExitCodes": {
                "operator": "In", "values": [3]}}]}))
        c = self.wait_job("pfp", "Failed")
        t(c is not None and c.get("reason") == "PodFailurePolicy",
          "podFailurePolicy FailJob", c)

        # ttlSecondsAfterFinished: the job goes once finished.
        self.apply(job("ttl", ttlSecondsAfterFinished=1))
        t(wait(lambda: self.a.get(BATCH + "/jobs/ttl") is None, 60),
          "ttlSecondsAfterFinished deletes the job")

        # suspend: no pods; resumed: runs.
        self.apply(job("sus", completions=1, suspend=True))
        c = self.wait_job("sus", "Suspended")
        t(c is not None and c.get("reason") == "JobSuspended", "Suspended", c)
        t(not self.job_pods("sus"), "suspended: no pods")
        self.a.patch(BATCH + "/jobs/sus", {"spec": {"suspend": False}})
        t(self.wait_job("sus", "Complete") is not None, "resumed job completes")


    # ---- CronJob -----------------------------------------------------------

    def cronjob(self):
        t = self.check
        cj = {"apiVersion": "batch/v1", "kind": "CronJob",
              "metadata": {"name": "tick"},
              "spec": {"schedule": "* * * * *",
                       "concurrencyPolicy": "Forbid",
                       "successfulJobsHistoryLimit": 1,
                       "jobTemplate": {"spec": job("x")["spec"]}}}
        rc, out, err = self.apply(cj)
        t(rc == 0, "apply cronjob", (rc, out, err))
        # Schedules and zones are validated as kube-apiserver does (with
        # robfig/cron's messages).
        bad = json.loads(json.dumps(cj))
        bad["metadata"]["name"] = "bad"
        bad["spec"]["schedule"] = "61 * * * *"
        bad["spec"]["timeZone"] = "Mars/Olympus"
        rc, out, err = self.apply(bad)
        t(rc != 0 and 'spec.schedule: Invalid value: "61 * * * *": end of '
          "range (61) above maximum (59): 61" in err and
          'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone '
          "Mars/Olympus" in err, "a bad schedule and zone are refused",
          (rc, out, err))
        bad["spec"]["schedule"] = "CRON_TZ=UTC 0 * * * *"
        del bad["spec"]["timeZone"]
        rc, out, err = self.apply(bad)
        t(rc != 0 and "cannot use TZ or CRON_TZ in schedule" in err,
          "CRON_TZ in the schedule is refused", (rc, out, err))
        # kubectl create job --from=cronjob/tick: a Job from the template.
        if self.kubectl:
            rc, out, err = self.kubectl.run("create", "job", "manual",
                                            "--from=cronjob/tick")
            t(rc == 0 and "job.batch/manual created" in out,
              "kubectl create job --from=cronjob", (rc, out, err))
            t(self.wait_job("manual", "Complete") is not None,
              "the manual job completes")
            j = self.a.get(BATCH + "/jobs/manual")
            t(j["metadata"]["annotations"].get(
                "cronjob.kubernetes.io/instantiate") == "manual",
              "manual annotation", j["metadata"])
        # The schedule: a Job within a minute, named by its time.
        def scheduled():
            c = self.a.get(BATCH + "/cronjobs/tick")
            st = c.get("status", {})
            done = [j for j in self.a.items(BATCH + "/jobs")
                    if j["metadata"]["name"].startswith("tick-") and
                    cond(j, "Complete")]
            return c if done and st.get("lastScheduleTime") and \
                st.get("lastSuccessfulTime") else None
        c = wait(scheduled, 130, 0.5)
        t(c is not None, "a scheduled job ran and succeeded",
          self.a.get(BATCH + "/cronjobs/tick"))
        if c:
            st = c["status"]
            t(st.get("lastScheduleTime"), "lastScheduleTime", st)
            jobs = [j for j in self.a.items(BATCH + "/jobs")
                    if j["metadata"]["name"] != "manual" and any(r.get("uid") == c["metadata"]["uid"]
                           for r in j["metadata"].get("ownerReferences", []))]
            t(jobs and all(j["metadata"]["name"].startswith("tick-") and
                           j["metadata"]["annotations"].get(
                               "batch.kubernetes.io/cronjob-scheduled-"
                               "timestamp") for j in jobs),
              "scheduled jobs named and annotated", jobs)
        for cli in filter(None, [self.kubectl, self.kube]):
            rc, out, err = cli.run("get", "cronjob", "tick")
            t(rc == 0 and "* * * * *" in out, "%s get cronjob" % cli.flavor,
              (rc, out, err))
        t(not [j for j in self.a.items(BATCH + "/jobs")
               if j["metadata"]["name"].startswith("bad-")],
          "no job for the bad schedule")


    # ---- DaemonSet ---------------------------------------------------------

    def ds_pods(self, app):
        return [p for p in self.a.items(NS + "/pods", "app=" + app)
                if not p["metadata"].get("deletionTimestamp")]

    def daemonset(self):
        t = self.check
        ds = {"apiVersion": "apps/v1", "kind": "DaemonSet",
              "metadata": {"name": "agent"},
              "spec": {"selector": {"matchLabels": {"app": "agent"}},
                       "template": {"metadata": {"labels": {"app": "agent"}},
                                    "spec": {"containers": [{
                                        "name": "c", "image": "agent:1"}]}}}}
        rc, out, err = self.apply(ds)
        t(rc == 0, "apply daemonset", (rc, out, err))

        def running(image):
            ps = self.ds_pods("agent")
            nodes = sorted(p["spec"].get("nodeName", "") for p in ps)
            ok = nodes == ["n1", "n2", "n3"] and all(
                p.get("status", {}).get("phase") == "Running" and
                p["spec"]["containers"][0]["image"] == image for p in ps)
            return ps if ok else None
        t(wait(lambda: running("agent:1"), 60) is not None,
          "one running pod per node", [(p["spec"].get("nodeName"),
                                        p.get("status", {}).get("phase"))
                                       for p in self.ds_pods("agent")])
        for cli in filter(None, [self.kubectl, self.kube]):
            rc, out, err = cli.run("rollout", "status", "ds/agent",
                                   "--timeout=60s", timeout=70)
            t(rc == 0 and 'daemon set "agent" successfully rolled out' in out,
              "%s rollout status ds" % cli.flavor, (rc, out, err))
        c = self.kubectl or self.kube
        rc, out, err = c.run("set", "image", "ds/agent", "c=agent:2")
        t(rc == 0, "set image ds", (rc, out, err))
        if self.kubectl:
            rc, out, err = self.kubectl.run("rollout", "status", "ds/agent",
                                            "--timeout=90s", timeout=100)
            t(rc == 0 and "successfully rolled out" in out,
              "kubectl rollout status ds after an update", (rc, out, err))
        t(wait(lambda: running("agent:2"), 90) is not None,
          "every node runs the new pod")
        d = self.a.get("/apis/apps/v1/namespaces/default/daemonsets/agent")
        st = d.get("status", {})
        t(st.get("desiredNumberScheduled") == 3 and
          st.get("updatedNumberScheduled") == 3 and
          st.get("numberAvailable") == 3 and
          st.get("observedGeneration") == d["metadata"]["generation"],
          "daemonset status", st)
        # A nodeSelector: one node only.
        one = json.loads(json.dumps(ds))
        one["metadata"]["name"] = "one"
        one["spec"]["selector"]["matchLabels"]["app"] = "one"
        one["spec"]["template"]["metadata"]["labels"]["app"] = "one"
        one["spec"]["template"]["spec"]["nodeSelector"] = {
            "kubernetes.io/hostname": "n2"}
        self.apply(one)
        t(wait(lambda: [p["spec"].get("nodeName") for p in self.ds_pods("one")]
               == ["n2"], 60), "nodeSelector: one pod on n2")


    # ---- StatefulSet -------------------------------------------------------

    def statefulset(self):
        t = self.check
        sts = {"apiVersion": "apps/v1", "kind": "StatefulSet",
               "metadata": {"name": "web"},
               "spec": {"replicas": 3, "serviceName": "web",
                        "selector": {"matchLabels": {"app": "web"}},
                        "template": {"metadata": {"labels": {"app": "web"}},
                                     "spec": {"containers": [{
                                         "name": "c", "image": "web:1"}]}}}}
        rc, out, err = self.apply(sts)
        t(rc == 0, "apply statefulset", (rc, out, err))

        def pods():
            return sorted((p["metadata"]["name"],
                           p.get("status", {}).get("phase"),
                           p["spec"]["containers"][0]["image"])
                          for p in self.ds_pods("web"))
        want = [("web-%d" % i, "Running", "web:1") for i in range(3)]
        t(wait(lambda: pods() == want, 60), "web-0..2 running", pods())
        p = self.a.get(NS + "/pods/web-1")
        t(p and p["spec"].get("hostname") == "web-1" and
          p["spec"].get("subdomain") == "web" and
          p["metadata"]["labels"].get("statefulset.kubernetes.io/pod-name") ==
          "web-1", "hostname, subdomain, pod-name label",
          p and (p["spec"].get("hostname"), p["metadata"]["labels"]))
        for cli in filter(None, [self.kubectl, self.kube]):
            rc, out, err = cli.run("rollout", "status", "sts/web",
                                   "--timeout=60s", timeout=70)
            t(rc == 0 and "roll out complete: 3 new pods" in out,
              "%s rollout status sts" % cli.flavor, (rc, out, err))
        c = self.kubectl or self.kube
        rc, out, err = c.run("set", "image", "sts/web", "c=web:2")
        t(rc == 0, "set image sts", (rc, out, err))
        want2 = [("web-%d" % i, "Running", "web:2") for i in range(3)]
        if self.kubectl:
            rc, out, err = self.kubectl.run("rollout", "status", "sts/web",
                                            "--timeout=120s", timeout=130)
            t(rc == 0 and "roll out complete" in out,
              "kubectl rollout status sts after an update", (rc, out, err))
        t(wait(lambda: pods() == want2, 120), "every pod updated", pods())
        rc, out, err = c.run("scale", "sts/web", "--replicas=1")
        t(rc == 0, "scale sts", (rc, out, err))
        t(wait(lambda: [x[0] for x in pods()] == ["web-0"], 60),
          "scaled down to web-0", pods())

        # Claims from volumeClaimTemplates, owned per the retention policy.
        db = {"apiVersion": "apps/v1", "kind": "StatefulSet",
              "metadata": {"name": "db"},
              "spec": {"replicas": 2, "serviceName": "db",
                       "podManagementPolicy": "Parallel",
                       "persistentVolumeClaimRetentionPolicy": {
                           "whenDeleted": "Delete", "whenScaled": "Retain"},
                       "selector": {"matchLabels": {"app": "db"}},
                       "template": {"metadata": {"labels": {"app": "db"}},
                                    "spec": {"containers": [{
                                        "name": "c", "image": "db:1"}]}},
                       "volumeClaimTemplates": [{
                           "metadata": {"name": "data"},
                           "spec": {"accessModes": ["ReadWriteOnce"],
                                    "resources": {"requests": {
                                        "storage": "1Gi"}}}}]}}
        self.apply(db)

        def claims():
            return sorted(c["metadata"]["name"] for c in self.a.items(
                NS + "/persistentvolumeclaims", "app=db"))
        t(wait(lambda: claims() == ["data-db-0", "data-db-1"], 60),
          "claims data-db-0, data-db-1", claims())
        cl = self.a.get(NS + "/persistentvolumeclaims/data-db-0")
        refs = (cl or {}).get("metadata", {}).get("ownerReferences", [])
        t(refs and refs[0].get("kind") == "StatefulSet" and
          refs[0].get("name") == "db", "claim owned by the set", refs)
        p = wait(lambda: self.a.get(NS + "/pods/db-1"), 30)
        vols = (p or {}).get("spec", {}).get("volumes", [])
        t(any(v.get("persistentVolumeClaim", {}).get("claimName") ==
              "data-db-1" for v in vols), "pod mounts its claim", vols)


SECTIONS = {"job": ["job"], "cronjob": ["cronjob"],
            "daemonset": ["daemonset"], "statefulset": ["statefulset"]}


def main():
    return run_sections(__doc__, SECTIONS, Suite, "kube-wl-test-")


if __name__ == "__main__":
    sys.exit(main())
