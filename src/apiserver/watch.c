/* SPDX-License-Identifier: Apache-2.0 */
/* Watches.  One store watch per resource (a hub) fans each change out to
 * every HTTP watcher of that resource: the record is parsed and encoded
 * once per event, whatever the number of watchers.  A watcher that starts
 * from a revision the hub has already passed gets its own store watch,
 * which replays history (or reports 410 Expired). */
#include <strings.h>
#include <time.h>

#include "apiserver/internal.h"

#define BOOKMARK_INTERVAL_SEC 30

struct watcher {
  struct req *r;
  struct hub *hub;         /* attached hub, or NULL */
  kube_store_watch_t *own; /* dedicated store watch, or NULL */
  const kube_kind_t *k;
  char *key_prefix; /* namespace / single-object filter */
  bool key_exact;
  struct filter f;
  bool filtering;
  int64_t from; /* deliver revisions > from */
  int64_t last; /* last revision known delivered */
  bool table;
  bool objects; /* in-process: takes events as objects (stream_event) */
  int include;
  bool ended;
  bool slow; /* over the backlog limit: end it */
  struct event *timeout_ev;
  struct event *bookmark_ev;
  TAILQ_ENTRY(watcher) hub_link;
  TAILQ_ENTRY(watcher) all_link;
};
TAILQ_HEAD(watcher_list, watcher);

struct hub {
  kube_apiserver_t *srv;
  const kube_kind_t *k;
  char *prefix;
  kube_store_watch_t *sw;
  int64_t rev;
  struct watcher_list watchers;
  size_t n_objects; /* watchers that take objects */
  struct hub *next;
};

/* All watchers of all servers (a process rarely has more than one). */
static struct watcher_list all_watchers = TAILQ_HEAD_INITIALIZER(all_watchers);
/* Thousands of slow watchers must not mean thousands of log lines. */
static struct core_ratelimit slow_rl = CORE_RATELIMIT_INIT(5000, 5);
static struct core_ratelimit budget_rl = CORE_RATELIMIT_INIT(5000, 5);

/* One event, decoded lazily and shared by every watcher it goes to. */
struct ev_cache {
  const kube_store_event_t *ev;
  const kube_kind_t *k;
  json_object *cur;  /* object at this revision (for DELETE: last state) */
  /* The write's object as served, less managedFields (watch-trees.c):
   * handed to in-process watchers, and cur when at hand (cur_lean). */
  json_object *lean;
  bool cur_lean;
  json_object *full; /* cur with managedFields, when cur is lean */
  json_object *prev; /* previous state, resourceVersion = this revision */
  char *cur_json;    /* encoded cur: owned, or inside lines[] (cur_in_line) */
  size_t cur_len;
  bool cur_in_line;
  bool cur_failed; /* the record cannot be served */
  char *prev_json;
  size_t prev_len;
  /* Whole event lines, built once for every watcher of the event. */
  kube_strbuf_t lines[4];
};

enum { LINE_ADDED, LINE_MODIFIED, LINE_DELETED, LINE_DELETED_PREV };

static json_object *tree_at(const kube_store_record_t *rec, int64_t rev,
                            const kube_kind_t *k) {
  json_object *o = as_record_parse(rec, NULL);
  if (!o)
    return NULL;
  if (!json_object_is_type(o, json_type_object)) {
    json_object_put(o);
    return NULL;
  }
  as_tree_set_rv(o, rev);
  if (as_record_needs_conversion(rec, k))
    as_tree_set_api_version(o, k, false);
  return o;
}

/* The served JSON of a record at `rev`, spliced from the stored text
 * without a parse (as GET and LIST serve it); owned, NULL on failure. */
static char *json_at(const kube_store_record_t *rec, int64_t rev, size_t *len,
                     const kube_kind_t *k) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  if (!rec->value || !rec->value_len ||
      as_record_append_json_for(&sb, rec, rev, k) < 0 || sb.oom) {
    kube_strbuf_clear(&sb);
    return NULL;
  }
  *len = sb.len;
  return kube_strbuf_steal(&sb);
}

static const char *encode(json_object *o, size_t *len) {
  return json_object_to_json_string_length(
      o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
}

/* The tree of the object for selectors and tables: managedFields play no
 * part there, so the write's copy serves when at hand. */
static json_object *cache_cur(struct ev_cache *c) {
  if (!c->cur && c->lean) {
    c->cur = json_object_get(c->lean);
    c->cur_lean = true;
  }
  if (!c->cur)
    c->cur = tree_at(c->ev->rec, c->ev->revision, c->k);
  return c->cur;
}

/* The served JSON when splicing the stored text failed: encoded from a
 * full tree (cur has no managedFields when it is the write's copy). */
static json_object *cache_full(struct ev_cache *c) {
  if (!c->cur_lean)
    return cache_cur(c);
  if (!c->full)
    c->full = tree_at(c->ev->rec, c->ev->revision, c->k);
  return c->full;
}

static void cache_encode_cur(struct ev_cache *c) {
  json_object *full = cache_full(c);
  const char *s = full ? encode(full, &c->cur_len) : NULL;
  c->cur_json = s ? strndup(s, c->cur_len) : NULL;
}

/* The served JSON of the event's object (json_at), spliced straight into
 * the line of `slot` when that line is still to build: one buffer and one
 * copy of the object instead of two.  False when the record cannot be
 * spliced (c->cur_json stays NULL). */
static bool cache_json_in_line(struct ev_cache *c, int slot, const char *type) {
  if (c->cur_json)
    return true;
  kube_strbuf_t *line = &c->lines[slot];
  const kube_store_record_t *rec = c->ev->rec;
  if (line->len) {
    c->cur_json = json_at(rec, c->ev->revision, &c->cur_len, c->k);
    return c->cur_json != NULL;
  }
  if (!rec->value || !rec->value_len)
    return false;
  size_t tl = strlen(type);
  /* One allocation: the stored text, the line's frame and the
   * resourceVersion spliced in. */
  core_strbuf_reserve(line, rec->value_len + tl + 64);
  kube_strbuf_append(line, "{\"type\":\"");
  kube_strbuf_append_len(line, type, tl);
  kube_strbuf_append(line, "\",\"object\":");
  size_t at = line->len;
  if (as_record_append_json_for(line, rec, c->ev->revision, c->k) < 0 ||
      line->oom) {
    kube_strbuf_reset(line);
    return false;
  }
  c->cur_len = line->len - at;
  kube_strbuf_append(line, "}\n");
  if (line->oom) {
    kube_strbuf_reset(line);
    return false;
  }
  c->cur_json = line->data + at;
  c->cur_in_line = true;
  return true;
}

static json_object *cache_prev(struct ev_cache *c) {
  if (!c->prev && c->ev->prev)
    c->prev = tree_at(c->ev->prev, c->ev->revision, c->k);
  return c->prev;
}

static void cache_clear(struct ev_cache *c) {
  if (c->cur)
    json_object_put(c->cur);
  json_object_put(c->lean);
  json_object_put(c->full);
  if (c->prev)
    json_object_put(c->prev);
  if (!c->cur_in_line)
    free(c->cur_json);
  free(c->prev_json);
  for (size_t i = 0; i < ARRAY_SIZE(c->lines); i++)
    kube_strbuf_clear(&c->lines[i]);
}

static void build_line(kube_strbuf_t *sb, const char *type, const char *obj,
                       size_t len) {
  core_strbuf_reserve(sb, len + strlen(type) + 24); /* one allocation */
  kube_strbuf_printf(sb, "{\"type\":\"%s\",\"object\":", type);
  kube_strbuf_append_len(sb, obj, len);
  kube_strbuf_append(sb, "}\n");
}

static void send_raw(struct watcher *w, const char *data, size_t len) {
  if (w->slow)
    return; /* ended after this event: nothing more to queue */
  w->r->tp->stream_chunk(w->r, data, len);
  size_t backlog = w->r->tp->backlog ? w->r->tp->backlog(w->r) : 0;
  if (backlog > w->r->srv->watch_max_backlog) {
    core_log_ratelimited(&slow_rl, KUBE_LOG_WARNING,
                         "apiserver: watch of %s is %zu bytes behind, "
                         "closing it",
                         w->k->resource, backlog);
    w->slow = true;
  }
}

static void send_line(struct watcher *w, const char *type, const char *obj,
                      size_t len) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  build_line(&sb, type, obj, len);
  if (!sb.oom)
    send_raw(w, sb.data, sb.len);
  kube_strbuf_clear(&sb);
}

static void send_object(struct watcher *w, const char *type, json_object *obj,
                        const char *json, size_t len) {
  if (w->table) {
    json_object *t = as_table_new(w->k);
    as_table_add_row(t, w->k, obj, time(NULL), w->include);
    const char *rv = kube_json_get_string(obj, "metadata.resourceVersion");
    if (rv)
      json_object_object_add(kube_json_get(t, "metadata"), "resourceVersion",
                             json_object_new_string(rv));
    size_t tl = 0;
    const char *ts = encode(t, &tl);
    if (ts)
      send_line(w, type, ts, tl);
    json_object_put(t);
    return;
  }
  if (!json) {
    json = encode(obj, &len);
    if (!json)
      return;
  }
  send_line(w, type, json, len);
}

/* One event line to one watcher, through the event's line cache. */
static void emit(struct watcher *w, struct ev_cache *c, int slot,
                 const char *type, json_object *obj, const char *json,
                 size_t len) {
  /* Whole objects go out with their managedFields (a Table row's too). */
  if (obj && obj == c->cur && c->cur_lean &&
      (!json || (w->table && w->include == INCLUDE_OBJECT)))
    obj = cache_full(c);
  if (w->table || !json) {
    if (obj)
      send_object(w, type, obj, json, len);
    return;
  }
  kube_strbuf_t *line = &c->lines[slot];
  if (!line->len)
    build_line(line, type, json, len);
  if (line->oom)
    return;
  /* The write's object, shared by the in-process watchers (never for
   * the previous state a DELETED of a selection carries). */
  if (w->objects && c->lean && slot != LINE_DELETED_PREV) {
    if (!w->slow)
      w->r->tp->stream_event(w->r, type, c->lean, line->data, line->len);
    return;
  }
  send_raw(w, line->data, line->len);
}

static void watcher_end(struct watcher *w);
static void watcher_shed(struct watcher *w);

static void send_error(struct watcher *w, const kube_error_t *err) {
  json_object *st = as_status_object(err);
  size_t len = 0;
  const char *s = encode(st, &len);
  if (s)
    send_line(w, "ERROR", s, len);
  json_object_put(st);
}

static bool key_matches(const struct watcher *w, const char *key) {
  if (!w->key_prefix)
    return true;
  return w->key_exact ? streq(key, w->key_prefix)
                      : str_has_prefix(key, w->key_prefix);
}

/* Deliver one event to one watcher, with Kubernetes' selector semantics:
 * an update that makes an object enter (leave) the selection is an ADDED
 * (DELETED). */
static void deliver(struct watcher *w, struct ev_cache *c) {
  const kube_store_event_t *ev = c->ev;
  if (w->ended || ev->revision <= w->from || !key_matches(w, ev->rec->key))
    return;
  w->last = ev->revision;
  /* Plain JSON watchers without selectors need no tree at all. */
  if (!w->table && !w->filtering) {
    int slot = LINE_MODIFIED;
    const char *type = "MODIFIED";
    if (ev->type == KUBE_STORE_EVENT_DELETE) {
      slot = LINE_DELETED;
      type = "DELETED";
    } else if (ev->type == KUBE_STORE_EVENT_CREATE || !ev->prev) {
      slot = LINE_ADDED;
      type = "ADDED";
    }
    if (!c->cur_json && !c->cur_failed)
      c->cur_failed = !cache_json_in_line(c, slot, type);
    if (!c->cur_json)
      return;
    emit(w, c, slot, type, NULL, c->cur_json, c->cur_len);
    return;
  }
  json_object *cur = cache_cur(c);
  if (!cur)
    return;
  if (!c->cur_json && !w->table) {
    c->cur_json = json_at(ev->rec, ev->revision, &c->cur_len, c->k);
    if (!c->cur_json)
      cache_encode_cur(c);
  }
  if (ev->type == KUBE_STORE_EVENT_DELETE) {
    if (!w->filtering || as_filter_match(&w->f, cur))
      emit(w, c, LINE_DELETED, "DELETED", cur, c->cur_json, c->cur_len);
    return;
  }
  if (ev->type == KUBE_STORE_EVENT_CREATE || !ev->prev) {
    if (!w->filtering || as_filter_match(&w->f, cur))
      emit(w, c, LINE_ADDED, "ADDED", cur, c->cur_json, c->cur_len);
    return;
  }
  if (!w->filtering) {
    emit(w, c, LINE_MODIFIED, "MODIFIED", cur, c->cur_json, c->cur_len);
    return;
  }
  bool now_in = as_filter_match(&w->f, cur);
  json_object *prev = cache_prev(c);
  bool was_in = prev && as_filter_match(&w->f, prev);
  if (now_in && was_in) {
    emit(w, c, LINE_MODIFIED, "MODIFIED", cur, c->cur_json, c->cur_len);
  } else if (now_in) {
    emit(w, c, LINE_ADDED, "ADDED", cur, c->cur_json, c->cur_len);
  } else if (was_in) {
    if (!c->prev_json && !w->table) {
      c->prev_json = json_at(ev->prev, ev->revision, &c->prev_len, c->k);
      if (!c->prev_json) {
        const char *s = encode(prev, &c->prev_len);
        c->prev_json = s ? strndup(s, c->prev_len) : NULL;
      }
    }
    emit(w, c, LINE_DELETED_PREV, "DELETED", prev, c->prev_json, c->prev_len);
  }
}

/* ---- hubs ---- */

static void hub_attach(struct hub *h, struct watcher *w) {
  w->hub = h;
  TAILQ_INSERT_TAIL(&h->watchers, w, hub_link);
  if (w->objects)
    h->n_objects++;
}

static void hub_detach(struct watcher *w) {
  struct hub *h = w->hub;
  TAILQ_REMOVE(&h->watchers, w, hub_link);
  if (w->objects)
    h->n_objects--;
  w->hub = NULL;
}

bool as_watch_wants_objects(kube_apiserver_t *srv, const kube_kind_t *k) {
  for (struct hub *h = srv->hubs; h; h = h->next)
    if (h->k == k)
      return h->n_objects > 0;
  return false;
}

static void hub_free(struct hub *h) {
  struct watcher *w, *tmp;
  TAILQ_FOREACH_SAFE(w, &h->watchers, hub_link, tmp)
  hub_detach(w);
  kube_store_watch_cancel(h->sw);
  api_kind_unref(h->k);
  free(h->prefix);
  free(h);
}

static void hub_unlink(struct hub *h) {
  kube_apiserver_t *srv = h->srv;
  for (struct hub **p = &srv->hubs; *p; p = &(*p)->next)
    if (*p == h) {
      *p = h->next;
      break;
    }
}

static void hub_cb(const kube_store_event_t *ev, const kube_error_t *err,
                   void *arg) {
  struct hub *h = arg;
  if (!ev) {
    /* The store ended the watch: tell every watcher, drop the hub (the
     * next watch makes a new one). */
    hub_unlink(h);
    struct watcher *w, *tmp;
    TAILQ_FOREACH_SAFE(w, &h->watchers, hub_link, tmp) {
      hub_detach(w);
      if (!w->ended) {
        send_error(w, err);
        watcher_end(w);
      }
    }
    hub_free(h);
    return;
  }
  if (ev->revision > h->rev)
    h->rev = ev->revision;
  if (TAILQ_EMPTY(&h->watchers))
    return;
  struct ev_cache c = {.ev = ev, .k = h->k};
  /* The write's object, taken even when nobody wants it any more. */
  json_object *lean =
      as_watch_tree_take(h->srv, h->k, ev->rec->key, ev->revision);
  if (ev->type != KUBE_STORE_EVENT_DELETE)
    c.lean = lean;
  else
    json_object_put(lean);
  struct watcher *w, *tmp;
  TAILQ_FOREACH_SAFE(w, &h->watchers, hub_link, tmp)
  deliver(w, &c);
  cache_clear(&c);
  TAILQ_FOREACH_SAFE(w, &h->watchers, hub_link, tmp)
  if (w->slow)
    watcher_shed(w);
  as_watch_budget(h->srv);
}

static struct hub *hub_get(kube_apiserver_t *srv, const kube_kind_t *k,
                           kube_error_t *err) {
  for (struct hub *h = srv->hubs; h; h = h->next)
    if (h->k == k)
      return h;
  struct hub *h = calloc(1, sizeof(*h));
  if (!h) {
    kube_make_oom(err);
    return NULL;
  }
  h->srv = srv;
  h->k = api_kind_ref(k);
  TAILQ_INIT(&h->watchers);
  h->prefix = as_store_prefix(k, NULL);
  h->rev = kube_store_revision(srv->store);
  h->sw = h->prefix
              ? kube_store_watch(srv->store, h->prefix, h->rev, hub_cb, h, err)
              : NULL;
  if (!h->sw) {
    api_kind_unref(h->k);
    free(h->prefix);
    free(h);
    return NULL;
  }
  h->next = srv->hubs;
  srv->hubs = h;
  return h;
}

void as_hubs_free(kube_apiserver_t *srv) {
  while (srv->hubs) {
    struct hub *h = srv->hubs;
    srv->hubs = h->next;
    hub_free(h);
  }
}

void as_watch_end_kind(kube_apiserver_t *srv, const kube_kind_t *k) {
  struct watcher *w, *tmp;
  TAILQ_FOREACH_SAFE(w, &all_watchers, all_link, tmp)
  if (w->r->srv == srv && w->k == k)
    watcher_end(w);
  for (struct hub **p = &srv->hubs; *p;) {
    struct hub *h = *p;
    if (h->k == k) {
      *p = h->next;
      hub_free(h);
    } else {
      p = &h->next;
    }
  }
}

/* ---- watchers ---- */

/* A watcher that replays history on a store watch of its own joins its
 * kind's hub as soon as the hub has yet to deliver the event `ev` (it
 * delivers every event after h->rev, in order): the watcher has had
 * everything before ev's revision, and `from` makes it skip those the hub
 * goes over again.  Informers list, then watch from the list's revision,
 * which a write in between puts behind the hub: without this they would
 * stay on a store watch of their own, each event parsed and encoded for
 * them alone.  True when the watcher moved (ev is the hub's to deliver). */
static bool own_join_hub(struct watcher *w, const kube_store_event_t *ev) {
  struct hub *h = NULL;
  for (h = w->r->srv->hubs; h; h = h->next)
    if (h->k == w->k)
      break;
  if (!h || h->rev >= ev->revision)
    return false;
  kube_store_watch_cancel(w->own); /* deferred: we are in its callback */
  w->own = NULL;
  w->from = ev->revision - 1;
  hub_attach(h, w);
  return true;
}

static void own_cb(const kube_store_event_t *ev, const kube_error_t *err,
                   void *arg) {
  struct watcher *w = arg;
  if (w->ended || !w->own)
    return;
  if (!ev) {
    send_error(w, err);
    watcher_end(w);
    return;
  }
  if (own_join_hub(w, ev))
    return;
  struct ev_cache c = {.ev = ev, .k = w->k};
  kube_apiserver_t *srv = w->r->srv;
  deliver(w, &c);
  cache_clear(&c);
  if (w->slow)
    watcher_shed(w);
  as_watch_budget(srv);
}

static void watcher_free(struct watcher *w) {
  if (w->hub)
    hub_detach(w);
  TAILQ_REMOVE(&all_watchers, w, all_link);
  kube_store_watch_cancel(w->own);
  if (w->timeout_ev)
    event_free(w->timeout_ev);
  if (w->bookmark_ev)
    event_free(w->bookmark_ev);
  as_filter_clear(&w->f);
  free(w->key_prefix);
  free(w);
}

/* End the stream; the request's finish frees the watcher. */
static void watcher_close(struct watcher *w, bool drop) {
  if (w->ended)
    return;
  w->ended = true;
  struct req *r = w->r;
  if (!r->done) {
    r->done = true;
    if (drop && r->tp->stream_drop)
      r->tp->stream_drop(r);
    else
      r->tp->stream_end(r);
  }
}

static void watcher_end(struct watcher *w) {
  watcher_close(w, false);
}

/* End a watcher that is too far behind at once, dropping its backlog
 * (kept, it would hold the memory until the write timeout). */
static void watcher_shed(struct watcher *w) {
  watcher_close(w, true);
}

struct behind {
  struct watcher *w;
  size_t backlog;
};

static int cmp_behind(const void *a, const void *b) {
  size_t x = ((const struct behind *)a)->backlog;
  size_t y = ((const struct behind *)b)->backlog;
  return x < y ? 1 : x > y ? -1 : 0;
}

/* The global budget: when the watch streams of srv together hold more
 * than it, end the ones furthest behind until the rest fit.  O(watchers)
 * per event, as the delivery itself. */
void as_watch_budget(kube_apiserver_t *srv) {
  size_t total = 0, n = 0;
  struct watcher *w;
  TAILQ_FOREACH(w, &all_watchers, all_link) {
    if (w->r->srv != srv || w->ended || !w->r->tp->backlog)
      continue;
    total += w->r->tp->backlog(w->r);
    n++;
  }
  if (total <= srv->watch_budget)
    return;
  struct behind *v = malloc(n * sizeof *v);
  size_t m = 0;
  TAILQ_FOREACH(w, &all_watchers, all_link) {
    if (w->r->srv != srv || w->ended || !w->r->tp->backlog)
      continue;
    if (v)
      v[m++] = (struct behind){w, w->r->tp->backlog(w->r)};
  }
  if (!v) {
    /* Out of memory: end the first one behind, the next event does more. */
    TAILQ_FOREACH(w, &all_watchers, all_link)
    if (w->r->srv == srv && !w->ended && w->r->tp->backlog &&
        w->r->tp->backlog(w->r)) {
      watcher_shed(w);
      return;
    }
    return;
  }
  qsort(v, m, sizeof *v, cmp_behind);
  size_t ended = 0, freed = 0;
  for (size_t i = 0; i < m && total > srv->watch_budget; i++) {
    total -= v[i].backlog;
    freed += v[i].backlog;
    ended++;
    watcher_shed(v[i].w);
  }
  free(v);
  core_log_ratelimited(&budget_rl, KUBE_LOG_WARNING,
                       "apiserver: watch streams over their budget of %zu "
                       "bytes: ended the %zu furthest behind (%zu bytes "
                       "queued)",
                       srv->watch_budget, ended, freed);
}

/* Called from as_req_finish. */
void as_watchers_cancel_req(struct req *r) {
  struct watcher *w = r->watch;
  r->watch = NULL;
  if (w) {
    w->ended = true;
    watcher_free(w);
  }
}

void as_watch_stop_all(kube_apiserver_t *srv) {
  struct watcher *w, *tmp;
  TAILQ_FOREACH_SAFE(w, &all_watchers, all_link, tmp)
  if (w->r->srv == srv)
    watcher_end(w);
}

static void timeout_cb(evutil_socket_t fd, short what, void *arg) {
  watcher_end(arg);
}

static void bookmark_cb(evutil_socket_t fd, short what, void *arg) {
  struct watcher *w = arg;
  int64_t rev = w->from;
  if (w->last > rev)
    rev = w->last;
  if (w->hub && w->hub->rev > rev)
    rev = w->hub->rev;
  char apiv[128];
  kube_kind_api_version(w->k, apiv, sizeof apiv);
  char buf[512];
  int n = snprintf(buf, sizeof buf,
                   "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{"
                   "\"resourceVersion\":\"%lld\"}}",
                   w->k->kind, apiv, (long long)rev);
  send_line(w, "BOOKMARK", buf, (size_t)n);
}

static void initial_events(struct watcher *w, kube_apiserver_t *srv,
                           const char *prefix, int64_t *rev) {
  kube_store_list_t l = {0};
  if (kube_store_list(srv->store, prefix, NULL, 0, &l, NULL) < 0)
    return;
  *rev = l.revision;
  for (size_t i = 0; i < l.n; i++) {
    const kube_store_record_t *rec = l.items[i];
    if (!key_matches(w, rec->key))
      continue;
    json_object *obj = as_record_to_tree_for(rec, w->k, NULL);
    if (!obj)
      continue;
    if (!w->filtering || as_filter_match(&w->f, obj))
      send_object(w, "ADDED", obj, NULL, 0);
    json_object_put(obj);
  }
  kube_store_list_clear(&l);
}

void as_handle_watch(struct req *r) {
  kube_apiserver_t *srv = r->srv;
  const kube_kind_t *k = r->rt.kind;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  struct watcher *w = calloc(1, sizeof(*w));
  if (!w) {
    as_reply_status(r, KUBE_REASON_INTERNAL, "out of memory");
    return;
  }
  w->r = r;
  w->k = k;
  if (as_filter_parse(r, &w->f, &err) < 0) {
    free(w);
    as_reply_error(r, &err);
    return;
  }
  w->filtering = as_filter_active(&w->f);
  w->table = as_accept_table(r);
  w->objects = !w->table && r->tp->wants_events && r->tp->stream_event &&
               r->tp->wants_events(r);
  w->include = as_table_include_mode(r);
  if (r->rt.name) {
    w->key_prefix = as_store_key(k, r->rt.ns, r->rt.name);
    w->key_exact = true;
  } else if (r->rt.ns) {
    w->key_prefix = as_store_prefix(k, r->rt.ns);
  }
  const char *rv = as_req_query(r, "resourceVersion");
  bool initial = !rv || !*rv || streq(rv, "0");
  int64_t from = 0;
  if (!initial) {
    char *end;
    long long v = strtoll(rv, &end, 10);
    if (*end || v < 0) {
      as_filter_clear(&w->f);
      free(w->key_prefix);
      free(w);
      as_reply_status(r, KUBE_REASON_BAD_REQUEST, "invalid resourceVersion %s",
                      rv);
      return;
    }
    from = v;
  }
  struct hub *h = hub_get(srv, k, &err);
  if (!h) {
    as_filter_clear(&w->f);
    free(w->key_prefix);
    free(w);
    as_reply_error(r, &err);
    return;
  }
  TAILQ_INSERT_TAIL(&all_watchers, w, all_link);
  r->watch = w;
  r->tp->stream_start(r, 200, "application/json");
  if (initial)
    initial_events(w, srv,
                   w->key_exact    ? h->prefix
                   : w->key_prefix ? w->key_prefix
                                   : h->prefix,
                   &from);
  w->from = from;
  w->last = from;
  if (from >= h->rev) {
    hub_attach(h, w);
  } else if (from < kube_store_compacted_revision(srv->store)) {
    kube_error_set(&err, KUBE_REASON_EXPIRED, 0,
                   "too old resource version: %lld (%lld)", (long long)from,
                   (long long)kube_store_compacted_revision(srv->store));
    send_error(w, &err);
    watcher_end(w);
    return;
  } else {
    w->own = kube_store_watch(srv->store, h->prefix, from, own_cb, w, &err);
    if (!w->own) {
      if (err.reason != KUBE_REASON_EXPIRED && err.reason != KUBE_REASON_GONE)
        err.reason = KUBE_REASON_INTERNAL;
      send_error(w, &err);
      watcher_end(w);
      return;
    }
  }
  if (w->slow) {
    watcher_shed(w);
    return;
  }
  as_watch_budget(srv);
  if (w->ended)
    return;
  const char *ts = as_req_query(r, "timeoutSeconds");
  long long tmo = ts ? strtoll(ts, NULL, 10) : 0;
  if (tmo > 0) {
    w->timeout_ev = evtimer_new(srv->base, timeout_cb, w);
    struct timeval tv = {.tv_sec = tmo};
    if (w->timeout_ev)
      evtimer_add(w->timeout_ev, &tv);
  }
  if (as_req_query_bool(r, "allowWatchBookmarks")) {
    w->bookmark_ev = event_new(srv->base, -1, EV_PERSIST, bookmark_cb, w);
    struct timeval tv = {.tv_sec = BOOKMARK_INTERVAL_SEC};
    if (w->bookmark_ev)
      event_add(w->bookmark_ev, &tv);
  }
}
