/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hollow nodes over the fake transport of tests/lib: registration (labels,
 * the pod CIDR of the options, capacity from a size spec, the kubelet's
 * conditions), Ready only once the Node has a pod CIDR, the Lease; a bound
 * pod reported Running (podIP from the CIDR, distinct per pod, container
 * statuses, the kubelet's events), another node's pod left alone; a pod
 * being deleted: Killing and a DELETE with gracePeriodSeconds 0 and its UID;
 * a node made down writes nothing until made up; bad options.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include <libkube/kit.h>
#include <libkube/node.h>

#include "kube-test.h"

struct env {
  kube_loop_t *loop;
  kt_fake_t *f;
  kube_transport_t tp;
  kube_informer_factory_t *inf;
  kube_node_hollow_t *h;
};

static void env_init(struct env *e, const char *pod_cidr) {
  memset(e, 0, sizeof *e);
  e->loop = kube_loop_new(NULL);
  e->f = kt_fake_new(e->loop);
  kt_fake_transport(e->f, &e->tp);
  e->inf = kube_informer_factory_new(e->loop, &e->tp, NULL);
  assert_non_null(e->inf);
  const char *labels[] = {"pool=test", NULL};
  kube_node_hollow_options_t o = {.struct_size = sizeof o,
                                  .count = 2,
                                  .name_prefix = "h-",
                                  .size = "cpu=8,memory=32Gi,pods=50",
                                  .labels = labels,
                                  .pod_cidr = pod_cidr};
  kube_error_t err = KUBE_ERROR_INIT;
  e->h = kube_node_hollow_new(e->loop, &e->tp, e->inf, &o, &err);
  if (!e->h)
    fail_msg("hollow: %s", err.message);
  assert_int_equal(kube_node_hollow_start(e->h, &err), 0);
}

static void env_free(struct env *e) {
  kube_node_hollow_free(e->h);
  kube_informer_factory_free(e->inf);
  kt_fake_free(e->f);
  kube_loop_free(e->loop);
}

static json_object *get(struct env *e, const char *av, const char *kind,
                        const char *ns, const char *name) {
  char *s = kt_fake_get(e->f, av, kind, ns, name);
  json_object *o = s ? json_tokener_parse(s) : NULL;
  free(s);
  return o;
}

static const char *str(json_object *o, const char *path) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", path);
  json_object *cur = o;
  for (char *save = NULL, *t = strtok_r(buf, ".", &save); t && cur;
       t = strtok_r(NULL, ".", &save)) {
    char *end;
    long i = strtol(t, &end, 10);
    if (!*end && json_object_is_type(cur, json_type_array))
      cur = json_object_array_get_idx(cur, (size_t)i);
    else if (!json_object_object_get_ex(cur, t, &cur))
      cur = NULL;
  }
  return cur ? json_object_get_string(cur) : NULL;
}

/* The status of the Node's Ready condition, or NULL. */
static const char *ready_of(json_object *node) {
  json_object *c = NULL;
  json_object_object_get_ex(node, "status", &c);
  if (c)
    json_object_object_get_ex(c, "conditions", &c);
  for (size_t i = 0; c && i < json_object_array_length(c); i++) {
    json_object *x = json_object_array_get_idx(c, i);
    if (str(x, "type") && !strcmp(str(x, "type"), "Ready"))
      return str(x, "status");
  }
  return NULL;
}

struct want_ready {
  struct env *e;
  const char *node, *status;
};

static bool node_is(void *arg) {
  struct want_ready *w = arg;
  json_object *n = get(w->e, "v1", "Node", NULL, w->node);
  bool ok = n && ready_of(n) && !strcmp(ready_of(n), w->status);
  json_object_put(n);
  return ok;
}

static void test_register(void **state) {
  (void)state;
  struct env e;
  env_init(&e, "10.200.0.0/16");
  struct want_ready w = {&e, "h-1", "True"};
  assert_true(kt_run_until(e.loop, node_is, &w, 5000));
  json_object *n = get(&e, "v1", "Node", NULL, "h-1");
  assert_string_equal(str(n, "spec.podCIDR"), "10.200.1.0/24");
  assert_string_equal(str(n, "metadata.labels.pool"), "test");
  assert_string_equal(str(n, "status.capacity.cpu"), "8");
  assert_string_equal(str(n, "status.allocatable.memory"), "32Gi");
  assert_string_equal(str(n, "status.allocatable.pods"), "50");
  assert_string_equal(str(n, "status.nodeInfo.kubeletVersion"), "v1.32.0");
  assert_string_equal(str(n, "status.addresses.0.type"), "Hostname");
  json_object_put(n);
  n = get(&e, "v1", "Node", NULL, "h-0");
  assert_string_equal(str(n, "spec.podCIDR"), "10.200.0.0/24");
  json_object_put(n);
  kt_run_for(e.loop, 100);
  json_object *l = get(&e, "coordination.k8s.io/v1", "Lease",
                       "kube-node-lease", "h-0");
  assert_non_null(l);
  assert_string_equal(str(l, "spec.holderIdentity"), "h-0");
  assert_string_equal(str(l, "spec.leaseDurationSeconds"), "40");
  assert_string_equal(str(l, "metadata.ownerReferences.0.kind"), "Node");
  json_object_put(l);
  kube_node_hollow_stats_t st;
  kube_node_hollow_get_stats(e.h, &st);
  assert_int_equal(st.nodes, 2);
  assert_int_equal(st.nodes_registered, 2);
  assert_string_equal(kube_node_hollow_name(e.h, 1), "h-1");
  assert_null(kube_node_hollow_name(e.h, 2));
  env_free(&e);
}

/* Without a pod CIDR the network is not ready; the IPAM's CIDR makes the
 * node Ready at once. */
static void test_ready_needs_cidr(void **state) {
  (void)state;
  struct env e;
  env_init(&e, NULL);
  struct want_ready w = {&e, "h-0", "False"};
  assert_true(kt_run_until(e.loop, node_is, &w, 5000));
  json_object *n = get(&e, "v1", "Node", NULL, "h-0");
  assert_non_null(strstr(str(n, "status.conditions.3.message"),
                         "container runtime network not ready"));
  assert_string_equal(str(n, "status.conditions.3.reason"), "KubeletNotReady");
  /* The node IPAM controller's write. */
  json_object *spec = json_object_new_object();
  json_object_object_add(spec, "podCIDR", json_object_new_string("10.9.0.0/24"));
  json_object_object_add(n, "spec", spec);
  kt_fake_add(e.f, json_object_to_json_string(n));
  json_object_put(n);
  w.status = "True";
  assert_true(kt_run_until(e.loop, node_is, &w, 3000));
  env_free(&e);
}

static void add_pod(struct env *e, const char *name, const char *node,
                    const char *extra_meta) {
  char buf[1200];
  snprintf(buf, sizeof buf,
           "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
           "\"%s\",\"namespace\":\"default\"%s},\"spec\":{\"nodeName\":\"%s\","
           "\"initContainers\":[{\"name\":\"init\",\"image\":\"busybox\"}],"
           "\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1\"}]},"
           "\"status\":{\"phase\":\"Pending\",\"conditions\":[{\"type\":"
           "\"PodScheduled\",\"status\":\"True\"}]}}",
           name, extra_meta ? extra_meta : "", node);
  assert_true(kt_fake_add(e->f, buf) > 0);
}

struct want_phase {
  struct env *e;
  const char *pod, *phase;
};

static bool pod_is(void *arg) {
  struct want_phase *w = arg;
  json_object *p = get(w->e, "v1", "Pod", "default", w->pod);
  bool ok = p && str(p, "status.phase") &&
            !strcmp(str(p, "status.phase"), w->phase);
  json_object_put(p);
  return ok;
}

static size_t events(struct env *e, const char *reason, const char *message) {
  size_t n = 0;
  for (size_t i = 0; i < kt_fake_n_actions(e->f); i++) {
    const kt_action_t *a = kt_fake_action(e->f, i);
    if (strcmp(a->method, "POST") || !strstr(a->path, "/events"))
      continue;
    json_object *ev = json_tokener_parse(a->body);
    if (ev && !strcmp(str(ev, "reason"), reason) &&
        (!message || !strcmp(str(ev, "message"), message)) &&
        !strcmp(str(ev, "source.component"), "kubelet"))
      n++;
    json_object_put(ev);
  }
  return n;
}

static void test_pods(void **state) {
  (void)state;
  struct env e;
  env_init(&e, "10.200.0.0/16");
  struct want_ready w = {&e, "h-0", "True"};
  assert_true(kt_run_until(e.loop, node_is, &w, 5000));
  add_pod(&e, "a", "h-0", NULL);
  add_pod(&e, "b", "h-0", NULL);
  add_pod(&e, "other", "somebody-else", NULL);
  struct want_phase wa = {&e, "a", "Running"}, wb = {&e, "b", "Running"};
  assert_true(kt_run_until(e.loop, pod_is, &wa, 3000));
  assert_true(kt_run_until(e.loop, pod_is, &wb, 3000));
  json_object *a = get(&e, "v1", "Pod", "default", "a");
  json_object *b = get(&e, "v1", "Pod", "default", "b");
  const char *ia = str(a, "status.podIP"), *ib = str(b, "status.podIP");
  assert_non_null(ia);
  assert_non_null(ib);
  assert_string_not_equal(ia, ib);
  assert_true(!strncmp(ia, "10.200.0.", 9) && !strncmp(ib, "10.200.0.", 9));
  assert_string_equal(str(a, "status.podIPs.0.ip"), ia);
  assert_string_equal(str(a, "status.containerStatuses.0.name"), "web");
  assert_string_equal(str(a, "status.containerStatuses.0.ready"), "true");
  assert_string_equal(str(a, "status.containerStatuses.0.started"), "true");
  assert_non_null(str(a, "status.containerStatuses.0.state.running.startedAt"));
  assert_string_equal(
      str(a, "status.initContainerStatuses.0.state.terminated.reason"),
      "Completed");
  /* Ours first, the scheduler's kept. */
  assert_string_equal(str(a, "status.conditions.0.type"),
                      "PodReadyToStartContainers");
  assert_string_equal(str(a, "status.conditions.3.type"), "Ready");
  assert_string_equal(str(a, "status.conditions.3.status"), "True");
  assert_string_equal(str(a, "status.conditions.4.type"), "PodScheduled");
  json_object_put(a);
  json_object_put(b);
  kt_run_for(e.loop, 200);
  assert_true(events(&e, "Started", "Started container web") >= 1);
  assert_true(events(&e, "Created", "Created container: web") >= 1);
  assert_true(events(&e, "Pulled",
                     "Container image \"nginx:1\" already present on "
                     "machine") >= 1);
  assert_int_equal(kt_fake_count_actions(e.f, "PATCH",
                                         "/api/v1/namespaces/default/pods/"
                                         "other"),
                   0);
  kube_node_hollow_stats_t st;
  kube_node_hollow_get_stats(e.h, &st);
  assert_int_equal(st.pods, 2);
  assert_int_equal(st.pods_running, 2);
  env_free(&e);
}

static bool pod_gone(void *arg) {
  struct want_phase *w = arg;
  char *s = kt_fake_get(w->e->f, "v1", "Pod", "default", w->pod);
  free(s);
  return s == NULL;
}

static void test_deletion(void **state) {
  (void)state;
  struct env e;
  env_init(&e, "10.200.0.0/16");
  struct want_ready w = {&e, "h-1", "True"};
  assert_true(kt_run_until(e.loop, node_is, &w, 5000));
  add_pod(&e, "d", "h-1", NULL);
  struct want_phase wd = {&e, "d", "Running"};
  assert_true(kt_run_until(e.loop, pod_is, &wd, 3000));
  json_object *p = get(&e, "v1", "Pod", "default", "d");
  char uid[80];
  snprintf(uid, sizeof uid, "%s", str(p, "metadata.uid"));
  json_object *meta = NULL;
  json_object_object_get_ex(p, "metadata", &meta);
  json_object_object_add(meta, "deletionTimestamp",
                         json_object_new_string("2026-01-01T00:00:00Z"));
  json_object_object_add(meta, "deletionGracePeriodSeconds",
                         json_object_new_int(30));
  kt_fake_clear_actions(e.f);
  kt_fake_add(e.f, json_object_to_json_string(p));
  json_object_put(p);
  assert_true(kt_run_until(e.loop, pod_gone, &wd, 3000));
  const kt_action_t *del =
      kt_fake_find(e.f, "DELETE", "/api/v1/namespaces/default/pods/d");
  assert_non_null(del);
  json_object *opts = json_tokener_parse(del->body);
  assert_string_equal(str(opts, "gracePeriodSeconds"), "0");
  assert_string_equal(str(opts, "preconditions.uid"), uid);
  json_object_put(opts);
  kt_run_for(e.loop, 100);
  assert_int_equal(events(&e, "Killing", "Stopping container web"), 1);
  env_free(&e);
}

static void test_down(void **state) {
  (void)state;
  struct env e;
  env_init(&e, "10.200.0.0/16");
  struct want_ready w = {&e, "h-0", "True"};
  assert_true(kt_run_until(e.loop, node_is, &w, 5000));
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_node_hollow_set_down(e.h, "h-0", true, &err), 0);
  assert_int_equal(kube_node_hollow_set_down(e.h, "nope", true, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_NOT_FOUND);
  kube_error_clear(&err);
  kt_fake_clear_actions(e.f);
  add_pod(&e, "p", "h-0", NULL);
  kt_run_for(e.loop, 300);
  assert_int_equal(kt_fake_count_actions(e.f, "PATCH", "/api/v1/namespaces/"
                                                       "default/pods/p"),
                   0);
  assert_int_equal(kt_fake_count_actions(e.f, "PATCH",
                                         "/apis/coordination.k8s.io/v1/"
                                         "namespaces/kube-node-lease/leases/"
                                         "h-0"),
                   0);
  assert_int_equal(kube_node_hollow_set_down(e.h, "h-0", false, &err), 0);
  struct want_phase wp = {&e, "p", "Running"};
  assert_true(kt_run_until(e.loop, pod_is, &wp, 3000));
  assert_true(kt_fake_count_actions(e.f, "PATCH",
                                    "/apis/coordination.k8s.io/v1/namespaces/"
                                    "kube-node-lease/leases/h-0") +
                  kt_fake_count_actions(e.f, "POST",
                                        "/apis/coordination.k8s.io/v1/"
                                        "namespaces/kube-node-lease/leases") >=
              1);
  env_free(&e);
}

static void bad(const char *what, kube_node_hollow_options_t o,
                const char *needle) {
  kube_loop_t *loop = kube_loop_new(NULL);
  kt_fake_t *f = kt_fake_new(loop);
  kube_transport_t tp;
  kt_fake_transport(f, &tp);
  kube_informer_factory_t *inf = kube_informer_factory_new(loop, &tp, NULL);
  kube_error_t err = KUBE_ERROR_INIT;
  o.struct_size = sizeof o;
  kube_node_hollow_t *h = kube_node_hollow_new(loop, &tp, inf, &o, &err);
  if (h)
    fail_msg("%s: accepted", what);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  if (!strstr(err.message, needle))
    fail_msg("%s: %s", what, err.message);
  kube_error_clear(&err);
  kube_informer_factory_free(inf);
  kt_fake_free(f);
  kube_loop_free(loop);
}

static void test_bad_options(void **state) {
  (void)state;
  bad("size", (kube_node_hollow_options_t){.size = "cpu=lots"}, "cpu");
  bad("size item", (kube_node_hollow_options_t){.size = "gpus=1"},
      "node size item");
  bad("pods", (kube_node_hollow_options_t){.size = "pods=0"}, "pods");
  bad("label", (kube_node_hollow_options_t){.labels =
                                                (const char *[]){"x", NULL}},
      "label");
  bad("name", (kube_node_hollow_options_t){.name_prefix = "Big_"},
      "no valid node name");
  bad("cidr", (kube_node_hollow_options_t){.count = 3, .pod_cidr = "10.0.0.0/23"},
      "blocks");
  bad("count", (kube_node_hollow_options_t){.count = 100001}, "at most");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_register),  cmocka_unit_test(test_ready_needs_cidr),
      cmocka_unit_test(test_pods),      cmocka_unit_test(test_deletion),
      cmocka_unit_test(test_down),      cmocka_unit_test(test_bad_options),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
