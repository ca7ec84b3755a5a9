/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pure part of node-pressure eviction (src/node/eviction-config.c):
 * the kubelet's threshold flags (defaults, percentages and quantities,
 * soft thresholds and their grace periods, minimum reclaim, the pressure
 * transition period, what is refused and how it is said), Go durations,
 * pod priorities and the ranking of pods (usage above requests, then
 * priority, then usage beyond requests).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/eviction.h"

static void test_defaults(void **state) {
  (void)state;
  struct nd_ev_config c;
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(nd_ev_config_parse(&c, NULL, NULL, NULL, NULL, NULL, &err),
                   0);
  assert_true(c.hard[ND_EV_MEMORY].set);
  assert_int_equal(c.hard[ND_EV_MEMORY].quantity, 100 << 20);
  assert_true(c.hard[ND_EV_NODEFS].set);
  assert_true(c.hard[ND_EV_NODEFS].percent == 10.0);
  assert_true(c.hard[ND_EV_NODEFS_INODES].percent == 5.0);
  assert_true(c.hard[ND_EV_IMAGEFS].percent == 15.0);
  assert_false(c.hard[ND_EV_PID].set);
  assert_false(c.hard[ND_EV_IMAGEFS_INODES].set);
  for (int s = 0; s < ND_EV__COUNT; s++)
    assert_false(c.soft[s].set);
  assert_int_equal(c.transition_ms, 5 * 60 * 1000);
  /* 10% of 1000 bytes */
  assert_int_equal(nd_ev_threshold_value(&c.hard[ND_EV_NODEFS], 1000), 100);
  assert_int_equal(nd_ev_threshold_value(&c.hard[ND_EV_MEMORY], 1000),
                   100 << 20);
}

static void test_flags(void **state) {
  (void)state;
  struct nd_ev_config c;
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(
      nd_ev_config_parse(&c, "memory.available<1Gi, pid.available<2.5%",
                         "nodefs.available<20%,memory.available<2G",
                         "nodefs.available=1m30s,memory.available=500ms",
                         "memory.available=0Mi,nodefs.available=500Mi", "10s",
                         &err),
      0);
  /* given: only those (the kubelet's defaults are not inherited) */
  assert_false(c.hard[ND_EV_NODEFS].set);
  assert_int_equal(c.hard[ND_EV_MEMORY].quantity, 1LL << 30);
  assert_true(c.hard[ND_EV_PID].percent == 2.5);
  assert_true(c.soft[ND_EV_NODEFS].percent == 20.0);
  assert_int_equal(c.soft[ND_EV_NODEFS].grace_ms, 90000);
  assert_int_equal(c.soft[ND_EV_MEMORY].quantity, 2000000000);
  assert_int_equal(c.soft[ND_EV_MEMORY].grace_ms, 500);
  assert_true(c.min_reclaim[ND_EV_MEMORY].set); /* 0 is a value here */
  assert_int_equal(c.min_reclaim[ND_EV_MEMORY].quantity, 0);
  assert_int_equal(c.min_reclaim[ND_EV_NODEFS].quantity, 500LL << 20);
  assert_int_equal(c.transition_ms, 10000);
  /* 0 and 0% disable a threshold, as in the kubelet */
  assert_int_equal(nd_ev_config_parse(&c, "memory.available<0%", NULL, NULL,
                                      NULL, NULL, &err),
                   0);
  assert_false(c.hard[ND_EV_MEMORY].set);
}

static void refused(const char *hard, const char *soft, const char *grace,
                    const char *reclaim, const char *transition,
                    const char *want) {
  struct nd_ev_config c;
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(
      nd_ev_config_parse(&c, hard, soft, grace, reclaim, transition, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  if (!strstr(err.message, want))
    fail_msg("message \"%s\" lacks \"%s\"", err.message, want);
  kube_error_clear(&err);
}

static void test_refused(void **state) {
  (void)state;
  refused("memory.free<1Gi", NULL, NULL, NULL, NULL,
          "unrecognized signal: memory.free");
  refused("memory.available>1Gi", NULL, NULL, NULL, NULL,
          "invalid --eviction-hard memory.available>1Gi");
  refused("nodefs.available<110%", NULL, NULL, NULL, NULL,
          "must be >= 0% and <= 100%");
  refused("nodefs.available<x%", NULL, NULL, NULL, NULL,
          "invalid percentage: x%");
  refused("memory.available<-1Gi", NULL, NULL, NULL, NULL, "must be positive");
  refused("memory.available<1Qi", NULL, NULL, NULL, NULL, "memory.available");
  refused("memory.available<1Gi,memory.available<2Gi", NULL, NULL, NULL, NULL,
          "found duplicate eviction threshold for signal memory.available");
  refused(NULL, "memory.available<1Gi", NULL, NULL, NULL,
          "threshold memory.available has no grace period");
  refused(NULL, "memory.available<1Gi", "nodefs.available=1m", NULL, NULL,
          "threshold memory.available has no grace period");
  refused(NULL, "memory.available<1Gi", "memory.available=1x", NULL, NULL,
          "time: invalid duration \"1x\"");
  refused(NULL, NULL, NULL, NULL, "5", "invalid duration \"5\"");
}

static void test_durations(void **state) {
  (void)state;
  int64_t ms;
  assert_int_equal(nd_ev_duration_parse("1h2m3s", &ms), 0);
  assert_int_equal(ms, 3723000);
  assert_int_equal(nd_ev_duration_parse("1.5s", &ms), 0);
  assert_int_equal(ms, 1500);
  assert_int_equal(nd_ev_duration_parse("250ms", &ms), 0);
  assert_int_equal(ms, 250);
  assert_int_equal(nd_ev_duration_parse("0", &ms), 0);
  assert_int_equal(ms, 0);
  assert_int_equal(nd_ev_duration_parse("", &ms), -1);
  assert_int_equal(nd_ev_duration_parse("10", &ms), -1);
  assert_int_equal(nd_ev_duration_parse("-1s", &ms), -1);
  assert_int_equal(nd_ev_duration_parse("1d", &ms), -1);
}

static void test_priority(void **state) {
  (void)state;
  json_object *s = json_tokener_parse("{\"priority\":7}");
  assert_int_equal(nd_ev_pod_priority(s), 7);
  json_object_put(s);
  s = json_tokener_parse("{\"priorityClassName\":\"system-node-critical\"}");
  assert_int_equal(nd_ev_pod_priority(s), 2000001000);
  assert_true(nd_ev_critical(nd_ev_pod_priority(s)));
  json_object_put(s);
  s = json_tokener_parse("{\"priorityClassName\":\"high\"}");
  assert_int_equal(nd_ev_pod_priority(s), 0);
  assert_false(nd_ev_critical(0));
  json_object_put(s);
  assert_true(nd_ev_critical(2000000000));
}

static void test_rank(void **state) {
  (void)state;
  /* idx: 0 within requests, big; 1 above requests, low priority, small
   * excess; 2 above requests, same priority, larger excess; 3 above
   * requests, higher priority, largest excess; 4 within requests, lower
   * priority */
  struct nd_ev_candidate v[] = {
      {.idx = 0, .priority = 0, .usage = 900, .request = 1000},
      {.idx = 1, .priority = 0, .usage = 110, .request = 100},
      {.idx = 2, .priority = 0, .usage = 500, .request = 0},
      {.idx = 3, .priority = 100, .usage = 5000, .request = 0},
      {.idx = 4, .priority = -5, .usage = 10, .request = 1000},
  };
  nd_ev_rank(v, 5);
  size_t want[] = {2, 1, 3, 4, 0};
  for (size_t i = 0; i < 5; i++)
    assert_int_equal(v[i].idx, want[i]);
  nd_ev_rank(v, 0); /* nothing to do */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),  cmocka_unit_test(test_flags),
      cmocka_unit_test(test_refused),   cmocka_unit_test(test_durations),
      cmocka_unit_test(test_priority),  cmocka_unit_test(test_rank),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
