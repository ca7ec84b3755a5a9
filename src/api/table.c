/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Table rows as the real API server prints them
 * (k8s.io/kubernetes/pkg/printers/internalversion/printers.go, with
 * options.Wide: the server always fills every column), field-selector and
 * label lookups.
 */
#include <ctype.h>
#include <inttypes.h>
#include <strings.h>

#include "api/kinds/kind.h"

/* ---- formatting helpers -------------------------------------------------- */

void api_cell_str(json_object *cells, const char *s) {
  json_object_array_add(cells, json_object_new_string(s ? s : ""));
}
void api_cell_int(json_object *cells, int64_t v) {
  json_object_array_add(cells, json_object_new_int64(v));
}
void api_cell_sb(json_object *cells, kube_strbuf_t *sb) {
  api_cell_str(cells, sb->data ? sb->data : "");
  kube_strbuf_clear(sb);
}

/* translateTimestampSince: "<unknown>" for a zero time. */
void api_since(char *buf, size_t len, json_object *o, const char *key,
               time_t now) {
  time_t t;
  if (!api_jget_time(o, key, &t)) {
    snprintf(buf, len, "<unknown>");
    return;
  }
  kube_time_age(t, now, buf, len);
}

void api_cell_age(json_object *cells, json_object *obj, time_t now) {
  char buf[32];
  api_since(buf, sizeof(buf), jget_obj(obj, "metadata"), "creationTimestamp",
            now);
  api_cell_str(cells, buf);
}

void api_format_labels(kube_strbuf_t *sb, json_object *labels) {
  kube_json_format_labels(sb, labels, "=", ",");
}

/* labels.FormatLabels: "<none>" when empty. */
void api_cell_labels(json_object *cells, json_object *labels) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  api_format_labels(&sb, labels);
  if (sb.len == 0)
    kube_strbuf_append(&sb, "<none>");
  api_cell_sb(cells, &sb);
}

struct req {
  const char *key;
  char *text;
};

static int req_cmp(const void *a, const void *b) {
  return strcmp(((const struct req *)a)->key, ((const struct req *)b)->key);
}

static int value_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void api_format_label_selector(kube_strbuf_t *sb, json_object *sel) {
  json_object *ml = jget_obj(sel, "matchLabels");
  json_object *me = jget_arr(sel, "matchExpressions");
  size_t n = (ml ? (size_t)json_object_object_length(ml) : 0) + jarr_len(me);
  if (n == 0)
    return;
  struct req *reqs = calloc(n, sizeof(*reqs));
  if (!reqs)
    return;
  size_t i = 0;
  if (ml) {
    json_object_object_foreach(ml, k, v) {
      reqs[i].key = k;
      kube_strbuf_t t = KUBE_STRBUF_INIT;
      kube_strbuf_printf(&t, "%s=%s", k,
                         json_object_is_type(v, json_type_string)
                             ? json_object_get_string(v)
                             : "");
      reqs[i++].text = kube_strbuf_steal(&t);
    }
  }
  for (size_t j = 0; j < jarr_len(me); j++) {
    json_object *e = jarr_at(me, j);
    const char *key = jget_str0(e, "key");
    const char *op = jget_str0(e, "operator");
    json_object *vals = jget_arr(e, "values");
    kube_strbuf_t t = KUBE_STRBUF_INIT;
    if (streq(op, "Exists")) {
      kube_strbuf_append(&t, key);
    } else if (streq(op, "DoesNotExist")) {
      kube_strbuf_printf(&t, "!%s", key);
    } else {
      size_t nv = jarr_len(vals);
      const char **vs = calloc(nv ? nv : 1, sizeof(*vs));
      for (size_t x = 0; vs && x < nv; x++) {
        const char *s = json_object_get_string(jarr_at(vals, x));
        vs[x] = s ? s : "";
      }
      if (vs)
        qsort(vs, nv, sizeof(*vs), value_cmp);
      kube_strbuf_printf(&t, "%s %s (", key,
                         streq(op, "NotIn") ? "notin" : "in");
      for (size_t x = 0; vs && x < nv; x++) {
        if (x)
          kube_strbuf_append_char(&t, ',');
        kube_strbuf_append(&t, vs[x]);
      }
      kube_strbuf_append_char(&t, ')');
      free(vs);
    }
    reqs[i].key = key;
    reqs[i++].text = kube_strbuf_steal(&t);
  }
  qsort(reqs, i, sizeof(*reqs), req_cmp);
  for (size_t j = 0; j < i; j++) {
    if (j)
      kube_strbuf_append_char(sb, ',');
    if (reqs[j].text)
      kube_strbuf_append(sb, reqs[j].text);
    free(reqs[j].text);
  }
  free(reqs);
}

/* metav1.LabelSelectorAsSelector(...).String() */
void api_cell_selector(json_object *cells, json_object *sel) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  api_format_label_selector(&sb, sel);
  api_cell_sb(cells, &sb);
}

/* metav1.FormatLabelSelector: "<none>" when empty. */
void api_cell_selector_none(json_object *cells, json_object *sel) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  api_format_label_selector(&sb, sel);
  if (sb.len == 0)
    kube_strbuf_append(&sb, "<none>");
  api_cell_sb(cells, &sb);
}

/* layoutContainerCells: names and images joined with ",". */
void api_cell_containers(json_object *cells, json_object *pod_spec) {
  json_object *cs = jget_arr(pod_spec, "containers");
  kube_strbuf_t names = KUBE_STRBUF_INIT, images = KUBE_STRBUF_INIT;
  for (size_t i = 0; i < jarr_len(cs); i++) {
    json_object *c = jarr_at(cs, i);
    if (i) {
      kube_strbuf_append_char(&names, ',');
      kube_strbuf_append_char(&images, ',');
    }
    kube_strbuf_append(&names, jget_str0(c, "name"));
    kube_strbuf_append(&images, jget_str0(c, "image"));
  }
  api_cell_sb(cells, &names);
  api_cell_sb(cells, &images);
}

json_object *api_template_spec(json_object *obj) {
  return jget_obj(jget_obj(jget_obj(obj, "spec"), "template"), "spec");
}

const char *api_name_of(json_object *obj) {
  return jget_str0(jget_obj(obj, "metadata"), "name");
}

bool api_has_deletion(json_object *obj) {
  return jget_str(jget_obj(obj, "metadata"), "deletionTimestamp") != NULL;
}

/* ---- pods ------------------------------------------------------------------
 */

bool api_condition_true(json_object *status, const char *type) {
  json_object *conds = jget_arr(status, "conditions");
  for (size_t i = 0; i < jarr_len(conds); i++) {
    json_object *c = jarr_at(conds, i);
    if (streq(jget_str0(c, "type"), type))
      return streq(jget_str0(c, "status"), "True");
  }
  return false;
}

/* ---- workloads -------------------------------------------------------------
 */

/* ---- services, endpoints ------------------------------------------------- */

/* ---- nodes, namespaces, events ----------------------------------------- */

/* ---- config, storage, policy --------------------------------------------- */

/* ---- dispatch
 * ---------------------------------------------------------------- */

json_object *kube_json_table_cells(const kube_kind_t *kind, json_object *obj,
                                   time_t now) {
  json_object *cells = json_object_new_array();
  if (!cells)
    return NULL;
  const struct kube_kind_strategy *st = kind ? api_kind_strategy(kind) : NULL;
  if (st && st->cells) {
    st->cells(cells, obj, now, kind);
  } else {
    api_cell_str(cells, api_name_of(obj));
    api_cell_age(cells, obj, now);
  }
  return cells;
}

/* ---- field and label lookups ----------------------------------------------
 */

static bool declared(const kube_kind_t *k, const char *field) {
  for (const char *const *f = k ? k->selectable_fields : NULL; f && *f; f++)
    if (streq(*f, field))
      return true;
  return false;
}

/* The string form Kubernetes' field sets use for a value: strings as they
 * are, integers in decimal, booleans "true"/"false".  Borrowed from the
 * tree (json-c caches the text in the value). */
static const char *value_text(json_object *v) {
  switch (json_object_get_type(v)) {
  case json_type_string:
    return json_object_get_string(v);
  case json_type_boolean:
    return json_object_get_boolean(v) ? "true" : "false";
  case json_type_int:
  case json_type_double:
    return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
  default:
    return NULL;
  }
}

const char *kube_json_field_lookup(void *ctx, const char *field) {
  json_object *obj = ctx;
  if (!obj || !field)
    return NULL;
  json_object *md = jget_obj(obj, "metadata");
  if (streq(field, "metadata.name"))
    return jget_str0(md, "name");
  if (streq(field, "metadata.namespace"))
    return jget_str0(md, "namespace");
  const kube_kind_t *k = api_kind_of_tree(obj);
  if (!declared(k, field))
    return NULL;
  const char *path = field;
  const char *def = "";
  for (const api_field_path_t *p = api_kind_strategy(k)->field_paths;
       p && p->field; p++) {
    if (!streq(p->field, field))
      continue;
    if (p->path)
      path = p->path;
    if (p->absent)
      def = p->absent;
    break;
  }
  const char *v = value_text(kube_json_get(obj, path));
  return v ? v : def;
}

const char *kube_json_label_lookup(void *ctx, const char *key) {
  json_object *obj = ctx;
  if (!key)
    return NULL;
  return jget_str(jget_obj(jget_obj(obj, "metadata"), "labels"), key);
}
