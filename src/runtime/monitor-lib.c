/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the monitor needs besides its loop, shared by libkube (P, and M when
 * it cannot exec the helper) and the kube-monitor helper: system calls and
 * stack buffers only, no libkube dependency, no allocation (M is a fork of
 * a process that may have had threads).
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

#include "runtime/internal.h"

void rt_close_except(const int *keep, size_t n) {
  int sorted[16];
  size_t k = 0;
  for (size_t i = 0; i < n && k < ARRAY_SIZE(sorted); i++)
    if (keep[i] > 2)
      sorted[k++] = keep[i];
  for (size_t i = 1; i < k; i++)
    for (size_t j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
      int t = sorted[j];
      sorted[j] = sorted[j - 1];
      sorted[j - 1] = t;
    }
  unsigned lo = 3;
  for (size_t i = 0; i < k; i++) {
    if ((unsigned)sorted[i] > lo)
      syscall(SYS_close_range, lo, (unsigned)sorted[i] - 1, 0);
    lo = (unsigned)sorted[i] + 1;
  }
  syscall(SYS_close_range, lo, ~0U, 0);
}

int rt_write_atomic(int dirfd, const char *name, const char *data,
                        size_t len) {
  char tmp[64];
  snprintf(tmp, sizeof tmp, ".%s.tmp", name);
  int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return -1;
  ssize_t n = write(fd, data, len);
  int saved = errno;
  close(fd);
  if (n != (ssize_t)len) {
    errno = n < 0 ? saved : EIO;
    return -1;
  }
  return renameat(dirfd, tmp, dirfd, name);
}

int rt_state_format_exit(char *buf, size_t len, const kube_rt_exit_t *e) {
  return snprintf(buf, len, "%d %d %d %lld %ld %s\n", e->exit_code, e->signal,
                  e->oom_killed ? 1 : 0, (long long)e->finished_at.tv_sec,
                  e->finished_at.tv_nsec, e->reason);
}

int rt_state_write_exit(int dirfd, const kube_rt_exit_t *e) {
  char buf[128];
  int n = rt_state_format_exit(buf, sizeof buf, e);
  return rt_write_atomic(dirfd, "exit", buf, (size_t)n);
}

/* Value of "key N" in a flat-keyed file (memory.events, oom_control); -1
 * when the file or the key is missing. */
long rt_file_read_key(const char *path, const char *key) {
  char buf[2048];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n < 0)
    return -1;
  buf[n] = 0;
  size_t kl = strlen(key);
  for (char *line = buf; line && *line;) {
    if (strncmp(line, key, kl) == 0 && line[kl] == ' ')
      return strtol(line + kl + 1, NULL, 10);
    line = strchr(line, '\n');
    if (line)
      line++;
  }
  return -1;
}

ssize_t rt_recv_fd(int sock, void *buf, size_t len, int *fd_out) {
  char cbuf[CMSG_SPACE(sizeof(int) * 4)];
  struct iovec iov = {buf, len};
  struct msghdr msg = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = cbuf,
                       .msg_controllen = sizeof cbuf};
  *fd_out = -1;
  ssize_t n;
  do
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
      continue;
    size_t cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < cnt; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      if (*fd_out < 0)
        *fd_out = fd;
      else
        close(fd); /* one fd per message is all we take */
    }
  }
  return n;
}

int rt_tty_resize(int fd, unsigned short rows, unsigned short cols) {
  struct winsize ws = {rows, cols, 0, 0};
  return ioctl(fd, TIOCSWINSZ, &ws);
}

void rt_exit_record(int dirfd, int status, long oom_kills,
                    kube_rt_exit_t *out) {
  kube_rt_exit_t e;
  memset(&e, 0, sizeof e);
  clock_gettime(CLOCK_REALTIME, &e.finished_at);
  if (WIFSIGNALED(status)) {
    e.signal = WTERMSIG(status);
    e.exit_code = 128 + e.signal;
  } else {
    e.exit_code = WEXITSTATUS(status);
  }
  e.oom_killed = oom_kills > 0;
  snprintf(e.reason, sizeof e.reason, "%s",
           e.oom_killed       ? "OOMKilled"
           : e.exit_code == 0 ? "Completed"
                              : "Error");
  rt_state_write_exit(dirfd, &e);
  if (out)
    *out = e;
}

/* ---- the pause loop (sandbox-pid.c, pause-main.c) ---------------------- */

static void pause_reap(int sig) {
  (void)sig;
  int e = errno;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = e;
}

static void pause_die(int sig) {
  _exit(sig == SIGINT || sig == SIGTERM ? 0 : 1);
}

void rt_pause_loop(void) {
  /* "pause", as the kubelet's: ps shows its /pause command line as is */
  prctl(PR_SET_NAME, "pause", 0, 0, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = pause_die;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sa.sa_handler = pause_reap;
  sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  sigaction(SIGCHLD, &sa, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  pause_reap(0); /* orphans that came before the handler */
  for (;;)
    pause();
}
