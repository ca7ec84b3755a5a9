/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The garbage collector, after kube-controller-manager's: informers on
 * every kind build the ownerReferences graph (the GraphBuilder); an object
 * whose owners all vanished is deleted (background, foreground or orphan
 * as its own finalizers say); an owner deleted in the foreground
 * (foregroundDeletion finalizer) waits for the dependents whose
 * references block it; an owner deleted with the orphan finalizer first
 * removes itself from its dependents' references.  Decisions are taken on
 * live reads (GET) of the object and its owners, never on the graph
 * alone, so a lagging cache deletes nothing it should not.
 */
#include "controller/gc.h"

/* ------------------------------------------------------------------------ */
/* Nodes                                                                     */
/* ------------------------------------------------------------------------ */

static void owners_free(struct gowner *o, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(o[i].uid);
    free(o[i].api_version);
    free(o[i].kind);
    free(o[i].name);
  }
  free(o);
}

static void node_free(void *v) {
  struct gnode *n = v;
  if (!n)
    return;
  free(n->uid);
  free(n->api_version);
  free(n->kind);
  free(n->ns);
  free(n->name);
  owners_free(n->owners, n->n_owners);
  free(n->deps);
  strmap_clear(&n->dep_pos, NULL);
  free(n);
}

struct gnode *ctl_gc_node(struct gc *gc, const char *uid) {
  return strmap_get(&gc->nodes, uid);
}

void ctl_gc_enqueue_delete(struct gc *gc, const char *uid) {
  kube_controller_enqueue(gc->del.c, uid, NULL);
}

/* Up to this many dependents an owner's list is scanned; above, indexed. */
#define GC_DEP_SCAN 16

static void set_pos(struct gnode *owner, size_t i) {
  if (owner->dep_pos.n || owner->n_deps > GC_DEP_SCAN)
    strmap_put(&owner->dep_pos, owner->deps[i]->uid, (void *)(uintptr_t)(i + 1),
               NULL);
}

/* The index of dep in owner->deps, or -1. */
static ssize_t dep_index(const struct gnode *owner, const struct gnode *dep) {
  if (owner->dep_pos.n) {
    uintptr_t i = (uintptr_t)strmap_get(&owner->dep_pos, dep->uid);
    return i && owner->deps[i - 1] == dep ? (ssize_t)i - 1 : -1;
  }
  for (size_t i = 0; i < owner->n_deps; i++)
    if (owner->deps[i] == dep)
      return (ssize_t)i;
  return -1;
}

static void add_dep(struct gnode *owner, struct gnode *dep) {
  if (dep_index(owner, dep) >= 0)
    return;
  if (owner->n_deps == owner->cap_deps) {
    size_t cap = owner->cap_deps ? 2 * owner->cap_deps : 4;
    struct gnode **v = realloc(owner->deps, cap * sizeof *v);
    if (!v)
      return;
    owner->deps = v;
    owner->cap_deps = cap;
  }
  owner->deps[owner->n_deps++] = dep;
  if (owner->n_deps == GC_DEP_SCAN + 1 && !owner->dep_pos.n)
    for (size_t i = 0; i < owner->n_deps; i++) /* the index starts */
      set_pos(owner, i);
  else
    set_pos(owner, owner->n_deps - 1);
}

static void del_dep(struct gnode *owner, struct gnode *dep) {
  ssize_t i = dep_index(owner, dep);
  if (i < 0)
    return;
  if (owner->dep_pos.n)
    strmap_remove(&owner->dep_pos, dep->uid);
  owner->deps[i] = owner->deps[--owner->n_deps];
  if ((size_t)i < owner->n_deps && owner->dep_pos.n)
    set_pos(owner, (size_t)i);
}

size_t ctl_gc_blocking_dependents(struct gnode *n, struct gnode **out,
                                  size_t max) {
  size_t k = 0;
  for (size_t i = 0; i < n->n_deps; i++) {
    struct gnode *d = n->deps[i];
    for (size_t j = 0; j < d->n_owners; j++)
      if (d->owners[j].block && streq(d->owners[j].uid, n->uid)) {
        if (out && k < max)
          out[k] = d;
        k++;
        break;
      }
  }
  return k;
}

/* ------------------------------------------------------------------------ */
/* Owners                                                                    */
/* ------------------------------------------------------------------------ */

static int owners_of(json_object *o, struct gowner **out, size_t *n) {
  json_object *refs = cj_arr(cj_obj(o, "metadata"), "ownerReferences");
  size_t len = cj_len(refs);
  *out = NULL;
  *n = 0;
  if (!len)
    return 0;
  struct gowner *v = calloc(len, sizeof *v);
  if (!v)
    return -1;
  for (size_t i = 0; i < len; i++) {
    json_object *r = cj_at(refs, i);
    v[i].uid = strdup(cj_str0(r, "uid"));
    v[i].api_version = strdup(cj_str0(r, "apiVersion"));
    v[i].kind = strdup(cj_str0(r, "kind"));
    v[i].name = strdup(cj_str0(r, "name"));
    v[i].block = cj_bool(r, "blockOwnerDeletion", false);
    if (!v[i].uid || !v[i].api_version || !v[i].kind || !v[i].name) {
      owners_free(v, len);
      return -1;
    }
  }
  *out = v;
  *n = len;
  return 0;
}

static const struct gowner *find_owner(const struct gowner *v, size_t n,
                                       const char *uid) {
  for (size_t i = 0; i < n; i++)
    if (streq(v[i].uid, uid))
      return &v[i];
  return NULL;
}

/* An owner the cache of its kind holds (same uid): real at once. */
static bool owner_cached(struct gc *gc, const struct gowner *o,
                         const char *ns) {
  struct gmonitor *mon = ctl_gc_monitor(gc, o->api_version, o->kind);
  if (!mon)
    return false;
  cleanup_free char *key = ctl_key(mon->kind->namespaced ? ns : NULL, o->name);
  /* A reference, not kube_informer_get: no tree stays pinned per owner. */
  kube_object_t *obj = key ? kube_informer_ref(mon->inf, key) : NULL;
  bool same = obj && streq(kube_object_uid(obj) ?: "", o->uid);
  kube_object_free(obj);
  return same;
}

/* A node for an owner nobody showed yet: real when its kind's cache has
 * it, else virtual and checked with a read. */
static struct gnode *virtual_owner(struct gc *gc, const struct gowner *o,
                                   const char *ns) {
  struct gnode *n = calloc(1, sizeof *n);
  if (!n)
    return NULL;
  bool cached = owner_cached(gc, o, ns);
  n->uid = strdup(o->uid);
  n->api_version = strdup(o->api_version);
  n->kind = strdup(o->kind);
  n->name = strdup(o->name);
  n->ns = strdup(ns ? ns : "");
  n->virtual_ = !cached;
  if (!n->uid || !n->api_version || !n->kind || !n->name || !n->ns ||
      !strmap_put(&gc->nodes, n->uid, n, NULL)) {
    node_free(n);
    return NULL;
  }
  if (!cached)
    ctl_gc_enqueue_delete(gc, n->uid);
  return n;
}

static void link_owners(struct gc *gc, struct gnode *n, const struct gowner *o,
                        size_t k) {
  for (size_t i = 0; i < k; i++) {
    struct gnode *owner = ctl_gc_node(gc, o[i].uid);
    if (!owner)
      owner = virtual_owner(gc, &o[i], n->ns);
    if (owner)
      add_dep(owner, n);
  }
}

static void unlink_owners(struct gc *gc, struct gnode *n,
                          const struct gowner *o, size_t k) {
  for (size_t i = 0; i < k; i++) {
    struct gnode *owner = ctl_gc_node(gc, o[i].uid);
    if (!owner)
      continue;
    del_dep(owner, n);
    /* A virtual owner nobody references any more is forgotten. */
    if (owner->virtual_ && !owner->n_deps)
      node_free(strmap_remove(&gc->nodes, owner->uid));
  }
}

/* ------------------------------------------------------------------------ */
/* Graph changes                                                             */
/* ------------------------------------------------------------------------ */

static bool has_finalizer(json_object *o, const char *f) {
  json_object *fs = cj_arr(cj_obj(o, "metadata"), "finalizers");
  for (size_t i = 0; i < cj_len(fs); i++)
    if (streq(json_object_get_string(cj_at(fs, i)) ?: "", f))
      return true;
  return false;
}

static bool being_deleted(json_object *o) {
  json_object *dt = cj(cj_obj(o, "metadata"), "deletionTimestamp");
  return dt && !json_object_is_type(dt, json_type_null);
}

static bool starts_waiting(json_object *old, json_object *cur,
                           const char *finalizer) {
  if (!being_deleted(cur) || !has_finalizer(cur, finalizer))
    return false;
  return !old || !being_deleted(old) || !has_finalizer(old, finalizer);
}

static void process_transitions(struct gc *gc, json_object *old,
                                json_object *cur, struct gnode *n) {
  if (starts_waiting(old, cur, GC_ORPHAN)) {
    kube_controller_enqueue(gc->orph.c, n->uid, NULL);
    return;
  }
  if (starts_waiting(old, cur, GC_FOREGROUND)) {
    n->deleting_dependents = true;
    for (size_t i = 0; i < n->n_deps; i++)
      ctl_gc_enqueue_delete(gc, n->deps[i]->uid);
    ctl_gc_enqueue_delete(gc, n->uid);
  }
}

/* Owners whose dependents stopped blocking them get another look. */
static void unblocked_owners(struct gc *gc, const struct gowner *old, size_t no,
                             const struct gowner *cur, size_t nc) {
  for (size_t i = 0; i < no; i++) {
    const struct gowner *now = find_owner(cur, nc, old[i].uid);
    bool unblocked = !now ? old[i].block : (old[i].block && !now->block);
    struct gnode *owner;
    if (unblocked && (owner = ctl_gc_node(gc, old[i].uid)) &&
        owner->deleting_dependents)
      ctl_gc_enqueue_delete(gc, owner->uid);
  }
}

static bool owners_changed(const struct gowner *a, size_t na,
                           const struct gowner *b, size_t nb) {
  if (na != nb)
    return true;
  for (size_t i = 0; i < na; i++) {
    const struct gowner *o = find_owner(b, nb, a[i].uid);
    if (!o || o->block != a[i].block || !streq(o->name, a[i].name) ||
        !streq(o->kind, a[i].kind))
      return true;
  }
  return false;
}

static void observe(struct gmonitor *mon, json_object *old, json_object *cur) {
  struct gc *gc = mon->gc;
  json_object *meta = cj_obj(cur, "metadata");
  const char *uid = cj_str(meta, "uid");
  if (!uid)
    return;
  struct gnode *n = ctl_gc_node(gc, uid);
  bool refs = cj_len(cj_arr(meta, "ownerReferences")) > 0;
  bool fin = being_deleted(cur) && (has_finalizer(cur, GC_FOREGROUND) ||
                                    has_finalizer(cur, GC_ORPHAN));
  if (!n && !refs && !fin)
    return; /* not part of the graph (yet) */
  struct gowner *owners;
  size_t n_owners;
  if (owners_of(cur, &owners, &n_owners) < 0)
    return;
  if (!n) {
    n = calloc(1, sizeof *n);
    if (!n || !(n->uid = strdup(uid)) ||
        !strmap_put(&gc->nodes, n->uid, n, NULL)) {
      node_free(n);
      owners_free(owners, n_owners);
      return;
    }
  }
  if (n->virtual_ || !n->kind) {
    /* Seen for real: its identity is what the informer says. */
    n->virtual_ = false;
    free(n->api_version);
    free(n->kind);
    free(n->ns);
    free(n->name);
    n->api_version = strdup(mon->api_version);
    n->kind = strdup(mon->kind->kind);
    n->ns = strdup(cj_str0(meta, "namespace"));
    n->name = strdup(cj_str0(meta, "name"));
  }
  if (owners_changed(n->owners, n->n_owners, owners, n_owners)) {
    unblocked_owners(gc, n->owners, n->n_owners, owners, n_owners);
    unlink_owners(gc, n, n->owners, n->n_owners);
    owners_free(n->owners, n->n_owners);
    n->owners = owners;
    n->n_owners = n_owners;
    link_owners(gc, n, n->owners, n->n_owners);
  } else {
    owners_free(owners, n_owners);
  }
  n->being_deleted = being_deleted(cur);
  if (n->being_deleted && has_finalizer(cur, GC_FOREGROUND))
    n->deleting_dependents = true;
  process_transitions(gc, old, cur, n);
}

/* The object is gone: its dependents lost an owner; owners waiting for
 * their dependents may be done. */
static void removed(struct gc *gc, struct gnode *n, bool absent) {
  strmap_remove(&gc->nodes, n->uid);
  if (n->n_deps && absent) {
    char key[600];
    snprintf(key, sizeof key, "%s/%s/%s/%s", n->api_version ?: "",
             n->kind ?: "", n->ns ?: "", n->name ?: "");
    strmap_put(&gc->absent, key, NULL, NULL);
  }
  for (size_t i = 0; i < n->n_deps; i++)
    ctl_gc_enqueue_delete(gc, n->deps[i]->uid);
  for (size_t i = 0; i < n->n_owners; i++) {
    struct gnode *owner = ctl_gc_node(gc, n->owners[i].uid);
    if (!owner)
      continue;
    del_dep(owner, n);
    if (owner->deleting_dependents)
      ctl_gc_enqueue_delete(gc, owner->uid);
    else if (owner->virtual_ && !owner->n_deps)
      node_free(strmap_remove(&gc->nodes, owner->uid));
  }
  if (gc->absent.n > 10000) /* a bounded cache, as kube-controller-manager's */
    strmap_clear(&gc->absent, NULL);
  /* Dependents keep their ownerReferences; the owner node is gone. */
  node_free(n);
}

void ctl_gc_virtual_delete(struct gc *gc, struct gnode *n) {
  removed(gc, n, true);
}

static void on_add(const char *key, const kube_object_t *obj, void *arg) {
  observe(arg, NULL, kube_object_json(obj));
}

static void on_update(const char *key, const kube_object_t *old_obj,
                      const kube_object_t *obj, void *arg) {
  observe(arg, kube_object_json(old_obj), kube_object_json(obj));
}

static void on_delete(const char *key, const kube_object_t *obj, void *arg) {
  struct gmonitor *mon = arg;
  const char *uid = kube_object_uid(obj);
  struct gnode *n = uid ? ctl_gc_node(mon->gc, uid) : NULL;
  if (n)
    removed(mon->gc, n, true);
}

struct gmonitor *ctl_gc_monitor(struct gc *gc, const char *api_version,
                                const char *kind) {
  for (size_t i = 0; i < gc->n_monitors; i++)
    if (streq(gc->monitors[i].kind->kind, kind) &&
        streq(gc->monitors[i].api_version, api_version))
      return &gc->monitors[i];
  /* Another version of the same group and kind. */
  const char *slash = strchr(api_version, '/');
  size_t gl = slash ? (size_t)(slash - api_version) : 0;
  for (size_t i = 0; i < gc->n_monitors; i++)
    if (streq(gc->monitors[i].kind->kind, kind) &&
        strlen(gc->monitors[i].kind->group) == gl &&
        strncmp(gc->monitors[i].kind->group, api_version, gl) == 0)
      return &gc->monitors[i];
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */
/* ------------------------------------------------------------------------ */

/* kube-controller-manager's default ignored resources: events. */
static bool ignored(const kube_kind_t *k) {
  return streq(k->resource, "events");
}

static bool watchable(const kube_kind_t *k) {
  bool list = false, watch = false, del = false;
  for (const char *const *v = k->verbs; v && *v; v++) {
    list = list || streq(*v, "list");
    watch = watch || streq(*v, "watch");
    del = del || streq(*v, "delete");
  }
  return list && watch && del;
}

static void noop_map(kube_controller_t *c, const char *key,
                     const kube_object_t *obj, void *arg) {}

static void gc_free(void *impl) {
  struct gc *gc = impl;
  if (!gc)
    return;
  for (size_t i = 0; i < gc->n_monitors; i++)
    kube_informer_remove_handlers(gc->monitors[i].inf, gc->monitors[i].reg);
  free(gc->monitors);
  ctl_base_clear(&gc->del);
  ctl_base_clear(&gc->orph);
  strmap_clear(&gc->nodes, node_free);
  strmap_clear(&gc->absent, NULL);
  free(gc);
}

static int add_monitor(struct gc *gc, const kube_kind_t *k, kube_error_t *err) {
  for (size_t i = 0; i < gc->n_monitors; i++)
    if (streq(gc->monitors[i].kind->group, k->group) &&
        streq(gc->monitors[i].kind->resource, k->resource))
      return 0; /* the preferred version is watched already */
  struct gmonitor *mon = &gc->monitors[gc->n_monitors];
  memset(mon, 0, sizeof *mon);
  mon->gc = gc;
  mon->kind = k;
  kube_kind_api_version(k, mon->api_version, sizeof mon->api_version);
  char path[256];
  snprintf(path, sizeof path, "%s/%s/%s", *k->group ? "/apis" : "/api",
           mon->api_version, k->resource);
  kube_informer_handlers_t h = {
      .struct_size = sizeof h,
      .on_add = on_add,
      .on_update = on_update,
      .on_delete = on_delete,
  };
  if (!(mon->inf = ctl_manager_informer(gc->m, path, err)) ||
      !(mon->reg = kube_informer_add_handlers(mon->inf, &h, mon, err)) ||
      /* Both queues start once every monitor listed. */
      kube_controller_watch(gc->del.c, mon->inf, noop_map, NULL, err) < 0 ||
      kube_controller_watch(gc->orph.c, mon->inf, noop_map, NULL, err) < 0) {
    if (mon->reg)
      kube_informer_remove_handlers(mon->inf, mon->reg);
    return -1;
  }
  gc->n_monitors++;
  return 0;
}

static void *gc_create(kube_controller_manager_t *m, kube_error_t *err) {
  struct gc *gc = calloc(1, sizeof *gc);
  if (!gc ||
      !(gc->monitors = calloc(kube_kinds_count(), sizeof *gc->monitors))) {
    free(gc);
    kube_make_oom(err);
    return NULL;
  }
  gc->m = m;
  if (ctl_base_init(&gc->del, m, "garbagecollector",
                    "garbage-collector-controller", ctl_gc_attempt_to_delete,
                    gc, err) < 0 ||
      ctl_base_init(&gc->orph, m, "garbagecollector-orphan",
                    "garbage-collector-controller", ctl_gc_attempt_to_orphan,
                    gc, err) < 0) {
    gc_free(gc);
    return NULL;
  }
  for (size_t i = 0; i < kube_kinds_count(); i++) {
    const kube_kind_t *k = kube_kinds_at(i);
    if (!ignored(k) && watchable(k) && add_monitor(gc, k, err) < 0) {
      gc_free(gc);
      return NULL;
    }
  }
  return gc;
}

static int gc_start(void *impl, kube_error_t *err) {
  struct gc *gc = impl;
  if (kube_controller_start(gc->del.c, err) < 0 ||
      kube_controller_start(gc->orph.c, err) < 0)
    return -1;
  return 0;
}

static kube_controller_t *gc_controller(void *impl) {
  return ((struct gc *)impl)->del.c;
}

const struct ctl_impl_ops ctl_gc_ops = {
    .create = gc_create,
    .start = gc_start,
    .free = gc_free,
    .controller = gc_controller,
};
