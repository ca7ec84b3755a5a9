/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The DNS server's sockets on the loop: UDP and TCP (RFC 7766 framing)
 * listeners, and the forwarder that sends other names to the upstream
 * servers (unchanged but for the ID) and relays their answers, trying
 * the next server after 2 s and answering SERVFAIL when all stayed
 * silent.
 */
#include <arpa/inet.h>
#include <fcntl.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "dns/internal.h"

#define UDP_BATCH 64
#define UDP_MAX_QUERY 4096
#define MAX_PENDING 4096
#define MAX_CONNS 1024
#define FORWARD_TIMEOUT_NS (2 * 1000000000LL)
#define TCP_IDLE_S 10

struct dns_net;
struct udp_batch;

struct udp_listener {
  int fd;
  struct event *ev;
  struct dns_net *n;
};

struct tcp_conn {
  struct bufferevent *bev; /* NULL once closed */
  struct dns_net *n;
  size_t refs; /* forwards waiting to answer on it */
  struct tcp_conn *prev, *next;
};

struct pending {
  uint16_t id, client_id;
  uint8_t *query;
  size_t len;
  struct sockaddr_storage client;
  socklen_t client_len;
  int ufd;               /* the UDP listener it came from, or -1 */
  struct tcp_conn *conn; /* or the TCP connection (a reference) */
  size_t upstream, attempts;
  int64_t deadline;
  struct bufferevent *up_bev; /* TCP clients: the connection upstream */
  struct dns_net *n;
  struct pending *prev, *next;
};

struct dns_net {
  struct event_base *base;
  struct dns_answerer *a;
  struct udp_listener *udp;
  size_t nudp;
  struct evconnlistener **tcp;
  size_t ntcp;
  struct tcp_conn *conns;
  size_t nconns;
  struct sockaddr_storage *up;
  size_t nup;
  int fwd[2]; /* IPv4, IPv6 sockets to the upstreams (-1: none) */
  struct event *fwd_ev[2];
  struct pending **by_id; /* 65536 slots */
  struct pending *head, *tail;
  size_t npending;
  struct event *timer;
  uint32_t rnd;
  struct udp_batch *batch;
};

static socklen_t sa_len(const struct sockaddr_storage *s) {
  return s->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                  : sizeof(struct sockaddr_in);
}

int dns_parse_addr(const char *s, int default_port,
                   struct sockaddr_storage *out) {
  char host[128];
  const char *port = NULL;
  memset(out, 0, sizeof *out);
  if (s[0] == '[') {
    const char *end = strchr(s, ']');
    if (!end || (size_t)(end - s - 1) >= sizeof host)
      return -1;
    snprintf(host, sizeof host, "%.*s", (int)(end - s - 1), s + 1);
    if (end[1] == ':')
      port = end + 2;
    else if (end[1])
      return -1;
  } else {
    const char *colon = strchr(s, ':');
    bool v6 = colon && strchr(colon + 1, ':');
    size_t hl = colon && !v6 ? (size_t)(colon - s) : strlen(s);
    if (hl >= sizeof host)
      return -1;
    snprintf(host, sizeof host, "%.*s", (int)hl, s);
    if (colon && !v6)
      port = colon + 1;
  }
  long p = default_port;
  if (port) {
    char *end;
    p = strtol(port, &end, 10);
    if (!*port || *end || p < 0 || p > 65535)
      return -1;
  }
  struct sockaddr_in *s4 = (struct sockaddr_in *)out;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
  if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)p);
  } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)p);
  } else {
    return -1;
  }
  return 0;
}

static bool same_addr(const struct sockaddr_storage *a,
                      const struct sockaddr_storage *b) {
  if (a->ss_family != b->ss_family)
    return false;
  if (a->ss_family == AF_INET) {
    const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
    return x->sin_port == y->sin_port &&
           x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
  return x->sin6_port == y->sin6_port &&
         !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr);
}

/* ---- TCP connections ---- */

static void conn_unref(struct tcp_conn *c) {
  if (--c->refs == 0 && !c->bev)
    free(c);
}

static void conn_close(struct tcp_conn *c) {
  struct dns_net *n = c->n;
  if (!c->bev)
    return;
  bufferevent_free(c->bev);
  c->bev = NULL;
  if (c->prev)
    c->prev->next = c->next;
  else
    n->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  n->nconns--;
  c->refs++;
  conn_unref(c);
}

static void conn_write(struct tcp_conn *c, const uint8_t *msg, size_t len) {
  if (!c->bev || len > 65535)
    return;
  uint8_t hdr[2] = {(uint8_t)(len >> 8), (uint8_t)len};
  bufferevent_write(c->bev, hdr, 2);
  bufferevent_write(c->bev, msg, len);
}

/* ---- forwarding ---- */

static void pending_unlink(struct dns_net *n, struct pending *p) {
  if (p->prev)
    p->prev->next = p->next;
  else
    n->head = p->next;
  if (p->next)
    p->next->prev = p->prev;
  else
    n->tail = p->prev;
  p->prev = p->next = NULL;
}

static void pending_append(struct dns_net *n, struct pending *p) {
  p->prev = n->tail;
  p->next = NULL;
  if (n->tail)
    n->tail->next = p;
  else
    n->head = p;
  n->tail = p;
}

static void pending_free(struct dns_net *n, struct pending *p) {
  pending_unlink(n, p);
  n->by_id[p->id] = NULL;
  n->npending--;
  if (p->up_bev)
    bufferevent_free(p->up_bev);
  if (p->conn)
    conn_unref(p->conn);
  free(p->query);
  free(p);
}

static void reply_to(struct dns_net *n, const struct pending *p,
                     const uint8_t *msg, size_t len) {
  if (p->conn)
    conn_write(p->conn, msg, len);
  else
    sendto(p->ufd, msg, len, MSG_DONTWAIT, (const struct sockaddr *)&p->client,
           p->client_len);
}

static void on_upstream_tcp_read(struct bufferevent *bev, void *arg) {
  struct pending *p = arg;
  struct evbuffer *in = bufferevent_get_input(bev);
  uint8_t hdr[2];
  if (evbuffer_copyout(in, hdr, 2) < 2)
    return;
  size_t len = (size_t)hdr[0] << 8 | hdr[1];
  if (evbuffer_get_length(in) < len + 2)
    return;
  uint8_t *msg = evbuffer_pullup(in, (ev_ssize_t)len + 2) + 2;
  if (len < 12 || msg[0] != p->query[0] || msg[1] != p->query[1]) {
    p->deadline = 0; /* not our answer: the next server at the next tick */
    return;
  }
  msg[0] = (uint8_t)(p->client_id >> 8);
  msg[1] = (uint8_t)p->client_id;
  conn_write(p->conn, msg, len);
  pending_free(p->n, p);
}

static void on_upstream_tcp_event(struct bufferevent *bev, short what,
                                  void *arg) {
  struct pending *p = arg;
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
    p->deadline = 0; /* the next server at the next tick */
}

/* Send (again) to p->upstream: a datagram for a UDP client, a TCP
 * connection of its own for a TCP client (whose answer may exceed what
 * UDP carries). */
static void send_upstream(struct dns_net *n, struct pending *p) {
  const struct sockaddr_storage *up = &n->up[p->upstream];
  p->deadline = kube_time_mono_ns() + FORWARD_TIMEOUT_NS;
  if (p->conn) {
    if (p->up_bev)
      bufferevent_free(p->up_bev);
    uint8_t hdr[2] = {(uint8_t)(p->len >> 8), (uint8_t)p->len};
    p->up_bev = bufferevent_socket_new(n->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!p->up_bev ||
        bufferevent_socket_connect(p->up_bev, (const struct sockaddr *)up,
                                   (int)sa_len(up)) < 0) {
      p->deadline = 0;
      return;
    }
    bufferevent_setcb(p->up_bev, on_upstream_tcp_read, NULL,
                      on_upstream_tcp_event, p);
    bufferevent_write(p->up_bev, hdr, 2);
    bufferevent_write(p->up_bev, p->query, p->len);
    bufferevent_enable(p->up_bev, EV_READ);
    return;
  }
  int fd = n->fwd[up->ss_family == AF_INET6];
  if (fd >= 0)
    sendto(fd, p->query, p->len, MSG_DONTWAIT, (const struct sockaddr *)up,
           sa_len(up));
}

static void servfail(struct dns_net *n, struct pending *p) {
  p->query[0] = (uint8_t)(p->client_id >> 8);
  p->query[1] = (uint8_t)p->client_id;
  size_t len;
  uint8_t *msg = dns_servfail(p->query, p->len, &len);
  if (msg)
    reply_to(n, p, msg, len);
  free(msg);
  n->a->stats->servfail++;
}

static void forward(struct dns_net *n, const uint8_t *q, size_t len,
                    const struct sockaddr_storage *client, socklen_t clen,
                    int ufd, struct tcp_conn *conn) {
  struct pending *p = calloc(1, sizeof *p);
  if (!p || !(p->query = malloc(len))) {
    free(p);
    n->a->stats->dropped++;
    return;
  }
  memcpy(p->query, q, len);
  p->len = len;
  p->n = n;
  p->client_id = (uint16_t)(q[0] << 8 | q[1]);
  if (client)
    memcpy(&p->client, client, clen);
  p->client_len = clen;
  p->ufd = ufd;
  if (n->npending >= MAX_PENDING) {
    servfail(n, p);
    free(p->query);
    free(p);
    return;
  }
  do {
    n->rnd ^= n->rnd << 13;
    n->rnd ^= n->rnd >> 17;
    n->rnd ^= n->rnd << 5;
    p->id = (uint16_t)n->rnd;
  } while (n->by_id[p->id]);
  p->query[0] = (uint8_t)(p->id >> 8);
  p->query[1] = (uint8_t)p->id;
  if ((p->conn = conn))
    conn->refs++;
  n->by_id[p->id] = p;
  n->npending++;
  pending_append(n, p);
  n->a->stats->forwarded++;
  send_upstream(n, p);
}

/* One datagram into buf (64 KiB); -1 when none is waiting. */
static ssize_t recv_one(int fd, uint8_t *buf, struct sockaddr_storage *from,
                        socklen_t *fl) {
  *fl = sizeof *from;
  return recvfrom(fd, buf, 65536, MSG_DONTWAIT, (struct sockaddr *)from, fl);
}

static void on_upstream(evutil_socket_t fd, short what, void *arg) {
  struct dns_net *n = arg;
  uint8_t buf[65536];
  struct sockaddr_storage from;
  socklen_t fl;
  ssize_t len;
  for (int i = 0; i < UDP_BATCH && (len = recv_one(fd, buf, &from, &fl)) >= 0;
       i++) {
    if (len < 12)
      continue;
    struct pending *p = n->by_id[(uint16_t)(buf[0] << 8 | buf[1])];
    if (!p || !same_addr(&from, &n->up[p->upstream]))
      continue; /* late, or not from where we asked */
    buf[0] = (uint8_t)(p->client_id >> 8);
    buf[1] = (uint8_t)p->client_id;
    reply_to(n, p, buf, (size_t)len);
    pending_free(n, p);
  }
}

static void on_timer(evutil_socket_t fd, short what, void *arg) {
  struct dns_net *n = arg;
  int64_t now = kube_time_mono_ns();
  while (n->head && n->head->deadline <= now) {
    struct pending *p = n->head;
    if (++p->attempts < n->nup) {
      p->upstream = (p->upstream + 1) % n->nup;
      pending_unlink(n, p);
      pending_append(n, p);
      send_upstream(n, p);
      continue;
    }
    servfail(n, p);
    pending_free(n, p);
  }
}

/* ---- queries ---- */

/* Queries come and answers go in batches (recvmmsg/sendmmsg): under load
 * the system calls, not the lookups, are what a query costs. */
struct udp_batch {
  struct mmsghdr in[UDP_BATCH], out[UDP_BATCH];
  struct iovec iov_in[UDP_BATCH], iov_out[UDP_BATCH];
  struct sockaddr_storage from[UDP_BATCH];
  uint8_t *reply[UDP_BATCH];
  uint8_t buf[UDP_BATCH][UDP_MAX_QUERY];
};

static void on_udp(evutil_socket_t fd, short what, void *arg) {
  struct udp_listener *l = arg;
  struct dns_net *n = l->n;
  struct udp_batch *b = n->batch;
  for (int i = 0; i < UDP_BATCH; i++) {
    b->iov_in[i] = (struct iovec){b->buf[i], UDP_MAX_QUERY};
    b->in[i].msg_hdr = (struct msghdr){.msg_name = &b->from[i],
                                       .msg_namelen = sizeof b->from[i],
                                       .msg_iov = &b->iov_in[i],
                                       .msg_iovlen = 1};
  }
  int got = recvmmsg(fd, b->in, UDP_BATCH, MSG_DONTWAIT, NULL);
  int nout = 0;
  for (int i = 0; i < got; i++) {
    size_t len = b->in[i].msg_len;
    if (b->in[i].msg_hdr.msg_flags & MSG_TRUNC) {
      n->a->stats->dropped++; /* larger than any query we answer */
      continue;
    }
    uint8_t *out;
    size_t olen;
    switch (
        dns_answer_cached(n->a->cache, n->a, b->buf[i], len, 0, &out, &olen)) {
    case DNS_REPLY:
      b->reply[nout] = out;
      b->iov_out[nout] = (struct iovec){out, olen};
      b->out[nout].msg_hdr =
          (struct msghdr){.msg_name = &b->from[i],
                          .msg_namelen = b->in[i].msg_hdr.msg_namelen,
                          .msg_iov = &b->iov_out[nout],
                          .msg_iovlen = 1};
      nout++;
      break;
    case DNS_FORWARD:
      forward(n, b->buf[i], len, &b->from[i], b->in[i].msg_hdr.msg_namelen, fd,
              NULL);
      break;
    case DNS_DROP:
      break;
    }
  }
  for (int sent = 0; sent < nout;) {
    int k = sendmmsg(fd, b->out + sent, (unsigned)(nout - sent), MSG_DONTWAIT);
    if (k <= 0)
      break; /* a full socket buffer drops the rest, as UDP may */
    sent += k;
  }
  for (int i = 0; i < nout; i++)
    free(b->reply[i]);
}

static void on_conn_read(struct bufferevent *bev, void *arg) {
  struct tcp_conn *c = arg;
  struct evbuffer *in = bufferevent_get_input(bev);
  uint8_t hdr[2];
  while (c->bev && evbuffer_get_length(in) >= 2) {
    evbuffer_copyout(in, hdr, 2);
    size_t len = (size_t)hdr[0] << 8 | hdr[1];
    if (evbuffer_get_length(in) < len + 2)
      return;
    uint8_t *msg = evbuffer_pullup(in, (ev_ssize_t)len + 2);
    uint8_t *out;
    size_t olen;
    switch (dns_answer_cached(c->n->a->cache, c->n->a, msg + 2, len, 65535,
                              &out, &olen)) {
    case DNS_REPLY:
      conn_write(c, out, olen);
      free(out);
      break;
    case DNS_FORWARD:
      forward(c->n, msg + 2, len, NULL, 0, -1, c);
      break;
    case DNS_DROP:
      /* A malformed message ends the connection: its framing cannot be
       * trusted any more. */
      conn_close(c);
      return;
    }
    evbuffer_drain(in, len + 2);
  }
}

static void on_conn_event(struct bufferevent *bev, short what, void *arg) {
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
    conn_close(arg);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
                      struct sockaddr *sa, int salen, void *arg) {
  struct dns_net *n = arg;
  struct tcp_conn *c = n->nconns < MAX_CONNS ? calloc(1, sizeof *c) : NULL;
  if (!c ||
      !(c->bev = bufferevent_socket_new(n->base, fd, BEV_OPT_CLOSE_ON_FREE))) {
    free(c);
    close(fd);
    return;
  }
  c->n = n;
  c->refs = 1; /* the connection's own */
  c->next = n->conns;
  if (n->conns)
    n->conns->prev = c;
  n->conns = c;
  n->nconns++;
  struct timeval idle = {TCP_IDLE_S, 0};
  bufferevent_set_timeouts(c->bev, &idle, &idle);
  bufferevent_setcb(c->bev, on_conn_read, NULL, on_conn_event, c);
  bufferevent_enable(c->bev, EV_READ);
}

/* ---- setup ---- */

static int udp_socket(const struct sockaddr_storage *addr, kube_error_t *err) {
  int fd =
      socket(addr->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return kube_make_error(err, errno, "dns: socket");
  int big = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  if (bind(fd, (const struct sockaddr *)addr, sa_len(addr)) < 0) {
    int e = errno;
    close(fd);
    return kube_make_error(err, e, "dns: bind udp");
  }
  return fd;
}

struct dns_net *dns_net_new(kube_loop_t *loop, struct dns_answerer *a,
                            const struct sockaddr_storage *upstreams,
                            size_t n_upstreams, kube_error_t *err) {
  struct dns_net *n = calloc(1, sizeof *n);
  if (!n) {
    kube_make_oom(err);
    return NULL;
  }
  n->base = kube_loop_base(loop);
  n->a = a;
  n->fwd[0] = n->fwd[1] = -1;
  n->rnd = (uint32_t)kube_time_mono_ns() | 1;
  if (!(n->batch = malloc(sizeof *n->batch))) {
    kube_make_oom(err);
    goto fail;
  }
  if (!n_upstreams)
    return n;
  if (!(n->up = calloc(n_upstreams, sizeof *n->up)) ||
      !(n->by_id = calloc(65536, sizeof *n->by_id)) ||
      !(n->timer = event_new(n->base, -1, EV_PERSIST, on_timer, n))) {
    kube_make_oom(err);
    goto fail;
  }
  memcpy(n->up, upstreams, n_upstreams * sizeof *n->up);
  n->nup = n_upstreams;
  for (size_t i = 0; i < n_upstreams; i++) {
    int v6 = upstreams[i].ss_family == AF_INET6;
    if (n->fwd[v6] >= 0)
      continue;
    struct sockaddr_storage any = {.ss_family = upstreams[i].ss_family};
    if ((n->fwd[v6] = udp_socket(&any, err)) < 0 ||
        !(n->fwd_ev[v6] = event_new(n->base, n->fwd[v6], EV_READ | EV_PERSIST,
                                    on_upstream, n)) ||
        event_add(n->fwd_ev[v6], NULL) < 0) {
      if (n->fwd[v6] >= 0)
        kube_make_oom(err);
      goto fail;
    }
  }
  struct timeval tick = {0, 250000};
  event_add(n->timer, &tick);
  return n;
fail:
  dns_net_free(n);
  return NULL;
}

int dns_net_listen(struct dns_net *n, const struct sockaddr_storage *addr,
                   kube_error_t *err) {
  struct sockaddr_storage a = *addr;
  int fd = udp_socket(&a, err);
  if (fd < 0)
    return -1;
  socklen_t al = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &al);
  int port =
      ntohs(a.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&a)->sin6_port
                                    : ((struct sockaddr_in *)&a)->sin_port);
  /* Forwarding to ourselves would loop: such an upstream (a resolv.conf
   * naming this address) goes. */
  for (size_t i = 0; i < n->nup;) {
    if (same_addr(&n->up[i], &a)) {
      log_warn("dns: an upstream is this server's own address (port %d): "
               "not forwarding there",
               port);
      memmove(&n->up[i], &n->up[i + 1], (n->nup - i - 1) * sizeof *n->up);
      n->nup--;
      n->a->forward = n->nup > 0;
    } else {
      i++;
    }
  }
  struct udp_listener *u = realloc(n->udp, (n->nudp + 1) * sizeof *u);
  struct evconnlistener **t = realloc(n->tcp, (n->ntcp + 1) * sizeof *t);
  if (u)
    n->udp = u;
  if (t)
    n->tcp = t;
  if (!u || !t) {
    close(fd);
    return kube_make_oom(err);
  }
  u = &n->udp[n->nudp];
  *u = (struct udp_listener){.fd = fd, .n = n};
  if (!(u->ev = event_new(n->base, fd, EV_READ | EV_PERSIST, on_udp, u)) ||
      event_add(u->ev, NULL) < 0) {
    if (u->ev)
      event_free(u->ev);
    close(fd);
    return kube_make_oom(err);
  }
  n->nudp++;
  struct evconnlistener *l = evconnlistener_new_bind(
      n->base, on_accept, n,
      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 128,
      (struct sockaddr *)&a, (int)sa_len(&a));
  if (!l) {
    /* Both or neither: the UDP listener goes again. */
    int e = errno;
    n->nudp--;
    event_free(n->udp[n->nudp].ev);
    close(n->udp[n->nudp].fd);
    return kube_make_error(err, e, "dns: bind tcp");
  }
  n->tcp[n->ntcp++] = l;
  return port;
}

void dns_net_free(struct dns_net *n) {
  if (!n)
    return;
  while (n->head)
    pending_free(n, n->head);
  while (n->conns)
    conn_close(n->conns);
  for (size_t i = 0; i < n->nudp; i++) {
    event_free(n->udp[i].ev);
    close(n->udp[i].fd);
  }
  for (size_t i = 0; i < n->ntcp; i++)
    evconnlistener_free(n->tcp[i]);
  for (int i = 0; i < 2; i++) {
    if (n->fwd_ev[i])
      event_free(n->fwd_ev[i]);
    if (n->fwd[i] >= 0)
      close(n->fwd[i]);
  }
  if (n->timer)
    event_free(n->timer);
  free(n->udp);
  free(n->tcp);
  free(n->up);
  free(n->by_id);
  free(n->batch);
  free(n);
}
