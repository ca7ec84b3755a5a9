/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared inside the client module only. */
#ifndef KUBE_CLIENT_INTERNAL_H
#define KUBE_CLIENT_INTERNAL_H

#include <signal.h>

#include <openssl/ssl.h>

#include <libkube/client.h>
#include <libkube/kubectl.h>
#include <libkube/kit.h>
#include <libkube/stream.h>

#include "client/client-private.h"

/* A parsed server URL. */
struct server_url {
  bool unix_socket;
  bool tls;
  char *host;   /* host name/address, or the socket path */
  char *port;   /* "6443" */
  char *prefix; /* path prefix without trailing '/', "" for none */
};

int client_server_url_parse(const char *url, struct server_url *out,
                            kube_error_t *err);
void client_server_url_clear(struct server_url *u);

/* One HTTP/1.1 connection (blocking). */
struct conn {
  int fd;
  SSL *ssl;
  char *buf;
  size_t len, pos, cap;
  bool eof;
};

/* Where the body of a response goes. */
struct body_sink {
  /* Returns 0 to go on, > 0 to stop reading (not an error), < 0 on error. */
  int (*data)(void *ud, const char *p, size_t n);
  void *ud;
};

struct http_response_head {
  int status;
  char *content_type;
  /* The headers of a protocol switch (101), owned, NULL when absent. */
  char *upgrade, *connection, *ws_accept, *ws_protocol, *stream_protocol;
  bool chunked;
  long long content_length; /* -1 = unknown */
  bool close;               /* Connection: close or HTTP/1.0 */
};

struct kube_client {
  struct server_url url;
  char *server;
  char *namespace_;
  char *token;
  char *basic_auth; /* "user:pass" base64, or NULL */
  char *user_agent;
  char *tls_server_name;
  SSL_CTX *ssl_ctx;
  int timeout_ms;
  struct conn conn; /* keep-alive connection, fd < 0 when closed */
  int last_status;  /* atomic: a transport client serves several threads */
  /* Set for a client over an asynchronous transport (transport-sync.c);
   * requests then never touch url/conn/ssl_ctx. */
  struct client_tp *tp;
};

/* http.c */
void client_conn_init(struct conn *cn);
void client_conn_close(struct conn *cn);
int client_conn_open(kube_client_t *c, struct conn *cn, bool use_timeout,
                     kube_error_t *err);
/* Write the request head and body.  -1 with err on failure. */
int client_http_send(kube_client_t *c, struct conn *cn,
                     const kube_client_request_t *req, kube_error_t *err);
/* Same, with extra request headers: "Name", "value" pairs, NULL-terminated
 * (may be NULL). */
int client_http_send_ex(kube_client_t *c, struct conn *cn,
                        const kube_client_request_t *req,
                        const char *const *extra, kube_error_t *err);
/* Read a response head.  `upgrade`: the request asked for a protocol
 * switch, so 101 is a final answer; otherwise a 101 is an error (RFC 9110
 * 15.2.2: a server switches only to a protocol the client offered).
 * Returns 0, or -1 with err; *nothing is set when the connection closed
 * before any byte arrived (stale keep-alive). */
int client_http_read_head(struct conn *cn, struct http_response_head *h,
                          bool upgrade, bool *nothing, kube_error_t *err);
/* Read the body into sink.  Returns 0 when complete, 1 when the sink
 * stopped, -1 with err. */
int client_http_read_body(struct conn *cn, const struct http_response_head *h,
                          const struct body_sink *sink, kube_error_t *err);
void client_http_response_head_clear(struct http_response_head *h);

/* A library must not die of SIGPIPE when a TLS peer goes away, nor
 * change the process's signal dispositions: block SIGPIPE in this thread
 * around OpenSSL's socket writes and swallow one it raised (libpq's
 * approach).  Plain sockets use MSG_NOSIGNAL instead. */
struct sigpipe_guard {
  sigset_t old;
  bool was_pending;
};
void client_sigpipe_block(struct sigpipe_guard *g);
void client_sigpipe_restore(struct sigpipe_guard *g, bool got_epipe);

/* objects.c: append "&key=<escaped value>" to a query (nothing for a NULL
 * value; out of memory shows as q->oom). */
void client_query_add(kube_strbuf_t *q, const char *key, const char *value);
/* manifest.c: the names in a directory, sorted ("." and ".." left out,
 * and every dot file with `skip_hidden`).  *names: owned array of owned
 * strings.  -1 with errno set when the directory cannot be read. */
int client_dir_names(const char *path, bool skip_hidden, char ***names,
                     size_t *n);
void client_dir_names_free(char **names, size_t n);
/* objects.c: kube_client_watch with an Accept header (NULL: JSON);
 * BOOKMARK events optionally skipped. */
int client_watch(kube_client_t *c, const kube_kind_t *kind, const char *ns,
                 const kube_client_list_options_t *opts, const char *accept,
                 bool skip_bookmarks, kube_client_watch_fn fn, void *userdata,
                 kube_error_t *err);

/* tabwriter.c: Go's text/tabwriter column algorithm (kubectl describe's
 * layout): cells end with '\t'; consecutive lines that have a cell in a
 * column form a block as wide as its widest cell plus padding. */
struct client_tabw {
  kube_strbuf_t text;
  size_t minwidth, padding;
};

void client_tabw_init(struct client_tabw *t, size_t minwidth, size_t padding);
void client_tabw_printf(struct client_tabw *t, const char *fmt, ...)
    KUBE_PRINTF(2, 3);
/* Align everything written so far; owned string (NULL on out-of-memory).
 * Resets t. */
char *client_tabw_render(struct client_tabw *t);

/* client.c: split a streamed body into lines for a kube_client_line_fn. */
struct line_splitter {
  kube_strbuf_t partial;
  kube_client_line_fn fn;
  void *ud;
};
/* Feed n bytes; 0 to go on, 1 when fn stopped, -1 on out-of-memory. */
int client_lines_feed(void *ud, const char *p, size_t n);
void client_set_last_status(kube_client_t *c, int status);

/* transport-sync.c: the request and stream of a client over a transport. */
int client_tp_request(kube_client_t *c, const kube_client_request_t *req,
                      kube_client_response_t *resp, kube_error_t *err);
int client_tp_stream(kube_client_t *c, const kube_client_request_t *req,
                     kube_client_line_fn fn, void *userdata, kube_error_t *err);
void client_tp_free(struct client_tp *tp);

/* upgrade.c: a connection upgraded to a streaming protocol, driven by a
 * poll loop of the caller. */
struct client_up {
  struct conn cn;    /* non-blocking after the upgrade; cn.buf holds bytes
                        that came with the 101 */
  kube_strbuf_t out; /* queued for the server */
  size_t out_off;
  bool read_wants_write, write_wants_read; /* TLS renegotiation states */
  size_t retry_len; /* a TLS write to repeat with this length */
};
void client_up_init(struct client_up *u);
void client_up_close(struct client_up *u);
/* Connect and ask for the upgrade.  0 with *up negotiated; 1 when the
 * server answered otherwise (*refused filled: clear it); -1 with err. */
int client_up_open(kube_client_t *c, const char *path, const char *query,
                   kube_stream_kind_t kind, kube_stream_transport_t tr,
                   struct client_up *u, kube_stream_upgrade_t *up,
                   kube_client_response_t *refused, kube_error_t *err);
/* client_up_open with each transport of order[0..n) until one is
 * accepted, as kubectl falls back from WebSocket to SPDY.  0, or -1 with
 * err (the last refusal's, as client-go reports it). */
int client_up_connect(kube_client_t *c, const char *path, const char *query,
                      kube_stream_kind_t kind,
                      const kube_stream_transport_t *order, size_t n,
                      struct client_up *u, kube_stream_upgrade_t *up,
                      kube_error_t *err);
/* The error a refused upgrade means, as client-go reports it.  -1. */
int client_up_refused_error(kube_client_t *c,
                            const kube_client_response_t *resp,
                            kube_error_t *err);
/* Bytes to read without waiting (leftovers, TLS records). */
bool client_up_buffered(const struct client_up *u);
/* > 0 bytes, 0 EOF, -1 nothing now, -2 error (err set). */
ssize_t client_up_read(struct client_up *u, void *buf, size_t len,
                       kube_error_t *err);
/* Read what the server sent (up to 64 reads) into feed, eof at its end;
 * stops early once *done.  0, or -1 with err on a broken connection. */
int client_up_pump(struct client_up *u,
                   void (*feed)(void *arg, const void *buf, size_t len),
                   void (*eof)(void *arg), void *arg, const bool *done,
                   kube_error_t *err);
void client_up_queue(struct client_up *u, const void *buf, size_t len);
size_t client_up_pending(const struct client_up *u);
/* Write what the socket takes now.  0, or -1 with err. */
int client_up_flush(struct client_up *u, kube_error_t *err);
/* poll() events to wait for. */
short client_up_events(const struct client_up *u);

/* tls.c */
int client_tls_context_setup(kube_client_t *c, const kube_kubeconfig_t *kc,
                             bool insecure, kube_error_t *err);
int client_tls_connect(kube_client_t *c, struct conn *cn, kube_error_t *err);

/* ---- the controller kit (informer*.c, factory.c, writer.c, recorder.c,
 * controller.c) ---- */

struct event_base;
struct event;
typedef struct json_tokener json_tokener;
typedef struct json_object json_object;

/* One cached object: its compact JSON text, where its resourceVersion sits
 * in the text, and its memberships in the informer's indexes. */
struct client_iref {
  struct client_bucket *b; /* the bucket it is in */
  uint32_t pos;            /* its slot in b->v */
};

struct client_entry {
  const char *key;    /* the cache map's key */
  char *json;         /* compact JSON text, NUL-terminated */
  uint32_t len;       /* of json */
  uint32_t rv_off;    /* metadata.resourceVersion inside json */
  uint16_t rv_len;    /* 0: none */
  uint16_t n_refs;    /* index memberships */
  bool pinned;        /* obj handed out by kube_informer_get */
  uint32_t mark;      /* generation of the last LIST that had it */
  kube_object_t *obj; /* parsed tree, or NULL */
  struct client_iref *refs;
};

/* The objects having one value in one index. */
struct client_bucket {
  struct client_index *ix;
  const char *value; /* the index map's key */
  struct client_entry **v;
  uint32_t n, cap;
};

struct client_index {
  char *name;
  kube_index_fn fn;
  void *arg;
  struct strmap buckets; /* value -> struct client_bucket * */
  struct client_index *next;
};

struct kube_index_values {
  char **v;
  size_t n, cap;
  bool oom;
};

struct kube_informer_registration {
  kube_informer_t *inf;
  kube_informer_handlers_t h;
  void *arg;
  bool initial_pending; /* synthetic adds not delivered yet */
  bool flushing;        /* its synthetic adds are being delivered */
  bool synced;          /* on_synced delivered */
  bool removed;         /* reaped once no dispatch is running */
  struct kube_informer_registration *next;
};

enum client_informer_phase {
  CLIENT_P_IDLE,
  CLIENT_P_LISTING,
  CLIENT_P_WATCHING
};

struct kube_informer {
  struct event_base *base;
  kube_transport_t tp;
  char *path;
  char *query; /* "labelSelector=..&fieldSelector=.." or "" */
  char *label_selector, *field_selector; /* as given, for the factory */
  bool keep_managed_fields;
  struct strmap cache; /* key -> struct client_entry * (owned) */
  size_t bytes;        /* what the cache holds, approximately */
  char *rv;            /* resourceVersion the cache is at */
  bool synced;
  uint32_t mark; /* LIST generation */
  enum client_informer_phase phase;
  kube_transport_call_t *call; /* live call, NULL when none */
  uint64_t gen;                /* bumps when a call is abandoned */
  struct client_call_ctx *ctx; /* context of the live call */
  kube_strbuf_t line;          /* partial watch line */
  bool watch_events;           /* the current watch delivered something */
  bool relist;                 /* next restart LISTs (else WATCHes) */
  int64_t backoff_ms;
  struct event *restart_ev;
  struct event *deliver_ev; /* synthetic adds of late registrations */
  uint64_t lists;
  json_tokener *tok;
  struct kube_informer_registration *regs;
  unsigned dispatching; /* nesting depth of handler calls */
  bool reap;            /* removed registrations wait */
  size_t n_initial;     /* registrations waiting for their adds */
  struct client_index *indexes;
  struct kube_index_values scratch;
  /* The factory's interest: told when the informer becomes synced. */
  void (*synced_hook)(void *arg);
  void *synced_hook_arg;
  bool owned_by_factory;
};

/* informer.c */
/* The entry's tree, parsed when needed (NULL on out-of-memory). */
kube_object_t *client_entry_object(kube_informer_t *inf,
                                   struct client_entry *e);
/* Drop the entry's tree unless it was handed out. */
void client_entry_unhold(struct client_entry *e);
void client_informer_free_owned(kube_informer_t *inf);

/* informer-index.c */
/* Put a new entry (its tree parsed) into every index.  -1 on OOM (the
 * entry is then in none). */
int client_index_insert(kube_informer_t *inf, struct client_entry *e);
/* Bring an entry's memberships up to date with its new tree. */
int client_index_update(kube_informer_t *inf, struct client_entry *e);
/* Take an entry out of every index. */
void client_index_remove(kube_informer_t *inf, struct client_entry *e);
void client_index_free_all(kube_informer_t *inf);
void client_index_values_clear(struct kube_index_values *v);
/* The ownerReference with controller: true (borrowed), or NULL. */
json_object *client_controller_ref(const kube_object_t *obj);

/* informer-text.c: the compact JSON text of cached objects. */
/* The value of member `name` in the JSON object text [p, end): returns its
 * start and sets *vend; *ms and *me (may be NULL) receive the member's span
 * including one separating comma, for cutting it out.  NULL when absent or
 * when the text is not an object. */
const char *client_json_member(const char *p, const char *end, const char *name,
                               const char **vend, const char **ms,
                               const char **me);
/* What an object's text says of its metadata, found in one pass.  String
 * values point into the text, without quotes (NULL when absent or written
 * with escapes). */
struct client_json_meta {
  bool found; /* metadata is an object, scanned to its end */
  const char *name, *ns, *rv;
  uint32_t name_len, ns_len, rv_len;
  /* The managedFields member with one separating comma, for cutting out;
   * NULL when there is none. */
  const char *mf_start, *mf_end;
};
void client_json_scan_meta(const char *text, size_t len,
                           struct client_json_meta *out);
/* The same for an object whose tree says its resourceVersion is `rv`,
 * found with memmem (watch events: several times cheaper than the scan);
 * name and namespace are not filled.  -1 when the text is ambiguous (a
 * second "managedFields" key): scan instead. */
int client_json_quick_meta(const char *text, size_t len, const char *rv,
                           struct client_json_meta *out);

/* Walk the elements of the JSON array at *cursor (start with the '['
 * position; the cursor advances): 1 with the next element in [*v, *vend),
 * 0 at the end, -1 on malformed text. */
int client_json_array_next(const char *end, const char **cursor, const char **v,
                           const char **vend);
/* True when [text, text + len) is one JSON value (structure only). */
bool client_json_is_value(const char *text, size_t len);
/* objects.c: pieces shared by the synchronous client and the writer
 * (with client_query_add above). */
/* dryRun= and fieldManager= of opts (may be NULL). */
void client_write_query(kube_strbuf_t *q, const kube_client_write_options_t *o);
/* Copy caller options honouring struct_size; NULL: defaults (grace period
 * unset). */
void client_write_options_copy(kube_client_write_options_t *dst,
                               const kube_client_write_options_t *src);
/* `kind`, or the kind the object's apiVersion/kind name (NotFound). */
const kube_kind_t *client_kind_of(const kube_kind_t *kind,
                                  const kube_object_t *obj, kube_error_t *err);
/* The DeleteOptions body for o (owned; NULL on OOM). */
char *client_delete_options_json(const kube_client_write_options_t *o);

/* writer.c */
/* The error a failed reply (status 0: none came) stands for. */
void client_reply_error(int status, const char *data, size_t len,
                        kube_error_t *err);

/* recorder.c: tests replace the monotonic clock of the correlator. */
void client_recorder_set_clock(kube_event_recorder_t *r,
                               int64_t (*now_ns)(void *arg), void *arg);

#endif /* KUBE_CLIENT_INTERNAL_H */
