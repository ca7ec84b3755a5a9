/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server end of a remote command (exec, attach), as the kubelet's
 * streaming server behaves: over WebSocket every channel exists from the
 * start and an empty message tells the client the connection is up; over
 * SPDY the client creates one stream per requested stream type and the
 * session is ready once all of them arrived.  The process's end is sent on
 * the error stream (a Status from v4 on, text before).
 */
#include "stream/internal.h"

enum { SLOT_ERROR, SLOT_STDIN, SLOT_STDOUT, SLOT_STDERR, SLOT_RESIZE, SLOTS };

static const char *const slot_names[SLOTS] = {"error", "stdin", "stdout",
                                              "stderr", "resize"};

struct kube_exec_server {
  stream_link_t link;
  kube_exec_streams_t opts;
  kube_exec_server_callbacks_t cb;
  void *data;
  int version;
  uint32_t ids[SLOTS]; /* SPDY stream per slot, 0 when absent */
  int expected, received;
  bool started, ready, stdin_done, finished, done;
  stream_resize_parser_t resize;
};

KUBE_EXPORT int kube_exec_streams_check(kube_exec_streams_t *o,
                                        kube_error_t *err) {
  if (o->tty && o->use_stderr)
    o->use_stderr = false; /* the tty merges stderr into stdout */
  if (!o->use_stdin && !o->use_stdout && !o->use_stderr)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "you must specify at least 1 of stdin, stdout, "
                          "stderr");
  return 0;
}

static void report_done(kube_exec_server_t *s, const kube_error_t *err) {
  if (s->done)
    return;
  if (s->ready && s->opts.use_stdin && !s->stdin_done) {
    s->stdin_done = true;
    if (s->cb.stdin_eof)
      s->cb.stdin_eof(s->data);
  }
  s->done = true;
  if (s->cb.done)
    s->cb.done(s->data, err);
}

static void make_ready(kube_exec_server_t *s) {
  if (s->ready)
    return;
  s->ready = true;
  if (s->cb.ready)
    s->cb.ready(s->data);
}

static void on_resize(void *arg, uint16_t w, uint16_t h) {
  kube_exec_server_t *s = arg;
  if (s->opts.tty && s->cb.resize)
    s->cb.resize(s->data, w, h);
}

static void resize_bytes(kube_exec_server_t *s, const void *buf, size_t len) {
  kube_error_t e = KUBE_ERROR_INIT;
  /* As the kubelet: a bad resize message ends resize handling, not the
   * session. */
  if (stream_resize_feed(&s->resize, buf, len, on_resize, s, &e) < 0) {
    log_debug("exec: %s", e.message);
    stream_resize_clear(&s->resize);
  }
  kube_error_clear(&e);
}

static void stdin_eof(kube_exec_server_t *s) {
  if (s->stdin_done || !s->opts.use_stdin)
    return;
  s->stdin_done = true;
  if (s->cb.stdin_eof)
    s->cb.stdin_eof(s->data);
}

/* ---- WebSocket channels ------------------------------------------------ */

static void ws_channel(void *up, uint8_t ch, const uint8_t *buf, size_t len) {
  kube_exec_server_t *s = up;
  if (s->finished)
    return;
  switch (ch) {
  case STREAM_CH_STDIN:
    if (s->opts.use_stdin && !s->stdin_done && len && s->cb.stdin_data)
      s->cb.stdin_data(s->data, buf, len);
    break;
  case STREAM_CH_RESIZE:
    resize_bytes(s, buf, len);
    break;
  case STREAM_CH_CLOSE:
    /* v5: [255, channel] half-closes a channel; only stdin is ours to
     * read. */
    if (s->version >= 5 && len == 1 && buf[0] == STREAM_CH_STDIN)
      stdin_eof(s);
    break;
  default:
    break; /* write-only or unknown channels are ignored, as wsstream */
  }
}

/* ---- SPDY streams ------------------------------------------------------ */

static int slot_of(const kube_exec_server_t *s, uint32_t id) {
  for (int i = 0; i < SLOTS; i++)
    if (s->ids[i] == id)
      return i;
  return -1;
}

static int spdy_open(void *up, uint32_t id, const kube_spdy_header_t *h,
                     size_t n, bool fin) {
  kube_exec_server_t *s = up;
  if (s->finished)
    return -1;
  const char *type = kube_spdy_header_get(h, n, "streamtype");
  int slot = -1;
  for (int i = 0; type && i < SLOTS; i++)
    if (streq(type, slot_names[i]))
      slot = i;
  bool wanted = slot == SLOT_ERROR ||
                (slot == SLOT_STDIN && s->opts.use_stdin) ||
                (slot == SLOT_STDOUT && s->opts.use_stdout) ||
                (slot == SLOT_STDERR && s->opts.use_stderr) ||
                (slot == SLOT_RESIZE && s->opts.tty && s->version >= 3);
  kube_error_t e = KUBE_ERROR_INIT;
  if (kube_spdy_reply(s->link.spdy, id, NULL, 0, false, &e) < 0) {
    kube_error_clear(&e);
    return -1;
  }
  if (slot < 0 || s->ids[slot]) {
    /* The kubelet accepts and ignores streams of unknown type. */
    log_debug("exec: ignoring stream %u of type %s", id, type ? type : "");
    return 0;
  }
  s->ids[slot] = id;
  if (wanted && ++s->received == s->expected) {
    /* v1 closes the server's side of stdin at once (a 1.0 kubelet
     * quirk clients of that version expect). */
    if (s->version == 1 && s->ids[SLOT_STDIN])
      kube_spdy_send(s->link.spdy, s->ids[SLOT_STDIN], NULL, 0, true, NULL);
    make_ready(s);
  }
  if (fin && slot == SLOT_STDIN)
    stdin_eof(s);
  return 0;
}

static void spdy_data(void *up, uint32_t id, const void *buf, size_t len) {
  kube_exec_server_t *s = up;
  int slot = slot_of(s, id);
  if (s->finished)
    return;
  if (slot == SLOT_STDIN && s->opts.use_stdin && !s->stdin_done &&
      s->cb.stdin_data)
    s->cb.stdin_data(s->data, buf, len);
  else if (slot == SLOT_RESIZE)
    resize_bytes(s, buf, len);
}

static void spdy_fin(void *up, uint32_t id) {
  kube_exec_server_t *s = up;
  if (slot_of(s, id) == SLOT_STDIN)
    stdin_eof(s);
}

static void spdy_end(void *up, uint32_t id, uint32_t status) {
  kube_exec_server_t *s = up;
  int slot = slot_of(s, id);
  if (slot < 0)
    return;
  s->ids[slot] = 0;
  if (slot == SLOT_STDIN)
    stdin_eof(s);
}

static void link_closed(void *up, const kube_error_t *err) {
  kube_exec_server_t *s = up;
  if (!err && !s->finished) {
    kube_error_t e = KUBE_ERROR_INIT;
    kube_error_set(&e, KUBE_REASON_SERVICE_UNAVAILABLE, ECONNRESET,
                   "exec: the client closed the connection");
    report_done(s, &e);
    kube_error_clear(&e);
    return;
  }
  report_done(s, err);
}

static const stream_link_ops_t server_ops = {
    .channel = ws_channel,
    .stream_open = spdy_open,
    .stream_data = spdy_data,
    .stream_fin = spdy_fin,
    .stream_end = spdy_end,
    .closed = link_closed,
};

KUBE_EXPORT kube_exec_server_t *kube_exec_server_new(
    const kube_stream_upgrade_t *up, const kube_exec_streams_t *opts,
    const kube_exec_server_callbacks_t *cb, void *data, kube_error_t *err) {
  if (!up || up->kind != KUBE_STREAM_EXEC ||
      up->transport == KUBE_STREAM_SPDY_OVER_WEBSOCKET || !opts || !cb) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "exec: needs an exec upgrade over WebSocket or SPDY");
    return NULL;
  }
  kube_exec_server_t *s = calloc(1, sizeof *s);
  if (!s) {
    kube_make_oom(err);
    return NULL;
  }
  s->opts = *opts;
  s->cb = *cb;
  s->data = data;
  s->version = up->version;
  if (kube_exec_streams_check(&s->opts, err) < 0 ||
      stream_link_init(&s->link, up, true, &server_ops, s, cb->write, data,
                       err) < 0) {
    free(s);
    return NULL;
  }
  s->expected = 1 + s->opts.use_stdin + s->opts.use_stdout +
                s->opts.use_stderr + (s->opts.tty && s->version >= 3);
  return s;
}

KUBE_EXPORT void kube_exec_server_free(kube_exec_server_t *s) {
  if (!s)
    return;
  stream_link_clear(&s->link);
  stream_resize_clear(&s->resize);
  free(s);
}

KUBE_EXPORT int kube_exec_server_version(const kube_exec_server_t *s) {
  return s->version;
}

KUBE_EXPORT int kube_exec_server_start(kube_exec_server_t *s,
                                       kube_error_t *err) {
  if (s->started)
    return 0;
  s->started = true;
  if (s->link.transport != KUBE_STREAM_WEBSOCKET)
    return 0;
  uint8_t ch = s->opts.use_stdout   ? STREAM_CH_STDOUT
               : s->opts.use_stderr ? STREAM_CH_STDERR
                                    : STREAM_CH_ERROR;
  if (stream_link_send_channel(&s->link, ch, NULL, 0, err) < 0)
    return -1;
  make_ready(s);
  return 0;
}

KUBE_EXPORT int kube_exec_server_feed(kube_exec_server_t *s, const void *buf,
                                      size_t len, kube_error_t *err) {
  return stream_link_feed(&s->link, buf, len, err);
}

KUBE_EXPORT void kube_exec_server_eof(kube_exec_server_t *s) {
  stream_link_eof(&s->link);
}

static int write_slot(kube_exec_server_t *s, int slot, bool wanted,
                      const void *buf, size_t len, kube_error_t *err) {
  if (s->finished || s->done)
    return kube_error_set(err, KUBE_REASON_GONE, EPIPE,
                          "exec: the session has ended");
  if (!wanted || len == 0)
    return 0;
  if (s->link.transport == KUBE_STREAM_WEBSOCKET)
    return stream_link_send_channel(&s->link, (uint8_t)slot, buf, len, err);
  int sl = slot == STREAM_CH_STDOUT ? SLOT_STDOUT : SLOT_STDERR;
  if (!s->ids[sl])
    return 0; /* not created (yet), or reset by the client: dropped */
  return kube_spdy_send(s->link.spdy, s->ids[sl], buf, len, false, err);
}

KUBE_EXPORT int kube_exec_server_write_stdout(kube_exec_server_t *s,
                                              const void *buf, size_t len,
                                              kube_error_t *err) {
  return write_slot(s, STREAM_CH_STDOUT, s->opts.use_stdout, buf, len, err);
}

KUBE_EXPORT int kube_exec_server_write_stderr(kube_exec_server_t *s,
                                              const void *buf, size_t len,
                                              kube_error_t *err) {
  return write_slot(s, STREAM_CH_STDERR, s->opts.use_stderr, buf, len, err);
}

KUBE_EXPORT int kube_exec_server_finish(kube_exec_server_t *s, int exit_code,
                                        const char *error_message,
                                        kube_error_t *err) {
  if (s->finished || s->done)
    return kube_error_set(err, KUBE_REASON_GONE, EPIPE,
                          "exec: the session has ended");
  s->finished = true;
  cleanup_strbuf kube_strbuf_t st = KUBE_STRBUF_INIT;
  if (s->version >= 4)
    stream_status_json(&st, exit_code, error_message);
  else
    stream_status_text(&st, exit_code, error_message);
  if (st.oom)
    return kube_make_oom(err);
  int rc = 0;
  if (s->link.transport == KUBE_STREAM_WEBSOCKET) {
    if (st.len)
      rc = stream_link_send_channel(&s->link, STREAM_CH_ERROR, st.data, st.len,
                                    err);
  } else {
    /* Status then FIN on the error stream; FIN our side of the others so
     * clients waiting for the streams to end (v2+ stdin) return. */
    static const int order[] = {SLOT_STDOUT, SLOT_STDERR, SLOT_ERROR,
                                SLOT_STDIN, SLOT_RESIZE};
    for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
      uint32_t id = s->ids[order[i]];
      if (!id)
        continue;
      bool status = order[i] == SLOT_ERROR;
      kube_spdy_send(s->link.spdy, id, status ? st.data : NULL,
                     status ? st.len : 0, true, NULL);
    }
  }
  int rc2 = stream_link_close(&s->link, rc < 0 ? NULL : err);
  return rc < 0 ? rc : rc2;
}
