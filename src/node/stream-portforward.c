/* SPDX-License-Identifier: Apache-2.0 */
/*
 * port-forward: a port-forward session (<libkube/stream.h>) on an upgraded
 * connection; each stream the client opens becomes a TCP connection to
 * localhost:PORT inside the pod's network namespace.  The connect runs on
 * a worker thread that enters the namespace with setns() only for the
 * socket() and connect() and goes back before the job ends (a socket keeps
 * the namespace it was made in); the bytes then flow on the loop, with
 * flow control both ways.  Many streams of many ports at once.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "node/internal.h"

#define PF_HIGH (1024 * 1024)
#define PF_LOW (256 * 1024)
#define PF_MAX_PORTS 64

struct pf_stream;

struct nd_pf {
  struct nd_session ss;
  kube_node_stream_t *s;
  char *pod, *uid, *netns;
  kube_http_request_t *req;
  kube_http_conn_t *conn;
  kube_stream_upgrade_t up;
  kube_portforward_server_t *sess;
  uint16_t ports[PF_MAX_PORTS];
  size_t n_ports;
  struct event *free_ev;
  unsigned jobs; /* connect jobs in flight (they hold the struct) */
  bool dead, output_paused;
  struct pf_stream *streams;
};

struct pf_stream {
  struct nd_pf *pf;
  kube_portforward_stream_t *st; /* NULL once the session dropped it */
  uint16_t port;
  struct nd_fdio io;
  bool connecting, connected;
  kube_strbuf_t pending; /* client bytes before the connect finished */
  bool pending_eof;
  int j_fd;
  kube_error_t jerr;
  struct pf_stream *prev, *next;
};

/* ---- life cycle ---- */

static void pf_free(struct nd_pf *pf) {
  nd_session_unlink(&pf->ss);
  if (pf->free_ev)
    event_free(pf->free_ev);
  kube_portforward_server_free(pf->sess);
  if (pf->req)
    kube_http_reply_error(pf->req, 503,
                          "the streaming server is shutting down");
  free(pf->pod);
  free(pf->uid);
  free(pf->netns);
  free(pf);
}

static void pf_maybe_free(struct nd_pf *pf) {
  if (pf->dead && !pf->jobs && !pf->streams)
    pf_free(pf);
}

static void free_cb(evutil_socket_t fd, short what, void *arg) {
  pf_maybe_free(arg);
}

static void stream_unlink(struct pf_stream *ps) {
  struct nd_pf *pf = ps->pf;
  if (ps->prev)
    ps->prev->next = ps->next;
  else if (pf->streams == ps)
    pf->streams = ps->next;
  if (ps->next)
    ps->next->prev = ps->prev;
  ps->prev = ps->next = NULL;
}

/* The session let go of the stream: free it unless a connect job still
 * holds it. */
static void stream_release(struct pf_stream *ps) {
  ps->st = NULL;
  nd_fdio_clear(&ps->io);
  if (ps->connecting)
    return;
  stream_unlink(ps);
  kube_strbuf_clear(&ps->pending);
  kube_error_clear(&ps->jerr);
  free(ps);
}

static void pf_teardown(struct nd_pf *pf, const char *why) {
  if (pf->dead)
    return;
  pf->dead = true;
  if (why)
    log_debug("node: port-forward to %s ends: %s", pf->pod, why);
  if (pf->conn) {
    kube_http_conn_close(pf->conn);
    pf->conn = NULL;
  }
  nd_session_unlink(&pf->ss);
  if (pf->free_ev)
    event_active(pf->free_ev, 0, 0);
}

static void pf_close_op(struct nd_session *ss, const char *why) {
  struct nd_pf *pf = (struct nd_pf *)ss;
  /* Dropping the connection ends the session: every stream_close and
   * done run from kube_portforward_server_eof. */
  if (pf->sess && !pf->dead)
    kube_portforward_server_eof(pf->sess);
  for (struct pf_stream *ps = pf->streams, *next; ps; ps = next) {
    next = ps->next;
    if (ps->st)
      stream_release(ps);
  }
  pf_teardown(pf, why);
  pf_maybe_free(pf);
}

static const struct nd_session_ops pf_ops = {
    .name = "portforward", .close = pf_close_op, .idle_timeout = true};

/* ---- flow control ---- */

static void pf_pause_output(struct nd_pf *pf, bool paused) {
  if (pf->output_paused == paused)
    return;
  pf->output_paused = paused;
  for (struct pf_stream *ps = pf->streams; ps; ps = ps->next)
    if (ps->connected)
      nd_fdio_pause(&ps->io, paused);
}

/* ---- the pod's side ---- */

static void pod_read(void *arg, const void *buf, size_t len, int errnum) {
  struct pf_stream *ps = arg;
  struct nd_pf *pf = ps->pf;
  if (!ps->st)
    return;
  if (!buf) {
    kube_portforward_stream_close_write(ps->st, NULL);
    return;
  }
  nd_session_touch(&pf->ss);
  kube_portforward_stream_write(ps->st, buf, len, NULL);
}

static void pod_drained(void *arg) {
  struct pf_stream *ps = arg;
  if (ps->pf->conn)
    kube_http_conn_pause_reading(ps->pf->conn, false);
}

static void pod_write_error(void *arg, int errnum) {
  struct pf_stream *ps = arg;
  if (ps->st)
    kube_portforward_stream_reset(ps->st);
}

/* ---- connecting inside the pod's network namespace (worker thread) ---- */

static int connect_local(int family, uint16_t port, char *why, size_t wl) {
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    snprintf(why, wl, "socket: %s", strerror(errno));
    return -1;
  }
  int rc;
  if (family == AF_INET) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = connect(fd, (struct sockaddr *)&a, sizeof a);
  } else {
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    a.sin6_addr = in6addr_loopback;
    rc = connect(fd, (struct sockaddr *)&a, sizeof a);
  }
  if (rc < 0) {
    /* As Go prints it: "dial tcp4 127.0.0.1:80: connect: connection
     * refused". */
    char e[96];
    snprintf(e, sizeof e, "%s", strerror(errno));
    e[0] = (char)tolower((unsigned char)e[0]);
    snprintf(why, wl, "dial tcp%d %s:%u: connect: %s",
             family == AF_INET ? 4 : 6,
             family == AF_INET ? "127.0.0.1" : "[::1]", port, e);
    close(fd);
    return -1;
  }
  return fd;
}

static void connect_run(void *arg) {
  struct pf_stream *ps = arg;
  struct nd_pf *pf = ps->pf;
  ps->j_fd = -1;
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  int target = open(pf->netns, O_RDONLY | O_CLOEXEC);
  if (self < 0 || target < 0) {
    kube_error_set(&ps->jerr, KUBE_REASON_INTERNAL, errno,
                   "error forwarding port %u to pod %s, uid %s: failed to "
                   "open network namespace \"%s\": %s",
                   ps->port, pf->pod, pf->uid ? pf->uid : "", pf->netns,
                   strerror(errno));
    goto out;
  }
  if (setns(target, CLONE_NEWNET) < 0) {
    kube_error_set(&ps->jerr, KUBE_REASON_INTERNAL, errno,
                   "error forwarding port %u to pod %s, uid %s: failed to "
                   "execute portforward in network namespace \"%s\": %s",
                   ps->port, pf->pod, pf->uid ? pf->uid : "", pf->netns,
                   strerror(errno));
    goto out;
  }
  char v4[160], v6[160];
  ps->j_fd = connect_local(AF_INET, ps->port, v4, sizeof v4);
  if (ps->j_fd < 0)
    ps->j_fd = connect_local(AF_INET6, ps->port, v6, sizeof v6);
  /* Back home before anything else runs on this thread. */
  if (setns(self, CLONE_NEWNET) < 0)
    log_error("node: port-forward: cannot return a worker thread to its "
              "network namespace: %s",
              strerror(errno));
  if (ps->j_fd < 0)
    kube_error_set(&ps->jerr, KUBE_REASON_INTERNAL, 0,
                   "error forwarding port %u to pod %s, uid %s: failed to "
                   "connect to localhost:%u inside namespace \"%s\", IPv4: "
                   "%s IPv6 %s ",
                   ps->port, pf->pod, pf->uid ? pf->uid : "", ps->port,
                   pf->netns, v4, v6);
out:
  if (self >= 0)
    close(self);
  if (target >= 0)
    close(target);
}

static void connect_done(void *arg) {
  struct pf_stream *ps = arg;
  struct nd_pf *pf = ps->pf;
  ps->connecting = false;
  pf->jobs--;
  if (!ps->st || pf->dead || pf->s->freeing) {
    if (ps->j_fd >= 0)
      close(ps->j_fd);
    ps->j_fd = -1;
    if (!ps->st)
      stream_release(ps);
    pf_maybe_free(pf);
    return;
  }
  if (ps->j_fd < 0) {
    kube_portforward_stream_fail(ps->st, ps->jerr.message, NULL);
    return;
  }
  ps->io.on_read = pod_read;
  ps->io.on_drained = pod_drained;
  ps->io.on_write_error = pod_write_error;
  if (nd_fdio_init(&ps->io, kube_loop_base(pf->s->loop), steal_fd(&ps->j_fd),
                   true, ps) < 0) {
    kube_portforward_stream_fail(ps->st, "out of memory", NULL);
    return;
  }
  ps->connected = true;
  if (pf->output_paused)
    nd_fdio_pause(&ps->io, true);
  if (ps->pending.len)
    nd_fdio_write(&ps->io, ps->pending.data, ps->pending.len);
  kube_strbuf_clear(&ps->pending);
  if (ps->pending_eof)
    nd_fdio_shutdown_write(&ps->io);
}

/* ---- session callbacks ---- */

static void sess_write(void *data, const void *buf, size_t len) {
  struct nd_pf *pf = data;
  if (!pf->conn)
    return;
  kube_http_conn_write_unit(pf->conn, buf, len);
  if (kube_http_conn_pending(pf->conn) > PF_HIGH)
    pf_pause_output(pf, true);
}

static int sess_open(void *data, kube_portforward_stream_t *st, uint16_t port,
                     const char *request_id, void **user, kube_error_t *err) {
  struct nd_pf *pf = data;
  struct pf_stream *ps = calloc(1, sizeof *ps);
  if (!ps)
    return kube_make_oom(err);
  ps->pf = pf;
  ps->st = st;
  ps->port = port;
  ps->io.fd = ps->j_fd = -1;
  ps->connecting = true;
  pf->jobs++;
  if (kube_workers_submit(pf->s->workers, connect_run, connect_done, ps, err) <
      0) {
    pf->jobs--;
    free(ps);
    return -1;
  }
  ps->next = pf->streams;
  if (pf->streams)
    pf->streams->prev = ps;
  pf->streams = ps;
  *user = ps;
  nd_session_touch(&pf->ss);
  return 0;
}

static void sess_data(void *data, kube_portforward_stream_t *st, void *user,
                      const void *buf, size_t len) {
  struct nd_pf *pf = data;
  struct pf_stream *ps = user;
  nd_session_touch(&pf->ss);
  if (!ps->connected) {
    kube_strbuf_append_len(&ps->pending, buf, len);
    if (ps->pending.len > PF_HIGH && pf->conn)
      kube_http_conn_pause_reading(pf->conn, true);
    return;
  }
  if (nd_fdio_write(&ps->io, buf, len) == 0 &&
      nd_fdio_pending(&ps->io) > PF_HIGH && pf->conn)
    kube_http_conn_pause_reading(pf->conn, true);
}

static void sess_eof(void *data, kube_portforward_stream_t *st, void *user) {
  struct pf_stream *ps = user;
  if (ps->connected)
    nd_fdio_shutdown_write(&ps->io);
  else
    ps->pending_eof = true;
}

static void sess_close(void *data, kube_portforward_stream_t *st, void *user) {
  stream_release(user);
}

static void sess_done(void *data, const kube_error_t *err) {
  pf_teardown(data, err ? err->message : NULL);
}

static const kube_portforward_server_callbacks_t sess_cbs = {
    .version = KUBE_PORTFORWARD_SERVER_CALLBACKS_VERSION,
    .write = sess_write,
    .stream_open = sess_open,
    .stream_data = sess_data,
    .stream_eof = sess_eof,
    .stream_close = sess_close,
    .done = sess_done,
};

/* ---- the client's side ---- */

static void conn_read(kube_http_conn_t *c, const void *data, size_t len,
                      void *arg) {
  struct nd_pf *pf = arg;
  nd_session_touch(&pf->ss);
  kube_portforward_server_feed(pf->sess, data, len, NULL);
}

static void conn_drained(kube_http_conn_t *c, void *arg) {
  pf_pause_output(arg, false);
}

static void conn_closed(kube_http_conn_t *c, void *arg) {
  struct nd_pf *pf = arg;
  kube_portforward_server_eof(pf->sess);
}

static const kube_http_conn_callbacks_t conn_cbs = {
    .version = KUBE_HTTP_CONN_CALLBACKS_VERSION,
    .read = conn_read,
    .drained = conn_drained,
    .closed = conn_closed,
};

/* ---- entry point ---- */

static int parse_ports(kube_http_request_t *req, struct nd_pf *pf,
                       kube_error_t *err) {
  size_t n = 0;
  char **v = nd_query_values(req, "ports", &n);
  if (!v)
    return kube_make_oom(err);
  kube_strbuf_t all = KUBE_STRBUF_INIT;
  for (size_t i = 0; i < n; i++) {
    if (all.len)
      kube_strbuf_append_char(&all, ',');
    kube_strbuf_append(&all, v[i]);
  }
  nd_strv_free(v);
  int rc = 0;
  if (all.len)
    rc = kube_portforward_parse_ports(all.data, pf->ports, PF_MAX_PORTS,
                                      &pf->n_ports, err);
  kube_strbuf_clear(&all);
  return rc;
}

void nd_serve_portforward(kube_node_stream_t *s, kube_http_request_t *req,
                          const char *ns, const char *pod, const char *uid) {
  kube_error_t e = KUBE_ERROR_INIT;
  kube_node_stream_target_t t;
  struct nd_pf *pf = calloc(1, sizeof *pf);
  if (!pf) {
    kube_make_oom(&e);
    goto fail;
  }
  pf->s = s;
  if (parse_ports(req, pf, &e) < 0)
    goto fail;
  kube_node_stream_query_t q = {.struct_size = sizeof q,
                                .op = KUBE_NODE_STREAM_PORTFORWARD,
                                .namespace_ = ns,
                                .pod = pod,
                                .pod_uid = uid};
  if (nd_resolve(s, &q, &t, &e) < 0)
    goto fail;
  pf->netns = steal_pointer(&t.netns_path);
  pf->uid = steal_pointer(&t.pod_uid);
  kube_node_stream_target_clear(&t);
  if (!pf->netns) {
    kube_error_set(&e, KUBE_REASON_NOT_FOUND, 0, "pod not found (\"%s\")", pod);
    goto fail;
  }
  pf->pod = strdup(pod);
  pf->free_ev = event_new(kube_loop_base(s->loop), -1, 0, free_cb, pf);
  if (!pf->pod || !pf->free_ev) {
    kube_make_oom(&e);
    goto fail;
  }
  pf->conn = nd_upgrade(req, KUBE_STREAM_PORTFORWARD, &pf->up, &e);
  req = NULL;
  if (!pf->conn)
    goto fail;
  if (pf->up.transport == KUBE_STREAM_WEBSOCKET && pf->n_ports == 0) {
    /* Nothing to forward: as the kubelet, a WebSocket needs its ports in
     * the query (the upgrade already happened; just close). */
    kube_error_set(&e, KUBE_REASON_BAD_REQUEST, 0,
                   "query parameter \"port\" is required");
    goto fail;
  }
  if (!(pf->sess = kube_portforward_server_new(&pf->up, pf->ports, pf->n_ports,
                                               &sess_cbs, pf, &e)))
    goto fail;
  nd_session_link(s, &pf->ss, &pf_ops);
  kube_http_conn_set_callbacks(pf->conn, &conn_cbs, PF_LOW, pf);
  if (kube_portforward_server_start(pf->sess, &e) < 0) {
    pf_close_op(&pf->ss, e.message);
    kube_error_clear(&e);
  }
  return;
fail:
  if (req)
    nd_reply_text_error(req, &e);
  kube_error_clear(&e);
  if (pf) {
    if (pf->conn)
      kube_http_conn_close(pf->conn);
    pf->conn = NULL;
    pf->dead = true;
    pf_free(pf);
  }
}
