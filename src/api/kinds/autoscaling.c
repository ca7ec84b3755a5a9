/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HorizontalPodAutoscaler, autoscaling/v2 (preferred) and v1: columns and
 * cells (the object decides which shape it has), defaults, validation of
 * metrics and targets.
 */
#include "api/kinds/kind.h"

static const kube_kind_column_t hpa_columns[] = {
    COL_NAME,
    COL("REFERENCE", "string",
        "scaleTargetRef points to the target resource to scale."),
    COL("TARGETS", "string",
        "metrics contains the specifications for which to use to calculate "
        "the desired replica count."),
    COL("MINPODS", "string",
        "minReplicas is the lower limit for the number of replicas to which "
        "the autoscaler can scale down."),
    COL("MAXPODS", "string",
        "maxReplicas is the upper limit for the number of replicas to which "
        "the autoscaler can scale up."),
    COL("REPLICAS", "string",
        "currentReplicas is current number of replicas of pods managed by "
        "this autoscaler."),
    COL_AGE,
    COL_END};

static void hpa_cells(json_object *cells, json_object *obj, time_t now,
                      bool v1) {
  json_object *spec = jget_obj(obj, "spec"), *st = jget_obj(obj, "status");
  json_object *ref = jget_obj(spec, "scaleTargetRef");
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  api_cell_str(cells, api_name_of(obj));
  kube_strbuf_printf(&sb, "%s/%s", jget_str0(ref, "kind"),
                     jget_str0(ref, "name"));
  api_cell_sb(cells, &sb);
  if (v1) {
    /* Stored as autoscaling/v2, a v1 object without a target gets the
     * default 80% CPU metric. */
    int64_t target = jget_int(spec, "targetCPUUtilizationPercentage", 80);
    json_object *cur = jget(st, "currentCPUUtilizationPercentage");
    if (jis_int(cur))
      kube_strbuf_printf(&sb, "cpu: %" PRId64 "%%/%" PRId64 "%%",
                         json_object_get_int64(cur), target);
    else
      kube_strbuf_printf(&sb, "cpu: <unknown>/%" PRId64 "%%", target);
  } else {
    json_object *metrics = jget_arr(spec, "metrics");
    json_object *current = jget_arr(st, "currentMetrics");
    size_t count = jarr_len(metrics), shown = 0;
    for (size_t i = 0; i < count && shown < 2; i++, shown++) {
      json_object *m = jarr_at(metrics, i);
      json_object *cm = jarr_at(current, i);
      if (shown)
        kube_strbuf_append(&sb, ", ");
      const char *type = jget_str0(m, "type");
      const char *key = streq(type, "Resource")            ? "resource"
                        : streq(type, "ContainerResource") ? "containerResource"
                        : streq(type, "Pods")              ? "pods"
                        : streq(type, "Object")            ? "object"
                        : streq(type, "External")          ? "external"
                                                           : NULL;
      if (!key) {
        kube_strbuf_append(&sb, "<unknown type>");
        continue;
      }
      json_object *src = jget_obj(m, key);
      json_object *target = jget_obj(src, "target");
      json_object *cur = jget_obj(jget_obj(cm, key), "current");
      const char *label = "";
      if (streq(key, "resource") || streq(key, "containerResource"))
        label = jget_str0(src, "name");
      else
        label = jget_str0(jget_obj(src, "metric"), "name");
      const char *avg = jget_str(target, "averageValue");
      const char *val = jget_str(target, "value");
      if (avg || val) {
        const char *c = jget_str(cur, avg ? "averageValue" : "value");
        kube_strbuf_printf(&sb, "%s: %s/%s", label, c ? c : "<unknown>",
                           avg ? avg : val);
      } else {
        json_object *cu = jget(cur, "averageUtilization");
        json_object *tu = jget(target, "averageUtilization");
        char cbuf[32], tbuf[32];
        if (jis_int(cu))
          snprintf(cbuf, sizeof(cbuf), "%" PRId64 "%%",
                   json_object_get_int64(cu));
        else
          snprintf(cbuf, sizeof(cbuf), "<unknown>");
        if (jis_int(tu))
          snprintf(tbuf, sizeof(tbuf), "%" PRId64 "%%",
                   json_object_get_int64(tu));
        else
          snprintf(tbuf, sizeof(tbuf), "<auto>");
        kube_strbuf_printf(&sb, "%s: %s/%s", label, cbuf, tbuf);
      }
    }
    if (count > 2)
      kube_strbuf_printf(&sb, " + %zu more...", count - 2);
    if (count == 0)
      kube_strbuf_append(&sb, "<none>");
  }
  api_cell_sb(cells, &sb);
  json_object *min = jget(spec, "minReplicas");
  char buf[32];
  if (jis_int(min))
    snprintf(buf, sizeof(buf), "%" PRId64, json_object_get_int64(min));
  else
    snprintf(buf, sizeof(buf), "<unset>");
  api_cell_str(cells, buf);
  api_cell_int(cells, jget_int(spec, "maxReplicas", 0));
  api_cell_int(cells, jget_int(st, "currentReplicas", 0));
  api_cell_age(cells, obj, now);
}

/* One scaling policy {type, value, periodSeconds}. */
static json_object *policy(const char *type, int64_t value) {
  json_object *p = json_object_new_object();
  api_jset(p, "type", jstr(type));
  api_jset(p, "value", jint(value));
  api_jset(p, "periodSeconds", jint(15));
  return p;
}

/* GenerateHPAScaleUpRules / GenerateHPAScaleDownRules: each field the
 * rules leave unset. */
static void default_rules(json_object *behavior, const char *key, bool up) {
  json_object *r = api_jensure_obj(behavior, key);
  if (!r)
    return;
  api_jdefault(r, "stabilizationWindowSeconds", jint(up ? 0 : 300));
  api_jdefault(r, "selectPolicy", jstr("Max"));
  if (absent(r, "policies")) {
    json_object *p = json_object_new_array();
    if (up)
      json_object_array_add(p, policy("Pods", 4));
    json_object_array_add(p, policy("Percent", 100));
    api_jset(r, "policies", p);
  }
}

static void hpa_defaults(json_object *obj, const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec)
    return;
  api_jdefault(spec, "minReplicas", jint(1));
  json_object *behavior = jget_obj(spec, "behavior");
  if (behavior && streq(kind->version, "v2")) {
    default_rules(behavior, "scaleUp", true);
    default_rules(behavior, "scaleDown", false);
  }
  if (streq(kind->version, "v2") && jarr_len(jget_arr(spec, "metrics")) == 0) {
    json_object *metrics = json_object_new_array();
    json_object *m = json_object_new_object();
    json_object *res = json_object_new_object();
    json_object *target = json_object_new_object();
    if (!metrics || !m || !res || !target) {
      json_object_put(metrics);
      json_object_put(m);
      json_object_put(res);
      json_object_put(target);
      return;
    }
    api_jset(target, "type", jstr("Utilization"));
    api_jset(target, "averageUtilization", jint(80));
    api_jset(res, "name", jstr("cpu"));
    api_jset(res, "target", target);
    api_jset(m, "type", jstr("Resource"));
    api_jset(m, "resource", res);
    json_object_array_add(metrics, m);
    api_jset(spec, "metrics", metrics);
  }
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

/* ---- strategies ------------------------------------------------------------
 */

static void cells(json_object *c, json_object *obj, time_t now,
                  const kube_kind_t *kind) {
  /* kube-apiserver prints the internal object, whatever version was
   * asked for: a v1 row lists every metric as v2's does. */
  json_object *copy = NULL;
  if (streq(jget_str0(obj, "apiVersion"), "autoscaling/v1") &&
      json_object_deep_copy(obj, &copy, NULL) == 0 &&
      api_hpa_convert(copy, "autoscaling/v2") == 0) {
    hpa_cells(c, copy, now, false);
    json_object_put(copy);
    return;
  }
  json_object_put(copy);
  hpa_cells(c, obj, now, streq(jget_str0(obj, "apiVersion"), "autoscaling/v1"));
}

static void validate(verrs_t *v, json_object *obj, json_object *old,
                     const kube_kind_t *k) {
  validate_hpa(v, obj, streq(k->version, "v1"));
}

static const struct kube_kind_strategy v2_strategy = {
    .type = &api_t_HorizontalPodAutoscalerV2,
    .validate = validate,
    .defaults = hpa_defaults,
    .cells = cells,
    .storage_version = "autoscaling/v2",
    .convert = api_hpa_convert,
};
static const struct kube_kind_strategy v1_strategy = {
    .type = &api_t_HorizontalPodAutoscalerV1,
    .validate = validate,
    .defaults = hpa_defaults,
    .cells = cells,
    .storage_version = "autoscaling/v2",
    .convert = api_hpa_convert,
};

const kube_kind_t api_kind_hpa_v2 = KIND(
    "autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
    "horizontalpodautoscaler", true, NAMES("hpa"), api_verbs_all,
    api_categories_all, api_sub_status, hpa_columns, NULL, &v2_strategy);
const kube_kind_t api_kind_hpa_v1 = KIND(
    "autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
    "horizontalpodautoscaler", true, NAMES("hpa"), api_verbs_all,
    api_categories_all, api_sub_status, hpa_columns, NULL, &v1_strategy);
