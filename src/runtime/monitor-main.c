/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube-monitor: what a container's monitor M becomes once it has started
 * the container (conmon's job: logs, attach, exit status).  M, a fork of the
 * daemon, execs this small program so that each container costs a few
 * hundred kB instead of a copy of the daemon's heap.  It links monitor-io.c
 * and monitor-lib.c only (libc, no libkube) and takes everything on its
 * command line; it is not meant to be run by hand:
 *
 *   kube-monitor --pid N --pidfd FD --state-fd FD --stdout FD --stderr FD
 *                --stdin FD --console FD --attach FD --log-max-size N (<0: never rotate)
 *                --log-max-files N [--log PATH] [--oom-file PATH] [--tty]
 *                [--stdin-once]
 *
 * (-1: no such fd).  It must be the parent of pid (M execs itself into it).
 */
#include <fcntl.h>
#include <limits.h>

#include "runtime/internal.h"

static int usage(const char *why) {
  fprintf(stderr,
          "kube-monitor: %s\n"
          "kube-monitor is started by the libkube runtime for each container;"
          " it is not run by hand.\n",
          why);
  return 2;
}

static bool num(const char *s, long long lo, long long hi, long long *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi)
    return false;
  *out = v;
  return true;
}

int main(int argc, char **argv) {
  static struct rt_monitor_args a;
  a = (struct rt_monitor_args){.pid = 0,
                               .pidfd = -1,
                               .dirfd = -1,
                               .out_fd = -1,
                               .err_fd = -1,
                               .stdin_fd = -1,
                               .console_in = -1,
                               .listen_fd = -1};
  static const struct {
    const char *flag;
    long long lo, hi;
  } nums[] = {{"--pid", 1, INT_MAX},          {"--pidfd", 0, INT_MAX},
              {"--state-fd", 0, INT_MAX},     {"--stdout", -1, INT_MAX},
              {"--stderr", -1, INT_MAX},      {"--stdin", -1, INT_MAX},
              {"--console", -1, INT_MAX},     {"--attach", -1, INT_MAX},
              {"--log-max-size", INT64_MIN, INT64_MAX}, {"--log-max-files", 0, 1000}};
  long long v[ARRAY_SIZE(nums)];
  bool seen[ARRAY_SIZE(nums)] = {false};
  for (int i = 1; i < argc; i++) {
    const char *f = argv[i];
    if (streq(f, "--tty")) {
      a.tty = true;
      continue;
    }
    if (streq(f, "--stdin-once")) {
      a.stdin_once = true;
      continue;
    }
    if (i + 1 >= argc)
      return usage("a flag without its value");
    const char *val = argv[++i];
    if (streq(f, "--log")) {
      a.log_path = val;
      continue;
    }
    if (streq(f, "--oom-file")) {
      if (strlen(val) >= sizeof a.oom_file)
        return usage("--oom-file: too long");
      snprintf(a.oom_file, sizeof a.oom_file, "%s", val);
      continue;
    }
    size_t k = 0;
    while (k < ARRAY_SIZE(nums) && !streq(f, nums[k].flag))
      k++;
    if (k == ARRAY_SIZE(nums))
      return usage("unknown flag");
    if (!num(val, nums[k].lo, nums[k].hi, &v[k]))
      return usage("a number out of range");
    seen[k] = true;
  }
  for (size_t k = 0; k < ARRAY_SIZE(nums); k++)
    if (!seen[k])
      return usage("a flag is missing");
  a.pid = (pid_t)v[0];
  a.pidfd = (int)v[1];
  a.dirfd = (int)v[2];
  a.out_fd = (int)v[3];
  a.err_fd = (int)v[4];
  a.stdin_fd = (int)v[5];
  a.console_in = (int)v[6];
  a.listen_fd = (int)v[7];
  a.log_max_size = (int64_t)v[8];
  a.log_max_files = (int)v[9];
  /* Only M, which holds these fds, can start us usefully. */
  if (fcntl(a.pidfd, F_GETFD) < 0 || fcntl(a.dirfd, F_GETFD) < 0)
    return usage("--pidfd/--state-fd: not open");
  rt_monitor_loop(&a);
}
