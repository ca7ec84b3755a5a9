/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PodTopologySpread, as kube-scheduler's plugin computes it:
 *
 * - eligible nodes: carrying the topology key of every constraint of the
 *   same kind (DoNotSchedule ones for the filter, ScheduleAnyway ones for
 *   the score), matching the pod's nodeSelector / required node affinity
 *   (nodeAffinityPolicy Honor, the default) and, with nodeTaintsPolicy
 *   Honor, tolerated;
 * - per constraint, the pods matching its selector in the pod's namespace
 *   are counted per domain (topology value) over the eligible nodes, every
 *   eligible domain present with its count (0 included);
 * - filter: a node's domain may hold at most maxSkew more than the least
 *   populated domain after the pod lands (+1 when the pod matches its own
 *   selector); with fewer domains than minDomains the minimum is 0; a node
 *   without the key fails ("missing required label");
 * - score: sum over constraints of count * log(domains + 2) + maxSkew - 1,
 *   normalized so that the least crowded node gets 100 and nodes without a
 *   key get 0.
 *
 * Counting uses the pod label index (ks_for_matching_pods), so a pass costs
 * the matching pods plus one walk over the nodes for the domains.
 */
#include <math.h>

#include "scheduler/internal.h"

static bool has_keys(const snode_t *n, const cpod_t *cp, bool hard) {
  for (uint32_t i = 0; i < cp->n_spread; i++)
    if (cp->spread[i].hard == hard &&
        ks_node_label(n, cp->spread[i].t.topo_key) == NONE)
      return false;
  return true;
}

static bool eligible(const kube_scheduler_t *s, const snode_t *n,
                     const cpod_t *cp, const cspread_t *c) {
  if (!has_keys(n, cp, c->hard))
    return false;
  if (!c->ignore_affinity && cp->has_node_affinity &&
      !ks_node_affinity_ok(s, n, cp))
    return false;
  if (c->honor_taints && n->hard_taints && ks_node_untolerated(n, cp))
    return false;
  return true;
}

typedef struct spread_ctx {
  const cpod_t *cp;
  const cspread_t *c;
  u64map_t *map;
} spread_ctx_t;

static int count_pod(kube_scheduler_t *s, const spod_t *p, void *vctx) {
  spread_ctx_t *x = vctx;
  const snode_t *n = s->nodes[p->node];
  /* Only domains of eligible nodes exist in the map. */
  uint32_t v = ks_node_label(n, x->c->t.topo_key);
  if (v == NONE || !ks_u64map_find(x->map, v) || !eligible(s, n, x->cp, x->c))
    return 0;
  (*ks_u64map_find(x->map, v))++;
  return 0;
}

int ks_spread_build(kube_scheduler_t *s, const cpod_t *cp, affstate_t *as) {
  uint32_t n = cp->n_spread;
  as->spread_counts = calloc(n, sizeof(u64map_t));
  as->spread_min = calloc(n, sizeof(int64_t));
  as->spread_self = calloc(n, sizeof(bool));
  as->spread_w = calloc(n, sizeof(double));
  if (!as->spread_counts || !as->spread_min || !as->spread_self ||
      !as->spread_w)
    return -1;
  for (uint32_t i = 0; i < n; i++) {
    const cspread_t *c = &cp->spread[i];
    u64map_t *map = &as->spread_counts[i];
    for (uint32_t j = 0; j < s->n_node_slots; j++) {
      const snode_t *node = s->nodes[j];
      if (!node || !eligible(s, node, cp, c))
        continue;
      if (!ks_u64map_upsert(map, ks_node_label(node, c->t.topo_key), 0))
        return -1;
    }
    spread_ctx_t x = {cp, c, map};
    if (ks_for_matching_pods(s, &c->t, count_pod, &x) < 0)
      return -1;
    int64_t min = INT64_MAX;
    for (uint32_t k = 0; k < map->cap; k++)
      if (map->used[k] && map->vals[k] < min)
        min = map->vals[k];
    if (min == INT64_MAX ||
        (c->min_domains > 0 && map->len < (uint32_t)c->min_domains))
      min = 0;
    as->spread_min[i] = min;
    as->spread_self[i] =
        ks_pterm_matches_pod(&c->t, cp->ns, cp->labels, cp->n_labels, &s->in);
    as->spread_w[i] = log((double)map->len + 2);
  }
  return 0;
}

void ks_spread_free(affstate_t *as, const cpod_t *cp) {
  if (as->spread_counts)
    for (uint32_t i = 0; i < cp->n_spread; i++)
      ks_u64map_free(&as->spread_counts[i]);
  free(as->spread_counts);
  free(as->spread_min);
  free(as->spread_self);
  free(as->spread_w);
  as->spread_counts = NULL;
  as->spread_min = NULL;
  as->spread_self = NULL;
  as->spread_w = NULL;
}

bool ks_spread_filter(const kube_scheduler_t *s, const snode_t *n,
                      const cpod_t *cp, const affstate_t *as, bool *missing) {
  *missing = false;
  if (!as->spread_counts)
    return true;
  for (uint32_t i = 0; i < cp->n_spread; i++) {
    const cspread_t *c = &cp->spread[i];
    if (!c->hard)
      continue;
    uint32_t v = ks_node_label(n, c->t.topo_key);
    if (v == NONE) {
      *missing = true;
      return false;
    }
    uint32_t *cnt = ks_u64map_find(&as->spread_counts[i], v);
    int64_t skew = (cnt ? *cnt : 0) + as->spread_self[i] - as->spread_min[i];
    if (skew > c->t.weight)
      return false;
  }
  return true;
}

void ks_spread_score(const kube_scheduler_t *s, const cpod_t *cp,
                     const affstate_t *as, const uint32_t *slots, uint32_t k,
                     double weight, double *raw, double *out) {
  double min = 0, max = 0;
  bool any = false;
  for (uint32_t i = 0; i < k; i++) {
    const snode_t *n = s->nodes[slots[i]];
    raw[i] = -1; /* ignored: lacks a key */
    if (!has_keys(n, cp, false))
      continue;
    double v = 0;
    for (uint32_t c = 0; c < cp->n_spread; c++) {
      if (cp->spread[c].hard)
        continue;
      uint32_t *cnt = ks_u64map_find(
          &as->spread_counts[c], ks_node_label(n, cp->spread[c].t.topo_key));
      v += (cnt ? *cnt : 0) * as->spread_w[c] + cp->spread[c].t.weight - 1;
    }
    raw[i] = v;
    if (!any || v < min)
      min = v;
    if (!any || v > max)
      max = v;
    any = true;
  }
  for (uint32_t i = 0; i < k; i++) {
    if (raw[i] < 0)
      continue;
    double sc = max == 0 ? 100.0 : 100.0 * (max + min - raw[i]) / max;
    out[i] += weight * sc;
  }
}
