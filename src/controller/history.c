/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ControllerRevisions as kube-controller-manager's DaemonSet and
 * StatefulSet controllers keep them (pkg/controller/history and the two
 * controllers' revision code): each revision holds getPatch of the set,
 * {"spec":{"template":{..., "$patch":"replace"}}}, the strategic merge
 * patch `kubectl rollout undo` sends back; it is named <set>-<hash>,
 * labelled with the template's labels and controller-revision-hash, owned
 * by the set (controller: true) and numbered max + 1 when made.  A
 * template that comes back (a rollback) reuses its old revision,
 * renumbered to max + 1, so `kubectl rollout history` lists it last.
 * Orphans the selector matches are adopted, as ClaimControllerRevisions
 * does; old revisions no pod uses go beyond revisionHistoryLimit.
 */
#include "controller/history.h"

static const char *apps_v1 = "apps/v1";

/* The controller reference of a tree, or NULL. */
static json_object *controller_of(json_object *obj) {
  json_object *refs = cj_arr(cj_obj(obj, "metadata"), "ownerReferences");
  for (size_t i = 0; i < cj_len(refs); i++)
    if (cj_bool(cj_at(refs, i), "controller", false))
      return cj_at(refs, i);
  return NULL;
}

static const char *label_of(void *ctx, const char *key) {
  return cj_str(ctx, key);
}

struct orphan {
  kube_controller_t *c;
  json_object *labels;
};

/* Owners (of one namespace) whose selector matches the orphan's labels. */
static void enqueue_matching(const char *key, const kube_object_t *obj,
                             void *arg) {
  struct orphan *o = arg;
  kube_selector_t *sel = ctl_label_selector(
      cj_obj(cj_obj(kube_object_json(obj), "spec"), "selector"), NULL);
  if (sel && !kube_selector_empty(sel) &&
      kube_selector_matches(sel, label_of, o->labels))
    kube_controller_enqueue(o->c, key, NULL);
  kube_selector_free(sel);
}

/* A revision changed: its controller syncs (when of the owner kind); an
 * orphan wakes the owners that would adopt it (getDaemonSetsForHistory,
 * getStatefulSetsForRevision). */
static void revision_changed(kube_controller_t *c, const char *key,
                             const kube_object_t *obj, void *arg) {
  struct ctl_history *h = arg;
  json_object *o = obj ? kube_object_json(obj) : NULL;
  json_object *meta = cj_obj(o, "metadata");
  if (!o || cj(meta, "deletionTimestamp")) {
    if (o)
      kube_controller_enqueue_owner(c, obj, h->owner_kind, NULL);
    return;
  }
  if (controller_of(o)) {
    kube_controller_enqueue_owner(c, obj, h->owner_kind, NULL);
    return;
  }
  struct orphan orphan = {c, cj_obj(meta, "labels")};
  kube_informer_index_foreach(h->owners, KUBE_INDEX_NAMESPACE,
                              cj_str0(meta, "namespace"), enqueue_matching,
                              &orphan);
}

int ctl_history_init(struct ctl_history *h, kube_controller_manager_t *m,
                     kube_controller_t *c, kube_informer_t *owners,
                     const char *owner_kind, kube_error_t *err) {
  h->owner_kind = owner_kind;
  h->owners = owners;
  h->kind = kube_kind_by_resource("apps", "v1", "controllerrevisions");
  if (!h->kind)
    return kube_error_set(err, KUBE_REASON_INTERNAL, 0,
                          "no apps/v1 controllerrevisions");
  if (!(h->inf = ctl_manager_informer(m, "/apis/apps/v1/controllerrevisions",
                                      err)) ||
      kube_informer_add_index(h->inf, KUBE_INDEX_CONTROLLER_UID,
                              kube_index_controller_uid, NULL, err) < 0 ||
      kube_informer_add_index(h->inf, KUBE_INDEX_NAMESPACE,
                              kube_index_namespace, NULL, err) < 0 ||
      kube_informer_add_index(owners, KUBE_INDEX_NAMESPACE,
                              kube_index_namespace, NULL, err) < 0 ||
      kube_controller_watch(c, h->inf, revision_changed, h, err) < 0)
    return -1;
  return 0;
}

void ctl_revs_clear(struct ctl_revs *r) {
  for (size_t i = 0; i < r->n; i++)
    json_object_put(r->v[i]);
  free(r->v);
  r->v = NULL;
  r->n = 0;
}

static int64_t rev_number(json_object *rev) {
  return cj_int(rev, "revision", 0);
}

static const char *rev_name(json_object *rev) {
  return cj_str0(cj_obj(rev, "metadata"), "name");
}

static int by_revision(const void *a, const void *b) {
  int64_t x = rev_number(*(json_object *const *)a);
  int64_t y = rev_number(*(json_object *const *)b);
  return x < y ? -1 : x > y;
}

json_object *ctl_revision_template(json_object *rev) {
  return cj_obj(cj_obj(cj_obj(rev, "data"), "spec"), "template");
}

struct collect {
  struct ctl_revs *out;
  size_t cap;
  const char *uid;
  const kube_selector_t *sel; /* NULL: owned ones only */
  bool oom;
};

static void collect_one(const char *key, const kube_object_t *obj, void *arg) {
  struct collect *c = arg;
  json_object *o = kube_object_json(obj);
  json_object *ref = controller_of(o);
  if (c->sel) { /* orphans of the namespace the selector matches */
    if (ref || cj(cj_obj(o, "metadata"), "deletionTimestamp") ||
        kube_selector_empty(c->sel) ||
        !kube_selector_matches(c->sel, label_of,
                               cj_obj(cj_obj(o, "metadata"), "labels")))
      return;
  } else if (!ref || !streq(cj_str0(ref, "uid"), c->uid)) {
    return;
  }
  if (c->out->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 8;
    json_object **v = realloc(c->out->v, cap * sizeof *v);
    if (!v) {
      c->oom = true;
      return;
    }
    c->out->v = v;
    c->cap = cap;
  }
  json_object *copy = ctl_json_copy(o);
  if (!copy) {
    c->oom = true;
    return;
  }
  c->out->v[c->out->n++] = copy;
}

/* Adopt an orphan: a controller reference, guarded by its
 * resourceVersion. */
static void adopt(struct ctl_history *h, struct ctl_base *b, struct ctl_sync *s,
                  json_object *owner, json_object *rev) {
  json_object *meta = cj_obj(owner, "metadata");
  cleanup_free char *patch = ctl_owner_patch(
      rev,
      ctl_controller_ref(apps_v1, h->owner_kind, cj_str0(meta, "name"),
                         cj_str0(meta, "uid")),
      NULL);
  struct ctl_op *op = patch ? ctl_op_new(b, s, NULL, NULL) : NULL;
  if (!op || ctl_op_started(op, kube_writer_patch(
                                    b->w, h->kind, cj_str0(meta, "namespace"),
                                    rev_name(rev), NULL, KUBE_PATCH_MERGE,
                                    patch, NULL, ctl_op_cb, op, NULL)) < 0)
    s->result = -1;
}

int ctl_history_list(struct ctl_history *h, struct ctl_base *b,
                     struct ctl_sync *s, json_object *owner,
                     const kube_selector_t *sel, struct ctl_revs *out) {
  json_object *meta = cj_obj(owner, "metadata");
  const char *ns = cj_str0(meta, "namespace");
  struct collect c = {out, 0, cj_str0(meta, "uid"), NULL, false};
  out->v = NULL;
  out->n = 0;
  size_t seen = kube_informer_index_foreach(h->inf, KUBE_INDEX_CONTROLLER_UID,
                                            c.uid, collect_one, &c);
  (void)seen;
  /* Owned ones of another namespace cannot be (owner references are
   * namespaced); drop them anyway rather than trust the index blindly. */
  size_t n = 0;
  for (size_t i = 0; i < out->n; i++) {
    if (streq(cj_str0(cj_obj(out->v[i], "metadata"), "namespace"), ns))
      out->v[n++] = out->v[i];
    else
      json_object_put(out->v[i]);
  }
  out->n = n;
  if (!cj(meta, "deletionTimestamp") && sel) {
    size_t first = out->n;
    c.sel = sel;
    kube_informer_index_foreach(h->inf, KUBE_INDEX_NAMESPACE, ns, collect_one,
                                &c);
    for (size_t i = first; i < out->n; i++)
      adopt(h, b, s, owner, out->v[i]);
  }
  if (c.oom) {
    ctl_revs_clear(out);
    return -1;
  }
  if (out->n > 1)
    qsort(out->v, out->n, sizeof *out->v, by_revision);
  return 0;
}

/* getPatch: the template under spec with "$patch": "replace" (first, where
 * Go's sorted map keys put it).  Owned. */
static json_object *template_patch(json_object *owner) {
  json_object *tmpl = cj_obj(cj_obj(owner, "spec"), "template");
  json_object *t = json_object_new_object();
  json_object *spec = json_object_new_object();
  json_object *patch = json_object_new_object();
  if (!t || !spec || !patch) {
    json_object_put(t);
    json_object_put(spec);
    json_object_put(patch);
    return NULL;
  }
  cj_set(t, "$patch", json_object_new_string("replace"));
  if (tmpl) {
    json_object_object_foreach(tmpl, k, v) {
      cj_set(t, k, ctl_json_copy(v));
    }
  }
  cj_set(spec, "template", t);
  cj_set(patch, "spec", spec);
  return patch;
}

static void rev_deleted(struct ctl_op *op, const kube_object_t *res,
                        const kube_error_t *err) {
  if (err && err->reason != KUBE_REASON_NOT_FOUND)
    op->sync->result = -1;
}

static void delete_rev(struct ctl_history *h, struct ctl_base *b,
                       struct ctl_sync *s, json_object *rev) {
  struct ctl_op *op = ctl_op_new(b, s, rev_deleted, NULL);
  if (!op ||
      ctl_op_started(
          op, kube_writer_delete(b->w, h->kind,
                                 cj_str0(cj_obj(rev, "metadata"), "namespace"),
                                 rev_name(rev), NULL, ctl_op_cb, op, NULL)) < 0)
    s->result = -1;
}

/* The revision number of a revision, raised (guarded by its
 * resourceVersion). */
static void renumber(struct ctl_history *h, struct ctl_base *b,
                     struct ctl_sync *s, json_object *rev, int64_t n) {
  json_object *meta = cj_obj(rev, "metadata");
  char body[512];
  snprintf(body, sizeof body,
           "{\"metadata\":{\"resourceVersion\":\"%s\"},\"revision\":%lld}",
           cj_str0(meta, "resourceVersion"), (long long)n);
  struct ctl_op *op = ctl_op_new(b, s, NULL, NULL);
  if (!op || ctl_op_started(op, kube_writer_patch(
                                    b->w, h->kind, cj_str0(meta, "namespace"),
                                    rev_name(rev), NULL, KUBE_PATCH_MERGE, body,
                                    NULL, ctl_op_cb, op, NULL)) < 0)
    s->result = -1;
}

/* A new revision of owner: patch stolen. */
static void create_rev(struct ctl_history *h, struct ctl_base *b,
                       struct ctl_sync *s, json_object *owner,
                       const struct ctl_cur_rev *cur, json_object *patch) {
  json_object *ometa = cj_obj(owner, "metadata");
  json_object *tmpl = cj_obj(cj_obj(owner, "spec"), "template");
  json_object *rev = json_object_new_object();
  json_object *meta = json_object_new_object();
  json_object *labels =
      ctl_json_copy(cj_obj(cj_obj(tmpl, "metadata"), "labels"));
  json_object *refs = json_object_new_array();
  if (!labels)
    labels = json_object_new_object();
  if (!rev || !meta || !labels || !refs) {
    json_object_put(rev);
    json_object_put(meta);
    json_object_put(labels);
    json_object_put(refs);
    json_object_put(patch);
    s->result = -1;
    return;
  }
  cj_set(rev, "apiVersion", json_object_new_string(apps_v1));
  cj_set(rev, "kind", json_object_new_string("ControllerRevision"));
  cj_set(meta, "name", json_object_new_string(cur->name));
  cj_set(meta, "namespace",
         json_object_new_string(cj_str0(ometa, "namespace")));
  cj_set(labels, CTL_REVISION_HASH_LABEL, json_object_new_string(cur->hash));
  cj_set(meta, "labels", labels);
  if (cj_obj(ometa, "annotations"))
    cj_set(meta, "annotations", ctl_json_copy(cj_obj(ometa, "annotations")));
  json_object_array_add(refs, ctl_controller_ref(apps_v1, h->owner_kind,
                                                 cj_str0(ometa, "name"),
                                                 cj_str0(ometa, "uid")));
  cj_set(meta, "ownerReferences", refs);
  cj_set(rev, "metadata", meta);
  cj_set(rev, "data", patch);
  cj_set(rev, "revision", json_object_new_int64(cur->revision));
  kube_object_t *o = kube_object_wrap(rev);
  struct ctl_op *op = o ? ctl_op_new(b, s, NULL, NULL) : NULL;
  if (!op || ctl_op_started(op, kube_writer_create(
                                    b->w, h->kind, cj_str0(ometa, "namespace"),
                                    o, NULL, ctl_op_cb, op, NULL)) < 0)
    s->result = -1;
  kube_object_free(o);
}

int ctl_history_current(struct ctl_history *h, struct ctl_base *b,
                        struct ctl_sync *s, json_object *owner,
                        const char *hash, struct ctl_revs *revs,
                        struct ctl_cur_rev *cur) {
  json_object *patch = template_patch(owner);
  if (!patch)
    return -1;
  memset(cur, 0, sizeof *cur);
  cur->tmpl = cj_obj(cj_obj(owner, "spec"), "template");
  /* The newest equal revision and the newest other one. */
  json_object *equal = NULL;
  int64_t max_other = 0;
  for (size_t i = 0; i < revs->n; i++) {
    json_object *r = revs->v[i];
    if (json_object_equal(cj(r, "data"), patch)) {
      if (equal)
        delete_rev(h, b, s, equal); /* dedupCurHistories */
      equal = r;
    } else if (rev_number(r) > max_other) {
      max_other = rev_number(r);
    }
  }
  cur->revision = max_other + 1;
  if (equal) {
    json_object_put(patch);
    snprintf(cur->name, sizeof cur->name, "%s", rev_name(equal));
    const char *lh = cj_str(cj_obj(cj_obj(equal, "metadata"), "labels"),
                            CTL_REVISION_HASH_LABEL);
    snprintf(cur->hash, sizeof cur->hash, "%s", lh ? lh : hash);
    if (rev_number(equal) < cur->revision)
      renumber(h, b, s, equal, cur->revision);
    else
      cur->revision = rev_number(equal);
    return 0;
  }
  snprintf(cur->name, sizeof cur->name, "%s-%s",
           cj_str0(cj_obj(owner, "metadata"), "name"), hash);
  snprintf(cur->hash, sizeof cur->hash, "%s", hash);
  /* A revision of that name that is not an equal one of ours: a hash
   * collision; the caller bumps status.collisionCount. */
  cleanup_free char *key =
      ctl_key(cj_str0(cj_obj(owner, "metadata"), "namespace"), cur->name);
  if (key && kube_informer_has(h->inf, key)) {
    json_object_put(patch);
    cur->collision = true;
    return 0;
  }
  create_rev(h, b, s, owner, cur, patch);
  return 0;
}

static bool kept(const char *name, const char *const *keep) {
  for (size_t i = 0; keep && keep[i]; i++)
    if (streq(keep[i], name))
      return true;
  return false;
}

void ctl_history_prune(struct ctl_history *h, struct ctl_base *b,
                       struct ctl_sync *s, json_object *owner,
                       struct ctl_revs *revs, const char *const *keep,
                       ctl_rev_live_fn live, void *arg, bool count_live) {
  int64_t limit = cj_int(cj_obj(owner, "spec"), "revisionHistoryLimit", 10);
  if (limit < 0)
    limit = 0;
  int64_t candidates = 0;
  for (size_t i = 0; i < revs->n; i++)
    if (!kept(rev_name(revs->v[i]), keep) &&
        (count_live || !live(revs->v[i], arg)))
      candidates++;
  int64_t to_kill = candidates - limit;
  for (size_t i = 0; i < revs->n && to_kill > 0; i++) {
    json_object *r = revs->v[i];
    if (kept(rev_name(r), keep) || live(r, arg))
      continue;
    delete_rev(h, b, s, r);
    to_kill--;
  }
}
