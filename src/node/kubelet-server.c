/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's own HTTPS server with the kubelet's streaming paths, for API
 * servers in other processes (kube-apiserver's ExecLocation, LogLocation,
 * PortForwardLocation point there).  Clients authenticate with a
 * certificate signed by the configured CA, as the kubelet's x509
 * authentication with --client-ca-file.
 */
#include "node/internal.h"

#define KUBELET_MAX_SEGMENTS 6

/* Split the path after its first segment into at most max segments;
 * returns the count, or -1 when there are more or one is empty. */
static int split(char *p, char **seg, int max) {
  int n = 0;
  while (*p) {
    if (n == max)
      return -1;
    char *slash = strchr(p, '/');
    if (slash)
      *slash = '\0';
    if (!*p)
      return -1;
    seg[n++] = p;
    if (!slash)
      break;
    p = slash + 1;
    if (!*p)
      return -1; /* a trailing slash */
  }
  return n;
}

static bool method_is(kube_http_request_t *req, const char *a, const char *b) {
  const char *m = kube_http_request_method(req);
  return streq(m, a) || (b && streq(m, b));
}

static void not_found(kube_http_request_t *req) {
  const char *msg = "404 page not found";
  kube_http_reply(req, 404, "text/plain; charset=utf-8", msg, strlen(msg));
}

static void method_not_allowed(kube_http_request_t *req) {
  const char *msg = "405: Method Not Allowed";
  kube_http_reply(req, 405, "text/plain; charset=utf-8", msg, strlen(msg));
}

static bool authorized(kube_node_stream_t *s, kube_http_request_t *req) {
  if (!s->client_ca)
    return true;
  if (kube_http_request_listener_type(req) == KUBE_HTTP_UNIX)
    return true;
  return kube_http_request_peer_cert(req) != NULL;
}

void nd_kubelet_handle(kube_http_request_t *req, void *arg) {
  kube_node_stream_t *s = arg;
  const char *path = kube_http_request_path(req);
  if (streq(path, "/healthz")) {
    kube_http_reply(req, 200, "text/plain; charset=utf-8", "ok", 2);
    return;
  }
  if (!authorized(s, req)) {
    const char *msg = "Unauthorized";
    kube_http_reply(req, 401, "text/plain; charset=utf-8", msg, strlen(msg));
    return;
  }
  if (streq(path, "/stats/summary") && s->summary && !s->freeing) {
    if (!method_is(req, "GET", "HEAD")) {
      method_not_allowed(req);
      return;
    }
    char *doc = NULL;
    kube_error_t err = KUBE_ERROR_INIT;
    if (s->summary(s->summary_arg, &doc, &err) < 0 || !doc) {
      const char *msg = err.message ? err.message : "no stats";
      kube_http_reply(req, 503, "text/plain; charset=utf-8", msg, strlen(msg));
    } else {
      kube_http_reply(req, 200, "application/json", doc, strlen(doc));
    }
    free(doc);
    kube_error_clear(&err);
    return;
  }
  const char *rest = strchr(path + 1, '/');
  if (!rest || s->freeing) {
    not_found(req);
    return;
  }
  cleanup_free char *first = strndup(path + 1, (size_t)(rest - path - 1));
  cleanup_free char *copy = strdup(rest + 1);
  char *seg[KUBELET_MAX_SEGMENTS];
  int n = first && copy ? split(copy, seg, KUBELET_MAX_SEGMENTS) : -1;
  if (n < 0) {
    not_found(req);
    return;
  }
  if (streq(first, "containerLogs") && n == 3) {
    if (!method_is(req, "GET", "HEAD")) {
      method_not_allowed(req);
      return;
    }
    nd_serve_logs(s, req, seg[0], seg[1], NULL, seg[2]);
    return;
  }
  bool exec = streq(first, "exec"), attach = streq(first, "attach");
  if ((exec || attach) && (n == 3 || n == 4)) {
    if (!method_is(req, "GET", "POST")) {
      method_not_allowed(req);
      return;
    }
    nd_serve_exec(s, req, seg[0], seg[1], n == 4 ? seg[2] : NULL, seg[n - 1],
                  attach);
    return;
  }
  if (streq(first, "portForward") && (n == 2 || n == 3)) {
    if (!method_is(req, "GET", "POST")) {
      method_not_allowed(req);
      return;
    }
    nd_serve_portforward(s, req, seg[0], seg[1], n == 3 ? seg[2] : NULL);
    return;
  }
  not_found(req);
}

KUBE_EXPORT int
kube_node_stream_listen(kube_node_stream_t *s, const char *spec,
                        const kube_node_stream_listen_options_t *opts,
                        kube_error_t *err) {
  kube_node_stream_listen_options_t o = {0};
  if (opts)
    memcpy(&o, opts,
           opts->struct_size && opts->struct_size < sizeof o ? opts->struct_size
                                                             : sizeof o);
  if (!s || !spec)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "listen: no server or address");
  bool tcp = str_has_prefix(spec, "tcp:");
  if (tcp && (!o.tls_cert_file || !o.tls_key_file))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "the kubelet port needs a serving certificate and "
                          "key");
  if (!s->http) {
    kube_http_server_options_t ho = {.struct_size = sizeof ho};
    if (!(s->http = kube_http_server_new(s->loop, &ho, err)))
      return -1;
    if (kube_http_server_handle(s->http, "/", nd_kubelet_handle, s, err) < 0)
      return -1;
  }
  if (o.tls_client_ca_file && !s->client_ca &&
      !(s->client_ca = strdup(o.tls_client_ca_file)))
    return kube_make_oom(err);
  kube_http_listen_options_t lo = {
      .struct_size = sizeof lo,
      .tls_cert_file = tcp ? o.tls_cert_file : NULL,
      .tls_key_file = tcp ? o.tls_key_file : NULL,
      .tls_client_ca_file = tcp ? o.tls_client_ca_file : NULL,
  };
  kube_http_listener_t *l = kube_http_server_listen(s->http, spec, &lo, err);
  if (!l)
    return -1;
  if (s->port < 0 && kube_http_listener_port(l) > 0)
    s->port = kube_http_listener_port(l);
  return 0;
}

KUBE_EXPORT void kube_node_stream_set_summary(kube_node_stream_t *s,
                                              kube_node_summary_fn fn,
                                              void *arg) {
  if (!s)
    return;
  s->summary = fn;
  s->summary_arg = arg;
}

KUBE_EXPORT int kube_node_stream_port(const kube_node_stream_t *s) {
  return s ? s->port : -1;
}
