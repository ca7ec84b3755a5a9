/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-api: load generator for kubed's API server on loopback.
 *
 * It starts its own processes: a kubed with the sqlite store, then an etcd
 * (/usr/bin/etcd, temp data dir, random loopback ports) and a kubed with
 * `--store etcd` against it, each kubed with a temp data dir, plain HTTP on
 * a free 127.0.0.1 port and a fixed bearer token.  For each store it
 * measures
 *   - pod creates/s and p50/p99 latency with 1 and 32 clients
 *     (one keep-alive connection per client, one request in flight each),
 *   - GET p50/p99 (one client),
 *   - LIST of every pod created (10,000 by default),
 *   - watch fan-out: 1,000 `?watch=true&resourceVersion=N` streams on the
 *     pods of one namespace, one create, time until each stream has the
 *     ADDED event (p50/p99/max),
 *   - (sqlite) GETs with 8 clients over the unix socket and over TLS
 *     keep-alive connections of a kubed serving HTTPS, and their ratio
 *     (ratio_tls_vs_unix_get, time per GET; goal <= 1.5),
 * plus etcd itself (PUT through its v3 JSON gateway, 1 and 32 clients, the
 * same value size as a pod body), kubed's idle RSS after bootstrap and the
 * ratio of kubed(sqlite) creates/s to raw etcd puts/s, one client each.
 *
 * The generator is single-threaded: raw sockets and poll(), so on a small
 * machine it takes little CPU from the server it measures.  Responses are
 * parsed properly (Content-Length and chunked).  A figure that could not be
 * taken is printed as "-" and is null in the JSON object that --json prints
 * on the last line.
 *
 * The measured kubed runs with --disable-scheduler (the API server alone)
 * unless --with-scheduler; the idle RSS is that of a kubed with default
 * flags.
 *
 * usage: bench-api [--kubed PATH] [--only sqlite|etcd|tls|memory] [--pods N]
 *                  [--creates-1 N] [--watchers W] [--gets N]
 *                  [--with-scheduler] [--json] | --self-test
 */
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

#include "../bench-util.h" /* proc_cpu_s */

#include "etcd-harness.h"
#include "loadgen.h"
#include "tls-unix.h"

#define TOKEN "bench-api-token"
/* ---- processes ---- */

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
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

static void rm_rf(const char *dir) {
  if (!dir[0])
    return;
  pid_t p = fork();
  if (p == 0) {
    execl("/bin/rm", "rm", "-rf", "--", dir, (char *)NULL);
    _exit(127);
  }
  if (p > 0)
    waitpid(p, NULL, 0);
}

/* Stop a child: SIGTERM, up to `grace_ms`, then SIGKILL. */
static void stop_child(pid_t pid, int grace_ms) {
  if (pid <= 0)
    return;
  kill(pid, SIGTERM);
  for (int waited = 0; waited < grace_ms; waited += 20) {
    if (waitpid(pid, NULL, WNOHANG) == pid)
      return;
    msleep(20);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

struct kubed {
  pid_t pid;
  int port;
  char dir[256];
};

static void kubed_log_tail(const struct kubed *k) {
  char path[300], line[512];
  snprintf(path, sizeof path, "%s/kubed.log", k->dir);
  FILE *f = fopen(path, "re");
  if (!f)
    return;
  /* Print the last few lines: they say why it failed. */
  char last[6][512];
  int n = 0;
  while (fgets(line, sizeof line, f))
    snprintf(last[n++ % 6], sizeof last[0], "%s", line);
  fclose(f);
  for (int i = n > 6 ? n - 6 : 0; i < n; i++)
    fprintf(stderr, "  kubed: %s", last[i % 6]);
}

/* Whether `kubed server --help` mentions `flag`. */
static bool kubed_has_flag(const char *bin, const char *flag) {
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0)
    return false;
  pid_t pid = fork();
  if (pid < 0) {
    close(pfd[0]);
    close(pfd[1]);
    return false;
  }
  if (pid == 0) {
    dup2(pfd[1], 1);
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0)
      dup2(devnull, 2);
    execl(bin, bin, "server", "--help", (char *)NULL);
    _exit(127);
  }
  close(pfd[1]);
  struct buf out = {0};
  char chunk[4096];
  ssize_t r;
  while (out.len < (1 << 20) && (r = read(pfd[0], chunk, sizeof chunk)) != 0) {
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      break;
    buf_add(&out, chunk, (size_t)r);
  }
  close(pfd[0]);
  waitpid(pid, NULL, 0);
  bool has = out.data && strstr(out.data, flag);
  buf_free(&out);
  return has;
}

/* Start `bin server` with `store` (and `etcd` endpoints), plus `extra` (one
 * more flag, may be NULL); wait until /readyz answers 200.  `tls`: HTTPS
 * on the TCP port (its certificate DIR/data/tls.crt) and a unix socket
 * DIR/kubed.sock; plain HTTP on TCP otherwise. */
static int kubed_start_mode(struct kubed *k, const char *bin, const char *store,
                            const char *etcd, const char *extra, bool tls) {
  bool no_node = kubed_has_flag(bin, "--no-node");
  *k = (struct kubed){.pid = -1};
  const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(k->dir, sizeof k->dir, "%s/bench-api-XXXXXX", tmp);
  if (!mkdtemp(k->dir)) {
    k->dir[0] = '\0';
    return -1;
  }
  for (int attempt = 0; attempt < 3; attempt++) {
    k->port = free_port();
    char listen[64], data[300], log[300], unix_spec[340], sock[320];
    snprintf(listen, sizeof listen, "tcp:127.0.0.1:%d", k->port);
    snprintf(sock, sizeof sock, "%s/kubed.sock", k->dir);
    snprintf(unix_spec, sizeof unix_spec, "unix:%s", sock);
    snprintf(data, sizeof data, "%s/data", k->dir);
    snprintf(log, sizeof log, "%s/kubed.log", k->dir);
    k->pid = fork();
    if (k->pid < 0)
      return -1;
    if (k->pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the bench */
      int devnull = open("/dev/null", O_RDWR);
      int lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(devnull, 0);
      dup2(devnull, 1);
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
      argv[n++] = "--store";
      argv[n++] = store;
      argv[n++] = "--token";
      argv[n++] = TOKEN;
      if (tls) {
        argv[n++] = "--listen";
        argv[n++] = unix_spec;
      } else {
        argv[n++] = "--plain-http";
      }
      argv[n++] = "--log-level";
      argv[n++] = "warning";
      if (etcd) {
        argv[n++] = "--etcd-endpoints";
        argv[n++] = etcd;
      }
      if (extra)
        argv[n++] = extra;
      if (no_node)
        argv[n++] = "--no-node"; /* the API alone, no node on this host */
      argv[n] = NULL;
      execv(bin, (char *const *)argv);
      fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
      _exit(127);
    }
    struct target t = {.port = k->port, .token = TOKEN};
    for (int i = 0; i < 400; i++) { /* up to ~20 s */
      if ((tls ? bench_unix_status(sock, "/readyz", TOKEN)
               : http_once(&t, "GET", "/readyz", NULL, NULL)) == 200)
        return 0;
      if (waitpid(k->pid, NULL, WNOHANG) == k->pid) {
        k->pid = -1;
        break;
      }
      msleep(50);
    }
    if (k->pid > 0) {
      stop_child(k->pid, 2000);
      k->pid = -1;
    }
  }
  kubed_log_tail(k);
  return -1;
}

static int kubed_start(struct kubed *k, const char *bin, const char *store,
                       const char *etcd, const char *extra) {
  return kubed_start_mode(k, bin, store, etcd, extra, false);
}

static void kubed_stop(struct kubed *k) {
  stop_child(k->pid, 10000);
  k->pid = -1;
  rm_rf(k->dir);
  k->dir[0] = '\0';
}

/* VmRSS of a process in MiB, NAN when unknown. */
static double rss_mib(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "re");
  if (!f)
    return NAN;
  double v = NAN;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0)
      v = strtod(line + 6, NULL) / 1024.0;
  fclose(f);
  return v;
}

/* ---- workloads ---- */

static const char *POD_FMT =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
    "\"namespace\":\"%s\",\"labels\":{\"app\":\"bench\",\"idx\":\"%d\"}},"
    "\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"nginx:1.25\","
    "\"ports\":[{\"containerPort\":8080}],\"resources\":{\"requests\":{"
    "\"cpu\":\"100m\",\"memory\":\"64Mi\"}}}]}}";

struct create_ctx {
  int id_base;
  char body[1024];
};

static void gen_create(void *vctx, int client, int i, struct req *r) {
  struct create_ctx *c = vctx;
  char name[64];
  snprintf(name, sizeof name, "p-%d-%d", c->id_base + client, i);
  snprintf(c->body, sizeof c->body, POD_FMT, name, "bench", i);
  snprintf(r->method, sizeof r->method, "POST");
  snprintf(r->path, sizeof r->path, "/api/v1/namespaces/bench/pods");
  r->body = c->body;
}

struct get_ctx {
  int known; /* pods p-0-0 .. p-0-(known-1) exist */
};

static void gen_get(void *vctx, int client, int i, struct req *r) {
  struct get_ctx *c = vctx;
  unsigned x = (unsigned)i * 2654435761u; /* spread over the pods */
  snprintf(r->method, sizeof r->method, "GET");
  snprintf(r->path, sizeof r->path, "/api/v1/namespaces/bench/pods/p-0-%u",
           x % (unsigned)c->known);
  r->body = NULL;
}

struct bind_ctx {
  char body[256];
};

/* Binds pod p-0-i (created by the 1-client phase) to a node name; the
 * binding subresource does not require the Node to exist. */
static void gen_bind(void *vctx, int client, int i, struct req *r) {
  struct bind_ctx *c = vctx;
  (void)client;
  snprintf(c->body, sizeof c->body,
           "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{"
           "\"name\":\"p-0-%d\"},\"target\":{\"apiVersion\":\"v1\","
           "\"kind\":\"Node\",\"name\":\"bench-node-%d\"}}",
           i, i % 16);
  snprintf(r->method, sizeof r->method, "POST");
  snprintf(r->path, sizeof r->path,
           "/api/v1/namespaces/bench/pods/p-0-%d/binding", i);
  r->body = c->body;
}

static void base64(const unsigned char *in, size_t n, char *out) {
  static const char tab[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16;
    if (i + 1 < n)
      v |= (uint32_t)in[i + 1] << 8;
    if (i + 2 < n)
      v |= in[i + 2];
    out[o++] = tab[(v >> 18) & 63];
    out[o++] = tab[(v >> 12) & 63];
    out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < n ? tab[v & 63] : '=';
  }
  out[o] = '\0';
}

struct etcd_put_ctx {
  int id_base;
  char value_b64[2048];
  char body[2400];
};

static void gen_etcd_put(void *vctx, int client, int i, struct req *r) {
  struct etcd_put_ctx *c = vctx;
  char key[96], key64[160];
  int kl = snprintf(key, sizeof key, "/bench-api/raw/p-%d-%d",
                    c->id_base + client, i);
  base64((const unsigned char *)key, (size_t)kl, key64);
  snprintf(c->body, sizeof c->body, "{\"key\":\"%s\",\"value\":\"%s\"}", key64,
           c->value_b64);
  snprintf(r->method, sizeof r->method, "POST");
  snprintf(r->path, sizeof r->path, "/v3/kv/put");
  r->body = c->body;
}

/* Everything measured for one store; NAN = not measured. */
struct fig {
  bool ran;
  struct load_result c1, c32, get, bind;
  /* kubed's CPU (user + system, /proc/PID/stat) per request of a phase */
  double cpu_us_create_1, cpu_us_create_32, cpu_us_bind_1;
  int pods;
  double list_ms;
  int list_items;
  size_t list_bytes;
  int watchers, fan_received;
  double fan_p50, fan_p99, fan_max, fan_write_ms;
  double rss_idle, rss_loaded;
};

static void fig_init(struct fig *f) {
  *f = (struct fig){0};
  f->list_ms = f->fan_p50 = f->fan_p99 = f->fan_max = f->fan_write_ms = NAN;
  f->rss_idle = f->rss_loaded = NAN;
  f->cpu_us_create_1 = f->cpu_us_create_32 = f->cpu_us_bind_1 = NAN;
  f->c1.per_s = f->c1.p50 = f->c1.p99 = f->c1.max = NAN;
  f->c32 = f->get = f->bind = f->c1;
}

/* kubed's CPU microseconds per successful request since `cpu0`. */
static double cpu_us_per(pid_t pid, double cpu0, const struct load_result *r) {
  return r->done > 0 ? (proc_cpu_s(pid) - cpu0) * 1e6 / r->done : NAN;
}

static int ensure_namespace(const struct target *t, const char *ns) {
  char body[256];
  snprintf(body, sizeof body,
           "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
           "\"metadata\":{\"name\":\"%s\"}}",
           ns);
  int st = http_once(t, "POST", "/api/v1/namespaces", body, NULL);
  return st == 201 || st == 409 ? 0 : -1;
}

static size_t count_str(const char *hay, size_t n, const char *needle) {
  size_t c = 0, nl = strlen(needle);
  const char *p = hay, *end = hay + n;
  while (p < end && (p = memmem(p, (size_t)(end - p), needle, nl))) {
    c++;
    p += nl;
  }
  return c;
}

/* LIST every pod of the namespace three times on one connection; the
 * figure is the median. */
static void bench_list(const struct target *t, struct fig *f) {
  struct hconn c;
  if (hconn_open(&c, t) < 0)
    return;
  double ms[3];
  int ok = 0;
  for (int i = 0; i < 3; i++) {
    struct buf body = {0};
    int64_t t0 = now_ns();
    int st = hconn_do(&c, "GET", "/api/v1/namespaces/bench/pods", NULL, &body);
    double d = (double)(now_ns() - t0) / 1e6;
    if (st == 200) {
      ms[ok++] = d;
      f->list_bytes = body.len;
      f->list_items =
          (int)count_str(body.data ? body.data : "", body.len, "\"name\":\"p-");
    } else {
      fprintf(stderr, "bench-api: LIST answered %d\n", st);
    }
    buf_free(&body);
    if (st < 0)
      break;
  }
  hconn_close(&c);
  if (!ok)
    return;
  for (int i = 1; i < ok; i++)
    for (int j = i; j > 0 && ms[j] < ms[j - 1]; j--) {
      double x = ms[j];
      ms[j] = ms[j - 1];
      ms[j - 1] = x;
    }
  f->list_ms = ms[ok / 2];
}

/* The list's metadata.resourceVersion, or -1. */
static long long list_revision(const struct target *t, const char *path) {
  struct buf body = {0};
  long long rv = -1;
  if (http_once(t, "GET", path, NULL, &body) == 200 && body.data) {
    const char *p = strstr(body.data, "\"resourceVersion\":\"");
    if (p)
      rv = strtoll(p + 19, NULL, 10);
  }
  buf_free(&body);
  return rv;
}

struct watcher {
  int fd;
  bool headers, got;
  int64_t at;
  size_t hlen;
  char head[2048];
  char tail[16]; /* last bytes seen, so a split "ADDED" is still found */
  size_t tlen;
};

/* Look for the ADDED event in newly read stream bytes. */
static bool watcher_scan(struct watcher *w, const char *p, size_t n) {
  char tmp[16 + 8192];
  memcpy(tmp, w->tail, w->tlen);
  size_t m = n > 8192 ? 8192 : n;
  memcpy(tmp + w->tlen, p + (n - m), m);
  size_t all = w->tlen + m;
  bool hit = memmem(tmp, all, "\"ADDED\"", 7) != NULL ||
             memmem(p, n, "\"ADDED\"", 7) != NULL;
  w->tlen = all < 8 ? all : 8;
  memcpy(w->tail, tmp + all - w->tlen, w->tlen);
  return hit;
}

/* W watchers on the pods of namespace "fanout" from its current revision,
 * then one create there; the latency of each watcher is the time from just
 * before the POST until its stream delivered the ADDED event. */
static void bench_fanout(const struct target *t, struct fig *f, int watchers) {
  if (ensure_namespace(t, "fanout") < 0) {
    fprintf(stderr, "bench-api: cannot create namespace fanout\n");
    return;
  }
  long long rv = list_revision(t, "/api/v1/namespaces/fanout/pods");
  if (rv < 0) {
    fprintf(stderr, "bench-api: no resourceVersion in the fanout pod list\n");
    return;
  }
  char path[256];
  snprintf(path, sizeof path,
           "/api/v1/namespaces/fanout/pods?watch=true&resourceVersion=%lld",
           rv);
  struct watcher *ws = xcalloc((size_t)watchers, sizeof *ws);
  struct pollfd *pf = xcalloc((size_t)watchers + 1, sizeof *pf);
  int64_t *lat = xcalloc((size_t)watchers, sizeof *lat);
  int opened = 0;
  for (int i = 0; i < watchers; i++) {
    int fd = tcp_connect(t->port);
    if (fd < 0) {
      fprintf(stderr, "bench-api: watcher %d: connect: %s\n", i,
              strerror(errno));
      break;
    }
    if (send_request(fd, t, "GET", path, NULL) < 0 || set_nonblock(fd) < 0) {
      close(fd);
      break;
    }
    ws[opened++] = (struct watcher){.fd = fd};
  }
  /* Wait until every stream has its response headers: then its watch is
   * registered.  Bounded: 20 s in all. */
  int with_headers = 0, failed = 0;
  int64_t deadline = now_ns() + 20000000000LL;
  char rd[8192];
  while (with_headers + failed < opened && now_ns() < deadline) {
    int n = 0;
    for (int i = 0; i < opened; i++)
      if (ws[i].fd >= 0 && !ws[i].headers)
        pf[n++] = (struct pollfd){.fd = ws[i].fd, .events = POLLIN};
    if (poll(pf, (nfds_t)n, 500) <= 0)
      continue;
    for (int i = 0, j = 0; i < opened; i++) {
      if (ws[i].fd < 0 || ws[i].headers)
        continue;
      short rev = pf[j++].revents;
      if (!rev)
        continue;
      struct watcher *w = &ws[i];
      ssize_t r = read(w->fd, w->head + w->hlen, sizeof w->head - 1 - w->hlen);
      if (r < 0 && errno == EAGAIN)
        continue;
      if (r <= 0) {
        close(w->fd);
        w->fd = -1;
        failed++;
        continue;
      }
      w->hlen += (size_t)r;
      w->head[w->hlen] = '\0';
      char *end = strstr(w->head, "\r\n\r\n");
      if (!end && w->hlen < sizeof w->head - 1)
        continue;
      if (!end || atoi(w->head + 9) != 200) {
        if (failed == 0)
          fprintf(stderr, "bench-api: watch answered: %.60s\n", w->head);
        close(w->fd);
        w->fd = -1;
        failed++;
        continue;
      }
      w->headers = true;
      with_headers++;
      size_t rest = w->hlen - (size_t)(end + 4 - w->head);
      if (rest && watcher_scan(w, end + 4, rest)) {
        /* An event before our write: not the one we measure. */
        w->got = true;
      }
    }
  }
  f->watchers = with_headers;
  if (with_headers < opened)
    fprintf(stderr, "bench-api: %d of %d watches started\n", with_headers,
            opened);
  if (with_headers == 0)
    goto out;
  msleep(300);
  char body[1024];
  snprintf(body, sizeof body, POD_FMT, "fanout-0", "fanout", 0);
  /* The writer is polled with the watchers, so an event that arrives
   * before the POST's own answer is timed when it arrives. */
  struct hconn wc;
  if (hconn_open(&wc, t) < 0) {
    fprintf(stderr, "bench-api: fan-out writer: connect failed\n");
    goto out;
  }
  int got = 0, want = 0;
  for (int i = 0; i < opened; i++)
    if (ws[i].fd >= 0 && ws[i].headers && !ws[i].got)
      want++;
  int64_t t0 = now_ns();
  bool writing = true;
  if (send_request(wc.fd, t, "POST", "/api/v1/namespaces/fanout/pods", body) <
          0 ||
      set_nonblock(wc.fd) < 0) {
    fprintf(stderr, "bench-api: fan-out writer: send failed\n");
    hconn_close(&wc);
    goto out;
  }
  deadline = now_ns() + 15000000000LL;
  while ((got < want || writing) && now_ns() < deadline) {
    int n = 0;
    if (writing)
      pf[n++] = (struct pollfd){.fd = wc.fd, .events = POLLIN};
    int first = n;
    for (int i = 0; i < opened; i++)
      if (ws[i].fd >= 0 && ws[i].headers && !ws[i].got)
        pf[n++] = (struct pollfd){.fd = ws[i].fd, .events = POLLIN};
    if (poll(pf, (nfds_t)n, 500) <= 0)
      continue;
    if (writing && pf[0].revents) {
      buf_reserve(&wc.in, 1 << 16);
      ssize_t r =
          read(wc.fd, wc.in.data + wc.in.len, wc.in.cap - wc.in.len - 1);
      if (r > 0) {
        wc.in.len += (size_t)r;
        int st = 0;
        ssize_t used = http_parse(wc.in.data, wc.in.len, &st, NULL);
        if (used != 0) {
          writing = false;
          f->fan_write_ms = (double)(now_ns() - t0) / 1e6;
          if (st != 201) {
            fprintf(stderr, "bench-api: fan-out create answered %d\n", st);
            want = 0;
          }
        }
      } else if (r == 0 || errno != EAGAIN) {
        writing = false;
        fprintf(stderr, "bench-api: fan-out create: connection lost\n");
      }
    }
    for (int i = 0, j = first; i < opened; i++) {
      struct watcher *w = &ws[i];
      if (w->fd < 0 || !w->headers || w->got)
        continue;
      short rev = pf[j++].revents;
      if (!rev)
        continue;
      ssize_t r = read(w->fd, rd, sizeof rd);
      int64_t at = now_ns();
      if (r < 0 && errno == EAGAIN)
        continue;
      if (r <= 0) {
        close(w->fd);
        w->fd = -1;
        want--;
        continue;
      }
      if (watcher_scan(w, rd, (size_t)r)) {
        w->got = true;
        lat[got++] = at - t0;
      }
    }
  }
  hconn_close(&wc);
  qsort(lat, (size_t)got, sizeof *lat, cmp_i64);
  f->fan_received = got;
  if (got) {
    f->fan_p50 = pct_ms(lat, (size_t)got, 0.50);
    /* a p99 of fewer than 200 watchers is not reported (null) */
    f->fan_p99 = got >= 200 ? pct_ms(lat, (size_t)got, 0.99) : NAN;
    f->fan_max = (double)lat[got - 1] / 1e6;
  }
out:
  for (int i = 0; i < opened; i++)
    if (ws[i].fd >= 0)
      close(ws[i].fd);
  free(ws);
  free(pf);
  free(lat);
}

static const char *fmt_num(char *b, size_t n, double v, const char *f);

static void print_load(const char *what, const struct load_result *r) {
  char p99[32];
  printf("  %-22s %8.0f /s  p50 %7.3f ms  p99 %7s ms  max %7.2f ms", what,
         r->per_s, r->p50, fmt_num(p99, sizeof p99, r->p99, "%.3f"), r->max);
  if (r->errors)
    printf("  (%d errors, first status %d)", r->errors, r->first_bad_status);
  printf("\n");
}

struct opts {
  const char *kubed;
  int pods;      /* pods created in all (LIST size) */
  int creates_1; /* of which with one client */
  int watchers;
  int gets;
  /* Passed to the measured kubed: "--disable-scheduler" (the API alone)
   * unless --with-scheduler, or NULL when kubed has no such flag. */
  const char *extra;
};

static int run_store(const struct opts *o, const char *store, const char *etcd,
                     struct fig *f) {
  struct kubed k;
  printf("== kubed, %s store\n", store);
  fflush(stdout);
  /* Idle memory of the daemon as users start it (default flags: the
   * scheduler runs), in a process of its own. */
  if (kubed_start(&k, o->kubed, store, etcd, NULL) == 0) {
    msleep(1000); /* let bootstrap writes and allocator churn settle */
    f->rss_idle = rss_mib(k.pid);
    printf("  idle RSS after bootstrap (default flags): %.1f MiB\n",
           f->rss_idle);
  } else {
    printf("  FAILED: kubed with --store %s (default flags) did not become "
           "ready\n",
           store);
  }
  kubed_stop(&k);
  if (kubed_start(&k, o->kubed, store, etcd, o->extra) < 0) {
    printf("  FAILED: kubed with --store %s%s%s did not become ready\n", store,
           o->extra ? " " : "", o->extra ? o->extra : "");
    kubed_stop(&k);
    return -1;
  }
  printf("  measured kubed runs with%s%s\n", o->extra ? " " : " default flags",
         o->extra ? o->extra : "");
  struct target t = {.port = k.port, .token = TOKEN};
  if (ensure_namespace(&t, "bench") < 0) {
    printf("  FAILED: cannot create the bench namespace\n");
    kubed_stop(&k);
    return -1;
  }
  f->ran = true;
  int n1 = o->creates_1 < o->pods ? o->creates_1 : o->pods / 5;
  int per = (o->pods - n1) / 32;
  if (per < 1)
    per = 1;
  struct create_ctx cc = {.id_base = 0};
  double cpu0 = proc_cpu_s(k.pid);
  run_load(&t, 1, n1, gen_create, &cc, 201, &f->c1);
  f->cpu_us_create_1 = cpu_us_per(k.pid, cpu0, &f->c1);
  print_load("create, 1 client:", &f->c1);
  printf("    kubed CPU per create: %.0f us\n", f->cpu_us_create_1);
  fflush(stdout);
  cc.id_base = 100;
  cpu0 = proc_cpu_s(k.pid);
  run_load(&t, 32, per, gen_create, &cc, 201, &f->c32);
  f->cpu_us_create_32 = cpu_us_per(k.pid, cpu0, &f->c32);
  print_load("create, 32 clients:", &f->c32);
  printf("    kubed CPU per create: %.0f us\n", f->cpu_us_create_32);
  fflush(stdout);
  f->pods = f->c1.done + f->c32.done;
  if (f->c1.done > 0) {
    /* Reads on a quiet server: let the store finish what the write burst
     * left behind (group commits, checkpoints) first. */
    msleep(1000);
    struct get_ctx gc = {.known = n1};
    run_load(&t, 1, o->gets, gen_get, &gc, 200, &f->get);
    print_load("GET, 1 client:", &f->get);
    /* Bindings of the pods the 1-client phase created (pods/binding). */
    struct bind_ctx bc;
    cpu0 = proc_cpu_s(k.pid);
    run_load(&t, 1, f->c1.done, gen_bind, &bc, 201, &f->bind);
    f->cpu_us_bind_1 = cpu_us_per(k.pid, cpu0, &f->bind);
    print_load("binding, 1 client:", &f->bind);
    printf("    kubed CPU per binding: %.0f us\n", f->cpu_us_bind_1);
    fflush(stdout);
  }
  bench_list(&t, f);
  printf("  LIST %-5d pods:        %8.1f ms  (%d items, %.1f MiB)\n", f->pods,
         f->list_ms, f->list_items, (double)f->list_bytes / 1048576.0);
  fflush(stdout);
  bench_fanout(&t, f, o->watchers);
  char fp99[32];
  printf("  watch fan-out:          %d/%d watchers got the write: p50 %.2f ms "
         " p99 %s ms  max %.2f ms (the POST answered in %.2f ms)\n",
         f->fan_received, f->watchers, f->fan_p50,
         fmt_num(fp99, sizeof fp99, f->fan_p99, "%.2f"), f->fan_max,
         f->fan_write_ms);
  f->rss_loaded = rss_mib(k.pid);
  printf("  RSS after the runs:     %.1f MiB\n", f->rss_loaded);
  fflush(stdout);
  kubed_stop(&k);
  return 0;
}

/* GETs of one object with 8 clients over the unix socket, then over TLS
 * keep-alive, against a kubed serving HTTPS (sqlite store). */
static void run_tls_unix(const struct opts *o, struct load_result *ux,
                         struct load_result *tl, struct tls_unix_cpu *uc,
                         struct tls_unix_cpu *tc) {
  struct kubed k;
  printf("== kubed over TLS and the unix socket (sqlite store)\n");
  fflush(stdout);
  ux->per_s = ux->p50 = ux->p99 = ux->max = NAN;
  *tl = *ux;
  uc->server_us = uc->client_us = NAN;
  *tc = *uc;
  if (kubed_start_mode(&k, o->kubed, "sqlite", NULL, o->extra, true) < 0) {
    printf("  FAILED: kubed with TLS did not become ready\n");
    kubed_stop(&k);
    return;
  }
  char sock[320], ca[320];
  snprintf(sock, sizeof sock, "%s/kubed.sock", k.dir);
  snprintf(ca, sizeof ca, "%s/data/tls.crt", k.dir);
  struct tls_unix_target t = {.sock = sock,
                              .port = k.port,
                              .ca_file = ca,
                              .token = TOKEN,
                              .path = "/api/v1/namespaces/default",
                              .pid = k.pid};
  /* 500 GETs a client a round at least: a round of 400 GETs took a few
   * ms, within the noise of thread start and the first records. */
  int per = o->gets / 8 > 2500 ? o->gets / 8 : 2500;
  bench_tls_unix(&t, 8, per, ux, tl, uc, tc);
  print_load("GET, 8 clients, unix:", ux);
  printf("    CPU per GET: kubed %.1f us, clients %.1f us\n", uc->server_us,
         uc->client_us);
  print_load("GET, 8 clients, TLS:", tl);
  printf("    CPU per GET: kubed %.1f us, clients %.1f us\n", tc->server_us,
         tc->client_us);
  fflush(stdout);
  kubed_stop(&k);
}

/* ---- output ---- */

static const char *fmt_num(char *b, size_t n, double v, const char *f) {
  if (isnan(v))
    snprintf(b, n, "-");
  else
    snprintf(b, n, f, v);
  return b;
}

/* The last column is always a time ratio, sqlite's over etcd's: a / b for
 * times (ms, us), b / a for rates (/s); none for sizes. */
enum { NO_RATIO, TIME_RATIO, RATE_RATIO };

static void row(const char *name, double a, double b, const char *f,
                int ratio) {
  char x[32], y[32], z[32];
  printf("%-32s %12s %12s %10s\n", name, fmt_num(x, sizeof x, a, f),
         fmt_num(y, sizeof y, b, f),
         ratio == TIME_RATIO   ? fmt_num(z, sizeof z, a / b, "x%.2f")
         : ratio == RATE_RATIO ? fmt_num(z, sizeof z, b / a, "x%.2f")
                               : "");
}

struct json {
  bool first;
};

static void jkey(struct json *j, const char *key, double v) {
  printf("%s\"%s\":", j->first ? "" : ",", key);
  j->first = false;
  if (isnan(v) || isinf(v))
    printf("null");
  else
    printf("%.3f", v);
}

static void jint(struct json *j, const char *key, long long v) {
  printf("%s\"%s\":%lld", j->first ? "" : ",", key, v);
  j->first = false;
}

static void jstr(struct json *j, const char *key, const char *v) {
  printf("%s\"%s\":\"", j->first ? "" : ",", key);
  j->first = false;
  for (const char *p = v; *p; p++) {
    if (*p == '"' || *p == '\\')
      printf("\\%c", *p);
    else if ((unsigned char)*p < 0x20)
      printf(" ");
    else
      putchar(*p);
  }
  printf("\"");
}

static void json_store(struct json *j, const char *s, const struct fig *f) {
  char k[96];
#define K(fmt) (snprintf(k, sizeof k, fmt, s), k)
  jkey(j, K("creates_per_s_1_%s"), f->c1.per_s);
  jkey(j, K("p50_ms_create_1_%s"), f->c1.p50);
  jkey(j, K("p99_ms_create_1_%s"), f->c1.p99);
  jkey(j, K("creates_per_s_32_%s"), f->c32.per_s);
  jkey(j, K("p50_ms_create_32_%s"), f->c32.p50);
  jkey(j, K("p99_ms_create_32_%s"), f->c32.p99);
  jint(j, K("create_errors_%s"), f->c1.errors + f->c32.errors);
  jkey(j, K("cpu_us_per_create_1_%s"), f->cpu_us_create_1);
  jkey(j, K("cpu_us_per_create_32_%s"), f->cpu_us_create_32);
  jkey(j, K("bindings_per_s_1_%s"), f->bind.per_s);
  jkey(j, K("cpu_us_per_binding_1_%s"), f->cpu_us_bind_1);
  jint(j, K("binding_errors_%s"), f->bind.errors);
  jkey(j, K("get_p50_ms_%s"), f->get.p50);
  jkey(j, K("get_p99_ms_%s"), f->get.p99);
  /* the key carries the pod count listed: list_10000_ms_* by default */
  if (f->pods > 0 && f->pods != 10000)
    snprintf(k, sizeof k, "list_%d_ms_%s", f->pods, s);
  else
    K("list_10000_ms_%s");
  jkey(j, k, f->list_ms);
  jint(j, K("list_items_%s"), f->list_items);
  jint(j, K("list_bytes_%s"), (long long)f->list_bytes);
  jint(j, K("watchers_%s"), f->watchers);
  jint(j, K("watch_fanout_received_%s"), f->fan_received);
  jkey(j, K("watch_fanout_p50_ms_%s"), f->fan_p50);
  jkey(j, K("watch_fanout_p99_ms_%s"), f->fan_p99);
  jkey(j, K("watch_fanout_max_ms_%s"), f->fan_max);
  jkey(j, K("watch_fanout_write_ms_%s"), f->fan_write_ms);
  jkey(j, K("kubed_rss_after_mb_%s"), f->rss_loaded);
#undef K
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
#ifdef KUBED_PATH
  snprintf(out, len, "%s", KUBED_PATH);
  if (access(out, X_OK) == 0)
    return;
#endif
  snprintf(out, len, "/usr/bin/kubed");
}

static void machine(char *out, size_t len) {
  char model[256] = "unknown CPU", line[512];
  FILE *f = fopen("/proc/cpuinfo", "re");
  if (f) {
    while (fgets(line, sizeof line, f)) {
      if (strncmp(line, "model name", 10) == 0) {
        char *c = strchr(line, ':');
        if (c) {
          c += 2;
          c[strcspn(c, "\n")] = '\0';
          snprintf(model, sizeof model, "%s", c);
        }
        break;
      }
    }
    fclose(f);
  }
  struct utsname u;
  uname(&u);
  snprintf(out, len, "%s, %ld CPUs, Linux %s", model,
           sysconf(_SC_NPROCESSORS_ONLN), u.release);
}

static double loadavg1(void) {
  double l[3];
  return getloadavg(l, 1) == 1 ? l[0] : NAN;
}

static void usage(FILE *f) {
  fprintf(f, "usage: bench-api [--kubed PATH] [--only sqlite|etcd|tls|memory] "
             "[--pods N] [--creates-1 N]\n"
             "                 [--watchers W] [--gets N] [--with-scheduler] "
             "[--json]\n");
}

int main(int argc, char **argv) {
  char kubed[4200] = "";
  const char *only = NULL;
  struct opts o = {
      .pods = 10000, .creates_1 = 2000, .watchers = 1000, .gets = 2000};
  bool json = false, with_scheduler = false;
  for (int i = 1; i < argc; i++) {
    bool more = i + 1 < argc;
    if (!strcmp(argv[i], "--kubed") && more)
      snprintf(kubed, sizeof kubed, "%s", argv[++i]);
    else if (!strcmp(argv[i], "--only") && more)
      only = argv[++i];
    else if (!strcmp(argv[i], "--pods") && more)
      o.pods = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--creates-1") && more)
      o.creates_1 = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--watchers") && more)
      o.watchers = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--gets") && more)
      o.gets = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--json"))
      json = true;
    else if (!strcmp(argv[i], "--with-scheduler"))
      with_scheduler = true;
    else if (!strcmp(argv[i], "--self-test"))
      return self_test();
    else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (only && strcmp(only, "sqlite") && strcmp(only, "etcd") &&
      strcmp(only, "tls") && strcmp(only, "memory")) {
    usage(stderr);
    return 2;
  }
  /* Bounded load whatever the flags say. */
  if (o.pods < 100)
    o.pods = 100;
  if (o.pods > 100000)
    o.pods = 100000;
  if (o.creates_1 < 1 || o.creates_1 > o.pods / 2)
    o.creates_1 = o.pods / 5;
  if (o.watchers < 1)
    o.watchers = 1;
  if (o.watchers > 5000)
    o.watchers = 5000;
  if (o.gets < 1 || o.gets > 100000)
    o.gets = 2000;
  if (!kubed[0])
    default_kubed(kubed, sizeof kubed);
  o.kubed = kubed;
  if (access(kubed, X_OK) < 0) {
    fprintf(stderr, "bench-api: no kubed at %s (use --kubed PATH)\n", kubed);
    return 1;
  }
  /* The API server alone: a scheduler would add its own writes (bindings,
   * FailedScheduling events) to every create. */
  if (!with_scheduler && kubed_has_flag(kubed, "--disable-scheduler"))
    o.extra = "--disable-scheduler";
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rlim_t want = (rlim_t)o.watchers + 256;
    if (rl.rlim_cur < want) {
      rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
      setrlimit(RLIMIT_NOFILE, &rl);
      if (rl.rlim_cur < want)
        fprintf(stderr, "bench-api: fd limit %llu, fewer watchers will run\n",
                (unsigned long long)rl.rlim_cur);
    }
  }

  char mach[512];
  machine(mach, sizeof mach);
  char date[64];
  time_t now = time(NULL);
  strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
  double load_start = loadavg1();
  printf("bench-api: %s; %s; load average %.2f\nkubed: %s\n", date, mach,
         load_start, kubed);
  printf("%d pods per store (%d with 1 client, the rest with 32), %d GETs, "
         "%d watchers\n",
         o.pods, o.creates_1, o.gets, o.watchers);
  fflush(stdout);

  struct fig sq, et, mem;
  fig_init(&sq);
  fig_init(&et);
  fig_init(&mem);
  struct load_result raw1 = {0}, raw32 = {0}, tu_unix = {0}, tu_tls = {0};
  struct tls_unix_cpu cu_unix = {NAN, NAN}, cu_tls = {NAN, NAN};
  tu_unix.per_s = tu_tls.per_s = tu_unix.p50 = tu_tls.p50 = NAN;
  raw1.per_s = raw1.p50 = raw1.p99 = raw1.max = NAN;
  raw32 = raw1;
  if (!only || !strcmp(only, "sqlite"))
    run_store(&o, "sqlite", NULL, &sq);
  /* The memory store only when asked: the API server without a disk. */
  if (only && !strcmp(only, "memory"))
    run_store(&o, "memory", NULL, &mem);
  if (!only || !strcmp(only, "sqlite") || !strcmp(only, "tls"))
    run_tls_unix(&o, &tu_unix, &tu_tls, &cu_unix, &cu_tls);
  if (!only || !strcmp(only, "etcd")) {
    struct etcd_harness h;
    printf("== etcd %s\n", ETCD_BINARY);
    fflush(stdout);
    if (!etcd_available()) {
      printf("  FAILED: %s is not installed\n", ETCD_BINARY);
    } else if (etcd_start(&h, NULL) < 0) {
      printf("  FAILED: etcd did not start\n");
      etcd_stop(&h);
    } else {
      /* Raw etcd: the same bytes a pod create sends, as the value. */
      struct etcd_put_ctx pc = {.id_base = 0};
      char pod[1024];
      int pl = snprintf(pod, sizeof pod, POD_FMT, "p-0-0", "bench", 0);
      base64((const unsigned char *)pod, (size_t)pl, pc.value_b64);
      struct target et_t = {.port = h.port, .token = NULL};
      int n1 = o.creates_1 < o.pods ? o.creates_1 : o.pods / 5;
      run_load(&et_t, 1, n1, gen_etcd_put, &pc, 200, &raw1);
      print_load("raw PUT, 1 client:", &raw1);
      pc.id_base = 100;
      run_load(&et_t, 32, (o.pods - n1) / 32 > 0 ? (o.pods - n1) / 32 : 1,
               gen_etcd_put, &pc, 200, &raw32);
      print_load("raw PUT, 32 clients:", &raw32);
      fflush(stdout);
      run_store(&o, "etcd", h.endpoint, &et);
      etcd_stop(&h);
    }
  }

  double ratio = sq.c1.per_s / raw1.per_s;
  char b3_early[32];
  printf("\n%-32s %12s %12s %10s\n", "", "sqlite", "etcd", "sqlite/etcd");
  printf("(last column: sqlite's time over etcd's, below 1 = sqlite faster;\n"
         " rates are inverted to time; a p99 of < 200 samples is \"-\")\n");
  row("pod creates/s, 1 client", sq.c1.per_s, et.c1.per_s, "%.0f", RATE_RATIO);
  row("  create p50 ms, 1 client", sq.c1.p50, et.c1.p50, "%.2f", TIME_RATIO);
  row("  create p99 ms, 1 client", sq.c1.p99, et.c1.p99, "%.2f", TIME_RATIO);
  row("pod creates/s, 32 clients", sq.c32.per_s, et.c32.per_s, "%.0f",
      RATE_RATIO);
  row("  create p50 ms, 32 clients", sq.c32.p50, et.c32.p50, "%.2f",
      TIME_RATIO);
  row("  create p99 ms, 32 clients", sq.c32.p99, et.c32.p99, "%.2f",
      TIME_RATIO);
  row("  kubed CPU us/create, 1 client", sq.cpu_us_create_1, et.cpu_us_create_1,
      "%.0f", TIME_RATIO);
  row("  kubed CPU us/create, 32", sq.cpu_us_create_32, et.cpu_us_create_32,
      "%.0f", TIME_RATIO);
  row("pod bindings/s, 1 client", sq.bind.per_s, et.bind.per_s, "%.0f",
      RATE_RATIO);
  row("  kubed CPU us/binding", sq.cpu_us_bind_1, et.cpu_us_bind_1, "%.0f",
      TIME_RATIO);
  row("GET p50 ms", sq.get.p50, et.get.p50, "%.3f", TIME_RATIO);
  row("GET p99 ms", sq.get.p99, et.get.p99, "%.3f", TIME_RATIO);
  char lbl[64];
  snprintf(lbl, sizeof lbl, "LIST %d pods ms",
           sq.pods   ? sq.pods
           : et.pods ? et.pods
                     : o.pods);
  row(lbl, sq.list_ms, et.list_ms, "%.1f", TIME_RATIO);
  snprintf(lbl, sizeof lbl, "watch fan-out p50 ms (%d)", o.watchers);
  row(lbl, sq.fan_p50, et.fan_p50, "%.2f", TIME_RATIO);
  snprintf(lbl, sizeof lbl, "watch fan-out p99 ms (%d)", o.watchers);
  row(lbl, sq.fan_p99, et.fan_p99, "%.2f", TIME_RATIO);
  snprintf(lbl, sizeof lbl, "watch fan-out max ms (%d)", o.watchers);
  row(lbl, sq.fan_max, et.fan_max, "%.2f", TIME_RATIO);
  row("  its POST answered in ms", sq.fan_write_ms, et.fan_write_ms, "%.2f",
      TIME_RATIO);
  row("kubed idle RSS MiB", sq.rss_idle, et.rss_idle, "%.1f", NO_RATIO);
  printf("\n%-32s %12s %12s\n", "(sqlite, 8 clients)", "unix", "TLS");
  row("GET/s", tu_unix.per_s, tu_tls.per_s, "%.0f", NO_RATIO);
  row("  GET p50 ms", tu_unix.p50, tu_tls.p50, "%.3f", NO_RATIO);
  row("  GET p99 ms", tu_unix.p99, tu_tls.p99, "%.3f", NO_RATIO);
  row("  kubed CPU us per GET", cu_unix.server_us, cu_tls.server_us, "%.1f",
      NO_RATIO);
  row("  client CPU us per GET", cu_unix.client_us, cu_tls.client_us, "%.1f",
      NO_RATIO);
  double ratio_tls = tu_unix.per_s / tu_tls.per_s;
  double ratio_cpu = (cu_tls.server_us + cu_tls.client_us) /
                     (cu_unix.server_us + cu_unix.client_us);
  printf("ratio_tls_vs_unix_get (time per GET, TLS / unix): %s (goal <= 1.5)\n",
         fmt_num(b3_early, sizeof b3_early, ratio_tls, "x%.2f"));
  printf("ratio_tls_vs_unix_get_cpu (kubed + client CPU per GET): %s\n",
         fmt_num(b3_early, sizeof b3_early, ratio_cpu, "x%.2f"));
  row("kubed RSS after runs MiB", sq.rss_loaded, et.rss_loaded, "%.1f",
      NO_RATIO);
  char b1[32], b2[32], b3[32];
  printf("raw etcd PUT/s (v3 JSON gateway): %s with 1 client, %s with 32\n",
         fmt_num(b1, sizeof b1, raw1.per_s, "%.0f"),
         fmt_num(b2, sizeof b2, raw32.per_s, "%.0f"));
  printf("kubed(sqlite) creates / raw etcd puts, 1 client: %s "
         "(target >= 10)\n",
         fmt_num(b3, sizeof b3, ratio, "x%.2f"));
  printf("kubed idle RSS (sqlite): %s MiB (target <= 20)\n",
         fmt_num(b1, sizeof b1, sq.rss_idle, "%.1f"));
  printf("load average: %.2f at the start, %.2f at the end (figures from a "
         "busy machine are noisy)\n",
         load_start, loadavg1());
  if (sq.c1.errors + sq.c32.errors + et.c1.errors + et.c32.errors)
    printf("NOTE: some creates failed (see above)\n");
  fflush(stdout);

  if (json) {
    struct json j = {.first = true};
    printf("{");
    jstr(&j, "date", date);
    jstr(&j, "machine", mach);
    jkey(&j, "loadavg_start", load_start);
    jkey(&j, "loadavg_end", loadavg1());
    jint(&j, "pods", o.pods);
    jint(&j, "watchers", o.watchers);
    jstr(&j, "kubed_flags", o.extra ? o.extra : "");
    json_store(&j, "sqlite", &sq);
    json_store(&j, "etcd", &et);
    json_store(&j, "memory", &mem);
    jkey(&j, "etcd_raw_puts_per_s_1", raw1.per_s);
    jkey(&j, "etcd_raw_p99_ms_1", raw1.p99);
    jkey(&j, "etcd_raw_puts_per_s_32", raw32.per_s);
    jkey(&j, "etcd_raw_p99_ms_32", raw32.p99);
    /* kubed(sqlite) creates/s over raw etcd puts/s, one client: a rate
     * ratio (the DESIGN target >= 10); its time ratio beside it. */
    jkey(&j, "sqlite_creates_per_s_1_over_etcd_raw_puts_per_s_1", ratio);
    jkey(&j, "ratio_sqlite_create_vs_etcd_raw_put_1", 1 / ratio);
    jkey(&j, "ratio_sqlite_vs_etcd_create_32", et.c32.per_s / sq.c32.per_s);
    jkey(&j, "kubed_idle_rss_mb", sq.rss_idle);
    jkey(&j, "kubed_idle_rss_mb_etcd", et.rss_idle);
    jkey(&j, "get_per_s_unix_8", tu_unix.per_s);
    jkey(&j, "get_per_s_tls_8", tu_tls.per_s);
    jkey(&j, "get_p50_ms_unix_8", tu_unix.p50);
    jkey(&j, "get_p50_ms_tls_8", tu_tls.p50);
    jkey(&j, "ratio_tls_vs_unix_get", ratio_tls);
    jkey(&j, "kubed_cpu_us_get_unix_8", cu_unix.server_us);
    jkey(&j, "kubed_cpu_us_get_tls_8", cu_tls.server_us);
    jkey(&j, "client_cpu_us_get_unix_8", cu_unix.client_us);
    jkey(&j, "client_cpu_us_get_tls_8", cu_tls.client_us);
    jkey(&j, "ratio_tls_vs_unix_get_cpu", ratio_cpu);
    printf("}\n");
  }
  return sq.ran || et.ran || !isnan(tu_tls.per_s) ? 0 : 1;
}
