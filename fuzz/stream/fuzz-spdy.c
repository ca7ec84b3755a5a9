/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the SPDY/3.1 decoder.  The first input byte picks
 * what reads the rest:
 *  0: the frame decoder with one inflate stream; accepted DATA, PING,
 *     WINDOW_UPDATE and SETTINGS frames must re-encode to their bytes;
 *  1: a SPDY session as server (accepts and answers every stream, echoes
 *     data, pings back);
 *  2: an exec session (v4) as server;
 *  3: a port-forward session as server;
 *  4: a port-forward session tunnelled in WebSocket, as server.
 */
#include "fuzz-stream.h"

static void decode_all(const uint8_t *buf, size_t len) {
  kube_spdy_zlib_t *z = kube_spdy_zlib_new(false, NULL);
  CHECK(z != NULL);
  size_t off = 0;
  while (off < len) {
    kube_spdy_frame_t f;
    size_t used = 0;
    kube_error_t err = KUBE_ERROR_INIT;
    int r = kube_spdy_frame_decode(z, buf + off, len - off, 1 << 16, &f, &used,
                                   &err);
    if (r <= 0) {
      CHECK(r == 0 || kube_error_is_set(&err));
      kube_error_clear(&err);
      break;
    }
    CHECK(used >= 8 && used <= len - off);
    for (size_t i = 0; i < f.n_headers; i++)
      CHECK(f.headers[i].name[0] &&
            f.headers[i].value[f.headers[i].value_len] == 0);
    /* Frames without reserved bits or ignored flags re-encode exactly. */
    const uint8_t *p = buf + off;
    bool exact = f.type == KUBE_SPDY_DATA || f.type == KUBE_SPDY_SETTINGS ||
                 (f.type == KUBE_SPDY_PING && f.flags == 0) ||
                 (f.type == KUBE_SPDY_WINDOW_UPDATE && f.flags == 0 &&
                  !(p[8] & 0x80) && !(p[12] & 0x80));
    if (exact) {
      kube_strbuf_t sb = KUBE_STRBUF_INIT;
      if (kube_spdy_frame_encode(NULL, &f, &sb, NULL) == 0) {
        CHECK(sb.len == used);
        CHECK(memcmp(sb.data, p, used) == 0);
      }
      kube_strbuf_clear(&sb);
    }
    kube_spdy_frame_clear(&f);
    off += used;
  }
  kube_spdy_zlib_free(z);
}

static kube_spdy_t *g_spdy;

static int s_open(void *d, uint32_t id, const kube_spdy_header_t *h, size_t n,
                  bool fin) {
  (void)d, (void)fin;
  for (size_t i = 0; i < n; i++)
    CHECK(h[i].name != NULL && h[i].value != NULL);
  return id % 3 == 0 ? -1 : kube_spdy_reply(g_spdy, id, h, n, false, NULL);
}
static void s_data(void *d, uint32_t id, const void *b, size_t n) {
  (void)d;
  kube_spdy_send(g_spdy, id, b, n, false, NULL);
}
static void s_fin(void *d, uint32_t id) {
  (void)d;
  kube_spdy_send(g_spdy, id, NULL, 0, true, NULL);
}

static void spdy_session(const uint8_t *buf, size_t len, bool flow) {
  kube_spdy_options_t o = {
      .struct_size = sizeof o, .server = true, .flow_control = flow};
  kube_spdy_callbacks_t cb = {.version = KUBE_SPDY_CALLBACKS_VERSION,
                              .write = sink,
                              .stream_open = s_open,
                              .stream_data = s_data,
                              .stream_fin = s_fin};
  g_spdy = kube_spdy_new(&o, &cb, NULL, NULL);
  CHECK(g_spdy != NULL);
  size_t half = len / 3;
  kube_spdy_feed(g_spdy, buf, half, NULL);
  kube_spdy_feed(g_spdy, buf + half, len - half, NULL);
  kube_spdy_eof(g_spdy);
  CHECK(kube_spdy_stream_count(g_spdy) == 0);
  kube_spdy_free(g_spdy);
  g_spdy = NULL;
}

static void exec_session(const uint8_t *buf, size_t len) {
  kube_stream_upgrade_t up =
      fuzz_upgrade(KUBE_STREAM_EXEC, KUBE_STREAM_SPDY, 4, false);
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
  kube_exec_server_start(s, NULL);
  kube_exec_server_feed(s, buf, len, NULL);
  kube_exec_server_write_stdout(s, "x", 1, NULL);
  kube_exec_server_finish(s, 2, NULL, NULL);
  kube_exec_server_eof(s);
  kube_exec_server_free(s);
}

static int pf_open(void *d, kube_portforward_stream_t *st, uint16_t port,
                   const char *rid, void **user, kube_error_t *err) {
  (void)d, (void)rid;
  *user = NULL;
  if (port % 5 == 0)
    return kube_error_set(err, KUBE_REASON_FORBIDDEN, 0, "refused");
  if (port % 7 == 0)
    kube_portforward_stream_fail(st, "failed at once", NULL);
  return 0;
}
static void pf_data(void *d, kube_portforward_stream_t *st, void *u,
                    const void *b, size_t n) {
  (void)d, (void)u;
  kube_portforward_stream_write(st, b, n, NULL);
  if (n > 3)
    kube_portforward_stream_reset(st);
}
static void pf_eof(void *d, kube_portforward_stream_t *st, void *u) {
  (void)d, (void)u;
  kube_portforward_stream_close_write(st, NULL);
}

static void pf_session(const uint8_t *buf, size_t len, bool tunnel) {
  kube_stream_upgrade_t up = fuzz_upgrade(
      KUBE_STREAM_PORTFORWARD,
      tunnel ? KUBE_STREAM_SPDY_OVER_WEBSOCKET : KUBE_STREAM_SPDY, 1, false);
  kube_portforward_server_callbacks_t cb = {
      .version = KUBE_PORTFORWARD_SERVER_CALLBACKS_VERSION,
      .write = sink,
      .stream_open = pf_open,
      .stream_data = pf_data,
      .stream_eof = pf_eof,
      .done = done_cb};
  kube_portforward_server_t *s =
      kube_portforward_server_new(&up, NULL, 0, &cb, NULL, NULL);
  CHECK(s != NULL);
  kube_portforward_server_start(s, NULL);
  kube_portforward_server_feed(s, buf, len, NULL);
  kube_portforward_server_eof(s);
  kube_portforward_server_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  const uint8_t *buf = data + 1;
  size_t len = size - 1;
  switch (data[0] % 6) {
  case 0:
    decode_all(buf, len);
    break;
  case 1:
    spdy_session(buf, len, false);
    break;
  case 5:
    spdy_session(buf, len, true);
    break;
  case 2:
    exec_session(buf, len);
    break;
  case 3:
    pf_session(buf, len, false);
    break;
  default:
    pf_session(buf, len, true);
    break;
  }
  return 0;
}
