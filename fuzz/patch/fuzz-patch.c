/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the three PATCH engines.  Input: one selector
 * byte, then "<document JSON>\0<patch JSON>".  The selector picks the
 * engine (merge / JSON patch / strategic) and the kind schema.  Checked:
 * the engines never modify their inputs; success returns a tree, failure
 * an error with a client-error reason; a merge patch is idempotent
 * (RFC 7386: applying it twice equals applying it once).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/patch-schema.h"
#include "apiserver/patch.h"
#include "fuzz-common.h"

static const kube_kind_t kinds[] = {
    {.group = "", .version = "v1", .kind = "Pod"},
    {.group = "apps", .version = "v1", .kind = "Deployment"},
    {.group = "", .version = "v1", .kind = "Service"},
    {.group = "", .version = "v1", .kind = "Namespace"},
};

static bool client_error(const kube_error_t *err) {
  return err->reason == KUBE_REASON_BAD_REQUEST ||
         err->reason == KUBE_REASON_INVALID;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2 || size > 1 << 16)
    return 0;
  unsigned sel = data[0];
  const char *text = (const char *)data + 1;
  size_t len = size - 1;
  const char *nul = memchr(text, '\0', len);
  if (!nul)
    return 0;
  bool ok1, ok2;
  json_object *doc = parse(text, (size_t)(nul - text), &ok1);
  json_object *patch = parse(nul + 1, len - (size_t)(nul - text) - 1, &ok2);
  if (!ok1 || !ok2)
    goto out;
  json_object *doc0 = as_patch_json_copy(doc),
              *patch0 = as_patch_json_copy(patch);
  kube_error_t err = KUBE_ERROR_INIT;
  json_object *res = NULL;
  switch (sel % 3) {
  case 0:
    res = kube_patch_merge(doc, patch, &err);
    if (res) {
      json_object *again = kube_patch_merge(res, patch, &err);
      CHECK(again && as_patch_json_equal(again, res));
      json_object_put(again);
    }
    break;
  case 1:
    res = kube_patch_json(doc, patch, &err);
    break;
  default: {
    unsigned k = (sel / 3) % (sizeof(kinds) / sizeof(kinds[0]) + 1);
    res = kube_patch_strategic(doc, patch, k ? &kinds[k - 1] : NULL, &err);
    break;
  }
  }
  if (res)
    CHECK(!kube_error_is_set(&err));
  else
    CHECK(kube_error_is_set(&err) && client_error(&err));
  CHECK(as_patch_json_equal(doc, doc0));
  CHECK(as_patch_json_equal(patch, patch0));
  json_object_put(res);
  json_object_put(doc0);
  json_object_put(patch0);
  kube_error_clear(&err);
out:
  json_object_put(doc);
  json_object_put(patch);
  return 0;
}
