/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libkube controller: kube-controller-manager's reconciliation loops on the
 * controller kit (<libkube/kit.h>), leader election on a
 * coordination.k8s.io Lease, and the library side of `kubectl rollout`.
 *
 * - kube_leader_elector_t: client-go's leaderelection (a Lease with
 *   holderIdentity, leaseDurationSeconds, acquireTime, renewTime,
 *   leaseTransitions; lease duration 15 s, renew deadline 10 s, retry
 *   period 2 s by default).
 * - kube_controller_manager_t: the controllers kube-controller-manager
 *   names (replicaset-controller, deployment-controller, ...; the short
 *   aliases "replicaset", "deployment", ... too), chosen with a
 *   `--controllers` list ("*,-nodelifecycle"), all on one shared informer
 *   factory, optionally behind a leader elector.  Running so far:
 *   replicaset, replicationcontroller, deployment, garbagecollector,
 *   endpoint, endpointslice, job (which also deletes its finished Jobs
 *   after ttlSecondsAfterFinished), cronjob, daemonset, statefulset.
 * - kube_pod_template_hash(): the pod-template-hash label
 *   kube-controller-manager gives a Deployment's ReplicaSets.
 *
 * Threading: the elector and the manager belong to one kube_loop_t and are
 * used on its thread only; their callbacks run there.  The library side of
 * `kubectl rollout` (kube_rollout_*) is in <libkube/kubectl.h>.
 *
 * Errors: `kube_error_t *err` last; < 0 or NULL on failure.
 *
 * Ownership: every pointer is borrowed unless a comment says otherwise.
 */
#ifndef LIBKUBE_CONTROLLER_H
#define LIBKUBE_CONTROLLER_H

#include <libkube/api.h>
#include <libkube/client.h>
#include <libkube/core.h>
#include <libkube/kit.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Leader election                                                           */
/* ------------------------------------------------------------------------ */

/* Candidates race for a Lease: the one whose identity the Lease holds
 * leads while it renews the Lease before the renew deadline; the others
 * retry every retry period and take over once the Lease was not renewed
 * for a lease duration (measured on their own clock from the moment they
 * last saw the Lease change, as client-go does).  A leader that cannot
 * renew within the renew deadline stops leading.  Stopping a leader
 * releases the Lease (holderIdentity "", leaseDurationSeconds 1), so the
 * next candidate takes it at once. */

typedef struct kube_leader_elector kube_leader_elector_t;

typedef struct kube_leader_elector_callbacks {
  size_t struct_size; /* sizeof(kube_leader_elector_callbacks_t) */
  /* This candidate leads now. */
  void (*on_started_leading)(void *arg);
  /* It stopped leading (lost the Lease or stopped).  Not called when it
   * never led. */
  void (*on_stopped_leading)(void *arg);
  /* The observed leader changed (`identity` borrowed; "" when none). */
  void (*on_new_leader)(const char *identity, void *arg);
} kube_leader_elector_callbacks_t;

typedef struct kube_leader_elector_options {
  size_t struct_size;          /* sizeof(kube_leader_elector_options_t) */
  const char *lease_namespace; /* NULL: "kube-system" */
  const char *lease_name;      /* required: "kube-controller-manager" */
  /* Who this candidate is; NULL: "<hostname>_<random uuid>". */
  const char *identity;
  int64_t lease_duration_ms; /* 0: 15000 */
  int64_t renew_deadline_ms; /* 0: 10000 (must be < lease duration) */
  int64_t retry_period_ms;   /* 0: 2000 (must be < renew deadline) */
} kube_leader_elector_options_t;

/* An elector over `tp` (copied; its impl must outlive the elector).
 * Callbacks and opts copied.  BadRequest without a lease name or with
 * inconsistent durations.  Owned: free with kube_leader_elector_free. */
kube_leader_elector_t *
kube_leader_elector_new(kube_loop_t *loop, const kube_transport_t *tp,
                        const kube_leader_elector_options_t *opts,
                        const kube_leader_elector_callbacks_t *cbs, void *arg,
                        kube_error_t *err);
/* Begin trying to acquire (the first attempt is made at once). */
int kube_leader_elector_start(kube_leader_elector_t *e, kube_error_t *err);
/* Stop: no callback runs from now on (on_stopped_leading included); a
 * leader releases the Lease, and `done` (may be NULL) runs once that write
 * finished (at once when there is nothing to release). */
void kube_leader_elector_stop(kube_leader_elector_t *e, void (*done)(void *),
                              void *arg);
bool kube_leader_elector_is_leader(const kube_leader_elector_t *e);
/* The identity the Lease names as holder ("" when none); borrowed, valid
 * until the next loop iteration. */
const char *kube_leader_elector_leader(const kube_leader_elector_t *e);
const char *kube_leader_elector_identity(const kube_leader_elector_t *e);
/* Cancels requests in flight (a release not finished is dropped).
 * Accepts NULL. */
void kube_leader_elector_free(kube_leader_elector_t *e);

/* ------------------------------------------------------------------------ */
/* Controller manager                                                        */
/* ------------------------------------------------------------------------ */

typedef struct kube_controller_manager kube_controller_manager_t;

typedef struct kube_controller_manager_options {
  size_t struct_size; /* sizeof(kube_controller_manager_options_t) */
  /* The informers to share (borrowed; must outlive the manager).  NULL:
   * the manager makes its own over the transport. */
  kube_informer_factory_t *informers;
  /* Controllers to run, as kube-controller-manager's --controllers:
   * comma-separated names, "*" for every controller on by default,
   * "-name" to turn one off ("*,-nodelifecycle").  Names are
   * kube-controller-manager's ("replicaset-controller") or their aliases
   * ("replicaset").  NULL: "*".  BadRequest for an unknown name. */
  const char *controllers;
  /* Run the controllers only while holding the Lease
   * kube-system/kube-controller-manager (leader_* below). */
  bool leader_elect;
  const char *leader_identity; /* NULL: "<hostname>_<uuid>" */
  const char *lease_namespace; /* NULL: "kube-system" */
  const char *lease_name;      /* NULL: "kube-controller-manager" */
  int64_t lease_duration_ms;   /* 0: 15000 */
  int64_t renew_deadline_ms;   /* 0: 10000 */
  int64_t retry_period_ms;     /* 0: 2000 */
  /* Syncs each controller keeps in flight (0: 64). */
  unsigned concurrent_syncs;
  /* Identity of the events' source (source.host); NULL: none. */
  const char *host;
  /* node-lifecycle-controller: a Node whose Lease (kube-node-lease) and
   * Ready heartbeat were not renewed for this long becomes Ready=Unknown
   * and tainted (kube-controller-manager's --node-monitor-grace-period).
   * 0: 40000. */
  int64_t node_monitor_grace_period_ms;
  /* How often a healthy Node is looked at again (--node-monitor-period).
   * 0: 5000. */
  int64_t node_monitor_period_ms;
  /* node-ipam-controller: the range every Node's spec.podCIDR is cut from
   * (--cluster-cidr; NULL: "10.42.0.0/16") in blocks of
   * node_cidr_mask_size bits (--node-cidr-mask-size; 0: 24).  IPv4 only.
   * BadRequest when malformed or the mask is shorter than the range's. */
  const char *cluster_cidr;
  int node_cidr_mask_size;
  /* root-ca-certificate-publisher-controller: the PEM bundle published as
   * the data "ca.crt" of ConfigMap kube-root-ca.crt in every namespace
   * (copied).  NULL: that controller does not run. */
  const char *root_ca_pem;
  /* persistentvolume-binder as the built-in local-path provisioner (k3s's
   * rancher.io/local-path): the directory its volumes are made in
   * (copied).  NULL: no provisioner and no StorageClass "local-path". */
  const char *storage_dir;
  /* horizontal-pod-autoscaler-controller: how often each
   * HorizontalPodAutoscaler is reconciled
   * (--horizontal-pod-autoscaler-sync-period).  0: 15000. */
  int64_t hpa_sync_period_ms;
} kube_controller_manager_options_t;

/* Check a --controllers value without creating anything.  BadRequest
 * naming the first unknown controller. */
int kube_controller_manager_check(const char *controllers, kube_error_t *err);
/* Check a --cluster-cidr (NULL: the default) and --node-cidr-mask-size
 * (0: the default) pair as the node IPAM takes them.  BadRequest saying
 * what is wrong. */
int kube_controller_manager_check_cidr(const char *cluster_cidr,
                                       int node_cidr_mask_size,
                                       kube_error_t *err);

/* Owned: free with kube_controller_manager_free.  Nothing runs until
 * kube_controller_manager_start. */
kube_controller_manager_t *
kube_controller_manager_new(kube_loop_t *loop, const kube_transport_t *tp,
                            const kube_controller_manager_options_t *opts,
                            kube_error_t *err);
/* Start the elector (with leader_elect) or the controllers at once.  The
 * controllers start the informers they need. */
int kube_controller_manager_start(kube_controller_manager_t *m,
                                  kube_error_t *err);
/* Stop the controllers (their writes in flight are cancelled) and, with
 * leader election, release the Lease; `done` (may be NULL) runs when the
 * release finished. */
void kube_controller_manager_stop(kube_controller_manager_t *m,
                                  void (*done)(void *), void *arg);
/* True while the controllers run (leading, or without election). */
bool kube_controller_manager_running(const kube_controller_manager_t *m);
/* The elector (borrowed), or NULL without leader election. */
kube_leader_elector_t *
kube_controller_manager_elector(kube_controller_manager_t *m);
/* Names of the controllers enabled (kube-controller-manager's names),
 * whether implemented or not: a NULL-terminated static array, sorted. */
const char *const *
kube_controller_manager_enabled(const kube_controller_manager_t *m);
/* The kit skeleton of a running controller (borrowed, for its queue and
 * counters), by name or alias; NULL when not running. */
kube_controller_t *
kube_controller_manager_controller(kube_controller_manager_t *m,
                                   const char *name);
/* Stops and frees.  Accepts NULL. */
void kube_controller_manager_free(kube_controller_manager_t *m);

/* ------------------------------------------------------------------------ */
/* Pod template hash                                                         */
/* ------------------------------------------------------------------------ */

/* The pod-template-hash kube-controller-manager computes for a
 * PodTemplateSpec (`tmpl`: the Deployment's spec.template as stored, i.e.
 * defaulted) and the Deployment's status.collisionCount (may be NULL):
 * FNV-32a over go-spew's dump of the Go struct, encoded with
 * rand.SafeEncodeString.  Written to out (>= 11 bytes).  BadRequest for a
 * template that is not an object. */
int kube_pod_template_hash(const kube_object_t *tmpl,
                           const int32_t *collision_count, char *out,
                           size_t len, kube_error_t *err);

#ifdef __cplusplus
}
#endif
#endif /* LIBKUBE_CONTROLLER_H */
