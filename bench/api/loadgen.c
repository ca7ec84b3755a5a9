/* SPDX-License-Identifier: Apache-2.0 */
/* The load generator of bench-api (see loadgen.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loadgen.h"

int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void msleep(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

static void die_oom(void) {
  fprintf(stderr, "bench-api: out of memory\n");
  exit(1);
}

static void *xrealloc(void *p, size_t n) {
  p = realloc(p, n ? n : 1);
  if (!p)
    die_oom();
  return p;
}

void *xcalloc(size_t n, size_t sz) {
  void *p = calloc(n ? n : 1, sz);
  if (!p)
    die_oom();
  return p;
}

/* ---- growable byte buffer ---- */

void buf_reserve(struct buf *b, size_t extra) {
  if (b->len + extra + 1 <= b->cap)
    return;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + extra + 1)
    cap *= 2;
  b->data = xrealloc(b->data, cap);
  b->cap = cap;
}

void buf_add(struct buf *b, const char *p, size_t n) {
  buf_reserve(b, n);
  memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
}

static void buf_consume(struct buf *b, size_t n) {
  memmove(b->data, b->data + n, b->len - n);
  b->len -= n;
  if (b->data)
    b->data[b->len] = '\0';
}

void buf_free(struct buf *b) {
  free(b->data);
  *b = (struct buf){0};
}

/* ---- HTTP/1.1 response parsing ---- */

/* Parse one response at p[0..len).  Returns the bytes it spans when it is
 * complete, 0 when more bytes are needed, -1 when it is malformed.  With
 * `body` the (de-chunked) body is appended to it, only once complete. */
static ssize_t http_parse_once(const char *p, size_t len, int *status,
                               struct buf *body, bool copy) {
  const char *end = memmem(p, len, "\r\n\r\n", 4);
  if (!end)
    return len > (1 << 20) ? -1 : 0;
  if (len < 12 || strncmp(p, "HTTP/1.", 7) != 0)
    return -1;
  *status = atoi(p + 9);
  size_t hlen = (size_t)(end - p) + 4;
  bool chunked = false, have_cl = false;
  size_t clen = 0;
  /* Header lines between the status line and the blank line. */
  const char *line = memchr(p, '\n', hlen);
  while (line && line + 1 < end) {
    line++;
    const char *eol = memchr(line, '\n', (size_t)(end + 2 - line));
    if (!eol)
      break;
    size_t ll = (size_t)(eol - line);
    if (ll > 15 && strncasecmp(line, "Content-Length:", 15) == 0) {
      clen = strtoull(line + 15, NULL, 10);
      have_cl = true;
    } else if (ll > 18 && strncasecmp(line, "Transfer-Encoding:", 18) == 0) {
      for (size_t i = 18; i + 7 <= ll && !chunked; i++)
        chunked = strncasecmp(line + i, "chunked", 7) == 0;
    }
    line = eol;
  }
  if (*status == 204 || *status == 304 || (*status >= 100 && *status < 200))
    return (ssize_t)hlen;
  if (!chunked) {
    if (!have_cl)
      clen = 0; /* kubed always sends one of the two */
    if (len - hlen < clen)
      return 0;
    if (copy)
      buf_add(body, p + hlen, clen);
    return (ssize_t)(hlen + clen);
  }
  size_t pos = hlen;
  for (;;) {
    const char *crlf = memmem(p + pos, len - pos, "\r\n", 2);
    if (!crlf)
      return 0;
    char *hexend;
    unsigned long long sz = strtoull(p + pos, &hexend, 16);
    if (hexend == p + pos)
      return -1;
    pos = (size_t)(crlf - p) + 2;
    if (sz == 0) {
      /* Trailers, then the empty line. */
      for (;;) {
        const char *t = memmem(p + pos, len - pos, "\r\n", 2);
        if (!t)
          return 0;
        size_t tl = (size_t)(t - (p + pos));
        pos += tl + 2;
        if (tl == 0)
          return (ssize_t)pos;
      }
    }
    if (len - pos < sz + 2)
      return 0;
    if (copy)
      buf_add(body, p + pos, (size_t)sz);
    pos += (size_t)sz + 2;
  }
}

ssize_t http_parse(const char *p, size_t len, int *status, struct buf *body) {
  ssize_t n = http_parse_once(p, len, status, NULL, false);
  if (n > 0 && body)
    http_parse_once(p, len, status, body, true);
  return n;
}

/* Checks of the parser on fixed inputs, every split point included:
 * `bench-api --self-test`. */
int self_test(void) {
  static const struct {
    const char *in;
    int status;
    const char *body;
  } cases[] = {
      {"HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nhello", 201, "hello"},
      {"HTTP/1.1 200 OK\r\ncontent-length:0\r\n\r\n", 200, ""},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
       "5\r\nhello\r\n1;ext=1\r\n \r\na\r\n0123456789\r\n0\r\n\r\n",
       200, "hello 0123456789"},
      {"HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n"
       "3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n",
       200, "abc"},
      {"HTTP/1.1 204 No Content\r\n\r\n", 204, ""},
  };
  int bad = 0;
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    const char *in = cases[c].in;
    size_t len = strlen(in);
    /* Followed by a second response: a pipelined byte stream. */
    char two[1024];
    snprintf(two, sizeof two, "%s%s", in, in);
    for (size_t cut = 0; cut <= len; cut++) {
      int st = 0;
      struct buf b = {0};
      ssize_t n = http_parse(two, cut, &st, &b);
      if (cut < len && n != 0) {
        fprintf(stderr, "case %zu: complete after %zu of %zu bytes\n", c, cut,
                len);
        bad++;
      }
      if (cut == len && (n != (ssize_t)len || st != cases[c].status ||
                         strcmp(b.data ? b.data : "", cases[c].body) != 0)) {
        fprintf(stderr, "case %zu: n=%zd status=%d body=%s\n", c, n, st,
                b.data ? b.data : "");
        bad++;
      }
      buf_free(&b);
    }
    int st = 0;
    if (http_parse(two, 2 * len, &st, NULL) != (ssize_t)len) {
      fprintf(stderr, "case %zu: pipelined length wrong\n", c);
      bad++;
    }
  }
  int st = 0;
  const char *malformed = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                          "\r\nzz\r\n";
  if (http_parse(malformed, strlen(malformed), &st, NULL) != -1) {
    fprintf(stderr, "malformed chunk size accepted\n");
    bad++;
  }
  printf("bench-api self-test: %s\n", bad ? "FAILED" : "ok");
  return bad ? 1 : 0;
}

/* ---- connections ---- */

int tcp_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct timeval tv = {.tv_sec = IO_TIMEOUT_MS / 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int set_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Write everything; waits for POLLOUT on a non-blocking socket. */
static int send_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      struct pollfd pf = {.fd = fd, .events = POLLOUT};
      if (poll(&pf, 1, IO_TIMEOUT_MS) <= 0)
        return -1;
      continue;
    }
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int send_request(int fd, const struct target *t, const char *method,
                 const char *path, const char *body) {
  char head[1024];
  size_t bl = body ? strlen(body) : 0;
  char auth[128] = "";
  if (t->token)
    snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", t->token);
  int n = snprintf(head, sizeof head,
                   "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s"
                   "Accept: application/json\r\n"
                   "Content-Type: application/json\r\n"
                   "Content-Length: %zu\r\n\r\n",
                   method, path, auth, bl);
  if (n < 0 || (size_t)n >= sizeof head)
    return -1;
  if (send_all(fd, head, (size_t)n) < 0)
    return -1;
  return bl ? send_all(fd, body, bl) : 0;
}

int hconn_open(struct hconn *c, const struct target *t) {
  *c = (struct hconn){.t = *t};
  c->fd = tcp_connect(t->port);
  return c->fd < 0 ? -1 : 0;
}

void hconn_close(struct hconn *c) {
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
  buf_free(&c->in);
}

/* One request, one response; returns the status or -1.  `body_out` (may be
 * NULL) receives the response body. */
int hconn_do(struct hconn *c, const char *method, const char *path,
             const char *body, struct buf *body_out) {
  if (send_request(c->fd, &c->t, method, path, body) < 0)
    return -1;
  for (;;) {
    int status = 0;
    ssize_t n =
        http_parse(c->in.data ? c->in.data : "", c->in.len, &status, body_out);
    if (n < 0)
      return -1;
    if (n > 0) {
      buf_consume(&c->in, (size_t)n);
      return status;
    }
    buf_reserve(&c->in, 1 << 16);
    ssize_t r = read(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len - 1);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return -1;
    c->in.len += (size_t)r;
  }
}

/* One request on a fresh connection. */
int http_once(const struct target *t, const char *method, const char *path,
              const char *body, struct buf *out) {
  struct hconn c;
  if (hconn_open(&c, t) < 0)
    return -1;
  int st = hconn_do(&c, method, path, body, out);
  hconn_close(&c);
  return st;
}

/* ---- statistics ---- */

int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* v must be sorted. */
double pct_ms(const int64_t *v, size_t n, double p) {
  if (!n)
    return NAN;
  size_t i = (size_t)ceil(p * (double)n);
  if (i > 0)
    i--;
  if (i >= n)
    i = n - 1;
  return (double)v[i] / 1e6;
}

/* ---- closed-loop load: C clients, N requests each, one in flight ---- */

struct lclient {
  int fd;
  int i;
  int64_t t0;
  struct buf in;
  bool active;
};

static int lclient_send(struct lclient *c, const struct target *t, gen_fn gen,
                        void *ctx, int id) {
  struct req r = {0};
  gen(ctx, id, c->i, &r);
  c->t0 = now_ns();
  return send_request(c->fd, t, r.method, r.path, r.body);
}

/* Runs clients x per_client requests; a request counts as an error unless
 * it answers `expect`.  A client whose connection fails stops (its
 * remaining requests count as errors). */
void run_load(const struct target *t, int clients, int per_client, gen_fn gen,
              void *ctx, int expect, struct load_result *res) {
  *res = (struct load_result){0};
  struct lclient *cl = xcalloc((size_t)clients, sizeof *cl);
  struct pollfd *pf = xcalloc((size_t)clients, sizeof *pf);
  int *map = xcalloc((size_t)clients, sizeof *map);
  int64_t *lat = xcalloc((size_t)clients * (size_t)per_client, sizeof *lat);
  size_t nlat = 0;
  int active = 0;
  for (int k = 0; k < clients; k++) {
    cl[k].fd = tcp_connect(t->port);
    if (cl[k].fd < 0 || set_nonblock(cl[k].fd) < 0) {
      res->errors += per_client;
      if (cl[k].fd >= 0)
        close(cl[k].fd);
      cl[k].fd = -1;
      continue;
    }
    cl[k].active = true;
    active++;
  }
  int64_t start = now_ns();
  for (int k = 0; k < clients; k++) {
    if (cl[k].active && lclient_send(&cl[k], t, gen, ctx, k) < 0) {
      cl[k].active = false;
      active--;
      res->errors += per_client;
    }
  }
  int64_t last_progress = now_ns();
  while (active > 0) {
    int n = 0;
    for (int k = 0; k < clients; k++) {
      if (!cl[k].active)
        continue;
      pf[n] = (struct pollfd){.fd = cl[k].fd, .events = POLLIN};
      map[n++] = k;
    }
    int r = poll(pf, (nfds_t)n, 1000);
    if (r < 0 && errno != EINTR)
      break;
    if (r <= 0) {
      if (now_ns() - last_progress > (int64_t)IO_TIMEOUT_MS * 1000000) {
        fprintf(stderr, "bench-api: no response for %d s, giving up\n",
                IO_TIMEOUT_MS / 1000);
        break;
      }
      continue;
    }
    for (int j = 0; j < n; j++) {
      if (!pf[j].revents)
        continue;
      struct lclient *c = &cl[map[j]];
      buf_reserve(&c->in, 1 << 16);
      ssize_t got =
          read(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len - 1);
      if (got < 0 && (errno == EAGAIN || errno == EINTR))
        continue;
      bool fail = got <= 0;
      if (!fail) {
        c->in.len += (size_t)got;
        int status = 0;
        ssize_t used = http_parse(c->in.data, c->in.len, &status, NULL);
        if (used < 0) {
          fail = true;
        } else if (used > 0) {
          int64_t t1 = now_ns();
          last_progress = t1;
          lat[nlat++] = t1 - c->t0;
          buf_consume(&c->in, (size_t)used);
          if (status == expect) {
            res->done++;
          } else {
            res->errors++;
            if (!res->first_bad_status)
              res->first_bad_status = status;
          }
          c->i++;
          if (c->i >= per_client) {
            c->active = false;
            active--;
          } else if (lclient_send(c, t, gen, ctx, map[j]) < 0) {
            fail = true;
          }
        }
      }
      if (fail && c->active) {
        res->errors += per_client - c->i;
        c->active = false;
        active--;
      }
    }
  }
  double secs = (double)(now_ns() - start) / 1e9;
  for (int k = 0; k < clients; k++) {
    if (cl[k].active)
      res->errors += per_client - cl[k].i;
    if (cl[k].fd >= 0)
      close(cl[k].fd);
    buf_free(&cl[k].in);
  }
  qsort(lat, nlat, sizeof *lat, cmp_i64);
  res->ok = res->done > 0;
  res->per_s = secs > 0 ? (double)res->done / secs : NAN;
  res->p50 = pct_ms(lat, nlat, 0.50);
  /* A p99 of fewer than 200 samples is its largest two: not reported. */
  res->p99 = nlat >= 200 ? pct_ms(lat, nlat, 0.99) : NAN;
  res->max = nlat ? (double)lat[nlat - 1] / 1e6 : NAN;
  if (!res->ok)
    res->per_s = res->p50 = res->p99 = res->max = NAN;
  free(lat);
  free(map);
  free(pf);
  free(cl);
}
