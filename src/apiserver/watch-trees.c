/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Objects that writes leave for the in-process watchers (the informers of
 * the scheduler, controllers and node agent inside kubed): a write whose
 * kind has such a watcher copies its tree once, as the watch serves the
 * record (without managedFields and selfLink, resourceVersion set), and the
 * hub hands that copy to every in-process watcher of the event instead of
 * a line each must parse again.
 *
 * The copy has objects and arrays of its own (the write's tree goes on to
 * other owners, which may change it) and shares the scalars, which nobody
 * changes in place; it is shared by every receiver, who must never change
 * it.  A writer whose tree goes to nobody else after the write (a created
 * object's, parsed from the request) hands it over instead: it is made
 * the served form in place and kept without a copy.  A writer whose tree's
 * next owner changes only its top level and metadata (a created pod's
 * goes to the binding that follows, recent.c, which edits copies of the
 * containers it changes) shares it: the served form is a new top level
 * and metadata over the tree's own members, nothing below them copied.
 * Found by kind, key and revision, so a later write of the object or a
 * record in another version makes it miss (the line is delivered then).
 * Trees live from the write's completion to the hub's delivery of its
 * event, the next turn of the loop: a small ring, entries that the hub
 * went past without taking (their event had no taker) dropped as it goes.
 * Everything runs on the loop's thread (json-c's reference counts are not
 * atomic in Debian's build).
 */
#include "apiserver/internal.h"

#define WATCH_TREES_MAX 64

struct as_watch_tree {
  const kube_kind_t *k; /* compared only, never dereferenced */
  char *key;
  int64_t rev;
  json_object *tree;
};

struct as_watch_trees {
  struct as_watch_tree v[WATCH_TREES_MAX];
  size_t next, used;
};

static void entry_drop(struct as_watch_trees *t, struct as_watch_tree *e) {
  if (!e->tree)
    return;
  free(e->key);
  json_object_put(e->tree);
  memset(e, 0, sizeof *e);
  t->used--;
}

/* A copy of `v` in `*out`: objects and arrays new, the scalars below them
 * shared (json-c scalars are never changed in place here: writers replace
 * them in their container, which is the copy's own).  -1 on out of
 * memory. */
static int tree_copy(json_object *v, json_object **out) {
  *out = NULL;
  if (json_object_is_type(v, json_type_object)) {
    json_object *o = json_object_new_object();
    if (!o)
      return -1;
    json_object_object_foreach(v, key, val) {
      json_object *c = NULL;
      if (tree_copy(val, &c) < 0 ||
          json_object_object_add_ex(o, key, c, JSON_C_OBJECT_ADD_KEY_IS_NEW) <
              0) {
        json_object_put(c);
        json_object_put(o);
        return -1;
      }
    }
    *out = o;
    return 0;
  }
  if (json_object_is_type(v, json_type_array)) {
    size_t n = json_object_array_length(v);
    json_object *a = json_object_new_array_ext((int)(n ? n : 1));
    if (!a)
      return -1;
    for (size_t i = 0; i < n; i++) {
      json_object *c = NULL;
      if (tree_copy(json_object_array_get_idx(v, i), &c) < 0 ||
          json_object_array_add(a, c) < 0) {
        json_object_put(c);
        json_object_put(a);
        return -1;
      }
    }
    *out = a;
    return 0;
  }
  *out = json_object_get(v); /* a scalar, or NULL for null */
  return 0;
}

/* metadata.resourceVersion `rev` added to `meta`, which has none.  -1 on
 * out of memory. */
static int add_rv(json_object *meta, int64_t rev) {
  char buf[24];
  snprintf(buf, sizeof buf, "%lld", (long long)rev);
  json_object *rv = json_object_new_string(buf);
  if (!rv || json_object_object_add_ex(meta, "resourceVersion", rv,
                                       JSON_C_OBJECT_ADD_KEY_IS_NEW) < 0) {
    json_object_put(rv);
    return -1;
  }
  return 0;
}

/* `v` for a served copy: a tree_copy when `deep`, else `v` itself (a new
 * reference, the owner promising never to change it).  -1 on out of
 * memory. */
static int member_copy(json_object *v, bool deep, json_object **out) {
  if (deep)
    return tree_copy(v, out);
  *out = json_object_get(v);
  return 0;
}

/* A copy of `src` as the watch serves the record written from it at `rev`:
 * metadata without managedFields, selfLink and the resourceVersion the
 * request carried, with resourceVersion `rev`.  The top level and metadata
 * are new objects; what is below them a tree_copy when `deep`, else
 * shared with `src`.  NULL on out of memory. */
static json_object *served_copy(json_object *src, int64_t rev, bool deep) {
  json_object *out = json_object_new_object();
  if (!out)
    return NULL;
  json_object_object_foreach(src, key, val) {
    json_object *c = NULL;
    if (streq(key, "metadata") && json_object_is_type(val, json_type_object)) {
      if (!(c = json_object_new_object()))
        goto fail;
      json_object_object_foreach(val, mk, mv) {
        json_object *mc = NULL;
        if (streq(mk, "managedFields") || streq(mk, "selfLink") ||
            streq(mk, "resourceVersion"))
          continue;
        if (member_copy(mv, deep, &mc) < 0 ||
            json_object_object_add_ex(c, mk, mc, JSON_C_OBJECT_ADD_KEY_IS_NEW) <
                0) {
          json_object_put(mc);
          json_object_put(c);
          goto fail;
        }
      }
      if (add_rv(c, rev) < 0) {
        json_object_put(c);
        goto fail;
      }
    } else if (member_copy(val, deep, &c) < 0) {
      goto fail;
    }
    if (json_object_object_add_ex(out, key, c, JSON_C_OBJECT_ADD_KEY_IS_NEW) <
        0) {
      json_object_put(c);
      goto fail;
    }
  }
  return out;
fail:
  json_object_put(out);
  return NULL;
}

/* `tree` itself made what served_copy makes of it: for a tree its writer
 * hands over (nothing else holds it or will change it).  A new reference,
 * NULL on out of memory. */
static json_object *served_in_place(json_object *tree, int64_t rev) {
  json_object *meta = NULL;
  if (json_object_object_get_ex(tree, "metadata", &meta) &&
      json_object_is_type(meta, json_type_object)) {
    json_object_object_del(meta, "managedFields");
    json_object_object_del(meta, "selfLink");
    json_object_object_del(meta, "resourceVersion");
    if (add_rv(meta, rev) < 0)
      return NULL;
  }
  return json_object_get(tree);
}

void as_watch_offer(kube_apiserver_t *srv, const kube_kind_t *k,
                    const kube_store_record_t *rec, json_object *tree,
                    enum as_offer how) {
  if (!rec || !tree || !json_object_is_type(tree, json_type_object) ||
      !as_watch_wants_objects(srv, k) || as_record_needs_conversion(rec, k))
    return;
  /* The tree must be in the version the watch serves. */
  char apiv[128];
  kube_kind_api_version(k, apiv, sizeof apiv);
  const char *av = kube_json_get_string(tree, "apiVersion");
  if (!av || !streq(av, apiv))
    return;
  if (!srv->watch_trees &&
      !(srv->watch_trees = calloc(1, sizeof *srv->watch_trees)))
    return;
  struct as_watch_trees *t = srv->watch_trees;
  json_object *copy =
      how == AS_OFFER_TAKE
          ? served_in_place(tree, rec->mod_revision)
          : served_copy(tree, rec->mod_revision, how == AS_OFFER_COPY);
  char *key = copy ? strdup(rec->key) : NULL;
  if (!key) {
    json_object_put(copy);
    return;
  }
  struct as_watch_tree *e = &t->v[t->next];
  t->next = (t->next + 1) % WATCH_TREES_MAX;
  entry_drop(t, e);
  *e = (struct as_watch_tree){.k = k, .key = key, .rev = rec->mod_revision,
                              .tree = copy};
  t->used++;
}

json_object *as_watch_tree_take(kube_apiserver_t *srv, const kube_kind_t *k,
                                const char *key, int64_t rev) {
  struct as_watch_trees *t = srv->watch_trees;
  if (!t || !t->used)
    return NULL;
  json_object *found = NULL;
  for (size_t i = 0; i < WATCH_TREES_MAX && t->used; i++) {
    struct as_watch_tree *e = &t->v[i];
    if (!e->tree || e->k != k || e->rev > rev)
      continue;
    if (e->rev == rev && !found && streq(e->key, key)) {
      found = e->tree;
      e->tree = NULL;
      free(e->key);
      memset(e, 0, sizeof *e);
      t->used--;
    } else if (e->rev < rev) {
      entry_drop(t, e); /* its event went by without a taker */
    }
  }
  return found;
}

void as_watch_trees_free(kube_apiserver_t *srv) {
  struct as_watch_trees *t = srv->watch_trees;
  if (!t)
    return;
  for (size_t i = 0; i < WATCH_TREES_MAX; i++)
    entry_drop(t, &t->v[i]);
  free(t);
  srv->watch_trees = NULL;
}
