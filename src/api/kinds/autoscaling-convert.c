/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HorizontalPodAutoscaler conversion between autoscaling/v1 and
 * autoscaling/v2, as kube-apiserver's pkg/apis/autoscaling/v1 conversion
 * does it: one object is stored (at v2) and served at either version.
 *
 * v2 -> v1: spec.targetCPUUtilizationPercentage is the first cpu Resource
 * metric with a Utilization target; every other metric goes to the
 * annotation autoscaling.alpha.kubernetes.io/metrics (v1 MetricSpec, the
 * v2beta1 shape), status.currentMetrics to .../current-metrics (all of
 * them, the cpu one too, to keep its raw value), status.conditions to
 * .../conditions and spec.behavior to .../behavior (upstream marshals its
 * internal type there: Go field names).  v1 -> v2 reads them back (the
 * other metrics first, the cpu one last, as upstream), drops them from
 * the annotations, and gives an object without any metric the implicit
 * v1 default, 80 % cpu.
 */
#include "api/kinds/kind.h"

#define ANN_METRICS "autoscaling.alpha.kubernetes.io/metrics"
#define ANN_CURRENT "autoscaling.alpha.kubernetes.io/current-metrics"
#define ANN_CONDITIONS "autoscaling.alpha.kubernetes.io/conditions"
#define ANN_BEHAVIOR "autoscaling.alpha.kubernetes.io/behavior"

static const char *const roundtrip_annotations[] = {
    ANN_METRICS, ANN_CURRENT, ANN_CONDITIONS, ANN_BEHAVIOR, NULL};

/* A deep copy of src[key] into dst[dkey] when present and not null. */
static void copy(json_object *dst, const char *dkey, json_object *src,
                 const char *key) {
  json_object *v = jget(src, key), *c = NULL;
  if (v && json_object_deep_copy(v, &c, NULL) == 0)
    api_jset(dst, dkey, c);
}

static json_object *new_obj(void) { return json_object_new_object(); }

/* Sets dst[key] = o when o has any member, else drops o. */
static void set_nonempty(json_object *dst, const char *key, json_object *o) {
  if (o && json_object_object_length(o) > 0)
    api_jset(dst, key, o);
  else
    json_object_put(o);
}

static const char *source_key(const char *type) {
  return streq(type, "Resource")            ? "resource"
         : streq(type, "ContainerResource") ? "containerResource"
         : streq(type, "Pods")              ? "pods"
         : streq(type, "Object")            ? "object"
         : streq(type, "External")          ? "external"
                                            : NULL;
}

/* ---- metric specs and statuses ------------------------------------------ */

/* One field of a metric source: its v1 name, and where v2 keeps it (in
 * the source itself when sec is NULL, else in its target / current /
 * metric object). */
struct fmap {
  const char *v1, *sec, *v2;
};

#define FM_END {NULL, NULL, NULL}

/* Resource and ContainerResource; Pods; Object; External (spec, status). */
static const struct fmap spec_resource[] = {
    {"name", NULL, "name"},
    {"targetAverageUtilization", "target", "averageUtilization"},
    {"targetAverageValue", "target", "averageValue"},
    {"container", NULL, "container"},
    FM_END};
static const struct fmap spec_pods[] = {
    {"metricName", "metric", "name"},
    {"targetAverageValue", "target", "averageValue"},
    {"selector", "metric", "selector"},
    FM_END};
static const struct fmap spec_object[] = {
    {"target", NULL, "describedObject"},
    {"metricName", "metric", "name"},
    {"targetValue", "target", "value"},
    {"selector", "metric", "selector"},
    {"averageValue", "target", "averageValue"},
    FM_END};
static const struct fmap spec_external[] = {
    {"metricName", "metric", "name"},
    {"metricSelector", "metric", "selector"},
    {"targetValue", "target", "value"},
    {"targetAverageValue", "target", "averageValue"},
    FM_END};
static const struct fmap status_resource[] = {
    {"name", NULL, "name"},
    {"currentAverageUtilization", "current", "averageUtilization"},
    {"currentAverageValue", "current", "averageValue"},
    {"container", NULL, "container"},
    FM_END};
static const struct fmap status_pods[] = {
    {"metricName", "metric", "name"},
    {"currentAverageValue", "current", "averageValue"},
    {"selector", "metric", "selector"},
    FM_END};
static const struct fmap status_object[] = {
    {"target", NULL, "describedObject"},
    {"metricName", "metric", "name"},
    {"currentValue", "current", "value"},
    {"selector", "metric", "selector"},
    {"averageValue", "current", "averageValue"},
    FM_END};
static const struct fmap status_external[] = {
    {"metricName", "metric", "name"},
    {"metricSelector", "metric", "selector"},
    {"currentValue", "current", "value"},
    {"currentAverageValue", "current", "averageValue"},
    FM_END};

/* The field map of a source key ("resource", "pods", ...). */
static const struct fmap *fields_of(const char *key, bool status) {
  if (streq(key, "resource") || streq(key, "containerResource"))
    return status ? status_resource : spec_resource;
  if (streq(key, "pods"))
    return status ? status_pods : spec_pods;
  if (streq(key, "object"))
    return status ? status_object : spec_object;
  return status ? status_external : spec_external;
}

/* The target type upstream infers from a v1 source. */
static const char *target_type(const char *key, json_object *src) {
  if (streq(key, "resource") || streq(key, "containerResource"))
    return absent(src, "targetAverageUtilization") ? "AverageValue"
                                                   : "Utilization";
  if (streq(key, "pods"))
    return "AverageValue";
  if (streq(key, "object"))
    return absent(src, "averageValue") ? "Value" : "AverageValue";
  return absent(src, "targetValue") ? "AverageValue" : "Value";
}

/* A MetricSpec (status false) or MetricStatus (true) of one version as
 * the other's: v2 -> v1 when to_v1. */
static json_object *metric_convert(json_object *m, bool status, bool to_v1) {
  const char *type = jget_str0(m, "type");
  const char *key = source_key(type);
  json_object *out = new_obj();
  api_jset(out, "type", jstr(type));
  json_object *src = key ? jget_obj(m, key) : NULL;
  if (!src)
    return out;
  json_object *o = new_obj();
  if (!to_v1 && !status) {
    json_object *t = new_obj();
    api_jset(t, "type", jstr(target_type(key, src)));
    api_jset(o, "target", t);
  }
  for (const struct fmap *f = fields_of(key, status); f->v1; f++) {
    if (to_v1) {
      copy(o, f->v1, f->sec ? jget_obj(src, f->sec) : src, f->v2);
      continue;
    }
    json_object *dst = f->sec ? api_jensure_obj(o, f->sec) : o;
    copy(dst, f->v2, src, f->v1);
  }
  api_jset(out, key, o);
  return out;
}

/* ---- behavior (upstream's internal type: Go field names, nil as null) --- */

static const char *const rules_fields[] = {"stabilizationWindowSeconds",
                                           "selectPolicy", "policies", NULL};

static json_object *recase(json_object *o, bool upper);

static json_object *recase_obj(json_object *o, bool upper) {
  json_object *out = new_obj();
  json_object_object_foreach(o, k, v) {
    if (!upper && !v)
      continue; /* nil pointers come back absent */
    char name[128];
    snprintf(name, sizeof name, "%s", k);
    name[0] = (char)(upper ? toupper((unsigned char)name[0])
                           : tolower((unsigned char)name[0]));
    json_object_object_add(out, name, recase(v, upper));
  }
  return out;
}

static json_object *recase(json_object *o, bool upper) {
  if (json_object_is_type(o, json_type_object))
    return recase_obj(o, upper);
  if (json_object_is_type(o, json_type_array)) {
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < jarr_len(o); i++)
      json_object_array_add(a, recase(jarr_at(o, i), upper));
    return a;
  }
  json_object *c = NULL;
  return o && json_object_deep_copy(o, &c, NULL) == 0 ? c : NULL;
}

static json_object *behavior_to_internal(json_object *b) {
  json_object *out = new_obj();
  static const char *const dirs[] = {"scaleUp", "scaleDown", NULL};
  for (size_t i = 0; dirs[i]; i++) {
    json_object *r = jget_obj(b, dirs[i]), *ir = NULL;
    if (r) {
      ir = new_obj();
      for (size_t f = 0; rules_fields[f]; f++) {
        char name[64];
        snprintf(name, sizeof name, "%s", rules_fields[f]);
        name[0] = (char)toupper((unsigned char)name[0]);
        json_object *v = jget(r, rules_fields[f]);
        json_object_object_add(ir, name, v ? recase(v, true) : NULL);
      }
    }
    char name[16];
    snprintf(name, sizeof name, "%s", dirs[i]);
    name[0] = (char)toupper((unsigned char)name[0]);
    json_object_object_add(out, name, ir);
  }
  return out;
}

/* ---- helpers for annotations ---------------------------------------------- */

static char *encode(json_object *o) {
  const char *s = json_object_to_json_string_ext(
      o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  return s ? strdup(s) : NULL;
}

/* The parsed annotation `key` when it holds JSON of `type`; owned. */
static json_object *annotation_json(json_object *ann, const char *key,
                                    json_type type) {
  const char *s = jget_str(ann, key);
  json_object *o = s ? json_tokener_parse(s) : NULL;
  if (o && !json_object_is_type(o, type)) {
    json_object_put(o);
    return NULL;
  }
  return o;
}

static void annotate(json_object *meta, const char *key, json_object *value) {
  char *s = encode(value);
  json_object_put(value);
  if (!s)
    return;
  json_object *ann = api_jensure_obj(meta, "annotations");
  if (ann)
    api_jset(ann, key, jstr(s));
  free(s);
}

/* Drops the round-trip annotations (and an annotations map left empty). */
static void drop_roundtrip(json_object *meta) {
  json_object *ann = jget_obj(meta, "annotations");
  if (!ann)
    return;
  for (size_t i = 0; roundtrip_annotations[i]; i++)
    json_object_object_del(ann, roundtrip_annotations[i]);
  if (json_object_object_length(ann) == 0)
    json_object_object_del(meta, "annotations");
}

static bool cpu_resource(json_object *m) {
  return streq(jget_str0(m, "type"), "Resource") &&
         streq(jget_str0(jget_obj(m, "resource"), "name"), "cpu");
}

static json_object *cpu_metric(int64_t util, const char *section,
                               const char *type_key) {
  json_object *m = new_obj(), *r = new_obj(), *t = new_obj();
  api_jset(m, "type", jstr("Resource"));
  api_jset(r, "name", jstr("cpu"));
  if (type_key)
    api_jset(t, "type", jstr(type_key));
  api_jset(t, "averageUtilization", jint(util));
  api_jset(r, section, t);
  api_jset(m, "resource", r);
  return m;
}

/* ---- whole objects -------------------------------------------------------- */

static void to_v1(json_object *obj) {
  json_object *meta = api_jensure_obj(obj, "metadata");
  json_object *spec = jget_obj(obj, "spec"), *st = jget_obj(obj, "status");
  drop_roundtrip(meta);
  if (spec) {
    json_object *s1 = new_obj(), *others = json_object_new_array();
    copy(s1, "scaleTargetRef", spec, "scaleTargetRef");
    copy(s1, "minReplicas", spec, "minReplicas");
    copy(s1, "maxReplicas", spec, "maxReplicas");
    json_object *metrics = jget_arr(spec, "metrics");
    bool have_cpu = false;
    for (size_t i = 0; i < jarr_len(metrics); i++) {
      json_object *m = jarr_at(metrics, i);
      json_object *t = jget_obj(jget_obj(m, "resource"), "target");
      if (cpu_resource(m) && !absent(t, "averageUtilization")) {
        if (!have_cpu)
          copy(s1, "targetCPUUtilizationPercentage", t, "averageUtilization");
        have_cpu = true;
        continue;
      }
      json_object_array_add(others, metric_convert(m, false, true));
    }
    if (jarr_len(others))
      annotate(meta, ANN_METRICS, others);
    else
      json_object_put(others);
    json_object *b = jget_obj(spec, "behavior");
    if (b)
      annotate(meta, ANN_BEHAVIOR, behavior_to_internal(b));
    api_jset(obj, "spec", s1);
  }
  if (st) {
    json_object *s1 = new_obj();
    copy(s1, "observedGeneration", st, "observedGeneration");
    copy(s1, "lastScaleTime", st, "lastScaleTime");
    copy(s1, "currentReplicas", st, "currentReplicas");
    copy(s1, "desiredReplicas", st, "desiredReplicas");
    json_object *cur = jget_arr(st, "currentMetrics");
    for (size_t i = 0; i < jarr_len(cur); i++) {
      json_object *m = jarr_at(cur, i);
      json_object *c = jget_obj(jget_obj(m, "resource"), "current");
      if (cpu_resource(m) && !absent(c, "averageUtilization"))
        copy(s1, "currentCPUUtilizationPercentage", c, "averageUtilization");
    }
    if (jarr_len(cur)) {
      json_object *v1 = json_object_new_array();
      for (size_t i = 0; i < jarr_len(cur); i++)
        json_object_array_add(v1, metric_convert(jarr_at(cur, i), true, true));
      annotate(meta, ANN_CURRENT, v1);
    }
    json_object *conds = jget_arr(st, "conditions");
    if (jarr_len(conds))
      annotate(meta, ANN_CONDITIONS, json_object_get(conds));
    api_jset(obj, "status", s1);
  }
  api_jset(obj, "apiVersion", jstr("autoscaling/v1"));
}

static void to_v2(json_object *obj) {
  json_object *meta = api_jensure_obj(obj, "metadata");
  json_object *ann = jget_obj(meta, "annotations");
  json_object *spec = jget_obj(obj, "spec"), *st = jget_obj(obj, "status");
  json_object *others = annotation_json(ann, ANN_METRICS, json_type_array);
  json_object *behavior = annotation_json(ann, ANN_BEHAVIOR, json_type_object);
  json_object *current = annotation_json(ann, ANN_CURRENT, json_type_array);
  json_object *conds = annotation_json(ann, ANN_CONDITIONS, json_type_array);
  if (spec) {
    json_object *s2 = new_obj(), *metrics = json_object_new_array();
    copy(s2, "scaleTargetRef", spec, "scaleTargetRef");
    copy(s2, "minReplicas", spec, "minReplicas");
    copy(s2, "maxReplicas", spec, "maxReplicas");
    for (size_t i = 0; i < jarr_len(others); i++)
      json_object_array_add(metrics,
                            metric_convert(jarr_at(others, i), false, false));
    json_object *cpu = jget(spec, "targetCPUUtilizationPercentage");
    if (jis_int(cpu) || !jarr_len(metrics))
      json_object_array_add(
          metrics, cpu_metric(jis_int(cpu) ? json_object_get_int64(cpu) : 80,
                              "target", "Utilization"));
    api_jset(s2, "metrics", metrics);
    json_object *b = behavior ? recase(behavior, false) : NULL;
    set_nonempty(s2, "behavior", b);
    api_jset(obj, "spec", s2);
  }
  if (st || current || conds) {
    json_object *s2 = new_obj();
    copy(s2, "observedGeneration", st, "observedGeneration");
    copy(s2, "lastScaleTime", st, "lastScaleTime");
    copy(s2, "currentReplicas", st, "currentReplicas");
    copy(s2, "desiredReplicas", st, "desiredReplicas");
    json_object *cm = NULL;
    if (current) {
      cm = json_object_new_array();
      for (size_t i = 0; i < jarr_len(current); i++)
        json_object_array_add(
            cm, metric_convert(jarr_at(current, i), true, false));
    } else if (jis_int(jget(st, "currentCPUUtilizationPercentage"))) {
      cm = json_object_new_array();
      json_object_array_add(
          cm, cpu_metric(jget_int(st, "currentCPUUtilizationPercentage", 0),
                         "current", NULL));
    }
    if (cm)
      api_jset(s2, "currentMetrics", cm);
    if (conds)
      api_jset(s2, "conditions", json_object_get(conds));
    api_jset(obj, "status", s2);
  }
  json_object_put(others);
  json_object_put(behavior);
  json_object_put(current);
  json_object_put(conds);
  drop_roundtrip(meta);
  api_jset(obj, "apiVersion", jstr("autoscaling/v2"));
}

int api_hpa_convert(json_object *obj, const char *api_version) {
  if (!json_object_is_type(obj, json_type_object))
    return -1;
  const char *from = jget_str(obj, "apiVersion");
  if (!from) {
    /* No apiVersion: the shape tells (a v1 object has no metrics). */
    json_object *spec = jget_obj(obj, "spec");
    from = jget(spec, "metrics") || jget(spec, "behavior") ||
                   jget(jget_obj(obj, "status"), "currentMetrics") ||
                   jget(jget_obj(obj, "status"), "conditions")
               ? "autoscaling/v2"
               : "autoscaling/v1";
  }
  if (streq(from, api_version)) {
    api_jset(obj, "apiVersion", jstr(api_version));
    return 0;
  }
  if (streq(api_version, "autoscaling/v1") && streq(from, "autoscaling/v2"))
    to_v1(obj);
  else if (streq(api_version, "autoscaling/v2") &&
           streq(from, "autoscaling/v1"))
    to_v2(obj);
  else
    return -1;
  return 0;
}
