/* SPDX-License-Identifier: Apache-2.0 */
/* The server: options, listeners, accept with connection caps and a
 * reserved descriptor, the handler table and the default error body. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "http/internal.h"

static int pick(int v, int def) {
  return v == 0 ? def : v < 0 ? 0 : v;
}

static unsigned nofile_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
      rl.rlim_cur > 1u << 24)
    return 1u << 20;
  return (unsigned)rl.rlim_cur;
}

static void trim_cb(evutil_socket_t fd, short what, void *arg);

KUBE_EXPORT kube_http_server_t *
kube_http_server_new(kube_loop_t *loop, const kube_http_server_options_t *opts,
                     kube_error_t *err) {
  struct event_base *base = loop ? kube_loop_base(loop) : NULL;
  if (!base) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "http server needs a loop");
    return NULL;
  }
  kube_http_server_options_t o = {0};
  core_opts_copy(&o, opts);
  kube_http_server_t *srv = calloc(1, sizeof *srv);
  if (!srv) {
    kube_make_oom(err);
    return NULL;
  }
  srv->loop = loop;
  srv->base = base;
  srv->max_body = o.max_body_bytes ? o.max_body_bytes : HTTP_DEFAULT_MAX_BODY;
  srv->max_uri = o.max_uri_bytes ? o.max_uri_bytes : HTTP_DEFAULT_MAX_URI;
  srv->max_header_bytes =
      o.max_header_bytes ? o.max_header_bytes : HTTP_DEFAULT_MAX_HEADER_BYTES;
  srv->max_headers = o.max_headers ? o.max_headers : HTTP_DEFAULT_MAX_HEADERS;
  srv->header_ms = pick(o.header_timeout_ms, HTTP_DEFAULT_HEADER_TIMEOUT_MS);
  srv->body_ms = pick(o.body_timeout_ms, HTTP_DEFAULT_BODY_TIMEOUT_MS);
  srv->idle_ms = pick(o.idle_timeout_ms, HTTP_DEFAULT_IDLE_TIMEOUT_MS);
  srv->write_ms = pick(o.write_timeout_ms, HTTP_DEFAULT_WRITE_TIMEOUT_MS);
  srv->max_unix_conns =
      o.max_unix_conns ? o.max_unix_conns : HTTP_DEFAULT_UNIX_CONNS;
  if (o.max_conns) {
    srv->max_conns = o.max_conns;
  } else {
    /* Never let TCP take the descriptors the unix socket, the store and
     * the rest of the process need. */
    unsigned lim = nofile_limit();
    unsigned keep = srv->max_unix_conns + 128;
    srv->max_conns = lim > keep + 16 ? lim - keep : 16;
  }
  srv->max_conns_per_peer = o.max_conns_per_peer      ? o.max_conns_per_peer
                            : srv->max_conns / 2 > 16 ? srv->max_conns / 2
                                                      : 16;
  srv->error_body = o.error_body;
  srv->error_body_arg = o.error_body_arg;
  srv->accept_rl = (struct core_ratelimit)CORE_RATELIMIT_INIT(5000, 5);
  srv->refuse_rl = (struct core_ratelimit)CORE_RATELIMIT_INIT(5000, 5);
  srv->cap_rl = (struct core_ratelimit)CORE_RATELIMIT_INIT(5000, 5);
  TAILQ_INIT(&srv->listeners);
  TAILQ_INIT(&srv->conns);
  srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  srv->trim_ev = evtimer_new(srv->base, trim_cb, srv);
  srv->max_body_total = o.max_body_bytes_total ? o.max_body_bytes_total
                                               : (size_t)64 * 1024 * 1024;
  return srv;
}

KUBE_EXPORT void kube_http_server_free(kube_http_server_t *srv) {
  if (!srv)
    return;
  kube_http_listener_t *l;
  while ((l = TAILQ_FIRST(&srv->listeners)))
    kube_http_listener_close(l);
  struct kube_http_conn *c;
  /* Requests and upgraded connections held by handlers outlive the
   * server: detach them (their close callbacks run), close sockets. */
  while ((c = TAILQ_FIRST(&srv->conns)))
    http_conn_server_gone(c);
  for (size_t i = 0; i < HTTP_PEER_BUCKETS; i++)
    while (srv->peers[i]) {
      struct http_peer *p = srv->peers[i];
      srv->peers[i] = p->next;
      free(p);
    }
  while (srv->handlers) {
    struct http_handler *h = srv->handlers;
    srv->handlers = h->next;
    free(h->prefix);
    free(h);
  }
  if (srv->reserve_fd >= 0)
    close(srv->reserve_fd);
  if (srv->trim_ev)
    event_free(srv->trim_ev);
  free(srv);
}

/* glibc keeps freed memory in its arenas; after a slow client's backlog
 * (up to the watch budget) is freed, give the pages back so RSS returns
 * near idle.  In a process whose malloc is another allocator (kubed with
 * jemalloc) this trims glibc's unused arena, a no-op; kubed's own timer
 * (frontends/daemon/memory.c) purges that allocator once a second. */
static void trim_cb(evutil_socket_t fd, short what, void *arg) {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

void http_server_trim_soon(kube_http_server_t *srv) {
  /* At most one trim per 200 ms, however many connections close. */
  static const struct timeval soon = {0, 200 * 1000};
  if (srv && srv->trim_ev && !evtimer_pending(srv->trim_ev, NULL))
    evtimer_add(srv->trim_ev, &soon);
}

/* ---- per-peer accounting ---- */

static unsigned peer_hash(const unsigned char *a, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++)
    h = (h ^ a[i]) * 16777619u;
  return h % HTTP_PEER_BUCKETS;
}

static struct http_peer **peer_slot(kube_http_server_t *srv,
                                    const unsigned char *a, size_t n) {
  struct http_peer **pp = &srv->peers[peer_hash(a, n)];
  while (*pp && !((*pp)->len == n && memcmp((*pp)->addr, a, n) == 0))
    pp = &(*pp)->next;
  return pp;
}

static unsigned peer_count(kube_http_server_t *srv, const unsigned char *a,
                           size_t n) {
  struct http_peer *p = *peer_slot(srv, a, n);
  return p ? p->n : 0;
}

static bool peer_add(kube_http_server_t *srv, const unsigned char *a,
                     size_t n) {
  struct http_peer **pp = peer_slot(srv, a, n);
  if (!*pp) {
    struct http_peer *p = calloc(1, sizeof *p);
    if (!p)
      return false;
    memcpy(p->addr, a, n);
    p->len = (uint8_t)n;
    *pp = p;
  }
  (*pp)->n++;
  return true;
}

static void peer_del(kube_http_server_t *srv, const unsigned char *a,
                     size_t n) {
  struct http_peer **pp = peer_slot(srv, a, n);
  struct http_peer *p = *pp;
  if (p && --p->n == 0) {
    *pp = p->next;
    free(p);
  }
}

void http_server_conn_added(kube_http_server_t *srv, struct kube_http_conn *c) {
  c->counted = true;
  TAILQ_INSERT_TAIL(&srv->conns, c, link);
  if (c->listener)
    c->listener->conns++;
  if (c->transport == KUBE_HTTP_UNIX) {
    srv->unix_conns++;
  } else {
    srv->tcp_conns++;
    if (!peer_add(srv, c->peer_addr, c->peer_len))
      c->peer_len = 0; /* out of memory: keyed as "no address" */
  }
}

void http_server_conn_gone(kube_http_server_t *srv, struct kube_http_conn *c) {
  if (!c->counted)
    return;
  c->counted = false;
  TAILQ_REMOVE(&srv->conns, c, link);
  if (c->listener)
    c->listener->conns--;
  if (c->transport == KUBE_HTTP_UNIX) {
    srv->unix_conns--;
  } else {
    srv->tcp_conns--;
    peer_del(srv, c->peer_addr, c->peer_len);
  }
}

/* ---- accept ---- */

static void peer_key(const struct sockaddr *sa, unsigned char *out,
                     uint8_t *len) {
  if (sa->sa_family == AF_INET) {
    memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    *len = 4;
  } else if (sa->sa_family == AF_INET6) {
    memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    *len = 16;
  } else {
    *len = 0;
  }
}

/* Whether one more connection from sa may be taken on l. */
static const char *over_cap(kube_http_listener_t *l,
                            const struct sockaddr *sa) {
  kube_http_server_t *srv = l->srv;
  if (l->max_conns && l->conns >= l->max_conns)
    return "listener";
  if (l->transport == KUBE_HTTP_UNIX)
    return srv->unix_conns >= srv->max_unix_conns ? "unix socket" : NULL;
  if (srv->tcp_conns >= srv->max_conns)
    return "server";
  unsigned char key[16];
  uint8_t kl;
  peer_key(sa, key, &kl);
  if (peer_count(srv, key, kl) >= srv->max_conns_per_peer)
    return "per-peer";
  return NULL;
}

static void resume_cb(evutil_socket_t fd, short what, void *arg) {
  kube_http_listener_t *l = arg;
  event_add(l->ev, NULL);
}

/* Stop accepting for a moment: the condition will not clear by itself
 * within this loop iteration and retrying at once would spin. */
static void back_off(kube_http_listener_t *l, int ms) {
  event_del(l->ev);
  struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
  evtimer_add(l->resume_ev, &tv);
}

/* Out of descriptors: free the reserved one, take the pending connection
 * and close it at once, take the reserve back.  The peer sees a close
 * instead of waiting in the backlog, and the loop does not spin on a
 * listener that stays readable. */
static void shed_one(kube_http_listener_t *l) {
  kube_http_server_t *srv = l->srv;
  if (srv->reserve_fd >= 0) {
    close(srv->reserve_fd);
    srv->reserve_fd = -1;
  }
  int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
  if (fd >= 0)
    close(fd);
  srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || srv->reserve_fd < 0)
    back_off(l, 100);
}

static void accept_cb(evutil_socket_t lfd, short what, void *arg) {
  kube_http_listener_t *l = arg;
  kube_http_server_t *srv = l->srv;
  /* A bounded batch per wake-up keeps one busy listener from starving the
   * others (the unix socket among them). */
  for (int i = 0; i < 32; i++) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd =
        accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      if (e == EAGAIN || e == EWOULDBLOCK)
        return;
      if (e == EINTR || e == ECONNABORTED || e == EPROTO)
        continue;
      core_log_ratelimited(&srv->accept_rl, KUBE_LOG_WARNING,
                           "http: accept on %s: %s (closing new connections)",
                           l->unix_path ? l->unix_path : "tcp", strerror(e));
      if (e == EMFILE || e == ENFILE)
        shed_one(l);
      else
        back_off(l, 100);
      return;
    }
    const char *cap = over_cap(l, (struct sockaddr *)&ss);
    if (cap) {
      core_log_ratelimited(&srv->cap_rl, KUBE_LOG_WARNING,
                           "http: %s connection limit reached, closing a new "
                           "connection",
                           cap);
      close(fd);
      continue;
    }
    if (l->transport != KUBE_HTTP_UNIX) {
      int one = 1;
      /* Nagle plus the peer's delayed ACK costs ~40 ms per keep-alive
       * request whose reply spans two segments (TLS record + body). */
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    http_conn_accepted(l, fd, (struct sockaddr *)&ss, sl);
  }
}

/* ---- listeners ---- */

static kube_http_listener_t *listener_new(kube_http_server_t *srv, int fd,
                                          kube_http_listener_type_t t,
                                          kube_error_t *err) {
  kube_http_listener_t *l = calloc(1, sizeof *l);
  if (!l) {
    close(fd);
    kube_make_oom(err);
    return NULL;
  }
  l->srv = srv;
  l->fd = fd;
  l->transport = t;
  l->port = -1;
  l->ev = event_new(srv->base, fd, EV_READ | EV_PERSIST, accept_cb, l);
  l->resume_ev = evtimer_new(srv->base, resume_cb, l);
  if (!l->ev || !l->resume_ev) {
    kube_make_oom(err);
    kube_http_listener_close(l);
    return NULL;
  }
  TAILQ_INSERT_TAIL(&srv->listeners, l, link);
  return l;
}

static int bind_unix(const char *path, kube_error_t *err) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, ENAMETOOLONG,
                          "unix socket path too long: %s", path);
  strcpy(sa.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return kube_make_error(err, errno, "socket: %s", strerror(errno));
  /* Replace a stale socket, never a regular file. */
  struct stat st;
  if (lstat(path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      close(fd);
      return kube_error_set(err, KUBE_REASON_INTERNAL, EEXIST,
                            "%s exists and is not a socket", path);
    }
    unlink(path);
  }
  mode_t old = umask(0177);
  int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
  umask(old);
  if (rc < 0 || chmod(path, 0600) < 0 || listen(fd, 1024) < 0) {
    int e = errno;
    close(fd);
    return kube_make_error(err, e, "listen on %s: %s", path, strerror(e));
  }
  return fd;
}

static int bind_tcp(const char *hostport, int *port_out, kube_error_t *err) {
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
  struct sockaddr_storage ss = {0};
  socklen_t sl;
  struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
  const char *h = host[0] ? host : "0.0.0.0";
  if (streq(h, "localhost"))
    h = "127.0.0.1";
  if (inet_pton(AF_INET, h, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    sl = sizeof *s4;
  } else if (inet_pton(AF_INET6, h, &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    sl = sizeof *s6;
  } else {
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "bad listen address %s (want an IP address)",
                          hostport);
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return kube_make_error(err, errno, "socket: %s", strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (ss.ss_family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 1024) < 0) {
    int e = errno;
    close(fd);
    return kube_make_error(err, e, "cannot listen on %s: %s", hostport,
                           strerror(e));
  }
  sl = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
    *port_out = ntohs(ss.ss_family == AF_INET ? s4->sin_port : s6->sin6_port);
  return fd;
}

KUBE_EXPORT kube_http_listener_t *
kube_http_server_listen(kube_http_server_t *srv, const char *spec,
                        const kube_http_listen_options_t *opts,
                        kube_error_t *err) {
  if (!srv || !spec) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL, "no listen address");
    return NULL;
  }
  kube_http_listen_options_t o = {0};
  core_opts_copy(&o, opts);
  bool tls = o.tls_cert_file || o.tls_key_file;
  if (tls && (!o.tls_cert_file || !o.tls_key_file)) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "TLS needs both a certificate and a key");
    return NULL;
  }
  kube_http_listener_t *l = NULL;
  if (str_has_prefix(spec, "unix:")) {
    if (tls) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                     "TLS is for TCP listeners");
      return NULL;
    }
    int fd = bind_unix(spec + 5, err);
    if (fd < 0)
      return NULL;
    l = listener_new(srv, fd, KUBE_HTTP_UNIX, err);
    if (l && !(l->unix_path = strdup(spec + 5))) {
      kube_http_listener_close(l);
      kube_make_oom(err);
      return NULL;
    }
  } else if (str_has_prefix(spec, "tcp:")) {
    SSL_CTX *ctx = tls ? http_tls_server_ctx(&o, err) : NULL;
    if (tls && !ctx)
      return NULL;
    int port = -1;
    int fd = bind_tcp(spec + 4, &port, err);
    if (fd < 0) {
      SSL_CTX_free(ctx);
      return NULL;
    }
    l = listener_new(srv, fd, tls ? KUBE_HTTP_TLS : KUBE_HTTP_TCP, err);
    if (!l) {
      SSL_CTX_free(ctx);
      return NULL;
    }
    l->ssl = ctx;
    l->port = port;
  } else {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "bad listen address %s (want unix:PATH or tcp:ADDR:PORT)",
                   spec);
    return NULL;
  }
  if (!l)
    return NULL;
  l->max_conns = o.max_conns;
  event_add(l->ev, NULL);
  return l;
}

KUBE_EXPORT void kube_http_listener_close(kube_http_listener_t *l) {
  if (!l)
    return;
  kube_http_server_t *srv = l->srv;
  TAILQ_REMOVE(&srv->listeners, l, link);
  struct kube_http_conn *c;
  TAILQ_FOREACH(c, &srv->conns, link)
  if (c->listener == l)
    c->listener = NULL;
  if (l->ev)
    event_free(l->ev);
  if (l->resume_ev)
    event_free(l->resume_ev);
  if (l->fd >= 0)
    close(l->fd);
  if (l->unix_path) {
    unlink(l->unix_path);
    free(l->unix_path);
  }
  SSL_CTX_free(l->ssl);
  free(l);
}

KUBE_EXPORT int kube_http_listener_port(const kube_http_listener_t *l) {
  return l ? l->port : -1;
}

KUBE_EXPORT kube_http_listener_type_t
kube_http_listener_type(const kube_http_listener_t *l) {
  return l ? l->transport : KUBE_HTTP_UNIX;
}

KUBE_EXPORT unsigned
kube_http_listener_connections(const kube_http_listener_t *l) {
  return l ? l->conns : 0;
}

/* ---- handlers ---- */

static int add_handler(kube_http_server_t *srv, const char *prefix,
                       kube_http_handler_fn fn, void *arg, bool streaming,
                       kube_error_t *err) {
  if (!srv || !prefix || prefix[0] != '/' || !fn)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "a handler needs a prefix starting with / and a "
                          "function");
  for (struct http_handler *h = srv->handlers; h; h = h->next)
    if (streq(h->prefix, prefix)) {
      h->fn = fn;
      h->arg = arg;
      h->streaming = streaming;
      return 0;
    }
  struct http_handler *h = calloc(1, sizeof *h);
  if (!h || !(h->prefix = strdup(prefix))) {
    free(h);
    return kube_make_oom(err);
  }
  h->len = strlen(prefix);
  h->fn = fn;
  h->arg = arg;
  h->streaming = streaming;
  h->next = srv->handlers;
  srv->handlers = h;
  return 0;
}

KUBE_EXPORT int kube_http_server_handle(kube_http_server_t *srv,
                                        const char *prefix,
                                        kube_http_handler_fn fn, void *arg,
                                        kube_error_t *err) {
  return add_handler(srv, prefix, fn, arg, false, err);
}

KUBE_EXPORT int kube_http_server_handle_streaming(kube_http_server_t *srv,
                                                  const char *prefix,
                                                  kube_http_handler_fn fn,
                                                  void *arg,
                                                  kube_error_t *err) {
  return add_handler(srv, prefix, fn, arg, true, err);
}

const struct http_handler *http_server_route(kube_http_server_t *srv,
                                             const char *path) {
  const struct http_handler *best = NULL;
  for (const struct http_handler *h = srv->handlers; h; h = h->next)
    if ((!best || h->len > best->len) && strncmp(path, h->prefix, h->len) == 0)
      best = h;
  return best;
}

/* ---- shared bits ---- */

const char *http_date(kube_http_server_t *srv) {
  time_t now = time(NULL);
  if (now != srv->date_at) {
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(srv->date, sizeof srv->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    srv->date_at = now;
  }
  return srv->date;
}

char *http_error_body(kube_http_server_t *srv, int code, const char *message,
                      size_t *len) {
  char *s = srv && srv->error_body
                ? srv->error_body(code, message, srv->error_body_arg)
                : NULL;
  if (!s) {
    kube_reason_t reason = kube_reason_from_http_code(code);
    const char *rs = kube_reason_string(reason);
    if (code == 414 || code == 431 || code == 408 || code == 502)
      rs = code == 502 ? "BadGateway" : code == 408 ? "Timeout" : "BadRequest";
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    kube_strbuf_append(&sb, "{\"kind\":\"Status\",\"apiVersion\":\"v1\","
                            "\"metadata\":{},\"status\":\"Failure\","
                            "\"message\":");
    kube_strbuf_append_json_string(&sb, message ? message : "");
    kube_strbuf_append(&sb, ",\"reason\":");
    kube_strbuf_append_json_string(&sb, rs && *rs ? rs : "InternalError");
    kube_strbuf_printf(&sb, ",\"code\":%d}\n", code);
    s = kube_strbuf_steal(&sb);
  }
  *len = s ? strlen(s) : 0;
  return s;
}
