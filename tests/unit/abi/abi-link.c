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
  if (failures)
    return 1;
  printf("libkube.so: public API reachable through <libkube/libkube.h>\n");
  return 0;
}
