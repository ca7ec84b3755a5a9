/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the api module: kinds table and codec. */
#include <strings.h>

#include "test-api.h"

/* ---- kinds ----------------------------------------------------------------
 */

static void test_kinds_lookup(void **state) {
  (void)state;
  assert_true(kube_kinds_count() >= 25);
  const kube_kind_t *k = kube_kind_by_resource("", "v1", "pods");
  assert_non_null(k);
  assert_string_equal(k->kind, "Pod");
  assert_string_equal(k->list_kind, "PodList");
  assert_string_equal(k->singular, "pod");
  assert_true(k->namespaced);
  assert_string_equal(k->short_names[0], "po");
  assert_string_equal(k->categories[0], "all");
  bool has_log = false, has_binding = false;
  for (const char *const *s = k->subresources; *s; s++) {
    has_log = has_log || streq(*s, "log");
    has_binding = has_binding || streq(*s, "binding");
  }
  assert_true(has_log && has_binding);

  k = kube_kind_by_kind("apps/v1", "Deployment");
  assert_non_null(k);
  assert_string_equal(k->resource, "deployments");
  assert_null(kube_kind_by_kind("v1", "Deployment"));
  assert_null(kube_kind_by_kind("apps/v2", "Deployment"));
  k = kube_kind_by_kind("v1", "Node");
  assert_non_null(k);
  assert_false(k->namespaced);
  assert_non_null(
      kube_kind_by_kind("autoscaling/v1", "HorizontalPodAutoscaler"));
  assert_non_null(kube_kind_by_kind("events.k8s.io/v1", "Event"));
  assert_null(kube_kind_by_resource("apps", "v1", "pods"));

  char buf[64];
  assert_string_equal(kube_kind_api_version(k, buf, sizeof(buf)), "v1");
  k = kube_kind_by_resource("coordination.k8s.io", "v1", "leases");
  assert_string_equal(kube_kind_api_version(k, buf, sizeof(buf)),
                      "coordination.k8s.io/v1");
}

static void test_kinds_resolve(void **state) {
  (void)state;
  static const struct {
    const char *in, *group, *resource;
  } cases[] = {
      {"po", "", "pods"},
      {"pods", "", "pods"},
      {"pod", "", "pods"},
      {"Pod", "", "pods"},
      {"svc", "", "services"},
      {"deploy", "apps", "deployments"},
      {"deployments.apps", "apps", "deployments"},
      {"deployment.v1.apps", "apps", "deployments"},
      {"rs", "apps", "replicasets"},
      {"rc", "", "replicationcontrollers"},
      {"no", "", "nodes"},
      {"ns", "", "namespaces"},
      {"ep", "", "endpoints"},
      {"ev", "", "events"},
      {"events.events.k8s.io", "events.k8s.io", "events"},
      {"cm", "", "configmaps"},
      {"sa", "", "serviceaccounts"},
      {"pvc", "", "persistentvolumeclaims"},
      {"pv", "", "persistentvolumes"},
      {"ds", "apps", "daemonsets"},
      {"sts", "apps", "statefulsets"},
      {"hpa", "autoscaling", "horizontalpodautoscalers"},
      {"cj", "batch", "cronjobs"},
      {"jobs.batch", "batch", "jobs"},
      {"limits", "", "limitranges"},
      {"quota", "", "resourcequotas"},
      {"leases.coordination.k8s.io", "coordination.k8s.io", "leases"},
      {"endpointslices", "discovery.k8s.io", "endpointslices"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    const kube_kind_t *k = kube_kind_resolve(cases[i].in);
    if (!k)
      fail_msg("%s did not resolve", cases[i].in);
    assert_string_equal(k->group, cases[i].group);
    assert_string_equal(k->resource, cases[i].resource);
  }
  /* autoscaling's preferred version is v2 */
  assert_string_equal(kube_kind_resolve("hpa")->version, "v2");
  assert_string_equal(
      kube_kind_resolve("horizontalpodautoscalers.v1.autoscaling")->version,
      "v1");
  assert_null(kube_kind_resolve("frobnicators"));
  assert_null(kube_kind_resolve("pods.apps"));
  assert_null(kube_kind_resolve(""));
}

static void test_kinds_columns(void **state) {
  (void)state;
  const kube_kind_t *k = kube_kind_by_resource("", "v1", "pods");
  static const char *const pod_cols[] = {
      "NAME", "READY", "STATUS",         "RESTARTS",       "AGE",
      "IP",   "NODE",  "NOMINATED NODE", "READINESS GATES"};
  size_t n = 0;
  for (; k->columns[n].name; n++) {
    assert_string_equal(k->columns[n].name, pod_cols[n]);
    assert_int_equal(k->columns[n].priority, n >= 5 ? 1 : 0);
  }
  assert_int_equal(n, ARRAY_SIZE(pod_cols));
  assert_string_equal(k->columns[0].format, "name");

  k = kube_kind_by_resource("apps", "v1", "deployments");
  static const char *const dep_cols[] = {"NAME",      "READY",   "UP-TO-DATE",
                                         "AVAILABLE", "AGE",     "CONTAINERS",
                                         "IMAGES",    "SELECTOR"};
  for (n = 0; k->columns[n].name; n++)
    assert_string_equal(k->columns[n].name, dep_cols[n]);
  assert_int_equal(n, ARRAY_SIZE(dep_cols));

  /* every kind has columns, starting with NAME except events */
  for (size_t i = 0; i < kube_kinds_count(); i++) {
    const kube_kind_t *kk = kube_kinds_at(i);
    assert_non_null(kk->columns);
    assert_non_null(kk->columns[0].name);
    assert_non_null(kk->verbs);
    if (!streq(kk->resource, "events"))
      assert_string_equal(kk->columns[0].name, "NAME");
  }
  assert_null(kube_kinds_at(kube_kinds_count()));
  assert_string_equal(kube_kind_generic_columns()[1].name, "AGE");
  /* every column has the API server's spelling too */
  for (size_t i = 0; i < kube_kinds_count(); i++) {
    const kube_kind_t *kk = kube_kinds_at(i);
    for (const kube_kind_column_t *c = kk->columns; c->name; c++) {
      const char *sn = kube_kind_column_server_name(c);
      assert_non_null(sn);
      assert_true(strcasecmp(sn, c->name) == 0);
      if (streq(sn, c->name) && !streq(c->name, "IP"))
        fail_msg("%s has no server spelling", c->name);
    }
  }
  k = kube_kind_by_resource("", "v1", "pods");
  assert_string_equal(kube_kind_column_server_name(&k->columns[7]),
                      "Nominated Node");
}

/* ---- JSON ---------------------------------------------------------------- */

static void test_json_roundtrip(void **state) {
  (void)state;
  kube_error_t err = KUBE_ERROR_INIT;
  const char *src =
      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\","
      "\"namespace\":\"default\",\"uid\":\"u-1\",\"resourceVersion\":\"7\","
      "\"labels\":{\"app\":\"web\"},\"annotations\":{\"a/b\":\"c\"}},"
      "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}";
  kube_object_t *o = kube_object_from_json(src, strlen(src), &err);
  assert_non_null(o);
  assert_string_equal(kube_object_api_version(o), "v1");
  assert_string_equal(kube_object_kind(o), "Pod");
  assert_string_equal(kube_object_name(o), "web");
  assert_string_equal(kube_object_namespace(o), "default");
  assert_string_equal(kube_object_uid(o), "u-1");
  assert_string_equal(kube_object_resource_version(o), "7");
  assert_string_equal(kube_object_label(o, "app"), "web");
  assert_null(kube_object_label(o, "nope"));
  assert_string_equal(kube_object_annotation(o, "a/b"), "c");
  assert_string_equal(kube_object_get_string(o, "spec.containers.0.image"),
                      "nginx");
  assert_null(kube_object_get_string(o, "spec.containers.1.image"));
  assert_null(kube_object_get_string(o, "spec.containers"));

  char *out = kube_object_to_json(o, KUBE_JSON_COMPACT);
  assert_string_equal(out, src);
  free(out);

  assert_int_equal(kube_object_set_string(o, "spec.nodeName", "n1", &err), 0);
  assert_int_equal(kube_object_set_string(o, "status.phase", "Running", &err),
                   0);
  assert_int_equal(
      kube_object_set_string(o, "spec.containers.0.image", "redis", &err), 0);
  assert_int_equal(kube_object_set_label(o, "tier", "fe", &err), 0);
  assert_string_equal(kube_object_get_string(o, "spec.nodeName"), "n1");
  assert_string_equal(kube_object_get_string(o, "status.phase"), "Running");
  assert_string_equal(kube_object_get_string(o, "spec.containers.0.image"),
                      "redis");
  assert_string_equal(kube_object_label(o, "tier"), "fe");
  assert_int_equal(kube_object_set_annotation(o, "x/y", "z", &err), 0);
  assert_string_equal(kube_object_annotation(o, "x/y"), "z");
  assert_int_equal(kube_object_set_annotation(o, "x/y", NULL, &err), 0);
  assert_null(kube_object_annotation(o, "x/y"));
  assert_int_equal(kube_object_set_label(o, "gone", "1", &err), 0);
  assert_int_equal(kube_object_set_label(o, "gone", NULL, &err), 0);
  assert_null(kube_object_label(o, "gone"));
  assert_int_equal(kube_object_set_string(o, "status.phase", NULL, &err), 0);
  assert_null(kube_object_get_string(o, "status.phase"));
  assert_int_equal(kube_object_set_string(o, "status.phase", "Running", &err),
                   0);
  assert_int_equal(
      kube_object_set_string(o, "spec.containers.0.image.x", "y", &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  assert_int_equal(
      kube_object_set_string(o, "spec.containers.5.image", "y", &err), -1);
  kube_error_clear(&err);

  kube_object_t *c = kube_object_copy(o);
  assert_int_equal(kube_object_set_label(c, "tier", "be", &err), 0);
  assert_string_equal(kube_object_label(o, "tier"), "fe");
  assert_string_equal(kube_object_label(c, "tier"), "be");
  kube_object_free(c);

  out = kube_object_to_json(o, KUBE_JSON_PRETTY);
  assert_non_null(strstr(out, "{\n    \"apiVersion\": \"v1\",\n"));
  assert_non_null(strstr(out, "        \"name\": \"web\""));
  kube_object_t *back = kube_object_from_json(out, strlen(out), &err);
  assert_non_null(back);
  assert_string_equal(kube_object_get_string(back, "spec.nodeName"), "n1");
  kube_object_free(back);
  free(out);
  kube_object_free(o);
}

static void expect_json_error(const char *src, const char *needle) {
  kube_error_t err = KUBE_ERROR_INIT;
  json_object *o = kube_json_parse(src, strlen(src), &err);
  assert_null(o);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  if (!strstr(err.message, needle))
    fail_msg("error \"%s\" lacks \"%s\"", err.message, needle);
  kube_error_clear(&err);
}

static void test_json_errors(void **state) {
  (void)state;
  expect_json_error("{\"a\":1} x", "offset 8");
  expect_json_error("{\"a\":1} x", "unexpected data after the top-level value");
  expect_json_error("{\"a\":\n  tru}", "line 2");
  expect_json_error("{\"a\":1", "unexpected end of JSON input");
  expect_json_error("", "empty document");
  expect_json_error("   \n ", "empty document");
  expect_json_error("{'a':1}", "offset 1");
  expect_json_error("{\"a\":1,}", "invalid JSON");
  expect_json_error("null", "null");
  expect_json_error("[1,2", "unexpected end");
  expect_json_error("{\"a\":\"x\ty\"}", "invalid character in string literal");
  expect_json_error("{\"a\":\"\xf6\x91\x9e\x98\"}", "not valid UTF-8");
  expect_json_error("{\"\xed\xa0\x80\":1}", "not valid UTF-8");
  expect_json_error("{\"a\":NaN}", "NaN");

  kube_error_t err = KUBE_ERROR_INIT;
  const char bin[] = "{\"a\":\"\0\"}";
  assert_null(kube_json_parse(bin, sizeof(bin) - 1, &err));
  assert_non_null(strstr(err.message, "NUL"));
  kube_error_clear(&err);

  json_object *ok = kube_json_parse(" {\"a\":[1,2.5,true,null]} \n", 26, &err);
  assert_non_null(ok);
  json_object_put(ok);

  /* not an object */
  assert_null(kube_object_from_json("[1]", 3, &err));
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);

  /* deep nesting within the limit parses */
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  for (int i = 0; i < 100; i++)
    kube_strbuf_append(&sb, "{\"a\":");
  kube_strbuf_append(&sb, "1");
  for (int i = 0; i < 100; i++)
    kube_strbuf_append(&sb, "}");
  ok = kube_json_parse(sb.data, sb.len, &err);
  assert_non_null(ok);
  json_object_put(ok);
  kube_strbuf_clear(&sb);
}

/* The one-pass reader builds what json-c builds (same text, same key
 * order, same repeated-key verdict) and leaves everything else to it. */
static void test_json_plain_reader(void **state) {
  (void)state;
  static const char *const same[] = {
      "{}",
      "[]",
      " {\"a\" : [ 1 , -2 , 0 , true , false , null , {} , [] ] }\r\n",
      "{\"s\":\"x\\u00e9\\u20ac\\u0041\\\"\\\\\\/\\b\\f\\n\\r\\t\",\"\xc3\xa9\":\"\xf0\x9f\x98\x80\"}",
      "{\"k\":1,\"j\":2,\"k\":{\"z\":[]}}",
      "{\"a\":{\"b\":1},\"c\":[{\"d\":1,\"d\":2}]}",
      "{\"n\":123456789012345678,\"m\":-123456789012345678}",
      "\"just a string\"",
      "42",
      "{\"a:b\":\"c:d\",\"e\":\"\\\":\"}",
  };
  for (size_t i = 0; i < ARRAY_SIZE(same); i++) {
    bool dp = false, dj = false;
    kube_error_t err = KUBE_ERROR_INIT;
    json_object *p = api_json_parse_plain(same[i], strlen(same[i]), &dp);
    json_object *j = api_json_parse_jsonc(same[i], strlen(same[i]), &dj, &err);
    if (!p || !j)
      fail_msg("input %zu: plain %p json-c %p (%s)", i, (void *)p, (void *)j,
               err.message ? err.message : "");
    size_t lp, lj;
    char *tp = api_json_encode(p, &lp), *tj = api_json_encode(j, &lj);
    assert_string_equal(tp, tj);
    assert_int_equal(json_object_get_type(p), json_object_get_type(j));
    assert_int_equal(dp, dj);
    free(tp);
    free(tj);
    json_object_put(p);
    json_object_put(j);
  }
  bool d = false;
  json_object *o = api_json_parse_plain("{\"k\":1,\"k\":2}", 13, &d);
  assert_true(d);
  assert_int_equal(json_object_get_int(json_object_object_get(o, "k")), 2);
  json_object_put(o);
  /* Declined: json-c decides (errors, doubles, big or odd integers,
   * surrogates, NUL, other whitespace, a bare null). */
  static const char *const declined[] = {
      "{\"a\":1.5}", "{\"a\":2e3}", "{\"a\":1234567890123456789}",
      "{\"a\":-0}", "{\"a\":01}", "{\"a\":\"\\ud83d\\ude00\"}",
      "{\"a\":\"\\u0000\"}", "{\"a\":1,}", "{'a':1}", "\v{}", "{} x", "null",
      "{\"a\":\"x\ty\"}", "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":NaN}", "[1,2",
      "{\"a\":tru}", "{\"a\":\"\\x\"}", "",
  };
  for (size_t i = 0; i < ARRAY_SIZE(declined); i++) {
    json_object *p = api_json_parse_plain(declined[i], strlen(declined[i]), &d);
    if (p)
      fail_msg("declined input %zu was read", i);
  }
  /* What is declined still parses as before. */
  kube_error_t err = KUBE_ERROR_INIT;
  const char *odd = "{\"a\":1.5,\"b\":\"\\ud83d\\ude00\"}";
  o = kube_json_parse(odd, strlen(odd), &err);
  assert_non_null(o);
  assert_true(json_object_is_type(json_object_object_get(o, "a"),
                                  json_type_double));
  assert_string_equal(json_object_get_string(json_object_object_get(o, "b")),
                      "\xf0\x9f\x98\x80");
  json_object_put(o);
}

/* ---- YAML ------------------------------------------------------------------
 */

static json_object *decode(const char *src, size_t expect_n) {
  kube_error_t err = KUBE_ERROR_INIT;
  json_object *arr = kube_json_decode_stream(src, strlen(src), &err);
  if (!arr)
    fail_msg("decode failed: %s", err.message);
  assert_int_equal(json_object_array_length(arr), expect_n);
  return arr;
}

static void test_yaml_multidoc(void **state) {
  (void)state;
  const char *src = "apiVersion: v1\n"
                    "kind: Pod\n"
                    "metadata:\n"
                    "  name: kubia\n"
                    "  labels: {app: kubia, tier: \"web\"}\n"
                    "spec:\n"
                    "  containers:\n"
                    "  - name: kubia\n"
                    "    image: kubia:latest\n"
                    "    ports:\n"
                    "    - containerPort: 8080\n"
                    "      protocol: TCP\n"
                    "---\n"
                    "---\n"
                    "# only a comment\n"
                    "---\n"
                    "apiVersion: v1\n"
                    "kind: Service\n"
                    "metadata: {name: kubia}\n"
                    "spec:\n"
                    "  ports: [{port: 80, targetPort: 8080}]\n"
                    "...\n";
  json_object *arr = decode(src, 2);
  json_object *pod = json_object_array_get_idx(arr, 0);
  assert_string_equal(kube_json_get_string(pod, "metadata.labels.tier"), "web");
  json_object *port =
      kube_json_get(pod, "spec.containers.0.ports.0.containerPort");
  assert_true(json_object_is_type(port, json_type_int));
  assert_int_equal(json_object_get_int(port), 8080);
  json_object *svc = json_object_array_get_idx(arr, 1);
  assert_int_equal(
      json_object_get_int(kube_json_get(svc, "spec.ports.0.targetPort")), 8080);
  json_object_put(arr);

  /* the public wrapper */
  kube_object_t **objs = NULL;
  size_t n = 0;
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_objects_decode(src, strlen(src), &objs, &n, &err), 0);
  assert_int_equal(n, 2);
  assert_string_equal(kube_object_kind(objs[1]), "Service");
  kube_object_array_free(objs, n);

  /* empty input: no objects */
  assert_int_equal(kube_objects_decode("", 0, &objs, &n, &err), 0);
  assert_int_equal(n, 0);
  kube_object_array_free(objs, n);
}

static void test_yaml_scalars(void **state) {
  (void)state;
  const char *src = "a: true\nb: \"true\"\nc: yes\nd: 'no'\ne: null\nf: ~\n"
                    "g: 12\nh: \"12\"\ni: 1.5\nj: 0x1F\nk: 0o17\nl: 017\n"
                    "m: 1_000\nn1: 1e3\no: 2.0\np: on\nq: hello world\n"
                    "r: -7\ns: 18446744073709551615\nt: !!str 5\nu: |\n"
                    "  line1\n  line2\nv: >-\n  folded\n  text\nw: 08\n"
                    "x: 3:25\ny1: .5\nz:\n";
  json_object *arr = decode(src, 1);
  json_object *o = json_object_array_get_idx(arr, 0);
  struct {
    const char *key;
    json_type type;
    const char *text;
  } want[] = {
      {"a", json_type_boolean, "true"},
      {"b", json_type_string, "true"},
      {"c", json_type_boolean, "true"},
      {"d", json_type_string, "no"},
      {"e", json_type_null, NULL},
      {"f", json_type_null, NULL},
      {"g", json_type_int, "12"},
      {"h", json_type_string, "12"},
      {"i", json_type_double, "1.5"},
      {"j", json_type_int, "31"},
      {"k", json_type_int, "15"},
      {"l", json_type_int, "15"},
      {"m", json_type_int, "1000"},
      {"n1", json_type_int, "1000"},
      {"o", json_type_int, "2"},
      {"p", json_type_boolean, "true"},
      {"q", json_type_string, "hello world"},
      {"r", json_type_int, "-7"},
      {"s", json_type_int, "18446744073709551615"},
      {"t", json_type_string, "5"},
      {"u", json_type_string, "line1\nline2\n"},
      {"v", json_type_string, "folded text"},
      {"w", json_type_int, "8"},
      {"x", json_type_string, "3:25"},
      {"y1", json_type_double, "0.5"},
      {"z", json_type_null, NULL},
  };
  for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
    json_object *v = NULL;
    assert_true(json_object_object_get_ex(o, want[i].key, &v));
    if (json_object_get_type(v) != want[i].type)
      fail_msg("%s: type %s", want[i].key,
               json_type_to_name(json_object_get_type(v)));
    if (want[i].text) {
      const char *t = json_object_is_type(v, json_type_string)
                          ? json_object_get_string(v)
                          : json_object_to_json_string(v);
      if (!streq(t, want[i].text))
        fail_msg("%s: \"%s\" != \"%s\"", want[i].key, t, want[i].text);
    }
  }
  json_object_put(arr);

  /* boolean and integer keys become their JSON text */
  arr = decode("on: 1\n5: x\n\"y\": 2\nn: 3\n", 1);
  o = json_object_array_get_idx(arr, 0);
  assert_non_null(kube_json_get(o, "true"));
  assert_non_null(kube_json_get(o, "false"));
  assert_non_null(kube_json_get(o, "5"));
  assert_non_null(kube_json_get(o, "y"));
  json_object_put(arr);
  /* scalar aliases as keys */
  arr = decode("a: &n 5\nb: &s str\nc: &z ~\n*n: 1\n*s: 2\n*z: 3\n", 1);
  o = json_object_array_get_idx(arr, 0);
  assert_int_equal(json_object_get_int(kube_json_get(o, "5")), 1);
  assert_int_equal(json_object_get_int(kube_json_get(o, "str")), 2);
  assert_int_equal(json_object_get_int(kube_json_get(o, "null")), 3);
  json_object_put(arr);
}

static void test_yaml_anchors_and_lists(void **state) {
  (void)state;
  const char *src =
      "kind: List\n"
      "apiVersion: v1\n"
      "items:\n"
      "- &base\n"
      "  apiVersion: v1\n"
      "  kind: ConfigMap\n"
      "  metadata: {name: one}\n"
      "  data: &d {k: v}\n"
      "- <<: *base\n"
      "  metadata: {name: two}\n"
      "  data: *d\n"
      "---\n"
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: three\n";
  json_object *arr = decode(src, 3);
  json_object *one = json_object_array_get_idx(arr, 0);
  json_object *two = json_object_array_get_idx(arr, 1);
  json_object *three = json_object_array_get_idx(arr, 2);
  assert_string_equal(kube_json_get_string(one, "metadata.name"), "one");
  assert_string_equal(kube_json_get_string(two, "metadata.name"), "two");
  assert_string_equal(kube_json_get_string(two, "kind"), "ConfigMap");
  assert_string_equal(kube_json_get_string(two, "data.k"), "v");
  assert_string_equal(kube_json_get_string(three, "metadata.name"), "three");
  /* aliases are copies, not shared nodes */
  assert_ptr_not_equal(kube_json_get(one, "data"), kube_json_get(two, "data"));
  json_object_put(arr);

  /* JSON stream and JSON List */
  arr =
      decode("{\"kind\":\"List\",\"items\":[{\"kind\":\"A\"},{\"kind\":\"B\"}]}"
             "\n{\"kind\":\"C\"}",
             3);
  assert_string_equal(
      kube_json_get_string(json_object_array_get_idx(arr, 2), "kind"), "C");
  json_object_put(arr);

  /* flow-style YAML that is not JSON still decodes */
  arr = decode("{kind: Pod, metadata: {name: x}}", 1);
  assert_string_equal(
      kube_json_get_string(json_object_array_get_idx(arr, 0), "metadata.name"),
      "x");
  json_object_put(arr);
}

static void expect_stream_error(const char *src, const char *needle) {
  kube_error_t err = KUBE_ERROR_INIT;
  json_object *arr = kube_json_decode_stream(src, strlen(src), &err);
  if (arr)
    fail_msg("decoding \"%s\" should fail", src);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  if (!strstr(err.message, needle))
    fail_msg("error \"%s\" lacks \"%s\"", err.message, needle);
  kube_error_clear(&err);
}

static void test_yaml_errors(void **state) {
  (void)state;
  expect_stream_error("a: b\n  c: d\n", "line 2");
  expect_stream_error("a: [1, 2\n", "yaml: line");
  expect_stream_error("a: *nope\n", "unknown anchor");
  expect_stream_error("- 1\n- 2\n", "expected an object");
  expect_stream_error("just a string\n", "expected an object");
  expect_stream_error("a: .nan\n", "unsupported value");
  expect_stream_error("? [a]\n: b\n", "complex mapping key");
  expect_stream_error("{\"a\": 1}\n{\"b\": }", "document 2");
  expect_stream_error("kind: List\nitems: [1]\n", "items[0]");
  /* billion laughs */
  const char *bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
                     "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                     "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                     "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                     "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                     "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                     "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n";
  expect_stream_error(bomb, "alias expansion limit");
  /* deep nesting */
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  for (int i = 0; i < 2000; i++)
    kube_strbuf_append(&sb, "[");
  kube_error_t err = KUBE_ERROR_INIT;
  json_object *arr = kube_json_decode_stream(sb.data, sb.len, &err);
  assert_null(arr);
  kube_error_clear(&err);
  kube_strbuf_clear(&sb);
}

static void test_yaml_output(void **state) {
  (void)state;
  json_object *o =
      tj("{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":"
         "\"kubia\","
         "\"creationTimestamp\":\"2026-11-27T05:26:16Z\",\"labels\":{\"run\":"
         "\"kubia\"},\"annotations\":{\"n\":\"123\",\"b\":\"true\",\"e\":\"\","
         "\"s\":\"a: b\",\"m\":\"x\\ny\\n\"}},\"spec\":{\"containers\":[{"
         "\"name\":\"kubia\",\"image\":\"kubia\",\"ports\":[{\"containerPort\":"
         "8080,\"protocol\":\"TCP\"}],\"resources\":{},\"args\":[]}],"
         "\"x10\":1,\"x9\":2,\"ratio\":0.25,\"flag\":false,\"nil\":null}}");
  char *y = kube_json_to_yaml(o);
  const char *want = "apiVersion: v1\n"
                     "kind: Pod\n"
                     "metadata:\n"
                     "  annotations:\n"
                     "    b: \"true\"\n"
                     "    e: \"\"\n"
                     "    m: |\n"
                     "      x\n"
                     "      y\n"
                     "    \"n\": \"123\"\n"
                     "    s: 'a: b'\n"
                     "  creationTimestamp: \"2026-11-27T05:26:16Z\"\n"
                     "  labels:\n"
                     "    run: kubia\n"
                     "  name: kubia\n"
                     "spec:\n"
                     "  containers:\n"
                     "  - args: []\n"
                     "    image: kubia\n"
                     "    name: kubia\n"
                     "    ports:\n"
                     "    - containerPort: 8080\n"
                     "      protocol: TCP\n"
                     "    resources: {}\n"
                     "  flag: false\n"
                     "  nil: null\n"
                     "  ratio: 0.25\n"
                     "  x9: 2\n"
                     "  x10: 1\n";
  assert_string_equal(y, want);
  /* and it reads back to the same tree */
  json_object *arr = decode(y, 1);
  json_object *back = json_object_array_get_idx(arr, 0);
  assert_true(json_object_equal(back, o));
  json_object_put(arr);
  free(y);

  kube_object_t *obj = kube_object_wrap(json_object_get(o));
  y = kube_object_to_yaml(obj);
  assert_non_null(y);
  assert_true(str_has_prefix(y, "apiVersion: v1\n"));
  free(y);
  kube_object_free(obj);
  json_object_put(o);
}

/* api_json_encode writes what json-c writes (PLAIN, NOSLASHESCAPE). */
static void expect_same_encoding(json_object *o) {
  size_t want_len = 0, len = 0;
  const char *want = json_object_to_json_string_length(
      o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &want_len);
  char *got = api_json_encode(o, &len);
  assert_non_null(got);
  assert_int_equal(len, want_len);
  assert_memory_equal(got, want, len);
  assert_int_equal(got[len], '\0');
  free(got);
}

static void test_json_encode(void **state) {
  (void)state;
  static const char *const docs[] = {
      "{}",
      "[]",
      "null",
      "{\"a\":null,\"b\":[null,true,false,[],{}],\"c\":\"\"}",
      "{\"s\":\"q\\\" b\\\\ / \\b\\f\\n\\r\\t \\u0001\\u001f \\u007f "
      "caf\\u00e9 \\u2603 \\ud83d\\ude00\"}",
      "{\"k\\\"ey\\n\":1,\"i\":[0,-1,9223372036854775807,"
      "-9223372036854775808,18446744073709551615,12345678901234567890]}",
      "{\"d\":[0.5,1.0,1e3,-2.50,3.14159265358979,1E-7,0.1]}",
      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\","
      "\"labels\":{\"app\":\"web/x\"}},\"spec\":{\"containers\":[{\"name\":"
      "\"c\",\"image\":\"r/i:1\",\"resources\":{\"limits\":{\"cpu\":\"1\"}}}]}}",
  };
  for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
    json_object *o = json_tokener_parse(docs[i]);
    if (strcmp(docs[i], "null") != 0)
      assert_non_null(o);
    expect_same_encoding(o);
    json_object_put(o);
  }
  /* Built in code rather than parsed: doubles without source text, a
   * string with an inner NUL, every byte value. */
  json_object *o = json_object_new_object();
  json_object_object_add(o, "d", json_object_new_double(0.1));
  json_object_object_add(o, "big", json_object_new_uint64(UINT64_MAX));
  json_object_object_add(o, "nul", json_object_new_string_len("a\0b", 3));
  char all[255];
  for (int c = 1; c < 256; c++)
    all[c - 1] = (char)c;
  json_object_object_add(o, "all", json_object_new_string_len(all, 255));
  expect_same_encoding(o);
  json_object_put(o);
  /* Each byte value at each place of a string longer than the encoder's
   * 8-byte steps, alone and beside a second one: the word-at-a-time scan
   * finds every byte json-c escapes wherever it sits. */
  for (int c = 0; c < 256; c++)
    for (size_t at = 0; at < 21; at++) {
      char s[21];
      memset(s, 'a', sizeof s);
      s[at] = (char)c;
      json_object *one = json_object_new_string_len(s, (int)sizeof s);
      expect_same_encoding(one);
      json_object_put(one);
      s[(at + 9) % sizeof s] = (char)(0x80 | c);
      s[(at + 3) % sizeof s] = '"';
      one = json_object_new_string_len(s, (int)(sizeof s - at % 5));
      expect_same_encoding(one);
      json_object_put(one);
    }
  /* Every object of the test manifests. */
  static const char *const files[] = {API_MANIFESTS_DIR "/core.yaml",
                                      API_MANIFESTS_DIR "/workloads.yaml"};
  for (size_t f = 0; f < ARRAY_SIZE(files); f++) {
    size_t len = 0;
    kube_error_t err = KUBE_ERROR_INIT;
    char *text = core_read_file(files[f], &len);
    assert_non_null(text);
    json_object *arr = kube_json_decode_stream(text, len, &err);
    assert_non_null(arr);
    assert_true(json_object_array_length(arr) > 0);
    expect_same_encoding(arr);
    json_object_put(arr);
    free(text);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kinds_lookup),
      cmocka_unit_test(test_kinds_resolve),
      cmocka_unit_test(test_kinds_columns),
      cmocka_unit_test(test_json_roundtrip),
      cmocka_unit_test(test_json_errors),
      cmocka_unit_test(test_json_encode),
      cmocka_unit_test(test_yaml_multidoc),
      cmocka_unit_test(test_yaml_scalars),
      cmocka_unit_test(test_json_plain_reader),
      cmocka_unit_test(test_yaml_anchors_and_lists),
      cmocka_unit_test(test_yaml_errors),
      cmocka_unit_test(test_yaml_output),
  };
  int failed = cmocka_run_group_tests_name("api-codec", tests, NULL, NULL);
  size_t n = 0;
  const struct CMUnitTest *t = table_tests(&n);
  failed += _cmocka_run_group_tests("api-table", t, n, NULL, NULL);
  t = validate_tests(&n);
  failed += _cmocka_run_group_tests("api-validate", t, n, NULL, NULL);
  t = view_tests(&n);
  failed += _cmocka_run_group_tests("api-views", t, n, NULL, NULL);
  t = schema_tests(&n);
  failed += _cmocka_run_group_tests("api-schema", t, n, NULL, NULL);
  t = convert_tests(&n);
  failed += _cmocka_run_group_tests("api-convert", t, n, NULL, NULL);
  return failed ? 1 : 0;
}
