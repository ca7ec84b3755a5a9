/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's root filesystem: mounts from the config, a tmpfs /dev
 * with the standard nodes, pivot_root, masked and read-only paths.  The
 * plan is computed in P; child_* functions run in C and only make system
 * calls on stack buffers.
 */
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "runtime/internal.h"

static const struct mount_opt {
  const char *name;
  bool clear;
  unsigned long flag;
} mount_opts[] = {
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},
    {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},
    {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},
    {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"bind", false, MS_BIND},
    {"rbind", false, MS_BIND | MS_REC},
};

static const struct {
  const char *name;
  unsigned long flag;
} prop_opts[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

int rt_plan_prepare_mounts(struct child_plan *p, const kube_rt_config_t *cfg,
                           kube_error_t *err) {
  p->mounts = calloc(cfg->n_mounts + 1, sizeof *p->mounts);
  if (!p->mounts)
    return kube_make_oom(err);
  kube_strbuf_t data = KUBE_STRBUF_INIT;
  size_t *offsets = calloc(cfg->n_mounts + 1, sizeof *offsets);
  if (!offsets)
    return kube_make_oom(err);
  for (size_t i = 0; i < cfg->n_mounts; i++) {
    const kube_rt_mount_t *m = &cfg->mounts[i];
    struct plan_mount *pm = &p->mounts[p->n_mounts++];
    if (snprintf(pm->target, sizeof pm->target, "%s%s", p->root,
                 m->destination) >= (int)sizeof pm->target ||
        snprintf(pm->dest, sizeof pm->dest, "%s", m->destination) >=
            (int)sizeof pm->dest) {
      free(offsets);
      kube_strbuf_clear(&data);
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "mounts[%zu].destination: path too long", i);
    }
    pm->type = m->type;
    snprintf(pm->label, sizeof pm->label, "mounts[%zu] %s", i, pm->dest);
    pm->source = m->source ? m->source : (m->type ? m->type : "none");
    offsets[i] = data.len;
    bool first = true;
    for (size_t k = 0; k < m->n_options; k++) {
      const char *o = m->options[k];
      bool known = false;
      for (size_t z = 0; z < ARRAY_SIZE(mount_opts); z++)
        if (streq(mount_opts[z].name, o)) {
          if (mount_opts[z].clear)
            pm->flags &= ~mount_opts[z].flag;
          else
            pm->flags |= mount_opts[z].flag;
          known = true;
        }
      for (size_t z = 0; z < ARRAY_SIZE(prop_opts); z++)
        if (streq(prop_opts[z].name, o)) {
          pm->propagation = prop_opts[z].flag;
          known = true;
        }
      if (known || streq(o, "defaults") || streq(o, "tmpcopyup"))
        continue;
      if (!first)
        kube_strbuf_append_char(&data, ',');
      kube_strbuf_append(&data, o);
      first = false;
    }
    kube_strbuf_append_char(&data, 0);
    pm->is_bind = (pm->flags & MS_BIND) || (m->type && streq(m->type, "bind"));
    if (pm->is_bind) {
      pm->flags |= MS_BIND;
      struct stat st;
      if (stat(pm->source, &st) < 0) {
        free(offsets);
        kube_strbuf_clear(&data);
        return kube_error_set(err, KUBE_REASON_INVALID, errno,
                              "mounts[%zu].source: %s: %s", i, pm->source,
                              strerror(errno));
      }
      pm->source_is_dir = S_ISDIR(st.st_mode);
      /* Flags other than MS_BIND/MS_REC need a second, remount pass. */
      pm->remount = pm->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    }
    if (streq(pm->dest, "/dev") && m->type && streq(m->type, "tmpfs")) {
      pm->is_dev = true;
      p->dev_is_tmpfs = true;
    }
    if (m->type && (streq(m->type, "cgroup") || streq(m->type, "cgroup2"))) {
      pm->is_cgroup = true;
      pm->is_bind = false;
    }
    if (m->type && streq(m->type, "proc"))
      p->has_proc_mount = true;
  }
  if (data.oom) {
    free(offsets);
    kube_strbuf_clear(&data);
    return kube_make_oom(err);
  }
  p->mount_data = kube_strbuf_steal(&data);
  for (size_t i = 0; i < p->n_mounts; i++)
    p->mounts[i].data =
        p->mount_data[offsets[i]] ? p->mount_data + offsets[i] : NULL;
  free(offsets);
  return 0;
}

/* ---- in C --------------------------------------------------------------- */

int rt_mkdir_p(const char *path, mode_t mode) {
  char buf[1024];
  size_t len = strlen(path);
  if (len >= sizeof buf)
    return errno = ENAMETOOLONG, -1;
  memcpy(buf, path, len + 1);
  for (char *s = buf + 1; *s; s++) {
    if (*s != '/')
      continue;
    *s = 0;
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
      return -1;
    *s = '/';
  }
  if (mkdir(buf, mode) < 0 && errno != EEXIST)
    return -1;
  return 0;
}

static int ensure_target(const char *target, bool dir) {
  if (dir) {
    /* Usually the directory or at least its parent exists already. */
    if (mkdir(target, 0755) == 0 || errno == EEXIST)
      return 0;
    return rt_mkdir_p(target, 0755);
  }
  struct stat st;
  if (stat(target, &st) == 0)
    return 0;
  char parent[512];
  if (snprintf(parent, sizeof parent, "%s", target) >= (int)sizeof parent)
    return errno = ENAMETOOLONG, -1;
  char *slash = strrchr(parent, '/');
  if (slash && slash != parent) {
    *slash = 0;
    if (rt_mkdir_p(parent, 0755) < 0)
      return -1;
  }
  int fd = open(target, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0)
    return -1;
  close(fd);
  return 0;
}

/* Flags a bind remount must keep (the kernel refuses to clear locked ones). */
static unsigned long locked_flags(const char *path) {
  struct statvfs sv;
  unsigned long f = 0;
  if (statvfs(path, &sv) < 0)
    return 0;
  if (sv.f_flag & ST_NOSUID)
    f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV)
    f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC)
    f |= MS_NOEXEC;
  return f;
}

static int populate_dev(const char *dev, bool in_userns) {
  static const struct {
    const char *name;
    unsigned maj, min;
  } nodes[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
               {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
  static const struct {
    const char *name, *to;
  } links[] = {{"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"},
               {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
               {"ptmx", "pts/ptmx"},          {"core", "/proc/kcore"}};
  char path[600];
  mode_t old = umask(0);
  for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
    snprintf(path, sizeof path, "%s/%s", dev, nodes[i].name);
    if (!in_userns &&
        mknod(path, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) == 0)
      continue;
    /* In a user namespace mknod is refused: bind the host's node. */
    char host[64];
    snprintf(host, sizeof host, "/dev/%s", nodes[i].name);
    if (ensure_target(path, false) < 0 ||
        mount(host, path, NULL, MS_BIND, NULL) < 0) {
      umask(old);
      return -1;
    }
  }
  umask(old);
  for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
    snprintf(path, sizeof path, "%s/%s", dev, links[i].name);
    if (symlink(links[i].to, path) < 0 && errno != EEXIST)
      return -1;
  }
  return 0;
}

/* Open (creating if asked) a path inside the rootfs without following
 * symlinks out of it: a hostile image with /dev -> /etc must not make us
 * mount over the host's /etc.  Returns an O_PATH fd, -1 with errno. */
static int open_in_root(int rootfd, const char *dest, bool mkdirs, bool file) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const char *rel = dest;
  while (*rel == '/')
    rel++;
  if (!*rel)
    return fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
  int fd = (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof how);
  if (fd >= 0 || errno != ENOENT || !mkdirs)
    return fd;
  char prefix[512];
  size_t len = strlen(rel);
  if (len >= sizeof prefix)
    return errno = ENAMETOOLONG, -1;
  int cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
  size_t pos = 0;
  while (cur >= 0 && pos < len) {
    size_t end = pos;
    while (end < len && rel[end] != '/')
      end++;
    bool last = end == len;
    memcpy(prefix, rel, end);
    prefix[end] = 0;
    const char *comp = prefix + pos;
    int next = (int)syscall(SYS_openat2, rootfd, prefix, &how, sizeof how);
    if (next < 0 && errno == ENOENT && *comp) {
      /* cur was resolved inside the root and comp is one plain name. */
      if (last && file) {
        int f = openat(cur, comp, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
                       0644);
        if (f >= 0)
          close(f);
      } else if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST) {
        int e = errno;
        close(cur);
        return errno = e, -1;
      }
      next = (int)syscall(SYS_openat2, rootfd, prefix, &how, sizeof how);
    } else if (next < 0 && !*comp) {
      next = fcntl(cur, F_DUPFD_CLOEXEC, 3); /* "a//b" */
    }
    int e = errno;
    close(cur);
    cur = next;
    errno = e;
    pos = end + 1;
  }
  return cur;
}

/* A "cgroup" mount shows the container its own cgroups: a tmpfs with one
 * read-only bind per v1 hierarchy (plus "unified" in hybrid mode), or on v2
 * a bind of the container's cgroup2 directory.  Mounting the cgroup
 * filesystems themselves fails on v1 (EBUSY) and would show the host. */
static int mount_cgroups(struct child_plan *p, struct plan_mount *m, int rootfd,
                         const char *tpath) {
  const struct cg_layout *l = p->cg_layout;
  unsigned long keep = m->flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
  unsigned long ro = m->flags & MS_RDONLY;
  char src[512];
  if (!l)
    return errno = EINVAL, -1;
  if (l->mode == CG_MODE_V2) {
    snprintf(src, sizeof src, "%s/%s", l->unified, p->cg_path);
    if (mount(src, tpath, NULL, MS_BIND | MS_REC, NULL) < 0)
      return -1;
    return mount(NULL, tpath, NULL, MS_BIND | MS_REMOUNT | keep | ro, NULL);
  }
  if (mount("tmpfs", tpath, "tmpfs", keep, "mode=755") < 0)
    return -1;
  int top = open_in_root(rootfd, m->dest, false, false);
  if (top < 0)
    return -1;
  char sub[64];
  size_t n = l->n_v1 + (l->unified[0] ? 1 : 0);
  for (size_t i = 0; i < n; i++) {
    bool uni = i == l->n_v1;
    const char *name = uni ? "unified" : l->v1[i].name;
    snprintf(src, sizeof src, "%s/%s", uni ? l->unified : l->v1[i].mount,
             p->cg_path);
    snprintf(sub, sizeof sub, "/proc/self/fd/%d/%s", top, name);
    if ((mkdir(sub, 0755) < 0 && errno != EEXIST) ||
        mount(src, sub, NULL, MS_BIND | MS_REC, NULL) < 0 ||
        mount(NULL, sub, NULL, MS_BIND | MS_REMOUNT | keep | ro, NULL) < 0) {
      int e = errno;
      close(top);
      return errno = e, -1;
    }
  }
  snprintf(sub, sizeof sub, "/proc/self/fd/%d", top);
  int r = ro ? mount(NULL, sub, NULL, MS_REMOUNT | keep | MS_RDONLY, "mode=755")
             : 0;
  int e = errno;
  close(top);
  errno = e;
  return r;
}

int rt_child_setup_rootfs(struct child_plan *p, const char **what,
                          const char **where) {
  *where = p->root;
  *what = "make / private";
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return -1;
  *what = "bind rootfs";
  if (mount(p->root, p->root, NULL, MS_BIND | MS_REC, NULL) < 0)
    return -1;
  int rootfd = open(p->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return -1;
  for (size_t i = 0; i < p->n_mounts; i++) {
    struct plan_mount *m = &p->mounts[i];
    char tpath[32];
    *where = m->label;
    *what = "create mount point";
    int tfd =
        open_in_root(rootfd, m->dest, true, !(!m->is_bind || m->source_is_dir));
    if (tfd < 0)
      return -1;
    snprintf(tpath, sizeof tpath, "/proc/self/fd/%d", tfd);
    if (m->is_cgroup) {
      *what = "mount cgroups";
      if (mount_cgroups(p, m, rootfd, tpath) < 0)
        return -1;
      close(tfd);
      continue;
    }
    *what = "mount";
    unsigned long flags = m->is_bind ? m->flags & (MS_BIND | MS_REC) : m->flags;
    if (mount(m->source, tpath, m->type && !m->is_bind ? m->type : NULL, flags,
              m->is_bind ? NULL : m->data) < 0) {
      bool sysfs = m->type && streq(m->type, "sysfs");
      /* sysfs needs a new network namespace in a user namespace; fall back
       * to a read-only bind of the host's, as runc does. */
      if (!(sysfs && errno == EPERM) ||
          mount("/sys", tpath, NULL, MS_BIND | MS_REC, NULL) < 0)
        return -1;
      m->remount |= MS_RDONLY;
      m->is_bind = true;
    }
    close(tfd);
    if (!(m->is_bind && m->remount) && !m->propagation && !m->is_dev)
      continue;
    /* Reopen: the fd above names what is now covered by the new mount. */
    tfd = open_in_root(rootfd, m->dest, false, false);
    if (tfd < 0)
      return -1;
    snprintf(tpath, sizeof tpath, "/proc/self/fd/%d", tfd);
    if (m->is_bind && m->remount) {
      *what = "remount bind";
      if (mount(NULL, tpath, NULL,
                MS_BIND | MS_REMOUNT | m->remount | locked_flags(tpath),
                NULL) < 0)
        return -1;
    }
    if (m->propagation) {
      *what = "set propagation";
      if (mount(NULL, tpath, NULL, m->propagation, NULL) < 0)
        return -1;
    }
    if (m->is_dev) {
      *what = "populate /dev";
      if (populate_dev(tpath, p->new_user) < 0)
        return -1;
    }
    close(tfd);
  }
  close(rootfd);
  return 0;
}

int rt_child_pivot_root(struct child_plan *p, const char **what,
                        const char **where) {
  *where = p->root;
  *what = "pivot_root";
  if (chdir(p->root) < 0)
    return -1;
  /* pivot_root(".", ".") stacks the old root on top of the new one; a
   * lazy unmount of "." then drops it without needing a put_old dir. */
  if (syscall(SYS_pivot_root, ".", ".") < 0)
    return -1;
  if (umount2(".", MNT_DETACH) < 0)
    return -1;
  if (chdir("/") < 0)
    return -1;
  return 0;
}

int rt_child_mask_paths(struct child_plan *p, const char **what,
                        const char **where) {
  const kube_rt_config_t *cfg = p->cfg;
  for (size_t i = 0; i < cfg->n_masked_paths; i++) {
    const char *path = cfg->masked_paths[i];
    struct stat st;
    *where = path;
    *what = "mask path";
    if (stat(path, &st) < 0) {
      if (errno == ENOENT || errno == ENOTDIR)
        continue;
      return -1;
    }
    if (S_ISDIR(st.st_mode)) {
      if (mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL) < 0)
        return -1;
    } else if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0) {
      return -1;
    }
  }
  for (size_t i = 0; i < cfg->n_readonly_paths; i++) {
    const char *path = cfg->readonly_paths[i];
    *where = path;
    *what = "read-only path";
    if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
      if (errno == ENOENT || errno == ENOTDIR)
        continue;
      return -1;
    }
    if (mount(NULL, path, NULL,
              MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags(path), NULL) < 0)
      return -1;
  }
  if (cfg->root_readonly) {
    *where = "/";
    *what = "read-only root";
    if (mount(NULL, "/", NULL,
              MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags("/"), NULL) < 0)
      return -1;
  }
  return 0;
}
