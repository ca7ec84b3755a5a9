/* SPDX-License-Identifier: Apache-2.0 */
/* Base64 (RFC 4648): the one copy every module uses (Secret data, etcd's
 * JSON gateway, kubeconfig data fields, protobuf bytes, JWTs). */
#include "core/util.h"

static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Writes the encoding of in[0..len) to out (room for (len+2)/3*4 bytes
 * with padding) and returns the length written. */
static size_t encode_into(char *out, const unsigned char *in, size_t len,
                          const char *alpha, bool pad) {
  size_t o = 0, i = 0;
  for (; i + 2 < len; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    out[o++] = alpha[v >> 18 & 63];
    out[o++] = alpha[v >> 12 & 63];
    out[o++] = alpha[v >> 6 & 63];
    out[o++] = alpha[v & 63];
  }
  if (i < len) {
    uint32_t v = (uint32_t)in[i] << 16;
    if (i + 1 < len)
      v |= (uint32_t)in[i + 1] << 8;
    out[o++] = alpha[v >> 18 & 63];
    out[o++] = alpha[v >> 12 & 63];
    if (i + 1 < len)
      out[o++] = alpha[v >> 6 & 63];
    else if (pad)
      out[o++] = '=';
    if (pad)
      out[o++] = '=';
  }
  return o;
}

static char *encode(const unsigned char *in, size_t len, const char *alpha,
                    bool pad) {
  char *out = malloc((len + 2) / 3 * 4 + 1);
  if (!out)
    return NULL;
  out[encode_into(out, in, len, alpha, pad)] = '\0';
  return out;
}

KUBE_EXPORT void kube_strbuf_append_base64(kube_strbuf_t *sb, const void *data,
                                           size_t len) {
  size_t need = (len + 2) / 3 * 4, at = sb->len;
  /* Grow once (the appended bytes are overwritten), then encode in place. */
  for (size_t i = 0; i < need; i++)
    kube_strbuf_append_char(sb, '=');
  if (!sb->oom)
    encode_into(sb->data + at, data, len, std_alphabet, true);
}

KUBE_EXPORT char *kube_base64_encode(const void *data, size_t len) {
  return encode(data, len, std_alphabet, true);
}

KUBE_EXPORT char *kube_base64url_encode(const void *data, size_t len) {
  return encode(data, len, url_alphabet, false);
}

static int sextet(unsigned char c) {
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

KUBE_EXPORT unsigned char *kube_base64_decode(const char *s, size_t len,
                                              size_t *out_len,
                                              kube_error_t *err) {
  unsigned char *out = malloc(len / 4 * 3 + 4);
  if (!out) {
    kube_make_oom(err);
    return NULL;
  }
  size_t o = 0;
  uint32_t acc = 0;
  int bits = 0, pads = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\r' || c == '\n' || c == ' ' || c == '\t')
      continue;
    if (c == '=') {
      pads++;
      continue;
    }
    int v = sextet(c);
    if (v < 0 || pads) {
      free(out);
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "illegal base64 data at input byte %zu", i);
      return NULL;
    }
    acc = acc << 6 | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (unsigned char)(acc >> bits);
    }
  }
  /* A lone sextet (bits == 6) cannot encode a byte; too much padding is
   * malformed too. */
  if (bits >= 6 || pads > 2) {
    free(out);
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "illegal base64 data at input byte %zu", len);
    return NULL;
  }
  out[o] = '\0';
  if (out_len)
    *out_len = o;
  return out;
}
