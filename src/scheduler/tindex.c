/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The inter-pod affinity index: topology-domain counters keyed by term.
 *
 * kube-scheduler's InterPodAffinity looks at every bound pod with affinity
 * terms for every pod it schedules; with thousands of such pods that is
 * the whole cost of a pass.  Pods created from one template share their
 * terms, so the distinct terms are few: each gets one entry whose counts
 * (domain value -> pods) change by one when a pod is bound or unbound
 * (ks_tindex_pod) or when a node's labels change (ks_tindex_node).  The
 * filter and score then consult the entries matching the pod instead of
 * the pods (filter.c, score.c).
 *
 * Entries are never removed (a count of 0 means "none"); forward entries
 * (pending pods' terms) are bounded by TINDEX_MAX_FWD, beyond which terms
 * are counted directly.  Out of memory marks the index broken: the
 * callers scan the bound pods as before.
 */
#include <stdio.h>

#include "scheduler/internal.h"

/* A term's identity: kind, weight, key, namespaces and selector, as ids. */
static char *term_sig(const cpterm_t *t, uint8_t kind, char *buf, size_t len) {
  size_t o = 0;
#define PUT(...)                                                               \
  do {                                                                         \
    int w_ = snprintf(buf + o, o < len ? len - o : 0, __VA_ARGS__);            \
    o += w_ > 0 ? (size_t)w_ : 0;                                              \
  } while (0)
  PUT("%u/%d/%u/%d/", kind, t->weight, t->topo_key, t->all_ns);
  for (uint32_t i = 0; i < t->n_ns; i++)
    PUT("%u,", t->ns[i]);
  PUT("/");
  for (uint32_t i = 0; i < t->n_sel; i++) {
    const creq_t *r = &t->sel[i];
    PUT("%u %d %lld", r->key, (int)r->op, (long long)r->num);
    for (uint32_t k = 0; k < r->n; k++)
      PUT(" %u", r->vals[k]);
    PUT(";");
  }
#undef PUT
  return o < len ? buf : NULL; /* too long: not indexed */
}

static int term_copy(arena_t *a, const cpterm_t *src, cpterm_t *dst) {
  *dst = *src;
  dst->sel = src->n_sel ? ks_arena_alloc(a, src->n_sel * sizeof(creq_t)) : NULL;
  dst->ns =
      src->n_ns ? ks_arena_dup(a, src->ns, src->n_ns * sizeof(uint32_t)) : NULL;
  if ((src->n_sel && !dst->sel) || (src->n_ns && !dst->ns))
    return -1;
  for (uint32_t i = 0; i < src->n_sel; i++) {
    dst->sel[i] = src->sel[i];
    if (src->sel[i].n &&
        !(dst->sel[i].vals = ks_arena_dup(a, src->sel[i].vals,
                                          src->sel[i].n * sizeof(uint32_t))))
      return -1;
  }
  return 0;
}

/* The entry of (t, kind), created when absent; NULL on OOM or when the
 * signature does not fit. */
static tentry_t *entry_get(tindex_t *x, const cpterm_t *t, uint8_t kind,
                           bool create) {
  char buf[1024];
  const char *sig = term_sig(t, kind, buf, sizeof buf);
  if (!sig)
    return NULL;
  uint32_t idx;
  if (ks_strmap_get(&x->by_sig, sig, &idx))
    return x->e[idx];
  if (!create)
    return NULL;
  if (x->n == x->cap) {
    uint32_t ncap = x->cap ? 2 * x->cap : 16;
    tentry_t **ne = realloc(x->e, ncap * sizeof(*ne));
    if (!ne)
      return NULL;
    x->e = ne;
    x->cap = ncap;
  }
  if (!x->arena.chunk_size)
    x->arena.chunk_size = 64 * 1024;
  tentry_t *e = ks_arena_alloc(&x->arena, sizeof *e);
  if (!e || term_copy(&x->arena, t, &e->t) < 0 ||
      !(e->sig = ks_arena_dup(&x->arena, sig, strlen(sig) + 1)))
    return NULL;
  e->kind = kind;
  vec_u32_t *list = kind == TK_ANTI  ? &x->anti
                    : kind == TK_SYM ? &x->sym
                                     : &x->fwd;
  if (ks_vec_reserve(list, list->n + 1) < 0 ||
      ks_strmap_put(&x->by_sig, e->sig, x->n) < 0)
    return NULL;
  ks_vec_push(list, x->n);
  x->e[x->n++] = e;
  return e;
}

static int add(tentry_t *e, uint32_t v, int sign) {
  if (v == NONE)
    return 0;
  uint32_t *c = ks_u64map_upsert(&e->counts, v, 0);
  if (!c)
    return -1;
  if (sign > 0) {
    if ((*c)++ == 0)
      e->nonzero++;
  } else if (*c > 0 && --(*c) == 0) {
    e->nonzero--;
  }
  return 0;
}

void ks_tindex_pod(kube_scheduler_t *s, const spod_t *p, const snode_t *n,
                   int sign) {
  tindex_t *x = &s->tindex;
  if (x->broken)
    return;
  for (uint32_t i = 0; i < p->n_anti + p->n_sym; i++) {
    const cpterm_t *t = i < p->n_anti ? &p->anti[i] : &p->sym[i - p->n_anti];
    tentry_t *e = entry_get(x, t, i < p->n_anti ? TK_ANTI : TK_SYM, sign > 0);
    if ((!e && sign > 0) ||
        (e && add(e, ks_node_label(n, t->topo_key), sign) < 0))
      goto broken;
  }
  for (uint32_t i = 0; i < x->fwd.n; i++) {
    tentry_t *e = x->e[x->fwd.v[i]];
    if (ks_pterm_matches_pod(&e->t, p->ns, p->labels, p->n_labels, &s->in) &&
        add(e, ks_node_label(n, e->t.topo_key), sign) < 0)
      goto broken;
  }
  return;
broken:
  x->broken = true;
}

void ks_tindex_node(kube_scheduler_t *s, const snode_t *n, int sign) {
  for (uint32_t i = 0; i < n->pods.n; i++)
    ks_tindex_pod(s, s->pods[n->pods.v[i]], n, sign);
}

static int count_fwd(kube_scheduler_t *s, const spod_t *p, void *ctx) {
  tentry_t *e = ctx;
  return add(e, ks_node_label(s->nodes[p->node], e->t.topo_key), +1);
}

const tentry_t *ks_tindex_forward(kube_scheduler_t *s, const cpterm_t *t) {
  tindex_t *x = &s->tindex;
  if (x->broken)
    return NULL;
  tentry_t *e = entry_get(x, t, TK_FWD, false);
  if (e || x->fwd.n >= TINDEX_MAX_FWD)
    return e;
  if (!(e = entry_get(x, t, TK_FWD, true)) ||
      ks_for_matching_pods(s, &e->t, count_fwd, e) < 0) {
    x->broken = true;
    return NULL;
  }
  return e;
}

void ks_tindex_free(tindex_t *x) {
  for (uint32_t i = 0; i < x->n; i++)
    ks_u64map_free(&x->e[i]->counts);
  free(x->e);
  ks_strmap_free(&x->by_sig);
  ks_arena_free(&x->arena);
  free(x->anti.v);
  free(x->sym.v);
  free(x->fwd.v);
  memset(x, 0, sizeof *x);
}
