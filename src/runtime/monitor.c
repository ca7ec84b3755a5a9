/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The monitor (M): forked by P, it clones the container init, moves it into
 * the cgroups, writes the id maps, lets it go, then copies its output to the
 * CRI log, reaps it and records the exit status.  It keeps nothing of P but
 * what it needs, so a daemon's sockets do not leak into it.
 */
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#include "runtime/internal.h"

struct log_stream {
  int fd;
  const char *name;
  size_t len;
  char buf[16384];
};

static void log_emit(int out, const char *stream, const char *tag,
                     const char *data, size_t len) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char head[96];
  int n =
      snprintf(head, sizeof head, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ %s %s ",
               tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
               tm.tm_min, tm.tm_sec, ts.tv_nsec, stream, tag);
  struct iovec iov[3] = {{head, (size_t)n}, {(void *)data, len}, {"\n", 1}};
  ssize_t w;
  do
    w = writev(out, iov, 3);
  while (w < 0 && errno == EINTR);
}

/* Split what arrived into CRI lines: full lines are "F", a buffer that fills
 * up without a newline goes out as a partial "P" line. */
static void log_feed(int out, struct log_stream *s, bool flush) {
  size_t start = 0;
  for (size_t i = 0; i < s->len; i++)
    if (s->buf[i] == '\n') {
      log_emit(out, s->name, "F", s->buf + start, i - start);
      start = i + 1;
    }
  memmove(s->buf, s->buf + start, s->len - start);
  s->len -= start;
  if (s->len == sizeof s->buf || (flush && s->len)) {
    log_emit(out, s->name, flush ? "F" : "P", s->buf, s->len);
    s->len = 0;
  }
}

/* 1: data, 0: end of stream, -1: nothing right now. */
static int log_read(int out, struct log_stream *s) {
  ssize_t n = read(s->fd, s->buf + s->len, sizeof s->buf - s->len);
  if (n < 0)
    return errno == EAGAIN || errno == EINTR ? -1 : 0;
  if (n == 0)
    return 0;
  s->len += (size_t)n;
  log_feed(out, s, false);
  return 1;
}

static void close_except(const int *keep, size_t n) {
  int sorted[8];
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

/* Clone C into its namespaces and cgroups, write the id maps, let it go.
 * Used by M and, for run-and-wait, by P itself.  Returns C's pid (and its
 * pidfd) or -1 with errno set and *what naming the step.  No allocation. */
long rt_monitor_spawn(struct child_plan *p, const struct cg_handle *cg,
                      int sync_fd, int *pidfd_out, const char **what) {
  int go[2];
  *what = "pipe";
  if (pipe2(go, O_CLOEXEC) < 0)
    return -1;
  int pidfd = -1;
  int cgfd = cg->unified_fd;
  long pid = rt_raw_clone3((uint64_t)p->clone_ns_flags, &pidfd, cgfd);
  if (pid < 0 && cgfd >= 0 &&
      (errno == EINVAL || errno == EOPNOTSUPP || errno == EBUSY)) {
    cgfd = -1; /* CLONE_INTO_CGROUP refused: write cgroup.procs instead */
    pid = rt_raw_clone3((uint64_t)p->clone_ns_flags, &pidfd, -1);
  }
  if (pid == 0) {
    close(go[1]);
    p->go_fd = go[0];
    p->sync_fd = sync_fd;
    rt_child_main(p);
  }
  int saved = errno;
  close(go[0]);
  if (pid < 0) {
    close(go[1]);
    errno = saved;
    *what = "clone3 (linux.namespaces)";
    return -1;
  }
  /* Enter the cgroups before C runs anything. */
  struct cg_handle enter = *cg;
  if (cgfd >= 0)
    enter.unified_procs_fd = -1;
  *what = "join cgroup";
  if (rt_cg_handle_enter(&enter, (pid_t)pid) < 0)
    goto kill_child;
  if (p->new_user) {
    const kube_container_config_t *cfg = p->cfg;
    for (int which = 0; which < 2; which++) {
      char path[64], buf[1024];
      size_t n = 0;
      const kube_rt_id_map_t *m = which ? cfg->gid_mappings : cfg->uid_mappings;
      size_t cnt = which ? cfg->n_gid_mappings : cfg->n_uid_mappings;
      for (size_t i = 0; i < cnt && n < sizeof buf - 40; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%u %u %u\n",
                              m[i].container_id, m[i].host_id, m[i].size);
      snprintf(path, sizeof path, "/proc/%ld/%s", pid,
               which ? "gid_map" : "uid_map");
      *what = which ? "write linux.gidMappings" : "write linux.uidMappings";
      int fd = open(path, O_WRONLY | O_CLOEXEC);
      if (fd < 0)
        goto kill_child;
      if (write(fd, buf, n) != (ssize_t)n) {
        saved = errno;
        close(fd);
        errno = saved;
        goto kill_child;
      }
      close(fd);
    }
  }
  *what = "start init";
  if (write(go[1], "g", 1) != 1)
    goto kill_child;
  close(go[1]);
  *pidfd_out = pidfd;
  return pid;
kill_child:
  saved = errno;
  close(go[1]);
  kill((pid_t)pid, SIGKILL);
  waitpid((pid_t)pid, NULL, 0);
  if (pidfd >= 0)
    close(pidfd);
  errno = saved;
  return -1;
}

/* Turn a wait status into the exit record and write it.  No allocation. */
void rt_monitor_record_exit(struct kube_runtime *rt, const char *cgpath,
                            int dirfd, int status, kube_container_exit_t *out) {
  kube_container_exit_t e;
  memset(&e, 0, sizeof e);
  clock_gettime(CLOCK_REALTIME, &e.finished_at);
  if (WIFSIGNALED(status)) {
    e.signal = WTERMSIG(status);
    e.exit_code = 128 + e.signal;
  } else {
    e.exit_code = WEXITSTATUS(status);
  }
  long oom = rt->cgops->oom_kills(&rt->cg, cgpath);
  e.oom_killed = oom > 0;
  snprintf(e.reason, sizeof e.reason, "%s",
           e.oom_killed       ? "OOMKilled"
           : e.exit_code == 0 ? "Completed"
                              : "Error");
  rt_state_write_exit(dirfd, &e);
  if (out)
    *out = e;
}

void rt_monitor_main(struct kube_runtime *rt, struct child_plan *p,
                     const struct cg_handle *cg, const char *log_path,
                     int sync_fd) {
  setsid();
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; s++)
    sigaction(s, &sa, NULL);
  sigset_t set;
  sigemptyset(&set);
  sigprocmask(SIG_SETMASK, &set, NULL);
  if (p->join_fd[KUBE_NS_PID] >= 0 &&
      setns(p->join_fd[KUBE_NS_PID], CLONE_NEWPID) < 0) {
    rt_child_report(sync_fd, SYNC_ERROR, errno, 0,
                    "join linux.namespaces pid: %s", strerror(errno));
    _exit(1);
  }
  int pidfd = -1;
  const char *what = "";
  long pid = rt_monitor_spawn(p, cg, sync_fd, &pidfd, &what);
  if (pid < 0) {
    rt_child_report(sync_fd, SYNC_ERROR, errno, 0, "%s: %s", what,
                    strerror(errno));
    _exit(1);
  }
  rt_child_report(sync_fd, SYNC_PID, 0, (pid_t)pid, NULL);

  /* From here on M only watches.  Drop everything inherited from P. */
  int logfd = -1;
  struct log_stream streams[2];
  size_t n_streams = 0;
  if (log_path && p->log_pipe[0][0] >= 0) {
    logfd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    streams[0].fd = p->log_pipe[0][0];
    streams[0].name = "stdout";
    streams[0].len = 0;
    streams[1].fd = p->log_pipe[1][0];
    streams[1].name = "stderr";
    streams[1].len = 0;
    n_streams = 2;
  }
  int dirfd = p->state_dir_fd;
  const char *cgpath = cg->path;
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull >= 0) {
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
  }
  int keep[] = {pidfd, dirfd, logfd, n_streams ? streams[0].fd : -1,
                n_streams ? streams[1].fd : -1};
  close_except(keep, ARRAY_SIZE(keep));
  for (size_t i = 0; i < n_streams; i++)
    fcntl(streams[i].fd, F_SETFL, O_NONBLOCK);

  bool exited = false;
  int status = 0;
  while (!exited) {
    struct pollfd pfd[3];
    nfds_t n = 0;
    pfd[n++] = (struct pollfd){pidfd, POLLIN, 0};
    for (size_t i = 0; i < n_streams; i++)
      if (streams[i].fd >= 0)
        pfd[n++] = (struct pollfd){streams[i].fd, POLLIN, 0};
    if (poll(pfd, n, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    for (nfds_t i = 1; i < n; i++)
      if (pfd[i].revents) {
        struct log_stream *s =
            streams[0].fd == pfd[i].fd ? &streams[0] : &streams[1];
        if (log_read(logfd, s) == 0) {
          log_feed(logfd, s, true);
          close(s->fd);
          s->fd = -1;
        }
      }
    if (pfd[0].revents) {
      if (waitpid((pid_t)pid, &status, 0) == (pid_t)pid)
        exited = true;
    }
  }
  /* The pid namespace is gone with its init; drain what is left. */
  for (size_t i = 0; i < n_streams; i++) {
    while (streams[i].fd >= 0 && log_read(logfd, &streams[i]) == 1) {
    }
    if (streams[i].fd >= 0) {
      log_feed(logfd, &streams[i], true);
      close(streams[i].fd);
    }
  }
  rt_monitor_record_exit(rt, cgpath, dirfd, status, NULL);
  _exit(0);
}
