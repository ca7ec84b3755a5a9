/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Field sets of server-side apply and managed fields, private to
 * src/apiserver/apply*.c and managed-fields.c.
 *
 * A field set is a json-c tree in Kubernetes' FieldsV1 form, kept
 * normalized so it can be written out as it is: keys are path elements
 * ("f:<field>", "k:<json key object>", "v:<json value>", "i:<index>");
 * below the root a node is a member when it is empty ({}) or holds a "."
 * child; every other node has children.  as_fs_from_fieldsv1 validates and
 * normalizes what a client sent.
 */
#ifndef KUBE_APISERVER_APPLY_INTERNAL_H
#define KUBE_APISERVER_APPLY_INTERNAL_H

#include <stdbool.h>
#include <json-c/json.h>
#include <libkube/core.h>

#include "apiserver/patch-schema.h"

/* A path: elements borrowed from the caller. */
#define FS_MAX_DEPTH 64
typedef struct fs_path {
  const char *el[FS_MAX_DEPTH];
  size_t n;
} fs_path_t;

json_object *as_fs_new(void);
/* Mark `path` as a member.  -1 on out-of-memory or a path too deep. */
int as_fs_add(json_object *set, const fs_path_t *path);
bool as_fs_has(json_object *set, const fs_path_t *path);
/* Is `path` or anything below it a member? */
bool as_fs_has_below(json_object *set, const fs_path_t *path);
/* Does the set hold members strictly below `path`? */
bool as_fs_has_children(json_object *set, const fs_path_t *path);
bool as_fs_empty(json_object *set);
/* a ∪= b. */
int as_fs_union(json_object *a, json_object *b);
/* Is some member of b a member of a? */
bool as_fs_intersects(json_object *a, json_object *b);
/* a -= members of b; nodes left without members are dropped. */
void as_fs_subtract(json_object *a, json_object *b);
/* Drop `path` and everything below it. */
void as_fs_remove_subtree(json_object *set, const fs_path_t *path);
/* Visit every member, parents before children, elements sorted
 * ("f:" < "k:" < "v:" < "i:", then by text).  A non-zero return of the
 * callback stops the walk and is returned. */
typedef int (*fs_visit_fn)(const fs_path_t *path, void *ctx);
int as_fs_walk(json_object *set, fs_visit_fn fn, void *ctx);

/* A set from a FieldsV1 tree: a normalized copy (owned), or with `share`
 * the tree itself (a new reference; the set is then edited in place) when
 * it is already normalized.  NULL with *bad set when fv1 is not a valid
 * FieldsV1 tree, NULL alone on out-of-memory. */
json_object *as_fs_from_fieldsv1(json_object *fv1, bool share, bool *bad);

/* Path element text for a field, a list item key or a set value.  Owned;
 * NULL on out-of-memory (or when an item has none of the keys). */
char *as_fs_field_element(const char *name);
char *as_fs_key_element(json_object *item, const patch_field_t *field);
char *as_fs_value_element(json_object *value);

/* The value at `path` inside obj (borrowed), or NULL with *found false.
 * JSON null values are returned as NULL with *found true. */
json_object *as_fs_lookup(json_object *obj, const fs_path_t *path, bool *found);
/* Remove the value at `path` from obj (fields and list items). */
void as_fs_remove_value(json_object *obj, const fs_path_t *path);
/* ".spec.containers[name=\"x\"].image" (owned). */
char *as_fs_path_string(const fs_path_t *path);

/* Fields of every object the field manager never tracks: apiVersion, kind,
 * metadata.name, namespace, uid, resourceVersion, ...; true when `path`
 * is one of them or below one. */
bool as_fs_path_ignored(const fs_path_t *path);

/* ---- managed fields entries (managed-fields.c) -------------------------- */

typedef struct mf_entry {
  char *manager;
  char *operation; /* "Apply" | "Update" */
  char *api_version;
  char *subresource; /* "" when none */
  char *time;        /* RFC 3339, may be NULL */
  json_object *set;  /* field set (owned reference) */
  bool shared;       /* set is still the object's own fieldsV1 tree */
} mf_entry_t;

typedef struct mf_list {
  mf_entry_t *v;
  size_t n;
} mf_list_t;

/* Parse obj's metadata.managedFields.  BadRequest on a malformed entry.
 * Entries may share obj's fieldsV1 trees (copy-on-write: as_mf_entry_own
 * before editing a set), so obj is never modified. */
int as_mf_list_read(json_object *obj, mf_list_t *out, kube_error_t *err);
/* Make e->set private before editing it.  -1 on out-of-memory. */
int as_mf_entry_own(mf_entry_t *e);
/* Find (manager, operation, subresource: "" for the object itself) or
 * NULL. */
mf_entry_t *as_mf_list_find(mf_list_t *l, const char *manager,
                            const char *operation, const char *subresource);
/* Append a new empty entry; NULL on out-of-memory. */
mf_entry_t *as_mf_list_add(mf_list_t *l, const char *manager,
                           const char *operation, const char *api_version,
                           const char *subresource);
/* Stamp the entry with the current time. */
int as_mf_entry_touch(mf_entry_t *e);
/* Write the list into obj's metadata.managedFields (entries with empty sets
 * dropped, Apply entries first then by time); an empty list removes the
 * field. */
int as_mf_list_write(json_object *obj, mf_list_t *l, kube_error_t *err);
void as_mf_list_free(mf_list_t *l);

/* The field set of a whole value as server-side apply sees it (leaves, list
 * items, empty objects), ignoring the untracked fields; NULL on OOM or
 * with *err set (BadRequest) for an associative list item without keys. */
json_object *as_fs_from_value(json_object *obj, const patch_type_t *type,
                              kube_error_t *err);

#endif /* KUBE_APISERVER_APPLY_INTERNAL_H */
