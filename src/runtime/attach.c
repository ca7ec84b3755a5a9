/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The client side of the monitor's attach socket (<state>/<id>/attach,
 * SOCK_SEQPACKET): attach sessions and the one-shot requests (resize,
 * close stdin, reopen the log).  Any process may connect, so a restarted
 * caller reaches containers it did not create.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include "runtime/internal.h"

struct kube_rt_attach {
  int fd;
  bool terminal;
  size_t off, len; /* undelivered part of the last message */
  char buf[ATT_MAX_DATA + 8];
};

/* Connect to the container's monitor; fills *terminal. */
static int connect_monitor(kube_runtime_t *rt, const char *id, bool *terminal,
                           kube_error_t *err) {
  int dirfd = rt_open_container(rt, id, err);
  if (dirfd < 0)
    return -1;
  struct rt_state st;
  if (rt_state_read(dirfd, &st, err) < 0) {
    close(dirfd);
    return -1;
  }
  if (terminal)
    *terminal = st.terminal;
  if (!st.attachable) {
    close(dirfd);
    return kube_error_set(err, KUBE_REASON_CONFLICT, 0,
                          "container \"%s\": its stdio is not kept by a "
                          "monitor (create it with a log, open stdin or "
                          "attachable)",
                          id);
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d/attach", dirfd);
  kube_error_t e = KUBE_ERROR_INIT;
  int fd = rt_unix_connect(path, SOCK_SEQPACKET, &e);
  close(dirfd);
  if (fd < 0) {
    kube_error_set(err, KUBE_REASON_CONFLICT, e.errnum,
                   "container \"%s\" is not running (%s)", id, e.message);
    kube_error_clear(&e);
    return -1;
  }
  return fd;
}

static int send_msg(int fd, char type, const void *data, size_t len,
                    kube_error_t *err) {
  struct iovec iov[2] = {{&type, 1}, {(void *)data, len}};
  struct msghdr msg = {.msg_iov = iov, .msg_iovlen = data ? 2 : 1};
  ssize_t n;
  do
    n = sendmsg(fd, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return kube_error_set(
        err,
        errno == EPIPE || errno == ECONNRESET ? KUBE_REASON_CONFLICT
                                              : KUBE_REASON_INTERNAL,
        errno, "attach: %s",
        errno == EPIPE ? "the container exited" : strerror(errno));
  return 0;
}

/* Wait for the monitor's answer to a request (other frames skipped). */
static int wait_ack(int fd, const char *what, kube_error_t *err) {
  char buf[ATT_MAX_DATA + 8];
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, 10000);
    if (r < 0 && errno == EINTR)
      continue;
    if (r == 0)
      return kube_error_set(err, KUBE_REASON_TIMEOUT, ETIMEDOUT,
                            "%s: the monitor did not answer", what);
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return kube_error_set(err, KUBE_REASON_CONFLICT, 0,
                            "%s: the container exited", what);
    if (buf[0] != ATT_ACK || n < 5)
      continue;
    int e;
    memcpy(&e, buf + 1, sizeof e);
    if (e)
      return kube_error_set(
          err, e == ENOTTY ? KUBE_REASON_BAD_REQUEST : KUBE_REASON_INTERNAL, e,
          "%s: %s", what,
          e == ENOTTY ? "the container has no terminal" : strerror(e));
    return 0;
  }
}

static int one_shot(kube_runtime_t *rt, const char *id, char type,
                    const void *data, size_t len, const char *what,
                    kube_error_t *err) {
  int fd = connect_monitor(rt, id, NULL, err);
  if (fd < 0)
    return -1;
  int rc = send_msg(fd, type, data, len, err);
  if (rc == 0)
    rc = wait_ack(fd, what, err);
  close(fd);
  return rc;
}

KUBE_EXPORT int kube_runtime_resize(kube_runtime_t *rt, const char *id,
                                    unsigned short rows, unsigned short cols,
                                    kube_error_t *err) {
  unsigned short rc[2] = {rows, cols};
  return one_shot(rt, id, ATT_RESIZE, rc, sizeof rc, "resize", err);
}

KUBE_EXPORT int kube_runtime_close_stdin(kube_runtime_t *rt, const char *id,
                                         kube_error_t *err) {
  return one_shot(rt, id, ATT_CLOSE, NULL, 0, "close stdin", err);
}

KUBE_EXPORT int kube_runtime_reopen_log(kube_runtime_t *rt, const char *id,
                                        kube_error_t *err) {
  return one_shot(rt, id, ATT_REOPEN, NULL, 0, "reopen log", err);
}

KUBE_EXPORT int kube_runtime_attach(kube_runtime_t *rt, const char *id,
                                    const kube_attach_options_t *o,
                                    kube_rt_attach_t **out, kube_error_t *err) {
  *out = NULL;
  kube_rt_attach_t *a = calloc(1, sizeof *a);
  if (!a)
    return kube_make_oom(err);
  a->fd = connect_monitor(rt, id, &a->terminal, err);
  if (a->fd < 0) {
    free(a);
    return -1;
  }
  unsigned char want = 0;
  if (!o || o->stdout)
    want |= ATT_WANT_STDOUT;
  if (!o || o->stderr)
    want |= ATT_WANT_STDERR;
  if (o && o->stdin)
    want |= ATT_WANT_STDIN;
  /* The monitor acknowledges the hello once the session is registered:
   * output written after this returns reaches us (an attach made before
   * kube_runtime_start() sees everything). */
  if (send_msg(a->fd, ATT_HELLO, &want, 1, err) < 0 ||
      wait_ack(a->fd, "attach", err) < 0) {
    kube_rt_attach_free(a);
    return -1;
  }
  *out = a;
  return 0;
}

KUBE_EXPORT int kube_rt_attach_fd(const kube_rt_attach_t *a) {
  return a->fd;
}

KUBE_EXPORT bool kube_rt_attach_terminal(const kube_rt_attach_t *a) {
  return a->terminal;
}

KUBE_EXPORT ssize_t kube_rt_attach_read(kube_rt_attach_t *a, int *stream,
                                        void *buf, size_t len, int timeout_ms,
                                        kube_error_t *err) {
  while (a->off >= a->len) {
    struct pollfd p = {a->fd, POLLIN, 0};
    int r = poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return kube_make_error(err, errno, "attach: %s", strerror(errno));
    if (r == 0)
      return kube_error_set(err, KUBE_REASON_TIMEOUT, EAGAIN,
                            "attach: no output yet");
    ssize_t n = recv(a->fd, a->buf, sizeof a->buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (n < 0 && errno == ECONNRESET)
      n = 0;
    if (n < 0)
      return kube_make_error(err, errno, "attach: %s", strerror(errno));
    if (n == 0)
      return 0; /* the monitor hung up: the container exited */
    if (a->buf[0] != ATT_OUT && a->buf[0] != ATT_ERR)
      continue; /* acks of our resize/close requests */
    a->off = 1;
    a->len = (size_t)n;
  }
  size_t k = a->len - a->off < len ? a->len - a->off : len;
  memcpy(buf, a->buf + a->off, k);
  if (stream)
    *stream = a->buf[0] == ATT_OUT ? KUBE_RT_STDOUT : KUBE_RT_STDERR;
  a->off += k;
  return (ssize_t)k;
}

KUBE_EXPORT int kube_rt_attach_write(kube_rt_attach_t *a, const void *buf,
                                     size_t len, kube_error_t *err) {
  const char *p = buf;
  while (len) {
    size_t k = len > ATT_MAX_DATA ? ATT_MAX_DATA : len;
    if (send_msg(a->fd, ATT_STDIN, p, k, err) < 0)
      return -1;
    p += k;
    len -= k;
  }
  return 0;
}

KUBE_EXPORT int kube_rt_attach_close_stdin(kube_rt_attach_t *a,
                                           kube_error_t *err) {
  return send_msg(a->fd, ATT_CLOSE, NULL, 0, err);
}

KUBE_EXPORT int kube_rt_attach_resize(kube_rt_attach_t *a, unsigned short rows,
                                      unsigned short cols, kube_error_t *err) {
  unsigned short rc[2] = {rows, cols};
  return send_msg(a->fd, ATT_RESIZE, rc, sizeof rc, err);
}

KUBE_EXPORT void kube_rt_attach_free(kube_rt_attach_t *a) {
  if (!a)
    return;
  if (a->fd >= 0)
    close(a->fd);
  free(a);
}
