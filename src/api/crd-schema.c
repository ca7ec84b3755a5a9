/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A CustomResourceDefinition version's openAPIV3Schema (JSONSchemaProps)
 * compiled into a runtime schema, with the checks apiextensions-apiserver
 * makes of it: known types, a type on every specified field unless it is
 * x-kubernetes-int-or-string or x-kubernetes-preserve-unknown-fields (a
 * structural schema), valid patterns (PCRE2: ECMA-262 style as Kubernetes
 * documents), list-type map keys, defaults of the right shape.
 * allOf/anyOf/oneOf/not are accepted and published but not evaluated.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "api/kinds/kind.h"

struct build {
  api_arena_t *a;
  verrs_t *v; /* may be NULL */
  int depth;
};

static const char *const types[] = {"array",  "boolean", "integer", "number",
                                    "object", "string",  NULL};

static void invalid(struct build *b, const char *field, const char *value,
                    const char *detail) {
  if (b->v)
    api_v_invalid(b->v, field, value, detail);
}

static uint8_t type_of(struct build *b, const char *t, const char *field) {
  if (!t || !*t)
    return API_S_ANY;
  if (streq(t, "object"))
    return API_S_OBJECT;
  if (streq(t, "array"))
    return API_S_ARRAY;
  if (streq(t, "string"))
    return API_S_STRING;
  if (streq(t, "integer"))
    return API_S_INTEGER;
  if (streq(t, "number"))
    return API_S_NUMBER;
  if (streq(t, "boolean"))
    return API_S_BOOLEAN;
  if (b->v)
    api_v_unsupported(b->v, field, t, types);
  return API_S_ANY;
}

static int64_t jint_or(json_object *o, const char *key) {
  json_object *x = jget(o, key);
  return jis_int(x) ? json_object_get_int64(x) : -1;
}

static bool jnum(json_object *o, const char *key, double *out) {
  json_object *x = jget(o, key);
  if (!json_object_is_type(x, json_type_int) &&
      !json_object_is_type(x, json_type_double))
    return false;
  *out = json_object_get_double(x);
  return true;
}

static api_schema_t *build(struct build *b, json_object *p, const char *field);

static void compile_pattern(struct build *b, api_schema_t *s,
                            const char *pattern, const char *field) {
  int code = 0;
  PCRE2_SIZE off = 0;
  pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                 PCRE2_UTF, &code, &off, NULL);
  if (!re) {
    char msg[256], detail[400];
    pcre2_get_error_message(code, (PCRE2_UCHAR *)msg, sizeof msg);
    snprintf(detail, sizeof detail,
             "must be a valid regular expression, but isn't: %s at offset "
             "%zu",
             msg, (size_t)off);
    char f[FP_MAX];
    invalid(b, api_fp(f, "%s.pattern", field), pattern, detail);
    return;
  }
  s->pattern = api_arena_strdup(b->a, pattern);
  s->regex = re;
  api_arena_regex(b->a, re);
}

static void build_properties(struct build *b, api_schema_t *s,
                             json_object *props, const char *field) {
  size_t n = (size_t)json_object_object_length(props);
  s->props = api_arena_alloc(b->a, (n ? n : 1) * sizeof(*s->props));
  if (!s->props)
    return;
  char f[FP_MAX];
  json_object_object_foreach(props, name, val) {
    if (!json_object_is_type(val, json_type_object)) {
      invalid(b, api_fp(f, "%s.properties[%s]", field, name), "",
              "must be an object");
      continue;
    }
    api_schema_t *ps =
        build(b, val, api_fp(f, "%s.properties[%s]", field, name));
    if (!ps)
      continue;
    s->props[s->n_props++] =
        (api_schema_prop_t){api_arena_strdup(b->a, name), ps};
  }
  api_schema_sort_props(s);
}

static void build_list_type(struct build *b, api_schema_t *s, json_object *p,
                            const char *field) {
  const char *lt = jget_str(p, "x-kubernetes-list-type");
  json_object *keys = jget_arr(p, "x-kubernetes-list-map-keys");
  char f[FP_MAX];
  if (!lt)
    return;
  static const char *const list_types[] = {"atomic", "map", "set", NULL};
  if (!api_in_set(lt, list_types)) {
    if (b->v)
      api_v_unsupported(b->v, api_fp(f, "%s.x-kubernetes-list-type", field), lt,
                        list_types);
    return;
  }
  if (s->type != API_S_ARRAY) {
    invalid(b, api_fp(f, "%s.x-kubernetes-list-type", field), lt,
            "must only be used on arrays");
    return;
  }
  if (streq(lt, "set")) {
    s->list = API_LIST_SET;
  } else if (streq(lt, "map")) {
    s->list = API_LIST_MAP;
    if (!s->items || s->items->type != API_S_OBJECT)
      invalid(b, api_fp(f, "%s.items.type", field), "",
              "must be object if parent array's x-kubernetes-list-type is "
              "map");
    size_t n = jarr_len(keys);
    if (n == 0 && b->v)
      api_v_required(b->v, api_fp(f, "%s.x-kubernetes-list-map-keys", field),
                     "must not be empty if x-kubernetes-list-type is map");
    if (n > API_MAX_KEYS && b->v)
      api_v_toolong(b->v, api_fp(f, "%s.x-kubernetes-list-map-keys", field),
                    "libkube supports at most 3 list map keys");
    for (size_t i = 0; i < n && i < API_MAX_KEYS; i++)
      s->keys[i] =
          api_arena_strdup(b->a, json_object_get_string(jarr_at(keys, i)));
  }
}

static api_schema_t *build(struct build *b, json_object *p, const char *field) {
  char f[FP_MAX];
  if (++b->depth > 64) {
    invalid(b, field, "", "nesting too deep");
    b->depth--;
    return NULL;
  }
  api_schema_t *s = api_arena_node(b->a);
  if (!s) {
    b->depth--;
    return NULL;
  }
  s->type = type_of(b, jget_str(p, "type"), api_fp(f, "%s.type", field));
  s->description = api_arena_strdup(b->a, jget_str(p, "description"));
  const char *format = jget_str(p, "format");
  if (format && *format) {
    s->format_name = api_arena_strdup(b->a, format);
    s->format = streq(format, "int32")       ? API_FMT_INT32
                : streq(format, "int64")     ? API_FMT_INT64
                : streq(format, "byte")      ? API_FMT_BYTE
                : streq(format, "date-time") ? API_FMT_DATE_TIME
                                             : API_FMT_OTHER;
  }
  if (jget_bool(p, "nullable", false))
    s->flags |= API_SF_NULLABLE;
  if (jget_bool(p, "x-kubernetes-int-or-string", false))
    s->flags |= API_SF_INT_OR_STRING;
  if (jget_bool(p, "x-kubernetes-preserve-unknown-fields", false))
    s->flags |= API_SF_PRESERVE_UNKNOWN;
  if (jget_bool(p, "x-kubernetes-embedded-resource", false))
    s->flags |= API_SF_EMBEDDED;
  if (jget_bool(p, "uniqueItems", false))
    s->flags |= API_SF_UNIQUE;
  const char *mt = jget_str(p, "x-kubernetes-map-type");
  if (mt && streq(mt, "atomic"))
    s->mflags |= API_M_ATOMIC;
  else if (mt && streq(mt, "granular"))
    s->flags |= API_SF_MAP_GRANULAR;
  json_object *vals = jget_arr(p, "x-kubernetes-validations");
  if (jarr_len(vals)) {
    s->flags |= API_SF_VALIDATIONS;
    s->validations = api_arena_json(b->a, json_object_get(vals));
  }
  if (jnum(p, "minimum", &s->minimum))
    s->flags |= API_SF_MINIMUM;
  if (jnum(p, "maximum", &s->maximum))
    s->flags |= API_SF_MAXIMUM;
  if (jget_bool(p, "exclusiveMinimum", false))
    s->flags |= API_SF_EXCL_MIN;
  if (jget_bool(p, "exclusiveMaximum", false))
    s->flags |= API_SF_EXCL_MAX;
  if (jnum(p, "multipleOf", &s->multiple_of))
    s->flags |= API_SF_MULTIPLE;
  s->min_length = jint_or(p, "minLength");
  s->max_length = jint_or(p, "maxLength");
  s->min_items = jint_or(p, "minItems");
  s->max_items = jint_or(p, "maxItems");
  s->min_props = jint_or(p, "minProperties");
  s->max_props = jint_or(p, "maxProperties");
  const char *pattern = jget_str(p, "pattern");
  if (pattern)
    compile_pattern(b, s, pattern, field);
  json_object *en = jget(p, "enum");
  if (json_object_is_type(en, json_type_array))
    s->enum_values = api_arena_json(b->a, json_object_get(en));
  json_object *ex = jget(p, "example");
  if (ex)
    s->example = api_arena_json(b->a, json_object_get(ex));
  json_object *req = jget_arr(p, "required");
  if (jarr_len(req)) {
    s->required = api_arena_alloc(b->a, jarr_len(req) * sizeof(char *));
    for (size_t i = 0; s->required && i < jarr_len(req); i++) {
      const char *r = json_object_get_string(jarr_at(req, i));
      if (r)
        s->required[s->n_required++] = api_arena_strdup(b->a, r);
    }
  }
  json_object *props = jget_obj(p, "properties");
  if (props)
    build_properties(b, s, props, field);
  json_object *items = jget(p, "items");
  if (json_object_is_type(items, json_type_object))
    s->items = build(b, items, api_fp(f, "%s.items", field));
  else if (items)
    invalid(b, api_fp(f, "%s.items", field), "",
            "items must be a schema object and not an array");
  json_object *add = jget(p, "additionalProperties");
  if (json_object_is_type(add, json_type_object)) {
    if (props)
      invalid(b, api_fp(f, "%s.additionalProperties", field), "",
              "additionalProperties and properties are mutual exclusive");
    else
      s->additional =
          build(b, add, api_fp(f, "%s.additionalProperties", field));
  } else if (json_object_is_type(add, json_type_boolean) &&
             json_object_get_boolean(add) && !props) {
    api_schema_t *any = api_arena_node(b->a);
    if (any)
      any->flags |= API_SF_PRESERVE_UNKNOWN;
    s->additional = any;
  }
  build_list_type(b, s, p, field);
  /* A structural schema types every field it specifies. */
  const char *given = jget_str(p, "type");
  if (s->type == API_S_ANY && !(given && *given) &&
      !(s->flags & (API_SF_INT_OR_STRING | API_SF_PRESERVE_UNKNOWN)) && b->v)
    api_v_required(b->v, api_fp(f, "%s.type", field),
                   b->depth == 1 ? "must not be empty at the root"
                                 : "must not be empty for specified object "
                                   "fields");
  if (b->depth == 1 && s->type != API_S_OBJECT && s->type != API_S_ANY)
    invalid(b, api_fp(f, "%s.type", field), jget_str0(p, "type"),
            "must be object at the root");
  json_object *def = jget(p, "default");
  if (def) {
    s->default_value = api_arena_json(b->a, json_object_get(def));
    /* A default must itself be valid for its schema. */
    if (b->v && s->type != API_S_ANY) {
      json_object *copy = NULL;
      if (json_object_deep_copy(def, &copy, NULL) == 0) {
        api_check_t c = {.flags = API_CHECK_VALIDATE,
                         .errs = b->v,
                         .base = api_fp(f, "%s.default", field)};
        api_schema_check(copy, s, &c);
        api_check_clear(&c);
        json_object_put(copy);
      }
    }
  }
  b->depth--;
  return s;
}

api_schema_t *api_crd_schema_build(api_arena_t *a, json_object *props,
                                   verrs_t *v, const char *field) {
  struct build b = {.a = a, .v = v};
  if (!json_object_is_type(props, json_type_object)) {
    if (v)
      api_v_required(v, field, NULL);
    return NULL;
  }
  return build(&b, props, field);
}
