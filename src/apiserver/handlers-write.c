/* SPDX-License-Identifier: Apache-2.0 */
/* create, update (PUT), the shared update pipeline used by PATCH and the
 * subresources, and internal writes. */
#include <strings.h>
#include <time.h>

#include "apiserver/internal.h"
#include "apiserver/patch.h"
#include "apiserver/patch-schema.h"

/* Success replies carry the object, or what a subresource makes of it. */
void as_reply_object(struct req *r, int code, json_object *obj) {
  if (r->reply_transform)
    obj = r->reply_transform(r, obj);
  as_reply_json(r, code, obj);
}

struct wctx *as_wctx_new(struct req *r, const kube_kind_t *k, json_object *obj,
                         int code) {
  struct wctx *w = calloc(1, sizeof(*w));
  if (!w)
    return NULL;
  w->r = r;
  w->k = k;
  w->obj = obj;
  w->code = code;
  return w;
}

void as_wctx_free(struct wctx *w) {
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

/* Store conflicts an update retries before answering 409.  Each retry
 * waits until the write it lost to is in the cache, so every round some
 * writer wins; with n writers racing on one object a given one loses a
 * round with odds (n-1)/n, which a small bound would turn into 409s
 * (kube-apiserver retries until the request's deadline). */
#define MAX_CONFLICT_RETRIES 256

static void redispatch_cb(void *arg) {
  as_redispatch(arg);
}

void as_write_done(const kube_store_record_t *rec, const kube_error_t *err,
                   void *arg) {
  struct wctx *w = arg;
  struct req *r = w->r;
  if (w->create)
    as_quota_settled(r->srv, w->k, w->obj);
  if (err && err->reason == KUBE_REASON_CONFLICT &&
      (r->method == M_PUT || r->method == M_PATCH || r->method == M_DELETE ||
       r->evict_deleting) &&
      r->conflict_retries < MAX_CONFLICT_RETRIES && !r->done) {
    /* Lost to a concurrent write: serve the request again on what won,
     * once the store holds it (a resourceVersion the client gave makes
     * the new attempt a 409 of its own; a DELETE's preconditions are
     * checked again on the new object, as kube-apiserver's
     * GuaranteedUpdate does: a controller's status write racing a
     * `kubectl delete` is no 409). */
    cleanup_free char *key = as_store_key(w->k, r->rt.ns, r->rt.name);
    if (key && kube_store_when_settled(r->srv->store, key, w->expected,
                                       redispatch_cb, r, NULL) == 0) {
      r->conflict_retries++;
      as_wctx_free(w);
      return;
    }
  }
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
    as_wctx_free(w);
    return;
  }
  const struct as_kind_hooks *hooks = as_kind_hooks(w->k);
  if (hooks->written)
    hooks->written(r->srv, w->k, rec);
  /* The stored text is the object (less resourceVersion and selfLink):
   * serve it as GET would, without encoding the tree again. */
  json_object *meta = NULL;
  if (!r->reply_transform &&
      json_object_object_get_ex(w->obj, "metadata", &meta) &&
      json_object_is_type(meta, json_type_object) &&
      !json_object_object_get_ex(meta, "selfLink", NULL)) {
    size_t len = 0;
    char *json = as_record_to_json_for(rec, w->k, &len);
    if (json) {
      if (w->create && kind_has_sub(w->k, "binding") &&
          as_tree_in_stored_form(w->obj)) {
        /* The in-process watchers' object for the event (watch-trees.c),
         * sharing all but the top level and metadata with the tree that
         * goes on to the binding that follows (recent.c), which edits
         * copies of what it changes. */
        as_watch_offer(r->srv, w->k, rec, w->obj, AS_OFFER_SHARE);
        as_recent_put(r->srv, rec->key, rec->mod_revision, w->obj);
        w->obj = NULL;
      } else {
        /* A created object's tree (parsed from this request's body) has
         * no other owner once the reply is the stored text: the watchers
         * take it rather than a copy. */
        as_watch_offer(r->srv, w->k, rec, w->obj,
                       w->create ? AS_OFFER_TAKE : AS_OFFER_COPY);
      }
      as_reply_json_take(r, w->code, json, len);
      as_wctx_free(w);
      return;
    }
  }
  as_tree_set_rv(w->obj, rec->mod_revision);
  as_watch_offer(r->srv, w->k, rec, w->obj,
                 r->write_tree_ours && r->reply_transform ? AS_OFFER_TAKE
                                                          : AS_OFFER_COPY);
  as_reply_object(r, w->code, json_object_get(w->obj));
  as_wctx_free(w);
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
  /* Writes through /status and /scale get entries of their own. */
  const char *sub = r->rt.sub ? r->rt.sub : "";
  if (kube_managed_fields_update_sub(
          obj, old, field_manager(r, mbuf, sizeof mbuf), sub, &e) < 0)
    log_debug("apiserver: managedFields: %s", e.message);
  kube_error_clear(&e);
}

void as_write_create(struct req *r, const kube_kind_t *k, json_object *obj) {
  kube_apiserver_t *srv = r->srv;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  cleanup_free char *key = NULL;
  cleanup_free char *val = NULL;
  if (check_type(obj, k, &err) < 0 ||
      check_namespace(obj, k, r->rt.ns, &err) < 0 ||
      as_check_fields(r, k, obj, &err) < 0)
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
  const struct kube_kind_strategy *st = api_kind_strategy(k);
  const struct as_kind_hooks *hooks = as_kind_hooks(k);
  if (hooks->admit_create && hooks->admit_create(srv, k, obj, &err) < 0)
    goto fail;
  strip_server_fields(meta);
  /* The uid exists before defaulting, as in Kubernetes: Job defaulting
   * derives its controller-uid selector from it. */
  char uid[40], ts[40];
  kube_uuid_generate(uid, sizeof uid);
  json_object_object_add(meta, "uid", json_object_new_string(uid));
  if (kube_json_default(obj, k, &err) < 0)
    goto fail;
  if (st->prepare_create)
    st->prepare_create(obj, k);
  if (hooks->prepare && hooks->prepare(srv, k, obj, NULL, NULL, &err) < 0)
    goto fail;
  if (as_admit(r, k, true, KUBE_ADMISSION_CREATE, obj, NULL, &err) < 0 ||
      kube_json_validate(obj, NULL, k, &err) < 0 ||
      as_admit(r, k, false, KUBE_ADMISSION_CREATE, obj, NULL, &err) < 0)
    goto fail;
  json_object_object_add(meta, "creationTimestamp",
                         json_object_new_string(as_now_rfc3339(ts, sizeof ts)));
  /* Only objects with a desired state track its generation (custom
   * resources always do). */
  if (json_object_object_get_ex(obj, "spec", NULL) ||
      (st->flags & API_KIND_GENERATION_ALWAYS))
    json_object_object_add(meta, "generation", json_object_new_int64(1));
  record_manager(r, obj, NULL);
  name = kube_json_get_string(obj, "metadata.name");
  if (as_dry_run(r)) {
    as_reply_object(r, 201, obj);
    return;
  }
  key = as_store_key(k, ns, name);
  size_t vlen = 0;
  as_tree_set_api_version(obj, k, true);
  val = as_tree_to_stored(obj, &vlen);
  as_tree_set_api_version(obj, k, false);
  if (!key || !val) {
    kube_make_oom(&err);
    goto fail;
  }
  struct wctx *w = as_wctx_new(r, k, obj, 201);
  if (!w) {
    kube_make_oom(&err);
    goto fail;
  }
  w->create = true;
  if (kube_store_create(srv->store, key, val, vlen, as_write_done, w, &err) <
      0) {
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

/* True when anything but metadata (and status, when `skip_status`)
 * differs. */
static bool desired_changed(json_object *a, json_object *b, bool skip_status) {
  json_object_object_foreach(a, ka, va) {
    if (streq(ka, "metadata") || streq(ka, "kind") || streq(ka, "apiVersion") ||
        (skip_status && streq(ka, "status")))
      continue;
    json_object *vb = NULL;
    if (!json_object_object_get_ex(b, ka, &vb) || !json_object_equal(va, vb))
      return true;
  }
  json_object_object_foreach(b, kb, vb2) {
    (void)vb2;
    if (streq(kb, "metadata") || streq(kb, "kind") || streq(kb, "apiVersion") ||
        (skip_status && streq(kb, "status")))
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

/* ShouldDeleteDuringUpdate: the last finalizer of an object being deleted
 * went away and no grace period runs (a pod's ends with its node agent's
 * grace-0 DELETE, which sets deletionGracePeriodSeconds 0). */
static bool deletion_due(json_object *obj, json_object *old) {
  if (as_has_finalizers(obj) || !as_has_finalizers(old) ||
      !kube_json_get_string(old, "metadata.deletionTimestamp"))
    return false;
  json_object *g = kube_json_get(old, "metadata.deletionGracePeriodSeconds");
  return !g || json_object_get_int64(g) == 0;
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
    old = as_record_to_tree_for(old_rec, k, &err);
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
      old = as_record_to_tree_for(old_rec, k, &err);
    copy_key(n, obj, "status");
    json_object_put(obj);
    obj = n;
    if (!old)
      goto fail;
  } else if (mode == WRITE_EPHEMERAL) {
    /* dropNonEphemeralContainerUpdates: the stored pod with the new
     * ephemeral containers */
    json_object *n = old;
    old = as_patch_json_copy(n);
    if (!old)
      old = as_record_to_tree_for(old_rec, k, &err);
    json_object *spec = kube_json_get(n, "spec");
    json_object *nspec = kube_json_get(obj, "spec");
    if (spec && json_object_is_type(spec, json_type_object))
      copy_key(spec, nspec && json_object_is_type(nspec, json_type_object)
                         ? nspec
                         : NULL,
               "ephemeralContainers");
    json_object_put(obj);
    obj = n;
    if (!old)
      goto fail;
  } else if (mode == WRITE_MAIN && kind_has_sub(k, "status")) {
    copy_key(obj, old, "status");
  }
  enum api_update_mode umode = mode == WRITE_STATUS      ? API_UPDATE_STATUS
                               : mode == WRITE_MAIN      ? API_UPDATE_MAIN
                               : mode == WRITE_EPHEMERAL ? API_UPDATE_EPHEMERAL
                                                         : API_UPDATE_ALL;
  const struct kube_kind_strategy *st = api_kind_strategy(k);
  if (st->prepare_update)
    st->prepare_update(obj, old, umode, k);
  if (!r->storage_edit && as_check_fields(r, k, obj, &err) < 0)
    goto fail;
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
  if (!r->storage_edit && kube_json_default(obj, k, &err) < 0)
    goto fail;
  const struct as_kind_hooks *hooks = as_kind_hooks(k);
  if (hooks->prepare &&
      hooks->prepare(srv, k, obj, old, old_rec->key, &err) < 0)
    goto fail;
  /* A storage edit (pods/binding) had its own admission, of its own
   * kind, and skips the strategy: no validation, no generation. */
  if (!r->storage_edit &&
      (as_admit(r, k, true, KUBE_ADMISSION_UPDATE, obj, old, &err) < 0 ||
       kube_json_validate_mode(obj, old, k, umode, &err) < 0 ||
       as_admit(r, k, false, KUBE_ADMISSION_UPDATE, obj, old, &err) < 0))
    goto fail;
  /* Custom resources count every change but metadata (and status, when
   * the status subresource owns it); the built-in kinds their spec. */
  bool always = st->flags & API_KIND_GENERATION_ALWAYS;
  bool status_sub = kind_has_sub(k, "status");
  if (!r->storage_edit &&
      (always ? desired_changed(obj, old, status_sub)
              : (desired_changed(obj, old, true) &&
                 json_object_object_get_ex(obj, "spec", NULL)))) {
    json_object *g = NULL;
    int64_t gen = json_object_object_get_ex(meta, "generation", &g)
                      ? json_object_get_int64(g)
                      : 0;
    json_object_object_add(meta, "generation", json_object_new_int64(gen + 1));
  }
  if (!r->storage_edit)
    record_manager(r, obj, old);
  key = as_store_key(k, r->rt.ns, r->rt.name);
  if (deletion_due(obj, old)) {
    if (as_dry_run(r)) {
      as_reply_object(r, reply_code, obj);
      json_object_put(old);
      return;
    }
    struct wctx *w = as_wctx_new(r, k, obj, reply_code);
    if (!w || !key) {
      free(w);
      kube_make_oom(&err);
      goto fail;
    }
    if (kube_store_delete(srv->store, key, old_rec->mod_revision,
                          as_delete_done, w, &err) < 0) {
      w->obj = NULL;
      free(w);
      goto fail;
    }
    json_object_put(old);
    return;
  }
  size_t vlen = 0;
  as_tree_set_api_version(obj, k, true);
  val = as_tree_to_stored(obj, &vlen);
  as_tree_set_api_version(obj, k, false);
  if (!key || !val) {
    kube_make_oom(&err);
    goto fail;
  }
  json_object_put(old);
  old = NULL;
  /* No change: Kubernetes answers without a write (no new revision). */
  if (vlen == old_rec->value_len && memcmp(val, old_rec->value, vlen) == 0) {
    as_tree_set_rv(obj, old_rec->mod_revision);
    as_reply_object(r, reply_code, obj);
    return;
  }
  if (as_dry_run(r)) {
    as_tree_set_rv(obj, old_rec->mod_revision);
    as_reply_object(r, reply_code, obj);
    return;
  }
  struct wctx *w = as_wctx_new(r, k, obj, reply_code);
  if (!w) {
    kube_make_oom(&err);
    goto fail;
  }
  w->expected = old_rec->mod_revision;
  if (kube_store_update(srv->store, key, val, vlen, old_rec->mod_revision,
                        as_write_done, w, &err) < 0) {
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
