/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Trees of pods just created, kept for the binding that follows (the
 * scheduler binds a pod a few milliseconds after its create): the binding
 * takes the tree the create built instead of parsing the stored text
 * again.  A tree is kept only when the stored text was written from it as
 * it is (apiVersion, kind, metadata first, no resourceVersion), so it is
 * the tree a parse of the record would give; it is found by the record's
 * key and revision, so any later write of the object makes it miss.  A
 * bounded ring; entries older than RECENT_TTL_NS go at the next use.
 *
 * Holding trees costs the allocator its last-in first-out reuse (creates
 * with nobody binding them, as with --disable-scheduler, measured 20 us
 * more CPU each): when fewer than half the trees kept over a window of
 * RECENT_WINDOW creates were taken, only the first create of a window
 * keeps its tree, until one is taken again.
 */
#include "apiserver/internal.h"

#define RECENT_MAX 64
/* Puts per look at whether the trees are taken. */
#define RECENT_WINDOW 64
#define RECENT_TTL_NS (2 * 1000000000LL)

struct as_recent_entry {
  char *key;
  int64_t rev;
  int64_t at;
  json_object *tree;
};

struct as_recent {
  struct as_recent_entry v[RECENT_MAX];
  size_t next;
  unsigned seen, kept, taken; /* in this window */
  bool sparse;                /* keep one tree per window */
};

static void entry_drop(struct as_recent_entry *e) {
  free(e->key);
  json_object_put(e->tree);
  memset(e, 0, sizeof(*e));
}

static void expire(struct as_recent *rc, int64_t now) {
  for (size_t i = 0; i < RECENT_MAX; i++)
    if (rc->v[i].tree && now - rc->v[i].at > RECENT_TTL_NS)
      entry_drop(&rc->v[i]);
}

void as_recent_put(kube_apiserver_t *srv, const char *key, int64_t rev,
                   json_object *tree) {
  if (!srv->recent && !(srv->recent = calloc(1, sizeof(*srv->recent)))) {
    json_object_put(tree);
    return;
  }
  struct as_recent *rc = srv->recent;
  if (++rc->seen >= RECENT_WINDOW) {
    rc->sparse = rc->taken * 2 < rc->kept;
    rc->seen = rc->kept = rc->taken = 0;
  }
  if (rc->sparse && rc->seen % RECENT_WINDOW) {
    json_object_put(tree);
    return;
  }
  rc->kept++;
  int64_t now = kube_time_mono_ns();
  expire(rc, now);
  struct as_recent_entry *e = &rc->v[rc->next];
  rc->next = (rc->next + 1) % RECENT_MAX;
  entry_drop(e);
  if (!(e->key = strdup(key))) {
    json_object_put(tree);
    return;
  }
  e->rev = rev;
  e->at = now;
  e->tree = tree;
}

json_object *as_recent_take(kube_apiserver_t *srv, const char *key,
                            int64_t rev) {
  struct as_recent *rc = srv->recent;
  if (!rc)
    return NULL;
  expire(rc, kube_time_mono_ns());
  for (size_t i = 0; i < RECENT_MAX; i++) {
    struct as_recent_entry *e = &rc->v[i];
    if (e->tree && e->rev == rev && streq(e->key, key)) {
      json_object *t = e->tree;
      e->tree = NULL;
      entry_drop(e);
      rc->taken++;
      return t;
    }
  }
  return NULL;
}

void as_recent_free(kube_apiserver_t *srv) {
  if (!srv->recent)
    return;
  for (size_t i = 0; i < RECENT_MAX; i++)
    entry_drop(&srv->recent->v[i]);
  free(srv->recent);
  srv->recent = NULL;
}
