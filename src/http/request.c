/* SPDX-License-Identifier: Apache-2.0 */
/* The request object handlers get: accessors, replies, streamed
 * responses, upgrade and hijack. */
#include <strings.h>

#include "http/http-private.h"
#include "http/internal.h"

kube_http_request_t *http_request_new(struct kube_http_conn *c) {
  kube_http_request_t *r = calloc(1, sizeof *r);
  if (!r)
    return NULL;
  r->conn = c;
  r->listener_seen = c->listener;
  r->transport = c->transport;
  r->method = "GET";
  r->minor = 1;
  r->keep_alive = true;
  snprintf(r->peer, sizeof r->peer, "%s", c->peer);
  return r;
}

void http_request_free(kube_http_request_t *r) {
  if (!r)
    return;
  for (size_t i = 0; i < r->n_hdrs; i++) {
    free(r->hdrs[i].name);
    free(r->hdrs[i].value);
  }
  free(r->hdrs);
  for (size_t i = 0; i < r->n_params; i++) {
    free(r->params[i].key);
    free(r->params[i].value);
  }
  free(r->params);
  free(r->target);
  free(r->path);
  free(r->method_buf);
  kube_strbuf_clear(&r->body);
  kube_strbuf_clear(&r->resp_hdrs);
  http_cert_unref(r->cert);
  free(r);
}

int http_request_add_header(kube_http_request_t *r, const char *name,
                            size_t nlen, const char *value, size_t vlen) {
  if (r->n_hdrs == r->cap_hdrs) {
    size_t cap = r->cap_hdrs ? r->cap_hdrs * 2 : 16;
    struct http_hdr *h = realloc(r->hdrs, cap * sizeof *h);
    if (!h)
      return -1;
    r->hdrs = h;
    r->cap_hdrs = cap;
  }
  /* Values lose surrounding blanks (http-parser keeps trailing ones). */
  while (vlen && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
    vlen--;
  char *n = strndup(name, nlen), *v = strndup(value, vlen);
  if (!n || !v) {
    free(n);
    free(v);
    return -1;
  }
  r->hdrs[r->n_hdrs++] = (struct http_hdr){n, v};
  return 0;
}

/* Decode %XX (and '+' when plus_space).  -1 on a malformed escape or a
 * NUL; -2 on out of memory. */
int http_percent_decode(const char *s, size_t n, bool plus_space, char **out) {
  char *d = malloc(n + 1);
  if (!d)
    return -2;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (ch == '%') {
      int hi = i + 1 < n ? core_hex_digit(s[i + 1]) : -1;
      int lo = i + 2 < n ? core_hex_digit(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        free(d);
        return -1;
      }
      ch = (char)(hi * 16 + lo);
      i += 2;
    } else if (ch == '+' && plus_space) {
      ch = ' ';
    }
    if (ch == '\0') {
      free(d);
      return -1;
    }
    d[o++] = ch;
  }
  d[o] = '\0';
  *out = d;
  return 0;
}

const char *http_request_set_target(kube_http_request_t *r) {
  const char *t = r->target;
  const char *path = t;
  if (t[0] != '/') {
    /* absolute-form ("http://host/path"), as sent to proxies */
    const char *scheme = strstr(t, "://");
    if (!scheme || !(path = strchr(scheme + 3, '/')))
      return "the request target must be a path";
  }
  const char *q = strchr(path, '?');
  size_t plen = q ? (size_t)(q - path) : strlen(path);
  const char *hash = memchr(path, '#', plen);
  if (hash)
    plen = (size_t)(hash - path);
  r->query = q ? q + 1 : "";
  int rc = http_percent_decode(path, plen, false, &r->path);
  if (rc == -2)
    return "out of memory";
  if (rc < 0)
    return "malformed request URI (bad escape or NUL byte in the path)";
  return NULL;
}

/* ---- accessors ---- */

KUBE_EXPORT const char *kube_http_request_method(const kube_http_request_t *r) {
  return r->method;
}

KUBE_EXPORT const char *kube_http_request_path(const kube_http_request_t *r) {
  return r->path ? r->path : "/";
}

KUBE_EXPORT const char *kube_http_request_query(const kube_http_request_t *r) {
  return r->query ? r->query : "";
}

KUBE_EXPORT const char *kube_http_request_target(const kube_http_request_t *r) {
  return r->target ? r->target : "/";
}

static void parse_params(kube_http_request_t *r) {
  r->params_parsed = true;
  const char *q = r->query;
  if (!q || !*q)
    return;
  const char *hash = strchr(q, '#');
  size_t total = hash ? (size_t)(hash - q) : strlen(q);
  size_t n = 1;
  for (size_t i = 0; i < total; i++)
    n += q[i] == '&';
  r->params = calloc(n, sizeof *r->params);
  if (!r->params)
    return;
  const char *p = q, *end = q + total;
  while (p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *stop = amp ? amp : end;
    const char *eq = memchr(p, '=', (size_t)(stop - p));
    const char *kend = eq ? eq : stop;
    char *k = NULL, *v = NULL;
    if (kend > p && http_percent_decode(p, (size_t)(kend - p), true, &k) == 0 &&
        (eq ? http_percent_decode(eq + 1, (size_t)(stop - eq - 1), true, &v)
         : (v = strdup("")) ? 0
                            : -2) == 0) {
      r->params[r->n_params++] = (struct http_param){k, v};
    } else {
      /* A malformed pair is skipped, as Go's url.ParseQuery drops it. */
      free(k);
      free(v);
    }
    p = stop + 1;
  }
}

KUBE_EXPORT const char *
kube_http_request_query_param(const kube_http_request_t *cr, const char *key) {
  kube_http_request_t *r = (kube_http_request_t *)cr;
  if (!r->params_parsed)
    parse_params(r);
  for (size_t i = 0; i < r->n_params; i++)
    if (streq(r->params[i].key, key))
      return r->params[i].value;
  return NULL;
}

KUBE_EXPORT bool kube_http_request_query_param_at(const kube_http_request_t *cr,
                                                  size_t i, const char **key,
                                                  const char **value) {
  kube_http_request_t *r = (kube_http_request_t *)cr;
  if (!r->params_parsed)
    parse_params(r);
  if (i >= r->n_params)
    return false;
  if (key)
    *key = r->params[i].key;
  if (value)
    *value = r->params[i].value;
  return true;
}

KUBE_EXPORT const char *kube_http_request_header(const kube_http_request_t *r,
                                                 const char *name) {
  for (size_t i = 0; i < r->n_hdrs; i++)
    if (strcasecmp(r->hdrs[i].name, name) == 0)
      return r->hdrs[i].value;
  return NULL;
}

KUBE_EXPORT bool kube_http_request_header_at(const kube_http_request_t *r,
                                             size_t i, const char **name,
                                             const char **value) {
  if (i >= r->n_hdrs)
    return false;
  if (name)
    *name = r->hdrs[i].name;
  if (value)
    *value = r->hdrs[i].value;
  return true;
}

KUBE_EXPORT const char *kube_http_request_body(const kube_http_request_t *r,
                                               size_t *len) {
  if (len)
    *len = r->body.len;
  return r->body.data ? r->body.data : "";
}

KUBE_EXPORT int kube_http_request_version_minor(const kube_http_request_t *r) {
  return r->minor;
}

KUBE_EXPORT const char *
kube_http_request_upgrade(const kube_http_request_t *r) {
  return r->upgrade;
}

KUBE_EXPORT const char *kube_http_request_peer(const kube_http_request_t *r) {
  return r->peer;
}

KUBE_EXPORT kube_http_listener_t *
kube_http_request_listener(const kube_http_request_t *r) {
  return r->conn ? r->conn->listener : NULL;
}

KUBE_EXPORT kube_http_listener_type_t
kube_http_request_listener_type(const kube_http_request_t *r) {
  return r->transport;
}

KUBE_EXPORT const kube_http_peer_cert_t *
kube_http_request_peer_cert(const kube_http_request_t *r) {
  return r->cert ? &r->cert->pub : NULL;
}

KUBE_EXPORT bool kube_http_request_connected(const kube_http_request_t *r) {
  return r && ((r->conn && r->conn->bev) || r->sink);
}

KUBE_EXPORT void
kube_http_request_set_close_cb(kube_http_request_t *r,
                               void (*fn)(kube_http_request_t *, void *),
                               void *arg) {
  r->close_cb = fn;
  r->close_arg = arg;
}

KUBE_EXPORT void kube_http_request_set_data(kube_http_request_t *r,
                                            void *data) {
  r->data = data;
}

KUBE_EXPORT void *kube_http_request_get_data(const kube_http_request_t *r) {
  return r->data;
}

KUBE_EXPORT int kube_http_request_read_body(kube_http_request_t *r, size_t max,
                                            kube_http_body_fn fn, void *arg) {
  if (!r || !fn || !r->stream_body || r->body_fn || r->finished || !r->conn ||
      !r->conn->bev)
    return -1;
  r->body_fn = fn;
  r->body_arg = arg;
  r->body_max = max ? max : 256 * 1024;
  http_conn_body_wake(r->conn);
  return 0;
}

/* ---- replies ---- */

const char *http_reason_phrase(int code) {
  switch (code) {
  case 101:
    return "Switching Protocols";
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 202:
    return "Accepted";
  case 204:
    return "No Content";
  case 206:
    return "Partial Content";
  case 301:
    return "Moved Permanently";
  case 302:
    return "Found";
  case 304:
    return "Not Modified";
  case 307:
    return "Temporary Redirect";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 406:
    return "Not Acceptable";
  case 408:
    return "Request Timeout";
  case 409:
    return "Conflict";
  case 410:
    return "Gone";
  case 411:
    return "Length Required";
  case 413:
    return "Request Entity Too Large";
  case 414:
    return "Request-URI Too Long";
  case 415:
    return "Unsupported Media Type";
  case 416:
    return "Requested Range Not Satisfiable";
  case 422:
    return "Unprocessable Entity";
  case 429:
    return "Too Many Requests";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  default:
    return code >= 500 ? "Error" : code >= 400 ? "Client Error" : "OK";
  }
}

static bool bad_header_text(const char *s) {
  return !s || strpbrk(s, "\r\n") != NULL;
}

KUBE_EXPORT int kube_http_response_add_header(kube_http_request_t *r,
                                              const char *name,
                                              const char *value,
                                              kube_error_t *err) {
  if (!r || bad_header_text(name) || !*name || strchr(name, ':') ||
      bad_header_text(value))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "bad response header");
  kube_strbuf_printf(&r->resp_hdrs, "%s: %s\r\n", name, value);
  return r->resp_hdrs.oom ? kube_make_oom(err) : 0;
}

enum body_mode { BODY_LENGTH, BODY_CHUNKED, BODY_CLOSE, BODY_NONE };

static bool status_has_body(int status) {
  return !(status < 200 || status == 204 || status == 304);
}

/* Write the status line and headers.  A request that asked to switch
 * protocols and got something else closes afterwards: what follows it on
 * the wire may be the other protocol. */
static void send_head(kube_http_request_t *r, int status, const char *ctype,
                      enum body_mode mode, uint64_t clen) {
  struct kube_http_conn *c = r->conn;
  if (r->upgrade && status != 101)
    r->keep_alive = false;
  if (r->stream_body && !r->body_end)
    r->keep_alive = false; /* the rest of the body is not read */
  if (mode == BODY_CLOSE)
    r->keep_alive = false;
  struct evbuffer *out = bufferevent_get_output(c->bev);
  char head[512];
  int n =
      snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status,
               http_reason_phrase(status),
               c->srv ? http_date(c->srv) : "Thu, 01 Jan 1970 00:00:00 GMT");
  if (ctype && !bad_header_text(ctype) && strlen(ctype) < 200)
    n += snprintf(head + n, sizeof head - (size_t)n, "Content-Type: %s\r\n",
                  ctype);
  evbuffer_add(out, head, (size_t)n);
  if (r->resp_hdrs.len)
    evbuffer_add(out, r->resp_hdrs.data, r->resp_hdrs.len);
  n = 0;
  if (mode == BODY_LENGTH)
    n = snprintf(head, sizeof head, "Content-Length: %llu\r\n",
                 (unsigned long long)clen);
  else if (mode == BODY_CHUNKED)
    n = snprintf(head, sizeof head, "Transfer-Encoding: chunked\r\n");
  if (status != 101) {
    if (!r->keep_alive)
      n += snprintf(head + n, sizeof head - (size_t)n, "Connection: close\r\n");
    else if (r->minor == 0)
      n += snprintf(head + n, sizeof head - (size_t)n,
                    "Connection: keep-alive\r\n");
  }
  n += snprintf(head + n, sizeof head - (size_t)n, "\r\n");
  evbuffer_add(out, head, (size_t)n);
  r->started = true;
}

static void cleanup_ref(const void *data, size_t len, void *arg) {
  free((void *)data);
}

static void reply_common(kube_http_request_t *r, int status, const char *ctype,
                         const void *body, size_t len, bool take) {
  struct kube_http_conn *c = r->conn;
  if (c && c->bev && !r->started) {
    bool has_body = status_has_body(status);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    /* Head and a small body in one contiguous chain: over TLS each chain
     * becomes a record of its own (and a segment, with TCP_NODELAY). */
    if (len <= HTTP_COALESCE_MAX)
      evbuffer_expand(out, 512 + r->resp_hdrs.len + (r->head ? 0 : len));
    send_head(r, status, ctype, has_body ? BODY_LENGTH : BODY_NONE,
              has_body ? len : 0);
    if (has_body && !r->head && len) {
      if (take && len > HTTP_COALESCE_MAX &&
          evbuffer_add_reference(out, body, len, cleanup_ref, NULL) == 0)
        take = false;
      else
        evbuffer_add(out, body, len);
    }
    http_conn_request_done(c, r->keep_alive);
  } else if (!c && r->sink && !r->started) {
    bool has_body = status_has_body(status) && !r->head;
    r->started = true;
    r->sink->reply(r->sink_arg, status, ctype, has_body ? body : "",
                   has_body ? len : 0);
  }
  if (take)
    free((void *)body);
  http_request_free(r);
}

KUBE_EXPORT void kube_http_reply(kube_http_request_t *r, int status,
                                 const char *ctype, const void *body,
                                 size_t len) {
  if (r)
    reply_common(r, status, ctype, body, len, false);
}

KUBE_EXPORT void kube_http_reply_take(kube_http_request_t *r, int status,
                                      const char *ctype, void *body,
                                      size_t len) {
  if (r)
    reply_common(r, status, ctype, body, len, true);
  else
    free(body);
}

KUBE_EXPORT void kube_http_reply_error(kube_http_request_t *r, int status,
                                       const char *message) {
  if (!r)
    return;
  size_t len = 0;
  char *body =
      http_error_body(r->conn ? r->conn->srv : NULL, status, message, &len);
  kube_http_response_add_header(r, "Cache-Control", "no-cache, private", NULL);
  reply_common(r, status, "application/json", body ? body : "", body ? len : 0,
               body != NULL);
}

KUBE_EXPORT int kube_http_stream_begin(kube_http_request_t *r, int status,
                                       const char *ctype,
                                       int64_t content_length) {
  struct kube_http_conn *c = r->conn;
  if (!c && r->sink && !r->started) {
    r->started = true;
    r->sink->stream_begin(r->sink_arg, status, ctype);
    return 0;
  }
  if (!c || !c->bev || r->started)
    return -1;
  enum body_mode mode = content_length >= 0 ? BODY_LENGTH
                        : r->minor >= 1     ? BODY_CHUNKED
                                            : BODY_CLOSE;
  send_head(r, status, ctype, mode,
            content_length >= 0 ? (uint64_t)content_length : 0);
  r->chunked = mode == BODY_CHUNKED;
  c->state = HC_STREAMING;
  http_conn_set_stream_mode(c, true);
  return 0;
}

KUBE_EXPORT int kube_http_stream_write(kube_http_request_t *r, const void *data,
                                       size_t len) {
  struct kube_http_conn *c = r->conn;
  if (!c && r->sink && r->started) {
    if (len && !r->head)
      r->sink->stream_data(r->sink_arg, data, len);
    return 0;
  }
  if (!c || !c->bev || !r->started)
    return -1;
  if (!len || r->head)
    return 0;
  struct evbuffer *out = bufferevent_get_output(c->bev);
  if (len <= HTTP_COALESCE_MAX)
    evbuffer_expand(out, len + 24); /* one chain: one TLS record */
  if (r->chunked) {
    char sz[24];
    int n = snprintf(sz, sizeof sz, "%zx\r\n", len);
    evbuffer_add(out, sz, (size_t)n);
    evbuffer_add(out, data, len);
    evbuffer_add(out, "\r\n", 2);
  } else {
    evbuffer_add(out, data, len);
  }
  return 0;
}

KUBE_EXPORT size_t kube_http_stream_backlog(const kube_http_request_t *r) {
  struct kube_http_conn *c = r ? r->conn : NULL;
  return c && c->bev ? evbuffer_get_length(bufferevent_get_output(c->bev)) : 0;
}

KUBE_EXPORT void
kube_http_stream_set_drained_cb(kube_http_request_t *r, size_t low_water,
                                void (*fn)(kube_http_request_t *, void *),
                                void *arg) {
  r->drained_cb = fn;
  r->drained_arg = arg;
  r->low_water = low_water;
  if (r->conn && r->conn->bev)
    bufferevent_setwatermark(r->conn->bev, EV_WRITE, fn ? low_water : 0, 0);
}

static bool local_end(kube_http_request_t *r) {
  if (r->conn || !r->sink)
    return false;
  if (!r->started) {
    reply_common(r, 502, NULL, NULL, 0, false);
    return true;
  }
  r->sink->stream_end(r->sink_arg);
  http_request_free(r);
  return true;
}

KUBE_EXPORT void kube_http_stream_end(kube_http_request_t *r) {
  if (!r || local_end(r))
    return;
  struct kube_http_conn *c = r->conn;
  if (c && c->bev) {
    if (!r->started) {
      reply_common(r, 200, NULL, NULL, 0, false);
      return;
    }
    if (r->chunked && !r->head)
      evbuffer_add(bufferevent_get_output(c->bev), "0\r\n\r\n", 5);
    http_conn_request_done(c, r->keep_alive);
  }
  http_request_free(r);
}

KUBE_EXPORT void kube_http_stream_abort(kube_http_request_t *r) {
  if (!r || local_end(r))
    return;
  struct kube_http_conn *c = r->conn;
  if (c && c->bev)
    http_conn_request_done(c, false);
  http_request_free(r);
}

KUBE_EXPORT void kube_http_stream_drop(kube_http_request_t *r) {
  if (!r || local_end(r))
    return;
  struct kube_http_conn *c = r->conn;
  if (c) {
    /* Close now: the output not yet sent is freed with the connection
     * (and its memory returned, see http_conn_kill). */
    c->cur = NULL;
    r->conn = NULL;
    http_conn_free_struct(c);
  }
  http_request_free(r);
}

/* ---- upgrade and hijack ---- */

static kube_http_conn_t *take_conn(kube_http_request_t *r, bool switching,
                                   kube_error_t *err) {
  struct kube_http_conn *c = r->conn;
  if (!c || !c->bev || r->started) {
    kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, EPIPE,
                   "the connection is gone");
    http_request_free(r);
    return NULL;
  }
  if (switching)
    send_head(r, 101, NULL, BODY_NONE, 0);
  c->cur = NULL;
  c->state = HC_UPGRADED;
  c->owned = true;
  c->paused = false;
  c->timer_kind = HT_NONE;
  evtimer_del(c->timer);
  http_conn_set_stream_mode(c, true);
  /* Nothing is read until the owner installs its callbacks. */
  bufferevent_disable(c->bev, EV_READ);
  http_request_free(r);
  return c;
}

KUBE_EXPORT kube_http_conn_t *kube_http_upgrade(kube_http_request_t *r,
                                                kube_error_t *err) {
  if (!r) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL, "no request");
    return NULL;
  }
  return take_conn(r, true, err);
}

KUBE_EXPORT kube_http_conn_t *kube_http_hijack(kube_http_request_t *r,
                                               kube_error_t *err) {
  if (!r) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL, "no request");
    return NULL;
  }
  return take_conn(r, false, err);
}

/* ---- in-process requests ---- */

kube_http_request_t *http_request_new_local(const char *method,
                                            const char *target,
                                            const char *const *headers,
                                            const char *body, size_t len,
                                            kube_error_t *err) {
  kube_http_request_t *r = calloc(1, sizeof *r);
  if (!r) {
    kube_make_oom(err);
    return NULL;
  }
  r->transport = KUBE_HTTP_UNIX;
  r->minor = 1;
  r->keep_alive = true;
  snprintf(r->peer, sizeof r->peer, "in-process");
  r->method_buf = strdup(method ? method : "GET");
  r->method = r->method_buf;
  r->target = strdup(target ? target : "/");
  if (r->method_buf) {
    /* enum http_method of the name, for code that switches on it */
    r->method_id = -1;
    for (int m = 0; m <= HTTP_SOURCE; m++)
      if (streq(http_method_str((enum http_method)m), r->method_buf))
        r->method_id = m;
    r->head = r->method_id == HTTP_HEAD;
  }
  for (size_t i = 0; headers && headers[i] && headers[i + 1]; i += 2)
    if (http_request_add_header(r, headers[i], strlen(headers[i]),
                                headers[i + 1], strlen(headers[i + 1])) < 0)
      goto oom;
  if (len)
    kube_strbuf_append_len(&r->body, body, len);
  if (!r->method_buf || !r->target || r->body.oom)
    goto oom;
  const char *bad = http_request_set_target(r);
  if (bad) {
    kube_error_set(err,
                   streq(bad, "out of memory") ? KUBE_REASON_INTERNAL
                                               : KUBE_REASON_BAD_REQUEST,
                   0, "%s", bad);
    http_request_free(r);
    return NULL;
  }
  return r;
oom:
  http_request_free(r);
  kube_make_oom(err);
  return NULL;
}

void http_request_set_local_sink(kube_http_request_t *r,
                                 const struct http_local_sink *sink,
                                 void *arg) {
  r->sink = sink;
  r->sink_arg = arg;
}

void http_request_local_disconnect(kube_http_request_t *r) {
  r->sink = NULL;
  void (*cb)(kube_http_request_t *, void *) = r->close_cb;
  r->close_cb = NULL;
  if (cb)
    cb(r, r->close_arg);
}
