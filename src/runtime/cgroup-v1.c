/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup v1: one hierarchy per controller (or per co-mounted group). */
#include <fcntl.h>
#include <time.h>

#include "runtime/internal.h"

/* Directory of `path` in the hierarchy holding controller `ctrl`. */
static bool v1_dir(const struct cg_layout *l, const char *ctrl,
                   const char *path, char *buf, size_t len) {
  for (size_t i = 0; i < l->n_v1; i++) {
    const char *name = l->v1[i].name;
    size_t cl = strlen(ctrl);
    for (const char *p = name; (p = strstr(p, ctrl)); p += cl)
      if ((p == name || p[-1] == ',') && (p[cl] == 0 || p[cl] == ',')) {
        snprintf(buf, len, "%s/%s", l->v1[i].mount, path);
        return true;
      }
  }
  return false;
}

static int v1_mkdirs(const struct cg_layout *l, const char *path,
                     kube_error_t *err) {
  for (size_t i = 0; i < l->n_v1; i++) {
    bool cpuset = strstr(l->v1[i].name, "cpuset") != NULL;
    if (rt_cg_mkdir_p(l->v1[i].mount, path, cpuset, err) < 0)
      return -1;
  }
  return 0;
}

/* Memory, CPU, cpuset and pids limits (set fields only). */
static int v1_limits(const struct cg_layout *l, const char *path,
                     const kube_rt_resources_t *r, kube_error_t *err) {
  char dir[512];
  if (v1_dir(l, "memory", path, dir, sizeof dir)) {
    if (r->memory_limit > 0) {
      if (rt_cg_write_i64(dir, "memory.limit_in_bytes", r->memory_limit, err) <
          0)
        return kube_error_wrap(err, "linux.resources.memory.limit");
      /* No swap beyond the limit unless asked, as the kubelet does: the
       * container is OOM-killed at its limit instead of swapping. */
      int64_t sw = r->memory_swap > 0 ? r->memory_swap : r->memory_limit;
      char probe[8];
      if (rt_cg_read(dir, "memory.memsw.limit_in_bytes", probe, sizeof probe) >=
              0 &&
          rt_cg_write_i64(dir, "memory.memsw.limit_in_bytes", sw, err) < 0)
        return kube_error_wrap(err, "linux.resources.memory.swap");
    }
  } else if (r->memory_limit > 0) {
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "linux.resources.memory: no memory controller");
  }
  if (v1_dir(l, "cpu", path, dir, sizeof dir)) {
    if (r->cpu_shares > 0 &&
        rt_cg_write_i64(dir, "cpu.shares", r->cpu_shares, err) < 0)
      return kube_error_wrap(err, "linux.resources.cpu.shares");
    if (r->cpu_period > 0 &&
        rt_cg_write_i64(dir, "cpu.cfs_period_us", r->cpu_period, err) < 0)
      return kube_error_wrap(err, "linux.resources.cpu.period");
    if (r->cpu_quota > 0 &&
        rt_cg_write_i64(dir, "cpu.cfs_quota_us", r->cpu_quota, err) < 0)
      return kube_error_wrap(err, "linux.resources.cpu.quota");
  }
  if (v1_dir(l, "cpuset", path, dir, sizeof dir)) {
    if (r->cpuset_cpus &&
        rt_cg_write(dir, "cpuset.cpus", r->cpuset_cpus, err) < 0)
      return kube_error_wrap(err, "linux.resources.cpu.cpus");
    if (r->cpuset_mems &&
        rt_cg_write(dir, "cpuset.mems", r->cpuset_mems, err) < 0)
      return kube_error_wrap(err, "linux.resources.cpu.mems");
  }
  if (v1_dir(l, "pids", path, dir, sizeof dir)) {
    if (r->pids_limit > 0 &&
        rt_cg_write_i64(dir, "pids.max", r->pids_limit, err) < 0)
      return kube_error_wrap(err, "linux.resources.pids.limit");
  } else if (r->pids_limit > 0) {
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "linux.resources.pids: no pids controller");
  }
  return 0;
}

static int v1_create(struct cg_handle *h, const kube_rt_resources_t *r,
                     kube_error_t *err) {
  const struct cg_layout *l = h->layout;
  if (v1_mkdirs(l, h->path, err) < 0)
    return -1;
  for (size_t i = 0; i < l->n_v1; i++) {
    char procs[512];
    snprintf(procs, sizeof procs, "%s/%s/cgroup.procs", l->v1[i].mount,
             h->path);
    h->procs_fd[i] = open(procs, O_WRONLY | O_CLOEXEC);
    if (h->procs_fd[i] < 0)
      return kube_make_error(err, errno, "open %s: %s", procs, strerror(errno));
  }
  if (v1_limits(l, h->path, r, err) < 0)
    return -1;
  char dir[512];
  if (v1_dir(l, "devices", h->path, dir, sizeof dir)) {
    /* Docker's default: nothing but the standard nodes; mknod is allowed
     * (m) so images can carry nodes, using them is not. */
    static const char *const allowed[] = {
        "c *:* m",   "b *:* m",   "c 1:3 rwm",   "c 1:5 rwm",
        "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",   "c 5:0 rwm",
        "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm"};
    if (rt_cg_write(dir, "devices.deny", "a", err) < 0)
      return kube_error_wrap(err, "linux.resources.devices");
    for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
      if (rt_cg_write(dir, "devices.allow", allowed[i], err) < 0)
        return kube_error_wrap(err, "linux.resources.devices");
    for (size_t i = 0; i < r->n_device_rules; i++) {
      const kube_rt_device_rule_t *d = &r->device_rules[i];
      char rule[64], maj[24] = "*", min[24] = "*";
      if (d->major >= 0)
        snprintf(maj, sizeof maj, "%lld", (long long)d->major);
      if (d->minor >= 0)
        snprintf(min, sizeof min, "%lld", (long long)d->minor);
      if (d->type == 'a')
        snprintf(rule, sizeof rule, "a");
      else
        snprintf(rule, sizeof rule, "%c %s:%s %s", d->type, maj, min,
                 d->access);
      if (rt_cg_write(dir, d->allow ? "devices.allow" : "devices.deny", rule,
                      err) < 0)
        return kube_error_wrap(err, "linux.resources.devices[%zu]", i);
    }
    /* terminals after the config's rules, as in cgroup-bpf.c */
    static const char *const tty_rules[] = {"c 5:0 rwm", "c 5:1 rwm",
                                            "c 5:2 rwm", "c 136:* rwm"};
    if (r->n_device_rules)
      for (size_t i = 0; i < ARRAY_SIZE(tty_rules); i++)
        if (rt_cg_write(dir, "devices.allow", tty_rules[i], err) < 0)
          return kube_error_wrap(err, "linux.resources.devices");
  }
  return 0;
}

/* A pod or QoS cgroup: no processes of its own, no device rules (those
 * would bound what its containers may allow). */
static int v1_create_parent(const struct cg_layout *l, const char *path,
                            const kube_rt_resources_t *r, kube_error_t *err) {
  if (v1_mkdirs(l, path, err) < 0)
    return -1;
  return v1_limits(l, path, r, err);
}

static int v1_destroy(const struct cg_layout *l, const char *path,
                      kube_error_t *err) {
  int rc = 0;
  for (size_t i = 0; i < l->n_v1; i++) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", l->v1[i].mount, path);
    if (rt_cg_rmdir_retry(dir) < 0 && rc == 0)
      rc = kube_make_error(err, errno, "rmdir %s: %s", dir, strerror(errno));
  }
  return rc;
}

static uint64_t read_u64(const char *dir, const char *file) {
  char buf[64];
  if (rt_cg_read(dir, file, buf, sizeof buf) <= 0)
    return 0;
  return strtoull(buf, NULL, 10);
}

static bool v1_oom_file(const struct cg_layout *l, const char *path,
                        char *buf, size_t len) {
  char dir[512];
  if (!v1_dir(l, "memory", path, dir, sizeof dir))
    return false;
  return (size_t)snprintf(buf, len, "%s/memory.oom_control", dir) < len;
}

static long v1_oom_kills(const struct cg_layout *l, const char *path) {
  char file[600];
  if (!v1_oom_file(l, path, file, sizeof file))
    return -1;
  return rt_file_read_key(file, "oom_kill");
}

static int v1_stats(const struct cg_layout *l, const char *path,
                    kube_rt_stats_t *out, kube_error_t *err) {
  char dir[512];
  memset(out, 0, sizeof *out);
  if (v1_dir(l, "cpuacct", path, dir, sizeof dir))
    out->cpu_usage_ns = read_u64(dir, "cpuacct.usage");
  if (v1_dir(l, "memory", path, dir, sizeof dir)) {
    out->memory_usage_bytes = read_u64(dir, "memory.usage_in_bytes");
    long inactive = rt_cg_read_key(dir, "memory.stat", "total_inactive_file");
    out->memory_working_set_bytes =
        inactive > 0 && (uint64_t)inactive < out->memory_usage_bytes
            ? out->memory_usage_bytes - (uint64_t)inactive
            : (inactive > 0 ? 0 : out->memory_usage_bytes);
    long rss = rt_cg_read_key(dir, "memory.stat", "total_rss");
    out->memory_rss_bytes = rss > 0 ? (uint64_t)rss : 0;
    out->memory_limit_bytes = read_u64(dir, "memory.limit_in_bytes");
    if (out->memory_limit_bytes >= (UINT64_C(1) << 62))
      out->memory_limit_bytes = 0;
  }
  if (v1_dir(l, "pids", path, dir, sizeof dir))
    out->pids_current = read_u64(dir, "pids.current");
  long oom = v1_oom_kills(l, path);
  out->oom_kills = oom > 0 ? (uint64_t)oom : 0;
  return 0;
}

static int v1_freeze(const struct cg_layout *l, const char *path, bool frozen,
                     kube_error_t *err) {
  char dir[512];
  if (!v1_dir(l, "freezer", path, dir, sizeof dir))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "no freezer cgroup");
  const char *want = frozen ? "FROZEN" : "THAWED";
  for (int i = 0; i < 1000; i++) {
    if (rt_cg_write(dir, "freezer.state", want, err) < 0)
      return -1;
    char buf[32];
    if (rt_cg_read(dir, "freezer.state", buf, sizeof buf) > 0 &&
        streq(buf, want))
      return 0;
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  return kube_error_set(err, KUBE_REASON_TIMEOUT, 0, "freezer did not reach %s",
                        want);
}

static bool v1_frozen(const struct cg_layout *l, const char *path) {
  char dir[512], buf[32];
  return v1_dir(l, "freezer", path, dir, sizeof dir) &&
         rt_cg_read(dir, "freezer.state", buf, sizeof buf) > 0 &&
         !streq(buf, "THAWED");
}

static char *v1_procs_file(const struct cg_layout *l, const char *path) {
  char dir[512];
  if (!v1_dir(l, "pids", path, dir, sizeof dir) &&
      !v1_dir(l, "memory", path, dir, sizeof dir))
    snprintf(dir, sizeof dir, "%s/%s", l->v1[0].mount, path);
  char *s = NULL;
  return asprintf(&s, "%s/cgroup.procs", dir) < 0 ? NULL : s;
}

const struct cgroup_ops rt_cgroup_ops_v1 = {
    .name = "v1",
    .create = v1_create,
    .destroy = v1_destroy,
    .stats = v1_stats,
    .freeze = v1_freeze,
    .procs_file = v1_procs_file,
    .oom_kills = v1_oom_kills,
    .oom_file = v1_oom_file,
    .frozen = v1_frozen,
    .create_parent = v1_create_parent,
    .update = v1_limits,
};
