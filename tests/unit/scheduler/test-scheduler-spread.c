/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of PodTopologySpread (filter and score), with kube-scheduler's
 * semantics: skew against the least populated eligible domain, the pod's
 * own match, minDomains, missing keys, namespaces, node affinity policy,
 * and the config switches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libkube/scheduler.h>

#define GI (1024LL * 1024 * 1024)
#define ZONE "topology.kubernetes.io/zone"

static const char *app_x[] = {"x"};
static const kube_selector_requirement_t sel_x[] = {
    {"app", KUBE_SELECTOR_EQUALS, 1, (char **)app_x}};
static const kube_sched_label_t lab_x[] = {{"app", "x"}};

static kube_scheduler_t *sched(const kube_scheduler_config_t *cfg) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_scheduler_t *s = kube_scheduler_new(cfg, &err);
  assert_non_null(s);
  return s;
}

/* Node `name` in `zone` (NULL: no zone label), 4 CPUs. */
static void node(kube_scheduler_t *s, const char *name, const char *zone,
                 int64_t cpu) {
  static kube_sched_label_t labels[64];
  static int used;
  kube_sched_node_t n = {0};
  n.name = name;
  n.allocatable.cpu_milli = cpu;
  n.allocatable.memory = 32 * GI;
  n.allocatable.pods = 110;
  if (zone) {
    labels[used] = (kube_sched_label_t){ZONE, zone};
    n.labels = &labels[used++];
    n.n_labels = 1;
  }
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_scheduler_add_node(s, &n, &err), 0);
}

static kube_sched_pod_t pod(const char *ns, const char *name, bool labelled) {
  kube_sched_pod_t p = {0};
  p.namespace_ = ns;
  p.name = name;
  p.requests.cpu_milli = 100;
  p.requests.memory = GI / 4;
  if (labelled) {
    p.labels = lab_x;
    p.n_labels = 1;
  }
  return p;
}

static void bind(kube_scheduler_t *s, const char *ns, const char *name,
                 const char *node_name) {
  kube_sched_pod_t p = pod(ns, name, true);
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_scheduler_add_pod(s, &p, node_name, &err), 0);
}

static char last[2048];
static const char *place(kube_scheduler_t *s, const kube_sched_pod_t *p) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_sched_result_t r;
  assert_int_equal(kube_scheduler_schedule(s, p, &r, &err), 0);
  snprintf(last, sizeof last, "%s", r.node ? r.node : r.message);
  kube_sched_result_clear(&r);
  return last;
}

static kube_sched_spread_constraint_t zone_spread(int32_t skew, bool soft) {
  return (kube_sched_spread_constraint_t){.max_skew = skew,
                                          .topology_key = ZONE,
                                          .schedule_anyway = soft,
                                          .n_selector = 1,
                                          .selector = sel_x};
}

static void test_skew_filter(void **state) {
  kube_scheduler_t *s = sched(NULL);
  node(s, "a", "z1", 4000);
  node(s, "b", "z1", 4000);
  node(s, "c", "z2", 4000);
  bind(s, "default", "x0", "a");
  kube_sched_spread_constraint_t c = zone_spread(1, false);
  kube_sched_pod_t p = pod("default", "p", true);
  p.spread = &c;
  p.n_spread = 1;
  /* z1 holds 1, z2 0: one more in z1 makes the skew 2 > 1. */
  assert_string_equal(place(s, &p), "c");
  /* The pod not matching its own selector adds nothing: skew 1 is fine,
   * and MostAllocated prefers the used node a. */
  kube_sched_pod_t q = pod("default", "q", false);
  q.spread = &c;
  q.n_spread = 1;
  assert_string_equal(place(s, &q), "a");
  /* Pods of another namespace do not count. */
  bind(s, "other", "y0", "c");
  bind(s, "other", "y1", "c");
  assert_string_equal(place(s, &p), "c");
  kube_scheduler_free(s);
}

static void test_filter_messages(void **state) {
  kube_scheduler_t *s = sched(NULL);
  node(s, "a", "z1", 4000);
  node(s, "b", "z2", 100); /* full after nothing: 100m only */
  node(s, "nolabel", NULL, 4000);
  bind(s, "default", "x0", "a");
  bind(s, "default", "x1", "a");
  kube_sched_spread_constraint_t c = zone_spread(1, false);
  kube_sched_pod_t p = pod("default", "p", true);
  p.spread = &c;
  p.n_spread = 1;
  p.requests.cpu_milli = 200;
  assert_string_equal(
      place(s, &p),
      "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match "
      "pod topology spread constraints, 1 node(s) didn't match pod topology "
      "spread constraints (missing required label). preemption: 0/3 nodes "
      "are available: 1 Preemption is not helpful for scheduling, 2 No "
      "preemption victims found for incoming pod.");
  kube_scheduler_free(s);
}

static void test_min_domains(void **state) {
  kube_scheduler_t *s = sched(NULL);
  node(s, "a", "z1", 4000);
  bind(s, "default", "x0", "a");
  kube_sched_spread_constraint_t c = zone_spread(1, false);
  kube_sched_pod_t p = pod("default", "p", true);
  p.spread = &c;
  p.n_spread = 1;
  /* One domain: its own minimum, skew 1 + 1 - 1 = 1 fits. */
  assert_string_equal(place(s, &p), "a");
  /* minDomains 2 with one domain: the minimum counts as 0, skew 2. */
  c.min_domains = 2;
  assert_non_null(strstr(place(s, &p), "topology spread constraints"));
  kube_scheduler_free(s);
}

static void test_node_affinity_policy(void **state) {
  kube_scheduler_t *s = sched(NULL);
  node(s, "a", "z1", 4000);
  node(s, "b", "z2", 4000);
  node(s, "c", "z3", 4000);
  bind(s, "default", "x0", "a");
  bind(s, "default", "x1", "b");
  /* The pod may only go to z1 or z2 (nodeSelector on the zone would be
   * one value: use required node affinity In (z1, z2)). */
  static const char *zs[] = {"z1", "z2"};
  kube_selector_requirement_t in = {ZONE, KUBE_SELECTOR_IN, 2, (char **)zs};
  kube_sched_node_selector_term_t term = {.n_match_expressions = 1,
                                          .match_expressions = &in};
  kube_sched_spread_constraint_t c = zone_spread(1, false);
  kube_sched_pod_t p = pod("default", "p", true);
  p.spread = &c;
  p.n_spread = 1;
  p.required_terms = &term;
  p.n_required_terms = 1;
  /* Honor (default): z3 is not a domain, z1 and z2 hold 1 each: fits
   * (a and b score alike). */
  const char *got = place(s, &p);
  assert_true(strcmp(got, "a") == 0 || strcmp(got, "b") == 0);
  /* Ignore: z3 (0) is the minimum: 1 + 1 - 0 = 2 > 1 everywhere. */
  c.ignore_node_affinity = true;
  assert_non_null(strstr(place(s, &p), "topology spread constraints"));
  kube_scheduler_free(s);
}

static void test_soft_score(void **state) {
  kube_scheduler_t *s = sched(NULL);
  node(s, "a", "z1", 4000);
  node(s, "b", "z2", 4000);
  bind(s, "default", "x0", "a");
  bind(s, "default", "x1", "a");
  bind(s, "default", "x2", "a");
  kube_sched_spread_constraint_t c = zone_spread(1, true);
  kube_sched_pod_t p = pod("default", "p", true);
  p.spread = &c;
  p.n_spread = 1;
  /* MostAllocated alone prefers a; the spread score (weight 2) b. */
  assert_string_equal(place(s, &p), "b");
  kube_sched_pod_t plain = pod("default", "plain", true);
  assert_string_equal(place(s, &plain), "a");
  /* score.PodTopologySpread = 0: packing again. */
  kube_scheduler_config_t cfg;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_scheduler_config_init(&cfg);
  assert_int_equal(cfg.spread_weight, 2);
  assert_int_equal(
      kube_scheduler_config_parse(&cfg,
                                  "score.PodTopologySpread = 0\n"
                                  "filter.PodTopologySpread = off\n",
                                  &err),
      0);
  assert_int_equal(cfg.spread_weight, 0);
  assert_true(cfg.spread_filter_disabled);
  kube_scheduler_t *s2 = sched(&cfg);
  node(s2, "a", "z1", 4000);
  node(s2, "b", "z2", 4000);
  bind(s2, "default", "x0", "a");
  bind(s2, "default", "x1", "a");
  assert_string_equal(place(s2, &p), "a");
  /* The filter is off too: a hard constraint no longer filters. */
  c.schedule_anyway = false;
  assert_string_equal(place(s2, &p), "a");
  kube_scheduler_free(s2);
  kube_scheduler_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_skew_filter),
      cmocka_unit_test(test_filter_messages),
      cmocka_unit_test(test_min_domains),
      cmocka_unit_test(test_node_affinity_policy),
      cmocka_unit_test(test_soft_score),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
