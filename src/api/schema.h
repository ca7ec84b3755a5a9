/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime schema: a structural OpenAPI v3 schema (the subset
 * CustomResourceDefinitions use, plus the merge annotations of the patch
 * engines).  Built-in kinds get theirs compiled once per process from the
 * static type tables (types.h); a CustomResourceDefinition version gets its
 * own from its openAPIV3Schema (crd-schema.c).  The same nodes serve
 * request checking (types, ranges, unknown fields, pruning, defaulting,
 * value validation: schema-check.c), the patch engines (merge keys, list
 * types) and the OpenAPI documents.
 *
 * Nodes are immutable once built and live in an arena: the built-in ones
 * for the life of the process, a CRD's as long as its kind.  Private to
 * the library (api and apiserver modules); json-c level.
 */
#ifndef KUBE_API_SCHEMA_H
#define KUBE_API_SCHEMA_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#include <libkube/api.h>

#include "api/types.h"

enum api_stype {
  API_S_ANY = 0, /* no type: any value (x-kubernetes-preserve-unknown-fields
                    or x-kubernetes-int-or-string without type) */
  API_S_OBJECT,
  API_S_ARRAY,
  API_S_STRING,
  API_S_INTEGER,
  API_S_NUMBER,
  API_S_BOOLEAN,
};

enum api_sformat {
  API_FMT_NONE = 0,
  API_FMT_INT32,
  API_FMT_INT64,
  API_FMT_DOUBLE,
  API_FMT_BYTE,
  API_FMT_DATE_TIME,
  API_FMT_QUANTITY,
  API_FMT_OTHER, /* a format we publish but do not check */
};

enum api_sflags {
  API_SF_NULLABLE = 1u << 0,
  API_SF_INT_OR_STRING = 1u << 1,    /* x-kubernetes-int-or-string */
  API_SF_PRESERVE_UNKNOWN = 1u << 2, /* x-kubernetes-preserve-unknown-fields */
  API_SF_EMBEDDED = 1u << 3,         /* x-kubernetes-embedded-resource */
  API_SF_MINIMUM = 1u << 4,
  API_SF_MAXIMUM = 1u << 5,
  API_SF_EXCL_MIN = 1u << 6,
  API_SF_EXCL_MAX = 1u << 7,
  API_SF_UNIQUE = 1u << 8,      /* uniqueItems */
  API_SF_VALIDATIONS = 1u << 9, /* has x-kubernetes-validations (CEL) */
  API_SF_MULTIPLE = 1u << 10,   /* multipleOf set */
  /* A built-in type: mismatches are reported as Go's JSON decoder does
   * (400), not as schema validation (422). */
  API_SF_GO = 1u << 11,
  API_SF_MAP_GRANULAR = 1u << 12, /* x-kubernetes-map-type: granular */
};

typedef struct api_schema api_schema_t;

typedef struct api_schema_prop {
  const char *name;
  api_schema_t *schema;
  /* The field's description where the parent is a built-in type (its
   * schema may be a type shared by other fields), else NULL. */
  const char *description;
} api_schema_prop_t;

struct api_schema {
  uint8_t type;   /* enum api_stype */
  uint8_t format; /* enum api_sformat */
  uint8_t list;   /* enum api_list_kind (arrays) */
  uint8_t mflags; /* enum api_mflags */
  uint32_t flags; /* enum api_sflags */
  /* List map keys of an associative list (apply); keys[0] is also the
   * strategic merge key of a built-in list. */
  const char *keys[API_MAX_KEYS];
  const char *format_name; /* the format as published ("int32", "date") */
  const char *description;
  /* Built-in object types: the table it came from (Go name, OpenAPI
   * definition).  NULL for CRD nodes and scalars. */
  const api_type_t *src;
  /* Objects: properties sorted by name. */
  api_schema_prop_t *props;
  size_t n_props;
  api_schema_t *items;      /* arrays: the element schema */
  api_schema_t *additional; /* maps: the value schema (additionalProperties) */
  const char **required;
  size_t n_required;
  json_object *enum_values;   /* array, or NULL */
  json_object *default_value; /* or NULL */
  json_object *example;       /* published only */
  double minimum, maximum, multiple_of;
  int64_t min_length, max_length; /* -1: unset */
  int64_t min_items, max_items;
  int64_t min_props, max_props;
  const char *pattern;
  void *regex; /* compiled pattern (pcre2_code) */
  /* x-kubernetes-validations as given (published, never evaluated). */
  json_object *validations;
};

/* An arena owns schema nodes, strings and compiled patterns. */
typedef struct api_arena api_arena_t;
api_arena_t *api_arena_new(void);
void api_arena_free(api_arena_t *a);
api_schema_t *api_arena_node(api_arena_t *a);
char *api_arena_strdup(api_arena_t *a, const char *s);
/* Remember `re` (a pcre2_code, stolen) to free with the arena. */
void api_arena_regex(api_arena_t *a, void *re);
/* A zeroed block / a JSON value (reference stolen) owned by the arena. */
void *api_arena_alloc(api_arena_t *a, size_t size);
json_object *api_arena_json(api_arena_t *a, json_object *v);
/* Sort an object node's properties (after filling them). */
void api_schema_sort_props(api_schema_t *s);

/* The compiled schema of a static type (NULL for NULL).  Built once per
 * process, thread-safe, never freed. */
const api_schema_t *api_schema_of_type(const api_type_t *t);
/* The root schema of a kind: its static type compiled, or the schema of a
 * custom resource's version.  NULL when the kind has no schema. */
const api_schema_t *api_kind_schema(const kube_kind_t *k);
/* The static root type of a kind, or NULL (custom resources, kinds
 * without a table).  Kinds without a strategy (made by a caller) are
 * looked up in the table by group and kind. */
const api_type_t *api_kind_type(const kube_kind_t *k);
/* The type of a request body that is no kind of the table (the
 * TokenRequest of serviceaccounts/token, the Eviction of pods/eviction),
 * or NULL. */
const api_type_t *api_body_type(const char *api_version, const char *kind);

/* Property `name` of an object schema: the declared property, else the
 * additionalProperties schema.  NULL when neither (or s is NULL). */
const api_schema_t *api_schema_prop(const api_schema_t *s, const char *name);
/* "object", "array", "string", "integer", "number", "boolean"; NULL for
 * API_S_ANY. */
const char *api_schema_type_name(int type);
/* The schema a value's own fields follow: the items of an array, else s. */
static inline const api_schema_t *api_schema_elem(const api_schema_t *s) {
  return s && s->type == API_S_ARRAY ? s->items : s;
}

/* The schema of a CRD version's openAPIV3Schema (props, borrowed) built in
 * arena a.  Problems of the definition go to v (may be NULL) under `field`
 * ("spec.versions[0].schema.openAPIV3Schema"), as apiextensions words
 * them.  NULL on out-of-memory or when props is not an object. */
struct verrs;
api_schema_t *api_crd_schema_build(api_arena_t *a, json_object *props,
                                   struct verrs *v, const char *field);

/* ---- checking a request body (schema-check.c) --------------------------- */

enum api_check_flags {
  /* Remove unknown fields (and nulls of non-nullable CRD fields). */
  API_CHECK_PRUNE = 1 << 0,
  /* Apply `default` values of the schema (custom resources). */
  API_CHECK_DEFAULT = 1 << 1,
  /* Validate values against the schema (custom resources): the causes go
   * to `errs`. */
  API_CHECK_VALIDATE = 1 << 2,
};

struct verrs;

typedef struct api_check {
  unsigned flags;   /* enum api_check_flags */
  const char *base; /* path of the checked value ("" or NULL: the root) */
  /* Unknown fields found ("spec.foo", "spec.containers[0].bar"); owned. */
  char **unknown;
  size_t n_unknown;
  /* The first type mismatch of a built-in type, as Go's decoder words it
   * ("json: cannot unmarshal string into Go struct field
   * DeploymentSpec.spec.replicas of type int32"); owned or NULL. */
  char *type_error;
  /* x-kubernetes-validations rules met (not evaluated); owned paths. */
  char **skipped_rules;
  size_t n_skipped_rules;
  struct verrs *errs; /* API_CHECK_VALIDATE: where the causes go */
  bool oom;
} api_check_t;

/* Walk `obj` (modified in place when pruning or defaulting) against
 * `root`.  Returns -1 only on out-of-memory; problems are in *c. */
int api_schema_check(json_object *obj, const api_schema_t *root,
                     api_check_t *c);
void api_check_clear(api_check_t *c);

/* Apply the schema's defaults to obj in place (custom resources). */
void api_schema_default(json_object *obj, const api_schema_t *root);

#endif /* KUBE_API_SCHEMA_H */
