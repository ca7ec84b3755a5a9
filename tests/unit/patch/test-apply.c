/* SPDX-License-Identifier: Apache-2.0 */
/* Server-side apply and managed fields. */
#include "test-patch.h"

#include "apiserver/apply-internal.h"

#define DEPLOY_CFG(replicas, image, extra_labels)                              \
  "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{"         \
  "\"name\":\"web\",\"labels\":{\"app\":\"web\"" extra_labels "}},"            \
  "\"spec\":{\"replicas\":" replicas ",\"selector\":{\"matchLabels\":{"        \
  "\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":"         \
  "\"web\"}},\"spec\":{\"containers\":[{\"name\":\"nginx\",\"image\":\"" image \
  "\",\"ports\":[{\"containerPort\":80}]}]}}}}"

/* The FieldsV1 Kubernetes records for DEPLOY_CFG applied by kubectl. */
#define DEPLOY_FIELDS                                                          \
  "{\"f:metadata\":{\"f:labels\":{\"f:app\":{}}},\"f:spec\":{"                 \
  "\"f:replicas\":{},\"f:selector\":{},\"f:template\":{\"f:metadata\":{"       \
  "\"f:labels\":{\"f:app\":{}}},\"f:spec\":{\"f:containers\":{"                \
  "\"k:{\\\"name\\\":\\\"nginx\\\"}\":{\".\":{},\"f:image\":{},"               \
  "\"f:name\":{},\"f:ports\":{\"k:{\\\"containerPort\\\":80,"                  \
  "\\\"protocol\\\":\\\"TCP\\\"}\":{\".\":{},\"f:containerPort\":{}}}}}}}}}"

static json_object *jget(json_object *obj, const char *a, const char *b) {
  json_object *x = NULL, *y = NULL;
  if (!json_object_object_get_ex(obj, a, &x))
    return NULL;
  if (!b)
    return x;
  if (!json_object_object_get_ex(x, b, &y))
    return NULL;
  return y;
}

static json_object *entry_of(json_object *obj, const char *manager,
                             const char *operation) {
  json_object *meta = NULL, *mf = NULL;
  assert_true(json_object_object_get_ex(obj, "metadata", &meta));
  if (!json_object_object_get_ex(meta, "managedFields", &mf))
    return NULL;
  for (size_t i = 0; i < json_object_array_length(mf); i++) {
    json_object *e = json_object_array_get_idx(mf, i);
    const char *m =
        json_object_get_string(json_object_object_get(e, "manager"));
    const char *op =
        json_object_get_string(json_object_object_get(e, "operation"));
    if (m && op && streq(m, manager) && streq(op, operation))
      return e;
  }
  return NULL;
}

static size_t entry_count(json_object *obj) {
  json_object *mf = jget(obj, "metadata", "managedFields");
  return mf ? json_object_array_length(mf) : 0;
}

static void assert_fields(json_object *obj, const char *manager,
                          const char *operation, const char *want) {
  json_object *e = entry_of(obj, manager, operation);
  if (!e)
    fail_msg("no managedFields entry for %s/%s in %s", manager, operation,
             json_object_to_json_string(obj));
  assert_string_equal(
      json_object_get_string(json_object_object_get(e, "fieldsType")),
      "FieldsV1");
  assert_non_null(json_object_object_get(e, "time"));
  tp_assert_json(json_object_object_get(e, "fieldsV1"), want);
}

static json_object *apply_ok(json_object *live, const char *cfg,
                             const char *manager, bool force) {
  kube_error_t err = KUBE_ERROR_INIT;
  json_object *c = tp_parse(cfg);
  json_object *out =
      kube_apply(live, c, manager, force, &test_kind_deployment, &err);
  if (!out)
    fail_msg("apply failed: %s", err.message);
  json_object_put(c);
  return out;
}

static void test_apply_create(void **state) {
  json_object *obj =
      apply_ok(NULL, DEPLOY_CFG("3", "nginx:1", ""), "kubectl", false);
  assert_fields(obj, "kubectl", "Apply", DEPLOY_FIELDS);
  json_object *e = entry_of(obj, "kubectl", "Apply");
  assert_string_equal(
      json_object_get_string(json_object_object_get(e, "apiVersion")),
      "apps/v1");
  assert_int_equal(
      json_object_get_int(jget(jget(obj, "spec", NULL), "replicas", NULL)), 3);
  json_object_put(obj);
}

static void test_apply_update_same_manager(void **state) {
  json_object *v1 =
      apply_ok(NULL, DEPLOY_CFG("3", "nginx:1", ""), "kubectl", false);
  /* The live object gained fields from someone else meanwhile. */
  json_object *status = tp_parse("{\"replicas\":3}");
  json_object_object_add(v1, "status", status);
  json_object *v2 =
      apply_ok(v1, DEPLOY_CFG("3", "nginx:2", ""), "kubectl", false);
  json_object *c = json_object_array_get_idx(
      jget(jget(jget(v2, "spec", "template"), "spec", NULL), "containers",
           NULL),
      0);
  assert_string_equal(
      json_object_get_string(json_object_object_get(c, "image")), "nginx:2");
  assert_non_null(jget(v2, "status", "replicas"));
  assert_int_equal(entry_count(v2), 1);
  assert_fields(v2, "kubectl", "Apply", DEPLOY_FIELDS);
  json_object_put(v1);
  json_object_put(v2);
}

/* The object as `kubectl create` left it: one Update entry owning all. */
static json_object *created_by(const char *manager, const char *replicas) {
  json_object *obj = tp_parse(DEPLOY_CFG("1", "nginx:1", ""));
  json_object_object_add(jget(obj, "spec", NULL), "replicas",
                         json_object_new_int(atoi(replicas)));
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_managed_fields_update(obj, NULL, manager, &err), 0);
  return obj;
}

static void test_apply_conflict(void **state) {
  json_object *live = created_by("kubectl-client-side-apply", "1");
  json_object *cfg = tp_parse(DEPLOY_CFG("3", "nginx:1", ""));
  kube_error_t err = KUBE_ERROR_INIT;
  json_object *out =
      kube_apply(live, cfg, "kubectl", false, &test_kind_deployment, &err);
  assert_null(out);
  assert_int_equal(err.reason, KUBE_REASON_CONFLICT);
  assert_int_equal(kube_reason_http_code(err.reason), 409);
  assert_string_equal(err.message,
                      "Apply failed with 1 conflict: conflict with "
                      "\"kubectl-client-side-apply\" using apps/v1: "
                      ".spec.replicas");
  assert_int_equal(err.n_causes, 1);
  assert_string_equal(err.causes[0].type, "FieldManagerConflict");
  assert_string_equal(err.causes[0].field, ".spec.replicas");
  assert_string_equal(err.causes[0].message,
                      "conflict with \"kubectl-client-side-apply\" using "
                      "apps/v1");
  kube_error_clear(&err);

  /* Same values as live: no conflict, shared ownership. */
  json_object *same = tp_parse(DEPLOY_CFG("1", "nginx:1", ""));
  out = kube_apply(live, same, "kubectl", false, &test_kind_deployment, &err);
  assert_non_null(out);
  assert_fields(out, "kubectl", "Apply", DEPLOY_FIELDS);
  json_object *other = entry_of(out, "kubectl-client-side-apply", "Update");
  assert_non_null(other);
  assert_non_null(jget(jget(other, "fieldsV1", "f:spec"), "f:replicas", NULL));
  json_object_put(out);

  /* Several conflicts are listed per manager. */
  json_object *two = tp_parse(DEPLOY_CFG("5", "nginx:9", ""));
  assert_null(
      kube_apply(live, two, "kubectl", false, &test_kind_deployment, &err));
  assert_int_equal(err.n_causes, 2);
  assert_string_equal(err.message,
                      "Apply failed with 2 conflicts: conflicts with "
                      "\"kubectl-client-side-apply\" using apps/v1:\n"
                      "- .spec.replicas\n"
                      "- .spec.template.spec.containers[name=\"nginx\"]."
                      "image");
  kube_error_clear(&err);

  json_object_put(two);
  json_object_put(same);
  json_object_put(cfg);
  json_object_put(live);
}

static void test_apply_force(void **state) {
  json_object *live = created_by("kubectl-client-side-apply", "1");
  json_object *out =
      apply_ok(live, DEPLOY_CFG("3", "nginx:1", ""), "kubectl", true);
  assert_int_equal(
      json_object_get_int(jget(jget(out, "spec", NULL), "replicas", NULL)), 3);
  /* Ownership moved: the old manager no longer owns .spec.replicas. */
  json_object *other = entry_of(out, "kubectl-client-side-apply", "Update");
  assert_non_null(other);
  assert_null(jget(jget(other, "fieldsV1", "f:spec"), "f:replicas", NULL));
  assert_fields(out, "kubectl", "Apply", DEPLOY_FIELDS);
  /* The result shares nothing with the live object. */
  json_object *live_before = as_patch_json_copy(live);
  json_object_object_add(json_object_object_get(other, "fieldsV1"), "f:x",
                         json_object_new_object());
  assert_true(as_patch_json_equal(live, live_before));
  json_object_object_del(json_object_object_get(other, "fieldsV1"), "f:x");
  json_object_put(live_before);
  /* Applying again without force no longer conflicts. */
  json_object *again =
      apply_ok(out, DEPLOY_CFG("4", "nginx:1", ""), "kubectl", false);
  json_object_put(again);
  json_object_put(out);
  json_object_put(live);
}

static void test_apply_removal(void **state) {
  json_object *v1 = apply_ok(
      NULL, DEPLOY_CFG("3", "nginx:1", ",\"tier\":\"fe\""), "kubectl", false);
  assert_non_null(jget(jget(v1, "metadata", "labels"), "tier", NULL));
  /* The manager stops applying the label: it is removed. */
  json_object *v2 =
      apply_ok(v1, DEPLOY_CFG("3", "nginx:1", ""), "kubectl", false);
  assert_null(jget(jget(v2, "metadata", "labels"), "tier", NULL));
  assert_fields(v2, "kubectl", "Apply", DEPLOY_FIELDS);

  /* A field another manager also owns is kept. */
  json_object *v3 = apply_ok(v2, DEPLOY_CFG("3", "nginx:1", ",\"tier\":\"fe\""),
                             "kubectl", false);
  json_object *edited = as_patch_json_copy(v3);
  json_object_object_add(jget(edited, "metadata", "labels"), "owner",
                         json_object_new_string("ops"));
  json_object_object_add(jget(edited, "metadata", "labels"), "tier",
                         json_object_new_string("backend"));
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(
      kube_managed_fields_update(edited, v3, "kubectl-label", &err), 0);
  json_object *v4 =
      apply_ok(edited, DEPLOY_CFG("3", "nginx:1", ""), "kubectl", false);
  json_object *labels = jget(v4, "metadata", "labels");
  assert_string_equal(
      json_object_get_string(json_object_object_get(labels, "tier")),
      "backend");
  assert_non_null(json_object_object_get(labels, "owner"));

  json_object_put(v1);
  json_object_put(v2);
  json_object_put(v3);
  json_object_put(edited);
  json_object_put(v4);
}

/* Associative lists merge by key: a container another manager added stays,
 * one the manager stopped applying goes. */
static void test_apply_lists(void **state) {
  const char *two =
      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},"
      "\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\"},{\"name\":"
      "\"b\",\"image\":\"y\"}]}}";
  const char *one =
      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\","
      "\"finalizers\":[\"f1\"]},\"spec\":{\"containers\":[{\"name\":\"a\","
      "\"image\":\"x2\"}]}}";
  kube_error_t err = KUBE_ERROR_INIT;
  json_object *c2 = tp_parse(two), *c1 = tp_parse(one);
  json_object *v1 = kube_apply(NULL, c2, "mgr", false, &test_kind_pod, &err);
  assert_non_null(v1);
  /* Someone else adds a sidecar and a finalizer with an update. */
  json_object *edited = as_patch_json_copy(v1);
  json_object *containers =
      jget(jget(edited, "spec", NULL), "containers", NULL);
  json_object_array_add(containers,
                        tp_parse("{\"name\":\"side\",\"image\":\"s\"}"));
  json_object_object_add(jget(edited, "metadata", NULL), "finalizers",
                         tp_parse("[\"f0\"]"));
  assert_int_equal(kube_managed_fields_update(edited, v1, "ctrl", &err), 0);
  assert_fields(edited, "ctrl", "Update",
                "{\"f:metadata\":{\"f:finalizers\":{\"v:\\\"f0\\\"\":{}}},"
                "\"f:spec\":{\"f:containers\":{\"k:{\\\"name\\\":\\\"side\\\"}"
                "\":{\".\":{},\"f:image\":{},\"f:name\":{}}}}}");

  json_object *v2 = kube_apply(edited, c1, "mgr", false, &test_kind_pod, &err);
  if (!v2)
    fail_msg("%s", err.message);
  tp_assert_json(jget(v2, "spec", "containers"),
                 "[{\"name\":\"a\",\"image\":\"x2\"},{\"name\":\"side\","
                 "\"image\":\"s\"}]");
  /* finalizers is a set: both managers' values are kept. */
  tp_assert_json(jget(v2, "metadata", "finalizers"), "[\"f0\",\"f1\"]");
  assert_fields(v2, "mgr", "Apply",
                "{\"f:metadata\":{\"f:finalizers\":{\"v:\\\"f1\\\"\":{}}},"
                "\"f:spec\":{\"f:containers\":{\"k:{\\\"name\\\":\\\"a\\\"}\":"
                "{\".\":{},\"f:image\":{},\"f:name\":{}}}}}");
  json_object_put(c1);
  json_object_put(c2);
  json_object_put(v1);
  json_object_put(edited);
  json_object_put(v2);
}

static void test_apply_errors(void **state) {
  kube_error_t err = KUBE_ERROR_INIT;
  json_object *arr = tp_parse("[1]");
  assert_null(kube_apply(NULL, arr, "m", false, NULL, &err));
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);

  json_object *cfg = tp_parse(DEPLOY_CFG("1", "x", ""));
  assert_null(kube_apply(NULL, cfg, "", false, NULL, &err));
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);

  json_object *withmf = tp_parse(
      "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
      "\"c\",\"managedFields\":[{\"manager\":\"x\"}]}}");
  assert_null(kube_apply(NULL, withmf, "m", false, NULL, &err));
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);

  json_object *nokey = tp_parse(
      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"spec\":{\"containers\":[{"
      "\"image\":\"x\"}]}}");
  assert_null(kube_apply(NULL, nokey, "m", false, NULL, &err));
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);

  /* A live object whose managedFields are garbage. */
  json_object *bad = tp_parse(
      "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
      "\"c\",\"managedFields\":[{\"manager\":\"x\",\"fieldsV1\":{\"zz\":{}}}"
      "]}}");
  json_object *cm = tp_parse(
      "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
      "\"c\"},\"data\":{\"a\":\"1\"}}");
  assert_null(kube_apply(bad, cm, "m", false, NULL, &err));
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);

  json_object_put(arr);
  json_object_put(cfg);
  json_object_put(withmf);
  json_object_put(nokey);
  json_object_put(bad);
  json_object_put(cm);
}

/* A write through a subresource gets an entry of its own, marked with it,
 * beside the same manager's entry for the object (kube-apiserver 1.22+),
 * and takes the fields over from the object's entries. */
static void test_managed_fields_subresource(void **state) {
  json_object *obj = created_by("ctrl", "1");
  json_object *st = as_patch_json_copy(obj);
  json_object_object_del(jget(st, "metadata", NULL), "managedFields");
  json_object *status = json_object_new_object();
  json_object_object_add(status, "replicas", json_object_new_int(1));
  json_object_object_add(st, "status", status);
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(
      kube_managed_fields_update_sub(st, obj, "ctrl", "status", &err), 0);
  assert_int_equal(entry_count(st), 2);
  json_object *mf = jget(st, "metadata", "managedFields");
  int with_sub = -1;
  for (size_t i = 0; i < json_object_array_length(mf); i++) {
    json_object *e = json_object_array_get_idx(mf, i);
    json_object *sub = json_object_object_get(e, "subresource");
    if (sub) {
      assert_string_equal(json_object_get_string(sub), "status");
      tp_assert_json(json_object_object_get(e, "fieldsV1"),
                     "{\"f:status\":{\"f:replicas\":{}}}");
      with_sub = (int)i;
    }
  }
  assert_true(with_sub >= 0);
  /* The same manager again through the subresource: still two entries. */
  json_object *st2 = as_patch_json_copy(st);
  json_object_object_add(jget(st2, "status", NULL), "replicas",
                         json_object_new_int(2));
  assert_int_equal(
      kube_managed_fields_update_sub(st2, st, "ctrl", "status", &err), 0);
  assert_int_equal(entry_count(st2), 2);
  json_object_put(st2);
  json_object_put(st);
  json_object_put(obj);
}

static void test_managed_fields_update(void **state) {
  /* Create: kubectl-create owns every field it set; maps are members. */
  json_object *obj = created_by("kubectl-create", "1");
  assert_fields(
      obj, "kubectl-create", "Update",
      "{\"f:metadata\":{\"f:labels\":{\".\":{},\"f:app\":{}}},\"f:spec\":{"
      "\"f:replicas\":{},\"f:selector\":{},\"f:template\":{\"f:metadata\":{"
      "\"f:labels\":{\".\":{},\"f:app\":{}}},\"f:spec\":{\"f:containers\":{"
      "\"k:{\\\"name\\\":\\\"nginx\\\"}\":{\".\":{},\"f:image\":{},"
      "\"f:name\":{},\"f:ports\":{\"k:{\\\"containerPort\\\":80,"
      "\\\"protocol\\\":\\\"TCP\\\"}\":{\".\":{},\"f:containerPort\":{}}}}}}}"
      "}}");
  json_object *e = entry_of(obj, "kubectl-create", "Update");
  assert_string_equal(
      json_object_get_string(json_object_object_get(e, "apiVersion")),
      "apps/v1");

  /* kubectl scale: the scaler takes .spec.replicas over; the PUT body
   * carries no managedFields, so the stored ones are kept. */
  json_object *scaled = as_patch_json_copy(obj);
  json_object_object_del(jget(scaled, "metadata", NULL), "managedFields");
  json_object_object_add(jget(scaled, "spec", NULL), "replicas",
                         json_object_new_int(5));
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(
      kube_managed_fields_update(scaled, obj, "kubectl-scale", &err), 0);
  assert_fields(scaled, "kubectl-scale", "Update",
                "{\"f:spec\":{\"f:replicas\":{}}}");
  json_object *creator = entry_of(scaled, "kubectl-create", "Update");
  assert_null(jget(jget(creator, "fieldsV1", "f:spec"), "f:replicas", NULL));

  /* An update that removes a field drops it from the updater's set; an
   * update that changes nothing records nothing. */
  json_object *unlabeled = as_patch_json_copy(scaled);
  json_object_object_del(jget(unlabeled, "metadata", "labels"), "app");
  assert_int_equal(
      kube_managed_fields_update(unlabeled, scaled, "kubectl-create", &err), 0);
  creator = entry_of(unlabeled, "kubectl-create", "Update");
  json_object *labels =
      jget(jget(creator, "fieldsV1", "f:metadata"), "f:labels", NULL);
  assert_non_null(labels); /* the map itself is still owned */
  assert_null(json_object_object_get(labels, "f:app"));
  size_t before = entry_count(unlabeled);
  json_object *same = as_patch_json_copy(unlabeled);
  assert_int_equal(kube_managed_fields_update(same, unlabeled, "nobody", &err),
                   0);
  assert_int_equal(entry_count(same), before);
  assert_null(entry_of(same, "nobody", "Update"));

  /* Apply entries sort before Update entries. */
  json_object *applied =
      apply_ok(same, DEPLOY_CFG("5", "nginx:1", ""), "kubectl", true);
  json_object *first =
      json_object_array_get_idx(jget(applied, "metadata", "managedFields"), 0);
  assert_string_equal(
      json_object_get_string(json_object_object_get(first, "operation")),
      "Apply");

  assert_int_equal(kube_managed_fields_update(NULL, NULL, "m", &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);

  json_object_put(applied);
  json_object_put(same);
  json_object_put(unlabeled);
  json_object_put(scaled);
  json_object_put(obj);
}

/* After kubectl's client-side to server-side migration the Apply entry
 * owns maps as a whole ("."); re-applying keeps the map and the entries
 * other writers added, and prunes only what the manager dropped. */
static void test_apply_prune_owned_map(void **state) {
  json_object *live = tp_parse(
      "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
      "\"name\":\"c\",\"labels\":{\"app\":\"a\",\"gone\":\"g\","
      "\"other\":\"o\"},\"managedFields\":[{\"manager\":\"kubectl\","
      "\"operation\":\"Apply\",\"apiVersion\":\"v1\",\"fieldsType\":"
      "\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{\"f:labels\":{\".\":{},"
      "\"f:app\":{},\"f:gone\":{}}},\"f:data\":{\".\":{},\"f:k\":{}}}}]},"
      "\"data\":{\"k\":\"v\"}}");
  json_object *cfg =
      tp_parse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
               "\"name\":\"c\",\"labels\":{\"app\":\"a\"}}}");
  kube_error_t err = KUBE_ERROR_INIT;
  json_object *out =
      kube_apply(live, cfg, "kubectl", false, &test_kind_configmap, &err);
  if (!out)
    fail_msg("%s", err.message);
  tp_assert_json(jget(out, "metadata", "labels"),
                 "{\"app\":\"a\",\"other\":\"o\"}");
  /* data's only entry was the manager's: it goes (the map stays, empty). */
  assert_null(jget(out, "data", "k"));
  assert_fields(out, "kubectl", "Apply",
                "{\"f:metadata\":{\"f:labels\":{\"f:app\":{}}}}");
  json_object_put(out);
  json_object_put(cfg);
  json_object_put(live);
}

static int collect_path(const fs_path_t *path, void *data) {
  kube_strbuf_t *sb = data;
  char *s = as_fs_path_string(path);
  kube_strbuf_printf(sb, "%s;", s);
  free(s);
  return 0;
}

/* Field set algebra on the FieldsV1 form Kubernetes writes. */
static void test_fieldset_algebra(void **state) {
  const char *fv1 =
      "{\"f:metadata\":{\"f:labels\":{\".\":{},\"f:app\":{}}},\"f:spec\":{"
      "\"f:containers\":{\"k:{\\\"name\\\":\\\"web\\\"}\":{\".\":{},"
      "\"f:image\":{},\"f:ports\":{\"k:{\\\"containerPort\\\":80,"
      "\\\"protocol\\\":\\\"TCP\\\"}\":{\".\":{},\"f:containerPort\":{}}}"
      "}},\"f:finalizers\":{\"v:\\\"a\\\"\":{}}}}";
  json_object *wire = tp_parse(fv1);
  bool bad;
  json_object *set = as_fs_from_fieldsv1(wire, false, &bad);
  assert_non_null(set);
  assert_false(bad);
  /* Already normalized: it round-trips unchanged. */
  tp_assert_json(set, fv1);

  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  as_fs_walk(set, collect_path, &sb);
  assert_string_equal(sb.data,
                      ".metadata.labels;.metadata.labels.app;"
                      ".spec.containers[name=\"web\"];"
                      ".spec.containers[name=\"web\"].image;"
                      ".spec.containers[name=\"web\"].ports[containerPort=80,"
                      "protocol=\"TCP\"];"
                      ".spec.containers[name=\"web\"].ports[containerPort=80,"
                      "protocol=\"TCP\"].containerPort;"
                      ".spec.finalizers[=\"a\"];");
  kube_strbuf_clear(&sb);

  /* Removing the item's own membership keeps its owned fields. */
  json_object *item = tp_parse(
      "{\"f:spec\":{\"f:containers\":{\"k:{\\\"name\\\":\\\"web\\\"}\":{}}},"
      "\"f:metadata\":{\"f:labels\":{\"f:app\":{}}}}");
  json_object *b = as_fs_from_fieldsv1(item, false, &bad);
  assert_true(as_fs_intersects(set, b));
  as_fs_subtract(set, b);
  tp_assert_json(
      set, "{\"f:metadata\":{\"f:labels\":{}},\"f:spec\":{\"f:containers\":{"
           "\"k:{\\\"name\\\":\\\"web\\\"}\":{\"f:image\":{},\"f:ports\":{"
           "\"k:{\\\"containerPort\\\":80,\\\"protocol\\\":\\\"TCP\\\"}\":{"
           "\".\":{},\"f:containerPort\":{}}}}},\"f:finalizers\":{\"v:"
           "\\\"a\\\"\":{}}}}");
  assert_false(as_fs_intersects(set, b));
  /* Union restores it; subtracting everything empties the set. */
  assert_int_equal(as_fs_union(set, b), 0);
  json_object *all = as_fs_from_fieldsv1(wire, false, &bad);
  assert_int_equal(as_fs_union(all, set), 0);
  tp_assert_json(all, fv1);
  as_fs_subtract(set, all);
  assert_true(as_fs_empty(set));

  /* Malformed FieldsV1. */
  json_object *junk = tp_parse("{\"x:y\":{}}");
  assert_null(as_fs_from_fieldsv1(junk, false, &bad));
  assert_true(bad);
  json_object *notobj = tp_parse("{\"f:a\":1}");
  assert_null(as_fs_from_fieldsv1(notobj, true, &bad));
  assert_true(bad);
  /* {".":{}} alone is normalized to {}. */
  json_object *dot = tp_parse("{\"f:a\":{\".\":{}}}");
  json_object *nd = as_fs_from_fieldsv1(dot, true, &bad);
  tp_assert_json(nd, "{\"f:a\":{}}");

  /* Items are found by key text, and by value when another encoder wrote
   * the key (Go escapes '<' as \u003c). */
  json_object *pod = tp_parse("{\"spec\":{\"containers\":[{\"name\":\"x\"},"
                              "{\"name\":\"a<b\",\"image\":\"i\"}],"
                              "\"ports\":[{\"port\":80}]}}");
  fs_path_t p1 = {
      {"f:spec", "f:containers", "k:{\"name\":\"a\\u003cb\"}", "f:image"}, 4};
  bool found;
  json_object *img = as_fs_lookup(pod, &p1, &found);
  assert_true(found);
  assert_string_equal(json_object_get_string(img), "i");
  fs_path_t p2 = {{"f:spec", "f:ports", "k:{\"port\":80,\"protocol\":\"TCP\"}"},
                  3};
  assert_non_null(as_fs_lookup(pod, &p2, &found));
  assert_true(found);
  fs_path_t p3 = {{"f:spec", "f:ports", "k:{\"port\":81}"}, 3};
  assert_null(as_fs_lookup(pod, &p3, &found));
  assert_false(found);
  json_object_put(pod);

  json_object_put(nd);
  json_object_put(dot);
  json_object_put(notobj);
  json_object_put(junk);
  json_object_put(all);
  json_object_put(b);
  json_object_put(item);
  json_object_put(set);
  json_object_put(wire);
}

static const struct CMUnitTest apply_tests[] = {
    cmocka_unit_test(test_fieldset_algebra),
    cmocka_unit_test(test_apply_prune_owned_map),
    cmocka_unit_test(test_apply_create),
    cmocka_unit_test(test_apply_update_same_manager),
    cmocka_unit_test(test_apply_conflict),
    cmocka_unit_test(test_apply_force),
    cmocka_unit_test(test_apply_removal),
    cmocka_unit_test(test_apply_lists),
    cmocka_unit_test(test_apply_errors),
    cmocka_unit_test(test_managed_fields_update),
    cmocka_unit_test(test_managed_fields_subresource),
};

const struct CMUnitTest *test_apply_tests(size_t *n) {
  *n = ARRAY_SIZE(apply_tests);
  return apply_tests;
}
