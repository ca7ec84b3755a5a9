/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Watch: a ring of the most recent changes (each holds references to its
 * records) and the watchers, which are positions in that ring.  Delivery
 * always runs from one deferred event on the loop, never inside the call
 * that caused it, so a callback may write, watch or cancel freely.
 *
 * The ring is trimmed to `history` entries, but never past an entry a live
 * watcher has yet to receive: a registered watcher never loses events; only
 * new watches that start before the compacted revision get Expired.
 */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

/* Events delivered per dispatch run before yielding to the loop. */
#define DISPATCH_BUDGET 20000

static struct hist_event *hist_at(struct history *h, size_t i) {
  return &h->ev[(h->head + i) % h->cap];
}

static int hist_grow(struct history *h) {
  size_t ncap = h->cap ? h->cap * 2 : 1024;
  struct hist_event *nev = malloc(ncap * sizeof(*nev));
  if (!nev)
    return -1;
  for (size_t i = 0; i < h->n; i++)
    nev[i] = *hist_at(h, i);
  free(h->ev);
  h->ev = nev;
  h->cap = ncap;
  h->head = 0;
  return 0;
}

/* What an event holds on to: its record (the previous one is the record of
 * an earlier event, or of the cache). */
static size_t hist_bytes(const struct hist_event *e) {
  return e->rec ? sizeof *e->rec + e->rec->pub.value_len : 0;
}

static void hist_drop_head(struct history *h) {
  struct hist_event *e = hist_at(h, 0);
  h->bytes -= hist_bytes(e);
  store_rec_unref(e->rec);
  store_rec_unref(e->prev);
  h->head = (h->head + 1) % h->cap;
  h->n--;
}

/* Index of the first event with revision >= rev (h->n when none). */
static size_t hist_lower_bound(struct history *h, int64_t rev) {
  size_t lo = 0, hi = h->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (hist_at(h, mid)->revision < rev)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Smallest revision a live watcher still needs (INT64_MAX when none). */
static int64_t min_watcher_rev(kube_store_t *s) {
  int64_t min = INT64_MAX;
  for (struct kube_store_watch *w = s->watchers; w; w = w->next_w)
    if (!w->dead && !w->ended && w->next_rev < min)
      min = w->next_rev;
  return min;
}

void store_history_trim(kube_store_t *s) {
  struct history *h = &s->hist;
  int64_t keep_from = -1;
  while (h->n > 0) {
    struct hist_event *e = hist_at(h, 0);
    bool over = h->n > (size_t)s->history_max ||
                (s->history_bytes_max > 0 &&
                 h->bytes > (size_t)s->history_bytes_max) ||
                e->revision <= s->compact_rev;
    if (!over)
      break;
    if (keep_from < 0)
      keep_from = min_watcher_rev(s);
    if (e->revision >= keep_from)
      break;
    if (e->revision > s->compact_rev)
      s->compact_rev = e->revision;
    hist_drop_head(h);
  }
}

int store_history_append(kube_store_t *s, kube_store_event_type_t type,
                         struct rec *rec, struct rec *prev) {
  struct history *h = &s->hist;
  if (h->n == h->cap && hist_grow(h) < 0)
    return -1;
  struct hist_event *e = &h->ev[(h->head + h->n) % h->cap];
  e->type = type;
  e->revision = rec->pub.mod_revision;
  e->rec = rec;
  e->prev = prev;
  h->n++;
  h->bytes += hist_bytes(e);
  if (h->n > (size_t)s->history_max ||
      (s->history_bytes_max > 0 && h->bytes > (size_t)s->history_bytes_max))
    store_history_trim(s);
  return 0;
}

void store_history_clear(kube_store_t *s) {
  while (s->hist.n)
    hist_drop_head(&s->hist);
  free(s->hist.ev);
  memset(&s->hist, 0, sizeof(s->hist));
}

void store_watch_schedule(kube_store_t *s) {
  if (s->watchers && s->dispatch_ev)
    event_active(s->dispatch_ev, EV_TIMEOUT, 0);
}

static void watch_unlink(kube_store_t *s, struct kube_store_watch *w) {
  if (w->prev_w)
    w->prev_w->next_w = w->next_w;
  else if (s->watchers == w)
    s->watchers = w->next_w;
  if (w->next_w)
    w->next_w->prev_w = w->prev_w;
  w->prev_w = w->next_w = NULL;
}

static void watch_free(struct kube_store_watch *w) {
  free(w->prefix);
  free(w);
}

/* Free watchers cancelled while the dispatcher was running. */
static void reap(kube_store_t *s) {
  if (!s->watchers_dirty || s->dispatching)
    return;
  s->watchers_dirty = false;
  struct kube_store_watch *w = s->watchers;
  while (w) {
    struct kube_store_watch *next = w->next_w;
    if (w->dead) {
      watch_unlink(s, w);
      watch_free(w);
    }
    w = next;
  }
}

static void dispatch_cb(evutil_socket_t fd, short what, void *arg) {
  kube_store_t *s = arg;
  struct history *h = &s->hist;
  size_t budget = DISPATCH_BUDGET;
  bool more = false;

  s->dispatching++;
  for (struct kube_store_watch *w = s->watchers; w; w = w->next_w) {
    if (w->dead || w->ended)
      continue;
    size_t i = hist_lower_bound(h, w->next_rev) + w->skip;
    while (!w->dead && i < h->n) {
      if (budget == 0) {
        more = true;
        break;
      }
      /* Copy: a callback may write, which may grow the ring. */
      struct hist_event e = *hist_at(h, i);
      /* Several events can share a revision (an etcd transaction written by
       * another client touching several keys): count them off. */
      if (e.revision == w->next_rev) {
        w->skip++;
      } else {
        w->next_rev = e.revision;
        w->skip = 1;
      }
      i++;
      if (strncmp(e.rec->pub.key, w->prefix, w->prefix_len) != 0)
        continue;
      budget--;
      kube_store_event_t ev = {
          .type = e.type,
          .revision = e.revision,
          .rec = &e.rec->pub,
          .prev = e.prev ? &e.prev->pub : NULL,
      };
      /* The callback may append events (more writes); keep the records of
       * this one alive across it regardless of trimming. */
      rec_ref(e.rec);
      rec_ref(e.prev);
      w->cb(&ev, NULL, w->arg);
      store_rec_unref(e.rec);
      store_rec_unref(e.prev);
      /* Appends may have re-laid the ring; find our place again. */
      i = hist_lower_bound(h, w->next_rev) + w->skip;
    }
  }
  s->dispatching--;
  reap(s);
  store_history_trim(s);
  if (more)
    store_watch_schedule(s);
}

int store_watch_init(kube_store_t *s, kube_error_t *err) {
  s->dispatch_ev = event_new(s->base, -1, 0, dispatch_cb, s);
  if (!s->dispatch_ev)
    return kube_make_oom(err);
  return 0;
}

void store_watch_end_all(kube_store_t *s, kube_reason_t reason,
                         const char *msg) {
  kube_error_t e = KUBE_ERROR_INIT;
  kube_error_set(&e, reason, 0, "%s", msg);
  s->dispatching++;
  for (struct kube_store_watch *w = s->watchers; w; w = w->next_w) {
    if (w->dead || w->ended)
      continue;
    w->ended = true;
    w->cb(NULL, &e, w->arg);
  }
  s->dispatching--;
  kube_error_clear(&e);
  reap(s);
}

KUBE_EXPORT kube_store_watch_t *
kube_store_watch(kube_store_t *s, const char *prefix, int64_t from_revision,
                 kube_store_watch_cb cb, void *arg, kube_error_t *err) {
  if (!s || !cb) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "watch: store and callback are required");
    return NULL;
  }
  if (s->closing) {
    kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                   "watch: store is closing");
    return NULL;
  }
  if (from_revision < 0) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "watch: negative revision %lld", (long long)from_revision);
    return NULL;
  }
  if (from_revision == 0)
    from_revision = s->revision;
  if (from_revision < s->compact_rev) {
    kube_error_set(err, KUBE_REASON_EXPIRED, 0,
                   "too old resource version: %lld (%lld)",
                   (long long)from_revision, (long long)s->compact_rev);
    return NULL;
  }
  struct kube_store_watch *w = calloc(1, sizeof(*w));
  if (!w || !(w->prefix = strdup(prefix ? prefix : ""))) {
    free(w);
    kube_make_oom(err);
    return NULL;
  }
  w->store = s;
  w->prefix_len = strlen(w->prefix);
  w->next_rev = from_revision + 1;
  w->cb = cb;
  w->arg = arg;
  w->next_w = s->watchers;
  if (s->watchers)
    s->watchers->prev_w = w;
  s->watchers = w;
  if (w->next_rev <= s->revision)
    store_watch_schedule(s);
  return w;
}

KUBE_EXPORT void kube_store_watch_cancel(kube_store_watch_t *w) {
  if (!w)
    return;
  kube_store_t *s = w->store;
  if (!s) {
    /* The store is gone (closed); the handle is ours alone. */
    watch_free(w);
    return;
  }
  if (s->dispatching) {
    w->dead = true;
    s->watchers_dirty = true;
    return;
  }
  watch_unlink(s, w);
  watch_free(w);
  /* Watchers hold back trimming; let the ring shrink now. */
  store_history_trim(s);
}

/* Detach every watcher from a closing store: they stay valid handles that
 * kube_store_watch_cancel frees. */
void store_watch_detach_all(kube_store_t *s) {
  struct kube_store_watch *w = s->watchers;
  while (w) {
    struct kube_store_watch *next = w->next_w;
    w->prev_w = w->next_w = NULL;
    if (w->dead)
      watch_free(w);
    else
      w->store = NULL;
    w = next;
  }
  s->watchers = NULL;
}
