/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pod cgroups, the kubelet's layout: <parent>/pod<uid> (guaranteed),
 * <parent>/burstable/pod<uid>, <parent>/besteffort/pod<uid>, containers
 * below.  And killing everything in a cgroup tree, which a fork bomb
 * makes a race: cgroup.kill where the kernel has it (v2, and the unified
 * hierarchy of hybrid mode, which holds every process too), otherwise
 * freeze, kill what is listed, thaw, until nothing is left.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "runtime/internal.h"

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

/* The directory whose cgroup.procs lists the processes of path. */
static bool procs_dir(kube_runtime_t *rt, const char *path, char *buf,
                      size_t len) {
  char *file = rt->cgops->procs_file(&rt->cg, path);
  if (!file)
    return false;
  char *slash = strrchr(file, '/');
  if (slash)
    *slash = 0;
  snprintf(buf, len, "%s", file);
  free(file);
  return true;
}

/* Send sig to every process in dir and below; the number found. */
static int signal_tree(const char *dir, int sig) {
  int count = 0;
  char path[4096];
  snprintf(path, sizeof path, "%s/cgroup.procs", dir);
  FILE *f = fopen(path, "re");
  if (f) {
    int pid;
    while (fscanf(f, "%d", &pid) == 1)
      if (pid > 0) {
        count++;
        if (sig)
          kill(pid, sig);
      }
    fclose(f);
  }
  DIR *d = opendir(dir);
  if (!d)
    return count;
  struct dirent *de;
  while ((de = readdir(d)))
    if (de->d_type == DT_DIR && de->d_name[0] != '.') {
      snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
      count += signal_tree(path, sig);
    }
  closedir(d);
  return count;
}

int rt_cg_kill_all(kube_runtime_t *rt, const char *path, int timeout_ms) {
  char dir[4096];
  if (!path || !*path || !procs_dir(rt, path, dir, sizeof dir))
    return -1;
  bool killed = false;
  if (rt->cg.unified[0]) {
    char u[4096];
    snprintf(u, sizeof u, "%s/%s", rt->cg.unified, path);
    kube_error_t e = KUBE_ERROR_INIT;
    killed = rt_cg_write(u, "cgroup.kill", "1", &e) == 0;
    kube_error_clear(&e);
  }
  int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
  for (;;) {
    if (!killed) {
      /* Frozen, nothing forks between the listing and the kill. */
      kube_error_t e = KUBE_ERROR_INIT;
      bool frozen = rt->cgops->freeze(&rt->cg, path, true, &e) == 0;
      kube_error_clear(&e);
      signal_tree(dir, SIGKILL);
      if (frozen)
        rt->cgops->freeze(&rt->cg, path, false, &e);
      kube_error_clear(&e);
    }
    if (signal_tree(dir, 0) == 0)
      return 0;
    if (mono_ms() >= deadline)
      return timeout_ms > 0 ? (errno = EBUSY, -1) : 0;
    sleep_ms(2);
    killed = false; /* whatever is still there: the slow way too */
  }
}

/* rmdir dir and every cgroup below it, children first. */
static int rm_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return errno == ENOENT ? 0 : -1;
  struct dirent *de;
  int rc = 0;
  while ((de = readdir(d)))
    if (de->d_type == DT_DIR && de->d_name[0] != '.') {
      char sub[4096];
      snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
      if (rm_tree(sub) < 0)
        rc = -1;
    }
  closedir(d);
  if (rmdir(dir) < 0 && errno != ENOENT)
    rc = -1;
  return rc;
}

static int rm_everywhere(kube_runtime_t *rt, const char *path) {
  const struct cg_layout *l = &rt->cg;
  char dir[4096];
  int rc = 0;
  if (l->mode != CG_MODE_V2)
    for (size_t i = 0; i < l->n_v1; i++) {
      snprintf(dir, sizeof dir, "%s/%s", l->v1[i].mount, path);
      if (rm_tree(dir) < 0)
        rc = -1;
    }
  if (l->unified[0]) {
    snprintf(dir, sizeof dir, "%s/%s", l->unified, path);
    if (rm_tree(dir) < 0)
      rc = -1;
  }
  return rc;
}

static int check_path(const char *path, kube_error_t *err) {
  if (!path || !*path || strstr(path, "..") || strlen(path) > 200)
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "cgroup path \"%s\": must be relative, without "
                          "\"..\", at most 200 bytes",
                          path ? path : "");
  return 0;
}

/* path without leading slashes, when it is valid and exists. */
static const char *existing_cgroup(kube_runtime_t *rt, const char *path,
                                   kube_error_t *err) {
  if (check_path(path, err) < 0)
    return NULL;
  while (*path == '/')
    path++;
  char dir[4096];
  struct stat st;
  if (!procs_dir(rt, path, dir, sizeof dir) || stat(dir, &st) < 0) {
    kube_error_set(err, KUBE_REASON_NOT_FOUND, ENOENT,
                   "cgroup %s does not exist", path);
    return NULL;
  }
  return path;
}

KUBE_EXPORT char *kube_pod_cgroup_path(const char *parent, kube_qos_class_t qos,
                                       const char *pod_uid) {
  if (!parent || !pod_uid || !*pod_uid || strstr(parent, ".."))
    return NULL;
  for (const char *s = pod_uid; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
      return NULL;
  while (*parent == '/')
    parent++;
  const char *level = qos == KUBE_QOS_BURSTABLE    ? "burstable/"
                      : qos == KUBE_QOS_BESTEFFORT ? "besteffort/"
                                                   : "";
  char *out = NULL;
  if (asprintf(&out, "%s%s%spod%s", parent, *parent ? "/" : "", level,
               pod_uid) < 0)
    return NULL;
  return out;
}

static const kube_rt_resources_t no_limits = {-1, -1,   -1,   -1,   -1,
                                              -1, NULL, NULL, NULL, 0};

KUBE_EXPORT int kube_runtime_pod_cgroup_create(kube_runtime_t *rt,
                                               const char *path,
                                               const kube_rt_resources_t *res,
                                               kube_error_t *err) {
  if (check_path(path, err) < 0)
    return -1;
  while (*path == '/')
    path++;
  /* The besteffort level gets the smallest CPU share, as the kubelet's. */
  const char *be = strstr(path, "besteffort/");
  if (be && (be == path || be[-1] == '/')) {
    char level[256];
    snprintf(level, sizeof level, "%.*s", (int)(be - path + 10), path);
    kube_rt_resources_t r = no_limits;
    if (rt->cgops->create_parent(&rt->cg, level, &r, err) < 0)
      return kube_error_wrap(err, "cgroup %s", level);
    /* Best effort: a cgroup2 without the cpu controller has no weight. */
    r.cpu_shares = 2;
    kube_error_t e = KUBE_ERROR_INIT;
    rt->cgops->update(&rt->cg, level, &r, &e);
    kube_error_clear(&e);
  }
  if (rt->cgops->create_parent(&rt->cg, path, res ? res : &no_limits, err) <
      0) {
    kube_error_wrap(err, "pod cgroup %s", path);
    return -1;
  }
  return 0;
}

KUBE_EXPORT int kube_runtime_pod_cgroup_update(kube_runtime_t *rt,
                                               const char *path,
                                               const kube_rt_resources_t *res,
                                               kube_error_t *err) {
  if (!(path = existing_cgroup(rt, path, err)))
    return -1;
  if (rt->cgops->update(&rt->cg, path, res ? res : &no_limits, err) < 0)
    return kube_error_wrap(err, "cgroup %s", path);
  return 0;
}

KUBE_EXPORT int kube_runtime_pod_cgroup_remove(kube_runtime_t *rt,
                                               const char *path, int timeout_ms,
                                               kube_error_t *err) {
  if (check_path(path, err) < 0)
    return -1;
  while (*path == '/')
    path++;
  if (timeout_ms < 0)
    timeout_ms = 10000;
  int64_t deadline = mono_ms() + timeout_ms;
  for (;;) {
    rt_cg_kill_all(rt, path, 100);
    if (rm_everywhere(rt, path) == 0)
      return 0;
    if (mono_ms() >= deadline)
      break;
    sleep_ms(10);
  }
  char dir[4096];
  int left = procs_dir(rt, path, dir, sizeof dir) ? signal_tree(dir, 0) : -1;
  return kube_error_set(err, KUBE_REASON_TIMEOUT, EBUSY,
                        "cgroup %s not removed after %d ms (%d processes "
                        "left)",
                        path, timeout_ms, left);
}

KUBE_EXPORT int kube_runtime_pod_cgroup_stats(kube_runtime_t *rt,
                                              const char *path,
                                              kube_rt_stats_t *out,
                                              kube_error_t *err) {
  if (!(path = existing_cgroup(rt, path, err)))
    return -1;
  if (rt->cgops->stats(&rt->cg, path, out, err) < 0)
    return -1;
  clock_gettime(CLOCK_REALTIME, &out->timestamp);
  return 0;
}
