/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CustomResourceDefinitions of one API server: the kinds they serve,
 * registered at run time (two servers in one process keep their own; the
 * built-in kinds stay shared), and what apiextensions-apiserver's
 * controllers do for them:
 *   - names: a definition whose names collide with another's in its group
 *     is not served (NamesAccepted False), else it is (Established True);
 *   - status: acceptedNames and the conditions, written by the server;
 *   - deletion: the `customresourcecleanup.apiextensions.k8s.io` finalizer
 *     holds a deleted definition (Terminating) until every object of it
 *     is gone, then the definition goes and its kinds with it;
 *   - restart: definitions are read back from the store when the server
 *     starts, and a store watch keeps the registry in step with writes.
 */
#include <time.h>

#include "apiserver/internal.h"

#define CLEANUP_FINALIZER "customresourcecleanup.apiextensions.k8s.io"

struct as_crd {
  kube_apiserver_t *srv;
  char *name;           /* metadata.name */
  char *uid;            /* metadata.uid: a definition recreated under the
                           same name is another one */
  char *group, *plural; /* where its objects are stored */
  int64_t generation;   /* of the spec the kinds were built from */
  kube_kind_t **kinds;  /* served versions, highest priority first; */
  size_t n_kinds;       /* none when the names are not accepted */
  bool accepted;
  const char *conflict_reason; /* static, when not accepted */
  char *conflict_message;
  bool terminating;
  struct event *cleanup_ev;
  struct as_crd *next;
};

struct as_crds {
  struct as_crd *list;
  const kube_kind_t **flat; /* every served custom kind, for iteration */
  size_t n_flat;
  kube_store_watch_t *watch;
  uint64_t gen;
};

/* The CustomResourceDefinition kind (static). */
static const kube_kind_t *crd_kind(void) {
  return kube_kind_by_resource("apiextensions.k8s.io", "v1",
                               "customresourcedefinitions");
}

static struct as_crds *crds_of(kube_apiserver_t *srv) {
  if (!srv->crds)
    srv->crds = calloc(1, sizeof(*srv->crds));
  return srv->crds;
}

/* ---- iteration and lookups ------------------------------------------------
 */

size_t as_kinds_count(kube_apiserver_t *srv) {
  return kube_kinds_count() + (srv->crds ? srv->crds->n_flat : 0);
}

const kube_kind_t *as_kinds_at(kube_apiserver_t *srv, size_t i) {
  size_t ns = kube_kinds_count();
  if (i < ns)
    return kube_kinds_at(i);
  i -= ns;
  return srv->crds && i < srv->crds->n_flat ? srv->crds->flat[i] : NULL;
}

uint64_t as_crds_generation(const kube_apiserver_t *srv) {
  return srv->crds ? srv->crds->gen : 0;
}

const kube_kind_t *as_crds_lookup(kube_apiserver_t *srv, const char *group,
                                  const char *version, const char *resource) {
  if (!srv->crds || !group || !resource)
    return NULL;
  for (size_t i = 0; i < srv->crds->n_flat; i++) {
    const kube_kind_t *k = srv->crds->flat[i];
    if (streq(k->group, group) && streq(k->resource, resource) &&
        (!version || streq(k->version, version)))
      return k;
  }
  return NULL;
}

static struct as_crd *find(struct as_crds *c, const char *name) {
  for (struct as_crd *e = c ? c->list : NULL; e; e = e->next)
    if (streq(e->name, name))
      return e;
  return NULL;
}

/* The definition a custom kind belongs to. */
static struct as_crd *crd_of_kind(kube_apiserver_t *srv, const kube_kind_t *k) {
  const char *name = api_cr_crd_name(k);
  return name ? find(srv->crds, name) : NULL;
}

static void rebuild_flat(struct as_crds *c) {
  size_t n = 0;
  for (struct as_crd *e = c->list; e; e = e->next)
    n += e->n_kinds;
  const kube_kind_t **flat = calloc(n ? n : 1, sizeof(*flat));
  if (!flat)
    return; /* keep the old view: lookups stay valid until the next change */
  size_t i = 0;
  for (struct as_crd *e = c->list; e; e = e->next)
    for (size_t j = 0; j < e->n_kinds; j++)
      flat[i++] = e->kinds[j];
  free(c->flat);
  c->flat = flat;
  c->n_flat = n;
  c->gen++;
}

/* ---- registering ------------------------------------------------------------
 */

static void drop_kinds(struct as_crd *e) {
  for (size_t i = 0; i < e->n_kinds; i++) {
    /* Watches of a kind that changes end, as kube-apiserver's do when it
     * replaces a definition's storage: clients watch again. */
    as_watch_end_kind(e->srv, e->kinds[i]);
    api_kind_unref(e->kinds[i]);
  }
  free(e->kinds);
  e->kinds = NULL;
  e->n_kinds = 0;
}

static int kind_cmp(const void *a, const void *b) {
  const kube_kind_t *x = *(const kube_kind_t *const *)a;
  const kube_kind_t *y = *(const kube_kind_t *const *)b;
  return api_version_cmp(x->version, y->version);
}

static bool in_strv(json_object *arr, const char *s) {
  for (size_t i = 0; s && *s && i < json_object_array_length(arr); i++)
    if (streq(json_object_get_string(json_object_array_get_idx(arr, i)) ?: "",
              s))
      return true;
  return false;
}

/* The names of `names` that another definition of the group already
 * serves, as apiextensions' naming controller words the conflict. */
static bool names_conflict(kube_apiserver_t *srv, const char *self,
                           const char *group, json_object *names,
                           const char **reason, char **message) {
  const char *plural = kube_json_get_string(names, "plural");
  const char *singular = kube_json_get_string(names, "singular");
  const char *kind = kube_json_get_string(names, "kind");
  const char *list = kube_json_get_string(names, "listKind");
  json_object *shorts = kube_json_get(names, "shortNames");
  for (struct as_crd *e = srv->crds ? srv->crds->list : NULL; e; e = e->next) {
    if (streq(e->name, self) || !e->n_kinds)
      continue;
    const kube_kind_t *o = e->kinds[0];
    if (!streq(o->group, group))
      continue;
    const char *hit = NULL;
    if (plural && (streq(plural, o->resource) || streq(plural, o->singular)))
      hit = plural, *reason = "PluralConflict";
    else if (singular &&
             (streq(singular, o->resource) || streq(singular, o->singular)))
      hit = singular, *reason = "SingularConflict";
    else if (kind && (streq(kind, o->kind) || streq(kind, o->list_kind)))
      hit = kind, *reason = "KindConflict";
    else if (list && (streq(list, o->kind) || streq(list, o->list_kind)))
      hit = list, *reason = "ListKindConflict";
    for (size_t i = 0; !hit && o->short_names && o->short_names[i]; i++)
      if (in_strv(shorts, o->short_names[i]))
        hit = o->short_names[i], *reason = "ShortNamesConflict";
    if (hit) {
      if (asprintf(message, "\"%s\" is already in use", hit) < 0)
        *message = NULL;
      return true;
    }
  }
  return false;
}

static struct as_crd *entry_new(kube_apiserver_t *srv, const char *name) {
  struct as_crds *c = crds_of(srv);
  struct as_crd *e = c ? calloc(1, sizeof(*e)) : NULL;
  if (!e || !(e->name = strdup(name))) {
    free(e);
    return NULL;
  }
  e->srv = srv;
  e->generation = -1;
  /* Registration order is discovery order. */
  struct as_crd **p = &c->list;
  while (*p)
    p = &(*p)->next;
  *p = e;
  return e;
}

static void entry_free(struct as_crd *e) {
  drop_kinds(e);
  if (e->cleanup_ev)
    event_free(e->cleanup_ev);
  free(e->name);
  free(e->uid);
  free(e->group);
  free(e->plural);
  free(e->conflict_message);
  free(e);
}

static void start_cleanup(struct as_crd *e);
static void reconcile_status(kube_apiserver_t *srv, struct as_crd *e,
                             json_object *crd, const char *key, int64_t rev);

/* Bring the registry in line with a definition as stored (`rev` is its
 * record's revision, `key` its key). */
void as_crd_sync(kube_apiserver_t *srv, json_object *crd, const char *key,
                 int64_t rev) {
  const char *name = kube_json_get_string(crd, "metadata.name");
  if (!name)
    return;
  const char *uid = kube_json_get_string(crd, "metadata.uid");
  struct as_crd *e = find(srv->crds, name);
  if (e && uid && e->uid && !streq(uid, e->uid)) {
    /* The watch has not seen the old definition's deletion yet: this one
     * starts afresh. */
    drop_kinds(e);
    e->generation = -1;
    e->terminating = false;
    if (e->cleanup_ev)
      event_del(e->cleanup_ev);
  }
  if (!e && !(e = entry_new(srv, name)))
    return;
  if (uid && (!e->uid || !streq(uid, e->uid))) {
    free(e->uid);
    e->uid = strdup(uid);
  }
  json_object *spec = kube_json_get(crd, "spec");
  json_object *g = kube_json_get(crd, "metadata.generation");
  int64_t gen = g ? json_object_get_int64(g) : 0;
  if (gen != e->generation) {
    const char *group = kube_json_get_string(spec, "group");
    json_object *names = kube_json_get(spec, "names");
    free(e->group);
    free(e->plural);
    e->group = strdup(group ? group : "");
    e->plural = strdup(kube_json_get_string(names, "plural") ?: "");
    free(e->conflict_message);
    e->conflict_message = NULL;
    e->accepted = !names_conflict(srv, name, group ? group : "", names,
                                  &e->conflict_reason, &e->conflict_message);
    drop_kinds(e);
    if (e->accepted) {
      kube_error_t err = KUBE_ERROR_INIT;
      if (api_crd_build_kinds(crd, &e->kinds, &e->n_kinds, &err) < 0) {
        log_warn("apiserver: customresourcedefinition %s: %s", name,
                 err.message);
        e->accepted = false;
        e->conflict_reason = "InvalidDefinition";
        e->conflict_message = strdup(err.message ? err.message : "invalid");
      } else {
        qsort(e->kinds, e->n_kinds, sizeof(*e->kinds), kind_cmp);
      }
      kube_error_clear(&err);
    }
    e->generation = gen;
    rebuild_flat(srv->crds);
    log_info("apiserver: customresourcedefinition %s %s (%zu versions)", name,
             e->accepted ? "established" : "not accepted", e->n_kinds);
  }
  if (kube_json_get_string(crd, "metadata.deletionTimestamp") &&
      !e->terminating) {
    e->terminating = true;
    start_cleanup(e);
  }
  if (key)
    reconcile_status(srv, e, crd, key, rev);
}

/* Names freed by a definition that went away may let another of its
 * group be accepted now: look at those again, as stored. */
static void recheck_group(kube_apiserver_t *srv, const char *group) {
  for (struct as_crd *e = srv->crds ? srv->crds->list : NULL; e;) {
    struct as_crd *next = e->next;
    if (!e->accepted && e->group && streq(e->group, group)) {
      cleanup_free char *key = as_store_key(crd_kind(), NULL, e->name);
      kube_store_record_t *rec =
          key ? kube_store_get(srv->store, key, NULL) : NULL;
      json_object *o = rec ? as_record_to_tree(rec, NULL) : NULL;
      if (o) {
        e->generation = -1; /* rebuild */
        as_crd_sync(srv, o, rec->key, rec->mod_revision);
        json_object_put(o);
      }
      kube_store_record_unref(rec);
    }
    e = next;
  }
}

void as_crd_forget(kube_apiserver_t *srv, const char *name, const char *uid) {
  struct as_crds *c = srv->crds;
  for (struct as_crd **p = c ? &c->list : NULL; p && *p; p = &(*p)->next)
    if (streq((*p)->name, name)) {
      /* A newer definition of the same name is already registered. */
      if (uid && (*p)->uid && !streq(uid, (*p)->uid))
        return;
      struct as_crd *e = *p;
      char *group = e->group ? strdup(e->group) : NULL;
      *p = e->next;
      entry_free(e);
      rebuild_flat(c);
      log_info("apiserver: customresourcedefinition %s removed", name);
      if (group)
        recheck_group(srv, group);
      free(group);
      return;
    }
}

/* ---- status
 * ------------------------------------------------------------------ */

static json_object *condition(const char *type, const char *status,
                              const char *reason, const char *message,
                              json_object *old_conds) {
  json_object *c = json_object_new_object();
  char ts[40];
  const char *when = as_now_rfc3339(ts, sizeof ts);
  /* The transition time only moves when the status does. */
  for (size_t i = 0; old_conds && i < json_object_array_length(old_conds);
       i++) {
    json_object *o = json_object_array_get_idx(old_conds, i);
    const char *ot = kube_json_get_string(o, "type");
    const char *os = kube_json_get_string(o, "status");
    const char *olt = kube_json_get_string(o, "lastTransitionTime");
    if (ot && os && olt && streq(ot, type) && streq(os, status))
      when = olt;
  }
  json_object_object_add(c, "type", json_object_new_string(type));
  json_object_object_add(c, "status", json_object_new_string(status));
  json_object_object_add(c, "lastTransitionTime", json_object_new_string(when));
  json_object_object_add(c, "reason", json_object_new_string(reason));
  json_object_object_add(c, "message", json_object_new_string(message));
  return c;
}

/* Write status.acceptedNames and the conditions when they differ from
 * what is stored (a conflict with a concurrent write is retried by the
 * watch event that write causes). */
static void reconcile_status(kube_apiserver_t *srv, struct as_crd *e,
                             json_object *crd, const char *key, int64_t rev) {
  json_object *status = kube_json_get(crd, "status");
  json_object *old_conds = kube_json_get(status, "conditions");
  if (!json_object_is_type(old_conds, json_type_array))
    old_conds = NULL;
  json_object *conds = json_object_new_array();
  if (!conds)
    return;
  if (e->accepted) {
    json_object_array_add(conds,
                          condition("NamesAccepted", "True", "NoConflicts",
                                    "no conflicts found", old_conds));
    json_object_array_add(
        conds, condition("Established", "True", "InitialNamesAccepted",
                         "the initial names have been accepted", old_conds));
  } else {
    json_object_array_add(
        conds,
        condition("NamesAccepted", "False", e->conflict_reason,
                  e->conflict_message ? e->conflict_message : "", old_conds));
    json_object_array_add(conds,
                          condition("Established", "False", "NotAccepted",
                                    "not all names are accepted", old_conds));
  }
  if (e->terminating)
    json_object_array_add(
        conds, condition("Terminating", "True", "InstanceDeletionInProgress",
                         "CustomResource deletion is in progress", old_conds));
  json_object *names = kube_json_get(crd, "spec.names");
  json_object *accepted = NULL;
  if (e->accepted && names)
    json_object_deep_copy(names, &accepted, NULL);
  else
    accepted = json_object_new_object();
  if (accepted && !e->accepted) {
    json_object_object_add(accepted, "plural", json_object_new_string(""));
    json_object_object_add(accepted, "kind", json_object_new_string(""));
  }
  json_object *want_status = json_object_new_object();
  if (status && json_object_is_type(status, json_type_object)) {
    json_object_object_foreach(status, sk, sv) {
      if (!streq(sk, "conditions") && !streq(sk, "acceptedNames"))
        json_object_object_add(want_status, sk, json_object_get(sv));
    }
  }
  json_object_object_add(want_status, "conditions", conds);
  json_object_object_add(want_status, "acceptedNames", accepted);
  bool same = status && json_object_equal(status, want_status);
  if (!same) {
    json_object *copy = NULL;
    if (json_object_deep_copy(crd, &copy, NULL) == 0 && copy) {
      json_object_object_add(copy, "status", json_object_get(want_status));
      json_object_object_del(as_meta_of(copy), "resourceVersion");
      as_internal_update(srv, key, copy, rev);
      json_object_put(copy);
    }
  }
  json_object_put(want_status);
}

/* ---- deletion
 * ------------------------------------------------------------------- */

/* Every object of the definition is gone: drop our finalizer, and with
 * it the definition unless another finalizer holds it.  True once the
 * stored definition is gone or no longer carries our finalizer; false
 * while our write (which may lose to a concurrent one) is on its way. */
static bool finish(struct as_crd *e) {
  kube_apiserver_t *srv = e->srv;
  cleanup_free char *key = as_store_key(crd_kind(), NULL, e->name);
  kube_store_record_t *rec = key ? kube_store_get(srv->store, key, NULL) : NULL;
  if (!rec)
    return true;
  bool done = true;
  json_object *o = as_record_to_tree(rec, NULL);
  if (o) {
    json_object *fin = kube_json_get(o, "metadata.finalizers");
    json_object *keep = json_object_new_array();
    for (size_t i = 0; fin && json_object_is_type(fin, json_type_array) &&
                       i < json_object_array_length(fin);
         i++) {
      json_object *f = json_object_array_get_idx(fin, i);
      if (!streq(json_object_get_string(f) ?: "", CLEANUP_FINALIZER))
        json_object_array_add(keep, json_object_get(f));
    }
    if (json_object_array_length(keep) == 0) {
      json_object_put(keep);
      as_internal_delete(srv, key, rec->mod_revision);
      done = false;
    } else if (json_object_array_length(keep) <
               json_object_array_length(fin)) {
      json_object_object_add(as_meta_of(o), "finalizers", keep);
      json_object_object_del(as_meta_of(o), "resourceVersion");
      as_internal_update(srv, key, o, rec->mod_revision);
      done = false;
    } else {
      json_object_put(keep);
    }
    json_object_put(o);
  }
  kube_store_record_unref(rec);
  return done;
}

static void cleanup_cb(evutil_socket_t fd, short what, void *arg) {
  struct as_crd *e = arg;
  kube_apiserver_t *srv = e->srv;
  char *prefix = NULL;
  if (asprintf(&prefix, "/registry/%s/%s/", e->group ? e->group : "",
               e->plural ? e->plural : "") < 0)
    prefix = NULL;
  size_t remaining = prefix ? as_delete_under(srv, prefix) : 1;
  free(prefix);
  /* finish's write is checked on the next round: it may lose to the
   * Terminating condition's status update (a Conflict nothing else would
   * retry, leaving the definition stuck with our finalizer).  The watch's
   * DELETE event removes the entry and this timer with it. */
  if (remaining == 0 && finish(e))
    return;
  struct timeval tv = {.tv_sec = 0, .tv_usec = remaining ? 200000 : 500000};
  evtimer_add(e->cleanup_ev, &tv);
}

static void start_cleanup(struct as_crd *e) {
  if (!e->cleanup_ev)
    e->cleanup_ev = evtimer_new(e->srv->base, cleanup_cb, e);
  if (!e->cleanup_ev)
    return;
  /* Let the definition's own update land first. */
  struct timeval tv = {.tv_sec = 0, .tv_usec = 1000};
  evtimer_add(e->cleanup_ev, &tv);
  log_info("apiserver: deleting the objects of customresourcedefinition %s",
           e->name);
}

/* ---- the store watch
 * ------------------------------------------------------------ */

static void watch_cb(const kube_store_event_t *ev, const kube_error_t *err,
                     void *arg) {
  kube_apiserver_t *srv = arg;
  if (!ev) {
    /* The store ended the watch (closing, or history compacted away):
     * read everything again and watch from there. */
    kube_store_watch_cancel(srv->crds->watch);
    srv->crds->watch = NULL;
    if (!srv->shutting_down)
      as_crds_start(srv);
    return;
  }
  if (ev->type == KUBE_STORE_EVENT_DELETE) {
    json_object *o = as_record_parse(ev->rec, NULL);
    const char *name = o ? kube_json_get_string(o, "metadata.name") : NULL;
    if (name)
      as_crd_forget(srv, name, kube_json_get_string(o, "metadata.uid"));
    if (o)
      json_object_put(o);
    return;
  }
  json_object *o = as_record_to_tree(ev->rec, NULL);
  if (o) {
    as_crd_sync(srv, o, ev->rec->key, ev->rec->mod_revision);
    json_object_put(o);
  }
}

void as_crds_start(kube_apiserver_t *srv) {
  struct as_crds *c = crds_of(srv);
  if (!c)
    return;
  cleanup_free char *prefix = as_store_prefix(crd_kind(), NULL);
  kube_store_list_t l = {0};
  kube_error_t err = KUBE_ERROR_INIT;
  if (!prefix || kube_store_list(srv->store, prefix, NULL, 0, &l, &err) < 0) {
    log_warn("apiserver: cannot read customresourcedefinitions: %s",
             err.message ? err.message : "out of memory");
    kube_error_clear(&err);
    return;
  }
  for (size_t i = 0; i < l.n; i++) {
    json_object *o = as_record_to_tree(l.items[i], NULL);
    if (o) {
      as_crd_sync(srv, o, l.items[i]->key, l.items[i]->mod_revision);
      json_object_put(o);
    }
  }
  int64_t rev = l.revision;
  kube_store_list_clear(&l);
  c->watch = kube_store_watch(srv->store, prefix, rev, watch_cb, srv, &err);
  if (!c->watch)
    log_warn("apiserver: cannot watch customresourcedefinitions: %s",
             err.message ? err.message : "?");
  kube_error_clear(&err);
}

void as_crds_free(kube_apiserver_t *srv) {
  struct as_crds *c = srv->crds;
  if (!c)
    return;
  kube_store_watch_cancel(c->watch);
  while (c->list) {
    struct as_crd *e = c->list;
    c->list = e->next;
    entry_free(e);
  }
  free(c->flat);
  free(c);
  srv->crds = NULL;
}

/* ---- hooks
 * ------------------------------------------------------------------------ */

/* A definition being deleted keeps its objects from being created. */
static int cr_admit_create(kube_apiserver_t *srv, const kube_kind_t *k,
                           json_object *obj, kube_error_t *err) {
  struct as_crd *e = crd_of_kind(srv, k);
  if (e && e->terminating)
    return kube_error_set(err, KUBE_REASON_METHOD_NOT_ALLOWED, 0,
                          "create not allowed while custom resource "
                          "definition is terminating");
  return 0;
}

static const struct as_kind_hooks cr_hooks = {
    .admit_create = cr_admit_create,
};

const struct as_kind_hooks *as_cr_hooks(void) {
  return &cr_hooks;
}

static void crd_mark_deleting(kube_apiserver_t *srv, const kube_kind_t *k,
                              json_object *obj, bool already) {
  json_object *meta = as_meta_of(obj);
  json_object *fin = kube_json_get(meta, "finalizers");
  if (!fin || !json_object_is_type(fin, json_type_array)) {
    fin = json_object_new_array();
    json_object_object_add(meta, "finalizers", fin);
  }
  bool have = false;
  for (size_t i = 0; i < json_object_array_length(fin); i++)
    have |=
        streq(json_object_get_string(json_object_array_get_idx(fin, i)) ?: "",
              CLEANUP_FINALIZER);
  if (!have && !already)
    json_object_array_add(fin, json_object_new_string(CLEANUP_FINALIZER));
  json_object *st = kube_json_get(obj, "status");
  json_object *conds = kube_json_get(st, "conditions");
  if (!st || !json_object_is_type(st, json_type_object))
    return;
  json_object *nc = json_object_new_array();
  for (size_t i = 0; conds && json_object_is_type(conds, json_type_array) &&
                     i < json_object_array_length(conds);
       i++) {
    json_object *c = json_object_array_get_idx(conds, i);
    if (!streq(kube_json_get_string(c, "type") ?: "", "Terminating"))
      json_object_array_add(nc, json_object_get(c));
  }
  json_object_array_add(
      nc, condition("Terminating", "True", "InstanceDeletionPending",
                    "CustomResourceDefinition marked for deletion; "
                    "CustomResource deletion will begin soon",
                    NULL));
  json_object_object_add(st, "conditions", nc);
}

static void crd_written(kube_apiserver_t *srv, const kube_kind_t *k,
                        const kube_store_record_t *rec) {
  json_object *o = as_record_to_tree(rec, NULL);
  if (o) {
    /* Registered before the reply, so the kinds are served once a client
     * hears the definition exists; the watch sees the same record later
     * and finds nothing to do. */
    as_crd_sync(srv, o, NULL, rec->mod_revision);
    json_object_put(o);
  }
}

#define FP_PATH_MAX 512

/* x-kubernetes-validations in a CRD's schemas: accepted, stored and
 * published, but their CEL rules are never evaluated; the client hears it
 * once per schema node that has some. */
static void warn_cel(struct req *r, json_object *node, char *path, size_t len,
                     int depth) {
  if (!json_object_is_type(node, json_type_object) || depth > 64)
    return;
  json_object *rules = NULL;
  if (json_object_object_get_ex(node, "x-kubernetes-validations", &rules) &&
      json_object_is_type(rules, json_type_array) &&
      json_object_array_length(rules))
    as_req_warn(r,
                "%s.x-kubernetes-validations: CEL validation rules are not "
                "evaluated by this server",
                path);
  static const char *const nested[] = {"items", "additionalProperties", "not"};
  for (size_t i = 0; i < ARRAY_SIZE(nested); i++) {
    json_object *c = NULL;
    if (json_object_object_get_ex(node, nested[i], &c)) {
      int n = snprintf(path + len, FP_PATH_MAX - len, ".%s", nested[i]);
      if (n > 0 && len + (size_t)n < FP_PATH_MAX)
        warn_cel(r, c, path, len + (size_t)n, depth + 1);
      path[len] = '\0';
    }
  }
  json_object *props = NULL;
  if (json_object_object_get_ex(node, "properties", &props) &&
      json_object_is_type(props, json_type_object)) {
    json_object_object_foreach(props, name, child) {
      int n = snprintf(path + len, FP_PATH_MAX - len, ".properties[%s]", name);
      if (n > 0 && len + (size_t)n < FP_PATH_MAX)
        warn_cel(r, child, path, len + (size_t)n, depth + 1);
      path[len] = '\0';
    }
  }
}

static void crd_warnings(struct req *r, const kube_kind_t *k,
                         json_object *crd) {
  json_object *versions = kube_json_get(crd, "spec.versions");
  for (size_t i = 0; json_object_is_type(versions, json_type_array) &&
                     i < json_object_array_length(versions);
       i++) {
    char path[FP_PATH_MAX];
    int n = snprintf(path, sizeof path,
                     "spec.versions[%zu].schema.openAPIV3Schema", i);
    json_object *schema = kube_json_get(json_object_array_get_idx(versions, i),
                                        "schema.openAPIV3Schema");
    if (n > 0 && (size_t)n < sizeof path)
      warn_cel(r, schema, path, (size_t)n, 0);
  }
}

static const struct as_kind_hooks crd_hooks = {
    .mark_deleting = crd_mark_deleting,
    .written = crd_written,
    .warnings = crd_warnings,
};

const struct as_kind_hooks *as_crd_hooks(void) {
  return &crd_hooks;
}
