/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Checking a request body against a runtime schema.
 *
 * Built-in kinds are checked as Go's JSON decoder would decode them into
 * their structs: a value of the wrong JSON type, an integer that does not
 * fit int32/int64 or a number with a fraction for an integer field is a
 * decoding error (the first one is reported, worded as encoding/json
 * does); a field the struct does not have is unknown (reported for
 * fieldValidation and dropped, as decoding drops it).  Open types keep
 * what they do not list.
 *
 * Custom resources are checked as apiextensions-apiserver does: unknown
 * fields are pruned (unless x-kubernetes-preserve-unknown-fields), null
 * values of non-nullable fields are pruned, defaults are applied, and
 * values are validated against the structural schema (types, formats,
 * enum, pattern, bounds, lengths, required, list types), each problem a
 * cause with Kubernetes' field path and wording.
 */
#include <math.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "api/kinds/kind.h"

struct walk {
  api_check_t *c;
  kube_strbuf_t path;   /* "spec.containers[0].image" */
  kube_strbuf_t gopath; /* "spec.containers.image": Go's decode path */
  const char *gostruct; /* the Go struct holding the current field */
};

static void truncate_to(kube_strbuf_t *sb, size_t len) {
  if (sb->data && len <= sb->len) {
    sb->len = len;
    sb->data[len] = '\0';
  }
}

static const char *path_of(struct walk *w) {
  return w->path.data ? w->path.data : "";
}

static void push_field(struct walk *w, const char *name, size_t *mark,
                       size_t *gomark) {
  *mark = w->path.len;
  *gomark = w->gopath.len;
  if (w->path.len)
    kube_strbuf_append_char(&w->path, '.');
  kube_strbuf_append(&w->path, name);
  if (w->gopath.len)
    kube_strbuf_append_char(&w->gopath, '.');
  kube_strbuf_append(&w->gopath, name);
}

static void push_index(struct walk *w, size_t i, size_t *mark) {
  *mark = w->path.len;
  kube_strbuf_printf(&w->path, "[%zu]", i);
}

static bool add_str(struct walk *w, char ***v, size_t *n, const char *s) {
  char **nv = realloc(*v, (*n + 1) * sizeof(**v));
  char *d = strdup(s ? s : "");
  if (!nv || !d) {
    free(d);
    if (nv)
      *v = nv;
    w->c->oom = true;
    return false;
  }
  *v = nv;
  nv[(*n)++] = d;
  return true;
}

/* ---- type names ---------------------------------------------------------- */

/* The JSON type of a value as the structural validator names it. */
static const char *json_type_word(json_object *v) {
  switch (json_object_get_type(v)) {
  case json_type_null:
    return "null";
  case json_type_boolean:
    return "boolean";
  case json_type_int:
    return "integer";
  case json_type_double:
    return "number";
  case json_type_string:
    return "string";
  case json_type_array:
    return "array";
  case json_type_object:
    return "object";
  }
  return "unknown";
}

static const char *schema_type_word(const api_schema_t *s) {
  if (s->flags & API_SF_INT_OR_STRING)
    return "integer,string";
  const char *t = api_schema_type_name(s->type);
  return t ? t : "any";
}

/* The Go type of a built-in schema node, as encoding/json prints it. */
static void go_type(kube_strbuf_t *sb, const api_schema_t *s) {
  if (!s) {
    kube_strbuf_append(sb, "interface {}");
    return;
  }
  if (s->src) {
    kube_strbuf_printf(sb, "v1.%s", s->src->name);
    return;
  }
  switch (s->type) {
  case API_S_ARRAY:
    kube_strbuf_append(sb, "[]");
    go_type(sb, s->items);
    return;
  case API_S_OBJECT:
    kube_strbuf_append(sb, "map[string]");
    go_type(sb, s->additional);
    return;
  case API_S_STRING:
    kube_strbuf_append(sb, s->format == API_FMT_BYTE ? "[]uint8" : "string");
    return;
  case API_S_INTEGER:
    kube_strbuf_append(sb, s->format == API_FMT_INT32 ? "int32" : "int64");
    return;
  case API_S_NUMBER:
    kube_strbuf_append(sb, "float64");
    return;
  case API_S_BOOLEAN:
    kube_strbuf_append(sb, "bool");
    return;
  default:
    kube_strbuf_append(sb, s->format == API_FMT_QUANTITY ? "resource.Quantity"
                                                         : "int32");
  }
}

/* encoding/json: `json: cannot unmarshal number 1.5 into Go struct field
 * PodSpec.spec.priority of type int32`.  Only the first is kept. */
static void go_type_error(struct walk *w, json_object *v, const api_schema_t *s,
                          bool number_value) {
  if (w->c->type_error)
    return;
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  const char *what = json_type_word(v);
  kube_strbuf_append(&sb, "json: cannot unmarshal ");
  if (number_value) {
    size_t n = 0;
    const char *lit =
        json_object_to_json_string_length(v, JSON_C_TO_STRING_PLAIN, &n);
    kube_strbuf_append(&sb, "number ");
    kube_strbuf_append_len(&sb, lit ? lit : "", lit ? n : 0);
  } else if (json_object_is_type(v, json_type_int) ||
             json_object_is_type(v, json_type_double)) {
    kube_strbuf_append(&sb, "number");
  } else {
    kube_strbuf_append(&sb, streq(what, "boolean") ? "bool" : what);
  }
  if (w->gostruct && w->gopath.len)
    kube_strbuf_printf(&sb, " into Go struct field %s.%s of type ", w->gostruct,
                       w->gopath.data);
  else
    kube_strbuf_append(&sb, " into Go value of type ");
  go_type(&sb, s);
  if (sb.oom)
    w->c->oom = true;
  w->c->type_error = kube_strbuf_steal(&sb);
}

/* The structural validator: `Invalid value: "string": spec.replicas in
 * body must be of type integer: "string"`. */
static void cr_type_error(struct walk *w, json_object *v,
                          const api_schema_t *s) {
  if (!(w->c->flags & API_CHECK_VALIDATE) || !w->c->errs)
    return;
  char detail[FP_MAX + 96];
  const char *actual = json_type_word(v);
  snprintf(detail, sizeof detail, "%s in body must be of type %s: \"%s\"",
           path_of(w), schema_type_word(s), actual);
  api_v_invalid(w->c->errs, path_of(w), actual, detail);
}

static void type_error(struct walk *w, json_object *v, const api_schema_t *s,
                       bool number_value) {
  if (s->flags & API_SF_GO)
    go_type_error(w, v, s, number_value);
  else
    cr_type_error(w, v, s);
}

/* ---- value validation (custom resources) ----------------------------------
 */

static void raw_of(json_object *v, char *buf, size_t len) {
  size_t n = 0;
  const char *s =
      json_object_to_json_string_length(v, JSON_C_TO_STRING_PLAIN, &n);
  snprintf(buf, len, "%.*s", (int)(s ? n : 0), s ? s : "");
}

/* %g as Go's strconv prints a float64 bound (10, 1.5, 1e+21). */
static void fmt_num(char *buf, size_t len, double d) {
  if (d == floor(d) && fabs(d) < 1e21)
    snprintf(buf, len, "%.0f", d);
  else
    snprintf(buf, len, "%g", d);
}

static void check_enum(struct walk *w, json_object *v, const api_schema_t *s) {
  if (!s->enum_values)
    return;
  size_t n = json_object_array_length(s->enum_values);
  for (size_t i = 0; i < n; i++)
    if (json_object_equal(json_object_array_get_idx(s->enum_values, i), v))
      return;
  const char **sup = calloc(n + 1, sizeof(*sup));
  char(*raw)[64] = calloc(n + 1, sizeof(*raw));
  if (!sup || !raw) {
    free(sup);
    free(raw);
    w->c->oom = true;
    return;
  }
  for (size_t i = 0; i < n; i++) {
    json_object *e = json_object_array_get_idx(s->enum_values, i);
    if (json_object_is_type(e, json_type_string)) {
      sup[i] = json_object_get_string(e);
    } else {
      raw_of(e, raw[i], sizeof raw[i]);
      sup[i] = raw[i];
    }
  }
  if (json_object_is_type(v, json_type_string)) {
    api_v_unsupported(w->c->errs, path_of(w), json_object_get_string(v), sup);
  } else {
    char r[64];
    raw_of(v, r, sizeof r);
    api_v_unsupported(w->c->errs, path_of(w), r, sup);
  }
  free(sup);
  free(raw);
}

static void check_number(struct walk *w, json_object *v,
                         const api_schema_t *s) {
  double d = json_object_get_double(v);
  char raw[64], bound[48], detail[FP_MAX + 96];
  raw_of(v, raw, sizeof raw);
  if (s->flags & API_SF_MINIMUM) {
    bool excl = s->flags & API_SF_EXCL_MIN;
    if (excl ? d <= s->minimum : d < s->minimum) {
      fmt_num(bound, sizeof bound, s->minimum);
      snprintf(detail, sizeof detail, "%s in body should be greater than %s%s",
               path_of(w), excl ? "" : "or equal to ", bound);
      api_v_invalid_raw(w->c->errs, path_of(w), raw, detail);
    }
  }
  if (s->flags & API_SF_MAXIMUM) {
    bool excl = s->flags & API_SF_EXCL_MAX;
    if (excl ? d >= s->maximum : d > s->maximum) {
      fmt_num(bound, sizeof bound, s->maximum);
      snprintf(detail, sizeof detail, "%s in body should be less than %s%s",
               path_of(w), excl ? "" : "or equal to ", bound);
      api_v_invalid_raw(w->c->errs, path_of(w), raw, detail);
    }
  }
  if ((s->flags & API_SF_MULTIPLE) && s->multiple_of > 0) {
    double q = d / s->multiple_of;
    if (fabs(q - round(q)) > 1e-9) {
      fmt_num(bound, sizeof bound, s->multiple_of);
      snprintf(detail, sizeof detail, "%s in body should be a multiple of %s",
               path_of(w), bound);
      api_v_invalid_raw(w->c->errs, path_of(w), raw, detail);
    }
  }
}

/* Length in characters (UTF-8 code points), as Go's utf8.RuneCountInString. */
static int64_t runes(const char *s, size_t len) {
  int64_t n = 0;
  for (size_t i = 0; i < len; i++)
    if (((unsigned char)s[i] & 0xc0) != 0x80)
      n++;
  return n;
}

static void check_string(struct walk *w, json_object *v,
                         const api_schema_t *s) {
  const char *str = json_object_get_string(v);
  size_t len = (size_t)json_object_get_string_len(v);
  int64_t n = runes(str, len);
  char detail[FP_MAX + 600];
  if (s->max_length >= 0 && n > s->max_length) {
    snprintf(detail, sizeof detail, "may not be longer than %" PRId64,
             s->max_length);
    api_v_toolong(w->c->errs, path_of(w), detail);
  }
  if (s->min_length >= 0 && n < s->min_length) {
    snprintf(detail, sizeof detail,
             "%s in body should be at least %" PRId64 " chars long", path_of(w),
             s->min_length);
    api_v_invalid(w->c->errs, path_of(w), str, detail);
  }
  if (s->regex) {
    pcre2_match_data *md =
        pcre2_match_data_create_from_pattern((pcre2_code *)s->regex, NULL);
    int rc = md ? pcre2_match((pcre2_code *)s->regex, (PCRE2_SPTR)str, len, 0,
                              0, md, NULL)
                : PCRE2_ERROR_NOMEMORY;
    pcre2_match_data_free(md);
    if (rc == PCRE2_ERROR_NOMEMORY) {
      w->c->oom = true;
    } else if (rc < 0) {
      snprintf(detail, sizeof detail, "%s in body should match '%s'",
               path_of(w), s->pattern);
      api_v_invalid(w->c->errs, path_of(w), str, detail);
    }
  }
  if (s->format == API_FMT_DATE_TIME && !(s->flags & API_SF_GO)) {
    struct timespec ts;
    if (kube_time_parse(str, &ts, NULL) < 0) {
      snprintf(detail, sizeof detail, "%s in body must be of type %s: \"%s\"",
               path_of(w), "date-time", str);
      api_v_invalid(w->c->errs, path_of(w), str, detail);
    }
  }
}

static bool fits_int32(json_object *v) {
  int64_t i = json_object_get_int64(v);
  return i >= INT32_MIN && i <= INT32_MAX &&
         json_object_get_uint64(v) <= INT64_MAX;
}

/* int64 values above INT64_MAX are parsed as uint64 by json-c. */
static bool fits_int64(json_object *v) {
  return json_object_get_int64(v) != INT64_MAX ||
         json_object_get_uint64(v) == (uint64_t)INT64_MAX;
}

/* ---- the walk -------------------------------------------------------------
 */

static bool walk_value(struct walk *w, json_object *v, const api_schema_t *s);

/* Unknown field `key` of obj: remember it, drop it when pruning. */
static void unknown_field(struct walk *w, const char *key, char ***drop,
                          size_t *n_drop) {
  size_t mark, gomark;
  push_field(w, key, &mark, &gomark);
  add_str(w, &w->c->unknown, &w->c->n_unknown, path_of(w));
  truncate_to(&w->path, mark);
  truncate_to(&w->gopath, gomark);
  if (w->c->flags & API_CHECK_PRUNE)
    add_str(w, drop, n_drop, key);
}

/* The schema of the implicit fields of an embedded resource / a CR root. */
static const api_schema_t *implicit_prop(const api_schema_t *s,
                                         const char *key) {
  if (!(s->flags & API_SF_EMBEDDED))
    return NULL;
  static const api_schema_t str = {.type = API_S_STRING,
                                   .min_length = -1,
                                   .max_length = -1,
                                   .min_items = -1,
                                   .max_items = -1,
                                   .min_props = -1,
                                   .max_props = -1};
  if (streq(key, "apiVersion") || streq(key, "kind"))
    return &str;
  if (streq(key, "metadata"))
    return api_schema_of_type(&api_t_ObjectMeta);
  return NULL;
}

static void walk_object(struct walk *w, json_object *obj,
                        const api_schema_t *s) {
  char **drop = NULL;
  size_t n_drop = 0;
  const char *saved_struct = w->gostruct;
  if (s->src)
    w->gostruct = s->src->name;
  json_object_object_foreach(obj, key, val) {
    const api_schema_t *ps = NULL;
    if (s->n_props) {
      ps = api_schema_prop(s, key);
    } else {
      ps = s->additional;
    }
    if (!ps)
      ps = implicit_prop(s, key);
    if (!ps) {
      if (!(s->flags & API_SF_PRESERVE_UNKNOWN))
        unknown_field(w, key, &drop, &n_drop);
      continue;
    }
    size_t mark, gomark;
    push_field(w, key, &mark, &gomark);
    bool keep = walk_value(w, val, ps);
    truncate_to(&w->path, mark);
    truncate_to(&w->gopath, gomark);
    if (!keep)
      add_str(w, &drop, &n_drop, key);
  }
  for (size_t i = 0; i < n_drop; i++) {
    json_object_object_del(obj, drop[i]);
    free(drop[i]);
  }
  free(drop);
  w->gostruct = saved_struct;
  if (!(w->c->flags & API_CHECK_VALIDATE) || !w->c->errs)
    return;
  char f[FP_MAX];
  for (size_t i = 0; i < s->n_required; i++)
    if (!json_object_object_get_ex(obj, s->required[i], NULL))
      api_v_required(w->c->errs,
                     w->path.len
                         ? api_fp(f, "%s.%s", path_of(w), s->required[i])
                         : s->required[i],
                     NULL);
  if (s->flags & API_SF_EMBEDDED) {
    static const char *const must[] = {"apiVersion", "kind"};
    for (size_t i = 0; i < ARRAY_SIZE(must); i++) {
      const char *x = jget_str(obj, must[i]);
      if (!x || !*x)
        api_v_required(w->c->errs,
                       w->path.len ? api_fp(f, "%s.%s", path_of(w), must[i])
                                   : must[i],
                       "must not be empty");
    }
  }
  int64_t np = json_object_object_length(obj);
  char detail[FP_MAX + 96];
  if (s->max_props >= 0 && np > s->max_props) {
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    kube_strbuf_printf(
        &sb, "Too many: %" PRId64 ": must have at most %" PRId64 " items", np,
        s->max_props);
    api_v_add(w->c->errs, path_of(w), "FieldValueTooMany", sb.data);
    kube_strbuf_clear(&sb);
  }
  if (s->min_props >= 0 && np < s->min_props) {
    snprintf(detail, sizeof detail,
             "%s in body should have at least %" PRId64 " properties",
             path_of(w), s->min_props);
    char raw[32];
    snprintf(raw, sizeof raw, "%" PRId64, np);
    api_v_invalid_raw(w->c->errs, path_of(w), raw, detail);
  }
}

/* The key of a list-type=map item ("name=a,port=80"), for duplicates. */
static char *map_item_key(json_object *item, const api_schema_t *s) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  for (size_t k = 0; k < API_MAX_KEYS && s->keys[k]; k++) {
    json_object *v = NULL;
    json_object_object_get_ex(item, s->keys[k], &v);
    kube_strbuf_printf(&sb, "%s%s=", k ? "," : "", s->keys[k]);
    kube_strbuf_append(
        &sb, v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN)
               : "<absent>");
  }
  return kube_strbuf_steal(&sb);
}

static void walk_array(struct walk *w, json_object *arr,
                       const api_schema_t *s) {
  size_t n = json_object_array_length(arr);
  for (size_t i = 0; i < n; i++) {
    json_object *item = json_object_array_get_idx(arr, i);
    size_t mark;
    push_index(w, i, &mark);
    bool keep = walk_value(w, item, s->items);
    truncate_to(&w->path, mark);
    if (!keep) /* a null item of a non-nullable list: Go keeps a zero */
      continue;
  }
  if (!(w->c->flags & API_CHECK_VALIDATE) || !w->c->errs)
    return;
  char detail[FP_MAX + 96], raw[32], f[FP_MAX];
  snprintf(raw, sizeof raw, "%zu", n);
  if (s->max_items >= 0 && (int64_t)n > s->max_items) {
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    kube_strbuf_printf(&sb,
                       "Too many: %zu: must have at most %" PRId64 " items", n,
                       s->max_items);
    api_v_add(w->c->errs, path_of(w), "FieldValueTooMany", sb.data);
    kube_strbuf_clear(&sb);
  }
  if (s->min_items >= 0 && (int64_t)n < s->min_items) {
    snprintf(detail, sizeof detail,
             "%s in body should have at least %" PRId64 " items", path_of(w),
             s->min_items);
    api_v_invalid_raw(w->c->errs, path_of(w), raw, detail);
  }
  bool set = s->list == API_LIST_SET || (s->flags & API_SF_UNIQUE);
  for (size_t i = 1; set && i < n; i++) {
    json_object *a = json_object_array_get_idx(arr, i);
    for (size_t j = 0; j < i; j++)
      if (json_object_equal(a, json_object_array_get_idx(arr, j))) {
        char r[256];
        raw_of(a, r, sizeof r);
        kube_strbuf_t sb = KUBE_STRBUF_INIT;
        kube_strbuf_printf(&sb, "Duplicate value: %s", r);
        api_v_add(w->c->errs, api_fp(f, "%s[%zu]", path_of(w), i),
                  "FieldValueDuplicate", sb.data);
        kube_strbuf_clear(&sb);
        break;
      }
  }
  if (s->list == API_LIST_MAP && s->keys[0] && n > 1) {
    char **keys = calloc(n, sizeof(*keys));
    for (size_t i = 0; keys && i < n; i++) {
      json_object *item = json_object_array_get_idx(arr, i);
      if (!json_object_is_type(item, json_type_object))
        continue;
      keys[i] = map_item_key(item, s);
      for (size_t j = 0; keys[i] && j < i; j++)
        if (keys[j] && streq(keys[i], keys[j])) {
          kube_strbuf_t sb = KUBE_STRBUF_INIT;
          char r[256];
          raw_of(item, r, sizeof r);
          kube_strbuf_printf(&sb, "Duplicate value: %s", r);
          api_v_add(w->c->errs, api_fp(f, "%s[%zu]", path_of(w), i),
                    "FieldValueDuplicate", sb.data);
          kube_strbuf_clear(&sb);
          break;
        }
    }
    for (size_t i = 0; keys && i < n; i++)
      free(keys[i]);
    free(keys);
  }
}

/* Check v against s.  False when v is to be dropped from its parent (a
 * null where the schema does not allow one, when pruning). */
static bool walk_value(struct walk *w, json_object *v, const api_schema_t *s) {
  if (!s)
    return true;
  bool validate = (w->c->flags & API_CHECK_VALIDATE) && w->c->errs;
  if (!v) {
    if ((s->flags & (API_SF_GO | API_SF_NULLABLE)) ||
        (s->type == API_S_ANY && (s->flags & API_SF_PRESERVE_UNKNOWN)))
      return true;
    return !(w->c->flags & API_CHECK_PRUNE);
  }
  if (s->flags & API_SF_VALIDATIONS)
    add_str(w, &w->c->skipped_rules, &w->c->n_skipped_rules, path_of(w));
  if (s->flags & API_SF_INT_OR_STRING) {
    bool quantity = s->format == API_FMT_QUANTITY;
    if (json_object_is_type(v, json_type_string))
      ;
    else if (json_object_is_type(v, json_type_int))
      ;
    else if (quantity && json_object_is_type(v, json_type_double))
      ;
    else
      type_error(w, v, s, false);
    if (validate && !(s->flags & API_SF_GO)) {
      check_enum(w, v, s);
      if (json_object_is_type(v, json_type_string))
        check_string(w, v, s);
      else
        check_number(w, v, s);
    }
    return true;
  }
  switch (s->type) {
  case API_S_ANY:
    if (validate)
      check_enum(w, v, s);
    return true;
  case API_S_OBJECT:
    if (!json_object_is_type(v, json_type_object)) {
      type_error(w, v, s, false);
      return true;
    }
    walk_object(w, v, s);
    if (validate)
      check_enum(w, v, s);
    return true;
  case API_S_ARRAY:
    if (!json_object_is_type(v, json_type_array)) {
      type_error(w, v, s, false);
      return true;
    }
    walk_array(w, v, s);
    return true;
  case API_S_STRING:
    if (!json_object_is_type(v, json_type_string)) {
      type_error(w, v, s, false);
      return true;
    }
    if (validate && !(s->flags & API_SF_GO)) {
      check_enum(w, v, s);
      check_string(w, v, s);
    }
    return true;
  case API_S_INTEGER:
    if (json_object_is_type(v, json_type_double)) {
      type_error(w, v, s, true);
      return true;
    }
    if (!json_object_is_type(v, json_type_int)) {
      type_error(w, v, s, false);
      return true;
    }
    if (s->format == API_FMT_INT32 && !fits_int32(v)) {
      if (s->flags & API_SF_GO) {
        type_error(w, v, s, true);
      } else if (validate) {
        char raw[64], detail[FP_MAX + 96];
        raw_of(v, raw, sizeof raw);
        snprintf(detail, sizeof detail,
                 "%s in body must be of type int32: \"%s\"", path_of(w), raw);
        api_v_invalid_raw(w->c->errs, path_of(w), raw, detail);
      }
      return true;
    }
    if (!fits_int64(v)) {
      if (s->flags & API_SF_GO)
        type_error(w, v, s, true);
      else if (validate)
        cr_type_error(w, v, s);
      return true;
    }
    if (validate && !(s->flags & API_SF_GO)) {
      check_enum(w, v, s);
      check_number(w, v, s);
    }
    return true;
  case API_S_NUMBER:
    if (!json_object_is_type(v, json_type_int) &&
        !json_object_is_type(v, json_type_double)) {
      type_error(w, v, s, false);
      return true;
    }
    if (validate && !(s->flags & API_SF_GO)) {
      check_enum(w, v, s);
      check_number(w, v, s);
    }
    return true;
  case API_S_BOOLEAN:
    if (!json_object_is_type(v, json_type_boolean))
      type_error(w, v, s, false);
    else if (validate)
      check_enum(w, v, s);
    return true;
  }
  return true;
}

int api_schema_check(json_object *obj, const api_schema_t *root,
                     api_check_t *c) {
  if (!root || !obj)
    return 0;
  struct walk w = {.c = c};
  if (c->base && *c->base)
    kube_strbuf_append(&w.path, c->base);
  walk_value(&w, obj, root);
  kube_strbuf_clear(&w.path);
  kube_strbuf_clear(&w.gopath);
  if (w.path.oom || w.gopath.oom)
    c->oom = true;
  return c->oom ? -1 : 0;
}

void api_check_clear(api_check_t *c) {
  for (size_t i = 0; i < c->n_unknown; i++)
    free(c->unknown[i]);
  free(c->unknown);
  for (size_t i = 0; i < c->n_skipped_rules; i++)
    free(c->skipped_rules[i]);
  free(c->skipped_rules);
  free(c->type_error);
  c->unknown = NULL;
  c->n_unknown = 0;
  c->skipped_rules = NULL;
  c->n_skipped_rules = 0;
  c->type_error = NULL;
  c->oom = false;
}

/* ---- defaulting ------------------------------------------------------------
 */

static void default_value(json_object *v, const api_schema_t *s, int depth);

static void default_object(json_object *obj, const api_schema_t *s, int depth) {
  for (size_t i = 0; i < s->n_props; i++) {
    const api_schema_t *ps = s->props[i].schema;
    json_object *cur = NULL;
    bool has = json_object_object_get_ex(obj, s->props[i].name, &cur);
    if (!has && ps->default_value) {
      json_object *copy = NULL;
      if (json_object_deep_copy(ps->default_value, &copy, NULL) == 0 &&
          json_object_object_add(obj, s->props[i].name, copy) == 0)
        cur = copy, has = true;
      else
        json_object_put(copy);
    }
    if (has && cur)
      default_value(cur, ps, depth + 1);
  }
  if (s->additional && !s->n_props) {
    json_object_object_foreach(obj, key, val) {
      (void)key;
      if (val)
        default_value(val, s->additional, depth + 1);
    }
  }
}

static void default_value(json_object *v, const api_schema_t *s, int depth) {
  if (!s || !v || depth > KUBE_JSON_MAX_DEPTH)
    return;
  if (s->type == API_S_OBJECT && json_object_is_type(v, json_type_object)) {
    default_object(v, s, depth);
  } else if (s->type == API_S_ARRAY && s->items &&
             json_object_is_type(v, json_type_array)) {
    for (size_t i = 0; i < json_object_array_length(v); i++)
      default_value(json_object_array_get_idx(v, i), s->items, depth + 1);
  }
}

void api_schema_default(json_object *obj, const api_schema_t *root) {
  default_value(obj, root, 0);
}
