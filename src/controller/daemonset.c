/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The DaemonSet controller (kube-controller-manager's "daemonset"): one
 * pod on every node that should run it (daemonset-nodes.c), pinned to the
 * node by node affinity so that the scheduler binds it; failed pods and
 * pods on nodes that no longer qualify deleted, extra pods on a node
 * deleted (the oldest kept); expectations so that nothing is created
 * twice.  Pods carry the template's hash as controller-revision-hash; the
 * RollingUpdate strategy replaces old pods node by node within
 * maxUnavailable (deleting first) or maxSurge (the new pod first, the old
 * one once it is available); OnDelete replaces a pod only once someone
 * deleted it.  Status: desired/current/misscheduled/ready/available/
 * unavailable/updated counts and observedGeneration, which `kubectl
 * rollout status ds` reads.
 *
 * History (constructHistory, cleanupHistory; history.c): the revision of
 * the current template is found or made (a rollback renumbers the old
 * one), its controller-revision-hash is what pods carry, and old revisions
 * no pod runs go beyond revisionHistoryLimit, so that `kubectl rollout
 * history|undo ds` work.  A name taken by another revision raises
 * status.collisionCount, which changes the hash.
 */
#include "controller/daemonset.h"
#include "controller/deployment.h"
#include "controller/history.h"

#define DS_BURST 500

struct dsc {
  struct ctl_base b;
  const kube_kind_t *dk, *pod_kind;
  kube_informer_t *inf, *nodes, *pod_inf;
  struct ctl_podstore *pods;
  struct ctl_expectations exp;
  struct ctl_history hist;
};

static const char *ds_kind = "DaemonSet";
static const char *ds_av = "apps/v1";

/* ------------------------------------------------------------------------ */
/* Events                                                                    */
/* ------------------------------------------------------------------------ */

static void pod_changed(const struct ctl_pod *old, const struct ctl_pod *cur,
                        void *arg) {
  struct dsc *d = arg;
  const struct ctl_pod *p = cur ? cur : old;
  if (old && cur && streq(old->resource_version, cur->resource_version))
    return;
  cleanup_free char *key = ctl_pod_owner_key(d->inf, ds_kind, p);
  if (!key)
    return;
  ctl_pod_observe(&d->exp, key, old, cur);
  kube_controller_enqueue(d->b.c, key, NULL);
  int32_t mrs;
  const kube_object_t *o;
  if (old && cur && !old->ready && cur->ready &&
      (o = kube_informer_get(d->inf, key)) &&
      (mrs = (int32_t)cj_int(cj_obj(kube_object_json(o), "spec"),
                             "minReadySeconds", 0)) > 0)
    kube_controller_enqueue_after(d->b.c, key, (int64_t)mrs * 1000 + 1000,
                                  NULL);
}

static void enqueue_one(const char *key, const kube_object_t *obj, void *arg) {
  kube_controller_enqueue(arg, key, NULL);
}

/* A node came, went or changed (labels, taints): every DaemonSet looks. */
static void node_changed(kube_controller_t *c, const char *key,
                         const kube_object_t *obj, void *arg) {
  struct dsc *d = arg;
  kube_informer_foreach(d->inf, enqueue_one, c);
}

/* ------------------------------------------------------------------------ */
/* A sync                                                                    */
/* ------------------------------------------------------------------------ */

struct dswork {
  struct dsc *d;
  json_object *ds;
  char *ns, *name, *uid;
  char hash[64];
};

static void dswork_free(void *v) {
  struct dswork *w = v;
  if (!w)
    return;
  json_object_put(w->ds);
  free(w->ns);
  free(w->name);
  free(w->uid);
  free(w);
}

/* The DaemonSet's pods on one node. */
struct nodepods {
  char *node; /* owned */
  bool should_run;
  const struct ctl_pod *v[8];
  size_t n;
};

static void created(struct ctl_op *op, const kube_object_t *res,
                    const kube_error_t *err) {
  struct dswork *w = op->sync->data;
  if (err) {
    ctl_creation_observed(&w->d->exp, op->sync->key);
    ctl_eventf(&w->d->b, w->ds, ds_kind, ds_av, "Warning", "FailedCreate",
               "Error creating: %s", err->message);
    op->sync->result = -1;
    return;
  }
  ctl_eventf(&w->d->b, w->ds, ds_kind, ds_av, "Normal", "SuccessfulCreate",
             "Created pod: %s", res ? kube_object_name(res) : "");
}

static void deleted(struct ctl_op *op, const kube_object_t *res,
                    const kube_error_t *err) {
  struct dswork *w = op->sync->data;
  char ns[256];
  const char *name;
  ctl_split_key(op->tag, ns, sizeof ns, &name);
  if (err) {
    if (err->reason == KUBE_REASON_NOT_FOUND)
      return;
    ctl_deletion_observed(&w->d->exp, op->sync->key, op->tag);
    ctl_eventf(&w->d->b, w->ds, ds_kind, ds_av, "Warning", "FailedDelete",
               "Error deleting: %s", err->message);
    op->sync->result = -1;
    return;
  }
  ctl_eventf(&w->d->b, w->ds, ds_kind, ds_av, "Normal", "SuccessfulDelete",
             "Deleted pod: %s", name);
}

struct plan {
  const char **create; /* node names */
  size_t n_create;
  const struct ctl_pod **del;
  size_t n_del;
};

static void do_writes(struct ctl_sync *s, struct plan *pl) {
  struct dswork *w = s->data;
  struct dsc *d = w->d;
  const char **keys = calloc(pl->n_del + 1, sizeof *keys);
  if (!keys) {
    s->result = -1;
    return;
  }
  for (size_t i = 0; i < pl->n_del; i++)
    keys[i] = pl->del[i]->key;
  ctl_expect(&d->exp, s->key, (int64_t)pl->n_create, keys, pl->n_del);
  for (size_t i = 0; i < pl->n_del; i++) {
    const struct ctl_pod *p = pl->del[i];
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    struct ctl_op *op = ctl_op_new(&d->b, s, deleted, p->key);
    if (!op || ctl_op_started(op, kube_writer_delete(d->b.w, d->pod_kind, p->ns,
                                                     p->name, NULL, ctl_op_cb,
                                                     op, &err)) < 0) {
      ctl_deletion_observed(&d->exp, s->key, keys[i]);
      s->result = -1;
    }
  }
  free(keys);
  char path[512];
  snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", w->ns);
  for (size_t i = 0; i < pl->n_create; i++) {
    cleanup_free char *body = ctl_ds_pod(w->ds, w->hash, pl->create[i]);
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    struct ctl_op *op = body ? ctl_op_new(&d->b, s, created, NULL) : NULL;
    if (!op || ctl_op_started(op, kube_writer_send(d->b.w, "POST", path, NULL,
                                                   body, strlen(body),
                                                   ctl_op_cb, op, &err)) < 0) {
      ctl_creation_observed(&d->exp, s->key);
      s->result = -1;
    }
  }
}

static bool updated_pod(struct dswork *w, const struct ctl_pod *p) {
  const char *h = ctl_pairs_get(p->labels, CTL_DS_HASH_LABEL);
  return h && streq(h, w->hash);
}

struct nodelist {
  struct nodepods *v;
  size_t n, cap;
  json_object *pspec;
};

/* Objects are borrowed for the call only: decide here. */
static void collect_node(const char *key, const kube_object_t *obj, void *arg) {
  struct nodelist *l = arg;
  if (l->n == l->cap || !(l->v[l->n].node = strdup(kube_object_name(obj))))
    return;
  l->v[l->n].should_run = ctl_ds_should_run(l->pspec, kube_object_json(obj));
  l->n++;
}

static struct nodepods *find_node(struct nodepods *v, size_t n,
                                  const char *name) {
  for (size_t i = 0; name && i < n; i++)
    if (streq(v[i].node, name))
      return &v[i];
  return NULL;
}

/* A revision some pod of the DaemonSet (terminating ones too) runs. */
static bool rev_live(json_object *rev, void *arg) {
  const struct ctl_podlist *owned = arg;
  const char *h =
      cj_str(cj_obj(cj_obj(rev, "metadata"), "labels"), CTL_DS_HASH_LABEL);
  for (size_t i = 0; h && i < owned->n; i++) {
    const char *ph = ctl_pairs_get(owned->v[i]->labels, CTL_DS_HASH_LABEL);
    if (ph && streq(ph, h))
      return true;
  }
  return false;
}

static int ds_sync(kube_controller_t *kc, const char *key, void *arg) {
  struct dsc *d = arg;
  const kube_object_t *obj = kube_informer_get(d->inf, key);
  if (!obj) {
    ctl_expectations_delete(&d->exp, key);
    return 0;
  }
  struct dswork *w = calloc(1, sizeof *w);
  struct ctl_sync *s = w ? ctl_sync_new(&d->b, key) : NULL;
  if (!s) {
    free(w);
    return -1;
  }
  s->data = w;
  s->free_data = dswork_free;
  w->d = d;
  w->ds = ctl_json_copy(kube_object_json(obj));
  w->ns = strdup(kube_object_namespace(obj) ?: "");
  w->name = strdup(kube_object_name(obj) ?: "");
  w->uid = strdup(kube_object_uid(obj) ?: "");
  if (!w->ds || !w->ns || !w->name || !w->uid) {
    s->result = -1;
    return ctl_sync_finish(s);
  }
  json_object *spec = cj_obj(w->ds, "spec");
  json_object *pspec = cj_obj(cj_obj(spec, "template"), "spec");
  json_object *ccv = cj(cj_obj(w->ds, "status"), "collisionCount");
  int32_t cc = ccv ? (int32_t)json_object_get_int64(ccv) : 0;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (ctl_template_hash(cj_obj(spec, "template"), ccv ? &cc : NULL, w->hash,
                        sizeof w->hash, &err) < 0) {
    log_warn("daemonset: %s: %s", key, err.message);
    s->result = -1;
    return ctl_sync_finish(s);
  }
  kube_selector_t *sel = ctl_label_selector(cj_obj(spec, "selector"), NULL);
  bool deleting = cj(cj_obj(w->ds, "metadata"), "deletionTimestamp");
  struct ctl_revs revs = {0};
  struct ctl_cur_rev cur = {0};
  if (sel && !deleting) {
    if (ctl_history_list(&d->hist, &d->b, s, w->ds, sel, &revs) < 0 ||
        ctl_history_current(&d->hist, &d->b, s, w->ds, w->hash, &revs, &cur) <
            0) {
      s->result = -1;
      kube_selector_free(sel);
      ctl_revs_clear(&revs);
      return ctl_sync_finish(s);
    }
    if (!cur.collision)
      snprintf(w->hash, sizeof w->hash, "%s", cur.hash);
  }

  size_t n_nodes = kube_informer_count(d->nodes);
  struct nodelist nl = {calloc(n_nodes + 1, sizeof(struct nodepods)), 0,
                        n_nodes, pspec};
  struct plan pl = {0};
  const struct ctl_podlist *owned = ctl_podstore_owned(d->pods, w->uid);
  pl.create = calloc(n_nodes + 1, sizeof *pl.create);
  pl.del = calloc(owned->n + n_nodes + 1, sizeof *pl.del);
  if (!nl.v || !pl.create || !pl.del || !sel) {
    s->result = -1;
    goto out;
  }
  kube_informer_foreach(d->nodes, collect_node, &nl);

  /* The pods, by node; failed ones go (and come back), pods on nodes gone
   * or not matching any more go. */
  size_t terminating = 0;
  for (size_t i = 0; i < owned->n; i++) {
    const struct ctl_pod *p = owned->v[i];
    if (!streq(p->ns, w->ns) || !ctl_selector_matches_pairs(sel, p->labels))
      continue;
    if (p->deleting) {
      terminating++;
      continue;
    }
    const kube_object_t *po = kube_informer_get(d->pod_inf, p->key);
    const char *node = po ? ctl_ds_pod_node(kube_object_json(po)) : p->node;
    struct nodepods *np = find_node(nl.v, nl.n, node);
    if (!np || p->phase == CTL_PHASE_FAILED ||
        p->phase == CTL_PHASE_SUCCEEDED) {
      if (np && p->phase == CTL_PHASE_FAILED)
        ctl_eventf(&d->b, w->ds, ds_kind, ds_av, "Warning", "FailedDaemonPod",
                   "Found failed daemon pod %s on node %s, will try to kill "
                   "it",
                   p->key, node);
      pl.del[pl.n_del++] = p;
      continue;
    }
    if (np->n < ARRAY_SIZE(np->v))
      np->v[np->n++] = p;
    else
      pl.del[pl.n_del++] = p;
  }

  int64_t now = ctl_now_ns();
  int32_t min_ready = (int32_t)cj_int(spec, "minReadySeconds", 0);
  int32_t desired = 0, current = 0, miss = 0, ready = 0, avail = 0, upd = 0;
  for (size_t i = 0; i < nl.n; i++) {
    struct nodepods *np = &nl.v[i];
    if (np->should_run)
      desired++;
    if (!np->n)
      continue;
    if (!np->should_run) {
      miss++;
      continue;
    }
    current++;
    const struct ctl_pod *best = NULL;
    bool have_upd = false;
    for (size_t k = 0; k < np->n; k++) {
      if (updated_pod(w, np->v[k]))
        have_upd = true;
      if (!best || (np->v[k]->ready && !best->ready))
        best = np->v[k];
    }
    if (have_upd)
      upd++;
    if (best->ready) {
      ready++;
      if (ctl_pod_available(best, min_ready, now))
        avail++;
    }
  }

  bool satisfied = ctl_expectations_satisfied(&d->exp, key);
  if (!deleting && satisfied && !cur.collision) {
    const char *strategy = cj_str0(cj_obj(spec, "updateStrategy"), "type");
    bool rolling = !*strategy || streq(strategy, "RollingUpdate");
    json_object *ru = cj_obj(cj_obj(spec, "updateStrategy"), "rollingUpdate");
    int32_t max_unavail = 1, max_surge = 0;
    if (cj(ru, "maxUnavailable"))
      ctl_du_scaled_value(cj(ru, "maxUnavailable"), desired, true,
                          &max_unavail);
    if (cj(ru, "maxSurge"))
      ctl_du_scaled_value(cj(ru, "maxSurge"), desired, true, &max_surge);
    if (max_surge > 0)
      max_unavail = cj(ru, "maxUnavailable") ? max_unavail : 0;
    else if (max_unavail <= 0)
      max_unavail = 1;
    int32_t unavailable = desired - avail, surged = 0;
    for (size_t i = 0; i < nl.n; i++) {
      struct nodepods *np = &nl.v[i];
      if (!np->should_run) {
        for (size_t k = 0; k < np->n; k++)
          pl.del[pl.n_del++] = np->v[k];
        continue;
      }
      if (!np->n) {
        if (pl.n_create < DS_BURST)
          pl.create[pl.n_create++] = np->node;
        continue;
      }
      const struct ctl_pod *keep = np->v[0], *newp = NULL;
      for (size_t k = 0; k < np->n; k++) {
        const struct ctl_pod *p = np->v[k];
        if (updated_pod(w, p) && (!newp || p->created_ns < newp->created_ns))
          newp = p;
        if (p->created_ns < keep->created_ns)
          keep = p;
      }
      if (rolling && newp) {
        /* The updated pod stays; old ones beside it (a surge) go once it
         * is available. */
        if (np->n > 1 && !ctl_pod_available(newp, min_ready, now)) {
          surged++;
          continue;
        }
        for (size_t k = 0; k < np->n; k++)
          if (np->v[k] != newp)
            pl.del[pl.n_del++] = np->v[k];
        continue;
      }
      /* One pod per node: the oldest stays. */
      for (size_t k = 0; k < np->n; k++)
        if (np->v[k] != keep)
          pl.del[pl.n_del++] = np->v[k];
      if (!rolling)
        continue; /* OnDelete: replaced once someone deletes it */
      /* Only old pods here. */
      bool old_avail = keep->ready && ctl_pod_available(keep, min_ready, now);
      if (!old_avail) {
        pl.del[pl.n_del++] = keep; /* an unavailable old pod goes freely */
      } else if (max_surge > 0) {
        if (surged < max_surge && pl.n_create < DS_BURST) {
          surged++;
          pl.create[pl.n_create++] = np->node;
        }
      } else if (unavailable < max_unavail) {
        unavailable++;
        pl.del[pl.n_del++] = keep;
      }
    }
    if (pl.n_create || pl.n_del)
      do_writes(s, &pl);
    const char *keep[] = {cur.name, NULL};
    ctl_history_prune(&d->hist, &d->b, s, w->ds, &revs, keep, rev_live,
                      (void *)owned, true);
    if (min_ready > 0 && ready > avail)
      kube_controller_enqueue_after(d->b.c, key, (int64_t)min_ready * 1000,
                                    NULL);
  }

  json_object *st = json_object_new_object();
  cj_set(st, "currentNumberScheduled", json_object_new_int(current));
  cj_set(st, "numberMisscheduled", json_object_new_int(miss));
  cj_set(st, "desiredNumberScheduled", json_object_new_int(desired));
  cj_set(st, "numberReady", json_object_new_int(ready));
  cj_set(st, "observedGeneration",
         json_object_new_int64(
             cj_int(cj_obj(w->ds, "metadata"), "generation", 0)));
  cj_set(st, "updatedNumberScheduled", json_object_new_int(upd));
  cj_set(st, "numberAvailable", json_object_new_int(avail));
  cj_set(st, "numberUnavailable",
         json_object_new_int(desired - avail > 0 ? desired - avail : 0));
  if (cur.collision)
    cj_set(st, "collisionCount", json_object_new_int(cc + 1));
  ctl_status_put(&d->b, s, d->dk, w->ds, st);
  json_object_put(st);
  (void)terminating;
out:
  kube_selector_free(sel);
  ctl_revs_clear(&revs);
  for (size_t i = 0; i < nl.n; i++)
    free(nl.v[i].node);
  free(nl.v);
  free(pl.create);
  free(pl.del);
  return ctl_sync_finish(s);
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */
/* ------------------------------------------------------------------------ */

/* The set changed: sync it.  Gone, its expectations go at once (upstream's
 * delete handler does so), not at its next sync: a set re-created under
 * the same name before that sync must not inherit them. */
static void set_changed(kube_controller_t *kc, const char *key,
                        const kube_object_t *obj, void *arg) {
  struct dsc *x = arg;
  if (!kube_informer_has(x->inf, key))
    ctl_expectations_delete(&x->exp, key);
  kube_controller_enqueue(kc, key, NULL);
}

static void *ds_create(kube_controller_manager_t *m, kube_error_t *err) {
  struct dsc *d = calloc(1, sizeof *d);
  if (!d) {
    kube_make_oom(err);
    return NULL;
  }
  d->dk = kube_kind_by_resource("apps", "v1", "daemonsets");
  d->pod_kind = kube_kind_by_resource("", "v1", "pods");
  if (!d->dk || !d->pod_kind) {
    kube_error_set(err, KUBE_REASON_INTERNAL, 0, "no apps/v1 daemonsets");
    free(d);
    return NULL;
  }
  if (ctl_base_init(&d->b, m, "daemonset", "daemonset-controller", ds_sync, d,
                    err) < 0) {
    free(d);
    return NULL;
  }
  if (!(d->inf = ctl_manager_informer(m, "/apis/apps/v1/daemonsets", err)) ||
      !(d->nodes = ctl_manager_informer(m, "/api/v1/nodes", err)) ||
      !(d->pods = ctl_manager_pods(m, err)) ||
      !(d->pod_inf = ctl_podstore_informer(d->pods)) ||
      kube_controller_watch(d->b.c, d->inf, set_changed, d, err) < 0 ||
      kube_controller_watch(d->b.c, d->nodes, node_changed, d, err) < 0 ||
      kube_controller_watch(d->b.c, d->pod_inf, ctl_map_nothing, NULL, err) <
          0 ||
      ctl_podstore_listen(d->pods, pod_changed, NULL, d, err) < 0 ||
      ctl_history_init(&d->hist, m, d->b.c, d->inf, ds_kind, err) < 0) {
    ctl_podstore_unlisten(d->pods, d);
    ctl_base_clear(&d->b);
    free(d);
    return NULL;
  }
  return d;
}

static int ds_start(void *impl, kube_error_t *err) {
  return kube_controller_start(((struct dsc *)impl)->b.c, err);
}

static void ds_free(void *impl) {
  struct dsc *d = impl;
  if (!d)
    return;
  ctl_podstore_unlisten(d->pods, d);
  ctl_base_clear(&d->b);
  ctl_expectations_clear(&d->exp);
  free(d);
}

static kube_controller_t *ds_controller(void *impl) {
  return ((struct dsc *)impl)->b.c;
}

const struct ctl_impl_ops ctl_daemonset_ops = {
    .create = ds_create,
    .start = ds_start,
    .free = ds_free,
    .controller = ds_controller,
};
