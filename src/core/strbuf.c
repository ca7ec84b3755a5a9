/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static bool grow(kube_strbuf_t *sb, size_t extra) {
  if (sb->oom)
    return false;
  if (sb->len + extra + 1 <= sb->cap)
    return true;
  size_t cap = sb->cap ? sb->cap : 64;
  while (cap < sb->len + extra + 1) {
    if (cap > SIZE_MAX / 2) {
      sb->oom = true;
      return false;
    }
    cap *= 2;
  }
  char *d = realloc(sb->data, cap);
  if (!d) {
    sb->oom = true;
    return false;
  }
  sb->data = d;
  sb->cap = cap;
  return true;
}

bool core_strbuf_reserve(kube_strbuf_t *sb, size_t extra) {
  return grow(sb, extra);
}

KUBE_EXPORT void kube_strbuf_append_len(kube_strbuf_t *sb, const char *s,
                                        size_t len) {
  if (!grow(sb, len))
    return;
  memcpy(sb->data + sb->len, s, len);
  sb->len += len;
  sb->data[sb->len] = '\0';
}

KUBE_EXPORT void kube_strbuf_append(kube_strbuf_t *sb, const char *s) {
  kube_strbuf_append_len(sb, s, strlen(s));
}

KUBE_EXPORT void kube_strbuf_append_char(kube_strbuf_t *sb, char c) {
  kube_strbuf_append_len(sb, &c, 1);
}

KUBE_EXPORT void kube_strbuf_vprintf(kube_strbuf_t *sb, const char *fmt,
                                     va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0 || !grow(sb, (size_t)n))
    return;
  vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
  sb->len += (size_t)n;
}

KUBE_EXPORT void kube_strbuf_printf(kube_strbuf_t *sb, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  kube_strbuf_vprintf(sb, fmt, ap);
  va_end(ap);
}

KUBE_EXPORT void kube_strbuf_append_json_string(kube_strbuf_t *sb,
                                                const char *s) {
  static const char hex[] = "0123456789abcdef";
  kube_strbuf_append_char(sb, '"');
  const char *run = s;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    const char *esc = NULL;
    char ubuf[7];
    switch (c) {
    case '"': esc = "\\\""; break;
    case '\\': esc = "\\\\"; break;
    case '\n': esc = "\\n"; break;
    case '\r': esc = "\\r"; break;
    case '\t': esc = "\\t"; break;
    case '\b': esc = "\\b"; break;
    case '\f': esc = "\\f"; break;
    default:
      if (c < 0x20) {
        memcpy(ubuf, "\\u00", 4);
        ubuf[4] = hex[c >> 4];
        ubuf[5] = hex[c & 15];
        ubuf[6] = '\0';
        esc = ubuf;
      }
    }
    if (esc) {
      kube_strbuf_append_len(sb, run, (size_t)(s - run));
      kube_strbuf_append(sb, esc);
      run = s + 1;
    }
  }
  kube_strbuf_append_len(sb, run, (size_t)(s - run));
  kube_strbuf_append_char(sb, '"');
}

KUBE_EXPORT void kube_strbuf_reset(kube_strbuf_t *sb) {
  sb->len = 0;
  if (sb->data)
    sb->data[0] = '\0';
}

KUBE_EXPORT char *kube_strbuf_steal(kube_strbuf_t *sb) {
  if (sb->oom) {
    kube_strbuf_clear(sb);
    return NULL;
  }
  char *d = sb->data ? sb->data : strdup("");
  sb->data = NULL;
  sb->len = sb->cap = 0;
  return d;
}

KUBE_EXPORT void kube_strbuf_clear(kube_strbuf_t *sb) {
  free(sb->data);
  memset(sb, 0, sizeof(*sb));
}
