/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One scheduling cycle (find feasible nodes, score them, pick one), batch
 * placement, dry runs and the pure-function entry point.
 */
#include <math.h>
#include <stdlib.h>

#include "scheduler/internal.h"

#define FE(s, f) ((s)->cfg.filter_enabled[KUBE_SCHED_FILTER_##f])

static uint64_t rng_next(uint64_t *x) {
  /* splitmix64: tiny, seedable, and the same on every platform. */
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* kube-scheduler's numFeasibleNodesToFind. */
static uint32_t num_to_find(const kube_scheduler_t *s) {
  uint32_t n = s->n_nodes;
  int32_t pct = s->cfg.percentage_of_nodes_to_score;
  if (n < 100 || pct >= 100)
    return n;
  if (pct <= 0) {
    pct = 50 - (int32_t)(n / 125);
    if (pct < 5)
      pct = 5;
  }
  uint32_t k = (uint32_t)((uint64_t)n * pct / 100);
  return k < 100 ? 100 : k;
}

typedef struct search {
  uint32_t *out;
  uint32_t limit, found, evaluated;
} search_t;

static inline bool visit(kube_scheduler_t *s, const cpod_t *cp,
                         const affstate_t *as, search_t *st, uint32_t slot) {
  const snode_t *n = s->nodes[slot];
  st->evaluated++;
  if (node_feasible(s, n, cp, as))
    st->out[st->found++] = slot;
  return st->found >= st->limit;
}

/* Highest grid row/column a node may sit in and still have room for req:
 * used/alloc <= 1 - req/alloc <= 1 - req/max_alloc. */
static int cell_limit(int64_t req, int64_t max_alloc) {
  if (req <= 0)
    return GRID;
  if (max_alloc <= 0 || req > max_alloc)
    return -1;
  return (int)((__int128)(max_alloc - req) * GRID / max_alloc);
}

/* Nodes from the label index when the pod's node selector or required
 * node affinity names label values: NULL when the index does not narrow
 * the search enough to be worth it. */
static const vec_u32_t *selector_posting(kube_scheduler_t *s, const cpod_t *cp,
                                         bool *none) {
  *none = false;
  if (!cp->n_sel || !FE(s, NODE_AFFINITY))
    return NULL;
  const vec_u32_t *best = NULL;
  for (uint32_t i = 0; i < cp->n_sel; i++) {
    uint32_t *idx = ks_u64map_find(
        &s->node_label_idx, ((uint64_t)cp->sel[i].k << 32) | cp->sel[i].v);
    if (!idx || s->node_post[*idx].n == 0) {
      *none = true;
      return NULL;
    }
    if (!best || s->node_post[*idx].n < best->n)
      best = &s->node_post[*idx];
  }
  return best && (uint64_t)best->n * 4 <= s->n_nodes ? best : NULL;
}

static const creq_t *term_index_expr(const cnterm_t *t) {
  for (uint32_t i = 0; i < t->n_expr; i++)
    if ((t->expr[i].op == KUBE_SELECTOR_IN ||
         t->expr[i].op == KUBE_SELECTOR_EQUALS) &&
        t->expr[i].n)
      return &t->expr[i];
  return NULL;
}

/* Required node affinity through the label index: the candidates are the
 * union, over the ORed terms, of the nodes carrying a value of the term's
 * first In expression.  Returns false (search everything) when a term has
 * no such expression or the union is not much smaller than the cluster. */
static bool search_affinity_index(kube_scheduler_t *s, const cpod_t *cp,
                                  const affstate_t *as, search_t *st) {
  if (!cp->n_terms || !FE(s, NODE_AFFINITY))
    return false;
  uint64_t total = 0;
  for (uint32_t t = 0; t < cp->n_terms; t++) {
    const creq_t *e = term_index_expr(&cp->terms[t]);
    if (!e)
      return false;
    for (uint32_t v = 0; v < e->n; v++) {
      uint32_t *idx = ks_u64map_find(&s->node_label_idx,
                                     ((uint64_t)e->key << 32) | e->vals[v]);
      total += idx ? s->node_post[*idx].n : 0;
    }
  }
  if (total * 4 > s->n_nodes)
    return false;
  uint64_t *seen = ks_arena_alloc(&s->scratch, ((s->n_node_slots + 63) / 64) *
                                                   sizeof(uint64_t));
  if (!seen)
    return false;
  for (uint32_t t = 0; t < cp->n_terms; t++) {
    const creq_t *e = term_index_expr(&cp->terms[t]);
    for (uint32_t v = 0; v < e->n; v++) {
      uint32_t *idx = ks_u64map_find(&s->node_label_idx,
                                     ((uint64_t)e->key << 32) | e->vals[v]);
      if (!idx)
        continue;
      const vec_u32_t *post = &s->node_post[*idx];
      for (uint32_t i = 0; i < post->n; i++) {
        uint32_t slot = post->v[i];
        if (seen[slot / 64] & (1ULL << (slot % 64)))
          continue;
        seen[slot / 64] |= 1ULL << (slot % 64);
        if (visit(s, cp, as, st, slot))
          return true;
      }
    }
  }
  return true;
}

static void find_feasible(kube_scheduler_t *s, const cpod_t *cp,
                          const affstate_t *as, search_t *st) {
  if (cp->node_name != NONE && FE(s, NODE_NAME)) {
    snode_t *n = ks_node_get(s, s->in.strs[cp->node_name]);
    if (n)
      visit(s, cp, as, st, n->slot);
    return;
  }
  bool none;
  const vec_u32_t *post = selector_posting(s, cp, &none);
  if (none)
    return;
  if (post) {
    for (uint32_t i = 0; i < post->n; i++)
      if (visit(s, cp, as, st, post->v[i]))
        return;
    return;
  }
  if (search_affinity_index(s, cp, as, st))
    return;
  bool prune = FE(s, NODE_RESOURCES_FIT);
  if (s->ordered) {
    int cmax = prune ? cell_limit(cp->req[R_CPU], s->max_alloc[0]) : GRID;
    int mmax = prune ? cell_limit(cp->req[R_MEM], s->max_alloc[1]) : GRID;
    for (int i = 0; i < NCELLS; i++) {
      int c = s->order[i];
      if (c / (GRID + 1) > cmax || c % (GRID + 1) > mmax)
        continue;
      for (uint32_t slot = s->head[c]; slot != NONE;) {
        uint32_t next = s->nodes[slot]->next;
        if (visit(s, cp, as, st, slot))
          return;
        slot = next;
      }
    }
    return;
  }
  /* Unordered strategies: round robin from where the last search stopped,
   * like kube-scheduler's nextStartNodeIndex. */
  uint32_t n = s->n_node_slots;
  if (!n)
    return;
  uint32_t start = s->rr_next % n;
  for (uint32_t k = 0; k < n; k++) {
    uint32_t slot = (start + k) % n;
    if (!s->nodes[slot])
      continue;
    if (visit(s, cp, as, st, slot)) {
      s->rr_next = slot + 1;
      return;
    }
  }
}

static bool needs_affstate(const kube_scheduler_t *s, const cpod_t *cp) {
  return cp->n_aff || cp->n_anti || cp->n_paff || cp->n_panti || cp->n_spread ||
         s->anti_pods.n || s->sym_pods.n;
}

/* One cycle for a compiled pod: fills r (node or explanation).  *slot is
 * the chosen node slot or NONE. */
static int schedule_compiled(kube_scheduler_t *s, const cpod_t *cp,
                             kube_sched_result_t *r, uint32_t *slot,
                             kube_error_t *err) {
  memset(r, 0, sizeof(*r));
  *slot = NONE;
  if (s->max_dirty)
    ks_refresh_max_alloc(s);
  affstate_t as = {0};
  int ret = -1;
  if (needs_affstate(s, cp) && ks_affstate_build(s, cp, &as) < 0) {
    kube_make_oom(err);
    goto out;
  }
  if (s->cap_feasible < s->n_node_slots) {
    uint32_t ncap = s->n_node_slots + 64;
    uint32_t *nf = realloc(s->feasible, ncap * sizeof(uint32_t));
    if (!nf) {
      kube_make_oom(err);
      goto out;
    }
    s->feasible = nf;
    double *ns = realloc(s->scores, ncap * sizeof(double));
    if (!ns) {
      kube_make_oom(err);
      goto out;
    }
    s->scores = ns;
    s->cap_feasible = ncap;
  }
  search_t st = {.out = s->feasible, .limit = num_to_find(s)};
  if (st.limit == 0)
    st.limit = 1;
  find_feasible(s, cp, &as, &st);
  r->feasible = st.found;
  r->evaluated = st.evaluated;
  if (st.found == 0) {
    ret = ks_explain(s, cp, &as, r, err);
    goto out;
  }
  ks_score_nodes(s, cp, &as, st.out, st.found, s->scores);
  /* Highest score; ties broken uniformly by reservoir sampling with the
   * seeded generator, as kube-scheduler's selectHost does. */
  uint32_t best = 0, ties = 1;
  for (uint32_t i = 1; i < st.found; i++) {
    if (s->scores[i] > s->scores[best]) {
      best = i;
      ties = 1;
    } else if (s->scores[i] == s->scores[best]) {
      ties++;
      if (rng_next(&s->rng) % ties == 0)
        best = i;
    }
  }
  r->node = strdup(s->nodes[st.out[best]]->name);
  if (!r->node) {
    kube_make_oom(err);
    goto out;
  }
  r->score = llround(s->scores[best]);
  *slot = st.out[best];
  ret = 0;
out:
  ks_affstate_free(&as, cp);
  if (ret < 0)
    kube_sched_result_clear(r);
  return ret;
}

KUBE_EXPORT void kube_sched_result_clear(kube_sched_result_t *r) {
  if (!r)
    return;
  free(r->node);
  free(r->message);
  for (size_t i = 0; i < r->n_reasons; i++)
    free(r->reasons[i].reason);
  free(r->reasons);
  free(r->nominated_node);
  for (size_t i = 0; i < r->n_victims; i++)
    free(r->victims[i]);
  free(r->victims);
  memset(r, 0, sizeof(*r));
}

KUBE_EXPORT int kube_scheduler_schedule(kube_scheduler_t *s,
                                        const kube_sched_pod_t *pod,
                                        kube_sched_result_t *result,
                                        kube_error_t *err) {
  cpod_t cp;
  uint32_t slot;
  ks_arena_reset(&s->scratch);
  memset(result, 0, sizeof(*result));
  if (!pod)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "scheduler: no pod");
  if (ks_compile_pod(s, pod, &cp, err) < 0)
    return -1;
  return schedule_compiled(s, &cp, result, &slot, err);
}

/* ---- batches ---- */

typedef struct order_ent {
  uint32_t idx;
  int32_t prio;
  int cls;       /* 0: CPU is the dominant share, 1: memory */
  double fc, fm; /* shares of the largest node */
  double size;   /* dominant share */
} order_ent_t;

static int order_cmp(const void *a, const void *b) {
  const order_ent_t *x = a, *y = b;
  if (x->prio != y->prio)
    return x->prio > y->prio ? -1 : 1;
  if (x->cls != y->cls)
    return x->cls < y->cls ? -1 : 1;
  if (x->size != y->size)
    return x->size > y->size ? -1 : 1;
  double sx = x->fc + x->fm, sy = y->fc + y->fm;
  if (sx != sy)
    return sx > sy ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static double eff_req(int64_t req, int64_t lim) {
  return (double)(req > 0 ? req : lim > 0 ? lim : 0);
}

/* Batch order: priority first; within a priority, largest dominant share
 * first (first-fit-decreasing style), with CPU-dominant and
 * memory-dominant pods interleaved so that the running CPU and memory
 * totals stay even.  Placing large pods of one kind back to back fills
 * nodes in one dimension and strands the other; interleaving lets
 * MostAllocated pair them on the same node. */
static void batch_order(const kube_scheduler_t *s, const kube_sched_pod_t *pods,
                        size_t n, order_ent_t *ord, order_ent_t *tmp) {
  for (size_t i = 0; i < n; i++) {
    const kube_sched_pod_t *p = &pods[i];
    double c = eff_req(p->requests.cpu_milli, p->limits.cpu_milli);
    double m = eff_req(p->requests.memory, p->limits.memory);
    ord[i].idx = (uint32_t)i;
    ord[i].prio = p->priority;
    ord[i].fc = s->max_alloc[0] > 0 ? c / (double)s->max_alloc[0] : 0;
    ord[i].fm = s->max_alloc[1] > 0 ? m / (double)s->max_alloc[1] : 0;
    ord[i].cls = ord[i].fm > ord[i].fc;
    ord[i].size = ord[i].cls ? ord[i].fm : ord[i].fc;
  }
  qsort(ord, n, sizeof(*ord), order_cmp);
  memcpy(tmp, ord, n * sizeof(*ord));
  size_t out = 0;
  for (size_t g = 0; g < n;) {
    size_t end = g;
    while (end < n && tmp[end].prio == tmp[g].prio)
      end++;
    size_t ci = g, mi = g;
    while (mi < end && tmp[mi].cls == 0)
      mi++;
    size_t cend = mi;
    /* Keep each resource's share of its own group total even, so that a
     * workload heavier in one resource overall still mixes evenly. */
    double tc = 0, tm = 0;
    for (size_t i = g; i < end; i++) {
      tc += tmp[i].fc;
      tm += tmp[i].fm;
    }
    double kc = tc > 0 ? 1 / tc : 0, km = tm > 0 ? 1 / tm : 0;
    double cpu = 0, mem = 0;
    while (ci < cend || mi < end) {
      const order_ent_t *e = mi >= end || (ci < cend && cpu * kc <= mem * km)
                                 ? &tmp[ci++]
                                 : &tmp[mi++];
      cpu += e->fc;
      mem += e->fm;
      ord[out++] = *e;
    }
    g = end;
  }
}

KUBE_EXPORT int64_t kube_scheduler_schedule_batch(kube_scheduler_t *s,
                                                  const kube_sched_pod_t *pods,
                                                  size_t n, unsigned flags,
                                                  kube_sched_result_t *results,
                                                  kube_error_t *err) {
  if (n && (!pods || !results))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "scheduler: no pods or results");
  if (n > UINT32_MAX - 1)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "scheduler: batch too large");
  memset(results, 0, n * sizeof(*results));
  if (s->max_dirty)
    ks_refresh_max_alloc(s);
  order_ent_t *ord = malloc((n ? n : 1) * sizeof(*ord));
  order_ent_t *tmp = malloc((n ? n : 1) * sizeof(*tmp));
  spod_t **bound = malloc((n ? n : 1) * sizeof(*bound));
  if (!ord || !tmp || !bound) {
    free(ord);
    free(tmp);
    free(bound);
    return kube_make_oom(err);
  }
  for (size_t i = 0; i < n; i++) {
    char key[512];
    uint32_t slot;
    snprintf(key, sizeof(key), "%s/%s",
             pods[i].namespace_ ? pods[i].namespace_ : "default",
             pods[i].name ? pods[i].name : "");
    if (ks_strmap_get(&s->pod_by_key, key, &slot)) {
      free(ord);
      free(tmp);
      free(bound);
      return kube_error_set(err, KUBE_REASON_ALREADY_EXISTS, 0,
                            "pod %s is already bound", key);
    }
    ord[i].idx = (uint32_t)i;
  }
  if (!(flags & KUBE_SCHED_BATCH_ARRIVAL_ORDER))
    batch_order(s, pods, n, ord, tmp);
  free(tmp);
  size_t n_bound = 0;
  int64_t placed = 0;
  for (size_t k = 0; k < n; k++) {
    uint32_t i = ord[k].idx;
    const kube_sched_pod_t *p = &pods[i];
    cpod_t cp;
    uint32_t slot;
    ks_arena_reset(&s->scratch);
    if (ks_compile_pod(s, p, &cp, err) < 0 ||
        schedule_compiled(s, &cp, &results[i], &slot, err) < 0)
      goto fail;
    char key[512];
    snprintf(key, sizeof(key), "%s/%s",
             p->namespace_ ? p->namespace_ : "default", p->name);
    if (slot == NONE) {
      if (!(flags & KUBE_SCHED_BATCH_PREEMPT) ||
          (flags & KUBE_SCHED_BATCH_DRY_RUN) || !results[i].nominated_node ||
          !results[i].n_victims)
        continue;
      /* Take the nomination now: victims out, the pod reserved there. */
      snode_t *nn = ks_node_get(s, results[i].nominated_node);
      if (!nn)
        continue;
      for (size_t v = 0; v < results[i].n_victims; v++) {
        uint32_t vslot;
        if (ks_strmap_get(&s->pod_by_key, results[i].victims[v], &vslot))
          ks_pod_unbind(s, s->pods[vslot]);
      }
      spod_t *reserved;
      if (ks_pod_bind_compiled(s, &cp, key, nn->slot, &reserved, err) < 0)
        goto fail;
      continue;
    }
    if (ks_pod_bind_compiled(s, &cp, key, slot, &bound[n_bound], err) < 0)
      goto fail;
    n_bound++;
    placed++;
  }
  if (flags & KUBE_SCHED_BATCH_DRY_RUN)
    while (n_bound)
      ks_pod_unbind(s, bound[--n_bound]);
  free(ord);
  free(bound);
  return placed;
fail:
  while (n_bound)
    ks_pod_unbind(s, bound[--n_bound]);
  for (size_t i = 0; i < n; i++)
    kube_sched_result_clear(&results[i]);
  free(ord);
  free(bound);
  return -1;
}

KUBE_EXPORT int64_t kube_schedule(
    const kube_scheduler_config_t *cfg, const kube_sched_node_t *nodes,
    size_t n_nodes, const kube_sched_pod_t *bound_pods,
    const char *const *bound_nodes, size_t n_bound,
    const kube_sched_pod_t *pending, size_t n_pending,
    kube_sched_result_t *results, kube_error_t *err) {
  kube_scheduler_t *s = kube_scheduler_new(cfg, err);
  if (!s)
    return -1;
  int64_t ret = -1;
  for (size_t i = 0; i < n_nodes; i++)
    if (kube_scheduler_add_node(s, &nodes[i], err) < 0)
      goto out;
  for (size_t i = 0; i < n_bound; i++)
    if (kube_scheduler_add_pod(s, &bound_pods[i], bound_nodes[i], err) < 0)
      goto out;
  ret = kube_scheduler_schedule_batch(s, pending, n_pending,
                                      KUBE_SCHED_BATCH_COMMIT, results, err);
out:
  kube_scheduler_free(s);
  return ret;
}
