/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers for etcd's v3 JSON gateway: base64 (keys and values are bytes on
 * the wire) and int64 fields, which the gateway writes as JSON strings and
 * omits when zero.
 */
#include <stdlib.h>
#include <string.h>

#include "store/etcd.h"

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void store_etcd_b64_append(kube_strbuf_t *sb, const void *data, size_t len) {
  const unsigned char *p = data;
  size_t need = (len + 2) / 3 * 4;
  /* Grow once, then write in place. */
  size_t at = sb->len;
  for (size_t i = 0; i < need; i++)
    kube_strbuf_append_char(sb, '=');
  if (sb->oom)
    return;
  char *out = sb->data + at;
  size_t i = 0;
  for (; i + 2 < len; i += 3) {
    unsigned v = p[i] << 16 | p[i + 1] << 8 | p[i + 2];
    *out++ = b64chars[v >> 18 & 63];
    *out++ = b64chars[v >> 12 & 63];
    *out++ = b64chars[v >> 6 & 63];
    *out++ = b64chars[v & 63];
  }
  if (i < len) {
    unsigned v = p[i] << 16 | (i + 1 < len ? p[i + 1] << 8 : 0);
    *out++ = b64chars[v >> 18 & 63];
    *out++ = b64chars[v >> 12 & 63];
    if (i + 1 < len)
      *out++ = b64chars[v >> 6 & 63];
  }
}

static int b64val(unsigned char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+' || c == '-')
    return 62;
  if (c == '/' || c == '_')
    return 63;
  return -1;
}

char *store_etcd_b64_decode(const char *in, size_t *out_len) {
  size_t n = strlen(in);
  char *out = malloc(n / 4 * 3 + 4);
  if (!out)
    return NULL;
  size_t o = 0;
  unsigned acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    if (in[i] == '=')
      break;
    int v = b64val((unsigned char)in[i]);
    if (v < 0) {
      free(out);
      return NULL;
    }
    acc = acc << 6 | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (char)(acc >> bits & 0xff);
    }
  }
  out[o] = '\0';
  *out_len = o;
  return out;
}

int64_t store_etcd_json_i64(json_object *obj, const char *field) {
  json_object *v;
  if (!obj || !json_object_object_get_ex(obj, field, &v))
    return 0;
  if (json_object_is_type(v, json_type_string))
    return strtoll(json_object_get_string(v), NULL, 10);
  return json_object_get_int64(v);
}

const char *store_etcd_json_str(json_object *obj, const char *field) {
  json_object *v;
  if (!obj || !json_object_object_get_ex(obj, field, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

json_object *store_etcd_json_get(json_object *obj, const char *field) {
  json_object *v;
  if (!obj || !json_object_object_get_ex(obj, field, &v))
    return NULL;
  return v;
}
