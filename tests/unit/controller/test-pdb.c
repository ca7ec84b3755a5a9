/* SPDX-License-Identifier: Apache-2.0 */
/* The disruption controller: a budget's status against its pods and their
 * controllers' scale, evictions recorded in disruptedPods (and forgotten
 * after two minutes), a pod of an unknown controller failing safe, and
 * stale DisruptionTarget conditions set back to False. */
#include "controller/internal.h"
#include "test-controller.h"

static void add_rs(struct h *h, int replicas) {
  h_add(h,
        "{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{"
        "\"name\":\"rs\",\"namespace\":\"default\",\"uid\":\"uid-rs\"},"
        "\"spec\":{\"replicas\":%d,\"selector\":{\"matchLabels\":{\"app\":"
        "\"a\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"a\"}},"
        "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}}}",
        replicas);
}

/* A pod of app=a owned by `kind` uid-<kind> (NULL: none), ready or not,
 * with `extra` status conditions. */
static void add_pod(struct h *h, const char *name, const char *kind,
                    bool ready, const char *extra) {
  char owner[256] = "";
  if (kind)
    snprintf(owner, sizeof owner,
             ",\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":"
             "\"%s\",\"name\":\"rs\",\"uid\":\"uid-rs\",\"controller\":true}]",
             kind);
  h_add(h,
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
        "\"%s\",\"namespace\":\"default\",\"labels\":{\"app\":\"a\"}%s},"
        "\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"c\","
        "\"image\":\"x\"}]},\"status\":{\"phase\":\"Running\","
        "\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\"}%s]}}",
        name, owner, ready ? "True" : "False", extra ? extra : "");
}

static void add_pdb(struct h *h, const char *spec, const char *status) {
  h_add(h,
        "{\"apiVersion\":\"policy/v1\",\"kind\":\"PodDisruptionBudget\","
        "\"metadata\":{\"name\":\"b\",\"namespace\":\"default\","
        "\"generation\":1},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":"
        "\"a\"}},%s},\"status\":{%s}}",
        spec, status ? status : "");
}

static int64_t st_int(json_object *pdb, const char *f) {
  char path[64];
  snprintf(path, sizeof path, "status.%s", f);
  json_object *v = kube_json_get(pdb, path);
  return v ? json_object_get_int64(v) : -1;
}

static json_object *budget(struct h *h) {
  return h_get(h, "policy/v1", "PodDisruptionBudget", "default", "b");
}

static const char *allowed_reason(json_object *pdb) {
  json_object *c = ctl_condition(pdb, "DisruptionAllowed");
  return c ? kube_json_get_string(c, "reason") : NULL;
}

static void test_pdb_status(void **state) {
  struct h h;
  h_init(&h);
  add_rs(&h, 4);
  add_pod(&h, "p1", "ReplicaSet", true, NULL);
  add_pod(&h, "p2", "ReplicaSet", true, NULL);
  add_pod(&h, "p3", "ReplicaSet", true, NULL);
  add_pod(&h, "p4", "ReplicaSet", false, NULL);
  add_pdb(&h, "\"maxUnavailable\":\"25%\"", NULL);
  h_start(&h, "disruption");
  h_settle(&h);
  json_object *b = budget(&h);
  /* 25% of the ReplicaSet's 4, rounded up: 1; three ready of 4. */
  assert_int_equal(st_int(b, "expectedPods"), 4);
  assert_int_equal(st_int(b, "desiredHealthy"), 3);
  assert_int_equal(st_int(b, "currentHealthy"), 3);
  assert_int_equal(st_int(b, "disruptionsAllowed"), 0);
  assert_int_equal(st_int(b, "observedGeneration"), 1);
  assert_string_equal(allowed_reason(b), "InsufficientPods");
  json_object_put(b);
  /* One write, then nothing: the status is as wanted. */
  size_t puts = h_count(&h, "PUT", "/apis/policy/v1");
  assert_int_equal(puts, 1);
  h_pods_ready(&h, "default");
  h_settle(&h);
  b = budget(&h);
  assert_int_equal(st_int(b, "currentHealthy"), 4);
  assert_int_equal(st_int(b, "disruptionsAllowed"), 1);
  assert_string_equal(allowed_reason(b), "SufficientPods");
  json_object_put(b);
  h_free(&h);
}

static void test_pdb_disrupted_pods(void **state) {
  struct h h;
  char recent[40], old[40], st[200];
  h_init(&h);
  add_rs(&h, 3);
  add_pod(&h, "p1", "ReplicaSet", true, NULL);
  add_pod(&h, "p2", "ReplicaSet", true, NULL);
  add_pod(&h, "p3", "ReplicaSet", true, NULL);
  /* p1 evicted a moment ago (not deleted yet), p2 three minutes ago. */
  snprintf(st, sizeof st,
           "\"disruptedPods\":{\"p1\":\"%s\",\"p2\":\"%s\"},"
           "\"disruptionsAllowed\":0",
           h_ago(recent, sizeof recent, 1), h_ago(old, sizeof old, 180));
  add_pdb(&h, "\"minAvailable\":1", st);
  h_start(&h, "disruption");
  h_settle(&h);
  json_object *b = budget(&h);
  assert_int_equal(st_int(b, "expectedPods"), 3);
  assert_int_equal(st_int(b, "currentHealthy"), 2);
  assert_int_equal(st_int(b, "disruptionsAllowed"), 1);
  json_object *dp = kube_json_get(b, "status.disruptedPods");
  assert_non_null(dp);
  assert_int_equal(json_object_object_length(dp), 1);
  assert_string_equal(kube_json_get_string(dp, "p1"), recent);
  json_object_put(b);
  assert_true(h_events(&h, "NotDeleted") >= 1);
  h_free(&h);
}

static void test_pdb_fail_safe(void **state) {
  struct h h;
  h_init(&h);
  /* A Job's pod: no finder knows its scale. */
  add_pod(&h, "p1", "Job", true, NULL);
  add_pdb(&h, "\"minAvailable\":\"50%\"", "\"disruptionsAllowed\":3");
  h_start(&h, "disruption");
  h_settle(&h);
  json_object *b = budget(&h);
  assert_int_equal(st_int(b, "disruptionsAllowed"), 0);
  json_object *c = ctl_condition(b, "DisruptionAllowed");
  assert_non_null(c);
  assert_string_equal(kube_json_get_string(c, "status"), "False");
  assert_string_equal(kube_json_get_string(c, "reason"), "SyncFailed");
  assert_string_equal(kube_json_get_string(c, "message"),
                      "found no controllers for pod \"p1\"");
  json_object_put(b);
  assert_true(h_events(&h, "CalculateExpectedPodCountFailed") >= 1);
  h_free(&h);
}

static void test_pdb_unmanaged(void **state) {
  struct h h;
  h_init(&h);
  add_pod(&h, "p1", NULL, true, NULL);
  add_pod(&h, "p2", NULL, true, NULL);
  add_pdb(&h, "\"minAvailable\":1", NULL);
  h_start(&h, "disruption");
  h_settle(&h);
  /* An integer minAvailable needs no controller. */
  json_object *b = budget(&h);
  assert_int_equal(st_int(b, "expectedPods"), 2);
  assert_int_equal(st_int(b, "disruptionsAllowed"), 1);
  json_object_put(b);
  assert_int_equal(h_events(&h, "UnmanagedPods"), 0);
  h_free(&h);
}

static void test_stale_disruption(void **state) {
  struct h h;
  char t1[40], t2[40], c1[200], c2[200];
  h_init(&h);
  snprintf(c1, sizeof c1,
           ",{\"type\":\"DisruptionTarget\",\"status\":\"True\",\"reason\":"
           "\"EvictionByEvictionAPI\",\"lastTransitionTime\":\"%s\"}",
           h_ago(t1, sizeof t1, 180));
  snprintf(c2, sizeof c2,
           ",{\"type\":\"DisruptionTarget\",\"status\":\"True\",\"reason\":"
           "\"PreemptionByScheduler\",\"lastTransitionTime\":\"%s\"}",
           h_ago(t2, sizeof t2, 5));
  add_pod(&h, "stale", NULL, true, c1);
  add_pod(&h, "fresh", NULL, true, c2);
  h_start(&h, "disruption");
  h_settle(&h);
  json_object *p = h_get(&h, "v1", "Pod", "default", "stale");
  json_object *c = ctl_condition(p, "DisruptionTarget");
  assert_non_null(c);
  assert_string_equal(kube_json_get_string(c, "status"), "False");
  json_object_put(p);
  p = h_get(&h, "v1", "Pod", "default", "fresh");
  c = ctl_condition(p, "DisruptionTarget");
  assert_non_null(c);
  assert_string_equal(kube_json_get_string(c, "status"), "True");
  json_object_put(p);
  assert_int_equal(
      h_count(&h, "PATCH", "/api/v1/namespaces/default/pods/stale/status"),
      1);
  assert_int_equal(
      h_count(&h, "PATCH", "/api/v1/namespaces/default/pods/fresh"), 0);
  h_free(&h);
}

int run_pdb_tests(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pdb_status),
      cmocka_unit_test(test_pdb_disrupted_pods),
      cmocka_unit_test(test_pdb_fail_safe),
      cmocka_unit_test(test_pdb_unmanaged),
      cmocka_unit_test(test_stale_disruption),
  };
  return cmocka_run_group_tests_name("disruption", tests, NULL, NULL);
}
