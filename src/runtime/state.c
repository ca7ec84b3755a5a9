/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The on-disk state of a container: <root>/<id>/state (key=value lines,
 * written atomically by P), exec.fifo (present until started), exit
 * (written by the monitor), config.json (for exec).
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/stat.h>

#include "runtime/internal.h"

int rt_state_write(int dirfd, const struct rt_state *st, kube_error_t *err) {
  char buf[4096];
  int n = snprintf(
      buf, sizeof buf,
      "id=%s\npid=%d\npid_start=%llu\nmonitor_pid=%d\nmonitor_start=%llu\n"
      "created=%lld.%09ld\nstarted=%lld.%09ld\ncgroup=%s\nbundle=%s\n"
      "log=%s\nflags=%s%s%s%s\n",
      st->id, (int)st->pid, st->pid_start, (int)st->monitor_pid,
      st->monitor_start, (long long)st->created.tv_sec, st->created.tv_nsec,
      (long long)st->started.tv_sec, st->started.tv_nsec, st->cgroup_path,
      st->bundle, st->log_path, st->terminal ? "t" : "",
      st->stdin_open ? "i" : "", st->stdin_once ? "o" : "",
      st->attachable ? "a" : "");
  if (n < 0 || (size_t)n >= sizeof buf)
    return kube_make_error(err, 0, "state too large");
  if (rt_write_atomic(dirfd, "state", buf, (size_t)n) < 0)
    return kube_make_error(err, errno, "write state: %s", strerror(errno));
  return 0;
}

static int read_small(int dirfd, const char *name, char *buf, size_t len) {
  int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, len - 1);
  close(fd);
  if (n < 0)
    return -1;
  buf[n] = 0;
  return (int)n;
}

int rt_state_read(int dirfd, struct rt_state *st, kube_error_t *err) {
  char buf[4096];
  memset(st, 0, sizeof *st);
  if (read_small(dirfd, "state", buf, sizeof buf) < 0)
    return kube_error_set(
        err, errno == ENOENT ? KUBE_REASON_NOT_FOUND : KUBE_REASON_INTERNAL,
        errno, "read state: %s", strerror(errno));
  char *save = NULL;
  for (char *line = strtok_r(buf, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    char *eq = strchr(line, '=');
    if (!eq)
      continue;
    *eq = 0;
    const char *k = line, *v = eq + 1;
    if (streq(k, "id"))
      snprintf(st->id, sizeof st->id, "%s", v);
    else if (streq(k, "pid"))
      st->pid = (pid_t)atoi(v);
    else if (streq(k, "pid_start"))
      st->pid_start = strtoull(v, NULL, 10);
    else if (streq(k, "monitor_pid"))
      st->monitor_pid = (pid_t)atoi(v);
    else if (streq(k, "monitor_start"))
      st->monitor_start = strtoull(v, NULL, 10);
    else if (streq(k, "created") || streq(k, "started")) {
      struct timespec *ts = streq(k, "created") ? &st->created : &st->started;
      char *dot = NULL;
      ts->tv_sec = (time_t)strtoll(v, &dot, 10);
      ts->tv_nsec = dot && *dot == '.' ? strtol(dot + 1, NULL, 10) : 0;
    } else if (streq(k, "log"))
      snprintf(st->log_path, sizeof st->log_path, "%s", v);
    else if (streq(k, "flags")) {
      st->terminal = strchr(v, 't') != NULL;
      st->stdin_open = strchr(v, 'i') != NULL;
      st->stdin_once = strchr(v, 'o') != NULL;
      st->attachable = strchr(v, 'a') != NULL;
    } else if (streq(k, "cgroup"))
      snprintf(st->cgroup_path, sizeof st->cgroup_path, "%s", v);
    else if (streq(k, "bundle"))
      snprintf(st->bundle, sizeof st->bundle, "%s", v);
  }
  return 0;
}

int rt_state_read_exit(int dirfd, kube_rt_exit_t *out) {
  char buf[256];
  memset(out, 0, sizeof *out);
  if (read_small(dirfd, "exit", buf, sizeof buf) < 0)
    return -1;
  int oom = 0;
  long long sec = 0;
  long nsec = 0;
  char reason[32] = "";
  if (sscanf(buf, "%d %d %d %lld %ld %31s", &out->exit_code, &out->signal, &oom,
             &sec, &nsec, reason) < 5)
    return -1;
  out->oom_killed = oom != 0;
  out->finished_at.tv_sec = (time_t)sec;
  out->finished_at.tv_nsec = nsec;
  snprintf(out->reason, sizeof out->reason, "%s", reason);
  return 0;
}

/* Field 22 of /proc/<pid>/stat: start time in clock ticks since boot.  Pid
 * plus start time names a process without the pid-reuse race. */
unsigned long long rt_proc_start_time(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return 0;
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p)
    return 0;
  p += 2; /* field 3, state */
  if (*p == 'Z' || *p == 'X')
    return 0; /* exited: as good as gone */
  for (int field = 3; field < 22 && p; field++) {
    p = strchr(p, ' ');
    if (p)
      p++;
  }
  return p ? strtoull(p, NULL, 10) : 0;
}

bool rt_proc_alive(pid_t pid, unsigned long long start) {
  if (pid <= 0)
    return false;
  unsigned long long now = rt_proc_start_time(pid);
  return now != 0 && (start == 0 || now == start);
}

int rt_rm_rf_at(int dirfd, const char *name) {
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return -1;
  }
  struct dirent *de;
  while ((de = readdir(d))) {
    if (streq(de->d_name, ".") || streq(de->d_name, ".."))
      continue;
    if (de->d_type == DT_DIR)
      rt_rm_rf_at(fd, de->d_name);
    else
      unlinkat(fd, de->d_name, 0);
  }
  closedir(d);
  return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -1 : 0;
}
