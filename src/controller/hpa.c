/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HorizontalPodAutoscaler controller (kube-controller-manager's
 * "horizontalpodautoscaling"): every sync period each HPA (read at
 * autoscaling/v2: the API server converts v1 objects) reads its target's scale
 * subresource, the PodMetrics of the scale's selector from
 * metrics.k8s.io, and the pods' requests and readiness; the replica
 * calculator (hpa-replicas.c) proposes a count per Resource metric, the
 * highest wins; the proposal is stabilized (spec.behavior, or 300 s of
 * scale-down stabilization) and limited (min/max, scaling policies), the
 * scale written with a SuccessfulRescale event, and status (currentMetrics,
 * current/desiredReplicas, lastScaleTime, the AbleToScale, ScalingActive
 * and ScalingLimited conditions) updated, in upstream's wording.
 */
#include <math.h>

#include "controller/hpa.h"
#include "controller/internal.h"

#define HPA_AV "autoscaling/v2"
#define HPA_KIND "HorizontalPodAutoscaler"
#define HPA_DEFAULT_SYNC_MS 15000
#define HPA_DOWNSCALE_WINDOW_S 300
#define HPA_KEEP_NS (3600LL * 1000000000)

/* Recommendations and scale events of one HPA (kept between syncs). */
struct hpa_state {
  char *key;
  struct hpa_rec *recs, *events;
  size_t n_recs, n_events;
  struct hpa_state *next;
};

struct hpac {
  struct ctl_base b;
  const kube_kind_t *hk;
  kube_informer_t *inf;
  struct ctl_podstore *pods;
  int64_t period_ms;
  struct hpa_state *states;
};

/* ---- state -------------------------------------------------------------- */

static struct hpa_state *state_of(struct hpac *c, const char *key) {
  for (struct hpa_state *s = c->states; s; s = s->next)
    if (streq(s->key, key))
      return s;
  struct hpa_state *s = calloc(1, sizeof *s);
  if (!s || !(s->key = strdup(key))) {
    free(s);
    return NULL;
  }
  s->next = c->states;
  c->states = s;
  return s;
}

static void state_forget(struct hpac *c, const char *key) {
  for (struct hpa_state **pp = &c->states; *pp; pp = &(*pp)->next)
    if (streq((*pp)->key, key)) {
      struct hpa_state *s = *pp;
      *pp = s->next;
      free(s->key);
      free(s->recs);
      free(s->events);
      free(s);
      return;
    }
}

/* Keep what is newer than cutoff, then append rec. */
static void recs_push(struct hpa_rec **v, size_t *n, int64_t cutoff,
                      struct hpa_rec rec) {
  size_t k = 0;
  for (size_t i = 0; i < *n; i++)
    if ((*v)[i].at_ns > cutoff)
      (*v)[k++] = (*v)[i];
  *n = k;
  struct hpa_rec *nv = realloc(*v, (*n + 1) * sizeof *nv);
  if (!nv)
    return;
  *v = nv;
  nv[(*n)++] = rec;
}

/* ---- one sync ----------------------------------------------------------- */

struct cond {
  const char *status, *reason;
  char *message;
};

enum { C_ABLE = 0, C_ACTIVE, C_LIMITED, C_N };
static const char *const cond_types[C_N] = {"AbleToScale", "ScalingActive",
                                            "ScalingLimited"};

struct hwork {
  struct hpac *c;
  json_object *hpa; /* a copy */
  char *key, *ns, *name;
  const kube_kind_t *tk; /* the target's kind */
  int32_t current, desired;
  bool have_current;
  char *selector;
  json_object *current_metrics; /* owned */
  bool rescaled;
  struct cond conds[C_N];
};

static void hwork_free(void *v) {
  struct hwork *w = v;
  if (!w)
    return;
  json_object_put(w->hpa);
  json_object_put(w->current_metrics);
  free(w->key);
  free(w->ns);
  free(w->name);
  free(w->selector);
  for (int i = 0; i < C_N; i++)
    free(w->conds[i].message);
  free(w);
}

KUBE_PRINTF(5, 6)
static void set_cond(struct hwork *w, int type, bool ok, const char *reason,
                     const char *fmt, ...) {
  struct cond *c = &w->conds[type];
  free(c->message);
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&c->message, fmt, ap) < 0)
    c->message = NULL;
  va_end(ap);
  c->status = ok ? "True" : "False";
  c->reason = reason;
}

static json_object *conditions_json(struct hwork *w) {
  json_object *old = cj_arr(cj_obj(w->hpa, "status"), "conditions");
  json_object *out = json_object_new_array();
  char now[32];
  ctl_now_rfc3339(now, sizeof now);
  for (int i = 0; i < C_N; i++) {
    struct cond *c = &w->conds[i];
    json_object *prev = NULL;
    for (size_t k = 0; k < cj_len(old); k++)
      if (streq(cj_str0(cj_at(old, k), "type"), cond_types[i]))
        prev = cj_at(old, k);
    if (!c->status) { /* not evaluated this time: keep the last one */
      if (prev)
        json_object_array_add(out, json_object_get(prev));
      continue;
    }
    json_object *o = json_object_new_object();
    cj_set(o, "type", json_object_new_string(cond_types[i]));
    cj_set(o, "status", json_object_new_string(c->status));
    const char *since = prev && streq(cj_str0(prev, "status"), c->status)
                            ? cj_str(prev, "lastTransitionTime")
                            : NULL;
    cj_set(o, "lastTransitionTime",
           json_object_new_string(since ? since : now));
    cj_set(o, "reason", json_object_new_string(c->reason));
    cj_set(o, "message", json_object_new_string(c->message ? c->message : ""));
    json_object_array_add(out, o);
  }
  return out;
}

static void write_status(struct ctl_sync *s) {
  struct hwork *w = s->data;
  s->drained = NULL;
  json_object *st = cj_obj(w->hpa, "status");
  json_object *f = json_object_new_object();
  cj_set(f, "observedGeneration",
         json_object_new_int64(
             cj_int(cj_obj(w->hpa, "metadata"), "generation", 0)));
  cj_set(f, "currentReplicas",
         json_object_new_int(w->have_current
                                 ? w->current
                                 : (int32_t)cj_int(st, "currentReplicas", 0)));
  cj_set(f, "desiredReplicas",
         json_object_new_int(w->have_current
                                 ? w->desired
                                 : (int32_t)cj_int(st, "desiredReplicas", 0)));
  if (w->current_metrics && json_object_array_length(w->current_metrics))
    cj_set(f, "currentMetrics", json_object_get(w->current_metrics));
  else if (cj(st, "currentMetrics") && !w->current_metrics)
    cj_set(f, "currentMetrics", json_object_get(cj(st, "currentMetrics")));
  char now[32];
  if (w->rescaled)
    cj_set(f, "lastScaleTime",
           json_object_new_string(ctl_now_rfc3339(now, sizeof now)));
  else if (cj_str(st, "lastScaleTime"))
    cj_set(f, "lastScaleTime", json_object_get(cj(st, "lastScaleTime")));
  cj_set(f, "conditions", conditions_json(w));
  ctl_status_put(&w->c->b, s, w->c->hk, w->hpa, f);
  json_object_put(f);
  kube_controller_enqueue_after(w->c->b.c, w->key, w->c->period_ms, NULL);
}

static void event(struct hwork *w, const char *type, const char *reason,
                  const char *fmt, ...) KUBE_PRINTF(4, 5);
static void event(struct hwork *w, const char *type, const char *reason,
                  const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) >= 0)
    ctl_eventf(&w->c->b, w->hpa, HPA_KIND, HPA_AV, type, reason, "%s", msg);
  va_end(ap);
  free(msg);
}

/* ---- spec ---------------------------------------------------------------- */

static void rules_of(json_object *b, bool up, struct hpa_rules *r) {
  memset(r, 0, sizeof *r);
  r->window_s = up ? 0 : HPA_DOWNSCALE_WINDOW_S;
  if (b && cj(b, "stabilizationWindowSeconds"))
    r->window_s = (int32_t)cj_int(b, "stabilizationWindowSeconds", 0);
  const char *sel = cj_str(b, "selectPolicy");
  r->select = sel && streq(sel, "Min")        ? 1
              : sel && streq(sel, "Disabled") ? 2
                                              : 0;
  json_object *pol = cj_arr(b, "policies");
  for (size_t i = 0; i < cj_len(pol) && r->n_policies < 8; i++) {
    json_object *p = cj_at(pol, i);
    r->policies[r->n_policies++] = (struct hpa_policy){
        .percent = streq(cj_str0(p, "type"), "Percent"),
        .value = (int32_t)cj_int(p, "value", 0),
        .period_s = (int32_t)cj_int(p, "periodSeconds", 15)};
  }
  if (!pol) { /* the API's defaults */
    r->policies[r->n_policies++] =
        (struct hpa_policy){.percent = true, .value = 100, .period_s = 15};
    if (up)
      r->policies[r->n_policies++] =
          (struct hpa_policy){.percent = false, .value = 4, .period_s = 15};
  }
}

/* ---- normalizing -------------------------------------------------------- */

/* The most a scale-up may reach: maxr or, when lower, the rate limit. */
static int32_t cap_up(int32_t want, int32_t maxr, int32_t limit,
                      const char **reason, const char **msg) {
  int32_t max_allowed = maxr;
  const char *r = "TooManyReplicas";
  const char *m = "the desired replica count is more than the maximum "
                  "replica count";
  if (max_allowed > limit) {
    max_allowed = limit;
    r = "ScaleUpLimit";
    m = "the desired replica count is increasing faster than the maximum "
        "scale rate";
  }
  if (want <= max_allowed)
    return want;
  *reason = r;
  *msg = m;
  return max_allowed;
}

static int32_t normalize(struct hwork *w, struct hpa_state *st,
                         int32_t proposed, int32_t minr, int32_t maxr) {
  json_object *behavior = cj_obj(cj_obj(w->hpa, "spec"), "behavior");
  int64_t now = ctl_now_ns();
  int32_t cur = w->current, stabilized, out;
  const char *reason = "DesiredWithinRange";
  const char *msg = "the desired count is within the acceptable range";
  if (!behavior) {
    /* stabilizeRecommendation: the highest of the last 5 minutes */
    int64_t cutoff = now - (int64_t)HPA_DOWNSCALE_WINDOW_S * 1000000000;
    stabilized = proposed;
    for (size_t i = 0; st && i < st->n_recs; i++)
      if (st->recs[i].at_ns > cutoff && st->recs[i].replicas > stabilized)
        stabilized = st->recs[i].replicas;
    if (st)
      recs_push(&st->recs, &st->n_recs, cutoff,
                (struct hpa_rec){now, proposed});
    if (stabilized != proposed)
      set_cond(w, C_ABLE, true, "ScaleDownStabilized",
               "recent recommendations were higher than current one, "
               "applying the highest recent recommendation");
    else
      set_cond(w, C_ABLE, true, "ReadyForNewScale",
               "recommended size matches current size");
    /* convertDesiredReplicasWithRules */
    out = stabilized;
    if (stabilized < minr) {
      out = minr;
      reason = "TooFewReplicas";
      msg = "the desired replica count is less than the minimum replica "
            "count";
    } else {
      out = cap_up(stabilized, maxr, cur * 2 > 4 ? cur * 2 : 4, &reason, &msg);
    }
  } else {
    struct hpa_rules up, down;
    rules_of(cj_obj(behavior, "scaleUp"), true, &up);
    rules_of(cj_obj(behavior, "scaleDown"), false, &down);
    /* stabilizeRecommendationWithBehaviors */
    int32_t up_rec = proposed, down_rec = proposed;
    int64_t up_cut = now - (int64_t)up.window_s * 1000000000;
    int64_t down_cut = now - (int64_t)down.window_s * 1000000000;
    for (size_t i = 0; st && i < st->n_recs; i++) {
      if (st->recs[i].at_ns > up_cut && st->recs[i].replicas < up_rec)
        up_rec = st->recs[i].replicas;
      if (st->recs[i].at_ns > down_cut && st->recs[i].replicas > down_rec)
        down_rec = st->recs[i].replicas;
    }
    stabilized = cur;
    if (stabilized < up_rec)
      stabilized = up_rec;
    if (stabilized > down_rec)
      stabilized = down_rec;
    if (st) {
      int32_t keep = up.window_s > down.window_s ? up.window_s : down.window_s;
      recs_push(&st->recs, &st->n_recs, now - (int64_t)keep * 1000000000 - 1,
                (struct hpa_rec){now, proposed});
    }
    if (stabilized != proposed) {
      if (stabilized < proposed)
        set_cond(w, C_ABLE, true, "ScaleUpStabilized",
                 "recent recommendations were lower than current one, "
                 "applying the lowest recent recommendation");
      else
        set_cond(w, C_ABLE, true, "ScaleDownStabilized",
                 "recent recommendations were higher than current one, "
                 "applying the highest recent recommendation");
    } else {
      set_cond(w, C_ABLE, true, "ReadyForNewScale",
               "recommended size matches current size");
    }
    /* convertDesiredReplicasWithBehaviorRate */
    out = stabilized;
    const struct hpa_rec *ev = st ? st->events : NULL;
    size_t nev = st ? st->n_events : 0;
    if (stabilized > cur) {
      int32_t lim = hpa_scale_limit(&up, true, cur, ev, nev, now);
      out = cap_up(stabilized, maxr, lim < cur ? cur : lim, &reason, &msg);
    } else if (stabilized < cur) {
      int32_t lim = hpa_scale_limit(&down, false, cur, ev, nev, now);
      if (lim > cur)
        lim = cur;
      int32_t min_allowed = minr;
      const char *r = "TooFewReplicas";
      const char *m = "the desired replica count is less than the minimum "
                      "replica count";
      if (min_allowed < lim) {
        min_allowed = lim;
        r = "ScaleDownLimit";
        m = "the desired replica count is decreasing faster than the "
            "maximum scale rate";
      }
      if (stabilized < min_allowed) {
        out = min_allowed;
        reason = r;
        msg = m;
      }
    }
  }
  set_cond(w, C_LIMITED, out != stabilized, reason, "%s", msg);
  return out;
}

/* ---- metrics ------------------------------------------------------------ */

static const char *label_of(void *ctx, const char *key) {
  return ctl_pairs_get(ctx, key);
}

/* The requests of resource `res` of the pod's containers, milli-units;
 * false when a container has none. */
static bool pod_request(json_object *pod, const char *res, int64_t *out) {
  json_object *ctrs = cj_arr(cj_obj(pod, "spec"), "containers");
  *out = 0;
  for (size_t i = 0; i < cj_len(ctrs); i++) {
    const char *q =
        cj_str(cj_obj(cj_obj(cj_at(ctrs, i), "resources"), "requests"), res);
    int64_t m = q ? kube_quantity_parse_milli(q, NULL) : -1;
    if (m < 0)
      return false;
    *out += m;
  }
  return cj_len(ctrs) > 0;
}

/* The usage of `res` of a PodMetrics (milli-units summed over its
 * containers). */
static int64_t pod_usage(json_object *pm, const char *res) {
  int64_t sum = 0;
  json_object *ctrs = cj_arr(pm, "containers");
  for (size_t i = 0; i < cj_len(ctrs); i++) {
    const char *q = cj_str(cj_obj(cj_at(ctrs, i), "usage"), res);
    int64_t m = q ? kube_quantity_parse_milli(q, NULL) : 0;
    sum += m > 0 ? m : 0;
  }
  return sum;
}

/* The pods of the selector with their metrics for resource res. */
static struct hpa_pod *pods_of(struct hwork *w, const kube_selector_t *sel,
                               json_object *pm_items, const char *res,
                               size_t *n) {
  const struct ctl_podlist *pl = ctl_podstore_in_ns(w->c->pods, w->ns);
  kube_informer_t *inf = ctl_podstore_informer(w->c->pods);
  struct hpa_pod *v = calloc((pl ? pl->n : 0) + 1, sizeof *v);
  *n = 0;
  for (size_t i = 0; v && pl && i < pl->n; i++) {
    const struct ctl_pod *cp = pl->v[i];
    if (!kube_selector_matches(sel, label_of, cp->labels))
      continue;
    const kube_object_t *po = kube_informer_get(inf, cp->key);
    json_object *pod = po ? kube_object_json(po) : NULL;
    if (!pod)
      continue;
    struct hpa_pod *p = &v[(*n)++];
    p->name = cp->name;
    p->deleting = cp->deleting;
    p->failed = cp->phase == CTL_PHASE_FAILED;
    p->pending = cp->phase == CTL_PHASE_PENDING;
    json_object *status = cj_obj(pod, "status");
    p->start_ns = ctl_time_ns(cj_str(status, "startTime"));
    json_object *ready = ctl_condition(pod, "Ready");
    p->has_ready = ready != NULL;
    p->ready = ready && streq(cj_str0(ready, "status"), "True");
    p->ready_ns = ctl_time_ns(cj_str(ready, "lastTransitionTime"));
    p->has_request = pod_request(pod, res, &p->request);
    for (size_t k = 0; k < cj_len(pm_items); k++) {
      json_object *pm = cj_at(pm_items, k);
      if (!streq(cj_str0(cj_obj(pm, "metadata"), "name"), cp->name))
        continue;
      p->has_metric = true;
      p->metric = pod_usage(pm, res);
      p->metric_ns = ctl_time_ns(cj_str(pm, "timestamp"));
      const char *win = cj_str(pm, "window");
      p->window_ns = (int64_t)((win ? atof(win) : 0) * 1e9);
    }
  }
  return v;
}

static json_object *milli_quantity(int64_t milli, bool memory) {
  kube_quantity_t q = {.nano = (__int128)milli * 1000000,
                       .format = memory ? KUBE_QUANTITY_BINARY_SI
                                        : KUBE_QUANTITY_DECIMAL_SI};
  char buf[64];
  return json_object_new_string(kube_quantity_format(&q, buf, sizeof buf));
}

/* computeReplicasForMetrics over the Resource metrics: the highest
 * proposal, or -1 when none could be computed (conditions and events
 * set). */
static int32_t compute(struct hwork *w, json_object *pm_items,
                       char *metric_name, size_t mlen) {
  json_object *spec = cj_obj(w->hpa, "spec");
  json_object *metrics = cj_arr(spec, "metrics");
  json_object *def = NULL;
  if (!cj_len(metrics)) /* the API defaults it; an old object may lack it */
    metrics = def = json_tokener_parse(
        "[{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\","
        "\"target\":{\"type\":\"Utilization\",\"averageUtilization\":80}}}]");
  kube_error_t err = KUBE_ERROR_INIT;
  kube_selector_t *sel = kube_label_selector_parse(w->selector, &err);
  int32_t best = -1;
  size_t invalid = 0, count = cj_len(metrics);
  char first_err[512] = "";
  w->current_metrics = json_object_new_array();
  for (size_t i = 0; sel && i < count; i++) {
    json_object *m = cj_at(metrics, i);
    json_object *r = cj_obj(m, "resource");
    const char *res = cj_str0(r, "name");
    json_object *t = cj_obj(r, "target");
    bool util = streq(cj_str0(t, "type"), "Utilization");
    int32_t target_util =
        util ? (int32_t)cj_int(t, "averageUtilization", 0) : 0;
    int64_t target_avg =
        !util && cj_str(t, "averageValue")
            ? kube_quantity_parse_milli(cj_str(t, "averageValue"), NULL)
            : 0;
    if (!streq(cj_str0(m, "type"), "Resource") ||
        (!streq(res, "cpu") && !streq(res, "memory"))) {
      invalid++;
      if (!*first_err)
        snprintf(first_err, sizeof first_err,
                 "unsupported metric source type \"%s\"", cj_str0(m, "type"));
      continue;
    }
    size_t np;
    struct hpa_pod *pods = pods_of(w, sel, pm_items, res, &np);
    int32_t desired, cur_util;
    int64_t avg;
    kube_error_t e = KUBE_ERROR_INIT;
    int rc = pods ? hpa_resource_replicas(pods, np, w->current, target_util,
                                          target_avg, streq(res, "cpu"),
                                          ctl_now_ns(), &desired, &cur_util,
                                          &avg, &e)
                  : kube_make_oom(&e);
    free(pods);
    if (rc < 0) {
      invalid++;
      if (!*first_err)
        snprintf(first_err, sizeof first_err,
                 "failed to get %s resource metric value: failed to get %s "
                 "utilization: %s",
                 res, res, e.message ? e.message : "");
      kube_error_clear(&e);
      continue;
    }
    json_object *cm = json_object_new_object();
    json_object *cr = json_object_new_object();
    json_object *cur = json_object_new_object();
    cj_set(cm, "type", json_object_new_string("Resource"));
    cj_set(cr, "name", json_object_new_string(res));
    if (util)
      cj_set(cur, "averageUtilization", json_object_new_int(cur_util));
    cj_set(cur, "averageValue", milli_quantity(avg, streq(res, "memory")));
    cj_set(cr, "current", cur);
    cj_set(cm, "resource", cr);
    json_object_array_add(w->current_metrics, cm);
    if (desired > best) {
      best = desired;
      snprintf(metric_name, mlen, "%s resource%s", res,
               util ? " utilization (percentage of request)" : "");
    }
  }
  if (!sel) {
    invalid = count;
    snprintf(first_err, sizeof first_err, "%s",
             err.message ? err.message : "bad selector");
  }
  kube_selector_free(sel);
  kube_error_clear(&err);
  if (def)
    json_object_put(def);
  if (invalid == count || best < 0) {
    set_cond(w, C_ACTIVE, false, "FailedGetResourceMetric",
             "the HPA was unable to compute the replica count: %s", first_err);
    event(w, "Warning", "FailedGetResourceMetric", "%s", first_err);
    event(w, "Warning", "FailedComputeMetricsReplicas",
          "invalid metrics (%zu invalid out of %zu), first error is: %s",
          invalid, count, first_err);
    return -1;
  }
  set_cond(w, C_ACTIVE, true, "ValidMetricFound",
           "the HPA was able to successfully calculate a replica count from "
           "%s",
           metric_name);
  return best;
}

/* ---- the steps ---------------------------------------------------------- */

static void scaled(struct ctl_op *op, const kube_object_t *res,
                   const kube_error_t *err) {
  (void)res;
  struct hwork *w = op->sync->data;
  if (err) {
    w->rescaled = false;
    set_cond(w, C_ABLE, false, "FailedUpdateScale",
             "the HPA controller was unable to update the target scale: %s",
             err->message ? err->message : "");
    event(w, "Warning", "FailedRescale", "New size: %d; reason: %s; error: %s",
          w->desired, op->tag ? op->tag : "", err->message ? err->message : "");
    w->desired = w->current;
    return;
  }
  set_cond(w, C_ABLE, true, "SucceededRescale",
           "the HPA controller was able to update the target scale to %d",
           w->desired);
  event(w, "Normal", "SuccessfulRescale", "New size: %d; reason: %s",
        w->desired, op->tag ? op->tag : "");
  struct hpa_state *st = state_of(w->c, w->key);
  if (st)
    recs_push(&st->events, &st->n_events, ctl_now_ns() - HPA_KEEP_NS,
              (struct hpa_rec){ctl_now_ns(), w->desired - w->current});
}

static void decide(struct ctl_sync *s, json_object *pm_items) {
  struct hwork *w = s->data;
  json_object *spec = cj_obj(w->hpa, "spec");
  int32_t minr = (int32_t)cj_int(spec, "minReplicas", 1);
  int32_t maxr = (int32_t)cj_int(spec, "maxReplicas", 1);
  int32_t desired = 0;
  char reason[256] = "";
  bool rescale;
  if (w->current == 0 && minr != 0) {
    set_cond(w, C_ACTIVE, false, "ScalingDisabled",
             "scaling is disabled since the replica count of the target is "
             "zero");
    rescale = false;
  } else if (w->current > maxr) {
    snprintf(reason, sizeof reason,
             "Current number of replicas above Spec.MaxReplicas");
    desired = maxr;
    rescale = true;
  } else if (w->current < minr) {
    snprintf(reason, sizeof reason,
             "Current number of replicas below Spec.MinReplicas");
    desired = minr;
    rescale = true;
  } else {
    char metric[128] = "";
    int32_t proposed = compute(w, pm_items, metric, sizeof metric);
    if (proposed < 0) {
      w->desired = w->current;
      w->have_current = true;
      return;
    }
    if (proposed > w->current)
      snprintf(reason, sizeof reason, "%s above target", metric);
    else if (proposed < w->current)
      snprintf(reason, sizeof reason, "All metrics below target");
    desired = normalize(w, state_of(w->c, w->key), proposed, minr, maxr);
    rescale = desired != w->current;
  }
  w->desired = rescale ? desired : w->current;
  if (w->current == 0 && minr != 0)
    w->desired = 0;
  w->have_current = true;
  if (!rescale)
    return;
  w->rescaled = true;
  char patch[96];
  snprintf(patch, sizeof patch, "{\"spec\":{\"replicas\":%d}}", desired);
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  struct ctl_op *op = ctl_op_new(&w->c->b, s, scaled, reason);
  if (!op ||
      ctl_op_started(
          op, kube_writer_patch(w->c->b.w, w->tk, w->ns,
                                cj_str0(cj_obj(spec, "scaleTargetRef"), "name"),
                                "scale", KUBE_PATCH_MERGE, patch, NULL,
                                ctl_op_cb, op, &err)) < 0)
    w->rescaled = false;
}

static void got_metrics(struct ctl_op *op, const kube_object_t *res,
                        const kube_error_t *err) {
  struct ctl_sync *s = op->sync;
  struct hwork *w = s->data;
  if (err || !res) {
    const char *msg = err && err->message ? err->message : "no answer";
    char *e = NULL;
    if (asprintf(&e,
                 "failed to get cpu resource metric value: failed to get cpu "
                 "utilization: unable to get metrics for resource cpu: unable "
                 "to fetch metrics from resource metrics API: %s",
                 msg) < 0)
      e = NULL;
    set_cond(w, C_ACTIVE, false, "FailedGetResourceMetric",
             "the HPA was unable to compute the replica count: %s",
             e ? e : msg);
    event(w, "Warning", "FailedGetResourceMetric", "%s", e ? e : msg);
    event(w, "Warning", "FailedComputeMetricsReplicas",
          "invalid metrics (1 invalid out of 1), first error is: %s",
          e ? e : msg);
    free(e);
    w->desired = w->current;
    w->have_current = true;
    return;
  }
  decide(s, cj_arr(kube_object_json(res), "items"));
}

static void got_scale(struct ctl_op *op, const kube_object_t *res,
                      const kube_error_t *err) {
  struct ctl_sync *s = op->sync;
  struct hwork *w = s->data;
  json_object *sc = res ? kube_object_json(res) : NULL;
  if (err || !sc) {
    set_cond(w, C_ABLE, false, "FailedGetScale",
             "the HPA controller was unable to get the target's current "
             "scale: %s",
             err && err->message ? err->message : "no answer");
    event(w, "Warning", "FailedGetScale", "%s",
          err && err->message ? err->message : "no answer");
    return;
  }
  set_cond(w, C_ABLE, true, "SucceededGetScaleSubresource",
           "the HPA controller was able to get the target's current scale");
  w->current = (int32_t)cj_int(cj_obj(sc, "spec"), "replicas", 0);
  w->desired = w->current;
  w->have_current = true;
  const char *sel = cj_str(cj_obj(sc, "status"), "selector");
  if (!sel || !*sel) {
    set_cond(w, C_ACTIVE, false, "InvalidSelector",
             "the HPA target's scale is missing a selector");
    event(w, "Warning", "SelectorRequired", "selector is required");
    return;
  }
  w->selector = strdup(sel);
  /* outside min/max or disabled: no metrics needed */
  json_object *spec = cj_obj(w->hpa, "spec");
  int32_t minr = (int32_t)cj_int(spec, "minReplicas", 1);
  if ((w->current == 0 && minr != 0) || w->current < minr ||
      w->current > (int32_t)cj_int(spec, "maxReplicas", 1)) {
    decide(s, NULL);
    return;
  }
  cleanup_free char *q = kube_client_query_escape(sel);
  char *path = NULL;
  if (!q || asprintf(&path,
                     "/apis/metrics.k8s.io/v1beta1/namespaces/%s/pods?"
                     "labelSelector=%s",
                     w->ns, q) < 0) {
    s->result = -1;
    return;
  }
  cleanup_error kube_error_t e = KUBE_ERROR_INIT;
  struct ctl_op *o2 = ctl_op_new(&w->c->b, s, got_metrics, NULL);
  if (!o2 ||
      ctl_op_started(o2, kube_writer_send(w->c->b.w, "GET", path, NULL, NULL, 0,
                                          ctl_op_cb, o2, &e)) < 0)
    s->result = -1;
  free(path);
}

static int hpa_sync(kube_controller_t *kc, const char *key, void *arg) {
  (void)kc;
  struct hpac *c = arg;
  const kube_object_t *obj = kube_informer_get(c->inf, key);
  if (!obj) {
    state_forget(c, key);
    return 0;
  }
  struct hwork *w = calloc(1, sizeof *w);
  struct ctl_sync *s = w ? ctl_sync_new(&c->b, key) : NULL;
  if (!s) {
    free(w);
    return -1;
  }
  s->data = w;
  s->free_data = hwork_free;
  s->drained = write_status;
  w->c = c;
  w->hpa = ctl_json_copy(kube_object_json(obj));
  w->key = strdup(key);
  w->ns = strdup(kube_object_namespace(obj) ?: "");
  w->name = strdup(kube_object_name(obj) ?: "");
  if (!w->hpa || !w->key || !w->ns || !w->name) {
    s->result = -1;
    s->drained = NULL;
    return ctl_sync_finish(s);
  }
  json_object *ref = cj_obj(cj_obj(w->hpa, "spec"), "scaleTargetRef");
  const char *av = cj_str0(ref, "apiVersion"), *kind = cj_str0(ref, "kind");
  w->tk = kube_kind_by_kind(*av ? av : "v1", kind);
  bool has_scale = false;
  for (size_t i = 0; w->tk && w->tk->subresources && w->tk->subresources[i];
       i++)
    has_scale |= streq(w->tk->subresources[i], "scale");
  if (!has_scale) {
    set_cond(w, C_ABLE, false, "FailedGetScale",
             "the HPA controller was unable to get the target's current "
             "scale: no matches for kind \"%s\" in group \"%s\"",
             kind, av);
    event(w, "Warning", "FailedGetScale",
          "no matches for kind \"%s\" in group \"%s\"", kind, av);
    write_status(s);
    return ctl_sync_finish(s);
  }
  cleanup_free char *path =
      kube_client_path(w->tk, w->ns, cj_str0(ref, "name"), "scale");
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  struct ctl_op *op = path ? ctl_op_new(&c->b, s, got_scale, NULL) : NULL;
  if (!op ||
      ctl_op_started(op, kube_writer_send(c->b.w, "GET", path, NULL, NULL, 0,
                                          ctl_op_cb, op, &err)) < 0) {
    s->result = -1;
    s->drained = NULL;
  }
  return ctl_sync_finish(s);
}

/* ---- life cycle --------------------------------------------------------- */

static void *hpa_create(kube_controller_manager_t *m, kube_error_t *err) {
  struct hpac *c = calloc(1, sizeof *c);
  if (!c) {
    kube_make_oom(err);
    return NULL;
  }
  c->hk =
      kube_kind_by_resource("autoscaling", "v2", "horizontalpodautoscalers");
  const kube_controller_manager_options_t *o = ctl_manager_options(m);
  c->period_ms =
      o->hpa_sync_period_ms > 0 ? o->hpa_sync_period_ms : HPA_DEFAULT_SYNC_MS;
  if (!c->hk) {
    kube_error_set(err, KUBE_REASON_INTERNAL, 0, "no autoscaling/v2 kind");
    free(c);
    return NULL;
  }
  if (ctl_base_init(&c->b, m, "horizontalpodautoscaling",
                    "horizontal-pod-autoscaler", hpa_sync, c, err) < 0) {
    free(c);
    return NULL;
  }
  if (!(c->pods = ctl_manager_pods(m, err)) ||
      !(c->inf = ctl_manager_informer(
            m, "/apis/autoscaling/v2/horizontalpodautoscalers", err)) ||
      kube_controller_watch(c->b.c, c->inf, NULL, NULL, err) < 0 ||
      kube_controller_watch(c->b.c, ctl_podstore_informer(c->pods),
                            ctl_map_nothing, NULL, err) < 0) {
    ctl_base_clear(&c->b);
    free(c);
    return NULL;
  }
  return c;
}

static int hpa_start(void *impl, kube_error_t *err) {
  return kube_controller_start(((struct hpac *)impl)->b.c, err);
}

static void hpa_free(void *impl) {
  struct hpac *c = impl;
  if (!c)
    return;
  ctl_base_clear(&c->b);
  while (c->states)
    state_forget(c, c->states->key);
  free(c);
}

static kube_controller_t *hpa_controller(void *impl) {
  return ((struct hpac *)impl)->b.c;
}

const struct ctl_impl_ops ctl_hpa_ops = {
    .create = hpa_create,
    .start = hpa_start,
    .free = hpa_free,
    .controller = hpa_controller,
};
