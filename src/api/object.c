/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Objects: the opaque wrapper around a json-c tree, JSON decoding and
 * encoding, metadata accessors and dotted-path get/set.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>

#include "api/internal.h"

kube_object_t *kube_object_wrap(json_object *root) {
  if (!root)
    return NULL;
  kube_object_t *o = calloc(1, sizeof(*o));
  if (!o) {
    json_object_put(root);
    return NULL;
  }
  o->root = root;
  return o;
}

json_object *kube_object_json(const kube_object_t *obj) {
  return obj ? obj->root : NULL;
}

/* ---- small tree helpers used across the module ------------------------ */

json_object *api_jensure_obj(json_object *o, const char *key) {
  json_object *v = NULL;
  if (!json_object_is_type(o, json_type_object))
    return NULL;
  if (json_object_object_get_ex(o, key, &v) && v) {
    return json_object_is_type(v, json_type_object) ? v : NULL;
  }
  v = json_object_new_object();
  if (!v)
    return NULL;
  if (json_object_object_add(o, key, v) < 0) {
    json_object_put(v);
    return NULL;
  }
  return v;
}

void api_jdefault(json_object *o, const char *key, json_object *value) {
  json_object *cur = NULL;
  if (!value)
    return;
  if (!json_object_is_type(o, json_type_object) ||
      (json_object_object_get_ex(o, key, &cur) && cur)) {
    json_object_put(value);
    return;
  }
  if (json_object_object_add(o, key, value) < 0)
    json_object_put(value);
}

int api_jset(json_object *o, const char *key, json_object *value) {
  if (!value || !json_object_is_type(o, json_type_object)) {
    json_object_put(value);
    return -1;
  }
  if (json_object_object_add(o, key, value) < 0) {
    json_object_put(value);
    return -1;
  }
  return 0;
}

bool api_jget_time(json_object *o, const char *key, time_t *out) {
  const char *s = jget_str(o, key);
  struct timespec ts;
  if (!s || !*s)
    return false;
  if (kube_time_parse(s, &ts, NULL) < 0)
    return false;
  *out = ts.tv_sec;
  return true;
}

/* ---- JSON ---------------------------------------------------------------- */

/* 1-based line and column of byte `off` in data, for error messages. */
static void position_of(const char *data, size_t off, size_t *line,
                        size_t *col) {
  size_t l = 1, c = 1;
  for (size_t i = 0; i < off; i++) {
    if (data[i] == '\n') {
      l++;
      c = 1;
    } else {
      c++;
    }
  }
  *line = l;
  *col = c;
}

/* End (exclusive) of the object or array starting at data[start], found by
 * matching brackets outside strings; len when it never closes (the parser
 * then reports the truncation).  Scalars extend to the end. */
static size_t value_end(const char *data, size_t start, size_t len, size_t *bad,
                        const char **why, size_t *colons) {
  *bad = SIZE_MAX;
  size_t n_colons = 0;
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = start; i < len; i++) {
    char c = data[i];
    if (in_string) {
      if (c == '\\') {
        /* An escaped NUL would end the C string of a name, key or value
         * early (issue: "a\u0000b" stored as "a"): refused outright. */
        if (i + 5 < len && data[i + 1] == 'u' && data[i + 2] == '0' &&
            data[i + 3] == '0' && data[i + 4] == '0' && data[i + 5] == '0' &&
            *bad == SIZE_MAX) {
          *bad = i;
          *why = "NUL character (\\u0000) in a string";
        }
        i++;
      } else if (c == '"')
        in_string = false;
      else if ((unsigned char)c < 0x20 && *bad == SIZE_MAX) {
        *bad = i; /* JSON strings may not hold raw control characters */
        *why = "invalid character in string literal";
      }
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == ':')
      n_colons++; /* outside strings: one per object member */
    else if (c == '\'' && *bad == SIZE_MAX) {
      *bad = i; /* json-c accepts single-quoted strings even when strict */
      *why = "invalid character in JSON text";
    } else if (data[start] != '{' && data[start] != '[')
      continue;
    else if (c == '{' || c == '[')
      depth++;
    else if ((c == '}' || c == ']') && --depth == 0) {
      *colons = n_colons;
      return i + 1;
    }
  }
  *colons = n_colons;
  return len;
}

/* Offset of the first byte that is not well-formed UTF-8 (no overlongs,
 * surrogates or code points above U+10FFFF), or -1. */
static long utf8_error(const unsigned char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    if (s[i] < 0x80) {
      i++;
      continue;
    }
    size_t n = api_utf8_seq(s + i, s + len);
    if (!n)
      return (long)i;
    i += n;
  }
  return -1;
}

/* Checks json-c leaves to us: numbers must be finite (it reads NaN and
 * Infinity even in strict mode) and every string and key well-formed
 * UTF-8 (its validation lets some invalid sequences and \u escapes
 * through). */
static bool all_finite(json_object *v, int depth, size_t *members) {
  switch (json_object_get_type(v)) {
  case json_type_double:
    return isfinite(json_object_get_double(v));
  case json_type_string:
    return utf8_error((const unsigned char *)json_object_get_string(v),
                      (size_t)json_object_get_string_len(v)) < 0;
  case json_type_object: {
    *members += (size_t)json_object_object_length(v);
    json_object_object_foreach(v, k, child) {
      if (utf8_error((const unsigned char *)k, strlen(k)) >= 0)
        return false;
      if (!all_finite(child, depth + 1, members))
        return false;
    }
    return true;
  }
  case json_type_array: {
    size_t n = json_object_array_length(v);
    for (size_t i = 0; i < n; i++)
      if (!all_finite(json_object_array_get_idx(v, i), depth + 1, members))
        return false;
    return true;
  }
  default:
    return true;
  }
}

static pthread_key_t tok_key;
static pthread_once_t tok_once = PTHREAD_ONCE_INIT;
static bool tok_key_ok;

static void tok_free(void *p) {
  json_tokener_free(p);
}
static void tok_key_init(void) {
  tok_key_ok = pthread_key_create(&tok_key, tok_free) == 0;
}

json_tokener *api_json_tokener(void) {
  pthread_once(&tok_once, tok_key_init);
  if (!tok_key_ok)
    return NULL;
  json_tokener *tok = pthread_getspecific(tok_key);
  if (!tok && (tok = json_tokener_new_ex(KUBE_JSON_MAX_DEPTH)) &&
      pthread_setspecific(tok_key, tok) != 0) {
    json_tokener_free(tok);
    tok = NULL;
  }
  if (tok)
    json_tokener_reset(tok);
  return tok;
}

/* The thread's tokener (a new one when there is none): allocating one
 * per document cost as much as a small document's parse. */
static json_tokener *strict_tokener(bool *owned) {
  json_tokener *tok = api_json_tokener();
  *owned = !tok;
  if (!tok)
    tok = json_tokener_new_ex(KUBE_JSON_MAX_DEPTH);
  return tok;
}

static void tokener_done(json_tokener *tok, bool owned) {
  if (owned)
    json_tokener_free(tok);
  else
    json_tokener_reset(tok);
}

json_object *api_json_parse_jsonc(const char *data, size_t len,
                                  bool *dup_keys, kube_error_t *err) {
  if (!data)
    len = 0;
  size_t start = 0;
  while (start < len && isspace((unsigned char)data[start]))
    start++;
  if (start == len) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "invalid JSON: empty document");
    return NULL;
  }
  const char *nul = memchr(data, '\0', len);
  if (nul) {
    size_t line, col, off = (size_t)(nul - data);
    position_of(data, off, &line, &col);
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "invalid JSON at offset %zu (line %zu, column %zu): NUL "
                   "byte in input",
                   off, line, col);
    return NULL;
  }
  if (len > INT_MAX) {
    kube_error_set(err, KUBE_REASON_TOO_LARGE, 0, "JSON document too large");
    return NULL;
  }
  size_t bad;
  const char *why = "";
  size_t text_keys = 0;
  size_t end = value_end(data, start, len, &bad, &why, &text_keys);
  if (bad < end) {
    size_t line, col;
    position_of(data, bad, &line, &col);
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "invalid JSON at offset %zu (line %zu, column %zu): %s", bad,
                   line, col, why);
    return NULL;
  }
  bool owned;
  json_tokener *tok = strict_tokener(&owned);
  if (!tok) {
    kube_make_oom(err);
    return NULL;
  }
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
  json_object *root = json_tokener_parse_ex(tok, data, (int)end);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  size_t off = json_tokener_get_parse_end(tok);
  if (jerr == json_tokener_continue && !root) {
    /* A number at the very end needs a delimiter to be complete. */
    root = json_tokener_parse_ex(tok, " ", 1);
    jerr = json_tokener_get_error(tok);
    off = end;
  }
  bool is_null = !root && jerr == json_tokener_success;
  if (is_null) /* a bare "null" document parses as NULL with success */
    jerr = json_tokener_error_parse_null;
  if (jerr == json_tokener_continue)
    off = end;
  if (jerr != json_tokener_success) {
    size_t line, col;
    position_of(data, off, &line, &col);
    const char *what = jerr == json_tokener_continue
                           ? "unexpected end of JSON input"
                       : is_null ? "the document is null"
                                 : json_tokener_error_desc(jerr);
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "invalid JSON at offset %zu (line %zu, column %zu): %s", off,
                   line, col, what);
    json_object_put(root);
    tokener_done(tok, owned);
    return NULL;
  }
  tokener_done(tok, owned);
  size_t tree_keys = 0;
  if (!all_finite(root, 0, &tree_keys)) {
    /* json-c reads NaN and Infinity even in strict mode; JSON has neither. */
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "invalid JSON: NaN or Infinity, or a string that is not "
                   "valid UTF-8");
    json_object_put(root);
    return NULL;
  }
  for (size_t i = end; i < len; i++) {
    if (!isspace((unsigned char)data[i])) {
      size_t line, col;
      position_of(data, i, &line, &col);
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "invalid JSON at offset %zu (line %zu, column %zu): "
                     "unexpected data after the top-level value",
                     i, line, col);
      json_object_put(root);
      return NULL;
    }
  }
  /* Each member in the text is one ':' outside strings; json-c keeps the
   * last of repeated keys, so the tree has fewer members exactly when a
   * key repeats. */
  if (dup_keys)
    *dup_keys = tree_keys != text_keys;
  return root;
}

json_object *api_json_parse_keyed(const char *data, size_t len,
                                  bool *dup_keys, kube_error_t *err) {
  json_object *plain = api_json_parse_plain(data, len, dup_keys);
  return plain ? plain : api_json_parse_jsonc(data, len, dup_keys, err);
}

json_object *kube_json_parse(const char *data, size_t len, kube_error_t *err) {
  return api_json_parse_keyed(data, len, NULL, err);
}

/* Length of the next JSON value in a stream starting at data[0] (after
 * whitespace was skipped), for the stream decoder. */
size_t api_json_value_extent(const char *data, size_t len) {
  size_t bad;
  if (len == 0 || (data[0] != '{' && data[0] != '['))
    return len;
  const char *why;
  size_t colons;
  return value_end(data, 0, len, &bad, &why, &colons);
}

KUBE_EXPORT kube_object_t *kube_object_from_json(const char *json, size_t len,
                                                 kube_error_t *err) {
  json_object *root = kube_json_parse(json, len, err);
  if (!root)
    return NULL;
  if (!json_object_is_type(root, json_type_object)) {
    json_object_put(root);
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "invalid object: expected a JSON object");
    return NULL;
  }
  kube_object_t *o = kube_object_wrap(root);
  if (!o)
    kube_make_oom(err);
  return o;
}

KUBE_EXPORT int kube_objects_decode(const char *data, size_t len,
                                    kube_object_t ***out, size_t *n,
                                    kube_error_t *err) {
  *out = NULL;
  *n = 0;
  json_object *arr = kube_json_decode_stream(data, len, err);
  if (!arr)
    return -1;
  size_t count = json_object_array_length(arr);
  kube_object_t **objs = calloc(count ? count : 1, sizeof(*objs));
  if (!objs) {
    json_object_put(arr);
    return kube_make_oom(err);
  }
  for (size_t i = 0; i < count; i++) {
    json_object *item = json_object_get(json_object_array_get_idx(arr, i));
    objs[i] = kube_object_wrap(item);
    if (!objs[i]) {
      kube_object_array_free(objs, i);
      json_object_put(arr);
      return kube_make_oom(err);
    }
  }
  json_object_put(arr);
  *out = objs;
  *n = count;
  return 0;
}

KUBE_EXPORT void kube_object_array_free(kube_object_t **objs, size_t n) {
  if (!objs)
    return;
  for (size_t i = 0; i < n; i++)
    kube_object_free(objs[i]);
  free(objs);
}

/* kubectl's -o json: 4-space indent, "key": value, empty {} and []. */
static void pretty(kube_strbuf_t *sb, json_object *v, int depth) {
  switch (json_object_get_type(v)) {
  case json_type_object: {
    if (json_object_object_length(v) == 0) {
      kube_strbuf_append(sb, "{}");
      return;
    }
    kube_strbuf_append(sb, "{\n");
    bool first = true;
    json_object_object_foreach(v, key, val) {
      if (!first)
        kube_strbuf_append(sb, ",\n");
      first = false;
      for (int i = 0; i < depth + 1; i++)
        kube_strbuf_append(sb, "    ");
      kube_strbuf_append_json_string(sb, key);
      kube_strbuf_append(sb, ": ");
      pretty(sb, val, depth + 1);
    }
    kube_strbuf_append_char(sb, '\n');
    for (int i = 0; i < depth; i++)
      kube_strbuf_append(sb, "    ");
    kube_strbuf_append_char(sb, '}');
    return;
  }
  case json_type_array: {
    size_t n = json_object_array_length(v);
    if (n == 0) {
      kube_strbuf_append(sb, "[]");
      return;
    }
    kube_strbuf_append(sb, "[\n");
    for (size_t i = 0; i < n; i++) {
      if (i)
        kube_strbuf_append(sb, ",\n");
      for (int d = 0; d < depth + 1; d++)
        kube_strbuf_append(sb, "    ");
      pretty(sb, json_object_array_get_idx(v, i), depth + 1);
    }
    kube_strbuf_append_char(sb, '\n');
    for (int i = 0; i < depth; i++)
      kube_strbuf_append(sb, "    ");
    kube_strbuf_append_char(sb, ']');
    return;
  }
  case json_type_null:
    kube_strbuf_append(sb, "null");
    return;
  default:
    kube_strbuf_append(
        sb, json_object_to_json_string_ext(
                v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    return;
  }
}

KUBE_EXPORT char *kube_object_to_json(const kube_object_t *obj, int flags) {
  if (!obj)
    return NULL;
  if (flags & KUBE_JSON_PRETTY) {
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    pretty(&sb, obj->root, 0);
    kube_strbuf_append_char(&sb, '\n');
    return kube_strbuf_steal(&sb);
  }
  const char *s = json_object_to_json_string_ext(
      obj->root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  return s ? strdup(s) : NULL;
}

KUBE_EXPORT char *kube_object_to_yaml(const kube_object_t *obj) {
  return obj ? kube_json_to_yaml(obj->root) : NULL;
}

KUBE_EXPORT kube_object_t *kube_object_copy(const kube_object_t *obj) {
  json_object *dst = NULL;
  if (!obj)
    return NULL;
  if (json_object_deep_copy(obj->root, &dst, NULL) < 0)
    return NULL;
  return kube_object_wrap(dst);
}

KUBE_EXPORT void kube_object_free(kube_object_t *obj) {
  if (!obj)
    return;
  json_object_put(obj->root);
  free(obj);
}

/* ---- accessors ---------------------------------------------------------- */

static json_object *meta(const kube_object_t *obj) {
  return obj ? jget_obj(obj->root, "metadata") : NULL;
}

KUBE_EXPORT const char *kube_object_api_version(const kube_object_t *obj) {
  return obj ? jget_str(obj->root, "apiVersion") : NULL;
}
KUBE_EXPORT const char *kube_object_kind(const kube_object_t *obj) {
  return obj ? jget_str(obj->root, "kind") : NULL;
}
KUBE_EXPORT const char *kube_object_name(const kube_object_t *obj) {
  return jget_str(meta(obj), "name");
}
KUBE_EXPORT const char *kube_object_namespace(const kube_object_t *obj) {
  return jget_str(meta(obj), "namespace");
}
KUBE_EXPORT const char *kube_object_uid(const kube_object_t *obj) {
  return jget_str(meta(obj), "uid");
}
KUBE_EXPORT const char *kube_object_resource_version(const kube_object_t *obj) {
  return jget_str(meta(obj), "resourceVersion");
}
KUBE_EXPORT const char *kube_object_label(const kube_object_t *obj,
                                          const char *key) {
  return key ? jget_str(jget_obj(meta(obj), "labels"), key) : NULL;
}
KUBE_EXPORT const char *kube_object_annotation(const kube_object_t *obj,
                                               const char *key) {
  return key ? jget_str(jget_obj(meta(obj), "annotations"), key) : NULL;
}

/* ---- dotted paths ------------------------------------------------------- */

/* Parse a non-negative decimal index ("0", "12"); -1 when not one. */
static long parse_index(const char *s, size_t len) {
  if (len == 0 || len > 9)
    return -1;
  long v = 0;
  for (size_t i = 0; i < len; i++) {
    if (!isdigit((unsigned char)s[i]))
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* One step of a path: object key or array index. */
static json_object *step(json_object *cur, const char *seg, size_t len) {
  if (json_object_is_type(cur, json_type_object)) {
    char key[256];
    if (len >= sizeof(key))
      return NULL;
    memcpy(key, seg, len);
    key[len] = '\0';
    return jget(cur, key);
  }
  if (json_object_is_type(cur, json_type_array)) {
    long idx = parse_index(seg, len);
    if (idx < 0 || (size_t)idx >= json_object_array_length(cur))
      return NULL;
    return json_object_array_get_idx(cur, (size_t)idx);
  }
  return NULL;
}

json_object *kube_json_get(json_object *obj, const char *path) {
  if (!obj || !path)
    return NULL;
  if (!*path)
    return obj;
  json_object *cur = obj;
  const char *p = path;
  while (cur) {
    const char *dot = strchr(p, '.');
    size_t len = dot ? (size_t)(dot - p) : strlen(p);
    cur = step(cur, p, len);
    if (!dot)
      break;
    p = dot + 1;
  }
  return cur;
}

const char *kube_json_get_string(json_object *obj, const char *path) {
  json_object *v = kube_json_get(obj, path);
  return json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                  : NULL;
}

KUBE_EXPORT const char *kube_object_get_string(const kube_object_t *obj,
                                               const char *path) {
  return obj ? kube_json_get_string(obj->root, path) : NULL;
}

/* Walk to the parent of the last segment of path, creating objects. */
static json_object *walk_create(json_object *root, const char *path,
                                const char **last, kube_error_t *err) {
  json_object *cur = root;
  const char *p = path;
  for (;;) {
    const char *dot = strchr(p, '.');
    if (!dot) {
      *last = p;
      return cur;
    }
    size_t len = (size_t)(dot - p);
    if (len == 0 || len >= 256) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "invalid path \"%s\"",
                     path);
      return NULL;
    }
    json_object *next;
    if (json_object_is_type(cur, json_type_array)) {
      next = step(cur, p, len);
      if (!next) {
        kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                       "path \"%s\": index out of range", path);
        return NULL;
      }
    } else if (json_object_is_type(cur, json_type_object)) {
      char key[256];
      memcpy(key, p, len);
      key[len] = '\0';
      next = jget(cur, key);
      if (!next || json_object_is_type(next, json_type_null)) {
        next = json_object_new_object();
        if (!next || api_jset(cur, key, next) < 0) {
          kube_make_oom(err);
          return NULL;
        }
      }
    } else {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "path \"%s\" crosses a scalar value", path);
      return NULL;
    }
    cur = next;
    p = dot + 1;
  }
}

KUBE_EXPORT int kube_object_set_string(kube_object_t *obj, const char *path,
                                       const char *value, kube_error_t *err) {
  if (!obj || !path || !*path)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "invalid path");
  const char *last = NULL;
  json_object *parent = walk_create(obj->root, path, &last, err);
  if (!parent)
    return -1;
  size_t len = strlen(last);
  if (len == 0 || len >= 256)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid path \"%s\"", path);
  if (json_object_is_type(parent, json_type_array)) {
    long idx = parse_index(last, len);
    if (idx < 0 || (size_t)idx > json_object_array_length(parent))
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "path \"%s\": index out of range", path);
    if (!value) {
      if ((size_t)idx < json_object_array_length(parent))
        json_object_array_del_idx(parent, (size_t)idx, 1);
      return 0;
    }
    json_object *s = json_object_new_string(value);
    if (!s || json_object_array_put_idx(parent, (size_t)idx, s) < 0) {
      json_object_put(s);
      return kube_make_oom(err);
    }
    return 0;
  }
  if (!json_object_is_type(parent, json_type_object))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "path \"%s\" crosses a scalar value", path);
  if (!value) {
    json_object_object_del(parent, last);
    return 0;
  }
  if (api_jset(parent, last, json_object_new_string(value)) < 0)
    return kube_make_oom(err);
  return 0;
}

/* Set or (value NULL) remove metadata.<map>[key]. */
static int set_meta_map(kube_object_t *obj, const char *map, const char *key,
                        const char *value, kube_error_t *err) {
  if (!obj || !key)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "invalid %s key",
                          map);
  json_object *m = api_jensure_obj(obj->root, "metadata");
  json_object *dict = m ? api_jensure_obj(m, map) : NULL;
  if (!dict)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "metadata.%s is not an object", map);
  if (!value) {
    json_object_object_del(dict, key);
    return 0;
  }
  if (api_jset(dict, key, json_object_new_string(value)) < 0)
    return kube_make_oom(err);
  return 0;
}

KUBE_EXPORT int kube_object_set_label(kube_object_t *obj, const char *key,
                                      const char *value, kube_error_t *err) {
  return set_meta_map(obj, "labels", key, value, err);
}

KUBE_EXPORT int kube_object_set_annotation(kube_object_t *obj, const char *key,
                                           const char *value,
                                           kube_error_t *err) {
  return set_meta_map(obj, "annotations", key, value, err);
}
