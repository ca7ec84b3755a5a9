/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The api module's interface for the rest of the library (apiserver,
 * client, controllers): the same object model at the json-c level.  Not
 * installed; never part of the public API.  Functions here are not exported
 * from libkube.so (no KUBE_EXPORT).
 */
#ifndef KUBE_API_PRIVATE_H
#define KUBE_API_PRIVATE_H

#include <json-c/json.h>
#include <libkube/api.h>

struct kube_object {
  json_object *root; /* owned reference */
};

/* Wrap a tree (stolen reference) / borrow the tree of an object. */
kube_object_t *kube_object_wrap(json_object *root);
json_object *kube_object_json(const kube_object_t *obj);

/* Parse exactly one JSON value; BadRequest with the parser's message and
 * offset on malformed input or trailing garbage.  Owned reference. */
json_object *kube_json_parse(const char *data, size_t len, kube_error_t *err);
/* YAML or JSON stream -> array of trees (owned json array, items objects).
 * List kinds are flattened. */
json_object *kube_json_decode_stream(const char *data, size_t len,
                                     kube_error_t *err);
/* YAML text of a tree (kubectl -o yaml layout); owned string. */
char *kube_json_to_yaml(json_object *obj);

/* Dotted-path helpers over trees ("metadata.labels", "spec.containers.0"). */
json_object *kube_json_get(json_object *obj, const char *path);
const char *kube_json_get_string(json_object *obj, const char *path);

/* Validation and defaulting of a tree of the given kind (kind may be NULL:
 * it is looked up from apiVersion/kind).  `old` is NULL on create. */
int kube_json_validate(json_object *obj, json_object *old,
                       const kube_kind_t *kind, kube_error_t *err);
int kube_json_default(json_object *obj, const kube_kind_t *kind,
                      kube_error_t *err);

/* The cells of one Table row for `obj`, one per kind->columns entry, as a
 * new json array (owned).  `now` is used for AGE columns. */
json_object *kube_json_table_cells(const kube_kind_t *kind, json_object *obj,
                                   time_t now);

/* Field-selector lookup over a tree: "metadata.name", "spec.nodeName",
 * "status.phase", "involvedObject.name", ...  Fits kube_selector_lookup_fn
 * with ctx = the json_object.  Absent fields read as "" for the fields the
 * kind declares selectable (as Kubernetes does), NULL otherwise. */
const char *kube_json_field_lookup(void *obj, const char *field);
/* Label lookup: ctx = the json_object; returns metadata.labels[key]. */
const char *kube_json_label_lookup(void *obj, const char *key);

/* Typed views straight from trees (borrowed; same contracts as the public
 * kube_*_from_object functions).  `spec` is a PodSpec object. */
int kube_pod_spec_from_json(json_object *spec, kube_pod_spec_t *out,
                            kube_error_t *err);
int kube_pod_status_from_json(json_object *status, kube_pod_status_t *out,
                              kube_error_t *err);
int kube_node_from_json(json_object *node, kube_node_t *out, kube_error_t *err);
int kube_service_from_json(json_object *svc, kube_service_t *out,
                           kube_error_t *err);
int kube_resource_list_from_json(json_object *list, kube_resource_list_t *out,
                                 kube_error_t *err);
/* A map of labels (or annotations, selectors) as text: "k" eq "v" pairs
 * sorted by key, joined by sep ("=" and "," give labels.FormatLabels'
 * "a=b,c=d").  Non-string values print as their JSON text.  Appends
 * nothing for an absent or empty map. */
void kube_json_format_labels(kube_strbuf_t *sb, json_object *map,
                             const char *eq, const char *sep);
/* A LabelSelector object as selector text, requirements sorted by key
 * ("app=x,tier in (a,b),!gone"); appends nothing for an empty one. */
void kube_json_format_label_selector(kube_strbuf_t *sb, json_object *sel);
/* qos.GetPodQOS of a PodSpec tree: "BestEffort", "Burstable", "Guaranteed". */
const char *kube_json_pod_qos_class(json_object *spec);

#endif /* KUBE_API_PRIVATE_H */
