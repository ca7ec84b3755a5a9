/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Store housekeeping that kube-apiserver does (component "housekeeping"):
 *
 *  - Event TTL (--event-ttl, default 1h): kube-apiserver writes each Event
 *    with an etcd lease of the TTL, so an Event goes TTL after its last
 *    write.  Here the component samples (time, store revision) on every
 *    tick; an Event whose record was last written at or before the newest
 *    sample at least TTL old is deleted, by compare-and-swap on that
 *    revision so a newer write (count++) wins.  Both Event storages are
 *    swept (core/v1 and events.k8s.io/v1).
 *  - Compaction (--etcd-compaction-interval, default 5m): every interval
 *    the store's history is compacted to the revision seen one interval
 *    before, as kube-apiserver's compactor does, so watchers can resume
 *    from anything younger than one interval and the history (and etcd's)
 *    does not grow until its count and byte bounds.
 *
 * Ticks run on the server's loop, every quarter of the shorter period,
 * between 1 s and 60 s.  The sweep reads the store's cache (no JSON is
 * parsed) and queues deletes; failures are logged and retried next tick.
 */
#include <time.h>

#include <libkube/store.h>

#include "server/internal.h"

#define EVENT_PREFIXES_N 2
static const char *const event_prefixes[EVENT_PREFIXES_N] = {
    "/registry/core/events/", "/registry/events.k8s.io/events/"};

struct sample {
  int64_t t_ms;
  int64_t rev;
};

struct housekeeping {
  kube_store_t *store;
  kube_timer_t *timer;
  int64_t ttl_ms;     /* <= 0: Events never expire */
  int64_t compact_ms; /* <= 0: no compaction */
  int64_t tick_ms;
  /* Samples, oldest first; a ring of cap entries. */
  struct sample *ring;
  size_t cap, head, n;
  int64_t last_compact_ms, compact_to; /* the revision one interval ago */
};

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sample_push(struct housekeeping *h, int64_t t, int64_t rev) {
  if (h->n == h->cap) {
    h->head = (h->head + 1) % h->cap;
    h->n--;
  }
  h->ring[(h->head + h->n) % h->cap] = (struct sample){t, rev};
  h->n++;
}

/* No argument: a delete may complete after the component was freed (the
 * store finishes queued writes at its close, after the components). */
static void deleted_cb(const kube_store_record_t *rec, const kube_error_t *err,
                       void *arg) {
  (void)arg;
  if (!rec && err && err->reason != KUBE_REASON_NOT_FOUND &&
      err->reason != KUBE_REASON_CONFLICT)
    kube_log(KUBE_LOG_WARNING, "housekeeping: deleting an expired event: %s",
             err->message ? err->message : "failed");
}

/* The revision of the newest sample taken at or before `t` (0: none). */
static int64_t revision_at(const struct housekeeping *h, int64_t t) {
  int64_t rev = 0;
  for (size_t i = 0; i < h->n; i++) {
    const struct sample *s = &h->ring[(h->head + i) % h->cap];
    if (s->t_ms > t)
      break;
    rev = s->rev;
  }
  return rev;
}

static void sweep_events(struct housekeeping *h, int64_t cutoff) {
  for (size_t p = 0; p < EVENT_PREFIXES_N; p++) {
    kube_store_list_t l = {0};
    kube_error_t e = KUBE_ERROR_INIT;
    if (kube_store_list(h->store, event_prefixes[p], NULL, 0, &l, &e) < 0) {
      kube_log(KUBE_LOG_WARNING, "housekeeping: listing events: %s",
               e.message);
      kube_error_clear(&e);
      continue;
    }
    for (size_t i = 0; i < l.n; i++) {
      const kube_store_record_t *r = l.items[i];
      if (r->mod_revision > cutoff)
        continue;
      if (kube_store_delete(h->store, r->key, r->mod_revision, deleted_cb, NULL,
                            &e) < 0) {
        kube_log(KUBE_LOG_WARNING, "housekeeping: deleting %s: %s", r->key,
                 e.message);
        kube_error_clear(&e);
        break; /* store closing or broken: next tick */
      }
    }
    kube_store_list_clear(&l);
  }
}

static void compact(struct housekeeping *h, int64_t t) {
  int64_t rev = kube_store_revision(h->store);
  if (h->last_compact_ms == 0) {
    h->last_compact_ms = t;
    h->compact_to = rev;
    return;
  }
  if (t - h->last_compact_ms < h->compact_ms)
    return;
  if (h->compact_to > kube_store_compacted_revision(h->store)) {
    kube_error_t e = KUBE_ERROR_INIT;
    if (kube_store_compact(h->store, h->compact_to, &e) < 0) {
      kube_log(KUBE_LOG_WARNING, "housekeeping: compaction to %lld: %s",
               (long long)h->compact_to, e.message);
      kube_error_clear(&e);
    } else {
      kube_log(KUBE_LOG_DEBUG, "housekeeping: compacted to revision %lld",
               (long long)h->compact_to);
    }
  }
  h->last_compact_ms = t;
  h->compact_to = rev;
}

static void tick(void *arg) {
  struct housekeeping *h = arg;
  int64_t t = now_ms();
  sample_push(h, t, kube_store_revision(h->store));
  if (h->ttl_ms > 0) {
    int64_t cutoff = revision_at(h, t - h->ttl_ms);
    if (cutoff > 0)
      sweep_events(h, cutoff);
  }
  if (h->compact_ms > 0)
    compact(h, t);
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

void *srv_housekeeping_new(int64_t event_ttl_ms, int64_t compaction_ms,
                           kube_error_t *err) {
  struct housekeeping *h = calloc(1, sizeof *h);
  if (!h) {
    kube_make_oom(err);
    return NULL;
  }
  h->ttl_ms = event_ttl_ms;
  h->compact_ms = compaction_ms;
  int64_t shortest = 0;
  if (h->ttl_ms > 0)
    shortest = h->ttl_ms;
  if (h->compact_ms > 0 && (!shortest || h->compact_ms < shortest))
    shortest = h->compact_ms;
  h->tick_ms = clamp(shortest / 4, 1000, 60000);
  /* Enough samples to look one TTL back, plus slack. */
  h->cap = (size_t)(h->ttl_ms > 0 ? h->ttl_ms / h->tick_ms : 0) + 4;
  if (!(h->ring = calloc(h->cap, sizeof *h->ring))) {
    free(h);
    kube_make_oom(err);
    return NULL;
  }
  return h;
}

static int hk_init(void *impl, kube_server_t *srv, kube_error_t *err) {
  struct housekeeping *h = impl;
  h->store = kube_server_store(srv);
  if (!(h->timer = kube_timer_new(kube_server_loop(srv), tick, h, err)))
    return kube_error_wrap(err, "housekeeping");
  return 0;
}

static int hk_start(void *impl, kube_error_t *err) {
  struct housekeeping *h = impl;
  if (h->ttl_ms > 0 || h->compact_ms > 0) {
    tick(h); /* the first sample: revision at start */
    kube_timer_arm_periodic(h->timer, h->tick_ms);
  }
  return 0;
}

static void hk_stop(void *impl) {
  struct housekeeping *h = impl;
  kube_timer_free(h->timer);
  h->timer = NULL;
}

static void hk_free(void *impl) {
  struct housekeeping *h = impl;
  if (!h)
    return;
  hk_stop(h);
  free(h->ring);
  free(h);
}

const kube_component_ops_t srv_housekeeping_ops = {
    .version = KUBE_COMPONENT_OPS_VERSION,
    .name = "housekeeping",
    .init = hk_init,
    .start = hk_start,
    .stop = hk_stop,
    .free = hk_free,
};
