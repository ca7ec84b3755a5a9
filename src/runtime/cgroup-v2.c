/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup v2 (unified) and hybrid.  Hybrid is v1 for every controller plus
 * the same cgroup in the (nearly controller-less) unified hierarchy, so
 * tools that look at cgroup2 see the container too.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <time.h>

#include "runtime/internal.h"

/* Enable the controllers we use in every ancestor's subtree_control. */
/* Enable the controllers we use in the subtree_control of root and every
 * directory on the way to path (path itself too with include_last: a
 * parent cgroup whose children need them).  The directories must exist. */
static int v2_enable_controllers(const char *root, const char *path,
                                 bool include_last, kube_error_t *err) {
  char avail[512];
  if (rt_cg_read(root, "cgroup.controllers", avail, sizeof avail) < 0)
    return 0;
  char want[256] = "";
  static const char *const ctrls[] = {"cpu", "memory", "pids", "cpuset", NULL};
  for (int i = 0; ctrls[i]; i++) {
    size_t cl = strlen(ctrls[i]);
    for (const char *p = avail; (p = strstr(p, ctrls[i])); p += cl)
      if ((p == avail || p[-1] == ' ') && (p[cl] == 0 || p[cl] == ' ')) {
        strcat(want, want[0] ? " +" : "+");
        strcat(want, ctrls[i]);
        break;
      }
  }
  if (!want[0])
    return 0;
  char dir[512];
  int n = snprintf(dir, sizeof dir, "%s", root);
  const char *p = path;
  for (;;) {
    char cur[512];
    snprintf(cur, sizeof cur, "%s", dir);
    kube_error_t e = KUBE_ERROR_INIT;
    /* Best effort per level: a level with processes refuses (EBUSY). */
    rt_cg_write(cur, "cgroup.subtree_control", want, &e);
    kube_error_clear(&e);
    const char *slash = strchr(p, '/');
    if (!slash && !(include_last && *p))
      break;
    size_t len = slash ? (size_t)(slash - p) : strlen(p);
    n += snprintf(dir + n, sizeof dir - (size_t)n, "/%.*s", (int)len, p);
    if (!slash) {
      include_last = false;
      p += len;
      continue;
    }
    p = slash + 1;
  }
  (void)err;
  return 0;
}

static int unified_open(struct cg_handle *h, kube_error_t *err) {
  const struct cg_layout *l = h->layout;
  if (rt_cg_mkdir_p(l->unified, h->path, false, err) < 0)
    return -1;
  char dir[512];
  snprintf(dir, sizeof dir, "%s/%s", l->unified, h->path);
  h->unified_fd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (h->unified_fd < 0)
    return kube_make_error(err, errno, "open %s: %s", dir, strerror(errno));
  h->unified_procs_fd =
      openat(h->unified_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
  if (h->unified_procs_fd < 0)
    return kube_make_error(err, errno, "open %s/cgroup.procs: %s", dir,
                           strerror(errno));
  return 0;
}

static int v2_limits(const struct cg_layout *l, const char *path,
                     const kube_rt_resources_t *r, kube_error_t *err) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s/%s", l->unified, path);
  if (r->memory_limit > 0) {
    if (rt_cg_write_i64(dir, "memory.max", r->memory_limit, err) < 0)
      return kube_error_wrap(err, "linux.resources.memory.limit");
    int64_t sw = r->memory_swap > 0 ? r->memory_swap - r->memory_limit : 0;
    kube_error_t e = KUBE_ERROR_INIT; /* no swap accounting: fine */
    rt_cg_write_i64(dir, "memory.swap.max", sw, &e);
    kube_error_clear(&e);
  }
  if (r->cpu_shares > 0) {
    int64_t weight = 1 + ((r->cpu_shares - 2) * 9999) / 262142;
    if (rt_cg_write_i64(dir, "cpu.weight", weight, err) < 0)
      return kube_error_wrap(err, "linux.resources.cpu.shares");
  }
  if (r->cpu_quota > 0 || r->cpu_period > 0) {
    char v[64];
    int64_t period = r->cpu_period > 0 ? r->cpu_period : 100000;
    if (r->cpu_quota > 0)
      snprintf(v, sizeof v, "%" PRId64 " %" PRId64, r->cpu_quota, period);
    else
      snprintf(v, sizeof v, "max %" PRId64, period);
    if (rt_cg_write(dir, "cpu.max", v, err) < 0)
      return kube_error_wrap(err, "linux.resources.cpu.quota");
  }
  if (r->cpuset_cpus &&
      rt_cg_write(dir, "cpuset.cpus", r->cpuset_cpus, err) < 0)
    return kube_error_wrap(err, "linux.resources.cpu.cpus");
  if (r->cpuset_mems &&
      rt_cg_write(dir, "cpuset.mems", r->cpuset_mems, err) < 0)
    return kube_error_wrap(err, "linux.resources.cpu.mems");
  if (r->pids_limit > 0 &&
      rt_cg_write_i64(dir, "pids.max", r->pids_limit, err) < 0)
    return kube_error_wrap(err, "linux.resources.pids.limit");
  return 0;
}

static int v2_create(struct cg_handle *h, const kube_rt_resources_t *r,
                     kube_error_t *err) {
  const struct cg_layout *l = h->layout;
  /* mkdir first: subtree_control can only be written on what exists. */
  if (unified_open(h, err) < 0 ||
      v2_enable_controllers(l->unified, h->path, false, err) < 0 ||
      v2_limits(l, h->path, r, err) < 0)
    return -1;
  return rt_cg_bpf_devices_attach(h->unified_fd, r, err);
}

static int v2_create_parent(const struct cg_layout *l, const char *path,
                            const kube_rt_resources_t *r, kube_error_t *err) {
  if (rt_cg_mkdir_p(l->unified, path, false, err) < 0 ||
      v2_enable_controllers(l->unified, path, true, err) < 0)
    return -1;
  return v2_limits(l, path, r, err);
}

static int v2_destroy(const struct cg_layout *l, const char *path,
                      kube_error_t *err) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s/%s", l->unified, path);
  if (rt_cg_rmdir_retry(dir) < 0)
    return kube_make_error(err, errno, "rmdir %s: %s", dir, strerror(errno));
  return 0;
}

static uint64_t read_u64(const char *dir, const char *file) {
  char buf[64];
  if (rt_cg_read(dir, file, buf, sizeof buf) <= 0)
    return 0;
  return strtoull(buf, NULL, 10);
}

static bool v2_oom_file(const struct cg_layout *l, const char *path,
                        char *buf, size_t len) {
  return (size_t)snprintf(buf, len, "%s/%s/memory.events", l->unified, path) <
         len;
}

static long v2_oom_kills(const struct cg_layout *l, const char *path) {
  char file[600];
  if (!v2_oom_file(l, path, file, sizeof file))
    return -1;
  return rt_file_read_key(file, "oom_kill");
}

static int v2_stats(const struct cg_layout *l, const char *path,
                    kube_rt_stats_t *out, kube_error_t *err) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s/%s", l->unified, path);
  memset(out, 0, sizeof *out);
  long usec = rt_cg_read_key(dir, "cpu.stat", "usage_usec");
  out->cpu_usage_ns = usec > 0 ? (uint64_t)usec * 1000 : 0;
  out->memory_usage_bytes = read_u64(dir, "memory.current");
  out->memory_limit_bytes = read_u64(dir, "memory.max"); /* "max" -> 0 */
  long inactive = rt_cg_read_key(dir, "memory.stat", "inactive_file");
  out->memory_working_set_bytes =
      inactive > 0 && (uint64_t)inactive < out->memory_usage_bytes
          ? out->memory_usage_bytes - (uint64_t)inactive
          : (inactive > 0 ? 0 : out->memory_usage_bytes);
  long anon = rt_cg_read_key(dir, "memory.stat", "anon");
  out->memory_rss_bytes = anon > 0 ? (uint64_t)anon : 0;
  out->pids_current = read_u64(dir, "pids.current");
  long oom = v2_oom_kills(l, path);
  out->oom_kills = oom > 0 ? (uint64_t)oom : 0;
  return 0;
}

static int v2_freeze(const struct cg_layout *l, const char *path, bool frozen,
                     kube_error_t *err) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s/%s", l->unified, path);
  if (rt_cg_write(dir, "cgroup.freeze", frozen ? "1" : "0", err) < 0)
    return -1;
  for (int i = 0; i < 1000; i++) {
    if (rt_cg_read_key(dir, "cgroup.events", "frozen") == (frozen ? 1 : 0))
      return 0;
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  return kube_error_set(err, KUBE_REASON_TIMEOUT, 0, "cgroup did not %s",
                        frozen ? "freeze" : "thaw");
}

static bool v2_frozen(const struct cg_layout *l, const char *path) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s/%s", l->unified, path);
  return rt_cg_read_key(dir, "cgroup.freeze", "") == 1 ||
         rt_cg_read_key(dir, "cgroup.events", "frozen") == 1;
}

static char *v2_procs_file(const struct cg_layout *l, const char *path) {
  char *s = NULL;
  return asprintf(&s, "%s/%s/cgroup.procs", l->unified, path) < 0 ? NULL : s;
}

const struct cgroup_ops rt_cgroup_ops_v2 = {
    .name = "v2",
    .create = v2_create,
    .destroy = v2_destroy,
    .stats = v2_stats,
    .freeze = v2_freeze,
    .procs_file = v2_procs_file,
    .oom_kills = v2_oom_kills,
    .oom_file = v2_oom_file,
    .frozen = v2_frozen,
    .create_parent = v2_create_parent,
    .update = v2_limits,
};

/* ---- hybrid ------------------------------------------------------------- */

static int hybrid_create(struct cg_handle *h, const kube_rt_resources_t *r,
                         kube_error_t *err) {
  if (rt_cgroup_ops_v1.create(h, r, err) < 0)
    return -1;
  return unified_open(h, err);
}

static int hybrid_destroy(const struct cg_layout *l, const char *path,
                          kube_error_t *err) {
  int rc = rt_cgroup_ops_v1.destroy(l, path, err);
  kube_error_t e = KUBE_ERROR_INIT;
  if (v2_destroy(l, path, rc < 0 ? &e : err) < 0 && rc == 0)
    rc = -1;
  kube_error_clear(&e);
  return rc;
}

/* The v1 controllers hold the numbers and the freezer. */
static int hybrid_stats(const struct cg_layout *l, const char *path,
                        kube_rt_stats_t *out, kube_error_t *err) {
  return rt_cgroup_ops_v1.stats(l, path, out, err);
}
static int hybrid_freeze(const struct cg_layout *l, const char *path,
                         bool frozen, kube_error_t *err) {
  return rt_cgroup_ops_v1.freeze(l, path, frozen, err);
}
static char *hybrid_procs_file(const struct cg_layout *l, const char *path) {
  return rt_cgroup_ops_v1.procs_file(l, path);
}
static long hybrid_oom_kills(const struct cg_layout *l, const char *path) {
  return rt_cgroup_ops_v1.oom_kills(l, path);
}
static bool hybrid_oom_file(const struct cg_layout *l, const char *path,
                            char *buf, size_t len) {
  return rt_cgroup_ops_v1.oom_file(l, path, buf, len);
}
static bool hybrid_frozen(const struct cg_layout *l, const char *path) {
  return rt_cgroup_ops_v1.frozen(l, path);
}
/* The unified hierarchy holds the same tree (for cgroup.kill and tools),
 * without limits: its controllers are few or none here. */
static int hybrid_create_parent(const struct cg_layout *l, const char *path,
                                const kube_rt_resources_t *r,
                                kube_error_t *err) {
  if (rt_cgroup_ops_v1.create_parent(l, path, r, err) < 0)
    return -1;
  return rt_cg_mkdir_p(l->unified, path, false, err);
}
static int hybrid_update(const struct cg_layout *l, const char *path,
                         const kube_rt_resources_t *r, kube_error_t *err) {
  return rt_cgroup_ops_v1.update(l, path, r, err);
}

const struct cgroup_ops rt_cgroup_ops_hybrid = {
    .name = "hybrid",
    .create = hybrid_create,
    .destroy = hybrid_destroy,
    .stats = hybrid_stats,
    .freeze = hybrid_freeze,
    .procs_file = hybrid_procs_file,
    .oom_kills = hybrid_oom_kills,
    .oom_file = hybrid_oom_file,
    .frozen = hybrid_frozen,
    .create_parent = hybrid_create_parent,
    .update = hybrid_update,
};
