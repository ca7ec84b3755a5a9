/* SPDX-License-Identifier: Apache-2.0 */
/* Table cells and field/label lookups; PodDisruptionBudget and
 * NetworkPolicy validation. */
#include "test-api.h"

/* 2026-11-27T05:00:00Z */
#define T0 ((time_t)1795755600)

static json_object *row(const char *resource, const char *group,
                        const char *json, time_t now) {
  const kube_kind_t *k = kube_kind_by_resource(group, NULL, resource);
  assert_non_null(k);
  json_object *obj = tj(json);
  json_object *cells = kube_json_table_cells(k, obj, now);
  json_object_put(obj);
  size_t ncols = 0;
  while (k->columns[ncols].name)
    ncols++;
  assert_int_equal(json_object_array_length(cells), ncols);
  return cells;
}

static void test_table_pod(void **state) {
  (void)state;
  json_object *c = row(
      "pods", "",
      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
      "\"kubia\","
      "\"creationTimestamp\":\"2026-11-27T05:00:00Z\"},\"spec\":{\"nodeName\":"
      "\"node1\",\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]},"
      "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.1.0.5\",\"podIPs\":[{"
      "\"ip\":\"10.1.0.5\"}],\"containerStatuses\":[{\"name\":\"a\",\"ready\":"
      "true,\"restartCount\":0,\"state\":{\"running\":{}}},{\"name\":\"b\","
      "\"ready\":false,\"restartCount\":0,\"state\":{\"running\":{}}}]}}",
      T0 + 5);
  assert_string_equal(cell(c, 0), "kubia");
  assert_string_equal(cell(c, 1), "1/2");
  assert_string_equal(cell(c, 2), "Running");
  assert_string_equal(cell(c, 3), "0");
  assert_string_equal(cell(c, 4), "5s");
  assert_string_equal(cell(c, 5), "10.1.0.5");
  assert_string_equal(cell(c, 6), "node1");
  assert_string_equal(cell(c, 7), "<none>");
  assert_string_equal(cell(c, 8), "<none>");
  json_object_put(c);

  /* pending, unscheduled, waiting container */
  c = row("pods", "",
          "{\"metadata\":{\"name\":\"p\",\"creationTimestamp\":"
          "\"2026-11-27T05:00:00Z\"},\"spec\":{\"containers\":[{\"name\":"
          "\"a\"}],\"readinessGates\":[{\"conditionType\":\"x\"}]},\"status\":"
          "{\"phase\":\"Pending\",\"conditions\":[{\"type\":\"x\",\"status\":"
          "\"True\"}],\"containerStatuses\":[{\"name\":\"a\",\"ready\":false,"
          "\"restartCount\":3,\"lastState\":{\"terminated\":{\"exitCode\":1,"
          "\"finishedAt\":\"2026-11-27T05:00:50Z\"}},\"state\":{\"waiting\":{"
          "\"reason\":\"CrashLoopBackOff\"}}}]}}",
          T0 + 60);
  assert_string_equal(cell(c, 1), "0/1");
  assert_string_equal(cell(c, 2), "CrashLoopBackOff");
  assert_string_equal(cell(c, 3), "3 (10s ago)");
  assert_string_equal(cell(c, 5), "<none>");
  assert_string_equal(cell(c, 6), "<none>");
  assert_string_equal(cell(c, 8), "1/1");
  json_object_put(c);

  /* terminating */
  c = row("pods", "",
          "{\"metadata\":{\"name\":\"p\",\"deletionTimestamp\":"
          "\"2026-11-27T05:00:00Z\"},\"spec\":{\"containers\":[{\"name\":"
          "\"a\"}]},\"status\":{\"phase\":\"Running\"}}",
          T0);
  assert_string_equal(cell(c, 2), "Terminating");
  assert_string_equal(cell(c, 4), "<unknown>");
  json_object_put(c);

  /* init containers and exit codes */
  c = row("pods", "",
          "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"initContainers\":[{"
          "\"name\":\"i1\"},{\"name\":\"i2\"}],\"containers\":[{\"name\":"
          "\"a\"}]},\"status\":{\"phase\":\"Pending\","
          "\"initContainerStatuses\":[{\"name\":\"i1\",\"state\":{"
          "\"terminated\":{\"exitCode\":0}}},{\"name\":\"i2\",\"state\":{"
          "\"running\":{}}}]}}",
          T0);
  assert_string_equal(cell(c, 2), "Init:1/2");
  json_object_put(c);
  c = row("pods", "",
          "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":"
          "\"a\"}]},\"status\":{\"phase\":\"Failed\",\"containerStatuses\":[{"
          "\"name\":\"a\",\"state\":{\"terminated\":{\"exitCode\":2}}}]}}",
          T0);
  assert_string_equal(cell(c, 2), "ExitCode:2");
  json_object_put(c);
  c = row(
      "pods", "",
      "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":"
      "\"a\"}]},\"status\":{\"phase\":\"Succeeded\",\"containerStatuses\":[{"
      "\"name\":\"a\",\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":"
      "\"Completed\"}}}]}}",
      T0);
  assert_string_equal(cell(c, 2), "Completed");
  assert_string_equal(cell(c, 1), "0/1");
  json_object_put(c);
}

static void test_table_deployment(void **state) {
  (void)state;
  json_object *c = row(
      "deployments", "apps",
      "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{"
      "\"name\":\"kubia\",\"creationTimestamp\":\"2026-11-27T02:00:00Z\"},"
      "\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{\"app\":"
      "\"kubia\"},\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"In\","
      "\"values\":[\"prod\",\"dev\"]}]},\"template\":{\"spec\":{"
      "\"containers\":[{\"name\":\"a\",\"image\":\"kubia:v1\"},{\"name\":"
      "\"b\",\"image\":\"busybox\"}]}}},\"status\":{\"readyReplicas\":2,"
      "\"updatedReplicas\":3,\"availableReplicas\":2}}",
      T0);
  assert_string_equal(cell(c, 0), "kubia");
  assert_string_equal(cell(c, 1), "2/3");
  assert_int_equal(json_object_get_int(json_object_array_get_idx(c, 2)), 3);
  assert_int_equal(json_object_get_int(json_object_array_get_idx(c, 3)), 2);
  assert_string_equal(cell(c, 4), "3h");
  assert_string_equal(cell(c, 5), "a,b");
  assert_string_equal(cell(c, 6), "kubia:v1,busybox");
  assert_string_equal(cell(c, 7), "app=kubia,env in (dev,prod)");
  json_object_put(c);

  c = row("replicasets", "apps",
          "{\"metadata\":{\"name\":\"rs\"},\"spec\":{\"replicas\":2,"
          "\"selector\":{\"matchLabels\":{\"a\":\"b\"}}},\"status\":{"
          "\"replicas\":2,\"readyReplicas\":1}}",
          T0);
  assert_int_equal(json_object_get_int(json_object_array_get_idx(c, 1)), 2);
  assert_int_equal(json_object_get_int(json_object_array_get_idx(c, 2)), 2);
  assert_int_equal(json_object_get_int(json_object_array_get_idx(c, 3)), 1);
  assert_string_equal(cell(c, 7), "a=b");
  json_object_put(c);
}

static void test_table_service(void **state) {
  (void)state;
  json_object *c =
      row("services", "",
          "{\"metadata\":{\"name\":\"kubia\"},\"spec\":{\"type\":\"NodePort\","
          "\"clusterIP\":\"10.96.0.10\",\"selector\":{\"app\":\"kubia\"},"
          "\"ports\":[{\"port\":80,\"nodePort\":30080,\"protocol\":\"TCP\"},{"
          "\"port\":53,\"protocol\":\"UDP\"}]}}",
          T0);
  assert_string_equal(cell(c, 1), "NodePort");
  assert_string_equal(cell(c, 2), "10.96.0.10");
  assert_string_equal(cell(c, 3), "<none>");
  assert_string_equal(cell(c, 4), "80:30080/TCP,53/UDP");
  assert_string_equal(cell(c, 6), "app=kubia");
  json_object_put(c);
  c = row("services", "",
          "{\"metadata\":{\"name\":\"lb\"},\"spec\":{\"type\":"
          "\"LoadBalancer\",\"clusterIP\":\"None\",\"ports\":[]}}",
          T0);
  assert_string_equal(cell(c, 2), "None");
  assert_string_equal(cell(c, 3), "<pending>");
  assert_string_equal(cell(c, 4), "<none>");
  assert_string_equal(cell(c, 6), "<none>");
  json_object_put(c);

  c = row("endpoints", "",
          "{\"metadata\":{\"name\":\"e\"},\"subsets\":[{\"addresses\":[{\"ip\":"
          "\"10.0.0.1\"},{\"ip\":\"10.0.0.2\"}],\"ports\":[{\"port\":8080}]},{"
          "\"addresses\":[{\"ip\":\"10.0.0.3\"},{\"ip\":\"10.0.0.4\"}],"
          "\"ports\":[{\"port\":8080}]}]}",
          T0);
  assert_string_equal(cell(c, 1),
                      "10.0.0.1:8080,10.0.0.2:8080,10.0.0.3:8080 + 1 more...");
  json_object_put(c);
  c = row("endpoints", "", "{\"metadata\":{\"name\":\"e\"}}", T0);
  assert_string_equal(cell(c, 1), "<none>");
  json_object_put(c);
}

static void test_table_node_and_misc(void **state) {
  (void)state;
  json_object *c =
      row("nodes", "",
          "{\"metadata\":{\"name\":\"n1\",\"creationTimestamp\":"
          "\"2026-11-25T05:00:00Z\",\"labels\":{\"node-role.kubernetes.io/"
          "control-plane\":\"\",\"kubernetes.io/role\":\"master\"}},\"spec\":{"
          "\"unschedulable\":true},\"status\":{\"conditions\":[{\"type\":"
          "\"Ready\",\"status\":\"True\"}],\"addresses\":[{\"type\":"
          "\"InternalIP\",\"address\":\"192.168.1.2\"}],\"nodeInfo\":{"
          "\"kubeletVersion\":\"v1.32.0\",\"osImage\":\"Debian GNU/Linux 12\","
          "\"kernelVersion\":\"6.1.0\",\"containerRuntimeVersion\":"
          "\"libkube://0.1.0\"}}}",
          T0);
  assert_string_equal(cell(c, 1), "Ready,SchedulingDisabled");
  assert_string_equal(cell(c, 2), "control-plane,master");
  assert_string_equal(cell(c, 3), "2d");
  assert_string_equal(cell(c, 4), "v1.32.0");
  assert_string_equal(cell(c, 5), "192.168.1.2");
  assert_string_equal(cell(c, 6), "<none>");
  assert_string_equal(cell(c, 7), "Debian GNU/Linux 12");
  assert_string_equal(cell(c, 9), "libkube://0.1.0");
  json_object_put(c);
  c = row("nodes", "", "{\"metadata\":{\"name\":\"n2\"}}", T0);
  assert_string_equal(cell(c, 1), "Unknown");
  assert_string_equal(cell(c, 2), "<none>");
  assert_string_equal(cell(c, 8), "<unknown>");
  json_object_put(c);

  c = row("namespaces", "",
          "{\"metadata\":{\"name\":\"default\"},\"status\":{\"phase\":"
          "\"Active\"}}",
          T0);
  assert_string_equal(cell(c, 1), "Active");
  json_object_put(c);

  c = row("events", "",
          "{\"metadata\":{\"name\":\"kubia.1\"},\"involvedObject\":{\"kind\":"
          "\"Pod\",\"name\":\"kubia\",\"fieldPath\":\"spec.containers{a}\"},"
          "\"reason\":\"Pulled\",\"type\":\"Normal\",\"message\":\" Pulled "
          "image \\n\",\"source\":{\"component\":\"kubelet\",\"host\":\"n1\"},"
          "\"firstTimestamp\":\"2026-11-27T04:59:00Z\",\"lastTimestamp\":"
          "\"2026-11-27T04:59:50Z\",\"count\":2}",
          T0);
  assert_string_equal(cell(c, 0), "10s");
  assert_string_equal(cell(c, 1), "Normal");
  assert_string_equal(cell(c, 2), "Pulled");
  assert_string_equal(cell(c, 3), "pod/kubia");
  assert_string_equal(cell(c, 4), "spec.containers{a}");
  assert_string_equal(cell(c, 5), "kubelet, n1");
  assert_string_equal(cell(c, 6), "Pulled image");
  assert_string_equal(cell(c, 7), "60s");
  assert_int_equal(json_object_get_int(json_object_array_get_idx(c, 8)), 2);
  assert_string_equal(cell(c, 9), "kubia.1");
  json_object_put(c);

  c = row("configmaps", "",
          "{\"metadata\":{\"name\":\"cm\"},\"data\":{\"a\":\"1\",\"b\":\"2\"},"
          "\"binaryData\":{\"c\":\"AA==\"}}",
          T0);
  assert_int_equal(json_object_get_int(json_object_array_get_idx(c, 1)), 3);
  json_object_put(c);
  c = row("secrets", "",
          "{\"metadata\":{\"name\":\"s\"},\"type\":\"Opaque\",\"data\":{\"a\":"
          "\"MQ==\"}}",
          T0);
  assert_string_equal(cell(c, 1), "Opaque");
  assert_int_equal(json_object_get_int(json_object_array_get_idx(c, 2)), 1);
  json_object_put(c);

  c = row("horizontalpodautoscalers", "autoscaling",
          "{\"apiVersion\":\"autoscaling/v2\",\"metadata\":{\"name\":\"h\"},"
          "\"spec\":{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":"
          "\"kubia\"},\"minReplicas\":1,\"maxReplicas\":5,\"metrics\":[{"
          "\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\",\"target\":{"
          "\"type\":\"Utilization\",\"averageUtilization\":30}}}]},\"status\":{"
          "\"currentReplicas\":2}}",
          T0);
  assert_string_equal(cell(c, 1), "Deployment/kubia");
  assert_string_equal(cell(c, 2), "cpu: <unknown>/30%");
  assert_string_equal(cell(c, 3), "1");
  assert_int_equal(json_object_get_int(json_object_array_get_idx(c, 4)), 5);
  json_object_put(c);

  c = row(
      "jobs", "batch",
      "{\"metadata\":{\"name\":\"j\"},\"spec\":{\"completions\":3},"
      "\"status\":{\"succeeded\":1,\"startTime\":\"2026-11-27T04:59:00Z\"}}",
      T0);
  assert_string_equal(cell(c, 1), "Running");
  assert_string_equal(cell(c, 2), "1/3");
  assert_string_equal(cell(c, 3), "60s");
  assert_string_equal(cell(c, 7), "<none>");
  json_object_put(c);

  c = row("resourcequotas", "",
          "{\"metadata\":{\"name\":\"q\"},\"spec\":{\"hard\":{\"limits.cpu\":"
          "\"2\",\"requests.cpu\":\"1\",\"pods\":\"10\"}},\"status\":{\"used\":"
          "{\"pods\":\"3\"},\"hard\":{\"pods\":\"10\",\"requests.cpu\":\"1\","
          "\"limits.cpu\":\"2\"}}}",
          T0);
  assert_string_equal(cell(c, 2), "pods: 3/10, requests.cpu: 0/1");
  assert_string_equal(cell(c, 3), "limits.cpu: 0/2");
  json_object_put(c);

  /* kinds without a printer get NAME, AGE */
  json_object *obj = tj("{\"metadata\":{\"name\":\"x\"}}");
  c = kube_json_table_cells(NULL, obj, T0);
  assert_int_equal(json_object_array_length(c), 2);
  assert_string_equal(cell(c, 0), "x");
  json_object_put(c);
  json_object_put(obj);
}

static void test_field_lookup(void **state) {
  (void)state;
  json_object *pod =
      tj("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\","
         "\"namespace\":\"ns\",\"labels\":{\"app\":\"x\"}},\"spec\":{"
         "\"nodeName\":\"n1\",\"restartPolicy\":\"Always\"},\"status\":{"
         "\"phase\":\"Running\",\"podIP\":\"10.0.0.1\"}}");
  assert_string_equal(kube_json_field_lookup(pod, "metadata.name"), "p");
  assert_string_equal(kube_json_field_lookup(pod, "metadata.namespace"), "ns");
  assert_string_equal(kube_json_field_lookup(pod, "spec.nodeName"), "n1");
  assert_string_equal(kube_json_field_lookup(pod, "status.phase"), "Running");
  assert_string_equal(kube_json_field_lookup(pod, "status.podIP"), "10.0.0.1");
  assert_string_equal(kube_json_field_lookup(pod, "spec.restartPolicy"),
                      "Always");
  assert_string_equal(kube_json_field_lookup(pod, "spec.schedulerName"), "");
  assert_string_equal(kube_json_field_lookup(pod, "spec.hostNetwork"), "false");
  assert_null(kube_json_field_lookup(pod, "spec.containers"));
  assert_string_equal(kube_json_label_lookup(pod, "app"), "x");
  assert_null(kube_json_label_lookup(pod, "nope"));
  json_object_put(pod);

  json_object *ev =
      tj("{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":"
         "\"e\"},\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"p\","
         "\"namespace\":\"ns\",\"uid\":\"u\"},\"reason\":\"Started\","
         "\"source\":{\"component\":\"kubelet\"},\"type\":\"Normal\"}");
  assert_string_equal(kube_json_field_lookup(ev, "involvedObject.name"), "p");
  assert_string_equal(kube_json_field_lookup(ev, "involvedObject.uid"), "u");
  assert_string_equal(kube_json_field_lookup(ev, "involvedObject.fieldPath"),
                      "");
  assert_string_equal(kube_json_field_lookup(ev, "source"), "kubelet");
  assert_string_equal(kube_json_field_lookup(ev, "reason"), "Started");
  assert_string_equal(kube_json_field_lookup(ev, "type"), "Normal");
  json_object_put(ev);

  json_object *node = tj("{\"apiVersion\":\"v1\",\"kind\":\"Node\","
                         "\"metadata\":{\"name\":\"n\"},\"spec\":{"
                         "\"unschedulable\":true}}");
  assert_string_equal(kube_json_field_lookup(node, "spec.unschedulable"),
                      "true");
  json_object_put(node);
  json_object *sec = tj("{\"apiVersion\":\"v1\",\"kind\":\"Secret\","
                        "\"metadata\":{\"name\":\"s\"},\"type\":\"Opaque\"}");
  assert_string_equal(kube_json_field_lookup(sec, "type"), "Opaque");
  json_object_put(sec);
  json_object *rs = tj("{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\","
                       "\"metadata\":{\"name\":\"r\"},\"status\":{"
                       "\"replicas\":4}}");
  assert_string_equal(kube_json_field_lookup(rs, "status.replicas"), "4");
  json_object_put(rs);
}

static void test_table_hpa_v1(void **state) {
  (void)state;
  /* a v1 object printed through the (preferred) v2 kind */
  json_object *c =
      row("horizontalpodautoscalers", "autoscaling",
          "{\"apiVersion\":\"autoscaling/v1\",\"metadata\":{\"name\":\"h\"},"
          "\"spec\":{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":"
          "\"kubia\"},\"maxReplicas\":5,\"targetCPUUtilizationPercentage\":30},"
          "\"status\":{\"currentCPUUtilizationPercentage\":12}}",
          T0);
  assert_string_equal(cell(c, 2), "cpu: 12%/30%");
  assert_string_equal(cell(c, 3), "<unset>");
  json_object_put(c);
  /* and an events.k8s.io event through the core kind */
  c = row("events", "",
          "{\"apiVersion\":\"events.k8s.io/v1\",\"metadata\":{\"name\":"
          "\"e\"},\"regarding\":{\"kind\":\"Pod\",\"name\":\"p\"},"
          "\"note\":\"hello\",\"reason\":\"R\",\"type\":\"Normal\","
          "\"eventTime\":\"2026-11-27T04:59:58.000000Z\","
          "\"reportingController\":\"ctl\",\"reportingInstance\":\"i\"}",
          T0);
  assert_string_equal(cell(c, 0), "2s");
  assert_string_equal(cell(c, 3), "pod/p");
  assert_string_equal(cell(c, 5), "ctl, i");
  assert_string_equal(cell(c, 6), "hello");
  json_object_put(c);
}

/* kube-apiserver's printPodDisruptionBudget: IntOrString.String() or
 * N/A, the allowed disruptions; and the validation of the spec. */
static void test_pdb(void **state) {
  (void)state;
  json_object *c = row("poddisruptionbudgets", "policy",
                       "{\"metadata\":{\"name\":\"b\",\"creationTimestamp\":"
                       "\"2026-11-27T04:59:00Z\"},\"spec\":{\"minAvailable\":"
                       "\"50%\"},\"status\":{\"disruptionsAllowed\":2}}",
                       T0);
  assert_string_equal(cell(c, 0), "b");
  assert_string_equal(cell(c, 1), "50%");
  assert_string_equal(cell(c, 2), "N/A");
  assert_int_equal(json_object_get_int64(json_object_array_get_idx(c, 3)), 2);
  assert_string_equal(cell(c, 4), "60s");
  json_object_put(c);
  c = row("poddisruptionbudgets", "policy",
          "{\"metadata\":{\"name\":\"b\"},\"spec\":{\"maxUnavailable\":0}}",
          T0);
  assert_string_equal(cell(c, 1), "N/A");
  assert_string_equal(cell(c, 2), "0");
  assert_int_equal(json_object_get_int64(json_object_array_get_idx(c, 3)), 0);
  json_object_put(c);

  const kube_kind_t *k =
      kube_kind_by_resource("policy", "v1", "poddisruptionbudgets");
  static const struct {
    const char *spec, *message;
  } bad[] = {
      {"\"minAvailable\":1,\"maxUnavailable\":1",
       "spec: Invalid value: policy.PodDisruptionBudgetSpec{...}: "
       "minAvailable and maxUnavailable cannot be both set"},
      {"\"minAvailable\":\"101%\"",
       "spec.minAvailable: Invalid value: \"101%\": must not be greater "
       "than 100%"},
      {"\"maxUnavailable\":-2",
       "spec.maxUnavailable: Invalid value: -2: must be greater than or equal "
       "to 0"},
      {"\"minAvailable\":1,\"unhealthyPodEvictionPolicy\":\"X\"",
       "spec.unhealthyPodEvictionPolicy: Unsupported value: \"X\": supported "
       "values: \"AlwaysAllow\", \"IfHealthyBudget\""},
  };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    char json[256];
    snprintf(json, sizeof json,
             "{\"apiVersion\":\"policy/v1\",\"kind\":"
             "\"PodDisruptionBudget\",\"metadata\":{\"name\":\"b\","
             "\"namespace\":\"default\"},\"spec\":{%s}}",
             bad[i].spec);
    json_object *obj = tj(json);
    kube_error_t err = KUBE_ERROR_INIT;
    assert_int_equal(kube_json_validate(obj, NULL, k, &err), -1);
    assert_int_equal(err.reason, KUBE_REASON_INVALID);
    if (!strstr(err.message, bad[i].message))
      fail_msg("%s", err.message);
    kube_error_clear(&err);
    json_object_put(obj);
  }
}

/* NetworkPolicy: printNetworkPolicy's POD-SELECTOR, the defaults of
 * SetDefaults_NetworkPolicy(Port) and ValidateNetworkPolicy's wording. */
static void test_netpol(void **state) {
  (void)state;
  json_object *c = row("networkpolicies", "networking.k8s.io",
                       "{\"metadata\":{\"name\":\"d\"},\"spec\":{"
                       "\"podSelector\":{}}}",
                       T0);
  assert_string_equal(cell(c, 0), "d");
  assert_string_equal(cell(c, 1), "<none>");
  json_object_put(c);
  c = row("networkpolicies", "networking.k8s.io",
          "{\"metadata\":{\"name\":\"w\"},\"spec\":{\"podSelector\":{"
          "\"matchLabels\":{\"app\":\"web\"}}}}",
          T0);
  assert_string_equal(cell(c, 1), "app=web");
  json_object_put(c);

  const kube_kind_t *k =
      kube_kind_by_resource("networking.k8s.io", "v1", "networkpolicies");
  assert_non_null(k);
  json_object *o = tj("{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":"
                      "\"NetworkPolicy\",\"metadata\":{\"name\":\"n\"},"
                      "\"spec\":{\"egress\":[{\"ports\":[{\"port\":53}]}]}}");
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_json_default(o, k, &err), 0);
  assert_string_equal(
      json_object_to_json_string_ext(kube_json_get(o, "spec"),
                                     JSON_C_TO_STRING_PLAIN),
      "{\"egress\":[{\"ports\":[{\"port\":53,\"protocol\":\"TCP\"}]}],"
      "\"podSelector\":{},\"policyTypes\":[\"Ingress\",\"Egress\"]}");
  json_object_put(o);

  static const struct {
    const char *spec, *message;
  } bad[] = {
      {"\"ingress\":[{\"ports\":[{\"protocol\":\"ICMP\"}]}]",
       "spec.ingress[0].ports[0].protocol: Unsupported value: \"ICMP\": "
       "supported values: \"TCP\", \"UDP\", \"SCTP\""},
      {"\"ingress\":[{\"ports\":[{\"port\":90,\"endPort\":80}]}]",
       "spec.ingress[0].ports[0].endPort: Invalid value: 90: must be greater "
       "than or equal to `port`"},
      {"\"egress\":[{\"ports\":[{\"port\":\"http\",\"endPort\":9}]}]",
       "spec.egress[0].ports[0].endPort: Invalid value: 9: may not be "
       "specified when `port` is non-numeric"},
      {"\"ingress\":[{\"from\":[{}]}]",
       "spec.ingress[0].from[0]: Required value: must specify a peer"},
      {"\"egress\":[{\"to\":[{\"podSelector\":{},\"ipBlock\":{\"cidr\":"
       "\"10.0.0.0/8\"}}]}]",
       "spec.egress[0].to[0]: Forbidden: may not specify both ipBlock and "
       "another peer"},
      {"\"ingress\":[{\"from\":[{\"ipBlock\":{\"cidr\":\"10.0.0.0/8\","
       "\"except\":[\"10.0.0.0/8\"]}}]}]",
       "spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "
       "\"10.0.0.0/8\": must be a strict subset of `cidr`"},
      {"\"ingress\":[{\"from\":[{\"ipBlock\":{\"cidr\":\"10.0.0.1\"}}]}]",
       "spec.ingress[0].from[0].ipBlock.cidr: Invalid value: \"10.0.0.1\": "
       "must be a valid CIDR value"},
      {"\"policyTypes\":[\"Ingress\",\"Sideways\"]",
       "spec.policyTypes[1]: Unsupported value: \"Sideways\": supported "
       "values: \"Ingress\", \"Egress\""},
  };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    char json[512];
    snprintf(json, sizeof json,
             "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":"
             "\"NetworkPolicy\",\"metadata\":{\"name\":\"n\","
             "\"namespace\":\"default\"},\"spec\":{\"podSelector\":{},%s}}",
             bad[i].spec);
    json_object *obj = tj(json);
    assert_int_equal(kube_json_validate(obj, NULL, k, &err), -1);
    assert_int_equal(err.reason, KUBE_REASON_INVALID);
    if (!strstr(err.message, bad[i].message))
      fail_msg("%s", err.message);
    kube_error_clear(&err);
    json_object_put(obj);
  }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_netpol),
    cmocka_unit_test(test_pdb),
    cmocka_unit_test(test_table_hpa_v1),
    cmocka_unit_test(test_table_pod),
    cmocka_unit_test(test_table_deployment),
    cmocka_unit_test(test_table_service),
    cmocka_unit_test(test_table_node_and_misc),
    cmocka_unit_test(test_field_lookup),
};

const struct CMUnitTest *table_tests(size_t *n) {
  *n = ARRAY_SIZE(tests);
  return tests;
}
