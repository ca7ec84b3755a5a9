/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for image references: every pod's `image` goes
 * through this parser.  A parsed reference must print to a string that
 * parses to itself (normalization is idempotent).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/internal.h"

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
  kube_image_ref_t r;
  if (kube_image_ref_parse(s, &r, &err) < 0) {
    CHECK(kube_error_is_set(&err));
    kube_error_clear(&err);
  } else {
    char *full = kube_image_ref_string(&r);
    char *fam = kube_image_ref_familiar(&r);
    CHECK(full && fam);
    kube_image_ref_t r2, r3;
    CHECK(kube_image_ref_parse(full, &r2, &err) == 0);
    char *full2 = kube_image_ref_string(&r2);
    CHECK(full2 && strcmp(full, full2) == 0);
    CHECK(kube_image_ref_parse(fam, &r3, &err) == 0);
    char *full3 = kube_image_ref_string(&r3);
    CHECK(full3 && strcmp(full, full3) == 0);
    free(full);
    free(full2);
    free(full3);
    free(fam);
    kube_image_ref_clear(&r);
    kube_image_ref_clear(&r2);
    kube_image_ref_clear(&r3);
  }
  free(s);
  return 0;
}
