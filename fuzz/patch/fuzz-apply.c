/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for server-side apply and managed fields.  Input: one
 * flag byte, then "<live JSON>\0<configuration JSON>".  Checked: inputs are
 * never modified; failures carry a reason (BadRequest or Conflict); a
 * successful apply leaves managedFields that parse back, and the same
 * configuration applied again by the same manager never conflicts.
 * kube_managed_fields_update runs on the result against the live object.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/patch-schema.h"
#include "apiserver/patch.h"
#include "fuzz-common.h"

static const kube_kind_t kinds[] = {
    {.group = "apps", .version = "v1", .kind = "Deployment"},
    {.group = "", .version = "v1", .kind = "Pod"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2 || size > 1 << 16)
    return 0;
  unsigned flags = data[0];
  const char *text = (const char *)data + 1;
  size_t len = size - 1;
  const char *nul = memchr(text, '\0', len);
  if (!nul)
    return 0;
  bool ok1, ok2;
  json_object *live = parse(text, (size_t)(nul - text), &ok1);
  json_object *cfg = parse(nul + 1, len - (size_t)(nul - text) - 1, &ok2);
  if (!ok1 || !ok2)
    goto out;
  if (flags & 4) { /* no live object: a create */
    json_object_put(live);
    live = NULL;
  }
  json_object *live0 = as_patch_json_copy(live),
              *cfg0 = as_patch_json_copy(cfg);
  const kube_kind_t *kind = flags & 2 ? &kinds[(flags >> 3) & 1] : NULL;
  kube_error_t err = KUBE_ERROR_INIT;
  json_object *res = kube_apply(live, cfg, "fuzz", flags & 1, kind, &err);
  CHECK(as_patch_json_equal(live, live0));
  CHECK(as_patch_json_equal(cfg, cfg0));
  if (!res) {
    CHECK(kube_error_is_set(&err));
    CHECK(err.reason == KUBE_REASON_BAD_REQUEST ||
          err.reason == KUBE_REASON_CONFLICT);
    CHECK(err.reason != KUBE_REASON_CONFLICT || err.n_causes > 0);
    kube_error_clear(&err);
  } else {
    json_object *again = kube_apply(res, cfg, "fuzz", false, kind, &err);
    CHECK(again || err.reason != KUBE_REASON_CONFLICT);
    kube_error_clear(&err);
    json_object_put(again);
    if (kube_managed_fields_update(res, live, "fuzz-update", &err) < 0) {
      CHECK(err.reason == KUBE_REASON_BAD_REQUEST);
      kube_error_clear(&err);
    }
    json_object_put(res);
  }
  json_object_put(live0);
  json_object_put(cfg0);
out:
  json_object_put(live);
  json_object_put(cfg);
  return 0;
}
