/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared inside the stream module (prefix stream_).  Not installed,
 * not included by other modules.
 */
#ifndef KUBE_STREAM_INTERNAL_H
#define KUBE_STREAM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libkube/stream.h>

#include "core/util.h"

/* Channel numbers of the remote command protocols. */
enum {
  STREAM_CH_STDIN = 0,
  STREAM_CH_STDOUT = 1,
  STREAM_CH_STDERR = 2,
  STREAM_CH_ERROR = 3,
  STREAM_CH_RESIZE = 4,
  STREAM_CH_CLOSE = 255, /* v5: [255, channel] closes a channel */
};

/* Fill buf with random bytes (getrandom).  -1 with err on failure. */
int stream_random(void *buf, size_t len, kube_error_t *err);

/* True when the comma-separated header value contains token
 * (case-insensitive, surrounding blanks ignored). */
bool stream_has_token(const char *value, const char *token);
/* True when the comma-separated list contains item exactly. */
bool stream_list_contains(const char *list, const char *item);

/* The read side of a byte stream: bytes accumulated until a whole frame is
 * there.  Consumed bytes are dropped lazily to keep appends cheap. */
typedef struct stream_inbuf {
  uint8_t *data;
  size_t len;   /* bytes held, from data[0] */
  size_t start; /* first byte not yet consumed */
  size_t cap;
} stream_inbuf_t;

int stream_inbuf_append(stream_inbuf_t *b, const void *buf, size_t len,
                        kube_error_t *err);
static inline uint8_t *stream_inbuf_head(stream_inbuf_t *b) {
  return b->data + b->start;
}
static inline size_t stream_inbuf_avail(const stream_inbuf_t *b) {
  return b->len - b->start;
}
void stream_inbuf_consume(stream_inbuf_t *b, size_t n);
void stream_inbuf_clear(stream_inbuf_t *b);

/* Big-endian helpers. */
static inline uint32_t stream_be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}
static inline void stream_put_be32(uint8_t *p, uint32_t v) {
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

/* The SPDY/3 header compression dictionary (spdy-dict.c). */
extern const unsigned char stream_spdy_dictionary[1423];

/* ---- Status objects of the error channel (status.c) ------------------- */

/* Append the v4 Status JSON for an exit (error_message NULL) or an error,
 * byte-compatible with json.Marshal(metav1.Status). */
void stream_status_json(kube_strbuf_t *out, int exit_code,
                        const char *error_message);
/* Append the v1..v3 text for the same outcome (nothing for success). */
void stream_status_text(kube_strbuf_t *out, int exit_code,
                        const char *error_message);
/* Decode the error channel's content as a client of `version` does:
 * *exit_code 0 or > 0, or -1 with *message (owned, free()). */
void stream_status_decode(int version, const char *buf, size_t len,
                          int *exit_code, char **message);
/* Resize events: append {"Width":w,"Height":h}\n. */
void stream_resize_json(kube_strbuf_t *out, uint16_t w, uint16_t h);

/* Incremental decoder for a stream of resize JSON objects (SPDY delivers
 * them as a byte stream, WebSocket one per message). */
typedef struct stream_resize_parser {
  kube_strbuf_t buf;
} stream_resize_parser_t;
/* Feed bytes; calls fn for each complete object.  -1 with BadRequest on
 * garbage or an object larger than 4 KiB. */
int stream_resize_feed(stream_resize_parser_t *p, const void *buf, size_t len,
                       void (*fn)(void *arg, uint16_t w, uint16_t h), void *arg,
                       kube_error_t *err);
void stream_resize_clear(stream_resize_parser_t *p);

/* ---- The carrier under exec and port-forward sessions (link.c) -------- */

/* What a session rides on: a WebSocket with channels, SPDY, or SPDY inside
 * WebSocket binary messages.  The link owns the ws/spdy sessions and routes
 * their events to the upper session through ops. */
typedef struct stream_link_ops {
  /* WebSocket channel transport: a message on channel ch (decoded from
   * base64 when the protocol says so). */
  void (*channel)(void *up, uint8_t ch, const uint8_t *buf, size_t len);
  /* SPDY transports: stream events, as kube_spdy_callbacks_t. */
  int (*stream_open)(void *up, uint32_t id, const kube_spdy_header_t *h,
                     size_t n, bool fin);
  void (*stream_reply)(void *up, uint32_t id);
  void (*stream_data)(void *up, uint32_t id, const void *buf, size_t len);
  void (*stream_fin)(void *up, uint32_t id);
  void (*stream_end)(void *up, uint32_t id, uint32_t status);
  /* The connection is over (err set when it broke). */
  void (*closed)(void *up, const kube_error_t *err);
} stream_link_ops_t;

typedef struct stream_link {
  kube_stream_transport_t transport;
  bool base64;
  kube_ws_t *ws;
  kube_spdy_t *spdy;
  const stream_link_ops_t *ops;
  void *up;
  void (*write)(void *data, const void *buf, size_t len);
  void *write_data;
  bool closed; /* ops->closed was called */
} stream_link_t;

/* server: our role.  write/write_data: the app's output. */
int stream_link_init(stream_link_t *l, const kube_stream_upgrade_t *u,
                     bool server, const stream_link_ops_t *ops, void *up,
                     void (*write)(void *data, const void *buf, size_t len),
                     void *write_data, kube_error_t *err);
void stream_link_clear(stream_link_t *l);
int stream_link_feed(stream_link_t *l, const void *buf, size_t len,
                     kube_error_t *err);
void stream_link_eof(stream_link_t *l);
/* WebSocket: send buf on channel ch (raw or base64). */
int stream_link_send_channel(stream_link_t *l, uint8_t ch, const void *buf,
                             size_t len, kube_error_t *err);
/* WebSocket: the raw message [a, b] (v5 close signal). */
int stream_link_send_raw(stream_link_t *l, const uint8_t *buf, size_t len,
                         kube_error_t *err);
/* Close the connection politely: WebSocket close 1000; SPDY GOAWAY, and
 * for SPDY in WebSocket the WebSocket close too.  For plain SPDY the
 * caller's `closed` comes when the peer goes away or at EOF, so the link
 * reports it right away when nothing else is expected. */
int stream_link_close(stream_link_t *l, kube_error_t *err);
/* Report `closed` to the upper session once. */
void stream_link_report_closed(stream_link_t *l, const kube_error_t *err);

/* A one-header block for SPDY: name/value pairs from a NULL-terminated
 * list of strings (name, value, name, value, ..., NULL). */
int stream_spdy_headers(kube_spdy_header_t *h, size_t max, size_t *n,
                        const char *const *kv);

#endif /* KUBE_STREAM_INTERNAL_H */
