/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-api: load generator for kubed's API server on loopback.
 *
 * For each store (sqlite, and etcd when /usr/bin/etcd exists) it starts a
 * kubed (plain HTTP on 127.0.0.1, bearer token) and measures:
 *   - pod creates/s and p50/p99 latency with 1 and 32 clients,
 *   - GET p50/p99,
 *   - LIST of N pods (default 10,000),
 *   - fan-out: W watchers (default 1,000) receiving one write.
 * Prints figures; with --json one JSON object on its last line.
 *
 * usage: bench-api [--kubed PATH] [--only sqlite|etcd] [--pods N]
 *                  [--watchers W] [--json]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "etcd-harness.h"

#define TOKEN "bench-token"

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- a minimal blocking HTTP/1.1 client (keep-alive) ---- */

struct conn {
  int fd;
  char buf[1 << 16];
  size_t len;
};

static int conn_open(struct conn *c, int port) {
  c->len = 0;
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->fd < 0)
    return -1;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    close(c->fd);
    c->fd = -1;
    return -1;
  }
  return 0;
}

static void conn_close(struct conn *c) {
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
}

static int send_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int send_request(struct conn *c, const char *method, const char *path,
                        const char *body) {
  char head[1024];
  size_t bl = body ? strlen(body) : 0;
  int n = snprintf(head, sizeof head,
                   "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Authorization: Bearer " TOKEN "\r\n"
                   "Content-Type: application/json\r\n"
                   "Content-Length: %zu\r\n\r\n",
                   method, path, bl);
  if (send_all(c->fd, head, (size_t)n) < 0)
    return -1;
  return bl ? send_all(c->fd, body, bl) : 0;
}

static int fill(struct conn *c) {
  if (c->len == sizeof c->buf)
    return -1;
  ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
  if (r <= 0)
    return -1;
  c->len += (size_t)r;
  return 0;
}

/* Read one Content-Length response; returns the status, body discarded
 * (its length in *body_len). */
static int read_response(struct conn *c, size_t *body_len) {
  char *end;
  while (!(end = memmem(c->buf, c->len, "\r\n\r\n", 4)))
    if (fill(c) < 0)
      return -1;
  int status = atoi(c->buf + 9);
  size_t hlen = (size_t)(end - c->buf) + 4;
  size_t clen = 0;
  char *cl = memmem(c->buf, hlen, "Content-Length:", 15);
  if (!cl)
    cl = memmem(c->buf, hlen, "content-length:", 15);
  if (cl)
    clen = strtoull(cl + 15, NULL, 10);
  size_t have = c->len - hlen;
  size_t total = clen;
  if (have >= clen) {
    memmove(c->buf, c->buf + hlen + clen, have - clen);
    c->len = have - clen;
  } else {
    size_t need = clen - have;
    c->len = 0;
    while (need) {
      ssize_t r = read(c->fd, c->buf, need < sizeof c->buf ? need : sizeof c->buf);
      if (r <= 0)
        return -1;
      need -= (size_t)r;
    }
  }
  if (body_len)
    *body_len = total;
  return status;
}

static int do_request(struct conn *c, const char *method, const char *path,
                      const char *body, size_t *body_len) {
  if (send_request(c, method, path, body) < 0)
    return -1;
  return read_response(c, body_len);
}

/* ---- statistics ---- */

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static double pct_ms(int64_t *v, size_t n, double p) {
  if (!n)
    return 0;
  qsort(v, n, sizeof *v, cmp_i64);
  size_t i = (size_t)(p * (double)(n - 1) + 0.5);
  return (double)v[i] / 1e6;
}

/* ---- kubed process ---- */

struct kubed {
  pid_t pid;
  int port;
  char dir[256];
};

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof sa;
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
      getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  close(fd);
  return ntohs(sa.sin_port);
}

static int kubed_start(struct kubed *k, const char *bin, const char *store,
                       const char *etcd) {
  const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(k->dir, sizeof k->dir, "%s/bench-api-XXXXXX", tmp);
  if (!mkdtemp(k->dir))
    return -1;
  k->port = free_port();
  char listen[64], data[300], sock[300];
  snprintf(listen, sizeof listen, "tcp:127.0.0.1:%d", k->port);
  snprintf(data, sizeof data, "%s/data", k->dir);
  snprintf(sock, sizeof sock, "unix:%s/kubed.sock", k->dir);
  k->pid = fork();
  if (k->pid < 0)
    return -1;
  if (k->pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    char log[300];
    snprintf(log, sizeof log, "%s/kubed.log", k->dir);
    int lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (lfd >= 0)
      dup2(lfd, 2);
    const char *argv[20];
    int n = 0;
    argv[n++] = bin;
    argv[n++] = "server";
    argv[n++] = "--data-dir";
    argv[n++] = data;
    argv[n++] = "--listen";
    argv[n++] = listen;
    argv[n++] = "--listen";
    argv[n++] = sock;
    argv[n++] = "--store";
    argv[n++] = store;
    argv[n++] = "--token";
    argv[n++] = TOKEN;
    argv[n++] = "--plain-http";
    argv[n++] = "--log-level";
    argv[n++] = "warning";
    if (etcd) {
      argv[n++] = "--etcd-endpoints";
      argv[n++] = etcd;
    }
    argv[n] = NULL;
    execv(bin, (char *const *)argv);
    _exit(127);
  }
  /* Wait for /readyz. */
  for (int i = 0; i < 200; i++) {
    struct conn c;
    if (conn_open(&c, k->port) == 0) {
      int st = do_request(&c, "GET", "/readyz", NULL, NULL);
      conn_close(&c);
      if (st == 200)
        return 0;
    }
    int status;
    if (waitpid(k->pid, &status, WNOHANG) == k->pid) {
      k->pid = -1;
      return -1;
    }
    usleep(50000);
  }
  return -1;
}

static void rm_rf(const char *dir) {
  pid_t p = fork();
  if (p == 0) {
    execl("/bin/rm", "rm", "-rf", dir, (char *)NULL);
    _exit(127);
  }
  if (p > 0)
    waitpid(p, NULL, 0);
}

static void kubed_stop(struct kubed *k) {
  if (k->pid > 0) {
    kill(k->pid, SIGTERM);
    waitpid(k->pid, NULL, 0);
  }
  k->pid = -1;
  rm_rf(k->dir);
}

/* ---- workloads ---- */

static const char *POD_FMT =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
    "\"namespace\":\"bench\",\"labels\":{\"app\":\"bench\",\"idx\":\"%d\"}},"
    "\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"nginx:1.25\","
    "\"ports\":[{\"containerPort\":8080}],\"resources\":{\"requests\":{"
    "\"cpu\":\"100m\",\"memory\":\"64Mi\"}}}]}}";

struct worker {
  int port;
  int id;
  int count;
  int64_t *lat;
  int errors;
};

static void *create_worker(void *arg) {
  struct worker *w = arg;
  struct conn *c = malloc(sizeof *c);
  if (!c || conn_open(c, w->port) < 0) {
    w->errors = w->count;
    free(c);
    return NULL;
  }
  char body[1024], name[64];
  for (int i = 0; i < w->count; i++) {
    snprintf(name, sizeof name, "p-%d-%d", w->id, i);
    snprintf(body, sizeof body, POD_FMT, name, i);
    int64_t t0 = now_ns();
    int st = do_request(c, "POST", "/api/v1/namespaces/bench/pods", body, NULL);
    w->lat[i] = now_ns() - t0;
    if (st != 201)
      w->errors++;
    if (st < 0) {
      conn_close(c);
      if (conn_open(c, w->port) < 0)
        break;
    }
  }
  conn_close(c);
  free(c);
  return NULL;
}

struct create_result {
  double per_sec, p50, p99;
  int errors;
};

static void run_creates(int port, int clients, int per_client, int id_base,
                        struct create_result *res) {
  pthread_t th[64];
  struct worker ws[64];
  int64_t t0 = now_ns();
  for (int i = 0; i < clients; i++) {
    ws[i] = (struct worker){.port = port, .id = id_base + i,
                            .count = per_client,
                            .lat = calloc((size_t)per_client, sizeof(int64_t))};
    pthread_create(&th[i], NULL, create_worker, &ws[i]);
  }
  for (int i = 0; i < clients; i++)
    pthread_join(th[i], NULL);
  double secs = (double)(now_ns() - t0) / 1e9;
  size_t n = (size_t)clients * (size_t)per_client;
  int64_t *all = calloc(n, sizeof(int64_t));
  res->errors = 0;
  for (int i = 0; i < clients; i++) {
    memcpy(all + (size_t)i * per_client, ws[i].lat,
           (size_t)per_client * sizeof(int64_t));
    res->errors += ws[i].errors;
    free(ws[i].lat);
  }
  res->per_sec = (double)n / secs;
  res->p50 = pct_ms(all, n, 0.50);
  res->p99 = pct_ms(all, n, 0.99);
  free(all);
}

struct fig {
  struct create_result c1, c32;
  double get_p50, get_p99;
  double list_ms;
  size_t list_bytes;
  int list_items;
  double fan_p50, fan_p99, fan_max;
  int fan_received, watchers;
};

static int ensure_namespace(int port) {
  struct conn c;
  if (conn_open(&c, port) < 0)
    return -1;
  int st = do_request(&c, "POST", "/api/v1/namespaces",
                      "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
                      "\"metadata\":{\"name\":\"bench\"}}",
                      NULL);
  conn_close(&c);
  return st == 201 || st == 409 ? 0 : -1;
}

static void bench_gets(int port, struct fig *f, int known_pods) {
  struct conn c;
  if (conn_open(&c, port) < 0)
    return;
  int n = 2000;
  int64_t *lat = calloc((size_t)n, sizeof(int64_t));
  char path[128];
  for (int i = 0; i < n; i++) {
    snprintf(path, sizeof path, "/api/v1/namespaces/bench/pods/p-0-%d",
             i % known_pods);
    int64_t t0 = now_ns();
    do_request(&c, "GET", path, NULL, NULL);
    lat[i] = now_ns() - t0;
  }
  f->get_p50 = pct_ms(lat, (size_t)n, 0.50);
  f->get_p99 = pct_ms(lat, (size_t)n, 0.99);
  free(lat);
  conn_close(&c);
}

static void bench_list(int port, struct fig *f, int expect) {
  struct conn c;
  if (conn_open(&c, port) < 0)
    return;
  double best = 1e18;
  for (int i = 0; i < 3; i++) {
    size_t bytes = 0;
    int64_t t0 = now_ns();
    int st = do_request(&c, "GET", "/api/v1/namespaces/bench/pods", NULL,
                        &bytes);
    double ms = (double)(now_ns() - t0) / 1e6;
    if (st == 200 && ms < best) {
      best = ms;
      f->list_bytes = bytes;
    }
  }
  f->list_ms = best;
  f->list_items = expect;
  conn_close(&c);
}

static void bench_fanout(int port, struct fig *f, int watchers) {
  int *fds = calloc((size_t)watchers, sizeof(int));
  int64_t *lat = calloc((size_t)watchers, sizeof(int64_t));
  int opened = 0;
  /* Start every watch from "now" via the current list revision. */
  char path[256];
  snprintf(path, sizeof path,
           "/api/v1/namespaces/bench/configmaps?watch=true&resourceVersion=0");
  for (int i = 0; i < watchers; i++) {
    struct conn c;
    if (conn_open(&c, port) < 0)
      break;
    if (send_request(&c, "GET", path, NULL) < 0) {
      conn_close(&c);
      break;
    }
    fds[opened++] = c.fd;
  }
  /* Drain the response headers of every watcher. */
  char buf[8192];
  for (int i = 0; i < opened; i++) {
    struct pollfd p = {.fd = fds[i], .events = POLLIN};
    if (poll(&p, 1, 5000) > 0)
      (void)read(fds[i], buf, sizeof buf);
  }
  usleep(200000);
  struct conn w;
  if (conn_open(&w, port) < 0)
    goto out;
  int64_t t0 = now_ns();
  do_request(&w, "POST", "/api/v1/namespaces/bench/configmaps",
             "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
             "\"name\":\"fanout\"},\"data\":{\"k\":\"v\"}}",
             NULL);
  conn_close(&w);
  struct pollfd *pfds = calloc((size_t)opened, sizeof(struct pollfd));
  for (int i = 0; i < opened; i++)
    pfds[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
  int got = 0;
  int64_t deadline = now_ns() + 10000000000LL;
  while (got < opened && now_ns() < deadline) {
    int r = poll(pfds, (nfds_t)opened, 1000);
    if (r <= 0)
      continue;
    int64_t t = now_ns();
    for (int i = 0; i < opened; i++) {
      if (pfds[i].fd < 0 || !(pfds[i].revents & POLLIN))
        continue;
      ssize_t n = read(pfds[i].fd, buf, sizeof buf);
      if (n > 0 && memmem(buf, (size_t)n, "ADDED", 5)) {
        lat[got++] = t - t0;
        pfds[i].fd = -1;
      } else if (n <= 0) {
        pfds[i].fd = -1;
      }
    }
  }
  free(pfds);
  f->fan_received = got;
  f->watchers = opened;
  f->fan_p50 = pct_ms(lat, (size_t)got, 0.50);
  f->fan_p99 = pct_ms(lat, (size_t)got, 0.99);
  f->fan_max = got ? (double)lat[got - 1] / 1e6 : 0;
out:
  for (int i = 0; i < opened; i++)
    close(fds[i]);
  free(fds);
  free(lat);
}

static int run_store(const char *kubed, const char *store, const char *etcd,
                     int pods, int watchers, struct fig *f) {
  struct kubed k = {0};
  if (kubed_start(&k, kubed, store, etcd) < 0) {
    fprintf(stderr, "bench-api: kubed with the %s store did not start\n",
            store);
    kubed_stop(&k);
    return -1;
  }
  if (ensure_namespace(k.port) < 0) {
    fprintf(stderr, "bench-api: cannot create the bench namespace\n");
    kubed_stop(&k);
    return -1;
  }
  int n1 = pods < 2000 ? pods / 5 : 2000;
  run_creates(k.port, 1, n1, 0, &f->c1);
  int per = (pods - n1) / 32;
  if (per < 1)
    per = 1;
  run_creates(k.port, 32, per, 100, &f->c32);
  int total = n1 + per * 32;
  bench_gets(k.port, f, n1);
  bench_list(k.port, f, total);
  bench_fanout(k.port, f, watchers);
  printf("== %s store (%d pods)\n", store, total);
  printf("  create, 1 client:   %8.0f pods/s  p50 %.2f ms  p99 %.2f ms%s\n",
         f->c1.per_sec, f->c1.p50, f->c1.p99,
         f->c1.errors ? "  (errors!)" : "");
  printf("  create, 32 clients: %8.0f pods/s  p50 %.2f ms  p99 %.2f ms%s\n",
         f->c32.per_sec, f->c32.p50, f->c32.p99,
         f->c32.errors ? "  (errors!)" : "");
  printf("  GET:                p50 %.3f ms  p99 %.3f ms\n", f->get_p50,
         f->get_p99);
  printf("  LIST %d pods:    %.1f ms (%.1f MiB)\n", f->list_items, f->list_ms,
         (double)f->list_bytes / (1024.0 * 1024.0));
  printf("  watch fan-out:      %d/%d watchers got the write, p50 %.2f ms  "
         "p99 %.2f ms  max %.2f ms\n",
         f->fan_received, f->watchers, f->fan_p50, f->fan_p99, f->fan_max);
  fflush(stdout);
  kubed_stop(&k);
  return 0;
}

static void json_fig(const char *name, const struct fig *f, bool comma) {
  printf("\"%s\":{\"create_1_per_s\":%.1f,\"create_1_p50_ms\":%.3f,"
         "\"create_1_p99_ms\":%.3f,\"create_32_per_s\":%.1f,"
         "\"create_32_p50_ms\":%.3f,\"create_32_p99_ms\":%.3f,"
         "\"create_errors\":%d,\"get_p50_ms\":%.3f,\"get_p99_ms\":%.3f,"
         "\"list_items\":%d,\"list_ms\":%.2f,\"list_bytes\":%zu,"
         "\"watchers\":%d,\"fanout_received\":%d,\"fanout_p50_ms\":%.3f,"
         "\"fanout_p99_ms\":%.3f,\"fanout_max_ms\":%.3f}%s",
         name, f->c1.per_sec, f->c1.p50, f->c1.p99, f->c32.per_sec, f->c32.p50,
         f->c32.p99, f->c1.errors + f->c32.errors, f->get_p50, f->get_p99,
         f->list_items, f->list_ms, f->list_bytes, f->watchers,
         f->fan_received, f->fan_p50, f->fan_p99, f->fan_max, comma ? "," : "");
}

static void default_kubed(char *out, size_t len) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) {
      *slash = '\0';
      snprintf(out, len, "%s/../../frontends/daemon/kubed", self);
      if (access(out, X_OK) == 0)
        return;
    }
  }
  snprintf(out, len, "kubed");
}

int main(int argc, char **argv) {
  char kubed[4200] = "";
  const char *only = NULL;
  int pods = 10000, watchers = 1000;
  bool json = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--kubed") && i + 1 < argc)
      snprintf(kubed, sizeof kubed, "%s", argv[++i]);
    else if (!strcmp(argv[i], "--only") && i + 1 < argc)
      only = argv[++i];
    else if (!strcmp(argv[i], "--pods") && i + 1 < argc)
      pods = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--watchers") && i + 1 < argc)
      watchers = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--json"))
      json = true;
    else {
      fprintf(stderr,
              "usage: bench-api [--kubed PATH] [--only sqlite|etcd] "
              "[--pods N] [--watchers W] [--json]\n");
      return 2;
    }
  }
  if (pods < 100)
    pods = 100;
  if (!kubed[0])
    default_kubed(kubed, sizeof kubed);
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  struct fig sq = {0}, et = {0};
  bool have_sq = false, have_et = false;
  if (!only || !strcmp(only, "sqlite"))
    have_sq = run_store(kubed, "sqlite", NULL, pods, watchers, &sq) == 0;
  if (!only || !strcmp(only, "etcd")) {
    struct etcd_harness h;
    if (!etcd_available()) {
      printf("== etcd: skipped, %s is not installed\n", ETCD_BINARY);
    } else if (etcd_start(&h, NULL) < 0) {
      printf("== etcd: skipped, etcd did not start\n");
    } else {
      have_et = run_store(kubed, "etcd", h.endpoint, pods, watchers, &et) == 0;
      etcd_stop(&h);
    }
  }
  if (have_sq && have_et)
    printf("== sqlite / etcd: creates x%.1f (1 client), x%.1f (32 clients)\n",
           sq.c1.per_sec / et.c1.per_sec, sq.c32.per_sec / et.c32.per_sec);
  if (json) {
    printf("{");
    if (have_sq)
      json_fig("sqlite", &sq, have_et);
    if (have_et)
      json_fig("etcd", &et, false);
    printf("}\n");
  }
  return have_sq || have_et ? 0 : 1;
}
