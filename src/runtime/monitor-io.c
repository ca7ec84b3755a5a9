/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The monitor's stdio loop, conmon's job: the container's stdout/stderr
 * (pipes, or the pty master in terminal mode) go to the CRI log, rotated by
 * size, and to every attached client; stdin, when the container was made
 * with it open, comes from attach clients; resize, close-stdin and
 * reopen-log requests arrive on the same attach socket.  When the init
 * exits: drain the output, record the exit, hang up on the clients.
 *
 * This runs in the kube-monitor helper M execs (monitor-main.c), or in M
 * itself when the helper is missing, a fork of a caller that may have had
 * threads: system calls only, no malloc, no locks (the UTC formatting is our own, since
 * gmtime_r takes the time zone lock).  Lines are written whole with one
 * writev between polls, and rotation/reopen happen between writes, so no
 * line is lost or split across files.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#include "runtime/internal.h"

#define MON_MAX_CLIENTS 16
#define MON_LINE_MAX 16384

struct mon_stream {
  int fd;
  const char *name; /* "stdout", "stderr" */
  char att;         /* ATT_OUT, ATT_ERR */
  size_t len;
  char buf[MON_LINE_MAX];
};

struct mon_client {
  int fd;
  unsigned want; /* ATT_WANT_* from the hello */
};

struct mon {
  int logfd;
  const char *log_path;
  int64_t log_size, max_size;
  int max_files;
  struct mon_stream s[2];
  bool tty;
  int stdin_fd; /* pipe write end, or the pty master in tty mode */
  bool stdin_once, stdin_close_pending;
  int console_in; /* C sends the pty master here (tty mode) */
  int listen_fd;
  struct mon_client c[MON_MAX_CLIENTS];
  size_t in_len; /* stdin bytes waiting for the container */
  char in[ATT_MAX_DATA];
  unsigned short rows, cols;
  char msg[ATT_MAX_DATA + 8];
};

/* Days since 1970-01-01 -> civil date (Howard Hinnant's algorithm). */
int rt_format_utc(char *buf, size_t len, const struct timespec *ts) {
  int64_t secs = ts->tv_sec, days = secs / 86400, rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days--;
  }
  int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
  int64_t mo = mp < 10 ? mp + 3 : mp - 9;
  y += mo <= 2;
  return snprintf(buf, len, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%09ldZ",
                  (long long)y, (long long)mo, (long long)d,
                  (long long)(rem / 3600), (long long)(rem / 60 % 60),
                  (long long)(rem % 60), (long)ts->tv_nsec);
}

static void log_open(struct mon *m, bool truncate) {
  m->logfd =
      open(m->log_path,
           O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : 0),
           0640);
  struct stat st;
  m->log_size = m->logfd >= 0 && fstat(m->logfd, &st) == 0 ? st.st_size : 0;
}

/* log -> log.1 -> ... -> log.<max_files-1>, dropping the oldest. */
static void log_rotate(struct mon *m) {
  char from[4200], to[4200];
  if (m->logfd >= 0)
    close(m->logfd);
  for (int i = m->max_files - 1; i >= 1; i--) {
    if (i == 1)
      snprintf(from, sizeof from, "%s", m->log_path);
    else
      snprintf(from, sizeof from, "%s.%d", m->log_path, i - 1);
    snprintf(to, sizeof to, "%s.%d", m->log_path, i);
    rename(from, to);
  }
  log_open(m, true);
}

static void log_emit(struct mon *m, const char *stream, const char *tag,
                     const char *data, size_t len) {
  if (m->logfd < 0)
    return;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char head[96];
  int n = rt_format_utc(head, sizeof head, &ts);
  n += snprintf(head + n, sizeof head - (size_t)n, " %s %s ", stream, tag);
  size_t total = (size_t)n + len + 1;
  if (m->max_size > 0 && m->log_size > 0 &&
      m->log_size + (int64_t)total > m->max_size)
    log_rotate(m);
  if (m->logfd < 0)
    return;
  struct iovec iov[3] = {{head, (size_t)n}, {(void *)data, len}, {"\n", 1}};
  ssize_t w;
  do
    w = writev(m->logfd, iov, 3);
  while (w < 0 && errno == EINTR);
  if (w > 0)
    m->log_size += w;
}

/* Split what arrived into CRI lines: full lines are "F", a buffer that fills
 * up without a newline goes out as a partial "P" line. */
static void log_feed(struct mon *m, struct mon_stream *s, bool flush) {
  size_t start = 0;
  for (size_t i = 0; i < s->len; i++)
    if (s->buf[i] == '\n') {
      log_emit(m, s->name, "F", s->buf + start, i - start);
      start = i + 1;
    }
  memmove(s->buf, s->buf + start, s->len - start);
  s->len -= start;
  if (s->len == sizeof s->buf || (flush && s->len)) {
    log_emit(m, s->name, flush ? "F" : "P", s->buf, s->len);
    s->len = 0;
  }
}

static void client_drop(struct mon *m, struct mon_client *c);

static void broadcast(struct mon *m, char type, const char *data, size_t len) {
  unsigned bit = type == ATT_OUT ? ATT_WANT_STDOUT : ATT_WANT_STDERR;
  for (size_t i = 0; i < MON_MAX_CLIENTS; i++) {
    struct mon_client *c = &m->c[i];
    if (c->fd < 0 || !(c->want & bit))
      continue;
    struct iovec iov[2] = {{&type, 1}, {(void *)data, len}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
    /* A client that cannot keep up (its socket buffer is full) is hung
     * up on rather than stalling the container and every other client. */
    if (sendmsg(c->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EINTR)
      client_drop(m, c);
  }
}

/* 1: data, 0: end of stream, -1: nothing right now. */
static int stream_read(struct mon *m, struct mon_stream *s) {
  ssize_t n = read(s->fd, s->buf + s->len, sizeof s->buf - s->len);
  if (n < 0)
    return errno == EAGAIN || errno == EINTR ? -1 : 0; /* EIO: pty hung up */
  if (n == 0)
    return 0;
  broadcast(m, s->att, s->buf + s->len, (size_t)n);
  s->len += (size_t)n;
  log_feed(m, s, false);
  return 1;
}

static void stream_close(struct mon *m, struct mon_stream *s) {
  log_feed(m, s, true);
  if (s->fd >= 0 && s->fd != m->stdin_fd)
    close(s->fd);
  s->fd = -1;
}

static void stdin_close(struct mon *m) {
  if (m->stdin_fd < 0)
    return;
  if (m->in_len) {
    m->stdin_close_pending = true;
    return;
  }
  if (m->tty) {
    /* One cannot close half of a terminal: send it EOF (^D). */
    ssize_t w = write(m->stdin_fd, "\x04", 1);
    (void)w;
    return;
  }
  close(m->stdin_fd);
  m->stdin_fd = -1;
  m->stdin_close_pending = false;
}

static void stdin_flush(struct mon *m) {
  if (m->stdin_fd < 0) {
    m->in_len = 0;
    return;
  }
  while (m->in_len) {
    ssize_t w = write(m->stdin_fd, m->in, m->in_len);
    if (w < 0) {
      if (errno == EAGAIN || errno == EINTR)
        return;
      m->in_len = 0; /* the reader is gone (EPIPE): drop it */
      break;
    }
    memmove(m->in, m->in + w, m->in_len - (size_t)w);
    m->in_len -= (size_t)w;
  }
  if (m->stdin_close_pending)
    stdin_close(m);
}

static void client_drop(struct mon *m, struct mon_client *c) {
  if (c->fd < 0)
    return;
  close(c->fd);
  c->fd = -1;
  if ((c->want & ATT_WANT_STDIN) && m->stdin_once)
    stdin_close(m);
  c->want = 0;
}

static void ack(struct mon_client *c, int e) {
  char buf[5] = {ATT_ACK};
  memcpy(buf + 1, &e, sizeof e);
  send(c->fd, buf, sizeof buf, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void client_read(struct mon *m, struct mon_client *c) {
  ssize_t n;
  do
    n = recv(c->fd, m->msg, sizeof m->msg, MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN)
    return;
  if (n <= 0) {
    client_drop(m, c);
    return;
  }
  switch (m->msg[0]) {
  case ATT_HELLO:
    c->want = n > 1 ? (unsigned char)m->msg[1] : 0;
    ack(c, 0);
    break;
  case ATT_STDIN:
    if (m->stdin_fd >= 0 && !m->stdin_close_pending &&
        (size_t)(n - 1) <= sizeof m->in - m->in_len) {
      memcpy(m->in + m->in_len, m->msg + 1, (size_t)(n - 1));
      m->in_len += (size_t)(n - 1);
      stdin_flush(m);
    }
    break;
  case ATT_CLOSE:
    stdin_close(m);
    ack(c, 0);
    break;
  case ATT_RESIZE: {
    unsigned short rc[2] = {0, 0};
    if (n >= 5)
      memcpy(rc, m->msg + 1, sizeof rc);
    m->rows = rc[0];
    m->cols = rc[1];
    int e = 0;
    if (!m->tty)
      e = ENOTTY;
    else if (m->stdin_fd >= 0 && rt_tty_resize(m->stdin_fd, rc[0], rc[1]) < 0)
      e = errno;
    ack(c, e); /* before the master arrives the size is applied then */
    break;
  }
  case ATT_REOPEN:
    if (m->log_path) {
      if (m->logfd >= 0)
        close(m->logfd);
      log_open(m, false);
    }
    ack(c, m->log_path && m->logfd < 0 ? errno : 0);
    break;
  default:
    ack(c, EINVAL);
  }
}

static void client_accept(struct mon *m) {
  int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0)
    return;
  for (size_t i = 0; i < MON_MAX_CLIENTS; i++)
    if (m->c[i].fd < 0) {
      int sz = 4 << 20;
      if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
      m->c[i].fd = fd;
      m->c[i].want = 0;
      return;
    }
  close(fd); /* full */
}

/* The pty master from C (terminal mode). */
static void console_receive(struct mon *m) {
  char tag[16];
  int fd = -1;
  ssize_t n = rt_recv_fd(m->console_in, tag, sizeof tag, &fd);
  if (n <= 0 || fd < 0) {
    close(m->console_in);
    m->console_in = -1;
    return;
  }
  fcntl(fd, F_SETFL, O_NONBLOCK);
  m->s[0].fd = fd;
  m->stdin_fd = fd;
  if (m->rows && m->cols)
    rt_tty_resize(fd, m->rows, m->cols);
}

/* The exit record, with the OOM kills the cgroup counted (read from the
 * file M named: memory.events or memory.oom_control). */
static void record_exit(const struct rt_monitor_args *a, int status) {
  long oom = a->oom_file[0] ? rt_file_read_key(a->oom_file, "oom_kill") : -1;
  rt_exit_record(a->dirfd, status, oom, NULL);
}

void rt_monitor_loop(const struct rt_monitor_args *a) {
  /* The state and buffers off the caller's stack (it may be a thread with
   * a small one); mmap is no malloc. */
  struct mon *m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  int dirfd = a->dirfd, pidfd = a->pidfd;
  pid_t pid = a->pid;
  if (m == MAP_FAILED) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    record_exit(a, status);
    _exit(0);
  }
  m->logfd = -1;
  m->log_path = a->log_path;
  m->max_size = a->log_max_size == 0 ? (10 << 20) : a->log_max_size;
  m->max_files =
      a->log_max_files < 2 ? (a->log_max_files ? 2 : 5) : a->log_max_files;
  if (m->log_path)
    log_open(m, false);
  m->s[0] = (struct mon_stream){a->out_fd, "stdout", ATT_OUT, 0, {0}};
  m->s[1] = (struct mon_stream){a->err_fd, "stderr", ATT_ERR, 0, {0}};
  m->tty = a->tty;
  m->stdin_fd = a->stdin_fd;
  m->stdin_once = a->stdin_once;
  m->console_in = a->console_in;
  m->listen_fd = a->listen_fd;
  for (size_t i = 0; i < MON_MAX_CLIENTS; i++)
    m->c[i].fd = -1;
  signal(SIGPIPE, SIG_IGN);
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull >= 0) {
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
  }
  /* From here on M only watches.  Drop everything inherited from P. */
  int keep[] = {pidfd,      dirfd,       m->logfd,      m->s[0].fd,
                m->s[1].fd, m->stdin_fd, m->console_in, m->listen_fd};
  rt_close_except(keep, ARRAY_SIZE(keep));
  for (int i = 0; i < 2; i++)
    if (m->s[i].fd >= 0)
      fcntl(m->s[i].fd, F_SETFL, O_NONBLOCK);
  if (m->stdin_fd >= 0)
    fcntl(m->stdin_fd, F_SETFL, O_NONBLOCK);

  bool exited = false;
  int status = 0;
  while (!exited) {
    struct pollfd pfd[6 + MON_MAX_CLIENTS];
    int role[6 + MON_MAX_CLIENTS];
    nfds_t n = 0;
    pfd[n] = (struct pollfd){pidfd, POLLIN, 0};
    role[n++] = -1;
    for (int i = 0; i < 2; i++)
      if (m->s[i].fd >= 0) {
        pfd[n] = (struct pollfd){m->s[i].fd, POLLIN, 0};
        role[n++] = -2 - i; /* -2 stdout, -3 stderr */
      }
    if (m->console_in >= 0) {
      pfd[n] = (struct pollfd){m->console_in, POLLIN, 0};
      role[n++] = -4;
    }
    if (m->listen_fd >= 0) {
      pfd[n] = (struct pollfd){m->listen_fd, POLLIN, 0};
      role[n++] = -5;
    }
    if (m->in_len && m->stdin_fd >= 0) {
      pfd[n] = (struct pollfd){m->stdin_fd, POLLOUT, 0};
      role[n++] = -6;
    }
    /* While stdin bytes wait, clients are not read: back-pressure. */
    if (!m->in_len)
      for (int i = 0; i < MON_MAX_CLIENTS; i++)
        if (m->c[i].fd >= 0) {
          pfd[n] = (struct pollfd){m->c[i].fd, POLLIN, 0};
          role[n++] = i;
        }
    if (poll(pfd, n, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    for (nfds_t i = 0; i < n; i++) {
      if (!pfd[i].revents)
        continue;
      int r = role[i];
      if (r == -1) {
        if (waitpid(pid, &status, WNOHANG) == pid)
          exited = true;
      } else if (r == -2 || r == -3) {
        struct mon_stream *s = &m->s[-2 - r];
        if (s->fd >= 0 && stream_read(m, s) == 0)
          stream_close(m, s);
      } else if (r == -4) {
        console_receive(m);
      } else if (r == -5) {
        client_accept(m);
      } else if (r == -6) {
        stdin_flush(m);
      } else if (m->c[r].fd == pfd[i].fd) {
        client_read(m, &m->c[r]);
      }
    }
  }
  /* The pid namespace is gone with its init; drain what is left. */
  if (m->console_in >= 0)
    console_receive(m);
  for (int i = 0; i < 2; i++) {
    while (m->s[i].fd >= 0 && stream_read(m, &m->s[i]) == 1) {
    }
    if (m->s[i].fd >= 0)
      stream_close(m, &m->s[i]);
  }
  record_exit(a, status);
  /* Clients see EOF after the exit is on disk. */
  unlinkat(dirfd, "attach", 0);
  _exit(0);
}
