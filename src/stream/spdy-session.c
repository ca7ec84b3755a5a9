/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A SPDY/3.1 connection: stream ids and states, replies, resets, pings,
 * GOAWAY, and (optional) flow control with per-stream and session windows.
 * Streams are few (an exec uses five, a port-forward two per connection),
 * so they live in an array searched linearly.  Callbacks may reset or
 * finish streams, so after every callback a stream is looked up again by
 * id instead of trusting a pointer.
 */
#include "stream/internal.h"

#define SPDY_INITIAL_WINDOW 65536
#define SPDY_CHUNK 65536

typedef struct spdy_stream {
  uint32_t id;
  bool ours;       /* we opened it */
  bool replied;    /* SYN_REPLY sent (theirs) or received (ours) */
  bool local_fin;  /* we sent FIN */
  bool remote_fin; /* the peer sent FIN */
  int64_t send_window;
  int64_t recv_window;
  kube_strbuf_t queue; /* data waiting for window (flow control) */
  bool queued_fin;
} spdy_stream_t;

struct kube_spdy {
  kube_spdy_callbacks_t cb;
  void *data;
  bool server;
  bool flow;
  size_t max_frame;
  kube_spdy_zlib_t *deflater, *inflater;
  stream_inbuf_t in;
  spdy_stream_t **streams;
  size_t n_streams, cap_streams;
  uint32_t next_id, last_peer_id, next_ping;
  int64_t initial_send_window;
  int64_t session_send_window, session_recv_window;
  bool goaway_sent, goaway_received, closed;
};

static void write_frame(kube_spdy_t *s, const kube_spdy_frame_t *f) {
  cleanup_strbuf kube_strbuf_t out = KUBE_STRBUF_INIT;
  kube_error_t e = KUBE_ERROR_INIT;
  if (kube_spdy_frame_encode(s->deflater, f, &out, &e) == 0)
    s->cb.write(s->data, out.data, out.len);
  kube_error_clear(&e);
}

static int send_frame(kube_spdy_t *s, const kube_spdy_frame_t *f,
                      kube_error_t *err) {
  cleanup_strbuf kube_strbuf_t out = KUBE_STRBUF_INIT;
  if (kube_spdy_frame_encode(s->deflater, f, &out, err) < 0)
    return -1;
  s->cb.write(s->data, out.data, out.len);
  return 0;
}

KUBE_EXPORT kube_spdy_t *kube_spdy_new(const kube_spdy_options_t *opts,
                                       const kube_spdy_callbacks_t *cb,
                                       void *data, kube_error_t *err) {
  if (!cb || !cb->write) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "spdy: a write callback is required");
    return NULL;
  }
  kube_spdy_t *s = calloc(1, sizeof *s);
  if (!s) {
    kube_make_oom(err);
    return NULL;
  }
  s->cb = *cb;
  s->data = data;
  if (opts) {
    s->server = opts->server;
    s->flow = opts->flow_control;
    s->max_frame = opts->max_frame;
  }
  s->next_id = s->server ? 2 : 1;
  s->next_ping = s->server ? 2 : 1;
  s->initial_send_window = SPDY_INITIAL_WINDOW;
  s->session_send_window = SPDY_INITIAL_WINDOW;
  s->session_recv_window = SPDY_INITIAL_WINDOW;
  s->deflater = kube_spdy_zlib_new(true, err);
  s->inflater = s->deflater ? kube_spdy_zlib_new(false, err) : NULL;
  if (!s->inflater) {
    kube_spdy_free(s);
    return NULL;
  }
  return s;
}

static void stream_free(spdy_stream_t *st) {
  if (!st)
    return;
  kube_strbuf_clear(&st->queue);
  free(st);
}

KUBE_EXPORT void kube_spdy_free(kube_spdy_t *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->n_streams; i++)
    stream_free(s->streams[i]);
  free(s->streams);
  kube_spdy_zlib_free(s->deflater);
  kube_spdy_zlib_free(s->inflater);
  stream_inbuf_clear(&s->in);
  free(s);
}

static spdy_stream_t *find(kube_spdy_t *s, uint32_t id) {
  for (size_t i = 0; i < s->n_streams; i++)
    if (s->streams[i]->id == id)
      return s->streams[i];
  return NULL;
}

static spdy_stream_t *add_stream(kube_spdy_t *s, uint32_t id, bool ours,
                                 kube_error_t *err) {
  if (s->n_streams == s->cap_streams) {
    size_t cap = s->cap_streams ? s->cap_streams * 2 : 8;
    spdy_stream_t **v = realloc(s->streams, cap * sizeof *v);
    if (!v) {
      kube_make_oom(err);
      return NULL;
    }
    s->streams = v;
    s->cap_streams = cap;
  }
  spdy_stream_t *st = calloc(1, sizeof *st);
  if (!st) {
    kube_make_oom(err);
    return NULL;
  }
  st->id = id;
  st->ours = ours;
  st->send_window = s->initial_send_window;
  st->recv_window = SPDY_INITIAL_WINDOW;
  s->streams[s->n_streams++] = st;
  return st;
}

static void remove_stream(kube_spdy_t *s, uint32_t id) {
  for (size_t i = 0; i < s->n_streams; i++)
    if (s->streams[i]->id == id) {
      stream_free(s->streams[i]);
      s->streams[i] = s->streams[--s->n_streams];
      return;
    }
}

/* Both halves are closed: forget the stream and tell the owner. */
static void maybe_finish(kube_spdy_t *s, uint32_t id) {
  spdy_stream_t *st = find(s, id);
  if (!st || !st->local_fin || !st->remote_fin)
    return;
  remove_stream(s, id);
  if (s->cb.stream_end)
    s->cb.stream_end(s->data, id, 0);
}

static void send_rst(kube_spdy_t *s, uint32_t id, uint32_t status) {
  kube_spdy_frame_t f = {
      .type = KUBE_SPDY_RST_STREAM, .stream_id = id, .status = status};
  write_frame(s, &f);
}

static void report_closed(kube_spdy_t *s, const kube_error_t *err) {
  if (s->closed)
    return;
  s->closed = true;
  if (s->cb.closed)
    s->cb.closed(s->data, err);
}

/* Every stream ends (CANCEL): the connection is over. */
static void end_all(kube_spdy_t *s) {
  while (s->n_streams > 0) {
    uint32_t id = s->streams[s->n_streams - 1]->id;
    remove_stream(s, id);
    if (s->cb.stream_end)
      s->cb.stream_end(s->data, id, KUBE_SPDY_CANCEL);
  }
}

static int protocol_error(kube_spdy_t *s, kube_error_t *err) {
  if (!s->goaway_sent) {
    kube_spdy_frame_t f = {.type = KUBE_SPDY_GOAWAY,
                           .stream_id = s->last_peer_id,
                           .status = 1 /* PROTOCOL_ERROR */};
    write_frame(s, &f);
    s->goaway_sent = true;
  }
  end_all(s);
  report_closed(s, err);
  return -1;
}

/* Send what the windows allow of a stream's queue. */
static void flush_queue(kube_spdy_t *s, spdy_stream_t *st) {
  size_t off = 0;
  while (off < st->queue.len || (st->queued_fin && off == st->queue.len)) {
    size_t n = st->queue.len - off;
    if (n > SPDY_CHUNK)
      n = SPDY_CHUNK;
    if (s->flow) {
      int64_t win = st->send_window < s->session_send_window
                        ? st->send_window
                        : s->session_send_window;
      if (win <= 0 && n > 0)
        break;
      if ((int64_t)n > win)
        n = (size_t)win;
    }
    bool last = off + n == st->queue.len;
    kube_spdy_frame_t f = {.type = KUBE_SPDY_DATA,
                           .stream_id = st->id,
                           .flags =
                               last && st->queued_fin ? KUBE_SPDY_FLAG_FIN : 0,
                           .data = (const uint8_t *)st->queue.data + off,
                           .len = n};
    write_frame(s, &f);
    if (s->flow) {
      st->send_window -= (int64_t)n;
      s->session_send_window -= (int64_t)n;
    }
    off += n;
    if (last && st->queued_fin) {
      st->queued_fin = false;
      st->local_fin = true;
      break;
    }
  }
  if (off) {
    memmove(st->queue.data, st->queue.data + off, st->queue.len - off);
    st->queue.len -= off;
  }
}

static void flush_all(kube_spdy_t *s) {
  for (size_t i = 0; i < s->n_streams; i++) {
    uint32_t id = s->streams[i]->id;
    flush_queue(s, s->streams[i]);
    maybe_finish(s, id);
    /* maybe_finish may have removed it; revisit this slot's new owner. */
    if (i < s->n_streams && s->streams[i]->id != id)
      i--;
  }
}

static void on_remote_fin(kube_spdy_t *s, uint32_t id) {
  spdy_stream_t *st = find(s, id);
  if (!st || st->remote_fin)
    return;
  st->remote_fin = true;
  if (s->cb.stream_fin)
    s->cb.stream_fin(s->data, id);
  maybe_finish(s, id);
}

static int on_syn_stream(kube_spdy_t *s, kube_spdy_frame_t *f,
                         kube_error_t *err) {
  uint32_t id = f->stream_id;
  bool peer_parity = (id & 1) == (s->server ? 1u : 0u);
  if (!peer_parity || id <= s->last_peer_id) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "spdy: peer opened stream %u out of order", id);
    return protocol_error(s, err);
  }
  s->last_peer_id = id;
  if (s->goaway_sent) {
    send_rst(s, id, KUBE_SPDY_REFUSED_STREAM);
    return 0;
  }
  spdy_stream_t *st = add_stream(s, id, false, err);
  if (!st)
    return protocol_error(s, err);
  bool fin = f->flags & KUBE_SPDY_FLAG_FIN;
  if (f->flags & KUBE_SPDY_FLAG_UNIDIRECTIONAL)
    st->local_fin = true;
  int r = s->cb.stream_open
              ? s->cb.stream_open(s->data, id, f->headers, f->n_headers, fin)
              : -1;
  if (r < 0) {
    if (find(s, id)) {
      remove_stream(s, id);
      send_rst(s, id, KUBE_SPDY_REFUSED_STREAM);
    }
    return 0;
  }
  if (fin)
    on_remote_fin(s, id);
  return 0;
}

static void on_data(kube_spdy_t *s, kube_spdy_frame_t *f) {
  uint32_t id = f->stream_id;
  spdy_stream_t *st = find(s, id);
  /* Data for a stream we already reset or forgot is dropped, as
   * spdystream does: the peer may not have seen our RST yet. */
  if (!st || st->remote_fin)
    return;
  if (s->flow && f->len) {
    st->recv_window -= (int64_t)f->len;
    s->session_recv_window -= (int64_t)f->len;
  }
  if (f->len && s->cb.stream_data)
    s->cb.stream_data(s->data, id, f->data, f->len);
  /* Data is consumed once delivered: give the window back right away. */
  if (s->flow && f->len) {
    kube_spdy_frame_t wu = {.type = KUBE_SPDY_WINDOW_UPDATE,
                            .stream_id = id,
                            .value = (uint32_t)f->len};
    if ((st = find(s, id)) && !st->remote_fin &&
        !(f->flags & KUBE_SPDY_FLAG_FIN)) {
      st->recv_window += (int64_t)f->len;
      write_frame(s, &wu);
    }
    wu.stream_id = 0;
    s->session_recv_window += (int64_t)f->len;
    write_frame(s, &wu);
  }
  if (f->flags & KUBE_SPDY_FLAG_FIN)
    on_remote_fin(s, id);
}

static void on_settings(kube_spdy_t *s, kube_spdy_frame_t *f) {
  for (size_t i = 0; i < f->n_settings; i++) {
    if (f->settings[i].id != KUBE_SPDY_SETTINGS_INITIAL_WINDOW_SIZE)
      continue;
    int64_t v = f->settings[i].value & 0x7fffffff;
    int64_t delta = v - s->initial_send_window;
    s->initial_send_window = v;
    for (size_t k = 0; k < s->n_streams; k++)
      s->streams[k]->send_window += delta;
  }
  if (s->flow)
    flush_all(s);
}

static void on_window_update(kube_spdy_t *s, kube_spdy_frame_t *f) {
  if (!s->flow)
    return;
  if (f->stream_id == 0) {
    s->session_send_window += f->value;
    flush_all(s);
    return;
  }
  spdy_stream_t *st = find(s, f->stream_id);
  if (!st)
    return;
  st->send_window += f->value;
  uint32_t id = st->id;
  flush_queue(s, st);
  maybe_finish(s, id);
}

static int on_frame(kube_spdy_t *s, kube_spdy_frame_t *f, kube_error_t *err) {
  switch (f->type) {
  case KUBE_SPDY_SYN_STREAM:
    return on_syn_stream(s, f, err);
  case KUBE_SPDY_SYN_REPLY: {
    spdy_stream_t *st = find(s, f->stream_id);
    if (!st || !st->ours || st->replied)
      return 0;
    st->replied = true;
    if (s->cb.stream_reply)
      s->cb.stream_reply(s->data, f->stream_id, f->headers, f->n_headers);
    if (f->flags & KUBE_SPDY_FLAG_FIN)
      on_remote_fin(s, f->stream_id);
    return 0;
  }
  case KUBE_SPDY_DATA:
    on_data(s, f);
    return 0;
  case KUBE_SPDY_RST_STREAM:
    if (find(s, f->stream_id)) {
      remove_stream(s, f->stream_id);
      if (s->cb.stream_end)
        s->cb.stream_end(s->data, f->stream_id, f->status);
    }
    return 0;
  case KUBE_SPDY_SETTINGS:
    on_settings(s, f);
    return 0;
  case KUBE_SPDY_PING:
    if ((f->value & 1) == (s->server ? 0u : 1u)) {
      if (s->cb.pong)
        s->cb.pong(s->data, f->value);
    } else {
      write_frame(s, f); /* echo the peer's ping */
    }
    return 0;
  case KUBE_SPDY_GOAWAY:
    s->goaway_received = true;
    if (s->cb.goaway)
      s->cb.goaway(s->data, f->stream_id, f->status);
    return 0;
  case KUBE_SPDY_HEADERS:
    if (f->flags & KUBE_SPDY_FLAG_FIN)
      on_remote_fin(s, f->stream_id);
    return 0;
  case KUBE_SPDY_WINDOW_UPDATE:
    on_window_update(s, f);
    return 0;
  default:
    return 0;
  }
}

KUBE_EXPORT int kube_spdy_feed(kube_spdy_t *s, const void *buf, size_t len,
                               kube_error_t *err) {
  if (s->closed)
    return 0;
  if (stream_inbuf_append(&s->in, buf, len, err) < 0)
    return protocol_error(s, err);
  while (!s->closed) {
    kube_spdy_frame_t f;
    size_t used = 0;
    int r = kube_spdy_frame_decode(s->inflater, stream_inbuf_head(&s->in),
                                   stream_inbuf_avail(&s->in), s->max_frame, &f,
                                   &used, err);
    if (r == 0)
      break;
    if (r < 0)
      return protocol_error(s, err);
    int rc = on_frame(s, &f, err);
    kube_spdy_frame_clear(&f);
    stream_inbuf_consume(&s->in, used);
    if (rc < 0)
      return -1;
  }
  return 0;
}

KUBE_EXPORT void kube_spdy_eof(kube_spdy_t *s) {
  end_all(s);
  report_closed(s, NULL);
}

KUBE_EXPORT uint32_t kube_spdy_open(kube_spdy_t *s, const kube_spdy_header_t *h,
                                    size_t n, bool fin, kube_error_t *err) {
  if (s->closed || s->goaway_sent || s->goaway_received) {
    kube_error_set(err, KUBE_REASON_GONE, EPIPE,
                   "spdy: connection is going away");
    return 0;
  }
  if (s->next_id >= 0x80000000u) {
    kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                   "spdy: stream ids exhausted");
    return 0;
  }
  uint32_t id = s->next_id;
  kube_spdy_frame_t f = {.type = KUBE_SPDY_SYN_STREAM,
                         .stream_id = id,
                         .flags = fin ? KUBE_SPDY_FLAG_FIN : 0,
                         .headers = (kube_spdy_header_t *)h,
                         .n_headers = n};
  spdy_stream_t *st = add_stream(s, id, true, err);
  if (!st)
    return 0;
  if (send_frame(s, &f, err) < 0) {
    remove_stream(s, id);
    return 0;
  }
  s->next_id += 2;
  st->local_fin = fin;
  return id;
}

KUBE_EXPORT int kube_spdy_reply(kube_spdy_t *s, uint32_t id,
                                const kube_spdy_header_t *h, size_t n, bool fin,
                                kube_error_t *err) {
  spdy_stream_t *st = find(s, id);
  if (!st || st->ours || st->replied)
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, ENOENT,
                          "spdy: no stream %u awaiting a reply", id);
  kube_spdy_frame_t f = {.type = KUBE_SPDY_SYN_REPLY,
                         .stream_id = id,
                         .flags = fin ? KUBE_SPDY_FLAG_FIN : 0,
                         .headers = (kube_spdy_header_t *)h,
                         .n_headers = n};
  if (send_frame(s, &f, err) < 0)
    return -1;
  st->replied = true;
  if (fin) {
    st->local_fin = true;
    maybe_finish(s, id);
  }
  return 0;
}

KUBE_EXPORT int kube_spdy_send(kube_spdy_t *s, uint32_t id, const void *buf,
                               size_t len, bool fin, kube_error_t *err) {
  spdy_stream_t *st = find(s, id);
  if (!st || st->local_fin || st->queued_fin)
    return kube_error_set(err, KUBE_REASON_GONE, EPIPE,
                          "spdy: stream %u is closed for writing", id);
  if (s->closed)
    return kube_error_set(err, KUBE_REASON_GONE, EPIPE,
                          "spdy: connection is closed");
  kube_strbuf_append_len(&st->queue, buf, len);
  if (st->queue.oom)
    return kube_make_oom(err);
  st->queued_fin = fin;
  flush_queue(s, st);
  maybe_finish(s, id);
  return 0;
}

KUBE_EXPORT size_t kube_spdy_queued(const kube_spdy_t *s, uint32_t id) {
  spdy_stream_t *st = find((kube_spdy_t *)s, id);
  return st ? st->queue.len : 0;
}

KUBE_EXPORT int kube_spdy_reset(kube_spdy_t *s, uint32_t id,
                                kube_spdy_rst_t status, kube_error_t *err) {
  if (!find(s, id))
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, ENOENT,
                          "spdy: no stream %u", id);
  remove_stream(s, id);
  kube_spdy_frame_t f = {
      .type = KUBE_SPDY_RST_STREAM, .stream_id = id, .status = status};
  return send_frame(s, &f, err);
}

KUBE_EXPORT uint32_t kube_spdy_ping(kube_spdy_t *s, kube_error_t *err) {
  uint32_t id = s->next_ping;
  s->next_ping += 2;
  if (s->next_ping >= 0x80000000u)
    s->next_ping = s->server ? 2 : 1;
  kube_spdy_frame_t f = {.type = KUBE_SPDY_PING, .value = id};
  return send_frame(s, &f, err) < 0 ? 0 : id;
}

KUBE_EXPORT int kube_spdy_goaway(kube_spdy_t *s, uint32_t status,
                                 kube_error_t *err) {
  if (s->goaway_sent)
    return 0;
  kube_spdy_frame_t f = {
      .type = KUBE_SPDY_GOAWAY, .stream_id = s->last_peer_id, .status = status};
  s->goaway_sent = true;
  return send_frame(s, &f, err);
}

KUBE_EXPORT size_t kube_spdy_stream_count(const kube_spdy_t *s) {
  return s->n_streams;
}

KUBE_EXPORT bool kube_spdy_is_closed(const kube_spdy_t *s) {
  return s->closed;
}
