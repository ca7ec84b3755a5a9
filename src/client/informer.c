/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Informers: LIST + WATCH of one collection into a cache keyed by
 * namespace/name, over the asynchronous transport interface.
 *
 * Restarts never happen inside a transport callback (an implementation may
 * still be using the call on its stack): they go through `restart_ev`,
 * which cancels what is left of the old call and issues the next request.
 */
#include <limits.h>

#include <event2/event.h>

#include <libkube/client.h>

#include "api/api-private.h"
#include "client/client-private.h"
#include "core/util.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 30000

KUBE_EXPORT kube_transport_call_t *kube_transport_request(
    const kube_transport_t *tp, const kube_transport_request_t *req,
    kube_transport_reply_cb cb, void *arg, kube_error_t *err) {
  if (!tp || !tp->ops || !tp->ops->request) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL, "no transport");
    return NULL;
  }
  return tp->ops->request(tp->impl, req, cb, arg, err);
}

KUBE_EXPORT void kube_transport_cancel(const kube_transport_t *tp,
                                       kube_transport_call_t *call) {
  if (tp && tp->ops && tp->ops->cancel && call)
    tp->ops->cancel(tp->impl, call);
}

enum phase { P_IDLE, P_LISTING, P_WATCHING };

struct kube_informer {
  struct event_base *base;
  kube_transport_t tp;
  kube_informer_handlers_t h;
  void *arg;
  char *path;
  char *query;         /* "labelSelector=..&fieldSelector=.." or "" */
  struct strmap cache; /* key -> kube_object_t * (owned) */
  char *rv;            /* resourceVersion the cache is at */
  bool synced;
  enum phase phase;
  kube_transport_call_t *call; /* live call, NULL when none */
  uint64_t gen;                /* bumps when a call is abandoned */
  struct call_ctx *ctx;        /* context of the live call */
  kube_strbuf_t line;          /* partial watch line */
  bool watch_events;           /* the current watch delivered something */
  bool relist;                 /* next restart LISTs (else WATCHes) */
  int64_t backoff_ms;
  struct event *restart_ev;
  uint64_t lists;
  json_tokener *tok;
};

/* Callback argument: outlives the informer's interest in a call so a late
 * callback of a cancelled call is recognised (it never comes with the
 * transports we have, but the generation check costs nothing). */
struct call_ctx {
  kube_informer_t *inf;
  uint64_t gen;
};

/* Server output is trusted to be JSON: parse with json-c alone (the API
 * module's stricter checks for client input cost as much again). */
static json_object *parse_json(kube_informer_t *inf, const char *data,
                               size_t len) {
  if (len > INT_MAX)
    return NULL;
  if (!inf->tok && !(inf->tok = json_tokener_new_ex(256)))
    return NULL;
  json_tokener_reset(inf->tok);
  json_object *o = json_tokener_parse_ex(inf->tok, data, (int)len);
  if (o && json_tokener_get_error(inf->tok) != json_tokener_success) {
    json_object_put(o);
    o = NULL;
  }
  if (!o || !json_object_is_type(o, json_type_object)) {
    json_object_put(o);
    return NULL;
  }
  return o;
}

static void append_query(kube_strbuf_t *sb, const char *key, const char *val) {
  if (!val || !*val)
    return;
  cleanup_free char *esc = client_query_escape(val);
  if (!esc) {
    sb->oom = true;
    return;
  }
  kube_strbuf_printf(sb, "%s%s=%s", sb->len ? "&" : "", key, esc);
}

static char *object_key(json_object *obj) {
  const char *name = kube_json_get_string(obj, "metadata.name");
  const char *ns = kube_json_get_string(obj, "metadata.namespace");
  if (!name)
    return NULL;
  char *key = NULL;
  if (ns && *ns) {
    if (asprintf(&key, "%s/%s", ns, name) < 0)
      key = NULL;
  } else {
    key = strdup(name);
  }
  return key;
}

static void set_rv(kube_informer_t *inf, const char *rv) {
  if (!rv || !*rv || (inf->rv && streq(inf->rv, rv)))
    return;
  char *copy = strdup(rv);
  if (copy) {
    free(inf->rv);
    inf->rv = copy;
  }
}

static void schedule_restart(kube_informer_t *inf, bool relist,
                             int64_t delay_ms) {
  inf->relist = inf->relist || relist;
  inf->gen++; /* callbacks of the current call are ignored from now on */
  struct timeval tv = {.tv_sec = delay_ms / 1000,
                       .tv_usec = (delay_ms % 1000) * 1000};
  event_add(inf->restart_ev, &tv);
}

static int64_t next_backoff(kube_informer_t *inf) {
  int64_t d = inf->backoff_ms ? inf->backoff_ms : BACKOFF_MIN_MS;
  inf->backoff_ms = d * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : d * 2;
  return d;
}

/* ---- the cache ----
 *
 * Entries keep the object's compact JSON text, not a json-c tree: a tree
 * costs ten to twenty times the text, and an informer over 150,000 pods
 * must not.  A tree exists while a handler runs and stays only when
 * kube_informer_get() handed it out (it must stay valid until the key
 * changes). */

struct entry {
  char *json;
  size_t len;
  char *rv;
  kube_object_t *obj; /* parsed tree, or NULL */
  bool pinned;        /* obj was handed out by kube_informer_get */
};

static void entry_free(void *v) {
  struct entry *e = v;
  if (!e)
    return;
  kube_object_free(e->obj);
  free(e->json);
  free(e->rv);
  free(e);
}

/* A new entry for `tree` (borrowed).  `text` is its JSON when the caller
 * has it (a slice of a watch line), else it is serialised. */
static struct entry *entry_new(json_object *tree, const char *text,
                               size_t len) {
  struct entry *e = calloc(1, sizeof *e);
  if (!e)
    return NULL;
  if (!text)
    text = json_object_to_json_string_length(
        tree, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
  e->json = text ? malloc(len + 1) : NULL;
  const char *rv = kube_json_get_string(tree, "metadata.resourceVersion");
  e->rv = strdup(rv ? rv : "");
  e->obj = kube_object_wrap(json_object_get(tree));
  if (!e->json || !e->rv || !e->obj) {
    entry_free(e);
    return NULL;
  }
  memcpy(e->json, text, len);
  e->json[len] = '\0';
  e->len = len;
  return e;
}

/* The entry's tree, parsed when needed.  NULL on out-of-memory. */
static kube_object_t *entry_object(kube_informer_t *inf, struct entry *e) {
  if (!e->obj) {
    json_object *t = parse_json(inf, e->json, e->len);
    e->obj = t ? kube_object_wrap(t) : NULL;
  }
  return e->obj;
}

/* After a handler: drop the tree unless someone holds it. */
static void entry_unhold(struct entry *e) {
  if (e && e->obj && !e->pinned) {
    kube_object_free(e->obj);
    e->obj = NULL;
  }
}

/* ---- applying changes ---- */

static void apply_upsert(kube_informer_t *inf, json_object *obj,
                         const char *text, size_t len) {
  cleanup_free char *key = object_key(obj);
  if (!key)
    return;
  struct entry *e = entry_new(obj, text, len);
  void *old = NULL;
  if (!e || !strmap_put(&inf->cache, key, e, &old)) {
    entry_free(e);
    log_warn("informer %s: out of memory, dropping %s", inf->path, key);
    return;
  }
  struct entry *o = old;
  if (o) {
    kube_object_t *prev = entry_object(inf, o);
    if (inf->h.on_update && prev)
      inf->h.on_update(key, prev, e->obj, inf->arg);
    entry_free(o);
  } else if (inf->h.on_add) {
    inf->h.on_add(key, e->obj, inf->arg);
  }
  /* The handler may have changed the cache: look the entry up again. */
  entry_unhold(strmap_get(&inf->cache, key));
}

static void apply_delete(kube_informer_t *inf, json_object *obj) {
  cleanup_free char *key = object_key(obj);
  if (!key)
    return;
  struct entry *old = strmap_remove(&inf->cache, key);
  if (!old)
    return;
  if (inf->h.on_delete) {
    /* Report the final state the server sent. */
    kube_object_t *last = kube_object_wrap(json_object_get(obj));
    kube_object_t *o = last ? last : entry_object(inf, old);
    if (o)
      inf->h.on_delete(key, o, inf->arg);
    kube_object_free(last);
  }
  entry_free(old);
}

/* Replace the cache with a LIST's items and tell the handlers the
 * differences. */
static int apply_list(kube_informer_t *inf, json_object *list) {
  json_object *items = kube_json_get(list, "items");
  struct strmap fresh = {0};
  size_t n = items && json_object_is_type(items, json_type_array)
                 ? json_object_array_length(items)
                 : 0;
  for (size_t i = 0; i < n; i++) {
    json_object *it = json_object_array_get_idx(items, i);
    cleanup_free char *key = object_key(it);
    if (!key)
      continue;
    struct entry *e = entry_new(it, NULL, 0);
    void *dup = NULL;
    if (!e || !strmap_put(&fresh, key, e, &dup)) {
      entry_free(e);
      strmap_clear(&fresh, entry_free);
      return -1;
    }
    entry_free(dup);
  }
  struct strmap old = inf->cache;
  inf->cache = fresh;
  set_rv(inf, kube_json_get_string(list, "metadata.resourceVersion"));
  STRMAP_FOREACH(&inf->cache, i, ent) {
    struct entry *e = ent->value, *prev = strmap_get(&old, ent->key);
    if (!prev) {
      if (inf->h.on_add)
        inf->h.on_add(ent->key, e->obj, inf->arg);
      continue;
    }
    if (inf->h.on_update && !streq(prev->rv, e->rv)) {
      kube_object_t *p = entry_object(inf, prev);
      if (p)
        inf->h.on_update(ent->key, p, e->obj, inf->arg);
    }
  }
  STRMAP_FOREACH(&old, i, ent) {
    if (!strmap_find(&inf->cache, ent->key) && inf->h.on_delete) {
      kube_object_t *p = entry_object(inf, ent->value);
      if (p)
        inf->h.on_delete(ent->key, p, inf->arg);
    }
  }
  strmap_clear(&old, entry_free);
  STRMAP_FOREACH(&inf->cache, i, ent)
  entry_unhold(ent->value);
  return 0;
}

/* ---- requests ---- */

static void reply_cb(int status, const char *ctype, const char *data,
                     size_t len, bool done, void *arg);

static int start_call(kube_informer_t *inf, bool watch, kube_error_t *err) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, inf->path);
  kube_strbuf_append_char(&sb, '?');
  kube_strbuf_append(&sb, inf->query);
  if (watch) {
    if (*inf->query)
      kube_strbuf_append_char(&sb, '&');
    kube_strbuf_printf(&sb, "watch=1&allowWatchBookmarks=true");
    kube_strbuf_printf(&sb, "&resourceVersion=%s", inf->rv ? inf->rv : "0");
  }
  if (sb.oom) {
    kube_strbuf_free(&sb);
    return kube_make_oom(err);
  }
  struct call_ctx *ctx = calloc(1, sizeof *ctx);
  if (!ctx) {
    kube_strbuf_free(&sb);
    return kube_make_oom(err);
  }
  ctx->inf = inf;
  ctx->gen = ++inf->gen;
  kube_transport_request_t req = {
      .struct_size = sizeof req,
      .method = "GET",
      .path = sb.data,
  };
  inf->call = kube_transport_request(&inf->tp, &req, reply_cb, ctx, err);
  kube_strbuf_free(&sb);
  if (!inf->call) {
    free(ctx);
    return -1;
  }
  free(inf->ctx);
  inf->ctx = ctx;
  inf->phase = watch ? P_WATCHING : P_LISTING;
  kube_strbuf_reset(&inf->line);
  inf->watch_events = false;
  if (!watch)
    inf->lists++;
  return 0;
}

static void restart_cb(evutil_socket_t fd, short what, void *arg) {
  kube_informer_t *inf = arg;
  if (inf->call) {
    kube_transport_cancel(&inf->tp, inf->call);
    inf->call = NULL;
  }
  bool watch = !inf->relist && inf->rv;
  inf->relist = false;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (start_call(inf, watch, &err) < 0) {
    log_warn("informer %s: %s", inf->path, err.message);
    schedule_restart(inf, true, next_backoff(inf));
  }
}

static void handle_list_reply(kube_informer_t *inf, int status,
                              const char *data, size_t len) {
  inf->call = NULL;
  if (status != 200) {
    log_warn("informer %s: list answered %d", inf->path, status);
    schedule_restart(inf, true, next_backoff(inf));
    return;
  }
  json_object *list = parse_json(inf, data, len);
  if (!list || apply_list(inf, list) < 0) {
    if (list)
      json_object_put(list);
    log_warn("informer %s: %s", inf->path,
             list ? "out of memory" : "malformed list");
    schedule_restart(inf, true, next_backoff(inf));
    return;
  }
  json_object_put(list);
  bool first = !inf->synced;
  inf->synced = true;
  /* Watch right away, from the list's resourceVersion. */
  schedule_restart(inf, false, 0);
  if (first && inf->h.on_synced)
    inf->h.on_synced(inf->arg);
}

/* One watch line.  Returns false when the watch must be abandoned. */
static bool handle_watch_line(kube_informer_t *inf, const char *line,
                              size_t len) {
  json_object *ev = parse_json(inf, line, len);
  if (!ev) {
    log_warn("informer %s: malformed watch event, re-listing", inf->path);
    schedule_restart(inf, true, next_backoff(inf));
    return false;
  }
  const char *type = kube_json_get_string(ev, "type");
  json_object *obj = kube_json_get(ev, "object");
  bool ok = true;
  if (!type || !obj) {
    ok = false;
    schedule_restart(inf, true, next_backoff(inf));
  } else if (streq(type, "ADDED") || streq(type, "MODIFIED")) {
    set_rv(inf, kube_json_get_string(obj, "metadata.resourceVersion"));
    /* The object's own text: {"type":"...","object":<obj>} */
    const char *text = NULL;
    size_t tlen = 0;
    const char *p = memmem(line, len, "\",\"object\":", 11);
    if (p && str_has_prefix(line, "{\"type\":\"") && p + 11 < line + len &&
        p[11] == '{' && line[len - 1] == '}') {
      text = p + 11;
      tlen = (size_t)(line + len - 1 - text);
    }
    apply_upsert(inf, obj, text, tlen);
  } else if (streq(type, "DELETED")) {
    set_rv(inf, kube_json_get_string(obj, "metadata.resourceVersion"));
    apply_delete(inf, obj);
  } else if (streq(type, "BOOKMARK")) {
    set_rv(inf, kube_json_get_string(obj, "metadata.resourceVersion"));
  } else if (streq(type, "ERROR")) {
    json_object *code = kube_json_get(obj, "code");
    int c = code ? json_object_get_int(code) : 0;
    const char *msg = kube_json_get_string(obj, "message");
    ok = false;
    if (c == 410) {
      log_debug("informer %s: %s, re-listing", inf->path, msg ? msg : "gone");
      schedule_restart(inf, true, 0);
    } else {
      log_warn("informer %s: watch error %d: %s", inf->path, c, msg ? msg : "");
      schedule_restart(inf, true, next_backoff(inf));
    }
  }
  json_object_put(ev);
  if (ok) {
    inf->watch_events = true;
    inf->backoff_ms = 0;
  }
  return ok;
}

static void handle_watch_data(kube_informer_t *inf, const char *data,
                              size_t len) {
  uint64_t gen = inf->gen;
  /* Fast path: whole lines, nothing buffered. */
  while (len) {
    const char *nl = memchr(data, '\n', len);
    if (!nl) {
      kube_strbuf_append_len(&inf->line, data, len);
      return;
    }
    size_t n = (size_t)(nl - data);
    bool ok;
    if (inf->line.len) {
      kube_strbuf_append_len(&inf->line, data, n);
      ok = inf->line.oom || !inf->line.len ||
           handle_watch_line(inf, inf->line.data, inf->line.len);
      kube_strbuf_reset(&inf->line);
    } else {
      ok = !n || handle_watch_line(inf, data, n);
    }
    if (!ok || gen != inf->gen)
      return;
    data = nl + 1;
    len -= n + 1;
  }
}

static void reply_cb(int status, const char *ctype, const char *data,
                     size_t len, bool done, void *arg) {
  struct call_ctx *ctx = arg;
  kube_informer_t *inf = ctx->inf;
  if (!inf || ctx->gen != inf->gen) {
    /* An abandoned call: its last callback releases nothing of ours
     * (ctx is freed with the next call or the informer). */
    return;
  }
  if (inf->phase == P_LISTING) {
    if (done)
      handle_list_reply(inf, status, data, len);
    return;
  }
  if (done)
    inf->call = NULL; /* the handle is gone */
  if (status != 200) {
    if (done) {
      log_debug("informer %s: watch answered %d", inf->path, status);
      schedule_restart(inf, true, status == 410 ? 0 : next_backoff(inf));
    }
    return;
  }
  if (len)
    handle_watch_data(inf, data, len);
  if (done && ctx->gen == inf->gen) {
    /* The server ended the stream: watch again from where we are; back off
     * when streams keep ending without delivering anything. */
    schedule_restart(inf, false, inf->watch_events ? 0 : next_backoff(inf));
  }
}

/* ---- public ---- */

KUBE_EXPORT kube_informer_t *
kube_informer_new(kube_loop_t *kloop, const kube_transport_t *tp,
                  const kube_informer_options_t *opts,
                  const kube_informer_handlers_t *handlers, void *arg,
                  kube_error_t *err) {
  struct event_base *base = kube_loop_base(kloop);
  if (!base || !tp || !tp->ops || !opts || !opts->path) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "informer needs an event loop, a transport and a path");
    return NULL;
  }
  kube_informer_t *inf = calloc(1, sizeof *inf);
  if (!inf) {
    kube_make_oom(err);
    return NULL;
  }
  inf->base = base;
  inf->tp = *tp;
  if (handlers) {
    size_t n = handlers->struct_size && handlers->struct_size < sizeof inf->h
                   ? handlers->struct_size
                   : sizeof inf->h;
    memcpy(&inf->h, handlers, n);
  }
  inf->arg = arg;
  kube_strbuf_t q = KUBE_STRBUF_INIT;
  append_query(&q, "labelSelector", opts->label_selector);
  append_query(&q, "fieldSelector", opts->field_selector);
  inf->query = kube_strbuf_steal(&q);
  inf->path = strdup(opts->path);
  inf->restart_ev = evtimer_new(base, restart_cb, inf);
  if (!inf->query || !inf->path || !inf->restart_ev) {
    kube_informer_free(inf);
    kube_make_oom(err);
    return NULL;
  }
  return inf;
}

KUBE_EXPORT int kube_informer_start(kube_informer_t *inf, kube_error_t *err) {
  if (inf->phase != P_IDLE) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EALREADY,
                   "informer %s already started", inf->path);
    return -1;
  }
  return start_call(inf, false, err);
}

KUBE_EXPORT bool kube_informer_synced(const kube_informer_t *inf) {
  return inf->synced;
}

KUBE_EXPORT const kube_object_t *kube_informer_get(const kube_informer_t *inf,
                                                   const char *key) {
  struct entry *e = key ? strmap_get(&inf->cache, key) : NULL;
  if (!e)
    return NULL;
  kube_object_t *o = entry_object((kube_informer_t *)inf, e);
  if (o)
    e->pinned = true;
  return o;
}

KUBE_EXPORT size_t kube_informer_count(const kube_informer_t *inf) {
  return inf->cache.n;
}

KUBE_EXPORT const char *
kube_informer_resource_version(const kube_informer_t *inf) {
  return inf->rv ? inf->rv : "";
}

KUBE_EXPORT size_t kube_informer_foreach(const kube_informer_t *inf,
                                         void (*fn)(const char *key,
                                                    const kube_object_t *obj,
                                                    void *arg),
                                         void *arg) {
  size_t n = 0;
  STRMAP_FOREACH(&inf->cache, i, ent) {
    struct entry *e = ent->value;
    bool had = e->obj != NULL;
    kube_object_t *o = entry_object((kube_informer_t *)inf, e);
    if (!o)
      continue;
    fn(ent->key, o, arg);
    if (!had)
      entry_unhold(e);
    n++;
  }
  return n;
}

KUBE_EXPORT uint64_t kube_informer_list_count(const kube_informer_t *inf) {
  return inf->lists;
}

KUBE_EXPORT void kube_informer_free(kube_informer_t *inf) {
  if (!inf)
    return;
  if (inf->call)
    kube_transport_cancel(&inf->tp, inf->call);
  if (inf->restart_ev)
    event_free(inf->restart_ev);
  strmap_clear(&inf->cache, entry_free);
  kube_strbuf_free(&inf->line);
  if (inf->tok)
    json_tokener_free(inf->tok);
  free(inf->ctx);
  free(inf->rv);
  free(inf->path);
  free(inf->query);
  free(inf);
}
