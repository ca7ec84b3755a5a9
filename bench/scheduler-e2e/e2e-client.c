/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-scheduler-e2e's plumbing: a minimal blocking HTTP/1.1 client over
 * loopback (keep-alive, Content-Length answers, chunked watch bodies read
 * by the caller) and starting / stopping a kubed server in a temporary
 * directory.
 */
#include "e2e-client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int conn_open(struct conn *c, int port) {
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

void conn_close(struct conn *c) {
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

int send_request(struct conn *c, const char *method, const char *path,
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

int fill(struct conn *c) {
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
int read_response(struct conn *c, char *out, size_t cap) {
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

int do_request(struct conn *c, const char *method, const char *path,
               const char *body, char *out, size_t cap) {
  if (send_request(c, method, path, body) < 0)
    return -1;
  return read_response(c, out, cap);
}

/* ---- kubed ---- */

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

int kubed_start(struct kubed *k, const char *bin, const char *store,
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
    const char *argv[] = {bin, "server", "--data-dir", data, "--listen", listen,
                          "--listen", sock, "--store", store, "--token", TOKEN,
                          "--plain-http", "--no-node", "--log-level",
                          level ? level : "warning", "--no-registry",
                          /* scheduler_perf's setting: no node-lifecycle
                           * controller to taint Nodes without Leases,
                           * no leader election. */
                          "--no-controllers", "--leader-elect=false",
                          no_scheduler ? "--no-scheduler" : NULL, NULL};
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

long kubed_rss_kb(pid_t pid) {
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

void kubed_stop(struct kubed *k, bool keep) {
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
