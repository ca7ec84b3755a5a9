/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers of the test-patch program. */
#ifndef TEST_PATCH_H
#define TEST_PATCH_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "apiserver/patch-schema.h"
#include "apiserver/patch.h"
#include "core/util.h"

extern const kube_kind_t test_kind_pod, test_kind_service, test_kind_deployment,
    test_kind_namespace, test_kind_configmap;

/* Parse JSON text; fails the test on a syntax error.  Owned. */
json_object *tp_parse(const char *text);
/* Fail the test (printing both) unless got equals the JSON text want. */
void tp_assert_json(json_object *got, const char *want);

const struct CMUnitTest *test_patch_engine_tests(size_t *n);
const struct CMUnitTest *test_apply_tests(size_t *n);
const struct CMUnitTest *test_protobuf_tests(size_t *n);

#endif
