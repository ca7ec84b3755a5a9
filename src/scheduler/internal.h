/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scheduler internals shared by the files of src/scheduler/ only.
 *
 * Strings (label keys and values, taint keys, image names, namespaces) are
 * interned to uint32 ids so that every comparison on the hot path is an
 * integer compare.  Nodes and bound pods live in slot arrays; slots are
 * reused through free lists and are what the indexes store.
 *
 * Functions shared between the files carry the ks_ prefix so that they
 * cannot collide with another module's internals in the static link.
 */
#ifndef KUBE_SCHEDULER_INTERNAL_H
#define KUBE_SCHEDULER_INTERNAL_H

#include <libkube/scheduler.h>

#include "core/util.h"

#define NONE UINT32_MAX
/* An id that matches nothing (a string the interner has never seen). */
#define ABSENT (UINT32_MAX - 1)

enum { R_CPU = 0, R_MEM, R_EPH, R_PODS, R_N };

/* Default requests used for scoring pods that request nothing, as
 * kube-scheduler does (100m CPU, 200MB memory). */
#define NONZERO_CPU 100
#define NONZERO_MEM (200LL * 1024 * 1024)

/* Grid of nodes by CPU and memory utilization (GRID steps each). */
#define GRID 20
#define NCELLS ((GRID + 1) * (GRID + 1))

/* ---- containers ---- */

typedef struct arena_chunk {
  struct arena_chunk *next;
  size_t size, used;
  max_align_t data[];
} arena_chunk_t;

typedef struct arena {
  arena_chunk_t *head;
  size_t chunk_size;
} arena_t;

void *ks_arena_alloc(arena_t *a, size_t size); /* zeroed; NULL on OOM */
void *ks_arena_dup(arena_t *a, const void *p, size_t size);
void ks_arena_reset(arena_t *a); /* keeps the first chunk */
void ks_arena_free(arena_t *a);

typedef struct vec_u32 {
  uint32_t *v;
  uint32_t n, cap;
} vec_u32_t;

int ks_vec_push(vec_u32_t *vec, uint32_t x);    /* -1 on OOM */
int ks_vec_reserve(vec_u32_t *vec, uint32_t n); /* capacity >= n */

/* String-keyed open-addressing map (keys borrowed: they must live as long
 * as their entry). */
typedef struct strmap_ent {
  uint64_t hash;
  const char *key; /* NULL empty, STRMAP_TOMB deleted */
  uint32_t val;
} strmap_ent_t;

typedef struct strmap {
  uint32_t cap, len, tomb;
  strmap_ent_t *ents;
} strmap_t;

uint64_t ks_str_hash(const char *s);
int ks_strmap_put(strmap_t *m, const char *key, uint32_t val);
bool ks_strmap_get(const strmap_t *m, const char *key, uint32_t *val);
bool ks_strmap_del(strmap_t *m, const char *key);
void ks_strmap_free(strmap_t *m);

/* uint64 -> uint32 map without deletion. */
typedef struct u64map {
  uint32_t cap, len;
  uint64_t *keys;
  uint32_t *vals;
  uint8_t *used;
} u64map_t;

/* Returns a pointer to the value for key, inserting `init` when absent;
 * NULL on OOM. */
uint32_t *ks_u64map_upsert(u64map_t *m, uint64_t key, uint32_t init);
uint32_t *ks_u64map_find(const u64map_t *m, uint64_t key);
void ks_u64map_clear(u64map_t *m); /* keeps memory */
void ks_u64map_free(u64map_t *m);

typedef struct interner {
  strmap_t map;
  char **strs;
  uint32_t n, cap;
} interner_t;

/* Id of s, adding it; NONE on OOM.  Id 0 is the empty string. */
uint32_t ks_intern(interner_t *in, const char *s);
/* Id of s or ABSENT; NULL and "" are 0. */
uint32_t ks_intern_lookup(const interner_t *in, const char *s);
void ks_interner_free(interner_t *in);

/* ---- compiled cluster objects ---- */

typedef struct lab {
  uint32_t k, v;
} lab_t;

typedef struct ext_res {
  uint32_t id;
  int64_t v;
} ext_res_t;

typedef struct sport {
  uint32_t proto, ip; /* interned; ip == s->any_ip for 0.0.0.0 */
  int32_t port;
} sport_t;

typedef struct staint {
  uint32_t k, v;
  uint8_t effect;
} staint_t;

typedef struct simage {
  uint32_t id;
  int64_t size;
} simage_t;

/* A compiled label requirement. */
typedef struct creq {
  uint32_t key;
  kube_selector_op_t op;
  uint32_t n;
  uint32_t *vals;
  int64_t num; /* Gt / Lt operand */
} creq_t;

typedef struct cnterm {
  uint32_t n_expr, n_fields;
  creq_t *expr, *fields;
} cnterm_t;

typedef struct cpterm {
  uint32_t n_sel;
  creq_t *sel;
  uint32_t n_ns;
  uint32_t *ns;
  bool all_ns;
  uint32_t topo_key;
  int32_t weight;
} cpterm_t;

/* A compiled topologySpreadConstraint: t holds the selector, the pod's
 * namespace and the topology key (t.weight = maxSkew). */
typedef struct cspread {
  cpterm_t t;
  bool hard; /* DoNotSchedule */
  int32_t min_domains;
  bool ignore_affinity, honor_taints;
} cspread_t;

typedef struct ctol {
  uint32_t key, value;
  kube_sched_toleration_op_t op;
  kube_sched_taint_effect_t effect;
} ctol_t;

typedef struct snode {
  /* Hot: read for every node the search visits (first two cache lines). */
  int64_t used[R_N], alloc[R_N];
  int64_t nz_used[2];
  double inv_alloc[2]; /* 1 / allocatable CPU, memory; 0 when none */
  uint32_t prev, next; /* grid cell list */
  int32_t cell;
  uint32_t name_id, slot;
  bool unschedulable, hard_taints, soft_taints;
  uint32_t n_ext, n_labels, n_taints, n_images, n_ports, cap_ports;
  /* Cold. */
  ext_res_t *ext_alloc;
  int64_t *ext_used;
  lab_t *labels; /* sorted by key */
  staint_t *taints;
  simage_t *images; /* sorted by id */
  sport_t *ports;
  char *name;
  vec_u32_t pods; /* bound pod slots */
} snode_t;

typedef struct spod {
  char *key; /* "namespace/name" */
  uint32_t ns, node, slot, pos_in_node;
  int64_t req[R_N];
  int64_t nz[2];
  int32_t priority;
  uint32_t n_ext, n_labels, n_ports, n_anti, n_sym;
  ext_res_t *ext;
  lab_t *labels;       /* sorted by key */
  uint32_t *label_pos; /* position in each label's posting list */
  sport_t *ports;
  cpterm_t *anti;    /* required anti-affinity terms (symmetry) */
  uint32_t anti_pos; /* position in s->anti_pods */
  /* Terms that score the pods scheduled after this one (symmetry):
   * required affinity (+1, kube-scheduler's hardPodAffinityWeight),
   * preferred affinity (+weight), preferred anti-affinity (-weight). */
  cpterm_t *sym;
  uint32_t sym_pos; /* position in s->sym_pods */
  arena_t aux;
} spod_t;

/* A pending pod compiled against the interner (lives in s->scratch). */
typedef struct cpod {
  const kube_sched_pod_t *src;
  uint32_t ns, node_name;
  int64_t req[R_N];
  int64_t nz[2];
  uint32_t n_ext, n_labels, n_sel, n_terms, n_pref, n_tol, n_ports, n_images;
  ext_res_t *ext;
  lab_t *labels;
  lab_t *sel;      /* nodeSelector */
  cnterm_t *terms; /* required node affinity (ORed) */
  cnterm_t *pref;  /* preferred node affinity */
  int32_t *pref_w;
  ctol_t *tol;
  sport_t *ports;
  uint32_t *images;
  uint32_t n_aff, n_anti, n_paff, n_panti;
  cpterm_t *aff, *anti, *paff, *panti;
  bool tolerates_unschedulable;
  bool has_node_affinity; /* selector or required terms */
  bool has_pod_affinity;  /* any required (anti-)affinity to check */
  uint32_t n_spread, n_hard_spread;
  cspread_t *spread;
} cpod_t;

/* Inter-pod affinity index (tindex.c): one entry per distinct term,
 * with the number of bound pods per topology domain, kept up to date as
 * pods are bound and unbound and node labels change:
 * - TK_ANTI: required anti-affinity terms of bound pods (they forbid
 *   their domains to the pods they match), counts = such pods;
 * - TK_SYM: scoring terms of bound pods (weight in t.weight: +1 required
 *   affinity, +w preferred affinity, -w preferred anti-affinity);
 * - TK_FWD: terms of pending pods: counts = bound pods matching them.
 * A pass then costs the distinct terms, not the bound pods. */
enum { TK_ANTI, TK_SYM, TK_FWD };

typedef struct tentry {
  cpterm_t t; /* owned (the index's arena) */
  uint8_t kind;
  char *sig;        /* owned (the index's arena); the map's key */
  uint32_t nonzero; /* domains with a count > 0 */
  u64map_t counts;  /* domain value -> pods (0 stays in the map) */
} tentry_t;

#define TINDEX_MAX_FWD 256

typedef struct tindex {
  tentry_t **e;
  uint32_t n, cap, n_fwd;
  strmap_t by_sig;
  arena_t arena;
  vec_u32_t anti, sym, fwd; /* entries by kind */
  bool broken;              /* out of memory once: scan as before */
} tindex_t;

/* Per-pod precomputed inter-pod affinity state. */
typedef struct affstate {
  u64map_t *aff_counts;  /* per required affinity term: topo value -> n */
  u64map_t *anti_counts; /* per required anti-affinity term */
  uint64_t aff_total;
  bool self_match;   /* pod matches all its own affinity terms */
  uint32_t n_forbid; /* existing pods' anti-affinity: (key, value) */
  lab_t *forbid;
  u64map_t *pref_counts; /* per preferred term (affinity then anti) */
  uint32_t n_sym;        /* existing pods' terms matching this pod */
  struct symw {
    uint32_t k, v;
    int64_t w;
  } * sym;
  /* PodTopologySpread (spread.c), per constraint: matching pods per
   * domain over the eligible nodes (every domain present, 0 included),
   * the least populated domain, whether the pod matches itself, and the
   * scoring weight log(domains + 2). */
  u64map_t *spread_counts;
  int64_t *spread_min;
  bool *spread_self;
  double *spread_w;
  /* With the index: which count maps are owned (else borrowed from
   * tindex entries), and the bound pods' terms matching this pod. */
  bool *aff_own, *anti_own, *pref_own;
  const tentry_t **forbid_e, **sym_e;
  uint32_t n_forbid_e, n_sym_e;
} affstate_t;

typedef struct kube_scheduler {
  kube_scheduler_config_t cfg;
  interner_t in;
  uint32_t any_ip, tcp, unschedulable_key, meta_name;

  snode_t **nodes;
  uint32_t n_node_slots, cap_nodes, n_nodes;
  vec_u32_t free_nodes;
  strmap_t node_by_name;

  spod_t **pods;
  uint32_t n_pod_slots, cap_pods, n_pods;
  vec_u32_t free_pods;
  strmap_t pod_by_key;

  /* node label (k<<32|v) -> index into node_post */
  u64map_t node_label_idx;
  vec_u32_t *node_post;
  uint32_t n_node_post, cap_node_post;
  /* pod label (k<<32|v) -> index into pod_post */
  u64map_t pod_label_idx;
  vec_u32_t *pod_post;
  uint32_t n_pod_post, cap_pod_post;
  vec_u32_t anti_pods; /* bound pods with required anti-affinity */
  vec_u32_t sym_pods;  /* bound pods with terms that score others */

  u64map_t image_nodes;        /* image id -> number of nodes holding it */
  uint32_t n_soft_taint_nodes; /* nodes with PreferNoSchedule taints */

  /* grid */
  uint32_t head[NCELLS], tail[NCELLS];
  uint16_t order[NCELLS];
  bool ordered; /* strategy visits the grid in utilization order */
  int64_t max_alloc[2];
  bool max_dirty;
  uint32_t rr_next; /* round robin start for unordered search */

  tindex_t tindex;

  uint64_t rng;
  arena_t scratch;
  uint32_t *feasible; /* scratch of node slots */
  double *scores;
  uint32_t cap_feasible;
} kube_scheduler_t;

/* state.c */
snode_t *ks_node_get(const kube_scheduler_t *s, const char *name);
int ks_pod_bind_compiled(kube_scheduler_t *s, const cpod_t *cp, const char *key,
                         uint32_t node_slot, spod_t **out, kube_error_t *err);
void ks_pod_unbind(kube_scheduler_t *s, spod_t *p);
void ks_grid_update(kube_scheduler_t *s, snode_t *n);
void ks_refresh_max_alloc(kube_scheduler_t *s);
uint32_t ks_node_label(const snode_t *n, uint32_t key); /* value id or NONE */
const char *ks_normalize_image(const char *name, char *buf, size_t len);

/* compile.c */
int ks_compile_pod(kube_scheduler_t *s, const kube_sched_pod_t *pod, cpod_t *cp,
                   kube_error_t *err);
int ks_compile_pterm(interner_t *in, arena_t *a,
                     const kube_sched_pod_affinity_term_t *t, uint32_t pod_ns,
                     int32_t weight, cpterm_t *out);
bool ks_labels_match(const creq_t *reqs, uint32_t n, const lab_t *labels,
                     uint32_t n_labels, const interner_t *in);
bool ks_pterm_matches_pod(const cpterm_t *t, uint32_t ns, const lab_t *labels,
                          uint32_t n_labels, const interner_t *in);
/* qsort order of labels: by key id (ks_lab_find relies on it). */
int ks_lab_cmp(const void *a, const void *b);
uint32_t ks_lab_find(const lab_t *labels, uint32_t n, uint32_t key);

/* filter.c */
bool ks_filter_static(const kube_scheduler_t *s, const snode_t *n,
                      const cpod_t *cp);
bool ks_filter_dynamic(const kube_scheduler_t *s, const snode_t *n,
                       const cpod_t *cp, const affstate_t *as);
bool ks_tolerates_taint(const cpod_t *cp, const staint_t *t);
int ks_affstate_build(kube_scheduler_t *s, const cpod_t *cp, affstate_t *as);
void ks_affstate_free(affstate_t *as, const cpod_t *cp);
int ks_explain(kube_scheduler_t *s, const cpod_t *cp, const affstate_t *as,
               kube_sched_result_t *r, kube_error_t *err);

/* The search's per-node test: every filter, cheapest checks inline. */
static inline bool fits_resources(const snode_t *n, const cpod_t *cp) {
  if (n->used[R_PODS] >= n->alloc[R_PODS] ||
      (cp->req[R_CPU] > 0 &&
       cp->req[R_CPU] > n->alloc[R_CPU] - n->used[R_CPU]) ||
      (cp->req[R_MEM] > 0 &&
       cp->req[R_MEM] > n->alloc[R_MEM] - n->used[R_MEM]) ||
      (cp->req[R_EPH] > 0 && cp->req[R_EPH] > n->alloc[R_EPH] - n->used[R_EPH]))
    return false;
  for (uint32_t e = 0; e < cp->n_ext; e++) {
    int64_t avail = 0;
    for (uint32_t j = 0; j < n->n_ext; j++)
      if (n->ext_alloc[j].id == cp->ext[e].id) {
        avail = n->ext_alloc[j].v - n->ext_used[j];
        break;
      }
    if (cp->ext[e].v > avail)
      return false;
  }
  return true;
}

static inline bool node_feasible(const kube_scheduler_t *s, const snode_t *n,
                                 const cpod_t *cp, const affstate_t *as) {
  if ((n->unschedulable || n->hard_taints || cp->node_name != NONE ||
       cp->has_node_affinity) &&
      !ks_filter_static(s, n, cp))
    return false;
  if (cp->n_ports || cp->has_pod_affinity || cp->n_hard_spread)
    return ks_filter_dynamic(s, n, cp, as);
  return !s->cfg.filter_enabled[KUBE_SCHED_FILTER_NODE_RESOURCES_FIT] ||
         fits_resources(n, cp);
}

/* spread.c */
int ks_spread_build(kube_scheduler_t *s, const cpod_t *cp, affstate_t *as);
void ks_spread_free(affstate_t *as, const cpod_t *cp);
/* DoNotSchedule constraints on n; *missing: n lacks a topology key. */
bool ks_spread_filter(const kube_scheduler_t *s, const snode_t *n,
                      const cpod_t *cp, const affstate_t *as, bool *missing);
/* ScheduleAnyway constraints: adds weight * 0..100 to out[i]; raw is
 * scratch of k. */
void ks_spread_score(const kube_scheduler_t *s, const cpod_t *cp,
                     const affstate_t *as, const uint32_t *slots, uint32_t k,
                     double weight, double *raw, double *out);

/* filter.c helpers shared with spread.c */
typedef int (*ks_pod_fn)(kube_scheduler_t *s, const spod_t *p, void *ctx);
int ks_for_matching_pods(kube_scheduler_t *s, const cpterm_t *t, ks_pod_fn fn,
                         void *ctx);
bool ks_node_affinity_ok(const kube_scheduler_t *s, const snode_t *n,
                         const cpod_t *cp);
bool ks_node_untolerated(const snode_t *n, const cpod_t *cp);

/* tindex.c */
/* Account p's terms on n (sign +1 / -1), and p in the forward entries. */
void ks_tindex_pod(kube_scheduler_t *s, const spod_t *p, const snode_t *n,
                   int sign);
/* Every pod on n (before and after a change of n's labels). */
void ks_tindex_node(kube_scheduler_t *s, const snode_t *n, int sign);
/* The forward entry of a pending pod's term (created on first use), or
 * NULL (index full or broken: count the term directly). */
const tentry_t *ks_tindex_forward(kube_scheduler_t *s, const cpterm_t *t);
void ks_tindex_free(tindex_t *x);

/* score.c */
void ks_score_nodes(kube_scheduler_t *s, const cpod_t *cp, const affstate_t *as,
                    const uint32_t *slots, uint32_t n, double *out);

#endif /* KUBE_SCHEDULER_INTERNAL_H */
