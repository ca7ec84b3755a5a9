/* SPDX-License-Identifier: Apache-2.0 */
/* An upgrade-aware reverse proxy (kube-apiserver's UpgradeAwareHandler):
 * one backend connection per request; the response streams back with
 * backpressure; a 101 turns both connections into a byte pipe. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "http/internal.h"

/* Past this many bytes queued toward one side, stop reading the other. */
#define PROXY_HIGH_WATER (1u << 20)
#define PROXY_LOW_WATER (256u * 1024)

struct proxy {
  kube_http_request_t *req; /* until the response is finished */
  kube_http_conn_t *client; /* after a 101 */
  struct bufferevent *bev;  /* backend */
  SSL_CTX *ctx;
  struct event *timer;
  http_parser parser;
  kube_strbuf_t field, value;
  bool in_value;
  bool connected;
  bool began;     /* response head sent to the client */
  bool upgrading; /* the backend answered 101 */
  bool head;
  bool backend_closing; /* flush backend output, then free it */
  char *ctype;
};

static void proxy_free(struct proxy *p) {
  if (p->bev)
    bufferevent_free(p->bev);
  if (p->timer)
    event_free(p->timer);
  SSL_CTX_free(p->ctx);
  kube_strbuf_clear(&p->field);
  kube_strbuf_clear(&p->value);
  free(p->ctype);
  free(p);
}

/* Drop the backend; free p when the client side is done too. */
static void backend_done(struct proxy *p) {
  if (p->bev) {
    bufferevent_free(p->bev);
    p->bev = NULL;
  }
  if (!p->req && !p->client)
    proxy_free(p);
}

/* Finish the client side with an error (before the head) or a cut. */
static void fail(struct proxy *p, int code, const char *msg) {
  kube_http_request_t *r = p->req;
  p->req = NULL;
  if (r) {
    kube_http_request_set_close_cb(r, NULL, NULL);
    kube_http_stream_set_drained_cb(r, 0, NULL, NULL);
    log_debug("http: proxy to backend failed: %s", msg);
    if (p->began)
      kube_http_stream_abort(r);
    else
      kube_http_reply_error(r, code, msg);
  }
  if (p->client) {
    kube_http_conn_close(p->client);
    p->client = NULL;
  }
  backend_done(p);
}

static bool hop_by_hop(const char *name) {
  static const char *const names[] = {"Connection",
                                      "Keep-Alive",
                                      "Proxy-Connection",
                                      "Proxy-Authenticate",
                                      "Proxy-Authorization",
                                      "TE",
                                      "Trailer",
                                      "Transfer-Encoding",
                                      "Upgrade",
                                      NULL};
  for (size_t i = 0; names[i]; i++)
    if (strcasecmp(name, names[i]) == 0)
      return true;
  return false;
}

/* ---- the backend's response ---- */

static int on_hfield(http_parser *hp, const char *at, size_t len);
static int on_hvalue(http_parser *hp, const char *at, size_t len);

static void pass_header(struct proxy *p) {
  if (!p->field.len)
    return;
  const char *n = p->field.data, *v = p->value.data ? p->value.data : "";
  if (p->req && !p->field.oom && !p->value.oom) {
    if (strcasecmp(n, "Content-Type") == 0) {
      free(p->ctype);
      p->ctype = strdup(v);
    } else if (!hop_by_hop(n) && strcasecmp(n, "Content-Length") != 0 &&
               strcasecmp(n, "Date") != 0) {
      kube_http_response_add_header(p->req, n, v, NULL);
    } else if (p->parser.status_code == 101 && strcasecmp(n, "Upgrade") == 0) {
      kube_http_response_add_header(p->req, "Connection", "Upgrade", NULL);
      kube_http_response_add_header(p->req, "Upgrade", v, NULL);
    }
  }
  kube_strbuf_reset(&p->field);
  kube_strbuf_reset(&p->value);
}

static int on_hfield(http_parser *hp, const char *at, size_t len) {
  struct proxy *p = hp->data;
  if (p->in_value) {
    pass_header(p);
    p->in_value = false;
  }
  if (p->field.len + len > 64 * 1024)
    return -1;
  kube_strbuf_append_len(&p->field, at, len);
  return 0;
}

static int on_hvalue(http_parser *hp, const char *at, size_t len) {
  struct proxy *p = hp->data;
  p->in_value = true;
  if (p->value.len + len > 64 * 1024)
    return -1;
  kube_strbuf_append_len(&p->value, at, len);
  return 0;
}

static void client_drained(kube_http_request_t *r, void *arg) {
  struct proxy *p = arg;
  if (p->bev)
    bufferevent_enable(p->bev, EV_READ);
}

static int on_headers_done(http_parser *hp) {
  struct proxy *p = hp->data;
  pass_header(p);
  if (!p->req)
    return -1;
  if (hp->status_code == 101) {
    if (!kube_http_request_upgrade(p->req))
      return -1; /* an unasked-for switch */
    p->upgrading = true;
    return 0;
  }
  int64_t clen = -1;
  bool no_body = p->head || hp->status_code == 204 || hp->status_code == 304 ||
                 hp->status_code < 200;
  if (!(hp->flags & F_CHUNKED) && hp->content_length != ULLONG_MAX)
    clen = (int64_t)hp->content_length;
  if (no_body && clen < 0)
    clen = 0;
  if (kube_http_stream_begin(p->req, hp->status_code, p->ctype, clen) < 0)
    return -1;
  p->began = true;
  kube_http_stream_set_drained_cb(p->req, PROXY_LOW_WATER, client_drained, p);
  return no_body ? 1 : 0; /* 1: no body follows (HEAD) */
}

static int on_rbody(http_parser *hp, const char *at, size_t len) {
  struct proxy *p = hp->data;
  if (!p->req || kube_http_stream_write(p->req, at, len) < 0)
    return -1;
  if (kube_http_stream_backlog(p->req) > PROXY_HIGH_WATER && p->bev)
    bufferevent_disable(p->bev, EV_READ); /* client_drained resumes */
  return 0;
}

static int on_rdone(http_parser *hp) {
  struct proxy *p = hp->data;
  if (p->upgrading)
    return 0;
  kube_http_request_t *r = p->req;
  p->req = NULL;
  if (r) {
    kube_http_request_set_close_cb(r, NULL, NULL);
    kube_http_stream_set_drained_cb(r, 0, NULL, NULL);
    kube_http_stream_end(r);
  }
  http_parser_pause(hp, 1);
  return 0;
}

static const http_parser_settings response_settings = {
    .on_header_field = on_hfield,
    .on_header_value = on_hvalue,
    .on_headers_complete = on_headers_done,
    .on_body = on_rbody,
    .on_message_complete = on_rdone,
};

/* ---- the upgraded pipe ---- */

static void pipe_client_read(kube_http_conn_t *c, const void *data, size_t len,
                             void *arg) {
  struct proxy *p = arg;
  if (!p->bev)
    return;
  struct evbuffer *out = bufferevent_get_output(p->bev);
  evbuffer_add(out, data, len);
  if (evbuffer_get_length(out) > PROXY_HIGH_WATER)
    kube_http_conn_pause_reading(c, true); /* backend write_cb resumes */
}

static void pipe_client_drained(kube_http_conn_t *c, void *arg) {
  struct proxy *p = arg;
  if (p->bev)
    bufferevent_enable(p->bev, EV_READ);
}

static void pipe_client_closed(kube_http_conn_t *c, void *arg) {
  struct proxy *p = arg;
  p->client = NULL;
  kube_http_conn_close(c);
  /* Let the backend have what the client sent before it left. */
  if (p->bev && evbuffer_get_length(bufferevent_get_output(p->bev)) > 0) {
    p->backend_closing = true;
    bufferevent_disable(p->bev, EV_READ);
    return;
  }
  backend_done(p);
}

static const kube_http_conn_callbacks_t pipe_callbacks = {
    .version = KUBE_HTTP_CONN_CALLBACKS_VERSION,
    .read = pipe_client_read,
    .drained = pipe_client_drained,
    .closed = pipe_client_closed,
};

static void pipe_backend_bytes(struct proxy *p) {
  struct evbuffer *in = bufferevent_get_input(p->bev);
  while (p->client && evbuffer_get_length(in)) {
    size_t n = evbuffer_get_contiguous_space(in);
    kube_http_conn_write(p->client, evbuffer_pullup(in, (ev_ssize_t)n), n);
    evbuffer_drain(in, n);
  }
  if (p->client && kube_http_conn_pending(p->client) > PROXY_HIGH_WATER)
    bufferevent_disable(p->bev, EV_READ); /* pipe_client_drained resumes */
}

static void start_pipe(struct proxy *p) {
  kube_http_request_t *r = p->req;
  p->req = NULL;
  kube_http_request_set_close_cb(r, NULL, NULL);
  kube_error_t err = KUBE_ERROR_INIT;
  p->client = kube_http_upgrade(r, &err);
  kube_error_clear(&err);
  if (!p->client) {
    backend_done(p);
    return;
  }
  kube_http_conn_set_callbacks(p->client, &pipe_callbacks, PROXY_LOW_WATER, p);
  bufferevent_setwatermark(p->bev, EV_WRITE, PROXY_LOW_WATER, 0);
  pipe_backend_bytes(p);
}

/* ---- backend callbacks ---- */

static void backend_read(struct bufferevent *bev, void *arg) {
  struct proxy *p = arg;
  if (p->client) {
    pipe_backend_bytes(p);
    return;
  }
  struct evbuffer *in = bufferevent_get_input(bev);
  while (p->req && evbuffer_get_length(in)) {
    size_t n = evbuffer_get_contiguous_space(in);
    const char *d = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
    size_t done = http_parser_execute(&p->parser, &response_settings, d, n);
    enum http_errno e = HTTP_PARSER_ERRNO(&p->parser);
    if (e != HPE_OK && e != HPE_PAUSED) {
      fail(p, 502, "the backend sent a malformed response");
      return;
    }
    evbuffer_drain(in, done);
    if (p->upgrading) {
      start_pipe(p);
      return;
    }
    if (e == HPE_PAUSED) {
      backend_done(p); /* the response is complete */
      return;
    }
  }
  if (!p->req && !p->client)
    backend_done(p);
}

static void backend_write(struct bufferevent *bev, void *arg) {
  struct proxy *p = arg;
  if (p->backend_closing) {
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
      backend_done(p);
    return;
  }
  if (p->client)
    kube_http_conn_pause_reading(p->client, false);
}

static void backend_event(struct bufferevent *bev, short what, void *arg) {
  struct proxy *p = arg;
  if (what & BEV_EVENT_CONNECTED) {
    p->connected = true;
    evtimer_del(p->timer);
    return;
  }
  if (p->client) {
    /* Backend gone: the client gets what was already relayed. */
    kube_http_conn_close(p->client);
    p->client = NULL;
    backend_done(p);
    return;
  }
  if (p->backend_closing) {
    backend_done(p);
    return;
  }
  if ((what & BEV_EVENT_EOF) && p->began) {
    /* A body delimited by the close ends here. */
    http_parser_execute(&p->parser, &response_settings, NULL, 0);
    if (!p->req) {
      backend_done(p);
      return;
    }
    fail(p, 502, "the backend closed the connection early");
    return;
  }
  char msg[256];
  int e = EVUTIL_SOCKET_ERROR();
  unsigned long ssl_err = bufferevent_get_openssl_error(bev);
  if (ssl_err) {
    char buf[160];
    ERR_error_string_n(ssl_err, buf, sizeof buf);
    /* Say why its certificate was refused (an unknown authority, a name
     * it is not for, expired), as Go's x509 errors do. */
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (v != X509_V_OK)
      snprintf(msg, sizeof msg, "TLS with the backend failed: %s: %s", buf,
               X509_verify_cert_error_string(v));
    else
      snprintf(msg, sizeof msg, "TLS with the backend failed: %s", buf);
  } else if (what & BEV_EVENT_EOF) {
    snprintf(msg, sizeof msg, "the backend closed the connection");
  } else {
    snprintf(msg, sizeof msg, "cannot reach the backend: %s",
             e ? strerror(e) : "connection failed");
  }
  fail(p, p->connected ? 502 : 503, msg);
}

static void timeout_cb(evutil_socket_t fd, short what, void *arg) {
  fail(arg, 503, "connecting to the backend timed out");
}

static void client_gone(kube_http_request_t *r, void *arg) {
  struct proxy *p = arg;
  p->req = NULL;
  kube_http_stream_set_drained_cb(r, 0, NULL, NULL);
  kube_http_stream_abort(r);
  backend_done(p);
}

/* ---- setup ---- */

struct target {
  bool tls;
  char host[300];
  struct sockaddr_storage sa;
  socklen_t sl;
  const char *path; /* into the URL */
  int port;
};

static int parse_url(const char *url, struct target *t, kube_error_t *err) {
  const char *rest;
  if (str_has_prefix(url, "http://")) {
    rest = url + 7;
    t->port = 80;
  } else if (str_has_prefix(url, "https://")) {
    rest = url + 8;
    t->tls = true;
    t->port = 443;
  } else {
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "proxy URL must be http:// or https://");
  }
  const char *slash = strchr(rest, '/');
  size_t alen = slash ? (size_t)(slash - rest) : strlen(rest);
  t->path = slash ? slash : "/";
  char auth[300];
  if (alen == 0 || alen >= sizeof auth)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "bad host in proxy URL");
  memcpy(auth, rest, alen);
  auth[alen] = '\0';
  char *host = auth, *port = NULL;
  if (auth[0] == '[') {
    char *end = strchr(auth, ']');
    if (!end)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                            "bad host in proxy URL");
    *end = '\0';
    host = auth + 1;
    if (end[1] == ':')
      port = end + 2;
  } else if ((port = strrchr(auth, ':'))) {
    *port++ = '\0';
  }
  if (port) {
    char *e;
    long v = strtol(port, &e, 10);
    if (*e || v <= 0 || v > 65535)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                            "bad port in proxy URL");
    t->port = (int)v;
  }
  snprintf(t->host, sizeof t->host, "%s", host);
  const char *ip = streq(host, "localhost") ? "127.0.0.1" : host;
  struct sockaddr_in *s4 = (struct sockaddr_in *)&t->sa;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&t->sa;
  memset(&t->sa, 0, sizeof t->sa);
  if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)t->port);
    t->sl = sizeof *s4;
  } else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)t->port);
    t->sl = sizeof *s6;
  } else {
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "proxy backend must be an IP address: %s", host);
  }
  return 0;
}

/* The request as the backend gets it. */
static void build_request(kube_strbuf_t *sb, kube_http_request_t *r,
                          const struct target *t,
                          const kube_http_proxy_options_t *o) {
  const char *up = kube_http_request_upgrade(r);
  bool v6 = t->sa.ss_family == AF_INET6;
  kube_strbuf_printf(sb, "%s %s HTTP/1.1\r\nHost: %s%s%s", r->method, t->path,
                     v6 ? "[" : "", t->host, v6 ? "]" : "");
  if (t->port != (t->tls ? 443 : 80))
    kube_strbuf_printf(sb, ":%d", t->port);
  kube_strbuf_append(sb, "\r\n");
  /* Headers named by Connection are hop-by-hop too. */
  const char *conn_hdr = kube_http_request_header(r, "Connection");
  const char *xff = NULL;
  const char *name, *value;
  for (size_t i = 0; kube_http_request_header_at(r, i, &name, &value); i++) {
    if (hop_by_hop(name) || strcasecmp(name, "Host") == 0 ||
        strcasecmp(name, "Content-Length") == 0 ||
        strcasecmp(name, "Authorization") == 0)
      continue;
    if (conn_hdr && strcasestr(conn_hdr, name))
      continue;
    if (strcasecmp(name, "X-Forwarded-For") == 0) {
      xff = value;
      continue;
    }
    kube_strbuf_printf(sb, "%s: %s\r\n", name, value);
  }
  for (size_t i = 0; o->headers && o->headers[i] && o->headers[i + 1]; i += 2)
    if (!strpbrk(o->headers[i], "\r\n:") && !strpbrk(o->headers[i + 1], "\r\n"))
      kube_strbuf_printf(sb, "%s: %s\r\n", o->headers[i], o->headers[i + 1]);
  char peer[64];
  snprintf(peer, sizeof peer, "%s", r->peer);
  char *colon = strrchr(peer, ':');
  if (r->transport == KUBE_HTTP_UNIX)
    snprintf(peer, sizeof peer, "127.0.0.1");
  else if (colon)
    *colon = '\0';
  if (peer[0] == '[') {
    memmove(peer, peer + 1, strlen(peer));
    peer[strcspn(peer, "]")] = '\0';
  }
  kube_strbuf_printf(sb, "X-Forwarded-For: %s%s%s\r\n", xff ? xff : "",
                     xff ? ", " : "", peer);
  if (up)
    kube_strbuf_printf(sb, "Connection: Upgrade\r\nUpgrade: %s\r\n", up);
  else
    kube_strbuf_append(sb, "Connection: close\r\n");
  size_t blen = 0;
  const char *body = kube_http_request_body(r, &blen);
  if (blen || (r->method_id != HTTP_GET && r->method_id != HTTP_HEAD &&
               r->method_id != HTTP_DELETE && r->method_id != HTTP_OPTIONS))
    kube_strbuf_printf(sb, "Content-Length: %zu\r\n", blen);
  kube_strbuf_append(sb, "\r\n");
  kube_strbuf_append_len(sb, body, blen);
}

KUBE_EXPORT int kube_http_proxy(kube_http_request_t *r, const char *url,
                                const kube_http_proxy_options_t *opts,
                                kube_error_t *err) {
  if (!r)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL, "no request");
  kube_http_proxy_options_t o = {0};
  core_opts_copy(&o, opts);
  struct target t = {0};
  struct kube_http_conn *c = r->conn;
  /* An in-process request has no connection: the caller names the loop. */
  struct event_base *base = c && c->srv ? c->srv->base
                            : !c && r->sink && o.loop ? kube_loop_base(o.loop)
                                                      : NULL;
  if (!url || parse_url(url, &t, err) < 0 || !base) {
    if (url && !base)
      kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, EPIPE,
                     "the client is gone");
    kube_http_reply_error(
        r, 502, err && err->message ? err->message : "bad proxy target");
    return -1;
  }
  struct proxy *p = calloc(1, sizeof *p);
  if (!p) {
    kube_http_reply_error(r, 500, "out of memory");
    return kube_make_oom(err);
  }
  p->req = r;
  p->head = r->method_id == HTTP_HEAD;
  int bopts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
  if (t.tls) {
    p->ctx = http_tls_client_ctx(&o, err);
    SSL *ssl = p->ctx ? SSL_new(p->ctx) : NULL;
    if (ssl) {
      const char *name = o.tls_server_name ? o.tls_server_name : t.host;
      unsigned char ipbuf[16];
      bool is_ip = inet_pton(AF_INET, name, ipbuf) == 1 ||
                   inet_pton(AF_INET6, name, ipbuf) == 1;
      if (!is_ip)
        SSL_set_tlsext_host_name(ssl, name);
      if (!o.tls_insecure_skip_verify) {
        if (is_ip)
          X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name);
        else
          SSL_set1_host(ssl, name);
      }
      p->bev = bufferevent_openssl_socket_new(
          base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, bopts);
      if (!p->bev)
        SSL_free(ssl);
      else
        bufferevent_openssl_set_allow_dirty_shutdown(p->bev, 1);
    }
  } else {
    p->bev = bufferevent_socket_new(base, -1, bopts);
  }
  p->timer = evtimer_new(base, timeout_cb, p);
  if (!p->bev || !p->timer) {
    p->req = NULL;
    proxy_free(p);
    if (!kube_error_is_set(err))
      kube_make_oom(err);
    kube_http_reply_error(
        r, 502, err && err->message ? err->message : "proxy setup failed");
    return -1;
  }
  http_parser_init(&p->parser, HTTP_RESPONSE);
  p->parser.data = p;
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  build_request(&sb, r, &t, &o);
  if (sb.oom) {
    kube_strbuf_clear(&sb);
    p->req = NULL;
    proxy_free(p);
    kube_http_reply_error(r, 500, "out of memory");
    return kube_make_oom(err);
  }
  evbuffer_add(bufferevent_get_output(p->bev), sb.data, sb.len);
  kube_strbuf_clear(&sb);
  bufferevent_setcb(p->bev, backend_read, backend_write, backend_event, p);
  bufferevent_enable(p->bev, EV_READ | EV_WRITE);
  kube_http_request_set_close_cb(r, client_gone, p);
  int ms = o.connect_timeout_ms > 0 ? o.connect_timeout_ms : 10000;
  struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
  evtimer_add(p->timer, &tv);
  if (bufferevent_socket_connect(p->bev, (struct sockaddr *)&t.sa, (int)t.sl) <
      0) {
    /* backend_event reports most failures; this one is synchronous. */
    fail(p, 503, "cannot connect to the backend");
    return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, errno,
                          "cannot connect to %s", url);
  }
  int one = 1;
  setsockopt(bufferevent_getfd(p->bev), IPPROTO_TCP, TCP_NODELAY, &one,
             sizeof one);
  return 0;
}
