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

#ifdef __cplusplus
}
#endif
#endif /* LIBKUBE_CLIENT_H */
