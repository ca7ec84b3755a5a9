/* SPDX-License-Identifier: Apache-2.0 */
/* The Job controller: completions and parallelism, Indexed pods, the
 * tracking finalizer, backoffLimit, podFailurePolicy, suspend, the 1.32
 * conditions. */
#include "test-controller.h"

#define PODS "/api/v1/namespaces/default/pods"

static void add_job(struct h *h, const char *name, const char *extra_spec) {
  h_add(h,
        "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{"
        "\"name\":\"%s\",\"namespace\":\"default\",\"uid\":\"uid-%s\"},"
        "\"spec\":{%s\"backoffLimit\":6,\"selector\":{\"matchLabels\":{"
        "\"batch.kubernetes.io/controller-uid\":\"uid-%s\"}},\"template\":{"
        "\"metadata\":{\"labels\":{\"batch.kubernetes.io/controller-uid\":"
        "\"uid-%s\",\"job-name\":\"%s\"}},\"spec\":{\"restartPolicy\":"
        "\"Never\",\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}}",
        name, name, extra_spec ? extra_spec : "", name, name, name);
}

static json_object *job_status(struct h *h, const char *name) {
  json_object *j = h_get(h, "batch/v1", "Job", "default", name);
  assert_non_null(j);
  json_object *st = NULL;
  json_object_object_get_ex(j, "status", &st);
  st = st ? json_object_get(st) : json_object_new_object();
  json_object_put(j);
  return st;
}

static int64_t st_int(struct h *h, const char *name, const char *field) {
  json_object *st = job_status(h, name);
  json_object *v = kube_json_get(st, field);
  int64_t r = v ? json_object_get_int64(v) : 0;
  json_object_put(st);
  return r;
}

static const char *cond_of(json_object *st, const char *type) {
  json_object *conds = kube_json_get(st, "conditions");
  for (size_t i = 0; conds && i < json_object_array_length(conds); i++) {
    json_object *c = json_object_array_get_idx(conds, i);
    if (streq(kube_json_get_string(c, "type"), type))
      return kube_json_get_string(c, "status");
  }
  return NULL;
}

static bool has_cond(struct h *h, const char *name, const char *type,
                     const char *reason) {
  json_object *st = job_status(h, name);
  json_object *conds = kube_json_get(st, "conditions");
  bool ok = false;
  for (size_t i = 0; conds && i < json_object_array_length(conds); i++) {
    json_object *c = json_object_array_get_idx(conds, i);
    if (streq(kube_json_get_string(c, "type"), type) &&
        streq(kube_json_get_string(c, "status"), "True") &&
        (!reason || streq(kube_json_get_string(c, "reason"), reason)))
      ok = true;
  }
  json_object_put(st);
  return ok;
}

/* The i-th POST of a pod (NULL when fewer). */
static const kt_action_t *nth_pod_post(struct h *h, size_t i) {
  for (size_t k = 0; k < kt_fake_n_actions(h->f); k++) {
    const kt_action_t *a = kt_fake_action(h->f, k);
    if (streq(a->method, "POST") && streq(a->path, PODS) && i-- == 0)
      return a;
  }
  return NULL;
}

static void test_completions(void **state) {
  struct h h;
  h_init(&h);
  add_job(&h, "pi", "\"completions\":3,\"parallelism\":2,");
  h_start(&h, "job");
  h_settle(&h);
  assert_int_equal(h_count(&h, "POST", PODS), 2);
  const kt_action_t *a = kt_fake_find(h.f, "POST", PODS);
  json_object *pod = json_tokener_parse(a->body);
  assert_string_equal(kube_json_get_string(pod, "metadata.finalizers.0"),
                      "batch.kubernetes.io/job-tracking");
  assert_string_equal(
      kube_json_get_string(pod, "metadata.ownerReferences.0.kind"), "Job");
  assert_string_equal(kube_json_get_string(pod, "metadata.generateName"),
                      "pi-");
  json_object_put(pod);
  assert_int_equal(st_int(&h, "pi", "active"), 2);
  assert_non_null(kube_json_get_string(job_status(&h, "pi"), "startTime"));
  /* two succeed: one more pod (3 completions, 2 done) */
  assert_int_equal(h_pods_finish(&h, "default", "Succeeded", 0, 2), 2);
  h_settle(&h);
  assert_int_equal(st_int(&h, "pi", "succeeded"), 2);
  assert_int_equal(st_int(&h, "pi", "active"), 1);
  assert_int_equal(h_count(&h, "POST", PODS), 3);
  assert_false(has_cond(&h, "pi", "Complete", NULL));
  assert_int_equal(h_pods_finish(&h, "default", "Succeeded", 0, 5), 1);
  h_settle(&h);
  assert_int_equal(st_int(&h, "pi", "succeeded"), 3);
  assert_int_equal(st_int(&h, "pi", "active"), 0);
  assert_true(has_cond(&h, "pi", "SuccessCriteriaMet", "CompletionsReached"));
  assert_true(has_cond(&h, "pi", "Complete", "CompletionsReached"));
  json_object *st = job_status(&h, "pi");
  assert_non_null(kube_json_get_string(st, "completionTime"));
  assert_null(kube_json_get(st, "uncountedTerminatedPods"));
  json_object_put(st);
  /* every finalizer removed: each counted pod was patched */
  assert_int_equal(h_count(&h, "PATCH", PODS), 3);
  assert_int_equal(h_count(&h, "POST", PODS), 3);
  assert_true(h_events(&h, "Completed") >= 1);
  h_free(&h);
}

static void test_indexed(void **state) {
  struct h h;
  h_init(&h);
  add_job(&h, "ix",
          "\"completions\":3,\"parallelism\":3,"
          "\"completionMode\":\"Indexed\",");
  h_start(&h, "job");
  h_settle(&h);
  assert_int_equal(h_count(&h, "POST", PODS), 3);
  bool seen[3] = {false, false, false};
  for (size_t i = 0; i < 3; i++) {
    const kt_action_t *a = nth_pod_post(&h, i);
    assert_non_null(a);
    json_object *pod = json_tokener_parse(a->body);
    const char *idx;
    json_object *ann = kube_json_get(pod, "metadata.annotations");
    json_object *v = NULL;
    assert_true(json_object_object_get_ex(
        ann, "batch.kubernetes.io/job-completion-index", &v));
    idx = json_object_get_string(v);
    int k = atoi(idx);
    assert_true(k >= 0 && k < 3);
    seen[k] = true;
    char host[32], prefix[32];
    snprintf(host, sizeof host, "ix-%d", k);
    snprintf(prefix, sizeof prefix, "ix-%d-", k);
    assert_string_equal(kube_json_get_string(pod, "spec.hostname"), host);
    assert_string_equal(kube_json_get_string(pod, "metadata.generateName"),
                        prefix);
    assert_string_equal(
        kube_json_get_string(pod, "spec.containers.0.env.0.name"),
        "JOB_COMPLETION_INDEX");
    json_object_put(pod);
  }
  assert_true(seen[0] && seen[1] && seen[2]);
  assert_int_equal(h_pods_finish(&h, "default", "Succeeded", 0, 3), 3);
  h_settle(&h);
  json_object *st = job_status(&h, "ix");
  assert_string_equal(kube_json_get_string(st, "completedIndexes"), "0-2");
  assert_string_equal(cond_of(st, "Complete"), "True");
  json_object_put(st);
  h_free(&h);
}

static void test_backoff_limit(void **state) {
  struct h h;
  h_init(&h);
  h_add(&h, "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{"
            "\"name\":\"bad\",\"namespace\":\"default\",\"uid\":\"uid-bad\"},"
            "\"spec\":{\"completions\":1,\"parallelism\":1,\"backoffLimit\":1,"
            "\"template\":{\"spec\":{\"restartPolicy\":\"Never\","
            "\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}}}");
  h_start(&h, "job");
  h_settle(&h);
  assert_int_equal(h_pods_finish(&h, "default", "Failed", 1, 1), 1);
  h_settle(&h);
  /* one failure is within the limit: a replacement */
  assert_int_equal(st_int(&h, "bad", "failed"), 1);
  assert_int_equal(h_count(&h, "POST", PODS), 2);
  assert_false(has_cond(&h, "bad", "Failed", NULL));
  assert_int_equal(h_pods_finish(&h, "default", "Failed", 1, 1), 1);
  h_settle(&h);
  assert_int_equal(st_int(&h, "bad", "failed"), 2);
  assert_true(has_cond(&h, "bad", "FailureTarget", "BackoffLimitExceeded"));
  assert_true(has_cond(&h, "bad", "Failed", "BackoffLimitExceeded"));
  assert_int_equal(h_count(&h, "POST", PODS), 2);
  h_free(&h);
}

static void test_pod_failure_policy(void **state) {
  struct h h;
  h_init(&h);
  h_add(&h,
        "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{"
        "\"name\":\"pfp\",\"namespace\":\"default\",\"uid\":\"uid-pfp\"},"
        "\"spec\":{\"completions\":1,\"parallelism\":1,\"backoffLimit\":0,"
        "\"podFailurePolicy\":{\"rules\":[{\"action\":\"Ignore\","
        "\"onExitCodes\":{\"operator\":\"In\",\"values\":[42]}},{\"action\":"
        "\"FailJob\",\"onExitCodes\":{\"containerName\":\"c\",\"operator\":"
        "\"In\",\"values\":[3]}}]},"
        "\"template\":{\"spec\":{\"restartPolicy\":\"Never\","
        "\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}}}");
  h_start(&h, "job");
  h_settle(&h);
  /* exit 42 is ignored: not counted (backoffLimit 0 holds), replaced */
  assert_int_equal(h_pods_finish(&h, "default", "Failed", 42, 1), 1);
  h_settle(&h);
  assert_int_equal(st_int(&h, "pfp", "failed"), 0);
  assert_int_equal(h_count(&h, "POST", PODS), 2);
  assert_false(has_cond(&h, "pfp", "Failed", NULL));
  /* exit 3 fails the job at once */
  assert_int_equal(h_pods_finish(&h, "default", "Failed", 3, 1), 1);
  h_settle(&h);
  assert_true(has_cond(&h, "pfp", "Failed", "PodFailurePolicy"));
  h_free(&h);
}

static void test_suspend(void **state) {
  struct h h;
  h_init(&h);
  add_job(&h, "s", "\"completions\":2,\"parallelism\":2,\"suspend\":true,");
  h_start(&h, "job");
  h_settle(&h);
  assert_int_equal(h_count(&h, "POST", PODS), 0);
  assert_true(has_cond(&h, "s", "Suspended", "JobSuspended"));
  json_object *st = job_status(&h, "s");
  assert_null(kube_json_get(st, "startTime"));
  json_object_put(st);
  /* resumed (the stored Job, its status kept, with suspend false) */
  json_object *j = h_get(&h, "batch/v1", "Job", "default", "s");
  json_object_object_add(kube_json_get(j, "spec"), "suspend",
                         json_object_new_boolean(false));
  kt_fake_add(h.f, json_object_to_json_string(j));
  json_object_put(j);
  h_settle(&h);
  assert_int_equal(h_count(&h, "POST", PODS), 2);
  st = job_status(&h, "s");
  assert_string_equal(cond_of(st, "Suspended"), "False");
  assert_non_null(kube_json_get(st, "startTime"));
  json_object_put(st);
  h_free(&h);
}

int run_job_tests(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_completions),
      cmocka_unit_test(test_indexed),
      cmocka_unit_test(test_backoff_limit),
      cmocka_unit_test(test_pod_failure_policy),
      cmocka_unit_test(test_suspend),
  };
  return cmocka_run_group_tests_name("controller-job", tests, NULL, NULL);
}
