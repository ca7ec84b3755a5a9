/* SPDX-License-Identifier: Apache-2.0 */
/* The garbage collector: dangling owners, owners deleted later, uid
 * mismatch, the orphan and foregroundDeletion finalizers,
 * blockOwnerDeletion, an owner cycle. */
#include "test-controller.h"

#define PODS "/api/v1/namespaces/default/pods"
#define CMS "/api/v1/namespaces/default/configmaps"

static void add_rs(struct h *h, const char *name, const char *uid,
                   const char *finalizer) {
  h_add(h,
        "{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{"
        "\"name\":\"%s\",\"namespace\":\"default\",\"uid\":\"%s\"%s%s%s},"
        "\"spec\":{\"replicas\":0,\"selector\":{\"matchLabels\":{\"a\":\"b\"}},"
        "\"template\":{\"metadata\":{\"labels\":{\"a\":\"b\"}},\"spec\":{"
        "\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}}}",
        name, uid,
        finalizer ? ",\"deletionTimestamp\":\"2026-01-01T00:00:00Z\","
                    "\"finalizers\":[\""
                  : "",
        finalizer ? finalizer : "", finalizer ? "\"]" : "");
}

static void add_owned_pod(struct h *h, const char *name, const char *owner,
                          const char *owner_uid, bool block) {
  h_add(h,
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
        "\"namespace\":\"default\",\"ownerReferences\":[{\"apiVersion\":"
        "\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"%s\",\"uid\":\"%s\","
        "\"controller\":true,\"blockOwnerDeletion\":%s}]},\"spec\":{"
        "\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}",
        name, owner, owner_uid, block ? "true" : "false");
}

static bool pods_gone(void *arg) {
  return h_objects(arg, "v1", "Pod", "default") == 0;
}

static void test_dangling(void **state) {
  struct h h;
  h_init(&h);
  add_rs(&h, "alive", "uid-alive", NULL);
  add_owned_pod(&h, "kept", "alive", "uid-alive", true);
  add_owned_pod(&h, "orphaned", "gone", "uid-gone", true);
  /* same name as an existing owner, another uid: that owner is gone too */
  add_owned_pod(&h, "stale", "alive", "uid-old", true);
  h_start(&h, "garbagecollector");
  h_settle(&h);
  json_object *kept = h_get(&h, "v1", "Pod", "default", "kept");
  assert_non_null(kept);
  json_object_put(kept);
  assert_null(h_get(&h, "v1", "Pod", "default", "orphaned"));
  assert_null(h_get(&h, "v1", "Pod", "default", "stale"));
  const kt_action_t *a = kt_fake_find(h.f, "DELETE", PODS "/orphaned");
  assert_non_null(a);
  assert_non_null(strstr(a->body, "\"propagationPolicy\":\"Background\""));
  assert_non_null(strstr(a->body, "\"uid\":"));
  /* The owner goes: so does its dependent. */
  kt_fake_delete(h.f, "apps/v1", "ReplicaSet", "default", "alive");
  h_until(&h, pods_gone, &h);
  h_free(&h);
}

/* An owner of more dependents than a scan: its links are indexed; pods
 * that go leave it, the owner's deletion takes the others. */
static void test_many_dependents(void **state) {
  struct h h;
  h_init(&h);
  add_rs(&h, "rs", "uid-rs", NULL);
  char name[32];
  for (int i = 0; i < 40; i++) {
    snprintf(name, sizeof name, "p%d", i);
    add_owned_pod(&h, name, "rs", "uid-rs", true);
  }
  h_start(&h, "garbagecollector");
  h_settle(&h);
  assert_int_equal(h_objects(&h, "v1", "Pod", "default"), 40);
  for (int i = 0; i < 40; i += 3) {
    snprintf(name, sizeof name, "p%d", i);
    kt_fake_delete(h.f, "v1", "Pod", "default", name);
  }
  h_settle(&h);
  assert_int_equal(h_objects(&h, "v1", "Pod", "default"), 26);
  assert_int_equal(h_count(&h, "DELETE", PODS), 0);
  kt_fake_delete(h.f, "apps/v1", "ReplicaSet", "default", "rs");
  h_until(&h, pods_gone, &h);
  h_free(&h);
}

static void test_orphan(void **state) {
  struct h h;
  h_init(&h);
  add_rs(&h, "rs", "uid-rs", NULL);
  add_owned_pod(&h, "p1", "rs", "uid-rs", true);
  add_owned_pod(&h, "p2", "rs", "uid-rs", true);
  h_start(&h, "garbagecollector");
  h_settle(&h);
  /* kubectl delete --cascade=orphan: the API server marked the owner. */
  add_rs(&h, "rs", "uid-rs", "orphan");
  h_settle(&h);
  json_object *p = h_get(&h, "v1", "Pod", "default", "p1");
  assert_non_null(p);
  assert_null(kube_json_get(p, "metadata.ownerReferences"));
  json_object_put(p);
  p = h_get(&h, "v1", "Pod", "default", "p2");
  assert_null(kube_json_get(p, "metadata.ownerReferences"));
  json_object_put(p);
  json_object *rs = h_get(&h, "apps/v1", "ReplicaSet", "default", "rs");
  assert_null(kube_json_get(rs, "metadata.finalizers"));
  json_object_put(rs);
  assert_int_equal(h_count(&h, "DELETE", PODS), 0);
  h_free(&h);
}

static bool finalizer_gone(void *arg) {
  struct h *h = arg;
  json_object *rs = h_get(h, "apps/v1", "ReplicaSet", "default", "rs");
  bool gone = rs && !kube_json_get(rs, "metadata.finalizers");
  json_object_put(rs);
  return gone;
}

static void test_foreground(void **state) {
  struct h h;
  h_init(&h);
  add_rs(&h, "rs", "uid-rs", NULL);
  add_owned_pod(&h, "p1", "rs", "uid-rs", true);
  add_owned_pod(&h, "p2", "rs", "uid-rs", true);
  h_start(&h, "garbagecollector");
  h_settle(&h);
  assert_int_equal(h_objects(&h, "v1", "Pod", "default"), 2);
  add_rs(&h, "rs", "uid-rs", "foregroundDeletion");
  h_until(&h, finalizer_gone, &h);
  /* The dependents went first, then the finalizer. */
  assert_int_equal(h_objects(&h, "v1", "Pod", "default"), 0);
  size_t last_delete = 0, patch = SIZE_MAX;
  for (size_t i = 0; i < kt_fake_n_actions(h.f); i++) {
    const kt_action_t *a = kt_fake_action(h.f, i);
    if (streq(a->method, "DELETE") && strstr(a->path, "/pods/"))
      last_delete = i;
    if (streq(a->method, "PATCH") && strstr(a->path, "/replicasets/rs"))
      patch = i;
  }
  assert_true(last_delete < patch);
  h_free(&h);
}

static void add_cm(struct h *h, const char *name, const char *owner,
                   const char *extra) {
  h_add(h,
        "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
        "\"%s\",\"namespace\":\"default\",\"uid\":\"uid-%s\"%s,"
        "\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
        "\"name\":\"%s\",\"uid\":\"uid-%s\",\"blockOwnerDeletion\":true}]}}",
        name, name, extra ? extra : "", owner, owner);
}

static bool cycle_done(void *arg) {
  struct h *h = arg;
  json_object *a = h_get(h, "v1", "ConfigMap", "default", "a");
  bool done = h_objects(h, "v1", "ConfigMap", "default") == 1 && a &&
              !kube_json_get(a, "metadata.finalizers");
  json_object_put(a);
  return done;
}

/* a and b own each other; a is deleted in the foreground: b's references
 * stop blocking, b goes in the foreground, then a's finalizer. */
static void test_cycle(void **state) {
  struct h h;
  h_init(&h);
  add_cm(&h, "a", "b", NULL);
  add_cm(&h, "b", "a", NULL);
  h_start(&h, "garbagecollector");
  h_settle(&h);
  assert_int_equal(h_objects(&h, "v1", "ConfigMap", "default"), 2);
  add_cm(&h, "a", "b",
         ",\"deletionTimestamp\":\"2026-01-01T00:00:00Z\","
         "\"finalizers\":[\"foregroundDeletion\"]");
  h_until(&h, cycle_done, &h);
  const kt_action_t *unblock = kt_fake_find(h.f, "PATCH", CMS "/b");
  assert_non_null(unblock);
  assert_non_null(strstr(unblock->body, "\"blockOwnerDeletion\":false"));
  const kt_action_t *del = kt_fake_find(h.f, "DELETE", CMS "/b");
  assert_non_null(del);
  assert_non_null(strstr(del->body, "Foreground"));
  h_free(&h);
}

/* An owner of a kind the server does not serve keeps its dependents. */
static void test_unknown_owner_kind(void **state) {
  struct h h;
  h_init(&h);
  h_add(&h, "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
            "\"p\",\"namespace\":\"default\",\"ownerReferences\":[{"
            "\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\",\"name\":"
            "\"w\",\"uid\":\"uid-w\"}]},\"spec\":{\"containers\":[{\"name\":"
            "\"c\",\"image\":\"x\"}]}}");
  h_start(&h, "garbagecollector");
  h_settle(&h);
  json_object *p = h_get(&h, "v1", "Pod", "default", "p");
  assert_non_null(p);
  json_object_put(p);
  assert_int_equal(h_count(&h, "DELETE", PODS), 0);
  h_free(&h);
}

int run_gc_tests(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dangling),           cmocka_unit_test(test_orphan),
      cmocka_unit_test(test_foreground),         cmocka_unit_test(test_cycle),
      cmocka_unit_test(test_unknown_owner_kind),
      cmocka_unit_test(test_many_dependents),
  };
  return cmocka_run_group_tests_name("controller-gc", tests, NULL, NULL);
}
