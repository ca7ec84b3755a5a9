/* SPDX-License-Identifier: Apache-2.0 */
/* One connection: TLS handshake, request parsing with http-parser under
 * the server's limits and deadlines, hand-off to handlers, keep-alive and
 * pipelining (one request at a time, answered in order), refusals, and
 * the duplex byte stream an upgrade or hijack turns it into. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <strings.h>

#include <event2/bufferevent_ssl.h>

#include "http/internal.h"

static void conn_parse(struct kube_http_conn *c);
static void conn_die(struct kube_http_conn *c);

void http_conn_enable_read(struct kube_http_conn *c) {
  if (c->bev)
    bufferevent_enable(c->bev, EV_READ);
}

/* ---- timers ---- */

static void timer_arm(struct kube_http_conn *c, enum http_timer kind, int ms) {
  c->timer_kind = kind;
  if (ms <= 0) {
    evtimer_del(c->timer);
    return;
  }
  struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
  evtimer_add(c->timer, &tv);
}

static void timer_disarm(struct kube_http_conn *c) {
  c->timer_kind = HT_NONE;
  if (c->timer)
    evtimer_del(c->timer);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg) {
  struct kube_http_conn *c = arg;
  switch (c->timer_kind) {
  case HT_HEADER:
    log_debug("http: %s: request headers not complete in time, closing",
              c->peer);
    break;
  case HT_BODY:
    log_debug("http: %s: request body stalled, closing", c->peer);
    break;
  default:
    break;
  }
  c->timer_kind = HT_NONE;
  conn_die(c);
}

/* ---- parser callbacks ---- */

static void body_release(struct kube_http_conn *c);

static int refuse_cb(struct kube_http_conn *c, int code, const char *msg) {
  c->refuse_code = code;
  c->refuse_msg = msg;
  return -1;
}

static int on_message_begin(http_parser *p) {
  struct kube_http_conn *c = p->data;
  http_request_free(c->cur);
  c->cur = http_request_new(c);
  if (!c->cur)
    return refuse_cb(c, 500, "out of memory");
  c->state = HC_HEADERS;
  c->header_bytes = 0;
  c->in_value = false;
  kube_strbuf_reset(&c->field);
  kube_strbuf_reset(&c->value);
  /* The first request's deadline runs from the accept (it covers the TLS
   * handshake); a later one's from its first byte.  Trickling bytes never
   * extends it. */
  if (c->timer_kind != HT_HEADER && c->srv)
    timer_arm(c, HT_HEADER, c->srv->header_ms);
  return 0;
}

static int on_url(http_parser *p, const char *at, size_t len) {
  struct kube_http_conn *c = p->data;
  kube_http_request_t *r = c->cur;
  size_t have = r->target ? strlen(r->target) : 0;
  if (have + len > c->srv->max_uri)
    return refuse_cb(c, 414, "the request URI is too long");
  if (memchr(at, '\0', len))
    return refuse_cb(c, 400, "the request URI contains a NUL byte");
  char *t = realloc(r->target, have + len + 1);
  if (!t)
    return refuse_cb(c, 500, "out of memory");
  memcpy(t + have, at, len);
  t[have + len] = '\0';
  r->target = t;
  return 0;
}

static int flush_header(struct kube_http_conn *c) {
  if (!c->field.len && !c->value.len)
    return 0;
  if (c->cur->n_hdrs >= c->srv->max_headers)
    return refuse_cb(c, 431, "too many request headers");
  if (c->field.oom || c->value.oom ||
      http_request_add_header(c->cur, c->field.data ? c->field.data : "",
                              c->field.len, c->value.data ? c->value.data : "",
                              c->value.len) < 0)
    return refuse_cb(c, 500, "out of memory");
  kube_strbuf_reset(&c->field);
  kube_strbuf_reset(&c->value);
  return 0;
}

static int header_bytes(struct kube_http_conn *c, size_t len) {
  c->header_bytes += len;
  if (c->header_bytes > c->srv->max_header_bytes)
    return refuse_cb(c, 431, "the request headers are too large");
  return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len) {
  struct kube_http_conn *c = p->data;
  if (c->in_value) {
    c->in_value = false;
    if (flush_header(c) < 0)
      return -1;
  }
  if (header_bytes(c, len) < 0)
    return -1;
  kube_strbuf_append_len(&c->field, at, len);
  return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len) {
  struct kube_http_conn *c = p->data;
  c->in_value = true;
  if (header_bytes(c, len) < 0)
    return -1;
  if (memchr(at, '\0', len))
    return refuse_cb(c, 400, "a request header contains a NUL byte");
  kube_strbuf_append_len(&c->value, at, len);
  return 0;
}

static int on_headers_complete(http_parser *p) {
  struct kube_http_conn *c = p->data;
  kube_http_request_t *r = c->cur;
  if (flush_header(c) < 0)
    return -1;
  r->method_id = p->method;
  r->method = http_method_str((enum http_method)p->method);
  r->minor = p->http_minor;
  r->head = p->method == HTTP_HEAD;
  if (!r->target)
    return refuse_cb(c, 400, "the request has no target");
  const char *bad = http_request_set_target(r);
  if (bad)
    return refuse_cb(c, 400, bad);
  if (p->upgrade && p->method != HTTP_CONNECT)
    r->upgrade = kube_http_request_header(r, "Upgrade");
  /* A streaming-body handler gets the request now and reads the body
   * itself (no size limit here: the handler sets its own).  The parser
   * stays paused until it asks. */
  const struct http_handler *h = http_server_route(c->srv, r->path);
  if (h && h->streaming && !r->upgrade) {
    r->stream_body = true;
    if (!(p->flags & F_CHUNKED) &&
        (p->content_length == ULLONG_MAX || p->content_length == 0)) {
      /* No body: dispatched whole, as any request (keep-alive intact). */
      r->body_end = true;
      return 0;
    }
    c->head_done = true;
    http_parser_pause(p, 1);
    return 0;
  }
  /* Refused from the header alone, before one byte of the body is read. */
  if (p->content_length != ULLONG_MAX &&
      p->content_length > (uint64_t)c->srv->max_body) {
    snprintf(c->refuse_buf, sizeof c->refuse_buf,
             "the request body of %llu bytes exceeds the limit of %zu bytes",
             (unsigned long long)p->content_length, c->srv->max_body);
    return refuse_cb(c, 413, c->refuse_buf);
  }
  if ((p->flags & F_CHUNKED) ||
      (p->content_length != ULLONG_MAX && p->content_length > 0)) {
    c->state = HC_BODY;
    timer_arm(c, HT_BODY, c->srv->body_ms);
  }
  return 0;
}

/* Check the CRLF after a chunk's data: the bytes in this buffer now, the
 * rest at the start of the next (parse_exec). */
static int check_crlf(struct kube_http_conn *c, const char *at) {
  while (c->crlf_left && at < c->exec_end) {
    if (*at++ != "\r\n"[2 - c->crlf_left])
      return refuse_cb(c, 400,
                       "malformed HTTP request: a chunk's data is "
                       "not followed by CRLF");
    c->crlf_left--;
  }
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
  struct kube_http_conn *c = p->data;
  kube_http_request_t *r = c->cur;
  /* The chunk's data is complete: its CRLF follows (http-parser calls
   * with the data up to the CR, or up to the end of the buffer). */
  if ((p->flags & F_CHUNKED) && p->content_length == 0) {
    c->crlf_left = 2;
    if (check_crlf(c, at + len) < 0)
      return -1;
  }
  if (r->stream_body) {
    kube_strbuf_append_len(&r->body, at, len);
    if (r->body.oom)
      return refuse_cb(c, 500, "out of memory");
    if (r->body.len >= r->body_max)
      http_parser_pause(p, 1); /* a piece is full: hand it over */
    return 0;
  }
  if (r->body.len + len > c->srv->max_body) {
    snprintf(c->refuse_buf, sizeof c->refuse_buf,
             "the request body exceeds the limit of %zu bytes",
             c->srv->max_body);
    return refuse_cb(c, 413, c->refuse_buf);
  }
  if (c->srv->body_total + len > c->srv->max_body_total)
    return refuse_cb(c, 429,
                     "too many request bodies in flight; retry "
                     "later");
  kube_strbuf_append_len(&r->body, at, len);
  if (r->body.oom)
    return refuse_cb(c, 500, "out of memory");
  c->srv->body_total += len;
  c->body_acct += len;
  return 0;
}

static int on_message_complete(http_parser *p) {
  struct kube_http_conn *c = p->data;
  body_release(c); /* read whole: the handler has it now */
  c->msg_done = true;
  c->cur->keep_alive = http_should_keep_alive(p);
  /* One request at a time: the next pipelined one waits in the input
   * buffer until this one is answered. */
  http_parser_pause(p, 1);
  return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- lifecycle ---- */

static void parser_reset(struct kube_http_conn *c) {
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  c->msg_done = false;
  c->refuse_code = 0;
  c->crlf_left = 0;
  body_release(c);
}

/* Buffers this large freed with a connection are worth giving back to
 * the system (a flood of big headers or bodies, a slow watcher). */
#define TRIM_AFTER_BYTES (256u * 1024)

/* The request body being read no longer counts in the server's total. */
static void body_release(struct kube_http_conn *c) {
  if (c->srv && c->body_acct)
    c->srv->body_total -= c->body_acct;
  c->body_acct = 0;
}

void http_conn_kill(struct kube_http_conn *c) {
  /* A refused request (a flood of oversized heads) freed its buffers
   * while it lingered: trim for it too. */
  size_t held = c->state == HC_LINGER ? TRIM_AFTER_BYTES : c->body_acct;
  body_release(c);
  if (c->bev) {
    held += evbuffer_get_length(bufferevent_get_output(c->bev)) +
            evbuffer_get_length(bufferevent_get_input(c->bev));
    bufferevent_free(c->bev); /* closes the socket (and frees the SSL) */
    c->bev = NULL;
  }
  if (held >= TRIM_AFTER_BYTES)
    http_server_trim_soon(c->srv);
  if (c->srv)
    http_server_conn_gone(c->srv, c);
  if (c->timer)
    evtimer_del(c->timer);
  if (c->process_ev)
    event_del(c->process_ev);
  c->timer_kind = HT_NONE;
  c->state = HC_DEAD;
}

void http_conn_free_struct(struct kube_http_conn *c) {
  http_conn_kill(c);
  /* Only a request still being parsed is ours; a handler's is detached. */
  http_request_free(c->cur);
  if (c->timer)
    event_free(c->timer);
  if (c->process_ev)
    event_free(c->process_ev);
  kube_strbuf_clear(&c->field);
  kube_strbuf_clear(&c->value);
  http_cert_unref(c->cert);
  free(c);
}

void http_conn_detach_request(struct kube_http_conn *c) {
  kube_http_request_t *r = c->cur;
  if (!r)
    return;
  c->cur = NULL;
  r->conn = NULL;
  r->body_fn = NULL; /* a pending body read never completes */
  void (*cb)(kube_http_request_t *, void *) = r->close_cb;
  r->close_cb = NULL;
  if (cb)
    cb(r, r->close_arg); /* may finish (free) r */
}

static bool user_done(struct kube_http_conn *c);

static void notify_closed(struct kube_http_conn *c) {
  if (!c->cbs) {
    c->closed_pending = true;
    return;
  }
  c->closed_pending = false;
  const kube_http_conn_callbacks_t *cbs = c->cbs;
  c->cbs = NULL; /* nothing else runs for it */
  if (cbs->closed) {
    c->busy++;
    cbs->closed(c, c->cb_arg);
    user_done(c);
  }
}

void http_conn_server_gone(struct kube_http_conn *c) {
  enum http_conn_state st = c->state;
  http_conn_kill(c);
  c->srv = NULL;
  c->listener = NULL;
  if (st == HC_HANDLING || st == HC_STREAMING) {
    http_conn_detach_request(c);
    http_conn_free_struct(c);
  } else if (c->owned) {
    notify_closed(c);
  } else {
    http_conn_free_struct(c);
  }
}

/* The socket failed, timed out or reached EOF at a point where nothing
 * more can be exchanged. */
static void conn_die(struct kube_http_conn *c) {
  switch (c->state) {
  case HC_HANDLING:
  case HC_STREAMING:
    http_conn_kill(c);
    http_conn_detach_request(c);
    http_conn_free_struct(c);
    return;
  case HC_UPGRADED:
    http_conn_kill(c);
    if (c->owned)
      notify_closed(c);
    else
      http_conn_free_struct(c);
    return;
  default:
    http_conn_free_struct(c);
    return;
  }
}

static void start_linger(struct kube_http_conn *c) {
  /* Swallow (without keeping) what the peer still sends, so that a client
   * that writes its whole body before reading reads our refusal instead of
   * a reset.  Plain TCP also half-closes; TLS cannot without ending the
   * session. */
  if (c->fd < 0 || !c->bev) {
    http_conn_free_struct(c);
    return;
  }
  c->state = HC_LINGER;
  c->lingered = 0;
  if (c->transport != KUBE_HTTP_TLS)
    shutdown(c->fd, SHUT_WR);
  evbuffer_drain(bufferevent_get_input(c->bev),
                 evbuffer_get_length(bufferevent_get_input(c->bev)));
  bufferevent_enable(c->bev, EV_READ);
  timer_arm(c, HT_LINGER, HTTP_LINGER_MS);
}

/* Flush, then close (lingering when `linger`). */
static void conn_close_after_flush(struct kube_http_conn *c, bool linger) {
  c->state = linger ? HC_LINGER : HC_CLOSING;
  if (c->bev)
    bufferevent_disable(c->bev, EV_READ);
  if (!c->bev) {
    http_conn_free_struct(c);
    return;
  }
  if (c->srv && c->srv->write_ms > 0) {
    struct timeval tv = {c->srv->write_ms / 1000,
                         (c->srv->write_ms % 1000) * 1000};
    bufferevent_set_timeouts(c->bev, NULL, &tv);
  }
  bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
  if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
    if (linger)
      start_linger(c);
    else
      http_conn_free_struct(c);
    return;
  }
  /* write_cb finishes the close once the output is empty. */
  c->linger = linger;
}

void http_conn_refuse(struct kube_http_conn *c, int code, const char *msg) {
  body_release(c);
  core_log_ratelimited(&c->srv->refuse_rl, KUBE_LOG_INFO,
                       "http: %s: refused a request: %d %s", c->peer, code,
                       msg);
  http_request_free(c->cur);
  c->cur = NULL;
  timer_disarm(c);
  size_t blen = 0;
  char *body = http_error_body(c->srv, code, msg, &blen);
  struct evbuffer *out = bufferevent_get_output(c->bev);
  evbuffer_add_printf(out,
                      "HTTP/1.1 %d %s\r\nDate: %s\r\n"
                      "Content-Type: application/json\r\n"
                      "Cache-Control: no-cache, private\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      code, http_reason_phrase(code), http_date(c->srv), blen);
  if (body)
    evbuffer_add(out, body, blen);
  free(body);
  conn_close_after_flush(c, true);
}

void http_conn_set_stream_mode(struct kube_http_conn *c, bool streaming) {
  if (!c->bev)
    return;
  if (streaming || !c->srv || c->srv->write_ms <= 0) {
    bufferevent_set_timeouts(c->bev, NULL, NULL);
    return;
  }
  struct timeval tv = {c->srv->write_ms / 1000,
                       (c->srv->write_ms % 1000) * 1000};
  bufferevent_set_timeouts(c->bev, NULL, &tv);
}

void http_conn_request_done(struct kube_http_conn *c, bool keep_alive) {
  /* A streamed body left unread: the peer may still be sending it, so
   * linger to let it read the answer. */
  bool unread = c->cur && c->cur->stream_body && !c->cur->body_end;
  c->cur = NULL;
  if (!c->bev) {
    http_conn_free_struct(c);
    return;
  }
  bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
  if (!keep_alive || unread || c->read_eof || !c->srv) {
    conn_close_after_flush(c, unread);
    return;
  }
  http_conn_set_stream_mode(c, false);
  c->state = HC_IDLE;
  parser_reset(c);
  /* The idle time runs from when the answer is out, not from when it was
   * queued: on a busy loop each turn writes what the socket's buffer
   * takes (~200 kB on a unix socket), so a LIST of 5,000 nodes took longer
   * than the idle timeout to go out and was cut (the client's "unexpected
   * EOF").  Until then the write timeout stops a peer that reads nothing;
   * write_cb arms the idle timer once the output is empty. */
  if (evbuffer_get_length(bufferevent_get_output(c->bev)))
    timer_disarm(c);
  else
    timer_arm(c, HT_IDLE, c->srv->idle_ms);
  http_conn_enable_read(c);
  /* Pipelined bytes may be waiting: parse them from the loop, not from
   * inside the handler's reply call. */
  if (evbuffer_get_length(bufferevent_get_input(c->bev)))
    event_active(c->process_ev, 0, 0);
}

/* ---- dispatch ---- */

static void dispatch(struct kube_http_conn *c) {
  kube_http_request_t *r = c->cur;
  c->state = HC_HANDLING;
  timer_disarm(c);
  r->cert = http_cert_ref(c->cert);
  const struct http_handler *h = http_server_route(c->srv, r->path);
  if (!h) {
    kube_http_reply_error(r, 404,
                          "the server could not find the requested resource");
    return;
  }
  h->fn(r, h->arg);
}

static size_t parse_exec(struct kube_http_conn *c, const char *p, size_t n) {
  c->exec_end = p + n;
  if (c->crlf_left && check_crlf(c, p) < 0) {
    /* The refusal is recorded; make the caller see an error. */
    c->parser.http_errno = HPE_CB_body;
    return 0;
  }
  return http_parser_execute(&c->parser, &parser_settings, p, n);
}

static void conn_parse(struct kube_http_conn *c) {
  struct evbuffer *in = bufferevent_get_input(c->bev);
  while (c->state == HC_IDLE || c->state == HC_HEADERS || c->state == HC_BODY) {
    size_t n = evbuffer_get_contiguous_space(in);
    if (n == 0)
      return;
    const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
    size_t done = parse_exec(c, p, n);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (c->refuse_code) {
      http_conn_refuse(c, c->refuse_code, c->refuse_msg);
      return;
    }
    if (e != HPE_OK && e != HPE_PAUSED) {
      snprintf(c->refuse_buf, sizeof c->refuse_buf,
               "malformed HTTP request: %s", http_errno_description(e));
      http_conn_refuse(c, 400, c->refuse_buf);
      return;
    }
    evbuffer_drain(in, done);
    if (c->state == HC_BODY && c->srv)
      timer_arm(c, HT_BODY, c->srv->body_ms); /* progress */
    if (c->msg_done || c->head_done) {
      c->msg_done = false;
      c->head_done = false;
      dispatch(c);
      return;
    }
    if (done < n)
      return; /* cannot happen without a completed message */
  }
}

/* ---- streamed request bodies ---- */

void http_conn_body_wake(struct kube_http_conn *c) {
  if (c->process_ev)
    event_active(c->process_ev, 0, 0);
}

/* Parse buffered input into the request's next body piece and hand it to
 * the pending read.  Nothing may touch c or r after the callback: it may
 * finish the request and free the connection. */
static void body_pump(struct kube_http_conn *c) {
  kube_http_request_t *r = c->cur;
  if (c->state != HC_HANDLING || !r || !r->stream_body || !r->body_fn ||
      !c->bev)
    return;
  struct evbuffer *in = bufferevent_get_input(c->bev);
  if (!r->continue_sent && !r->body_end) {
    const char *expect = kube_http_request_header(r, "Expect");
    r->continue_sent = true;
    if (expect && strcasecmp(expect, "100-continue") == 0 && r->minor >= 1)
      evbuffer_add_printf(bufferevent_get_output(c->bev),
                          "HTTP/1.1 100 Continue\r\n\r\n");
  }
  while (!r->body_end && !r->body_error && r->body.len < r->body_max) {
    size_t n = evbuffer_get_contiguous_space(in);
    if (n == 0)
      break;
    const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
    http_parser_pause(&c->parser, 0);
    size_t done = parse_exec(c, p, n);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (c->refuse_code || (e != HPE_OK && e != HPE_PAUSED)) {
      r->body_error = true;
      break;
    }
    evbuffer_drain(in, done);
    if (c->msg_done) {
      c->msg_done = false;
      r->body_end = true;
    }
  }
  if (!r->body.len && !r->body_end && !r->body_error) {
    /* Wait for the peer, which must keep making progress. */
    bufferevent_enable(c->bev, EV_READ);
    if (c->srv)
      timer_arm(c, HT_BODY, c->srv->body_ms);
    return;
  }
  timer_disarm(c);
  /* Keep reading while the handler works on this piece (read_cb stops at
   * HTTP_MAX_PIPELINE_BUFFER: the backpressure). */
  if (!r->body_end && !r->body_error &&
      evbuffer_get_length(in) <= HTTP_MAX_PIPELINE_BUFFER)
    bufferevent_enable(c->bev, EV_READ);
  kube_http_body_fn fn = r->body_fn;
  void *arg = r->body_arg;
  r->body_fn = NULL;
  kube_strbuf_t piece = r->body;
  r->body = (kube_strbuf_t)KUBE_STRBUF_INIT;
  int status = piece.len ? 1 : r->body_error ? -1 : 0;
  fn(r, status, piece.data ? piece.data : "", piece.len, arg);
  kube_strbuf_clear(&piece);
}

/* ---- bufferevent callbacks ---- */

/* A user callback may call kube_http_conn_close: the struct is freed only
 * once the callback returned.  False when c is gone. */
static bool user_done(struct kube_http_conn *c) {
  c->busy--;
  if (c->busy == 0 && c->close_requested) {
    c->close_requested = false;
    kube_http_conn_close(c);
    return false;
  }
  return true;
}

/* Hand buffered bytes to the owner; false when c is gone. */
static bool deliver_upgraded(struct kube_http_conn *c) {
  while (c->bev && c->cbs && !c->paused && c->state == HC_UPGRADED) {
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t n = evbuffer_get_contiguous_space(in);
    if (n == 0)
      break;
    char buf[16384];
    if (n > sizeof buf)
      n = sizeof buf;
    evbuffer_remove(in, buf, n);
    c->busy++;
    c->cbs->read(c, buf, n, c->cb_arg);
    if (!user_done(c))
      return false;
  }
  return true;
}

static void read_cb(struct bufferevent *bev, void *arg) {
  struct kube_http_conn *c = arg;
  struct evbuffer *in = bufferevent_get_input(bev);
  switch (c->state) {
  case HC_IDLE:
  case HC_HEADERS:
  case HC_BODY:
    conn_parse(c);
    return;
  case HC_UPGRADED:
    deliver_upgraded(c);
    return;
  case HC_LINGER:
    c->lingered += evbuffer_get_length(in);
    evbuffer_drain(in, evbuffer_get_length(in));
    if (c->timer_kind == HT_LINGER) {
      if (c->lingered > HTTP_LINGER_MAX_BYTES)
        http_conn_free_struct(c);
      else
        timer_arm(c, HT_LINGER, HTTP_LINGER_MS); /* still sending */
    }
    return;
  case HC_CLOSING:
    evbuffer_drain(in, evbuffer_get_length(in));
    return;
  default:
    if (c->state == HC_HANDLING && c->cur && c->cur->body_fn) {
      body_pump(c);
      return;
    }
    /* Answering: keep reading to notice the peer leaving, but do not
     * buffer an unbounded pipeline (or more of a streamed body than the
     * handler asked for). */
    if (evbuffer_get_length(in) > HTTP_MAX_PIPELINE_BUFFER)
      bufferevent_disable(bev, EV_READ);
    return;
  }
}

static void write_cb(struct bufferevent *bev, void *arg) {
  struct kube_http_conn *c = arg;
  switch (c->state) {
  case HC_IDLE:
    /* An answer finished going out: the connection is idle from now. */
    if (c->timer_kind == HT_NONE && c->srv &&
        !evbuffer_get_length(bufferevent_get_output(bev)))
      timer_arm(c, HT_IDLE, c->srv->idle_ms);
    return;
  case HC_CLOSING:
  case HC_LINGER:
    if (evbuffer_get_length(bufferevent_get_output(bev)))
      return;
    if (c->state == HC_LINGER && c->linger) {
      c->linger = false;
      start_linger(c);
    } else if (c->state == HC_CLOSING) {
      http_conn_free_struct(c);
    }
    return;
  case HC_STREAMING:
    if (c->cur && c->cur->drained_cb &&
        evbuffer_get_length(bufferevent_get_output(bev)) <= c->cur->low_water)
      c->cur->drained_cb(c->cur, c->cur->drained_arg);
    return;
  case HC_UPGRADED:
    if (c->cbs && c->cbs->drained &&
        evbuffer_get_length(bufferevent_get_output(bev)) <= c->low_water) {
      c->busy++;
      c->cbs->drained(c, c->cb_arg);
      user_done(c);
    }
    return;
  default:
    return;
  }
}

static void event_cb(struct bufferevent *bev, short what, void *arg) {
  struct kube_http_conn *c = arg;
  if (what & BEV_EVENT_CONNECTED) {
    /* TLS handshake done: remember a verified client certificate. */
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    if (ssl && !c->cert)
      c->cert = http_cert_from_ssl(ssl);
    return;
  }
  if (what & BEV_EVENT_TIMEOUT)
    log_debug("http: %s: peer stopped reading, closing", c->peer);
  if ((what & BEV_EVENT_EOF) && c->state == HC_UPGRADED) {
    /* Deliver what came before the EOF first. */
    bool was_paused = c->paused;
    c->paused = false;
    if (!deliver_upgraded(c))
      return;
    c->paused = was_paused;
  }
  if ((what & BEV_EVENT_EOF) && c->state == HC_LINGER) {
    http_conn_free_struct(c);
    return;
  }
  conn_die(c);
}

static void process_cb(evutil_socket_t fd, short what, void *arg) {
  struct kube_http_conn *c = arg;
  if (c->state == HC_UPGRADED && c->bev) {
    deliver_upgraded(c);
    return;
  }
  if (c->closed_pending && c->cbs && (c->state == HC_DEAD || !c->bev)) {
    notify_closed(c);
    return;
  }
  if (c->state == HC_HANDLING && c->cur && c->cur->body_fn) {
    body_pump(c);
    return;
  }
  if (c->bev)
    conn_parse(c);
}

/* ---- accept ---- */

static void format_peer(const struct sockaddr *sa, char *out, size_t len) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &s->sin_addr, host, sizeof host);
    snprintf(out, len, "%s:%u", host, ntohs(s->sin_port));
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;
    inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof host);
    snprintf(out, len, "[%s]:%u", host, ntohs(s->sin6_port));
  } else {
    snprintf(out, len, "unix");
  }
}

void http_conn_accepted(kube_http_listener_t *l, int fd,
                        const struct sockaddr *sa, socklen_t sl) {
  kube_http_server_t *srv = l->srv;
  struct kube_http_conn *c = calloc(1, sizeof *c);
  if (!c) {
    close(fd);
    return;
  }
  c->srv = srv;
  c->listener = l;
  c->transport = l->transport;
  c->fd = fd;
  format_peer(sa, c->peer, sizeof c->peer);
  if (sa->sa_family == AF_INET) {
    memcpy(c->peer_addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    c->peer_len = 4;
  } else if (sa->sa_family == AF_INET6) {
    memcpy(c->peer_addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    c->peer_len = 16;
  }
  int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
  if (l->ssl) {
    SSL *ssl = SSL_new(l->ssl);
    c->bev = ssl ? bufferevent_openssl_socket_new(
                       srv->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, opts)
                 : NULL;
    if (c->bev)
      bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
    else if (ssl)
      SSL_free(ssl);
  } else {
    c->bev = bufferevent_socket_new(srv->base, fd, opts);
  }
  /* libevent writes at most 16 KiB per turn of the loop by default: on a
   * busy kubed (turns of 0.1-1 s) a 2 MB page of a LIST took 40 s and
   * `kubectl get pods -A` of 150,000 pods hours.  The socket's buffer
   * bounds each write anyway. */
  if (c->bev)
    bufferevent_set_max_single_write(c->bev, HTTP_MAX_SINGLE_WRITE);
  c->timer = evtimer_new(srv->base, timer_cb, c);
  c->process_ev = event_new(srv->base, -1, 0, process_cb, c);
  if (!c->bev || !c->timer || !c->process_ev) {
    if (!c->bev)
      close(fd);
    http_conn_free_struct(c);
    return;
  }
  http_server_conn_added(srv, c);
  parser_reset(c);
  bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
  http_conn_set_stream_mode(c, false);
  bufferevent_enable(c->bev, EV_READ | EV_WRITE);
  c->state = HC_IDLE;
  timer_arm(c, HT_HEADER, srv->header_ms);
}

/* ---- upgraded connections ---- */

KUBE_EXPORT void
kube_http_conn_set_callbacks(kube_http_conn_t *c,
                             const kube_http_conn_callbacks_t *cbs,
                             size_t low_water, void *arg) {
  if (!c)
    return;
  c->cbs = cbs;
  c->cb_arg = arg;
  c->low_water = low_water ? low_water : 16384;
  if (c->bev) {
    bufferevent_setwatermark(c->bev, EV_WRITE, c->low_water, 0);
    if (!c->paused)
      http_conn_enable_read(c);
  }
  /* Bytes already buffered, or a close that already happened, are
   * delivered from the loop, never inside this call. */
  if (c->process_ev)
    event_active(c->process_ev, 0, 0);
}

KUBE_EXPORT int kube_http_conn_write(kube_http_conn_t *c, const void *data,
                                     size_t len) {
  if (!c || !c->bev || c->state != HC_UPGRADED)
    return -1;
  return evbuffer_add(bufferevent_get_output(c->bev), data, len) == 0 ? 0 : -1;
}

static void free_unit(const void *data, size_t len, void *arg) {
  free((void *)data);
}

KUBE_EXPORT int kube_http_conn_write_unit(kube_http_conn_t *c, const void *data,
                                          size_t len) {
  if (!c || !c->bev || c->state != HC_UPGRADED)
    return -1;
  if (len == 0)
    return 0;
  /* A chain of its own: bufferevent_openssl hands each chain to one
   * SSL_write, so the bytes become TLS records of their own. */
  void *copy = malloc(len);
  if (!copy)
    return -1;
  memcpy(copy, data, len);
  if (evbuffer_add_reference(bufferevent_get_output(c->bev), copy, len,
                             free_unit, NULL) < 0) {
    free(copy);
    return -1;
  }
  return 0;
}

KUBE_EXPORT size_t kube_http_conn_pending(const kube_http_conn_t *c) {
  return c && c->bev ? evbuffer_get_length(bufferevent_get_output(c->bev)) : 0;
}

KUBE_EXPORT void kube_http_conn_pause_reading(kube_http_conn_t *c,
                                              bool paused) {
  if (!c || c->paused == paused)
    return;
  c->paused = paused;
  if (!c->bev)
    return;
  if (paused) {
    bufferevent_disable(c->bev, EV_READ);
  } else if (c->cbs) {
    http_conn_enable_read(c);
    event_active(c->process_ev, 0, 0);
  }
}

KUBE_EXPORT const char *kube_http_conn_peer(const kube_http_conn_t *c) {
  return c ? c->peer : NULL;
}

KUBE_EXPORT const kube_http_peer_cert_t *
kube_http_conn_peer_cert(const kube_http_conn_t *c) {
  return c && c->cert ? &c->cert->pub : NULL;
}

KUBE_EXPORT void kube_http_conn_close(kube_http_conn_t *c) {
  if (!c)
    return;
  c->cbs = NULL;
  if (c->busy) {
    c->close_requested = true;
    return;
  }
  c->owned = false;
  c->closed_pending = false;
  if (!c->bev || c->state == HC_DEAD) {
    http_conn_free_struct(c);
    return;
  }
  conn_close_after_flush(c, false);
}
