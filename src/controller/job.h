/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the Job controller's files (job.c, job-util.c). */
#ifndef KUBE_CONTROLLER_JOB_H
#define KUBE_CONTROLLER_JOB_H

#include "controller/internal.h"

#define CTL_JOB_FINALIZER "batch.kubernetes.io/job-tracking"
#define CTL_JOB_INDEX_KEY "batch.kubernetes.io/job-completion-index"

/* A sorted set of completion indexes. */
struct ctl_idxset {
  int64_t *v;
  size_t n, cap;
};

int ctl_idx_add(struct ctl_idxset *s, int64_t i);
bool ctl_idx_has(const struct ctl_idxset *s, int64_t i);
void ctl_idx_clear(struct ctl_idxset *s);
/* Adds the indexes of "1,3-5" below limit; malformed text adds what
 * parsed before it.  -1 on out-of-memory. */
int ctl_idx_parse(struct ctl_idxset *s, const char *text, int64_t limit);
/* "1,3-5" (owned). */
char *ctl_idx_format(const struct ctl_idxset *s);

/* The tracking finalizer is on the pod (a tree). */
bool ctl_job_has_finalizer(json_object *pod);
/* The completion index of a pod (annotation, else label); -1 when none or
 * malformed. */
int64_t ctl_job_pod_index(json_object *pod);
/* A merge patch (owned text) dropping the tracking finalizer. */
char *ctl_job_finalizer_patch(json_object *pod);

enum ctl_job_action {
  CTL_JOB_COUNT = 0,
  CTL_JOB_IGNORE,
  CTL_JOB_FAIL_JOB,
  CTL_JOB_FAIL_INDEX,
};
/* What spec.podFailurePolicy (may be NULL) says of failed `pod`: the
 * first matching rule's action (Count when none matches); msg (may be
 * NULL) receives the Failed condition's message for FailJob. */
enum ctl_job_action ctl_job_failure_action(json_object *policy,
                                           json_object *pod, char *msg,
                                           size_t len);

/* Borrowed condition of `type` in a status tree, or NULL. */
json_object *ctl_job_condition(json_object *status, const char *type);
bool ctl_job_condition_true(json_object *status, const char *type);
/* Sets a condition in status (owned tree); true when it changed. */
bool ctl_job_set_condition(json_object *status, const char *type,
                           const char *cstatus, const char *reason,
                           const char *message);

/* The pod (JSON text, owned) job creates for completion index `index`
 * (-1: NonIndexed). */
char *ctl_job_pod(json_object *job, int64_t index);

#endif /* KUBE_CONTROLLER_JOB_H */
