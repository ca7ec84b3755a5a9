/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Running a probe's or a hook's handler on a worker thread, bounded by a
 * deadline, with the kubelet's results and wording: exec in the container
 * through the runtime (output collected, the process killed at the
 * timeout), an HTTP GET (probe-http.c), a TCP connect, a gRPC health
 * check (probe-grpc.c) and sleep; the connections they share.  Nothing
 * here touches the loop.
 */
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "node/agent.h"
#include "node/probe-net.h"

#define MAX_OUTPUT (10 * 1024) /* the kubelet's maxExecProbeOutput */
#define SLICE_MS 100           /* how often a wait looks at *cancel */

void nd_outcome_clear(struct nd_outcome *o) {
  free(o->output);
  free(o->error);
  memset(o, 0, sizeof *o);
}

static int64_t now_ms(void) {
  return kube_time_mono_ns() / 1000000;
}

/* ms left before deadline (INT64_MAX: none); never below 0. */
static int64_t left_ms(int64_t deadline) {
  if (deadline == INT64_MAX)
    return INT64_MAX;
  int64_t l = deadline - now_ms();
  return l < 0 ? 0 : l;
}

static bool cancelled(const volatile int *cancel) {
  return cancel && __atomic_load_n(cancel, __ATOMIC_ACQUIRE);
}

/* Go's error text: lower-case first letter ("connection refused"). */
const char *nd_go_errno(int e, char *buf, size_t len) {
  snprintf(buf, len, "%s", strerror(e));
  if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
    buf[0] = (char)(buf[0] - 'A' + 'a');
  return buf;
}

/* ---- exec --------------------------------------------------------------- */

/* The exec'd process is the relay's child: kill it, then the relay. */
static void kill_exec(pid_t relay) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task/%d/children", relay, relay);
  cleanup_free char *kids = core_read_file(path, NULL);
  for (char *s = kids, *end; s && *s; s = end) {
    long pid = strtol(s, &end, 10);
    if (end == s)
      break;
    if (pid > 0)
      kill((pid_t)pid, SIGKILL);
  }
  kill(relay, SIGKILL);
}

static void run_exec(kube_runtime_t *rt, const char *id,
                     const struct nd_handler *h, int64_t deadline,
                     const volatile int *cancel, struct nd_outcome *out) {
  int pout[2] = {-1, -1}, perr[2] = {-1, -1};
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  char **argv = calloc(h->n_command + 1, sizeof *argv);
  cleanup_free char *joined = nd_go_strv(h->command, h->n_command, " ", false);
  kube_strbuf_t all = KUBE_STRBUF_INIT, errs = KUBE_STRBUF_INIT;
  pid_t relay = 0;
  int pidfd = -1;
  if (!argv || devnull < 0 || pipe2(pout, O_CLOEXEC) < 0 ||
      pipe2(perr, O_CLOEXEC) < 0) {
    out->result = ND_PR_UNKNOWN;
    out->output = strdup("exec: out of resources");
    goto done;
  }
  for (size_t i = 0; i < h->n_command; i++)
    argv[i] = h->command[i];
  kube_exec_options_t o = {.struct_size = sizeof o, .args = argv};
  o.io = (kube_rt_io_t)KUBE_RT_IO_NULL;
  o.io.stdin_fd = devnull;
  o.io.stdout_fd = pout[1];
  o.io.stderr_fd = perr[1];
  kube_error_t e = KUBE_ERROR_INIT;
  if (kube_runtime_exec(rt, id, &o, &relay, NULL, &e) < 0) {
    /* the runtime could not run it: an error, not a failed probe */
    out->result = ND_PR_UNKNOWN;
    if (asprintf(&out->output, "failed to exec in container: %s",
                 e.message ? e.message : "error") < 0)
      out->output = NULL;
    out->error = out->output ? strdup(out->output) : NULL;
    kube_error_clear(&e);
    relay = 0;
    goto done;
  }
  close(pout[1]);
  close(perr[1]);
  pout[1] = perr[1] = -1;
  pidfd = (int)syscall(SYS_pidfd_open, relay, 0);
  bool timed_out = false;
  struct pollfd pf[2] = {{pout[0], POLLIN, 0}, {perr[0], POLLIN, 0}};
  while (pf[0].fd >= 0 || pf[1].fd >= 0) {
    int64_t l = left_ms(deadline);
    if (l == 0 || cancelled(cancel)) {
      timed_out = true;
      break;
    }
    int r = poll(pf, 2, (int)(l < SLICE_MS ? l : SLICE_MS));
    if (r < 0 && errno != EINTR)
      break;
    for (int i = 0; r > 0 && i < 2; i++) {
      if (pf[i].fd < 0 || !pf[i].revents)
        continue;
      char buf[4096];
      ssize_t n = read(pf[i].fd, buf, sizeof buf);
      if (n <= 0) {
        pf[i].fd = -1;
        continue;
      }
      if (all.len < MAX_OUTPUT)
        kube_strbuf_append_len(&all, buf, (size_t)n);
      if (i == 1 && errs.len < MAX_OUTPUT)
        kube_strbuf_append_len(&errs, buf, (size_t)n);
    }
  }
  /* the output is closed: wait for the exit within what is left */
  while (!timed_out && pidfd >= 0) {
    int64_t l = left_ms(deadline);
    if (l == 0 || cancelled(cancel)) {
      timed_out = true;
      break;
    }
    struct pollfd pp = {pidfd, POLLIN, 0};
    if (poll(&pp, 1, (int)(l < SLICE_MS ? l : SLICE_MS)) > 0)
      break;
  }
  if (timed_out)
    kill_exec(relay);
  int status = 0;
  while (waitpid(relay, &status, 0) < 0 && errno == EINTR) {
  }
  relay = 0;
  int code = WIFSIGNALED(status) ? 128 + WTERMSIG(status)
             : WIFEXITED(status) ? WEXITSTATUS(status)
                                 : 1;
  if (timed_out) {
    out->result = ND_PR_FAILURE;
    if (asprintf(&out->output, "command \"%s\" timed out",
                 joined ? joined : "") < 0)
      out->output = NULL;
    out->error = out->output ? strdup(out->output) : NULL;
  } else {
    out->result = code == 0 ? ND_PR_SUCCESS : ND_PR_FAILURE;
    out->output = kube_strbuf_steal(&all);
    if (code != 0 &&
        asprintf(&out->error, "command '%s' exited with %d: %s",
                 joined ? joined : "", code, errs.data ? errs.data : "") < 0)
      out->error = NULL;
  }
done:
  if (relay > 0) {
    kill_exec(relay);
    waitpid(relay, NULL, 0);
  }
  if (pidfd >= 0)
    close(pidfd);
  for (int i = 0; i < 2; i++) {
    if (pout[i] >= 0)
      close(pout[i]);
    if (perr[i] >= 0)
      close(perr[i]);
  }
  if (devnull >= 0)
    close(devnull);
  free(argv);
  kube_strbuf_clear(&all);
  kube_strbuf_clear(&errs);
  if (!out->output)
    out->output = strdup("");
}

/* ---- connections -------------------------------------------------------- */

void nd_conn_close(struct nd_conn *c) {
  if (c->ssl) {
    SSL_free(c->ssl);
    c->ssl = NULL;
  }
  if (c->ctx) {
    SSL_CTX_free(c->ctx);
    c->ctx = NULL;
  }
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
}

/* "10.0.0.1:80", "[fd00::1]:80" */
void nd_host_port(const char *host, int port, char *buf, size_t len) {
  snprintf(buf, len, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}

/* Wait for fd to be ready for ev; 1 ready, 0 deadline/cancel, -1 error. */
static int wait_fd(int fd, short ev, int64_t deadline,
                   const volatile int *cancel) {
  for (;;) {
    int64_t l = left_ms(deadline);
    if (l == 0 || cancelled(cancel))
      return 0;
    struct pollfd p = {fd, ev, 0};
    int r = poll(&p, 1, (int)(l < SLICE_MS ? l : SLICE_MS));
    if (r > 0)
      return 1;
    if (r < 0 && errno != EINTR)
      return -1;
  }
}

int nd_conn_dial(struct nd_conn *c, const char *host, int port,
                 int64_t deadline, const volatile int *cancel, char **errmsg) {
  char hp[300], portstr[16], eb[128];
  nd_host_port(host, port, hp, sizeof hp);
  snprintf(portstr, sizeof portstr, "%d", port);
  c->fd = -1;
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
  int gr = getaddrinfo(host, portstr, &hints, &ai);
  if (gr != 0 || !ai) {
    if (asprintf(errmsg, "dial tcp: lookup %s: %s", host,
                 gr == EAI_NONAME ? "no such host" : gai_strerror(gr)) < 0)
      *errmsg = NULL;
    return -1;
  }
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    freeaddrinfo(ai);
    if (asprintf(errmsg, "dial tcp %s: socket: %s", hp,
                 nd_go_errno(errno, eb, sizeof eb)) < 0)
      *errmsg = NULL;
    return -1;
  }
  int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
  freeaddrinfo(ai);
  int err = r == 0 ? 0 : errno;
  if (err == EINPROGRESS) {
    int w = wait_fd(fd, POLLOUT, deadline, cancel);
    if (w == 0) {
      close(fd);
      if (asprintf(errmsg, "dial tcp %s: i/o timeout", hp) < 0)
        *errmsg = NULL;
      return -1;
    }
    socklen_t sl = sizeof err;
    if (w < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
      err = errno;
  }
  if (err) {
    close(fd);
    if (asprintf(errmsg, "dial tcp %s: connect: %s", hp,
                 nd_go_errno(err, eb, sizeof eb)) < 0)
      *errmsg = NULL;
    return -1;
  }
  c->fd = fd;
  return 0;
}

int nd_conn_tls(struct nd_conn *c, const char *host, int64_t deadline,
                const volatile int *cancel, char **errmsg) {
  c->ctx = SSL_CTX_new(TLS_client_method());
  if (!c->ctx || !(c->ssl = SSL_new(c->ctx)) || !SSL_set_fd(c->ssl, c->fd)) {
    *errmsg = strdup("tls: out of memory");
    return -1;
  }
  SSL_set_verify(c->ssl, SSL_VERIFY_NONE, NULL);
  if (!strchr(host, ':') && strspn(host, "0123456789.") != strlen(host))
    SSL_set_tlsext_host_name(c->ssl, host);
  for (;;) {
    ERR_clear_error();
    int r = SSL_connect(c->ssl);
    if (r == 1)
      return 0;
    int e = SSL_get_error(c->ssl, r);
    int w = e == SSL_ERROR_WANT_READ ? wait_fd(c->fd, POLLIN, deadline, cancel)
            : e == SSL_ERROR_WANT_WRITE
                ? wait_fd(c->fd, POLLOUT, deadline, cancel)
                : -1;
    if (w == 1)
      continue;
    if (w == 0) {
      *errmsg = strdup("net/http: TLS handshake timeout");
      return -1;
    }
    char eb[256];
    ERR_error_string_n(ERR_get_error(), eb, sizeof eb);
    if (asprintf(errmsg, "remote error: tls: %s", eb) < 0)
      *errmsg = NULL;
    return -1;
  }
}

/* 0 sent; -1 error; -2 deadline. */
int nd_conn_write(struct nd_conn *c, const void *buf, size_t len,
                  int64_t deadline, const volatile int *cancel) {
  const char *p = buf;
  while (len) {
    ssize_t n;
    int want = POLLOUT;
    if (c->ssl) {
      ERR_clear_error();
      int r = SSL_write(c->ssl, p, (int)len);
      if (r > 0) {
        n = r;
      } else {
        int e = SSL_get_error(c->ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
          return -1;
        want = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        n = -1;
        errno = EAGAIN;
      }
    } else {
      n = send(c->fd, p, len, MSG_NOSIGNAL);
    }
    if (n > 0) {
      p += n;
      len -= (size_t)n;
      continue;
    }
    if (errno != EAGAIN && errno != EINTR)
      return -1;
    int w = wait_fd(c->fd, (short)want, deadline, cancel);
    if (w <= 0)
      return w == 0 ? -2 : -1;
  }
  return 0;
}

/* >0 bytes; 0 EOF; -1 error; -2 deadline. */
ssize_t nd_conn_read(struct nd_conn *c, void *buf, size_t len, int64_t deadline,
                     const volatile int *cancel) {
  for (;;) {
    ssize_t n;
    int want = POLLIN;
    if (c->ssl) {
      ERR_clear_error();
      int r = SSL_read(c->ssl, buf, (int)len);
      if (r > 0)
        return r;
      int e = SSL_get_error(c->ssl, r);
      if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL)
        return e == SSL_ERROR_ZERO_RETURN || r == 0 ? 0 : -1;
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
        return -1;
      want = e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
      n = -1;
      errno = EAGAIN;
    } else {
      n = recv(c->fd, buf, len, 0);
    }
    if (n >= 0)
      return n;
    if (errno != EAGAIN && errno != EINTR)
      return -1;
    int w = wait_fd(c->fd, (short)want, deadline, cancel);
    if (w <= 0)
      return w == 0 ? -2 : -1;
  }
}

/* ---- tcpSocket ---------------------------------------------------------- */

static void run_tcp(const struct nd_handler *h, const char *host,
                    int64_t deadline, const volatile int *cancel,
                    struct nd_outcome *out) {
  struct nd_conn c = {.fd = -1};
  char *err = NULL;
  if (nd_conn_dial(&c, host, h->port, deadline, cancel, &err) < 0) {
    out->result = ND_PR_FAILURE;
    out->output = err ? err : strdup("dial tcp: error");
    out->error = out->output ? strdup(out->output) : NULL;
    return;
  }
  nd_conn_close(&c);
  out->result = ND_PR_SUCCESS;
  out->output = strdup("");
}

/* ---- sleep -------------------------------------------------------------- */

static void run_sleep(const struct nd_handler *h, int64_t deadline,
                      const volatile int *cancel, struct nd_outcome *out) {
  int64_t until = now_ms() + h->sleep_s * 1000;
  if (deadline < until)
    until = deadline;
  while (left_ms(until) > 0 && !cancelled(cancel)) {
    int64_t l = left_ms(until);
    struct timespec ts = {0, (long)(l < SLICE_MS ? l : SLICE_MS) * 1000000L};
    nanosleep(&ts, NULL);
  }
  out->result = ND_PR_SUCCESS;
  out->output = strdup("");
}

void nd_handler_run(kube_runtime_t *rt, const char *ctr_id,
                    const struct nd_handler *h, const char *host,
                    int64_t timeout_ms, const volatile int *cancel,
                    struct nd_outcome *out) {
  memset(out, 0, sizeof *out);
  int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : INT64_MAX;
  const char *target = h->host ? h->host : host;
  if (h->port_error &&
      (h->kind == ND_H_HTTP || h->kind == ND_H_TCP || h->kind == ND_H_GRPC)) {
    out->result = ND_PR_UNKNOWN;
    out->output = strdup(h->port_error);
    out->error = strdup(h->port_error);
    return;
  }
  if ((h->kind == ND_H_HTTP || h->kind == ND_H_TCP || h->kind == ND_H_GRPC) &&
      !target) {
    out->result = ND_PR_UNKNOWN;
    out->output = strdup("the pod has no IP address yet");
    out->error = strdup(out->output ? out->output : "");
    return;
  }
  switch (h->kind) {
  case ND_H_EXEC:
    run_exec(rt, ctr_id, h, deadline, cancel, out);
    break;
  case ND_H_HTTP:
    nd_http_get(h, target, deadline, cancel, out);
    break;
  case ND_H_TCP:
    run_tcp(h, target, deadline, cancel, out);
    break;
  case ND_H_GRPC:
    nd_grpc_check(h, target, timeout_ms, deadline, cancel, out);
    break;
  case ND_H_SLEEP:
    run_sleep(h, deadline, cancel, out);
    break;
  default:
    out->result = ND_PR_UNKNOWN;
    out->output = strdup("missing probe handler");
    break;
  }
  if (!out->output)
    out->output = strdup("");
}
