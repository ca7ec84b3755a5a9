/* SPDX-License-Identifier: Apache-2.0 */
/* The http module against real sockets: parsing edge cases, limits,
 * timeouts (short configured values; bounded waits, no timing
 * assertions), caps, the EMFILE path, upgrade round trips and the proxy.
 * The server runs its loop on a thread of its own; the test is the
 * client, with blocking sockets. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include <libkube/apiserver.h>
#include <libkube/http.h>

#include "core/util.h"
#include "test-client.h"

/* ---- fixture: a server on its own loop thread ---- */

struct fx {
  kube_loop_t *loop;
  kube_http_server_t *srv;
  kube_http_listener_t *tcp, *unx;
  pthread_t th;
  int port;
  char sock[108];
  char dir[64];
};

static void *loop_main(void *arg) {
  struct fx *f = arg;
  kube_loop_run(f->loop, NULL);
  return NULL;
}

static void fx_start(struct fx *f) {
  assert_int_equal(pthread_create(&f->th, NULL, loop_main, f), 0);
}

static void fx_stop(struct fx *f) {
  kube_loop_quit(f->loop);
  pthread_join(f->th, NULL);
  kube_http_server_free(f->srv);
  /* Closed bufferevents finish on the loop (deferred callbacks). */
  for (int i = 0; i < 3; i++)
    kube_loop_iterate(f->loop, 0);
  kube_loop_free(f->loop);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  if (system(cmd) != 0)
    fprintf(stderr, "cleanup of %s failed\n", f->dir);
}

static void handlers(kube_http_server_t *srv);

static void fx_init(struct fx *f, const kube_http_server_options_t *o,
                    const kube_http_listen_options_t *lo) {
  memset(f, 0, sizeof *f);
  kube_error_t err = KUBE_ERROR_INIT;
  f->loop = kube_loop_new(&err);
  assert_non_null(f->loop);
  f->srv = kube_http_server_new(f->loop, o, &err);
  assert_non_null(f->srv);
  handlers(f->srv);
  f->tcp = kube_http_server_listen(f->srv, "tcp:127.0.0.1:0", lo, &err);
  if (!f->tcp)
    fail_msg("listen: %s", err.message);
  f->port = kube_http_listener_port(f->tcp);
  snprintf(f->dir, sizeof f->dir, "/tmp/test-http-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->sock, sizeof f->sock, "%s/s.sock", f->dir);
  char spec[160];
  snprintf(spec, sizeof spec, "unix:%s", f->sock);
  f->unx = kube_http_server_listen(f->srv, spec, NULL, &err);
  assert_non_null(f->unx);
}

/* One request on a fresh connection; the whole response (the server
 * closes or the body is complete). */
static char *roundtrip(int port, const char *req, const char *until) {
  static char buf[1 << 16];
  int fd = tcp_connect(port);
  assert_true(fd >= 0);
  SEND(fd, req);
  read_until(fd, buf, sizeof buf, until, 5000);
  close(fd);
  return buf;
}

/* ---- handlers (run on the loop thread) ---- */

static void h_echo(kube_http_request_t *r, void *arg) {
  size_t blen;
  const char *body = kube_http_request_body(r, &blen);
  const char *x = kube_http_request_query_param(r, "x");
  char out[8192];
  int n = snprintf(out, sizeof out, "%s %s x=%s type=%d body=%.*s|",
                   kube_http_request_method(r), kube_http_request_path(r),
                   x ? x : "-", (int)kube_http_request_listener_type(r),
                   (int)(blen > 4000 ? 4000 : blen), body);
  kube_http_response_add_header(r, "X-Test", "yes", NULL);
  kube_http_reply(r, 200, "text/plain", out, (size_t)n);
}

struct later {
  kube_http_request_t *r;
  kube_timer_t *t;
  int step;
};

static void stream_tick(void *arg) {
  struct later *l = arg;
  if (l->step++ == 0) {
    kube_http_stream_write(l->r, "second", 6);
    kube_timer_arm(l->t, 50);
    return;
  }
  kube_http_stream_end(l->r);
  kube_timer_free(l->t);
  free(l);
}

static kube_loop_t *test_loop; /* the loop of the running fixture */

/* A stream that stays quiet longer than every configured timeout. */
static void h_stream2(kube_http_request_t *r, void *arg) {
  struct later *l = calloc(1, sizeof *l);
  l->r = r;
  l->t = kube_timer_new(test_loop, stream_tick, l, NULL);
  kube_http_stream_begin(r, 200, "text/plain", -1);
  kube_http_stream_write(r, "first", 5);
  kube_timer_arm(l->t, 1500); /* well past the 300 ms timeouts */
}

/* Upgrade: echo bytes back upper-cased. */
static void up_read(kube_http_conn_t *c, const void *data, size_t len,
                    void *arg) {
  char buf[16384];
  for (size_t i = 0; i < len && i < sizeof buf; i++) {
    char ch = ((const char *)data)[i];
    buf[i] = ch >= 'a' && ch <= 'z' ? (char)(ch - 32) : ch;
  }
  kube_http_conn_write(c, buf, len < sizeof buf ? len : sizeof buf);
}

static void up_closed(kube_http_conn_t *c, void *arg) {
  kube_http_conn_close(c);
}

static const kube_http_conn_callbacks_t up_cbs = {
    .version = KUBE_HTTP_CONN_CALLBACKS_VERSION,
    .read = up_read,
    .closed = up_closed,
};

static void h_upgrade(kube_http_request_t *r, void *arg) {
  const char *up = kube_http_request_upgrade(r);
  if (!up) {
    kube_http_reply_error(r, 400, "upgrade required");
    return;
  }
  kube_http_response_add_header(r, "Connection", "Upgrade", NULL);
  kube_http_response_add_header(r, "Upgrade", up, NULL);
  kube_http_conn_t *c = kube_http_upgrade(r, NULL);
  if (c)
    kube_http_conn_set_callbacks(c, &up_cbs, 0, NULL);
}

static void h_cert(kube_http_request_t *r, void *arg) {
  const kube_http_peer_cert_t *pc = kube_http_request_peer_cert(r);
  char out[256];
  int n = snprintf(out, sizeof out, "cn=%s o=%s", pc ? pc->common_name : "-",
                   pc && pc->organizations[0] ? pc->organizations[0] : "-");
  kube_http_reply(r, 200, "text/plain", out, (size_t)n);
}

/* Proxy front: /p/<rest> -> backend <rest>. */
struct proxy_cfg {
  char base[128];
  kube_http_proxy_options_t o;
};
static struct proxy_cfg pcfg;

static void h_proxy(kube_http_request_t *r, void *arg) {
  char url[1024];
  const char *q = kube_http_request_query(r);
  snprintf(url, sizeof url, "%s%s%s%s", pcfg.base,
           kube_http_request_path(r) + 2, *q ? "?" : "", q);
  kube_http_proxy(r, url, &pcfg.o, NULL);
}

/* 16 MiB nobody reads. */
static void h_big(kube_http_request_t *r, void *arg) {
  size_t n = 16u << 20;
  char *body = malloc(n);
  memset(body, 'b', n);
  kube_http_reply_take(r, 200, "text/plain", body, n);
}

/* Streamed bodies: /s/ counts and sums the body piece by piece;
 * /s/reject answers before reading it. */
struct sbody {
  uint64_t n, sum;
  unsigned pieces;
};
static atomic_int s_closed;

static void s_close(kube_http_request_t *r, void *arg) {
  atomic_fetch_add(&s_closed, 1);
  free(arg);
  kube_http_reply(r, 500, NULL, NULL, 0); /* goes nowhere: releases it */
}

static void s_piece(kube_http_request_t *r, int status, const void *data,
                    size_t len, void *arg) {
  struct sbody *b = arg;
  if (status > 0) {
    for (size_t i = 0; i < len; i++)
      b->sum += ((const unsigned char *)data)[i];
    b->n += len;
    b->pieces++;
    assert_true(len <= 64 * 1024);
    assert_int_equal(kube_http_request_read_body(r, 64 * 1024, s_piece, b), 0);
    /* a second read while one is pending is refused */
    assert_int_equal(kube_http_request_read_body(r, 0, s_piece, b), -1);
    return;
  }
  kube_http_request_set_close_cb(r, NULL, NULL);
  char out[128];
  int n = snprintf(out, sizeof out, "status=%d n=%llu sum=%llu|", status,
                   (unsigned long long)b->n, (unsigned long long)b->sum);
  free(b);
  kube_http_reply(r, status < 0 ? 400 : 200, "text/plain", out, (size_t)n);
}

static void h_sbody(kube_http_request_t *r, void *arg) {
  if (streq(kube_http_request_path(r), "/s/reject")) {
    kube_http_reply(r, 403, "text/plain", "no|", 3);
    return;
  }
  struct sbody *b = calloc(1, sizeof *b);
  kube_http_request_set_close_cb(r, s_close, b);
  assert_int_equal(kube_http_request_read_body(r, 64 * 1024, s_piece, b), 0);
}

static void handlers(kube_http_server_t *srv) {
  assert_int_equal(
      kube_http_server_handle_streaming(srv, "/s/", h_sbody, srv, NULL), 0);
  assert_int_equal(kube_http_server_handle(srv, "/big", h_big, srv, NULL), 0);
  assert_int_equal(kube_http_server_handle(srv, "/", h_echo, srv, NULL), 0);
  assert_int_equal(
      kube_http_server_handle(srv, "/stream", h_stream2, srv, NULL), 0);
  assert_int_equal(kube_http_server_handle(srv, "/up", h_upgrade, srv, NULL),
                   0);
  assert_int_equal(kube_http_server_handle(srv, "/cert", h_cert, srv, NULL), 0);
  assert_int_equal(kube_http_server_handle(srv, "/p/", h_proxy, srv, NULL), 0);
}

/* ---- tests ---- */

static void test_basic_keepalive_pipeline(void **state) {
  struct fx f;
  fx_init(&f, NULL, NULL);
  test_loop = f.loop;
  fx_start(&f);
  int fd = tcp_connect(f.port);
  assert_true(fd >= 0);
  /* Two pipelined requests in one write: answered in order. */
  SEND(fd, "GET /a%20b?x=1+2&y HTTP/1.1\r\nHost: t\r\n\r\n"
           "POST /two?x=%41 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n"
           "hello");
  char buf[8192];
  read_until(fd, buf, sizeof buf, "body=hello|", 5000);
  char *one = strstr(buf, "GET /a b x=1 2 type=1 body=|");
  char *two = strstr(buf, "POST /two x=A type=1 body=hello|");
  assert_non_null(one);
  assert_non_null(two);
  assert_true(one < two);
  assert_non_null(strstr(buf, "X-Test: yes\r\n"));
  assert_non_null(strstr(buf, "Content-Length: "));
  /* Same connection again: keep-alive. */
  SEND(fd, "HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n");
  read_until(fd, buf, sizeof buf, "\r\n\r\n", 5000);
  assert_non_null(strstr(buf, "HTTP/1.1 200 OK"));
  assert_null(strstr(buf, "body="));
  close(fd);
  /* HTTP/1.0: the server closes after the reply. */
  fd = tcp_connect(f.port);
  SEND(fd, "GET /old HTTP/1.0\r\n\r\n");
  read_until(fd, buf, sizeof buf, NULL, 5000);
  assert_non_null(strstr(buf, "Connection: close"));
  assert_non_null(strstr(buf, "GET /old"));
  close(fd);
  /* The unix listener. */
  fd = unix_connect(f.sock);
  assert_true(fd >= 0);
  SEND(fd, "GET /u HTTP/1.1\r\nHost: t\r\n\r\n");
  read_until(fd, buf, sizeof buf, "body=|", 5000);
  assert_non_null(strstr(buf, "GET /u x=- type=0"));
  close(fd);
  fx_stop(&f);
}

static void test_chunked_body_extensions(void **state) {
  struct fx f;
  fx_init(&f, NULL, NULL);
  test_loop = f.loop;
  fx_start(&f);
  char *r = roundtrip(
      f.port,
      "PUT /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value\r\nhello\r\n6;a;b=\"c\"\r\n world\r\n0\r\nX-T: 1\r\n\r\n",
      "|");
  assert_non_null(strstr(r, "body=hello world|"));
  fx_stop(&f);
}

static void test_streaming_body(void **state) {
  kube_http_server_options_t o = {.struct_size = sizeof o,
                                  .max_body_bytes = 1024};
  struct fx f;
  fx_init(&f, &o, NULL);
  test_loop = f.loop;
  fx_start(&f);
  /* 8 MiB with Content-Length, far over max_body_bytes, then a second
   * request on the same connection. */
  size_t big = 8u << 20;
  char *body = malloc(big);
  unsigned long long sum = 0;
  for (size_t i = 0; i < big; i++) {
    body[i] = (char)(i * 7 + 3);
    sum += (unsigned char)body[i];
  }
  int fd = tcp_connect(f.port);
  assert_true(fd >= 0);
  char head[256];
  snprintf(head, sizeof head,
           "PUT /s/blob HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n",
           big);
  SEND(fd, head);
  send_str(fd, body, big);
  char buf[8192], want[128];
  snprintf(want, sizeof want, "status=0 n=%zu sum=%llu|", big, sum);
  read_until(fd, buf, sizeof buf, "|", 10000);
  if (!strstr(buf, want))
    fail_msg("want %s, got %.300s", want, buf);
  assert_null(strstr(buf, "Connection: close"));
  /* chunked, with Expect: 100-continue answered before the body */
  SEND(fd, "POST /s/c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
           "Expect: 100-continue\r\n\r\n");
  read_until(fd, buf, sizeof buf, "\r\n\r\n", 5000);
  assert_non_null(strstr(buf, "HTTP/1.1 100 Continue"));
  SEND(fd, "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  read_until(fd, buf, sizeof buf, "|", 5000);
  snprintf(want, sizeof want, "status=0 n=5 sum=%d|",
           'a' + 'b' + 'c' + 'd' + 'e');
  assert_non_null(strstr(buf, want));
  /* an empty body, then a plain handler on the same connection */
  SEND(fd, "POST /s/e HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"
           "GET /plain HTTP/1.1\r\nHost: t\r\n\r\n");
  read_until(fd, buf, sizeof buf, "body=|", 5000);
  assert_non_null(strstr(buf, "status=0 n=0 sum=0|"));
  assert_non_null(strstr(buf, "GET /plain"));
  close(fd);
  /* answered before the body was read: the reply, then the close */
  fd = tcp_connect(f.port);
  SEND(fd,
       "PUT /s/reject HTTP/1.1\r\nHost: t\r\nContent-Length: 8388608\r\n\r\n");
  send_str(fd, body, 1 << 20);
  read_until(fd, buf, sizeof buf, NULL, 5000);
  assert_non_null(strstr(buf, "HTTP/1.1 403"));
  assert_non_null(strstr(buf, "Connection: close"));
  close(fd);
  /* malformed chunked framing: status -1 */
  char *r = roundtrip(f.port,
                      "PUT /s/m HTTP/1.1\r\nHost: t\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n",
                      "|");
  assert_non_null(strstr(r, "HTTP/1.1 400"));
  assert_non_null(strstr(r, "status=-1"));
  /* the peer leaves mid-body: the close callback runs */
  fd = tcp_connect(f.port);
  SEND(fd, head);
  send_str(fd, body, 100000);
  usleep(100000);
  close(fd);
  for (int i = 0; i < 500 && atomic_load(&s_closed) == 0; i++)
    usleep(10000);
  assert_int_equal(atomic_load(&s_closed), 1);
  free(body);
  fx_stop(&f);
}

/* The refusal is a JSON Status with the code and a reason. */
static void expect_status(const char *resp, int code, const char *reason) {
  char line[64];
  snprintf(line, sizeof line, "HTTP/1.1 %d ", code);
  if (!strstr(resp, line))
    fail_msg("want %d, got: %.300s", code, resp);
  assert_non_null(strstr(resp, "Content-Type: application/json"));
  assert_non_null(strstr(resp, "\"kind\":\"Status\""));
  char c[32];
  snprintf(c, sizeof c, "\"code\":%d", code);
  assert_non_null(strstr(resp, c));
  if (reason)
    assert_non_null(strstr(resp, reason));
}

static void test_refusals(void **state) {
  kube_http_server_options_t o = {.struct_size = sizeof o,
                                  .max_body_bytes = 1024,
                                  .max_uri_bytes = 2048,
                                  .max_header_bytes = 4096};
  struct fx f;
  fx_init(&f, &o, NULL);
  test_loop = f.loop;
  fx_start(&f);
  /* Two different Content-Length headers: request smuggling. */
  expect_status(roundtrip(f.port,
                          "POST /x HTTP/1.1\r\nContent-Length: 3\r\n"
                          "Content-Length: 40\r\n\r\nabc",
                          "}"),
                400, "BadRequest");
  /* Content-Length with Transfer-Encoding. */
  expect_status(
      roundtrip(f.port,
                "POST /x HTTP/1.1\r\nContent-Length: 3\r\n"
                "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
                "}"),
      400, NULL);
  /* Over the limit from the header alone: no body byte is sent. */
  expect_status(
      roundtrip(f.port, "POST /x HTTP/1.1\r\nContent-Length: 50000000\r\n\r\n",
                "}"),
      413, "RequestEntityTooLarge");
  /* A chunked body is cut off as soon as it passes the limit. */
  char big[4096];
  int n = snprintf(big, sizeof big,
                   "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "400\r\n");
  memset(big + n, 'a', 1024);
  n += 1024;
  n += snprintf(big + n, sizeof big - (size_t)n,
                "\r\n10\r\n0123456789abcdef\r\n");
  expect_status(roundtrip(f.port, big, "}"), 413, NULL);
  /* NUL in the request line, %00 in the path, an oversize URI. */
  int fd = tcp_connect(f.port);
  send_str(fd, "GET /a\0b HTTP/1.1\r\n\r\n", 21);
  char buf[8192];
  read_until(fd, buf, sizeof buf, "}", 5000);
  close(fd);
  expect_status(buf, 400, NULL);
  expect_status(roundtrip(f.port, "GET /a%00b HTTP/1.1\r\n\r\n", "}"), 400,
                NULL);
  expect_status(roundtrip(f.port, "GET /a%zz HTTP/1.1\r\n\r\n", "}"), 400,
                NULL);
  char longuri[4096] = "GET /";
  memset(longuri + 5, 'u', 3000);
  strcpy(longuri + 3005, " HTTP/1.1\r\n\r\n");
  expect_status(roundtrip(f.port, longuri, "}"), 414, NULL);
  char hdrs[8192];
  n = snprintf(hdrs, sizeof hdrs, "GET / HTTP/1.1\r\nX-Big: ");
  memset(hdrs + n, 'h', 5000);
  strcpy(hdrs + n + 5000, "\r\n\r\n");
  expect_status(roundtrip(f.port, hdrs, "}"), 431, NULL);
  /* Garbage and a bad chunk size. */
  expect_status(roundtrip(f.port, "HELLO\r\n\r\n", "}"), 400, NULL);
  expect_status(
      roundtrip(f.port,
                "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                "zz\r\nab\r\n0\r\n\r\n",
                "}"),
      400, NULL);
  /* No handler matched: the server's 404 is JSON too (only "/" above
   * is registered for everything; this server has it). */
  fx_stop(&f);
}

static void test_timeouts(void **state) {
  kube_http_server_options_t o = {.struct_size = sizeof o,
                                  .header_timeout_ms = 300,
                                  .body_timeout_ms = 300,
                                  .idle_timeout_ms = 300};
  struct fx f;
  fx_init(&f, &o, NULL);
  test_loop = f.loop;
  fx_start(&f);
  /* Silent connection. */
  int silent = tcp_connect(f.port);
  /* Partial headers, trickled: the deadline is fixed, bytes do not
   * extend it. */
  int partial = tcp_connect(f.port);
  SEND(partial, "GET / HTTP/1.1\r\n");
  /* Partial body. */
  int body = tcp_connect(f.port);
  SEND(body, "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
  /* Idle keep-alive after one request. */
  int idle = tcp_connect(f.port);
  SEND(idle, "GET /i HTTP/1.1\r\n\r\n");
  char buf[4096];
  read_until(idle, buf, sizeof buf, "body=|", 5000);
  assert_non_null(strstr(buf, "GET /i"));
  /* A stream outlives the idle and write timeouts. */
  int stream = tcp_connect(f.port);
  SEND(stream, "GET /stream HTTP/1.1\r\n\r\n");
  for (int i = 0; i < 5; i++) {
    SEND(partial, "X: y\r\n");
    usleep(100000);
  }
  assert_true(closed_within(silent, 10000));
  assert_true(closed_within(partial, 10000));
  assert_true(closed_within(body, 10000));
  assert_true(closed_within(idle, 10000));
  read_until(stream, buf, sizeof buf, "0\r\n\r\n", 10000);
  assert_non_null(strstr(buf, "first"));
  assert_non_null(strstr(buf, "second"));
  assert_non_null(strstr(buf, "0\r\n\r\n"));
  close(silent);
  close(partial);
  close(body);
  close(idle);
  close(stream);
  fx_stop(&f);
}

/* The listener's open connections, read on the loop thread. */
struct count_q {
  kube_http_listener_t *l;
  atomic_uint n;
  atomic_bool done;
};
static void count_on_loop(void *arg) {
  struct count_q *q = arg;
  atomic_store(&q->n, kube_http_listener_connections(q->l));
  atomic_store(&q->done, true);
}
static unsigned conns_of(struct fx *f) {
  struct count_q q = {.l = f->tcp};
  kube_loop_invoke(f->loop, count_on_loop, &q, NULL);
  while (!atomic_load(&q.done))
    usleep(1000);
  return atomic_load(&q.n);
}

/* A reply the peer never reads is dropped after the write timeout. */
static void test_write_timeout(void **state) {
  kube_http_server_options_t o = {.struct_size = sizeof o,
                                  .write_timeout_ms = 300};
  struct fx f;
  fx_init(&f, &o, NULL);
  test_loop = f.loop;
  fx_start(&f);
  int fd = tcp_connect(f.port);
  int small = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  SEND(fd, "GET /big HTTP/1.1\r\n\r\n");
  unsigned n = 1;
  /* The reply has begun (so the connection is accepted and counted);
   * then read nothing more. */
  char head[64];
  assert_true(recv(fd, head, sizeof head, 0) > 0);
  assert_true(conns_of(&f) == 1);
  for (int i = 0; i < 100 && (n = conns_of(&f)) > 0; i++)
    usleep(100000);
  assert_int_equal(n, 0);
  close(fd);
  fx_stop(&f);
}

/* A large answer read slowly for longer than the idle timeout arrives
 * whole: the idle time runs from when the answer is out (a busy kubed's
 * LIST of 5,000 nodes was cut by it: "unexpected EOF" in the client). */
static void test_idle_after_slow_reply(void **state) {
  kube_http_server_options_t o = {.struct_size = sizeof o,
                                  .idle_timeout_ms = 300};
  struct fx f;
  fx_init(&f, &o, NULL);
  test_loop = f.loop;
  fx_start(&f);
  int fd = tcp_connect(f.port);
  /* A fixed receive buffer (no autotuning), larger than loopback's MSS
   * (a smaller one stalls on zero-window probes). */
  int rcv = 1 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  SEND(fd, "GET /big HTTP/1.1\r\n\r\n");
  /* 16 MiB of body after the head; 16 KiB every 10 ms for the first
   * second (three idle timeouts: the kernel's buffers hold a few MiB, the
   * server's output the rest), then the rest as fast as it comes. */
  static char buf[1 << 16];
  size_t body = 0;
  bool in_body = false;
  int64_t slow_until = kube_time_mono_ns() + 1000000000LL;
  int64_t deadline = kube_time_mono_ns() + 60 * 1000000000LL;
  char tail[4] = {0};
  while (body < (16u << 20) && kube_time_mono_ns() < deadline) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 1000) <= 0)
      continue;
    bool slow = kube_time_mono_ns() < slow_until;
    ssize_t r = recv(fd, buf, slow ? 16384 : sizeof buf, 0);
    if (r <= 0)
      break; /* closed: the answer was cut */
    for (ssize_t i = 0; i < r; i++) {
      if (in_body) {
        body++;
        continue;
      }
      memmove(tail, tail + 1, 3);
      tail[3] = buf[i];
      in_body = memcmp(tail, "\r\n\r\n", 4) == 0;
    }
    if (slow)
      usleep(10000);
  }
  assert_true(kube_time_mono_ns() >= slow_until);
  assert_int_equal(body, 16u << 20);
  /* Idle once it is out: closed after the idle timeout. */
  assert_true(closed_within(fd, 10000));
  close(fd);
  fx_stop(&f);
}

static void test_caps(void **state) {
  kube_http_server_options_t o = {.struct_size = sizeof o,
                                  .max_conns = 100,
                                  .max_conns_per_peer = 3,
                                  .max_unix_conns = 2};
  struct fx f;
  fx_init(&f, &o, NULL);
  test_loop = f.loop;
  fx_start(&f);
  int fds[3];
  char buf[4096];
  for (int i = 0; i < 3; i++) {
    fds[i] = tcp_connect(f.port);
    SEND(fds[i], "GET /k HTTP/1.1\r\n\r\n");
    read_until(fds[i], buf, sizeof buf, "body=|", 5000);
    assert_non_null(strstr(buf, "200 OK"));
  }
  /* The fourth from the same address is closed at once. */
  int over = tcp_connect(f.port);
  assert_true(over >= 0);
  assert_true(closed_within(over, 5000));
  close(over);
  /* The unix socket has its own budget and still answers. */
  int u = unix_connect(f.sock);
  SEND(u, "GET /still HTTP/1.1\r\n\r\n");
  read_until(u, buf, sizeof buf, "body=|", 5000);
  assert_non_null(strstr(buf, "GET /still"));
  int u2 = unix_connect(f.sock);
  int u3 = unix_connect(f.sock);
  assert_true(closed_within(u3, 5000));
  close(u3);
  close(u2);
  close(u);
  /* A slot freed is a slot usable again. */
  close(fds[0]);
  usleep(200000);
  int again = tcp_connect(f.port);
  SEND(again, "GET /again HTTP/1.1\r\n\r\n");
  read_until(again, buf, sizeof buf, "body=|", 5000);
  assert_non_null(strstr(buf, "GET /again"));
  close(again);
  close(fds[1]);
  close(fds[2]);
  fx_stop(&f);
}

/* Out of descriptors: the server must accept-and-close (peers see EOF)
 * and log a bounded number of lines, not spin. */
static int log_lines;
static void count_log(kube_log_level_t level, const char *msg, void *ud) {
  if (strstr(msg, "accept"))
    log_lines++;
}

static void test_emfile(void **state) {
  int sp[2];
  assert_int_equal(pipe(sp), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(sp[0]);
    kube_log_set_handler(count_log, NULL);
    kube_loop_t *loop = kube_loop_new(NULL);
    kube_http_server_options_t o = {.struct_size = sizeof o, .max_conns = 1000};
    kube_http_server_t *srv = kube_http_server_new(loop, &o, NULL);
    kube_http_listener_t *l =
        kube_http_server_listen(srv, "tcp:127.0.0.1:0", NULL, NULL);
    if (!l)
      _exit(2);
    int port = kube_http_listener_port(l);
    struct rlimit rl = {64, 64};
    setrlimit(RLIMIT_NOFILE, &rl);
    /* Use every descriptor left. */
    while (open("/dev/null", O_RDONLY | O_CLOEXEC) >= 0)
      ;
    if (write(sp[1], &port, sizeof port) != sizeof port)
      _exit(3);
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    int64_t end = kube_time_mono_ns() + 3000000000LL;
    while (kube_time_mono_ns() < end)
      kube_loop_iterate(loop, 50);
    getrusage(RUSAGE_SELF, &ru1);
    double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
                 (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
                 (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
                 (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
    fprintf(stderr, "emfile child: %d accept log lines, %.2f s CPU in 3 s\n",
            log_lines, cpu);
    /* A spinning loop burns ~3 s of CPU and logs thousands of lines. */
    _exit(log_lines <= 20 && cpu < 2.0 ? 0 : 1);
  }
  close(sp[1]);
  int port = 0;
  assert_int_equal(read(sp[0], &port, sizeof port), (ssize_t)sizeof port);
  close(sp[0]);
  int closed = 0;
  for (int i = 0; i < 20; i++) {
    int fd = tcp_connect(port);
    if (fd < 0)
      continue;
    SEND(fd, "GET / HTTP/1.1\r\n\r\n");
    closed += closed_within(fd, 3000);
    close(fd);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  assert_int_equal(closed, 20);
}

static void test_upgrade(void **state) {
  struct fx f;
  fx_init(&f, NULL, NULL);
  test_loop = f.loop;
  fx_start(&f);
  int fd = tcp_connect(f.port);
  /* Bytes right behind the request belong to the new protocol. */
  SEND(fd, "GET /up HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\n"
           "Upgrade: test/1\r\n\r\nearly");
  char buf[8192];
  read_until(fd, buf, sizeof buf, "EARLY", 5000);
  assert_non_null(strstr(buf, "HTTP/1.1 101 Switching Protocols\r\n"));
  assert_non_null(strstr(buf, "Upgrade: test/1\r\n"));
  assert_non_null(strstr(buf, "EARLY"));
  SEND(fd, "more bytes");
  read_until(fd, buf, sizeof buf, "MORE BYTES", 5000);
  assert_non_null(strstr(buf, "MORE BYTES"));
  /* Upgraded connections are exempt from the timeouts; the peer's close
   * reaches the closed callback, which releases the connection. */
  close(fd);
  /* A plain GET on /up is refused with JSON and the server lives on. */
  expect_status(roundtrip(f.port, "GET /up HTTP/1.1\r\n\r\n", "}"), 400, NULL);
  fx_stop(&f);
}

/* ---- proxy ---- */

static void write_file(const char *path, const char *s) {
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(s, fp);
  fclose(fp);
}

static void test_proxy(void **state) {
  /* Backend: our own server, plain and TLS with client certificates. */
  struct fx back;
  fx_init(&back, NULL, NULL);
  char cert[128], key[128];
  snprintf(cert, sizeof cert, "%s/c.crt", back.dir);
  snprintf(key, sizeof key, "%s/c.key", back.dir);
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_apiserver_generate_cert(cert, key, NULL, &err), 0);
  kube_http_listen_options_t tlo = {.struct_size = sizeof tlo,
                                    .tls_cert_file = cert,
                                    .tls_key_file = key,
                                    .tls_client_ca_file = cert};
  kube_http_listener_t *tl =
      kube_http_server_listen(back.srv, "tcp:127.0.0.1:0", &tlo, &err);
  if (!tl)
    fail_msg("tls listen: %s", err.message);
  int tls_port = kube_http_listener_port(tl);
  (void)write_file;
  /* Front: the same binary's server with the proxy handler. */
  struct fx front;
  fx_init(&front, NULL, NULL);
  snprintf(pcfg.base, sizeof pcfg.base, "http://127.0.0.1:%d", back.port);
  pcfg.o = (kube_http_proxy_options_t){.struct_size = sizeof pcfg.o};
  test_loop = back.loop;
  fx_start(&back);
  fx_start(&front);
  char buf[8192];
  /* A plain request with a body and query. */
  int fd = tcp_connect(front.port);
  SEND(fd, "POST /p/echo?x=q HTTP/1.1\r\nHost: f\r\nAuthorization: Bearer s\r\n"
           "Content-Length: 4\r\n\r\nbody");
  read_until(fd, buf, sizeof buf, "body=body|", 5000);
  assert_non_null(strstr(buf, "HTTP/1.1 200 OK"));
  assert_non_null(strstr(buf, "POST /echo x=q type=1 body=body|"));
  assert_non_null(strstr(buf, "X-Test: yes"));
  /* Keep-alive on the client side, streamed (chunked) response. */
  SEND(fd, "GET /p/stream HTTP/1.1\r\nHost: f\r\n\r\n");
  read_until(fd, buf, sizeof buf, "0\r\n\r\n", 10000);
  assert_non_null(strstr(buf, "Transfer-Encoding: chunked"));
  assert_non_null(strstr(buf, "first"));
  assert_non_null(strstr(buf, "second"));
  close(fd);
  /* Upgrade through the proxy: bytes both ways. */
  fd = tcp_connect(front.port);
  SEND(fd, "GET /p/up HTTP/1.1\r\nHost: f\r\nConnection: Upgrade\r\n"
           "Upgrade: SPDY/3.1\r\n\r\n");
  read_until(fd, buf, sizeof buf, "\r\n\r\n", 5000);
  assert_non_null(strstr(buf, "HTTP/1.1 101"));
  assert_non_null(strstr(buf, "Upgrade: SPDY/3.1"));
  SEND(fd, "ping through");
  read_until(fd, buf, sizeof buf, "PING THROUGH", 5000);
  assert_non_null(strstr(buf, "PING THROUGH"));
  close(fd);
  /* An unreachable backend: 503 Status. */
  snprintf(pcfg.base, sizeof pcfg.base, "http://127.0.0.1:1");
  expect_status(roundtrip(front.port, "GET /p/x HTTP/1.1\r\n\r\n", "}"), 503,
                NULL);
  /* https with a verified CA and a client certificate the backend
   * reports back. */
  snprintf(pcfg.base, sizeof pcfg.base, "https://127.0.0.1:%d", tls_port);
  pcfg.o = (kube_http_proxy_options_t){.struct_size = sizeof pcfg.o,
                                       .tls_ca_file = cert,
                                       .tls_cert_file = cert,
                                       .tls_key_file = key};
  char *r = roundtrip(front.port, "GET /p/cert HTTP/1.1\r\n\r\n", "o=libkube");
  assert_non_null(strstr(r, "200 OK"));
  assert_non_null(strstr(r, "cn=kubed o=libkube"));
  /* Without the CA the backend's certificate does not verify: 503. */
  pcfg.o = (kube_http_proxy_options_t){.struct_size = sizeof pcfg.o,
                                       .tls_ca_file = "/dev/null"};
  r = roundtrip(front.port, "GET /p/cert HTTP/1.1\r\n\r\n", "}");
  assert_true(strstr(r, "HTTP/1.1 503") || strstr(r, "HTTP/1.1 502"));
  fx_stop(&front);
  fx_stop(&back);
  kube_error_clear(&err);
}

/* TLS: keep-alive, pipelining and a client certificate on one
 * connection. */
static void test_tls(void **state) {
  struct fx f;
  fx_init(&f, NULL, NULL);
  char cert[128], key[128];
  snprintf(cert, sizeof cert, "%s/c.crt", f.dir);
  snprintf(key, sizeof key, "%s/c.key", f.dir);
  assert_int_equal(kube_apiserver_generate_cert(cert, key, NULL, NULL), 0);
  kube_http_listen_options_t lo = {.struct_size = sizeof lo,
                                   .tls_cert_file = cert,
                                   .tls_key_file = key,
                                   .tls_client_ca_file = cert};
  kube_http_listener_t *tl =
      kube_http_server_listen(f.srv, "tcp:127.0.0.1:0", &lo, NULL);
  assert_non_null(tl);
  assert_int_equal(kube_http_listener_type(tl), KUBE_HTTP_TLS);
  test_loop = f.loop;
  fx_start(&f);
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  assert_int_equal(SSL_CTX_load_verify_locations(ctx, cert, NULL), 1);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  assert_int_equal(SSL_CTX_use_certificate_chain_file(ctx, cert), 1);
  assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM), 1);
  int fd = tcp_connect(kube_http_listener_port(tl));
  SSL *ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set1_host(ssl, "127.0.0.1");
  assert_int_equal(SSL_connect(ssl), 1);
  const char *reqs = "GET /one HTTP/1.1\r\nHost: t\r\n\r\n"
                     "GET /cert HTTP/1.1\r\nHost: t\r\n\r\n";
  assert_true(SSL_write(ssl, reqs, (int)strlen(reqs)) > 0);
  char buf[8192];
  size_t len = 0;
  while (len < sizeof buf - 1 && !strstr(buf, "o=libkube")) {
    int n = SSL_read(ssl, buf + len, (int)(sizeof buf - 1 - len));
    if (n <= 0)
      break;
    len += (size_t)n;
    buf[len] = '\0';
  }
  char *one = strstr(buf, "GET /one x=- type=2");
  char *two = strstr(buf, "cn=kubed o=libkube");
  assert_non_null(one);
  assert_non_null(two);
  assert_true(one < two);
  SSL_shutdown(ssl);
  SSL_free(ssl);
  close(fd);
  SSL_CTX_free(ctx);
  fx_stop(&f);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_basic_keepalive_pipeline),
      cmocka_unit_test(test_chunked_body_extensions),
      cmocka_unit_test(test_streaming_body),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_timeouts),
      cmocka_unit_test(test_caps),
      cmocka_unit_test(test_write_timeout),
      cmocka_unit_test(test_idle_after_slow_reply),
      cmocka_unit_test(test_emfile),
      cmocka_unit_test(test_upgrade),
      cmocka_unit_test(test_tls),
      cmocka_unit_test(test_proxy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
