/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The StatefulSet controller (kube-controller-manager's "statefulset"):
 * pods <set>-<ordinal> for ordinals spec.ordinals.start .. + replicas,
 * each with the statefulset.kubernetes.io/pod-name and
 * apps.kubernetes.io/pod-index labels, hostname = its name and subdomain =
 * spec.serviceName, and a claim <template>-<pod> per volumeClaimTemplate
 * created before it (owned by the set when
 * persistentVolumeClaimRetentionPolicy.whenDeleted is Delete, by the pod
 * when whenScaled is Delete and the pod is scaled away).
 *
 * OrderedReady creates one pod at a time, each once its predecessors run
 * and are ready, and removes from the highest ordinal down, one at a time;
 * Parallel does both at once.  RollingUpdate replaces, from the highest
 * ordinal down to spec.updateStrategy.rollingUpdate.partition, one pod at
 * a time whose controller-revision-hash is not the update revision
 * (<set>-<template hash>); OnDelete only when someone deleted it.  Status:
 * replicas, ready/available/current/updated replicas, current and update
 * revision (current becomes update when the roll-out completed), as
 * `kubectl rollout status sts` reads them.
 *
 * History (getStatefulSetRevisions, truncateHistory; history.c): the
 * update revision is the ControllerRevision of the current template,
 * found or made (a rollback renumbers the old one); the current revision
 * is the one status.currentRevision names; pods re-created below the
 * partition get the current revision's template; revisions neither
 * current, update nor run by a pod go beyond revisionHistoryLimit.  So
 * `kubectl rollout history|undo sts` work.
 */
#include "controller/history.h"

#define STS_POD_NAME_LABEL "statefulset.kubernetes.io/pod-name"
#define STS_POD_INDEX_LABEL "apps.kubernetes.io/pod-index"
#define STS_REVISION_LABEL "controller-revision-hash"

struct stsc {
  struct ctl_base b;
  const kube_kind_t *sk, *pod_kind, *pvc_kind;
  kube_informer_t *inf, *pod_inf;
  struct ctl_podstore *pods;
  struct ctl_expectations exp;
  struct ctl_history hist;
};

static const char *sts_kind = "StatefulSet";
static const char *sts_av = "apps/v1";

static void pod_changed(const struct ctl_pod *old, const struct ctl_pod *cur,
                        void *arg) {
  struct stsc *c = arg;
  const struct ctl_pod *p = cur ? cur : old;
  if (old && cur && streq(old->resource_version, cur->resource_version))
    return;
  cleanup_free char *key = ctl_pod_owner_key(c->inf, sts_kind, p);
  if (!key)
    return;
  ctl_pod_observe(&c->exp, key, old, cur);
  kube_controller_enqueue(c->b.c, key, NULL);
}

/* ------------------------------------------------------------------------ */
/* A sync                                                                    */
/* ------------------------------------------------------------------------ */

struct swork {
  struct stsc *c;
  json_object *set;
  char *ns, *name, *uid;
  char update_rev[300], current_rev[300];
  /* the current revision's template when it is not the update one
   * (owned); pods below the partition are made from it */
  json_object *cur_tmpl;
  bool rolling;
  int64_t partition;
  /* pods to create after their claims: ordinals */
  int64_t *create;
  size_t n_create;
};

static void swork_free(void *v) {
  struct swork *w = v;
  if (!w)
    return;
  json_object_put(w->set);
  json_object_put(w->cur_tmpl);
  free(w->ns);
  free(w->name);
  free(w->uid);
  free(w->create);
  free(w);
}

/* The ordinal of a pod named <set>-<n>, or -1. */
static int64_t ordinal_of(const char *set, const char *pod) {
  size_t n = strlen(set);
  if (strncmp(pod, set, n) != 0 || pod[n] != '-' || !pod[n + 1])
    return -1;
  char *end;
  long long o = strtoll(pod + n + 1, &end, 10);
  return *end || o < 0 ? -1 : o;
}

static json_object *claim_templates(struct swork *w) {
  return cj_arr(cj_obj(w->set, "spec"), "volumeClaimTemplates");
}

static const char *retention(struct swork *w, const char *when) {
  const char *v = cj_str(
      cj_obj(cj_obj(w->set, "spec"), "persistentVolumeClaimRetentionPolicy"),
      when);
  return v ? v : "Retain";
}

static json_object *owner_ref(const char *av, const char *kind,
                              const char *name, const char *uid) {
  json_object *r = json_object_new_object();
  cj_set(r, "apiVersion", json_object_new_string(av));
  cj_set(r, "kind", json_object_new_string(kind));
  cj_set(r, "name", json_object_new_string(name));
  cj_set(r, "uid", json_object_new_string(uid));
  cj_set(r, "blockOwnerDeletion", json_object_new_boolean(true));
  return r;
}

/* The claim of template `t` for pod `pod` (JSON text, owned). */
static char *claim_body(struct swork *w, json_object *t, const char *pod) {
  json_object *tmeta = cj_obj(t, "metadata");
  json_object *claim = json_object_new_object();
  json_object *meta = json_object_new_object();
  char name[600];
  snprintf(name, sizeof name, "%s-%s", cj_str0(tmeta, "name"), pod);
  cj_set(claim, "apiVersion", json_object_new_string("v1"));
  cj_set(claim, "kind", json_object_new_string("PersistentVolumeClaim"));
  cj_set(meta, "name", json_object_new_string(name));
  cj_set(meta, "namespace", json_object_new_string(w->ns));
  json_object *labels = ctl_json_copy(cj_obj(tmeta, "labels"));
  if (!labels)
    labels = json_object_new_object();
  /* The set's selector labels too (getPersistentVolumeClaims). */
  json_object *ml =
      cj_obj(cj_obj(cj_obj(w->set, "spec"), "selector"), "matchLabels");
  if (ml) {
    json_object_object_foreach(ml, k, v) {
      cj_set(labels, k, json_object_get(v));
    }
  }
  cj_set(meta, "labels", labels);
  if (cj(tmeta, "annotations"))
    cj_set(meta, "annotations", ctl_json_copy(cj(tmeta, "annotations")));
  if (streq(retention(w, "whenDeleted"), "Delete")) {
    json_object *refs = json_object_new_array();
    json_object_array_add(refs, owner_ref(sts_av, sts_kind, w->name, w->uid));
    cj_set(meta, "ownerReferences", refs);
  }
  cj_set(claim, "metadata", meta);
  json_object *spec = ctl_json_copy(cj_obj(t, "spec"));
  cj_set(claim, "spec", spec ? spec : json_object_new_object());
  return ctl_json_take_text(claim);
}

static char *pod_body(struct swork *w, int64_t ord) {
  json_object *spec0 = cj_obj(w->set, "spec");
  /* newVersionedStatefulSetPod: below the partition, the current
   * revision. */
  bool current = w->cur_tmpl && w->rolling && ord < w->partition;
  json_object *tmpl = current ? w->cur_tmpl : cj_obj(spec0, "template");
  json_object *tmeta = cj_obj(tmpl, "metadata");
  json_object *pod = json_object_new_object();
  json_object *meta = json_object_new_object();
  json_object *spec = ctl_json_copy(cj_obj(tmpl, "spec"));
  if (!spec)
    spec = json_object_new_object();
  char name[300], idx[32];
  snprintf(name, sizeof name, "%s-%lld", w->name, (long long)ord);
  snprintf(idx, sizeof idx, "%lld", (long long)ord);
  cj_set(pod, "apiVersion", json_object_new_string("v1"));
  cj_set(pod, "kind", json_object_new_string("Pod"));
  cj_set(meta, "name", json_object_new_string(name));
  cj_set(meta, "namespace", json_object_new_string(w->ns));
  ctl_copy_template_meta(meta, tmeta, true);
  json_object *labels = ctl_json_ensure(meta, "labels");
  cj_set(labels, STS_POD_NAME_LABEL, json_object_new_string(name));
  cj_set(labels, STS_POD_INDEX_LABEL, json_object_new_string(idx));
  cj_set(labels, STS_REVISION_LABEL,
         json_object_new_string(current ? w->current_rev : w->update_rev));
  json_object *refs = json_object_new_array();
  json_object_array_add(refs,
                        ctl_controller_ref(sts_av, sts_kind, w->name, w->uid));
  cj_set(meta, "ownerReferences", refs);
  cj_set(spec, "hostname", json_object_new_string(name));
  const char *svc = cj_str(spec0, "serviceName");
  if (svc && *svc)
    cj_set(spec, "subdomain", json_object_new_string(svc));
  /* updateStorage: a volume per claim template, replacing a template
   * volume of the same name. */
  json_object *cts = claim_templates(w);
  if (cj_len(cts)) {
    json_object *vols = cj_arr(spec, "volumes");
    json_object *nv = json_object_new_array();
    for (size_t i = 0; i < cj_len(vols); i++) {
      bool replaced = false;
      for (size_t k = 0; k < cj_len(cts); k++)
        if (streq(cj_str0(cj_at(vols, i), "name"),
                  cj_str0(cj_obj(cj_at(cts, k), "metadata"), "name")))
          replaced = true;
      if (!replaced)
        json_object_array_add(nv, json_object_get(cj_at(vols, i)));
    }
    for (size_t k = 0; k < cj_len(cts); k++) {
      const char *t = cj_str0(cj_obj(cj_at(cts, k), "metadata"), "name");
      char claim[600];
      snprintf(claim, sizeof claim, "%s-%s", t, name);
      json_object *v = json_object_new_object();
      json_object *pvc = json_object_new_object();
      cj_set(pvc, "claimName", json_object_new_string(claim));
      cj_set(v, "name", json_object_new_string(t));
      cj_set(v, "persistentVolumeClaim", pvc);
      json_object_array_add(nv, v);
    }
    cj_set(spec, "volumes", nv);
  }
  cj_set(pod, "metadata", meta);
  cj_set(pod, "spec", spec);
  return ctl_json_take_text(pod);
}

static void claim_created(struct ctl_op *op, const kube_object_t *res,
                          const kube_error_t *err) {
  struct swork *w = op->sync->data;
  if (err && err->reason != KUBE_REASON_ALREADY_EXISTS) {
    ctl_eventf(&w->c->b, w->set, sts_kind, sts_av, "Warning", "FailedCreate",
               "create Claim %s for StatefulSet %s failed error: %s", op->tag,
               w->name, err->message);
    op->sync->result = -1;
    return;
  }
  if (!err)
    ctl_eventf(&w->c->b, w->set, sts_kind, sts_av, "Normal", "SuccessfulCreate",
               "create Claim %s Pod %s in StatefulSet %s "
               "success",
               op->tag, op->tag, w->name);
}

static void pod_created(struct ctl_op *op, const kube_object_t *res,
                        const kube_error_t *err) {
  struct swork *w = op->sync->data;
  if (err) {
    ctl_creation_observed(&w->c->exp, op->sync->key);
    /* A pod of that name still there (another set's, terminating): try
     * again later, as upstream's failed sync is retried. */
    op->sync->result = -1;
    if (err->reason == KUBE_REASON_ALREADY_EXISTS)
      return;
    ctl_eventf(&w->c->b, w->set, sts_kind, sts_av, "Warning", "FailedCreate",
               "create Pod %s in StatefulSet %s failed error: %s", op->tag,
               w->name, err->message);
    return;
  }
  ctl_eventf(&w->c->b, w->set, sts_kind, sts_av, "Normal", "SuccessfulCreate",
             "create Pod %s in StatefulSet %s successful", op->tag, w->name);
}

static void pod_deleted(struct ctl_op *op, const kube_object_t *res,
                        const kube_error_t *err) {
  struct swork *w = op->sync->data;
  if (err) {
    ctl_deletion_observed(&w->c->exp, op->sync->key, op->tag);
    if (err->reason == KUBE_REASON_NOT_FOUND)
      return;
    op->sync->result = -1;
    return;
  }
  char ns[256];
  const char *name;
  ctl_split_key(op->tag, ns, sizeof ns, &name);
  ctl_eventf(&w->c->b, w->set, sts_kind, sts_av, "Normal", "SuccessfulDelete",
             "delete Pod %s in StatefulSet %s successful", name, w->name);
}

/* Step two: the pods whose claims now exist. */
static void create_pods(struct ctl_sync *s) {
  struct swork *w = s->data;
  if (s->result < 0) {
    for (size_t i = 0; i < w->n_create; i++)
      ctl_creation_observed(&w->c->exp, s->key);
    return;
  }
  char path[512];
  snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", w->ns);
  for (size_t i = 0; i < w->n_create; i++) {
    cleanup_free char *body = pod_body(w, w->create[i]);
    char tag[320];
    snprintf(tag, sizeof tag, "%s-%lld", w->name, (long long)w->create[i]);
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    struct ctl_op *op = body ? ctl_op_new(&w->c->b, s, pod_created, tag) : NULL;
    if (!op || ctl_op_started(op, kube_writer_send(w->c->b.w, "POST", path,
                                                   NULL, body, strlen(body),
                                                   ctl_op_cb, op, &err)) < 0) {
      ctl_creation_observed(&w->c->exp, s->key);
      s->result = -1;
    }
  }
}

static void create_claims(struct ctl_sync *s, int64_t ord) {
  struct swork *w = s->data;
  json_object *cts = claim_templates(w);
  char pod[300], path[512];
  snprintf(pod, sizeof pod, "%s-%lld", w->name, (long long)ord);
  snprintf(path, sizeof path, "/api/v1/namespaces/%s/persistentvolumeclaims",
           w->ns);
  for (size_t k = 0; k < cj_len(cts); k++) {
    cleanup_free char *body = claim_body(w, cj_at(cts, k), pod);
    char tag[600];
    snprintf(tag, sizeof tag, "%s-%s",
             cj_str0(cj_obj(cj_at(cts, k), "metadata"), "name"), pod);
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    struct ctl_op *op =
        body ? ctl_op_new(&w->c->b, s, claim_created, tag) : NULL;
    if (!op || ctl_op_started(op, kube_writer_send(w->c->b.w, "POST", path,
                                                   NULL, body, strlen(body),
                                                   ctl_op_cb, op, &err)) < 0)
      s->result = -1;
  }
}

/* whenScaled Delete: the claims of a pod scaled away get it as owner. */
static void own_claims_by_pod(struct ctl_sync *s, const struct ctl_pod *p) {
  struct swork *w = s->data;
  json_object *cts = claim_templates(w);
  for (size_t k = 0; k < cj_len(cts); k++) {
    char claim[600];
    snprintf(claim, sizeof claim, "%s-%s",
             cj_str0(cj_obj(cj_at(cts, k), "metadata"), "name"), p->name);
    json_object *patch = json_object_new_object();
    json_object *meta = ctl_json_ensure(patch, "metadata");
    json_object *refs = json_object_new_array();
    if (streq(retention(w, "whenDeleted"), "Delete"))
      json_object_array_add(refs, owner_ref(sts_av, sts_kind, w->name, w->uid));
    json_object_array_add(refs, owner_ref("v1", "Pod", p->name, p->uid));
    cj_set(meta, "ownerReferences", refs);
    const char *text =
        json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN);
    struct ctl_op *op = ctl_op_new(&w->c->b, NULL, NULL, NULL);
    if (op)
      ctl_op_started(op, kube_writer_patch(w->c->b.w, w->c->pvc_kind, w->ns,
                                           claim, NULL, KUBE_PATCH_MERGE, text,
                                           NULL, ctl_op_cb, op, NULL));
    json_object_put(patch);
  }
}

static void delete_pod(struct ctl_sync *s, const struct ctl_pod *p) {
  struct swork *w = s->data;
  const char *keys[1] = {p->key};
  ctl_expect_deletions(&w->c->exp, s->key, keys, 1);
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  struct ctl_op *op = ctl_op_new(&w->c->b, s, pod_deleted, p->key);
  if (!op || ctl_op_started(op, kube_writer_delete(w->c->b.w, w->c->pod_kind,
                                                   p->ns, p->name, NULL,
                                                   ctl_op_cb, op, &err)) < 0) {
    ctl_deletion_observed(&w->c->exp, s->key, p->key);
    s->result = -1;
  }
}

static bool running_ready(const struct ctl_pod *p) {
  return p && !p->deleting && p->phase == CTL_PHASE_RUNNING && p->ready;
}

static const char *revision_of(const struct ctl_pod *p) {
  return ctl_pairs_get(p->labels, STS_REVISION_LABEL);
}

/* A revision some pod of the set runs (its label names the revision). */
static bool rev_live(json_object *rev, void *arg) {
  const struct ctl_podlist *owned = arg;
  const char *name = cj_str0(cj_obj(rev, "metadata"), "name");
  for (size_t i = 0; i < owned->n; i++) {
    const char *r = revision_of(owned->v[i]);
    if (r && streq(r, name))
      return true;
  }
  return false;
}

/* The current revision: the one status.currentRevision names when it
 * exists (its template kept for pods below the partition), else the
 * update revision. */
static void set_current(struct swork *w, struct ctl_revs *revs,
                        const char *named) {
  snprintf(w->current_rev, sizeof w->current_rev, "%s", w->update_rev);
  if (!named || streq(named, w->update_rev))
    return;
  for (size_t i = 0; i < revs->n; i++) {
    if (!streq(cj_str0(cj_obj(revs->v[i], "metadata"), "name"), named))
      continue;
    json_object *t = ctl_revision_template(revs->v[i]);
    if (!t)
      return;
    snprintf(w->current_rev, sizeof w->current_rev, "%s", named);
    w->cur_tmpl = ctl_json_copy(t);
    if (w->cur_tmpl)
      json_object_object_del(w->cur_tmpl, "$patch");
    return;
  }
}

static int sts_sync(kube_controller_t *kc, const char *key, void *arg) {
  struct stsc *c = arg;
  const kube_object_t *obj = kube_informer_get(c->inf, key);
  if (!obj) {
    ctl_expectations_delete(&c->exp, key);
    return 0;
  }
  struct swork *w = calloc(1, sizeof *w);
  struct ctl_sync *s = w ? ctl_sync_new(&c->b, key) : NULL;
  if (!s) {
    free(w);
    return -1;
  }
  s->data = w;
  s->free_data = swork_free;
  w->c = c;
  w->set = ctl_json_copy(kube_object_json(obj));
  w->ns = strdup(kube_object_namespace(obj) ?: "");
  w->name = strdup(kube_object_name(obj) ?: "");
  w->uid = strdup(kube_object_uid(obj) ?: "");
  if (!w->set || !w->ns || !w->name || !w->uid) {
    s->result = -1;
    return ctl_sync_finish(s);
  }
  json_object *spec = cj_obj(w->set, "spec");
  json_object *st0 = cj_obj(w->set, "status");
  json_object *ccv = cj(st0, "collisionCount");
  int32_t cc = ccv ? (int32_t)json_object_get_int64(ccv) : 0;
  char hash[16];
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  /* Always with the count (0 when absent): the revision must not change
   * when the status first records it. */
  if (ctl_template_hash(cj_obj(spec, "template"), &cc, hash, sizeof hash,
                        &err) < 0) {
    s->result = -1;
    return ctl_sync_finish(s);
  }
  snprintf(w->update_rev, sizeof w->update_rev, "%s-%s", w->name, hash);
  bool deleting = cj(cj_obj(w->set, "metadata"), "deletionTimestamp");
  kube_selector_t *sel = ctl_label_selector(cj_obj(spec, "selector"), NULL);
  struct ctl_revs revs = {0};
  struct ctl_cur_rev cur = {0};
  if (!deleting && sel &&
      (ctl_history_list(&c->hist, &c->b, s, w->set, sel, &revs) < 0 ||
       ctl_history_current(&c->hist, &c->b, s, w->set, hash, &revs, &cur) <
           0)) {
    s->result = -1;
    kube_selector_free(sel);
    ctl_revs_clear(&revs);
    return ctl_sync_finish(s);
  }
  if (cur.collision) {
    /* Another revision holds the name: only the count changes, and the
     * next sync names the revision with the new hash. */
    json_object *st = json_object_new_object();
    cj_set(st, "collisionCount", json_object_new_int(cc + 1));
    ctl_status_put(&c->b, s, c->sk, w->set, st);
    json_object_put(st);
    kube_selector_free(sel);
    ctl_revs_clear(&revs);
    return ctl_sync_finish(s);
  }
  if (!deleting && sel)
    snprintf(w->update_rev, sizeof w->update_rev, "%s", cur.name);
  set_current(w, &revs, cj_str(st0, "currentRevision"));
  int64_t replicas = cj_int(spec, "replicas", 1);
  int64_t start = cj_int(cj_obj(spec, "ordinals"), "start", 0);
  bool parallel = streq(cj_str0(spec, "podManagementPolicy"), "Parallel");
  const char *strategy = cj_str0(cj_obj(spec, "updateStrategy"), "type");
  bool rolling = !*strategy || streq(strategy, "RollingUpdate");
  int64_t partition = cj_int(
      cj_obj(cj_obj(spec, "updateStrategy"), "rollingUpdate"), "partition", 0);
  w->rolling = rolling;
  w->partition = partition;
  int32_t min_ready = (int32_t)cj_int(spec, "minReadySeconds", 0);
  int64_t now = ctl_now_ns();

  const struct ctl_podlist *owned = ctl_podstore_owned(c->pods, w->uid);
  const struct ctl_pod **slot =
      calloc((size_t)(replicas > 0 ? replicas : 0) + 1, sizeof *slot);
  const struct ctl_pod **condemned = calloc(owned->n + 1, sizeof *condemned);
  w->create =
      calloc((size_t)(replicas > 0 ? replicas : 0) + 1, sizeof *w->create);
  size_t n_cond = 0;
  int32_t n_pods = 0, n_ready = 0, n_avail = 0, n_cur = 0, n_upd = 0;
  if (!slot || !condemned || !w->create || !sel) {
    s->result = -1;
    goto out;
  }
  for (size_t i = 0; i < owned->n; i++) {
    const struct ctl_pod *p = owned->v[i];
    if (!streq(p->ns, w->ns) || !ctl_selector_matches_pairs(sel, p->labels))
      continue;
    int64_t o = ordinal_of(w->name, p->name);
    if (o < 0)
      continue;
    n_pods++;
    if (p->ready && !p->deleting) {
      n_ready++;
      if (ctl_pod_available(p, min_ready, now))
        n_avail++;
    }
    const char *rev = revision_of(p);
    if (rev && streq(rev, w->current_rev))
      n_cur++;
    if (rev && streq(rev, w->update_rev))
      n_upd++;
    if (o >= start && o < start + replicas)
      slot[o - start] = p;
    else
      condemned[n_cond++] = p;
  }

  if (!deleting && ctl_expectations_satisfied(&c->exp, key)) {
    bool blocked = false;
    /* Replicas: failed ones go, missing ones come (in order). */
    for (int64_t i = 0; i < replicas && !blocked; i++) {
      const struct ctl_pod *p = slot[i];
      if (p &&
          (p->phase == CTL_PHASE_FAILED || p->phase == CTL_PHASE_SUCCEEDED) &&
          !p->deleting) {
        delete_pod(s, p);
        if (!parallel)
          blocked = true;
        continue;
      }
      if (!p) {
        w->create[w->n_create++] = start + i;
        if (!parallel)
          blocked = true;
        continue;
      }
      if (!parallel && !running_ready(p))
        blocked = true; /* OrderedReady: wait for it */
    }
    /* Condemned: the highest ordinal first. */
    if (!blocked && n_cond) {
      const struct ctl_pod *top = NULL;
      for (size_t i = 0; i < n_cond; i++) {
        if (condemned[i]->deleting) {
          if (!parallel)
            blocked = true;
          continue;
        }
        if (parallel) {
          if (streq(retention(w, "whenScaled"), "Delete"))
            own_claims_by_pod(s, condemned[i]);
          delete_pod(s, condemned[i]);
        } else if (!top || ordinal_of(w->name, condemned[i]->name) >
                               ordinal_of(w->name, top->name)) {
          top = condemned[i];
        }
      }
      if (top && !blocked) {
        if (streq(retention(w, "whenScaled"), "Delete"))
          own_claims_by_pod(s, top);
        delete_pod(s, top);
      }
      blocked = true;
    }
    /* RollingUpdate: one pod at a time, highest ordinal first, down to the
     * partition, once every replica runs and is ready. */
    if (!blocked && rolling) {
      bool all_ready = true;
      for (int64_t i = 0; i < replicas; i++)
        if (!running_ready(slot[i]))
          all_ready = false;
      for (int64_t i = replicas - 1; all_ready && i >= 0; i--) {
        if (start + i < partition)
          break;
        const char *rev = revision_of(slot[i]);
        if (!rev || !streq(rev, w->update_rev)) {
          delete_pod(s, slot[i]);
          break;
        }
      }
    }
    const char *keep[] = {w->current_rev, w->update_rev, NULL};
    ctl_history_prune(&c->hist, &c->b, s, w->set, &revs, keep, rev_live,
                      (void *)owned, false);
    if (w->n_create) {
      ctl_expect_creations(&c->exp, key, (int64_t)w->n_create);
      for (size_t i = 0; i < w->n_create; i++)
        create_claims(s, w->create[i]);
      s->drained = create_pods;
    }
  }

  /* Status; the roll-out is complete when every pod is updated and
   * ready. */
  if (rolling && n_upd == n_pods && n_ready == n_pods && n_pods == replicas &&
      !n_cond) {
    snprintf(w->current_rev, sizeof w->current_rev, "%s", w->update_rev);
    n_cur = n_upd;
  }
  json_object *st = json_object_new_object();
  cj_set(st, "observedGeneration",
         json_object_new_int64(
             cj_int(cj_obj(w->set, "metadata"), "generation", 0)));
  cj_set(st, "replicas", json_object_new_int(n_pods));
  cj_set(st, "readyReplicas", json_object_new_int(n_ready));
  cj_set(st, "availableReplicas", json_object_new_int(n_avail));
  cj_set(st, "currentReplicas", json_object_new_int(n_cur));
  cj_set(st, "updatedReplicas", json_object_new_int(n_upd));
  cj_set(st, "currentRevision", json_object_new_string(w->current_rev));
  cj_set(st, "updateRevision", json_object_new_string(w->update_rev));
  cj_set(st, "collisionCount", json_object_new_int(cc));
  ctl_status_put(&c->b, s, c->sk, w->set, st);
  json_object_put(st);
  if (min_ready > 0 && n_ready > n_avail)
    kube_controller_enqueue_after(c->b.c, key, (int64_t)min_ready * 1000, NULL);
out:
  kube_selector_free(sel);
  ctl_revs_clear(&revs);
  free(slot);
  free(condemned);
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
  struct stsc *x = arg;
  if (!kube_informer_has(x->inf, key))
    ctl_expectations_delete(&x->exp, key);
  kube_controller_enqueue(kc, key, NULL);
}

static void *sts_create(kube_controller_manager_t *m, kube_error_t *err) {
  struct stsc *c = calloc(1, sizeof *c);
  if (!c) {
    kube_make_oom(err);
    return NULL;
  }
  c->sk = kube_kind_by_resource("apps", "v1", "statefulsets");
  c->pod_kind = kube_kind_by_resource("", "v1", "pods");
  c->pvc_kind = kube_kind_by_resource("", "v1", "persistentvolumeclaims");
  if (!c->sk || !c->pod_kind || !c->pvc_kind) {
    kube_error_set(err, KUBE_REASON_INTERNAL, 0, "no statefulset kinds");
    free(c);
    return NULL;
  }
  if (ctl_base_init(&c->b, m, "statefulset", "statefulset-controller", sts_sync,
                    c, err) < 0) {
    free(c);
    return NULL;
  }
  if (!(c->inf = ctl_manager_informer(m, "/apis/apps/v1/statefulsets", err)) ||
      !(c->pods = ctl_manager_pods(m, err)) ||
      !(c->pod_inf = ctl_podstore_informer(c->pods)) ||
      kube_controller_watch(c->b.c, c->inf, set_changed, c, err) < 0 ||
      kube_controller_watch(c->b.c, c->pod_inf, ctl_map_nothing, NULL, err) <
          0 ||
      ctl_podstore_listen(c->pods, pod_changed, NULL, c, err) < 0 ||
      ctl_history_init(&c->hist, m, c->b.c, c->inf, sts_kind, err) < 0) {
    ctl_podstore_unlisten(c->pods, c);
    ctl_base_clear(&c->b);
    free(c);
    return NULL;
  }
  return c;
}

static int sts_start(void *impl, kube_error_t *err) {
  return kube_controller_start(((struct stsc *)impl)->b.c, err);
}

static void sts_free(void *impl) {
  struct stsc *c = impl;
  if (!c)
    return;
  ctl_podstore_unlisten(c->pods, c);
  ctl_base_clear(&c->b);
  ctl_expectations_clear(&c->exp);
  free(c);
}

static kube_controller_t *sts_controller(void *impl) {
  return ((struct stsc *)impl)->b.c;
}

const struct ctl_impl_ops ctl_statefulset_ops = {
    .create = sts_create,
    .start = sts_start,
    .free = sts_free,
    .controller = sts_controller,
};
