/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Node-pressure eviction as the kubelet does it (prefix nd_ev): eviction
 * signals observed every 10 s on a worker (memory.available,
 * nodefs.available, nodefs.inodesFree, imagefs.available,
 * imagefs.inodesFree, pid.available), hard and soft thresholds with grace
 * periods and minimum reclaim, the MemoryPressure / DiskPressure /
 * PIDPressure conditions held for the pressure transition period, and
 * the eviction of one pod per interval, ranked as the kubelet ranks them.
 * The taints that follow the conditions are the node lifecycle
 * controller's (TaintNodesByCondition), as upstream.
 */
#ifndef KUBE_NODE_EVICTION_H
#define KUBE_NODE_EVICTION_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include <libkube/api.h>
#include <libkube/core.h>

enum nd_ev_signal {
  ND_EV_MEMORY = 0,   /* memory.available */
  ND_EV_NODEFS,       /* nodefs.available */
  ND_EV_NODEFS_INODES, /* nodefs.inodesFree */
  ND_EV_IMAGEFS,      /* imagefs.available */
  ND_EV_IMAGEFS_INODES, /* imagefs.inodesFree */
  ND_EV_PID,          /* pid.available */
  ND_EV__COUNT
};

const char *nd_ev_signal_name(enum nd_ev_signal s);

struct nd_ev_threshold {
  bool set;
  double percent;   /* > 0: a percentage of the capacity */
  int64_t quantity; /* otherwise */
  int64_t grace_ms; /* soft thresholds */
};

struct nd_ev_config {
  struct nd_ev_threshold hard[ND_EV__COUNT], soft[ND_EV__COUNT];
  struct nd_ev_threshold min_reclaim[ND_EV__COUNT];
  int64_t transition_ms;
};

/* Parse the kubelet's flags (any may be NULL: hard NULL takes the
 * kubelet's defaults memory.available<100Mi, nodefs.available<10%,
 * nodefs.inodesFree<5%, imagefs.available<15%; transition NULL 5m).
 * BadRequest with the kubelet's wording on bad input. */
int nd_ev_config_parse(struct nd_ev_config *c, const char *hard,
                       const char *soft, const char *soft_grace,
                       const char *min_reclaim, const char *transition,
                       kube_error_t *err);
/* Go's time.ParseDuration into ms ("1m30s", "500ms", "5m"). */
int nd_ev_duration_parse(const char *s, int64_t *ms);
/* The threshold's value in the signal's unit for that capacity. */
int64_t nd_ev_threshold_value(const struct nd_ev_threshold *t,
                              int64_t capacity);

/* A pod as the ranking sees it. */
struct nd_ev_candidate {
  size_t idx; /* the caller's */
  int32_t priority;
  int64_t usage, request;
};
/* Sort: usage above requests first, then lower priority, then the larger
 * usage beyond the requests (the kubelet's rankMemoryPressure and
 * rankDiskPressure; PID pressure passes request 0). */
void nd_ev_rank(struct nd_ev_candidate *v, size_t n);
/* The pod's priority: spec.priority, else what the Priority admission
 * gives the built-in classes (system-node-critical 2000001000,
 * system-cluster-critical 2000000000), else 0. */
int32_t nd_ev_pod_priority(json_object *spec);
/* kubelet's IsCriticalPod: priority >= 2000000000 (never evicted). */
bool nd_ev_critical(int32_t priority);

struct kube_node_agent;
struct kube_node_agent_options;
int nd_ev_new(struct kube_node_agent *a,
              const struct kube_node_agent_options *o, kube_error_t *err);
void nd_ev_start(struct kube_node_agent *a);
void nd_ev_stop(struct kube_node_agent *a);
void nd_ev_free(struct kube_node_agent *a);
struct nd_pod;
/* First sight of a pod (a restarted agent) whose API status is already
 * Failed with a reason (Evicted, a rejection): it stays so, its exited
 * containers are not started again (the kubelet never runs a terminal
 * pod again). */
void nd_ev_keep_terminal(struct kube_node_agent *a, struct nd_pod *p,
                         const kube_object_t *pod);
/* The kubelet's eviction admission: under pressure only critical pods
 * are admitted, and under memory pressure alone also pods that are not
 * BestEffort or tolerate the memory-pressure taint.  false with *msg
 * ("The node had condition: [MemoryPressure]. "; owned). */
bool nd_ev_admit(struct kube_node_agent *a, json_object *spec, char **msg);
/* An evicted pod's DisruptionTarget condition (reason
 * TerminationByKubelet) into conds, unless old_conds has one. */
void nd_ev_pod_conditions(const struct nd_pod *p, json_object *old_conds,
                          json_object *conds, const char *now);
/* The three pressure conditions into the Node's conditions array. */
void nd_ev_conditions(struct kube_node_agent *a, json_object *conds,
                      const char *now);

#endif /* KUBE_NODE_EVICTION_H */
