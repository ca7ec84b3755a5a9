/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube-controller-manager's deployment_util over JSON trees: fenceposts
 * (maxSurge rounds up, maxUnavailable down, both zero means one
 * unavailable), revisions and their annotations, conditions, the rollout
 * predicates and proportional scaling.
 */
#include <limits.h>
#include <math.h>

#include "controller/deployment.h"

/* ------------------------------------------------------------------------ */
/* Fields                                                                    */
/* ------------------------------------------------------------------------ */

int32_t ctl_du_replicas(json_object *o) {
  return (int32_t)cj_int(cj_obj(o, "spec"), "replicas", 1);
}

int32_t ctl_du_status(json_object *o, const char *field) {
  return (int32_t)cj_int(cj_obj(o, "status"), field, 0);
}

int64_t ctl_du_created_ns(json_object *o) {
  return ctl_time_ns(cj_str(cj_obj(o, "metadata"), "creationTimestamp"));
}

bool ctl_du_deleting(json_object *o) {
  json_object *dt = cj(cj_obj(o, "metadata"), "deletionTimestamp");
  return dt && !json_object_is_type(dt, json_type_null);
}

bool ctl_du_rolling(json_object *d) {
  const char *t = cj_str(cj_obj(cj_obj(d, "spec"), "strategy"), "type");
  return !t || streq(t, "RollingUpdate");
}

int ctl_du_scaled_value(json_object *v, int32_t total, bool round_up,
                        int32_t *out) {
  if (!v || json_object_is_type(v, json_type_null)) {
    *out = 0;
    return 0;
  }
  if (json_object_is_type(v, json_type_int)) {
    *out = (int32_t)json_object_get_int64(v);
    return 0;
  }
  const char *s = json_object_get_string(v);
  size_t l = s ? strlen(s) : 0;
  if (!l || s[l - 1] != '%') {
    /* intstr.FromString("5") is not a percentage: an error there. */
    return -1;
  }
  char *end;
  long pct = strtol(s, &end, 10);
  if (end != s + l - 1)
    return -1;
  double x = (double)pct * total / 100.0;
  *out = (int32_t)(round_up ? ceil(x) : floor(x));
  return 0;
}

static json_object *rolling_params(json_object *d) {
  return cj_obj(cj_obj(cj_obj(d, "spec"), "strategy"), "rollingUpdate");
}

/* ResolveFenceposts */
static void fenceposts(json_object *d, int32_t *surge, int32_t *unavail) {
  json_object *ru = rolling_params(d);
  int32_t desired = ctl_du_replicas(d);
  if (ctl_du_scaled_value(cj(ru, "maxSurge"), desired, true, surge) < 0)
    *surge = 0;
  if (ctl_du_scaled_value(cj(ru, "maxUnavailable"), desired, false, unavail) <
      0)
    *unavail = 0;
  if (*surge == 0 && *unavail == 0)
    *unavail = 1;
}

int32_t ctl_du_max_surge(json_object *d) {
  if (!ctl_du_rolling(d))
    return 0;
  int32_t s, u;
  fenceposts(d, &s, &u);
  return s;
}

int32_t ctl_du_max_unavailable(json_object *d) {
  if (!ctl_du_rolling(d) || ctl_du_replicas(d) == 0)
    return 0;
  int32_t s, u;
  fenceposts(d, &s, &u);
  return u > ctl_du_replicas(d) ? ctl_du_replicas(d) : u;
}

bool ctl_du_has_progress_deadline(json_object *d) {
  json_object *p = cj(cj_obj(d, "spec"), "progressDeadlineSeconds");
  return p && json_object_is_type(p, json_type_int) &&
         json_object_get_int64(p) != INT32_MAX;
}

/* ------------------------------------------------------------------------ */
/* Lists                                                                     */
/* ------------------------------------------------------------------------ */

int32_t ctl_du_sum_replicas(json_object *const *v, size_t n) {
  int32_t s = 0;
  for (size_t i = 0; i < n; i++)
    if (v[i])
      s += ctl_du_replicas(v[i]);
  return s;
}

int32_t ctl_du_sum_status(json_object *const *v, size_t n, const char *field) {
  int32_t s = 0;
  for (size_t i = 0; i < n; i++)
    if (v[i])
      s += ctl_du_status(v[i], field);
  return s;
}

static int by_creation(const void *pa, const void *pb) {
  json_object *a = *(json_object *const *)pa, *b = *(json_object *const *)pb;
  int64_t ta = ctl_du_created_ns(a), tb = ctl_du_created_ns(b);
  if (ta != tb)
    return ta < tb ? -1 : 1;
  return strcmp(cj_str0(cj_obj(a, "metadata"), "name"),
                cj_str0(cj_obj(b, "metadata"), "name"));
}

void ctl_du_sort_by_creation(json_object **v, size_t n) {
  qsort(v, n, sizeof *v, by_creation);
}

static int by_size_newer(const void *pa, const void *pb) {
  json_object *a = *(json_object *const *)pa, *b = *(json_object *const *)pb;
  if (ctl_du_replicas(a) != ctl_du_replicas(b))
    return ctl_du_replicas(a) > ctl_du_replicas(b) ? -1 : 1;
  return by_creation(pb, pa);
}

static int by_size_older(const void *pa, const void *pb) {
  json_object *a = *(json_object *const *)pa, *b = *(json_object *const *)pb;
  if (ctl_du_replicas(a) != ctl_du_replicas(b))
    return ctl_du_replicas(a) > ctl_du_replicas(b) ? -1 : 1;
  return by_creation(pa, pb);
}

void ctl_du_sort_by_size(json_object **v, size_t n, bool newer_first) {
  qsort(v, n, sizeof *v, newer_first ? by_size_newer : by_size_older);
}

static int by_revision(const void *pa, const void *pb) {
  json_object *a = *(json_object *const *)pa, *b = *(json_object *const *)pb;
  int64_t ra = ctl_revision(a), rb = ctl_revision(b);
  if (ra == rb)
    return by_creation(pa, pb);
  return ra < rb ? -1 : 1;
}

void ctl_du_sort_by_revision(json_object **v, size_t n) {
  qsort(v, n, sizeof *v, by_revision);
}

json_object *ctl_du_find_new(json_object *d, json_object *const *v, size_t n) {
  json_object *best = NULL;
  json_object *dt = cj_obj(cj_obj(d, "spec"), "template");
  for (size_t i = 0; i < n; i++) {
    if (!ctl_templates_equal_ignore_hash(
            cj_obj(cj_obj(v[i], "spec"), "template"), dt))
      continue;
    /* The oldest of them, deterministically (kubernetes#40415). */
    if (!best || by_creation(&v[i], &best) < 0)
      best = v[i];
  }
  return best;
}

int64_t ctl_du_max_revision(json_object *const *v, size_t n) {
  int64_t max = 0;
  for (size_t i = 0; i < n; i++) {
    int64_t r = ctl_revision(v[i]);
    if (r > max)
      max = r;
  }
  return max;
}

/* ------------------------------------------------------------------------ */
/* Revisions and annotations                                                 */
/* ------------------------------------------------------------------------ */

int64_t ctl_revision(json_object *obj) {
  const char *v = cj_str(cj_obj(cj_obj(obj, "metadata"), "annotations"),
                         CTL_REVISION_ANNOTATION);
  if (!v)
    return 0;
  char *end;
  errno = 0;
  long long r = strtoll(v, &end, 10);
  if (!*v || *end || errno)
    return -1;
  return r;
}

bool ctl_annotation_skipped(const char *key) {
  static const char *const skip[] = {
      CTL_LAST_APPLIED_ANNOTATION,     CTL_REVISION_ANNOTATION,
      CTL_REVISION_HISTORY_ANNOTATION, CTL_DESIRED_REPLICAS_ANNOTATION,
      CTL_MAX_REPLICAS_ANNOTATION,     CTL_ROLLBACK_TO_ANNOTATION,
  };
  for (size_t i = 0; i < ARRAY_SIZE(skip); i++)
    if (streq(key, skip[i]))
      return true;
  return false;
}

static json_object *annotations(json_object *o, bool create) {
  json_object *meta =
      create ? ctl_json_ensure(o, "metadata") : cj_obj(o, "metadata");
  return create ? ctl_json_ensure(meta, "annotations")
                : cj_obj(meta, "annotations");
}

static bool set_annotation(json_object *o, const char *k, const char *v) {
  json_object *a = annotations(o, true);
  const char *cur = cj_str(a, k);
  if (cur && streq(cur, v))
    return false;
  cj_set(a, k, json_object_new_string(v));
  return true;
}

/* copyDeploymentAnnotationsToReplicaSet */
static bool copy_annotations(json_object *d, json_object *rs) {
  bool changed = false;
  json_object *da = annotations(d, false);
  if (!da)
    return false;
  json_object_object_foreach(da, k, v) {
    if (ctl_annotation_skipped(k) || !json_object_is_type(v, json_type_string))
      continue;
    if (set_annotation(rs, k, json_object_get_string(v)))
      changed = true;
  }
  return changed;
}

#define MAX_REV_HISTORY_CHARS 2000

bool ctl_du_set_new_rs_annotations(json_object *d, json_object *rs,
                                   const char *new_revision, bool exists) {
  bool changed = copy_annotations(d, rs);
  json_object *a = annotations(rs, true);
  const char *old = cj_str(a, CTL_REVISION_ANNOTATION);
  cleanup_free char *old_rev = old ? strdup(old) : NULL;
  char *end;
  long long old_int = 0;
  if (old_rev) {
    errno = 0;
    old_int = strtoll(old_rev, &end, 10);
    if (!*old_rev || *end || errno)
      return false; /* not an int: left alone */
  }
  long long new_int = strtoll(new_revision, &end, 10);
  if (*end)
    return false;
  if (old_int < new_int) {
    set_annotation(rs, CTL_REVISION_ANNOTATION, new_revision);
    changed = true;
  }
  /* A revision that existed and moved up is a rollback to this ReplicaSet:
   * keep the old revisions in the history annotation. */
  if (old_rev && old_int < new_int) {
    const char *hist = cj_str(a, CTL_REVISION_HISTORY_ANNOTATION);
    if (!hist || !*hist) {
      set_annotation(rs, CTL_REVISION_HISTORY_ANNOTATION, old_rev);
    } else {
      cleanup_free char *h = strdup(hist);
      if (!h)
        return changed;
      size_t total = strlen(h) + strlen(old_rev) + 1;
      char *start = h;
      while (total > MAX_REV_HISTORY_CHARS && start && *start) {
        char *comma = strchr(start, ',');
        size_t seg = comma ? (size_t)(comma - start) : strlen(start);
        total -= seg + 1;
        start = comma ? comma + 1 : start + seg;
      }
      if (total <= MAX_REV_HISTORY_CHARS) {
        cleanup_free char *nh = NULL;
        if (asprintf(&nh, "%s%s%s", start, *start ? "," : "", old_rev) >= 0)
          set_annotation(rs, CTL_REVISION_HISTORY_ANNOTATION, nh);
      }
    }
  }
  if (!exists &&
      ctl_du_set_replicas_annotations(rs, ctl_du_replicas(d),
                                      ctl_du_replicas(d) + ctl_du_max_surge(d)))
    changed = true;
  return changed;
}

bool ctl_du_set_replicas_annotations(json_object *rs, int32_t desired,
                                     int32_t max) {
  char b1[16], b2[16];
  snprintf(b1, sizeof b1, "%d", desired);
  snprintf(b2, sizeof b2, "%d", max);
  bool c1 = set_annotation(rs, CTL_DESIRED_REPLICAS_ANNOTATION, b1);
  bool c2 = set_annotation(rs, CTL_MAX_REPLICAS_ANNOTATION, b2);
  return c1 || c2;
}

bool ctl_du_replicas_annotations_need_update(json_object *rs, int32_t desired,
                                             int32_t max) {
  char b1[16], b2[16];
  snprintf(b1, sizeof b1, "%d", desired);
  snprintf(b2, sizeof b2, "%d", max);
  json_object *a = annotations(rs, false);
  const char *d = cj_str(a, CTL_DESIRED_REPLICAS_ANNOTATION);
  const char *m = cj_str(a, CTL_MAX_REPLICAS_ANNOTATION);
  return !d || !streq(d, b1) || !m || !streq(m, b2);
}

static bool int_annotation(json_object *rs, const char *key, int32_t *out) {
  const char *v = cj_str(annotations(rs, false), key);
  if (!v || !*v)
    return false;
  char *end;
  long x = strtol(v, &end, 10);
  if (*end || x < INT32_MIN || x > INT32_MAX)
    return false;
  *out = (int32_t)x;
  return true;
}

bool ctl_du_desired_annotation(json_object *rs, int32_t *out) {
  return int_annotation(rs, CTL_DESIRED_REPLICAS_ANNOTATION, out);
}

bool ctl_du_max_annotation(json_object *rs, int32_t *out) {
  return int_annotation(rs, CTL_MAX_REPLICAS_ANNOTATION, out);
}

bool ctl_du_set_deployment_revision(json_object *d, const char *rev) {
  return set_annotation(d, CTL_REVISION_ANNOTATION, rev);
}

/* ------------------------------------------------------------------------ */
/* Template equality ignoring pod-template-hash (apiequality.Semantic)     */
/* ------------------------------------------------------------------------ */

/* The zero value of a Go field reads the same as an absent one; nil and
 * empty slices and maps are equal for Semantic.DeepEqual. */
static bool zeroish(json_object *v) {
  if (!v)
    return true;
  switch (json_object_get_type(v)) {
  case json_type_null:
    return true;
  case json_type_string:
    return !*json_object_get_string(v);
  case json_type_boolean:
    return !json_object_get_boolean(v);
  case json_type_int:
    return json_object_get_int64(v) == 0;
  case json_type_array:
    return json_object_array_length(v) == 0;
  case json_type_object:
    return json_object_object_length(v) == 0;
  default:
    return false;
  }
}

static bool sem_equal(json_object *a, json_object *b, bool quantities);

static bool quantity_keys(const char *k) {
  return streq(k, "limits") || streq(k, "requests") || streq(k, "overhead");
}

static bool obj_equal(json_object *a, json_object *b, bool quantities) {
  json_object_object_foreach(a, k, va) {
    json_object *vb = cj(b, k);
    bool q = quantities || quantity_keys(k) || streq(k, "sizeLimit") ||
             streq(k, "divisor");
    if (!sem_equal(va, vb, q))
      return false;
  }
  json_object_object_foreach(b, k2, vb2) {
    if (!cj(a, k2) && !zeroish(vb2))
      return false;
  }
  return true;
}

static bool sem_equal(json_object *a, json_object *b, bool quantities) {
  if (zeroish(a) && zeroish(b))
    return true;
  if (!a || !b)
    return false;
  enum json_type ta = json_object_get_type(a), tb = json_object_get_type(b);
  if ((ta == json_type_int || ta == json_type_double) &&
      (tb == json_type_int || tb == json_type_double))
    return json_object_get_double(a) == json_object_get_double(b);
  if (ta != tb)
    return false;
  switch (ta) {
  case json_type_string: {
    const char *sa = json_object_get_string(a), *sb = json_object_get_string(b);
    if (streq(sa, sb))
      return true;
    if (!quantities)
      return false;
    cleanup_free char *ca = ctl_quantity_canonical(sa, NULL);
    cleanup_free char *cb = ctl_quantity_canonical(sb, NULL);
    return ca && cb && streq(ca, cb);
  }
  case json_type_boolean:
    return json_object_get_boolean(a) == json_object_get_boolean(b);
  case json_type_array: {
    size_t n = json_object_array_length(a);
    if (n != json_object_array_length(b))
      return false;
    for (size_t i = 0; i < n; i++)
      if (!sem_equal(cj_at(a, i), cj_at(b, i), false))
        return false;
    return true;
  }
  case json_type_object:
    return obj_equal(a, b, quantities);
  default:
    return false;
  }
}

/* obj_equal of two objects (either absent: empty) leaving key `skip` out,
 * and calling `inner` for key `deeper` (NULL: none). */
static bool obj_equal_but(json_object *a, json_object *b, const char *skip,
                          const char *deeper,
                          bool (*inner)(json_object *, json_object *)) {
  if ((a && !json_object_is_type(a, json_type_object)) ||
      (b && !json_object_is_type(b, json_type_object)))
    return sem_equal(a, b, false);
  if (a) {
    json_object_object_foreach(a, k, va) {
      if (skip && streq(k, skip))
        continue;
      if (deeper && streq(k, deeper) ? !inner(va, cj(b, k))
                                     : !sem_equal(va, cj(b, k),
                                                  quantity_keys(k)))
        return false;
    }
  }
  if (b) {
    json_object_object_foreach(b, k2, vb2) {
      if (skip && streq(k2, skip))
        continue;
      if (deeper && streq(k2, deeper)) {
        if (!cj(a, k2) && !inner(NULL, vb2))
          return false;
      } else if (!cj(a, k2) && !zeroish(vb2)) {
        return false;
      }
    }
  }
  return true;
}

static bool labels_equal_but_hash(json_object *a, json_object *b) {
  return obj_equal_but(a, b, CTL_HASH_LABEL, NULL, NULL);
}

static bool meta_equal_but_hash(json_object *a, json_object *b) {
  return obj_equal_but(a, b, NULL, "labels", labels_equal_but_hash);
}

/* Read-only: no copy of either template per comparison (a Deployment
 * sync compares its template with every ReplicaSet's). */
bool ctl_templates_equal_ignore_hash(json_object *a, json_object *b) {
  return obj_equal_but(a, b, NULL, "metadata", meta_equal_but_hash);
}

/* ------------------------------------------------------------------------ */
/* Conditions                                                                */
/* ------------------------------------------------------------------------ */

json_object *ctl_du_condition(json_object *status, const char *type) {
  json_object *c = cj_arr(status, "conditions");
  for (size_t i = 0; i < cj_len(c); i++)
    if (streq(cj_str0(cj_at(c, i), "type"), type))
      return cj_at(c, i);
  return NULL;
}

void ctl_du_remove_condition(json_object *status, const char *type) {
  json_object *c = cj_arr(status, "conditions");
  if (!c)
    return;
  json_object *keep = json_object_new_array();
  for (size_t i = 0; i < cj_len(c); i++)
    if (!streq(cj_str0(cj_at(c, i), "type"), type))
      json_object_array_add(keep, json_object_get(cj_at(c, i)));
  cj_set(status, "conditions", keep);
}

void ctl_du_set_condition(json_object *status, const char *type, const char *st,
                          const char *reason, const char *message) {
  json_object *cur = ctl_du_condition(status, type);
  if (cur && streq(cj_str0(cur, "status"), st) &&
      streq(cj_str0(cur, "reason"), reason))
    return;
  char now[40];
  ctl_now_rfc3339(now, sizeof now);
  const char *transition = now;
  cleanup_free char *keep = NULL;
  if (cur && streq(cj_str0(cur, "status"), st) &&
      cj_str(cur, "lastTransitionTime"))
    transition = keep = strdup(cj_str(cur, "lastTransitionTime"));
  json_object *c = json_object_new_object();
  cj_set(c, "type", json_object_new_string(type));
  cj_set(c, "status", json_object_new_string(st));
  cj_set(c, "lastUpdateTime", json_object_new_string(now));
  cj_set(c, "lastTransitionTime",
         json_object_new_string(transition ? transition : now));
  cj_set(c, "reason", json_object_new_string(reason));
  cj_set(c, "message", json_object_new_string(message));
  ctl_du_remove_condition(status, type);
  json_object *arr = cj_arr(status, "conditions");
  if (!arr) {
    arr = json_object_new_array();
    cj_set(status, "conditions", arr);
  }
  json_object_array_add(arr, c);
}

/* ------------------------------------------------------------------------ */
/* Predicates                                                                */
/* ------------------------------------------------------------------------ */

bool ctl_du_complete(json_object *d, json_object *status) {
  int32_t r = ctl_du_replicas(d);
  return cj_int(status, "updatedReplicas", 0) == r &&
         cj_int(status, "replicas", 0) == r &&
         cj_int(status, "availableReplicas", 0) == r &&
         cj_int(status, "observedGeneration", 0) >=
             cj_int(cj_obj(d, "metadata"), "generation", 0);
}

bool ctl_du_progressing(json_object *d, json_object *ns) {
  json_object *os = cj_obj(d, "status");
  int64_t old_old =
      cj_int(os, "replicas", 0) - cj_int(os, "updatedReplicas", 0);
  int64_t new_old =
      cj_int(ns, "replicas", 0) - cj_int(ns, "updatedReplicas", 0);
  return cj_int(ns, "updatedReplicas", 0) > cj_int(os, "updatedReplicas", 0) ||
         new_old < old_old ||
         cj_int(ns, "readyReplicas", 0) > cj_int(os, "readyReplicas", 0) ||
         cj_int(ns, "availableReplicas", 0) >
             cj_int(os, "availableReplicas", 0);
}

bool ctl_du_timed_out(json_object *d, json_object *ns) {
  if (!ctl_du_has_progress_deadline(d))
    return false;
  json_object *c = ctl_du_condition(ns, "Progressing");
  if (!c)
    return false;
  const char *reason = cj_str0(c, "reason");
  if (streq(reason, DR_NEW_RS_AVAILABLE))
    return false;
  if (streq(reason, DR_TIMED_OUT))
    return true;
  int64_t from = ctl_time_ns(cj_str(c, "lastUpdateTime"));
  int64_t deadline = cj_int(cj_obj(d, "spec"), "progressDeadlineSeconds", 0);
  return from + deadline * 1000000000LL < ctl_now_ns();
}

bool ctl_du_saturated(json_object *d, json_object *rs) {
  if (!rs)
    return false;
  int32_t desired;
  if (!ctl_du_desired_annotation(rs, &desired))
    return false;
  int32_t r = ctl_du_replicas(d);
  return desired == r && ctl_du_replicas(rs) == r &&
         ctl_du_status(rs, "availableReplicas") == r;
}

/* getReplicaSetFraction */
static int32_t fraction(json_object *rs, json_object *d) {
  if (ctl_du_replicas(d) == 0)
    return -ctl_du_replicas(rs);
  int32_t deployment_replicas = ctl_du_replicas(d) + ctl_du_max_surge(d);
  int32_t annotated;
  if (!ctl_du_max_annotation(rs, &annotated))
    annotated = ctl_du_status(d, "replicas");
  if (annotated == 0)
    return 0;
  double size = (double)ctl_du_replicas(rs) * deployment_replicas / annotated;
  return (int32_t)lround(size) - ctl_du_replicas(rs);
}

int32_t ctl_du_proportion(json_object *rs, json_object *d, int32_t to_add,
                          int32_t added) {
  if (!rs || ctl_du_replicas(rs) == 0 || to_add == 0 || to_add == added)
    return 0;
  int32_t f = fraction(rs, d);
  int32_t allowed = to_add - added;
  if (to_add > 0)
    return f < allowed ? f : allowed;
  return f > allowed ? f : allowed;
}

int ctl_du_new_rs_new_replicas(json_object *d, json_object *const *all,
                               size_t n, json_object *new_rs, int32_t *out) {
  int32_t want = ctl_du_replicas(d);
  if (!ctl_du_rolling(d)) {
    *out = want;
    return 0;
  }
  int32_t surge;
  if (ctl_du_scaled_value(cj(rolling_params(d), "maxSurge"), want, true,
                          &surge) < 0)
    return -1;
  int32_t current = ctl_du_sum_replicas(all, n);
  int32_t max_total = want + surge;
  if (current >= max_total) {
    *out = ctl_du_replicas(new_rs);
    return 0;
  }
  int32_t up = max_total - current;
  if (up > want - ctl_du_replicas(new_rs))
    up = want - ctl_du_replicas(new_rs);
  *out = ctl_du_replicas(new_rs) + up;
  return 0;
}
