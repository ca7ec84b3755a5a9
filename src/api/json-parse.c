/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A one-pass JSON reader for the common case of a request body: plain
 * JSON (objects, arrays, strings, integers, true/false/null) read straight
 * into the json-c tree that json-c's strict tokener would build, while the
 * bytes are checked as kube_json_parse checks them (well-formed UTF-8, no
 * control characters or \u0000 in strings) and each object's members are
 * counted (a repeated key leaves fewer members in the tree).
 *
 * It declines, returning NULL, on anything outside that case — malformed
 * text, a fraction or exponent, an integer of 19 digits or more, "-0", a
 * \u escape of a surrogate, nesting near the depth limit, whitespace other
 * than space, tab, CR and LF — and kube_json_parse then reads the text
 * with json-c as before, so errors and unusual numbers come out exactly
 * as they did.  What it accepts it builds as json-c does: members added in
 * order with json_object_object_add (a repeated key keeps its first place
 * and takes the last value), integers as int64, arrays shrunk to size.
 */
#include <limits.h>

#include "api/internal.h"

typedef struct rd {
  const char *p, *end;
  kube_strbuf_t sb; /* decoded string scratch, written through data */
  bool dup_keys;
  bool oom;
} rd_t;

static bool is_ws(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static void skip_ws(rd_t *r) {
  while (r->p < r->end && is_ws(*r->p))
    r->p++;
}

/* Room for n bytes and a NUL in the scratch buffer (its len stays 0). */
static bool reserve(rd_t *r, size_t n) {
  if (core_strbuf_reserve(&r->sb, n))
    return true;
  r->oom = true;
  return false;
}

size_t api_utf8_seq(const unsigned char *s, const unsigned char *end) {
  unsigned char c = s[0];
  size_t n;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 1;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 2;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 3;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if ((size_t)(end - s) <= n)
    return 0;
  for (size_t k = 1; k <= n; k++) {
    if ((s[k] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[k] & 0x3F);
  }
  if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
      (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
    return 0;
  return n + 1;
}

/* The string at r->p (its opening quote) decoded into r->sb.data,
 * NUL-terminated; *len its length.  false: declined. */
static bool read_string(rd_t *r, size_t *len) {
  const unsigned char *s = (const unsigned char *)r->p + 1;
  const unsigned char *end = (const unsigned char *)r->end;
  /* Plain runs are copied in one go; escapes decoded one by one. */
  size_t n = 0;
  for (;;) {
    const unsigned char *run = s;
    while (s < end && *s != '"' && *s != '\\' && *s >= 0x20) {
      if (*s < 0x80) {
        s++;
        continue;
      }
      size_t k = api_utf8_seq(s, end);
      if (!k)
        return false;
      s += k;
    }
    if (s >= end || *s < 0x20)
      return false;
    size_t rl = (size_t)(s - run);
    if (!reserve(r, n + rl + 4))
      return false;
    memcpy(r->sb.data + n, run, rl);
    n += rl;
    if (*s == '"')
      break;
    /* an escape */
    if (end - s < 2)
      return false;
    char e = (char)s[1], out;
    switch (e) {
    case '"':
    case '\\':
    case '/':
      out = e;
      break;
    case 'b':
      out = '\b';
      break;
    case 'f':
      out = '\f';
      break;
    case 'n':
      out = '\n';
      break;
    case 'r':
      out = '\r';
      break;
    case 't':
      out = '\t';
      break;
    case 'u': {
      if (end - s < 6)
        return false;
      uint32_t cp = 0;
      for (int i = 2; i < 6; i++) {
        int h = core_hex_digit((char)s[i]);
        if (h < 0)
          return false;
        cp = cp << 4 | (uint32_t)h;
      }
      if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
        return false;
      if (cp < 0x80) {
        r->sb.data[n++] = (char)cp;
      } else if (cp < 0x800) {
        r->sb.data[n++] = (char)(0xC0 | cp >> 6);
        r->sb.data[n++] = (char)(0x80 | (cp & 0x3F));
      } else {
        r->sb.data[n++] = (char)(0xE0 | cp >> 12);
        r->sb.data[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        r->sb.data[n++] = (char)(0x80 | (cp & 0x3F));
      }
      s += 6;
      continue;
    }
    default:
      return false;
    }
    r->sb.data[n++] = out;
    s += 2;
  }
  r->sb.data[n] = '\0';
  r->p = (const char *)s + 1;
  *len = n;
  return true;
}

/* An integer of at most 18 digits, without leading zeros and not "-0",
 * followed by a delimiter.  NULL: declined. */
static json_object *read_number(rd_t *r) {
  const char *s = r->p;
  bool neg = *s == '-';
  if (neg)
    s++;
  const char *d = s;
  int64_t v = 0;
  while (s < r->end && *s >= '0' && *s <= '9' && s - d < 19)
    v = v * 10 + (*s++ - '0');
  size_t nd = (size_t)(s - d);
  if (nd == 0 || nd > 18 || (*d == '0' && (nd > 1 || neg)))
    return NULL;
  if (s < r->end && !is_ws(*s) && *s != ',' && *s != '}' && *s != ']')
    return NULL; /* a fraction, exponent or anything else */
  r->p = s;
  json_object *o = json_object_new_int64(neg ? -v : v);
  if (!o)
    r->oom = true;
  return o;
}

static bool word(rd_t *r, const char *w, size_t n) {
  if ((size_t)(r->end - r->p) < n || memcmp(r->p, w, n) != 0)
    return false;
  const char *after = r->p + n;
  if (after < r->end && !is_ws(*after) && *after != ',' && *after != '}' &&
      *after != ']')
    return false;
  r->p = after;
  return true;
}

/* After an item of an object or array: 1 at the next item (past the
 * ','), 0 past the closing bracket, -1 on anything else. */
static int next_item(rd_t *r, char close) {
  skip_ws(r);
  if (r->p >= r->end)
    return -1;
  char c = *r->p++;
  if (c == close)
    return 0;
  if (c != ',')
    return -1;
  skip_ws(r);
  return 1;
}

/* One value at r->p into *out (NULL for null).  false: declined. */
static bool read_value(rd_t *r, int depth, json_object **out);

static bool read_object(rd_t *r, int depth, json_object **out) {
  json_object *o = json_object_new_object();
  if (!o) {
    r->oom = true;
    return false;
  }
  r->p++;
  skip_ws(r);
  size_t members = 0;
  if (r->p < r->end && *r->p == '}') {
    r->p++;
    *out = o;
    return true;
  }
  for (;;) {
    size_t kl;
    if (r->p >= r->end || *r->p != '"' || !read_string(r, &kl))
      goto decline;
    /* The key stays in r->sb.data until the value is read: copy it aside
     * when the value may need the scratch buffer. */
    char kbuf[64], *key = kbuf, *kheap = NULL;
    if (kl < sizeof kbuf) {
      memcpy(kbuf, r->sb.data, kl + 1);
    } else if (!(key = kheap = strdup(r->sb.data))) {
      r->oom = true;
      goto decline;
    }
    skip_ws(r);
    json_object *v = NULL;
    bool ok = r->p < r->end && *r->p == ':';
    if (ok) {
      r->p++;
      skip_ws(r);
      ok = read_value(r, depth + 1, &v);
    }
    if (ok && json_object_object_add(o, key, v) < 0) {
      r->oom = true;
      json_object_put(v);
      ok = false;
    }
    free(kheap);
    if (!ok)
      goto decline;
    members++;
    int more = next_item(r, '}');
    if (more < 0)
      goto decline;
    if (!more)
      break;
  }
  if ((size_t)json_object_object_length(o) != members)
    r->dup_keys = true;
  *out = o;
  return true;
decline:
  json_object_put(o);
  return false;
}

static bool read_array(rd_t *r, int depth, json_object **out) {
  json_object *a = json_object_new_array();
  if (!a) {
    r->oom = true;
    return false;
  }
  r->p++;
  skip_ws(r);
  if (r->p < r->end && *r->p == ']') {
    r->p++;
    json_object_array_shrink(a, 0);
    *out = a;
    return true;
  }
  for (;;) {
    json_object *v = NULL;
    if (!read_value(r, depth + 1, &v))
      goto decline;
    if (json_object_array_add(a, v) < 0) {
      r->oom = true;
      json_object_put(v);
      goto decline;
    }
    int more = next_item(r, ']');
    if (more < 0)
      goto decline;
    if (!more)
      break;
  }
  json_object_array_shrink(a, 0);
  *out = a;
  return true;
decline:
  json_object_put(a);
  return false;
}

static bool read_value(rd_t *r, int depth, json_object **out) {
  *out = NULL;
  /* json-c's own limit applies well before this; leave deep text to it. */
  if (depth >= 64 || r->p >= r->end)
    return false;
  switch (*r->p) {
  case '{':
    return read_object(r, depth, out);
  case '[':
    return read_array(r, depth, out);
  case '"': {
    size_t n;
    if (!read_string(r, &n))
      return false;
    if (!(*out = json_object_new_string_len(r->sb.data, (int)n))) {
      r->oom = true;
      return false;
    }
    return true;
  }
  case 't':
    return word(r, "true", 4) && (*out = json_object_new_boolean(1));
  case 'f':
    return word(r, "false", 5) && (*out = json_object_new_boolean(0));
  case 'n':
    return word(r, "null", 4);
  default:
    if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9'))
      return (*out = read_number(r)) != NULL;
    return false;
  }
}

json_object *api_json_parse_plain(const char *data, size_t len,
                                  bool *dup_keys) {
  if (!data || len > INT_MAX)
    return NULL;
  rd_t r = {.p = data, .end = data + len};
  skip_ws(&r);
  json_object *root = NULL;
  /* A document of one bare null is an error kube_json_parse words. */
  bool ok = r.p < r.end && *r.p != 'n' && read_value(&r, 0, &root);
  if (ok) {
    skip_ws(&r);
    ok = r.p == r.end;
  }
  kube_strbuf_clear(&r.sb);
  if (!ok) {
    json_object_put(root);
    return NULL;
  }
  if (dup_keys)
    *dup_keys = r.dup_keys;
  return root;
}
