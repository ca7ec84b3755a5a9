/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the DaemonSet controller's files (daemonset*.c). */
#ifndef KUBE_CONTROLLER_DAEMONSET_H
#define KUBE_CONTROLLER_DAEMONSET_H

#include "controller/internal.h"

#define CTL_DS_HASH_LABEL "controller-revision-hash"

/* Whether a pod of template spec `pspec` belongs on `node` (trees):
 * nodeSelector, required node affinity, taints vs tolerations (the
 * DaemonSet defaults included). */
bool ctl_ds_should_run(json_object *pspec, json_object *node);
/* The template's tolerations plus the DaemonSet defaults (owned). */
json_object *ctl_ds_tolerations(json_object *pspec);
/* The node a DaemonSet pod is for: spec.nodeName, else its pinned
 * metadata.name affinity; borrowed, NULL when neither. */
const char *ctl_ds_pod_node(json_object *pod);
/* The pod (JSON text, owned) DaemonSet `ds` creates on `node`. */
char *ctl_ds_pod(json_object *ds, const char *hash, const char *node);

#endif /* KUBE_CONTROLLER_DAEMONSET_H */
