/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Score plugins.  Each gives 0..100 per node (as kube-scheduler's
 * MaxNodeScore) and is multiplied by its weight.  Scores are kept in
 * doubles rather than truncated to integers so that bin-packing can tell
 * apart nodes that differ by less than 1%; ties are broken by the caller
 * with the seeded generator.
 */
#include "scheduler/internal.h"

#define W(s, p) ((s)->cfg.score_weight[KUBE_SCHED_SCORE_##p])
#define MB (1024.0 * 1024.0)

static double shape_score(const kube_scheduler_config_t *c, double util) {
  /* Piecewise linear through the shape points; scores 0..10 scale to
   * 0..100 as kube-scheduler does. */
  if (c->n_shape == 0)
    return util;
  if (util <= c->shape[0].utilization)
    return c->shape[0].score * 10.0;
  for (size_t i = 1; i < c->n_shape; i++) {
    const kube_sched_shape_point_t *a = &c->shape[i - 1], *b = &c->shape[i];
    if (util <= b->utilization) {
      double span = b->utilization - a->utilization;
      double f = span > 0 ? (util - a->utilization) / span : 1.0;
      return (a->score + f * (b->score - a->score)) * 10.0;
    }
  }
  return c->shape[c->n_shape - 1].score * 10.0;
}

static double fit_score(const kube_scheduler_t *s, const snode_t *n,
                        const cpod_t *cp) {
  const kube_scheduler_config_t *c = &s->cfg;
  double w[2] = {c->cpu_weight > 0 ? c->cpu_weight : 0,
                 c->memory_weight > 0 ? c->memory_weight : 0};
  double total = 0, wsum = 0;
  for (int r = 0; r < 2; r++) {
    if (w[r] <= 0)
      continue;
    wsum += w[r];
    double cap = (double)n->alloc[r];
    double req = (double)(n->nz_used[r] + cp->nz[r]);
    if (cap <= 0)
      continue;
    double sc;
    switch (c->strategy) {
    case KUBE_SCHED_LEAST_ALLOCATED:
      sc = req > cap ? 0 : (cap - req) * 100.0 / cap;
      break;
    case KUBE_SCHED_REQUESTED_TO_CAPACITY_RATIO:
      sc = shape_score(c, req > cap ? 100.0 : req * 100.0 / cap);
      break;
    default:
      sc = (req > cap ? cap : req) * 100.0 / cap;
      break;
    }
    total += w[r] * sc;
  }
  return wsum > 0 ? total / wsum : 0;
}

static double balanced_score(const snode_t *n, const cpod_t *cp) {
  double f[2];
  int k = 0;
  for (int r = 0; r < 2; r++) {
    if (n->alloc[r] <= 0)
      continue;
    double x = (double)(n->nz_used[r] + cp->nz[r]) / (double)n->alloc[r];
    f[k++] = x > 1 ? 1 : x;
  }
  if (k < 2)
    return 100.0;
  double sd = (f[0] > f[1] ? f[0] - f[1] : f[1] - f[0]) / 2;
  return (1 - sd) * 100.0;
}

static int64_t node_image_size(const snode_t *n, uint32_t id) {
  uint32_t lo = 0, hi = n->n_images;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (n->images[mid].id < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n->n_images && n->images[lo].id == id ? n->images[lo].size : -1;
}

static double image_score(const kube_scheduler_t *s, const snode_t *n,
                          const cpod_t *cp) {
  const double min_t = 23 * MB, max_t = 1000 * MB * cp->n_images;
  double sum = 0;
  if (!n->n_images)
    return 0;
  for (uint32_t i = 0; i < cp->n_images; i++) {
    int64_t size = node_image_size(n, cp->images[i]);
    if (size < 0)
      continue;
    /* Scaled by how widely the image is spread, so that one node holding
     * a popular image does not attract everything. */
    uint32_t *cnt = u64map_find(&s->image_nodes, cp->images[i]);
    double spread = cnt && s->n_nodes ? (double)*cnt / s->n_nodes : 0;
    sum += (double)size * spread;
  }
  if (sum < min_t)
    sum = min_t;
  if (sum > max_t)
    sum = max_t;
  return max_t > min_t ? 100.0 * (sum - min_t) / (max_t - min_t) : 0;
}

static bool pref_term_matches(const kube_scheduler_t *s, const snode_t *n,
                              const cnterm_t *t) {
  if (!t->n_expr && !t->n_fields)
    return false;
  if (!labels_match(t->expr, t->n_expr, n->labels, n->n_labels, &s->in))
    return false;
  if (t->n_fields) {
    lab_t name = {s->meta_name, n->name_id};
    return labels_match(t->fields, t->n_fields, &name, 1, &s->in);
  }
  return true;
}

static uint32_t soft_taint_count(const snode_t *n, const cpod_t *cp) {
  uint32_t c = 0;
  for (uint32_t i = 0; i < n->n_taints; i++)
    if (n->taints[i].effect == KUBE_TAINT_PREFER_NO_SCHEDULE &&
        !tolerates_taint(cp, &n->taints[i]))
      c++;
  return c;
}

void score_nodes(kube_scheduler_t *s, const cpod_t *cp, const affstate_t *as,
                 const uint32_t *slots, uint32_t k, double *out) {
  double *raw = arena_alloc(&s->scratch, k * sizeof(double));
  for (uint32_t i = 0; i < k; i++)
    out[i] = 0;

  int32_t w = W(s, NODE_RESOURCES_FIT);
  if (w > 0)
    for (uint32_t i = 0; i < k; i++)
      out[i] += w * fit_score(s, s->nodes[slots[i]], cp);

  w = W(s, BALANCED_ALLOCATION);
  if (w > 0)
    for (uint32_t i = 0; i < k; i++)
      out[i] += w * balanced_score(s->nodes[slots[i]], cp);

  w = W(s, IMAGE_LOCALITY);
  if (w > 0 && cp->n_images)
    for (uint32_t i = 0; i < k; i++)
      out[i] += w * image_score(s, s->nodes[slots[i]], cp);

  /* The plugins below normalize over the scored nodes and need a buffer;
   * on OOM they are skipped (scores stay valid, just coarser). */
  if (!raw)
    return;

  w = W(s, NODE_AFFINITY);
  if (w > 0 && cp->n_pref) {
    double max = 0;
    for (uint32_t i = 0; i < k; i++) {
      raw[i] = 0;
      for (uint32_t t = 0; t < cp->n_pref; t++)
        if (pref_term_matches(s, s->nodes[slots[i]], &cp->pref[t]))
          raw[i] += cp->pref_w[t];
      if (raw[i] > max)
        max = raw[i];
    }
    if (max > 0)
      for (uint32_t i = 0; i < k; i++)
        out[i] += w * raw[i] * 100.0 / max;
  }

  w = W(s, TAINT_TOLERATION);
  if (w > 0) {
    double max = 0;
    for (uint32_t i = 0; i < k; i++) {
      const snode_t *n = s->nodes[slots[i]];
      raw[i] = n->soft_taints ? soft_taint_count(n, cp) : 0;
      if (raw[i] > max)
        max = raw[i];
    }
    for (uint32_t i = 0; i < k; i++)
      out[i] += w * (max > 0 ? 100.0 - raw[i] * 100.0 / max : 100.0);
  }

  w = W(s, INTER_POD_AFFINITY);
  if (w > 0 && as->pref_counts) {
    double min = 0, max = 0;
    for (uint32_t i = 0; i < k; i++) {
      const snode_t *n = s->nodes[slots[i]];
      raw[i] = 0;
      for (uint32_t t = 0; t < cp->n_paff + cp->n_panti; t++) {
        const cpterm_t *term =
            t < cp->n_paff ? &cp->paff[t] : &cp->panti[t - cp->n_paff];
        uint32_t v = node_label(n, term->topo_key);
        if (v == NONE)
          continue;
        uint32_t *c = u64map_find(&as->pref_counts[t], v);
        if (!c)
          continue;
        double d = (double)term->weight * *c;
        raw[i] += t < cp->n_paff ? d : -d;
      }
      if (i == 0 || raw[i] < min)
        min = raw[i];
      if (i == 0 || raw[i] > max)
        max = raw[i];
    }
    if (max > min)
      for (uint32_t i = 0; i < k; i++)
        out[i] += w * 100.0 * (raw[i] - min) / (max - min);
  }
}
