/* SPDX-License-Identifier: Apache-2.0 */
/* Typed views. */
#include "test-api.h"

static kube_object_t *obj_of(const char *json) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *o = kube_object_from_json(json, strlen(json), &err);
  if (!o)
    fail_msg("bad JSON: %s", err.message);
  return o;
}

static const char *POD =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\","
    "\"namespace\":\"ns\",\"ownerReferences\":[{\"apiVersion\":\"apps/v1\","
    "\"kind\":\"ReplicaSet\",\"name\":\"rs\",\"uid\":\"u1\",\"controller\":"
    "true}]},\"spec\":{\"nodeName\":\"n1\",\"hostNetwork\":true,\"priority\":"
    "5,\"schedulerName\":\"default-scheduler\",\"restartPolicy\":\"Never\","
    "\"nodeSelector\":{\"disk\":\"ssd\"},\"initContainers\":[{\"name\":"
    "\"init\",\"image\":\"busybox\",\"resources\":{\"requests\":{\"cpu\":"
    "\"2\"}}},{\"name\":\"side\",\"image\":\"s\",\"restartPolicy\":\"Always\","
    "\"resources\":{\"requests\":{\"memory\":\"64Mi\"}}}],\"containers\":[{"
    "\"name\":\"web\",\"image\":\"nginx\",\"command\":[\"/bin/sh\",\"-c\"],"
    "\"args\":[\"echo hi\"],\"env\":[{\"name\":\"A\",\"value\":\"1\"},{"
    "\"name\":\"B\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s\",\"key\":"
    "\"k\"}}}],\"ports\":[{\"name\":\"http\",\"containerPort\":8080,"
    "\"protocol\":\"TCP\"}],\"resources\":{\"requests\":{\"cpu\":\"250m\","
    "\"memory\":\"128Mi\",\"nvidia.com/gpu\":\"1\"},\"limits\":{\"cpu\":"
    "\"1\",\"memory\":\"1Gi\"}},\"livenessProbe\":{\"httpGet\":{\"path\":"
    "\"/healthz\",\"port\":\"http\"},\"periodSeconds\":5},\"volumeMounts\":["
    "{\"name\":\"data\",\"mountPath\":\"/data\",\"readOnly\":true}]},{"
    "\"name\":\"sidecar\",\"image\":\"busybox\",\"resources\":{\"requests\":"
    "{\"cpu\":\"100m\"}}}],\"volumes\":[{\"name\":\"data\",\"hostPath\":{"
    "\"path\":\"/srv\"}},{\"name\":\"cfg\",\"configMap\":{\"name\":\"c\","
    "\"defaultMode\":420}}],\"tolerations\":[{\"key\":\"k\",\"operator\":"
    "\"Equal\",\"value\":\"v\",\"effect\":\"NoSchedule\"},{\"operator\":"
    "\"Exists\",\"tolerationSeconds\":60}],\"affinity\":{\"nodeAffinity\":{"
    "\"requiredDuringSchedulingIgnoredDuringExecution\":{"
    "\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"zone\","
    "\"operator\":\"In\",\"values\":[\"a\",\"b\"]},{\"key\":\"cores\","
    "\"operator\":\"Gt\",\"values\":[\"4\"]}]}]},"
    "\"preferredDuringSchedulingIgnoredDuringExecution\":[{\"weight\":10,"
    "\"preference\":{\"matchExpressions\":[{\"key\":\"fast\",\"operator\":"
    "\"Exists\"}]}}]},\"podAntiAffinity\":{"
    "\"requiredDuringSchedulingIgnoredDuringExecution\":[{\"labelSelector\":"
    "{\"matchLabels\":{\"app\":\"web\"}},\"topologyKey\":"
    "\"kubernetes.io/hostname\"}],\"preferredDuringSchedulingIgnoredDuring"
    "Execution\":[{\"weight\":50,\"podAffinityTerm\":{\"labelSelector\":{"
    "\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"NotIn\","
    "\"values\":[\"db\"]}]},\"topologyKey\":\"zone\"}}]}}},"
    "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.5\",\"podIPs\":[{"
    "\"ip\":\"10.0.0.5\"}],\"qosClass\":\"Burstable\",\"conditions\":[{"
    "\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":"
    "\"2026-11-27T05:00:00Z\"}],\"containerStatuses\":[{\"name\":\"web\","
    "\"image\":\"nginx\",\"imageID\":\"sha256:1\",\"ready\":true,"
    "\"restartCount\":2,\"state\":{\"running\":{\"startedAt\":"
    "\"2026-11-27T05:00:00Z\"}}},{\"name\":\"sidecar\",\"ready\":false,"
    "\"restartCount\":0,\"state\":{\"terminated\":{\"exitCode\":137,"
    "\"reason\":\"OOMKilled\"}}}]}}";

static const char *lookup(void *ctx, const char *key) {
  const char *const *kv = ctx;
  for (; kv[0]; kv += 2)
    if (streq(kv[0], key))
      return kv[1];
  return NULL;
}

static void test_view_pod_spec(void **state) {
  (void)state;
  kube_object_t *o = obj_of(POD);
  kube_pod_spec_t s;
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_pod_spec_from_object(o, &s, &err), 0);
  assert_int_equal(s.n_containers, 2);
  kube_container_t *c = &s.containers[0];
  assert_string_equal(c->name, "web");
  assert_string_equal(c->image, "nginx");
  assert_int_equal(c->n_command, 2);
  assert_string_equal(c->command[1], "-c");
  assert_null(c->command[2]);
  assert_string_equal(c->args[0], "echo hi");
  assert_int_equal(c->n_env, 2);
  assert_string_equal(c->env[0].value, "1");
  assert_null(c->env[1].value);
  assert_string_equal(c->env[1].secret_name, "s");
  assert_string_equal(c->env[1].secret_key, "k");
  assert_int_equal(c->n_ports, 1);
  assert_int_equal(c->ports[0].container_port, 8080);
  assert_string_equal(c->ports[0].protocol, "TCP");
  assert_int_equal(c->requests.cpu_milli, 250);
  assert_int_equal(c->requests.memory, 128 * 1024 * 1024);
  assert_true(c->requests.present & KUBE_RESOURCE_CPU);
  assert_false(c->requests.present & KUBE_RESOURCE_PODS);
  assert_int_equal(c->requests.n_extended, 1);
  assert_string_equal(c->requests.extended[0].name, "nvidia.com/gpu");
  assert_int_equal(c->requests.extended[0].value, 1);
  assert_int_equal(c->limits.cpu_milli, 1000);
  assert_int_equal(c->limits.memory, 1024LL * 1024 * 1024);
  assert_non_null(c->liveness_probe);
  assert_int_equal(c->liveness_probe->type, KUBE_PROBE_HTTP_GET);
  assert_string_equal(c->liveness_probe->path, "/healthz");
  assert_string_equal(c->liveness_probe->port_name, "http");
  assert_int_equal(c->liveness_probe->period_seconds, 5);
  assert_int_equal(c->liveness_probe->timeout_seconds, 1);
  assert_null(c->readiness_probe);
  assert_int_equal(c->n_volume_mounts, 1);
  assert_true(c->volume_mounts[0].read_only);
  assert_int_equal(s.n_init_containers, 2);
  assert_int_equal(s.n_volumes, 2);
  assert_string_equal(s.volumes[0].type, "hostPath");
  assert_string_equal(s.volumes[0].source, "/srv");
  assert_string_equal(s.volumes[1].type, "configMap");
  assert_int_equal(s.volumes[1].default_mode, 420);
  assert_string_equal(s.node_name, "n1");
  assert_int_equal(s.n_node_selector, 1);
  assert_string_equal(s.node_selector[0].key, "disk");
  assert_true(s.host_network);
  assert_int_equal(s.priority, 5);
  assert_string_equal(s.restart_policy, "Never");
  assert_int_equal(s.termination_grace_period_seconds, -1);
  assert_int_equal(s.n_tolerations, 2);
  assert_string_equal(s.tolerations[0].effect, "NoSchedule");
  assert_null(s.tolerations[1].key);
  assert_string_equal(s.tolerations[1].op, "Exists");
  assert_int_equal(s.tolerations[1].toleration_seconds, 60);
  assert_int_equal(s.tolerations[0].toleration_seconds, -1);

  /* affinity, checked through the selectors */
  assert_int_equal(s.affinity.n_node_required, 1);
  const char *labels_ok[] = {"zone", "a", "cores", "8", NULL};
  const char *labels_bad[] = {"zone", "c", "cores", "8", NULL};
  const char *labels_small[] = {"zone", "a", "cores", "2", NULL};
  kube_selector_t *me = s.affinity.node_required[0].match_expressions;
  assert_true(kube_selector_matches(me, lookup, labels_ok));
  assert_false(kube_selector_matches(me, lookup, labels_bad));
  assert_false(kube_selector_matches(me, lookup, labels_small));
  assert_int_equal(s.affinity.n_node_preferred, 1);
  assert_int_equal(s.affinity.node_preferred[0].weight, 10);
  assert_int_equal(s.affinity.n_pod_anti_affinity_required, 1);
  kube_pod_affinity_term_t *t = &s.affinity.pod_anti_affinity_required[0];
  assert_string_equal(t->topology_key, "kubernetes.io/hostname");
  const char *web[] = {"app", "web", NULL};
  const char *db[] = {"app", "db", NULL};
  assert_true(kube_selector_matches(t->label_selector, lookup, web));
  assert_false(kube_selector_matches(t->label_selector, lookup, db));
  assert_int_equal(s.affinity.n_pod_anti_affinity_preferred, 1);
  assert_int_equal(s.affinity.pod_anti_affinity_preferred[0].weight, 50);
  assert_int_equal(s.affinity.n_pod_affinity_required, 0);

  /* effective requests: containers 350m + sidecar 64Mi memory; the init
   * container's 2 CPUs (plus the sidecar before it? no: sidecar comes after)
   * dominate the CPU */
  assert_int_equal(s.requests.cpu_milli, 2000);
  assert_int_equal(s.requests.memory, 192 * 1024 * 1024);
  assert_int_equal(s.requests.n_extended, 1);
  kube_pod_spec_clear(&s);
  kube_pod_spec_clear(&s); /* zeroed: harmless */

  kube_pod_status_t st;
  assert_int_equal(kube_pod_status_from_object(o, &st, &err), 0);
  assert_string_equal(st.phase, "Running");
  assert_string_equal(st.pod_ip, "10.0.0.5");
  assert_int_equal(st.n_pod_ips, 1);
  assert_string_equal(st.qos_class, "Burstable");
  assert_int_equal(st.n_conditions, 1);
  assert_int_equal(st.conditions[0].last_transition_time, 1795755600);
  assert_int_equal(st.n_container_statuses, 2);
  assert_int_equal(st.container_statuses[0].state, KUBE_CONTAINER_RUNNING);
  assert_int_equal(st.container_statuses[0].restart_count, 2);
  assert_true(st.container_statuses[0].ready);
  assert_int_equal(st.container_statuses[1].state, KUBE_CONTAINER_TERMINATED);
  assert_int_equal(st.container_statuses[1].exit_code, 137);
  assert_string_equal(st.container_statuses[1].reason, "OOMKilled");
  kube_pod_status_clear(&st);

  kube_owner_ref_t *refs;
  size_t n;
  assert_int_equal(kube_owner_refs_from_object(o, &refs, &n, &err), 0);
  assert_int_equal(n, 1);
  assert_string_equal(refs[0].kind, "ReplicaSet");
  assert_string_equal(refs[0].uid, "u1");
  assert_true(refs[0].controller);
  kube_owner_refs_free(refs, n);
  kube_object_free(o);

  /* a deployment's template, and errors */
  o = obj_of("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
             "\"metadata\":{\"name\":\"d\"},\"spec\":{\"template\":{\"spec\":"
             "{\"containers\":[{\"name\":\"a\",\"image\":\"i\"}]}}}}");
  assert_int_equal(kube_pod_spec_from_object(o, &s, &err), 0);
  assert_int_equal(s.n_containers, 1);
  assert_int_equal(s.requests.present, 0);
  kube_pod_spec_clear(&s);
  kube_object_free(o);
  o = obj_of("{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"}}");
  assert_int_equal(kube_pod_spec_from_object(o, &s, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  kube_object_free(o);
  o = obj_of("{\"kind\":\"Pod\",\"spec\":{\"containers\":[{\"name\":\"a\","
             "\"resources\":{\"limits\":{\"cpu\":\"lots\"}}}]}}");
  assert_int_equal(kube_pod_spec_from_object(o, &s, &err), -1);
  assert_non_null(strstr(err.message, "spec.containers[0].resources.limits"));
  assert_int_equal(s.n_containers, 0);
  kube_error_clear(&err);
  kube_object_free(o);
}

static void test_view_node_service(void **state) {
  (void)state;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *o = obj_of(
      "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n1\","
      "\"labels\":{\"kubernetes.io/hostname\":\"n1\"}},\"spec\":{"
      "\"unschedulable\":true,\"taints\":[{\"key\":\"k\",\"value\":\"v\","
      "\"effect\":\"NoSchedule\"}]},\"status\":{\"capacity\":{\"cpu\":\"4\","
      "\"memory\":\"8Gi\",\"pods\":\"110\"},\"allocatable\":{\"cpu\":"
      "\"3500m\",\"memory\":\"7Gi\",\"pods\":\"110\",\"hugepages-2Mi\":\"0\"},"
      "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],"
      "\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"192.168.0.2\"}],"
      "\"nodeInfo\":{\"kubeletVersion\":\"v1.32.0\",\"architecture\":"
      "\"amd64\"}}}");
  kube_node_t n;
  assert_int_equal(kube_node_from_object(o, &n, &err), 0);
  assert_string_equal(n.name, "n1");
  assert_int_equal(n.n_labels, 1);
  assert_true(n.unschedulable);
  assert_int_equal(n.n_taints, 1);
  assert_string_equal(n.taints[0].effect, "NoSchedule");
  assert_int_equal(n.capacity.cpu_milli, 4000);
  assert_int_equal(n.allocatable.cpu_milli, 3500);
  assert_int_equal(n.allocatable.memory, 7LL << 30);
  assert_int_equal(n.allocatable.pods, 110);
  assert_int_equal(n.allocatable.n_extended, 1);
  assert_true(n.ready);
  assert_int_equal(n.n_addresses, 1);
  assert_string_equal(n.addresses[0].address, "192.168.0.2");
  assert_string_equal(n.kubelet_version, "v1.32.0");
  assert_string_equal(n.architecture, "amd64");
  assert_null(n.os_image);
  kube_node_clear(&n);
  kube_object_free(o);

  /* allocatable defaults to capacity */
  o = obj_of("{\"kind\":\"Node\",\"metadata\":{\"name\":\"n2\"},\"status\":{"
             "\"capacity\":{\"cpu\":\"2\"}}}");
  assert_int_equal(kube_node_from_object(o, &n, &err), 0);
  assert_int_equal(n.allocatable.cpu_milli, 2000);
  assert_false(n.ready);
  kube_node_clear(&n);
  kube_object_free(o);

  o = obj_of(
      "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{"
      "\"name\":\"s\",\"namespace\":\"d\"},\"spec\":{\"type\":"
      "\"NodePort\",\"clusterIP\":\"10.96.0.1\",\"selector\":{\"app\":"
      "\"x\"},\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":"
      "8080,\"nodePort\":30080,\"protocol\":\"TCP\"},{\"name\":\"m\","
      "\"port\":9090,\"targetPort\":\"metrics\"},{\"name\":\"d\","
      "\"port\":53,\"protocol\":\"UDP\"}],\"externalIPs\":[\"1.2.3.4\"]}}");
  kube_service_t s;
  assert_int_equal(kube_service_from_object(o, &s, &err), 0);
  assert_string_equal(s.type, "NodePort");
  assert_string_equal(s.cluster_ip, "10.96.0.1");
  assert_false(s.headless);
  assert_int_equal(s.n_ports, 3);
  assert_int_equal(s.ports[0].target_port, 8080);
  assert_int_equal(s.ports[0].node_port, 30080);
  assert_string_equal(s.ports[1].target_port_name, "metrics");
  assert_int_equal(s.ports[1].target_port, 0);
  assert_string_equal(s.ports[1].protocol, "TCP");
  assert_int_equal(s.ports[2].target_port, 53);
  assert_string_equal(s.ports[2].protocol, "UDP");
  assert_int_equal(s.n_selector, 1);
  assert_string_equal(s.selector[0].value, "x");
  assert_int_equal(s.n_external_ips, 1);
  kube_service_clear(&s);
  kube_object_free(o);

  kube_resource_list_t rl;
  assert_int_equal(kube_resource_list_parse("{\"cpu\":\"1.5\",\"memory\":"
                                            "\"1Ki\",\"ephemeral-storage\":"
                                            "\"1G\",\"example.com/foo\":3}",
                                            &rl, &err),
                   0);
  assert_int_equal(rl.cpu_milli, 1500);
  assert_int_equal(rl.memory, 1024);
  assert_int_equal(rl.ephemeral_storage, 1000000000);
  assert_int_equal(rl.n_extended, 1);
  assert_int_equal(rl.extended[0].value, 3);
  kube_resource_list_clear(&rl);
  assert_int_equal(kube_resource_list_parse("{\"cpu\":\"x\"}", &rl, &err), -1);
  kube_error_clear(&err);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_view_pod_spec),
    cmocka_unit_test(test_view_node_service),
};

const struct CMUnitTest *view_tests(size_t *n) {
  *n = ARRAY_SIZE(tests);
  return tests;
}
