/* SPDX-License-Identifier: Apache-2.0 */
/* Schema lookups and json-c helpers of the patch engines. */
#include "apiserver/patch-schema.h"
#include "core/util.h"

const patch_type_t *as_patch_schema_for_object(json_object *obj) {
  json_object *av = NULL, *k = NULL;
  if (!json_object_is_type(obj, json_type_object) ||
      !json_object_object_get_ex(obj, "apiVersion", &av) ||
      !json_object_object_get_ex(obj, "kind", &k) ||
      !json_object_is_type(av, json_type_string) ||
      !json_object_is_type(k, json_type_string))
    return NULL;
  return api_kind_schema(
      kube_kind_by_kind(json_object_get_string(av), json_object_get_string(k)));
}

/* ---- json helpers ------------------------------------------------------- */

json_object *as_patch_json_copy(json_object *src) {
  json_object *dst = NULL;
  if (!src)
    return NULL;
  if (json_object_deep_copy(src, &dst, NULL) < 0)
    return NULL;
  return dst;
}

static bool is_number(json_object *v) {
  return json_object_is_type(v, json_type_int) ||
         json_object_is_type(v, json_type_double);
}

bool as_patch_json_equal(json_object *a, json_object *b) {
  if (a == b || !a || !b)
    return a == b; /* one tree shared by both sides is equal at once */
  if (is_number(a) && is_number(b)) {
    if (json_object_is_type(a, json_type_int) &&
        json_object_is_type(b, json_type_int)) {
      /* int64 vs uint64 of json-c: compare through both accessors. */
      return json_object_get_int64(a) == json_object_get_int64(b) &&
             json_object_get_uint64(a) == json_object_get_uint64(b);
    }
    return json_object_get_double(a) == json_object_get_double(b);
  }
  if (json_object_get_type(a) != json_object_get_type(b))
    return false;
  switch (json_object_get_type(a)) {
  case json_type_boolean:
    return json_object_get_boolean(a) == json_object_get_boolean(b);
  case json_type_string:
    return json_object_get_string_len(a) == json_object_get_string_len(b) &&
           memcmp(json_object_get_string(a), json_object_get_string(b),
                  (size_t)json_object_get_string_len(a)) == 0;
  case json_type_array: {
    size_t n = json_object_array_length(a);
    if (n != json_object_array_length(b))
      return false;
    for (size_t i = 0; i < n; i++)
      if (!as_patch_json_equal(json_object_array_get_idx(a, i),
                               json_object_array_get_idx(b, i)))
        return false;
    return true;
  }
  case json_type_object: {
    if (json_object_object_length(a) != json_object_object_length(b))
      return false;
    json_object_object_foreach(a, key, va) {
      json_object *vb = NULL;
      if (!json_object_object_get_ex(b, key, &vb) ||
          !as_patch_json_equal(va, vb))
        return false;
    }
    return true;
  }
  default:
    return true;
  }
}

int as_patch_json_array_insert(json_object *arr, size_t idx, json_object *val) {
  size_t n = json_object_array_length(arr);
  if (idx > n || json_object_array_add(arr, NULL) < 0) {
    json_object_put(val);
    return -1;
  }
  /* Shift right by one; put_idx releases the slot's previous reference. */
  for (size_t i = n; i > idx; i--) {
    json_object *prev = json_object_array_get_idx(arr, i - 1);
    json_object_array_put_idx(arr, i, json_object_get(prev));
  }
  json_object_array_put_idx(arr, idx, val);
  return 0;
}

int as_patch_json_set(json_object *obj, const char *key, json_object *val) {
  if (json_object_object_add(obj, key, val) < 0) {
    json_object_put(val);
    return -1;
  }
  return 0;
}

const char *as_patch_json_type_name(json_object *v) {
  switch (json_object_get_type(v)) {
  case json_type_null:
    return "null";
  case json_type_boolean:
    return "boolean";
  case json_type_double:
  case json_type_int:
    return "number";
  case json_type_object:
    return "object";
  case json_type_array:
    return "array";
  case json_type_string:
    return "string";
  }
  return "value";
}
