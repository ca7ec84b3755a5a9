/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Deployment controller's pieces (deployment*.c): deployment_util's
 * arithmetic over JSON trees, and the state of one sync.
 */
#ifndef KUBE_CONTROLLER_DEPLOYMENT_H
#define KUBE_CONTROLLER_DEPLOYMENT_H

#include "controller/internal.h"

/* Condition reasons (deployment_util.go). */
#define DR_NEW_RS_CREATED "NewReplicaSetCreated"
#define DR_FOUND_NEW_RS "FoundNewReplicaSet"
#define DR_RS_UPDATED "ReplicaSetUpdated"
#define DR_NEW_RS_AVAILABLE "NewReplicaSetAvailable"
#define DR_TIMED_OUT "ProgressDeadlineExceeded"
#define DR_PAUSED "DeploymentPaused"
#define DR_RESUMED "DeploymentResumed"
#define DR_FAILED_RS_CREATE "ReplicaSetCreateError"
#define DR_MIN_AVAILABLE "MinimumReplicasAvailable"
#define DR_MIN_UNAVAILABLE "MinimumReplicasUnavailable"

/* ---- deployment-util.c: fields ---- */

/* *(spec.replicas) of a Deployment or ReplicaSet (defaulted: 1). */
int32_t ctl_du_replicas(json_object *o);
/* status.<field> (0 when absent). */
int32_t ctl_du_status(json_object *o, const char *field);
int64_t ctl_du_created_ns(json_object *o);
bool ctl_du_deleting(json_object *o);
bool ctl_du_rolling(json_object *d);
/* MaxSurge / MaxUnavailable resolved as ResolveFenceposts does. */
int32_t ctl_du_max_surge(json_object *d);
int32_t ctl_du_max_unavailable(json_object *d);
/* GetScaledValueFromIntOrPercent; -1 on a malformed value. */
int ctl_du_scaled_value(json_object *v, int32_t total, bool round_up,
                        int32_t *out);
bool ctl_du_has_progress_deadline(json_object *d);

/* ---- lists of ReplicaSets (borrowed trees) ---- */

struct du_rslist {
  json_object **v;
  size_t n;
};

int32_t ctl_du_sum_replicas(json_object *const *v, size_t n);
int32_t ctl_du_sum_status(json_object *const *v, size_t n, const char *field);
/* ReplicaSetsByCreationTimestamp (older first, then name). */
void ctl_du_sort_by_creation(json_object **v, size_t n);
/* ReplicaSetsBySizeNewer / BySizeOlder. */
void ctl_du_sort_by_size(json_object **v, size_t n, bool newer_first);
/* ReplicaSetsByRevision (lower first). */
void ctl_du_sort_by_revision(json_object **v, size_t n);

/* The oldest ReplicaSet whose template equals the Deployment's (ignoring
 * pod-template-hash), or NULL. */
json_object *ctl_du_find_new(json_object *d, json_object *const *v, size_t n);
/* MaxRevision of a list. */
int64_t ctl_du_max_revision(json_object *const *v, size_t n);

/* ---- annotations ---- */

/* SetNewReplicaSetAnnotations on `rs` (changed in place); true when it
 * changed.  `exists`: the ReplicaSet exists already (replica annotations
 * are then left to scaling). */
bool ctl_du_set_new_rs_annotations(json_object *d, json_object *rs,
                                   const char *new_revision, bool exists);
/* SetReplicasAnnotations: true when changed. */
bool ctl_du_set_replicas_annotations(json_object *rs, int32_t desired,
                                     int32_t max);
bool ctl_du_replicas_annotations_need_update(json_object *rs, int32_t desired,
                                             int32_t max);
/* desired-replicas; false when absent or malformed. */
bool ctl_du_desired_annotation(json_object *rs, int32_t *out);
bool ctl_du_max_annotation(json_object *rs, int32_t *out);
/* The Deployment's revision annotation set to `rev` when different. */
bool ctl_du_set_deployment_revision(json_object *d, const char *rev);

/* ---- conditions (DeploymentStatus.conditions) ---- */

json_object *ctl_du_condition(json_object *status, const char *type);
/* SetDeploymentCondition semantics: nothing when status and reason are
 * the same; the transition time is kept when the status is. */
void ctl_du_set_condition(json_object *status, const char *type, const char *st,
                          const char *reason, const char *message);
void ctl_du_remove_condition(json_object *status, const char *type);

/* ---- rollout predicates ---- */

bool ctl_du_complete(json_object *d, json_object *status);
bool ctl_du_progressing(json_object *d, json_object *new_status);
bool ctl_du_timed_out(json_object *d, json_object *new_status);
bool ctl_du_saturated(json_object *d, json_object *rs);

/* GetReplicaSetProportion. */
int32_t ctl_du_proportion(json_object *rs, json_object *d, int32_t to_add,
                          int32_t added);
/* NewRSNewReplicas; -1 on a malformed maxSurge. */
int ctl_du_new_rs_new_replicas(json_object *d, json_object *const *all,
                               size_t n, json_object *new_rs, int32_t *out);

#endif /* KUBE_CONTROLLER_DEPLOYMENT_H */

/* ---- one sync (deployment.c, deployment-rollout.c) ---- */

struct dctl {
  struct ctl_base b;
  const kube_kind_t *dkind, *rskind;
  kube_informer_t *dinf, *rsinf;
  struct ctl_podstore *pods;
};

struct dwork;
typedef void (*dstep_fn)(struct dwork *w);

struct dwork {
  struct dctl *dc;
  struct ctl_sync *s;
  json_object *d; /* the Deployment as last read or written (owned) */
  char *ns, *name, *uid;
  json_object **rss; /* its ReplicaSets (owned copies) */
  size_t n_rs, cap_rs;
  int new_idx;          /* index of the new ReplicaSet in rss, -1: none */
  dstep_fn then;        /* what runs once the writes in flight finished */
  dstep_fn after;       /* where get_all continues */
  dstep_fn after_write; /* where write_deployment continues */
  json_object *pending_status; /* status to PUT after a patch (owned) */
  bool create;                 /* get_all may create the new ReplicaSet */
  int32_t counted;             /* replicas scaled down by a step (rolling) */
  struct {
    char **v;
    size_t n;
  } adopt, release;
  bool recheck_ok;
};

/* Continue with `then` once the writes started by this step finished (or
 * at once when none was started). */
void ctl_dw_wait(struct dwork *w, dstep_fn then);
/* The old ReplicaSets (every one but the new), borrowed in an owned
 * array. */
json_object **ctl_dw_old(struct dwork *w, size_t *n);
json_object *ctl_dw_new(struct dwork *w);
/* getAllReplicaSetsAndSyncRevision, then `after`. */
void ctl_dw_get_all(struct dwork *w, bool create, dstep_fn after);
/* Update ReplicaSet rss[idx] (its tree holds the change); the result
 * replaces it.  `fail_sync`: a failure fails the sync (else only logged). */
int ctl_dw_update_rs(struct dwork *w, size_t idx, bool fail_sync);
/* scaleReplicaSet: write when the size or the replica annotations change;
 * records ScalingReplicaSet.  Returns 1 when the size changes (a write was
 * started), 0 when nothing or only annotations were written, -1. */
int ctl_dw_scale_rs(struct dwork *w, size_t idx, int32_t new_scale,
                    bool fail_sync);
/* The index of a tree in rss. */
size_t ctl_dw_index(struct dwork *w, json_object *rs);
/* syncDeploymentStatus / syncRolloutStatus: the final step. */
void ctl_dw_sync_status(struct dwork *w);
void ctl_dw_sync_rollout_status(struct dwork *w);
/* cleanupDeployment, then `then`. */
void ctl_dw_cleanup(struct dwork *w, dstep_fn then);

/* deployment-rollout.c */
void ctl_dw_rollout_rolling(struct dwork *w);
void ctl_dw_rollout_recreate(struct dwork *w);
/* scale(): proportional scaling on a scaling event or while paused. */
void ctl_dw_scale(struct dwork *w, dstep_fn then);
/* oldPodsRunning */
bool ctl_dw_old_pods_running(struct dwork *w);
