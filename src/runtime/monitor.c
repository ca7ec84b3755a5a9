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
    const kube_rt_config_t *cfg = p->cfg;
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
  pid_t go_pid = (pid_t)pid;
  if (write(go[1], &go_pid, sizeof go_pid) != (ssize_t)sizeof go_pid)
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
                            int dirfd, int status, kube_rt_exit_t *out) {
  kube_rt_exit_t e;
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
  rt_reset_signals();
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
  /* C has its ends: drop ours so EOF means C is done with them. */
  if (p->console_pair[1] >= 0)
    close(p->console_pair[1]);
  if (p->stdin_pipe[0] >= 0)
    close(p->stdin_pipe[0]);
  rt_child_report(sync_fd, SYNC_PID, 0, (pid_t)pid, NULL);
  rt_monitor_loop(rt, p, cg->path, log_path, pidfd, (pid_t)pid);
}
