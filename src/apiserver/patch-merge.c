/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 7386 JSON merge patch. */
#include "apiserver/patch.h"
#include "apiserver/patch-schema.h"
#include "core/util.h"

/* MergePatch(target, patch) of RFC 7386 section 2.  `target` is owned and
 * consumed (may be NULL for "absent"); returns the owned result, or NULL on
 * out-of-memory.  A null member of the patch deletes the member. */
static json_object *merge(json_object *target, json_object *patch) {
  if (!json_object_is_type(patch, json_type_object)) {
    json_object_put(target);
    return as_patch_json_copy(patch);
  }
  if (!json_object_is_type(target, json_type_object)) {
    json_object_put(target);
    target = json_object_new_object();
    if (!target)
      return NULL;
  }
  json_object_object_foreach(patch, key, value) {
    if (!value) {
      json_object_object_del(target, key);
      continue;
    }
    json_object *cur = NULL;
    if (json_object_object_get_ex(target, key, &cur))
      json_object_get(cur);
    json_object *merged = merge(cur, value);
    if (!merged || as_patch_json_set(target, key, merged) < 0) {
      json_object_put(target);
      return NULL;
    }
  }
  return target;
}

json_object *kube_patch_merge(json_object *orig, json_object *patch,
                              kube_error_t *err) {
  if (!json_object_is_type(patch, json_type_object)) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "merge patch must be a JSON object, not %s",
                   as_patch_json_type_name(patch));
    return NULL;
  }
  json_object *target = NULL;
  if (orig) {
    target = as_patch_json_copy(orig);
    if (!target) {
      kube_make_oom(err);
      return NULL;
    }
  }
  json_object *out = merge(target, patch);
  if (!out)
    kube_make_oom(err);
  return out;
}
