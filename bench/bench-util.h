/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the bench programs: wall clock and resident memory. */
#ifndef KUBE_BENCH_UTIL_H
#define KUBE_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

#endif /* KUBE_BENCH_UTIL_H */
