/* SPDX-License-Identifier: Apache-2.0 */
/* Prometheus text-format helpers (see metrics.h). */
#include "core/metrics.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* Upper bounds in seconds: kube-apiserver's request-duration buckets
 * below 1 s, finer at the bottom where this server's requests live. */
static const double bounds[CORE_HIST_N] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};

void core_hist_observe(core_hist_t *h, double seconds) {
  h->count++;
  h->sum += seconds;
  for (int i = 0; i < CORE_HIST_N; i++)
    if (seconds <= bounds[i]) {
      h->b[i]++;
      return;
    }
  /* above the last bound: only +Inf (count) */
}

void core_hist_write(kube_strbuf_t *sb, const char *name, const char *labels,
                     const core_hist_t *h) {
  const char *sep = labels && *labels ? "," : "";
  uint64_t cum = 0;
  for (int i = 0; i < CORE_HIST_N; i++) {
    cum += h->b[i];
    kube_strbuf_printf(sb, "%s_bucket{%s%sle=\"%g\"} %llu\n", name,
                       labels ? labels : "", sep, bounds[i],
                       (unsigned long long)cum);
  }
  kube_strbuf_printf(sb, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name,
                     labels ? labels : "", sep, (unsigned long long)h->count);
  const char *open = labels && *labels ? "{" : "";
  const char *close = labels && *labels ? "}" : "";
  kube_strbuf_printf(sb, "%s_sum%s%s%s %.9g\n", name, open,
                     labels ? labels : "", close, h->sum);
  kube_strbuf_printf(sb, "%s_count%s%s%s %llu\n", name, open,
                     labels ? labels : "", close, (unsigned long long)h->count);
}

static uint64_t hash(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

core_series_t *core_family_get(core_family_t *f, const char *labels) {
  if (f->nb) {
    for (core_series_t *s = f->buckets[hash(labels) & (f->nb - 1)]; s;
         s = s->next)
      if (streq(s->labels, labels))
        return s;
  }
  if (f->n + 1 > f->nb) {
    size_t nb = f->nb ? f->nb * 2 : 16;
    core_series_t **b = calloc(nb, sizeof *b);
    if (!b)
      return NULL;
    for (size_t i = 0; i < f->nb; i++)
      for (core_series_t *s = f->buckets[i], *next; s; s = next) {
        next = s->next;
        size_t k = hash(s->labels) & (nb - 1);
        s->next = b[k];
        b[k] = s;
      }
    free(f->buckets);
    f->buckets = b;
    f->nb = nb;
  }
  core_series_t *s = calloc(1, sizeof *s);
  if (!s || !(s->labels = strdup(labels))) {
    free(s);
    return NULL;
  }
  size_t k = hash(labels) & (f->nb - 1);
  s->next = f->buckets[k];
  f->buckets[k] = s;
  f->n++;
  return s;
}

void core_family_clear(core_family_t *f) {
  for (size_t i = 0; i < f->nb; i++)
    for (core_series_t *s = f->buckets[i], *next; s; s = next) {
      next = s->next;
      free(s->labels);
      free(s);
    }
  free(f->buckets);
  memset(f, 0, sizeof *f);
}

static int by_labels(const void *a, const void *b) {
  return strcmp((*(core_series_t *const *)a)->labels,
                (*(core_series_t *const *)b)->labels);
}

void core_family_foreach(const core_family_t *f,
                         void (*fn)(const core_series_t *s, void *arg),
                         void *arg) {
  core_series_t **all = malloc((f->n ? f->n : 1) * sizeof *all);
  size_t n = 0;
  if (!all)
    return;
  for (size_t i = 0; i < f->nb; i++)
    for (core_series_t *s = f->buckets[i]; s; s = s->next)
      all[n++] = s;
  qsort(all, n, sizeof *all, by_labels);
  for (size_t i = 0; i < n; i++)
    fn(all[i], arg);
  free(all);
}
