/* SPDX-License-Identifier: Apache-2.0 */
/* The PersistentVolume binder: the smallest fitting volume, access modes,
 * class and selector, a claim naming its volume, a volume pre-bound to a
 * claim, no volume (FailedBinding), a deleted claim (Released; Delete of
 * a provisioned volume), a lost volume. */
#include <sys/stat.h>
#include <unistd.h>

#include "test-controller.h"

static void add_pv(struct h *h, const char *name, const char *size,
                   const char *modes, const char *extra_spec,
                   const char *labels) {
  h_add(h,
        "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolume\",\"metadata\":{"
        "\"name\":\"%s\",\"labels\":{%s}},\"spec\":{\"capacity\":{"
        "\"storage\":\"%s\"},\"accessModes\":[%s],"
        "\"persistentVolumeReclaimPolicy\":\"Retain\",\"hostPath\":{\"path\":"
        "\"/tmp/%s\"}%s},\"status\":{\"phase\":\"Available\"}}",
        name, labels ? labels : "", size, modes, name,
        extra_spec ? extra_spec : "");
}

static void add_pvc(struct h *h, const char *name, const char *size,
                    const char *extra_spec) {
  h_add(h,
        "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\","
        "\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\"},\"spec\":{"
        "\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{\"requests\":{"
        "\"storage\":\"%s\"}}%s},\"status\":{\"phase\":\"Pending\"}}",
        name, size, extra_spec ? extra_spec : "");
}

static json_object *pv(struct h *h, const char *name) {
  return h_get(h, "v1", "PersistentVolume", "", name);
}
static json_object *pvc(struct h *h, const char *name) {
  return h_get(h, "v1", "PersistentVolumeClaim", "default", name);
}

static void assert_bound(struct h *h, const char *claim, const char *vol,
                         const char *size) {
  json_object *c = pvc(h, claim), *v = pv(h, vol);
  assert_non_null(c);
  assert_non_null(v);
  assert_string_equal(kube_json_get_string(c, "spec.volumeName"), vol);
  assert_string_equal(kube_json_get_string(c, "status.phase"), "Bound");
  assert_string_equal(kube_json_get_string(c, "status.capacity.storage"), size);
  json_object *ann = kube_json_get(c, "metadata.annotations"), *x = NULL;
  assert_true(
      json_object_object_get_ex(ann, "pv.kubernetes.io/bind-completed", &x));
  assert_string_equal(json_object_get_string(x), "yes");
  assert_string_equal(kube_json_get_string(v, "spec.claimRef.name"), claim);
  assert_string_equal(kube_json_get_string(v, "spec.claimRef.uid"),
                      kube_json_get_string(c, "metadata.uid"));
  assert_string_equal(kube_json_get_string(v, "status.phase"), "Bound");
  json_object_put(c);
  json_object_put(v);
}

static void test_bind_smallest(void **state) {
  struct h h;
  h_init(&h);
  add_pv(&h, "big", "5Gi", "\"ReadWriteOnce\"", NULL, NULL);
  add_pv(&h, "small", "1Gi", "\"ReadWriteOnce\",\"ReadOnlyMany\"", NULL, NULL);
  add_pv(&h, "tiny", "100Mi", "\"ReadWriteOnce\"", NULL, NULL);
  add_pv(&h, "rox", "1Gi", "\"ReadOnlyMany\"", NULL, NULL);
  add_pv(&h, "fast", "1Gi", "\"ReadWriteOnce\"",
         ",\"storageClassName\":\"fast\"", NULL);
  add_pvc(&h, "data", "1Gi", NULL);
  h_start(&h, "persistentvolume-binder");
  h_settle(&h);
  assert_bound(&h, "data", "small", "1Gi");
  json_object *v = pv(&h, "big");
  assert_null(kube_json_get(v, "spec.claimRef"));
  assert_string_equal(kube_json_get_string(v, "status.phase"), "Available");
  json_object_put(v);
  /* A class: only volumes of that class. */
  add_pvc(&h, "f", "500Mi", ",\"storageClassName\":\"fast\"");
  h_settle(&h);
  assert_bound(&h, "f", "fast", "1Gi");
  /* Nothing fits: an event, still Pending; a volume appears: bound. */
  add_pvc(&h, "huge", "10Gi", NULL);
  h_settle(&h);
  json_object *c = pvc(&h, "huge");
  assert_string_equal(kube_json_get_string(c, "status.phase"), "Pending");
  json_object_put(c);
  assert_true(h_events(&h, "FailedBinding") >= 1);
  add_pv(&h, "tenfour", "10Gi", "\"ReadWriteOnce\"", NULL, NULL);
  h_settle(&h);
  assert_bound(&h, "huge", "tenfour", "10Gi");
  h_free(&h);
}

static void test_prebound_and_selector(void **state) {
  struct h h;
  h_init(&h);
  add_pv(&h, "named", "8Gi", "\"ReadWriteOnce\"", NULL, NULL);
  add_pv(&h, "reserved", "4Gi", "\"ReadWriteOnce\"",
         ",\"claimRef\":{\"namespace\":\"default\",\"name\":\"mine\"}", NULL);
  add_pv(&h, "other", "1Gi", "\"ReadWriteOnce\"", NULL, "\"tier\":\"gold\"");
  add_pv(&h, "plain", "1Gi", "\"ReadWriteOnce\"", NULL, NULL);
  add_pvc(&h, "bynamed", "1Gi", ",\"volumeName\":\"named\"");
  add_pvc(&h, "mine", "1Gi", NULL);
  add_pvc(&h, "gold", "1Gi",
          ",\"selector\":{\"matchLabels\":{\"tier\":\"gold\"}}");
  h_start(&h, "persistentvolume-binder");
  h_settle(&h);
  assert_bound(&h, "bynamed", "named", "8Gi");
  assert_bound(&h, "mine", "reserved", "4Gi");
  assert_bound(&h, "gold", "other", "1Gi");
  json_object *v = pv(&h, "plain");
  assert_null(kube_json_get(v, "spec.claimRef"));
  json_object_put(v);
  h_free(&h);
}

static void test_release(void **state) {
  struct h h;
  h_init(&h);
  add_pv(&h, "keep", "1Gi", "\"ReadWriteOnce\"", NULL, NULL);
  h_add(&h, "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolume\",\"metadata\":"
            "{\"name\":\"dyn\",\"annotations\":{\"pv.kubernetes.io/"
            "provisioned-by\":\"rancher.io/local-path\"}},\"spec\":{"
            "\"capacity\":{\"storage\":\"2Gi\"},\"accessModes\":["
            "\"ReadWriteOnce\"],\"persistentVolumeReclaimPolicy\":\"Delete\","
            "\"hostPath\":{\"path\":\"/tmp/dyn\"}}}");
  add_pvc(&h, "a", "1Gi", NULL);
  add_pvc(&h, "b", "2Gi", NULL);
  h_start(&h, "persistentvolume-binder");
  h_settle(&h);
  assert_bound(&h, "a", "keep", "1Gi");
  assert_bound(&h, "b", "dyn", "2Gi");
  kt_fake_delete(h.f, "v1", "PersistentVolumeClaim", "default", "a");
  kt_fake_delete(h.f, "v1", "PersistentVolumeClaim", "default", "b");
  h_settle(&h);
  json_object *v = pv(&h, "keep");
  assert_string_equal(kube_json_get_string(v, "status.phase"), "Released");
  json_object_put(v);
  assert_null(pv(&h, "dyn")); /* Delete policy, provisioned: deleted */
  /* A bound claim whose volume vanished is Lost. */
  add_pv(&h, "brief", "1Gi", "\"ReadWriteOnce\"", NULL, NULL);
  add_pvc(&h, "c", "1Gi", NULL);
  h_settle(&h);
  assert_bound(&h, "c", "brief", "1Gi");
  kt_fake_delete(h.f, "v1", "PersistentVolume", "", "brief");
  h_settle(&h);
  json_object *c = pvc(&h, "c");
  assert_string_equal(kube_json_get_string(c, "status.phase"), "Lost");
  json_object_put(c);
  assert_true(h_events(&h, "ClaimLost") >= 1);
  h_free(&h);
}

static bool dir_gone(void *arg) {
  return access((const char *)arg, F_OK) < 0;
}

struct pvh {
  struct h *h;
  const char *name;
};

static bool pv_gone(void *arg) {
  struct pvh *x = arg;
  json_object *v = pv(x->h, x->name);
  json_object_put(v);
  return !v;
}

/* The built-in local-path provisioner: the default class, its assignment
 * to a claim without one, WaitForFirstConsumer, the volume on the
 * consumer's node, Delete removing the directory and then the volume. */
static void test_local_path(void **state) {
  struct h h;
  h_init(&h);
  char dir[] = "/tmp/kube-test-storage-XXXXXX";
  assert_non_null(mkdtemp(dir));
  add_pvc(&h, "data", "2Gi", NULL);
  kube_controller_manager_options_t o = {.struct_size = sizeof o,
                                         .controllers =
                                             "persistentvolume-binder",
                                         .storage_dir = dir};
  h_start_opts(&h, &o);
  h_settle(&h);
  json_object *sc =
      h_get(&h, "storage.k8s.io/v1", "StorageClass", "", "local-path");
  assert_non_null(sc);
  assert_string_equal(kube_json_get_string(sc, "provisioner"),
                      "rancher.io/local-path");
  assert_string_equal(kube_json_get_string(sc, "volumeBindingMode"),
                      "WaitForFirstConsumer");
  json_object *x = NULL;
  assert_true(json_object_object_get_ex(
      kube_json_get(sc, "metadata.annotations"),
      "storageclass.kubernetes.io/is-default-class", &x));
  json_object_put(sc);
  json_object *c = pvc(&h, "data");
  assert_string_equal(kube_json_get_string(c, "spec.storageClassName"),
                      "local-path");
  assert_string_equal(kube_json_get_string(c, "status.phase"), "Pending");
  json_object_put(c);
  assert_true(h_events(&h, "WaitForFirstConsumer") >= 1);
  assert_int_equal(h_objects(&h, "v1", "PersistentVolume", ""), 0);
  /* Its first consumer lands on n1. */
  h_add(&h, "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
            "\"user\",\"namespace\":\"default\"},\"spec\":{\"nodeName\":"
            "\"n1\",\"containers\":[{\"name\":\"c\",\"image\":\"x\"}],"
            "\"volumes\":[{\"name\":\"v\",\"persistentVolumeClaim\":{"
            "\"claimName\":\"data\"}}]}}");
  h_settle(&h);
  c = pvc(&h, "data");
  char name[80];
  snprintf(name, sizeof name, "pvc-%s",
           kube_json_get_string(c, "metadata.uid"));
  json_object_put(c);
  assert_bound(&h, "data", name, "2Gi");
  json_object *v = pv(&h, name);
  const char *path = kube_json_get_string(v, "spec.hostPath.path");
  char want[4200];
  snprintf(want, sizeof want, "%s/%s_default_data", dir, name);
  assert_string_equal(path, want);
  assert_string_equal(kube_json_get_string(v, "spec.hostPath.type"),
                      "DirectoryOrCreate");
  assert_string_equal(
      kube_json_get_string(v, "spec.nodeAffinity.required.nodeSelectorTerms.0."
                              "matchExpressions.0.values.0"),
      "n1");
  assert_string_equal(
      kube_json_get_string(v, "spec.persistentVolumeReclaimPolicy"), "Delete");
  assert_string_equal(kube_json_get_string(v, "spec.storageClassName"),
                      "local-path");
  json_object_put(v);
  assert_true(h_events(&h, "ProvisioningSucceeded") >= 1);
  /* The node agent made the directory; the claim goes: so do both. */
  char file[4300];
  assert_int_equal(mkdir(want, 0777), 0);
  snprintf(file, sizeof file, "%s/data.txt", want);
  FILE *f = fopen(file, "w");
  assert_non_null(f);
  fputs("hello\n", f);
  fclose(f);
  kt_fake_delete(h.f, "v1", "PersistentVolumeClaim", "default", "data");
  struct pvh ph = {&h, name};
  h_until(&h, pv_gone, &ph);
  assert_true(dir_gone(want));
  /* An Immediate local-path class cannot pick a node by itself. */
  h_add(&h, "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"StorageClass\","
            "\"metadata\":{\"name\":\"now\"},\"provisioner\":\"rancher.io/"
            "local-path\",\"volumeBindingMode\":\"Immediate\"}");
  add_pvc(&h, "quick", "1Gi", ",\"storageClassName\":\"now\"");
  h_settle(&h);
  assert_true(h_events(&h, "ProvisioningFailed") >= 1);
  h_free(&h);
  rmdir(dir);
}

int run_pv_tests(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bind_smallest),
      cmocka_unit_test(test_prebound_and_selector),
      cmocka_unit_test(test_release),
      cmocka_unit_test(test_local_path),
  };
  return cmocka_run_group_tests_name("controller-pv", tests, NULL, NULL);
}
