/* SPDX-License-Identifier: Apache-2.0 */
/*
 * namespaceSelector of pod (anti-)affinity terms: the binding loop keeps
 * the labels of every Namespace (from its namespace informer) and
 * resolves a non-empty selector to the namespaces it selects, merged with
 * the term's `namespaces` list, when it converts a pod (pending or bound),
 * as kube-scheduler's InterPodAffinity does with its namespace lister.  An
 * empty selector ({}) selects every namespace (all_namespaces).
 * Namespaces created later are seen by the pods converted after them.
 */
#include <json-c/json.h>

#include "api/api-private.h"
#include "core/util.h"

#include "scheduler/convert.h"

struct ns_ent {
  size_t n;
  char **kv; /* key, value, key, value, ... */
};

static void ns_ent_free(void *p) {
  struct ns_ent *e = p;
  if (!e)
    return;
  for (size_t i = 0; i < 2 * e->n; i++)
    free(e->kv[i]);
  free(e->kv);
  free(e);
}

void ks_ns_cache_put(struct ks_ns_cache *c, const kube_object_t *ns) {
  const char *name = kube_object_name(ns);
  json_object *labels = kube_json_get(kube_object_json(ns), "metadata.labels");
  size_t n = labels && json_object_is_type(labels, json_type_object)
                 ? (size_t)json_object_object_length(labels)
                 : 0;
  struct ns_ent *e = calloc(1, sizeof *e);
  if (!name || !e || !(e->kv = calloc(2 * n + 1, sizeof(char *)))) {
    ns_ent_free(e);
    return;
  }
  if (n) {
    json_object_object_foreach(labels, k, v) {
      const char *s = json_object_get_string(v);
      e->kv[2 * e->n] = strdup(k);
      e->kv[2 * e->n + 1] = strdup(s ? s : "");
      if (!e->kv[2 * e->n] || !e->kv[2 * e->n + 1]) {
        e->n++;
        ns_ent_free(e);
        return;
      }
      e->n++;
    }
  }
  void *old = NULL;
  if (!strmap_put(&c->map, name, e, &old)) {
    ns_ent_free(e);
    return;
  }
  ns_ent_free(old);
}

void ks_ns_cache_del(struct ks_ns_cache *c, const char *name) {
  if (c->map.n)
    ns_ent_free(strmap_remove(&c->map, name));
}

void ks_ns_cache_clear(struct ks_ns_cache *c) {
  strmap_clear(&c->map, ns_ent_free);
}

static const char *ns_lookup(void *ctx, const char *key) {
  const struct ns_ent *e = ctx;
  for (size_t i = 0; i < e->n; i++)
    if (streq(e->kv[2 * i], key))
      return e->kv[2 * i + 1];
  return NULL;
}

/* One term: out (room for the term's namespaces + every cached one) gets
 * the union. */
static void resolve(kube_sched_pod_affinity_term_t *t,
                    const kube_pod_affinity_term_t *src,
                    const struct ks_ns_cache *c, const char **out) {
  size_t n = 0;
  for (size_t i = 0; i < src->n_namespaces; i++)
    out[n++] = src->namespaces[i];
  STRMAP_FOREACH(&c->map, i, e) {
    if (!kube_selector_matches(src->namespace_selector, ns_lookup, e->value))
      continue;
    bool dup = false;
    for (size_t k = 0; k < src->n_namespaces && !dup; k++)
      dup = streq(src->namespaces[k], e->key);
    if (!dup)
      out[n++] = e->key;
  }
  t->all_namespaces = false;
  t->namespaces = out;
  t->n_namespaces = n;
  /* Selects nothing: an impossible namespace, not "the pod's own". */
  if (!n) {
    out[0] = "";
    t->n_namespaces = 1;
  }
}

static bool needs(const kube_pod_affinity_term_t *t) {
  return t->namespace_selector && !kube_selector_empty(t->namespace_selector);
}

int ks_pod_resolve_ns(struct ks_pod_conv *pc, const struct ks_ns_cache *c,
                      kube_error_t *err) {
  const kube_affinity_t *af = &pc->spec.affinity;
  const kube_pod_affinity_term_t *lists[4] = {
      af->pod_affinity_required, af->pod_anti_affinity_required,
      af->pod_affinity_preferred, af->pod_anti_affinity_preferred};
  size_t counts[4] = {
      af->n_pod_affinity_required, af->n_pod_anti_affinity_required,
      af->n_pod_affinity_preferred, af->n_pod_anti_affinity_preferred};
  size_t room = 0;
  for (int l = 0; l < 4; l++)
    for (size_t i = 0; i < counts[l]; i++)
      if (needs(&lists[l][i]))
        room += lists[l][i].n_namespaces + c->map.n + 1;
  if (!room)
    return 0;
  const char **mem = calloc(room, sizeof(char *));
  if (!mem)
    return kube_make_oom(err);
  free(pc->ns_mem);
  pc->ns_mem = mem;
  kube_sched_pod_t *p = &pc->pod;
  /* The scheduler's terms are in pc->mem, in the spec's order. */
  kube_sched_pod_affinity_term_t *req[2] = {
      (kube_sched_pod_affinity_term_t *)p->pod_affinity,
      (kube_sched_pod_affinity_term_t *)p->pod_anti_affinity};
  kube_sched_weighted_pod_affinity_term_t *pref[2] = {
      (kube_sched_weighted_pod_affinity_term_t *)p->preferred_pod_affinity,
      (kube_sched_weighted_pod_affinity_term_t *)
          p->preferred_pod_anti_affinity};
  for (int l = 0; l < 4; l++)
    for (size_t i = 0; i < counts[l]; i++) {
      if (!needs(&lists[l][i]))
        continue;
      kube_sched_pod_affinity_term_t *t =
          l < 2 ? &req[l][i] : &pref[l - 2][i].term;
      resolve(t, &lists[l][i], c, mem);
      mem += lists[l][i].n_namespaces + c->map.n + 1;
    }
  return 0;
}
