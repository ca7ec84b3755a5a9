/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ControllerRevisions of a DaemonSet or StatefulSet (history.c): the
 * revisions a set controls (adopting orphans its selector matches), the
 * one holding its current template (found, renumbered or created), and
 * the pruning of old ones to spec.revisionHistoryLimit.  Shared by
 * daemonset.c and statefulset.c.
 */
#ifndef KUBE_CONTROLLER_HISTORY_H
#define KUBE_CONTROLLER_HISTORY_H

#include "controller/internal.h"

#define CTL_REVISION_HASH_LABEL "controller-revision-hash"

struct ctl_history {
  kube_informer_t *inf;    /* apps/v1 controllerrevisions (shared) */
  kube_informer_t *owners; /* the DaemonSets / StatefulSets (shared) */
  const kube_kind_t *kind; /* ControllerRevision */
  const char *owner_kind;  /* "DaemonSet" (static) */
};

/* The revisions informer, indexed by controller uid and namespace and
 * watched by `c`: a change enqueues its controller when of kind
 * owner_kind, an orphan the `owners` (indexed by namespace here) whose
 * selector matches it. */
int ctl_history_init(struct ctl_history *h, kube_controller_manager_t *m,
                     kube_controller_t *c, kube_informer_t *owners,
                     const char *owner_kind, kube_error_t *err);

/* A set's revisions, oldest (lowest revision) first: owned copies. */
struct ctl_revs {
  json_object **v;
  size_t n;
};
void ctl_revs_clear(struct ctl_revs *r);

/* The revisions controlled by `owner` (tree, borrowed) and the orphans of
 * its namespace its selector `sel` matches, which are adopted (a patch
 * each, writes of sync s) unless the owner is being deleted.  -1 on
 * out-of-memory. */
int ctl_history_list(struct ctl_history *h, struct ctl_base *b,
                     struct ctl_sync *s, json_object *owner,
                     const kube_selector_t *sel, struct ctl_revs *out);

/* What the current revision of `owner` is (ctl_history_current). */
struct ctl_cur_rev {
  char name[300];    /* the revision's name */
  char hash[64];     /* its controller-revision-hash label */
  json_object *tmpl; /* its template (borrowed from owner or revs) */
  int64_t revision;  /* its number after this sync */
  bool collision;    /* another revision holds the name: bump the count */
};

/* The revision of owner's template (getPatch): the newest equal one in
 * revs, renumbered to max + 1 when others are newer (a rollback), the
 * other equal ones deleted; else a new one <owner>-<hash> (hash: the
 * template's, with the collision count) numbered max + 1.  Writes of sync
 * s.  -1 on out-of-memory. */
int ctl_history_current(struct ctl_history *h, struct ctl_base *b,
                        struct ctl_sync *s, json_object *owner,
                        const char *hash, struct ctl_revs *revs,
                        struct ctl_cur_rev *cur);

/* Whether a revision is still in use (a pod runs it; the current one). */
typedef bool (*ctl_rev_live_fn)(json_object *rev, void *arg);

/* Delete the oldest revisions that are not live and not `keep` (names,
 * NULL-terminated) beyond spec.revisionHistoryLimit of owner (default
 * 10).  count_live: live ones count toward the limit (the DaemonSet's
 * cleanupHistory) rather than not (the StatefulSet's truncateHistory). */
void ctl_history_prune(struct ctl_history *h, struct ctl_base *b,
                       struct ctl_sync *s, json_object *owner,
                       struct ctl_revs *revs, const char *const *keep,
                       ctl_rev_live_fn live, void *arg, bool count_live);

/* The template in a revision's data (spec.template), borrowed, or NULL. */
json_object *ctl_revision_template(json_object *rev);

#endif /* KUBE_CONTROLLER_HISTORY_H */
