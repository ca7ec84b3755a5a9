/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libkube http: an HTTP/1.1 server on a kube_loop_t, for the API server,
 * the registry, the node agent's streaming server, the dashboard and
 * metrics; plus an upgrade-aware reverse proxy.
 *
 * Listeners: "unix:PATH" (socket mode 0600) and "tcp:ADDR:PORT", plain or
 * TLS (optionally verifying client certificates).  Keep-alive, pipelined
 * requests answered in order, Content-Length and chunked request bodies
 * (chunk extensions accepted), responses with Content-Length or chunked
 * streaming, HEAD.  Requests are parsed by the Debian-packaged
 * http-parser (libhttp-parser 2.9).
 *
 * Defences (each configurable, see kube_http_server_options_t): a
 * connection must finish its TLS handshake and its first request's headers
 * within header_timeout_ms (a fixed deadline that trickled bytes do not
 * extend); later requests' headers likewise from their first byte; a body
 * must make progress every body_timeout_ms; an idle keep-alive connection
 * is closed after idle_timeout_ms; a reply nobody reads is dropped after
 * write_timeout_ms.  Streamed responses (watches, follow logs) and
 * upgraded / hijacked connections are exempt from all of these: their
 * owners keep them alive.  Connections are capped per TCP/TLS server
 * budget, per listener and per peer address; unix listeners have a budget
 * of their own so a TCP flood never starves them.  A reserved descriptor
 * lets the server accept-and-close when the process is out of descriptors
 * instead of spinning.  Request line, headers and bodies are bounded; two
 * Content-Length headers, Content-Length with Transfer-Encoding, a NUL in
 * the (decoded) path are 400; a Content-Length above the body limit is 413
 * before any body byte is read, a chunked body is refused with 413 as soon
 * as it passes the limit.  Every refusal the server itself writes has a
 * JSON body (a Kubernetes Status by default; see error_body).
 *
 * Ownership: a kube_http_request_t given to a handler belongs to that
 * handler until it finishes it with exactly one of kube_http_reply*,
 * kube_http_stream_end / kube_http_stream_abort, kube_http_upgrade or
 * kube_http_hijack (or hands it to kube_http_proxy, which finishes it).
 * A request outlives its connection: when the peer goes away first, the
 * close callback (if set) runs, the request stays valid, and finishing
 * it then just releases it.  A kube_http_conn_t (upgraded or hijacked
 * connection) belongs to whoever got it, until kube_http_conn_close.
 *
 * Threading: everything runs on the loop given to kube_http_server_new;
 * every function must be called from that loop's thread, and callbacks
 * run on it.  No callback runs inside the call that registered it.
 */
#ifndef LIBKUBE_HTTP_H
#define LIBKUBE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libkube/core.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kube_http_server kube_http_server_t;
typedef struct kube_http_listener kube_http_listener_t;
typedef struct kube_http_request kube_http_request_t;
typedef struct kube_http_conn kube_http_conn_t;

/* Builds the body of an error the server writes itself (400, 404, 408,
 * 413, 414, 431, 502, 503, ...).  `message` is borrowed.  Returns an owned
 * JSON text (free()), or NULL to use the default: a Kubernetes v1 Status
 * ({"kind":"Status","apiVersion":"v1","status":"Failure","message":...,
 * "reason":...,"code":...}). */
typedef char *(*kube_http_error_body_fn)(int code, const char *message,
                                         void *arg);

typedef struct kube_http_server_options {
  size_t struct_size; /* sizeof(kube_http_server_options_t) */
  /* Largest request body (default 3 MiB). */
  size_t max_body_bytes;
  /* Longest request target (path and query; default 32 KiB): 414. */
  size_t max_uri_bytes;
  /* Header fields and values of one request together (default 64 KiB),
   * and their number (default 128): 431. */
  size_t max_header_bytes;
  unsigned max_headers;
  /* Milliseconds; 0 takes the default, < 0 disables.  See above. */
  int header_timeout_ms; /* default 30000 */
  int body_timeout_ms;   /* default 30000 */
  int idle_timeout_ms;   /* default 90000 */
  int write_timeout_ms;  /* default 60000 */
  /* Open connections over all TCP/TLS listeners of this server.  0: the
   * descriptor limit (RLIMIT_NOFILE at kube_http_server_new) less the unix
   * budget and 128 for the rest of the process. */
  unsigned max_conns;
  /* Open connections from one peer address (TCP/TLS).  0: max_conns/2. */
  unsigned max_conns_per_peer;
  /* Open connections over all unix listeners (default 256). */
  unsigned max_unix_conns;
  /* See kube_http_error_body_fn; NULL: the default. */
  kube_http_error_body_fn error_body;
  void *error_body_arg;
  /* Request bodies being read, over all connections (default 64 MiB):
   * past it a request is refused with 429, so many slow
   * senders of bodies just under max_body_bytes cannot fill memory. */
  size_t max_body_bytes_total;
} kube_http_server_options_t;

/* A server on `loop` (borrowed; must outlive it).  `opts` may be NULL.
 * Owned: free with kube_http_server_free.  NULL with err on failure. */
kube_http_server_t *kube_http_server_new(kube_loop_t *loop,
                                         const kube_http_server_options_t *opts,
                                         kube_error_t *err);

/* Close every listener and connection and free the server.  Requests and
 * connections still held by handlers stay valid until their owners finish
 * them (their close callbacks run during this call); nothing more is
 * sent.  Must not be called from a callback of this server.  libevent
 * releases closed connections from the loop: iterate it once more before
 * kube_loop_free, or their last few KiB are not freed.  Accepts NULL. */
void kube_http_server_free(kube_http_server_t *srv);

/* ---- listeners ---- */

typedef enum kube_http_listener_type {
  KUBE_HTTP_UNIX = 0, /* unix socket: peers are local processes */
  KUBE_HTTP_TCP,      /* plain HTTP over TCP */
  KUBE_HTTP_TLS,      /* HTTPS over TCP */
} kube_http_listener_type_t;

typedef struct kube_http_listen_options {
  size_t struct_size; /* sizeof(kube_http_listen_options_t) */
  /* PEM serving certificate (chain) and key: the listener speaks TLS
   * (TCP only).  Both NULL: plain. */
  const char *tls_cert_file;
  const char *tls_key_file;
  /* PEM CA bundle: clients may present a certificate signed by it; a
   * verified one is reported by kube_http_request_peer_cert().  A client
   * certificate that fails verification fails the handshake.  NULL: no
   * client certificates are asked for. */
  const char *tls_client_ca_file;
  /* This listener's own cap (0: only the server-wide ones apply). */
  unsigned max_conns;
} kube_http_listen_options_t;

/* Listen on "unix:/path" (mode 0600; a stale socket is replaced, any
 * other file refused) or "tcp:ADDR:PORT" ("tcp:127.0.0.1:0",
 * "tcp:[::1]:6443"; port 0 picks one).  `opts` may be NULL.  Returns the
 * listener (borrowed: freed with the server or kube_http_listener_close)
 * or NULL with err. */
kube_http_listener_t *
kube_http_server_listen(kube_http_server_t *srv, const char *spec,
                        const kube_http_listen_options_t *opts,
                        kube_error_t *err);
/* Stop accepting on this listener and free it (a unix socket file is
 * unlinked).  Open connections stay.  Accepts NULL. */
void kube_http_listener_close(kube_http_listener_t *l);
/* The bound TCP port, or -1 for a unix listener. */
int kube_http_listener_port(const kube_http_listener_t *l);
kube_http_listener_type_t
kube_http_listener_type(const kube_http_listener_t *l);
/* Open connections accepted by this listener. */
unsigned kube_http_listener_connections(const kube_http_listener_t *l);

/* ---- handlers ---- */

/* Runs when a request (headers and whole body) has arrived.  `req` is
 * stolen: the handler must finish it (see the top of this file), now or
 * later. */
typedef void (*kube_http_handler_fn)(kube_http_request_t *req, void *arg);

/* Serve every path that starts with `prefix` ("/v2/", "/", "/metrics")
 * with fn; the longest matching prefix wins; registering a prefix again
 * replaces its handler.  A path no prefix matches gets 404.  0 or -1 with
 * err. */
int kube_http_server_handle(kube_http_server_t *srv, const char *prefix,
                            kube_http_handler_fn fn, void *arg,
                            kube_error_t *err);

/* ---- streaming request bodies ---- */

/* Like kube_http_server_handle, for handlers that take large bodies (a
 * registry's blob uploads): fn runs as soon as a request's headers have
 * arrived, before any body byte is read, and reads the body itself, piece
 * by piece, with kube_http_request_read_body.  max_body_bytes does not
 * apply (the handler enforces its own limit); the body timeout runs only
 * while a read waits for the peer.  A handler that finishes the request
 * without reading the whole body gets its reply sent, after which the
 * connection closes (lingering, so a client still sending reads it).
 * Upgrade requests on such a prefix are not streamed. */
int kube_http_server_handle_streaming(kube_http_server_t *srv,
                                      const char *prefix,
                                      kube_http_handler_fn fn, void *arg,
                                      kube_error_t *err);

/* The next piece of a streamed body: status 1 with len > 0 bytes (data
 * borrowed for the call), 0 once the whole body has arrived (len 0), -1
 * when it is malformed (bad chunked framing; the connection closes after
 * the reply).  The handler may finish the request inside. */
typedef void (*kube_http_body_fn)(kube_http_request_t *req, int status,
                                  const void *data, size_t len, void *arg);

/* Ask for the next piece of the body, at most `max` bytes (0: 256 KiB):
 * fn runs once, on the loop, never inside this call.  Only what is asked
 * for is read (about 256 KiB more are buffered at most): backpressure for
 * a handler that hands pieces to worker threads.  A request sent with
 * "Expect: 100-continue" is answered "100 Continue" at the first read.
 * When the connection closes while a read waits, the read is dropped (fn
 * never runs) and the request's close callback runs instead.  0, or -1
 * when the request was not streamed, a read is already pending, or the
 * peer is gone. */
int kube_http_request_read_body(kube_http_request_t *req, size_t max,
                                kube_http_body_fn fn, void *arg);

/* ---- the request ---- */

/* All strings returned below are borrowed from the request and valid
 * until it is finished. */
const char *kube_http_request_method(const kube_http_request_t *req);
/* The percent-decoded path, without the query ("/api/v1/pods"). */
const char *kube_http_request_path(const kube_http_request_t *req);
/* The raw query, without '?' ("" when none). */
const char *kube_http_request_query(const kube_http_request_t *req);
/* The first value of query parameter `key`, decoded ('+' is a space), or
 * NULL.  A parameter without '=' has the value "". */
const char *kube_http_request_query_param(const kube_http_request_t *req,
                                          const char *key);
/* Query parameter i (in order, decoded as above); false past the last.
 * For repeated parameters (exec's command=, port-forward's ports=). */
bool kube_http_request_query_param_at(const kube_http_request_t *req,
                                      size_t i, const char **key,
                                      const char **value);
/* The raw request target as sent ("/api/v1/pods?watch=1"). */
const char *kube_http_request_target(const kube_http_request_t *req);
/* The first header named `name` (case-insensitive), or NULL. */
const char *kube_http_request_header(const kube_http_request_t *req,
                                     const char *name);
/* Header i (in arrival order); false past the last. */
bool kube_http_request_header_at(const kube_http_request_t *req, size_t i,
                                 const char **name, const char **value);
/* The body (NUL-terminated for convenience; *len excludes the NUL).
 * Empty for a streamed body (see kube_http_request_read_body). */
const char *kube_http_request_body(const kube_http_request_t *req, size_t *len);
/* HTTP/1.x minor version (0 or 1). */
int kube_http_request_version_minor(const kube_http_request_t *req);
/* The protocol the client asks to switch to (its Upgrade header, e.g.
 * "websocket", "SPDY/3.1") when it sent Connection: Upgrade; else NULL. */
const char *kube_http_request_upgrade(const kube_http_request_t *req);
/* "ADDR:PORT" ("127.0.0.1:40312", "[::1]:40312") or "unix". */
const char *kube_http_request_peer(const kube_http_request_t *req);
/* The listener it came on (borrowed; NULL once that listener or the
 * connection is gone) and its transport (kept after that). */
kube_http_listener_t *
kube_http_request_listener(const kube_http_request_t *req);
kube_http_listener_type_t
kube_http_request_listener_type(const kube_http_request_t *req);

/* A client certificate the TLS transport verified against the listener's
 * tls_client_ca_file. */
typedef struct kube_http_peer_cert {
  const char *common_name;          /* subject CN ("" when none) */
  const char *const *organizations; /* subject O values, NULL-terminated */
} kube_http_peer_cert_t;
/* Borrowed; NULL when the peer presented no verified certificate. */
const kube_http_peer_cert_t *
kube_http_request_peer_cert(const kube_http_request_t *req);
/* False once the peer has gone (the reply would go nowhere). */
bool kube_http_request_connected(const kube_http_request_t *req);

/* Called once when the connection closes before the request is finished
 * (the peer went away, or the server is being freed).  The request stays
 * valid and must still be finished.  fn NULL removes it. */
void kube_http_request_set_close_cb(kube_http_request_t *req,
                                    void (*fn)(kube_http_request_t *req,
                                               void *arg),
                                    void *arg);
/* Opaque data for the owner (not freed by the request). */
void kube_http_request_set_data(kube_http_request_t *req, void *data);
void *kube_http_request_get_data(const kube_http_request_t *req);

/* ---- replies ---- */

/* Add a response header (copied; before the reply, stream or upgrade).
 * Content-Length, Transfer-Encoding, Connection and Date are the server's.
 * 0, or -1 with err on a bad name/value (CR, LF, NUL) or out of memory. */
int kube_http_response_add_header(kube_http_request_t *req, const char *name,
                                  const char *value, kube_error_t *err);

/* Finish the request with a whole body (copied).  `content_type` may be
 * NULL (no Content-Type).  HEAD gets the headers only. */
void kube_http_reply(kube_http_request_t *req, int status,
                     const char *content_type, const void *body, size_t len);
/* Same, taking `body` (stolen, malloc'ed; freed once sent). */
void kube_http_reply_take(kube_http_request_t *req, int status,
                          const char *content_type, void *body, size_t len);
/* Finish it with an error body made by the server's error_body. */
void kube_http_reply_error(kube_http_request_t *req, int status,
                           const char *message);

/* Start a streamed response: chunked when content_length < 0 (HTTP/1.1;
 * an HTTP/1.0 peer gets a body delimited by the close), else exactly
 * content_length bytes must follow.  Exempts the connection from the idle
 * and write timeouts.  0, or -1 when the peer is gone. */
int kube_http_stream_begin(kube_http_request_t *req, int status,
                           const char *content_type, int64_t content_length);
/* Queue bytes (copied).  0, or -1 when the peer is gone (keep going or
 * end; the bytes are dropped either way). */
int kube_http_stream_write(kube_http_request_t *req, const void *data,
                           size_t len);
/* Bytes queued to the peer and not yet sent (a watch cuts off clients too
 * far behind). */
size_t kube_http_stream_backlog(const kube_http_request_t *req);
/* Called (on the loop) whenever the backlog drops to `low_water` bytes or
 * fewer, for flow control; fn NULL removes it. */
void kube_http_stream_set_drained_cb(kube_http_request_t *req, size_t low_water,
                                     void (*fn)(kube_http_request_t *req,
                                                void *arg),
                                     void *arg);
/* Finish the stream (the last chunk for chunked) and the request. */
void kube_http_stream_end(kube_http_request_t *req);
/* Finish the request and close the connection without completing the
 * body, so the peer sees a truncated response. */
void kube_http_stream_abort(kube_http_request_t *req);
/* Finish the request and close the connection at once, discarding what
 * is queued and not yet sent: for a client too far behind (a slow
 * watcher), whose backlog's memory is released now rather than after the
 * write timeout.  The peer sees the response end mid-stream. */
void kube_http_stream_drop(kube_http_request_t *req);

/* ---- upgraded and hijacked connections ---- */

/* Answer 101 Switching Protocols with the headers added by
 * kube_http_response_add_header (Upgrade, Sec-WebSocket-Accept, ...) and
 * turn the connection into a plain duplex byte stream.  Finishes the
 * request.  Returns the connection (owned: release with
 * kube_http_conn_close) or NULL with err (the peer is gone; the request is
 * finished all the same). */
kube_http_conn_t *kube_http_upgrade(kube_http_request_t *req,
                                    kube_error_t *err);
/* Take the raw connection without writing anything (a handler that speaks
 * for itself, e.g. a proxy relaying a backend's own 101).  Finishes the
 * request.  Same ownership and errors as kube_http_upgrade. */
kube_http_conn_t *kube_http_hijack(kube_http_request_t *req, kube_error_t *err);

typedef struct kube_http_conn_callbacks {
#define KUBE_HTTP_CONN_CALLBACKS_VERSION 1
  uint32_t version;
  /* Bytes from the peer (borrowed for the call), in order.  Bytes that
   * followed the request on the wire come first. */
  void (*read)(kube_http_conn_t *c, const void *data, size_t len, void *arg);
  /* The output backlog dropped to the low-water mark (may be NULL). */
  void (*drained)(kube_http_conn_t *c, void *arg);
  /* The peer closed, or the connection failed or the server is freed:
   * nothing more is read or sent.  Still release it with
   * kube_http_conn_close (may be called inside this callback). */
  void (*closed)(kube_http_conn_t *c, void *arg);
} kube_http_conn_callbacks_t;

/* Install callbacks (`cbs` is borrowed and must outlive the connection)
 * and start reading.  Until then nothing is read.  `low_water`: see
 * drained (0: 16 KiB). */
void kube_http_conn_set_callbacks(kube_http_conn_t *c,
                                  const kube_http_conn_callbacks_t *cbs,
                                  size_t low_water, void *arg);
/* Queue bytes to the peer (copied).  0, or -1 when closed. */
int kube_http_conn_write(kube_http_conn_t *c, const void *data, size_t len);
/* Same, but the bytes leave as a unit of their own: over TLS in records of
 * their own, never sharing one with the bytes before or after.  For
 * message protocols (a WebSocket frame per call, as Go servers send them):
 * some clients (the Python client's WebSocket loop) poll the socket
 * between messages and miss a message that arrived in the same TLS record
 * as the one they read. */
int kube_http_conn_write_unit(kube_http_conn_t *c, const void *data,
                              size_t len);
/* Bytes queued to the peer and not yet sent. */
size_t kube_http_conn_pending(const kube_http_conn_t *c);
/* Stop (true) or resume (false) reading from the peer: backpressure when
 * whatever consumes the read bytes is behind. */
void kube_http_conn_pause_reading(kube_http_conn_t *c, bool paused);
/* Transport and peer of the connection (as for requests). */
const char *kube_http_conn_peer(const kube_http_conn_t *c);
const kube_http_peer_cert_t *
kube_http_conn_peer_cert(const kube_http_conn_t *c);
/* Release the connection: queued output is still sent (for up to the
 * server's write_timeout_ms), then the socket closes.  No callback runs
 * afterwards.  Accepts NULL. */
void kube_http_conn_close(kube_http_conn_t *c);

/* ---- reverse proxy ---- */

typedef struct kube_http_proxy_options {
  size_t struct_size; /* sizeof(kube_http_proxy_options_t) */
  /* https backends: PEM CA bundle to verify the backend with (NULL: the
   * system's default trust store), or skip verification. */
  const char *tls_ca_file;
  bool tls_insecure_skip_verify;
  /* Name to check the backend certificate against (NULL: the URL host). */
  const char *tls_server_name;
  /* PEM client certificate and key to present (both or neither). */
  const char *tls_cert_file;
  const char *tls_key_file;
  /* Connect (and TLS handshake) budget; 0: 10000.  Milliseconds. */
  int connect_timeout_ms;
  /* Extra request headers, "Name", "value" pairs, NULL-terminated (may be
   * NULL); borrowed for the call. */
  const char *const *headers;
  /* An in-process request (kube_apiserver_request: no connection): the
   * loop the backend connection runs on; the response goes to its
   * caller.  Ignored for requests from a connection.  Borrowed. */
  kube_loop_t *loop;
  /* PEM CA certificates in memory (an APIService's caBundle) to verify
   * the backend with, instead of tls_ca_file; borrowed for the call. */
  const char *tls_ca_pem;
  size_t tls_ca_pem_len;
} kube_http_proxy_options_t;

/* Forward `req` (stolen: the proxy finishes it) to `url`
 * ("https://10.0.0.5:10250/containerLogs/ns/pod/c?follow=true"; the host
 * must be an IP address or "localhost"), like kube-apiserver's
 * UpgradeAwareHandler: the method, body and end-to-end headers go to the
 * backend (hop-by-hop headers and Authorization are dropped;
 * X-Forwarded-For is added); the response streams back as it arrives
 * (chunked when the backend's is), with backpressure; a 101 from the
 * backend is relayed and the two connections are piped both ways until
 * either side closes.  Failures before the backend answered are 502 (503
 * when it cannot be reached) with an error body.  `opts` may be NULL;
 * files are read per call.  0, or -1 with err when the request was
 * already answered with an error (it is finished either way). */
int kube_http_proxy(kube_http_request_t *req, const char *url,
                    const kube_http_proxy_options_t *opts, kube_error_t *err);

#ifdef __cplusplus
}
#endif
#endif /* LIBKUBE_HTTP_H */
