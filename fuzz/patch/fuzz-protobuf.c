/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for kube_protobuf_decode (request bodies of
 * application/vnd.kubernetes.protobuf).  Whatever decodes must be an
 * object naming its apiVersion and kind whose JSON text parses back to an
 * equal tree; whatever fails must carry a client-error reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/patch-schema.h"
#include "apiserver/patch.h"
#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  kube_error_t err = KUBE_ERROR_INIT;
  /* A private copy so reads past `size` are caught by ASan. */
  uint8_t *buf = malloc(size ? size : 1);
  if (!buf)
    return 0;
  memcpy(buf, data, size);
  json_object *obj = kube_protobuf_decode(buf, size, &err);
  free(buf);
  if (!obj) {
    CHECK(kube_error_is_set(&err));
    CHECK(err.reason == KUBE_REASON_BAD_REQUEST ||
          err.reason == KUBE_REASON_UNSUPPORTED_MEDIA_TYPE ||
          err.reason == KUBE_REASON_INTERNAL);
    kube_error_clear(&err);
    return 0;
  }
  CHECK(!kube_error_is_set(&err));
  CHECK(json_object_is_type(obj, json_type_object));
  CHECK(json_object_is_type(json_object_object_get(obj, "apiVersion"),
                            json_type_string));
  CHECK(json_object_is_type(json_object_object_get(obj, "kind"),
                            json_type_string));
  const char *text =
      json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
  CHECK(text);
  json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH * 8);
  CHECK(tok);
  json_object *back = json_tokener_parse_ex(tok, text, (int)strlen(text));
  CHECK(json_tokener_get_error(tok) == json_tokener_success);
  json_tokener_free(tok);
  CHECK(as_patch_json_equal(obj, back));
  json_object_put(back);
  json_object_put(obj);
  return 0;
}
