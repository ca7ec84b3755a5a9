/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kubectl's names and output formats: resources as users type them,
 * "kind/name", -o parsing and the non-table printers, List objects,
 * --sort-by, -o custom-columns and watch event objects.
 */
#include <ctype.h>
#include <json-c/json.h>

#include "api/api-private.h"
#include "client/internal.h"
#include "core/util.h"

/* ---- names ------------------------------------------------------------ */

KUBE_EXPORT const kube_kind_t *kube_kind_lookup(const char *name,
                                                kube_error_t *err) {
  const kube_kind_t *k = name ? kube_kind_resolve(name) : NULL;
  if (!k && name) {
    /* "deployment.apps": a singular or short name qualified by a group,
     * which kubectl accepts as well as the plural. */
    const char *dot = strchr(name, '.');
    if (dot) {
      cleanup_free char *base = strndup(name, (size_t)(dot - name));
      const kube_kind_t *b = base ? kube_kind_resolve(base) : NULL;
      if (b && b->group && streq(b->group, dot + 1))
        k = b;
    }
  }
  if (!k)
    kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                   "the server doesn't have a resource type \"%s\"",
                   name ? name : "");
  return k;
}

KUBE_EXPORT char *kube_kind_display_name(const kube_kind_t *k, char *buf,
                                         size_t len) {
  if (k->group && *k->group)
    snprintf(buf, len, "%s.%s", k->singular, k->group);
  else
    snprintf(buf, len, "%s", k->singular);
  return buf;
}

KUBE_EXPORT const kube_kind_t *kube_kind_of_object(const kube_object_t *obj,
                                                   kube_error_t *err) {
  const char *av = kube_object_api_version(obj), *k = kube_object_kind(obj);
  const char *name = kube_object_name(obj);
  if (!k || !*k)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "Object 'Kind' is missing in '%s'", name ? name : ""),
           NULL;
  if (!av || !*av)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "Object 'apiVersion' is missing"),
           NULL;
  const kube_kind_t *kind = kube_kind_by_kind(av, k);
  if (!kind)
    kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                   "unable to recognize \"%s\": no matches for kind \"%s\" in "
                   "version \"%s\"",
                   name ? name : "", k, av);
  return kind;
}

KUBE_EXPORT char *kube_object_ref(const kube_object_t *obj) {
  const char *av = kube_object_api_version(obj), *k = kube_object_kind(obj);
  const kube_kind_t *kind = av && k ? kube_kind_by_kind(av, k) : NULL;
  char kn[128], *out = NULL;
  if (kind) {
    kube_kind_display_name(kind, kn, sizeof kn);
  } else {
    snprintf(kn, sizeof kn, "%s", k ? k : "unknown");
    for (char *p = kn; *p; p++)
      *p = (char)tolower((unsigned char)*p);
  }
  const char *name = kube_object_name(obj);
  if (asprintf(&out, "%s/%s", kn, name ? name : "") < 0)
    return NULL;
  return out;
}

/* ---- -o ----------------------------------------------------------------- */

KUBE_EXPORT int kube_output_parse(const char *o, kube_output_t *out,
                                  kube_error_t *err) {
  out->arg = NULL;
  out->show_managed_fields = false;
  if (!o || !*o)
    out->format = KUBE_OUTPUT_DEFAULT;
  else if (streq(o, "wide"))
    out->format = KUBE_OUTPUT_WIDE;
  else if (streq(o, "json"))
    out->format = KUBE_OUTPUT_JSON;
  else if (streq(o, "yaml"))
    out->format = KUBE_OUTPUT_YAML;
  else if (streq(o, "name"))
    out->format = KUBE_OUTPUT_NAME;
  else if (str_has_prefix(o, "jsonpath=")) {
    out->format = KUBE_OUTPUT_JSONPATH;
    out->arg = o + 9;
  } else if (str_has_prefix(o, "custom-columns=")) {
    out->format = KUBE_OUTPUT_CUSTOM_COLUMNS;
    out->arg = o + 15;
  } else {
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "unable to match a printer suitable for the output "
                          "format \"%s\", allowed formats are: "
                          "custom-columns,json,jsonpath,name,wide,yaml",
                          o);
  }
  return 0;
}

KUBE_EXPORT bool kube_output_is_table(const kube_output_t *out) {
  return out->format == KUBE_OUTPUT_DEFAULT || out->format == KUBE_OUTPUT_WIDE;
}

static int cmp_cstr(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A copy with object keys sorted, as kubectl prints unstructured objects
 * (Go's encoding/json sorts map keys).  New reference. */
static json_object *sorted_copy(json_object *v) {
  if (json_object_is_type(v, json_type_object)) {
    size_t n = (size_t)json_object_object_length(v), i = 0;
    const char **keys = calloc(n ? n : 1, sizeof *keys);
    json_object *out = json_object_new_object();
    if (!keys || !out) {
      free(keys);
      json_object_put(out);
      return NULL;
    }
    json_object_object_foreach(v, k, val) {
      (void)val;
      keys[i++] = k;
    }
    qsort(keys, n, sizeof *keys, cmp_cstr);
    for (i = 0; i < n; i++)
      json_object_object_add(out, keys[i],
                             sorted_copy(json_object_object_get(v, keys[i])));
    free(keys);
    return out;
  }
  if (json_object_is_type(v, json_type_array)) {
    json_object *out = json_object_new_array();
    for (size_t i = 0; out && i < json_object_array_length(v); i++)
      json_object_array_add(out, sorted_copy(json_object_array_get_idx(v, i)));
    return out;
  }
  return json_object_get(v);
}

static void drop_managed_fields(json_object *o) {
  json_object *meta = kube_json_get(o, "metadata");
  if (json_object_is_type(meta, json_type_object))
    json_object_object_del(meta, "managedFields");
}

/* kubectl's OmitManagedFieldsPrinter: the object, a list's items and a
 * watch event's object. */
static void omit_managed_fields(json_object *root) {
  drop_managed_fields(root);
  json_object *items = kube_json_get(root, "items");
  for (size_t i = 0; json_object_is_type(items, json_type_array) &&
                     i < json_object_array_length(items);
       i++)
    drop_managed_fields(json_object_array_get_idx(items, i));
  json_object *ev = kube_json_get(root, "object");
  if (kube_json_get(root, "type") && json_object_is_type(ev, json_type_object))
    drop_managed_fields(ev);
}

KUBE_EXPORT char *kube_output_object(const kube_object_t *obj,
                                     const kube_output_t *out,
                                     kube_error_t *err) {
  char *s = NULL;
  switch (out->format) {
  case KUBE_OUTPUT_JSON:
  case KUBE_OUTPUT_YAML: {
    /* A sorted copy: JSON prints in that order, and the managed fields
     * can go without touching the caller's object. */
    json_object *copy = sorted_copy(kube_object_json(obj));
    if (copy && !out->show_managed_fields)
      omit_managed_fields(copy);
    kube_object_t *c = copy ? kube_object_wrap(copy) : NULL;
    if (c)
      s = out->format == KUBE_OUTPUT_JSON
              ? kube_object_to_json(c, KUBE_JSON_PRETTY)
              : kube_object_to_yaml(c);
    else
      json_object_put(copy);
    kube_object_free(c);
    break;
  }
  case KUBE_OUTPUT_NAME: {
    cleanup_free char *ref = kube_object_ref(obj);
    if (ref && asprintf(&s, "%s\n", ref) < 0)
      s = NULL;
    break;
  }
  case KUBE_OUTPUT_JSONPATH:
    return kube_jsonpath_eval(obj, out->arg ? out->arg : "", err);
  default:
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "output format not supported here"),
           NULL;
  }
  if (!s)
    kube_make_oom(err);
  return s;
}

/* ---- lists -------------------------------------------------------------- */

KUBE_EXPORT kube_object_t *kube_list_new(kube_error_t *err) {
  json_object *list = json_object_new_object();
  json_object *meta = json_object_new_object();
  json_object *items = json_object_new_array();
  if (!list || !meta || !items) {
    json_object_put(list);
    json_object_put(meta);
    json_object_put(items);
    return kube_make_oom(err), NULL;
  }
  /* The key order kubectl prints a List in (it is sorted for -o json
   * anyway; YAML sorts too). */
  json_object_object_add(list, "apiVersion", json_object_new_string("v1"));
  json_object_object_add(list, "items", items);
  json_object_object_add(list, "kind", json_object_new_string("List"));
  json_object_object_add(meta, "resourceVersion", json_object_new_string(""));
  json_object_object_add(list, "metadata", meta);
  kube_object_t *o = kube_object_wrap(list);
  if (!o) {
    json_object_put(list);
    kube_make_oom(err);
  }
  return o;
}

static json_object *items_of(const kube_object_t *list) {
  json_object *items =
      list ? kube_json_get(kube_object_json(list), "items") : NULL;
  return json_object_is_type(items, json_type_array) ? items : NULL;
}

KUBE_EXPORT int kube_list_add(kube_object_t *list, kube_object_t *item,
                              kube_error_t *err) {
  json_object *items = items_of(list);
  if (!items) {
    json_object *root = list ? kube_object_json(list) : NULL;
    if (!json_object_is_type(root, json_type_object) ||
        json_object_object_get_ex(root, "items", NULL)) {
      kube_object_free(item);
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "not a list object");
    }
    items = json_object_new_array();
    if (!items || json_object_object_add(root, "items", items) < 0) {
      kube_object_free(item);
      return kube_make_oom(err);
    }
  }
  json_object *tree = json_object_get(kube_object_json(item));
  kube_object_free(item);
  if (json_object_array_add(items, tree) < 0) {
    json_object_put(tree);
    return kube_make_oom(err);
  }
  return 0;
}

KUBE_EXPORT int kube_list_extend(kube_object_t *list, kube_object_t *other,
                                 kube_error_t *err) {
  json_object *dst = items_of(list), *src = items_of(other);
  int rc = 0;
  if (!dst)
    rc = kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "not a list object");
  for (size_t i = 0; rc == 0 && src && i < json_object_array_length(src); i++) {
    json_object *it = json_object_get(json_object_array_get_idx(src, i));
    if (json_object_array_add(dst, it) < 0) {
      json_object_put(it);
      rc = kube_make_oom(err);
    }
  }
  kube_object_free(other);
  return rc;
}

KUBE_EXPORT size_t kube_list_length(const kube_object_t *list) {
  json_object *items = items_of(list);
  return items ? json_object_array_length(items) : 0;
}

KUBE_EXPORT int kube_list_foreach(const kube_object_t *list, kube_list_fn fn,
                                  void *userdata) {
  json_object *items = items_of(list);
  for (size_t i = 0; items && i < json_object_array_length(items); i++) {
    /* The handle only borrows the item's tree for the call. */
    struct kube_object view = {json_object_array_get_idx(items, i)};
    int r = fn(&view, userdata);
    if (r)
      return r;
  }
  return 0;
}

/* ---- --sort-by ---------------------------------------------------------- */

struct sort_key {
  size_t idx;        /* original position: ties keep their order */
  json_object *elem; /* reference */
  char *key;
  double num;
  bool is_num;
};

static int cmp_sort_key(const void *a, const void *b) {
  const struct sort_key *x = a, *y = b;
  int c;
  if (x->is_num && y->is_num)
    c = x->num < y->num ? -1 : x->num > y->num;
  else
    c = strcmp(x->key, y->key);
  return c ? c : x->idx < y->idx ? -1 : x->idx > y->idx;
}

KUBE_EXPORT int kube_object_sort_by(kube_object_t *obj, const char *expr,
                                    kube_error_t *err) {
  json_object *root = kube_object_json(obj);
  const char *kind = kube_json_get_string(root, "kind");
  bool table = kind && streq(kind, "Table");
  json_object *arr = kube_json_get(root, table ? "rows" : "items");
  size_t n = json_object_is_type(arr, json_type_array)
                 ? json_object_array_length(arr)
                 : 0;
  if (n < 2)
    return 0;
  cleanup_free char *tmpl = NULL;
  if (asprintf(&tmpl, expr[0] == '{' ? "%s" : "{%s}", expr) < 0)
    return kube_make_oom(err);
  struct sort_key *keys = calloc(n, sizeof *keys);
  if (!keys)
    return kube_make_oom(err);
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    json_object *e = json_object_array_get_idx(arr, i);
    json_object *target = table ? kube_json_get(e, "object") : e;
    struct kube_object view = {target ? target : e};
    cleanup_error kube_error_t jerr = KUBE_ERROR_INIT;
    keys[i].idx = i;
    keys[i].elem = json_object_get(e);
    keys[i].key = kube_jsonpath_eval(&view, tmpl, &jerr);
    if (!keys[i].key) {
      rc = kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "couldn't sort by %s: %s", expr,
                          jerr.message ? jerr.message : "out of memory");
      break;
    }
    char *end;
    keys[i].num = strtod(keys[i].key, &end);
    keys[i].is_num = *keys[i].key && !*end;
  }
  bool found = false;
  for (size_t i = 0; rc == 0 && i < n; i++)
    found = found || *keys[i].key;
  if (rc == 0 && !found)
    rc = kube_error_set(
        err, KUBE_REASON_BAD_REQUEST, 0,
        "couldn't find any field with path \"%s\" in the list of objects",
        tmpl);
  if (rc == 0) {
    qsort(keys, n, sizeof *keys, cmp_sort_key);
    for (size_t i = 0; i < n; i++)
      json_object_array_put_idx(arr, i, json_object_get(keys[i].elem));
  }
  for (size_t i = 0; i < n; i++) {
    json_object_put(keys[i].elem);
    free(keys[i].key);
  }
  free(keys);
  return rc;
}

/* ---- -o custom-columns -------------------------------------------------- */

/* Split SPEC into headers and "{range EXPR}{@}{","}{end}" templates, which
 * print every value of a column followed by a comma. */
static int parse_columns(char *spec, json_object *defs, char ***tmpls,
                         size_t *ncols, kube_error_t *err) {
  int depth = 0;
  char *start = spec;
  /* Split on commas outside brackets ([*] and filters may hold commas). */
  for (char *q = spec;; q++) {
    if (*q == '[')
      depth++;
    else if (*q == ']')
      depth--;
    if (*q && (*q != ',' || depth > 0))
      continue;
    bool last = !*q;
    *q = '\0';
    char *colon = strchr(start, ':');
    if (!colon || colon == start || !colon[1]) {
      if (colon)
        *colon = ':';
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "unexpected custom-columns spec: %s, expected "
                            "<header>:<json-path-expr>",
                            start);
    }
    *colon = '\0';
    const char *expr = colon + 1;
    json_object *d = json_object_new_object();
    json_object_object_add(d, "name", json_object_new_string(start));
    json_object_array_add(defs, d);
    char **nt = realloc(*tmpls, (*ncols + 1) * sizeof *nt);
    if (!nt)
      return kube_make_oom(err);
    *tmpls = nt;
    bool braced = expr[0] == '{';
    if (asprintf(&nt[*ncols], "{range %.*s}{@}{\",\"}{end}",
                 (int)(braced ? strlen(expr) - 2 : strlen(expr)),
                 braced ? expr + 1 : expr) < 0)
      return kube_make_oom(err);
    (*ncols)++;
    if (last)
      return 0;
    start = q + 1;
  }
}

KUBE_EXPORT kube_object_t *kube_custom_columns_table(const kube_object_t *list,
                                                     const char *spec,
                                                     kube_error_t *err) {
  json_object *t = json_object_new_object(), *defs = json_object_new_array(),
              *rows = json_object_new_array();
  json_object_object_add(t, "kind", json_object_new_string("Table"));
  json_object_object_add(t, "columnDefinitions", defs);
  json_object_object_add(t, "rows", rows);
  kube_object_t *to = kube_object_wrap(t);
  cleanup_free char *copy = strdup(spec);
  char **tmpls = NULL;
  size_t ncols = 0;
  int rc = 0;
  if (!to || !copy || !defs || !rows)
    rc = kube_make_oom(err);
  if (rc == 0)
    rc = parse_columns(copy, defs, &tmpls, &ncols, err);
  json_object *items = items_of(list);
  for (size_t i = 0; rc == 0 && items && i < json_object_array_length(items);
       i++) {
    json_object *it = json_object_array_get_idx(items, i);
    struct kube_object view = {it};
    json_object *row = json_object_new_object(),
                *cells = json_object_new_array();
    json_object_object_add(row, "cells", cells);
    json_object_object_add(row, "object", json_object_get(it));
    json_object_array_add(rows, row);
    for (size_t c = 0; c < ncols; c++) {
      char *v = kube_jsonpath_eval(&view, tmpls[c], err);
      if (!v) {
        rc = -1;
        break;
      }
      size_t len = strlen(v);
      if (len > 0 && v[len - 1] == ',')
        v[--len] = '\0';
      json_object_array_add(cells, json_object_new_string(len ? v : "<none>"));
      free(v);
    }
  }
  for (size_t i = 0; i < ncols; i++)
    free(tmpls[i]);
  free(tmpls);
  if (rc < 0) {
    kube_object_free(to);
    return NULL;
  }
  return to;
}

/* ---- watch events ------------------------------------------------------- */

KUBE_EXPORT kube_object_t *kube_watch_event_new(const char *type,
                                                const kube_object_t *obj,
                                                kube_error_t *err) {
  json_object *copy = NULL;
  json_object *e = json_object_new_object();
  if (!e || json_object_deep_copy(kube_object_json(obj), &copy, NULL) != 0) {
    json_object_put(e);
    return kube_make_oom(err), NULL;
  }
  json_object_object_add(e, "type", json_object_new_string(type));
  json_object_object_add(e, "object", copy);
  kube_object_t *o = kube_object_wrap(e);
  if (!o) {
    json_object_put(e);
    kube_make_oom(err);
  }
  return o;
}
