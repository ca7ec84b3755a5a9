/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The scheduler's cluster state: nodes and bound pods, updated
 * incrementally.  Every change adjusts the node sums, the grid of nodes by
 * utilization, and the label indexes in O(labels) — nothing is rescanned.
 */
#include <stdlib.h>

#include "scheduler/internal.h"

/* ---- helpers ---- */

static int img_cmp(const void *a, const void *b) {
  const simage_t *x = a, *y = b;
  return x->id < y->id ? -1 : x->id > y->id;
}

uint32_t ks_node_label(const snode_t *n, uint32_t key) {
  return ks_lab_find(n->labels, n->n_labels, key);
}

/* Kubernetes compares image names after normalizing "nginx" to
 * "nginx:latest"; registries and digests are left as written. */
const char *ks_normalize_image(const char *name, char *buf, size_t len) {
  if (!name)
    return "";
  if (strchr(name, '@'))
    return name;
  const char *slash = strrchr(name, '/');
  const char *last = slash ? slash + 1 : name;
  if (strchr(last, ':'))
    return name;
  int w = snprintf(buf, len, "%s:latest", name);
  return w > 0 && (size_t)w < len ? buf : name;
}

snode_t *ks_node_get(const kube_scheduler_t *s, const char *name) {
  uint32_t slot;
  if (!name || !ks_strmap_get(&s->node_by_name, name, &slot))
    return NULL;
  return s->nodes[slot];
}

static inline uint64_t labkey(uint32_t k, uint32_t v) {
  return ((uint64_t)k << 32) | v;
}

/* ---- the grid of nodes by utilization ---- */

static int frac_cell(int64_t used, int64_t alloc) {
  if (alloc <= 0)
    return GRID;
  if (used <= 0)
    return 0;
  if (used >= alloc)
    return GRID;
  return (int)((__int128)used * GRID / alloc);
}

static void grid_unlink(kube_scheduler_t *s, snode_t *n) {
  if (n->cell < 0)
    return;
  if (n->prev != NONE)
    s->nodes[n->prev]->next = n->next;
  else
    s->head[n->cell] = n->next;
  if (n->next != NONE)
    s->nodes[n->next]->prev = n->prev;
  else
    s->tail[n->cell] = n->prev;
  n->cell = -1;
  n->prev = n->next = NONE;
}

void ks_grid_update(kube_scheduler_t *s, snode_t *n) {
  int cell = frac_cell(n->used[R_CPU], n->alloc[R_CPU]) * (GRID + 1) +
             frac_cell(n->used[R_MEM], n->alloc[R_MEM]);
  if (cell == n->cell)
    return;
  grid_unlink(s, n);
  n->cell = cell;
  n->next = NONE;
  n->prev = s->tail[cell];
  if (n->prev != NONE)
    s->nodes[n->prev]->next = n->slot;
  else
    s->head[cell] = n->slot;
  s->tail[cell] = n->slot;
}

void ks_refresh_max_alloc(kube_scheduler_t *s) {
  s->max_alloc[0] = s->max_alloc[1] = 0;
  for (uint32_t i = 0; i < s->n_node_slots; i++) {
    snode_t *n = s->nodes[i];
    if (!n)
      continue;
    if (n->alloc[R_CPU] > s->max_alloc[0])
      s->max_alloc[0] = n->alloc[R_CPU];
    if (n->alloc[R_MEM] > s->max_alloc[1])
      s->max_alloc[1] = n->alloc[R_MEM];
  }
  s->max_dirty = false;
}

/* Visiting order of the grid cells for the configured strategy. */
static int order_cmp(const void *a, const void *b, void *ctx) {
  const int64_t *order_key = ctx;
  uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
  if (order_key[x] != order_key[y])
    return order_key[x] < order_key[y] ? -1 : 1;
  return x < y ? -1 : x > y;
}

static void grid_order(kube_scheduler_t *s) {
  int dir = 0; /* +1 fullest first, -1 emptiest first, 0 unordered */
  switch (s->cfg.strategy) {
  case KUBE_SCHED_MOST_ALLOCATED:
    dir = 1;
    break;
  case KUBE_SCHED_LEAST_ALLOCATED:
    dir = -1;
    break;
  case KUBE_SCHED_REQUESTED_TO_CAPACITY_RATIO:
    if (s->cfg.n_shape >= 2) {
      int32_t first = s->cfg.shape[0].score;
      int32_t last = s->cfg.shape[s->cfg.n_shape - 1].score;
      dir = last > first ? 1 : last < first ? -1 : 0;
    }
    break;
  }
  if (s->cfg.score_weight[KUBE_SCHED_SCORE_NODE_RESOURCES_FIT] <= 0)
    dir = 0;
  /* VectorFit is a best fit: it wants the fullest nodes in the sample. */
  if (s->cfg.vector_fit_weight > 0 &&
      (dir == 0 || s->cfg.score_weight[KUBE_SCHED_SCORE_NODE_RESOURCES_FIT] <
                       s->cfg.vector_fit_weight))
    dir = 1;
  s->ordered = dir != 0;
  int64_t wc = s->cfg.cpu_weight > 0 ? s->cfg.cpu_weight : 0;
  int64_t wm = s->cfg.memory_weight > 0 ? s->cfg.memory_weight : 0;
  if (wc + wm == 0)
    wc = wm = 1;
  int64_t order_key[NCELLS];
  for (int c = 0; c < NCELLS; c++) {
    int ci = c / (GRID + 1), mi = c % (GRID + 1);
    int64_t u = wc * ci + wm * mi;
    int64_t skew = ci > mi ? ci - mi : mi - ci;
    order_key[c] = (dir >= 0 ? -u : u) * 1024 + skew;
    s->order[c] = (uint16_t)c;
  }
  qsort_r(s->order, NCELLS, sizeof(s->order[0]), order_cmp, order_key);
}

/* ---- life cycle ---- */

KUBE_EXPORT kube_scheduler_t *
kube_scheduler_new(const kube_scheduler_config_t *cfg, kube_error_t *err) {
  kube_scheduler_t *s = calloc(1, sizeof(*s));
  if (!s) {
    kube_make_oom(err);
    return NULL;
  }
  kube_scheduler_config_init(&s->cfg);
  if (cfg) {
    core_opts_copy(&s->cfg, cfg);
    s->cfg.struct_size = sizeof(s->cfg);
  }
  if (s->cfg.percentage_of_nodes_to_score < 0 ||
      s->cfg.percentage_of_nodes_to_score > 100) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "scheduler: percentageOfNodesToScore must be 0..100");
    free(s);
    return NULL;
  }
  if (s->cfg.n_shape > KUBE_SCHED_MAX_SHAPE)
    s->cfg.n_shape = KUBE_SCHED_MAX_SHAPE;
  for (int c = 0; c < NCELLS; c++)
    s->head[c] = s->tail[c] = NONE;
  s->any_ip = ks_intern(&s->in, "0.0.0.0");
  s->tcp = ks_intern(&s->in, "TCP");
  s->unschedulable_key = ks_intern(&s->in, "node.kubernetes.io/unschedulable");
  s->meta_name = ks_intern(&s->in, "metadata.name");
  if (s->meta_name == NONE || s->any_ip == NONE || s->tcp == NONE ||
      s->unschedulable_key == NONE) {
    kube_scheduler_free(s);
    kube_make_oom(err);
    return NULL;
  }
  s->rng = s->cfg.seed * 0x9e3779b97f4a7c15ULL + 0x2545f4914f6cdd1dULL;
  s->scratch.chunk_size = 64 * 1024;
  grid_order(s);
  return s;
}

static void node_free(snode_t *n) {
  if (!n)
    return;
  free(n->name);
  free(n->ext_alloc);
  free(n->ext_used);
  free(n->labels);
  free(n->taints);
  free(n->images);
  free(n->ports);
  free(n->pods.v);
  free(n);
}

static void pod_free(spod_t *p) {
  if (!p)
    return;
  free(p->key);
  free(p->labels);
  free(p->label_pos);
  ks_arena_free(&p->aux);
  free(p);
}

KUBE_EXPORT void kube_scheduler_free(kube_scheduler_t *s) {
  if (!s)
    return;
  for (uint32_t i = 0; i < s->n_node_slots; i++)
    node_free(s->nodes[i]);
  for (uint32_t i = 0; i < s->n_pod_slots; i++)
    pod_free(s->pods[i]);
  free(s->nodes);
  free(s->pods);
  free(s->free_nodes.v);
  free(s->free_pods.v);
  ks_strmap_free(&s->node_by_name);
  ks_strmap_free(&s->pod_by_key);
  ks_u64map_free(&s->node_label_idx);
  for (uint32_t i = 0; i < s->n_node_post; i++)
    free(s->node_post[i].v);
  free(s->node_post);
  ks_u64map_free(&s->pod_label_idx);
  for (uint32_t i = 0; i < s->n_pod_post; i++)
    free(s->pod_post[i].v);
  free(s->pod_post);
  free(s->anti_pods.v);
  free(s->sym_pods.v);
  ks_u64map_free(&s->image_nodes);
  ks_tindex_free(&s->tindex);
  ks_arena_free(&s->scratch);
  free(s->feasible);
  free(s->scores);
  ks_interner_free(&s->in);
  free(s);
}

KUBE_EXPORT size_t kube_scheduler_node_count(const kube_scheduler_t *s) {
  return s ? s->n_nodes : 0;
}

KUBE_EXPORT size_t kube_scheduler_pod_count(const kube_scheduler_t *s) {
  return s ? s->n_pods : 0;
}

/* ---- posting lists ---- */

static vec_u32_t *posting(u64map_t *idx, vec_u32_t **lists, uint32_t *n,
                          uint32_t *cap, uint64_t key) {
  uint32_t *i = ks_u64map_upsert(idx, key, NONE);
  if (!i)
    return NULL;
  if (*i == NONE) {
    if (*n == *cap) {
      uint32_t ncap = *cap ? *cap * 2 : 64;
      vec_u32_t *nl = realloc(*lists, ncap * sizeof(*nl));
      if (!nl)
        return NULL;
      *lists = nl;
      *cap = ncap;
    }
    (*lists)[*n] = (vec_u32_t){0};
    *i = (*n)++;
  }
  return &(*lists)[*i];
}

/* ---- nodes ---- */

static int node_fill(kube_scheduler_t *s, snode_t *n,
                     const kube_sched_node_t *src) {
  interner_t *in = &s->in;
  const kube_sched_resources_t *a = &src->allocatable;
  n->alloc[R_CPU] = a->cpu_milli;
  n->alloc[R_MEM] = a->memory;
  n->alloc[R_EPH] = a->ephemeral_storage;
  n->alloc[R_PODS] = a->pods > 0 ? a->pods : 110;
  for (int r = 0; r < 2; r++)
    n->inv_alloc[r] = n->alloc[r] > 0 ? 1.0 / (double)n->alloc[r] : 0;
  n->unschedulable = src->unschedulable;
  n->n_ext = 0;
  if (a->n_extended) {
    n->ext_alloc = calloc(a->n_extended, sizeof(ext_res_t));
    n->ext_used = calloc(a->n_extended, sizeof(int64_t));
    if (!n->ext_alloc || !n->ext_used)
      return -1;
    for (size_t i = 0; i < a->n_extended; i++) {
      uint32_t id = ks_intern(in, a->extended[i].name);
      if (id == NONE)
        return -1;
      n->ext_alloc[n->n_ext++] = (ext_res_t){id, a->extended[i].value};
    }
  }
  n->n_labels = (uint32_t)src->n_labels;
  if (n->n_labels) {
    n->labels = malloc(n->n_labels * sizeof(lab_t));
    if (!n->labels)
      return -1;
    for (uint32_t i = 0; i < n->n_labels; i++) {
      n->labels[i].k = ks_intern(in, src->labels[i].key);
      n->labels[i].v = ks_intern(in, src->labels[i].value);
      if (n->labels[i].k == NONE || n->labels[i].v == NONE)
        return -1;
    }
    qsort(n->labels, n->n_labels, sizeof(lab_t), ks_lab_cmp);
  }
  n->n_taints = (uint32_t)src->n_taints;
  n->hard_taints = n->soft_taints = false;
  if (n->n_taints) {
    n->taints = malloc(n->n_taints * sizeof(staint_t));
    if (!n->taints)
      return -1;
    for (uint32_t i = 0; i < n->n_taints; i++) {
      staint_t *t = &n->taints[i];
      t->k = ks_intern(in, src->taints[i].key);
      t->v = ks_intern(in, src->taints[i].value);
      t->effect = (uint8_t)src->taints[i].effect;
      if (t->k == NONE || t->v == NONE)
        return -1;
      if (t->effect == KUBE_TAINT_PREFER_NO_SCHEDULE)
        n->soft_taints = true;
      else
        n->hard_taints = true;
    }
  }
  n->n_images = (uint32_t)src->n_images;
  if (n->n_images) {
    n->images = malloc(n->n_images * sizeof(simage_t));
    if (!n->images)
      return -1;
    for (uint32_t i = 0; i < n->n_images; i++) {
      char buf[512];
      const char *nm =
          ks_normalize_image(src->images[i].name, buf, sizeof(buf));
      n->images[i].id = ks_intern(in, nm);
      n->images[i].size = src->images[i].size;
      if (n->images[i].id == NONE)
        return -1;
    }
    qsort(n->images, n->n_images, sizeof(simage_t), img_cmp);
  }
  return 0;
}

/* Add (delta = +1) or remove (-1) the node from the label and image
 * indexes. */
static int node_index(kube_scheduler_t *s, snode_t *n, int delta) {
  if (n->soft_taints)
    s->n_soft_taint_nodes += delta;
  for (uint32_t i = 0; i < n->n_labels; i++) {
    vec_u32_t *p =
        posting(&s->node_label_idx, &s->node_post, &s->n_node_post,
                &s->cap_node_post, labkey(n->labels[i].k, n->labels[i].v));
    if (!p)
      return -1;
    if (delta > 0) {
      if (ks_vec_push(p, n->slot) < 0)
        return -1;
    } else {
      /* Keep postings sorted by insertion; node removal is rare. */
      for (uint32_t j = 0; j < p->n; j++)
        if (p->v[j] == n->slot) {
          memmove(&p->v[j], &p->v[j + 1], (p->n - j - 1) * sizeof(uint32_t));
          p->n--;
          break;
        }
    }
  }
  for (uint32_t i = 0; i < n->n_images; i++) {
    uint32_t *c = ks_u64map_upsert(&s->image_nodes, n->images[i].id, 0);
    if (!c)
      return -1;
    *c = (uint32_t)((int64_t)*c + delta);
  }
  return 0;
}

static void node_clear_attrs(snode_t *n) {
  free(n->ext_alloc);
  free(n->ext_used);
  free(n->labels);
  free(n->taints);
  free(n->images);
  n->ext_alloc = NULL;
  n->ext_used = NULL;
  n->labels = NULL;
  n->taints = NULL;
  n->images = NULL;
  n->n_ext = n->n_labels = n->n_taints = n->n_images = 0;
}

KUBE_EXPORT int kube_scheduler_add_node(kube_scheduler_t *s,
                                        const kube_sched_node_t *node,
                                        kube_error_t *err) {
  if (!node || !node->name || !*node->name)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "scheduler: node without a name");
  if (ks_node_get(s, node->name))
    return kube_error_set(err, KUBE_REASON_ALREADY_EXISTS, 0,
                          "node %s already exists", node->name);
  snode_t *n = calloc(1, sizeof(*n));
  if (!n)
    return kube_make_oom(err);
  n->cell = -1;
  n->prev = n->next = NONE;
  n->name = strdup(node->name);
  if (!n->name || (n->name_id = ks_intern(&s->in, node->name)) == NONE ||
      node_fill(s, n, node) < 0)
    goto oom;
  if (s->free_nodes.n) {
    n->slot = s->free_nodes.v[--s->free_nodes.n];
  } else {
    if (s->n_node_slots == s->cap_nodes) {
      uint32_t ncap = s->cap_nodes ? s->cap_nodes * 2 : 64;
      snode_t **nn = realloc(s->nodes, ncap * sizeof(*nn));
      if (!nn)
        goto oom;
      s->nodes = nn;
      s->cap_nodes = ncap;
    }
    n->slot = s->n_node_slots++;
  }
  s->nodes[n->slot] = n;
  if (ks_strmap_put(&s->node_by_name, n->name, n->slot) < 0) {
    s->nodes[n->slot] = NULL;
    ks_vec_push(&s->free_nodes, n->slot);
    goto oom;
  }
  if (node_index(s, n, +1) < 0) {
    /* Leave the node registered; indexes are best effort only on OOM. */
    s->n_nodes++;
    ks_grid_update(s, n);
    return kube_make_oom(err);
  }
  s->n_nodes++;
  ks_grid_update(s, n);
  if (n->alloc[R_CPU] > s->max_alloc[0])
    s->max_alloc[0] = n->alloc[R_CPU];
  if (n->alloc[R_MEM] > s->max_alloc[1])
    s->max_alloc[1] = n->alloc[R_MEM];
  return 0;
oom:
  node_free(n);
  return kube_make_oom(err);
}

KUBE_EXPORT int kube_scheduler_update_node(kube_scheduler_t *s,
                                           const kube_sched_node_t *node,
                                           kube_error_t *err) {
  snode_t *n = node ? ks_node_get(s, node->name) : NULL;
  if (!n)
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0, "node %s not found",
                          node && node->name ? node->name : "(null)");
  node_index(s, n, -1);
  ks_tindex_node(s, n, -1); /* the domains of its pods may change */
  node_clear_attrs(n);
  if (node_fill(s, n, node) < 0) {
    s->tindex.broken = true;
    node_clear_attrs(n);
    return kube_make_oom(err);
  }
  /* Extended resources are re-summed from the bound pods, since the set of
   * resources the node offers may have changed. */
  for (uint32_t i = 0; i < n->pods.n; i++) {
    spod_t *p = s->pods[n->pods.v[i]];
    for (uint32_t e = 0; e < p->n_ext; e++)
      for (uint32_t j = 0; j < n->n_ext; j++)
        if (n->ext_alloc[j].id == p->ext[e].id)
          n->ext_used[j] += p->ext[e].v;
  }
  ks_tindex_node(s, n, +1);
  if (node_index(s, n, +1) < 0)
    return kube_make_oom(err);
  ks_grid_update(s, n);
  s->max_dirty = true;
  return 0;
}

KUBE_EXPORT int kube_scheduler_remove_node(kube_scheduler_t *s,
                                           const char *name,
                                           kube_error_t *err) {
  snode_t *n = ks_node_get(s, name);
  if (!n)
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0, "node %s not found",
                          name ? name : "(null)");
  while (n->pods.n)
    ks_pod_unbind(s, s->pods[n->pods.v[n->pods.n - 1]]);
  node_index(s, n, -1);
  grid_unlink(s, n);
  ks_strmap_del(&s->node_by_name, n->name);
  s->nodes[n->slot] = NULL;
  /* The slot array only grows; a failed push just leaks the slot. */
  ks_vec_push(&s->free_nodes, n->slot);
  s->n_nodes--;
  node_free(n);
  s->max_dirty = true;
  return 0;
}

KUBE_EXPORT int kube_scheduler_node_requested(const kube_scheduler_t *s,
                                              const char *name,
                                              kube_sched_resources_t *out,
                                              kube_error_t *err) {
  const snode_t *n = ks_node_get(s, name);
  if (!n)
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0, "node %s not found",
                          name ? name : "(null)");
  memset(out, 0, sizeof(*out));
  out->cpu_milli = n->used[R_CPU];
  out->memory = n->used[R_MEM];
  out->ephemeral_storage = n->used[R_EPH];
  out->pods = n->used[R_PODS];
  return 0;
}

/* ---- pods ---- */

static void node_account(snode_t *n, const spod_t *p, int sign) {
  for (int r = 0; r < R_N; r++)
    n->used[r] += sign * p->req[r];
  n->nz_used[0] += sign * p->nz[0];
  n->nz_used[1] += sign * p->nz[1];
  for (uint32_t e = 0; e < p->n_ext; e++)
    for (uint32_t j = 0; j < n->n_ext; j++)
      if (n->ext_alloc[j].id == p->ext[e].id)
        n->ext_used[j] += sign * p->ext[e].v;
}

int ks_pod_bind_compiled(kube_scheduler_t *s, const cpod_t *cp, const char *key,
                         uint32_t node_slot, spod_t **out, kube_error_t *err) {
  uint32_t dummy;
  if (ks_strmap_get(&s->pod_by_key, key, &dummy))
    return kube_error_set(err, KUBE_REASON_ALREADY_EXISTS, 0,
                          "pod %s is already bound", key);
  snode_t *n = s->nodes[node_slot];
  spod_t *p = calloc(1, sizeof(*p));
  if (!p)
    return kube_make_oom(err);
  p->aux.chunk_size = 512;
  p->key = strdup(key);
  p->ns = cp->ns;
  p->node = node_slot;
  p->priority = cp->src->priority;
  memcpy(p->req, cp->req, sizeof(p->req));
  p->nz[0] = cp->nz[0];
  p->nz[1] = cp->nz[1];
  p->n_ext = cp->n_ext;
  p->n_labels = cp->n_labels;
  p->n_ports = cp->n_ports;
  p->anti_pos = NONE;
  if (!p->key)
    goto oom;
  if (p->n_ext &&
      !(p->ext = ks_arena_dup(&p->aux, cp->ext, p->n_ext * sizeof(ext_res_t))))
    goto oom;
  if (p->n_labels) {
    p->labels = malloc(p->n_labels * sizeof(lab_t));
    p->label_pos = malloc(p->n_labels * sizeof(uint32_t));
    if (!p->labels || !p->label_pos)
      goto oom;
    memcpy(p->labels, cp->labels, p->n_labels * sizeof(lab_t));
  }
  if (p->n_ports && !(p->ports = ks_arena_dup(&p->aux, cp->ports,
                                              p->n_ports * sizeof(sport_t))))
    goto oom;
  if (cp->n_anti) {
    /* The terms must outlive the scratch arena: recompile into the pod. */
    p->anti = ks_arena_alloc(&p->aux, cp->n_anti * sizeof(cpterm_t));
    if (!p->anti)
      goto oom;
    for (uint32_t i = 0; i < cp->n_anti; i++)
      if (ks_compile_pterm(&s->in, &p->aux, &cp->src->pod_anti_affinity[i],
                           p->ns, 0, &p->anti[i]) < 0)
        goto oom;
    p->n_anti = cp->n_anti;
  }
  uint32_t n_sym = cp->n_aff + cp->n_paff + cp->n_panti;
  if (n_sym) {
    const kube_sched_pod_t *src = cp->src;
    p->sym = ks_arena_alloc(&p->aux, n_sym * sizeof(cpterm_t));
    if (!p->sym)
      goto oom;
    for (uint32_t i = 0; i < n_sym; i++) {
      const kube_sched_pod_affinity_term_t *t;
      int32_t w;
      if (i < cp->n_aff) {
        t = &src->pod_affinity[i];
        w = 1;
      } else if (i < cp->n_aff + cp->n_paff) {
        t = &src->preferred_pod_affinity[i - cp->n_aff].term;
        w = src->preferred_pod_affinity[i - cp->n_aff].weight;
      } else {
        t = &src->preferred_pod_anti_affinity[i - cp->n_aff - cp->n_paff].term;
        w = -src->preferred_pod_anti_affinity[i - cp->n_aff - cp->n_paff]
                 .weight;
      }
      if (ks_compile_pterm(&s->in, &p->aux, t, p->ns, w, &p->sym[i]) < 0)
        goto oom;
    }
    p->n_sym = n_sym;
  }
  p->sym_pos = NONE;
  /* Reserve every growth before touching shared state, so that a failure
   * leaves the scheduler unchanged and the commit below cannot fail. */
  if (n->n_ports + p->n_ports > n->cap_ports) {
    uint32_t ncap = (n->n_ports + p->n_ports) * 2;
    sport_t *np = realloc(n->ports, ncap * sizeof(sport_t));
    if (!np)
      goto oom;
    n->ports = np;
    n->cap_ports = ncap;
  }
  if (!s->free_pods.n && s->n_pod_slots == s->cap_pods) {
    uint32_t ncap = s->cap_pods ? s->cap_pods * 2 : 256;
    spod_t **np = realloc(s->pods, ncap * sizeof(*np));
    if (!np)
      goto oom;
    s->pods = np;
    s->cap_pods = ncap;
  }
  if (ks_vec_reserve(&n->pods, n->pods.n + 1) < 0 ||
      (p->n_anti && ks_vec_reserve(&s->anti_pods, s->anti_pods.n + 1) < 0) ||
      (p->n_sym && ks_vec_reserve(&s->sym_pods, s->sym_pods.n + 1) < 0))
    goto oom;
  for (uint32_t i = 0; i < p->n_labels; i++) {
    vec_u32_t *post =
        posting(&s->pod_label_idx, &s->pod_post, &s->n_pod_post,
                &s->cap_pod_post, labkey(p->labels[i].k, p->labels[i].v));
    if (!post || ks_vec_reserve(post, post->n + 1) < 0)
      goto oom;
  }
  p->slot =
      s->free_pods.n ? s->free_pods.v[s->free_pods.n - 1] : s->n_pod_slots;
  if (ks_strmap_put(&s->pod_by_key, p->key, p->slot) < 0)
    goto oom;
  /* Commit: nothing below allocates. */
  if (s->free_pods.n)
    s->free_pods.n--;
  else
    s->n_pod_slots++;
  s->pods[p->slot] = p;
  ks_vec_push(&n->pods, p->slot);
  p->pos_in_node = n->pods.n - 1;
  for (uint32_t i = 0; i < p->n_labels; i++) {
    uint32_t *idx = ks_u64map_find(&s->pod_label_idx,
                                   labkey(p->labels[i].k, p->labels[i].v));
    vec_u32_t *post = &s->pod_post[*idx];
    ks_vec_push(post, p->slot);
    p->label_pos[i] = post->n - 1;
  }
  if (p->n_anti) {
    ks_vec_push(&s->anti_pods, p->slot);
    p->anti_pos = s->anti_pods.n - 1;
  }
  if (p->n_sym) {
    ks_vec_push(&s->sym_pods, p->slot);
    p->sym_pos = s->sym_pods.n - 1;
  }
  node_account(n, p, +1);
  ks_tindex_pod(s, p, n, +1);
  if (p->n_ports)
    memcpy(n->ports + n->n_ports, p->ports, p->n_ports * sizeof(sport_t));
  n->n_ports += p->n_ports;
  ks_grid_update(s, n);
  s->n_pods++;
  if (out)
    *out = p;
  return 0;
oom:
  pod_free(p);
  return kube_make_oom(err);
}

void ks_pod_unbind(kube_scheduler_t *s, spod_t *p) {
  snode_t *n = s->nodes[p->node];
  ks_tindex_pod(s, p, n, -1);
  uint32_t last = n->pods.v[n->pods.n - 1];
  n->pods.v[p->pos_in_node] = last;
  s->pods[last]->pos_in_node = p->pos_in_node;
  n->pods.n--;
  for (uint32_t i = 0; i < p->n_labels; i++) {
    uint32_t *idx = ks_u64map_find(&s->pod_label_idx,
                                   labkey(p->labels[i].k, p->labels[i].v));
    vec_u32_t *post = &s->pod_post[*idx];
    uint32_t moved = post->v[post->n - 1];
    post->v[p->label_pos[i]] = moved;
    spod_t *q = s->pods[moved];
    for (uint32_t j = 0; j < q->n_labels; j++)
      if (q->labels[j].k == p->labels[i].k) {
        q->label_pos[j] = p->label_pos[i];
        break;
      }
    post->n--;
  }
  if (p->anti_pos != NONE) {
    uint32_t moved = s->anti_pods.v[s->anti_pods.n - 1];
    s->anti_pods.v[p->anti_pos] = moved;
    s->pods[moved]->anti_pos = p->anti_pos;
    s->anti_pods.n--;
  }
  if (p->sym_pos != NONE) {
    uint32_t moved = s->sym_pods.v[s->sym_pods.n - 1];
    s->sym_pods.v[p->sym_pos] = moved;
    s->pods[moved]->sym_pos = p->sym_pos;
    s->sym_pods.n--;
  }
  node_account(n, p, -1);
  for (uint32_t i = 0; i < p->n_ports; i++)
    for (uint32_t j = 0; j < n->n_ports; j++)
      if (n->ports[j].port == p->ports[i].port &&
          n->ports[j].proto == p->ports[i].proto &&
          n->ports[j].ip == p->ports[i].ip) {
        n->ports[j] = n->ports[--n->n_ports];
        break;
      }
  ks_grid_update(s, n);
  ks_strmap_del(&s->pod_by_key, p->key);
  s->pods[p->slot] = NULL;
  ks_vec_push(&s->free_pods, p->slot); /* on OOM the slot is only leaked */
  s->n_pods--;
  pod_free(p);
}

KUBE_EXPORT int kube_scheduler_add_pod(kube_scheduler_t *s,
                                       const kube_sched_pod_t *pod,
                                       const char *node_name,
                                       kube_error_t *err) {
  snode_t *n = ks_node_get(s, node_name);
  if (!n)
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0, "node %s not found",
                          node_name ? node_name : "(null)");
  cpod_t cp;
  ks_arena_reset(&s->scratch);
  if (ks_compile_pod(s, pod, &cp, err) < 0)
    return -1;
  char key[512];
  snprintf(key, sizeof(key), "%s/%s",
           pod->namespace_ ? pod->namespace_ : "default", pod->name);
  return ks_pod_bind_compiled(s, &cp, key, n->slot, NULL, err);
}

KUBE_EXPORT int kube_scheduler_update_pod(kube_scheduler_t *s,
                                          const kube_sched_pod_t *pod,
                                          const char *node_name,
                                          kube_error_t *err) {
  snode_t *n = ks_node_get(s, node_name);
  if (!n)
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0, "node %s not found",
                          node_name ? node_name : "(null)");
  cpod_t cp;
  ks_arena_reset(&s->scratch);
  if (ks_compile_pod(s, pod, &cp, err) < 0)
    return -1;
  char key[512];
  uint32_t slot;
  snprintf(key, sizeof(key), "%s/%s",
           pod->namespace_ ? pod->namespace_ : "default", pod->name);
  if (ks_strmap_get(&s->pod_by_key, key, &slot))
    ks_pod_unbind(s, s->pods[slot]);
  return ks_pod_bind_compiled(s, &cp, key, n->slot, NULL, err);
}

KUBE_EXPORT int kube_scheduler_remove_pod(kube_scheduler_t *s,
                                          const char *namespace_,
                                          const char *name, kube_error_t *err) {
  char key[512];
  snprintf(key, sizeof(key), "%s/%s", namespace_ ? namespace_ : "default",
           name ? name : "");
  uint32_t slot;
  if (!ks_strmap_get(&s->pod_by_key, key, &slot))
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0, "pod %s not found",
                          key);
  ks_pod_unbind(s, s->pods[slot]);
  return 0;
}
