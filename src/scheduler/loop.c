/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The binding loop: node and pod informers (from a shared informer
 * factory) feed the scheduler state, pending pods go through a work queue
 * in batches, placements are assumed at once and bound through the kit's
 * writer; events go through the kit's recorder.
 *
 * Pod conversion borrows strings from the informer's cached objects: a pass
 * runs without returning to the event loop, so the cache cannot change
 * under it.
 */
#include <event2/event.h>

#include <libkube/kit.h>
#include <libkube/scheduler.h>

#include "api/api-private.h"
#include "scheduler/convert.h"
#include "client/client-private.h"
#include "core/metrics.h"
#include "core/util.h"

#define DEFAULT_MAX_BATCH 2048
#define RETRY_BASE_MS 1000
#define RETRY_MAX_MS 10000

struct kube_scheduler_loop {
  kube_loop_t *kloop;
  kube_scheduler_t *sched;
  kube_informer_factory_t *factory;
  bool own_factory;
  kube_informer_t *nodes;
  kube_informer_t *pods;
  kube_informer_registration_t *node_reg, *pod_reg;
  /* Namespace labels for namespaceSelector terms. */
  kube_informer_t *namespaces;
  kube_informer_registration_t *ns_reg;
  struct ks_ns_cache ns_cache;
  kube_writer_t *writer;
  kube_event_recorder_t *recorder;
  const kube_kind_t *pod_kind;
  kube_workqueue_t *queue;
  char **names; /* scheduler names served, NULL-terminated */
  bool record_scheduled;
  bool set_condition;
  bool running;
  /* Pods assumed on a node whose binding the informer has not shown yet:
   * key -> node name (owned). */
  struct strmap assumed;
  /* Bound pods whose node the scheduler does not know (yet): key -> node
   * name (owned). */
  struct strmap orphans;
  /* Preemption: victims being deleted (key -> preemptor key, owned) and
   * preemptors waiting for them (key -> struct nomination). */
  struct strmap victims;
  struct strmap nominated;
  kube_scheduler_loop_stats_t stats;
  /* /metrics: time per scheduling attempt (a pass's time over its pods). */
  core_hist_t m_attempt;
  /* Bindings in flight: their callback arguments, freed with the loop
   * when the writer cancels them. */
  struct binding *bindings;
};

/* A binding in flight. */
struct binding {
  kube_scheduler_loop_t *loop;
  char *key;
  char *node;
  struct binding *prev, *next;
};

/* ------------------------------------------------------------------------ */
/* Classifying pods                                                          */
/* ------------------------------------------------------------------------ */

enum pod_class { POD_IGNORED, POD_PENDING, POD_BOUND, POD_TERMINAL };

static enum pod_class classify(const kube_scheduler_loop_t *loop,
                               const kube_object_t *obj) {
  json_object *root = kube_object_json(obj);
  const char *node = kube_json_get_string(root, "spec.nodeName");
  const char *phase = kube_json_get_string(root, "status.phase");
  bool terminal =
      phase && (streq(phase, "Succeeded") || streq(phase, "Failed"));
  if (node && *node)
    return terminal ? POD_TERMINAL : POD_BOUND;
  if (terminal || kube_json_get(root, "metadata.deletionTimestamp"))
    return POD_IGNORED;
  const char *sn = kube_json_get_string(root, "spec.schedulerName");
  if (!sn || !*sn)
    sn = "default-scheduler";
  for (char **n = loop->names; *n; n++)
    if (streq(*n, sn))
      return POD_PENDING;
  return POD_IGNORED;
}

/* ------------------------------------------------------------------------ */
/* Orphans: bound pods whose node is unknown                                 */
/* ------------------------------------------------------------------------ */

static void orphan_drop(kube_scheduler_loop_t *loop, const char *key) {
  if (loop->orphans.n)
    free(strmap_remove(&loop->orphans, key));
}

static void orphan_add(kube_scheduler_loop_t *loop, const char *key,
                       const char *node) {
  char *n = strdup(node);
  void *old = NULL;
  if (!n || !strmap_put(&loop->orphans, key, n, &old)) {
    free(n);
    return;
  }
  free(old);
}

/* ------------------------------------------------------------------------ */
/* Accounting bound pods                                                     */
/* ------------------------------------------------------------------------ */

static void forget_assumed(kube_scheduler_loop_t *loop, const char *key) {
  free(strmap_remove(&loop->assumed, key));
}

static void split_key(const char *key, char *ns, size_t nslen,
                      const char **name) {
  const char *slash = strchr(key, '/');
  if (!slash) {
    snprintf(ns, nslen, "default");
    *name = key;
    return;
  }
  snprintf(ns, nslen, "%.*s", (int)(slash - key), key);
  *name = slash + 1;
}

static void unaccount(kube_scheduler_loop_t *loop, const char *key) {
  char ns[256];
  const char *name;
  split_key(key, ns, sizeof ns, &name);
  kube_scheduler_remove_pod(loop->sched, ns, name, NULL);
}

static void account_bound(kube_scheduler_loop_t *loop, const char *key,
                          const kube_object_t *obj) {
  forget_assumed(loop, key);
  struct ks_pod_conv pc;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (ks_pod_convert(obj, &pc, &err) < 0 ||
      ks_pod_resolve_ns(&pc, &loop->ns_cache, &err) < 0) {
    log_warn("scheduler: cannot account pod %s: %s", key, err.message);
    ks_pod_conv_clear(&pc);
    return;
  }
  const char *node = pc.spec.node_name;
  pc.pod.node_name = NULL;
  if (kube_scheduler_update_pod(loop->sched, &pc.pod, node, &err) < 0) {
    if (err.reason == KUBE_REASON_NOT_FOUND)
      orphan_add(loop, key, node);
    else
      log_warn("scheduler: cannot account pod %s: %s", key, err.message);
  } else {
    orphan_drop(loop, key);
  }
  ks_pod_conv_clear(&pc);
}

/* A change that may let waiting pods fit: retry them now. */
static void cluster_changed(kube_scheduler_loop_t *loop) {
  if (loop->running)
    kube_workqueue_flush_delayed(loop->queue);
}

/* Queue a pending pod.  Before the pods are synced the queue is paused:
 * no pass may run before every bound pod is accounted. */
static void enqueue_pending(kube_scheduler_loop_t *loop, const char *key) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (kube_workqueue_add(loop->queue, key, &err) < 0)
    log_warn("scheduler: cannot queue %s: %s", key, err.message);
  /* Keep the parsed object the informer holds during this event: the pass
   * needs it soon (it is dropped when the pod changes, i.e. is bound).
   * During the initial sync, pending pods may be many: parse them in the
   * pass instead. */
  if (loop->running && loop->pods)
    kube_informer_get(loop->pods, key);
}

/* ------------------------------------------------------------------------ */
/* Node informer                                                             */
/* ------------------------------------------------------------------------ */

static void adopt_orphans(kube_scheduler_loop_t *loop, const char *node) {
  /* Collect first: accounting changes the map. */
  size_t n = 0;
  char **keys = calloc(loop->orphans.n, sizeof *keys);
  if (!keys)
    return;
  STRMAP_FOREACH(&loop->orphans, i, e)
  if (streq(e->value, node) && !(keys[n++] = strdup(e->key)))
    n--;
  /* kube_informer_ref, not _get: the pods are needed for this pass
   * only, and a tree pinned for each of a node's pods would stay until
   * the pod next changes (~20 kB a pod). */
  for (size_t i = 0; i < n; i++) {
    kube_object_t *obj = kube_informer_ref(loop->pods, keys[i]);
    if (obj && classify(loop, obj) == POD_BOUND)
      account_bound(loop, keys[i], obj); /* drops the orphan on success */
    else
      orphan_drop(loop, keys[i]);
    kube_object_free(obj);
    free(keys[i]);
  }
  free(keys);
}

static void node_upsert(kube_scheduler_loop_t *loop, const kube_object_t *obj,
                        bool is_new) {
  struct ks_node_conv nc;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (ks_node_convert(obj, &nc, &err) < 0) {
    log_warn("scheduler: ignoring node %s: %s", kube_object_name(obj),
             err.message);
    return;
  }
  int rc = is_new ? kube_scheduler_add_node(loop->sched, &nc.node, &err)
                  : kube_scheduler_update_node(loop->sched, &nc.node, &err);
  if (rc < 0 && (err.reason == KUBE_REASON_ALREADY_EXISTS ||
                 err.reason == KUBE_REASON_NOT_FOUND)) {
    kube_error_clear(&err);
    rc = is_new ? kube_scheduler_update_node(loop->sched, &nc.node, &err)
                : kube_scheduler_add_node(loop->sched, &nc.node, &err);
  }
  if (rc < 0)
    log_warn("scheduler: node %s: %s", nc.node.name, err.message);
  else if (loop->orphans.n)
    adopt_orphans(loop, nc.node.name);
  ks_node_conv_clear(&nc);
}

static void node_add(const char *key, const kube_object_t *obj, void *arg) {
  kube_scheduler_loop_t *loop = arg;
  node_upsert(loop, obj, true);
  cluster_changed(loop);
}

/* Heartbeats change only conditions: skip what scheduling ignores. */
static bool node_sched_equal(const kube_object_t *a, const kube_object_t *b) {
  json_object *x = kube_object_json(a), *y = kube_object_json(b);
  static const char *const paths[] = {"metadata.labels", "spec",
                                      "status.allocatable", "status.capacity",
                                      "status.images"};
  for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
    if (!json_object_equal(kube_json_get(x, paths[i]),
                           kube_json_get(y, paths[i])))
      return false;
  return true;
}

static void node_update(const char *key, const kube_object_t *old_obj,
                        const kube_object_t *obj, void *arg) {
  kube_scheduler_loop_t *loop = arg;
  if (node_sched_equal(old_obj, obj))
    return;
  node_upsert(loop, obj, false);
  cluster_changed(loop);
}

static void orphan_pod_of(const char *key, const kube_object_t *obj,
                          void *arg) {
  kube_scheduler_loop_t *loop = arg;
  if (classify(loop, obj) == POD_BOUND)
    orphan_add(loop, key, kube_object_get_string(obj, "spec.nodeName"));
}

static void node_delete(const char *key, const kube_object_t *obj, void *arg) {
  kube_scheduler_loop_t *loop = arg;
  /* The scheduler forgets the node's pods; remember them in case the node
   * comes back (a re-registering kubelet).  The nodeName index hands out
   * the node's pods without a scan of every pod. */
  kube_scheduler_remove_node(loop->sched, key, NULL);
  if (loop->pods)
    kube_informer_index_foreach(loop->pods, KUBE_INDEX_NODE_NAME, key,
                                orphan_pod_of, loop);
}

static void pods_synced(void *arg);
static void pod_add(const char *key, const kube_object_t *obj, void *arg);
static void pod_update(const char *key, const kube_object_t *old_obj,
                       const kube_object_t *obj, void *arg);
static void pod_delete(const char *key, const kube_object_t *obj, void *arg);

static void ns_add(const char *key, const kube_object_t *obj, void *arg) {
  kube_scheduler_loop_t *loop = arg;
  ks_ns_cache_put(&loop->ns_cache, obj);
}

static void ns_update(const char *key, const kube_object_t *old_obj,
                      const kube_object_t *obj, void *arg) {
  kube_scheduler_loop_t *loop = arg;
  ks_ns_cache_put(&loop->ns_cache, obj);
}

static void ns_delete(const char *key, const kube_object_t *obj, void *arg) {
  kube_scheduler_loop_t *loop = arg;
  ks_ns_cache_del(&loop->ns_cache, kube_object_name(obj));
}

/* The namespace informer: started with the pods (its few objects are
 * synced long before a pass needs them). */
static int watch_namespaces(kube_scheduler_loop_t *loop, kube_error_t *err) {
  kube_informer_handlers_t h = {.struct_size = sizeof h,
                                .on_add = ns_add,
                                .on_update = ns_update,
                                .on_delete = ns_delete};
  kube_informer_options_t o = {.struct_size = sizeof o,
                               .path = "/api/v1/namespaces"};
  if (loop->namespaces)
    return 0;
  loop->namespaces = kube_informer_factory_informer(loop->factory, &o, err);
  if (!loop->namespaces ||
      !(loop->ns_reg =
            kube_informer_add_handlers(loop->namespaces, &h, loop, err)) ||
      (!kube_informer_running(loop->namespaces) &&
       kube_informer_start(loop->namespaces, err) < 0))
    return -1;
  return 0;
}

static void nodes_synced(void *arg) {
  kube_scheduler_loop_t *loop = arg;
  kube_informer_handlers_t h = {
      .struct_size = sizeof h,
      .on_add = pod_add,
      .on_update = pod_update,
      .on_delete = pod_delete,
      .on_synced = pods_synced,
  };
  kube_informer_options_t o = {.struct_size = sizeof o, .path = "/api/v1/pods"};
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (loop->pods)
    return; /* the node informer re-synced after a stop */
  if (watch_namespaces(loop, &err) < 0) {
    log_warn("scheduler: cannot watch namespaces (namespaceSelector terms "
             "select none): %s",
             err.message);
    kube_error_clear(&err);
  }
  loop->pods = kube_informer_factory_informer(loop->factory, &o, &err);
  if (!loop->pods ||
      kube_informer_add_index(loop->pods, KUBE_INDEX_NODE_NAME,
                              kube_index_node_name, NULL, &err) < 0 ||
      !(loop->pod_reg =
            kube_informer_add_handlers(loop->pods, &h, loop, &err)) ||
      (!kube_informer_running(loop->pods) &&
       kube_informer_start(loop->pods, &err) < 0)) {
    log_error("scheduler: cannot watch pods: %s", err.message);
    return;
  }
  log_info("scheduler: %zu nodes synced", kube_informer_count(loop->nodes));
}

/* ------------------------------------------------------------------------ */
/* Pod informer                                                              */
/* ------------------------------------------------------------------------ */

static void pod_add(const char *key, const kube_object_t *obj, void *arg) {
  kube_scheduler_loop_t *loop = arg;
  switch (classify(loop, obj)) {
  case POD_BOUND:
    account_bound(loop, key, obj);
    break;
  case POD_PENDING:
    enqueue_pending(loop, key);
    break;
  default:
    break;
  }
}

/* Did anything scheduling looks at change (not just status)? */
static bool pod_sched_equal(const kube_object_t *a, const kube_object_t *b) {
  json_object *x = kube_object_json(a), *y = kube_object_json(b);
  return json_object_equal(kube_json_get(x, "spec"),
                           kube_json_get(y, "spec")) &&
         json_object_equal(kube_json_get(x, "metadata.labels"),
                           kube_json_get(y, "metadata.labels"));
}

static void victim_gone(kube_scheduler_loop_t *loop, const char *pkey);
static void nomination_free(void *p);

static void pod_gone(kube_scheduler_loop_t *loop, const char *key) {
  if (loop->victims.n) {
    char *pkey = strmap_remove(&loop->victims, key);
    if (pkey)
      victim_gone(loop, pkey);
    free(pkey);
  }
  if (loop->nominated.n)
    nomination_free(strmap_remove(&loop->nominated, key));
  forget_assumed(loop, key);
  orphan_drop(loop, key);
  unaccount(loop, key);
  cluster_changed(loop);
}

static void pod_update(const char *key, const kube_object_t *old_obj,
                       const kube_object_t *obj, void *arg) {
  kube_scheduler_loop_t *loop = arg;
  enum pod_class was = classify(loop, old_obj), now = classify(loop, obj);
  switch (now) {
  case POD_BOUND: {
    /* Our own binding coming back: the assumption already accounts the
     * pod there (kube-scheduler's assume cache confirms it the same way). */
    const char *assumed = strmap_get(&loop->assumed, key);
    const char *node = kube_object_get_string(obj, "spec.nodeName");
    json_object *x = kube_object_json(old_obj), *y = kube_object_json(obj);
    kube_sched_resources_t r;
    if (was == POD_PENDING && assumed && node && streq(assumed, node) &&
        kube_scheduler_node_requested(loop->sched, node, &r, NULL) == 0 &&
        json_object_equal(kube_json_get(x, "metadata.labels"),
                          kube_json_get(y, "metadata.labels")) &&
        json_object_equal(kube_json_get(x, "spec.containers"),
                          kube_json_get(y, "spec.containers"))) {
      forget_assumed(loop, key);
      break;
    }
    if (was != POD_BOUND || !pod_sched_equal(old_obj, obj) || assumed)
      account_bound(loop, key, obj);
    break;
  }
  case POD_PENDING:
    if (was != POD_PENDING || !pod_sched_equal(old_obj, obj))
      enqueue_pending(loop, key);
    break;
  case POD_TERMINAL:
  case POD_IGNORED:
    if (was == POD_BOUND)
      pod_gone(loop, key);
    else if (was == POD_PENDING)
      kube_workqueue_forget(loop->queue, key);
    break;
  }
}

static void pod_delete(const char *key, const kube_object_t *obj, void *arg) {
  kube_scheduler_loop_t *loop = arg;
  kube_workqueue_forget(loop->queue, key);
  if (classify(loop, obj) == POD_BOUND || strmap_find(&loop->assumed, key))
    pod_gone(loop, key);
}

static void pods_synced(void *arg) {
  kube_scheduler_loop_t *loop = arg;
  /* Pending pods were queued as they were added; the queue waited for
   * every bound pod to be accounted. */
  loop->running = true;
  kube_workqueue_pause(loop->queue, false);
  log_info("scheduler: %zu pods synced, %zu pending",
           kube_informer_count(loop->pods), kube_workqueue_ready(loop->queue));
}

/* ------------------------------------------------------------------------ */
/* Writes: bindings, events, status                                          */
/* ------------------------------------------------------------------------ */

static void record_event(kube_scheduler_loop_t *loop, const kube_object_t *pod,
                         const char *type, const char *reason,
                         const char *action, const char *message) {
  kube_event_ref_t ref = {
      .kind = "Pod",
      .api_version = "v1",
      .namespace_ = kube_object_namespace(pod),
      .name = kube_object_name(pod),
      .uid = kube_object_uid(pod),
      .resource_version = kube_object_resource_version(pod),
  };
  kube_event_recorder_record(loop->recorder, &ref, type, reason, action,
                             message);
  loop->stats.events++;
}

static void binding_free(kube_scheduler_loop_t *loop, struct binding *b) {
  if (b->prev)
    b->prev->next = b->next;
  else
    loop->bindings = b->next;
  if (b->next)
    b->next->prev = b->prev;
  free(b->key);
  free(b->node);
  free(b);
}

static void binding_done(const kube_object_t *res, const kube_error_t *err,
                         void *arg) {
  struct binding *b = arg;
  kube_scheduler_loop_t *loop = b->loop;
  const char *key = b->key;
  loop->stats.in_flight--;
  if (!err) {
    loop->stats.bindings_ok++;
    const kube_object_t *pod = kube_informer_get(loop->pods, key);
    if (pod && loop->record_scheduled) {
      char msg[600];
      snprintf(msg, sizeof msg, "Successfully assigned %s to %s", key, b->node);
      record_event(loop, pod, "Normal", "Scheduled", "Binding", msg);
    }
    kube_workqueue_forget(loop->queue, key);
    kube_workqueue_done(loop->queue, key);
    binding_free(loop, b);
    return;
  }
  loop->stats.bindings_failed++;
  log_info("scheduler: binding %s to %s failed (%s): %s", key, b->node,
           kube_reason_string(err->reason), err->message);
  const kube_object_t *obj = kube_informer_get(loop->pods, key);
  /* Forget the assumption unless the informer already accounted the pod
   * where it really is. */
  if (strmap_find(&loop->assumed, key)) {
    forget_assumed(loop, key);
    unaccount(loop, key);
    cluster_changed(loop);
  }
  kube_workqueue_done(loop->queue, key);
  if (obj && classify(loop, obj) == POD_PENDING)
    kube_workqueue_add_rate_limited(loop->queue, key, NULL);
  binding_free(loop, b);
}

static void status_done(const kube_object_t *res, const kube_error_t *err,
                        void *arg) {
  if (err)
    log_info("scheduler: pod status write failed (%s): %s",
             kube_reason_string(err->reason), err->message);
}

/* PodScheduled=False/Unschedulable, as kube-scheduler's updatePod sets it
 * (podutil.UpdatePodCondition): written only when the condition or the
 * nominated node changes, and its lastTransitionTime moves only when its
 * status does. */
static void set_unschedulable(kube_scheduler_loop_t *loop,
                              const kube_object_t *pod, const char *message,
                              const char *nominated) {
  json_object *status = kube_json_get(kube_object_json(pod), "status");
  json_object *conds = kube_json_get(status, "conditions");
  size_t n = conds && json_object_is_type(conds, json_type_array)
                 ? json_object_array_length(conds)
                 : 0;
  char ts[40];
  kube_time_format(time(NULL), ts, sizeof ts);
  const char *since = ts;
  bool same = false;
  for (size_t i = 0; i < n; i++) {
    json_object *c = json_object_array_get_idx(conds, i);
    const char *t = kube_json_get_string(c, "type");
    const char *st = kube_json_get_string(c, "status");
    if (!t || !streq(t, "PodScheduled") || !st || !streq(st, "False"))
      continue;
    const char *lt = kube_json_get_string(c, "lastTransitionTime");
    if (lt)
      since = lt;
    const char *r = kube_json_get_string(c, "reason");
    const char *m = kube_json_get_string(c, "message");
    same = r && streq(r, "Unschedulable") && m && streq(m, message) &&
           !kube_json_get_string(c, "lastProbeTime");
  }
  const char *nnn = kube_json_get_string(status, "nominatedNodeName");
  if (same && (!nominated || (nnn && streq(nnn, nominated))))
    return;
  cleanup_strbuf kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb,
                     "{\"status\":{\"conditions\":[{\"type\":\"PodScheduled\","
                     "\"status\":\"False\",\"reason\":\"Unschedulable\","
                     "\"lastProbeTime\":null,\"lastTransitionTime\":\"%s\","
                     "\"message\":",
                     since);
  kube_strbuf_append_json_string(&sb, message);
  kube_strbuf_append(&sb, "}]");
  if (nominated) {
    kube_strbuf_append(&sb, ",\"nominatedNodeName\":");
    kube_strbuf_append_json_string(&sb, nominated);
  }
  kube_strbuf_append(&sb, "}}");
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (!sb.oom && kube_writer_patch(
                     loop->writer, loop->pod_kind, kube_object_namespace(pod),
                     kube_object_name(pod), "status", KUBE_PATCH_STRATEGIC,
                     sb.data, NULL, status_done, NULL, &err) < 0)
    log_warn("scheduler: status of %s: %s", kube_object_name(pod), err.message);
}

/* kube-scheduler records FailedScheduling at every failed attempt; the
 * recorder folds repeats into one Event (count, series) and its spam
 * filter bounds what a pod that never fits costs. */
static void report_unschedulable(kube_scheduler_loop_t *loop, const char *key,
                                 const kube_object_t *pod, const char *message,
                                 const char *nominated) {
  record_event(loop, pod, "Warning", "FailedScheduling", "Scheduling", message);
  if (loop->set_condition || nominated)
    set_unschedulable(loop, pod, message, nominated);
}

static int post_binding(kube_scheduler_loop_t *loop, const char *key,
                        const kube_object_t *pod, const char *node,
                        kube_error_t *err) {
  struct binding *b = calloc(1, sizeof *b);
  if (!b || !(b->key = strdup(key)) || !(b->node = strdup(node))) {
    if (b)
      free(b->key);
    free(b);
    return kube_make_oom(err);
  }
  b->loop = loop;
  if (kube_writer_bind(loop->writer, kube_object_namespace(pod),
                       kube_object_name(pod), kube_object_uid(pod), node, NULL,
                       binding_done, b, err) < 0) {
    free(b->key);
    free(b->node);
    free(b);
    return -1;
  }
  b->next = loop->bindings;
  if (loop->bindings)
    loop->bindings->prev = b;
  loop->bindings = b;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Preemption                                                                */
/* ------------------------------------------------------------------------ */

/* A preemptor waiting for its victims: reserved on `node` in the
 * scheduler (schedule_batch with KUBE_SCHED_BATCH_PREEMPT took the
 * nomination) and in loop->assumed; bound once `waiting` reaches 0. */
struct nomination {
  char *node;
  size_t waiting;
};

static void nomination_free(void *p) {
  struct nomination *n = p;
  if (n)
    free(n->node);
  free(n);
}

/* Give a nomination up: the reservation goes, the pod is tried again. */
static void nomination_drop(kube_scheduler_loop_t *loop, const char *pkey,
                            bool retry) {
  nomination_free(strmap_remove(&loop->nominated, pkey));
  forget_assumed(loop, pkey);
  unaccount(loop, pkey);
  const kube_object_t *obj = kube_informer_get(loop->pods, pkey);
  if (retry && obj && classify(loop, obj) == POD_PENDING)
    kube_workqueue_add_rate_limited(loop->queue, pkey, NULL);
  cluster_changed(loop);
}

/* Victim `vkey` of preemptor `pkey` is gone: bind the preemptor when it
 * was the last. */
static void victim_gone(kube_scheduler_loop_t *loop, const char *pkey) {
  struct nomination *nom = strmap_get(&loop->nominated, pkey);
  if (!nom || --nom->waiting > 0)
    return;
  const kube_object_t *obj = kube_informer_get(loop->pods, pkey);
  if (!obj || classify(loop, obj) != POD_PENDING) {
    nomination_drop(loop, pkey, false);
    return;
  }
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  char *node = strdup(nom->node);
  nomination_free(strmap_remove(&loop->nominated, pkey));
  if (!node || post_binding(loop, pkey, obj, node, &err) < 0) {
    log_warn("scheduler: binding preemptor %s: %s", pkey,
             node ? err.message : "out of memory");
    nomination_drop(loop, pkey, true);
  } else {
    loop->stats.in_flight++;
  }
  free(node);
}

/* A victim on its way out: the DisruptionTarget condition is written
 * first, then the pod is deleted (one after the other: the two writes
 * would otherwise race on the pod's resourceVersion). */
struct victim {
  kube_scheduler_loop_t *loop;
  char *key;
};

static void victim_free(struct victim *v) {
  free(v->key);
  free(v);
}

/* The victim stays: its preemptor gives its nomination up and the victim
 * is accounted again. */
static void victim_failed(kube_scheduler_loop_t *loop, const char *vkey) {
  char *pkey = strmap_remove(&loop->victims, vkey);
  if (pkey && strmap_find(&loop->nominated, pkey))
    nomination_drop(loop, pkey, true);
  free(pkey);
  const kube_object_t *obj = kube_informer_get(loop->pods, vkey);
  if (obj && classify(loop, obj) == POD_BOUND)
    account_bound(loop, vkey, obj);
}

static void victim_deleted(const kube_object_t *res, const kube_error_t *err,
                           void *arg) {
  struct victim *v = arg;
  if (err && err->reason != KUBE_REASON_NOT_FOUND) {
    log_info("scheduler: deleting preemption victim %s failed (%s): %s", v->key,
             kube_reason_string(err->reason), err->message);
    victim_failed(v->loop, v->key);
  }
  victim_free(v);
}

static void victim_marked(const kube_object_t *res, const kube_error_t *err,
                          void *arg) {
  struct victim *v = arg;
  kube_scheduler_loop_t *loop = v->loop;
  char ns[256];
  const char *name;
  split_key(v->key, ns, sizeof ns, &name);
  cleanup_error kube_error_t e = KUBE_ERROR_INIT;
  kube_client_write_options_t o = {.struct_size = sizeof o, .grace_period = -1};
  if (err && err->reason == KUBE_REASON_NOT_FOUND) {
    victim_free(v); /* gone already: the informer tells */
    return;
  }
  if (kube_writer_delete(loop->writer, loop->pod_kind, ns, name, &o,
                         victim_deleted, v, &e) < 0) {
    log_warn("scheduler: deleting preemption victim %s: %s", v->key, e.message);
    victim_failed(loop, v->key);
    victim_free(v);
  }
}

/* Send one victim on its way (DisruptionTarget, then delete with its own
 * grace period, as kube-scheduler's preemption does, with its Preempted
 * event on the victim). */
static int victim_evict(kube_scheduler_loop_t *loop, const char *vkey,
                        const kube_object_t *preemptor, const char *node) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  cleanup_strbuf kube_strbuf_t sb = KUBE_STRBUF_INIT;
  char ns[256];
  const char *name;
  split_key(vkey, ns, sizeof ns, &name);
  struct victim *v = calloc(1, sizeof *v);
  if (!v || !(v->key = strdup(vkey))) {
    free(v);
    return -1;
  }
  v->loop = loop;
  char ts[40];
  kube_time_format(time(NULL), ts, sizeof ts);
  kube_strbuf_printf(&sb,
                     "{\"status\":{\"conditions\":[{\"type\":"
                     "\"DisruptionTarget\",\"status\":\"True\",\"reason\":"
                     "\"PreemptionByScheduler\",\"lastTransitionTime\":"
                     "\"%s\",\"message\":\"default-scheduler: preempting "
                     "to accommodate a higher priority pod\"}]}}",
                     ts);
  if (sb.oom || kube_writer_patch(loop->writer, loop->pod_kind, ns, name,
                                  "status", KUBE_PATCH_STRATEGIC, sb.data, NULL,
                                  victim_marked, v, &err) < 0) {
    log_warn("scheduler: preemption victim %s: %s", vkey,
             sb.oom ? "out of memory" : err.message);
    victim_free(v);
    return -1;
  }
  loop->stats.preemption_victims++;
  const kube_object_t *vo = kube_informer_get(loop->pods, vkey);
  if (vo) {
    char msg[600];
    snprintf(msg, sizeof msg, "Preempted by pod %s on node %s",
             kube_object_uid(preemptor) ? kube_object_uid(preemptor) : "",
             node);
    record_event(loop, vo, "Normal", "Preempted", "Preempting", msg);
  }
  return 0;
}

/* schedule_batch reserved the pod on r->nominated_node and took the
 * victims out: evict them, tell the pod its nomination
 * (status.nominatedNodeName) and bind it once they are gone.  Returns -1
 * when nothing could be sent (the caller retries the pod). */
static int nominate(kube_scheduler_loop_t *loop, const char *key,
                    const kube_object_t *obj, const kube_sched_result_t *r) {
  struct nomination *nom = calloc(1, sizeof *nom);
  char *node = strdup(r->nominated_node);
  void *old = NULL;
  if (!nom || !(nom->node = strdup(r->nominated_node)) || !node ||
      !strmap_put(&loop->assumed, key, node, &old)) {
    nomination_free(nom);
    free(node);
    return -1;
  }
  free(old);
  old = NULL;
  if (!strmap_put(&loop->nominated, key, nom, &old)) {
    nomination_free(nom);
    forget_assumed(loop, key);
    return -1;
  }
  nomination_free(old);
  loop->stats.preemptions++;
  for (size_t i = 0; i < r->n_victims; i++) {
    char *pkey = strdup(key);
    old = NULL;
    if (!pkey || !strmap_put(&loop->victims, r->victims[i], pkey, &old)) {
      free(pkey);
      continue;
    }
    if (old) { /* chosen twice: the earlier preemptor no longer waits */
      victim_gone(loop, old);
      free(old);
    }
    nom->waiting++;
    if (victim_evict(loop, r->victims[i], obj, r->nominated_node) < 0) {
      free(strmap_remove(&loop->victims, r->victims[i]));
      nom->waiting--;
      const kube_object_t *vo = kube_informer_get(loop->pods, r->victims[i]);
      if (vo && classify(loop, vo) == POD_BOUND)
        account_bound(loop, r->victims[i], vo);
    }
  }
  if (!nom->waiting)
    nomination_drop(loop, key, true);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* A pass                                                                    */
/* ------------------------------------------------------------------------ */

static void place(kube_scheduler_loop_t *loop, const char *key,
                  const kube_object_t *obj, kube_sched_result_t *r) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  loop->stats.attempts++;
  if (!r->node) {
    loop->stats.unschedulable++;
    const char *msg = r->message ? r->message : "0 nodes are available";
    log_debug("scheduler: %s: %s", key, msg);
    report_unschedulable(loop, key, obj, msg, r->nominated_node);
    if (r->nominated_node && r->n_victims) {
      if (nominate(loop, key, obj, r) == 0) {
        kube_workqueue_done(loop->queue, key);
        return;
      }
      /* Out of memory: undo the reservation, keep the victims. */
      unaccount(loop, key);
      for (size_t i = 0; i < r->n_victims; i++) {
        const kube_object_t *vo = kube_informer_get(loop->pods, r->victims[i]);
        if (vo && classify(loop, vo) == POD_BOUND)
          account_bound(loop, r->victims[i], vo);
      }
    }
    /* Backoff first: done() may release the borrowed key. */
    kube_workqueue_add_rate_limited(loop->queue, key, NULL);
    kube_workqueue_done(loop->queue, key);
    return;
  }
  /* Assumed already (schedule_batch committed it). */
  char *node = strdup(r->node);
  void *old = NULL;
  if (!node || !strmap_put(&loop->assumed, key, node, &old)) {
    free(node);
    unaccount(loop, key);
    kube_workqueue_add_rate_limited(loop->queue, key, NULL);
    kube_workqueue_done(loop->queue, key);
    return;
  }
  free(old);
  if (post_binding(loop, key, obj, r->node, &err) < 0) {
    log_warn("scheduler: binding %s: %s", key, err.message);
    forget_assumed(loop, key);
    unaccount(loop, key);
    kube_workqueue_add_rate_limited(loop->queue, key, NULL);
    kube_workqueue_done(loop->queue, key);
    return;
  }
  loop->stats.in_flight++;
}

static void process(kube_workqueue_t *q, const char *const *keys, size_t n,
                    void *arg) {
  kube_scheduler_loop_t *loop = arg;
  /* Declared before any goto: the cleanup runs at every exit. */
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  struct ks_pod_conv *convs = calloc(n, sizeof *convs);
  kube_sched_pod_t *pods = calloc(n, sizeof *pods);
  const char **pkeys = calloc(n, sizeof *pkeys);
  const kube_object_t **objs = calloc(n, sizeof *objs);
  kube_sched_result_t *results = calloc(n, sizeof *results);
  size_t m = 0;
  if (!convs || !pods || !pkeys || !objs || !results) {
    for (size_t i = 0; i < n; i++) {
      kube_workqueue_add_rate_limited(q, keys[i], NULL);
      kube_workqueue_done(q, keys[i]);
    }
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    const kube_object_t *obj = kube_informer_get(loop->pods, keys[i]);
    if (!obj || classify(loop, obj) != POD_PENDING ||
        strmap_find(&loop->assumed, keys[i])) {
      kube_workqueue_done(q, keys[i]);
      continue;
    }
    if (ks_pod_convert(obj, &convs[m], &err) < 0 ||
        ks_pod_resolve_ns(&convs[m], &loop->ns_cache, &err) < 0) {
      ks_pod_conv_clear(&convs[m]);
      log_warn("scheduler: cannot schedule %s: %s", keys[i], err.message);
      report_unschedulable(loop, keys[i], obj, err.message, NULL);
      kube_error_clear(&err);
      kube_workqueue_done(q, keys[i]);
      continue;
    }
    pods[m] = convs[m].pod;
    pkeys[m] = keys[i];
    objs[m] = obj;
    m++;
  }
  if (!m)
    goto out;
  loop->stats.passes++;
  int64_t pass_t0 = kube_time_mono_ns();
  int64_t placed = kube_scheduler_schedule_batch(
      loop->sched, pods, m, KUBE_SCHED_BATCH_COMMIT | KUBE_SCHED_BATCH_PREEMPT,
      results, &err);
  if (placed < 0) {
    /* Nothing was placed: retry one by one later. */
    log_warn("scheduler: batch of %zu failed: %s", m, err.message);
    for (size_t i = 0; i < m; i++) {
      kube_workqueue_add_rate_limited(q, pkeys[i], NULL);
      kube_workqueue_done(q, pkeys[i]);
    }
    goto out;
  }
  double per_pod = (double)(kube_time_mono_ns() - pass_t0) / 1e9 / (double)m;
  for (size_t i = 0; i < m; i++) {
    core_hist_observe(&loop->m_attempt, per_pod);
    place(loop, pkeys[i], objs[i], &results[i]);
    kube_sched_result_clear(&results[i]);
  }
out:
  for (size_t i = 0; convs && i < m; i++)
    ks_pod_conv_clear(&convs[i]);
  free(convs);
  free(pods);
  free(pkeys);
  free(objs);
  free(results);
}

/* ------------------------------------------------------------------------ */
/* Public                                                                    */
/* ------------------------------------------------------------------------ */

KUBE_EXPORT kube_scheduler_loop_t *
kube_scheduler_loop_new(kube_loop_t *kloop, const struct kube_transport *tp,
                        const kube_scheduler_loop_options_t *opts,
                        kube_error_t *err) {
  kube_scheduler_loop_options_t o = {0};
  core_opts_copy(&o, opts);
  if (!kube_loop_base(kloop) || !tp || !tp->ops) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "scheduler loop needs an event loop and a transport");
    return NULL;
  }
  /* Requests go out as kube-scheduler's (a caller's own User-Agent wins). */
  kube_transport_t tp_ua = *tp;
  if (!tp_ua.user_agent)
    tp_ua.user_agent = CORE_USER_AGENT("kube-scheduler");
  tp = &tp_ua;
  kube_scheduler_loop_t *loop = calloc(1, sizeof *loop);
  if (!loop) {
    kube_make_oom(err);
    return NULL;
  }
  loop->kloop = kloop;
  loop->record_scheduled = !o.no_scheduled_events;
  loop->set_condition = !o.no_unschedulable_condition;
  loop->pod_kind = kube_kind_by_resource("", "v1", "pods");
  static const char *const default_names[] = {"default-scheduler", "libkube",
                                              NULL};
  const char *const *names =
      o.scheduler_names ? o.scheduler_names : default_names;
  size_t nn = 0;
  while (names[nn])
    nn++;
  loop->names = calloc(nn + 1, sizeof *loop->names);
  for (size_t i = 0; loop->names && i < nn; i++)
    if (!(loop->names[i] = strdup(names[i]))) {
      kube_scheduler_loop_free(loop);
      kube_make_oom(err);
      return NULL;
    }
  if (!loop->names || !loop->pod_kind) {
    kube_scheduler_loop_free(loop);
    kube_make_oom(err);
    return NULL;
  }
  loop->sched = kube_scheduler_new(o.config, err);
  if (!loop->sched) {
    kube_scheduler_loop_free(loop);
    return NULL;
  }
  kube_workqueue_options_t qo = {
      .struct_size = sizeof qo,
      .max_batch = o.max_batch ? o.max_batch : DEFAULT_MAX_BATCH,
      .base_delay_ms = RETRY_BASE_MS,
      .max_delay_ms = RETRY_MAX_MS,
  };
  loop->queue = kube_workqueue_new(kloop, &qo, process, loop, err);
  if (!loop->queue) {
    kube_scheduler_loop_free(loop);
    return NULL;
  }
  kube_workqueue_pause(loop->queue, true);
  kube_event_recorder_options_t ro = {.struct_size = sizeof ro,
                                      .component = "default-scheduler",
                                      .instance = "kubed"};
  loop->writer = kube_writer_new(kloop, tp, err);
  loop->recorder =
      loop->writer ? kube_event_recorder_new(kloop, tp, &ro, err) : NULL;
  if (!loop->recorder) {
    kube_scheduler_loop_free(loop);
    return NULL;
  }
  loop->factory = o.informers;
  if (!loop->factory) {
    loop->factory = kube_informer_factory_new(kloop, tp, err);
    loop->own_factory = true;
  }
  kube_informer_handlers_t h = {
      .struct_size = sizeof h,
      .on_add = node_add,
      .on_update = node_update,
      .on_delete = node_delete,
      .on_synced = nodes_synced,
  };
  kube_informer_options_t io = {.struct_size = sizeof io,
                                .path = "/api/v1/nodes"};
  if (!loop->factory ||
      !(loop->nodes =
            kube_informer_factory_informer(loop->factory, &io, err)) ||
      !(loop->node_reg =
            kube_informer_add_handlers(loop->nodes, &h, loop, err))) {
    kube_scheduler_loop_free(loop);
    return NULL;
  }
  return loop;
}

KUBE_EXPORT int kube_scheduler_loop_start(kube_scheduler_loop_t *loop,
                                          kube_error_t *err) {
  /* A shared factory may run the informer already. */
  if (kube_informer_running(loop->nodes))
    return 0;
  return kube_informer_start(loop->nodes, err);
}

KUBE_EXPORT bool
kube_scheduler_loop_running(const kube_scheduler_loop_t *loop) {
  return loop->running;
}

KUBE_EXPORT void
kube_scheduler_loop_get_stats(const kube_scheduler_loop_t *loop,
                              kube_scheduler_loop_stats_t *out) {
  *out = loop->stats;
  out->pending =
      kube_workqueue_ready(loop->queue) + kube_workqueue_delayed(loop->queue);
}

KUBE_EXPORT const kube_scheduler_t *
kube_scheduler_loop_scheduler(const kube_scheduler_loop_t *loop) {
  return loop->sched;
}

KUBE_EXPORT void kube_scheduler_loop_free(kube_scheduler_loop_t *loop) {
  if (!loop)
    return;
  /* No handler of ours may run again, whoever owns the informers. */
  if (loop->pods)
    kube_informer_remove_handlers(loop->pods, loop->pod_reg);
  if (loop->nodes)
    kube_informer_remove_handlers(loop->nodes, loop->node_reg);
  if (loop->namespaces && loop->ns_reg)
    kube_informer_remove_handlers(loop->namespaces, loop->ns_reg);
  /* Cancels the bindings in flight: their callbacks never run. */
  kube_writer_free(loop->writer);
  while (loop->bindings)
    binding_free(loop, loop->bindings);
  kube_event_recorder_free(loop->recorder);
  if (loop->own_factory)
    kube_informer_factory_free(loop->factory);
  kube_workqueue_free(loop->queue);
  kube_scheduler_free(loop->sched);
  strmap_clear(&loop->assumed, free);
  strmap_clear(&loop->orphans, free);
  strmap_clear(&loop->victims, free);
  strmap_clear(&loop->nominated, nomination_free);
  ks_ns_cache_clear(&loop->ns_cache);
  for (char **n = loop->names; n && *n; n++)
    free(*n);
  free(loop->names);
  free(loop);
}

KUBE_EXPORT int
kube_scheduler_loop_metrics_write(const kube_scheduler_loop_t *loop,
                                  kube_strbuf_t *out) {
  const kube_scheduler_loop_stats_t *st = &loop->stats;
  uint64_t scheduled = st->attempts - st->unschedulable;
  kube_strbuf_printf(
      out,
      "# HELP scheduler_schedule_attempts_total Attempts to schedule pods, "
      "by result.\n"
      "# TYPE scheduler_schedule_attempts_total counter\n"
      "scheduler_schedule_attempts_total{result=\"scheduled\"} %llu\n"
      "scheduler_schedule_attempts_total{result=\"unschedulable\"} %llu\n"
      "# HELP scheduler_scheduling_attempt_duration_seconds Scheduling "
      "attempt latency (a batch's time shared by its pods).\n"
      "# TYPE scheduler_scheduling_attempt_duration_seconds histogram\n",
      (unsigned long long)scheduled, (unsigned long long)st->unschedulable);
  core_hist_write(out, "scheduler_scheduling_attempt_duration_seconds", "",
                  &loop->m_attempt);
  kube_strbuf_printf(
      out,
      "# HELP scheduler_pending_pods Pods waiting, by queue.\n"
      "# TYPE scheduler_pending_pods gauge\n"
      "scheduler_pending_pods{queue=\"active\"} %zu\n"
      "scheduler_pending_pods{queue=\"backoff\"} %zu\n"
      "scheduler_pending_pods{queue=\"nominated\"} %zu\n"
      "# HELP scheduler_binding_total Binding requests, by result.\n"
      "# TYPE scheduler_binding_total counter\n"
      "scheduler_binding_total{result=\"ok\"} %llu\n"
      "scheduler_binding_total{result=\"error\"} %llu\n"
      "# HELP scheduler_bindings_in_flight Bindings not answered yet.\n"
      "# TYPE scheduler_bindings_in_flight gauge\n"
      "scheduler_bindings_in_flight %zu\n"
      "# HELP scheduler_preemption_attempts_total Attempts that nominated a "
      "node and evicted victims.\n"
      "# TYPE scheduler_preemption_attempts_total counter\n"
      "scheduler_preemption_attempts_total %llu\n"
      "# HELP scheduler_preemption_victims_total Pods evicted to make "
      "room.\n"
      "# TYPE scheduler_preemption_victims_total counter\n"
      "scheduler_preemption_victims_total %llu\n",
      kube_workqueue_ready(loop->queue), kube_workqueue_delayed(loop->queue),
      loop->nominated.n, (unsigned long long)st->bindings_ok,
      (unsigned long long)st->bindings_failed, st->in_flight,
      (unsigned long long)st->preemptions,
      (unsigned long long)st->preemption_victims);
  return out->oom ? -1 : 0;
}
