/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The configMaps and Secrets pods read (volumes, projected sources, env,
 * envFrom, imagePullSecrets), from one of two places:
 *
 *  - shared: the process's cluster-wide configmaps and secrets informers
 *    (an agent inside `kubed server`: one cache, no request per object);
 *  - per object: as the kubelet's watch-based managers, one informer per
 *    object a pod of the node refers to, listing and watching its
 *    namespace with fieldSelector metadata.name=NAME, kept while a pod
 *    refers to it.  That is all the Node authorizer lets a node read; an
 *    agent joined as system:node:NAME runs this way.
 *
 * A pod's containers start only once every watch it needs has listed (the
 * kubelet waits for its caches the same way); the watch's first list and
 * each change later sync the pods that read the object again.
 */
#include "node/agent.h"

struct nd_src {
  kube_node_agent_t *a;
  char *key; /* "configmap/NS/NAME" or "secret/NS/NAME" */
  char *ns, *name;
  bool secret;
  unsigned refs;
  kube_informer_t *inf;
};

static char *src_key(bool secret, const char *ns, const char *name) {
  char *k = NULL;
  if (asprintf(&k, "%s/%s/%s", secret ? "secret" : "configmap", ns, name) < 0)
    return NULL;
  return k;
}

static struct nd_src *src_find(kube_node_agent_t *a, const char *key) {
  for (size_t i = 0; i < a->n_srcs; i++)
    if (streq(a->srcs[i]->key, key))
      return a->srcs[i];
  return NULL;
}

/* Sync again the pods that read ns/name (kind "configmap" or "secret"). */
void nd_sources_changed(kube_node_agent_t *a, bool secret, const char *ns,
                        const char *name) {
  if (!ns || !name)
    return;
  const char *kind = secret ? "secret" : "configmap";
  char ref[600], key[900];
  snprintf(ref, sizeof ref, "%s/%s", kind, name);
  snprintf(key, sizeof key, "%s/%s/%s", kind, ns, name);
  for (size_t i = 0; i < a->n_pods; i++) {
    struct nd_pod *p = a->pods_v[i];
    if (!streq(p->ns, ns))
      continue;
    bool reads = false;
    for (size_t k = 0; k < p->n_refs && !reads; k++)
      reads = streq(p->refs[k], ref);
    for (size_t k = 0; k < p->n_src_keys && !reads; k++)
      reads = streq(p->src_keys[k], key);
    if (!reads)
      continue;
    for (size_t c = 0; c < p->n_ctrs; c++)
      p->ctrs[c].create_retry_ms = 0;
    nd_pod_enqueue(a, p, 0);
  }
}

static void src_event(struct nd_src *s) {
  nd_sources_changed(s->a, s->secret, s->ns, s->name);
}

static void on_add(const char *key, const kube_object_t *obj, void *arg) {
  src_event(arg);
}

static void on_update(const char *key, const kube_object_t *old_obj,
                      const kube_object_t *obj, void *arg) {
  src_event(arg);
}

static void on_delete(const char *key, const kube_object_t *obj, void *arg) {
  src_event(arg);
}

static void on_synced(void *arg) {
  src_event(arg);
}

static void src_free(struct nd_src *s) {
  if (!s)
    return;
  kube_informer_free(s->inf);
  free(s->key);
  free(s->ns);
  free(s->name);
  free(s);
}

static struct nd_src *src_new(kube_node_agent_t *a, const char *key,
                              bool secret, const char *ns, const char *name) {
  if (a->n_srcs == a->cap_srcs) {
    size_t nc = a->cap_srcs ? a->cap_srcs * 2 : 16;
    struct nd_src **v = realloc(a->srcs, nc * sizeof *v);
    if (!v)
      return NULL;
    a->srcs = v;
    a->cap_srcs = nc;
  }
  struct nd_src *s = calloc(1, sizeof *s);
  cleanup_free char *path = NULL, *fs = NULL;
  if (!s || !(s->key = strdup(key)) || !(s->ns = strdup(ns)) ||
      !(s->name = strdup(name)) ||
      asprintf(&path, "/api/v1/namespaces/%s/%s", ns,
               secret ? "secrets" : "configmaps") < 0 ||
      asprintf(&fs, "metadata.name=%s", name) < 0) {
    src_free(s);
    return NULL;
  }
  s->a = a;
  s->secret = secret;
  kube_informer_options_t io = {
      .struct_size = sizeof io, .path = path, .field_selector = fs};
  kube_informer_handlers_t h = {.struct_size = sizeof h,
                                .on_add = on_add,
                                .on_update = on_update,
                                .on_delete = on_delete,
                                .on_synced = on_synced};
  kube_error_t err = KUBE_ERROR_INIT;
  if (!(s->inf = kube_informer_new(a->loop, &a->tp, &io, &h, s, &err)) ||
      kube_informer_start(s->inf, &err) < 0) {
    log_warn("node %s: watch %s: %s", a->cfg.node_name, key, err.message);
    kube_error_clear(&err);
    src_free(s);
    return NULL;
  }
  a->srcs[a->n_srcs++] = s;
  return s;
}

static void src_release(kube_node_agent_t *a, const char *key) {
  for (size_t i = 0; i < a->n_srcs; i++) {
    struct nd_src *s = a->srcs[i];
    if (!streq(s->key, key))
      continue;
    if (--s->refs == 0) {
      a->srcs[i] = a->srcs[--a->n_srcs];
      src_free(s);
    }
    return;
  }
}

/* ---- what a pod refers to ---- */

struct keys {
  char **v;
  size_t n, cap;
  const char *ns;
  bool oom;
};

static void keys_add(struct keys *k, bool secret, const char *name) {
  if (!name || !*name)
    return;
  char *key = src_key(secret, k->ns, name);
  if (!key) {
    k->oom = true;
    return;
  }
  for (size_t i = 0; i < k->n; i++)
    if (streq(k->v[i], key)) {
      free(key);
      return;
    }
  if (k->n == k->cap) {
    size_t nc = k->cap ? k->cap * 2 : 8;
    char **v = realloc(k->v, nc * sizeof *v);
    if (!v) {
      free(key);
      k->oom = true;
      return;
    }
    k->v = v;
    k->cap = nc;
  }
  k->v[k->n++] = key;
}

static size_t alen(json_object *a) {
  return json_object_is_type(a, json_type_array) ? json_object_array_length(a)
                                                 : 0;
}

static void container_keys(struct keys *k, json_object *cs) {
  for (size_t i = 0; i < alen(cs); i++) {
    json_object *c = json_object_array_get_idx(cs, i);
    json_object *env = kube_json_get(c, "env");
    for (size_t j = 0; j < alen(env); j++) {
      json_object *e = json_object_array_get_idx(env, j);
      keys_add(k, true, kube_json_get_string(e, "valueFrom.secretKeyRef.name"));
      keys_add(k, false,
               kube_json_get_string(e, "valueFrom.configMapKeyRef.name"));
    }
    json_object *ef = kube_json_get(c, "envFrom");
    for (size_t j = 0; j < alen(ef); j++) {
      json_object *e = json_object_array_get_idx(ef, j);
      keys_add(k, true, kube_json_get_string(e, "secretRef.name"));
      keys_add(k, false, kube_json_get_string(e, "configMapRef.name"));
    }
  }
}

/* The sources of a pod spec, as the Node authorizer's graph has them. */
static void pod_keys(struct keys *k, json_object *spec) {
  json_object *vols = kube_json_get(spec, "volumes");
  for (size_t i = 0; i < alen(vols); i++) {
    json_object *v = json_object_array_get_idx(vols, i);
    keys_add(k, true, kube_json_get_string(v, "secret.secretName"));
    keys_add(k, false, kube_json_get_string(v, "configMap.name"));
    json_object *srcs = kube_json_get(v, "projected.sources");
    for (size_t j = 0; j < alen(srcs); j++) {
      json_object *s = json_object_array_get_idx(srcs, j);
      keys_add(k, true, kube_json_get_string(s, "secret.name"));
      keys_add(k, false, kube_json_get_string(s, "configMap.name"));
    }
  }
  container_keys(k, kube_json_get(spec, "initContainers"));
  container_keys(k, kube_json_get(spec, "containers"));
  json_object *ips = kube_json_get(spec, "imagePullSecrets");
  for (size_t i = 0; i < alen(ips); i++)
    keys_add(k, true,
             kube_json_get_string(json_object_array_get_idx(ips, i), "name"));
}

static bool in(char **v, size_t n, const char *key) {
  for (size_t i = 0; i < n; i++)
    if (streq(v[i], key))
      return true;
  return false;
}

bool nd_sources_ready(kube_node_agent_t *a, struct nd_pod *p,
                      json_object *spec) {
  if (!a->cfg.per_object_reads)
    return true;
  struct keys k = {.ns = p->ns};
  pod_keys(&k, spec);
  if (k.oom) {
    for (size_t i = 0; i < k.n; i++)
      free(k.v[i]);
    free(k.v);
    return false;
  }
  /* Take the new ones first, then let go of what the pod no longer reads
   * (an object still read stays watched throughout). */
  bool ready = true;
  for (size_t i = 0; i < k.n; i++) {
    if (in(p->src_keys, p->n_src_keys, k.v[i])) {
      struct nd_src *s = src_find(a, k.v[i]);
      ready = ready && s && kube_informer_synced(s->inf);
      continue;
    }
    struct nd_src *s = src_find(a, k.v[i]);
    if (!s) {
      const char *rest = strchr(k.v[i], '/') + 1;
      const char *slash = strchr(rest, '/');
      s = src_new(a, k.v[i], str_has_prefix(k.v[i], "secret/"), p->ns,
                  slash + 1);
    }
    if (!s) {
      /* not taken: dropped from the list, tried again next sync */
      free(k.v[i]);
      k.v[i] = k.v[--k.n];
      i--;
      ready = false;
      continue;
    }
    s->refs++;
    ready = ready && kube_informer_synced(s->inf);
  }
  for (size_t i = 0; i < p->n_src_keys; i++) {
    if (!in(k.v, k.n, p->src_keys[i]))
      src_release(a, p->src_keys[i]);
    free(p->src_keys[i]);
  }
  free(p->src_keys);
  p->src_keys = k.v;
  p->n_src_keys = k.n;
  return ready;
}

void nd_sources_release(kube_node_agent_t *a, struct nd_pod *p) {
  for (size_t i = 0; i < p->n_src_keys; i++) {
    src_release(a, p->src_keys[i]);
    free(p->src_keys[i]);
  }
  free(p->src_keys);
  p->src_keys = NULL;
  p->n_src_keys = 0;
}

const kube_object_t *nd_source_get(kube_node_agent_t *a, bool secret,
                                   const char *ns, const char *name) {
  char key[600];
  snprintf(key, sizeof key, "%s/%s", ns, name);
  if (!a->cfg.per_object_reads)
    return kube_informer_get(secret ? a->secrets : a->configmaps, key);
  cleanup_free char *k = src_key(secret, ns, name);
  struct nd_src *s = k ? src_find(a, k) : NULL;
  return s ? kube_informer_get(s->inf, key) : NULL;
}

size_t nd_sources_watched(const kube_node_agent_t *a) {
  return a->n_srcs;
}

void nd_sources_free(kube_node_agent_t *a) {
  for (size_t i = 0; i < a->n_srcs; i++)
    src_free(a->srcs[i]);
  free(a->srcs);
  a->srcs = NULL;
  a->n_srcs = a->cap_srcs = 0;
}
