/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for resource quantities: parse arbitrary text, and for
 * everything accepted check the invariants Kubernetes relies on: the
 * canonical form parses back to the same value and prints identically,
 * milli/whole-unit conversions round away from zero consistently, and
 * adding the value to itself either overflows cleanly or doubles it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libkube/core.h>

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
  kube_quantity_t q;
  if (kube_quantity_parse(s, &q, &err) < 0) {
    CHECK(kube_error_is_set(&err));
    CHECK(err.reason == KUBE_REASON_BAD_REQUEST);
    kube_error_clear(&err);
    free(s);
    return 0;
  }
  CHECK(!kube_error_is_set(&err));

  char buf[48], buf2[48];
  kube_quantity_format(&q, buf, sizeof buf);
  CHECK(strlen(buf) < sizeof buf - 1);
  kube_quantity_t back;
  CHECK(kube_quantity_parse(buf, &back, NULL) == 0);
  CHECK(kube_quantity_cmp(&q, &back) == 0);
  /* The canonical form is not always a fixed point after one round:
   * "62.50Ki" is 64000 in BinarySI, which prints "64000" (not a multiple
   * of 1024), which parses as DecimalSI and prints "64k" — Kubernetes'
   * Quantity.String() does the same.  After that second round the text
   * must not change any more. */
  kube_quantity_format(&back, buf2, sizeof buf2);
  kube_quantity_t again;
  char buf3[48];
  CHECK(kube_quantity_parse(buf2, &again, NULL) == 0);
  CHECK(kube_quantity_cmp(&q, &again) == 0);
  kube_quantity_format(&again, buf3, sizeof buf3);
  CHECK(strcmp(buf2, buf3) == 0);

  int64_t milli = kube_quantity_milli(&q), value = kube_quantity_value(&q);
  if (q.nano > 0) {
    CHECK(milli > 0 && value > 0);
    CHECK(value == INT64_MAX || milli == INT64_MAX ||
          (milli + 999) / 1000 == value);
  } else if (q.nano < 0) {
    CHECK(milli < 0 && value < 0);
  } else {
    CHECK(milli == 0 && value == 0);
  }

  kube_quantity_t sum;
  if (kube_quantity_add(&q, &q, &sum, &err) == 0) {
    CHECK(sum.nano == q.nano * 2);
    kube_quantity_format(&sum, buf, sizeof buf);
    CHECK(kube_quantity_parse(buf, &back, NULL) == 0);
    /* Parsing caps text with a binary suffix at 2^63-1 units ("10Ei" reads
     * as the cap); everything else must read back exactly. */
    const __int128 cap = (__int128)INT64_MAX * 1000000000;
    size_t bl = strlen(buf);
    if (bl && buf[bl - 1] == 'i' && (sum.nano > cap || sum.nano < -cap))
      CHECK(back.nano == (sum.nano > 0 ? cap : -cap));
    else
      CHECK(kube_quantity_cmp(&sum, &back) == 0);
  } else {
    CHECK(err.reason == KUBE_REASON_BAD_REQUEST);
    kube_error_clear(&err);
  }
  free(s);
  return 0;
}
