/* SPDX-License-Identifier: Apache-2.0 */
/* The Deployment controller: the new ReplicaSet (name, hash, revision,
 * annotations), RollingUpdate within maxSurge/maxUnavailable, Recreate,
 * paused, proportional scaling, history cleanup, the progress deadline,
 * hash collisions. */
#include "controller/internal.h"
#include "test-controller.h"

#define RSS "/apis/apps/v1/namespaces/default/replicasets"

/* A Deployment as the API server stores it (defaulted). */
static void add_deploy(struct h *h, const char *name, int replicas,
                       const char *image, const char *strategy,
                       const char *extra) {
  h_add(h,
        "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{"
        "\"name\":\"%s\",\"namespace\":\"default\",\"uid\":\"uid-%s\","
        "\"generation\":1},\"spec\":{\"replicas\":%d,\"selector\":{"
        "\"matchLabels\":{\"app\":\"%s\"}},\"template\":{\"metadata\":{"
        "\"labels\":{\"app\":\"%s\"}},\"spec\":{\"containers\":[{\"name\":"
        "\"c\",\"image\":\"%s\"}]}},\"strategy\":%s,"
        "\"revisionHistoryLimit\":10,\"progressDeadlineSeconds\":600%s}}",
        name, name, replicas, name, name, image,
        strategy ? strategy
                 : "{\"type\":\"RollingUpdate\",\"rollingUpdate\":{"
                   "\"maxSurge\":\"25%\",\"maxUnavailable\":\"25%\"}}",
        extra ? extra : "");
}

/* Replace the stored Deployment's spec field (JSON value) and bump its
 * generation, as an update through the API would. */
static void set_spec(struct h *h, const char *name, const char *field,
                     const char *value) {
  json_object *d = h_get(h, "apps/v1", "Deployment", "default", name);
  assert_non_null(d);
  json_object *spec = kube_json_get(d, "spec");
  if (streq(field, "image")) {
    json_object *c = kube_json_get(spec, "template.spec.containers.0");
    json_object_object_add(c, "image", json_object_new_string(value));
  } else {
    json_object_object_add(spec, field, json_tokener_parse(value));
  }
  json_object *meta = kube_json_get(d, "metadata");
  int64_t gen = json_object_get_int64(kube_json_get(meta, "generation"));
  json_object_object_add(meta, "generation", json_object_new_int64(gen + 1));
  assert_true(kt_fake_add(h->f, json_object_to_json_string(d)) > 0);
  json_object_put(d);
}

static char *expected_rs_name(struct h *h, const char *name) {
  json_object *d = h_get(h, "apps/v1", "Deployment", "default", name);
  char hash[16], *out = NULL;
  assert_int_equal(ctl_template_hash(kube_json_get(d, "spec.template"), NULL,
                                     hash, sizeof hash, NULL),
                   0);
  assert_true(asprintf(&out, "%s-%s", name, hash) > 0);
  json_object_put(d);
  return out;
}

static int64_t jint(json_object *o, const char *path) {
  json_object *v = kube_json_get(o, path);
  return v ? json_object_get_int64(v) : 0;
}

static const char *annotation(json_object *o, const char *k) {
  json_object *a = kube_json_get(o, "metadata.annotations");
  json_object *v = NULL;
  return a && json_object_object_get_ex(a, k, &v) ? json_object_get_string(v)
                                                  : NULL;
}

static json_object *condition(json_object *d, const char *type) {
  json_object *c = kube_json_get(d, "status.conditions");
  for (size_t i = 0; c && i < json_object_array_length(c); i++)
    if (streq(kube_json_get_string(json_object_array_get_idx(c, i), "type"),
              type))
      return json_object_array_get_idx(c, i);
  return NULL;
}

static void test_new_rs(void **state) {
  struct h h;
  h_init(&h);
  add_deploy(&h, "web", 3, "nginx:1", NULL, NULL);
  h_start(&h, "deployment");
  h_settle(&h);
  char *name = expected_rs_name(&h, "web");
  json_object *rs = h_get(&h, "apps/v1", "ReplicaSet", "default", name);
  assert_non_null(rs);
  assert_int_equal(jint(rs, "spec.replicas"), 3);
  assert_string_equal(annotation(rs, CTL_REVISION_ANNOTATION), "1");
  assert_string_equal(annotation(rs, CTL_DESIRED_REPLICAS_ANNOTATION), "3");
  assert_string_equal(annotation(rs, CTL_MAX_REPLICAS_ANNOTATION), "4");
  const char *hash = name + strlen("web-");
  assert_string_equal(
      kube_json_get_string(rs, "metadata.labels." CTL_HASH_LABEL), hash);
  assert_string_equal(
      kube_json_get_string(rs, "spec.selector.matchLabels." CTL_HASH_LABEL),
      hash);
  assert_string_equal(
      kube_json_get_string(rs, "spec.template.metadata.labels." CTL_HASH_LABEL),
      hash);
  assert_string_equal(
      kube_json_get_string(rs, "metadata.ownerReferences.0.uid"), "uid-web");
  json_object_put(rs);
  json_object *d = h_get(&h, "apps/v1", "Deployment", "default", "web");
  assert_string_equal(annotation(d, CTL_REVISION_ANNOTATION), "1");
  json_object *p = condition(d, "Progressing");
  assert_non_null(p);
  assert_string_equal(kube_json_get_string(p, "status"), "True");
  json_object *a = condition(d, "Available");
  assert_string_equal(kube_json_get_string(a, "reason"),
                      "MinimumReplicasUnavailable");
  assert_int_equal(jint(d, "status.observedGeneration"), 1);
  json_object_put(d);
  assert_true(h_events(&h, "ScalingReplicaSet") >= 1);
  const kt_action_t *ev =
      kt_fake_find(h.f, "POST", "/api/v1/namespaces/default/events");
  assert_non_null(ev);
  char want[128];
  snprintf(want, sizeof want, "Scaled up replica set %s from 0 to 3", name);
  assert_non_null(strstr(ev->body, want));
  /* A second sync changes nothing. */
  kt_fake_clear_actions(h.f);
  set_spec(&h, "web", "minReadySeconds", "0");
  h_settle(&h);
  assert_int_equal(h_count(&h, "POST", RSS), 0);
  /* The API server restarts: watches break, the first lists fail, the
   * history is gone (410); the controllers re-list and create nothing. */
  kt_fake_compact(h.f);
  kt_fake_fail(h.f, "GET", "/apis/apps/v1/replicasets", 2);
  kt_fake_fail(h.f, "GET", "/apis/apps/v1/deployments", 2);
  kt_fake_fail(h.f, "GET", "/api/v1/pods", 2);
  kt_fake_end_watches(h.f, "/");
  kt_run_for(h.loop, 500);
  set_spec(&h, "web", "minReadySeconds", "1");
  h_settle(&h);
  assert_int_equal(h_count(&h, "POST", RSS), 0);
  assert_int_equal(h_objects(&h, "apps/v1", "ReplicaSet", "default"), 1);
  free(name);
  h_free(&h);
}

/* The pods of both ReplicaSets stay within maxSurge and maxUnavailable at
 * every step of a rolling update. */
static void test_rolling(void **state) {
  struct h h;
  h_init(&h);
  add_deploy(&h, "web", 4, "nginx:1", NULL, NULL);
  h_start(&h, "deployment,replicaset");
  h_settle(&h);
  h_pods_ready(&h, "default");
  h_settle(&h);
  char *old_name = expected_rs_name(&h, "web");
  set_spec(&h, "web", "image", "nginx:2");
  char *new_name = expected_rs_name(&h, "web");
  assert_string_not_equal(old_name, new_name);
  for (int step = 0; step < 30; step++) {
    h_settle(&h);
    json_object *o = h_get(&h, "apps/v1", "ReplicaSet", "default", old_name);
    json_object *n = h_get(&h, "apps/v1", "ReplicaSet", "default", new_name);
    assert_non_null(o);
    int64_t total =
        jint(o, "spec.replicas") + (n ? jint(n, "spec.replicas") : 0);
    assert_true(total <= 4 + 1); /* maxSurge 25% of 4 = 1 */
    int64_t avail = jint(o, "status.availableReplicas") +
                    (n ? jint(n, "status.availableReplicas") : 0);
    assert_true(avail >= 4 - 1); /* maxUnavailable 25% of 4 = 1 */
    bool done = n && jint(n, "status.availableReplicas") == 4 &&
                jint(o, "spec.replicas") == 0;
    json_object_put(o);
    json_object_put(n);
    if (done)
      break;
    h_pods_ready(&h, "default");
  }
  h_settle(&h);
  json_object *n = h_get(&h, "apps/v1", "ReplicaSet", "default", new_name);
  assert_int_equal(jint(n, "spec.replicas"), 4);
  assert_string_equal(annotation(n, CTL_REVISION_ANNOTATION), "2");
  json_object_put(n);
  json_object *d = h_get(&h, "apps/v1", "Deployment", "default", "web");
  assert_int_equal(jint(d, "status.updatedReplicas"), 4);
  assert_int_equal(jint(d, "status.availableReplicas"), 4);
  assert_int_equal(jint(d, "status.replicas"), 4);
  assert_string_equal(annotation(d, CTL_REVISION_ANNOTATION), "2");
  assert_string_equal(
      kube_json_get_string(condition(d, "Progressing"), "reason"),
      "NewReplicaSetAvailable");
  assert_string_equal(kube_json_get_string(condition(d, "Available"), "status"),
                      "True");
  char *msg = NULL;
  bool done = false;
  kube_object_t *dobj = kube_object_wrap(json_object_get(d));
  json_object_object_add(d, "apiVersion", json_object_new_string("apps/v1"));
  json_object_object_add(d, "kind", json_object_new_string("Deployment"));
  assert_int_equal(kube_rollout_status(dobj, 0, &msg, &done, NULL), 0);
  assert_true(done);
  assert_string_equal(msg, "deployment \"web\" successfully rolled out\n");
  free(msg);
  kube_object_free(dobj);
  json_object_put(d);
  free(old_name);
  free(new_name);
  h_free(&h);
}

/* Recreate: the old pods are all gone before the new ReplicaSet scales. */
static void test_recreate(void **state) {
  struct h h;
  h_init(&h);
  add_deploy(&h, "web", 3, "nginx:1", "{\"type\":\"Recreate\"}", NULL);
  h_start(&h, "deployment,replicaset");
  h_settle(&h);
  char *old_name = expected_rs_name(&h, "web");
  assert_int_equal(h_objects(&h, "v1", "Pod", "default"), 3);
  set_spec(&h, "web", "image", "nginx:2");
  char *new_name = expected_rs_name(&h, "web");
  h_settle(&h);
  json_object *o = h_get(&h, "apps/v1", "ReplicaSet", "default", old_name);
  json_object *n = h_get(&h, "apps/v1", "ReplicaSet", "default", new_name);
  assert_int_equal(jint(o, "spec.replicas"), 0);
  assert_non_null(n);
  assert_int_equal(jint(n, "spec.replicas"), 3);
  json_object_put(o);
  json_object_put(n);
  /* The ordering: the old ReplicaSet's scale-down was written before the
   * new ReplicaSet was created. */
  size_t down = SIZE_MAX, create = SIZE_MAX;
  for (size_t i = 0; i < kt_fake_n_actions(h.f); i++) {
    const kt_action_t *a = kt_fake_action(h.f, i);
    bool is_old = strncmp(a->path, RSS "/", sizeof RSS) == 0 &&
                  streq(a->path + sizeof RSS, old_name);
    if (down == SIZE_MAX && streq(a->method, "PUT") && is_old &&
        strstr(a->body, "\"replicas\":0"))
      down = i;
    if (create == SIZE_MAX && streq(a->method, "POST") && streq(a->path, RSS) &&
        strstr(a->body, new_name))
      create = i;
  }
  assert_true(create != SIZE_MAX);
  assert_true(down < create);
  free(old_name);
  free(new_name);
  h_free(&h);
}

static void test_paused(void **state) {
  struct h h;
  h_init(&h);
  add_deploy(&h, "web", 2, "nginx:1", NULL, ",\"paused\":true");
  h_start(&h, "deployment");
  h_settle(&h);
  /* Paused from the start: no ReplicaSet, the paused condition. */
  assert_int_equal(h_objects(&h, "apps/v1", "ReplicaSet", "default"), 0);
  json_object *d = h_get(&h, "apps/v1", "Deployment", "default", "web");
  json_object *p = condition(d, "Progressing");
  assert_string_equal(kube_json_get_string(p, "reason"), "DeploymentPaused");
  assert_string_equal(kube_json_get_string(p, "status"), "Unknown");
  json_object_put(d);
  set_spec(&h, "web", "paused", "false");
  h_settle(&h);
  assert_int_equal(h_objects(&h, "apps/v1", "ReplicaSet", "default"), 1);
  d = h_get(&h, "apps/v1", "Deployment", "default", "web");
  assert_string_not_equal(
      kube_json_get_string(condition(d, "Progressing"), "reason"),
      "DeploymentPaused");
  json_object_put(d);
  h_free(&h);
}

static void add_rs(struct h *h, const char *name, int replicas,
                   const char *image, const char *rev, int desired, int max,
                   int available, const char *created) {
  h_add(
      h,
      "{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{"
      "\"name\":\"%s\",\"namespace\":\"default\",\"uid\":\"uid-%s\","
      "\"generation\":1,\"creationTimestamp\":\"%s\",\"labels\":{\"app\":"
      "\"web\"},\"annotations\":{\"deployment.kubernetes.io/revision\":\"%s\","
      "\"deployment.kubernetes.io/desired-replicas\":\"%d\","
      "\"deployment.kubernetes.io/max-replicas\":\"%d\"},"
      "\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":"
      "\"Deployment\",\"name\":\"web\",\"uid\":\"uid-web\",\"controller\":"
      "true}]},\"spec\":{\"replicas\":%d,\"selector\":{\"matchLabels\":{"
      "\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":"
      "\"web\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"%s\""
      "}]}}},\"status\":{\"replicas\":%d,\"availableReplicas\":%d,"
      "\"readyReplicas\":%d,\"observedGeneration\":1}}",
      name, name, created, rev, desired, max, replicas, image, replicas,
      available, available);
}

/* Scaling in the middle of a rollout goes to every ReplicaSet in
 * proportion (kube-controller-manager's example numbers). */
static void test_proportional(void **state) {
  struct h h;
  h_init(&h);
  add_deploy(&h, "web", 20, "nginx:2",
             "{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":3,"
             "\"maxUnavailable\":2}}",
             NULL);
  add_rs(&h, "old", 8, "nginx:1", "1", 10, 13, 8, "2026-01-01T00:00:00Z");
  add_rs(&h, "new", 5, "nginx:2", "2", 10, 13, 0, "2026-01-02T00:00:00Z");
  h_start(&h, "deployment");
  h_settle(&h);
  json_object *o = h_get(&h, "apps/v1", "ReplicaSet", "default", "old");
  json_object *n = h_get(&h, "apps/v1", "ReplicaSet", "default", "new");
  /* allowed 23, 13 there: +10 split 8:5 -> +6 and +4 */
  assert_int_equal(jint(o, "spec.replicas"), 14);
  assert_int_equal(jint(n, "spec.replicas"), 9);
  assert_string_equal(annotation(o, CTL_DESIRED_REPLICAS_ANNOTATION), "20");
  assert_string_equal(annotation(n, CTL_MAX_REPLICAS_ANNOTATION), "23");
  json_object_put(o);
  json_object_put(n);
  h_free(&h);
}

/* revisionHistoryLimit: the oldest empty ReplicaSets go. */
static void test_cleanup(void **state) {
  struct h h;
  h_init(&h);
  add_deploy(&h, "web", 1, "nginx:4", NULL, ",\"revisionHistoryLimit\":1");
  add_rs(&h, "r1", 0, "nginx:1", "1", 1, 2, 0, "2026-01-01T00:00:00Z");
  add_rs(&h, "r2", 0, "nginx:2", "2", 1, 2, 0, "2026-01-02T00:00:00Z");
  add_rs(&h, "r3", 0, "nginx:3", "3", 1, 2, 0, "2026-01-03T00:00:00Z");
  add_rs(&h, "r4", 1, "nginx:4", "4", 1, 2, 1, "2026-01-04T00:00:00Z");
  /* rolled out: the status says complete */
  json_object *d = h_get(&h, "apps/v1", "Deployment", "default", "web");
  json_object_object_add(
      d, "status",
      json_tokener_parse("{\"observedGeneration\":1,\"replicas\":1,"
                         "\"updatedReplicas\":1,\"availableReplicas\":1}"));
  kt_fake_add(h.f, json_object_to_json_string(d));
  json_object_put(d);
  h_start(&h, "deployment");
  h_settle(&h);
  assert_non_null(kt_fake_find(h.f, "DELETE", RSS "/r1"));
  assert_non_null(kt_fake_find(h.f, "DELETE", RSS "/r2"));
  assert_null(kt_fake_find(h.f, "DELETE", RSS "/r3"));
  assert_null(kt_fake_find(h.f, "DELETE", RSS "/r4"));
  h_free(&h);
}

static bool timed_out(void *arg) {
  struct h *h = arg;
  json_object *d = h_get(h, "apps/v1", "Deployment", "default", "web");
  const char *r = kube_json_get_string(condition(d, "Progressing"), "reason");
  bool yes = r && streq(r, "ProgressDeadlineExceeded");
  json_object_put(d);
  return yes;
}

/* No progress for progressDeadlineSeconds: ProgressDeadlineExceeded. */
static void test_deadline(void **state) {
  struct h h;
  h_init(&h);
  add_deploy(&h, "web", 2, "nginx:1", NULL, ",\"progressDeadlineSeconds\":5");
  h_start(&h, "deployment,replicaset");
  h_settle(&h);
  assert_false(timed_out(&h));
  /* Time moves on (the controllers' clock), nothing gets ready. */
  ctl_clock_set_offset(60LL * 1000000000);
  set_spec(&h, "web", "minReadySeconds", "0");
  h_until(&h, timed_out, &h);
  ctl_clock_set_offset(0);
  json_object *d = h_get(&h, "apps/v1", "Deployment", "default", "web");
  json_object *p = condition(d, "Progressing");
  assert_string_equal(kube_json_get_string(p, "status"), "False");
  assert_non_null(
      strstr(kube_json_get_string(p, "message"), "has timed out progressing"));
  json_object_object_add(d, "apiVersion", json_object_new_string("apps/v1"));
  json_object_object_add(d, "kind", json_object_new_string("Deployment"));
  kube_object_t *o = kube_object_wrap(d);
  char *msg = NULL;
  bool done;
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_rollout_status(o, 0, &msg, &done, &err), -1);
  assert_string_equal(err.message,
                      "deployment \"web\" exceeded its progress deadline");
  kube_error_clear(&err);
  kube_object_free(o);
  h_free(&h);
}

/* The name the template hashes to is taken by a ReplicaSet that is not
 * ours: collisionCount goes up and the next name is used. */
static void test_collision(void **state) {
  struct h h;
  h_init(&h);
  add_deploy(&h, "web", 1, "nginx:1", NULL, NULL);
  char *name = expected_rs_name(&h, "web");
  h_add(&h,
        "{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{"
        "\"name\":\"%s\",\"namespace\":\"default\",\"labels\":{\"app\":"
        "\"other\"}},\"spec\":{\"replicas\":0,\"selector\":{\"matchLabels\":"
        "{\"app\":\"other\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":"
        "\"other\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":"
        "\"x\"}]}}}}",
        name);
  h_start(&h, "deployment");
  h_settle(&h);
  json_object *d = h_get(&h, "apps/v1", "Deployment", "default", "web");
  assert_int_equal(jint(d, "status.collisionCount"), 1);
  int32_t cc = 1;
  char hash[16], want[64];
  assert_int_equal(ctl_template_hash(kube_json_get(d, "spec.template"), &cc,
                                     hash, sizeof hash, NULL),
                   0);
  snprintf(want, sizeof want, "web-%s", hash);
  json_object *rs = h_get(&h, "apps/v1", "ReplicaSet", "default", want);
  assert_non_null(rs);
  json_object_put(rs);
  json_object_put(d);
  free(name);
  h_free(&h);
}

static bool tmpl_eq(const char *a, const char *b) {
  json_object *ja = json_tokener_parse(a), *jb = json_tokener_parse(b);
  assert_non_null(ja);
  assert_non_null(jb);
  bool eq = ctl_templates_equal_ignore_hash(ja, jb);
  /* Read-only: neither template lost its hash label. */
  json_object *hash = kube_json_get(ja, "metadata.labels.pod-template-hash");
  if (strstr(a, "pod-template-hash"))
    assert_non_null(hash);
  json_object_put(ja);
  json_object_put(jb);
  return eq;
}

/* EqualIgnoreHash: the hash label aside, Semantic.DeepEqual. */
static void test_templates_equal(void **state) {
  const char *base = "{\"metadata\":{\"labels\":{\"app\":\"web\"}},"
                     "\"spec\":{\"containers\":[{\"name\":\"c\","
                     "\"image\":\"nginx:1\"}]}}";
  assert_true(tmpl_eq(base, base));
  assert_true(tmpl_eq(
      "{\"metadata\":{\"labels\":{\"app\":\"web\",\"pod-template-hash\":"
      "\"abc\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":"
      "\"nginx:1\"}]}}",
      base));
  assert_true(tmpl_eq(base,
                      "{\"metadata\":{\"labels\":{\"app\":\"web\","
                      "\"pod-template-hash\":\"x\"}},\"spec\":{\"containers\":"
                      "[{\"name\":\"c\",\"image\":\"nginx:1\"}]}}"));
  /* Only the hash label: the same as no labels, no metadata. */
  assert_true(tmpl_eq("{\"metadata\":{\"labels\":{\"pod-template-hash\":"
                      "\"x\"}},\"spec\":{}}",
                      "{\"spec\":{}}"));
  assert_true(tmpl_eq("{\"spec\":{}}",
                      "{\"metadata\":{\"labels\":{\"pod-template-hash\":"
                      "\"x\"}},\"spec\":{}}"));
  assert_false(tmpl_eq(base, "{\"metadata\":{\"labels\":{\"app\":\"api\"}},"
                             "\"spec\":{\"containers\":[{\"name\":\"c\","
                             "\"image\":\"nginx:1\"}]}}"));
  assert_false(tmpl_eq(base, "{\"metadata\":{\"labels\":{\"app\":\"web\"}},"
                             "\"spec\":{\"containers\":[{\"name\":\"c\","
                             "\"image\":\"nginx:2\"}]}}"));
  assert_false(tmpl_eq("{\"metadata\":{\"labels\":{\"app\":\"web\"},"
                       "\"annotations\":{\"a\":\"1\"}},\"spec\":{}}",
                       "{\"metadata\":{\"labels\":{\"app\":\"web\"}},"
                       "\"spec\":{}}"));
  /* Quantities compare by value. */
  assert_true(tmpl_eq("{\"spec\":{\"containers\":[{\"name\":\"c\","
                      "\"resources\":{\"requests\":{\"cpu\":\"1\"}}}]}}",
                      "{\"spec\":{\"containers\":[{\"name\":\"c\","
                      "\"resources\":{\"requests\":{\"cpu\":\"1000m\"}}}]}}"));
}

int run_deploy_tests(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_new_rs),       cmocka_unit_test(test_rolling),
      cmocka_unit_test(test_recreate),     cmocka_unit_test(test_paused),
      cmocka_unit_test(test_proportional), cmocka_unit_test(test_cleanup),
      cmocka_unit_test(test_deadline),     cmocka_unit_test(test_collision),
      cmocka_unit_test(test_templates_equal),
  };
  return cmocka_run_group_tests_name("controller-deployment", tests, NULL,
                                     NULL);
}
