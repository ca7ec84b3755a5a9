/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the ReplicaSet / ReplicationController files. */
#ifndef KUBE_CONTROLLER_REPLICASET_H
#define KUBE_CONTROLLER_REPLICASET_H

#include "controller/internal.h"

/* kube-controller-manager's --replicaset-controller burst: at most this
 * many pods created or deleted by one sync. */
#define RS_BURST_REPLICAS 500
/* How long the slow start of a ReplicaSet's creates stays where its last
 * successful sync left it (replicaset.c). */
#define RS_SLOW_START_KEEP_NS (30LL * 1000000000)

/* The window folding pod status changes into one sync (replicaset.c). */
#define RS_COALESCE_MIN_MS 10
#define RS_COALESCE_MAX_MS 200

/* The first `diff` pods of `pods` in deletion order (an owned array of
 * borrowed pointers; free() it), ranked against the active pods of
 * `related` lists on the same node. */
const struct ctl_pod **
ctl_rs_pods_to_delete(const struct ctl_pod **pods, size_t n, size_t diff,
                      const struct ctl_podlist *const *related,
                      size_t n_related);

#endif /* KUBE_CONTROLLER_REPLICASET_H */
