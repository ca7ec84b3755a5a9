/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The structural schema shared by the strategic merge patch engine and
 * server-side apply, plus small json-c helpers of the patch engines.
 * Private to src/apiserver/patch-*.c, apply*.c and managed-fields.c.
 *
 * The schema mirrors the struct tags of k8s.io/api: for each Go type the
 * fields whose merge behaviour is not the default (`patchStrategy`,
 * `patchMergeKey`, `+listType`, `+listMapKey`, `+structType=atomic`,
 * `+mapType=atomic`).  A field absent from its type's table behaves like
 * an untyped JSON value: objects merge key by key, lists are replaced.
 */
#ifndef KUBE_APISERVER_PATCH_SCHEMA_H
#define KUBE_APISERVER_PATCH_SCHEMA_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include <libkube/api.h>

typedef struct patch_type patch_type_t;

enum patch_list_kind {
  PATCH_LIST_NONE = 0, /* not a list, or a list replaced as a whole */
  PATCH_LIST_SET,      /* list of scalars merged as a set */
  PATCH_LIST_MAP,      /* list of objects merged by key */
};

enum patch_field_flags {
  /* patchStrategy "retainKeys": $retainKeys clears unlisted keys. */
  PATCH_F_RETAIN_KEYS = 1 << 0,
  /* SSA: the struct or map is atomic (one owner for the whole value). */
  PATCH_F_ATOMIC = 1 << 1,
  /* The list is associative for SSA only: SMP replaces it (no
   * patchStrategy tag). */
  PATCH_F_SSA_ONLY = 1 << 2,
  /* The list merges by key in SMP only: SSA treats it as atomic
   * (+listType=atomic next to patchStrategy=merge). */
  PATCH_F_SMP_ONLY = 1 << 3,
};

typedef struct patch_field {
  const char *name;
  /* Struct type of the value (or of list elements); NULL when untyped. */
  const patch_type_t *type;
  uint8_t list;  /* enum patch_list_kind */
  uint8_t flags; /* enum patch_field_flags */
  /* keys[0] is the SMP patchMergeKey; all non-NULL entries are the SSA
   * list map keys (+listMapKey). */
  const char *keys[3];
} patch_field_t;

struct patch_type {
  const char *name;
  const patch_field_t *fields; /* terminated by an entry with name NULL */
};

/* Root type of a kind, by API group ("" core, "apps", "batch") and Kind.
 * NULL when the kind has no schema (lists are then replaced). */
const patch_type_t *as_patch_schema_lookup(const char *group, const char *kind);
/* Same from a kinds-table entry (NULL kind → NULL). */
const patch_type_t *as_patch_schema_for_kind(const kube_kind_t *kind);
/* Same from an object's apiVersion/kind fields. */
const patch_type_t *as_patch_schema_for_object(json_object *obj);
/* The field `name` of type t, or NULL (also when t is NULL). */
const patch_field_t *as_patch_schema_field(const patch_type_t *t,
                                           const char *name);

/* Is the field a list merged by key (SMP view)? */
static inline bool patch_field_smp_map(const patch_field_t *f) {
  return f && f->list == PATCH_LIST_MAP && !(f->flags & PATCH_F_SSA_ONLY) &&
         f->keys[0];
}
static inline bool patch_field_smp_set(const patch_field_t *f) {
  return f && f->list == PATCH_LIST_SET && !(f->flags & PATCH_F_SSA_ONLY);
}
/* SSA view of the list kind (PATCH_LIST_NONE = atomic). */
static inline int patch_field_ssa_list(const patch_field_t *f) {
  if (!f || (f->flags & PATCH_F_SMP_ONLY))
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
