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
  const char *name;   /* "NAME", "READY", ... as kubectl shows them */
  const char *type;   /* "string" | "integer" | "date" | ... */
  const char *format; /* "name" for the NAME column, else "" */
  const char *description;
  int priority; /* 0 = always, 1 = only with -o wide */
} kube_kind_column_t;

/* What libkube knows about a kind besides its names (validation,
 * defaulting, table cells, schema, ...): private to the library. */
struct kube_kind_strategy;

/* One served resource.  The built-in kinds are static; kinds registered
 * at run time (CustomResourceDefinitions) belong to the API server that
 * serves them and live as long as their definition.  Strings and arrays
 * are owned by the kind; arrays NULL-terminated. */
typedef struct kube_kind {
  const char *group;     /* "" for core, "apps", ... */
  const char *version;   /* "v1", "v2" */
  const char *kind;      /* "Pod" */
  const char *resource;  /* plural, "pods" */
  const char *singular;  /* "pod" */
  const char *list_kind; /* "PodList" */
  bool namespaced;
  const char *const *short_names;  /* {"po", NULL} */
  const char *const *verbs;        /* {"create","delete",...,NULL} */
  const char *const *categories;   /* {"all", NULL} or NULL */
  const char *const *subresources; /* {"status","log","exec","binding",NULL} */
  const kube_kind_column_t *columns; /* terminated by a column with name NULL */
  /* Fields a field selector may use besides metadata.name/namespace. */
  const char *const *selectable_fields;
  /* The library's strategy for the kind; NULL in kinds made by a caller
   * (the built-in kind of the same group and Kind is used then). */
  const struct kube_kind_strategy *strategy;
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
/* A column's name as the real API server's Table.columnDefinitions spell
 * it ("Name", "Nominated Node", "Port(s)"); kubectl upper-cases it.
 * Static string; NULL for NULL. */
const char *kube_kind_column_server_name(const kube_kind_column_t *col);

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
  KUBE_JSON_PRETTY = 1 << 0, /* kubectl -o json style, 4-space indent */
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
/* Set metadata.annotations[key] (copied); a NULL value removes the key. */
int kube_object_set_annotation(kube_object_t *obj, const char *key,
                               const char *value, kube_error_t *err);

/* Validate against the kind's rules.  Invalid with one cause per problem,
 * field paths as Kubernetes writes them ("spec.containers[0].image",
 * type "FieldValueRequired", message "Required value").  `old` is the stored
 * object for an update (immutable fields), NULL on create. */
int kube_object_validate(const kube_object_t *obj, const kube_object_t *old,
                         kube_error_t *err);
/* Apply Kubernetes defaults in place (restartPolicy Always, ...). */
int kube_object_default(kube_object_t *obj, kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* Typed views                                                               */
/* ------------------------------------------------------------------------ */

/* Plain C structs holding the fields libkube logic acts on, filled from an
 * object by kube_<view>_from_object() and released by kube_<view>_free()
 * (which accepts a zeroed or partially filled struct and zeroes it).  Every
 * string and array in a view is owned by the view.  Absent strings are
 * NULL; absent optional integers are -1 unless documented otherwise.
 * Failure: BadRequest when the object lacks what the view needs (a pod
 * without spec, a malformed quantity, ...); *out is then zeroed. */

typedef struct kube_label {
  char *key;
  char *value;
} kube_label_t;

/* A named amount outside the standard four (nvidia.com/gpu, hugepages-2Mi). */
typedef struct kube_resource {
  char *name;
  int64_t value; /* whole units, rounded up */
} kube_resource_t;

enum {
  KUBE_RESOURCE_CPU = 1 << 0,
  KUBE_RESOURCE_MEMORY = 1 << 1,
  KUBE_RESOURCE_EPHEMERAL_STORAGE = 1 << 2,
  KUBE_RESOURCE_PODS = 1 << 3,
};

/* A ResourceList ({"cpu": "500m", "memory": "128Mi", ...}). */
typedef struct kube_resource_list {
  int64_t cpu_milli;         /* "500m" -> 500; 0 when absent */
  int64_t memory;            /* bytes */
  int64_t ephemeral_storage; /* bytes */
  int64_t pods;
  unsigned present; /* KUBE_RESOURCE_* bits of the keys present */
  size_t n_extended;
  kube_resource_t *extended;
} kube_resource_list_t;

typedef struct kube_env_var {
  char *name;
  char *value;           /* NULL when valueFrom is used */
  char *field_path;      /* valueFrom.fieldRef.fieldPath */
  char *resource;        /* valueFrom.resourceFieldRef.resource */
  char *config_map_name; /* valueFrom.configMapKeyRef */
  char *config_map_key;
  char *secret_name; /* valueFrom.secretKeyRef */
  char *secret_key;
  bool optional;
} kube_env_var_t;

typedef struct kube_container_port {
  char *name;
  int32_t container_port;
  int32_t host_port; /* 0 when unset */
  char *protocol;    /* "TCP" after defaulting */
  char *host_ip;
} kube_container_port_t;

typedef enum kube_probe_type {
  KUBE_PROBE_NONE = 0,
  KUBE_PROBE_EXEC,
  KUBE_PROBE_HTTP_GET,
  KUBE_PROBE_TCP_SOCKET,
  KUBE_PROBE_GRPC,
} kube_probe_type_t;

typedef struct kube_probe {
  kube_probe_type_t type;
  char **command; /* exec: NULL-terminated argv */
  size_t n_command;
  char *path;   /* httpGet */
  char *scheme; /* "HTTP" | "HTTPS" */
  char *host;
  int32_t port;    /* httpGet/tcpSocket/grpc number, 0 when named */
  char *port_name; /* httpGet/tcpSocket named port */
  int32_t initial_delay_seconds;
  int32_t timeout_seconds;   /* defaults: 1 */
  int32_t period_seconds;    /* 10 */
  int32_t success_threshold; /* 1 */
  int32_t failure_threshold; /* 3 */
} kube_probe_t;

typedef struct kube_volume_mount {
  char *name;
  char *mount_path;
  char *sub_path;
  bool read_only;
} kube_volume_mount_t;

typedef struct kube_container {
  char *name;
  char *image;
  char *image_pull_policy;
  char **command; /* NULL-terminated; NULL when unset */
  size_t n_command;
  char **args; /* NULL-terminated; NULL when unset */
  size_t n_args;
  char *working_dir;
  size_t n_env;
  kube_env_var_t *env;
  size_t n_ports;
  kube_container_port_t *ports;
  kube_resource_list_t requests;
  kube_resource_list_t limits;
  kube_probe_t *liveness_probe; /* NULL when absent */
  kube_probe_t *readiness_probe;
  kube_probe_t *startup_probe;
  size_t n_volume_mounts;
  kube_volume_mount_t *volume_mounts;
  char *restart_policy; /* init containers: "Always" marks a sidecar */
  bool tty;
  bool stdin_open;
} kube_container_t;

typedef struct kube_volume {
  char *name;
  char *type;   /* the source's key: "emptyDir", "hostPath", "configMap",
                   "secret", "persistentVolumeClaim", "projected", ... */
  char *source; /* hostPath.path, configMap.name, secret.secretName,
                   persistentVolumeClaim.claimName; else NULL */
  char *medium; /* emptyDir.medium; hostPath.type */
  int32_t default_mode; /* configMap/secret/projected; -1 when unset */
  bool read_only;
} kube_volume_t;

typedef struct kube_toleration {
  char *key; /* NULL: matches every key (operator Exists) */
  char *op;  /* "Equal" | "Exists" */
  char *value;
  char *effect;               /* NULL: every effect */
  int64_t toleration_seconds; /* -1 when unset */
} kube_toleration_t;

typedef struct kube_node_selector_term {
  kube_selector_t *match_expressions; /* In, NotIn, Exists, DoesNotExist,
                                         Gt, Lt over node labels (owned) */
  kube_selector_t *match_fields;      /* over metadata.name (owned) */
} kube_node_selector_term_t;

typedef struct kube_preferred_node_term {
  int32_t weight;
  kube_node_selector_term_t term;
} kube_preferred_node_term_t;

typedef struct kube_pod_affinity_term {
  int32_t weight;                  /* preferred terms; 0 for required ones */
  kube_selector_t *label_selector; /* NULL: matches no pods */
  kube_selector_t *namespace_selector; /* NULL when unset */
  char **namespaces;                   /* NULL-terminated; NULL when unset */
  size_t n_namespaces;
  char *topology_key;
} kube_pod_affinity_term_t;

typedef struct kube_affinity {
  size_t n_node_required; /* ORed terms of requiredDuringScheduling... */
  kube_node_selector_term_t *node_required;
  size_t n_node_preferred;
  kube_preferred_node_term_t *node_preferred;
  size_t n_pod_affinity_required;
  kube_pod_affinity_term_t *pod_affinity_required;
  size_t n_pod_affinity_preferred;
  kube_pod_affinity_term_t *pod_affinity_preferred;
  size_t n_pod_anti_affinity_required;
  kube_pod_affinity_term_t *pod_anti_affinity_required;
  size_t n_pod_anti_affinity_preferred;
  kube_pod_affinity_term_t *pod_anti_affinity_preferred;
} kube_affinity_t;

/* A topologySpreadConstraint. */
typedef struct kube_topology_spread_constraint {
  int32_t max_skew;
  char *topology_key;
  char *when_unsatisfiable;        /* "DoNotSchedule" | "ScheduleAnyway" */
  kube_selector_t *label_selector; /* NULL: matches no pods */
  int32_t min_domains;             /* 0 when unset */
  char *node_affinity_policy;      /* "Honor" (NULL) | "Ignore" */
  char *node_taints_policy;        /* "Ignore" (NULL) | "Honor" */
  char **match_label_keys;         /* NULL-terminated; NULL when unset */
  size_t n_match_label_keys;
} kube_topology_spread_constraint_t;

typedef struct kube_pod_spec {
  size_t n_containers;
  kube_container_t *containers;
  size_t n_init_containers;
  kube_container_t *init_containers;
  size_t n_volumes;
  kube_volume_t *volumes;
  char *node_name;
  size_t n_node_selector;
  kube_label_t *node_selector;
  kube_affinity_t affinity;
  size_t n_tolerations;
  kube_toleration_t *tolerations;
  bool host_network;
  bool host_pid;
  bool host_ipc;
  int32_t priority;
  char *priority_class_name;
  char *scheduler_name;
  char *restart_policy;
  char *dns_policy;
  char *service_account_name;
  char *hostname;
  char *subdomain;
  int64_t termination_grace_period_seconds; /* -1 when unset */
  int64_t active_deadline_seconds;          /* -1 when unset */
  /* What the pod asks a node for, as the scheduler counts it: the larger
   * of the sum over containers (plus restartable init containers) and the
   * largest init container, per resource, plus spec.overhead. */
  kube_resource_list_t requests;
  size_t n_topology_spread;
  kube_topology_spread_constraint_t *topology_spread;
} kube_pod_spec_t;

/* The pod spec of a Pod, or the pod template of a Deployment, ReplicaSet,
 * ReplicationController, DaemonSet, StatefulSet, Job or CronJob. */
int kube_pod_spec_from_object(const kube_object_t *obj, kube_pod_spec_t *out,
                              kube_error_t *err);
void kube_pod_spec_clear(kube_pod_spec_t *spec);

typedef struct kube_condition {
  char *type;
  char *status; /* "True" | "False" | "Unknown" */
  char *reason;
  char *message;
  time_t last_transition_time; /* 0 when unset */
  time_t last_heartbeat_time;  /* nodes; 0 when unset */
} kube_condition_t;

typedef enum kube_container_state {
  KUBE_CONTAINER_WAITING = 0,
  KUBE_CONTAINER_RUNNING,
  KUBE_CONTAINER_TERMINATED,
} kube_container_state_t;

typedef struct kube_container_status {
  char *name;
  char *image;
  char *image_id;
  char *container_id;
  bool ready;
  bool started;
  int32_t restart_count;
  kube_container_state_t state;
  char *reason; /* waiting/terminated reason */
  char *message;
  int32_t exit_code; /* terminated */
  int32_t signal;
  time_t started_at;  /* running/terminated; 0 when unset */
  time_t finished_at; /* terminated */
} kube_container_status_t;

typedef struct kube_pod_status {
  char *phase; /* "Pending", "Running", ... */
  char *reason;
  char *message;
  char *pod_ip;
  char **pod_ips; /* NULL-terminated; NULL when unset */
  size_t n_pod_ips;
  char *host_ip;
  char *nominated_node_name;
  char *qos_class;
  time_t start_time; /* 0 when unset */
  size_t n_conditions;
  kube_condition_t *conditions;
  size_t n_container_statuses;
  kube_container_status_t *container_statuses;
  size_t n_init_container_statuses;
  kube_container_status_t *init_container_statuses;
} kube_pod_status_t;

/* status of a Pod (an absent status gives an empty view). */
int kube_pod_status_from_object(const kube_object_t *obj,
                                kube_pod_status_t *out, kube_error_t *err);
void kube_pod_status_clear(kube_pod_status_t *status);

typedef struct kube_taint {
  char *key;
  char *value;
  char *effect;      /* "NoSchedule" | "PreferNoSchedule" | "NoExecute" */
  time_t time_added; /* 0 when unset */
} kube_taint_t;

typedef struct kube_node_address {
  char *type; /* "InternalIP", "ExternalIP", "Hostname" */
  char *address;
} kube_node_address_t;

typedef struct kube_node {
  char *name;
  size_t n_labels;
  kube_label_t *labels;
  bool unschedulable;
  size_t n_taints;
  kube_taint_t *taints;
  char *pod_cidr;
  kube_resource_list_t capacity;
  kube_resource_list_t allocatable; /* capacity when absent */
  size_t n_conditions;
  kube_condition_t *conditions;
  size_t n_addresses;
  kube_node_address_t *addresses;
  char *kubelet_version;
  char *os_image;
  char *kernel_version;
  char *container_runtime_version;
  char *architecture;
  char *operating_system;
  bool ready; /* the Ready condition is True */
} kube_node_t;

int kube_node_from_object(const kube_object_t *obj, kube_node_t *out,
                          kube_error_t *err);
void kube_node_clear(kube_node_t *node);

typedef struct kube_service_port {
  char *name;
  char *protocol;
  int32_t port;
  int32_t target_port;    /* 0 when named */
  char *target_port_name; /* named target port */
  int32_t node_port;      /* 0 when none */
} kube_service_port_t;

typedef struct kube_service {
  char *name;
  char *namespace_;
  char *type; /* "ClusterIP", "NodePort", "LoadBalancer", "ExternalName" */
  char *cluster_ip; /* "None" for headless */
  bool headless;
  size_t n_ports;
  kube_service_port_t *ports;
  size_t n_selector;
  kube_label_t *selector;
  char *session_affinity;
  char **external_ips; /* NULL-terminated; NULL when unset */
  size_t n_external_ips;
  char *external_name;
  char *external_traffic_policy;
} kube_service_t;

int kube_service_from_object(const kube_object_t *obj, kube_service_t *out,
                             kube_error_t *err);
void kube_service_clear(kube_service_t *svc);

typedef struct kube_owner_ref {
  char *api_version;
  char *kind;
  char *name;
  char *uid;
  bool controller;
  bool block_owner_deletion;
} kube_owner_ref_t;

/* metadata.ownerReferences; *refs is an owned array (free with
 * kube_owner_refs_free), NULL with *n 0 when there are none. */
int kube_owner_refs_from_object(const kube_object_t *obj,
                                kube_owner_ref_t **refs, size_t *n,
                                kube_error_t *err);
void kube_owner_refs_free(kube_owner_ref_t *refs, size_t n);

/* Parse a ResourceList object given as JSON text ({"cpu":"1"}). */
int kube_resource_list_parse(const char *json, kube_resource_list_t *out,
                             kube_error_t *err);
void kube_resource_list_clear(kube_resource_list_t *list);

#ifdef __cplusplus
}
#endif
#endif /* LIBKUBE_API_H */
