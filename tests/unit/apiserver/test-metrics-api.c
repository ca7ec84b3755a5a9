/* SPDX-License-Identifier: Apache-2.0 */
/* metrics.k8s.io/v1beta1 of the API server from node Summary API
 * documents (kube_apiserver_add_metrics_source): the discovery group,
 * NodeMetrics and PodMetrics lists and gets with the objects' labels,
 * label selectors, namespaces, the quantities (nanocores, working set in
 * binary units), and what metrics-server leaves out (a container without
 * a CPU rate leaves its pod out, objects the store does not hold, a
 * source without a summary yet). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include <libkube/apiserver.h>

#include "api/api-private.h"
#include "core/util.h"

static const char summary[] =
    "{\"node\":{\"nodeName\":\"n1\",\"startTime\":\"2026-01-01T00:00:00Z\","
    "\"cpu\":{\"time\":\"2026-01-01T00:01:00Z\",\"usageNanoCores\":"
    "1500000000,\"usageCoreNanoSeconds\":9},\"memory\":{\"time\":"
    "\"2026-01-01T00:01:00Z\",\"workingSetBytes\":1073741824,"
    "\"usageBytes\":2147483648}},"
    "\"pods\":["
    "{\"podRef\":{\"name\":\"web\",\"namespace\":\"default\",\"uid\":\"u1\"},"
    "\"containers\":[{\"name\":\"c1\",\"cpu\":{\"time\":"
    "\"2026-01-01T00:01:00Z\",\"usageNanoCores\":250000000},\"memory\":{"
    "\"workingSetBytes\":10485760}},{\"name\":\"c2\",\"cpu\":{"
    "\"usageNanoCores\":1234},\"memory\":{\"workingSetBytes\":1000}}]},"
    "{\"podRef\":{\"name\":\"db\",\"namespace\":\"default\",\"uid\":\"u2\"},"
    "\"containers\":[{\"name\":\"c\",\"cpu\":{\"usageNanoCores\":1},"
    "\"memory\":{\"workingSetBytes\":4096}}]},"
    "{\"podRef\":{\"name\":\"new\",\"namespace\":\"default\",\"uid\":\"u3\"},"
    "\"containers\":[{\"name\":\"c\",\"cpu\":{\"usageCoreNanoSeconds\":5},"
    "\"memory\":{\"workingSetBytes\":4096}}]},"
    "{\"podRef\":{\"name\":\"gone\",\"namespace\":\"default\",\"uid\":\"u4\"},"
    "\"containers\":[{\"name\":\"c\",\"cpu\":{\"usageNanoCores\":1},"
    "\"memory\":{\"workingSetBytes\":4096}}]},"
    "{\"podRef\":{\"name\":\"sys\",\"namespace\":\"kube-system\",\"uid\":"
    "\"u5\"},\"containers\":[{\"name\":\"c\",\"cpu\":{\"usageNanoCores\":"
    "2000000},\"memory\":{\"workingSetBytes\":4096}}]}]}";

static int source(void *arg, char **out, kube_error_t *err) {
  int *calls = arg;
  (*calls)++;
  *out = strdup(summary);
  return 0;
}

static int empty_source(void *arg, char **out, kube_error_t *err) {
  return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                        "no stats sampled on node n2 yet");
}

struct result {
  int status;
  kube_strbuf_t body;
  bool done;
};

static void cb(int status, const char *ctype, const char *data, size_t len,
               bool done, void *arg) {
  struct result *res = arg;
  res->status = status;
  kube_strbuf_append_len(&res->body, data, len);
  res->done = done;
}

struct fx {
  kube_loop_t *loop;
  kube_store_t *store;
  kube_apiserver_t *srv;
};

static const char *accept_hdr;

static json_object *call(struct fx *f, const char *method, const char *path,
                         const char *body, int *status) {
  struct result res = {0};
  kube_apiserver_request_t rq = {.struct_size = sizeof rq,
                                 .method = method,
                                 .path = path,
                                 .body = body,
                                 .body_len = body ? strlen(body) : 0,
                                 .accept = accept_hdr};
  assert_non_null(kube_apiserver_request(f->srv, &rq, cb, &res, NULL));
  for (int i = 0; i < 300 && !res.done; i++)
    kube_loop_iterate(f->loop, 10);
  assert_true(res.done);
  *status = res.status;
  json_object *o = json_tokener_parse(res.body.data ? res.body.data : "");
  if (!o)
    fprintf(stderr, "%s %s: %d %s\n", method, path, res.status,
            res.body.data ? res.body.data : "");
  kube_strbuf_clear(&res.body);
  return o;
}

static const char *str(json_object *o, const char *path) {
  return kube_json_get_string(o, path);
}

static void test_metrics_api(void **state) {
  struct fx f;
  kube_error_t err = KUBE_ERROR_INIT;
  f.loop = kube_loop_new(&err);
  kube_store_options_t so = {.struct_size = sizeof so, .backend = "memory"};
  f.store = kube_store_open(f.loop, &so, &err);
  kube_apiserver_options_t ao = {.struct_size = sizeof ao, .token = "t"};
  f.srv = kube_apiserver_new(f.loop, f.store, &ao, &err);
  assert_non_null(f.srv);
  for (int i = 0; i < 300 && !kube_apiserver_ready(f.srv); i++)
    kube_loop_iterate(f.loop, 10);
  int calls = 0, st;
  assert_int_equal(
      kube_apiserver_add_metrics_source(f.srv, "n1", source, &calls, &err), 0);
  assert_int_equal(
      kube_apiserver_add_metrics_source(f.srv, "n2", empty_source, NULL, &err),
      0);
  assert_int_equal(
      kube_apiserver_add_metrics_source(f.srv, "", source, NULL, NULL), -1);
  json_object *o;
  o = call(&f, "POST", "/api/v1/nodes",
           "{\"metadata\":{\"name\":\"n1\","
           "\"labels\":{\"zone\":\"a\"}}}",
           &st);
  assert_int_equal(st, 201);
  json_object_put(o);
  const char *nss[] = {"default", "kube-system"};
  for (size_t i = 0; i < 2; i++) {
    char body[128];
    snprintf(body, sizeof body, "{\"metadata\":{\"name\":\"%s\"}}", nss[i]);
    o = call(&f, "POST", "/api/v1/namespaces", body, &st);
    assert_true(st == 201 || st == 409);
    json_object_put(o);
  }
  const char *pods[][2] = {{"default", "web"},
                           {"default", "db"},
                           {"default", "new"},
                           {"kube-system", "sys"}};
  for (size_t i = 0; i < 4; i++) {
    char path[128], body[512];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", pods[i][0]);
    snprintf(body, sizeof body,
             "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"app\":\"%s\"}},"
             "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}",
             pods[i][1], pods[i][1]);
    o = call(&f, "POST", path, body, &st);
    assert_int_equal(st, 201);
    json_object_put(o);
  }

  /* discovery */
  o = call(&f, "GET", "/apis/metrics.k8s.io/v1beta1", NULL, &st);
  assert_int_equal(st, 200);
  assert_string_equal(str(o, "groupVersion"), "metrics.k8s.io/v1beta1");
  json_object_put(o);

  /* nodes: usage in canonical quantities; n2 has no summary yet */
  o = call(&f, "GET", "/apis/metrics.k8s.io/v1beta1/nodes", NULL, &st);
  assert_int_equal(st, 200);
  assert_string_equal(str(o, "kind"), "NodeMetricsList");
  json_object *items = kube_json_get(o, "items");
  assert_int_equal(json_object_array_length(items), 1);
  json_object *n = json_object_array_get_idx(items, 0);
  assert_string_equal(str(n, "metadata.name"), "n1");
  assert_string_equal(str(n, "metadata.labels.zone"), "a");
  assert_string_equal(str(n, "usage.cpu"), "1500m");
  assert_string_equal(str(n, "usage.memory"), "1Gi");
  assert_string_equal(str(n, "timestamp"), "2026-01-01T00:01:00Z");
  assert_string_equal(str(n, "window"), "10s");
  json_object_put(o);
  o = call(&f, "GET",
           "/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=zone%3Db", NULL,
           &st);
  assert_int_equal(json_object_array_length(kube_json_get(o, "items")), 0);
  json_object_put(o);
  o = call(&f, "GET", "/apis/metrics.k8s.io/v1beta1/nodes/n9", NULL, &st);
  assert_int_equal(st, 404);
  assert_string_equal(str(o, "message"),
                      "nodemetrics.metrics.k8s.io \"n9\" not found");
  json_object_put(o);

  /* pods of default: "new" (no CPU rate) and "gone" (not stored) left out */
  o = call(&f, "GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods",
           NULL, &st);
  assert_int_equal(st, 200);
  assert_string_equal(str(o, "kind"), "PodMetricsList");
  items = kube_json_get(o, "items");
  assert_int_equal(json_object_array_length(items), 2);
  json_object *web = json_object_array_get_idx(items, 0);
  assert_string_equal(str(web, "metadata.name"), "web");
  assert_string_equal(str(web, "metadata.namespace"), "default");
  assert_string_equal(str(web, "metadata.labels.app"), "web");
  json_object *c = kube_json_get(web, "containers");
  assert_int_equal(json_object_array_length(c), 2);
  assert_string_equal(str(json_object_array_get_idx(c, 0), "usage.cpu"),
                      "250m");
  assert_string_equal(str(json_object_array_get_idx(c, 0), "usage.memory"),
                      "10Mi");
  assert_string_equal(str(json_object_array_get_idx(c, 1), "usage.cpu"),
                      "1234n");
  assert_string_equal(str(json_object_array_get_idx(c, 1), "usage.memory"),
                      "1k");
  json_object_put(o);
  /* all namespaces, a label selector, a get, a missing pod */
  o = call(&f, "GET", "/apis/metrics.k8s.io/v1beta1/pods", NULL, &st);
  assert_int_equal(json_object_array_length(kube_json_get(o, "items")), 3);
  json_object_put(o);
  o = call(
      &f, "GET",
      "/apis/metrics.k8s.io/v1beta1/pods?labelSelector=app%20in%20(db%2Csys)",
      NULL, &st);
  assert_int_equal(json_object_array_length(kube_json_get(o, "items")), 2);
  json_object_put(o);
  o = call(&f, "GET",
           "/apis/metrics.k8s.io/v1beta1/namespaces/kube-system/pods/sys", NULL,
           &st);
  assert_int_equal(st, 200);
  assert_string_equal(str(o, "kind"), "PodMetrics");
  assert_string_equal(str(o, "containers.0.usage.cpu"), "2m");
  json_object_put(o);
  o = call(&f, "GET",
           "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/new", NULL,
           &st);
  assert_int_equal(st, 404);
  assert_string_equal(str(o, "message"),
                      "podmetrics.metrics.k8s.io \"default/new\" not found");
  json_object_put(o);
  /* kubectl get podmetrics: metrics-server's Table */
  accept_hdr = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
  o = call(&f, "GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods",
           NULL, &st);
  accept_hdr = NULL;
  assert_int_equal(st, 200);
  assert_string_equal(str(o, "kind"), "Table");
  assert_string_equal(str(o, "columnDefinitions.0.name"), "Name");
  assert_string_equal(str(o, "columnDefinitions.1.name"), "cpu");
  assert_string_equal(str(o, "columnDefinitions.3.name"), "Window");
  assert_int_equal(json_object_array_length(kube_json_get(o, "rows")), 2);
  assert_string_equal(str(o, "rows.0.cells.0"), "web");
  assert_string_equal(str(o, "rows.0.cells.1"), "250001234n");
  assert_string_equal(str(o, "rows.0.cells.3"), "10s");
  assert_string_equal(str(o, "rows.0.object.metadata.namespace"), "default");
  json_object_put(o);
  /* bad input */
  o = call(&f, "GET",
           "/apis/metrics.k8s.io/v1beta1/pods?labelSelector=a%3D%3D%3D", NULL,
           &st);
  assert_int_equal(st, 400);
  json_object_put(o);
  o = call(&f, "DELETE", "/apis/metrics.k8s.io/v1beta1/nodes/n1", NULL, &st);
  assert_int_equal(st, 405);
  json_object_put(o);
  o = call(&f, "GET", "/apis/metrics.k8s.io/v1beta1/services", NULL, &st);
  assert_int_equal(st, 404);
  json_object_put(o);
  assert_true(calls > 0);

  kube_apiserver_remove_metrics_source(f.srv, "n1");
  o = call(&f, "GET", "/apis/metrics.k8s.io/v1beta1/nodes", NULL, &st);
  assert_int_equal(json_object_array_length(kube_json_get(o, "items")), 0);
  json_object_put(o);

  kube_apiserver_free(f.srv);
  for (int i = 0; i < 3; i++)
    kube_loop_iterate(f.loop, 0);
  kube_store_close(f.store);
  kube_loop_free(f.loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_metrics_api)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
