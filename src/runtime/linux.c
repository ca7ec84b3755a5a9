/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's init (C): namespaces, rootfs, limits, user, capabilities,
 * no_new_privs, seccomp, then execve.  Prepared by P in rt_plan_prepare();
 * everything after the clone is system calls on stack buffers.
 */
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "runtime/internal.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static const int ns_clone_flag[KUBE_NS__COUNT] = {
    [KUBE_NS_PID] = CLONE_NEWPID,       [KUBE_NS_NETWORK] = CLONE_NEWNET,
    [KUBE_NS_MOUNT] = CLONE_NEWNS,      [KUBE_NS_IPC] = CLONE_NEWIPC,
    [KUBE_NS_UTS] = CLONE_NEWUTS,       [KUBE_NS_USER] = CLONE_NEWUSER,
    [KUBE_NS_CGROUP] = CLONE_NEWCGROUP,
};

int rt_ns_clone_flag(kube_ns_type_t t) {
  return ns_clone_flag[t];
}

int rt_plan_prepare(struct child_plan *p, const kube_rt_config_t *cfg,
                    kube_error_t *err) {
  memset(p, 0, sizeof *p);
  p->cfg = cfg;
  for (int i = 0; i < KUBE_NS__COUNT; i++)
    p->join_fd[i] = -1;
  p->fifo_fd = p->sync_fd = p->go_fd = p->state_dir_fd = -1;
  p->stdio[0] = p->stdio[1] = p->stdio[2] = -1;
  p->console_fd = p->attach_fd = -1;
  p->console_pair[0] = p->console_pair[1] = -1;
  p->stdin_pipe[0] = p->stdin_pipe[1] = -1;
  for (int i = 0; i < 2; i++)
    p->log_pipe[i][0] = p->log_pipe[i][1] = -1;
  if (!cfg->root_path || cfg->root_path[0] != '/')
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "root.path: must be an absolute path");
  struct stat st;
  if (stat(cfg->root_path, &st) < 0 || !S_ISDIR(st.st_mode))
    return kube_error_set(err, KUBE_REASON_INVALID, errno,
                          "root.path: rootfs \"%s\" does not exist",
                          cfg->root_path);
  snprintf(p->root, sizeof p->root, "%s", cfg->root_path);
  if (!cfg->args || cfg->n_args == 0 || !cfg->args[0])
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "process.args: must not be empty");
  for (size_t i = 0; i < cfg->n_namespaces; i++) {
    const kube_rt_namespace_t *ns = &cfg->namespaces[i];
    if ((unsigned)ns->type >= KUBE_NS__COUNT)
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "linux.namespaces[%zu].type: unknown namespace", i);
    if (ns->path) {
      p->join_fd[ns->type] = open(ns->path, O_RDONLY | O_CLOEXEC);
      if (p->join_fd[ns->type] < 0)
        return kube_error_set(err, KUBE_REASON_INVALID, errno,
                              "linux.namespaces[%zu].path: %s: %s", i, ns->path,
                              strerror(errno));
      continue;
    }
    switch (ns->type) {
    case KUBE_NS_USER:
      p->new_user = true;
      break;
    case KUBE_NS_MOUNT:
      p->new_mount = true;
      break;
    case KUBE_NS_CGROUP:
      p->new_cgroupns = true;
      continue; /* after cgroup join */
    case KUBE_NS_UTS:
      p->new_uts = true;
      break;
    case KUBE_NS_NETWORK:
      p->new_net = true;
      break;
    default:
      break;
    }
    p->clone_ns_flags |= ns_clone_flag[ns->type];
  }
  if (p->new_user && (cfg->n_uid_mappings == 0 || cfg->n_gid_mappings == 0))
    return kube_error_set(
        err, KUBE_REASON_INVALID, 0,
        "linux.uidMappings: required with a new user namespace");
  if (cfg->hostname && !p->new_uts)
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "hostname: needs a new uts namespace");
  /* Joining a user namespace: the other new namespaces must belong to it,
   * so C makes them with unshare() after setns(). */
  if (p->join_fd[KUBE_NS_USER] >= 0) {
    p->unshare_flags = p->clone_ns_flags & ~CLONE_NEWPID;
    p->clone_ns_flags &= CLONE_NEWPID;
  }
  if (!p->new_mount && cfg->n_mounts > 0 && p->join_fd[KUBE_NS_MOUNT] < 0)
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "mounts: need a new mount namespace");
  for (size_t i = 0; i < cfg->n_sysctl; i++) {
    /* Only what the container's own namespaces scope, as runc allows. */
    const char *k = cfg->sysctl_keys[i];
    bool ok = false;
    if (str_has_prefix(k, "net."))
      ok = p->new_net || p->join_fd[KUBE_NS_NETWORK] >= 0;
    else if (str_has_prefix(k, "kernel.msg") ||
             str_has_prefix(k, "kernel.shm") || streq(k, "kernel.sem") ||
             str_has_prefix(k, "fs.mqueue."))
      ok = (p->clone_ns_flags | p->unshare_flags) & CLONE_NEWIPC ||
           p->join_fd[KUBE_NS_IPC] >= 0;
    else if (streq(k, "kernel.hostname") || streq(k, "kernel.domainname"))
      ok = p->new_uts || p->join_fd[KUBE_NS_UTS] >= 0;
    if (!ok)
      return kube_error_set(
          err, KUBE_REASON_INVALID, 0,
          "linux.sysctl.%s: not scoped by the container's namespaces", k);
  }
  for (size_t i = 0; i < cfg->n_env; i++)
    if (str_has_prefix(cfg->env[i], "PATH="))
      p->path_env = cfg->env[i] + 5;
  if (rt_plan_prepare_mounts(p, cfg, err) < 0)
    return -1;
  if (cfg->seccomp && rt_seccomp_compile(cfg->seccomp, &p->seccomp_prog,
                                         &p->seccomp_len, err) < 0)
    return -1;
  return 0;
}

void rt_plan_free(struct child_plan *p) {
  for (int i = 0; i < KUBE_NS__COUNT; i++)
    if (p->join_fd[i] >= 0) {
      close(p->join_fd[i]);
      p->join_fd[i] = -1;
    }
  free(p->mounts);
  p->mounts = NULL;
  free(p->mount_data);
  p->mount_data = NULL;
  free(p->seccomp_prog);
  p->seccomp_prog = NULL;
  for (int i = 0; i < 2; i++) {
    free(p->hook_state[i]);
    p->hook_state[i] = NULL;
  }
}

long rt_raw_clone3(uint64_t flags, int *pidfd, int cgroup_fd) {
  struct clone_args a;
  memset(&a, 0, sizeof a);
  a.flags = flags;
  if (pidfd) {
    a.flags |= CLONE_PIDFD;
    a.pidfd = (uint64_t)(uintptr_t)pidfd;
  }
  if (cgroup_fd >= 0) {
    a.flags |= CLONE_INTO_CGROUP;
    a.cgroup = (uint64_t)cgroup_fd;
  }
  a.exit_signal = SIGCHLD;
  return syscall(SYS_clone3, &a, sizeof a);
}

void rt_child_report(int fd, int type, int errnum, pid_t pid, const char *fmt,
                     ...) {
  struct sync_msg m;
  memset(&m, 0, sizeof m);
  m.type = type;
  m.errnum = errnum;
  m.pid = pid;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m.msg, sizeof m.msg, fmt, ap);
    va_end(ap);
  }
  ssize_t n;
  do
    n = send(fd, &m, sizeof m, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
}

static const char *errstr(int e) {
  const char *s = strerrordesc_np(e);
  return s ? s : "unknown error";
}

#define FAIL(what, where)                                                      \
  do {                                                                         \
    int e_ = errno;                                                            \
    rt_child_report(p->sync_fd, SYNC_ERROR, e_, 0, "%s %s: %s", (what),        \
                    (where), errstr(e_));                                      \
    _exit(127);                                                                \
  } while (0)

void rt_child_exec(const struct child_plan *p, char *const *args,
                   char *const *env) {
  const char *file = args[0];
  if (strchr(file, '/')) {
    execve(file, args, env);
  } else {
    const char *path =
        p->path_env
            ? p->path_env
            : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    int saved = ENOENT;
    while (*path) {
      const char *colon = strchr(path, ':');
      size_t len = colon ? (size_t)(colon - path) : strlen(path);
      char full[1024];
      if (len + strlen(file) + 2 < sizeof full) {
        memcpy(full, path, len);
        full[len] = '/';
        strcpy(full + len + 1, file);
        execve(full, args, env);
        if (errno != ENOENT && errno != ENOTDIR)
          saved = errno;
      }
      if (!colon)
        break;
      path = colon + 1;
    }
    errno = saved;
  }
  int e = errno;
  rt_child_report(p->sync_fd, SYNC_ERROR, e, 0,
                  "process.args[0]: exec \"%s\": %s", file, errstr(e));
  _exit(127);
}

/* Check that the executable exists before reporting READY, so `create`
 * fails on a bad args[0] as runc and crun do. */
static int find_executable(const struct child_plan *p, const char *file) {
  if (strchr(file, '/'))
    return access(file, X_OK);
  const char *path =
      p->path_env
          ? p->path_env
          : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  while (*path) {
    const char *colon = strchr(path, ':');
    size_t len = colon ? (size_t)(colon - path) : strlen(path);
    char full[1024];
    if (len + strlen(file) + 2 < sizeof full) {
      memcpy(full, path, len);
      full[len] = '/';
      strcpy(full + len + 1, file);
      if (access(full, X_OK) == 0)
        return 0;
    }
    if (!colon)
      break;
    path = colon + 1;
  }
  errno = ENOENT;
  return -1;
}

void rt_reset_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; s++)
    sigaction(s, &sa, NULL);
  sigset_t set;
  sigemptyset(&set);
  sigprocmask(SIG_SETMASK, &set, NULL);
}

static int setup_stdio(struct child_plan *p) {
  int fds[3];
  for (int i = 0; i < 3; i++) {
    int src = p->stdio[i];
    if (i == 0 && p->stdin_pipe[0] >= 0)
      src = p->stdin_pipe[0];
    if (i > 0 && p->log_pipe[i - 1][1] >= 0)
      src = p->log_pipe[i - 1][1];
    if (src < 0)
      src = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (src < 0)
      return -1;
    /* Move out of 0..2 first so the dup2s below cannot clobber a source. */
    fds[i] = fcntl(src, F_DUPFD_CLOEXEC, 10);
    if (fds[i] < 0)
      return -1;
  }
  for (int i = 0; i < 3; i++)
    if (dup2(fds[i], i) < 0)
      return -1;
  for (int i = 0; i < 3; i++)
    close(fds[i]);
  return 0;
}

/* The mounts exist, pivot_root has not happened: P runs prestart and
 * createRuntime (runtime namespace), then we run createContainer here. */
static void child_create_hooks(struct child_plan *p) {
  const kube_rt_config_t *cfg = p->cfg;
  if (p->runtime_hooks) {
    rt_child_report(p->sync_fd, SYNC_HOOKS, 0, 0, NULL);
    struct sync_msg m;
    ssize_t n;
    do
      n = recv(p->sync_fd, &m, sizeof m, 0);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof m || m.type != SYNC_RESUME)
      _exit(127); /* P reports the hook's error */
  }
  for (size_t i = 0; i < cfg->n_hooks[KUBE_HOOK_CREATE_CONTAINER]; i++) {
    char msg[400];
    if (rt_hook_run(&cfg->hooks[KUBE_HOOK_CREATE_CONTAINER][i],
                    p->hook_state[0], p->host_pid, msg, sizeof msg) < 0) {
      rt_child_report(p->sync_fd, SYNC_ERROR, 0, 0,
                      "hooks.createContainer[%zu]: %s", i, msg);
      _exit(127);
    }
  }
}

/* After exec.fifo: startContainer hooks, in the container.  Nobody waits
 * on the sync socket any more: a failure ends the container (exit 127)
 * with the reason on its stderr. */
static void child_start_hooks(struct child_plan *p) {
  const kube_rt_config_t *cfg = p->cfg;
  for (size_t i = 0; i < cfg->n_hooks[KUBE_HOOK_START_CONTAINER]; i++) {
    char msg[400];
    if (rt_hook_run(&cfg->hooks[KUBE_HOOK_START_CONTAINER][i], p->hook_state[1],
                    p->host_pid, msg, sizeof msg) < 0) {
      char line[512];
      int n = snprintf(line, sizeof line, "hooks.startContainer[%zu]: %s\n", i,
                       msg);
      ssize_t w = write(2, line, (size_t)n);
      (void)w;
      _exit(127);
    }
  }
}

/* process.terminal: a pty from the container's own devpts, its slave as
 * the controlling terminal and stdio, its master sent away. */
static void child_terminal(struct child_plan *p) {
  const kube_rt_config_t *cfg = p->cfg;
  int master, slave;
  if (rt_pty_open(cfg->console_height, cfg->console_width, &master, &slave) < 0)
    FAIL("open /dev/ptmx for", "process.terminal");
  if (p->new_mount) {
    /* /dev/console is the terminal too, as runc does (best effort: the
     * image may have no writable /dev). */
    unsigned ptn = 0;
    if (ioctl(master, TIOCGPTN, &ptn) == 0) {
      char pts[32];
      snprintf(pts, sizeof pts, "/dev/pts/%u", ptn);
      int f = open("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
                   0600);
      if (f >= 0) {
        close(f);
        mount(pts, "/dev/console", NULL, MS_BIND, NULL);
      }
    }
  }
  if (p->console_fd >= 0 &&
      rt_send_fd(p->console_fd, master, "/dev/ptmx", 9) < 0)
    FAIL("send the pty master to", "the console socket");
  if (p->console_pair[1] >= 0 &&
      rt_send_fd(p->console_pair[1], master, "t", 1) < 0)
    FAIL("send the pty master to", "the monitor");
  if (p->pty_to_parent) {
    struct sync_msg m;
    memset(&m, 0, sizeof m);
    m.type = SYNC_PTY;
    if (rt_send_fd(p->sync_fd, master, &m, sizeof m) < 0)
      FAIL("send the pty master to", "the caller");
  }
  close(master);
  if (p->console_fd >= 0)
    close(p->console_fd);
  if (p->console_pair[1] >= 0)
    close(p->console_pair[1]);
  if (rt_pty_become_tty(slave) < 0)
    FAIL("make the pty the controlling terminal:", "process.terminal");
}

void rt_child_main(struct child_plan *p) {
  const kube_rt_config_t *cfg = p->cfg;
  const char *what = "", *where = "";
  pid_t go;
  if (read(p->go_fd, &go, sizeof go) != (ssize_t)sizeof go)
    _exit(126); /* the monitor died before letting us go */
  p->host_pid = go;
  close(p->go_fd);
  rt_reset_signals();
  /* Die with the monitor until we exec: a half-made container must not
   * survive its parent. */
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (p->join_fd[KUBE_NS_USER] >= 0 &&
      setns(p->join_fd[KUBE_NS_USER], CLONE_NEWUSER) < 0)
    FAIL("join", "linux.namespaces user");
  if (p->unshare_flags && unshare(p->unshare_flags) < 0)
    FAIL("unshare", "linux.namespaces");
  if (p->new_user || p->join_fd[KUBE_NS_USER] >= 0) {
    if (rt_sys_setresgid(0, 0, 0) < 0 || rt_sys_setresuid(0, 0, 0) < 0)
      FAIL("become root in", "user namespace");
  }
  static const kube_ns_type_t join_order[] = {
      KUBE_NS_IPC, KUBE_NS_UTS, KUBE_NS_NETWORK, KUBE_NS_CGROUP, KUBE_NS_MOUNT};
  static const char *const join_names[] = {
      "linux.namespaces ipc", "linux.namespaces uts",
      "linux.namespaces network", "linux.namespaces cgroup",
      "linux.namespaces mount"};
  for (size_t i = 0; i < ARRAY_SIZE(join_order); i++) {
    int fd = p->join_fd[join_order[i]];
    if (fd >= 0 && setns(fd, ns_clone_flag[join_order[i]]) < 0)
      FAIL("join", join_names[i]);
  }
  if (p->new_cgroupns && unshare(CLONE_NEWCGROUP) < 0)
    FAIL("unshare", "cgroup namespace");
  if (cfg->has_oom_score_adj) {
    char buf[16];
    int n = snprintf(buf, sizeof buf, "%d", cfg->oom_score_adj);
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, buf, (size_t)n) != n)
      FAIL("write", "process.oomScoreAdj");
    close(fd);
  }
  if (cfg->hostname && sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
    FAIL("set", "hostname");
  /* /proc/sys shows the namespaces of the writer, so the host's /proc does
   * for the container's net/ipc/uts settings (before pivot_root). */
  for (size_t i = 0; i < cfg->n_sysctl; i++) {
    char path[512];
    int n = snprintf(path, sizeof path, "/proc/sys/%s", cfg->sysctl_keys[i]);
    for (char *s = path + 10; s < path + n; s++)
      if (*s == '.')
        *s = '/';
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    size_t len = strlen(cfg->sysctl_values[i]);
    if (fd < 0 || write(fd, cfg->sysctl_values[i], len) != (ssize_t)len)
      FAIL("write linux.sysctl", cfg->sysctl_keys[i]);
    close(fd);
  }
  if (setup_stdio(p) < 0)
    FAIL("set up", "stdio");
  if (p->new_mount && rt_child_setup_rootfs(p, &what, &where) < 0)
    FAIL(what, where);
  child_create_hooks(p);
  if (p->new_mount) {
    if (rt_child_pivot_root(p, &what, &where) < 0)
      FAIL(what, where);
    if (rt_child_mask_paths(p, &what, &where) < 0)
      FAIL(what, where);
  } else if (p->join_fd[KUBE_NS_MOUNT] < 0) {
    if (chroot(p->root) < 0 || chdir("/") < 0)
      FAIL("chroot", "root.path");
  }
  if (cfg->terminal)
    child_terminal(p);
  for (size_t i = 0; i < cfg->n_rlimits; i++) {
    struct rlimit rl = {cfg->rlimits[i].soft, cfg->rlimits[i].hard};
    if (setrlimit(cfg->rlimits[i].resource, &rl) < 0) {
      int e = errno;
      rt_child_report(p->sync_fd, SYNC_ERROR, e, 0,
                      "set process.rlimits[%zu] (resource %d, %llu/%llu): %s",
                      i, cfg->rlimits[i].resource,
                      (unsigned long long)cfg->rlimits[i].soft,
                      (unsigned long long)cfg->rlimits[i].hard, errstr(e));
      _exit(127);
    }
  }
  /* Without no_new_privs the filter needs CAP_SYS_ADMIN: load it while we
   * still have it. */
  if (!cfg->no_new_privileges && rt_child_load_seccomp(p) < 0)
    FAIL("load", "linux.seccomp");
  if (rt_child_set_user(cfg, &what) < 0)
    FAIL("set", what);
  if (chdir(cfg->cwd ? cfg->cwd : "/") < 0)
    FAIL("chdir", "process.cwd");
  if (cfg->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    FAIL("set", "process.noNewPrivileges");
  if (find_executable(p, cfg->args[0]) < 0)
    FAIL("process.args[0]: find", cfg->args[0]);
  if (cfg->no_new_privileges && rt_child_load_seccomp(p) < 0)
    FAIL("load", "linux.seccomp");
  /* Set up: from now on the container may outlive whoever made it (a
   * `create` without monitor exits as soon as it reads READY, so this must
   * come first). */
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  rt_child_report(p->sync_fd, SYNC_READY, 0, 0, NULL);
  if (p->fifo_fd >= 0) {
    /* Created, not started: block until `start` writes to exec.fifo. */
    char b;
    ssize_t n;
    do
      n = read(p->fifo_fd, &b, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1)
      _exit(126);
    close(p->fifo_fd);
  }
  child_start_hooks(p);
  syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
  rt_child_exec(p, cfg->args, cfg->env);
}
