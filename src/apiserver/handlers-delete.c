/* SPDX-License-Identifier: Apache-2.0 */
/* DELETE and deletecollection: DeleteOptions, preconditions, graceful
 * deletion, finalizers, and what a kind's server hooks add (namespace and
 * CustomResourceDefinition termination). */
#include <strings.h>
#include <time.h>

#include "apiserver/internal.h"

/* ------------------------------------------------------------------------ */
/* Delete                                                                    */
/* ------------------------------------------------------------------------ */

void as_delete_done(const kube_store_record_t *rec, const kube_error_t *err,
                    void *arg) {
  struct wctx *w = arg;
  if (!err) {
    /* The deleted object carries the delete's revision, in the version
     * asked for (it was read as stored). */
    as_tree_set_rv(w->obj, rec->mod_revision);
    if (api_kind_strategy(w->k)->convert)
      as_tree_set_api_version(w->obj, w->k, false);
    as_reply_object(w->r, w->code, json_object_get(w->obj));
    as_wctx_free(w);
    return;
  }
  as_write_done(rec, err, arg);
}

/* The registries that set ReturnDeletedObject (pkg/registry/.../storage):
 * a delete that removes one of these at once answers with the object.
 * Every other kind answers with a Status naming what went. */
static bool returns_deleted_object(const kube_kind_t *k) {
  static const char *const core[] = {
      "pods",       "services",          "serviceaccounts",
      "namespaces", "persistentvolumes", "persistentvolumeclaims",
      NULL};
  static const char *const storage[] = {
      "storageclasses", "volumeattachments",       "csidrivers",
      "csinodes",       "volumeattributesclasses", NULL};
  const char *const *l = !k->group[0]                        ? core
                         : streq(k->group, "storage.k8s.io") ? storage
                                                             : NULL;
  for (; l && *l; l++)
    if (streq(*l, k->resource))
      return true;
  return false;
}

/* The Status kube-apiserver's generic registry answers a delete with
 * (finalizeDelete): details.kind is the resource, not the Kind. */
static json_object *deleted_status(const kube_kind_t *k, json_object *obj) {
  json_object *st = as_status_new("Success");
  json_object *d = json_object_new_object();
  json_object_object_add(
      d, "name",
      json_object_new_string(kube_json_get_string(obj, "metadata.name") ?: ""));
  if (k->group[0])
    json_object_object_add(d, "group", json_object_new_string(k->group));
  json_object_object_add(d, "kind", json_object_new_string(k->resource));
  const char *uid = kube_json_get_string(obj, "metadata.uid");
  if (uid)
    json_object_object_add(d, "uid", json_object_new_string(uid));
  json_object_object_add(st, "details", d);
  return st;
}

/* An object removed at once: the object itself for the kinds that return
 * it, else a Status (obj is stolen). */
static void reply_deleted(struct req *r, const kube_kind_t *k, int code,
                          json_object *obj) {
  if (returns_deleted_object(k)) {
    as_reply_object(r, code, obj);
    return;
  }
  json_object *st = deleted_status(k, obj);
  json_object_put(obj);
  as_reply_object(r, code, st);
}

/* The store removed what a DELETE asked to remove. */
static void delete_removed(const kube_store_record_t *rec,
                           const kube_error_t *err, void *arg) {
  struct wctx *w = arg;
  if (err || returns_deleted_object(w->k)) {
    as_delete_done(rec, err, arg);
    return;
  }
  reply_deleted(w->r, w->k, w->code, w->obj);
  w->obj = NULL;
  as_wctx_free(w);
}

void as_delete_opts_clear(struct as_delete_opts *o) {
  free(o->propagation);
  free(o->pre_uid);
  free(o->pre_rv);
}

static int delete_opts_parse(struct req *r, struct as_delete_opts *o,
                             kube_error_t *err) {
  memset(o, 0, sizeof(*o));
  o->dry_run = as_dry_run(r);
  const char *g = as_req_query(r, "gracePeriodSeconds");
  if (g && *g) {
    o->has_grace = true;
    o->grace = strtoll(g, NULL, 10);
  }
  const char *p = as_req_query(r, "propagationPolicy");
  if (p && *p)
    o->propagation = strdup(p);
  if (r->body_len == 0)
    return 0;
  json_object *b = kube_json_parse(r->body, r->body_len, err);
  if (!b) {
    err->reason = KUBE_REASON_BAD_REQUEST;
    return -1;
  }
  int rc = as_delete_opts_json(o, b, err);
  json_object_put(b);
  return rc;
}

int as_delete_opts_json(struct as_delete_opts *o, json_object *b,
                        kube_error_t *err) {
  if (!b)
    return 0;
  if (!json_object_is_type(b, json_type_object))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "DeleteOptions must be an object");
  json_object *v;
  if (json_object_object_get_ex(b, "gracePeriodSeconds", &v) &&
      !json_object_is_type(v, json_type_null)) {
    o->has_grace = true;
    o->grace = json_object_get_int64(v);
  }
  const char *s = kube_json_get_string(b, "propagationPolicy");
  if (s) {
    free(o->propagation);
    o->propagation = strdup(s);
  }
  if (json_object_object_get_ex(b, "orphanDependents", &v) &&
      json_object_is_type(v, json_type_boolean)) {
    if (json_object_get_boolean(v) && !o->propagation)
      o->propagation = strdup("Orphan");
    o->orphan_false = !json_object_get_boolean(v);
  }
  s = kube_json_get_string(b, "preconditions.uid");
  if (s)
    o->pre_uid = strdup(s);
  s = kube_json_get_string(b, "preconditions.resourceVersion");
  if (s)
    o->pre_rv = strdup(s);
  if (json_object_object_get_ex(b, "dryRun", &v) &&
      json_object_is_type(v, json_type_array)) {
    for (size_t i = 0; i < json_object_array_length(v); i++)
      if (streq(json_object_get_string(json_object_array_get_idx(v, i)), "All"))
        o->dry_run = true;
  }
  /* BeforeDelete: a negative grace period counts as one second */
  if (o->has_grace && o->grace < 0)
    o->grace = 1;
  return 0;
}

/* The grace period a pod gets (the pod strategy's CheckGracefulDelete):
 * the one asked for, else spec.terminationGracePeriodSeconds (else 0); 0
 * for a pod never bound to a node or already finished. */
static int64_t pod_grace(json_object *pod, const struct as_delete_opts *o) {
  json_object *tg = kube_json_get(pod, "spec.terminationGracePeriodSeconds");
  int64_t grace = o && o->has_grace ? o->grace
                  : tg              ? json_object_get_int64(tg)
                                    : 0;
  const char *node = kube_json_get_string(pod, "spec.nodeName");
  const char *phase = kube_json_get_string(pod, "status.phase");
  if (!node || !*node ||
      (phase && (streq(phase, "Succeeded") || streq(phase, "Failed"))))
    grace = 0;
  return grace < 0 ? 1 : grace;
}

static void set_deletion(json_object *obj, time_t when, int64_t grace) {
  char ts[40];
  json_object *meta = as_meta_of(obj);
  json_object_object_add(
      meta, "deletionTimestamp",
      json_object_new_string(kube_time_format(when, ts, sizeof ts)));
  json_object_object_add(meta, "deletionGracePeriodSeconds",
                         json_object_new_int64(grace));
}

enum as_delete_plan as_delete_plan(json_object *obj, bool graceful,
                                   const struct as_delete_opts *o) {
  bool fin = as_has_finalizers(obj);
  const char *dt = kube_json_get_string(obj, "metadata.deletionTimestamp");
  json_object *dg = kube_json_get(obj, "metadata.deletionGracePeriodSeconds");
  int64_t cur = dg ? json_object_get_int64(dg) : 0;
  if (dt) {
    /* Being deleted already.  No grace period left (or none recorded):
     * delete now -- this also finishes a deletion whose update landed but
     * whose delete did not. */
    if (!graceful || cur <= 0)
      return fin ? AS_DELETE_MARK : AS_DELETE_NOW;
    /* Only a shorter grace period may be given; else it is pending. */
    if (!o || !o->has_grace || o->grace >= cur)
      return AS_DELETE_PENDING;
    struct timespec ts = {0};
    kube_time_parse(dt, &ts, NULL);
    set_deletion(obj, ts.tv_sec - (time_t)cur + (time_t)o->grace, o->grace);
    return o->grace == 0 && !fin ? AS_DELETE_NOW : AS_DELETE_MARK;
  }
  if (!graceful) {
    if (!fin)
      return AS_DELETE_NOW;
    set_deletion(obj, time(NULL), 0);
    return AS_DELETE_MARK;
  }
  int64_t grace = pod_grace(obj, o);
  set_deletion(obj, time(NULL) + (time_t)grace, grace);
  /* a generation, when kept, counts the deletion */
  json_object *gen = kube_json_get(obj, "metadata.generation");
  if (gen && json_object_get_int64(gen) > 0 && (fin || grace > 0))
    json_object_object_add(as_meta_of(obj), "generation",
                           json_object_new_int64(json_object_get_int64(gen) + 1));
  return grace == 0 && !fin ? AS_DELETE_NOW : AS_DELETE_MARK;
}

static void add_finalizer(json_object *obj, const char *f) {
  json_object *meta = as_meta_of(obj);
  json_object *arr = NULL;
  if (!json_object_object_get_ex(meta, "finalizers", &arr) ||
      !json_object_is_type(arr, json_type_array)) {
    arr = json_object_new_array();
    json_object_object_add(meta, "finalizers", arr);
  }
  for (size_t i = 0; i < json_object_array_length(arr); i++)
    if (streq(json_object_get_string(json_object_array_get_idx(arr, i)), f))
      return;
  json_object_array_add(arr, json_object_new_string(f));
}

void as_delete_record(struct req *r, const kube_kind_t *k,
                      const kube_store_record_t *rec, struct as_delete_opts *o,
                      int code) {
  kube_apiserver_t *srv = r->srv;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  cleanup_free char *key = NULL;
  cleanup_free char *val = NULL;
  json_object *obj = as_record_to_tree(rec, &err);
  if (!obj) {
    as_reply_error(r, &err);
    return;
  }
  const char *name = kube_json_get_string(obj, "metadata.name");
  if (o->pre_uid &&
      !streq(o->pre_uid, kube_json_get_string(obj, "metadata.uid") ?: "")) {
    kube_error_set(&err, KUBE_REASON_CONFLICT, 0,
                   "Precondition failed: UID in precondition: %s, UID in "
                   "object meta: %s",
                   o->pre_uid, kube_json_get_string(obj, "metadata.uid") ?: "");
    goto fail;
  }
  if (o->pre_rv) {
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)rec->mod_revision);
    if (!streq(o->pre_rv, buf)) {
      kube_error_set(&err, KUBE_REASON_CONFLICT, 0,
                     "Precondition failed: ResourceVersion in precondition: "
                     "%s, ResourceVersion in object meta: %s",
                     o->pre_rv, buf);
      goto fail;
    }
  }
  bool is_pod = api_kind_strategy(k)->flags & API_KIND_GRACEFUL_DELETE;
  const struct as_kind_hooks *hooks = as_kind_hooks(k);
  /* What answers an object that stays (kube-apiserver's delete handler:
   * 202 when not deleted and orphanDependents is false). */
  int kept_code = o->orphan_false && code == 200 ? 202 : code;
  bool already =
      kube_json_get_string(obj, "metadata.deletionTimestamp") != NULL;
  /* A graceful deletion in progress that this request does not shorten:
   * nothing changes (DeleteOptions cannot add finalizers then). */
  if (already && is_pod && as_delete_plan(obj, true, o) == AS_DELETE_PENDING) {
    as_reply_object(r, kept_code, obj);
    return;
  }
  if (o->propagation && strcasecmp(o->propagation, "Foreground") == 0)
    add_finalizer(obj, "foregroundDeletion");
  else if (o->propagation && strcasecmp(o->propagation, "Orphan") == 0)
    add_finalizer(obj, "orphan");
  if (hooks->mark_deleting)
    hooks->mark_deleting(srv, k, obj, already);
  /* An eviction says why the pod goes (DisruptionTarget), in the same
   * write that marks it. */
  if (is_pod && o->disruption_target && !o->dry_run)
    as_pod_disruption_target(obj);
  bool keep = as_delete_plan(obj, is_pod, o) != AS_DELETE_NOW;
  key = strdup(rec->key);
  if (!key) {
    kube_make_oom(&err);
    goto fail;
  }
  if (!keep) {
    if (o->dry_run) {
      reply_deleted(r, k, code, obj);
      return;
    }
    struct wctx *w = as_wctx_new(r, k, obj, code);
    if (!w) {
      kube_make_oom(&err);
      goto fail;
    }
    w->expected = rec->mod_revision; /* a conflict retries (as_write_done) */
    if (kube_store_delete(srv->store, key, rec->mod_revision, delete_removed, w,
                          &err) < 0) {
      w->obj = NULL;
      free(w);
      goto fail;
    }
    return;
  }
  /* Graceful or finalized deletion: the object stays, marked. */
  if (o->dry_run) {
    as_reply_object(r, kept_code, obj);
    return;
  }
  size_t vlen = 0;
  val = as_tree_to_stored(obj, &vlen);
  /* Nothing changed (deleting what is being deleted): no new revision. */
  if (val && vlen == rec->value_len && memcmp(val, rec->value, vlen) == 0) {
    as_tree_set_rv(obj, rec->mod_revision);
    as_reply_object(r, kept_code, obj);
    return;
  }
  struct wctx *w = val ? as_wctx_new(r, k, obj, kept_code) : NULL;
  if (!w) {
    kube_make_oom(&err);
    goto fail;
  }
  w->expected = rec->mod_revision;
  if (kube_store_update(srv->store, key, val, vlen, rec->mod_revision,
                        as_write_done, w, &err) < 0) {
    w->obj = NULL;
    free(w);
    goto fail;
  }
  if (hooks->deleting)
    hooks->deleting(srv, k, name);
  return;
fail:
  json_object_put(obj);
  as_reply_error(r, &err);
}

void as_handle_delete(struct req *r) {
  const kube_kind_t *k = r->rt.kind;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  struct as_delete_opts o;
  if (delete_opts_parse(r, &o, &err) < 0) {
    as_delete_opts_clear(&o);
    as_reply_error(r, &err);
    return;
  }
  cleanup_free char *key = as_store_key(k, r->rt.ns, r->rt.name);
  kube_store_record_t *rec =
      key ? kube_store_get(r->srv->store, key, &err) : NULL;
  if (!rec) {
    as_delete_opts_clear(&o);
    as_error_not_found(&err, k, r->rt.name);
    as_reply_error(r, &err);
    return;
  }
  as_delete_record(r, k, rec, &o, 200);
  kube_store_record_unref(rec);
  as_delete_opts_clear(&o);
}

/* ---- deletecollection ---- */

/* deletecollection answers once its writes are in the store, so that a
 * LIST right after the reply does not still see what it deleted. */
struct dc {
  struct req *r;
  unsigned pending; /* writes in flight, +1 while the list is walked */
  kube_strbuf_t sb;
};

struct dc_write {
  struct dc *d;
  char *key;
};

static void dc_release(struct dc *d) {
  if (--d->pending)
    return;
  as_reply_json_str(d->r, 200, d->sb.data ? d->sb.data : "{}",
                    d->sb.data ? d->sb.len : 2);
  kube_strbuf_clear(&d->sb);
  free(d);
}

static void dc_write_done(const kube_store_record_t *rec,
                          const kube_error_t *err, void *arg) {
  struct dc_write *w = arg;
  if (err && err->reason != KUBE_REASON_NOT_FOUND)
    log_debug("apiserver: deletecollection write of %s: %s", w->key,
              err->message);
  struct dc *d = w->d;
  free(w->key);
  free(w);
  dc_release(d);
}

static void dc_write(struct dc *d, const char *key, json_object *obj,
                     int64_t rev) {
  kube_apiserver_t *srv = d->r->srv;
  struct dc_write *w = calloc(1, sizeof *w);
  size_t vlen = 0;
  char *val = obj ? as_tree_to_stored(obj, &vlen) : NULL;
  if (!w || !(w->key = strdup(key)) || (obj && !val)) {
    if (w)
      free(w->key);
    free(w);
    free(val);
    return;
  }
  w->d = d;
  d->pending++;
  kube_error_t err = KUBE_ERROR_INIT;
  int rc =
      obj ? kube_store_update(srv->store, key, val, vlen, rev, dc_write_done, w,
                              &err)
          : kube_store_delete(srv->store, key, rev, dc_write_done, w, &err);
  free(val);
  if (rc < 0) {
    log_warn("apiserver: deletecollection of %s: %s", key, err.message);
    free(w->key);
    free(w);
    d->pending--;
  }
  kube_error_clear(&err);
}

void as_handle_deletecollection(struct req *r) {
  const kube_kind_t *k = r->rt.kind;
  kube_apiserver_t *srv = r->srv;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  struct filter f;
  struct as_delete_opts o;
  if (as_filter_parse(r, &f, &err) < 0) {
    as_reply_error(r, &err);
    return;
  }
  if (delete_opts_parse(r, &o, &err) < 0) {
    as_filter_clear(&f);
    as_delete_opts_clear(&o);
    as_reply_error(r, &err);
    return;
  }
  cleanup_free char *prefix = as_store_prefix(k, r->rt.ns);
  kube_store_list_t l = {0};
  if (!prefix || kube_store_list(srv->store, prefix, NULL, 0, &l, &err) < 0) {
    as_filter_clear(&f);
    as_delete_opts_clear(&o);
    as_reply_error(r, &err);
    return;
  }
  struct dc *d = calloc(1, sizeof *d);
  if (!d) {
    kube_store_list_clear(&l);
    as_filter_clear(&f);
    as_delete_opts_clear(&o);
    as_reply_status(r, KUBE_REASON_INTERNAL, "out of memory");
    return;
  }
  d->r = r;
  d->pending = 1;
  char apiv[128];
  kube_kind_api_version(k, apiv, sizeof apiv);
  kube_strbuf_printf(&d->sb,
                     "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{"
                     "\"resourceVersion\":\"%lld\"},\"items\":[",
                     k->list_kind, apiv, (long long)l.revision);
  size_t count = 0;
  for (size_t i = 0; i < l.n; i++) {
    const kube_store_record_t *rec = l.items[i];
    json_object *obj = as_record_to_tree(rec, NULL);
    if (!obj)
      continue;
    if (!as_filter_match(&f, obj)) {
      json_object_put(obj);
      continue;
    }
    if (count++)
      kube_strbuf_append_char(&d->sb, ',');
    /* Served in the version asked for; written back as stored. */
    json_object *served = NULL;
    if (as_record_needs_conversion(rec, k) &&
        json_object_deep_copy(obj, &served, NULL) == 0)
      as_tree_set_api_version(served, k, false);
    kube_strbuf_append(&d->sb, json_object_to_json_string_ext(
                                   served ? served : obj,
                                   JSON_C_TO_STRING_PLAIN |
                                       JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(served);
    if (!o.dry_run) {
      bool is_pod = api_kind_strategy(k)->flags & API_KIND_GRACEFUL_DELETE;
      enum as_delete_plan plan = as_delete_plan(obj, is_pod, &o);
      if (plan == AS_DELETE_NOW)
        dc_write(d, rec->key, NULL, rec->mod_revision);
      else if (plan == AS_DELETE_MARK)
        dc_write(d, rec->key, obj, rec->mod_revision);
    }
    json_object_put(obj);
  }
  kube_strbuf_append(&d->sb, "]}");
  kube_store_list_clear(&l);
  as_filter_clear(&f);
  as_delete_opts_clear(&o);
  dc_release(d);
}
