/* SPDX-License-Identifier: Apache-2.0 */
/* The YAML/JSON stream decoder (kube apply -f): every decoded object must
 * survive a YAML round trip. */
#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  kube_error_t err = KUBE_ERROR_INIT;
  json_object *arr = kube_json_decode_stream((const char *)data, size, &err);
  if (!arr) {
    if (!kube_error_is_set(&err))
      abort();
    kube_error_clear(&err);
    return 0;
  }
  size_t n = json_object_array_length(arr);
  for (size_t i = 0; i < n; i++) {
    json_object *o = json_object_array_get_idx(arr, i);
    if (!json_object_is_type(o, json_type_object))
      abort();
    check_yaml_roundtrip(o);
  }
  json_object_put(arr);

  /* The public wrapper agrees with the tree decoder. */
  kube_object_t **objs = NULL;
  size_t count = 0;
  if (kube_objects_decode((const char *)data, size, &objs, &count, &err) < 0) {
    kube_error_clear(&err);
    return 0;
  }
  if (count != n)
    abort();
  kube_object_array_free(objs, count);
  return 0;
}
