/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node lifecycle controller (kube-controller-manager's
 * node-lifecycle-controller): watches each Node's heartbeats (its Lease in
 * kube-node-lease and its Ready condition's lastHeartbeatTime) and, when
 * neither changed for the grace period (--node-monitor-grace-period, 40 s),
 * sets the Node's conditions to Unknown with the reasons and messages
 * kube-controller-manager writes.  From the Ready condition it keeps the
 * node.kubernetes.io/not-ready and unreachable NoExecute taints (the taint
 * eviction controller then evicts the pods that do not tolerate them) and
 * the NoSchedule taints of TaintNodesByCondition; the pods of a node that
 * is not ready are marked not ready.
 *
 * Heartbeats are timed on this process's clock from the moment a change
 * was seen (client-go's probeTimestamp), so clock skew between nodes and
 * the control plane does not matter and a restarted controller gives
 * every node a fresh grace period.
 *
 * When every node is not ready the controller assumes the control plane
 * lost the nodes rather than the nodes died ("master disruption mode"):
 * it removes the NoExecute taints and evicts nothing until a node is
 * ready again.  Zones are not told apart and the tainting is not rate
 * limited (kube-controller-manager's --node-eviction-rate).
 */
#include "controller/internal.h"

struct probe {
  int64_t probe_ns; /* when a heartbeat change was last seen */
  char *renew;      /* the Lease's spec.renewTime seen then */
  char *heartbeat;  /* the Ready condition's lastHeartbeatTime */
  char ready[8];    /* "True" | "False" | "Unknown" | "" (no condition) */
  bool registered;
};

struct nlc {
  struct ctl_base b;
  const kube_kind_t *nkind, *pkind;
  kube_informer_t *nodes, *leases, *pods;
  struct ctl_podstore *ps;
  struct strmap probes; /* node name -> struct probe */
  size_t not_ready;     /* probes whose ready is not "True" */
  bool disrupted;
  int64_t grace_ns, period_ms;
};

static void probe_free(void *v) {
  struct probe *p = v;
  if (!p)
    return;
  free(p->renew);
  free(p->heartbeat);
  free(p);
}

static bool str_eq0(const char *a, const char *b) {
  return streq(a ? a : "", b ? b : "");
}

static void set_str(char **dst, const char *s) {
  free(*dst);
  *dst = s ? strdup(s) : NULL;
}

/* ------------------------------------------------------------------------ */
/* Conditions                                                                */
/* ------------------------------------------------------------------------ */

/* tryUpdateNodeHealth once the grace period passed: Ready and the
 * pressure conditions become Unknown.  Returns the new conditions (owned)
 * or NULL when nothing changes. */
static json_object *unknown_conditions(json_object *node) {
  static const char *const types[] = {"Ready", "MemoryPressure", "DiskPressure",
                                      "PIDPressure"};
  json_object *conds =
      ctl_json_copy(cj_arr(cj_obj(node, "status"), "conditions"));
  if (!conds)
    conds = json_object_new_array();
  char now[40];
  ctl_now_rfc3339(now, sizeof now);
  const char *created = cj_str0(cj_obj(node, "metadata"), "creationTimestamp");
  bool changed = false;
  for (size_t t = 0; t < ARRAY_SIZE(types); t++) {
    json_object *c = NULL;
    for (size_t i = 0; i < cj_len(conds); i++)
      if (streq(cj_str0(cj_at(conds, i), "type"), types[t]))
        c = cj_at(conds, i);
    if (c && streq(cj_str0(c, "status"), "Unknown"))
      continue;
    if (!c) {
      c = json_object_new_object();
      cj_set(c, "type", json_object_new_string(types[t]));
      cj_set(c, "lastHeartbeatTime", json_object_new_string(created));
      cj_set(c, "reason", json_object_new_string("NodeStatusNeverUpdated"));
      cj_set(c, "message",
             json_object_new_string("Kubelet never posted node status."));
      json_object_array_add(conds, c);
    } else {
      cj_set(c, "reason", json_object_new_string("NodeStatusUnknown"));
      cj_set(c, "message",
             json_object_new_string("Kubelet stopped posting node status."));
    }
    cj_set(c, "status", json_object_new_string("Unknown"));
    cj_set(c, "lastTransitionTime", json_object_new_string(now));
    changed = true;
  }
  if (!changed) {
    json_object_put(conds);
    return NULL;
  }
  return conds;
}

/* ------------------------------------------------------------------------ */
/* Taints                                                                    */
/* ------------------------------------------------------------------------ */

/* TaintNodesByCondition's NoSchedule taints, and the NoExecute ones of
 * taint-based eviction.  `want_ne`: the NoExecute taint key wanted (NULL:
 * none).  Returns the new taint list (owned) or NULL when unchanged. */
static json_object *wanted_taints(json_object *node, const char *want_ne) {
  static const struct {
    const char *cond, *status, *key;
  } ns[] = {
      {"Ready", "False", CTL_TAINT_NOT_READY},
      {"Ready", "Unknown", CTL_TAINT_UNREACHABLE},
      {"MemoryPressure", "True", "node.kubernetes.io/memory-pressure"},
      {"DiskPressure", "True", "node.kubernetes.io/disk-pressure"},
      {"NetworkUnavailable", "True", "node.kubernetes.io/network-unavailable"},
      {"PIDPressure", "True", "node.kubernetes.io/pid-pressure"},
  };
  const char *unsched = "node.kubernetes.io/unschedulable";
  json_object *cur = cj_arr(cj_obj(node, "spec"), "taints");
  json_object *out = json_object_new_array();
  bool changed = false;
  /* Keep every taint not ours, and ours that are still wanted. */
  bool have_ne = false, have_ns[ARRAY_SIZE(ns)] = {0}, have_unsched = false;
  bool unschedulable = cj_bool(cj_obj(node, "spec"), "unschedulable", false);
  for (size_t i = 0; i < cj_len(cur); i++) {
    json_object *t = cj_at(cur, i);
    const char *key = cj_str0(t, "key"), *eff = cj_str0(t, "effect");
    bool keep = true;
    if (streq(eff, "NoExecute") && (streq(key, CTL_TAINT_NOT_READY) ||
                                    streq(key, CTL_TAINT_UNREACHABLE))) {
      keep = want_ne && streq(key, want_ne);
      have_ne |= keep;
    } else if (streq(eff, "NoSchedule") && streq(key, unsched)) {
      keep = unschedulable;
      have_unsched |= keep;
    } else if (streq(eff, "NoSchedule")) {
      for (size_t k = 0; k < ARRAY_SIZE(ns); k++) {
        if (!streq(key, ns[k].key))
          continue;
        json_object *c = ctl_condition(node, ns[k].cond);
        keep = c && streq(cj_str0(c, "status"), ns[k].status);
        have_ns[k] |= keep;
      }
    }
    if (keep)
      json_object_array_add(out, json_object_get(t));
    else
      changed = true;
  }
  for (size_t k = 0; k < ARRAY_SIZE(ns); k++) {
    json_object *c = ctl_condition(node, ns[k].cond);
    if (have_ns[k] || !c || !streq(cj_str0(c, "status"), ns[k].status))
      continue;
    json_object *t = json_object_new_object();
    cj_set(t, "key", json_object_new_string(ns[k].key));
    cj_set(t, "effect", json_object_new_string("NoSchedule"));
    json_object_array_add(out, t);
    changed = true;
  }
  if (unschedulable && !have_unsched) {
    json_object *t = json_object_new_object();
    cj_set(t, "key", json_object_new_string(unsched));
    cj_set(t, "effect", json_object_new_string("NoSchedule"));
    json_object_array_add(out, t);
    changed = true;
  }
  if (want_ne && !have_ne) {
    char now[40];
    json_object *t = json_object_new_object();
    cj_set(t, "key", json_object_new_string(want_ne));
    cj_set(t, "effect", json_object_new_string("NoExecute"));
    cj_set(t, "timeAdded",
           json_object_new_string(ctl_now_rfc3339(now, sizeof now)));
    json_object_array_add(out, t);
    changed = true;
  }
  if (!changed) {
    json_object_put(out);
    return NULL;
  }
  return out;
}

/* ------------------------------------------------------------------------ */
/* Sync                                                                      */
/* ------------------------------------------------------------------------ */

static void enqueue_all(struct nlc *n) {
  STRMAP_FOREACH(&n->probes, i, e)
  kube_controller_enqueue(n->b.c, e->key, NULL);
}

/* Every node is not ready or silent past its grace period (a silent one
 * becomes Unknown in its own sync any moment: counting it now keeps the
 * first node found silent from being tainted before the others are). */
static bool all_down(struct nlc *n, int64_t now) {
  if (!n->probes.n)
    return false;
  STRMAP_FOREACH(&n->probes, i, e) {
    struct probe *p = e->value;
    if (streq(p->ready, "True") && now - p->probe_ns <= n->grace_ns)
      return false;
  }
  return true;
}

/* Track the node's Ready status and whether every node is down. */
static void track_ready(struct nlc *n, struct probe *p, const char *ready,
                        json_object *node, int64_t now) {
  bool was = streq(p->ready, "True"), is = streq(ready, "True");
  if (p->registered && was && !is)
    ctl_eventf(&n->b, node, "Node", "v1", "Normal", "NodeNotReady",
               "Node %s status is now: NodeNotReady",
               cj_str0(cj_obj(node, "metadata"), "name"));
  if (!p->registered || was != is) {
    if (p->registered)
      n->not_ready += was ? 1 : (size_t)-1;
    else if (!is)
      n->not_ready++;
  }
  snprintf(p->ready, sizeof p->ready, "%s", ready);
  p->registered = true;
  /* Cheap when a node is ready and nothing was disrupted. */
  bool disrupted = (n->disrupted || !is) && n->not_ready && all_down(n, now);
  if (disrupted == n->disrupted)
    return;
  n->disrupted = disrupted;
  if (disrupted) {
    log_warn("nodelifecycle: Controller detected that all Nodes are "
             "not-Ready. Entering master disruption mode");
  } else {
    log_info("nodelifecycle: Controller detected that some Nodes are "
             "Ready. Exiting master disruption mode");
    /* Every node gets a fresh grace period, as kube-controller-manager
     * resets the probe timestamps. */
    STRMAP_FOREACH(&n->probes, i, e)
    ((struct probe *)e->value)->probe_ns = now;
  }
  enqueue_all(n);
}

static void drop_probe(struct nlc *n, const char *name) {
  struct probe *p = strmap_remove(&n->probes, name);
  if (p && p->registered && !streq(p->ready, "True"))
    n->not_ready--;
  probe_free(p);
}

struct mark_arg {
  struct nlc *n;
  struct ctl_sync *s;
  const char *node;
};

/* MarkPodsNotReady: the Ready condition of each pod on the node goes
 * False (an event "NodeNotReady" tells why). */
static void mark_pod(const char *key, const kube_object_t *obj, void *arg) {
  struct mark_arg *a = arg;
  json_object *pod = kube_object_json(obj);
  json_object *c = ctl_condition(pod, "Ready");
  if (!c || streq(cj_str0(c, "status"), "False") ||
      cj_str(cj_obj(pod, "metadata"), "deletionTimestamp"))
    return;
  json_object *conds =
      ctl_json_copy(cj_arr(cj_obj(pod, "status"), "conditions"));
  char now[40];
  ctl_now_rfc3339(now, sizeof now);
  for (size_t i = 0; i < cj_len(conds); i++) {
    json_object *x = cj_at(conds, i);
    if (!streq(cj_str0(x, "type"), "Ready"))
      continue;
    cj_set(x, "status", json_object_new_string("False"));
    cj_set(x, "lastTransitionTime", json_object_new_string(now));
  }
  json_object *patch = json_object_new_object();
  json_object *meta = ctl_json_ensure(patch, "metadata");
  cj_set(meta, "resourceVersion",
         json_object_new_string(
             cj_str0(cj_obj(pod, "metadata"), "resourceVersion")));
  cj_set(ctl_json_ensure(patch, "status"), "conditions", conds);
  const char *text =
      json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN);
  const char *ns = cj_str0(cj_obj(pod, "metadata"), "namespace");
  const char *name = cj_str0(cj_obj(pod, "metadata"), "name");
  struct ctl_op *op = ctl_op_new(&a->n->b, a->s, NULL, key);
  if (!op ||
      ctl_op_started(op, kube_writer_patch(a->n->b.w, a->n->pkind, ns, name,
                                           "status", KUBE_PATCH_MERGE, text,
                                           NULL, ctl_op_cb, op, NULL)) < 0)
    a->s->result = -1;
  else
    ctl_eventf(&a->n->b, pod, "Pod", "v1", "Warning", "NodeNotReady",
               "Node is not ready");
  json_object_put(patch);
}

static int nl_sync_node(kube_controller_t *c, struct nlc *n, const char *key,
                        json_object *node) {
  int64_t now = ctl_now_ns();
  struct probe *p = strmap_get(&n->probes, key);
  if (!p) {
    if (!(p = calloc(1, sizeof *p)) || !strmap_put(&n->probes, key, p, NULL)) {
      free(p);
      return -1;
    }
    p->probe_ns = now;
    ctl_eventf(&n->b, node, "Node", "v1", "Normal", "RegisteredNode",
               "Node %s event: Registered Node %s in Controller", key, key);
  }
  char lkey[320];
  snprintf(lkey, sizeof lkey, "kube-node-lease/%s", key);
  kube_object_t *lease = kube_informer_ref(n->leases, lkey);
  const char *renew =
      lease ? cj_str(cj_obj(kube_object_json(lease), "spec"), "renewTime")
            : NULL;
  json_object *rc = ctl_condition(node, "Ready");
  const char *hb = rc ? cj_str(rc, "lastHeartbeatTime") : NULL;
  if (!str_eq0(renew, p->renew) || !str_eq0(hb, p->heartbeat)) {
    set_str(&p->renew, renew);
    set_str(&p->heartbeat, hb);
    p->probe_ns = now;
  }
  kube_object_free(lease);
  struct ctl_sync *s = ctl_sync_new(&n->b, key);
  if (!s)
    return -1;
  int64_t left = p->probe_ns + n->grace_ns - now;
  if (left < 0) {
    json_object *conds = unknown_conditions(node);
    if (conds) {
      log_info("nodelifecycle: node %s: Kubelet stopped posting node status",
               key);
      json_object *copy = ctl_json_copy(node);
      cj_set(ctl_json_ensure(copy, "status"), "conditions", conds);
      kube_object_t *o = kube_object_wrap(copy);
      struct ctl_op *op = o ? ctl_op_new(&n->b, s, NULL, key) : NULL;
      if (!op || ctl_op_started(op, kube_writer_update_status(
                                        n->b.w, n->nkind, NULL, o, NULL,
                                        ctl_op_cb, op, NULL)) < 0)
        s->result = -1;
      kube_object_free(o);
      /* The update comes back through the informer: the taints follow
       * in the next sync. */
      return ctl_sync_finish(s);
    }
  } else {
    int64_t ms = left / 1000000 + 1;
    kube_controller_enqueue_after(c, key, ms < n->period_ms ? ms : n->period_ms,
                                  NULL);
  }
  const char *ready = rc ? cj_str0(rc, "status") : "";
  track_ready(n, p, ready, node, now);
  if (!*ready)
    return ctl_sync_finish(s); /* no heartbeat ever: wait for the grace */
  const char *ne = NULL;
  if (!n->disrupted && streq(ready, "False"))
    ne = CTL_TAINT_NOT_READY;
  else if (!n->disrupted && streq(ready, "Unknown"))
    ne = CTL_TAINT_UNREACHABLE;
  json_object *taints = wanted_taints(node, ne);
  if (taints) {
    json_object *patch = json_object_new_object();
    cj_set(ctl_json_ensure(patch, "metadata"), "resourceVersion",
           json_object_new_string(
               cj_str0(cj_obj(node, "metadata"), "resourceVersion")));
    cj_set(ctl_json_ensure(patch, "spec"), "taints",
           cj_len(taints) ? taints : NULL);
    if (!cj_len(taints))
      json_object_put(taints);
    struct ctl_op *op = ctl_op_new(&n->b, s, NULL, key);
    if (!op ||
        ctl_op_started(op, kube_writer_patch(n->b.w, n->nkind, NULL, key, NULL,
                                             KUBE_PATCH_MERGE,
                                             json_object_to_json_string_ext(
                                                 patch, JSON_C_TO_STRING_PLAIN),
                                             NULL, ctl_op_cb, op, NULL)) < 0)
      s->result = -1;
    json_object_put(patch);
  }
  if (!streq(ready, "True")) {
    struct mark_arg a = {n, s, key};
    kube_informer_index_foreach(n->pods, KUBE_INDEX_NODE_NAME, key, mark_pod,
                                &a);
  }
  return ctl_sync_finish(s);
}

/* The node and its lease as references (kube_informer_ref), not pinned:
 * a sync of every node leaves no tree of each behind in the informers. */
static int nl_sync(kube_controller_t *c, const char *key, void *arg) {
  struct nlc *n = arg;
  kube_object_t *obj = kube_informer_ref(n->nodes, key);
  if (!obj) {
    drop_probe(n, key);
    return 0;
  }
  int r = nl_sync_node(c, n, key, kube_object_json(obj));
  kube_object_free(obj);
  return r;
}

/* ------------------------------------------------------------------------ */
/* Events                                                                    */
/* ------------------------------------------------------------------------ */

/* A Lease in kube-node-lease is named after its node. */
static void lease_map(kube_controller_t *c, const char *key,
                      const kube_object_t *obj, void *arg) {
  if (str_has_prefix(key, "kube-node-lease/"))
    kube_controller_enqueue(c, key + strlen("kube-node-lease/"), NULL);
}

/* A ready pod on a node that is not ready: mark it. */
static void pod_changed(const struct ctl_pod *old, const struct ctl_pod *cur,
                        void *arg) {
  struct nlc *n = arg;
  if (!cur || !cur->node || !cur->ready)
    return;
  struct probe *p = strmap_get(&n->probes, cur->node);
  if (p && p->registered && *p->ready && !streq(p->ready, "True"))
    kube_controller_enqueue(n->b.c, cur->node, NULL);
}

static void nl_free(void *impl) {
  struct nlc *n = impl;
  if (!n)
    return;
  ctl_podstore_unlisten(n->ps, n);
  ctl_base_clear(&n->b);
  strmap_clear(&n->probes, probe_free);
  free(n);
}

static void *nl_create(kube_controller_manager_t *m, kube_error_t *err) {
  struct nlc *n = calloc(1, sizeof *n);
  if (!n) {
    kube_make_oom(err);
    return NULL;
  }
  const kube_controller_manager_options_t *o = ctl_manager_options(m);
  n->grace_ns = o->node_monitor_grace_period_ms * 1000000;
  n->period_ms = o->node_monitor_period_ms;
  n->nkind = kube_kind_by_resource("", "v1", "nodes");
  n->pkind = kube_kind_by_resource("", "v1", "pods");
  if (!n->nkind || !n->pkind ||
      ctl_base_init(&n->b, m, "nodelifecycle", "node-controller", nl_sync, n,
                    err) < 0) {
    free(n);
    return NULL;
  }
  if (!(n->nodes = ctl_manager_informer(m, "/api/v1/nodes", err)) ||
      !(n->leases = ctl_manager_informer(
            m, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
            err)) ||
      !(n->ps = ctl_manager_pods(m, err)) ||
      !(n->pods = ctl_podstore_informer(n->ps)) ||
      kube_informer_add_index(n->pods, KUBE_INDEX_NODE_NAME,
                              kube_index_node_name, NULL, err) < 0 ||
      kube_controller_watch(n->b.c, n->nodes, NULL, NULL, err) < 0 ||
      kube_controller_watch(n->b.c, n->leases, lease_map, NULL, err) < 0 ||
      kube_controller_watch(n->b.c, n->pods, ctl_map_nothing, NULL, err) < 0 ||
      ctl_podstore_listen(n->ps, pod_changed, NULL, n, err) < 0) {
    nl_free(n);
    return NULL;
  }
  return n;
}

static int nl_start(void *impl, kube_error_t *err) {
  return kube_controller_start(((struct nlc *)impl)->b.c, err);
}

static kube_controller_t *nl_controller(void *impl) {
  return ((struct nlc *)impl)->b.c;
}

const struct ctl_impl_ops ctl_nodelifecycle_ops = {
    .create = nl_create,
    .start = nl_start,
    .free = nl_free,
    .controller = nl_controller,
};
