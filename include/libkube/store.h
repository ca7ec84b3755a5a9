/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libkube store: an MVCC key-value store with one cluster-wide revision.
 *
 * Contract (DESIGN.md "The object store contract"):
 * - Every write bumps the single revision; a key's mod_revision is the
 *   revision of its last write.
 * - create fails with AlreadyExists when the key exists; update and delete
 *   with an expected revision fail with Conflict when it differs, NotFound
 *   when the key is absent.
 * - watch from revision R delivers every change with revision > R, in
 *   order, exactly once, or ends with an Expired error when R was compacted.
 * - A write whose callback reported success survives kill -9 (sqlite, etcd).
 * - After a write's callback reported success, get and list reflect it.
 *
 * Threading: a store belongs to one kube_loop_t; every function
 * must be called from that loop's thread and every callback runs on it.
 * Backends may use worker threads internally (sqlite group commit).
 *
 * Reads (get, list) are served from an in-memory cache of the current state
 * that the store keeps current with its own watch, so they are synchronous.
 *
 * Backends:
 * - "memory": nothing on disk; for tests.
 * - "sqlite": one database file (`path`, plus `path`-wal, -shm and .lock);
 *   WAL with synchronous=FULL; the writes queued in one loop turn commit
 *   in one transaction (one fsync per batch), on a writer thread, or on
 *   the loop itself for a small batch while the disk is fast (this saves
 *   two thread wake-ups; the loop blocks for that one commit).  Callbacks
 *   run only after the fsync.  One store per file: a second
 *   open fails with ServiceUnavailable.  After a reopen, history starts at
 *   the current revision.
 * - "etcd": etcd 3.4+ over its v3 JSON gateway; revisions are etcd's.  A
 *   write's callback runs once the store's watch brought the cache to the
 *   write's revision, so get/list after the callback see it.  Several
 *   stores may share one etcd (and prefix); each follows the others'
 *   writes.
 * `backend` NULL picks "sqlite" when `path` is set, else "memory".
 */
#ifndef LIBKUBE_STORE_H
#define LIBKUBE_STORE_H

#include <libkube/core.h>

#ifdef __cplusplus
extern "C" {
#endif


typedef struct kube_store kube_store_t;

typedef struct kube_store_options {
  size_t struct_size;          /* sizeof(kube_store_options_t) */
  const char *backend;         /* "memory" | "sqlite" | "etcd" */
  const char *path;            /* sqlite: database file (created) */
  const char *etcd_endpoints;  /* etcd: "http://127.0.0.1:2379[,...]" */
  const char *etcd_prefix;     /* etcd: key prefix, default "/registry";
                                * prepended to every store key in etcd */
  /* Revisions of history kept for watchers; older ones are compacted.
   * 0 picks the default (100,000 revisions). */
  int64_t history;
  /* Bytes of history kept (the values of the records the history holds),
   * whichever of the two limits comes first: at 150,000 pods the
   * last 100,000 changes are ~300 MB of old pod versions.  0 picks the
   * default (64 MiB); negative: no byte limit. */
  int64_t history_bytes;
} kube_store_options_t;

/* An immutable, reference-counted key/value record.  Fields are read-only. */
typedef struct kube_store_record {
  const char *key;          /* NUL-terminated */
  const char *value;        /* NUL-terminated; value_len excludes the NUL */
  size_t value_len;
  int64_t create_revision;
  int64_t mod_revision;
} kube_store_record_t;

/* Take / drop a reference.  unref accepts NULL. */
kube_store_record_t *kube_store_record_ref(const kube_store_record_t *rec);
void kube_store_record_unref(const kube_store_record_t *rec);

/* Open a store on `loop` (borrowed; must outlive the store).  Returns an
 * owned store (close with kube_store_close) or NULL with err set. */
kube_store_t *kube_store_open(kube_loop_t *loop,
                              const kube_store_options_t *opts,
                              kube_error_t *err);
/* Finish in-flight writes (their callbacks run), cancel watches, release
 * everything.  Accepts NULL.  Must not be called from a store callback. */
void kube_store_close(kube_store_t *store);
/* Name of the backend ("memory", "sqlite", "etcd"). Static string. */
const char *kube_store_backend(const kube_store_t *store);

/* The latest revision the cache holds. */
int64_t kube_store_revision(const kube_store_t *store);
/* Append the store's figures in Prometheus text format to out:
 * kube_store_write_duration_seconds{backend,operation} (acknowledged write
 * latency: queue and commit, fsync included), failures, the revision.
 * 0, or -1 when out ran out of memory.  Loop thread. */
int kube_store_metrics_write(const kube_store_t *store, kube_strbuf_t *out);
/* The oldest revision a watch may still start from (compacted before it). */
int64_t kube_store_compacted_revision(const kube_store_t *store);

/* ---- reads (synchronous, from the cache) ---- */

/* Returns a new reference (unref it) or NULL with NotFound. */
kube_store_record_t *kube_store_get(kube_store_t *store, const char *key,
                                    kube_error_t *err);

typedef struct kube_store_list {
  kube_store_record_t **items; /* owned references, sorted by key */
  size_t n;
  int64_t revision;            /* revision the list was read at */
  /* When more keys follow, the key to pass as start_after (owned), else
   * NULL; `remaining` counts them. */
  char *continue_key;
  size_t remaining;
} kube_store_list_t;

/* List keys with `prefix`, strictly after `start_after` (NULL for the
 * start), at most `limit` (0 = all).  Fills *out (release with
 * kube_store_list_clear). */
int kube_store_list(kube_store_t *store, const char *prefix,
                    const char *start_after, size_t limit,
                    kube_store_list_t *out, kube_error_t *err);
void kube_store_list_clear(kube_store_list_t *list);
/* Number of keys with `prefix`. */
size_t kube_store_count(kube_store_t *store, const char *prefix);

/* ---- writes (asynchronous) ---- */

/* Called once per write on the loop thread.  On success `rec` is the record
 * as written (for delete: the record that was deleted, with mod_revision set
 * to the delete's revision) and err is NULL; on failure rec is NULL.  Both
 * are borrowed for the duration of the call (ref the record to keep it). */
typedef void (*kube_store_write_cb)(const kube_store_record_t *rec,
                                    const kube_error_t *err, void *arg);

/* Each returns 0 when the write was queued (cb will run exactly once), or
 * -1 with err set when it could not even be queued (cb will not run).  The
 * key and value are copied.
 *
 * Outcomes of a queued write (AlreadyExists, NotFound, Conflict, I/O
 * failures) are reported through cb, never through the return value, and
 * cb never runs inside the call that queued the write.  -1 means: invalid
 * arguments (BadRequest), store closing (ServiceUnavailable), store broken
 * by an earlier I/O error, out of memory.  With the etcd backend a write
 * still unanswered when the store closes reports ServiceUnavailable (its
 * outcome is unknown); memory and sqlite complete every queued write. */
int kube_store_create(kube_store_t *store, const char *key, const char *value,
                      size_t value_len, kube_store_write_cb cb, void *arg,
                      kube_error_t *err);
/* expected_revision 0 = unconditional (but the key must exist). */
int kube_store_update(kube_store_t *store, const char *key, const char *value,
                      size_t value_len, int64_t expected_revision,
                      kube_store_write_cb cb, void *arg, kube_error_t *err);
int kube_store_delete(kube_store_t *store, const char *key,
                      int64_t expected_revision, kube_store_write_cb cb,
                      void *arg, kube_error_t *err);

/* For a writer that lost a compare-and-swap (Conflict) and retries on
 * what won: call cb(arg) on the loop once the cache holds that winner — no
 * write to `key` in flight any more, and the cached key is no longer at
 * `lost_revision` (the revision the failed write expected) or is gone.
 * The retry then reads the winner instead of losing again (with etcd the
 * cache learns of it from the watch, later than the Conflict).  cb never
 * runs inside this call; it runs at the latest when the store closes.  -1
 * with err only on out-of-memory. */
int kube_store_when_settled(kube_store_t *store, const char *key,
                            int64_t lost_revision, void (*cb)(void *arg),
                            void *arg, kube_error_t *err);

/* Drop history up to `revision` (watchers older than it get Expired).
 * BadRequest when `revision` is in the future.  New watches from before
 * `revision` fail with Expired; watches already running never lose events
 * (history they still need is kept until delivered).  History is also
 * trimmed to opts.history revisions and opts.history_bytes the same way.  etcd: etcd's own
 * history is compacted too (asynchronously). */
int kube_store_compact(kube_store_t *store, int64_t revision, kube_error_t *err);

/* ---- snapshots (backup and restore) ---- */

/* A consistent copy of the whole store, as a SQLite database in the sqlite
 * backend's own format whatever the backend: the sqlite backend's file
 * copied with SQLite's online backup API (a read transaction on a
 * connection of its own, while the store keeps serving), or the cached
 * keys at one revision (etcd, memory). */
typedef struct kube_store_snapshot kube_store_snapshot_t;

/* Take a snapshot (loop thread; cheap: records are shared, nothing is
 * copied yet).  Owned: free with kube_store_snapshot_free on the loop
 * thread.  NULL with err on out-of-memory. */
kube_store_snapshot_t *kube_store_snapshot_begin(kube_store_t *store,
                                                 kube_error_t *err);
/* The revision of the snapshot (the sqlite copy may be newer still). */
int64_t kube_store_snapshot_revision(const kube_store_snapshot_t *snap);
/* Write it to `path` (mode 0600): PATH.tmp, fsync, rename, so a crash
 * leaves the old file or the whole new one.  Blocking: any thread (a
 * kube_workers_t job), while the store keeps serving.  0 or -1 with err. */
int kube_store_snapshot_write(const kube_store_snapshot_t *snap,
                              const char *path, kube_error_t *err);
void kube_store_snapshot_free(kube_store_snapshot_t *snap);

/* Restore a snapshot file into a new sqlite store database `db_path`
 * (before opening it): the file is checked (AlreadyExists when db_path
 * exists, BadRequest when the snapshot is not one or is damaged), copied
 * to DB_PATH.tmp and renamed into place, so a crash leaves no database or
 * the whole one.  *revision (may be NULL): the snapshot's revision.
 * Blocking. */
int kube_store_restore(const char *snapshot, const char *db_path,
                       int64_t *revision, kube_error_t *err);

/* ---- watch ---- */

typedef enum kube_store_event_type {
  KUBE_STORE_EVENT_CREATE = 0,
  KUBE_STORE_EVENT_UPDATE,
  KUBE_STORE_EVENT_DELETE,
} kube_store_event_type_t;

typedef struct kube_store_event {
  kube_store_event_type_t type;
  int64_t revision;                 /* revision of this change */
  const kube_store_record_t *rec;   /* new record; for DELETE the old one */
  const kube_store_record_t *prev;  /* previous record (UPDATE, DELETE) or NULL */
} kube_store_event_t;

typedef struct kube_store_watch kube_store_watch_t;

/* Called for each event in revision order (ev != NULL, err == NULL), or once
 * with ev == NULL and err set (Expired when the start revision was compacted,
 * or the store closing) after which the watch is dead: still cancel it.
 * Records are borrowed for the call. */
typedef void (*kube_store_watch_cb)(const kube_store_event_t *ev,
                                    const kube_error_t *err, void *arg);

/* Watch keys with `prefix` for changes with revision > from_revision
 * (from_revision 0 = only changes after now).  Events already in history
 * are delivered from the loop, never from inside this call.  Returns an
 * owned handle (cancel with kube_store_watch_cancel) or NULL with Expired
 * when from_revision is older than the compacted revision. */
kube_store_watch_t *kube_store_watch(kube_store_t *store, const char *prefix,
                                     int64_t from_revision,
                                     kube_store_watch_cb cb, void *arg,
                                     kube_error_t *err);
/* Stop delivering and free.  Safe inside the watch's own callback.
 * Accepts NULL. */
void kube_store_watch_cancel(kube_store_watch_t *watch);

#ifdef __cplusplus
}
#endif
#endif /* LIBKUBE_STORE_H */
