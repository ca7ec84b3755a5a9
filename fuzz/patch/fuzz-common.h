/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the patch and apply fuzz harnesses. */
#ifndef FUZZ_PATCH_COMMON_H
#define FUZZ_PATCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      __builtin_trap();                                                        \
  } while (0)

/* Parse exactly one JSON value.  *ok tells valid input apart from a
 * literal `null`, which parses to NULL too and is a useful input. */
static inline json_object *parse(const char *s, size_t n, bool *ok) {
  json_tokener *tok = json_tokener_new();
  *ok = false;
  if (!tok)
    return NULL;
  json_object *o = json_tokener_parse_ex(tok, s, (int)n);
  *ok = json_tokener_get_error(tok) == json_tokener_success &&
        json_tokener_get_parse_end(tok) == n;
  json_tokener_free(tok);
  if (!*ok) {
    json_object_put(o);
    return NULL;
  }
  return o;
}

#endif /* FUZZ_PATCH_COMMON_H */
