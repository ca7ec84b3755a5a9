/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HorizontalPodAutoscaler controller (kube-controller-manager's
 * "horizontalpodautoscaling"): every sync period each HPA (read at
 * autoscaling/v2: the API server converts v1 objects) reads its target's scale
 * subresource, then its metrics one request at a time: the PodMetrics of
 * the scale's selector from metrics.k8s.io (Resource, ContainerResource),
 * custom.metrics.k8s.io (Pods, Object) and external.metrics.k8s.io
 * (External), served by adapters behind APIServices; with the pods'
 * requests and readiness the replica calculator (hpa-replicas.c) proposes
 * a count per metric, the highest wins (a failed metric gives upstream's
 * FailedGet*Metric condition and event); the proposal is stabilized (spec.behavior, or 300 s of
 * scale-down stabilization) and limited (min/max, scaling policies), the
 * scale written with a SuccessfulRescale event, and status (currentMetrics,
 * current/desiredReplicas, lastScaleTime, the AbleToScale, ScalingActive
 * and ScalingLimited conditions) updated, in upstream's wording.  The
 * pods of the selector come from the pod store's label index (those with
 * its narrowest key=value), not from every pod of the namespace; the
 * ready count reads the store's summaries without parsing a pod.
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
  json_object *pm; /* the PodMetricsList of the selector, owned */
  char *pm_err;    /* why it could not be read */
  int32_t status_replicas; /* the scale's status.replicas */
  bool custom_checked;      /* custom.metrics.k8s.io discovery done */
  char *custom_err;     /* why custom.metrics.k8s.io cannot answer */
  char *custom_version; /* its preferred version */
  /* per metric: the metrics API's list (Pods, Object, External), or the
   * text of why it could not be read */
  json_object *answers;
  size_t fetch_i; /* the next metric fetch_next looks at */
  struct cond conds[C_N];
};

static void hwork_free(void *v) {
  struct hwork *w = v;
  if (!w)
    return;
  json_object_put(w->hpa);
  json_object_put(w->current_metrics);
  json_object_put(w->pm);
  json_object_put(w->answers);
  free(w->pm_err);
  free(w->custom_err);
  free(w->custom_version);
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

/* The requests of resource `res` of the pod's containers (only the one
 * named `container` when not NULL), milli-units; false when one has none. */
static bool pod_request(json_object *pod, const char *res,
                        const char *container, int64_t *out) {
  json_object *ctrs = cj_arr(cj_obj(pod, "spec"), "containers");
  size_t counted = 0;
  *out = 0;
  for (size_t i = 0; i < cj_len(ctrs); i++) {
    json_object *c = cj_at(ctrs, i);
    if (container && !streq(cj_str0(c, "name"), container))
      continue;
    const char *q = cj_str(cj_obj(cj_obj(c, "resources"), "requests"), res);
    int64_t m = q ? kube_quantity_parse_milli(q, NULL) : -1;
    if (m < 0)
      return false;
    *out += m;
    counted++;
  }
  return counted > 0;
}

/* The usage of `res` of a PodMetrics (milli-units summed over its
 * containers, or of the one named `container`); false when that container
 * is not in it. */
static bool pod_usage(json_object *pm, const char *res, const char *container,
                      int64_t *sum) {
  json_object *ctrs = cj_arr(pm, "containers");
  bool found = false;
  *sum = 0;
  for (size_t i = 0; i < cj_len(ctrs); i++) {
    json_object *c = cj_at(ctrs, i);
    if (container && !streq(cj_str0(c, "name"), container))
      continue;
    found = true;
    const char *q = cj_str(cj_obj(c, "usage"), res);
    int64_t m = q ? kube_quantity_parse_milli(q, NULL) : 0;
    *sum += m > 0 ? m : 0;
  }
  return found || !container;
}

/* The sample of pod `name` in a custom metrics API MetricValueList. */
static bool custom_sample(json_object *items, const char *name,
                          struct hpa_pod *p) {
  for (size_t k = 0; k < cj_len(items); k++) {
    json_object *it = cj_at(items, k);
    if (!streq(cj_str0(cj_obj(it, "describedObject"), "name"), name))
      continue;
    p->has_metric = true;
    p->metric = kube_quantity_parse_milli(cj_str0(it, "value"), NULL);
    p->metric_ns = ctl_time_ns(cj_str(it, "timestamp"));
    p->window_ns = cj_int(it, "windowSeconds", 0) * 1000000000LL;
    return true;
  }
  return false;
}

/* The pods of the selector with their metrics for resource res (of one
 * container when not NULL) from PodMetrics items, or (res NULL) from a
 * custom metrics API list; NULL with *missing set to a PodMetrics that
 * lacks the container (upstream's getContainerMetrics error). */
static struct hpa_pod *pods_of(struct hwork *w, const kube_selector_t *sel,
                               json_object *pm_items, const char *res,
                               const char *container, size_t *n,
                               const char **missing) {
  const struct ctl_podlist *pl = ctl_podstore_select(w->c->pods, w->ns, sel);
  kube_informer_t *inf = ctl_podstore_informer(w->c->pods);
  *missing = NULL;
  for (size_t k = 0; container && k < cj_len(pm_items); k++) {
    int64_t unused;
    json_object *pm = cj_at(pm_items, k);
    if (!pod_usage(pm, res, container, &unused)) {
      *missing = cj_str0(cj_obj(pm, "metadata"), "name");
      return NULL;
    }
  }
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
    if (!res) {
      custom_sample(pm_items, cp->name, p);
      continue;
    }
    p->has_request = pod_request(pod, res, container, &p->request);
    for (size_t k = 0; k < cj_len(pm_items); k++) {
      json_object *pm = cj_at(pm_items, k);
      if (!streq(cj_str0(cj_obj(pm, "metadata"), "name"), cp->name))
        continue;
      p->has_metric = true;
      pod_usage(pm, res, container, &p->metric);
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

/* What one metric gave: a proposal, or the condition reason and the
 * error upstream words at both levels (the condition's and the
 * FailedComputeMetricsReplicas event's). */
struct mresult {
  int32_t replicas;
  json_object *status; /* its MetricStatus, owned; NULL on failure */
  const char *reason;
  char err[768];   /* e.g. "failed to get cpu utilization: ..." */
  char outer[900]; /* e.g. "failed to get cpu resource metric value: ..." */
  char name[384];  /* the metric's name for ValidMetricFound */
};

KUBE_PRINTF(3, 4)
static void mfail(struct mresult *r, const char *reason, const char *fmt,
                  ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->err, sizeof r->err, fmt, ap);
  va_end(ap);
  r->reason = reason;
  r->replicas = -1;
}

/* Resource and ContainerResource (computeStatusForResourceMetricGeneric). */
static void resource_metric(struct hwork *w, const kube_selector_t *sel,
                            json_object *m, struct mresult *r) {
  bool ctr = streq(cj_str0(m, "type"), "ContainerResource");
  json_object *src = cj_obj(m, ctr ? "containerResource" : "resource");
  const char *res = cj_str0(src, "name");
  const char *container = ctr ? cj_str0(src, "container") : NULL;
  json_object *t = cj_obj(src, "target");
  bool util = streq(cj_str0(t, "type"), "Utilization");
  const char *reason =
      ctr ? "FailedGetContainerResourceMetric" : "FailedGetResourceMetric";
  const char *what = util ? "utilization" : "usage";
  if (!w->pm) {
    mfail(r, reason,
          "failed to get %s %s: unable to get metrics for resource %s: unable "
          "to fetch metrics from resource metrics API: %s",
          res, what, res, w->pm_err ? w->pm_err : "no answer");
  } else if (!streq(res, "cpu") && !streq(res, "memory")) {
    mfail(r, reason,
          "failed to get %s %s: unable to get metrics for resource %s: no "
          "metrics returned from resource metrics API",
          res, what, res);
  } else {
    size_t np = 0;
    const char *missing = NULL;
    struct hpa_pod *pods =
        pods_of(w, sel, cj_arr(w->pm, "items"), res, container, &np, &missing);
    int32_t desired, cur_util;
    int64_t avg;
    kube_error_t e = KUBE_ERROR_INIT;
    int rc = pods ? hpa_resource_replicas(
                        pods, np, w->current,
                        util ? (int32_t)cj_int(t, "averageUtilization", 0) : 0,
                        util || !cj_str(t, "averageValue")
                            ? 0
                            : kube_quantity_parse_milli(
                                  cj_str(t, "averageValue"), NULL),
                        streq(res, "cpu"), ctl_now_ns(), &desired, &cur_util,
                        &avg, &e)
                  : -1;
    free(pods);
    if (missing)
      mfail(r, reason,
            "failed to get %s %s: unable to get metrics for resource %s: "
            "failed to get container metrics: container %s not present in "
            "metrics for pod %s/%s",
            res, what, res, container, w->ns, missing);
    else if (rc < 0)
      mfail(r, reason, "failed to get %s %s: %s", res, what,
            e.message ? e.message : "out of memory");
    kube_error_clear(&e);
    if (rc == 0) {
      json_object *cm = json_object_new_object();
      json_object *cr = json_object_new_object();
      json_object *cur = json_object_new_object();
      cj_set(cm, "type", json_object_new_string(cj_str0(m, "type")));
      cj_set(cr, "name", json_object_new_string(res));
      if (util)
        cj_set(cur, "averageUtilization", json_object_new_int(cur_util));
      cj_set(cur, "averageValue", milli_quantity(avg, streq(res, "memory")));
      cj_set(cr, "current", cur);
      if (container)
        cj_set(cr, "container", json_object_new_string(container));
      cj_set(cm, ctr ? "containerResource" : "resource", cr);
      r->status = cm;
      r->replicas = desired;
      snprintf(r->name, sizeof r->name, "%s %sresource%s", res,
               ctr ? "container " : "",
               util ? " utilization (percentage of request)" : "");
      return;
    }
  }
  if (ctr)
    snprintf(r->outer, sizeof r->outer, "failed to get %s container metric "
             "value: %s", container, r->err);
  else
    snprintf(r->outer, sizeof r->outer, "failed to get %s resource metric "
             "value: %s", res, r->err);
}

static int str_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A LabelSelector as Go's %+v of *metav1.LabelSelector prints it. */
static void go_selector(char *buf, size_t len, json_object *sel) {
  if (!sel) {
    snprintf(buf, len, "nil");
    return;
  }
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "&LabelSelector{MatchLabels:map[string]string{");
  json_object *ml = cj_obj(sel, "matchLabels");
  size_t nk = ml ? (size_t)json_object_object_length(ml) : 0, i = 0;
  const char **keys = calloc(nk + 1, sizeof *keys);
  if (ml && keys) {
    json_object_object_foreach(ml, k, v) {
      (void)v;
      keys[i++] = k;
    }
    qsort(keys, i, sizeof *keys, str_cmp);
  }
  for (size_t j = 0; keys && j < i; j++)
    kube_strbuf_printf(&sb, "%s: %s,", keys[j], cj_str0(ml, keys[j]));
  free(keys);
  kube_strbuf_append(&sb, "},MatchExpressions:[]LabelSelectorRequirement{");
  json_object *me = cj_arr(sel, "matchExpressions");
  for (size_t j = 0; j < cj_len(me); j++) {
    json_object *x = cj_at(me, j), *vals = cj_arr(x, "values");
    kube_strbuf_printf(&sb, "LabelSelectorRequirement{Key:%s,Operator:%s,"
                       "Values:[", cj_str0(x, "key"), cj_str0(x, "operator"));
    for (size_t k = 0; k < cj_len(vals); k++)
      kube_strbuf_printf(&sb, "%s%s", k ? " " : "",
                         json_object_get_string(cj_at(vals, k)));
    kube_strbuf_append(&sb, "],},");
  }
  kube_strbuf_append(&sb, "},}");
  snprintf(buf, len, "%s", sb.data ? sb.data : "");
  kube_strbuf_clear(&sb);
}

/* getReadyPodsCount: Running pods of the selector with Ready True (from
 * the pod store's summaries: no pod is parsed). */
static int32_t ready_pods(struct hwork *w, const kube_selector_t *sel) {
  const struct ctl_podlist *pl = ctl_podstore_select(w->c->pods, w->ns, sel);
  int32_t n = 0;
  for (size_t i = 0; pl && i < pl->n; i++) {
    const struct ctl_pod *cp = pl->v[i];
    n += cp->phase == CTL_PHASE_RUNNING && cp->ready &&
         kube_selector_matches(sel, label_of, cp->labels);
  }
  return n;
}

/* getUsageRatioReplicaCount; -1 when no pod matches. */
static int32_t ratio_replicas(struct hwork *w, const kube_selector_t *sel,
                              double ratio) {
  if (w->current == 0)
    return (int32_t)ceil(ratio);
  if (fabs(1.0 - ratio) <= HPA_TOLERANCE)
    return w->current;
  int32_t ready = ready_pods(w, sel);
  return (int32_t)ceil(ratio * (double)ready);
}

/* The MetricStatus of a Pods/Object/External metric: its identifier,
 * current value (or averageValue), described object. */
static json_object *custom_status(json_object *m, const char *type,
                                  const char *key, int64_t milli, bool avg) {
  json_object *src = cj_obj(m, key);
  json_object *cm = json_object_new_object(), *o = json_object_new_object();
  json_object *cur = json_object_new_object();
  cj_set(cm, "type", json_object_new_string(type));
  cj_set(o, "metric", ctl_json_copy(cj_obj(src, "metric")));
  cj_set(cur, avg ? "averageValue" : "value", milli_quantity(milli, false));
  cj_set(o, "current", cur);
  if (cj_obj(src, "describedObject"))
    cj_set(o, "describedObject", ctl_json_copy(cj_obj(src, "describedObject")));
  cj_set(cm, key, o);
  return cm;
}

/* Pods, Object and External, from the custom and external metrics APIs
 * (an APIService's adapter): GetMetricReplicas, GetObjectMetricReplicas,
 * GetObjectPerPodMetricReplicas, GetExternalMetricReplicas,
 * GetExternalPerPodMetricReplicas. */
static void custom_metric(struct hwork *w, const kube_selector_t *sel,
                          size_t i, json_object *m, struct mresult *r) {
  const char *type = cj_str0(m, "type");
  bool pods = streq(type, "Pods"), obj = streq(type, "Object");
  const char *key = pods ? "pods" : obj ? "object" : "external";
  json_object *src = cj_obj(m, key), *id = cj_obj(src, "metric");
  json_object *ref = cj_obj(src, "describedObject");
  json_object *t = cj_obj(src, "target");
  const char *mname = cj_str0(id, "name");
  json_object *ans = cj_at(w->answers, i);
  const char *why = (pods || obj) && w->custom_err ? w->custom_err
                    : json_object_is_type(ans, json_type_string)
                        ? json_object_get_string(ans)
                    : !ans ? "no answer"
                           : NULL;
  bool avg = streq(cj_str0(t, "type"), "AverageValue");
  int64_t target = kube_quantity_parse_milli(
      cj_str0(t, avg || pods ? "averageValue" : "value"), NULL);
  char sel_text[256];
  go_selector(sel_text, sizeof sel_text, cj_obj(id, "selector"));
  if (pods) {
    if (why) {
      mfail(r, "FailedGetPodsMetric",
            "unable to get metric %s: unable to fetch metrics from custom "
            "metrics API: %s",
            mname, why);
    } else {
      size_t np = 0;
      const char *missing = NULL;
      struct hpa_pod *pv = pods_of(w, sel, cj_arr(ans, "items"), NULL, NULL,
                                   &np, &missing);
      int32_t desired, unused;
      int64_t usage = 0;
      kube_error_t e = KUBE_ERROR_INIT;
      int rc = pv ? hpa_resource_replicas(pv, np, w->current, 0, target, false,
                                          ctl_now_ns(), &desired, &unused,
                                          &usage, &e)
                  : kube_make_oom(&e);
      free(pv);
      if (rc < 0)
        mfail(r, "FailedGetPodsMetric", "%s", e.message ? e.message : "");
      kube_error_clear(&e);
      if (rc == 0) {
        r->replicas = desired;
        r->status = custom_status(m, "Pods", "pods", usage, true);
        snprintf(r->name, sizeof r->name, "pods metric %s", mname);
        return;
      }
    }
    snprintf(r->outer, sizeof r->outer, "failed to get pods metric value: %s",
             r->err);
    return;
  }
  /* Object and External: one usage (the object's value, the sum of the
   * external series) against a value or an average per pod. */
  int64_t usage = 0;
  json_object *items = ans ? cj_arr(ans, "items") : NULL;
  for (size_t k = 0; !why && k < cj_len(items); k++)
    usage += kube_quantity_parse_milli(cj_str0(cj_at(items, k), "value"),
                                       NULL);
  if (!why && !cj_len(items))
    why = obj ? "no metrics returned from custom metrics API"
              : "no metrics returned from external metrics API";
  if (why) {
    if (obj)
      mfail(r, "FailedGetObjectMetric",
            "unable to get metric %s: unable to fetch metrics from custom "
            "metrics API: %s on %s %s/%s",
            mname, why, cj_str0(ref, "kind"), w->ns, cj_str0(ref, "name"));
    else
      mfail(r, "FailedGetExternalMetric",
            "unable to get external metric %s/%s/%s: unable to fetch metrics "
            "from external metrics API: %s",
            w->ns, mname, sel_text, why);
  } else if (target <= 0) {
    mfail(r, obj ? "FailedGetObjectMetric" : "FailedGetExternalMetric",
          "invalid target value for metric %s", mname);
  } else {
    int32_t desired;
    int64_t shown = usage;
    if (avg) {
      int32_t sr = w->status_replicas > 0 ? w->status_replicas : 1;
      desired = sr;
      double ratio = (double)usage / ((double)target * (double)sr);
      if (fabs(1.0 - ratio) > HPA_TOLERANCE)
        desired = (int32_t)ceil((double)usage / (double)target);
      shown = (int64_t)ceil((double)usage / (double)sr);
    } else {
      desired = ratio_replicas(w, sel, (double)usage / (double)target);
    }
    r->replicas = desired;
    r->status = custom_status(m, obj ? "Object" : "External", key, shown, avg);
    if (obj)
      snprintf(r->name, sizeof r->name, "%s metric %s", cj_str0(ref, "kind"),
               mname);
    else
      snprintf(r->name, sizeof r->name, "external metric %s(%s)", mname,
               sel_text);
    return;
  }
  if (obj)
    snprintf(r->outer, sizeof r->outer,
             "failed to get object metric value: %s", r->err);
  else
    snprintf(r->outer, sizeof r->outer,
             "failed to get %s external metric value: %s", mname, r->err);
}

/* computeReplicasForMetrics: the highest proposal, or -1 when the
 * metrics do not allow one (all invalid, or some invalid and the rest
 * would scale down): conditions and events set, status.currentMetrics
 * with an empty entry per invalid metric, as upstream. */
static int32_t compute(struct hwork *w, char *metric_name, size_t mlen) {
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
  struct mresult *first = NULL, *rs = calloc(count + 1, sizeof *rs);
  w->current_metrics = json_object_new_array();
  for (size_t i = 0; rs && i < count; i++) {
    json_object *m = cj_at(metrics, i);
    const char *type = cj_str0(m, "type");
    struct mresult *r = &rs[i];
    if (!sel) {
      mfail(r, "InvalidSelector", "%s",
            err.message ? err.message : "bad selector");
      snprintf(r->outer, sizeof r->outer, "%s", r->err);
    } else if (streq(type, "Resource") || streq(type, "ContainerResource")) {
      resource_metric(w, sel, m, r);
    } else if (streq(type, "Pods") || streq(type, "Object") ||
               streq(type, "External")) {
      custom_metric(w, sel, i, m, r);
    } else {
      mfail(r, "InvalidMetricSourceType",
            "unknown metric source type \"%s\"", type);
      snprintf(r->outer, sizeof r->outer, "%s", r->err);
    }
    if (r->replicas < 0) {
      invalid++;
      json_object *empty = json_object_new_object();
      cj_set(empty, "type", json_object_new_string(""));
      json_object_array_add(w->current_metrics, empty);
      set_cond(w, C_ACTIVE, false, r->reason,
               "the HPA was unable to compute the replica count: %s", r->err);
      event(w, "Warning", r->reason, "%s", r->err);
      if (!first)
        first = r;
      continue;
    }
    json_object_array_add(w->current_metrics, r->status);
    r->status = NULL;
    if (r->replicas > best) {
      best = r->replicas;
      snprintf(metric_name, mlen, "%s", r->name);
    }
  }
  kube_selector_free(sel);
  kube_error_clear(&err);
  json_object_put(def);
  int32_t out = best;
  if (!rs || invalid >= count || (invalid > 0 && best < w->current)) {
    if (first) {
      set_cond(w, C_ACTIVE, false, first->reason,
               "the HPA was unable to compute the replica count: %s",
               first->err);
      event(w, "Warning", "FailedComputeMetricsReplicas",
            "invalid metrics (%zu invalid out of %zu), first error is: %s",
            invalid, count, first->outer);
    }
    out = -1;
  } else {
    set_cond(w, C_ACTIVE, true, "ValidMetricFound",
             "the HPA was able to successfully calculate a replica count "
             "from %s",
             metric_name);
  }
  free(rs);
  return out;
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

static void decide(struct ctl_sync *s) {
  struct hwork *w = s->data;
  json_object *spec = cj_obj(w->hpa, "spec");
  int32_t minr = (int32_t)cj_int(spec, "minReplicas", 1);
  int32_t maxr = (int32_t)cj_int(spec, "maxReplicas", 1);
  int32_t desired = 0;
  char reason[512] = "";
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
    char metric[384] = "";
    int32_t proposed = compute(w, metric, sizeof metric);
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

/* ---- fetching the metrics ------------------------------------------------ */

static void fetch_next(struct ctl_sync *s);

/* An answer's error text as client-go words it: a 404 of an unknown
 * group's path says what it got (kube-apiserver answers those without a
 * Status, so client-go adds " (get <resource>.<group>)"). */
static char *answer_error(const kube_error_t *err, const char *what) {
  const char *msg = err && err->message ? err->message : "no answer";
  char *e = NULL;
  if (err && err->reason == KUBE_REASON_NOT_FOUND && what &&
      strstr(msg, "the server could not find the requested resource") &&
      !strstr(msg, "(get "))
    return asprintf(&e, "%s (get %s)", msg, what) < 0 ? NULL : e;
  return strdup(msg);
}

static int fetch(struct ctl_sync *s, const char *path, ctl_op_fn done) {
  struct hwork *w = s->data;
  cleanup_error kube_error_t e = KUBE_ERROR_INIT;
  struct ctl_op *op = ctl_op_new(&w->c->b, s, done, NULL);
  if (!op ||
      ctl_op_started(op, kube_writer_send(w->c->b.w, "GET", path, NULL, NULL,
                                          0, ctl_op_cb, op, &e)) < 0) {
    s->result = -1;
    return -1;
  }
  return 0;
}

static void got_pod_metrics(struct ctl_op *op, const kube_object_t *res,
                            const kube_error_t *err) {
  struct hwork *w = op->sync->data;
  if (err || !res)
    w->pm_err = answer_error(err, NULL);
  else
    w->pm = json_object_get(kube_object_json(res));
  fetch_next(op->sync);
}

static void got_custom(struct ctl_op *op, const kube_object_t *res,
                       const kube_error_t *err) {
  struct hwork *w = op->sync->data;
  json_object *g = res ? kube_object_json(res) : NULL;
  const char *v = cj_str(cj_obj(g, "preferredVersion"), "version");
  w->custom_checked = true;
  if (err || !v)
    w->custom_err = strdup("no custom metrics API (custom.metrics.k8s.io) "
                           "registered");
  else
    w->custom_version = strdup(v);
  fetch_next(op->sync);
}

/* The answer for metric fetch_i - 1: the list, or why there is none. */
static void got_answer(struct ctl_op *op, const kube_object_t *res,
                       const kube_error_t *err) {
  struct hwork *w = op->sync->data;
  json_object *m = cj_at(cj_arr(cj_obj(w->hpa, "spec"), "metrics"),
                         w->fetch_i - 1);
  const char *type = cj_str0(m, "type");
  json_object *a = NULL;
  if (err || !res) {
    char what[300];
    snprintf(what, sizeof what, "%s.external.metrics.k8s.io",
             cj_str0(cj_obj(cj_obj(m, "external"), "metric"), "name"));
    char *e = answer_error(err, streq(type, "External") ? what : NULL);
    a = json_object_new_string(e ? e : "no answer");
    free(e);
  } else {
    a = json_object_get(kube_object_json(res));
  }
  json_object_array_put_idx(w->answers, w->fetch_i - 1, a);
  fetch_next(op->sync);
}

/* The kind of an Object metric's described object; NULL when unknown. */
static const kube_kind_t *object_kind(json_object *m) {
  json_object *ref = cj_obj(cj_obj(m, "object"), "describedObject");
  const char *av = cj_str0(ref, "apiVersion");
  return kube_kind_by_kind(*av ? av : "v1", cj_str0(ref, "kind"));
}

/* The path of metric m's list in the custom or external metrics API
 * (owned), as the custom metrics client builds it. */
static char *metric_path(struct hwork *w, json_object *m, const char *q) {
  const char *type = cj_str0(m, "type");
  bool pods = streq(type, "Pods"), obj = streq(type, "Object");
  json_object *src = cj_obj(m, pods ? "pods" : obj ? "object" : "external");
  json_object *id = cj_obj(src, "metric");
  json_object *ls = cj_obj(id, "selector");
  cleanup_error kube_error_t e = KUBE_ERROR_INIT;
  kube_selector_t *ks = ls ? ctl_label_selector(ls, &e) : NULL;
  cleanup_free char *msel = ks ? kube_selector_to_string(ks) : NULL;
  kube_selector_free(ks);
  cleanup_free char *mq = kube_client_query_escape(msel ? msel : "");
  cleanup_free char *name = kube_client_query_escape(cj_str0(id, "name"));
  char *path = NULL;
  int rc = -1;
  if (!mq || !name)
    return NULL;
  if (pods) {
    rc = asprintf(&path,
                  "/apis/custom.metrics.k8s.io/%s/namespaces/%s/pods/*/%s"
                  "?labelSelector=%s%s%s",
                  w->custom_version, w->ns, name, q, *mq ? "&metricLabelSelector="
                                                         : "",
                  mq);
  } else if (obj) {
    json_object *ref = cj_obj(src, "describedObject");
    const kube_kind_t *k = object_kind(m);
    char res[300];
    if (k && *k->group)
      snprintf(res, sizeof res, "%s.%s", k->resource, k->group);
    else
      snprintf(res, sizeof res, "%s", k ? k->resource : "");
    cleanup_free char *on = kube_client_query_escape(cj_str0(ref, "name"));
    if (k && on)
      rc = asprintf(&path,
                    "/apis/custom.metrics.k8s.io/%s/namespaces/%s/%s/%s/%s%s%s",
                    w->custom_version, w->ns, res, on, name,
                    *mq ? "?metricLabelSelector=" : "", mq);
  } else {
    rc = asprintf(&path,
                  "/apis/external.metrics.k8s.io/v1beta1/namespaces/%s/%s"
                  "?labelSelector=%s",
                  w->ns, name, mq);
  }
  return rc < 0 ? NULL : path;
}

/* One request at a time: PodMetrics of the selector (Resource,
 * ContainerResource), the custom metrics API's discovery (Pods,
 * Object), each Pods, Object and External metric's list; then decide. */
static void fetch_next(struct ctl_sync *s) {
  struct hwork *w = s->data;
  json_object *metrics = cj_arr(cj_obj(w->hpa, "spec"), "metrics");
  bool need_pm = !cj_len(metrics), need_custom = false;
  for (size_t i = 0; i < cj_len(metrics); i++) {
    const char *type = cj_str0(cj_at(metrics, i), "type");
    need_pm |= streq(type, "Resource") || streq(type, "ContainerResource");
    need_custom |= streq(type, "Pods") || streq(type, "Object");
  }
  char *path = NULL;
  cleanup_free char *q = kube_client_query_escape(w->selector);
  if (need_pm && !w->pm && !w->pm_err) {
    if (q && asprintf(&path,
                      "/apis/metrics.k8s.io/v1beta1/namespaces/%s/pods?"
                      "labelSelector=%s",
                      w->ns, q) >= 0)
      fetch(s, path, got_pod_metrics);
    else
      s->result = -1;
    free(path);
    return;
  }
  if (need_custom && !w->custom_checked) {
    fetch(s, "/apis/custom.metrics.k8s.io", got_custom);
    return;
  }
  if (!w->answers)
    w->answers = json_object_new_array();
  for (; w->fetch_i < cj_len(metrics); w->fetch_i++) {
    json_object *m = cj_at(metrics, w->fetch_i);
    const char *type = cj_str0(m, "type");
    if (!streq(type, "External") &&
        (w->custom_err || (!streq(type, "Pods") && !streq(type, "Object"))))
      continue;
    if (streq(type, "Object") && !object_kind(m)) {
      /* the RESTMapper's answer for a kind nobody serves */
      json_object *ref = cj_obj(cj_obj(m, "object"), "describedObject");
      const char *av = cj_str0(ref, "apiVersion"), *slash = strchr(av, '/');
      char e[512];
      snprintf(e, sizeof e,
               "unable to map kind %s to resource: no matches for kind \"%s\" "
               "in group \"%.*s\"",
               cj_str0(ref, "kind"), cj_str0(ref, "kind"),
               slash ? (int)(slash - av) : 0, av);
      json_object_array_put_idx(w->answers, w->fetch_i,
                                json_object_new_string(e));
      continue;
    }
    w->fetch_i++;
    if (q && (path = metric_path(w, m, q)))
      fetch(s, path, got_answer);
    else
      s->result = -1;
    free(path);
    return;
  }
  decide(s);
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
  w->status_replicas = (int32_t)cj_int(cj_obj(sc, "status"), "replicas", 0);
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
    decide(s);
    return;
  }
  fetch_next(s);
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
