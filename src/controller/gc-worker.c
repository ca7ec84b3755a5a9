/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The garbage collector's two queues (kube-controller-manager's
 * attemptToDeleteItem and attemptToOrphanWorker), each a sync over
 * asynchronous reads and writes:
 *
 *   attemptToDelete(uid):  GET the object; gone -> its node goes (a virtual
 *     delete); waiting for its dependents -> drop the foregroundDeletion
 *     finalizer once none blocks; else GET its owners and classify them
 *     (solid, dangling, waiting for dependents) -> remove the references to
 *     gone or waiting owners while a solid one remains, or delete it
 *     (foreground when an owner waits and it has dependents, after
 *     unblocking its references when a dependent waits too: a cycle).
 *   attemptToOrphan(uid):  remove the owner from its dependents'
 *     ownerReferences, then drop the orphan finalizer.
 */
#include "controller/gc.h"

struct owner_state {
  char *uid;
  int state; /* 0 unknown, 1 solid, 2 dangling, 3 waiting */
};

struct dwork_gc {
  struct gc *gc;
  char *uid;
  json_object *latest; /* the object as read (owned) */
  const kube_kind_t *kind;
  struct owner_state *owners;
  size_t n_owners;
  bool unknown_kind;
};

static void dwork_free(void *v) {
  struct dwork_gc *w = v;
  if (!w)
    return;
  json_object_put(w->latest);
  for (size_t i = 0; i < w->n_owners; i++)
    free(w->owners[i].uid);
  free(w->owners);
  free(w->uid);
  free(w);
}

static const kube_kind_t *kind_of(struct gc *gc, const char *api_version,
                                  const char *kind) {
  const kube_kind_t *k = kube_kind_by_kind(api_version, kind);
  if (k)
    return k;
  struct gmonitor *mon = ctl_gc_monitor(gc, api_version, kind);
  return mon ? mon->kind : NULL;
}

static char *path_of(const kube_kind_t *k, const char *ns, const char *name) {
  return kube_client_path(k, k->namespaced ? ns : NULL, name, NULL);
}

static int get(struct ctl_base *b, struct ctl_sync *s, const char *path,
               ctl_op_fn done, const char *tag) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  struct ctl_op *op = ctl_op_new(b, s, done, tag);
  if (!op)
    return -1;
  return ctl_op_started(op, kube_writer_send(b->w, "GET", path, NULL, NULL, 0,
                                             ctl_op_cb, op, &err));
}

static json_object *finalizers_without(json_object *o, const char *f) {
  json_object *fs = cj_arr(cj_obj(o, "metadata"), "finalizers");
  json_object *keep = json_object_new_array();
  for (size_t i = 0; keep && i < cj_len(fs); i++)
    if (!streq(json_object_get_string(cj_at(fs, i)) ?: "", f))
      json_object_array_add(keep, json_object_get(cj_at(fs, i)));
  return keep;
}

/* A merge patch of the finalizers without `f`, guarded by the
 * resourceVersion of `o`. */
static char *remove_finalizer_patch(json_object *o, const char *f) {
  json_object *p = json_object_new_object();
  json_object *m = json_object_new_object();
  json_object *fs = finalizers_without(o, f);
  if (!p || !m || !fs) {
    json_object_put(p);
    json_object_put(m);
    json_object_put(fs);
    return NULL;
  }
  cj_set(m, "finalizers", json_object_array_length(fs) ? fs : NULL);
  if (!json_object_array_length(fs))
    json_object_put(fs);
  cj_set(m, "resourceVersion",
         json_object_new_string(
             cj_str0(cj_obj(o, "metadata"), "resourceVersion")));
  cj_set(p, "metadata", m);
  return ctl_json_take_text(p);
}

static void write_done(struct ctl_op *op, const kube_object_t *res,
                       const kube_error_t *err) {
  /* Gone meanwhile is success; anything else is retried. */
  if (err && err->reason != KUBE_REASON_NOT_FOUND) {
    log_debug("garbagecollector: %s: %s", op->tag ? op->tag : "", err->message);
    op->sync->result = -1;
  }
}

static int patch(struct ctl_base *b, struct ctl_sync *s, const kube_kind_t *k,
                 const char *ns, const char *name, const char *text) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  struct ctl_op *op = text ? ctl_op_new(b, s, write_done, name) : NULL;
  if (!op)
    return -1;
  return ctl_op_started(
      op, kube_writer_patch(b->w, k, k->namespaced ? ns : NULL, name, NULL,
                            KUBE_PATCH_MERGE, text, NULL, ctl_op_cb, op, &err));
}

/* ------------------------------------------------------------------------ */
/* attemptToDelete                                                           */
/* ------------------------------------------------------------------------ */

static void classified(struct ctl_sync *s);

static const char *ref_uid(json_object *r) {
  return cj_str0(r, "uid");
}

static void owner_read(struct ctl_op *op, const kube_object_t *res,
                       const kube_error_t *err) {
  struct dwork_gc *w = op->sync->data;
  struct owner_state *os = NULL;
  for (size_t i = 0; i < w->n_owners; i++)
    if (streq(w->owners[i].uid, op->tag))
      os = &w->owners[i];
  if (!os)
    return;
  if (err && err->reason != KUBE_REASON_NOT_FOUND) {
    op->sync->result = -1;
    return;
  }
  json_object *o = res ? kube_object_json(res) : NULL;
  if (err || !o || !streq(cj_str0(cj_obj(o, "metadata"), "uid"), os->uid)) {
    os->state = 2; /* dangling: gone, or another object by that name */
    return;
  }
  json_object *dt = cj(cj_obj(o, "metadata"), "deletionTimestamp");
  bool deleting = dt && !json_object_is_type(dt, json_type_null);
  json_object *fs = cj_arr(cj_obj(o, "metadata"), "finalizers");
  bool fg = false;
  for (size_t i = 0; i < cj_len(fs); i++)
    fg = fg || streq(json_object_get_string(cj_at(fs, i)) ?: "", GC_FOREGROUND);
  os->state = deleting && fg ? 3 : 1;
}

static char *absent_key(const char *av, const char *kind, const char *ns,
                        const char *name) {
  char *k = NULL;
  return asprintf(&k, "%s/%s/%s/%s", av, kind, ns, name) < 0 ? NULL : k;
}

/* The item as read: decide. */
static void item_read(struct ctl_op *op, const kube_object_t *res,
                      const kube_error_t *err) {
  struct dwork_gc *w = op->sync->data;
  struct gc *gc = w->gc;
  struct ctl_sync *s = op->sync;
  struct gnode *n = ctl_gc_node(gc, w->uid);
  if (!n)
    return;
  if (err && err->reason != KUBE_REASON_NOT_FOUND) {
    s->result = -1;
    return;
  }
  if (err || !res || !streq(kube_object_uid(res) ?: "", w->uid)) {
    /* The object does not exist (any more, or was replaced): its
     * dependents lost an owner. */
    log_debug("garbagecollector: %s/%s %s gone, dependents follow", n->kind,
              n->name, n->uid);
    ctl_gc_virtual_delete(gc, n);
    return;
  }
  w->latest = ctl_json_copy(kube_object_json(res));
  if (!w->latest) {
    s->result = -1;
    return;
  }
  if (n->virtual_) {
    /* Exists: it is no longer only a name. */
    n->virtual_ = false;
  }
  if (n->deleting_dependents) {
    size_t blocking = ctl_gc_blocking_dependents(n, NULL, 0);
    if (!blocking) {
      log_debug("garbagecollector: removing foregroundDeletion from %s/%s",
                n->kind, n->name);
      cleanup_free char *p = remove_finalizer_patch(w->latest, GC_FOREGROUND);
      if (patch(&gc->del, s, w->kind, n->ns, n->name, p) < 0)
        s->result = -1;
      return;
    }
    struct gnode **deps = calloc(blocking, sizeof *deps);
    if (!deps) {
      s->result = -1;
      return;
    }
    ctl_gc_blocking_dependents(n, deps, blocking);
    for (size_t i = 0; i < blocking; i++)
      if (!deps[i]->deleting_dependents)
        ctl_gc_enqueue_delete(gc, deps[i]->uid);
    free(deps);
    return;
  }
  json_object *refs = cj_arr(cj_obj(w->latest, "metadata"), "ownerReferences");
  size_t nr = cj_len(refs);
  if (!nr)
    return; /* no owner: nothing to collect */
  w->owners = calloc(nr, sizeof *w->owners);
  if (!w->owners) {
    s->result = -1;
    return;
  }
  for (size_t i = 0; i < nr; i++) {
    json_object *r = cj_at(refs, i);
    struct owner_state *os = &w->owners[w->n_owners++];
    if (!(os->uid = strdup(ref_uid(r)))) {
      s->result = -1;
      return;
    }
    const char *av = cj_str0(r, "apiVersion"), *kind = cj_str0(r, "kind");
    const kube_kind_t *ok = kind_of(gc, av, kind);
    if (!ok) {
      /* A kind this server does not serve: kept, as a reference to an
       * old resource must not delete anything. */
      log_debug("garbagecollector: %s/%s: owner kind %s %s unknown", n->kind,
                n->name, av, kind);
      os->state = 1;
      continue;
    }
    if (ok->namespaced && !*n->ns) {
      /* A cluster-scoped object cannot have a namespaced owner: ignored
       * (no retry would change that). */
      os->state = 1;
      continue;
    }
    cleanup_free char *akey =
        absent_key(av, kind, ok->namespaced ? n->ns : "", cj_str0(r, "name"));
    if (akey && strmap_find(&gc->absent, akey)) {
      os->state = 2;
      continue;
    }
    cleanup_free char *path = path_of(ok, n->ns, cj_str0(r, "name"));
    if (!path || get(&gc->del, s, path, owner_read, os->uid) < 0)
      s->result = -1;
  }
  s->drained = classified;
}

static bool has_fin(json_object *o, const char *f) {
  json_object *fs = cj_arr(cj_obj(o, "metadata"), "finalizers");
  for (size_t i = 0; i < cj_len(fs); i++)
    if (streq(json_object_get_string(cj_at(fs, i)) ?: "", f))
      return true;
  return false;
}

static int delete_item(struct gc *gc, struct ctl_sync *s, struct dwork_gc *w,
                       struct gnode *n, const char *policy) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  kube_client_write_options_t o = {
      .struct_size = sizeof o,
      .grace_period = -1,
      .propagation = policy,
      .precondition_uid = w->uid,
  };
  log_debug("garbagecollector: deleting %s %s/%s (%s)", n->kind, n->ns, n->name,
            policy);
  struct ctl_op *op = ctl_op_new(&gc->del, s, write_done, n->name);
  if (!op)
    return -1;
  return ctl_op_started(op,
                        kube_writer_delete(gc->del.w, w->kind,
                                           w->kind->namespaced ? n->ns : NULL,
                                           n->name, &o, ctl_op_cb, op, &err));
}

/* ownerReferences of the item without those whose uid is in `drop` (state
 * 2 or 3), or with blockOwnerDeletion cleared (unblock). */
static char *refs_patch(struct dwork_gc *w, bool unblock) {
  json_object *refs = cj_arr(cj_obj(w->latest, "metadata"), "ownerReferences");
  json_object *keep = json_object_new_array();
  for (size_t i = 0; keep && i < cj_len(refs); i++) {
    json_object *r = cj_at(refs, i);
    int st = 1;
    for (size_t k = 0; k < w->n_owners; k++)
      if (streq(w->owners[k].uid, ref_uid(r)))
        st = w->owners[k].state;
    if (unblock) {
      json_object *c = ctl_json_copy(r);
      if (c && cj_bool(c, "blockOwnerDeletion", false))
        cj_set(c, "blockOwnerDeletion", json_object_new_boolean(0));
      json_object_array_add(keep, c);
    } else if (st == 1) {
      json_object_array_add(keep, json_object_get(r));
    }
  }
  json_object *p = json_object_new_object(), *m = json_object_new_object();
  if (!keep || !p || !m) {
    json_object_put(keep);
    json_object_put(p);
    json_object_put(m);
    return NULL;
  }
  cj_set(m, "ownerReferences", keep);
  cj_set(m, "resourceVersion",
         json_object_new_string(
             cj_str0(cj_obj(w->latest, "metadata"), "resourceVersion")));
  cj_set(p, "metadata", m);
  return ctl_json_take_text(p);
}

static void delete_foreground(struct ctl_sync *s) {
  struct dwork_gc *w = s->data;
  struct gnode *n = ctl_gc_node(w->gc, w->uid);
  if (s->result < 0 || !n)
    return;
  if (delete_item(w->gc, s, w, n, "Foreground") < 0)
    s->result = -1;
}

static void classified(struct ctl_sync *s) {
  struct dwork_gc *w = s->data;
  struct gc *gc = w->gc;
  struct gnode *n = ctl_gc_node(gc, w->uid);
  if (s->result < 0 || !n)
    return;
  size_t solid = 0, dangling = 0, waiting = 0;
  for (size_t i = 0; i < w->n_owners; i++) {
    solid += w->owners[i].state == 1;
    dangling += w->owners[i].state == 2;
    waiting += w->owners[i].state == 3;
  }
  if (solid) {
    if (!dangling && !waiting)
      return; /* an owner exists: kept */
    log_debug("garbagecollector: %s/%s: removing references to %zu gone and "
              "%zu waiting owners",
              n->kind, n->name, dangling, waiting);
    cleanup_free char *p = refs_patch(w, false);
    if (patch(&gc->del, s, w->kind, n->ns, n->name, p) < 0)
      s->result = -1;
    return;
  }
  if (waiting && n->n_deps) {
    /* An owner waits for its dependents and this one has dependents: it
     * goes in the foreground too.  A dependent waiting as well may make a
     * cycle: this one's references stop blocking first. */
    bool cycle = false;
    for (size_t i = 0; i < n->n_deps; i++)
      cycle = cycle || n->deps[i]->deleting_dependents;
    if (cycle) {
      cleanup_free char *p = refs_patch(w, true);
      if (patch(&gc->del, s, w->kind, n->ns, n->name, p) < 0) {
        s->result = -1;
        return;
      }
      s->drained = delete_foreground;
      return;
    }
    delete_foreground(s);
    return;
  }
  const char *policy = has_fin(w->latest, GC_ORPHAN)       ? "Orphan"
                       : has_fin(w->latest, GC_FOREGROUND) ? "Foreground"
                                                           : "Background";
  if (delete_item(gc, s, w, n, policy) < 0)
    s->result = -1;
}

int ctl_gc_attempt_to_delete(kube_controller_t *c, const char *uid, void *arg) {
  struct gc *gc = arg;
  struct gnode *n = ctl_gc_node(gc, uid);
  if (!n)
    return 0;
  /* Being deleted is a one-way trip: its final deletion will be seen. */
  if (n->being_deleted && !n->deleting_dependents)
    return 0;
  const kube_kind_t *k = kind_of(gc, n->api_version, n->kind);
  if (!k) {
    log_debug("garbagecollector: no kind %s %s", n->api_version, n->kind);
    return 0;
  }
  cleanup_free char *path = path_of(k, n->ns, n->name);
  struct dwork_gc *w = calloc(1, sizeof *w);
  struct ctl_sync *s = w && path ? ctl_sync_new(&gc->del, uid) : NULL;
  if (!s) {
    free(w);
    return -1;
  }
  s->data = w;
  s->free_data = dwork_free;
  w->gc = gc;
  w->kind = k;
  if (!(w->uid = strdup(uid)) || get(&gc->del, s, path, item_read, NULL) < 0)
    s->result = -1;
  return ctl_sync_finish(s);
}

/* ------------------------------------------------------------------------ */
/* attemptToOrphan                                                           */
/* ------------------------------------------------------------------------ */

struct owork {
  struct gc *gc;
  char *uid;
};

static void owork_free(void *v) {
  struct owork *w = v;
  if (w)
    free(w->uid);
  free(w);
}

/* The node's object from its kind's cache as the caller's own reference
 * (kube_object_free it): kube_informer_ref, so a sweep over every dependent
 * leaves no tree pinned in the informer. */
static kube_object_t *cached(struct gc *gc, struct gnode *n,
                             struct gmonitor **mon_out) {
  struct gmonitor *mon = ctl_gc_monitor(gc, n->api_version, n->kind);
  if (mon_out)
    *mon_out = mon;
  if (!mon)
    return NULL;
  cleanup_free char *key =
      ctl_key(mon->kind->namespaced ? n->ns : NULL, n->name);
  return key ? kube_informer_ref(mon->inf, key) : NULL;
}

static void orphaned(struct ctl_sync *s) {
  struct owork *w = s->data;
  struct gnode *n = ctl_gc_node(w->gc, w->uid);
  if (s->result < 0 || !n)
    return;
  /* Every dependent let go: the owner's orphan finalizer goes. */
  struct gmonitor *mon;
  kube_object_t *o = cached(w->gc, n, &mon);
  if (!o || !mon) {
    kube_object_free(o);
    return;
  }
  cleanup_free char *p = remove_finalizer_patch(kube_object_json(o), GC_ORPHAN);
  kube_object_free(o);
  if (patch(&w->gc->orph, s, mon->kind, n->ns, n->name, p) < 0)
    s->result = -1;
}

int ctl_gc_attempt_to_orphan(kube_controller_t *c, const char *uid, void *arg) {
  struct gc *gc = arg;
  struct gnode *n = ctl_gc_node(gc, uid);
  if (!n)
    return 0;
  struct owork *w = calloc(1, sizeof *w);
  struct ctl_sync *s = w ? ctl_sync_new(&gc->orph, uid) : NULL;
  if (!s || !(w->uid = strdup(uid))) {
    if (s) {
      s->data = w;
      s->free_data = owork_free;
      s->result = -1;
      return ctl_sync_finish(s);
    }
    free(w);
    return -1;
  }
  s->data = w;
  s->free_data = owork_free;
  w->gc = gc;
  for (size_t i = 0; i < n->n_deps; i++) {
    struct gnode *d = n->deps[i];
    struct gmonitor *mon;
    kube_object_t *o = cached(gc, d, &mon);
    if (!o || !mon) {
      kube_object_free(o);
      continue; /* gone already */
    }
    cleanup_free char *p = ctl_owner_patch(kube_object_json(o), NULL, n->uid);
    kube_object_free(o);
    if (patch(&gc->orph, s, mon->kind, d->ns, d->name, p) < 0)
      s->result = -1;
  }
  s->drained = orphaned;
  return ctl_sync_finish(s);
}
