/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube-controller-manager's ReplicaCalculator for Resource metrics and the
 * scaling policies' limits (podautoscaler/replica_calculator.go and
 * horizontal.go), on plain arrays.
 */
#include <limits.h>
#include <math.h>

#include "controller/hpa.h"
#include "core/util.h"

enum group { G_READY = 0, G_UNREADY, G_MISSING, G_IGNORED };

/* groupPods */
static enum group group_of(const struct hpa_pod *p, bool cpu, int64_t now) {
  if (p->deleting || p->failed)
    return G_IGNORED;
  if (p->pending)
    return G_UNREADY;
  if (!p->has_metric)
    return G_MISSING;
  if (!cpu)
    return G_READY;
  bool unready;
  if (!p->has_ready || !p->start_ns)
    unready = true;
  else if (p->start_ns + HPA_CPU_INIT_PERIOD_NS > now)
    /* still initializing: unready, or no full window since it changed */
    unready = !p->ready || p->metric_ns < p->ready_ns + p->window_ns;
  else
    /* unready and never ready */
    unready = !p->ready && p->start_ns + HPA_INITIAL_READINESS_NS > p->ready_ns;
  return unready ? G_UNREADY : G_READY;
}

/* GetResourceUtilizationRatio over the pods in `use` with a request:
 * values[i] replaces pods[i].metric. */
static int util_ratio(const struct hpa_pod *pods, size_t n, const bool *use,
                      const int64_t *values, int32_t target, double *ratio,
                      int32_t *util, int64_t *avg, kube_error_t *err) {
  int64_t total = 0, requests = 0, entries = 0;
  for (size_t i = 0; i < n; i++) {
    if (!use[i] || !pods[i].has_request)
      continue;
    total += values[i];
    requests += pods[i].request;
    entries++;
  }
  if (requests == 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "no metrics returned matched known pods");
  *util = (int32_t)(total * 100 / requests);
  *ratio = (double)*util / (double)target;
  if (avg)
    *avg = total / entries;
  return 0;
}

/* GetMetricUsageRatio */
static double usage_ratio(size_t n, const bool *use, const int64_t *values,
                          int64_t target, int64_t *avg) {
  int64_t total = 0, entries = 0;
  for (size_t i = 0; i < n; i++)
    if (use[i]) {
      total += values[i];
      entries++;
    }
  int64_t a = entries ? total / entries : 0;
  if (avg)
    *avg = a;
  return (double)a / (double)target;
}

int hpa_resource_replicas(struct hpa_pod *pods, size_t n, int32_t current,
                          int32_t target_util, int64_t target_avg, bool cpu,
                          int64_t now_ns, int32_t *desired, int32_t *util,
                          int64_t *avg, kube_error_t *err) {
  *util = 0;
  *avg = 0;
  if (n == 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "no pods returned by selector while calculating "
                          "replica count");
  if (target_util <= 0 && target_avg <= 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid target: no utilization or average value");
  enum group *g = calloc(n, sizeof *g);
  bool *use = calloc(n, sizeof *use);
  int64_t *val = calloc(n, sizeof *val);
  int rc = -1;
  if (!g || !use || !val) {
    kube_make_oom(err);
    goto out;
  }
  size_t ready = 0, unready = 0, missing = 0, with_metrics = 0;
  for (size_t i = 0; i < n; i++) {
    g[i] = group_of(&pods[i], cpu, now_ns);
    ready += g[i] == G_READY;
    unready += g[i] == G_UNREADY;
    missing += g[i] == G_MISSING;
    /* the metrics of ignored and unready pods are removed */
    use[i] = g[i] == G_READY;
    val[i] = pods[i].metric;
    with_metrics += use[i];
  }
  if (with_metrics == 0) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "did not receive metrics for targeted pods (pods might be "
                   "unready)");
    goto out;
  }
  bool by_util = target_util > 0;
  if (by_util)
    for (size_t i = 0; i < n; i++)
      if (!pods[i].has_request) {
        kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                       "missing request for %s in Pod %s",
                       cpu ? "cpu" : "memory", pods[i].name);
        goto out;
      }
  double ratio;
  if (by_util) {
    if (util_ratio(pods, n, use, val, target_util, &ratio, util, avg, err) < 0)
      goto out;
  } else {
    ratio = usage_ratio(n, use, val, target_avg, avg);
  }
  bool up_with_unready = unready > 0 && ratio > 1.0;
  rc = 0;
  if (!up_with_unready && missing == 0) {
    *desired = fabs(1.0 - ratio) <= HPA_TOLERANCE
                   ? current
                   : (int32_t)ceil(ratio * (double)ready);
    goto out;
  }
  if (missing > 0 && ratio != 1.0)
    for (size_t i = 0; i < n; i++) {
      if (g[i] != G_MISSING)
        continue;
      use[i] = true;
      if (ratio > 1.0) /* scale-up: a missing pod uses nothing */
        val[i] = 0;
      else if (by_util) /* scale-down: it uses all of its request or the
                           target, whichever is lower */
        val[i] =
            pods[i].request * (target_util > 100 ? target_util : 100) / 100;
      else
        val[i] = target_avg;
    }
  if (up_with_unready)
    for (size_t i = 0; i < n; i++)
      if (g[i] == G_UNREADY) {
        use[i] = true;
        val[i] = 0;
      }
  double new_ratio;
  int32_t u2;
  if (by_util) {
    if (util_ratio(pods, n, use, val, target_util, &new_ratio, &u2, NULL, err) <
        0) {
      rc = -1;
      goto out;
    }
  } else {
    new_ratio = usage_ratio(n, use, val, target_avg, NULL);
  }
  size_t entries = 0;
  for (size_t i = 0; i < n; i++)
    entries += use[i];
  /* within tolerance, or the direction changed: keep the current count */
  if (fabs(1.0 - new_ratio) <= HPA_TOLERANCE ||
      (ratio < 1.0 && new_ratio > 1.0) || (ratio > 1.0 && new_ratio < 1.0)) {
    *desired = current;
    goto out;
  }
  int32_t r = (int32_t)ceil(new_ratio * (double)entries);
  if ((new_ratio < 1.0 && r > current) || (new_ratio > 1.0 && r < current))
    r = current;
  *desired = r;
out:
  free(g);
  free(use);
  free(val);
  return rc;
}

/* getReplicasChangePerPeriod, signed: what the events within the period
 * added (up) or removed (down, as a positive count). */
static void changes(const struct hpa_rec *ev, size_t n, int32_t period_s,
                    int64_t now, int32_t *added, int32_t *deleted) {
  *added = *deleted = 0;
  int64_t cutoff = now - (int64_t)period_s * 1000000000;
  for (size_t i = 0; i < n; i++)
    if (ev[i].at_ns > cutoff) {
      if (ev[i].replicas > 0)
        *added += ev[i].replicas;
      else
        *deleted -= ev[i].replicas;
    }
}

int32_t hpa_scale_limit(const struct hpa_rules *r, bool up, int32_t current,
                        const struct hpa_rec *events, size_t n_events,
                        int64_t now_ns) {
  if (r->select == 2)
    return current;
  /* Max: the largest change (up: the largest count, down: the smallest) */
  bool largest = (r->select == 1) != up;
  int32_t result = largest ? INT32_MIN : INT32_MAX;
  for (size_t i = 0; i < r->n_policies; i++) {
    const struct hpa_policy *p = &r->policies[i];
    int32_t added, deleted;
    changes(events, n_events, p->period_s, now_ns, &added, &deleted);
    int32_t start = current - added + deleted, proposed;
    if (up)
      proposed = p->percent
                     ? (int32_t)ceil((double)start * (1 + p->value / 100.0))
                     : start + p->value;
    else
      proposed = p->percent ? (int32_t)((double)start * (1 - p->value / 100.0))
                            : start - p->value;
    if (largest ? proposed > result : proposed < result)
      result = proposed;
  }
  return result;
}
