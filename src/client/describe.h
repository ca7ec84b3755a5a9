/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the describe-*.c files of the client module only: the writer
 * (kubectl's prefix writer over Go's tab writer), kubectl's label,
 * annotation, event, taint and toleration layouts, the pod template.
 */
#ifndef KUBE_CLIENT_DESCRIBE_H
#define KUBE_CLIENT_DESCRIBE_H

#include <json-c/json.h>
#include <time.h>

#include "api/api-private.h"
#include "client/internal.h"

struct describe {
  struct client_tabw t;
  kube_client_t *c; /* related objects come from here; NULL: none */
  time_t now;
};

#define DS(o, p) (kube_json_get_string((o), (p)))

/* Write at an indentation level (2 spaces each), as kubectl's
 * PrefixWriter.Write: the prefix goes before the format only. */
void client_dw(struct describe *d, int level, const char *fmt, ...)
    KUBE_PRINTF(3, 4);
/* A string or "" (Go's zero value). */
const char *client_dstr(json_object *o, const char *path);
/* An integer at path, `def` when absent. */
int64_t client_dint(json_object *o, const char *path, int64_t def);
/* A boolean at path (false when absent). */
bool client_dbool(json_object *o, const char *path);
/* RFC 1123 with numeric zone in local time ("Mon, 02 Jan 2006 15:04:05
 * -0700"); absent times print as Go's zero time. */
const char *client_dtime(json_object *o, const char *path, char *buf,
                         size_t len);
/* Age since an RFC 3339 time ("<unknown>" when absent). */
const char *client_dage(struct describe *d, json_object *o, const char *path,
                        char *buf, size_t len);
/* A quantity in its canonical form ("0.5" -> "500m"); text as is when it
 * does not parse. */
const char *client_dquantity(json_object *v, char *buf, size_t len);
/* An int-or-string value as Go prints it. */
const char *client_dintstr(json_object *v, char *buf, size_t len);

/* printLabelsMultilineWithIndent. */
void client_describe_labels(struct describe *d, const char *indent,
                            const char *title, json_object *map);
/* printAnnotationsMultiline: last-applied skipped, long values folded. */
void client_describe_annotations(struct describe *d, const char *title,
                                 json_object *map);
/* printTolerationsMultilineWithIndent / printTaintsMultilineWithIndent. */
void client_describe_tolerations(struct describe *d, const char *indent,
                                 const char *title, json_object *tols);
void client_describe_taints(struct describe *d, const char *title,
                            json_object *taints);
/* "Kind/Name" of the controller owner reference, or NULL. */
const char *client_describe_controller(json_object *o, char *buf, size_t len);
/* LIST a kind through the client (NULL when there is no client or the
 * list failed).  `ns` NULL: all namespaces. */
kube_object_t *client_describe_list(struct describe *d, const char *av,
                                    const char *kind, const char *ns,
                                    const char *label_selector,
                                    const char *field_selector);
/* GET one object (NULL when missing or without a client); *err receives
 * the error when not NULL. */
kube_object_t *client_describe_get(struct describe *d, const char *av,
                                   const char *kind, const char *ns,
                                   const char *name, kube_error_t *err);
/* The Events of an object (kubectl's searchEvents + DescribeEvents);
 * `kind` is the involvedObject.kind to match (NULL for pods). */
void client_describe_events(struct describe *d, json_object *o,
                            const char *kind);

/* describe-pod.c */
void client_describe_pod(struct describe *d, json_object *o);
/* DescribePodTemplate. */
void client_describe_pod_template(struct describe *d, json_object *tmpl);
/* kubectl rollout's printTemplate: DescribePodTemplate through a plain
 * prefix writer (tabs stay tabs); owned text, NULL on out-of-memory
 * (rollout.c). */
char *client_rollout_print_template(json_object *tmpl);
/* *result = "skipped rollback (current template already matches revision
 * N)" (owned); -1 on out-of-memory. */
int client_rollout_skipped(char **result, int64_t revision, kube_error_t *err);
/* metav1.IsControlledBy: obj's controller reference has uid. */
bool client_rollout_controlled_by(json_object *obj, const char *uid);

/* A describer of its own for one group and Kind; tables of them end with
 * a NULL kind.  Matched on the group too, as kubectl's describer map is
 * keyed by GroupKind: a custom resource named "Deployment" is described
 * generically. */
struct client_describer {
  const char *group; /* "" for core */
  const char *kind;
  void (*fn)(struct describe *d, json_object *o);
};
/* Runs the entry of `table` for k's group and Kind; false when none is. */
bool client_describe_with(const struct client_describer *table,
                          struct describe *d, const kube_kind_t *k,
                          json_object *o);

/* describe-apps.c: Deployments, ReplicaSets, ReplicationControllers,
 * DaemonSets, StatefulSets, Jobs, CronJobs. */
extern const struct client_describer client_workload_describers[];
/* describe-net.c: NetworkPolicy. */
extern const struct client_describer client_net_describers[];

/* describe-core.c: the describers of every kind that has one; false when
 * the kind has no describer of its own. */
bool client_describe_kind(struct describe *d, const kube_kind_t *k,
                          json_object *o);
void client_describe_generic(struct describe *d, const kube_kind_t *k,
                             json_object *o);

#endif /* KUBE_CLIENT_DESCRIBE_H */
