/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ReplicaSet and ReplicationController controllers (one code, two
 * kinds, as in kube-controller-manager): keep spec.replicas active pods
 * matching the selector, adopting orphans and releasing pods that stopped
 * matching (ControllerRef), creating in slow-start batches (1, 2, 4, ...)
 * of at most 500 per sync (a sync soon after one whose creates all
 * succeeded goes on at the size that one reached instead of 1 again:
 * 10,000 replicas are 20 syncs, not 20 slow starts), deleting the pods
 * ranked first, with
 * expectations so that a slow cache never makes a sync act twice; then the
 * status (replicas, fullyLabeledReplicas, readyReplicas,
 * availableReplicas, observedGeneration, the ReplicaFailure condition).
 *
 * A sync runs as steps joined by the writes they wait for:
 *   claim  -> (GET the owner again when orphans are to be adopted)
 *   adopt  -> ownerReference patches (adopt / release)
 *   manage -> creates in batches, or deletes
 *   status -> PUT status when it changed
 */
#include "controller/internal.h"
#include "controller/replicaset.h"

struct rs_kind {
  const char *name;      /* controller name (logs, stats) */
  const char *component; /* events' source */
  const char *kind;
  const char *api_version;
  const char *group, *version, *resource;
  bool map_selector;
};

static const struct rs_kind rs_kind = {
    "replicaset", "replicaset-controller", "ReplicaSet", "apps/v1", "apps",
    "v1",         "replicasets",           false};
static const struct rs_kind rc_kind = {"replicationcontroller",
                                       "replication-controller",
                                       "ReplicationController",
                                       "v1",
                                       "",
                                       "v1",
                                       "replicationcontrollers",
                                       true};

struct rsc {
  struct ctl_base b;
  const struct rs_kind *k;
  const kube_kind_t *kk, *pod_kind;
  kube_informer_t *inf;
  kube_informer_t *pod_inf;
  struct ctl_podstore *pods;
  struct ctl_expectations exp;
  /* key -> struct slow_start: the slow start goes on from where the last
   * sync's creates left it while they all succeed, and starts again at 1
   * after a failure or a pause (RS_SLOW_START_KEEP_NS). */
  struct strmap slow_start;
};

/* ------------------------------------------------------------------------ */
/* Lookups                                                                   */
/* ------------------------------------------------------------------------ */

static kube_selector_t *selector_of(const struct rsc *r, json_object *rs,
                                    kube_error_t *err) {
  json_object *spec = cj_obj(rs, "spec");
  if (r->k->map_selector)
    return kube_json_map_selector(cj_obj(spec, "selector"), err);
  return ctl_label_selector(cj_obj(spec, "selector"), err);
}

/* The key of the controller of a pod when it is one of ours (the cached
 * object with that name has that uid).  Owned. */
static char *resolve_owner(struct rsc *r, const struct ctl_pod *p) {
  return ctl_pod_owner_key(r->inf, r->k->kind, p);
}

static void enqueue(struct rsc *r, const char *key) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (kube_controller_enqueue(r->b.c, key, &err) < 0)
    log_warn("%s: cannot queue %s: %s", r->k->name, key, err.message);
}

struct match_ctx {
  struct rsc *r;
  const struct ctl_pod *p;
};

static void enqueue_if_matches(const char *key, const kube_object_t *obj,
                               void *arg) {
  struct match_ctx *m = arg;
  kube_selector_t *sel = selector_of(m->r, kube_object_json(obj), NULL);
  /* An empty selector matches nothing for adoption (validation forbids
   * it; an old object may still have one). */
  if (sel && !kube_selector_empty(sel) &&
      ctl_selector_matches_pairs(sel, m->p->labels))
    enqueue(m->r, key);
  kube_selector_free(sel);
}

/* getPodReplicaSets: every controller of ours in the pod's namespace whose
 * selector matches the orphan. */
static void enqueue_matching(struct rsc *r, const struct ctl_pod *p) {
  struct match_ctx m = {r, p};
  kube_informer_index_foreach(r->inf, KUBE_INDEX_NAMESPACE, p->ns,
                              enqueue_if_matches, &m);
}

static int32_t min_ready_of(struct rsc *r, const char *key) {
  const kube_object_t *o = kube_informer_get(r->inf, key);
  return o ? (int32_t)cj_int(cj_obj(kube_object_json(o), "spec"),
                             "minReadySeconds", 0)
           : 0;
}

/* ------------------------------------------------------------------------ */
/* Pod events                                                                */
/* ------------------------------------------------------------------------ */

static void pod_deleted(struct rsc *r, const struct ctl_pod *p) {
  cleanup_free char *key = resolve_owner(r, p);
  if (!key)
    return;
  ctl_deletion_observed(&r->exp, key, p->key);
  enqueue(r, key);
}

static void pod_added(struct rsc *r, const struct ctl_pod *p) {
  if (p->deleting) {
    /* A pod that shows up already being deleted is no creation. */
    pod_deleted(r, p);
    return;
  }
  if (p->ctrl_uid) {
    cleanup_free char *key = resolve_owner(r, p);
    if (key) {
      ctl_creation_observed(&r->exp, key);
      enqueue(r, key);
    }
    return;
  }
  enqueue_matching(r, p);
}

static bool same_str(const char *a, const char *b) {
  return (!a && !b) || (a && b && streq(a, b));
}

static bool labels_equal(char *const *a, char *const *b) {
  size_t na = 0, nb = 0;
  while (a && a[na])
    na++;
  while (b && b[nb])
    nb++;
  if (na != nb)
    return false;
  for (size_t i = 0; i < na; i += 2) {
    const char *v = ctl_pairs_get(b, a[i]);
    if (!v || !streq(v, a[i + 1]))
      return false;
  }
  return true;
}

/* A pod change that only moves the status counts (readiness, its time,
 * the node, restarts) is folded with the others of a burst: the key is
 * queued after a window that grows with the owner's pods (10 ms per
 * 1,000, at least 10, at most 200), so that a sync walking N pods runs at
 * most every N/100 ms however fast they turn Ready.  Changes that can
 * make the controller act (a pod stopping, labels, ownership) queue it at
 * once. */
static int64_t coalesce_ms(struct rsc *r, const struct ctl_pod *p) {
  size_t n = ctl_podstore_owned(r->pods, p->ctrl_uid)->n;
  int64_t ms = (int64_t)(n / 100);
  return ms < RS_COALESCE_MIN_MS   ? RS_COALESCE_MIN_MS
         : ms > RS_COALESCE_MAX_MS ? RS_COALESCE_MAX_MS
                                   : ms;
}

static void pod_updated(struct rsc *r, const struct ctl_pod *old,
                        const struct ctl_pod *cur) {
  if (streq(old->resource_version, cur->resource_version))
    return; /* a re-list: nothing changed */
  bool label_changed = !labels_equal(old->labels, cur->labels);
  if (cur->deleting) {
    pod_deleted(r, cur);
    if (label_changed)
      pod_deleted(r, old);
    return;
  }
  bool ref_changed = !same_str(old->ctrl_uid, cur->ctrl_uid) ||
                     !same_str(old->ctrl_kind, cur->ctrl_kind) ||
                     !same_str(old->ctrl_name, cur->ctrl_name);
  if (ref_changed && old->ctrl_uid) {
    cleanup_free char *key = resolve_owner(r, old);
    if (key)
      enqueue(r, key);
  }
  if (cur->ctrl_uid) {
    cleanup_free char *key = resolve_owner(r, cur);
    if (!key)
      return;
    if (label_changed || ref_changed ||
        ctl_pod_active(old) != ctl_pod_active(cur))
      enqueue(r, key);
    else if (old->ready != cur->ready ||
             old->ready_since_ns != cur->ready_since_ns ||
             !same_str(old->node, cur->node) ||
             old->max_restarts != cur->max_restarts ||
             old->phase != cur->phase ||
             old->deletion_cost != cur->deletion_cost)
      kube_controller_enqueue_after(r->b.c, key, coalesce_ms(r, cur), NULL);
    else
      return; /* nothing a ReplicaSet reads (IPs, other conditions) */
    int32_t mrs;
    if (!old->ready && cur->ready && (mrs = min_ready_of(r, key)) > 0)
      kube_controller_enqueue_after(r->b.c, key, (int64_t)mrs * 1000 + 1000,
                                    NULL);
    return;
  }
  if (label_changed || ref_changed)
    enqueue_matching(r, cur);
}

static void pod_changed(const struct ctl_pod *old, const struct ctl_pod *cur,
                        void *arg) {
  struct rsc *r = arg;
  if (!old)
    pod_added(r, cur);
  else if (!cur)
    pod_deleted(r, old);
  else
    pod_updated(r, old, cur);
}

/* ------------------------------------------------------------------------ */
/* A sync                                                                    */
/* ------------------------------------------------------------------------ */

struct strv {
  char **v;
  size_t n, cap;
};

static int strv_add(struct strv *s, const char *x) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 16;
    char **v = realloc(s->v, cap * sizeof *v);
    if (!v)
      return -1;
    s->v = v;
    s->cap = cap;
  }
  if (!(s->v[s->n] = strdup(x)))
    return -1;
  s->n++;
  return 0;
}

static void strv_clear(struct strv *s) {
  for (size_t i = 0; i < s->n; i++)
    free(s->v[i]);
  free(s->v);
  memset(s, 0, sizeof *s);
}

struct work {
  struct rsc *r;
  json_object *rs; /* a copy of the object synced */
  char *ns, *name, *uid;
  bool deleting;
  bool needs_sync;
  int32_t replicas;
  kube_selector_t *sel; /* spec.selector, parsed once per sync */
  /* adopted: pods adopted by this sync (the cache may not show it yet) */
  struct strv adopted, adopt, release;
  bool recheck_ok;
  /* claim found nothing to adopt or release: every active owned pod of
   * the namespace matches the selector (manage, run right after, need not
   * match each again) */
  bool owned_match;
  /* status counts, from the pods claimed before managing them */
  int32_t st_replicas, st_fully, st_ready, st_available;
  /* manage */
  char *pod_body;
  int64_t to_create, created_ok, batch;
  int64_t next_available_ns; /* when the next ready pod becomes available */
  char *manage_err;
  int manage_dir; /* >0 created, <0 deleted, 0 nothing */
};

static void work_free(void *v) {
  struct work *w = v;
  if (!w)
    return;
  json_object_put(w->rs);
  free(w->ns);
  free(w->name);
  free(w->uid);
  kube_selector_free(w->sel);
  strv_clear(&w->adopted);
  strv_clear(&w->adopt);
  strv_clear(&w->release);
  free(w->pod_body);
  free(w->manage_err);
  free(w);
}

static void set_manage_err(struct work *w, const char *msg) {
  if (!w->manage_err)
    w->manage_err = strdup(msg ? msg : "unknown error");
}

static void step_adopt(struct ctl_sync *s);
static void step_manage(struct ctl_sync *s);
static void step_status(struct ctl_sync *s);

/* The controllerRef kube-controller-manager writes. */
static json_object *controller_ref(struct work *w) {
  return ctl_controller_ref(w->r->k->api_version, w->r->k->kind, w->name,
                            w->uid);
}

static char *pod_path(const char *ns, const char *name) {
  char *p = NULL;
  if (asprintf(&p, "/api/v1/namespaces/%s/pods%s%s", ns, name ? "/" : "",
               name ? name : "") < 0)
    return NULL;
  return p;
}

/* ---- claim ---- */

static void recheck_done(struct ctl_op *op, const kube_object_t *res,
                         const kube_error_t *err) {
  struct work *w = op->sync->data;
  /* RecheckDeletionTimestamp: the owner read live must be the same object
   * and not being deleted before anything is adopted. */
  if (err || !res) {
    if (err && err->reason != KUBE_REASON_NOT_FOUND)
      op->sync->result = -1;
    return;
  }
  const char *uid = kube_object_uid(res);
  w->recheck_ok = uid && streq(uid, w->uid) &&
                  !kube_json_get_string(kube_object_json(res),
                                        "metadata.deletionTimestamp");
}

/* Claim: pods of ours that stopped matching are released, matching
 * orphans adopted; the pods claimed are found again by manage (from the
 * owner-uid index: no copy of their keys). */
static int claim(struct ctl_sync *s, struct work *w) {
  struct rsc *r = w->r;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  kube_selector_t *sel = w->sel = selector_of(r, w->rs, &err);
  if (!sel) {
    /* An invalid selector matches nothing: nothing to manage (no retry). */
    log_warn("%s: %s/%s: invalid selector: %s", r->k->name, w->ns, w->name,
             err.message);
    return 1;
  }
  const struct ctl_podlist *owned = ctl_podstore_owned(r->pods, w->uid);
  for (size_t i = 0; i < owned->n; i++) {
    const struct ctl_pod *p = owned->v[i];
    if (!w->deleting && ctl_pod_active(p) && streq(p->ns, w->ns) &&
        !ctl_selector_matches_pairs(sel, p->labels) &&
        strv_add(&w->release, p->key) < 0)
      return -1;
  }
  if (!w->deleting && !kube_selector_empty(sel)) {
    const struct ctl_podlist *orph = ctl_podstore_orphans(r->pods, w->ns);
    for (size_t i = 0; i < orph->n; i++) {
      const struct ctl_pod *p = orph->v[i];
      if (ctl_pod_active(p) && ctl_selector_matches_pairs(sel, p->labels) &&
          strv_add(&w->adopt, p->key) < 0)
        return -1;
    }
  }
  if (w->adopt.n) {
    const kube_kind_t *kk = r->kk;
    cleanup_free char *path = kube_client_path(kk, w->ns, w->name, NULL);
    struct ctl_op *op = path ? ctl_op_new(&r->b, s, recheck_done, NULL) : NULL;
    if (!op ||
        ctl_op_started(op, kube_writer_send(r->b.w, "GET", path, NULL, NULL, 0,
                                            ctl_op_cb, op, &err)) < 0)
      return -1;
  }
  w->owned_match = !w->adopt.n && !w->release.n;
  s->drained = step_adopt;
  return 0;
}

/* ---- adopt / release ---- */

static void patched(struct ctl_op *op, const kube_object_t *res,
                    const kube_error_t *err) {
  struct work *w = op->sync->data;
  bool adopting = op->data != NULL;
  if (err) {
    /* A pod gone meanwhile is neither adopted nor released. */
    if (err->reason != KUBE_REASON_NOT_FOUND) {
      log_debug("%s: %s %s: %s", w->r->k->name,
                adopting ? "adopting" : "releasing", op->tag, err->message);
      op->sync->result = -1;
    }
    return;
  }
  if (adopting && strv_add(&w->adopted, op->tag) < 0)
    op->sync->result = -1;
}

/* A merge patch setting metadata.ownerReferences of pod `key` with ours
 * added (adopt) or removed (release), guarded by its resourceVersion. */
static char *owner_patch(struct work *w, const char *key, bool adopt) {
  const kube_object_t *pod = kube_informer_get(w->r->pod_inf, key);
  if (!pod)
    return NULL;
  return ctl_owner_patch(kube_object_json(pod),
                         adopt ? controller_ref(w) : NULL,
                         adopt ? NULL : w->uid);
}

static int patch_pod(struct ctl_sync *s, struct work *w, const char *key,
                     bool adopt) {
  struct rsc *r = w->r;
  char ns[256];
  const char *name;
  ctl_split_key(key, ns, sizeof ns, &name);
  cleanup_free char *patch = owner_patch(w, key, adopt);
  if (!patch)
    return 0; /* the pod is gone from the cache */
  struct ctl_op *op = ctl_op_new(&r->b, s, patched, key);
  if (!op)
    return -1;
  op->data = adopt ? (void *)1 : NULL;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  return ctl_op_started(op, kube_writer_patch(r->b.w, r->pod_kind, ns, name,
                                              NULL, KUBE_PATCH_MERGE, patch,
                                              NULL, ctl_op_cb, op, &err));
}

static void step_adopt(struct ctl_sync *s) {
  struct work *w = s->data;
  if (s->result < 0)
    return; /* the recheck failed: retried later */
  if (w->adopt.n && !w->recheck_ok) {
    log_debug("%s: %s/%s changed or is being deleted: adopting nothing",
              w->r->k->name, w->ns, w->name);
    strv_clear(&w->adopt);
  }
  for (size_t i = 0; i < w->adopt.n; i++)
    if (patch_pod(s, w, w->adopt.v[i], true) < 0)
      s->result = -1;
  for (size_t i = 0; i < w->release.n; i++)
    if (patch_pod(s, w, w->release.v[i], false) < 0)
      s->result = -1;
  s->drained = step_manage;
}

/* ---- manage ---- */

/* The pod a template makes (GetPodFromTemplate), as JSON text. */
static char *pod_from_template(struct work *w) {
  json_object *tmpl = cj_obj(cj_obj(w->rs, "spec"), "template");
  json_object *tmeta = cj_obj(tmpl, "metadata");
  json_object *pod = json_object_new_object();
  json_object *meta = json_object_new_object();
  json_object *refs = json_object_new_array();
  json_object *spec = ctl_json_copy(cj_obj(tmpl, "spec"));
  if (!pod || !meta || !refs || !spec) {
    json_object_put(pod);
    json_object_put(meta);
    json_object_put(refs);
    json_object_put(spec);
    return NULL;
  }
  cj_set(pod, "apiVersion", json_object_new_string("v1"));
  cj_set(pod, "kind", json_object_new_string("Pod"));
  /* The prefix is the owner's name and a dash, unless that makes an
   * invalid pod name prefix. */
  char prefix[300];
  snprintf(prefix, sizeof prefix, "%s-", w->name);
  if (strlen(prefix) > 253 - 5)
    snprintf(prefix, sizeof prefix, "%s", w->name);
  cj_set(meta, "generateName", json_object_new_string(prefix));
  cj_set(meta, "namespace", json_object_new_string(w->ns));
  ctl_copy_template_meta(meta, tmeta, true);
  json_object_array_add(refs, controller_ref(w));
  cj_set(meta, "ownerReferences", refs);
  cj_set(pod, "metadata", meta);
  cj_set(pod, "spec", spec);
  return ctl_json_take_text(pod);
}

static json_object *event_obj(struct work *w) {
  return w->rs;
}

static bool namespace_terminating(const kube_error_t *err) {
  return err->message && strstr(err->message, "because it is being terminated");
}

static void created(struct ctl_op *op, const kube_object_t *res,
                    const kube_error_t *err) {
  struct work *w = op->sync->data;
  struct rsc *r = w->r;
  if (err) {
    /* The pod will never be observed: lower the expectation. */
    ctl_creation_observed(&r->exp, op->sync->key);
    if (namespace_terminating(err))
      return;
    ctl_eventf(&r->b, event_obj(w), r->k->kind, r->k->api_version, "Warning",
               "FailedCreate", "Error creating: %s", err->message);
    set_manage_err(w, err->message);
    return;
  }
  w->created_ok++;
  ctl_eventf(&r->b, event_obj(w), r->k->kind, r->k->api_version, "Normal",
             "SuccessfulCreate", "Created pod: %s",
             res ? kube_object_name(res) : "");
}

static void create_batch(struct ctl_sync *s) {
  struct work *w = s->data;
  struct rsc *r = w->r;
  cleanup_free char *path = pod_path(w->ns, NULL);
  int64_t n = w->batch < w->to_create ? w->batch : w->to_create;
  for (int64_t i = 0; i < n; i++) {
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    struct ctl_op *op = path ? ctl_op_new(&r->b, s, created, NULL) : NULL;
    /* The reply is read for the name generateName gave the pod (the
     * event's message): scanned for its metadata, not parsed. */
    if (!op || ctl_op_started(op, client_writer_send(
                                      r->b.w, "POST", path, "application/json",
                                      w->pod_body, strlen(w->pod_body),
                                      CLIENT_RESULT_META, ctl_op_cb, op,
                                      &err)) < 0) {
      ctl_creation_observed(&r->exp, s->key);
      set_manage_err(w, err.message ? err.message : "out of memory");
    }
  }
  w->to_create -= n;
}

struct slow_start {
  int64_t batch;
  int64_t at_ns; /* monotonic: when the creates that earned it ended */
};

/* The batch a sync's first creates start at: 1 for a key whose last
 * creates failed, or ended more than RS_SLOW_START_KEEP_NS ago (what
 * was fine then, a quota, an admission webhook, need not be now). */
static int64_t first_batch(struct rsc *r, const char *key) {
  struct slow_start *ss = strmap_get(&r->slow_start, key);
  return ss && kube_time_mono_ns() - ss->at_ns <= RS_SLOW_START_KEEP_NS
             ? ss->batch
             : 1;
}

/* After the creates of a sync: all fine, the next sync starts at the
 * doubled batch (at most the burst); a failure starts it at 1 again. */
static void remember_batch(struct rsc *r, const char *key, int64_t batch,
                           bool failed) {
  struct slow_start *ss = strmap_get(&r->slow_start, key);
  if (failed) {
    free(strmap_remove(&r->slow_start, key));
    return;
  }
  if (!ss && (!(ss = calloc(1, sizeof *ss)) ||
              !strmap_put(&r->slow_start, key, ss, NULL))) {
    free(ss);
    return;
  }
  ss->batch = batch * 2 > RS_BURST_REPLICAS ? RS_BURST_REPLICAS : batch * 2;
  ss->at_ns = kube_time_mono_ns();
}

/* slowStartBatch: the next batch doubles after one that fully succeeded;
 * after a failure the rest is skipped (and no longer expected). */
static void next_batch(struct ctl_sync *s) {
  struct work *w = s->data;
  if (w->manage_err || w->to_create <= 0) {
    for (int64_t i = 0; i < w->to_create; i++)
      ctl_creation_observed(&w->r->exp, s->key);
    remember_batch(w->r, s->key, w->batch, w->manage_err != NULL);
    w->to_create = 0;
    step_status(s);
    return;
  }
  w->batch *= 2;
  if (w->batch > RS_BURST_REPLICAS)
    w->batch = RS_BURST_REPLICAS;
  create_batch(s);
  s->drained = next_batch;
}

static void deleted(struct ctl_op *op, const kube_object_t *res,
                    const kube_error_t *err) {
  struct work *w = op->sync->data;
  struct rsc *r = w->r;
  char ns[256];
  const char *name;
  ctl_split_key(op->tag, ns, sizeof ns, &name);
  if (err) {
    if (err->reason == KUBE_REASON_NOT_FOUND)
      return; /* gone already: its deletion event lowers the expectation */
    ctl_deletion_observed(&r->exp, op->sync->key, op->tag);
    ctl_eventf(&r->b, event_obj(w), r->k->kind, r->k->api_version, "Warning",
               "FailedDelete", "Error deleting: %s", err->message);
    set_manage_err(w, err->message);
    return;
  }
  ctl_eventf(&r->b, event_obj(w), r->k->kind, r->k->api_version, "Normal",
             "SuccessfulDelete", "Deleted pod: %s", name);
}

/* Pods of the ReplicaSets controlled by the same owner as this one (the
 * Deployment's), for ranking pods doubled up on a node. */
static size_t related_lists(struct work *w, const struct ctl_podlist **out,
                            size_t max) {
  struct rsc *r = w->r;
  json_object *refs = cj_arr(cj_obj(w->rs, "metadata"), "ownerReferences");
  const char *owner = NULL;
  for (size_t i = 0; i < cj_len(refs); i++)
    if (cj_bool(cj_at(refs, i), "controller", false))
      owner = cj_str(cj_at(refs, i), "uid");
  if (!owner || !kube_informer_has_index(r->inf, KUBE_INDEX_CONTROLLER_UID))
    return 0;
  size_t nk = 0;
  const char **keys = kube_informer_index_keys(
      r->inf, KUBE_INDEX_CONTROLLER_UID, owner, &nk, NULL);
  size_t n = 0;
  for (size_t i = 0; keys && i < nk && n < max; i++) {
    const kube_object_t *o = kube_informer_get(r->inf, keys[i]);
    const char *uid = o ? kube_object_uid(o) : NULL;
    if (uid)
      out[n++] = ctl_podstore_owned(r->pods, uid);
  }
  free(keys);
  return n;
}

static void delete_pods(struct ctl_sync *s, const struct ctl_pod **active,
                        size_t n_active, size_t diff) {
  struct work *w = s->data;
  struct rsc *r = w->r;
  const struct ctl_podlist *related[64];
  size_t n_related = related_lists(w, related, ARRAY_SIZE(related));
  const struct ctl_pod **victims =
      ctl_rs_pods_to_delete(active, n_active, diff, related, n_related);
  if (!victims) {
    s->result = -1;
    return;
  }
  const char **keys = calloc(diff ? diff : 1, sizeof *keys);
  if (!keys) {
    free(victims);
    s->result = -1;
    return;
  }
  for (size_t i = 0; i < diff; i++)
    keys[i] = victims[i]->key;
  /* Expect first: the deletions may be observed before the replies. */
  ctl_expect_deletions(&r->exp, s->key, keys, diff);
  for (size_t i = 0; i < diff; i++) {
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    const struct ctl_pod *p = victims[i];
    struct ctl_op *op = ctl_op_new(&r->b, s, deleted, p->key);
    if (!op || ctl_op_started(op, kube_writer_delete(r->b.w, r->pod_kind, p->ns,
                                                     p->name, NULL, ctl_op_cb,
                                                     op, &err)) < 0) {
      ctl_deletion_observed(&r->exp, s->key, keys[i]);
      set_manage_err(w, err.message ? err.message : "out of memory");
    }
  }
  free(keys);
  free(victims);
}

/* A claimed pod: active, ours (or adopted by this sync), in the
 * namespace and matching the selector. */
static bool claimed(struct work *w, const struct ctl_pod *p) {
  return ctl_pod_active(p) && streq(p->ns, w->ns) &&
         ctl_selector_matches_pairs(w->sel, p->labels);
}

/* Counts one claimed pod into the status (calculateStatus) and notes when
 * a ready pod becomes available. */
static void count_pod(struct work *w, const struct ctl_pod *p,
                      json_object *tlabels, int32_t min_ready, int64_t now) {
  if (ctl_map_subset_of_pairs(tlabels, p->labels))
    w->st_fully++;
  if (!p->ready)
    return;
  w->st_ready++;
  if (ctl_pod_available(p, min_ready, now)) {
    w->st_available++;
  } else if (p->ready_since_ns) {
    int64_t at = p->ready_since_ns + (int64_t)min_ready * 1000000000;
    if (!w->next_available_ns || at < w->next_available_ns)
      w->next_available_ns = at;
  }
}

static void step_manage(struct ctl_sync *s) {
  struct work *w = s->data;
  struct rsc *r = w->r;
  if (s->result < 0)
    return; /* claiming failed: no manage, no status (retried) */
  int64_t now = ctl_now_ns();
  json_object *spec = cj_obj(w->rs, "spec");
  int32_t min_ready = (int32_t)cj_int(spec, "minReadySeconds", 0);
  json_object *tlabels =
      cj_obj(cj_obj(cj_obj(spec, "template"), "metadata"), "labels");
  const struct ctl_podlist *owned = ctl_podstore_owned(r->pods, w->uid);
  const struct ctl_pod **active =
      calloc(owned->n + w->adopted.n + 1, sizeof *active);
  if (!active) {
    s->result = -1;
    return;
  }
  size_t n_active = 0;
  for (size_t i = 0; i < owned->n; i++)
    if (w->owned_match ? ctl_pod_active(owned->v[i]) &&
                             streq(owned->v[i]->ns, w->ns)
                       : claimed(w, owned->v[i]))
      active[n_active++] = owned->v[i];
  for (size_t i = 0; i < w->adopted.n; i++) {
    const struct ctl_pod *p = ctl_podstore_get(r->pods, w->adopted.v[i]);
    /* Already in the index when the cache saw the adoption. */
    if (p && claimed(w, p) && !(p->ctrl_uid && streq(p->ctrl_uid, w->uid)))
      active[n_active++] = p;
  }
  for (size_t i = 0; i < n_active; i++)
    count_pod(w, active[i], tlabels, min_ready, now);
  w->st_replicas = (int32_t)n_active;
  if (!w->needs_sync || w->deleting) {
    free(active);
    step_status(s);
    return;
  }
  int64_t diff = (int64_t)n_active - w->replicas;
  if (diff < 0) {
    int64_t n = -diff > RS_BURST_REPLICAS ? RS_BURST_REPLICAS : -diff;
    if (!(w->pod_body = pod_from_template(w))) {
      free(active);
      s->result = -1;
      return;
    }
    /* Expect them all before the first create: the informer may see a pod
     * before its create replies. */
    ctl_expect_creations(&r->exp, s->key, n);
    log_debug("%s: %s: too few replicas, need %d, creating %lld", r->k->name,
              s->key, w->replicas, (long long)n);
    w->manage_dir = 1;
    w->to_create = n;
    w->batch = first_batch(r, s->key);
    create_batch(s);
    s->drained = next_batch;
  } else if (diff > 0) {
    if (diff > RS_BURST_REPLICAS)
      diff = RS_BURST_REPLICAS;
    log_debug("%s: %s: too many replicas, need %d, deleting %lld", r->k->name,
              s->key, w->replicas, (long long)diff);
    w->manage_dir = -1;
    delete_pods(s, active, n_active, (size_t)diff);
    s->drained = step_status;
  } else {
    free(active);
    step_status(s);
    return;
  }
  free(active);
}

/* ---- status ---- */

static json_object *find_condition(json_object *conds, const char *type) {
  for (size_t i = 0; i < cj_len(conds); i++)
    if (streq(cj_str0(cj_at(conds, i), "type"), type))
      return cj_at(conds, i);
  return NULL;
}

static void status_written(struct ctl_op *op, const kube_object_t *res,
                           const kube_error_t *err) {
  struct work *w = op->sync->data;
  if (err) {
    log_debug("%s: status of %s: %s", w->r->k->name, op->sync->key,
              err->message);
    op->sync->result = -1;
  }
}

static void step_status(struct ctl_sync *s) {
  struct work *w = s->data;
  struct rsc *r = w->r;
  json_object *status = cj_obj(w->rs, "status");
  json_object *conds = cj_arr(status, "conditions");
  json_object *failure = find_condition(conds, "ReplicaFailure");
  json_object *nconds = ctl_json_copy(conds);
  bool conds_changed = false;
  if (w->manage_err && !failure) {
    /* calculateStatus: the reason says which way it failed. */
    const char *reason = w->st_replicas < w->replicas   ? "FailedCreate"
                         : w->st_replicas > w->replicas ? "FailedDelete"
                                                        : "";
    char now[40];
    json_object *c = json_object_new_object();
    if (!nconds)
      nconds = json_object_new_array();
    cj_set(c, "type", json_object_new_string("ReplicaFailure"));
    cj_set(c, "status", json_object_new_string("True"));
    cj_set(c, "lastTransitionTime",
           json_object_new_string(ctl_now_rfc3339(now, sizeof now)));
    cj_set(c, "reason", json_object_new_string(reason));
    cj_set(c, "message", json_object_new_string(w->manage_err));
    json_object_array_add(nconds, c);
    conds_changed = true;
  } else if (!w->manage_err && failure) {
    json_object *keep = json_object_new_array();
    for (size_t i = 0; i < cj_len(conds); i++)
      if (cj_at(conds, i) != failure)
        json_object_array_add(keep, json_object_get(cj_at(conds, i)));
    json_object_put(nconds);
    nconds = keep;
    conds_changed = true;
  }
  int64_t gen = cj_int(cj_obj(w->rs, "metadata"), "generation", 0);
  bool same = cj_int(status, "replicas", 0) == w->st_replicas &&
              cj_int(status, "fullyLabeledReplicas", 0) == w->st_fully &&
              cj_int(status, "readyReplicas", 0) == w->st_ready &&
              cj_int(status, "availableReplicas", 0) == w->st_available &&
              cj_int(status, "observedGeneration", 0) == gen && !conds_changed;
  if (!same) {
    json_object *obj = ctl_json_copy(w->rs);
    json_object *ns = obj ? ctl_json_ensure(obj, "status") : NULL;
    if (!ns) {
      json_object_put(obj);
      json_object_put(nconds);
      s->result = -1;
      return;
    }
    cj_set(ns, "replicas", json_object_new_int64(w->st_replicas));
    cj_set(ns, "fullyLabeledReplicas", json_object_new_int64(w->st_fully));
    cj_set(ns, "readyReplicas", json_object_new_int64(w->st_ready));
    cj_set(ns, "availableReplicas", json_object_new_int64(w->st_available));
    cj_set(ns, "observedGeneration", json_object_new_int64(gen));
    if (nconds && json_object_array_length(nconds)) {
      cj_set(ns, "conditions", nconds);
      nconds = NULL;
    } else {
      json_object_object_del(ns, "conditions");
    }
    kube_object_t *o = kube_object_wrap(obj);
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    struct ctl_op *op = o ? ctl_op_new(&r->b, s, status_written, NULL) : NULL;
    if (!op || ctl_op_started(
                   op, kube_writer_update_status(r->b.w, r->kk, w->ns, o, NULL,
                                                 ctl_op_cb, op, &err)) < 0)
      s->result = -1;
    kube_object_free(o);
  }
  json_object_put(nconds);
  if (w->manage_err) {
    s->result = -1;
    return;
  }
  /* Pods become available minReadySeconds after ready: look again when the
   * first of them does. */
  if (w->next_available_ns) {
    int64_t ms = (w->next_available_ns - ctl_now_ns()) / 1000000 + 1;
    kube_controller_enqueue_after(r->b.c, s->key, ms > 0 ? ms : 1, NULL);
  }
}

static int rs_sync(kube_controller_t *c, const char *key, void *arg) {
  struct rsc *r = arg;
  const kube_object_t *obj = kube_informer_get(r->inf, key);
  if (!obj) {
    ctl_expectations_delete(&r->exp, key);
    free(strmap_remove(&r->slow_start, key));
    return 0;
  }
  json_object *o = kube_object_json(obj);
  struct work *w = calloc(1, sizeof *w);
  struct ctl_sync *s = w ? ctl_sync_new(&r->b, key) : NULL;
  if (!s) {
    free(w);
    return -1;
  }
  s->data = w;
  s->free_data = work_free;
  w->r = r;
  w->rs = ctl_json_copy(o);
  w->ns = strdup(kube_object_namespace(obj) ?: "");
  w->name = strdup(kube_object_name(obj) ?: "");
  w->uid = strdup(kube_object_uid(obj) ?: "");
  if (!w->rs || !w->ns || !w->name || !w->uid) {
    s->result = -1;
    return ctl_sync_finish(s);
  }
  w->deleting = cj(cj_obj(o, "metadata"), "deletionTimestamp") != NULL;
  w->replicas = (int32_t)cj_int(cj_obj(o, "spec"), "replicas", 1);
  w->needs_sync = ctl_expectations_satisfied(&r->exp, key);
  int rc = claim(s, w);
  if (rc < 0)
    s->result = -1;
  else if (rc > 0)
    s->drained = NULL; /* invalid selector: done */
  return ctl_sync_finish(s);
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */
/* ------------------------------------------------------------------------ */

static void noop_map(kube_controller_t *c, const char *key,
                     const kube_object_t *obj, void *arg) {}

static void *rsc_create(kube_controller_manager_t *m, const struct rs_kind *k,
                        kube_error_t *err) {
  struct rsc *r = calloc(1, sizeof *r);
  if (!r) {
    kube_make_oom(err);
    return NULL;
  }
  r->k = k;
  r->kk = kube_kind_by_resource(k->group, k->version, k->resource);
  r->pod_kind = kube_kind_by_resource("", "v1", "pods");
  char path[128];
  snprintf(path, sizeof path, "%s/%s/%s", *k->group ? "/apis" : "/api",
           *k->group ? "apps/v1" : "v1", k->resource);
  if (!r->kk || !r->pod_kind) {
    kube_error_set(err, KUBE_REASON_INTERNAL, 0, "no %s kind", k->kind);
    free(r);
    return NULL;
  }
  if (ctl_base_init(&r->b, m, k->name, k->component, rs_sync, r, err) < 0) {
    free(r);
    return NULL;
  }
  if (!(r->inf = ctl_manager_informer(m, path, err)) ||
      kube_informer_add_index(r->inf, KUBE_INDEX_NAMESPACE,
                              kube_index_namespace, NULL, err) < 0 ||
      kube_informer_add_index(r->inf, KUBE_INDEX_CONTROLLER_UID,
                              kube_index_controller_uid, NULL, err) < 0 ||
      !(r->pods = ctl_manager_pods(m, err)) ||
      !(r->pod_inf = ctl_podstore_informer(r->pods)) ||
      kube_controller_watch(r->b.c, r->inf, NULL, NULL, err) < 0 ||
      /* Syncs wait for the pods too. */
      kube_controller_watch(r->b.c, r->pod_inf, noop_map, NULL, err) < 0 ||
      ctl_podstore_listen(r->pods, pod_changed, NULL, r, err) < 0) {
    ctl_podstore_unlisten(r->pods, r);
    ctl_base_clear(&r->b);
    free(r);
    return NULL;
  }
  return r;
}

static void *rs_create(kube_controller_manager_t *m, kube_error_t *err) {
  return rsc_create(m, &rs_kind, err);
}

static void *rc_create(kube_controller_manager_t *m, kube_error_t *err) {
  return rsc_create(m, &rc_kind, err);
}

static int rsc_start(void *impl, kube_error_t *err) {
  struct rsc *r = impl;
  return kube_controller_start(r->b.c, err);
}

static void rsc_free(void *impl) {
  struct rsc *r = impl;
  if (!r)
    return;
  ctl_podstore_unlisten(r->pods, r);
  ctl_base_clear(&r->b);
  ctl_expectations_clear(&r->exp);
  strmap_clear(&r->slow_start, free);
  free(r);
}

static kube_controller_t *rsc_controller(void *impl) {
  return ((struct rsc *)impl)->b.c;
}

const struct ctl_impl_ops ctl_replicaset_ops = {
    .create = rs_create,
    .start = rsc_start,
    .free = rsc_free,
    .controller = rsc_controller,
};

const struct ctl_impl_ops ctl_replication_ops = {
    .create = rc_create,
    .start = rsc_start,
    .free = rsc_free,
    .controller = rsc_controller,
};
