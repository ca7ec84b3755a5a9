/* SPDX-License-Identifier: Apache-2.0 */
/* The garbage collector's graph and workers (gc.c, gc-worker.c). */
#ifndef KUBE_CONTROLLER_GC_H
#define KUBE_CONTROLLER_GC_H

#include "controller/internal.h"

#define GC_FOREGROUND "foregroundDeletion"
#define GC_ORPHAN "orphan"

struct gowner {
  char *uid;
  char *api_version;
  char *kind;
  char *name;
  bool block; /* blockOwnerDeletion */
};

/* An object of the dependency graph: every object with ownerReferences
 * or a garbage-collector finalizer, and every owner they name ("virtual"
 * until an informer shows it). */
struct gnode {
  char *uid;
  char *api_version, *kind, *ns, *name; /* identity */
  struct gowner *owners;
  size_t n_owners;
  struct gnode **deps; /* dependents */
  size_t n_deps, cap_deps;
  /* dependent uid -> its index in deps + 1, kept once the owner has more
   * than GC_DEP_SCAN of them (a ReplicaSet of 10,000 pods: no scan of
   * them per pod added or gone) */
  struct strmap dep_pos;
  bool virtual_;            /* known only from an ownerReference */
  bool being_deleted;       /* deletionTimestamp */
  bool deleting_dependents; /* ... and the foregroundDeletion finalizer */
};

struct gc {
  struct ctl_base del;  /* attemptToDelete (keys: uids) */
  struct ctl_base orph; /* attemptToOrphan */
  kube_controller_manager_t *m;
  struct strmap nodes;  /* uid -> struct gnode */
  struct strmap absent; /* owner coordinates known absent (values unused) */
  struct gmonitor *monitors;
  size_t n_monitors;
};

/* One watched kind. */
struct gmonitor {
  struct gc *gc;
  const kube_kind_t *kind;
  char api_version[96];
  kube_informer_t *inf;
  kube_informer_registration_t *reg;
};

struct gnode *ctl_gc_node(struct gc *gc, const char *uid);
/* The informer of a kind (NULL when not watched). */
struct gmonitor *ctl_gc_monitor(struct gc *gc, const char *api_version,
                                const char *kind);
/* A virtual delete: the object `uid` (identity `n`) does not exist. */
void ctl_gc_virtual_delete(struct gc *gc, struct gnode *n);
void ctl_gc_enqueue_delete(struct gc *gc, const char *uid);
/* Dependents whose reference to n blocks its deletion. */
size_t ctl_gc_blocking_dependents(struct gnode *n, struct gnode **out,
                                  size_t max);

/* gc-worker.c: the two queues' syncs. */
int ctl_gc_attempt_to_delete(kube_controller_t *c, const char *uid, void *arg);
int ctl_gc_attempt_to_orphan(kube_controller_t *c, const char *uid, void *arg);

#endif /* KUBE_CONTROLLER_GC_H */
