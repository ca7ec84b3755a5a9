/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CronJob controller (kube-controller-manager's "cronjob", the v2
 * controller's semantics): at each time of spec.schedule (in
 * spec.timeZone) create a Job from spec.jobTemplate named
 * <cronjob>-<scheduled minutes since the epoch>, so that a restart never
 * creates one twice; concurrencyPolicy Allow / Forbid (skip while one
 * runs) / Replace (delete the running ones first); a time missed by more
 * than startingDeadlineSeconds is skipped; status.active,
 * lastScheduleTime and lastSuccessfulTime; finished Jobs beyond
 * successfulJobsHistoryLimit / failedJobsHistoryLimit deleted, oldest
 * first; suspend stops scheduling.
 */
#include "api/cron.h"
#include "controller/internal.h"
#include "controller/job.h"

#define CJ_SCHEDULED_ANNOTATION                                                \
  "batch.kubernetes.io/cronjob-scheduled-timestamp"

struct cjc {
  struct ctl_base b;
  const kube_kind_t *cjk, *jk;
  kube_informer_t *inf, *jobs;
};

static const char *cj_kind = "CronJob";
static const char *cj_av = "batch/v1";

/* ------------------------------------------------------------------------ */
/* Job events                                                                */
/* ------------------------------------------------------------------------ */

static void job_changed(kube_controller_t *c, const char *key,
                        const kube_object_t *obj, void *arg) {
  kube_controller_enqueue_owner(c, obj, "CronJob", NULL);
}

/* ------------------------------------------------------------------------ */
/* A sync                                                                    */
/* ------------------------------------------------------------------------ */

struct cwork {
  struct cjc *c;
  json_object *cj;     /* a copy */
  json_object *status; /* to write (owned) */
  char *ns, *name, *uid;
  int64_t sched;   /* the time a Job is being created for (s), 0: none */
  int64_t next_at; /* the next scheduled time (s), 0: none */
};

static void cwork_free(void *v) {
  struct cwork *w = v;
  if (!w)
    return;
  json_object_put(w->cj);
  json_object_put(w->status);
  free(w->ns);
  free(w->name);
  free(w->uid);
  free(w);
}

static char *rfc3339(int64_t t, char *buf, size_t len) {
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

static int64_t time_of(json_object *o, const char *key) {
  return ctl_time_ns(cj_str(o, key)) / 1000000000;
}

static bool job_finished(json_object *job, bool *ok) {
  json_object *st = cj_obj(job, "status");
  *ok = ctl_job_condition_true(st, "Complete");
  return *ok || ctl_job_condition_true(st, "Failed");
}

static json_object *job_ref(json_object *job) {
  json_object *meta = cj_obj(job, "metadata");
  json_object *r = json_object_new_object();
  cj_set(r, "kind", json_object_new_string("Job"));
  cj_set(r, "namespace", json_object_new_string(cj_str0(meta, "namespace")));
  cj_set(r, "name", json_object_new_string(cj_str0(meta, "name")));
  cj_set(r, "uid", json_object_new_string(cj_str0(meta, "uid")));
  cj_set(r, "apiVersion", json_object_new_string("batch/v1"));
  cj_set(r, "resourceVersion",
         json_object_new_string(cj_str0(meta, "resourceVersion")));
  return r;
}

static void write_status(struct ctl_sync *s) {
  struct cwork *w = s->data;
  json_object *old = cj_obj(w->cj, "status");
  json_object *act = cj_arr(w->status, "active");
  if (act && !cj_len(act))
    json_object_object_del(w->status, "active");
  if (old ? json_object_equal(old, w->status)
          : !json_object_object_length(w->status))
    return;
  json_object *obj = ctl_json_copy(w->cj);
  if (!obj) {
    s->result = -1;
    return;
  }
  cj_set(obj, "status", ctl_json_copy(w->status));
  kube_object_t *o = kube_object_wrap(obj);
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  struct ctl_op *op = o ? ctl_op_new(&w->c->b, s, NULL, NULL) : NULL;
  if (!op || ctl_op_started(
                 op, kube_writer_update_status(w->c->b.w, w->c->cjk, w->ns, o,
                                               NULL, ctl_op_cb, op, &err)) < 0)
    s->result = -1;
  kube_object_free(o);
}

static void delete_job(struct ctl_sync *s, json_object *job) {
  struct cwork *w = s->data;
  json_object *meta = cj_obj(job, "metadata");
  kube_client_write_options_t o = {.struct_size = sizeof o,
                                   .grace_period = -1,
                                   .propagation = "Background",
                                   .precondition_uid = cj_str(meta, "uid")};
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  struct ctl_op *op = ctl_op_new(&w->c->b, s, NULL, NULL);
  if (!op || ctl_op_started(op, kube_writer_delete(w->c->b.w, w->c->jk, w->ns,
                                                   cj_str0(meta, "name"), &o,
                                                   ctl_op_cb, op, &err)) < 0) {
    s->result = -1;
    return;
  }
  ctl_eventf(&w->c->b, w->cj, cj_kind, cj_av, "Normal", "SuccessfulDelete",
             "Deleted job %s", cj_str0(meta, "name"));
}

static int start_cmp(const void *a, const void *b) {
  json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b;
  int64_t tx = time_of(cj_obj(x, "status"), "startTime"),
          ty = time_of(cj_obj(y, "status"), "startTime");
  if (!tx)
    tx = time_of(cj_obj(x, "metadata"), "creationTimestamp");
  if (!ty)
    ty = time_of(cj_obj(y, "metadata"), "creationTimestamp");
  return tx < ty ? -1 : tx > ty;
}

/* Finished Jobs beyond the history limit go, oldest first. */
static void cleanup_history(struct ctl_sync *s, json_object **v, size_t n,
                            json_object *limit) {
  if (!limit || n <= (size_t)json_object_get_int64(limit))
    return;
  qsort(v, n, sizeof *v, start_cmp);
  size_t drop = n - (size_t)json_object_get_int64(limit);
  for (size_t i = 0; i < drop; i++)
    delete_job(s, v[i]);
}

static void after_create(struct ctl_sync *s) {
  struct cwork *w = s->data;
  write_status(s);
  if (w->next_at) {
    int64_t ms = (w->next_at - ctl_now_ns() / 1000000000) * 1000 + 100;
    kube_controller_enqueue_after(w->c->b.c, s->key, ms > 0 ? ms : 100, NULL);
  }
}

static void job_created(struct ctl_op *op, const kube_object_t *res,
                        const kube_error_t *err) {
  struct cwork *w = op->sync->data;
  char buf[40];
  if (err && err->reason != KUBE_REASON_ALREADY_EXISTS) {
    ctl_eventf(&w->c->b, w->cj, cj_kind, cj_av, "Warning", "FailedCreate",
               "Error creating job: %s", err->message);
    op->sync->result = -1;
    return;
  }
  if (res) {
    json_object *act = cj_arr(w->status, "active");
    if (!act) {
      act = json_object_new_array();
      cj_set(w->status, "active", act);
    }
    json_object_array_add(act, job_ref(kube_object_json(res)));
    ctl_eventf(&w->c->b, w->cj, cj_kind, cj_av, "Normal", "SuccessfulCreate",
               "Created job %s", kube_object_name(res));
  }
  cj_set(w->status, "lastScheduleTime",
         json_object_new_string(rfc3339(w->sched, buf, sizeof buf)));
}

/* The Job of scheduled time t (getJobFromTemplate2). */
static char *job_body(struct cwork *w, const api_cron_t *cron, int64_t t) {
  json_object *tmpl = cj_obj(cj_obj(w->cj, "spec"), "jobTemplate");
  json_object *tmeta = cj_obj(tmpl, "metadata");
  json_object *job = json_object_new_object();
  json_object *meta = json_object_new_object();
  cj_set(job, "apiVersion", json_object_new_string("batch/v1"));
  cj_set(job, "kind", json_object_new_string("Job"));
  char name[320];
  snprintf(name, sizeof name, "%s-%lld", w->name, (long long)(t / 60));
  cj_set(meta, "name", json_object_new_string(name));
  cj_set(meta, "namespace", json_object_new_string(w->ns));
  ctl_copy_template_meta(meta, tmeta, false);
  /* The scheduled time in the schedule's zone, with its offset. */
  int32_t off = api_cron_offset(cron, t);
  time_t lt = (time_t)(t + off);
  struct tm tm;
  gmtime_r(&lt, &tm);
  char ts[64], zone[16];
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  if (off == 0)
    snprintf(zone, sizeof zone, "Z");
  else
    snprintf(zone, sizeof zone, "%c%02d:%02d", off < 0 ? '-' : '+',
             abs(off) / 3600, abs(off) % 3600 / 60);
  char stamp[96];
  snprintf(stamp, sizeof stamp, "%s%s", ts, zone);
  cj_set(ctl_json_ensure(meta, "annotations"), CJ_SCHEDULED_ANNOTATION,
         json_object_new_string(stamp));
  json_object *refs = json_object_new_array();
  json_object_array_add(refs,
                        ctl_controller_ref(cj_av, cj_kind, w->name, w->uid));
  cj_set(meta, "ownerReferences", refs);
  cj_set(job, "metadata", meta);
  json_object *spec = ctl_json_copy(cj_obj(tmpl, "spec"));
  cj_set(job, "spec", spec ? spec : json_object_new_object());
  return ctl_json_take_text(job);
}

/* The latest scheduled time in (earliest, now], and the first after now
 * (mostRecentScheduleTime); *missed counts the times passed over. */
static int64_t most_recent(const api_cron_t *cron, int64_t earliest,
                           int64_t now, int64_t *next, int64_t *missed) {
  int64_t last = 0, t = api_cron_next(cron, earliest);
  *missed = 0;
  while (t > 0 && t <= now) {
    last = t;
    if (++*missed > 1000) {
      /* Too many to walk: only the last day counts. */
      t = api_cron_next(cron, now - 86400);
      *missed = 0;
      while (t > 0 && t <= now) {
        last = t;
        t = api_cron_next(cron, t);
      }
      break;
    }
    t = api_cron_next(cron, t);
  }
  *next = t;
  return last;
}

static int cj_sync(kube_controller_t *kc, const char *key, void *arg) {
  struct cjc *c = arg;
  const kube_object_t *obj = kube_informer_get(c->inf, key);
  if (!obj)
    return 0;
  struct cwork *w = calloc(1, sizeof *w);
  struct ctl_sync *s = w ? ctl_sync_new(&c->b, key) : NULL;
  if (!s) {
    free(w);
    return -1;
  }
  s->data = w;
  s->free_data = cwork_free;
  w->c = c;
  w->cj = ctl_json_copy(kube_object_json(obj));
  w->ns = strdup(kube_object_namespace(obj) ?: "");
  w->name = strdup(kube_object_name(obj) ?: "");
  w->uid = strdup(kube_object_uid(obj) ?: "");
  json_object *old = cj_obj(w->cj, "status");
  w->status = old ? ctl_json_copy(old) : json_object_new_object();
  if (!w->cj || !w->ns || !w->name || !w->uid || !w->status) {
    s->result = -1;
    return ctl_sync_finish(s);
  }
  json_object *spec = cj_obj(w->cj, "spec");

  /* The Jobs it owns: active ones, finished ones (history). */
  size_t nk = 0;
  const char **keys = kube_informer_index_keys(
      c->jobs, KUBE_INDEX_CONTROLLER_UID, w->uid, &nk, NULL);
  json_object **ok = calloc(nk + 1, sizeof *ok),
              **bad = calloc(nk + 1, sizeof *bad);
  json_object *active = json_object_new_array();
  size_t n_ok = 0, n_bad = 0;
  int64_t last_success = time_of(w->status, "lastSuccessfulTime");
  bool has_sched_job = false;
  char want_name[320] = "";
  for (size_t i = 0; ok && bad && keys && i < nk; i++) {
    const kube_object_t *jo = kube_informer_get(c->jobs, keys[i]);
    json_object *job = jo ? kube_object_json(jo) : NULL;
    if (!job || !streq(cj_str0(cj_obj(job, "metadata"), "namespace"), w->ns))
      continue;
    bool success;
    if (!job_finished(job, &success)) {
      json_object_array_add(active, job_ref(job));
      continue;
    }
    if (success) {
      ok[n_ok++] = job;
      int64_t ct = time_of(cj_obj(job, "status"), "completionTime");
      if (ct > last_success)
        last_success = ct;
    } else {
      bad[n_bad++] = job;
    }
  }
  free(keys);
  cj_set(w->status, "active", active);
  if (last_success) {
    char buf[40];
    cj_set(w->status, "lastSuccessfulTime",
           json_object_new_string(rfc3339(last_success, buf, sizeof buf)));
  }
  cleanup_history(s, ok, n_ok, cj(spec, "successfulJobsHistoryLimit"));
  cleanup_history(s, bad, n_bad, cj(spec, "failedJobsHistoryLimit"));
  free(ok);
  free(bad);

  if (cj(cj_obj(w->cj, "metadata"), "deletionTimestamp") ||
      cj_bool(spec, "suspend", false)) {
    write_status(s);
    return ctl_sync_finish(s);
  }
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  api_cron_t *cron =
      api_cron_parse(cj_str(spec, "schedule"), cj_str(spec, "timeZone"), &err);
  if (!cron) {
    ctl_eventf(&c->b, w->cj, cj_kind, cj_av, "Warning", "InvalidSchedule",
               "invalid schedule: %s: %s", cj_str0(spec, "schedule"),
               err.message);
    write_status(s);
    return ctl_sync_finish(s);
  }
  int64_t now = ctl_now_ns() / 1000000000;
  int64_t earliest = time_of(w->status, "lastScheduleTime");
  if (!earliest)
    earliest = time_of(cj_obj(w->cj, "metadata"), "creationTimestamp");
  json_object *sds = cj(spec, "startingDeadlineSeconds");
  if (sds && now - json_object_get_int64(sds) > earliest)
    earliest = now - json_object_get_int64(sds);
  int64_t missed = 0;
  int64_t sched = most_recent(cron, earliest, now, &w->next_at, &missed);
  if (w->next_at < 0)
    w->next_at = 0;
  if (missed > 100)
    ctl_eventf(&c->b, w->cj, cj_kind, cj_av, "Warning", "TooManyMissedTimes",
               "too many missed start times: %lld", (long long)missed);
  if (sched) {
    snprintf(want_name, sizeof want_name, "%s-%lld", w->name,
             (long long)(sched / 60));
    json_object *act = cj_arr(w->status, "active");
    for (size_t i = 0; i < cj_len(act); i++)
      if (streq(cj_str0(cj_at(act, i), "name"), want_name))
        has_sched_job = true;
    char jkey[600];
    snprintf(jkey, sizeof jkey, "%s/%s", w->ns, want_name);
    if (kube_informer_get(c->jobs, jkey))
      has_sched_job = true;
  }
  const char *policy = cj_str0(spec, "concurrencyPolicy");
  if (!sched || has_sched_job) {
    /* nothing due */
  } else if (streq(policy, "Forbid") && cj_len(cj_arr(w->status, "active"))) {
    ctl_eventf(&c->b, w->cj, cj_kind, cj_av, "Normal", "JobAlreadyActive",
               "Not starting job because prior execution is running and "
               "concurrency policy is Forbid");
  } else {
    if (streq(policy, "Replace")) {
      json_object *act = cj_arr(w->status, "active");
      for (size_t i = 0; i < cj_len(act); i++) {
        char jkey[600];
        snprintf(jkey, sizeof jkey, "%s/%s", w->ns,
                 cj_str0(cj_at(act, i), "name"));
        const kube_object_t *jo = kube_informer_get(c->jobs, jkey);
        if (jo)
          delete_job(s, kube_object_json(jo));
      }
      cj_set(w->status, "active", json_object_new_array());
    }
    w->sched = sched;
    cleanup_free char *body = job_body(w, cron, sched);
    char path[512];
    snprintf(path, sizeof path, "/apis/batch/v1/namespaces/%s/jobs", w->ns);
    struct ctl_op *op = body ? ctl_op_new(&c->b, s, job_created, NULL) : NULL;
    if (!op || ctl_op_started(op, kube_writer_send(c->b.w, "POST", path, NULL,
                                                   body, strlen(body),
                                                   ctl_op_cb, op, &err)) < 0)
      s->result = -1;
  }
  api_cron_free(cron);
  s->drained = after_create;
  return ctl_sync_finish(s);
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */
/* ------------------------------------------------------------------------ */

static void *cj_create(kube_controller_manager_t *m, kube_error_t *err) {
  struct cjc *c = calloc(1, sizeof *c);
  if (!c) {
    kube_make_oom(err);
    return NULL;
  }
  c->cjk = kube_kind_by_resource("batch", "v1", "cronjobs");
  c->jk = kube_kind_by_resource("batch", "v1", "jobs");
  if (!c->cjk || !c->jk) {
    kube_error_set(err, KUBE_REASON_INTERNAL, 0, "no batch/v1 kinds");
    free(c);
    return NULL;
  }
  if (ctl_base_init(&c->b, m, "cronjob", "cronjob-controller", cj_sync, c,
                    err) < 0) {
    free(c);
    return NULL;
  }
  if (!(c->inf = ctl_manager_informer(m, "/apis/batch/v1/cronjobs", err)) ||
      !(c->jobs = ctl_manager_informer(m, "/apis/batch/v1/jobs", err)) ||
      (!kube_informer_has_index(c->jobs, KUBE_INDEX_CONTROLLER_UID) &&
       kube_informer_add_index(c->jobs, KUBE_INDEX_CONTROLLER_UID,
                               kube_index_controller_uid, NULL, err) < 0) ||
      kube_controller_watch(c->b.c, c->inf, NULL, NULL, err) < 0 ||
      kube_controller_watch(c->b.c, c->jobs, job_changed, NULL, err) < 0) {
    ctl_base_clear(&c->b);
    free(c);
    return NULL;
  }
  return c;
}

static int cj_start(void *impl, kube_error_t *err) {
  return kube_controller_start(((struct cjc *)impl)->b.c, err);
}

static void cj_free(void *impl) {
  struct cjc *c = impl;
  if (!c)
    return;
  ctl_base_clear(&c->b);
  free(c);
}

static kube_controller_t *cj_controller(void *impl) {
  return ((struct cjc *)impl)->b.c;
}

const struct ctl_impl_ops api_cronjob_ops = {
    .create = cj_create,
    .start = cj_start,
    .free = cj_free,
    .controller = cj_controller,
};
