/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube_client_exec: exec and attach through pods/exec and pods/attach,
 * as kubectl 1.32 does it: WebSocket (v5.channel.k8s.io first), SPDY/3.1
 * when the WebSocket upgrade is refused; a poll loop joins the local
 * input, output and terminal size to the session of <libkube/stream.h>.
 */
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "client/internal.h"
#include "core/util.h"

/* Stop reading local input while this much is queued for the server. */
#define EXEC_IN_HIGH (1024 * 1024)

struct exec_run {
  const kube_client_exec_options_t *o;
  struct client_up u;
  kube_exec_client_t *sess;
  bool ready, done, exited, stdin_open, stopped;
  int exit_code;
  char *exit_message;
  kube_error_t done_err;
  kube_error_t out_err;
};

static int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && errno == EAGAIN) {
      struct pollfd pfd = {fd, POLLOUT, 0};
      poll(&pfd, 1, -1);
      continue;
    }
    if (w <= 0)
      return -1;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

static void output(struct exec_run *r, int stream, const void *buf,
                   size_t len) {
  int fd = stream == 1 ? r->o->stdout_fd : r->o->stderr_fd;
  if (fd >= 0) {
    if (write_all(fd, buf, len) < 0 && !kube_error_is_set(&r->out_err))
      kube_error_set(&r->out_err, KUBE_REASON_INTERNAL, errno, "write %s: %s",
                     stream == 1 ? "stdout" : "stderr", strerror(errno));
  } else if (r->o->output && r->o->output(r->o->arg, stream, buf, len)) {
    r->stopped = true;
  }
}

static void s_write(void *data, const void *buf, size_t len) {
  struct exec_run *r = data;
  client_up_queue(&r->u, buf, len);
}

static void s_ready(void *data) {
  struct exec_run *r = data;
  r->ready = true;
}

static void s_stdout(void *data, const void *buf, size_t len) {
  output(data, 1, buf, len);
}

static void s_stderr(void *data, const void *buf, size_t len) {
  output(data, 2, buf, len);
}

static void s_exit(void *data, int code, const char *message) {
  struct exec_run *r = data;
  r->exited = true;
  r->exit_code = code;
  free(r->exit_message);
  r->exit_message = message ? strdup(message) : NULL;
}

static void s_done(void *data, const kube_error_t *err) {
  struct exec_run *r = data;
  r->done = true;
  if (err && err->message)
    kube_error_set(&r->done_err, err->reason, err->errnum, "%s", err->message);
}

static const kube_exec_client_callbacks_t exec_cbs = {
    .version = KUBE_EXEC_CLIENT_CALLBACKS_VERSION,
    .write = s_write,
    .ready = s_ready,
    .stdout_data = s_stdout,
    .stderr_data = s_stderr,
    .exit = s_exit,
    .done = s_done,
};

static void send_size(struct exec_run *r) {
  struct winsize ws;
  if (r->o->tty_fd < 0 || ioctl(r->o->tty_fd, TIOCGWINSZ, &ws) < 0 ||
      !ws.ws_col || !ws.ws_row)
    return;
  kube_exec_client_resize(r->sess, ws.ws_col, ws.ws_row, NULL);
}

/* The first moment input may go: what was given in memory, the size. */
static void on_ready(struct exec_run *r) {
  const kube_client_exec_options_t *o = r->o;
  if (o->tty)
    send_size(r);
  if (o->stdin_ && o->stdin_fd < 0) {
    if (o->stdin_len)
      kube_exec_client_write_stdin(r->sess, o->stdin_data, o->stdin_len, NULL);
    kube_exec_client_close_stdin(r->sess, NULL);
  }
  r->stdin_open = o->stdin_ && o->stdin_fd >= 0;
}

static char *exec_query(const kube_client_exec_options_t *o) {
  kube_strbuf_t q = KUBE_STRBUF_INIT;
  kube_strbuf_append(&q, "");
  /* Keys in the order url.Values.Encode writes them (sorted). */
  for (size_t i = 0; o->command && o->command[i]; i++)
    client_query_add(&q, "command", o->command[i]);
  if (o->container)
    client_query_add(&q, "container", o->container);
  if (!o->tty)
    kube_strbuf_append(&q, "&stderr=true");
  if (o->stdin_)
    kube_strbuf_append(&q, "&stdin=true");
  kube_strbuf_append(&q, "&stdout=true");
  if (o->tty)
    kube_strbuf_append(&q, "&tty=true");
  if (q.oom) {
    kube_strbuf_clear(&q);
    return NULL;
  }
  char *s = kube_strbuf_steal(&q);
  if (s && s[0] == '&')
    memmove(s, s + 1, strlen(s));
  return s;
}

/* Upgrade with the transports `o` allows, as kubectl: WebSocket, then
 * SPDY when the WebSocket upgrade fails. */
static int connect_session(kube_client_t *c, struct exec_run *r,
                           const char *path, const char *query,
                           kube_error_t *err) {
  const kube_client_exec_options_t *o = r->o;
  kube_stream_transport_t order[2];
  size_t n = 0;
  if (o->transport != KUBE_CLIENT_STREAM_SPDY)
    order[n++] = KUBE_STREAM_WEBSOCKET;
  if (o->transport != KUBE_CLIENT_STREAM_WEBSOCKET)
    order[n++] = KUBE_STREAM_SPDY;
  kube_stream_upgrade_t up;
  if (client_up_connect(c, path, query, KUBE_STREAM_EXEC, order, n, &r->u, &up,
                        err) < 0)
    return -1;
  kube_exec_streams_t st = {.use_stdin = o->stdin_,
                            .use_stdout = true,
                            .use_stderr = !o->tty,
                            .tty = o->tty};
  if (!(r->sess = kube_exec_client_new(&up, &st, &exec_cbs, r, err)) ||
      kube_exec_client_start(r->sess, err) < 0)
    return -1;
  return 0;
}

static void feed(void *arg, const void *buf, size_t len) {
  struct exec_run *r = arg;
  kube_exec_client_feed(r->sess, buf, len, NULL);
}

static void eof(void *arg) {
  struct exec_run *r = arg;
  kube_exec_client_eof(r->sess);
}

static int pump_conn(struct exec_run *r, kube_error_t *err) {
  return client_up_pump(&r->u, feed, eof, r, &r->done, err);
}

static void pump_stdin(struct exec_run *r) {
  char buf[32768];
  ssize_t n = read(r->o->stdin_fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0) {
    r->stdin_open = false;
    kube_exec_client_close_stdin(r->sess, NULL);
    return;
  }
  kube_exec_client_write_stdin(r->sess, buf, (size_t)n, NULL);
}

static int run_loop(struct exec_run *r, kube_error_t *err) {
  const kube_client_exec_options_t *o = r->o;
  bool was_ready = false;
  while (!r->done && !r->stopped && !kube_error_is_set(&r->out_err)) {
    if (r->ready && !was_ready) {
      was_ready = true;
      on_ready(r);
    }
    if (client_up_flush(&r->u, err) < 0)
      return -1;
    if (client_up_buffered(&r->u)) {
      if (pump_conn(r, err) < 0)
        return -1;
      continue;
    }
    struct pollfd p[3];
    nfds_t np = 0;
    p[np++] = (struct pollfd){r->u.cn.fd, client_up_events(&r->u), 0};
    int in_idx = -1, rs_idx = -1;
    if (r->ready && r->stdin_open && client_up_pending(&r->u) < EXEC_IN_HIGH) {
      in_idx = (int)np;
      p[np++] = (struct pollfd){o->stdin_fd, POLLIN, 0};
    }
    if (o->tty && o->resize_fd >= 0) {
      rs_idx = (int)np;
      p[np++] = (struct pollfd){o->resize_fd, POLLIN, 0};
    }
    if (poll(p, np, -1) < 0) {
      if (errno == EINTR)
        continue;
      return kube_make_error(err, errno, "poll: %s", strerror(errno));
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR) && pump_conn(r, err) < 0)
      return -1;
    if (in_idx >= 0 && p[in_idx].revents & (POLLIN | POLLHUP | POLLERR))
      pump_stdin(r);
    if (rs_idx >= 0 && p[rs_idx].revents & POLLIN) {
      char drain[64];
      while (read(o->resize_fd, drain, sizeof drain) == sizeof drain) {
      }
      send_size(r);
    }
  }
  client_up_flush(&r->u, NULL);
  return 0;
}

KUBE_EXPORT int kube_client_exec(kube_client_t *c,
                                 const kube_client_exec_options_t *opts,
                                 int *exit_code, kube_error_t *err) {
  kube_client_exec_options_t o = {0};
  core_opts_copy(&o, opts);
  if (!o.pod || !*o.pod)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "exec: a pod name is required");
  bool attach = !o.command;
  cleanup_free char *path =
      kube_client_path(kube_kind_by_kind("v1", "Pod"),
                       o.namespace_ ? o.namespace_ : kube_client_namespace(c),
                       o.pod, attach ? "attach" : "exec");
  cleanup_free char *query = exec_query(&o);
  if (!path || !query)
    return kube_make_oom(err);
  struct exec_run r = {.o = &o};
  client_up_init(&r.u);
  int rc = connect_session(c, &r, path, query, err);
  if (rc == 0)
    rc = run_loop(&r, err);
  if (rc == 0 && kube_error_is_set(&r.out_err)) {
    kube_error_move(err, &r.out_err);
    rc = -1;
  }
  if (rc == 0 && !r.stopped) {
    if (r.exited && r.exit_code >= 0) {
      if (exit_code)
        *exit_code = r.exit_code;
    } else if (r.exited) {
      rc = kube_error_set(err, KUBE_REASON_INTERNAL, 0, "%s",
                          r.exit_message ? r.exit_message : "unknown error");
    } else {
      rc = kube_error_set(
          err, KUBE_REASON_SERVICE_UNAVAILABLE, ECONNRESET, "%s",
          r.done_err.message ? r.done_err.message : "connection lost");
    }
  } else if (rc == 0 && exit_code) {
    *exit_code = 0;
  }
  kube_exec_client_free(r.sess);
  client_up_close(&r.u);
  free(r.exit_message);
  kube_error_clear(&r.done_err);
  kube_error_clear(&r.out_err);
  return rc;
}
