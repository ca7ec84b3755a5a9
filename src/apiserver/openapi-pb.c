/* SPDX-License-Identifier: Apache-2.0 */
/* The protobuf form of /openapi/v2 (gnostic's openapi_v2.Document) that
 * kubectl asks for: paths with their operations and the definitions it is
 * given (every kind's and the types they refer to). */
#include "apiserver/internal.h"

enum { PB_VARINT = 0, PB_LEN = 2 };

static void pb_varint(kube_strbuf_t *sb, uint64_t v) {
  char b[10];
  size_t n = 0;
  do {
    b[n++] = (char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v);
  kube_strbuf_append_len(sb, b, n);
}

static void pb_bytes(kube_strbuf_t *sb, unsigned field, const char *s,
                     size_t len) {
  pb_varint(sb, (uint64_t)field << 3 | PB_LEN);
  pb_varint(sb, len);
  kube_strbuf_append_len(sb, s, len);
}

/* proto3: empty strings and false are left out. */
static void pb_string(kube_strbuf_t *sb, unsigned field, const char *s) {
  if (s && *s)
    pb_bytes(sb, field, s, strlen(s));
}

static void pb_bool(kube_strbuf_t *sb, unsigned field, bool v) {
  if (v) {
    pb_varint(sb, (uint64_t)field << 3 | PB_VARINT);
    pb_varint(sb, 1);
  }
}

/* Append sub as a length-delimited field and empty it. */
static void pb_msg(kube_strbuf_t *sb, unsigned field, kube_strbuf_t *sub) {
  pb_bytes(sb, field, sub->data ? sub->data : "", sub->len);
  kube_strbuf_reset(sub);
}

static const char *jstr(json_object *o, const char *key) {
  json_object *v;
  if (!json_object_object_get_ex(o, key, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

static bool jbool(json_object *o, const char *key) {
  json_object *v;
  return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

/* NamedAny{name, Any{yaml}}: JSON is YAML (flow style), which is what
 * kubectl unmarshals x-kubernetes-group-version-kind from. */
static void pb_vendor_extension(kube_strbuf_t *sb, unsigned field,
                                const char *name, json_object *v) {
  cleanup_strbuf kube_strbuf_t any = KUBE_STRBUF_INIT;
  cleanup_strbuf kube_strbuf_t named = KUBE_STRBUF_INIT;
  size_t n = 0;
  const char *y = json_object_to_json_string_length(
      v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
  kube_strbuf_t yaml = KUBE_STRBUF_INIT;
  kube_strbuf_append_len(&yaml, y, n);
  kube_strbuf_append_char(&yaml, '\n');
  pb_bytes(&any, 2, yaml.data ? yaml.data : "", yaml.len);
  kube_strbuf_clear(&yaml);
  pb_string(&named, 1, name);
  pb_msg(&named, 2, &any);
  pb_msg(sb, field, &named);
}

/* ParametersItem{parameter: Parameter{non_body_parameter: ...}} for path
 * and query parameters; body parameters are left out with the
 * definitions they refer to. */
static void pb_parameters(kube_strbuf_t *sb, unsigned field, json_object *a) {
  if (!a)
    return;
  cleanup_strbuf kube_strbuf_t sub = KUBE_STRBUF_INIT;
  cleanup_strbuf kube_strbuf_t nb = KUBE_STRBUF_INIT;
  cleanup_strbuf kube_strbuf_t par = KUBE_STRBUF_INIT;
  cleanup_strbuf kube_strbuf_t item = KUBE_STRBUF_INIT;
  for (size_t i = 0; i < json_object_array_length(a); i++) {
    json_object *p = json_object_array_get_idx(a, i);
    const char *in = jstr(p, "in");
    unsigned which; /* NonBodyParameter oneof field */
    if (in && streq(in, "query"))
      which = 3;
    else if (in && streq(in, "path"))
      which = 4;
    else
      continue;
    /* Query: required 1, in 2, description 3, name 4, type 6;
     * path: the same but type 5. */
    pb_bool(&sub, 1, jbool(p, "required"));
    pb_string(&sub, 2, in);
    pb_string(&sub, 3, jstr(p, "description"));
    pb_string(&sub, 4, jstr(p, "name"));
    pb_string(&sub, which == 3 ? 6 : 5, jstr(p, "type"));
    pb_msg(&nb, which, &sub);
    pb_msg(&par, 2, &nb);
    pb_msg(&item, 1, &par);
    pb_msg(sb, field, &item);
  }
}

static void pb_operation(kube_strbuf_t *sb, json_object *op) {
  pb_string(sb, 3, jstr(op, "description"));
  pb_string(sb, 5, jstr(op, "operationId"));
  json_object *v;
  if (json_object_object_get_ex(op, "parameters", &v))
    pb_parameters(sb, 8, v);
  if (json_object_object_get_ex(op, "responses", &v)) {
    /* Responses{response_code: NamedResponseValue{name,
     * ResponseValue{response: Response{description}}}} */
    cleanup_strbuf kube_strbuf_t resps = KUBE_STRBUF_INIT;
    cleanup_strbuf kube_strbuf_t named = KUBE_STRBUF_INIT;
    cleanup_strbuf kube_strbuf_t rv = KUBE_STRBUF_INIT;
    cleanup_strbuf kube_strbuf_t resp = KUBE_STRBUF_INIT;
    json_object_object_foreach(v, code, r) {
      pb_string(&resp, 1, jstr(r, "description"));
      pb_msg(&rv, 1, &resp);
      pb_string(&named, 1, code);
      pb_msg(&named, 2, &rv);
      pb_msg(&resps, 1, &named);
    }
    pb_msg(sb, 9, &resps);
  }
  json_object_object_foreach(op, key, val) {
    if (strncmp(key, "x-", 2) == 0)
      pb_vendor_extension(sb, 13, key, val);
  }
}

static void pb_path_item(kube_strbuf_t *sb, json_object *pi) {
  static const struct {
    const char *method;
    unsigned field;
  } ops[] = {{"get", 2}, {"put", 3}, {"post", 4}, {"delete", 5}, {"patch", 8}};
  cleanup_strbuf kube_strbuf_t op = KUBE_STRBUF_INIT;
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
    json_object *o;
    if (!json_object_object_get_ex(pi, ops[i].method, &o))
      continue;
    pb_operation(&op, o);
    pb_msg(sb, ops[i].field, &op);
  }
  json_object *v;
  if (json_object_object_get_ex(pi, "parameters", &v))
    pb_parameters(sb, 9, v);
}

/* Document{swagger 1, info 2 {title 1, version 2}, paths 8 {path 2:
 * NamedPathItem{name 1, value 2}}}.  NULL on allocation failure. */
/* Any{yaml}: JSON is YAML (flow style). */
static void pb_any(kube_strbuf_t *sb, unsigned field, json_object *v) {
  cleanup_strbuf kube_strbuf_t any = KUBE_STRBUF_INIT;
  size_t n = 0;
  const char *y = json_object_to_json_string_length(
      v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
  kube_strbuf_t yaml = KUBE_STRBUF_INIT;
  kube_strbuf_append_len(&yaml, y ? y : "null", y ? n : 4);
  kube_strbuf_append_char(&yaml, '\n');
  pb_bytes(&any, 2, yaml.data ? yaml.data : "", yaml.len);
  kube_strbuf_clear(&yaml);
  pb_msg(sb, field, &any);
}

static void pb_double(kube_strbuf_t *sb, unsigned field, json_object *v) {
  double d = json_object_get_double(v);
  uint64_t bits;
  memcpy(&bits, &d, sizeof bits);
  pb_varint(sb, (uint64_t)field << 3 | 1 /* 64-bit */);
  char b[8];
  for (int i = 0; i < 8; i++)
    b[i] = (char)(bits >> (8 * i));
  kube_strbuf_append_len(sb, b, 8);
}

static void pb_int(kube_strbuf_t *sb, unsigned field, json_object *v) {
  pb_varint(sb, (uint64_t)field << 3 | PB_VARINT);
  pb_varint(sb, (uint64_t)json_object_get_int64(v));
}

static void pb_schema(kube_strbuf_t *sb, json_object *s, int depth);

/* Properties / Definitions: repeated NamedSchema{name 1, value 2}. */
static void pb_named_schemas(kube_strbuf_t *sb, unsigned field,
                             json_object *map, json_object *only, int depth) {
  cleanup_strbuf kube_strbuf_t named = KUBE_STRBUF_INIT;
  cleanup_strbuf kube_strbuf_t sub = KUBE_STRBUF_INIT;
  json_object_object_foreach(map, name, val) {
    if (only && !json_object_object_get_ex(only, name, NULL))
      continue;
    pb_schema(&sub, val, depth + 1);
    pb_string(&named, 1, name);
    pb_msg(&named, 2, &sub);
    pb_msg(sb, field, &named);
  }
}

/* openapi_v2.Schema of a JSON schema object. */
static void pb_schema(kube_strbuf_t *sb, json_object *s, int depth) {
  if (depth > 64 || !json_object_is_type(s, json_type_object))
    return;
  cleanup_strbuf kube_strbuf_t sub = KUBE_STRBUF_INIT;
  cleanup_strbuf kube_strbuf_t sub2 = KUBE_STRBUF_INIT;
  json_object *v;
  pb_string(sb, 1, jstr(s, "$ref"));
  pb_string(sb, 2, jstr(s, "format"));
  pb_string(sb, 3, jstr(s, "title"));
  pb_string(sb, 4, jstr(s, "description"));
  if (json_object_object_get_ex(s, "default", &v))
    pb_any(sb, 5, v);
  if (json_object_object_get_ex(s, "multipleOf", &v))
    pb_double(sb, 6, v);
  if (json_object_object_get_ex(s, "maximum", &v))
    pb_double(sb, 7, v);
  pb_bool(sb, 8, jbool(s, "exclusiveMaximum"));
  if (json_object_object_get_ex(s, "minimum", &v))
    pb_double(sb, 9, v);
  pb_bool(sb, 10, jbool(s, "exclusiveMinimum"));
  static const struct {
    const char *key;
    unsigned field;
  } ints[] = {{"maxLength", 11}, {"minLength", 12},     {"maxItems", 14},
              {"minItems", 15},  {"maxProperties", 17}, {"minProperties", 18}};
  for (size_t i = 0; i < ARRAY_SIZE(ints); i++)
    if (json_object_object_get_ex(s, ints[i].key, &v))
      pb_int(sb, ints[i].field, v);
  pb_string(sb, 13, jstr(s, "pattern"));
  pb_bool(sb, 16, jbool(s, "uniqueItems"));
  if (json_object_object_get_ex(s, "required", &v) &&
      json_object_is_type(v, json_type_array))
    for (size_t i = 0; i < json_object_array_length(v); i++)
      pb_string(sb, 19,
                json_object_get_string(json_object_array_get_idx(v, i)));
  if (json_object_object_get_ex(s, "enum", &v) &&
      json_object_is_type(v, json_type_array))
    for (size_t i = 0; i < json_object_array_length(v); i++)
      pb_any(sb, 20, json_object_array_get_idx(v, i));
  if (json_object_object_get_ex(s, "additionalProperties", &v)) {
    /* AdditionalPropertiesItem{schema 1 | boolean 2} */
    if (json_object_is_type(v, json_type_boolean)) {
      pb_bool(&sub, 2, json_object_get_boolean(v));
    } else {
      pb_schema(&sub2, v, depth + 1);
      pb_msg(&sub, 1, &sub2);
    }
    pb_msg(sb, 21, &sub);
  }
  if (jstr(s, "type")) {
    pb_string(&sub, 1, jstr(s, "type")); /* TypeItem{value 1} */
    pb_msg(sb, 22, &sub);
  }
  if (json_object_object_get_ex(s, "items", &v)) {
    pb_schema(&sub2, v, depth + 1); /* ItemsItem{schema 1} */
    pb_msg(&sub, 1, &sub2);
    pb_msg(sb, 23, &sub);
  }
  if (json_object_object_get_ex(s, "properties", &v) &&
      json_object_is_type(v, json_type_object)) {
    pb_named_schemas(&sub, 1, v, NULL, depth); /* Properties */
    pb_msg(sb, 25, &sub);
  }
  if (json_object_object_get_ex(s, "example", &v))
    pb_any(sb, 30, v);
  json_object_object_foreach(s, key, val) {
    if (strncmp(key, "x-", 2) == 0)
      pb_vendor_extension(sb, 31, key, val);
  }
}

char *as_openapi_pb_document(json_object *doc, json_object *defs_wanted,
                             size_t *len) {
  kube_strbuf_t out = KUBE_STRBUF_INIT;
  cleanup_strbuf kube_strbuf_t sub = KUBE_STRBUF_INIT;
  cleanup_strbuf kube_strbuf_t paths = KUBE_STRBUF_INIT;
  cleanup_strbuf kube_strbuf_t named = KUBE_STRBUF_INIT;
  kube_strbuf_append(&out, "");
  pb_string(&out, 1, jstr(doc, "swagger"));
  json_object *v;
  if (json_object_object_get_ex(doc, "info", &v)) {
    pb_string(&sub, 1, jstr(v, "title"));
    pb_string(&sub, 2, jstr(v, "version"));
    pb_msg(&out, 2, &sub);
  }
  if (json_object_object_get_ex(doc, "paths", &v)) {
    json_object_object_foreach(v, path, item) {
      pb_path_item(&sub, item);
      pb_string(&named, 1, path);
      pb_msg(&named, 2, &sub);
      pb_msg(&paths, 2, &named);
    }
    pb_msg(&out, 8, &paths);
  }
  if (defs_wanted && json_object_object_length(defs_wanted) &&
      json_object_object_get_ex(doc, "definitions", &v)) {
    pb_named_schemas(&sub, 1, v, defs_wanted, 0); /* Definitions */
    pb_msg(&out, 9, &sub);
  }
  bool oom = out.oom || sub.oom || paths.oom || named.oom;
  *len = out.len;
  char *s = kube_strbuf_steal(&out);
  if (oom) {
    free(s);
    return NULL;
  }
  return s;
}
