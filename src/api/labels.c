/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Label maps as text: the one formatter behind server-side Table cells
 * (labels.FormatLabels), the client's LABELS column and kubectl describe;
 * and LabelSelector trees turned into kube_selector_t, the one conversion
 * every controller, the scale subresource and the scheduler's views use.
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

static int add_label_map(kube_selector_t *s, json_object *map,
                         kube_error_t *err) {
  if (!map)
    return 0;
  if (!json_object_is_type(map, json_type_object))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "matchLabels is not a map");
  json_object_object_foreach(map, k, v) {
    const char *val = v ? json_object_get_string(v) : "";
    if (kube_selector_add(s, k, KUBE_SELECTOR_EQUALS, &val, 1, err) < 0)
      return -1;
  }
  return 0;
}

static int label_selector_op(const char *s, kube_selector_op_t *op) {
  static const struct {
    const char *name;
    kube_selector_op_t op;
  } ops[] = {{"In", KUBE_SELECTOR_IN},
             {"NotIn", KUBE_SELECTOR_NOT_IN},
             {"Exists", KUBE_SELECTOR_EXISTS},
             {"DoesNotExist", KUBE_SELECTOR_DOES_NOT_EXIST}};
  for (size_t i = 0; s && i < sizeof ops / sizeof ops[0]; i++)
    if (streq(s, ops[i].name)) {
      *op = ops[i].op;
      return 0;
    }
  return -1;
}

static int add_expression(kube_selector_t *s, json_object *e, size_t i,
                          kube_error_t *err) {
  kube_selector_op_t op;
  const char *name = jget_str0(e, "operator");
  if (label_selector_op(name, &op) < 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "matchExpressions[%zu]: \"%s\" is not a valid "
                          "label selector operator",
                          i, name);
  json_object *vals = jget_arr(e, "values");
  size_t nv = jarr_len(vals);
  const char **v = calloc(nv + 1, sizeof *v);
  if (!v)
    return kube_make_oom(err);
  for (size_t k = 0; k < nv; k++) {
    const char *x = json_object_get_string(jarr_at(vals, k));
    v[k] = x ? x : "";
  }
  int rc = kube_selector_add(s, jget_str0(e, "key"), op, v, nv, err);
  free(v);
  return rc;
}

kube_selector_t *kube_json_label_selector(json_object *sel, kube_error_t *err) {
  if (!json_object_is_type(sel, json_type_object)) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "a label selector must be an object");
    return NULL;
  }
  kube_selector_t *s = kube_selector_new();
  if (!s) {
    kube_make_oom(err);
    return NULL;
  }
  if (add_label_map(s, jget(sel, "matchLabels"), err) < 0)
    goto fail;
  json_object *me = jget(sel, "matchExpressions");
  if (me && !json_object_is_type(me, json_type_array)) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "matchExpressions is not a list");
    goto fail;
  }
  for (size_t i = 0; i < jarr_len(me); i++)
    if (add_expression(s, jarr_at(me, i), i, err) < 0)
      goto fail;
  return s;
fail:
  kube_selector_free(s);
  return NULL;
}

kube_selector_t *kube_json_map_selector(json_object *map, kube_error_t *err) {
  kube_selector_t *s = kube_selector_new();
  if (!s) {
    kube_make_oom(err);
    return NULL;
  }
  if (add_label_map(s, map, err) < 0) {
    kube_selector_free(s);
    return NULL;
  }
  return s;
}
