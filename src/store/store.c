/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store front: records, open/close, reads from the cache, and the write
 * path shared by every backend.
 *
 * Writes to an authoritative backend (memory, sqlite) are decided here: the
 * loop thread is the only writer, so the cache plus the "overlay" of writes
 * still in flight is the exact state the next write applies to.  The write
 * gets its revision now and the backend only has to make it durable, in
 * order; a batch can then never fail part-way except on an I/O error.
 * Readers see a write only once the backend acknowledged it.
 */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

#define DEFAULT_HISTORY 100000
#define DEFAULT_HISTORY_BYTES (64LL << 20)

/* ---- records ---- */

struct rec *store_rec_new(const char *key, size_t key_len, const char *value,
                          size_t value_len, int64_t create_rev,
                          int64_t mod_rev) {
  struct rec *r = malloc(sizeof(*r) + key_len + 1 + value_len + 1);
  if (!r)
    return NULL;
  char *k = r->data, *v = r->data + key_len + 1;
  memcpy(k, key, key_len);
  k[key_len] = '\0';
  if (value_len)
    memcpy(v, value, value_len);
  v[value_len] = '\0';
  r->pub.key = k;
  r->pub.value = v;
  r->pub.value_len = value_len;
  r->pub.create_revision = create_rev;
  r->pub.mod_revision = mod_rev;
  atomic_init(&r->refs, 1);
  r->tombstone = false;
  return r;
}

struct rec *store_rec_with_mod(const struct rec *r, int64_t mod_rev) {
  return store_rec_new(r->pub.key, strlen(r->pub.key), r->pub.value,
                       r->pub.value_len, r->pub.create_revision, mod_rev);
}

void store_rec_unref(struct rec *r) {
  if (r && atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1)
    free(r);
}

KUBE_EXPORT kube_store_record_t *
kube_store_record_ref(const kube_store_record_t *rec) {
  return rec ? &rec_ref(rec_of(rec))->pub : NULL;
}

KUBE_EXPORT void kube_store_record_unref(const kube_store_record_t *rec) {
  if (rec)
    store_rec_unref(rec_of(rec));
}

void store_op_free(struct store_op *op) {
  if (!op)
    return;
  store_rec_unref(op->rec);
  store_rec_unref(op->prev);
  kube_error_clear(&op->err);
  free(op);
}

/* ---- completion ---- */

static void op_callback(kube_store_t *s, struct store_op *op) {
  int t = op->type == OP_CREATE ? 0 : op->type == OP_UPDATE ? 1 : 2;
  core_hist_observe(&s->m_write[t],
                    (double)(kube_time_mono_ns() - op->start_ns) / 1e9);
  if (op->failed)
    s->m_write_failed++;
  if (op->failed)
    op->cb(NULL, &op->err, op->arg);
  else
    op->cb(&op->rec->pub, NULL, op->arg);
  store_op_free(op);
}

void store_set_broken(kube_store_t *s, const kube_error_t *err) {
  if (s->broken)
    return;
  s->broken = true;
  kube_error_set(&s->broken_err,
                 err && err->reason ? err->reason : KUBE_REASON_INTERNAL,
                 err ? err->errnum : 0, "store failed: %s",
                 err && err->message ? err->message : "I/O error");
  log_error("%s", s->broken_err.message);
}

void store_apply(kube_store_t *s, kube_store_event_type_t type, struct rec *rec,
                 struct rec *prev) {
  bool oom = false;
  if (type == KUBE_STORE_EVENT_DELETE) {
    store_rec_unref(store_cache_remove(&s->cache, rec->pub.key));
  } else {
    struct rec *old = store_cache_put(&s->cache, rec_ref(rec), &oom);
    if (oom) {
      store_rec_unref(rec);
      kube_error_t e = KUBE_ERROR_INIT;
      kube_make_oom(&e);
      store_set_broken(s, &e);
      kube_error_clear(&e);
    }
    store_rec_unref(old);
  }
  s->revision = rec->pub.mod_revision;
  if (store_history_append(s, type, rec, prev) < 0) {
    store_rec_unref(rec);
    store_rec_unref(prev);
    /* Without the event, watchers would silently miss a change: end them
     * so that they relist. */
    store_watch_end_all(s, KUBE_REASON_EXPIRED,
                        "watch history lost: out of memory");
  }
  store_watch_schedule(s);
  if (s->waiting || s->settle_head)
    event_active(s->early_ev, EV_TIMEOUT, 0);
}

static kube_store_event_type_t event_type(enum op_type t) {
  return t == OP_CREATE   ? KUBE_STORE_EVENT_CREATE
         : t == OP_UPDATE ? KUBE_STORE_EVENT_UPDATE
                          : KUBE_STORE_EVENT_DELETE;
}

void store_op_done(kube_store_t *s, struct store_op *op) {
  if (s->be->authoritative) {
    struct rec *ov = store_cache_find(&s->overlay, op->rec->pub.key);
    if (ov == op->rec) {
      store_rec_unref(store_cache_remove(&s->overlay, op->rec->pub.key));
      if (s->settle_head)
        event_active(s->early_ev, EV_TIMEOUT, 0);
    }
    if (!op->failed)
      store_apply(s, event_type(op->type), rec_ref(op->rec), rec_ref(op->prev));
    op_callback(s, op);
    return;
  }
  /* etcd: the cache follows etcd's watch; hold the callback until the
   * cache reached this write so that the caller reads its own write. */
  if (op->failed || op->rec->pub.mod_revision <= s->revision || s->closing) {
    op_callback(s, op);
    return;
  }
  op->next = s->waiting;
  s->waiting = op;
}

int store_reset_state(kube_store_t *s, struct rec **recs, size_t n,
                      int64_t revision) {
  store_watch_end_all(s, KUBE_REASON_EXPIRED,
                      "the store lost its watch history; list again");
  store_history_clear(s);
  if (store_cache_build_sorted(&s->cache, recs, n) < 0)
    return -1;
  s->revision = revision;
  s->compact_rev = revision;
  if (s->waiting)
    event_active(s->early_ev, EV_TIMEOUT, 0);
  return 0;
}

/* Run the callbacks of writes that failed before reaching the backend, and
 * of etcd writes the cache has caught up with. */
static void run_early(kube_store_t *s, bool all) {
  while (s->early_head) {
    struct store_op *op = s->early_head;
    s->early_head = op->next;
    if (!s->early_head)
      s->early_tail = &s->early_head;
    op_callback(s, op);
  }
  /* Oldest first: waiting is newest-first, so collect then run. */
  struct store_op *ready = NULL, **pp = &s->waiting;
  while (*pp) {
    struct store_op *op = *pp;
    if (all || op->rec->pub.mod_revision <= s->revision) {
      *pp = op->next;
      op->next = ready;
      ready = op;
    } else {
      pp = &op->next;
    }
  }
  while (ready) {
    struct store_op *op = ready;
    ready = op->next;
    op_callback(s, op);
  }
}

struct store_settle {
  char *key;
  int64_t lost; /* the revision of key the caller's write expected */
  void (*cb)(void *arg);
  void *arg;
  struct store_settle *next;
};

/* Whether the cache holds what a waiter's write lost to: no write of ours
 * in flight for the key (authoritative backends), and the cached key newer
 * than the revision the write expected, or gone (etcd's cache learns of
 * the winner from its watch, later). */
static bool settled(kube_store_t *s, const struct store_settle *w) {
  if (s->be->authoritative && store_cache_find(&s->overlay, w->key))
    return false;
  const struct rec *cur = store_cache_find(&s->cache, w->key);
  return !cur || cur->tombstone || cur->pub.mod_revision != w->lost;
}

static void run_settled(kube_store_t *s, bool all) {
  struct store_settle *ready = NULL, **rt = &ready, **pp = &s->settle_head;
  while (*pp) {
    struct store_settle *w = *pp;
    if (all || settled(s, w)) {
      *pp = w->next;
      w->next = NULL;
      *rt = w;
      rt = &w->next;
    } else {
      pp = &w->next;
    }
  }
  s->settle_tail = pp;
  while (ready) {
    struct store_settle *w = ready;
    ready = w->next;
    w->cb(w->arg);
    free(w->key);
    free(w);
  }
}

static void early_cb(evutil_socket_t fd, short what, void *arg) {
  run_early(arg, false);
  run_settled(arg, false);
}

KUBE_EXPORT int kube_store_when_settled(kube_store_t *s, const char *key,
                                        int64_t lost_revision,
                                        void (*cb)(void *arg), void *arg,
                                        kube_error_t *err) {
  struct store_settle *w = calloc(1, sizeof *w);
  if (!w || !(w->key = strdup(key))) {
    free(w);
    return kube_make_oom(err);
  }
  w->lost = lost_revision;
  w->cb = cb;
  w->arg = arg;
  *s->settle_tail = w;
  s->settle_tail = &w->next;
  /* Settled already (or never in flight): the callback still runs from
   * the loop, never inside this call. */
  if (settled(s, w))
    event_active(s->early_ev, EV_TIMEOUT, 0);
  return 0;
}

void store_op_defer(kube_store_t *s, struct store_op *op) {
  op->next = NULL;
  *s->early_tail = op;
  s->early_tail = &op->next;
  event_active(s->early_ev, EV_TIMEOUT, 0);
}

static void fail_early(kube_store_t *s, struct store_op *op,
                       kube_reason_t reason, const char *fmt, const char *key) {
  op->failed = true;
  kube_error_set(&op->err, reason, 0, fmt, key);
  store_op_defer(s, op);
}

static int write_op(kube_store_t *s, enum op_type type, const char *key,
                    const char *value, size_t value_len, int64_t expected,
                    kube_store_write_cb cb, void *arg, kube_error_t *err) {
  if (!s || !key || !cb || (type != OP_DELETE && !value && value_len))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "store write: key and callback are required");
  if (!*key)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "store write: empty key");
  if (expected < 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "store write: negative expected revision");
  if (s->closing)
    return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                          "store is closing");
  if (s->broken)
    return kube_error_set(err, s->broken_err.reason, s->broken_err.errnum, "%s",
                          s->broken_err.message);
  if (type == OP_DELETE) {
    value = "";
    value_len = 0;
  } else if (!value) {
    value = "";
  }

  struct store_op *op = calloc(1, sizeof(*op));
  if (!op)
    return kube_make_oom(err);
  op->type = type;
  op->expected = expected;
  op->cb = cb;
  op->arg = arg;
  op->start_ns = kube_time_mono_ns();

  if (!s->be->authoritative) {
    op->rec = store_rec_new(key, strlen(key), value, value_len, 0, 0);
    if (!op->rec) {
      free(op);
      return kube_make_oom(err);
    }
    s->be->submit(s, op);
    return 0;
  }

  struct rec *cur = store_cache_find(&s->overlay, key);
  if (cur && cur->tombstone)
    cur = NULL;
  else if (!cur)
    cur = store_cache_find(&s->cache, key);

  if (type == OP_CREATE && cur) {
    fail_early(s, op, KUBE_REASON_ALREADY_EXISTS, "key %s already exists", key);
    return 0;
  }
  if (type != OP_CREATE && !cur) {
    fail_early(s, op, KUBE_REASON_NOT_FOUND, "key %s not found", key);
    return 0;
  }
  if (type != OP_CREATE && expected && cur->pub.mod_revision != expected) {
    op->failed = true;
    kube_error_set(&op->err, KUBE_REASON_CONFLICT, 0,
                   "key %s: revision is %lld, expected %lld", key,
                   (long long)cur->pub.mod_revision, (long long)expected);
    store_op_defer(s, op);
    return 0;
  }

  int64_t rev = s->assigned + 1;
  if (type == OP_DELETE) {
    op->rec = store_rec_with_mod(cur, rev);
    if (op->rec)
      op->rec->tombstone = true;
  } else {
    op->rec =
        store_rec_new(key, strlen(key), value, value_len,
                      type == OP_CREATE ? rev : cur->pub.create_revision, rev);
  }
  if (!op->rec) {
    free(op);
    return kube_make_oom(err);
  }
  op->prev = rec_ref(cur);
  bool oom;
  struct rec *old = store_cache_put(&s->overlay, rec_ref(op->rec), &oom);
  if (oom) {
    store_rec_unref(op->rec); /* the overlay's reference */
    store_op_free(op);
    return kube_make_oom(err);
  }
  store_rec_unref(old);
  s->assigned = rev;
  s->be->submit(s, op);
  return 0;
}

KUBE_EXPORT int kube_store_create(kube_store_t *s, const char *key,
                                  const char *value, size_t value_len,
                                  kube_store_write_cb cb, void *arg,
                                  kube_error_t *err) {
  return write_op(s, OP_CREATE, key, value, value_len, 0, cb, arg, err);
}

KUBE_EXPORT int kube_store_update(kube_store_t *s, const char *key,
                                  const char *value, size_t value_len,
                                  int64_t expected_revision,
                                  kube_store_write_cb cb, void *arg,
                                  kube_error_t *err) {
  return write_op(s, OP_UPDATE, key, value, value_len, expected_revision, cb,
                  arg, err);
}

KUBE_EXPORT int kube_store_delete(kube_store_t *s, const char *key,
                                  int64_t expected_revision,
                                  kube_store_write_cb cb, void *arg,
                                  kube_error_t *err) {
  return write_op(s, OP_DELETE, key, NULL, 0, expected_revision, cb, arg, err);
}

KUBE_EXPORT int kube_store_compact(kube_store_t *s, int64_t revision,
                                   kube_error_t *err) {
  if (!s)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL, "no store");
  if (revision > s->revision)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "compact: revision %lld is in the future (%lld)",
                          (long long)revision, (long long)s->revision);
  if (revision <= s->compact_rev)
    return 0;
  if (s->be->compact && s->be->compact(s, revision, err) < 0)
    return -1;
  s->compact_rev = revision;
  store_history_trim(s);
  return 0;
}

/* ---- reads ---- */

KUBE_EXPORT int64_t kube_store_revision(const kube_store_t *s) {
  return s ? s->revision : 0;
}

KUBE_EXPORT int64_t kube_store_compacted_revision(const kube_store_t *s) {
  return s ? s->compact_rev : 0;
}

KUBE_EXPORT const char *kube_store_backend(const kube_store_t *s) {
  return s ? s->be->name : NULL;
}

KUBE_EXPORT kube_store_record_t *
kube_store_get(kube_store_t *s, const char *key, kube_error_t *err) {
  struct rec *r = s && key ? store_cache_find(&s->cache, key) : NULL;
  if (!r) {
    kube_error_set(err, KUBE_REASON_NOT_FOUND, 0, "key %s not found",
                   key ? key : "(null)");
    return NULL;
  }
  return &rec_ref(r)->pub;
}

KUBE_EXPORT size_t kube_store_count(kube_store_t *s, const char *prefix) {
  return s ? store_cache_count_prefix(&s->cache, prefix ? prefix : "") : 0;
}

KUBE_EXPORT int kube_store_list(kube_store_t *s, const char *prefix,
                                const char *start_after, size_t limit,
                                kube_store_list_t *out, kube_error_t *err) {
  if (!s || !out)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "list: store and output are required");
  memset(out, 0, sizeof(*out));
  const char *p = prefix ? prefix : "";
  size_t plen = strlen(p);
  bool after = start_after && strcmp(start_after, p) >= 0;
  const char *from = after ? start_after : p;
  size_t total =
      store_cache_count_prefix_after(&s->cache, p, after ? from : NULL);
  size_t want = limit && limit < total ? limit : total;

  out->revision = s->revision;
  if (want == 0)
    return 0;
  out->items = malloc(want * sizeof(*out->items));
  if (!out->items)
    return kube_make_oom(err);
  struct cache_iter it;
  store_cache_iter_seek(&it, &s->cache, from, after);
  struct rec *r;
  while (out->n < want && (r = store_cache_iter_next(&it)) &&
         strncmp(r->pub.key, p, plen) == 0)
    out->items[out->n++] = &rec_ref(r)->pub;
  if (out->n < total) {
    out->remaining = total - out->n;
    out->continue_key = strdup(out->items[out->n - 1]->key);
    if (!out->continue_key) {
      kube_store_list_clear(out);
      return kube_make_oom(err);
    }
  }
  return 0;
}

KUBE_EXPORT void kube_store_list_clear(kube_store_list_t *list) {
  if (!list)
    return;
  for (size_t i = 0; i < list->n; i++)
    kube_store_record_unref(list->items[i]);
  free(list->items);
  free(list->continue_key);
  memset(list, 0, sizeof(*list));
}

/* ---- open / close ---- */

static const struct store_backend *backend_by_name(const char *name) {
  static const struct store_backend *const all[] = {
      &store_backend_memory, &store_backend_sqlite, &store_backend_etcd};
  for (size_t i = 0; i < ARRAY_SIZE(all); i++)
    if (streq(all[i]->name, name))
      return all[i];
  return NULL;
}

static void store_free(kube_store_t *s) {
  if (s->early_ev)
    event_free(s->early_ev);
  if (s->dispatch_ev)
    event_free(s->dispatch_ev);
  store_watch_detach_all(s);
  store_cache_clear(&s->cache);
  store_cache_clear(&s->overlay);
  store_history_clear(s);
  kube_error_clear(&s->broken_err);
  free(s->path);
  free(s->etcd_endpoints);
  free(s->etcd_prefix);
  free(s);
}

KUBE_EXPORT kube_store_t *kube_store_open(kube_loop_t *kloop,
                                          const kube_store_options_t *opts,
                                          kube_error_t *err) {
  struct event_base *base = kube_loop_base(kloop);
  kube_store_options_t o = {0};
  if (!base || !opts) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "open store: event base and options are required");
    return NULL;
  }
  core_opts_copy(&o, opts);
  const char *name = o.backend ? o.backend : o.path ? "sqlite" : "memory";
  const struct store_backend *be = backend_by_name(name);
  if (!be) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "open store: unknown backend \"%s\"", name);
    return NULL;
  }
  kube_store_t *s = calloc(1, sizeof(*s));
  if (!s) {
    kube_make_oom(err);
    return NULL;
  }
  s->base = base;
  s->be = be;
  s->early_tail = &s->early_head;
  s->settle_tail = &s->settle_head;
  s->history_max = o.history > 0 ? o.history : DEFAULT_HISTORY;
  s->history_bytes_max = o.history_bytes > 0   ? o.history_bytes
                         : o.history_bytes < 0 ? 0
                                               : DEFAULT_HISTORY_BYTES;
  if ((o.path && !(s->path = strdup(o.path))) ||
      (o.etcd_endpoints && !(s->etcd_endpoints = strdup(o.etcd_endpoints))) ||
      !(s->etcd_prefix = strdup(o.etcd_prefix ? o.etcd_prefix : "/registry"))) {
    kube_make_oom(err);
    store_free(s);
    return NULL;
  }
  o.path = s->path;
  o.etcd_endpoints = s->etcd_endpoints;
  o.etcd_prefix = s->etcd_prefix;
  o.backend = be->name;
  o.history = s->history_max;
  o.history_bytes = s->history_bytes_max > 0 ? s->history_bytes_max : -1;
  s->early_ev = event_new(base, -1, 0, early_cb, s);
  if (!s->early_ev) {
    kube_make_oom(err);
    store_free(s);
    return NULL;
  }
  if (store_watch_init(s, err) < 0 || be->open(s, &o, err) < 0) {
    store_free(s);
    return NULL;
  }
  s->assigned = s->revision;
  /* History before the open is not kept: watches start from here. */
  if (s->compact_rev < s->revision)
    s->compact_rev = s->revision;
  return s;
}

KUBE_EXPORT void kube_store_close(kube_store_t *s) {
  if (!s)
    return;
  s->closing = true;
  s->be->close(s);
  run_early(s, true);
  run_settled(s, true);
  store_watch_end_all(s, KUBE_REASON_SERVICE_UNAVAILABLE, "store closed");
  store_free(s);
}

KUBE_EXPORT int kube_store_metrics_write(const kube_store_t *s,
                                         kube_strbuf_t *out) {
  static const char *const ops[3] = {"create", "update", "delete"};
  kube_strbuf_printf(out,
                     "# HELP kube_store_write_duration_seconds Acknowledged "
                     "write latency (queue and commit), by operation.\n"
                     "# TYPE kube_store_write_duration_seconds histogram\n");
  for (int i = 0; i < 3; i++) {
    char labels[64];
    snprintf(labels, sizeof labels, "backend=\"%s\",operation=\"%s\"",
             s->be->name, ops[i]);
    core_hist_write(out, "kube_store_write_duration_seconds", labels,
                    &s->m_write[i]);
  }
  kube_strbuf_printf(out,
                     "# HELP kube_store_write_failures_total Writes that "
                     "failed (conflicts included).\n"
                     "# TYPE kube_store_write_failures_total counter\n"
                     "kube_store_write_failures_total %llu\n"
                     "# HELP kube_store_revision The latest revision.\n"
                     "# TYPE kube_store_revision gauge\n"
                     "kube_store_revision %lld\n"
                     "# HELP kube_store_watch_history_events Changes kept "
                     "for watches to resume from.\n"
                     "# TYPE kube_store_watch_history_events gauge\n"
                     "kube_store_watch_history_events %zu\n"
                     "# HELP kube_store_watch_history_bytes Bytes of the "
                     "records those changes hold.\n"
                     "# TYPE kube_store_watch_history_bytes gauge\n"
                     "kube_store_watch_history_bytes %zu\n",
                     (unsigned long long)s->m_write_failed,
                     (long long)s->revision, s->hist.n, s->hist.bytes);
  return out->oom ? -1 : 0;
}
