/* SPDX-License-Identifier: Apache-2.0 */
/* The public container API: create, start, run, kill, delete, state, list. */
#include <ctype.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>

#include "runtime/internal.h"

static int pidfd_open_(pid_t pid) {
  return (int)syscall(SYS_pidfd_open, pid, 0);
}

KUBE_EXPORT const char *kube_rt_status_string(kube_rt_status_t s) {
  switch (s) {
  case KUBE_RT_CREATING:
    return "creating";
  case KUBE_RT_CREATED:
    return "created";
  case KUBE_RT_RUNNING:
    return "running";
  case KUBE_RT_PAUSED:
    return "paused";
  case KUBE_RT_STOPPED:
    return "stopped";
  }
  return "unknown";
}

KUBE_EXPORT void kube_rt_state_clear(kube_rt_state_t *st) {
  if (!st)
    return;
  free(st->id);
  free(st->bundle);
  free(st->cgroup_path);
  free(st->log_path);
  for (size_t i = 0; i < st->n_annotations; i++) {
    free(st->annotation_keys[i]);
    free(st->annotation_values[i]);
  }
  free(st->annotation_keys);
  free(st->annotation_values);
  memset(st, 0, sizeof *st);
}

KUBE_EXPORT kube_runtime_t *kube_runtime_new(const char *state_root,
                                             kube_error_t *err) {
  kube_runtime_t *rt = calloc(1, sizeof *rt);
  if (!rt) {
    kube_make_oom(err);
    return NULL;
  }
  rt->root_fd = -1;
  if (!(rt->root = strdup(state_root ? state_root : RT_DEFAULT_ROOT))) {
    kube_make_oom(err);
    goto fail;
  }
  if (rt_mkdir_p(rt->root, 0711) < 0) {
    kube_make_error(err, errno, "create state directory %s: %s", rt->root,
                    strerror(errno));
    goto fail;
  }
  rt->root_fd = open(rt->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rt->root_fd < 0) {
    kube_make_error(err, errno, "open %s: %s", rt->root, strerror(errno));
    goto fail;
  }
  if (rt_cg_detect(&rt->cg, err) < 0)
    goto fail;
  rt->cgops = rt_cg_ops_for(&rt->cg);
  rt_monitor_find_helper(rt);
  return rt;
fail:
  kube_runtime_free(rt);
  return NULL;
}

void rt_forget_child(struct kube_runtime *rt, pid_t pid) {
  for (size_t i = 0; i < rt->n_children; i++)
    if (rt->children[i] == pid) {
      rt->children[i] = rt->children[--rt->n_children];
      return;
    }
}

bool rt_is_child(struct kube_runtime *rt, pid_t pid) {
  for (size_t i = 0; i < rt->n_children; i++)
    if (rt->children[i] == pid)
      return true;
  return false;
}

static void rt_add_child(struct kube_runtime *rt, pid_t pid) {
  pid_t *n = realloc(rt->children, (rt->n_children + 1) * sizeof *n);
  if (!n)
    return; /* only costs a zombie until we exit */
  rt->children = n;
  rt->children[rt->n_children++] = pid;
}

/* Reap our monitors that are done, without blocking. */
static void rt_reap(struct kube_runtime *rt) {
  for (size_t i = 0; i < rt->n_children;) {
    pid_t pid = rt->children[i];
    pid_t r = waitpid(pid, NULL, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD))
      rt->children[i] = rt->children[--rt->n_children];
    else
      i++;
  }
}

KUBE_EXPORT void kube_runtime_free(kube_runtime_t *rt) {
  if (!rt)
    return;
  rt_reap(rt);
  if (rt->root_fd >= 0)
    close(rt->root_fd);
  free(rt->children);
  free(rt->root);
  free(rt);
}

KUBE_EXPORT const char *kube_runtime_root(const kube_runtime_t *rt) {
  return rt->root;
}

KUBE_EXPORT const char *kube_runtime_cgroup_mode(const kube_runtime_t *rt) {
  switch (rt->cg.mode) {
  case CG_MODE_V1:
    return "v1";
  case CG_MODE_V2:
    return "v2";
  case CG_MODE_HYBRID:
    return "hybrid";
  }
  return "v1";
}

int rt_validate_id(const char *id, kube_error_t *err) {
  if (!id || !*id || strlen(id) > 200 || streq(id, ".") || streq(id, ".."))
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "invalid container id \"%s\"", id ? id : "");
  for (const char *s = id; *s; s++)
    if (!(isalnum((unsigned char)*s) || *s == '-' || *s == '_' || *s == '.'))
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "invalid container id \"%s\": use [A-Za-z0-9_.-]",
                            id);
  return 0;
}

int rt_load_state(kube_runtime_t *rt, const char *id, struct rt_state *st,
                  kube_error_t *err) {
  int dirfd = rt_open_container(rt, id, err);
  if (dirfd < 0)
    return -1;
  int rc = rt_state_read(dirfd, st, err);
  close(dirfd);
  return rc;
}

int rt_open_container(kube_runtime_t *rt, const char *id, kube_error_t *err) {
  if (rt_validate_id(id, err) < 0)
    return -1;
  int fd = openat(rt->root_fd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return kube_error_set(
        err, errno == ENOENT ? KUBE_REASON_NOT_FOUND : KUBE_REASON_INTERNAL,
        errno, "container \"%s\" %s", id,
        errno == ENOENT ? "does not exist" : strerror(errno));
  return fd;
}

/* Receive one sync message (and the fd it may carry); 0 on EOF. */
static ssize_t sync_recv(int fd, struct sync_msg *m, int *fd_out) {
  int got = -1;
  ssize_t n = rt_recv_fd(fd, m, sizeof *m, &got);
  if (fd_out && *fd_out < 0)
    *fd_out = got;
  else if (got >= 0)
    close(got);
  return n;
}

/* prestart and createRuntime, asked for by C once its mounts exist. */
static int run_runtime_hooks(const kube_rt_config_t *cfg, const char *id,
                             pid_t pid, kube_error_t *err) {
  char *state =
      rt_hook_state_json(id, "creating", pid, cfg->bundle, cfg->annotation_keys,
                         cfg->annotation_values, cfg->n_annotations);
  if (!state)
    return kube_make_oom(err);
  int rc = rt_hooks_run_list(cfg->hooks[KUBE_HOOK_PRESTART],
                             cfg->n_hooks[KUBE_HOOK_PRESTART],
                             KUBE_HOOK_PRESTART, state, err);
  if (rc == 0)
    rc = rt_hooks_run_list(cfg->hooks[KUBE_HOOK_CREATE_RUNTIME],
                           cfg->n_hooks[KUBE_HOOK_CREATE_RUNTIME],
                           KUBE_HOOK_CREATE_RUNTIME, state, err);
  free(state);
  return rc;
}

static void run_poststart(const kube_rt_config_t *cfg, const char *id,
                          pid_t pid) {
  if (!cfg->n_hooks[KUBE_HOOK_POSTSTART])
    return;
  char *state =
      rt_hook_state_json(id, "running", pid, cfg->bundle, cfg->annotation_keys,
                         cfg->annotation_values, cfg->n_annotations);
  kube_error_t e = KUBE_ERROR_INIT;
  if (state && rt_hooks_run_list(cfg->hooks[KUBE_HOOK_POSTSTART],
                                 cfg->n_hooks[KUBE_HOOK_POSTSTART],
                                 KUBE_HOOK_POSTSTART, state, &e) < 0)
    log_warn("runtime: container %s: %s", id, e.message);
  kube_error_clear(&e);
  free(state);
}

static void close_fd(int *fd) {
  if (*fd >= 0) {
    close(*fd);
    *fd = -1;
  }
}

/* Wait for a process that may or may not be our child.  Returns when it is
 * gone (or timeout_ms elapsed: -1 with ETIMEDOUT). */
static int wait_gone(kube_runtime_t *rt, pid_t pid, unsigned long long start,
                     int timeout_ms) {
  if (pid == getpid())
    return 0; /* run-and-wait made us the monitor; the exit is recorded */
  if (rt_is_child(rt, pid)) {
    if (timeout_ms < 0) {
      while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
      }
      rt_forget_child(rt, pid);
      return 0;
    }
  }
  if (!rt_proc_alive(pid, start)) {
    if (rt_is_child(rt, pid)) {
      waitpid(pid, NULL, WNOHANG);
      rt_forget_child(rt, pid);
    }
    return 0;
  }
  int pfd = pidfd_open_(pid);
  if (pfd < 0)
    return 0;                       /* already gone */
  if (!rt_proc_alive(pid, start)) { /* the pid was reused before we opened it */
    close(pfd);
    return 0;
  }
  struct pollfd p = {pfd, POLLIN, 0};
  int r;
  do
    r = poll(&p, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  close(pfd);
  if (r == 0)
    return errno = ETIMEDOUT, -1;
  if (rt_is_child(rt, pid)) {
    waitpid(pid, NULL, 0);
    rt_forget_child(rt, pid);
  }
  return 0;
}

/* P's copies of what C and M got: closed once they run (or on failure). */
static void close_plan_io(struct child_plan *p) {
  close_fd(&p->fifo_fd);
  for (int i = 0; i < 2; i++) {
    for (int k = 0; k < 2; k++)
      close_fd(&p->log_pipe[i][k]);
    close_fd(&p->console_pair[i]);
    close_fd(&p->stdin_pipe[i]);
  }
  close_fd(&p->console_fd);
  close_fd(&p->attach_fd);
}

/* Terminal, stdin, output pipes and the attach socket for the plan. */
static int prepare_io(struct child_plan *p, const kube_rt_config_t *cfg,
                      const kube_rt_io_t *io, int dirfd,
                      const char *console_path, int *term_out, bool monitor_tty,
                      bool owns_stdio, kube_error_t *err) {
  if (console_path) {
    kube_error_t e = KUBE_ERROR_INIT;
    p->console_fd = rt_unix_connect(console_path, SOCK_STREAM, &e);
    if (p->console_fd < 0) {
      kube_error_set(err, KUBE_REASON_INVALID, e.errnum, "console socket: %s",
                     e.message);
      kube_error_clear(&e);
      return -1;
    }
  }
  p->pty_to_parent = term_out != NULL;
  if (monitor_tty) {
    p->monitor_tty = true;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p->console_pair) <
        0)
      return kube_make_error(err, errno, "socketpair: %s", strerror(errno));
  }
  if (!owns_stdio)
    return 0;
  if (io->open_stdin && pipe2(p->stdin_pipe, O_CLOEXEC) < 0)
    return kube_make_error(err, errno, "pipe: %s", strerror(errno));
  p->stdin_once = io->stdin_once;
  if (!cfg->terminal && (pipe2(p->log_pipe[0], O_CLOEXEC) < 0 ||
                         pipe2(p->log_pipe[1], O_CLOEXEC) < 0))
    return kube_make_error(err, errno, "pipe: %s", strerror(errno));
  p->log_max_size = io->log_max_size;
  p->log_max_files = io->log_max_files;
  p->attach_fd = rt_unix_listen_at(dirfd, "attach", err);
  return p->attach_fd < 0 ? -1 : 0;
}

static int prepare_hooks(struct child_plan *p, const kube_rt_config_t *cfg,
                         const char *id, kube_error_t *err) {
  p->runtime_hooks = cfg->n_hooks[KUBE_HOOK_PRESTART] ||
                     cfg->n_hooks[KUBE_HOOK_CREATE_RUNTIME];
  static const kube_rt_hook_kind_t kinds[2] = {KUBE_HOOK_CREATE_CONTAINER,
                                               KUBE_HOOK_START_CONTAINER};
  static const char *const status[2] = {"creating", "created"};
  for (int i = 0; i < 2; i++) {
    if (!cfg->n_hooks[kinds[i]])
      continue;
    p->hook_state[i] =
        rt_hook_state_json(id, status[i], -1, cfg->bundle, cfg->annotation_keys,
                           cfg->annotation_values, cfg->n_annotations);
    if (!p->hook_state[i])
      return kube_make_oom(err);
  }
  return 0;
}

static int create_common(kube_runtime_t *rt, const char *id,
                         const kube_rt_config_t *cfg, const kube_rt_io_t *io,
                         bool run, unsigned flags, kube_rt_exit_t *exit_out,
                         kube_error_t *err) {
  if (rt_validate_id(id, err) < 0)
    return -1;
  if (!cfg)
    return kube_error_set(err, KUBE_REASON_INVALID, 0, "config: required");
  rt_reap(rt);
  if (mkdirat(rt->root_fd, id, 0700) < 0)
    return kube_error_set(err,
                          errno == EEXIST ? KUBE_REASON_ALREADY_EXISTS
                                          : KUBE_REASON_INTERNAL,
                          errno, "container \"%s\": %s", id,
                          errno == EEXIST ? "already exists" : strerror(errno));
  struct child_plan plan;
  struct cg_handle cg;
  int dirfd = -1, sync[2] = {-1, -1}, child_pidfd = -1;
  pid_t monitor = -1, pid = 0;
  bool cg_made = false;
  char cgpath[256];
  const char *log_path = io ? io->log_path : NULL;
  const char *console_path = io && cfg->terminal ? io->console_socket : NULL;
  int *term_out = io && cfg->terminal ? io->terminal_fd_out : NULL;
  int pty_fd = -1;
  bool open_stdin = io && io->open_stdin;
  /* A terminal nobody else takes stays with the monitor. */
  bool monitor_tty = cfg->terminal && !console_path && !term_out;
  /* The monitor keeps the stdio (conmon's job): logs and attach. */
  bool owns_stdio =
      log_path || open_stdin || (io && io->attachable) || monitor_tty;
  /* Run-and-wait without stdio to keep needs no separate monitor. */
  bool wait_here = run && exit_out && !owns_stdio;
  /* Without a monitor the init stays our child, for the caller (or the
   * subreaper it is reparented to, such as conmon) to reap. */
  bool no_monitor = (flags & KUBE_RT_NO_MONITOR) && !owns_stdio && !wait_here;
  bool direct = wait_here || no_monitor;
  rt_cg_handle_init(&cg, &rt->cg, "");
  if (rt_plan_prepare(&plan, cfg, err) < 0)
    goto fail_plan;
  dirfd = openat(rt->root_fd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) {
    kube_make_error(err, errno, "open state of %s: %s", id, strerror(errno));
    goto fail;
  }
  plan.state_dir_fd = dirfd;
  if (cfg->cgroups_path && *cfg->cgroups_path)
    snprintf(cgpath, sizeof cgpath, "%s", cfg->cgroups_path);
  else
    snprintf(cgpath, sizeof cgpath, "libkube/%s", id);
  rt_cg_handle_init(&cg, &rt->cg, cgpath);
  plan.cg_layout = &rt->cg;
  snprintf(plan.cg_path, sizeof plan.cg_path, "%s", cg.path);
  cg_made = true;
  {
    /* Record the cgroup before making it: a create that dies half-way can
     * then be cleaned up by a forced delete. */
    struct rt_state pre;
    memset(&pre, 0, sizeof pre);
    snprintf(pre.id, sizeof pre.id, "%s", id);
    snprintf(pre.cgroup_path, sizeof pre.cgroup_path, "%s", cg.path);
    snprintf(pre.bundle, sizeof pre.bundle, "%s",
             cfg->bundle ? cfg->bundle : "");
    clock_gettime(CLOCK_REALTIME, &pre.created);
    if (rt_state_write(dirfd, &pre, err) < 0)
      goto fail;
  }
  if (rt->cgops->create(&cg, &cfg->resources, err) < 0)
    goto fail;
  if (!run) {
    if (mkfifoat(dirfd, "exec.fifo", 0600) < 0 ||
        (plan.fifo_fd = openat(dirfd, "exec.fifo", O_RDWR | O_CLOEXEC)) < 0) {
      kube_make_error(err, errno, "exec.fifo: %s", strerror(errno));
      goto fail;
    }
  }
  if (io) {
    plan.stdio[0] = io->stdin_fd;
    plan.stdio[1] = io->stdout_fd;
    plan.stdio[2] = io->stderr_fd;
  }
  if (prepare_io(&plan, cfg, io, dirfd, console_path, term_out, monitor_tty,
                 owns_stdio, err) < 0)
    goto fail;
  if (prepare_hooks(&plan, cfg, id, err) < 0)
    goto fail;
  if (log_path) {
    int lf = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (lf < 0) {
      kube_error_set(err, KUBE_REASON_INVALID, errno, "log path %s: %s",
                     log_path, strerror(errno));
      goto fail;
    }
    close(lf);
  }
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0) {
    kube_make_error(err, errno, "socketpair: %s", strerror(errno));
    goto fail;
  }
  if (direct) {
    /* run-and-wait: this process is the monitor, saving a fork and the
     * hops through M. */
    int saved_pidns = -1;
    const char *what = "";
    if (plan.join_fd[KUBE_NS_PID] >= 0) {
      saved_pidns =
          open("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
      if (saved_pidns < 0 ||
          setns(plan.join_fd[KUBE_NS_PID], CLONE_NEWPID) < 0) {
        kube_error_set(err, KUBE_REASON_INVALID, errno,
                       "join linux.namespaces pid: %s", strerror(errno));
        close_fd(&saved_pidns);
        goto fail;
      }
    }
    long cpid = rt_monitor_spawn(&plan, &cg, sync[1], &child_pidfd, &what);
    int e = errno;
    if (saved_pidns >= 0) {
      if (setns(saved_pidns, CLONE_NEWPID) < 0)
        log_warn("runtime: cannot return to the pid namespace: %s",
                 strerror(errno));
      close(saved_pidns);
    }
    if (cpid < 0) {
      kube_make_error(err, e, "%s: %s", what, strerror(e));
      goto fail;
    }
    pid = (pid_t)cpid;
    monitor = getpid();
  } else {
    monitor = fork();
    if (monitor < 0) {
      kube_make_error(err, errno, "fork: %s", strerror(errno));
      goto fail;
    }
    if (monitor == 0) {
      close(sync[0]);
      rt_monitor_main(rt, &plan, &cg, log_path, sync[1]);
    }
    rt_add_child(rt, monitor);
  }
  close_fd(&sync[1]);
  close_plan_io(&plan);
  struct sync_msg m;
  bool ready = false, hooks_pending = false;
  for (;;) {
    ssize_t n = sync_recv(sync[0], &m, &pty_fd);
    if (n <= 0) {
      if (ready && run)
        break; /* EOF after READY: execve succeeded */
      kube_make_error(err, n < 0 ? errno : 0,
                      "container init exited during setup");
      goto fail;
    }
    /* C asks for the prestart/createRuntime hooks and M reports C's pid
     * from two processes: the hooks wait until the pid is known (their
     * state carries it). */
    if (m.type == SYNC_PID)
      pid = m.pid;
    if (m.type == SYNC_HOOKS)
      hooks_pending = true;
    if (m.type == SYNC_PID || m.type == SYNC_HOOKS) {
      if (hooks_pending && pid > 0) {
        hooks_pending = false;
        struct sync_msg reply;
        memset(&reply, 0, sizeof reply);
        reply.type = SYNC_RESUME;
        if (run_runtime_hooks(cfg, id, pid, err) < 0) {
          reply.type = SYNC_ERROR;
          send(sync[0], &reply, sizeof reply, MSG_NOSIGNAL);
          goto fail;
        }
        send(sync[0], &reply, sizeof reply, MSG_NOSIGNAL);
      }
      if (m.type == SYNC_PID && ready && !run)
        break;
    } else if (m.type == SYNC_ERROR) {
      kube_error_set(err, KUBE_REASON_INVALID, m.errnum, "%s", m.msg);
      goto fail;
    } else if (m.type == SYNC_READY) {
      /* C may be ready before M got to report its pid: wait for both. */
      ready = true;
      if (!run && pid > 0)
        break;
    }
  }
  close_fd(&sync[0]);
  struct rt_state st;
  memset(&st, 0, sizeof st);
  snprintf(st.id, sizeof st.id, "%s", id);
  st.pid = pid;
  st.pid_start = rt_proc_start_time(pid);
  st.monitor_pid = no_monitor ? 0 : monitor;
  st.monitor_start = no_monitor ? 0 : rt_proc_start_time(monitor);
  clock_gettime(CLOCK_REALTIME, &st.created);
  snprintf(st.cgroup_path, sizeof st.cgroup_path, "%s", cg.path);
  snprintf(st.bundle, sizeof st.bundle, "%s", cfg->bundle ? cfg->bundle : "");
  if (run)
    st.started = st.created;
  if (log_path)
    snprintf(st.log_path, sizeof st.log_path, "%s", log_path);
  st.terminal = cfg->terminal;
  st.stdin_open = open_stdin;
  st.stdin_once = open_stdin && io && io->stdin_once;
  st.attachable = owns_stdio;
  if (rt_state_write(dirfd, &st, err) < 0 || rt_meta_write(dirfd, cfg, err) < 0)
    goto fail;
  /* exec needs the container's process settings later. */
  char *json = rt_config_to_json(cfg, false, NULL);
  if (json) {
    int fd = openat(dirfd, "config.json",
                    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ssize_t w = write(fd, json, strlen(json));
      (void)w;
      close(fd);
    }
    free(json);
  }
  if (term_out) {
    if (pty_fd < 0) {
      kube_make_error(err, 0, "process.terminal: no pty master received");
      goto fail;
    }
    *term_out = steal_fd(&pty_fd);
  }
  if (run)
    run_poststart(cfg, id, pid);
  if (wait_here) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    rt_monitor_record_exit(rt, cg.path, dirfd, status, exit_out);
  }
  close_fd(&child_pidfd);
  rt_cg_handle_close(&cg);
  close(dirfd);
  rt_plan_free(&plan);
  return 0;

fail:
  close_fd(&pty_fd);
  close_plan_io(&plan);
  if (pid > 0)
    kill(pid, SIGKILL);
  if (direct && pid > 0)
    waitpid(pid, NULL, 0);
  else if (monitor > 0)
    wait_gone(rt, monitor, 0, -1);
  close_fd(&child_pidfd);
  close_fd(&sync[0]);
  close_fd(&sync[1]);
  rt_cg_handle_close(&cg);
  if (cg_made) {
    kube_error_t e = KUBE_ERROR_INIT;
    rt->cgops->destroy(&rt->cg, cg.path, &e);
    kube_error_clear(&e);
  }
  if (dirfd >= 0)
    close(dirfd);
fail_plan:
  rt_plan_free(&plan);
  rt_rm_rf_at(rt->root_fd, id);
  return -1;
}

KUBE_EXPORT int kube_runtime_create(kube_runtime_t *rt, const char *id,
                                    const kube_rt_config_t *cfg,
                                    const kube_rt_io_t *io, kube_error_t *err) {
  return create_common(rt, id, cfg, io, false, 0, NULL, err);
}

KUBE_EXPORT int kube_runtime_create_ex(kube_runtime_t *rt, const char *id,
                                       const kube_rt_config_t *cfg,
                                       const kube_rt_io_t *io, unsigned flags,
                                       kube_error_t *err) {
  return create_common(rt, id, cfg, io, flags & KUBE_RT_START, flags, NULL,
                       err);
}

/* Status from what is on disk and in /proc. */
static kube_rt_status_t status_of(kube_runtime_t *rt, int dirfd,
                                  const struct rt_state *st) {
  struct stat sb;
  if (!st || st->pid == 0)
    return KUBE_RT_CREATING;
  if (faccessat(dirfd, "exit", F_OK, 0) == 0)
    return KUBE_RT_STOPPED;
  if (!rt_proc_alive(st->pid, st->pid_start))
    return KUBE_RT_STOPPED;
  if (fstatat(dirfd, "exec.fifo", &sb, 0) == 0)
    return KUBE_RT_CREATED;
  if (rt->cgops->frozen(&rt->cg, st->cgroup_path))
    return KUBE_RT_PAUSED;
  return KUBE_RT_RUNNING;
}

KUBE_EXPORT int kube_runtime_start(kube_runtime_t *rt, const char *id,
                                   kube_error_t *err) {
  int dirfd = rt_open_container(rt, id, err);
  if (dirfd < 0)
    return -1;
  int fd = openat(dirfd, "exec.fifo", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    close(dirfd);
    return kube_error_set(err, KUBE_REASON_CONFLICT, e,
                          "container \"%s\" is not in the created state", id);
  }
  ssize_t n = write(fd, "s", 1);
  int e = errno;
  close(fd);
  unlinkat(dirfd, "exec.fifo", 0);
  if (n != 1) {
    close(dirfd);
    return kube_make_error(err, e, "start %s: %s", id, strerror(e));
  }
  struct rt_state st;
  kube_error_t e2 = KUBE_ERROR_INIT;
  if (rt_state_read(dirfd, &st, &e2) == 0) {
    clock_gettime(CLOCK_REALTIME, &st.started);
    rt_state_write(dirfd, &st, &e2);
    rt_meta_run_hooks(dirfd, id, st.bundle, KUBE_HOOK_POSTSTART, "running",
                      st.pid);
  }
  kube_error_clear(&e2);
  close(dirfd);
  return 0;
}

KUBE_EXPORT int kube_runtime_state(kube_runtime_t *rt, const char *id,
                                   kube_rt_state_t *out, kube_error_t *err) {
  memset(out, 0, sizeof *out);
  rt_reap(rt);
  int dirfd = rt_open_container(rt, id, err);
  if (dirfd < 0)
    return -1;
  struct rt_state st;
  kube_error_t e = KUBE_ERROR_INIT;
  bool has_state = rt_state_read(dirfd, &st, &e) == 0;
  kube_error_clear(&e);
  out->status = status_of(rt, dirfd, has_state ? &st : NULL);
  out->id = strdup(id);
  if (has_state) {
    out->bundle = st.bundle[0] ? strdup(st.bundle) : NULL;
    out->cgroup_path = strdup(st.cgroup_path);
    out->created = st.created;
    out->started = st.started;
    out->log_path = st.log_path[0] ? strdup(st.log_path) : NULL;
    out->terminal = st.terminal;
    out->stdin_open = st.stdin_open;
    out->stdin_once = st.stdin_once;
    out->attachable = st.attachable;
    if (out->status != KUBE_RT_STOPPED)
      out->pid = st.pid;
  }
  struct rt_meta meta;
  if (rt_meta_read(dirfd, &meta) == 0) {
    out->annotation_keys = steal_pointer(&meta.ann_keys);
    out->annotation_values = steal_pointer(&meta.ann_values);
    out->n_annotations = meta.n_ann;
    meta.n_ann = 0;
    rt_meta_clear(&meta);
  }
  if (out->status == KUBE_RT_STOPPED) {
    out->exited = rt_state_read_exit(dirfd, &out->exit) == 0;
    if (!out->exited) {
      out->exit.exit_code = 255;
      snprintf(out->exit.reason, sizeof out->exit.reason, "Unknown");
    }
  }
  close(dirfd);
  if (!out->id) {
    kube_rt_state_clear(out);
    return kube_make_oom(err);
  }
  return 0;
}

KUBE_EXPORT int kube_runtime_list(kube_runtime_t *rt, char ***ids_out,
                                  size_t *n_out, kube_error_t *err) {
  int fd = dup(rt->root_fd);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d) {
    if (fd >= 0)
      close(fd);
    return kube_make_error(err, errno, "list %s: %s", rt->root,
                           strerror(errno));
  }
  rewinddir(d);
  size_t n = 0, cap = 8;
  char **ids = calloc(cap, sizeof *ids);
  struct dirent *de;
  while (ids && (de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    if (de->d_type != DT_DIR) {
      struct stat sb;
      if (de->d_type != DT_UNKNOWN ||
          fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
          !S_ISDIR(sb.st_mode))
        continue;
    }
    if (n + 2 > cap) {
      char **nids = realloc(ids, (cap *= 2) * sizeof *ids);
      if (!nids) {
        for (size_t i = 0; i < n; i++)
          free(ids[i]);
        free(ids);
        ids = NULL;
        break;
      }
      ids = nids;
    }
    if (!(ids[n++] = strdup(de->d_name)))
      n--;
    ids[n] = NULL;
  }
  closedir(d);
  if (!ids)
    return kube_make_oom(err);
  ids[n] = NULL;
  *ids_out = ids;
  *n_out = n;
  return 0;
}

static int signal_pid(pid_t pid, unsigned long long start, int sig) {
  int pfd = pidfd_open_(pid);
  if (pfd < 0)
    return -1;
  if (!rt_proc_alive(pid, start)) {
    close(pfd);
    return errno = ESRCH, -1;
  }
  int r = (int)syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0);
  int e = errno;
  close(pfd);
  errno = e;
  return r;
}

static int kill_cgroup(kube_runtime_t *rt, const char *cgpath, int sig) {
  char *file = rt->cgops->procs_file(&rt->cg, cgpath);
  if (!file)
    return -1;
  FILE *f = fopen(file, "re");
  free(file);
  if (!f)
    return -1;
  int pid, count = 0;
  while (fscanf(f, "%d", &pid) == 1)
    if (pid > 0 && kill(pid, sig) == 0)
      count++;
  fclose(f);
  return count;
}

KUBE_EXPORT int kube_runtime_kill(kube_runtime_t *rt, const char *id, int sig,
                                  bool all, kube_error_t *err) {
  int dirfd = rt_open_container(rt, id, err);
  if (dirfd < 0)
    return -1;
  struct rt_state st;
  int rc = rt_state_read(dirfd, &st, err);
  bool has = rc == 0;
  kube_rt_status_t s = status_of(rt, dirfd, has ? &st : NULL);
  close(dirfd);
  if (rc < 0)
    return -1;
  if (s == KUBE_RT_STOPPED)
    return kube_error_set(err, KUBE_REASON_CONFLICT, ESRCH,
                          "container \"%s\" is not running", id);
  if (all && sig == SIGKILL)
    rt_cg_kill_all(rt, st.cgroup_path, 0); /* cgroup.kill: no fork races */
  else if (all)
    kill_cgroup(rt, st.cgroup_path, sig);
  if (signal_pid(st.pid, st.pid_start, sig) < 0 && !(all && errno == ESRCH))
    return kube_make_error(err, errno, "kill %s: %s", id, strerror(errno));
  return 0;
}

KUBE_EXPORT int kube_runtime_delete(kube_runtime_t *rt, const char *id,
                                    bool force, kube_error_t *err) {
  int dirfd = rt_open_container(rt, id, err);
  if (dirfd < 0)
    return -1;
  struct rt_state st;
  kube_error_t e = KUBE_ERROR_INIT;
  bool has = rt_state_read(dirfd, &st, &e) == 0;
  kube_error_clear(&e);
  kube_rt_status_t s = status_of(rt, dirfd, has ? &st : NULL);
  close(dirfd);
  if (s == KUBE_RT_CREATING) {
    /* A create that died half-way (or one in progress elsewhere). */
    if (!force)
      return kube_error_set(err, KUBE_REASON_CONFLICT, 0,
                            "container \"%s\" is being created", id);
    if (has && st.cgroup_path[0]) {
      kube_error_t e2 = KUBE_ERROR_INIT;
      kill_cgroup(rt, st.cgroup_path, SIGKILL);
      rt->cgops->destroy(&rt->cg, st.cgroup_path, &e2);
      kube_error_clear(&e2);
    }
    rt_rm_rf_at(rt->root_fd, id);
    return 0;
  }
  if (s != KUBE_RT_STOPPED && s != KUBE_RT_CREATED && !force)
    return kube_error_set(err, KUBE_REASON_CONFLICT, 0,
                          "container \"%s\" is %s: stop it or use force", id,
                          kube_rt_status_string(s));
  if (s != KUBE_RT_STOPPED) {
    signal_pid(st.pid, st.pid_start, SIGKILL);
    /* Everything in the cgroup, however fast it forks (a paused container
     * is thawed so the kill lands). */
    rt_cg_kill_all(rt, st.cgroup_path, 0);
  }
  /* The monitor records the exit and goes; wait for it so the cgroup is
   * empty when we remove it. */
  wait_gone(rt, st.monitor_pid, st.monitor_start, 5000);
  if (rt_proc_alive(st.pid, st.pid_start))
    wait_gone(rt, st.pid, st.pid_start, 5000);
  if (rt->cgops->destroy(&rt->cg, st.cgroup_path, err) < 0) {
    /* Leftover tasks (no pid namespace, a stopped init whose children
     * live on): kill them all and retry. */
    kube_error_clear(err);
    rt_cg_kill_all(rt, st.cgroup_path, 5000);
    if (rt->cgops->destroy(&rt->cg, st.cgroup_path, err) < 0)
      return -1;
  }
  dirfd = openat(rt->root_fd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd >= 0) {
    rt_meta_run_hooks(dirfd, id, st.bundle, KUBE_HOOK_POSTSTOP, "stopped",
                      st.pid);
    close(dirfd);
  }
  if (rt_rm_rf_at(rt->root_fd, id) < 0)
    return kube_make_error(err, errno, "remove state of %s: %s", id,
                           strerror(errno));
  return 0;
}

KUBE_EXPORT int kube_runtime_wait(kube_runtime_t *rt, const char *id,
                                  int timeout_ms, kube_rt_exit_t *out,
                                  kube_error_t *err) {
  int dirfd = rt_open_container(rt, id, err);
  if (dirfd < 0)
    return -1;
  struct rt_state st;
  if (rt_state_read(dirfd, &st, err) < 0) {
    close(dirfd);
    return -1;
  }
  if (rt_state_read_exit(dirfd, out) < 0) {
    if (wait_gone(rt, st.monitor_pid, st.monitor_start, timeout_ms) < 0) {
      close(dirfd);
      return kube_error_set(err, KUBE_REASON_TIMEOUT, ETIMEDOUT,
                            "container \"%s\" still running", id);
    }
    if (rt_state_read_exit(dirfd, out) < 0) {
      /* The monitor was killed: fall back to the init itself. */
      if (rt_proc_alive(st.pid, st.pid_start) &&
          wait_gone(rt, st.pid, st.pid_start, timeout_ms) < 0) {
        close(dirfd);
        return kube_error_set(err, KUBE_REASON_TIMEOUT, ETIMEDOUT,
                              "container \"%s\" still running", id);
      }
      memset(out, 0, sizeof *out);
      out->exit_code = 255;
      snprintf(out->reason, sizeof out->reason, "Unknown");
      clock_gettime(CLOCK_REALTIME, &out->finished_at);
    }
  }
  close(dirfd);
  return 0;
}

KUBE_EXPORT int kube_runtime_run(kube_runtime_t *rt, const char *id,
                                 const kube_rt_config_t *cfg,
                                 const kube_rt_io_t *io,
                                 kube_rt_exit_t *exit_out, kube_error_t *err) {
  if (create_common(rt, id, cfg, io, true, 0, exit_out, err) < 0)
    return -1;
  if (exit_out && io && io->log_path)
    return kube_runtime_wait(rt, id, -1, exit_out, err);
  return 0;
}

KUBE_EXPORT int kube_runtime_stats(kube_runtime_t *rt, const char *id,
                                   kube_rt_stats_t *out, kube_error_t *err) {
  struct rt_state st;
  if (rt_load_state(rt, id, &st, err) < 0)
    return -1;
  return rt->cgops->stats(&rt->cg, st.cgroup_path, out, err);
}

static int freeze(kube_runtime_t *rt, const char *id, bool frozen,
                  kube_error_t *err) {
  int dirfd = rt_open_container(rt, id, err);
  if (dirfd < 0)
    return -1;
  struct rt_state st;
  int rc = rt_state_read(dirfd, &st, err);
  bool has = rc == 0;
  kube_rt_status_t s = status_of(rt, dirfd, has ? &st : NULL);
  close(dirfd);
  if (rc < 0)
    return -1;
  if (frozen && s != KUBE_RT_RUNNING)
    return kube_error_set(err, KUBE_REASON_CONFLICT, 0,
                          "container \"%s\" is %s", id,
                          kube_rt_status_string(s));
  if (!frozen && s != KUBE_RT_PAUSED)
    return kube_error_set(err, KUBE_REASON_CONFLICT, 0,
                          "container \"%s\" is not paused", id);
  return rt->cgops->freeze(&rt->cg, st.cgroup_path, frozen, err);
}

KUBE_EXPORT int kube_runtime_pause(kube_runtime_t *rt, const char *id,
                                   kube_error_t *err) {
  return freeze(rt, id, true, err);
}

KUBE_EXPORT int kube_runtime_resume(kube_runtime_t *rt, const char *id,
                                    kube_error_t *err) {
  return freeze(rt, id, false, err);
}

KUBE_EXPORT int kube_runtime_stop(kube_runtime_t *rt, const char *id, int sig,
                                  int grace_ms, kube_rt_exit_t *out,
                                  kube_error_t *err) {
  kube_rt_exit_t ex;
  kube_error_t e = KUBE_ERROR_INIT;
  if (kube_runtime_kill(rt, id, sig > 0 ? sig : SIGTERM, false, &e) < 0) {
    bool stopped = e.reason == KUBE_REASON_CONFLICT;
    if (!stopped) {
      kube_error_move(err, &e);
      return -1;
    }
    kube_error_clear(&e);
  }
  if (kube_runtime_wait(rt, id, grace_ms > 0 ? grace_ms : 0, &ex, &e) == 0) {
    if (out)
      *out = ex;
    return 0;
  }
  if (e.reason != KUBE_REASON_TIMEOUT) {
    kube_error_move(err, &e);
    return -1;
  }
  kube_error_clear(&e);
  /* Grace is over: everything in the cgroup, however fast it forks. */
  struct rt_state st;
  if (rt_load_state(rt, id, &st, err) < 0)
    return -1;
  signal_pid(st.pid, st.pid_start, SIGKILL);
  rt_cg_kill_all(rt, st.cgroup_path, 0);
  if (kube_runtime_wait(rt, id, 10000, &ex, err) < 0)
    return -1;
  if (out)
    *out = ex;
  return 0;
}
