/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Node and Pod objects in the scheduler's terms (kube_sched_node_t,
 * kube_sched_pod_t), shared by the binding loop and the public object
 * functions of objects.c.  Scheduler module only.
 */
#ifndef KUBE_SCHEDULER_CONVERT_H
#define KUBE_SCHEDULER_CONVERT_H

#include <libkube/api.h>
#include <libkube/scheduler.h>

#include "client/client-private.h"

/* A node in the scheduler's terms; everything borrowed from `view` and
 * the object, arrays owned here. */
struct ks_node_conv {
  kube_node_t view;
  kube_sched_node_t node;
  kube_sched_label_t *labels;
  kube_sched_taint_t *taints;
  kube_sched_image_t *images;
  kube_sched_resource_t *ext;
};

/* A pod in the scheduler's terms. */
struct ks_pod_conv {
  kube_pod_spec_t spec;
  kube_sched_pod_t pod;
  /* One allocation for every array below. */
  void *mem;
  /* PodTopologySpread constraints and their selectors (matchLabelKeys
   * folded in): one allocation. */
  void *spread_mem;
  /* namespaceSelectors resolved to namespace lists (ks_pod_resolve_ns). */
  void *ns_mem;
};

/* Fill *c from a Node object (borrowed: c->node points into it and must
 * not outlive it).  -1 with err (BadRequest for a malformed node). */
int ks_node_convert(const kube_object_t *obj, struct ks_node_conv *c,
                    kube_error_t *err);
void ks_node_conv_clear(struct ks_node_conv *c);
/* Fill *c from a Pod object (borrowed, as above). */
int ks_pod_convert(const kube_object_t *obj, struct ks_pod_conv *c,
                   kube_error_t *err);
void ks_pod_conv_clear(struct ks_pod_conv *c);

/* Namespace labels for namespaceSelector (namespaces.c): name -> labels,
 * fed by the binding loop's namespace informer. */
struct ks_ns_cache {
  struct strmap map;
};
void ks_ns_cache_put(struct ks_ns_cache *c, const kube_object_t *ns);
void ks_ns_cache_del(struct ks_ns_cache *c, const char *name);
void ks_ns_cache_clear(struct ks_ns_cache *c);
/* Resolve the non-empty namespaceSelectors of c's affinity terms to the
 * namespaces they select (plus their namespaces lists); -1 on OOM. */
int ks_pod_resolve_ns(struct ks_pod_conv *pc, const struct ks_ns_cache *c,
                      kube_error_t *err);

#endif /* KUBE_SCHEDULER_CONVERT_H */
