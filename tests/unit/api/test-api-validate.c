/* SPDX-License-Identifier: Apache-2.0 */
/* Defaulting and validation. */
#include "test-api.h"

static json_object *defaulted(const char *json) {
  json_object *o = tj(json);
  kube_error_t err = KUBE_ERROR_INIT;
  if (kube_json_default(o, NULL, &err) < 0)
    fail_msg("default: %s", err.message);
  return o;
}

static void expect_str(json_object *o, const char *path, const char *want) {
  const char *got = kube_json_get_string(o, path);
  if (!got || !streq(got, want))
    fail_msg("%s: \"%s\" != \"%s\"", path, got ? got : "(null)", want);
}

static void expect_int(json_object *o, const char *path, int64_t want) {
  json_object *v = kube_json_get(o, path);
  if (!json_object_is_type(v, json_type_int) ||
      json_object_get_int64(v) != want)
    fail_msg("%s: %s != %lld", path,
             v ? json_object_to_json_string(v) : "(absent)", (long long)want);
}

/* ---- defaulting --------------------------------------------------------- */

static const char *POD =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"kubia\","
    "\"namespace\":\"default\"},\"spec\":{\"containers\":[{\"name\":\"a\","
    "\"image\":\"kubia\",\"ports\":[{\"containerPort\":8080}]},{\"name\":\"b\","
    "\"image\":\"nginx:1.25\",\"resources\":{\"limits\":{\"cpu\":\"500m\","
    "\"memory\":\"128Mi\"}},\"livenessProbe\":{\"httpGet\":{\"port\":80}}},{"
    "\"name\":\"c\",\"image\":\"reg.io:5000/x/y:latest\"}],\"volumes\":[{"
    "\"name\":\"v\"}]}}";

static void test_default_pod(void **state) {
  (void)state;
  json_object *o = defaulted(POD);
  expect_str(o, "spec.restartPolicy", "Always");
  expect_str(o, "spec.dnsPolicy", "ClusterFirst");
  expect_str(o, "spec.schedulerName", "default-scheduler");
  expect_int(o, "spec.terminationGracePeriodSeconds", 30);
  assert_true(json_object_is_type(kube_json_get(o, "spec.securityContext"),
                                  json_type_object));
  assert_true(
      json_object_get_boolean(kube_json_get(o, "spec.enableServiceLinks")));
  expect_str(o, "spec.serviceAccountName", "default");
  expect_int(o, "spec.priority", 0);
  expect_str(o, "spec.preemptionPolicy", "PreemptLowerPriority");
  expect_str(o, "spec.containers.0.imagePullPolicy", "Always");
  expect_str(o, "spec.containers.1.imagePullPolicy", "IfNotPresent");
  expect_str(o, "spec.containers.2.imagePullPolicy", "Always");
  expect_str(o, "spec.containers.0.terminationMessagePath",
             "/dev/termination-log");
  expect_str(o, "spec.containers.0.terminationMessagePolicy", "File");
  expect_str(o, "spec.containers.0.ports.0.protocol", "TCP");
  assert_true(json_object_is_type(
      kube_json_get(o, "spec.containers.0.resources"), json_type_object));
  /* requests default to limits */
  expect_str(o, "spec.containers.1.resources.requests.cpu", "500m");
  expect_str(o, "spec.containers.1.resources.requests.memory", "128Mi");
  expect_int(o, "spec.containers.1.livenessProbe.timeoutSeconds", 1);
  expect_int(o, "spec.containers.1.livenessProbe.periodSeconds", 10);
  expect_int(o, "spec.containers.1.livenessProbe.failureThreshold", 3);
  expect_str(o, "spec.containers.1.livenessProbe.httpGet.path", "/");
  expect_str(o, "spec.containers.1.livenessProbe.httpGet.scheme", "HTTP");
  assert_non_null(kube_json_get(o, "spec.volumes.0.emptyDir"));
  expect_str(o, "spec.tolerations.0.key", "node.kubernetes.io/not-ready");
  expect_int(o, "spec.tolerations.1.tolerationSeconds", 300);
  expect_str(o, "status.phase", "Pending");
  expect_str(o, "status.qosClass", "Burstable");

  /* idempotent */
  json_object *again = NULL;
  json_object_deep_copy(o, &again, NULL);
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_json_default(again, NULL, &err), 0);
  assert_true(json_object_equal(o, again));
  json_object_put(again);

  /* and a defaulted pod is valid */
  assert_int_equal(kube_json_validate(o, NULL, NULL, &err), 0);
  json_object_put(o);

  o = defaulted("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{"
                "\"name\":\"g\"},\"spec\":{\"containers\":[{\"name\":\"a\","
                "\"image\":\"x@sha256:abc\",\"resources\":{\"limits\":{\"cpu\":"
                "\"1\",\"memory\":\"1Gi\"}}}]}}");
  expect_str(o, "status.qosClass", "Guaranteed");
  expect_str(o, "spec.containers.0.imagePullPolicy", "IfNotPresent");
  json_object_put(o);
  o = defaulted("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{"
                "\"name\":\"g\"},\"spec\":{\"containers\":[{\"name\":\"a\","
                "\"image\":\"x\"}]}}");
  expect_str(o, "status.qosClass", "BestEffort");
  json_object_put(o);
}

static void test_default_others(void **state) {
  (void)state;
  json_object *o = defaulted(
      "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"
      "\"kubia\"},\"spec\":{\"selector\":{\"app\":\"kubia\"},\"ports\":[{"
      "\"port\":80},{\"port\":443,\"targetPort\":8443,\"name\":\"https\"}]}}");
  expect_str(o, "spec.type", "ClusterIP");
  expect_str(o, "spec.sessionAffinity", "None");
  expect_str(o, "spec.ports.0.protocol", "TCP");
  expect_int(o, "spec.ports.0.targetPort", 80);
  expect_int(o, "spec.ports.1.targetPort", 8443);
  json_object_put(o);

  o = defaulted(
      "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{"
      "\"name\":\"d\"},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":"
      "\"d\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"d\"}},"
      "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}");
  expect_int(o, "spec.replicas", 1);
  expect_str(o, "spec.strategy.type", "RollingUpdate");
  expect_str(o, "spec.strategy.rollingUpdate.maxUnavailable", "25%");
  expect_str(o, "spec.strategy.rollingUpdate.maxSurge", "25%");
  expect_int(o, "spec.revisionHistoryLimit", 10);
  expect_int(o, "spec.progressDeadlineSeconds", 600);
  expect_str(o, "spec.template.spec.restartPolicy", "Always");
  expect_str(o, "spec.template.spec.containers.0.imagePullPolicy", "Always");
  /* no pod-only admission defaults in templates */
  assert_null(kube_json_get(o, "spec.template.spec.tolerations"));
  json_object_put(o);

  o = defaulted("{\"apiVersion\":\"v1\",\"kind\":\"ReplicationController\","
                "\"metadata\":{\"name\":\"rc\"},\"spec\":{\"template\":{"
                "\"metadata\":{\"labels\":{\"app\":\"x\"}},\"spec\":{"
                "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}");
  expect_int(o, "spec.replicas", 1);
  expect_str(o, "spec.selector.app", "x");
  expect_str(o, "metadata.labels.app", "x");
  json_object_put(o);

  o = defaulted("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":"
                "{\"name\":\"ns\"}}");
  expect_str(o, "spec.finalizers.0", "kubernetes");
  expect_str(o, "status.phase", "Active");
  json_object_put(o);

  o = defaulted("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":"
                "{\"name\":\"s\"},\"data\":{\"a\":\"eA==\",\"b\":\"eA==\"},"
                "\"stringData\":{\"b\":\"hello\",\"c\":\"hi!\",\"d\":\"\"}}");
  expect_str(o, "type", "Opaque");
  expect_str(o, "data.a", "eA==");
  expect_str(o, "data.b", "aGVsbG8=");
  expect_str(o, "data.c", "aGkh");
  expect_str(o, "data.d", "");
  assert_null(kube_json_get(o, "stringData"));
  json_object_put(o);

  o = defaulted("{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":"
                "{\"name\":\"j\",\"uid\":\"u1\"},\"spec\":{\"template\":{"
                "\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{"
                "\"name\":\"c\",\"image\":\"i\"}]}}}}");
  expect_int(o, "spec.completions", 1);
  expect_int(o, "spec.parallelism", 1);
  expect_int(o, "spec.backoffLimit", 6);
  assert_string_equal(json_object_get_string(json_object_object_get(
                          kube_json_get(o, "spec.selector.matchLabels"),
                          "batch.kubernetes.io/controller-uid")),
                      "u1");
  assert_string_equal(
      json_object_get_string(json_object_object_get(
          kube_json_get(o, "spec.template.metadata.labels"), "job-name")),
      "j");
  json_object_put(o);

  o = defaulted("{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\","
                "\"metadata\":{\"name\":\"s\"},\"spec\":{}}");
  expect_str(o, "spec.podManagementPolicy", "OrderedReady");
  expect_str(o, "spec.updateStrategy.type", "RollingUpdate");
  expect_int(o, "spec.replicas", 1);
  json_object_put(o);

  o = defaulted("{\"apiVersion\":\"autoscaling/v2\",\"kind\":"
                "\"HorizontalPodAutoscaler\",\"metadata\":{\"name\":\"h\"},"
                "\"spec\":{\"maxReplicas\":3}}");
  expect_int(o, "spec.minReplicas", 1);
  expect_int(o, "spec.metrics.0.resource.target.averageUtilization", 80);
  json_object_put(o);

  /* unknown kinds are left alone */
  o = defaulted("{\"apiVersion\":\"x/v1\",\"kind\":\"Y\"}");
  assert_int_equal(json_object_object_length(o), 2);
  json_object_put(o);
}

/* ---- validation -------------------------------------------------------------
 */

/* Validate a defaulted object and return the error (caller clears). */
static kube_error_t check(const char *json, const char *old_json) {
  kube_error_t err = KUBE_ERROR_INIT;
  json_object *o = defaulted(json);
  json_object *old = old_json ? defaulted(old_json) : NULL;
  int r = kube_json_validate(o, old, NULL, &err);
  assert_int_equal(r < 0, kube_error_is_set(&err));
  json_object_put(o);
  json_object_put(old);
  return err;
}

static void expect_cause(const kube_error_t *err, const char *field,
                         const char *type, const char *message) {
  for (size_t i = 0; i < err->n_causes; i++) {
    const kube_error_cause_t *c = &err->causes[i];
    if (streq(c->field, field) && streq(c->type, type) &&
        (!message || streq(c->message, message)))
      return;
  }
  fprintf(stderr, "causes:\n");
  for (size_t i = 0; i < err->n_causes; i++)
    fprintf(stderr, "  %s %s %s\n", err->causes[i].field, err->causes[i].type,
            err->causes[i].message);
  fail_msg("no cause %s %s %s", field, type, message ? message : "");
}

#define PODJ(meta, spec)                                                       \
  "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":" meta                 \
  ",\"spec\":" spec "}"
#define NS_META(name) "{\"name\":\"" name "\",\"namespace\":\"default\"}"

static void test_validate_pod_messages(void **state) {
  (void)state;
  kube_error_t err =
      check(PODJ(NS_META("x"), "{\"containers\":[{\"name\":\"c\"}]}"), NULL);
  assert_int_equal(err.reason, KUBE_REASON_INVALID);
  assert_string_equal(err.message,
                      "Pod \"x\" is invalid: spec.containers[0].image: "
                      "Required value");
  assert_int_equal(err.n_causes, 1);
  expect_cause(&err, "spec.containers[0].image", "FieldValueRequired",
               "Required value");
  assert_string_equal(err.details_kind, "Pod");
  assert_string_equal(err.details_name, "x");
  kube_error_clear(&err);

  err = check(PODJ(NS_META("Bad_Name"),
                   "{\"restartPolicy\":\"Sometimes\",\"containers\":[{"
                   "\"name\":\"c\",\"image\":\"i\",\"ports\":[{"
                   "\"containerPort\":70000,\"protocol\":\"HTTP\"}]},{"
                   "\"name\":\"c\",\"image\":\"i\",\"resources\":{"
                   "\"requests\":{\"cpu\":\"2\"},\"limits\":{\"cpu\":\"1\","
                   "\"memory\":\"lots\"}}}]}"),
              NULL);
  assert_true(str_has_prefix(err.message, "Pod \"Bad_Name\" is invalid: ["));
  expect_cause(&err, "metadata.name", "FieldValueInvalid",
               "Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain "
               "must consist of lower case alphanumeric characters, '-' or "
               "'.', and must start and end with an alphanumeric character "
               "(e.g. 'example.com', regex used for validation is "
               "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9]"
               ")?)*')");
  expect_cause(&err, "spec.restartPolicy", "FieldValueNotSupported",
               "Unsupported value: \"Sometimes\": supported values: "
               "\"Always\", \"Never\", \"OnFailure\"");
  expect_cause(&err, "spec.containers[0].ports[0].containerPort",
               "FieldValueInvalid",
               "Invalid value: 70000: must be between 1 and 65535, inclusive");
  expect_cause(&err, "spec.containers[0].ports[0].protocol",
               "FieldValueNotSupported",
               "Unsupported value: \"HTTP\": supported values: \"SCTP\", "
               "\"TCP\", \"UDP\"");
  expect_cause(&err, "spec.containers[1].name", "FieldValueDuplicate",
               "Duplicate value: \"c\"");
  expect_cause(&err, "spec.containers[1].resources.limits[memory]",
               "FieldValueInvalid", NULL);
  expect_cause(&err, "spec.containers[1].resources.requests[cpu]",
               "FieldValueInvalid",
               "Invalid value: \"2\": must be less than or equal to cpu limit "
               "of 1");
  assert_non_null(strstr(err.message, "spec.restartPolicy: Unsupported value"));
  kube_error_clear(&err);

  err = check(PODJ("{\"name\":\"p\"}", "{}"), NULL);
  expect_cause(&err, "metadata.namespace", "FieldValueRequired", NULL);
  expect_cause(&err, "spec.containers", "FieldValueRequired", NULL);
  kube_error_clear(&err);

  err =
      check(PODJ("{\"namespace\":\"default\",\"labels\":{\"bad key!\":\"v\","
                 "\"ok\":\"bad value!\"}}",
                 "{\"containers\":[{\"name\":\"c\",\"image\":\"i\","
                 "\"volumeMounts\":[{\"name\":\"nope\",\"mountPath\":\"/d\"}],"
                 "\"env\":[{\"name\":\"1X\"}]}],\"tolerations\":[{"
                 "\"key\":\"k\",\"operator\":\"Exists\",\"value\":\"v\"}],"
                 "\"affinity\":{\"podAntiAffinity\":{"
                 "\"requiredDuringSchedulingIgnoredDuringExecution\":[{"
                 "\"labelSelector\":{\"matchLabels\":{\"a\":\"b\"}}}]},"
                 "\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuring"
                 "Execution\":{\"nodeSelectorTerms\":[{\"matchExpressions\":"
                 "[{\"key\":\"k\",\"operator\":\"In\"}]}]}}}}"),
            NULL);
  expect_cause(&err, "metadata.name", "FieldValueRequired",
               "Required value: name or generateName is required");
  expect_cause(&err, "metadata.labels", "FieldValueInvalid", NULL);
  expect_cause(&err, "spec.containers[0].volumeMounts[0].name",
               "FieldValueNotFound", "Not found: \"nope\"");
  expect_cause(&err, "spec.containers[0].env[0].name", "FieldValueInvalid",
               NULL);
  expect_cause(&err, "spec.tolerations[0].operator", "FieldValueInvalid",
               "Invalid value: \"v\": value must be empty when `operator` is "
               "'Exists'");
  expect_cause(&err,
               "spec.affinity.podAntiAffinity."
               "requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey",
               "FieldValueRequired", "Required value: can not be empty");
  expect_cause(&err,
               "spec.affinity.nodeAffinity."
               "requiredDuringSchedulingIgnoredDuringExecution."
               "nodeSelectorTerms[0].matchExpressions[0].values",
               "FieldValueRequired", NULL);
  kube_error_clear(&err);
}

static void test_validate_pod_update(void **state) {
  (void)state;
  const char *old =
      PODJ(NS_META("p"), "{\"containers\":[{\"name\":\"c\",\"image\":\"a\"}]}");
  /* image changes are allowed */
  kube_error_t err = check(
      PODJ(NS_META("p"), "{\"containers\":[{\"name\":\"c\",\"image\":\"b\"}]}"),
      old);
  assert_false(kube_error_is_set(&err));
  /* other spec changes are not */
  err = check(PODJ(NS_META("p"),
                   "{\"nodeName\":\"n\",\"containers\":[{\"name\":\"c\","
                   "\"image\":\"a\"}]}"),
              old);
  expect_cause(&err, "spec", "FieldValueForbidden", NULL);
  assert_non_null(strstr(err.message, "pod updates may not change fields"));
  kube_error_clear(&err);
  /* metadata.name is immutable */
  err = check(
      PODJ(NS_META("q"), "{\"containers\":[{\"name\":\"c\",\"image\":\"a\"}]}"),
      old);
  expect_cause(&err, "metadata.name", "FieldValueInvalid",
               "Invalid value: \"q\": field is immutable");
  kube_error_clear(&err);
}

#define DEPJ(spec)                                                             \
  "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{"         \
  "\"name\":\"d\",\"namespace\":\"default\"},\"spec\":" spec "}"
#define TMPL(labels)                                                           \
  "\"template\":{\"metadata\":{\"labels\":" labels "},\"spec\":{"              \
  "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}"

static void test_validate_workloads(void **state) {
  (void)state;
  kube_error_t err =
      check(DEPJ("{\"selector\":{\"matchLabels\":{\"app\":\"d\"}}," TMPL(
                "{\"app\":\"d\"}") "}"),
            NULL);
  assert_false(kube_error_is_set(&err));

  err = check(DEPJ("{\"replicas\":-1,\"selector\":{\"matchLabels\":{\"app\":"
                   "\"x\"}}," TMPL("{\"app\":\"d\",\"b\":\"c\"}") "}"),
              NULL);
  assert_true(
      str_has_prefix(err.message, "Deployment.apps \"d\" is invalid: ["));
  expect_cause(&err, "spec.replicas", "FieldValueInvalid",
               "Invalid value: -1: must be greater than or equal to 0");
  expect_cause(&err, "spec.template.metadata.labels", "FieldValueInvalid",
               "Invalid value: map[string]string{\"app\":\"d\", \"b\":\"c\"}: "
               "`selector` does not match template `labels`");
  kube_error_clear(&err);

  err = check(DEPJ("{" TMPL("{\"app\":\"d\"}") "}"), NULL);
  expect_cause(&err, "spec.selector", "FieldValueRequired", NULL);
  kube_error_clear(&err);

  err = check(DEPJ("{\"selector\":{\"matchLabels\":{\"app\":\"d\"}},"
                   "\"strategy\":{\"type\":\"Recreate\",\"rollingUpdate\":{}},"
                   "\"template\":{\"metadata\":{\"labels\":{\"app\":\"d\"}},"
                   "\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{"
                   "\"name\":\"c\",\"image\":\"i\"}]}}}"),
              NULL);
  expect_cause(&err, "spec.strategy.rollingUpdate", "FieldValueForbidden",
               NULL);
  expect_cause(&err, "spec.template.spec.restartPolicy",
               "FieldValueNotSupported",
               "Unsupported value: \"Never\": supported values: \"Always\"");
  kube_error_clear(&err);

  /* selector is immutable */
  err = check(DEPJ("{\"selector\":{\"matchLabels\":{\"app\":\"e\"}}," TMPL(
                  "{\"app\":\"e\"}") "}"),
              DEPJ("{\"selector\":{\"matchLabels\":{\"app\":\"d\"}}," TMPL(
                  "{\"app\":\"d\"}") "}"));
  expect_cause(&err, "spec.selector", "FieldValueInvalid", NULL);
  assert_non_null(strstr(err.causes[0].message, "field is immutable"));
  kube_error_clear(&err);

  /* ReplicaSet and Job */
  err = check("{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\","
              "\"metadata\":{\"name\":\"r\",\"namespace\":\"n\"},\"spec\":{"
              "\"selector\":{},\"template\":{\"spec\":{\"containers\":[{"
              "\"name\":\"c\",\"image\":\"i\"}]}}}}",
              NULL);
  expect_cause(&err, "spec.selector", "FieldValueInvalid", NULL);
  kube_error_clear(&err);
  err = check("{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{"
              "\"name\":\"j\",\"namespace\":\"n\"},\"spec\":{\"template\":{"
              "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}",
              NULL);
  expect_cause(&err, "spec.template.spec.restartPolicy",
               "FieldValueNotSupported",
               "Unsupported value: \"Always\": supported values: "
               "\"OnFailure\", \"Never\"");
  kube_error_clear(&err);
  err = check("{\"apiVersion\":\"batch/v1\",\"kind\":\"CronJob\",\"metadata\":"
              "{\"name\":\"c\",\"namespace\":\"n\"},\"spec\":{\"schedule\":"
              "\"* * *\",\"jobTemplate\":{\"spec\":{\"template\":{\"spec\":{"
              "\"restartPolicy\":\"OnFailure\",\"containers\":[{\"name\":"
              "\"c\",\"image\":\"i\"}]}}}}}}",
              NULL);
  expect_cause(&err, "spec.schedule", "FieldValueInvalid", NULL);
  assert_int_equal(err.n_causes, 1);
  kube_error_clear(&err);
  err = check("{\"apiVersion\":\"autoscaling/v2\",\"kind\":"
              "\"HorizontalPodAutoscaler\",\"metadata\":{\"name\":\"h\","
              "\"namespace\":\"n\"},\"spec\":{\"minReplicas\":3,"
              "\"maxReplicas\":2,\"scaleTargetRef\":{\"kind\":\"Deployment\","
              "\"name\":\"d\"}}}",
              NULL);
  expect_cause(&err, "spec.maxReplicas", "FieldValueInvalid",
               "Invalid value: 2: must be greater than or equal to "
               "`minReplicas`");
  kube_error_clear(&err);
}

static void test_validate_services_and_config(void **state) {
  (void)state;
  kube_error_t err = check(
      "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"
      "\"1svc\",\"namespace\":\"default\"},\"spec\":{\"type\":\"Fancy\","
      "\"clusterIP\":\"not-an-ip\",\"ports\":[{\"port\":0},{\"port\":80,"
      "\"nodePort\":30000}]}}",
      NULL);
  expect_cause(&err, "metadata.name", "FieldValueInvalid", NULL);
  assert_non_null(strstr(err.causes[0].message, "DNS-1035"));
  expect_cause(&err, "spec.type", "FieldValueNotSupported",
               "Unsupported value: \"Fancy\": supported values: "
               "\"ClusterIP\", \"ExternalName\", \"LoadBalancer\", "
               "\"NodePort\"");
  expect_cause(&err, "spec.ports[0].port", "FieldValueRequired", NULL);
  expect_cause(&err, "spec.ports[0].name", "FieldValueRequired", NULL);
  expect_cause(&err, "spec.clusterIP", "FieldValueInvalid", NULL);
  expect_cause(&err, "spec.ports[1].nodePort", "FieldValueForbidden", NULL);
  kube_error_clear(&err);

  err = check("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{"
              "\"name\":\"s\",\"namespace\":\"d\"},\"spec\":{}}",
              NULL);
  expect_cause(&err, "spec.ports", "FieldValueRequired", NULL);
  kube_error_clear(&err);

  /* clusterIP is immutable */
  err = check("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{"
              "\"name\":\"s\",\"namespace\":\"d\"},\"spec\":{\"clusterIP\":"
              "\"10.0.0.2\",\"ports\":[{\"port\":80}]}}",
              "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{"
              "\"name\":\"s\",\"namespace\":\"d\"},\"spec\":{\"clusterIP\":"
              "\"10.0.0.1\",\"ports\":[{\"port\":80}]}}");
  expect_cause(&err, "spec.clusterIP", "FieldValueInvalid",
               "Invalid value: \"10.0.0.2\": field is immutable");
  kube_error_clear(&err);

  err = check("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{"
              "\"name\":\"a.b\"}}",
              NULL);
  expect_cause(&err, "metadata.name", "FieldValueInvalid",
               "Invalid value: \"a.b\": must not contain dots");
  kube_error_clear(&err);
  err = check("{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{"
              "\"name\":\"n\",\"namespace\":\"x\"}}",
              NULL);
  expect_cause(&err, "metadata.namespace", "FieldValueForbidden",
               "Forbidden: not allowed on this type");
  kube_error_clear(&err);

  err = check("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
              "\"name\":\"c\",\"namespace\":\"d\"},\"data\":{\"a b\":\"x\","
              "\"ok.key\":\"y\"}}",
              NULL);
  expect_cause(&err, "data[a b]", "FieldValueInvalid", NULL);
  assert_int_equal(err.n_causes, 1);
  kube_error_clear(&err);
  err = check("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{"
              "\"name\":\"s\",\"namespace\":\"d\"},\"data\":{\"k\":\"!!\"},"
              "\"type\":\"kubernetes.io/tls\"}",
              NULL);
  expect_cause(&err, "data[k]", "FieldValueInvalid", NULL);
  expect_cause(&err, "data[tls.crt]", "FieldValueRequired", NULL);
  kube_error_clear(&err);
  err = check("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{"
              "\"name\":\"s\",\"namespace\":\"d\"},\"data\":{\"k\":"
              "\"aGVsbG8=\"}}",
              NULL);
  assert_false(kube_error_is_set(&err));

  /* unknown kinds */
  const char *nope = "{\"apiVersion\":\"x/v1\",\"kind\":\"Nope\"}";
  kube_object_t *o = kube_object_from_json(nope, strlen(nope), &err);
  assert_non_null(o);
  assert_int_equal(kube_object_validate(o, NULL, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  kube_object_free(o);

  /* the public pair */
  const char *pod = PODJ(NS_META("ok"),
                         "{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}");
  o = kube_object_from_json(pod, strlen(pod), &err);
  assert_int_equal(kube_object_default(o, &err), 0);
  assert_int_equal(kube_object_validate(o, NULL, &err), 0);
  kube_object_free(o);
}

/* Realistic manifests must default and validate cleanly, and defaulting
 * them twice changes nothing. */
static void check_manifest_file(const char *name) {
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", API_MANIFESTS_DIR, name);
  FILE *f = fopen(path, "r");
  if (!f)
    fail_msg("cannot open %s", path);
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
    kube_strbuf_append_len(&sb, buf, n);
  fclose(f);
  kube_error_t err = KUBE_ERROR_INIT;
  json_object *arr = kube_json_decode_stream(sb.data, sb.len, &err);
  if (!arr)
    fail_msg("%s: %s", name, err.message);
  size_t count = json_object_array_length(arr);
  assert_true(count >= 10);
  for (size_t i = 0; i < count; i++) {
    json_object *o = json_object_array_get_idx(arr, i);
    assert_int_equal(kube_json_default(o, NULL, &err), 0);
    json_object *again = NULL;
    json_object_deep_copy(o, &again, NULL);
    assert_int_equal(kube_json_default(again, NULL, &err), 0);
    assert_true(json_object_equal(o, again));
    if (kube_json_validate(o, NULL, NULL, &err) < 0)
      fail_msg("%s document %zu: %s", name, i + 1, err.message);
    /* an unchanged update is valid too */
    if (kube_json_validate(o, again, NULL, &err) < 0)
      fail_msg("%s document %zu (update): %s", name, i + 1, err.message);
    json_object_put(again);
    /* every kind prints a full table row */
    const kube_kind_t *k = kube_kind_by_kind(
        kube_json_get_string(o, "apiVersion"), kube_json_get_string(o, "kind"));
    assert_non_null(k);
    json_object *cells = kube_json_table_cells(k, o, 1795755600);
    size_t ncols = 0;
    while (k->columns[ncols].name)
      ncols++;
    assert_int_equal(json_object_array_length(cells), ncols);
    json_object_put(cells);
    /* -o yaml reads back as the same object */
    char *y = kube_json_to_yaml(o);
    json_object *back = kube_json_decode_stream(y, strlen(y), &err);
    assert_non_null(back);
    assert_true(json_object_equal(json_object_array_get_idx(back, 0), o));
    json_object_put(back);
    free(y);
  }
  json_object_put(arr);
  kube_strbuf_clear(&sb);
}

static void test_validate_real_manifests(void **state) {
  (void)state;
  check_manifest_file("workloads.yaml");
  check_manifest_file("core.yaml");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_validate_real_manifests),
    cmocka_unit_test(test_default_pod),
    cmocka_unit_test(test_default_others),
    cmocka_unit_test(test_validate_pod_messages),
    cmocka_unit_test(test_validate_pod_update),
    cmocka_unit_test(test_validate_workloads),
    cmocka_unit_test(test_validate_services_and_config),
};

const struct CMUnitTest *validate_tests(size_t *n) {
  *n = ARRAY_SIZE(tests);
  return tests;
}
