/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which pods a ReplicaSet deletes first: kube-controller-manager's
 * ActivePodsWithRanks ordering (unassigned, pending, not ready, lower
 * deletion cost, doubled up on a node, ready for less time, more restarts,
 * newer), with LogarithmicScaleDown and PodDeletionCost on as in 1.32.
 */
#include <math.h>

#include "controller/internal.h"
#include "controller/replicaset.h"

struct ranked {
  const struct ctl_pod *p;
  int rank; /* related active pods on the same node */
};

static int64_t now_for_sort;

static int phase_ordinal(enum ctl_phase p) {
  switch (p) {
  case CTL_PHASE_PENDING:
    return 0;
  case CTL_PHASE_UNKNOWN:
    return 1;
  case CTL_PHASE_RUNNING:
    return 2;
  default:
    return 3; /* not in podPhaseToOrdinal: 0 there too, but inactive pods
                 never reach this sort */
  }
}

/* afterOrZero: a zero time sorts first, else the later one. */
static bool after_or_zero(int64_t t1, int64_t t2) {
  if (t1 == 0 || t2 == 0)
    return t1 == 0;
  return t1 > t2;
}

static int64_t log_rank(int64_t t) {
  int64_t d = now_for_sort - t;
  return d > 0 ? (int64_t)log2((double)d) : -1;
}

/* <0: a before b (deleted first). */
static int rank_cmp(const void *pa, const void *pb) {
  const struct ranked *ra = pa, *rb = pb;
  const struct ctl_pod *a = ra->p, *b = rb->p;
  const char *na = a->node ? a->node : "", *nb = b->node ? b->node : "";
  /* 1. unassigned < assigned */
  if (!streq(na, nb) && (!*na || !*nb))
    return !*na ? -1 : 1;
  /* 2. PodPending < PodUnknown < PodRunning */
  if (phase_ordinal(a->phase) != phase_ordinal(b->phase))
    return phase_ordinal(a->phase) < phase_ordinal(b->phase) ? -1 : 1;
  /* 3. not ready < ready */
  if (a->ready != b->ready)
    return !a->ready ? -1 : 1;
  /* 4. lower pod-deletion-cost < higher */
  if (a->deletion_cost != b->deletion_cost)
    return a->deletion_cost < b->deletion_cost ? -1 : 1;
  /* 5. doubled up < not doubled up */
  if (ra->rank != rb->rank)
    return ra->rank > rb->rank ? -1 : 1;
  /* 6. been ready for less time first (logarithmic buckets) */
  if (a->ready && b->ready && a->ready_since_ns != b->ready_since_ns) {
    if (!a->ready_since_ns || !b->ready_since_ns)
      return after_or_zero(a->ready_since_ns, b->ready_since_ns) ? -1 : 1;
    int64_t d = log_rank(a->ready_since_ns) - log_rank(b->ready_since_ns);
    if (d == 0)
      return strcmp(a->uid, b->uid) < 0 ? -1 : 1;
    return d < 0 ? -1 : 1;
  }
  /* 7. more restarts first */
  if (a->max_restarts != b->max_restarts)
    return a->max_restarts > b->max_restarts ? -1 : 1;
  /* 8. newer first (logarithmic buckets) */
  if (a->created_ns != b->created_ns) {
    if (!a->created_ns || !b->created_ns)
      return after_or_zero(a->created_ns, b->created_ns) ? -1 : 1;
    int64_t d = log_rank(a->created_ns) - log_rank(b->created_ns);
    if (d == 0)
      return strcmp(a->uid, b->uid) < 0 ? -1 : 1;
    return d < 0 ? -1 : 1;
  }
  /* Equal for kube-controller-manager (its sort is not stable); keep the
   * choice stable here. */
  return strcmp(a->key, b->key);
}

struct node_count {
  struct strmap m; /* node -> count (stored in the pointer) */
};

static void count_related(struct node_count *nc, const struct ctl_podlist *l) {
  for (size_t i = 0; l && i < l->n; i++) {
    const struct ctl_pod *p = l->v[i];
    if (!ctl_pod_active(p))
      continue;
    const char *node = p->node ? p->node : "";
    uintptr_t n = (uintptr_t)strmap_get(&nc->m, node);
    strmap_put(&nc->m, node, (void *)(n + 1), NULL);
  }
}

const struct ctl_pod **
ctl_rs_pods_to_delete(const struct ctl_pod **pods, size_t n, size_t diff,
                      const struct ctl_podlist *const *related,
                      size_t n_related) {
  const struct ctl_pod **out = calloc(diff ? diff : 1, sizeof *out);
  if (!out)
    return NULL;
  if (diff >= n) {
    for (size_t i = 0; i < n && i < diff; i++)
      out[i] = pods[i];
    return out;
  }
  struct ranked *r = calloc(n, sizeof *r);
  if (!r) {
    free(out);
    return NULL;
  }
  struct node_count nc = {0};
  for (size_t i = 0; i < n_related; i++)
    count_related(&nc, related[i]);
  for (size_t i = 0; i < n; i++) {
    r[i].p = pods[i];
    r[i].rank =
        (int)(uintptr_t)strmap_get(&nc.m, pods[i]->node ? pods[i]->node : "");
  }
  now_for_sort = ctl_now_ns();
  qsort(r, n, sizeof *r, rank_cmp);
  for (size_t i = 0; i < diff; i++)
    out[i] = r[i].p;
  free(r);
  strmap_clear(&nc.m, NULL);
  return out;
}
