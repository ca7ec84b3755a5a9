/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup mode detection and helpers shared by the v1, v2 and hybrid
 * backends.  The mode is decided once per runtime handle with statfs(2):
 * cgroup2 on /sys/fs/cgroup is v2; a tmpfs there with v1 hierarchies below
 * is v1, or hybrid when a cgroup2 is also mounted at .../unified.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

#include "runtime/internal.h"

#define CG_ROOT "/sys/fs/cgroup"

static const char *const known_v1[] = {
    "cpu",        "cpuacct", "cpuset",  "memory",  "pids",
    "freezer",    "blkio",   "devices", "net_cls", "net_prio",
    "perf_event", "hugetlb", "rdma",    "misc",    NULL};

static bool is_known_v1(const char *dirname) {
  /* "cpu,cpuacct" counts when each part is known. */
  char buf[64];
  if (snprintf(buf, sizeof buf, "%s", dirname) >= (int)sizeof buf)
    return false;
  char *save = NULL;
  bool any = false;
  for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    bool ok = false;
    for (int i = 0; known_v1[i]; i++)
      ok |= streq(known_v1[i], t);
    if (!ok)
      return false;
    any = true;
  }
  return any;
}

int rt_cg_detect(struct cg_layout *l, kube_error_t *err) {
  memset(l, 0, sizeof *l);
  struct statfs sfs;
  if (statfs(CG_ROOT, &sfs) < 0)
    return kube_make_error(err, errno, "statfs %s: %s", CG_ROOT,
                           strerror(errno));
  if (sfs.f_type == CGROUP2_SUPER_MAGIC) {
    l->mode = CG_MODE_V2;
    snprintf(l->unified, sizeof l->unified, "%s", CG_ROOT);
    return 0;
  }
  if (sfs.f_type != TMPFS_MAGIC)
    return kube_make_error(err, 0, "%s is neither cgroup2 nor tmpfs", CG_ROOT);
  DIR *d = opendir(CG_ROOT);
  if (!d)
    return kube_make_error(err, errno, "opendir %s: %s", CG_ROOT,
                           strerror(errno));
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.' || de->d_type == DT_LNK ||
        strlen(de->d_name) >= 32)
      continue;
    char path[128];
    if (snprintf(path, sizeof path, "%s/%s", CG_ROOT, de->d_name) >=
            (int)sizeof path ||
        statfs(path, &sfs) < 0)
      continue;
    if (sfs.f_type == CGROUP2_SUPER_MAGIC) {
      memcpy(l->unified, path, strlen(path) + 1);
    } else if (sfs.f_type == CGROUP_SUPER_MAGIC && is_known_v1(de->d_name) &&
               l->n_v1 < RT_MAX_V1) {
      struct cg_v1_ctrl *c = &l->v1[l->n_v1++];
      memcpy(c->name, de->d_name, strlen(de->d_name) + 1);
      memcpy(c->mount, path, strlen(path) + 1);
    }
  }
  closedir(d);
  if (l->n_v1 == 0)
    return kube_make_error(err, 0, "no cgroup hierarchy found under %s",
                           CG_ROOT);
  l->mode = l->unified[0] ? CG_MODE_HYBRID : CG_MODE_V1;
  return 0;
}

const struct cgroup_ops *rt_cg_ops_for(const struct cg_layout *l) {
  switch (l->mode) {
  case CG_MODE_V1:
    return &rt_cgroup_ops_v1;
  case CG_MODE_V2:
    return &rt_cgroup_ops_v2;
  case CG_MODE_HYBRID:
    return &rt_cgroup_ops_hybrid;
  }
  return &rt_cgroup_ops_v1;
}

void rt_cg_handle_init(struct cg_handle *h, const struct cg_layout *l,
                       const char *path) {
  memset(h, 0, sizeof *h);
  h->layout = l;
  while (*path == '/')
    path++;
  snprintf(h->path, sizeof h->path, "%s", path);
  for (size_t i = 0; i < RT_MAX_V1; i++)
    h->procs_fd[i] = -1;
  h->unified_fd = -1;
  h->unified_procs_fd = -1;
}

void rt_cg_handle_close(struct cg_handle *h) {
  for (size_t i = 0; i < RT_MAX_V1; i++)
    if (h->procs_fd[i] >= 0) {
      close(h->procs_fd[i]);
      h->procs_fd[i] = -1;
    }
  if (h->unified_fd >= 0)
    close(h->unified_fd);
  if (h->unified_procs_fd >= 0)
    close(h->unified_procs_fd);
  h->unified_fd = h->unified_procs_fd = -1;
}

/* Runs in M: no allocation. */
int rt_cg_handle_enter(const struct cg_handle *h, pid_t pid) {
  char buf[24];
  int n = snprintf(buf, sizeof buf, "%d", (int)pid);
  for (size_t i = 0; i < RT_MAX_V1; i++)
    if (h->procs_fd[i] >= 0 && write(h->procs_fd[i], buf, (size_t)n) < 0)
      return -1;
  if (h->unified_procs_fd >= 0 &&
      write(h->unified_procs_fd, buf, (size_t)n) < 0)
    return -1;
  return 0;
}

int rt_cg_write(const char *dir, const char *file, const char *value,
                kube_error_t *err) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return kube_make_error(err, errno, "open %s: %s", path, strerror(errno));
  ssize_t n = write(fd, value, strlen(value));
  int saved = errno;
  close(fd);
  if (n < 0)
    return kube_error_set(
        err,
        saved == EINVAL || saved == ERANGE ? KUBE_REASON_INVALID
                                           : KUBE_REASON_INTERNAL,
        saved, "write %s to %s: %s", value, path, strerror(saved));
  return 0;
}

int rt_cg_write_i64(const char *dir, const char *file, int64_t v,
                    kube_error_t *err) {
  char buf[32];
  snprintf(buf, sizeof buf, "%" PRId64, v);
  return rt_cg_write(dir, file, buf, err);
}

int rt_cg_read(const char *dir, const char *file, char *buf, size_t len) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, len - 1);
  close(fd);
  if (n < 0)
    return -1;
  buf[n] = 0;
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
    buf[--n] = 0;
  return (int)n;
}

/* Value of "key N" in a flat-keyed file (memory.events, oom_control); no
 * allocation, so it is usable in M. */
long rt_cg_read_key(const char *dir, const char *file, const char *key) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  return rt_file_read_key(path, key);
}

/* v1 cpuset: a child's empty cpus/mems take the parent's. */
static int fill_cpuset(const char *parent, const char *dir, kube_error_t *err) {
  static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
  for (size_t i = 0; i < 2; i++) {
    char v[256];
    if (rt_cg_read(dir, files[i], v, sizeof v) != 0)
      continue; /* set already, or not a cpuset directory */
    if (rt_cg_read(parent, files[i], v, sizeof v) > 0 &&
        rt_cg_write(dir, files[i], v, err) < 0)
      return -1;
  }
  return 0;
}

/* mkdir every component of path below root.  v1 cpuset children start with
 * empty cpus/mems, which makes attaching fail: copy them from the parent,
 * also into a directory that exists already, which another thread may
 * have made an instant ago and not filled yet (pods starting at once). */
int rt_cg_mkdir_p(const char *root, const char *path, bool copy_cpuset,
                  kube_error_t *err) {
  char dir[512];
  int n = snprintf(dir, sizeof dir, "%s", root);
  const char *p = path;
  while (*p) {
    const char *slash = strchr(p, '/');
    size_t len = slash ? (size_t)(slash - p) : strlen(p);
    if (len) {
      char parent[512];
      snprintf(parent, sizeof parent, "%s", dir);
      n += snprintf(dir + n, sizeof dir - (size_t)n, "/%.*s", (int)len, p);
      if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return kube_make_error(err, errno, "mkdir %s: %s", dir,
                               strerror(errno));
      if (copy_cpuset && fill_cpuset(parent, dir, err) < 0)
        return -1;
    }
    if (!slash)
      break;
    p = slash + 1;
  }
  return 0;
}

/* rmdir, retrying briefly while the last tasks of a killed container are
 * still being torn down (EBUSY). */
int rt_cg_rmdir_retry(const char *dir) {
  for (int i = 0; i < 200; i++) {
    if (rmdir(dir) == 0 || errno == ENOENT)
      return 0;
    if (errno != EBUSY)
      return -1;
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  return -1;
}

/* Open the cgroup.procs files of an existing cgroup (for exec). */
int rt_cg_handle_open(struct cg_handle *h, kube_error_t *err) {
  const struct cg_layout *l = h->layout;
  char path[512];
  if (l->mode != CG_MODE_V2)
    for (size_t i = 0; i < l->n_v1; i++) {
      snprintf(path, sizeof path, "%s/%s/cgroup.procs", l->v1[i].mount,
               h->path);
      h->procs_fd[i] = open(path, O_WRONLY | O_CLOEXEC);
      if (h->procs_fd[i] < 0)
        return kube_make_error(err, errno, "open %s: %s", path,
                               strerror(errno));
    }
  if (l->unified[0]) {
    snprintf(path, sizeof path, "%s/%s/cgroup.procs", l->unified, h->path);
    h->unified_procs_fd = open(path, O_WRONLY | O_CLOEXEC);
    if (h->unified_procs_fd < 0)
      return kube_make_error(err, errno, "open %s: %s", path, strerror(errno));
  }
  return 0;
}
