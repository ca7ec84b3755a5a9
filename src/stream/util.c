/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers of the stream module: randomness, header token lists, the
 * input buffer every session accumulates frames in. */
#include <ctype.h>
#include <sys/random.h>

#include "stream/internal.h"

int stream_random(void *buf, size_t len, kube_error_t *err) {
  uint8_t *p = buf;
  size_t off = 0;
  while (off < len) {
    ssize_t r = getrandom(p + off, len - off, 0);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return kube_make_error(err, errno, "getrandom: %s", strerror(errno));
    }
    off += (size_t)r;
  }
  return 0;
}

/* Calls fn on each trimmed element of a comma-separated list until it
 * returns true. */
static bool list_any(const char *list, const char *item,
                     bool (*eq)(const char *a, size_t alen, const char *b)) {
  if (!list)
    return false;
  const char *p = list;
  while (*p) {
    while (*p == ' ' || *p == '\t' || *p == ',')
      p++;
    const char *s = p;
    while (*p && *p != ',')
      p++;
    const char *e = p;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
      e--;
    if (e > s && eq(s, (size_t)(e - s), item))
      return true;
  }
  return false;
}

static bool eq_nocase(const char *a, size_t alen, const char *b) {
  return strlen(b) == alen && strncasecmp(a, b, alen) == 0;
}

static bool eq_exact(const char *a, size_t alen, const char *b) {
  return strlen(b) == alen && memcmp(a, b, alen) == 0;
}

bool stream_has_token(const char *value, const char *token) {
  return list_any(value, token, eq_nocase);
}

bool stream_list_contains(const char *list, const char *item) {
  return list_any(list, item, eq_exact);
}

int stream_inbuf_append(stream_inbuf_t *b, const void *buf, size_t len,
                        kube_error_t *err) {
  if (len == 0)
    return 0;
  /* Drop consumed bytes first when that makes room or most is consumed. */
  if (b->start > 0 &&
      (b->start == b->len || b->len + len > b->cap || b->start > b->cap / 2)) {
    memmove(b->data, b->data + b->start, b->len - b->start);
    b->len -= b->start;
    b->start = 0;
  }
  if (b->len + len > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + len)
      cap *= 2;
    uint8_t *d = realloc(b->data, cap);
    if (!d)
      return kube_make_oom(err);
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, buf, len);
  b->len += len;
  return 0;
}

void stream_inbuf_consume(stream_inbuf_t *b, size_t n) {
  b->start += n;
  if (b->start >= b->len)
    b->start = b->len = 0;
}

void stream_inbuf_clear(stream_inbuf_t *b) {
  free(b->data);
  memset(b, 0, sizeof *b);
}

KUBE_EXPORT bool kube_stream_query_bool(const char *v) {
  static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
  if (!v)
    return false;
  for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
    if (streq(v, yes[i]))
      return true;
  return false;
}
