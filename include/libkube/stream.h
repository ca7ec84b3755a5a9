/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libkube stream: the Kubernetes streaming protocols behind `exec`,
 * `attach` and `port-forward`, as codecs and sessions that do no I/O.
 *
 * Layers, bottom up:
 *  - WebSocket (RFC 6455): upgrade handshake helpers, a frame codec for both
 *    roles and a session (kube_ws_t) that joins fragments, answers pings
 *    and runs the close handshake.
 *  - SPDY/3.1: a frame codec with zlib header compression (the SPDY/3
 *    dictionary, one zlib stream per direction) and a session (kube_spdy_t)
 *    with stream management and optional flow control.
 *  - Kubernetes: protocol negotiation for an upgrade request
 *    (kube_stream_upgrade_negotiate), remote command sessions (exec and
 *    attach: kube_exec_server_t / kube_exec_client_t) over the WebSocket
 *    channel protocols v1..v5 and SPDY v1..v5, and port-forward sessions
 *    (kube_portforward_server_t / kube_portforward_client_t) over SPDY
 *    `portforward.k8s.io`, WebSocket `v4.channel.k8s.io` and SPDY tunnelled
 *    in WebSocket (`SPDY/3.1+portforward.k8s.io`).
 *
 * How a session is driven: the caller owns the connection.  It feeds every
 * byte read from it to kube_*_feed(); the session hands bytes to send to the
 * `write` callback (copy them, e.g. evbuffer_add, before returning) and
 * reports events through the other callbacks.  When the caller reads EOF it
 * calls kube_*_eof().  When the session reports `done`/`closed`, the caller
 * flushes what was written, closes the connection and frees the session.
 *
 * Threading: single-threaded.  A session is used on one thread (the
 * caller's loop); nothing here blocks, sleeps, reads a clock or does I/O.
 * Callbacks run synchronously inside the call that caused them (feed, a
 * send, start).  A callback may call the session's send functions; it must
 * not free the session (free it after the outer call returned).
 *
 * Errors: fallible functions take `kube_error_t *err` last and return < 0
 * (or NULL).  Protocol violations by the peer are BadRequest (oversized
 * messages TooLarge); a refused negotiation is BadRequest or Forbidden, as
 * Kubernetes answers (kube_reason_http_code gives the HTTP status).
 * Pointers passed in are borrowed for the call unless a comment says
 * otherwise.  Every free accepts NULL.
 */
#ifndef LIBKUBE_STREAM_H
#define LIBKUBE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libkube/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================== */
/* WebSocket (RFC 6455)                                                     */
/* ======================================================================== */

typedef enum kube_ws_role {
  KUBE_WS_SERVER = 0, /* receives masked frames, sends unmasked ones */
  KUBE_WS_CLIENT = 1, /* sends masked frames, receives unmasked ones */
} kube_ws_role_t;

typedef enum kube_ws_opcode {
  KUBE_WS_CONTINUATION = 0x0,
  KUBE_WS_TEXT = 0x1,
  KUBE_WS_BINARY = 0x2,
  KUBE_WS_CLOSE = 0x8,
  KUBE_WS_PING = 0x9,
  KUBE_WS_PONG = 0xA,
} kube_ws_opcode_t;

/* Close status codes (RFC 6455 §7.4.1). */
#define KUBE_WS_CLOSE_NORMAL 1000
#define KUBE_WS_CLOSE_GOING_AWAY 1001
#define KUBE_WS_CLOSE_PROTOCOL_ERROR 1002
#define KUBE_WS_CLOSE_UNSUPPORTED 1003
#define KUBE_WS_CLOSE_NO_STATUS 1005 /* received close frame had no code */
#define KUBE_WS_CLOSE_ABNORMAL 1006  /* connection lost without close frame */
#define KUBE_WS_CLOSE_INVALID_DATA 1007
#define KUBE_WS_CLOSE_POLICY 1008
#define KUBE_WS_CLOSE_TOO_BIG 1009
#define KUBE_WS_CLOSE_INTERNAL 1011

/* Length of a Sec-WebSocket-Accept value or a Sec-WebSocket-Key, NUL
 * included (both are base64 of a 20- resp. 16-byte value). */
#define KUBE_WS_ACCEPT_LEN 29
#define KUBE_WS_KEY_LEN 25

/* base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")) into out
 * (>= KUBE_WS_ACCEPT_LEN bytes).  -1 with BadRequest when key is NULL. */
int kube_ws_accept_key(const char *key, char *out, size_t len,
                       kube_error_t *err);
/* A fresh random Sec-WebSocket-Key (base64 of 16 random bytes) into key
 * (>= KUBE_WS_KEY_LEN bytes). */
int kube_ws_client_key(char *key, size_t len, kube_error_t *err);

/* Header values of an upgrade request as the HTTP layer parsed them (all
 * borrowed, NULL when absent).  A header sent on several lines is passed
 * with its values joined by ", ". */
typedef struct kube_ws_request {
  const char *method;     /* "GET" */
  const char *upgrade;    /* Upgrade */
  const char *connection; /* Connection */
  const char *key;        /* Sec-WebSocket-Key */
  const char *version;    /* Sec-WebSocket-Version */
  const char *protocol;   /* Sec-WebSocket-Protocol (offered list) */
} kube_ws_request_t;

/* True when the request asks for a WebSocket upgrade (Upgrade: websocket
 * and Connection containing the token "upgrade", case-insensitive), as
 * wsstream.IsWebSocketRequest. */
bool kube_ws_is_upgrade(const kube_ws_request_t *req);
/* Validate a WebSocket upgrade request (RFC 6455 §4.2.1): GET, the
 * Upgrade/Connection tokens, Sec-WebSocket-Version 13, a key that is the
 * base64 of 16 bytes.  On success writes the Sec-WebSocket-Accept value to
 * accept (>= KUBE_WS_ACCEPT_LEN bytes).  -1 with BadRequest (a wrong version
 * is answered 426 by servers; the message says which version we speak). */
int kube_ws_check_request(const kube_ws_request_t *req, char *accept,
                          size_t accept_len, kube_error_t *err);
/* Pick the subprotocol: the first entry of `server` (NULL-terminated, in the
 * server's preference order) that appears in `offered` (a comma-separated
 * Sec-WebSocket-Protocol list; NULL or "" when the client offered none).
 * An entry "" in `server` matches a client that offered nothing.  Returns
 * the matching entry of `server` (borrowed) or NULL. */
const char *kube_ws_select_protocol(const char *offered,
                                    const char *const *server);
/* Client side: check the server's answer to our upgrade request.  status
 * is the HTTP status (101 expected); accept/protocol are the response's
 * Sec-WebSocket-Accept and Sec-WebSocket-Protocol (NULL when absent); key
 * the Sec-WebSocket-Key we sent; offered the comma-separated list we
 * offered (NULL for none): a protocol we did not offer is an error.
 * -1 with BadRequest on mismatch. */
int kube_ws_check_response(int status, const char *upgrade,
                           const char *connection, const char *accept,
                           const char *key, const char *protocol,
                           const char *offered, kube_error_t *err);

/* True when buf[0..len) is valid UTF-8 (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF). */
bool kube_utf8_valid(const void *buf, size_t len);

/* One decoded frame.  payload points into the buffer given to
 * kube_ws_frame_decode (borrowed, already unmasked). */
typedef struct kube_ws_frame {
  bool fin;
  kube_ws_opcode_t opcode;
  bool masked;
  uint8_t mask[4];
  const uint8_t *payload;
  size_t len;
} kube_ws_frame_t;

/* Append one frame to out.  mask: NULL for an unmasked (server) frame, or
 * 4 bytes to mask a client frame with.  Control frames must have fin set
 * and at most 125 bytes (BadRequest otherwise); -1 also on out-of-memory. */
int kube_ws_frame_encode(kube_strbuf_t *out, kube_ws_opcode_t op, bool fin,
                         const void *payload, size_t len, const uint8_t *mask,
                         kube_error_t *err);
/* Decode the frame at the start of buf[0..len), as received by `role`
 * (a server requires masked frames, a client unmasked ones).  The payload
 * is unmasked in place.  Returns 1 and sets *consumed when a whole frame is
 * there, 0 when more bytes are needed, -1 with BadRequest on a protocol
 * violation (reserved bits or opcode, fragmented or oversized control
 * frame, non-minimal or 64-bit length with the top bit set, wrong masking)
 * or TooLarge when the payload exceeds max_payload. */
int kube_ws_frame_decode(uint8_t *buf, size_t len, kube_ws_role_t role,
                         size_t max_payload, kube_ws_frame_t *frame,
                         size_t *consumed, kube_error_t *err);

/* A WebSocket connection after the handshake. */
typedef struct kube_ws kube_ws_t;

#define KUBE_WS_CALLBACKS_VERSION 1
typedef struct kube_ws_callbacks {
  uint32_t version; /* KUBE_WS_CALLBACKS_VERSION */
  /* Bytes to send on the connection (borrowed for the call). Required. */
  void (*write)(void *data, const void *buf, size_t len);
  /* A complete data message, fragments joined (borrowed for the call).
   * TEXT messages are valid UTF-8. */
  void (*message)(void *data, kube_ws_opcode_t op, const void *buf, size_t len);
  /* A pong arrived (optional). */
  void (*pong)(void *data, const void *buf, size_t len);
  /* The WebSocket is closed: both close frames exchanged, the peer broke
   * the protocol (we sent our close frame; err says why), or the
   * connection ended (code 1006).  code/reason are the peer's close frame
   * (1005 when it carried none).  Called once; afterwards input is
   * ignored and sends fail.  Close the connection once the written bytes
   * are flushed. */
  void (*closed)(void *data, int code, const char *reason,
                 const kube_error_t *err);
} kube_ws_callbacks_t;

/* A session for `role`.  cb is copied; data is passed to every callback.
 * max_message bounds a data message after reassembly (0: 64 MiB); larger
 * ones close the connection with 1009.  Owned: free with kube_ws_free. */
kube_ws_t *kube_ws_new(kube_ws_role_t role, const kube_ws_callbacks_t *cb,
                       void *data, size_t max_message, kube_error_t *err);
/* Feed bytes read from the connection.  -1 with err when the peer broke
 * the protocol (the close frame has been written and `closed` called). */
int kube_ws_feed(kube_ws_t *ws, const void *buf, size_t len, kube_error_t *err);
/* The connection reached EOF or broke: `closed` (1006) unless already
 * closed. */
void kube_ws_eof(kube_ws_t *ws);
/* Send a data message (TEXT must be valid UTF-8) as one frame.  -1 with
 * err after close or on invalid input. */
int kube_ws_send(kube_ws_t *ws, kube_ws_opcode_t op, const void *buf,
                 size_t len, kube_error_t *err);
/* Send a ping (payload <= 125 bytes). */
int kube_ws_ping(kube_ws_t *ws, const void *buf, size_t len, kube_error_t *err);
/* Start the close handshake with code (0: none) and reason (may be NULL,
 * <= 123 bytes).  `closed` follows when the peer answers. */
int kube_ws_close(kube_ws_t *ws, int code, const char *reason,
                  kube_error_t *err);
/* True after `closed` was reported. */
bool kube_ws_is_closed(const kube_ws_t *ws);
/* True once we sent our close frame. */
bool kube_ws_close_sent(const kube_ws_t *ws);
void kube_ws_free(kube_ws_t *ws);

/* ======================================================================== */
/* SPDY/3.1                                                                 */
/* ======================================================================== */

typedef enum kube_spdy_type {
  KUBE_SPDY_DATA = 0,
  KUBE_SPDY_SYN_STREAM = 1,
  KUBE_SPDY_SYN_REPLY = 2,
  KUBE_SPDY_RST_STREAM = 3,
  KUBE_SPDY_SETTINGS = 4,
  KUBE_SPDY_PING = 6,
  KUBE_SPDY_GOAWAY = 7,
  KUBE_SPDY_HEADERS = 8,
  KUBE_SPDY_WINDOW_UPDATE = 9,
  KUBE_SPDY_UNKNOWN = 0xffff, /* a control frame type we skip */
} kube_spdy_type_t;

#define KUBE_SPDY_FLAG_FIN 0x01
#define KUBE_SPDY_FLAG_UNIDIRECTIONAL 0x02

/* RST_STREAM status codes. */
typedef enum kube_spdy_rst {
  KUBE_SPDY_PROTOCOL_ERROR = 1,
  KUBE_SPDY_INVALID_STREAM = 2,
  KUBE_SPDY_REFUSED_STREAM = 3,
  KUBE_SPDY_UNSUPPORTED_VERSION = 4,
  KUBE_SPDY_CANCEL = 5,
  KUBE_SPDY_INTERNAL_ERROR = 6,
  KUBE_SPDY_FLOW_CONTROL_ERROR = 7,
  KUBE_SPDY_STREAM_IN_USE = 8,
  KUBE_SPDY_STREAM_ALREADY_CLOSED = 9,
  KUBE_SPDY_FRAME_TOO_LARGE = 11,
} kube_spdy_rst_t;

#define KUBE_SPDY_SETTINGS_INITIAL_WINDOW_SIZE 7

/* One name/value pair of a header block.  SPDY joins several values of one
 * name with NUL bytes, so value carries a length. */
typedef struct kube_spdy_header {
  char *name; /* lower-case, NUL-terminated */
  char *value;
  size_t value_len; /* value[value_len] is a NUL too */
} kube_spdy_header_t;

/* The first value of header `name` (case-insensitive), borrowed from h;
 * NULL when absent. */
const char *kube_spdy_header_get(const kube_spdy_header_t *h, size_t n,
                                 const char *name);

/* One direction of header compression: a zlib stream primed with the
 * SPDY/3 dictionary, kept for the whole connection. */
typedef struct kube_spdy_zlib kube_spdy_zlib_t;
/* compress: true for the sending side (deflate), false for the receiving
 * side (inflate).  Owned: free with kube_spdy_zlib_free. */
kube_spdy_zlib_t *kube_spdy_zlib_new(bool compress, kube_error_t *err);
void kube_spdy_zlib_free(kube_spdy_zlib_t *z);
/* Append the compressed name/value block for h[0..n) to out (names are
 * lower-cased).  Uses and advances the deflate stream. */
int kube_spdy_headers_encode(kube_spdy_zlib_t *z, const kube_spdy_header_t *h,
                             size_t n, kube_strbuf_t *out, kube_error_t *err);
/* Decompress and parse one block.  *h is owned (free with
 * kube_spdy_headers_free).  BadRequest on a corrupt block, a block larger
 * than 256 KiB, empty or upper-case names, duplicate names. */
int kube_spdy_headers_decode(kube_spdy_zlib_t *z, const void *block, size_t len,
                             kube_spdy_header_t **h, size_t *n,
                             kube_error_t *err);
void kube_spdy_headers_free(kube_spdy_header_t *h, size_t n);

typedef struct kube_spdy_setting {
  uint8_t flags;
  uint32_t id;
  uint32_t value;
} kube_spdy_setting_t;

/* One frame.  Which fields matter depends on type. */
typedef struct kube_spdy_frame {
  kube_spdy_type_t type;
  uint16_t raw_type; /* the control frame type as read (KUBE_SPDY_UNKNOWN) */
  uint8_t flags;
  uint32_t stream_id;          /* DATA, SYN_*, RST, HEADERS, WINDOW_UPDATE (0:
                                  session), GOAWAY: last good stream id */
  uint32_t assoc_id;           /* SYN_STREAM */
  uint8_t priority;            /* SYN_STREAM, 0..7 */
  uint8_t slot;                /* SYN_STREAM */
  uint32_t status;             /* RST_STREAM, GOAWAY */
  uint32_t value;              /* PING id, WINDOW_UPDATE delta */
  kube_spdy_header_t *headers; /* SYN_STREAM, SYN_REPLY, HEADERS */
  size_t n_headers;
  kube_spdy_setting_t *settings; /* SETTINGS */
  size_t n_settings;
  const uint8_t *data; /* DATA: borrowed from the decoded buffer */
  size_t len;
} kube_spdy_frame_t;

/* Append the frame to out; headers go through z (the connection's deflate
 * stream; may be NULL for frames without headers).  BadRequest for invalid
 * fields (stream id 0 or >= 2^31 where one is needed, DATA > 16 MiB). */
int kube_spdy_frame_encode(kube_spdy_zlib_t *z, const kube_spdy_frame_t *f,
                           kube_strbuf_t *out, kube_error_t *err);
/* Decode the frame at the start of buf[0..len).  Returns 1 with *f filled
 * and *consumed set, 0 when more bytes are needed, -1 with BadRequest on a
 * malformed frame (wrong version, bad lengths, zero stream ids, corrupt
 * header block) or TooLarge past max_frame bytes of payload (0: 16 MiB).
 * Header blocks go through z (the connection's inflate stream), so frames
 * must be decoded in order, each once.  Release *f with
 * kube_spdy_frame_clear. */
int kube_spdy_frame_decode(kube_spdy_zlib_t *z, const uint8_t *buf, size_t len,
                           size_t max_frame, kube_spdy_frame_t *f,
                           size_t *consumed, kube_error_t *err);
/* Free what a decoded frame owns (headers, settings) and zero it. */
void kube_spdy_frame_clear(kube_spdy_frame_t *f);

/* A SPDY/3.1 connection.  The client opens odd streams, the server even
 * ones (Kubernetes servers open none). */
typedef struct kube_spdy kube_spdy_t;

#define KUBE_SPDY_CALLBACKS_VERSION 1
typedef struct kube_spdy_callbacks {
  uint32_t version; /* KUBE_SPDY_CALLBACKS_VERSION */
  /* Bytes to send (borrowed for the call).  Required. */
  void (*write)(void *data, const void *buf, size_t len);
  /* The peer opened stream id with headers h (borrowed for the call).
   * Return 0 to keep it (answer with kube_spdy_reply) or -1 to refuse
   * (the session resets it with REFUSED_STREAM).  fin: the peer will send
   * nothing on it.  Without this callback every stream is refused. */
  int (*stream_open)(void *data, uint32_t id, const kube_spdy_header_t *h,
                     size_t n, bool fin);
  /* SYN_REPLY for a stream we opened. */
  void (*stream_reply)(void *data, uint32_t id, const kube_spdy_header_t *h,
                       size_t n);
  /* Data on a stream (borrowed for the call). */
  void (*stream_data)(void *data, uint32_t id, const void *buf, size_t len);
  /* The peer half-closed the stream (FIN): no more data from it. */
  void (*stream_fin)(void *data, uint32_t id);
  /* The stream is gone: both sides finished (status 0) or the peer reset
   * it (status = RST_STREAM status).  Not called for kube_spdy_reset. */
  void (*stream_end)(void *data, uint32_t id, uint32_t status);
  /* The peer sent GOAWAY. */
  void (*goaway)(void *data, uint32_t last_good_id, uint32_t status);
  /* A PING we sent came back. */
  void (*pong)(void *data, uint32_t id);
  /* The connection broke the protocol (err) or reached EOF (err NULL);
   * the session wrote a GOAWAY when it could, and every open stream got
   * stream_end (CANCEL) first.  Called once. */
  void (*closed)(void *data, const kube_error_t *err);
} kube_spdy_callbacks_t;

typedef struct kube_spdy_options {
  size_t struct_size; /* sizeof(kube_spdy_options_t) */
  bool server;        /* role */
  /* SPDY/3.1 flow control (64 KiB initial windows, WINDOW_UPDATE).  Off by
   * default: Kubernetes peers (moby/spdystream) never send WINDOW_UPDATE,
   * so a sender that honours windows would stall after 64 KiB. */
  bool flow_control;
  size_t max_frame; /* largest frame payload accepted (0: 16 MiB) */
} kube_spdy_options_t;

/* Owned: free with kube_spdy_free. */
kube_spdy_t *kube_spdy_new(const kube_spdy_options_t *opts,
                           const kube_spdy_callbacks_t *cb, void *data,
                           kube_error_t *err);
/* Feed bytes read from the connection.  -1 with err on a protocol error
 * (GOAWAY written, `closed` called). */
int kube_spdy_feed(kube_spdy_t *s, const void *buf, size_t len,
                   kube_error_t *err);
/* EOF from the peer: every stream ends (stream_end with CANCEL) and
 * `closed` (NULL err) follows. */
void kube_spdy_eof(kube_spdy_t *s);
/* Open a stream with headers h[0..n) (SYN_STREAM).  Returns its id, or 0
 * with err (ids exhausted, after GOAWAY, out-of-memory). */
uint32_t kube_spdy_open(kube_spdy_t *s, const kube_spdy_header_t *h, size_t n,
                        bool fin, kube_error_t *err);
/* Answer a stream the peer opened (SYN_REPLY); data may follow. */
int kube_spdy_reply(kube_spdy_t *s, uint32_t id, const kube_spdy_header_t *h,
                    size_t n, bool fin, kube_error_t *err);
/* Send data (split into frames as needed); fin half-closes our side.  With
 * flow control, what exceeds the window is queued inside the session and
 * sent on WINDOW_UPDATE.  -1 with err on an unknown or half-closed stream. */
int kube_spdy_send(kube_spdy_t *s, uint32_t id, const void *buf, size_t len,
                   bool fin, kube_error_t *err);
/* Bytes queued on a stream waiting for window (0 without flow control). */
size_t kube_spdy_queued(const kube_spdy_t *s, uint32_t id);
/* Reset a stream (RST_STREAM) and forget it. */
int kube_spdy_reset(kube_spdy_t *s, uint32_t id, kube_spdy_rst_t status,
                    kube_error_t *err);
/* Send a PING (ids odd for clients, even for servers); `pong` reports the
 * answer.  Returns the id or 0 with err. */
uint32_t kube_spdy_ping(kube_spdy_t *s, kube_error_t *err);
/* Send GOAWAY (status 0 OK); no new streams are accepted or opened. */
int kube_spdy_goaway(kube_spdy_t *s, uint32_t status, kube_error_t *err);
/* Streams currently open (not ended). */
size_t kube_spdy_stream_count(const kube_spdy_t *s);
bool kube_spdy_is_closed(const kube_spdy_t *s);
void kube_spdy_free(kube_spdy_t *s);

/* ======================================================================== */
/* Kubernetes: negotiation                                                  */
/* ======================================================================== */

typedef enum kube_stream_kind {
  KUBE_STREAM_EXEC = 1,        /* pods/exec and pods/attach */
  KUBE_STREAM_PORTFORWARD = 2, /* pods/portforward */
} kube_stream_kind_t;

typedef enum kube_stream_transport {
  KUBE_STREAM_WEBSOCKET = 1,           /* channel protocols */
  KUBE_STREAM_SPDY = 2,                /* Upgrade: SPDY/3.1 */
  KUBE_STREAM_SPDY_OVER_WEBSOCKET = 3, /* SPDY/3.1+portforward.k8s.io */
} kube_stream_transport_t;

/* Headers of an upgrade request (borrowed, NULL when absent; several lines
 * of one header joined with ", "). */
typedef struct kube_stream_request {
  const char *method;          /* "GET" or "POST" */
  const char *upgrade;         /* Upgrade */
  const char *connection;      /* Connection */
  const char *ws_key;          /* Sec-WebSocket-Key */
  const char *ws_version;      /* Sec-WebSocket-Version */
  const char *ws_protocol;     /* Sec-WebSocket-Protocol */
  const char *stream_protocol; /* X-Stream-Protocol-Version */
} kube_stream_request_t;

/* A header to send: name static, value inline. */
typedef struct kube_stream_header {
  const char *name;
  char value[160];
} kube_stream_header_t;

/* The outcome of a negotiation (server: from the request; client: from the
 * response).  Plain data, caller-allocated; nothing to free. */
typedef struct kube_stream_upgrade {
  kube_stream_kind_t kind;
  kube_stream_transport_t transport;
  /* Exec: protocol version 1..5 ("channel.k8s.io" or none = 1).
   * Port-forward: 1 over SPDY (also tunnelled), 4 over WebSocket. */
  int version;
  bool base64;       /* WebSocket base64.channel.k8s.io flavour */
  char protocol[48]; /* negotiated name ("" when none) */
  /* Server: the headers of the 101 response (Connection, Upgrade, then
   * Sec-WebSocket-Accept and Sec-WebSocket-Protocol, or
   * X-Stream-Protocol-Version).  Client: the request headers to send. */
  size_t n_headers;
  kube_stream_header_t headers[5];
  char ws_key[KUBE_WS_KEY_LEN]; /* client: the key sent */
} kube_stream_upgrade_t;

/* Server side: pick transport and protocol for an upgrade request of
 * `kind`, as the kubelet does.  WebSocket requests: exec accepts
 * v5.channel.k8s.io, v4.channel.k8s.io, v4.base64.channel.k8s.io,
 * v3.channel.k8s.io, v2.channel.k8s.io, channel.k8s.io,
 * base64.channel.k8s.io or no subprotocol; port-forward accepts
 * SPDY/3.1+portforward.k8s.io, v4.channel.k8s.io, v4.base64.channel.k8s.io
 * or none; chosen in that order of preference.  SPDY requests (Upgrade:
 * SPDY/3.1) need X-Stream-Protocol-Version: exec v5..v1
 * (v5/v4/v3/v2.channel.k8s.io, channel.k8s.io), port-forward
 * portforward.k8s.io.  Fills *up including the 101 response headers.
 * -1 with BadRequest (not an upgrade, bad WebSocket handshake, missing
 * X-Stream-Protocol-Version) or Forbidden (no common protocol; the message
 * lists what we accept). */
int kube_stream_upgrade_negotiate(kube_stream_kind_t kind,
                                  const kube_stream_request_t *req,
                                  kube_stream_upgrade_t *up, kube_error_t *err);
/* Append the whole 101 response head ("HTTP/1.1 101 Switching
 * Protocols\r\n" + up->headers + "\r\n") to out. */
void kube_stream_upgrade_response(const kube_stream_upgrade_t *up,
                                  kube_strbuf_t *out);

/* Client side: prepare the request headers for `kind` over `transport` into
 * up->headers (and up->ws_key).  Exec offers v5..v1 (WebSocket:
 * v5/v4/v3/v2.channel.k8s.io and channel.k8s.io, as kubectl); port-forward
 * offers portforward.k8s.io (SPDY), SPDY/3.1+portforward.k8s.io or
 * v4.channel.k8s.io (WebSocket: transport SPDY_OVER_WEBSOCKET or
 * WEBSOCKET). */
int kube_stream_client_prepare(kube_stream_kind_t kind,
                               kube_stream_transport_t transport,
                               kube_stream_upgrade_t *up, kube_error_t *err);
/* Response headers as received (borrowed, NULL when absent). */
typedef struct kube_stream_response {
  int status; /* HTTP status, 101 expected */
  const char *upgrade;
  const char *connection;
  const char *ws_accept;       /* Sec-WebSocket-Accept */
  const char *ws_protocol;     /* Sec-WebSocket-Protocol */
  const char *stream_protocol; /* X-Stream-Protocol-Version */
} kube_stream_response_t;
/* Check the server's answer and complete *up (transport, version,
 * protocol).  -1 with BadRequest when the upgrade failed or the server
 * chose something we did not offer. */
int kube_stream_client_check(kube_stream_upgrade_t *up,
                             const kube_stream_response_t *resp,
                             kube_error_t *err);

/* ======================================================================== */
/* Kubernetes: remote command (exec, attach)                                */
/* ======================================================================== */

/* The streams a request asked for (query parameters stdin, stdout, stderr,
 * tty). */
typedef struct kube_exec_streams {
  bool use_stdin;
  bool use_stdout;
  bool use_stderr;
  bool tty;
} kube_exec_streams_t;

/* Normalise options as the kubelet does: tty with stderr drops stderr; none
 * of stdin/stdout/stderr is BadRequest ("you must specify at least 1 of
 * stdin, stdout, stderr"). */
int kube_exec_streams_check(kube_exec_streams_t *o, kube_error_t *err);
/* True for the query values the API accepts as true ("1", "true", "True",
 * "TRUE", "t", "T", as strconv.ParseBool). */
bool kube_stream_query_bool(const char *value);

/* --- server (node agent) ------------------------------------------------ */

typedef struct kube_exec_server kube_exec_server_t;

#define KUBE_EXEC_SERVER_CALLBACKS_VERSION 1
typedef struct kube_exec_server_callbacks {
  uint32_t version; /* KUBE_EXEC_SERVER_CALLBACKS_VERSION */
  /* Bytes for the connection (borrowed for the call).  Required. */
  void (*write)(void *data, const void *buf, size_t len);
  /* Every requested stream is there: start the process.  WebSocket:
   * during kube_exec_server_start; SPDY: once the client created them. */
  void (*ready)(void *data);
  /* Input for the process (borrowed for the call). */
  void (*stdin_data)(void *data, const void *buf, size_t len);
  /* The client closed stdin (SPDY FIN; WebSocket v5 close signal; the
   * connection ending). */
  void (*stdin_eof)(void *data);
  /* Terminal size (tty sessions, protocol >= 3 or WebSocket). */
  void (*resize)(void *data, uint16_t width, uint16_t height);
  /* The session is over: after kube_exec_server_finish (err NULL), or
   * the client went away or broke the protocol (err set).  Kill the
   * process if it still runs, close the connection once written bytes are
   * flushed, then free the session.  Called once. */
  void (*done)(void *data, const kube_error_t *err);
} kube_exec_server_callbacks_t;

/* A session for a negotiated upgrade (borrowed, copied) of kind EXEC over
 * WEBSOCKET or SPDY, with the streams of opts.  cb is copied.  Nothing is
 * written before kube_exec_server_start.  Owned: free with
 * kube_exec_server_free. */
kube_exec_server_t *kube_exec_server_new(const kube_stream_upgrade_t *up,
                                         const kube_exec_streams_t *opts,
                                         const kube_exec_server_callbacks_t *cb,
                                         void *data, kube_error_t *err);
/* Call right after the 101 response is written.  WebSocket: sends the
 * empty "connection established" message (on stdout, else stderr, else
 * the error channel) and calls `ready`. */
int kube_exec_server_start(kube_exec_server_t *s, kube_error_t *err);
/* Bytes read from the connection.  -1 with err on a protocol error
 * (`done` has been called). */
int kube_exec_server_feed(kube_exec_server_t *s, const void *buf, size_t len,
                          kube_error_t *err);
/* The connection reached EOF: stdin_eof (if open), then done. */
void kube_exec_server_eof(kube_exec_server_t *s);
/* Output of the process.  Data for a stream the client did not ask for is
 * dropped (as the kubelet does); -1 with err once finished. */
int kube_exec_server_write_stdout(kube_exec_server_t *s, const void *buf,
                                  size_t len, kube_error_t *err);
int kube_exec_server_write_stderr(kube_exec_server_t *s, const void *buf,
                                  size_t len, kube_error_t *err);
/* The process ended.  error_message NULL: exit_code 0 sends Status
 * Success, other codes Failure/NonZeroExitCode with an ExitCode cause
 * (v4, v5); v1..v3 send nothing for success and the text
 * "command terminated with non-zero exit code: ..." otherwise.
 * error_message set: an InternalError Status (or the text) carrying it.
 * Then closes the streams (SPDY: FIN each, GOAWAY; WebSocket: close 1000)
 * and calls `done`. */
int kube_exec_server_finish(kube_exec_server_t *s, int exit_code,
                            const char *error_message, kube_error_t *err);
/* The negotiated version (1..5) and transport. */
int kube_exec_server_version(const kube_exec_server_t *s);
void kube_exec_server_free(kube_exec_server_t *s);

/* --- client (kube exec) ------------------------------------------------- */

typedef struct kube_exec_client kube_exec_client_t;

#define KUBE_EXEC_CLIENT_CALLBACKS_VERSION 1
typedef struct kube_exec_client_callbacks {
  uint32_t version; /* KUBE_EXEC_CLIENT_CALLBACKS_VERSION */
  void (*write)(void *data, const void *buf, size_t len); /* required */
  /* Streams are set up: stdin may be sent.  WebSocket: during start;
   * SPDY: when the server replied to every stream. */
  void (*ready)(void *data);
  void (*stdout_data)(void *data, const void *buf, size_t len);
  void (*stderr_data)(void *data, const void *buf, size_t len);
  /* The remote command ended: exit_code 0 (success) or > 0 (the
   * NonZeroExitCode Status), or -1 with message (an error Status or text;
   * borrowed for the call).  Followed by `done`. */
  void (*exit)(void *data, int exit_code, const char *message);
  /* The session is over (err set when the connection broke before an exit
   * status arrived or the server broke the protocol).  Called once. */
  void (*done)(void *data, const kube_error_t *err);
} kube_exec_client_callbacks_t;

/* A client session for a negotiated upgrade (kube_stream_client_check). */
kube_exec_client_t *kube_exec_client_new(const kube_stream_upgrade_t *up,
                                         const kube_exec_streams_t *opts,
                                         const kube_exec_client_callbacks_t *cb,
                                         void *data, kube_error_t *err);
/* Call once the 101 response was read: SPDY creates the streams (error,
 * stdin, stdout, stderr, resize as in client-go); WebSocket calls ready. */
int kube_exec_client_start(kube_exec_client_t *c, kube_error_t *err);
int kube_exec_client_feed(kube_exec_client_t *c, const void *buf, size_t len,
                          kube_error_t *err);
void kube_exec_client_eof(kube_exec_client_t *c);
int kube_exec_client_write_stdin(kube_exec_client_t *c, const void *buf,
                                 size_t len, kube_error_t *err);
/* End of our stdin (SPDY FIN; WebSocket v5 close signal; nothing before
 * v5 over WebSocket, which has no way to say it). */
int kube_exec_client_close_stdin(kube_exec_client_t *c, kube_error_t *err);
/* Send a terminal size (tty sessions; ignored when the protocol has no
 * resize stream). */
int kube_exec_client_resize(kube_exec_client_t *c, uint16_t width,
                            uint16_t height, kube_error_t *err);
/* Leave early: close the connection politely (WebSocket close, SPDY
 * GOAWAY); done follows. */
int kube_exec_client_close(kube_exec_client_t *c, kube_error_t *err);
void kube_exec_client_free(kube_exec_client_t *c);

/* ======================================================================== */
/* Kubernetes: port-forward                                                 */
/* ======================================================================== */

/* Parse a `ports` query value ("8080,9090"; several values joined by ",")
 * into ports[0..*n) (at most max).  BadRequest on an empty list, a value
 * outside 1..65535, or more than max ports. */
int kube_portforward_parse_ports(const char *s, uint16_t *ports, size_t max,
                                 size_t *n, kube_error_t *err);

/* One forwarded connection: a data stream and an error stream (SPDY), or a
 * data and an error channel (WebSocket).  Owned by its session; valid from
 * its open until its `close` callback returned. */
typedef struct kube_portforward_stream kube_portforward_stream_t;

/* Send data on the stream. -1 with err once the write side is closed. */
int kube_portforward_stream_write(kube_portforward_stream_t *st,
                                  const void *buf, size_t len,
                                  kube_error_t *err);
/* Half-close: no more data from us (SPDY FIN).  WebSocket has no such
 * signal: a client just stops sending; on a server the stream ends (its
 * `stream_close` follows) and the connection closes after the last one, as
 * the kubelet does when the pod's side of every port closed. */
int kube_portforward_stream_close_write(kube_portforward_stream_t *st,
                                        kube_error_t *err);
/* Server: report an error for this stream on its error stream (as the
 * kubelet: "error forwarding port 80 to pod ...: ..."), then end the
 * stream.  The `close` callback follows. */
int kube_portforward_stream_fail(kube_portforward_stream_t *st,
                                 const char *message, kube_error_t *err);
/* Abort the stream (SPDY RST_STREAM).  The `close` callback follows. */
void kube_portforward_stream_reset(kube_portforward_stream_t *st);
uint16_t kube_portforward_stream_port(const kube_portforward_stream_t *st);
/* The requestID header ("" over WebSocket), borrowed. */
const char *
kube_portforward_stream_request_id(const kube_portforward_stream_t *st);

/* --- server (node agent) ------------------------------------------------ */

typedef struct kube_portforward_server kube_portforward_server_t;

#define KUBE_PORTFORWARD_SERVER_CALLBACKS_VERSION 1
typedef struct kube_portforward_server_callbacks {
  uint32_t version; /* KUBE_PORTFORWARD_SERVER_CALLBACKS_VERSION */
  void (*write)(void *data, const void *buf, size_t len); /* required */
  /* A client wants a connection to `port` (SPDY: once both streams of a
   * request id arrived; WebSocket: for each port of the query at start).
   * Return 0 and set *user (the app's handle, passed back below) to
   * accept, or -1 with err to refuse: its message goes to the client's
   * error stream.  Connect to the pod's port, then write what it sends. */
  int (*stream_open)(void *data, kube_portforward_stream_t *st, uint16_t port,
                     const char *request_id, void **user, kube_error_t *err);
  /* Bytes from the client for the pod (borrowed for the call). */
  void (*stream_data)(void *data, kube_portforward_stream_t *st, void *user,
                      const void *buf, size_t len);
  /* The client half-closed (shutdown(SHUT_WR) the pod side). */
  void (*stream_eof)(void *data, kube_portforward_stream_t *st, void *user);
  /* The stream is gone (reset by the client, ended both ways, failed, or
   * the connection ended): release the handle.  st dies after return. */
  void (*stream_close)(void *data, kube_portforward_stream_t *st, void *user);
  /* The connection is over (err when it broke): close it once flushed,
   * then free the session.  Called once, after every stream_close. */
  void (*done)(void *data, const kube_error_t *err);
} kube_portforward_server_callbacks_t;

/* A session for a negotiated upgrade of kind PORTFORWARD.  ports[0..n_ports)
 * are the `ports` of the query, needed for WebSocket v4 (ignored for SPDY,
 * where each stream names its port). */
kube_portforward_server_t *
kube_portforward_server_new(const kube_stream_upgrade_t *up,
                            const uint16_t *ports, size_t n_ports,
                            const kube_portforward_server_callbacks_t *cb,
                            void *data, kube_error_t *err);
/* Call right after the 101 response is written.  WebSocket v4: writes the
 * port number (2 bytes, little endian) on each data and error channel and
 * opens a stream per port (stream_open). */
int kube_portforward_server_start(kube_portforward_server_t *s,
                                  kube_error_t *err);
int kube_portforward_server_feed(kube_portforward_server_t *s, const void *buf,
                                 size_t len, kube_error_t *err);
void kube_portforward_server_eof(kube_portforward_server_t *s);
/* End the session: close every stream and the connection; done follows. */
int kube_portforward_server_close(kube_portforward_server_t *s,
                                  kube_error_t *err);
void kube_portforward_server_free(kube_portforward_server_t *s);

/* --- client (kube port-forward) ----------------------------------------- */

typedef struct kube_portforward_client kube_portforward_client_t;

#define KUBE_PORTFORWARD_CLIENT_CALLBACKS_VERSION 1
typedef struct kube_portforward_client_callbacks {
  uint32_t version; /* KUBE_PORTFORWARD_CLIENT_CALLBACKS_VERSION */
  void (*write)(void *data, const void *buf, size_t len); /* required */
  /* Data from the pod (borrowed for the call). */
  void (*stream_data)(void *data, kube_portforward_stream_t *st, void *user,
                      const void *buf, size_t len);
  /* The server half-closed the data stream. */
  void (*stream_eof)(void *data, kube_portforward_stream_t *st, void *user);
  /* Text from the error stream (the forwarding failed). */
  void (*stream_error)(void *data, kube_portforward_stream_t *st, void *user,
                       const char *message);
  /* The stream is gone; st dies after return. */
  void (*stream_close)(void *data, kube_portforward_stream_t *st, void *user);
  /* The connection is over (err when it broke).  Called once, after every
   * stream_close. */
  void (*done)(void *data, const kube_error_t *err);
} kube_portforward_client_callbacks_t;

/* A client session.  ports[0..n_ports): the ports requested in the query
 * (WebSocket v4: the channels exist for exactly these; SPDY: unused). */
kube_portforward_client_t *
kube_portforward_client_new(const kube_stream_upgrade_t *up,
                            const uint16_t *ports, size_t n_ports,
                            const kube_portforward_client_callbacks_t *cb,
                            void *data, kube_error_t *err);
int kube_portforward_client_feed(kube_portforward_client_t *c, const void *buf,
                                 size_t len, kube_error_t *err);
void kube_portforward_client_eof(kube_portforward_client_t *c);
/* Open a forwarded connection to `port` with handle `user`.  SPDY: error
 * and data streams with a fresh requestID, as kubectl.  WebSocket v4: the
 * channel pair of that port (usable once; -1 when the port was not
 * requested or is in use).  The stream is borrowed from the session. */
kube_portforward_stream_t *
kube_portforward_client_open(kube_portforward_client_t *c, uint16_t port,
                             void *user, kube_error_t *err);
/* Close every stream and the connection; done follows. */
int kube_portforward_client_close(kube_portforward_client_t *c,
                                  kube_error_t *err);
void kube_portforward_client_free(kube_portforward_client_t *c);

#ifdef __cplusplus
}
#endif
#endif /* LIBKUBE_STREAM_H */
