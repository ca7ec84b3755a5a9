/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the WebSocket decoder.  The first input byte picks
 * what reads the rest:
 *  0/1: the frame decoder as server/client; every accepted frame must
 *       re-encode to exactly the bytes it came from (lengths are minimal,
 *       the mask is kept), and a refused one must say why;
 *  2:   an exec session (v5) as server, fed in two chunks;
 *  3:   a port-forward session (v4, two ports) as server;
 *  4:   a base64 exec session (v4.base64) as server;
 *  5:   a WebSocket client session.
 */
#include "fuzz-stream.h"

static void decode_all(uint8_t *buf, size_t len, kube_ws_role_t role) {
  uint8_t *orig = malloc(len ? len : 1);
  if (!orig)
    return;
  memcpy(orig, buf, len);
  size_t off = 0;
  while (off < len) {
    kube_ws_frame_t f;
    size_t used = 0;
    kube_error_t err = KUBE_ERROR_INIT;
    int r = kube_ws_frame_decode(buf + off, len - off, role, 1 << 20, &f, &used,
                                 &err);
    if (r <= 0) {
      CHECK(r == 0 || kube_error_is_set(&err));
      CHECK(r == 0 || err.reason == KUBE_REASON_BAD_REQUEST ||
            err.reason == KUBE_REASON_TOO_LARGE);
      kube_error_clear(&err);
      break;
    }
    CHECK(used > 0 && used <= len - off);
    CHECK(f.len <= used);
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    CHECK(kube_ws_frame_encode(&sb, f.opcode, f.fin, f.payload, f.len,
                               f.masked ? f.mask : NULL, NULL) == 0);
    CHECK(sb.len == used);
    CHECK(memcmp(sb.data, orig + off, used) == 0);
    kube_strbuf_clear(&sb);
    off += used;
  }
  free(orig);
}

static void exec_session(const uint8_t *buf, size_t len, bool base64) {
  kube_stream_upgrade_t up = fuzz_upgrade(
      KUBE_STREAM_EXEC, KUBE_STREAM_WEBSOCKET, base64 ? 4 : 5, base64);
  kube_exec_streams_t o = {.use_stdin = true, .use_stdout = true, .tty = true};
  kube_exec_server_callbacks_t cb = {.version =
                                         KUBE_EXEC_SERVER_CALLBACKS_VERSION,
                                     .write = sink,
                                     .ready = ready,
                                     .stdin_data = data_cb,
                                     .stdin_eof = eof_cb,
                                     .resize = resize_cb,
                                     .done = done_cb};
  kube_exec_server_t *s = kube_exec_server_new(&up, &o, &cb, NULL, NULL);
  CHECK(s != NULL);
  CHECK(kube_exec_server_start(s, NULL) == 0);
  size_t half = len / 2;
  kube_exec_server_feed(s, buf, half, NULL);
  kube_exec_server_write_stdout(s, "out", 3, NULL);
  kube_exec_server_feed(s, buf + half, len - half, NULL);
  kube_exec_server_finish(s, 1, NULL, NULL);
  kube_exec_server_eof(s);
  kube_exec_server_free(s);
}

static int pf_open(void *d, kube_portforward_stream_t *st, uint16_t port,
                   const char *rid, void **user, kube_error_t *err) {
  (void)d, (void)st, (void)rid, (void)err;
  *user = NULL;
  return port == 2 ? kube_error_set(err, KUBE_REASON_FORBIDDEN, 0, "no") : 0;
}
static void pf_data(void *d, kube_portforward_stream_t *st, void *u,
                    const void *b, size_t n) {
  (void)d, (void)u;
  kube_portforward_stream_write(st, b, n, NULL);
}
static void pf_eof(void *d, kube_portforward_stream_t *st, void *u) {
  (void)d, (void)u;
  kube_portforward_stream_close_write(st, NULL);
}

static void pf_session(const uint8_t *buf, size_t len) {
  kube_stream_upgrade_t up =
      fuzz_upgrade(KUBE_STREAM_PORTFORWARD, KUBE_STREAM_WEBSOCKET, 4, false);
  const uint16_t ports[] = {1, 2, 3};
  kube_portforward_server_callbacks_t cb = {
      .version = KUBE_PORTFORWARD_SERVER_CALLBACKS_VERSION,
      .write = sink,
      .stream_open = pf_open,
      .stream_data = pf_data,
      .stream_eof = pf_eof,
      .done = done_cb};
  kube_portforward_server_t *s =
      kube_portforward_server_new(&up, ports, 3, &cb, NULL, NULL);
  CHECK(s != NULL);
  CHECK(kube_portforward_server_start(s, NULL) == 0);
  kube_portforward_server_feed(s, buf, len, NULL);
  kube_portforward_server_eof(s);
  kube_portforward_server_free(s);
}

static void msg_cb(void *d, kube_ws_opcode_t op, const void *b, size_t n) {
  (void)d;
  CHECK(op == KUBE_WS_TEXT || op == KUBE_WS_BINARY);
  CHECK(op != KUBE_WS_TEXT || kube_utf8_valid(b, n));
}

static void client_session(const uint8_t *buf, size_t len) {
  kube_ws_callbacks_t cb = {
      .version = KUBE_WS_CALLBACKS_VERSION, .write = sink, .message = msg_cb};
  kube_ws_t *ws = kube_ws_new(KUBE_WS_CLIENT, &cb, NULL, 4096, NULL);
  CHECK(ws != NULL);
  for (size_t off = 0; off < len; off += 7)
    kube_ws_feed(ws, buf + off, len - off < 7 ? len - off : 7, NULL);
  kube_ws_eof(ws);
  CHECK(kube_ws_is_closed(ws));
  kube_ws_free(ws);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  uint8_t mode = data[0] % 6;
  size_t len = size - 1;
  uint8_t *buf = malloc(len ? len : 1);
  if (!buf)
    return 0;
  memcpy(buf, data + 1, len);
  switch (mode) {
  case 0:
  case 1:
    decode_all(buf, len, mode == 0 ? KUBE_WS_SERVER : KUBE_WS_CLIENT);
    break;
  case 2:
  case 4:
    exec_session(buf, len, mode == 4);
    break;
  case 3:
    pf_session(buf, len);
    break;
  default:
    client_session(buf, len);
    break;
  }
  free(buf);
  return 0;
}
