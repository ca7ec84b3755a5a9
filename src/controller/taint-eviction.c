/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The taint eviction controller (kube-controller-manager's
 * taint-eviction-controller, the former NoExecute taint manager): a pod
 * bound to a node with NoExecute taints it does not tolerate is deleted at
 * once; one tolerating them all for a while (tolerationSeconds, 300 s for
 * not-ready and unreachable by the API server's DefaultTolerationSeconds
 * defaults) is deleted when the shortest of those tolerations ran out.
 * Before the delete the pod gets the DisruptionTarget condition, as
 * Kubernetes writes it.
 *
 * The countdown starts at the earliest timeAdded of the node's NoExecute
 * taints (the moment the node controller tainted it), not when this
 * controller first saw them: a restarted controller keeps the deadlines.
 */
#include "controller/internal.h"

struct tec {
  struct ctl_base b;
  const kube_kind_t *pkind;
  kube_informer_t *nodes, *pods;
  struct ctl_podstore *ps;
  /* node name -> its NoExecute taints as text (owned), so that a node's
   * heartbeats do not wake its pods: only a change of those taints does. */
  struct strmap seen;
};

/* GetMatchingTolerations + getMinTolerationTime: -1 when a taint is not
 * tolerated (evict now), -2 when tolerated forever, else the seconds. */
static int64_t toleration_seconds(json_object *taints, json_object *tols) {
  int64_t min = INT64_MAX;
  for (size_t i = 0; i < cj_len(taints); i++) {
    json_object *tol = NULL;
    for (size_t j = 0; j < cj_len(tols) && !tol; j++)
      if (ctl_toleration_tolerates(cj_at(tols, j), cj_at(taints, i)))
        tol = cj_at(tols, j);
    if (!tol)
      return -1;
    json_object *ts = cj(tol, "tolerationSeconds");
    if (!json_object_is_type(ts, json_type_int))
      continue;
    int64_t v = json_object_get_int64(ts);
    if (v <= 0)
      return 0;
    if (v < min)
      min = v;
  }
  return min == INT64_MAX ? -2 : min;
}

static void deleted(struct ctl_op *op, const kube_object_t *res,
                    const kube_error_t *err) {
  /* Gone already: what we wanted. */
  if (err && err->reason != KUBE_REASON_NOT_FOUND && op->sync)
    op->sync->result = -1;
}

struct evict_data {
  char *ns, *name, *uid;
};

static void evict_data_free(void *v) {
  struct evict_data *d = v;
  if (!d)
    return;
  free(d->ns);
  free(d->name);
  free(d->uid);
  free(d);
}

/* Second step: the delete (preconditioned on the pod's uid). */
static void delete_step(struct ctl_sync *s) {
  struct tec *t = (struct tec *)s->b;
  struct evict_data *d = s->data;
  if (s->result < 0)
    return;
  kube_client_write_options_t wo = {
      .struct_size = sizeof wo, .grace_period = -1, .precondition_uid = d->uid};
  struct ctl_op *op = ctl_op_new(&t->b, s, deleted, d->name);
  if (!op ||
      ctl_op_started(op, kube_writer_delete(t->b.w, t->pkind, d->ns, d->name,
                                            &wo, ctl_op_cb, op, NULL)) < 0)
    s->result = -1;
}

static void condition_written(struct ctl_op *op, const kube_object_t *res,
                              const kube_error_t *err) {
  if (err && op->sync)
    op->sync->result = -1;
}

static int evict(struct tec *t, const char *key, json_object *pod) {
  json_object *meta = cj_obj(pod, "metadata");
  const char *ns = cj_str0(meta, "namespace"), *name = cj_str0(meta, "name");
  struct ctl_sync *s = ctl_sync_new(&t->b, key);
  struct evict_data *d = s ? calloc(1, sizeof *d) : NULL;
  if (!d) {
    ctl_sync_finish(s);
    return -1;
  }
  d->ns = strdup(ns);
  d->name = strdup(name);
  d->uid = strdup(cj_str0(meta, "uid"));
  s->data = d;
  s->free_data = evict_data_free;
  if (!d->ns || !d->name || !d->uid) {
    s->result = -1;
    return ctl_sync_finish(s);
  }
  log_info("taint-eviction: deleting pod %s", key);
  char msg[600];
  snprintf(msg, sizeof msg, "Marking for deletion Pod %s", key);
  kube_event_ref_t ref = {
      .kind = "Pod", .api_version = "v1", .namespace_ = ns, .name = name};
  kube_event_recorder_record(t->b.rec, &ref, "Normal", "TaintManagerEviction",
                             NULL, msg);
  /* The DisruptionTarget condition first: the pod's conditions with it
   * added, guarded by the resourceVersion read. */
  json_object *patch = json_object_new_object();
  json_object *conds = ctl_disruption_conditions(
      pod, "DeletionByTaintManager",
      "Taint manager: deleting due to NoExecute taint");
  cj_set(ctl_json_ensure(patch, "metadata"), "resourceVersion",
         json_object_new_string(cj_str0(meta, "resourceVersion")));
  cj_set(ctl_json_ensure(patch, "status"), "conditions", conds);
  struct ctl_op *op = ctl_op_new(&t->b, s, condition_written, key);
  if (!op ||
      ctl_op_started(
          op, kube_writer_patch(
                  t->b.w, t->pkind, ns, name, "status", KUBE_PATCH_MERGE,
                  json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN),
                  NULL, ctl_op_cb, op, NULL)) < 0)
    s->result = -1;
  json_object_put(patch);
  s->drained = delete_step;
  return ctl_sync_finish(s);
}

static int te_sync(kube_controller_t *c, const char *key, void *arg) {
  struct tec *t = arg;
  const kube_object_t *obj = kube_informer_get(t->pods, key);
  if (!obj)
    return 0;
  json_object *pod = kube_object_json(obj);
  json_object *spec = cj_obj(pod, "spec");
  const char *node_name = cj_str(spec, "nodeName");
  if (!node_name || !*node_name ||
      cj_str(cj_obj(pod, "metadata"), "deletionTimestamp"))
    return 0;
  const kube_object_t *nobj = kube_informer_get(t->nodes, node_name);
  if (!nobj)
    return 0;
  json_object *all = cj_arr(cj_obj(kube_object_json(nobj), "spec"), "taints");
  json_object *taints = json_object_new_array();
  int64_t since = 0;
  for (size_t i = 0; i < cj_len(all); i++) {
    json_object *x = cj_at(all, i);
    if (!streq(cj_str0(x, "effect"), "NoExecute"))
      continue;
    json_object_array_add(taints, json_object_get(x));
    int64_t added = ctl_time_ns(cj_str(x, "timeAdded"));
    if (added && (!since || added < since))
      since = added;
  }
  if (!cj_len(taints)) {
    json_object_put(taints);
    return 0;
  }
  int64_t secs = toleration_seconds(taints, cj_arr(spec, "tolerations"));
  json_object_put(taints);
  if (secs == -2)
    return 0;
  int64_t now = ctl_now_ns();
  if (!since)
    since = now;
  int64_t at = secs < 0 ? now : since + secs * 1000000000;
  if (at > now) {
    kube_controller_enqueue_after(c, key, (at - now) / 1000000 + 1, NULL);
    return 0;
  }
  return evict(t, key, pod);
}

/* A node's NoExecute taints changed: look at its pods.  (The map runs for
 * the old and the new object of an update: the old one matches what was
 * seen, the new one may not.) */
static void node_map(kube_controller_t *c, const char *key,
                     const kube_object_t *obj, void *arg) {
  struct tec *t = arg;
  json_object *all = cj_arr(cj_obj(kube_object_json(obj), "spec"), "taints");
  json_object *ne = json_object_new_array();
  for (size_t i = 0; i < cj_len(all); i++)
    if (streq(cj_str0(cj_at(all, i), "effect"), "NoExecute"))
      json_object_array_add(ne, json_object_get(cj_at(all, i)));
  const char *sig = json_object_to_json_string_ext(ne, JSON_C_TO_STRING_PLAIN);
  const char *old = strmap_get(&t->seen, key);
  bool same = old ? streq(old, sig) : !cj_len(ne);
  char *copy = same ? NULL : strdup(sig);
  json_object_put(ne);
  if (same)
    return;
  void *prev = NULL;
  if (copy && strmap_put(&t->seen, key, copy, &prev))
    free(prev);
  else
    free(copy);
  size_t n = 0;
  const char **keys =
      kube_informer_index_keys(t->pods, KUBE_INDEX_NODE_NAME, key, &n, NULL);
  for (size_t i = 0; keys && i < n; i++)
    kube_controller_enqueue(c, keys[i], NULL);
  free(keys);
}

static void pod_changed(const struct ctl_pod *old, const struct ctl_pod *cur,
                        void *arg) {
  struct tec *t = arg;
  if (cur && cur->node && !cur->deleting &&
      (!old || !old->node || !streq(old->node, cur->node)))
    kube_controller_enqueue(t->b.c, cur->key, NULL);
}

static void te_free(void *impl) {
  struct tec *t = impl;
  if (!t)
    return;
  ctl_podstore_unlisten(t->ps, t);
  ctl_base_clear(&t->b);
  strmap_clear(&t->seen, free);
  free(t);
}

static void *te_create(kube_controller_manager_t *m, kube_error_t *err) {
  struct tec *t = calloc(1, sizeof *t);
  if (!t) {
    kube_make_oom(err);
    return NULL;
  }
  t->pkind = kube_kind_by_resource("", "v1", "pods");
  if (!t->pkind ||
      ctl_base_init(&t->b, m, "taint-eviction", "taint-eviction-controller",
                    te_sync, t, err) < 0) {
    free(t);
    return NULL;
  }
  if (!(t->nodes = ctl_manager_informer(m, "/api/v1/nodes", err)) ||
      !(t->ps = ctl_manager_pods(m, err)) ||
      !(t->pods = ctl_podstore_informer(t->ps)) ||
      kube_informer_add_index(t->pods, KUBE_INDEX_NODE_NAME,
                              kube_index_node_name, NULL, err) < 0 ||
      kube_controller_watch(t->b.c, t->nodes, node_map, t, err) < 0 ||
      kube_controller_watch(t->b.c, t->pods, ctl_map_nothing, NULL, err) < 0 ||
      ctl_podstore_listen(t->ps, pod_changed, NULL, t, err) < 0) {
    te_free(t);
    return NULL;
  }
  return t;
}

static int te_start(void *impl, kube_error_t *err) {
  return kube_controller_start(((struct tec *)impl)->b.c, err);
}

static kube_controller_t *te_controller(void *impl) {
  return ((struct tec *)impl)->b.c;
}

const struct ctl_impl_ops ctl_taint_eviction_ops = {
    .create = te_create,
    .start = te_start,
    .free = te_free,
    .controller = te_controller,
};
