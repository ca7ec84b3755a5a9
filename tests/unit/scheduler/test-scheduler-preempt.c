/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of preemption performed by a batch (KUBE_SCHED_BATCH_PREEMPT):
 * victims chosen as kube-scheduler's DefaultPreemption chooses them, the
 * nomination reserved at once so that later pods of the batch neither take
 * the room nor pick the same victims. */
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

static kube_sched_node_t mknode(const char *name, int64_t cpu) {
  kube_sched_node_t n = {0};
  n.name = name;
  n.allocatable.cpu_milli = cpu;
  n.allocatable.memory = 32 * GI;
  n.allocatable.pods = 110;
  return n;
}

static kube_sched_pod_t mkpod(const char *name, int64_t cpu, int32_t prio) {
  kube_sched_pod_t p = {0};
  p.namespace_ = "default";
  p.name = name;
  p.requests.cpu_milli = cpu;
  p.requests.memory = GI / 2;
  p.priority = prio;
  return p;
}

static int64_t cpu_on(kube_scheduler_t *s, const char *node) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_sched_resources_t r;
  assert_int_equal(kube_scheduler_node_requested(s, node, &r, &err), 0);
  return r.cpu_milli;
}

/* scheduler_perf's PreemptionBasic in small: 4 low pods of 900m on each
 * 4-CPU node, high-priority pods of 3 CPUs. */
static kube_scheduler_t *basic(int n_nodes, const char **names) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_scheduler_t *s = kube_scheduler_new(NULL, &err);
  assert_non_null(s);
  char pname[32];
  for (int i = 0; i < n_nodes; i++) {
    kube_sched_node_t n = mknode(names[i], 4000);
    assert_int_equal(kube_scheduler_add_node(s, &n, &err), 0);
    for (int j = 0; j < 4; j++) {
      snprintf(pname, sizeof pname, "low-%s-%d", names[i], j);
      kube_sched_pod_t p = mkpod(pname, 900, i); /* node i: priority i */
      assert_int_equal(kube_scheduler_add_pod(s, &p, names[i], &err), 0);
    }
  }
  return s;
}

static void test_batch_preempts_and_reserves(void **state) {
  const char *names[] = {"a", "b"};
  kube_scheduler_t *s = basic(2, names);
  kube_error_t err = KUBE_ERROR_INIT;
  kube_sched_pod_t hi[3] = {mkpod("hi-0", 3000, 10), mkpod("hi-1", 3000, 10),
                            mkpod("hi-2", 3000, 10)};
  kube_sched_result_t r[3];
  int64_t placed = kube_scheduler_schedule_batch(
      s, hi, 3, KUBE_SCHED_BATCH_COMMIT | KUBE_SCHED_BATCH_PREEMPT, r, &err);
  assert_int_equal(placed, 0);
  /* hi-0 first (input order within a priority): node a holds the victims
   * of the lowest priority (0 < 1); 3 of its 4 pods must go. */
  assert_null(r[0].node);
  assert_string_equal(r[0].nominated_node, "a");
  assert_int_equal(r[0].n_victims, 3);
  /* hi-1 does not pick a's remaining pod (a is reserved): b. */
  assert_string_equal(r[1].nominated_node, "b");
  assert_int_equal(r[1].n_victims, 3);
  for (size_t i = 0; i < 3; i++)
    for (size_t j = 0; j < 3; j++)
      assert_string_not_equal(r[0].victims[i], r[1].victims[j]);
  /* hi-2: the reserved preemptors have its priority: no victims left. */
  assert_null(r[2].nominated_node);
  assert_int_equal(r[2].n_victims, 0);
  assert_non_null(strstr(r[2].message, "Insufficient cpu"));
  /* Reservations: one low pod (900m) and the preemptor (3000m) each. */
  assert_int_equal(cpu_on(s, "a"), 3900);
  assert_int_equal(cpu_on(s, "b"), 3900);
  /* Giving a nomination up releases it. */
  assert_int_equal(kube_scheduler_remove_pod(s, "default", "hi-0", &err), 0);
  assert_int_equal(cpu_on(s, "a"), 900);
  for (int i = 0; i < 3; i++)
    kube_sched_result_clear(&r[i]);
  kube_scheduler_free(s);
}

static void test_batch_without_preempt_flag_reports_only(void **state) {
  const char *names[] = {"a"};
  kube_scheduler_t *s = basic(1, names);
  kube_error_t err = KUBE_ERROR_INIT;
  kube_sched_pod_t hi[2] = {mkpod("hi-0", 3000, 10), mkpod("hi-1", 3000, 10)};
  kube_sched_result_t r[2];
  assert_int_equal(
      kube_scheduler_schedule_batch(s, hi, 2, KUBE_SCHED_BATCH_COMMIT, r, &err),
      0);
  /* Both see the same victims: nothing was taken. */
  assert_string_equal(r[0].nominated_node, "a");
  assert_string_equal(r[1].nominated_node, "a");
  assert_int_equal(cpu_on(s, "a"), 3600);
  for (int i = 0; i < 2; i++)
    kube_sched_result_clear(&r[i]);
  /* DRY_RUN ignores PREEMPT. */
  assert_int_equal(kube_scheduler_schedule_batch(s, hi, 1,
                                                 KUBE_SCHED_BATCH_DRY_RUN |
                                                     KUBE_SCHED_BATCH_PREEMPT,
                                                 r, &err),
                   0);
  assert_int_equal(cpu_on(s, "a"), 3600);
  kube_sched_result_clear(&r[0]);
  kube_scheduler_free(s);
}

static void test_equal_priority_is_never_a_victim(void **state) {
  const char *names[] = {"a"};
  kube_scheduler_t *s = basic(1, names); /* low pods of priority 0 */
  kube_error_t err = KUBE_ERROR_INIT;
  kube_sched_pod_t p = mkpod("same", 3000, 0);
  kube_sched_result_t r;
  assert_int_equal(kube_scheduler_schedule_batch(s, &p, 1,
                                                 KUBE_SCHED_BATCH_COMMIT |
                                                     KUBE_SCHED_BATCH_PREEMPT,
                                                 &r, &err),
                   0);
  assert_null(r.nominated_node);
  assert_int_equal(cpu_on(s, "a"), 3600);
  kube_sched_result_clear(&r);
  /* preemptionPolicy: Never: no nomination either. */
  kube_sched_pod_t never = mkpod("never", 3000, 10);
  never.preemption_never = true;
  assert_int_equal(kube_scheduler_schedule_batch(s, &never, 1,
                                                 KUBE_SCHED_BATCH_COMMIT |
                                                     KUBE_SCHED_BATCH_PREEMPT,
                                                 &r, &err),
                   0);
  assert_null(r.nominated_node);
  assert_int_equal(cpu_on(s, "a"), 3600);
  kube_sched_result_clear(&r);
  kube_scheduler_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_batch_preempts_and_reserves),
      cmocka_unit_test(test_batch_without_preempt_flag_reports_only),
      cmocka_unit_test(test_equal_priority_is_never_a_victim),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
