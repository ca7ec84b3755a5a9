/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The compact JSON text informers cache: finding members without parsing.
 *
 * A watch line already holds the object's text; cutting managedFields out
 * of it and finding its resourceVersion by scanning is several times
 * cheaper than serialising the parsed tree again.  The text was parsed
 * successfully just before, so the scanner may assume valid JSON; it still
 * never reads past `end`, and returns NULL on anything unexpected.
 */
#include <stddef.h>

#include "client/internal.h"
#include "core/util.h"

static const char *skip_ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
    p++;
  return p;
}

/* p at the opening quote; returns the position after the closing one. */
static const char *skip_string(const char *p, const char *end) {
  const char *start = ++p;
  while (p < end) {
    const char *q = memchr(p, '"', (size_t)(end - p));
    if (!q)
      return NULL;
    /* Escaped when an odd number of backslashes precede it. */
    size_t bs = 0;
    while (q - bs > start && q[-1 - (ptrdiff_t)bs] == '\\')
      bs++;
    if (!(bs & 1))
      return q + 1;
    p = q + 1;
  }
  return NULL;
}

/* The bytes a container scan must look at. */
static const unsigned char special[256] = {
    ['"'] = 1, ['{'] = 1, ['['] = 1, ['}'] = 1, [']'] = 1,
};

static const char *skip_value(const char *p, const char *end) {
  p = skip_ws(p, end);
  if (p >= end)
    return NULL;
  if (*p == '"')
    return skip_string(p, end);
  if (*p == '{' || *p == '[') {
    int depth = 0;
    for (;;) {
      while (p < end && !special[(unsigned char)*p])
        p++;
      if (p >= end)
        return NULL;
      char c = *p;
      if (c == '"') {
        p = skip_string(p, end);
        if (!p)
          return NULL;
        continue;
      }
      if (c == '{' || c == '[')
        depth++;
      else if (--depth == 0)
        return p + 1;
      p++;
    }
  }
  /* number, true, false, null */
  while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' &&
         *p != '\n' && *p != '\r' && *p != '\t')
    p++;
  return p;
}

/* One member of an object: its key (with quotes), value, and what follows
 * it; *cursor starts at the '{' and advances. */
struct member {
  const char *kstart, *kend; /* "key" including the quotes */
  const char *v, *ve;        /* the value */
  const char *after;         /* ',' or '}' */
  const char *prev_comma;    /* the comma before this member, or NULL */
};

/* 1: next member in *m; 0: end of the object; -1: malformed. */
static int member_next(const char *end, const char **cursor, struct member *m) {
  const char *p = skip_ws(*cursor, end);
  if (p >= end)
    return -1;
  if (*p == '{') {
    m->prev_comma = NULL;
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}')
      return 0;
  } else if (*p == '}') {
    return 0;
  } else if (*p == ',') {
    m->prev_comma = p;
    p = skip_ws(p + 1, end);
  } else {
    return -1;
  }
  if (p >= end || *p != '"')
    return -1;
  m->kstart = p;
  m->kend = skip_string(p, end);
  if (!m->kend)
    return -1;
  p = skip_ws(m->kend, end);
  if (p >= end || *p != ':')
    return -1;
  m->v = skip_ws(p + 1, end);
  m->ve = skip_value(m->v, end);
  if (!m->ve)
    return -1;
  m->after = skip_ws(m->ve, end);
  if (m->after >= end || (*m->after != ',' && *m->after != '}'))
    return -1;
  *cursor = m->after;
  return 1;
}

static bool key_is(const struct member *m, const char *name, size_t nlen) {
  return (size_t)(m->kend - m->kstart) == nlen + 2 &&
         memcmp(m->kstart + 1, name, nlen) == 0;
}

/* The span that cutting member m out of its object removes: the member and
 * one separating comma. */
static void member_span(const struct member *m, const char **ms,
                        const char **me) {
  if (*m->after == ',') {
    *ms = m->kstart;
    *me = m->after + 1;
  } else if (m->prev_comma) {
    *ms = m->prev_comma;
    *me = m->ve;
  } else {
    *ms = m->kstart;
    *me = m->ve;
  }
}

const char *client_json_member(const char *p, const char *end, const char *name,
                               const char **vend, const char **ms,
                               const char **me) {
  size_t nlen = strlen(name);
  const char *cursor = p;
  struct member m = {0};
  while (member_next(end, &cursor, &m) == 1) {
    if (!key_is(&m, name, nlen))
      continue;
    if (vend)
      *vend = m.ve;
    if (ms && me)
      member_span(&m, ms, me);
    return m.v;
  }
  return NULL;
}

/* A string value's characters when it has no escapes (names, namespaces
 * and resourceVersions have none; anything else makes callers parse). */
static const char *plain_string(const char *v, const char *ve, uint32_t *n) {
  if (ve - v < 2 || *v != '"' || memchr(v + 1, '\\', (size_t)(ve - v - 2)))
    return NULL;
  *n = (uint32_t)(ve - v - 2);
  return v + 1;
}

void client_json_scan_meta(const char *text, size_t len,
                           struct client_json_meta *out) {
  const char *end = text + len, *p = skip_ws(text, end);
  memset(out, 0, sizeof *out);
  if (p >= end || *p != '{')
    return;
  p++;
  /* Top-level members until metadata, which is walked in place (no scan
   * to its end first: it holds most of the text, managedFields). */
  for (;;) {
    p = skip_ws(p, end);
    if (p < end && *p == ',')
      p = skip_ws(p + 1, end);
    if (p >= end || *p != '"')
      return;
    const char *kstart = p, *kend = skip_string(p, end);
    if (!kend)
      return;
    p = skip_ws(kend, end);
    if (p >= end || *p != ':')
      return;
    const char *v = skip_ws(p + 1, end);
    if (kend - kstart == 10 && memcmp(kstart + 1, "metadata", 8) == 0) {
      if (v >= end || *v != '{')
        return;
      const char *mc = v;
      struct member f = {0};
      int r;
      while ((r = member_next(end, &mc, &f)) == 1) {
        if (key_is(&f, "name", 4))
          out->name = plain_string(f.v, f.ve, &out->name_len);
        else if (key_is(&f, "namespace", 9))
          out->ns = plain_string(f.v, f.ve, &out->ns_len);
        else if (key_is(&f, "resourceVersion", 15))
          out->rv = plain_string(f.v, f.ve, &out->rv_len);
        else if (key_is(&f, "managedFields", 13))
          member_span(&f, &out->mf_start, &out->mf_end);
      }
      out->found = r == 0;
      return;
    }
    p = skip_value(v, end);
    if (!p)
      return;
  }
}

int client_json_array_next(const char *end, const char **cursor, const char **v,
                           const char **vend) {
  const char *p = skip_ws(*cursor, end);
  if (p >= end)
    return -1;
  if (*p == '[') {
    p = skip_ws(p + 1, end);
    if (p < end && *p == ']')
      return 0;
  } else if (*p == ']') {
    return 0;
  } else if (*p == ',') {
    p = skip_ws(p + 1, end);
  } else {
    return -1;
  }
  const char *ve = skip_value(p, end);
  if (!ve)
    return -1;
  *v = p;
  *vend = ve;
  *cursor = ve;
  return 1;
}

bool client_json_is_value(const char *text, size_t len) {
  const char *end = text + len, *ve = skip_value(text, end);
  return ve && skip_ws(ve, end) == end;
}

int client_json_quick_meta(const char *text, size_t len, const char *rv,
                           struct client_json_meta *out) {
  const char *end = text + len;
  memset(out, 0, sizeof *out);
  out->found = true;
  if (rv && *rv) {
    /* Where the value is does not matter, only that it is that value: a
     * first match elsewhere (an Event's involvedObject) holds the same. */
    char needle[96];
    int n = snprintf(needle, sizeof needle, "\"resourceVersion\":\"%s\"", rv);
    const char *p = n > 0 && (size_t)n < sizeof needle
                        ? memmem(text, len, needle, n)
                        : NULL;
    if (!p)
      return -1;
    out->rv = p + 19; /* past "resourceVersion":" */
    out->rv_len = (uint32_t)strlen(rv);
  }
  const char *key = "\"managedFields\":";
  const char *p = memmem(text, len, key, 16);
  if (!p)
    return 0;
  /* Only when it is the one key of that name (else: the full scan). */
  if (memmem(p + 16, (size_t)(end - p - 16), key, 16))
    return -1;
  const char *ve = skip_value(p + 16, end);
  if (!ve)
    return -1;
  const char *after = skip_ws(ve, end), *before = p;
  while (before > text && (before[-1] == ' ' || before[-1] == '\n' ||
                           before[-1] == '\r' || before[-1] == '\t'))
    before--;
  if (before == text || after >= end ||
      (before[-1] != ',' && before[-1] != '{') ||
      (*after != ',' && *after != '}'))
    return -1;
  if (*after == ',') {
    out->mf_start = p;
    out->mf_end = after + 1;
  } else if (before[-1] == ',') {
    out->mf_start = before - 1;
    out->mf_end = ve;
  } else {
    out->mf_start = p;
    out->mf_end = ve;
  }
  return 0;
}
