/* SPDX-License-Identifier: Apache-2.0 */
/* kubectl's JSONPath templates over an object; the evaluator lives in the
 * api module (src/api/jsonpath.c), which the API server's printer columns
 * share. */
#include "api/api-private.h"
#include "client/internal.h"

KUBE_EXPORT char *kube_jsonpath_eval(const kube_object_t *obj, const char *tmpl,
                                     kube_error_t *err) {
  return api_jsonpath_eval(kube_object_json(obj), tmpl, err);
}
