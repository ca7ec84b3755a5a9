/* SPDX-License-Identifier: Apache-2.0 */
/* pod-template-hash: quantities as apimachinery parses and prints them,
 * the go-spew text of a template, the hash and its encoding. */
#include "controller/hash.h"
#include "test-controller.h"

static void canon(const char *in, const char *want) {
  kube_error_t err = KUBE_ERROR_INIT;
  char *got = ctl_quantity_canonical(in, &err);
  assert_non_null(got);
  if (!streq(got, want))
    fail_msg("canonical(%s) = %s, want %s", in, got, want);
  free(got);
}

static void test_quantity_canonical(void **state) {
  canon("0.5", "500m");
  canon("1000m", "1");
  canon("100m", "100m");
  canon("1", "1");
  canon("0", "0");
  canon("1024Mi", "1Gi");
  canon("1536Mi", "1536Mi");
  canon("1.5Gi", "1536Mi");
  canon("512Mi", "512Mi");
  canon("128974848", "128974848");
  canon("129e6", "129e6");
  canon("1000k", "1M");
  canon("0.1", "100m");
  canon("1.5", "1500m");
  canon("2Gi", "2Gi");
  canon("0.5Ki", "512");
  kube_error_t err = KUBE_ERROR_INIT;
  assert_null(ctl_quantity_canonical("abc", &err));
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
}

/* ParseQuantity keeps the text only for canonical forms: that is part of
 * what go-spew prints. */
static void test_quantity_cached_string(void **state) {
  struct ctl_goquantity q;
  assert_int_equal(ctl_goquantity_parse("100m", &q), 0);
  assert_string_equal(q.s, "100m");
  assert_int_equal(q.value, 100);
  assert_int_equal(q.scale, -3);
  assert_string_equal(q.format, "DecimalSI");
  assert_int_equal(ctl_goquantity_parse("512Mi", &q), 0);
  assert_string_equal(q.s, ""); /* 512 & 7 == 0: not kept */
  assert_int_equal(q.value, 512LL << 20);
  assert_string_equal(q.format, "BinarySI");
  assert_int_equal(ctl_goquantity_parse("100Mi", &q), 0);
  assert_string_equal(q.s, "100Mi");
  assert_int_equal(ctl_goquantity_parse("1000m", &q), 0);
  assert_string_equal(q.s, ""); /* ends with 000 */
  assert_int_equal(ctl_goquantity_parse("0", &q), 0);
  assert_string_equal(q.s, "0");
  assert_string_equal(q.format, "DecimalSI");
}

static const char *TMPL =
    "{\"metadata\":{\"creationTimestamp\":null,\"labels\":{\"app\":\"web\"}},"
    "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\","
    "\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}],"
    "\"resources\":{\"limits\":{\"cpu\":\"0.5\"}},"
    "\"terminationMessagePath\":\"/dev/termination-log\","
    "\"terminationMessagePolicy\":\"File\",\"imagePullPolicy\":\"Always\"}],"
    "\"restartPolicy\":\"Always\",\"terminationGracePeriodSeconds\":30,"
    "\"dnsPolicy\":\"ClusterFirst\",\"securityContext\":{},"
    "\"schedulerName\":\"default-scheduler\"}}";

static void has(const char *text, const char *part) {
  if (!strstr(text, part))
    fail_msg("spew lacks \"%s\" in:\n%s", part, text);
}

static void test_spew(void **state) {
  json_object *t = json_tokener_parse(TMPL);
  kube_error_t err = KUBE_ERROR_INIT;
  char *s = ctl_template_spew(t, &err);
  assert_non_null(s);
  has(s, "(v1.PodTemplateSpec){ObjectMeta:(v1.ObjectMeta){Name:(string) "
         "GenerateName:(string) Namespace:(string) SelfLink:(string) "
         "UID:(types.UID) ResourceVersion:(string) Generation:(int64)0 "
         "CreationTimestamp:(v1.Time){Time:(time.Time){wall:(uint64)0 "
         "ext:(int64)0 loc:(*time.Location)<nil>}} "
         "DeletionTimestamp:(*v1.Time)<nil> "
         "DeletionGracePeriodSeconds:(*int64)<nil> "
         "Labels:(map[string]string)map[app:web] "
         "Annotations:(map[string]string)<nil> "
         "OwnerReferences:([]v1.OwnerReference)<nil> "
         "Finalizers:([]string)<nil> "
         "ManagedFields:([]v1.ManagedFieldsEntry)<nil>} "
         "Spec:(v1.PodSpec){Volumes:([]v1.Volume)<nil> "
         "InitContainers:([]v1.Container)<nil> "
         "Containers:([]v1.Container)[{Name:(string)c Image:(string)nginx "
         "Command:([]string)<nil> Args:([]string)<nil> "
         "WorkingDir:(string) Ports:([]v1.ContainerPort)[{Name:(string) "
         "HostPort:(int32)0 ContainerPort:(int32)80 Protocol:(v1.Protocol)TCP "
         "HostIP:(string)}] EnvFrom:([]v1.EnvFromSource)<nil> "
         "Env:([]v1.EnvVar)<nil> ");
  /* "0.5" is "500m" on the wire: parsed with its text kept. */
  has(s, "Resources:(v1.ResourceRequirements){Limits:(v1.ResourceList)map["
         "cpu:{i:(resource.int64Amount){value:(int64)500 "
         "scale:(resource.Scale)-3} "
         "d:(resource.infDecAmount){Dec:(*inf.Dec)<nil>} s:(string)500m "
         "Format:(resource.Format)DecimalSI}] "
         "Requests:(v1.ResourceList)<nil> Claims:([]v1.ResourceClaim)<nil>}");
  has(s, "TerminationGracePeriodSeconds:(*int64)30 "
         "ActiveDeadlineSeconds:(*int64)<nil> DNSPolicy:(v1.DNSPolicy)"
         "ClusterFirst NodeSelector:(map[string]string)<nil>");
  /* An empty struct behind a pointer is not nil. */
  has(s, "SecurityContext:(*v1.PodSecurityContext){SELinuxOptions:(*v1."
         "SELinuxOptions)<nil> ");
  has(s, "ResourceClaims:([]v1.PodResourceClaim)<nil> "
         "Resources:(*v1.ResourceRequirements)<nil>}}");
  free(s);
  json_object_put(t);
}

static void test_hash(void **state) {
  json_object *t = json_tokener_parse(TMPL);
  char a[16], b[16], c[16];
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(ctl_template_hash(t, NULL, a, sizeof a, &err), 0);
  assert_int_equal(ctl_template_hash(t, NULL, b, sizeof b, &err), 0);
  assert_string_equal(a, b);
  /* SafeEncodeString of decimal digits: only these characters. */
  for (const char *p = a; *p; p++)
    assert_non_null(strchr("456789bcdf", *p));
  int32_t cc = 1;
  assert_int_equal(ctl_template_hash(t, &cc, c, sizeof c, &err), 0);
  assert_string_not_equal(a, c);
  /* Equal templates hash alike whatever the key order or the spelling of
   * a quantity; any change in a field changes the hash. */
  json_object *t2 = json_tokener_parse(TMPL);
  json_object *lim = kube_json_get(t2, "spec.containers.0.resources.limits");
  json_object_object_add(lim, "cpu", json_object_new_string("500m"));
  assert_int_equal(ctl_template_hash(t2, NULL, b, sizeof b, &err), 0);
  assert_string_equal(a, b);
  json_object_object_add(kube_json_get(t2, "spec.containers.0"), "image",
                         json_object_new_string("nginx:2"));
  assert_int_equal(ctl_template_hash(t2, NULL, b, sizeof b, &err), 0);
  assert_string_not_equal(a, b);
  /* The public entry point agrees. */
  kube_object_t *o = kube_object_from_json(TMPL, strlen(TMPL), &err);
  assert_int_equal(kube_pod_template_hash(o, NULL, c, sizeof c, &err), 0);
  assert_string_equal(a, c);
  assert_int_equal(kube_pod_template_hash(o, NULL, c, 4, &err), -1);
  kube_error_clear(&err);
  kube_object_free(o);
  json_object_put(t);
  json_object_put(t2);
}

int run_hash_tests(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_quantity_canonical),
      cmocka_unit_test(test_quantity_cached_string),
      cmocka_unit_test(test_spew),
      cmocka_unit_test(test_hash),
  };
  return cmocka_run_group_tests_name("controller-hash", tests, NULL, NULL);
}
