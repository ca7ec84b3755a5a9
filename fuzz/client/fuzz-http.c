/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the client's HTTP/1.1 response reader (status
 * line, 1xx interim responses, headers, Content-Length, chunked bodies,
 * bodies delimited by EOF, keep-alive).  The input is what a server sends:
 * it goes into one end of a socketpair (then shut down for writing) and the
 * real client reads it from the other end.
 *
 * The first byte picks the mode, the rest is the server's bytes:
 *  - even: kube_client_request on a keep-alive connection already open to
 *    the socketpair, repeated while the connection stays open (so one input
 *    may hold several responses), each checked with kube_client_check;
 *    bit 1 makes the requests HEAD (no body is read).
 *  - odd: the streaming path of kube_client_stream (client_http_read_head, then
 *    client_http_read_body into a line splitter that stops after a few lines).
 *
 * Connections start with a read buffer, as a used keep-alive connection
 * has.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/internal.h"
#include "core/util.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      __builtin_trap();                                                        \
  } while (0)

/* Undefined behaviour is a bug like any other: stop at the first report. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) {
  return "halt_on_error=1:print_stacktrace=1";
}

/* What fits in a socket buffer without blocking. */
#define HTTP_MAX_INPUT 65536

static kube_client_t *client;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  kube_client_options_t o = {.struct_size = sizeof o,
                             /* Never connects: a reused connection that
                              * turns out closed is reopened once, and
                              * that attempt must fail fast. */
                             .server = "unix:/nonexistent/libkube-fuzz.sock"};
  /* No kubeconfig: the server above is all there is. */
  setenv("KUBECONFIG", "/nonexistent/kubeconfig", 1);
  setenv("HOME", "/nonexistent", 1);
  kube_error_t err = KUBE_ERROR_INIT;
  client = kube_client_new(&o, &err);
  CHECK(client);
  return 0;
}

/* Write the whole input, then EOF. */
static bool serve(int fd, const uint8_t *data, size_t size) {
  while (size > 0) {
    ssize_t w = send(fd, data, size, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    data += w;
    size -= (size_t)w;
  }
  shutdown(fd, SHUT_WR);
  return true;
}

struct lines {
  kube_strbuf_t partial;
  size_t count, stop_after, bytes;
};

/* kube_client_stream's line splitter, stopping after stop_after lines. */
static int sink_lines(void *ud, const char *p, size_t n) {
  struct lines *ls = ud;
  ls->bytes += n;
  while (n > 0) {
    const char *nl = memchr(p, '\n', n);
    if (!nl) {
      kube_strbuf_append_len(&ls->partial, p, n);
      return ls->partial.oom ? -1 : 0;
    }
    kube_strbuf_append_len(&ls->partial, p, (size_t)(nl - p));
    if (ls->partial.oom)
      return -1;
    CHECK(ls->partial.len == 0 || strlen(ls->partial.data) <= ls->partial.len);
    if (ls->partial.len > 0 && ++ls->count >= ls->stop_after)
      return 1;
    kube_strbuf_reset(&ls->partial);
    n -= (size_t)(nl + 1 - p);
    p = nl + 1;
  }
  return 0;
}

/* Adopt fd as an open connection with an (empty) read buffer. */
static bool adopt(struct conn *cn, int fd) {
  client_conn_init(cn);
  cn->buf = malloc(4096);
  if (!cn->buf)
    return false;
  cn->cap = 4096;
  cn->fd = fd;
  return true;
}

static void run_stream(int fd, unsigned mode) {
  struct conn cn;
  if (!adopt(&cn, fd)) {
    close(fd);
    return;
  }
  struct http_response_head h;
  bool nothing = false;
  kube_error_t err = KUBE_ERROR_INIT;
  if (client_http_read_head(&cn, &h, false, &nothing, &err) < 0) {
    CHECK(kube_error_is_set(&err));
    kube_error_clear(&err);
    client_http_response_head_clear(&h);
    client_conn_close(&cn);
    return;
  }
  CHECK(h.status >= 200 && h.status <= 999);
  CHECK(!h.chunked || h.content_length == -1);
  CHECK(h.content_length >= 0 || h.chunked || h.close);
  struct lines ls = {KUBE_STRBUF_INIT, 0, 1 + (mode >> 1) % 8, 0};
  struct body_sink sink = {sink_lines, &ls};
  int r = client_http_read_body(&cn, &h, &sink, &err);
  CHECK(r >= -1 && r <= 1);
  CHECK((r < 0) == kube_error_is_set(&err));
  if (r == 0 && !h.chunked && h.content_length >= 0)
    CHECK(ls.bytes == (size_t)h.content_length);
  CHECK(cn.pos <= cn.len && cn.len <= cn.cap);
  kube_error_clear(&err);
  kube_strbuf_clear(&ls.partial);
  client_http_response_head_clear(&h);
  client_conn_close(&cn);
}

static void run_requests(int fd, unsigned mode) {
  if (!adopt(&client->conn, fd)) {
    close(fd);
    return;
  }
  kube_client_request_t req = {.struct_size = sizeof req,
                               .method = mode & 2 ? "HEAD" : "GET",
                               .path = "/api/v1/namespaces/default/pods"};
  /* The requests pile up unread in the peer's buffer: a few only. */
  for (int i = 0; i < 8 && client->conn.fd >= 0; i++) {
    kube_client_response_t resp;
    kube_error_t err = KUBE_ERROR_INIT;
    if (kube_client_request(client, &req, &resp, &err) < 0) {
      CHECK(kube_error_is_set(&err));
      CHECK(client->conn.fd < 0);
      CHECK(kube_client_last_status(client) == 0);
      kube_error_clear(&err);
      break;
    }
    CHECK(resp.status >= 200 && resp.status <= 999);
    CHECK(resp.body && resp.body[resp.body_len] == '\0');
    CHECK(kube_client_last_status(client) == resp.status);
    if (mode & 2)
      CHECK(resp.body_len == 0);
    if (kube_client_check(&resp, &err) == 0) {
      CHECK(resp.status < 300);
      CHECK(!kube_error_is_set(&err));
    } else {
      CHECK(resp.status >= 300);
      CHECK(kube_error_is_set(&err));
      CHECK(err.message != NULL);
    }
    kube_error_clear(&err);
    kube_client_response_clear(&resp);
  }
  client_conn_close(&client->conn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > HTTP_MAX_INPUT)
    return 0;
  unsigned mode = data[0];
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return 0;
  if (!serve(sv[1], data + 1, size - 1)) {
    close(sv[0]);
    close(sv[1]);
    return 0;
  }
  if (mode & 1)
    run_stream(sv[0], mode);
  else
    run_requests(sv[0], mode);
  close(sv[1]);
  return 0;
}
