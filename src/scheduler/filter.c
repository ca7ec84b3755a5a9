/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Filter plugins, the inter-pod affinity pre-computation, and the
 * explanation of a pod that fits nowhere (kube-scheduler's FitError text
 * plus what preemption could do).
 *
 * The fast path (filter_static + filter_dynamic) only answers yes/no; the
 * reasons are computed again by ks_explain() when no node fits, so feasible
 * placements never pay for building strings.
 */
#include <stdlib.h>

#include "scheduler/internal.h"

#define FE(s, f) ((s)->cfg.filter_enabled[KUBE_SCHED_FILTER_##f])

/* Reasons, worded as kube-scheduler words them. */
#define MSG_UNSCHEDULABLE "node(s) were unschedulable"
#define MSG_NODE_NAME "node(s) didn't match the requested node name"
#define MSG_NODE_AFFINITY "node(s) didn't match Pod's node affinity/selector"
#define MSG_PORTS "node(s) didn't have free ports for the requested pod ports"
#define MSG_AFFINITY "node(s) didn't match pod affinity rules"
#define MSG_ANTI_AFFINITY "node(s) didn't match pod anti-affinity rules"
#define MSG_EXISTING_ANTI                                                      \
  "node(s) didn't satisfy existing pods anti-affinity rules"
#define MSG_SPREAD "node(s) didn't match pod topology spread constraints"
#define MSG_SPREAD_LABEL MSG_SPREAD " (missing required label)"
#define MSG_NOT_HELPFUL "Preemption is not helpful for scheduling"
#define MSG_NO_VICTIMS "No preemption victims found for incoming pod"

/* ---- node-level filters ---- */

static bool node_term_matches(const kube_scheduler_t *s, const snode_t *n,
                              const cnterm_t *t) {
  if (!t->n_expr && !t->n_fields)
    return false; /* an empty term matches no node */
  if (!ks_labels_match(t->expr, t->n_expr, n->labels, n->n_labels, &s->in))
    return false;
  if (t->n_fields) {
    lab_t name = {s->meta_name, n->name_id};
    if (!ks_labels_match(t->fields, t->n_fields, &name, 1, &s->in))
      return false;
  }
  return true;
}

static bool node_affinity_ok(const kube_scheduler_t *s, const snode_t *n,
                             const cpod_t *cp) {
  for (uint32_t i = 0; i < cp->n_sel; i++)
    if (ks_node_label(n, cp->sel[i].k) != cp->sel[i].v)
      return false;
  if (!cp->n_terms)
    return true;
  for (uint32_t i = 0; i < cp->n_terms; i++)
    if (node_term_matches(s, n, &cp->terms[i]))
      return true;
  return false;
}

bool ks_node_affinity_ok(const kube_scheduler_t *s, const snode_t *n,
                         const cpod_t *cp) {
  return node_affinity_ok(s, n, cp);
}

/* First NoSchedule/NoExecute taint the pod does not tolerate, or NULL. */
static const staint_t *untolerated(const snode_t *n, const cpod_t *cp) {
  for (uint32_t i = 0; i < n->n_taints; i++) {
    const staint_t *t = &n->taints[i];
    if (t->effect == KUBE_TAINT_PREFER_NO_SCHEDULE)
      continue;
    if (!ks_tolerates_taint(cp, t))
      return t;
  }
  return NULL;
}

bool ks_node_untolerated(const snode_t *n, const cpod_t *cp) {
  return untolerated(n, cp) != NULL;
}

bool ks_filter_static(const kube_scheduler_t *s, const snode_t *n,
                      const cpod_t *cp) {
  if (n->unschedulable && !cp->tolerates_unschedulable &&
      FE(s, NODE_UNSCHEDULABLE))
    return false;
  if (cp->node_name != NONE && n->name_id != cp->node_name && FE(s, NODE_NAME))
    return false;
  if (n->hard_taints && FE(s, TAINT_TOLERATION) && untolerated(n, cp))
    return false;
  if (cp->has_node_affinity && FE(s, NODE_AFFINITY) &&
      !node_affinity_ok(s, n, cp))
    return false;
  return true;
}

/* ---- resources and ports ---- */

typedef struct hist {
  char **reason;
  uint32_t *count;
  uint32_t n, cap;
  bool oom;
} hist_t;

static void hist_add(hist_t *h, const char *reason) {
  if (!h)
    return;
  for (uint32_t i = 0; i < h->n; i++)
    if (streq(h->reason[i], reason)) {
      h->count[i]++;
      return;
    }
  if (h->n == h->cap) {
    uint32_t ncap = h->cap ? h->cap * 2 : 8;
    char **nr = realloc(h->reason, ncap * sizeof(char *));
    if (nr)
      h->reason = nr;
    uint32_t *nc = realloc(h->count, ncap * sizeof(uint32_t));
    if (nc)
      h->count = nc;
    if (!nr || !nc) {
      h->oom = true;
      return;
    }
    h->cap = ncap;
  }
  char *copy = strdup(reason);
  if (!copy) {
    h->oom = true;
    return;
  }
  h->reason[h->n] = copy;
  h->count[h->n++] = 1;
}

static void hist_free(hist_t *h) {
  for (uint32_t i = 0; i < h->n; i++)
    free(h->reason[i]);
  free(h->reason);
  free(h->count);
  memset(h, 0, sizeof(*h));
}

/* NodeResourcesFit.  `minus` (R_N) and `ext_minus` (per node extended
 * resource) are what preemption would free; NULL for none.  With h, every
 * insufficient resource is recorded in kube-scheduler's order. */
static bool res_fit(const kube_scheduler_t *s, const snode_t *n,
                    const cpod_t *cp, const int64_t *minus,
                    const int64_t *ext_minus, hist_t *h) {
  bool ok = true;
  int64_t used[R_N];
  for (int r = 0; r < R_N; r++)
    used[r] = n->used[r] - (minus ? minus[r] : 0);
  if (used[R_PODS] + 1 > n->alloc[R_PODS]) {
    if (!h)
      return false;
    hist_add(h, "Too many pods");
    ok = false;
  }
  static const char *const insufficient[] = {"Insufficient cpu",
                                             "Insufficient memory",
                                             "Insufficient ephemeral-storage"};
  for (int r = R_CPU; r <= R_EPH; r++) {
    if (cp->req[r] > 0 && cp->req[r] > n->alloc[r] - used[r]) {
      if (!h)
        return false;
      hist_add(h, insufficient[r]);
      ok = false;
    }
  }
  for (uint32_t e = 0; e < cp->n_ext; e++) {
    int64_t avail = 0;
    for (uint32_t j = 0; j < n->n_ext; j++)
      if (n->ext_alloc[j].id == cp->ext[e].id) {
        avail =
            n->ext_alloc[j].v - n->ext_used[j] + (ext_minus ? ext_minus[j] : 0);
        break;
      }
    if (cp->ext[e].v > avail) {
      if (!h)
        return false;
      char buf[320];
      snprintf(buf, sizeof(buf), "Insufficient %s", s->in.strs[cp->ext[e].id]);
      hist_add(h, buf);
      ok = false;
    }
  }
  return ok;
}

static bool port_conflict(const sport_t *a, const sport_t *b, uint32_t any) {
  return a->port == b->port && a->proto == b->proto &&
         (a->ip == b->ip || a->ip == any || b->ip == any);
}

static bool ports_free(const kube_scheduler_t *s, const sport_t *used,
                       uint32_t n_used, const cpod_t *cp) {
  for (uint32_t i = 0; i < cp->n_ports; i++)
    for (uint32_t j = 0; j < n_used; j++)
      if (port_conflict(&cp->ports[i], &used[j], s->any_ip))
        return false;
  return true;
}

/* ---- inter-pod affinity ---- */

enum { IPA_OK = 0, IPA_AFFINITY, IPA_ANTI, IPA_EXISTING };

static int ipa_check(const kube_scheduler_t *s, const snode_t *n,
                     const cpod_t *cp, const affstate_t *as) {
  if (cp->n_aff) {
    bool exist = true;
    for (uint32_t i = 0; i < cp->n_aff; i++) {
      uint32_t v = ks_node_label(n, cp->aff[i].topo_key);
      if (v == NONE)
        return IPA_AFFINITY; /* every topology label must exist */
      uint32_t *c = ks_u64map_find(&as->aff_counts[i], v);
      if (!c || !*c)
        exist = false;
    }
    /* The first pod of a group with affinity to itself may go anywhere
     * that has the topology labels. */
    if (!exist && !(as->aff_total == 0 && as->self_match))
      return IPA_AFFINITY;
  }
  for (uint32_t i = 0; i < cp->n_anti; i++) {
    uint32_t v = ks_node_label(n, cp->anti[i].topo_key);
    if (v == NONE)
      continue;
    uint32_t *c = ks_u64map_find(&as->anti_counts[i], v);
    if (c && *c)
      return IPA_ANTI;
  }
  for (uint32_t i = 0; i < as->n_forbid; i++)
    if (ks_node_label(n, as->forbid[i].k) == as->forbid[i].v)
      return IPA_EXISTING;
  for (uint32_t i = 0; i < as->n_forbid_e; i++) {
    const tentry_t *e = as->forbid_e[i];
    uint32_t *c = ks_u64map_find(&e->counts, ks_node_label(n, e->t.topo_key));
    if (c && *c)
      return IPA_EXISTING;
  }
  return IPA_OK;
}

bool ks_filter_dynamic(const kube_scheduler_t *s, const snode_t *n,
                       const cpod_t *cp, const affstate_t *as) {
  if (cp->n_ports && FE(s, NODE_PORTS) &&
      !ports_free(s, n->ports, n->n_ports, cp))
    return false;
  if (FE(s, NODE_RESOURCES_FIT) && !fits_resources(n, cp))
    return false;
  if (cp->has_pod_affinity && FE(s, INTER_POD_AFFINITY) &&
      ipa_check(s, n, cp, as) != IPA_OK)
    return false;
  bool missing;
  if (cp->n_hard_spread && !s->cfg.spread_filter_disabled &&
      !ks_spread_filter(s, n, cp, as, &missing))
    return false;
  return true;
}

/* Calls fn for every bound pod matching term t (namespaces + selector),
 * using the pod label index when the selector has an equality. */
int ks_for_matching_pods(kube_scheduler_t *s, const cpterm_t *t, ks_pod_fn fn,
                         void *ctx) {
  const creq_t *eq = NULL;
  for (uint32_t i = 0; i < t->n_sel && !eq; i++)
    if ((t->sel[i].op == KUBE_SELECTOR_EQUALS ||
         t->sel[i].op == KUBE_SELECTOR_IN))
      eq = &t->sel[i];
  if (eq) {
    for (uint32_t k = 0; k < eq->n; k++) {
      uint32_t *idx = ks_u64map_find(&s->pod_label_idx,
                                     ((uint64_t)eq->key << 32) | eq->vals[k]);
      if (!idx)
        continue;
      const vec_u32_t *post = &s->pod_post[*idx];
      for (uint32_t j = 0; j < post->n; j++) {
        const spod_t *p = s->pods[post->v[j]];
        if (ks_pterm_matches_pod(t, p->ns, p->labels, p->n_labels, &s->in) &&
            fn(s, p, ctx) < 0)
          return -1;
      }
    }
    return 0;
  }
  for (uint32_t i = 0; i < s->n_pod_slots; i++) {
    const spod_t *p = s->pods[i];
    if (p && ks_pterm_matches_pod(t, p->ns, p->labels, p->n_labels, &s->in) &&
        fn(s, p, ctx) < 0)
      return -1;
  }
  return 0;
}

typedef struct count_ctx {
  u64map_t *map;
  uint32_t topo_key;
} count_ctx_t;

static int count_pod(kube_scheduler_t *s, const spod_t *p, void *vctx) {
  count_ctx_t *c = vctx;
  uint32_t v = ks_node_label(s->nodes[p->node], c->topo_key);
  if (v == NONE)
    return 0;
  uint32_t *n = ks_u64map_upsert(c->map, v, 0);
  if (!n)
    return -1;
  (*n)++;
  return 0;
}

static int count_term(kube_scheduler_t *s, const cpterm_t *t, u64map_t *map) {
  count_ctx_t c = {map, t->topo_key};
  return ks_for_matching_pods(s, t, count_pod, &c);
}

/* Counts of bound pods matching the pod's term t per domain: borrowed
 * from the index (*own false) or counted into *map (*own true).
 * *domains: domains with at least one such pod. */
static int term_counts(kube_scheduler_t *s, const cpterm_t *t, u64map_t *map,
                       bool *own, uint64_t *domains) {
  const tentry_t *e = ks_tindex_forward(s, t);
  if (e) {
    *map = e->counts; /* a read-only view for this cycle */
    *own = false;
    *domains = e->nonzero;
    return 0;
  }
  *own = true;
  if (count_term(s, t, map) < 0)
    return -1;
  *domains = map->len;
  return 0;
}

/* Bound pods' terms (kind TK_ANTI or TK_SYM) that match the pod: from the
 * index, one entry per distinct term. */
static int matching_entries(kube_scheduler_t *s, const cpod_t *cp,
                            const vec_u32_t *list, const tentry_t ***out,
                            uint32_t *n) {
  *n = 0;
  if (!list->n)
    return 0;
  *out = malloc(list->n * sizeof(**out));
  if (!*out)
    return -1;
  for (uint32_t i = 0; i < list->n; i++) {
    const tentry_t *e = s->tindex.e[list->v[i]];
    if (e->nonzero &&
        ks_pterm_matches_pod(&e->t, cp->ns, cp->labels, cp->n_labels, &s->in))
      (*out)[(*n)++] = e;
  }
  return 0;
}

int ks_affstate_build(kube_scheduler_t *s, const cpod_t *cp, affstate_t *as) {
  memset(as, 0, sizeof(*as));
  if (cp->n_spread && ks_spread_build(s, cp, as) < 0)
    return -1;
  bool filt = FE(s, INTER_POD_AFFINITY);
  bool score = s->cfg.score_weight[KUBE_SCHED_SCORE_INTER_POD_AFFINITY] > 0;
  uint32_t n_pref = score ? cp->n_paff + cp->n_panti : 0;
  if (filt && cp->n_aff) {
    as->aff_counts = calloc(cp->n_aff, sizeof(u64map_t));
    as->aff_own = calloc(cp->n_aff, sizeof(bool));
    if (!as->aff_counts || !as->aff_own)
      return -1;
    as->self_match = true;
    for (uint32_t i = 0; i < cp->n_aff; i++) {
      uint64_t domains;
      if (term_counts(s, &cp->aff[i], &as->aff_counts[i], &as->aff_own[i],
                      &domains) < 0)
        return -1;
      as->aff_total += domains;
      if (!ks_pterm_matches_pod(&cp->aff[i], cp->ns, cp->labels, cp->n_labels,
                                &s->in))
        as->self_match = false;
    }
  }
  if (filt && cp->n_anti) {
    as->anti_counts = calloc(cp->n_anti, sizeof(u64map_t));
    as->anti_own = calloc(cp->n_anti, sizeof(bool));
    if (!as->anti_counts || !as->anti_own)
      return -1;
    uint64_t domains;
    for (uint32_t i = 0; i < cp->n_anti; i++)
      if (term_counts(s, &cp->anti[i], &as->anti_counts[i], &as->anti_own[i],
                      &domains) < 0)
        return -1;
  }
  bool indexed = !s->tindex.broken;
  if (filt && indexed &&
      matching_entries(s, cp, &s->tindex.anti, &as->forbid_e, &as->n_forbid_e) <
          0)
    return -1;
  if (score && indexed &&
      matching_entries(s, cp, &s->tindex.sym, &as->sym_e, &as->n_sym_e) < 0)
    return -1;
  if (filt && !indexed && s->anti_pods.n) {
    /* Existing pods whose required anti-affinity matches the incoming pod
     * forbid their topology domain. */
    uint32_t cap = 0;
    for (uint32_t i = 0; i < s->anti_pods.n; i++) {
      const spod_t *q = s->pods[s->anti_pods.v[i]];
      for (uint32_t j = 0; j < q->n_anti; j++) {
        const cpterm_t *t = &q->anti[j];
        if (!ks_pterm_matches_pod(t, cp->ns, cp->labels, cp->n_labels, &s->in))
          continue;
        uint32_t v = ks_node_label(s->nodes[q->node], t->topo_key);
        if (v == NONE)
          continue;
        if (as->n_forbid == cap) {
          cap = cap ? cap * 2 : 8;
          lab_t *nf = realloc(as->forbid, cap * sizeof(lab_t));
          if (!nf)
            return -1;
          as->forbid = nf;
        }
        as->forbid[as->n_forbid++] = (lab_t){t->topo_key, v};
      }
    }
  }
  if (score && !indexed && s->sym_pods.n) {
    /* Existing pods' affinity terms that match the incoming pod score
     * their topology domain (kube-scheduler's symmetric scoring). */
    uint32_t cap = 0;
    for (uint32_t i = 0; i < s->sym_pods.n; i++) {
      const spod_t *q = s->pods[s->sym_pods.v[i]];
      for (uint32_t j = 0; j < q->n_sym; j++) {
        const cpterm_t *t = &q->sym[j];
        if (!ks_pterm_matches_pod(t, cp->ns, cp->labels, cp->n_labels, &s->in))
          continue;
        uint32_t v = ks_node_label(s->nodes[q->node], t->topo_key);
        if (v == NONE)
          continue;
        uint32_t k = 0;
        while (k < as->n_sym &&
               !(as->sym[k].k == t->topo_key && as->sym[k].v == v))
          k++;
        if (k == as->n_sym) {
          if (as->n_sym == cap) {
            cap = cap ? cap * 2 : 8;
            struct symw *ns = realloc(as->sym, cap * sizeof(*ns));
            if (!ns)
              return -1;
            as->sym = ns;
          }
          as->sym[as->n_sym++] = (struct symw){t->topo_key, v, 0};
        }
        as->sym[k].w += t->weight;
      }
    }
  }
  if (n_pref) {
    as->pref_counts = calloc(n_pref, sizeof(u64map_t));
    as->pref_own = calloc(n_pref, sizeof(bool));
    if (!as->pref_counts || !as->pref_own)
      return -1;
    for (uint32_t i = 0; i < n_pref; i++) {
      const cpterm_t *t =
          i < cp->n_paff ? &cp->paff[i] : &cp->panti[i - cp->n_paff];
      uint64_t domains;
      if (term_counts(s, t, &as->pref_counts[i], &as->pref_own[i], &domains) <
          0)
        return -1;
    }
  }
  return 0;
}

void ks_affstate_free(affstate_t *as, const cpod_t *cp) {
  /* Borrowed maps (own false) belong to the index; a NULL own array
   * means the build stopped before any was filled. */
  if (as->aff_counts && as->aff_own)
    for (uint32_t i = 0; i < cp->n_aff; i++)
      if (as->aff_own[i])
        ks_u64map_free(&as->aff_counts[i]);
  if (as->anti_counts && as->anti_own)
    for (uint32_t i = 0; i < cp->n_anti; i++)
      if (as->anti_own[i])
        ks_u64map_free(&as->anti_counts[i]);
  if (as->pref_counts && as->pref_own)
    for (uint32_t i = 0; i < cp->n_paff + cp->n_panti; i++)
      if (as->pref_own[i])
        ks_u64map_free(&as->pref_counts[i]);
  free(as->aff_own);
  free(as->anti_own);
  free(as->pref_own);
  free(as->forbid_e);
  free(as->sym_e);
  free(as->aff_counts);
  free(as->anti_counts);
  free(as->pref_counts);
  free(as->forbid);
  free(as->sym);
  ks_spread_free(as, cp);
  memset(as, 0, sizeof(*as));
}

/* ---- explanation and preemption ---- */

typedef struct cand {
  uint32_t node;
  int32_t max_prio;
  uint32_t n_victims;
  int64_t prio_sum;
} cand_t;

static int prio_desc(const void *a, const void *b) {
  const spod_t *x = *(spod_t *const *)a, *y = *(spod_t *const *)b;
  if (x->priority != y->priority)
    return x->priority > y->priority ? -1 : 1;
  return strcmp(x->key, y->key);
}

static void ext_adjust(const snode_t *n, const spod_t *p, int64_t *ext_minus,
                       int sign) {
  for (uint32_t e = 0; e < p->n_ext; e++)
    for (uint32_t j = 0; j < n->n_ext; j++)
      if (n->ext_alloc[j].id == p->ext[e].id)
        ext_minus[j] += sign * p->ext[e].v;
}

/* Would evicting lower-priority pods make room on n?  Resources and host
 * ports are simulated; victims are chosen as kube-scheduler does: remove
 * every lower-priority pod, then reprieve them from the highest priority
 * down while the pod still fits.  Returns 1 with *c filled (victims in
 * vict, owned by the caller), 0 if not, -1 on OOM. */
static int try_preempt(kube_scheduler_t *s, const snode_t *n, const cpod_t *cp,
                       cand_t *c, spod_t ***vict) {
  /* Most nodes in a cluster of equal priorities have nothing to evict:
   * answer that without allocating. */
  bool any_low = false;
  for (uint32_t i = 0; i < n->pods.n && !any_low; i++)
    any_low = s->pods[n->pods.v[i]]->priority < cp->src->priority;
  if (!any_low)
    return 0;
  int64_t minus[R_N] = {0};
  int64_t *ext_minus = n->n_ext ? calloc(n->n_ext, sizeof(int64_t)) : NULL;
  spod_t **low = malloc((n->pods.n + 1) * sizeof(spod_t *));
  sport_t *ports = malloc((n->n_ports + 1) * sizeof(sport_t));
  uint32_t n_low = 0, n_ports = 0;
  int ret = -1;
  if ((n->n_ext && !ext_minus) || !low || !ports)
    goto out;
  for (uint32_t i = 0; i < n->pods.n; i++) {
    spod_t *p = s->pods[n->pods.v[i]];
    if (p->priority < cp->src->priority)
      low[n_low++] = p;
  }
  qsort(low, n_low, sizeof(*low), prio_desc);
  for (uint32_t i = 0; i < n_low; i++) {
    for (int r = 0; r < R_N; r++)
      minus[r] += low[i]->req[r];
    ext_adjust(n, low[i], ext_minus, +1);
  }
  /* Ports left after removing every lower-priority pod. */
  for (uint32_t j = 0; j < n->n_ports; j++)
    ports[n_ports++] = n->ports[j];
  for (uint32_t i = 0; i < n_low; i++)
    for (uint32_t k = 0; k < low[i]->n_ports; k++)
      for (uint32_t j = 0; j < n_ports; j++)
        if (!memcmp(&ports[j], &low[i]->ports[k], sizeof(sport_t))) {
          ports[j] = ports[--n_ports];
          break;
        }
  bool check_fit = FE(s, NODE_RESOURCES_FIT);
  bool check_ports = FE(s, NODE_PORTS) && cp->n_ports;
  if ((check_fit && !res_fit(s, n, cp, minus, ext_minus, NULL)) ||
      (check_ports && !ports_free(s, ports, n_ports, cp))) {
    ret = 0;
    goto out;
  }
  /* Reprieve: put pods back, highest priority first, while it still fits. */
  uint32_t nv = 0;
  for (uint32_t i = 0; i < n_low; i++) {
    spod_t *p = low[i];
    ext_adjust(n, p, ext_minus, -1);
    for (int r = 0; r < R_N; r++)
      minus[r] -= p->req[r];
    bool ok = !check_fit || res_fit(s, n, cp, minus, ext_minus, NULL);
    if (ok && check_ports && p->n_ports) {
      sport_t *np = realloc(ports, (n_ports + p->n_ports) * sizeof(sport_t));
      if (!np)
        goto out;
      ports = np;
      memcpy(ports + n_ports, p->ports, p->n_ports * sizeof(sport_t));
      if (ports_free(s, ports, n_ports + p->n_ports, cp))
        n_ports += p->n_ports;
      else
        ok = false;
    }
    if (ok)
      continue;
    ext_adjust(n, p, ext_minus, +1);
    for (int r = 0; r < R_N; r++)
      minus[r] += p->req[r];
    low[nv++] = p;
  }
  c->node = n->slot;
  c->n_victims = nv;
  c->max_prio = INT32_MIN;
  c->prio_sum = 0;
  for (uint32_t i = 0; i < nv; i++) {
    if (low[i]->priority > c->max_prio)
      c->max_prio = low[i]->priority;
    c->prio_sum += low[i]->priority;
  }
  *vict = low;
  low = NULL;
  ret = 1;
out:
  free(ext_minus);
  free(low);
  free(ports);
  return ret;
}

static bool cand_better(const cand_t *a, const cand_t *b) {
  if (a->max_prio != b->max_prio)
    return a->max_prio < b->max_prio;
  if (a->prio_sum != b->prio_sum)
    return a->prio_sum < b->prio_sum;
  return a->n_victims < b->n_victims;
}

typedef struct sorted_reason {
  char *text; /* "<count> <reason>" */
  uint32_t idx;
} sorted_reason_t;

static int sr_cmp(const void *a, const void *b) {
  return strcmp(((const sorted_reason_t *)a)->text,
                ((const sorted_reason_t *)b)->text);
}

/* "3 Insufficient cpu, 2 node(s) had ..." sorted as Go's sort.Strings. */
static int hist_format(const hist_t *h, kube_strbuf_t *sb,
                       kube_sched_reason_t **out, size_t *n_out) {
  sorted_reason_t *sr = calloc(h->n ? h->n : 1, sizeof(*sr));
  if (!sr)
    return -1;
  int ret = -1;
  for (uint32_t i = 0; i < h->n; i++) {
    if (asprintf(&sr[i].text, "%u %s", h->count[i], h->reason[i]) < 0) {
      sr[i].text = NULL;
      goto out;
    }
    sr[i].idx = i;
  }
  qsort(sr, h->n, sizeof(*sr), sr_cmp);
  if (out) {
    *out = calloc(h->n ? h->n : 1, sizeof(kube_sched_reason_t));
    if (!*out)
      goto out;
    *n_out = h->n;
  }
  for (uint32_t i = 0; i < h->n; i++) {
    if (i)
      kube_strbuf_append(sb, ", ");
    kube_strbuf_append(sb, sr[i].text);
    if (out) {
      (*out)[i].reason = strdup(h->reason[sr[i].idx]);
      (*out)[i].count = h->count[sr[i].idx];
      if (!(*out)[i].reason)
        goto out;
    }
  }
  ret = 0;
out:
  for (uint32_t i = 0; i < h->n; i++)
    free(sr[i].text);
  free(sr);
  return ret;
}

/* Run every filter on every node, recording the first failing plugin's
 * reasons per node, and what preemption would do. */
int ks_explain(kube_scheduler_t *s, const cpod_t *cp, const affstate_t *as,
               kube_sched_result_t *r, kube_error_t *err) {
  hist_t h = {0}, pre = {0};
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  cand_t best = {0};
  spod_t **best_v = NULL;
  bool have = false;
  int ret = -1;
  bool can_preempt = !cp->src->preemption_never;
  /* kube-scheduler evaluates max(100, 10% of the nodes) candidates. */
  uint32_t n_cand = 0, max_cand = s->n_nodes / 10 > 100 ? s->n_nodes / 10 : 100;

  if (s->n_nodes == 0) {
    r->message = strdup("no nodes available to schedule pods");
    return r->message ? 0 : kube_make_oom(err);
  }
  for (uint32_t i = 0; i < s->n_node_slots; i++) {
    const snode_t *n = s->nodes[i];
    if (!n)
      continue;
    const char *reason = NULL;
    enum { UNRESOLVABLE, SIMULATE, NO_VICTIMS } kind = UNRESOLVABLE;
    bool failed = true;
    const staint_t *t;
    char buf[600];
    if (n->unschedulable && !cp->tolerates_unschedulable &&
        FE(s, NODE_UNSCHEDULABLE))
      reason = MSG_UNSCHEDULABLE;
    else if (cp->node_name != NONE && n->name_id != cp->node_name &&
             FE(s, NODE_NAME))
      reason = MSG_NODE_NAME;
    else if (FE(s, TAINT_TOLERATION) && (t = untolerated(n, cp))) {
      snprintf(buf, sizeof(buf), "node(s) had untolerated taint {%s: %s}",
               s->in.strs[t->k], s->in.strs[t->v]);
      reason = buf;
    } else if (cp->has_node_affinity && FE(s, NODE_AFFINITY) &&
               !node_affinity_ok(s, n, cp))
      reason = MSG_NODE_AFFINITY;
    else if (cp->n_ports && FE(s, NODE_PORTS) &&
             !ports_free(s, n->ports, n->n_ports, cp)) {
      reason = MSG_PORTS;
      kind = SIMULATE;
    } else if (FE(s, NODE_RESOURCES_FIT) &&
               !res_fit(s, n, cp, NULL, NULL, NULL)) {
      res_fit(s, n, cp, NULL, NULL, &h);
      kind = SIMULATE;
    } else if (cp->has_pod_affinity && FE(s, INTER_POD_AFFINITY)) {
      switch (ipa_check(s, n, cp, as)) {
      case IPA_AFFINITY:
        reason = MSG_AFFINITY;
        break;
      case IPA_ANTI:
        reason = MSG_ANTI_AFFINITY;
        kind = NO_VICTIMS;
        break;
      case IPA_EXISTING:
        reason = MSG_EXISTING_ANTI;
        kind = NO_VICTIMS;
        break;
      default:
        failed = false;
        break;
      }
    } else {
      failed = false;
    }
    bool missing;
    if (!failed && cp->n_hard_spread && !s->cfg.spread_filter_disabled &&
        !ks_spread_filter(s, n, cp, as, &missing)) {
      failed = true;
      reason = missing ? MSG_SPREAD_LABEL : MSG_SPREAD;
      /* Evicting pods to even the spread is not simulated. */
      kind = missing ? UNRESOLVABLE : NO_VICTIMS;
    }
    if (!failed)
      continue; /* feasible: only the sampled search missed it */
    if (reason)
      hist_add(&h, reason);
    if (!can_preempt)
      continue;
    if (kind != SIMULATE) {
      /* Eviction is not simulated for anti-affinity: reported as having no
       * victims, which is what it usually comes to. */
      hist_add(&pre, kind == NO_VICTIMS ? MSG_NO_VICTIMS : MSG_NOT_HELPFUL);
      continue;
    }
    if (n_cand >= max_cand)
      continue; /* enough candidates, as kube-scheduler's dry run stops */
    cand_t c;
    spod_t **v = NULL;
    int pr = try_preempt(s, n, cp, &c, &v);
    if (pr < 0)
      goto oom;
    if (pr == 0) {
      hist_add(&pre, MSG_NO_VICTIMS);
      continue;
    }
    n_cand++;
    if (!have || cand_better(&c, &best)) {
      free(best_v);
      best = c;
      best_v = v;
      have = true;
    } else {
      free(v);
    }
  }
  if (h.oom || pre.oom)
    goto oom;
  kube_strbuf_printf(&sb, "0/%u nodes are available: ", s->n_nodes);
  if (hist_format(&h, &sb, &r->reasons, &r->n_reasons) < 0)
    goto oom;
  kube_strbuf_append(&sb, ".");
  if (!can_preempt) {
    kube_strbuf_append(
        &sb, " preemption: not eligible due to preemptionPolicy=Never.");
  } else if (!have) {
    kube_strbuf_printf(&sb,
                       " preemption: 0/%u nodes are available: ", s->n_nodes);
    if (hist_format(&pre, &sb, NULL, NULL) < 0)
      goto oom;
    kube_strbuf_append(&sb, ".");
  } else {
    r->nominated_node = strdup(s->nodes[best.node]->name);
    r->victims = calloc(best.n_victims ? best.n_victims : 1, sizeof(char *));
    if (!r->nominated_node || !r->victims)
      goto oom;
    for (uint32_t i = 0; i < best.n_victims; i++) {
      if (!(r->victims[i] = strdup(best_v[i]->key)))
        goto oom;
      r->n_victims++;
    }
  }
  r->message = kube_strbuf_steal(&sb);
  if (!r->message)
    goto oom;
  ret = 0;
  goto out;
oom:
  kube_make_oom(err);
out:
  free(best_v);
  hist_free(&h);
  hist_free(&pre);
  kube_strbuf_clear(&sb);
  return ret;
}
