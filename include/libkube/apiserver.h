/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libkube apiserver: the Kubernetes REST API over HTTP/1.1 (unix socket and
 * TCP) on one kube_loop_t, backed by a kube_store_t.
 *
 * Served: discovery (/version, /api, /apis, /api/v1, /apis/<g>/<v>, and
 * aggregated discovery), /openapi/v2, /healthz, /livez, /readyz; for every
 * kind of the kinds table create, get, list, watch, update, patch, delete
 * and deletecollection; subresources status, scale, binding; Table output;
 * Status errors.  Write bodies are checked against the
 * kind's schema (types, int32 ranges; unknown and duplicate fields are
 * dropped and reported as the `fieldValidation` query parameter asks:
 * Strict fails the request, Warn, the default, answers with `Warning`
 * headers, Ignore says nothing).
 *
 * apiextensions.k8s.io/v1 CustomResourceDefinitions add kinds at run time,
 * to this server only (two servers in one process keep their own): their
 * objects are validated against the definition's structural schema,
 * pruned and defaulted, printed with its additionalPrinterColumns, and
 * served with the status and scale subresources and every version the
 * definition serves (conversion strategy None).  Definitions are read back
 * from the store when the server starts; deleting one deletes its objects
 * first.
 *
 * A pod's log, exec, attach and portforward go to the node it is bound
 * to: a node agent in the same process (kube_apiserver_add_node) or the
 * node's kubelet port over HTTPS.
 *
 * Transport: HTTP/1.1 through <libkube/http.h> (its limits and timeouts
 * apply; every refusal is a Status).  TCP listeners speak TLS when a
 * certificate and key are configured (plain HTTP otherwise; kubectl and
 * client-go send bearer tokens only over TLS) and require the bearer token
 * given in the options (401 Status otherwise); a unix socket listener
 * (mode 0600) trusts its peers and speaks plain HTTP.
 *
 * Extension points: components register handlers for non-API path
 * prefixes (/ui/, /metrics), for an API group/version served elsewhere
 * (metrics.k8s.io, listed in discovery) and for subresources (pods/exec,
 * pods/log, nodes/proxy, ...).  Authentication runs before any of them and
 * hands them the authenticated user.
 *
 * Threading: everything runs on the loop given to kube_apiserver_new
 * and every function must be called from that loop's thread; callbacks run
 * on it too.
 */
#ifndef LIBKUBE_APISERVER_H
#define LIBKUBE_APISERVER_H

#include <libkube/api.h>
#include <libkube/core.h>
#include <libkube/http.h>
#include <libkube/store.h>

#ifdef __cplusplus
extern "C" {
#endif


typedef struct kube_apiserver kube_apiserver_t;

typedef struct kube_apiserver_options {
  size_t struct_size; /* sizeof(kube_apiserver_options_t) */
  /* Bearer token TCP listeners require (copied).  NULL: TCP listeners
   * accept every request (only sensible in tests on loopback). */
  const char *token;
  /* Largest request body accepted; larger ones get 413.  0: 3 MiB. */
  size_t max_body_bytes;
  /* Create namespaces default, kube-system, kube-public and the
   * `kubernetes` Service when missing (asynchronously; /readyz answers 503
   * until done). */
  bool bootstrap;
  /* Address reported in discovery and in the kubernetes Service's
   * endpoints.  NULL: "127.0.0.1". */
  const char *advertise_address;
  int advertise_port; /* 0: 6443 */
  /* PEM files of the serving certificate (chain) and its key.  Both set:
   * TCP listeners speak TLS.  Both NULL: plain HTTP. */
  const char *tls_cert_file;
  const char *tls_key_file;
  /* PEM CA bundle for client certificates on the TLS listeners (as
   * kube-apiserver's --client-ca-file): a certificate verified against it
   * authenticates its subject CN as the user and its O values as groups.
   * NULL: client certificates are not asked for. */
  const char *tls_client_ca_file;
  /* HTTP limits and timeouts (see kube_http_server_options_t); NULL: the
   * defaults.  Its max_body_bytes and error_body are ignored (the API
   * server's own apply). */
  const kube_http_server_options_t *http;
  /* Pods' log/exec/attach/portforward on nodes in other processes are
   * proxied to https://<Node InternalIP>:<daemonEndpoints.kubeletEndpoint
   * .Port> (kube-apiserver's --kubelet-client-certificate, --kubelet-
   * client-key, --kubelet-certificate-authority): the client certificate
   * and key to present (PEM files, both or neither) and the CA the
   * kubelet's serving certificate must chain to (NULL: the cluster CA,
   * tls_client_ca_file, which signs kubelet serving certificates; with
   * neither, not verified, as kube-apiserver without
   * --kubelet-certificate-authority, and a warning is logged once). */
  const char *kubelet_client_cert_file;
  const char *kubelet_client_key_file;
  const char *kubelet_ca_file;
  /* Slow watchers.  A watch stream with more than watch_max_backlog_bytes
   * queued and unsent (0: 64 MiB) is ended; and when the watch streams of
   * this server together hold more than watch_budget_bytes (0: 256 MiB),
   * the ones furthest behind are ended until they fit.  Their client sees
   * the stream end and watches again (re-listing when the revision is
   * gone), as with kube-apiserver's watch cache; the queued bytes are
   * dropped with the connection and the memory returned to the system. */
  size_t watch_budget_bytes;
  size_t watch_max_backlog_bytes;
  /* --- who may do what (authn.c, authz.c) ---
   * Authorization (Node, then RBAC; system:masters always allowed)
   * applies when a token, a token file or a client CA is configured,
   * unless always_allow is set. */
  bool always_allow;
  /* kube-apiserver's --token-auth-file: CSV lines
   * token,user,uid[,"group1,group2"] (read once; copied). */
  const char *token_auth_file;
  /* The cluster CA (PEM certificate and key files, as kube-controller-
   * manager's --cluster-signing-cert-file/--cluster-signing-key-file):
   * signs approved CertificateSigningRequests of the kubelet-client and
   * kube-apiserver-client signers.  NULL: CSRs are never signed. */
  const char *ca_cert_file;
  const char *ca_key_file;
  /* kube-controller-manager's --cluster-signing-duration: how long the
   * certificates it signs last, in seconds (a request's shorter
   * spec.expirationSeconds, at least 600, wins).  0: one year (8760h). */
  int64_t cluster_signing_duration_s;
  /* A bootstrap token "abcdef.0123456789abcdef" kept as the Secret
   * kube-system/bootstrap-token-abcdef at bootstrap (created when
   * missing): it authenticates as system:bootstrap:abcdef in
   * system:bootstrappers, which may ask for a node client certificate. */
  const char *join_token;
  /* JSON lines audit log of write requests (audit.k8s.io/v1 Events, level
   * Metadata), created 0600; rotated to FILE.1 past audit_log_max_bytes
   * (0: 100 MiB). */
  const char *audit_log;
  size_t audit_log_max_bytes;
  /* --- the cluster's address plan (kube-apiserver's flags) ---
   * Services' cluster IPs come from service_cidr (--service-cidr; NULL:
   * "10.96.0.0/12"; the `kubernetes` Service gets its first address) and
   * node ports from service_node_port_range (--service-node-port-range;
   * NULL: "30000-32767").  BadRequest when malformed. */
  const char *service_cidr;
  const char *service_node_port_range;
} kube_apiserver_options_t;

/* Create a server on `loop` (borrowed) over `store` (borrowed; both must
 * outlive the server).  `opts` may be NULL for defaults.  Returns an owned
 * server (free with kube_apiserver_free) or NULL with err set. */
kube_apiserver_t *kube_apiserver_new(kube_loop_t *loop,
                                     kube_store_t *store,
                                     const kube_apiserver_options_t *opts,
                                     kube_error_t *err);

/* Listen on "unix:/path/to.sock" (created with mode 0600; a stale socket
 * file is replaced) or "tcp:ADDR:PORT" ("tcp:127.0.0.1:6443",
 * "tcp:[::1]:0").  Port 0 picks a free port: see kube_apiserver_port().
 * Returns 0 or -1 with err set. */
int kube_apiserver_listen(kube_apiserver_t *srv, const char *spec,
                          kube_error_t *err);

/* The port of the first TCP listener (useful after "tcp:...:0"), or -1. */
int kube_apiserver_port(const kube_apiserver_t *srv);

/* True when TCP listeners speak TLS. */
bool kube_apiserver_tls(const kube_apiserver_t *srv);

/* Generate a self-signed serving certificate (EC P-256, valid 10 years,
 * CA:TRUE so clients can trust it directly) for localhost, 127.0.0.1,
 * ::1 and the kubernetes, kubernetes.default, kubernetes.default.svc
 * names, plus `extra_san` (OpenSSL syntax, "IP:10.96.0.1,DNS:kubernetes.
 * default.svc.cluster.local,IP:10.0.0.5"; the cluster's own names).  NULL:
 * those of the default cluster (10.96.0.1, cluster.local).  Writes PEM
 * files: the key with mode 0600.  Returns 0 or -1 with err set. */
int kube_apiserver_generate_cert(const char *cert_path, const char *key_path,
                                 const char *extra_san, kube_error_t *err);

/* ---- the cluster CA ---- */

/* Create a CA (EC P-256, CN libkube-ca, 10 years) at cert_path and
 * key_path (mode 0600) unless both exist.  0 or -1 with err. */
int kube_apiserver_ca_ensure(const char *cert_path, const char *key_path,
                             kube_error_t *err);

/* Like kube_apiserver_generate_cert, signed by the CA in ca_cert_path /
 * ca_key_path (not a CA itself); both NULL: self-signed.  0 or -1. */
int kube_apiserver_generate_cert_signed(const char *cert_path,
                                        const char *key_path,
                                        const char *ca_cert_path,
                                        const char *ca_key_path,
                                        const char *extra_san,
                                        kube_error_t *err);

/* A client certificate signed by the CA: subject CN `user`, one O per
 * entry of `groups` (NULL-terminated, may be NULL), valid `days` (<= 0:
 * 365).  *cert_pem and *key_pem are owned PEM strings (free()).  0 or -1
 * with err (BadRequest: no user; the CA's files' errors). */
int kube_apiserver_sign_client_cert(const char *ca_cert_path,
                                    const char *ca_key_path, const char *user,
                                    const char *const *groups, int days,
                                    char **cert_pem, char **key_pem,
                                    kube_error_t *err);

/* Write a kubeconfig (mode 0600, atomically) for `user` in `groups` with
 * a new client certificate signed by the CA (kube_apiserver_sign_client_
 * cert), trusting that CA for the cluster `server`; its user entry is
 * named `user`, its context "libkube" (namespace default).  0 or -1. */
int kube_apiserver_write_user_kubeconfig(const char *path, const char *server,
                                         const char *ca_cert_path,
                                         const char *ca_key_path,
                                         const char *user,
                                         const char *const *groups, int days,
                                         kube_error_t *err);

/* The PEM text of a CA certificate file (owned; free()).  0 or -1. */
int kube_apiserver_ca_data(const char *ca_cert_path, char **pem,
                           kube_error_t *err);

/* Write a kubeconfig (mode 0600, atomically) with one cluster `server`
 * ("https://127.0.0.1:6443"), trusting the PEM certificate in `ca_file`
 * (may be NULL), one user with bearer `token`, and context "libkube"
 * (namespace default).  Returns 0 or -1 with err set. */
int kube_apiserver_write_kubeconfig(const char *path, const char *server,
                                    const char *ca_file, const char *token,
                                    kube_error_t *err);

/* True once bootstrap (if requested) has finished. */
bool kube_apiserver_ready(const kube_apiserver_t *srv);

/* Called once when a shutdown has drained. */
typedef void (*kube_apiserver_done_cb)(kube_apiserver_t *srv, void *arg);

/* Stop accepting connections, end every watch stream, and call `done`
 * (may be NULL) from the loop once no request is in flight any more (its
 * store write finished and its reply was sent).  The server stays valid
 * until kube_apiserver_free. */
void kube_apiserver_shutdown(kube_apiserver_t *srv, kube_apiserver_done_cb done,
                             void *arg);

/* Close listeners and connections and release everything.  Replies still
 * pending are dropped; a request whose store write is still queued keeps a
 * little memory until that write's callback runs, so close the store
 * afterwards (kube_store_close finishes queued writes), never before.
 * Does not close the store.  Accepts NULL. */
void kube_apiserver_free(kube_apiserver_t *srv);

/* Refuse every write through the API (POST, PUT, PATCH, DELETE of API
 * resources) with 503 ServiceUnavailable, `reason` (copied) as its
 * message and Retry-After: 5, while reads and watches go on (a store
 * being migrated).  NULL: writable again.  Writes already admitted
 * still finish.  0 or -1 with err (out of memory). */
int kube_apiserver_set_read_only(kube_apiserver_t *srv, const char *reason,
                                 kube_error_t *err);

/* ---- extension handlers ---- */

/* Who sent a request, as authentication found it (after impersonation):
 * the admin bearer token's user is "admin" in group "system:masters";
 * unix socket peers are "system:admin" (system:masters); in-process calls
 * "system:apiserver" (system:masters); a client certificate verified
 * against tls_client_ca_file is its subject CN in its O groups; a
 * token_auth_file line its user and groups; a bootstrap token
 * "system:bootstrap:ID" (system:bootstrappers); a ServiceAccount token
 * "system:serviceaccount:NS:NAME" (system:serviceaccounts,
 * system:serviceaccounts:NS); requests without credentials (health
 * probes, TCP with no token configured) "system:anonymous"
 * (system:unauthenticated).  Authenticated users are also in
 * "system:authenticated". */
typedef struct kube_apiserver_user {
  const char *name;
  const char *const *groups; /* NULL-terminated */
} kube_apiserver_user_t;

/* What an extension handler gets.  Everything is borrowed for the call,
 * except `request`, which is stolen: the handler finishes it (reply,
 * stream, upgrade, hijack or kube_http_proxy; see <libkube/http.h>). */
typedef struct kube_apiserver_handler_ctx {
  size_t struct_size; /* sizeof(kube_apiserver_handler_ctx_t) */
  kube_http_request_t *request;
  const kube_apiserver_user_t *user;
  /* Subresource handlers: the parsed route; NULL otherwise (namespace
   * NULL for a cluster-scoped resource too). */
  const char *group; /* "" for the core group */
  const char *version;
  const char *resource;
  const char *namespace_;
  const char *name;
  const char *subresource;
} kube_apiserver_handler_ctx_t;

typedef void (*kube_apiserver_handler_fn)(
    const kube_apiserver_handler_ctx_t *ctx, void *arg);

/* Serve every non-API path that starts with `prefix` ("/ui/", "/metrics")
 * with fn, after authentication; the longest prefix wins over the
 * server's own non-API paths too.  Paths under /api and /apis are refused
 * (EINVAL): use the two functions below.  Registering a prefix again
 * replaces it.  0 or -1 with err.  In-process requests
 * (kube_apiserver_request) reach these handlers too; upgrade and hijack
 * fail for them. */
int kube_apiserver_handle_path(kube_apiserver_t *srv, const char *prefix,
                               kube_apiserver_handler_fn fn, void *arg,
                               kube_error_t *err);

/* Like kube_apiserver_handle_path, for what anyone may fetch (a web UI's
 * static files and its login exchange): a request without credentials
 * reaches fn as "system:anonymous" (no 401), and no authorization runs
 * (fn decides what each user may do).  A request that presents
 * credentials is still authenticated first (an unknown bearer token is a
 * 401) and fn gets its user.  Registering the prefix again (with either
 * function) replaces it.  0 or -1 with err. */
int kube_apiserver_handle_public_path(kube_apiserver_t *srv,
                                      const char *prefix,
                                      kube_apiserver_handler_fn fn, void *arg,
                                      kube_error_t *err);

/* Serve /apis/<group>/<version>/... with fn, as an aggregated API would
 * be (metrics.k8s.io/v1beta1).  The group-version is listed in discovery
 * (/apis, aggregated discovery), /apis/<group> is answered by the server,
 * and /apis/<group>/<version> too when `resources_json` is given: the
 * JSON array of its APIResource entries ([{"name":"pods","singularName":
 * "","namespaced":true,"kind":"PodMetrics","verbs":["get","list"]}]),
 * copied.  Everything below goes to fn.  The group must not be one the
 * server serves itself.  0 or -1 with err. */
int kube_apiserver_handle_group_version(kube_apiserver_t *srv,
                                        const char *group, const char *version,
                                        const char *resources_json,
                                        kube_apiserver_handler_fn fn, void *arg,
                                        kube_error_t *err);

/* Serve subresource `sub` of `resource` in `group` ("" for core):
 * ("", "pods", "exec"), ("", "pods", "log"), ("", "nodes", "proxy").  fn
 * gets the parsed namespace and name, for every version and method;
 * "proxy" also matches deeper paths (nodes/N/proxy/stats/summary).  It
 * replaces the server's own handling of that subresource.  0 or -1 with
 * err. */
int kube_apiserver_handle_subresource(kube_apiserver_t *srv, const char *group,
                                      const char *resource, const char *sub,
                                      kube_apiserver_handler_fn fn, void *arg,
                                      kube_error_t *err);

/* ---- admission ---- */

/* Writes pass an admission chain after they are decoded and defaulted and
 * before they are stored, as in kube-apiserver: first every mutating
 * function (which may change the object), then the object's validation,
 * then every validating function; the first denial ends the request.
 * Built in, in this order: LimitRanger (mutating: a namespace's
 * LimitRange defaults), then your mutating functions; PodSecurity (the
 * namespace's pod-security.kubernetes.io/enforce|warn labels),
 * LimitRanger (min/max), your validating functions, ResourceQuota (last,
 * so a denied request is never counted).  Deletes do not pass it. */
typedef enum kube_apiserver_admission_op {
  KUBE_ADMISSION_CREATE = 1 << 0,
  KUBE_ADMISSION_UPDATE = 1 << 1,
} kube_apiserver_admission_op_t;

/* What an admission function sees.  Everything is borrowed for the call. */
typedef struct kube_apiserver_admission_attrs {
  size_t struct_size; /* sizeof(kube_apiserver_admission_attrs_t) */
  kube_apiserver_admission_op_t operation;
  const char *group; /* "" for the core group */
  const char *version;
  const char *resource;    /* "pods" */
  const char *subresource; /* "status", ...; NULL for the object itself */
  const char *kind;        /* "Pod" */
  const char *namespace_;  /* NULL for cluster-scoped kinds */
  const char *name;
  /* The object as it will be stored.  A mutating function may change it
   * (kube_object_set_*); a validating one must not. */
  kube_object_t *object;
  const kube_object_t *old_object; /* the stored object on update, or NULL */
  const kube_apiserver_user_t *user; /* who asked; NULL when unknown */
  bool dry_run; /* nothing will be stored: do not count or record it */
  void *internal; /* the server's; for kube_apiserver_admission_warn */
} kube_apiserver_admission_attrs_t;

/* Admit (return 0) or deny (return -1 with err set: its reason, Forbidden
 * when unset, and its message become the Status the client gets, e.g.
 * kube_error_set(err, KUBE_REASON_FORBIDDEN, 0, "pods \"%s\" is forbidden:
 * %s", name, why)). */
typedef int (*kube_apiserver_admission_fn)(
    const kube_apiserver_admission_attrs_t *attrs, void *arg,
    kube_error_t *err);

typedef struct kube_apiserver_admission {
  size_t struct_size; /* sizeof(kube_apiserver_admission_t) */
  const char *name;   /* for logs (copied) */
  bool mutating;      /* runs in the mutating phase */
  unsigned operations; /* KUBE_ADMISSION_* mask; 0: every operation */
  /* NULL-terminated resources it applies to, "pods" or "deployments.apps"
   * (copied); NULL: every resource.  Subresources reach it only when
   * listed as "pods/status". */
  const char *const *resources;
  kube_apiserver_admission_fn fn;
  void *arg;
} kube_apiserver_admission_t;

/* Add an admission function (its phase's functions run in the order they
 * were added, after the built-in ones of the same phase; ResourceQuota
 * stays last).  0 or -1 with err (BadRequest without fn or name). */
int kube_apiserver_add_admission(kube_apiserver_t *srv,
                                 const kube_apiserver_admission_t *adm,
                                 kube_error_t *err);

/* Add a warning to the request's response (a `Warning: 299 - "..."`
 * header, which kubectl prints as "Warning: ...").  Only inside an
 * admission function, with its attrs. */
KUBE_PRINTF(2, 3)
void kube_apiserver_admission_warn(const kube_apiserver_admission_attrs_t *attrs,
                                   const char *fmt, ...);

/* ---- pods' streaming subresources and the nodes that serve them ---- */

/* Serves pods/<subresource> ("log", "exec", "attach", "portforward") of
 * a pod bound to a node of this process.  `req` is stolen (the handler
 * answers, streams, upgrades or proxies it); the strings are borrowed for
 * the call.  `container` is the container the API server resolved (the
 * query's `container`, or the pod's only container), NULL for
 * portforward.  The options are the request's query.  The node module's
 * kube_node_stream_serve_pod has this signature. */
typedef void (*kube_apiserver_node_fn)(kube_http_request_t *req,
                                       const char *subresource,
                                       const char *namespace_, const char *pod,
                                       const char *container, void *arg);

/* The pods of node `node` are served in this process by fn: their
 * log/exec/attach/portforward requests go to fn directly (after the API
 * server checked the pod, its node and the container as kube-apiserver
 * does) instead of over HTTPS to the node's kubelet port.  Registering a
 * node again replaces its handler.  0 or -1 with err. */
int kube_apiserver_add_node(kube_apiserver_t *srv, const char *node,
                            kube_apiserver_node_fn fn, void *arg,
                            kube_error_t *err);
/* Forget a node registered above (requests then go over HTTPS). */
void kube_apiserver_remove_node(kube_apiserver_t *srv, const char *node);

/* The kubelet Summary API document (/stats/summary JSON) of a node, owned
 * into *json_out; -1 with err when there is none (yet).  The node
 * module's kube_node_agent_stats_summary does this for an agent. */
typedef int (*kube_apiserver_summary_fn)(void *arg, char **json_out,
                                         kube_error_t *err);
/* Serve metrics.k8s.io/v1beta1 (NodeMetrics, PodMetrics: get and list,
 * label selectors, as metrics-server) from the summaries of the nodes
 * added here: the group is registered with the first source.  Each
 * request reads every source's summary (fn runs on the loop, so it must
 * not block).  Registering a node again replaces it.  0 or -1 with err. */
int kube_apiserver_add_metrics_source(kube_apiserver_t *srv, const char *node,
                                      kube_apiserver_summary_fn fn, void *arg,
                                      kube_error_t *err);
void kube_apiserver_remove_metrics_source(kube_apiserver_t *srv,
                                          const char *node);

/* Append the server's figures in Prometheus text format to out:
 * apiserver_request_total{verb,group,resource,subresource,code},
 * apiserver_request_duration_seconds (histogram; watches excluded),
 * apiserver_registered_watchers{group,resource},
 * apiserver_current_inflight_requests.  0, or -1 when out ran out of
 * memory.  Serve them with kube_apiserver_handle_path(srv, "/metrics").
 * Loop thread. */
int kube_apiserver_metrics_write(kube_apiserver_t *srv, kube_strbuf_t *out);

/* The HTTP server under the API server (borrowed), e.g. to read its
 * listeners' connection counts. */
kube_http_server_t *kube_apiserver_http(kube_apiserver_t *srv);

/* ---- in-process requests ---- */

/* One request, as an HTTP client would send it.  Strings are borrowed for
 * the duration of kube_apiserver_request() only (they are copied). */
typedef struct kube_apiserver_request {
  size_t struct_size;       /* sizeof(kube_apiserver_request_t) */
  const char *method;       /* "GET", "POST", "PUT", "PATCH", "DELETE" */
  const char *path;         /* "/api/v1/namespaces/default/pods?watch=1" */
  const char *content_type; /* of the body; NULL: application/json */
  const char *accept;       /* NULL: application/json */
  const char *body;         /* may be NULL */
  size_t body_len;
  /* Optional, for watches: events whose object the write left at hand
   * come here instead of as lines to the reply callback (see
   * kube_transport_event_cb in <libkube/kit.h>, same signature): `obj`
   * has no metadata.managedFields, is shared and must not change. */
  void (*event_cb)(const char *type, const kube_object_t *obj,
                   const char *line, size_t len, void *arg);
  /* The caller's User-Agent, as an HTTP client sends it; may be NULL.  Its
   * first path segment names the managedFields manager of a write without
   * ?fieldManager ("kube-scheduler/v1.32.0 ..." -> "kube-scheduler"). */
  const char *user_agent;
} kube_apiserver_request_t;

typedef struct kube_apiserver_call kube_apiserver_call_t;

/* Receives the response.  For a plain reply it runs once with done = true
 * and the whole body.  For a streamed reply (watch) it runs once per chunk
 * with done = false (the first call carries status and content type) and a
 * last time with done = true and len 0.  `content_type` and `data` are
 * borrowed for the call.  After the done call the call handle is gone. */
typedef void (*kube_apiserver_reply_cb)(int status, const char *content_type,
                                        const char *data, size_t len, bool done,
                                        void *arg);

/* Serve one request in-process, as if it came over the unix socket (no
 * token needed; the body limit applies: 413).  The callback never runs
 * inside this call.  Returns a
 * handle (borrowed; valid until the done callback ran or the call was
 * cancelled) or NULL with err set. */
kube_apiserver_call_t *kube_apiserver_request(
    kube_apiserver_t *srv, const kube_apiserver_request_t *req,
    kube_apiserver_reply_cb cb, void *arg, kube_error_t *err);

/* Stop delivering a call's reply (e.g. end a watch).  The callback does
 * not run again, not even with done = true.  Safe inside the call's own
 * callback.  A write already queued still completes (its reply is
 * dropped).  The handle must not be used afterwards.  Accepts NULL. */
void kube_apiserver_call_cancel(kube_apiserver_call_t *call);

/* ---- in-process transport ---- */

struct kube_transport;

/* Fill *out with the in-process kube_transport_t of `srv` (declared in
 * <libkube/kit.h>): requests go to kube_apiserver_request() and cancels
 * to kube_apiserver_call_cancel().  `srv` is borrowed and must outlive
 * every user of the transport. */
void kube_apiserver_transport(kube_apiserver_t *srv,
                              struct kube_transport *out);

#ifdef __cplusplus
}
#endif
#endif /* LIBKUBE_APISERVER_H */
