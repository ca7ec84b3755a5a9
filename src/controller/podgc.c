/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pod garbage collector (kube-controller-manager's podgc,
 * pkg/controller/podgc): it force-deletes (grace period 0, the pod's uid
 * as precondition) the pods no node agent will ever finish deleting:
 *
 *  - orphaned pods: bound to a node that no longer exists, once the node
 *    stayed absent for the quarantine (40 s); they first get phase Failed
 *    and condition DisruptionTarget (reason DeletionByPodGC);
 *  - terminating pods never bound to a node;
 *  - terminating pods on a node that is not Ready and carries the
 *    node.kubernetes.io/out-of-service taint.
 *
 * A pod not yet finished gets phase Failed before the delete, as upstream.
 */
#include "controller/internal.h"

#define PODGC_QUARANTINE_S 40
#define OUT_OF_SERVICE_TAINT "node.kubernetes.io/out-of-service"

struct podgc {
  struct ctl_base b;
  const kube_kind_t *pkind;
  kube_informer_t *nodes, *pods;
  struct ctl_podstore *ps;
  /* pod key -> when its node was first seen missing (int64_t ns, owned) */
  struct strmap missing;
};

static void deleted(struct ctl_op *op, const kube_object_t *res,
                    const kube_error_t *err) {
  /* gone already, or another pod took the name: nothing to do */
  if (err && err->reason != KUBE_REASON_NOT_FOUND &&
      err->reason != KUBE_REASON_CONFLICT && op->sync)
    op->sync->result = -1;
}

static void failed_written(struct ctl_op *op, const kube_object_t *res,
                           const kube_error_t *err) {
  if (err && err->reason != KUBE_REASON_NOT_FOUND && op->sync)
    op->sync->result = -1;
}

struct gc_data {
  char *ns, *name, *uid;
};

static void gc_data_free(void *v) {
  struct gc_data *d = v;
  if (!d)
    return;
  free(d->ns);
  free(d->name);
  free(d->uid);
  free(d);
}

/* Second step: the forceful delete. */
static void delete_step(struct ctl_sync *s) {
  struct podgc *g = (struct podgc *)s->b;
  struct gc_data *d = s->data;
  if (s->result < 0)
    return;
  kube_client_write_options_t wo = {
      .struct_size = sizeof wo, .grace_period = 0, .precondition_uid = d->uid};
  struct ctl_op *op = ctl_op_new(&g->b, s, deleted, d->name);
  if (!op ||
      ctl_op_started(op, kube_writer_delete(g->b.w, g->pkind, d->ns, d->name,
                                            &wo, ctl_op_cb, op, NULL)) < 0)
    s->result = -1;
}

/* markFailedAndDeletePodWithCondition: phase Failed (and the condition,
 * when `reason` is given) unless the pod finished, then the delete. */
static int mark_failed_and_delete(struct podgc *g, const char *key,
                                  json_object *pod, const char *reason,
                                  const char *message) {
  if (!pod)
    return 0; /* gone from the cache meanwhile: its deletion is queued */
  json_object *meta = cj_obj(pod, "metadata");
  const char *ns = cj_str0(meta, "namespace"), *name = cj_str0(meta, "name");
  struct ctl_sync *s = ctl_sync_new(&g->b, key);
  struct gc_data *d = s ? calloc(1, sizeof *d) : NULL;
  if (!d) {
    ctl_sync_finish(s);
    return -1;
  }
  d->ns = strdup(ns);
  d->name = strdup(name);
  d->uid = strdup(cj_str0(meta, "uid"));
  s->data = d;
  s->free_data = gc_data_free;
  if (!d->ns || !d->name || !d->uid) {
    s->result = -1;
    return ctl_sync_finish(s);
  }
  s->drained = delete_step;
  const char *phase = cj_str0(cj_obj(pod, "status"), "phase");
  if (streq(phase, "Succeeded") || streq(phase, "Failed"))
    return ctl_sync_finish(s);
  json_object *patch = json_object_new_object();
  json_object *st = ctl_json_ensure(patch, "status");
  cj_set(st, "phase", json_object_new_string("Failed"));
  if (reason)
    cj_set(st, "conditions", ctl_disruption_conditions(pod, reason, message));
  struct ctl_op *op = ctl_op_new(&g->b, s, failed_written, key);
  if (!op ||
      ctl_op_started(
          op, kube_writer_patch(
                  g->b.w, g->pkind, ns, name, "status", KUBE_PATCH_MERGE,
                  json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN),
                  NULL, ctl_op_cb, op, NULL)) < 0)
    s->result = -1;
  json_object_put(patch);
  return ctl_sync_finish(s);
}

static bool node_ready(json_object *node) {
  json_object *conds = cj_arr(cj_obj(node, "status"), "conditions");
  for (size_t i = 0; i < cj_len(conds); i++)
    if (streq(cj_str0(cj_at(conds, i), "type"), "Ready"))
      return streq(cj_str0(cj_at(conds, i), "status"), "True");
  return false;
}

static bool out_of_service(json_object *node) {
  json_object *taints = cj_arr(cj_obj(node, "spec"), "taints");
  for (size_t i = 0; i < cj_len(taints); i++)
    if (streq(cj_str0(cj_at(taints, i), "key"), OUT_OF_SERVICE_TAINT) &&
        streq(cj_str0(cj_at(taints, i), "effect"), "NoExecute"))
      return true;
  return false;
}

static void forget(struct podgc *g, const char *key) {
  free(strmap_remove(&g->missing, key));
}

/* The pod's object, for the writes (parsed from the informer's text: the
 * checks before read the pod store's summary). */
static json_object *pod_json(struct podgc *g, const char *key) {
  const kube_object_t *obj = kube_informer_get(g->pods, key);
  return obj ? kube_object_json(obj) : NULL;
}

static int gc_sync(kube_controller_t *c, const char *key, void *arg) {
  struct podgc *g = arg;
  const struct ctl_pod *p = ctl_podstore_get(g->ps, key);
  if (!p) {
    forget(g, key);
    return 0;
  }
  const char *node = p->node;
  bool terminating = p->deleting;
  if (!node || !*node) {
    forget(g, key);
    if (!terminating)
      return 0;
    log_info("podgc: deleting unscheduled terminating pod %s", key);
    return mark_failed_and_delete(g, key, pod_json(g, key), NULL, NULL);
  }
  if (!kube_informer_has(g->nodes, node)) {
    /* gcOrphaned: the node must stay missing for the quarantine */
    int64_t now = ctl_now_ns();
    int64_t *first = strmap_get(&g->missing, key);
    if (!first) {
      first = malloc(sizeof *first);
      if (!first)
        return -1;
      *first = now;
      if (!strmap_put(&g->missing, key, first, NULL)) {
        free(first);
        return -1;
      }
    }
    int64_t at = *first + (int64_t)PODGC_QUARANTINE_S * 1000000000;
    if (at > now) {
      kube_controller_enqueue_after(c, key, (at - now) / 1000000 + 1, NULL);
      return 0;
    }
    forget(g, key);
    log_info("podgc: found orphaned pod %s assigned to the node %s; deleting",
             key, node);
    return mark_failed_and_delete(g, key, pod_json(g, key), "DeletionByPodGC",
                                  "PodGC: node no longer exists");
  }
  forget(g, key);
  if (!terminating)
    return 0; /* a pod bound to a node that is there: the common case */
  const kube_object_t *nobj = kube_informer_get(g->nodes, node);
  json_object *n = nobj ? kube_object_json(nobj) : NULL;
  if (n && !node_ready(n) && out_of_service(n)) {
    log_info("podgc: deleting terminating pod %s on out-of-service node %s",
             key, node);
    return mark_failed_and_delete(g, key, pod_json(g, key), "DeletionByPodGC",
                                  "PodGC: node no longer exists");
  }
  return 0;
}

/* A node changed or went: look at its pods (heartbeats of a node in
 * service change nothing). */
static void node_map(kube_controller_t *c, const char *key,
                     const kube_object_t *obj, void *arg) {
  struct podgc *g = arg;
  const kube_object_t *cur = kube_informer_get(g->nodes, key);
  if (cur && !out_of_service(kube_object_json(cur)))
    return;
  size_t n = 0;
  const char **keys =
      kube_informer_index_keys(g->pods, KUBE_INDEX_NODE_NAME, key, &n, NULL);
  for (size_t i = 0; keys && i < n; i++)
    kube_controller_enqueue(c, keys[i], NULL);
  free(keys);
}

static void pod_changed(const struct ctl_pod *old, const struct ctl_pod *cur,
                        void *arg) {
  struct podgc *g = arg;
  if (cur && ((cur->deleting && (!old || !old->deleting)) ||
              (cur->node && (!old || !old->node))))
    kube_controller_enqueue(g->b.c, cur->key, NULL);
  else if (!cur && old)
    kube_controller_enqueue(g->b.c, old->key, NULL);
}

static void gc_free(void *impl) {
  struct podgc *g = impl;
  if (!g)
    return;
  ctl_podstore_unlisten(g->ps, g);
  ctl_base_clear(&g->b);
  strmap_clear(&g->missing, free);
  free(g);
}

static void *gc_create(kube_controller_manager_t *m, kube_error_t *err) {
  struct podgc *g = calloc(1, sizeof *g);
  if (!g) {
    kube_make_oom(err);
    return NULL;
  }
  g->pkind = kube_kind_by_resource("", "v1", "pods");
  if (!g->pkind || ctl_base_init(&g->b, m, "podgc",
                                 "pod-garbage-collector-controller", gc_sync,
                                 g, err) < 0) {
    free(g);
    return NULL;
  }
  if (!(g->nodes = ctl_manager_informer(m, "/api/v1/nodes", err)) ||
      !(g->ps = ctl_manager_pods(m, err)) ||
      !(g->pods = ctl_podstore_informer(g->ps)) ||
      kube_informer_add_index(g->pods, KUBE_INDEX_NODE_NAME,
                              kube_index_node_name, NULL, err) < 0 ||
      kube_controller_watch(g->b.c, g->nodes, node_map, g, err) < 0 ||
      kube_controller_watch(g->b.c, g->pods, ctl_map_nothing, NULL, err) < 0 ||
      ctl_podstore_listen(g->ps, pod_changed, NULL, g, err) < 0) {
    gc_free(g);
    return NULL;
  }
  return g;
}

static int gc_start(void *impl, kube_error_t *err) {
  return kube_controller_start(((struct podgc *)impl)->b.c, err);
}

static kube_controller_t *gc_controller(void *impl) {
  return ((struct podgc *)impl)->b.c;
}

const struct ctl_impl_ops ctl_podgc_ops = {
    .create = gc_create,
    .start = gc_start,
    .free = gc_free,
    .controller = gc_controller,
};
