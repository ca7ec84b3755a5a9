/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for OCI config.json parsing.  Whatever parses must
 * serialise to JSON that parses again to the same JSON (a fixed point), and
 * its seccomp profile, if any, must compile or fail cleanly.  Failures must
 * carry an error.  root.path is resolved against "/", so seeds use "/".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      __builtin_trap();                                                        \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s)
    return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  kube_error_t err = KUBE_ERROR_INIT;
  kube_rt_config_t *c = kube_rt_config_parse(s, "/", &err);
  free(s);
  if (!c) {
    CHECK(kube_error_is_set(&err));
    kube_error_clear(&err);
    return 0;
  }
  CHECK(!kube_error_is_set(&err));
  char *json = kube_rt_config_to_json(c, &err);
  CHECK(json);
  kube_rt_config_t *c2 = kube_rt_config_parse(json, "/", &err);
  CHECK(c2);
  char *json2 = kube_rt_config_to_json(c2, &err);
  CHECK(json2 && strcmp(json, json2) == 0);
  if (c->seccomp) {
    void *prog = NULL;
    size_t len = 0;
    if (rt_seccomp_compile(c->seccomp, &prog, &len, &err) == 0)
      CHECK(prog && len > 0);
    else
      CHECK(kube_error_is_set(&err));
    free(prog);
    kube_error_clear(&err);
  }
  free(json);
  free(json2);
  kube_rt_config_free(c);
  kube_rt_config_free(c2);
  return 0;
}
