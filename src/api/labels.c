/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Label maps as text: the one formatter behind server-side Table cells
 * (labels.FormatLabels), the client's LABELS column and kubectl describe.
 */
#include <json-c/json.h>

#include "api/api-private.h"
#include "api/internal.h"
#include "core/util.h"

static int cmp_keys(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void kube_json_format_labels(kube_strbuf_t *sb, json_object *map,
                             const char *eq, const char *sep) {
  if (!json_object_is_type(map, json_type_object))
    return;
  size_t n = (size_t)json_object_object_length(map), i = 0;
  if (n == 0)
    return;
  const char **keys = calloc(n, sizeof *keys);
  if (!keys) {
    sb->oom = true;
    return;
  }
  json_object_object_foreach(map, k, v) {
    (void)v;
    keys[i++] = k;
  }
  qsort(keys, n, sizeof *keys, cmp_keys);
  for (i = 0; i < n; i++) {
    /* Label values are strings (the API rejects others); anything else
     * read from elsewhere prints as its JSON text, null as "". */
    const char *val =
        json_object_get_string(json_object_object_get(map, keys[i]));
    kube_strbuf_printf(sb, "%s%s%s%s", i ? sep : "", keys[i], eq,
                       val ? val : "");
  }
  free(keys);
}

void kube_json_format_label_selector(kube_strbuf_t *sb, json_object *sel) {
  api_format_label_selector(sb, sel);
}
