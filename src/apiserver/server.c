/* SPDX-License-Identifier: Apache-2.0 */
/* Listeners, authentication and the two transports (HTTP connections of
 * the http module, and in-process calls) that feed as_dispatch(). */
#include <strings.h>

#include "apiserver/authz.h"
#include "http/http-private.h"

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
  TAILQ_INSERT_TAIL(&srv->inflight, r, link);
  return r;
}

const char *as_req_query(const struct req *r, const char *key) {
  return r->hreq ? kube_http_request_query_param(r->hreq, key) : NULL;
}

bool as_req_query_bool(const struct req *r, const char *key) {
  const char *v = as_req_query(r, key);
  if (!v)
    return false;
  return strcasecmp(v, "true") == 0 || streq(v, "1") || strcasecmp(v, "t") == 0;
}

static void req_free(struct req *r) {
  /* Not answered (the server is going away): drop the connection rather
   * than leave the client waiting. */
  if (r->hreq)
    kube_http_stream_abort(r->hreq);
  for (size_t i = 0; r->own_groups && r->own_groups[i]; i++)
    free(r->own_groups[i]);
  free(r->own_groups);
  free((char *)r->own_user.name);
  as_route_clear(&r->rt);
  free(r->method_str);
  free(r->path);
  free(r->content_type);
  free(r->accept);
  free(r->user_agent);
  free(r->request_uri);
  free(r->peer);
  as_req_warnings_clear(r);
  free(r);
}

/* The reply has left (or was dropped): forget the request. */
void as_req_finish(struct req *r) {
  kube_apiserver_t *srv = r->srv;
  if (r->watch)
    as_watchers_cancel_req(r);
  if (r->code && r->method != M_GET && r->method != M_HEAD)
    as_audit_request(r, r->code);
  if (r->tp->release)
    r->tp->release(r);
  TAILQ_REMOVE(&srv->inflight, r, link);
  as_metrics_observe(srv, r);
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
/* HTTP transport                                                            */
/* ------------------------------------------------------------------------ */

static kube_http_request_t *take_hreq(struct req *r) {
  kube_http_request_t *h = r->hreq;
  r->hreq = NULL;
  if (h) {
    kube_http_response_add_header(h, "Cache-Control", "no-cache, private",
                                  NULL);
    for (size_t i = 0; i < r->n_warnings; i++)
      kube_http_response_add_header(h, "Warning", r->warnings[i], NULL);
  }
  return h;
}

static void http_reply(struct req *r, int code, const char *ctype,
                       const char *body, size_t len) {
  r->code = code;
  kube_http_reply(take_hreq(r), code, ctype, body, len);
  as_req_finish(r);
}

/* Large replies (lists) are handed over without a copy. */
static void http_reply_take(struct req *r, int code, const char *ctype,
                            char *body, size_t len) {
  r->code = code;
  kube_http_reply_take(take_hreq(r), code, ctype, body, len);
  as_req_finish(r);
}

static void http_peer_gone(kube_http_request_t *h, void *arg) {
  struct req *r = arg;
  /* The peer went away in the middle of a stream (a watch): end it. */
  log_debug("apiserver: stream peer closed %s", r->path);
  r->done = true;
  r->tp->stream_end(r);
}

static void http_stream_start(struct req *r, int code, const char *ctype) {
  r->code = code;
  r->streaming = true;
  if (!r->hreq)
    return;
  kube_http_response_add_header(r->hreq, "Cache-Control", "no-cache, private",
                                NULL);
  kube_http_stream_begin(r->hreq, code, ctype, -1);
  kube_http_request_set_close_cb(r->hreq, http_peer_gone, r);
}

static void http_stream_chunk(struct req *r, const char *data, size_t len) {
  if (r->hreq)
    kube_http_stream_write(r->hreq, data, len);
}

static size_t http_backlog(struct req *r) {
  return r->hreq ? kube_http_stream_backlog(r->hreq) : 0;
}

/* End the stream: cleanly, or (drop) at once with what is queued. */
static void stream_finish(struct req *r, bool drop) {
  kube_http_request_t *h = r->hreq;
  r->hreq = NULL;
  if (h) {
    kube_http_request_set_close_cb(h, NULL, NULL);
    if (drop)
      kube_http_stream_drop(h);
    else
      kube_http_stream_end(h);
  }
  as_req_finish(r);
}

static void http_stream_end(struct req *r) {
  stream_finish(r, false);
}

static void http_stream_drop(struct req *r) {
  stream_finish(r, true);
}

static const struct transport http_transport = {
    .reply = http_reply,
    .stream_start = http_stream_start,
    .stream_chunk = http_stream_chunk,
    .stream_end = http_stream_end,
    .stream_drop = http_stream_drop,
    .backlog = http_backlog,
    .reply_take = http_reply_take,
};

/* ---- authentication (authn.c) ---- */

static const char *const masters[] = {"system:masters", "system:authenticated",
                                      NULL};
static const kube_apiserver_user_t user_inproc = {"system:apiserver", masters};

static char *dup_header(kube_http_request_t *h, const char *name) {
  const char *v = kube_http_request_header(h, name);
  return v ? strdup(v) : NULL;
}

/* Every request of every listener comes here. */
static void http_handler(kube_http_request_t *h, void *arg) {
  kube_apiserver_t *srv = arg;
  struct req *r = req_new(srv, &http_transport, NULL);
  if (!r) {
    kube_http_reply_error(h, 500, "out of memory");
    return;
  }
  r->hreq = h;
  r->method_str = strdup(kube_http_request_method(h));
  r->method = parse_method(r->method_str ? r->method_str : "");
  r->path = strdup(kube_http_request_path(h));
  r->content_type = dup_header(h, "Content-Type");
  r->accept = dup_header(h, "Accept");
  r->user_agent = dup_header(h, "User-Agent");
  if (r->method != M_GET && r->method != M_HEAD) { /* audited */
    const char *peer = kube_http_request_peer(h);
    r->request_uri = strdup(kube_http_request_target(h));
    r->peer = peer ? strdup(peer) : NULL;
  }
  r->body = kube_http_request_body(h, &r->body_len);
  if (!r->method_str || !r->path) {
    as_reply_status(r, KUBE_REASON_INTERNAL, "out of memory");
    return;
  }
  if (!as_authn_request(srv, r)) {
    as_reply_status(r, KUBE_REASON_UNAUTHORIZED, "Unauthorized");
    return;
  }
  req_start(r);
}

/* ------------------------------------------------------------------------ */
/* In-process transport                                                      */
/* ------------------------------------------------------------------------ */

struct kube_apiserver_call {
  struct req *r;
  kube_apiserver_reply_cb cb;
  void (*event_cb)(const char *type, const kube_object_t *obj,
                   const char *line, size_t len, void *arg);
  void *arg;
  struct event *ev; /* defers the start out of the caller's stack */
  bool cancelled;
};

static void call_reply(struct req *r, int code, const char *ctype,
                       const char *body, size_t len) {
  r->code = code;
  struct kube_apiserver_call *c = r->tp_ctx;
  if (!c->cancelled)
    c->cb(code, ctype, body, len, true, c->arg);
  as_req_finish(r);
}

static void call_stream_start(struct req *r, int code, const char *ctype) {
  r->code = code;
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

static bool call_wants_events(struct req *r) {
  struct kube_apiserver_call *c = r->tp_ctx;
  return c->event_cb != NULL;
}

static void call_stream_event(struct req *r, const char *type,
                              json_object *obj, const char *line, size_t len) {
  struct kube_apiserver_call *c = r->tp_ctx;
  if (c->cancelled)
    return;
  /* A stack wrapper: the receiver borrows it for the call. */
  kube_object_t o = {.root = obj};
  c->event_cb(type, &o, line, len, c->arg);
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
    .wants_events = call_wants_events,
    .stream_event = call_stream_event,
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
  if (rq->struct_size >=
      offsetof(kube_apiserver_request_t, event_cb) + sizeof rq->event_cb)
    c->event_cb = rq->event_cb;
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
  const char *ua = rq->struct_size >= offsetof(kube_apiserver_request_t,
                                               user_agent) +
                                          sizeof rq->user_agent
                       ? rq->user_agent
                       : NULL;
  r->user_agent = ua ? strdup(ua) : NULL;
  r->user = &user_inproc;
  const char *hdrs[7] = {0};
  int nh = 0;
  if (rq->content_type) {
    hdrs[nh++] = "Content-Type";
    hdrs[nh++] = rq->content_type;
  }
  if (rq->accept) {
    hdrs[nh++] = "Accept";
    hdrs[nh++] = rq->accept;
  }
  if (ua) { /* for extension handlers and aggregated servers */
    hdrs[nh++] = "User-Agent";
    hdrs[nh++] = ua;
  }
  kube_error_t e = KUBE_ERROR_INIT;
  r->hreq = http_request_new_local(rq->method, rq->path, hdrs, rq->body,
                                   rq->body_len, &e);
  if (r->hreq) {
    r->path = strdup(kube_http_request_path(r->hreq));
    r->body = kube_http_request_body(r->hreq, &r->body_len);
  }
  if (!r->method_str || !r->hreq || !r->path || (ua && !r->user_agent)) {
    c->cancelled = true;
    as_req_finish(r);
    if (!kube_error_is_set(&e))
      kube_make_oom(&e);
    if (err)
      kube_error_move(err, &e);
    kube_error_clear(&e);
    return NULL;
  }
  if (r->body_len > srv->max_body) {
    /* Answer asynchronously like every other reply. */
    r->body = "";
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

/* A call handed to an extension handler ends when its caller cancels. */
static void call_abandon_cb(evutil_socket_t fd, short what, void *arg) {
  struct kube_apiserver_call *c = arg;
  struct req *r = c->r;
  if (!r->done) {
    r->done = true;
    as_req_finish(r);
  }
}

KUBE_EXPORT void kube_apiserver_call_cancel(kube_apiserver_call_t *c) {
  if (!c || c->cancelled)
    return;
  c->cancelled = true;
  struct req *r = c->r;
  if (r->ext_local) {
    kube_http_request_t *h = r->ext_local;
    r->ext_local = NULL;
    http_request_local_disconnect(h); /* its close callback runs */
    if (c->ev)
      event_free(c->ev);
    c->ev = event_new(r->srv->base, -1, 0, call_abandon_cb, c);
    if (c->ev)
      event_active(c->ev, 0, 0);
    return;
  }
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

KUBE_EXPORT int kube_apiserver_listen(kube_apiserver_t *srv, const char *spec,
                                      kube_error_t *err) {
  if (!srv || !spec)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "no listen address");
  kube_http_listen_options_t lo = {.struct_size = sizeof lo};
  if (str_has_prefix(spec, "tcp:")) {
    lo.tls_cert_file = srv->tls_cert;
    lo.tls_key_file = srv->tls_key;
    lo.tls_client_ca_file = srv->tls_cert ? srv->tls_client_ca : NULL;
  }
  struct listener *l = calloc(1, sizeof *l);
  if (!l)
    return kube_make_oom(err);
  l->l = kube_http_server_listen(srv->http, spec, &lo, err);
  if (!l->l) {
    free(l);
    return -1;
  }
  l->port = kube_http_listener_port(l->l);
  l->next = srv->listeners;
  srv->listeners = l;
  return 0;
}

KUBE_EXPORT int kube_apiserver_port(const kube_apiserver_t *srv) {
  int port = -1;
  for (struct listener *l = srv ? srv->listeners : NULL; l; l = l->next)
    if (l->port >= 0)
      port = l->port; /* last in the list = first opened */
  return port;
}

KUBE_EXPORT bool kube_apiserver_tls(const kube_apiserver_t *srv) {
  return srv && srv->tls_cert;
}

KUBE_EXPORT kube_http_server_t *kube_apiserver_http(kube_apiserver_t *srv) {
  return srv ? srv->http : NULL;
}

KUBE_EXPORT bool kube_apiserver_ready(const kube_apiserver_t *srv) {
  return srv && srv->ready;
}

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                 */
/* ------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                 */
/* ------------------------------------------------------------------------ */

/* Refusals written by the http layer (413 before the body, 414, 431,
 * timeouts) are Kubernetes Status objects like every other error. */
static char *status_body(int code, const char *message, void *arg) {
  kube_error_t e = KUBE_ERROR_INIT;
  kube_reason_t reason = kube_reason_from_http_code(code);
  if (reason == KUBE_REASON_UNKNOWN && code >= 400 && code < 500)
    reason = KUBE_REASON_BAD_REQUEST; /* 414, 431: no reason of their own */
  kube_error_set(&e, reason, 0, "%s", message);
  json_object *st = as_status_object(&e);
  kube_error_clear(&e);
  json_object_object_add(st, "code", json_object_new_int(code));
  const char *s = json_object_to_json_string_ext(
      st, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  char *out = s ? strdup(s) : NULL;
  json_object_put(st);
  return out;
}

static void server_release(kube_apiserver_t *srv);

KUBE_EXPORT kube_apiserver_t *
kube_apiserver_new(kube_loop_t *kloop, kube_store_t *store,
                   const kube_apiserver_options_t *opts, kube_error_t *err) {
  struct event_base *base = kloop ? kube_loop_base(kloop) : NULL;
  if (!base || !store) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "apiserver needs an event base and a store");
    return NULL;
  }
  kube_apiserver_options_t o = {0};
  core_opts_copy(&o, opts);
  if ((o.tls_cert_file == NULL) != (o.tls_key_file == NULL)) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "TLS needs both a certificate and a key");
    return NULL;
  }
  uint32_t svc_net;
  int svc_bits, np_min, np_max;
  if (!o.service_cidr)
    o.service_cidr = "10.96.0.0/12";
  if (core_cidr4_parse(o.service_cidr, &svc_net, &svc_bits) < 0 ||
      svc_bits > 28) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "invalid service CIDR \"%s\" (an IPv4 network with a "
                   "prefix of at most /28, as 10.96.0.0/12)",
                   o.service_cidr);
    return NULL;
  }
  if (core_port_range_parse(o.service_node_port_range
                                ? o.service_node_port_range
                                : "30000-32767",
                            &np_min, &np_max) < 0) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "invalid service node port range \"%s\" (as 30000-32767)",
                   o.service_node_port_range);
    return NULL;
  }
  kube_apiserver_t *srv = calloc(1, sizeof(*srv));
  if (!srv) {
    kube_make_oom(err);
    return NULL;
  }
  srv->svc_net = svc_net;
  srv->svc_bits = svc_bits;
  srv->node_port_min = np_min;
  srv->node_port_max = np_max;
  srv->service_cidr = strdup(o.service_cidr);
  srv->base = base;
  srv->loop = kloop;
  srv->store = store;
  TAILQ_INIT(&srv->inflight);
  srv->max_body = o.max_body_bytes ? o.max_body_bytes : DEFAULT_MAX_BODY;
  srv->watch_budget =
      o.watch_budget_bytes ? o.watch_budget_bytes : WATCH_BUDGET;
  srv->watch_max_backlog =
      o.watch_max_backlog_bytes ? o.watch_max_backlog_bytes : WATCH_MAX_BACKLOG;
  srv->token = o.token ? strdup(o.token) : NULL;
  srv->advertise_address =
      strdup(o.advertise_address ? o.advertise_address : "127.0.0.1");
  srv->advertise_port = o.advertise_port ? o.advertise_port : 6443;
  srv->drain_ev = event_new(base, -1, 0, drain_cb, srv);
  if (o.tls_cert_file) {
    srv->tls_cert = strdup(o.tls_cert_file);
    srv->tls_key = strdup(o.tls_key_file);
  }
  if (o.tls_client_ca_file)
    srv->tls_client_ca = strdup(o.tls_client_ca_file);
  if ((o.kubelet_client_cert_file == NULL) !=
      (o.kubelet_client_key_file == NULL)) {
    server_release(srv);
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "the kubelet client certificate needs its key (and the "
                   "key its certificate)");
    return NULL;
  }
  bool kubelet_oom = false;
  if (o.kubelet_client_cert_file) {
    srv->kubelet_cert = strdup(o.kubelet_client_cert_file);
    srv->kubelet_key = strdup(o.kubelet_client_key_file);
    kubelet_oom = !srv->kubelet_cert || !srv->kubelet_key;
  }
  if (o.kubelet_ca_file)
    kubelet_oom |= !(srv->kubelet_ca = strdup(o.kubelet_ca_file));
  kube_http_server_options_t ho = {.struct_size = sizeof ho};
  if (o.http) {
    core_opts_copy(&ho, o.http);
    ho.struct_size = sizeof ho;
  }
  ho.max_body_bytes = srv->max_body;
  ho.error_body = status_body;
  ho.error_body_arg = srv;
  kube_error_t e = KUBE_ERROR_INIT;
  srv->http = kube_http_server_new(kloop, &ho, &e);
  if (!srv->http ||
      kube_http_server_handle(srv->http, "/", http_handler, srv, &e) < 0) {
    kube_apiserver_free(srv);
    if (err)
      kube_error_move(err, &e);
    kube_error_clear(&e);
    return NULL;
  }
  if ((o.token && !srv->token) || !srv->advertise_address || !srv->drain_ev ||
      !srv->service_cidr ||
      (o.tls_cert_file && (!srv->tls_cert || !srv->tls_key)) ||
      (o.tls_client_ca_file && !srv->tls_client_ca) || kubelet_oom) {
    kube_apiserver_free(srv);
    kube_make_oom(err);
    return NULL;
  }
  if (as_admission_builtins(srv, &e) < 0) {
    kube_apiserver_free(srv);
    if (err)
      kube_error_move(err, &e);
    kube_error_clear(&e);
    return NULL;
  }
  if (as_auth_init(srv, &o, err) < 0) {
    kube_apiserver_free(srv);
    return NULL;
  }
  /* RBAC's cache first: bootstrap's default roles arrive through its
   * watch. */
  if (srv->auth->enabled)
    as_rbac_start(srv);
  if (o.bootstrap)
    as_bootstrap_start(srv);
  else
    srv->ready = true;
  as_crds_start(srv);
  as_scrape_start(srv, kloop);
  as_avail_start(srv, o.bootstrap);
  return srv;
}

static void close_listeners(kube_apiserver_t *srv) {
  struct listener *l = srv->listeners;
  srv->listeners = NULL;
  while (l) {
    struct listener *next = l->next;
    kube_http_listener_close(l->l);
    free(l);
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
   * requests on them get 503 from req_start). */
  for (struct listener *l = srv->listeners; l; l = l->next) {
    kube_http_listener_close(l->l);
    l->l = NULL;
  }
  as_watch_stop_all(srv);
  as_server_check_drained(srv);
}

KUBE_EXPORT int kube_apiserver_set_read_only(kube_apiserver_t *srv,
                                             const char *reason,
                                             kube_error_t *err) {
  char *r = reason ? strdup(reason) : NULL;
  if (reason && !r)
    return kube_make_oom(err);
  free(srv->read_only);
  srv->read_only = r;
  return 0;
}

static void server_release(kube_apiserver_t *srv) {
  free(srv->read_only);
  as_admissions_free(srv);
  as_quota_pending_free(srv);
  as_metrics_free(srv);
  if (srv->drain_ev)
    event_free(srv->drain_ev);
  if (srv->bookmark_ev)
    event_free(srv->bookmark_ev);
  free(srv->token);
  free(srv->advertise_address);
  free(srv->service_cidr);
  free(srv->openapi);
  free(srv->tls_cert);
  free(srv->tls_key);
  free(srv->tls_client_ca);
  free(srv->openapi_pb);
  json_object_put(srv->openapi_v3);
  free(srv->kubelet_cert);
  free(srv->kubelet_key);
  free(srv->kubelet_ca);
  as_auth_free(srv);
  free(srv);
}

void as_server_maybe_release(kube_apiserver_t *srv) {
  if (srv->zombie && TAILQ_EMPTY(&srv->inflight) && !srv->icreates_pending)
    server_release(srv);
}

KUBE_EXPORT void kube_apiserver_free(kube_apiserver_t *srv) {
  if (!srv)
    return;
  srv->shutting_down = true;
  srv->done_cb = NULL;
  as_scrape_free(srv);
  as_avail_free(srv);
  as_watch_stop_all(srv);
  /* Requests still waiting for a store write keep their memory until the
   * write's callback runs (the store finishes writes when it is closed);
   * their replies go nowhere: the http server detaches them below. */
  struct req *r;
  struct req *tmp;
  TAILQ_FOREACH_SAFE(r, &srv->inflight, link, tmp) {
    if (r->tp != &http_transport && r->tp_ctx) {
      ((struct kube_apiserver_call *)r->tp_ctx)->cancelled = true;
      /* Never started: nothing in the store refers to it. */
      if (!r->started)
        as_req_finish(r);
    }
  }
  close_listeners(srv);
  kube_http_server_free(srv->http);
  srv->http = NULL;
  as_exts_free(srv);
  as_nodes_free(srv);
  as_metrics_sources_free(srv);
  as_hubs_free(srv);
  as_recent_free(srv);
  as_watch_trees_free(srv);
  as_crds_free(srv);
  as_rbac_free(srv);
  as_node_graph_free(srv);
  as_ns_cleanups_free(srv);
  if (TAILQ_EMPTY(&srv->inflight) && !srv->icreates_pending)
    server_release(srv);
  else
    srv->zombie = true;
}
