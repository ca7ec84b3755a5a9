/* SPDX-License-Identifier: Apache-2.0 */
/* The Endpoints and EndpointSlice controllers: ready and not-ready
 * addresses, named ports, terminating pods, publishNotReadyAddresses,
 * headless services, 100 endpoints per slice, the placeholder slice, a
 * deleted Service. */
#include "test-controller.h"

static void add_svc(struct h *h, const char *name, const char *spec_extra) {
  h_add(h,
        "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"
        "\"%s\",\"namespace\":\"default\",\"uid\":\"uid-%s\",\"labels\":{"
        "\"team\":\"a\"}},\"spec\":{\"selector\":{\"app\":\"web\"}%s}}",
        name, name, spec_extra ? spec_extra : "");
}

/* A pod with label app=web; metrics: a container port named "metrics". */
static void add_pod(struct h *h, const char *name, const char *ip, bool ready,
                    bool metrics, bool terminating) {
  char ipj[64] = "";
  if (ip)
    snprintf(ipj, sizeof ipj, "\"podIP\":\"%s\",", ip);
  h_add(h,
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
        "\"namespace\":\"default\",\"labels\":{\"app\":\"web\"}%s},\"spec\":{"
        "\"nodeName\":\"n1\",\"containers\":[{\"name\":\"c\",\"image\":\"x\","
        "\"ports\":[{\"containerPort\":8080,\"protocol\":\"TCP\"}%s]}]},"
        "\"status\":{\"phase\":\"Running\",%s\"conditions\":[{\"type\":"
        "\"Ready\",\"status\":\"%s\"}]}}",
        name,
        terminating ? ",\"deletionTimestamp\":\"2026-01-01T00:00:00Z\"" : "",
        metrics ? ",{\"name\":\"metrics\",\"containerPort\":9090,"
                  "\"protocol\":\"TCP\"}"
                : "",
        ipj, ready ? "True" : "False");
}

static const char *PORTS =
    ",\"clusterIP\":\"10.96.0.10\",\"ports\":[{\"name\":\"http\",\"port\":80,"
    "\"protocol\":\"TCP\",\"targetPort\":8080},{\"name\":\"m\",\"port\":81,"
    "\"protocol\":\"TCP\",\"targetPort\":\"metrics\"}]";

static void test_endpoints(void **state) {
  struct h h;
  h_init(&h);
  add_svc(&h, "web", PORTS);
  add_pod(&h, "ready", "10.0.0.1", true, true, false);
  add_pod(&h, "notready", "10.0.0.2", false, false, false);
  add_pod(&h, "terminating", "10.0.0.3", true, true, true);
  add_pod(&h, "noip", NULL, true, true, false);
  h_start(&h, "endpoint");
  h_settle(&h);
  json_object *ep = h_get(&h, "v1", "Endpoints", "default", "web");
  assert_non_null(ep);
  assert_string_equal(kube_json_get_string(ep, "metadata.labels.team"), "a");
  json_object *ss = kube_json_get(ep, "subsets");
  assert_int_equal(json_object_array_length(ss), 2);
  /* 8080: ready + not ready; 9090 (named): only the pod that names it. */
  bool saw_http = false, saw_named = false;
  for (size_t i = 0; i < 2; i++) {
    json_object *s = json_object_array_get_idx(ss, i);
    const char *pn = kube_json_get_string(s, "ports.0.name");
    if (streq(pn, "http")) {
      saw_http = true;
      assert_int_equal(json_object_get_int64(kube_json_get(s, "ports.0.port")),
                       8080);
      assert_string_equal(kube_json_get_string(s, "addresses.0.ip"),
                          "10.0.0.1");
      assert_string_equal(kube_json_get_string(s, "notReadyAddresses.0.ip"),
                          "10.0.0.2");
      assert_int_equal(json_object_array_length(kube_json_get(s, "addresses")),
                       1);
      assert_string_equal(kube_json_get_string(s, "addresses.0.targetRef.name"),
                          "ready");
      assert_string_equal(kube_json_get_string(s, "addresses.0.nodeName"),
                          "n1");
    } else {
      saw_named = true;
      assert_string_equal(pn, "m");
      assert_int_equal(json_object_get_int64(kube_json_get(s, "ports.0.port")),
                       9090);
      assert_null(kube_json_get(s, "notReadyAddresses"));
    }
  }
  assert_true(saw_http && saw_named);
  json_object_put(ep);
  /* The Service goes: so do its Endpoints. */
  kt_fake_delete(h.f, "v1", "Service", "default", "web");
  h_settle(&h);
  assert_null(h_get(&h, "v1", "Endpoints", "default", "web"));
  h_free(&h);
}

static void test_endpoints_headless_publish(void **state) {
  struct h h;
  h_init(&h);
  add_svc(&h, "hl",
          ",\"clusterIP\":\"None\",\"publishNotReadyAddresses\":true");
  add_pod(&h, "a", "10.0.0.1", false, false, false);
  h_start(&h, "endpoint");
  h_settle(&h);
  json_object *ep = h_get(&h, "v1", "Endpoints", "default", "hl");
  assert_non_null(ep);
  assert_non_null(kube_json_get(ep, "metadata.labels"));
  json_object *labels = kube_json_get(ep, "metadata.labels");
  json_object *v = NULL;
  assert_true(
      json_object_object_get_ex(labels, "service.kubernetes.io/headless", &v));
  /* not ready, published anyway; no ports for a headless Service */
  assert_string_equal(kube_json_get_string(ep, "subsets.0.addresses.0.ip"),
                      "10.0.0.1");
  assert_null(kube_json_get(ep, "subsets.0.ports"));
  json_object_put(ep);
  h_free(&h);
}

struct slice_view {
  size_t n_slices, n_endpoints, placeholders;
  json_object *by_pod; /* pod name -> endpoint */
};

static void view_clear(struct slice_view *v) {
  json_object_put(v->by_pod);
}

struct listing {
  json_object *list;
  bool done;
};

static void listed(int status, const char *ct, const char *data, size_t len,
                   bool done, void *arg) {
  struct listing *l = arg;
  if (done) {
    l->list = json_tokener_parse(data);
    l->done = true;
  }
}

static bool list_done(void *arg) {
  return ((struct listing *)arg)->done;
}

static void view(struct h *h, struct slice_view *v) {
  memset(v, 0, sizeof *v);
  v->by_pod = json_object_new_object();
  struct listing l = {0};
  kube_transport_request_t rq = {
      .struct_size = sizeof rq,
      .method = "GET",
      .path = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"};
  assert_non_null(kube_transport_request(&h->tp, &rq, listed, &l, NULL));
  assert_true(kt_run_until(h->loop, list_done, &l, 5000));
  json_object *items = kube_json_get(l.list, "items");
  for (size_t i = 0; i < json_object_array_length(items); i++) {
    json_object *s = json_object_array_get_idx(items, i);
    v->n_slices++;
    json_object *eps = kube_json_get(s, "endpoints");
    size_t n = eps ? json_object_array_length(eps) : 0;
    assert_true(n <= 100);
    if (!n && !kube_json_get(s, "ports"))
      v->placeholders++;
    assert_string_equal(
        kube_json_get_string(s, "metadata.ownerReferences.0.kind"), "Service");
    for (size_t k = 0; k < n; k++) {
      json_object *e = json_object_array_get_idx(eps, k);
      json_object_object_add(v->by_pod,
                             kube_json_get_string(e, "targetRef.name"),
                             json_object_get(e));
      v->n_endpoints++;
    }
  }
  json_object_put(l.list);
}

static bool cond(json_object *ep, const char *c) {
  char path[64];
  snprintf(path, sizeof path, "conditions.%s", c);
  return json_object_get_boolean(kube_json_get(ep, path));
}

static void test_slices(void **state) {
  struct h h;
  h_init(&h);
  add_svc(&h, "web", PORTS);
  h_start(&h, "endpointslice");
  h_settle(&h);
  struct slice_view v;
  view(&h, &v);
  /* No pods: one placeholder slice. */
  assert_int_equal(v.n_slices, 1);
  assert_int_equal(v.placeholders, 1);
  view_clear(&v);
  add_pod(&h, "ready", "10.0.0.1", true, true, false);
  add_pod(&h, "notready", "10.0.0.2", false, false, false);
  add_pod(&h, "terminating", "10.0.0.3", true, true, true);
  h_settle(&h);
  view(&h, &v);
  /* Two port sets (the named port resolves on two pods only), terminating
   * pods stay with their conditions, no placeholder any more. */
  assert_int_equal(v.n_slices, 2);
  assert_int_equal(v.placeholders, 0);
  assert_int_equal(v.n_endpoints, 3);
  json_object *e;
  assert_true(json_object_object_get_ex(v.by_pod, "ready", &e));
  assert_true(cond(e, "ready") && cond(e, "serving") &&
              !cond(e, "terminating"));
  assert_string_equal(kube_json_get_string(e, "nodeName"), "n1");
  assert_true(json_object_object_get_ex(v.by_pod, "notready", &e));
  assert_true(!cond(e, "ready") && !cond(e, "serving"));
  assert_true(json_object_object_get_ex(v.by_pod, "terminating", &e));
  assert_true(!cond(e, "ready") && cond(e, "serving") &&
              cond(e, "terminating"));
  view_clear(&v);
  h_free(&h);
}

static void test_slices_capacity(void **state) {
  struct h h;
  h_init(&h);
  add_svc(&h, "web",
          ",\"clusterIP\":\"10.96.0.10\",\"ports\":[{\"name\":\"http\","
          "\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}]");
  for (int i = 0; i < 250; i++) {
    char name[32], ip[32];
    snprintf(name, sizeof name, "p%d", i);
    snprintf(ip, sizeof ip, "10.0.%d.%d", i / 200, i % 200 + 1);
    add_pod(&h, name, ip, true, false, false);
  }
  h_start(&h, "endpointslice");
  h_settle(&h);
  struct slice_view v;
  view(&h, &v);
  assert_int_equal(v.n_slices, 3);
  assert_int_equal(v.n_endpoints, 250);
  view_clear(&v);
  /* One pod more fills the slice with room: no new slice. */
  kt_fake_clear_actions(h.f);
  add_pod(&h, "extra", "10.0.9.9", true, false, false);
  h_settle(&h);
  view(&h, &v);
  assert_int_equal(v.n_slices, 3);
  assert_int_equal(v.n_endpoints, 251);
  assert_int_equal(
      h_count(&h, "PUT", "/apis/discovery.k8s.io/v1/namespaces/default/"), 1);
  view_clear(&v);
  h_free(&h);
}

int run_ep_tests(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_endpoints),
      cmocka_unit_test(test_endpoints_headless_publish),
      cmocka_unit_test(test_slices),
      cmocka_unit_test(test_slices_capacity),
  };
  return cmocka_run_group_tests_name("controller-endpoints", tests, NULL, NULL);
}
