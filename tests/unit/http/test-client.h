/* SPDX-License-Identifier: Apache-2.0 */
/* Raw-socket HTTP client helpers for the tests of the http module and of
 * the API server's extension points (blocking sockets, bounded waits). */
#ifndef KUBE_TEST_HTTP_CLIENT_H
#define KUBE_TEST_HTTP_CLIENT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <libkube/core.h>

static inline int tcp_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  return fd;
}

static inline int unix_connect(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  return fd;
}

static inline void send_str(int fd, const char *s, size_t n) {
  while (n) {
    ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
    if (w <= 0)
      return;
    s += w;
    n -= (size_t)w;
  }
}
#define SEND(fd, s) send_str((fd), (s), strlen(s))

/* Read until `until` appears, EOF, or timeout_ms.  Returns bytes read. */
static inline size_t read_until(int fd, char *buf, size_t cap,
                                const char *until, int timeout_ms) {
  size_t len = 0;
  buf[0] = '\0';
  int64_t deadline = kube_time_mono_ns() + (int64_t)timeout_ms * 1000000;
  while (len + 1 < cap) {
    if (until && strstr(buf, until))
      break;
    int left = (int)((deadline - kube_time_mono_ns()) / 1000000);
    if (left <= 0)
      break;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, left) <= 0)
      break;
    ssize_t r = recv(fd, buf + len, cap - 1 - len, 0);
    if (r <= 0)
      break;
    len += (size_t)r;
    buf[len] = '\0';
  }
  return len;
}

/* True when the peer closed (EOF or reset) within timeout_ms. */
static inline bool closed_within(int fd, int timeout_ms) {
  int64_t deadline = kube_time_mono_ns() + (int64_t)timeout_ms * 1000000;
  char b[4096];
  for (;;) {
    int left = (int)((deadline - kube_time_mono_ns()) / 1000000);
    if (left <= 0)
      return false;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, left) <= 0)
      return false;
    ssize_t r = recv(fd, b, sizeof b, 0);
    if (r <= 0)
      return true;
  }
}

#endif /* KUBE_TEST_HTTP_CLIENT_H */
