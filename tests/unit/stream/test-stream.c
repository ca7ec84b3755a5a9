/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Codec tests with known vectors: the RFC 6455 handshake and §5.7 frames,
 * SPDY/3.1 frames built by hand from the draft, header blocks checked
 * against an independent zlib stream primed with the SPDY dictionary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <zlib.h>

#include "stream/internal.h"
#include "test-stream.h"

/* ---- WebSocket --------------------------------------------------------- */

static void test_ws_accept(void **state) {
  char acc[KUBE_WS_ACCEPT_LEN];
  /* RFC 6455 §1.3 */
  assert_int_equal(
      kube_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", acc, sizeof acc, NULL), 0);
  assert_string_equal(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  char key[KUBE_WS_KEY_LEN], key2[KUBE_WS_KEY_LEN];
  assert_int_equal(kube_ws_client_key(key, sizeof key, NULL), 0);
  assert_int_equal(kube_ws_client_key(key2, sizeof key2, NULL), 0);
  assert_int_equal(strlen(key), 24);
  assert_string_not_equal(key, key2);

  kube_ws_request_t req = {.method = "GET",
                           .upgrade = "WebSocket",
                           .connection = "keep-alive, Upgrade",
                           .key = "dGhlIHNhbXBsZSBub25jZQ==",
                           .version = "13"};
  assert_true(kube_ws_is_upgrade(&req));
  assert_int_equal(kube_ws_check_request(&req, acc, sizeof acc, NULL), 0);
  assert_string_equal(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  kube_error_t err = KUBE_ERROR_INIT;
  req.version = "8";
  assert_int_equal(kube_ws_check_request(&req, acc, sizeof acc, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  assert_non_null(strstr(err.message, "13"));
  req.version = "13";
  req.key = "c2hvcnQ=";
  assert_int_equal(kube_ws_check_request(&req, acc, sizeof acc, &err), -1);
  req.key = "dGhlIHNhbXBsZSBub25jZQ==";
  req.method = "POST";
  assert_int_equal(kube_ws_check_request(&req, acc, sizeof acc, &err), -1);
  kube_error_clear(&err);

  /* The client's check of the answer. */
  assert_int_equal(
      kube_ws_check_response(101, "websocket", "Upgrade",
                             "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
                             "dGhlIHNhbXBsZSBub25jZQ==", "v4.channel.k8s.io",
                             "v5.channel.k8s.io, v4.channel.k8s.io", NULL),
      0);
  assert_int_equal(kube_ws_check_response(101, "websocket", "Upgrade", "bad",
                                          "dGhlIHNhbXBsZSBub25jZQ==", NULL,
                                          NULL, NULL),
                   -1);
  assert_int_equal(kube_ws_check_response(101, "websocket", "Upgrade",
                                          "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
                                          "dGhlIHNhbXBsZSBub25jZQ==", "other",
                                          "v4.channel.k8s.io", NULL),
                   -1);
  assert_int_equal(
      kube_ws_check_response(403, NULL, NULL, NULL, "x", NULL, NULL, NULL), -1);
}

static void test_ws_select_protocol(void **state) {
  static const char *const server[] = {"v5.channel.k8s.io", "v4.channel.k8s.io",
                                       "", NULL};
  assert_string_equal(kube_ws_select_protocol("v4.channel.k8s.io, "
                                              "v5.channel.k8s.io",
                                              server),
                      "v5.channel.k8s.io");
  assert_string_equal(kube_ws_select_protocol(
                          "base64.channel.k8s.io,v4.channel.k8s.io", server),
                      "v4.channel.k8s.io");
  assert_string_equal(kube_ws_select_protocol(NULL, server), "");
  assert_string_equal(kube_ws_select_protocol(" ", server), "");
  assert_null(kube_ws_select_protocol("v6.channel.k8s.io", server));
  /* No substring matches. */
  assert_null(kube_ws_select_protocol("4.channel.k8s.io", server));
}

static void test_utf8(void **state) {
  assert_true(kube_utf8_valid("", 0));
  assert_true(kube_utf8_valid("hello", 5));
  assert_true(kube_utf8_valid("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5",
                              11));                     /* κόσμε */
  assert_true(kube_utf8_valid("\xf4\x8f\xbf\xbf", 4));  /* U+10FFFF */
  assert_false(kube_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
  assert_false(kube_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
  assert_false(kube_utf8_valid("\xc0\xaf", 2));         /* overlong */
  assert_false(kube_utf8_valid("\xe0\x80\xaf", 3));     /* overlong */
  assert_false(kube_utf8_valid("\xce\xba\xe1", 3));     /* truncated */
  assert_false(kube_utf8_valid("\xff", 1));
}

/* RFC 6455 §5.7 examples. */
static const uint8_t hello_unmasked[] = {0x81, 0x05, 0x48, 0x65,
                                         0x6c, 0x6c, 0x6f};
static const uint8_t hello_masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                       0x7f, 0x9f, 0x4d, 0x51, 0x58};
static const uint8_t hel_lo[] = {0x01, 0x03, 0x48, 0x65, 0x6c,
                                 0x80, 0x02, 0x6c, 0x6f};
static const uint8_t ping_hello[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
static const uint8_t pong_masked[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                      0x7f, 0x9f, 0x4d, 0x51, 0x58};
static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};

static void test_ws_frame_vectors(void **state) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  assert_int_equal(
      kube_ws_frame_encode(&sb, KUBE_WS_TEXT, true, "Hello", 5, NULL, NULL), 0);
  assert_int_equal(sb.len, sizeof hello_unmasked);
  assert_memory_equal(sb.data, hello_unmasked, sb.len);
  kube_strbuf_reset(&sb);
  assert_int_equal(
      kube_ws_frame_encode(&sb, KUBE_WS_TEXT, true, "Hello", 5, mask, NULL), 0);
  assert_memory_equal(sb.data, hello_masked, sizeof hello_masked);
  kube_strbuf_reset(&sb);
  kube_ws_frame_encode(&sb, KUBE_WS_TEXT, false, "Hel", 3, NULL, NULL);
  kube_ws_frame_encode(&sb, KUBE_WS_CONTINUATION, true, "lo", 2, NULL, NULL);
  assert_memory_equal(sb.data, hel_lo, sizeof hel_lo);
  kube_strbuf_reset(&sb);
  kube_ws_frame_encode(&sb, KUBE_WS_PONG, true, "Hello", 5, mask, NULL);
  assert_memory_equal(sb.data, pong_masked, sizeof pong_masked);

  /* 256 bytes and 64 KiB: 16- and 64-bit lengths. */
  uint8_t *big = calloc(1, 65536);
  kube_strbuf_reset(&sb);
  kube_ws_frame_encode(&sb, KUBE_WS_BINARY, true, big, 256, NULL, NULL);
  const uint8_t h256[] = {0x82, 0x7e, 0x01, 0x00};
  assert_int_equal(sb.len, 4 + 256);
  assert_memory_equal(sb.data, h256, 4);
  kube_strbuf_reset(&sb);
  kube_ws_frame_encode(&sb, KUBE_WS_BINARY, true, big, 65536, NULL, NULL);
  const uint8_t h64k[] = {0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0};
  assert_int_equal(sb.len, 10 + 65536);
  assert_memory_equal(sb.data, h64k, 10);

  /* Decode what we encoded (client role reads unmasked frames). */
  kube_ws_frame_t f;
  size_t used = 0;
  assert_int_equal(kube_ws_frame_decode((uint8_t *)sb.data, sb.len - 1,
                                        KUBE_WS_CLIENT, 1 << 20, &f, &used,
                                        NULL),
                   0);
  assert_int_equal(kube_ws_frame_decode((uint8_t *)sb.data, sb.len,
                                        KUBE_WS_CLIENT, 1 << 20, &f, &used,
                                        NULL),
                   1);
  assert_int_equal(used, sb.len);
  assert_int_equal(f.len, 65536);
  assert_int_equal(f.opcode, KUBE_WS_BINARY);
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_ws_frame_decode((uint8_t *)sb.data, sb.len,
                                        KUBE_WS_CLIENT, 1000, &f, &used, &err),
                   -1);
  assert_int_equal(err.reason, KUBE_REASON_TOO_LARGE);
  kube_error_clear(&err);
  free(big);

  /* The masked example decodes to "Hello" for a server. */
  uint8_t buf[sizeof hello_masked];
  memcpy(buf, hello_masked, sizeof buf);
  assert_int_equal(kube_ws_frame_decode(buf, sizeof buf, KUBE_WS_SERVER, 100,
                                        &f, &used, NULL),
                   1);
  assert_true(f.fin && f.masked);
  assert_int_equal(f.len, 5);
  assert_memory_equal(f.payload, "Hello", 5);
  /* ... but is refused by a client, and unmasked frames by a server. */
  memcpy(buf, hello_masked, sizeof buf);
  assert_int_equal(kube_ws_frame_decode(buf, sizeof buf, KUBE_WS_CLIENT, 100,
                                        &f, &used, &err),
                   -1);
  kube_error_clear(&err);
  memcpy(buf, hello_unmasked, sizeof hello_unmasked);
  assert_int_equal(kube_ws_frame_decode(buf, sizeof hello_unmasked,
                                        KUBE_WS_SERVER, 100, &f, &used, &err),
                   -1);
  kube_error_clear(&err);

  /* Protocol violations. */
  const uint8_t rsv[] = {0xc1, 0x00};
  const uint8_t opc[] = {0x83, 0x00};
  const uint8_t frag_ping[] = {0x09, 0x00};
  const uint8_t nonmin[] = {0x82, 0x7e, 0x00, 0x05, 1, 2, 3, 4, 5};
  const uint8_t *bad[] = {rsv, opc, frag_ping, nonmin};
  const size_t badlen[] = {sizeof rsv, sizeof opc, sizeof frag_ping,
                           sizeof nonmin};
  for (size_t i = 0; i < 4; i++) {
    memcpy(buf, bad[i], badlen[i] > sizeof buf ? sizeof buf : badlen[i]);
    uint8_t tmp[16];
    memcpy(tmp, bad[i], badlen[i]);
    assert_int_equal(kube_ws_frame_decode(tmp, badlen[i], KUBE_WS_CLIENT, 100,
                                          &f, &used, &err),
                     -1);
    assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
    kube_error_clear(&err);
  }
  /* Control frames may not be long or fragmented on the way out either. */
  assert_int_equal(kube_ws_frame_encode(&sb, KUBE_WS_PING, true, big ? "" : "",
                                        126, NULL, &err),
                   -1);
  kube_error_clear(&err);
  kube_strbuf_clear(&sb);
}

/* A WebSocket session fed raw bytes, recording what it does. */
struct rec {
  kube_strbuf_t out;
  kube_strbuf_t msgs;
  int n_msgs;
  kube_ws_opcode_t last_op;
  int closed_code;
  bool closed;
};

static void rec_write(void *d, const void *buf, size_t len) {
  struct rec *r = d;
  kube_strbuf_append_len(&r->out, buf, len);
}
static void rec_message(void *d, kube_ws_opcode_t op, const void *buf,
                        size_t len) {
  struct rec *r = d;
  r->n_msgs++;
  r->last_op = op;
  kube_strbuf_append_len(&r->msgs, buf, len);
}
static void rec_closed(void *d, int code, const char *reason,
                       const kube_error_t *err) {
  struct rec *r = d;
  r->closed = true;
  r->closed_code = code;
}

static const kube_ws_callbacks_t rec_cb = {.version = KUBE_WS_CALLBACKS_VERSION,
                                           .write = rec_write,
                                           .message = rec_message,
                                           .closed = rec_closed};

static void test_ws_session(void **state) {
  struct rec r = {0};
  kube_ws_t *ws = kube_ws_new(KUBE_WS_CLIENT, &rec_cb, &r, 0, NULL);
  assert_non_null(ws);
  /* Fragmented "Hello" with a ping in between, fed one byte at a time. */
  uint8_t in[sizeof hel_lo + sizeof ping_hello];
  memcpy(in, hel_lo, 5);
  memcpy(in + 5, ping_hello, sizeof ping_hello);
  memcpy(in + 5 + sizeof ping_hello, hel_lo + 5, 4);
  for (size_t i = 0; i < sizeof in; i++)
    assert_int_equal(kube_ws_feed(ws, in + i, 1, NULL), 0);
  assert_int_equal(r.n_msgs, 1);
  assert_int_equal(r.last_op, KUBE_WS_TEXT);
  assert_int_equal(r.msgs.len, 5);
  assert_memory_equal(r.msgs.data, "Hello", 5);
  /* The pong went out masked, with the ping's payload. */
  assert_int_equal(r.out.len, 11);
  assert_int_equal((uint8_t)r.out.data[0], 0x8a);
  assert_int_equal((uint8_t)r.out.data[1], 0x85);
  for (int i = 0; i < 5; i++)
    assert_int_equal((uint8_t)(r.out.data[6 + i] ^ r.out.data[2 + i % 4]),
                     "Hello"[i]);
  /* Close from the server: echoed, reported. */
  const uint8_t close_frame[] = {0x88, 0x02, 0x03, 0xe8};
  kube_strbuf_reset(&r.out);
  assert_int_equal(kube_ws_feed(ws, close_frame, sizeof close_frame, NULL), 0);
  assert_true(r.closed);
  assert_int_equal(r.closed_code, 1000);
  assert_int_equal((uint8_t)r.out.data[0], 0x88);
  assert_true(kube_ws_is_closed(ws));
  assert_int_equal(kube_ws_send(ws, KUBE_WS_TEXT, "x", 1, NULL), -1);
  kube_ws_free(ws);
  kube_strbuf_clear(&r.out);
  kube_strbuf_clear(&r.msgs);

  /* A server gets invalid UTF-8: closes with 1007. */
  struct rec r2 = {0};
  ws = kube_ws_new(KUBE_WS_SERVER, &rec_cb, &r2, 16, NULL);
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_ws_frame_encode(&sb, KUBE_WS_TEXT, true, "\xc0\xaf", 2, mask, NULL);
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_ws_feed(ws, sb.data, sb.len, &err), -1);
  kube_error_clear(&err);
  assert_true(r2.closed);
  assert_int_equal(r2.closed_code, KUBE_WS_CLOSE_INVALID_DATA);
  assert_int_equal((uint8_t)r2.out.data[0], 0x88);
  assert_int_equal((uint8_t)r2.out.data[2] << 8 | (uint8_t)r2.out.data[3],
                   1007);
  kube_ws_free(ws);
  kube_strbuf_clear(&r2.out);
  kube_strbuf_clear(&r2.msgs);

  /* Too big after reassembly: 1009. */
  struct rec r3 = {0};
  ws = kube_ws_new(KUBE_WS_SERVER, &rec_cb, &r3, 16, NULL);
  kube_strbuf_reset(&sb);
  kube_ws_frame_encode(&sb, KUBE_WS_BINARY, false, "0123456789", 10, mask,
                       NULL);
  kube_ws_frame_encode(&sb, KUBE_WS_CONTINUATION, true, "0123456789", 10, mask,
                       NULL);
  assert_int_equal(kube_ws_feed(ws, sb.data, sb.len, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_TOO_LARGE);
  kube_error_clear(&err);
  assert_int_equal(r3.closed_code, KUBE_WS_CLOSE_TOO_BIG);
  assert_int_equal(r3.n_msgs, 0);
  kube_ws_free(ws);
  kube_strbuf_clear(&r3.out);
  kube_strbuf_clear(&r3.msgs);

  /* Our close, then the peer's answer. */
  struct rec r4 = {0};
  ws = kube_ws_new(KUBE_WS_SERVER, &rec_cb, &r4, 0, NULL);
  assert_int_equal(kube_ws_close(ws, 1000, "bye", NULL), 0);
  assert_false(r4.closed);
  assert_memory_equal(r4.out.data,
                      "\x88\x05\x03\xe8"
                      "bye",
                      7);
  kube_strbuf_reset(&sb);
  kube_ws_frame_encode(&sb, KUBE_WS_CLOSE, true, "\x03\xe8", 2, mask, NULL);
  assert_int_equal(kube_ws_feed(ws, sb.data, sb.len, NULL), 0);
  assert_true(r4.closed);
  assert_int_equal(r4.out.len, 7); /* no second close frame */
  kube_ws_free(ws);
  kube_strbuf_clear(&r4.out);
  kube_strbuf_clear(&r4.msgs);
  kube_strbuf_clear(&sb);
}

/* ---- SPDY -------------------------------------------------------------- */

static void test_spdy_dictionary(void **state) {
  /* The dictionary id a SPDY/3 peer finds in the zlib header. */
  assert_int_equal(sizeof stream_spdy_dictionary, 1423);
  assert_int_equal(
      adler32(1, stream_spdy_dictionary, sizeof stream_spdy_dictionary),
      0xe3c6a7c2u);
  /* It starts with "\0\0\0\7options" and ends with ",enq=0." as in the
   * draft. */
  assert_memory_equal(stream_spdy_dictionary, "\0\0\0\7options", 11);
  assert_memory_equal(stream_spdy_dictionary + 1423 - 7, ",enq=0.", 7);
}

static void expect_bytes(const kube_strbuf_t *sb, const uint8_t *want,
                         size_t n) {
  assert_int_equal(sb->len, n);
  assert_memory_equal(sb->data, want, n);
}

static void test_spdy_control_frames(void **state) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_spdy_frame_t f = {.type = KUBE_SPDY_PING, .value = 1};
  assert_int_equal(kube_spdy_frame_encode(NULL, &f, &sb, NULL), 0);
  const uint8_t ping[] = {0x80, 3, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1};
  expect_bytes(&sb, ping, sizeof ping);

  kube_strbuf_reset(&sb);
  f = (kube_spdy_frame_t){
      .type = KUBE_SPDY_RST_STREAM, .stream_id = 5, .status = KUBE_SPDY_CANCEL};
  kube_spdy_frame_encode(NULL, &f, &sb, NULL);
  const uint8_t rst[] = {0x80, 3, 0, 3, 0, 0, 0, 8, 0, 0, 0, 5, 0, 0, 0, 5};
  expect_bytes(&sb, rst, sizeof rst);

  kube_strbuf_reset(&sb);
  f = (kube_spdy_frame_t){.type = KUBE_SPDY_GOAWAY, .stream_id = 7};
  kube_spdy_frame_encode(NULL, &f, &sb, NULL);
  const uint8_t goaway[] = {0x80, 3, 0, 7, 0, 0, 0, 8, 0, 0, 0, 7, 0, 0, 0, 0};
  expect_bytes(&sb, goaway, sizeof goaway);

  kube_strbuf_reset(&sb);
  f = (kube_spdy_frame_t){
      .type = KUBE_SPDY_WINDOW_UPDATE, .stream_id = 3, .value = 0x10000};
  kube_spdy_frame_encode(NULL, &f, &sb, NULL);
  const uint8_t wu[] = {0x80, 3, 0, 9, 0, 0, 0, 8, 0, 0, 0, 3, 0, 1, 0, 0};
  expect_bytes(&sb, wu, sizeof wu);

  kube_strbuf_reset(&sb);
  kube_spdy_setting_t set = {.flags = 1, .id = 7, .value = 0x20000};
  f = (kube_spdy_frame_t){
      .type = KUBE_SPDY_SETTINGS, .settings = &set, .n_settings = 1};
  kube_spdy_frame_encode(NULL, &f, &sb, NULL);
  const uint8_t settings[] = {0x80, 3, 0, 4, 0, 0, 0, 12, 0, 0,
                              0,    1, 1, 0, 0, 7, 0, 2,  0, 0};
  expect_bytes(&sb, settings, sizeof settings);

  kube_strbuf_reset(&sb);
  f = (kube_spdy_frame_t){.type = KUBE_SPDY_DATA,
                          .stream_id = 1,
                          .flags = KUBE_SPDY_FLAG_FIN,
                          .data = (const uint8_t *)"hello",
                          .len = 5};
  kube_spdy_frame_encode(NULL, &f, &sb, NULL);
  const uint8_t data[] = {0, 0, 0, 1, 1, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'};
  expect_bytes(&sb, data, sizeof data);

  /* Decoding the hand-built bytes gives the fields back. */
  kube_spdy_frame_t d;
  size_t used;
  assert_int_equal(
      kube_spdy_frame_decode(NULL, data, sizeof data - 1, 0, &d, &used, NULL),
      0);
  assert_int_equal(
      kube_spdy_frame_decode(NULL, data, sizeof data, 0, &d, &used, NULL), 1);
  assert_int_equal(d.type, KUBE_SPDY_DATA);
  assert_int_equal(d.stream_id, 1);
  assert_int_equal(d.flags, KUBE_SPDY_FLAG_FIN);
  assert_int_equal(d.len, 5);
  assert_int_equal(used, sizeof data);
  assert_int_equal(kube_spdy_frame_decode(NULL, settings, sizeof settings, 0,
                                          &d, &used, NULL),
                   1);
  assert_int_equal(d.n_settings, 1);
  assert_int_equal(d.settings[0].id, 7);
  assert_int_equal(d.settings[0].flags, 1);
  assert_int_equal(d.settings[0].value, 0x20000);
  kube_spdy_frame_clear(&d);
  assert_int_equal(
      kube_spdy_frame_decode(NULL, rst, sizeof rst, 0, &d, &used, NULL), 1);
  assert_int_equal(d.type, KUBE_SPDY_RST_STREAM);
  assert_int_equal(d.status, KUBE_SPDY_CANCEL);
  assert_int_equal(
      kube_spdy_frame_decode(NULL, goaway, sizeof goaway, 0, &d, &used, NULL),
      1);
  assert_int_equal(d.type, KUBE_SPDY_GOAWAY);
  assert_int_equal(d.stream_id, 7);

  /* Malformed: version 2, RST of 4 bytes, DATA for stream 0, too big. */
  kube_error_t err = KUBE_ERROR_INIT;
  const uint8_t v2[] = {0x80, 2, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1};
  const uint8_t shortrst[] = {0x80, 3, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5};
  const uint8_t data0[] = {0, 0, 0, 0, 0, 0, 0, 0};
  assert_int_equal(
      kube_spdy_frame_decode(NULL, v2, sizeof v2, 0, &d, &used, &err), -1);
  kube_error_clear(&err);
  assert_int_equal(kube_spdy_frame_decode(NULL, shortrst, sizeof shortrst, 0,
                                          &d, &used, &err),
                   -1);
  kube_error_clear(&err);
  assert_int_equal(
      kube_spdy_frame_decode(NULL, data0, sizeof data0, 0, &d, &used, &err),
      -1);
  kube_error_clear(&err);
  assert_int_equal(
      kube_spdy_frame_decode(NULL, data, sizeof data, 4, &d, &used, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_TOO_LARGE);
  kube_error_clear(&err);
  /* Unknown control types are skipped whole. */
  const uint8_t cred[] = {0x80, 3, 0, 10, 0, 0, 0, 2, 0xaa, 0xbb};
  assert_int_equal(
      kube_spdy_frame_decode(NULL, cred, sizeof cred, 0, &d, &used, NULL), 1);
  assert_int_equal(d.type, KUBE_SPDY_UNKNOWN);
  assert_int_equal(used, sizeof cred);
  kube_strbuf_clear(&sb);
}

/* The raw (uncompressed) name/value block for streamtype=error, port=80. */
static const uint8_t raw_block[] = {
    0, 0, 0, 2,                                                    /* pairs */
    0, 0, 0, 10, 's', 't', 'r', 'e', 'a', 'm', 't', 'y', 'p', 'e', /* */
    0, 0, 0, 5,  'e', 'r', 'r', 'o', 'r',                          /* */
    0, 0, 0, 4,  'p', 'o', 'r', 't',                               /* */
    0, 0, 0, 2,  '8', '0'};

/* An independent deflate, as Go's zlib.NewWriterLevelDict does it. */
static size_t ref_deflate(z_stream *z, const uint8_t *in, size_t len,
                          uint8_t *out, size_t cap) {
  z->next_in = (Bytef *)in;
  z->avail_in = (uInt)len;
  z->next_out = out;
  z->avail_out = (uInt)cap;
  assert_int_equal(deflate(z, Z_SYNC_FLUSH), Z_OK);
  assert_int_equal(z->avail_in, 0);
  return cap - z->avail_out;
}

static void test_spdy_headers_zlib(void **state) {
  z_stream ref = {0};
  assert_int_equal(deflateInit(&ref, Z_BEST_COMPRESSION), Z_OK);
  assert_int_equal(deflateSetDictionary(&ref, stream_spdy_dictionary,
                                        sizeof stream_spdy_dictionary),
                   Z_OK);
  uint8_t comp[512];
  size_t clen =
      ref_deflate(&ref, raw_block, sizeof raw_block, comp, sizeof comp);
  /* A SYN_STREAM built by hand around it: stream 1, priority 0. */
  uint8_t frame[600] = {0x80, 3, 0, 1, 0, 0, 0, 0, 0,
                        0,    0, 1, 0, 0, 0, 0, 0, 0};
  stream_put_be32(frame + 4, (uint32_t)(10 + clen));
  memcpy(frame + 18, comp, clen);
  kube_spdy_zlib_t *inf = kube_spdy_zlib_new(false, NULL);
  kube_spdy_frame_t f;
  size_t used;
  assert_int_equal(
      kube_spdy_frame_decode(inf, frame, 18 + clen, 0, &f, &used, NULL), 1);
  assert_int_equal(f.type, KUBE_SPDY_SYN_STREAM);
  assert_int_equal(f.stream_id, 1);
  assert_int_equal(f.n_headers, 2);
  assert_string_equal(kube_spdy_header_get(f.headers, 2, "StreamType"),
                      "error");
  assert_string_equal(kube_spdy_header_get(f.headers, 2, "port"), "80");
  kube_spdy_frame_clear(&f);
  /* A second block on the same stream pair (zlib state carries over). */
  clen = ref_deflate(&ref, raw_block, sizeof raw_block, comp, sizeof comp);
  uint8_t hdrs[600] = {0x80, 3, 0, 8, 0, 0, 0, 0, 0, 0, 0, 3};
  stream_put_be32(hdrs + 4, (uint32_t)(4 + clen));
  memcpy(hdrs + 12, comp, clen);
  assert_int_equal(
      kube_spdy_frame_decode(inf, hdrs, 12 + clen, 0, &f, &used, NULL), 1);
  assert_int_equal(f.type, KUBE_SPDY_HEADERS);
  assert_int_equal(f.stream_id, 3);
  assert_string_equal(kube_spdy_header_get(f.headers, 2, "port"), "80");
  kube_spdy_frame_clear(&f);
  deflateEnd(&ref);
  kube_spdy_zlib_free(inf);

  /* Our encoder, read back by an independent inflate with the dictionary. */
  kube_spdy_zlib_t *def = kube_spdy_zlib_new(true, NULL);
  kube_spdy_header_t h[2] = {
      {.name = "StreamType", .value = "error", .value_len = 5},
      {.name = "port", .value = "80", .value_len = 2}};
  z_stream rin = {0};
  assert_int_equal(inflateInit(&rin), Z_OK);
  for (int round = 0; round < 2; round++) {
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    assert_int_equal(kube_spdy_headers_encode(def, h, 2, &sb, NULL), 0);
    if (round == 0) {
      /* zlib header with FDICT and the dictionary's id. */
      assert_true((uint8_t)sb.data[1] & 0x20);
      assert_int_equal(stream_be32((const uint8_t *)sb.data + 2), 0xe3c6a7c2u);
    }
    uint8_t out[512];
    rin.next_in = (Bytef *)sb.data;
    rin.avail_in = (uInt)sb.len;
    rin.next_out = out;
    rin.avail_out = sizeof out;
    int r = inflate(&rin, Z_SYNC_FLUSH);
    if (r == Z_NEED_DICT) {
      assert_int_equal(inflateSetDictionary(&rin, stream_spdy_dictionary,
                                            sizeof stream_spdy_dictionary),
                       Z_OK);
      r = inflate(&rin, Z_SYNC_FLUSH);
    }
    assert_int_equal(r, Z_OK);
    assert_int_equal(sizeof out - rin.avail_out, sizeof raw_block);
    assert_memory_equal(out, raw_block, sizeof raw_block);
    kube_strbuf_clear(&sb);
  }
  inflateEnd(&rin);
  kube_spdy_zlib_free(def);

  /* A corrupt block and a lying pair count are errors, not crashes. */
  inf = kube_spdy_zlib_new(false, NULL);
  kube_spdy_header_t *hp;
  size_t n;
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_spdy_headers_decode(inf, "garbage!", 8, &hp, &n, &err),
                   -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  kube_spdy_zlib_free(inf);
  z_stream ref2 = {0};
  deflateInit(&ref2, Z_BEST_COMPRESSION);
  deflateSetDictionary(&ref2, stream_spdy_dictionary,
                       sizeof stream_spdy_dictionary);
  const uint8_t liar[] = {0, 0, 1, 0, 0, 0, 0, 1, 'a'};
  clen = ref_deflate(&ref2, liar, sizeof liar, comp, sizeof comp);
  inf = kube_spdy_zlib_new(false, NULL);
  assert_int_equal(kube_spdy_headers_decode(inf, comp, clen, &hp, &n, &err),
                   -1);
  kube_error_clear(&err);
  kube_spdy_zlib_free(inf);
  deflateEnd(&ref2);
}

static void test_status_json(void **state) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  stream_status_json(&sb, 0, NULL);
  assert_string_equal(sb.data, "{\"metadata\":{},\"status\":\"Success\"}");
  kube_strbuf_reset(&sb);
  stream_status_json(&sb, 3, NULL);
  assert_non_null(strstr(sb.data, "\"reason\":\"NonZeroExitCode\""));
  assert_non_null(strstr(
      sb.data, "\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"3\"}]"));
  int code;
  char *msg;
  stream_status_decode(4, sb.data, sb.len, &code, &msg);
  assert_int_equal(code, 3);
  assert_null(msg);
  kube_strbuf_reset(&sb);
  stream_status_json(&sb, 0, "no such container \"x\"");
  stream_status_decode(5, sb.data, sb.len, &code, &msg);
  assert_int_equal(code, -1);
  assert_string_equal(msg, "Internal error occurred: no such container \"x\"");
  free(msg);
  stream_status_decode(4, "nonsense", 8, &code, &msg);
  assert_int_equal(code, -1);
  assert_non_null(strstr(msg, "protocol error"));
  free(msg);
  stream_status_decode(2, "boom", 4, &code, &msg);
  assert_int_equal(code, -1);
  assert_string_equal(msg, "boom");
  free(msg);
  stream_status_decode(2, "", 0, &code, &msg);
  assert_int_equal(code, 0);
  kube_strbuf_clear(&sb);
}

struct sizes {
  int n;
  uint16_t w[4], h[4];
};
static void got_size(void *arg, uint16_t w, uint16_t h) {
  struct sizes *s = arg;
  if (s->n < 4) {
    s->w[s->n] = w;
    s->h[s->n] = h;
  }
  s->n++;
}

static void test_resize_parser(void **state) {
  stream_resize_parser_t p = {0};
  struct sizes s = {0};
  const char *in = "{\"Width\":80,\"Height\":24}\n{\"Width\":1";
  assert_int_equal(stream_resize_feed(&p, in, strlen(in), got_size, &s, NULL),
                   0);
  assert_int_equal(s.n, 1);
  assert_int_equal(s.w[0], 80);
  assert_int_equal(s.h[0], 24);
  in = "20,\"Height\":40}\n";
  assert_int_equal(stream_resize_feed(&p, in, strlen(in), got_size, &s, NULL),
                   0);
  assert_int_equal(s.n, 2);
  assert_int_equal(s.w[1], 120);
  assert_int_equal(s.h[1], 40);
  kube_error_t err = KUBE_ERROR_INIT;
  in = "[1]";
  assert_int_equal(stream_resize_feed(&p, in, strlen(in), got_size, &s, &err),
                   -1);
  kube_error_clear(&err);
  stream_resize_clear(&p);
  in = "{\"Width\":-1}";
  assert_int_equal(stream_resize_feed(&p, in, strlen(in), got_size, &s, &err),
                   -1);
  kube_error_clear(&err);
  stream_resize_clear(&p);
}

static void test_ports_and_flags(void **state) {
  uint16_t ports[4];
  size_t n;
  assert_int_equal(
      kube_portforward_parse_ports("8080,9090", ports, 4, &n, NULL), 0);
  assert_int_equal(n, 2);
  assert_int_equal(ports[1], 9090);
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_portforward_parse_ports("", ports, 4, &n, &err), -1);
  kube_error_clear(&err);
  assert_int_equal(kube_portforward_parse_ports("0", ports, 4, &n, &err), -1);
  kube_error_clear(&err);
  assert_int_equal(kube_portforward_parse_ports("70000", ports, 4, &n, &err),
                   -1);
  kube_error_clear(&err);
  assert_int_equal(
      kube_portforward_parse_ports("1,2,3,4,5", ports, 4, &n, &err), -1);
  kube_error_clear(&err);
  assert_true(kube_stream_query_bool("1"));
  assert_true(kube_stream_query_bool("true"));
  assert_false(kube_stream_query_bool("yes"));
  assert_false(kube_stream_query_bool(NULL));
  kube_exec_streams_t o = {.use_stderr = true, .tty = true};
  assert_int_equal(kube_exec_streams_check(&o, &err), -1);
  kube_error_clear(&err);
  o.use_stdout = true;
  assert_int_equal(kube_exec_streams_check(&o, NULL), 0);
  assert_false(o.use_stderr);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ws_accept),
      cmocka_unit_test(test_ws_select_protocol),
      cmocka_unit_test(test_utf8),
      cmocka_unit_test(test_ws_frame_vectors),
      cmocka_unit_test(test_ws_session),
      cmocka_unit_test(test_spdy_dictionary),
      cmocka_unit_test(test_spdy_control_frames),
      cmocka_unit_test(test_spdy_headers_zlib),
      cmocka_unit_test(test_status_json),
      cmocka_unit_test(test_resize_parser),
      cmocka_unit_test(test_ports_and_flags),
  };
  int failed = cmocka_run_group_tests_name("stream", tests, NULL, NULL);
  failed += run_session_tests();
  return failed ? 1 : 0;
}
