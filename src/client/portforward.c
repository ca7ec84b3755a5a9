/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube_client_portforward: local listeners whose connections become
 * streams of a port-forward session (pods/portforward), as kubectl's
 * port-forward: SPDY tunnelled in WebSocket first (kubectl 1.30+), plain
 * SPDY/3.1 when that upgrade is refused; one connection to the server for
 * every port and every local connection.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "client/internal.h"
#include "core/util.h"

#define PF_MAX_FORWARDS 64
#define PF_MAX_LOCALS 1024
/* Stop reading the server while a local socket has this much waiting. */
#define PF_OUT_HIGH (1024 * 1024)

struct pf_listener {
  int fd;
  kube_client_forward_t fw;
};

struct pf_local {
  int fd;
  const kube_client_forward_t *fw;
  kube_portforward_stream_t *st;
  kube_strbuf_t out; /* from the pod, for the local peer */
  size_t out_off;
  bool local_eof;  /* the local peer finished sending */
  bool remote_eof; /* the pod finished sending: shut down once flushed */
  bool shut;
  struct pf_local *next;
};

struct pf_run {
  const kube_client_portforward_options_t *o;
  struct client_up u;
  kube_portforward_client_t *sess;
  struct pf_listener ls[PF_MAX_FORWARDS];
  size_t n_ls;
  struct pf_local *locals;
  size_t n_locals;
  bool done;
  kube_error_t done_err;
};

KUBE_EXPORT int kube_client_forward_parse(const char *spec, uint16_t *local,
                                          uint16_t *remote, kube_error_t *err) {
  const char *colon = spec ? strchr(spec, ':') : NULL;
  char lbuf[16] = "", rbuf[16] = "";
  if (!spec || !*spec)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid port format ''");
  if (colon) {
    snprintf(lbuf, sizeof lbuf, "%.*s", (int)(colon - spec), spec);
    snprintf(rbuf, sizeof rbuf, "%s", colon + 1);
  } else {
    snprintf(lbuf, sizeof lbuf, "%s", spec);
    snprintf(rbuf, sizeof rbuf, "%s", spec);
  }
  char *end;
  unsigned long l = 0, r;
  if (*lbuf) {
    l = strtoul(lbuf, &end, 10);
    if (*end || l > 65535)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "Error parsing local port '%s': strconv.ParseUint: "
                            "parsing \"%s\": invalid syntax",
                            lbuf, lbuf);
  }
  r = strtoul(rbuf, &end, 10);
  if (!*rbuf || *end || r > 65535)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "Error parsing remote port '%s': strconv.ParseUint: "
                          "parsing \"%s\": invalid syntax",
                          rbuf, rbuf);
  if (r == 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "remote port must be > 0");
  *local = (uint16_t)l;
  *remote = (uint16_t)r;
  return 0;
}

/* ---- local listeners ---- */

static int listen_on(const char *addr, uint16_t port, uint16_t *bound,
                     kube_strbuf_t *why) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t sl;
  bool v6 = strchr(addr, ':') != NULL;
  if (v6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    if (inet_pton(AF_INET6, addr, &a->sin6_addr) != 1)
      goto bad;
    sl = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    if (inet_pton(AF_INET, addr, &a->sin_addr) != 1)
      goto bad;
    sl = sizeof *a;
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    goto fail;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (v6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 128) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    goto fail;
  }
  struct sockaddr_storage got;
  socklen_t gl = sizeof got;
  getsockname(fd, (struct sockaddr *)&got, &gl);
  *bound = ntohs(v6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                    : ((struct sockaddr_in *)&got)->sin_port);
  return fd;
fail:;
  char e[96];
  snprintf(e, sizeof e, "%s", strerror(errno));
  e[0] = (char)tolower((unsigned char)e[0]);
  kube_strbuf_printf(
      why,
      "%sunable to create listener: Error listen tcp%d %s%s%s:%u: bind: %s",
      why->len ? " " : "", v6 ? 6 : 4, v6 ? "[" : "", addr, v6 ? "]" : "", port,
      e);
  return -1;
bad:
  kube_strbuf_printf(why, "%sunable to create listener: bad address %s",
                     why->len ? " " : "", addr);
  return -1;
}

static int open_listeners(struct pf_run *r, kube_error_t *err) {
  const kube_client_portforward_options_t *o = r->o;
  static const char *const localhost[] = {"localhost", NULL};
  const char *const *addrs = o->addresses ? o->addresses : localhost;
  kube_strbuf_t failed = KUBE_STRBUF_INIT;
  for (size_t i = 0; o->ports[i]; i++) {
    uint16_t lport, rport;
    if (kube_client_forward_parse(o->ports[i], &lport, &rport, err) < 0) {
      kube_strbuf_clear(&failed);
      return -1;
    }
    size_t before = r->n_ls;
    kube_strbuf_t why = KUBE_STRBUF_INIT;
    for (size_t a = 0; addrs[a]; a++) {
      const char *list[3] = {addrs[a], NULL, NULL};
      if (streq(addrs[a], "localhost")) {
        list[0] = "127.0.0.1";
        list[1] = "::1";
      }
      for (size_t k = 0; list[k] && r->n_ls < PF_MAX_FORWARDS; k++) {
        uint16_t bound = 0;
        int fd = listen_on(list[k], lport, &bound, &why);
        if (fd < 0)
          continue;
        /* A random local port is the same on every address, as kubectl. */
        if (lport == 0)
          lport = bound;
        struct pf_listener *l = &r->ls[r->n_ls++];
        l->fd = fd;
        snprintf(l->fw.address, sizeof l->fw.address, "%s", list[k]);
        l->fw.local_port = bound;
        l->fw.remote_port = rport;
      }
    }
    if (r->n_ls == before)
      kube_strbuf_printf(&failed, "%s{%s %u}", failed.len ? " " : "",
                         o->ports[i], rport);
    kube_strbuf_clear(&why);
  }
  if (failed.len) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EADDRINUSE,
                   "unable to listen on any of the requested ports: [%s]",
                   failed.data);
    kube_strbuf_clear(&failed);
    return -1;
  }
  kube_strbuf_clear(&failed);
  return 0;
}

/* ---- local connections ---- */

static void local_free(struct pf_run *r, struct pf_local *l) {
  for (struct pf_local **pp = &r->locals; *pp; pp = &(*pp)->next)
    if (*pp == l) {
      *pp = l->next;
      break;
    }
  r->n_locals--;
  if (l->fd >= 0)
    close(l->fd);
  kube_strbuf_clear(&l->out);
  free(l);
}

static void local_accept(struct pf_run *r, struct pf_listener *ls) {
  int fd = accept4(ls->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0)
    return;
  struct pf_local *l =
      r->n_locals < PF_MAX_LOCALS ? calloc(1, sizeof *l) : NULL;
  if (!l) {
    close(fd);
    return;
  }
  l->fd = fd;
  l->fw = &ls->fw;
  l->next = r->locals;
  r->locals = l;
  r->n_locals++;
  if (r->o->connection)
    r->o->connection(r->o->arg, &ls->fw);
  kube_error_t e = KUBE_ERROR_INIT;
  l->st = kube_portforward_client_open(r->sess, ls->fw.remote_port, l, &e);
  if (!l->st) {
    if (r->o->error)
      r->o->error(r->o->arg, &ls->fw, e.message);
    kube_error_clear(&e);
    local_free(r, l);
  }
}

/* Send what the pod sent to the local peer.  False when the local peer
 * is gone and the stream was reset (its close callback freed l). */
static bool local_flush(struct pf_local *l) {
  while (l->out_off < l->out.len) {
    ssize_t w = send(l->fd, l->out.data + l->out_off, l->out.len - l->out_off,
                     MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && errno == EAGAIN)
      return true;
    if (w < 0) {
      /* The local peer is gone: drop what the pod still sends. */
      l->out_off = l->out.len;
      if (l->st) {
        kube_portforward_stream_reset(l->st);
        return false;
      }
      break;
    }
    l->out_off += (size_t)w;
  }
  kube_strbuf_reset(&l->out);
  l->out_off = 0;
  if (l->remote_eof && !l->shut) {
    l->shut = true;
    shutdown(l->fd, SHUT_WR);
  }
  return true;
}

static void local_read(struct pf_local *l) {
  char buf[32768];
  ssize_t n = recv(l->fd, buf, sizeof buf, 0);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0) {
    l->local_eof = true;
    if (l->st)
      kube_portforward_stream_close_write(l->st, NULL);
    return;
  }
  if (l->st)
    kube_portforward_stream_write(l->st, buf, (size_t)n, NULL);
}

/* ---- session callbacks ---- */

static void s_write(void *data, const void *buf, size_t len) {
  struct pf_run *r = data;
  client_up_queue(&r->u, buf, len);
}

static void s_data(void *data, kube_portforward_stream_t *st, void *user,
                   const void *buf, size_t len) {
  struct pf_local *l = user;
  kube_strbuf_append_len(&l->out, buf, len);
  local_flush(l);
}

static void s_eof(void *data, kube_portforward_stream_t *st, void *user) {
  struct pf_local *l = user;
  l->remote_eof = true;
  local_flush(l);
}

static void s_error(void *data, kube_portforward_stream_t *st, void *user,
                    const char *message) {
  struct pf_run *r = data;
  struct pf_local *l = user;
  if (r->o->error)
    r->o->error(r->o->arg, l->fw, message);
}

static void s_close(void *data, kube_portforward_stream_t *st, void *user) {
  struct pf_run *r = data;
  struct pf_local *l = user;
  l->st = NULL;
  local_flush(l);
  local_free(r, l);
}

static void s_done(void *data, const kube_error_t *err) {
  struct pf_run *r = data;
  r->done = true;
  if (err && err->message)
    kube_error_set(&r->done_err, err->reason, err->errnum, "%s", err->message);
}

static const kube_portforward_client_callbacks_t pf_cbs = {
    .version = KUBE_PORTFORWARD_CLIENT_CALLBACKS_VERSION,
    .write = s_write,
    .stream_data = s_data,
    .stream_eof = s_eof,
    .stream_error = s_error,
    .stream_close = s_close,
    .done = s_done,
};

/* ---- the loop ---- */

static int connect_session(kube_client_t *c, struct pf_run *r, const char *path,
                           const char *query, kube_error_t *err) {
  kube_stream_transport_t order[2];
  size_t n = 0;
  if (r->o->transport != KUBE_CLIENT_STREAM_SPDY)
    order[n++] = KUBE_STREAM_SPDY_OVER_WEBSOCKET;
  if (r->o->transport != KUBE_CLIENT_STREAM_WEBSOCKET)
    order[n++] = KUBE_STREAM_SPDY;
  kube_stream_upgrade_t up;
  if (client_up_connect(c, path, query, KUBE_STREAM_PORTFORWARD, order, n,
                        &r->u, &up, err) < 0)
    return -1;
  uint16_t ports[PF_MAX_FORWARDS];
  size_t np = 0;
  for (size_t i = 0; i < r->n_ls; i++)
    ports[np++] = r->ls[i].fw.remote_port;
  r->sess = kube_portforward_client_new(&up, ports, np, &pf_cbs, r, err);
  return r->sess ? 0 : -1;
}

static void feed(void *arg, const void *buf, size_t len) {
  struct pf_run *r = arg;
  kube_portforward_client_feed(r->sess, buf, len, NULL);
}

static void eof(void *arg) {
  struct pf_run *r = arg;
  kube_portforward_client_eof(r->sess);
}

static int pump_conn(struct pf_run *r, kube_error_t *err) {
  return client_up_pump(&r->u, feed, eof, r, &r->done, err);
}

static int run_loop(struct pf_run *r, kube_error_t *err) {
  const kube_client_portforward_options_t *o = r->o;
  struct pollfd *p = NULL;
  struct pf_local **lp = NULL;
  int rc = 0;
  while (!r->done) {
    if (client_up_flush(&r->u, err) < 0) {
      rc = -1;
      break;
    }
    bool backed_up = false;
    for (struct pf_local *l = r->locals; l; l = l->next)
      backed_up |= l->out.len - l->out_off > PF_OUT_HIGH;
    if (!backed_up && client_up_buffered(&r->u)) {
      if ((rc = pump_conn(r, err)) < 0)
        break;
      continue;
    }
    size_t cap = 2 + r->n_ls + r->n_locals;
    free(p);
    free(lp);
    p = calloc(cap, sizeof *p);
    lp = calloc(cap, sizeof *lp);
    if (!p || !lp) {
      rc = kube_make_oom(err);
      break;
    }
    nfds_t np = 0;
    short cev = client_up_events(&r->u);
    if (backed_up)
      cev &= (short)~POLLIN;
    p[np++] = (struct pollfd){r->u.cn.fd, cev, 0};
    int stop_idx = -1;
    if (o->stop_fd >= 0) {
      stop_idx = (int)np;
      p[np++] = (struct pollfd){o->stop_fd, POLLIN, 0};
    }
    size_t ls0 = np;
    for (size_t i = 0; i < r->n_ls; i++)
      p[np++] = (struct pollfd){r->ls[i].fd, POLLIN, 0};
    size_t l0 = np;
    bool server_full = client_up_pending(&r->u) > PF_OUT_HIGH;
    for (struct pf_local *l = r->locals; l; l = l->next) {
      short ev = 0;
      if (!l->local_eof && !server_full)
        ev |= POLLIN;
      if (l->out.len > l->out_off)
        ev |= POLLOUT;
      lp[np] = l;
      p[np++] = (struct pollfd){l->fd, ev, 0};
    }
    if (poll(p, np, -1) < 0) {
      if (errno == EINTR)
        continue;
      rc = kube_make_error(err, errno, "poll: %s", strerror(errno));
      break;
    }
    if (stop_idx >= 0 && p[stop_idx].revents)
      break;
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR) &&
        (rc = pump_conn(r, err)) < 0)
      break;
    /* Locals first (callbacks above may have freed some: check they are
     * still listed). */
    for (size_t i = l0; i < np; i++) {
      struct pf_local *l = lp[i], *x;
      for (x = r->locals; x && x != l; x = x->next) {
      }
      if (!x || !p[i].revents)
        continue;
      if (p[i].revents & POLLOUT && !local_flush(l))
        continue;
      if (p[i].revents & (POLLIN | POLLHUP | POLLERR) && !l->local_eof)
        local_read(l);
    }
    for (size_t i = ls0; i < l0; i++)
      if (p[i].revents & POLLIN)
        local_accept(r, &r->ls[i - ls0]);
  }
  free(p);
  free(lp);
  if (rc == 0 && r->done)
    rc = kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, ECONNRESET,
                        "lost connection to pod%s%s",
                        r->done_err.message ? ": " : "",
                        r->done_err.message ? r->done_err.message : "");
  return rc;
}

KUBE_EXPORT int
kube_client_portforward(kube_client_t *c,
                        const kube_client_portforward_options_t *opts,
                        kube_error_t *err) {
  kube_client_portforward_options_t o = {0};
  core_opts_copy(&o, opts);
  if (!o.pod || !*o.pod || !o.ports || !o.ports[0])
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "port-forward: a pod and at least one port are "
                          "required");
  struct pf_run r = {.o = &o};
  client_up_init(&r.u);
  cleanup_free char *path =
      kube_client_path(kube_kind_by_kind("v1", "Pod"),
                       o.namespace_ ? o.namespace_ : kube_client_namespace(c),
                       o.pod, "portforward");
  if (!path)
    return kube_make_oom(err);
  int rc = open_listeners(&r, err);
  kube_strbuf_t q = KUBE_STRBUF_INIT;
  for (size_t i = 0; rc == 0 && i < r.n_ls; i++) {
    bool seen = false;
    for (size_t k = 0; k < i; k++)
      seen |= r.ls[k].fw.remote_port == r.ls[i].fw.remote_port;
    if (!seen)
      kube_strbuf_printf(&q, "%s%u",
                         q.len ? "%2C" : "ports=", r.ls[i].fw.remote_port);
  }
  if (rc == 0)
    rc = connect_session(c, &r, path, q.data, err);
  kube_strbuf_clear(&q);
  if (rc == 0 && o.ready) {
    kube_client_forward_t fw[PF_MAX_FORWARDS];
    for (size_t i = 0; i < r.n_ls; i++)
      fw[i] = r.ls[i].fw;
    o.ready(o.arg, fw, r.n_ls);
  }
  if (rc == 0)
    rc = run_loop(&r, err);
  kube_portforward_client_free(r.sess);
  while (r.locals)
    local_free(&r, r.locals);
  client_up_close(&r.u);
  for (size_t i = 0; i < r.n_ls; i++)
    close(r.ls[i].fd);
  kube_error_clear(&r.done_err);
  return rc;
}
