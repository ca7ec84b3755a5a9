/* SPDX-License-Identifier: Apache-2.0 */
/* Turning the public pod struct into interned, sorted, compact form, and
 * label selector evaluation on interned labels. */
#include <stdlib.h>

#include "scheduler/internal.h"

int ks_lab_cmp(const void *a, const void *b) {
  const lab_t *x = a, *y = b;
  return x->k < y->k ? -1 : x->k > y->k;
}

uint32_t ks_lab_find(const lab_t *labels, uint32_t n, uint32_t key) {
  if (n <= 8) {
    for (uint32_t i = 0; i < n; i++)
      if (labels[i].k == key)
        return labels[i].v;
    return NONE;
  }
  uint32_t lo = 0, hi = n;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (labels[mid].k < key)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && labels[lo].k == key ? labels[lo].v : NONE;
}

static bool parse_i64(const char *s, int64_t *out) {
  if (!s || !*s)
    return false;
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || *end)
    return false;
  *out = v;
  return true;
}

static bool req_matches(const creq_t *r, uint32_t v, const interner_t *in) {
  bool has = v != NONE;
  switch (r->op) {
  case KUBE_SELECTOR_EQUALS:
  case KUBE_SELECTOR_IN:
    if (!has)
      return false;
    for (uint32_t i = 0; i < r->n; i++)
      if (r->vals[i] == v)
        return true;
    return false;
  case KUBE_SELECTOR_NOT_EQUALS:
  case KUBE_SELECTOR_NOT_IN:
    if (!has)
      return true;
    for (uint32_t i = 0; i < r->n; i++)
      if (r->vals[i] == v)
        return false;
    return true;
  case KUBE_SELECTOR_EXISTS:
    return has;
  case KUBE_SELECTOR_DOES_NOT_EXIST:
    return !has;
  case KUBE_SELECTOR_GT:
  case KUBE_SELECTOR_LT: {
    int64_t x;
    if (!has || !parse_i64(in->strs[v], &x))
      return false;
    return r->op == KUBE_SELECTOR_GT ? x > r->num : x < r->num;
  }
  }
  return false;
}

bool ks_labels_match(const creq_t *reqs, uint32_t n, const lab_t *labels,
                     uint32_t n_labels, const interner_t *in) {
  for (uint32_t i = 0; i < n; i++)
    if (!req_matches(&reqs[i], ks_lab_find(labels, n_labels, reqs[i].key), in))
      return false;
  return true;
}

bool ks_pterm_matches_pod(const cpterm_t *t, uint32_t ns, const lab_t *labels,
                          uint32_t n_labels, const interner_t *in) {
  if (!t->all_ns) {
    bool ok = false;
    for (uint32_t i = 0; i < t->n_ns && !ok; i++)
      ok = t->ns[i] == ns;
    if (!ok)
      return false;
  }
  return ks_labels_match(t->sel, t->n_sel, labels, n_labels, in);
}

static int compile_reqs(interner_t *in, arena_t *a,
                        const kube_selector_requirement_t *src, size_t n,
                        creq_t **out) {
  *out = NULL;
  if (!n)
    return 0;
  creq_t *r = ks_arena_alloc(a, n * sizeof(*r));
  if (!r)
    return -1;
  for (size_t i = 0; i < n; i++) {
    r[i].key = ks_intern(in, src[i].key);
    r[i].op = src[i].op;
    r[i].n = (uint32_t)src[i].n_values;
    if (r[i].key == NONE)
      return -1;
    if (r[i].n) {
      r[i].vals = ks_arena_alloc(a, r[i].n * sizeof(uint32_t));
      if (!r[i].vals)
        return -1;
      for (uint32_t j = 0; j < r[i].n; j++)
        if ((r[i].vals[j] = ks_intern(in, src[i].values[j])) == NONE)
          return -1;
    }
    if ((r[i].op == KUBE_SELECTOR_GT || r[i].op == KUBE_SELECTOR_LT) &&
        (src[i].n_values != 1 || !parse_i64(src[i].values[0], &r[i].num)))
      /* An invalid Gt/Lt operand matches nothing, as Kubernetes treats an
       * unparsable requirement. */
      r[i].op = KUBE_SELECTOR_IN, r[i].n = 0;
  }
  *out = r;
  return (int)n;
}

static int compile_nterm(interner_t *in, arena_t *a,
                         const kube_sched_node_selector_term_t *t,
                         cnterm_t *out) {
  if (compile_reqs(in, a, t->match_expressions, t->n_match_expressions,
                   &out->expr) < 0 ||
      compile_reqs(in, a, t->match_fields, t->n_match_fields, &out->fields) < 0)
    return -1;
  out->n_expr = (uint32_t)t->n_match_expressions;
  out->n_fields = (uint32_t)t->n_match_fields;
  return 0;
}

int ks_compile_pterm(interner_t *in, arena_t *a,
                     const kube_sched_pod_affinity_term_t *t, uint32_t pod_ns,
                     int32_t weight, cpterm_t *out) {
  if (compile_reqs(in, a, t->selector, t->n_selector, &out->sel) < 0)
    return -1;
  out->n_sel = (uint32_t)t->n_selector;
  out->all_ns = t->all_namespaces;
  out->weight = weight;
  if (t->n_namespaces) {
    out->ns = ks_arena_alloc(a, t->n_namespaces * sizeof(uint32_t));
    if (!out->ns)
      return -1;
    for (size_t i = 0; i < t->n_namespaces; i++)
      if ((out->ns[i] = ks_intern(in, t->namespaces[i])) == NONE)
        return -1;
    out->n_ns = (uint32_t)t->n_namespaces;
  } else {
    out->ns = ks_arena_dup(a, &pod_ns, sizeof(pod_ns));
    if (!out->ns)
      return -1;
    out->n_ns = 1;
  }
  out->topo_key = ks_intern(in, t->topology_key ? t->topology_key : "");
  return out->topo_key == NONE ? -1 : 0;
}

static int compile_pterms(interner_t *in, arena_t *a,
                          const kube_sched_pod_affinity_term_t *t,
                          const kube_sched_weighted_pod_affinity_term_t *wt,
                          size_t n, uint32_t ns, cpterm_t **out) {
  *out = NULL;
  if (!n)
    return 0;
  cpterm_t *r = ks_arena_alloc(a, n * sizeof(*r));
  if (!r)
    return -1;
  for (size_t i = 0; i < n; i++) {
    const kube_sched_pod_affinity_term_t *src = t ? &t[i] : &wt[i].term;
    if (ks_compile_pterm(in, a, src, ns, wt ? wt[i].weight : 0, &r[i]) < 0)
      return -1;
  }
  *out = r;
  return 0;
}

static int compile_labels(interner_t *in, arena_t *a,
                          const kube_sched_label_t *src, size_t n,
                          lab_t **out) {
  *out = NULL;
  if (!n)
    return 0;
  lab_t *l = ks_arena_alloc(a, n * sizeof(*l));
  if (!l)
    return -1;
  for (size_t i = 0; i < n; i++) {
    l[i].k = ks_intern(in, src[i].key);
    l[i].v = ks_intern(in, src[i].value);
    if (l[i].k == NONE || l[i].v == NONE)
      return -1;
  }
  qsort(l, n, sizeof(*l), ks_lab_cmp);
  *out = l;
  return 0;
}

static int64_t eff(int64_t req, int64_t lim) {
  if (req > 0)
    return req;
  return lim > 0 ? lim : 0;
}

bool ks_tolerates_taint(const cpod_t *cp, const staint_t *t) {
  for (uint32_t i = 0; i < cp->n_tol; i++) {
    const ctol_t *o = &cp->tol[i];
    if (o->effect != KUBE_TAINT_ANY && o->effect != t->effect)
      continue;
    if (o->key == 0 && o->op == KUBE_TOLERATION_EXISTS)
      return true;
    if (o->key != t->k)
      continue;
    if (o->op == KUBE_TOLERATION_EXISTS || o->value == t->v)
      return true;
  }
  return false;
}

int ks_compile_pod(kube_scheduler_t *s, const kube_sched_pod_t *pod, cpod_t *cp,
                   kube_error_t *err) {
  interner_t *in = &s->in;
  arena_t *a = &s->scratch;
  memset(cp, 0, sizeof(*cp));
  cp->src = pod;
  if (!pod->name || !*pod->name)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "scheduler: pod without a name");
  cp->ns = ks_intern(in, pod->namespace_ ? pod->namespace_ : "default");
  cp->node_name =
      pod->node_name && *pod->node_name ? ks_intern(in, pod->node_name) : NONE;
  if (cp->ns == NONE ||
      (pod->node_name && *pod->node_name && cp->node_name == NONE))
    goto oom;

  const kube_sched_resources_t *rq = &pod->requests, *lm = &pod->limits;
  cp->req[R_CPU] = eff(rq->cpu_milli, lm->cpu_milli);
  cp->req[R_MEM] = eff(rq->memory, lm->memory);
  cp->req[R_EPH] = eff(rq->ephemeral_storage, lm->ephemeral_storage);
  cp->req[R_PODS] = 1;
  cp->nz[0] = cp->req[R_CPU] ? cp->req[R_CPU] : NONZERO_CPU;
  cp->nz[1] = cp->req[R_MEM] ? cp->req[R_MEM] : NONZERO_MEM;

  size_t next = rq->n_extended + lm->n_extended;
  if (next) {
    cp->ext = ks_arena_alloc(a, next * sizeof(*cp->ext));
    if (!cp->ext)
      goto oom;
    for (size_t i = 0; i < rq->n_extended; i++) {
      if (rq->extended[i].value <= 0 || !rq->extended[i].name)
        continue;
      uint32_t id = ks_intern(in, rq->extended[i].name);
      if (id == NONE)
        goto oom;
      cp->ext[cp->n_ext++] = (ext_res_t){id, rq->extended[i].value};
    }
    for (size_t i = 0; i < lm->n_extended; i++) {
      if (lm->extended[i].value <= 0 || !lm->extended[i].name)
        continue;
      uint32_t id = ks_intern(in, lm->extended[i].name);
      if (id == NONE)
        goto oom;
      bool seen = false;
      for (uint32_t j = 0; j < cp->n_ext && !seen; j++)
        seen = cp->ext[j].id == id;
      if (!seen)
        cp->ext[cp->n_ext++] = (ext_res_t){id, lm->extended[i].value};
    }
  }

  if (compile_labels(in, a, pod->labels, pod->n_labels, &cp->labels) < 0 ||
      compile_labels(in, a, pod->node_selector, pod->n_node_selector,
                     &cp->sel) < 0)
    goto oom;
  cp->n_labels = (uint32_t)pod->n_labels;
  cp->n_sel = (uint32_t)pod->n_node_selector;

  if (pod->n_required_terms) {
    cp->terms = ks_arena_alloc(a, pod->n_required_terms * sizeof(cnterm_t));
    if (!cp->terms)
      goto oom;
    for (size_t i = 0; i < pod->n_required_terms; i++)
      if (compile_nterm(in, a, &pod->required_terms[i], &cp->terms[i]) < 0)
        goto oom;
    cp->n_terms = (uint32_t)pod->n_required_terms;
  }
  if (pod->n_preferred_terms) {
    cp->pref = ks_arena_alloc(a, pod->n_preferred_terms * sizeof(cnterm_t));
    cp->pref_w = ks_arena_alloc(a, pod->n_preferred_terms * sizeof(int32_t));
    if (!cp->pref || !cp->pref_w)
      goto oom;
    for (size_t i = 0; i < pod->n_preferred_terms; i++) {
      if (compile_nterm(in, a, &pod->preferred_terms[i].term, &cp->pref[i]) < 0)
        goto oom;
      cp->pref_w[i] = pod->preferred_terms[i].weight;
    }
    cp->n_pref = (uint32_t)pod->n_preferred_terms;
  }
  cp->has_node_affinity = cp->n_sel || cp->n_terms;

  if (pod->n_tolerations) {
    cp->tol = ks_arena_alloc(a, pod->n_tolerations * sizeof(ctol_t));
    if (!cp->tol)
      goto oom;
    for (size_t i = 0; i < pod->n_tolerations; i++) {
      const kube_sched_toleration_t *t = &pod->tolerations[i];
      cp->tol[i].key = ks_intern(in, t->key);
      cp->tol[i].value = ks_intern(in, t->value);
      cp->tol[i].op = t->op;
      cp->tol[i].effect = t->effect;
      if (cp->tol[i].key == NONE || cp->tol[i].value == NONE)
        goto oom;
    }
    cp->n_tol = (uint32_t)pod->n_tolerations;
    staint_t u = {s->unschedulable_key, 0, KUBE_TAINT_NO_SCHEDULE};
    cp->tolerates_unschedulable = ks_tolerates_taint(cp, &u);
  }

  if (pod->n_ports) {
    cp->ports = ks_arena_alloc(a, pod->n_ports * sizeof(sport_t));
    if (!cp->ports)
      goto oom;
    for (size_t i = 0; i < pod->n_ports; i++) {
      const kube_sched_port_t *p = &pod->ports[i];
      if (p->port <= 0)
        continue;
      sport_t *o = &cp->ports[cp->n_ports++];
      o->port = p->port;
      o->proto =
          p->protocol && *p->protocol ? ks_intern(in, p->protocol) : s->tcp;
      o->ip = p->host_ip && *p->host_ip ? ks_intern(in, p->host_ip) : s->any_ip;
      if (o->proto == NONE || o->ip == NONE)
        goto oom;
    }
  }

  if (pod->n_images) {
    cp->images = ks_arena_alloc(a, pod->n_images * sizeof(uint32_t));
    if (!cp->images)
      goto oom;
    for (size_t i = 0; i < pod->n_images; i++) {
      char buf[512];
      const char *nm = ks_normalize_image(pod->images[i], buf, sizeof(buf));
      if ((cp->images[i] = ks_intern(in, nm)) == NONE)
        goto oom;
    }
    cp->n_images = (uint32_t)pod->n_images;
  }

  if (compile_pterms(in, a, pod->pod_affinity, NULL, pod->n_pod_affinity,
                     cp->ns, &cp->aff) < 0 ||
      compile_pterms(in, a, pod->pod_anti_affinity, NULL,
                     pod->n_pod_anti_affinity, cp->ns, &cp->anti) < 0 ||
      compile_pterms(in, a, NULL, pod->preferred_pod_affinity,
                     pod->n_preferred_pod_affinity, cp->ns, &cp->paff) < 0 ||
      compile_pterms(in, a, NULL, pod->preferred_pod_anti_affinity,
                     pod->n_preferred_pod_anti_affinity, cp->ns,
                     &cp->panti) < 0)
    goto oom;
  cp->n_aff = (uint32_t)pod->n_pod_affinity;
  cp->n_anti = (uint32_t)pod->n_pod_anti_affinity;
  cp->n_paff = (uint32_t)pod->n_preferred_pod_affinity;
  cp->n_panti = (uint32_t)pod->n_preferred_pod_anti_affinity;
  cp->has_pod_affinity = cp->n_aff || cp->n_anti || s->anti_pods.n;
  if (pod->n_spread) {
    cp->spread = ks_arena_alloc(a, pod->n_spread * sizeof(cspread_t));
    if (!cp->spread)
      goto oom;
    for (size_t i = 0; i < pod->n_spread; i++) {
      const kube_sched_spread_constraint_t *c = &pod->spread[i];
      kube_sched_pod_affinity_term_t t = {.n_selector = c->n_selector,
                                          .selector = c->selector,
                                          .topology_key = c->topology_key};
      cspread_t *o = &cp->spread[i];
      if (ks_compile_pterm(in, a, &t, cp->ns, c->max_skew > 0 ? c->max_skew : 1,
                           &o->t) < 0)
        goto oom;
      o->hard = !c->schedule_anyway;
      o->min_domains = c->min_domains;
      o->ignore_affinity = c->ignore_node_affinity;
      o->honor_taints = c->honor_node_taints;
      cp->n_hard_spread += o->hard;
    }
    cp->n_spread = (uint32_t)pod->n_spread;
  }
  return 0;
oom:
  return kube_make_oom(err);
}
