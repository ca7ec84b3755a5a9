/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Patch engines and request decoders of the apiserver, as pure functions
 * over json-c trees.  Private to the library.  None of them modifies its
 * inputs: each returns a new tree (owned; json_object_put it) or NULL with
 * *err set.
 */
#ifndef KUBE_APISERVER_PATCH_H
#define KUBE_APISERVER_PATCH_H

#include <stdbool.h>
#include <json-c/json.h>
#include <libkube/api.h>

/* RFC 7386 JSON merge patch (application/merge-patch+json).  BadRequest
 * when the patch is not an object. */
json_object *kube_patch_merge(json_object *orig, json_object *patch,
                              kube_error_t *err);

/* Strategic merge patch (application/strategic-merge-patch+json): lists
 * merge by their patch merge key (containers, initContainers, env, volumes,
 * imagePullSecrets by name; ports by containerPort (service ports by port);
 * volumeMounts by mountPath; tolerations, ...), honouring
 * `$setElementOrder/<list>`, `$patch: delete|replace|merge`,
 * `$retainKeys`, `$deleteFromPrimitiveList/<list>`.  `kind` picks the
 * schema (NULL: lists are replaced, as for unknown types). */
json_object *kube_patch_strategic(json_object *orig, json_object *patch,
                                  const kube_kind_t *kind, kube_error_t *err);

/* RFC 6902 JSON patch (application/json-patch+json): add, remove, replace,
 * move, copy, test.  BadRequest on a malformed patch; Invalid when a path
 * does not exist; Conflict... no: a failed `test` is Invalid too. */
json_object *kube_patch_json(json_object *orig, json_object *ops,
                             kube_error_t *err);

/* Server-side apply (application/apply-patch+yaml): merge the applied
 * configuration into `live` (NULL when the object does not exist yet: the
 * result is the object to create) as field manager `manager`, and record
 * metadata.managedFields (operation Apply, fieldsV1).  When another manager
 * owns a field the configuration sets to a different value, fails with
 * Conflict (409) listing the fields as causes, unless `force`. */
json_object *kube_apply(json_object *live, json_object *applied,
                        const char *manager, bool force,
                        const kube_kind_t *kind, kube_error_t *err);

/* Record, in obj's metadata.managedFields, that `manager` (operation
 * "Update") now owns the fields that differ between old (NULL on create)
 * and obj.  Modifies obj in place, the field sets of its managedFields
 * too (when obj shares that list with old, old's copy changes with it). */
int kube_managed_fields_update(json_object *obj, json_object *old,
                               const char *manager, kube_error_t *err);
/* Same for a write through a subresource ("status", "scale"): the entry is
 * (manager, "Update", subresource), apart from the manager's entry for the
 * object itself, as kube-apiserver keeps them. */
int kube_managed_fields_update_sub(json_object *obj, json_object *old,
                                   const char *manager,
                                   const char *subresource,
                                   kube_error_t *err);

/* Decode an application/vnd.kubernetes.protobuf body (the "k8s\0" magic,
 * then a runtime.Unknown message holding typeMeta and raw bytes) into the
 * JSON tree of the object, for the core/v1 and apps/v1 kinds libkube
 * serves.  BadRequest when malformed; UnsupportedMediaType for a kind with
 * no schema. */
json_object *kube_protobuf_decode(const void *data, size_t len,
                                  kube_error_t *err);

#endif /* KUBE_APISERVER_PATCH_H */
