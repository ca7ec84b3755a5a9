/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Job controller (kube-controller-manager's "job", 1.32 semantics):
 * run pods until spec.completions succeed (NonIndexed, or Indexed with one
 * pod per completion index), at most spec.parallelism at once; fail after
 * backoffLimit failed pods, after activeDeadlineSeconds, or on a
 * podFailurePolicy FailJob rule; suspend deletes the active pods.  It also
 * does what the "ttl-after-finished" controller does for the Job it
 * finished (deletes it ttlSecondsAfterFinished later).
 *
 * Pods are tracked with the batch.kubernetes.io/job-tracking finalizer:
 * a terminated pod is first recorded in status.uncountedTerminatedPods,
 * then its finalizer removed, then it moves to status.succeeded/failed, so
 * that a crash between the steps neither loses nor double-counts a pod.
 * A sync runs those as steps:
 *   plan   -> creations / deletions, status with the new uncounted pods
 *   untrack-> finalizer patches of the uncounted pods
 *   count  -> status with them counted
 * Conditions as 1.32 writes them: FailureTarget then Failed, and
 * SuccessCriteriaMet then Complete, the terminal one once no pod is active.
 */
#include "controller/internal.h"
#include "controller/job.h"
#include "controller/replicaset.h"

#define JOB_BURST 500

struct jobc {
  struct ctl_base b;
  const kube_kind_t *jk, *pod_kind;
  kube_informer_t *inf, *pod_inf;
  struct ctl_podstore *pods;
  struct ctl_expectations exp;
};

/* ------------------------------------------------------------------------ */
/* Pod events                                                                */
/* ------------------------------------------------------------------------ */

/* A pod of a Job that no longer exists keeps no finalizer of ours
 * (the controller's orphan cleanup). */
static void release_orphan(struct jobc *j, const struct ctl_pod *p) {
  if (!p->ctrl_kind || !streq(p->ctrl_kind, "Job") ||
      !kube_informer_synced(j->inf))
    return;
  const kube_object_t *po = kube_informer_get(j->pod_inf, p->key);
  json_object *pod = po ? kube_object_json(po) : NULL;
  if (!pod || !ctl_job_has_finalizer(pod))
    return;
  cleanup_free char *patch = ctl_job_finalizer_patch(pod);
  struct ctl_op *op = patch ? ctl_op_new(&j->b, NULL, NULL, p->key) : NULL;
  if (op)
    ctl_op_started(op, kube_writer_patch(j->b.w, j->pod_kind, p->ns, p->name,
                                         NULL, KUBE_PATCH_MERGE, patch, NULL,
                                         ctl_op_cb, op, NULL));
}

static void pod_changed(const struct ctl_pod *old, const struct ctl_pod *cur,
                        void *arg) {
  struct jobc *j = arg;
  const struct ctl_pod *p = cur ? cur : old;
  if (old && cur && streq(old->resource_version, cur->resource_version))
    return;
  cleanup_free char *key = ctl_pod_owner_key(j->inf, "Job", p);
  if (old && cur && old->ctrl_uid &&
      (!cur->ctrl_uid || !streq(old->ctrl_uid, cur->ctrl_uid))) {
    cleanup_free char *okey = ctl_pod_owner_key(j->inf, "Job", old);
    if (okey)
      kube_controller_enqueue(j->b.c, okey, NULL);
  }
  if (!key) {
    if (cur)
      release_orphan(j, cur);
    return;
  }
  ctl_pod_observe(&j->exp, key, old, cur);
  kube_controller_enqueue(j->b.c, key, NULL);
}

/* ------------------------------------------------------------------------ */
/* A sync                                                                    */
/* ------------------------------------------------------------------------ */

struct jwork {
  struct jobc *j;
  json_object *job;    /* a copy of the Job synced */
  json_object *latest; /* the Job as the last status write returned it */
  json_object *status; /* the status to write (owned) */
  char *ns, *name;
  bool write_failed;
  /* uids whose finalizer is gone (patched, or pod gone) */
  struct strmap untracked;
  /* failed pods that count for nothing (podFailurePolicy Ignore, deleted
   * by the controller): uid -> pod key (owned) */
  struct strmap ignored;
};

static void jwork_free(void *v) {
  struct jwork *w = v;
  if (!w)
    return;
  json_object_put(w->job);
  json_object_put(w->latest);
  json_object_put(w->status);
  free(w->ns);
  free(w->name);
  strmap_clear(&w->untracked, NULL);
  strmap_clear(&w->ignored, free);
  free(w);
}

static const char *job_kind = "Job";
static const char *job_av = "batch/v1";

static json_object *uncounted_list(json_object *status, const char *which) {
  json_object *u = ctl_json_ensure(status, "uncountedTerminatedPods");
  json_object *l = cj_arr(u, which);
  if (!l) {
    l = json_object_new_array();
    cj_set(u, which, l);
  }
  return l;
}

static bool list_has(json_object *l, const char *uid) {
  for (size_t i = 0; i < cj_len(l); i++)
    if (streq(json_object_get_string(cj_at(l, i)), uid))
      return true;
  return false;
}

static void status_done(struct ctl_op *op, const kube_object_t *res,
                        const kube_error_t *err) {
  struct jwork *w = op->sync->data;
  if (err || !res) {
    log_debug("job: status of %s: %s", op->sync->key,
              err ? err->message : "no object");
    w->write_failed = true;
    op->sync->result = -1;
    return;
  }
  json_object_put(w->latest);
  w->latest = ctl_json_copy(kube_object_json(res));
}

/* PUT status `st` (borrowed) onto base (the last Job seen). */
static void write_status(struct ctl_sync *s, json_object *base,
                         json_object *st) {
  struct jwork *w = s->data;
  json_object *obj = ctl_json_copy(base);
  if (!obj) {
    s->result = -1;
    return;
  }
  cj_set(obj, "status", ctl_json_copy(st));
  kube_object_t *o = kube_object_wrap(obj);
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  struct ctl_op *op = o ? ctl_op_new(&w->j->b, s, status_done, NULL) : NULL;
  if (!op || ctl_op_started(
                 op, kube_writer_update_status(w->j->b.w, w->j->jk, w->ns, o,
                                               NULL, ctl_op_cb, op, &err)) < 0)
    s->result = -1;
  kube_object_free(o);
}

static void created(struct ctl_op *op, const kube_object_t *res,
                    const kube_error_t *err) {
  struct jwork *w = op->sync->data;
  if (err) {
    ctl_creation_observed(&w->j->exp, op->sync->key);
    ctl_eventf(&w->j->b, w->job, job_kind, job_av, "Warning", "FailedCreate",
               "Error creating: %s", err->message);
    op->sync->result = -1;
    return;
  }
  ctl_eventf(&w->j->b, w->job, job_kind, job_av, "Normal", "SuccessfulCreate",
             "Created pod: %s", res ? kube_object_name(res) : "");
}

static void deleted(struct ctl_op *op, const kube_object_t *res,
                    const kube_error_t *err) {
  struct jwork *w = op->sync->data;
  char ns[256];
  const char *name;
  ctl_split_key(op->tag, ns, sizeof ns, &name);
  if (err) {
    if (err->reason == KUBE_REASON_NOT_FOUND)
      return;
    ctl_deletion_observed(&w->j->exp, op->sync->key, op->tag);
    ctl_eventf(&w->j->b, w->job, job_kind, job_av, "Warning", "FailedDelete",
               "Error deleting: %s", err->message);
    op->sync->result = -1;
    return;
  }
  ctl_eventf(&w->j->b, w->job, job_kind, job_av, "Normal", "SuccessfulDelete",
             "Deleted pod: %s", name);
}

static void create_pod(struct ctl_sync *s, int64_t index) {
  struct jwork *w = s->data;
  cleanup_free char *body = ctl_job_pod(w->job, index);
  char path[512];
  snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", w->ns);
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  struct ctl_op *op = body ? ctl_op_new(&w->j->b, s, created, NULL) : NULL;
  if (!op || ctl_op_started(op, kube_writer_send(w->j->b.w, "POST", path, NULL,
                                                 body, strlen(body), ctl_op_cb,
                                                 op, &err)) < 0) {
    ctl_creation_observed(&w->j->exp, s->key);
    s->result = -1;
  }
}

static void delete_pods(struct ctl_sync *s, const struct ctl_pod **v,
                        size_t n) {
  struct jwork *w = s->data;
  if (!n)
    return;
  const char **keys = calloc(n, sizeof *keys);
  if (!keys) {
    s->result = -1;
    return;
  }
  for (size_t i = 0; i < n; i++)
    keys[i] = v[i]->key;
  ctl_expect_deletions(&w->j->exp, s->key, keys, n);
  for (size_t i = 0; i < n; i++) {
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    struct ctl_op *op = ctl_op_new(&w->j->b, s, deleted, v[i]->key);
    if (!op ||
        ctl_op_started(op, kube_writer_delete(w->j->b.w, w->j->pod_kind,
                                              v[i]->ns, v[i]->name, NULL,
                                              ctl_op_cb, op, &err)) < 0) {
      ctl_deletion_observed(&w->j->exp, s->key, keys[i]);
      s->result = -1;
    }
  }
  free(keys);
}

/* ---- count: the untracked uncounted pods move to the counters ---- */

static void step_count(struct ctl_sync *s) {
  struct jwork *w = s->data;
  if (w->write_failed)
    return;
  json_object *st = w->status;
  json_object *u = cj_obj(st, "uncountedTerminatedPods");
  static const char *const which[] = {"succeeded", "failed"};
  bool moved = false;
  for (size_t k = 0; k < 2; k++) {
    json_object *l = cj_arr(u, which[k]);
    json_object *keep = json_object_new_array();
    int64_t add = 0;
    for (size_t i = 0; i < cj_len(l); i++) {
      const char *uid = json_object_get_string(cj_at(l, i));
      if (strmap_get(&w->untracked, uid))
        add++;
      else
        json_object_array_add(keep, json_object_get(cj_at(l, i)));
    }
    if (add) {
      moved = true;
      cj_set(st, which[k],
             json_object_new_int64(cj_int(st, which[k], 0) + add));
    }
    cj_set(u, which[k], keep);
  }
  if (moved)
    write_status(s, w->latest ? w->latest : w->job, st);
}

/* ---- untrack: remove the finalizer of the uncounted pods ---- */

static void untracked(struct ctl_op *op, const kube_object_t *res,
                      const kube_error_t *err) {
  struct jwork *w = op->sync->data;
  if (err && err->reason != KUBE_REASON_NOT_FOUND) {
    op->sync->result = -1;
    return;
  }
  strmap_put(&w->untracked, op->tag, (void *)1, NULL);
}

/* The pods of the job by uid, as trees (borrowed from the informer). */
static json_object *pod_by_uid(struct jwork *w, const char *uid) {
  const struct ctl_podlist *l = ctl_podstore_owned(
      w->j->pods, cj_str0(cj_obj(w->job, "metadata"), "uid"));
  for (size_t i = 0; i < l->n; i++)
    if (streq(l->v[i]->uid, uid)) {
      const kube_object_t *o = kube_informer_get(w->j->pod_inf, l->v[i]->key);
      return o ? kube_object_json(o) : NULL;
    }
  return NULL;
}

static void step_untrack(struct ctl_sync *s) {
  struct jwork *w = s->data;
  if (w->write_failed)
    return;
  json_object *u = cj_obj(w->status, "uncountedTerminatedPods");
  static const char *const which[] = {"succeeded", "failed"};
  for (size_t k = 0; k < 2; k++) {
    json_object *l = cj_arr(u, which[k]);
    for (size_t i = 0; i < cj_len(l); i++) {
      const char *uid = json_object_get_string(cj_at(l, i));
      json_object *pod = pod_by_uid(w, uid);
      if (!pod || !ctl_job_has_finalizer(pod)) {
        strmap_put(&w->untracked, uid, (void *)1, NULL);
        continue;
      }
      cleanup_free char *patch = ctl_job_finalizer_patch(pod);
      json_object *meta = cj_obj(pod, "metadata");
      cleanup_error kube_error_t err = KUBE_ERROR_INIT;
      struct ctl_op *op =
          patch ? ctl_op_new(&w->j->b, s, untracked, uid) : NULL;
      if (!op ||
          ctl_op_started(op, kube_writer_patch(w->j->b.w, w->j->pod_kind, w->ns,
                                               cj_str0(meta, "name"), NULL,
                                               KUBE_PATCH_MERGE, patch, NULL,
                                               ctl_op_cb, op, &err)) < 0)
        s->result = -1;
    }
  }
  s->drained = step_count;
}

/* ---- plan ---- */

struct podset {
  const struct ctl_pod **active; /* running or pending, not deleting */
  size_t n_active, n_ready, n_terminating;
  struct ctl_idxset active_idx;
};

static void podset_clear(struct podset *ps) {
  free(ps->active);
  ctl_idx_clear(&ps->active_idx);
}

/* Whether a pod counts as failed: Failed, or being deleted before it
 * succeeded (podReplacementPolicy TerminatingOrFailed, the default without
 * a podFailurePolicy). */
static bool pod_failed(const struct ctl_pod *p, bool policy) {
  if (p->phase == CTL_PHASE_FAILED)
    return true;
  return !policy && p->deleting && p->phase != CTL_PHASE_SUCCEEDED;
}

/* Finished: Complete or Failed. */
static bool job_finished(json_object *st) {
  return ctl_job_condition_true(st, "Complete") ||
         ctl_job_condition_true(st, "Failed");
}

static void set_time(json_object *st, const char *field) {
  char now[40];
  cj_set(st, field, json_object_new_string(ctl_now_rfc3339(now, sizeof now)));
}

/* ttlSecondsAfterFinished: delete the finished job when it expired (with
 * its pods, Foreground as the TTL controller does), else look again
 * then. */
static void ttl_check(struct ctl_sync *s, struct jwork *w, json_object *st) {
  json_object *ttl = cj(cj_obj(w->job, "spec"), "ttlSecondsAfterFinished");
  if (!ttl || cj(cj_obj(w->job, "metadata"), "deletionTimestamp"))
    return;
  json_object *c = ctl_job_condition(st, "Complete");
  if (!c || !streq(cj_str0(c, "status"), "True"))
    c = ctl_job_condition(st, "Failed");
  int64_t fin = ctl_time_ns(cj_str(st, "completionTime"));
  if (!fin)
    fin = ctl_time_ns(cj_str(c, "lastTransitionTime"));
  int64_t due = fin + json_object_get_int64(ttl) * 1000000000LL;
  int64_t now = ctl_now_ns();
  if (due > now) {
    kube_controller_enqueue_after(w->j->b.c, s->key, (due - now) / 1000000 + 1,
                                  NULL);
    return;
  }
  kube_client_write_options_t o = {
      .struct_size = sizeof o,
      .grace_period = -1,
      .propagation = "Foreground",
      .precondition_uid = cj_str(cj_obj(w->job, "metadata"), "uid")};
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  struct ctl_op *op = ctl_op_new(&w->j->b, s, NULL, NULL);
  if (!op ||
      ctl_op_started(op, kube_writer_delete(w->j->b.w, w->j->jk, w->ns, w->name,
                                            &o, ctl_op_cb, op, &err)) < 0)
    s->result = -1;
}

static int plan(struct ctl_sync *s, struct jwork *w) {
  struct jobc *j = w->j;
  json_object *spec = cj_obj(w->job, "spec");
  json_object *st = w->status;
  json_object *policy = cj_obj(spec, "podFailurePolicy");
  const char *uid = cj_str0(cj_obj(w->job, "metadata"), "uid");
  bool indexed = streq(cj_str0(spec, "completionMode"), "Indexed");
  json_object *jcompl = cj(spec, "completions");
  int64_t completions = jcompl ? json_object_get_int64(jcompl) : -1;
  int64_t parallelism = cj_int(spec, "parallelism", 1);
  int64_t backoff = cj_int(spec, "backoffLimit", 6);
  bool suspended = cj_bool(spec, "suspend", false);
  bool finished = job_finished(st);
  bool deleting = cj(cj_obj(w->job, "metadata"), "deletionTimestamp");
  char fail_msg[512] = "";
  const char *fail_reason = NULL;

  json_object *usucc = uncounted_list(st, "succeeded");
  json_object *ufail = uncounted_list(st, "failed");
  struct ctl_idxset done = {0};
  ctl_idx_parse(&done, cj_str(st, "completedIndexes"),
                completions < 0 ? 0 : completions);
  struct podset ps = {0};
  const struct ctl_podlist *owned = ctl_podstore_owned(j->pods, uid);
  ps.active = calloc(owned->n + 1, sizeof *ps.active);
  if (!ps.active)
    return -1;
  for (size_t i = 0; i < owned->n; i++) {
    const struct ctl_pod *p = owned->v[i];
    if (!streq(p->ns, w->ns))
      continue;
    const kube_object_t *po = kube_informer_get(j->pod_inf, p->key);
    json_object *pod = po ? kube_object_json(po) : NULL;
    bool tracked = pod && ctl_job_has_finalizer(pod);
    int64_t idx = indexed && pod ? ctl_job_pod_index(pod) : -1;
    if (p->phase == CTL_PHASE_SUCCEEDED) {
      if (indexed && idx >= 0 && idx < completions)
        ctl_idx_add(&done, idx);
      if (tracked && !list_has(usucc, p->uid) && !list_has(ufail, p->uid))
        json_object_array_add(usucc, json_object_new_string(p->uid));
    } else if (pod_failed(p, policy != NULL)) {
      if (!tracked || list_has(ufail, p->uid) || list_has(usucc, p->uid))
        continue;
      /* Pods the controller deletes itself (suspend, finished, excess)
       * count for nothing; their finalizer still goes. */
      enum ctl_job_action a =
          p->phase == CTL_PHASE_FAILED
              ? ctl_job_failure_action(policy, pod, fail_msg, sizeof fail_msg)
              : CTL_JOB_COUNT;
      if (a == CTL_JOB_FAIL_JOB && !fail_reason)
        fail_reason = "PodFailurePolicy";
      if (a == CTL_JOB_IGNORE || suspended || finished) {
        char *k = strdup(p->key);
        if (!k || !strmap_put(&w->ignored, p->uid, k, NULL))
          free(k);
      } else {
        json_object_array_add(ufail, json_object_new_string(p->uid));
      }
    } else if (p->deleting) {
      ps.n_terminating++;
    } else {
      ps.active[ps.n_active++] = p;
      if (p->ready)
        ps.n_ready++;
      if (idx >= 0)
        ctl_idx_add(&ps.active_idx, idx);
    }
  }
  int64_t succeeded = cj_int(st, "succeeded", 0) + (int64_t)cj_len(usucc);
  int64_t failed = cj_int(st, "failed", 0) + (int64_t)cj_len(ufail);
  if (indexed)
    succeeded = (int64_t)done.n > succeeded ? (int64_t)done.n : succeeded;

  /* startTime: set when the job first runs (reset on resume). */
  if (!suspended && !finished && !cj_str(st, "startTime"))
    set_time(st, "startTime");

  /* Failure and success, as 1.32 decides them. */
  if (!finished && !fail_reason &&
      ctl_job_condition_true(st, "FailureTarget")) {
    fail_reason = cj_str0(ctl_job_condition(st, "FailureTarget"), "reason");
    snprintf(fail_msg, sizeof fail_msg, "%s",
             cj_str0(ctl_job_condition(st, "FailureTarget"), "message"));
  }
  if (!finished && !fail_reason && failed > backoff) {
    fail_reason = "BackoffLimitExceeded";
    snprintf(fail_msg, sizeof fail_msg,
             "Job has reached the specified backoff limit");
  }
  json_object *ads = cj(spec, "activeDeadlineSeconds");
  int64_t started = ctl_time_ns(cj_str(st, "startTime"));
  int64_t now = ctl_now_ns();
  if (!finished && !fail_reason && ads && !suspended && started) {
    int64_t due = started + json_object_get_int64(ads) * 1000000000LL;
    if (due <= now) {
      fail_reason = "DeadlineExceeded";
      snprintf(fail_msg, sizeof fail_msg,
               "Job was active longer than specified deadline");
    } else {
      kube_controller_enqueue_after(j->b.c, s->key, (due - now) / 1000000 + 1,
                                    NULL);
    }
  }
  bool success = false;
  if (!finished && !fail_reason) {
    if (completions >= 0)
      success =
          indexed ? (int64_t)done.n >= completions : succeeded >= completions;
    else
      success = succeeded > 0 && ps.n_active == 0;
    success = success || ctl_job_condition_true(st, "SuccessCriteriaMet");
  }

  /* The terminal condition waits until every terminated pod is counted
   * (enactJobFinished): Complete implies final counters. */
  bool uncounted = cj_len(usucc) || cj_len(ufail);
  int rc = 0;
  if (finished || deleting) {
    /* nothing runs any more */
  } else if (fail_reason || success || suspended) {
    /* Every active pod goes. */
    delete_pods(s, ps.active, ps.n_active);
    if (fail_reason) {
      if (ctl_job_set_condition(st, "FailureTarget", "True", fail_reason,
                                fail_msg))
        ctl_eventf(&j->b, w->job, job_kind, job_av, "Warning", fail_reason,
                   "%s", fail_msg);
      if (ps.n_active == 0 && ps.n_terminating == 0 && !uncounted) {
        ctl_job_set_condition(st, "Failed", "True", fail_reason, fail_msg);
        finished = true;
      }
    } else if (success) {
      ctl_job_set_condition(st, "SuccessCriteriaMet", "True",
                            "CompletionsReached",
                            "Reached expected number of succeeded pods");
      if (ps.n_active == 0 && ps.n_terminating == 0 && !uncounted) {
        ctl_job_set_condition(st, "Complete", "True", "CompletionsReached",
                              "Reached expected number of succeeded pods");
        set_time(st, "completionTime");
        ctl_eventf(&j->b, w->job, job_kind, job_av, "Normal", "Completed",
                   "Job completed");
        finished = true;
      }
    } else {
      if (ctl_job_set_condition(st, "Suspended", "True", "JobSuspended",
                                "Job suspended")) {
        ctl_eventf(&j->b, w->job, job_kind, job_av, "Normal", "Suspended",
                   "Job suspended");
        json_object_object_del(st, "startTime");
      }
    }
    ps.n_terminating += ps.n_active;
    ps.n_active = ps.n_ready = 0;
  } else {
    if (ctl_job_condition(st, "Suspended") &&
        ctl_job_set_condition(st, "Suspended", "False", "JobResumed",
                              "Job resumed"))
      ctl_eventf(&j->b, w->job, job_kind, job_av, "Normal", "Resumed",
                 "Job resumed");
    int64_t want;
    if (indexed)
      want = completions - (int64_t)done.n;
    else if (completions >= 0)
      want = completions - succeeded;
    else
      want = succeeded > 0 ? (int64_t)ps.n_active : parallelism;
    if (want > parallelism)
      want = parallelism;
    if (want < 0)
      want = 0;
    if (!ctl_expectations_satisfied(&j->exp, s->key)) {
      /* a write of the last sync is not seen yet: no acting twice */
    } else if ((int64_t)ps.n_active > want) {
      size_t extra = ps.n_active - (size_t)want;
      /* Not-ready and newest first. */
      const struct ctl_pod **v =
          ctl_rs_pods_to_delete(ps.active, ps.n_active, extra, NULL, 0);
      if (v)
        delete_pods(s, v, extra);
      free(v);
    } else if ((int64_t)ps.n_active < want) {
      int64_t n = want - (int64_t)ps.n_active;
      if (n > JOB_BURST)
        n = JOB_BURST;
      ctl_expect_creations(&j->exp, s->key, n);
      int64_t made = 0;
      for (int64_t idx = 0; made < n; idx++) {
        if (indexed) {
          if (idx >= completions)
            break;
          if (ctl_idx_has(&done, idx) || ctl_idx_has(&ps.active_idx, idx))
            continue;
        }
        create_pod(s, indexed ? idx : -1);
        made++;
      }
      for (; made < n; made++)
        ctl_creation_observed(&j->exp, s->key);
    }
  }

  /* Status fields. */
  cj_set(st, "active", json_object_new_int64((int64_t)ps.n_active));
  cj_set(st, "ready", json_object_new_int64((int64_t)ps.n_ready));
  cj_set(st, "terminating", json_object_new_int64((int64_t)ps.n_terminating));
  if (indexed) {
    char *ci = ctl_idx_format(&done);
    cj_set(st, "completedIndexes", json_object_new_string(ci ? ci : ""));
    free(ci);
  }
  ctl_idx_clear(&done);
  podset_clear(&ps);
  if (finished)
    ttl_check(s, w, st);
  return rc;
}

/* Ignored failures lose their finalizer without being counted. */
static void untrack_ignored(struct ctl_sync *s, struct jwork *w) {
  for (size_t b = 0; b < w->ignored.nbuckets; b++)
    for (struct strmap_entry *e = w->ignored.buckets[b]; e; e = e->next) {
      const kube_object_t *po = kube_informer_get(w->j->pod_inf, e->value);
      json_object *pod = po ? kube_object_json(po) : NULL;
      if (!pod || !ctl_job_has_finalizer(pod))
        continue;
      cleanup_free char *patch = ctl_job_finalizer_patch(pod);
      struct ctl_op *op = patch ? ctl_op_new(&w->j->b, s, NULL, NULL) : NULL;
      if (op)
        ctl_op_started(
            op, kube_writer_patch(w->j->b.w, w->j->pod_kind, w->ns,
                                  cj_str0(cj_obj(pod, "metadata"), "name"),
                                  NULL, KUBE_PATCH_MERGE, patch, NULL,
                                  ctl_op_cb, op, NULL));
    }
}

static int job_sync(kube_controller_t *c, const char *key, void *arg) {
  struct jobc *j = arg;
  const kube_object_t *obj = kube_informer_get(j->inf, key);
  if (!obj) {
    ctl_expectations_delete(&j->exp, key);
    return 0;
  }
  struct jwork *w = calloc(1, sizeof *w);
  struct ctl_sync *s = w ? ctl_sync_new(&j->b, key) : NULL;
  if (!s) {
    free(w);
    return -1;
  }
  s->data = w;
  s->free_data = jwork_free;
  w->j = j;
  w->job = ctl_json_copy(kube_object_json(obj));
  w->ns = strdup(kube_object_namespace(obj) ?: "");
  w->name = strdup(kube_object_name(obj) ?: "");
  json_object *old = cj_obj(w->job, "status");
  w->status = old ? ctl_json_copy(old) : json_object_new_object();
  if (!w->job || !w->ns || !w->name || !w->status) {
    s->result = -1;
    return ctl_sync_finish(s);
  }
  if (plan(s, w) < 0)
    s->result = -1;
  untrack_ignored(s, w);
  json_object *u = cj_obj(w->status, "uncountedTerminatedPods");
  bool have_uncounted =
      cj_len(cj_arr(u, "succeeded")) || cj_len(cj_arr(u, "failed"));
  if (!have_uncounted)
    json_object_object_del(w->status, "uncountedTerminatedPods");
  if (!old || !json_object_equal(old, w->status))
    write_status(s, w->job, w->status);
  if (have_uncounted)
    s->drained = step_untrack;
  return ctl_sync_finish(s);
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */
/* ------------------------------------------------------------------------ */

static void *job_create(kube_controller_manager_t *m, kube_error_t *err) {
  struct jobc *j = calloc(1, sizeof *j);
  if (!j) {
    kube_make_oom(err);
    return NULL;
  }
  j->jk = kube_kind_by_resource("batch", "v1", "jobs");
  j->pod_kind = kube_kind_by_resource("", "v1", "pods");
  if (!j->jk || !j->pod_kind) {
    kube_error_set(err, KUBE_REASON_INTERNAL, 0, "no batch/v1 jobs kind");
    free(j);
    return NULL;
  }
  if (ctl_base_init(&j->b, m, "job", "job-controller", job_sync, j, err) < 0) {
    free(j);
    return NULL;
  }
  if (!(j->inf = ctl_manager_informer(m, "/apis/batch/v1/jobs", err)) ||
      !(j->pods = ctl_manager_pods(m, err)) ||
      !(j->pod_inf = ctl_podstore_informer(j->pods)) ||
      kube_controller_watch(j->b.c, j->inf, NULL, NULL, err) < 0 ||
      kube_controller_watch(j->b.c, j->pod_inf, ctl_map_nothing, NULL, err) <
          0 ||
      ctl_podstore_listen(j->pods, pod_changed, NULL, j, err) < 0) {
    ctl_podstore_unlisten(j->pods, j);
    ctl_base_clear(&j->b);
    free(j);
    return NULL;
  }
  return j;
}

static int job_start(void *impl, kube_error_t *err) {
  return kube_controller_start(((struct jobc *)impl)->b.c, err);
}

static void job_free(void *impl) {
  struct jobc *j = impl;
  if (!j)
    return;
  ctl_podstore_unlisten(j->pods, j);
  ctl_base_clear(&j->b);
  ctl_expectations_clear(&j->exp);
  free(j);
}

static kube_controller_t *job_controller(void *impl) {
  return ((struct jobc *)impl)->b.c;
}

const struct ctl_impl_ops ctl_job_ops = {
    .create = job_create,
    .start = job_start,
    .free = job_free,
    .controller = job_controller,
};
