/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the api fuzz harnesses. */
#ifndef FUZZ_API_COMMON_H
#define FUZZ_API_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-private.h"

/* Structural equality where numbers compare by value: YAML output writes
 * 2.0 as 2, which reads back as an integer. */
static inline bool same_tree(json_object *a, json_object *b) {
  json_type ta = json_object_get_type(a), tb = json_object_get_type(b);
  bool na = ta == json_type_int || ta == json_type_double;
  bool nb = tb == json_type_int || tb == json_type_double;
  if (na && nb) {
    if (ta == json_type_int && tb == json_type_int)
      return json_object_equal(a, b);
    return json_object_get_double(a) == json_object_get_double(b);
  }
  if (ta != tb)
    return false;
  switch (ta) {
  case json_type_object: {
    if (json_object_object_length(a) != json_object_object_length(b))
      return false;
    json_object_object_foreach(a, k, va) {
      json_object *vb = NULL;
      if (!json_object_object_get_ex(b, k, &vb) || !same_tree(va, vb))
        return false;
    }
    return true;
  }
  case json_type_array: {
    size_t n = json_object_array_length(a);
    if (n != json_object_array_length(b))
      return false;
    for (size_t i = 0; i < n; i++)
      if (!same_tree(json_object_array_get_idx(a, i),
                     json_object_array_get_idx(b, i)))
        return false;
    return true;
  }
  default:
    return json_object_equal(a, b);
  }
}

/* An object's YAML must read back as the same object. */
static inline void check_yaml_roundtrip(json_object *obj) {
  /* A List kind is flattened on the way back in: not a round trip. */
  const char *kind = kube_json_get_string(obj, "kind");
  if (kind && strlen(kind) >= 4 && strcmp(kind + strlen(kind) - 4, "List") == 0)
    return;
  char *y = kube_json_to_yaml(obj);
  if (!y)
    return; /* out of memory or too deep to emit */
  kube_error_t err = KUBE_ERROR_INIT;
  json_object *back = kube_json_decode_stream(y, strlen(y), &err);
  if (!back) {
    fprintf(stderr, "YAML output does not parse: %s\n%s\n", err.message, y);
    abort();
  }
  if (json_object_array_length(back) != 1 ||
      !same_tree(json_object_array_get_idx(back, 0), obj)) {
    fprintf(stderr, "YAML round trip differs:\n%s\n->\n%s\n",
            json_object_to_json_string(obj), json_object_to_json_string(back));
    abort();
  }
  json_object_put(back);
  kube_error_clear(&err);
  free(y);
}

#endif
