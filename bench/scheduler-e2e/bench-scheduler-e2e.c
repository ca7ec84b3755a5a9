/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-scheduler-e2e: the scheduler measured end to end, in the shape of
 * kube-scheduler's scheduling throughput benchmark (≈ 680 pods/s there).
 *
 * Starts `kubed server` (sqlite store by default, plain HTTP on loopback,
 * the in-process scheduler loop running), creates N Node objects (default
 * 5,000: 4 CPUs, 32Gi, 110 pods) through the API, then P pods (default
 * 10,000: 100m, 500Mi) from C client threads over keep-alive connections,
 * while a watch on pods records when each pod gets its spec.nodeName.
 *
 *   e2e_pods_per_s = P / (time of the last binding - time of the first
 *                         create request)
 *
 * Prints a table; with --json one JSON object on its last line.
 *
 * usage: bench-scheduler-e2e [--kubed PATH] [--store sqlite|memory]
 *                            [--nodes N] [--pods P] [--clients C] [--json]
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

/* Read one Content-Length response.  Returns the status; the body (up to
 * `cap` - 1 bytes) goes to `out` when given. */
static int read_response(struct conn *c, char *out, size_t cap) {
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
  size_t got = 0;
  memmove(c->buf, c->buf + hlen, c->len - hlen);
  c->len -= hlen;
  while (got < clen) {
    if (!c->len && fill(c) < 0)
      return -1;
    size_t take = c->len < clen - got ? c->len : clen - got;
    if (out && got < cap - 1) {
      size_t k = take < cap - 1 - got ? take : cap - 1 - got;
      memcpy(out + got, c->buf, k);
      out[got + k] = '\0';
    }
    got += take;
    memmove(c->buf, c->buf + take, c->len - take);
    c->len -= take;
  }
  return status;
}

static int do_request(struct conn *c, const char *method, const char *path,
                      const char *body, char *out, size_t cap) {
  if (send_request(c, method, path, body) < 0)
    return -1;
  return read_response(c, out, cap);
}

/* ---- kubed ---- */

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
                       bool no_scheduler) {
  const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(k->dir, sizeof k->dir, "%s/bench-sched-e2e-XXXXXX", tmp);
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
    const char *level = getenv("BENCH_KUBED_LOG_LEVEL");
    const char *argv[] = {bin,
                          "server",
                          "--data-dir",
                          data,
                          "--listen",
                          listen,
                          "--listen",
                          sock,
                          "--store",
                          store,
                          "--token",
                          TOKEN,
                          "--plain-http",
                          "--log-level",
                          level ? level : "warning",
                          no_scheduler ? "--disable-scheduler" : NULL,
                          NULL};
    execv(bin, (char *const *)argv);
    _exit(127);
  }
  for (int i = 0; i < 200; i++) {
    struct conn c;
    if (conn_open(&c, k->port) == 0) {
      int st = do_request(&c, "GET", "/readyz", NULL, NULL, 0);
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

static long kubed_rss_kb(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "re");
  long kb = -1;
  if (!f)
    return -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0)
      kb = strtol(line + 6, NULL, 10);
  fclose(f);
  return kb;
}

/* CPU seconds (user + system) the process used so far. */
static double proc_cpu_s(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "re");
  if (!f)
    return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  const char *p = strrchr(buf, ')');
  unsigned long ut = 0, st = 0;
  /* fields after the command: state(3) ... utime(14) stime(15) */
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                   &ut, &st) != 2)
    return 0;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void kubed_stop(struct kubed *k, bool keep) {
  if (k->pid > 0) {
    kill(k->pid, SIGTERM);
    waitpid(k->pid, NULL, 0);
  }
  k->pid = -1;
  if (keep)
    fprintf(stderr, "bench-scheduler-e2e: kept %s\n", k->dir);
  else
    rm_rf(k->dir);
}

/* ---- workload ---- */

static const char *NODE_FMT =
    "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":"
    "\"node-%d\",\"labels\":{\"kubernetes.io/hostname\":\"node-%d\","
    "\"topology.kubernetes.io/zone\":\"zone-%d\"}},\"spec\":{},\"status\":{"
    "\"capacity\":{\"cpu\":\"4\",\"memory\":\"32Gi\",\"pods\":\"110\"},"
    "\"allocatable\":{\"cpu\":\"4\",\"memory\":\"32Gi\",\"pods\":\"110\"},"
    "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}";

static const char *POD_FMT =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
    "\"p-%d\",\"namespace\":\"bench\",\"labels\":{\"app\":\"bench\"}},"
    "\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":"
    "\"registry.k8s.io/pause:3.10\",\"resources\":{\"requests\":{"
    "\"cpu\":\"100m\",\"memory\":\"500Mi\"}}}]}}";

struct worker {
  int port;
  int first, count, step; /* objects first, first+step, ... */
  bool nodes;
  int errors;
  int64_t done_ns;
};

static void *create_worker(void *arg) {
  struct worker *w = arg;
  struct conn *c = malloc(sizeof *c);
  if (!c || conn_open(c, w->port) < 0) {
    w->errors = w->count;
    free(c);
    return NULL;
  }
  char body[1024], err[512];
  for (int i = 0; i < w->count; i++) {
    int id = w->first + i * w->step;
    const char *path;
    if (w->nodes) {
      snprintf(body, sizeof body, NODE_FMT, id, id, id % 10);
      path = "/api/v1/nodes";
    } else {
      snprintf(body, sizeof body, POD_FMT, id);
      path = "/api/v1/namespaces/bench/pods";
    }
    int st = do_request(c, "POST", path, body, err, sizeof err);
    if (st != 201) {
      if (w->errors++ < 3)
        fprintf(stderr, "bench-scheduler-e2e: create answered %d: %.200s\n", st,
                err);
      if (st < 0) {
        conn_close(c);
        if (conn_open(c, w->port) < 0)
          break;
      }
    }
  }
  w->done_ns = now_ns();
  conn_close(c);
  free(c);
  return NULL;
}

static int run_creates(int port, bool nodes, int total, int clients,
                       int64_t *last_done) {
  pthread_t th[256];
  struct worker ws[256];
  if (clients > 256)
    clients = 256;
  for (int i = 0; i < clients; i++) {
    ws[i] = (struct worker){.port = port,
                            .first = i,
                            .count = total / clients + (i < total % clients),
                            .step = clients,
                            .nodes = nodes};
    pthread_create(&th[i], NULL, create_worker, &ws[i]);
  }
  int errors = 0;
  int64_t last = 0;
  for (int i = 0; i < clients; i++) {
    pthread_join(th[i], NULL);
    errors += ws[i].errors;
    if (ws[i].done_ns > last)
      last = ws[i].done_ns;
  }
  if (last_done)
    *last_done = last;
  return errors;
}

/* ---- the watch that sees bindings ---- */

struct watch {
  int port;
  int pods;
  const char *rv;
  unsigned char *bound; /* per pod index */
  int n_bound;
  int64_t first_ns, last_ns;
  int64_t deadline_ns;
  int ready; /* the stream is open */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int fd;
};

/* One watch line: count a pod the first time it shows a nodeName. */
static void watch_line(struct watch *w, const char *line, size_t len) {
  const char *name = memmem(line, len, "\"name\":\"p-", 10);
  const char *node = memmem(line, len, "\"nodeName\":\"", 12);
  if (!name || !node)
    return;
  int idx = atoi(name + 10);
  if (idx < 0 || idx >= w->pods || w->bound[idx])
    return;
  w->bound[idx] = 1;
  int64_t t = now_ns();
  if (!w->n_bound)
    w->first_ns = t;
  w->last_ns = t;
  w->n_bound++;
}

static void *watch_thread(void *arg) {
  struct watch *w = arg;
  struct conn *c = malloc(sizeof *c);
  char *line = malloc(1 << 20);
  size_t llen = 0;
  if (!c || !line || conn_open(c, w->port) < 0)
    goto out;
  char path[256];
  snprintf(path, sizeof path,
           "/api/v1/namespaces/bench/pods?watch=1&resourceVersion=%s", w->rv);
  if (send_request(c, "GET", path, NULL) < 0)
    goto out;
  char *end;
  while (!(end = memmem(c->buf, c->len, "\r\n\r\n", 4)))
    if (fill(c) < 0)
      goto out;
  size_t hlen = (size_t)(end - c->buf) + 4;
  memmove(c->buf, c->buf + hlen, c->len - hlen);
  c->len -= hlen;
  pthread_mutex_lock(&w->mu);
  w->ready = 1;
  pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->mu);
  /* Chunked body: "<hex>\r\n<data>\r\n" ... */
  size_t chunk_left = 0;
  bool in_chunk = false;
  while (w->n_bound < w->pods && now_ns() < w->deadline_ns) {
    if (!in_chunk) {
      char *crlf = memmem(c->buf, c->len, "\r\n", 2);
      if (!crlf) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        if (poll(&pfd, 1, 200) > 0 && fill(c) < 0)
          break;
        continue;
      }
      chunk_left = strtoull(c->buf, NULL, 16);
      size_t skip = (size_t)(crlf - c->buf) + 2;
      memmove(c->buf, c->buf + skip, c->len - skip);
      c->len -= skip;
      if (!chunk_left)
        break;
      in_chunk = true;
    }
    if (!c->len) {
      struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
      if (poll(&pfd, 1, 200) > 0 && fill(c) < 0)
        break;
      continue;
    }
    size_t take = c->len < chunk_left ? c->len : chunk_left;
    for (size_t i = 0; i < take; i++) {
      char ch = c->buf[i];
      if (ch == '\n') {
        watch_line(w, line, llen);
        llen = 0;
      } else if (llen < (1 << 20) - 1) {
        line[llen++] = ch;
      }
    }
    memmove(c->buf, c->buf + take, c->len - take);
    c->len -= take;
    chunk_left -= take;
    if (!chunk_left) {
      /* the CRLF after the chunk */
      while (c->len < 2)
        if (fill(c) < 0)
          goto out;
      memmove(c->buf, c->buf + 2, c->len - 2);
      c->len -= 2;
      in_chunk = false;
    }
  }
out:
  pthread_mutex_lock(&w->mu);
  w->ready = w->ready ? w->ready : -1;
  pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->mu);
  if (c)
    conn_close(c);
  free(c);
  free(line);
  return NULL;
}

/* ---- main ---- */

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
#else
  snprintf(out, len, "kubed");
#endif
}

static void usage(FILE *f) {
  fprintf(f, "usage: bench-scheduler-e2e [--kubed PATH] [--store sqlite|memory]"
             " [--nodes N] [--pods P] [--clients C] [--no-scheduler] [--keep]"
             " [--json]\n");
}

int main(int argc, char **argv) {
  char kubed_path[4200] = "";
  const char *store = "sqlite";
  int nodes = 5000, pods = 10000, clients = 8;
  bool json = false, keep = false, no_scheduler = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--json") == 0) {
      json = true;
    } else if (strcmp(a, "--no-scheduler") == 0) {
      no_scheduler = true; /* creates only: what the API alone sustains */
    } else if (strcmp(a, "--keep") == 0) {
      keep = true;
    } else if (strcmp(a, "--kubed") == 0 && v) {
      snprintf(kubed_path, sizeof kubed_path, "%s", v);
      i++;
    } else if (strcmp(a, "--store") == 0 && v) {
      store = v;
      i++;
    } else if (strcmp(a, "--nodes") == 0 && v) {
      nodes = atoi(v);
      i++;
    } else if (strcmp(a, "--pods") == 0 && v) {
      pods = atoi(v);
      i++;
    } else if (strcmp(a, "--clients") == 0 && v) {
      clients = atoi(v);
      i++;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (nodes < 1 || pods < 1 || clients < 1) {
    usage(stderr);
    return 2;
  }
  if (!kubed_path[0])
    default_kubed(kubed_path, sizeof kubed_path);
  if (access(kubed_path, X_OK) < 0) {
    fprintf(stderr, "bench-scheduler-e2e: no kubed at %s (use --kubed)\n",
            kubed_path);
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  struct kubed k = {0};
  if (kubed_start(&k, kubed_path, store, no_scheduler) < 0) {
    fprintf(stderr, "bench-scheduler-e2e: kubed did not start (log in %s)\n",
            k.dir);
    return 1;
  }
  int rc = 1;
  struct conn c;
  char body[4096];
  if (conn_open(&c, k.port) < 0)
    goto out;
  do_request(&c, "POST", "/api/v1/namespaces",
             "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":"
             "{\"name\":\"bench\"}}",
             NULL, 0);

  int64_t t_nodes = now_ns();
  int node_errors = run_creates(k.port, true, nodes, clients, NULL);
  double node_s = (double)(now_ns() - t_nodes) / 1e9;

  /* The watch starts from the revision after the nodes. */
  int st = do_request(&c, "GET", "/api/v1/namespaces/bench/pods?limit=1", NULL,
                      body, sizeof body);
  char rv[64] = "0";
  const char *p = strstr(body, "\"resourceVersion\":\"");
  if (st == 200 && p)
    sscanf(p + 19, "%63[0-9]", rv);
  conn_close(&c);
  /* Let the scheduler's node informer take in every node first. */
  usleep(300000);

  struct watch w = {.port = k.port, .pods = pods, .rv = rv};
  w.bound = calloc((size_t)pods, 1);
  pthread_mutex_init(&w.mu, NULL);
  pthread_cond_init(&w.cv, NULL);
  w.deadline_ns = now_ns() + (int64_t)300 * 1000000000;
  if (no_scheduler)
    w.pods = 0; /* nothing will be bound: do not wait */
  pthread_t wt;
  pthread_create(&wt, NULL, watch_thread, &w);
  pthread_mutex_lock(&w.mu);
  while (!w.ready)
    pthread_cond_wait(&w.cv, &w.mu);
  pthread_mutex_unlock(&w.mu);

  double cpu0 = proc_cpu_s(k.pid);
  int64_t t0 = now_ns();
  int64_t creates_done = 0;
  int pod_errors = run_creates(k.port, false, pods, clients, &creates_done);
  pthread_join(wt, NULL);
  long rss = kubed_rss_kb(k.pid);
  double cpu = proc_cpu_s(k.pid) - cpu0;

  double create_s = (double)(creates_done - t0) / 1e9;
  double e2e_s = w.n_bound ? (double)(w.last_ns - t0) / 1e9 : 0;
  double e2e = e2e_s > 0 ? (double)w.n_bound / e2e_s : 0;
  double first_ms = w.n_bound ? (double)(w.first_ns - t0) / 1e6 : 0;
  double tail_ms = w.n_bound ? (double)(w.last_ns - creates_done) / 1e6 : 0;
  printf("bench-scheduler-e2e: kubed server, %s store, %d clients\n", store,
         clients);
  printf("  %-34s %10d  (%.2f s, %.0f/s, %d errors)\n", "nodes created", nodes,
         node_s, node_s > 0 ? nodes / node_s : 0, node_errors);
  printf("  %-34s %10d  (%.2f s, %.0f/s, %d errors)\n", "pods created", pods,
         create_s, create_s > 0 ? pods / create_s : 0, pod_errors);
  printf("  %-34s %10d\n", "pods bound (seen on a watch)", w.n_bound);
  printf("  %-34s %10.1f ms\n", "first binding after first create", first_ms);
  printf("  %-34s %10.1f ms\n", "last binding after last create", tail_ms);
  printf("  %-34s %10.2f s\n", "first create -> last binding", e2e_s);
  printf("  %-34s %10.0f pods/s  (target >= 5000; kube-scheduler ~680)\n",
         "e2e scheduling throughput", e2e);
  printf("  %-34s %10ld kB\n", "kubed RSS after", rss);
  printf("  %-34s %10.2f s  (%.0f us per pod)\n", "kubed CPU during the pods",
         cpu, pods ? cpu * 1e6 / pods : 0);
  if (json)
    printf("{\"bench\":\"scheduler-e2e\",\"store\":\"%s\",\"nodes\":%d,"
           "\"pods\":%d,\"clients\":%d,\"pods_bound\":%d,"
           "\"create_pods_per_s\":%.1f,\"e2e_seconds\":%.3f,"
           "\"e2e_pods_per_s\":%.1f,\"first_binding_ms\":%.1f,"
           "\"last_binding_after_creates_ms\":%.1f,\"kubed_rss_kb\":%ld,"
           "\"kubed_cpu_us_per_pod\":%.1f}\n",
           store, nodes, pods, clients, w.n_bound,
           create_s > 0 ? pods / create_s : 0, e2e_s, e2e, first_ms, tail_ms,
           rss, pods ? cpu * 1e6 / pods : 0);
  rc = w.n_bound == pods && !pod_errors && !node_errors ? 0 : 1;
  free(w.bound);
out:
  kubed_stop(&k, keep);
  return rc;
}
