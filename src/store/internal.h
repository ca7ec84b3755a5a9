/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals of the store module, shared by the front (store.c, cache.c,
 * watch.c) and the backends.  Not included by other modules.
 *
 * Split of work:
 * - the front keeps the current state in an ordered in-memory map (cache.c),
 *   the history of recent changes in a ring for watchers (watch.c), and runs
 *   every callback on the caller's loop;
 * - a backend makes writes durable.  "Authoritative" backends (memory,
 *   sqlite) are the only writer of their data: the front decides conflicts
 *   against the cache plus the writes still in flight and assigns the
 *   revisions before handing a write over.  The etcd backend is not: etcd
 *   decides conflicts and assigns revisions, and its watch stream feeds the
 *   cache.
 */
#ifndef KUBE_STORE_INTERNAL_H
#define KUBE_STORE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include <libkube/store.h>

#include "core/metrics.h"
#include "core/util.h"

/* ---- records ---- */

/* A record is one allocation: header, key, NUL, value, NUL. */
struct rec {
  kube_store_record_t pub;
  atomic_uint refs;
  bool tombstone; /* only in the in-flight overlay: the key is being deleted */
  char data[];
};

static inline struct rec *rec_of(const kube_store_record_t *r) {
  return (struct rec *)r;
}

/* New record with one reference, or NULL on out-of-memory. */
struct rec *store_rec_new(const char *key, size_t key_len, const char *value,
                          size_t value_len, int64_t create_rev,
                          int64_t mod_rev);
/* Copy of `r` with a different mod_revision (deletes). */
struct rec *store_rec_with_mod(const struct rec *r, int64_t mod_rev);
static inline struct rec *rec_ref(struct rec *r) {
  if (r)
    atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
  return r;
}
void store_rec_unref(struct rec *r);

/* ---- ordered map of key -> record (cache.c) ---- */

struct cache_node;
struct cache {
  struct cache_node *root;
};

/* Borrowed record for `key`, or NULL. */
struct rec *store_cache_find(const struct cache *c, const char *key);
/* Insert or replace; takes the caller's reference to `r`.  Returns the
 * replaced record (caller's reference now) or NULL.  *oom set on failure
 * (then `r` is not consumed). */
struct rec *store_cache_put(struct cache *c, struct rec *r, bool *oom);
/* Remove `key`; returns the removed record (reference passed) or NULL. */
struct rec *store_cache_remove(struct cache *c, const char *key);
size_t store_cache_size(const struct cache *c);
/* Replace the content with `n` records sorted by key (steals references and
 * the array stays owned by the caller).  Returns -1 on out-of-memory. */
int store_cache_build_sorted(struct cache *c, struct rec **recs, size_t n);
void store_cache_clear(struct cache *c);
/* Number of keys with `prefix`. */
size_t store_cache_count_prefix(const struct cache *c, const char *prefix);
/* Number of keys with `prefix` strictly after `after`. */
size_t store_cache_count_prefix_after(const struct cache *c, const char *prefix,
                                      const char *after);

/* In-order iteration from a lower bound. */
#define CACHE_MAX_DEPTH 96
struct cache_iter {
  struct cache_node *stack[CACHE_MAX_DEPTH];
  int depth;
};
/* Position on the first key >= key (strictly > when `exclusive`). */
void store_cache_iter_seek(struct cache_iter *it, const struct cache *c,
                           const char *key, bool exclusive);
/* Next record (borrowed) or NULL at the end. */
struct rec *store_cache_iter_next(struct cache_iter *it);

/* ---- writes in flight ---- */

enum op_type { OP_CREATE = 0, OP_UPDATE, OP_DELETE };

struct store_op {
  struct store_op *next;
  enum op_type type;
  /* Authoritative backends: the record to write (delete: the deleted record
   * with the delete's mod_revision, tombstone set), revisions assigned.
   * etcd: key and value only (revisions 0) until the backend replaces it
   * with the record etcd wrote. */
  struct rec *rec;
  struct rec *prev; /* authoritative: the record replaced, or NULL */
  int64_t expected; /* update/delete: expected mod_revision, 0 = any */
  kube_store_write_cb cb;
  void *arg;
  int64_t start_ns; /* submitted (for /metrics) */
  bool failed;
  kube_error_t err; /* set when failed */
};

/* ---- backends ---- */

struct store_backend {
  const char *name;
  /* Front decides conflicts and assigns revisions (memory, sqlite). */
  bool authoritative;
  /* Prepare the backend and fill the cache (store_load_*), set
   * s->revision.  On failure release what was made. */
  int (*open)(kube_store_t *s, const kube_store_options_t *opts,
              kube_error_t *err);
  /* Take one write.  The backend completes it later, on the loop thread,
   * with store_op_done() (authoritative: strictly in submission order). */
  void (*submit)(kube_store_t *s, struct store_op *op);
  /* Drop history up to `rev` in the backend (etcd); may be NULL. */
  int (*compact)(kube_store_t *s, int64_t rev, kube_error_t *err);
  /* Complete every write in flight (store_op_done for each), then release
   * the backend.  Runs on the loop thread, inside kube_store_close. */
  void (*close)(kube_store_t *s);
};

/* The sqlite backend's tables (kv, meta), also a snapshot's. */
extern const char store_sqlite_schema[];

extern const struct store_backend store_backend_memory;
extern const struct store_backend store_backend_sqlite;
extern const struct store_backend store_backend_etcd;

/* ---- watch history and watchers (watch.c) ---- */

struct hist_event {
  kube_store_event_type_t type;
  int64_t revision;
  struct rec *rec;
  struct rec *prev;
};

struct history {
  struct hist_event *ev; /* ring buffer */
  size_t cap, head, n;
  size_t bytes; /* keys and values of the events' records (hist_bytes) */
};

struct kube_store_watch {
  struct kube_store_watch *prev_w, *next_w;
  kube_store_t *store; /* NULL once the store closed */
  char *prefix;
  size_t prefix_len;
  /* Position: the next event to deliver is the first with revision >=
   * next_rev, after `skip` events of revision next_rev already delivered. */
  int64_t next_rev;
  size_t skip;
  kube_store_watch_cb cb;
  void *arg;
  bool dead;  /* cancelled while the dispatcher ran */
  bool ended; /* got its final error */
};

/* ---- the store ---- */

struct kube_store {
  /* /metrics: acknowledged write latency per operation (create, update,
   * delete), submit to callback. */
  core_hist_t m_write[3];
  uint64_t m_write_failed;
  struct event_base *base;
  const struct store_backend *be;
  void *be_data;
  char *path, *etcd_endpoints, *etcd_prefix;

  struct cache cache;
  struct cache overlay; /* authoritative: latest in-flight record per key */
  int64_t revision;     /* latest revision applied to the cache */
  int64_t assigned;     /* authoritative: latest revision handed out */
  int64_t compact_rev;  /* watches may start from revisions >= this */
  int64_t history_max;
  int64_t history_bytes_max; /* 0: no byte limit */

  /* Writes that failed before reaching the backend, and (etcd) writes done
   * in the backend whose revision the cache has not reached yet. */
  struct store_op *early_head, **early_tail;
  struct store_op *waiting;
  struct event *early_ev;
  /* kube_store_when_settled callers, oldest first. */
  struct store_settle *settle_head, **settle_tail;

  struct history hist;
  struct kube_store_watch *watchers;
  struct event *dispatch_ev;
  int dispatching;
  bool watchers_dirty; /* a watcher was cancelled during dispatch */

  bool closing;
  bool broken; /* an I/O error made further writes unsafe */
  kube_error_t broken_err;
};

/* Backends report a finished write (success: op->rec is the record written
 * with its revisions; failure: op->failed and op->err).  Loop thread. */
void store_op_done(kube_store_t *s, struct store_op *op);
/* Report a finished write (failed, usually) from the loop, not from inside
 * the call that queued it. */
void store_op_defer(kube_store_t *s, struct store_op *op);
/* Apply one change to the cache and history (takes the references).
 * Revisions must increase.  Used directly by the etcd backend. */
void store_apply(kube_store_t *s, kube_store_event_type_t type, struct rec *rec,
                 struct rec *prev);
/* Mark the store broken after an I/O error (further writes fail). */
void store_set_broken(kube_store_t *s, const kube_error_t *err);
/* etcd: replace the whole state with `n` records sorted by key (steals the
 * references) at `revision`, after the watch lost history.  Watchers end
 * with Expired (they must relist).  Returns -1 on out-of-memory. */
int store_reset_state(kube_store_t *s, struct rec **recs, size_t n,
                      int64_t revision);

void store_op_free(struct store_op *op);

int store_history_append(kube_store_t *s, kube_store_event_type_t type,
                         struct rec *rec, struct rec *prev);
void store_history_trim(kube_store_t *s);
void store_history_clear(kube_store_t *s);
void store_watch_schedule(kube_store_t *s);
/* End every watcher with `err` (store closing, resync); they stay owned by
 * their callers. */
void store_watch_end_all(kube_store_t *s, kube_reason_t reason,
                         const char *msg);
int store_watch_init(kube_store_t *s, kube_error_t *err);
/* Hand every watcher over to its caller (store closing). */
void store_watch_detach_all(kube_store_t *s);

#endif /* KUBE_STORE_INTERNAL_H */
