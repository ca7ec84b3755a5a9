/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The etcd backend: etcd 3.4+ through its v3 JSON gateway (HTTP/1.1, keys
 * and values in base64), with libevent's evhttp client on the caller's loop.
 *
 * - Open ranges the whole prefix into the cache (pages of RANGE_PAGE keys,
 *   all at the revision of the first page) on a private event_base, so open
 *   stays synchronous, then watches the prefix from that revision + 1 on the
 *   caller's loop.  The watch is the only thing that changes the cache, so
 *   the cache and the history are etcd's sequence of changes, in order.
 * - Writes are transactions comparing create_revision (create, and update or
 *   delete without an expected revision) or mod_revision (with one); etcd
 *   decides conflicts and assigns revisions.  Several go out at once over a
 *   pool of connections (evhttp runs one request at a time per connection).
 *   A write's callback waits until the watch brought the cache to its
 *   revision (store_op_done holds it), which gives read-your-writes without
 *   guessing the cache from responses that can arrive out of order.
 * - When the watch stream ends it is restarted from the cache's revision;
 *   if etcd compacted that revision away, the prefix is listed again and
 *   watchers end with Expired.
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>

#include "store/etcd.h"

#define N_CONN 64
#define RANGE_PAGE 5000
#define REQUEST_TIMEOUT_S 30
#define WATCH_RETRY_MS 300

struct endpoint {
  char *host;
  int port;
};

struct conn {
  struct evhttp_connection *evcon;
  int inflight;
};

struct ereq {
  struct ereq *prev, *next;
  struct etcd *e;
  struct store_op *op; /* NULL for fire-and-forget requests (compaction) */
  struct evhttp_request *req;
  struct conn *conn;
};

struct etcd {
  kube_store_t *s;
  struct endpoint *eps;
  size_t n_eps;
  char *prefix;
  size_t prefix_len;
  char *range_end; /* prefix + 1 in the last byte: the end of the range */
  size_t range_end_len;

  struct conn conns[N_CONN];
  struct ereq *reqs; /* in flight */

  struct evhttp_connection *wcon;
  struct evhttp_request *wreq;
  struct evbuffer *wbuf;
  json_tokener *wtok; /* parses the watch stream's messages */
  struct event *retry_ev;
  unsigned next_ep;
  int wcon_ep; /* endpoint of wcon */
  bool need_resync;
  bool closing;
};

/* ---- plumbing ---- */

static int parse_endpoints(struct etcd *e, const char *list,
                           kube_error_t *err) {
  if (!list || !*list)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "etcd store: no endpoints given");
  cleanup_free char *copy = strdup(list);
  if (!copy)
    return kube_make_oom(err);
  char *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok;
       tok = strtok_r(NULL, ",", &save)) {
    while (*tok == ' ')
      tok++;
    struct evhttp_uri *uri = evhttp_uri_parse(tok);
    const char *scheme = uri ? evhttp_uri_get_scheme(uri) : NULL;
    const char *host = uri ? evhttp_uri_get_host(uri) : NULL;
    if (!uri || !scheme || !host || strcasecmp(scheme, "http") != 0) {
      if (uri)
        evhttp_uri_free(uri);
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                            "etcd store: bad endpoint \"%s\" (http://host:port "
                            "expected)",
                            tok);
    }
    struct endpoint *n = realloc(e->eps, (e->n_eps + 1) * sizeof(*n));
    if (!n) {
      evhttp_uri_free(uri);
      return kube_make_oom(err);
    }
    e->eps = n;
    int port = evhttp_uri_get_port(uri);
    e->eps[e->n_eps].port = port > 0 ? port : 2379;
    e->eps[e->n_eps].host = strdup(host);
    evhttp_uri_free(uri);
    if (!e->eps[e->n_eps].host)
      return kube_make_oom(err);
    e->n_eps++;
  }
  if (!e->n_eps)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "etcd store: no endpoints given");
  return 0;
}

static struct evhttp_connection *
new_conn(struct etcd *e, struct event_base *base, int ep, int timeout_s) {
  struct evhttp_connection *c = evhttp_connection_base_new(
      base, NULL, e->eps[ep].host, (unsigned short)e->eps[ep].port);
  if (c) {
    evhttp_connection_set_timeout(c, timeout_s);
    evhttp_connection_set_retries(c, 0);
  }
  return c;
}

static struct evhttp_request *
new_request(struct etcd *e, int ep, void (*cb)(struct evhttp_request *, void *),
            void *arg, const kube_strbuf_t *body) {
  struct evhttp_request *req = evhttp_request_new(cb, arg);
  if (!req)
    return NULL;
  struct evkeyvalq *h = evhttp_request_get_output_headers(req);
  evhttp_add_header(h, "Host", e->eps[ep].host);
  evhttp_add_header(h, "Content-Type", "application/json");
  evbuffer_add(evhttp_request_get_output_buffer(req), body->data, body->len);
  return req;
}

/* Parse a complete response body; NULL when it is not JSON. */
static json_object *response_json(struct evhttp_request *req) {
  struct evbuffer *in = evhttp_request_get_input_buffer(req);
  size_t len = evbuffer_get_length(in);
  const char *data = (const char *)evbuffer_pullup(in, -1);
  if (!data)
    return NULL;
  json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
  if (!tok)
    return NULL;
  json_object *obj = json_tokener_parse_ex(tok, data, (int)len);
  json_tokener_free(tok);
  return obj;
}

static void error_from_response(kube_error_t *err, struct evhttp_request *req,
                                json_object *obj, const char *what) {
  int code = req ? evhttp_request_get_response_code(req) : 0;
  if (!code) {
    kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                   "etcd %s: no response", what);
    return;
  }
  const char *msg = store_etcd_json_str(obj, "message");
  if (!msg)
    msg = store_etcd_json_str(obj, "error");
  kube_error_set(err,
                 code == 503 || code == 502 ? KUBE_REASON_SERVICE_UNAVAILABLE
                 : code == 413              ? KUBE_REASON_TOO_LARGE
                                            : KUBE_REASON_INTERNAL,
                 0, "etcd %s: HTTP %d: %s", what, code, msg ? msg : "error");
}

/* The record a kv object describes, with the store prefix taken off. */
static struct rec *rec_from_kv(struct etcd *e, json_object *kv) {
  const char *k64 = store_etcd_json_str(kv, "key"),
             *v64 = store_etcd_json_str(kv, "value");
  if (!k64)
    return NULL;
  size_t klen, vlen = 0;
  cleanup_free char *key = (char *)kube_base64_decode(k64, strlen(k64), &klen, NULL);
  cleanup_free char *val = v64 ? (char *)kube_base64_decode(v64, strlen(v64), &vlen, NULL) : NULL;
  if (!key || (v64 && !val) || klen < e->prefix_len)
    return NULL;
  return store_rec_new(key + e->prefix_len, klen - e->prefix_len,
                       val ? val : "", vlen,
                       store_etcd_json_i64(kv, "create_revision"),
                       store_etcd_json_i64(kv, "mod_revision"));
}

static void append_key(struct etcd *e, kube_strbuf_t *sb, const char *key,
                       size_t len) {
  kube_strbuf_t full = KUBE_STRBUF_INIT;
  kube_strbuf_append_len(&full, e->prefix, e->prefix_len);
  kube_strbuf_append_len(&full, key, len);
  kube_strbuf_append_base64(sb, full.data ? full.data : "", full.len);
  sb->oom |= full.oom;
  kube_strbuf_clear(&full);
}

/* ---- synchronous range (open, resync) on a private loop ---- */

struct sync_call {
  struct event_base *base;
  json_object *obj;
  int code;
};

static void sync_done(struct evhttp_request *req, void *arg) {
  struct sync_call *c = arg;
  c->code = req ? evhttp_request_get_response_code(req) : 0;
  if (req && c->code)
    c->obj = response_json(req);
  event_base_loopexit(c->base, NULL);
}

static json_object *post_sync(struct etcd *e, struct event_base *base,
                              struct evhttp_connection *con, int ep,
                              const char *path, const kube_strbuf_t *body,
                              kube_error_t *err) {
  struct sync_call c = {.base = base};
  struct evhttp_request *req = new_request(e, ep, sync_done, &c, body);
  if (!req || evhttp_make_request(con, req, EVHTTP_REQ_POST, path) < 0) {
    kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                   "etcd %s: cannot send", path);
    return NULL;
  }
  event_base_dispatch(base);
  if (c.code != 200) {
    kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                   "etcd %s at %s:%d: %s%d", path, e->eps[ep].host,
                   e->eps[ep].port, c.code ? "HTTP " : "no response ", c.code);
    json_object_put(c.obj);
    return NULL;
  }
  if (!c.obj)
    kube_error_set(err, KUBE_REASON_INTERNAL, 0, "etcd %s: bad JSON", path);
  return c.obj;
}

/* Read every key under the prefix at one revision.  Fills a sorted array
 * of records (owned) and the revision. */
static int range_all_err(struct etcd *e, struct rec ***out, size_t *out_n,
                         int64_t *out_rev, kube_error_t *err);

static int range_all(struct etcd *e, struct rec ***out, size_t *out_n,
                     int64_t *out_rev, kube_error_t *err) {
  /* A local error: the caller's may be NULL, and failures must be seen. */
  kube_error_t local = KUBE_ERROR_INIT;
  int rc = range_all_err(e, out, out_n, out_rev, &local);
  if (rc < 0) {
    if (!kube_error_is_set(&local))
      kube_error_set(&local, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                     "etcd range failed");
    if (err)
      kube_error_move(err, &local);
  }
  kube_error_clear(&local);
  return rc;
}

static int range_all_err(struct etcd *e, struct rec ***out, size_t *out_n,
                         int64_t *out_rev, kube_error_t *err) {
  struct event_base *base = event_base_new();
  if (!base)
    return kube_make_oom(err);
  struct evhttp_connection *con = NULL;
  struct rec **recs = NULL;
  size_t n = 0, cap = 0;
  int64_t rev = 0;
  kube_strbuf_t start = KUBE_STRBUF_INIT, body = KUBE_STRBUF_INIT;
  int rc = -1;
  int ep = -1;

  /* The first endpoint that answers. */
  for (size_t i = 0; i < e->n_eps && ep < 0; i++) {
    kube_error_clear(err);
    con = new_conn(e, base, (int)i, REQUEST_TIMEOUT_S);
    if (!con)
      goto oom;
    kube_strbuf_append_len(&start, e->prefix, e->prefix_len);
    for (;;) {
      kube_strbuf_reset(&body);
      kube_strbuf_append(&body, "{\"key\":\"");
      /* etcd rejects an empty key; "\0" starts the whole key space. */
      if (start.len)
        kube_strbuf_append_base64(&body, start.data, start.len);
      else
        kube_strbuf_append_base64(&body, "", 1);
      kube_strbuf_append(&body, "\",\"range_end\":\"");
      kube_strbuf_append_base64(&body, e->range_end, e->range_end_len);
      kube_strbuf_printf(&body, "\",\"limit\":\"%d\"", RANGE_PAGE);
      if (rev)
        kube_strbuf_printf(&body, ",\"revision\":\"%lld\"", (long long)rev);
      kube_strbuf_append(&body, "}");
      if (body.oom || start.oom)
        goto oom;
      json_object *obj =
          post_sync(e, base, con, (int)i, "/v3/kv/range", &body, err);
      if (!obj)
        break;
      ep = (int)i;
      if (!rev)
        rev =
            store_etcd_json_i64(store_etcd_json_get(obj, "header"), "revision");
      json_object *kvs = store_etcd_json_get(obj, "kvs");
      size_t m = kvs ? json_object_array_length(kvs) : 0;
      for (size_t j = 0; j < m; j++) {
        if (n == cap) {
          size_t ncap = cap ? cap * 2 : 1024;
          struct rec **nr = realloc(recs, ncap * sizeof(*nr));
          if (!nr) {
            json_object_put(obj);
            goto oom;
          }
          recs = nr;
          cap = ncap;
        }
        recs[n] = rec_from_kv(e, json_object_array_get_idx(kvs, j));
        if (!recs[n]) {
          json_object_put(obj);
          kube_error_set(err, KUBE_REASON_INTERNAL, 0,
                         "etcd range: malformed key-value");
          goto out;
        }
        n++;
      }
      bool more = json_object_get_boolean(store_etcd_json_get(obj, "more"));
      json_object_put(obj);
      if (!more || m == 0)
        break;
      /* Continue right after the last key. */
      kube_strbuf_reset(&start);
      kube_strbuf_append_len(&start, e->prefix, e->prefix_len);
      kube_strbuf_append(&start, recs[n - 1]->pub.key);
      kube_strbuf_append_len(&start, "", 1);
    }
    if (ep < 0) {
      evhttp_connection_free(con);
      con = NULL;
      kube_strbuf_reset(&start);
    }
  }
  if (ep < 0)
    goto out;
  if (kube_error_is_set(err))
    goto out;
  *out = recs;
  *out_n = n;
  *out_rev = rev;
  recs = NULL;
  n = 0;
  rc = 0;
  goto out;
oom:
  kube_make_oom(err);
out:
  for (size_t i = 0; i < n; i++)
    store_rec_unref(recs[i]);
  free(recs);
  kube_strbuf_clear(&start);
  kube_strbuf_clear(&body);
  if (con)
    evhttp_connection_free(con);
  event_base_free(base);
  return rc;
}

/* ---- watch ---- */

static void watch_start(struct etcd *e);

static void watch_retry_later(struct etcd *e) {
  if (e->closing)
    return;
  struct timeval tv = {0, WATCH_RETRY_MS * 1000};
  evtimer_add(e->retry_ev, &tv);
}

static void resync(struct etcd *e) {
  struct rec **recs = NULL;
  size_t n = 0;
  int64_t rev = 0;
  kube_error_t err = KUBE_ERROR_INIT;
  if (range_all(e, &recs, &n, &rev, &err) < 0) {
    log_warn("etcd store: relist failed: %s", err.message);
    kube_error_clear(&err);
    watch_retry_later(e);
    return;
  }
  if (store_reset_state(e->s, recs, n, rev) < 0) {
    for (size_t i = 0; i < n; i++)
      store_rec_unref(recs[i]);
    kube_make_oom(&err);
    store_set_broken(e->s, &err);
    kube_error_clear(&err);
  }
  free(recs);
  watch_start(e);
}

static void apply_event(struct etcd *e, json_object *ev) {
  kube_store_t *s = e->s;
  json_object *kv = store_etcd_json_get(ev, "kv");
  json_object *pkv = store_etcd_json_get(ev, "prev_kv");
  const char *type = store_etcd_json_str(ev, "type");
  bool del = type && streq(type, "DELETE");
  int64_t rev = store_etcd_json_i64(kv, "mod_revision");
  /* Already in the cache (defensive: the watch restarts after the cache's
   * revision).  Equal revisions are further keys of one transaction. */
  if (rev < s->revision)
    return;
  struct rec *prev = pkv ? rec_from_kv(e, pkv) : NULL;
  struct rec *rec = NULL;
  if (del) {
    const char *k64 = store_etcd_json_str(kv, "key");
    size_t klen = 0;
    cleanup_free char *key = k64 ? (char *)kube_base64_decode(k64, strlen(k64), &klen, NULL) : NULL;
    if (!key || klen < e->prefix_len) {
      store_rec_unref(prev);
      return;
    }
    if (!prev)
      prev = rec_ref(store_cache_find(&s->cache, key + e->prefix_len));
    rec = prev ? store_rec_with_mod(prev, rev)
               : store_rec_new(key + e->prefix_len, klen - e->prefix_len, "", 0,
                               0, rev);
  } else {
    rec = rec_from_kv(e, kv);
    if (rec && !prev)
      prev = rec_ref(store_cache_find(&s->cache, rec->pub.key));
  }
  if (!rec) {
    store_rec_unref(prev);
    kube_error_t err = KUBE_ERROR_INIT;
    kube_error_set(&err, KUBE_REASON_INTERNAL, 0,
                   "etcd watch: malformed event or out of memory");
    store_set_broken(s, &err);
    kube_error_clear(&err);
    return;
  }
  kube_store_event_type_t t =
      del ? KUBE_STORE_EVENT_DELETE
      : rec->pub.create_revision == rec->pub.mod_revision
          ? KUBE_STORE_EVENT_CREATE
          : KUBE_STORE_EVENT_UPDATE;
  if (t == KUBE_STORE_EVENT_CREATE) {
    store_rec_unref(prev); /* a create has no previous record */
    prev = NULL;
  }
  store_apply(s, t, rec, prev);
}

/* One message of the watch stream. */
static void watch_message(struct etcd *e, const char *line, size_t len) {
  json_tokener_reset(e->wtok);
  json_object *obj = json_tokener_parse_ex(e->wtok, line, (int)len);
  if (!obj)
    return;
  json_object *res = store_etcd_json_get(obj, "result");
  if (!res) {
    log_warn("etcd store: watch error: %.200s", line);
    json_object_put(obj);
    return;
  }
  if (store_etcd_json_i64(res, "compact_revision") > 0 &&
      json_object_get_boolean(store_etcd_json_get(res, "canceled"))) {
    json_object_put(obj);
    /* History we still need is gone: list again, from the timer (not
     * inside evhttp's callback for this very request). */
    e->need_resync = true;
    struct timeval now = {0, 0};
    evtimer_add(e->retry_ev, &now);
    return;
  }
  json_object *events = store_etcd_json_get(res, "events");
  size_t n = events ? json_object_array_length(events) : 0;
  for (size_t i = 0; i < n; i++)
    apply_event(e, json_object_array_get_idx(events, i));
  json_object_put(obj);
}

static void watch_chunk(struct evhttp_request *req, void *arg) {
  struct etcd *e = arg;
  evbuffer_add_buffer(e->wbuf, evhttp_request_get_input_buffer(req));
  char *line;
  size_t len;
  while (e->wreq == req && !e->need_resync &&
         (line = evbuffer_readln(e->wbuf, &len, EVBUFFER_EOL_LF))) {
    watch_message(e, line, len);
    free(line);
  }
}

static void watch_done(struct evhttp_request *req, void *arg) {
  struct etcd *e = arg;
  if (e->wreq != req && req)
    return;
  e->wreq = NULL;
  evbuffer_drain(e->wbuf, evbuffer_get_length(e->wbuf));
  if (!e->closing) {
    log_debug("etcd store: watch stream ended, restarting");
    watch_retry_later(e);
  }
}

static void watch_start(struct etcd *e) {
  if (e->closing || e->wreq)
    return;
  kube_store_t *s = e->s;
  if (!e->wcon) {
    int ep = (int)(e->next_ep++ % e->n_eps);
    e->wcon_ep = ep;
    /* A watch is idle for as long as nothing changes. */
    e->wcon = new_conn(e, s->base, ep, 365 * 24 * 3600);
    if (!e->wcon) {
      watch_retry_later(e);
      return;
    }
  }
  kube_strbuf_t body = KUBE_STRBUF_INIT;
  kube_strbuf_append(&body, "{\"create_request\":{\"key\":\"");
  /* An empty prefix watches the whole key space, from key "\0". */
  kube_strbuf_append_base64(&body, e->prefix_len ? e->prefix : "",
                        e->prefix_len ? e->prefix_len : 1);
  kube_strbuf_append(&body, "\",\"range_end\":\"");
  kube_strbuf_append_base64(&body, e->range_end, e->range_end_len);
  /* No prev_kv: the cache is at the revision before each event, so it holds
   * the previous record; asking etcd for it costs etcd a read per event. */
  kube_strbuf_printf(&body, "\",\"start_revision\":\"%lld\"}}",
                     (long long)(s->revision + 1));
  struct evhttp_request *req =
      body.oom ? NULL : new_request(e, e->wcon_ep, watch_done, e, &body);
  kube_strbuf_clear(&body);
  if (!req) {
    watch_retry_later(e);
    return;
  }
  evhttp_request_set_chunked_cb(req, watch_chunk);
  e->wreq = req;
  if (evhttp_make_request(e->wcon, req, EVHTTP_REQ_POST, "/v3/watch") < 0) {
    e->wreq = NULL;
    evhttp_connection_free(e->wcon);
    e->wcon = NULL;
    watch_retry_later(e);
  }
}

static void retry_cb(evutil_socket_t fd, short what, void *arg) {
  struct etcd *e = arg;
  if (e->need_resync) {
    e->need_resync = false;
    if (e->wreq) {
      evhttp_cancel_request(e->wreq);
      e->wreq = NULL;
    }
    evbuffer_drain(e->wbuf, evbuffer_get_length(e->wbuf));
    if (e->wcon) {
      evhttp_connection_free(e->wcon);
      e->wcon = NULL;
    }
    resync(e);
    return;
  }
  /* A fresh connection: the old one may point at a dead member. */
  if (e->wcon && !e->wreq) {
    evhttp_connection_free(e->wcon);
    e->wcon = NULL;
  }
  watch_start(e);
}

/* ---- writes ---- */

static void ereq_unlink(struct etcd *e, struct ereq *r) {
  if (r->prev)
    r->prev->next = r->next;
  else
    e->reqs = r->next;
  if (r->next)
    r->next->prev = r->prev;
  if (r->conn)
    r->conn->inflight--;
}

static void write_result(struct etcd *e, struct store_op *op,
                         struct evhttp_request *req) {
  json_object *obj =
      req && evhttp_request_get_response_code(req) ? response_json(req) : NULL;
  int code = req ? evhttp_request_get_response_code(req) : 0;
  if (code != 200 || !obj) {
    op->failed = true;
    error_from_response(&op->err, req, obj, "write");
    json_object_put(obj);
    return;
  }
  int64_t rev =
      store_etcd_json_i64(store_etcd_json_get(obj, "header"), "revision");
  json_object *resps = store_etcd_json_get(obj, "responses");
  json_object *r0 = resps && json_object_array_length(resps) > 0
                        ? json_object_array_get_idx(resps, 0)
                        : NULL;
  const char *key = op->rec->pub.key;
  if (!json_object_get_boolean(store_etcd_json_get(obj, "succeeded"))) {
    op->failed = true;
    json_object *kvs =
        store_etcd_json_get(store_etcd_json_get(r0, "response_range"), "kvs");
    json_object *kv = kvs && json_object_array_length(kvs) > 0
                          ? json_object_array_get_idx(kvs, 0)
                          : NULL;
    if (op->type == OP_CREATE)
      kube_error_set(&op->err, KUBE_REASON_ALREADY_EXISTS, 0,
                     "key %s already exists", key);
    else if (!kv)
      kube_error_set(&op->err, KUBE_REASON_NOT_FOUND, 0, "key %s not found",
                     key);
    else
      kube_error_set(&op->err, KUBE_REASON_CONFLICT, 0,
                     "key %s: revision is %lld, expected %lld", key,
                     (long long)store_etcd_json_i64(kv, "mod_revision"),
                     (long long)op->expected);
    json_object_put(obj);
    return;
  }
  struct rec *written = NULL;
  if (op->type == OP_DELETE) {
    json_object *pkvs = store_etcd_json_get(
        store_etcd_json_get(r0, "response_delete_range"), "prev_kvs");
    json_object *pkv = pkvs && json_object_array_length(pkvs) > 0
                           ? json_object_array_get_idx(pkvs, 0)
                           : NULL;
    struct rec *prev = pkv ? rec_from_kv(e, pkv) : NULL;
    written = prev ? store_rec_with_mod(prev, rev)
                   : store_rec_new(key, strlen(key), "", 0, 0, rev);
    store_rec_unref(prev);
  } else {
    json_object *pkv =
        store_etcd_json_get(store_etcd_json_get(r0, "response_put"), "prev_kv");
    int64_t create = op->type == OP_CREATE || !pkv
                         ? rev
                         : store_etcd_json_i64(pkv, "create_revision");
    written = store_rec_new(key, strlen(key), op->rec->pub.value,
                            op->rec->pub.value_len, create, rev);
  }
  json_object_put(obj);
  if (!written) {
    op->failed = true;
    kube_make_oom(&op->err);
    return;
  }
  store_rec_unref(op->rec);
  op->rec = written;
}

static void write_done(struct evhttp_request *req, void *arg) {
  struct ereq *r = arg;
  struct etcd *e = r->e;
  ereq_unlink(e, r);
  if (r->op) {
    write_result(e, r->op, req);
    store_op_done(e->s, r->op);
  } else if (!req || evhttp_request_get_response_code(req) != 200) {
    log_warn("etcd store: compaction request failed (HTTP %d)",
             req ? evhttp_request_get_response_code(req) : 0);
  }
  free(r);
}

static struct conn *pick_conn(struct etcd *e) {
  struct conn *best = NULL;
  for (int i = 0; i < N_CONN; i++) {
    struct conn *c = &e->conns[i];
    if (!c->evcon) {
      c->evcon = new_conn(e, e->s->base, i % (int)e->n_eps, REQUEST_TIMEOUT_S);
      if (!c->evcon)
        continue;
    }
    if (!best || c->inflight < best->inflight)
      best = c;
    if (c->inflight == 0)
      break;
  }
  return best;
}

static int send_request(struct etcd *e, struct store_op *op, const char *path,
                        const kube_strbuf_t *body) {
  struct ereq *r = calloc(1, sizeof(*r));
  struct conn *c = pick_conn(e);
  if (!r || !c || body->oom) {
    free(r);
    return -1;
  }
  r->e = e;
  r->op = op;
  r->conn = c;
  int ep = (int)(c - e->conns) % (int)e->n_eps;
  r->req = new_request(e, ep, write_done, r, body);
  if (!r->req) {
    free(r);
    return -1;
  }
  if (evhttp_make_request(c->evcon, r->req, EVHTTP_REQ_POST, path) < 0) {
    /* evhttp freed the request. */
    free(r);
    return -1;
  }
  c->inflight++;
  r->next = e->reqs;
  if (e->reqs)
    e->reqs->prev = r;
  e->reqs = r;
  return 0;
}

static void etcd_submit(kube_store_t *s, struct store_op *op) {
  struct etcd *e = s->be_data;
  const struct rec *r = op->rec;
  kube_strbuf_t b = KUBE_STRBUF_INIT;
  /* The prefixed key in base64, which the request carries two or three
   * times. */
  kube_strbuf_t k64 = KUBE_STRBUF_INIT;
  append_key(e, &k64, r->pub.key, strlen(r->pub.key));
  b.oom = k64.oom;

  kube_strbuf_append(&b, "{\"compare\":[{\"key\":\"");
  kube_strbuf_append_len(&b, k64.data, k64.len);
  if (op->type == OP_CREATE)
    kube_strbuf_append(&b, "\",\"target\":\"CREATE\",\"result\":\"EQUAL\","
                           "\"create_revision\":\"0\"}]");
  else if (op->expected)
    kube_strbuf_printf(&b,
                       "\",\"target\":\"MOD\",\"result\":\"EQUAL\","
                       "\"mod_revision\":\"%lld\"}]",
                       (long long)op->expected);
  else
    kube_strbuf_append(&b, "\",\"target\":\"CREATE\",\"result\":\"GREATER\","
                           "\"create_revision\":\"0\"}]");
  if (op->type == OP_DELETE) {
    kube_strbuf_append(&b,
                       ",\"success\":[{\"request_delete_range\":{\"key\":\"");
    kube_strbuf_append_len(&b, k64.data, k64.len);
    kube_strbuf_append(&b, "\",\"prev_kv\":true}}]");
  } else {
    kube_strbuf_append(&b, ",\"success\":[{\"request_put\":{\"key\":\"");
    kube_strbuf_append_len(&b, k64.data, k64.len);
    kube_strbuf_append(&b, "\",\"value\":\"");
    kube_strbuf_append_base64(&b, r->pub.value, r->pub.value_len);
    kube_strbuf_append(&b, "\",\"prev_kv\":true}}]");
  }
  if (op->type != OP_CREATE) {
    /* On failure, read the key to tell NotFound from Conflict. */
    kube_strbuf_append(&b, ",\"failure\":[{\"request_range\":{\"key\":\"");
    kube_strbuf_append_len(&b, k64.data, k64.len);
    kube_strbuf_append(&b, "\"}}]");
  }
  kube_strbuf_append(&b, "}");
  int rc = send_request(e, op, "/v3/kv/txn", &b);
  kube_strbuf_clear(&b);
  kube_strbuf_clear(&k64);
  if (rc < 0) {
    op->failed = true;
    kube_error_set(&op->err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                   "etcd: cannot send the request");
    /* Report from the loop, like every other outcome. */
    store_op_defer(s, op);
  }
}

static int etcd_compact(kube_store_t *s, int64_t rev, kube_error_t *err) {
  struct etcd *e = s->be_data;
  kube_strbuf_t b = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&b, "{\"revision\":\"%lld\"}", (long long)rev);
  int rc = send_request(e, NULL, "/v3/kv/compaction", &b);
  kube_strbuf_clear(&b);
  if (rc < 0)
    return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                          "etcd: cannot send the compaction request");
  return 0;
}

/* ---- open / close ---- */

static void etcd_release(struct etcd *e) {
  if (e->wreq)
    evhttp_cancel_request(e->wreq);
  if (e->wcon)
    evhttp_connection_free(e->wcon);
  for (int i = 0; i < N_CONN; i++)
    if (e->conns[i].evcon)
      evhttp_connection_free(e->conns[i].evcon);
  if (e->retry_ev)
    event_free(e->retry_ev);
  if (e->wbuf)
    evbuffer_free(e->wbuf);
  if (e->wtok)
    json_tokener_free(e->wtok);
  for (size_t i = 0; i < e->n_eps; i++)
    free(e->eps[i].host);
  free(e->eps);
  free(e->prefix);
  free(e->range_end);
  free(e);
}

static void etcd_close(kube_store_t *s) {
  struct etcd *e = s->be_data;
  e->closing = true;
  /* Unanswered writes: their outcome is unknown; the requests are dropped
   * (evhttp_cancel_request runs no callback) and the callers told. */
  while (e->reqs) {
    struct ereq *r = e->reqs;
    ereq_unlink(e, r);
    evhttp_cancel_request(r->req);
    if (r->op) {
      r->op->failed = true;
      kube_error_set(&r->op->err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                     "store closed before etcd answered; the write may or "
                     "may not have happened");
      store_op_done(s, r->op);
    }
    free(r);
  }
  etcd_release(e);
  s->be_data = NULL;
}

static int etcd_open(kube_store_t *s, const kube_store_options_t *opts,
                     kube_error_t *err) {
  struct etcd *e = calloc(1, sizeof(*e));
  if (!e)
    return kube_make_oom(err);
  e->s = s;
  if (parse_endpoints(e, opts->etcd_endpoints, err) < 0)
    goto fail;
  e->prefix = strdup(opts->etcd_prefix ? opts->etcd_prefix : "");
  if (!e->prefix)
    goto oom;
  e->prefix_len = strlen(e->prefix);
  /* The end of the prefix range: the prefix with its last byte that is not
   * 0xff incremented ("\0" = no end, the whole key space). */
  e->range_end = strdup(e->prefix_len ? e->prefix : "");
  if (!e->range_end)
    goto oom;
  e->range_end_len = e->prefix_len;
  while (e->range_end_len > 0 &&
         (unsigned char)e->range_end[e->range_end_len - 1] == 0xff)
    e->range_end_len--;
  if (e->range_end_len == 0) {
    e->range_end[0] = '\0';
    e->range_end_len = 1;
  } else {
    e->range_end[e->range_end_len - 1]++;
  }
  e->wbuf = evbuffer_new();
  e->wtok = json_tokener_new();
  e->retry_ev = evtimer_new(s->base, retry_cb, e);
  if (!e->wbuf || !e->wtok || !e->retry_ev)
    goto oom;

  struct rec **recs = NULL;
  size_t n = 0;
  int64_t rev = 0;
  if (range_all(e, &recs, &n, &rev, err) < 0) {
    kube_error_wrap(err, "open etcd store");
    goto fail;
  }
  if (store_cache_build_sorted(&s->cache, recs, n) < 0) {
    for (size_t i = 0; i < n; i++)
      store_rec_unref(recs[i]);
    free(recs);
    goto oom;
  }
  free(recs);
  s->revision = rev;
  s->be_data = e;
  watch_start(e);
  return 0;
oom:
  kube_make_oom(err);
fail:
  store_cache_clear(&s->cache);
  etcd_release(e);
  return -1;
}

const struct store_backend store_backend_etcd = {
    .name = "etcd",
    .authoritative = false,
    .open = etcd_open,
    .submit = etcd_submit,
    .compact = etcd_compact,
    .close = etcd_close,
};
