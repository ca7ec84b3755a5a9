/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-patch: the apiserver's patch engines (RFC 7386 merge patch, RFC 6902
 * JSON patch, strategic merge patch), server-side apply and managed
 * fields, and the protobuf decoder.
 */
#include "test-patch.h"

const kube_kind_t test_kind_pod = {
    .group = "", .version = "v1", .kind = "Pod", .resource = "pods"};
const kube_kind_t test_kind_service = {
    .group = "", .version = "v1", .kind = "Service", .resource = "services"};
const kube_kind_t test_kind_deployment = {.group = "apps",
                                          .version = "v1",
                                          .kind = "Deployment",
                                          .resource = "deployments"};
const kube_kind_t test_kind_namespace = {.group = "",
                                         .version = "v1",
                                         .kind = "Namespace",
                                         .resource = "namespaces"};
const kube_kind_t test_kind_configmap = {.group = "",
                                         .version = "v1",
                                         .kind = "ConfigMap",
                                         .resource = "configmaps"};

json_object *tp_parse(const char *text) {
  enum json_tokener_error jerr;
  json_object *o = json_tokener_parse_verbose(text, &jerr);
  if (jerr != json_tokener_success)
    fail_msg("bad JSON in test: %s: %s", json_tokener_error_desc(jerr), text);
  return o;
}

void tp_assert_json(json_object *got, const char *want) {
  json_object *w = tp_parse(want);
  if (!as_patch_json_equal(got, w)) {
    print_error("got:  %s\nwant: %s\n",
                json_object_to_json_string_ext(got, JSON_C_TO_STRING_PLAIN),
                json_object_to_json_string_ext(w, JSON_C_TO_STRING_PLAIN));
    json_object_put(w);
    fail();
  }
  json_object_put(w);
}

typedef json_object *(*engine_fn)(json_object *, json_object *,
                                  const kube_kind_t *, kube_error_t *);

typedef struct patch_case {
  const char *name;
  const kube_kind_t *kind;
  const char *orig;
  const char *patch;
  const char *want; /* NULL: the patch must fail with `reason` */
  kube_reason_t reason;
} patch_case_t;

static json_object *merge_engine(json_object *o, json_object *p,
                                 const kube_kind_t *k, kube_error_t *err) {
  return kube_patch_merge(o, p, err);
}
static json_object *json_engine(json_object *o, json_object *p,
                                const kube_kind_t *k, kube_error_t *err) {
  return kube_patch_json(o, p, err);
}

static void run_cases(engine_fn fn, const patch_case_t *cases, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const patch_case_t *c = &cases[i];
    json_object *orig = tp_parse(c->orig), *patch = tp_parse(c->patch);
    json_object *orig_before = as_patch_json_copy(orig);
    json_object *patch_before = as_patch_json_copy(patch);
    kube_error_t err = KUBE_ERROR_INIT;
    json_object *got = fn(orig, patch, c->kind, &err);
    if (c->want) {
      if (!got)
        fail_msg("%s: unexpected error: %s", c->name, err.message);
      print_message("  %s\n", c->name);
      tp_assert_json(got, c->want);
    } else {
      if (got)
        fail_msg("%s: expected an error, got %s", c->name,
                 json_object_to_json_string(got));
      if (err.reason != c->reason)
        fail_msg("%s: reason %s, want %s (%s)", c->name,
                 kube_reason_string(err.reason), kube_reason_string(c->reason),
                 err.message);
    }
    /* The engines never modify their inputs. */
    assert_true(as_patch_json_equal(orig, orig_before));
    assert_true(as_patch_json_equal(patch, patch_before));
    json_object_put(got);
    json_object_put(orig);
    json_object_put(patch);
    json_object_put(orig_before);
    json_object_put(patch_before);
    kube_error_clear(&err);
  }
}

/* RFC 7386 appendix A (the cases whose patch is an object; Kubernetes
 * rejects non-object merge patches). */
static const patch_case_t merge_cases[] = {
    {"a1", NULL, "{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
    {"a2", NULL, "{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
    {"a3", NULL, "{\"a\":\"b\"}", "{\"a\":null}", "{}"},
    {"a4", NULL, "{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
    {"a5", NULL, "{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
    {"a6", NULL, "{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
    {"a7", NULL, "{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
     "{\"a\":{\"b\":\"d\"}}"},
    {"a8", NULL, "{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
    {"a13", NULL, "{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
    {"a14", NULL, "[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
    {"a15", NULL, "{}", "{\"a\":{\"bb\":{\"ccc\":null}}}",
     "{\"a\":{\"bb\":{}}}"},
    {"array patch", NULL, "{\"a\":\"b\"}", "[\"c\"]", NULL,
     KUBE_REASON_BAD_REQUEST},
    {"string patch", NULL, "{\"a\":\"foo\"}", "\"bar\"", NULL,
     KUBE_REASON_BAD_REQUEST},
    {"scale", NULL,
     "{\"spec\":{\"replicas\":1,\"template\":{\"x\":1}},\"status\":{}}",
     "{\"spec\":{\"replicas\":3}}",
     "{\"spec\":{\"replicas\":3,\"template\":{\"x\":1}},\"status\":{}}"},
};

static void test_merge_patch(void **state) {
  run_cases(merge_engine, merge_cases, ARRAY_SIZE(merge_cases));
  /* A null patch (JSON null parses to NULL) is not an object either. */
  kube_error_t err = KUBE_ERROR_INIT;
  json_object *o = tp_parse("{\"a\":1}");
  assert_null(kube_patch_merge(o, NULL, &err));
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  json_object *p = tp_parse("{\"b\":2}");
  json_object *got = kube_patch_merge(NULL, p, &err);
  tp_assert_json(got, "{\"b\":2}");
  json_object_put(got);
  json_object_put(p);
  json_object_put(o);
}

/* RFC 6902 appendix A, plus edge cases. */
static const patch_case_t json_cases[] = {
    {"A.1 add member", NULL, "{\"foo\":\"bar\"}",
     "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
     "{\"baz\":\"qux\",\"foo\":\"bar\"}"},
    {"A.2 add element", NULL, "{\"foo\":[\"bar\",\"baz\"]}",
     "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
     "{\"foo\":[\"bar\",\"qux\",\"baz\"]}"},
    {"A.3 remove member", NULL, "{\"baz\":\"qux\",\"foo\":\"bar\"}",
     "[{\"op\":\"remove\",\"path\":\"/baz\"}]", "{\"foo\":\"bar\"}"},
    {"A.4 remove element", NULL, "{\"foo\":[\"bar\",\"qux\",\"baz\"]}",
     "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]",
     "{\"foo\":[\"bar\",\"baz\"]}"},
    {"A.5 replace", NULL, "{\"baz\":\"qux\",\"foo\":\"bar\"}",
     "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
     "{\"baz\":\"boo\",\"foo\":\"bar\"}"},
    {"A.6 move value", NULL,
     "{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":"
     "\"grault\"}}",
     "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
     "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":"
     "\"fred\"}}"},
    {"A.7 move element", NULL, "{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
     "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
     "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}"},
    {"A.8 test success", NULL, "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
     "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},"
     "{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
     "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}"},
    {"A.9 test error", NULL, "{\"baz\":\"qux\"}",
     "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]", NULL,
     KUBE_REASON_INVALID},
    {"A.10 add nested", NULL, "{\"foo\":\"bar\"}",
     "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
     "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}"},
    {"A.11 unrecognized members", NULL, "{\"foo\":\"bar\"}",
     "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"xyz\":123}]",
     "{\"foo\":\"bar\",\"baz\":\"qux\"}"},
    {"A.12 add to nonexistent", NULL, "{\"foo\":\"bar\"}",
     "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]", NULL,
     KUBE_REASON_INVALID},
    {"A.14 ~ escapes", NULL, "{\"/\":9,\"~1\":10}",
     "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]",
     "{\"/\":9,\"~1\":10}"},
    {"A.15 string vs number", NULL, "{\"/\":9,\"~1\":10}",
     "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]", NULL,
     KUBE_REASON_INVALID},
    {"A.16 add array value", NULL, "{\"foo\":[\"bar\"]}",
     "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
     "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}"},
    {"~1 in member name", NULL, "{\"metadata\":{\"labels\":{}}}",
     "[{\"op\":\"add\",\"path\":\"/metadata/labels/app.kubernetes.io~1name\","
     "\"value\":\"x\"}]",
     "{\"metadata\":{\"labels\":{\"app.kubernetes.io/name\":\"x\"}}}"},
    {"copy", NULL, "{\"a\":{\"b\":[1]}}",
     "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/c\"},"
     "{\"op\":\"add\",\"path\":\"/c/b/0\",\"value\":0}]",
     "{\"a\":{\"b\":[1]},\"c\":{\"b\":[0,1]}}"},
    {"replace whole doc", NULL, "{\"a\":1}",
     "[{\"op\":\"replace\",\"path\":\"\",\"value\":{\"b\":2}}]", "{\"b\":2}"},
    {"add null value", NULL, "{}",
     "[{\"op\":\"add\",\"path\":\"/a\",\"value\":null}]", "{\"a\":null}"},
    {"test 1 == 1.0", NULL, "{\"a\":1}",
     "[{\"op\":\"test\",\"path\":\"/a\",\"value\":1.0}]", "{\"a\":1}"},
    {"replace missing", NULL, "{}",
     "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":1}]", NULL,
     KUBE_REASON_INVALID},
    {"remove missing", NULL, "{\"a\":[1]}",
     "[{\"op\":\"remove\",\"path\":\"/a/1\"}]", NULL, KUBE_REASON_INVALID},
    {"leading zero index", NULL, "{\"a\":[1,2]}",
     "[{\"op\":\"remove\",\"path\":\"/a/01\"}]", NULL, KUBE_REASON_INVALID},
    {"index past end", NULL, "{\"a\":[1]}",
     "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":3}]", NULL,
     KUBE_REASON_INVALID},
    {"move into child", NULL, "{\"a\":{\"b\":1}}",
     "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b/c\"}]", NULL,
     KUBE_REASON_INVALID},
    {"bad escape", NULL, "{}",
     "[{\"op\":\"add\",\"path\":\"/a~2\",\"value\":1}]", NULL,
     KUBE_REASON_BAD_REQUEST},
    {"no leading slash", NULL, "{}",
     "[{\"op\":\"add\",\"path\":\"a\",\"value\":1}]", NULL,
     KUBE_REASON_BAD_REQUEST},
    {"unknown op", NULL, "{}", "[{\"op\":\"frob\",\"path\":\"/a\"}]", NULL,
     KUBE_REASON_BAD_REQUEST},
    {"missing value", NULL, "{}", "[{\"op\":\"add\",\"path\":\"/a\"}]", NULL,
     KUBE_REASON_BAD_REQUEST},
    {"not an array", NULL, "{}", "{\"op\":\"add\"}", NULL,
     KUBE_REASON_BAD_REQUEST},
    {"op not an object", NULL, "{}", "[1]", NULL, KUBE_REASON_BAD_REQUEST},
    {"atomic: failing op leaves nothing", NULL, "{\"a\":1}",
     "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":2},"
     "{\"op\":\"test\",\"path\":\"/a\",\"value\":1}]",
     NULL, KUBE_REASON_INVALID},
};

static void test_json_patch(void **state) {
  run_cases(json_engine, json_cases, ARRAY_SIZE(json_cases));
}

#define POD(spec) "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"spec\":" spec "}"

/* Strategic merge patch, mirroring upstream strategicpatch tests. */
static const patch_case_t smp_cases[] = {
    {"containers merge by name", &test_kind_pod,
     POD("{\"containers\":[{\"name\":\"a\",\"image\":\"x\"},"
         "{\"name\":\"b\",\"image\":\"y\"}]}"),
     "{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"z\"}]}}",
     POD("{\"containers\":[{\"name\":\"a\",\"image\":\"x\"},"
         "{\"name\":\"b\",\"image\":\"z\"}]}")},
    /* Without $setElementOrder new items go first (as upstream). */
    {"new container first", &test_kind_pod,
     POD("{\"containers\":[{\"name\":\"a\",\"image\":\"x\"}]}"),
     "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"w\"}]}}",
     POD("{\"containers\":[{\"name\":\"c\",\"image\":\"w\"},"
         "{\"name\":\"a\",\"image\":\"x\"}]}")},
    {"$setElementOrder", &test_kind_pod,
     POD("{\"containers\":[{\"name\":\"a\",\"image\":\"x\"},"
         "{\"name\":\"b\",\"image\":\"y\"}]}"),
     "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"b\"},"
     "{\"name\":\"c\"},{\"name\":\"a\"}],"
     "\"containers\":[{\"name\":\"c\",\"image\":\"w\"}]}}",
     POD("{\"containers\":[{\"name\":\"b\",\"image\":\"y\"},"
         "{\"name\":\"c\",\"image\":\"w\"},{\"name\":\"a\",\"image\":\"x\"}"
         "]}")},
    {"$setElementOrder keeps server-only items in place", &test_kind_pod,
     POD("{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"},"
         "{\"name\":\"c\"}]}"),
     "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"c\"},"
     "{\"name\":\"a\"}]}}",
     POD("{\"containers\":[{\"name\":\"b\"},{\"name\":\"c\"},"
         "{\"name\":\"a\"}]}")},
    {"$patch delete list item", &test_kind_pod,
     POD("{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}"),
     "{\"spec\":{\"containers\":[{\"name\":\"a\",\"$patch\":\"delete\"}]}}",
     POD("{\"containers\":[{\"name\":\"b\"}]}")},
    {"$patch replace list", &test_kind_pod,
     POD("{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}"),
     "{\"spec\":{\"containers\":[{\"name\":\"z\",\"image\":\"q\"},"
     "{\"$patch\":\"replace\"}]}}",
     POD("{\"containers\":[{\"name\":\"z\",\"image\":\"q\"}]}")},
    {"$patch replace map", &test_kind_pod,
     POD("{\"restartPolicy\":\"Always\",\"containers\":[{\"name\":\"a\"}]}"),
     "{\"spec\":{\"$patch\":\"replace\",\"containers\":[{\"name\":\"b\"}]}}",
     POD("{\"containers\":[{\"name\":\"b\"}]}")},
    {"$patch delete map", &test_kind_pod,
     "{\"metadata\":{\"name\":\"p\",\"labels\":{\"a\":\"b\"}}}",
     "{\"metadata\":{\"labels\":{\"$patch\":\"delete\"}}}",
     "{\"metadata\":{\"name\":\"p\"}}"},
    {"null deletes", &test_kind_pod,
     "{\"metadata\":{\"labels\":{\"a\":\"b\",\"c\":\"d\"}},\"spec\":{"
     "\"nodeName\":\"n\"}}",
     "{\"metadata\":{\"labels\":{\"a\":null}},\"spec\":{\"nodeName\":null,"
     "\"new\":{\"x\":null,\"y\":1}}}",
     "{\"metadata\":{\"labels\":{\"c\":\"d\"}},\"spec\":{\"new\":{\"y\":1}}}"},
    {"env, ports, volumeMounts by key", &test_kind_pod,
     POD("{\"containers\":[{\"name\":\"a\",\"env\":[{\"name\":\"A\","
         "\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"}],\"ports\":["
         "{\"containerPort\":80,\"name\":\"http\"}],\"volumeMounts\":["
         "{\"mountPath\":\"/d\",\"name\":\"v\"}]}]}"),
     "{\"spec\":{\"containers\":[{\"name\":\"a\",\"env\":[{\"name\":\"B\","
     "\"value\":\"3\"}],\"ports\":[{\"containerPort\":80,\"protocol\":"
     "\"TCP\"}],\"volumeMounts\":[{\"mountPath\":\"/d\",\"readOnly\":true}"
     "]}]}}",
     POD("{\"containers\":[{\"name\":\"a\",\"env\":[{\"name\":\"A\","
         "\"value\":\"1\"},{\"name\":\"B\",\"value\":\"3\"}],\"ports\":["
         "{\"containerPort\":80,\"name\":\"http\",\"protocol\":\"TCP\"}],"
         "\"volumeMounts\":[{\"mountPath\":\"/d\",\"name\":\"v\","
         "\"readOnly\":true}]}]}")},
    {"volumes $retainKeys", &test_kind_pod,
     POD("{\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}},{\"name\":\"w\","
         "\"emptyDir\":{}}]}"),
     "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"$retainKeys\":[\"name\","
     "\"hostPath\"],\"hostPath\":{\"path\":\"/x\"}}]}}",
     POD("{\"volumes\":[{\"name\":\"v\",\"hostPath\":{\"path\":\"/x\"}},"
         "{\"name\":\"w\",\"emptyDir\":{}}]}")},
    {"deployment strategy $retainKeys", &test_kind_deployment,
     "{\"spec\":{\"replicas\":1,\"strategy\":{\"type\":\"RollingUpdate\","
     "\"rollingUpdate\":{\"maxSurge\":1}}}}",
     "{\"spec\":{\"strategy\":{\"$retainKeys\":[\"type\"],\"type\":"
     "\"Recreate\"}}}",
     "{\"spec\":{\"replicas\":1,\"strategy\":{\"type\":\"Recreate\"}}}"},
    {"$retainKeys must list patched keys", &test_kind_deployment,
     "{\"spec\":{\"strategy\":{\"type\":\"RollingUpdate\"}}}",
     "{\"spec\":{\"strategy\":{\"$retainKeys\":[\"type\"],\"x\":1}}}", NULL,
     KUBE_REASON_BAD_REQUEST},
    {"deployment template containers", &test_kind_deployment,
     "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"n\","
     "\"image\":\"nginx:1\"},{\"name\":\"s\",\"image\":\"side\"}]}}}}",
     "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"n\","
     "\"image\":\"nginx:2\"}]}}}}",
     "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"n\","
     "\"image\":\"nginx:2\"},{\"name\":\"s\",\"image\":\"side\"}]}}}}"},
    {"finalizers set merge", &test_kind_namespace,
     "{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
     "{\"metadata\":{\"finalizers\":[\"c\",\"a\"]}}",
     "{\"metadata\":{\"finalizers\":[\"c\",\"a\",\"b\"]}}"},
    {"$deleteFromPrimitiveList", &test_kind_namespace,
     "{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}",
     "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"b\"]}}",
     "{\"metadata\":{\"finalizers\":[\"a\",\"c\"]}}"},
    {"$setElementOrder primitive", &test_kind_namespace,
     "{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
     "{\"metadata\":{\"$setElementOrder/finalizers\":[\"a\",\"b\",\"c\"],"
     "\"finalizers\":[\"c\"]}}",
     "{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}"},
    {"ownerReferences by uid", &test_kind_configmap,
     "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"name\":\"a\"},"
     "{\"uid\":\"2\",\"name\":\"b\"}]}}",
     "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"2\",\"name\":\"c\"}]}}",
     "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"1\",\"name\":\"a\"},"
     "{\"uid\":\"2\",\"name\":\"c\"}]}}"},
    {"service ports by port", &test_kind_service,
     "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080},{\"port\":443,"
     "\"targetPort\":8443}]}}",
     "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":9090}]}}",
     "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":9090},{\"port\":443,"
     "\"targetPort\":8443}]}}"},
    {"tolerations replaced", &test_kind_pod,
     POD("{\"tolerations\":[{\"key\":\"a\"}]}"),
     "{\"spec\":{\"tolerations\":[{\"key\":\"b\"}]}}",
     POD("{\"tolerations\":[{\"key\":\"b\"}]}")},
    {"conditions by type", &test_kind_pod,
     "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"},"
     "{\"type\":\"Initialized\",\"status\":\"True\"}]}}",
     "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]"
     "}}",
     "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"},"
     "{\"type\":\"Initialized\",\"status\":\"True\"}]}}"},
    {"no kind: lists replaced", NULL,
     "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}}",
     "{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"z\"}]}}",
     "{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"z\"}]}}"},
    {"new list gets directives stripped", &test_kind_pod, POD("{}"),
     "{\"spec\":{\"containers\":[{\"name\":\"a\",\"env\":[{\"name\":\"X\","
     "\"value\":null}]},{\"$patch\":\"replace\"}]}}",
     POD("{\"containers\":[{\"name\":\"a\",\"env\":[{\"name\":\"X\"}]}]}")},
    {"missing merge key", &test_kind_pod,
     POD("{\"containers\":[{\"name\":\"a\"}]}"),
     "{\"spec\":{\"containers\":[{\"image\":\"x\"}]}}", NULL,
     KUBE_REASON_BAD_REQUEST},
    {"delete without merge key", &test_kind_pod,
     POD("{\"containers\":[{\"name\":\"a\"}]}"),
     "{\"spec\":{\"containers\":[{\"$patch\":\"delete\"}]}}", NULL,
     KUBE_REASON_BAD_REQUEST},
    {"unknown directive", &test_kind_pod, POD("{}"),
     "{\"spec\":{\"$patch\":\"explode\"}}", NULL, KUBE_REASON_BAD_REQUEST},
    {"non-object patch", &test_kind_pod, POD("{}"), "[1]", NULL,
     KUBE_REASON_BAD_REQUEST},
    {"type change replaces", &test_kind_pod, "{\"spec\":{\"x\":[1,2]}}",
     "{\"spec\":{\"x\":{\"a\":1}}}", "{\"spec\":{\"x\":{\"a\":1}}}"},
};

static void test_strategic_patch(void **state) {
  run_cases(kube_patch_strategic, smp_cases, ARRAY_SIZE(smp_cases));
}

/* kubectl apply's second run: a three-way patch with $setElementOrder and
 * the last-applied annotation. */
static void test_strategic_kubectl_apply(void **state) {
  json_object *live = tp_parse(
      "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{"
      "\"name\":\"d\",\"annotations\":{\"kubectl.kubernetes.io/"
      "last-applied-configuration\":\"old\"}},\"spec\":{\"replicas\":1,"
      "\"template\":{\"metadata\":{\"labels\":{\"app\":\"d\"}},\"spec\":{"
      "\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1\",\"env\":[{"
      "\"name\":\"A\",\"value\":\"1\"}]}]}}}}");
  json_object *patch = tp_parse(
      "{\"metadata\":{\"annotations\":{\"kubectl.kubernetes.io/"
      "last-applied-configuration\":\"new\"}},\"spec\":{\"replicas\":2,"
      "\"template\":{\"spec\":{\"$setElementOrder/containers\":[{\"name\":"
      "\"web\"},{\"name\":\"log\"}],\"containers\":[{\"$setElementOrder/env\""
      ":[{\"name\":\"B\"}],\"env\":[{\"name\":\"B\",\"value\":\"2\"},{"
      "\"$patch\":\"delete\",\"name\":\"A\"}],\"image\":\"nginx:2\",\"name\":"
      "\"web\"},{\"image\":\"busybox\",\"name\":\"log\"}]}}}}");
  kube_error_t err = KUBE_ERROR_INIT;
  json_object *got =
      kube_patch_strategic(live, patch, &test_kind_deployment, &err);
  assert_non_null(got);
  tp_assert_json(
      got, "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{"
           "\"name\":\"d\",\"annotations\":{\"kubectl.kubernetes.io/"
           "last-applied-configuration\":\"new\"}},\"spec\":{\"replicas\":2,"
           "\"template\":{\"metadata\":{\"labels\":{\"app\":\"d\"}},\"spec\":{"
           "\"containers\":[{\"name\":\"web\",\"image\":\"nginx:2\",\"env\":[{"
           "\"name\":\"B\",\"value\":\"2\"}]},{\"image\":\"busybox\",\"name\":"
           "\"log\"}]}}}}");
  json_object_put(got);
  json_object_put(live);
  json_object_put(patch);
}

static const struct CMUnitTest engine_tests[] = {
    cmocka_unit_test(test_merge_patch),
    cmocka_unit_test(test_json_patch),
    cmocka_unit_test(test_strategic_patch),
    cmocka_unit_test(test_strategic_kubectl_apply),
};

const struct CMUnitTest *test_patch_engine_tests(size_t *n) {
  *n = ARRAY_SIZE(engine_tests);
  return engine_tests;
}

int main(void) {
  static const struct {
    const char *name;
    const struct CMUnitTest *(*tests)(size_t *n);
  } groups[] = {
      {"patch-engines", test_patch_engine_tests},
      {"apply", test_apply_tests},
      {"protobuf", test_protobuf_tests},
  };
  int failed = 0;
  for (size_t i = 0; i < ARRAY_SIZE(groups); i++) {
    size_t n;
    const struct CMUnitTest *t = groups[i].tests(&n);
    failed += _cmocka_run_group_tests(groups[i].name, t, n, NULL, NULL);
  }
  return failed;
}
