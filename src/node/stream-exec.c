/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exec and attach: a remote command session (<libkube/stream.h>) on an
 * upgraded connection, joined to a process in the container
 * (kube_runtime_exec) or to the container's own stdio (kube_runtime_attach).
 *
 * The order is the kubelet's: check the container (a worker job) and
 * answer errors before the upgrade; upgrade; once the client's streams are
 * there (`ready`), start the process or attach (a worker job); relay bytes
 * on the loop with flow control both ways; when the process exits, send
 * what it wrote and its exit status, then close.  A session being torn
 * down while a job runs waits for the job to come back before it frees
 * what the job touches.
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "node/internal.h"

/* Output queued to the client above which we stop reading the process. */
#define EX_OUT_HIGH (1024 * 1024)
#define EX_OUT_LOW (256 * 1024)
/* Input queued to the process above which we stop reading the client. */
#define EX_IN_HIGH (1024 * 1024)
/* After the process exited, how long its pipes may stay open (a child it
 * left behind holding them) before the status goes out anyway. */
#define EX_DRAIN_MS 2000
/* With a terminal, how long to wait for the client's first size before
 * starting the process anyway: a process started at 0x0 and resized a
 * moment later reads the wrong size (`stty size`, full-screen programs).
 * kubectl sends its size right after the streams are set up. */
#define EX_FIRST_SIZE_MS 500

struct nd_exec {
  struct nd_session ss;
  kube_node_stream_t *s;
  bool attach;
  char *pod, *container, *container_id;
  char **argv;
  kube_exec_streams_t st;
  kube_http_request_t *req; /* until the upgrade */
  kube_http_conn_t *conn;
  kube_stream_upgrade_t up;
  kube_exec_server_t *sess;
  struct event *free_ev;
  bool job;      /* a worker job holds the struct */
  bool dead;     /* torn down: free once no job holds it */
  bool req_gone; /* the client left before the upgrade */
  bool started, finished, output_paused;

  /* worker job input and output */
  int job_kind; /* JOB_CHECK, JOB_START */
  uint16_t job_w, job_h;
  kube_error_t jerr;
  int j_in, j_out, j_err, j_pty;
  pid_t j_relay;
  kube_rt_attach_t *j_att;
  bool j_stdin_open, j_stdin_once;

  /* the process (exec) */
  pid_t relay;
  int pidfd;
  struct event *pid_ev;
  bool exited;
  int exit_code;
  struct nd_fdio in, out, err; /* tty: `out` is the pty master */
  bool out_open, err_open, in_open;
  kube_timer_t *drain_timer;
  kube_timer_t *size_timer; /* waiting for the first terminal size */

  /* input and size that came before the start */
  kube_strbuf_t pending_in;
  bool pending_eof;
  bool have_size;
  uint16_t w, h;

  /* attach */
  kube_rt_attach_t *att;
  struct event *att_rd, *att_wr;
  struct evbuffer *att_q; /* stdin for the container */
  bool att_close_pending, att_resize_pending;
};

enum { JOB_CHECK = 1, JOB_START };

static void ex_teardown(struct nd_exec *ex, const char *why);
static void ex_maybe_free(struct nd_exec *ex);
static void start_job(struct nd_exec *ex);

/* ---- life cycle ---- */

static void ex_free(struct nd_exec *ex) {
  nd_session_unlink(&ex->ss);
  if (ex->free_ev)
    event_free(ex->free_ev);
  kube_exec_server_free(ex->sess);
  if (ex->req) {
    kube_http_request_set_close_cb(ex->req, NULL, NULL);
    kube_http_reply_error(ex->req, 503,
                          "the streaming server is shutting down");
  }
  kube_error_clear(&ex->jerr);
  kube_strbuf_clear(&ex->pending_in);
  free(ex->pod);
  free(ex->container);
  free(ex->container_id);
  nd_strv_free(ex->argv);
  free(ex);
}

static void free_cb(evutil_socket_t fd, short what, void *arg) {
  ex_maybe_free(arg);
}

/* Free now if nothing holds the struct (not from a session callback: the
 * teardown schedules free_ev for that). */
static void ex_maybe_free(struct nd_exec *ex) {
  if (ex->dead && !ex->job)
    ex_free(ex);
}

/* What a finished worker job left that nobody will use. */
static void ex_drop_job_results(struct nd_exec *ex) {
  int *fds[] = {&ex->j_in, &ex->j_out, &ex->j_err, &ex->j_pty};
  for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
    if (*fds[i] >= 0) {
      close(*fds[i]);
      *fds[i] = -1;
    }
  if (ex->j_relay > 0) {
    int pidfd = (int)syscall(SYS_pidfd_open, ex->j_relay, 0);
    nd_reap_later(ex->s, ex->j_relay, pidfd);
    ex->j_relay = 0;
  }
  kube_rt_attach_free(ex->j_att);
  ex->j_att = NULL;
}

static void ex_teardown(struct nd_exec *ex, const char *why) {
  if (ex->dead)
    return;
  ex->dead = true;
  if (why)
    log_debug("node: %s of %s/%s ends: %s", ex->attach ? "attach" : "exec",
              ex->pod, ex->container, why);
  nd_fdio_clear(&ex->in);
  nd_fdio_clear(&ex->out);
  nd_fdio_clear(&ex->err);
  kube_timer_free(ex->drain_timer);
  ex->drain_timer = NULL;
  kube_timer_free(ex->size_timer);
  ex->size_timer = NULL;
  if (ex->pid_ev) {
    event_free(ex->pid_ev);
    ex->pid_ev = NULL;
  }
  if (ex->relay > 0 && !ex->exited) {
    /* It may outlive the session (a `sleep` without a terminal): reap it
     * whenever it ends. */
    nd_reap_later(ex->s, ex->relay, ex->pidfd);
    ex->pidfd = -1;
  }
  if (ex->pidfd >= 0)
    close(ex->pidfd);
  ex->pidfd = -1;
  if (ex->att_rd)
    event_free(ex->att_rd);
  if (ex->att_wr)
    event_free(ex->att_wr);
  ex->att_rd = ex->att_wr = NULL;
  if (ex->att_q)
    evbuffer_free(ex->att_q);
  ex->att_q = NULL;
  kube_rt_attach_free(ex->att);
  ex->att = NULL;
  if (ex->conn) {
    /* Queued bytes (the exit status) still go out, then it closes. */
    kube_http_conn_close(ex->conn);
    ex->conn = NULL;
  }
  nd_session_unlink(&ex->ss);
  if (ex->free_ev)
    event_active(ex->free_ev, 0, 0);
}

static void ex_close_op(struct nd_session *ss, const char *why) {
  struct nd_exec *ex = (struct nd_exec *)ss;
  if (ex->sess && !ex->finished && !ex->dead && ex->started) {
    ex->finished = true;
    kube_exec_server_finish(ex->sess, 0, why, NULL);
  }
  ex_teardown(ex, why);
  ex_maybe_free(ex);
}

static const struct nd_session_ops exec_ops = {
    .name = "exec", .close = ex_close_op, .idle_timeout = true};

/* ---- the client's side ---- */

static void ex_pause_output(struct nd_exec *ex, bool paused) {
  if (ex->output_paused == paused)
    return;
  ex->output_paused = paused;
  if (ex->out_open)
    nd_fdio_pause(&ex->out, paused);
  if (ex->err_open)
    nd_fdio_pause(&ex->err, paused);
  if (ex->att_rd) {
    if (paused)
      event_del(ex->att_rd);
    else
      event_add(ex->att_rd, NULL);
  }
}

static void sess_write(void *data, const void *buf, size_t len) {
  struct nd_exec *ex = data;
  if (!ex->conn)
    return;
  kube_http_conn_write_unit(ex->conn, buf, len);
  if (kube_http_conn_pending(ex->conn) > EX_OUT_HIGH)
    ex_pause_output(ex, true);
}

static void conn_read(kube_http_conn_t *c, const void *data, size_t len,
                      void *arg) {
  struct nd_exec *ex = arg;
  nd_session_touch(&ex->ss);
  kube_exec_server_feed(ex->sess, data, len, NULL);
}

static void conn_drained(kube_http_conn_t *c, void *arg) {
  struct nd_exec *ex = arg;
  ex_pause_output(ex, false);
}

static void conn_closed(kube_http_conn_t *c, void *arg) {
  struct nd_exec *ex = arg;
  kube_exec_server_eof(ex->sess);
  /* eof ended the session (done): nothing more to do here. */
}

static const kube_http_conn_callbacks_t conn_cbs = {
    .version = KUBE_HTTP_CONN_CALLBACKS_VERSION,
    .read = conn_read,
    .drained = conn_drained,
    .closed = conn_closed,
};

/* ---- attach: the monitor's socket ---- */

static void att_send(struct nd_exec *ex);

static void att_read_cb(evutil_socket_t fd, short what, void *arg) {
  struct nd_exec *ex = arg;
  char buf[32768];
  for (int i = 0; i < 16 && ex->att && !ex->output_paused; i++) {
    int stream = 0;
    kube_error_t e = KUBE_ERROR_INIT;
    ssize_t n = kube_rt_attach_read(ex->att, &stream, buf, sizeof buf, 0, &e);
    bool again = n < 0 && e.reason == KUBE_REASON_TIMEOUT;
    kube_error_clear(&e);
    if (again)
      return;
    if (n <= 0) {
      /* The container exited (or the monitor went away): as the kubelet,
       * the attach ends with success. */
      if (!ex->finished) {
        ex->finished = true;
        kube_exec_server_finish(ex->sess, 0, NULL, NULL);
      }
      return;
    }
    nd_session_touch(&ex->ss);
    if (stream == KUBE_RT_STDERR)
      kube_exec_server_write_stderr(ex->sess, buf, (size_t)n, NULL);
    else
      kube_exec_server_write_stdout(ex->sess, buf, (size_t)n, NULL);
  }
}

static void att_write_cb(evutil_socket_t fd, short what, void *arg) {
  att_send(arg);
}

/* Send what is queued for the container while its socket takes it (the
 * fd is non-blocking: a refused chunk stays queued for the next
 * EV_WRITE). */
static void att_send(struct nd_exec *ex) {
  if (!ex->att)
    return;
  if (ex->att_resize_pending) {
    kube_error_t e = KUBE_ERROR_INIT;
    if (kube_rt_attach_resize(ex->att, ex->h, ex->w, &e) < 0 &&
        e.errnum == EAGAIN) {
      kube_error_clear(&e);
      event_add(ex->att_wr, NULL);
      return;
    }
    kube_error_clear(&e);
    ex->att_resize_pending = false;
  }
  while (evbuffer_get_length(ex->att_q)) {
    size_t n = evbuffer_get_length(ex->att_q);
    if (n > 32768)
      n = 32768;
    const void *p = evbuffer_pullup(ex->att_q, (ev_ssize_t)n);
    kube_error_t e = KUBE_ERROR_INIT;
    int rc = kube_rt_attach_write(ex->att, p, n, &e);
    int en = e.errnum;
    kube_error_clear(&e);
    if (rc < 0 && en == EAGAIN) {
      event_add(ex->att_wr, NULL);
      return;
    }
    if (rc < 0) {
      /* The container stopped reading for good: drop its input. */
      evbuffer_drain(ex->att_q, evbuffer_get_length(ex->att_q));
      break;
    }
    evbuffer_drain(ex->att_q, n);
  }
  event_del(ex->att_wr);
  if (ex->conn)
    kube_http_conn_pause_reading(ex->conn, false);
  if (ex->att_close_pending) {
    ex->att_close_pending = false;
    kube_rt_attach_close_stdin(ex->att, NULL);
  }
}

/* ---- exec: the process's side ---- */

static void ex_finish(struct nd_exec *ex) {
  if (ex->finished || ex->dead)
    return;
  ex->finished = true;
  kube_exec_server_finish(ex->sess, ex->exit_code, NULL, NULL);
}

static void ex_maybe_finish(struct nd_exec *ex) {
  if (ex->exited && !ex->out_open && !ex->err_open)
    ex_finish(ex);
}

static void drain_timeout(void *arg) {
  ex_finish(arg);
}

static void out_read(void *arg, const void *buf, size_t len, int errnum) {
  struct nd_exec *ex = arg;
  if (!buf) {
    ex->out_open = false;
    ex_maybe_finish(ex);
    return;
  }
  nd_session_touch(&ex->ss);
  kube_exec_server_write_stdout(ex->sess, buf, len, NULL);
}

static void err_read(void *arg, const void *buf, size_t len, int errnum) {
  struct nd_exec *ex = arg;
  if (!buf) {
    ex->err_open = false;
    ex_maybe_finish(ex);
    return;
  }
  nd_session_touch(&ex->ss);
  kube_exec_server_write_stderr(ex->sess, buf, len, NULL);
}

static void in_drained(void *arg) {
  struct nd_exec *ex = arg;
  if (ex->conn)
    kube_http_conn_pause_reading(ex->conn, false);
}

static void in_write_error(void *arg, int errnum) {
  /* The process closed its stdin: further input is dropped, as a pipe
   * to a process that stopped reading. */
  in_drained(arg);
}

static void pid_cb(evutil_socket_t fd, short what, void *arg) {
  struct nd_exec *ex = arg;
  int status = 0;
  pid_t r = waitpid(ex->relay, &status, WNOHANG);
  if (r == 0)
    return;
  event_free(ex->pid_ev);
  ex->pid_ev = NULL;
  close(ex->pidfd);
  ex->pidfd = -1;
  ex->exited = true;
  if (r < 0)
    ex->exit_code = 0; /* reaped elsewhere: nothing to tell */
  else if (WIFSIGNALED(status))
    ex->exit_code = 128 + WTERMSIG(status);
  else
    ex->exit_code = WEXITSTATUS(status);
  if (!ex->out_open && !ex->err_open) {
    ex_finish(ex);
    return;
  }
  if (!ex->drain_timer)
    ex->drain_timer = kube_timer_new(ex->s->loop, drain_timeout, ex, NULL);
  if (ex->drain_timer)
    kube_timer_arm(ex->drain_timer, EX_DRAIN_MS);
  else
    ex_finish(ex);
}

/* Bytes from the client for the process (or the container). */
static void deliver_stdin(struct nd_exec *ex, const void *buf, size_t len) {
  if (ex->att) {
    evbuffer_add(ex->att_q, buf, len);
    att_send(ex);
    if (evbuffer_get_length(ex->att_q) > EX_IN_HIGH && ex->conn)
      kube_http_conn_pause_reading(ex->conn, true);
    return;
  }
  struct nd_fdio *io = ex->st.tty ? &ex->out : &ex->in;
  if (io->fd < 0 || nd_fdio_write(io, buf, len) < 0)
    return;
  if (nd_fdio_pending(io) > EX_IN_HIGH && ex->conn)
    kube_http_conn_pause_reading(ex->conn, true);
}

static void deliver_stdin_eof(struct nd_exec *ex) {
  if (ex->att) {
    /* As containerd's attach: a stdinOnce container (without a terminal)
     * gets its stdin closed and the output goes on until it stops;
     * otherwise the end of the client's input ends the attach. */
    if (ex->j_stdin_once && !ex->st.tty) {
      ex->att_close_pending = true;
      att_send(ex);
    } else if (!ex->finished) {
      ex->finished = true;
      kube_exec_server_finish(ex->sess, 0, NULL, NULL);
    }
  } else if (ex->st.tty) {
    /* Half a terminal cannot be closed: send it EOF (^D). */
    if (ex->out.fd >= 0)
      nd_fdio_write(&ex->out, "\x04", 1);
  } else if (ex->in_open) {
    nd_fdio_shutdown_write(&ex->in);
  }
}

static void apply_size(struct nd_exec *ex) {
  if (!ex->have_size)
    return;
  if (ex->att) {
    ex->att_resize_pending = true;
    att_send(ex);
  } else if (ex->st.tty && ex->out.fd >= 0) {
    kube_rt_terminal_resize(ex->out.fd, ex->h, ex->w, NULL);
  }
}

/* ---- session callbacks ---- */

static void sess_stdin(void *data, const void *buf, size_t len) {
  struct nd_exec *ex = data;
  if (!ex->started) {
    kube_strbuf_append_len(&ex->pending_in, buf, len);
    if (ex->pending_in.len > EX_IN_HIGH && ex->conn)
      kube_http_conn_pause_reading(ex->conn, true);
    return;
  }
  deliver_stdin(ex, buf, len);
}

static void sess_stdin_eof(void *data) {
  struct nd_exec *ex = data;
  if (!ex->started)
    ex->pending_eof = true;
  else
    deliver_stdin_eof(ex);
}

static void sess_resize(void *data, uint16_t w, uint16_t h) {
  struct nd_exec *ex = data;
  ex->w = w;
  ex->h = h;
  ex->have_size = true;
  if (ex->started)
    apply_size(ex);
  else if (ex->size_timer)
    start_job(ex);
}

static void sess_done(void *data, const kube_error_t *err) {
  struct nd_exec *ex = data;
  ex->finished = true;
  ex_teardown(ex, err ? err->message : NULL);
}

static void job_run(void *arg);
static void job_done(void *arg);

static void start_job(struct nd_exec *ex) {
  kube_error_t e = KUBE_ERROR_INIT;
  kube_timer_free(ex->size_timer);
  ex->size_timer = NULL;
  if (ex->job || ex->started || ex->dead)
    return;
  ex->job_kind = JOB_START;
  ex->job_w = ex->have_size ? ex->w : 0;
  ex->job_h = ex->have_size ? ex->h : 0;
  ex->job = true;
  if (kube_workers_submit(ex->s->workers, job_run, job_done, ex, &e) < 0) {
    ex->job = false;
    ex->finished = true;
    kube_exec_server_finish(ex->sess, 0, e.message, NULL);
  }
  kube_error_clear(&e);
}

static void size_timeout(void *arg) {
  start_job(arg);
}

static void sess_ready(void *data) {
  struct nd_exec *ex = data;
  /* exec with a terminal: start at the client's size when it sends one. */
  if (!ex->attach && ex->st.tty && !ex->have_size &&
      (ex->up.transport == KUBE_STREAM_WEBSOCKET || ex->up.version >= 3) &&
      (ex->size_timer = kube_timer_new(ex->s->loop, size_timeout, ex, NULL))) {
    kube_timer_arm(ex->size_timer, EX_FIRST_SIZE_MS);
    return;
  }
  start_job(ex);
}

static const kube_exec_server_callbacks_t sess_cbs = {
    .version = KUBE_EXEC_SERVER_CALLBACKS_VERSION,
    .write = sess_write,
    .ready = sess_ready,
    .stdin_data = sess_stdin,
    .stdin_eof = sess_stdin_eof,
    .resize = sess_resize,
    .done = sess_done,
};

/* ---- worker jobs ---- */

static int job_check(struct nd_exec *ex, kube_runtime_t *rt) {
  kube_rt_state_t st;
  memset(&st, 0, sizeof st);
  kube_error_t e = KUBE_ERROR_INIT;
  int rc = kube_runtime_state(rt, ex->container_id, &st, &e);
  kube_error_clear(&e);
  if (rc < 0 || st.status != KUBE_RT_RUNNING) {
    kube_rt_state_clear(&st);
    return kube_error_set(&ex->jerr, KUBE_REASON_NOT_FOUND, 0,
                          "container not found (\"%s\")", ex->container);
  }
  if (ex->attach && !st.attachable) {
    kube_rt_state_clear(&st);
    return kube_error_set(&ex->jerr, KUBE_REASON_INTERNAL, 0,
                          "container \"%s\": its stdio cannot be attached to",
                          ex->container);
  }
  ex->j_stdin_open = st.stdin_open;
  ex->j_stdin_once = st.stdin_once;
  kube_rt_state_clear(&st);
  return 0;
}

static int job_start_attach(struct nd_exec *ex, kube_runtime_t *rt) {
  kube_attach_options_t ao = {.struct_size = sizeof ao,
                              .stdin = ex->st.use_stdin && ex->j_stdin_open,
                              .stdout = ex->st.use_stdout || ex->st.tty,
                              .stderr = ex->st.use_stderr};
  if (kube_runtime_attach(rt, ex->container_id, &ao, &ex->j_att, &ex->jerr) <
      0) {
    kube_error_wrap(&ex->jerr, "error attaching to container");
    return -1;
  }
  int fd = kube_rt_attach_fd(ex->j_att);
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  return 0;
}

static int job_start_exec(struct nd_exec *ex, kube_runtime_t *rt) {
  int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1}, rc = -1;
  kube_exec_options_t o = {.struct_size = sizeof o, .args = ex->argv};
  o.io = (kube_rt_io_t)KUBE_RT_IO_NULL;
  if (ex->st.tty) {
    o.terminal = true;
    o.rows = ex->job_h;
    o.cols = ex->job_w;
    o.terminal_fd_out = &ex->j_pty;
  } else {
    /* Sockets, not pipes: our writes say MSG_NOSIGNAL, and a process that
     * splices between its stdio (busybox cat's sendfile from a socket
     * stdin into a pipe stdout) holds the pipe's lock while it waits for
     * input, which would block our non-blocking read of that pipe (and
     * the loop with it) until the input we cannot send arrives. */
    if ((ex->st.use_stdin &&
         socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0) ||
        (ex->st.use_stdout &&
         socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, out) < 0) ||
        (ex->st.use_stderr &&
         socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, errp) < 0)) {
      kube_make_error(&ex->jerr, errno,
                      "error executing command in container: socketpair: %s",
                      strerror(errno));
      goto out;
    }
    o.io.stdin_fd = in[1];
    o.io.stdout_fd = out[1];
    o.io.stderr_fd = errp[1];
  }
  if (kube_runtime_exec(rt, ex->container_id, &o, &ex->j_relay, NULL,
                        &ex->jerr) < 0) {
    kube_error_wrap(&ex->jerr, "error executing command in container");
    ex->j_relay = 0;
    goto out;
  }
  ex->j_in = steal_fd(&in[0]);
  ex->j_out = steal_fd(&out[0]);
  ex->j_err = steal_fd(&errp[0]);
  rc = 0;
out:
  for (int i = 0; i < 2; i++) {
    if (in[i] >= 0)
      close(in[i]);
    if (out[i] >= 0)
      close(out[i]);
    if (errp[i] >= 0)
      close(errp[i]);
  }
  return rc;
}

static void job_run(void *arg) {
  struct nd_exec *ex = arg;
  kube_runtime_t *rt = nd_runtime_get(ex->s, &ex->jerr);
  if (!rt)
    return;
  if (ex->job_kind == JOB_CHECK)
    job_check(ex, rt);
  else if (ex->attach)
    job_start_attach(ex, rt);
  else
    job_start_exec(ex, rt);
  nd_runtime_put(ex->s, rt);
}

static void start_exec_io(struct nd_exec *ex) {
  struct event_base *base = kube_loop_base(ex->s->loop);
  ex->relay = ex->j_relay;
  ex->j_relay = 0;
  ex->pidfd = (int)syscall(SYS_pidfd_open, ex->relay, 0);
  if (ex->pidfd >= 0)
    ex->pid_ev = event_new(base, ex->pidfd, EV_READ | EV_PERSIST, pid_cb, ex);
  if (ex->pid_ev)
    event_add(ex->pid_ev, NULL);
  if (ex->st.tty) {
    ex->out.on_read = out_read;
    ex->out.on_drained = in_drained;
    ex->out.on_write_error = in_write_error;
    ex->out_open =
        nd_fdio_init(&ex->out, base, steal_fd(&ex->j_pty), false, ex) == 0;
    return;
  }
  if (ex->j_in >= 0) {
    ex->in.on_drained = in_drained;
    ex->in.on_write_error = in_write_error;
    ex->in_open =
        nd_fdio_init(&ex->in, base, steal_fd(&ex->j_in), true, ex) == 0;
  }
  if (ex->j_out >= 0) {
    ex->out.on_read = out_read;
    ex->out_open =
        nd_fdio_init(&ex->out, base, steal_fd(&ex->j_out), true, ex) == 0;
  }
  if (ex->j_err >= 0) {
    ex->err.on_read = err_read;
    ex->err_open =
        nd_fdio_init(&ex->err, base, steal_fd(&ex->j_err), true, ex) == 0;
  }
}

static void start_attach_io(struct nd_exec *ex) {
  struct event_base *base = kube_loop_base(ex->s->loop);
  ex->att = ex->j_att;
  ex->j_att = NULL;
  int fd = kube_rt_attach_fd(ex->att);
  ex->att_q = evbuffer_new();
  ex->att_rd = event_new(base, fd, EV_READ | EV_PERSIST, att_read_cb, ex);
  ex->att_wr = event_new(base, fd, EV_WRITE | EV_PERSIST, att_write_cb, ex);
  if (ex->att_q && ex->att_rd && ex->att_wr)
    event_add(ex->att_rd, NULL);
}

static void started(struct nd_exec *ex) {
  ex->started = true;
  if (ex->attach)
    start_attach_io(ex);
  else
    start_exec_io(ex);
  apply_size(ex);
  if (ex->pending_in.len)
    deliver_stdin(ex, ex->pending_in.data, ex->pending_in.len);
  kube_strbuf_clear(&ex->pending_in);
  if (ex->pending_eof)
    deliver_stdin_eof(ex);
  if (ex->output_paused) {
    ex->output_paused = false;
    ex_pause_output(ex, true);
  }
  if (ex->conn)
    kube_http_conn_pause_reading(ex->conn, false);
  /* Without stdout and stderr there is nothing to read: only the exit. */
  if (!ex->attach)
    ex_maybe_finish(ex);
}

static void upgrade(struct nd_exec *ex) {
  kube_error_t e = KUBE_ERROR_INIT;
  kube_http_request_t *req = steal_pointer(&ex->req);
  kube_http_request_set_close_cb(req, NULL, NULL);
  ex->conn = nd_upgrade(req, KUBE_STREAM_EXEC, &ex->up, &e);
  if (ex->conn)
    ex->sess = kube_exec_server_new(&ex->up, &ex->st, &sess_cbs, ex, &e);
  if (!ex->conn || !ex->sess) {
    kube_error_clear(&e);
    ex_teardown(ex, "upgrade failed");
    return;
  }
  kube_http_conn_set_callbacks(ex->conn, &conn_cbs, EX_OUT_LOW, ex);
  if (kube_exec_server_start(ex->sess, &e) < 0)
    ex_teardown(ex, e.message);
  kube_error_clear(&e);
}

static void job_done(void *arg) {
  struct nd_exec *ex = arg;
  ex->job = false;
  if (ex->dead || ex->s->freeing) {
    ex_drop_job_results(ex);
    ex_teardown(ex, NULL);
    ex_maybe_free(ex);
    return;
  }
  if (ex->job_kind == JOB_CHECK) {
    if (ex->req_gone) {
      ex_teardown(ex, "the client went away");
    } else if (kube_error_is_set(&ex->jerr)) {
      kube_http_request_t *req = steal_pointer(&ex->req);
      kube_http_request_set_close_cb(req, NULL, NULL);
      nd_reply_text_error(req, &ex->jerr);
      ex_teardown(ex, ex->jerr.message);
    } else {
      upgrade(ex);
    }
    ex_maybe_free(ex);
    return;
  }
  if (kube_error_is_set(&ex->jerr)) {
    ex_drop_job_results(ex);
    ex->finished = true;
    kube_exec_server_finish(ex->sess, 0, ex->jerr.message, NULL);
    return;
  }
  started(ex);
}

/* ---- entry point ---- */

static void req_closed(kube_http_request_t *req, void *arg) {
  struct nd_exec *ex = arg;
  ex->req_gone = true;
}

static int parse_streams(kube_http_request_t *req, kube_exec_streams_t *st,
                         kube_error_t *err) {
  st->use_stdin =
      kube_stream_query_bool(kube_http_request_query_param(req, "stdin"));
  st->use_stdout =
      kube_stream_query_bool(kube_http_request_query_param(req, "stdout"));
  st->use_stderr =
      kube_stream_query_bool(kube_http_request_query_param(req, "stderr"));
  st->tty = kube_stream_query_bool(kube_http_request_query_param(req, "tty"));
  return kube_exec_streams_check(st, err);
}

void nd_serve_exec(kube_node_stream_t *s, kube_http_request_t *req,
                   const char *ns, const char *pod, const char *uid,
                   const char *container, bool attach) {
  kube_error_t e = KUBE_ERROR_INIT;
  kube_node_stream_target_t t;
  struct nd_exec *ex = NULL;
  kube_exec_streams_t st = {0};
  if (parse_streams(req, &st, &e) < 0)
    goto fail;
  kube_node_stream_query_t q = {.struct_size = sizeof q,
                                .op = attach ? KUBE_NODE_STREAM_ATTACH
                                             : KUBE_NODE_STREAM_EXEC,
                                .namespace_ = ns,
                                .pod = pod,
                                .pod_uid = uid,
                                .container = container};
  if (nd_resolve(s, &q, &t, &e) < 0)
    goto fail;
  char *cid = steal_pointer(&t.container_id);
  kube_node_stream_target_clear(&t);
  if (!cid) {
    kube_error_set(&e, KUBE_REASON_NOT_FOUND, 0, "container not found (\"%s\")",
                   container);
    goto fail;
  }
  if (!(ex = calloc(1, sizeof *ex))) {
    free(cid);
    kube_make_oom(&e);
    goto fail;
  }
  ex->container_id = cid;
  ex->s = s;
  ex->attach = attach;
  ex->st = st;
  ex->pidfd = ex->j_in = ex->j_out = ex->j_err = ex->j_pty = -1;
  ex->in.fd = ex->out.fd = ex->err.fd = -1;
  ex->pod = strdup(pod);
  ex->container = strdup(container);
  ex->free_ev = event_new(kube_loop_base(s->loop), -1, 0, free_cb, ex);
  if (!ex->pod || !ex->container || !ex->free_ev) {
    kube_make_oom(&e);
    goto fail;
  }
  if (!attach) {
    size_t n = 0;
    ex->argv = nd_query_values(req, "command", &n);
    if (!ex->argv) {
      kube_make_oom(&e);
      goto fail;
    }
    if (n == 0) {
      kube_error_set(&e, KUBE_REASON_BAD_REQUEST, 0,
                     "you must specify at least one command for the "
                     "container");
      goto fail;
    }
  }
  nd_session_link(s, &ex->ss, &exec_ops);
  ex->req = req;
  kube_http_request_set_close_cb(req, req_closed, ex);
  ex->job_kind = JOB_CHECK;
  ex->job = true;
  if (kube_workers_submit(s->workers, job_run, job_done, ex, &e) < 0) {
    ex->job = false;
    kube_http_request_set_close_cb(req, NULL, NULL);
    ex->req = NULL;
    nd_session_unlink(&ex->ss);
    goto fail;
  }
  return;
fail:
  nd_reply_text_error(req, &e);
  kube_error_clear(&e);
  if (ex) {
    ex->dead = true;
    ex_free(ex);
  }
}
