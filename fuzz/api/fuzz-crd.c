/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CustomResourceDefinitions and their objects: the input is a definition
 * and an object (JSON or YAML documents, the first the definition).  The
 * definition is defaulted and validated (structural schema checks), its
 * kinds are built, and the object goes through what a write does with it
 * for each served version: pruning, defaulting, validation against the
 * schema, table cells, the scale subresource's paths.  Nothing may crash
 * or leak; pruning and defaulting must be idempotent; pruning must leave
 * nothing unknown; every validation failure must name its causes.
 */
#include "fuzz-common.h"

#include "api/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_object(const kube_kind_t *k, json_object *in) {
  kube_error_t err = KUBE_ERROR_INIT;
  json_object *o = NULL;
  if (json_object_deep_copy(in, &o, NULL) < 0 || !o)
    return;
  const api_schema_t *root = api_kind_schema(k);
  api_check_t c = {.flags = API_CHECK_PRUNE};
  api_schema_check(o, root, &c);
  api_check_clear(&c);
  /* Pruned once, nothing unknown is left. */
  api_check_t again = {.flags = API_CHECK_PRUNE};
  api_schema_check(o, root, &again);
  if (again.n_unknown) {
    fprintf(stderr, "pruning left %s\n", again.unknown[0]);
    abort();
  }
  api_check_clear(&again);
  kube_json_default(o, k, NULL);
  json_object *twice = NULL;
  if (json_object_deep_copy(o, &twice, NULL) == 0 && twice) {
    kube_json_default(twice, k, NULL);
    if (!json_object_equal(o, twice)) {
      fprintf(stderr, "defaulting is not idempotent: %s\n",
              json_object_to_json_string(o));
      abort();
    }
    json_object_put(twice);
  }
  if (kube_json_validate(o, NULL, k, &err) < 0) {
    if (err.reason == KUBE_REASON_INVALID && err.n_causes == 0)
      abort();
    kube_error_clear(&err);
  }
  json_object *cells = kube_json_table_cells(k, o, 1795755600);
  size_t ncols = 0;
  while (k->columns[ncols].name)
    ncols++;
  if (!cells || json_object_array_length(cells) != ncols)
    abort();
  json_object_put(cells);
  const api_scale_t *sc = api_kind_scale(k);
  if (sc && sc->spec_replicas)
    kube_json_get(o, sc->spec_replicas);
  json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  kube_error_t err = KUBE_ERROR_INIT;
  json_object *docs = kube_json_decode_stream((const char *)data, size, &err);
  if (!docs) {
    kube_error_clear(&err);
    return 0;
  }
  const kube_kind_t *crdk = kube_kind_by_resource("apiextensions.k8s.io", "v1",
                                                  "customresourcedefinitions");
  json_object *crd = json_object_array_get_idx(docs, 0);
  if (!crd || !crdk) {
    json_object_put(docs);
    return 0;
  }
  if (kube_json_default(crd, crdk, &err) < 0)
    kube_error_clear(&err);
  bool valid = kube_json_validate(crd, NULL, crdk, &err) == 0;
  if (!valid) {
    if (err.reason == KUBE_REASON_INVALID && err.n_causes == 0)
      abort();
    kube_error_clear(&err);
  }
  /* Only a valid definition is ever registered. */
  kube_kind_t **kinds = NULL;
  size_t n = 0;
  if (valid && api_crd_build_kinds(crd, &kinds, &n, &err) == 0) {
    for (size_t i = 0; i < n; i++)
      for (size_t j = 1; j < json_object_array_length(docs) && j < 4; j++)
        check_object(kinds[i], json_object_array_get_idx(docs, j));
    for (size_t i = 0; i < n; i++)
      api_kind_unref(kinds[i]);
    free(kinds);
  }
  kube_error_clear(&err);
  json_object_put(docs);
  return 0;
}
