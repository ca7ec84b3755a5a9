/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A connection of the client upgraded to a streaming protocol (exec,
 * attach, port-forward): the request with the upgrade headers of
 * <libkube/stream.h>, the server's answer checked, then non-blocking
 * reads and writes (TLS included) for a poll loop, so a client that
 * writes input never stops reading output (no deadlock when both sides'
 * buffers fill).
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <openssl/err.h>

#include "client/internal.h"
#include "core/util.h"

void client_up_init(struct client_up *u) {
  memset(u, 0, sizeof *u);
  client_conn_init(&u->cn);
}

void client_up_close(struct client_up *u) {
  client_conn_close(&u->cn);
  kube_strbuf_clear(&u->out);
  u->out_off = 0;
}

static int sink_strbuf(void *ud, const char *p, size_t n) {
  kube_strbuf_t *sb = ud;
  kube_strbuf_append_len(sb, p, n);
  return sb->oom ? -1 : 0;
}

int client_up_open(kube_client_t *c, const char *path, const char *query,
                   kube_stream_kind_t kind, kube_stream_transport_t tr,
                   struct client_up *u, kube_stream_upgrade_t *up,
                   kube_client_response_t *refused, kube_error_t *err) {
  if (c->tp)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "exec, attach and port-forward need a network "
                          "connection to the server (not an in-process "
                          "client)");
  client_up_close(u);
  if (kube_stream_client_prepare(kind, tr, up, err) < 0)
    return -1;
  const char *extra[2 * 5 + 1];
  size_t n = 0;
  for (size_t i = 0; i < up->n_headers && i < 5; i++) {
    extra[n++] = up->headers[i].name;
    extra[n++] = up->headers[i].value;
  }
  extra[n] = NULL;
  /* client-go upgrades with GET for WebSocket and POST for SPDY (kubectl
   * exec); the API server takes both. */
  kube_client_request_t req = {.struct_size = sizeof req,
                               .method =
                                   tr == KUBE_STREAM_SPDY ? "POST" : "GET",
                               .path = path,
                               .query = query,
                               .accept = "*/*"};
  if (tr == KUBE_STREAM_SPDY)
    req.body = ""; /* Content-Length: 0 */
  client_set_last_status(c, 0);
  if (client_conn_open(c, &u->cn, false, err) < 0)
    return -1;
  struct http_response_head h;
  bool nothing = false;
  if (client_http_send_ex(c, &u->cn, &req, extra, err) < 0 ||
      client_http_read_head(&u->cn, &h, true, &nothing, err) < 0) {
    client_up_close(u);
    return -1;
  }
  client_set_last_status(c, h.status);
  log_debug("client: upgrade %s%s?%s -> %d", c->server, path,
            query ? query : "", h.status);
  if (h.status != 101) {
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    struct body_sink sink = {sink_strbuf, &sb};
    if (client_http_read_body(&u->cn, &h, &sink, NULL) < 0)
      kube_strbuf_reset(&sb);
    kube_strbuf_append(&sb, "");
    memset(refused, 0, sizeof *refused);
    refused->status = h.status;
    refused->content_type = steal_pointer(&h.content_type);
    refused->body_len = sb.len;
    refused->body = kube_strbuf_steal(&sb);
    client_http_response_head_clear(&h);
    client_up_close(u);
    return 1;
  }
  kube_stream_response_t resp = {.status = h.status,
                                 .upgrade = h.upgrade,
                                 .connection = h.connection,
                                 .ws_accept = h.ws_accept,
                                 .ws_protocol = h.ws_protocol,
                                 .stream_protocol = h.stream_protocol};
  int rc = kube_stream_client_check(up, &resp, err);
  client_http_response_head_clear(&h);
  if (rc < 0) {
    client_up_close(u);
    return -1;
  }
  int fl = fcntl(u->cn.fd, F_GETFL);
  fcntl(u->cn.fd, F_SETFL, fl | O_NONBLOCK);
  /* Non-blocking TLS writes: a write retried after WANT_WRITE may come
   * from a buffer that moved (the queue grew), and may be partial. */
  if (u->cn.ssl)
    SSL_set_mode(u->cn.ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                SSL_MODE_ENABLE_PARTIAL_WRITE);
  return 0;
}

int client_up_refused_error(kube_client_t *c,
                            const kube_client_response_t *resp,
                            kube_error_t *err) {
  /* A Status body is the server's error as is; text (the kubelet's
   * answers) is what client-go prints after "unable to upgrade
   * connection". */
  if (resp->body && resp->body_len && resp->body[0] == '{' &&
      kube_client_check(resp, err) < 0 && err && err->message)
    return -1;
  /* Not the API server's Status: reported as client-go does, an error of
   * the client ("error: unable to upgrade connection: ..."). */
  client_set_last_status(c, 0);
  size_t n = resp->body ? resp->body_len : 0;
  while (n && (resp->body[n - 1] == '\n' || resp->body[n - 1] == ' ' ||
               resp->body[n - 1] == '\r'))
    n--;
  return kube_error_set(err, kube_reason_from_http_code(resp->status), 0,
                        "unable to upgrade connection: %.*s", (int)n,
                        n ? resp->body : "");
}

bool client_up_buffered(const struct client_up *u) {
  return u->cn.len > u->cn.pos || (u->cn.ssl && SSL_pending(u->cn.ssl) > 0);
}

ssize_t client_up_read(struct client_up *u, void *buf, size_t len,
                       kube_error_t *err) {
  struct conn *cn = &u->cn;
  if (cn->len > cn->pos) {
    size_t k = cn->len - cn->pos < len ? cn->len - cn->pos : len;
    memcpy(buf, cn->buf + cn->pos, k);
    cn->pos += k;
    return (ssize_t)k;
  }
  if (cn->ssl) {
    u->read_wants_write = false;
    struct sigpipe_guard g;
    client_sigpipe_block(&g);
    errno = 0;
    int n = SSL_read(cn->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    int sys = errno;
    client_sigpipe_restore(&g, n <= 0 && sys == EPIPE);
    if (n > 0)
      return n;
    int e = SSL_get_error(cn->ssl, n);
    if (e == SSL_ERROR_WANT_READ)
      return -1;
    if (e == SSL_ERROR_WANT_WRITE) {
      u->read_wants_write = true;
      return -1;
    }
    ERR_clear_error();
    /* A close_notify, or a peer gone without one: the end either way. */
    return 0;
  }
  for (;;) {
    ssize_t r = recv(cn->fd, buf, len, 0);
    if (r >= 0)
      return r;
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return -1;
    if (errno == ECONNRESET)
      return 0;
    kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, errno, "read: %s",
                   strerror(errno));
    return -2;
  }
}

void client_up_queue(struct client_up *u, const void *buf, size_t len) {
  kube_strbuf_append_len(&u->out, buf, len);
}

size_t client_up_pending(const struct client_up *u) {
  return u->out.len - u->out_off;
}

int client_up_flush(struct client_up *u, kube_error_t *err) {
  struct conn *cn = &u->cn;
  if (u->out.oom)
    return kube_make_oom(err);
  u->write_wants_read = false;
  while (u->out_off < u->out.len) {
    const char *p = u->out.data + u->out_off;
    size_t n = u->out.len - u->out_off;
    ssize_t w;
    if (cn->ssl) {
      /* A retry after WANT_WRITE repeats the same length (OpenSSL's
       * rule); new bytes queued meanwhile wait for the next write. */
      if (u->retry_len && u->retry_len <= n)
        n = u->retry_len;
      else if (n > 1 << 20)
        n = 1 << 20;
      struct sigpipe_guard g;
      client_sigpipe_block(&g);
      errno = 0;
      int r = SSL_write(cn->ssl, p, (int)n);
      int sys = errno;
      client_sigpipe_restore(&g, r <= 0 && sys == EPIPE);
      if (r <= 0) {
        int e = SSL_get_error(cn->ssl, r);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
          u->retry_len = n;
          u->write_wants_read = e == SSL_ERROR_WANT_READ;
          return 0;
        }
        ERR_clear_error();
        return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, EPIPE,
                              "write: the connection to the server broke");
      }
      w = r;
      u->retry_len = 0;
    } else {
      w = send(cn->fd, p, n, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
      if (w < 0)
        return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, errno,
                              "write: %s", strerror(errno));
    }
    u->out_off += (size_t)w;
  }
  kube_strbuf_reset(&u->out);
  u->out_off = 0;
  return 0;
}

short client_up_events(const struct client_up *u) {
  short ev = POLLIN;
  if (client_up_pending(u) || u->read_wants_write)
    ev |= POLLOUT;
  return ev;
}

int client_up_connect(kube_client_t *c, const char *path, const char *query,
                      kube_stream_kind_t kind,
                      const kube_stream_transport_t *order, size_t n,
                      struct client_up *u, kube_stream_upgrade_t *up,
                      kube_error_t *err) {
  for (size_t i = 0; i < n; i++) {
    kube_client_response_t refused = KUBE_CLIENT_RESPONSE_INIT;
    int rc =
        client_up_open(c, path, query, kind, order[i], u, up, &refused, err);
    if (rc <= 0)
      return rc;
    /* kubectl falls back to the next protocol whatever the refusal; the
     * last one's is the error. */
    if (i + 1 == n)
      client_up_refused_error(c, &refused, err);
    kube_client_response_clear(&refused);
  }
  return -1;
}

int client_up_pump(struct client_up *u,
                   void (*feed)(void *arg, const void *buf, size_t len),
                   void (*eof)(void *arg), void *arg, const bool *done,
                   kube_error_t *err) {
  char buf[65536];
  /* A bounded number of reads, so local input gets its turn. */
  for (int i = 0; i < 64 && !*done; i++) {
    ssize_t n = client_up_read(u, buf, sizeof buf, err);
    if (n == -1)
      return 0;
    if (n == -2)
      return -1;
    if (n == 0) {
      eof(arg);
      return 0;
    }
    feed(arg, buf, (size_t)n);
  }
  return 0;
}
