/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The binding loop: node and pod informers feed the scheduler state,
 * pending pods go through a work queue in batches, placements are assumed
 * at once and bound with POST pods/NAME/binding.
 *
 * Pod conversion borrows strings from the informer's cached objects: a pass
 * runs without returning to the event loop, so the cache cannot change
 * under it.
 */
#include <event2/event.h>

#include <libkube/client.h>
#include <libkube/scheduler.h>

#include "api/api-private.h"
#include "scheduler/convert.h"
#include "client/client-private.h"
#include "core/util.h"

#define DEFAULT_MAX_BATCH 2048
#define RETRY_BASE_MS 1000
#define RETRY_MAX_MS 10000
/* The same FailedScheduling message is not repeated within this time. */
#define EVENT_REPEAT_NS (60ll * 1000000000ll)

struct last_event {
  char *message;
  int64_t at_ns;
};

struct kube_scheduler_loop {
  struct event_base *base;
  kube_loop_t *kloop;
  kube_transport_t tp;
  kube_scheduler_t *sched;
  kube_informer_t *nodes;
  kube_informer_t *pods;
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
  /* key -> struct last_event, for unschedulable pods. */
  struct strmap last_events;
  kube_scheduler_loop_stats_t stats;
  /* Outstanding request contexts, so free can cancel them. */
  struct pending_call *calls;
};

/* A binding (or event/status write) in flight. */
struct pending_call {
  kube_scheduler_loop_t *loop;
  kube_transport_call_t *call;
  char *key;  /* pod key, for bindings */
  char *node; /* bindings */
  bool binding;
  struct pending_call *prev, *next;
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
  if (ks_pod_convert(obj, &pc, &err) < 0) {
    log_warn("scheduler: cannot account pod %s: %s", key, err.message);
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

static void enqueue_pending(kube_scheduler_loop_t *loop, const char *key) {
  if (!loop->running)
    return;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (kube_workqueue_add(loop->queue, key, &err) < 0)
    log_warn("scheduler: cannot queue %s: %s", key, err.message);
  /* Keep the parsed object the informer holds during this event: the pass
   * needs it soon (it is dropped when the pod changes, i.e. is bound). */
  if (loop->pods)
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
  for (size_t i = 0; i < n; i++) {
    const kube_object_t *obj = kube_informer_get(loop->pods, keys[i]);
    if (obj && classify(loop, obj) == POD_BOUND)
      account_bound(loop, keys[i], obj); /* drops the orphan on success */
    else
      orphan_drop(loop, keys[i]);
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

struct node_gone_ctx {
  kube_scheduler_loop_t *loop;
  const char *node;
};

static void orphan_pods_of(const char *key, const kube_object_t *obj,
                           void *arg) {
  struct node_gone_ctx *c = arg;
  const char *n = kube_object_get_string(obj, "spec.nodeName");
  if (n && streq(n, c->node) && classify(c->loop, obj) == POD_BOUND)
    orphan_add(c->loop, key, n);
}

static void node_delete(const char *key, const kube_object_t *obj, void *arg) {
  kube_scheduler_loop_t *loop = arg;
  /* The scheduler forgets the node's pods; remember them in case the node
   * comes back (a re-registering kubelet). */
  kube_scheduler_remove_node(loop->sched, key, NULL);
  struct node_gone_ctx c = {loop, key};
  if (loop->pods)
    kube_informer_foreach(loop->pods, orphan_pods_of, &c);
}

static void pods_synced(void *arg);
static void pod_add(const char *key, const kube_object_t *obj, void *arg);
static void pod_update(const char *key, const kube_object_t *old_obj,
                       const kube_object_t *obj, void *arg);
static void pod_delete(const char *key, const kube_object_t *obj, void *arg);

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
  loop->pods = kube_informer_new(loop->kloop, &loop->tp, &o, &h, loop, &err);
  if (!loop->pods || kube_informer_start(loop->pods, &err) < 0) {
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

static void pod_gone(kube_scheduler_loop_t *loop, const char *key) {
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
  struct last_event *le = strmap_remove(&loop->last_events, key);
  if (le) {
    free(le->message);
    free(le);
  }
  if (classify(loop, obj) == POD_BOUND || strmap_find(&loop->assumed, key))
    pod_gone(loop, key);
}

static void queue_pending(const char *key, const kube_object_t *obj,
                          void *arg) {
  kube_scheduler_loop_t *loop = arg;
  if (classify(loop, obj) == POD_PENDING)
    enqueue_pending(loop, key);
}

static void pods_synced(void *arg) {
  kube_scheduler_loop_t *loop = arg;
  loop->running = true;
  kube_informer_foreach(loop->pods, queue_pending, loop);
  log_info("scheduler: %zu pods synced, %zu pending",
           kube_informer_count(loop->pods), kube_workqueue_ready(loop->queue));
}

/* ------------------------------------------------------------------------ */
/* Requests: bindings, events, status                                        */
/* ------------------------------------------------------------------------ */

static void pending_unlink(kube_scheduler_loop_t *loop,
                           struct pending_call *pc) {
  if (pc->prev)
    pc->prev->next = pc->next;
  else
    loop->calls = pc->next;
  if (pc->next)
    pc->next->prev = pc->prev;
  free(pc->key);
  free(pc->node);
  free(pc);
}

static void write_event(kube_scheduler_loop_t *loop, const kube_object_t *pod,
                        const char *type, const char *reason,
                        const char *message);

static void binding_done(kube_scheduler_loop_t *loop, struct pending_call *pc,
                         int status, const char *data, size_t len) {
  const char *key = pc->key;
  loop->stats.in_flight--;
  if (status == 201 || status == 200) {
    loop->stats.bindings_ok++;
    const kube_object_t *pod = kube_informer_get(loop->pods, key);
    if (pod && loop->record_scheduled) {
      char msg[600];
      snprintf(msg, sizeof msg, "Successfully assigned %s to %s", key,
               pc->node);
      write_event(loop, pod, "Normal", "Scheduled", msg);
    }
    kube_workqueue_forget(loop->queue, key);
    kube_workqueue_done(loop->queue, key);
    return;
  }
  loop->stats.bindings_failed++;
  log_info("scheduler: binding %s to %s failed (%d): %.*s", key, pc->node,
           status, (int)(len > 300 ? 300 : len), data ? data : "");
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
}

static void call_reply(int status, const char *ctype, const char *data,
                       size_t len, bool done, void *arg) {
  struct pending_call *pc = arg;
  if (!done)
    return; /* plain replies only */
  kube_scheduler_loop_t *loop = pc->loop;
  pc->call = NULL;
  if (pc->binding)
    binding_done(loop, pc, status, data, len);
  else if (status >= 300)
    log_info("scheduler: write answered %d: %.*s", status,
             (int)(len > 300 ? 300 : len), data ? data : "");
  pending_unlink(loop, pc);
}

static int send_request(kube_scheduler_loop_t *loop, const char *method,
                        const char *path, const char *ctype, const char *body,
                        size_t body_len, const char *key, const char *node,
                        kube_error_t *err) {
  struct pending_call *pc = calloc(1, sizeof *pc);
  if (!pc)
    return kube_make_oom(err);
  pc->loop = loop;
  pc->binding = node != NULL;
  pc->key = key ? strdup(key) : NULL;
  pc->node = node ? strdup(node) : NULL;
  if ((key && !pc->key) || (node && !pc->node)) {
    free(pc->key);
    free(pc->node);
    free(pc);
    return kube_make_oom(err);
  }
  kube_transport_request_t req = {
      .struct_size = sizeof req,
      .method = method,
      .path = path,
      .content_type = ctype,
      .body = body,
      .body_len = body_len,
  };
  pc->call = kube_transport_request(&loop->tp, &req, call_reply, pc, err);
  if (!pc->call) {
    free(pc->key);
    free(pc->node);
    free(pc);
    return -1;
  }
  pc->next = loop->calls;
  if (loop->calls)
    loop->calls->prev = pc;
  loop->calls = pc;
  return 0;
}

static void write_event(kube_scheduler_loop_t *loop, const kube_object_t *pod,
                        const char *type, const char *reason,
                        const char *message) {
  const char *ns = kube_object_namespace(pod), *name = kube_object_name(pod);
  const char *uid = kube_object_uid(pod);
  const char *rv = kube_object_resource_version(pod);
  if (!ns || !*ns)
    ns = "default";
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  char ts[40], micro[40];
  kube_time_format(now.tv_sec, ts, sizeof ts);
  kube_time_format_micro(&now, micro, sizeof micro);
  cleanup_strbuf kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb,
                     "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":"
                     "{\"name\":\"%.200s.%016llx\",\"namespace\":",
                     name,
                     (unsigned long long)now.tv_sec * 1000000000ull +
                         (unsigned long long)now.tv_nsec);
  kube_strbuf_append_json_string(&sb, ns);
  kube_strbuf_append(&sb, "},\"involvedObject\":{\"kind\":\"Pod\","
                          "\"apiVersion\":\"v1\",\"namespace\":");
  kube_strbuf_append_json_string(&sb, ns);
  kube_strbuf_append(&sb, ",\"name\":");
  kube_strbuf_append_json_string(&sb, name);
  if (uid) {
    kube_strbuf_append(&sb, ",\"uid\":");
    kube_strbuf_append_json_string(&sb, uid);
  }
  if (rv) {
    kube_strbuf_append(&sb, ",\"resourceVersion\":");
    kube_strbuf_append_json_string(&sb, rv);
  }
  kube_strbuf_printf(&sb, "},\"reason\":\"%s\",\"message\":", reason);
  kube_strbuf_append_json_string(&sb, message);
  kube_strbuf_printf(&sb,
                     ",\"type\":\"%s\",\"source\":{\"component\":"
                     "\"default-scheduler\"},\"firstTimestamp\":\"%s\","
                     "\"lastTimestamp\":\"%s\",\"eventTime\":\"%s\","
                     "\"count\":1,\"action\":\"%s\",\"reportingComponent\":"
                     "\"default-scheduler\",\"reportingInstance\":\"kubed\"}",
                     type, ts, ts, micro,
                     streq(reason, "Scheduled") ? "Binding" : "Scheduling");
  if (sb.oom)
    return;
  char path[320];
  snprintf(path, sizeof path, "/api/v1/namespaces/%s/events", ns);
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (send_request(loop, "POST", path, NULL, sb.data, sb.len, NULL, NULL,
                   &err) < 0)
    log_warn("scheduler: event for %s/%s: %s", ns, name, err.message);
  else
    loop->stats.events++;
}

/* PodScheduled=False/Unschedulable, as kube-scheduler sets it; only when it
 * is not already there with the same message. */
static void set_unschedulable(kube_scheduler_loop_t *loop,
                              const kube_object_t *pod, const char *message) {
  json_object *conds =
      kube_json_get(kube_object_json(pod), "status.conditions");
  size_t n = conds && json_object_is_type(conds, json_type_array)
                 ? json_object_array_length(conds)
                 : 0;
  for (size_t i = 0; i < n; i++) {
    json_object *c = json_object_array_get_idx(conds, i);
    const char *t = kube_json_get_string(c, "type");
    const char *st = kube_json_get_string(c, "status");
    const char *m = kube_json_get_string(c, "message");
    if (t && streq(t, "PodScheduled") && st && streq(st, "False") && m &&
        streq(m, message))
      return;
  }
  char ts[40];
  kube_time_format(time(NULL), ts, sizeof ts);
  cleanup_strbuf kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb,
                     "{\"status\":{\"conditions\":[{\"type\":\"PodScheduled\","
                     "\"status\":\"False\",\"reason\":\"Unschedulable\","
                     "\"lastProbeTime\":null,\"lastTransitionTime\":\"%s\","
                     "\"message\":",
                     ts);
  kube_strbuf_append_json_string(&sb, message);
  kube_strbuf_append(&sb, "}]}}");
  const char *ns = kube_object_namespace(pod);
  char path[600];
  snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s/status",
           ns && *ns ? ns : "default", kube_object_name(pod));
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (!sb.oom && send_request(loop, "PATCH", path,
                              "application/strategic-merge-patch+json", sb.data,
                              sb.len, NULL, NULL, &err) < 0)
    log_warn("scheduler: status of %s: %s", kube_object_name(pod), err.message);
}

static void report_unschedulable(kube_scheduler_loop_t *loop, const char *key,
                                 const kube_object_t *pod,
                                 const char *message) {
  int64_t now = kube_time_mono_ns();
  struct last_event *le = strmap_get(&loop->last_events, key);
  if (le && le->message && streq(le->message, message) &&
      now - le->at_ns < EVENT_REPEAT_NS)
    return;
  if (!le) {
    le = calloc(1, sizeof *le);
    if (!le || !strmap_put(&loop->last_events, key, le, NULL)) {
      free(le);
      le = NULL;
    }
  }
  if (le) {
    free(le->message);
    le->message = strdup(message);
    le->at_ns = now;
  }
  write_event(loop, pod, "Warning", "FailedScheduling", message);
  if (loop->set_condition)
    set_unschedulable(loop, pod, message);
}

static int post_binding(kube_scheduler_loop_t *loop, const char *key,
                        const kube_object_t *pod, const char *node,
                        kube_error_t *err) {
  const char *ns = kube_object_namespace(pod), *name = kube_object_name(pod);
  const char *uid = kube_object_uid(pod);
  if (!ns || !*ns)
    ns = "default";
  cleanup_strbuf kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "{\"apiVersion\":\"v1\",\"kind\":\"Binding\","
                          "\"metadata\":{\"name\":");
  kube_strbuf_append_json_string(&sb, name);
  kube_strbuf_append(&sb, ",\"namespace\":");
  kube_strbuf_append_json_string(&sb, ns);
  if (uid) {
    kube_strbuf_append(&sb, ",\"uid\":");
    kube_strbuf_append_json_string(&sb, uid);
  }
  kube_strbuf_append(&sb, "},\"target\":{\"apiVersion\":\"v1\",\"kind\":"
                          "\"Node\",\"name\":");
  kube_strbuf_append_json_string(&sb, node);
  kube_strbuf_append(&sb, "}}");
  if (sb.oom)
    return kube_make_oom(err);
  char path[600];
  snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s/binding", ns,
           name);
  return send_request(loop, "POST", path, NULL, sb.data, sb.len, key, node,
                      err);
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
    report_unschedulable(loop, key, obj, msg);
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
    if (ks_pod_convert(obj, &convs[m], &err) < 0) {
      log_warn("scheduler: cannot schedule %s: %s", keys[i], err.message);
      report_unschedulable(loop, keys[i], obj, err.message);
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
  int64_t placed = kube_scheduler_schedule_batch(
      loop->sched, pods, m, KUBE_SCHED_BATCH_COMMIT, results, &err);
  if (placed < 0) {
    /* Nothing was placed: retry one by one later. */
    log_warn("scheduler: batch of %zu failed: %s", m, err.message);
    for (size_t i = 0; i < m; i++) {
      kube_workqueue_add_rate_limited(q, pkeys[i], NULL);
      kube_workqueue_done(q, pkeys[i]);
    }
    goto out;
  }
  for (size_t i = 0; i < m; i++) {
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

KUBE_EXPORT kube_scheduler_loop_t *kube_scheduler_loop_new(
    kube_loop_t *kloop, const struct kube_transport *tp,
    const kube_scheduler_loop_options_t *opts, kube_error_t *err) {
  struct event_base *base = kube_loop_base(kloop);
  if (!base || !tp || !tp->ops) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "scheduler loop needs an event loop and a transport");
    return NULL;
  }
  kube_scheduler_loop_options_t o = {0};
  if (opts)
    memcpy(&o, opts,
           opts->struct_size && opts->struct_size < sizeof o ? opts->struct_size
                                                             : sizeof o);
  kube_scheduler_loop_t *loop = calloc(1, sizeof *loop);
  if (!loop) {
    kube_make_oom(err);
    return NULL;
  }
  loop->base = base;
  loop->kloop = kloop;
  loop->tp = *tp;
  loop->record_scheduled = !o.no_scheduled_events;
  loop->set_condition = !o.no_unschedulable_condition;
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
  if (!loop->names) {
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
  kube_informer_handlers_t h = {
      .struct_size = sizeof h,
      .on_add = node_add,
      .on_update = node_update,
      .on_delete = node_delete,
      .on_synced = nodes_synced,
  };
  kube_informer_options_t io = {.struct_size = sizeof io,
                                .path = "/api/v1/nodes"};
  loop->nodes = kube_informer_new(kloop, tp, &io, &h, loop, err);
  if (!loop->nodes) {
    kube_scheduler_loop_free(loop);
    return NULL;
  }
  return loop;
}

KUBE_EXPORT int kube_scheduler_loop_start(kube_scheduler_loop_t *loop,
                                          kube_error_t *err) {
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

static void free_last_event(void *v) {
  struct last_event *le = v;
  if (le)
    free(le->message);
  free(le);
}

KUBE_EXPORT void kube_scheduler_loop_free(kube_scheduler_loop_t *loop) {
  if (!loop)
    return;
  while (loop->calls) {
    struct pending_call *pc = loop->calls;
    kube_transport_cancel(&loop->tp, pc->call);
    pending_unlink(loop, pc);
  }
  kube_informer_free(loop->pods);
  kube_informer_free(loop->nodes);
  kube_workqueue_free(loop->queue);
  kube_scheduler_free(loop->sched);
  strmap_clear(&loop->assumed, free);
  strmap_clear(&loop->last_events, free_last_event);
  strmap_clear(&loop->orphans, free);
  for (char **n = loop->names; n && *n; n++)
    free(*n);
  free(loop->names);
  free(loop);
}
