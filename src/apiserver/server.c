/* SPDX-License-Identifier: Apache-2.0 */
/* Listeners, authentication, body limits and the two transports (evhttp
 * and in-process calls) that feed as_dispatch(). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "apiserver/internal.h"

/* ------------------------------------------------------------------------ */
/* Request lifecycle                                                         */
/* ------------------------------------------------------------------------ */

static enum method parse_method(const char *m) {
  if (streq(m, "GET"))
    return M_GET;
  if (streq(m, "POST"))
    return M_POST;
  if (streq(m, "PUT"))
    return M_PUT;
  if (streq(m, "PATCH"))
    return M_PATCH;
  if (streq(m, "DELETE"))
    return M_DELETE;
  if (streq(m, "HEAD"))
    return M_HEAD;
  return M_OTHER;
}

static struct req *req_new(kube_apiserver_t *srv, const struct transport *tp,
                           void *tp_ctx) {
  struct req *r = calloc(1, sizeof(*r));
  if (!r)
    return NULL;
  r->srv = srv;
  r->tp = tp;
  r->tp_ctx = tp_ctx;
  r->start_ns = kube_time_mono_ns();
  TAILQ_INIT(&r->query);
  r->query_init = true;
  TAILQ_INSERT_TAIL(&srv->inflight, r, link);
  return r;
}

/* Split "path?query" into the decoded path and parsed query. */
static int req_set_uri(struct req *r, const char *uri) {
  const char *q = strchr(uri, '?');
  size_t plen = q ? (size_t)(q - uri) : strlen(uri);
  cleanup_free char *raw = strndup(uri, plen);
  if (!raw)
    return -1;
  r->path = evhttp_uridecode(raw, 0, NULL);
  if (!r->path)
    return -1;
  if (q && evhttp_parse_query_str(q + 1, &r->query) < 0)
    return -2;
  return 0;
}

const char *as_req_query(const struct req *r, const char *key) {
  return evhttp_find_header(&((struct req *)r)->query, key);
}

bool as_req_query_bool(const struct req *r, const char *key) {
  const char *v = as_req_query(r, key);
  if (!v)
    return false;
  return strcasecmp(v, "true") == 0 || streq(v, "1") || strcasecmp(v, "t") == 0;
}

static void req_free(struct req *r) {
  if (r->query_init)
    evhttp_clear_headers(&r->query);
  as_route_clear(&r->rt);
  free(r->method_str);
  free(r->path);
  free(r->content_type);
  free(r->accept);
  free(r->user_agent);
  free(r->body);
  free(r);
}

/* The reply has left (or was dropped): forget the request. */
void as_req_finish(struct req *r) {
  kube_apiserver_t *srv = r->srv;
  if (r->watch)
    as_watchers_cancel_req(r);
  if (r->tp->release)
    r->tp->release(r);
  TAILQ_REMOVE(&srv->inflight, r, link);
  if (kube_log_get_level() >= KUBE_LOG_DEBUG)
    log_debug("apiserver: %s %s done in %.3f ms",
              r->method_str ? r->method_str : "?", r->path ? r->path : "?",
              (double)(kube_time_mono_ns() - r->start_ns) / 1e6);
  req_free(r);
  as_server_check_drained(srv);
  as_server_maybe_release(srv);
}

static void drain_cb(evutil_socket_t fd, short what, void *arg) {
  kube_apiserver_t *srv = arg;
  if (!srv->shutting_down || !TAILQ_EMPTY(&srv->inflight) || !srv->done_cb)
    return;
  kube_apiserver_done_cb cb = srv->done_cb;
  srv->done_cb = NULL;
  cb(srv, srv->done_arg);
}

void as_server_check_drained(kube_apiserver_t *srv) {
  if (!srv->zombie && srv->shutting_down && srv->done_cb &&
      TAILQ_EMPTY(&srv->inflight) && srv->drain_ev)
    event_active(srv->drain_ev, 0, 0);
}

static void req_start(struct req *r) {
  kube_apiserver_t *srv = r->srv;
  r->started = true;
  if (srv->shutting_down) {
    as_reply_status(r, KUBE_REASON_SERVICE_UNAVAILABLE,
                    "the server is shutting down");
    return;
  }
  as_dispatch(r);
}

/* ------------------------------------------------------------------------ */
/* evhttp transport                                                          */
/* ------------------------------------------------------------------------ */

static void http_add_common_headers(struct evhttp_request *er,
                                    const char *ctype) {
  struct evkeyvalq *h = evhttp_request_get_output_headers(er);
  evhttp_add_header(h, "Content-Type", ctype);
  evhttp_add_header(h, "Cache-Control", "no-cache, private");
}

static const char *code_phrase(int code) {
  switch (code) {
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 202:
    return "Accepted";
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
  case 409:
    return "Conflict";
  case 410:
    return "Gone";
  case 413:
    return "Request Entity Too Large";
  case 415:
    return "Unsupported Media Type";
  case 422:
    return "Unprocessable Entity";
  case 429:
    return "Too Many Requests";
  case 501:
    return "Not Implemented";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  default:
    return code >= 500 ? "Internal Server Error" : "OK";
  }
}

static void http_reply(struct req *r, int code, const char *ctype,
                       const char *body, size_t len) {
  struct evhttp_request *er = r->tp_ctx;
  if (!er) { /* server freed under this request: nowhere to answer */
    as_req_finish(r);
    return;
  }
  http_add_common_headers(er, ctype);
  struct evbuffer *buf = evbuffer_new();
  if (buf && r->method != M_HEAD)
    evbuffer_add(buf, body, len);
  evhttp_send_reply(er, code, code_phrase(code), buf);
  if (buf)
    evbuffer_free(buf);
  r->tp_ctx = NULL;
  as_req_finish(r);
}

static void free_ref(const void *data, size_t len, void *arg) {
  free((void *)data);
}

/* Large replies (lists) are handed to the evbuffer by reference. */
static void http_reply_take(struct req *r, int code, const char *ctype,
                            char *body, size_t len) {
  struct evhttp_request *er = r->tp_ctx;
  if (!er) {
    free(body);
    as_req_finish(r);
    return;
  }
  http_add_common_headers(er, ctype);
  struct evbuffer *buf = evbuffer_new();
  if (buf && r->method != M_HEAD &&
      evbuffer_add_reference(buf, body, len, free_ref, NULL) == 0)
    body = NULL;
  free(body);
  evhttp_send_reply(er, code, code_phrase(code), buf);
  if (buf)
    evbuffer_free(buf);
  r->tp_ctx = NULL;
  as_req_finish(r);
}

static void http_conn_closed(struct evhttp_connection *evcon, void *arg) {
  struct req *r = arg;
  /* The peer went away in the middle of a stream; the request object is
   * detached from the connection and still ours to end. */
  log_debug("apiserver: stream peer closed %s", r->path);
  evhttp_connection_set_closecb(evcon, NULL, NULL);
  r->done = true;
  r->tp->stream_end(r);
}

static void http_stream_start(struct req *r, int code, const char *ctype) {
  struct evhttp_request *er = r->tp_ctx;
  http_add_common_headers(er, ctype);
  /* evhttp adds Transfer-Encoding: chunked for HTTP/1.1 peers. */
  evhttp_send_reply_start(er, code, code_phrase(code));
  struct evhttp_connection *evcon = evhttp_request_get_connection(er);
  if (evcon)
    evhttp_connection_set_closecb(evcon, http_conn_closed, r);
  r->streaming = true;
}

static void http_stream_chunk(struct req *r, const char *data, size_t len) {
  struct evhttp_request *er = r->tp_ctx;
  struct evbuffer *buf = er ? evbuffer_new() : NULL;
  if (!buf)
    return;
  evbuffer_add(buf, data, len);
  evhttp_send_reply_chunk(er, buf);
  evbuffer_free(buf);
}

static size_t http_backlog(struct req *r) {
  struct evhttp_request *er = r->tp_ctx;
  struct evhttp_connection *evcon =
      er ? evhttp_request_get_connection(er) : NULL;
  struct bufferevent *bev =
      evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
  return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

static void http_stream_end(struct req *r) {
  struct evhttp_request *er = r->tp_ctx;
  if (er) {
    struct evhttp_connection *evcon = evhttp_request_get_connection(er);
    if (evcon)
      evhttp_connection_set_closecb(evcon, NULL, NULL);
    evhttp_send_reply_end(er);
  }
  r->tp_ctx = NULL;
  as_req_finish(r);
}

static const struct transport http_transport = {
    .reply = http_reply,
    .stream_start = http_stream_start,
    .stream_chunk = http_stream_chunk,
    .stream_end = http_stream_end,
    .backlog = http_backlog,
    .reply_take = http_reply_take,
};

static const char *method_string(enum evhttp_cmd_type c) {
  switch (c) {
  case EVHTTP_REQ_GET:
    return "GET";
  case EVHTTP_REQ_POST:
    return "POST";
  case EVHTTP_REQ_HEAD:
    return "HEAD";
  case EVHTTP_REQ_PUT:
    return "PUT";
  case EVHTTP_REQ_DELETE:
    return "DELETE";
  case EVHTTP_REQ_OPTIONS:
    return "OPTIONS";
  case EVHTTP_REQ_TRACE:
    return "TRACE";
  case EVHTTP_REQ_CONNECT:
    return "CONNECT";
  case EVHTTP_REQ_PATCH:
    return "PATCH";
  default:
    return "UNKNOWN";
  }
}

static bool token_ok(kube_apiserver_t *srv, struct evhttp_request *er) {
  if (!srv->token)
    return true;
  const char *a =
      evhttp_find_header(evhttp_request_get_input_headers(er), "Authorization");
  if (!a || strncasecmp(a, "Bearer ", 7) != 0)
    return false;
  a += 7;
  while (*a == ' ')
    a++;
  /* Constant-time comparison: the token is the only credential. */
  size_t la = strlen(a), lt = strlen(srv->token);
  unsigned char diff = la != lt;
  for (size_t i = 0; i < la && i < lt; i++)
    diff |= (unsigned char)(a[i] ^ srv->token[i]);
  return diff == 0;
}

static void http_cb(struct evhttp_request *er, void *arg) {
  struct listener *l = arg;
  kube_apiserver_t *srv = NULL;
  /* The listener's owner is found through the list head stored in the
   * evhttp's callback argument chain; listeners keep a back pointer. */
  srv = *(kube_apiserver_t **)(l + 1);
  struct req *r = req_new(srv, &http_transport, er);
  if (!r) {
    evhttp_send_error(er, 500, "out of memory");
    return;
  }
  r->method_str = strdup(method_string(evhttp_request_get_command(er)));
  r->method = parse_method(r->method_str ? r->method_str : "");
  struct evkeyvalq *in = evhttp_request_get_input_headers(er);
  const char *ct = evhttp_find_header(in, "Content-Type");
  const char *ac = evhttp_find_header(in, "Accept");
  r->content_type = ct ? strdup(ct) : NULL;
  r->accept = ac ? strdup(ac) : NULL;
  const char *ua = evhttp_find_header(in, "User-Agent");
  r->user_agent = ua ? strdup(ua) : NULL;
  int rc = req_set_uri(r, evhttp_request_get_uri(er));
  if (rc == -1 || !r->method_str) {
    as_reply_status(r, KUBE_REASON_BAD_REQUEST, "malformed request URI");
    return;
  }
  if (rc == -2) {
    as_reply_status(r, KUBE_REASON_BAD_REQUEST, "malformed query string");
    return;
  }
  struct evbuffer *b = evhttp_request_get_input_buffer(er);
  size_t blen = evbuffer_get_length(b);
  if (blen > srv->max_body) {
    as_reply_status(
        r, KUBE_REASON_TOO_LARGE,
        "the request body of %zu bytes exceeds the limit of %zu bytes", blen,
        srv->max_body);
    return;
  }
  r->body = malloc(blen + 1);
  if (!r->body) {
    as_reply_status(r, KUBE_REASON_INTERNAL, "out of memory");
    return;
  }
  evbuffer_remove(b, r->body, blen);
  r->body[blen] = '\0';
  r->body_len = blen;
  if (l->auth && !token_ok(srv, er)) {
    /* Health probes stay open as in Kubernetes' default RBAC. */
    if (!(r->method == M_GET &&
          (streq(r->path, "/healthz") || streq(r->path, "/livez") ||
           streq(r->path, "/readyz") || streq(r->path, "/version")))) {
      as_reply_status(r, KUBE_REASON_UNAUTHORIZED, "Unauthorized");
      return;
    }
  }
  req_start(r);
}

/* ------------------------------------------------------------------------ */
/* In-process transport                                                      */
/* ------------------------------------------------------------------------ */

struct kube_apiserver_call {
  struct req *r;
  kube_apiserver_reply_cb cb;
  void *arg;
  struct event *ev; /* defers the start out of the caller's stack */
  bool cancelled;
};

static void call_reply(struct req *r, int code, const char *ctype,
                       const char *body, size_t len) {
  struct kube_apiserver_call *c = r->tp_ctx;
  if (!c->cancelled)
    c->cb(code, ctype, body, len, true, c->arg);
  as_req_finish(r);
}

static void call_stream_start(struct req *r, int code, const char *ctype) {
  struct kube_apiserver_call *c = r->tp_ctx;
  r->streaming = true;
  if (!c->cancelled)
    c->cb(code, ctype, "", 0, false, c->arg);
}

static void call_stream_chunk(struct req *r, const char *data, size_t len) {
  struct kube_apiserver_call *c = r->tp_ctx;
  if (!c->cancelled)
    c->cb(200, "application/json", data, len, false, c->arg);
}

static void call_stream_end(struct req *r) {
  struct kube_apiserver_call *c = r->tp_ctx;
  if (!c->cancelled)
    c->cb(200, "application/json", "", 0, true, c->arg);
  as_req_finish(r);
}

static void call_release(struct req *r) {
  struct kube_apiserver_call *c = r->tp_ctx;
  if (c->ev)
    event_free(c->ev);
  free(c);
  r->tp_ctx = NULL;
}

static const struct transport call_transport = {
    .reply = call_reply,
    .stream_start = call_stream_start,
    .stream_chunk = call_stream_chunk,
    .stream_end = call_stream_end,
    .release = call_release,
};

static void call_start_cb(evutil_socket_t fd, short what, void *arg) {
  struct kube_apiserver_call *c = arg;
  struct req *r = c->r;
  if (c->cancelled) {
    as_req_finish(r);
    return;
  }
  req_start(r);
}

KUBE_EXPORT kube_apiserver_call_t *kube_apiserver_request(
    kube_apiserver_t *srv, const kube_apiserver_request_t *rq,
    kube_apiserver_reply_cb cb, void *arg, kube_error_t *err) {
  if (!srv || !rq || !rq->method || !rq->path || !cb) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "request needs a method, a path and a callback");
    return NULL;
  }
  struct kube_apiserver_call *c = calloc(1, sizeof(*c));
  if (!c) {
    kube_make_oom(err);
    return NULL;
  }
  c->cb = cb;
  c->arg = arg;
  c->ev = event_new(srv->base, -1, 0, call_start_cb, c);
  struct req *r = c->ev ? req_new(srv, &call_transport, c) : NULL;
  if (!r) {
    if (c->ev)
      event_free(c->ev);
    free(c);
    kube_make_oom(err);
    return NULL;
  }
  c->r = r;
  r->method_str = strdup(rq->method);
  r->method = parse_method(rq->method);
  r->content_type = rq->content_type ? strdup(rq->content_type) : NULL;
  r->accept = rq->accept ? strdup(rq->accept) : NULL;
  r->body = malloc(rq->body_len + 1);
  if (r->body) {
    if (rq->body_len)
      memcpy(r->body, rq->body, rq->body_len);
    r->body[rq->body_len] = '\0';
    r->body_len = rq->body_len;
  }
  int rc = req_set_uri(r, rq->path);
  if (!r->method_str || !r->body || rc == -1) {
    c->cancelled = true;
    as_req_finish(r);
    kube_make_oom(err);
    return NULL;
  }
  if (rc == -2) {
    c->cancelled = true;
    as_req_finish(r);
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "malformed query string");
    return NULL;
  }
  if (r->body_len > srv->max_body) {
    /* Answer asynchronously like every other reply. */
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
    r->method = M_OTHER;
    free(r->method_str);
    r->method_str = strdup("TOO_LARGE");
  }
  event_active(c->ev, 0, 0);
  return c;
}

static void call_end_cb(evutil_socket_t fd, short what, void *arg) {
  struct kube_apiserver_call *c = arg;
  struct req *r = c->r;
  if (r->streaming && !r->done) {
    r->done = true;
    call_stream_end(r);
  }
}

KUBE_EXPORT void kube_apiserver_call_cancel(kube_apiserver_call_t *c) {
  if (!c || c->cancelled)
    return;
  c->cancelled = true;
  struct req *r = c->r;
  /* A running watch ends from the loop: the caller may be inside one of
   * its callbacks, with the watch machinery still on the stack.  A pending
   * write completes silently.  Either way the callback never runs again. */
  if (r->streaming && !r->done) {
    if (c->ev)
      event_free(c->ev);
    c->ev = event_new(r->srv->base, -1, 0, call_end_cb, c);
    if (c->ev)
      event_active(c->ev, 0, 0);
  }
}

/* ------------------------------------------------------------------------ */
/* Listeners                                                                 */
/* ------------------------------------------------------------------------ */

static struct listener *listener_new(kube_apiserver_t *srv, bool auth) {
  /* The server pointer lives right after the struct so http_cb finds it
   * without a global. */
  struct listener *l = calloc(1, sizeof(*l) + sizeof(kube_apiserver_t *));
  if (!l)
    return NULL;
  *(kube_apiserver_t **)(l + 1) = srv;
  l->auth = auth;
  l->port = -1;
  l->http = evhttp_new(srv->base);
  if (!l->http) {
    free(l);
    return NULL;
  }
  evhttp_set_allowed_methods(l->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
                                          EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH |
                                          EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
  /* evhttp answers an over-large body itself (without a Status); keep its
   * bound well above ours so normal over-limit bodies get our 413. */
  size_t cap = srv->max_body * 2 + 1024 * 1024;
  evhttp_set_max_body_size(l->http, (ev_ssize_t)cap);
  evhttp_set_max_headers_size(l->http, 64 * 1024);
  evhttp_set_timeout(l->http, 3600);
  evhttp_set_gencb(l->http, http_cb, l);
  return l;
}

static void listener_free(struct listener *l) {
  if (!l)
    return;
  if (l->http)
    evhttp_free(l->http);
  if (l->unix_path) {
    unlink(l->unix_path);
    free(l->unix_path);
  }
  free(l);
}

static int listen_unix(kube_apiserver_t *srv, const char *path,
                       kube_error_t *err) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, ENAMETOOLONG,
                          "unix socket path too long: %s", path);
  strcpy(sa.sun_path, path);
  cleanup_close int fd =
      socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return kube_make_error(err, errno, "socket: %s", strerror(errno));
  /* Replace a stale socket, never a regular file. */
  struct stat st;
  if (lstat(path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return kube_error_set(err, KUBE_REASON_INTERNAL, EEXIST,
                            "%s exists and is not a socket", path);
    unlink(path);
  }
  mode_t old = umask(0177);
  int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
  umask(old);
  if (rc < 0)
    return kube_make_error(err, errno, "bind %s: %s", path, strerror(errno));
  chmod(path, 0600);
  if (listen(fd, 1024) < 0)
    return kube_make_error(err, errno, "listen %s: %s", path, strerror(errno));
  struct listener *l = listener_new(srv, false);
  if (!l)
    return kube_make_oom(err);
  l->unix_path = strdup(path);
  struct evconnlistener *el =
      evconnlistener_new(srv->base, NULL, NULL,
                         LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
  if (!el || !(l->bound = evhttp_bind_listener(l->http, el))) {
    if (el)
      evconnlistener_free(el);
    else
      close(fd);
    fd = -1;
    listener_free(l);
    return kube_make_error(err, 0, "cannot serve %s", path);
  }
  fd = -1;
  l->next = srv->listeners;
  srv->listeners = l;
  return 0;
}

static int listen_tcp(kube_apiserver_t *srv, const char *hostport,
                      kube_error_t *err) {
  cleanup_free char *host = NULL;
  const char *port_s;
  if (hostport[0] == '[') {
    const char *end = strchr(hostport, ']');
    if (!end || end[1] != ':')
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                            "bad listen address %s", hostport);
    host = strndup(hostport + 1, (size_t)(end - hostport - 1));
    port_s = end + 2;
  } else {
    const char *colon = strrchr(hostport, ':');
    if (!colon)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                            "bad listen address %s (want ADDR:PORT)", hostport);
    host = strndup(hostport, (size_t)(colon - hostport));
    port_s = colon + 1;
  }
  if (!host)
    return kube_make_oom(err);
  char *end;
  long port = strtol(port_s, &end, 10);
  if (*port_s == '\0' || *end || port < 0 || port > 65535)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "bad port in %s", hostport);
  struct listener *l = listener_new(srv, true);
  if (!l)
    return kube_make_oom(err);
  if (srv->tls_ctx)
    evhttp_set_bevcb(l->http, as_tls_bevcb, srv->tls_ctx);
  struct evhttp_bound_socket *bs =
      evhttp_bind_socket_with_handle(l->http, host, (uint16_t)port);
  if (!bs) {
    int e = errno;
    listener_free(l);
    return kube_make_error(err, e, "cannot listen on %s: %s", hostport,
                           strerror(e));
  }
  l->bound = bs;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof(ss);
  if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss,
                  &sl) == 0) {
    if (ss.ss_family == AF_INET)
      l->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    else if (ss.ss_family == AF_INET6)
      l->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  }
  l->next = srv->listeners;
  srv->listeners = l;
  return 0;
}

KUBE_EXPORT int kube_apiserver_listen(kube_apiserver_t *srv, const char *spec,
                                      kube_error_t *err) {
  if (!srv || !spec)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "no listen address");
  if (str_has_prefix(spec, "unix:"))
    return listen_unix(srv, spec + 5, err);
  if (str_has_prefix(spec, "tcp:"))
    return listen_tcp(srv, spec + 4, err);
  return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                        "bad listen address %s (want unix:PATH or "
                        "tcp:ADDR:PORT)",
                        spec);
}

KUBE_EXPORT int kube_apiserver_port(const kube_apiserver_t *srv) {
  int port = -1;
  for (struct listener *l = srv ? srv->listeners : NULL; l; l = l->next)
    if (l->port >= 0)
      port = l->port; /* last in the list = first opened */
  return port;
}

KUBE_EXPORT bool kube_apiserver_tls(const kube_apiserver_t *srv) {
  return srv && srv->tls_ctx;
}

KUBE_EXPORT bool kube_apiserver_ready(const kube_apiserver_t *srv) {
  return srv && srv->ready;
}

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                 */
/* ------------------------------------------------------------------------ */

KUBE_EXPORT kube_apiserver_t *
kube_apiserver_new(kube_loop_t *kloop, kube_store_t *store,
                   const kube_apiserver_options_t *opts, kube_error_t *err) {
  struct event_base *base = kube_loop_base(kloop);
  if (!base || !store) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "apiserver needs an event base and a store");
    return NULL;
  }
  kube_apiserver_options_t o = {0};
  if (opts) {
    size_t n = opts->struct_size && opts->struct_size < sizeof(o)
                   ? opts->struct_size
                   : sizeof(o);
    memcpy(&o, opts, n);
  }
  kube_apiserver_t *srv = calloc(1, sizeof(*srv));
  if (!srv) {
    kube_make_oom(err);
    return NULL;
  }
  srv->base = base;
  srv->store = store;
  TAILQ_INIT(&srv->inflight);
  srv->max_body = o.max_body_bytes ? o.max_body_bytes : DEFAULT_MAX_BODY;
  srv->token = o.token ? strdup(o.token) : NULL;
  srv->advertise_address =
      strdup(o.advertise_address ? o.advertise_address : "127.0.0.1");
  srv->advertise_port = o.advertise_port ? o.advertise_port : 6443;
  srv->drain_ev = event_new(base, -1, 0, drain_cb, srv);
  if (o.tls_cert_file || o.tls_key_file) {
    if (!o.tls_cert_file || !o.tls_key_file) {
      kube_apiserver_free(srv);
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                     "TLS needs both a certificate and a key");
      return NULL;
    }
    srv->tls_ctx = as_tls_ctx_new(o.tls_cert_file, o.tls_key_file, err);
    if (!srv->tls_ctx) {
      kube_apiserver_free(srv);
      return NULL;
    }
  }
  if ((o.token && !srv->token) || !srv->advertise_address || !srv->drain_ev) {
    kube_apiserver_free(srv);
    kube_make_oom(err);
    return NULL;
  }
  if (o.bootstrap)
    as_bootstrap_start(srv);
  else
    srv->ready = true;
  return srv;
}

static void close_listeners(kube_apiserver_t *srv) {
  struct listener *l = srv->listeners;
  srv->listeners = NULL;
  while (l) {
    struct listener *next = l->next;
    listener_free(l);
    l = next;
  }
}

KUBE_EXPORT void kube_apiserver_shutdown(kube_apiserver_t *srv,
                                         kube_apiserver_done_cb done,
                                         void *arg) {
  if (!srv)
    return;
  srv->shutting_down = true;
  srv->done_cb = done;
  srv->done_arg = arg;
  /* No new connections; the open ones finish what they started (new
   * requests on them get 503). */
  for (struct listener *l = srv->listeners; l; l = l->next) {
    if (l->bound) {
      evhttp_del_accept_socket(l->http, l->bound);
      l->bound = NULL;
    }
    if (l->unix_path)
      unlink(l->unix_path);
  }
  /* Watches end first so their connections are idle when evhttp goes. */
  as_watch_stop_all(srv);
  /* evhttp_free would drop connections whose replies are still pending;
   * keep listeners until the drain finishes, but refuse new requests
   * (req_start answers 503). */
  as_server_check_drained(srv);
}

static void server_release(kube_apiserver_t *srv) {
  if (srv->drain_ev)
    event_free(srv->drain_ev);
  if (srv->bookmark_ev)
    event_free(srv->bookmark_ev);
  free(srv->token);
  free(srv->advertise_address);
  free(srv->openapi);
  as_tls_ctx_free(srv->tls_ctx);
  free(srv);
}

void as_server_maybe_release(kube_apiserver_t *srv) {
  if (srv->zombie && TAILQ_EMPTY(&srv->inflight))
    server_release(srv);
}

KUBE_EXPORT void kube_apiserver_free(kube_apiserver_t *srv) {
  if (!srv)
    return;
  srv->shutting_down = true;
  srv->done_cb = NULL;
  as_watch_stop_all(srv);
  /* Requests still waiting for a store write keep their memory until the
   * write's callback runs (the store finishes writes when it is closed);
   * their replies go nowhere: evhttp frees its connections below. */
  struct req *r;
  struct req *tmp;
  TAILQ_FOREACH_SAFE(r, &srv->inflight, link, tmp) {
    if (r->tp == &http_transport) {
      r->tp_ctx = NULL;
    } else if (r->tp_ctx) {
      ((struct kube_apiserver_call *)r->tp_ctx)->cancelled = true;
      /* Never started: nothing in the store refers to it. */
      if (!r->started)
        as_req_finish(r);
    }
  }
  close_listeners(srv);
  as_hubs_free(srv);
  as_ns_cleanups_free(srv);
  as_gracefuls_free(srv);
  if (TAILQ_EMPTY(&srv->inflight))
    server_release(srv);
  else
    srv->zombie = true;
}
