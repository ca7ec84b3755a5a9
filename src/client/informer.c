/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Informers: LIST + WATCH of one collection into a cache keyed by
 * namespace/name, over the asynchronous transport interface, with any
 * number of handler registrations and indexes (informer-index.c).
 *
 * Restarts never happen inside a transport callback (an implementation may
 * still be using the call on its stack): they go through `restart_ev`,
 * which cancels what is left of the old call and issues the next request.
 *
 * Registrations made after objects were cached get their synthetic adds
 * from `deliver_ev`; any change of the cache first delivers those still
 * owed, so a registration never sees an update before the add.
 */
#include <limits.h>

#include <event2/event.h>

#include "api/api-private.h"
#include "client/internal.h"
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
  /* A request without a User-Agent of its own sends the transport's. */
  size_t ua_end = offsetof(kube_transport_request_t, user_agent) +
                  sizeof req->user_agent;
  if (tp->user_agent && req &&
      (req->struct_size < ua_end || !req->user_agent)) {
    kube_transport_request_t r = {0};
    memcpy(&r, req, req->struct_size < sizeof r ? req->struct_size : sizeof r);
    r.struct_size = sizeof r;
    r.user_agent = tp->user_agent;
    return tp->ops->request(tp->impl, &r, cb, arg, err);
  }
  return tp->ops->request(tp->impl, req, cb, arg, err);
}

KUBE_EXPORT void kube_transport_cancel(const kube_transport_t *tp,
                                       kube_transport_call_t *call) {
  if (tp && tp->ops && tp->ops->cancel && call)
    tp->ops->cancel(tp->impl, call);
}

/* Callback argument: outlives the informer's interest in a call so a late
 * callback of a cancelled call is recognised (it never comes with the
 * transports we have, but the generation check costs nothing). */
struct client_call_ctx {
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

/* ------------------------------------------------------------------------ */
/* Registrations and dispatch                                                */
/* ------------------------------------------------------------------------ */

static void reap_registrations(kube_informer_t *inf) {
  if (inf->dispatching || !inf->reap)
    return;
  inf->reap = false;
  struct kube_informer_registration **pp = &inf->regs;
  while (*pp) {
    struct kube_informer_registration *r = *pp;
    if (r->removed) {
      *pp = r->next;
      free(r);
    } else {
      pp = &r->next;
    }
  }
}

/* A registration receives live changes once its synthetic adds are out. */
static bool live(const struct kube_informer_registration *r) {
  return !r->removed && !r->initial_pending;
}

static void notify_add(kube_informer_t *inf, const char *key,
                       const kube_object_t *obj) {
  inf->dispatching++;
  for (struct kube_informer_registration *r = inf->regs; r; r = r->next)
    if (live(r) && r->h.on_add)
      r->h.on_add(key, obj, r->arg);
  inf->dispatching--;
  reap_registrations(inf);
}

static bool wants_update(const kube_informer_t *inf) {
  for (struct kube_informer_registration *r = inf->regs; r; r = r->next)
    if (live(r) && r->h.on_update)
      return true;
  return false;
}

static void notify_update(kube_informer_t *inf, const char *key,
                          const kube_object_t *old_obj,
                          const kube_object_t *obj) {
  inf->dispatching++;
  for (struct kube_informer_registration *r = inf->regs; r; r = r->next)
    if (live(r) && r->h.on_update)
      r->h.on_update(key, old_obj, obj, r->arg);
  inf->dispatching--;
  reap_registrations(inf);
}

static void notify_delete(kube_informer_t *inf, const char *key,
                          const kube_object_t *obj) {
  inf->dispatching++;
  for (struct kube_informer_registration *r = inf->regs; r; r = r->next)
    if (live(r) && r->h.on_delete)
      r->h.on_delete(key, obj, r->arg);
  inf->dispatching--;
  reap_registrations(inf);
}

static void notify_synced(kube_informer_t *inf) {
  inf->dispatching++;
  for (struct kube_informer_registration *r = inf->regs; r; r = r->next) {
    if (!live(r) || r->synced)
      continue;
    r->synced = true;
    if (r->h.on_synced)
      r->h.on_synced(r->arg);
  }
  inf->dispatching--;
  reap_registrations(inf);
  if (inf->synced_hook)
    inf->synced_hook(inf->synced_hook_arg);
}

/* Deliver the synthetic adds owed to late registrations: object by
 * object, each parsed once for all of them.  (A pass per registration
 * parsed every object again for each: the controllers re-registering
 * after a leader election won back parsed 15,000 pods eight times in one
 * turn of the loop, long enough to lose the lease again.)  A registration
 * made by a handler meanwhile waits for the next flush (deliver_ev). */
static void flush_initial(kube_informer_t *inf) {
  if (!inf->n_initial)
    return;
  inf->dispatching++;
  bool adds = false;
  for (struct kube_informer_registration *r = inf->regs; r; r = r->next) {
    if (!r->initial_pending)
      continue;
    r->initial_pending = false;
    inf->n_initial--;
    r->flushing = true;
    adds = adds || (!r->removed && r->h.on_add);
  }
  if (adds) {
    STRMAP_FOREACH(&inf->cache, i, ent) {
      struct client_entry *e = ent->value;
      bool had = e->obj != NULL;
      kube_object_t *o = NULL;
      for (struct kube_informer_registration *r = inf->regs; r; r = r->next) {
        if (!r->flushing || r->removed || !r->h.on_add)
          continue; /* (it may have removed itself meanwhile) */
        if (!o && !(o = client_entry_object(inf, e)))
          break;
        r->h.on_add(e->key, o, r->arg);
      }
      if (!had)
        client_entry_unhold(e);
    }
  }
  for (struct kube_informer_registration *r = inf->regs; r; r = r->next) {
    if (!r->flushing)
      continue;
    r->flushing = false;
    if (inf->synced && !r->removed && !r->synced) {
      r->synced = true;
      if (r->h.on_synced)
        r->h.on_synced(r->arg);
    }
  }
  inf->dispatching--;
  reap_registrations(inf);
}

static void deliver_cb(evutil_socket_t fd, short what, void *arg) {
  flush_initial(arg);
}

/* ------------------------------------------------------------------------ */
/* The cache                                                                 */
/* ------------------------------------------------------------------------ */

/* Entries keep the object's compact JSON text, not a json-c tree: a tree
 * costs ten to twenty times the text, and an informer over 150,000 pods
 * must not.  A tree exists while handlers run and stays only when
 * kube_informer_get() handed it out (it must stay valid until the key
 * changes). */

static size_t entry_bytes(const struct client_entry *e) {
  return sizeof *e + e->len + 1 + strlen(e->key) + 1 +
         sizeof(struct strmap_entry) + e->n_refs * sizeof *e->refs;
}

kube_object_t *client_entry_object(kube_informer_t *inf,
                                   struct client_entry *e) {
  if (!e->obj) {
    json_object *t = parse_json(inf, e->json, e->len);
    e->obj = t ? kube_object_wrap(t) : NULL;
  }
  return e->obj;
}

void client_entry_unhold(struct client_entry *e) {
  if (e && e->obj && !e->pinned) {
    kube_object_free(e->obj);
    e->obj = NULL;
  }
}

static void entry_free(void *v) {
  struct client_entry *e = v;
  if (!e)
    return;
  kube_object_free(e->obj);
  free(e->refs);
  free(e->json);
  free(e);
}

static void drop_managed_fields(kube_informer_t *inf, json_object *tree) {
  json_object *meta = NULL;
  if (!inf->keep_managed_fields &&
      json_object_object_get_ex(tree, "metadata", &meta) && meta)
    json_object_object_del(meta, "managedFields");
}

/* Give `e` the text of `tree` (borrowed): `text` when the caller has it (a
 * slice of a watch line or a list, managedFields still in; `meta` its scan
 * when the caller made one, else NULL), else serialised.  Keeps a
 * reference to the tree as e->obj. */
static int entry_set(kube_informer_t *inf, struct client_entry *e,
                     json_object *tree, const char *text, size_t len,
                     const struct client_json_meta *meta) {
  char *copy = NULL;
  size_t n = 0;
  struct client_json_meta scanned;
  if (!text) {
    text = json_object_to_json_string_length(
        tree, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    if (!text)
      return -1;
    meta = NULL;
  }
  if (!meta) {
    if (client_json_quick_meta(
            text, len, kube_json_get_string(tree, "metadata.resourceVersion"),
            &scanned) < 0)
      client_json_scan_meta(text, len, &scanned);
    meta = &scanned;
  }
  size_t cut = !inf->keep_managed_fields && meta->mf_start
                   ? (size_t)(meta->mf_end - meta->mf_start)
                   : 0;
  n = len - cut;
  if (n > UINT32_MAX || !(copy = malloc(n + 1)))
    return -1;
  if (cut) {
    size_t head = (size_t)(meta->mf_start - text);
    memcpy(copy, text, head);
    memcpy(copy + head, meta->mf_end, len - head - cut);
  } else {
    memcpy(copy, text, len);
  }
  copy[n] = '\0';
  kube_object_t *obj = kube_object_wrap(json_object_get(tree));
  if (!obj) {
    free(copy);
    return -1;
  }
  free(e->json);
  kube_object_free(e->obj);
  e->json = copy;
  e->len = (uint32_t)n;
  e->obj = obj;
  e->pinned = false;
  e->rv_off = 0;
  e->rv_len = 0;
  if (meta->rv && meta->rv_len <= UINT16_MAX) {
    size_t off = (size_t)(meta->rv - text);
    if (cut && meta->rv > meta->mf_start)
      off -= cut;
    e->rv_off = (uint32_t)off;
    e->rv_len = (uint16_t)meta->rv_len;
  }
  return 0;
}

/* Add or change the object `obj` (borrowed tree, managedFields dropped);
 * `text` is its JSON when the caller has it. */
static void apply_upsert(kube_informer_t *inf, json_object *obj,
                         const char *text, size_t len,
                         const struct client_json_meta *meta) {
  cleanup_free char *key = object_key(obj);
  if (!key)
    return;
  struct client_entry *e = strmap_get(&inf->cache, key);
  if (!e) {
    e = calloc(1, sizeof *e);
    struct strmap_entry *me = NULL;
    if (!e || entry_set(inf, e, obj, text, len, meta) < 0 ||
        !(me = strmap_put(&inf->cache, key, e, NULL))) {
      entry_free(e);
      log_warn("informer %s: out of memory, dropping %s", inf->path, key);
      return;
    }
    e->key = me->key;
    e->mark = inf->mark;
    if (client_index_insert(inf, e) < 0)
      log_warn("informer %s: out of memory indexing %s", inf->path, key);
    inf->bytes += entry_bytes(e);
    notify_add(inf, e->key, e->obj);
    client_entry_unhold(strmap_get(&inf->cache, key));
    return;
  }
  /* The previous state, for on_update: parsed only when someone wants it
   * (a pinned tree is at hand already). */
  kube_object_t *prev = NULL;
  if (wants_update(inf)) {
    client_entry_object(inf, e);
    prev = e->obj;
    e->obj = NULL; /* entry_set must not free it */
  }
  inf->bytes -= entry_bytes(e);
  if (entry_set(inf, e, obj, text, len, meta) < 0) {
    /* Keep the old state rather than lose the object. */
    log_warn("informer %s: out of memory, %s stays stale", inf->path, key);
    if (prev && !e->obj)
      e->obj = prev;
    else
      kube_object_free(prev);
    inf->bytes += entry_bytes(e);
    return;
  }
  e->mark = inf->mark;
  if (client_index_update(inf, e) < 0)
    log_warn("informer %s: out of memory indexing %s", inf->path, key);
  inf->bytes += entry_bytes(e);
  if (prev)
    notify_update(inf, e->key, prev, e->obj);
  kube_object_free(prev);
  /* A handler may have pinned the tree: look the entry up again. */
  client_entry_unhold(strmap_get(&inf->cache, key));
}

/* Take `key` out of the cache, telling the handlers with `last` (may be
 * NULL: the cached state). */
static void remove_key(kube_informer_t *inf, const char *key,
                       json_object *last) {
  struct client_entry *old = strmap_get(&inf->cache, key);
  if (!old)
    return;
  client_index_remove(inf, old);
  inf->bytes -= entry_bytes(old);
  /* Keep the key alive for the handlers: the map frees its copy. */
  cleanup_free char *k = strdup(key);
  strmap_remove(&inf->cache, key);
  old->key = k;
  kube_object_t *wrapped =
      last ? kube_object_wrap(json_object_get(last)) : NULL;
  kube_object_t *o = wrapped ? wrapped : client_entry_object(inf, old);
  if (o && k)
    notify_delete(inf, k, o);
  kube_object_free(wrapped);
  entry_free(old);
}

/* One item of a LIST, its text [v, ve): skipped without parsing when the
 * cache has it at the same resourceVersion (a re-list of 150,000 pods that
 * did not change parses none of them). */
static int list_item(kube_informer_t *inf, const char *v, const char *ve) {
  size_t len = (size_t)(ve - v);
  struct client_json_meta m;
  client_json_scan_meta(v, len, &m);
  if (m.found && m.name && m.rv) {
    char stack[256];
    size_t kl = m.name_len + (m.ns ? m.ns_len + 1 : 0);
    char *key = kl < sizeof stack ? stack : malloc(kl + 1);
    if (!key)
      return -1;
    if (m.ns) {
      memcpy(key, m.ns, m.ns_len);
      key[m.ns_len] = '/';
      memcpy(key + m.ns_len + 1, m.name, m.name_len);
    } else {
      memcpy(key, m.name, m.name_len);
    }
    key[kl] = '\0';
    struct client_entry *e = strmap_get(&inf->cache, key);
    if (key != stack)
      free(key);
    if (e && m.rv_len == e->rv_len &&
        memcmp(m.rv, e->json + e->rv_off, m.rv_len) == 0) {
      e->mark = inf->mark;
      return 0;
    }
  }
  json_object *it = parse_json(inf, v, len);
  if (!it)
    return -1;
  drop_managed_fields(inf, it);
  apply_upsert(inf, it, v, len, m.found ? &m : NULL);
  json_object_put(it);
  return 0;
}

/* Bring the cache to a LIST's items, telling the handlers the
 * differences: new keys are adds, changed resourceVersions updates, keys
 * the list lacks deletes.  The list is walked as text, one item parsed at
 * a time: a tree of the whole list of 150,000 pods would take gigabytes.
 * -1 when the text is malformed (what was applied stays; nothing is
 * deleted). */
static int apply_list(kube_informer_t *inf, const char *data, size_t len) {
  const char *end = data + len, *iend = NULL, *mend = NULL, *rve = NULL;
  const char *items = client_json_member(data, end, "items", &iend, NULL, NULL);
  const char *meta =
      client_json_member(data, end, "metadata", &mend, NULL, NULL);
  const char *rv =
      meta ? client_json_member(meta, mend, "resourceVersion", &rve, NULL, NULL)
           : NULL;
  /* No items: an empty list, or text cut short before them. */
  if (!items && !client_json_is_value(data, len))
    return -1;
  inf->mark++;
  if (items && *items == '[') {
    const char *cursor = items, *v, *ve;
    int r;
    while ((r = client_json_array_next(iend, &cursor, &v, &ve)) == 1)
      if (list_item(inf, v, ve) < 0)
        return -1;
    if (r < 0)
      return -1;
  } else if (items && !str_has_prefix(items, "null")) {
    return -1;
  }
  if (rv && *rv == '"' && rve - rv >= 2) {
    cleanup_free char *s = strndup(rv + 1, (size_t)(rve - rv - 2));
    set_rv(inf, s);
  }
  /* Entries the list did not refresh are gone. */
  size_t ngone = 0, cap = 0;
  char **gone = NULL;
  STRMAP_FOREACH(&inf->cache, i, ent) {
    struct client_entry *e = ent->value;
    if (e->mark == inf->mark)
      continue;
    if (ngone == cap) {
      size_t nc = cap ? cap * 2 : 16;
      char **g = realloc(gone, nc * sizeof *g);
      if (!g)
        continue; /* out of memory: it stays until the next list */
      gone = g;
      cap = nc;
    }
    if ((gone[ngone] = strdup(ent->key)))
      ngone++;
  }
  for (size_t i = 0; i < ngone; i++) {
    remove_key(inf, gone[i], NULL);
    free(gone[i]);
  }
  free(gone);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Requests                                                                  */
/* ------------------------------------------------------------------------ */

static void reply_cb(int status, const char *ctype, const char *data,
                     size_t len, bool done, void *arg);
static void event_cb(const char *type, const kube_object_t *obj,
                     const char *line, size_t len, void *arg);

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
    kube_strbuf_clear(&sb);
    return kube_make_oom(err);
  }
  struct client_call_ctx *ctx = calloc(1, sizeof *ctx);
  if (!ctx) {
    kube_strbuf_clear(&sb);
    return kube_make_oom(err);
  }
  ctx->inf = inf;
  ctx->gen = ++inf->gen;
  kube_transport_request_t req = {
      .struct_size = sizeof req,
      .method = "GET",
      .path = sb.data,
      /* Objects come without managedFields: for informers that drop them. */
      .event_cb = watch && !inf->keep_managed_fields ? event_cb : NULL,
  };
  inf->call = kube_transport_request(&inf->tp, &req, reply_cb, ctx, err);
  kube_strbuf_clear(&sb);
  if (!inf->call) {
    free(ctx);
    return -1;
  }
  free(inf->ctx);
  inf->ctx = ctx;
  inf->phase = watch ? CLIENT_P_WATCHING : CLIENT_P_LISTING;
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
  flush_initial(inf);
  if (apply_list(inf, data, len) < 0) {
    log_warn("informer %s: malformed list", inf->path);
    schedule_restart(inf, true, next_backoff(inf));
    return;
  }
  bool first = !inf->synced;
  inf->synced = true;
  /* Watch right away, from the list's resourceVersion. */
  schedule_restart(inf, false, 0);
  if (first)
    notify_synced(inf);
}

/* The object's own text in a watch line {"type":"...","object":<obj>}. */
static const char *object_text(const char *line, size_t len, size_t *tlen) {
  const char *p = memmem(line, len, "\",\"object\":", 11);
  if (p && str_has_prefix(line, "{\"type\":\"") && p + 11 < line + len &&
      p[11] == '{' && line[len - 1] == '}') {
    *tlen = (size_t)(line + len - 1 - (p + 11));
    return p + 11;
  }
  return NULL;
}

/* The text [a, a + alen) followed by [b, b + blen) parsed as one JSON
 * object, without joining them in a buffer; NULL when that is no object. */
static json_object *parse_json_cut(kube_informer_t *inf, const char *a,
                                   size_t alen, const char *b, size_t blen) {
  if (alen > INT_MAX || blen > INT_MAX)
    return NULL;
  if (!inf->tok && !(inf->tok = json_tokener_new_ex(256)))
    return NULL;
  json_tokener_reset(inf->tok);
  json_object *o = json_tokener_parse_ex(inf->tok, a, (int)alen);
  if (o || json_tokener_get_error(inf->tok) != json_tokener_continue) {
    json_object_put(o);
    return NULL;
  }
  o = json_tokener_parse_ex(inf->tok, b, (int)blen);
  if (o && (json_tokener_get_error(inf->tok) != json_tokener_success ||
            !json_object_is_type(o, json_type_object))) {
    json_object_put(o);
    o = NULL;
  }
  return o;
}

/* A watch line as a tree.  An informer that drops managedFields does not
 * build them: the member is found in the object's metadata as text and
 * left out of the parse (it is most of a written object's text). */
static json_object *parse_watch_line(kube_informer_t *inf, const char *line,
                                     size_t len) {
  size_t tlen = 0;
  const char *text =
      inf->keep_managed_fields ? NULL : object_text(line, len, &tlen);
  const char *mve = NULL, *fve = NULL, *ms = NULL, *me = NULL;
  const char *m = text ? client_json_member(text, text + tlen, "metadata",
                                            &mve, NULL, NULL)
                       : NULL;
  if (m && *m == '{' &&
      client_json_member(m, mve, "managedFields", &fve, &ms, &me) && ms &&
      me && ms > line && me <= line + len) {
    json_object *o = parse_json_cut(inf, line, (size_t)(ms - line), me,
                                    (size_t)(line + len - me));
    if (o)
      return o;
  }
  return parse_json(inf, line, len);
}

/* One watch event: `obj` its object, changed only when `owned` (a shared
 * object from the transport has no managedFields already), `line` its
 * line.  Returns false when the watch must be abandoned. */
static bool handle_watch_event(kube_informer_t *inf, const char *type,
                               json_object *obj, bool owned, const char *line,
                               size_t len) {
  bool ok = true;
  if (!type || !obj || !json_object_is_type(obj, json_type_object)) {
    ok = false;
    schedule_restart(inf, true, next_backoff(inf));
  } else if (streq(type, "ADDED") || streq(type, "MODIFIED")) {
    flush_initial(inf);
    set_rv(inf, kube_json_get_string(obj, "metadata.resourceVersion"));
    if (owned)
      drop_managed_fields(inf, obj);
    size_t tlen = 0;
    const char *text = object_text(line, len, &tlen);
    apply_upsert(inf, obj, text, tlen, NULL);
  } else if (streq(type, "DELETED")) {
    flush_initial(inf);
    set_rv(inf, kube_json_get_string(obj, "metadata.resourceVersion"));
    if (owned)
      drop_managed_fields(inf, obj);
    cleanup_free char *key = object_key(obj);
    if (key)
      remove_key(inf, key, obj);
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
  if (ok) {
    inf->watch_events = true;
    inf->backoff_ms = 0;
  }
  return ok;
}

/* One watch line.  Returns false when the watch must be abandoned. */
static bool handle_watch_line(kube_informer_t *inf, const char *line,
                              size_t len) {
  json_object *ev = parse_watch_line(inf, line, len);
  if (!ev) {
    log_warn("informer %s: malformed watch event, re-listing", inf->path);
    schedule_restart(inf, true, next_backoff(inf));
    return false;
  }
  bool ok = handle_watch_event(inf, kube_json_get_string(ev, "type"),
                               kube_json_get(ev, "object"), true, line, len);
  json_object_put(ev);
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

/* A watch event the transport had as an object (shared: never changed,
 * referenced by the cache entry as any tree it holds). */
static void event_cb(const char *type, const kube_object_t *obj,
                     const char *line, size_t len, void *arg) {
  struct client_call_ctx *ctx = arg;
  kube_informer_t *inf = ctx->inf;
  if (ctx->gen != inf->gen || inf->phase != CLIENT_P_WATCHING)
    return;
  if (inf->line.len) {
    /* A line cut short before it: the stream is not what it claims. */
    kube_strbuf_reset(&inf->line);
    log_warn("informer %s: malformed watch event, re-listing", inf->path);
    schedule_restart(inf, true, next_backoff(inf));
    return;
  }
  if (len && line[len - 1] == '\n')
    len--;
  handle_watch_event(inf, type, kube_object_json(obj), false, line, len);
}

static void reply_cb(int status, const char *ctype, const char *data,
                     size_t len, bool done, void *arg) {
  struct client_call_ctx *ctx = arg;
  kube_informer_t *inf = ctx->inf;
  /* After its done callback the handle is gone, even for a call we gave
   * up on (a 410 inside the stream, then the server closing it before the
   * restart ran): the restart must not cancel it. */
  if (done && inf->ctx == ctx)
    inf->call = NULL;
  if (ctx->gen != inf->gen) {
    /* An abandoned call: its last callback releases nothing of ours
     * (ctx is freed with the next call or the informer). */
    return;
  }
  if (inf->phase == CLIENT_P_LISTING) {
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

/* ------------------------------------------------------------------------ */
/* Public                                                                    */
/* ------------------------------------------------------------------------ */

KUBE_EXPORT kube_informer_t *
kube_informer_new(kube_loop_t *kloop, const kube_transport_t *tp,
                  const kube_informer_options_t *opts,
                  const kube_informer_handlers_t *handlers, void *arg,
                  kube_error_t *err) {
  struct event_base *base = kube_loop_base(kloop);
  if (!base || !tp || !tp->ops || !opts || !opts->path || !*opts->path) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "informer needs an event loop, a transport and a path");
    return NULL;
  }
  kube_informer_options_t o = {0};
  core_opts_copy(&o, opts);
  kube_informer_t *inf = calloc(1, sizeof *inf);
  if (!inf) {
    kube_make_oom(err);
    return NULL;
  }
  inf->base = base;
  inf->tp = *tp;
  inf->keep_managed_fields = o.keep_managed_fields;
  kube_strbuf_t q = KUBE_STRBUF_INIT;
  kube_strbuf_append(&q, "");
  if (o.label_selector && *o.label_selector)
    client_query_add(&q, "labelSelector", o.label_selector);
  if (o.field_selector && *o.field_selector)
    client_query_add(&q, "fieldSelector", o.field_selector);
  inf->query = kube_strbuf_steal(&q);
  inf->path = strdup(o.path);
  inf->label_selector = strdup(o.label_selector ? o.label_selector : "");
  inf->field_selector = strdup(o.field_selector ? o.field_selector : "");
  inf->restart_ev = evtimer_new(base, restart_cb, inf);
  inf->deliver_ev = event_new(base, -1, 0, deliver_cb, inf);
  if (!inf->query || !inf->path || !inf->label_selector ||
      !inf->field_selector || !inf->restart_ev || !inf->deliver_ev ||
      (handlers && !kube_informer_add_handlers(inf, handlers, arg, err))) {
    client_informer_free_owned(inf);
    kube_make_oom(err);
    return NULL;
  }
  return inf;
}

KUBE_EXPORT int kube_informer_start(kube_informer_t *inf, kube_error_t *err) {
  if (inf->phase != CLIENT_P_IDLE) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EALREADY,
                   "informer %s already started", inf->path);
    return -1;
  }
  inf->backoff_ms = 0;
  inf->relist = false;
  return start_call(inf, false, err);
}

KUBE_EXPORT void kube_informer_stop(kube_informer_t *inf) {
  if (!inf)
    return;
  event_del(inf->restart_ev);
  if (inf->call) {
    kube_transport_cancel(&inf->tp, inf->call);
    inf->call = NULL;
  }
  inf->gen++;
  inf->phase = CLIENT_P_IDLE;
}

KUBE_EXPORT bool kube_informer_running(const kube_informer_t *inf) {
  return inf->phase != CLIENT_P_IDLE;
}

KUBE_EXPORT bool kube_informer_synced(const kube_informer_t *inf) {
  return inf->synced;
}

KUBE_EXPORT kube_informer_registration_t *
kube_informer_add_handlers(kube_informer_t *inf,
                           const kube_informer_handlers_t *handlers, void *arg,
                           kube_error_t *err) {
  struct kube_informer_registration *r = calloc(1, sizeof *r);
  if (!r) {
    kube_make_oom(err);
    return NULL;
  }
  r->inf = inf;
  r->arg = arg;
  core_opts_copy(&r->h, handlers);
  r->h.struct_size = sizeof r->h;
  /* Late: owed an add per cached object (and on_synced), from the loop. */
  if (inf->synced || inf->cache.n) {
    r->initial_pending = true;
    inf->n_initial++;
    event_active(inf->deliver_ev, 0, 0);
  }
  struct kube_informer_registration **pp = &inf->regs;
  while (*pp)
    pp = &(*pp)->next;
  *pp = r;
  return r;
}

KUBE_EXPORT void
kube_informer_remove_handlers(kube_informer_t *inf,
                              kube_informer_registration_t *reg) {
  if (!inf || !reg || reg->removed)
    return;
  reg->removed = true;
  inf->reap = true;
  reap_registrations(inf);
}

KUBE_EXPORT bool
kube_informer_registration_synced(const kube_informer_registration_t *reg) {
  return reg && reg->synced;
}

KUBE_EXPORT const kube_object_t *kube_informer_get(const kube_informer_t *inf,
                                                   const char *key) {
  struct client_entry *e = key ? strmap_get(&inf->cache, key) : NULL;
  if (!e)
    return NULL;
  kube_object_t *o = client_entry_object((kube_informer_t *)inf, e);
  if (o)
    e->pinned = true;
  return o;
}

KUBE_EXPORT kube_object_t *kube_informer_ref(const kube_informer_t *inf,
                                             const char *key) {
  struct client_entry *e = key ? strmap_get(&inf->cache, key) : NULL;
  if (!e)
    return NULL;
  /* A tree held already (pinned, or a handler's) is shared, not parsed
   * again; otherwise the parse is the caller's alone and goes with it. */
  if (e->obj)
    return kube_object_wrap(json_object_get(kube_object_json(e->obj)));
  json_object *t = parse_json((kube_informer_t *)inf, e->json, e->len);
  return t ? kube_object_wrap(t) : NULL;
}

KUBE_EXPORT bool kube_informer_has(const kube_informer_t *inf,
                                   const char *key) {
  return key && strmap_find(&inf->cache, key);
}

KUBE_EXPORT size_t kube_informer_count(const kube_informer_t *inf) {
  return inf->cache.n;
}

KUBE_EXPORT const char *
kube_informer_resource_version(const kube_informer_t *inf) {
  return inf->rv ? inf->rv : "";
}

KUBE_EXPORT const char *kube_informer_path(const kube_informer_t *inf) {
  return inf->path;
}

KUBE_EXPORT size_t kube_informer_foreach(const kube_informer_t *inf,
                                         void (*fn)(const char *key,
                                                    const kube_object_t *obj,
                                                    void *arg),
                                         void *arg) {
  size_t n = 0;
  STRMAP_FOREACH(&inf->cache, i, ent) {
    struct client_entry *e = ent->value;
    bool had = e->obj != NULL;
    kube_object_t *o = client_entry_object((kube_informer_t *)inf, e);
    if (!o)
      continue;
    fn(ent->key, o, arg);
    if (!had)
      client_entry_unhold(e);
    n++;
  }
  return n;
}

KUBE_EXPORT uint64_t kube_informer_list_count(const kube_informer_t *inf) {
  return inf->lists;
}

KUBE_EXPORT size_t kube_informer_cache_bytes(const kube_informer_t *inf) {
  size_t n = inf->bytes + inf->cache.nbuckets * sizeof(void *);
  for (struct client_index *ix = inf->indexes; ix; ix = ix->next) {
    n += ix->buckets.nbuckets * sizeof(void *);
    STRMAP_FOREACH(&ix->buckets, i, ent) {
      struct client_bucket *b = ent->value;
      n += sizeof *b + sizeof(struct strmap_entry) + strlen(ent->key) + 1 +
           b->cap * sizeof *b->v;
    }
  }
  return n;
}

void client_informer_free_owned(kube_informer_t *inf) {
  if (!inf)
    return;
  if (inf->call)
    kube_transport_cancel(&inf->tp, inf->call);
  if (inf->restart_ev)
    event_free(inf->restart_ev);
  if (inf->deliver_ev)
    event_free(inf->deliver_ev);
  client_index_free_all(inf);
  strmap_clear(&inf->cache, entry_free);
  for (struct kube_informer_registration *r = inf->regs, *next; r; r = next) {
    next = r->next;
    free(r);
  }
  client_index_values_clear(&inf->scratch);
  free(inf->scratch.v);
  kube_strbuf_clear(&inf->line);
  if (inf->tok)
    json_tokener_free(inf->tok);
  free(inf->ctx);
  free(inf->rv);
  free(inf->path);
  free(inf->query);
  free(inf->label_selector);
  free(inf->field_selector);
  free(inf);
}

KUBE_EXPORT void kube_informer_free(kube_informer_t *inf) {
  if (!inf)
    return;
  if (inf->owned_by_factory) {
    log_warn("informer %s belongs to its factory: not freed", inf->path);
    return;
  }
  client_informer_free_owned(inf);
}
