/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the scheduler's "key = value" configuration
 * (kube_scheduler_config_parse, what `kubed server --scheduler-config`
 * reads).  A rejected text must leave the config untouched; an accepted
 * one must hold values in their documented ranges, and then the config
 * places a small fixed cluster (kube_schedule) with every strategy, weight
 * and shape the fuzzer finds: no crash, results within the documented
 * bounds, and the same placement twice (determinism for a given seed).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libkube/scheduler.h>

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      __builtin_trap();                                                        \
  } while (0)

/* Undefined behaviour is a bug like any other: stop at the first report. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) {
  return "halt_on_error=1:print_stacktrace=1";
}

#define GI (1024LL * 1024 * 1024)

static const kube_sched_label_t zone_a[] = {{"zone", "a"}, {"disk", "ssd"}};
static const kube_sched_label_t zone_b[] = {{"zone", "b"}};
static const kube_sched_taint_t gpu_taint[] = {
    {"dedicated", "gpu", KUBE_TAINT_NO_SCHEDULE}};
static const kube_sched_taint_t soft_taint[] = {
    {"flaky", NULL, KUBE_TAINT_PREFER_NO_SCHEDULE}};
static const kube_sched_image_t images[] = {{"nginx:1.27", 70000000},
                                            {"postgres:16", 400000000}};

static const kube_sched_node_t nodes[] = {
    {.name = "small", .allocatable = {2000, 4 * GI, 0, 0},
     .n_labels = 2, .labels = zone_a, .n_images = 1, .images = images},
    {.name = "big", .allocatable = {16000, 64 * GI, 0, 20},
     .n_labels = 1, .labels = zone_b, .n_taints = 1, .taints = soft_taint,
     .n_images = 2, .images = images},
    {.name = "gpu", .allocatable = {8000, 32 * GI, 0, 0},
     .n_labels = 1, .labels = zone_b, .n_taints = 1, .taints = gpu_taint},
    {.name = "cordoned", .allocatable = {4000, 8 * GI, 0, 0},
     .unschedulable = true},
};

static const kube_sched_label_t web_labels[] = {{"app", "web"}};
static const kube_sched_label_t want_ssd[] = {{"disk", "ssd"}};
static const kube_sched_toleration_t tolerate_gpu[] = {
    {"dedicated", KUBE_TOLERATION_EQUAL, "gpu", KUBE_TAINT_NO_SCHEDULE}};
static const char *const nginx[] = {"nginx:1.27"};
static const char *const postgres[] = {"postgres:16"};
static const kube_selector_requirement_t web_sel[] = {
    {.key = "app", .op = KUBE_SELECTOR_EQUALS, .n_values = 1,
     .values = (char *[]){"web"}}};
static const kube_sched_weighted_pod_affinity_term_t spread_web[] = {
    {50, {.n_selector = 1, .selector = web_sel, .topology_key = "zone"}}};
static const kube_sched_port_t http_port[] = {{8080, NULL, NULL}};

static const kube_sched_pod_t bound[] = {
    {.name = "web-0", .requests = {500, 1 * GI}, .n_labels = 1,
     .labels = web_labels, .n_images = 1, .images = nginx},
    {.name = "batch", .requests = {6000, 8 * GI}, .priority = -1},
};
static const char *const bound_on[] = {"small", "big"};

static const kube_sched_pod_t pending[] = {
    {.name = "web-1", .requests = {500, 1 * GI}, .n_labels = 1,
     .labels = web_labels, .n_images = 1, .images = nginx,
     .n_preferred_pod_anti_affinity = 1,
     .preferred_pod_anti_affinity = spread_web, .n_ports = 1,
     .ports = http_port},
    {.name = "db", .requests = {2000, 16 * GI}, .priority = 100,
     .n_images = 1, .images = postgres},
    {.name = "ssd", .requests = {100, 128 * 1024 * 1024}, .n_node_selector = 1,
     .node_selector = want_ssd},
    {.name = "trainer", .requests = {4000, 8 * GI}, .n_tolerations = 1,
     .tolerations = tolerate_gpu},
    {.name = "huge", .requests = {64000, 1024 * GI}, .priority = 1000},
    {.name = "mem", .requests = {0, 20 * GI}, .limits = {1000, 0}},
};
#define N_PENDING (sizeof pending / sizeof pending[0])

static int64_t place(const kube_scheduler_config_t *cfg,
                     kube_sched_result_t *res) {
  kube_error_t err = KUBE_ERROR_INIT;
  int64_t placed = kube_schedule(cfg, nodes, sizeof nodes / sizeof nodes[0],
                                 bound, bound_on, 2, pending, N_PENDING, res,
                                 &err);
  CHECK(placed >= 0 && placed <= (int64_t)N_PENDING);
  CHECK(!kube_error_is_set(&err));
  return placed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text)
    return 0;
  memcpy(text, data, size);
  text[size] = '\0';

  kube_scheduler_config_t cfg, before;
  kube_scheduler_config_init(&cfg);
  before = cfg;
  kube_error_t err = KUBE_ERROR_INIT;
  if (kube_scheduler_config_parse(&cfg, text, &err) < 0) {
    CHECK(kube_error_is_set(&err));
    CHECK(err.reason == KUBE_REASON_BAD_REQUEST);
    CHECK(memcmp(&cfg, &before, sizeof cfg) == 0);
    kube_error_clear(&err);
    free(text);
    return 0;
  }
  free(text);
  CHECK(!kube_error_is_set(&err));
  CHECK(cfg.struct_size == sizeof cfg);
  CHECK(cfg.strategy == KUBE_SCHED_MOST_ALLOCATED ||
        cfg.strategy == KUBE_SCHED_LEAST_ALLOCATED ||
        cfg.strategy == KUBE_SCHED_REQUESTED_TO_CAPACITY_RATIO);
  CHECK(cfg.percentage_of_nodes_to_score >= 0 &&
        cfg.percentage_of_nodes_to_score <= 100);
  for (int i = 0; i < KUBE_SCHED_SCORE__COUNT; i++)
    CHECK(cfg.score_weight[i] >= 0 && cfg.score_weight[i] <= 100);
  CHECK(cfg.cpu_weight >= 0 && cfg.cpu_weight <= 100);
  CHECK(cfg.memory_weight >= 0 && cfg.memory_weight <= 100);
  CHECK(cfg.n_shape >= 1 && cfg.n_shape <= KUBE_SCHED_MAX_SHAPE);
  for (size_t i = 0; i < cfg.n_shape; i++) {
    CHECK(cfg.shape[i].utilization >= 0 && cfg.shape[i].utilization <= 100);
    CHECK(cfg.shape[i].score >= 0 && cfg.shape[i].score <= 10);
    if (i)
      CHECK(cfg.shape[i].utilization > cfg.shape[i - 1].utilization);
  }

  kube_sched_result_t a[N_PENDING], b[N_PENDING];
  int64_t pa = place(&cfg, a), pb = place(&cfg, b);
  CHECK(pa == pb);
  int64_t n_placed = 0;
  for (size_t i = 0; i < N_PENDING; i++) {
    CHECK((a[i].node == NULL) == (b[i].node == NULL));
    if (a[i].node) {
      n_placed++;
      CHECK(strcmp(a[i].node, b[i].node) == 0);
      CHECK(a[i].score == b[i].score);
      CHECK(a[i].score >= 0);
      if (cfg.filter_enabled[KUBE_SCHED_FILTER_NODE_UNSCHEDULABLE])
        CHECK(strcmp(a[i].node, "cordoned") != 0);
      CHECK(a[i].feasible >= 1 && a[i].feasible <= a[i].evaluated);
    } else {
      CHECK(a[i].message && *a[i].message);
    }
    kube_sched_result_clear(&a[i]);
    kube_sched_result_clear(&b[i]);
  }
  CHECK(n_placed == pa);
  return 0;
}
