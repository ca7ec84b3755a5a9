/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The monitor (M): forked by P, it clones the container init, moves it into
 * the cgroups, writes the id maps, lets it go, then copies its output to the
 * CRI log, reaps it and records the exit status.  It keeps nothing of P but
 * what it needs, so a daemon's sockets do not leak into it.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#include "kube-config.h"
#include "runtime/internal.h"

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
  rt_exit_record(dirfd, status, rt->cgops->oom_kills(&rt->cg, cgpath), out);
}

/* kube-pause, in the directory of kube-monitor; "" (the pause stays a
 * fork of this process) without one. */
static void rt_pause_find_helper(struct kube_runtime *rt) {
  char *p = rt->pause_helper;
  p[0] = '\0';
  const char *slash = strrchr(rt->monitor_helper, '/');
  if (!slash)
    return;
  snprintf(p, sizeof rt->pause_helper, "%.*s/kube-pause",
           (int)(slash - rt->monitor_helper), rt->monitor_helper);
  if (access(p, X_OK) < 0)
    p[0] = '\0';
}

/* The kube-monitor to exec in M: $KUBE_MONITOR_HELPER ("none": M keeps
 * running the loop itself); the build tree's when this program runs from
 * the build tree; ../libexec/kube-monitor next to this program (a moved
 * install); the configured libexecdir.  Checked once, not in M. */
void rt_monitor_find_helper(struct kube_runtime *rt) {
  char *h = rt->monitor_helper;
  size_t hl = sizeof rt->monitor_helper;
  h[0] = '\0';
  const char *env = getenv("KUBE_MONITOR_HELPER");
  if (env && *env) {
    if (!streq(env, "none") && access(env, X_OK) == 0)
      snprintf(h, hl, "%s", env);
    else if (!streq(env, "none"))
      log_warn("runtime: KUBE_MONITOR_HELPER %s: %s; monitors stay forks of "
               "this process", env, strerror(errno));
    rt_pause_find_helper(rt);
    return;
  }
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  exe[n > 0 ? n : 0] = '\0';
  size_t bl = strlen(KUBE_BUILD_ROOT);
  char cand[3][PATH_MAX];
  int nc = 0;
  if (n > 0 && !strncmp(exe, KUBE_BUILD_ROOT, bl) && exe[bl] == '/')
    snprintf(cand[nc++], PATH_MAX, "%s/src/runtime/kube-monitor",
             KUBE_BUILD_ROOT);
  char *slash = n > 0 ? strrchr(exe, '/') : NULL;
  if (slash) {
    *slash = '\0';
    snprintf(cand[nc++], PATH_MAX, "%.3800s/../libexec/kube-monitor", exe);
  }
  snprintf(cand[nc++], PATH_MAX, "%s/kube-monitor", KUBE_LIBEXECDIR);
  for (int i = 0; i < nc; i++)
    if (strlen(cand[i]) < hl && access(cand[i], X_OK) == 0) {
      snprintf(h, hl, "%s", cand[i]);
      break;
    }
  rt_pause_find_helper(rt);
  log_debug("runtime: no kube-monitor helper; monitors stay forks of this "
            "process");
}

/* Replace M with the kube-monitor helper: a fork of the daemon holds a
 * copy of its heap (~3 MB Pss each), the helper a few hundred kB.  The fds
 * it needs lose O_CLOEXEC, the rest is closed.  Returns only if the exec
 * failed; M then runs the same loop itself. */
static void exec_helper(const char *helper, const struct rt_monitor_args *a) {
  int fds[] = {a->pidfd,   a->dirfd,      a->out_fd,   a->err_fd,
               a->stdin_fd, a->console_in, a->listen_fd};
  rt_close_except(fds, ARRAY_SIZE(fds));
  for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
    if (fds[i] >= 0)
      fcntl(fds[i], F_SETFD, 0);
  char num[11][24];
  const char *argv[32];
  int n = 0, k = 0;
  argv[n++] = "kube-monitor";
#define ARG_NUM(flag, v)                                                       \
  do {                                                                         \
    snprintf(num[k], sizeof num[k], "%lld", (long long)(v));                   \
    argv[n++] = flag;                                                          \
    argv[n++] = num[k++];                                                      \
  } while (0)
  ARG_NUM("--pid", a->pid);
  ARG_NUM("--pidfd", a->pidfd);
  ARG_NUM("--state-fd", a->dirfd);
  ARG_NUM("--stdout", a->out_fd);
  ARG_NUM("--stderr", a->err_fd);
  ARG_NUM("--stdin", a->stdin_fd);
  ARG_NUM("--console", a->console_in);
  ARG_NUM("--attach", a->listen_fd);
  ARG_NUM("--log-max-size", a->log_max_size);
  ARG_NUM("--log-max-files", a->log_max_files);
#undef ARG_NUM
  if (a->log_path) {
    argv[n++] = "--log";
    argv[n++] = a->log_path;
  }
  if (a->oom_file[0]) {
    argv[n++] = "--oom-file";
    argv[n++] = a->oom_file;
  }
  if (a->tty)
    argv[n++] = "--tty";
  if (a->stdin_once)
    argv[n++] = "--stdin-once";
  argv[n] = NULL;
  char *const envp[] = {NULL};
  execve(helper, (char *const *)argv, envp);
  /* Not there (an embedder's build without it): back to close-on-exec. */
  for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
    if (fds[i] >= 0)
      fcntl(fds[i], F_SETFD, FD_CLOEXEC);
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
  struct rt_monitor_args a = {
      .pid = (pid_t)pid,
      .pidfd = pidfd,
      .dirfd = p->state_dir_fd,
      .log_path = log_path,
      .log_max_size = p->log_max_size,
      .log_max_files = p->log_max_files,
      .out_fd = p->log_pipe[0][0],
      .err_fd = p->log_pipe[1][0],
      .tty = p->monitor_tty,
      .stdin_fd = p->stdin_pipe[1],
      .stdin_once = p->stdin_once,
      .console_in = p->monitor_tty ? p->console_pair[0] : -1,
      .listen_fd = p->attach_fd,
  };
  if (!rt->cgops->oom_file(&rt->cg, cg->path, a.oom_file, sizeof a.oom_file))
    a.oom_file[0] = '\0';
  rt_child_report(sync_fd, SYNC_PID, 0, (pid_t)pid, NULL);
  if (rt->monitor_helper[0]) {
    close(sync_fd);
    exec_helper(rt->monitor_helper, &a);
  }
  rt_monitor_loop(&a);
}
