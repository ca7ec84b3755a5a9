/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Deployment controller, after kube-controller-manager's: a
 * Deployment owns ReplicaSets (adopted and released by selector like pods
 * by a ReplicaSet), the one whose template equals the Deployment's is the
 * new one (created as <name>-<pod-template-hash> with the next revision),
 * and a sync scales them as the strategy says, keeps revisionHistoryLimit
 * old ones, and writes the status with its Progressing and Available
 * conditions.
 *
 * kube-controller-manager does a sync's writes one after the other with
 * each result feeding the next step; here a sync is a chain of steps
 * (dstep_fn) joined by the writes they wait for, on working copies of the
 * Deployment and its ReplicaSets that the write results replace.
 */
#include "controller/deployment.h"

/* ------------------------------------------------------------------------ */
/* Working copies and writes                                                 */
/* ------------------------------------------------------------------------ */

static void dwork_free(void *v) {
  struct dwork *w = v;
  if (!w)
    return;
  json_object_put(w->d);
  json_object_put(w->pending_status);
  for (size_t i = 0; i < w->n_rs; i++)
    json_object_put(w->rss[i]);
  free(w->rss);
  for (size_t i = 0; i < w->adopt.n; i++)
    free(w->adopt.v[i]);
  free(w->adopt.v);
  for (size_t i = 0; i < w->release.n; i++)
    free(w->release.v[i]);
  free(w->release.v);
  free(w->ns);
  free(w->name);
  free(w->uid);
  free(w);
}

static void resume(struct ctl_sync *s) {
  struct dwork *w = s->data;
  dstep_fn t = w->then;
  w->then = NULL;
  if (s->result < 0 || !t)
    return;
  t(w);
}

void ctl_dw_wait(struct dwork *w, dstep_fn then) {
  w->then = then;
  w->s->drained = resume;
}

json_object *ctl_dw_new(struct dwork *w) {
  return w->new_idx >= 0 ? w->rss[w->new_idx] : NULL;
}

json_object **ctl_dw_old(struct dwork *w, size_t *n) {
  json_object **v = calloc(w->n_rs + 1, sizeof *v);
  *n = 0;
  for (size_t i = 0; v && i < w->n_rs; i++)
    if ((int)i != w->new_idx)
      v[(*n)++] = w->rss[i];
  return v;
}

size_t ctl_dw_index(struct dwork *w, json_object *rs) {
  for (size_t i = 0; i < w->n_rs; i++)
    if (w->rss[i] == rs)
      return i;
  return SIZE_MAX;
}

static int add_rs(struct dwork *w, json_object *rs) {
  if (w->n_rs == w->cap_rs) {
    size_t cap = w->cap_rs ? 2 * w->cap_rs : 8;
    json_object **v = realloc(w->rss, cap * sizeof *v);
    if (!v)
      return -1;
    w->rss = v;
    w->cap_rs = cap;
  }
  w->rss[w->n_rs++] = rs;
  return 0;
}

/* op->data of writes whose result replaces a working copy. */
struct slot {
  struct dwork *w;
  ssize_t idx; /* -1: the Deployment */
  bool fail_sync;
  int32_t old_scale, new_scale; /* scaling: the event after success */
};

static void replace_slot(struct ctl_op *op, const kube_object_t *res,
                         const kube_error_t *err) {
  struct slot *sl = op->data;
  struct dwork *w = sl->w;
  if (err) {
    log_debug("deployment: %s: writing %s: %s", op->sync->key,
              op->tag ? op->tag : "", err->message);
    if (sl->fail_sync)
      op->sync->result = -1;
    return;
  }
  json_object *copy = res ? ctl_json_copy(kube_object_json(res)) : NULL;
  if (!copy) {
    op->sync->result = -1;
    return;
  }
  json_object **target = sl->idx < 0 ? &w->d : &w->rss[sl->idx];
  json_object_put(*target);
  *target = copy;
  if (sl->idx >= 0 && sl->old_scale != sl->new_scale)
    ctl_eventf(&w->dc->b, w->d, "Deployment", "apps/v1", "Normal",
               "ScalingReplicaSet", "Scaled %s replica set %s from %d to %d",
               sl->old_scale < sl->new_scale ? "up" : "down",
               cj_str0(cj_obj(copy, "metadata"), "name"), sl->old_scale,
               sl->new_scale);
}

static struct ctl_op *slot_op(struct dwork *w, ssize_t idx, bool fail_sync,
                              const char *tag) {
  struct slot *sl = calloc(1, sizeof *sl);
  struct ctl_op *op =
      sl ? ctl_op_new(&w->dc->b, w->s, replace_slot, tag) : NULL;
  if (!op) {
    free(sl);
    return NULL;
  }
  *sl = (struct slot){.w = w, .idx = idx, .fail_sync = fail_sync};
  op->data = sl;
  op->free_data = free;
  return op;
}

/* PUT `tree` (borrowed) as ReplicaSet rss[idx]; its result replaces the
 * working copy.  A scaling records ScalingReplicaSet once written. */
static int update_rs_tree(struct dwork *w, size_t idx, json_object *tree,
                          bool fail_sync, int32_t old_scale,
                          int32_t new_scale) {
  struct dctl *dc = w->dc;
  kube_object_t *o = kube_object_wrap(json_object_get(tree));
  struct ctl_op *op =
      o ? slot_op(w, (ssize_t)idx, fail_sync, "replicaset") : NULL;
  if (op) {
    struct slot *sl = op->data;
    sl->old_scale = old_scale;
    sl->new_scale = new_scale;
  }
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  int rc =
      op ? ctl_op_started(op, kube_writer_update(dc->b.w, dc->rskind, w->ns, o,
                                                 NULL, ctl_op_cb, op, &err))
         : -1;
  kube_object_free(o);
  if (rc < 0 && fail_sync)
    w->s->result = -1;
  return rc;
}

int ctl_dw_update_rs(struct dwork *w, size_t idx, bool fail_sync) {
  return update_rs_tree(w, idx, w->rss[idx], fail_sync, 0, 0);
}

int ctl_dw_scale_rs(struct dwork *w, size_t idx, int32_t new_scale,
                    bool fail_sync) {
  json_object *rs = w->rss[idx];
  int32_t old = ctl_du_replicas(rs);
  int32_t want = ctl_du_replicas(w->d);
  int32_t max = want + ctl_du_max_surge(w->d);
  bool size = old != new_scale;
  if (!size && !ctl_du_replicas_annotations_need_update(rs, want, max))
    return 0;
  /* The change goes on a copy: the working copy (which callers may hold)
   * stays as read until the write's result replaces it. */
  json_object *copy = ctl_json_copy(rs);
  if (!copy) {
    if (fail_sync)
      w->s->result = -1;
    return -1;
  }
  cj_set(ctl_json_ensure(copy, "spec"), "replicas",
         json_object_new_int64(new_scale));
  ctl_du_set_replicas_annotations(copy, want, max);
  int rc = update_rs_tree(w, idx, copy, fail_sync, old, new_scale);
  json_object_put(copy);
  if (rc < 0)
    return -1;
  return size ? 1 : 0;
}

/* Write the Deployment: its revision annotation with a merge patch (the
 * status subresource keeps metadata as stored), then its status with a
 * PUT guarded by the resourceVersion of the copy the patch returned. */
static int patch_revision(struct dwork *w, const char *rev) {
  struct dctl *dc = w->dc;
  json_object *p = json_object_new_object();
  json_object *m = json_object_new_object();
  json_object *a = json_object_new_object();
  cj_set(a, CTL_REVISION_ANNOTATION, json_object_new_string(rev));
  cj_set(m, "annotations", a);
  cj_set(p, "metadata", m);
  cleanup_free char *text =
      strdup(json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN));
  json_object_put(p);
  struct ctl_op *op = text ? slot_op(w, -1, true, "deployment") : NULL;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  return op ? ctl_op_started(op,
                             kube_writer_patch(dc->b.w, dc->dkind, w->ns,
                                               w->name, NULL, KUBE_PATCH_MERGE,
                                               text, NULL, ctl_op_cb, op, &err))
            : -1;
}

static int put_status(struct dwork *w, json_object *status, bool fail_sync) {
  struct dctl *dc = w->dc;
  json_object *copy = ctl_json_copy(w->d);
  if (!copy)
    return -1;
  cj_set(copy, "status", json_object_get(status));
  kube_object_t *o = kube_object_wrap(copy);
  struct ctl_op *op = o ? slot_op(w, -1, fail_sync, "deployment status") : NULL;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  int rc = op ? ctl_op_started(
                    op, kube_writer_update_status(dc->b.w, dc->dkind, w->ns, o,
                                                  NULL, ctl_op_cb, op, &err))
              : -1;
  kube_object_free(o);
  return rc;
}

static void put_pending_status(struct dwork *w) {
  json_object *st = steal_pointer(&w->pending_status);
  if (st && put_status(w, st, true) < 0)
    w->s->result = -1;
  json_object_put(st);
  ctl_dw_wait(w, w->after_write);
}

/* Write the revision annotation (when `revision` is set) and then
 * `status` (stolen; NULL: none), then continue with `then`. */
static void write_deployment(struct dwork *w, json_object *status,
                             const char *revision, dstep_fn then) {
  json_object_put(w->pending_status);
  w->pending_status = status;
  w->after_write = then;
  if (revision) {
    if (patch_revision(w, revision) < 0) {
      w->s->result = -1;
      return;
    }
    ctl_dw_wait(w, put_pending_status);
    return;
  }
  put_pending_status(w);
}

/* ------------------------------------------------------------------------ */
/* getAllReplicaSetsAndSyncRevision                                          */
/* ------------------------------------------------------------------------ */

static void event(struct dwork *w, const char *type, const char *reason,
                  const char *msg) {
  ctl_eventf(&w->dc->b, w->d, "Deployment", "apps/v1", type, reason, "%s", msg);
}

static const char *annotation_of(json_object *o, const char *k) {
  return cj_str(cj_obj(cj_obj(o, "metadata"), "annotations"), k);
}

/* The revision the working copy of the Deployment should carry, when it
 * differs from the one it has (for patch_revision); NULL otherwise. */
static char *revision_to_write(struct dwork *w, const char *rev) {
  const char *cur = annotation_of(w->d, CTL_REVISION_ANNOTATION);
  if (!rev || (cur && streq(cur, rev)))
    return NULL;
  return strdup(rev);
}

static void new_rs_created(struct ctl_op *op, const kube_object_t *res,
                           const kube_error_t *err);

static json_object *controller_ref(struct dwork *w) {
  return ctl_controller_ref("apps/v1", "Deployment", w->name, w->uid);
}

/* The ReplicaSet a Deployment makes for its template. */
static json_object *new_rs_object(struct dwork *w, const char *hash,
                                  const char *revision) {
  json_object *dspec = cj_obj(w->d, "spec");
  json_object *tmpl = ctl_json_copy(cj_obj(dspec, "template"));
  json_object *sel = ctl_json_copy(cj_obj(dspec, "selector"));
  json_object *rs = json_object_new_object();
  if (!tmpl || !sel || !rs) {
    json_object_put(tmpl);
    json_object_put(sel);
    json_object_put(rs);
    return NULL;
  }
  json_object *tlabels =
      ctl_json_ensure(ctl_json_ensure(tmpl, "metadata"), "labels");
  cj_set(tlabels, CTL_HASH_LABEL, json_object_new_string(hash));
  cj_set(ctl_json_ensure(sel, "matchLabels"), CTL_HASH_LABEL,
         json_object_new_string(hash));
  char name[512];
  snprintf(name, sizeof name, "%s-%s", w->name, hash);
  json_object *meta = json_object_new_object();
  json_object *refs = json_object_new_array();
  json_object_array_add(refs, controller_ref(w));
  cj_set(meta, "name", json_object_new_string(name));
  cj_set(meta, "namespace", json_object_new_string(w->ns));
  cj_set(meta, "labels", ctl_json_copy(tlabels));
  cj_set(meta, "ownerReferences", refs);
  json_object *spec = json_object_new_object();
  cj_set(spec, "replicas", json_object_new_int64(0));
  cj_set(spec, "minReadySeconds",
         json_object_new_int64(cj_int(dspec, "minReadySeconds", 0)));
  cj_set(spec, "selector", sel);
  cj_set(spec, "template", tmpl);
  cj_set(rs, "apiVersion", json_object_new_string("apps/v1"));
  cj_set(rs, "kind", json_object_new_string("ReplicaSet"));
  cj_set(rs, "metadata", meta);
  cj_set(rs, "spec", spec);
  /* NewRSNewReplicas counts the new one (with 0) among all. */
  size_t n_old;
  json_object **all = ctl_dw_old(w, &n_old);
  int32_t replicas = 0;
  if (all) {
    all[n_old] = rs;
    if (ctl_du_new_rs_new_replicas(w->d, all, n_old + 1, rs, &replicas) < 0)
      replicas = 0;
  }
  free(all);
  cj_set(spec, "replicas", json_object_new_int64(replicas));
  ctl_du_set_new_rs_annotations(w->d, rs, revision, false);
  return rs;
}

struct create_ctx {
  struct dwork *w;
  char *revision;
  char *name;
  int32_t replicas;
};

static void create_ctx_free(void *v) {
  struct create_ctx *c = v;
  if (c) {
    free(c->revision);
    free(c->name);
  }
  free(c);
}

static bool namespace_terminating(const kube_error_t *err) {
  return err->message && strstr(err->message, "because it is being terminated");
}

/* The new ReplicaSet exists already (a slow cache, or a collision). */
static void create_conflict(struct dwork *w, struct create_ctx *c) {
  struct dctl *dc = w->dc;
  cleanup_free char *key = ctl_key(w->ns, c->name);
  const kube_object_t *o = key ? kube_informer_get(dc->rsinf, key) : NULL;
  json_object *rs = o ? kube_object_json(o) : NULL;
  json_object *refs = cj_arr(cj_obj(rs, "metadata"), "ownerReferences");
  bool ours = false;
  for (size_t i = 0; i < cj_len(refs); i++)
    if (cj_bool(cj_at(refs, i), "controller", false) &&
        streq(cj_str0(cj_at(refs, i), "uid"), w->uid))
      ours = true;
  if (rs && ours &&
      ctl_templates_equal_ignore_hash(cj_obj(cj_obj(w->d, "spec"), "template"),
                                      cj_obj(cj_obj(rs, "spec"), "template"))) {
    json_object *copy = ctl_json_copy(rs);
    if (!copy || add_rs(w, copy) < 0) {
      json_object_put(copy);
      w->s->result = -1;
      return;
    }
    w->new_idx = (int)w->n_rs - 1;
    cleanup_free char *rev = revision_to_write(w, c->revision);
    write_deployment(w, NULL, rev, w->after);
    return;
  }
  /* A hash collision: bump status.collisionCount and try again later with
   * the next name. */
  json_object *st = ctl_json_copy(cj_obj(w->d, "status"));
  if (!st)
    st = json_object_new_object();
  int64_t cc = cj_int(st, "collisionCount", 0);
  cj_set(st, "collisionCount", json_object_new_int64(cc + 1));
  log_info("deployment: %s/%s: hash collision on %s, collisionCount %lld",
           w->ns, w->name, c->name, (long long)(cc + 1));
  if (put_status(w, st, false) < 0)
    log_warn("deployment: %s/%s: cannot write collisionCount", w->ns, w->name);
  json_object_put(st);
  w->s->result = -1;
}

static void new_rs_created(struct ctl_op *op, const kube_object_t *res,
                           const kube_error_t *err) {
  struct create_ctx *c = op->data;
  struct dwork *w = c->w;
  if (err) {
    if (err->reason == KUBE_REASON_ALREADY_EXISTS) {
      create_conflict(w, c);
      return;
    }
    w->s->result = -1;
    if (namespace_terminating(err))
      return;
    cleanup_free char *msg = NULL;
    if (asprintf(&msg, "Failed to create new replica set \"%s\": %s", c->name,
                 err->message) < 0)
      return;
    if (ctl_du_has_progress_deadline(w->d)) {
      json_object *st = ctl_json_copy(cj_obj(w->d, "status"));
      if (!st)
        st = json_object_new_object();
      ctl_du_set_condition(st, "Progressing", "False", DR_FAILED_RS_CREATE,
                           msg);
      put_status(w, st, false);
      json_object_put(st);
    }
    event(w, "Warning", DR_FAILED_RS_CREATE, msg);
    return;
  }
  json_object *copy = res ? ctl_json_copy(kube_object_json(res)) : NULL;
  if (!copy || add_rs(w, copy) < 0) {
    json_object_put(copy);
    w->s->result = -1;
    return;
  }
  w->new_idx = (int)w->n_rs - 1;
  if (c->replicas > 0) {
    char msg[600];
    snprintf(msg, sizeof msg, "Scaled up replica set %s from 0 to %d",
             cj_str0(cj_obj(copy, "metadata"), "name"), c->replicas);
    event(w, "Normal", "ScalingReplicaSet", msg);
  }
  /* Revision and the NewReplicaSetCreated condition follow. */
  json_object *st = ctl_json_copy(cj_obj(w->d, "status"));
  if (!st)
    st = json_object_new_object();
  if (ctl_du_has_progress_deadline(w->d)) {
    char msg[600];
    snprintf(msg, sizeof msg, "Created new replica set \"%s\"",
             cj_str0(cj_obj(copy, "metadata"), "name"));
    ctl_du_set_condition(st, "Progressing", "True", DR_NEW_RS_CREATED, msg);
  }
  cleanup_free char *rev = revision_to_write(w, c->revision);
  write_deployment(w, st, rev, w->after);
}

/* getNewReplicaSet for an existing new ReplicaSet. */
static void sync_existing_new(struct dwork *w, const char *new_revision) {
  json_object *rs = ctl_dw_new(w);
  json_object *copy = ctl_json_copy(rs);
  if (!copy) {
    w->s->result = -1;
    return;
  }
  bool annotations =
      ctl_du_set_new_rs_annotations(w->d, copy, new_revision, true);
  int64_t dmrs = cj_int(cj_obj(w->d, "spec"), "minReadySeconds", 0);
  bool mrs = cj_int(cj_obj(copy, "spec"), "minReadySeconds", 0) != dmrs;
  if (annotations || mrs) {
    cj_set(ctl_json_ensure(copy, "spec"), "minReadySeconds",
           json_object_new_int64(dmrs));
    size_t idx = (size_t)w->new_idx;
    json_object_put(w->rss[idx]);
    w->rss[idx] = copy;
    /* kube-controller-manager returns the updated ReplicaSet here, the
     * Deployment's revision follows on the next sync. */
    if (ctl_dw_update_rs(w, idx, true) < 0)
      return;
    ctl_dw_wait(w, w->after);
    return;
  }
  json_object_put(copy);
  cleanup_free char *rev =
      revision_to_write(w, annotation_of(rs, CTL_REVISION_ANNOTATION));
  json_object *st = NULL;
  if (ctl_du_has_progress_deadline(w->d) &&
      !ctl_du_condition(cj_obj(w->d, "status"), "Progressing")) {
    char msg[600];
    snprintf(msg, sizeof msg, "Found new replica set \"%s\"",
             cj_str0(cj_obj(rs, "metadata"), "name"));
    st = ctl_json_copy(cj_obj(w->d, "status"));
    if (!st)
      st = json_object_new_object();
    ctl_du_set_condition(st, "Progressing", "True", DR_FOUND_NEW_RS, msg);
  }
  if (!rev && !st) {
    w->after(w);
    return;
  }
  write_deployment(w, st, rev, w->after);
}

void ctl_dw_get_all(struct dwork *w, bool create, dstep_fn after) {
  w->after = after;
  json_object *nrs = ctl_du_find_new(w->d, w->rss, w->n_rs);
  w->new_idx = nrs ? (int)ctl_dw_index(w, nrs) : -1;
  size_t n_old;
  json_object **old = ctl_dw_old(w, &n_old);
  if (!old) {
    w->s->result = -1;
    return;
  }
  char new_revision[32];
  snprintf(new_revision, sizeof new_revision, "%lld",
           (long long)(ctl_du_max_revision(old, n_old) + 1));
  free(old);
  if (nrs) {
    sync_existing_new(w, new_revision);
    return;
  }
  if (!create) {
    after(w);
    return;
  }
  /* Create it. */
  json_object *st = cj_obj(w->d, "status");
  json_object *ccv = cj(st, "collisionCount");
  int32_t cc = ccv ? (int32_t)json_object_get_int64(ccv) : 0;
  char hash[16];
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (ctl_template_hash(cj_obj(cj_obj(w->d, "spec"), "template"),
                        ccv ? &cc : NULL, hash, sizeof hash, &err) < 0) {
    log_warn("deployment: %s/%s: %s", w->ns, w->name, err.message);
    w->s->result = -1;
    return;
  }
  json_object *rs = new_rs_object(w, hash, new_revision);
  struct create_ctx *c = calloc(1, sizeof *c);
  struct ctl_op *op =
      rs && c ? ctl_op_new(&w->dc->b, w->s, new_rs_created, "replicaset")
              : NULL;
  if (!op) {
    free(c);
    json_object_put(rs);
    w->s->result = -1;
    return;
  }
  c->w = w;
  c->revision = strdup(new_revision);
  c->name = strdup(cj_str0(cj_obj(rs, "metadata"), "name"));
  c->replicas = ctl_du_replicas(rs);
  op->data = c;
  op->free_data = create_ctx_free;
  kube_object_t *o = kube_object_wrap(rs);
  int rc =
      ctl_op_started(op, kube_writer_create(w->dc->b.w, w->dc->rskind, w->ns, o,
                                            NULL, ctl_op_cb, op, &err));
  kube_object_free(o);
  if (rc < 0) {
    w->s->result = -1;
    return;
  }
  /* new_rs_created continues (with write_deployment) or fails. */
  w->then = NULL;
}

/* ------------------------------------------------------------------------ */
/* Status                                                                    */
/* ------------------------------------------------------------------------ */

/* calculateStatus: a new status tree (owned). */
static json_object *calculate_status(struct dwork *w) {
  json_object *nrs = ctl_dw_new(w);
  int32_t available = ctl_du_sum_status(w->rss, w->n_rs, "availableReplicas");
  int32_t total = ctl_du_sum_replicas(w->rss, w->n_rs);
  int32_t unavailable = total - available;
  if (unavailable < 0)
    unavailable = 0;
  json_object *old = cj_obj(w->d, "status");
  json_object *st = json_object_new_object();
  if (!st)
    return NULL;
  cj_set(
      st, "observedGeneration",
      json_object_new_int64(cj_int(cj_obj(w->d, "metadata"), "generation", 0)));
  cj_set(st, "replicas",
         json_object_new_int64(ctl_du_sum_status(w->rss, w->n_rs, "replicas")));
  cj_set(st, "updatedReplicas",
         json_object_new_int64(nrs ? ctl_du_status(nrs, "replicas") : 0));
  cj_set(st, "readyReplicas",
         json_object_new_int64(
             ctl_du_sum_status(w->rss, w->n_rs, "readyReplicas")));
  cj_set(st, "availableReplicas", json_object_new_int64(available));
  cj_set(st, "unavailableReplicas", json_object_new_int64(unavailable));
  if (cj(old, "collisionCount"))
    cj_set(st, "collisionCount", json_object_get(cj(old, "collisionCount")));
  json_object *conds = cj_arr(old, "conditions");
  if (conds)
    cj_set(st, "conditions", ctl_json_copy(conds));
  if (available >= ctl_du_replicas(w->d) - ctl_du_max_unavailable(w->d))
    ctl_du_set_condition(st, "Available", "True", DR_MIN_AVAILABLE,
                         "Deployment has minimum availability.");
  else
    ctl_du_set_condition(st, "Available", "False", DR_MIN_UNAVAILABLE,
                         "Deployment does not have minimum availability.");
  return st;
}

/* Status trees equal as Go structs: zero integers read as absent. */
static bool status_equal(json_object *a, json_object *b) {
  static const char *const ints[] = {
      "observedGeneration", "replicas",          "updatedReplicas",
      "readyReplicas",      "availableReplicas", "unavailableReplicas",
  };
  for (size_t i = 0; i < ARRAY_SIZE(ints); i++)
    if (cj_int(a, ints[i], 0) != cj_int(b, ints[i], 0))
      return false;
  json_object *ca = cj(a, "collisionCount"), *cb = cj(b, "collisionCount");
  if (!!ca != !!cb ||
      (ca && cb && json_object_get_int64(ca) != json_object_get_int64(cb)))
    return false;
  json_object *ka = cj_arr(a, "conditions"), *kb = cj_arr(b, "conditions");
  if (cj_len(ka) != cj_len(kb))
    return false;
  for (size_t i = 0; i < cj_len(ka); i++)
    if (!json_object_equal(cj_at(ka, i), cj_at(kb, i)))
      return false;
  return true;
}

static void finish(struct dwork *w) {
  (void)w; /* the sync ends with the writes in flight */
}

void ctl_dw_sync_status(struct dwork *w) {
  json_object *st = calculate_status(w);
  if (!st) {
    w->s->result = -1;
    return;
  }
  if (!status_equal(cj_obj(w->d, "status"), st) && put_status(w, st, true) < 0)
    w->s->result = -1;
  json_object_put(st);
  ctl_dw_wait(w, finish);
}

/* requeueStuckDeployment */
static void requeue_stuck(struct dwork *w, json_object *new_status) {
  json_object *cur = ctl_du_condition(cj_obj(w->d, "status"), "Progressing");
  if (!ctl_du_has_progress_deadline(w->d) || !cur)
    return;
  if (ctl_du_complete(w->d, new_status) ||
      streq(cj_str0(cur, "reason"), DR_TIMED_OUT))
    return;
  int64_t deadline = cj_int(cj_obj(w->d, "spec"), "progressDeadlineSeconds", 0);
  int64_t after_ns = ctl_time_ns(cj_str(cur, "lastUpdateTime")) +
                     deadline * 1000000000LL - ctl_now_ns();
  kube_controller_t *c = w->dc->b.c;
  if (after_ns < 1000000000LL) {
    kube_workqueue_add_rate_limited(kube_controller_queue(c), w->s->key, NULL);
    return;
  }
  kube_controller_enqueue_after(c, w->s->key, after_ns / 1000000 + 1000, NULL);
}

void ctl_dw_sync_rollout_status(struct dwork *w) {
  json_object *st = calculate_status(w);
  if (!st) {
    w->s->result = -1;
    return;
  }
  json_object *nrs = ctl_dw_new(w);
  const char *nrs_name = nrs ? cj_str0(cj_obj(nrs, "metadata"), "name") : NULL;
  if (!ctl_du_has_progress_deadline(w->d))
    ctl_du_remove_condition(st, "Progressing");
  json_object *cur = ctl_du_condition(cj_obj(w->d, "status"), "Progressing");
  bool complete_before =
      cj_int(st, "replicas", 0) == cj_int(st, "updatedReplicas", 0) && cur &&
      streq(cj_str0(cur, "reason"), DR_NEW_RS_AVAILABLE);
  char msg[600];
  if (ctl_du_has_progress_deadline(w->d) && !complete_before) {
    if (ctl_du_complete(w->d, st)) {
      if (nrs_name)
        snprintf(msg, sizeof msg,
                 "ReplicaSet \"%s\" has successfully progressed.", nrs_name);
      else
        snprintf(msg, sizeof msg,
                 "Deployment \"%s\" has successfully progressed.", w->name);
      ctl_du_set_condition(st, "Progressing", "True", DR_NEW_RS_AVAILABLE, msg);
    } else if (ctl_du_progressing(w->d, st)) {
      if (nrs_name)
        snprintf(msg, sizeof msg, "ReplicaSet \"%s\" is progressing.",
                 nrs_name);
      else
        snprintf(msg, sizeof msg, "Deployment \"%s\" is progressing.", w->name);
      /* Progress refreshes lastUpdateTime even with the same reason; a
       * True condition keeps its transition time. */
      cleanup_free char *transition =
          cur && streq(cj_str0(cur, "status"), "True") &&
                  cj_str(cur, "lastTransitionTime")
              ? strdup(cj_str(cur, "lastTransitionTime"))
              : NULL;
      ctl_du_remove_condition(st, "Progressing");
      ctl_du_set_condition(st, "Progressing", "True", DR_RS_UPDATED, msg);
      json_object *nc = ctl_du_condition(st, "Progressing");
      if (transition && nc)
        cj_set(nc, "lastTransitionTime", json_object_new_string(transition));
    } else if (ctl_du_timed_out(w->d, st)) {
      if (nrs_name)
        snprintf(msg, sizeof msg,
                 "ReplicaSet \"%s\" has timed out progressing.", nrs_name);
      else
        snprintf(msg, sizeof msg,
                 "Deployment \"%s\" has timed out progressing.", w->name);
      ctl_du_set_condition(st, "Progressing", "False", DR_TIMED_OUT, msg);
    }
  }
  /* ReplicaFailure conditions of the ReplicaSets, the new one's first. */
  json_object *failure = NULL;
  if (nrs)
    failure = ctl_du_condition(cj_obj(nrs, "status"), "ReplicaFailure");
  for (size_t i = 0; !failure && i < w->n_rs; i++)
    failure = ctl_du_condition(cj_obj(w->rss[i], "status"), "ReplicaFailure");
  if (failure) {
    json_object *c = json_object_new_object();
    cj_set(c, "type", json_object_new_string("ReplicaFailure"));
    cj_set(c, "status", json_object_new_string(cj_str0(failure, "status")));
    cj_set(c, "lastUpdateTime",
           json_object_new_string(cj_str0(failure, "lastTransitionTime")));
    cj_set(c, "lastTransitionTime",
           json_object_new_string(cj_str0(failure, "lastTransitionTime")));
    cj_set(c, "reason", json_object_new_string(cj_str0(failure, "reason")));
    cj_set(c, "message", json_object_new_string(cj_str0(failure, "message")));
    json_object *have = ctl_du_condition(st, "ReplicaFailure");
    if (!have || !streq(cj_str0(have, "status"), cj_str0(c, "status")) ||
        !streq(cj_str0(have, "reason"), cj_str0(c, "reason"))) {
      ctl_du_remove_condition(st, "ReplicaFailure");
      json_object *arr = cj_arr(st, "conditions");
      if (!arr) {
        arr = json_object_new_array();
        cj_set(st, "conditions", arr);
      }
      json_object_array_add(arr, c);
    } else {
      json_object_put(c);
    }
  } else {
    ctl_du_remove_condition(st, "ReplicaFailure");
  }
  if (status_equal(cj_obj(w->d, "status"), st)) {
    requeue_stuck(w, st);
  } else if (put_status(w, st, true) < 0) {
    w->s->result = -1;
  }
  json_object_put(st);
  ctl_dw_wait(w, finish);
}

/* ------------------------------------------------------------------------ */
/* cleanupDeployment                                                         */
/* ------------------------------------------------------------------------ */

static void rs_deleted(struct ctl_op *op, const kube_object_t *res,
                       const kube_error_t *err) {
  /* Gone already is fine; anything else is retried with the sync. */
  if (err && err->reason != KUBE_REASON_NOT_FOUND)
    op->sync->result = -1;
}

void ctl_dw_cleanup(struct dwork *w, dstep_fn then) {
  json_object *lim = cj(cj_obj(w->d, "spec"), "revisionHistoryLimit");
  if (!lim || !json_object_is_type(lim, json_type_int) ||
      json_object_get_int64(lim) == INT32_MAX) {
    then(w);
    return;
  }
  size_t n_old;
  json_object **old = ctl_dw_old(w, &n_old);
  if (!old) {
    w->s->result = -1;
    return;
  }
  size_t n = 0;
  for (size_t i = 0; i < n_old; i++)
    if (!ctl_du_deleting(old[i]))
      old[n++] = old[i];
  int64_t diff = (int64_t)n - json_object_get_int64(lim);
  if (diff > 0) {
    ctl_du_sort_by_revision(old, n);
    for (int64_t i = 0; i < diff; i++) {
      json_object *rs = old[i];
      if (ctl_du_status(rs, "replicas") != 0 || ctl_du_replicas(rs) != 0 ||
          cj_int(cj_obj(rs, "metadata"), "generation", 0) >
              ctl_du_status(rs, "observedGeneration"))
        continue;
      const char *name = cj_str0(cj_obj(rs, "metadata"), "name");
      log_debug("deployment: %s/%s: cleaning up replica set %s", w->ns, w->name,
                name);
      cleanup_error kube_error_t err = KUBE_ERROR_INIT;
      struct ctl_op *op = ctl_op_new(&w->dc->b, w->s, rs_deleted, name);
      if (!op || ctl_op_started(op, kube_writer_delete(
                                        w->dc->b.w, w->dc->rskind, w->ns, name,
                                        NULL, ctl_op_cb, op, &err)) < 0)
        w->s->result = -1;
    }
  }
  free(old);
  ctl_dw_wait(w, then);
}

/* ------------------------------------------------------------------------ */
/* The sync                                                                  */
/* ------------------------------------------------------------------------ */

static void after_claim(struct dwork *w);
static void after_paused(struct dwork *w);

static void check_scaling(struct dwork *w) {
  /* isScalingEvent: an active ReplicaSet annotated with another desired
   * size than the Deployment's. */
  bool scaling = false;
  for (size_t i = 0; i < w->n_rs && !scaling; i++) {
    int32_t desired;
    if (ctl_du_replicas(w->rss[i]) > 0 &&
        ctl_du_desired_annotation(w->rss[i], &desired) &&
        desired != ctl_du_replicas(w->d))
      scaling = true;
  }
  if (scaling) {
    ctl_dw_scale(w, ctl_dw_sync_status);
    return;
  }
  if (ctl_du_rolling(w->d))
    ctl_dw_rollout_rolling(w);
  else
    ctl_dw_rollout_recreate(w);
}

static void paused_cleanup(struct dwork *w) {
  ctl_dw_cleanup(w, ctl_dw_sync_status);
}

static void paused_sync(struct dwork *w) {
  ctl_dw_scale(w, paused_cleanup);
}

static void after_paused(struct dwork *w) {
  bool paused = cj_bool(cj_obj(w->d, "spec"), "paused", false);
  ctl_dw_get_all(w, false, paused ? paused_sync : check_scaling);
}

/* checkPausedConditions: a paused (resumed) Deployment says so in its
 * Progressing condition, so the time paused never counts as no progress. */
static void check_paused(struct dwork *w) {
  if (!ctl_du_has_progress_deadline(w->d)) {
    after_paused(w);
    return;
  }
  json_object *cond = ctl_du_condition(cj_obj(w->d, "status"), "Progressing");
  if (cond && streq(cj_str0(cond, "reason"), DR_TIMED_OUT)) {
    after_paused(w);
    return;
  }
  bool paused = cj_bool(cj_obj(w->d, "spec"), "paused", false);
  bool paused_cond = cond && streq(cj_str0(cond, "reason"), DR_PAUSED);
  if (paused == paused_cond) {
    after_paused(w);
    return;
  }
  json_object *st = ctl_json_copy(cj_obj(w->d, "status"));
  if (!st)
    st = json_object_new_object();
  if (paused)
    ctl_du_set_condition(st, "Progressing", "Unknown", DR_PAUSED,
                         "Deployment is paused");
  else
    ctl_du_set_condition(st, "Progressing", "Unknown", DR_RESUMED,
                         "Deployment is resumed");
  write_deployment(w, st, NULL, after_paused);
}

static void after_claim(struct dwork *w) {
  if (ctl_du_deleting(w->d)) {
    ctl_dw_get_all(w, false, ctl_dw_sync_status);
    return;
  }
  check_paused(w);
}

/* ---- claiming ReplicaSets (ControllerRefManager) ---- */

static int strv_push(char ***v, size_t *n, const char *s) {
  char **nv = realloc(*v, (*n + 1) * sizeof *nv);
  if (!nv)
    return -1;
  *v = nv;
  if (!(nv[*n] = strdup(s)))
    return -1;
  (*n)++;
  return 0;
}

struct claim_ctx {
  struct dwork *w;
  kube_selector_t *sel;
  bool failed;
};

static bool owned_by(json_object *o, const char *uid, bool *has_controller) {
  json_object *refs = cj_arr(cj_obj(o, "metadata"), "ownerReferences");
  *has_controller = false;
  for (size_t i = 0; i < cj_len(refs); i++) {
    json_object *r = cj_at(refs, i);
    if (!cj_bool(r, "controller", false))
      continue;
    *has_controller = true;
    return streq(cj_str0(r, "uid"), uid);
  }
  return false;
}

static char *const *labels_pairs(json_object *labels, char ***store) {
  size_t n = labels ? (size_t)json_object_object_length(labels) : 0;
  char **p = calloc(2 * n + 1, sizeof *p);
  size_t i = 0;
  if (p && n) {
    json_object_object_foreach(labels, k, v) {
      p[i++] = (char *)k;
      p[i++] = (char *)(json_object_get_string(v) ?: "");
    }
  }
  *store = p;
  return p;
}

static void claim_one(const char *key, const kube_object_t *obj, void *arg) {
  struct claim_ctx *c = arg;
  struct dwork *w = c->w;
  json_object *o = kube_object_json(obj);
  bool has_ctrl;
  bool ours = owned_by(o, w->uid, &has_ctrl);
  char **pairs;
  labels_pairs(cj_obj(cj_obj(o, "metadata"), "labels"), &pairs);
  bool match = pairs && ctl_selector_matches_pairs(c->sel, pairs);
  free(pairs);
  if (ours) {
    if (match) {
      json_object *copy = ctl_json_copy(o);
      if (!copy || add_rs(w, copy) < 0) {
        json_object_put(copy);
        c->failed = true;
      }
    } else if (!ctl_du_deleting(w->d) &&
               strv_push(&w->release.v, &w->release.n, key) < 0) {
      c->failed = true;
    }
    return;
  }
  if (has_ctrl || !match || ctl_du_deleting(w->d) || ctl_du_deleting(o))
    return;
  if (strv_push(&w->adopt.v, &w->adopt.n, key) < 0)
    c->failed = true;
}

static void recheck_done(struct ctl_op *op, const kube_object_t *res,
                         const kube_error_t *err) {
  struct dwork *w = op->sync->data;
  if (err) {
    if (err->reason != KUBE_REASON_NOT_FOUND)
      op->sync->result = -1;
    return;
  }
  w->recheck_ok = res && streq(kube_object_uid(res) ?: "", w->uid) &&
                  !ctl_du_deleting(kube_object_json(res));
}

static void rs_patched(struct ctl_op *op, const kube_object_t *res,
                       const kube_error_t *err) {
  struct dwork *w = op->sync->data;
  if (err) {
    if (err->reason != KUBE_REASON_NOT_FOUND)
      op->sync->result = -1;
    return;
  }
  /* Adopted: one of ours now. */
  if (op->data && res) {
    json_object *copy = ctl_json_copy(kube_object_json(res));
    if (!copy || add_rs(w, copy) < 0) {
      json_object_put(copy);
      op->sync->result = -1;
    }
  }
}

static void patch_owner(struct dwork *w, const char *key, bool adopt) {
  struct dctl *dc = w->dc;
  const kube_object_t *o = kube_informer_get(dc->rsinf, key);
  if (!o)
    return;
  cleanup_free char *patch =
      ctl_owner_patch(kube_object_json(o), adopt ? controller_ref(w) : NULL,
                      adopt ? NULL : w->uid);
  struct ctl_op *op = patch ? ctl_op_new(&dc->b, w->s, rs_patched, key) : NULL;
  if (!op) {
    w->s->result = -1;
    return;
  }
  op->data = adopt ? (void *)1 : NULL;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (ctl_op_started(op, kube_writer_patch(dc->b.w, dc->rskind, w->ns,
                                           kube_object_name(o), NULL,
                                           KUBE_PATCH_MERGE, patch, NULL,
                                           ctl_op_cb, op, &err)) < 0)
    w->s->result = -1;
}

static void adopt_step(struct dwork *w) {
  if (!w->recheck_ok && w->adopt.n)
    log_debug("deployment: %s/%s changed or is being deleted: adopting nothing",
              w->ns, w->name);
  for (size_t i = 0; w->recheck_ok && i < w->adopt.n; i++)
    patch_owner(w, w->adopt.v[i], true);
  for (size_t i = 0; i < w->release.n; i++)
    patch_owner(w, w->release.v[i], false);
  ctl_dw_wait(w, after_claim);
}

static int claim(struct dwork *w) {
  struct dctl *dc = w->dc;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  struct claim_ctx c = {.w = w};
  c.sel = ctl_label_selector(cj_obj(cj_obj(w->d, "spec"), "selector"), &err);
  if (!c.sel) {
    log_warn("deployment %s/%s has invalid label selector: %s", w->ns, w->name,
             err.message);
    return -1;
  }
  kube_informer_index_foreach(dc->rsinf, KUBE_INDEX_NAMESPACE, w->ns, claim_one,
                              &c);
  kube_selector_free(c.sel);
  if (c.failed)
    return -1;
  if (w->adopt.n) {
    cleanup_free char *path = kube_client_path(dc->dkind, w->ns, w->name, NULL);
    struct ctl_op *op =
        path ? ctl_op_new(&dc->b, w->s, recheck_done, NULL) : NULL;
    if (!op ||
        ctl_op_started(op, kube_writer_send(dc->b.w, "GET", path, NULL, NULL, 0,
                                            ctl_op_cb, op, &err)) < 0)
      return -1;
  }
  ctl_dw_wait(w, adopt_step);
  return 0;
}

static bool selects_all(json_object *sel) {
  json_object *ml = cj(sel, "matchLabels"), *me = cj(sel, "matchExpressions");
  return (!ml || json_object_is_type(ml, json_type_null) ||
          (json_object_is_type(ml, json_type_object) &&
           !json_object_object_length(ml))) &&
         (!me || json_object_is_type(me, json_type_null) ||
          (json_object_is_type(me, json_type_array) &&
           !json_object_array_length(me)));
}

static int d_sync(kube_controller_t *c, const char *key, void *arg) {
  struct dctl *dc = arg;
  const kube_object_t *obj = kube_informer_get(dc->dinf, key);
  if (!obj)
    return 0; /* deleted: the garbage collector takes its ReplicaSets */
  struct dwork *w = calloc(1, sizeof *w);
  struct ctl_sync *s = w ? ctl_sync_new(&dc->b, key) : NULL;
  if (!s) {
    free(w);
    return -1;
  }
  s->data = w;
  s->free_data = dwork_free;
  w->dc = dc;
  w->s = s;
  w->new_idx = -1;
  w->d = ctl_json_copy(kube_object_json(obj));
  w->ns = strdup(kube_object_namespace(obj) ?: "");
  w->name = strdup(kube_object_name(obj) ?: "");
  w->uid = strdup(kube_object_uid(obj) ?: "");
  if (!w->d || !w->ns || !w->name || !w->uid) {
    s->result = -1;
    return ctl_sync_finish(s);
  }
  json_object *sel = cj_obj(cj_obj(w->d, "spec"), "selector");
  if (selects_all(sel)) {
    event(w, "Warning", "SelectingAll",
          "This deployment is selecting all pods. A non-empty selector is "
          "required.");
    int64_t gen = cj_int(cj_obj(w->d, "metadata"), "generation", 0);
    if (ctl_du_status(w->d, "observedGeneration") < gen) {
      json_object *st = ctl_json_copy(cj_obj(w->d, "status"));
      if (!st)
        st = json_object_new_object();
      cj_set(st, "observedGeneration", json_object_new_int64(gen));
      if (put_status(w, st, true) < 0)
        s->result = -1;
      json_object_put(st);
    }
    return ctl_sync_finish(s);
  }
  if (claim(w) < 0)
    s->result = -1;
  return ctl_sync_finish(s);
}

/* ------------------------------------------------------------------------ */
/* Events                                                                    */
/* ------------------------------------------------------------------------ */

static bool deployment_matches(json_object *d, json_object *labels) {
  kube_selector_t *sel =
      ctl_label_selector(cj_obj(cj_obj(d, "spec"), "selector"), NULL);
  char **pairs;
  labels_pairs(labels, &pairs);
  bool m = sel && pairs && !kube_selector_empty(sel) &&
           ctl_selector_matches_pairs(sel, pairs);
  free(pairs);
  kube_selector_free(sel);
  return m;
}

struct rs_event {
  struct dctl *dc;
  json_object *labels;
};

static void enqueue_if_selects(const char *key, const kube_object_t *obj,
                               void *arg) {
  struct rs_event *e = arg;
  if (deployment_matches(kube_object_json(obj), e->labels))
    kube_controller_enqueue(e->dc->b.c, key, NULL);
}

/* The Deployment that controls a ReplicaSet (its key, owned), or NULL. */
static char *owner_of_rs(struct dctl *dc, json_object *rs) {
  json_object *refs = cj_arr(cj_obj(rs, "metadata"), "ownerReferences");
  for (size_t i = 0; i < cj_len(refs); i++) {
    json_object *r = cj_at(refs, i);
    if (!cj_bool(r, "controller", false))
      continue;
    if (!streq(cj_str0(r, "kind"), "Deployment"))
      return NULL;
    char *key = ctl_key(cj_str0(cj_obj(rs, "metadata"), "namespace"),
                        cj_str0(r, "name"));
    const kube_object_t *d = key ? kube_informer_get(dc->dinf, key) : NULL;
    if (!d || !streq(kube_object_uid(d) ?: "", cj_str0(r, "uid"))) {
      free(key);
      return NULL;
    }
    return key;
  }
  return NULL;
}

static void rs_changed(kube_controller_t *c, const char *key,
                       const kube_object_t *obj, void *arg) {
  struct dctl *dc = arg;
  json_object *rs = kube_object_json(obj);
  bool has_ctrl;
  owned_by(rs, "", &has_ctrl);
  if (has_ctrl) {
    cleanup_free char *dkey = owner_of_rs(dc, rs);
    if (dkey)
      kube_controller_enqueue(c, dkey, NULL);
    return;
  }
  /* An orphan: every Deployment that would adopt it. */
  struct rs_event e = {dc, cj_obj(cj_obj(rs, "metadata"), "labels")};
  kube_informer_index_foreach(dc->dinf, KUBE_INDEX_NAMESPACE,
                              cj_str0(cj_obj(rs, "metadata"), "namespace"),
                              enqueue_if_selects, &e);
}

/* A pod went away: a Recreate Deployment may be waiting for its old pods
 * to be gone. */
static void pod_changed(const struct ctl_pod *old, const struct ctl_pod *cur,
                        void *arg) {
  struct dctl *dc = arg;
  if (cur || !old->ctrl_kind || !streq(old->ctrl_kind, "ReplicaSet"))
    return;
  cleanup_free char *rskey = ctl_key(old->ns, old->ctrl_name);
  const kube_object_t *rs = rskey ? kube_informer_get(dc->rsinf, rskey) : NULL;
  cleanup_free char *dkey = rs ? owner_of_rs(dc, kube_object_json(rs)) : NULL;
  const kube_object_t *d = dkey ? kube_informer_get(dc->dinf, dkey) : NULL;
  if (d && !ctl_du_rolling(kube_object_json(d)))
    kube_controller_enqueue(dc->b.c, dkey, NULL);
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */
/* ------------------------------------------------------------------------ */

static void *d_create(kube_controller_manager_t *m, kube_error_t *err) {
  struct dctl *dc = calloc(1, sizeof *dc);
  if (!dc) {
    kube_make_oom(err);
    return NULL;
  }
  dc->dkind = kube_kind_by_resource("apps", "v1", "deployments");
  dc->rskind = kube_kind_by_resource("apps", "v1", "replicasets");
  if (!dc->dkind || !dc->rskind) {
    free(dc);
    kube_error_set(err, KUBE_REASON_INTERNAL, 0, "no apps/v1 kinds");
    return NULL;
  }
  if (ctl_base_init(&dc->b, m, "deployment", "deployment-controller", d_sync,
                    dc, err) < 0) {
    free(dc);
    return NULL;
  }
  kube_informer_t *pod_inf;
  if (!(dc->dinf = ctl_manager_informer(m, "/apis/apps/v1/deployments", err)) ||
      !(dc->rsinf =
            ctl_manager_informer(m, "/apis/apps/v1/replicasets", err)) ||
      kube_informer_add_index(dc->dinf, KUBE_INDEX_NAMESPACE,
                              kube_index_namespace, NULL, err) < 0 ||
      kube_informer_add_index(dc->rsinf, KUBE_INDEX_NAMESPACE,
                              kube_index_namespace, NULL, err) < 0 ||
      !(dc->pods = ctl_manager_pods(m, err)) ||
      !(pod_inf = ctl_podstore_informer(dc->pods)) ||
      kube_controller_watch(dc->b.c, dc->dinf, NULL, NULL, err) < 0 ||
      kube_controller_watch(dc->b.c, dc->rsinf, rs_changed, dc, err) < 0 ||
      kube_controller_watch(dc->b.c, pod_inf, ctl_map_nothing, NULL, err) < 0 ||
      ctl_podstore_listen(dc->pods, pod_changed, NULL, dc, err) < 0) {
    ctl_podstore_unlisten(dc->pods, dc);
    ctl_base_clear(&dc->b);
    free(dc);
    return NULL;
  }
  return dc;
}

static int d_start(void *impl, kube_error_t *err) {
  return kube_controller_start(((struct dctl *)impl)->b.c, err);
}

static void d_free(void *impl) {
  struct dctl *dc = impl;
  if (!dc)
    return;
  ctl_podstore_unlisten(dc->pods, dc);
  ctl_base_clear(&dc->b);
  free(dc);
}

static kube_controller_t *d_controller(void *impl) {
  return ((struct dctl *)impl)->b.c;
}

const struct ctl_impl_ops ctl_deployment_ops = {
    .create = d_create,
    .start = d_start,
    .free = d_free,
    .controller = d_controller,
};
