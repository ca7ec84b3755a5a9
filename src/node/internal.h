/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared inside the node module (prefix nd_). */
#ifndef KUBE_NODE_INTERNAL_H
#define KUBE_NODE_INTERNAL_H

#include <pthread.h>
#include <sys/types.h>

#include <json-c/json.h>

#include <libkube/http.h>
#include <libkube/node.h>
#include <libkube/runtime.h>
#include <libkube/stream.h>

#include "core/util.h"

/* ---- the streaming server ---------------------------------------------- */

/* One open session (log stream, exec/attach, port-forward connection);
 * the server keeps them in a list so it can close them all and time out
 * idle ones. */
struct nd_session;
struct nd_session_ops {
  const char *name;
  /* Tear the session down now (server freed or idle too long); the
   * session unlinks itself with nd_session_unlink, now or once its
   * worker job came back. */
  void (*close)(struct nd_session *ss, const char *why);
  /* Idle sessions are closed (logs never are). */
  bool idle_timeout;
};

struct nd_session {
  const struct nd_session_ops *ops;
  kube_node_stream_t *srv;
  struct nd_session *prev, *next;
  int64_t last_active_ns;
  bool linked;
};

struct nd_runtime_pool; /* runtime handles for worker threads */

struct kube_node_stream {
  kube_loop_t *loop;
  kube_workers_t *workers;
  char *runtime_root;
  kube_node_stream_resolve_fn resolve;
  void *resolve_arg;
  int64_t idle_timeout_ms;
  int follow_check_ms;
  kube_timer_t *idle_timer;
  kube_http_server_t *http; /* the kubelet listener's server, or NULL */
  int port;                 /* the first TCP listener's, or -1 */
  char *client_ca; /* client certificates required (kubelet listener) */
  kube_node_summary_fn summary; /* GET /stats/summary, or NULL */
  void *summary_arg;
  pthread_mutex_t rt_lock;
  kube_runtime_t **rt_free; /* idle runtime handles */
  size_t n_rt_free, cap_rt_free;
  struct nd_session *sessions;
  struct nd_reaper *reapers; /* exec relays to reap (stream-io.c) */
  size_t n_sessions;
  bool freeing;
};

void nd_session_link(kube_node_stream_t *s, struct nd_session *ss,
                     const struct nd_session_ops *ops);
void nd_session_unlink(struct nd_session *ss);
/* Activity: postpones the idle timeout. */
void nd_session_touch(struct nd_session *ss);

/* A runtime handle for the calling worker thread (opened on first use);
 * give it back with nd_runtime_put.  NULL with err. */
kube_runtime_t *nd_runtime_get(kube_node_stream_t *s, kube_error_t *err);
void nd_runtime_put(kube_node_stream_t *s, kube_runtime_t *rt);

/* Ask the resolver; -1 with err (reason set). */
int nd_resolve(kube_node_stream_t *s, const kube_node_stream_query_t *q,
               kube_node_stream_target_t *t, kube_error_t *err);

/* Finish req with err: text/plain (exec, attach, port-forward: what the
 * kubelet writes) or a Status (logs). */
void nd_reply_text_error(kube_http_request_t *req, const kube_error_t *err);
void nd_reply_status_error(kube_http_request_t *req, const kube_error_t *err);

/* The upgrade request's headers for kube_stream_upgrade_negotiate. */
void nd_stream_request(kube_http_request_t *req, kube_stream_request_t *out);
/* Negotiate, write the 101 and take the connection (req finished either
 * way).  On a failed negotiation the refusal is answered here. */
kube_http_conn_t *nd_upgrade(kube_http_request_t *req, kube_stream_kind_t kind,
                             kube_stream_upgrade_t *up, kube_error_t *err);

/* Every value of query parameter key, decoded, in order (owned
 * NULL-terminated array: free each and the array); *n the count. */
char **nd_query_values(kube_http_request_t *req, const char *key, size_t *n);
void nd_strv_free(char **v);

/* ---- non-blocking fd I/O on the loop (pipes, ptys, sockets) ---- */

struct event;
struct event_base;
struct evbuffer;

/* Reads with read(2), writes with send(MSG_NOSIGNAL) on sockets (so a
 * peer that went away never raises SIGPIPE in the host process) and
 * write(2) otherwise.  Callbacks never free the nd_fdio; they may call
 * nd_fdio_clear on it. */
struct nd_fdio {
  int fd;
  bool sock;
  struct event *rd, *wr;
  struct evbuffer *out;
  bool shut_pending; /* shutdown(SHUT_WR) once out is empty */
  bool write_closed;
  bool read_paused, read_eof;
  /* Data (len > 0) or end of input (buf NULL, len 0; errnum the error,
   * 0 for a clean EOF; a pty's EIO is an EOF). */
  void (*on_read)(void *arg, const void *buf, size_t len, int errnum);
  /* The output queue dropped to low water (may be NULL). */
  void (*on_drained)(void *arg);
  /* Writing failed (the peer is gone); queued output is dropped. */
  void (*on_write_error)(void *arg, int errnum);
  void *arg;
  size_t low_water;
};

/* fd is stolen (closed by nd_fdio_clear) and made non-blocking.  Reading
 * starts at once when on_read is set.  0 or -1 (out of memory; fd closed). */
int nd_fdio_init(struct nd_fdio *io, struct event_base *base, int fd, bool sock,
                 void *arg);
int nd_fdio_write(struct nd_fdio *io, const void *buf, size_t len);
/* Half-close once the queued bytes are out (sockets: shutdown; pipes:
 * close of the write side when the fd is write-only). */
void nd_fdio_shutdown_write(struct nd_fdio *io);
void nd_fdio_pause(struct nd_fdio *io, bool paused);
size_t nd_fdio_pending(const struct nd_fdio *io);
/* Close the fd and free the events (idempotent; safe in a callback). */
void nd_fdio_clear(struct nd_fdio *io);

/* Reap a child process (an exec's relay) whenever it ends, with no one
 * waiting for its status any more.  pidfd is stolen. */
void nd_reap_later(kube_node_stream_t *s, pid_t pid, int pidfd);
/* Stop watching (kube_node_stream_free): the relays are left to whoever
 * inherits them. */
void nd_reapers_free(kube_node_stream_t *s);

/* ---- entry points by operation ---- */

void nd_serve_logs(kube_node_stream_t *s, kube_http_request_t *req,
                   const char *ns, const char *pod, const char *uid,
                   const char *container);
void nd_serve_exec(kube_node_stream_t *s, kube_http_request_t *req,
                   const char *ns, const char *pod, const char *uid,
                   const char *container, bool attach);
void nd_serve_portforward(kube_node_stream_t *s, kube_http_request_t *req,
                          const char *ns, const char *pod, const char *uid);

/* ---- CRI log files ------------------------------------------------------ */

/* One CRI log line: "<RFC3339Nano> <stdout|stderr> <F|P>[:tags] <msg>". */
struct nd_cri_line {
  struct timespec ts;
  int stream;      /* 1 stdout, 2 stderr */
  bool partial;    /* tag P: msg has no newline of its own */
  const char *msg; /* borrowed from the input; a full line's ends in '\n' */
  size_t msg_len;
};

/* Parse line[0..len) (one line, with its '\n' when it has one).  0, or -1
 * when it is not a CRI line (the kubelet skips those). */
int nd_cri_parse(const char *line, size_t len, struct nd_cri_line *out);

/* Turns CRI lines into the text the client gets. */
struct nd_log_render {
  kube_node_log_options_t o;
  int64_t remain;  /* output bytes left (INT64_MAX: no limit) */
  bool line_start; /* the next message begins an output line */
  bool limit_hit;  /* limit_bytes reached: stop */
};
void nd_log_render_init(struct nd_log_render *r,
                        const kube_node_log_options_t *o);
/* Render the complete lines of buf[0..len) (with final, a last line
 * without '\n' too) onto out.  Returns the bytes consumed; stops early
 * once the limit is hit. */
size_t nd_log_render_feed(struct nd_log_render *r, const char *buf, size_t len,
                          bool final, kube_strbuf_t *out);
/* The file offset where the last n lines start, as the kubelet's
 * tail.FindTailLineStartIndex (an incomplete last line is not counted);
 * 0 for n < 0.  -1 with errno. */
int64_t nd_log_tail_offset(int fd, int64_t n);
/* RFC3339Nano as Go prints it (fraction without trailing zeros), UTC;
 * buf >= 40.  Returns the length. */
size_t nd_format_rfc3339nano(const struct timespec *ts, char *buf, size_t len);

/* ---- the Node object ---- */

/* Append a NodeCondition (type, status, reason, message, heartbeat and
 * transition times) to arr (node-status.c; also the pressure conditions
 * and hollow nodes). */
void nd_node_condition(json_object *arr, const char *type,
                       const char *status, const char *reason,
                       const char *message, const char *heartbeat,
                       const char *transition);

/* ---- the kubelet's HTTPS server ---- */

void nd_kubelet_handle(kube_http_request_t *req, void *arg);

#endif /* KUBE_NODE_INTERNAL_H */
