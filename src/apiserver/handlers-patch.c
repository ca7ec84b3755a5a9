/* SPDX-License-Identifier: Apache-2.0 */
/* PATCH: pick the engine by Content-Type (engines in patch.h), then the
 * common update pipeline.  Server-side apply creates missing objects. */
#include <strings.h>

#include "apiserver/internal.h"
#include "apiserver/patch.h"

enum patch_type { P_MERGE, P_STRATEGIC, P_JSON, P_APPLY, P_UNKNOWN };

static enum patch_type patch_type(const char *ct) {
  if (!ct)
    return P_UNKNOWN;
  while (*ct == ' ')
    ct++;
  if (strncasecmp(ct, "application/merge-patch+json", 28) == 0)
    return P_MERGE;
  if (strncasecmp(ct, "application/strategic-merge-patch+json", 38) == 0)
    return P_STRATEGIC;
  if (strncasecmp(ct, "application/json-patch+json", 27) == 0)
    return P_JSON;
  if (strncasecmp(ct, "application/apply-patch+yaml", 28) == 0 ||
      strncasecmp(ct, "application/apply-patch+json", 28) == 0)
    return P_APPLY;
  return P_UNKNOWN;
}

static bool engine_present(enum patch_type t) {
  switch (t) {
  case P_MERGE:
  case P_STRATEGIC:
  case P_JSON:
  case P_APPLY:
    return true;
  default:
    return false;
  }
}

/* Apply the request's patch to `orig` (borrowed; NULL only for apply). */
json_object *as_patch_apply_body(struct req *r, const kube_kind_t *k,
                                 json_object *orig, kube_error_t *err) {
  enum patch_type t = patch_type(r->content_type);
  if (t == P_UNKNOWN || !engine_present(t)) {
    kube_error_set(err, KUBE_REASON_UNSUPPORTED_MEDIA_TYPE, 0,
                   "the body of the request was in an unknown format - "
                   "accepted media types include: application/json-patch+json, "
                   "application/merge-patch+json, "
                   "application/strategic-merge-patch+json, "
                   "application/apply-patch+yaml");
    return NULL;
  }
  if (t == P_STRATEGIC && api_kind_is_custom(k)) {
    /* Custom resources have no Go struct tags to merge lists by, so
     * Kubernetes refuses strategic merge patches for them. */
    kube_error_set(
        err, KUBE_REASON_UNSUPPORTED_MEDIA_TYPE, 0,
        "the body of the request was in an unknown format - "
        "accepted media types include: application/json-patch+json, "
        "application/merge-patch+json, application/apply-patch+yaml");
    return NULL;
  }
  if (r->body_len == 0) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "the patch is empty");
    return NULL;
  }
  json_object *patch = t == P_APPLY
                           ? as_decode_body(r, err)
                           : kube_json_parse(r->body, r->body_len, err);
  if (!patch) {
    if (err && err->reason != KUBE_REASON_UNSUPPORTED_MEDIA_TYPE)
      err->reason = KUBE_REASON_BAD_REQUEST;
    return NULL;
  }
  json_object *out = NULL;
  switch (t) {
  case P_MERGE:
    out = kube_patch_merge(orig, patch, err);
    break;
  case P_STRATEGIC:
    out = kube_patch_strategic(orig, patch, k, err);
    break;
  case P_JSON:
    out = kube_patch_json(orig, patch, err);
    break;
  case P_APPLY: {
    const char *mgr = as_req_query(r, "fieldManager");
    if (!mgr || !*mgr) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "fieldManager is required for apply requests");
      break;
    }
    out = kube_apply(orig, patch, mgr, as_req_query_bool(r, "force"), k, err);
    break;
  }
  default:
    break;
  }
  json_object_put(patch);
  return out;
}

void as_handle_patch_mode(struct req *r, enum write_mode mode) {
  const kube_kind_t *k = r->rt.kind;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  cleanup_free char *key = as_store_key(k, r->rt.ns, r->rt.name);
  kube_store_record_t *rec =
      key ? kube_store_get(r->srv->store, key, &err) : NULL;
  enum patch_type t = patch_type(r->content_type);
  if (!rec) {
    if (t == P_APPLY && err.reason == KUBE_REASON_NOT_FOUND &&
        mode != WRITE_STATUS && mode != WRITE_EPHEMERAL) {
      kube_error_clear(&err);
      json_object *obj = as_patch_apply_body(r, k, NULL, &err);
      if (!obj) {
        as_reply_error(r, &err);
        return;
      }
      const char *name = kube_json_get_string(obj, "metadata.name");
      if (name && !streq(name, r->rt.name)) {
        as_reply_status(
            r, KUBE_REASON_BAD_REQUEST,
            "the name of the object (%s) does not match the name on "
            "the URL (%s)",
            name, r->rt.name);
        json_object_put(obj);
        return;
      }
      json_object_object_add(as_meta_of(obj), "name",
                             json_object_new_string(r->rt.name));
      as_write_create(r, k, obj);
      return;
    }
    as_error_not_found(&err, k, r->rt.name);
    as_reply_error(r, &err);
    return;
  }
  json_object *orig = as_record_to_tree_for(rec, k, &err);
  json_object *obj = orig ? as_patch_apply_body(r, k, orig, &err) : NULL;
  if (orig)
    json_object_put(orig);
  if (!obj) {
    kube_store_record_unref(rec);
    as_reply_error(r, &err);
    return;
  }
  if (!json_object_is_type(obj, json_type_object)) {
    json_object_put(obj);
    kube_store_record_unref(rec);
    as_reply_status(r, KUBE_REASON_BAD_REQUEST,
                    "the patch did not yield an object");
    return;
  }
  as_write_update(r, k, rec, obj, mode, 200);
  kube_store_record_unref(rec);
}

void as_handle_patch(struct req *r) {
  as_handle_patch_mode(r, kind_has_sub(r->rt.kind, "status") ? WRITE_MAIN
                                                             : WRITE_ALL);
}
