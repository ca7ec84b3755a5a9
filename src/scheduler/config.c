/* SPDX-License-Identifier: Apache-2.0 */
/* Scheduler configuration: defaults and the small "key = value" file. */
#include <ctype.h>
#include <stdlib.h>

#include "scheduler/internal.h"

static const char *const filter_names[KUBE_SCHED_FILTER__COUNT] = {
    [KUBE_SCHED_FILTER_NODE_UNSCHEDULABLE] = "NodeUnschedulable",
    [KUBE_SCHED_FILTER_NODE_NAME] = "NodeName",
    [KUBE_SCHED_FILTER_TAINT_TOLERATION] = "TaintToleration",
    [KUBE_SCHED_FILTER_NODE_AFFINITY] = "NodeAffinity",
    [KUBE_SCHED_FILTER_NODE_PORTS] = "NodePorts",
    [KUBE_SCHED_FILTER_NODE_RESOURCES_FIT] = "NodeResourcesFit",
    [KUBE_SCHED_FILTER_INTER_POD_AFFINITY] = "InterPodAffinity",
};

static const char *const score_names[KUBE_SCHED_SCORE__COUNT] = {
    [KUBE_SCHED_SCORE_NODE_RESOURCES_FIT] = "NodeResourcesFit",
    [KUBE_SCHED_SCORE_BALANCED_ALLOCATION] = "NodeResourcesBalancedAllocation",
    [KUBE_SCHED_SCORE_IMAGE_LOCALITY] = "ImageLocality",
    [KUBE_SCHED_SCORE_INTER_POD_AFFINITY] = "InterPodAffinity",
    [KUBE_SCHED_SCORE_NODE_AFFINITY] = "NodeAffinity",
    [KUBE_SCHED_SCORE_TAINT_TOLERATION] = "TaintToleration",
};

KUBE_EXPORT void kube_scheduler_config_init(kube_scheduler_config_t *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->struct_size = sizeof(*cfg);
  cfg->strategy = KUBE_SCHED_MOST_ALLOCATED;
  for (int i = 0; i < KUBE_SCHED_FILTER__COUNT; i++)
    cfg->filter_enabled[i] = true;
  cfg->score_weight[KUBE_SCHED_SCORE_NODE_RESOURCES_FIT] = 1;
  cfg->score_weight[KUBE_SCHED_SCORE_BALANCED_ALLOCATION] = 1;
  cfg->score_weight[KUBE_SCHED_SCORE_IMAGE_LOCALITY] = 1;
  cfg->score_weight[KUBE_SCHED_SCORE_INTER_POD_AFFINITY] = 2;
  cfg->score_weight[KUBE_SCHED_SCORE_NODE_AFFINITY] = 2;
  cfg->score_weight[KUBE_SCHED_SCORE_TAINT_TOLERATION] = 3;
  cfg->spread_weight = 2;
  cfg->cpu_weight = 1;
  cfg->memory_weight = 1;
  cfg->n_shape = 2;
  cfg->shape[0] = (kube_sched_shape_point_t){0, 0};
  cfg->shape[1] = (kube_sched_shape_point_t){100, 10};
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s))
    s++;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1]))
    *--e = '\0';
  return s;
}

static bool parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *trim(end) || v < lo || v > hi)
    return false;
  *out = v;
  return true;
}

static int parse_shape(kube_scheduler_config_t *cfg, char *v) {
  kube_scheduler_config_t tmp = *cfg;
  tmp.n_shape = 0;
  char *save = NULL;
  for (char *tok = strtok_r(v, ",", &save); tok;
       tok = strtok_r(NULL, ",", &save)) {
    char *colon = strchr(tok, ':');
    int64_t u, sc;
    if (!colon || tmp.n_shape >= KUBE_SCHED_MAX_SHAPE)
      return -1;
    *colon = '\0';
    if (!parse_int(trim(tok), 0, 100, &u) ||
        !parse_int(trim(colon + 1), 0, 10, &sc))
      return -1;
    if (tmp.n_shape && u <= tmp.shape[tmp.n_shape - 1].utilization)
      return -1; /* utilization must ascend */
    tmp.shape[tmp.n_shape++] =
        (kube_sched_shape_point_t){(int32_t)u, (int32_t)sc};
  }
  if (!tmp.n_shape)
    return -1;
  *cfg = tmp;
  return 0;
}

static int set_key(kube_scheduler_config_t *cfg, const char *k, char *v) {
  int64_t x;
  if (streq(k, "strategy")) {
    if (streq(v, "MostAllocated"))
      cfg->strategy = KUBE_SCHED_MOST_ALLOCATED;
    else if (streq(v, "LeastAllocated"))
      cfg->strategy = KUBE_SCHED_LEAST_ALLOCATED;
    else if (streq(v, "RequestedToCapacityRatio"))
      cfg->strategy = KUBE_SCHED_REQUESTED_TO_CAPACITY_RATIO;
    else
      return -1;
    return 0;
  }
  if (streq(k, "percentageOfNodesToScore")) {
    if (!parse_int(v, 0, 100, &x))
      return -1;
    cfg->percentage_of_nodes_to_score = (int32_t)x;
    return 0;
  }
  if (streq(k, "seed")) {
    char *end;
    errno = 0;
    unsigned long long u = strtoull(v, &end, 0);
    if (errno || end == v || *end || *v == '-')
      return -1;
    cfg->seed = u;
    return 0;
  }
  if (streq(k, "shape"))
    return parse_shape(cfg, v);
  if (str_has_prefix(k, "resource.")) {
    if (!parse_int(v, 0, 100, &x))
      return -1;
    if (streq(k + 9, "cpu"))
      cfg->cpu_weight = (int32_t)x;
    else if (streq(k + 9, "memory"))
      cfg->memory_weight = (int32_t)x;
    else
      return -1;
    return 0;
  }
  if (streq(k, "score.PodTopologySpread")) {
    if (!parse_int(v, 0, 100, &x))
      return -1;
    cfg->spread_weight = (int32_t)x;
    return 0;
  }
  if (streq(k, "filter.PodTopologySpread")) {
    if (streq(v, "on") || streq(v, "true"))
      cfg->spread_filter_disabled = false;
    else if (streq(v, "off") || streq(v, "false"))
      cfg->spread_filter_disabled = true;
    else
      return -1;
    return 0;
  }
  if (streq(k, "score.libkube.io/VectorFit")) {
    if (!parse_int(v, 0, 100, &x))
      return -1;
    cfg->vector_fit_weight = (int32_t)x;
    return 0;
  }
  if (str_has_prefix(k, "score.")) {
    for (int i = 0; i < KUBE_SCHED_SCORE__COUNT; i++)
      if (streq(k + 6, score_names[i])) {
        if (!parse_int(v, 0, 100, &x))
          return -1;
        cfg->score_weight[i] = (int32_t)x;
        return 0;
      }
    return -1;
  }
  if (str_has_prefix(k, "filter.")) {
    for (int i = 0; i < KUBE_SCHED_FILTER__COUNT; i++)
      if (streq(k + 7, filter_names[i])) {
        if (streq(v, "on") || streq(v, "true"))
          cfg->filter_enabled[i] = true;
        else if (streq(v, "off") || streq(v, "false"))
          cfg->filter_enabled[i] = false;
        else
          return -1;
        return 0;
      }
    return -1;
  }
  return -1;
}

KUBE_EXPORT int kube_scheduler_config_parse(kube_scheduler_config_t *cfg,
                                            const char *text,
                                            kube_error_t *err) {
  if (!text)
    return 0;
  cleanup_free char *copy = strdup(text);
  if (!copy)
    return kube_make_oom(err);
  /* Parse into a copy so that a bad line leaves cfg untouched. */
  kube_scheduler_config_t tmp = *cfg;
  int line = 0;
  char *next;
  for (char *l = copy; l; l = next) {
    next = strchr(l, '\n');
    if (next)
      *next++ = '\0';
    line++;
    char *hash = strchr(l, '#');
    if (hash)
      *hash = '\0';
    char *t = trim(l);
    if (!*t)
      continue;
    char *eq = strchr(t, '=');
    if (!eq)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "scheduler config line %d: expected key = value",
                            line);
    *eq = '\0';
    char *k = trim(t), *v = trim(eq + 1);
    if (set_key(&tmp, k, v) < 0)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "scheduler config line %d: bad setting %s", line,
                            k);
  }
  *cfg = tmp;
  return 0;
}

KUBE_EXPORT int kube_scheduler_config_load(kube_scheduler_config_t *cfg,
                                           const char *path,
                                           kube_error_t *err) {
  cleanup_fclose FILE *f = fopen(path, "re");
  if (!f)
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, errno,
                          "open scheduler config %s: %s", path,
                          strerror(errno));
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
    kube_strbuf_append_len(&sb, buf, n);
    if (sb.len > 1024 * 1024) {
      kube_strbuf_clear(&sb);
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "scheduler config %s: too large", path);
    }
  }
  if (ferror(f)) {
    int e = errno;
    kube_strbuf_clear(&sb);
    return kube_error_set(err, KUBE_REASON_INTERNAL, e,
                          "read scheduler config %s", path);
  }
  cleanup_free char *text = kube_strbuf_steal(&sb);
  if (!text)
    return kube_make_oom(err);
  return kube_scheduler_config_parse(cfg, text, err);
}
