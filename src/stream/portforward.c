/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Port-forward sessions, both ends, after the kubelet's portforward server
 * and client-go's PortForwarder:
 *  - SPDY (also tunnelled in WebSocket): per forwarded connection the
 *    client creates an error stream, then a data stream, both carrying
 *    `port` and `requestID` headers; the server pairs them by request id
 *    (older clients send none: the id derives from the stream id).  The
 *    pair lives while its data stream does; the server ends it by closing
 *    the error stream, after writing a message when forwarding failed.
 *  - WebSocket v4: the ports come from the query; channel 2i carries data
 *    of port i, channel 2i+1 its errors; the first message of each channel
 *    is the port number, 2 bytes little endian.
 */
#include "stream/internal.h"

typedef struct pf_session pf_session_t;

struct kube_portforward_stream {
  pf_session_t *s;
  uint16_t port;
  char request_id[32];
  void *user;
  uint32_t data_id, error_id; /* SPDY */
  size_t index;               /* WebSocket pair */
  bool opened;                /* accepted (server) / requested (client) */
  bool write_closed, remote_eof, error_done, data_done, closed;
  bool ws_init[2];       /* client: port prefix seen on data/error channel */
  kube_strbuf_t pending; /* client WS: data before open; errors */
};

struct pf_session {
  stream_link_t link;
  bool server;
  kube_portforward_server_callbacks_t scb;
  kube_portforward_client_callbacks_t ccb;
  void *data;
  kube_portforward_stream_t **st;
  size_t n_st, cap_st;
  unsigned next_request;
  bool started, done, closing;
  /* Streams closed inside callbacks stay allocated until the outermost
   * public call returns, so code up the stack may still look at them. */
  kube_portforward_stream_t **dead;
  size_t n_dead;
  int depth;
};

struct kube_portforward_server {
  pf_session_t s;
};
struct kube_portforward_client {
  pf_session_t s;
};

KUBE_EXPORT int kube_portforward_parse_ports(const char *s, uint16_t *ports,
                                             size_t max, size_t *n,
                                             kube_error_t *err) {
  *n = 0;
  const char *p = s ? s : "";
  while (*p) {
    char *end;
    while (*p == ' ')
      p++;
    errno = 0;
    unsigned long v = strtoul(p, &end, 10);
    if (end == p || errno || v < 1 || v > 65535 ||
        (*end && *end != ',' && *end != ' '))
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "unable to parse \"%s\" as a port", s);
    if (*n >= max)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "too many ports (at most %zu)", max);
    ports[(*n)++] = (uint16_t)v;
    p = end;
    while (*p == ' ')
      p++;
    if (*p == ',')
      p++;
  }
  if (*n == 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "query parameter \"ports\" is required");
  return 0;
}

/* ---- stream bookkeeping ------------------------------------------------ */

static kube_portforward_stream_t *st_new(pf_session_t *s, kube_error_t *err) {
  if (s->n_st == s->cap_st) {
    size_t cap = s->cap_st ? 2 * s->cap_st : 8;
    kube_portforward_stream_t **v = realloc(s->st, cap * sizeof *v);
    if (!v) {
      kube_make_oom(err);
      return NULL;
    }
    s->st = v;
    s->cap_st = cap;
  }
  kube_portforward_stream_t *st = calloc(1, sizeof *st);
  if (!st) {
    kube_make_oom(err);
    return NULL;
  }
  st->s = s;
  s->st[s->n_st++] = st;
  return st;
}

static void st_unlink(pf_session_t *s, kube_portforward_stream_t *st) {
  for (size_t i = 0; i < s->n_st; i++)
    if (s->st[i] == st) {
      memmove(s->st + i, s->st + i + 1, (s->n_st - i - 1) * sizeof *s->st);
      s->n_st--;
      break;
    }
}

static void st_free(kube_portforward_stream_t *st) {
  kube_strbuf_clear(&st->pending);
  free(st);
}

static void st_remove(pf_session_t *s, kube_portforward_stream_t *st) {
  st_unlink(s, st);
  kube_portforward_stream_t **v = realloc(s->dead, (s->n_dead + 1) * sizeof *v);
  if (!v) {
    /* Cannot defer: free now (only reached on out-of-memory). */
    st_free(st);
    return;
  }
  s->dead = v;
  s->dead[s->n_dead++] = st;
}

static void enter(pf_session_t *s) {
  s->depth++;
}

static void leave(pf_session_t *s) {
  if (--s->depth > 0)
    return;
  for (size_t i = 0; i < s->n_dead; i++)
    st_free(s->dead[i]);
  s->n_dead = 0;
}

static kube_portforward_stream_t *by_id(pf_session_t *s, uint32_t id) {
  for (size_t i = 0; i < s->n_st; i++)
    if (s->st[i]->data_id == id || s->st[i]->error_id == id)
      return s->st[i];
  return NULL;
}

static void report_done(pf_session_t *s, const kube_error_t *err) {
  if (s->done)
    return;
  s->done = true;
  if (s->server && s->scb.done)
    s->scb.done(s->data, err);
  else if (!s->server && s->ccb.done)
    s->ccb.done(s->data, err);
}

/* Tell the app the stream is gone and forget it. */
static void st_close(kube_portforward_stream_t *st) {
  pf_session_t *s = st->s;
  if (st->closed)
    return;
  st->closed = true;
  if (st->opened) {
    if (s->server && s->scb.stream_close)
      s->scb.stream_close(s->data, st, st->user);
    else if (!s->server && s->ccb.stream_close)
      s->ccb.stream_close(s->data, st, st->user);
  }
  st_remove(s, st);
  /* WebSocket v4 (server): the connection ends with its last pair, as
   * the kubelet closes it once every port's forwarding returned. */
  if (s->server && s->link.transport == KUBE_STREAM_WEBSOCKET && s->n_st == 0 &&
      s->started)
    stream_link_close(&s->link, NULL);
}

static void deliver_data(kube_portforward_stream_t *st, const void *buf,
                         size_t len) {
  pf_session_t *s = st->s;
  if (s->server && s->scb.stream_data)
    s->scb.stream_data(s->data, st, st->user, buf, len);
  else if (!s->server && s->ccb.stream_data)
    s->ccb.stream_data(s->data, st, st->user, buf, len);
}

static void deliver_eof(kube_portforward_stream_t *st) {
  pf_session_t *s = st->s;
  if (st->remote_eof)
    return;
  st->remote_eof = true;
  if (s->server && s->scb.stream_eof)
    s->scb.stream_eof(s->data, st, st->user);
  else if (!s->server && s->ccb.stream_eof)
    s->ccb.stream_eof(s->data, st, st->user);
}

static void close_all(pf_session_t *s) {
  while (s->n_st > 0)
    st_close(s->st[s->n_st - 1]);
}

static void link_closed(void *up, const kube_error_t *err) {
  pf_session_t *s = up;
  close_all(s);
  report_done(s, err);
}

/* ---- SPDY -------------------------------------------------------------- */

static void spdy_end_error_stream(kube_portforward_stream_t *st) {
  pf_session_t *s = st->s;
  uint32_t id = st->error_done ? 0 : st->error_id;
  st->error_done = true;
  /* FIN, or a reset when the stream is already half-closed by us. */
  if (id && kube_spdy_send(s->link.spdy, id, NULL, 0, true, NULL) < 0)
    kube_spdy_reset(s->link.spdy, id, KUBE_SPDY_CANCEL, NULL);
}

/* Server: the pair ends when its data stream is gone. */
static void server_pair_check(kube_portforward_stream_t *st) {
  if (!st->data_done || st->closed)
    return;
  spdy_end_error_stream(st);
  st_close(st);
}

/* Client: the pair ends when both streams are gone. */
static void client_pair_check(kube_portforward_stream_t *st) {
  pf_session_t *s = st->s;
  if (!st->error_done || !st->data_done || st->closed)
    return;
  if (st->pending.len && s->ccb.stream_error)
    s->ccb.stream_error(s->data, st, st->user, st->pending.data);
  st_close(st);
}

static void server_try_open(kube_portforward_stream_t *st) {
  pf_session_t *s = st->s;
  if (st->opened || !st->data_id || !st->error_id)
    return;
  kube_error_t e = KUBE_ERROR_INIT;
  void *user = NULL;
  int r = s->scb.stream_open ? s->scb.stream_open(s->data, st, st->port,
                                                  st->request_id, &user, &e)
                             : kube_error_set(&e, KUBE_REASON_FORBIDDEN, 0,
                                              "port forwarding refused");
  if (r < 0) {
    kube_error_t e2 = KUBE_ERROR_INIT;
    const char *msg = e.message ? e.message : "port forwarding refused";
    kube_spdy_send(s->link.spdy, st->error_id, msg, strlen(msg), true, &e2);
    kube_error_clear(&e2);
    st->error_done = true;
    kube_spdy_send(s->link.spdy, st->data_id, NULL, 0, true, NULL);
    kube_error_clear(&e);
    st_close(st);
    return;
  }
  kube_error_clear(&e);
  st->user = user;
  st->opened = true;
}

static int spdy_open(void *up, uint32_t id, const kube_spdy_header_t *h,
                     size_t n, bool fin) {
  pf_session_t *s = up;
  if (!s->server || s->closing)
    return -1;
  const char *port = kube_spdy_header_get(h, n, "port");
  const char *type = kube_spdy_header_get(h, n, "streamtype");
  const char *rid = kube_spdy_header_get(h, n, "requestid");
  char *end = NULL;
  unsigned long p = port ? strtoul(port, &end, 10) : 0;
  if (!port || !*port || *end || p < 1 || p > 65535 || !type ||
      (!streq(type, "data") && !streq(type, "error"))) {
    log_debug("portforward: refusing stream %u (port %s, type %s)", id,
              port ? port : "-", type ? type : "-");
    return -1;
  }
  bool data = streq(type, "data");
  char derived[16];
  if (!rid || !*rid) {
    /* Clients before requestID: error stream n, data stream n + 2. */
    snprintf(derived, sizeof derived, "%u", data ? id - 2 : id);
    rid = derived;
  }
  kube_portforward_stream_t *st = NULL;
  for (size_t i = 0; i < s->n_st; i++)
    if (streq(s->st[i]->request_id, rid) && !s->st[i]->closed)
      st = s->st[i];
  if (st && (data ? st->data_id : st->error_id))
    return -1; /* a second stream of the same type: refused */
  kube_error_t e = KUBE_ERROR_INIT;
  if (kube_spdy_reply(s->link.spdy, id, NULL, 0, false, &e) < 0) {
    kube_error_clear(&e);
    return -1;
  }
  if (!st) {
    st = st_new(s, &e);
    if (!st) {
      kube_error_clear(&e);
      kube_spdy_reset(s->link.spdy, id, KUBE_SPDY_INTERNAL_ERROR, NULL);
      return 0;
    }
    st->port = (uint16_t)p;
    snprintf(st->request_id, sizeof st->request_id, "%s", rid);
  }
  if (data)
    st->data_id = id;
  else
    st->error_id = id;
  server_try_open(st);
  if (fin && data && (st = by_id(s, id)) && st->opened)
    deliver_eof(st);
  return 0;
}

static void spdy_reply(void *up, uint32_t id) {
  pf_session_t *s = up;
  kube_portforward_stream_t *st = by_id(s, id);
  /* As kubectl: we never write on the error stream, so close our side
   * once the server accepted it. */
  if (st && id == st->error_id)
    kube_spdy_send(s->link.spdy, id, NULL, 0, true, NULL);
}

static void spdy_data(void *up, uint32_t id, const void *buf, size_t len) {
  pf_session_t *s = up;
  kube_portforward_stream_t *st = by_id(s, id);
  if (!st)
    return;
  if (id == st->data_id) {
    if (st->opened)
      deliver_data(st, buf, len);
  } else if (!s->server) {
    kube_strbuf_append_len(&st->pending, buf, len);
  }
}

static void spdy_fin(void *up, uint32_t id) {
  pf_session_t *s = up;
  kube_portforward_stream_t *st = by_id(s, id);
  if (!st)
    return;
  if (id == st->data_id && st->opened)
    deliver_eof(st);
  else if (id == st->error_id && !s->server) {
    st->error_done = true;
    if (st->pending.len) {
      /* Forwarding failed: report it and drop the pair (kubectl gives up
       * on the connection then). */
      if (s->ccb.stream_error)
        s->ccb.stream_error(s->data, st, st->user, st->pending.data);
      kube_strbuf_reset(&st->pending);
      kube_portforward_stream_reset(st);
      return;
    }
    client_pair_check(st);
  }
}

static void spdy_end(void *up, uint32_t id, uint32_t status) {
  pf_session_t *s = up;
  kube_portforward_stream_t *st = by_id(s, id);
  if (!st)
    return;
  if (id == st->data_id) {
    st->data_id = 0;
    st->data_done = true;
    if (!s->server && st->error_id && !st->error_done && status)
      st->write_closed = true; /* the server closes the error stream next */
  } else {
    st->error_id = 0;
    st->error_done = true;
  }
  if (s->server) {
    if (!st->opened && (st->data_done || st->error_done) &&
        !(st->data_id && st->error_id)) {
      /* Half a pair died before the other half came. */
      if (st->data_id)
        kube_spdy_reset(s->link.spdy, st->data_id, KUBE_SPDY_CANCEL, NULL);
      if (st->error_id)
        kube_spdy_reset(s->link.spdy, st->error_id, KUBE_SPDY_CANCEL, NULL);
      st_close(st);
      return;
    }
    server_pair_check(st);
  } else {
    client_pair_check(st);
  }
}

/* ---- WebSocket v4 ------------------------------------------------------ */

static void ws_channel(void *up, uint8_t ch, const uint8_t *buf, size_t len) {
  pf_session_t *s = up;
  size_t idx = ch / 2;
  bool data = ch % 2 == 0;
  kube_portforward_stream_t *st = NULL;
  for (size_t i = 0; i < s->n_st; i++)
    if (s->st[i]->index == idx)
      st = s->st[i];
  if (!st)
    return;
  if (!s->server && !st->ws_init[!data]) {
    /* The first message of each channel is the port, 2 bytes LE. */
    st->ws_init[!data] = true;
    if (len < 2 || (uint16_t)(buf[0] | buf[1] << 8) != st->port)
      log_debug("portforward: unexpected port prefix on channel %u", ch);
    buf += len < 2 ? len : 2;
    len -= len < 2 ? len : 2;
  }
  if (len == 0)
    return;
  if (data) {
    if (st->opened)
      deliver_data(st, buf, len);
    else if (!s->server)
      kube_strbuf_append_len(&st->pending, (const char *)buf, len);
  } else if (!s->server && st->opened && s->ccb.stream_error) {
    cleanup_free char *msg = strndup((const char *)buf, len);
    if (msg)
      s->ccb.stream_error(s->data, st, st->user, msg);
  }
}

static const stream_link_ops_t pf_ops = {
    .channel = ws_channel,
    .stream_open = spdy_open,
    .stream_reply = spdy_reply,
    .stream_data = spdy_data,
    .stream_fin = spdy_fin,
    .stream_end = spdy_end,
    .closed = link_closed,
};

static int session_init(pf_session_t *s, const kube_stream_upgrade_t *up,
                        bool server, const uint16_t *ports, size_t n_ports,
                        void (*write)(void *, const void *, size_t), void *data,
                        kube_error_t *err) {
  if (!up || up->kind != KUBE_STREAM_PORTFORWARD)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "portforward: needs a port-forward upgrade");
  if (up->transport == KUBE_STREAM_WEBSOCKET && n_ports == 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "query parameter \"ports\" is required");
  if (up->transport == KUBE_STREAM_WEBSOCKET && n_ports > 127)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "at most 127 ports over WebSocket");
  s->server = server;
  s->data = data;
  if (stream_link_init(&s->link, up, server, &pf_ops, s, write, data, err) < 0)
    return -1;
  if (up->transport != KUBE_STREAM_WEBSOCKET)
    return 0;
  for (size_t i = 0; i < n_ports; i++) {
    kube_portforward_stream_t *st = st_new(s, err);
    if (!st)
      return -1;
    st->port = ports[i];
    st->index = i;
  }
  return 0;
}

static void session_clear(pf_session_t *s) {
  for (size_t i = 0; i < s->n_st; i++)
    st_free(s->st[i]);
  for (size_t i = 0; i < s->n_dead; i++)
    st_free(s->dead[i]);
  free(s->st);
  free(s->dead);
  stream_link_clear(&s->link);
}

/* ---- streams, both ends ------------------------------------------------ */

static int do_stream_write(kube_portforward_stream_t *st, const void *buf,
                           size_t len, kube_error_t *err) {
  pf_session_t *s = st->s;
  if (st->closed || st->write_closed || !st->opened)
    return kube_error_set(err, KUBE_REASON_GONE, EPIPE,
                          "portforward: stream is closed for writing");
  if (len == 0)
    return 0;
  if (s->link.transport == KUBE_STREAM_WEBSOCKET)
    return stream_link_send_channel(&s->link, (uint8_t)(2 * st->index), buf,
                                    len, err);
  return kube_spdy_send(s->link.spdy, st->data_id, buf, len, false, err);
}

static int do_stream_close_write(kube_portforward_stream_t *st,
                                 kube_error_t *err) {
  pf_session_t *s = st->s;
  if (st->closed || st->write_closed)
    return 0;
  st->write_closed = true;
  if (s->link.transport == KUBE_STREAM_WEBSOCKET) {
    /* No half-close in the channel protocol: as the kubelet's, the
     * server's forwarding of this port ends with the pod's side, and the
     * connection closes with the last port. */
    if (s->server)
      st_close(st);
    return 0;
  }
  if (!st->data_id)
    return 0;
  return kube_spdy_send(s->link.spdy, st->data_id, NULL, 0, true, err);
}

static int do_stream_fail(kube_portforward_stream_t *st, const char *message,
                          kube_error_t *err) {
  pf_session_t *s = st->s;
  if (st->closed)
    return 0;
  if (!s->server)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "portforward: only the server reports errors");
  const char *msg = message ? message : "port forwarding failed";
  int rc = 0;
  if (s->link.transport == KUBE_STREAM_WEBSOCKET) {
    rc = stream_link_send_channel(&s->link, (uint8_t)(2 * st->index + 1), msg,
                                  strlen(msg), err);
  } else {
    if (st->error_id && !st->error_done)
      rc = kube_spdy_send(s->link.spdy, st->error_id, msg, strlen(msg), true,
                          err);
    st->error_done = true;
    if (st->data_id && !st->write_closed)
      kube_spdy_send(s->link.spdy, st->data_id, NULL, 0, true, NULL);
  }
  st->write_closed = true;
  st_close(st);
  return rc;
}

static void do_stream_reset(kube_portforward_stream_t *st) {
  pf_session_t *s = st->s;
  if (st->closed)
    return;
  if (s->link.spdy) {
    if (st->data_id)
      kube_spdy_reset(s->link.spdy, st->data_id, KUBE_SPDY_CANCEL, NULL);
    if (st->error_id)
      kube_spdy_reset(s->link.spdy, st->error_id, KUBE_SPDY_CANCEL, NULL);
  }
  st_close(st);
}

KUBE_EXPORT uint16_t
kube_portforward_stream_port(const kube_portforward_stream_t *st) {
  return st->port;
}

KUBE_EXPORT const char *
kube_portforward_stream_request_id(const kube_portforward_stream_t *st) {
  return st->request_id;
}

/* ---- server ------------------------------------------------------------ */

KUBE_EXPORT kube_portforward_server_t *
kube_portforward_server_new(const kube_stream_upgrade_t *up,
                            const uint16_t *ports, size_t n_ports,
                            const kube_portforward_server_callbacks_t *cb,
                            void *data, kube_error_t *err) {
  if (!cb) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "portforward: callbacks are required");
    return NULL;
  }
  kube_portforward_server_t *srv = calloc(1, sizeof *srv);
  if (!srv) {
    kube_make_oom(err);
    return NULL;
  }
  srv->s.scb = *cb;
  if (session_init(&srv->s, up, true, ports, n_ports, cb->write, data, err) <
      0) {
    session_clear(&srv->s);
    free(srv);
    return NULL;
  }
  return srv;
}

static int do_server_start(kube_portforward_server_t *srv, kube_error_t *err) {
  pf_session_t *s = &srv->s;
  if (s->started)
    return 0;
  s->started = true;
  if (s->link.transport != KUBE_STREAM_WEBSOCKET)
    return 0;
  for (size_t i = 0; i < s->n_st; i++) {
    uint8_t pb[2] = {(uint8_t)s->st[i]->port, (uint8_t)(s->st[i]->port >> 8)};
    if (stream_link_send_channel(&s->link, (uint8_t)(2 * i), pb, 2, err) < 0 ||
        stream_link_send_channel(&s->link, (uint8_t)(2 * i + 1), pb, 2, err) <
            0)
      return -1;
  }
  /* Open each port; a refusal writes its message on the error channel. */
  size_t n = s->n_st;
  kube_portforward_stream_t **snap = calloc(n ? n : 1, sizeof *snap);
  if (!snap)
    return kube_make_oom(err);
  memcpy(snap, s->st, n * sizeof *snap);
  for (size_t i = 0; i < n; i++) {
    kube_portforward_stream_t *st = snap[i];
    kube_error_t e = KUBE_ERROR_INIT;
    void *user = NULL;
    int r = s->scb.stream_open
                ? s->scb.stream_open(s->data, st, st->port, "", &user, &e)
                : kube_error_set(&e, KUBE_REASON_FORBIDDEN, 0,
                                 "port forwarding refused");
    if (r < 0) {
      const char *msg = e.message ? e.message : "port forwarding refused";
      stream_link_send_channel(&s->link, (uint8_t)(2 * st->index + 1), msg,
                               strlen(msg), NULL);
      kube_error_clear(&e);
      st_close(st);
      continue;
    }
    st->user = user;
    st->opened = true;
  }
  free(snap);
  return 0;
}

static int do_server_feed(kube_portforward_server_t *srv, const void *buf,
                          size_t len, kube_error_t *err) {
  return stream_link_feed(&srv->s.link, buf, len, err);
}

static void do_server_eof(kube_portforward_server_t *srv) {
  stream_link_eof(&srv->s.link);
}

static int session_close(pf_session_t *s, kube_error_t *err) {
  s->closing = true;
  while (s->n_st > 0) {
    kube_portforward_stream_t *st = s->st[s->n_st - 1];
    if (s->link.spdy) {
      if (st->data_id)
        kube_spdy_reset(s->link.spdy, st->data_id, KUBE_SPDY_CANCEL, NULL);
      if (st->error_id)
        kube_spdy_reset(s->link.spdy, st->error_id, KUBE_SPDY_CANCEL, NULL);
    }
    s->started = false; /* no close of the link from st_close */
    st_close(st);
  }
  return stream_link_close(&s->link, err);
}

static int do_server_close(kube_portforward_server_t *srv, kube_error_t *err) {
  return session_close(&srv->s, err);
}

KUBE_EXPORT void kube_portforward_server_free(kube_portforward_server_t *srv) {
  if (!srv)
    return;
  session_clear(&srv->s);
  free(srv);
}

/* ---- client ------------------------------------------------------------ */

KUBE_EXPORT kube_portforward_client_t *
kube_portforward_client_new(const kube_stream_upgrade_t *up,
                            const uint16_t *ports, size_t n_ports,
                            const kube_portforward_client_callbacks_t *cb,
                            void *data, kube_error_t *err) {
  if (!cb) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "portforward: callbacks are required");
    return NULL;
  }
  kube_portforward_client_t *c = calloc(1, sizeof *c);
  if (!c) {
    kube_make_oom(err);
    return NULL;
  }
  c->s.ccb = *cb;
  if (session_init(&c->s, up, false, ports, n_ports, cb->write, data, err) <
      0) {
    session_clear(&c->s);
    free(c);
    return NULL;
  }
  return c;
}

static int do_client_feed(kube_portforward_client_t *c, const void *buf,
                          size_t len, kube_error_t *err) {
  return stream_link_feed(&c->s.link, buf, len, err);
}

static void do_client_eof(kube_portforward_client_t *c) {
  stream_link_eof(&c->s.link);
}

static kube_portforward_stream_t *do_client_open(kube_portforward_client_t *c,
                                                 uint16_t port, void *user,
                                                 kube_error_t *err) {
  pf_session_t *s = &c->s;
  if (s->done || s->closing) {
    kube_error_set(err, KUBE_REASON_GONE, EPIPE,
                   "portforward: the connection is closed");
    return NULL;
  }
  if (s->link.transport == KUBE_STREAM_WEBSOCKET) {
    for (size_t i = 0; i < s->n_st; i++) {
      kube_portforward_stream_t *st = s->st[i];
      if (st->port != port || st->opened)
        continue;
      st->opened = true;
      st->user = user;
      if (st->pending.len) {
        /* What the pod sent before the app was ready. */
        kube_strbuf_t pend = st->pending;
        memset(&st->pending, 0, sizeof st->pending);
        deliver_data(st, pend.data, pend.len);
        kube_strbuf_clear(&pend);
      }
      return st;
    }
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "portforward: port %u was not requested or is in use", port);
    return NULL;
  }
  kube_portforward_stream_t *st = st_new(s, err);
  if (!st)
    return NULL;
  st->port = port;
  st->user = user;
  snprintf(st->request_id, sizeof st->request_id, "%u", s->next_request++);
  char portstr[8];
  snprintf(portstr, sizeof portstr, "%u", port);
  const char *kv[] = {"streamtype", "error",        "port", portstr,
                      "requestid",  st->request_id, NULL};
  kube_spdy_header_t h[3];
  size_t n;
  stream_spdy_headers(h, 3, &n, kv);
  st->error_id = kube_spdy_open(s->link.spdy, h, n, false, err);
  if (st->error_id) {
    h[0].value = "data";
    h[0].value_len = 4;
    st->data_id = kube_spdy_open(s->link.spdy, h, n, false, err);
  }
  if (!st->data_id) {
    if (st->error_id)
      kube_spdy_reset(s->link.spdy, st->error_id, KUBE_SPDY_CANCEL, NULL);
    st_remove(s, st);
    return NULL;
  }
  st->opened = true;
  return st;
}

static int do_client_close(kube_portforward_client_t *c, kube_error_t *err) {
  return session_close(&c->s, err);
}

KUBE_EXPORT void kube_portforward_client_free(kube_portforward_client_t *c) {
  if (!c)
    return;
  session_clear(&c->s);
  free(c);
}

/* Public entry points: each defers the freeing of streams closed while it
 * runs (see pf_session.dead). */

KUBE_EXPORT int kube_portforward_stream_write(kube_portforward_stream_t *st,
                                              const void *buf, size_t len,
                                              kube_error_t *err) {
  pf_session_t *s = st->s;
  enter(s);
  int r = do_stream_write(st, buf, len, err);
  leave(s);
  return r;
}

KUBE_EXPORT int
kube_portforward_stream_close_write(kube_portforward_stream_t *st,
                                    kube_error_t *err) {
  pf_session_t *s = st->s;
  enter(s);
  int r = do_stream_close_write(st, err);
  leave(s);
  return r;
}

KUBE_EXPORT int kube_portforward_stream_fail(kube_portforward_stream_t *st,
                                             const char *message,
                                             kube_error_t *err) {
  pf_session_t *s = st->s;
  enter(s);
  int r = do_stream_fail(st, message, err);
  leave(s);
  return r;
}

KUBE_EXPORT void kube_portforward_stream_reset(kube_portforward_stream_t *st) {
  pf_session_t *s = st->s;
  enter(s);
  do_stream_reset(st);
  leave(s);
}

KUBE_EXPORT int kube_portforward_server_start(kube_portforward_server_t *srv,
                                              kube_error_t *err) {
  pf_session_t *s = &srv->s;
  enter(s);
  int r = do_server_start(srv, err);
  leave(s);
  return r;
}

KUBE_EXPORT int kube_portforward_server_feed(kube_portforward_server_t *srv,
                                             const void *buf, size_t len,
                                             kube_error_t *err) {
  pf_session_t *s = &srv->s;
  enter(s);
  int r = do_server_feed(srv, buf, len, err);
  leave(s);
  return r;
}

KUBE_EXPORT void kube_portforward_server_eof(kube_portforward_server_t *srv) {
  pf_session_t *s = &srv->s;
  enter(s);
  do_server_eof(srv);
  leave(s);
}

KUBE_EXPORT int kube_portforward_server_close(kube_portforward_server_t *srv,
                                              kube_error_t *err) {
  pf_session_t *s = &srv->s;
  enter(s);
  int r = do_server_close(srv, err);
  leave(s);
  return r;
}

KUBE_EXPORT int kube_portforward_client_feed(kube_portforward_client_t *c,
                                             const void *buf, size_t len,
                                             kube_error_t *err) {
  pf_session_t *s = &c->s;
  enter(s);
  int r = do_client_feed(c, buf, len, err);
  leave(s);
  return r;
}

KUBE_EXPORT void kube_portforward_client_eof(kube_portforward_client_t *c) {
  pf_session_t *s = &c->s;
  enter(s);
  do_client_eof(c);
  leave(s);
}

KUBE_EXPORT kube_portforward_stream_t *
kube_portforward_client_open(kube_portforward_client_t *c, uint16_t port,
                             void *user, kube_error_t *err) {
  pf_session_t *s = &c->s;
  enter(s);
  kube_portforward_stream_t *r = do_client_open(c, port, user, err);
  leave(s);
  return r;
}

KUBE_EXPORT int kube_portforward_client_close(kube_portforward_client_t *c,
                                              kube_error_t *err) {
  pf_session_t *s = &c->s;
  enter(s);
  int r = do_client_close(c, err);
  leave(s);
  return r;
}
