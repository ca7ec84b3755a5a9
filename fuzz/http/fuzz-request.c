/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the HTTP server's request path (http-parser callbacks, limits,
 * target decoding, query parsing, pipelining, chunked bodies, refusals,
 * streamed replies and upgrades): each input is written as the bytes of
 * one client connection to a unix listener; the server answers from the
 * loop this harness drives. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <libkube/http.h>

static kube_loop_t *loop;
static kube_http_server_t *srv;
static char sock_path[108];

static void h_any(kube_http_request_t *r, void *arg) {
  const char *p = kube_http_request_path(r);
  const char *v = kube_http_request_query_param(r, "watch");
  const char *h = kube_http_request_header(r, "content-type");
  size_t blen = 0;
  const char *body = kube_http_request_body(r, &blen);
  char out[256];
  int n = snprintf(out, sizeof out, "%s %zu %s %s %zu %.16s",
                   kube_http_request_method(r), strlen(p), v ? v : "-",
                   h ? h : "-", blen, body);
  if (n < 0)
    n = 0;
  if ((size_t)n >= sizeof out) /* a long header: snprintf cut it short */
    n = (int)sizeof out - 1;
  if (strstr(p, "stream")) {
    kube_http_stream_begin(r, 200, "text/plain", -1);
    kube_http_stream_write(r, out, (size_t)n);
    kube_http_stream_end(r);
    return;
  }
  if (kube_http_request_upgrade(r) && strstr(p, "up")) {
    kube_http_conn_t *c = kube_http_upgrade(r, NULL);
    if (c) {
      kube_http_conn_write(c, out, (size_t)n);
      kube_http_conn_close(c);
    }
    return;
  }
  kube_http_response_add_header(r, "X-Fuzz", "1", NULL);
  kube_http_reply(r, 200, "text/plain", out, (size_t)n);
}

static void init(void) {
  loop = kube_loop_new(NULL);
  kube_http_server_options_t o = {.struct_size = sizeof o,
                                  .max_body_bytes = 4096,
                                  .max_uri_bytes = 1024,
                                  .max_header_bytes = 2048,
                                  .max_headers = 16};
  srv = kube_http_server_new(loop, &o, NULL);
  char dir[] = "/tmp/fuzz-http-XXXXXX";
  if (!srv || !mkdtemp(dir))
    abort();
  snprintf(sock_path, sizeof sock_path, "%s/s", dir);
  char spec[128];
  snprintf(spec, sizeof spec, "unix:%s", sock_path);
  if (!kube_http_server_listen(srv, spec, NULL, NULL) ||
      kube_http_server_handle(srv, "/", h_any, NULL, NULL) < 0)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!srv)
    init();
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, sock_path);
  if (fd < 0 || (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 &&
                 errno != EINPROGRESS))
    abort();
  size_t off = 0;
  bool eof = false, shut = false;
  char buf[65536];
  /* Write, let the server run, read; until it closes or goes quiet. */
  for (int i = 0; i < 200 && !eof; i++) {
    if (off < size) {
      ssize_t w = send(fd, data + off, size - off, MSG_NOSIGNAL);
      if (w > 0)
        off += (size_t)w;
      else if (w < 0 && errno != EAGAIN)
        off = size;
    } else if (!shut) {
      shutdown(fd, SHUT_WR);
      shut = true;
    }
    kube_loop_iterate(loop, 0);
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r == 0 || (r < 0 && errno != EAGAIN))
      eof = true;
  }
  close(fd);
  for (int i = 0; i < 4; i++)
    kube_loop_iterate(loop, 0);
  return 0;
}
