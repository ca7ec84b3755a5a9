/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metadata.managedFields: reading and writing the entries, and recording
 * the fields an Update (create, PUT, PATCH) changed, as the Kubernetes
 * API server's field manager does: the updating manager gains the added
 * and modified fields (other managers lose them) and drops the fields the
 * update removed.
 */
#include <time.h>

#include "apiserver/apply-internal.h"
#include "apiserver/patch.h"
#include "core/util.h"

/* ---- entries ------------------------------------------------------------ */

static void entry_clear(mf_entry_t *e) {
  free(e->manager);
  free(e->operation);
  free(e->api_version);
  free(e->subresource);
  free(e->time);
  json_object_put(e->set);
  memset(e, 0, sizeof(*e));
}

void as_mf_list_free(mf_list_t *l) {
  for (size_t i = 0; i < l->n; i++)
    entry_clear(&l->v[i]);
  free(l->v);
  l->v = NULL;
  l->n = 0;
}

static char *member_string(json_object *o, const char *key) {
  json_object *v = NULL;
  if (!json_object_object_get_ex(o, key, &v) ||
      !json_object_is_type(v, json_type_string))
    return strdup("");
  return strdup(json_object_get_string(v));
}

static mf_entry_t *grow(mf_list_t *l) {
  mf_entry_t *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
  if (!nv)
    return NULL;
  l->v = nv;
  memset(&nv[l->n], 0, sizeof(*nv));
  return &nv[l->n++];
}

int as_mf_list_read(json_object *obj, mf_list_t *out, kube_error_t *err) {
  json_object *meta = NULL, *arr = NULL;
  out->v = NULL;
  out->n = 0;
  if (!json_object_object_get_ex(obj, "metadata", &meta) ||
      !json_object_object_get_ex(meta, "managedFields", &arr) || !arr)
    return 0;
  if (!json_object_is_type(arr, json_type_array))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "metadata.managedFields must be a list");
  size_t n = json_object_array_length(arr);
  for (size_t i = 0; i < n; i++) {
    json_object *o = json_object_array_get_idx(arr, i), *fv1 = NULL;
    if (!json_object_is_type(o, json_type_object)) {
      as_mf_list_free(out);
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "metadata.managedFields[%zu] is not an object", i);
    }
    mf_entry_t *e = grow(out);
    if (!e)
      goto oom;
    e->manager = member_string(o, "manager");
    e->operation = member_string(o, "operation");
    e->api_version = member_string(o, "apiVersion");
    e->subresource = member_string(o, "subresource");
    json_object *t = NULL;
    if (json_object_object_get_ex(o, "time", &t) &&
        json_object_is_type(t, json_type_string) &&
        !(e->time = strdup(json_object_get_string(t))))
      goto oom;
    if (!e->manager || !e->operation || !e->api_version || !e->subresource)
      goto oom;
    bool bad = false;
    if (json_object_object_get_ex(o, "fieldsV1", &fv1) && fv1)
      e->set = as_fs_from_fieldsv1(fv1, true, &bad);
    else
      e->set = as_fs_new();
    if (bad) {
      as_mf_list_free(out);
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "metadata.managedFields[%zu].fieldsV1 is not a "
                            "valid field set",
                            i);
    }
    if (!e->set)
      goto oom;
    e->shared = e->set == fv1;
  }
  return 0;
oom:
  as_mf_list_free(out);
  return kube_make_oom(err);
}

int as_mf_entry_own(mf_entry_t *e) {
  if (!e->shared)
    return 0;
  json_object *c = as_patch_json_copy(e->set);
  if (!c)
    return -1;
  json_object_put(e->set);
  e->set = c;
  e->shared = false;
  return 0;
}

mf_entry_t *as_mf_list_find(mf_list_t *l, const char *manager,
                            const char *operation, const char *subresource) {
  for (size_t i = 0; i < l->n; i++)
    if (streq(l->v[i].manager, manager) &&
        streq(l->v[i].operation, operation) &&
        streq(l->v[i].subresource, subresource))
      return &l->v[i];
  return NULL;
}

mf_entry_t *as_mf_list_add(mf_list_t *l, const char *manager,
                           const char *operation, const char *api_version,
                           const char *subresource) {
  mf_entry_t *e = grow(l);
  if (!e)
    return NULL;
  e->manager = strdup(manager);
  e->operation = strdup(operation);
  e->api_version = strdup(api_version);
  e->subresource = strdup(subresource);
  e->set = as_fs_new();
  if (!e->manager || !e->operation || !e->api_version || !e->subresource ||
      !e->set) {
    entry_clear(e);
    l->n--;
    return NULL;
  }
  return e;
}

int as_mf_entry_touch(mf_entry_t *e) {
  /* One formatting per second and thread: every write stamps its entry. */
  static __thread time_t last = -1;
  static __thread char buf[32];
  time_t now = time(NULL);
  if (now != last) {
    struct tm tm;
    if (!gmtime_r(&now, &tm) ||
        !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
      return -1;
    last = now;
  }
  char *t = strdup(buf);
  if (!t)
    return -1;
  free(e->time);
  e->time = t;
  return 0;
}

/* Apply entries first, then by time, then by manager (as Kubernetes
 * sorts them when encoding). */
static int entry_cmp(const void *a, const void *b) {
  const mf_entry_t *x = *(const mf_entry_t *const *)a;
  const mf_entry_t *y = *(const mf_entry_t *const *)b;
  int c = strcmp(x->operation, y->operation);
  if (c)
    return c;
  c = strcmp(x->time ? x->time : "", y->time ? y->time : "");
  if (c)
    return c;
  return strcmp(x->manager, y->manager);
}

static json_object *entry_json(const mf_entry_t *e) {
  /* The sets are kept in wire form: shared, not copied. */
  json_object *o = json_object_new_object(), *fv1 = json_object_get(e->set);
  if (!o || !fv1)
    goto fail;
  struct {
    const char *key, *val;
  } s[] = {
      {"manager", e->manager},        {"operation", e->operation},
      {"apiVersion", e->api_version}, {"time", e->time},
      {"fieldsType", "FieldsV1"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(s); i++) {
    if (!s[i].val)
      continue;
    json_object *v = json_object_new_string(s[i].val);
    if (!v || json_object_object_add(o, s[i].key, v) < 0) {
      json_object_put(v);
      goto fail;
    }
  }
  if (json_object_object_add(o, "fieldsV1", fv1) < 0)
    goto fail;
  fv1 = NULL;
  if (*e->subresource) {
    json_object *v = json_object_new_string(e->subresource);
    if (!v || json_object_object_add(o, "subresource", v) < 0) {
      json_object_put(v);
      goto fail;
    }
  }
  return o;
fail:
  json_object_put(fv1);
  json_object_put(o);
  return NULL;
}

int as_mf_list_write(json_object *obj, mf_list_t *l, kube_error_t *err) {
  json_object *meta = NULL;
  if (!json_object_object_get_ex(obj, "metadata", &meta) ||
      !json_object_is_type(meta, json_type_object)) {
    meta = json_object_new_object();
    if (!meta || json_object_object_add(obj, "metadata", meta) < 0) {
      json_object_put(meta);
      return kube_make_oom(err);
    }
  }
  const mf_entry_t **order = calloc(l->n + 1, sizeof(*order));
  json_object *arr = json_object_new_array();
  size_t k = 0;
  if (!order || !arr)
    goto oom;
  for (size_t i = 0; i < l->n; i++)
    if (!as_fs_empty(l->v[i].set))
      order[k++] = &l->v[i];
  qsort(order, k, sizeof(*order), entry_cmp);
  for (size_t i = 0; i < k; i++) {
    json_object *e = entry_json(order[i]);
    if (!e || json_object_array_add(arr, e) < 0) {
      json_object_put(e);
      goto oom;
    }
  }
  free(order);
  if (k == 0) {
    json_object_put(arr);
    json_object_object_del(meta, "managedFields");
    return 0;
  }
  if (json_object_object_add(meta, "managedFields", arr) < 0) {
    json_object_put(arr);
    return kube_make_oom(err);
  }
  return 0;
oom:
  free(order);
  json_object_put(arr);
  return kube_make_oom(err);
}

/* ---- what an update changed --------------------------------------------- */

typedef struct diff {
  json_object *changed; /* added or modified members */
  json_object *removed; /* roots of removed subtrees */
  json_object *leaf;    /* build: the one {} of a created object's set */
  fs_path_t path;
  char *owned[FS_MAX_DEPTH];
  kube_error_t *err;
} diff_t;

static int dpush(diff_t *d, char *el) {
  if (!el)
    return kube_make_oom(d->err);
  if (d->path.n >= FS_MAX_DEPTH) {
    free(el);
    return kube_error_set(d->err, KUBE_REASON_BAD_REQUEST, 0,
                          "object nests deeper than %d levels", FS_MAX_DEPTH);
  }
  d->owned[d->path.n] = el;
  d->path.el[d->path.n++] = el;
  return 0;
}

static void dpop(diff_t *d) {
  free(d->owned[--d->path.n]);
}

static int dmark(diff_t *d, json_object *set) {
  if (as_fs_path_ignored(&d->path))
    return 0;
  return as_fs_add(set, &d->path) < 0 ? kube_make_oom(d->err) : 0;
}

static int diff_value(diff_t *d, bool had, json_object *o, json_object *n,
                      const patch_type_t *type, const patch_field_t *field);

/* Kubernetes marks a newly created object as owned itself ("." in
 * FieldsV1) only when it is a map or a pointer struct: the struct fields
 * that every typed object has (spec, template, resources, ...) are never
 * "new".  Without Go types, the common maps and optional structs are
 * listed here. */
static bool tracked_as_member(const char *name) {
  static const char *const names[] = {
      "labels",
      "annotations",
      "matchLabels",
      "nodeSelector",
      "selector",
      "data",
      "binaryData",
      "stringData",
      "limits",
      "requests",
      "hard",
      "capacity",
      "allocatable",
      "volumeAttributes",
      "overhead",
      "rollingUpdate",
      "securityContext",
      "livenessProbe",
      "readinessProbe",
      "startupProbe",
      "lifecycle",
      "affinity",
      "valueFrom",
      "emptyDir",
      "configMap",
      "secret",
      "hostPath",
      "persistentVolumeClaim",
      "httpGet",
      "tcpSocket",
      "exec",
      "grpc",
      "dnsConfig",
  };
  for (size_t i = 0; i < ARRAY_SIZE(names); i++)
    if (streq(names[i], name))
      return true;
  return false;
}

static int diff_object(diff_t *d, json_object *o, json_object *n,
                       const patch_type_t *type) {
  bool old_obj = json_object_is_type(o, json_type_object);
  json_object_object_foreach(n, key, nv) {
    json_object *ov = NULL;
    bool had = old_obj && json_object_object_get_ex(o, key, &ov);
    /* An unchanged member changes and removes nothing below it (a
     * binding or a status write leaves most of the object alone): one
     * comparison instead of a path element per field inside. */
    if (had && as_patch_json_equal(ov, nv))
      continue;
    const patch_field_t *f = as_patch_schema_field(type, key);
    if (dpush(d, as_fs_field_element(key)) < 0)
      return -1;
    int r = diff_value(d, had, ov, nv, f ? patch_field_type(f) : NULL, f);
    dpop(d);
    if (r < 0)
      return -1;
  }
  if (!old_obj)
    return 0;
  json_object_object_foreach(o, okey, oval) {
    (void)oval;
    if (json_object_object_get_ex(n, okey, NULL))
      continue;
    if (dpush(d, as_fs_field_element(okey)) < 0)
      return -1;
    int r = dmark(d, d->removed);
    dpop(d);
    if (r < 0)
      return -1;
  }
  return 0;
}

static int diff_list(diff_t *d, json_object *o, json_object *n,
                     const patch_field_t *field, int kind) {
  size_t nn = json_object_array_length(n);
  size_t no =
      json_object_is_type(o, json_type_array) ? json_object_array_length(o) : 0;
  char **ok = calloc(no + 1, sizeof(char *));
  bool *seen = calloc(no + 1, sizeof(bool));
  int r = 0;
  if (!ok || !seen) {
    r = kube_make_oom(d->err);
    goto out;
  }
  for (size_t i = 0; i < no; i++) {
    json_object *item = json_object_array_get_idx(o, i);
    ok[i] = kind == PATCH_LIST_SET ? as_fs_value_element(item)
                                   : as_fs_key_element(item, field);
  }
  for (size_t i = 0; i < nn && r == 0; i++) {
    json_object *item = json_object_array_get_idx(n, i);
    char *el = kind == PATCH_LIST_SET ? as_fs_value_element(item)
                                      : as_fs_key_element(item, field);
    if (!el) {
      /* An item without keys: fall back to treating the list as atomic. */
      r = as_patch_json_equal(o, n) ? 0 : dmark(d, d->changed);
      goto out;
    }
    long at = -1;
    for (size_t j = 0; j < no && at < 0; j++)
      if (ok[j] && streq(ok[j], el))
        at = (long)j;
    if ((r = dpush(d, el)) < 0)
      goto out;
    if (at < 0) {
      r = dmark(d, d->changed);
      if (r == 0 && kind == PATCH_LIST_MAP)
        r = diff_object(d, NULL, item, patch_field_type(field));
    } else {
      seen[at] = true;
      if (kind == PATCH_LIST_MAP)
        r = diff_object(d, json_object_array_get_idx(o, (size_t)at), item,
                        patch_field_type(field));
    }
    dpop(d);
  }
  for (size_t j = 0; j < no && r == 0; j++) {
    if (seen[j] || !ok[j])
      continue;
    char *el = strdup(ok[j]);
    if ((r = dpush(d, el)) < 0)
      break;
    r = dmark(d, d->removed);
    dpop(d);
  }
out:
  for (size_t j = 0; ok && j < no; j++)
    free(ok[j]);
  free(ok);
  free(seen);
  return r;
}

static int diff_value(diff_t *d, bool had, json_object *o, json_object *n,
                      const patch_type_t *type, const patch_field_t *field) {
  if (json_object_is_type(n, json_type_object)) {
    if (field && (field->mflags & PATCH_F_ATOMIC))
      return had && as_patch_json_equal(o, n) ? 0 : dmark(d, d->changed);
    bool old_obj = had && json_object_is_type(o, json_type_object);
    const char *last = d->path.n ? d->path.el[d->path.n - 1] : "";
    /* An empty new object has no fields to stand for it. */
    if (!old_obj && d->path.n > 1 && last[0] == 'f' &&
        (tracked_as_member(last + 2) || json_object_object_length(n) == 0) &&
        dmark(d, d->changed) < 0)
      return -1;
    return diff_object(d, old_obj ? o : NULL, n, type);
  }
  if (json_object_is_type(n, json_type_array)) {
    int kind = patch_field_ssa_list(field);
    if (kind != PATCH_LIST_NONE)
      return diff_list(d, had ? o : NULL, n, field, kind);
  }
  /* A new null is an unset field (creationTimestamp: null), not data. */
  if (!n && !had)
    return 0;
  return had && as_patch_json_equal(o, n) ? 0 : dmark(d, d->changed);
}

/* ---- a created object's field set in one pass -------------------------- */

/* With no old object every member is new: the set diff_object would
 * build with one as_fs_add per member (each walking from the root) is
 * built here bottom-up while the object is walked once.  Nodes are made
 * in the order as_fs_add makes them ("." before the children of a node
 * that is itself a member), so the FieldsV1 text is the same.  A case
 * the builder does not mirror (a list item without keys, two items with
 * one key) answers BUILD_FALLBACK and the caller diffs as before. */
enum { BUILD_OK = 0, BUILD_ERR = -1, BUILD_FALLBACK = -2 };

static int build_value(diff_t *d, json_object *n, const patch_type_t *type,
                       const patch_field_t *field, json_object **out);

/* A new reference to the set's empty node: every leaf member and every
 * "." of a created object's set is one shared {} (most of a set's nodes;
 * nothing edits a leaf in place: as_fs_union copies what it takes, and
 * the set is written and freed with its object).  NULL on out-of-memory. */
static json_object *build_leaf(diff_t *d) {
  if (!d->leaf && !(d->leaf = json_object_new_object()))
    return NULL;
  return json_object_get(d->leaf);
}

/* Attach child `c` (owned) at element `el` of `*node` (made when NULL; a
 * member node gets its "." first).  Elements are unique within a node
 * (an object's members, or list items whose duplicate keys build_list
 * turned away), so none is looked up first.  -1 on out-of-memory. */
static int build_attach(diff_t *d, json_object **node, bool member,
                        const char *el, json_object *c) {
  if (!*node) {
    if (!(*node = json_object_new_object()))
      goto oom;
    if (member) {
      json_object *dot = build_leaf(d);
      if (!dot ||
          json_object_object_add_ex(*node, ".", dot,
                                    JSON_C_OBJECT_ADD_KEY_IS_NEW |
                                        JSON_C_OBJECT_ADD_CONSTANT_KEY) < 0) {
        json_object_put(dot);
        goto oom;
      }
    }
  }
  if (json_object_object_add_ex(*node, el, c, JSON_C_OBJECT_ADD_KEY_IS_NEW) <
      0)
    goto oom;
  return BUILD_OK;
oom:
  json_object_put(c);
  return kube_make_oom(d->err);
}

/* The members of object n (at d->path) into *node.  `member`: the node
 * for n is itself a member. */
static int build_object(diff_t *d, json_object *n, const patch_type_t *type,
                        bool member, json_object **node) {
  json_object_object_foreach(n, key, nv) {
    const patch_field_t *f = as_patch_schema_field(type, key);
    /* "f:<key>" on the stack when it fits (dpop frees only what dpush
     * was given to own). */
    char el[128];
    size_t kl = strlen(key);
    if (kl + 3 <= sizeof el && d->path.n < FS_MAX_DEPTH) {
      el[0] = 'f';
      el[1] = ':';
      memcpy(el + 2, key, kl + 1);
      d->owned[d->path.n] = NULL;
      d->path.el[d->path.n++] = el;
    } else if (dpush(d, as_fs_field_element(key)) < 0) {
      return BUILD_ERR;
    }
    json_object *c = NULL;
    int r = build_value(d, nv, f ? patch_field_type(f) : NULL, f, &c);
    if (r == BUILD_OK && c)
      r = build_attach(d, node, member, d->path.el[d->path.n - 1], c);
    dpop(d);
    if (r < 0)
      return r;
  }
  return BUILD_OK;
}

static bool build_marks(diff_t *d) {
  return !as_fs_path_ignored(&d->path);
}

static int build_list(diff_t *d, json_object *n, const patch_field_t *field,
                      int kind, json_object **node) {
  size_t nn = json_object_array_length(n);
  for (size_t i = 0; i < nn; i++) {
    json_object *item = json_object_array_get_idx(n, i);
    char *el = kind == PATCH_LIST_SET ? as_fs_value_element(item)
                                      : as_fs_key_element(item, field);
    if (!el)
      return BUILD_FALLBACK; /* an item without keys (or out of memory) */
    if (*node && json_object_object_get_ex(*node, el, NULL)) {
      free(el);
      return BUILD_FALLBACK; /* two items with one key */
    }
    if (dpush(d, el) < 0)
      return BUILD_ERR;
    bool member = build_marks(d);
    json_object *c = NULL;
    int r = BUILD_OK;
    if (kind == PATCH_LIST_MAP)
      r = build_object(d, item, patch_field_type(field), member, &c);
    if (r == BUILD_OK && !c && member && !(c = build_leaf(d)))
      r = kube_make_oom(d->err);
    if (r == BUILD_OK && c)
      r = build_attach(d, node, false, d->path.el[d->path.n - 1], c);
    else if (r != BUILD_OK)
      json_object_put(c);
    dpop(d);
    if (r < 0)
      return r;
  }
  return BUILD_OK;
}

/* diff_value with no old value: *out is the node for n, or NULL when
 * nothing at or below n is a member. */
static int build_value(diff_t *d, json_object *n, const patch_type_t *type,
                       const patch_field_t *field, json_object **out) {
  *out = NULL;
  bool member = false;
  int r = BUILD_OK;
  if (json_object_is_type(n, json_type_object)) {
    if (field && (field->mflags & PATCH_F_ATOMIC)) {
      member = build_marks(d);
    } else {
      const char *last = d->path.n ? d->path.el[d->path.n - 1] : "";
      member = d->path.n > 1 && last[0] == 'f' &&
               (tracked_as_member(last + 2) ||
                json_object_object_length(n) == 0) &&
               build_marks(d);
      r = build_object(d, n, type, member, out);
    }
  } else if (json_object_is_type(n, json_type_array) &&
             patch_field_ssa_list(field) != PATCH_LIST_NONE) {
    r = build_list(d, n, field, patch_field_ssa_list(field), out);
  } else {
    /* A new null is an unset field, not data. */
    member = n && build_marks(d);
  }
  if (r == BUILD_OK && !*out && member && !(*out = build_leaf(d)))
    r = kube_make_oom(d->err);
  if (r != BUILD_OK) {
    json_object_put(*out);
    *out = NULL;
  }
  return r;
}

/* d->changed for a created object (no old one; NULL when nothing is a
 * member): 0, -1 with d->err set, or BUILD_FALLBACK with d->changed
 * untouched. */
static int build_created(diff_t *d, json_object *obj,
                         const patch_type_t *type) {
  json_object *set = NULL;
  int r = build_object(d, obj, type, false, &set);
  while (d->path.n)
    dpop(d);
  if (r != BUILD_OK) {
    json_object_put(set);
    return r;
  }
  json_object_put(d->changed);
  d->changed = set; /* NULL: nothing is a member */
  return 0;
}

typedef struct remove_ctx {
  json_object *set;
} remove_ctx_t;

static int remove_visit(const fs_path_t *path, void *data) {
  remove_ctx_t *r = data;
  as_fs_remove_subtree(r->set, path);
  return 0;
}

int kube_managed_fields_update(json_object *obj, json_object *old,
                               const char *manager, kube_error_t *err) {
  return kube_managed_fields_update_sub(obj, old, manager, "", err);
}

int kube_managed_fields_update_sub(json_object *obj, json_object *old,
                                   const char *manager,
                                   const char *subresource,
                                   kube_error_t *err) {
  json_object *meta = NULL, *mf = NULL;
  mf_list_t l = {0};
  diff_t d = {.err = err};
  int r = -1;

  if (!json_object_is_type(obj, json_type_object))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "object is not an object");
  if (!manager || !*manager)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "a field manager name is required");
  if (old && !json_object_is_type(old, json_type_object))
    old = NULL;
  /* managedFields absent from the new object: keep the stored ones. */
  bool own = json_object_object_get_ex(obj, "metadata", &meta) &&
             json_object_object_get_ex(meta, "managedFields", &mf) && mf;
  if (as_mf_list_read(own || !old ? obj : old, &l, err) < 0)
    return -1;
  /* Sets read from obj itself are edited in place: obj's managedFields
   * list is replaced by as_mf_list_write below, and whatever else holds
   * those trees (an old object the list was copied from) is the caller's
   * pre-write state, which nothing reads for managed fields afterwards. */
  for (size_t i = 0; own && i < l.n; i++)
    l.v[i].shared = false;

  const patch_type_t *type = as_patch_schema_for_object(obj);
  /* A created object's set is built whole (build_created makes
   * d.changed); the empty sets are made only when something may mark
   * them. */
  int b = old ? BUILD_FALLBACK : build_created(&d, obj, type);
  if (b == -1)
    goto out;
  /* Without an old object nothing is removed (d.removed stays NULL). */
  if ((!d.changed && !(d.changed = as_fs_new())) ||
      (old && !(d.removed = as_fs_new()))) {
    kube_make_oom(err);
    goto out;
  }
  if (b == BUILD_FALLBACK && diff_object(&d, old, obj, type) < 0)
    goto out;

  if (!as_fs_empty(d.changed)) {
    for (size_t i = 0; i < l.n; i++) {
      if (!as_fs_intersects(l.v[i].set, d.changed))
        continue;
      if (as_mf_entry_own(&l.v[i]) < 0) {
        kube_make_oom(err);
        goto out;
      }
      as_fs_subtract(l.v[i].set, d.changed);
    }
    mf_entry_t *e = as_mf_list_find(&l, manager, "Update", subresource);
    const char *av =
        json_object_get_string(json_object_object_get(obj, "apiVersion"));
    if (!e) {
      if (!(e = as_mf_list_add(&l, manager, "Update", av ? av : "",
                               subresource))) {
        kube_make_oom(err);
        goto out;
      }
      /* A new entry owns exactly what changed. */
      json_object_put(e->set);
      e->set = d.changed;
      d.changed = NULL;
    } else if (as_mf_entry_own(e) < 0 || as_fs_union(e->set, d.changed) < 0) {
      kube_make_oom(err);
      goto out;
    }
    if (as_mf_entry_touch(e) < 0) {
      kube_make_oom(err);
      goto out;
    }
    if (av && !streq(e->api_version, av)) {
      char *c = strdup(av);
      if (!c) {
        kube_make_oom(err);
        goto out;
      }
      free(e->api_version);
      e->api_version = c;
    }
  }
  mf_entry_t *self = as_mf_list_find(&l, manager, "Update", subresource);
  if (self && d.removed && !as_fs_empty(d.removed)) {
    if (as_mf_entry_own(self) < 0) {
      kube_make_oom(err);
      goto out;
    }
    remove_ctx_t rc = {self->set};
    as_fs_walk(d.removed, remove_visit, &rc);
  }
  /* Entries read from `old` are copied: obj must not share subtrees with
   * it (sharing within obj itself is fine). */
  for (size_t i = 0; !own && old && i < l.n; i++)
    if (as_mf_entry_own(&l.v[i]) < 0) {
      kube_make_oom(err);
      goto out;
    }
  r = as_mf_list_write(obj, &l, err);
out:
  while (d.path.n)
    dpop(&d);
  json_object_put(d.changed);
  json_object_put(d.removed);
  json_object_put(d.leaf);
  as_mf_list_free(&l);
  return r;
}
