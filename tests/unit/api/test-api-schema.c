/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Schemas: typed checks of built-in kinds (Go decoder wording, int32
 * ranges, unknown fields), structural schemas of CustomResourceDefinitions
 * (validation with Kubernetes' field paths and messages, pruning,
 * defaulting), the CRD kind's own validation, the kinds a definition
 * serves, duplicate JSON keys and NUL bytes.
 */
#include "test-api.h"

#include "api/schema.h"
#include "api/validate.h"

/* ---- helpers ------------------------------------------------------------- */

/* The causes of validating obj against root, "field: message" each. */
static char *cr_errors(const api_schema_t *root, json_object *obj) {
  verrs_t v = {0};
  api_check_t c = {.flags = API_CHECK_VALIDATE, .errs = &v};
  assert_int_equal(api_schema_check(obj, root, &c), 0);
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "");
  for (size_t i = 0; i < v.n; i++) {
    kube_strbuf_printf(&sb, "%s%s: %s", i ? "\n" : "", v.causes[i].field,
                       v.causes[i].body);
    free(v.causes[i].field);
    free(v.causes[i].body);
  }
  free(v.causes);
  api_check_clear(&c);
  return kube_strbuf_steal(&sb);
}

static api_schema_t *build(api_arena_t *a, const char *schema_json) {
  json_object *s = tj(schema_json);
  api_schema_t *root = api_crd_schema_build(a, s, NULL, "");
  json_object_put(s);
  assert_non_null(root);
  return root;
}

static const char *const CRON_SCHEMA =
    "{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\","
    "\"required\":[\"cronSpec\"],\"properties\":{"
    "\"cronSpec\":{\"type\":\"string\",\"pattern\":"
    "\"^(\\\\d+|\\\\*)(/\\\\d+)?(\\\\s+(\\\\d+|\\\\*)(/\\\\d+)?){4}$\"},"
    "\"replicas\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10,"
    "\"default\":1},"
    "\"size\":{\"type\":\"integer\",\"format\":\"int32\"},"
    "\"ratio\":{\"type\":\"number\",\"exclusiveMinimum\":true,\"minimum\":0,"
    "\"exclusiveMaximum\":true,\"maximum\":1},"
    "\"mode\":{\"type\":\"string\",\"enum\":[\"fast\",\"slow\"],"
    "\"default\":\"slow\"},"
    "\"name\":{\"type\":\"string\",\"minLength\":2,\"maxLength\":5},"
    "\"tags\":{\"type\":\"array\",\"maxItems\":3,\"minItems\":1,"
    "\"x-kubernetes-list-type\":\"set\",\"items\":{\"type\":\"string\"}},"
    "\"ports\":{\"type\":\"array\",\"x-kubernetes-list-type\":\"map\","
    "\"x-kubernetes-list-map-keys\":[\"name\"],\"items\":{\"type\":"
    "\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"port\":{"
    "\"x-kubernetes-int-or-string\":true},\"proto\":{\"type\":\"string\","
    "\"default\":\"TCP\"}}}},"
    "\"extra\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":"
    "true,\"properties\":{\"known\":{\"type\":\"integer\"}}},"
    "\"labels\":{\"type\":\"object\",\"additionalProperties\":{\"type\":"
    "\"string\"}},"
    "\"maybe\":{\"type\":\"string\",\"nullable\":true},"
    "\"never\":{\"type\":\"string\"},"
    "\"template\":{\"type\":\"object\",\"x-kubernetes-embedded-resource\":"
    "true,\"x-kubernetes-preserve-unknown-fields\":true},"
    "\"limits\":{\"type\":\"object\",\"default\":{},\"properties\":{"
    "\"cpu\":{\"type\":\"string\",\"default\":\"1\"}}}}},"
    "\"status\":{\"type\":\"object\",\"properties\":{\"replicas\":{\"type\":"
    "\"integer\"}}}}}";

/* ---- built-in kinds ------------------------------------------------------ */

static char *builtin_type_error(const char *api_version, const char *kind,
                                const char *json) {
  const kube_kind_t *k = kube_kind_by_kind(api_version, kind);
  assert_non_null(k);
  json_object *o = tj(json);
  api_check_t c = {.flags = API_CHECK_PRUNE};
  assert_int_equal(api_schema_check(o, api_kind_schema(k), &c), 0);
  char *e = c.type_error ? strdup(c.type_error) : NULL;
  api_check_clear(&c);
  json_object_put(o);
  return e;
}

static void test_builtin_int32(void **state) {
  static const struct {
    const char *value, *want;
  } cases[] = {
      {"2147483648", "json: cannot unmarshal number 2147483648 into Go struct "
                     "field DeploymentSpec.spec.replicas of type int32"},
      {"1.5", "json: cannot unmarshal number 1.5 into Go struct field "
              "DeploymentSpec.spec.replicas of type int32"},
      {"1e23", "json: cannot unmarshal number 1e23 into Go struct field "
               "DeploymentSpec.spec.replicas of type int32"},
      {"-2147483649", "json: cannot unmarshal number -2147483649 into Go "
                      "struct field DeploymentSpec.spec.replicas of type "
                      "int32"},
      {"18446744073709551615",
       "json: cannot unmarshal number 18446744073709551615 into Go struct "
       "field DeploymentSpec.spec.replicas of type int32"},
      {"\"3\"", "json: cannot unmarshal string into Go struct field "
                "DeploymentSpec.spec.replicas of type int32"},
      {"true", "json: cannot unmarshal bool into Go struct field "
               "DeploymentSpec.spec.replicas of type int32"},
      {"2147483647", NULL},
      {"-2147483648", NULL},
      {"null", NULL},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    char body[256];
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
             "\"spec\":{\"replicas\":%s}}",
             cases[i].value);
    char *e = builtin_type_error("apps/v1", "Deployment", body);
    if (cases[i].want)
      assert_string_equal(e, cases[i].want);
    else
      assert_null(e);
    free(e);
  }
  /* Nested struct fields name the innermost struct, path without
   * indices, as Go 1.20+ does. */
  char *e = builtin_type_error(
      "v1", "Pod",
      "{\"spec\":{\"containers\":[{\"name\":\"c\",\"ports\":[{"
      "\"containerPort\":70000000000}]}]}}");
  assert_string_equal(e, "json: cannot unmarshal number 70000000000 into Go "
                         "struct field ContainerPort.spec.containers.ports."
                         "containerPort of type int32");
  free(e);
  e = builtin_type_error("v1", "Pod", "{\"spec\":{\"containers\":{}}}");
  assert_string_equal(e, "json: cannot unmarshal object into Go struct field "
                         "PodSpec.spec.containers of type []v1.Container");
  free(e);
  /* int64 fields take what int32 ones refuse. */
  e = builtin_type_error(
      "v1", "Pod", "{\"spec\":{\"terminationGracePeriodSeconds\":4294967296}}");
  assert_null(e);
}

static void test_builtin_unknown_fields(void **state) {
  const kube_kind_t *k = kube_kind_by_kind("v1", "Pod");
  json_object *o =
      tj("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\","
         "\"bogus\":1},\"spec\":{\"foo\":2,\"containers\":[{\"name\":\"c\","
         "\"imagePullPolicyy\":\"x\"}],\"volumes\":[{\"name\":\"v\","
         "\"someFutureSource\":{\"a\":1}}]},\"extra\":true}");
  api_check_t c = {.flags = API_CHECK_PRUNE};
  assert_int_equal(api_schema_check(o, api_kind_schema(k), &c), 0);
  assert_null(c.type_error);
  assert_int_equal(c.n_unknown, 4);
  assert_string_equal(c.unknown[0], "metadata.bogus");
  assert_string_equal(c.unknown[1], "spec.foo");
  assert_string_equal(c.unknown[2], "spec.containers[0].imagePullPolicyy");
  assert_string_equal(c.unknown[3], "extra");
  /* Dropped, as decoding drops them; an open type (volume sources) keeps
   * what it does not list. */
  assert_null(kube_json_get(o, "spec.foo"));
  assert_null(kube_json_get(o, "extra"));
  assert_null(kube_json_get(o, "metadata.bogus"));
  assert_non_null(kube_json_get(o, "spec.volumes.0.someFutureSource"));
  api_check_clear(&c);
  json_object_put(o);
}

/* ---- structural schemas ----------------------------------------------------
 */

static void test_cr_validation(void **state) {
  api_arena_t *a = api_arena_new();
  api_schema_t *root = build(a, CRON_SCHEMA);
  json_object *o =
      tj("{\"spec\":{\"cronSpec\":\"* * * *\",\"replicas\":11,\"size\":"
         "2147483648,\"ratio\":1,\"mode\":\"medium\",\"name\":\"abcdefg\","
         "\"tags\":[\"a\",\"a\",\"b\",\"c\"],\"ports\":[{\"name\":\"x\","
         "\"port\":true},{\"name\":\"x\",\"port\":80}],\"labels\":{\"a\":1}}}");
  char *e = cr_errors(root, o);
  assert_string_equal(
      e, "spec.cronSpec: Invalid value: \"* * * *\": spec.cronSpec in body "
         "should match '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'\n"
         "spec.replicas: Invalid value: 11: spec.replicas in body should be "
         "less than or equal to 10\n"
         "spec.size: Invalid value: 2147483648: spec.size in body must be of "
         "type int32: \"2147483648\"\n"
         "spec.ratio: Invalid value: 1: spec.ratio in body should be less "
         "than 1\n"
         "spec.mode: Unsupported value: \"medium\": supported values: "
         "\"fast\", \"slow\"\n"
         "spec.name: Too long: may not be longer than 5\n"
         "spec.tags: Too many: 4: must have at most 3 items\n"
         "spec.tags[1]: Duplicate value: \"a\"\n"
         "spec.ports[0].port: Invalid value: \"boolean\": spec.ports[0].port "
         "in body must be of type integer,string: \"boolean\"\n"
         "spec.ports[1]: Duplicate value: {\"name\":\"x\",\"port\":80}\n"
         "spec.labels.a: Invalid value: \"integer\": spec.labels.a in body "
         "must be of type string: \"integer\"");
  free(e);
  json_object_put(o);
  o = tj("{\"spec\":{\"replicas\":\"3\",\"ratio\":0,\"name\":\"a\","
         "\"tags\":[]},\"status\":[]}");
  e = cr_errors(root, o);
  assert_string_equal(
      e, "spec.replicas: Invalid value: \"string\": spec.replicas in body "
         "must be of type integer: \"string\"\n"
         "spec.ratio: Invalid value: 0: spec.ratio in body should be greater "
         "than 0\n"
         "spec.name: Invalid value: \"a\": spec.name in body should be at "
         "least 2 chars long\n"
         "spec.tags: Invalid value: 0: spec.tags in body should have at "
         "least 1 items\n"
         "spec.cronSpec: Required value\n"
         "status: Invalid value: \"array\": status in body must be of type "
         "object: \"array\"");
  free(e);
  json_object_put(o);
  /* An embedded resource needs apiVersion and kind. */
  o = tj("{\"spec\":{\"cronSpec\":\"1 2 3 4 5\",\"template\":{\"x\":1}}}");
  e = cr_errors(root, o);
  assert_string_equal(e, "spec.template.apiVersion: Required value: must not "
                         "be empty\nspec.template.kind: Required value: must "
                         "not be empty");
  free(e);
  json_object_put(o);
  api_arena_free(a);
}

static void test_cr_pruning(void **state) {
  api_arena_t *a = api_arena_new();
  api_schema_t *root = build(a, CRON_SCHEMA);
  json_object *o =
      tj("{\"spec\":{\"cronSpec\":\"1 2 3 4 5\",\"unknown\":1,\"extra\":{"
         "\"known\":1,\"anything\":{\"deep\":[1]}},\"ports\":[{\"name\":\"a\","
         "\"what\":2}],\"never\":null,\"maybe\":null,\"template\":{"
         "\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"x\","
         "\"junk\":1},\"spec\":{\"free\":true}}},\"top\":1}");
  api_check_t c = {.flags = API_CHECK_PRUNE};
  assert_int_equal(api_schema_check(o, root, &c), 0);
  assert_int_equal(c.n_unknown, 4);
  assert_string_equal(c.unknown[0], "spec.unknown");
  assert_string_equal(c.unknown[1], "spec.ports[0].what");
  assert_string_equal(c.unknown[2], "spec.template.metadata.junk");
  assert_string_equal(c.unknown[3], "top");
  api_check_clear(&c);
  json_object *want =
      tj("{\"spec\":{\"cronSpec\":\"1 2 3 4 5\",\"extra\":{\"known\":1,"
         "\"anything\":{\"deep\":[1]}},\"ports\":[{\"name\":\"a\"}],\"maybe\":"
         "null,\"template\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
         "\"metadata\":{\"name\":\"x\"},\"spec\":{\"free\":true}}}}");
  assert_true(json_object_equal(o, want));
  json_object_put(want);
  json_object_put(o);
  api_arena_free(a);
}

static void test_cr_defaulting(void **state) {
  api_arena_t *a = api_arena_new();
  api_schema_t *root = build(a, CRON_SCHEMA);
  json_object *o = tj("{\"spec\":{\"cronSpec\":\"1 2 3 4 5\",\"replicas\":3,"
                      "\"ports\":[{\"name\":\"a\"},{\"name\":\"b\","
                      "\"proto\":\"UDP\"}]}}");
  api_schema_default(o, root);
  /* Defaults fill what is absent, inside defaulted objects too. */
  json_object *want = tj(
      "{\"spec\":{\"cronSpec\":\"1 2 3 4 5\",\"replicas\":3,\"ports\":[{"
      "\"name\":\"a\",\"proto\":\"TCP\"},{\"name\":\"b\",\"proto\":\"UDP\"}],"
      "\"mode\":\"slow\",\"limits\":{\"cpu\":\"1\"}}}");
  assert_true(json_object_equal(o, want));
  json_object_put(want);
  json_object_put(o);
  api_arena_free(a);
}

static char *schema_problems(const char *schema_json) {
  api_arena_t *a = api_arena_new();
  verrs_t v = {0};
  json_object *s = tj(schema_json);
  api_crd_schema_build(a, s, &v, "spec.versions[0].schema.openAPIV3Schema");
  json_object_put(s);
  api_arena_free(a);
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "");
  for (size_t i = 0; i < v.n; i++) {
    kube_strbuf_printf(&sb, "%s%s: %s", i ? "\n" : "", v.causes[i].field,
                       v.causes[i].body);
    free(v.causes[i].field);
    free(v.causes[i].body);
  }
  free(v.causes);
  return kube_strbuf_steal(&sb);
}

static void test_crd_schema_checks(void **state) {
  char *e = schema_problems(
      "{\"type\":\"object\",\"properties\":{\"spec\":{\"properties\":{"
      "\"a\":{\"type\":\"string\",\"pattern\":\"([\"},"
      "\"b\":{\"type\":\"thing\"},"
      "\"c\":{\"type\":\"integer\",\"default\":\"x\"},"
      "\"d\":{\"type\":\"array\",\"x-kubernetes-list-type\":\"map\","
      "\"items\":{\"type\":\"string\"}}}}}}");
  const char *p = "spec.versions[0].schema.openAPIV3Schema.properties[spec]";
  char want[4096];
  snprintf(
      want, sizeof want,
      "%s.properties[a].pattern: Invalid value: \"([\": must be a valid "
      "regular expression, but isn't: missing terminating ] for character "
      "class at offset 2\n"
      "%s.properties[b].type: Unsupported value: \"thing\": supported "
      "values: \"array\", \"boolean\", \"integer\", \"number\", \"object\", "
      "\"string\"\n"
      "%s.properties[c].default: Invalid value: \"string\": "
      "%s.properties[c].default in body must be of type integer: "
      "\"string\"\n"
      "%s.properties[d].items.type: Invalid value: \"\": must be object if "
      "parent array's x-kubernetes-list-type is map\n"
      "%s.properties[d].x-kubernetes-list-map-keys: Required value: must not "
      "be empty if x-kubernetes-list-type is map\n"
      "%s.type: Required value: must not be empty for specified object "
      "fields",
      p, p, p, p, p, p, p);
  assert_string_equal(e, want);
  free(e);
  e = schema_problems("{\"type\":\"string\"}");
  assert_string_equal(e, "spec.versions[0].schema.openAPIV3Schema.type: "
                         "Invalid value: \"string\": must be object at the "
                         "root");
  free(e);
  e = schema_problems("{\"x-kubernetes-preserve-unknown-fields\":true}");
  assert_string_equal(e, "");
  free(e);
}

/* ---- the CRD kind and the kinds it serves
 * ------------------------------------ */

static const char *const CRD_JSON =
    "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":"
    "\"CustomResourceDefinition\",\"metadata\":{\"name\":"
    "\"crontabs.stable.example.com\",\"uid\":\"u\"},\"spec\":{\"group\":"
    "\"stable.example.com\",\"scope\":\"Namespaced\",\"names\":{\"plural\":"
    "\"crontabs\",\"kind\":\"CronTab\",\"shortNames\":[\"ct\"]},"
    "\"versions\":[{\"name\":\"v1beta1\",\"served\":true,\"storage\":false,"
    "\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\","
    "\"x-kubernetes-preserve-unknown-fields\":true}}},{\"name\":\"v1\","
    "\"served\":true,\"storage\":true,\"subresources\":{\"status\":{},"
    "\"scale\":{\"specReplicasPath\":\".spec.replicas\","
    "\"statusReplicasPath\":\".status.replicas\"}},"
    "\"additionalPrinterColumns\":[{\"name\":\"Replicas\",\"type\":"
    "\"integer\",\"jsonPath\":\".spec.replicas\"},{\"name\":\"Age\",\"type\":"
    "\"date\",\"jsonPath\":\".metadata.creationTimestamp\"}],\"schema\":{"
    "\"openAPIV3Schema\":{\"type\":\"object\",\"properties\":{\"spec\":{"
    "\"type\":\"object\",\"properties\":{\"replicas\":{\"type\":"
    "\"integer\"}}}}}}},{\"name\":\"v0\",\"served\":false,\"storage\":false,"
    "\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\"}}}]}}";

static void test_crd_kind(void **state) {
  const kube_kind_t *crdk = kube_kind_resolve("crd");
  assert_non_null(crdk);
  assert_string_equal(crdk->kind, "CustomResourceDefinition");
  json_object *crd = tj(CRD_JSON);
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_json_default(crd, crdk, &err), 0);
  assert_string_equal(kube_json_get_string(crd, "spec.names.singular"),
                      "crontab");
  assert_string_equal(kube_json_get_string(crd, "spec.names.listKind"),
                      "CronTabList");
  assert_string_equal(kube_json_get_string(crd, "spec.conversion.strategy"),
                      "None");
  assert_int_equal(kube_json_validate(crd, NULL, crdk, &err), 0);

  kube_kind_t **kinds = NULL;
  size_t n = 0;
  assert_int_equal(api_crd_build_kinds(crd, &kinds, &n, &err), 0);
  assert_int_equal(n, 2); /* v0 is not served */
  const kube_kind_t *v1 = kinds[1];
  assert_string_equal(v1->version, "v1");
  assert_string_equal(v1->resource, "crontabs");
  assert_string_equal(v1->singular, "crontab");
  assert_string_equal(v1->list_kind, "CronTabList");
  assert_true(v1->namespaced);
  assert_string_equal(v1->short_names[0], "ct");
  assert_string_equal(v1->subresources[0], "scale");
  assert_string_equal(v1->subresources[1], "status");
  assert_true(api_kind_is_custom(v1));
  assert_string_equal(api_cr_storage_api_version(kinds[0]),
                      "stable.example.com/v1");
  const api_scale_t *sc = api_kind_scale(v1);
  assert_non_null(sc);
  assert_string_equal(sc->spec_replicas, "spec.replicas");
  assert_null(api_kind_scale(kinds[0]));
  /* Columns: NAME, then the printer columns; cells from their paths. */
  assert_string_equal(v1->columns[1].name, "Replicas");
  assert_string_equal(v1->columns[2].name, "Age");
  assert_null(v1->columns[3].name);
  json_object *cr = tj("{\"metadata\":{\"name\":\"x\",\"creationTimestamp\":"
                       "\"2026-01-01T00:00:00Z\"},\"spec\":{\"replicas\":3}}");
  json_object *cells = kube_json_table_cells(v1, cr, 1767225600 + 120);
  assert_string_equal(cell(cells, 0), "x");
  assert_int_equal(json_object_get_int(json_object_array_get_idx(cells, 1)), 3);
  assert_string_equal(cell(cells, 2), "2m");
  json_object_put(cells);
  /* Without printer columns: NAME and AGE. */
  assert_string_equal(kinds[0]->columns[1].name, "AGE");
  /* Validation, defaulting and creation go through the strategy. */
  json_object_object_add(cr, "status", json_object_new_object());
  const struct kube_kind_strategy *st = api_kind_strategy(v1);
  st->prepare_create(cr, v1);
  assert_null(kube_json_get(cr, "status")); /* the status subresource owns it */
  json_object_object_add(kube_json_get(cr, "spec"), "replicas",
                         json_object_new_string("x"));
  json_object_object_add(cr, "apiVersion",
                         json_object_new_string("stable.example.com/v1"));
  json_object_object_add(cr, "kind", json_object_new_string("CronTab"));
  json_object_object_add(kube_json_get(cr, "metadata"), "namespace",
                         json_object_new_string("default"));
  assert_int_equal(kube_json_validate(cr, NULL, v1, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_INVALID);
  assert_string_equal(err.message,
                      "CronTab.stable.example.com \"x\" is invalid: "
                      "spec.replicas: Invalid value: \"string\": "
                      "spec.replicas in body must be of type integer: "
                      "\"string\"");
  kube_error_clear(&err);
  json_object_put(cr);
  /* Kinds are refcounted: a reference outlives the array. */
  const kube_kind_t *kept = api_kind_ref(v1);
  for (size_t i = 0; i < n; i++)
    api_kind_unref(kinds[i]);
  free(kinds);
  assert_string_equal(kept->kind, "CronTab");
  api_kind_unref(kept);
  /* The static kinds ignore ref/unref. */
  assert_ptr_equal(api_kind_ref(crdk), crdk);
  api_kind_unref(crdk);
  json_object_put(crd);
}

static void test_crd_validation(void **state) {
  const kube_kind_t *crdk = kube_kind_resolve("customresourcedefinitions");
  json_object *crd =
      tj("{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":"
         "\"CustomResourceDefinition\",\"metadata\":{\"name\":\"x.example\"},"
         "\"spec\":{\"group\":\"example\",\"scope\":\"Global\",\"names\":{"
         "\"plural\":\"Things\",\"kind\":\"Thing\",\"listKind\":\"Thing\"},"
         "\"conversion\":{\"strategy\":\"Webhook\"},\"versions\":[{\"name\":"
         "\"v1\",\"served\":true,\"storage\":true,\"subresources\":{\"scale\":{"
         "\"specReplicasPath\":\".status.x\",\"statusReplicasPath\":"
         "\".status.y\"}},\"additionalPrinterColumns\":[{\"name\":\"N\","
         "\"type\":\"text\",\"jsonPath\":\".spec.n\"}]},{\"name\":\"v1\","
         "\"served\":false,\"storage\":true,\"schema\":{\"openAPIV3Schema\":{"
         "\"type\":\"object\"}}}]}}");
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_json_validate(crd, NULL, crdk, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_INVALID);
  static const char *const want[] = {
      "spec.group",
      "metadata.name",
      "spec.names.plural",
      "spec.names.listKind",
      "spec.scope",
      "spec.versions[0].schema.openAPIV3Schema",
      "spec.versions[0].subresources.scale.specReplicasPath",
      "spec.versions[0].additionalPrinterColumns[0].type",
      "spec.versions[1].name",
      "spec.versions",
      "spec.conversion.strategy",
  };
  assert_int_equal(err.n_causes, ARRAY_SIZE(want));
  for (size_t i = 0; i < ARRAY_SIZE(want); i++)
    assert_string_equal(err.causes[i].field, want[i]);
  assert_string_equal(err.causes[0].message,
                      "Invalid value: \"example\": should be a domain with "
                      "at least one dot");
  assert_string_equal(err.causes[6].message,
                      "Invalid value: \".status.x\": should be a json path "
                      "under .spec");
  assert_string_equal(err.causes[9].message,
                      "Invalid value: 2: must have exactly one version "
                      "marked as storage version");
  kube_error_clear(&err);
  json_object_put(crd);
}

static void test_version_priority(void **state) {
  static const char *const sorted[] = {"v2",        "v1",      "v11beta2",
                                       "v10beta3",  "v3beta1", "v12alpha1",
                                       "v11alpha2", "foo1",    "foo10"};
  for (size_t i = 0; i + 1 < ARRAY_SIZE(sorted); i++)
    assert_true(api_version_cmp(sorted[i], sorted[i + 1]) < 0);
}

/* ---- bytes in ---------------------------------------------------------------
 */

static void test_duplicates_and_nul(void **state) {
  const char *body =
      "{\"spec\":{\"replicas\":1,\"replicas\":2,\"template\":{\"a\":1,"
      "\"b\":[{\"x\":1,\"x\":2}]}},\"kind\":\"A\",\"kind\":\"B\",\"kind\":"
      "\"C\"}";
  char **dups = NULL;
  size_t n = 0;
  assert_int_equal(api_json_duplicates(body, strlen(body), &dups, &n), 0);
  assert_int_equal(n, 3);
  assert_string_equal(dups[0], "spec.template.b[0].x");
  assert_string_equal(dups[1], "spec.replicas");
  assert_string_equal(dups[2], "kind");
  for (size_t i = 0; i < n; i++)
    free(dups[i]);
  free(dups);
  /* A NUL escaped in a name, a key or a value is refused, in JSON and in
   * YAML (it would cut the C string short). */
  kube_error_t err = KUBE_ERROR_INIT;
  static const char *const bad_json[] = {
      "{\"metadata\":{\"name\":\"a\\u0000b\"}}",
      "{\"data\":{\"k\\u0000\":\"v\"}}",
  };
  for (size_t i = 0; i < ARRAY_SIZE(bad_json); i++) {
    assert_null(kube_json_parse(bad_json[i], strlen(bad_json[i]), &err));
    assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
    assert_non_null(strstr(err.message, "NUL"));
    kube_error_clear(&err);
  }
  const char *yaml = "metadata:\n  name: \"a\\0b\"\n";
  assert_null(kube_json_decode_stream(yaml, strlen(yaml), &err));
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  assert_non_null(strstr(err.message, "NUL"));
  kube_error_clear(&err);
}

const struct CMUnitTest *schema_tests(size_t *n) {
  static const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_builtin_int32),
      cmocka_unit_test(test_builtin_unknown_fields),
      cmocka_unit_test(test_cr_validation),
      cmocka_unit_test(test_cr_pruning),
      cmocka_unit_test(test_cr_defaulting),
      cmocka_unit_test(test_crd_schema_checks),
      cmocka_unit_test(test_crd_kind),
      cmocka_unit_test(test_crd_validation),
      cmocka_unit_test(test_version_priority),
      cmocka_unit_test(test_duplicates_and_nul),
  };
  *n = ARRAY_SIZE(tests);
  return tests;
}
