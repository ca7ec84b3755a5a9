/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Client-side apply, as `kubectl apply` does it: the configuration is kept
 * in the last-applied-configuration annotation, and the update is a
 * three-way patch between that, the new configuration and the live object.
 */
#include <json-c/json.h>

#include "api/api-private.h"
#include "client/internal.h"
#include "core/util.h"

static bool is_empty(json_object *v) {
  return !v ||
         (json_object_is_type(v, json_type_object) &&
          json_object_object_length(v) == 0) ||
         (json_object_is_type(v, json_type_array) &&
          json_object_array_length(v) == 0);
}

/* True when every field `a` sets has the same value in `b` (defaults the
 * server added to `b` do not count as differences). */
static bool subset_equal(json_object *a, json_object *b) {
  if (!a)
    return !b;
  if (!b)
    return false;
  json_type ta = json_object_get_type(a), tb = json_object_get_type(b);
  if (ta == json_type_object) {
    if (tb != json_type_object)
      return false;
    json_object_object_foreach(a, k, v) {
      json_object *bv = NULL;
      if (!v)
        continue;
      if (!json_object_object_get_ex(b, k, &bv)) {
        /* An empty map or list in the configuration equals an absent one. */
        if (is_empty(v))
          continue;
        return false;
      }
      if (!subset_equal(v, bv))
        return false;
    }
    return true;
  }
  if (ta == json_type_array) {
    if (tb != json_type_array ||
        json_object_array_length(a) != json_object_array_length(b))
      return false;
    for (size_t i = 0; i < json_object_array_length(a); i++)
      if (!subset_equal(json_object_array_get_idx(a, i),
                        json_object_array_get_idx(b, i)))
        return false;
    return true;
  }
  if ((ta == json_type_int || ta == json_type_double) &&
      (tb == json_type_int || tb == json_type_double))
    return json_object_get_double(a) == json_object_get_double(b);
  return json_object_equal(a, b);
}

/* Three-way patch: fields of `mod` that differ from `live`, and nulls for
 * fields `orig` set that `mod` no longer sets.  NULL when nothing differs
 * (or on out-of-memory: *oom). */
static json_object *three_way(json_object *orig, json_object *mod,
                              json_object *live, bool *oom) {
  json_object *patch = json_object_new_object();
  if (!patch) {
    *oom = true;
    return NULL;
  }
  json_object_object_foreach(mod, k, v) {
    json_object *lv = NULL;
    bool in_live = live && json_object_object_get_ex(live, k, &lv);
    /* A null in the configuration (creationTimestamp: null) states no
     * opinion, like a zero value kubectl drops when decoding. */
    if (!v || (!in_live && is_empty(v)))
      continue;
    /* Maps recurse even when equal so far: the configuration may have
     * dropped keys that the last-applied one set. */
    if (lv && json_object_is_type(v, json_type_object) &&
        json_object_is_type(lv, json_type_object)) {
      json_object *ov = NULL;
      if (orig && json_object_is_type(orig, json_type_object))
        json_object_object_get_ex(orig, k, &ov);
      json_object *sub =
          three_way(ov && json_object_is_type(ov, json_type_object) ? ov : NULL,
                    v, lv, oom);
      if (sub)
        json_object_object_add(patch, k, sub);
      continue;
    }
    if (in_live && subset_equal(v, lv))
      continue;
    json_object *copy = NULL;
    if (v && json_object_deep_copy(v, &copy, NULL) != 0) {
      *oom = true;
      continue;
    }
    json_object_object_add(patch, k, copy);
  }
  if (orig && json_object_is_type(orig, json_type_object)) {
    json_object_object_foreach(orig, ok, ov) {
      (void)ov;
      json_object *lv;
      if (json_object_object_get_ex(mod, ok, NULL))
        continue;
      if (live && json_object_object_get_ex(live, ok, &lv) && lv)
        json_object_object_add(patch, ok, NULL);
    }
  }
  if (json_object_object_length(patch) == 0) {
    json_object_put(patch);
    return NULL;
  }
  return patch;
}

static const char *json_text(json_object *o) {
  return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                               JSON_C_TO_STRING_NOSLASHESCAPE);
}

KUBE_EXPORT int kube_object_set_last_applied(kube_object_t *obj,
                                             kube_error_t *err) {
  json_object *root = kube_object_json(obj);
  json_object *meta = kube_json_get(root, "metadata");
  if (!json_object_is_type(meta, json_type_object))
    return 0;
  /* kubectl serialises the object without the annotation (an emptied
   * annotations map stays), then stores that text in it. */
  json_object *ann = kube_json_get(meta, "annotations");
  if (json_object_is_type(ann, json_type_object))
    json_object_object_del(ann, KUBE_LAST_APPLIED_ANNOTATION);
  kube_strbuf_t text = KUBE_STRBUF_INIT;
  kube_strbuf_append(&text, json_text(root));
  kube_strbuf_append_char(&text, '\n');
  if (!json_object_is_type(ann, json_type_object)) {
    ann = json_object_new_object();
    if (ann && json_object_object_add(meta, "annotations", ann) < 0) {
      json_object_put(ann);
      ann = NULL;
    }
  }
  json_object *v =
      text.oom ? NULL : json_object_new_string_len(text.data, (int)text.len);
  kube_strbuf_clear(&text);
  if (!ann || !v ||
      json_object_object_add(ann, KUBE_LAST_APPLIED_ANNOTATION, v) < 0) {
    json_object_put(v);
    return kube_make_oom(err);
  }
  return 0;
}

KUBE_EXPORT kube_object_t *
kube_client_apply_client_side(kube_client_t *c, const kube_object_t *obj,
                              const kube_client_write_options_t *opts,
                              kube_apply_result_t *result, kube_error_t *err) {
  const char *av = kube_object_api_version(obj), *k = kube_object_kind(obj);
  const char *name = kube_object_name(obj);
  if (!av || !k)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "Object 'Kind' is missing"),
           NULL;
  const kube_kind_t *kind = kube_kind_by_kind(av, k);
  if (!kind)
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                          "no matches for kind \"%s\" in version \"%s\"", k,
                          av),
           NULL;
  if (!name || !*name)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "resource name may not be empty"),
           NULL;
  const char *ns = kube_object_namespace(obj);
  if (!ns || !*ns)
    ns = kube_client_namespace(c);

  /* The configuration without any stale annotation, then the modified
   * object: the configuration plus the annotation holding it. */
  json_object *config = NULL;
  if (json_object_deep_copy(kube_object_json(obj), &config, NULL) != 0)
    return kube_make_oom(err), NULL;
  json_object *ann = kube_json_get(config, "metadata.annotations");
  if (ann && json_object_is_type(ann, json_type_object)) {
    json_object_object_del(ann, KUBE_LAST_APPLIED_ANNOTATION);
    if (json_object_object_length(ann) == 0)
      json_object_object_del(kube_json_get(config, "metadata"), "annotations");
  }
  kube_strbuf_t text = KUBE_STRBUF_INIT;
  kube_strbuf_append(&text, json_text(config));
  kube_strbuf_append_char(&text, '\n');
  json_object *meta = kube_json_get(config, "metadata");
  ann = kube_json_get(config, "metadata.annotations");
  if (!ann || !json_object_is_type(ann, json_type_object)) {
    ann = json_object_new_object();
    json_object_object_add(meta, "annotations", ann);
  }
  if (text.oom || !ann) {
    kube_strbuf_clear(&text);
    json_object_put(config);
    return kube_make_oom(err), NULL;
  }
  json_object_object_add(ann, KUBE_LAST_APPLIED_ANNOTATION,
                         json_object_new_string_len(text.data, (int)text.len));
  kube_strbuf_clear(&text);
  kube_object_t *modified = kube_object_wrap(config);
  if (!modified) {
    json_object_put(config);
    return kube_make_oom(err), NULL;
  }

  cleanup_error kube_error_t gerr = KUBE_ERROR_INIT;
  kube_object_t *live = kube_client_get(c, kind, ns, name, &gerr);
  kube_object_t *res = NULL;
  if (!live) {
    if (gerr.reason != KUBE_REASON_NOT_FOUND) {
      kube_error_move(err, &gerr);
    } else {
      res = kube_client_create(c, kind, ns, modified, opts, err);
      if (res && result)
        *result = KUBE_APPLY_CREATED;
    }
    kube_object_free(modified);
    return res;
  }
  json_object *orig = NULL;
  const char *last = kube_object_annotation(live, KUBE_LAST_APPLIED_ANNOTATION);
  if (last && *last)
    orig = kube_json_parse(last, strlen(last), NULL);
  bool oom = false;
  json_object *patch =
      three_way(orig, kube_object_json(modified), kube_object_json(live), &oom);
  json_object_put(orig);
  if (oom) {
    json_object_put(patch);
    kube_object_free(modified);
    kube_object_free(live);
    return kube_make_oom(err), NULL;
  }
  if (!patch) {
    if (result)
      *result = KUBE_APPLY_UNCHANGED;
    kube_object_free(modified);
    return live;
  }
  res = kube_client_patch(c, kind, ns, name, NULL, KUBE_PATCH_STRATEGIC,
                          json_text(patch), opts, err);
  if (res && result)
    *result = last ? KUBE_APPLY_CONFIGURED : KUBE_APPLY_ANNOTATED;
  json_object_put(patch);
  kube_object_free(modified);
  kube_object_free(live);
  return res;
}
