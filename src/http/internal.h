/* SPDX-License-Identifier: Apache-2.0 */
/* Shared inside the http module only (prefix http_). */
#ifndef KUBE_HTTP_INTERNAL_H
#define KUBE_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <http_parser.h>
#include <openssl/ssl.h>

#include <libkube/http.h>

#include "core/util.h"

#define HTTP_DEFAULT_MAX_BODY (3u * 1024 * 1024)
#define HTTP_DEFAULT_MAX_URI (32u * 1024)
#define HTTP_DEFAULT_MAX_HEADER_BYTES (64u * 1024)
#define HTTP_DEFAULT_MAX_HEADERS 128u
#define HTTP_DEFAULT_HEADER_TIMEOUT_MS 30000
#define HTTP_DEFAULT_BODY_TIMEOUT_MS 30000
#define HTTP_DEFAULT_IDLE_TIMEOUT_MS 90000
#define HTTP_DEFAULT_WRITE_TIMEOUT_MS 60000
/* Bytes one write of a connection may send (libevent's default: 16 KiB). */
#define HTTP_MAX_SINGLE_WRITE (4u << 20)
#define HTTP_DEFAULT_UNIX_CONNS 256u
/* Replies up to this size are copied next to their head (one write, one
 * TLS record); larger ones are handed over by reference. */
#define HTTP_COALESCE_MAX (64u * 1024)
/* Pipelined bytes buffered while a request is being answered. */
#define HTTP_MAX_PIPELINE_BUFFER (256u * 1024)
/* A refused connection is drained this long before it is closed, so the
 * peer reads the refusal instead of a reset. */
#define HTTP_LINGER_MS 2000
/* ... but never more than this many bytes. */
#define HTTP_LINGER_MAX_BYTES (64u * 1024 * 1024)

struct http_handler {
  char *prefix;
  size_t len;
  kube_http_handler_fn fn;
  void *arg;
  bool streaming; /* runs at the headers; reads the body itself */
  struct http_handler *next;
};

/* Connections per peer address (TCP/TLS): a small chained hash table. */
struct http_peer {
  unsigned char addr[16];
  uint8_t len;
  unsigned n;
  struct http_peer *next;
};
#define HTTP_PEER_BUCKETS 256

struct kube_http_listener {
  kube_http_server_t *srv;
  kube_http_listener_type_t transport;
  int fd;
  struct event *ev;
  struct event *resume_ev; /* re-enables accepting after a back-off */
  SSL_CTX *ssl;
  char *unix_path;
  int port;
  unsigned conns, max_conns;
  TAILQ_ENTRY(kube_http_listener) link;
};
TAILQ_HEAD(http_listener_list, kube_http_listener);

TAILQ_HEAD(http_conn_list, kube_http_conn);

struct kube_http_server {
  kube_loop_t *loop;
  struct event_base *base;
  size_t max_body, max_uri, max_header_bytes;
  size_t max_body_total, body_total; /* bodies being read, all conns */
  unsigned max_headers;
  int header_ms, body_ms, idle_ms, write_ms;
  unsigned max_conns, max_conns_per_peer, max_unix_conns;
  kube_http_error_body_fn error_body;
  void *error_body_arg;
  struct http_listener_list listeners;
  struct http_handler *handlers;
  struct http_conn_list conns; /* every connection with a socket */
  unsigned tcp_conns, unix_conns;
  struct http_peer *peers[HTTP_PEER_BUCKETS];
  int reserve_fd; /* spent to accept-and-close when out of descriptors */
  /* Returns freed output buffers to the system (malloc_trim) once the
   * loop is idle: a closed connection may free tens of MiB. */
  struct event *trim_ev;
  struct core_ratelimit accept_rl, refuse_rl, cap_rl;
  time_t date_at;
  char date[40];
};

/* A verified client certificate's subject, shared by the connection and
 * the requests that came on it. */
struct http_cert {
  int refs;
  kube_http_peer_cert_t pub;
  char *cn;
  char **orgs;
};
struct http_cert *http_cert_ref(struct http_cert *c);
void http_cert_unref(struct http_cert *c);
struct http_cert *http_cert_from_ssl(SSL *ssl);

enum http_conn_state {
  HC_IDLE,      /* between requests (or before the first byte) */
  HC_HEADERS,   /* inside a request's head */
  HC_BODY,      /* reading its body */
  HC_HANDLING,  /* a handler has it; no response yet */
  HC_STREAMING, /* a streamed response is going out */
  HC_CLOSING,   /* flushing the last response, then close */
  HC_LINGER,    /* refused: output flushed, draining input until EOF */
  HC_UPGRADED,  /* a duplex byte stream owned by a kube_http_conn_t user */
  HC_DEAD,      /* socket closed; the struct waits for its owner */
};

enum http_timer { HT_NONE, HT_HEADER, HT_BODY, HT_IDLE, HT_LINGER };

struct http_hdr {
  char *name, *value;
};

struct http_param {
  char *key, *value;
};

struct kube_http_request {
  struct kube_http_conn *conn; /* NULL once detached */
  kube_http_listener_t *listener_seen;
  kube_http_listener_type_t transport;
  const char *method; /* static, or method_buf */
  char *method_buf;
  int method_id; /* enum http_method */
  int minor;
  char *target; /* raw */
  char *path;   /* decoded */
  const char *query;
  struct http_hdr *hdrs;
  size_t n_hdrs, cap_hdrs;
  kube_strbuf_t body;
  struct http_param *params;
  size_t n_params;
  bool params_parsed;
  const char *upgrade;
  bool keep_alive;
  bool head;
  char peer[64];
  struct http_cert *cert;
  /* response */
  kube_strbuf_t resp_hdrs;
  bool started; /* head written */
  bool chunked;
  bool finished;
  void (*close_cb)(kube_http_request_t *, void *);
  void *close_arg;
  void (*drained_cb)(kube_http_request_t *, void *);
  void *drained_arg;
  size_t low_water;
  void *data;
  /* streamed request body (a handler registered with
   * kube_http_server_handle_streaming) */
  bool stream_body;    /* the body is read by the handler */
  bool body_end;       /* the parser completed the message */
  bool body_error;     /* malformed body: the connection closes */
  bool continue_sent;  /* "100 Continue" answered an Expect */
  kube_http_body_fn body_fn; /* a pending read */
  void *body_arg;
  size_t body_max;
  const struct http_local_sink *sink; /* in-process requests */
  void *sink_arg;
};

struct kube_http_conn {
  kube_http_server_t *srv;        /* NULL once the server is freed */
  kube_http_listener_t *listener; /* NULL once that listener closed */
  kube_http_listener_type_t transport;
  struct bufferevent *bev; /* NULL once the socket is closed */
  int fd;
  enum http_conn_state state;
  enum http_timer timer_kind;
  struct event *timer;
  struct event *process_ev; /* deferred parsing / delivery */
  http_parser parser;
  /* Debian's http-parser is built lax (HTTP_PARSER_STRICT=0): it takes
   * any two bytes after a chunk's data for its CRLF.  We check them
   * ourselves (a smuggling vector behind a proxy that reads them
   * strictly): the end of the buffer being parsed, and how many bytes of
   * a chunk's CRLF are still to come in the next one. */
  const char *exec_end;
  unsigned crlf_left;
  size_t body_acct; /* this request's bytes in srv->body_total */
  kube_http_request_t *cur; /* being parsed, or owned by a handler */
  /* head accumulators */
  kube_strbuf_t field, value;
  bool in_value;
  size_t header_bytes;
  int refuse_code; /* set by a parser callback that refuses the request */
  const char *refuse_msg;
  char refuse_buf[192]; /* a refusal message made for this request */
  bool msg_done; /* the parser completed a request */
  bool head_done; /* headers of a streaming-body request: dispatch now */
  bool counted;  /* accounted in the listener / server / peer counts */
  unsigned char peer_addr[16];
  uint8_t peer_len;
  char peer[64];
  struct http_cert *cert;
  bool read_eof;
  /* upgraded mode */
  bool owned; /* handed to a user as kube_http_conn_t */
  const kube_http_conn_callbacks_t *cbs;
  void *cb_arg;
  size_t low_water;
  bool paused;
  bool closed_pending;  /* the socket died before callbacks were set */
  bool linger;          /* linger once the refusal is flushed */
  size_t lingered;      /* bytes swallowed while lingering */
  int busy;             /* inside a user callback */
  bool close_requested; /* kube_http_conn_close during a callback */
  TAILQ_ENTRY(kube_http_conn) link;
};

/* ---- server.c ---- */
const char *http_date(kube_http_server_t *srv);
void http_server_conn_added(kube_http_server_t *srv, struct kube_http_conn *c);
void http_server_conn_gone(kube_http_server_t *srv, struct kube_http_conn *c);
/* Return freed memory to the system soon (from the loop). */
void http_server_trim_soon(kube_http_server_t *srv);
const struct http_handler *http_server_route(kube_http_server_t *srv,
                                             const char *path);
char *http_error_body(kube_http_server_t *srv, int code, const char *message,
                      size_t *len);

/* ---- conn.c ---- */
void http_conn_enable_read(struct kube_http_conn *c);
void http_conn_accepted(kube_http_listener_t *l, int fd,
                        const struct sockaddr *sa, socklen_t sl);
/* Close the socket now (no flush); the struct stays for its owner. */
void http_conn_kill(struct kube_http_conn *c);
/* The request on c is finished: go on with the next one or close. */
void http_conn_request_done(struct kube_http_conn *c, bool keep_alive);
/* Write an error response made by the server and close after it. */
void http_conn_refuse(struct kube_http_conn *c, int code, const char *msg);
void http_conn_set_stream_mode(struct kube_http_conn *c, bool streaming);
void http_conn_free_struct(struct kube_http_conn *c);
/* The server is being freed: close c, detach or notify its owner. */
void http_conn_server_gone(struct kube_http_conn *c);
/* Detach c's current request (runs its close callback). */
void http_conn_detach_request(struct kube_http_conn *c);
/* Schedule a pending streamed-body read of c's request (from the loop). */
void http_conn_body_wake(struct kube_http_conn *c);

/* ---- request.c ---- */
kube_http_request_t *http_request_new(struct kube_http_conn *c);
void http_request_free(kube_http_request_t *r);
int http_request_add_header(kube_http_request_t *r, const char *name,
                            size_t nlen, const char *value, size_t vlen);
/* Split the target into path (decoded) and query; 400 message or NULL. */
const char *http_request_set_target(kube_http_request_t *r);
const char *http_reason_phrase(int code);
int http_percent_decode(const char *s, size_t n, bool plus_space, char **out);

/* ---- tls.c ---- */
SSL_CTX *http_tls_server_ctx(const kube_http_listen_options_t *o,
                             kube_error_t *err);
SSL_CTX *http_tls_client_ctx(const kube_http_proxy_options_t *o,
                             kube_error_t *err);

#endif /* KUBE_HTTP_INTERNAL_H */
