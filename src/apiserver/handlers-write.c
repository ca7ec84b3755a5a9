/* SPDX-License-Identifier: Apache-2.0 */
/* create, update (PUT), the shared update pipeline used by PATCH and the
 * subresources, and internal writes. */
#include <strings.h>
#include <time.h>

#include "apiserver/internal.h"
#include "apiserver/patch.h"
#include "apiserver/patch-schema.h"

/* A store write on behalf of a request (r may go away only through
 * as_req_finish, which happens in the callback). */
struct wctx {
  struct req *r;
  const kube_kind_t *k;
  json_object *obj; /* served object (resourceVersion set on success) */
  int code;         /* reply code on success */
  bool create;
};

/* Success replies carry the object, or what a subresource makes of it. */
static void reply_object(struct req *r, int code, json_object *obj) {
  if (r->reply_transform)
    obj = r->reply_transform(r, obj);
  as_reply_json(r, code, obj);
}

static void wctx_free(struct wctx *w) {
  if (w->obj)
    json_object_put(w->obj);
  free(w);
}

bool as_dry_run(const struct req *r) {
  const char *d = as_req_query(r, "dryRun");
  return d && *d && strcasecmp(d, "All") == 0;
}

/* fieldManager, else the User-Agent up to its first '/' (kubectl/v1.32
 * -> "kubectl"), as kube-apiserver does. */
static const char *field_manager(struct req *r, char *buf, size_t len) {
  const char *m = as_req_query(r, "fieldManager");
  if (m && *m)
    return m;
  if (r->user_agent && *r->user_agent) {
    size_t n = strcspn(r->user_agent, "/");
    if (n > 0 && n < len) {
      memcpy(buf, r->user_agent, n);
      buf[n] = '\0';
      return buf;
    }
  }
  return "unknown";
}

static void write_done(const kube_store_record_t *rec, const kube_error_t *err,
                       void *arg) {
  struct wctx *w = arg;
  struct req *r = w->r;
  if (err) {
    kube_error_t e = KUBE_ERROR_INIT;
    const char *name = kube_json_get_string(w->obj, "metadata.name");
    if (err->reason == KUBE_REASON_ALREADY_EXISTS) {
      char kb[128];
      if (w->k->group[0])
        snprintf(kb, sizeof kb, "%s.%s", w->k->resource, w->k->group);
      else
        snprintf(kb, sizeof kb, "%s", w->k->resource);
      kube_error_set(&e, KUBE_REASON_ALREADY_EXISTS, 0,
                     "%s \"%s\" already exists", kb, name ? name : "");
      kube_error_set_details(&e, kb, name);
    } else if (err->reason == KUBE_REASON_CONFLICT) {
      as_error_conflict(&e, w->k, name ? name : "");
    } else if (err->reason == KUBE_REASON_NOT_FOUND) {
      as_error_not_found(&e, w->k, name ? name : "");
    } else {
      kube_error_set(&e, err->reason ? err->reason : KUBE_REASON_INTERNAL,
                     err->errnum, "%s",
                     err->message ? err->message : "store write failed");
    }
    as_reply_error(r, &e);
    kube_error_clear(&e);
    wctx_free(w);
    return;
  }
  /* The stored text is the object (less resourceVersion and selfLink):
   * serve it as GET would, without encoding the tree again. */
  json_object *meta = NULL;
  if (!r->reply_transform &&
      json_object_object_get_ex(w->obj, "metadata", &meta) &&
      json_object_is_type(meta, json_type_object) &&
      !json_object_object_get_ex(meta, "selfLink", NULL)) {
    size_t len = 0;
    char *json = as_record_to_json(rec, &len);
    if (json) {
      as_reply_json_take(r, w->code, json, len);
      wctx_free(w);
      return;
    }
  }
  as_tree_set_rv(w->obj, rec->mod_revision);
  reply_object(r, w->code, json_object_get(w->obj));
  wctx_free(w);
}

/* Set kind/apiVersion from the URL when missing; BadRequest on mismatch. */
static int check_type(json_object *obj, const kube_kind_t *k,
                      kube_error_t *err) {
  char apiv[128];
  kube_kind_api_version(k, apiv, sizeof apiv);
  const char *av = kube_json_get_string(obj, "apiVersion");
  const char *kd = kube_json_get_string(obj, "kind");
  if (!av || !*av)
    json_object_object_add(obj, "apiVersion", json_object_new_string(apiv));
  else if (!streq(av, apiv))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "the API version in the data (%s) does not match "
                          "the expected API version (%s)",
                          av, apiv);
  if (!kd || !*kd)
    json_object_object_add(obj, "kind", json_object_new_string(k->kind));
  else if (!streq(kd, k->kind))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "the kind in the data (%s) does not match the "
                          "expected kind (%s)",
                          kd, k->kind);
  return 0;
}

static int check_namespace(json_object *obj, const kube_kind_t *k,
                           const char *url_ns, kube_error_t *err) {
  json_object *meta = as_meta_of(obj);
  const char *ns = kube_json_get_string(obj, "metadata.namespace");
  if (!k->namespaced) {
    json_object_object_del(meta, "namespace");
    return 0;
  }
  if (ns && *ns && url_ns && !streq(ns, url_ns))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "the namespace of the provided object does not "
                          "match the namespace sent on the request");
  if (url_ns)
    json_object_object_add(meta, "namespace", json_object_new_string(url_ns));
  return 0;
}

static void random_suffix(char *out, size_t n) {
  static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  char uuid[40];
  kube_uuid_generate(uuid, sizeof uuid);
  unsigned long long seed = 0;
  for (size_t i = 0; uuid[i]; i++)
    seed = seed * 131 + (unsigned char)uuid[i];
  for (size_t i = 0; i < n; i++) {
    out[i] = alphabet[seed % (sizeof(alphabet) - 1)];
    seed /= (sizeof(alphabet) - 1);
    if (!seed)
      seed = (unsigned long long)kube_time_mono_ns() * 2654435761u;
  }
  out[n] = '\0';
}

static bool is_core(const kube_kind_t *k, const char *kind) {
  return !k->group[0] && streq(k->kind, kind);
}

/* What the registries' PrepareForCreate do: a new pod is Pending. */
static void prepare_create(const kube_kind_t *k, json_object *obj) {
  if (is_core(k, "Pod")) {
    json_object *st = kube_json_get(obj, "status");
    if (!st || !json_object_is_type(st, json_type_object)) {
      st = json_object_new_object();
      json_object_object_add(obj, "status", st);
    }
    if (!kube_json_get_string(st, "phase"))
      json_object_object_add(st, "phase", json_object_new_string("Pending"));
  } else if (is_core(k, "Namespace")) {
    json_object *st = kube_json_get(obj, "status");
    if (!st || !json_object_is_type(st, json_type_object)) {
      st = json_object_new_object();
      json_object_object_add(obj, "status", st);
    }
    json_object_object_add(st, "phase", json_object_new_string("Active"));
    const char *name = kube_json_get_string(obj, "metadata.name");
    json_object *meta = as_meta_of(obj);
    json_object *labels = kube_json_get(meta, "labels");
    if (!labels || !json_object_is_type(labels, json_type_object)) {
      labels = json_object_new_object();
      json_object_object_add(meta, "labels", labels);
    }
    if (name)
      json_object_object_add(labels, "kubernetes.io/metadata.name",
                             json_object_new_string(name));
    json_object *spec = kube_json_get(obj, "spec");
    if (!spec || !json_object_is_type(spec, json_type_object)) {
      spec = json_object_new_object();
      json_object_object_add(obj, "spec", spec);
    }
    if (!kube_json_get(spec, "finalizers")) {
      json_object *fin = json_object_new_array();
      json_object_array_add(fin, json_object_new_string("kubernetes"));
      json_object_object_add(spec, "finalizers", fin);
    }
  }
}

static void strip_server_fields(json_object *meta) {
  json_object_object_del(meta, "resourceVersion");
  json_object_object_del(meta, "selfLink");
  json_object_object_del(meta, "deletionTimestamp");
  json_object_object_del(meta, "deletionGracePeriodSeconds");
}

static void record_manager(struct req *r, json_object *obj, json_object *old) {
  if (r->content_type && strstr(r->content_type, "apply-patch"))
    return; /* kube_apply recorded it */
  kube_error_t e = KUBE_ERROR_INIT;
  char mbuf[128];
  if (kube_managed_fields_update(obj, old, field_manager(r, mbuf, sizeof mbuf),
                                 &e) < 0)
    log_debug("apiserver: managedFields: %s", e.message);
  kube_error_clear(&e);
}

void as_write_create(struct req *r, const kube_kind_t *k, json_object *obj) {
  kube_apiserver_t *srv = r->srv;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  cleanup_free char *key = NULL;
  cleanup_free char *val = NULL;
  if (check_type(obj, k, &err) < 0 ||
      check_namespace(obj, k, r->rt.ns, &err) < 0)
    goto fail;
  json_object *meta = as_meta_of(obj);
  const char *name = kube_json_get_string(obj, "metadata.name");
  if (!name || !*name) {
    const char *gen = kube_json_get_string(obj, "metadata.generateName");
    if (gen && *gen) {
      char suffix[8];
      random_suffix(suffix, 5);
      char full[300];
      snprintf(full, sizeof full, "%.*s%s", 58, gen, suffix);
      json_object_object_add(meta, "name", json_object_new_string(full));
    }
  }
  const char *ns =
      k->namespaced ? kube_json_get_string(obj, "metadata.namespace") : NULL;
  if (k->namespaced && (!ns || !*ns)) {
    kube_error_set(&err, KUBE_REASON_BAD_REQUEST, 0,
                   "the namespace of the object is missing");
    goto fail;
  }
  if (k->namespaced && as_namespace_check_active(srv, ns, &err) < 0)
    goto fail;
  strip_server_fields(meta);
  /* The uid exists before defaulting, as in Kubernetes: Job defaulting
   * derives its controller-uid selector from it. */
  char uid[40], ts[40];
  kube_uuid_generate(uid, sizeof uid);
  json_object_object_add(meta, "uid", json_object_new_string(uid));
  if (kube_json_default(obj, k, &err) < 0)
    goto fail;
  prepare_create(k, obj);
  if (is_core(k, "Service") &&
      as_services_prepare(srv, k, obj, NULL, NULL, &err) < 0)
    goto fail;
  if (kube_json_validate(obj, NULL, k, &err) < 0)
    goto fail;
  json_object_object_add(meta, "creationTimestamp",
                         json_object_new_string(as_now_rfc3339(ts, sizeof ts)));
  /* Only objects with a desired state track its generation. */
  if (json_object_object_get_ex(obj, "spec", NULL))
    json_object_object_add(meta, "generation", json_object_new_int64(1));
  record_manager(r, obj, NULL);
  name = kube_json_get_string(obj, "metadata.name");
  if (as_dry_run(r)) {
    reply_object(r, 201, obj);
    return;
  }
  key = as_store_key(k, ns, name);
  size_t vlen = 0;
  val = as_tree_to_stored(obj, &vlen);
  if (!key || !val) {
    kube_make_oom(&err);
    goto fail;
  }
  struct wctx *w = calloc(1, sizeof(*w));
  if (!w) {
    kube_make_oom(&err);
    goto fail;
  }
  w->r = r;
  w->k = k;
  w->obj = obj;
  w->code = 201;
  w->create = true;
  if (kube_store_create(srv->store, key, val, vlen, write_done, w, &err) < 0) {
    w->obj = NULL;
    free(w);
    goto fail;
  }
  return;
fail:
  json_object_put(obj);
  as_reply_error(r, &err);
}

void as_handle_create(struct req *r) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  json_object *obj = as_decode_body(r, &err);
  if (!obj) {
    as_reply_error(r, &err);
    return;
  }
  as_write_create(r, r->rt.kind, obj);
}

/* True when anything but metadata and status differs. */
static bool spec_changed(json_object *a, json_object *b) {
  json_object_object_foreach(a, ka, va) {
    if (streq(ka, "metadata") || streq(ka, "status") || streq(ka, "kind") ||
        streq(ka, "apiVersion"))
      continue;
    json_object *vb = NULL;
    if (!json_object_object_get_ex(b, ka, &vb) || !json_object_equal(va, vb))
      return true;
  }
  json_object_object_foreach(b, kb, vb2) {
    (void)vb2;
    if (streq(kb, "metadata") || streq(kb, "status") || streq(kb, "kind") ||
        streq(kb, "apiVersion"))
      continue;
    if (!json_object_object_get_ex(a, kb, NULL))
      return true;
  }
  return false;
}

static void copy_key(json_object *dst, json_object *src, const char *key) {
  json_object *v = NULL;
  if (json_object_object_get_ex(src, key, &v))
    json_object_object_add(dst, key, json_object_get(v));
  else
    json_object_object_del(dst, key);
}

static void delete_done(const kube_store_record_t *rec, const kube_error_t *err,
                        void *arg);

static bool deletion_due(json_object *obj) {
  const char *dt = kube_json_get_string(obj, "metadata.deletionTimestamp");
  if (!dt || as_has_finalizers(obj))
    return false;
  json_object *g = kube_json_get(obj, "metadata.deletionGracePeriodSeconds");
  if (!g || json_object_get_int64(g) == 0)
    return true;
  struct timespec ts;
  return kube_time_parse(dt, &ts, NULL) == 0 && ts.tv_sec <= time(NULL);
}

void as_write_update(struct req *r, const kube_kind_t *k,
                     const kube_store_record_t *old_rec, json_object *obj,
                     enum write_mode mode, int reply_code) {
  as_write_update_old(r, k, old_rec, NULL, obj, mode, reply_code);
}

void as_write_update_old(struct req *r, const kube_kind_t *k,
                         const kube_store_record_t *old_rec, json_object *old,
                         json_object *obj, enum write_mode mode,
                         int reply_code) {
  kube_apiserver_t *srv = r->srv;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  cleanup_free char *key = NULL;
  cleanup_free char *val = NULL;
  if (!old)
    old = as_record_to_tree(old_rec, &err);
  if (!old)
    goto fail;
  if (check_type(obj, k, &err) < 0 ||
      check_namespace(obj, k, r->rt.ns, &err) < 0)
    goto fail;
  const char *name = kube_json_get_string(obj, "metadata.name");
  if (!name || !streq(name, r->rt.name)) {
    if (!name || !*name) {
      json_object_object_add(as_meta_of(obj), "name",
                             json_object_new_string(r->rt.name));
    } else {
      kube_error_set(&err, KUBE_REASON_BAD_REQUEST, 0,
                     "the name of the object (%s) does not match the name on "
                     "the URL (%s)",
                     name, r->rt.name);
      goto fail;
    }
  }
  const char *rv = kube_json_get_string(obj, "metadata.resourceVersion");
  if (rv && *rv) {
    char *end;
    long long want = strtoll(rv, &end, 10);
    if (*end || want != old_rec->mod_revision) {
      as_error_conflict(&err, k, r->rt.name);
      goto fail;
    }
  }
  if (mode == WRITE_STATUS) {
    /* Only status moves; everything else stays as stored. */
    json_object *n = old;
    old = as_patch_json_copy(n);
    if (!old)
      old = as_record_to_tree(old_rec, &err);
    copy_key(n, obj, "status");
    json_object_put(obj);
    obj = n;
    if (!old)
      goto fail;
  } else if (mode == WRITE_MAIN && kind_has_sub(k, "status")) {
    copy_key(obj, old, "status");
  }
  json_object *meta = as_meta_of(obj);
  json_object *ometa = as_meta_of(old);
  static const char *const keep[] = {"uid",
                                     "creationTimestamp",
                                     "deletionTimestamp",
                                     "deletionGracePeriodSeconds",
                                     "generation",
                                     NULL};
  for (size_t i = 0; keep[i]; i++)
    copy_key(meta, ometa, keep[i]);
  if (!json_object_object_get_ex(meta, "managedFields", NULL))
    copy_key(meta, ometa, "managedFields");
  if (kube_json_default(obj, k, &err) < 0)
    goto fail;
  if (is_core(k, "Service") &&
      as_services_prepare(srv, k, obj, old, old_rec->key, &err) < 0)
    goto fail;
  if (kube_json_validate(obj, r->no_update_rules ? NULL : old, k, &err) < 0)
    goto fail;
  if (spec_changed(obj, old) && json_object_object_get_ex(obj, "spec", NULL)) {
    json_object *g = NULL;
    int64_t gen = json_object_object_get_ex(meta, "generation", &g)
                      ? json_object_get_int64(g)
                      : 0;
    json_object_object_add(meta, "generation", json_object_new_int64(gen + 1));
  }
  record_manager(r, obj, old);
  key = as_store_key(k, r->rt.ns, r->rt.name);
  /* The last finalizer of a deleted object went away: delete it now, unless
   * a graceful deletion is still running (a kubelet's status updates during
   * a pod's grace period must not delete it). */
  if (deletion_due(obj)) {
    if (as_dry_run(r)) {
      reply_object(r, reply_code, obj);
      json_object_put(old);
      return;
    }
    struct wctx *w = calloc(1, sizeof(*w));
    if (!w || !key) {
      free(w);
      kube_make_oom(&err);
      goto fail;
    }
    w->r = r;
    w->k = k;
    w->obj = obj;
    w->code = reply_code;
    if (kube_store_delete(srv->store, key, old_rec->mod_revision, delete_done,
                          w, &err) < 0) {
      w->obj = NULL;
      free(w);
      goto fail;
    }
    json_object_put(old);
    return;
  }
  size_t vlen = 0;
  val = as_tree_to_stored(obj, &vlen);
  if (!key || !val) {
    kube_make_oom(&err);
    goto fail;
  }
  json_object_put(old);
  old = NULL;
  /* No change: Kubernetes answers without a write (no new revision). */
  if (vlen == old_rec->value_len && memcmp(val, old_rec->value, vlen) == 0) {
    as_tree_set_rv(obj, old_rec->mod_revision);
    reply_object(r, reply_code, obj);
    return;
  }
  if (as_dry_run(r)) {
    as_tree_set_rv(obj, old_rec->mod_revision);
    reply_object(r, reply_code, obj);
    return;
  }
  struct wctx *w = calloc(1, sizeof(*w));
  if (!w) {
    kube_make_oom(&err);
    goto fail;
  }
  w->r = r;
  w->k = k;
  w->obj = obj;
  w->code = reply_code;
  if (kube_store_update(srv->store, key, val, vlen, old_rec->mod_revision,
                        write_done, w, &err) < 0) {
    w->obj = NULL;
    free(w);
    goto fail;
  }
  return;
fail:
  if (old)
    json_object_put(old);
  json_object_put(obj);
  as_reply_error(r, &err);
}

void as_handle_update(struct req *r) {
  const kube_kind_t *k = r->rt.kind;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  json_object *obj = as_decode_body(r, &err);
  if (!obj) {
    as_reply_error(r, &err);
    return;
  }
  cleanup_free char *key = as_store_key(k, r->rt.ns, r->rt.name);
  kube_store_record_t *rec =
      key ? kube_store_get(r->srv->store, key, &err) : NULL;
  if (!rec) {
    json_object_put(obj);
    if (err.reason == KUBE_REASON_NOT_FOUND || !key)
      as_error_not_found(&err, k, r->rt.name);
    as_reply_error(r, &err);
    return;
  }
  as_write_update(r, k, rec, obj,
                  kind_has_sub(k, "status") ? WRITE_MAIN : WRITE_ALL, 200);
  kube_store_record_unref(rec);
}

/* ------------------------------------------------------------------------ */
/* Delete                                                                    */
/* ------------------------------------------------------------------------ */

static void delete_done(const kube_store_record_t *rec, const kube_error_t *err,
                        void *arg) {
  struct wctx *w = arg;
  if (!err) {
    /* The deleted object carries the delete's revision. */
    as_tree_set_rv(w->obj, rec->mod_revision);
    reply_object(w->r, w->code, json_object_get(w->obj));
    wctx_free(w);
    return;
  }
  write_done(rec, err, arg);
}

struct delete_opts {
  bool has_grace;
  int64_t grace;
  char *propagation;
  char *pre_uid;
  char *pre_rv;
  bool dry_run;
};

static void delete_opts_clear(struct delete_opts *o) {
  free(o->propagation);
  free(o->pre_uid);
  free(o->pre_rv);
}

static int delete_opts_parse(struct req *r, struct delete_opts *o,
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
  if (!json_object_is_type(b, json_type_object)) {
    json_object_put(b);
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "DeleteOptions must be an object");
  }
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
      json_object_get_boolean(v) && !o->propagation)
    o->propagation = strdup("Orphan");
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
  json_object_put(b);
  if (o->has_grace && o->grace < 0)
    o->grace = 0;
  return 0;
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

/* Delete one stored object as `r` asks (graceful, finalizers, namespace
 * termination).  Replies to r. */
static void delete_record(struct req *r, const kube_kind_t *k,
                          const kube_store_record_t *rec,
                          struct delete_opts *o) {
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
  bool is_pod = streq(k->kind, "Pod") && !k->group[0];
  bool is_ns = streq(k->kind, "Namespace") && !k->group[0];
  int64_t grace = 0;
  if (is_pod) {
    json_object *tg = kube_json_get(obj, "spec.terminationGracePeriodSeconds");
    grace = o->has_grace ? o->grace : tg ? json_object_get_int64(tg) : 30;
    const char *node = kube_json_get_string(obj, "spec.nodeName");
    const char *phase = kube_json_get_string(obj, "status.phase");
    /* Never scheduled or already finished: nothing to stop gracefully. */
    if (!node || !*node ||
        (phase && (streq(phase, "Succeeded") || streq(phase, "Failed"))))
      grace = 0;
  }
  json_object *meta = as_meta_of(obj);
  bool already =
      kube_json_get_string(obj, "metadata.deletionTimestamp") != NULL;
  if (o->propagation && strcasecmp(o->propagation, "Foreground") == 0)
    add_finalizer(obj, "foregroundDeletion");
  else if (o->propagation && strcasecmp(o->propagation, "Orphan") == 0)
    add_finalizer(obj, "orphan");
  if (is_ns) {
    /* spec.finalizers "kubernetes" holds the namespace until the cleanup
     * removed its content (and then the finalizer). */
    json_object *spec = kube_json_get(obj, "spec");
    if (!spec || !json_object_is_type(spec, json_type_object)) {
      spec = json_object_new_object();
      json_object_object_add(obj, "spec", spec);
    }
    json_object *sf = kube_json_get(spec, "finalizers");
    bool have = false;
    for (size_t i = 0; sf && json_object_is_type(sf, json_type_array) &&
                       i < json_object_array_length(sf);
         i++)
      if (streq(json_object_get_string(json_object_array_get_idx(sf, i)),
                "kubernetes"))
        have = true;
    if (!have && !already) {
      if (!sf || !json_object_is_type(sf, json_type_array)) {
        sf = json_object_new_array();
        json_object_object_add(spec, "finalizers", sf);
      }
      json_object_array_add(sf, json_object_new_string("kubernetes"));
    }
    json_object *st = NULL;
    if (!json_object_object_get_ex(obj, "status", &st) ||
        !json_object_is_type(st, json_type_object)) {
      st = json_object_new_object();
      json_object_object_add(obj, "status", st);
    }
    json_object_object_add(st, "phase", json_object_new_string("Terminating"));
  }
  bool keep = as_has_finalizers(obj) || grace > 0;
  key = strdup(rec->key);
  if (!key) {
    kube_make_oom(&err);
    goto fail;
  }
  if (!keep) {
    if (o->dry_run) {
      reply_object(r, 200, obj);
      return;
    }
    struct wctx *w = calloc(1, sizeof(*w));
    if (!w) {
      kube_make_oom(&err);
      goto fail;
    }
    w->r = r;
    w->k = k;
    w->obj = obj;
    w->code = 200;
    if (kube_store_delete(srv->store, key, rec->mod_revision, delete_done, w,
                          &err) < 0) {
      w->obj = NULL;
      free(w);
      goto fail;
    }
    return;
  }
  /* Graceful or finalized deletion: mark the object, keep it. */
  if (!already || (is_pod && grace >= 0)) {
    char ts[40];
    time_t when = time(NULL) + (time_t)grace;
    const char *cur = kube_json_get_string(obj, "metadata.deletionTimestamp");
    struct timespec cts;
    bool sooner = true;
    if (cur && kube_time_parse(cur, &cts, NULL) == 0 && cts.tv_sec <= when)
      sooner = false;
    if (sooner) {
      json_object_object_add(
          meta, "deletionTimestamp",
          json_object_new_string(kube_time_format(when, ts, sizeof ts)));
      json_object_object_add(meta, "deletionGracePeriodSeconds",
                             json_object_new_int64(grace));
    }
  }
  if (o->dry_run) {
    reply_object(r, 200, obj);
    return;
  }
  size_t vlen = 0;
  val = as_tree_to_stored(obj, &vlen);
  struct wctx *w = val ? calloc(1, sizeof(*w)) : NULL;
  if (!w) {
    kube_make_oom(&err);
    goto fail;
  }
  w->r = r;
  w->k = k;
  w->obj = obj;
  w->code = 200;
  if (kube_store_update(srv->store, key, val, vlen, rec->mod_revision,
                        write_done, w, &err) < 0) {
    w->obj = NULL;
    free(w);
    goto fail;
  }
  if (is_pod && grace > 0)
    as_graceful_schedule(srv, key, grace);
  if (is_ns)
    as_namespace_start_cleanup(srv, name);
  return;
fail:
  json_object_put(obj);
  as_reply_error(r, &err);
}

void as_handle_delete(struct req *r) {
  const kube_kind_t *k = r->rt.kind;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  struct delete_opts o;
  if (delete_opts_parse(r, &o, &err) < 0) {
    delete_opts_clear(&o);
    as_reply_error(r, &err);
    return;
  }
  cleanup_free char *key = as_store_key(k, r->rt.ns, r->rt.name);
  kube_store_record_t *rec =
      key ? kube_store_get(r->srv->store, key, &err) : NULL;
  if (!rec) {
    delete_opts_clear(&o);
    as_error_not_found(&err, k, r->rt.name);
    as_reply_error(r, &err);
    return;
  }
  delete_record(r, k, rec, &o);
  kube_store_record_unref(rec);
  delete_opts_clear(&o);
}

/* ------------------------------------------------------------------------ */
/* Internal writes                                                           */
/* ------------------------------------------------------------------------ */

static void internal_done(const kube_store_record_t *rec,
                          const kube_error_t *err, void *arg) {
  char *key = arg;
  if (err && err->reason != KUBE_REASON_NOT_FOUND)
    log_debug("apiserver: internal write of %s: %s", key, err->message);
  free(key);
}

void as_internal_delete(kube_apiserver_t *srv, const char *key, int64_t rev) {
  char *k = strdup(key);
  if (!k)
    return;
  kube_error_t err = KUBE_ERROR_INIT;
  if (kube_store_delete(srv->store, key, rev, internal_done, k, &err) < 0) {
    log_warn("apiserver: delete %s: %s", key, err.message);
    free(k);
  }
  kube_error_clear(&err);
}

void as_internal_update(kube_apiserver_t *srv, const char *key,
                        json_object *obj, int64_t rev) {
  size_t vlen = 0;
  char *val = as_tree_to_stored(obj, &vlen);
  char *k = strdup(key);
  if (!val || !k) {
    free(val);
    free(k);
    return;
  }
  kube_error_t err = KUBE_ERROR_INIT;
  if (kube_store_update(srv->store, key, val, vlen, rev, internal_done, k,
                        &err) < 0) {
    log_warn("apiserver: update %s: %s", key, err.message);
    free(k);
  }
  free(val);
  kube_error_clear(&err);
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
  struct delete_opts o;
  if (as_filter_parse(r, &f, &err) < 0) {
    as_reply_error(r, &err);
    return;
  }
  if (delete_opts_parse(r, &o, &err) < 0) {
    as_filter_clear(&f);
    delete_opts_clear(&o);
    as_reply_error(r, &err);
    return;
  }
  cleanup_free char *prefix = as_store_prefix(k, r->rt.ns);
  kube_store_list_t l = {0};
  if (!prefix || kube_store_list(srv->store, prefix, NULL, 0, &l, &err) < 0) {
    as_filter_clear(&f);
    delete_opts_clear(&o);
    as_reply_error(r, &err);
    return;
  }
  struct dc *d = calloc(1, sizeof *d);
  if (!d) {
    kube_store_list_clear(&l);
    as_filter_clear(&f);
    delete_opts_clear(&o);
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
    kube_strbuf_append(&d->sb, json_object_to_json_string_ext(
                                   obj, JSON_C_TO_STRING_PLAIN |
                                            JSON_C_TO_STRING_NOSLASHESCAPE));
    if (!o.dry_run) {
      bool is_pod = streq(k->kind, "Pod") && !k->group[0];
      const char *node = kube_json_get_string(obj, "spec.nodeName");
      int64_t grace = o.has_grace ? o.grace : 30;
      if (as_has_finalizers(obj) || (is_pod && node && *node && grace > 0)) {
        if (!kube_json_get_string(obj, "metadata.deletionTimestamp")) {
          char ts[40];
          json_object *meta = as_meta_of(obj);
          json_object_object_add(
              meta, "deletionTimestamp",
              json_object_new_string(kube_time_format(
                  time(NULL) + (as_has_finalizers(obj) ? 0 : grace), ts,
                  sizeof ts)));
          json_object_object_add(meta, "deletionGracePeriodSeconds",
                                 json_object_new_int64(grace));
          dc_write(d, rec->key, obj, rec->mod_revision);
          if (is_pod && grace > 0)
            as_graceful_schedule(srv, rec->key, grace);
        }
      } else {
        dc_write(d, rec->key, NULL, rec->mod_revision);
      }
    }
    json_object_put(obj);
  }
  kube_strbuf_append(&d->sb, "]}");
  kube_store_list_clear(&l);
  as_filter_clear(&f);
  delete_opts_clear(&o);
  dc_release(d);
}
