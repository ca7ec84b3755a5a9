/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Store conformance: the same tests against every backend.  Usage:
 *   test-store memory|sqlite|etcd
 * The etcd run starts a real etcd on loopback (random ports, private data
 * directory) and stops it at the end; each test uses its own key prefix.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <event2/event.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libkube/store.h>

#include "etcd-harness.h"
#include "store/etcd.h"
#include "store/internal.h"

static const char *backend;
static char tmpdir[256];
static struct etcd_harness etcd;
static int serial;

struct fx {
  struct event_base *base;
  kube_loop_t *base_loop;
  struct event *timer;
  kube_store_t *s;
  char path[320];
  char prefix[64];
  bool timed_out;
};

static bool durable(void) {
  return strcmp(backend, "memory") != 0;
}

static kube_store_t *fx_open_bytes(struct fx *f, int64_t history,
                                   int64_t history_bytes) {
  kube_store_options_t o = {.struct_size = sizeof(o)};
  o.history_bytes = history_bytes;
  o.backend = backend;
  o.path = f->path;
  o.etcd_endpoints = etcd.endpoint;
  o.etcd_prefix = f->prefix;
  o.history = history;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_store_t *s = kube_store_open(f->base_loop, &o, &err);
  if (!s)
    fail_msg("open %s: %s", backend, err.message);
  assert_string_equal(kube_store_backend(s), backend);
  return s;
}

static kube_store_t *fx_open(struct fx *f, int64_t history) {
  return fx_open_bytes(f, history, 0);
}

static void timeout_cb(evutil_socket_t fd, short what, void *arg) {
  struct fx *f = arg;
  f->timed_out = true;
}

/* Run the loop until *count >= n (fails after 30 s). */
static void run_until(struct fx *f, const size_t *count, size_t n) {
  struct timeval tv = {.tv_sec = 30};
  f->timed_out = false;
  evtimer_add(f->timer, &tv);
  while (*count < n && !f->timed_out)
    event_base_loop(f->base, EVLOOP_ONCE);
  evtimer_del(f->timer);
  if (*count < n)
    fail_msg("timed out waiting (%zu of %zu)", *count, n);
}

/* A few more loop turns so anything wrongly pending would show up. */
static void settle(struct fx *f) {
  struct timeval tv = {.tv_usec = 50000};
  f->timed_out = false;
  evtimer_add(f->timer, &tv);
  while (!f->timed_out)
    event_base_loop(f->base, EVLOOP_ONCE);
}

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  f->base_loop = kube_loop_new(NULL);
  f->base = kube_loop_base(f->base_loop);
  f->timer = evtimer_new(f->base, timeout_cb, f);
  serial++;
  snprintf(f->path, sizeof(f->path), "%s/store-%d.db", tmpdir, serial);
  snprintf(f->prefix, sizeof(f->prefix), "/t%d-%d/", (int)getpid(), serial);
  f->s = fx_open(f, 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  kube_store_close(f->s);
  event_free(f->timer);
  kube_loop_free(f->base_loop);
  char p[400];
  const char *sfx[] = {"", "-wal", "-shm", ".lock"};
  for (int i = 0; i < 4; i++) {
    snprintf(p, sizeof(p), "%s%s", f->path, sfx[i]);
    unlink(p);
  }
  free(f);
  return 0;
}

/* ---- synchronous write helpers ---- */

struct wres {
  size_t done;
  kube_reason_t reason;
  kube_store_record_t *rec;
};

static void wcb(const kube_store_record_t *rec, const kube_error_t *err,
                void *arg) {
  struct wres *w = arg;
  assert_int_equal(w->done, 0); /* exactly once */
  w->done = 1;
  if (err) {
    assert_null(rec);
    w->reason = err->reason;
  } else {
    assert_non_null(rec);
    w->rec = kube_store_record_ref(rec);
  }
}

enum { W_CREATE, W_UPDATE, W_DELETE };

/* Returns the record written (ref, unref it) or NULL with *reason. */
static kube_store_record_t *sync_write(struct fx *f, int kind, const char *key,
                                       const char *value, int64_t expected,
                                       kube_reason_t *reason) {
  struct wres w = {0};
  kube_error_t err = KUBE_ERROR_INIT;
  int rc;
  size_t len = value ? strlen(value) : 0;
  if (kind == W_CREATE)
    rc = kube_store_create(f->s, key, value, len, wcb, &w, &err);
  else if (kind == W_UPDATE)
    rc = kube_store_update(f->s, key, value, len, expected, wcb, &w, &err);
  else
    rc = kube_store_delete(f->s, key, expected, wcb, &w, &err);
  if (rc < 0)
    fail_msg("write %s: %s", key, err.message);
  assert_int_equal(w.done, 0); /* never inside the call */
  run_until(f, &w.done, 1);
  if (reason)
    *reason = w.reason;
  return w.rec;
}

static kube_store_record_t *must(struct fx *f, int kind, const char *key,
                                 const char *value, int64_t expected) {
  kube_reason_t reason = 0;
  kube_store_record_t *r = sync_write(f, kind, key, value, expected, &reason);
  if (!r)
    fail_msg("write %s failed: %s", key, kube_reason_string(reason));
  return r;
}

static kube_reason_t must_fail(struct fx *f, int kind, const char *key,
                               const char *value, int64_t expected) {
  kube_reason_t reason = 0;
  kube_store_record_t *r = sync_write(f, kind, key, value, expected, &reason);
  if (r)
    fail_msg("write %s unexpectedly succeeded", key);
  return reason;
}

/* ---- tests ---- */

static void test_crud(void **state) {
  struct fx *f = *state;
  int64_t start = kube_store_revision(f->s);
  kube_store_record_t *a = must(f, W_CREATE, "/crud/a", "one", 0);
  assert_string_equal(a->key, "/crud/a");
  assert_string_equal(a->value, "one");
  assert_int_equal(a->value_len, 3);
  assert_true(a->mod_revision > start);
  assert_int_equal(a->create_revision, a->mod_revision);
  assert_int_equal(kube_store_revision(f->s), a->mod_revision);

  kube_error_t err = KUBE_ERROR_INIT;
  kube_store_record_t *g = kube_store_get(f->s, "/crud/a", &err);
  assert_non_null(g);
  assert_string_equal(g->value, "one");
  assert_int_equal(g->mod_revision, a->mod_revision);
  kube_store_record_unref(g);

  kube_store_record_t *b = must(f, W_UPDATE, "/crud/a", "two", a->mod_revision);
  assert_true(b->mod_revision > a->mod_revision);
  assert_int_equal(b->create_revision, a->create_revision);
  assert_string_equal(b->value, "two");
  g = kube_store_get(f->s, "/crud/a", NULL);
  assert_string_equal(g->value, "two");
  assert_int_equal(g->mod_revision, b->mod_revision);
  kube_store_record_unref(g);

  /* Values are bytes: embedded NULs survive. */
  struct wres w = {0};
  assert_int_equal(
      kube_store_update(f->s, "/crud/a", "x\0y", 3, 0, wcb, &w, &err), 0);
  run_until(f, &w.done, 1);
  assert_non_null(w.rec);
  g = kube_store_get(f->s, "/crud/a", NULL);
  assert_int_equal(g->value_len, 3);
  assert_memory_equal(g->value, "x\0y", 3);
  int64_t last = g->mod_revision;
  kube_store_record_unref(g);
  kube_store_record_unref(w.rec);

  kube_store_record_t *d = must(f, W_DELETE, "/crud/a", NULL, last);
  assert_true(d->mod_revision > last);
  assert_int_equal(d->create_revision, a->create_revision);
  assert_int_equal(d->value_len, 3);
  assert_null(kube_store_get(f->s, "/crud/a", &err));
  assert_int_equal(err.reason, KUBE_REASON_NOT_FOUND);
  kube_error_clear(&err);
  assert_int_equal(kube_store_revision(f->s), d->mod_revision);

  /* Re-create after delete starts a new life. */
  kube_store_record_t *c = must(f, W_CREATE, "/crud/a", "three", 0);
  assert_int_equal(c->create_revision, c->mod_revision);
  assert_true(c->mod_revision > d->mod_revision);
  kube_store_record_unref(a);
  kube_store_record_unref(b);
  kube_store_record_unref(c);
  kube_store_record_unref(d);
}

static void test_errors(void **state) {
  struct fx *f = *state;
  kube_store_record_t *a = must(f, W_CREATE, "/err/a", "1", 0);
  assert_int_equal(must_fail(f, W_CREATE, "/err/a", "2", 0),
                   KUBE_REASON_ALREADY_EXISTS);
  assert_int_equal(must_fail(f, W_UPDATE, "/err/missing", "2", 0),
                   KUBE_REASON_NOT_FOUND);
  assert_int_equal(must_fail(f, W_UPDATE, "/err/missing", "2", 5),
                   KUBE_REASON_NOT_FOUND);
  assert_int_equal(must_fail(f, W_DELETE, "/err/missing", NULL, 0),
                   KUBE_REASON_NOT_FOUND);
  kube_store_record_t *b = must(f, W_UPDATE, "/err/a", "2", 0);
  assert_int_equal(must_fail(f, W_UPDATE, "/err/a", "3", a->mod_revision),
                   KUBE_REASON_CONFLICT);
  assert_int_equal(must_fail(f, W_DELETE, "/err/a", NULL, a->mod_revision),
                   KUBE_REASON_CONFLICT);
  /* Failed writes change nothing. */
  kube_store_record_t *g = kube_store_get(f->s, "/err/a", NULL);
  assert_string_equal(g->value, "2");
  assert_int_equal(g->mod_revision, b->mod_revision);
  assert_int_equal(kube_store_revision(f->s), b->mod_revision);
  kube_store_record_unref(g);

  /* Writes that cannot even be queued fail synchronously. */
  kube_error_t err = KUBE_ERROR_INIT;
  struct wres w = {0};
  assert_int_equal(kube_store_create(f->s, "", "x", 1, wcb, &w, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  assert_int_equal(kube_store_create(f->s, "/k", "x", 1, NULL, NULL, &err), -1);
  kube_error_clear(&err);
  kube_store_record_unref(a);
  kube_store_record_unref(b);
}

struct settle_rec {
  kube_store_t *s;
  size_t done;
  int64_t cached; /* the key's revision in the cache when cb ran */
};

static void settled_cb(void *arg) {
  struct settle_rec *r = arg;
  kube_store_record_t *g = kube_store_get(r->s, "/settle/a", NULL);
  r->cached = g ? g->mod_revision : -1;
  kube_store_record_unref(g);
  r->done++;
}

/* The one of two racing writes that failed, once it has (or whichever
 * finished, when both did): etcd takes writes over a pool of connections,
 * so either may be the one that loses. */
static struct wres *run_until_loser(struct fx *f, struct wres *a,
                                    struct wres *b) {
  struct timeval tv = {.tv_sec = 30};
  f->timed_out = false;
  evtimer_add(f->timer, &tv);
  while (!(a->done && a->reason) && !(b->done && b->reason) &&
         !(a->done && b->done) && !f->timed_out)
    event_base_loop(f->base, EVLOOP_ONCE);
  evtimer_del(f->timer);
  if (!a->done && !b->done)
    fail_msg("timed out waiting for either write");
  return a->done && (a->reason || !b->done) ? a : b;
}

/* Two writes race on one key: the loser learns when the winner is in the
 * cache, so a retry reads it (on etcd the cache hears of it later than
 * the Conflict). */
static void test_when_settled(void **state) {
  struct fx *f = *state;
  kube_store_record_t *a = must(f, W_CREATE, "/settle/a", "1", 0);
  struct wres w1 = {0}, w2 = {0};
  assert_int_equal(kube_store_update(f->s, "/settle/a", "2", 1, a->mod_revision,
                                     wcb, &w1, NULL),
                   0);
  assert_int_equal(kube_store_update(f->s, "/settle/a", "3", 1, a->mod_revision,
                                     wcb, &w2, NULL),
                   0);
  struct wres *loser = run_until_loser(f, &w1, &w2);
  struct wres *winner = loser == &w1 ? &w2 : &w1;
  assert_int_equal(loser->reason, KUBE_REASON_CONFLICT);
  struct settle_rec r = {.s = f->s};
  assert_int_equal(kube_store_when_settled(f->s, "/settle/a", a->mod_revision,
                                           settled_cb, &r, NULL),
                   0);
  assert_int_equal(r.done, 0); /* never inside the call */
  run_until(f, &r.done, 1);
  run_until(f, &winner->done, 1);
  assert_non_null(winner->rec);
  assert_int_equal(r.cached, winner->rec->mod_revision);
  /* Nothing in flight: the callback comes at once (from the loop). */
  struct settle_rec r2 = {.s = f->s};
  kube_store_when_settled(f->s, "/settle/a", a->mod_revision, settled_cb, &r2,
                          NULL);
  run_until(f, &r2.done, 1);
  kube_store_record_unref(winner->rec);
  kube_store_record_unref(a);
}

static void test_revisions(void **state) {
  struct fx *f = *state;
  int64_t prev = kube_store_revision(f->s);
  char key[64];
  for (int i = 0; i < 30; i++) {
    snprintf(key, sizeof(key), "/rev/%d", i % 7);
    kube_reason_t reason;
    kube_store_record_t *r = sync_write(f, W_CREATE, key, "v", 0, &reason);
    if (!r)
      r = must(f, W_UPDATE, key, "w", 0);
    assert_true(r->mod_revision > prev);
    assert_int_equal(kube_store_revision(f->s), r->mod_revision);
    kube_store_record_t *g = kube_store_get(f->s, key, NULL);
    assert_int_equal(g->mod_revision, r->mod_revision);
    kube_store_record_unref(g);
    prev = r->mod_revision;
    kube_store_record_unref(r);
  }
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_list(void **state) {
  struct fx *f = *state;
  enum { N = 57 };
  char *keys[N];
  /* Insert in a scrambled order. */
  for (int i = 0; i < N; i++) {
    int j = (i * 17) % N;
    char key[64];
    snprintf(key, sizeof(key), "/p/item-%03d", j);
    keys[i] = strdup(key);
    kube_store_record_unref(must(f, W_CREATE, key, key, 0));
  }
  qsort(keys, N, sizeof(keys[0]), cmp_str);
  const char *others[] = {"/p", "/pa", "/o/x", "/q/x", "/p0"};
  for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
    kube_store_record_unref(must(f, W_CREATE, others[i], "o", 0));

  assert_int_equal(kube_store_count(f->s, "/p/"), N);
  assert_int_equal(kube_store_count(f->s, "/p/item-00"), 10);
  assert_int_equal(kube_store_count(f->s, "/nothing/"), 0);
  assert_int_equal(kube_store_count(f->s, ""), N + 5);
  assert_int_equal(kube_store_count(f->s, "/p"), N + 3);

  kube_store_list_t l;
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_store_list(f->s, "/p/", NULL, 0, &l, &err), 0);
  assert_int_equal(l.n, N);
  assert_null(l.continue_key);
  assert_int_equal(l.remaining, 0);
  assert_int_equal(l.revision, kube_store_revision(f->s));
  for (int i = 0; i < N; i++) {
    assert_string_equal(l.items[i]->key, keys[i]);
    assert_string_equal(l.items[i]->value, keys[i]);
  }
  kube_store_list_clear(&l);

  /* Paging with limit and continue. */
  size_t seen = 0;
  char *cont = NULL;
  do {
    assert_int_equal(kube_store_list(f->s, "/p/", cont, 7, &l, &err), 0);
    free(cont);
    cont = NULL;
    for (size_t i = 0; i < l.n; i++)
      assert_string_equal(l.items[i]->key, keys[seen + i]);
    seen += l.n;
    assert_int_equal(l.remaining, N - seen);
    if (l.continue_key) {
      assert_int_equal(l.n, 7);
      assert_string_equal(l.continue_key, keys[seen - 1]);
      cont = strdup(l.continue_key);
    }
    kube_store_list_clear(&l);
  } while (cont);
  assert_int_equal(seen, N);

  /* Exact limit: no continue. */
  assert_int_equal(kube_store_list(f->s, "/p/", keys[N - 4], 3, &l, &err), 0);
  assert_int_equal(l.n, 3);
  assert_null(l.continue_key);
  kube_store_list_clear(&l);
  /* Empty prefix result. */
  assert_int_equal(kube_store_list(f->s, "/zz/", NULL, 5, &l, &err), 0);
  assert_int_equal(l.n, 0);
  kube_store_list_clear(&l);
  for (int i = 0; i < N; i++)
    free(keys[i]);
}

/* ---- watch ---- */

struct seen_event {
  kube_store_event_type_t type;
  int64_t revision;
  char key[64];
  char value[64];
  int64_t rec_mod;
  bool has_prev;
  char prev_value[64];
  int64_t prev_mod;
};

struct watcher {
  size_t n;
  struct seen_event ev[600];
  size_t errors;
  kube_reason_t reason;
  kube_store_watch_t *w;
  bool cancel_on_first;
};

static void watch_cb(const kube_store_event_t *ev, const kube_error_t *err,
                     void *arg) {
  struct watcher *w = arg;
  if (!ev) {
    assert_non_null(err);
    w->errors++;
    w->reason = err->reason;
    return;
  }
  assert_null(err);
  assert_true(w->n < sizeof(w->ev) / sizeof(w->ev[0]));
  struct seen_event *s = &w->ev[w->n++];
  s->type = ev->type;
  s->revision = ev->revision;
  snprintf(s->key, sizeof(s->key), "%s", ev->rec->key);
  snprintf(s->value, sizeof(s->value), "%s", ev->rec->value);
  s->rec_mod = ev->rec->mod_revision;
  s->has_prev = ev->prev != NULL;
  if (ev->prev) {
    snprintf(s->prev_value, sizeof(s->prev_value), "%s", ev->prev->value);
    s->prev_mod = ev->prev->mod_revision;
  }
  if (w->cancel_on_first) {
    kube_store_watch_cancel(w->w);
    w->w = NULL;
  }
}

/* The standard sequence on /w/: create a, create x (other prefix), update
 * a, create b, delete a.  Fills revs[0..3] for the /w/ events. */
static void write_sequence(struct fx *f, int64_t revs[4]) {
  kube_store_record_t *r;
  r = must(f, W_CREATE, "/w/a", "a1", 0);
  revs[0] = r->mod_revision;
  kube_store_record_unref(r);
  kube_store_record_unref(must(f, W_CREATE, "/x/other", "o", 0));
  r = must(f, W_UPDATE, "/w/a", "a2", revs[0]);
  revs[1] = r->mod_revision;
  kube_store_record_unref(r);
  r = must(f, W_CREATE, "/w/b", "b1", 0);
  revs[2] = r->mod_revision;
  kube_store_record_unref(r);
  r = must(f, W_DELETE, "/w/a", NULL, revs[1]);
  revs[3] = r->mod_revision;
  kube_store_record_unref(r);
}

static void check_sequence(struct watcher *w, const int64_t revs[4]) {
  assert_int_equal(w->n, 4);
  assert_int_equal(w->errors, 0);
  assert_int_equal(w->ev[0].type, KUBE_STORE_EVENT_CREATE);
  assert_string_equal(w->ev[0].key, "/w/a");
  assert_string_equal(w->ev[0].value, "a1");
  assert_false(w->ev[0].has_prev);
  assert_int_equal(w->ev[1].type, KUBE_STORE_EVENT_UPDATE);
  assert_string_equal(w->ev[1].value, "a2");
  assert_true(w->ev[1].has_prev);
  assert_string_equal(w->ev[1].prev_value, "a1");
  assert_int_equal(w->ev[1].prev_mod, revs[0]);
  assert_int_equal(w->ev[2].type, KUBE_STORE_EVENT_CREATE);
  assert_string_equal(w->ev[2].key, "/w/b");
  assert_int_equal(w->ev[3].type, KUBE_STORE_EVENT_DELETE);
  assert_string_equal(w->ev[3].key, "/w/a");
  assert_true(w->ev[3].has_prev);
  assert_string_equal(w->ev[3].prev_value, "a2");
  assert_int_equal(w->ev[3].prev_mod, revs[1]);
  for (int i = 0; i < 4; i++) {
    assert_int_equal(w->ev[i].revision, revs[i]);
    assert_int_equal(w->ev[i].rec_mod, revs[i]);
  }
}

static void test_watch_live(void **state) {
  struct fx *f = *state;
  struct watcher w = {0};
  kube_error_t err = KUBE_ERROR_INIT;
  w.w = kube_store_watch(f->s, "/w/", kube_store_revision(f->s), watch_cb, &w,
                         &err);
  assert_non_null(w.w);
  int64_t revs[4];
  write_sequence(f, revs);
  run_until(f, &w.n, 4);
  /* Exactly once: nothing more arrives. */
  kube_store_record_unref(must(f, W_CREATE, "/x/more", "m", 0));
  settle(f);
  check_sequence(&w, revs);
  kube_store_watch_cancel(w.w);
}

static void test_watch_replay(void **state) {
  struct fx *f = *state;
  /* (Revision 0 would mean "from now": have at least one write first.) */
  kube_store_record_unref(must(f, W_CREATE, "/x/first", "f", 0));
  int64_t start = kube_store_revision(f->s);
  int64_t revs[4];
  write_sequence(f, revs);
  struct watcher w = {0}, now = {0};
  kube_error_t err = KUBE_ERROR_INIT;
  w.w = kube_store_watch(f->s, "/w/", start, watch_cb, &w, &err);
  assert_non_null(w.w);
  /* from_revision 0: only changes after now. */
  now.w = kube_store_watch(f->s, "/w/", 0, watch_cb, &now, &err);
  assert_non_null(now.w);
  assert_int_equal(w.n, 0); /* delivered from the loop, not the call */
  run_until(f, &w.n, 4);
  settle(f);
  check_sequence(&w, revs);
  assert_int_equal(now.n, 0);

  /* Watch from the middle: only the later changes. */
  struct watcher mid = {0};
  mid.w = kube_store_watch(f->s, "/w/", revs[1], watch_cb, &mid, &err);
  run_until(f, &mid.n, 2);
  settle(f);
  assert_int_equal(mid.n, 2);
  assert_int_equal(mid.ev[0].revision, revs[2]);
  assert_int_equal(mid.ev[1].revision, revs[3]);

  kube_store_record_t *r = must(f, W_CREATE, "/w/c", "c", 0);
  run_until(f, &now.n, 1);
  assert_int_equal(now.ev[0].revision, r->mod_revision);
  kube_store_record_unref(r);
  kube_store_watch_cancel(w.w);
  kube_store_watch_cancel(now.w);
  kube_store_watch_cancel(mid.w);
}

static void test_compact_expired(void **state) {
  struct fx *f = *state;
  int64_t revs[5];
  for (int i = 0; i < 5; i++) {
    char key[32];
    snprintf(key, sizeof(key), "/cmp/%d", i);
    kube_store_record_t *r = must(f, W_CREATE, key, "v", 0);
    revs[i] = r->mod_revision;
    kube_store_record_unref(r);
  }
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_store_compact(f->s, revs[2], &err), 0);
  assert_int_equal(kube_store_compacted_revision(f->s), revs[2]);
  struct watcher w = {0};
  assert_null(kube_store_watch(f->s, "/cmp/", revs[1], watch_cb, &w, &err));
  assert_int_equal(err.reason, KUBE_REASON_EXPIRED);
  kube_error_clear(&err);
  w.w = kube_store_watch(f->s, "/cmp/", revs[2], watch_cb, &w, &err);
  assert_non_null(w.w);
  run_until(f, &w.n, 2);
  settle(f);
  assert_int_equal(w.n, 2);
  assert_int_equal(w.ev[0].revision, revs[3]);
  assert_int_equal(w.ev[1].revision, revs[4]);
  kube_store_watch_cancel(w.w);
  /* The future cannot be compacted. */
  assert_int_equal(kube_store_compact(f->s, revs[4] + 1000, &err), -1);
  kube_error_clear(&err);
  /* Reads are unaffected. */
  assert_int_equal(kube_store_count(f->s, "/cmp/"), 5);
}

static void test_history_limit(void **state) {
  struct fx *f = *state;
  kube_store_close(f->s);
  f->s = fx_open(f, 10);
  int64_t first = 0;
  for (int i = 0; i < 30; i++) {
    char key[32];
    snprintf(key, sizeof(key), "/h/%d", i);
    kube_store_record_t *r = must(f, W_CREATE, key, "v", 0);
    if (!first)
      first = r->mod_revision;
    kube_store_record_unref(r);
  }
  kube_error_t err = KUBE_ERROR_INIT;
  struct watcher w = {0};
  assert_null(kube_store_watch(f->s, "/h/", first, watch_cb, &w, &err));
  assert_int_equal(err.reason, KUBE_REASON_EXPIRED);
  kube_error_clear(&err);
  assert_true(kube_store_compacted_revision(f->s) > first);
  /* The newest 10 are still there. */
  w.w = kube_store_watch(f->s, "/h/", kube_store_revision(f->s) - 5, watch_cb,
                         &w, &err);
  assert_non_null(w.w);
  run_until(f, &w.n, 5);
  kube_store_watch_cancel(w.w);
}

/* The byte limit trims history before the count does, but never past an
 * event a live watcher has yet to receive. */
static void test_history_bytes(void **state) {
  struct fx *f = *state;
  kube_store_close(f->s);
  f->s = fx_open_bytes(f, 100000, 16 * 1024);
  char value[1024];
  memset(value, 'x', sizeof value - 1);
  value[sizeof value - 1] = '\0';
  kube_error_t err = KUBE_ERROR_INIT;
  struct watcher live = {0};
  live.w = kube_store_watch(f->s, "/hb/", 0, watch_cb, &live, &err);
  assert_non_null(live.w);
  int64_t first = 0;
  for (int i = 0; i < 60; i++) {
    char key[32];
    snprintf(key, sizeof(key), "/hb/%d", i);
    kube_store_record_t *r = must(f, W_CREATE, key, value, 0);
    if (!first)
      first = r->mod_revision;
    kube_store_record_unref(r);
  }
  /* Writes are acknowledged before the watcher runs: the live watcher
   * held the history back and still gets every event. */
  run_until(f, &live.n, 60);
  assert_int_equal(live.n, 60);
  kube_store_watch_cancel(live.w);
  /* One more write trims to ~16 KiB: the first changes are gone. */
  kube_store_record_unref(must(f, W_CREATE, "/hb/last", value, 0));
  struct watcher w = {0};
  assert_null(kube_store_watch(f->s, "/hb/", first, watch_cb, &w, &err));
  assert_int_equal(err.reason, KUBE_REASON_EXPIRED);
  kube_error_clear(&err);
  kube_strbuf_t m = KUBE_STRBUF_INIT;
  assert_int_equal(kube_store_metrics_write(f->s, &m), 0);
  const char *ev = strstr(m.data, "\nkube_store_watch_history_events ");
  const char *by = strstr(m.data, "\nkube_store_watch_history_bytes ");
  assert_non_null(ev);
  assert_non_null(by);
  long n = atol(ev + strlen("\nkube_store_watch_history_events "));
  long bytes = atol(by + strlen("\nkube_store_watch_history_bytes "));
  assert_true(n >= 5 && n < 20);
  assert_true(bytes <= 16 * 1024 && bytes > 4 * 1024);
  kube_strbuf_clear(&m);
  /* The newest changes are still there. */
  w.w = kube_store_watch(f->s, "/hb/", kube_store_revision(f->s) - 3,
                         watch_cb, &w, &err);
  assert_non_null(w.w);
  run_until(f, &w.n, 3);
  kube_store_watch_cancel(w.w);
}

static void test_watch_cancel_in_callback(void **state) {
  struct fx *f = *state;
  struct watcher once = {.cancel_on_first = true}, all = {0};
  kube_error_t err = KUBE_ERROR_INIT;
  once.w = kube_store_watch(f->s, "/cc/", 0, watch_cb, &once, &err);
  all.w = kube_store_watch(f->s, "/cc/", 0, watch_cb, &all, &err);
  assert_non_null(once.w);
  assert_non_null(all.w);
  for (int i = 0; i < 3; i++) {
    char key[32];
    snprintf(key, sizeof(key), "/cc/%d", i);
    kube_store_record_unref(must(f, W_CREATE, key, "v", 0));
  }
  run_until(f, &all.n, 3);
  settle(f);
  assert_int_equal(once.n, 1);
  assert_null(once.w);
  assert_int_equal(all.n, 3);
  kube_store_watch_cancel(all.w);
}

static void test_watch_ends_on_close(void **state) {
  struct fx *f = *state;
  struct watcher w = {0};
  w.w = kube_store_watch(f->s, "/", 0, watch_cb, &w, NULL);
  assert_non_null(w.w);
  kube_store_close(f->s);
  f->s = NULL;
  assert_int_equal(w.errors, 1);
  kube_store_watch_cancel(w.w); /* still ours to free */
  f->s = fx_open(f, 0);
}

struct many {
  size_t done, ok;
  int64_t *revs;
  kube_reason_t *reasons;
};

struct many_slot {
  struct many *m;
  size_t i;
};

static void many_cb(const kube_store_record_t *rec, const kube_error_t *err,
                    void *arg) {
  struct many_slot *slot = arg;
  struct many *m = slot->m;
  m->done++;
  if (rec) {
    m->ok++;
    m->revs[slot->i] = rec->mod_revision;
  } else {
    m->reasons[slot->i] = err->reason;
  }
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static void test_many_concurrent(void **state) {
  struct fx *f = *state;
  enum { N = 500 };
  struct many m = {0};
  m.revs = calloc(N, sizeof(int64_t));
  m.reasons = calloc(N, sizeof(kube_reason_t));
  struct many_slot *slots = calloc(N, sizeof(*slots));
  int64_t before = kube_store_revision(f->s);
  for (size_t i = 0; i < N; i++) {
    char key[32], val[64];
    snprintf(key, sizeof(key), "/many/%04zu", i);
    snprintf(val, sizeof(val), "{\"i\":%zu}", i);
    slots[i] = (struct many_slot){&m, i};
    kube_error_t err = KUBE_ERROR_INIT;
    assert_int_equal(kube_store_create(f->s, key, val, strlen(val), many_cb,
                                       &slots[i], &err),
                     0);
  }
  assert_int_equal(m.done, 0);
  run_until(f, &m.done, N);
  assert_int_equal(m.ok, N);
  for (size_t i = 0; i < N; i++) {
    char key[32];
    snprintf(key, sizeof(key), "/many/%04zu", i);
    kube_store_record_t *g = kube_store_get(f->s, key, NULL);
    assert_non_null(g);
    assert_int_equal(g->mod_revision, m.revs[i]);
    kube_store_record_unref(g);
  }
  qsort(m.revs, N, sizeof(int64_t), cmp_i64);
  assert_true(m.revs[0] > before);
  for (size_t i = 1; i < N; i++)
    assert_true(m.revs[i] > m.revs[i - 1]);
  assert_int_equal(kube_store_revision(f->s), m.revs[N - 1]);
  assert_int_equal(kube_store_count(f->s, "/many/"), N);
  free(m.revs);
  free(m.reasons);
  free(slots);
}

static void test_close_in_flight(void **state) {
  struct fx *f = *state;
  enum { N = 200 };
  struct many m = {0};
  m.revs = calloc(N, sizeof(int64_t));
  m.reasons = calloc(N, sizeof(kube_reason_t));
  struct many_slot *slots = calloc(N, sizeof(*slots));
  for (size_t i = 0; i < N; i++) {
    char key[32];
    snprintf(key, sizeof(key), "/fly/%04zu", i);
    slots[i] = (struct many_slot){&m, i};
    assert_int_equal(
        kube_store_create(f->s, key, "v", 1, many_cb, &slots[i], NULL), 0);
  }
  kube_store_close(f->s);
  f->s = NULL;
  assert_int_equal(m.done, N); /* every callback ran inside close */
  if (strcmp(backend, "etcd") != 0)
    assert_int_equal(m.ok, N);
  for (size_t i = 0; i < N; i++)
    if (!m.revs[i])
      assert_int_equal(m.reasons[i], KUBE_REASON_SERVICE_UNAVAILABLE);

  f->s = fx_open(f, 0);
  if (durable()) {
    for (size_t i = 0; i < N; i++) {
      if (!m.revs[i])
        continue;
      char key[32];
      snprintf(key, sizeof(key), "/fly/%04zu", i);
      kube_store_record_t *g = kube_store_get(f->s, key, NULL);
      assert_non_null(g);
      assert_int_equal(g->mod_revision, m.revs[i]);
      kube_store_record_unref(g);
    }
  }
  free(m.revs);
  free(m.reasons);
  free(slots);
}

static void test_reopen(void **state) {
  struct fx *f = *state;
  if (!durable())
    skip();
  enum { N = 40 };
  for (int i = 0; i < N; i++) {
    char key[32], val[32];
    snprintf(key, sizeof(key), "/re/%02d", i);
    snprintf(val, sizeof(val), "v%d", i);
    kube_store_record_unref(must(f, W_CREATE, key, val, 0));
  }
  for (int i = 0; i < N; i += 3)
    kube_store_record_unref(must(f, W_UPDATE, "/re/00", "again", 0));
  for (int i = 1; i < N; i += 4) {
    char key[32];
    snprintf(key, sizeof(key), "/re/%02d", i);
    kube_store_record_unref(must(f, W_DELETE, key, NULL, 0));
  }
  kube_store_list_t before;
  assert_int_equal(kube_store_list(f->s, "/re/", NULL, 0, &before, NULL), 0);
  int64_t rev = kube_store_revision(f->s);
  kube_store_close(f->s);
  f->s = fx_open(f, 0);
  assert_int_equal(kube_store_revision(f->s), rev);
  assert_int_equal(kube_store_compacted_revision(f->s), rev);
  kube_store_list_t after;
  assert_int_equal(kube_store_list(f->s, "/re/", NULL, 0, &after, NULL), 0);
  assert_int_equal(after.n, before.n);
  for (size_t i = 0; i < after.n; i++) {
    assert_string_equal(after.items[i]->key, before.items[i]->key);
    assert_int_equal(after.items[i]->value_len, before.items[i]->value_len);
    assert_memory_equal(after.items[i]->value, before.items[i]->value,
                        after.items[i]->value_len);
    assert_int_equal(after.items[i]->mod_revision,
                     before.items[i]->mod_revision);
    assert_int_equal(after.items[i]->create_revision,
                     before.items[i]->create_revision);
  }
  kube_store_list_clear(&before);
  kube_store_list_clear(&after);
  /* Older revisions are gone after a restart; the current one works. */
  kube_error_t err = KUBE_ERROR_INIT;
  assert_null(kube_store_watch(f->s, "/re/", rev - 1, watch_cb, NULL, &err));
  assert_int_equal(err.reason, KUBE_REASON_EXPIRED);
  kube_error_clear(&err);
  /* Revisions continue after the reopen. */
  kube_store_record_t *r = must(f, W_CREATE, "/re/new", "n", 0);
  assert_true(r->mod_revision > rev);
  kube_store_record_unref(r);
}

/* The revision survives reopens whether the latest write was a delete (the
 * record with the latest revision is gone) or a create. */
static void test_reopen_revision(void **state) {
  struct fx *f = *state;
  if (!durable())
    skip();
  kube_store_record_unref(must(f, W_CREATE, "/rr/a", "1", 0));
  kube_store_record_unref(must(f, W_CREATE, "/rr/b", "2", 0));
  kube_store_record_unref(must(f, W_DELETE, "/rr/b", NULL, 0));
  int64_t rev = kube_store_revision(f->s);
  kube_store_close(f->s);
  f->s = fx_open(f, 0);
  assert_int_equal(kube_store_revision(f->s), rev);
  kube_store_record_t *r = must(f, W_CREATE, "/rr/c", "3", 0);
  assert_int_equal(r->mod_revision, rev + 1);
  kube_store_record_unref(r);
  kube_store_close(f->s);
  f->s = fx_open(f, 0);
  assert_int_equal(kube_store_revision(f->s), rev + 1);
  r = must(f, W_UPDATE, "/rr/a", "4", 0);
  assert_int_equal(r->mod_revision, rev + 2);
  kube_store_record_unref(r);
}

/* A second store on the same data: sqlite refuses it (the first store's
 * cache must stay authoritative); etcd stores share the data and each one's
 * cache and watchers follow the other's writes. */
static void test_second_store(void **state) {
  struct fx *f = *state;
  if (!durable())
    skip();
  kube_store_options_t o = {.struct_size = sizeof(o)};
  o.backend = backend;
  o.path = f->path;
  o.etcd_endpoints = etcd.endpoint;
  o.etcd_prefix = f->prefix;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_store_t *other = kube_store_open(f->base_loop, &o, &err);
  if (!strcmp(backend, "sqlite")) {
    assert_null(other);
    assert_non_null(err.message);
    kube_error_clear(&err);
    return;
  }
  assert_non_null(other);
  struct watcher w = {0};
  w.w = kube_store_watch(f->s, "/two/", 0, watch_cb, &w, &err);
  assert_non_null(w.w);

  struct wres r = {0};
  assert_int_equal(kube_store_create(other, "/two/a", "A", 1, wcb, &r, &err),
                   0);
  run_until(f, &r.done, 1);
  assert_non_null(r.rec);
  run_until(f, &w.n, 1);
  assert_int_equal(w.ev[0].type, KUBE_STORE_EVENT_CREATE);
  assert_int_equal(w.ev[0].revision, r.rec->mod_revision);
  kube_store_record_t *g = kube_store_get(f->s, "/two/a", NULL);
  assert_non_null(g);
  assert_int_equal(g->mod_revision, r.rec->mod_revision);
  kube_store_record_unref(g);
  /* Conflicts are decided by etcd, across stores. */
  assert_int_equal(must_fail(f, W_CREATE, "/two/a", "B", 0),
                   KUBE_REASON_ALREADY_EXISTS);
  kube_store_record_t *u =
      must(f, W_UPDATE, "/two/a", "A2", r.rec->mod_revision);
  struct wres r2 = {0};
  assert_int_equal(kube_store_update(other, "/two/a", "A3", 2,
                                     r.rec->mod_revision, wcb, &r2, &err),
                   0);
  run_until(f, &r2.done, 1);
  assert_null(r2.rec);
  assert_int_equal(r2.reason, KUBE_REASON_CONFLICT);
  run_until(f, &w.n, 2);
  assert_int_equal(w.ev[1].type, KUBE_STORE_EVENT_UPDATE);
  assert_int_equal(w.ev[1].revision, u->mod_revision);
  assert_string_equal(w.ev[1].prev_value, "A");
  kube_store_record_unref(u);
  kube_store_record_unref(r.rec);
  kube_store_watch_cancel(w.w);
  kube_store_close(other);
}

/* etcd goes away and comes back (kill -9, same data): writes fail with
 * ServiceUnavailable meanwhile, then work again; the store's watch resumes
 * where it was, so a watcher misses nothing and sees nothing twice. */
static void test_etcd_outage(void **state) {
  struct fx *f = *state;
  if (strcmp(backend, "etcd") != 0)
    skip();
  struct watcher w = {0};
  kube_error_t err = KUBE_ERROR_INIT;
  w.w = kube_store_watch(f->s, "/out/", 0, watch_cb, &w, &err);
  assert_non_null(w.w);
  kube_store_record_t *a = must(f, W_CREATE, "/out/a", "1", 0);

  etcd_kill(&etcd);
  assert_int_equal(must_fail(f, W_CREATE, "/out/b", "2", 0),
                   KUBE_REASON_SERVICE_UNAVAILABLE);
  /* Reads keep working from the cache. */
  kube_store_record_t *g = kube_store_get(f->s, "/out/a", NULL);
  assert_non_null(g);
  kube_store_record_unref(g);

  assert_int_equal(etcd_restart(&etcd), 0);
  kube_store_record_t *c = must(f, W_CREATE, "/out/c", "3", 0);
  assert_true(c->mod_revision > a->mod_revision);
  g = kube_store_get(f->s, "/out/c", NULL);
  assert_non_null(g); /* read-your-writes across the reconnect */
  kube_store_record_unref(g);
  run_until(f, &w.n, 2);
  settle(f);
  assert_int_equal(w.n, 2);
  assert_int_equal(w.ev[0].revision, a->mod_revision);
  assert_int_equal(w.ev[1].revision, c->mod_revision);
  assert_int_equal(w.errors, 0);
  kube_store_record_unref(a);
  kube_store_record_unref(c);
  kube_store_watch_cancel(w.w);
}

/* sqlite: a write fails at the file-size limit (an I/O error the store
 * cannot decide around): that batch reports the error, the store refuses
 * further writes, and every write acknowledged before is still there after
 * a reopen.  Runs in a child process that gets RLIMIT_FSIZE. */
static int io_error_child(const char *path) {
  struct rlimit rl = {.rlim_cur = 1 << 20, .rlim_max = 1 << 20};
  signal(SIGXFSZ, SIG_IGN);
  if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
    return 10;
  kube_loop_t *base_loop = kube_loop_new(NULL);
  struct event_base *base = kube_loop_base(base_loop);
  kube_store_options_t o = {
      .struct_size = sizeof(o), .backend = "sqlite", .path = path};
  kube_store_t *s = kube_store_open(base_loop, &o, NULL);
  if (!s)
    return 11;
  char val[2048];
  memset(val, 'v', sizeof(val));
  int64_t acked = 0;
  for (int i = 0; i < 5000; i++) {
    char key[32];
    snprintf(key, sizeof(key), "/io/%05d", i);
    struct wres w = {0};
    if (kube_store_create(s, key, val, sizeof(val), wcb, &w, NULL) < 0)
      return 12;
    while (!w.done)
      event_base_loop(base, EVLOOP_ONCE);
    if (!w.rec) {
      /* The store is now broken: writes are refused up front. */
      kube_error_t err = KUBE_ERROR_INIT;
      struct wres w2 = {0};
      if (kube_store_create(s, "/io/after", "x", 1, wcb, &w2, &err) != -1 ||
          !err.message)
        return 13;
      kube_error_clear(&err);
      /* Reads still work. */
      if (acked && kube_store_count(s, "/io/") != (size_t)acked)
        return 14;
      kube_store_close(s);
      kube_loop_free(base_loop);
      return acked > 0 ? 0 : 15;
    }
    acked++;
    kube_store_record_unref(w.rec);
  }
  return 16; /* the limit never hit */
}

static void test_sqlite_io_error(void **state) {
  struct fx *f = *state;
  if (strcmp(backend, "sqlite") != 0)
    skip();
  char path[400];
  snprintf(path, sizeof(path), "%s-io", f->path);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(io_error_child(path));
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  /* Everything acknowledged is there; the failed write is not. */
  kube_loop_t *base_loop = kube_loop_new(NULL);
  kube_store_options_t o = {
      .struct_size = sizeof(o), .backend = "sqlite", .path = path};
  kube_store_t *s = kube_store_open(base_loop, &o, NULL);
  assert_non_null(s);
  size_t n = kube_store_count(s, "/io/");
  assert_true(n > 0);
  assert_int_equal(kube_store_revision(s), (int64_t)n);
  for (size_t i = 0; i < n; i++) {
    char key[32];
    snprintf(key, sizeof(key), "/io/%05zu", i);
    kube_store_record_t *r = kube_store_get(s, key, NULL);
    assert_non_null(r);
    assert_int_equal(r->mod_revision, (int64_t)i + 1);
    assert_int_equal(r->value_len, 2048);
    kube_store_record_unref(r);
  }
  kube_store_close(s);
  kube_loop_free(base_loop);
  const char *sfx[] = {"", "-wal", "-shm", ".lock"};
  for (int i = 0; i < 4; i++) {
    char p[420];
    snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
    unlink(p);
  }
}

/* Another etcd client writes two keys in one transaction: one revision,
 * two events; the store's cache and watchers get both. */
static void test_etcd_foreign_txn(void **state) {
  struct fx *f = *state;
  if (strcmp(backend, "etcd") != 0)
    skip();
  struct watcher w = {0};
  kube_error_t err = KUBE_ERROR_INIT;
  w.w = kube_store_watch(f->s, "/ft/", 0, watch_cb, &w, &err);
  assert_non_null(w.w);
  kube_strbuf_t b = KUBE_STRBUF_INIT;
  const char *keys[] = {"/ft/a", "/ft/b"};
  kube_strbuf_append(&b, "{\"success\":[");
  for (int i = 0; i < 2; i++) {
    char full[128];
    snprintf(full, sizeof(full), "%s%s", f->prefix, keys[i]);
    kube_strbuf_append(&b, i ? ",{\"request_put\":{\"key\":\""
                             : "{\"request_put\":{\"key\":\"");
    kube_strbuf_append_base64(&b, full, strlen(full));
    kube_strbuf_append(&b, "\",\"value\":\"");
    kube_strbuf_append_base64(&b, keys[i], strlen(keys[i]));
    kube_strbuf_append(&b, "\"}}");
  }
  kube_strbuf_append(&b, "]}");
  char resp[512];
  assert_int_equal(etcd_post(&etcd, "/v3/kv/txn", b.data, resp, sizeof(resp)),
                   200);
  kube_strbuf_clear(&b);
  run_until(f, &w.n, 2);
  assert_int_equal(w.ev[0].revision, w.ev[1].revision);
  assert_string_equal(w.ev[0].key, "/ft/a");
  assert_string_equal(w.ev[1].key, "/ft/b");
  assert_int_equal(kube_store_revision(f->s), w.ev[0].revision);
  assert_int_equal(kube_store_count(f->s, "/ft/"), 2);
  /* A watch started just before that revision gets both, too. */
  struct watcher w2 = {0};
  w2.w =
      kube_store_watch(f->s, "/ft/", w.ev[0].revision - 1, watch_cb, &w2, &err);
  assert_non_null(w2.w);
  run_until(f, &w2.n, 2);
  kube_store_record_t *c = must(f, W_UPDATE, "/ft/a", "new", 0);
  assert_true(c->mod_revision > w.ev[0].revision);
  run_until(f, &w.n, 3);
  run_until(f, &w2.n, 3);
  settle(f);
  assert_int_equal(w.n, 3);
  assert_int_equal(w2.n, 3);
  assert_string_equal(w.ev[2].prev_value, "/ft/a");
  kube_store_record_unref(c);
  kube_store_watch_cancel(w.w);
  kube_store_watch_cancel(w2.w);
}

static void loop_for(struct event_base *base, double secs) {
  struct timeval tv = {.tv_sec = (time_t)secs,
                       .tv_usec = (suseconds_t)((secs - (int)secs) * 1e6)};
  event_base_loopexit(base, &tv);
  event_base_dispatch(base);
}

/* The store's watch comes back after etcd compacted past it (another
 * store wrote and compacted meanwhile): the store lists again, its watchers
 * end with Expired, and it goes on from the new state. */
static void test_etcd_resync(void **state) {
  struct fx *f = *state;
  if (strcmp(backend, "etcd") != 0)
    skip();
  struct watcher w = {0};
  kube_error_t err = KUBE_ERROR_INIT;
  w.w = kube_store_watch(f->s, "/rs/", 0, watch_cb, &w, &err);
  assert_non_null(w.w);
  kube_store_record_unref(must(f, W_CREATE, "/rs/a", "1", 0));
  run_until(f, &w.n, 1);

  /* Drop the store's watch stream; f->base does not run until the other
   * store has written and compacted. */
  assert_int_equal(etcd_restart(&etcd), 0);
  kube_loop_t *base2_loop = kube_loop_new(NULL);
  struct event_base *base2 = kube_loop_base(base2_loop);
  kube_store_options_t o = {.struct_size = sizeof(o),
                            .backend = "etcd",
                            .etcd_endpoints = etcd.endpoint,
                            .etcd_prefix = f->prefix};
  kube_store_t *other = kube_store_open(base2_loop, &o, &err);
  assert_non_null(other);
  struct wres r = {0};
  for (int i = 0; i < 3; i++) {
    char key[32];
    snprintf(key, sizeof(key), "/rs/b%d", i);
    memset(&r, 0, sizeof(r));
    assert_int_equal(kube_store_create(other, key, "x", 1, wcb, &r, &err), 0);
    while (!r.done)
      event_base_loop(base2, EVLOOP_ONCE);
    assert_non_null(r.rec);
    if (i < 2)
      kube_store_record_unref(r.rec);
  }
  assert_int_equal(kube_store_compact(other, r.rec->mod_revision, &err), 0);
  loop_for(base2, 0.3); /* let the compaction request finish */
  kube_store_close(other);
  kube_loop_free(base2_loop);

  /* Now the first store reconnects, finds its revision compacted, relists. */
  run_until(f, &w.errors, 1);
  assert_int_equal(w.reason, KUBE_REASON_EXPIRED);
  assert_int_equal(w.n, 1);
  assert_int_equal(kube_store_revision(f->s), r.rec->mod_revision);
  assert_int_equal(kube_store_count(f->s, "/rs/"), 4);
  kube_store_watch_cancel(w.w);

  /* And carries on. */
  struct watcher w2 = {0};
  w2.w = kube_store_watch(f->s, "/rs/", 0, watch_cb, &w2, &err);
  assert_non_null(w2.w);
  kube_store_record_t *c = must(f, W_CREATE, "/rs/c", "c", 0);
  run_until(f, &w2.n, 1);
  assert_int_equal(w2.ev[0].revision, c->mod_revision);
  kube_store_record_unref(c);
  kube_store_record_unref(r.rec);
  kube_store_watch_cancel(w2.w);
}

/* The ordered map against a brute-force model: random puts and removes,
 * then order, lookups, prefix counts and seeks.  Backend-independent, so it
 * runs in the memory pass only. */
static int cmp_rec(const void *a, const void *b) {
  return strcmp((*(struct rec *const *)a)->pub.key,
                (*(struct rec *const *)b)->pub.key);
}

static void test_cache_model(void **state) {
  if (strcmp(backend, "memory") != 0)
    skip();
  enum { KEYS = 3000, OPS = 40000 };
  struct cache c = {0};
  static bool present[KEYS];
  memset(present, 0, sizeof(present));
  unsigned seed = 7;
  char key[32];
  size_t n = 0;
  for (int op = 0; op < OPS; op++) {
    int k = rand_r(&seed) % KEYS;
    snprintf(key, sizeof(key), "/m/%d/%d", k % 13, k);
    if (rand_r(&seed) % 3) {
      struct rec *r = store_rec_new(key, strlen(key), "v", 1, op + 1, op + 1);
      bool oom;
      struct rec *old = store_cache_put(&c, r, &oom);
      assert_false(oom);
      assert_true((old != NULL) == present[k]);
      store_rec_unref(old);
      if (!present[k])
        n++;
      present[k] = true;
    } else {
      struct rec *old = store_cache_remove(&c, key);
      assert_true((old != NULL) == present[k]);
      store_rec_unref(old);
      if (present[k])
        n--;
      present[k] = false;
    }
  }
  assert_int_equal(store_cache_size(&c), n);
  /* In-order walk equals the sorted model. */
  struct rec **model = calloc(n ? n : 1, sizeof(*model));
  size_t m = 0;
  for (int k = 0; k < KEYS; k++) {
    snprintf(key, sizeof(key), "/m/%d/%d", k % 13, k);
    struct rec *r = store_cache_find(&c, key);
    assert_true((r != NULL) == present[k]);
    if (r)
      model[m++] = r;
  }
  assert_int_equal(m, n);
  qsort(model, n, sizeof(*model), cmp_rec);
  struct cache_iter it;
  store_cache_iter_seek(&it, &c, "", false);
  for (size_t i = 0; i < n; i++)
    assert_ptr_equal(store_cache_iter_next(&it), model[i]);
  assert_null(store_cache_iter_next(&it));
  /* Prefix counts and seeks. */
  for (int p = 0; p < 13; p++) {
    char prefix[16];
    snprintf(prefix, sizeof(prefix), "/m/%d/", p);
    size_t expect = 0;
    for (size_t i = 0; i < n; i++)
      expect += strncmp(model[i]->pub.key, prefix, strlen(prefix)) == 0;
    assert_int_equal(store_cache_count_prefix(&c, prefix), expect);
    if (expect > 2) {
      /* Count after the second key of the prefix. */
      size_t first = 0;
      while (strncmp(model[first]->pub.key, prefix, strlen(prefix)) != 0)
        first++;
      assert_int_equal(
          store_cache_count_prefix_after(&c, prefix, model[first + 1]->pub.key),
          expect - 2);
      store_cache_iter_seek(&it, &c, model[first + 1]->pub.key, true);
      assert_ptr_equal(store_cache_iter_next(&it), model[first + 2]);
    }
  }
  free(model);
  store_cache_clear(&c);
  assert_int_equal(store_cache_size(&c), 0);
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw) {
  return remove(path);
}

int main(int argc, char **argv) {
  backend = argc > 1 ? argv[1] : "memory";
  if (strcmp(backend, "memory") && strcmp(backend, "sqlite") &&
      strcmp(backend, "etcd")) {
    fprintf(stderr, "usage: %s memory|sqlite|etcd\n", argv[0]);
    return 2;
  }
  const char *t = getenv("TMPDIR");
  snprintf(tmpdir, sizeof(tmpdir), "%s/kube-store-test-XXXXXX", t ? t : "/tmp");
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  if (!strcmp(backend, "etcd")) {
    if (!etcd_available()) {
      fprintf(stderr,
              "skip: %s is not installed (apt-get install "
              "etcd-server)\n",
              ETCD_BINARY);
      rmdir(tmpdir);
      return 77;
    }
    if (etcd_start(&etcd, tmpdir) < 0) {
      nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
      return 1;
    }
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_crud, setup, teardown),
      cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_when_settled, setup, teardown),
      cmocka_unit_test_setup_teardown(test_revisions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_list, setup, teardown),
      cmocka_unit_test_setup_teardown(test_watch_live, setup, teardown),
      cmocka_unit_test_setup_teardown(test_watch_replay, setup, teardown),
      cmocka_unit_test_setup_teardown(test_compact_expired, setup, teardown),
      cmocka_unit_test_setup_teardown(test_history_limit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_history_bytes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_watch_cancel_in_callback, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_watch_ends_on_close, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_many_concurrent, setup, teardown),
      cmocka_unit_test_setup_teardown(test_close_in_flight, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reopen_revision, setup, teardown),
      cmocka_unit_test_setup_teardown(test_second_store, setup, teardown),
      cmocka_unit_test(test_cache_model),
      cmocka_unit_test_setup_teardown(test_sqlite_io_error, setup, teardown),
      cmocka_unit_test_setup_teardown(test_etcd_foreign_txn, setup, teardown),
      /* Last: these restart the shared etcd. */
      cmocka_unit_test_setup_teardown(test_etcd_resync, setup, teardown),
      cmocka_unit_test_setup_teardown(test_etcd_outage, setup, teardown),
  };
  char name[64];
  snprintf(name, sizeof(name), "store-%s", backend);
  int rc = cmocka_run_group_tests_name(name, tests, NULL, NULL);
  if (!strcmp(backend, "etcd"))
    etcd_stop(&etcd);
  nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return rc;
}
