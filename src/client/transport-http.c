/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The asynchronous HTTP kube_transport_t: libevent's evhttp client over
 * TCP, with TLS through bufferevent_openssl.  Settings (server, token, CA,
 * client certificate) come from a kube_client_t built from the same
 * options as the synchronous client.
 *
 * Plain requests share a small pool of keep-alive connections (evhttp
 * queues requests per connection).  Streams (watch=, follow=) get a
 * connection of their own, freed with the call.  A pooled TLS connection
 * that closed is replaced rather than reconnected: an SSL object cannot be
 * reused for a second handshake.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "client/internal.h"
#include "core/util.h"

#define POOL_MAX 16

struct pooled {
  struct evhttp_connection *conn;
  bool dead; /* closed: replace before the next request */
};

struct kube_http_transport {
  struct event_base *base;
  kube_client_t *client; /* settings only: url, token, TLS context */
  struct pooled pool[POOL_MAX];
  unsigned n_pool, next;
  struct kube_transport_call *calls; /* live calls, for free */
};

struct kube_transport_call {
  kube_http_transport_t *t;
  struct evhttp_request *req;    /* NULL once libevent is done with it */
  struct evhttp_connection *own; /* streams: their connection */
  kube_transport_reply_cb cb;
  void *arg;
  bool stream;
  bool started;          /* stream: first callback made */
  struct evbuffer *body; /* plain replies: accumulated */
  struct kube_transport_call *prev, *next;
};

static void call_unlink(struct kube_transport_call *c) {
  if (c->prev)
    c->prev->next = c->next;
  else
    c->t->calls = c->next;
  if (c->next)
    c->next->prev = c->prev;
}

/* Free the call's own connection from the loop, never inside one of its
 * callbacks (libevent still uses it when the done callback returns). */
static void free_conn_cb(evutil_socket_t fd, short what, void *arg) {
  evhttp_connection_free(arg);
}

static void call_release(struct kube_transport_call *c) {
  call_unlink(c);
  if (c->own)
    event_base_once(c->t->base, -1, EV_TIMEOUT, free_conn_cb, c->own, NULL);
  if (c->body)
    evbuffer_free(c->body);
  free(c);
}

static const char *content_type(struct evhttp_request *req) {
  struct evkeyvalq *h = req ? evhttp_request_get_input_headers(req) : NULL;
  const char *ct = h ? evhttp_find_header(h, "Content-Type") : NULL;
  return ct ? ct : "application/json";
}

static void chunk_cb(struct evhttp_request *req, void *arg) {
  struct kube_transport_call *c = arg;
  struct evbuffer *in = evhttp_request_get_input_buffer(req);
  if (!c->stream) {
    evbuffer_add_buffer(c->body, in);
    return;
  }
  int status = evhttp_request_get_response_code(req);
  if (!c->started) {
    /* An error answer (Status with a Content-Length) is a plain reply. */
    const char *te = evhttp_find_header(evhttp_request_get_input_headers(req),
                                        "Transfer-Encoding");
    if (status != 200 && !(te && strcasestr(te, "chunked"))) {
      c->stream = false;
      evbuffer_add_buffer(c->body, in);
      return;
    }
    c->started = true;
    c->cb(status, content_type(req), "", 0, false, c->arg);
    if (!c->req)
      return; /* cancelled inside the callback */
  }
  size_t n = evbuffer_get_length(in);
  if (!n)
    return;
  const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
  c->cb(status, content_type(req), p, n, false, c->arg);
  if (c->req)
    evbuffer_drain(in, n);
}

static void done_cb(struct evhttp_request *req, void *arg) {
  struct kube_transport_call *c = arg;
  c->req = NULL; /* libevent frees it after this callback */
  int status = req ? evhttp_request_get_response_code(req) : 0;
  if (c->stream && c->started) {
    c->cb(status, content_type(req), "", 0, true, c->arg);
  } else {
    if (req)
      evbuffer_add_buffer(c->body, evhttp_request_get_input_buffer(req));
    size_t n = evbuffer_get_length(c->body);
    const char *p =
        n ? (const char *)evbuffer_pullup(c->body, (ev_ssize_t)n) : "";
    c->cb(status, content_type(req), p, n, true, c->arg);
  }
  call_release(c);
}

static void pool_close_cb(struct evhttp_connection *conn, void *arg) {
  struct pooled *p = arg;
  p->dead = true;
}

static struct evhttp_connection *conn_new(kube_http_transport_t *t,
                                          kube_error_t *err) {
  kube_client_t *cl = t->client;
  const char *host = cl->url.host;
  int port = atoi(cl->url.port);
  struct bufferevent *bev = NULL;
  if (cl->url.tls) {
    SSL *ssl = SSL_new(cl->ssl_ctx);
    if (!ssl) {
      kube_make_oom(err);
      return NULL;
    }
    const char *name = cl->tls_server_name ? cl->tls_server_name : host;
    SSL_set_tlsext_host_name(ssl, name);
    if (SSL_CTX_get_verify_mode(cl->ssl_ctx) != SSL_VERIFY_NONE) {
      X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
      if (X509_VERIFY_PARAM_set1_ip_asc(param, name) != 1) {
        ERR_clear_error();
        X509_VERIFY_PARAM_set1_host(param, name, 0);
      }
    }
    bev = bufferevent_openssl_socket_new(
        t->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (!bev) {
      SSL_free(ssl);
      kube_make_oom(err);
      return NULL;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
  }
  struct evhttp_connection *conn = evhttp_connection_base_bufferevent_new(
      t->base, NULL, bev, host, (unsigned short)port);
  if (!conn) {
    if (bev)
      bufferevent_free(bev);
    kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                   "cannot create a connection to %s", cl->server);
    return NULL;
  }
  /* Plain requests may be retried once on a stale keep-alive connection. */
  evhttp_connection_set_retries(conn, cl->url.tls ? 0 : 1);
  return conn;
}

/* Requests go out at once: with Nagle's algorithm a request written in
 * two pieces (headers, then the body; TLS records) waits for the server's
 * delayed ACK, 40 ms per request on a keep-alive connection, which capped
 * one transport at about 25 requests/s per connection.  The socket exists
 * once evhttp_make_request started connecting. */
static void nodelay(struct evhttp_connection *conn) {
  struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);
  evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
  int one = 1;
  if (fd >= 0)
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static struct evhttp_connection *pool_get(kube_http_transport_t *t,
                                          kube_error_t *err) {
  struct pooled *p = &t->pool[t->next++ % t->n_pool];
  if (p->conn && p->dead && t->client->url.tls) {
    /* The dead connection may still finish what it had queued. */
    event_base_once(t->base, -1, EV_TIMEOUT, free_conn_cb, p->conn, NULL);
    p->conn = NULL;
  }
  if (!p->conn) {
    p->conn = conn_new(t, err);
    if (!p->conn)
      return NULL;
    p->dead = false;
    evhttp_connection_set_closecb(p->conn, pool_close_cb, p);
  }
  return p->conn;
}

static enum evhttp_cmd_type method_of(const char *m) {
  if (streq(m, "POST"))
    return EVHTTP_REQ_POST;
  if (streq(m, "PUT"))
    return EVHTTP_REQ_PUT;
  if (streq(m, "PATCH"))
    return EVHTTP_REQ_PATCH;
  if (streq(m, "DELETE"))
    return EVHTTP_REQ_DELETE;
  if (streq(m, "HEAD"))
    return EVHTTP_REQ_HEAD;
  return EVHTTP_REQ_GET;
}

static bool is_stream(const char *path) {
  const char *q = strchr(path, '?');
  return q && (strstr(q, "watch=1") || strstr(q, "watch=true") ||
               strstr(q, "follow=true") || strstr(q, "follow=1"));
}

static kube_transport_call_t *http_request(void *impl,
                                           const kube_transport_request_t *rq,
                                           kube_transport_reply_cb cb,
                                           void *arg, kube_error_t *err) {
  kube_http_transport_t *t = impl;
  if (!rq || !rq->method || !rq->path || !cb) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "request needs a method, a path and a callback");
    return NULL;
  }
  struct kube_transport_call *c = calloc(1, sizeof *c);
  if (!c || !(c->body = evbuffer_new())) {
    free(c);
    kube_make_oom(err);
    return NULL;
  }
  c->t = t;
  c->cb = cb;
  c->arg = arg;
  c->stream = is_stream(rq->path);
  struct evhttp_connection *conn =
      c->stream ? (c->own = conn_new(t, err)) : pool_get(t, err);
  if (!conn) {
    evbuffer_free(c->body);
    free(c);
    return NULL;
  }
  c->req = evhttp_request_new(done_cb, c);
  if (!c->req) {
    if (c->own)
      evhttp_connection_free(c->own);
    evbuffer_free(c->body);
    free(c);
    kube_make_oom(err);
    return NULL;
  }
  evhttp_request_set_chunked_cb(c->req, chunk_cb);
  struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
  kube_client_t *cl = t->client;
  evhttp_add_header(h, "Host", cl->url.host);
  evhttp_add_header(h, "Accept", rq->accept ? rq->accept : "application/json");
  const char *ua = rq->struct_size >= offsetof(kube_transport_request_t,
                                               user_agent) +
                                          sizeof rq->user_agent
                       ? rq->user_agent
                       : NULL;
  if (!ua)
    ua = cl->user_agent ? cl->user_agent : "libkube";
  evhttp_add_header(h, "User-Agent", ua);
  if (cl->token) {
    char auth[4200];
    snprintf(auth, sizeof auth, "Bearer %s", cl->token);
    evhttp_add_header(h, "Authorization", auth);
  }
  if (rq->body && rq->body_len) {
    /* libevent adds Content-Length to POST and PUT only: a PATCH or a
     * DELETE with a body went out without one, so the server read an empty
     * body and took the body for the next request on the connection. */
    char clen[24];
    snprintf(clen, sizeof clen, "%zu", rq->body_len);
    evhttp_add_header(h, "Content-Length", clen);
    evhttp_add_header(h, "Content-Type",
                      rq->content_type ? rq->content_type : "application/json");
    evbuffer_add(evhttp_request_get_output_buffer(c->req), rq->body,
                 rq->body_len);
  }
  kube_strbuf_t path = KUBE_STRBUF_INIT;
  kube_strbuf_append(&path, cl->url.prefix);
  kube_strbuf_append(&path, rq->path);
  if (path.oom ||
      evhttp_make_request(conn, c->req, method_of(rq->method), path.data) < 0) {
    /* evhttp_make_request frees the request on failure. */
    kube_strbuf_clear(&path);
    if (c->own)
      evhttp_connection_free(c->own);
    evbuffer_free(c->body);
    free(c);
    kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                   "cannot send a request to %s", cl->server);
    return NULL;
  }
  kube_strbuf_clear(&path);
  nodelay(conn);
  c->next = t->calls;
  if (t->calls)
    t->calls->prev = c;
  t->calls = c;
  return c;
}

static void http_cancel(void *impl, kube_transport_call_t *call) {
  struct kube_transport_call *c = call;
  if (c->req) {
    struct evhttp_request *req = c->req;
    c->req = NULL;
    evhttp_cancel_request(req);
  }
  call_release(c);
}

static const kube_transport_ops_t http_ops = {
    .version = KUBE_TRANSPORT_OPS_VERSION,
    .request = http_request,
    .cancel = http_cancel,
};

KUBE_EXPORT kube_http_transport_t *
kube_http_transport_new(kube_loop_t *kloop, const kube_client_options_t *opts,
                        kube_error_t *err) {
  struct event_base *base = kube_loop_base(kloop);
  if (!base) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL, "no event loop");
    return NULL;
  }
  kube_client_t *cl = kube_client_new(opts, err);
  if (!cl)
    return NULL;
  if (cl->url.unix_socket) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "the asynchronous HTTP transport does not speak to unix "
                   "sockets (%s): use http:// or https://",
                   cl->server);
    kube_client_free(cl);
    return NULL;
  }
  kube_http_transport_t *t = calloc(1, sizeof *t);
  if (!t) {
    kube_client_free(cl);
    kube_make_oom(err);
    return NULL;
  }
  t->base = base;
  t->client = cl;
  t->n_pool = 4;
  return t;
}

KUBE_EXPORT int kube_http_transport_reload(kube_http_transport_t *t,
                                          const kube_client_options_t *opts,
                                          kube_error_t *err) {
  kube_client_t *fresh = kube_client_new(opts, err);
  if (!fresh)
    return -1;
  /* SSL objects hold a reference to their context: connections made
   * with the old one finish with it. */
  SSL_CTX *old = t->client->ssl_ctx;
  t->client->ssl_ctx = fresh->ssl_ctx;
  fresh->ssl_ctx = old;
  kube_client_free(fresh);
  for (unsigned i = 0; i < t->n_pool; i++)
    t->pool[i].dead = true; /* replaced before their next request */
  return 0;
}

KUBE_EXPORT void kube_http_transport_get(kube_http_transport_t *t,
                                         kube_transport_t *out) {
  out->ops = &http_ops;
  out->impl = t;
  out->user_agent = NULL;
}

KUBE_EXPORT void kube_http_transport_free(kube_http_transport_t *t) {
  if (!t)
    return;
  while (t->calls)
    http_cancel(t, t->calls);
  for (unsigned i = 0; i < POOL_MAX; i++)
    if (t->pool[i].conn)
      evhttp_connection_free(t->pool[i].conn);
  kube_client_free(t->client);
  free(t);
}
