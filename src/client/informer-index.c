/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Informer indexes: per index, a map from value to a bucket of entries.
 * Each entry remembers its slot in every bucket it is in, so leaving a
 * bucket is a swap with its last member, never a scan: a namespace bucket
 * may hold 150,000 pods.
 */
#include "api/api-private.h"
#include "client/internal.h"
#include "core/util.h"

/* ---- values ---- */

KUBE_EXPORT int kube_index_values_add(kube_index_values_t *out,
                                      const char *value) {
  if (!out || !value)
    return -1;
  for (size_t i = 0; i < out->n; i++)
    if (streq(out->v[i], value))
      return 0;
  if (out->n == out->cap) {
    size_t nc = out->cap ? out->cap * 2 : 8;
    char **v = realloc(out->v, nc * sizeof *v);
    if (!v) {
      out->oom = true;
      return -1;
    }
    out->v = v;
    out->cap = nc;
  }
  if (!(out->v[out->n] = strdup(value))) {
    out->oom = true;
    return -1;
  }
  out->n++;
  return 0;
}

void client_index_values_clear(struct kube_index_values *v) {
  for (size_t i = 0; i < v->n; i++)
    free(v->v[i]);
  v->n = 0;
  v->oom = false;
}

/* ---- standard index functions ---- */

KUBE_EXPORT void kube_index_namespace(const kube_object_t *obj,
                                      kube_index_values_t *out, void *arg) {
  const char *ns = kube_object_namespace(obj);
  if (ns && *ns)
    kube_index_values_add(out, ns);
}

KUBE_EXPORT void kube_index_node_name(const kube_object_t *obj,
                                      kube_index_values_t *out, void *arg) {
  const char *n = kube_json_get_string(kube_object_json(obj), "spec.nodeName");
  if (n && *n)
    kube_index_values_add(out, n);
}

json_object *client_controller_ref(const kube_object_t *obj) {
  json_object *refs =
      kube_json_get(kube_object_json(obj), "metadata.ownerReferences");
  size_t n = refs && json_object_is_type(refs, json_type_array)
                 ? json_object_array_length(refs)
                 : 0;
  for (size_t i = 0; i < n; i++) {
    json_object *r = json_object_array_get_idx(refs, i), *c = NULL;
    if (json_object_object_get_ex(r, "controller", &c) &&
        json_object_get_boolean(c))
      return r;
  }
  return NULL;
}

KUBE_EXPORT void kube_index_controller_uid(const kube_object_t *obj,
                                           kube_index_values_t *out,
                                           void *arg) {
  const char *uid = kube_json_get_string(client_controller_ref(obj), "uid");
  if (uid && *uid)
    kube_index_values_add(out, uid);
}

KUBE_EXPORT void kube_index_labels(const kube_object_t *obj,
                                   kube_index_values_t *out, void *arg) {
  json_object *labels = kube_json_get(kube_object_json(obj), "metadata.labels");
  if (!labels || !json_object_is_type(labels, json_type_object))
    return;
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  json_object_object_foreach(labels, k, v) {
    kube_strbuf_reset(&sb);
    kube_strbuf_printf(&sb, "%s=%s", k, v ? json_object_get_string(v) : "");
    if (!sb.oom)
      kube_index_values_add(out, sb.data);
  }
  kube_strbuf_clear(&sb);
}

/* ---- buckets ---- */

static void bucket_free(void *v) {
  struct client_bucket *b = v;
  if (b)
    free(b->v);
  free(b);
}

static int entry_add_ref(struct client_entry *e, struct client_bucket *b) {
  struct client_iref *r = realloc(e->refs, (e->n_refs + 1u) * sizeof *r);
  if (!r)
    return -1;
  e->refs = r;
  if (b->n == b->cap) {
    uint32_t nc = b->cap ? b->cap * 2 : 4;
    struct client_entry **v = realloc(b->v, nc * sizeof *v);
    if (!v)
      return -1;
    b->v = v;
    b->cap = nc;
  }
  b->v[b->n] = e;
  r[e->n_refs] = (struct client_iref){b, b->n};
  b->n++;
  e->n_refs++;
  return 0;
}

static struct client_bucket *bucket_get(struct client_index *ix,
                                        const char *value) {
  struct client_bucket *b = strmap_get(&ix->buckets, value);
  if (b)
    return b;
  b = calloc(1, sizeof *b);
  struct strmap_entry *me = b ? strmap_put(&ix->buckets, value, b, NULL) : NULL;
  if (!me) {
    free(b);
    return NULL;
  }
  b->ix = ix;
  b->value = me->key;
  return b;
}

/* Leave bucket b at slot pos: the last member takes the slot. */
static void bucket_take_out(struct client_bucket *b, uint32_t pos) {
  struct client_entry *last = b->v[--b->n];
  if (pos != b->n) {
    b->v[pos] = last;
    for (uint16_t i = 0; i < last->n_refs; i++)
      if (last->refs[i].b == b) {
        last->refs[i].pos = pos;
        break;
      }
  }
  if (!b->n) {
    struct client_index *ix = b->ix;
    bucket_free(strmap_remove(&ix->buckets, b->value));
  } else if (b->cap > 16 && b->n < b->cap / 4) {
    struct client_entry **v = realloc(b->v, (b->cap / 2) * sizeof *v);
    if (v) {
      b->v = v;
      b->cap /= 2;
    }
  }
}

static int index_one(kube_informer_t *inf, struct client_index *ix,
                     struct client_entry *e) {
  struct kube_index_values *vals = &inf->scratch;
  client_index_values_clear(vals);
  ix->fn(e->obj, vals, ix->arg);
  int rc = vals->oom ? -1 : 0;
  for (size_t i = 0; i < vals->n; i++) {
    struct client_bucket *b = bucket_get(ix, vals->v[i]);
    if (!b || entry_add_ref(e, b) < 0)
      rc = -1;
  }
  client_index_values_clear(vals);
  return rc;
}

int client_index_insert(kube_informer_t *inf, struct client_entry *e) {
  int rc = 0;
  if (!inf->indexes)
    return 0;
  if (!e->obj && !client_entry_object(inf, e))
    return -1;
  for (struct client_index *ix = inf->indexes; ix; ix = ix->next)
    if (index_one(inf, ix, e) < 0)
      rc = -1;
  return rc;
}

void client_index_remove(kube_informer_t *inf, struct client_entry *e) {
  /* From the last ref down: taking one out never moves e's other refs. */
  while (e->n_refs) {
    struct client_iref r = e->refs[--e->n_refs];
    bucket_take_out(r.b, r.pos);
  }
  free(e->refs);
  e->refs = NULL;
}

/* Does e's membership of index ix equal vals? */
static bool same_values(const struct client_entry *e,
                        const struct client_index *ix,
                        const struct kube_index_values *vals) {
  size_t have = 0;
  for (uint16_t i = 0; i < e->n_refs; i++)
    if (e->refs[i].b->ix == ix)
      have++;
  if (have != vals->n)
    return false;
  for (size_t j = 0; j < vals->n; j++) {
    bool found = false;
    for (uint16_t i = 0; i < e->n_refs && !found; i++)
      found = e->refs[i].b->ix == ix && streq(e->refs[i].b->value, vals->v[j]);
    if (!found)
      return false;
  }
  return true;
}

int client_index_update(kube_informer_t *inf, struct client_entry *e) {
  if (!inf->indexes)
    return 0;
  if (!e->obj && !client_entry_object(inf, e))
    return -1;
  /* Most updates (status, heartbeats) leave every value as it was. */
  bool same = true;
  struct kube_index_values *vals = &inf->scratch;
  for (struct client_index *ix = inf->indexes; ix && same; ix = ix->next) {
    client_index_values_clear(vals);
    ix->fn(e->obj, vals, ix->arg);
    same = !vals->oom && same_values(e, ix, vals);
  }
  client_index_values_clear(vals);
  if (same)
    return 0;
  client_index_remove(inf, e);
  return client_index_insert(inf, e);
}

static void index_free(struct client_index *ix) {
  strmap_clear(&ix->buckets, bucket_free);
  free(ix->name);
  free(ix);
}

void client_index_free_all(kube_informer_t *inf) {
  for (struct client_index *ix = inf->indexes, *next; ix; ix = next) {
    next = ix->next;
    index_free(ix);
  }
  inf->indexes = NULL;
}

static struct client_index *index_find(const kube_informer_t *inf,
                                       const char *name) {
  for (struct client_index *ix = inf->indexes; ix; ix = ix->next)
    if (streq(ix->name, name))
      return ix;
  return NULL;
}

/* ---- public ---- */

KUBE_EXPORT int kube_informer_add_index(kube_informer_t *inf, const char *name,
                                        kube_index_fn fn, void *arg,
                                        kube_error_t *err) {
  if (!inf || !name || !*name || !fn)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "an index needs a name and a function");
  struct client_index *have = index_find(inf, name);
  if (have) {
    if (have->fn == fn && have->arg == arg)
      return 0;
    return kube_error_set(err, KUBE_REASON_ALREADY_EXISTS, EEXIST,
                          "informer %s has another index named %s", inf->path,
                          name);
  }
  struct client_index *ix = calloc(1, sizeof *ix);
  if (!ix || !(ix->name = strdup(name))) {
    free(ix);
    return kube_make_oom(err);
  }
  ix->fn = fn;
  ix->arg = arg;
  /* Index what is cached already (parsing each object once). */
  STRMAP_FOREACH(&inf->cache, i, ent) {
    struct client_entry *e = ent->value;
    bool had = e->obj != NULL;
    if (!client_entry_object(inf, e) || index_one(inf, ix, e) < 0) {
      /* Undo: take every entry out of this index. */
      STRMAP_FOREACH(&inf->cache, j, ent2) {
        struct client_entry *x = ent2->value;
        for (uint16_t k = x->n_refs; k-- > 0;)
          if (x->refs[k].b->ix == ix) {
            struct client_iref r = x->refs[k];
            memmove(&x->refs[k], &x->refs[k + 1],
                    (x->n_refs - k - 1u) * sizeof *x->refs);
            x->n_refs--;
            bucket_take_out(r.b, r.pos);
          }
      }
      index_free(ix);
      if (!had)
        client_entry_unhold(e);
      return kube_make_oom(err);
    }
    if (!had)
      client_entry_unhold(e);
  }
  struct client_index **pp = &inf->indexes;
  while (*pp)
    pp = &(*pp)->next;
  *pp = ix;
  return 0;
}

KUBE_EXPORT bool kube_informer_has_index(const kube_informer_t *inf,
                                         const char *name) {
  return name && index_find(inf, name);
}

static const struct client_bucket *
bucket_of(const kube_informer_t *inf, const char *name, const char *value) {
  const struct client_index *ix = name ? index_find(inf, name) : NULL;
  return ix && value ? strmap_get(&ix->buckets, value) : NULL;
}

KUBE_EXPORT size_t kube_informer_index_count(const kube_informer_t *inf,
                                             const char *name,
                                             const char *value) {
  const struct client_bucket *b = bucket_of(inf, name, value);
  return b ? b->n : 0;
}

KUBE_EXPORT const char **kube_informer_index_keys(const kube_informer_t *inf,
                                                  const char *name,
                                                  const char *value, size_t *n,
                                                  kube_error_t *err) {
  if (n)
    *n = 0;
  if (!name || !index_find(inf, name)) {
    kube_error_set(err, KUBE_REASON_NOT_FOUND, 0, "informer %s has no index %s",
                   inf->path, name ? name : "(null)");
    return NULL;
  }
  const struct client_bucket *b = bucket_of(inf, name, value);
  size_t m = b ? b->n : 0;
  const char **keys = calloc(m + 1, sizeof *keys);
  if (!keys) {
    kube_make_oom(err);
    return NULL;
  }
  for (size_t i = 0; i < m; i++)
    keys[i] = b->v[i]->key;
  if (n)
    *n = m;
  return keys;
}

KUBE_EXPORT size_t kube_informer_index_foreach(
    const kube_informer_t *inf, const char *name, const char *value,
    void (*fn)(const char *key, const kube_object_t *obj, void *arg),
    void *arg) {
  const struct client_bucket *b = bucket_of(inf, name, value);
  size_t visited = 0;
  for (uint32_t i = 0; b && i < b->n; i++) {
    struct client_entry *e = b->v[i];
    bool had = e->obj != NULL;
    kube_object_t *o = client_entry_object((kube_informer_t *)inf, e);
    if (!o)
      continue;
    fn(e->key, o, arg);
    if (!had)
      client_entry_unhold(e);
    visited++;
  }
  return visited;
}
