/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Static pods and the node's GC decisions, the pure parts: what a manifest
 * file becomes (NAME-NODE, bound to the node, the hash as UID and
 * config.hash, config.source file, defaults, the NoExecute toleration) and
 * what the kubelet refuses; the API server's rules for the mirror
 * annotation; the image GC's amount to free (the kubelet's usage
 * percentage, high and low thresholds).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/agent.h"

static const char *web = "apiVersion: v1\n"
                         "kind: Pod\n"
                         "metadata:\n"
                         "  name: web\n"
                         "spec:\n"
                         "  containers:\n"
                         "  - name: c\n"
                         "    image: busybox:1.35.0\n";

static kube_object_t *parse(const char *path, const char *text,
                            kube_error_t *e) {
  return nd_static_pod_parse("node-1", path, text, strlen(text), e);
}

static void test_static_pod(void **state) {
  kube_error_t e = KUBE_ERROR_INIT;
  kube_object_t *p = parse("/m/web.yaml", web, &e);
  assert_non_null(p);
  assert_string_equal(kube_object_name(p), "web-node-1");
  assert_string_equal(kube_object_namespace(p), "default");
  assert_string_equal(kube_object_get_string(p, "spec.nodeName"), "node-1");
  const char *uid = kube_object_uid(p);
  assert_non_null(uid);
  assert_int_equal(strlen(uid), 32);
  assert_string_equal(kube_object_annotation(p, ND_ANN_CONFIG_HASH), uid);
  assert_string_equal(kube_object_annotation(p, ND_ANN_CONFIG_SOURCE), "file");
  assert_null(kube_object_annotation(p, ND_ANN_CONFIG_MIRROR));
  assert_string_equal(kube_object_get_string(p, "spec.restartPolicy"),
                      "Always");
  assert_string_equal(kube_object_get_string(p, "spec.tolerations.0.effect"),
                      "NoExecute");
  /* the same file gives the same UID; another path or content another */
  kube_object_t *same = parse("/m/web.yaml", web, &e);
  kube_object_t *moved = parse("/m/web2.yaml", web, &e);
  assert_non_null(same);
  assert_non_null(moved);
  assert_string_equal(kube_object_uid(same), uid);
  assert_string_not_equal(kube_object_uid(moved), uid);
  kube_object_free(same);
  kube_object_free(moved);
  kube_object_free(p);
  /* JSON and a namespace of its own */
  p = parse("/m/x.json",
            "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
            "\"x\",\"namespace\":\"kube-system\"},\"spec\":{\"containers\":"
            "[{\"name\":\"c\",\"image\":\"busybox\"}]}}",
            &e);
  assert_non_null(p);
  assert_string_equal(kube_object_namespace(p), "kube-system");
  assert_string_equal(kube_object_name(p), "x-node-1");
  kube_object_free(p);
}

static void refused(const char *text, const char *want) {
  kube_error_t e = KUBE_ERROR_INIT;
  kube_object_t *p = parse("/m/bad.yaml", text, &e);
  assert_null(p);
  assert_non_null(e.message);
  if (!strstr(e.message, want))
    fail_msg("\"%s\" does not say \"%s\"", e.message, want);
  kube_error_clear(&e);
}

static void test_static_refused(void **state) {
  refused("apiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec:\n"
          "  containers: [{name: c}]\n",
          "spec.containers[0].image: Required value");
  refused("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n",
          "not a v1 Pod");
  refused("apiVersion: v1\nkind: Pod\nspec: {containers: [{name: c, image: "
          "b}]}\n",
          "metadata.name: Required value");
  refused("kind: Pod\n---\nkind: Pod\n", "holds 2 objects");
  refused("", "holds no object");
  refused("{\"apiVersion\": \"v1\", \"kind\": ", "invalid JSON");
  refused("apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name}\nspec: "
          "{containers: [{name: c, image: b}]}\n",
          "invalid pod");
}

static kube_object_t *obj(const char *json) {
  kube_error_t e = KUBE_ERROR_INIT;
  kube_object_t *o = kube_object_from_json(json, strlen(json), &e);
  assert_non_null(o);
  assert_int_equal(kube_object_default(o, &e), 0);
  return o;
}

static void test_mirror_annotation(void **state) {
  const char *spec = "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":"
                     "\"b\"}]}";
  char buf[512];
  snprintf(buf, sizeof buf,
           "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
           "\"p\",\"namespace\":\"default\",\"annotations\":{"
           "\"kubernetes.io/config.mirror\":\"h\"}},%s}",
           spec);
  kube_object_t *mirror = obj(buf);
  snprintf(buf, sizeof buf,
           "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
           "\"p\",\"namespace\":\"default\"},%s}",
           spec);
  kube_object_t *plain = obj(buf);
  kube_error_t e = KUBE_ERROR_INIT;
  /* created with it: fine; a label on a mirror: fine */
  if (kube_object_validate(mirror, NULL, &e) < 0)
    fail_msg("%s", e.message);
  kube_object_t *labeled = kube_object_copy(mirror);
  kube_object_set_label(labeled, "x", "1", NULL);
  assert_int_equal(kube_object_validate(labeled, mirror, &e), 0);
  /* changed, removed, added: Forbidden */
  kube_object_t *changed = kube_object_copy(mirror);
  kube_object_set_annotation(changed, ND_ANN_CONFIG_MIRROR, "other", NULL);
  assert_int_equal(kube_object_validate(changed, mirror, &e), -1);
  assert_non_null(strstr(e.message,
                         "metadata.annotations[kubernetes.io/config.mirror]: "
                         "Forbidden: may not remove or update mirror pod "
                         "annotation"));
  kube_error_clear(&e);
  assert_int_equal(kube_object_validate(plain, mirror, &e), -1);
  assert_non_null(strstr(e.message, "may not remove or update mirror pod"));
  kube_error_clear(&e);
  assert_int_equal(kube_object_validate(mirror, plain, &e), -1);
  assert_non_null(strstr(e.message, "may not add mirror pod annotation"));
  kube_error_clear(&e);
  kube_object_free(labeled);
  kube_object_free(changed);
  kube_object_free(mirror);
  kube_object_free(plain);
}

static void test_image_gc_amount(void **state) {
  /* 90 % used, thresholds 85/80: free down to 80 % */
  assert_int_equal(nd_image_gc_amount(1000, 100, 85, 80), 100);
  /* exactly at the high threshold counts (usage >= high) */
  assert_int_equal(nd_image_gc_amount(1000, 150, 85, 80), 50);
  /* the kubelet's integer usage: 84.9 % is 85 % (100 - 15), 84 % is not */
  assert_int_equal(nd_image_gc_amount(1000, 151, 85, 80), 49);
  assert_int_equal(nd_image_gc_amount(1000, 160, 85, 80), 0);
  assert_int_equal(nd_image_gc_amount(1000, 900, 85, 80), 0);
  /* high 100 disables; no capacity: nothing */
  assert_int_equal(nd_image_gc_amount(1000, 0, 100, 80), 0);
  assert_int_equal(nd_image_gc_amount(0, 0, 85, 80), 0);
  /* low 0: everything used */
  assert_int_equal(nd_image_gc_amount(1000, 400, 2, 0), 600);
  /* large file systems do not overflow */
  assert_int_equal(nd_image_gc_amount(4ULL << 40, 0, 85, 80),
                   (int64_t)((4ULL << 40) / 5));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_static_pod),
      cmocka_unit_test(test_static_refused),
      cmocka_unit_test(test_mirror_annotation),
      cmocka_unit_test(test_image_gc_amount),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
