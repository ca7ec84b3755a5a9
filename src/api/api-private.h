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
/* The same, and whether any object of the text repeats a key (then
 * api_json_duplicates names them; without repeats it has nothing to say).
 * dup_keys may be NULL. */
json_object *api_json_parse_keyed(const char *data, size_t len,
                                  bool *dup_keys, kube_error_t *err);
/* The tree of plain JSON text in one pass (json-parse.c), or NULL when
 * the text is anything else (malformed, a fraction or exponent, ...):
 * kube_json_parse reads it with json-c then.  What it returns is the tree
 * kube_json_parse would. */
json_object *api_json_parse_plain(const char *data, size_t len,
                                  bool *dup_keys);
/* Length of the well-formed UTF-8 sequence at s (lead byte >= 0x80, end
 * the end of the text), or 0: no overlongs, surrogates or code points
 * above U+10FFFF. */
size_t api_utf8_seq(const unsigned char *s, const unsigned char *end);
/* kube_json_parse with json-c alone (the fuzzer compares the two). */
json_object *api_json_parse_jsonc(const char *data, size_t len,
                                  bool *dup_keys, kube_error_t *err);
/* JSON text of a tree, the bytes json-c writes with
 * JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE (json-encode.c);
 * owned, NUL-terminated, NULL on out-of-memory. */
char *api_json_encode(json_object *obj, size_t *len);
/* YAML or JSON stream -> array of trees (owned json array, items objects).
 * List kinds are flattened. */
json_object *kube_json_decode_stream(const char *data, size_t len,
                                     kube_error_t *err);
/* YAML text of a tree (kubectl -o yaml layout); owned string. */
char *kube_json_to_yaml(json_object *obj);

/* Duplicate keys of the objects in JSON text the parser accepted, as
 * strict decoding reports them: *out is an owned array of owned paths
 * ("spec.replicas", "metadata.labels.app"); free each and the array.
 * -1 on out-of-memory. */
int api_json_duplicates(const char *data, size_t len, char ***out,
                        size_t *n_out);

/* kubectl JSONPath: the template's text over root (owned string) /
 * the first node an expression (".spec.replicas", with or without braces)
 * selects, borrowed, *out NULL when none.  BadRequest on a syntax error. */
char *api_jsonpath_eval(json_object *root, const char *tmpl, kube_error_t *err);
int api_jsonpath_first(json_object *root, const char *expr, json_object **out,
                       kube_error_t *err);

/* Dotted-path helpers over trees ("metadata.labels", "spec.containers.0"). */
json_object *kube_json_get(json_object *obj, const char *path);
const char *kube_json_get_string(json_object *obj, const char *path);

/* ------------------------------------------------------------------------ */
/* Per-kind strategy                                                          */
/* ------------------------------------------------------------------------ */

/* Everything the library knows about one kind besides its names (the
 * public kube_kind_t), as Kubernetes' registry strategies hold it: a
 * built-in kind is one file in src/api/kinds/ defining its kube_kind_t, its
 * columns and this table, plus its entry in kinds.c.  Every hook may be
 * NULL (nothing to do).  Hooks get the kind, so one strategy can serve
 * several kinds (custom resources: src/api/kinds/custom.c). */

struct verrs;
struct api_type;
struct api_schema;

/* The rule for metadata.name. */
enum api_name_rule {
  API_NAME_SUBDOMAIN = 0, /* DNS-1123 subdomain (most kinds) */
  API_NAME_LABEL,         /* DNS-1123 label (namespaces) */
  API_NAME_DNS1035,       /* DNS-1035 label (services) */
};

enum api_kind_flags {
  /* Deleting a pod bound to a node waits for its grace period. */
  API_KIND_GRACEFUL_DELETE = 1 << 0,
  /* spec.finalizers hold the object too (namespaces). */
  API_KIND_SPEC_FINALIZERS = 1 << 1,
  /* A custom resource: body errors are schema validation (422) rather
   * than decoding (400); strategic merge patch is refused (415). */
  API_KIND_CUSTOM = 1 << 2,
  /* metadata.generation is set on create and bumped on every change of
   * anything but metadata (and status, with a status subresource), with
   * or without a spec (custom resources). */
  API_KIND_GENERATION_ALWAYS = 1 << 3,
  /* Creation drops status (kinds whose status only the status
   * subresource writes: custom resources with it). */
  API_KIND_CREATE_DROPS_STATUS = 1 << 4,
};

/* A field-selector field whose value lives elsewhere or has a default
 * when absent ("status.successful" is status.succeeded, 0 when absent). */
typedef struct api_field_path {
  const char *field;
  const char *path;   /* dotted path; NULL: the field itself */
  const char *absent; /* value when absent; NULL: "" */
} api_field_path_t;

enum api_selector_form {
  API_SCALE_SELECTOR_NONE = 0,
  API_SCALE_SELECTOR_LABEL_SELECTOR, /* a metav1.LabelSelector object */
  API_SCALE_SELECTOR_MAP,            /* a map of labels (rc) */
  API_SCALE_SELECTOR_STRING,         /* a serialized selector (CRs) */
};

/* Where the scale subresource (autoscaling/v1 Scale) reads and writes. */
typedef struct api_scale {
  const char *spec_replicas;   /* dotted path */
  const char *status_replicas; /* dotted path */
  const char *selector;        /* dotted path or NULL */
  int selector_form;           /* enum api_selector_form */
} api_scale_t;

/* What an update may change: the main resource, the status subresource,
 * everything (kinds without a status subresource), or a pod's
 * spec.ephemeralContainers (pods/ephemeralcontainers). */
enum api_update_mode {
  API_UPDATE_MAIN,
  API_UPDATE_STATUS,
  API_UPDATE_ALL,
  API_UPDATE_EPHEMERAL
};

struct kube_kind_strategy {
  unsigned flags; /* enum api_kind_flags */
  int name_rule;  /* enum api_name_rule */
  /* The kind's type (protobuf field numbers, merge keys, field types):
   * types.h.  NULL: none (no protobuf, lists replaced, untyped). */
  const struct api_type *type;
  /* Kind-specific validation (metadata is validated for every kind);
   * `old` is NULL on create. */
  void (*validate)(struct verrs *v, json_object *obj, json_object *old,
                   const kube_kind_t *k);
  /* The validation of an update through pods/ephemeralcontainers (in
   * place of validate); NULL: the kind has no such subresource. */
  void (*validate_ephemeral)(struct verrs *v, json_object *obj,
                             json_object *old, const kube_kind_t *k);
  /* Defaults, in place. */
  void (*defaults)(json_object *obj, const kube_kind_t *k);
  /* The cells of a Table row, one per k->columns entry.  NULL: NAME and
   * AGE. */
  void (*cells)(json_object *cells, json_object *obj, time_t now,
                const kube_kind_t *k);
  /* Server-set state of a new object (a Pod is Pending), before
   * validation. */
  void (*prepare_create)(json_object *obj, const kube_kind_t *k);
  /* What an update keeps from the stored object beyond the generic rules
   * (the main resource keeps status, the status subresource everything
   * but status). */
  void (*prepare_update)(json_object *obj, json_object *old,
                         enum api_update_mode mode, const kube_kind_t *k);
  /* Field-selector fields with another path or a default; terminated by
   * a NULL field. */
  const api_field_path_t *field_paths;
  /* The scale subresource, when the kind has one. */
  const api_scale_t *(*scale)(const kube_kind_t *k);
  /* The root schema when it is not the compiled type (custom resources). */
  const struct api_schema *(*schema)(const kube_kind_t *k);
  /* A built-in kind served at several versions of one stored object
   * (HorizontalPodAutoscaler): the apiVersion it is stored at, and the
   * conversion of a tree in place from the version its apiVersion names
   * to `api_version` (apiVersion set too); -1 when it cannot.  NULL: the
   * object is served as stored. */
  const char *storage_version;
  int (*convert)(json_object *obj, const char *api_version);
};

/* Does a metav1.LabelSelector (matchLabels, matchExpressions) select a
 * map of labels?  An empty or NULL selector selects everything; only for
 * selectors that passed validation (an unknown operator is ignored). */
bool api_selector_matches_labels(json_object *sel, json_object *labels);

/* The built-in kind of a tree (apiVersion/kind); NULL when unknown. */
const kube_kind_t *api_kind_of_tree(json_object *obj);

/* The strategy of a kind; an empty one for kinds without (made by a
 * caller), looked up by group and kind in the table first. */
const struct kube_kind_strategy *api_kind_strategy(const kube_kind_t *k);
/* The calling thread's json-c tokener (depth 512), reset, with the flags
 * the last user left: set them.  NULL when it cannot be made. */
json_tokener *api_json_tokener(void);

/* The scale subresource of k, or NULL. */
const api_scale_t *api_kind_scale(const kube_kind_t *k);

/* ---- custom resources (kinds/custom.c, kinds/crd.c) ---------------------- */

/* A custom resource's kind: built at run time from a
 * CustomResourceDefinition, refcounted (the built-in kinds are static;
 * ref and unref do nothing for them). */
bool api_kind_is_custom(const kube_kind_t *k);
const kube_kind_t *api_kind_ref(const kube_kind_t *k);
void api_kind_unref(const kube_kind_t *k);
/* The kinds a CustomResourceDefinition tree serves, one per served version
 * in the definition's order: *out is an owned array of owned kinds
 * (api_kind_unref each, free the array).  The definition is assumed valid
 * (kube_json_validate); InvalidError when it has no storage version. */
int api_crd_build_kinds(json_object *crd, kube_kind_t ***out, size_t *n,
                        kube_error_t *err);
/* A client process's kinds learned from the server (custom resources):
 * kube_kind_by_kind / _resolve / _by_resource search them after the
 * built-in table.  The array and kinds stay owned by the caller and must
 * outlive every lookup. */
void api_kinds_set_extra(kube_kind_t **kinds, size_t n);
/* "crontabs.stable.example.com" / "stable.example.com/v1" (the version
 * objects are stored in) / a deprecated version's warning; NULL for
 * built-in kinds. */
const char *api_cr_crd_name(const kube_kind_t *k);
const char *api_cr_storage_api_version(const kube_kind_t *k);
const char *api_cr_deprecation(const kube_kind_t *k);
/* Kubernetes' version priority (v2 > v1 > v1beta2 > v1beta1 > v1alpha1 >
 * other): < 0 when a sorts before b. */
int api_version_cmp(const char *a, const char *b);

/* Validation and defaulting of a tree of the given kind (kind may be NULL:
 * it is looked up from apiVersion/kind).  `old` is NULL on create. */
int kube_json_validate(json_object *obj, json_object *old,
                       const kube_kind_t *kind, kube_error_t *err);
/* The same for an update of the given mode (API_UPDATE_EPHEMERAL runs
 * the kind's validate_ephemeral). */
int kube_json_validate_mode(json_object *obj, json_object *old,
                            const kube_kind_t *kind, enum api_update_mode mode,
                            kube_error_t *err);
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
/* A metav1.LabelSelector object ({matchLabels, matchExpressions}) as a
 * selector (LabelSelectorAsSelector), owned by the caller.  sel must not be
 * NULL: whether an absent selector means nothing (controllers) or
 * everything is the caller's call.  Operators are LabelSelector's own (In,
 * NotIn, Exists, DoesNotExist); anything else, a non-object or a bad key or
 * value is a BadRequest in err, and NULL. */
kube_selector_t *kube_json_label_selector(json_object *sel, kube_error_t *err);
/* A plain label map ({"app": "x"}, as RC and Service selectors) as an
 * equality selector; NULL map gives the empty selector (matches all). */
kube_selector_t *kube_json_map_selector(json_object *map, kube_error_t *err);
/* qos.GetPodQOS of a PodSpec tree: "BestEffort", "Burstable", "Guaranteed". */
const char *kube_json_pod_qos_class(json_object *spec);

#endif /* KUBE_API_PRIVATE_H */
