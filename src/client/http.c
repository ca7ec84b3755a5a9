/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP/1.1 transport of the client: URL parsing, blocking connections
 * over unix sockets and TCP (TLS in tls.c), request writing and response
 * reading (Content-Length, chunked, or until close).
 */
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <openssl/err.h>

#include "client/internal.h"
#include "core/util.h"

void client_server_url_clear(struct server_url *u) {
  free(u->host);
  free(u->port);
  free(u->prefix);
  memset(u, 0, sizeof *u);
}

int client_server_url_parse(const char *url, struct server_url *out,
                            kube_error_t *err) {
  memset(out, 0, sizeof *out);
  if (!url || !*url)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "no server given");
  if (str_has_prefix(url, "unix:")) {
    const char *p = url + 5;
    /* unix:///run/x.sock and unix:/run/x.sock are both accepted. */
    if (str_has_prefix(p, "//"))
      p += 2;
    if (!*p)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "server \"%s\": empty socket path", url);
    out->unix_socket = true;
    out->host = strdup(p);
    out->port = strdup("");
    out->prefix = strdup("");
    if (!out->host || !out->port || !out->prefix) {
      client_server_url_clear(out);
      return kube_make_oom(err);
    }
    return 0;
  }
  const char *p;
  if (str_has_prefix(url, "https://")) {
    out->tls = true;
    p = url + 8;
  } else if (str_has_prefix(url, "http://")) {
    p = url + 7;
  } else if (strstr(url, "://")) {
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "server \"%s\": unsupported scheme", url);
  } else {
    /* kubectl treats a bare host[:port] as https. */
    out->tls = true;
    p = url;
  }
  const char *slash = strchr(p, '/');
  size_t hostport_len = slash ? (size_t)(slash - p) : strlen(p);
  cleanup_free char *hostport = strndup(p, hostport_len);
  if (!hostport)
    return kube_make_oom(err);
  char *host = hostport, *port = NULL;
  if (host[0] == '[') {
    char *end = strchr(host, ']');
    if (!end)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "server \"%s\": bad IPv6 address", url);
    *end = '\0';
    host++;
    if (end[1] == ':')
      port = end + 2;
    else if (end[1])
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "server \"%s\": bad host", url);
  } else {
    char *colon = strrchr(host, ':');
    if (colon) {
      *colon = '\0';
      port = colon + 1;
    }
  }
  if (!*host)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "server \"%s\": no host", url);
  if (port) {
    if (!*port)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "server \"%s\": empty port", url);
    for (const char *q = port; *q; q++)
      if (!isdigit((unsigned char)*q))
        return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                              "server \"%s\": bad port", url);
  }
  out->host = strdup(host);
  out->port = strdup(port ? port : out->tls ? "443" : "80");
  out->prefix = slash ? strdup(slash) : strdup("");
  if (!out->host || !out->port || !out->prefix) {
    client_server_url_clear(out);
    return kube_make_oom(err);
  }
  size_t pl = strlen(out->prefix);
  while (pl > 0 && out->prefix[pl - 1] == '/')
    out->prefix[--pl] = '\0';
  return 0;
}

void client_conn_init(struct conn *cn) {
  memset(cn, 0, sizeof *cn);
  cn->fd = -1;
}

void client_conn_close(struct conn *cn) {
  if (cn->ssl) {
    SSL_free(cn->ssl);
    cn->ssl = NULL;
  }
  if (cn->fd >= 0)
    close(cn->fd);
  free(cn->buf);
  client_conn_init(cn);
}

static void set_timeouts(int fd, int ms) {
  struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static int connect_unix(const char *path, kube_error_t *err) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, ENAMETOOLONG,
                          "socket path too long: %s", path);
  strcpy(sa.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return kube_make_error(err, errno, "socket: %s", strerror(errno));
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, e,
                          "The connection to the server unix:%s was refused "
                          "- is kubed running? (%s)",
                          path, strerror(e));
  }
  return fd;
}

/* timeout_ms > 0: the socket's send and receive timeouts, set before
 * connect() so that it bounds the connection too (Linux applies
 * SO_SNDTIMEO to connect). */
static int connect_tcp(const char *host, const char *port, int timeout_ms,
                       kube_error_t *err) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  struct addrinfo *res = NULL;
  int rc = getaddrinfo(host, port, &hints, &res);
  if (rc != 0)
    return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                          "dial tcp: lookup %s: %s", host, gai_strerror(rc));
  int fd = -1, e = ECONNREFUSED;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      e = errno;
      continue;
    }
    if (timeout_ms > 0)
      set_timeouts(fd, timeout_ms);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
      break;
    e = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0)
    return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, e,
                          "The connection to the server %s:%s was refused - "
                          "did you specify the right host or port? (%s)",
                          host, port, strerror(e));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

int client_conn_open(kube_client_t *c, struct conn *cn, bool use_timeout,
                     kube_error_t *err) {
  client_conn_close(cn);
  int fd = c->url.unix_socket ? connect_unix(c->url.host, err)
                              : connect_tcp(c->url.host, c->url.port,
                                            use_timeout ? c->timeout_ms : 0,
                                            err);
  if (fd < 0)
    return -1;
  cn->fd = fd;
  if (use_timeout && c->timeout_ms > 0)
    set_timeouts(fd, c->timeout_ms);
  if (c->url.tls && client_tls_connect(c, cn, err) < 0) {
    client_conn_close(cn);
    return -1;
  }
  return 0;
}

static int io_error(kube_error_t *err, const char *what, int e) {
  if (e == EAGAIN || e == EWOULDBLOCK)
    return kube_error_set(err, KUBE_REASON_TIMEOUT, ETIMEDOUT, "%s: timed out",
                          what);
  return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, e, "%s: %s", what,
                        strerror(e));
}

void client_sigpipe_block(struct sigpipe_guard *g) {
  sigset_t pipe_set, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigemptyset(&pending);
  sigpending(&pending);
  g->was_pending = sigismember(&pending, SIGPIPE) == 1;
  pthread_sigmask(SIG_BLOCK, &pipe_set, &g->old);
}

void client_sigpipe_restore(struct sigpipe_guard *g, bool got_epipe) {
  if (got_epipe && !g->was_pending) {
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    struct timespec zero = {0, 0};
    int saved = errno;
    sigtimedwait(&pipe_set, NULL, &zero);
    errno = saved;
  }
  pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* The server refused the handshake with an alert (with TLS 1.3 it comes
 * after the client finished, on the first write or read): a client
 * certificate it does not trust.  True with err set, as Go's clients say
 * it; false for any other failure of SSL_read/SSL_write result r. */
static bool tls_alert(SSL *ssl, int r, kube_error_t *err) {
  unsigned long ec =
      SSL_get_error(ssl, r) == SSL_ERROR_SSL ? ERR_peek_error() : 0;
  const char *rs = ec ? ERR_reason_error_string(ec) : NULL;
  if (!rs || !strstr(rs, "alert"))
    return false;
  kube_error_set(err, KUBE_REASON_UNAUTHORIZED, EACCES, "remote error: tls: %s",
                 rs);
  ERR_clear_error();
  return true;
}

static int conn_write_all(struct conn *cn, const char *p, size_t n,
                          kube_error_t *err) {
  while (n > 0) {
    ssize_t w;
    if (cn->ssl) {
      struct sigpipe_guard g;
      client_sigpipe_block(&g);
      errno = 0;
      int r = SSL_write(cn->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
      int e = errno;
      client_sigpipe_restore(&g, r <= 0 && e == EPIPE);
      if (r <= 0 && tls_alert(cn->ssl, r, err))
        return -1;
      if (r <= 0 && SSL_get_error(cn->ssl, r) == SSL_ERROR_SYSCALL) {
        /* The server may have sent its alert before closing: read it. */
        char b[64];
        ERR_clear_error();
        int rr = SSL_read(cn->ssl, b, sizeof b);
        if (rr <= 0 && tls_alert(cn->ssl, rr, err))
          return -1;
        ERR_clear_error();
      }
      if (r <= 0)
        return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE,
                              e == EPIPE ? EPIPE : EIO, "TLS write failed (%d)",
                              SSL_get_error(cn->ssl, r));
      w = r;
    } else {
      w = send(cn->fd, p, n, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EINTR)
          continue;
        return io_error(err, "write", errno);
      }
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Refill the buffer.  Returns bytes read, 0 at EOF, -1 with err. */
static ssize_t conn_fill(struct conn *cn, kube_error_t *err) {
  if (cn->pos > 0 && cn->pos == cn->len)
    cn->pos = cn->len = 0;
  if (cn->len == cn->cap || cn->cap - cn->len < 4096) {
    if (cn->pos > 0) {
      memmove(cn->buf, cn->buf + cn->pos, cn->len - cn->pos);
      cn->len -= cn->pos;
      cn->pos = 0;
    }
    if (cn->cap - cn->len < 4096) {
      size_t ncap = cn->cap ? cn->cap * 2 : 16384;
      char *nb = realloc(cn->buf, ncap);
      if (!nb)
        return kube_make_oom(err);
      cn->buf = nb;
      cn->cap = ncap;
    }
  }
  for (;;) {
    ssize_t r;
    size_t room = cn->cap - cn->len;
    if (cn->ssl) {
      struct sigpipe_guard g;
      client_sigpipe_block(&g);
      errno = 0;
      int n = SSL_read(cn->ssl, cn->buf + cn->len,
                       room > INT32_MAX ? INT32_MAX : (int)room);
      int sys = errno; /* TLS 1.3 reads may write (key updates, alerts) */
      client_sigpipe_restore(&g, n <= 0 && sys == EPIPE);
      if (n <= 0) {
        int e = SSL_get_error(cn->ssl, n);
        if (e == SSL_ERROR_ZERO_RETURN ||
            (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && sys == 0)) {
          cn->eof = true;
          return 0;
        }
        if (e == SSL_ERROR_SYSCALL && (sys == EAGAIN || sys == EWOULDBLOCK))
          return io_error(err, "read", sys);
        if (tls_alert(cn->ssl, n, err))
          return -1;
        /* OpenSSL 3 reports an unexpected EOF as an SSL error. */
        cn->eof = true;
        ERR_clear_error();
        return 0;
      }
      r = n;
    } else {
      r = recv(cn->fd, cn->buf + cn->len, room, 0);
      if (r < 0) {
        if (errno == EINTR)
          continue;
        if (errno == ECONNRESET) {
          cn->eof = true;
          return 0;
        }
        return io_error(err, "read", errno);
      }
      if (r == 0) {
        cn->eof = true;
        return 0;
      }
    }
    cn->len += (size_t)r;
    return r;
  }
}

/* Read one CRLF (or LF) terminated line into sb (without the ending).
 * Returns 0, 1 on EOF before any byte of the line, -1 on error. */
static int conn_read_line(struct conn *cn, kube_strbuf_t *sb,
                          kube_error_t *err) {
  kube_strbuf_reset(sb);
  bool any = false;
  for (;;) {
    char *start = cn->buf ? cn->buf + cn->pos : NULL; /* no NULL + 0 */
    char *nl =
        cn->len > cn->pos ? memchr(start, '\n', cn->len - cn->pos) : NULL;
    if (nl) {
      size_t n = (size_t)(nl - start);
      kube_strbuf_append_len(sb, start, n);
      cn->pos += n + 1;
      if (sb->len > 0 && sb->data[sb->len - 1] == '\r')
        sb->data[--sb->len] = '\0';
      if (!sb->data)
        kube_strbuf_append(sb, "");
      return sb->oom ? kube_make_oom(err) : 0;
    }
    if (cn->len > cn->pos) {
      kube_strbuf_append_len(sb, start, cn->len - cn->pos);
      cn->pos = cn->len;
      any = true;
    }
    if (sb->len > 65536)
      return kube_error_set(err, KUBE_REASON_INTERNAL, 0,
                            "HTTP header line too long");
    ssize_t r = conn_fill(cn, err);
    if (r < 0)
      return -1;
    if (r == 0) {
      if (!any)
        return 1;
      return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                            "unexpected EOF in response");
    }
  }
}

void client_http_response_head_clear(struct http_response_head *h) {
  free(h->content_type);
  free(h->upgrade);
  free(h->connection);
  free(h->ws_accept);
  free(h->ws_protocol);
  free(h->stream_protocol);
  memset(h, 0, sizeof *h);
}

int client_http_send(kube_client_t *c, struct conn *cn,
                     const kube_client_request_t *req, kube_error_t *err) {
  return client_http_send_ex(c, cn, req, NULL, err);
}

int client_http_send_ex(kube_client_t *c, struct conn *cn,
                        const kube_client_request_t *req,
                        const char *const *extra, kube_error_t *err) {
  cleanup_strbuf kube_strbuf_t sb = KUBE_STRBUF_INIT;
  const char *path = req->path && *req->path ? req->path : "/";
  kube_strbuf_printf(&sb, "%s %s%s", req->method ? req->method : "GET",
                     c->url.prefix, path);
  if (req->query && *req->query)
    kube_strbuf_printf(&sb, "?%s", req->query);
  kube_strbuf_append(&sb, " HTTP/1.1\r\n");
  if (c->url.unix_socket)
    kube_strbuf_append(&sb, "Host: localhost\r\n");
  else if (strchr(c->url.host, ':'))
    kube_strbuf_printf(&sb, "Host: [%s]:%s\r\n", c->url.host, c->url.port);
  else
    kube_strbuf_printf(&sb, "Host: %s:%s\r\n", c->url.host, c->url.port);
  kube_strbuf_printf(&sb, "User-Agent: %s\r\n", c->user_agent);
  kube_strbuf_printf(&sb, "Accept: %s\r\n",
                     req->accept ? req->accept : "application/json");
  if (c->token)
    kube_strbuf_printf(&sb, "Authorization: Bearer %s\r\n", c->token);
  else if (c->basic_auth)
    kube_strbuf_printf(&sb, "Authorization: Basic %s\r\n", c->basic_auth);
  size_t blen =
      req->body ? (req->body_len ? req->body_len : strlen(req->body)) : 0;
  if (req->content_type)
    kube_strbuf_printf(&sb, "Content-Type: %s\r\n", req->content_type);
  const char *m = req->method ? req->method : "GET";
  if (req->body || streq(m, "POST") || streq(m, "PUT") || streq(m, "PATCH"))
    kube_strbuf_printf(&sb, "Content-Length: %zu\r\n", blen);
  for (size_t i = 0; extra && extra[i] && extra[i + 1]; i += 2)
    kube_strbuf_printf(&sb, "%s: %s\r\n", extra[i], extra[i + 1]);
  kube_strbuf_append(&sb, "\r\n");
  if (sb.oom)
    return kube_make_oom(err);
  if (conn_write_all(cn, sb.data, sb.len, err) < 0)
    return -1;
  if (blen > 0 && conn_write_all(cn, req->body, blen, err) < 0)
    return -1;
  return 0;
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t')
    s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    s[--n] = '\0';
  return s;
}

static int read_head(struct conn *cn, struct http_response_head *h,
                     bool upgrade, bool *nothing, kube_error_t *err);

/* On failure the head is cleared, so callers never leak a half-read one. */
int client_http_read_head(struct conn *cn, struct http_response_head *h,
                          bool upgrade, bool *nothing, kube_error_t *err) {
  int r = read_head(cn, h, upgrade, nothing, err);
  if (r < 0)
    client_http_response_head_clear(h);
  return r;
}

static int read_head(struct conn *cn, struct http_response_head *h,
                     bool upgrade, bool *nothing, kube_error_t *err) {
  cleanup_strbuf kube_strbuf_t line = KUBE_STRBUF_INIT;
  memset(h, 0, sizeof *h);
  h->content_length = -1;
  *nothing = false;
  int r;
  /* Skip 1xx interim responses (100 Continue). */
  for (;;) {
    r = conn_read_line(cn, &line, err);
    if (r < 0)
      return -1;
    if (r == 1) {
      *nothing = true;
      return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, ECONNRESET,
                            "the server closed the connection");
    }
    int major = 0, minor = 0, status = 0;
    if (sscanf(line.data, "HTTP/%d.%d %d", &major, &minor, &status) != 3 ||
        status < 100 || status > 999)
      return kube_error_set(err, KUBE_REASON_INTERNAL, 0,
                            "malformed HTTP status line \"%.80s\"", line.data);
    if (status == 101 && !upgrade)
      return kube_error_set(err, KUBE_REASON_INTERNAL, EPROTO,
                            "the server switched protocols (101) on a request "
                            "that asked for no upgrade");
    h->status = status;
    h->close = (major == 1 && minor == 0);
    /* 101 Switching Protocols is the final answer to an upgrade. */
    bool interim = status >= 100 && status < 200 && status != 101;
    for (;;) {
      r = conn_read_line(cn, &line, err);
      if (r < 0)
        return -1;
      if (r == 1)
        return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                              "unexpected EOF in response headers");
      if (line.len == 0)
        break;
      char *colon = strchr(line.data, ':');
      if (!colon)
        continue;
      *colon = '\0';
      char *name = trim(line.data), *value = trim(colon + 1);
      if (strcasecmp(name, "Content-Length") == 0) {
        char *end;
        long long v = strtoll(value, &end, 10);
        if (*end || v < 0)
          return kube_error_set(err, KUBE_REASON_INTERNAL, 0,
                                "bad Content-Length \"%s\"", value);
        h->content_length = v;
      } else if (strcasecmp(name, "Transfer-Encoding") == 0) {
        if (strcasestr(value, "chunked"))
          h->chunked = true;
      } else if (strcasecmp(name, "Connection") == 0) {
        if (strcasestr(value, "close"))
          h->close = true;
        else if (strcasestr(value, "keep-alive"))
          h->close = false;
      } else if (strcasecmp(name, "Content-Type") == 0) {
        free(h->content_type);
        h->content_type = strdup(value);
      } else {
        static const char *const keep[] = {
            "Upgrade", "Sec-WebSocket-Accept", "Sec-WebSocket-Protocol",
            "X-Stream-Protocol-Version"};
        char **slot[] = {&h->upgrade, &h->ws_accept, &h->ws_protocol,
                         &h->stream_protocol};
        for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
          if (strcasecmp(name, keep[i]) == 0 && !*slot[i])
            *slot[i] = strdup(value);
      }
      if (strcasecmp(name, "Connection") == 0 && !h->connection)
        h->connection = strdup(value);
    }
    if (!interim)
      break;
    client_http_response_head_clear(h);
    h->content_length = -1;
  }
  if (h->status == 204 || h->status == 304)
    h->content_length = 0;
  if (h->chunked)
    h->content_length = -1;
  else if (h->content_length < 0)
    h->close = true; /* delimited by EOF */
  return 0;
}

/* Pass up to n buffered bytes to the sink.  Returns the sink's verdict. */
static int feed(struct conn *cn, size_t n, const struct body_sink *sink,
                kube_error_t *err) {
  int r = sink->data(sink->ud, cn->buf + cn->pos, n);
  cn->pos += n;
  if (r < 0)
    return kube_error_set(err, KUBE_REASON_INTERNAL, ENOMEM,
                          "out of memory reading the response");
  return r;
}

static int read_exact(struct conn *cn, unsigned long long n,
                      const struct body_sink *sink, kube_error_t *err) {
  while (n > 0) {
    if (cn->len == cn->pos) {
      ssize_t r = conn_fill(cn, err);
      if (r < 0)
        return -1;
      if (r == 0)
        return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                              "unexpected EOF in response body");
    }
    size_t avail = cn->len - cn->pos;
    size_t take = avail < n ? avail : (size_t)n;
    int r = feed(cn, take, sink, err);
    if (r != 0)
      return r;
    n -= take;
  }
  return 0;
}

int client_http_read_body(struct conn *cn, const struct http_response_head *h,
                          const struct body_sink *sink, kube_error_t *err) {
  if (h->chunked) {
    cleanup_strbuf kube_strbuf_t line = KUBE_STRBUF_INIT;
    for (;;) {
      int r = conn_read_line(cn, &line, err);
      if (r < 0)
        return -1;
      if (r == 1)
        return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                              "unexpected EOF in chunked response");
      char *end;
      errno = 0;
      unsigned long long size = strtoull(line.data, &end, 16);
      if (end == line.data || errno)
        return kube_error_set(err, KUBE_REASON_INTERNAL, 0,
                              "bad chunk size \"%.40s\"", line.data);
      if (size == 0) {
        /* Trailers until the empty line. */
        do {
          r = conn_read_line(cn, &line, err);
          if (r < 0)
            return -1;
        } while (r == 0 && line.len > 0);
        return 0;
      }
      r = read_exact(cn, size, sink, err);
      if (r != 0)
        return r;
      r = conn_read_line(cn, &line, err);
      if (r < 0)
        return -1;
      if (r == 1 || line.len != 0)
        return kube_error_set(err, KUBE_REASON_INTERNAL, 0,
                              "malformed chunked encoding");
    }
  }
  if (h->content_length >= 0)
    return read_exact(cn, (unsigned long long)h->content_length, sink, err);
  for (;;) {
    if (cn->len > cn->pos) {
      int r = feed(cn, cn->len - cn->pos, sink, err);
      if (r != 0)
        return r;
    }
    ssize_t r = conn_fill(cn, err);
    if (r < 0)
      return -1;
    if (r == 0)
      return 0;
  }
}

char *client_query_escape(const char *s) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  static const char hex[] = "0123456789ABCDEF";
  kube_strbuf_append(&sb, "");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
      kube_strbuf_append_char(&sb, (char)*p);
    } else {
      char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
      kube_strbuf_append_len(&sb, e, 3);
    }
  }
  return kube_strbuf_steal(&sb);
}
