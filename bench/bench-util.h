/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the bench programs: wall clock, resident memory and
 * the CPU time of a process the bench started. */
#ifndef KUBE_BENCH_UTIL_H
#define KUBE_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* Monotonic wall time in seconds. */
static inline double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* VmRSS of this process in kB, -1 when unknown. */
static inline long rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  if (!f)
    return -1;
  while (fgets(line, sizeof(line), f))
    if (!strncmp(line, "VmRSS:", 6))
      kb = strtol(line + 6, NULL, 10);
  fclose(f);
  return kb;
}

/* CPU seconds (user + system, all threads) process `pid` used so far; 0
 * when unknown. */
static inline double proc_cpu_s(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "re");
  if (!f)
    return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  const char *p = strrchr(buf, ')');
  unsigned long ut = 0, st = 0;
  /* fields after the command: state(3) ... utime(14) stime(15) */
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                   &ut, &st) != 2)
    return 0;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* The port in kubed's "listening on <marker>PORT" line on `fd` (its
 * stdout), read until the line came or `deadline` (now() seconds); -1 when
 * it did not. */
static inline int bench_read_port(int fd, double deadline, const char *marker) {
  char buf[4096];
  size_t len = 0;
  while (now() < deadline && len < sizeof buf - 1) {
    ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
    if (r <= 0)
      return -1;
    len += (size_t)r;
    buf[len] = '\0';
    const char *p = strstr(buf, marker);
    if (p && strchr(p, '\n'))
      return atoi(p + strlen(marker));
  }
  return -1;
}

/* The kubed to bench: the one built beside this bench program
 * (build/bench/AREA/bench-x -> build/frontends/daemon/kubed), else
 * KUBED_PATH when the bench was built with it, else "kubed" on PATH. */
static inline void bench_default_kubed(char *out, size_t len) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) {
      *slash = '\0';
      snprintf(out, len, "%s/../../frontends/daemon/kubed", self);
      if (access(out, X_OK) == 0)
        return;
    }
  }
#ifdef KUBED_PATH
  snprintf(out, len, "%s", KUBED_PATH);
#else
  snprintf(out, len, "kubed");
#endif
}

#endif /* KUBE_BENCH_UTIL_H */
