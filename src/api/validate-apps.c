/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Workload validation (apps/v1, core ReplicationController, batch/v1,
 * autoscaling): selectors that must match template labels, replica
 * counts, strategies, and the fields that may not change on update.
 */
#include <ctype.h>
#include <inttypes.h>

#include "api/validate.h"

static const char *const always_only[] = {"Always", NULL};
static const char *const job_restart[] = {"OnFailure", "Never", NULL};

static void nonneg(verrs_t *v, json_object *spec, const char *key,
                   const char *field) {
  json_object *x = jget(spec, key);
  if (jis_int(x) && json_object_get_int64(x) < 0)
    api_v_invalid_int(v, field, json_object_get_int64(x),
                      "must be greater than or equal to 0");
}

/* The selector is required, non-empty, valid and must select the
 * template's labels. */
static void selector_and_template(verrs_t *v, json_object *spec,
                                  const char *kind_word) {
  json_object *sel = jget_obj(spec, "selector");
  json_object *tmpl = jget_obj(spec, "template");
  json_object *labels = jget_obj(jget_obj(tmpl, "metadata"), "labels");
  if (!sel) {
    api_v_required(v, "spec.selector", NULL);
    return;
  }
  api_validate_label_selector(v, sel, "spec.selector");
  json_object *ml = jget_obj(sel, "matchLabels");
  size_t n = (ml ? (size_t)json_object_object_length(ml) : 0) +
             jarr_len(jget_arr(sel, "matchExpressions"));
  if (n == 0) {
    char msg[96];
    snprintf(msg, sizeof(msg), "empty selector is invalid for %s", kind_word);
    api_v_invalid_raw(v, "spec.selector", "{}", msg);
    return;
  }
  if (tmpl && !api_selector_matches_labels(sel, labels)) {
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    api_go_map_string(&sb, labels);
    api_v_invalid_raw(v, "spec.template.metadata.labels",
                      sb.data ? sb.data : "",
                      "`selector` does not match template `labels`");
    kube_strbuf_clear(&sb);
  }
}

/* An int-or-percent: "25%" or 3. Returns the value; *pct tells which. */
static bool int_or_percent(verrs_t *v, json_object *x, const char *field,
                           int64_t *value, bool *pct) {
  *pct = false;
  *value = 0;
  if (!x)
    return false;
  if (jis_int(x)) {
    *value = json_object_get_int64(x);
    if (*value < 0) {
      api_v_invalid_int(v, field, *value, "must be greater than or equal to 0");
      return false;
    }
    return true;
  }
  const char *s = json_object_get_string(x);
  size_t len = s ? strlen(s) : 0;
  bool ok = len >= 2 && s[len - 1] == '%';
  for (size_t i = 0; ok && i + 1 < len; i++)
    ok = isdigit((unsigned char)s[i]);
  if (!ok) {
    api_v_invalid(
        v, field, s ? s : "",
        "a valid percent string must be a numeric string followed by "
        "an ending '%' (e.g. '1%',  or '93%', regex used for validation "
        "is '[0-9]+%')");
    return false;
  }
  *value = strtoll(s, NULL, 10);
  *pct = true;
  if (*value > 100) {
    api_v_invalid(v, field, s, "must not be greater than 100%");
    return false;
  }
  return true;
}

static void validate_rolling_update(verrs_t *v, json_object *ru,
                                    const char *field, bool surge_allowed) {
  char f[FP_MAX], g[FP_MAX];
  int64_t mu = 0, ms = 0;
  bool pu, ps;
  bool has_u = int_or_percent(v, jget(ru, "maxUnavailable"),
                              api_fp(f, "%s.maxUnavailable", field), &mu, &pu);
  bool has_s = int_or_percent(v, jget(ru, "maxSurge"),
                              api_fp(g, "%s.maxSurge", field), &ms, &ps);
  if (surge_allowed && has_u && has_s && mu == 0 && ms == 0)
    api_v_invalid_json(v, f, jget(ru, "maxUnavailable"),
                       "may not be 0 when `maxSurge` is 0");
}

static const char *const deploy_strategies[] = {"Recreate", "RollingUpdate",
                                                NULL};

static void validate_deployment(verrs_t *v, json_object *obj,
                                json_object *old) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec) {
    api_v_required(v, "spec", NULL);
    return;
  }
  nonneg(v, spec, "replicas", "spec.replicas");
  selector_and_template(v, spec, "deployment");
  api_validate_pod_template(v, jget_obj(spec, "template"), "spec.template",
                            always_only, "Deployment");
  json_object *strategy = jget_obj(spec, "strategy");
  const char *type = jget_str0(strategy, "type");
  if (!api_in_set(type, deploy_strategies)) {
    api_v_unsupported(v, "spec.strategy.type", type, deploy_strategies);
  } else if (streq(type, "Recreate") && jget_obj(strategy, "rollingUpdate")) {
    api_v_forbidden(v, "spec.strategy.rollingUpdate",
                    "may not be specified when strategy `type` is 'Recreate'");
  } else if (streq(type, "RollingUpdate")) {
    validate_rolling_update(v, jget_obj(strategy, "rollingUpdate"),
                            "spec.strategy.rollingUpdate", true);
  }
  nonneg(v, spec, "minReadySeconds", "spec.minReadySeconds");
  nonneg(v, spec, "revisionHistoryLimit", "spec.revisionHistoryLimit");
  json_object *pds = jget(spec, "progressDeadlineSeconds");
  if (jis_int(pds)) {
    int64_t p = json_object_get_int64(pds);
    if (p <= jget_int(spec, "minReadySeconds", 0))
      api_v_invalid_int(v, "spec.progressDeadlineSeconds", p,
                        "must be greater than minReadySeconds");
  }
  if (old) {
    json_object *os = jget_obj(jget_obj(old, "spec"), "selector");
    if (os)
      api_validate_immutable(v, jget(spec, "selector"), os, "spec.selector");
  }
}

static void validate_replicaset(verrs_t *v, json_object *obj,
                                json_object *old) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec) {
    api_v_required(v, "spec", NULL);
    return;
  }
  nonneg(v, spec, "replicas", "spec.replicas");
  nonneg(v, spec, "minReadySeconds", "spec.minReadySeconds");
  selector_and_template(v, spec, "deployment");
  api_validate_pod_template(v, jget_obj(spec, "template"), "spec.template",
                            always_only, "ReplicaSet");
  if (old) {
    json_object *os = jget_obj(jget_obj(old, "spec"), "selector");
    if (os)
      api_validate_immutable(v, jget(spec, "selector"), os, "spec.selector");
  }
}

static void validate_rc(verrs_t *v, json_object *obj) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec) {
    api_v_required(v, "spec", NULL);
    return;
  }
  nonneg(v, spec, "replicas", "spec.replicas");
  nonneg(v, spec, "minReadySeconds", "spec.minReadySeconds");
  json_object *sel = jget_obj(spec, "selector");
  json_object *tmpl = jget_obj(spec, "template");
  if (!sel || json_object_object_length(sel) == 0) {
    api_v_required(v, "spec.selector", NULL);
  } else {
    api_validate_labels(v, sel, "spec.selector");
    json_object *labels = jget_obj(jget_obj(tmpl, "metadata"), "labels");
    bool match = true;
    json_object_object_foreach(sel, k, val) {
      const char *have = jget_str(labels, k);
      const char *want = json_object_get_string(val);
      if (!have || !want || !streq(have, want))
        match = false;
    }
    if (tmpl && !match) {
      kube_strbuf_t sb = KUBE_STRBUF_INIT;
      api_go_map_string(&sb, labels);
      api_v_invalid_raw(v, "spec.template.metadata.labels",
                        sb.data ? sb.data : "",
                        "`selector` does not match template `labels`");
      kube_strbuf_clear(&sb);
    }
  }
  if (!tmpl)
    api_v_required(v, "spec.template", NULL);
  else
    api_validate_pod_template(v, tmpl, "spec.template", always_only,
                              "ReplicationController");
}

static const char *const ds_strategies[] = {"OnDelete", "RollingUpdate", NULL};

static void validate_daemonset(verrs_t *v, json_object *obj, json_object *old) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec) {
    api_v_required(v, "spec", NULL);
    return;
  }
  selector_and_template(v, spec, "daemonset");
  api_validate_pod_template(v, jget_obj(spec, "template"), "spec.template",
                            always_only, "DaemonSet");
  json_object *us = jget_obj(spec, "updateStrategy");
  const char *type = jget_str0(us, "type");
  if (!api_in_set(type, ds_strategies))
    api_v_unsupported(v, "spec.updateStrategy.type", type, ds_strategies);
  else if (streq(type, "RollingUpdate"))
    validate_rolling_update(v, jget_obj(us, "rollingUpdate"),
                            "spec.updateStrategy.rollingUpdate", true);
  nonneg(v, spec, "minReadySeconds", "spec.minReadySeconds");
  nonneg(v, spec, "revisionHistoryLimit", "spec.revisionHistoryLimit");
  if (old) {
    json_object *os = jget_obj(jget_obj(old, "spec"), "selector");
    if (os)
      api_validate_immutable(v, jget(spec, "selector"), os, "spec.selector");
  }
}

static const char *const pod_mgmt[] = {"OrderedReady", "Parallel", NULL};

static void validate_statefulset(verrs_t *v, json_object *obj,
                                 json_object *old) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec) {
    api_v_required(v, "spec", NULL);
    return;
  }
  nonneg(v, spec, "replicas", "spec.replicas");
  selector_and_template(v, spec, "statefulset");
  /* Claim templates become volumes of every pod: mounts may name them. */
  json_object *tmpl = NULL;
  json_object *claims = jget_arr(spec, "volumeClaimTemplates");
  if (jget_obj(spec, "template") &&
      json_object_deep_copy(jget_obj(spec, "template"), &tmpl, NULL) == 0 &&
      tmpl) {
    json_object *pspec = jget_obj(tmpl, "spec");
    json_object *vols = jget_arr(pspec, "volumes");
    if (pspec && !vols && jarr_len(claims) > 0) {
      vols = json_object_new_array();
      if (api_jset(pspec, "volumes", vols) < 0)
        vols = NULL;
    }
    for (size_t i = 0; vols && i < jarr_len(claims); i++) {
      const char *cn =
          jget_str0(jget_obj(jarr_at(claims, i), "metadata"), "name");
      json_object *vol = json_object_new_object();
      json_object *pvc = json_object_new_object();
      if (!vol || !pvc) {
        json_object_put(vol);
        json_object_put(pvc);
        break;
      }
      api_jset(pvc, "claimName", json_object_new_string(cn));
      api_jset(vol, "name", json_object_new_string(cn));
      api_jset(vol, "persistentVolumeClaim", pvc);
      json_object_array_add(vols, vol);
    }
  }
  api_validate_pod_template(v, tmpl, "spec.template", always_only,
                            "StatefulSet");
  json_object_put(tmpl);
  char f[FP_MAX];
  for (size_t i = 0; i < jarr_len(claims); i++) {
    json_object *c = jarr_at(claims, i);
    const char *cn = jget_str0(jget_obj(c, "metadata"), "name");
    if (!*cn)
      api_v_required(
          v, api_fp(f, "spec.volumeClaimTemplates[%zu].metadata.name", i),
          NULL);
    else
      api_validate_dns_subdomain(
          v, cn, api_fp(f, "spec.volumeClaimTemplates[%zu].metadata.name", i));
    if (jarr_len(jget_arr(jget_obj(c, "spec"), "accessModes")) == 0)
      api_v_required(
          v, api_fp(f, "spec.volumeClaimTemplates[%zu].spec.accessModes", i),
          "at least 1 access mode is required");
  }
  const char *pm = jget_str0(spec, "podManagementPolicy");
  if (!api_in_set(pm, pod_mgmt))
    api_v_unsupported(v, "spec.podManagementPolicy", pm, pod_mgmt);
  json_object *us = jget_obj(spec, "updateStrategy");
  const char *type = jget_str0(us, "type");
  if (!api_in_set(type, ds_strategies))
    api_v_unsupported(v, "spec.updateStrategy.type", type, ds_strategies);
  nonneg(v, jget_obj(us, "rollingUpdate"), "partition",
         "spec.updateStrategy.rollingUpdate.partition");
  if (old) {
    json_object *a = NULL, *b = NULL;
    if (json_object_deep_copy(spec, &a, NULL) == 0 &&
        json_object_deep_copy(jget_obj(old, "spec"), &b, NULL) == 0 && a && b) {
      static const char *const mutable[] = {
          "replicas",
          "ordinals",
          "template",
          "updateStrategy",
          "persistentVolumeClaimRetentionPolicy",
          "minReadySeconds"};
      for (size_t i = 0; i < ARRAY_SIZE(mutable); i++) {
        json_object_object_del(a, mutable[i]);
        json_object_object_del(b, mutable[i]);
      }
      if (!json_object_equal(a, b))
        api_v_forbidden(v, "spec",
                        "updates to statefulset spec for fields other than "
                        "'replicas', 'ordinals', 'template', 'updateStrategy', "
                        "'persistentVolumeClaimRetentionPolicy' and "
                        "'minReadySeconds' are forbidden");
    }
    json_object_put(a);
    json_object_put(b);
  }
}

static void validate_job_spec(verrs_t *v, json_object *spec, const char *field,
                              bool is_template) {
  char f[FP_MAX];
  if (!spec) {
    api_v_required(v, field, NULL);
    return;
  }
  nonneg(v, spec, "parallelism", api_fp(f, "%s.parallelism", field));
  nonneg(v, spec, "completions", api_fp(f, "%s.completions", field));
  nonneg(v, spec, "backoffLimit", api_fp(f, "%s.backoffLimit", field));
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

static void validate_job(verrs_t *v, json_object *obj, json_object *old) {
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
static bool cron_field_ok(const char *s, size_t len) {
  if (len == 0)
    return false;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (!isalnum((unsigned char)c) && c != '*' && c != '/' && c != ',' &&
        c != '-' && c != '?')
      return false;
  }
  return true;
}

static bool cron_ok(const char *s) {
  static const char *const macros[] = {"@yearly", "@annually", "@monthly",
                                       "@weekly", "@daily",    "@midnight",
                                       "@hourly", NULL};
  while (isspace((unsigned char)*s))
    s++;
  if (str_has_prefix(s, "TZ=") || str_has_prefix(s, "CRON_TZ="))
    return false; /* Kubernetes wants spec.timeZone instead */
  if (*s == '@')
    return api_in_set(s, macros) || str_has_prefix(s, "@every ");
  int fields = 0;
  while (*s) {
    const char *start = s;
    while (*s && !isspace((unsigned char)*s))
      s++;
    if (!cron_field_ok(start, (size_t)(s - start)))
      return false;
    fields++;
    while (isspace((unsigned char)*s))
      s++;
  }
  return fields == 5;
}

static const char *const concurrency[] = {"Allow", "Forbid", "Replace", NULL};

static void validate_cronjob(verrs_t *v, json_object *obj) {
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
  if (!*sched) {
    api_v_required(v, "spec.schedule", NULL);
  } else if (!cron_ok(sched)) {
    char msg[200];
    snprintf(msg, sizeof(msg),
             "unparseable schedule: expected exactly 5 "
             "fields or a descriptor, found \"%.100s\"",
             sched);
    api_v_invalid(v, "spec.schedule", sched, msg);
  }
  const char *cp = jget_str0(spec, "concurrencyPolicy");
  if (!api_in_set(cp, concurrency))
    api_v_unsupported(v, "spec.concurrencyPolicy", cp, concurrency);
  nonneg(v, spec, "startingDeadlineSeconds", "spec.startingDeadlineSeconds");
  nonneg(v, spec, "successfulJobsHistoryLimit",
         "spec.successfulJobsHistoryLimit");
  nonneg(v, spec, "failedJobsHistoryLimit", "spec.failedJobsHistoryLimit");
  json_object *jt = jget_obj(spec, "jobTemplate");
  if (!jt) {
    api_v_required(v, "spec.jobTemplate", NULL);
    return;
  }
  api_validate_labels(v, jget(jget_obj(jt, "metadata"), "labels"),
                      "spec.jobTemplate.metadata.labels");
  validate_job_spec(v, jget_obj(jt, "spec"), "spec.jobTemplate.spec", true);
}

static const char *const metric_types[] = {
    "ContainerResource", "External", "Object", "Pods", "Resource", NULL};
static const char *const target_types[] = {"AverageValue", "Utilization",
                                           "Value", NULL};

static void validate_metric_target(verrs_t *v, json_object *t,
                                   const char *field) {
  char f[FP_MAX];
  if (!t) {
    api_v_required(v, field, NULL);
    return;
  }
  const char *type = jget_str0(t, "type");
  if (!api_in_set(type, target_types)) {
    api_v_unsupported(v, api_fp(f, "%s.type", field), type, target_types);
    return;
  }
  if (streq(type, "Utilization")) {
    json_object *au = jget(t, "averageUtilization");
    if (!au)
      api_v_required(
          v, api_fp(f, "%s.averageUtilization", field),
          "must set either a target raw value or a target utilization");
    else if (jis_int(au) && json_object_get_int64(au) <= 0)
      api_v_invalid_int(v, api_fp(f, "%s.averageUtilization", field),
                        json_object_get_int64(au), "must be greater than 0");
  } else {
    const char *key = streq(type, "Value") ? "value" : "averageValue";
    json_object *q = jget(t, key);
    kube_quantity_t qv;
    bool ok;
    if (!q) {
      api_v_required(v, api_fp(f, "%s.%s", field, key),
                     "must set either a target value or averageValue");
    } else {
      api_validate_quantity(v, q, api_fp(f, "%s.%s", field, key), true, &qv,
                            &ok);
      if (ok && qv.nano == 0)
        api_v_invalid_json(v, api_fp(f, "%s.%s", field, key), q,
                           "must be positive");
    }
  }
}

static void validate_hpa(verrs_t *v, json_object *obj, bool v1) {
  json_object *spec = jget_obj(obj, "spec");
  char f[FP_MAX], g[FP_MAX];
  if (!spec) {
    api_v_required(v, "spec", NULL);
    return;
  }
  json_object *ref = jget_obj(spec, "scaleTargetRef");
  if (!*jget_str0(ref, "kind"))
    api_v_required(v, "spec.scaleTargetRef.kind", NULL);
  if (!*jget_str0(ref, "name"))
    api_v_required(v, "spec.scaleTargetRef.name", NULL);
  else
    api_validate_dns_subdomain(v, jget_str0(ref, "name"),
                               "spec.scaleTargetRef.name");
  int64_t min = jget_int(spec, "minReplicas", 1);
  if (jis_int(jget(spec, "minReplicas")) && min < 1)
    api_v_invalid_int(v, "spec.minReplicas", min,
                      "must be greater than or equal to 1");
  int64_t max = jget_int(spec, "maxReplicas", 0);
  if (max < 1)
    api_v_invalid_int(v, "spec.maxReplicas", max, "must be greater than 0");
  else if (max < min)
    api_v_invalid_int(v, "spec.maxReplicas", max,
                      "must be greater than or equal to `minReplicas`");
  if (v1) {
    json_object *t = jget(spec, "targetCPUUtilizationPercentage");
    if (jis_int(t) && json_object_get_int64(t) < 1)
      api_v_invalid_int(v, "spec.targetCPUUtilizationPercentage",
                        json_object_get_int64(t), "must be greater than 0");
    return;
  }
  json_object *metrics = jget_arr(spec, "metrics");
  for (size_t i = 0; i < jarr_len(metrics); i++) {
    json_object *m = jarr_at(metrics, i);
    api_fp(f, "spec.metrics[%zu]", i);
    const char *type = jget_str0(m, "type");
    if (!api_in_set(type, metric_types)) {
      api_v_unsupported(v, api_fp(g, "%s.type", f), type, metric_types);
      continue;
    }
    if (streq(type, "Resource") || streq(type, "ContainerResource")) {
      const char *key =
          streq(type, "Resource") ? "resource" : "containerResource";
      json_object *r = jget_obj(m, key);
      if (!r) {
        char detail[96];
        snprintf(detail, sizeof(detail),
                 "must populate information for the given metric source");
        api_v_required(v, api_fp(g, "%s.%s", f, key), detail);
        continue;
      }
      if (!*jget_str0(r, "name"))
        api_v_required(v, api_fp(g, "%s.%s.name", f, key), NULL);
      char h[FP_MAX];
      validate_metric_target(v, jget_obj(r, "target"),
                             api_fp(h, "%s.%s.target", f, key));
    } else {
      const char *key = streq(type, "Pods")     ? "pods"
                        : streq(type, "Object") ? "object"
                                                : "external";
      json_object *src = jget_obj(m, key);
      if (!src) {
        api_v_required(v, api_fp(g, "%s.%s", f, key),
                       "must populate information for the given metric source");
        continue;
      }
      if (!*jget_str0(jget_obj(src, "metric"), "name"))
        api_v_required(v, api_fp(g, "%s.%s.metric.name", f, key), NULL);
      char h[FP_MAX];
      validate_metric_target(v, jget_obj(src, "target"),
                             api_fp(h, "%s.%s.target", f, key));
    }
  }
}

void api_validate_workload(verrs_t *v, json_object *obj, json_object *old,
                           const kube_kind_t *k) {
  const char *g = k->group, *r = k->resource;
  if (streq(g, "apps") && streq(r, "deployments"))
    validate_deployment(v, obj, old);
  else if (streq(g, "apps") && streq(r, "replicasets"))
    validate_replicaset(v, obj, old);
  else if (streq(g, "apps") && streq(r, "daemonsets"))
    validate_daemonset(v, obj, old);
  else if (streq(g, "apps") && streq(r, "statefulsets"))
    validate_statefulset(v, obj, old);
  else if (!*g && streq(r, "replicationcontrollers"))
    validate_rc(v, obj);
  else if (streq(g, "batch") && streq(r, "jobs"))
    validate_job(v, obj, old);
  else if (streq(g, "batch") && streq(r, "cronjobs"))
    validate_cronjob(v, obj);
  else if (streq(g, "autoscaling") && streq(r, "horizontalpodautoscalers"))
    validate_hpa(v, obj, streq(k->version, "v1"));
}
