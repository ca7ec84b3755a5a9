/* SPDX-License-Identifier: Apache-2.0 */
#include "etcd-harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

bool etcd_available(void) {
  return access(ETCD_BINARY, X_OK) == 0;
}

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(a);
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
    close(fd);
    return -1;
  }
  close(fd);
  return ntohs(a.sin_port);
}

/* One blocking GET /health; true when etcd says it is healthy. */
static bool healthy(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return false;
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons(port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  struct timeval tv = {.tv_sec = 1};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  bool ok = false;
  if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
    const char req[] = "GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, req, sizeof(req) - 1) == (ssize_t)sizeof(req) - 1) {
      char buf[1024];
      size_t n = 0;
      ssize_t r;
      while (n < sizeof(buf) - 1 &&
             (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
        n += r;
      buf[n] = '\0';
      ok = strstr(buf, "\"health\":\"true\"") != NULL;
    }
  }
  close(fd);
  return ok;
}

/* Start etcd on h->port / h->peer_port with the data in h->dir; wait until
 * healthy.  Returns 0, or -1 (and h->pid = -1) when it did not come up. */
static int launch(struct etcd_harness *h) {
  char curl[64], purl[64], cluster[96], data[300], log[300];
  snprintf(curl, sizeof(curl), "http://127.0.0.1:%d", h->port);
  snprintf(purl, sizeof(purl), "http://127.0.0.1:%d", h->peer_port);
  snprintf(cluster, sizeof(cluster), "default=%s", purl);
  snprintf(data, sizeof(data), "%s/data", h->dir);
  snprintf(log, sizeof(log), "%s/etcd.log", h->dir);
  snprintf(h->endpoint, sizeof(h->endpoint), "%s", curl);
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    /* Never outlive the test or bench that started it. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execl(ETCD_BINARY, ETCD_BINARY, "--name", "default", "--data-dir", data,
          "--listen-client-urls", curl, "--advertise-client-urls", curl,
          "--listen-peer-urls", purl, "--initial-advertise-peer-urls", purl,
          "--initial-cluster", cluster, "--log-level", "error", (char *)NULL);
    _exit(127);
  }
  h->pid = pid;
  for (int i = 0; i < 200; i++) {
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      h->pid = -1;
      return -1; /* died (port taken?) */
    }
    if (healthy(h->port))
      return 0;
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  kill(h->pid, SIGKILL);
  waitpid(h->pid, NULL, 0);
  h->pid = -1;
  return -1;
}

int etcd_start(struct etcd_harness *h, const char *base_dir) {
  memset(h, 0, sizeof(*h));
  h->pid = -1;
  const char *tmp = base_dir ? base_dir : getenv("TMPDIR");
  snprintf(h->dir, sizeof(h->dir), "%s/kube-etcd-XXXXXX", tmp ? tmp : "/tmp");
  if (!mkdtemp(h->dir)) {
    fprintf(stderr, "etcd: mkdtemp: %s\n", strerror(errno));
    return -1;
  }
  for (int attempt = 0; attempt < 3; attempt++) {
    h->port = free_port();
    h->peer_port = free_port();
    if (h->port < 0 || h->peer_port < 0 || h->port == h->peer_port)
      continue;
    if (launch(h) == 0)
      return 0;
  }
  fprintf(stderr, "etcd did not become healthy (log in %s/etcd.log)\n", h->dir);
  return -1;
}

int etcd_restart(struct etcd_harness *h) {
  if (h->pid > 0) {
    kill(h->pid, SIGKILL);
    waitpid(h->pid, NULL, 0);
    h->pid = -1;
  }
  return launch(h);
}

/* Just kill (tests of an unreachable etcd); etcd_restart brings it back. */
void etcd_kill(struct etcd_harness *h) {
  if (h->pid > 0) {
    kill(h->pid, SIGKILL);
    waitpid(h->pid, NULL, 0);
    h->pid = -1;
  }
}

int etcd_post(const struct etcd_harness *h, const char *path, const char *body,
              char *resp, size_t resp_len) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons(h->port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  struct timeval tv = {.tv_sec = 10};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
    close(fd);
    return -1;
  }
  char head[256];
  int n = snprintf(head, sizeof(head),
                   "POST %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: "
                   "application/json\r\nContent-Length: %zu\r\n\r\n",
                   path, strlen(body));
  if (write(fd, head, n) != n ||
      write(fd, body, strlen(body)) != (ssize_t)strlen(body)) {
    close(fd);
    return -1;
  }
  char buf[65536];
  size_t got = 0;
  ssize_t r;
  while (got < sizeof(buf) - 1 &&
         (r = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
    got += r;
  buf[got] = '\0';
  close(fd);
  int code = -1;
  if (sscanf(buf, "HTTP/%*d.%*d %d", &code) != 1)
    return -1;
  const char *b = strstr(buf, "\r\n\r\n");
  if (resp && resp_len)
    snprintf(resp, resp_len, "%s", b ? b + 4 : "");
  return code;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw) {
  return remove(path);
}

void etcd_stop(struct etcd_harness *h) {
  if (h->pid > 0) {
    kill(h->pid, SIGKILL);
    waitpid(h->pid, NULL, 0);
    h->pid = -1;
  }
  if (h->dir[0]) {
    nftw(h->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    h->dir[0] = '\0';
  }
}
