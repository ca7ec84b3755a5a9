/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kubernetes strategic merge patch, following the semantics of
 * k8s.io/apimachinery/pkg/util/strategicpatch (StrategicMergePatch with
 * MergeParallelList and IgnoreUnmatchedNulls): maps merge recursively, null
 * deletes, lists tagged patchStrategy=merge merge by their patchMergeKey
 * (or as a set of scalars), other lists are replaced.  Directives:
 * `$patch: replace|delete|merge`, `$retainKeys`, `$setElementOrder/<f>`,
 * `$deleteFromPrimitiveList/<f>`.  Ordering of merged lists follows
 * upstream: patch items in patch (or $setElementOrder) order, interleaved
 * with server-only items by their position in the live list.
 */
#include <limits.h>

#include "apiserver/patch.h"
#include "apiserver/patch-schema.h"
#include "core/util.h"

#define DIRECTIVE "$patch"
#define RETAIN_KEYS "$retainKeys"
#define SET_ORDER_PREFIX "$setElementOrder/"
#define DELETE_PRIMITIVE_PREFIX "$deleteFromPrimitiveList/"

static json_object *merge_map(json_object *orig, json_object *patch,
                              const patch_type_t *type, bool *deleted,
                              kube_error_t *err);
static json_object *merge_list(json_object *orig, json_object *patch,
                               const char *name, const patch_field_t *field,
                               kube_error_t *err);

static int bad_patch(kube_error_t *err, const char *what) {
  return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                        "invalid strategic merge patch: %s", what);
}

/* Is `item` (a list element) in `list`?  By merge key for maps, by value
 * for scalars.  Returns its index or -1. */
static long index_in(json_object *list, json_object *item, const char *mk) {
  json_object *key = item;
  if (mk && (!json_object_is_type(item, json_type_object) ||
             !json_object_object_get_ex(item, mk, &key)))
    return -1;
  size_t n = json_object_array_length(list);
  for (size_t i = 0; i < n; i++) {
    json_object *e = json_object_array_get_idx(list, i), *ek = e;
    if (mk && (!json_object_is_type(e, json_type_object) ||
               !json_object_object_get_ex(e, mk, &ek)))
      continue;
    if (as_patch_json_equal(ek, key))
      return (long)i;
  }
  return -1;
}

/* Stable sort of items[0..n) by their index in `order`; items absent from
 * `order` go last, in their current relative order. */
static void sort_by_order(json_object **items, size_t n, json_object *order,
                          const char *mk, long *scratch) {
  for (size_t i = 0; i < n; i++) {
    long idx = order ? index_in(order, items[i], mk) : -1;
    scratch[i] = idx < 0 ? LONG_MAX : idx;
  }
  for (size_t i = 1; i < n; i++) {
    json_object *it = items[i];
    long key = scratch[i];
    size_t j = i;
    while (j > 0 && scratch[j - 1] > key) {
      items[j] = items[j - 1];
      scratch[j] = scratch[j - 1];
      j--;
    }
    items[j] = it;
    scratch[j] = key;
  }
}

/* normalizeElementOrder + mergeSortedSlice of upstream: `merged` (an array)
 * is split into the items present in `patch_order` and the server-only
 * items; each part is sorted (patch order / live order) and the server-only
 * items are interleaved into the patch items by their live position.
 * Returns a new array (owned) or NULL on out-of-memory. */
static json_object *order_list(json_object *merged, json_object *patch_order,
                               json_object *live, const char *mk) {
  size_t n = json_object_array_length(merged), np = 0, ns = 0;
  json_object **pi = calloc(n + 1, sizeof(*pi));
  json_object **si = calloc(n + 1, sizeof(*si));
  long *scratch = calloc(n + 1, sizeof(*scratch));
  json_object *out = json_object_new_array_ext((int)n);
  if (!pi || !si || !scratch || !out)
    goto oom;
  for (size_t i = 0; i < n; i++) {
    json_object *e = json_object_array_get_idx(merged, i);
    if (patch_order && index_in(patch_order, e, mk) >= 0)
      pi[np++] = e;
    else
      si[ns++] = e;
  }
  sort_by_order(pi, np, patch_order, mk, scratch);
  sort_by_order(si, ns, live, mk, scratch);
  size_t i = 0, j = 0;
  while (i < ns || j < np) {
    json_object *e;
    if (j >= np) {
      e = si[i++];
    } else if (i >= ns) {
      e = pi[j++];
    } else {
      long li = live ? index_in(live, si[i], mk) : -1;
      long ri = live ? index_in(live, pi[j], mk) : -1;
      if (li >= 0 && ri >= 0 && li < ri)
        e = si[i++];
      else
        e = pi[j++];
    }
    if (json_object_array_add(out, json_object_get(e)) < 0) {
      json_object_put(e);
      goto oom;
    }
  }
  free(pi);
  free(si);
  free(scratch);
  return out;
oom:
  free(pi);
  free(si);
  free(scratch);
  json_object_put(out);
  return NULL;
}

/* Copy of a patch value with its directives processed against nothing
 * (a value added where the live object has none). */
static json_object *clean_value(json_object *pv, const char *name,
                                const patch_field_t *field, bool *deleted,
                                kube_error_t *err) {
  *deleted = false;
  if (json_object_is_type(pv, json_type_object))
    return merge_map(NULL, pv, field ? patch_field_type(field) : NULL, deleted,
                     err);
  if (json_object_is_type(pv, json_type_array) &&
      (patch_field_smp_map(field) || patch_field_smp_set(field)))
    return merge_list(NULL, pv, name, field, err);
  json_object *c = as_patch_json_copy(pv);
  if (!c)
    kube_make_oom(err);
  return c;
}

/* A list of scalars merged as a set: live items, then new patch items,
 * without duplicates; then ordered as upstream does. */
static json_object *merge_scalar_list(json_object *orig, json_object *patch,
                                      kube_error_t *err) {
  json_object *all = json_object_new_array();
  if (!all)
    goto oom;
  json_object *lists[2] = {orig, patch};
  for (int l = 0; l < 2; l++) {
    size_t n = lists[l] ? json_object_array_length(lists[l]) : 0;
    for (size_t i = 0; i < n; i++) {
      json_object *e = json_object_array_get_idx(lists[l], i);
      if (json_object_is_type(e, json_type_object) ||
          json_object_is_type(e, json_type_array)) {
        json_object_put(all);
        bad_patch(err, "list of scalars holds an object or a list");
        return NULL;
      }
      if (index_in(all, e, NULL) >= 0)
        continue;
      if (json_object_array_add(all, e ? json_object_get(e) : NULL) < 0) {
        json_object_put(e);
        goto oom;
      }
    }
  }
  json_object *out = order_list(all, patch, orig, NULL);
  json_object_put(all);
  if (!out)
    goto oom;
  return out;
oom:
  json_object_put(all);
  kube_make_oom(err);
  return NULL;
}

/* Remove every element of `list` (in place) whose merge key equals key. */
static void delete_matching(json_object *list, const char *mk,
                            json_object *key) {
  for (size_t i = json_object_array_length(list); i-- > 0;) {
    json_object *e = json_object_array_get_idx(list, i), *ek = NULL;
    if (json_object_is_type(e, json_type_object) &&
        json_object_object_get_ex(e, mk, &ek) && as_patch_json_equal(ek, key))
      json_object_array_del_idx(list, i, 1);
  }
}

/* mergeSlice for patchStrategy=merge lists.  `orig` is borrowed (may be
 * NULL).  Returns a new array (owned). */
static json_object *merge_list(json_object *orig, json_object *patch,
                               const char *name, const patch_field_t *field,
                               kube_error_t *err) {
  const char *mk = field->keys[0];
  size_t np = json_object_array_length(patch);
  bool scalars = !patch_field_smp_map(field);
  if (!scalars) {
    /* A merge-key list whose items are scalars (a malformed patch, or an
     * empty list) is handled like upstream: by element type. */
    for (size_t i = 0; i < np; i++)
      if (!json_object_is_type(json_object_array_get_idx(patch, i),
                               json_type_object))
        return bad_patch(err, "list item is not an object"), NULL;
  }
  if (scalars)
    return merge_scalar_list(orig, patch, err);

  json_object *work = NULL, *plain = json_object_new_array(), *out = NULL;
  bool replace = false;
  if (!plain)
    goto oom;
  work = orig ? as_patch_json_copy(orig) : json_object_new_array();
  if (!work)
    goto oom;
  /* Special elements first ($patch directives). */
  for (size_t i = 0; i < np; i++) {
    json_object *e = json_object_array_get_idx(patch, i), *d = NULL;
    if (!json_object_object_get_ex(e, DIRECTIVE, &d)) {
      if (json_object_array_add(plain, json_object_get(e)) < 0) {
        json_object_put(e);
        goto oom;
      }
      continue;
    }
    const char *ds = json_object_get_string(d);
    if (ds && streq(ds, "delete")) {
      json_object *key = NULL;
      if (!json_object_object_get_ex(e, mk, &key)) {
        kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                       "invalid strategic merge patch: %s directive without "
                       "merge key \"%s\" in list %s",
                       "$patch: delete", mk, name);
        goto fail;
      }
      delete_matching(work, mk, key);
    } else if (ds && streq(ds, "replace")) {
      replace = true;
    } else if (ds && streq(ds, "merge")) {
      bad_patch(err, "merging lists cannot yet be specified in the patch");
      goto fail;
    } else {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "invalid strategic merge patch: unknown patch type "
                     "\"%s\" in list %s",
                     ds ? ds : "", name);
      goto fail;
    }
  }
  if (replace) {
    /* The list becomes the patch's non-directive items. */
    json_object_put(work);
    work = json_object_new_array();
    if (!work)
      goto oom;
  }
  size_t nplain = json_object_array_length(plain);
  for (size_t i = 0; i < nplain; i++) {
    json_object *e = json_object_array_get_idx(plain, i), *key = NULL;
    if (!json_object_object_get_ex(e, mk, &key)) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "invalid strategic merge patch: list %s item does not "
                     "contain declared merge key \"%s\"",
                     name, mk);
      goto fail;
    }
    long at = index_in(work, e, mk);
    bool deleted = false;
    json_object *merged =
        merge_map(at >= 0 ? json_object_array_get_idx(work, (size_t)at) : NULL,
                  e, patch_field_type(field), &deleted, err);
    if (!merged)
      goto fail;
    if (at >= 0) {
      json_object_array_put_idx(work, (size_t)at, merged);
    } else if (json_object_array_add(work, merged) < 0) {
      json_object_put(merged);
      goto oom;
    }
  }
  out = replace ? json_object_get(work) : order_list(work, plain, orig, mk);
  if (!out)
    goto oom;
  json_object_put(work);
  json_object_put(plain);
  return out;
oom:
  kube_make_oom(err);
fail:
  json_object_put(work);
  json_object_put(plain);
  return NULL;
}

/* $retainKeys: drop every key of `orig` not listed; every key the patch
 * sets must be listed. */
static int apply_retain_keys(json_object *orig, json_object *patch,
                             json_object *keys, kube_error_t *err) {
  if (!json_object_is_type(keys, json_type_array))
    return bad_patch(err, "$retainKeys must be a list of strings");
  json_object_object_foreach(patch, pk, pv) {
    if (!pv || pk[0] == '$')
      continue;
    bool found = false;
    for (size_t i = 0; i < json_object_array_length(keys) && !found; i++) {
      const char *s =
          json_object_get_string(json_object_array_get_idx(keys, i));
      found = s && streq(s, pk);
    }
    if (!found)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "invalid strategic merge patch: field \"%s\" is "
                            "not listed in $retainKeys",
                            pk);
  }
  json_object_object_foreach(orig, ok, ov) {
    (void)ov;
    bool found = false;
    for (size_t i = 0; i < json_object_array_length(keys) && !found; i++) {
      const char *s =
          json_object_get_string(json_object_array_get_idx(keys, i));
      found = s && streq(s, ok);
    }
    if (!found)
      json_object_object_del(orig, ok);
  }
  return 0;
}

/* $deleteFromPrimitiveList/<key>: remove listed scalars from orig[key]. */
static int delete_from_primitive_list(json_object *orig, const char *key,
                                      json_object *values, kube_error_t *err) {
  json_object *list = NULL;
  if (!json_object_is_type(values, json_type_array))
    return bad_patch(err, "$deleteFromPrimitiveList must be a list");
  if (!json_object_object_get_ex(orig, key, &list) ||
      !json_object_is_type(list, json_type_array))
    return 0;
  for (size_t i = json_object_array_length(list); i-- > 0;)
    if (index_in(values, json_object_array_get_idx(list, i), NULL) >= 0)
      json_object_array_del_idx(list, i, 1);
  return 0;
}

/* $setElementOrder/<key>: merge orig[key] with patch[key] and order the
 * result by the directive's list. */
static int set_element_order(json_object *orig, json_object *patch,
                             const char *key, json_object *order,
                             const patch_type_t *type, kube_error_t *err) {
  const patch_field_t *field = as_patch_schema_field(type, key);
  const char *mk = patch_field_smp_map(field) ? field->keys[0] : NULL;
  json_object *ol = NULL, *pl = NULL, *merged = NULL;
  bool has_o = json_object_object_get_ex(orig, key, &ol);
  bool has_p = json_object_object_get_ex(patch, key, &pl);
  if (!json_object_is_type(order, json_type_array))
    return bad_patch(err, "$setElementOrder must be a list");
  if (has_o && !json_object_is_type(ol, json_type_array))
    has_o = false, ol = NULL;
  if (has_p && !json_object_is_type(pl, json_type_array))
    return bad_patch(err, "$setElementOrder applies to a non-list field");
  if (!has_o && !has_p)
    return 0;
  if (has_p && (patch_field_smp_map(field) || patch_field_smp_set(field))) {
    merged = merge_list(has_o ? ol : NULL, pl, key, field, err);
    if (!merged)
      return -1;
  } else if (has_p) {
    bool deleted;
    merged = clean_value(pl, key, field, &deleted, err);
    if (!merged)
      return -1;
  } else {
    merged = json_object_get(ol);
  }
  json_object *out = order_list(merged, order, ol, mk);
  json_object_put(merged);
  if (!out || as_patch_json_set(orig, key, out) < 0)
    return kube_make_oom(err);
  return 0;
}

/* mergeMap.  `orig` is borrowed and may be modified in place (it belongs to
 * the copy being patched); NULL or a non-object means "absent".  Returns a
 * new reference to the result (owned).  *deleted is set for `$patch:
 * delete` (the caller drops the field). */
static json_object *merge_map(json_object *orig, json_object *patch,
                              const patch_type_t *type, bool *deleted,
                              kube_error_t *err) {
  json_object *d = NULL, *target = NULL;
  *deleted = false;
  if (json_object_object_get_ex(patch, DIRECTIVE, &d)) {
    const char *ds = json_object_get_string(d);
    if (ds && streq(ds, "delete")) {
      *deleted = true;
      target = json_object_new_object();
      if (!target)
        kube_make_oom(err);
      return target;
    }
    if (ds && streq(ds, "replace")) {
      /* Use the patch itself (directive stripped), processed against an
       * empty object so nested directives do not leak into the result. */
      orig = NULL;
    } else if (!ds || !streq(ds, "merge")) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "invalid strategic merge patch: unknown patch type "
                     "\"%s\"",
                     ds ? ds : "");
      return NULL;
    }
  }
  if (json_object_is_type(orig, json_type_object))
    target = json_object_get(orig);
  else if (!(target = json_object_new_object()))
    goto oom;

  json_object *rk = NULL;
  if (json_object_object_get_ex(patch, RETAIN_KEYS, &rk) &&
      apply_retain_keys(target, patch, rk, err) < 0)
    goto fail;

  json_object_object_foreach(patch, ok, ov) {
    if (str_has_prefix(ok, SET_ORDER_PREFIX) &&
        set_element_order(target, patch, ok + strlen(SET_ORDER_PREFIX), ov,
                          type, err) < 0)
      goto fail;
  }

  json_object_object_foreach(patch, key, pv) {
    if (streq(key, DIRECTIVE) || streq(key, RETAIN_KEYS) ||
        str_has_prefix(key, SET_ORDER_PREFIX))
      continue;
    if (str_has_prefix(key, DELETE_PRIMITIVE_PREFIX)) {
      if (delete_from_primitive_list(
              target, key + strlen(DELETE_PRIMITIVE_PREFIX), pv, err) < 0)
        goto fail;
      continue;
    }
    /* Lists with a $setElementOrder were merged above. */
    kube_strbuf_t name = KUBE_STRBUF_INIT;
    kube_strbuf_printf(&name, SET_ORDER_PREFIX "%s", key);
    if (!name.data) {
      kube_strbuf_clear(&name);
      goto oom;
    }
    bool ordered = json_object_object_get_ex(patch, name.data, NULL);
    kube_strbuf_clear(&name);
    if (ordered)
      continue;

    if (!pv) {
      json_object_object_del(target, key);
      continue;
    }
    const patch_field_t *field = as_patch_schema_field(type, key);
    json_object *cur = NULL, *nv = NULL;
    bool has = json_object_object_get_ex(target, key, &cur);
    bool gone = false;
    if (has && json_object_is_type(pv, json_type_object) &&
        json_object_is_type(cur, json_type_object)) {
      nv = merge_map(cur, pv, field ? patch_field_type(field) : NULL, &gone,
                     err);
    } else if (has && json_object_is_type(pv, json_type_array) &&
               json_object_is_type(cur, json_type_array) &&
               (patch_field_smp_map(field) || patch_field_smp_set(field))) {
      nv = merge_list(cur, pv, key, field, err);
    } else {
      nv = clean_value(pv, key, field, &gone, err);
    }
    if (!nv)
      goto fail;
    if (gone) {
      json_object_put(nv);
      json_object_object_del(target, key);
      continue;
    }
    if (as_patch_json_set(target, key, nv) < 0)
      goto oom;
  }
  return target;
oom:
  kube_make_oom(err);
fail:
  json_object_put(target);
  return NULL;
}

json_object *kube_patch_strategic(json_object *orig, json_object *patch,
                                  const kube_kind_t *kind, kube_error_t *err) {
  if (!json_object_is_type(patch, json_type_object)) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "strategic merge patch must be a JSON object, not %s",
                   as_patch_json_type_name(patch));
    return NULL;
  }
  const patch_type_t *type = as_patch_schema_for_kind(kind);
  json_object *copy = NULL;
  if (json_object_is_type(orig, json_type_object) &&
      !(copy = as_patch_json_copy(orig))) {
    kube_make_oom(err);
    return NULL;
  }
  bool deleted = false;
  json_object *out = merge_map(copy, patch, type, &deleted, err);
  json_object_put(copy);
  return out;
}
