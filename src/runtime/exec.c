/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exec into a running container: a helper (X) joins the cgroup and, through
 * the init's pidfd, all its namespaces at once; it then clones the process
 * (Y) with CLONE_PARENT so Y is the caller's child, inside the container's
 * pid namespace, and exits.  Y takes the container's user, capabilities,
 * no_new_privs and seccomp filter and execs.
 */
#include <fcntl.h>
#include <stddef.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "runtime/internal.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

char *rt_read_file_at(int dirfd, const char *name) {
  int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  char buf[8192];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0)
    kube_strbuf_append_len(&sb, buf, (size_t)n);
  close(fd);
  return kube_strbuf_steal(&sb);
}

#define YFAIL(what)                                                            \
  do {                                                                         \
    int e_ = errno;                                                            \
    rt_child_report(p->sync_fd, SYNC_ERROR, e_, 0, "exec: %s: %s", (what),     \
                    strerrordesc_np(e_) ? strerrordesc_np(e_) : "error");      \
    _exit(127);                                                                \
  } while (0)

/* The exec'd process's own pty, from the container's devpts (we are in
 * its mount namespace): master to the console socket and/or the caller. */
static void exec_terminal(struct child_plan *p, unsigned short rows,
                          unsigned short cols) {
  int master, slave;
  if (rt_pty_open(rows, cols, &master, &slave) < 0)
    YFAIL("open /dev/ptmx for the terminal");
  if (p->console_fd >= 0 &&
      rt_send_fd(p->console_fd, master, "/dev/ptmx", 9) < 0)
    YFAIL("send the pty master to the console socket");
  if (p->pty_to_parent) {
    struct sync_msg m;
    memset(&m, 0, sizeof m);
    m.type = SYNC_PTY;
    if (rt_send_fd(p->sync_fd, master, &m, sizeof m) < 0)
      YFAIL("send the pty master");
  }
  close(master);
  if (p->console_fd >= 0)
    close(p->console_fd);
  if (rt_pty_become_tty(slave) < 0)
    YFAIL("make the pty the controlling terminal");
}

static __attribute__((noreturn)) void
exec_child(struct child_plan *p, const kube_exec_options_t *o, bool terminal) {
  const kube_rt_config_t *cfg = p->cfg;
  const char *what = "";
  rt_reset_signals();
  int fds[3];
  for (int i = 0; i < 3; i++) {
    int src =
        p->stdio[i] >= 0 ? p->stdio[i] : open("/dev/null", O_RDWR | O_CLOEXEC);
    if (src < 0 || (fds[i] = fcntl(src, F_DUPFD_CLOEXEC, 10)) < 0)
      YFAIL("stdio");
  }
  for (int i = 0; i < 3; i++)
    if (dup2(fds[i], i) < 0)
      YFAIL("stdio");
  if (terminal)
    exec_terminal(p, o->rows, o->cols);
  for (size_t i = 0; i < cfg->n_rlimits; i++) {
    struct rlimit rl = {cfg->rlimits[i].soft, cfg->rlimits[i].hard};
    if (setrlimit(cfg->rlimits[i].resource, &rl) < 0)
      YFAIL("process.rlimits");
  }
  if (!cfg->no_new_privileges && rt_child_load_seccomp(p) < 0)
    YFAIL("linux.seccomp");
  if (rt_child_set_user(cfg, &what) < 0)
    YFAIL(what);
  const char *cwd = o->cwd ? o->cwd : cfg->cwd ? cfg->cwd : "/";
  if (chdir(cwd) < 0)
    YFAIL("cwd");
  if (cfg->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    YFAIL("no_new_privs");
  if (cfg->no_new_privileges && rt_child_load_seccomp(p) < 0)
    YFAIL("linux.seccomp");
  syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
  rt_child_exec(p, o->args, o->env ? o->env : cfg->env);
}

KUBE_EXPORT int kube_runtime_exec(kube_runtime_t *rt, const char *id,
                                  const kube_exec_options_t *opts,
                                  pid_t *pid_out, kube_rt_exit_t *exit_out,
                                  kube_error_t *err) {
  if (!opts || !opts->args || !opts->args[0])
    return kube_error_set(err, KUBE_REASON_INVALID, 0, "exec: args required");
  /* The terminal fields exist for callers built against libkube 0.2. */
  bool terminal =
      opts->struct_size >=
          offsetof(kube_exec_options_t, terminal_fd_out) + sizeof(int *) &&
      opts->terminal;
  if (terminal && !opts->console_socket && !opts->terminal_fd_out)
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "exec: a terminal needs console_socket or "
                          "terminal_fd_out");
  kube_rt_state_t cs;
  if (kube_runtime_state(rt, id, &cs, err) < 0)
    return -1;
  kube_rt_status_t cstatus = cs.status;
  kube_rt_state_clear(&cs);
  if (cstatus != KUBE_RT_RUNNING)
    return kube_error_set(err, KUBE_REASON_CONFLICT, 0,
                          "container \"%s\" is %s, not running", id,
                          kube_rt_status_string(cstatus));
  int dirfd = rt_open_container(rt, id, err);
  if (dirfd < 0)
    return -1;
  struct rt_state st;
  char *json = NULL;
  kube_rt_config_t *cfg = NULL;
  struct child_plan plan;
  struct cg_handle cg;
  int rc = -1, pidfd = -1, sync[2] = {-1, -1}, pty = -1;
  memset(&plan, 0, sizeof plan);
  for (int i = 0; i < KUBE_NS__COUNT; i++)
    plan.join_fd[i] = -1;
  plan.console_fd = -1;
  rt_cg_handle_init(&cg, &rt->cg, "");
  if (rt_state_read(dirfd, &st, err) < 0)
    goto out;
  if (!(json = rt_read_file_at(dirfd, "config.json"))) {
    kube_make_error(err, errno, "exec: container config missing");
    goto out;
  }
  if (!(cfg = rt_config_parse_stored(json, err)))
    goto out;
  if (opts->set_user) {
    cfg->uid = opts->uid;
    cfg->gid = opts->gid;
  }
  plan.cfg = cfg;
  plan.stdio[0] = opts->io.stdin_fd;
  plan.stdio[1] = opts->io.stdout_fd;
  plan.stdio[2] = opts->io.stderr_fd;
  for (size_t i = 0; i < cfg->n_env; i++)
    if (str_has_prefix(cfg->env[i], "PATH="))
      plan.path_env = cfg->env[i] + 5;
  if (cfg->seccomp && rt_seccomp_compile(cfg->seccomp, &plan.seccomp_prog,
                                         &plan.seccomp_len, err) < 0)
    goto out;
  int nsflags = 0;
  for (size_t i = 0; i < cfg->n_namespaces; i++)
    nsflags |= rt_ns_clone_flag(cfg->namespaces[i].type);
  rt_cg_handle_init(&cg, &rt->cg, st.cgroup_path);
  if (rt_cg_handle_open(&cg, err) < 0)
    goto out;
  pidfd = (int)syscall(SYS_pidfd_open, st.pid, 0);
  if (pidfd < 0 || !rt_proc_alive(st.pid, st.pid_start)) {
    kube_error_set(err, KUBE_REASON_CONFLICT, ESRCH,
                   "container \"%s\" is not running", id);
    goto out;
  }
  if (terminal && opts->console_socket) {
    kube_error_t e = KUBE_ERROR_INIT;
    plan.console_fd = rt_unix_connect(opts->console_socket, SOCK_STREAM, &e);
    if (plan.console_fd < 0) {
      kube_error_set(err, KUBE_REASON_INVALID, e.errnum,
                     "exec: console socket: %s", e.message);
      kube_error_clear(&e);
      goto out;
    }
  }
  plan.pty_to_parent = terminal && opts->terminal_fd_out;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0) {
    kube_make_error(err, errno, "socketpair: %s", strerror(errno));
    goto out;
  }
  pid_t helper = fork();
  if (helper < 0) {
    kube_make_error(err, errno, "fork: %s", strerror(errno));
    goto out;
  }
  if (helper == 0) {
    close(sync[0]);
    plan.sync_fd = sync[1];
    if (rt_cg_handle_enter(&cg, getpid()) < 0) {
      rt_child_report(sync[1], SYNC_ERROR, errno, 0, "exec: join cgroup: %s",
                      strerror(errno));
      _exit(1);
    }
    if (nsflags && setns(pidfd, nsflags) < 0) {
      rt_child_report(sync[1], SYNC_ERROR, errno, 0,
                      "exec: join namespaces: %s", strerror(errno));
      _exit(1);
    }
    long y = rt_raw_clone3(0, NULL, -1);
    if (y == 0)
      exec_child(&plan, opts, terminal);
    if (y < 0) {
      rt_child_report(sync[1], SYNC_ERROR, errno, 0, "exec: clone: %s",
                      strerror(errno));
      _exit(1);
    }
    rt_child_report(sync[1], SYNC_PID, 0, (pid_t)y, NULL);
    close(sync[1]);
    syscall(SYS_close_range, 3, ~0U, 0);
    /* Relay: signals for X go to Y; X ends as Y ended. */
    int ystatus = 0;
    while (waitpid((pid_t)y, &ystatus, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(ystatus))
      _exit(128 + WTERMSIG(ystatus));
    _exit(WEXITSTATUS(ystatus));
  }
  close(sync[1]);
  sync[1] = -1;
  if (plan.console_fd >= 0) {
    close(plan.console_fd);
    plan.console_fd = -1;
  }
  pid_t pid = 0;
  for (;;) {
    struct sync_msg m;
    int got = -1;
    ssize_t n = rt_recv_fd(sync[0], &m, sizeof m, &got);
    if (got >= 0 && pty < 0 && m.type == SYNC_PTY)
      pty = got;
    else if (got >= 0)
      close(got);
    if (n <= 0)
      break;
    if (m.type == SYNC_PID)
      pid = m.pid;
    else if (m.type == SYNC_ERROR) {
      kube_error_set(err, KUBE_REASON_INVALID, m.errnum, "%s", m.msg);
      waitpid(helper, NULL, 0);
      goto out;
    }
  }
  if (pid <= 0) {
    waitpid(helper, NULL, 0);
    kube_make_error(err, 0, "exec: helper failed");
    goto out;
  }
  if (plan.pty_to_parent) {
    if (pty < 0) {
      kill(helper, SIGKILL);
      waitpid(helper, NULL, 0);
      kube_make_error(err, 0, "exec: no pty master received");
      goto out;
    }
    *opts->terminal_fd_out = steal_fd(&pty);
  }
  if (pid_out)
    *pid_out = helper;
  if (exit_out) {
    int status = 0;
    while (waitpid(helper, &status, 0) < 0 && errno == EINTR) {
    }
    memset(exit_out, 0, sizeof *exit_out);
    clock_gettime(CLOCK_REALTIME, &exit_out->finished_at);
    if (WIFSIGNALED(status)) {
      exit_out->signal = WTERMSIG(status);
      exit_out->exit_code = 128 + exit_out->signal;
    } else {
      exit_out->exit_code = WEXITSTATUS(status);
    }
    snprintf(exit_out->reason, sizeof exit_out->reason, "%s",
             exit_out->exit_code ? "Error" : "Completed");
  }
  rc = 0;
out:
  if (pty >= 0)
    close(pty);
  if (plan.console_fd >= 0)
    close(plan.console_fd);
  if (sync[0] >= 0)
    close(sync[0]);
  if (sync[1] >= 0)
    close(sync[1]);
  if (pidfd >= 0)
    close(pidfd);
  rt_cg_handle_close(&cg);
  free(plan.seccomp_prog);
  kube_rt_config_free(cfg);
  free(json);
  close(dirfd);
  return rc;
}
