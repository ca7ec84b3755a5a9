/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HorizontalPodAutoscaler's arithmetic (hpa-replicas.c), apart from
 * the controller (hpa.c) so that unit tests drive it directly:
 * kube-controller-manager's ReplicaCalculator for Resource metrics
 * (Utilization and AverageValue targets, missing metrics and not-ready
 * pods) and the recommendation stabilization and scaling rules.
 */
#ifndef KUBE_CONTROLLER_HPA_H
#define KUBE_CONTROLLER_HPA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libkube/core.h>

#define HPA_TOLERANCE 0.1
#define HPA_CPU_INIT_PERIOD_NS (300LL * 1000000000)  /* 5 min */
#define HPA_INITIAL_READINESS_NS (30LL * 1000000000) /* 30 s */

/* One pod the target's selector matches, as groupPods sees it. */
struct hpa_pod {
  const char *name;
  bool deleting, failed, pending; /* deletionTimestamp, phase */
  bool has_metric;
  int64_t metric;               /* milli-units (cpu: millicores) */
  int64_t metric_ns, window_ns; /* the sample's timestamp and window */
  bool has_ready;               /* a Ready condition */
  bool ready;                   /* its status True */
  int64_t ready_ns;             /* its lastTransitionTime */
  int64_t start_ns;             /* status.startTime; 0: none */
  bool has_request;             /* every container requests it */
  int64_t request;              /* the sum, milli-units */
};

/* GetResourceReplicas (target_util > 0: Utilization percent of the
 * requests) or GetRawResourceReplicas (else: target_avg milli-units per
 * pod).  cpu: not-ready pods count as unready as for CPU.  *desired, and
 * *util (the current utilization percent, Utilization only) and *avg
 * (the current average, milli-units).  -1 with err as upstream words it
 * (no pods, no metrics, a missing request). */
int hpa_resource_replicas(struct hpa_pod *pods, size_t n, int32_t current,
                          int32_t target_util, int64_t target_avg, bool cpu,
                          int64_t now_ns, int32_t *desired, int32_t *util,
                          int64_t *avg, kube_error_t *err);

/* A recommendation or a scale event kept for a while. */
struct hpa_rec {
  int64_t at_ns;
  int32_t replicas; /* recommendation, or the signed change of a scale
                       event (+ up, - down) */
};

/* A scaling policy of spec.behavior. */
struct hpa_policy {
  bool percent; /* Percent, else Pods */
  int32_t value;
  int32_t period_s;
};

struct hpa_rules {
  int32_t window_s;
  int select; /* 0 Max, 1 Min, 2 Disabled */
  struct hpa_policy policies[8];
  size_t n_policies;
};

/* The limit the policies put on scaling up (or down) from current, given
 * the scale events (signed changes) within each policy's period
 * (calculateScaleUpLimitWithScalingRules,
 * calculateScaleDownLimitWithBehaviors). */
int32_t hpa_scale_limit(const struct hpa_rules *r, bool up, int32_t current,
                        const struct hpa_rec *events, size_t n_events,
                        int64_t now_ns);

#endif /* KUBE_CONTROLLER_HPA_H */
