/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Built against the installed-style include path and linked with the shared
 * libkube.so only (not the internal static libraries): the umbrella header
 * compiles as plain C11 and its symbols resolve from the shipped library.
 */
#include <libkube/libkube.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                              \
    }                                                                          \
  } while (0)

static const char *lookup(void *ctx, const char *key) {
  (void)ctx;
  return strcmp(key, "app") == 0 ? "web" : NULL;
}

int main(void) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_quantity_t q;
  char buf[48];
  CHECK(kube_quantity_parse("1.5Gi", &q, &err) == 0);
  CHECK(strcmp(kube_quantity_format(&q, buf, sizeof buf), "1536Mi") == 0);
  CHECK(kube_quantity_parse("1.2.3", &q, &err) == -1);
  CHECK(err.reason == KUBE_REASON_BAD_REQUEST);
  CHECK(strcmp(kube_reason_string(err.reason), "BadRequest") == 0);
  kube_error_clear(&err);

  kube_selector_t *sel = kube_label_selector_parse("app in (web),!x", &err);
  CHECK(sel != NULL);
  CHECK(kube_selector_matches(sel, lookup, NULL));
  char *s = kube_selector_to_string(sel);
  CHECK(s && strcmp(s, "app in (web),!x") == 0);
  free(s);
  kube_selector_free(sel);

  char uuid[37];
  CHECK(kube_uuid_generate(uuid, sizeof uuid) == uuid && strlen(uuid) == 36);
  CHECK(strcmp(kube_time_format(0, buf, sizeof buf), "1970-01-01T00:00:00Z") ==
        0);
  /* kubectl.h: an object printed as -o json, -o name and by describe,
   * a Table rendered, a generator; all through the shipped library. */
  const char *pod_json =
      "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"p\","
      "\"namespace\":\"ns\"},\"spec\":{\"containers\":[{\"name\":\"c\","
      "\"image\":\"nginx\"}]},\"status\":{\"phase\":\"Pending\"}}";
  kube_object_t *pod = kube_object_from_json(pod_json, strlen(pod_json), &err);
  CHECK(pod != NULL);
  kube_output_t out;
  CHECK(kube_output_parse("name", &out, &err) == 0);
  s = kube_output_object(pod, &out, &err);
  CHECK(s && strcmp(s, "pod/p\n") == 0);
  free(s);
  CHECK(kube_output_parse("jsonpath={.spec.containers[0].image}", &out, &err) ==
        0);
  s = kube_output_object(pod, &out, &err);
  CHECK(s && strcmp(s, "nginx") == 0);
  free(s);
  CHECK(kube_output_parse("bogus", &out, &err) == -1);
  kube_error_clear(&err);
  s = kube_describe_object(NULL, NULL, pod, NULL, &err);
  CHECK(s && strncmp(s, "Name:         p\nNamespace:    ns\n", 31) == 0);
  free(s);
  kube_object_t *list = kube_list_new(&err);
  CHECK(list && kube_list_add(list, pod, &err) == 0 &&
        kube_list_length(list) == 1);
  kube_object_t *table = kube_custom_columns_table(
      list, "NAME:.metadata.name,IMAGE:.spec.containers[*].image", &err);
  kube_table_printer_t *p = kube_table_printer_new(0);
  CHECK(table && p && kube_table_printer_add(p, table, NULL, &err) == 0);
  s = kube_table_printer_render(p);
  CHECK(s && strcmp(s, "NAME   IMAGE\np      nginx\n") == 0);
  free(s);
  kube_table_printer_free(p);
  kube_object_free(table);
  kube_object_free(list);
  kube_generate_options_t g = {
      .struct_size = sizeof g, .name = "web", .image = "nginx", .replicas = 2};
  kube_object_t *dep = kube_generate_deployment(&g, &err);
  CHECK(dep && strcmp(kube_object_kind(dep), "Deployment") == 0);
  kube_object_free(dep);

  if (failures)
    return 1;
  printf("libkube.so: public API reachable through <libkube/libkube.h>\n");
  return 0;
}
