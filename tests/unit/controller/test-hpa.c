/* SPDX-License-Identifier: Apache-2.0 */
/* The HorizontalPodAutoscaler's replica calculator (upstream's
 * ReplicaCalculator for Resource metrics: utilization of the requests and
 * average values, tolerance, missing metrics, not-ready and ignored pods,
 * errors) and the scaling policies' rate limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "controller/hpa.h"

#define S 1000000000LL
#define NOW (1000000LL * S)

/* A running, ready pod started 10 min ago with a fresh sample. */
static struct hpa_pod pod(const char *name, int64_t usage, int64_t request) {
  return (struct hpa_pod){.name = name,
                          .has_metric = usage >= 0,
                          .metric = usage,
                          .metric_ns = NOW - 5 * S,
                          .window_ns = 10 * S,
                          .has_ready = true,
                          .ready = true,
                          .ready_ns = NOW - 590 * S,
                          .start_ns = NOW - 600 * S,
                          .has_request = request >= 0,
                          .request = request};
}

static int32_t calc(struct hpa_pod *p, size_t n, int32_t cur, int32_t util,
                    int64_t avg, int32_t *u) {
  int32_t desired = -1, uu;
  int64_t a;
  kube_error_t err = KUBE_ERROR_INIT;
  int rc = hpa_resource_replicas(p, n, cur, util, avg, true, NOW, &desired, &uu,
                                 &a, &err);
  if (rc < 0) {
    kube_error_clear(&err);
    return -1;
  }
  if (u)
    *u = uu;
  return desired;
}

static void test_scale_up_down(void **state) {
  (void)state;
  /* upstream TestReplicaCalcScaleUp: 300+500+700 of 3 cores at 30% */
  struct hpa_pod p[] = {pod("a", 300, 1000), pod("b", 500, 1000),
                        pod("c", 700, 1000)};
  int32_t u;
  assert_int_equal(calc(p, 3, 3, 30, 0, &u), 5);
  assert_int_equal(u, 50);
  /* TestReplicaCalcScaleDown: 100+300+500+250+250 of 5 cores at 50% */
  struct hpa_pod d[] = {pod("a", 100, 1000), pod("b", 300, 1000),
                        pod("c", 500, 1000), pod("d", 250, 1000),
                        pod("e", 250, 1000)};
  assert_int_equal(calc(d, 5, 5, 50, 0, &u), 3);
  assert_int_equal(u, 28);
  /* within the tolerance (54% of 50%): no change */
  struct hpa_pod t[] = {pod("a", 540, 1000), pod("b", 540, 1000)};
  assert_int_equal(calc(t, 2, 2, 50, 0, NULL), 2);
}

static void test_average_value(void **state) {
  (void)state;
  /* 500m each against 250m: twice as many */
  struct hpa_pod p[] = {pod("a", 500, -1), pod("b", 500, -1),
                        pod("c", 500, -1)};
  assert_int_equal(calc(p, 3, 3, 0, 250, NULL), 6);
  /* no requests needed for an average value; a missing one is an error
   * for a utilization */
  assert_int_equal(calc(p, 3, 3, 50, 0, NULL), -1);
}

static void test_unready(void **state) {
  (void)state;
  /* TestReplicaCalcScaleUpUnreadyLessScale: the unready pod counts as idle
   * on a scale-up */
  struct hpa_pod p[] = {pod("a", 300, 1000), pod("b", 500, 1000),
                        pod("c", 700, 1000)};
  p[0].ready = false;
  p[0].ready_ns = NOW - 60 * S;
  p[0].start_ns = NOW - 70 * S; /* never ready since its start */
  assert_int_equal(calc(p, 3, 3, 30, 0, NULL), 4);
  /* a pod in its CPU initialization period whose sample predates a full
   * window after readiness is unready too */
  struct hpa_pod q[] = {pod("a", 900, 1000), pod("b", 900, 1000),
                        pod("c", 900, 1000)};
  q[2].start_ns = NOW - 60 * S;
  q[2].ready_ns = NOW - 8 * S;
  q[2].metric_ns = NOW - 1 * S;
  /* ready: 1800/2000 = 90% of 50%; with c as 0: 1800/3000 = 60% -> 4 */
  assert_int_equal(calc(q, 3, 3, 50, 0, NULL), 4);
  /* Pending pods are unready; deleted and failed ones ignored */
  struct hpa_pod r[] = {pod("a", 800, 1000), pod("b", -1, 1000),
                        pod("c", 5000, 1000), pod("d", 5000, 1000)};
  r[1].pending = true;
  r[2].deleting = true;
  r[3].failed = true;
  /* 80% of 50% = 1.6; with b as 0: 800/2000 = 40% < 1: direction flips,
   * so no change */
  assert_int_equal(calc(r, 4, 2, 50, 0, NULL), 2);
}

static void test_missing(void **state) {
  (void)state;
  /* scale-up: missing pods use nothing */
  struct hpa_pod p[] = {pod("a", 900, 1000), pod("b", 900, 1000),
                        pod("c", 900, 1000), pod("d", -1, 1000)};
  /* 90%/50% = 1.8; with d as 0: 2700/4000 = 67% -> ceil(1.34 * 4) = 6 */
  assert_int_equal(calc(p, 4, 4, 50, 0, NULL), 6);
  /* scale-down: missing pods use all of their request */
  struct hpa_pod d[] = {pod("a", 100, 1000), pod("b", 100, 1000),
                        pod("c", 100, 1000), pod("d", -1, 1000)};
  /* 10%/50%; with d at 100%: 1300/4000 = 32% -> ceil(0.64 * 4) = 3 */
  assert_int_equal(calc(d, 4, 4, 50, 0, NULL), 3);
  /* the missing pod turns a scale-up into a scale-down: no change */
  struct hpa_pod f[] = {pod("a", 1200, 1000), pod("b", -1, 1000),
                        pod("c", -1, 1000), pod("d", -1, 1000)};
  assert_int_equal(calc(f, 4, 4, 100, 0, NULL), 4);
}

static void test_errors(void **state) {
  (void)state;
  int32_t d, u;
  int64_t a;
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(
      hpa_resource_replicas(NULL, 0, 1, 50, 0, true, NOW, &d, &u, &a, &err),
      -1);
  assert_string_equal(err.message, "no pods returned by selector while "
                                   "calculating replica count");
  kube_error_clear(&err);
  struct hpa_pod p[] = {pod("a", -1, 1000), pod("b", 100, 1000)};
  p[1].pending = true;
  assert_int_equal(
      hpa_resource_replicas(p, 2, 2, 50, 0, true, NOW, &d, &u, &a, &err), -1);
  assert_string_equal(err.message, "did not receive metrics for targeted pods "
                                   "(pods might be unready)");
  kube_error_clear(&err);
  struct hpa_pod q[] = {pod("a", 100, -1)};
  assert_int_equal(
      hpa_resource_replicas(q, 1, 1, 50, 0, true, NOW, &d, &u, &a, &err), -1);
  assert_string_equal(err.message, "missing request for cpu in Pod a");
  kube_error_clear(&err);
}

static void test_policies(void **state) {
  (void)state;
  struct hpa_rules up = {.select = 0,
                         .n_policies = 2,
                         .policies = {{false, 4, 60}, {true, 100, 60}}};
  struct hpa_rec ev[] = {{NOW - 30 * S, 2}, {NOW - 120 * S, 5}};
  /* the period started at 3 - 2 = 1: Pods gives 5, Percent 2 */
  assert_int_equal(hpa_scale_limit(&up, true, 3, ev, 2, NOW), 5);
  up.select = 1;
  assert_int_equal(hpa_scale_limit(&up, true, 3, ev, 2, NOW), 2);
  up.select = 2;
  assert_int_equal(hpa_scale_limit(&up, true, 3, ev, 2, NOW), 3);
  struct hpa_rules down = {.select = 0,
                           .n_policies = 2,
                           .policies = {{true, 50, 60}, {false, 3, 60}}};
  /* Max (the largest change): 10 -> 5; Min: 10 -> 7 */
  assert_int_equal(hpa_scale_limit(&down, false, 10, NULL, 0, NOW), 5);
  down.select = 1;
  assert_int_equal(hpa_scale_limit(&down, false, 10, NULL, 0, NOW), 7);
  /* a scale-down within the period counts: it started at 12 */
  struct hpa_rec dv[] = {{NOW - 10 * S, -2}};
  down.select = 0;
  assert_int_equal(hpa_scale_limit(&down, false, 10, dv, 1, NOW), 6);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_scale_up_down),
      cmocka_unit_test(test_average_value),
      cmocka_unit_test(test_unready),
      cmocka_unit_test(test_missing),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_policies),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
