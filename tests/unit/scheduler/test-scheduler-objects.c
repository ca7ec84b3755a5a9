/* SPDX-License-Identifier: Apache-2.0 */
/* The scheduler fed with Node and Pod objects: conversion of allocatable,
 * requests, taints, tolerations and node selectors; placed pods; batches;
 * unusable objects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <libkube/scheduler.h>

static kube_object_t *obj(const char *json) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *o = kube_object_from_json(json, strlen(json), &err);
  assert_non_null(o);
  return o;
}

static kube_object_t *node(const char *name, const char *cpu,
                           const char *extra) {
  char json[1024];
  snprintf(json, sizeof json,
           "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":"
           "\"%s\",\"labels\":{\"disk\":\"%s\"}},\"spec\":{%s},\"status\":{"
           "\"allocatable\":{\"cpu\":\"%s\",\"memory\":\"4Gi\",\"pods\":"
           "\"110\"}}}",
           name, strcmp(name, "ssd-node") == 0 ? "ssd" : "hdd", extra, cpu);
  return obj(json);
}

static kube_object_t *pod(const char *name, const char *cpu,
                          const char *spec_extra) {
  char json[1024];
  snprintf(json, sizeof json,
           "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
           "\"%s\",\"namespace\":\"default\"},\"spec\":{%s\"containers\":[{"
           "\"name\":\"c\",\"image\":\"busybox\",\"resources\":{"
           "\"requests\":{\"cpu\":\"%s\",\"memory\":\"100Mi\"}}}]}}",
           name, spec_extra, cpu);
  return obj(json);
}

static void test_objects(void **state) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_scheduler_t *s = kube_scheduler_new(NULL, &err);
  assert_non_null(s);
  kube_object_t *n1 = node("small", "1", "");
  kube_object_t *n2 = node("ssd-node", "4", "");
  kube_object_t *n3 =
      node("tainted", "8",
           "\"taints\":[{\"key\":\"gpu\",\"value\":\"yes\",\"effect\":"
           "\"NoSchedule\"}]");
  assert_int_equal(kube_scheduler_add_node_object(s, n1, &err), 0);
  assert_int_equal(kube_scheduler_add_node_object(s, n2, &err), 0);
  assert_int_equal(kube_scheduler_add_node_object(s, n3, &err), 0);
  assert_int_equal(kube_scheduler_add_node_object(s, n1, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_ALREADY_EXISTS);
  kube_error_clear(&err);
  assert_int_equal(kube_scheduler_node_count(s), 3);

  /* 2 CPUs fit only the 4-CPU node (the 8-CPU one is tainted). */
  kube_object_t *p = pod("big", "2", "");
  kube_sched_result_t r;
  assert_int_equal(kube_scheduler_schedule_object(s, p, &r, &err), 0);
  assert_string_equal(r.node, "ssd-node");
  kube_sched_result_clear(&r);
  /* With a toleration the tainted node is a candidate too; with a node
   * selector only the ssd node is. */
  kube_object_t *tol = pod("tol", "6",
                           "\"tolerations\":[{\"key\":\"gpu\",\"operator\":"
                           "\"Exists\"}],");
  assert_int_equal(kube_scheduler_schedule_object(s, tol, &r, &err), 0);
  assert_string_equal(r.node, "tainted");
  kube_sched_result_clear(&r);
  kube_object_t *sel = pod("sel", "100m",
                           "\"nodeSelector\":{\"disk\":"
                           "\"ssd\"},");
  assert_int_equal(kube_scheduler_schedule_object(s, sel, &r, &err), 0);
  assert_string_equal(r.node, "ssd-node");
  kube_sched_result_clear(&r);

  /* Too big for every node: kube-scheduler's explanation. */
  kube_object_t *huge = pod("huge", "64", "");
  assert_int_equal(kube_scheduler_schedule_object(s, huge, &r, &err), 0);
  assert_null(r.node);
  assert_non_null(strstr(r.message, "0/3 nodes are available"));
  assert_non_null(strstr(r.message, "Insufficient cpu"));
  kube_sched_result_clear(&r);

  /* A placed pod: on spec.nodeName or on the node given. */
  kube_object_t *placed = pod("placed", "3", "\"nodeName\":\"ssd-node\",");
  assert_int_equal(kube_scheduler_add_pod_object(s, placed, NULL, &err), 0);
  assert_int_equal(kube_scheduler_schedule_object(s, p, &r, &err), 0);
  assert_null(r.node); /* the 4-CPU node now has 1 CPU left */
  kube_sched_result_clear(&r);
  assert_int_equal(kube_scheduler_add_pod_object(s, p, NULL, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  assert_int_equal(kube_scheduler_update_pod_object(s, placed, "tainted", &err),
                   0);
  assert_int_equal(kube_scheduler_pod_count(s), 1);

  /* A batch of two: both placed and accounted. */
  kube_object_t *b1 = pod("b1", "3", ""), *b2 = pod("b2", "3", "");
  const kube_object_t *batch[] = {b1, b2};
  kube_sched_result_t res[2];
  assert_int_equal(kube_scheduler_schedule_objects(
                       s, batch, 2, KUBE_SCHED_BATCH_COMMIT, res, &err),
                   1);
  assert_true((res[0].node != NULL) != (res[1].node != NULL));
  kube_sched_result_clear(&res[0]);
  kube_sched_result_clear(&res[1]);
  assert_int_equal(kube_scheduler_pod_count(s), 2);

  /* Update a node object: more CPU. */
  kube_object_t *bigger = node("small", "16", "");
  assert_int_equal(kube_scheduler_update_node_object(s, bigger, &err), 0);
  assert_int_equal(kube_scheduler_schedule_object(s, huge, &r, &err), 0);
  assert_null(r.node);
  kube_sched_result_clear(&r);

  /* Unusable objects. */
  kube_object_t *noname =
      obj("{\"kind\":\"Pod\",\"spec\":{\"containers\":[]}}");
  assert_int_equal(kube_scheduler_schedule_object(s, noname, &r, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  const kube_object_t *bad_batch[] = {b1, noname};
  assert_int_equal(
      kube_scheduler_schedule_objects(s, bad_batch, 2, 0, res, &err), -1);
  assert_non_null(strstr(err.message, "pod 1"));
  kube_error_clear(&err);
  kube_object_t *badq = pod("badq", "lots", "");
  assert_int_equal(kube_scheduler_schedule_object(s, badq, &r, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  assert_int_equal(kube_scheduler_add_node_object(s, NULL, &err), -1);
  kube_error_clear(&err);

  kube_object_t *objs[] = {n1,     n2, n3, p,      tol,    sel, huge,
                           placed, b1, b2, bigger, noname, badq};
  for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++)
    kube_object_free(objs[i]);
  kube_scheduler_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_objects),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
