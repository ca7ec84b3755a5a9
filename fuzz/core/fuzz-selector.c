/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for label and field selectors.  The first input byte
 * picks the parser; the rest is the selector text.  Whatever parses must
 * print a string that parses back to an equivalent selector (the same
 * string for labels; a fixed point after one more round for fields), and
 * matching must give the same verdict on both.
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

static const char *const labels[] = {"app", "web", "tier", "",  "n",
                                     "5",   "a/b", "x",    NULL};

static const char *lookup(void *ctx, const char *key) {
  (void)ctx;
  for (const char *const *kv = labels; kv[0]; kv += 2)
    if (strcmp(kv[0], key) == 0)
      return kv[1];
  return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  bool field = data[0] & 1;
  char *s = malloc(size);
  if (!s)
    return 0;
  memcpy(s, data + 1, size - 1);
  s[size - 1] = '\0';

  kube_error_t err = KUBE_ERROR_INIT;
  kube_selector_t *sel = field ? kube_field_selector_parse(s, &err)
                               : kube_label_selector_parse(s, &err);
  if (!sel) {
    CHECK(err.reason == KUBE_REASON_BAD_REQUEST);
    kube_error_clear(&err);
    free(s);
    return 0;
  }
  CHECK(sel->field_selector == field);
  (void)kube_selector_matches(sel, lookup, NULL);
  (void)kube_selector_matches(sel, NULL, NULL);

  char *str = kube_selector_to_string(sel);
  CHECK(str != NULL);
  kube_selector_t *again = field ? kube_field_selector_parse(str, NULL)
                                 : kube_label_selector_parse(str, NULL);
  CHECK(again != NULL);
  CHECK(again->n == sel->n);
  char *str2 = kube_selector_to_string(again);
  CHECK(str2 != NULL);
  if (!field) {
    CHECK(strcmp(str, str2) == 0);
  } else {
    /* fields.ParseSelector sorts the raw terms, so "a==z,a=b" prints as
     * "a=z,a=b" and only settles after one more round, as in Kubernetes. */
    kube_selector_t *third = kube_field_selector_parse(str2, NULL);
    CHECK(third != NULL);
    char *str3 = kube_selector_to_string(third);
    CHECK(str3 && strcmp(str2, str3) == 0);
    free(str3);
    kube_selector_free(third);
  }
  /* Same matching verdict after the round trip. */
  CHECK(kube_selector_matches(sel, lookup, NULL) ==
        kube_selector_matches(again, lookup, NULL));
  free(str2);
  kube_selector_free(again);
  free(str);
  kube_selector_free(sel);
  free(s);
  return 0;
}
