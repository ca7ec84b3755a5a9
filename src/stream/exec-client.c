/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The client end of a remote command (kube exec/attach), after client-go's
 * remotecommand executors: SPDY creates the error, stdin, stdout, stderr
 * (not with a tty) and resize (tty, v3+) streams in that order; WebSocket
 * uses the fixed channels.  The command's end is read from the error
 * stream once it ends (v4+: a Status carrying the exit code).
 */
#include "stream/internal.h"

enum { SLOT_ERROR, SLOT_STDIN, SLOT_STDOUT, SLOT_STDERR, SLOT_RESIZE, SLOTS };

static const char *const slot_names[SLOTS] = {"error", "stdin", "stdout",
                                              "stderr", "resize"};

struct kube_exec_client {
  stream_link_t link;
  kube_exec_streams_t opts;
  kube_exec_client_callbacks_t cb;
  void *data;
  int version;
  uint32_t ids[SLOTS];
  bool ended[SLOTS]; /* the server finished (FIN) or dropped the stream */
  int opened, replied;
  bool started, ready, exited, done, stdin_closed;
  kube_strbuf_t error; /* content of the error stream/channel */
};

static void report_exit(kube_exec_client_t *c) {
  if (c->exited)
    return;
  c->exited = true;
  int code = 0;
  char *msg = NULL;
  stream_status_decode(c->version, c->error.data ? c->error.data : "",
                       c->error.len, &code, &msg);
  if (c->cb.exit)
    c->cb.exit(c->data, code, msg);
  free(msg);
}

static void report_done(kube_exec_client_t *c, const kube_error_t *err) {
  if (c->done)
    return;
  c->done = true;
  if (c->cb.done)
    c->cb.done(c->data, err);
}

static void link_closed(void *up, const kube_error_t *err) {
  kube_exec_client_t *c = up;
  bool ws = c->link.transport == KUBE_STREAM_WEBSOCKET;
  /* WebSocket: the server closes after the status; whatever arrived on the
   * error channel decides.  SPDY: the status counts once its stream
   * ended. */
  if (!c->exited && !err && (ws || c->ended[SLOT_ERROR]))
    report_exit(c);
  if (!c->exited && !err) {
    kube_error_t e = KUBE_ERROR_INIT;
    kube_error_set(&e, KUBE_REASON_SERVICE_UNAVAILABLE, ECONNRESET,
                   "exec: connection closed before the command finished");
    report_done(c, &e);
    kube_error_clear(&e);
    return;
  }
  report_done(c, c->exited ? NULL : err);
}

static void ws_channel(void *up, uint8_t ch, const uint8_t *buf, size_t len) {
  kube_exec_client_t *c = up;
  if (len == 0)
    return;
  switch (ch) {
  case STREAM_CH_STDOUT:
    if (c->cb.stdout_data)
      c->cb.stdout_data(c->data, buf, len);
    break;
  case STREAM_CH_STDERR:
    if (c->cb.stderr_data)
      c->cb.stderr_data(c->data, buf, len);
    break;
  case STREAM_CH_ERROR:
    kube_strbuf_append_len(&c->error, (const char *)buf, len);
    break;
  default:
    break;
  }
}

static int slot_of(const kube_exec_client_t *c, uint32_t id) {
  for (int i = 0; i < SLOTS; i++)
    if (c->ids[i] == id)
      return i;
  return -1;
}

static void spdy_reply(void *up, uint32_t id) {
  kube_exec_client_t *c = up;
  if (slot_of(c, id) >= 0 && ++c->replied == c->opened && !c->ready) {
    c->ready = true;
    if (c->cb.ready)
      c->cb.ready(c->data);
  }
}

static void spdy_data(void *up, uint32_t id, const void *buf, size_t len) {
  kube_exec_client_t *c = up;
  switch (slot_of(c, id)) {
  case SLOT_STDOUT:
    if (c->cb.stdout_data)
      c->cb.stdout_data(c->data, buf, len);
    break;
  case SLOT_STDERR:
    if (c->cb.stderr_data)
      c->cb.stderr_data(c->data, buf, len);
    break;
  case SLOT_ERROR:
    kube_strbuf_append_len(&c->error, buf, len);
    break;
  default:
    break;
  }
}

/* The command is over once the error stream and the output streams ended;
 * then leave politely. */
static void check_finished(kube_exec_client_t *c) {
  if (c->exited || !c->ended[SLOT_ERROR])
    return;
  if ((c->ids[SLOT_STDOUT] && !c->ended[SLOT_STDOUT]) ||
      (c->ids[SLOT_STDERR] && !c->ended[SLOT_STDERR]))
    return;
  report_exit(c);
  for (int i = 0; i < SLOTS; i++)
    if (c->ids[i] && !c->ended[i])
      kube_spdy_reset(c->link.spdy, c->ids[i], KUBE_SPDY_CANCEL, NULL);
  stream_link_close(&c->link, NULL);
}

static void stream_ended(kube_exec_client_t *c, uint32_t id) {
  int slot = slot_of(c, id);
  if (slot < 0 || c->ended[slot])
    return;
  c->ended[slot] = true;
  check_finished(c);
}

static void spdy_fin(void *up, uint32_t id) {
  stream_ended(up, id);
}

static void spdy_end(void *up, uint32_t id, uint32_t status) {
  kube_exec_client_t *c = up;
  int slot = slot_of(c, id);
  if (slot >= 0 && !c->ended[slot]) {
    stream_ended(c, id);
  }
}

static const stream_link_ops_t client_ops = {
    .channel = ws_channel,
    .stream_reply = spdy_reply,
    .stream_data = spdy_data,
    .stream_fin = spdy_fin,
    .stream_end = spdy_end,
    .closed = link_closed,
};

KUBE_EXPORT kube_exec_client_t *kube_exec_client_new(
    const kube_stream_upgrade_t *up, const kube_exec_streams_t *opts,
    const kube_exec_client_callbacks_t *cb, void *data, kube_error_t *err) {
  if (!up || up->kind != KUBE_STREAM_EXEC ||
      up->transport == KUBE_STREAM_SPDY_OVER_WEBSOCKET || !opts || !cb) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "exec: needs an exec upgrade over WebSocket or SPDY");
    return NULL;
  }
  kube_exec_client_t *c = calloc(1, sizeof *c);
  if (!c) {
    kube_make_oom(err);
    return NULL;
  }
  c->opts = *opts;
  c->cb = *cb;
  c->data = data;
  c->version = up->version;
  if (kube_exec_streams_check(&c->opts, err) < 0 ||
      stream_link_init(&c->link, up, false, &client_ops, c, cb->write, data,
                       err) < 0) {
    free(c);
    return NULL;
  }
  return c;
}

KUBE_EXPORT void kube_exec_client_free(kube_exec_client_t *c) {
  if (!c)
    return;
  stream_link_clear(&c->link);
  kube_strbuf_clear(&c->error);
  free(c);
}

KUBE_EXPORT int kube_exec_client_start(kube_exec_client_t *c,
                                       kube_error_t *err) {
  if (c->started)
    return 0;
  c->started = true;
  if (c->link.transport == KUBE_STREAM_WEBSOCKET) {
    c->ready = true;
    if (c->cb.ready)
      c->cb.ready(c->data);
    return 0;
  }
  bool want[SLOTS] = {true, c->opts.use_stdin, c->opts.use_stdout,
                      c->opts.use_stderr && !c->opts.tty,
                      c->opts.tty && c->version >= 3};
  for (int i = 0; i < SLOTS; i++) {
    if (!want[i])
      continue;
    const char *kv[] = {"streamtype", slot_names[i], NULL};
    kube_spdy_header_t h[1];
    size_t n;
    stream_spdy_headers(h, 1, &n, kv);
    uint32_t id = kube_spdy_open(c->link.spdy, h, n, false, err);
    if (!id)
      return -1;
    c->ids[i] = id;
    c->opened++;
  }
  return 0;
}

KUBE_EXPORT int kube_exec_client_feed(kube_exec_client_t *c, const void *buf,
                                      size_t len, kube_error_t *err) {
  return stream_link_feed(&c->link, buf, len, err);
}

KUBE_EXPORT void kube_exec_client_eof(kube_exec_client_t *c) {
  stream_link_eof(&c->link);
}

KUBE_EXPORT int kube_exec_client_write_stdin(kube_exec_client_t *c,
                                             const void *buf, size_t len,
                                             kube_error_t *err) {
  if (!c->opts.use_stdin || c->stdin_closed)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EPIPE,
                          "exec: stdin is not open");
  if (len == 0)
    return 0;
  if (c->link.transport == KUBE_STREAM_WEBSOCKET)
    return stream_link_send_channel(&c->link, STREAM_CH_STDIN, buf, len, err);
  return kube_spdy_send(c->link.spdy, c->ids[SLOT_STDIN], buf, len, false, err);
}

KUBE_EXPORT int kube_exec_client_close_stdin(kube_exec_client_t *c,
                                             kube_error_t *err) {
  if (!c->opts.use_stdin || c->stdin_closed)
    return 0;
  c->stdin_closed = true;
  if (c->link.transport == KUBE_STREAM_WEBSOCKET) {
    if (c->version < 5)
      return 0;
    const uint8_t sig[2] = {STREAM_CH_CLOSE, STREAM_CH_STDIN};
    return stream_link_send_raw(&c->link, sig, 2, err);
  }
  return kube_spdy_send(c->link.spdy, c->ids[SLOT_STDIN], NULL, 0, true, err);
}

KUBE_EXPORT int kube_exec_client_resize(kube_exec_client_t *c, uint16_t w,
                                        uint16_t h, kube_error_t *err) {
  if (!c->opts.tty)
    return 0;
  cleanup_strbuf kube_strbuf_t sb = KUBE_STRBUF_INIT;
  stream_resize_json(&sb, w, h);
  if (sb.oom)
    return kube_make_oom(err);
  if (c->link.transport == KUBE_STREAM_WEBSOCKET)
    return stream_link_send_channel(&c->link, STREAM_CH_RESIZE, sb.data, sb.len,
                                    err);
  if (!c->ids[SLOT_RESIZE])
    return 0;
  return kube_spdy_send(c->link.spdy, c->ids[SLOT_RESIZE], sb.data, sb.len,
                        false, err);
}

KUBE_EXPORT int kube_exec_client_close(kube_exec_client_t *c,
                                       kube_error_t *err) {
  return stream_link_close(&c->link, err);
}
