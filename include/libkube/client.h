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
  char *context;                   /* name of the context used */
  char *cluster;                   /* name of its cluster */
  char *user;                      /* name of its user */
  char *server;                    /* "https://127.0.0.1:6443", "unix:/run/..." */
  char *namespace_;                /* context namespace, NULL = "default" */
  char *token;                     /* bearer token (user.token / tokenFile) */
  char *username, *password;       /* basic auth (user.username/password) */
  bool insecure_skip_tls_verify;
  char *certificate_authority;     /* PEM file path */
  char *certificate_authority_data; /* PEM text (decoded from base64) */
  char *client_certificate;        /* PEM file path */
  char *client_certificate_data;   /* PEM text */
  char *client_key;                /* PEM file path */
  char *client_key_data;           /* PEM text */
  char *tls_server_name;
  char *path;                      /* the file it came from */
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
  size_t struct_size;      /* sizeof(kube_client_options_t) */
  /* Kubeconfig file (NULL: $KUBECONFIG, ~/.kube/config).  When no file
   * exists and no server is given, the client talks to the default kubed
   * socket (unix:/run/libkube/kubed.sock). */
  const char *kubeconfig;
  const char *context;     /* NULL: current-context */
  /* Overrides of the kubeconfig's values (NULL / false: keep). */
  const char *server;
  const char *token;
  const char *namespace_;
  bool insecure_skip_tls_verify;
  const char *certificate_authority; /* PEM file */
  /* Per-request I/O timeout in milliseconds; 0 = none.  Watches ignore it. */
  int timeout_ms;
  const char *user_agent;  /* NULL: "kube/<version>" */
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

/* The server URL and default namespace (borrowed, valid for the client's
 * lifetime). */
const char *kube_client_server(const kube_client_t *c);
const char *kube_client_namespace(const kube_client_t *c);
/* HTTP status of the last response, 0 when the last request failed before
 * a response arrived (connection refused, TLS failure, ...). */
int kube_client_last_status(const kube_client_t *c);

/* One HTTP request.  Strings are borrowed for the duration of the call. */
typedef struct kube_client_request {
  size_t struct_size;       /* sizeof(kube_client_request_t) */
  const char *method;       /* "GET", "POST", ... */
  const char *path;         /* "/api/v1/namespaces/default/pods" */
  const char *query;        /* "labelSelector=a%3Db&limit=5" (no '?'), or NULL */
  const char *content_type; /* NULL: none (no body) */
  const char *accept;       /* NULL: "application/json" */
  const char *body;         /* may be NULL */
  size_t body_len;
} kube_client_request_t;

/* A response; release with kube_client_response_clear. */
typedef struct kube_client_response {
  int status;           /* HTTP status code */
  char *content_type;   /* owned, may be NULL */
  char *body;           /* owned, NUL-terminated (also when empty) */
  size_t body_len;
} kube_client_response_t;

#define KUBE_CLIENT_RESPONSE_INIT {0}

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

/* Options of the writing helpers; NULL means all defaults. */
typedef struct kube_client_write_options {
  size_t struct_size;          /* sizeof(kube_client_write_options_t) */
  bool dry_run;                /* dryRun=All: validated, not stored */
  const char *field_manager;   /* fieldManager= (NULL: none / "kube" for apply) */
  bool force;                  /* server-side apply: take conflicting fields */
  int64_t grace_period;        /* delete: gracePeriodSeconds, < 0 = unset */
  const char *propagation;     /* delete: "Background" | "Foreground" | "Orphan" */
} kube_client_write_options_t;

/* List options; NULL means no selectors. */
typedef struct kube_client_list_options {
  size_t struct_size;          /* sizeof(kube_client_list_options_t) */
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
int kube_client_watch(kube_client_t *c, const kube_kind_t *kind,
                      const char *ns, const kube_client_list_options_t *opts,
                      kube_client_watch_fn fn, void *userdata,
                      kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* Client-side apply (kubectl apply without --server-side)                   */
/* ------------------------------------------------------------------------ */

#define KUBE_LAST_APPLIED_ANNOTATION                                           \
  "kubectl.kubernetes.io/last-applied-configuration"

typedef enum kube_apply_result {
  KUBE_APPLY_CREATED = 0,  /* the object did not exist and was created */
  KUBE_APPLY_CONFIGURED,   /* a strategic-merge patch changed it */
  KUBE_APPLY_UNCHANGED,    /* nothing to change */
} kube_apply_result_t;

/* Apply `obj` (borrowed) as `kubectl apply` does: record the configuration
 * in the last-applied annotation; create the object when missing, else
 * compute a three-way patch (last-applied, new configuration, live object:
 * fields removed from the configuration are deleted, fields it sets are
 * changed, fields others set are kept) and send it as a strategic merge
 * patch (merge patch for kinds without a strategic schema).  *result tells
 * which happened.  Honours opts->dry_run.  Returns the resulting object
 * (owned; the live object when unchanged). */
kube_object_t *kube_client_apply_client_side(kube_client_t *c,
                                             const kube_object_t *obj,
                                             const kube_client_write_options_t *opts,
                                             kube_apply_result_t *result,
                                             kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* Generators (kubectl run / create deployment / expose ...)                 */
/* ------------------------------------------------------------------------ */

typedef struct kube_generate_options {
  size_t struct_size;          /* sizeof(kube_generate_options_t) */
  const char *name;            /* object name (required) */
  const char *namespace_;      /* NULL: none set (the client's default) */
  const char *image;           /* container image */
  int32_t port;                /* containerPort, 0 = none */
  int32_t replicas;            /* deployments; < 0 = 1 */
  const char *const *labels;   /* "k=v", NULL-terminated; NULL: run=NAME
                                * for pods, app=NAME for deployments */
  const char *const *env;      /* "K=V", NULL-terminated, or NULL */
  const char *const *args;     /* container args, NULL-terminated, or NULL */
  bool command;                /* args are the command, not the args */
  const char *restart_policy;  /* pod: "Always" (default), "OnFailure", "Never" */
  const char *image_pull_policy; /* NULL: server default */
} kube_generate_options_t;

/* A Pod as `kubectl run NAME --image=... --port=...` builds it.  Owned.
 * BadRequest when name or image is missing or a label/env is malformed. */
kube_object_t *kube_generate_pod(const kube_generate_options_t *o,
                                 kube_error_t *err);
/* A Deployment as `kubectl create deployment NAME --image=...`. */
kube_object_t *kube_generate_deployment(const kube_generate_options_t *o,
                                        kube_error_t *err);
/* A Namespace. */
kube_object_t *kube_generate_namespace(const char *name, kube_error_t *err);
/* A Service as `kubectl create service TYPE NAME --tcp=80:8080,...`:
 * `type` "clusterip" | "nodeport" | "loadbalancer" (or the Kubernetes
 * spelling), `tcp` a NULL-terminated list of "port[:targetPort]"; selector
 * app=NAME.  `cluster_ip` may be NULL or "None" (headless). */
kube_object_t *kube_generate_service(const char *name, const char *ns,
                                     const char *type,
                                     const char *const *tcp,
                                     const char *cluster_ip,
                                     kube_error_t *err);

typedef struct kube_expose_options {
  size_t struct_size;          /* sizeof(kube_expose_options_t) */
  const char *name;            /* service name; NULL: the target's name */
  int32_t port;                /* required unless the target declares one */
  const char *target_port;     /* "8080" or a port name; NULL: = port */
  const char *protocol;        /* NULL: "TCP" */
  const char *type;            /* NULL: ClusterIP */
  const char *selector;        /* "a=b,c=d"; NULL: from the target */
} kube_expose_options_t;

/* A Service exposing `target` (borrowed: a Deployment, ReplicaSet,
 * ReplicationController, Pod or Service) as `kubectl expose` builds it:
 * selector from spec.selector.matchLabels (pod: its labels), labels copied
 * from the target, port from the options or the target's first container
 * port.  Owned. */
kube_object_t *kube_generate_expose(const kube_object_t *target,
                                    const kube_expose_options_t *o,
                                    kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* Printing (kubectl's output formats, for CLIs and bindings)                */
/* ------------------------------------------------------------------------ */

enum {
  KUBE_TABLE_WIDE = 1 << 0,        /* show priority > 0 columns (-o wide) */
  KUBE_TABLE_NO_HEADERS = 1 << 1,  /* --no-headers */
  KUBE_TABLE_SHOW_LABELS = 1 << 2, /* add a LABELS column */
  KUBE_TABLE_NAMESPACE = 1 << 3,   /* add a NAMESPACE column first (-A) */
  KUBE_TABLE_KIND_PREFIX = 1 << 4, /* NAME cells as "pod/x" */
};

/* Accumulates the rows of one or more meta.k8s.io/v1 Table objects and
 * renders them as kubectl does: upper-case headers, columns padded to the
 * widest cell plus 3 spaces.  Owned; free with kube_table_printer_free. */
typedef struct kube_table_printer kube_table_printer_t;

kube_table_printer_t *kube_table_printer_new(int flags);
void kube_table_printer_free(kube_table_printer_t *p);
/* Add the rows of `table` (borrowed; a Table object as the server returns
 * it for Accept: application/json;as=Table;v=v1;g=meta.k8s.io).  The first
 * table added fixes the columns.  `kind_prefix` ("pod", "deployment.apps")
 * is used with KUBE_TABLE_KIND_PREFIX.  BadRequest when not a Table. */
int kube_table_printer_add(kube_table_printer_t *p, const kube_object_t *table,
                           const char *kind_prefix, kube_error_t *err);
/* Number of rows added so far. */
size_t kube_table_printer_rows(const kube_table_printer_t *p);
/* Render all rows added (header first unless NO_HEADERS).  Owned string;
 * empty when there are no rows.  NULL on out-of-memory. */
char *kube_table_printer_render(const kube_table_printer_t *p);
/* Render only the rows added since the last call, padded to the widths
 * fixed by the first call (for `get -w`).  Owned string. */
char *kube_table_printer_render_new(kube_table_printer_t *p);

/* Evaluate a kubectl JSONPath template ("{.metadata.name}",
 * "{.items[*].metadata.name}", "{range .items[*]}{.metadata.name}{\"\\n\"}{end}",
 * filters "[?(@.type==\"Ready\")]") against obj (borrowed).  Owned
 * string; BadRequest on a syntax error.  Missing fields print nothing, as
 * with `kubectl get -o jsonpath`. */
char *kube_jsonpath_eval(const kube_object_t *obj, const char *tmpl,
                         kube_error_t *err);

#ifdef __cplusplus
}
#endif
#endif /* LIBKUBE_CLIENT_H */
