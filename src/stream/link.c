/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The carrier under exec and port-forward sessions: a WebSocket whose
 * messages carry a channel byte (raw or base64, as wsstream encodes them),
 * a SPDY connection, or SPDY tunnelled in WebSocket binary messages (what
 * kubectl 1.30+ port-forward speaks: each WebSocket message is a run of
 * SPDY bytes, the SPDY framing ignores message boundaries).
 */
#include "stream/internal.h"

static void link_write(void *d, const void *buf, size_t len) {
  stream_link_t *l = d;
  l->write(l->write_data, buf, len);
}

void stream_link_report_closed(stream_link_t *l, const kube_error_t *err) {
  if (l->closed)
    return;
  l->closed = true;
  if (l->ops->closed)
    l->ops->closed(l->up, err);
}

/* A WebSocket message of the channel protocols. */
static void ws_channel_message(stream_link_t *l, kube_ws_opcode_t op,
                               const uint8_t *buf, size_t len) {
  if (len == 0)
    return; /* wsstream skips empty messages */
  if (!l->base64) {
    /* Clients send binary, but the Python client writes str data as text
     * frames; both carry the same channel layout. */
    if (l->ops->channel)
      l->ops->channel(l->up, buf[0], buf + 1, len - 1);
    return;
  }
  (void)op;
  uint8_t ch = (uint8_t)(buf[0] - '0');
  kube_error_t e = KUBE_ERROR_INIT;
  size_t n = 0;
  unsigned char *raw =
      len > 1 ? kube_base64_decode((const char *)buf + 1, len - 1, &n, &e)
              : NULL;
  if (len > 1 && !raw) {
    /* As wsstream: a frame that does not decode is logged and dropped. */
    log_debug("stream: dropping undecodable base64 frame: %s", e.message);
    kube_error_clear(&e);
    return;
  }
  if (l->ops->channel)
    l->ops->channel(l->up, ch, raw ? raw : (const uint8_t *)"", n);
  free(raw);
}

static void ws_message(void *d, kube_ws_opcode_t op, const void *buf,
                       size_t len) {
  stream_link_t *l = d;
  if (l->transport == KUBE_STREAM_SPDY_OVER_WEBSOCKET) {
    kube_error_t e = KUBE_ERROR_INIT;
    /* A SPDY protocol error reports itself through spdy_closed. */
    kube_spdy_feed(l->spdy, buf, len, &e);
    kube_error_clear(&e);
    return;
  }
  ws_channel_message(l, op, buf, len);
}

static void ws_closed(void *d, int code, const char *reason,
                      const kube_error_t *err) {
  stream_link_t *l = d;
  if (l->transport == KUBE_STREAM_SPDY_OVER_WEBSOCKET && l->spdy &&
      !kube_spdy_is_closed(l->spdy)) {
    /* Streams end first, then the link reports (from spdy_closed). */
    kube_spdy_eof(l->spdy);
  }
  if (err || code == KUBE_WS_CLOSE_NORMAL || code == KUBE_WS_CLOSE_GOING_AWAY ||
      code == KUBE_WS_CLOSE_NO_STATUS || kube_ws_close_sent(l->ws)) {
    stream_link_report_closed(l, err);
    return;
  }
  kube_error_t e = KUBE_ERROR_INIT;
  kube_error_set(&e, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                 "websocket closed: %d %s", code, reason ? reason : "");
  stream_link_report_closed(l, &e);
  kube_error_clear(&e);
}

static void spdy_write(void *d, const void *buf, size_t len) {
  stream_link_t *l = d;
  if (l->transport == KUBE_STREAM_SPDY_OVER_WEBSOCKET) {
    kube_error_t e = KUBE_ERROR_INIT;
    kube_ws_send(l->ws, KUBE_WS_BINARY, buf, len, &e);
    kube_error_clear(&e);
    return;
  }
  l->write(l->write_data, buf, len);
}

static int spdy_open(void *d, uint32_t id, const kube_spdy_header_t *h,
                     size_t n, bool fin) {
  stream_link_t *l = d;
  return l->ops->stream_open ? l->ops->stream_open(l->up, id, h, n, fin) : -1;
}

static void spdy_reply(void *d, uint32_t id, const kube_spdy_header_t *h,
                       size_t n) {
  stream_link_t *l = d;
  if (l->ops->stream_reply)
    l->ops->stream_reply(l->up, id);
}

static void spdy_data(void *d, uint32_t id, const void *buf, size_t len) {
  stream_link_t *l = d;
  if (l->ops->stream_data)
    l->ops->stream_data(l->up, id, buf, len);
}

static void spdy_fin(void *d, uint32_t id) {
  stream_link_t *l = d;
  if (l->ops->stream_fin)
    l->ops->stream_fin(l->up, id);
}

static void spdy_end(void *d, uint32_t id, uint32_t status) {
  stream_link_t *l = d;
  if (l->ops->stream_end)
    l->ops->stream_end(l->up, id, status);
}

static void spdy_closed(void *d, const kube_error_t *err) {
  stream_link_t *l = d;
  if (err && l->ws)
    kube_ws_close(l->ws, KUBE_WS_CLOSE_PROTOCOL_ERROR, "spdy protocol error",
                  NULL);
  /* Plain SPDY: EOF or a protocol error ends the link.  Tunnelled: only a
   * protocol error; otherwise the WebSocket's close finishes it. */
  if (l->transport == KUBE_STREAM_SPDY || err)
    stream_link_report_closed(l, err);
}

int stream_link_init(stream_link_t *l, const kube_stream_upgrade_t *u,
                     bool server, const stream_link_ops_t *ops, void *up,
                     void (*write)(void *data, const void *buf, size_t len),
                     void *write_data, kube_error_t *err) {
  memset(l, 0, sizeof *l);
  if (!write)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "stream: a write callback is required");
  l->transport = u->transport;
  l->base64 = u->base64;
  l->ops = ops;
  l->up = up;
  l->write = write;
  l->write_data = write_data;
  if (l->transport != KUBE_STREAM_SPDY) {
    kube_ws_callbacks_t cb = {.version = KUBE_WS_CALLBACKS_VERSION,
                              .write = link_write,
                              .message = ws_message,
                              .closed = ws_closed};
    l->ws =
        kube_ws_new(server ? KUBE_WS_SERVER : KUBE_WS_CLIENT, &cb, l, 0, err);
    if (!l->ws)
      return -1;
  }
  if (l->transport != KUBE_STREAM_WEBSOCKET) {
    kube_spdy_callbacks_t cb = {.version = KUBE_SPDY_CALLBACKS_VERSION,
                                .write = spdy_write,
                                .stream_open = spdy_open,
                                .stream_reply = spdy_reply,
                                .stream_data = spdy_data,
                                .stream_fin = spdy_fin,
                                .stream_end = spdy_end,
                                .closed = spdy_closed};
    kube_spdy_options_t o = {.struct_size = sizeof o, .server = server};
    l->spdy = kube_spdy_new(&o, &cb, l, err);
    if (!l->spdy) {
      stream_link_clear(l);
      return -1;
    }
  }
  return 0;
}

void stream_link_clear(stream_link_t *l) {
  kube_spdy_free(l->spdy);
  kube_ws_free(l->ws);
  l->spdy = NULL;
  l->ws = NULL;
}

int stream_link_feed(stream_link_t *l, const void *buf, size_t len,
                     kube_error_t *err) {
  if (l->ws)
    return kube_ws_feed(l->ws, buf, len, err);
  return kube_spdy_feed(l->spdy, buf, len, err);
}

void stream_link_eof(stream_link_t *l) {
  if (l->ws)
    kube_ws_eof(l->ws);
  else
    kube_spdy_eof(l->spdy);
}

int stream_link_send_channel(stream_link_t *l, uint8_t ch, const void *buf,
                             size_t len, kube_error_t *err) {
  cleanup_strbuf kube_strbuf_t m = KUBE_STRBUF_INIT;
  if (l->base64) {
    kube_strbuf_append_char(&m, (char)('0' + ch));
    kube_strbuf_append_base64(&m, buf, len);
  } else {
    kube_strbuf_append_char(&m, (char)ch);
    kube_strbuf_append_len(&m, buf, len);
  }
  if (m.oom)
    return kube_make_oom(err);
  return kube_ws_send(l->ws, l->base64 ? KUBE_WS_TEXT : KUBE_WS_BINARY, m.data,
                      m.len, err);
}

int stream_link_send_raw(stream_link_t *l, const uint8_t *buf, size_t len,
                         kube_error_t *err) {
  return kube_ws_send(l->ws, KUBE_WS_BINARY, buf, len, err);
}

int stream_link_close(stream_link_t *l, kube_error_t *err) {
  if (l->spdy && !kube_spdy_is_closed(l->spdy))
    kube_spdy_goaway(l->spdy, 0, NULL);
  if (l->ws) {
    if (kube_ws_is_closed(l->ws)) {
      stream_link_report_closed(l, NULL);
      return 0;
    }
    return kube_ws_close(l->ws, KUBE_WS_CLOSE_NORMAL, NULL, err);
  }
  /* Plain SPDY has no close handshake: after GOAWAY the connection can go
   * as soon as the written bytes are flushed. */
  stream_link_report_closed(l, NULL);
  return 0;
}

int stream_spdy_headers(kube_spdy_header_t *h, size_t max, size_t *n,
                        const char *const *kv) {
  size_t i = 0;
  for (; kv[2 * i] && i < max; i++) {
    h[i].name = (char *)kv[2 * i];
    h[i].value = (char *)kv[2 * i + 1];
    h[i].value_len = strlen(kv[2 * i + 1]);
  }
  *n = i;
  return 0;
}
