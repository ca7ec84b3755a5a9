/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A WebSocket connection after the handshake: reassembles fragmented
 * messages, answers pings, validates text and close frames and runs the
 * close handshake (RFC 6455 §5, §7).
 */
#include "stream/internal.h"

#define WS_DEFAULT_MAX_MESSAGE (64u << 20)

struct kube_ws {
  kube_ws_role_t role;
  kube_ws_callbacks_t cb;
  void *data;
  size_t max_message;
  stream_inbuf_t in;
  /* The message being reassembled (op 0: none). */
  kube_ws_opcode_t msg_op;
  kube_strbuf_t msg;
  bool close_sent;
  bool close_received;
  bool closed; /* `closed` reported */
  /* Masking keys come from a pool refilled from getrandom. */
  uint8_t pool[256];
  size_t pool_used;
};

KUBE_EXPORT kube_ws_t *kube_ws_new(kube_ws_role_t role,
                                   const kube_ws_callbacks_t *cb, void *data,
                                   size_t max_message, kube_error_t *err) {
  if (!cb || !cb->write) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "websocket: a write callback is required");
    return NULL;
  }
  kube_ws_t *ws = calloc(1, sizeof *ws);
  if (!ws) {
    kube_make_oom(err);
    return NULL;
  }
  ws->role = role;
  ws->cb = *cb;
  ws->data = data;
  ws->max_message = max_message ? max_message : WS_DEFAULT_MAX_MESSAGE;
  ws->pool_used = sizeof ws->pool;
  return ws;
}

KUBE_EXPORT void kube_ws_free(kube_ws_t *ws) {
  if (!ws)
    return;
  stream_inbuf_clear(&ws->in);
  kube_strbuf_clear(&ws->msg);
  free(ws);
}

KUBE_EXPORT bool kube_ws_is_closed(const kube_ws_t *ws) {
  return ws->closed;
}

KUBE_EXPORT bool kube_ws_close_sent(const kube_ws_t *ws) {
  return ws->close_sent;
}

static int next_mask(kube_ws_t *ws, uint8_t mask[4], kube_error_t *err) {
  if (ws->pool_used + 4 > sizeof ws->pool) {
    if (stream_random(ws->pool, sizeof ws->pool, err) < 0)
      return -1;
    ws->pool_used = 0;
  }
  memcpy(mask, ws->pool + ws->pool_used, 4);
  ws->pool_used += 4;
  return 0;
}

static int send_frame(kube_ws_t *ws, kube_ws_opcode_t op, const void *buf,
                      size_t len, kube_error_t *err) {
  uint8_t mask[4];
  if (ws->role == KUBE_WS_CLIENT && next_mask(ws, mask, err) < 0)
    return -1;
  cleanup_strbuf kube_strbuf_t out = KUBE_STRBUF_INIT;
  if (kube_ws_frame_encode(&out, op, true, buf, len,
                           ws->role == KUBE_WS_CLIENT ? mask : NULL, err) < 0)
    return -1;
  ws->cb.write(ws->data, out.data, out.len);
  return 0;
}

static void report_closed(kube_ws_t *ws, int code, const char *reason,
                          const kube_error_t *err) {
  if (ws->closed)
    return;
  ws->closed = true;
  if (ws->cb.closed)
    ws->cb.closed(ws->data, code, reason ? reason : "", err);
}

static int send_close(kube_ws_t *ws, int code, const char *reason,
                      kube_error_t *err) {
  uint8_t p[125];
  size_t n = 0;
  if (code) {
    p[0] = (uint8_t)(code >> 8);
    p[1] = (uint8_t)code;
    n = 2;
    size_t rl = reason ? strlen(reason) : 0;
    if (rl > sizeof p - 2)
      rl = sizeof p - 2;
    if (rl)
      memcpy(p + 2, reason, rl);
    n += rl;
  }
  ws->close_sent = true;
  return send_frame(ws, KUBE_WS_CLOSE, p, n, err);
}

/* The peer broke the protocol: close with code, report, return -1 with
 * *err kept. */
static int fail(kube_ws_t *ws, int code, kube_error_t *err) {
  if (!ws->close_sent)
    send_close(ws, code, err && err->message ? err->message : NULL, NULL);
  report_closed(ws, code, err && err->message ? err->message : NULL, err);
  return -1;
}

static bool valid_close_code(unsigned c) {
  if (c >= 3000 && c <= 4999)
    return true;
  return c >= 1000 && c <= 1014 && c != 1004 && c != 1005 && c != 1006;
}

static int on_close_frame(kube_ws_t *ws, const kube_ws_frame_t *f,
                          kube_error_t *err) {
  int code = KUBE_WS_CLOSE_NO_STATUS;
  char reason[124] = "";
  if (f->len == 1) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "websocket: close frame with a 1-byte payload");
    return fail(ws, KUBE_WS_CLOSE_PROTOCOL_ERROR, err);
  }
  if (f->len >= 2) {
    code = f->payload[0] << 8 | f->payload[1];
    if (!valid_close_code((unsigned)code)) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "websocket: invalid close code %d", code);
      return fail(ws, KUBE_WS_CLOSE_PROTOCOL_ERROR, err);
    }
    if (!kube_utf8_valid(f->payload + 2, f->len - 2)) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "websocket: close reason is not UTF-8");
      return fail(ws, KUBE_WS_CLOSE_INVALID_DATA, err);
    }
    memcpy(reason, f->payload + 2, f->len - 2);
    reason[f->len - 2] = '\0';
  }
  ws->close_received = true;
  /* Echo the code, as RFC 6455 §5.5.1 suggests, unless we started. */
  if (!ws->close_sent)
    send_close(ws, code == KUBE_WS_CLOSE_NO_STATUS ? 0 : code, NULL, NULL);
  report_closed(ws, code, reason, NULL);
  return 0;
}

static int deliver(kube_ws_t *ws, kube_ws_opcode_t op, const void *buf,
                   size_t len, kube_error_t *err) {
  if (op == KUBE_WS_TEXT && !kube_utf8_valid(buf, len)) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "websocket: text message is not valid UTF-8");
    return fail(ws, KUBE_WS_CLOSE_INVALID_DATA, err);
  }
  if (ws->cb.message)
    ws->cb.message(ws->data, op, buf, len);
  return 0;
}

static int on_frame(kube_ws_t *ws, const kube_ws_frame_t *f,
                    kube_error_t *err) {
  switch (f->opcode) {
  case KUBE_WS_PING:
    if (!ws->close_sent)
      return send_frame(ws, KUBE_WS_PONG, f->payload, f->len, err);
    return 0;
  case KUBE_WS_PONG:
    if (ws->cb.pong)
      ws->cb.pong(ws->data, f->payload, f->len);
    return 0;
  case KUBE_WS_CLOSE:
    return on_close_frame(ws, f, err);
  case KUBE_WS_CONTINUATION:
    if (!ws->msg_op) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "websocket: continuation frame without a message");
      return fail(ws, KUBE_WS_CLOSE_PROTOCOL_ERROR, err);
    }
    if (ws->msg.len + f->len > ws->max_message) {
      kube_error_set(err, KUBE_REASON_TOO_LARGE, 0,
                     "websocket: message exceeds %zu bytes", ws->max_message);
      return fail(ws, KUBE_WS_CLOSE_TOO_BIG, err);
    }
    kube_strbuf_append_len(&ws->msg, (const char *)f->payload, f->len);
    if (ws->msg.oom) {
      kube_make_oom(err);
      return fail(ws, KUBE_WS_CLOSE_INTERNAL, err);
    }
    if (f->fin) {
      kube_ws_opcode_t op = ws->msg_op;
      ws->msg_op = 0;
      int r =
          deliver(ws, op, ws->msg.data ? ws->msg.data : "", ws->msg.len, err);
      kube_strbuf_reset(&ws->msg);
      return r;
    }
    return 0;
  default: /* TEXT, BINARY */
    if (ws->msg_op) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "websocket: new message before the previous one ended");
      return fail(ws, KUBE_WS_CLOSE_PROTOCOL_ERROR, err);
    }
    if (f->fin)
      return deliver(ws, f->opcode, f->payload, f->len, err);
    ws->msg_op = f->opcode;
    kube_strbuf_reset(&ws->msg);
    kube_strbuf_append_len(&ws->msg, (const char *)f->payload, f->len);
    if (ws->msg.oom) {
      kube_make_oom(err);
      return fail(ws, KUBE_WS_CLOSE_INTERNAL, err);
    }
    return 0;
  }
}

KUBE_EXPORT int kube_ws_feed(kube_ws_t *ws, const void *buf, size_t len,
                             kube_error_t *err) {
  if (ws->closed || ws->close_received)
    return 0;
  if (stream_inbuf_append(&ws->in, buf, len, err) < 0)
    return fail(ws, KUBE_WS_CLOSE_INTERNAL, err);
  while (!ws->closed && !ws->close_received) {
    kube_ws_frame_t f;
    size_t used = 0;
    /* A fragment may not push the message past the limit either. */
    size_t room = ws->max_message - (ws->msg_op ? ws->msg.len : 0);
    int r = kube_ws_frame_decode(stream_inbuf_head(&ws->in),
                                 stream_inbuf_avail(&ws->in), ws->role, room,
                                 &f, &used, err);
    if (r == 0)
      break;
    if (r < 0)
      return fail(ws,
                  err && err->reason == KUBE_REASON_TOO_LARGE
                      ? KUBE_WS_CLOSE_TOO_BIG
                      : KUBE_WS_CLOSE_PROTOCOL_ERROR,
                  err);
    int rc = on_frame(ws, &f, err);
    stream_inbuf_consume(&ws->in, used);
    if (rc < 0)
      return -1;
  }
  return 0;
}

KUBE_EXPORT void kube_ws_eof(kube_ws_t *ws) {
  report_closed(ws, KUBE_WS_CLOSE_ABNORMAL, "connection closed", NULL);
}

static int check_open(kube_ws_t *ws, kube_error_t *err) {
  if (ws->closed || ws->close_sent)
    return kube_error_set(err, KUBE_REASON_GONE, EPIPE,
                          "websocket: connection is closing");
  return 0;
}

KUBE_EXPORT int kube_ws_send(kube_ws_t *ws, kube_ws_opcode_t op,
                             const void *buf, size_t len, kube_error_t *err) {
  if (check_open(ws, err) < 0)
    return -1;
  if (op != KUBE_WS_TEXT && op != KUBE_WS_BINARY)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "websocket: only text or binary messages");
  if (op == KUBE_WS_TEXT && !kube_utf8_valid(buf, len))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "websocket: text message is not valid UTF-8");
  return send_frame(ws, op, buf, len, err);
}

KUBE_EXPORT int kube_ws_ping(kube_ws_t *ws, const void *buf, size_t len,
                             kube_error_t *err) {
  if (check_open(ws, err) < 0)
    return -1;
  return send_frame(ws, KUBE_WS_PING, buf, len, err);
}

KUBE_EXPORT int kube_ws_close(kube_ws_t *ws, int code, const char *reason,
                              kube_error_t *err) {
  if (ws->closed || ws->close_sent)
    return 0;
  if (code && !valid_close_code((unsigned)code))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "websocket: invalid close code %d", code);
  if (reason && strlen(reason) > 123)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "websocket: close reason longer than 123 bytes");
  return send_close(ws, code, code ? reason : NULL, err);
}
