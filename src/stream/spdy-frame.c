/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SPDY/3.1 frames (SPDY Protocol Draft 3.1, section 2): the binary codec
 * and the zlib-compressed name/value header blocks.  Header compression
 * keeps one zlib stream per direction for the whole connection, primed
 * with the SPDY/3 dictionary, and flushes it after every block (as
 * moby/spdystream's framer does), so blocks must be handled in order.
 */
#include <ctype.h>
#include <zlib.h>

#include "stream/internal.h"

#define SPDY_VERSION 3
#define SPDY_MAX_HEADER_BLOCK (256u << 10)
#define SPDY_DEFAULT_MAX_FRAME (16u << 20)
#define SPDY_MAX_LEN 0xffffffu

struct kube_spdy_zlib {
  bool compress;
  bool dict_set;
  z_stream z;
};

KUBE_EXPORT kube_spdy_zlib_t *kube_spdy_zlib_new(bool compress,
                                                 kube_error_t *err) {
  kube_spdy_zlib_t *s = calloc(1, sizeof *s);
  if (!s) {
    kube_make_oom(err);
    return NULL;
  }
  s->compress = compress;
  int r;
  if (compress) {
    r = deflateInit(&s->z, Z_BEST_COMPRESSION);
    if (r == Z_OK)
      r = deflateSetDictionary(&s->z, stream_spdy_dictionary,
                               sizeof stream_spdy_dictionary);
  } else {
    r = inflateInit(&s->z);
  }
  if (r != Z_OK) {
    kube_make_error(err, ENOMEM, "spdy: zlib init failed (%d)", r);
    if (compress)
      deflateEnd(&s->z);
    free(s);
    return NULL;
  }
  return s;
}

KUBE_EXPORT void kube_spdy_zlib_free(kube_spdy_zlib_t *s) {
  if (!s)
    return;
  if (s->compress)
    deflateEnd(&s->z);
  else
    inflateEnd(&s->z);
  free(s);
}

static void put_u32(kube_strbuf_t *sb, uint32_t v) {
  uint8_t b[4];
  stream_put_be32(b, v);
  kube_strbuf_append_len(sb, (const char *)b, 4);
}

KUBE_EXPORT int kube_spdy_headers_encode(kube_spdy_zlib_t *s,
                                         const kube_spdy_header_t *h, size_t n,
                                         kube_strbuf_t *out,
                                         kube_error_t *err) {
  if (!s || !s->compress)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "spdy: headers need a compressing zlib stream");
  cleanup_strbuf kube_strbuf_t raw = KUBE_STRBUF_INIT;
  put_u32(&raw, (uint32_t)n);
  for (size_t i = 0; i < n; i++) {
    size_t nl = strlen(h[i].name);
    put_u32(&raw, (uint32_t)nl);
    size_t at = raw.len;
    kube_strbuf_append_len(&raw, h[i].name, nl);
    if (raw.oom)
      break;
    for (size_t k = 0; k < nl; k++)
      raw.data[at + k] = (char)tolower((unsigned char)raw.data[at + k]);
    size_t vl = h[i].value ? h[i].value_len : 0;
    put_u32(&raw, (uint32_t)vl);
    if (vl)
      kube_strbuf_append_len(&raw, h[i].value, vl);
  }
  if (raw.oom)
    return kube_make_oom(err);
  s->z.next_in = (Bytef *)raw.data;
  s->z.avail_in = (uInt)raw.len;
  uint8_t chunk[4096];
  do {
    s->z.next_out = chunk;
    s->z.avail_out = sizeof chunk;
    int r = deflate(&s->z, Z_SYNC_FLUSH);
    if (r != Z_OK && r != Z_BUF_ERROR)
      return kube_make_error(err, 0, "spdy: deflate failed (%d)", r);
    kube_strbuf_append_len(out, (const char *)chunk,
                           sizeof chunk - s->z.avail_out);
  } while (s->z.avail_out == 0 || s->z.avail_in > 0);
  return out->oom ? kube_make_oom(err) : 0;
}

static int inflate_block(kube_spdy_zlib_t *s, const void *block, size_t len,
                         kube_strbuf_t *raw, kube_error_t *err) {
  s->z.next_in = (Bytef *)block;
  s->z.avail_in = (uInt)len;
  uint8_t chunk[4096];
  while (s->z.avail_in > 0 || s->z.avail_out == 0) {
    s->z.next_out = chunk;
    s->z.avail_out = sizeof chunk;
    int r = inflate(&s->z, Z_SYNC_FLUSH);
    if (r == Z_NEED_DICT) {
      if (s->dict_set ||
          inflateSetDictionary(&s->z, stream_spdy_dictionary,
                               sizeof stream_spdy_dictionary) != Z_OK)
        return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                              "spdy: header block uses an unknown zlib "
                              "dictionary");
      s->dict_set = true;
      continue;
    }
    if (r == Z_BUF_ERROR && s->z.avail_in == 0 && s->z.avail_out > 0)
      break;
    if (r != Z_OK && r != Z_BUF_ERROR)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "spdy: corrupt header block (zlib %d)", r);
    kube_strbuf_append_len(raw, (const char *)chunk,
                           sizeof chunk - s->z.avail_out);
    if (raw->len > SPDY_MAX_HEADER_BLOCK)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "spdy: header block larger than %u bytes",
                            SPDY_MAX_HEADER_BLOCK);
    if (raw->oom)
      return kube_make_oom(err);
    if (r == Z_BUF_ERROR)
      break;
  }
  return 0;
}

KUBE_EXPORT void kube_spdy_headers_free(kube_spdy_header_t *h, size_t n) {
  if (!h)
    return;
  for (size_t i = 0; i < n; i++) {
    free(h[i].name);
    free(h[i].value);
  }
  free(h);
}

static int bad_block(kube_error_t *err, const char *why) {
  return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                        "spdy: malformed header block: %s", why);
}

KUBE_EXPORT int kube_spdy_headers_decode(kube_spdy_zlib_t *s, const void *block,
                                         size_t len, kube_spdy_header_t **hp,
                                         size_t *np, kube_error_t *err) {
  *hp = NULL;
  *np = 0;
  if (!s || s->compress)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "spdy: headers need an inflating zlib stream");
  cleanup_strbuf kube_strbuf_t raw = KUBE_STRBUF_INIT;
  if (inflate_block(s, block, len, &raw, err) < 0)
    return -1;
  const uint8_t *p = (const uint8_t *)raw.data, *end = p + raw.len;
  if (end - p < 4)
    return bad_block(err, "no pair count");
  uint32_t n = stream_be32(p);
  p += 4;
  /* Each pair takes at least 8 bytes: a count past that is a lie. */
  if (n > (size_t)(end - p) / 8)
    return bad_block(err, "pair count exceeds the block");
  kube_spdy_header_t *h = calloc(n ? n : 1, sizeof *h);
  if (!h)
    return kube_make_oom(err);
  size_t got = 0;
  int rc = 0;
  for (; got < n; got++) {
    uint32_t nl, vl;
    if (end - p < 4 || (nl = stream_be32(p), (size_t)(end - p - 4) < nl)) {
      rc = bad_block(err, "truncated name");
      break;
    }
    p += 4;
    if (nl == 0) {
      rc = bad_block(err, "empty header name");
      break;
    }
    for (uint32_t k = 0; k < nl; k++)
      if (p[k] != tolower(p[k]) || p[k] == 0) {
        rc = bad_block(err, "header name not lower-case");
        break;
      }
    if (rc < 0)
      break;
    h[got].name = strndup((const char *)p, nl);
    p += nl;
    if (end - p < 4 || (vl = stream_be32(p), (size_t)(end - p - 4) < vl)) {
      rc = bad_block(err, "truncated value");
      got++;
      break;
    }
    p += 4;
    h[got].value = malloc(vl + 1);
    if (!h[got].name || !h[got].value) {
      rc = kube_make_oom(err);
      got++;
      break;
    }
    memcpy(h[got].value, p, vl);
    h[got].value[vl] = '\0';
    h[got].value_len = vl;
    p += vl;
    for (size_t k = 0; k < got; k++)
      if (streq(h[k].name, h[got].name)) {
        rc = bad_block(err, "duplicate header name");
        break;
      }
    if (rc < 0) {
      got++;
      break;
    }
  }
  if (rc < 0) {
    kube_spdy_headers_free(h, got);
    return -1;
  }
  *hp = h;
  *np = n;
  return 0;
}

KUBE_EXPORT const char *kube_spdy_header_get(const kube_spdy_header_t *h,
                                             size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcasecmp(h[i].name, name) == 0)
      return h[i].value;
  return NULL;
}

static void put_ctrl(kube_strbuf_t *out, uint16_t type, uint8_t flags,
                     uint32_t len) {
  uint8_t b[8] = {0x80 | (SPDY_VERSION >> 8), SPDY_VERSION & 0xff,
                  (uint8_t)(type >> 8), (uint8_t)type};
  stream_put_be32(b + 4, (uint32_t)flags << 24 | len);
  kube_strbuf_append_len(out, (const char *)b, 8);
}

static bool valid_id(uint32_t id) {
  return id != 0 && id < 0x80000000u;
}

static int bad_field(kube_error_t *err, const char *what) {
  return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                        "spdy: cannot encode frame: %s", what);
}

KUBE_EXPORT int kube_spdy_frame_encode(kube_spdy_zlib_t *z,
                                       const kube_spdy_frame_t *f,
                                       kube_strbuf_t *out, kube_error_t *err) {
  cleanup_strbuf kube_strbuf_t block = KUBE_STRBUF_INIT;
  switch (f->type) {
  case KUBE_SPDY_DATA: {
    if (!valid_id(f->stream_id) || f->len > SPDY_MAX_LEN)
      return bad_field(err, "DATA needs a stream id and <= 16 MiB");
    uint8_t b[8];
    stream_put_be32(b, f->stream_id);
    stream_put_be32(b + 4, (uint32_t)f->flags << 24 | (uint32_t)f->len);
    kube_strbuf_append_len(out, (const char *)b, 8);
    if (f->len)
      kube_strbuf_append_len(out, (const char *)f->data, f->len);
    break;
  }
  case KUBE_SPDY_SYN_STREAM:
  case KUBE_SPDY_SYN_REPLY:
  case KUBE_SPDY_HEADERS: {
    if (!valid_id(f->stream_id))
      return bad_field(err, "stream id must be 1..2^31-1");
    if (kube_spdy_headers_encode(z, f->headers, f->n_headers, &block, err) < 0)
      return -1;
    bool syn = f->type == KUBE_SPDY_SYN_STREAM;
    put_ctrl(out, (uint16_t)f->type, f->flags,
             (uint32_t)block.len + (syn ? 10 : 4));
    put_u32(out, f->stream_id);
    if (syn) {
      put_u32(out, f->assoc_id & 0x7fffffffu);
      uint8_t ps[2] = {(uint8_t)((f->priority & 7) << 5), f->slot};
      kube_strbuf_append_len(out, (const char *)ps, 2);
    }
    kube_strbuf_append_len(out, block.data ? block.data : "", block.len);
    break;
  }
  case KUBE_SPDY_RST_STREAM:
    if (!valid_id(f->stream_id) || f->status == 0)
      return bad_field(err, "RST_STREAM needs a stream id and a status");
    put_ctrl(out, KUBE_SPDY_RST_STREAM, 0, 8);
    put_u32(out, f->stream_id);
    put_u32(out, f->status);
    break;
  case KUBE_SPDY_SETTINGS:
    put_ctrl(out, KUBE_SPDY_SETTINGS, f->flags,
             4 + 8 * (uint32_t)f->n_settings);
    put_u32(out, (uint32_t)f->n_settings);
    for (size_t i = 0; i < f->n_settings; i++) {
      put_u32(out, (uint32_t)f->settings[i].flags << 24 |
                       (f->settings[i].id & 0xffffffu));
      put_u32(out, f->settings[i].value);
    }
    break;
  case KUBE_SPDY_PING:
    put_ctrl(out, KUBE_SPDY_PING, 0, 4);
    put_u32(out, f->value);
    break;
  case KUBE_SPDY_GOAWAY:
    put_ctrl(out, KUBE_SPDY_GOAWAY, 0, 8);
    put_u32(out, f->stream_id & 0x7fffffffu);
    put_u32(out, f->status);
    break;
  case KUBE_SPDY_WINDOW_UPDATE:
    if (f->value == 0 || f->value > 0x7fffffffu)
      return bad_field(err, "WINDOW_UPDATE delta must be 1..2^31-1");
    put_ctrl(out, KUBE_SPDY_WINDOW_UPDATE, 0, 8);
    put_u32(out, f->stream_id & 0x7fffffffu);
    put_u32(out, f->value);
    break;
  default:
    return bad_field(err, "unknown frame type");
  }
  return out->oom ? kube_make_oom(err) : 0;
}

KUBE_EXPORT void kube_spdy_frame_clear(kube_spdy_frame_t *f) {
  if (!f)
    return;
  kube_spdy_headers_free(f->headers, f->n_headers);
  free(f->settings);
  memset(f, 0, sizeof *f);
}

static int malformed(kube_error_t *err, const char *what) {
  return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                        "spdy: malformed %s frame", what);
}

/* Parse the payload p[0..len) of a control frame into f. */
static int decode_control(kube_spdy_zlib_t *z, const uint8_t *p, size_t len,
                          kube_spdy_frame_t *f, kube_error_t *err) {
  switch (f->raw_type) {
  case KUBE_SPDY_SYN_STREAM:
  case KUBE_SPDY_SYN_REPLY:
  case KUBE_SPDY_HEADERS: {
    static const char *const names[] = {
        "", "SYN_STREAM", "SYN_REPLY", "", "", "", "", "", "HEADERS"};
    bool syn = f->raw_type == KUBE_SPDY_SYN_STREAM;
    size_t fixed = syn ? 10 : 4;
    if (len < fixed)
      return malformed(err, names[f->raw_type]);
    f->type = (kube_spdy_type_t)f->raw_type;
    f->stream_id = stream_be32(p) & 0x7fffffffu;
    if (syn) {
      f->assoc_id = stream_be32(p + 4) & 0x7fffffffu;
      f->priority = p[8] >> 5;
      f->slot = p[9];
    }
    if (f->stream_id == 0)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "spdy: %s frame for stream 0", names[f->raw_type]);
    return kube_spdy_headers_decode(z, p + fixed, len - fixed, &f->headers,
                                    &f->n_headers, err);
  }
  case KUBE_SPDY_RST_STREAM:
    if (len != 8)
      return malformed(err, "RST_STREAM");
    f->type = KUBE_SPDY_RST_STREAM;
    f->stream_id = stream_be32(p) & 0x7fffffffu;
    f->status = stream_be32(p + 4);
    if (f->stream_id == 0 || f->status == 0)
      return malformed(err, "RST_STREAM");
    return 0;
  case KUBE_SPDY_SETTINGS: {
    if (len < 4)
      return malformed(err, "SETTINGS");
    uint32_t n = stream_be32(p);
    if ((size_t)n * 8 != len - 4)
      return malformed(err, "SETTINGS");
    f->type = KUBE_SPDY_SETTINGS;
    f->settings = calloc(n ? n : 1, sizeof *f->settings);
    if (!f->settings)
      return kube_make_oom(err);
    f->n_settings = n;
    for (uint32_t i = 0; i < n; i++) {
      uint32_t fi = stream_be32(p + 4 + 8 * i);
      f->settings[i].flags = (uint8_t)(fi >> 24);
      f->settings[i].id = fi & 0xffffffu;
      f->settings[i].value = stream_be32(p + 8 + 8 * i);
    }
    return 0;
  }
  case KUBE_SPDY_PING:
    if (len != 4)
      return malformed(err, "PING");
    f->type = KUBE_SPDY_PING;
    f->value = stream_be32(p);
    return 0;
  case KUBE_SPDY_GOAWAY:
    if (len != 8)
      return malformed(err, "GOAWAY");
    f->type = KUBE_SPDY_GOAWAY;
    f->stream_id = stream_be32(p) & 0x7fffffffu;
    f->status = stream_be32(p + 4);
    return 0;
  case KUBE_SPDY_WINDOW_UPDATE:
    if (len != 8)
      return malformed(err, "WINDOW_UPDATE");
    f->type = KUBE_SPDY_WINDOW_UPDATE;
    f->stream_id = stream_be32(p) & 0x7fffffffu;
    f->value = stream_be32(p + 4) & 0x7fffffffu;
    if (f->value == 0)
      return malformed(err, "WINDOW_UPDATE");
    return 0;
  default:
    /* Unknown control frames (CREDENTIAL, future types) are skipped. */
    f->type = KUBE_SPDY_UNKNOWN;
    return 0;
  }
}

KUBE_EXPORT int kube_spdy_frame_decode(kube_spdy_zlib_t *z, const uint8_t *buf,
                                       size_t len, size_t max_frame,
                                       kube_spdy_frame_t *f, size_t *consumed,
                                       kube_error_t *err) {
  memset(f, 0, sizeof *f);
  if (len < 8)
    return 0;
  if (!max_frame)
    max_frame = SPDY_DEFAULT_MAX_FRAME;
  uint32_t w0 = stream_be32(buf), w1 = stream_be32(buf + 4);
  size_t plen = w1 & SPDY_MAX_LEN;
  f->flags = (uint8_t)(w1 >> 24);
  if (plen > max_frame)
    return kube_error_set(err, KUBE_REASON_TOO_LARGE, 0,
                          "spdy: frame of %zu bytes exceeds the limit of %zu",
                          plen, max_frame);
  bool control = w0 & 0x80000000u;
  if (control) {
    uint16_t version = (w0 >> 16) & 0x7fff;
    if (version != SPDY_VERSION)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "spdy: unsupported version %u", version);
  }
  if (len - 8 < plen)
    return 0;
  const uint8_t *p = buf + 8;
  if (!control) {
    f->type = KUBE_SPDY_DATA;
    f->stream_id = w0 & 0x7fffffffu;
    if (f->stream_id == 0)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "spdy: DATA frame for stream 0");
    f->data = p;
    f->len = plen;
  } else {
    f->raw_type = w0 & 0xffff;
    if (decode_control(z, p, plen, f, err) < 0) {
      kube_spdy_frame_clear(f);
      return -1;
    }
  }
  *consumed = 8 + plen;
  return 1;
}
