/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Workloads of batch/v1: Job and CronJob.  Columns and cells of the real
 * printers, SetDefaults_Job (the controller-uid selector) and
 * SetDefaults_CronJob, validation (cron schedules, restart policies).
 */
#include <ctype.h>

#include "api/cron.h"
#include "api/kinds/kind.h"

static const kube_kind_column_t job_columns[] = {
    COL_NAME,
    COL("STATUS", "string", "Status of the job."),
    COL("COMPLETIONS", "string",
        "The number of pods which reached phase Succeeded."),
    COL("DURATION", "string", "Time required to complete the job."),
    COL_AGE,
    COLW("CONTAINERS", "string", DESC_CONTAINERS),
    COLW("IMAGES", "string", DESC_IMAGES),
    COLW("SELECTOR", "string",
         "A label query over pods that should match the pod count."),
    COL_END};

static const kube_kind_column_t cronjob_columns[] = {
    COL_NAME,
    COL("SCHEDULE", "string",
        "The schedule in Cron format, see "
        "https://en.wikipedia.org/wiki/Cron."),
    COL("TIMEZONE", "string", "The time zone name for the given schedule."),
    COL("SUSPEND", "boolean",
        "This flag tells the controller to suspend subsequent executions, it "
        "does not apply to already started executions.  Defaults to false."),
    COL("ACTIVE", "integer", "A list of pointers to currently running jobs."),
    COL("LAST SCHEDULE", "string",
        "Information when was the last time the job was successfully "
        "scheduled."),
    COL_AGE,
    COLW("CONTAINERS", "string", DESC_CONTAINERS),
    COLW("IMAGES", "string", DESC_IMAGES),
    COLW("SELECTOR", "string",
         "A label query over pods that should match the pod count."),
    COL_END};

static const char *const sel_jobs[] = {"status.successful", NULL};

static bool job_condition(json_object *st, const char *type) {
  return api_condition_true(st, type);
}

static void job_cells(json_object *cells, json_object *obj, time_t now,
                      const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec"), *st = jget_obj(obj, "status");
  char buf[64];
  const char *status;
  if (job_condition(st, "Complete"))
    status = "Complete";
  else if (job_condition(st, "Failed"))
    status = "Failed";
  else if (api_has_deletion(obj))
    status = "Terminating";
  else if (job_condition(st, "Suspended"))
    status = "Suspended";
  else if (job_condition(st, "FailureTarget"))
    status = "FailureTarget";
  else if (job_condition(st, "SuccessCriteriaMet"))
    status = "SuccessCriteriaMet";
  else
    status = "Running";
  api_cell_str(cells, api_name_of(obj));
  api_cell_str(cells, status);
  int64_t succeeded = jget_int(st, "succeeded", 0);
  if (jis_int(jget(spec, "completions"))) {
    snprintf(buf, sizeof(buf), "%" PRId64 "/%" PRId64, succeeded,
             jget_int(spec, "completions", 0));
  } else {
    int64_t par = jget_int(spec, "parallelism", 0);
    if (par > 1)
      snprintf(buf, sizeof(buf), "%" PRId64 "/1 of %" PRId64, succeeded, par);
    else
      snprintf(buf, sizeof(buf), "%" PRId64 "/1", succeeded);
  }
  api_cell_str(cells, buf);
  time_t start, end;
  if (!api_jget_time(st, "startTime", &start))
    buf[0] = '\0';
  else if (!api_jget_time(st, "completionTime", &end))
    kube_time_age(start, now, buf, sizeof(buf));
  else
    kube_time_age(start, end, buf, sizeof(buf));
  api_cell_str(cells, buf);
  api_cell_age(cells, obj, now);
  api_cell_containers(cells, api_template_spec(obj));
  api_cell_selector_none(cells, jget_obj(spec, "selector"));
}

static void cronjob_cells(json_object *cells, json_object *obj, time_t now,
                          const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec"), *st = jget_obj(obj, "status");
  char buf[32];
  api_cell_str(cells, api_name_of(obj));
  api_cell_str(cells, jget_str0(spec, "schedule"));
  const char *tz = jget_str(spec, "timeZone");
  api_cell_str(cells, tz ? tz : "<none>");
  json_object *susp = jget(spec, "suspend");
  api_cell_str(cells, json_object_is_type(susp, json_type_boolean)
                          ? (json_object_get_boolean(susp) ? "True" : "False")
                          : "<unset>");
  api_cell_int(cells, (int64_t)jarr_len(jget_arr(st, "active")));
  if (jget_str(st, "lastScheduleTime")) {
    api_since(buf, sizeof(buf), st, "lastScheduleTime", now);
    api_cell_str(cells, buf);
  } else {
    api_cell_str(cells, "<none>");
  }
  api_cell_age(cells, obj, now);
  json_object *jspec = jget_obj(jget_obj(spec, "jobTemplate"), "spec");
  api_cell_containers(cells, jget_obj(jget_obj(jspec, "template"), "spec"));
  api_cell_selector_none(cells, jget_obj(jspec, "selector"));
}

static void job_spec_defaults(json_object *obj, json_object *spec) {
  if (!spec)
    return;
  if (absent(spec, "completions") && absent(spec, "parallelism")) {
    api_jset(spec, "completions", jint(1));
    api_jset(spec, "parallelism", jint(1));
  }
  api_jdefault(spec, "parallelism", jint(1));
  api_jdefault(spec, "backoffLimit", jint(6));
  if (empty_str(spec, "completionMode"))
    api_jset(spec, "completionMode", jstr("NonIndexed"));
  api_jdefault(spec, "suspend", jbool(false));
  json_object *tmpl = api_template_of(spec);
  /* The job strategy generates a selector from the uid unless the user
   * manages it (manualSelector). */
  const char *uid = jget_str(jget_obj(obj, "metadata"), "uid");
  const char *name = jget_str(jget_obj(obj, "metadata"), "name");
  if (obj && uid && name && tmpl && absent(spec, "selector") &&
      !jget_bool(spec, "manualSelector", false)) {
    json_object *sel = json_object_new_object();
    json_object *ml = json_object_new_object();
    if (sel && ml) {
      api_jset(ml, "batch.kubernetes.io/controller-uid", jstr(uid));
      api_jset(sel, "matchLabels", ml);
      api_jset(spec, "selector", sel);
    } else {
      json_object_put(sel);
      json_object_put(ml);
    }
    json_object *tl =
        api_jensure_obj(api_jensure_obj(tmpl, "metadata"), "labels");
    if (tl) {
      api_jset(tl, "batch.kubernetes.io/controller-uid", jstr(uid));
      api_jset(tl, "batch.kubernetes.io/job-name", jstr(name));
      api_jset(tl, "controller-uid", jstr(uid));
      api_jset(tl, "job-name", jstr(name));
    }
  }
  if (obj)
    api_labels_from_template(obj, tmpl);
  api_default_pod_spec(jget_obj(tmpl, "spec"));
}

static void cronjob_defaults(json_object *obj, const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec)
    return;
  if (empty_str(spec, "concurrencyPolicy"))
    api_jset(spec, "concurrencyPolicy", jstr("Allow"));
  api_jdefault(spec, "suspend", jbool(false));
  api_jdefault(spec, "successfulJobsHistoryLimit", jint(3));
  api_jdefault(spec, "failedJobsHistoryLimit", jint(1));
  json_object *jspec = jget_obj(jget_obj(spec, "jobTemplate"), "spec");
  if (jspec) {
    /* SetDefaults_Job does not run on templates; only the pod spec. */
    api_default_pod_spec(jget_obj(api_template_of(jspec), "spec"));
  }
}

static const char *const job_restart[] = {"OnFailure", "Never", NULL};

static void validate_job_spec(verrs_t *v, json_object *spec, const char *field,
                              bool is_template) {
  char f[FP_MAX];
  if (!spec) {
    api_v_required(v, field, NULL);
    return;
  }
  api_validate_nonneg(v, spec, "parallelism",
                      api_fp(f, "%s.parallelism", field));
  api_validate_nonneg(v, spec, "completions",
                      api_fp(f, "%s.completions", field));
  api_validate_nonneg(v, spec, "backoffLimit",
                      api_fp(f, "%s.backoffLimit", field));
  json_object *ads = jget(spec, "activeDeadlineSeconds");
  if (jis_int(ads) && json_object_get_int64(ads) <= 0)
    api_v_invalid_int(v, api_fp(f, "%s.activeDeadlineSeconds", field),
                      json_object_get_int64(ads), "must be greater than 0");
  json_object *sel = jget_obj(spec, "selector");
  json_object *tmpl = jget_obj(spec, "template");
  if (sel) {
    api_validate_label_selector(v, sel, api_fp(f, "%s.selector", field));
    json_object *labels = jget_obj(jget_obj(tmpl, "metadata"), "labels");
    if (tmpl && !api_selector_matches_labels(sel, labels)) {
      kube_strbuf_t sb = KUBE_STRBUF_INIT;
      api_go_map_string(&sb, labels);
      api_v_invalid_raw(v, api_fp(f, "%s.template.metadata.labels", field),
                        sb.data ? sb.data : "",
                        "`selector` does not match template `labels`");
      kube_strbuf_clear(&sb);
    }
  } else if (!is_template && jget_bool(spec, "manualSelector", false)) {
    api_v_required(v, api_fp(f, "%s.selector", field), NULL);
  }
  const char *cm = jget_str0(spec, "completionMode");
  static const char *const modes[] = {"Indexed", "NonIndexed", NULL};
  if (*cm && !api_in_set(cm, modes))
    api_v_unsupported(v, api_fp(f, "%s.completionMode", field), cm, modes);
  if (streq(cm, "Indexed") && !jis_int(jget(spec, "completions")))
    api_v_required(v, api_fp(f, "%s.completions", field),
                   "when completion mode is Indexed");
  if (!tmpl) {
    api_v_required(v, api_fp(f, "%s.template", field), NULL);
    return;
  }
  api_validate_pod_template(v, tmpl, api_fp(f, "%s.template", field), NULL,
                            NULL);
  json_object *pspec = jget_obj(tmpl, "spec");
  const char *rp = jget_str0(pspec, "restartPolicy");
  if (pspec && !api_in_set(rp, job_restart))
    api_v_unsupported(v, api_fp(f, "%s.template.spec.restartPolicy", field), rp,
                      job_restart);
}

static void validate_job(verrs_t *v, json_object *obj, json_object *old,
                         const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec");
  validate_job_spec(v, spec, "spec", false);
  if (old && spec) {
    json_object *os = jget_obj(old, "spec");
    json_object *osel = jget(os, "selector");
    if (osel)
      api_validate_immutable(v, jget(spec, "selector"), osel, "spec.selector");
    json_object *oc = jget(os, "completions");
    if (oc && !json_object_equal(jget(spec, "completions"), oc))
      api_validate_immutable(v, jget(spec, "completions"), oc,
                             "spec.completions");
    /* The pod template is immutable (apart from scheduling directives of
     * a suspended job, not modelled). */
    json_object *ot = jget(os, "template");
    if (ot && !json_object_equal(jget(spec, "template"), ot))
      api_v_invalid_raw(v, "spec.template", "core.PodTemplateSpec{...}",
                        "field is immutable");
  }
}

/* A cron field: "*", numbers, ranges a-b, lists, steps, or names. */
static const char *const concurrency[] = {"Allow", "Forbid", "Replace", NULL};

static void validate_cronjob(verrs_t *v, json_object *obj, json_object *old,
                             const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec");
  const char *name = jget_str0(jget_obj(obj, "metadata"), "name");
  if (strlen(name) > 52)
    api_v_invalid(v, "metadata.name", name,
                  "must be no more than 52 characters");
  if (!spec) {
    api_v_required(v, "spec", NULL);
    return;
  }
  const char *sched = jget_str0(spec, "schedule");
  const char *tz = jget_str(spec, "timeZone");
  kube_error_t err = KUBE_ERROR_INIT;
  if (!*sched) {
    api_v_required(v, "spec.schedule", NULL);
  } else if (strstr(sched, "TZ")) {
    api_v_invalid(v, "spec.schedule", sched,
                  "cannot use TZ or CRON_TZ in schedule, use timeZone field "
                  "instead");
  } else {
    /* The schedule alone: a bad zone is spec.timeZone's error. */
    api_cron_t *c = api_cron_parse(sched, NULL, &err);
    if (!c)
      api_v_invalid(v, "spec.schedule", sched, err.message);
    api_cron_free(c);
    kube_error_clear(&err);
  }
  if (tz) {
    api_tz_t *z = *tz ? api_tz_load(tz, &err) : NULL;
    if (!*tz || !z)
      api_v_invalid(v, "spec.timeZone", tz,
                    *tz ? err.message : "timeZone must be nil or non-empty string");
    api_tz_free(z);
    kube_error_clear(&err);
  }
  const char *cp = jget_str0(spec, "concurrencyPolicy");
  if (!api_in_set(cp, concurrency))
    api_v_unsupported(v, "spec.concurrencyPolicy", cp, concurrency);
  api_validate_nonneg(v, spec, "startingDeadlineSeconds",
                      "spec.startingDeadlineSeconds");
  api_validate_nonneg(v, spec, "successfulJobsHistoryLimit",
                      "spec.successfulJobsHistoryLimit");
  api_validate_nonneg(v, spec, "failedJobsHistoryLimit",
                      "spec.failedJobsHistoryLimit");
  json_object *jt = jget_obj(spec, "jobTemplate");
  if (!jt) {
    api_v_required(v, "spec.jobTemplate", NULL);
    return;
  }
  api_validate_labels(v, jget(jget_obj(jt, "metadata"), "labels"),
                      "spec.jobTemplate.metadata.labels");
  validate_job_spec(v, jget_obj(jt, "spec"), "spec.jobTemplate.spec", true);
}

/* ---- strategies ------------------------------------------------------------
 */

static void job_defaults(json_object *obj, const kube_kind_t *kind) {
  job_spec_defaults(obj, jget_obj(obj, "spec"));
}

static const api_field_path_t job_paths[] = {
    {"status.successful", "status.succeeded", "0"},
    {NULL, NULL, NULL},
};

static const struct kube_kind_strategy job_strategy = {
    .type = &api_t_Job,
    .validate = validate_job,
    .defaults = job_defaults,
    .cells = job_cells,
    .field_paths = job_paths,
};
static const struct kube_kind_strategy cronjob_strategy = {
    .type = &api_t_CronJob,
    .validate = validate_cronjob,
    .defaults = cronjob_defaults,
    .cells = cronjob_cells,
};

const kube_kind_t api_kind_job = KIND(
    "batch", "v1", "Job", "jobs", "job", true, NULL, api_verbs_all,
    api_categories_all, api_sub_status, job_columns, sel_jobs, &job_strategy);
const kube_kind_t api_kind_cronjob =
    KIND("batch", "v1", "CronJob", "cronjobs", "cronjob", true, NAMES("cj"),
         api_verbs_all, api_categories_all, api_sub_status, cronjob_columns,
         NULL, &cronjob_strategy);
