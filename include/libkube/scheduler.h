/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libkube scheduler: a placement library over plain structs.
 *
 * A kube_scheduler_t holds the cluster as the scheduler sees it: nodes
 * (allocatable resources, labels, taints, images, unschedulable) and the
 * pods already bound to them.  It is updated incrementally: adding or
 * removing a node or a bound pod adjusts the node's sums and the label
 * indexes without rescanning anything, so a binding loop can feed it
 * straight from informer events.
 *
 * Placement runs the filter plugins (NodeUnschedulable, NodeName,
 * TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit,
 * InterPodAffinity) and the score plugins (NodeResourcesFit with a strategy:
 * MostAllocated by default, LeastAllocated or RequestedToCapacityRatio;
 * NodeResourcesBalancedAllocation, ImageLocality, NodeAffinity preferred
 * terms, TaintToleration PreferNoSchedule, InterPodAffinity preferred terms)
 * with weights.  A pod that fits nowhere gets kube-scheduler's explanation:
 * "0/5 nodes are available: 3 Insufficient cpu, 2 node(s) had untolerated
 * taint {dedicated: gpu}. preemption: 0/5 nodes are available: ...".
 *
 * Large clusters: like kube-scheduler's percentageOfNodesToScore the search
 * stops after a number of feasible nodes were found and scores only those.
 * Unlike kube-scheduler, the search visits nodes in the order the resource
 * strategy prefers (fullest first for MostAllocated), so the sample holds
 * the nodes that bin-packing wants; percentage 100 scores every node.
 *
 * Results are deterministic for a given input (including the order nodes
 * and pods were added) and seed.
 *
 * Units: CPU in millicores, memory and ephemeral storage in bytes,
 * extended resources in whole units.
 *
 * Threading: a scheduler is not thread-safe; use it from one thread.  All
 * input structs are borrowed for the duration of the call only (strings are
 * copied).
 */
#ifndef LIBKUBE_SCHEDULER_H
#define LIBKUBE_SCHEDULER_H

#include <libkube/api.h>
#include <libkube/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Input structs                                                             */
/* ------------------------------------------------------------------------ */

typedef struct kube_sched_label {
  const char *key;
  const char *value;
} kube_sched_label_t;

/* One extended resource ("nvidia.com/gpu": 2). */
typedef struct kube_sched_resource {
  const char *name;
  int64_t value;
} kube_sched_resource_t;

/* A resource list.  `pods` is used for a node's allocatable pod count (0
 * means 110, the kubelet default) and ignored in pod requests (each pod
 * counts as one). */
typedef struct kube_sched_resources {
  int64_t cpu_milli;
  int64_t memory;
  int64_t ephemeral_storage;
  int64_t pods;
  size_t n_extended;
  const kube_sched_resource_t *extended;
} kube_sched_resources_t;

typedef enum kube_sched_taint_effect {
  KUBE_TAINT_NO_SCHEDULE = 0,
  KUBE_TAINT_PREFER_NO_SCHEDULE,
  KUBE_TAINT_NO_EXECUTE,
  KUBE_TAINT_ANY, /* tolerations only: an empty effect matches all effects */
} kube_sched_taint_effect_t;

typedef struct kube_sched_taint {
  const char *key;
  const char *value; /* may be NULL (empty) */
  kube_sched_taint_effect_t effect;
} kube_sched_taint_t;

typedef enum kube_sched_toleration_op {
  KUBE_TOLERATION_EQUAL = 0,
  KUBE_TOLERATION_EXISTS,
} kube_sched_toleration_op_t;

/* A toleration; an empty key with EXISTS tolerates every taint. */
typedef struct kube_sched_toleration {
  const char *key; /* may be NULL (empty) */
  kube_sched_toleration_op_t op;
  const char *value;                /* may be NULL (empty) */
  kube_sched_taint_effect_t effect; /* KUBE_TAINT_ANY for an empty effect */
} kube_sched_toleration_t;

/* An image present on a node (NodeStatus.images) with its size in bytes. */
typedef struct kube_sched_image {
  const char *name;
  int64_t size;
} kube_sched_image_t;

typedef struct kube_sched_node {
  const char *name;
  kube_sched_resources_t allocatable;
  size_t n_labels;
  const kube_sched_label_t *labels;
  size_t n_taints;
  const kube_sched_taint_t *taints;
  bool unschedulable; /* spec.unschedulable (cordoned) */
  size_t n_images;
  const kube_sched_image_t *images;
} kube_sched_node_t;

/* A nodeSelectorTerm: match_expressions (In, NotIn, Exists, DoesNotExist,
 * Gt, Lt on node labels) and match_fields (metadata.name with In/NotIn) are
 * ANDed.  Requirements use core's kube_selector_requirement_t. */
typedef struct kube_sched_node_selector_term {
  size_t n_match_expressions;
  const kube_selector_requirement_t *match_expressions;
  size_t n_match_fields;
  const kube_selector_requirement_t *match_fields;
} kube_sched_node_selector_term_t;

typedef struct kube_sched_preferred_term {
  int32_t weight; /* 1..100 */
  kube_sched_node_selector_term_t term;
} kube_sched_preferred_term_t;

/* A PodAffinityTerm: pods matching `selector` (matchLabels as EQUALS plus
 * matchExpressions) in `namespaces` (the incoming pod's namespace when
 * empty; every namespace when all_namespaces) on nodes with the same value
 * of the `topology_key` label. */
typedef struct kube_sched_pod_affinity_term {
  size_t n_selector;
  const kube_selector_requirement_t *selector;
  size_t n_namespaces;
  const char *const *namespaces;
  bool all_namespaces; /* namespaceSelector: {} */
  const char *topology_key;
} kube_sched_pod_affinity_term_t;

typedef struct kube_sched_weighted_pod_affinity_term {
  int32_t weight; /* 1..100 */
  kube_sched_pod_affinity_term_t term;
} kube_sched_weighted_pod_affinity_term_t;

typedef struct kube_sched_port {
  int32_t port;         /* hostPort; entries with 0 are ignored */
  const char *protocol; /* "TCP" when NULL */
  const char *host_ip;  /* "0.0.0.0" when NULL or empty */
} kube_sched_port_t;

/* A topologySpreadConstraint (PodTopologySpread): pods matching
 * `selector` in the pod's namespace, counted per value of the
 * `topology_key` label over the eligible nodes (those with every
 * constraint's key; matching the pod's node affinity unless
 * ignore_node_affinity; tolerated taints only with honor_node_taints).
 * DoNotSchedule filters nodes whose domain would exceed max_skew above
 * the least populated domain; ScheduleAnyway scores the less populated
 * domains higher.  matchLabelKeys are folded into selector by the caller
 * (kube_scheduler_*_object do). */
typedef struct kube_sched_spread_constraint {
  int32_t max_skew; /* >= 1 */
  const char *topology_key;
  bool schedule_anyway; /* whenUnsatisfiable: ScheduleAnyway */
  size_t n_selector;
  const kube_selector_requirement_t *selector;
  int32_t min_domains; /* 0 or 1: none */
  bool ignore_node_affinity;
  bool honor_node_taints;
} kube_sched_spread_constraint_t;

/* A pod, pending or bound.  Requests are the pod's effective requests
 * (max(sum of containers, each init container) + overhead); a resource
 * with request 0 and a limit takes the limit, as API defaulting does. */
typedef struct kube_sched_pod {
  const char *namespace_; /* "default" when NULL */
  const char *name;
  kube_sched_resources_t requests;
  kube_sched_resources_t limits;
  int32_t priority;
  const char *node_name; /* spec.nodeName of a pending pod: only that node */
  size_t n_labels;
  const kube_sched_label_t *labels;
  size_t n_node_selector;
  const kube_sched_label_t *node_selector;
  /* nodeAffinity.requiredDuringScheduling...: terms ORed; none = no rule */
  size_t n_required_terms;
  const kube_sched_node_selector_term_t *required_terms;
  size_t n_preferred_terms;
  const kube_sched_preferred_term_t *preferred_terms;
  size_t n_pod_affinity;
  const kube_sched_pod_affinity_term_t *pod_affinity;
  size_t n_pod_anti_affinity;
  const kube_sched_pod_affinity_term_t *pod_anti_affinity;
  size_t n_preferred_pod_affinity;
  const kube_sched_weighted_pod_affinity_term_t *preferred_pod_affinity;
  size_t n_preferred_pod_anti_affinity;
  const kube_sched_weighted_pod_affinity_term_t *preferred_pod_anti_affinity;
  size_t n_tolerations;
  const kube_sched_toleration_t *tolerations;
  size_t n_ports;
  const kube_sched_port_t *ports;
  /* Container images (for ImageLocality); one entry per container. */
  size_t n_images;
  const char *const *images;
  bool preemption_never; /* preemptionPolicy: Never */
  size_t n_spread;
  const kube_sched_spread_constraint_t *spread;
} kube_sched_pod_t;

/* ------------------------------------------------------------------------ */
/* Configuration                                                             */
/* ------------------------------------------------------------------------ */

typedef enum kube_sched_strategy {
  KUBE_SCHED_MOST_ALLOCATED = 0,          /* bin-packing (default) */
  KUBE_SCHED_LEAST_ALLOCATED,             /* spread */
  KUBE_SCHED_REQUESTED_TO_CAPACITY_RATIO, /* shape */
} kube_sched_strategy_t;

typedef enum kube_sched_filter {
  KUBE_SCHED_FILTER_NODE_UNSCHEDULABLE = 0,
  KUBE_SCHED_FILTER_NODE_NAME,
  KUBE_SCHED_FILTER_TAINT_TOLERATION,
  KUBE_SCHED_FILTER_NODE_AFFINITY,
  KUBE_SCHED_FILTER_NODE_PORTS,
  KUBE_SCHED_FILTER_NODE_RESOURCES_FIT,
  KUBE_SCHED_FILTER_INTER_POD_AFFINITY,
  KUBE_SCHED_FILTER__COUNT
} kube_sched_filter_t;

typedef enum kube_sched_score {
  KUBE_SCHED_SCORE_NODE_RESOURCES_FIT = 0, /* the strategy; default 1 */
  KUBE_SCHED_SCORE_BALANCED_ALLOCATION,    /* default 1 */
  KUBE_SCHED_SCORE_IMAGE_LOCALITY,         /* default 1 */
  KUBE_SCHED_SCORE_INTER_POD_AFFINITY,     /* default 2 */
  KUBE_SCHED_SCORE_NODE_AFFINITY,          /* default 2 */
  KUBE_SCHED_SCORE_TAINT_TOLERATION,       /* default 3 */
  KUBE_SCHED_SCORE__COUNT
} kube_sched_score_t;

#define KUBE_SCHED_MAX_SHAPE 10

typedef struct kube_sched_shape_point {
  int32_t utilization; /* 0..100 */
  int32_t score;       /* 0..10 */
} kube_sched_shape_point_t;

typedef struct kube_scheduler_config {
  size_t struct_size; /* sizeof(kube_scheduler_config_t) */
  kube_sched_strategy_t strategy;
  /* Share of nodes to find feasible before scoring: 0 = adaptive as in
   * kube-scheduler (50% - nodes/125, at least 5% and 100 nodes), 100 =
   * score every feasible node. */
  int32_t percentage_of_nodes_to_score;
  uint64_t seed; /* tie-breaking between equal scores */
  bool filter_enabled[KUBE_SCHED_FILTER__COUNT];
  int32_t score_weight[KUBE_SCHED_SCORE__COUNT]; /* 0 disables */
  /* Resource weights of the NodeResourcesFit strategy and of
   * BalancedAllocation: cpu and memory (default 1 and 1). */
  int32_t cpu_weight;
  int32_t memory_weight;
  /* RequestedToCapacityRatio shape, utilization ascending. */
  size_t n_shape;
  kube_sched_shape_point_t shape[KUBE_SCHED_MAX_SHAPE];
  /* PodTopologySpread (after the arrays above so that older callers'
   * structs stay valid): score weight (default 2, 0 disables; older
   * callers get 0) and its filter (on unless disabled). */
  int32_t spread_weight;
  bool spread_filter_disabled;
  /* libkube.io/VectorFit, a libkube score plugin for bin-packing
   * profiles (vector best fit on CPU and memory, see score.c): its weight,
   * 0 (off) by default so that the default profile is kube-scheduler's. */
  int32_t vector_fit_weight;
} kube_scheduler_config_t;

/* Fill cfg with the defaults (MostAllocated, adaptive sampling, seed 0,
 * every filter on, kube-scheduler's default weights, shape 0->0, 100->10). */
void kube_scheduler_config_init(kube_scheduler_config_t *cfg);

/* Parse a small config text into cfg (which should hold defaults first):
 *
 *   # comment
 *   strategy = MostAllocated | LeastAllocated | RequestedToCapacityRatio
 *   percentageOfNodesToScore = 0..100
 *   seed = 42
 *   score.<Plugin> = <weight>         e.g. score.ImageLocality = 0
 *   filter.<Plugin> = on | off        e.g. filter.NodePorts = off
 *   resource.cpu = 1                  resource.memory = 2
 *   shape = 0:0, 50:5, 100:10
 *   score.libkube.io/VectorFit = 1    the bin-packing score (default 0)
 *
 * Plugin names are kube-scheduler's (NodeResourcesFit,
 * NodeResourcesBalancedAllocation, ImageLocality, InterPodAffinity,
 * NodeAffinity, TaintToleration, NodeUnschedulable, NodeName, NodePorts,
 * PodTopologySpread).
 * Returns 0, or -1 with BadRequest naming the line. */
int kube_scheduler_config_parse(kube_scheduler_config_t *cfg, const char *text,
                                kube_error_t *err);
/* Read and parse a file (errno-carrying error when it cannot be read). */
int kube_scheduler_config_load(kube_scheduler_config_t *cfg, const char *path,
                               kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* The scheduler                                                             */
/* ------------------------------------------------------------------------ */

typedef struct kube_scheduler kube_scheduler_t;

/* cfg borrowed (copied); NULL = defaults.  Owned result: free with
 * kube_scheduler_free(). */
kube_scheduler_t *kube_scheduler_new(const kube_scheduler_config_t *cfg,
                                     kube_error_t *err);
void kube_scheduler_free(kube_scheduler_t *s); /* accepts NULL */

/* Add a node (AlreadyExists if the name is taken). */
int kube_scheduler_add_node(kube_scheduler_t *s, const kube_sched_node_t *node,
                            kube_error_t *err);
/* Replace a node's attributes, keeping the pods bound to it (NotFound). */
int kube_scheduler_update_node(kube_scheduler_t *s,
                               const kube_sched_node_t *node,
                               kube_error_t *err);
/* Remove a node and forget the pods bound to it (NotFound). */
int kube_scheduler_remove_node(kube_scheduler_t *s, const char *name,
                               kube_error_t *err);

/* Account a pod bound (or assumed) on node `node_name`.  NotFound when the
 * node is unknown, AlreadyExists when namespace/name is already bound.  The
 * pod's requests count even if the node is over-committed. */
int kube_scheduler_add_pod(kube_scheduler_t *s, const kube_sched_pod_t *pod,
                           const char *node_name, kube_error_t *err);
/* Replace a bound pod's accounting (requests, labels, ports or node
 * changed: an informer update), or add it when unknown.  NotFound when
 * the node is unknown; on out-of-memory the pod ends up forgotten. */
int kube_scheduler_update_pod(kube_scheduler_t *s, const kube_sched_pod_t *pod,
                              const char *node_name, kube_error_t *err);
/* Forget a bound pod (NotFound). */
int kube_scheduler_remove_pod(kube_scheduler_t *s, const char *namespace_,
                              const char *name, kube_error_t *err);

size_t kube_scheduler_node_count(const kube_scheduler_t *s);
size_t kube_scheduler_pod_count(const kube_scheduler_t *s);
/* What is requested on a node so far (cpu, memory, ephemeral storage, and
 * pods = number of pods).  NotFound for an unknown node.  Extended
 * resources are not reported (n_extended = 0). */
int kube_scheduler_node_requested(const kube_scheduler_t *s, const char *name,
                                  kube_sched_resources_t *out,
                                  kube_error_t *err);

/* A failure reason and the number of nodes that gave it. */
typedef struct kube_sched_reason {
  char *reason; /* owned: "Insufficient cpu" */
  uint32_t count;
} kube_sched_reason_t;

/* A placement or why there is none.  Owned strings: release the whole
 * result with kube_sched_result_clear(). */
typedef struct kube_sched_result {
  char *node;        /* chosen node, or NULL when the pod fits nowhere */
  int64_t score;     /* weighted score of the chosen node (0..100 per weight) */
  uint32_t feasible; /* feasible nodes found (<= nodes searched) */
  uint32_t evaluated; /* nodes examined */
  /* When node is NULL: kube-scheduler's FitError text and its histogram,
   * sorted as kube-scheduler sorts it (by the "<count> <reason>" string). */
  char *message;
  size_t n_reasons;
  kube_sched_reason_t *reasons;
  /* When node is NULL and evicting lower-priority pods would make room:
   * the node to nominate and the victims ("namespace/name", owned). */
  char *nominated_node;
  size_t n_victims;
  char **victims;
} kube_sched_result_t;

void kube_sched_result_clear(kube_sched_result_t *r); /* accepts NULL */

/* Find a node for one pod without changing the scheduler.  Returns 0 with
 * *result filled (node or message), -1 with err on out-of-memory or
 * invalid input (BadRequest).  result is overwritten (not cleared first). */
int kube_scheduler_schedule(kube_scheduler_t *s, const kube_sched_pod_t *pod,
                            kube_sched_result_t *result, kube_error_t *err);

typedef enum kube_sched_batch_flags {
  KUBE_SCHED_BATCH_COMMIT = 0,        /* placed pods stay bound (as add_pod) */
  KUBE_SCHED_BATCH_DRY_RUN = 1,       /* "where would these go": undone after */
  KUBE_SCHED_BATCH_ARRIVAL_ORDER = 2, /* do not sort; place in input order */
  /* With COMMIT: a pod that fits nowhere but would fit after preemption
   * (result with nominated_node and victims) takes its nomination at once:
   * the victims are removed from the scheduler and the pod is accounted
   * on the nominated node (reserved, as kube-scheduler accounts nominated
   * pods), so that the pods after it in the batch neither take the room
   * nor choose the same victims.  The caller deletes the victims and binds
   * the pod once they are gone (kube_scheduler_remove_pod releases the
   * reservation if it gives up).  Ignored with DRY_RUN. */
  KUBE_SCHED_BATCH_PREEMPT = 4,
} kube_sched_batch_flags_t;

/* Place many pending pods: sorted by priority (highest first), then size
 * (dominant resource share of the largest node, largest first), with
 * CPU-dominant and memory-dominant pods of one priority interleaved so that
 * their running totals stay even (this is what lets MostAllocated fill
 * nodes in both dimensions), then input order.  Each placed pod is
 * accounted before the next is placed.  results[i] (caller array of n,
 * overwritten) is the outcome of pods[i].  Preemption is only reported
 * unless flags has KUBE_SCHED_BATCH_PREEMPT.  AlreadyExists when a pod is already bound (nothing is
 * placed).  Returns the number of pods placed, or -1 with err (results then
 * hold nothing to clear, and the scheduler is unchanged). */
int64_t kube_scheduler_schedule_batch(kube_scheduler_t *s,
                                      const kube_sched_pod_t *pods, size_t n,
                                      unsigned flags,
                                      kube_sched_result_t *results,
                                      kube_error_t *err);

/* The pure function: nodes, pods already bound (bound_pods[i] on
 * bound_nodes[i]) and pending pods in, one result per pending pod out
 * (batch order as above).  cfg may be NULL.  Returns pods placed or -1. */
int64_t kube_schedule(const kube_scheduler_config_t *cfg,
                      const kube_sched_node_t *nodes, size_t n_nodes,
                      const kube_sched_pod_t *bound_pods,
                      const char *const *bound_nodes, size_t n_bound,
                      const kube_sched_pod_t *pending, size_t n_pending,
                      kube_sched_result_t *results, kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* Kubernetes objects in                                                     */
/* ------------------------------------------------------------------------ */

/* The same operations fed with Node and Pod objects (borrowed for the
 * call), read as the binding loop reads its informers' objects: a node's
 * name, status.allocatable, labels, spec.taints, spec.unschedulable and
 * status.images; a pod's namespace, name, labels, effective requests and
 * limits (containers, init containers, overhead), priority, nodeSelector,
 * affinity, tolerations, host ports, images and preemptionPolicy.  For
 * language bindings and embedders that hold JSON.  Errors as the struct
 * functions, plus BadRequest for an object that is not a usable Node or
 * Pod (no name, malformed quantities). */
int kube_scheduler_add_node_object(kube_scheduler_t *s,
                                   const kube_object_t *node,
                                   kube_error_t *err);
int kube_scheduler_update_node_object(kube_scheduler_t *s,
                                      const kube_object_t *node,
                                      kube_error_t *err);
/* Account a placed pod on `node_name`, or on its spec.nodeName when
 * node_name is NULL (BadRequest when it has neither). */
int kube_scheduler_add_pod_object(kube_scheduler_t *s, const kube_object_t *pod,
                                  const char *node_name, kube_error_t *err);
int kube_scheduler_update_pod_object(kube_scheduler_t *s,
                                     const kube_object_t *pod,
                                     const char *node_name, kube_error_t *err);
/* kube_scheduler_schedule for a Pod object. */
int kube_scheduler_schedule_object(kube_scheduler_t *s,
                                   const kube_object_t *pod,
                                   kube_sched_result_t *result,
                                   kube_error_t *err);
/* kube_scheduler_schedule_batch for n Pod objects (pods[i] borrowed);
 * an unusable pod fails the whole call (BadRequest naming its index) and
 * places nothing. */
int64_t kube_scheduler_schedule_objects(kube_scheduler_t *s,
                                        const kube_object_t *const *pods,
                                        size_t n, unsigned flags,
                                        kube_sched_result_t *results,
                                        kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* The binding loop                                                          */
/* ------------------------------------------------------------------------ */

/* The scheduler component of `kubed server`: informers on nodes and pods
 * feed a kube_scheduler_t; pending pods (no spec.nodeName, one of our
 * scheduler names, not being deleted, not terminal) wait in a work queue
 * and are placed in batches (kube_scheduler_schedule_batch: priority, then
 * size).  Each placement is assumed in the scheduler state at once and a
 * `pods/NAME/binding` POST is sent through the kit's writer (many in
 * flight, so the store's group commit batches them); a successful binding
 * is reported with a Normal event Scheduled ("Successfully assigned
 * default/x to node1"), a failed one forgets the assumption and retries the
 * pod with backoff.  A pod that fits nowhere gets a Warning event
 * FailedScheduling with the scheduler's explanation ("0/5 nodes are
 * available: ...") at every attempt (the kit's event recorder counts
 * repeats into one Event and rate-limits each pod's events) and the
 * condition PodScheduled=False/Unschedulable, and is retried with backoff
 * (1 s doubling to 10 s) and at once whenever a node is added or changes or
 * a bound pod goes away.
 *
 * Bound pods (spec.nodeName set, not Succeeded/Failed) count as
 * allocations on their node, whoever bound them.
 *
 * Threading: one event loop; everything runs on it. */

struct kube_transport;
struct kube_informer_factory;

typedef struct kube_scheduler_loop kube_scheduler_loop_t;

typedef struct kube_scheduler_loop_options {
  size_t struct_size; /* sizeof(kube_scheduler_loop_options_t) */
  /* Placement configuration (copied); NULL: kube_scheduler_config_init. */
  const kube_scheduler_config_t *config;
  /* spec.schedulerName values this loop serves, NULL-terminated (copied).
   * NULL: "default-scheduler" and "libkube" (an empty schedulerName is
   * defaulted to default-scheduler by the API server). */
  const char *const *scheduler_names;
  /* Pods placed per pass; 0: 2048. */
  size_t max_batch;
  /* Do not write `Scheduled` events ("Successfully assigned ns/pod to
   * node", reason Scheduled, type Normal) after successful bindings. */
  bool no_scheduled_events;
  /* Do not set PodScheduled=False on unschedulable pods (events only). */
  bool no_unschedulable_condition;
  /* The process's shared informer factory (<libkube/kit.h>; borrowed, must
   * outlive the loop), whose node and pod informers the loop registers
   * with (it adds the spec.nodeName index to the pods).  NULL: the loop
   * makes a factory of its own over `tp`. */
  struct kube_informer_factory *informers;
} kube_scheduler_loop_options_t;

/* Counters since the loop started. */
typedef struct kube_scheduler_loop_stats {
  uint64_t passes;           /* batches placed */
  uint64_t attempts;         /* pods put through the scheduler */
  uint64_t bindings_ok;      /* binding POSTs that succeeded */
  uint64_t bindings_failed;  /* binding POSTs that failed */
  uint64_t unschedulable;    /* attempts that found no node */
  uint64_t events;           /* FailedScheduling/Scheduled events written */
  size_t pending;            /* pods queued or backing off */
  size_t in_flight;          /* bindings not answered yet */
  uint64_t preemptions;        /* failed attempts that nominated a node */
  uint64_t preemption_victims; /* victims deleted for them */
} kube_scheduler_loop_stats_t;

/* Create a loop on `loop` (borrowed) talking to the API through `tp`
 * (copied; its implementation must outlive the loop), e.g. the
 * in-process transport from kube_apiserver_transport().  `opts` may be
 * NULL.  Does not start.  Owned: free with kube_scheduler_loop_free. */
kube_scheduler_loop_t *kube_scheduler_loop_new(
    kube_loop_t *loop, const struct kube_transport *tp,
    const kube_scheduler_loop_options_t *opts, kube_error_t *err);
/* Start the node informer; pods are listed once nodes are synced and
 * scheduled once both are.  -1 with err when the first request fails. */
int kube_scheduler_loop_start(kube_scheduler_loop_t *loop, kube_error_t *err);
/* True once nodes and pods are synced and pending pods are being placed. */
bool kube_scheduler_loop_running(const kube_scheduler_loop_t *loop);
void kube_scheduler_loop_get_stats(const kube_scheduler_loop_t *loop,
                                   kube_scheduler_loop_stats_t *out);
/* Append the loop's figures in Prometheus text format (attempts by
 * result, attempt latency histogram, pending pods by queue, bindings,
 * preemptions) to out.  0, or -1 when out ran out of memory. */
int kube_scheduler_loop_metrics_write(const kube_scheduler_loop_t *loop,
                                      kube_strbuf_t *out);
/* The scheduler state the loop maintains (borrowed; read it only, from the
 * loop's thread). */
const kube_scheduler_t *
kube_scheduler_loop_scheduler(const kube_scheduler_loop_t *loop);
/* Cancel informers and requests in flight and free everything.  A binding
 * already sent may still take effect.  Accepts NULL. */
void kube_scheduler_loop_free(kube_scheduler_loop_t *loop);

#ifdef __cplusplus
}
#endif
#endif /* LIBKUBE_SCHEDULER_H */
