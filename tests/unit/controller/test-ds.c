/* SPDX-License-Identifier: Apache-2.0 */
/* The DaemonSet controller: which nodes get a pod (nodeSelector, taints
 * and the default tolerations), the pod pinned by node affinity, status
 * counts, RollingUpdate within maxUnavailable, OnDelete; its
 * ControllerRevisions (made, reused and renumbered on a rollback, pruned
 * to revisionHistoryLimit). */
#include "test-controller.h"

#define PODS "/api/v1/namespaces/default/pods"

static void add_node(struct h *h, const char *name, const char *disk,
                     const char *taint) {
  char t[256] = "";
  if (taint)
    snprintf(t, sizeof t,
             "\"taints\":[{\"key\":\"%s\",\"effect\":\"NoSchedule\"}]", taint);
  h_add(h,
        "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":"
        "\"%s\",\"labels\":{\"disk\":\"%s\"}},\"spec\":{%s}}",
        name, disk, t);
}

static void add_ds(struct h *h, const char *image, const char *strategy) {
  h_add(h,
        "{\"apiVersion\":\"apps/v1\",\"kind\":\"DaemonSet\",\"metadata\":{"
        "\"name\":\"agent\",\"namespace\":\"default\",\"uid\":\"uid-agent\","
        "\"generation\":1},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":"
        "\"agent\"}},\"updateStrategy\":%s,\"template\":{\"metadata\":{"
        "\"labels\":{\"app\":\"agent\"}},\"spec\":{\"nodeSelector\":{"
        "\"disk\":\"ssd\"},\"containers\":[{\"name\":\"c\",\"image\":\"%s\"}]"
        "}}}}",
        strategy ? strategy : "{\"type\":\"RollingUpdate\"}", image);
}

static int64_t st_of(struct h *h, const char *field) {
  json_object *d = h_get(h, "apps/v1", "DaemonSet", "default", "agent");
  assert_non_null(d);
  char path[64];
  snprintf(path, sizeof path, "status.%s", field);
  json_object *v = kube_json_get(d, path);
  int64_t r = v ? json_object_get_int64(v) : -1;
  json_object_put(d);
  return r;
}

static void nodes(struct h *h) {
  add_node(h, "n1", "ssd", NULL);
  add_node(h, "n2", "ssd", "foo"); /* not tolerated */
  add_node(h, "n3", "hdd", NULL);  /* no match */
  add_node(h, "n4", "ssd", "node.kubernetes.io/unschedulable"); /* default */
}

static void test_ds_nodes(void **state) {
  struct h h;
  h_init(&h);
  nodes(&h);
  add_ds(&h, "agent:1", NULL);
  h_start(&h, "daemonset");
  h_settle(&h);
  assert_int_equal(h_count(&h, "POST", PODS), 2);
  bool n1 = false, n4 = false;
  for (size_t k = 0; k < kt_fake_n_actions(h.f); k++) {
    const kt_action_t *a = kt_fake_action(h.f, k);
    if (!streq(a->method, "POST") || !streq(a->path, PODS))
      continue;
    json_object *pod = json_tokener_parse(a->body);
    const char *node = kube_json_get_string(
        pod, "spec.affinity.nodeAffinity."
             "requiredDuringSchedulingIgnoredDuringExecution."
             "nodeSelectorTerms.0.matchFields.0.values.0");
    assert_non_null(node);
    n1 |= streq(node, "n1");
    n4 |= streq(node, "n4");
    assert_non_null(
        kube_json_get_string(pod, "metadata.labels.controller-revision-hash"));
    json_object *tols = kube_json_get(pod, "spec.tolerations");
    bool not_ready = false;
    for (size_t i = 0; i < json_object_array_length(tols); i++)
      not_ready |=
          streq(kube_json_get_string(json_object_array_get_idx(tols, i), "key"),
                "node.kubernetes.io/not-ready");
    assert_true(not_ready);
    json_object_put(pod);
  }
  assert_true(n1 && n4);
  assert_int_equal(st_of(&h, "desiredNumberScheduled"), 2);
  assert_int_equal(st_of(&h, "currentNumberScheduled"), 2);
  assert_int_equal(st_of(&h, "numberReady"), 0);
  h_pods_ready(&h, "default");
  h_settle(&h);
  assert_int_equal(st_of(&h, "numberReady"), 2);
  assert_int_equal(st_of(&h, "numberAvailable"), 2);
  assert_int_equal(st_of(&h, "updatedNumberScheduled"), 2);
  assert_int_equal(st_of(&h, "observedGeneration"), 1);
  /* a third matching node gets its pod */
  add_node(&h, "n5", "ssd", NULL);
  h_settle(&h);
  assert_int_equal(h_count(&h, "POST", PODS), 3);
  assert_int_equal(st_of(&h, "desiredNumberScheduled"), 3);
  h_free(&h);
}

/* Nodes, DaemonSet agent of agent:1 (strategy: NULL for RollingUpdate),
 * its pods created and ready. */
static void start_ready(struct h *h, const char *strategy) {
  h_init(h);
  nodes(h);
  add_ds(h, "agent:1", strategy);
  h_start(h, "daemonset");
  h_settle(h);
  h_pods_ready(h, "default");
  h_settle(h);
}

static void test_ds_rolling(void **state) {
  struct h h;
  start_ready(&h, NULL);
  add_ds(&h, "agent:2", NULL);
  /* maxUnavailable 1: one node at a time */
  for (int i = 0; i < 10 && st_of(&h, "updatedNumberScheduled") != 2; i++) {
    h_settle(&h);
    assert_true(h_count(&h, "DELETE", PODS) <= (size_t)(i + 1));
    h_pods_ready(&h, "default");
  }
  h_settle(&h);
  assert_int_equal(st_of(&h, "updatedNumberScheduled"), 2);
  assert_int_equal(st_of(&h, "numberAvailable"), 2);
  assert_int_equal(h_count(&h, "DELETE", PODS), 2);
  assert_int_equal(h_count(&h, "POST", PODS), 4);
  h_free(&h);
}

static void test_ds_on_delete(void **state) {
  struct h h;
  start_ready(&h, "{\"type\":\"OnDelete\"}");
  add_ds(&h, "agent:2", "{\"type\":\"OnDelete\"}");
  h_settle(&h);
  assert_int_equal(h_count(&h, "DELETE", PODS), 0);
  assert_int_equal(st_of(&h, "updatedNumberScheduled"), 0);
  h_free(&h);
}

#define REVS "/apis/apps/v1/namespaces/default/controllerrevisions"

/* The revision number of the revision holding image, -1 when none. */
static int64_t rev_of_image(struct h *h, const char *image) {
  int64_t found = -1;
  for (size_t k = 0; k < kt_fake_n_actions(h->f); k++) {
    const kt_action_t *a = kt_fake_action(h->f, k);
    if (!streq(a->method, "POST") || !streq(a->path, REVS))
      continue;
    json_object *r = json_tokener_parse(a->body);
    const char *img =
        kube_json_get_string(r, "data.spec.template.spec.containers.0.image");
    const char *name = kube_json_get_string(r, "metadata.name");
    json_object *now =
        img && streq(img, image)
            ? h_get(h, "apps/v1", "ControllerRevision", "default", name)
            : NULL;
    if (now)
      found = json_object_get_int64(kube_json_get(now, "revision"));
    json_object_put(now);
    json_object_put(r);
  }
  return found;
}

static void roll(struct h *h, const char *image) {
  add_ds(h, image, NULL);
  for (int i = 0; i < 10; i++) {
    h_settle(h);
    h_pods_ready(h, "default");
  }
  h_settle(h);
}

static void test_ds_history(void **state) {
  struct h h;
  start_ready(&h, NULL);
  /* One revision: <ds>-<hash>, the pods' hash, the template patch. */
  assert_int_equal(h_count(&h, "POST", REVS), 1);
  const kt_action_t *a = NULL;
  for (size_t k = 0; k < kt_fake_n_actions(h.f); k++)
    if (streq(kt_fake_action(h.f, k)->path, REVS))
      a = kt_fake_action(h.f, k);
  json_object *r = json_tokener_parse(a->body);
  const char *hash =
      kube_json_get_string(r, "metadata.labels.controller-revision-hash");
  char name[128];
  snprintf(name, sizeof name, "agent-%s", hash);
  assert_string_equal(kube_json_get_string(r, "metadata.name"), name);
  assert_string_equal(kube_json_get_string(r, "metadata.labels.app"), "agent");
  assert_string_equal(kube_json_get_string(r, "metadata.ownerReferences.0.uid"),
                      "uid-agent");
  assert_true(json_object_get_boolean(
      kube_json_get(r, "metadata.ownerReferences.0.controller")));
  assert_string_equal(kube_json_get_string(r, "data.spec.template.$patch"),
                      "replace");
  assert_int_equal(json_object_get_int64(kube_json_get(r, "revision")), 1);
  json_object_put(r);
  assert_int_equal(rev_of_image(&h, "agent:1"), 1);
  /* A new template: revision 2; the old one comes back as 3, reused. */
  roll(&h, "agent:2");
  assert_int_equal(rev_of_image(&h, "agent:2"), 2);
  roll(&h, "agent:1");
  assert_int_equal(h_count(&h, "POST", REVS), 2);
  assert_int_equal(rev_of_image(&h, "agent:1"), 3);
  assert_int_equal(st_of(&h, "updatedNumberScheduled"), 2);
  /* The default limit (10) keeps everything; three more: 4 revisions. */
  roll(&h, "agent:3");
  roll(&h, "agent:4");
  assert_int_equal(h_objects(&h, "apps/v1", "ControllerRevision", "default"),
                   4);
  assert_int_equal(h_count(&h, "DELETE", REVS), 0);
  h_free(&h);
}

int run_ds_tests(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ds_nodes),
      cmocka_unit_test(test_ds_rolling),
      cmocka_unit_test(test_ds_on_delete),
      cmocka_unit_test(test_ds_history),
  };
  return cmocka_run_group_tests_name("controller-daemonset", tests, NULL, NULL);
}
