/* SPDX-License-Identifier: Apache-2.0 */
/* What the apiserver does with a request body: decode, default, validate
 * (create and update), print a table row, answer field selectors and build
 * the typed views.  None of it may crash or leak, and defaulting must be
 * idempotent. */
#include "fuzz-common.h"

#include "api/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(json_object *o) {
  kube_error_t err = KUBE_ERROR_INIT;
  const kube_kind_t *kind = kube_kind_by_kind(
      kube_json_get_string(o, "apiVersion"), kube_json_get_string(o, "kind"));
  json_object *old = NULL;
  json_object_deep_copy(o, &old, NULL);

  /* The typed check of a write body: types, ranges, unknown fields. */
  api_check_t chk = {.flags = API_CHECK_PRUNE};
  api_schema_check(o, api_kind_schema(kind), &chk);
  api_check_clear(&chk);
  if (kube_json_default(o, kind, &err) < 0)
    kube_error_clear(&err);
  json_object *twice = NULL;
  json_object_deep_copy(o, &twice, NULL);
  if (twice) {
    kube_json_default(twice, kind, NULL);
    if (!json_object_equal(o, twice)) {
      fprintf(stderr, "defaulting is not idempotent: %s\n",
              json_object_to_json_string(o));
      abort();
    }
    json_object_put(twice);
  }
  if (kube_json_validate(o, NULL, kind, &err) < 0) {
    if (err.reason == KUBE_REASON_INVALID && err.n_causes == 0)
      abort();
    kube_error_clear(&err);
  }
  if (old) {
    kube_json_default(old, kind, NULL);
    if (kube_json_validate(o, old, kind, &err) < 0)
      kube_error_clear(&err);
    json_object_put(old);
  }

  json_object *cells = kube_json_table_cells(kind, o, 1795755600);
  if (kind && cells) {
    size_t ncols = 0;
    while (kind->columns[ncols].name)
      ncols++;
    if (json_object_array_length(cells) != ncols)
      abort();
  }
  json_object_put(cells);
  kube_json_field_lookup(o, "metadata.name");
  for (const char *const *f = kind ? kind->selectable_fields : NULL; f && *f;
       f++)
    if (!kube_json_field_lookup(o, *f))
      abort(); /* declared fields always answer */
  kube_json_label_lookup(o, "app");

  kube_object_t *obj = kube_object_wrap(json_object_get(o));
  kube_pod_spec_t spec;
  if (kube_pod_spec_from_object(obj, &spec, &err) == 0)
    kube_pod_spec_clear(&spec);
  kube_error_clear(&err);
  kube_pod_status_t st;
  if (kube_pod_status_from_object(obj, &st, &err) == 0)
    kube_pod_status_clear(&st);
  kube_error_clear(&err);
  kube_node_t node;
  if (kube_node_from_object(obj, &node, &err) == 0)
    kube_node_clear(&node);
  kube_error_clear(&err);
  kube_service_t svc;
  if (kube_service_from_object(obj, &svc, &err) == 0)
    kube_service_clear(&svc);
  kube_error_clear(&err);
  kube_owner_ref_t *refs;
  size_t n;
  if (kube_owner_refs_from_object(obj, &refs, &n, &err) == 0)
    kube_owner_refs_free(refs, n);
  kube_error_clear(&err);
  kube_object_free(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  kube_error_t err = KUBE_ERROR_INIT;
  json_object *arr = kube_json_decode_stream((const char *)data, size, &err);
  if (!arr) {
    kube_error_clear(&err);
    return 0;
  }
  size_t count = json_object_array_length(arr);
  for (size_t i = 0; i < count && i < 8; i++)
    exercise(json_object_array_get_idx(arr, i));
  json_object_put(arr);
  return 0;
}
