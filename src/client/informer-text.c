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
#include "client/internal.h"
#include "core/util.h"

static const char *skip_ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
    p++;
  return p;
}

/* p at the opening quote; returns the position after the closing one. */
static const char *skip_string(const char *p, const char *end) {
  for (p++; p < end; p++) {
    if (*p == '\\')
      p++;
    else if (*p == '"')
      return p + 1;
  }
  return NULL;
}

static const char *skip_value(const char *p, const char *end) {
  p = skip_ws(p, end);
  if (p >= end)
    return NULL;
  if (*p == '"')
    return skip_string(p, end);
  if (*p == '{' || *p == '[') {
    int depth = 0;
    while (p < end) {
      char c = *p;
      if (c == '"') {
        p = skip_string(p, end);
        if (!p)
          return NULL;
        continue;
      }
      if (c == '{' || c == '[')
        depth++;
      else if ((c == '}' || c == ']') && --depth == 0)
        return p + 1;
      p++;
    }
    return NULL;
  }
  /* number, true, false, null */
  while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' &&
         *p != '\n' && *p != '\r' && *p != '\t')
    p++;
  return p;
}

const char *client_json_member(const char *p, const char *end, const char *name,
                               const char **vend, const char **ms,
                               const char **me) {
  size_t nlen = strlen(name);
  p = skip_ws(p, end);
  if (p >= end || *p != '{')
    return NULL;
  const char *prev_comma = NULL;
  p++;
  for (;;) {
    p = skip_ws(p, end);
    if (p >= end || *p != '"')
      return NULL; /* '}' (not found) or malformed */
    const char *kstart = p;
    const char *kend = skip_string(p, end);
    if (!kend)
      return NULL;
    p = skip_ws(kend, end);
    if (p >= end || *p != ':')
      return NULL;
    const char *vstart = skip_ws(p + 1, end);
    const char *ve = skip_value(vstart, end);
    if (!ve)
      return NULL;
    const char *after = skip_ws(ve, end);
    if (after >= end)
      return NULL;
    if ((size_t)(kend - kstart) == nlen + 2 &&
        memcmp(kstart + 1, name, nlen) == 0) {
      if (vend)
        *vend = ve;
      if (ms && me) {
        if (*after == ',') {
          *ms = kstart;
          *me = after + 1;
        } else if (prev_comma) {
          *ms = prev_comma;
          *me = ve;
        } else {
          *ms = kstart;
          *me = ve;
        }
      }
      return vstart;
    }
    if (*after != ',')
      return NULL;
    prev_comma = after;
    p = after + 1;
  }
}

void client_json_find_rv(const char *text, size_t len, uint32_t *off,
                         uint16_t *rlen) {
  const char *end = text + len, *mend = NULL, *vend = NULL;
  *off = 0;
  *rlen = 0;
  const char *meta =
      client_json_member(text, end, "metadata", &mend, NULL, NULL);
  if (!meta)
    return;
  const char *v =
      client_json_member(meta, mend, "resourceVersion", &vend, NULL, NULL);
  /* resourceVersions are digits: no escapes to worry about. */
  if (!v || *v != '"' || vend - v < 2 || vend - v - 2 > UINT16_MAX)
    return;
  *off = (uint32_t)(v + 1 - text);
  *rlen = (uint16_t)(vend - v - 2);
}

int client_json_strip_managed(const char *text, size_t len, char **out,
                              size_t *out_len) {
  const char *end = text + len, *mend = NULL, *ms = NULL, *me = NULL;
  *out = NULL;
  const char *meta =
      client_json_member(text, end, "metadata", &mend, NULL, NULL);
  if (!meta || !client_json_member(meta, mend, "managedFields", NULL, &ms, &me))
    return 0;
  size_t n = len - (size_t)(me - ms);
  char *s = malloc(n + 1);
  if (!s)
    return -1;
  size_t head = (size_t)(ms - text);
  memcpy(s, text, head);
  memcpy(s + head, me, (size_t)(end - me));
  s[n] = '\0';
  *out = s;
  *out_len = n;
  return 0;
}
