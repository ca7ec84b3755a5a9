/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prometheus text-format helpers for the modules' /metrics figures
 * (internal; prefix core_): latency histograms with kube-apiserver-like
 * buckets, and families of labelled series (a counter and a histogram
 * each).  Single-threaded, as everything on a loop.
 */
#ifndef KUBE_CORE_METRICS_H
#define KUBE_CORE_METRICS_H

#include <stdint.h>

#include <libkube/core.h>

#define CORE_HIST_N 16

typedef struct core_hist {
  uint64_t b[CORE_HIST_N]; /* per bucket (not cumulative) */
  uint64_t count;
  double sum;
} core_hist_t;

void core_hist_observe(core_hist_t *h, double seconds);
/* name_bucket{labels,le="..."} ..., name_sum, name_count; labels may be
 * "" (no labels).  The # TYPE line is the caller's. */
void core_hist_write(kube_strbuf_t *sb, const char *name, const char *labels,
                     const core_hist_t *h);

typedef struct core_series {
  char *labels; /* owned: `verb="GET",resource="pods"` */
  uint64_t count;
  core_hist_t hist;
  struct core_series *next;
} core_series_t;

typedef struct core_family {
  core_series_t **buckets;
  size_t nb, n;
} core_family_t;

/* The series with these labels, created at zero; NULL on OOM. */
core_series_t *core_family_get(core_family_t *f, const char *labels);
void core_family_clear(core_family_t *f);
/* Calls fn for every series, in labels order (stable output). */
void core_family_foreach(const core_family_t *f,
                         void (*fn)(const core_series_t *s, void *arg),
                         void *arg);

#endif
