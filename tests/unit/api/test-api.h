/* SPDX-License-Identifier: Apache-2.0 */
#ifndef TEST_API_H
#define TEST_API_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/api-private.h"
#include "core/util.h"

/* Parse JSON that the test knows to be valid. */
static inline json_object *tj(const char *s) {
  kube_error_t err = KUBE_ERROR_INIT;
  json_object *o = kube_json_parse(s, strlen(s), &err);
  if (!o)
    fail_msg("bad test JSON: %s", err.message);
  return o;
}

/* Cell i of a row as a string ("<int>" for integers). */
static inline const char *cell(json_object *cells, size_t i) {
  return json_object_get_string(json_object_array_get_idx(cells, i));
}

const struct CMUnitTest *convert_tests(size_t *n);
const struct CMUnitTest *schema_tests(size_t *n);
const struct CMUnitTest *table_tests(size_t *n);
const struct CMUnitTest *validate_tests(size_t *n);
const struct CMUnitTest *view_tests(size_t *n);

#endif
