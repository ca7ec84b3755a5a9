/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libkube api: the kinds table, Kubernetes objects (opaque, JSON in and out,
 * YAML in), validation, defaulting and typed views of the fields the system
 * acts on.  json-c never appears in this header.
 */
#ifndef LIBKUBE_API_H
#define LIBKUBE_API_H

#include <libkube/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Kinds table                                                               */
/* ------------------------------------------------------------------------ */

/* A column of kubectl's table output for a kind (Table.columnDefinitions). */
typedef struct kube_kind_column {
  const char *name;        /* "NAME", "READY", ... as kubectl shows them */
  const char *type;        /* "string" | "integer" | "date" | ... */
  const char *format;      /* "name" for the NAME column, else "" */
  const char *description;
  int priority;            /* 0 = always, 1 = only with -o wide */
} kube_kind_column_t;

/* One served resource.  All strings static; arrays NULL-terminated. */
typedef struct kube_kind {
  const char *group;        /* "" for core, "apps", ... */
  const char *version;      /* "v1", "v2" */
  const char *kind;         /* "Pod" */
  const char *resource;     /* plural, "pods" */
  const char *singular;     /* "pod" */
  const char *list_kind;    /* "PodList" */
  bool namespaced;
  const char *const *short_names;  /* {"po", NULL} */
  const char *const *verbs;        /* {"create","delete",...,NULL} */
  const char *const *categories;   /* {"all", NULL} or NULL */
  const char *const *subresources; /* {"status","log","exec","binding",NULL} */
  const kube_kind_column_t *columns; /* terminated by a column with name NULL */
  /* Fields a field selector may use besides metadata.name/namespace. */
  const char *const *selectable_fields;
} kube_kind_t;

/* Every served kind, in discovery order.  Static. */
size_t kube_kinds_count(void);
const kube_kind_t *kube_kinds_at(size_t i);
/* Lookups return a static entry or NULL.  `group` "" is core. */
const kube_kind_t *kube_kind_by_resource(const char *group, const char *version,
                                         const char *resource);
/* apiVersion "v1" / "apps/v1" and Kind "Pod". */
const kube_kind_t *kube_kind_by_kind(const char *api_version, const char *kind);
/* Resolve what a user typed ("po", "pods", "pod", "deploy",
 * "deployments.apps", "Pod") to the preferred version's entry. */
const kube_kind_t *kube_kind_resolve(const char *name);
/* "v1" or "apps/v1" into buf. */
char *kube_kind_api_version(const kube_kind_t *k, char *buf, size_t len);
/* The columns served for kinds without a printer of their own: NAME, AGE.
 * Static, terminated by a column with name NULL. */
const kube_kind_column_t *kube_kind_generic_columns(void);

/* ------------------------------------------------------------------------ */
/* Objects                                                                   */
/* ------------------------------------------------------------------------ */

/* A Kubernetes object (any kind), opaque.  Single owner. */
typedef struct kube_object kube_object_t;

/* Decode one JSON object.  BadRequest on malformed input.  Owned. */
kube_object_t *kube_object_from_json(const char *json, size_t len,
                                     kube_error_t *err);
/* Decode a YAML or JSON stream with any number of documents ("---").  A
 * `kind: List` document is flattened into its items.  Empty documents are
 * skipped.  On success *out is an owned array of owned objects (free with
 * kube_object_array_free) and *n its length. */
int kube_objects_decode(const char *data, size_t len, kube_object_t ***out,
                        size_t *n, kube_error_t *err);
void kube_object_array_free(kube_object_t **objs, size_t n);

enum {
  KUBE_JSON_COMPACT = 0,
  KUBE_JSON_PRETTY = 1 << 0,  /* kubectl -o json style, 4-space indent */
};
/* Encode; owned string, free(). NULL on out-of-memory. */
char *kube_object_to_json(const kube_object_t *obj, int flags);
/* Encode as YAML (kubectl -o yaml style); owned string, free(). */
char *kube_object_to_yaml(const kube_object_t *obj);
kube_object_t *kube_object_copy(const kube_object_t *obj);
void kube_object_free(kube_object_t *obj);

/* Metadata accessors: borrowed strings valid until the object changes, NULL
 * when absent. */
const char *kube_object_api_version(const kube_object_t *obj);
const char *kube_object_kind(const kube_object_t *obj);
const char *kube_object_name(const kube_object_t *obj);
const char *kube_object_namespace(const kube_object_t *obj);
const char *kube_object_uid(const kube_object_t *obj);
const char *kube_object_resource_version(const kube_object_t *obj);
const char *kube_object_label(const kube_object_t *obj, const char *key);
const char *kube_object_annotation(const kube_object_t *obj, const char *key);
/* A string at a dotted path ("spec.nodeName", "status.phase"); array
 * indexes as "spec.containers.0.image".  Borrowed or NULL. */
const char *kube_object_get_string(const kube_object_t *obj, const char *path);
/* Setters copy their arguments; -1 on out-of-memory. */
int kube_object_set_string(kube_object_t *obj, const char *path,
                           const char *value, kube_error_t *err);
int kube_object_set_label(kube_object_t *obj, const char *key,
                          const char *value, kube_error_t *err);

/* Validate against the kind's rules.  Invalid with one cause per problem,
 * field paths as Kubernetes writes them ("spec.containers[0].image",
 * type "FieldValueRequired", message "Required value").  `old` is the stored
 * object for an update (immutable fields), NULL on create. */
int kube_object_validate(const kube_object_t *obj, const kube_object_t *old,
                         kube_error_t *err);
/* Apply Kubernetes defaults in place (restartPolicy Always, ...). */
int kube_object_default(kube_object_t *obj, kube_error_t *err);

#ifdef __cplusplus
}
#endif
#endif /* LIBKUBE_API_H */
