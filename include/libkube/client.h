/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libkube client: a synchronous Kubernetes REST client for CLIs, scripts
 * and language bindings.
 *
 * - Configuration comes from a kubeconfig (clusters, users, contexts,
 *   current-context) or from explicit options.  Servers are
 *   `http://host:port`, `https://host:port` (TLS through OpenSSL) or
 *   `unix:PATH` (a kubed unix socket).
 * - Requests are plain HTTP/1.1 over one keep-alive connection; responses
 *   with Content-Length, chunked or close-delimited bodies are understood.
 * - Error responses carrying a `Status` body become a kube_error_t with the
 *   Status reason, message and details; kube_client_last_status() tells
 *   whether the last failure came from the server (HTTP code) or from the
 *   transport (0).
 *
 * kubectl's printers, Table GETs, describe and generators over this client
 * are in <libkube/kubectl.h>; the asynchronous transport, informers, work
 * queues and the rest of the controller kit in <libkube/kit.h>.
 *
 * Threading: a kube_client_t is used by one thread at a time.  Watches use
 * their own connection, so a watch callback may issue requests on the same
 * client.
 */
#ifndef LIBKUBE_CLIENT_H
#define LIBKUBE_CLIENT_H

#include <libkube/api.h>
#include <libkube/core.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kube_client kube_client_t;

/* ------------------------------------------------------------------------ */
/* Kubeconfig                                                                */
/* ------------------------------------------------------------------------ */

/* The connection settings of one kubeconfig context, resolved.  All strings
 * owned by the struct (free with kube_kubeconfig_free); NULL when absent. */
typedef struct kube_kubeconfig {
  char *context;             /* name of the context used */
  char *cluster;             /* name of its cluster */
  char *user;                /* name of its user */
  char *server;              /* "https://127.0.0.1:6443", "unix:/run/..." */
  char *namespace_;          /* context namespace, NULL = "default" */
  char *token;               /* bearer token (user.token / tokenFile) */
  char *username, *password; /* basic auth (user.username/password) */
  bool insecure_skip_tls_verify;
  char *certificate_authority;      /* PEM file path */
  char *certificate_authority_data; /* PEM text (decoded from base64) */
  char *client_certificate;         /* PEM file path */
  char *client_certificate_data;    /* PEM text */
  char *client_key;                 /* PEM file path */
  char *client_key_data;            /* PEM text */
  char *tls_server_name;
  char *path; /* the file it came from */
} kube_kubeconfig_t;

/* Load the kubeconfig at `path`, or when path is NULL the first of
 * $KUBECONFIG (first existing entry of a colon-separated list) and
 * ~/.kube/config.  `context` selects a context (NULL: current-context).
 * Relative file paths inside are resolved against the file's directory.
 * NotFound when no file exists (callers may then fall back to the kubed
 * socket) or the context is missing; BadRequest when the file is malformed.
 * Returns an owned struct (kube_kubeconfig_free). */
kube_kubeconfig_t *kube_kubeconfig_load(const char *path, const char *context,
                                        kube_error_t *err);
/* Parse kubeconfig text (YAML or JSON).  `dir` resolves relative paths
 * (may be NULL). */
kube_kubeconfig_t *kube_kubeconfig_parse(const char *data, size_t len,
                                         const char *dir, const char *context,
                                         kube_error_t *err);
void kube_kubeconfig_free(kube_kubeconfig_t *kc);

/* ------------------------------------------------------------------------ */
/* Client                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct kube_client_options {
  size_t struct_size; /* sizeof(kube_client_options_t) */
  /* Kubeconfig file (NULL: $KUBECONFIG, ~/.kube/config).  When no file
   * exists and no server is given, the client talks to the default kubed
   * socket (unix:/run/libkube/kubed.sock). */
  const char *kubeconfig;
  const char *context; /* NULL: current-context */
  /* Overrides of the kubeconfig's values (NULL / false: keep). */
  const char *server;
  const char *token;
  const char *namespace_;
  bool insecure_skip_tls_verify;
  const char *certificate_authority; /* PEM file */
  /* Per-request I/O timeout in milliseconds; 0 = none.  Watches ignore it. */
  int timeout_ms;
  const char *user_agent; /* NULL: "kube/<version>" */
} kube_client_options_t;

/* Create a client from options (NULL options: all defaults).  Does not
 * connect yet.  Errors: NotFound (missing context), BadRequest (bad
 * server URL or kubeconfig).  Owned: free with kube_client_free. */
kube_client_t *kube_client_new(const kube_client_options_t *opts,
                               kube_error_t *err);
/* Shorthand: kube_client_new with only kubeconfig and context set. */
kube_client_t *kube_client_new_from_kubeconfig(const char *path,
                                               const char *context,
                                               kube_error_t *err);
/* Closes the connection and frees everything.  Accepts NULL. */
void kube_client_free(kube_client_t *c);

/* ---- A synchronous client over an asynchronous transport ---------------
 *
 * The same kube_client_* calls (request, stream, get, list, create, ...,
 * watch) served by a kube_transport_t that runs on `loop` in another
 * thread: typically the in-process transport of an API server
 * (kube_server_transport()), so a thread of an embedding program or a
 * language binding talks to a server in the same process with no socket.
 * Each request is handed to the loop with kube_loop_invoke() and the
 * calling thread waits until the reply came; a watch's events are
 * delivered to the calling thread (its callback never runs on the loop).
 *
 * Threading: unlike a socket client, such a client may be used by any
 * number of threads at once (kube_client_last_status() then tells the
 * status of whichever request finished last).  It must not be used on
 * the loop's own thread, nor while no thread runs the loop: such a call
 * fails with BadRequest (EDEADLK) instead of waiting forever.  The loop
 * must keep running until every call in flight returned: a call handed to
 * a loop that stops is never answered.  A server that shuts down answers
 * its calls (503 for new ones) and ends its watches, so stop the server,
 * wait for the calling threads, then stop the loop.
 *
 * `loop` (borrowed) and the implementation behind `tp` (copied; its impl
 * borrowed) must outlive the client.  From `opts` (may be NULL) only
 * namespace_ (default "default") and timeout_ms (per request; a request
 * not answered in time fails with Timeout and is cancelled) are used.
 * kube_client_server() returns "in-process".  Owned: free with
 * kube_client_free (no call may be in flight; the cancellation of a watch
 * whose callback stopped it may still be on its way to the loop and runs
 * there later, or, if the loop never runs again, only leaks its record).
 * NULL with err (BadRequest: no loop, or an unknown transport version). */
struct kube_transport;
kube_client_t *kube_client_new_transport(kube_loop_t *loop,
                                         const struct kube_transport *tp,
                                         const kube_client_options_t *opts,
                                         kube_error_t *err);

/* The server URL and default namespace (borrowed, valid for the client's
 * lifetime). */
const char *kube_client_server(const kube_client_t *c);
const char *kube_client_namespace(const kube_client_t *c);
/* HTTP status of the last response, 0 when the last request failed before
 * a response arrived (connection refused, TLS failure, ...). */
int kube_client_last_status(const kube_client_t *c);

/* One HTTP request.  Strings are borrowed for the duration of the call. */
typedef struct kube_client_request {
  size_t struct_size; /* sizeof(kube_client_request_t) */
  const char *method; /* "GET", "POST", ... */
  const char *path;   /* "/api/v1/namespaces/default/pods" */
  const char *query;  /* "labelSelector=a%3Db&limit=5" (no '?'), or NULL */
  const char *content_type; /* NULL: none (no body) */
  const char *accept;       /* NULL: "application/json" */
  const char *body;         /* may be NULL */
  size_t body_len;
} kube_client_request_t;

/* A response; release with kube_client_response_clear. */
typedef struct kube_client_response {
  int status;         /* HTTP status code */
  char *content_type; /* owned, may be NULL */
  char *body;         /* owned, NUL-terminated (also when empty) */
  size_t body_len;
} kube_client_response_t;

#define KUBE_CLIENT_RESPONSE_INIT                                              \
  { 0 }

/* Send a request and read the whole response into *resp.  Returns 0 when a
 * response arrived, whatever its status (check resp->status or use
 * kube_client_check); -1 with err set when the transport failed
 * (ServiceUnavailable with errno for connection errors).  A stale
 * keep-alive connection is reopened once transparently. */
int kube_client_request(kube_client_t *c, const kube_client_request_t *req,
                        kube_client_response_t *resp, kube_error_t *err);
void kube_client_response_clear(kube_client_response_t *resp);
/* 0 for a 2xx response; otherwise -1 with err set from the Status body
 * (reason, message, details, causes) or, without one, from the HTTP
 * code. */
int kube_client_check(const kube_client_response_t *resp, kube_error_t *err);

/* Called with each complete line (without the newline; NUL-terminated) of
 * a streamed response body.  Return 0 to go on, non-zero to stop (the
 * connection is closed). */
typedef int (*kube_client_line_fn)(const char *line, size_t len,
                                   void *userdata);
/* Send a request on a dedicated connection and stream the body line by
 * line (watches, `logs -f`).  A non-2xx answer is read whole and turned
 * into an error as kube_client_check does.  Returns 0 when the server ended
 * the stream or the callback stopped it, -1 with err on failure. */
int kube_client_stream(kube_client_t *c, const kube_client_request_t *req,
                       kube_client_line_fn fn, void *userdata,
                       kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* Resource helpers                                                          */
/* ------------------------------------------------------------------------ */

/* The REST path of a resource: "/api/v1/namespaces/NS/pods/NAME/SUB".
 * `ns` is ignored for cluster-scoped kinds and may be NULL for "all
 * namespaces"; `name` and `sub` may be NULL.  Owned string (free). */
char *kube_client_path(const kube_kind_t *kind, const char *ns,
                       const char *name, const char *sub);
/* Percent-encode a query value ("a=b,c" -> "a%3Db%2Cc").  Owned string;
 * NULL on out-of-memory. */
char *kube_client_query_escape(const char *value);

/* Options of the writing helpers; NULL means all defaults. */
typedef struct kube_client_write_options {
  size_t struct_size;        /* sizeof(kube_client_write_options_t) */
  bool dry_run;              /* dryRun=All: validated, not stored */
  const char *field_manager; /* fieldManager= (NULL: none / "kube" for apply) */
  bool force;                /* server-side apply: take conflicting fields */
  int64_t grace_period;      /* delete: gracePeriodSeconds, < 0 = unset */
  const char *propagation; /* delete: "Background" | "Foreground" | "Orphan" */
  /* delete (and eviction): preconditions; the server answers Conflict when
   * the object's uid / resourceVersion differ.  NULL: none. */
  const char *precondition_uid;
  const char *precondition_resource_version;
} kube_client_write_options_t;

/* List options; NULL means no selectors. */
typedef struct kube_client_list_options {
  size_t struct_size; /* sizeof(kube_client_list_options_t) */
  const char *label_selector;
  const char *field_selector;
  const char *resource_version; /* watch from / list at; NULL = latest */
  int timeout_seconds;          /* watch: timeoutSeconds, 0 = none */
  bool send_initial_events;     /* reserved */
} kube_client_list_options_t;

/* GET one object.  `ns` NULL means the client's namespace (for namespaced
 * kinds).  Owned object or NULL with err (NotFound, ...). */
kube_object_t *kube_client_get(kube_client_t *c, const kube_kind_t *kind,
                               const char *ns, const char *name,
                               kube_error_t *err);
/* List a kind: `ns` NULL lists all namespaces.  Returns the owned
 * <Kind>List object. */
kube_object_t *kube_client_list(kube_client_t *c, const kube_kind_t *kind,
                                const char *ns,
                                const kube_client_list_options_t *opts,
                                kube_error_t *err);
/* POST `obj` (borrowed).  `kind` NULL: taken from the object's
 * apiVersion/kind; `ns` NULL: the object's namespace, else the client's.
 * Returns the stored object (owned). */
kube_object_t *kube_client_create(kube_client_t *c, const kube_kind_t *kind,
                                  const char *ns, const kube_object_t *obj,
                                  const kube_client_write_options_t *opts,
                                  kube_error_t *err);
/* PUT `obj` (borrowed; its resourceVersion guards the update: Conflict when
 * stale). */
kube_object_t *kube_client_replace(kube_client_t *c, const kube_kind_t *kind,
                                   const char *ns, const kube_object_t *obj,
                                   const kube_client_write_options_t *opts,
                                   kube_error_t *err);

typedef enum kube_patch_type {
  KUBE_PATCH_STRATEGIC = 0, /* application/strategic-merge-patch+json */
  KUBE_PATCH_MERGE,         /* application/merge-patch+json */
  KUBE_PATCH_JSON,          /* application/json-patch+json */
  KUBE_PATCH_APPLY,         /* application/apply-patch+yaml (server-side) */
} kube_patch_type_t;

/* "strategic", "merge", "json", "apply" -> type; -1 if unknown. */
int kube_patch_type_parse(const char *s);
/* The Content-Type of a patch type.  Static. */
const char *kube_patch_type_content_type(kube_patch_type_t type);

/* PATCH the object (or its `sub`resource, may be NULL) with `patch` (JSON
 * text, borrowed).  Returns the patched object (owned). */
kube_object_t *kube_client_patch(kube_client_t *c, const kube_kind_t *kind,
                                 const char *ns, const char *name,
                                 const char *sub, kube_patch_type_t type,
                                 const char *patch,
                                 const kube_client_write_options_t *opts,
                                 kube_error_t *err);
/* Server-side apply of `obj` (borrowed): PATCH with apply-patch+yaml and
 * fieldManager (default "kube"), creating the object when missing. */
kube_object_t *kube_client_apply(kube_client_t *c, const kube_object_t *obj,
                                 const kube_client_write_options_t *opts,
                                 kube_error_t *err);
/* DELETE with DeleteOptions from opts.  On success *out (if not NULL)
 * receives what the server returned: the object (graceful deletion) or a
 * Status (owned). */
int kube_client_delete(kube_client_t *c, const kube_kind_t *kind,
                       const char *ns, const char *name,
                       const kube_client_write_options_t *opts,
                       kube_object_t **out, kube_error_t *err);

/* One watch event: type "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" |
 * "ERROR", the object borrowed for the call (copy it to keep it).  Return
 * 0 to go on, non-zero to stop. */
typedef int (*kube_client_watch_fn)(const char *type, const kube_object_t *obj,
                                    void *userdata);
/* Watch a kind (`ns` NULL: all namespaces) from opts->resource_version
 * until the server ends the stream (timeoutSeconds) or `fn` stops it.  An
 * ERROR event whose Status is 410 ends the watch with an Expired error. */
int kube_client_watch(kube_client_t *c, const kube_kind_t *kind, const char *ns,
                      const kube_client_list_options_t *opts,
                      kube_client_watch_fn fn, void *userdata,
                      kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* Streaming: logs, exec, attach, port-forward                               */
/* ------------------------------------------------------------------------ */

/* These talk to a pod through the API server (pods/log, pods/exec,
 * pods/attach, pods/portforward), which hands them to the pod's node.
 * exec, attach and port-forward upgrade a connection of their own
 * (WebSocket, or SPDY/3.1 when the WebSocket upgrade is refused, as
 * kubectl 1.32 does), so they need a network client: a client over an
 * in-process transport fails them with BadRequest.  They block until the
 * session ends; the calling thread does all the I/O (poll). */

/* Which protocol to upgrade to. */
typedef enum kube_client_stream_transport {
  KUBE_CLIENT_STREAM_AUTO = 0, /* WebSocket, then SPDY if that fails */
  KUBE_CLIENT_STREAM_WEBSOCKET,
  KUBE_CLIENT_STREAM_SPDY,
} kube_client_stream_transport_t;

/* Output of a remote command or a log: stream 1 stdout, 2 stderr; buf is
 * borrowed for the call.  Return 0 to go on, non-zero to stop. */
typedef int (*kube_client_output_fn)(void *arg, int stream, const void *buf,
                                     size_t len);

typedef struct kube_client_logs_options {
  size_t struct_size; /* sizeof(kube_client_logs_options_t) */
  const char *namespace_; /* NULL: the client's */
  const char *pod;        /* required */
  const char *container;  /* NULL: the server picks the only one */
  bool follow, previous, timestamps;
  bool tail;             /* only the last tail_lines lines (--tail=N) */
  int64_t tail_lines;
  int64_t limit_bytes;   /* <= 0: no limit */
  int64_t since_seconds; /* <= 0: unset */
  const char *since_time; /* RFC 3339, or NULL */
  /* The log text as it arrives (stream 1).  Required. */
  kube_client_output_fn output;
  void *arg;
} kube_client_logs_options_t;

/* GET .../pods/POD/log with the options and hand the body to `output` as
 * it arrives.  0 when the server ended it or `output` stopped it; -1 with
 * err (the server's Status: NotFound, BadRequest "container ... is waiting
 * to start: ...", ...). */
int kube_client_logs(kube_client_t *c, const kube_client_logs_options_t *o,
                     kube_error_t *err);

typedef struct kube_client_exec_options {
  size_t struct_size;     /* sizeof(kube_client_exec_options_t) */
  const char *namespace_; /* NULL: the client's */
  const char *pod;        /* required */
  const char *container;  /* NULL: the server picks the only one */
  /* NULL-terminated argv to run; NULL attaches to the container's own
   * process (pods/attach) instead. */
  const char *const *command;
  bool stdin_; /* send input */
  bool tty;    /* a terminal (stderr then comes on stdout) */
  /* Input: read from stdin_fd until EOF (then stdin is closed), or when
   * stdin_fd < 0 the bytes stdin_data[0..stdin_len). */
  int stdin_fd;
  const void *stdin_data;
  size_t stdin_len;
  /* Output: written to stdout_fd/stderr_fd (blocking writes) when >= 0,
   * else given to `output` (may be NULL: dropped). */
  int stdout_fd, stderr_fd;
  kube_client_output_fn output;
  void *arg;
  /* With tty: the local terminal whose size (TIOCGWINSZ) is sent at the
   * start and whenever resize_fd becomes readable (e.g. a pipe a SIGWINCH
   * handler writes a byte to; it is drained).  -1: none. */
  int tty_fd;
  int resize_fd;
  kube_client_stream_transport_t transport;
} kube_client_exec_options_t;

/* Every descriptor -1 (file descriptor 0 is a real one). */
#define KUBE_CLIENT_EXEC_OPTIONS_INIT                                          \
  {.struct_size = sizeof(kube_client_exec_options_t),                          \
   .stdin_fd = -1,                                                             \
   .stdout_fd = -1,                                                            \
   .stderr_fd = -1,                                                            \
   .tty_fd = -1,                                                               \
   .resize_fd = -1}

/* Run a command in a container (or attach to it) and wait for it to end.
 * 0 with *exit_code (the command's exit status; 0 for an attach that ended
 * normally), or -1 with err: the upgrade refused (the server's Status or
 * text, e.g. "unable to upgrade connection: container not found
 * (\"c\")"), the server's error status (InternalError "error executing
 * command in container: ..."), or the connection lost. */
int kube_client_exec(kube_client_t *c, const kube_client_exec_options_t *o,
                     int *exit_code, kube_error_t *err);

/* One forwarded port: where it listens, where it goes. */
typedef struct kube_client_forward {
  char address[64];     /* local address listened on ("127.0.0.1", "::1") */
  uint16_t local_port;  /* the bound port (picked when 0 was asked) */
  uint16_t remote_port; /* the pod's port */
} kube_client_forward_t;

typedef struct kube_client_portforward_options {
  size_t struct_size;     /* sizeof(kube_client_portforward_options_t) */
  const char *namespace_; /* NULL: the client's */
  const char *pod;        /* required */
  /* "8080", "8888:80", ":80" (a free local port), NULL-terminated. */
  const char *const *ports;
  /* Local addresses, NULL-terminated; NULL: "localhost" (127.0.0.1 and
   * ::1, as kubectl; a family that cannot listen is skipped). */
  const char *const *addresses;
  /* Once listening on everything: the forwards (borrowed for the call). */
  void (*ready)(void *arg, const kube_client_forward_t *fw, size_t n);
  /* A local connection arrived for a forward (kubectl's "Handling
   * connection for 8080"); may be NULL. */
  void (*connection)(void *arg, const kube_client_forward_t *fw);
  /* A forwarded connection failed: the pod's side said why (kubectl's "an
   * error occurred forwarding L -> R: ..."); may be NULL. */
  void (*error)(void *arg, const kube_client_forward_t *fw,
                const char *message);
  void *arg;
  /* Readable: stop (e.g. a pipe a SIGINT handler writes to).  -1: run
   * until the connection ends. */
  int stop_fd;
  kube_client_stream_transport_t transport; /* AUTO: SPDY in WebSocket,
                                               then SPDY */
} kube_client_portforward_options_t;

#define KUBE_CLIENT_PORTFORWARD_OPTIONS_INIT                                   \
  {.struct_size = sizeof(kube_client_portforward_options_t), .stop_fd = -1}

/* Listen locally and forward every connection to the pod's port until
 * stop_fd is readable (0) or the connection to the server ends (-1 with
 * err: "lost connection to pod").  -1 with err before listening on a bad
 * port spec, a local port in use ("unable to listen on any of the
 * requested ports: ..."), or a refused upgrade. */
int kube_client_portforward(kube_client_t *c,
                            const kube_client_portforward_options_t *o,
                            kube_error_t *err);
/* Parse a port spec ("8080", "8888:80", ":80") as kubectl does: *local 0
 * for a random port.  -1 with BadRequest. */
int kube_client_forward_parse(const char *spec, uint16_t *local,
                              uint16_t *remote, kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* Asynchronous transport                                                    */
/* ------------------------------------------------------------------------ */

/* Asynchronous requests on a libevent loop, behind a table of function
 * pointers chosen once: the in-process transport of an API server
 * (kube_apiserver_transport() in <libkube/apiserver.h>) or any other
 * implementation with the same contract.  Informers, work queues, the
 * scheduler loop and controllers use only this interface.
 *
 * Contract of an implementation:
 * - request() starts a request and returns a handle (borrowed, valid until
 *   the done callback ran or the call was cancelled), or NULL with err.
 *   The callback never runs inside request().
 * - A plain reply arrives in one callback with done = true.  A streamed
 *   reply (watch) arrives as callbacks with done = false (the first carries
 *   status and content type; each later one a piece of the body, usually
 *   one watch line) and a last one with done = true and len 0.
 * - cancel() stops the callbacks of a call (they never run again); a write
 *   already sent may still take effect.
 * - Every call and callback happens on the loop's thread. */


typedef struct kube_transport_call kube_transport_call_t;

/* `content_type` and `data` are borrowed for the call. */
typedef void (*kube_transport_reply_cb)(int status, const char *content_type,
                                        const char *data, size_t len, bool done,
                                        void *arg);

/* Strings are borrowed for the duration of request() only. */
typedef struct kube_transport_request {
  size_t struct_size;       /* sizeof(kube_transport_request_t) */
  const char *method;       /* "GET", "POST", ... */
  const char *path;         /* with the query: "/api/v1/pods?watch=1" */
  const char *content_type; /* of the body; NULL: application/json */
  const char *accept;       /* NULL: application/json */
  const char *body;         /* may be NULL */
  size_t body_len;
} kube_transport_request_t;

#define KUBE_TRANSPORT_OPS_VERSION 1

typedef struct kube_transport_ops {
  uint32_t version; /* KUBE_TRANSPORT_OPS_VERSION */
  kube_transport_call_t *(*request)(void *impl,
                                    const kube_transport_request_t *req,
                                    kube_transport_reply_cb cb, void *arg,
                                    kube_error_t *err);
  void (*cancel)(void *impl, kube_transport_call_t *call);
} kube_transport_ops_t;

/* A transport: its operations (static) and the implementation they act on
 * (borrowed; must outlive every user of the transport).  Passed by value. */
typedef struct kube_transport {
  const kube_transport_ops_t *ops;
  void *impl;
} kube_transport_t;

/* Shorthands for tp->ops->request / cancel.  cancel accepts NULL calls. */
kube_transport_call_t *kube_transport_request(
    const kube_transport_t *tp, const kube_transport_request_t *req,
    kube_transport_reply_cb cb, void *arg, kube_error_t *err);
void kube_transport_cancel(const kube_transport_t *tp,
                           kube_transport_call_t *call);

/* The asynchronous HTTP transport: libevent's HTTP client on `loop`
 * (borrowed), configured like kube_client_new() from `opts` (kubeconfig,
 * server, token, CA; NULL: defaults).  Servers http:// and https:// (unix
 * sockets are not supported here: use the synchronous client).  Plain
 * requests share up to four keep-alive connections; a request whose query
 * has watch= or follow= streams on a connection of its own.  A transport
 * failure is reported through the callback with status 0.  Owned: free
 * with kube_http_transport_free (cancels the calls in flight). */
typedef struct kube_http_transport kube_http_transport_t;

kube_http_transport_t *kube_http_transport_new(kube_loop_t *loop,
                                               const kube_client_options_t *opts,
                                               kube_error_t *err);
/* Fill *out with the transport's interface (valid while t lives). */
void kube_http_transport_get(kube_http_transport_t *t, kube_transport_t *out);
void kube_http_transport_free(kube_http_transport_t *t);

/* ------------------------------------------------------------------------ */
/* Informers                                                                 */
/* ------------------------------------------------------------------------ */

/* An informer keeps a cache of one collection (a kind, optionally one
 * namespace and selectors) current: LIST, then WATCH from the list's
 * resourceVersion; a watch that ends is restarted from the last
 * resourceVersion seen, and a watch that fails (410 Expired, any error
 * status) leads to a new LIST after a backoff (0.1 s doubling to 30 s),
 * whose differences with the cache are delivered as add/update/delete.
 * Handlers are told about every change after the cache holds it.
 *
 * Keys are "namespace/name" for namespaced objects, "name" otherwise.
 * Threading: one event loop; handlers run on it. */

typedef struct kube_informer kube_informer_t;

/* Objects are borrowed for the call (copy them to keep them; the cache's
 * object stays valid until the next change of that key). */
typedef struct kube_informer_handlers {
  size_t struct_size; /* sizeof(kube_informer_handlers_t) */
  void (*on_add)(const char *key, const kube_object_t *obj, void *arg);
  void (*on_update)(const char *key, const kube_object_t *old_obj,
                    const kube_object_t *obj, void *arg);
  /* `obj` is the last state known (for a delete noticed by a re-list, the
   * cached one). */
  void (*on_delete)(const char *key, const kube_object_t *obj, void *arg);
  /* Once, after the first LIST was delivered. */
  void (*on_synced)(void *arg);
} kube_informer_handlers_t;

typedef struct kube_informer_options {
  size_t struct_size; /* sizeof(kube_informer_options_t) */
  /* Collection path, without a query: "/api/v1/pods",
   * "/apis/apps/v1/namespaces/default/deployments".  Required. */
  const char *path;
  const char *label_selector; /* may be NULL */
  const char *field_selector; /* may be NULL */
} kube_informer_options_t;

/* Create an informer over `tp` (copied; its impl must outlive the
 * informer) on `loop` (borrowed).  `handlers` is copied; any handler may
 * be NULL.  Does not start: call kube_informer_start().  Owned: free with
 * kube_informer_free. */
kube_informer_t *kube_informer_new(kube_loop_t *loop,
                                   const kube_transport_t *tp,
                                   const kube_informer_options_t *opts,
                                   const kube_informer_handlers_t *handlers,
                                   void *arg, kube_error_t *err);
/* Issue the first LIST.  -1 with err when the request cannot be started. */
int kube_informer_start(kube_informer_t *inf, kube_error_t *err);
/* True once the first LIST reached the cache. */
bool kube_informer_synced(const kube_informer_t *inf);
/* The cached object of a key ("ns/name" or "name"); borrowed, valid until
 * that key changes; NULL when absent (or on out-of-memory).  The cache
 * keeps objects as compact JSON text; the first get of a key parses it and
 * keeps the tree until the key changes. */
const kube_object_t *kube_informer_get(const kube_informer_t *inf,
                                       const char *key);
size_t kube_informer_count(const kube_informer_t *inf);
/* The resourceVersion the cache is current at ("" before the first LIST).
 * Borrowed. */
const char *kube_informer_resource_version(const kube_informer_t *inf);
/* Call fn for every cached object (unspecified order; objects borrowed
 * for the call).  fn must not change the informer.  Returns the number of
 * objects visited. */
size_t kube_informer_foreach(const kube_informer_t *inf,
                             void (*fn)(const char *key,
                                        const kube_object_t *obj, void *arg),
                             void *arg);
/* Number of LISTs issued so far (1 after a start without failures). */
uint64_t kube_informer_list_count(const kube_informer_t *inf);
/* Cancel the requests in flight and free the cache.  No handler runs
 * after or inside this call.  Accepts NULL. */
void kube_informer_free(kube_informer_t *inf);

/* ------------------------------------------------------------------------ */
/* Work queue                                                                */
/* ------------------------------------------------------------------------ */

/* A queue of string keys processed on the event loop, after client-go's
 * rate-limited work queue: a key waits in the queue at most once; a key
 * being processed is never handed out again until kube_workqueue_done()
 * (an add meanwhile marks it to be queued once more after done); keys that
 * failed come back after a per-key exponential backoff.
 *
 * The process callback runs from the loop (never inside an add) with up
 * to `max_batch` ready keys in FIFO order.  Keys are borrowed for the call
 * and stay valid until kube_workqueue_done() for that key, which the
 * callback or a later completion must call exactly once per key. */

typedef struct kube_workqueue kube_workqueue_t;

typedef void (*kube_workqueue_process_fn)(kube_workqueue_t *q,
                                          const char *const *keys, size_t n,
                                          void *arg);

typedef struct kube_workqueue_options {
  size_t struct_size;    /* sizeof(kube_workqueue_options_t) */
  size_t max_batch;      /* keys per callback; 0: 1 */
  int64_t base_delay_ms; /* first backoff; 0: 5 ms */
  int64_t max_delay_ms;  /* backoff cap; 0: 60 s */
} kube_workqueue_options_t;

/* Owned: free with kube_workqueue_free.  `opts` may be NULL. */
kube_workqueue_t *kube_workqueue_new(kube_loop_t *loop,
                                     const kube_workqueue_options_t *opts,
                                     kube_workqueue_process_fn fn, void *arg,
                                     kube_error_t *err);
/* Queue a key now (copied).  A key already waiting stays where it is; a key
 * waiting for a delay is queued now; a key being processed is queued again
 * after its done.  -1 on out-of-memory. */
int kube_workqueue_add(kube_workqueue_t *q, const char *key, kube_error_t *err);
/* Queue a key after delay_ms (an earlier pending add wins). */
int kube_workqueue_add_after(kube_workqueue_t *q, const char *key,
                             int64_t delay_ms, kube_error_t *err);
/* Queue a key after its backoff: base * 2^failures, capped; counts one more
 * failure for the key. */
int kube_workqueue_add_rate_limited(kube_workqueue_t *q, const char *key,
                                    kube_error_t *err);
/* Reset a key's failure count (call after it was processed successfully). */
void kube_workqueue_forget(kube_workqueue_t *q, const char *key);
/* Failures counted for a key. */
unsigned kube_workqueue_failures(const kube_workqueue_t *q, const char *key);
/* Processing of `key` ended. */
void kube_workqueue_done(kube_workqueue_t *q, const char *key);
/* Queue every key waiting for a delay now (a change that may let
 * failed keys succeed: kube-scheduler's "move to active queue").  Returns
 * the number of keys moved. */
size_t kube_workqueue_flush_delayed(kube_workqueue_t *q);
/* Keys ready, delayed and being processed. */
size_t kube_workqueue_ready(const kube_workqueue_t *q);
size_t kube_workqueue_delayed(const kube_workqueue_t *q);
size_t kube_workqueue_processing(const kube_workqueue_t *q);
/* Stop handing out keys (adds are still recorded) / hand them out again. */
void kube_workqueue_pause(kube_workqueue_t *q, bool paused);
/* Frees every key and timer.  Must not be called from the process
 * callback.  Accepts NULL. */
void kube_workqueue_free(kube_workqueue_t *q);

#ifdef __cplusplus
}
#endif
#endif /* LIBKUBE_CLIENT_H */
