/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the files of the controller module only (prefix ctl_):
 * the manager's context, the write tracking every controller uses
 * (ctl_sync / ctl_op), the pod store, expectations, label selectors and
 * small JSON accessors.
 */
#ifndef KUBE_CONTROLLER_INTERNAL_H
#define KUBE_CONTROLLER_INTERNAL_H

#include <stdint.h>
#include <time.h>

#include <libkube/controller.h>
#include <libkube/kit.h>

#include "api/api-private.h"
#include "client/client-private.h"
#include "core/util.h"

/* ------------------------------------------------------------------------ */
/* JSON accessors (borrowed results; NULL/defaults when absent or mistyped) */
/* ------------------------------------------------------------------------ */

static inline json_object *cj(json_object *o, const char *key) {
  json_object *v = NULL;
  if (!o || !json_object_is_type(o, json_type_object) ||
      !json_object_object_get_ex(o, key, &v))
    return NULL;
  return v;
}
static inline json_object *cj_obj(json_object *o, const char *key) {
  json_object *v = cj(o, key);
  return json_object_is_type(v, json_type_object) ? v : NULL;
}
static inline json_object *cj_arr(json_object *o, const char *key) {
  json_object *v = cj(o, key);
  return json_object_is_type(v, json_type_array) ? v : NULL;
}
static inline const char *cj_str(json_object *o, const char *key) {
  json_object *v = cj(o, key);
  return json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                  : NULL;
}
static inline const char *cj_str0(json_object *o, const char *key) {
  const char *s = cj_str(o, key);
  return s ? s : "";
}
static inline int64_t cj_int(json_object *o, const char *key, int64_t def) {
  json_object *v = cj(o, key);
  if (json_object_is_type(v, json_type_int))
    return json_object_get_int64(v);
  if (json_object_is_type(v, json_type_double))
    return (int64_t)json_object_get_double(v);
  return def;
}
static inline bool cj_bool(json_object *o, const char *key, bool def) {
  json_object *v = cj(o, key);
  return json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v)
                                                   : def;
}
static inline size_t cj_len(json_object *a) {
  return json_object_is_type(a, json_type_array) ? json_object_array_length(a)
                                                 : 0;
}
static inline json_object *cj_at(json_object *a, size_t i) {
  return json_object_array_get_idx(a, i);
}
/* Set o[key] = v (v stolen); creates nothing else. */
static inline void cj_set(json_object *o, const char *key, json_object *v) {
  json_object_object_add(o, key, v);
}
/* o[key] as an object, created when absent.  Borrowed. */
json_object *ctl_json_ensure(json_object *o, const char *key);
/* A deep copy (owned), NULL on out-of-memory. */
json_object *ctl_json_copy(json_object *o);
/* The plain JSON text of o (owned; NULL on out-of-memory); o is
 * consumed. */
char *ctl_json_take_text(json_object *o);
/* Copy a pod template's labels and annotations (and finalizers) into the
 * metadata tree `meta` (GetPodFromTemplate). */
void ctl_copy_template_meta(json_object *meta, json_object *tmeta,
                            bool finalizers);
/* Parse an RFC 3339 time to nanoseconds since the epoch; 0 when absent or
 * malformed. */
int64_t ctl_time_ns(const char *s);
/* Now as RFC 3339 (seconds) into buf (>= 32). */
char *ctl_now_rfc3339(char *buf, size_t len);
/* A copy of the pod's status.conditions (owned) with condition
 * DisruptionTarget True set to `reason` and `message` (borrowed), as an
 * eviction, the taint manager or podgc writes it. */
json_object *ctl_disruption_conditions(json_object *pod, const char *reason,
                                       const char *message);
/* Wall clock in nanoseconds; tests may move it (ctl_clock_set_offset). */
int64_t ctl_now_ns(void);
void ctl_clock_set_offset(int64_t offset_ns);
/* "ns/name" or "name" (owned). */
char *ctl_key(const char *ns, const char *name);
/* Split a key into namespace (copied to ns, "" for cluster-scoped) and
 * name (points into key). */
void ctl_split_key(const char *key, char *ns, size_t nslen, const char **name);

/* ------------------------------------------------------------------------ */
/* Label selectors                                                           */
/* ------------------------------------------------------------------------ */

/* A metav1.LabelSelector tree ({matchLabels, matchExpressions}) as a
 * selector (owned).  An absent selector (NULL) gives a selector matching
 * nothing when `nil_matches_nothing`, as LabelSelectorAsSelector does.
 * BadRequest for a malformed one. */
kube_selector_t *ctl_label_selector(json_object *sel, kube_error_t *err);
/* Map selectors ({"app":"x"}, ReplicationController, Service):
 * kube_json_map_selector (api-private.h). */
/* Matches `sel` against a NULL-terminated "k","v",... array. */
bool ctl_selector_matches_pairs(const kube_selector_t *sel, char *const *pairs);
/* Every key=value of `map` present in pairs (labels.Set(map).AsSelector). */
bool ctl_map_subset_of_pairs(json_object *map, char *const *pairs);
/* The value of `key` in a NULL-terminated pairs array, or NULL. */
const char *ctl_pairs_get(char *const *pairs, const char *key);

/* ------------------------------------------------------------------------ */
/* Pods as the controllers see them (podstore.c)                             */
/* ------------------------------------------------------------------------ */

enum ctl_phase {
  CTL_PHASE_PENDING = 0,
  CTL_PHASE_UNKNOWN,
  CTL_PHASE_RUNNING,
  CTL_PHASE_SUCCEEDED,
  CTL_PHASE_FAILED,
};

struct ctl_port {
  char *name;
  char *protocol;
  int32_t port;
};

/* A compact summary of a cached pod, kept current from the shared pod
 * informer so that controllers never parse 10,000 pods per sync. */
struct ctl_pod {
  char *key; /* "ns/name" */
  char *ns;  /* copies */
  char *name;
  char *uid;
  char *resource_version;
  char *ctrl_uid;  /* the controller owner's uid, or NULL */
  char *ctrl_kind; /* its kind */
  char *ctrl_name;
  char **labels; /* "k", "v", ..., NULL */
  char *node;
  char *hostname, *subdomain;
  char **ips; /* status.podIPs (or podIP), NULL-terminated; may be NULL */
  struct ctl_port *ports;
  size_t n_ports;
  enum ctl_phase phase;
  bool deleting;          /* metadata.deletionTimestamp set */
  bool ready;             /* condition Ready True */
  int64_t ready_since_ns; /* its lastTransitionTime (0: unknown) */
  /* Condition DisruptionTarget True set by an eviction or preemption (not
   * the kubelet's): its lastTransitionTime, 0 when there is none. */
  int64_t disruption_since_ns;
  int64_t created_ns;     /* creationTimestamp */
  int32_t max_restarts;   /* largest restartCount of its containers */
  int32_t deletion_cost;  /* controller.kubernetes.io/pod-deletion-cost */
  /* positions in the store's lists (swap-remove); pos_labels: one per
   * label, in the list of its namespace/key=value */
  size_t pos_owner, pos_ns, pos_orphan;
  size_t *pos_labels;
};

struct ctl_podlist {
  struct ctl_pod **v;
  size_t n, cap;
};

struct ctl_podstore;

/* Told after the store changed: old (before; NULL on add) and new (NULL on
 * delete), both borrowed for the call. */
typedef void (*ctl_pod_listener_fn)(const struct ctl_pod *old,
                                    const struct ctl_pod *pod, void *arg);

struct ctl_podstore *ctl_podstore_new(kube_informer_factory_t *f,
                                      kube_error_t *err);
void ctl_podstore_free(struct ctl_podstore *ps);
/* Listeners run in registration order.  synced (may be NULL) runs once the
 * pod informer listed.  -1 on out-of-memory. */
int ctl_podstore_listen(struct ctl_podstore *ps, ctl_pod_listener_fn fn,
                        void (*synced)(void *arg), void *arg,
                        kube_error_t *err);
void ctl_podstore_unlisten(struct ctl_podstore *ps, void *arg);
bool ctl_podstore_synced(const struct ctl_podstore *ps);
kube_informer_t *ctl_podstore_informer(struct ctl_podstore *ps);
const struct ctl_pod *ctl_podstore_get(const struct ctl_podstore *ps,
                                       const char *key);
/* Pods whose controller has uid (NULL when none); borrowed. */
const struct ctl_podlist *ctl_podstore_owned(const struct ctl_podstore *ps,
                                             const char *uid);
/* Pods of a namespace without a controller / all pods of a namespace. */
const struct ctl_podlist *ctl_podstore_orphans(const struct ctl_podstore *ps,
                                               const char *ns);
const struct ctl_podlist *ctl_podstore_in_ns(const struct ctl_podstore *ps,
                                             const char *ns);
/* The fewest pods of a namespace that hold every pod `sel` can select:
 * the pods with the label of its narrowest key=value requirement (an
 * index by namespace, key and value), else all of the namespace.  The
 * caller still matches each against sel. */
const struct ctl_podlist *ctl_podstore_select(const struct ctl_podstore *ps,
                                              const char *ns,
                                              const kube_selector_t *sel);

/* Same namespace, controller and labels (in the same order): a change
 * between a and b moves the pod in none of the store's lists. */
bool ctl_pod_same_place(const struct ctl_pod *a, const struct ctl_pod *b);

/* podutil: active = not terminal and not being deleted. */
static inline bool ctl_pod_active(const struct ctl_pod *p) {
  return p->phase != CTL_PHASE_SUCCEEDED && p->phase != CTL_PHASE_FAILED &&
         !p->deleting;
}
/* IsPodAvailable: ready for at least min_ready seconds at now_ns. */
bool ctl_pod_available(const struct ctl_pod *p, int32_t min_ready,
                       int64_t now_ns);

/* ------------------------------------------------------------------------ */
/* Writes and pending syncs                                                  */
/* ------------------------------------------------------------------------ */

/* What every controller has: its kit skeleton, writer and recorder, and
 * the writes in flight with their arguments (freed with the controller:
 * freeing the writer cancels their callbacks). */
struct ctl_base {
  kube_controller_manager_t *m;
  const char *name; /* "replicaset" (static) */
  kube_controller_t *c;
  kube_writer_t *w;
  kube_event_recorder_t *rec;
  struct ctl_op *ops;
  struct ctl_sync *syncs;
};

struct ctl_sync;
struct ctl_op;

/* A write finished: err NULL on success; `res` borrowed (may be NULL). */
typedef void (*ctl_op_fn)(struct ctl_op *op, const kube_object_t *res,
                          const kube_error_t *err);

struct ctl_op {
  struct ctl_base *b;
  struct ctl_sync *sync; /* may be NULL */
  ctl_op_fn done;
  void *data; /* freed with free_data */
  void (*free_data)(void *);
  char *tag; /* free-form (a pod key, a name); owned */
  struct ctl_op *prev, *next;
};

/* A sync that waits for writes: it finishes (kube_controller_sync_done)
 * when every op it started completed and no step started more. */
struct ctl_sync {
  struct ctl_base *b;
  char *key;
  size_t pending;
  int result; /* 0, or -1 once something failed (op callbacks and steps
                set it; an op without callback sets it when it fails) */
  bool sealed;
  /* Called when the writes of a step completed (also after failures); it
   * may start more (the sync then waits again), set another step, or leave
   * the sync to finish with `result`. */
  void (*drained)(struct ctl_sync *s);
  void *data;
  void (*free_data)(void *);
  struct ctl_sync *prev, *next;
};

int ctl_base_init(struct ctl_base *b, kube_controller_manager_t *m,
                  const char *name, const char *component,
                  kube_controller_sync_fn sync, void *arg, kube_error_t *err);
/* Cancels the writes (no callback runs) and frees everything. */
void ctl_base_clear(struct ctl_base *b);
/* A kube_controller_watch map that enqueues nothing: the informer is
 * watched only so that syncs wait for its cache. */
void ctl_map_nothing(kube_controller_t *c, const char *key,
                     const kube_object_t *obj, void *arg);

struct ctl_sync *ctl_sync_new(struct ctl_base *b, const char *key);
/* End the synchronous part of a sync: returns what the sync function
 * returns (0 / -1 when nothing is pending, else KUBE_SYNC_PENDING). */
int ctl_sync_finish(struct ctl_sync *s);

/* A write for sync `s` (may be NULL).  `done` may be NULL.  Returns 0 or -1
 * (err set; nothing pending was added). */
struct ctl_op *ctl_op_new(struct ctl_base *b, struct ctl_sync *s,
                          ctl_op_fn done, const char *tag);
/* Hand the op to the writer: call after kube_writer_* took `op` as its
 * argument; on failure (rc < 0) the op is dropped. */
int ctl_op_started(struct ctl_op *op, int rc);
/* The writer callback every ctl_op uses. */
void ctl_op_cb(const kube_object_t *res, const kube_error_t *err, void *arg);

/* A controller reference (controller and blockOwnerDeletion true); owned
 * tree. */
json_object *ctl_controller_ref(const char *api_version, const char *kind,
                                const char *name, const char *uid);
/* A merge patch (owned text) setting metadata.ownerReferences of `obj`
 * (borrowed) to its own with `add` (stolen, may be NULL) added and the
 * reference to uid `remove` (may be NULL) removed, guarded by obj's
 * resourceVersion (Conflict when it changed meanwhile). */
char *ctl_owner_patch(json_object *obj, json_object *add, const char *remove);

/* The key of pod p's controller when it is an object of `kind` cached in
 * `owners` with that uid (owned), else NULL. */
char *ctl_pod_owner_key(kube_informer_t *owners, const char *kind,
                        const struct ctl_pod *p);
struct ctl_expectations;
/* A pod event of the controller `key`: a creation or deletion observed
 * (old NULL on add, cur NULL on delete). */
void ctl_pod_observe(struct ctl_expectations *e, const char *key,
                     const struct ctl_pod *old, const struct ctl_pod *cur);
/* PUT obj's status with `fields` (borrowed; each replaces the field of
 * that name) unless they are already so; a write of sync s. */
void ctl_status_put(struct ctl_base *b, struct ctl_sync *s,
                    const kube_kind_t *kind, json_object *obj,
                    json_object *fields);

/* Events about a referenced object. */
KUBE_PRINTF(7, 8)
void ctl_eventf(struct ctl_base *b, json_object *obj, const char *kind,
                const char *api_version, const char *type, const char *reason,
                const char *fmt, ...);

/* ------------------------------------------------------------------------ */
/* Expectations (client-go's ControllerExpectations, UID-tracking for      */
/* deletions)                                                                */
/* ------------------------------------------------------------------------ */

struct ctl_expectations {
  struct strmap m; /* controller key -> struct ctl_expect */
};

#define CTL_EXPECTATIONS_TTL_NS (5LL * 60 * 1000000000)

void ctl_expectations_clear(struct ctl_expectations *e);
/* True when nothing is expected (or the record expired, or none). */
bool ctl_expectations_satisfied(struct ctl_expectations *e, const char *key);
int ctl_expect_creations(struct ctl_expectations *e, const char *key,
                         int64_t n);
/* Deletions of the pods whose keys are given (tracked by key). */
int ctl_expect_deletions(struct ctl_expectations *e, const char *key,
                         const char *const *pod_keys, size_t n);
/* Both at once (a second call replaces the first's record). */
int ctl_expect(struct ctl_expectations *e, const char *key, int64_t add,
               const char *const *del_keys, size_t n_del);
void ctl_creation_observed(struct ctl_expectations *e, const char *key);
/* Lowers the deletions once per tracked pod key. */
void ctl_deletion_observed(struct ctl_expectations *e, const char *key,
                           const char *pod_key);
void ctl_expectations_delete(struct ctl_expectations *e, const char *key);
/* Pending creations / deletions (for tests and logs). */
void ctl_expectations_get(struct ctl_expectations *e, const char *key,
                          int64_t *add, int64_t *del);

/* ------------------------------------------------------------------------ */
/* The manager's context                                                     */
/* ------------------------------------------------------------------------ */

kube_loop_t *ctl_manager_loop(kube_controller_manager_t *m);
const kube_transport_t *ctl_manager_transport(kube_controller_manager_t *m);
kube_informer_factory_t *ctl_manager_informers(kube_controller_manager_t *m);
/* The shared pod store (created on first use). */
struct ctl_podstore *ctl_manager_pods(kube_controller_manager_t *m,
                                      kube_error_t *err);
/* An informer of the shared factory for a collection path. */
kube_informer_t *ctl_manager_informer(kube_controller_manager_t *m,
                                      const char *path, kube_error_t *err);
/* The recorder "host" and per-controller settings. */
unsigned ctl_manager_workers(kube_controller_manager_t *m);
/* The manager's options with defaults filled in (node monitor periods,
 * cluster CIDR, root CA); the borrowed-only members (informers,
 * controllers, leader_*, lease_*, host) are NULL.  Borrowed. */
const kube_controller_manager_options_t *
ctl_manager_options(kube_controller_manager_t *m);

/* One implemented controller (manager.c's table lists them). */
struct ctl_impl_ops {
  void *(*create)(kube_controller_manager_t *m, kube_error_t *err);
  int (*start)(void *impl, kube_error_t *err);
  void (*free)(void *impl);
  kube_controller_t *(*controller)(void *impl);
};

extern const struct ctl_impl_ops ctl_replicaset_ops;
extern const struct ctl_impl_ops ctl_replication_ops;
extern const struct ctl_impl_ops ctl_deployment_ops;
extern const struct ctl_impl_ops ctl_gc_ops;
extern const struct ctl_impl_ops ctl_endpoints_ops;
extern const struct ctl_impl_ops ctl_endpointslice_ops;
extern const struct ctl_impl_ops ctl_nodelifecycle_ops;
extern const struct ctl_impl_ops ctl_taint_eviction_ops;
extern const struct ctl_impl_ops ctl_podgc_ops;
extern const struct ctl_impl_ops ctl_nodeipam_ops;
extern const struct ctl_impl_ops ctl_serviceaccount_ops;
extern const struct ctl_impl_ops ctl_rootca_ops;
extern const struct ctl_impl_ops ctl_pvbinder_ops;
extern const struct ctl_impl_ops ctl_disruption_ops;
extern const struct ctl_impl_ops ctl_hpa_ops;

/* ------------------------------------------------------------------------ */
/* Nodes (node-util.c)                                                       */
/* ------------------------------------------------------------------------ */

#define CTL_TAINT_NOT_READY "node.kubernetes.io/not-ready"
#define CTL_TAINT_UNREACHABLE "node.kubernetes.io/unreachable"

/* v1helper.TolerationsTolerateTaint: does toleration `tol` tolerate
 * `taint` (both trees)? */
bool ctl_toleration_tolerates(json_object *tol, json_object *taint);
/* The condition of `type` in status.conditions of a Node or Pod tree, or
 * NULL.  Borrowed. */
json_object *ctl_condition(json_object *obj, const char *type);
/* An IPv4 CIDR "a.b.c.d/n" split into its base address (host order) and
 * the number of /mask blocks it holds (1 << (mask - n)).  BadRequest when
 * malformed, not IPv4, or mask outside n..30. */
int ctl_cidr_parse(const char *cidr, int mask, uint32_t *base, uint32_t *n,
                   kube_error_t *err);
extern const struct ctl_impl_ops ctl_job_ops;
extern const struct ctl_impl_ops api_cronjob_ops;
extern const struct ctl_impl_ops ctl_daemonset_ops;
extern const struct ctl_impl_ops ctl_statefulset_ops;

/* ------------------------------------------------------------------------ */
/* Deployment helpers shared with kube_rollout_* (deployment-util.c)         */
/* ------------------------------------------------------------------------ */

#define CTL_REVISION_ANNOTATION "deployment.kubernetes.io/revision"
#define CTL_REVISION_HISTORY_ANNOTATION                                        \
  "deployment.kubernetes.io/revision-history"
#define CTL_DESIRED_REPLICAS_ANNOTATION                                        \
  "deployment.kubernetes.io/desired-replicas"
#define CTL_MAX_REPLICAS_ANNOTATION "deployment.kubernetes.io/max-replicas"
#define CTL_HASH_LABEL "pod-template-hash"
#define CTL_CHANGE_CAUSE_ANNOTATION "kubernetes.io/change-cause"
#define CTL_LAST_APPLIED_ANNOTATION                                            \
  "kubectl.kubernetes.io/last-applied-configuration"
#define CTL_ROLLBACK_TO_ANNOTATION "deprecated.deployment.rollback.to"

/* The revision annotation of an object tree; -1 when absent or not a
 * number. */
int64_t ctl_revision(json_object *obj);
/* Templates equal ignoring the pod-template-hash label
 * (EqualIgnoreHash). */
bool ctl_templates_equal_ignore_hash(json_object *a, json_object *b);
/* The annotations kubectl rollout undo and the controller never copy. */
bool ctl_annotation_skipped(const char *key);

/* pod-template-hash: kube-controller-manager's ComputeHash of a
 * PodTemplateSpec tree (hash.c); out >= 16 bytes. */
int ctl_template_hash(json_object *tmpl, const int32_t *collision_count,
                      char *out, size_t len, kube_error_t *err);
/* The go-spew text hashed (owned), for tests. */
char *ctl_template_spew(json_object *tmpl, kube_error_t *err);

/* Canonical Kubernetes quantity text ("0.5" -> "500m"); owned. */
char *ctl_quantity_canonical(const char *s, kube_error_t *err);

#endif /* KUBE_CONTROLLER_INTERNAL_H */
