/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HorizontalPodAutoscaler conversion autoscaling/v1 <-> v2: round trips of
 * every metric source type (spec and status), behavior and conditions,
 * and the annotations kube-apiserver uses.
 */
#include "test-api.h"

static int convert(json_object *o, const char *to) {
  const kube_kind_t *k =
      kube_kind_by_resource("autoscaling", "v1", "horizontalpodautoscalers");
  assert_non_null(k);
  assert_non_null(api_kind_strategy(k)->convert);
  return api_kind_strategy(k)->convert(o, to);
}

static const char *ann(json_object *o, const char *key) {
  json_object *a = NULL, *v = NULL;
  json_object_object_get_ex(json_object_object_get(o, "metadata"),
                            "annotations", &a);
  return a && json_object_object_get_ex(a, key, &v)
             ? json_object_get_string(v)
             : NULL;
}

#define SEL "{\"matchLabels\":{\"queue\":\"q\"}}"
#define REF "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"name\":\"s\"}"

static const char v2_full[] =
    "{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\","
    "\"metadata\":{\"name\":\"h\",\"annotations\":{\"user\":\"x\"}},"
    "\"spec\":{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":\"d\","
    "\"apiVersion\":\"apps/v1\"},\"minReplicas\":2,\"maxReplicas\":9,"
    "\"metrics\":["
    "{\"type\":\"Resource\",\"resource\":{\"name\":\"memory\",\"target\":"
    "{\"type\":\"AverageValue\",\"averageValue\":\"1Gi\"}}},"
    "{\"type\":\"ContainerResource\",\"containerResource\":{\"name\":\"cpu\","
    "\"container\":\"app\",\"target\":{\"type\":\"Utilization\","
    "\"averageUtilization\":40}}},"
    "{\"type\":\"Pods\",\"pods\":{\"metric\":{\"name\":\"pps\",\"selector\":"
    SEL "},\"target\":{\"type\":\"AverageValue\",\"averageValue\":\"1k\"}}},"
    "{\"type\":\"Object\",\"object\":{\"describedObject\":" REF ","
    "\"metric\":{\"name\":\"rps\"},\"target\":{\"type\":\"AverageValue\","
    "\"averageValue\":\"5\"}}},"
    "{\"type\":\"External\",\"external\":{\"metric\":{\"name\":\"qlen\","
    "\"selector\":" SEL "},\"target\":{\"type\":\"Value\",\"value\":\"30\"}}},"
    "{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\",\"target\":"
    "{\"type\":\"Utilization\",\"averageUtilization\":70}}}],"
    "\"behavior\":{\"scaleUp\":{\"stabilizationWindowSeconds\":0,"
    "\"selectPolicy\":\"Max\",\"policies\":[{\"type\":\"Pods\",\"value\":4,"
    "\"periodSeconds\":15}]},\"scaleDown\":{\"selectPolicy\":\"Disabled\"}}},"
    "\"status\":{\"observedGeneration\":3,\"currentReplicas\":2,"
    "\"desiredReplicas\":3,\"currentMetrics\":["
    "{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\",\"current\":"
    "{\"averageValue\":\"80m\",\"averageUtilization\":81}}},"
    "{\"type\":\"ContainerResource\",\"containerResource\":{\"name\":\"cpu\","
    "\"container\":\"app\",\"current\":{\"averageValue\":\"20m\","
    "\"averageUtilization\":20}}},"
    "{\"type\":\"Pods\",\"pods\":{\"metric\":{\"name\":\"pps\"},\"current\":"
    "{\"averageValue\":\"2k\"}}},"
    "{\"type\":\"Object\",\"object\":{\"describedObject\":" REF ",\"metric\":"
    "{\"name\":\"rps\"},\"current\":{\"value\":\"7\",\"averageValue\":\"3\"}}},"
    "{\"type\":\"External\",\"external\":{\"metric\":{\"name\":\"qlen\","
    "\"selector\":" SEL "},\"current\":{\"value\":\"12\"}}},"
    "{\"type\":\"\"}],"
    "\"conditions\":[{\"type\":\"AbleToScale\",\"status\":\"True\","
    "\"lastTransitionTime\":\"2026-01-01T00:00:00Z\",\"reason\":\"R\","
    "\"message\":\"m\"}]}}";

static void test_v2_v1_v2(void **state) {
  (void)state;
  json_object *want = tj(v2_full), *o = tj(v2_full);
  assert_int_equal(convert(o, "autoscaling/v1"), 0);
  json_object *spec = json_object_object_get(o, "spec");
  json_object *st = json_object_object_get(o, "status");
  assert_string_equal(
      json_object_get_string(json_object_object_get(o, "apiVersion")),
      "autoscaling/v1");
  assert_int_equal(json_object_get_int(json_object_object_get(
                       spec, "targetCPUUtilizationPercentage")),
                   70);
  assert_null(json_object_object_get(spec, "metrics"));
  assert_null(json_object_object_get(spec, "behavior"));
  assert_int_equal(json_object_get_int(json_object_object_get(
                       st, "currentCPUUtilizationPercentage")),
                   81);
  assert_null(json_object_object_get(st, "conditions"));
  const char *m = ann(o, "autoscaling.alpha.kubernetes.io/metrics");
  assert_non_null(m);
  assert_non_null(strstr(m, "{\"type\":\"Pods\",\"pods\":{\"metricName\":"
                            "\"pps\",\"targetAverageValue\":\"1k\","
                            "\"selector\":" SEL "}}"));
  assert_non_null(strstr(m, "\"containerResource\":{\"name\":\"cpu\","
                            "\"targetAverageUtilization\":40,"
                            "\"container\":\"app\"}"));
  assert_null(strstr(m, "\"averageUtilization\":70"));
  const char *b = ann(o, "autoscaling.alpha.kubernetes.io/behavior");
  assert_non_null(b);
  assert_non_null(strstr(b, "\"ScaleDown\":{\"StabilizationWindowSeconds\":"
                            "null,\"SelectPolicy\":\"Disabled\","
                            "\"Policies\":null}"));
  assert_non_null(ann(o, "autoscaling.alpha.kubernetes.io/current-metrics"));
  assert_non_null(ann(o, "autoscaling.alpha.kubernetes.io/conditions"));
  assert_string_equal(ann(o, "user"), "x");
  /* and back: nothing lost */
  assert_int_equal(convert(o, "autoscaling/v2"), 0);
  if (!json_object_equal(o, want))
    fail_msg("round trip differs:\n%s\n%s", json_object_to_json_string(o),
             json_object_to_json_string(want));
  json_object_put(o);
  json_object_put(want);
}

static void test_v1_v2_v1(void **state) {
  (void)state;
  const char *v1 =
      "{\"apiVersion\":\"autoscaling/v1\",\"kind\":\"HorizontalPodAutoscaler\","
      "\"metadata\":{\"name\":\"h\"},\"spec\":{\"scaleTargetRef\":{\"kind\":"
      "\"Deployment\",\"name\":\"d\"},\"minReplicas\":1,\"maxReplicas\":3,"
      "\"targetCPUUtilizationPercentage\":55},\"status\":{\"currentReplicas\":"
      "1,\"desiredReplicas\":1,\"currentCPUUtilizationPercentage\":20}}";
  json_object *want = tj(v1), *o = tj(v1);
  assert_int_equal(convert(o, "autoscaling/v2"), 0);
  const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
  if (!strstr(s, "\"currentMetrics\":[{\"type\":\"Resource\",\"resource\":"
                 "{\"name\":\"cpu\",\"current\":{\"averageUtilization\":20}}}]"))
    fail_msg("v2 status: %s", s);
  assert_int_equal(convert(o, "autoscaling/v1"), 0);
  /* v1 -> v2 -> v1 adds the current metrics annotation (the v2 status has
   * one), as upstream; spec and status are as they were */
  assert_true(json_object_equal(json_object_object_get(o, "spec"),
                                json_object_object_get(want, "spec")));
  assert_true(json_object_equal(json_object_object_get(o, "status"),
                                json_object_object_get(want, "status")));
  json_object_put(o);
  json_object_put(want);
}

static void test_defaults_and_junk(void **state) {
  (void)state;
  json_object *o = tj(
      "{\"apiVersion\":\"autoscaling/v1\",\"kind\":\"HorizontalPodAutoscaler\","
      "\"metadata\":{\"name\":\"h\",\"annotations\":{"
      "\"autoscaling.alpha.kubernetes.io/metrics\":\"[not json\","
      "\"autoscaling.alpha.kubernetes.io/conditions\":\"{}\"}},"
      "\"spec\":{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":\"d\"},"
      "\"maxReplicas\":3}}");
  assert_int_equal(convert(o, "autoscaling/v2"), 0);
  assert_string_equal(
      json_object_to_json_string_ext(json_object_object_get(o, "spec"),
                                     JSON_C_TO_STRING_PLAIN),
      "{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":\"d\"},"
      "\"maxReplicas\":3,\"metrics\":[{\"type\":\"Resource\",\"resource\":"
      "{\"name\":\"cpu\",\"target\":{\"type\":\"Utilization\","
      "\"averageUtilization\":80}}}]}");
  assert_null(json_object_object_get(json_object_object_get(o, "metadata"),
                                     "annotations"));
  assert_null(json_object_object_get(o, "status"));
  assert_int_equal(convert(o, "autoscaling/v3"), -1);
  json_object_put(o);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_v2_v1_v2),
    cmocka_unit_test(test_v1_v2_v1),
    cmocka_unit_test(test_defaults_and_junk),
};

const struct CMUnitTest *convert_tests(size_t *n) {
  *n = sizeof tests / sizeof tests[0];
  return tests;
}
