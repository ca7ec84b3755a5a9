/* SPDX-License-Identifier: Apache-2.0 */
/* GETs over the unix socket and over TLS keep-alive connections, the
 * same requests with the same number of client threads (blocking I/O, one
 * request in flight per client): the TLS path must not cost much more
 * than the socket it runs on (issue 14: Nagle plus delayed ACK made it
 * 44 ms per request). */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "loadgen.h"
#include "tls-unix.h"

struct sconn {
  int fd;
  SSL *ssl;
  struct buf in;
};

static int unix_open(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  struct timeval tv = {.tv_sec = IO_TIMEOUT_MS / 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

static int sconn_open(struct sconn *c, const struct tls_unix_target *t,
                      SSL_CTX *ctx) {
  *c = (struct sconn){.fd = -1};
  if (!ctx) {
    c->fd = unix_open(t->sock);
    return c->fd < 0 ? -1 : 0;
  }
  c->fd = tcp_connect(t->port);
  if (c->fd < 0)
    return -1;
  c->ssl = SSL_new(ctx);
  if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1 ||
      SSL_set1_host(c->ssl, "127.0.0.1") != 1 || SSL_connect(c->ssl) != 1) {
    ERR_print_errors_fp(stderr);
    return -1;
  }
  return 0;
}

static void sconn_close(struct sconn *c) {
  if (c->ssl) {
    SSL_shutdown(c->ssl);
    SSL_free(c->ssl);
  }
  if (c->fd >= 0)
    close(c->fd);
  buf_free(&c->in);
}

static int io_write(struct sconn *c, const char *p, size_t n) {
  while (n) {
    ssize_t w =
        c->ssl ? SSL_write(c->ssl, p, (int)n) : send(c->fd, p, n, MSG_NOSIGNAL);
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int sconn_get(struct sconn *c, const char *path, const char *token) {
  char req[1024];
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Authorization: Bearer %s\r\nAccept: application/json\r\n"
                   "\r\n",
                   path, token);
  if (io_write(c, req, (size_t)n) < 0)
    return -1;
  for (;;) {
    int status = 0;
    ssize_t m =
        http_parse(c->in.data ? c->in.data : "", c->in.len, &status, NULL);
    if (m < 0)
      return -1;
    if (m > 0) {
      memmove(c->in.data, c->in.data + m, c->in.len - (size_t)m);
      c->in.len -= (size_t)m;
      return status;
    }
    buf_reserve(&c->in, 1 << 16);
    size_t room = c->in.cap - c->in.len - 1;
    ssize_t r = c->ssl ? SSL_read(c->ssl, c->in.data + c->in.len, (int)room)
                       : read(c->fd, c->in.data + c->in.len, room);
    if (r < 0 && !c->ssl && errno == EINTR)
      continue;
    if (r <= 0)
      return -1;
    c->in.len += (size_t)r;
    c->in.data[c->in.len] = '\0';
  }
}

struct worker {
  const struct tls_unix_target *t;
  SSL_CTX *ctx;
  int n;
  int64_t *lat;
  int done, errors;
  pthread_t th;
  pthread_barrier_t *ready; /* every connection open: the clock starts */
};

static void *worker_main(void *arg) {
  struct worker *w = arg;
  struct sconn c;
  int rc = sconn_open(&c, w->t, w->ctx);
  /* Keep-alive GETs are what is compared: clients (kubectl, client-go)
   * keep their connection, so the TLS handshake stays out of the clock
   * (with 50 GETs a connection it was half of the TLS time). */
  pthread_barrier_wait(w->ready);
  if (rc < 0) {
    w->errors = w->n;
    sconn_close(&c);
    return NULL;
  }
  for (int i = 0; i < w->n; i++) {
    int64_t t0 = now_ns();
    int st = sconn_get(&c, w->t->path, w->t->token);
    if (st != 200) {
      w->errors++;
      if (st < 0)
        break;
      continue;
    }
    w->lat[w->done++] = now_ns() - t0;
  }
  sconn_close(&c);
  return NULL;
}

/* CPU seconds all threads of `pid` have run, in nanoseconds as the
 * scheduler counts them (/proc/PID/task/N/schedstat), not in clock ticks:
 * a round is a fraction of a second. */
static double task_cpu_s(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *d = opendir(path);
  if (!d)
    return NAN;
  double total = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char p[320];
    snprintf(p, sizeof p, "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
    FILE *f = fopen(p, "re");
    unsigned long long ns = 0;
    if (f && fscanf(f, "%llu", &ns) == 1)
      total += (double)ns / 1e9;
    if (f)
      fclose(f);
  }
  closedir(d);
  return total;
}

static double self_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* One round: `clients` threads with `per` GETs each. */
static void run(const struct tls_unix_target *t, SSL_CTX *ctx, int clients,
                int per, struct load_result *res, struct tls_unix_cpu *cpu) {
  struct worker *ws = xcalloc((size_t)clients, sizeof *ws);
  pthread_barrier_t ready;
  pthread_barrier_init(&ready, NULL, (unsigned)clients + 1);
  for (int i = 0; i < clients; i++) {
    ws[i] = (struct worker){.t = t, .ctx = ctx, .n = per, .ready = &ready};
    ws[i].lat = xcalloc((size_t)per, sizeof *ws[i].lat);
  }
  for (int i = 0; i < clients; i++)
    pthread_create(&ws[i].th, NULL, worker_main, &ws[i]);
  pthread_barrier_wait(&ready);
  int64_t t0 = now_ns();
  double srv0 = t->pid > 0 ? task_cpu_s(t->pid) : NAN, cli0 = self_cpu_s();
  for (int i = 0; i < clients; i++)
    pthread_join(ws[i].th, NULL);
  double secs = (double)(now_ns() - t0) / 1e9;
  double srv1 = t->pid > 0 ? task_cpu_s(t->pid) : NAN, cli1 = self_cpu_s();
  pthread_barrier_destroy(&ready);
  size_t total = 0;
  res->errors = 0;
  for (int i = 0; i < clients; i++) {
    total += (size_t)ws[i].done;
    res->errors += ws[i].errors;
  }
  int64_t *all = xcalloc(total ? total : 1, sizeof *all);
  size_t k = 0;
  for (int i = 0; i < clients; i++) {
    memcpy(all + k, ws[i].lat, (size_t)ws[i].done * sizeof *all);
    k += (size_t)ws[i].done;
    free(ws[i].lat);
  }
  free(ws);
  res->done = (int)total;
  res->ok = total > 0;
  if (total) {
    qsort(all, total, sizeof *all, cmp_i64);
    res->per_s = (double)total / secs;
    res->p50 = pct_ms(all, total, 0.50);
    res->p99 = pct_ms(all, total, 0.99);
    res->max = (double)all[total - 1] / 1e6;
    /* The client figure includes the joins and closes: a few us a round. */
    cpu->server_us = (srv1 - srv0) * 1e6 / (double)total;
    cpu->client_us = (cli1 - cli0) * 1e6 / (double)total;
  } else {
    cpu->server_us = cpu->client_us = NAN;
  }
  free(all);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof v[0], cmp_double);
  return v[n / 2];
}

void bench_tls_unix(const struct tls_unix_target *t, int clients, int per,
                    struct load_result *unix_res, struct load_result *tls_res,
                    struct tls_unix_cpu *unix_cpu, struct tls_unix_cpu *tls_cpu) {
  unix_res->per_s = unix_res->p50 = unix_res->p99 = unix_res->max = NAN;
  *tls_res = *unix_res;
  unix_cpu->server_us = unix_cpu->client_us = NAN;
  *tls_cpu = *unix_cpu;
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx || SSL_CTX_load_verify_locations(ctx, t->ca_file, NULL) != 1) {
    fprintf(stderr, "bench-api: cannot load %s\n", t->ca_file);
    SSL_CTX_free(ctx);
    return;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  /* Read records in big reads, as Go's crypto/tls (kubectl, client-go)
   * does, not header and body apart. */
  SSL_CTX_set_read_ahead(ctx, 1);
  /* Alternating rounds, medians: other load on a small machine comes and
   * goes, and must not land on one side only. */
  enum { ROUNDS = 5 };
  double ux[ROUNDS], tl[ROUNDS], uxs[ROUNDS], uxc[ROUNDS], tls[ROUNDS],
      tlc[ROUNDS];
  int n = 0;
  int each = per / ROUNDS > 20 ? per / ROUNDS : 20;
  for (int i = 0; i < ROUNDS; i++) {
    struct tls_unix_cpu uc, tc;
    run(t, NULL, clients, each, unix_res, &uc);
    run(t, ctx, clients, each, tls_res, &tc);
    if (!unix_res->ok || !tls_res->ok || unix_res->errors || tls_res->errors)
      break;
    ux[n] = unix_res->per_s;
    tl[n] = tls_res->per_s;
    uxs[n] = uc.server_us;
    uxc[n] = uc.client_us;
    tls[n] = tc.server_us;
    tlc[n] = tc.client_us;
    n++;
  }
  SSL_CTX_free(ctx);
  if (n < ROUNDS) {
    unix_res->per_s = tls_res->per_s = NAN;
    return;
  }
  unix_res->per_s = median(ux, ROUNDS);
  tls_res->per_s = median(tl, ROUNDS);
  unix_cpu->server_us = median(uxs, ROUNDS);
  unix_cpu->client_us = median(uxc, ROUNDS);
  tls_cpu->server_us = median(tls, ROUNDS);
  tls_cpu->client_us = median(tlc, ROUNDS);
}

int bench_unix_status(const char *sock, const char *path, const char *token) {
  struct tls_unix_target t = {.sock = sock};
  struct sconn c;
  int st = sconn_open(&c, &t, NULL) < 0 ? -1 : sconn_get(&c, path, token);
  sconn_close(&c);
  return st;
}
