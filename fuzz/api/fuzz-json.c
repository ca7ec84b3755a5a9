/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON decoder: any input either fails with an error or yields a tree
 * whose JSON and YAML encodings read back as the same tree; and the
 * one-pass reader (json-parse.c) builds, for what it accepts, the tree
 * json-c builds (same encoding, same repeated-key verdict). */
#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_plain(const char *data, size_t size) {
  bool dups_plain = false, dups_jsonc = false;
  json_object *p = api_json_parse_plain(data, size, &dups_plain);
  if (!p)
    return;
  kube_error_t err = KUBE_ERROR_INIT;
  json_object *j = api_json_parse_jsonc(data, size, &dups_jsonc, &err);
  if (!j) {
    fprintf(stderr, "plain reader accepted what json-c refuses: %s\n",
            err.message ? err.message : "");
    abort();
  }
  size_t lp = 0, lj = 0;
  char *tp = api_json_encode(p, &lp), *tj = api_json_encode(j, &lj);
  if (!tp || !tj || lp != lj || memcmp(tp, tj, lp) != 0 ||
      !same_tree(p, j) || dups_plain != dups_jsonc) {
    fprintf(stderr, "plain reader differs from json-c: %s / %s (dups %d %d)\n",
            tp ? tp : "", tj ? tj : "", dups_plain, dups_jsonc);
    abort();
  }
  free(tp);
  free(tj);
  json_object_put(p);
  json_object_put(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  kube_error_t err = KUBE_ERROR_INIT;
  check_plain((const char *)data, size);
  json_object *o = kube_json_parse((const char *)data, size, &err);
  if (!o) {
    if (!kube_error_is_set(&err) || err.reason != KUBE_REASON_BAD_REQUEST)
      abort();
    kube_error_clear(&err);
    return 0;
  }
  const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
  json_object *again = kube_json_parse(text, strlen(text), &err);
  if (!again || !same_tree(o, again)) {
    fprintf(stderr, "JSON re-encoding does not read back: %s\n", text);
    abort();
  }
  json_object_put(again);
  if (json_object_is_type(o, json_type_object)) {
    check_yaml_roundtrip(o);
    kube_object_t *obj = kube_object_wrap(json_object_get(o));
    char *pretty = kube_object_to_json(obj, KUBE_JSON_PRETTY);
    kube_object_t *back =
        pretty ? kube_object_from_json(pretty, strlen(pretty), &err) : NULL;
    if (pretty && (!back || !same_tree(kube_object_json(back), o)))
      abort();
    kube_object_free(back);
    free(pretty);
    kube_object_free(obj);
  }
  json_object_put(o);
  return 0;
}
