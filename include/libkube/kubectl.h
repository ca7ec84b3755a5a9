/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libkube kubectl: what kubectl does on top of the REST client, for every
 * frontend (the `kube` CLI, the Python bindings, an embedder's tools):
 *
 * - resource names as users type them, manifests read from files;
 * - output formats (-o json|yaml|name|wide|jsonpath=|custom-columns=),
 *   kubectl's table printer over server-side Tables, JSONPath, sorting;
 * - Table-format GETs, paged LISTs and watches;
 * - `kubectl describe` text for the kinds it knows, a generic layout for
 *   the rest;
 * - generators (run, create deployment|service|namespace, expose);
 * - label/annotate changes, client-side apply and --save-config;
 * - discovery listings (api-resources);
 * - copying files to and from containers (cp: tar over exec).
 *
 * Texts come back as owned strings (free()) and never go to a stream: the
 * library prints nothing.  Error messages are kubectl's wording (a CLI
 * prints "error: " + message); errors from the server keep their reason
 * and kube_client_last_status() tells that they came from the server.
 *
 * Threading: functions that take a kube_client_t use it as the client
 * does (one thread at a time); the others touch only their arguments and
 * may run on any thread.
 */
#ifndef LIBKUBE_KUBECTL_H
#define LIBKUBE_KUBECTL_H

#include <time.h>

#include <libkube/api.h>
#include <libkube/client.h>
#include <libkube/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Resources and names                                                       */
/* ------------------------------------------------------------------------ */

/* Resolve a resource as a user types it ("po", "pods", "pod",
 * "deployments.apps", "deployment.apps", "Pod").  Static entry, or NULL
 * with NotFound "the server doesn't have a resource type \"NAME\"". */
const kube_kind_t *kube_kind_lookup(const char *name, kube_error_t *err);
/* How kubectl names a kind in messages and -o name: "pod",
 * "deployment.apps".  Writes into buf (truncated to len) and returns it. */
char *kube_kind_display_name(const kube_kind_t *kind, char *buf, size_t len);
/* The kind of an object from its apiVersion and kind (borrowed object;
 * static entry).  BadRequest "Object 'Kind' is missing in 'NAME'" /
 * "Object 'apiVersion' is missing"; NotFound "unable to recognize ...: no
 * matches for kind ..." for kinds this library does not serve. */
const kube_kind_t *kube_kind_of_object(const kube_object_t *obj,
                                       kube_error_t *err);
/* kube_kind_lookup / kube_kind_of_object that, on a miss, learn the
 * server's custom resources as kubectl does by discovery: the established
 * CustomResourceDefinitions are listed once per process (again once on a
 * later miss) and their kinds (names, short names, scope, subresources,
 * printer columns) join the lookups of this process, kube_kind_by_kind and
 * kube_kind_resolve included.  `c` NULL: no discovery.  The kinds returned
 * live as long as the process.  Errors are kube_kind_lookup's /
 * kube_kind_of_object's. */
const kube_kind_t *kube_client_resolve_kind(kube_client_t *c, const char *name,
                                            kube_error_t *err);
const kube_kind_t *kube_client_kind_of_object(kube_client_t *c,
                                              const kube_object_t *obj,
                                              kube_error_t *err);
/* "kind/name" as -o name prints it ("pod/web", "deployment.apps/web";
 * unknown kinds lower-cased).  Owned string; NULL on out-of-memory. */
char *kube_object_ref(const kube_object_t *obj);

/* ------------------------------------------------------------------------ */
/* Manifests (-f)                                                            */
/* ------------------------------------------------------------------------ */

/* Objects read from files, in order, with the file each came from.  The
 * arrays and everything in them are owned by the struct; initialise with
 * KUBE_MANIFEST_INIT, release with kube_manifest_clear. */
typedef struct kube_manifest {
  kube_object_t **objects;
  char **sources; /* file name of each object; "STDIN" for "-" */
  size_t n, cap;
} kube_manifest_t;

#define KUBE_MANIFEST_INIT                                                     \
  { 0 }

/* Append the objects of `path`: a file (YAML or JSON, any number of
 * documents, `kind: List` flattened), a directory (its .yaml, .yml and
 * .json files in name order; subdirectories only with `recursive`) or "-"
 * (standard input, read to the end).  On failure (NotFound "the path
 * \"P\" does not exist", BadRequest "error parsing P: ...", I/O errors)
 * objects read before stay in m. */
int kube_manifest_read(kube_manifest_t *m, const char *path, bool recursive,
                       kube_error_t *err);
/* Free every object and name; m is empty and reusable.  Accepts NULL. */
void kube_manifest_clear(kube_manifest_t *m);

/* ------------------------------------------------------------------------ */
/* Output formats (-o)                                                       */
/* ------------------------------------------------------------------------ */

typedef enum kube_output_format {
  KUBE_OUTPUT_DEFAULT = 0,    /* the table (or "kind/name verb" messages) */
  KUBE_OUTPUT_WIDE,           /* -o wide */
  KUBE_OUTPUT_JSON,           /* -o json: keys sorted, 4-space indent */
  KUBE_OUTPUT_YAML,           /* -o yaml */
  KUBE_OUTPUT_NAME,           /* -o name: "kind/name" */
  KUBE_OUTPUT_JSONPATH,       /* -o jsonpath=TEMPLATE */
  KUBE_OUTPUT_CUSTOM_COLUMNS, /* -o custom-columns=SPEC */
} kube_output_format_t;

typedef struct kube_output {
  kube_output_format_t format;
  /* The template of jsonpath= / custom-columns=, borrowed from the string
   * given to kube_output_parse; NULL for the other formats. */
  const char *arg;
  /* --show-managed-fields: keep metadata.managedFields in json and yaml
   * (kubectl leaves them out).  kube_output_parse sets it to false. */
  bool show_managed_fields;
} kube_output_t;

/* Parse an -o value (NULL or "" is the default).  BadRequest "unable to
 * match a printer suitable for the output format ..." when unknown. */
int kube_output_parse(const char *spec, kube_output_t *out, kube_error_t *err);
/* True for the formats printed as tables (default and wide). */
bool kube_output_is_table(const kube_output_t *out);
/* One object (borrowed) in a non-table format: json (sorted keys, as Go
 * prints unstructured objects), yaml, name ("kind/name\n") or jsonpath.
 * json and yaml leave out metadata.managedFields (also of a List's items
 * and of a watch event's object) unless out->show_managed_fields.
 * Owned string.  BadRequest for a JSONPath syntax error or a table
 * format. */
char *kube_output_object(const kube_object_t *obj, const kube_output_t *out,
                         kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* Lists                                                                     */
/* ------------------------------------------------------------------------ */

/* A `kind: List` object as kubectl prints several objects:
 * {"apiVersion":"v1","items":[],"kind":"List","metadata":
 * {"resourceVersion":""}}.  Owned (kube_object_free); NULL with err on
 * out-of-memory. */
kube_object_t *kube_list_new(kube_error_t *err);
/* Append `item` (stolen: the list owns it from now on, also on failure)
 * to the items of a List or <Kind>List. */
int kube_list_add(kube_object_t *list, kube_object_t *item, kube_error_t *err);
/* Move the items of `other` (stolen, freed) to the end of `list`. */
int kube_list_extend(kube_object_t *list, kube_object_t *other,
                     kube_error_t *err);
/* Number of items (0 when obj is not a list). */
size_t kube_list_length(const kube_object_t *list);
/* Call fn for each item in order; `item` is borrowed for the call (copy
 * it to keep it).  fn returns 0 to go on; a non-zero value stops the walk
 * and is returned. */
typedef int (*kube_list_fn)(const kube_object_t *item, void *userdata);
int kube_list_foreach(const kube_object_t *list, kube_list_fn fn,
                      void *userdata);
/* --sort-by: order the items of a List, or the rows of a Table (whose
 * rows carry their object: kube_get_options_t.include_object), by the
 * value of a JSONPath expression (".metadata.name" or "{.metadata.name}").
 * Numbers compare as numbers, everything else as text; ties keep their
 * order.  BadRequest "couldn't find any field with path ..." when no
 * element has the field. */
int kube_object_sort_by(kube_object_t *list_or_table, const char *expr,
                        kube_error_t *err);
/* -o custom-columns=HEADER:PATH,...: a Table (owned) with one column per
 * HEADER and one row per item of `list` (borrowed), cells the JSONPath
 * values joined by "," ("<none>" when empty), for kube_table_printer_add.
 * BadRequest "unexpected custom-columns spec: ..." on a malformed spec. */
kube_object_t *kube_custom_columns_table(const kube_object_t *list,
                                         const char *spec, kube_error_t *err);
/* A watch event object {"type": TYPE, "object": OBJ} as printed by
 * --output-watch-events.  obj is copied.  Owned. */
kube_object_t *kube_watch_event_new(const char *type, const kube_object_t *obj,
                                    kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* GETs as kubectl does them: Tables, pages, watches                         */
/* ------------------------------------------------------------------------ */

/* The Accept header of a Table request (falls back to plain JSON). */
#define KUBE_TABLE_ACCEPT                                                      \
  "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

/* NULL means all defaults. */
typedef struct kube_get_options {
  size_t struct_size; /* sizeof(kube_get_options_t) */
  const char *label_selector;
  const char *field_selector;
  /* --chunk-size: request pages of this many objects (limit=) and follow
   * the continue tokens; 0 asks for everything at once. */
  int64_t chunk_size;
  /* Table rows carry the whole object (includeObject=Object) instead of
   * its metadata, e.g. to sort by any field. */
  bool include_object;
  /* One object's subresource ("status", "scale"; kubectl get
   * --subresource): kube_client_get_table GETs NAME/SUBRESOURCE.  NULL:
   * the object itself.  Ignored for collections. */
  const char *subresource;
} kube_get_options_t;

/* GET one object (`name`; `ns` NULL: the client's namespace) or a
 * collection (`name` NULL; `ns` NULL: all namespaces) of `kind` as a
 * meta.k8s.io/v1 Table: the server renders the
 * kind's columns.  Pages are followed and merged.  `ns` is ignored for
 * cluster-scoped kinds.  Owned Table, or NULL with err (NotFound, ...; a
 * server that answers without a Table gives BadRequest when printed). */
kube_object_t *kube_client_get_table(kube_client_t *c, const kube_kind_t *kind,
                                     const char *ns, const char *name,
                                     const kube_get_options_t *opts,
                                     kube_error_t *err);
/* LIST a collection (`ns` NULL: all namespaces), following continue
 * tokens; every item gets apiVersion and kind (a <Kind>List omits them)
 * first, as kubectl prints them.  Owned <Kind>List. */
kube_object_t *kube_client_list_all(kube_client_t *c, const kube_kind_t *kind,
                                    const char *ns,
                                    const kube_get_options_t *opts,
                                    kube_error_t *err);
/* kube_client_watch with Accept KUBE_TABLE_ACCEPT: each event's object is
 * a one-row Table (feed it to kube_table_printer_add_event).  BOOKMARK
 * events are skipped; an ERROR event is passed to fn (its object a
 * Status), then ends the watch with that error. */
int kube_client_watch_table(kube_client_t *c, const kube_kind_t *kind,
                            const char *ns,
                            const kube_client_list_options_t *opts,
                            kube_client_watch_fn fn, void *userdata,
                            kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* Table printer                                                             */
/* ------------------------------------------------------------------------ */

enum {
  KUBE_TABLE_WIDE = 1 << 0,        /* show priority > 0 columns (-o wide) */
  KUBE_TABLE_NO_HEADERS = 1 << 1,  /* --no-headers */
  KUBE_TABLE_SHOW_LABELS = 1 << 2, /* add a LABELS column */
  KUBE_TABLE_NAMESPACE = 1 << 3,   /* add a NAMESPACE column first (-A) */
  KUBE_TABLE_KIND_PREFIX = 1 << 4, /* NAME cells as "pod/x" */
  KUBE_TABLE_EVENT = 1 << 5,       /* an EVENT column first (watch events) */
};

/* Accumulates the rows of one or more meta.k8s.io/v1 Table objects and
 * renders them as kubectl does: upper-case headers, columns padded to the
 * widest cell plus 3 spaces.  Owned; free with kube_table_printer_free. */
typedef struct kube_table_printer kube_table_printer_t;

kube_table_printer_t *kube_table_printer_new(int flags);
void kube_table_printer_free(kube_table_printer_t *p);
/* Add the rows of `table` (borrowed; a Table object as the server returns
 * it for Accept: KUBE_TABLE_ACCEPT).  The first table added fixes the
 * columns.  `kind_prefix` ("pod", "deployment.apps") is used with
 * KUBE_TABLE_KIND_PREFIX.  BadRequest "the server did not return a Table"
 * when not a Table. */
int kube_table_printer_add(kube_table_printer_t *p, const kube_object_t *table,
                           const char *kind_prefix, kube_error_t *err);
/* The same for the one-row Table of a watch event: with KUBE_TABLE_EVENT
 * the EVENT column shows `event` ("ADDED", "MODIFIED", ...; borrowed). */
int kube_table_printer_add_event(kube_table_printer_t *p,
                                 const kube_object_t *table,
                                 const char *kind_prefix, const char *event,
                                 kube_error_t *err);
/* -L: one extra column per label key (header: the key's last path
 * segment, upper-cased), before any LABELS column.  Call before the first
 * add; keys are copied (NULL-terminated array). */
int kube_table_printer_set_label_columns(kube_table_printer_t *p,
                                         const char *const *keys,
                                         kube_error_t *err);
/* Number of rows added so far. */
size_t kube_table_printer_rows(const kube_table_printer_t *p);
/* Render all rows added (header first unless NO_HEADERS).  Owned string;
 * empty when there are no rows.  NULL on out-of-memory. */
char *kube_table_printer_render(const kube_table_printer_t *p);
/* Render only the rows added since the last call, padded to the widths
 * fixed by the first call (for `get -w`).  Owned string. */
char *kube_table_printer_render_new(kube_table_printer_t *p);

/* ------------------------------------------------------------------------ */
/* JSONPath                                                                  */
/* ------------------------------------------------------------------------ */

/* Evaluate a kubectl JSONPath template ("{.metadata.name}",
 * "{.items[*].metadata.name}", "{range
 * .items[*]}{.metadata.name}{\"\\n\"}{end}", filters "[?(@.type==\"Ready\")]")
 * against obj (borrowed).  Owned string; BadRequest on a syntax error.  Missing
 * fields print nothing, as with `kubectl get -o jsonpath`. */
char *kube_jsonpath_eval(const kube_object_t *obj, const char *tmpl,
                         kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* Describe                                                                  */
/* ------------------------------------------------------------------------ */

/* NULL means all defaults. */
typedef struct kube_describe_options {
  size_t struct_size; /* sizeof(kube_describe_options_t) */
  time_t now;         /* for event ages; 0: the current time */
} kube_describe_options_t;

/* The text `kubectl describe` prints for `obj` (borrowed) of `kind`
 * (static; NULL: from the object): Pods, Deployments, Services, Nodes and
 * Namespaces in kubectl's layout, other kinds as kubectl's generic
 * describer walks fields; then the object's Events (except for
 * Namespaces and Events).  Related objects (Events, a Service's
 * Endpoints) are fetched through `c`; with c NULL, or when that fails,
 * they show as <none>.  Times print in the local time zone (TZ), the
 * QoS class is computed as the kubelet does when the status lacks it.
 * Owned string. */
char *kube_describe_object(kube_client_t *c, const kube_kind_t *kind,
                           const kube_object_t *obj,
                           const kube_describe_options_t *opts,
                           kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* Generators (kubectl run / create deployment / expose ...)                 */
/* ------------------------------------------------------------------------ */

typedef struct kube_generate_options {
  size_t struct_size;        /* sizeof(kube_generate_options_t) */
  const char *name;          /* object name (required) */
  const char *namespace_;    /* NULL: none set (the client's default) */
  const char *image;         /* container image */
  int32_t port;              /* containerPort, 0 = none */
  int32_t replicas;          /* deployments; < 0 = 1 */
  const char *const *labels; /* "k=v", NULL-terminated; NULL: run=NAME
                              * for pods, app=NAME for deployments */
  const char *const *env;    /* "K=V", NULL-terminated, or NULL */
  const char *const *args;   /* container args, NULL-terminated, or NULL */
  bool command;              /* args are the command, not the args */
  const char
      *restart_policy; /* pod: "Always" (default), "OnFailure", "Never" */
  const char *image_pull_policy; /* NULL: server default */
} kube_generate_options_t;

/* A Pod as `kubectl run NAME --image=... --port=...` builds it.  Owned.
 * BadRequest when name or image is missing or a label/env is malformed. */
kube_object_t *kube_generate_pod(const kube_generate_options_t *o,
                                 kube_error_t *err);
/* A Deployment as `kubectl create deployment NAME --image=...`. */
kube_object_t *kube_generate_deployment(const kube_generate_options_t *o,
                                        kube_error_t *err);
/* A Namespace. */
kube_object_t *kube_generate_namespace(const char *name, kube_error_t *err);

/* What `kubectl debug` adds (its legacy profile): one debug container. */
typedef struct kube_debug_options {
  size_t struct_size;        /* sizeof(kube_debug_options_t) */
  const char *container;     /* NULL: "debugger-XXXXX", unused in the pod */
  const char *image;         /* required */
  const char *target;        /* targetContainerName (ephemeral), or NULL */
  const char *const *env;    /* "K=V", NULL-terminated, or NULL */
  const char *const *args;   /* NULL-terminated, or NULL: the image's */
  bool args_only;            /* args are the args, not the command */
  bool stdin_, tty;          /* -i, -t */
  const char *image_pull_policy; /* NULL: the server's default */
} kube_debug_options_t;

/* The strategic merge patch of pods/ephemeralcontainers that adds the
 * ephemeral container `kubectl debug POD --image=...` adds to `pod`
 * (borrowed; its ephemeral containers stay, in their order).  Owned
 * JSON text; *name (owned) is the new container's name.  BadRequest
 * without an image, for a bad env item, or a name the pod uses. */
char *kube_generate_debug_patch(const kube_object_t *pod,
                                const kube_debug_options_t *o, char **name,
                                kube_error_t *err);
/* The pod `kubectl debug node/NODE` creates: "node-debugger-NODE-XXXXX"
 * bound to the node, in its network, PID and IPC namespaces, the node's
 * root file system at /host, tolerating every taint, restartPolicy
 * Never.  Owned. */
kube_object_t *kube_generate_node_debug_pod(const char *node,
                                            const kube_debug_options_t *o,
                                            kube_error_t *err);
/* A policy/v1 PodDisruptionBudget as `kubectl create poddisruptionbudget
 * NAME --selector=S --min-available=N|N% (or --max-unavailable)`: the
 * selector as metav1.ParseToLabelSelector makes it, the count an integer
 * or a percent string.  BadRequest with kubectl's messages ("a selector
 * must be specified", "one of min-available or max-unavailable must be
 * specified", "min-available and max-unavailable cannot be both
 * specified", "invalid format specified for min-available"). */
kube_object_t *kube_generate_pdb(const char *name, const char *selector,
                                 const char *min_available,
                                 const char *max_unavailable,
                                 kube_error_t *err);
/* A Service as `kubectl create service TYPE NAME --tcp=80:8080,...`:
 * `type` "clusterip" | "nodeport" | "loadbalancer" (or the Kubernetes
 * spelling), `tcp` a NULL-terminated list of "port[:targetPort]"; selector
 * app=NAME.  `cluster_ip` may be NULL or "None" (headless). */
kube_object_t *kube_generate_service(const char *name, const char *ns,
                                     const char *type, const char *const *tcp,
                                     const char *cluster_ip, kube_error_t *err);

/* Data of `kubectl create configmap` / `kubectl create secret generic`.
 * Sources are read in this order: files, literals, env files.  Strings and
 * arrays are borrowed for the call. */
typedef struct kube_generate_data_options {
  size_t struct_size;     /* sizeof(kube_generate_data_options_t) */
  const char *name;       /* required */
  const char *namespace_; /* NULL: none set */
  /* --from-file "[key=]path", NULL-terminated or NULL: a file (key: its
   * base name), or each regular file of a directory. */
  const char *const *files;
  /* --from-literal "key=value". */
  const char *const *literals;
  /* --from-env-file paths: KEY=VALUE lines, '#' comments; a KEY alone
   * takes its value from the process environment. */
  const char *const *env_files;
  const char *type; /* secrets: --type; NULL: none set, as kubectl */
} kube_generate_data_options_t;

/* A ConfigMap as `kubectl create configmap NAME --from-...` builds it:
 * UTF-8 content in data, other bytes in binaryData.  BadRequest with
 * kubectl's message for a malformed source, an invalid or duplicate key,
 * an unreadable file.  Owned. */
kube_object_t *kube_generate_configmap(const kube_generate_data_options_t *o,
                                       kube_error_t *err);
/* A Secret as `kubectl create secret generic NAME --from-...`: every value
 * base64 in data. */
kube_object_t *kube_generate_secret(const kube_generate_data_options_t *o,
                                    kube_error_t *err);
/* A Job as `kubectl create job NAME --image=IMAGE [-- COMMAND...]`: one
 * container named NAME (o->args its command), restartPolicy Never. */
kube_object_t *kube_generate_job(const kube_generate_options_t *o,
                                 kube_error_t *err);

typedef struct kube_expose_options {
  size_t struct_size;      /* sizeof(kube_expose_options_t) */
  const char *name;        /* service name; NULL: the target's name */
  int32_t port;            /* required unless the target declares one */
  const char *target_port; /* "8080" or a port name; NULL: = port */
  const char *protocol;    /* NULL: "TCP" */
  const char *type;        /* NULL: ClusterIP */
  const char *selector;    /* "a=b,c=d"; NULL: from the target */
} kube_expose_options_t;

/* A Service exposing `target` (borrowed: a Deployment, ReplicaSet,
 * ReplicationController, Pod or Service) as `kubectl expose` builds it:
 * selector from spec.selector.matchLabels (pod: its labels), labels copied
 * from the target, port from the options or the target's first container
 * port.  Owned. */
kube_object_t *kube_generate_expose(const kube_object_t *target,
                                    const kube_expose_options_t *o,
                                    kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* label / annotate                                                          */
/* ------------------------------------------------------------------------ */

/* One change of `kubectl label|annotate`: KEY=VALUE sets, KEY- removes
 * (value NULL).  Strings owned by the array (kube_meta_changes_free). */
typedef struct kube_meta_change {
  char *key;
  char *value;
} kube_meta_change_t;

/* True when a command-line argument is a change ("k=v" or "k-") rather
 * than a resource. */
bool kube_meta_change_arg(const char *arg);
/* Parse change arguments (borrowed).  Keys must be valid label keys, label
 * values valid label values: BadRequest "invalid label spec: ARG" /
 * "invalid annotation spec: ARG".  A key given twice keeps its first
 * position and its last value.  *out: owned array of *n changes. */
int kube_meta_changes_parse(const char *const *args, size_t n_args,
                            bool annotations, kube_meta_change_t **out,
                            size_t *n, kube_error_t *err);
void kube_meta_changes_free(kube_meta_change_t *changes, size_t n);
/* The merge patch that makes the changes: {"metadata":{"labels":{...}}}
 * (or "annotations"), removals as null, with metadata.resourceVersion when
 * `resource_version` is not NULL (the update then fails with Conflict if
 * the object changed).  Owned JSON text. */
char *kube_meta_changes_patch(const kube_meta_change_t *changes, size_t n,
                              bool annotations, const char *resource_version,
                              kube_error_t *err);
/* Call fn for each label (or annotation) of obj in the object's order;
 * strings borrowed for the call (non-string values as their JSON text).
 * Returns the number visited. */
size_t kube_object_foreach_label(const kube_object_t *obj, bool annotations,
                                 void (*fn)(const char *key, const char *value,
                                            void *userdata),
                                 void *userdata);

/* ------------------------------------------------------------------------ */
/* Client-side apply (kubectl apply without --server-side)                   */
/* ------------------------------------------------------------------------ */

#define KUBE_LAST_APPLIED_ANNOTATION                                           \
  "kubectl.kubernetes.io/last-applied-configuration"

typedef enum kube_apply_result {
  KUBE_APPLY_CREATED = 0, /* the object did not exist and was created */
  KUBE_APPLY_CONFIGURED,  /* a strategic-merge patch changed it */
  KUBE_APPLY_UNCHANGED,   /* nothing to change */
  /* The live object had no last-applied annotation (it was made by
   * create without --save-config, or by another client): patched as
   * CONFIGURED, the annotation added.  kubectl warns about it. */
  KUBE_APPLY_ANNOTATED,
} kube_apply_result_t;

/* Apply `obj` (borrowed) as `kubectl apply` does: record the configuration
 * in the last-applied annotation; create the object when missing, else
 * compute a three-way patch (last-applied, new configuration, live object:
 * fields removed from the configuration are deleted, fields it sets are
 * changed, fields others set are kept) and send it as a strategic merge
 * patch (merge patch for kinds without a strategic schema).  *result tells
 * which happened.  Honours opts->dry_run.  Returns the resulting object
 * (owned; the live object when unchanged). */
kube_object_t *
kube_client_apply_client_side(kube_client_t *c, const kube_object_t *obj,
                              const kube_client_write_options_t *opts,
                              kube_apply_result_t *result, kube_error_t *err);
/* `kubectl create --save-config`: store the object's configuration (the
 * object without this annotation, as compact JSON and a newline) in its
 * last-applied annotation, so that a later apply patches from it. */
int kube_object_set_last_applied(kube_object_t *obj, kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* Discovery listings (kubectl api-resources)                                */
/* ------------------------------------------------------------------------ */

/* One served resource (subresources are left out).  Strings and
 * NULL-terminated arrays owned by the list that holds it. */
typedef struct kube_api_resource {
  char *name;          /* plural: "deployments" */
  char *group;         /* "" for core */
  char *group_version; /* "v1", "apps/v1" */
  char *kind;          /* "Deployment" */
  bool namespaced;
  char **short_names; /* never NULL */
  char **verbs;
  char **categories;
} kube_api_resource_t;

/* Resources sorted by group, then name; `failures` the groups whose
 * documents could not be read ("apps/v1: <message>"), in discovery
 * order.  Owned; release with kube_api_resource_list_clear. */
typedef struct kube_api_resource_list {
  kube_api_resource_t *items;
  size_t n;
  char **failures;
  size_t n_failures;
} kube_api_resource_list_t;

/* NULL means all defaults. */
typedef struct kube_api_resources_options {
  size_t struct_size; /* sizeof(kube_api_resources_options_t) */
  int namespaced;     /* 1: namespaced only, 0: cluster-scoped only, -1 all */
  const char *api_group; /* only this group ("" core); NULL: all */
} kube_api_resources_options_t;

/* Read discovery (/api/v1, /apis and each group's preferred version) as
 * `kubectl api-resources` does.  Fails only when the core group cannot be
 * read; other groups that fail are named in out->failures. */
int kube_client_api_resources(kube_client_t *c,
                              const kube_api_resources_options_t *opts,
                              kube_api_resource_list_t *out, kube_error_t *err);
void kube_api_resource_list_clear(kube_api_resource_list_t *list);
/* The listing as a Table (NAME SHORTNAMES APIVERSION NAMESPACED KIND, plus
 * VERBS CATEGORIES when `wide`) for kube_table_printer_add.  Owned. */
kube_object_t *kube_api_resources_table(const kube_api_resource_list_t *list,
                                        bool wide, kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* cp: files to and from a container (tar over exec)                         */
/* ------------------------------------------------------------------------ */

typedef struct kube_cp_options {
  size_t struct_size;     /* sizeof(kube_cp_options_t) */
  const char *namespace_; /* NULL: the client's */
  const char *pod;        /* required */
  const char *container;  /* NULL: the server picks the only one */
  bool no_preserve; /* to a pod: tar --no-same-permissions --no-same-owner */
  kube_client_stream_transport_t transport;
  /* The remote tar's own messages ("tar: removing leading '/' from member
   * names") go here (-1: dropped). */
  int stderr_fd;
  /* kubectl's warnings about what is not copied ("skipping symlink ...",
   * "file ... is outside target destination, skipping"): one line without
   * its newline, borrowed for the call.  May be NULL. */
  void (*warn)(void *arg, const char *line);
  void *arg;
} kube_cp_options_t;

/* Split a kubectl cp file spec "[[namespace/]pod:]path" into its parts
 * (owned strings; *ns and *pod NULL for a local path).  BadRequest
 * "filespec must match the canonical format: [[namespace/]pod:]file/path". */
int kube_cp_parse_spec(const char *spec, char **ns, char **pod, char **path,
                       kube_error_t *err);

/* kubectl cp POD:SRC DST: `tar cf - SRC` in the container, unpacked under
 * DST with kubectl's rules (the remote path prefix stripped, nothing
 * outside DST, symlinks skipped with a warning).  -1 with err (the exec's
 * errors; "tar contents corrupted"; local I/O); when the remote tar
 * failed, *exit_code (may be NULL) is its exit code and the message
 * "command terminated with exit code N". */
int kube_cp_from_pod(kube_client_t *c, const kube_cp_options_t *o,
                     const char *remote_src, const char *local_dst,
                     int *exit_code, kube_error_t *err);
/* kubectl cp SRC POD:DST: SRC (a file or directory tree) packed as DST
 * (DST/basename(SRC) when DST is a directory in the container: `test -d`)
 * and unpacked by `tar -xmf - -C dir(DST)` in the container.  -1 with err
 * ("SRC doesn't exist in local filesystem", the exec's errors, a non-zero
 * exit of tar: *exit_code, as above). */
int kube_cp_to_pod(kube_client_t *c, const kube_cp_options_t *o,
                   const char *local_src, const char *remote_dst,
                   int *exit_code, kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* kubectl rollout (synchronous: each call blocks on the client)            */
/* ------------------------------------------------------------------------ */

/* The rollout state of a Deployment, DaemonSet or StatefulSet `obj`, as
 * kubectl rollout status words it: *msg (owned, free()) is the line to
 * print ("Waiting for deployment \"x\" rollout to finish: 1 of 3 updated
 * replicas are available...\n" or "deployment \"x\" successfully rolled
 * out\n"), *done whether the rollout finished.  `revision` > 0 asks for
 * that revision (Deployments).  Failures: Invalid "deployment \"x\"
 * exceeded its progress deadline", NotFound for a revision that is not
 * the latest, BadRequest for another kind. */
int kube_rollout_status(const kube_object_t *obj, int64_t revision, char **msg,
                        bool *done, kube_error_t *err);

/* `kubectl rollout history`: the REVISION/CHANGE-CAUSE table of a
 * Deployment (revision 0), or the pod template of one revision, as kubectl
 * prints them (without the "deployment.apps/x" header line).  Owned text
 * in *out.  NotFound "unable to find the specified revision". */
int kube_rollout_history(kube_client_t *c, const char *ns, const char *name,
                         int64_t revision, char **out, kube_error_t *err);

/* `kubectl rollout undo`: restore the template of revision to_revision (0:
 * the previous one) with kubectl's JSON patch.  *result (owned) is what
 * kubectl prints after "deployment.apps/x ": "rolled back", "skipped
 * rollback (current template already matches revision N)", or, with a
 * client dry run, the template that would be restored.  dry_run as
 * kubectl's --dry-run: NULL or "none", "client" (nothing sent), "server"
 * (the patch sent with dryRun=All: checked by the server, nothing
 * changes).  Errors as kubectl's:
 * "unable to find specified revision N in history", "no rollout history
 * found for deployment \"x\"", "you cannot rollback a paused deployment;
 * ...". */
int kube_rollout_undo(kube_client_t *c, const char *ns, const char *name,
                      int64_t to_revision, const char *dry_run, char **result,
                      kube_error_t *err);

/* `kubectl rollout history` of a DaemonSet or StatefulSet (`kind`): the
 * REVISION/CHANGE-CAUSE table of the ControllerRevisions it controls
 * (revision 0), or the pod template of one, as kubectl prints them
 * (without the header line); "No rollout history found." when it has
 * none.  Owned text in *out.  NotFound "unable to find the specified
 * revision"; BadRequest for another kind. */
int kube_rollout_revisions_history(kube_client_t *c, const kube_kind_t *kind,
                                   const char *ns, const char *name,
                                   int64_t revision, char **out,
                                   kube_error_t *err);

/* `kubectl rollout undo` of a DaemonSet or StatefulSet: the revision's data
 * sent back as a strategic merge patch.  to_revision 0: the previous
 * revision.  dry_run as kubectl's --dry-run (NULL or "none", "client":
 * nothing sent, "server": the patch with dryRun=All).  *result (owned) is
 * what kubectl prints after the "daemonset.apps/x " prefix: "rolled back",
 * "skipped rollback (current template already matches revision N)" or,
 * with a client dry run, "will roll back to " and the template.  Errors as
 * kubectl's: "no last revision to roll back to", "unable to find
 * specified revision N in history". */
int kube_rollout_revisions_undo(kube_client_t *c, const kube_kind_t *kind,
                                const char *ns, const char *name,
                                int64_t to_revision, const char *dry_run,
                                char **result, kube_error_t *err);

/* `kubectl rollout pause|resume|restart` on a Deployment (restart also
 * DaemonSets and StatefulSets): the patch kubectl sends.  *result (owned)
 * is "paused", "resumed" or "restarted".  Errors as kubectl's: "is already
 * paused", "is not paused", "can't restart paused deployment (run rollout
 * resume first)". */
typedef enum kube_rollout_action {
  KUBE_ROLLOUT_PAUSE,
  KUBE_ROLLOUT_RESUME,
  KUBE_ROLLOUT_RESTART,
} kube_rollout_action_t;
int kube_rollout_set(kube_client_t *c, const kube_kind_t *kind, const char *ns,
                     const char *name, kube_rollout_action_t action,
                     char **result, kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* kubectl cordon / uncordon / drain (synchronous)                           */
/* ------------------------------------------------------------------------ */

/* Set (cordon) or clear (uncordon) spec.unschedulable of node `name` with
 * kubectl's strategic merge patch.  *changed: false when it was so already
 * (kubectl's "already cordoned"); with dry_run nothing is written.  -1
 * with err (NotFound, ...). */
int kube_node_cordon(kube_client_t *c, const char *name, bool unschedulable,
                     bool dry_run, bool *changed, kube_error_t *err);

typedef struct kube_drain_options {
  size_t struct_size; /* sizeof(kube_drain_options_t) */
  bool force;               /* also pods without a controller */
  bool ignore_daemonsets;   /* leave DaemonSet pods (else refuse) */
  bool delete_emptydir_data; /* also pods with emptyDir volumes */
  bool disable_eviction;    /* DELETE instead of the eviction subresource */
  int64_t grace_period;     /* gracePeriodSeconds; < 0: the pods' own */
  int64_t timeout_ms;       /* give up after this; 0: never */
  const char *pod_selector; /* label selector of the pods, or NULL */
  /* The lines kubectl prints while it drains ("evicting pod ns/name",
   * "pod/name evicted", the 429 retries and warnings on stderr), without
   * the newline; `line` borrowed for the call.  May be NULL. */
  void (*print)(bool to_stderr, const char *line, void *arg);
  void *arg;
} kube_drain_options_t;

/* `kubectl drain NODE` after the cordon: the node's pods filtered as
 * kubectl does (mirror pods skipped; DaemonSet pods, pods with local
 * storage and pods without a controller refused unless the options allow
 * them: BadRequest "cannot delete DaemonSet-managed Pods (use
 * --ignore-daemonsets to ignore): ns/name"), then each evicted (a 429 of
 * a PodDisruptionBudget retried every 5 s) or deleted and waited for until
 * gone.  Timeout "[error when evicting pods/\"x\" -n \"ns\": global
 * timeout reached: 10s, ...]" when o->timeout_ms passed first (without the
 * brackets for one pod), with each pod's message as a cause.  Blocks. */
int kube_drain_node(kube_client_t *c, const char *node,
                    const kube_drain_options_t *o, kube_error_t *err);

#ifdef __cplusplus
}
#endif
#endif /* LIBKUBE_KUBECTL_H */
