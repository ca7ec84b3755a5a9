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

/* Write a kubeconfig (mode 0600, atomically) with one cluster `server`
 * trusting `ca_pem` (PEM text; NULL: the system's roots), one user named
 * `user` with a bearer `token` or, when both are given, the client
 * certificate `cert_pem` and key `key_pem` (PEM text), and context
 * "libkube" (namespace default).  0 or -1 with err. */
int kube_kubeconfig_write(const char *path, const char *server,
                          const char *ca_pem, const char *user,
                          const char *token, const char *cert_pem,
                          const char *key_pem, kube_error_t *err);

/* ---- joining a cluster (TLS bootstrap) ---- */

/* A new EC P-256 key and a PEM certificate request for subject CN `cn`
 * and O `orgs` (NULL-terminated, may be NULL).  *key_pem and *csr_pem are
 * owned (free()).  0 or -1 with err. */
int kube_client_csr_generate(const char *cn, const char *const *orgs,
                             char **key_pem, char **csr_pem,
                             kube_error_t *err);

typedef struct kube_client_join_options {
  size_t struct_size;    /* sizeof(kube_client_join_options_t) */
  const char *server;    /* "https://10.0.0.1:6443" */
  const char *ca_file;   /* the cluster CA (kubed's DATA/ca.crt); NULL:
                            the system's roots */
  const char *token;     /* the join token (kubed's DATA/join-token) */
  const char *node_name; /* the certificate is system:node:<node_name> */
  const char *kubeconfig_out; /* written, mode 0600 */
  int timeout_ms;        /* waiting for the certificate; 0: 60 s */
} kube_client_join_options_t;

/* A node's TLS bootstrap, as the kubelet's: make a key and a certificate
 * request (CN system:node:NAME, O system:nodes), send it as a
 * CertificateSigningRequest (signer kubernetes.io/kube-apiserver-client-
 * kubelet) authenticated by the bootstrap token, wait until the API
 * server's approver and signer issued the certificate, and write a
 * kubeconfig with it.  Blocking (run it before the loop, or on a worker).
 * 0 or -1 with err (the server's refusal, Timeout, I/O errors). */
int kube_client_node_join(const kube_client_join_options_t *opts,
                          kube_error_t *err);

typedef struct kube_client_serving_options {
  size_t struct_size;     /* sizeof(kube_client_serving_options_t) */
  const char *kubeconfig; /* the node's (its system:node:NAME certificate) */
  const char *node_name;
  /* The subjectAltNames: the node's addresses (NULL-terminated; at least
   * one IP or DNS name). */
  const char *const *ips;
  const char *const *dns_names;
  const char *cert_out, *key_out; /* PEM, written mode 0600 */
  int timeout_ms;                 /* waiting for the certificate; 0: 60 s */
} kube_client_serving_options_t;

/* The kubelet's serving certificate: a new key and a certificate request
 * (CN system:node:NAME, O system:nodes, the addresses as subjectAltNames)
 * sent as a CertificateSigningRequest of signer kubernetes.io/kubelet-
 * serving with the node's own credentials, the certificate waited for
 * (kubed approves a node's request that names only its Node's addresses;
 * others wait for `kubectl certificate approve`), then both written.
 * Blocking.  0 or -1 with err (Timeout when not approved in time). */
int kube_client_node_serving_cert(const kube_client_serving_options_t *opts,
                                  kube_error_t *err);

/* The validity of the client certificate of `kubeconfig` (inline data or
 * file), in seconds since the epoch.  0 or -1 with err (BadRequest: no
 * readable client certificate). */
int kube_client_cert_validity(const char *kubeconfig, int64_t *not_before,
                              int64_t *not_after, kube_error_t *err);
/* The same for the first certificate of a PEM file. */
int kube_client_pem_validity(const char *pem_file, int64_t *not_before,
                             int64_t *not_after, kube_error_t *err);
/* Renew a node's client certificate, as the kubelet's certificate manager
 * does before it expires: a new key and a request for system:node:NAME
 * in system:nodes sent with the current certificate (signer kubernetes.io/
 * kube-apiserver-client-kubelet; kubed approves a node renewing its own),
 * the certificate waited for (timeout_ms, 0: 60 s), then `kubeconfig`
 * rewritten with it (same server and CA; written whole and renamed, mode
 * 0600).  Blocking.  0 or -1 with err (the old kubeconfig stays). */
int kube_client_node_renew(const char *kubeconfig, const char *node_name,
                           int timeout_ms, kube_error_t *err);

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
  /* A client certificate and key to present (PEM files, both or neither;
   * they replace the kubeconfig's).  With them and no kubeconfig named,
   * no kubeconfig is read: the options are the whole identity (the API
   * server reaching a kubelet with its kubelet client certificate). */
  const char *client_certificate;
  const char *client_key;
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
  /* create/update/patch: fieldValidation= "Strict" | "Warn" | "Ignore"
   * (NULL: the server's default, Warn). */
  const char *field_validation;
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

#ifdef __cplusplus
}
#endif
#endif /* LIBKUBE_CLIENT_H */
