/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Server-side apply, following sigs.k8s.io/structured-merge-diff as the
 * Kubernetes API server uses it:
 *  - the applied configuration's field set (leaves, list items, empty
 *    objects) becomes the manager's Apply entry in metadata.managedFields;
 *  - the configuration is merged into the live object with the structural
 *    schema of patch-schema.c (associative lists by their list-map keys,
 *    sets of scalars, atomic lists/structs replaced);
 *  - a field the configuration changes that another manager owns is a
 *    conflict (409, one cause per field) unless forced, in which case the
 *    other manager loses it;
 *  - fields the manager applied before and omits now are removed from the
 *    object unless another manager still owns them.
 */
#include "apiserver/apply-internal.h"
#include "apiserver/patch.h"
#include "core/util.h"

/* ---- the field set of a value ------------------------------------------ */

typedef struct tofs {
  json_object *set;
  fs_path_t path;
  char *owned[FS_MAX_DEPTH];
  kube_error_t *err;
} tofs_t;

static int push(tofs_t *t, char *el) {
  if (!el)
    return kube_make_oom(t->err);
  if (t->path.n >= FS_MAX_DEPTH) {
    free(el);
    return kube_error_set(t->err, KUBE_REASON_BAD_REQUEST, 0,
                          "object nests deeper than %d levels", FS_MAX_DEPTH);
  }
  t->owned[t->path.n] = el;
  t->path.el[t->path.n++] = el;
  return 0;
}

static void pop(tofs_t *t) {
  free(t->owned[--t->path.n]);
}

static int add_here(tofs_t *t) {
  if (as_fs_path_ignored(&t->path))
    return 0;
  return as_fs_add(t->set, &t->path) < 0 ? kube_make_oom(t->err) : 0;
}

static int tofs_value(tofs_t *t, json_object *v, const patch_type_t *type,
                      const patch_field_t *field);

static int tofs_object(tofs_t *t, json_object *v, const patch_type_t *type) {
  json_object_object_foreach(v, key, cv) {
    const patch_field_t *f = as_patch_schema_field(type, key);
    if (push(t, as_fs_field_element(key)) < 0)
      return -1;
    int r;
    if (!cv || (json_object_is_type(cv, json_type_object) &&
                json_object_object_length(cv) == 0))
      r = add_here(t);
    else
      r = tofs_value(t, cv, f ? patch_field_type(f) : NULL, f);
    pop(t);
    if (r < 0)
      return -1;
  }
  return 0;
}

static int tofs_value(tofs_t *t, json_object *v, const patch_type_t *type,
                      const patch_field_t *field) {
  if (json_object_is_type(v, json_type_object)) {
    if (field && (field->mflags & PATCH_F_ATOMIC))
      return add_here(t);
    return tofs_object(t, v, type);
  }
  if (!json_object_is_type(v, json_type_array))
    return add_here(t);
  int kind = patch_field_ssa_list(field);
  size_t n = json_object_array_length(v);
  if (kind == PATCH_LIST_NONE)
    return add_here(t);
  for (size_t i = 0; i < n; i++) {
    json_object *item = json_object_array_get_idx(v, i);
    char *el = kind == PATCH_LIST_SET ? as_fs_value_element(item)
                                      : as_fs_key_element(item, field);
    if (!el && kind == PATCH_LIST_MAP) {
      char *where = as_fs_path_string(&t->path);
      kube_error_set(t->err, KUBE_REASON_BAD_REQUEST, 0,
                     "%s: associative list item without key fields",
                     where ? where : "list");
      free(where);
      return -1;
    }
    if (push(t, el) < 0)
      return -1;
    int r = add_here(t);
    if (r == 0 && kind == PATCH_LIST_MAP &&
        json_object_is_type(item, json_type_object))
      r = tofs_object(t, item, patch_field_type(field));
    pop(t);
    if (r < 0)
      return -1;
  }
  return 0;
}

json_object *as_fs_from_value(json_object *obj, const patch_type_t *type,
                              kube_error_t *err) {
  tofs_t t = {.set = as_fs_new(), .err = err};
  if (!t.set) {
    kube_make_oom(err);
    return NULL;
  }
  int r = json_object_is_type(obj, json_type_object)
              ? tofs_object(&t, obj, type)
              : 0;
  while (t.path.n)
    pop(&t);
  if (r < 0) {
    json_object_put(t.set);
    return NULL;
  }
  return t.set;
}

/* ---- merging the configuration into the live object -------------------- */

static json_object *merge_value(json_object *live, json_object *cfg,
                                const patch_type_t *type,
                                const patch_field_t *field, kube_error_t *err);

/* Element identity inside a set or associative list. */
static char *item_key(json_object *item, const patch_field_t *field, int kind) {
  return kind == PATCH_LIST_SET ? as_fs_value_element(item)
                                : as_fs_key_element(item, field);
}

static long find_key(char **keys, size_t n, const char *key) {
  for (size_t i = 0; i < n; i++)
    if (keys[i] && key && streq(keys[i], key))
      return (long)i;
  return -1;
}

static void free_keys(char **keys, size_t n) {
  for (size_t i = 0; keys && i < n; i++)
    free(keys[i]);
  free(keys);
}

/* Associative list or set: live-only items keep their place, configured
 * items come in configuration order, merged with their live counterpart. */
static json_object *merge_list(json_object *live, json_object *cfg,
                               const patch_field_t *field, int kind,
                               kube_error_t *err) {
  size_t nl = json_object_array_length(live);
  size_t nc = json_object_array_length(cfg);
  char **lk = calloc(nl + 1, sizeof(char *));
  char **ck = calloc(nc + 1, sizeof(char *));
  bool *done = calloc(nc + 1, sizeof(bool));
  json_object *out = json_object_new_array();
  if (!lk || !ck || !done || !out)
    goto oom;
  for (size_t i = 0; i < nl; i++)
    lk[i] = item_key(json_object_array_get_idx(live, i), field, kind);
  for (size_t i = 0; i < nc; i++) {
    ck[i] = item_key(json_object_array_get_idx(cfg, i), field, kind);
    if (!ck[i]) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "associative list item without its key field %s",
                     field->keys[0] ? field->keys[0] : "");
      goto fail;
    }
  }
  size_t next = 0;
  for (size_t li = 0; li <= nl; li++) {
    long j = li < nl ? find_key(ck, nc, lk[li]) : (long)nc - 1;
    if (li < nl && j < 0) {
      json_object *c = as_patch_json_copy(json_object_array_get_idx(live, li));
      if (!c || json_object_array_add(out, c) < 0) {
        json_object_put(c);
        goto oom;
      }
      continue;
    }
    for (; j >= 0 && next <= (size_t)j; next++) {
      if (done[next])
        continue;
      done[next] = true;
      long at = find_key(lk, nl, ck[next]);
      json_object *m = merge_value(
          at >= 0 ? json_object_array_get_idx(live, (size_t)at) : NULL,
          json_object_array_get_idx(cfg, next),
          kind == PATCH_LIST_MAP ? patch_field_type(field) : NULL, NULL, err);
      if (!m && json_object_array_get_idx(cfg, next))
        goto fail;
      if (json_object_array_add(out, m) < 0) {
        json_object_put(m);
        goto oom;
      }
    }
  }
  free_keys(lk, nl);
  free_keys(ck, nc);
  free(done);
  return out;
oom:
  kube_make_oom(err);
fail:
  free_keys(lk, nl);
  free_keys(ck, nc);
  free(done);
  json_object_put(out);
  return NULL;
}

static json_object *copy_or_oom(json_object *v, kube_error_t *err) {
  json_object *c = as_patch_json_copy(v);
  if (v && !c)
    kube_make_oom(err);
  return c;
}

/* A new value (owned): cfg merged over live (both borrowed; live may be
 * NULL).  NULL only with *err set, except for a JSON null cfg. */
static json_object *merge_value(json_object *live, json_object *cfg,
                                const patch_type_t *type,
                                const patch_field_t *field, kube_error_t *err) {
  if (json_object_is_type(cfg, json_type_object)) {
    if ((field && (field->mflags & PATCH_F_ATOMIC)) ||
        !json_object_is_type(live, json_type_object))
      return copy_or_oom(cfg, err);
    json_object *out = as_patch_json_copy(live);
    if (!out) {
      kube_make_oom(err);
      return NULL;
    }
    json_object_object_foreach(cfg, key, cv) {
      if (!cv) {
        json_object_object_del(out, key);
        continue;
      }
      const patch_field_t *f = as_patch_schema_field(type, key);
      json_object *cur = NULL;
      json_object_object_get_ex(out, key, &cur);
      json_object *m =
          merge_value(cur, cv, f ? patch_field_type(f) : NULL, f, err);
      if (!m || json_object_object_add(out, key, m) < 0) {
        if (m)
          kube_make_oom(err);
        json_object_put(m);
        json_object_put(out);
        return NULL;
      }
    }
    return out;
  }
  if (json_object_is_type(cfg, json_type_array)) {
    int kind = patch_field_ssa_list(field);
    if (kind == PATCH_LIST_NONE || !json_object_is_type(live, json_type_array))
      return copy_or_oom(cfg, err);
    return merge_list(live, cfg, field, kind, err);
  }
  return copy_or_oom(cfg, err);
}

/* ---- conflicts ----------------------------------------------------------- */

typedef struct conflict {
  char *manager; /* printed form: "\"kubectl\" using apps/v1" */
  char *path;    /* ".spec.replicas" */
  size_t entry;
  json_object *set; /* the single path, for removal on force */
} conflict_t;

typedef struct conflicts {
  conflict_t *v;
  size_t n;
} conflicts_t;

typedef struct check_ctx {
  json_object *live, *merged;
  mf_list_t *managers;
  mf_entry_t *self;
  conflicts_t *out;
} check_ctx_t;

static char *print_manager(const mf_entry_t *e) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append_json_string(&sb, e->manager);
  if (e->subresource && *e->subresource)
    kube_strbuf_printf(&sb, " with subresource \"%s\"", e->subresource);
  if (streq(e->operation, "Update"))
    kube_strbuf_printf(&sb, " using %s", e->api_version);
  return kube_strbuf_steal(&sb);
}

static int check_path(const fs_path_t *path, void *data) {
  check_ctx_t *c = data;
  bool in_live, in_merged;
  json_object *lv = as_fs_lookup(c->live, path, &in_live);
  json_object *mv = as_fs_lookup(c->merged, path, &in_merged);
  const char *last = path->n ? path->el[path->n - 1] : "";
  /* List items are changed only by appearing; their fields are checked on
   * their own. */
  bool item = last[0] == 'k' || last[0] == 'i' || last[0] == 'v';
  bool changed = !in_live || (!item && !as_patch_json_equal(lv, mv));
  if (!changed)
    return 0;
  for (size_t i = 0; i < c->managers->n; i++) {
    mf_entry_t *e = &c->managers->v[i];
    if (e == c->self || !as_fs_has(e->set, path))
      continue;
    conflict_t *nv = realloc(c->out->v, (c->out->n + 1) * sizeof(*nv));
    if (!nv)
      return -1;
    c->out->v = nv;
    conflict_t *k = &nv[c->out->n];
    memset(k, 0, sizeof(*k));
    k->entry = i;
    k->manager = print_manager(e);
    k->path = as_fs_path_string(path);
    k->set = as_fs_new();
    c->out->n++;
    if (!k->manager || !k->path || !k->set || as_fs_add(k->set, path) < 0)
      return -1;
  }
  return 0;
}

static void conflicts_free(conflicts_t *c) {
  for (size_t i = 0; i < c->n; i++) {
    free(c->v[i].manager);
    free(c->v[i].path);
    json_object_put(c->v[i].set);
  }
  free(c->v);
  c->v = NULL;
  c->n = 0;
}

/* The Conflict error of the API server's field manager. */
static void conflict_error(conflicts_t *c, kube_error_t *err) {
  kube_strbuf_t msg = KUBE_STRBUF_INIT;
  if (c->n == 1) {
    kube_strbuf_printf(&msg,
                       "Apply failed with 1 conflict: conflict with %s: %s",
                       c->v[0].manager, c->v[0].path);
  } else {
    kube_strbuf_printf(&msg, "Apply failed with %zu conflicts: ", c->n);
    /* Grouped by manager, in order of first appearance. */
    bool first_group = true;
    for (size_t i = 0; i < c->n; i++) {
      bool seen = false;
      for (size_t j = 0; j < i && !seen; j++)
        seen = streq(c->v[j].manager, c->v[i].manager);
      if (seen)
        continue;
      kube_strbuf_printf(&msg, "%sconflicts with %s:", first_group ? "" : "\n",
                         c->v[i].manager);
      first_group = false;
      for (size_t j = i; j < c->n; j++)
        if (streq(c->v[j].manager, c->v[i].manager))
          kube_strbuf_printf(&msg, "\n- %s", c->v[j].path);
    }
  }
  kube_error_set(err, KUBE_REASON_CONFLICT, 0, "%s",
                 msg.data ? msg.data : "Apply failed with conflicts");
  kube_strbuf_clear(&msg);
  for (size_t i = 0; i < c->n; i++) {
    char *m = NULL;
    if (asprintf(&m, "conflict with %s", c->v[i].manager) < 0)
      m = NULL;
    kube_error_add_cause(err, c->v[i].path, "FieldManagerConflict",
                         m ? m : "conflict");
    free(m);
  }
}

/* ---- pruning fields the manager stopped applying ------------------------ */

typedef struct prune_ctx {
  json_object *obj;
  mf_list_t *managers;
  mf_entry_t *self;     /* its set is still the previous one */
  json_object *applied; /* the manager's new set */
} prune_ctx_t;

/* As structured-merge-diff prunes: a field of the previous configuration
 * goes unless someone (another manager, or the new configuration below
 * it) still owns it.  A map or struct the manager owned as a whole (".")
 * is not removed for that alone: its fields are pruned one by one, so
 * entries other managers or the server added stay.  List items go as a
 * whole. */
static int prune_path(const fs_path_t *path, void *data) {
  prune_ctx_t *p = data;
  if (path->n == 0)
    return 0;
  const char *last = path->el[path->n - 1];
  bool item = last[0] != 'f';
  for (size_t i = 0; i < p->managers->n; i++) {
    mf_entry_t *e = &p->managers->v[i];
    if (e == p->self)
      continue;
    if (item ? as_fs_has_below(e->set, path) : as_fs_has(e->set, path))
      return 0;
  }
  if (as_fs_has_below(p->applied, path))
    return 0;
  if (!item && as_fs_has_children(p->self->set, path))
    return 0;
  as_fs_remove_value(p->obj, path);
  return 0;
}

/* ---- kube_apply --------------------------------------------------------- */

json_object *kube_apply(json_object *live, json_object *applied,
                        const char *manager, bool force,
                        const kube_kind_t *kind, kube_error_t *err) {
  json_object *merged = NULL, *set = NULL, *meta = NULL, *mf = NULL;
  mf_list_t managers = {0};
  conflicts_t conflicts = {0};

  if (!json_object_is_type(applied, json_type_object)) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "apply configuration must be an object, not %s",
                   as_patch_json_type_name(applied));
    return NULL;
  }
  if (!manager || !*manager) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "fieldManager is required for apply requests");
    return NULL;
  }
  if (json_object_object_get_ex(applied, "metadata", &meta) &&
      json_object_object_get_ex(meta, "managedFields", &mf) && mf) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "metadata.managedFields must be nil");
    return NULL;
  }
  if (live && !json_object_is_type(live, json_type_object)) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "live object is not an object");
    return NULL;
  }
  const patch_type_t *type = kind ? as_patch_schema_for_kind(kind)
                                  : as_patch_schema_for_object(applied);
  const char *api_version =
      json_object_get_string(json_object_object_get(applied, "apiVersion"));
  if (!api_version && live)
    api_version =
        json_object_get_string(json_object_object_get(live, "apiVersion"));

  if (!(set = as_fs_from_value(applied, type, err)))
    goto fail;
  if (live && as_mf_list_read(live, &managers, err) < 0)
    goto fail;
  merged = live ? merge_value(live, applied, type, NULL, err)
                : copy_or_oom(applied, err);
  if (!merged)
    goto fail;

  mf_entry_t *self = as_mf_list_find(&managers, manager, "Apply", "");
  if (live) {
    check_ctx_t c = {live, merged, &managers, self, &conflicts};
    if (as_fs_walk(set, check_path, &c) < 0) {
      kube_make_oom(err);
      goto fail;
    }
  }
  if (conflicts.n && !force) {
    conflict_error(&conflicts, err);
    goto fail;
  }
  /* Forced: the other managers lose the fields taken over. */
  for (size_t i = 0; i < conflicts.n; i++) {
    mf_entry_t *e = &managers.v[conflicts.v[i].entry];
    if (as_mf_entry_own(e) < 0) {
      kube_make_oom(err);
      goto fail;
    }
    as_fs_subtract(e->set, conflicts.v[i].set);
  }

  if (self) {
    json_object *gone = as_patch_json_copy(self->set);
    if (!gone) {
      kube_make_oom(err);
      goto fail;
    }
    as_fs_subtract(gone, set);
    prune_ctx_t p = {merged, &managers, self, set};
    as_fs_walk(gone, prune_path, &p);
    json_object_put(gone);
  } else if (!(self = as_mf_list_add(&managers, manager, "Apply",
                                     api_version ? api_version : "", ""))) {
    kube_make_oom(err);
    goto fail;
  }
  json_object_put(self->set);
  self->set = set;
  self->shared = false;
  set = NULL;
  if (api_version && !streq(self->api_version, api_version)) {
    char *av = strdup(api_version);
    if (!av) {
      kube_make_oom(err);
      goto fail;
    }
    free(self->api_version);
    self->api_version = av;
  }
  if (as_mf_entry_touch(self) < 0) {
    kube_make_oom(err);
    goto fail;
  }
  /* The result must not share subtrees with the caller's live object. */
  for (size_t i = 0; i < managers.n; i++)
    if (as_mf_entry_own(&managers.v[i]) < 0) {
      kube_make_oom(err);
      goto fail;
    }
  if (as_mf_list_write(merged, &managers, err) < 0)
    goto fail;
  as_mf_list_free(&managers);
  conflicts_free(&conflicts);
  return merged;
fail:
  json_object_put(merged);
  json_object_put(set);
  as_mf_list_free(&managers);
  conflicts_free(&conflicts);
  return NULL;
}
