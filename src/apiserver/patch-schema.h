/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The schema view of the strategic merge patch engine and server-side
 * apply, plus small json-c helpers of the patch engines.  Private to
 * src/apiserver/patch-*.c, apply*.c and managed-fields.c.
 *
 * The merge behaviour lives in the runtime schema (src/api/schema.h): for
 * the built-in kinds it comes from the struct tags of k8s.io/api
 * (`patchStrategy`, `patchMergeKey`, `+listType`, `+listMapKey`,
 * `+structType=atomic`, `+mapType=atomic`) transcribed in the type tables
 * (src/api/types/); for custom resources from the CRD's
 * x-kubernetes-list-type, -list-map-keys and -map-type.  A value without a
 * schema behaves like an untyped JSON value: objects merge key by key,
 * lists are replaced.
 */
#ifndef KUBE_APISERVER_PATCH_SCHEMA_H
#define KUBE_APISERVER_PATCH_SCHEMA_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include <libkube/api.h>

#include "api/schema.h"

/* An object's schema (whose fields are looked up) and a field's schema
 * (its list kind, merge keys and flags). */
typedef api_schema_t patch_type_t;
typedef api_schema_t patch_field_t;

#define PATCH_LIST_NONE API_LIST_NONE
#define PATCH_LIST_SET API_LIST_SET
#define PATCH_LIST_MAP API_LIST_MAP
#define PATCH_F_RETAIN_KEYS API_M_RETAIN_KEYS
#define PATCH_F_ATOMIC API_M_ATOMIC
#define PATCH_F_SSA_ONLY API_M_SSA_ONLY
#define PATCH_F_SMP_ONLY API_M_SMP_ONLY

/* Root schema of a kind (NULL kind or no schema → NULL: untyped). */
static inline const patch_type_t *
as_patch_schema_for_kind(const kube_kind_t *kind) {
  return api_kind_schema(kind);
}
/* Same from an object's apiVersion/kind fields (built-in kinds). */
const patch_type_t *as_patch_schema_for_object(json_object *obj);
/* The field `name` of type t, or NULL (also when t is NULL). */
static inline const patch_field_t *as_patch_schema_field(const patch_type_t *t,
                                                         const char *name) {
  return api_schema_prop(t, name);
}
/* The type a field's value (or each of its list items) has: what its own
 * fields are looked up in. */
static inline const patch_type_t *patch_field_type(const patch_field_t *f) {
  return api_schema_elem(f);
}

/* Is the field a list merged by key (SMP view)? */
static inline bool patch_field_smp_map(const patch_field_t *f) {
  return f && f->list == PATCH_LIST_MAP && !(f->mflags & PATCH_F_SSA_ONLY) &&
         f->keys[0];
}
static inline bool patch_field_smp_set(const patch_field_t *f) {
  return f && f->list == PATCH_LIST_SET && !(f->mflags & PATCH_F_SSA_ONLY);
}
/* SSA view of the list kind (PATCH_LIST_NONE = atomic). */
static inline int patch_field_ssa_list(const patch_field_t *f) {
  if (!f || (f->mflags & PATCH_F_SMP_ONLY))
    return PATCH_LIST_NONE;
  return f->list;
}

/* ---- json-c helpers ---------------------------------------------------- */

/* Deep copy (owned) or NULL on out-of-memory.  NULL in → JSON null out is
 * not representable, so callers check `src` themselves. */
json_object *as_patch_json_copy(json_object *src);
/* Semantic equality: numbers compare by value (1 == 1.0), objects ignore
 * key order.  Two NULLs (JSON null) are equal. */
bool as_patch_json_equal(json_object *a, json_object *b);
/* Insert `val` (stolen) into arr at idx (0..len), shifting the tail right.
 * -1 when idx is out of range or on out-of-memory (val released then). */
int as_patch_json_array_insert(json_object *arr, size_t idx, json_object *val);
/* Add key→val (stolen) to obj; -1 on out-of-memory (val released). */
int as_patch_json_set(json_object *obj, const char *key, json_object *val);
/* Short type name for messages ("object", "array", "string", ...). */
const char *as_patch_json_type_name(json_object *v);

#endif /* KUBE_APISERVER_PATCH_SCHEMA_H */
