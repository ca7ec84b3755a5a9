/* SPDX-License-Identifier: Apache-2.0 */
/* The ReplicaSet and ReplicationController controllers: creating in
 * slow-start batches, expectations (nothing twice), which pods go first,
 * adoption and release, status, failures, a watch that expired. */
#include "test-controller.h"

#define PODS "/api/v1/namespaces/default/pods"
#define RSS "/apis/apps/v1/namespaces/default/replicasets"

static void add_rs(struct h *h, const char *name, int replicas,
                   const char *extra_spec) {
  h_add(h,
        "{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{"
        "\"name\":\"%s\",\"namespace\":\"default\",\"uid\":\"uid-%s\","
        "\"generation\":1},\"spec\":{\"replicas\":%d,%s\"selector\":{"
        "\"matchLabels\":{\"app\":\"%s\"}},\"template\":{\"metadata\":{"
        "\"labels\":{\"app\":\"%s\",\"tier\":\"x\"}},\"spec\":{\"containers\":["
        "{\"name\":\"c\",\"image\":\"nginx\"}]}}}}",
        name, name, replicas, extra_spec ? extra_spec : "", name, name);
}

/* A pod owned by RS `rs` (NULL: an orphan) with label app=app. */
static void add_pod(struct h *h, const char *name, const char *rs,
                    const char *app, const char *node, const char *phase,
                    bool ready, const char *created) {
  char owner[256] = "", spec[64] = "";
  if (rs)
    snprintf(owner, sizeof owner,
             ",\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":"
             "\"ReplicaSet\",\"name\":\"%s\",\"uid\":\"uid-%s\","
             "\"controller\":true,\"blockOwnerDeletion\":true}]",
             rs, rs);
  if (node)
    snprintf(spec, sizeof spec, "\"nodeName\":\"%s\",", node);
  h_add(h,
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
        "\"namespace\":\"default\",\"creationTimestamp\":\"%s\",\"labels\":{"
        "\"app\":\"%s\",\"tier\":\"x\"}%s},\"spec\":{%s\"containers\":[{"
        "\"name\":\"c\",\"image\":\"nginx\"}]},\"status\":{\"phase\":\"%s\","
        "\"podIP\":\"10.0.0.9\",\"conditions\":[{\"type\":\"Ready\","
        "\"status\":\"%s\",\"lastTransitionTime\":\"2026-01-01T00:00:00Z\"}]}}",
        name, created ? created : "2026-01-01T00:00:00Z", app, owner, spec,
        phase ? phase : "Pending", ready ? "True" : "False");
}

static int64_t status_of(struct h *h, const char *name, const char *field) {
  json_object *rs = h_get(h, "apps/v1", "ReplicaSet", "default", name);
  assert_non_null(rs);
  char path[64];
  snprintf(path, sizeof path, "status.%s", field);
  json_object *v = kube_json_get(rs, path);
  int64_t r = v ? json_object_get_int64(v) : 0;
  json_object_put(rs);
  return r;
}

static void test_creates(void **state) {
  struct h h;
  h_init(&h);
  add_rs(&h, "web", 3, NULL);
  h_start(&h, "replicaset");
  h_settle(&h);
  assert_int_equal(h_count(&h, "POST", PODS), 3);
  assert_int_equal(h_objects(&h, "v1", "Pod", "default"), 3);
  /* GetPodFromTemplate: generateName, labels, the controllerRef. */
  const kt_action_t *a = kt_fake_find(h.f, "POST", PODS);
  json_object *pod = json_tokener_parse(a->body);
  assert_string_equal(kube_json_get_string(pod, "metadata.generateName"),
                      "web-");
  assert_string_equal(kube_json_get_string(pod, "metadata.labels.tier"), "x");
  json_object *ref = kube_json_get(pod, "metadata.ownerReferences.0");
  assert_string_equal(kube_json_get_string(ref, "uid"), "uid-web");
  assert_string_equal(kube_json_get_string(ref, "kind"), "ReplicaSet");
  assert_true(json_object_get_boolean(kube_json_get(ref, "controller")));
  assert_true(
      json_object_get_boolean(kube_json_get(ref, "blockOwnerDeletion")));
  json_object_put(pod);
  assert_int_equal(h_events(&h, "SuccessfulCreate"), 3);
  assert_int_equal(status_of(&h, "web", "replicas"), 3);
  assert_int_equal(status_of(&h, "web", "fullyLabeledReplicas"), 3);
  assert_int_equal(status_of(&h, "web", "readyReplicas"), 0);
  assert_int_equal(status_of(&h, "web", "observedGeneration"), 1);

  /* Ready pods: readyReplicas and availableReplicas follow. */
  kt_fake_clear_actions(h.f);
  h_pods_ready(&h, "default");
  h_settle(&h);
  assert_int_equal(status_of(&h, "web", "readyReplicas"), 3);
  assert_int_equal(status_of(&h, "web", "availableReplicas"), 3);
  assert_int_equal(h_count(&h, "POST", PODS), 0);

  /* A watch that expires (410) and re-lists creates nothing twice. */
  kt_fake_compact(h.f);
  kt_fake_end_watches(h.f, "/api/v1/pods");
  kt_fake_end_watches(h.f, "/apis/apps/v1/replicasets");
  kt_run_for(h.loop, 300);
  h_settle(&h);
  assert_int_equal(h_count(&h, "POST", PODS), 0);
  assert_int_equal(h_objects(&h, "v1", "Pod", "default"), 3);
  h_free(&h);
}

static bool posts_at_least(void *arg) {
  struct h *h = ((void **)arg)[0];
  size_t want = (size_t)(uintptr_t)((void **)arg)[1];
  return h_count(h, "POST", PODS) >= want;
}

static void wait_posts(struct h *h, size_t n) {
  void *args[2] = {h, (void *)(uintptr_t)n};
  h_until(h, posts_at_least, args);
}

/* slowStartBatch: 1, then 2, then 4 creates, each batch after the one
 * before succeeded. */
static void test_slow_start(void **state) {
  struct h h;
  h_init(&h);
  add_rs(&h, "web", 0, NULL);
  h_start(&h, "replicaset");
  h_settle(&h);
  kt_fake_hold(h.f, true);
  add_rs(&h, "web", 7, NULL);
  wait_posts(&h, 1);
  kt_run_for(h.loop, 100);
  assert_int_equal(h_count(&h, "POST", PODS), 1);
  kt_fake_release(h.f);
  wait_posts(&h, 3);
  kt_run_for(h.loop, 100);
  assert_int_equal(h_count(&h, "POST", PODS), 3);
  kt_fake_release(h.f);
  wait_posts(&h, 7);
  kt_run_for(h.loop, 100);
  assert_int_equal(h_count(&h, "POST", PODS), 7);
  kt_fake_hold(h.f, false);
  kt_fake_release(h.f);
  h_settle(&h);
  assert_int_equal(h_objects(&h, "v1", "Pod", "default"), 7);
  assert_int_equal(h_count(&h, "POST", PODS), 7);
  h_free(&h);
}

/* The status write that reported the failure (the retry clears it soon
 * after, so the store may not show it any more). */
static const char *failure_status(struct h *h) {
  for (size_t i = kt_fake_n_actions(h->f); i-- > 0;) {
    const kt_action_t *a = kt_fake_action(h->f, i);
    if (streq(a->method, "PUT") && strstr(a->path, "/replicasets/web/status") &&
        strstr(a->body, "\"FailedCreate\""))
      return a->body;
  }
  return NULL;
}

static bool has_failure(void *arg) {
  return failure_status(arg) != NULL;
}

/* A create that fails: FailedCreate event, the ReplicaFailure condition,
 * the rest of the batch skipped; the retry succeeds and clears it. */
static void test_create_failure(void **state) {
  struct h h;
  h_init(&h);
  add_rs(&h, "web", 0, NULL);
  h_start(&h, "replicaset");
  h_settle(&h);
  kt_fake_reply(h.f, "POST", PODS, 403,
                "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":"
                "\"Failure\",\"message\":\"pods is forbidden: quota\","
                "\"reason\":\"Forbidden\",\"code\":403}",
                1);
  add_rs(&h, "web", 3, NULL);
  h_until(&h, has_failure, &h);
  json_object *rs = json_tokener_parse(failure_status(&h));
  assert_string_equal(kube_json_get_string(rs, "status.conditions.0.type"),
                      "ReplicaFailure");
  assert_non_null(
      strstr(kube_json_get_string(rs, "status.conditions.0.message"), "quota"));
  json_object_put(rs);
  assert_true(h_events(&h, "FailedCreate") >= 1);
  h_settle(&h);
  assert_int_equal(h_objects(&h, "v1", "Pod", "default"), 3);
  rs = h_get(&h, "apps/v1", "ReplicaSet", "default", "web");
  assert_null(kube_json_get(rs, "status.conditions"));
  json_object_put(rs);
  h_free(&h);
}

/* Deleting: unscheduled, then pending, then not ready go before a ready
 * running pod; among equals the newer goes. */
static void test_delete_order(void **state) {
  struct h h;
  h_init(&h);
  add_rs(&h, "web", 5, NULL);
  add_pod(&h, "ready-old", "web", "web", "n1", "Running", true,
          "2025-01-01T00:00:00Z");
  add_pod(&h, "ready-new", "web", "web", "n2", "Running", true,
          "2026-01-01T00:00:00Z");
  add_pod(&h, "notready", "web", "web", "n1", "Running", false, NULL);
  add_pod(&h, "pending", "web", "web", "n1", "Pending", false, NULL);
  add_pod(&h, "unscheduled", "web", "web", NULL, "Pending", false, NULL);
  h_start(&h, "replicaset");
  h_settle(&h);
  assert_int_equal(h_count(&h, "DELETE", PODS), 0);
  add_rs(&h, "web", 2, NULL);
  h_settle(&h);
  assert_int_equal(h_count(&h, "DELETE", PODS), 3);
  assert_non_null(kt_fake_find(h.f, "DELETE", PODS "/unscheduled"));
  assert_non_null(kt_fake_find(h.f, "DELETE", PODS "/pending"));
  assert_non_null(kt_fake_find(h.f, "DELETE", PODS "/notready"));
  assert_true(h_events(&h, "SuccessfulDelete") >= 3);
  kt_fake_clear_actions(h.f);
  add_rs(&h, "web", 1, NULL);
  h_settle(&h);
  assert_int_equal(h_count(&h, "DELETE", PODS), 1);
  /* Equal in everything else: the one ready for less time (here: created
   * later, same readiness time) goes first. */
  assert_non_null(kt_fake_find(h.f, "DELETE", PODS "/ready-new"));
  assert_int_equal(h_objects(&h, "v1", "Pod", "default"), 1);
  h_free(&h);
}

/* ControllerRef: a matching orphan is adopted (nothing created for it), a
 * pod that stopped matching is released. */
static void test_adopt_release(void **state) {
  struct h h;
  h_init(&h);
  add_rs(&h, "web", 1, NULL);
  add_pod(&h, "orphan", NULL, "web", NULL, "Pending", false, NULL);
  add_pod(&h, "stray", "web", "other", NULL, "Pending", false, NULL);
  h_start(&h, "replicaset");
  h_settle(&h);
  assert_int_equal(h_count(&h, "POST", PODS), 0);
  assert_non_null(kt_fake_find(h.f, "GET", RSS "/web")); /* the recheck */
  json_object *o = h_get(&h, "v1", "Pod", "default", "orphan");
  assert_string_equal(kube_json_get_string(o, "metadata.ownerReferences.0.uid"),
                      "uid-web");
  json_object_put(o);
  o = h_get(&h, "v1", "Pod", "default", "stray");
  assert_null(kube_json_get(o, "metadata.ownerReferences"));
  json_object_put(o);
  assert_int_equal(status_of(&h, "web", "replicas"), 1);
  h_free(&h);
}

/* availableReplicas waits for minReadySeconds. */
static void test_min_ready(void **state) {
  struct h h;
  h_init(&h);
  add_rs(&h, "web", 2, "\"minReadySeconds\":30,");
  char now[40];
  kube_time_format(time(NULL), now, sizeof now);
  h_start(&h, "replicaset");
  h_settle(&h);
  /* ready just now */
  h_pods_ready(&h, "default");
  h_settle(&h);
  assert_int_equal(status_of(&h, "web", "readyReplicas"), 2);
  /* h_pods_ready marks them ready since 2026-01-01: long ago */
  assert_int_equal(status_of(&h, "web", "availableReplicas"), 2);
  add_pod(&h, "fresh", "web", "web", "n1", "Running", true, now);
  json_object *p = h_get(&h, "v1", "Pod", "default", "fresh");
  json_object_object_add(kube_json_get(p, "status.conditions.0"),
                         "lastTransitionTime", json_object_new_string(now));
  kt_fake_add(h.f, json_object_to_json_string(p));
  json_object_put(p);
  add_rs(&h, "web", 3, "\"minReadySeconds\":30,");
  h_settle(&h);
  assert_int_equal(status_of(&h, "web", "readyReplicas"), 3);
  assert_int_equal(status_of(&h, "web", "availableReplicas"), 2);
  h_free(&h);
}

static bool three_available(void *arg) {
  return status_of(arg, "web", "availableReplicas") == 3;
}

/* A pod ready for less than minReadySeconds becomes available without
 * any other event: the sync looks again when it does (here 1 s). */
static void test_min_ready_requeue(void **state) {
  struct h h;
  h_init(&h);
  add_rs(&h, "web", 3, "\"minReadySeconds\":1,");
  add_pod(&h, "a", "web", "web", "n1", "Running", true, NULL);
  add_pod(&h, "b", "web", "web", "n1", "Running", true, NULL);
  char now[40];
  kube_time_format(time(NULL), now, sizeof now);
  add_pod(&h, "fresh", "web", "web", "n1", "Running", true, now);
  json_object *p = h_get(&h, "v1", "Pod", "default", "fresh");
  json_object_object_add(kube_json_get(p, "status.conditions.0"),
                         "lastTransitionTime", json_object_new_string(now));
  kt_fake_add(h.f, json_object_to_json_string(p));
  json_object_put(p);
  h_start(&h, "replicaset");
  h_settle(&h);
  assert_int_equal(status_of(&h, "web", "readyReplicas"), 3);
  assert_int_equal(h_count(&h, "POST", PODS), 0);
  h_until(&h, three_available, &h);
  h_free(&h);
}

static void test_replication_controller(void **state) {
  struct h h;
  h_init(&h);
  h_add(&h, "{\"apiVersion\":\"v1\",\"kind\":\"ReplicationController\","
            "\"metadata\":{\"name\":\"rc\",\"namespace\":\"default\","
            "\"uid\":\"uid-rc\"},\"spec\":{\"replicas\":2,\"selector\":{"
            "\"app\":\"rc\"},\"template\":{\"metadata\":{\"labels\":{\"app\":"
            "\"rc\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":"
            "\"x\"}]}}}}");
  h_start(&h, "replicationcontroller");
  h_settle(&h);
  assert_int_equal(h_count(&h, "POST", PODS), 2);
  const kt_action_t *a = kt_fake_find(h.f, "POST", PODS);
  json_object *pod = json_tokener_parse(a->body);
  assert_string_equal(
      kube_json_get_string(pod, "metadata.ownerReferences.0.kind"),
      "ReplicationController");
  assert_string_equal(
      kube_json_get_string(pod, "metadata.ownerReferences.0.apiVersion"), "v1");
  json_object_put(pod);
  json_object *rc = h_get(&h, "v1", "ReplicationController", "default", "rc");
  assert_int_equal(json_object_get_int64(kube_json_get(rc, "status.replicas")),
                   2);
  json_object_put(rc);
  h_free(&h);
}

int run_rs_tests(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_creates),
      cmocka_unit_test(test_slow_start),
      cmocka_unit_test(test_create_failure),
      cmocka_unit_test(test_delete_order),
      cmocka_unit_test(test_adopt_release),
      cmocka_unit_test(test_min_ready),
      cmocka_unit_test(test_min_ready_requeue),
      cmocka_unit_test(test_replication_controller),
  };
  return cmocka_run_group_tests_name("controller-replicaset", tests, NULL,
                                     NULL);
}
