/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The disruption controller (kube-controller-manager's "disruption"): the
 * status of every PodDisruptionBudget, which the eviction subresource
 * reads.
 *
 * For a budget, its pods are those of its namespace its selector selects
 * (no selector: none; an empty one: all).  expectedPods and desiredHealthy
 * come from the spec: an integer minAvailable wants that many and expects
 * the pods there are; a percentage (or any maxUnavailable) scales against
 * the sum of the scales of the pods' controllers (ReplicationController,
 * Deployment through its ReplicaSet, ReplicaSet, StatefulSet), rounding
 * up; a pod without a controller makes that sum wrong (event
 * UnmanagedPods), one with another controller fails the sync.
 * currentHealthy counts the ready pods not being deleted and not recorded
 * in disruptedPods by an eviction less than two minutes ago (an entry
 * older than that is dropped, with event NotDeleted on the pod);
 * disruptionsAllowed = currentHealthy - desiredHealthy (0 when negative or
 * when no pod is expected); condition DisruptionAllowed True
 * (SufficientPods) or False (InsufficientPods); observedGeneration the
 * budget's generation.  A sync that fails otherwise writes
 * disruptionsAllowed 0 and DisruptionAllowed False (SyncFailed), as
 * upstream's failSafe.  Pod changes queue the budgets of the pod's
 * namespace (an index) that select the pod before or after: at once when
 * a pod comes, goes, starts terminating or changes labels; a change of
 * readiness alone is folded with the others of a burst (10 ms per 1,000
 * pods of the namespace, at most 200 ms), since a sync counts every pod
 * of the budget: 10,000 pods turning Ready are tens of syncs, not 10,000.
 * A sync walks the pods with the label of the selector's narrowest
 * key=value (the pod store's label index), not the whole namespace.
 *
 * Stale disruptions: a pod that got condition DisruptionTarget True from
 * an eviction or a preemption but is still not being deleted two minutes
 * later gets it set to False again (field manager
 * pod-disruption-controller), so that it does not look doomed forever.
 * Those syncs use the key "pod:<namespace>/<name>" (no budget's key has a
 * colon).
 */
#include "controller/internal.h"

#define PDB_KIND "PodDisruptionBudget"
#define PDB_AV "policy/v1"
/* DeletionTimeout: how long an evicted pod counts as gone. */
#define DELETION_TIMEOUT_NS (120LL * 1000000000)
/* stalePodDisruptionTimeout */
#define STALE_DISRUPTION_NS (120LL * 1000000000)
#define POD_KEY_PREFIX "pod:"

struct pdbc {
  struct ctl_base b;
  const kube_kind_t *pk, *pod_kind;
  kube_informer_t *inf, *pod_inf, *rc, *rs, *dep, *sts;
  struct ctl_podstore *pods;
};

/* ---- pods to budgets ---- */

struct pod_match {
  struct pdbc *c;
  const struct ctl_pod *old, *cur;
  size_t nslen;
  int64_t delay_ms; /* 0: at once */
};

/* A readiness change waits this long for the others of its burst. */
static int64_t coalesce_ms(struct pdbc *c, const char *ns) {
  int64_t ms = (int64_t)(ctl_podstore_in_ns(c->pods, ns)->n / 100);
  return ms < 10 ? 10 : ms > 200 ? 200 : ms;
}

/* Only what a budget's status reads of a pod that stays: readiness and
 * its time, the phase, a disruption condition. */
static bool status_only(const struct ctl_pod *old, const struct ctl_pod *cur) {
  return old && cur && old->deleting == cur->deleting &&
         streq(old->uid, cur->uid) && ctl_pod_same_place(old, cur);
}

static void match_budget(const char *key, const kube_object_t *obj,
                         void *arg) {
  struct pod_match *m = arg;
  const struct ctl_pod *p = m->cur ? m->cur : m->old;
  if (strncmp(key, p->ns, m->nslen) != 0 || key[m->nslen] != '/')
    return;
  json_object *spec = cj_obj(kube_object_json(obj), "spec");
  kube_selector_t *sel = ctl_label_selector(cj_obj(spec, "selector"), NULL);
  if (!sel)
    return;
  if ((m->cur && ctl_selector_matches_pairs(sel, m->cur->labels)) ||
      (m->old && ctl_selector_matches_pairs(sel, m->old->labels))) {
    if (m->delay_ms)
      kube_controller_enqueue_after(m->c->b.c, key, m->delay_ms, NULL);
    else
      kube_controller_enqueue(m->c->b.c, key, NULL);
  }
  kube_selector_free(sel);
}

/* nonTerminatingPodHasStaleDisruptionCondition: how long until the
 * condition of p is stale (0: now), or -1 when p has none to clean. */
static int64_t stale_in_ns(const struct ctl_pod *p, int64_t now) {
  if (!p || !p->disruption_since_ns || p->deleting ||
      p->phase == CTL_PHASE_SUCCEEDED || p->phase == CTL_PHASE_FAILED)
    return -1;
  int64_t left = p->disruption_since_ns + STALE_DISRUPTION_NS - now;
  return left > 0 ? left : 0;
}

static void enqueue_stale(struct pdbc *c, const struct ctl_pod *p,
                          int64_t in_ns) {
  char key[600];
  snprintf(key, sizeof key, POD_KEY_PREFIX "%s", p->key);
  kube_controller_enqueue_after(c->b.c, key, in_ns / 1000000 + 1, NULL);
}

static void pod_changed(const struct ctl_pod *old, const struct ctl_pod *cur,
                        void *arg) {
  struct pdbc *c = arg;
  if (old && cur && streq(old->resource_version, cur->resource_version))
    return;
  int64_t stale = stale_in_ns(cur, ctl_now_ns());
  if (stale >= 0)
    enqueue_stale(c, cur, stale);
  if (!kube_informer_count(c->inf))
    return;
  const char *ns = (cur ? cur : old)->ns;
  struct pod_match m = {c, old, cur, strlen(ns),
                        status_only(old, cur) ? coalesce_ms(c, ns) : 0};
  kube_informer_index_foreach(c->inf, KUBE_INDEX_NAMESPACE, ns, match_budget,
                              &m);
}

/* ---- expected pods ---- */

/* The scales found so far, by the uid of the controller that has it. */
struct scales {
  struct {
    char *uid;
    int64_t scale;
  } *v;
  size_t n, cap;
  size_t unmanaged;
  char *first_unmanaged;
};

static void scales_clear(struct scales *s) {
  for (size_t i = 0; i < s->n; i++)
    free(s->v[i].uid);
  free(s->v);
  free(s->first_unmanaged);
  memset(s, 0, sizeof *s);
}

static int scales_put(struct scales *s, const char *uid, int64_t scale) {
  for (size_t i = 0; i < s->n; i++)
    if (streq(s->v[i].uid, uid)) {
      s->v[i].scale = scale;
      return 0;
    }
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 4;
    void *v = realloc(s->v, cap * sizeof *s->v);
    if (!v)
      return -1;
    s->v = v;
    s->cap = cap;
  }
  if (!(s->v[s->n].uid = strdup(uid)))
    return -1;
  s->v[s->n++].scale = scale;
  return 0;
}

/* The cached object ns/name of `inf` when its uid is `uid`; borrowed. */
static json_object *owner_obj(kube_informer_t *inf, const char *ns,
                              const char *name, const char *uid) {
  cleanup_free char *key = ctl_key(ns, name);
  const kube_object_t *o = key ? kube_informer_get(inf, key) : NULL;
  json_object *t = o ? kube_object_json(o) : NULL;
  if (!t || !streq(cj_str0(cj_obj(t, "metadata"), "uid"), uid))
    return NULL;
  return t;
}

/* The controller reference of a tree, or NULL. */
static json_object *controller_of(json_object *t) {
  json_object *refs = cj_arr(cj_obj(t, "metadata"), "ownerReferences");
  for (size_t i = 0; i < cj_len(refs); i++)
    if (cj_bool(cj_at(refs, i), "controller", false))
      return cj_at(refs, i);
  return NULL;
}

static int64_t replicas_of(json_object *t) {
  return cj_int(cj_obj(t, "spec"), "replicas", 1);
}

/* The finders of upstream, in its order: the controller owning pod p and
 * its scale.  false when none of them knows it. */
static bool find_scale(struct pdbc *c, const struct ctl_pod *p,
                       const char **uid, int64_t *scale) {
  const char *kind = p->ctrl_kind;
  json_object *t;
  if (streq(kind, "ReplicationController") &&
      (t = owner_obj(c->rc, p->ns, p->ctrl_name, p->ctrl_uid))) {
    *uid = p->ctrl_uid;
    *scale = replicas_of(t);
    return true;
  }
  if (streq(kind, "ReplicaSet") &&
      (t = owner_obj(c->rs, p->ns, p->ctrl_name, p->ctrl_uid))) {
    json_object *ref = controller_of(t);
    if (!ref) {
      *uid = p->ctrl_uid;
      *scale = replicas_of(t);
      return true;
    }
    /* A Deployment's ReplicaSet counts as its Deployment. */
    json_object *d;
    if (streq(cj_str0(ref, "kind"), "Deployment") &&
        (d = owner_obj(c->dep, p->ns, cj_str0(ref, "name"),
                       cj_str0(ref, "uid")))) {
      *uid = cj_str0(cj_obj(d, "metadata"), "uid");
      *scale = replicas_of(d);
      return true;
    }
    return false;
  }
  if (streq(kind, "StatefulSet") &&
      (t = owner_obj(c->sts, p->ns, p->ctrl_name, p->ctrl_uid))) {
    *uid = p->ctrl_uid;
    *scale = replicas_of(t);
    return true;
  }
  return false;
}

/* getExpectedScale: the sum of the scales of the pods' controllers. */
static int expected_scale(struct pdbc *c, const struct ctl_pod **pods,
                          size_t n, struct scales *s, int64_t *out,
                          kube_error_t *err) {
  for (size_t i = 0; i < n; i++) {
    const struct ctl_pod *p = pods[i];
    if (!p->ctrl_uid || !p->ctrl_kind) {
      if (!s->unmanaged++)
        s->first_unmanaged = strdup(p->name);
      continue;
    }
    const char *uid;
    int64_t scale;
    if (!find_scale(c, p, &uid, &scale))
      return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                            "found no controllers for pod \"%s\"", p->name);
    if (scales_put(s, uid, scale) < 0)
      return kube_make_oom(err);
  }
  *out = 0;
  for (size_t i = 0; i < s->n; i++)
    *out += s->v[i].scale;
  return 0;
}

/* intstr.GetScaledValueFromIntOrPercent, rounding up. */
static int scaled_value(json_object *v, int64_t total, int64_t *out,
                        kube_error_t *err) {
  if (json_object_is_type(v, json_type_int)) {
    *out = json_object_get_int64(v);
    return 0;
  }
  const char *s = json_object_get_string(v);
  size_t len = s ? strlen(s) : 0;
  char *end = NULL;
  long long pct = len > 1 && s[len - 1] == '%' ? strtoll(s, &end, 10) : -1;
  if (pct < 0 || end != s + len - 1)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid value for IntOrString: invalid type: "
                          "string is not a percentage");
  *out = (pct * total + 99) / 100;
  return 0;
}

/* ---- status ---- */

/* apimeta.SetStatusCondition of DisruptionAllowed on a copy of the
 * conditions (owned). */
static json_object *allowed_conditions(json_object *old, bool allowed,
                                       const char *reason, const char *message,
                                       int64_t gen) {
  json_object *conds = old ? ctl_json_copy(old) : json_object_new_array();
  if (!conds)
    return NULL;
  json_object *c = NULL;
  for (size_t i = 0; i < cj_len(conds); i++)
    if (streq(cj_str0(cj_at(conds, i), "type"), "DisruptionAllowed"))
      c = cj_at(conds, i);
  const char *status = allowed ? "True" : "False";
  if (!c) {
    c = json_object_new_object();
    json_object_array_add(conds, c);
    cj_set(c, "type", json_object_new_string("DisruptionAllowed"));
  }
  if (!streq(cj_str0(c, "status"), status) || !cj(c, "lastTransitionTime")) {
    char ts[40];
    cj_set(c, "lastTransitionTime",
           json_object_new_string(ctl_now_rfc3339(ts, sizeof ts)));
  }
  cj_set(c, "status", json_object_new_string(status));
  cj_set(c, "reason", json_object_new_string(reason));
  cj_set(c, "message", json_object_new_string(message));
  if (gen)
    cj_set(c, "observedGeneration", json_object_new_int64(gen));
  else
    json_object_object_del(c, "observedGeneration");
  return conds;
}

/* PUT the budget's status as `st` (stolen) unless it is so already. */
static void put_status(struct pdbc *c, struct ctl_sync *s, json_object *pdb,
                       json_object *st) {
  if (!st) {
    s->result = -1;
    return;
  }
  json_object *old = cj_obj(pdb, "status");
  if (old && json_object_equal(old, st)) {
    json_object_put(st);
    return;
  }
  json_object *copy = ctl_json_copy(pdb);
  if (!copy) {
    json_object_put(st);
    s->result = -1;
    return;
  }
  cj_set(copy, "status", st);
  kube_object_t *o = kube_object_wrap(copy);
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  struct ctl_op *op = o ? ctl_op_new(&c->b, s, NULL, NULL) : NULL;
  if (!op || ctl_op_started(op, kube_writer_update_status(
                                    c->b.w, c->pk, kube_object_namespace(o), o,
                                    NULL, ctl_op_cb, op, &err)) < 0)
    s->result = -1;
  kube_object_free(o);
}

/* failSafe: no disruption allowed, and why. */
static void fail_safe(struct pdbc *c, struct ctl_sync *s, json_object *pdb,
                      const char *why) {
  json_object *old = cj_obj(pdb, "status");
  json_object *st = old ? ctl_json_copy(old) : json_object_new_object();
  if (!st) {
    s->result = -1;
    return;
  }
  int64_t og = cj_int(st, "observedGeneration", 0);
  cj_set(st, "disruptionsAllowed", json_object_new_int(0));
  json_object *conds =
      allowed_conditions(cj_arr(st, "conditions"), false, "SyncFailed", why,
                         og);
  if (conds)
    cj_set(st, "conditions", conds);
  put_status(c, s, pdb, st);
}

/* buildDisruptedPodMap: the entries of the budget's pods not being
 * deleted and evicted less than DeletionTimeout ago; *recheck_ns the
 * earliest expiry among them (0: none). */
static json_object *disrupted_map(struct pdbc *c, json_object *pdb,
                                  const struct ctl_pod **pods, size_t n,
                                  int64_t now, int64_t *recheck_ns) {
  json_object *old = cj_obj(cj_obj(pdb, "status"), "disruptedPods");
  json_object *out = json_object_new_object();
  *recheck_ns = 0;
  if (!old || !out)
    return out;
  for (size_t i = 0; i < n; i++) {
    const struct ctl_pod *p = pods[i];
    json_object *t = p->deleting ? NULL : cj(old, p->name);
    if (!t)
      continue;
    int64_t expiry =
        ctl_time_ns(json_object_get_string(t)) + DELETION_TIMEOUT_NS;
    if (expiry < now) {
      const kube_object_t *po = kube_informer_get(c->pod_inf, p->key);
      json_object *pt = po ? kube_object_json(po) : NULL;
      if (pt)
        ctl_eventf(&c->b, pt, "Pod", "v1", "Warning", "NotDeleted",
                   "Pod was expected by PDB %s/%s to be deleted but it "
                   "wasn't",
                   p->ns, p->ns);
      continue;
    }
    if (!*recheck_ns || expiry < *recheck_ns)
      *recheck_ns = expiry;
    cj_set(out, p->name, json_object_get(t));
  }
  return out;
}

/* syncStalePodDisruption: DisruptionTarget False once it is stale. */
static int stale_sync(struct pdbc *c, const char *key) {
  const struct ctl_pod *p = ctl_podstore_get(c->pods, key);
  int64_t left = stale_in_ns(p, ctl_now_ns());
  if (left < 0)
    return 0;
  if (left > 0) {
    enqueue_stale(c, p, left);
    return 0;
  }
  char ts[40];
  ctl_now_rfc3339(ts, sizeof ts);
  json_object *patch = json_object_new_object();
  json_object *cond = json_object_new_object();
  json_object *conds = json_object_new_array();
  if (!patch || !cond || !conds) {
    json_object_put(patch);
    json_object_put(cond);
    json_object_put(conds);
    return -1;
  }
  cj_set(ctl_json_ensure(patch, "metadata"), "resourceVersion",
         json_object_new_string(p->resource_version));
  cj_set(cond, "type", json_object_new_string("DisruptionTarget"));
  cj_set(cond, "status", json_object_new_string("False"));
  cj_set(cond, "lastTransitionTime", json_object_new_string(ts));
  json_object_array_add(conds, cond);
  cj_set(ctl_json_ensure(patch, "status"), "conditions", conds);
  cleanup_free char *text = ctl_json_take_text(patch);
  char full[600];
  snprintf(full, sizeof full, POD_KEY_PREFIX "%s", key);
  struct ctl_sync *s = ctl_sync_new(&c->b, full);
  if (!s)
    return -1;
  kube_client_write_options_t wo = {.struct_size = sizeof wo,
                                    .field_manager =
                                        "pod-disruption-controller"};
  struct ctl_op *op = text ? ctl_op_new(&c->b, s, NULL, key) : NULL;
  if (!op || ctl_op_started(op, kube_writer_patch(
                                    c->b.w, c->pod_kind, p->ns, p->name,
                                    "status", KUBE_PATCH_STRATEGIC, text, &wo,
                                    ctl_op_cb, op, NULL)) < 0)
    s->result = -1;
  return ctl_sync_finish(s);
}

static int pdb_sync(kube_controller_t *kc, const char *key, void *arg) {
  struct pdbc *c = arg;
  if (strncmp(key, POD_KEY_PREFIX, strlen(POD_KEY_PREFIX)) == 0)
    return stale_sync(c, key + strlen(POD_KEY_PREFIX));
  const kube_object_t *obj = kube_informer_get(c->inf, key);
  if (!obj)
    return 0;
  json_object *pdb = kube_object_json(obj);
  json_object *meta = cj_obj(pdb, "metadata");
  json_object *spec = cj_obj(pdb, "spec");
  const char *ns = cj_str0(meta, "namespace");
  struct ctl_sync *s = ctl_sync_new(&c->b, key);
  if (!s)
    return -1;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  struct scales sc = {0};
  kube_selector_t *sel = ctl_label_selector(cj_obj(spec, "selector"), &err);
  const struct ctl_podlist *all = ctl_podstore_select(c->pods, ns, sel);
  const struct ctl_pod **pods =
      calloc((all ? all->n : 0) + 1, sizeof *pods);
  size_t n = 0;
  if (!pods || !sel) {
    if (!pods)
      kube_make_oom(&err);
    ctl_eventf(&c->b, pdb, PDB_KIND, PDB_AV, "Warning", "NoPods",
               "Failed to get pods: %s", err.message ? err.message : "");
    fail_safe(c, s, pdb, err.message ? err.message : "");
    goto out;
  }
  for (size_t i = 0; all && i < all->n; i++)
    if (ctl_selector_matches_pairs(sel, all->v[i]->labels))
      pods[n++] = all->v[i];
  if (n == 0)
    ctl_eventf(&c->b, pdb, PDB_KIND, PDB_AV, "Normal", "NoPods",
               "No matching pods found");

  /* getExpectedPodCount */
  int64_t expected = 0, desired = 0, v;
  json_object *min = cj(spec, "minAvailable");
  json_object *max = cj(spec, "maxUnavailable");
  int rc = 0;
  if (max) {
    rc = expected_scale(c, pods, n, &sc, &expected, &err);
    if (rc == 0 && (rc = scaled_value(max, expected, &v, &err)) == 0)
      desired = expected - v > 0 ? expected - v : 0;
  } else if (json_object_is_type(min, json_type_int)) {
    desired = json_object_get_int64(min);
    expected = (int64_t)n;
  } else if (min) {
    rc = expected_scale(c, pods, n, &sc, &expected, &err);
    if (rc == 0 && (rc = scaled_value(min, expected, &v, &err)) == 0)
      desired = v;
  }
  if (rc < 0) {
    ctl_eventf(&c->b, pdb, PDB_KIND, PDB_AV, "Warning",
               "CalculateExpectedPodCountFailed",
               "Failed to calculate the number of expected pods: %s",
               err.message ? err.message : "");
    fail_safe(c, s, pdb, err.message ? err.message : "");
    goto out;
  }
  if (sc.unmanaged) {
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    kube_json_format_label_selector(&sb, cj_obj(spec, "selector"));
    ctl_eventf(&c->b, pdb, PDB_KIND, PDB_AV, "Warning", "UnmanagedPods",
               "Pods selected by this PodDisruptionBudget (selector: %s) "
               "were found to be unmanaged. As a result, the status of the "
               "PDB cannot be calculated correctly, which may result in "
               "undefined behavior. To account for these pods please set "
               "\".spec.minAvailable\" field of the PDB to an integer value.",
               sb.data ? sb.data : "");
    kube_strbuf_clear(&sb);
  }

  int64_t now = ctl_now_ns(), recheck = 0;
  json_object *disrupted = disrupted_map(c, pdb, pods, n, now, &recheck);
  int64_t healthy = 0;
  for (size_t i = 0; i < n; i++)
    if (!pods[i]->deleting && pods[i]->ready &&
        !(disrupted && cj(disrupted, pods[i]->name)))
      healthy++;
  int64_t allowed = healthy - desired;
  if (expected <= 0 || allowed <= 0)
    allowed = 0;

  int64_t gen = cj_int(meta, "generation", 0);
  json_object *st = json_object_new_object();
  if (!st || !disrupted) {
    json_object_put(st);
    json_object_put(disrupted);
    s->result = -1;
    goto out;
  }
  if (gen)
    cj_set(st, "observedGeneration", json_object_new_int64(gen));
  if (json_object_object_length(disrupted))
    cj_set(st, "disruptedPods", disrupted);
  else
    json_object_put(disrupted);
  cj_set(st, "disruptionsAllowed", json_object_new_int64(allowed));
  cj_set(st, "currentHealthy", json_object_new_int64(healthy));
  cj_set(st, "desiredHealthy", json_object_new_int64(desired));
  cj_set(st, "expectedPods", json_object_new_int64(expected));
  json_object *conds = allowed_conditions(
      cj_arr(cj_obj(pdb, "status"), "conditions"), allowed > 0,
      allowed > 0 ? "SufficientPods" : "InsufficientPods", "", gen);
  if (conds)
    cj_set(st, "conditions", conds);
  put_status(c, s, pdb, st);
  if (recheck) {
    int64_t ms = (recheck - now) / 1000000 + 1;
    kube_controller_enqueue_after(c->b.c, key, ms > 0 ? ms : 1, NULL);
  }
out:
  scales_clear(&sc);
  kube_selector_free(sel);
  free(pods);
  return ctl_sync_finish(s);
}

/* ---- life cycle ---- */

static void pdbc_free(void *impl) {
  struct pdbc *c = impl;
  if (!c)
    return;
  ctl_podstore_unlisten(c->pods, c);
  ctl_base_clear(&c->b);
  free(c);
}

static void *pdbc_create(kube_controller_manager_t *m, kube_error_t *err) {
  struct pdbc *c = calloc(1, sizeof *c);
  if (!c) {
    kube_make_oom(err);
    return NULL;
  }
  c->pk = kube_kind_by_resource("policy", "v1", "poddisruptionbudgets");
  c->pod_kind = kube_kind_by_resource("", "v1", "pods");
  if (!c->pk || !c->pod_kind) {
    kube_error_set(err, KUBE_REASON_INTERNAL, 0, "no PodDisruptionBudget kind");
    free(c);
    return NULL;
  }
  if (ctl_base_init(&c->b, m, "disruption", "controllermanager", pdb_sync, c,
                    err) < 0) {
    free(c);
    return NULL;
  }
  static const char *const owners[] = {
      "/api/v1/replicationcontrollers", "/apis/apps/v1/replicasets",
      "/apis/apps/v1/deployments", "/apis/apps/v1/statefulsets"};
  kube_informer_t **slots[] = {&c->rc, &c->rs, &c->dep, &c->sts};
  if (!(c->inf = ctl_manager_informer(
            m, "/apis/policy/v1/poddisruptionbudgets", err)) ||
      kube_informer_add_index(c->inf, KUBE_INDEX_NAMESPACE,
                              kube_index_namespace, NULL, err) < 0 ||
      !(c->pods = ctl_manager_pods(m, err)) ||
      !(c->pod_inf = ctl_podstore_informer(c->pods)) ||
      kube_controller_watch(c->b.c, c->inf, NULL, NULL, err) < 0 ||
      kube_controller_watch(c->b.c, c->pod_inf, ctl_map_nothing, NULL, err) <
          0)
    goto fail;
  for (size_t i = 0; i < ARRAY_SIZE(owners); i++)
    if (!(*slots[i] = ctl_manager_informer(m, owners[i], err)) ||
        kube_controller_watch(c->b.c, *slots[i], ctl_map_nothing, NULL, err) <
            0)
      goto fail;
  if (ctl_podstore_listen(c->pods, pod_changed, NULL, c, err) < 0)
    goto fail;
  return c;
fail:
  pdbc_free(c);
  return NULL;
}

static int pdbc_start(void *impl, kube_error_t *err) {
  return kube_controller_start(((struct pdbc *)impl)->b.c, err);
}

static kube_controller_t *pdbc_controller(void *impl) {
  return ((struct pdbc *)impl)->b.c;
}

const struct ctl_impl_ops ctl_disruption_ops = {
    .create = pdbc_create,
    .start = pdbc_start,
    .free = pdbc_free,
    .controller = pdbc_controller,
};
