/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A pod's shared PID namespace (shareProcessNamespace).  Unlike net, ipc
 * and uts it cannot be pinned without a process: a PID namespace whose
 * PID 1 died takes no new process.  So a pause process is its PID 1, as
 * the kubelet+containerd's sandbox "pause" container: it reaps the zombies
 * the pod's orphans leave and, when killed, takes the namespace with it.
 * It is the kube-pause helper (libc only, pause-main.c), exec'd by a
 * grandchild of the caller: no child of the daemon, it outlives a restart.
 * It runs in the sandbox's other namespaces and in its own cgroup below the
 * pod's; its namespace is bound on <dir>/pid, the path containers join, and
 * its pid written to <dir>/pause.pid for whoever unpins the sandbox.
 */
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>

#include "runtime/internal.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

/* The namespaces the pause joins, user first so the others are its. */
static const kube_ns_type_t join_order[] = {
    KUBE_NS_USER, KUBE_NS_NETWORK, KUBE_NS_IPC, KUBE_NS_UTS, KUBE_NS_CGROUP};

/* The pause P: a fresh session, no descriptor of the caller, the helper
 * or, without it, the same loop in this fork. */
static __attribute__((noreturn)) void pause_main(const char *helper) {
  rt_close_except(NULL, 0);
  setsid();
  rt_reset_signals();
  if (chdir("/") < 0)
    _exit(1);
  int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int i = 0; fd >= 0 && i < 3; i++)
    dup2(fd, i);
  if (helper[0]) {
    /* /proc/1/cmdline says "/pause", as in a kubelet+containerd pod */
    char *const argv[] = {(char *)"/pause", NULL};
    char *const envp[] = {NULL};
    execve(helper, argv, envp);
  }
  rt_pause_loop();
}

/* X: joins the cgroup and the sandbox's namespaces, unshares the PID
 * namespace and forks P into it; reports P's pid (or "step: errno") on
 * rep and exits.  System calls only: the caller may have threads. */
static __attribute__((noreturn)) void pause_spawner(const char *dir,
                                                    const char *helper,
                                                    const struct cg_handle *cg,
                                                    int rep) {
  const char *step = "join cgroup";
  if (rt_cg_handle_enter(cg, getpid()) < 0)
    goto fail;
  for (size_t i = 0; i < ARRAY_SIZE(join_order); i++) {
    char path[4200];
    struct statfs sfs;
    snprintf(path, sizeof path, "%s/%s", dir, kube_ns_file_name(join_order[i]));
    if (statfs(path, &sfs) < 0 || sfs.f_type != NSFS_MAGIC)
      continue;
    step = kube_ns_file_name(join_order[i]);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, 0) < 0)
      goto fail;
    close(fd);
  }
  step = "unshare pid namespace";
  if (unshare(CLONE_NEWPID) < 0)
    goto fail;
  step = "fork";
  pid_t pid = fork();
  if (pid < 0)
    goto fail;
  if (pid == 0)
    pause_main(helper);
  ssize_t w = write(rep, &pid, sizeof pid);
  _exit(w == (ssize_t)sizeof pid ? 0 : 1);
fail:;
  char msg[256];
  int n = snprintf(msg, sizeof msg, "%s: %s", step, strerror(errno));
  w = write(rep, msg, (size_t)n);
  (void)w;
  _exit(1);
}

/* The pid in <dir>/pause.pid when that process still is the PID 1 of the
 * namespace bound on <dir>/pid; else 0. */
static pid_t pause_pid(const char *dir) {
  char path[4200], buf[32];
  snprintf(path, sizeof path, "%s/pause.pid", dir);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  buf[n > 0 ? n : 0] = '\0';
  long pid = strtol(buf, NULL, 10);
  if (pid <= 0 || pid > INT_MAX)
    return 0;
  struct stat ns, mine;
  char proc[64];
  snprintf(path, sizeof path, "%s/pid", dir);
  snprintf(proc, sizeof proc, "/proc/%ld/ns/pid", pid);
  if (stat(path, &ns) < 0 || stat(proc, &mine) < 0 ||
      ns.st_ino != mine.st_ino || ns.st_dev != mine.st_dev)
    return 0;
  /* Killed, it stays there while the kernel kills the rest of its
   * namespace, which already refuses new processes: PF_EXITING (0x4) in
   * the flags, the 9th field of /proc/PID/stat, says so. */
  char stat_text[512];
  snprintf(proc, sizeof proc, "/proc/%ld/stat", pid);
  fd = open(proc, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  n = read(fd, stat_text, sizeof stat_text - 1);
  close(fd);
  stat_text[n > 0 ? n : 0] = '\0';
  char *f = strrchr(stat_text, ')');
  unsigned long flags = 0;
  if (!f || sscanf(f + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) != 1 ||
      (flags & 0x4))
    return 0;
  return (pid_t)pid;
}

bool rt_sandbox_pause_alive(const char *dir) {
  return pause_pid(dir) > 0;
}

void rt_sandbox_pause_stop(const char *dir) {
  pid_t pid = pause_pid(dir);
  /* The kernel kills the rest of the namespace with its PID 1. */
  if (pid > 0)
    kill(pid, SIGKILL);
  char path[4200];
  snprintf(path, sizeof path, "%s/pid", dir);
  for (int k = 0; k < 16 && umount2(path, MNT_DETACH) == 0; k++) {
  }
  unlink(path);
  snprintf(path, sizeof path, "%s/pause.pid", dir);
  unlink(path);
}

int rt_sandbox_pause_start(kube_runtime_t *rt, const char *dir,
                           const char *cgroup, kube_error_t *err) {
  if (!cgroup || !*cgroup || strstr(cgroup, "..") || strlen(cgroup) > 200)
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "sandbox pid namespace: needs the cgroup of its "
                          "pause process");
  static const kube_rt_resources_t no_limits = {-1, -1,   -1,   -1,   -1,
                                                -1, NULL, NULL, NULL, 0};
  while (*cgroup == '/')
    cgroup++;
  if (rt->cgops->create_parent(&rt->cg, cgroup, &no_limits, err) < 0)
    return kube_error_wrap(err, "pause cgroup %s", cgroup);
  struct cg_handle cg;
  rt_cg_handle_init(&cg, &rt->cg, cgroup);
  if (rt_cg_handle_open(&cg, err) < 0) {
    rt_cg_handle_close(&cg);
    return kube_error_wrap(err, "pause cgroup %s", cgroup);
  }
  int rep[2];
  if (pipe2(rep, O_CLOEXEC) < 0) {
    rt_cg_handle_close(&cg);
    return kube_make_error(err, errno, "pipe: %s", strerror(errno));
  }
  pid_t x = fork();
  if (x == 0) {
    close(rep[0]);
    pause_spawner(dir, rt->pause_helper, &cg, rep[1]);
  }
  int e = errno;
  close(rep[1]);
  rt_cg_handle_close(&cg);
  if (x < 0) {
    close(rep[0]);
    return kube_make_error(err, e, "fork: %s", strerror(e));
  }
  char msg[256];
  ssize_t n;
  while ((n = read(rep[0], msg, sizeof msg - 1)) < 0 && errno == EINTR) {
  }
  close(rep[0]);
  while (waitpid(x, NULL, 0) < 0 && errno == EINTR) {
  }
  if (n != (ssize_t)sizeof(pid_t)) {
    msg[n > 0 ? n : 0] = '\0';
    return kube_error_set(err, KUBE_REASON_INTERNAL, 0,
                          "sandbox %s: start pause: %s", dir,
                          msg[0] ? msg : "failed");
  }
  pid_t pid;
  memcpy(&pid, msg, sizeof pid);
  char src[64], dst[4200], num[24];
  snprintf(src, sizeof src, "/proc/%d/ns/pid", (int)pid);
  snprintf(dst, sizeof dst, "%s/pid", dir);
  int fd = open(dst, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0444);
  if (fd >= 0)
    close(fd);
  if (fd < 0 || mount(src, dst, NULL, MS_BIND, NULL) < 0) {
    e = errno;
    kill(pid, SIGKILL);
    return kube_make_error(err, e, "sandbox: bind %s on %s: %s", src, dst,
                           strerror(e));
  }
  int len = snprintf(num, sizeof num, "%d\n", (int)pid);
  snprintf(dst, sizeof dst, "%s/pause.pid", dir);
  fd = open(dst, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, num, (size_t)len) != len) {
    e = errno;
    if (fd >= 0)
      close(fd);
    kill(pid, SIGKILL);
    return kube_make_error(err, e, "sandbox %s: %s", dst, strerror(e));
  }
  close(fd);
  return 0;
}
