/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared inside the client module only. */
#ifndef KUBE_CLIENT_INTERNAL_H
#define KUBE_CLIENT_INTERNAL_H

#include <signal.h>

#include <openssl/ssl.h>

#include <libkube/client.h>
#include <libkube/kubectl.h>

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
/* Read a response head.  Returns 0, or -1 with err; *nothing is set when
 * the connection closed before any byte arrived (stale keep-alive). */
int client_http_read_head(struct conn *cn, struct http_response_head *h,
                          bool *nothing, kube_error_t *err);
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
                     kube_client_line_fn fn, void *userdata,
                     kube_error_t *err);
void client_tp_free(struct client_tp *tp);

/* tls.c */
int client_tls_context_setup(kube_client_t *c, const kube_kubeconfig_t *kc,
                             bool insecure, kube_error_t *err);
int client_tls_connect(kube_client_t *c, struct conn *cn, kube_error_t *err);

#endif /* KUBE_CLIENT_INTERNAL_H */
