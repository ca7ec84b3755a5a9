/* SPDX-License-Identifier: Apache-2.0 */
/* The StatefulSet controller: ordered creation with stable names, labels,
 * hostname/subdomain and claims, Parallel, ordered scale-down, rolling
 * update down to a partition (current and update revisions are
 * ControllerRevisions), claim retention owners. */
#include "test-controller.h"

#define PODS "/api/v1/namespaces/default/pods"
#define PVCS "/api/v1/namespaces/default/persistentvolumeclaims"

static void add_sts(struct h *h, int replicas, const char *image,
                    const char *extra) {
  h_add(h,
        "{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"metadata\":{"
        "\"name\":\"web\",\"namespace\":\"default\",\"uid\":\"uid-web\","
        "\"generation\":1},\"spec\":{%s\"replicas\":%d,\"serviceName\":"
        "\"web\",\"selector\":{\"matchLabels\":{\"app\":\"web\"}},"
        "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{"
        "\"containers\":[{\"name\":\"c\",\"image\":\"%s\"}]}},"
        "\"volumeClaimTemplates\":[{\"metadata\":{\"name\":\"data\"},\"spec\":"
        "{\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{\"requests\":{"
        "\"storage\":\"1Gi\"}}}}]}}",
        extra ? extra : "", replicas, image);
}

/* Keep the stored status: change spec fields of the stored set. */
static void patch_sts(struct h *h, int replicas, const char *image) {
  json_object *s = h_get(h, "apps/v1", "StatefulSet", "default", "web");
  json_object *spec = kube_json_get(s, "spec");
  json_object_object_add(spec, "replicas", json_object_new_int(replicas));
  json_object_object_add(kube_json_get(s, "spec.template.spec.containers.0"),
                         "image", json_object_new_string(image));
  json_object_object_add(kube_json_get(s, "metadata"), "generation",
                         json_object_new_int(2));
  kt_fake_add(h->f, json_object_to_json_string(s));
  json_object_put(s);
}

static json_object *sts_status(struct h *h) {
  json_object *s = h_get(h, "apps/v1", "StatefulSet", "default", "web");
  json_object *st = json_object_get(kube_json_get(s, "status"));
  json_object_put(s);
  return st;
}

static int64_t st_int(struct h *h, const char *f) {
  json_object *st = sts_status(h);
  json_object *v = kube_json_get(st, f);
  int64_t r = v ? json_object_get_int64(v) : -1;
  json_object_put(st);
  return r;
}

static bool have_pod(struct h *h, const char *name) {
  json_object *p = h_get(h, "v1", "Pod", "default", name);
  json_object_put(p);
  return p != NULL;
}

static void test_sts_ordered(void **state) {
  struct h h;
  h_init(&h);
  add_sts(&h, 3, "nginx:1", NULL);
  h_start(&h, "statefulset");
  h_settle(&h);
  /* one at a time: web-0 and its claim only */
  assert_int_equal(h_count(&h, "POST", PODS), 1);
  assert_int_equal(h_count(&h, "POST", PVCS), 1);
  json_object *p = h_get(&h, "v1", "Pod", "default", "web-0");
  assert_non_null(p);
  assert_string_equal(kube_json_get_string(p, "spec.hostname"), "web-0");
  assert_string_equal(kube_json_get_string(p, "spec.subdomain"), "web");
  json_object *labels = kube_json_get(p, "metadata.labels");
  json_object *v = NULL;
  assert_true(json_object_object_get_ex(
      labels, "statefulset.kubernetes.io/pod-name", &v));
  assert_string_equal(json_object_get_string(v), "web-0");
  assert_true(
      json_object_object_get_ex(labels, "apps.kubernetes.io/pod-index", &v));
  assert_string_equal(json_object_get_string(v), "0");
  assert_string_equal(
      kube_json_get_string(p, "spec.volumes.0.persistentVolumeClaim.claimName"),
      "data-web-0");
  json_object_put(p);
  json_object *c =
      h_get(&h, "v1", "PersistentVolumeClaim", "default", "data-web-0");
  assert_non_null(c);
  assert_string_equal(kube_json_get_string(c, "metadata.labels.app"), "web");
  assert_null(kube_json_get(c, "metadata.ownerReferences")); /* Retain */
  json_object_put(c);
  /* ready: the next one, and so on */
  for (int i = 1; i <= 3; i++) {
    h_pods_ready(&h, "default");
    h_settle(&h);
  }
  assert_int_equal(h_count(&h, "POST", PODS), 3);
  assert_true(have_pod(&h, "web-1") && have_pod(&h, "web-2"));
  assert_int_equal(st_int(&h, "readyReplicas"), 3);
  assert_int_equal(st_int(&h, "replicas"), 3);
  json_object *st = sts_status(&h);
  assert_string_equal(kube_json_get_string(st, "currentRevision"),
                      kube_json_get_string(st, "updateRevision"));
  assert_int_equal(json_object_get_int64(kube_json_get(st, "updatedReplicas")),
                   3);
  json_object_put(st);

  /* rolling update down to partition 1: web-2 then web-1, not web-0 */
  json_object *s = h_get(&h, "apps/v1", "StatefulSet", "default", "web");
  json_object *us = json_tokener_parse(
      "{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"partition\":1}}");
  json_object_object_add(kube_json_get(s, "spec"), "updateStrategy", us);
  kt_fake_add(h.f, json_object_to_json_string(s));
  json_object_put(s);
  patch_sts(&h, 3, "nginx:2");
  for (int i = 0; i < 8; i++) {
    h_settle(&h);
    h_pods_ready(&h, "default");
  }
  h_settle(&h);
  assert_int_equal(st_int(&h, "updatedReplicas"), 2);
  assert_int_equal(h_count(&h, "DELETE", PODS "/web-2"), 1);
  assert_int_equal(h_count(&h, "DELETE", PODS "/web-1"), 1);
  assert_int_equal(h_count(&h, "DELETE", PODS "/web-0"), 0);
  st = sts_status(&h);
  assert_string_not_equal(kube_json_get_string(st, "currentRevision"),
                          kube_json_get_string(st, "updateRevision"));
  /* Both are ControllerRevisions of the set, numbered 1 and 2. */
  assert_int_equal(h_objects(&h, "apps/v1", "ControllerRevision", "default"),
                   2);
  const char *names[] = {kube_json_get_string(st, "currentRevision"),
                         kube_json_get_string(st, "updateRevision")};
  for (int i = 0; i < 2; i++) {
    json_object *r =
        h_get(&h, "apps/v1", "ControllerRevision", "default", names[i]);
    assert_non_null(r);
    assert_int_equal(json_object_get_int64(kube_json_get(r, "revision")),
                     i + 1);
    assert_string_equal(
        kube_json_get_string(r, "metadata.ownerReferences.0.uid"), "uid-web");
    json_object_put(r);
  }
  json_object_put(st);

  /* scale down: highest ordinal first */
  patch_sts(&h, 1, "nginx:2");
  h_settle(&h);
  assert_int_equal(h_count(&h, "DELETE", PODS "/web-2"), 2);
  h_settle(&h);
  assert_int_equal(h_count(&h, "DELETE", PODS "/web-1"), 2);
  h_settle(&h);
  assert_false(have_pod(&h, "web-1"));
  assert_true(have_pod(&h, "web-0"));
  h_free(&h);
}

static void test_sts_parallel(void **state) {
  struct h h;
  h_init(&h);
  add_sts(&h, 3, "nginx:1",
          "\"podManagementPolicy\":\"Parallel\","
          "\"persistentVolumeClaimRetentionPolicy\":{\"whenDeleted\":"
          "\"Delete\",\"whenScaled\":\"Retain\"},");
  h_start(&h, "statefulset");
  h_settle(&h);
  assert_int_equal(h_count(&h, "POST", PODS), 3);
  assert_int_equal(h_count(&h, "POST", PVCS), 3);
  json_object *c =
      h_get(&h, "v1", "PersistentVolumeClaim", "default", "data-web-2");
  assert_non_null(c);
  assert_string_equal(
      kube_json_get_string(c, "metadata.ownerReferences.0.kind"),
      "StatefulSet");
  json_object_put(c);
  h_free(&h);
}

int run_sts_tests(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sts_ordered),
      cmocka_unit_test(test_sts_parallel),
  };
  return cmocka_run_group_tests_name("controller-statefulset", tests, NULL,
                                     NULL);
}
