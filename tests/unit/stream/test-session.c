/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Client <-> server round trips over a socketpair for every transport and
 * protocol version: the negotiation of both ends, exec with
 * stdin/stdout/stderr/tty/resize and exit codes, port-forward of several
 * ports (and a refused one), and a SPDY session with flow control.
 */
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "stream/internal.h"
#include "test-stream.h"

/* ---- a pump between two sessions --------------------------------------- */

typedef struct peer {
  int fd;
  kube_strbuf_t out;
  size_t off;
  int (*feed)(void *sess, const void *buf, size_t len, kube_error_t *err);
  void (*eof)(void *sess);
  void *sess;
  bool got_eof, close_after_flush, shut;
} peer_t;

static void peer_write(peer_t *p, const void *buf, size_t len) {
  kube_strbuf_append_len(&p->out, buf, len);
}

static void flush(peer_t *p) {
  while (p->off < p->out.len) {
    ssize_t n = write(p->fd, p->out.data + p->off, p->out.len - p->off);
    if (n <= 0)
      break;
    p->off += (size_t)n;
  }
  if (p->off == p->out.len) {
    kube_strbuf_reset(&p->out);
    p->off = 0;
    if (p->close_after_flush && !p->shut) {
      shutdown(p->fd, SHUT_WR);
      p->shut = true;
    }
  }
}

static void pump_read(peer_t *p) {
  char buf[16384];
  ssize_t n = read(p->fd, buf, sizeof buf);
  if (n > 0 && p->sess) {
    kube_error_t e = KUBE_ERROR_INIT;
    p->feed(p->sess, buf, (size_t)n, &e);
    kube_error_clear(&e);
  } else if (n == 0 && !p->got_eof) {
    p->got_eof = true;
    if (p->sess)
      p->eof(p->sess);
  }
}

/* Move bytes both ways until cond(arg) holds with nothing left to send.
 * False when nothing moves for two seconds (a hang). */
static bool pump(peer_t *a, peer_t *b, bool (*cond)(void *), void *arg) {
  for (int iter = 0; iter < 100000; iter++) {
    flush(a);
    flush(b);
    if (cond(arg) && a->out.len == 0 && b->out.len == 0)
      return true;
    struct pollfd pf[2] = {
        {.fd = a->fd, .events = (short)(POLLIN | (a->out.len ? POLLOUT : 0))},
        {.fd = b->fd, .events = (short)(POLLIN | (b->out.len ? POLLOUT : 0))}};
    if (a->got_eof)
      pf[0].events &= ~POLLIN;
    if (b->got_eof)
      pf[1].events &= ~POLLIN;
    int r = poll(pf, 2, 2000);
    if (r <= 0)
      return cond(arg);
    if (pf[0].revents & (POLLIN | POLLHUP))
      pump_read(a);
    if (pf[1].revents & (POLLIN | POLLHUP))
      pump_read(b);
  }
  return false;
}

static void peers_init(peer_t *a, peer_t *b) {
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  fcntl(sv[0], F_SETFL, O_NONBLOCK);
  fcntl(sv[1], F_SETFL, O_NONBLOCK);
  memset(a, 0, sizeof *a);
  memset(b, 0, sizeof *b);
  a->fd = sv[0];
  b->fd = sv[1];
}

static void peers_clear(peer_t *a, peer_t *b) {
  close(a->fd);
  close(b->fd);
  kube_strbuf_clear(&a->out);
  kube_strbuf_clear(&b->out);
}

static const char *find_header(const kube_stream_upgrade_t *up,
                               const char *name) {
  for (size_t i = 0; i < up->n_headers; i++)
    if (strcasecmp(up->headers[i].name, name) == 0)
      return up->headers[i].value;
  return NULL;
}

/* Both ends of the negotiation: the client's request headers go to the
 * server, the server's 101 headers back to the client. */
static void negotiate(kube_stream_kind_t kind, kube_stream_transport_t tr,
                      const char *ws_protocol, kube_stream_upgrade_t *cu,
                      kube_stream_upgrade_t *su) {
  assert_int_equal(kube_stream_client_prepare(kind, tr, cu, NULL), 0);
  kube_stream_request_t req = {
      .method = "GET",
      .upgrade = find_header(cu, "Upgrade"),
      .connection = find_header(cu, "Connection"),
      .ws_key = find_header(cu, "Sec-WebSocket-Key"),
      .ws_version = find_header(cu, "Sec-WebSocket-Version"),
      .ws_protocol =
          ws_protocol ? ws_protocol : find_header(cu, "Sec-WebSocket-Protocol"),
      .stream_protocol = find_header(cu, "X-Stream-Protocol-Version")};
  kube_error_t err = KUBE_ERROR_INIT;
  if (kube_stream_upgrade_negotiate(kind, &req, su, &err) < 0)
    fail_msg("negotiate: %s", err.message);
  kube_strbuf_t head = KUBE_STRBUF_INIT;
  kube_stream_upgrade_response(su, &head);
  assert_non_null(strstr(head.data, "HTTP/1.1 101 Switching Protocols\r\n"));
  assert_non_null(strstr(head.data, "\r\n\r\n"));
  kube_strbuf_clear(&head);
  kube_stream_response_t resp = {
      .status = 101,
      .upgrade = find_header(su, "Upgrade"),
      .connection = find_header(su, "Connection"),
      .ws_accept = find_header(su, "Sec-WebSocket-Accept"),
      .ws_protocol = find_header(su, "Sec-WebSocket-Protocol"),
      .stream_protocol = find_header(su, "X-Stream-Protocol-Version")};
  if (ws_protocol) {
    /* A client that offered only this protocol. */
    resp.ws_protocol = su->protocol[0] ? su->protocol : NULL;
    kube_stream_upgrade_t tmp = *cu;
    if (kube_ws_check_response(101, resp.upgrade, resp.connection,
                               resp.ws_accept, cu->ws_key, resp.ws_protocol,
                               ws_protocol, &err) < 0)
      fail_msg("check: %s", err.message);
    *cu = *su;
    memcpy(cu->ws_key, tmp.ws_key, sizeof cu->ws_key);
    return;
  }
  if (kube_stream_client_check(cu, &resp, &err) < 0)
    fail_msg("client check: %s", err.message);
  assert_int_equal(cu->transport, su->transport);
  assert_int_equal(cu->version, su->version);
  assert_string_equal(cu->protocol, su->protocol);
}

/* ---- exec -------------------------------------------------------------- */

struct exec_ctx {
  peer_t sp, cp;
  kube_exec_server_t *srv;
  kube_exec_client_t *cli;
  bool srv_ready, srv_stdin_eof, srv_done, srv_done_err;
  kube_strbuf_t srv_stdin;
  int resize_w, resize_h, n_resize;
  bool cli_ready, cli_exited, cli_done, cli_done_err;
  kube_strbuf_t cli_stdout, cli_stderr;
  int cli_exit;
  char cli_msg[256];
};

static void s_write(void *d, const void *b, size_t n) {
  peer_write(&((struct exec_ctx *)d)->sp, b, n);
}
static void s_ready(void *d) {
  ((struct exec_ctx *)d)->srv_ready = true;
}
static void s_stdin(void *d, const void *b, size_t n) {
  kube_strbuf_append_len(&((struct exec_ctx *)d)->srv_stdin, b, n);
}
static void s_stdin_eof(void *d) {
  ((struct exec_ctx *)d)->srv_stdin_eof = true;
}
static void s_resize(void *d, uint16_t w, uint16_t h) {
  struct exec_ctx *c = d;
  c->resize_w = w;
  c->resize_h = h;
  c->n_resize++;
}
static void s_done(void *d, const kube_error_t *err) {
  struct exec_ctx *c = d;
  c->srv_done = true;
  c->srv_done_err = err != NULL;
  c->sp.close_after_flush = true;
}
static void c_write(void *d, const void *b, size_t n) {
  peer_write(&((struct exec_ctx *)d)->cp, b, n);
}
static void c_ready(void *d) {
  ((struct exec_ctx *)d)->cli_ready = true;
}
static void c_stdout(void *d, const void *b, size_t n) {
  kube_strbuf_append_len(&((struct exec_ctx *)d)->cli_stdout, b, n);
}
static void c_stderr(void *d, const void *b, size_t n) {
  kube_strbuf_append_len(&((struct exec_ctx *)d)->cli_stderr, b, n);
}
static void c_exit(void *d, int code, const char *msg) {
  struct exec_ctx *c = d;
  c->cli_exited = true;
  c->cli_exit = code;
  snprintf(c->cli_msg, sizeof c->cli_msg, "%s", msg ? msg : "");
}
static void c_done(void *d, const kube_error_t *err) {
  struct exec_ctx *c = d;
  c->cli_done = true;
  c->cli_done_err = err != NULL;
  c->cp.close_after_flush = true;
}

static bool both_ready(void *a) {
  struct exec_ctx *c = a;
  return c->srv_ready && c->cli_ready;
}
static bool got_hello(void *a) {
  struct exec_ctx *c = a;
  return c->srv_stdin.len >= 6 &&
         (c->n_resize > 0 || !c->cli_ready || c->resize_w == -1);
}
static bool got_stdin_eof(void *a) {
  return ((struct exec_ctx *)a)->srv_stdin_eof;
}
static bool all_done(void *a) {
  struct exec_ctx *c = a;
  return c->srv_done && c->cli_done;
}

static int exec_feed_s(void *s, const void *b, size_t n, kube_error_t *e) {
  return kube_exec_server_feed(s, b, n, e);
}
static void exec_eof_s(void *s) {
  kube_exec_server_eof(s);
}
static int exec_feed_c(void *s, const void *b, size_t n, kube_error_t *e) {
  return kube_exec_client_feed(s, b, n, e);
}
static void exec_eof_c(void *s) {
  kube_exec_client_eof(s);
}

static const kube_exec_server_callbacks_t exec_scb = {
    .version = KUBE_EXEC_SERVER_CALLBACKS_VERSION,
    .write = s_write,
    .ready = s_ready,
    .stdin_data = s_stdin,
    .stdin_eof = s_stdin_eof,
    .resize = s_resize,
    .done = s_done};
static const kube_exec_client_callbacks_t exec_ccb = {
    .version = KUBE_EXEC_CLIENT_CALLBACKS_VERSION,
    .write = c_write,
    .ready = c_ready,
    .stdout_data = c_stdout,
    .stderr_data = c_stderr,
    .exit = c_exit,
    .done = c_done};

/* Both sessions on a fresh socketpair, started and ready. */
static void exec_setup(struct exec_ctx *c, const kube_stream_upgrade_t *su,
                       const kube_stream_upgrade_t *cu,
                       const kube_exec_streams_t *o) {
  memset(c, 0, sizeof *c);
  peers_init(&c->sp, &c->cp);
  kube_error_t err = KUBE_ERROR_INIT;
  c->srv = kube_exec_server_new(su, o, &exec_scb, c, &err);
  c->cli = kube_exec_client_new(cu, o, &exec_ccb, c, &err);
  assert_non_null(c->srv);
  assert_non_null(c->cli);
  assert_int_equal(kube_exec_server_version(c->srv), su->version);
  c->sp.sess = c->srv;
  c->sp.feed = exec_feed_s;
  c->sp.eof = exec_eof_s;
  c->cp.sess = c->cli;
  c->cp.feed = exec_feed_c;
  c->cp.eof = exec_eof_c;
  assert_int_equal(kube_exec_server_start(c->srv, NULL), 0);
  assert_int_equal(kube_exec_client_start(c->cli, NULL), 0);
  assert_true(pump(&c->sp, &c->cp, both_ready, c));
}

static void exec_teardown(struct exec_ctx *c) {
  kube_exec_server_free(c->srv);
  kube_exec_client_free(c->cli);
  peers_clear(&c->sp, &c->cp);
  kube_strbuf_clear(&c->srv_stdin);
  kube_strbuf_clear(&c->cli_stdout);
  kube_strbuf_clear(&c->cli_stderr);
}

/* What the client made of exit code `code` at `version`. */
static void expect_exit(const struct exec_ctx *c, int version, int code) {
  assert_true(c->cli_exited);
  if (version >= 4 || code == 0) {
    assert_int_equal(c->cli_exit, code);
  } else {
    assert_int_equal(c->cli_exit, -1);
    assert_non_null(strstr(c->cli_msg, "non-zero exit code"));
  }
}

static bool srv_done(void *a) {
  return ((struct exec_ctx *)a)->srv_done;
}

static void run_exec(kube_stream_transport_t tr, const char *ws_protocol,
                     int want_version, bool tty) {
  struct exec_ctx c;
  kube_stream_upgrade_t cu, su;
  negotiate(KUBE_STREAM_EXEC, tr, ws_protocol, &cu, &su);
  assert_int_equal(su.version, want_version);
  kube_exec_streams_t o = {
      .use_stdin = true, .use_stdout = true, .use_stderr = true, .tty = tty};
  kube_error_t err = KUBE_ERROR_INIT;
  exec_setup(&c, &su, &cu, &o);

  /* Resize works for tty sessions from v3 on (and always over WebSocket). */
  bool resize = tty && (want_version >= 3 || tr == KUBE_STREAM_WEBSOCKET);
  if (!resize)
    c.resize_w = -1;
  if (tty)
    assert_int_equal(kube_exec_client_resize(c.cli, 132, 43, NULL), 0);
  assert_int_equal(kube_exec_client_write_stdin(c.cli, "hello\n", 6, NULL), 0);
  assert_true(pump(&c.sp, &c.cp, got_hello, &c));
  assert_memory_equal(c.srv_stdin.data, "hello\n", 6);
  if (resize) {
    assert_int_equal(c.resize_w, 132);
    assert_int_equal(c.resize_h, 43);
  }
  /* End of stdin reaches the server where the protocol can say it. */
  bool eof_signal = tr == KUBE_STREAM_SPDY || want_version >= 5;
  assert_int_equal(kube_exec_client_close_stdin(c.cli, NULL), 0);
  if (eof_signal)
    assert_true(pump(&c.sp, &c.cp, got_stdin_eof, &c));

  assert_int_equal(kube_exec_server_write_stdout(c.srv, "HELLO\n", 6, NULL), 0);
  assert_int_equal(kube_exec_server_write_stderr(c.srv, "warn\n", 5, NULL), 0);
  assert_int_equal(kube_exec_server_finish(c.srv, 3, NULL, NULL), 0);
  assert_int_equal(kube_exec_server_write_stdout(c.srv, "x", 1, &err), -1);
  kube_error_clear(&err);
  assert_true(pump(&c.sp, &c.cp, all_done, &c));
  assert_false(c.srv_done_err);
  assert_false(c.cli_done_err);
  assert_int_equal(c.cli_stdout.len, 6);
  assert_memory_equal(c.cli_stdout.data, "HELLO\n", 6);
  if (tty) {
    assert_int_equal(c.cli_stderr.len, 0); /* no stderr with a tty */
  } else {
    assert_int_equal(c.cli_stderr.len, 5);
    assert_memory_equal(c.cli_stderr.data, "warn\n", 5);
  }
  expect_exit(&c, want_version, 3);
  exec_teardown(&c);
}

static void test_exec_ws_v5(void **s) {
  run_exec(KUBE_STREAM_WEBSOCKET, NULL, 5, false);
}
static void test_exec_ws_v5_tty(void **s) {
  run_exec(KUBE_STREAM_WEBSOCKET, NULL, 5, true);
}
static void test_exec_ws_v4(void **s) {
  run_exec(KUBE_STREAM_WEBSOCKET, "v4.channel.k8s.io", 4, false);
}
static void test_exec_ws_v4_base64(void **s) {
  run_exec(KUBE_STREAM_WEBSOCKET, "v4.base64.channel.k8s.io", 4, true);
}
static void test_exec_ws_v1(void **s) {
  run_exec(KUBE_STREAM_WEBSOCKET, "channel.k8s.io", 1, false);
}
static void test_exec_ws_base64_v1(void **s) {
  run_exec(KUBE_STREAM_WEBSOCKET, "base64.channel.k8s.io", 1, false);
}
static void test_exec_spdy_v5(void **s) {
  run_exec(KUBE_STREAM_SPDY, NULL, 5, true);
}
static void test_exec_spdy_v5_notty(void **s) {
  run_exec(KUBE_STREAM_SPDY, NULL, 5, false);
}

/* SPDY at older versions: the client offers one version only. */
static void run_exec_spdy_version(const char *proto, int version, bool tty) {
  kube_stream_request_t req = {.method = "POST",
                               .upgrade = "SPDY/3.1",
                               .connection = "Upgrade",
                               .stream_protocol = proto};
  kube_stream_upgrade_t su;
  assert_int_equal(
      kube_stream_upgrade_negotiate(KUBE_STREAM_EXEC, &req, &su, NULL), 0);
  assert_int_equal(su.version, version);
  assert_int_equal(su.transport, KUBE_STREAM_SPDY);
  (void)tty;
}

static void test_exec_spdy_versions(void **s) {
  run_exec_spdy_version("v4.channel.k8s.io", 4, false);
  run_exec_spdy_version("v3.channel.k8s.io,v2.channel.k8s.io", 3, false);
  run_exec_spdy_version("v2.channel.k8s.io", 2, false);
  run_exec_spdy_version("channel.k8s.io", 1, false);
  /* Refusals: no header (400), nothing in common (403), not an upgrade. */
  kube_error_t err = KUBE_ERROR_INIT;
  kube_stream_upgrade_t su;
  kube_stream_request_t req = {.upgrade = "SPDY/3.1", .connection = "Upgrade"};
  assert_int_equal(
      kube_stream_upgrade_negotiate(KUBE_STREAM_EXEC, &req, &su, &err), -1);
  assert_int_equal(kube_reason_http_code(err.reason), 400);
  req.stream_protocol = "v9.channel.k8s.io";
  assert_int_equal(
      kube_stream_upgrade_negotiate(KUBE_STREAM_EXEC, &req, &su, &err), -1);
  assert_int_equal(kube_reason_http_code(err.reason), 403);
  req.connection = "keep-alive";
  assert_int_equal(
      kube_stream_upgrade_negotiate(KUBE_STREAM_EXEC, &req, &su, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_stream_request_t ws = {.method = "GET",
                              .upgrade = "websocket",
                              .connection = "Upgrade",
                              .ws_key = "dGhlIHNhbXBsZSBub25jZQ==",
                              .ws_version = "13",
                              .ws_protocol = "v9.channel.k8s.io"};
  assert_int_equal(
      kube_stream_upgrade_negotiate(KUBE_STREAM_EXEC, &ws, &su, &err), -1);
  assert_int_equal(kube_reason_http_code(err.reason), 403);
  /* The Python client asks for v4 only; kubectl 1.32 port-forward for the
   * SPDY tunnel. */
  ws.ws_protocol = "v4.channel.k8s.io";
  assert_int_equal(
      kube_stream_upgrade_negotiate(KUBE_STREAM_EXEC, &ws, &su, NULL), 0);
  assert_int_equal(su.version, 4);
  ws.ws_protocol = "SPDY/3.1+portforward.k8s.io";
  assert_int_equal(
      kube_stream_upgrade_negotiate(KUBE_STREAM_PORTFORWARD, &ws, &su, NULL),
      0);
  assert_int_equal(su.transport, KUBE_STREAM_SPDY_OVER_WEBSOCKET);
  assert_string_equal(find_header(&su, "Sec-WebSocket-Protocol"),
                      "SPDY/3.1+portforward.k8s.io");
  kube_error_clear(&err);
}

/* A full SPDY round trip at v1..v3 with a client that offers one version:
 * negotiate directly with the server's answer. */
static void run_exec_spdy_old(const char *proto, int version, bool tty) {
  kube_stream_request_t req = {.method = "POST",
                               .upgrade = "SPDY/3.1",
                               .connection = "Upgrade",
                               .stream_protocol = proto};
  kube_stream_upgrade_t su;
  assert_int_equal(
      kube_stream_upgrade_negotiate(KUBE_STREAM_EXEC, &req, &su, NULL), 0);
  kube_exec_streams_t o = {
      .use_stdin = true, .use_stdout = true, .use_stderr = true, .tty = tty};
  struct exec_ctx c;
  exec_setup(&c, &su, &su, &o);
  if (version >= 2) {
    /* v1 servers close stdin at once (the 1.0 quirk): no input there. */
    c.resize_w = -1;
    kube_exec_client_write_stdin(c.cli, "hello\n", 6, NULL);
    assert_true(pump(&c.sp, &c.cp, got_hello, &c));
  }
  kube_exec_server_write_stdout(c.srv, "out", 3, NULL);
  kube_exec_server_finish(c.srv, version == 3 ? 0 : 2, NULL, NULL);
  assert_true(pump(&c.sp, &c.cp, all_done, &c));
  assert_memory_equal(c.cli_stdout.data, "out", 3);
  expect_exit(&c, version, version == 3 ? 0 : 2);
  exec_teardown(&c);
}

static void test_exec_spdy_old(void **s) {
  run_exec_spdy_old("v4.channel.k8s.io", 4, false);
  run_exec_spdy_old("v3.channel.k8s.io", 3, true);
  run_exec_spdy_old("v2.channel.k8s.io", 2, false);
  run_exec_spdy_old("channel.k8s.io", 1, false);
}

/* The client goes away in the middle: the server hears it. */
static void test_exec_client_vanishes(void **s) {
  kube_stream_upgrade_t cu, su;
  negotiate(KUBE_STREAM_EXEC, KUBE_STREAM_SPDY, NULL, &cu, &su);
  kube_exec_streams_t o = {.use_stdin = true, .use_stdout = true};
  struct exec_ctx c;
  exec_setup(&c, &su, &cu, &o);
  shutdown(c.cp.fd, SHUT_RDWR);
  c.cp.sess = NULL;
  assert_true(pump(&c.sp, &c.cp, srv_done, &c));
  assert_true(c.srv_stdin_eof);
  assert_true(c.srv_done_err);
  exec_teardown(&c);
}

/* ---- port-forward ------------------------------------------------------ */

struct pf_ctx {
  peer_t sp, cp;
  kube_portforward_server_t *srv;
  kube_portforward_client_t *cli;
  int opened, srv_closed, cli_closed, eofs;
  bool srv_done, cli_done;
  kube_strbuf_t got[3];
  char error[256];
  struct pf_handle {
    uint16_t port;
    int idx;
  } h[8];
  kube_portforward_stream_t *sst[8]; /* the server's streams */
};

static void ps_write(void *d, const void *b, size_t n) {
  peer_write(&((struct pf_ctx *)d)->sp, b, n);
}
static void pc_write(void *d, const void *b, size_t n) {
  peer_write(&((struct pf_ctx *)d)->cp, b, n);
}
static int ps_open(void *d, kube_portforward_stream_t *st, uint16_t port,
                   const char *rid, void **user, kube_error_t *err) {
  struct pf_ctx *c = d;
  if (port == 666)
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                          "error forwarding port 666: connection refused");
  c->h[c->opened].port = port;
  c->sst[c->opened] = st;
  *user = &c->h[c->opened++];
  return 0;
}
/* The "pod" answers each chunk with it in upper case. */
static void ps_data(void *d, kube_portforward_stream_t *st, void *user,
                    const void *b, size_t n) {
  char up[64];
  size_t k = n < sizeof up ? n : sizeof up;
  for (size_t i = 0; i < k; i++)
    up[i] = (char)toupper(((const char *)b)[i]);
  kube_portforward_stream_write(st, up, k, NULL);
}
static void ps_eof(void *d, kube_portforward_stream_t *st, void *user) {
  ((struct pf_ctx *)d)->eofs++;
  kube_portforward_stream_close_write(st, NULL);
}
static void ps_close(void *d, kube_portforward_stream_t *st, void *user) {
  ((struct pf_ctx *)d)->srv_closed++;
}
static void ps_done(void *d, const kube_error_t *err) {
  struct pf_ctx *c = d;
  c->srv_done = true;
  c->sp.close_after_flush = true;
}
static void pc_data(void *d, kube_portforward_stream_t *st, void *user,
                    const void *b, size_t n) {
  struct pf_ctx *c = d;
  kube_strbuf_append_len(&c->got[(intptr_t)user], b, n);
}
static void pc_error(void *d, kube_portforward_stream_t *st, void *user,
                     const char *msg) {
  snprintf(((struct pf_ctx *)d)->error, 256, "%s", msg);
}
static void pc_close(void *d, kube_portforward_stream_t *st, void *user) {
  ((struct pf_ctx *)d)->cli_closed++;
}
static void pc_done(void *d, const kube_error_t *err) {
  struct pf_ctx *c = d;
  c->cli_done = true;
  c->cp.close_after_flush = true;
}

static int pf_feed_s(void *s, const void *b, size_t n, kube_error_t *e) {
  return kube_portforward_server_feed(s, b, n, e);
}
static void pf_eof_s(void *s) {
  kube_portforward_server_eof(s);
}
static int pf_feed_c(void *s, const void *b, size_t n, kube_error_t *e) {
  return kube_portforward_client_feed(s, b, n, e);
}
static void pf_eof_c(void *s) {
  kube_portforward_client_eof(s);
}

static bool pf_echoed(void *a) {
  struct pf_ctx *c = a;
  return c->got[0].len == 3 && c->got[1].len == 3;
}
static bool pf_error_text(void *a) {
  return ((struct pf_ctx *)a)->error[0] != 0;
}
static bool pf_echoed_first(void *a) {
  return ((struct pf_ctx *)a)->got[0].len == 3;
}
static bool pf_error_seen(void *a) {
  struct pf_ctx *c = a;
  return c->error[0] != 0 && c->cli_closed >= 1;
}
static bool pf_pairs_closed(void *a) {
  struct pf_ctx *c = a;
  return c->cli_closed >= 3 && c->srv_closed >= 2;
}
static bool pf_all_done(void *a) {
  struct pf_ctx *c = a;
  return c->srv_done && c->cli_done;
}

static void run_pf(kube_stream_transport_t tr) {
  struct pf_ctx c;
  memset(&c, 0, sizeof c);
  peers_init(&c.sp, &c.cp);
  kube_stream_upgrade_t cu, su;
  negotiate(KUBE_STREAM_PORTFORWARD, tr, NULL, &cu, &su);
  const uint16_t ports[] = {8080, 9090, 666};
  kube_portforward_server_callbacks_t scb = {
      .version = KUBE_PORTFORWARD_SERVER_CALLBACKS_VERSION,
      .write = ps_write,
      .stream_open = ps_open,
      .stream_data = ps_data,
      .stream_eof = ps_eof,
      .stream_close = ps_close,
      .done = ps_done};
  kube_portforward_client_callbacks_t ccb = {
      .version = KUBE_PORTFORWARD_CLIENT_CALLBACKS_VERSION,
      .write = pc_write,
      .stream_data = pc_data,
      .stream_error = pc_error,
      .stream_close = pc_close,
      .done = pc_done};
  kube_error_t err = KUBE_ERROR_INIT;
  c.srv = kube_portforward_server_new(&su, ports, 3, &scb, &c, &err);
  c.cli = kube_portforward_client_new(&cu, ports, 3, &ccb, &c, &err);
  assert_non_null(c.srv);
  assert_non_null(c.cli);
  c.sp.sess = c.srv;
  c.sp.feed = pf_feed_s;
  c.sp.eof = pf_eof_s;
  c.cp.sess = c.cli;
  c.cp.feed = pf_feed_c;
  c.cp.eof = pf_eof_c;
  assert_int_equal(kube_portforward_server_start(c.srv, NULL), 0);
  kube_portforward_stream_t *a =
      kube_portforward_client_open(c.cli, 8080, (void *)0, &err);
  kube_portforward_stream_t *b =
      kube_portforward_client_open(c.cli, 9090, (void *)1, &err);
  kube_portforward_stream_t *r =
      kube_portforward_client_open(c.cli, 666, (void *)2, &err);
  assert_non_null(a);
  assert_non_null(b);
  assert_non_null(r);
  assert_int_equal(kube_portforward_stream_port(b), 9090);
  if (tr == KUBE_STREAM_WEBSOCKET) {
    /* Every port's channels exist once; a second open fails. */
    assert_null(kube_portforward_client_open(c.cli, 8080, NULL, &err));
    kube_error_clear(&err);
  } else {
    assert_string_equal(kube_portforward_stream_request_id(b), "1");
  }
  /* The refused port reports the server's message. */
  if (tr == KUBE_STREAM_WEBSOCKET) {
    assert_true(pump(&c.sp, &c.cp, pf_error_text, &c));
  } else {
    assert_true(pump(&c.sp, &c.cp, pf_error_seen, &c));
  }
  assert_non_null(strstr(c.error, "connection refused"));
  assert_int_equal(kube_portforward_stream_write(a, "abc", 3, NULL), 0);
  assert_int_equal(kube_portforward_stream_write(b, "xyz", 3, NULL), 0);
  assert_true(pump(&c.sp, &c.cp, pf_echoed, &c));
  assert_memory_equal(c.got[0].data, "ABC", 3);
  assert_memory_equal(c.got[1].data, "XYZ", 3);
  assert_int_equal(c.opened, 2);
  if (tr != KUBE_STREAM_WEBSOCKET) {
    /* Half-close both; the server answers with its own FIN and ends the
     * pairs. */
    kube_portforward_stream_close_write(a, NULL);
    kube_portforward_stream_close_write(b, NULL);
    assert_true(pump(&c.sp, &c.cp, pf_pairs_closed, &c));
    assert_int_equal(c.eofs, 2);
    /* New connections keep working on the same session. */
    c.got[0].len = 0;
    a = kube_portforward_client_open(c.cli, 8080, (void *)0, &err);
    assert_non_null(a);
    kube_portforward_stream_write(a, "def", 3, NULL);
    assert_true(pump(&c.sp, &c.cp, pf_echoed_first, &c));
    assert_memory_equal(c.got[0].data, "DEF", 3);
  }
  if (tr == KUBE_STREAM_WEBSOCKET) {
    /* The pod closes both ports: the server ends the connection with the
     * last one, as the kubelet does. */
    kube_portforward_stream_close_write(c.sst[0], NULL);
    assert_false(c.srv_done);
    kube_portforward_stream_close_write(c.sst[1], NULL);
  } else {
    assert_int_equal(kube_portforward_client_close(c.cli, NULL), 0);
  }
  assert_true(pump(&c.sp, &c.cp, pf_all_done, &c));
  assert_int_equal(c.cli_closed, tr == KUBE_STREAM_WEBSOCKET ? 3 : 4);
  assert_int_equal(c.srv_closed, c.opened);
  kube_portforward_server_free(c.srv);
  kube_portforward_client_free(c.cli);
  peers_clear(&c.sp, &c.cp);
  for (int i = 0; i < 3; i++)
    kube_strbuf_clear(&c.got[i]);
}

static void test_pf_spdy(void **s) {
  run_pf(KUBE_STREAM_SPDY);
}
static void test_pf_tunnel(void **s) {
  run_pf(KUBE_STREAM_SPDY_OVER_WEBSOCKET);
}
static void test_pf_ws(void **s) {
  run_pf(KUBE_STREAM_WEBSOCKET);
}

/* ---- SPDY with flow control -------------------------------------------- */

struct flow_ctx {
  peer_t a, b;
  kube_spdy_t *cli, *srv;
  size_t received;
  uint32_t sum;
  bool fin, pong;
};

static void fa_write(void *d, const void *b, size_t n) {
  peer_write(&((struct flow_ctx *)d)->a, b, n);
}
static void fb_write(void *d, const void *b, size_t n) {
  peer_write(&((struct flow_ctx *)d)->b, b, n);
}
static int fb_open(void *d, uint32_t id, const kube_spdy_header_t *h, size_t n,
                   bool fin) {
  struct flow_ctx *c = d;
  assert_string_equal(kube_spdy_header_get(h, n, "x-test"), "flow");
  return kube_spdy_reply(c->srv, id, NULL, 0, false, NULL);
}
static void fb_data(void *d, uint32_t id, const void *b, size_t n) {
  struct flow_ctx *c = d;
  for (size_t i = 0; i < n; i++)
    c->sum = c->sum * 31 + ((const uint8_t *)b)[i];
  c->received += n;
}
static void fb_fin(void *d, uint32_t id) {
  ((struct flow_ctx *)d)->fin = true;
}
static void fa_pong(void *d, uint32_t id) {
  ((struct flow_ctx *)d)->pong = true;
}
static int spdy_feed(void *s, const void *b, size_t n, kube_error_t *e) {
  return kube_spdy_feed(s, b, n, e);
}
static void spdy_eof(void *s) {
  kube_spdy_eof(s);
}
static bool flow_done(void *x) {
  struct flow_ctx *c = x;
  return c->fin && c->pong;
}

static void test_spdy_flow_control(void **s) {
  struct flow_ctx c;
  memset(&c, 0, sizeof c);
  peers_init(&c.a, &c.b);
  kube_spdy_options_t oc = {.struct_size = sizeof oc, .flow_control = true};
  kube_spdy_options_t os = {
      .struct_size = sizeof os, .server = true, .flow_control = true};
  kube_spdy_callbacks_t ca = {.version = 1, .write = fa_write, .pong = fa_pong};
  kube_spdy_callbacks_t cb = {.version = 1,
                              .write = fb_write,
                              .stream_open = fb_open,
                              .stream_data = fb_data,
                              .stream_fin = fb_fin};
  c.cli = kube_spdy_new(&oc, &ca, &c, NULL);
  c.srv = kube_spdy_new(&os, &cb, &c, NULL);
  c.a =
      (peer_t){.fd = c.a.fd, .sess = c.cli, .feed = spdy_feed, .eof = spdy_eof};
  c.b =
      (peer_t){.fd = c.b.fd, .sess = c.srv, .feed = spdy_feed, .eof = spdy_eof};
  kube_spdy_header_t h = {.name = "X-Test", .value = "flow", .value_len = 4};
  uint32_t id = kube_spdy_open(c.cli, &h, 1, false, NULL);
  assert_int_equal(id, 1);
  size_t total = 1 << 20;
  uint8_t *big = malloc(total);
  uint32_t want = 0;
  for (size_t i = 0; i < total; i++) {
    big[i] = (uint8_t)(i * 7 + (i >> 9));
    want = want * 31 + big[i];
  }
  assert_int_equal(kube_spdy_send(c.cli, id, big, total, true, NULL), 0);
  /* Only the initial 64 KiB window went out; the rest waits. */
  assert_int_equal(kube_spdy_queued(c.cli, id), total - 65536);
  assert_int_equal(kube_spdy_ping(c.cli, NULL), 1);
  assert_true(pump(&c.a, &c.b, flow_done, &c));
  assert_int_equal(c.received, total);
  assert_int_equal(c.sum, want);
  assert_int_equal(kube_spdy_queued(c.cli, id), 0);
  free(big);
  kube_spdy_free(c.cli);
  kube_spdy_free(c.srv);
  peers_clear(&c.a, &c.b);
}

int run_session_tests(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exec_ws_v5),
      cmocka_unit_test(test_exec_ws_v5_tty),
      cmocka_unit_test(test_exec_ws_v4),
      cmocka_unit_test(test_exec_ws_v4_base64),
      cmocka_unit_test(test_exec_ws_v1),
      cmocka_unit_test(test_exec_ws_base64_v1),
      cmocka_unit_test(test_exec_spdy_v5),
      cmocka_unit_test(test_exec_spdy_v5_notty),
      cmocka_unit_test(test_exec_spdy_versions),
      cmocka_unit_test(test_exec_spdy_old),
      cmocka_unit_test(test_exec_client_vanishes),
      cmocka_unit_test(test_pf_spdy),
      cmocka_unit_test(test_pf_tunnel),
      cmocka_unit_test(test_pf_ws),
      cmocka_unit_test(test_spdy_flow_control),
  };
  return cmocka_run_group_tests_name("stream-session", tests, NULL, NULL);
}
