/* SPDX-License-Identifier: Apache-2.0 */
/*
 * WebSocket (RFC 6455) pieces without state: the upgrade handshake (key,
 * accept value, subprotocol choice, response check), UTF-8 validation and
 * the frame codec.
 */
#include <openssl/evp.h>

#include "stream/internal.h"

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

KUBE_EXPORT int kube_ws_accept_key(const char *key, char *out, size_t len,
                                   kube_error_t *err) {
  if (!key || !out || len < KUBE_WS_ACCEPT_LEN)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "websocket: no key or accept buffer too small");
  cleanup_strbuf kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, key);
  kube_strbuf_append(&sb, ws_guid);
  if (sb.oom)
    return kube_make_oom(err);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (!EVP_Digest(sb.data, sb.len, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
    return kube_make_error(err, 0, "websocket: SHA-1 failed");
  cleanup_free char *b64 = kube_base64_encode(md, mdlen);
  if (!b64)
    return kube_make_oom(err);
  memcpy(out, b64, KUBE_WS_ACCEPT_LEN); /* 28 characters + NUL */
  return 0;
}

KUBE_EXPORT int kube_ws_client_key(char *key, size_t len, kube_error_t *err) {
  uint8_t raw[16];
  if (!key || len < KUBE_WS_KEY_LEN)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "websocket: key buffer too small");
  if (stream_random(raw, sizeof raw, err) < 0)
    return -1;
  cleanup_free char *b64 = kube_base64_encode(raw, sizeof raw);
  if (!b64)
    return kube_make_oom(err);
  memcpy(key, b64, KUBE_WS_KEY_LEN); /* 24 characters + NUL */
  return 0;
}

KUBE_EXPORT bool kube_ws_is_upgrade(const kube_ws_request_t *req) {
  return req && req->upgrade && stream_has_token(req->upgrade, "websocket") &&
         stream_has_token(req->connection, "upgrade");
}

KUBE_EXPORT int kube_ws_check_request(const kube_ws_request_t *req,
                                      char *accept, size_t accept_len,
                                      kube_error_t *err) {
  if (!req || !req->method || strcmp(req->method, "GET") != 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "websocket: the upgrade request must be a GET");
  if (!kube_ws_is_upgrade(req))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "websocket: missing \"Upgrade: websocket\" or "
                          "\"Connection: Upgrade\" header");
  if (!req->version || !stream_list_contains(req->version, "13"))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "websocket: unsupported Sec-WebSocket-Version %s "
                          "(this server speaks 13)",
                          req->version ? req->version : "(none)");
  kube_error_t e = KUBE_ERROR_INIT;
  size_t n = 0;
  unsigned char *raw =
      req->key ? kube_base64_decode(req->key, strlen(req->key), &n, &e) : NULL;
  kube_error_clear(&e);
  free(raw);
  if (!raw || n != 16)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "websocket: Sec-WebSocket-Key must be the base64 "
                          "of 16 bytes");
  return kube_ws_accept_key(req->key, accept, accept_len, err);
}

KUBE_EXPORT const char *kube_ws_select_protocol(const char *offered,
                                                const char *const *server) {
  bool none = true;
  for (const char *p = offered; p && *p; p++)
    if (*p != ' ' && *p != ',' && *p != '\t')
      none = false;
  for (size_t i = 0; server && server[i]; i++) {
    if (server[i][0] == '\0' ? none : stream_list_contains(offered, server[i]))
      return server[i];
  }
  return NULL;
}

KUBE_EXPORT int kube_ws_check_response(int status, const char *upgrade,
                                       const char *connection,
                                       const char *accept, const char *key,
                                       const char *protocol,
                                       const char *offered, kube_error_t *err) {
  if (status != 101)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "websocket: upgrade refused with HTTP status %d",
                          status);
  if (!stream_has_token(upgrade, "websocket") ||
      !stream_has_token(connection, "upgrade"))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "websocket: response lacks the upgrade headers");
  char want[KUBE_WS_ACCEPT_LEN];
  if (kube_ws_accept_key(key, want, sizeof want, err) < 0)
    return -1;
  if (!accept || strcmp(accept, want) != 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "websocket: wrong Sec-WebSocket-Accept");
  if (protocol && *protocol && !stream_list_contains(offered, protocol))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "websocket: server chose subprotocol %s, which "
                          "was not offered",
                          protocol);
  return 0;
}

/* Table-free UTF-8 check after RFC 3629 §4 (the byte ranges of each
 * sequence length rule out overlongs and surrogates). */
KUBE_EXPORT bool kube_utf8_valid(const void *buf, size_t len) {
  const uint8_t *s = buf;
  size_t i = 0;
  while (i < len) {
    uint8_t c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
      n = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0)
        lo = 0xA0;
      else if (c == 0xED)
        hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0)
        lo = 0x90;
      else if (c == 0xF4)
        hi = 0x8F;
    } else
      return false;
    if (len - i - 1 < n)
      return false;
    if (s[i + 1] < lo || s[i + 1] > hi)
      return false;
    for (size_t k = 2; k <= n; k++)
      if ((s[i + k] & 0xC0) != 0x80)
        return false;
    i += n + 1;
  }
  return true;
}

static bool is_control(unsigned op) {
  return op & 0x8;
}

static bool known_opcode(unsigned op) {
  return op <= 2 || (op >= 8 && op <= 10);
}

KUBE_EXPORT int kube_ws_frame_encode(kube_strbuf_t *out, kube_ws_opcode_t op,
                                     bool fin, const void *payload, size_t len,
                                     const uint8_t *mask, kube_error_t *err) {
  if (!known_opcode(op))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "websocket: unknown opcode %d", (int)op);
  if (is_control(op) && (!fin || len > 125))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "websocket: control frames must be final and at "
                          "most 125 bytes");
  uint8_t h[14];
  size_t hl = 2;
  h[0] = (uint8_t)((fin ? 0x80 : 0) | op);
  uint8_t m = mask ? 0x80 : 0;
  if (len < 126) {
    h[1] = m | (uint8_t)len;
  } else if (len <= 0xffff) {
    h[1] = m | 126;
    h[2] = (uint8_t)(len >> 8);
    h[3] = (uint8_t)len;
    hl = 4;
  } else {
    h[1] = m | 127;
    for (int i = 0; i < 8; i++)
      h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    hl = 10;
  }
  if (mask) {
    memcpy(h + hl, mask, 4);
    hl += 4;
  }
  size_t at = out->len;
  kube_strbuf_append_len(out, (const char *)h, hl);
  if (len)
    kube_strbuf_append_len(out, payload, len);
  if (out->oom)
    return kube_make_oom(err);
  if (mask) {
    uint8_t *p = (uint8_t *)out->data + at + hl;
    for (size_t i = 0; i < len; i++)
      p[i] ^= mask[i & 3];
  }
  return 0;
}

KUBE_EXPORT int kube_ws_frame_decode(uint8_t *buf, size_t len,
                                     kube_ws_role_t role, size_t max_payload,
                                     kube_ws_frame_t *f, size_t *consumed,
                                     kube_error_t *err) {
  if (len < 2)
    return 0;
  memset(f, 0, sizeof *f);
  uint8_t b0 = buf[0], b1 = buf[1];
  if (b0 & 0x70)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "websocket: reserved bits set (no extension was "
                          "negotiated)");
  unsigned op = b0 & 0x0f;
  if (!known_opcode(op))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "websocket: unknown opcode %u", op);
  f->fin = b0 & 0x80;
  f->opcode = (kube_ws_opcode_t)op;
  f->masked = b1 & 0x80;
  if (role == KUBE_WS_SERVER && !f->masked)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "websocket: client frames must be masked");
  if (role == KUBE_WS_CLIENT && f->masked)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "websocket: server frames must not be masked");
  uint64_t plen = b1 & 0x7f;
  size_t hl = 2;
  if (plen == 126) {
    if (len < 4)
      return 0;
    plen = (uint64_t)buf[2] << 8 | buf[3];
    hl = 4;
    if (plen < 126)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "websocket: non-minimal payload length");
  } else if (plen == 127) {
    if (len < 10)
      return 0;
    plen = 0;
    for (int i = 0; i < 8; i++)
      plen = plen << 8 | buf[2 + i];
    hl = 10;
    if (plen >> 63)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "websocket: payload length has the top bit set");
    if (plen <= 0xffff)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "websocket: non-minimal payload length");
  }
  if (is_control(op) && (!f->fin || plen > 125))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "websocket: fragmented or oversized control frame");
  if (plen > max_payload)
    return kube_error_set(err, KUBE_REASON_TOO_LARGE, 0,
                          "websocket: frame of %llu bytes exceeds the limit "
                          "of %zu",
                          (unsigned long long)plen, max_payload);
  if (f->masked) {
    if (len < hl + 4)
      return 0;
    memcpy(f->mask, buf + hl, 4);
    hl += 4;
  }
  if (len - hl < plen)
    return 0;
  uint8_t *p = buf + hl;
  if (f->masked)
    for (size_t i = 0; i < plen; i++)
      p[i] ^= f->mask[i & 3];
  f->payload = p;
  f->len = (size_t)plen;
  *consumed = hl + (size_t)plen;
  return 1;
}
