/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pod sandboxes as pinned namespaces, CRI-O's pinns: a short-lived child
 * unshares net/ipc/uts (and optionally user, cgroup), sets the hostname,
 * the namespaced sysctls and loopback up, and bind-mounts its
 * /proc/self/ns/<x> files on <dir>/<x>; then it exits.  The mounts keep
 * the namespaces alive with no infra process; containers and CNI plugins
 * join them by path.  Unpinning unmounts and removes the files.  A shared
 * PID namespace is the exception: a pause process holds it (sandbox-pid.c).
 */
#include <fcntl.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>

#include "runtime/internal.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

static const char *const ns_files[KUBE_NS__COUNT] = {
    [KUBE_NS_PID] = "pid",       [KUBE_NS_NETWORK] = "net",
    [KUBE_NS_MOUNT] = "mnt",     [KUBE_NS_IPC] = "ipc",
    [KUBE_NS_UTS] = "uts",       [KUBE_NS_USER] = "user",
    [KUBE_NS_CGROUP] = "cgroup",
};

/* The order of pinning: user first, so the others belong to it. */
static const kube_ns_type_t pin_order[] = {
    KUBE_NS_USER, KUBE_NS_NETWORK, KUBE_NS_IPC, KUBE_NS_UTS, KUBE_NS_CGROUP};

KUBE_EXPORT bool kube_runtime_sandbox_pause_alive(const char *dir) {
  return dir && rt_sandbox_pause_alive(dir);
}

KUBE_EXPORT const char *kube_ns_file_name(kube_ns_type_t t) {
  return (unsigned)t < KUBE_NS__COUNT ? ns_files[t] : "";
}

KUBE_EXPORT unsigned kube_runtime_sandbox_pinned(const char *dir) {
  unsigned mask = 0;
  if (!dir)
    return 0;
  for (size_t i = 0; i <= ARRAY_SIZE(pin_order); i++) {
    kube_ns_type_t t = i < ARRAY_SIZE(pin_order) ? pin_order[i] : KUBE_NS_PID;
    char path[4096];
    struct statfs sfs;
    snprintf(path, sizeof path, "%s/%s", dir, ns_files[t]);
    if (statfs(path, &sfs) == 0 && sfs.f_type == NSFS_MAGIC)
      mask |= 1u << t;
  }
  return mask;
}

static int write_file(const char *path, const char *data, size_t len) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = write(fd, data, len);
  int e = errno;
  close(fd);
  errno = e;
  return n == (ssize_t)len ? 0 : -1;
}

static int loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return -1;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
  int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags |= IFF_UP;
    rc = ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  int e = errno;
  close(s);
  errno = e;
  return rc;
}

/* The pinning child: system calls only (the caller may have threads).
 * Reports "step: errno" on `rep` and exits 1 on failure. */
static __attribute__((noreturn)) void
pin_child(unsigned mask, const kube_sandbox_options_t *o, int rep, int go) {
  char msg[512];
  const char *step = "";
  int flags = 0;
  /* Drop every descriptor inherited from the caller at once: this child
   * lives until its parent closes `go`, and a copy of another thread's
   * pipe or sync socket held that long keeps that thread's reader from
   * its EOF.  Two sandboxes pinned at once each held the other's `go`
   * and waited forever (the node agent's concurrent pod starts). */
  int keep[] = {rep, go};
  rt_close_except(keep, ARRAY_SIZE(keep));
  if (mask & (1u << KUBE_NS_USER)) {
    step = "unshare user namespace";
    if (unshare(CLONE_NEWUSER) < 0)
      goto fail;
    /* The parent writes our id maps, then lets us go on. */
    if (write(rep, "u", 1) != 1)
      _exit(1);
    char c;
    if (read(go, &c, 1) != 1 || c != 'g')
      _exit(1);
    step = "become root in the user namespace";
    if (rt_sys_setresgid(0, 0, 0) < 0 || rt_sys_setresuid(0, 0, 0) < 0)
      goto fail;
  }
  if (mask & (1u << KUBE_NS_NETWORK))
    flags |= CLONE_NEWNET;
  if (mask & (1u << KUBE_NS_IPC))
    flags |= CLONE_NEWIPC;
  if (mask & (1u << KUBE_NS_UTS))
    flags |= CLONE_NEWUTS;
  if (mask & (1u << KUBE_NS_CGROUP))
    flags |= CLONE_NEWCGROUP;
  step = "unshare";
  if (unshare(flags) < 0)
    goto fail;
  if (o && o->hostname) {
    step = "sethostname";
    if (sethostname(o->hostname, strlen(o->hostname)) < 0)
      goto fail;
  }
  if (mask & (1u << KUBE_NS_NETWORK)) {
    step = "bring loopback up";
    if (loopback_up() < 0)
      goto fail;
  }
  for (size_t i = 0; o && i < o->n_sysctl; i++) {
    /* /proc/sys shows the namespaces of whoever opens it: ours now. */
    char path[512];
    int n = snprintf(path, sizeof path, "/proc/sys/%s", o->sysctl_keys[i]);
    for (char *s = path + 10; s < path + n; s++)
      if (*s == '.')
        *s = '/';
    step = o->sysctl_keys[i];
    if (write_file(path, o->sysctl_values[i], strlen(o->sysctl_values[i])) < 0)
      goto fail;
  }
  /* Ready: the parent, still in the caller's user namespace (and so
   * allowed to mount there), binds our /proc/<pid>/ns files; we wait. */
  if (write(rep, "r", 1) != 1)
    _exit(1);
  char c;
  ssize_t r = read(go, &c, 1);
  (void)r;
  _exit(0);
fail:;
  int e = errno;
  int n = snprintf(msg, sizeof msg, "%s: %s", step, strerror(e));
  ssize_t w = write(rep, msg, (size_t)n);
  (void)w;
  _exit(1);
}

static int bind_all(const char *dir, unsigned mask, pid_t pid,
                    kube_error_t *err) {
  for (size_t i = 0; i < ARRAY_SIZE(pin_order); i++) {
    kube_ns_type_t t = pin_order[i];
    if (!(mask & (1u << t)))
      continue;
    char src[64], dst[4096];
    snprintf(src, sizeof src, "/proc/%d/ns/%s", (int)pid, ns_files[t]);
    snprintf(dst, sizeof dst, "%s/%s", dir, ns_files[t]);
    int fd = open(dst, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0444);
    if (fd < 0)
      return kube_make_error(err, errno, "sandbox %s: %s", dst,
                             strerror(errno));
    close(fd);
    if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
      return kube_make_error(err, errno, "sandbox: bind %s on %s: %s", src, dst,
                             strerror(errno));
  }
  return 0;
}

static bool sysctl_allowed(const char *k, unsigned mask) {
  if (str_has_prefix(k, "net."))
    return mask & (1u << KUBE_NS_NETWORK);
  if (str_has_prefix(k, "kernel.shm") || str_has_prefix(k, "kernel.msg") ||
      streq(k, "kernel.sem") || str_has_prefix(k, "fs.mqueue."))
    return mask & (1u << KUBE_NS_IPC);
  if (streq(k, "kernel.hostname") || streq(k, "kernel.domainname"))
    return mask & (1u << KUBE_NS_UTS);
  return false;
}

static int write_id_maps(pid_t pid, const kube_sandbox_options_t *o) {
  for (int which = 0; which < 2; which++) {
    const kube_rt_id_map_t *m = which ? o->gid_mappings : o->uid_mappings;
    size_t cnt = which ? o->n_gid_mappings : o->n_uid_mappings;
    char buf[1024], path[64];
    size_t n = 0;
    for (size_t i = 0; i < cnt && n < sizeof buf - 40; i++)
      n += (size_t)snprintf(buf + n, sizeof buf - n, "%u %u %u\n",
                            m[i].container_id, m[i].host_id, m[i].size);
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid,
             which ? "gid_map" : "uid_map");
    if (write_file(path, buf, n) < 0)
      return -1;
  }
  return 0;
}

KUBE_EXPORT int kube_runtime_sandbox_pin(kube_runtime_t *rt, const char *dir,
                                         const kube_sandbox_options_t *o,
                                         kube_error_t *err) {
  if (!dir || dir[0] != '/' || strlen(dir) > 3000)
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "sandbox dir: must be an absolute path");
  unsigned mask =
      o && o->namespaces
          ? o->namespaces
          : (1u << KUBE_NS_NETWORK | 1u << KUBE_NS_IPC | 1u << KUBE_NS_UTS);
  unsigned allowed = 1u << KUBE_NS_NETWORK | 1u << KUBE_NS_IPC |
                     1u << KUBE_NS_UTS | 1u << KUBE_NS_USER |
                     1u << KUBE_NS_CGROUP | 1u << KUBE_NS_PID;
  if (mask & ~allowed)
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "sandbox namespaces: only net, ipc, uts, user, "
                          "cgroup and pid can be pinned");
  const char *pause_cgroup =
      o && o->struct_size >= offsetof(kube_sandbox_options_t, pause_cgroup) +
                                 sizeof o->pause_cgroup
          ? o->pause_cgroup
          : NULL;
  if ((mask & (1u << KUBE_NS_PID)) && (!pause_cgroup || !*pause_cgroup))
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "sandbox pid namespace: needs the cgroup of its "
                          "pause process");
  if (o && o->hostname && !(mask & (1u << KUBE_NS_UTS)))
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "sandbox hostname: needs a uts namespace");
  if (o && o->hostname && strlen(o->hostname) > 64)
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "sandbox hostname: longer than 64 bytes");
  for (size_t i = 0; o && i < o->n_sysctl; i++)
    if (!o->sysctl_keys[i] || !o->sysctl_values[i] ||
        strstr(o->sysctl_keys[i], "..") || strchr(o->sysctl_keys[i], '/') ||
        !sysctl_allowed(o->sysctl_keys[i], mask))
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "sandbox sysctl %s: not namespaced by the "
                            "sandbox's namespaces",
                            o->sysctl_keys[i] ? o->sysctl_keys[i] : "");
  if ((mask & (1u << KUBE_NS_USER)) &&
      (!o || !o->n_uid_mappings || !o->n_gid_mappings))
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "sandbox user namespace: uid and gid mappings "
                          "required");
  if (kube_runtime_sandbox_pinned(dir))
    return kube_error_set(err, KUBE_REASON_ALREADY_EXISTS, EEXIST,
                          "sandbox %s: already pinned", dir);
  if (rt_mkdir_p(dir, 0755) < 0)
    return kube_make_error(err, errno, "mkdir %s: %s", dir, strerror(errno));
  int rep[2], go[2];
  if (pipe2(rep, O_CLOEXEC) < 0)
    return kube_make_error(err, errno, "pipe: %s", strerror(errno));
  if (pipe2(go, O_CLOEXEC) < 0) {
    close(rep[0]);
    close(rep[1]);
    return kube_make_error(err, errno, "pipe: %s", strerror(errno));
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(rep[0]);
    close(go[1]);
    pin_child(mask, o, rep[1], go[0]);
  }
  close(rep[1]);
  close(go[0]);
  int rc = 0;
  char msg[512] = "";
  if (pid < 0) {
    rc = kube_make_error(err, errno, "fork: %s", strerror(errno));
  } else {
    ssize_t n;
    if (mask & (1u << KUBE_NS_USER)) {
      char c = 0;
      n = read(rep[0], &c, 1);
      if (n == 1 && c == 'u' && write_id_maps(pid, o) == 0) {
        ssize_t w = write(go[1], "g", 1);
        (void)w;
      }
    }
    n = read(rep[0], msg, sizeof msg - 1);
    msg[n > 0 ? n : 0] = 0;
    if (n == 1 && msg[0] == 'r')
      rc = bind_all(dir, mask, pid, err);
    else
      rc = kube_error_set(err, KUBE_REASON_INVALID, 0, "sandbox %s: %s", dir,
                          msg[0] ? msg : "pinning failed");
    close(go[1]); /* the child may go */
    go[1] = -1;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (go[1] >= 0)
    close(go[1]);
  close(rep[0]);
  if (rc == 0 && (mask & (1u << KUBE_NS_PID)))
    rc = rt_sandbox_pause_start(rt, dir, pause_cgroup, err);
  if (rc < 0) {
    kube_error_t e = KUBE_ERROR_INIT;
    kube_runtime_sandbox_unpin(rt, dir, &e);
    kube_error_clear(&e);
  }
  return rc;
}

KUBE_EXPORT int kube_runtime_sandbox_unpin(kube_runtime_t *rt, const char *dir,
                                           kube_error_t *err) {
  (void)rt;
  if (!dir || dir[0] != '/')
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "sandbox dir: must be an absolute path");
  int rc = 0;
  rt_sandbox_pause_stop(dir);
  for (size_t i = 0; i < ARRAY_SIZE(pin_order); i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, ns_files[pin_order[i]]);
    /* Pinned twice by a confused caller: unmount every layer. */
    for (int k = 0; k < 16 && umount2(path, MNT_DETACH) == 0; k++) {
    }
    if (unlink(path) < 0 && errno != ENOENT && rc == 0)
      rc = kube_make_error(err, errno, "remove %s: %s", path, strerror(errno));
  }
  if (rmdir(dir) < 0 && errno != ENOENT && errno != ENOTEMPTY && rc == 0)
    rc = kube_make_error(err, errno, "rmdir %s: %s", dir, strerror(errno));
  return rc;
}
