/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A JSON encoder for json-c trees, byte for byte what json-c 0.16 writes
 * with JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, without
 * json-c's printbuf (a vsnprintf per number, growth by small steps) and
 * without the copy out of the tree's own buffer: one output buffer grown
 * by doubling, string runs copied whole.  Doubles go through json-c (a
 * parsed double keeps the text it was read from).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api/api-private.h"
#include "core/util.h"

/* The encoder writes into sb->data directly, after core_strbuf_reserve. */
struct enc {
  kube_strbuf_t sb;
};

static inline __attribute__((always_inline)) bool reserve(struct enc *e,
                                                          size_t n) {
  /* The common case inline: room already there. */
  if (__builtin_expect(!e->sb.oom && e->sb.len + n + 1 <= e->sb.cap, 1))
    return true;
  return core_strbuf_reserve(&e->sb, n);
}

static inline __attribute__((always_inline)) void put(struct enc *e,
                                                      const char *s, size_t n) {
  if (!reserve(e, n))
    return;
  memcpy(e->sb.data + e->sb.len, s, n);
  e->sb.len += n;
}

static inline __attribute__((always_inline)) void put_char(struct enc *e,
                                                           char c) {
  if (!reserve(e, 1))
    return;
  e->sb.data[e->sb.len++] = c;
}

/* Which bytes json-c escapes (its json_escape_str without '/'). */
static const unsigned char needs_escape[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x00 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x10 */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* '"' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* '\\' */
};

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Whether the 8 bytes of x hold one below 0x20, a '"' or a '\\' (exact:
 * the borrow of the subtraction only flags bytes above a true hit). */
static inline bool word_has_escape(uint64_t x) {
  uint64_t q = x ^ (ONES * '"'), b = x ^ (ONES * '\\');
  uint64_t ctl = (x - ONES * 0x20) & ~x;
  uint64_t zq = (q - ONES) & ~q, zb = (b - ONES) & ~b;
  return ((ctl | zq | zb) & HIGHS) != 0;
}

static void put_string(struct enc *e, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  put_char(e, '"');
  size_t run = 0;
  size_t i = 0;
  for (;;) {
    /* Skip 8 bytes at a time while none is a control byte, '"' or '\\'
     * (the bytes json-c escapes); a word with one goes byte by byte. */
    while (i + 8 <= n) {
      uint64_t x;
      memcpy(&x, s + i, 8);
      if (word_has_escape(x))
        break;
      i += 8;
    }
    size_t stop = i + 8 < n ? i + 8 : n;
    for (; i < stop; i++)
      if (needs_escape[(unsigned char)s[i]])
        break;
    if (i >= n)
      break;
    if (i == stop)
      continue;
    unsigned char c = (unsigned char)s[i];
    i++;
    put(e, s + run, i - 1 - run);
    run = i;
    char esc[6] = {'\\', 0};
    size_t len = 2;
    switch (c) {
    case '\b': esc[1] = 'b'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    case '\f': esc[1] = 'f'; break;
    case '"': esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    default:
      memcpy(esc + 1, "u00", 3);
      esc[4] = hex[c >> 4];
      esc[5] = hex[c & 15];
      len = 6;
    }
    put(e, esc, len);
  }
  put(e, s + run, n - run);
  put_char(e, '"');
}

static void put_int(struct enc *e, json_object *v) {
  char buf[32];
  int n;
  int64_t i = json_object_get_int64(v);
  /* json-c keeps integers above INT64_MAX unsigned; get_int64 clamps. */
  if (i == INT64_MAX)
    n = snprintf(buf, sizeof buf, "%" PRIu64, json_object_get_uint64(v));
  else
    n = snprintf(buf, sizeof buf, "%" PRId64, i);
  put(e, buf, (size_t)n);
}

static void encode(struct enc *e, json_object *v) {
  if (e->sb.oom)
    return;
  switch (json_object_get_type(v)) {
  case json_type_null:
    put(e, "null", 4);
    return;
  case json_type_boolean:
    if (json_object_get_boolean(v))
      put(e, "true", 4);
    else
      put(e, "false", 5);
    return;
  case json_type_int:
    put_int(e, v);
    return;
  case json_type_string:
    put_string(e, json_object_get_string(v),
               (size_t)json_object_get_string_len(v));
    return;
  case json_type_object: {
    put_char(e, '{');
    bool first = true;
    json_object_object_foreach(v, key, val) {
      if (!first)
        put_char(e, ',');
      first = false;
      put_string(e, key, strlen(key));
      put_char(e, ':');
      encode(e, val);
    }
    put_char(e, '}');
    return;
  }
  case json_type_array: {
    put_char(e, '[');
    size_t n = json_object_array_length(v);
    for (size_t i = 0; i < n; i++) {
      if (i)
        put_char(e, ',');
      encode(e, json_object_array_get_idx(v, i));
    }
    put_char(e, ']');
    return;
  }
  case json_type_double:
  default: {
    size_t n = 0;
    const char *s = json_object_to_json_string_length(
        v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    if (!s) {
      e->sb.oom = true;
      return;
    }
    put(e, s, n);
    return;
  }
  }
}

char *api_json_encode(json_object *obj, size_t *len) {
  struct enc e = {KUBE_STRBUF_INIT};
  reserve(&e, 2048); /* a typical object in one allocation */
  encode(&e, obj);
  if (e.sb.oom || !reserve(&e, 0)) {
    kube_strbuf_clear(&e.sb);
    return NULL;
  }
  e.sb.data[e.sb.len] = '\0';
  if (len)
    *len = e.sb.len;
  return kube_strbuf_steal(&e.sb);
}
