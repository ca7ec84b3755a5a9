/* SPDX-License-Identifier: Apache-2.0 */
/* The node controllers: node lifecycle (Ready=Unknown after the grace
 * period, taints, pods marked not ready, master disruption mode, recovery),
 * taint eviction (untolerated, tolerationSeconds, tolerated forever), node
 * IPAM (allocation, existing CIDRs kept, release, a full range, bad
 * flags), ServiceAccount "default" and kube-root-ca.crt per namespace; the
 * toleration and CIDR helpers. */
#include "controller/internal.h"
#include "test-controller.h"

static void add_node(struct h *h, const char *name, const char *ready,
                     const char *extra_spec) {
  char now[40];
  h_ago(now, sizeof now, 0);
  h_add(h,
        "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":"
        "\"%s\",\"creationTimestamp\":\"%s\"},\"spec\":{%s},\"status\":{"
        "\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\","
        "\"lastHeartbeatTime\":\"%s\",\"lastTransitionTime\":\"%s\"},{"
        "\"type\":\"MemoryPressure\",\"status\":\"False\"}]}}",
        name, now, extra_spec ? extra_spec : "", ready, now, now);
}

static int beat_counter;

/* A node agent's Lease renewal (a new renewTime each time). */
static void beat(struct h *h, const char *node) {
  beat_counter++;
  h_add(h,
        "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
        "\"metadata\":{\"name\":\"%s\",\"namespace\":\"kube-node-lease\"},"
        "\"spec\":{\"holderIdentity\":\"%s\",\"leaseDurationSeconds\":40,"
        "\"renewTime\":\"2026-01-01T00:00:00.%06dZ\"}}",
        node, node, beat_counter);
}

static void add_pod(struct h *h, const char *name, const char *node,
                    const char *tolerations) {
  h_add(h,
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
        "\"namespace\":\"default\"},\"spec\":{\"nodeName\":\"%s\","
        "\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]%s%s},\"status\":{"
        "\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\","
        "\"status\":\"True\"},{\"type\":\"ContainersReady\",\"status\":"
        "\"True\"}]}}",
        name, node, tolerations ? ",\"tolerations\":" : "",
        tolerations ? tolerations : "");
}

static const char *cond_status(json_object *obj, const char *type) {
  json_object *c = ctl_condition(obj, type);
  return c ? kube_json_get_string(c, "status") : NULL;
}

static bool has_taint(json_object *node, const char *key, const char *effect) {
  json_object *t = kube_json_get(node, "spec.taints");
  for (size_t i = 0; t && i < json_object_array_length(t); i++) {
    json_object *x = json_object_array_get_idx(t, i);
    if (streq(kube_json_get_string(x, "key"), key) &&
        streq(kube_json_get_string(x, "effect"), effect))
      return true;
  }
  return false;
}

/* Run the loop, renewing `alive`'s Lease, until cond holds (10 s). */
static bool run_beating(struct h *h, const char *const *alive,
                        bool (*cond)(struct h *), int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 50) {
    for (size_t i = 0; alive && alive[i]; i++)
      beat(h, alive[i]);
    kt_run_for(h->loop, 50);
    if (cond(h))
      return true;
  }
  return false;
}

static void start_nl(struct h *h, int64_t grace_ms) {
  kube_controller_manager_options_t o = {
      .struct_size = sizeof o,
      .controllers = "nodelifecycle,taint-eviction-controller",
      .node_monitor_grace_period_ms = grace_ms,
      .node_monitor_period_ms = 50};
  h_start_opts(h, &o);
}

static bool n1_unreachable(struct h *h) {
  json_object *n = h_get(h, "v1", "Node", "", "n1");
  bool ok = n && has_taint(n, CTL_TAINT_UNREACHABLE, "NoExecute");
  json_object_put(n);
  return ok;
}

static bool p2_gone(struct h *h) {
  json_object *p = h_get(h, "v1", "Pod", "default", "p2");
  json_object_put(p);
  return !p;
}

static bool n1_clean(struct h *h) {
  json_object *n = h_get(h, "v1", "Node", "", "n1");
  bool ok = n && !kube_json_get(n, "spec.taints");
  json_object_put(n);
  return ok;
}

static void test_node_dies_and_recovers(void **state) {
  struct h h;
  h_init(&h);
  add_node(&h, "n1", "True", NULL);
  add_node(&h, "n2", "True", NULL);
  beat(&h, "n1");
  beat(&h, "n2");
  add_pod(&h, "p1", "n1", NULL);
  add_pod(&h, "p2", "n1",
          "[{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":"
          "\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":2}]");
  add_pod(&h, "p3", "n1", "[{\"operator\":\"Exists\"}]");
  add_pod(&h, "p4", "n2", NULL);
  start_nl(&h, 300);
  const char *const alive[] = {"n2", NULL};
  /* n1 stops renewing: Unknown, then tainted. */
  assert_true(run_beating(&h, alive, n1_unreachable, 10000));
  json_object *n = h_get(&h, "v1", "Node", "", "n1");
  json_object *ready = ctl_condition(n, "Ready");
  assert_string_equal(kube_json_get_string(ready, "status"), "Unknown");
  assert_string_equal(kube_json_get_string(ready, "reason"),
                      "NodeStatusUnknown");
  assert_string_equal(kube_json_get_string(ready, "message"),
                      "Kubelet stopped posting node status.");
  assert_string_equal(
      kube_json_get_string(ctl_condition(n, "DiskPressure"), "reason"),
      "NodeStatusNeverUpdated");
  assert_string_equal(cond_status(n, "MemoryPressure"), "Unknown");
  assert_true(has_taint(n, CTL_TAINT_UNREACHABLE, "NoSchedule"));
  json_object *taints = kube_json_get(n, "spec.taints");
  for (size_t i = 0; i < json_object_array_length(taints); i++) {
    json_object *t = json_object_array_get_idx(taints, i);
    if (streq(kube_json_get_string(t, "effect"), "NoExecute"))
      assert_non_null(kube_json_get_string(t, "timeAdded"));
  }
  json_object_put(n);
  n = h_get(&h, "v1", "Node", "", "n2");
  assert_string_equal(cond_status(n, "Ready"), "True");
  assert_null(kube_json_get(n, "spec.taints"));
  json_object_put(n);
  /* p2 tolerates the taint for 2 s. */
  assert_true(run_beating(&h, alive, p2_gone, 10000));
  json_object *p;
  /* p1 tolerates nothing: gone; p3 tolerates everything forever: kept,
   * not ready; p4 on the healthy node untouched. */
  assert_null(p = h_get(&h, "v1", "Pod", "default", "p1"));
  assert_non_null(p = h_get(&h, "v1", "Pod", "default", "p3"));
  assert_string_equal(cond_status(p, "Ready"), "False");
  assert_string_equal(cond_status(p, "ContainersReady"), "True");
  json_object_put(p);
  assert_non_null(p = h_get(&h, "v1", "Pod", "default", "p4"));
  assert_string_equal(cond_status(p, "Ready"), "True");
  json_object_put(p);
  assert_true(h_events(&h, "NodeNotReady") >= 2); /* the node, p3 */
  assert_true(h_events(&h, "TaintManagerEviction") >= 2);
  /* The DisruptionTarget condition went before the delete. */
  const kt_action_t *a =
      kt_fake_find(h.f, "PATCH", "/api/v1/namespaces/default/pods/p1/status");
  assert_non_null(a);
  assert_non_null(strstr(a->body, "DeletionByTaintManager"));
  /* The kubelet is back: it posts Ready and renews; the taints go. */
  add_node(&h, "n1", "True", NULL);
  const char *const both[] = {"n1", "n2", NULL};
  assert_true(run_beating(&h, both, n1_clean, 10000));
  h_free(&h);
}

static bool all_unknown(struct h *h) {
  json_object *a = h_get(h, "v1", "Node", "", "n1");
  json_object *b = h_get(h, "v1", "Node", "", "n2");
  bool ok = a && b && streq(cond_status(a, "Ready"), "Unknown") &&
            streq(cond_status(b, "Ready"), "Unknown") &&
            has_taint(a, CTL_TAINT_UNREACHABLE, "NoSchedule") &&
            has_taint(b, CTL_TAINT_UNREACHABLE, "NoSchedule");
  json_object_put(a);
  json_object_put(b);
  return ok;
}

/* Every node silent: the control plane is more likely cut off than every
 * node dead; nothing is evicted. */
static void test_master_disruption(void **state) {
  struct h h;
  h_init(&h);
  add_node(&h, "n1", "True", NULL);
  add_node(&h, "n2", "True", NULL);
  add_pod(&h, "p1", "n1", NULL);
  start_nl(&h, 200);
  assert_true(run_beating(&h, NULL, all_unknown, 10000));
  kt_run_for(h.loop, 500);
  json_object *n = h_get(&h, "v1", "Node", "", "n1");
  assert_false(has_taint(n, CTL_TAINT_UNREACHABLE, "NoExecute"));
  json_object_put(n);
  json_object *p = h_get(&h, "v1", "Pod", "default", "p1");
  assert_non_null(p);
  json_object_put(p);
  assert_int_equal(h_events(&h, "TaintManagerEviction"), 0);
  h_free(&h);
}

/* A kubelet reporting NotReady: not-ready taints; unschedulable gets its
 * NoSchedule taint. */
static bool n1_not_ready(struct h *h) {
  json_object *n = h_get(h, "v1", "Node", "", "n1");
  bool ok = n && has_taint(n, CTL_TAINT_NOT_READY, "NoExecute") &&
            has_taint(n, CTL_TAINT_NOT_READY, "NoSchedule") &&
            has_taint(n, "node.kubernetes.io/unschedulable", "NoSchedule");
  json_object_put(n);
  return ok;
}

static void test_not_ready_taints(void **state) {
  struct h h;
  h_init(&h);
  add_node(&h, "n1", "False", "\"unschedulable\":true");
  add_node(&h, "n2", "True", NULL);
  start_nl(&h, 5000);
  const char *const both[] = {"n1", "n2", NULL};
  assert_true(run_beating(&h, both, n1_not_ready, 10000));
  h_free(&h);
}

/* ---- node IPAM ---- */

static void start_ipam(struct h *h, const char *cidr, int mask) {
  kube_controller_manager_options_t o = {.struct_size = sizeof o,
                                         .controllers = "nodeipam",
                                         .cluster_cidr = cidr,
                                         .node_cidr_mask_size = mask};
  h_start_opts(h, &o);
}

static char *pod_cidr(struct h *h, const char *name) {
  json_object *n = h_get(h, "v1", "Node", "", name);
  const char *c = n ? kube_json_get_string(n, "spec.podCIDR") : NULL;
  char *r = c ? strdup(c) : NULL;
  if (r) {
    assert_string_equal(kube_json_get_string(n, "spec.podCIDRs.0"), r);
  }
  json_object_put(n);
  return r;
}

static void test_ipam(void **state) {
  struct h h;
  h_init(&h);
  add_node(&h, "a", "True",
           "\"podCIDR\":\"10.42.0.0/24\",\"podCIDRs\":[\"10.42.0.0/24\"]");
  add_node(&h, "b", "True", NULL);
  add_node(&h, "c", "True", NULL);
  start_ipam(&h, NULL, 0);
  h_settle(&h);
  char *a = pod_cidr(&h, "a"), *b = pod_cidr(&h, "b"), *c = pod_cidr(&h, "c");
  assert_string_equal(a, "10.42.0.0/24"); /* kept, never handed out again */
  assert_non_null(b);
  assert_non_null(c);
  assert_string_not_equal(b, a);
  assert_string_not_equal(c, a);
  assert_string_not_equal(b, c);
  assert_true(!strncmp(b, "10.42.", 6) && strstr(b, ".0/24"));
  /* b goes; a new node may take its block, never a or c's. */
  kt_fake_delete(h.f, "v1", "Node", "", "b");
  add_node(&h, "d", "True", NULL);
  h_settle(&h);
  char *d = pod_cidr(&h, "d");
  assert_non_null(d);
  assert_string_not_equal(d, a);
  assert_string_not_equal(d, c);
  free(a);
  free(b);
  free(c);
  free(d);
  h_free(&h);
}

static void test_ipam_full_and_restart(void **state) {
  struct h h;
  h_init(&h);
  add_node(&h, "a", "True", NULL);
  add_node(&h, "b", "True", NULL);
  start_ipam(&h, "10.0.0.0/23", 24); /* two blocks */
  h_settle(&h);
  char *a = pod_cidr(&h, "a"), *b = pod_cidr(&h, "b");
  assert_non_null(a);
  assert_non_null(b);
  /* A new manager (a restart) rebuilds the map from the Nodes. */
  kube_controller_manager_free(h.m);
  h.m = NULL;
  add_node(&h, "c", "True", NULL);
  start_ipam(&h, "10.0.0.0/23", 24);
  kt_run_for(h.loop, 300);
  char *c = pod_cidr(&h, "c");
  assert_null(c); /* full: no block handed out twice */
  assert_true(h_events(&h, "CIDRNotAvailable") >= 1);
  free(a);
  free(b);
  h_free(&h);
}

static void test_ipam_bad_flags(void **state) {
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_controller_manager_check_cidr(NULL, 0, &err), 0);
  assert_true(kube_controller_manager_check_cidr("10.42.0.0", 24, &err) < 0);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  assert_true(kube_controller_manager_check_cidr("fd00::/64", 80, &err) < 0);
  kube_error_clear(&err);
  assert_true(kube_controller_manager_check_cidr("10.42.0.0/16", 8, &err) < 0);
  assert_non_null(strstr(err.message, "does not fit"));
  kube_error_clear(&err);
  uint32_t base, n;
  assert_int_equal(ctl_cidr_parse("10.42.7.9/16", 24, &base, &n, &err), 0);
  assert_int_equal(base, 0x0a2a0000u);
  assert_int_equal(n, 256);
}

/* ---- helpers ---- */

static void test_tolerations(void **state) {
  json_object *taint = json_tokener_parse(
      "{\"key\":\"k\",\"value\":\"v\",\"effect\":\"NoExecute\"}");
  static const struct {
    const char *tol;
    bool want;
  } cases[] = {
      {"{\"key\":\"k\",\"value\":\"v\"}", true},
      {"{\"key\":\"k\",\"operator\":\"Equal\",\"value\":\"v\","
       "\"effect\":\"NoExecute\"}",
       true},
      {"{\"key\":\"k\",\"value\":\"w\"}", false},
      {"{\"key\":\"k\",\"operator\":\"Exists\"}", true},
      {"{\"operator\":\"Exists\"}", true},
      {"{\"key\":\"k\",\"operator\":\"Exists\",\"effect\":\"NoSchedule\"}",
       false},
      {"{\"key\":\"other\",\"operator\":\"Exists\"}", false},
      {"{\"key\":\"k\",\"operator\":\"Bogus\"}", false},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    json_object *t = json_tokener_parse(cases[i].tol);
    assert_int_equal(ctl_toleration_tolerates(t, taint), cases[i].want);
    json_object_put(t);
  }
  json_object_put(taint);
}

/* ---- ServiceAccount and kube-root-ca.crt ---- */

static void add_ns(struct h *h, const char *name, bool terminating) {
  h_add(h,
        "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{"
        "\"name\":\"%s\"},\"status\":{\"phase\":\"%s\"}}",
        name, terminating ? "Terminating" : "Active");
}

static void test_serviceaccounts(void **state) {
  struct h h;
  h_init(&h);
  add_ns(&h, "default", false);
  add_ns(&h, "gone", true);
  kube_controller_manager_options_t o = {
      .struct_size = sizeof o,
      .controllers = "serviceaccount,root-ca-cert-publisher",
      .root_ca_pem = "-----BEGIN CERTIFICATE-----\nAA==\n-----END "
                     "CERTIFICATE-----\n"};
  h_start_opts(&h, &o);
  h_settle(&h);
  json_object *sa = h_get(&h, "v1", "ServiceAccount", "default", "default");
  assert_non_null(sa);
  json_object_put(sa);
  assert_null(h_get(&h, "v1", "ServiceAccount", "gone", "default"));
  assert_null(h_get(&h, "v1", "ConfigMap", "gone", "kube-root-ca.crt"));
  json_object *cm = h_get(&h, "v1", "ConfigMap", "default", "kube-root-ca.crt");
  assert_non_null(cm);
  json_object *data = kube_json_get(cm, "data");
  json_object *ca = NULL;
  assert_true(json_object_object_get_ex(data, "ca.crt", &ca));
  assert_string_equal(json_object_get_string(ca), o.root_ca_pem);
  json_object *ann = kube_json_get(cm, "metadata.annotations");
  json_object *desc = NULL;
  assert_true(
      json_object_object_get_ex(ann, "kubernetes.io/description", &desc));
  json_object_put(cm);
  /* A new namespace gets both; deleted or edited ones come back. */
  add_ns(&h, "team", false);
  h_settle(&h);
  assert_non_null(sa = h_get(&h, "v1", "ServiceAccount", "team", "default"));
  json_object_put(sa);
  kt_fake_delete(h.f, "v1", "ServiceAccount", "team", "default");
  h_add(&h, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
            "\"name\":\"kube-root-ca.crt\",\"namespace\":\"team\"},\"data\":{"
            "\"ca.crt\":\"tampered\"}}");
  h_settle(&h);
  assert_non_null(sa = h_get(&h, "v1", "ServiceAccount", "team", "default"));
  json_object_put(sa);
  cm = h_get(&h, "v1", "ConfigMap", "team", "kube-root-ca.crt");
  assert_true(
      json_object_object_get_ex(kube_json_get(cm, "data"), "ca.crt", &ca));
  assert_string_equal(json_object_get_string(ca), o.root_ca_pem);
  json_object_put(cm);
  h_free(&h);
}

/* Without a CA the publisher does not run; the others do. */
static void test_no_ca(void **state) {
  struct h h;
  h_init(&h);
  add_ns(&h, "default", false);
  h_start(&h, "serviceaccount,root-ca-cert-publisher");
  h_settle(&h);
  assert_null(
      kube_controller_manager_controller(h.m, "root-ca-cert-publisher"));
  assert_null(h_get(&h, "v1", "ConfigMap", "default", "kube-root-ca.crt"));
  json_object *sa = h_get(&h, "v1", "ServiceAccount", "default", "default");
  assert_non_null(sa);
  json_object_put(sa);
  h_free(&h);
}

int run_node_tests(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_node_dies_and_recovers),
      cmocka_unit_test(test_master_disruption),
      cmocka_unit_test(test_not_ready_taints),
      cmocka_unit_test(test_ipam),
      cmocka_unit_test(test_ipam_full_and_restart),
      cmocka_unit_test(test_ipam_bad_flags),
      cmocka_unit_test(test_tolerations),
      cmocka_unit_test(test_serviceaccounts),
      cmocka_unit_test(test_no_ca),
  };
  return cmocka_run_group_tests_name("controller-node", tests, NULL, NULL);
}
