/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared inside the apiserver module only. */
#ifndef KUBE_APISERVER_INTERNAL_H
#define KUBE_APISERVER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <json-c/json.h>

#include <libkube/apiserver.h>
#include <libkube/http.h>
#include <libkube/store.h>

#include "api/api-private.h"
#include "api/schema.h"
#include "core/metrics.h"
#include "core/util.h"

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)                             \
  for ((var) = TAILQ_FIRST((head));                                            \
       (var) && ((tvar) = TAILQ_NEXT((var), field), 1); (var) = (tvar))
#endif

/* Whether kind k serves subresource `sub` ("status", "scale", ...). */
static inline bool kind_has_sub(const kube_kind_t *k, const char *sub) {
  for (size_t i = 0; k->subresources && k->subresources[i]; i++)
    if (streq(k->subresources[i], sub))
      return true;
  return false;
}

/* A watcher this far behind is cut off (it re-lists, as with
 * kube-apiserver's slow-watcher handling); all of them together may hold
 * WATCH_BUDGET (defaults of the options of the same names). */
#define WATCH_MAX_BACKLOG ((size_t)64 * 1024 * 1024)
#define WATCH_BUDGET ((size_t)256 * 1024 * 1024)
#define DEFAULT_MAX_BODY (3u * 1024 * 1024)
#define KUBE_SERVER_MINOR "32"

struct req;
struct watcher;
struct hub;

/* How a reply leaves the server: the HTTP connection or the in-process
 * callback. */
struct transport {
  void (*reply)(struct req *r, int code, const char *ctype, const char *body,
                size_t len);
  void (*stream_start)(struct req *r, int code, const char *ctype);
  void (*stream_chunk)(struct req *r, const char *data, size_t len);
  void (*stream_end)(struct req *r);
  /* Optional: end a stream at once, dropping what is queued (a slow
   * watcher); stream_end when absent. */
  void (*stream_drop)(struct req *r);
  void (*release)(struct req *r);   /* transport-specific cleanup */
  size_t (*backlog)(struct req *r); /* bytes queued to the peer, unsent */
  /* Optional: like reply, but takes `body` (malloc'ed) to avoid a copy. */
  void (*reply_take)(struct req *r, int code, const char *ctype, char *body,
                     size_t len);
  /* Optional: a watch event as an object (shared, never changed) with its
   * line, in place of stream_chunk(line); wants_events says whether the
   * receiver takes them (an in-process caller that gave an event_cb). */
  bool (*wants_events)(struct req *r);
  void (*stream_event)(struct req *r, const char *type, json_object *obj,
                       const char *line, size_t len);
};

enum method { M_GET, M_POST, M_PUT, M_PATCH, M_DELETE, M_HEAD, M_OTHER };

/* A parsed request path. */
struct route {
  bool is_api; /* /api/... or /apis/... */
  char *group; /* "" for core */
  char *version;
  char *ns; /* NULL when not namespaced */
  char *resource;
  char *name;
  char *sub;               /* subresource or NULL */
  bool legacy_watch;       /* /api/v1/watch/... */
  const kube_kind_t *kind; /* resolved, or NULL */
  int depth;               /* segments after /api or /apis */
};

struct req {
  kube_apiserver_t *srv;
  const struct transport *tp;
  void *tp_ctx; /* in-process call, or NULL */
  /* The HTTP request (network or in-process): query, headers, body.
   * Owned until a reply finishes it or it is handed to an extension. */
  kube_http_request_t *hreq;
  /* An in-process request handed to an extension handler (borrowed). */
  kube_http_request_t *ext_local;
  const kube_apiserver_user_t *user; /* authenticated; static or &own_user */
  kube_apiserver_user_t own_user;    /* from a client certificate */
  char **own_groups;
  enum method method;
  char *method_str;
  char *path; /* decoded path without query */
  char *content_type;
  char *accept;
  char *user_agent;
  /* For the audit log, which is written after hreq went with the reply:
   * the raw target as sent (path and query) and the client's address. */
  char *request_uri;
  char *peer;
  const char *body; /* borrowed from hreq */
  size_t body_len;
  /* as_decode_body parsed the body as JSON and no object in it repeats a
   * key: as_check_fields has no duplicate fields to look for. */
  bool body_keys_unique;
  struct route rt;
  bool streaming;
  bool started;          /* dispatched (may have a store write queued) */
  bool done;             /* reply sent / stream ended */
  struct watcher *watch; /* when serving a watch */
  /* Turns the written object into the reply (subresources); takes the
   * reference it is given and returns an owned one. */
  json_object *(*reply_transform)(struct req *r, json_object *obj);
  /* A registry's own edit of the stored object (a binding sets
   * spec.nodeName and the PodScheduled condition), written as
   * kube-apiserver's BindingREST writes it, through its storage's
   * GuaranteedUpdate: no field check, defaulting, object validation or
   * managedFields entry (those apply to the Binding, not the pod). */
  bool storage_edit;
  /* The tree written goes to nobody after the write (reply_transform
   * drops it: a binding's reply is a Status, its pod tree the handler's
   * own): the in-process watchers take it uncopied (watch-trees.c). */
  bool write_tree_ours;
  /* Store-level conflicts retried so far (PUT/PATCH: see as_redispatch). */
  int conflict_retries;
  /* An eviction took its disruption budget: the retried request (a store
   * conflict on the pod's delete) only deletes. */
  bool evict_taken;
  /* An eviction's delete of its pod is in flight: a conflict serves the
   * request again, as for DELETE. */
  bool evict_deleting;
  /* Warning header values ("299 - \"unknown field \\\"x\\\"\""), sent with
   * the reply (as_req_warn). */
  char **warnings;
  size_t n_warnings;
  /* Authorization ran (a retried update does not run it again). */
  bool authorized;
  int code; /* the reply's status code, once sent (audit) */
  TAILQ_ENTRY(req) link; /* srv->inflight */
  int64_t start_ns;
};

/* metrics.c */
void as_metrics_observe(kube_apiserver_t *srv, const struct req *r);
void as_metrics_free(kube_apiserver_t *srv);
TAILQ_HEAD(req_list, req);

struct listener {
  kube_http_listener_t *l; /* NULL once we stopped accepting */
  int port;
  struct listener *next;
};

struct as_ext;  /* extensions.c */
struct as_auth; /* authz.h */

struct kube_apiserver {
  /* /metrics (metrics.c): per verb/resource/subresource/code counts and
   * per verb/resource latency. */
  core_family_t m_requests, m_latency;
  struct event_base *base;
  kube_loop_t *loop; /* borrowed: the loop base belongs to */
  kube_store_t *store;
  char *token;
  size_t max_body;
  size_t watch_budget, watch_max_backlog;
  char *advertise_address;
  int advertise_port;
  kube_http_server_t *http;
  struct listener *listeners;
  struct as_ext *exts;
  struct req_list inflight;
  struct hub *hubs;
  bool ready;
  bool shutting_down;
  int bootstrap_pending;
  int icreates_pending; /* internal creates the store has not answered */
  bool zombie; /* freed by the owner, waiting for writes */
  kube_apiserver_done_cb done_cb;
  void *done_arg;
  struct event *drain_ev;
  struct event *bookmark_ev;
  struct ns_cleanup *ns_cleanups;
  uint32_t next_ip_offset; /* service IP allocator cursor */
  uint32_t next_node_port; /* node port allocator cursor */
  char *service_cidr;      /* "10.96.0.0/12" */
  uint32_t svc_net;        /* its network, host order */
  int svc_bits;            /* its prefix length */
  int node_port_min, node_port_max;
  char *tls_cert, *tls_key; /* TCP listeners speak TLS when set */
  char *tls_client_ca;       /* client certificates verified against it */
  /* The last namespace found active, at its record's revision: creates
   * in it need no parse of the namespace while it is unchanged. */
  char ns_active[64];
  int64_t ns_active_rev;
  /* The PodSecurity enforce/warn labels of the last namespace a pod was
   * admitted in, at its record's revision (admission-podsecurity.c). */
  struct {
    char ns[64];
    int64_t rev;
    int enforce, warn;
    char enforce_text[80], warn_text[80];
  } psa_ns;
  char *openapi; /* cached /openapi/v2 document (JSON) */
  size_t openapi_len;
  char *openapi_pb; /* cached /openapi/v2 document (protobuf) */
  size_t openapi_pb_len;
  uint64_t openapi_gen; /* as_crds_generation() the caches were built at */
  /* cached /openapi/v3 documents: "apis/apps/v1" -> {"doc": text,
   * "hash": hex} (openapi-v3.c) */
  json_object *openapi_v3;
  struct as_crds *crds; /* CustomResourceDefinitions (crd-registry.c) */
  struct as_node *nodes; /* nodes served in this process (pod-stream.c) */
  /* Summary API sources of metrics.k8s.io (metrics-api.c) */
  struct as_metrics_source *metrics_sources;
  bool metrics_served; /* the group-version handler is registered */
  struct as_scrape *scrape; /* other nodes' summaries (metrics-scrape.c) */
  struct as_avail *avail; /* APIService availability (aggregator-available.c) */
  char *kubelet_cert, *kubelet_key, *kubelet_ca; /* to reach kubelets */
  bool kubelet_unverified_warned; /* as_kubelet_ca() gave none, logged */
  char *read_only; /* why writes are refused (503), or NULL */
  struct as_admission *admissions;          /* the chain (admission.c) */
  struct as_quota_pending *quota_pending; /* admitted, not stored yet */
  struct as_auth *auth; /* authentication and authorization (authz.h) */
  struct as_recent *recent; /* trees of pods just created (recent.c) */
  /* trees writes left for in-process watchers (watch-trees.c) */
  struct as_watch_trees *watch_trees;
  /* The user of the request being dispatched, for kind hooks that stamp
   * it (CSR); valid only during the handler's synchronous part. */
  const kube_apiserver_user_t *req_user;
};

/* ---- pod-stream.c ---- */
/* A Node's InternalIP (else ExternalIP) address, borrowed from node; or
 * NULL. */
const char *as_node_address(json_object *node);
/* Its status.daemonEndpoints.kubeletEndpoint.Port, 0 when unset. */
int as_node_kubelet_port(json_object *node);
/* The CA kubelets' serving certificates are verified against: the
 * kubelet CA (--kubelet-certificate-authority), else the cluster CA,
 * which signs kubelet serving certificates (agents get theirs by CSR at
 * join); NULL when the server has neither (an embedder that gives no
 * CA). */
const char *as_kubelet_ca(const kube_apiserver_t *srv);

/* ---- metrics-api.c, metrics-scrape.c ---- */
/* Register metrics.k8s.io/v1beta1 (once).  0, or -1 with err. */
int as_metrics_serve(kube_apiserver_t *srv, kube_error_t *err);
/* Whether node `name` is a metrics source of this process. */
bool as_metrics_source_exists(kube_apiserver_t *srv, const char *name);
/* Scrape the kubelets of the other nodes on `loop` (nothing without a
 * kubelet client certificate and a CA); as_scrape_free waits for the
 * requests in flight. */
void as_scrape_start(kube_apiserver_t *srv, kube_loop_t *loop);
void as_scrape_free(kube_apiserver_t *srv);
/* Add a reference to each scraped node's last summary to array `all`. */
void as_scrape_add_docs(kube_apiserver_t *srv, json_object *all);

/* ---- server.c ---- */
void as_req_finish(struct req *r);
const char *as_req_query(const struct req *r, const char *key);
bool as_req_query_bool(const struct req *r, const char *key);
void as_server_check_drained(kube_apiserver_t *srv);
void as_server_maybe_release(kube_apiserver_t *srv);

/* ---- admission.c ---- */
/* Run the mutating (or validating) functions that apply to a write of
 * obj (old: the stored object on update, else NULL).  0, or -1 with err
 * (a denial: Forbidden unless the function chose another reason). */
int as_admit(struct req *r, const kube_kind_t *k, bool mutating,
             kube_apiserver_admission_op_t op, json_object *obj,
             json_object *old, kube_error_t *err);
/* The same for a subresource whose body is another kind (pods/binding:
 * a CREATE of a Binding): attributes name `kind`, k's resource and the
 * request's subresource. */
int as_admit_kind(struct req *r, const kube_kind_t *k, const char *kind,
                  bool mutating, kube_apiserver_admission_op_t op,
                  json_object *obj, json_object *old, kube_error_t *err);
int as_admission_add(kube_apiserver_t *srv, const kube_apiserver_admission_t *o,
                     int order, kube_error_t *err);
/* Register the built-in plugins (at server creation). */
int as_admission_builtins(kube_apiserver_t *srv, kube_error_t *err);
void as_admissions_free(kube_apiserver_t *srv);
/* admission-podsecurity.c (arg: the server) */
int as_podsecurity_pod(const kube_apiserver_admission_attrs_t *a, void *arg,
                       kube_error_t *err);
int as_podsecurity_workload(const kube_apiserver_admission_attrs_t *a,
                            void *arg, kube_error_t *err);
int as_podsecurity_namespace(const kube_apiserver_admission_attrs_t *a,
                             void *arg, kube_error_t *err);
/* admission-limits.c (arg: the server) */
int as_limitranger_mutate(const kube_apiserver_admission_attrs_t *a,
                          void *arg, kube_error_t *err);
int as_limitranger_validate(const kube_apiserver_admission_attrs_t *a,
                            void *arg, kube_error_t *err);
int as_quota_admit(const kube_apiserver_admission_attrs_t *a, void *arg,
                   kube_error_t *err);
/* A create finished (stored or failed): stop counting it as pending. */
void as_quota_settled(kube_apiserver_t *srv, const kube_kind_t *k,
                      json_object *obj);
void as_quota_pending_free(kube_apiserver_t *srv);

/* ---- extensions.c ---- */
/* Hand r to a registered extension handler when one serves it (true). */
bool as_ext_dispatch_path(struct req *r);
/* path falls under a prefix registered with kube_apiserver_handle_public_
 * path (no credentials needed, no authorization). */
bool as_ext_public_path(kube_apiserver_t *srv, const char *path);
bool as_ext_dispatch_subresource(struct req *r);
/* Pass r's HTTP request to fn, then finish r (network) or let the reply
 * finish it (in-process). */
void as_ext_hand_off(struct req *r, kube_apiserver_handler_fn fn, void *arg,
                     bool with_route);
/* Discovery: the registered group-versions. */
void as_ext_discovery_groups(kube_apiserver_t *srv, json_object *groups);
void as_ext_discovery_aggregated(kube_apiserver_t *srv, json_object *items);
void as_exts_free(kube_apiserver_t *srv);

/* ---- pod-stream.c ---- */
/* pods/log, exec, attach, portforward: to the pod's node. */
void as_handle_pod_stream(struct req *r);
void as_nodes_free(kube_apiserver_t *srv);
/* ---- metrics-api.c ---- */
void as_metrics_sources_free(kube_apiserver_t *srv);

/* ---- status.c ---- */
void as_reply_json(struct req *r, int code, json_object *obj);
void as_reply_json_str(struct req *r, int code, const char *json, size_t len);
/* Same, taking ownership of `json` (malloc'ed; freed once sent). */
void as_reply_json_take(struct req *r, int code, char *json, size_t len);
void as_reply_error(struct req *r, const kube_error_t *err);
KUBE_PRINTF(3, 4)
void as_reply_status(struct req *r, kube_reason_t reason, const char *fmt, ...);
json_object *as_status_object(const kube_error_t *err);
/* A Status of `status` ("Success", "Failure"): kind, apiVersion and
 * empty metadata, to fill in; owned. */
json_object *as_status_new(const char *status);
/* A Status Success with `code` (binding, eviction); owned. */
json_object *as_status_success(int code);

/* ---- router.c ---- */
int as_route_parse(const char *path, struct route *rt, kube_error_t *err);
void as_route_clear(struct route *rt);
void as_dispatch(struct req *r);
/* Serve the request again from the start: an update whose compare-and-swap
 * lost to a concurrent write is re-applied to the new state, as
 * kube-apiserver's GuaranteedUpdate does.  A resourceVersion the client
 * gave still makes the new attempt fail with Conflict. */
void as_redispatch(struct req *r);
char *as_store_key(const kube_kind_t *k, const char *ns, const char *name);
char *as_store_prefix(const kube_kind_t *k, const char *ns);

/* ---- aggregator.c ---- */
/* A path of a group-version an APIService names (not served here):
 * proxied to its Service, or /apis/<group> answered; false when no
 * APIService applies. */
bool as_aggregator_dispatch(struct req *r);
/* The groups of APIServices not yet in `groups` (an APIGroupList's
 * array), appended. */
void as_aggregator_discovery_groups(kube_apiserver_t *srv,
                                    json_object *groups);
/* The address and port of an APIService's spec.service (its Endpoints);
 * ServiceUnavailable when there is none. */
int as_aggregator_backend(kube_apiserver_t *srv, json_object *svcref,
                          char *host, size_t hlen, int *port,
                          kube_error_t *err);

/* How an APIService (tree) has its backend verified: insecureSkipTLSVerify,
 * its caBundle decoded (owned by the caller, NULL when none) and the name
 * checked, <service>.<namespace>.svc. */
struct as_agg_tls {
  bool insecure;
  unsigned char *ca;
  size_t ca_len;
  char server_name[600];
};
void as_aggregator_tls(json_object *as, struct as_agg_tls *t);

/* ---- aggregator-available.c ---- */
/* The Available condition of every APIService, kept by checks on the loop
 * (with autoregister, the built-in group-versions' Local APIServices are
 * created first); as_avail_free drops the checks in flight. */
void as_avail_start(kube_apiserver_t *srv, bool autoregister);
void as_avail_free(kube_apiserver_t *srv);
/* The APIGroupDiscovery of each group served by APIServices (not already
 * in `items`), appended, with the resources their last checks found. */
void as_aggregator_discovery_aggregated(kube_apiserver_t *srv,
                                        json_object *items);

/* ---- aggregator-register.c ---- */
/* The Local APIServices: with `builtin`, one for each built-in
 * group-version served here that has none; always, those of the CRDs'
 * served versions made, and those of versions no CRD serves any more
 * deleted.  Asynchronous writes; loop thread. */
void as_apiservices_register(kube_apiserver_t *srv, bool builtin);

/* ---- discovery.c / openapi.c ---- */
bool as_discovery_serve(struct req *r);
/* What a subresource of k serves: its response kind (group and version
 * NULL: the parent's) and its verbs. */
struct sub_desc {
  const char *group, *version, *kind;
  const char *const *verbs;
};
struct sub_desc as_discovery_subresource(const kube_kind_t *k, const char *sub);
/* A JSON array of the NULL-terminated strings v (may be NULL); owned. */
json_object *as_str_array(const char *const *v);
bool as_discovery_wants_aggregated(const struct req *r);
void as_discovery_serve_aggregated(struct req *r, bool core);
void as_openapi_serve(struct req *r);
/* Build the cached OpenAPI documents (v2 JSON and protobuf, v3) unless
 * they are current.  -1 on out-of-memory. */
int as_openapi_refresh(kube_apiserver_t *srv);
/* openapi-v3.c: the v3 documents cut from the v2 one (borrowed), stored
 * in srv->openapi_v3; /openapi/v3 and /openapi/v3/<group-version>. */
int as_openapi_v3_build(kube_apiserver_t *srv, json_object *v2);
void as_openapi_v3_serve(struct req *r);
/* openapi-schema.c: a runtime schema as an OpenAPI v2 schema object
 * (owned); the built-in types it uses are added to `defs` and referred to
 * by $ref.  The definition of a custom resource kind. */
json_object *as_openapi_schema(const api_schema_t *s, json_object *defs);
json_object *as_openapi_cr_definition(const kube_kind_t *k, json_object *defs);
void as_openapi_def_name(const api_type_t *t, char *buf, size_t len);
/* {"$ref": "#/definitions/<name>"} (owned). */
json_object *as_openapi_ref(const char *name);
/* openapi-pb.c: the protobuf form of the JSON document, with the
 * definitions named in defs_wanted (an object used as a set).  Owned. */
char *as_openapi_pb_document(json_object *doc, json_object *defs_wanted,
                             size_t *len);

/* ---- objects.c ---- */
/* Object JSON as stored (no resourceVersion) -> served JSON text with
 * metadata.resourceVersion set, appended to sb. */
int as_record_append_json(kube_strbuf_t *sb, const kube_store_record_t *rec);
/* Same, with resourceVersion `rev` (a delete event's revision). */
int as_record_append_json_rev(kube_strbuf_t *sb, const kube_store_record_t *rec,
                              int64_t rev);
/* Parse a stored value (no resourceVersion set); owned, an object. */
json_object *as_record_parse(const kube_store_record_t *rec, kube_error_t *err);
/* Parse a record into a tree with resourceVersion set; owned. */
json_object *as_record_to_tree(const kube_store_record_t *rec,
                               kube_error_t *err);
/* True when as_tree_to_stored writes obj as it is (apiVersion, kind and
 * metadata first, no resourceVersion or selfLink). */
bool as_tree_in_stored_form(json_object *obj);
/* Serialize a tree for the store: apiVersion, kind, metadata first; drops
 * metadata.resourceVersion. Owned. */
char *as_tree_to_stored(json_object *obj, size_t *len);
void as_tree_set_rv(json_object *obj, int64_t rev);
json_object *as_meta_of(json_object *obj); /* metadata, created when missing */
/* Custom resources stored in another version than kind k serves (strategy
 * None: apiVersion changes): whether the record needs it, and the served
 * forms of a record for k. */
bool as_record_needs_conversion(const kube_store_record_t *rec,
                                const kube_kind_t *k);
json_object *as_record_to_tree_for(const kube_store_record_t *rec,
                                   const kube_kind_t *k, kube_error_t *err);
int as_record_append_json_for(kube_strbuf_t *sb, const kube_store_record_t *rec,
                              int64_t rev, const kube_kind_t *k);
char *as_record_to_json_for(const kube_store_record_t *rec,
                            const kube_kind_t *k, size_t *len);
/* Set obj's apiVersion to k's storage version (storage) or to the version k
 * serves; built-in kinds are stored as served. */
void as_tree_set_api_version(json_object *obj, const kube_kind_t *k,
                             bool storage);
char *as_now_rfc3339(char *buf, size_t len);
json_object *as_decode_body(struct req *r, kube_error_t *err);
void as_error_not_found(kube_error_t *err, const kube_kind_t *k,
                        const char *name);
void as_error_conflict(kube_error_t *err, const kube_kind_t *k,
                       const char *name);
bool as_has_finalizers(json_object *obj);
/* Set the value at a dotted path (objects made as needed); val stolen.
 * -1 on out-of-memory or when a path element is not an object. */
int as_json_set_path(json_object *obj, const char *path, json_object *val);

/* ---- recent.c ---- */
/* Keep `tree` (stolen), the object stored as record (key, rev), for
 * as_recent_take; only a tree the stored text was written from as it is
 * (as_tree_in_stored_form) and that nothing changes afterwards.  Its
 * members below the top level and metadata may be shared (with the watch,
 * AS_OFFER_SHARE): the taker changes only those two objects in place. */
void as_recent_put(kube_apiserver_t *srv, const char *key, int64_t rev,
                   json_object *tree);
/* The tree kept for (key, rev), owned, without resourceVersion; NULL. */
json_object *as_recent_take(kube_apiserver_t *srv, const char *key,
                            int64_t rev);
void as_recent_free(kube_apiserver_t *srv);

/* ---- handlers-read.c ---- */
void as_handle_get(struct req *r);
void as_handle_list(struct req *r);
bool as_accept_table(const struct req *r);
/* An empty meta.k8s.io/v1 Table with the kind's columns (owned). */
json_object *as_table_new(const kube_kind_t *k);
void as_table_add_row(json_object *table, const kube_kind_t *k,
                      json_object *obj, time_t now, int include);
/* A Table row's object (?includeObject=None|Metadata|Object). */
enum { INCLUDE_NONE, INCLUDE_METADATA, INCLUDE_OBJECT };
int as_table_include_mode(const struct req *r);
/* Set a Table row's "object" from obj (borrowed) per `include`. */
void as_table_row_object(json_object *row, json_object *obj, int include);

/* Selector matching on a tree. */
struct filter {
  kube_selector_t *labels;
  kube_selector_t *fields;
};
int as_filter_parse(const struct req *r, struct filter *f, kube_error_t *err);
bool as_filter_active(const struct filter *f);
bool as_filter_match(const struct filter *f, json_object *obj);
void as_filter_clear(struct filter *f);

/* ---- watch.c ---- */
void as_handle_watch(struct req *r);
void as_watch_stop_all(kube_apiserver_t *srv);
/* End the watchers furthest behind while all of srv's together queue more
 * than its watch budget. */
void as_watch_budget(kube_apiserver_t *srv);
void as_watchers_cancel_req(struct req *r);
void as_hubs_free(kube_apiserver_t *srv);
/* End every watch of kind k (its definition changed or went away). */
void as_watch_end_kind(kube_apiserver_t *srv, const kube_kind_t *k);
/* True when a watcher of kind k takes events as objects (an in-process
 * caller's, attached to the kind's hub). */
bool as_watch_wants_objects(kube_apiserver_t *srv, const kube_kind_t *k);

/* ---- watch-trees.c ---- */
/* How a writer offers its tree to as_watch_offer. */
enum as_offer {
  /* The tree goes on to owners that may change it: a copy is kept. */
  AS_OFFER_COPY,
  /* Handed over (nothing else holds it, nobody changes it after): made
   * the served form in place (metadata.managedFields and selfLink
   * dropped, resourceVersion set) and kept, not copied. */
  AS_OFFER_TAKE,
  /* Its next owner changes nothing below its top level and metadata
   * objects (a created pod's tree, for the binding): a new top level and
   * metadata are kept over the tree's own members. */
  AS_OFFER_SHARE,
};
/* A write of kind k stored `tree` (borrowed, in the version served) as
 * rec: when in-process watchers take objects, keep it as the watch serves
 * it for the hub's delivery of the event, as `how` says. */
void as_watch_offer(kube_apiserver_t *srv, const kube_kind_t *k,
                    const kube_store_record_t *rec, json_object *tree,
                    enum as_offer how);
/* The copy kept for (k, key, rev), owned (shared with receivers, never to
 * be changed), or NULL; drops the copies of k's revisions before rev. */
json_object *as_watch_tree_take(kube_apiserver_t *srv, const kube_kind_t *k,
                                const char *key, int64_t rev);
void as_watch_trees_free(kube_apiserver_t *srv);

/* ---- handlers-write.c ---- */
/* A store write on behalf of a request (r may go away only through
 * as_req_finish, which happens in the callback). */
struct wctx {
  struct req *r;
  const kube_kind_t *k;
  json_object *obj; /* served object (resourceVersion set on success) */
  int code;         /* reply code on success */
  bool create;
  int64_t expected; /* updates: the revision the write expected */
};

/* A write context replying `code` with `obj` (stolen only on success);
 * NULL when out of memory. */
struct wctx *as_wctx_new(struct req *r, const kube_kind_t *k, json_object *obj,
                         int code);
void as_wctx_free(struct wctx *w);
/* Store write callbacks replying to w->r with w->obj (arg is a wctx). */
void as_write_done(const kube_store_record_t *rec, const kube_error_t *err,
                   void *arg);
void as_delete_done(const kube_store_record_t *rec, const kube_error_t *err,
                    void *arg);
/* Reply with obj (stolen), through r->reply_transform when set. */
void as_reply_object(struct req *r, int code, json_object *obj);

void as_handle_create(struct req *r);
void as_handle_update(struct req *r);
void as_handle_patch(struct req *r);

/* A write pipeline shared by PUT, PATCH and subresources: `obj` (stolen)
 * is the new state of the object whose stored record is `old` (borrowed,
 * may be NULL for create).  `status_only`: keep everything but status
 * from old; `main_only`: keep old status. */
/* WRITE_EPHEMERAL: pods/ephemeralcontainers, where only
 * spec.ephemeralContainers moves. */
enum write_mode { WRITE_MAIN, WRITE_STATUS, WRITE_ALL, WRITE_EPHEMERAL };
void as_write_update(struct req *r, const kube_kind_t *k,
                     const kube_store_record_t *old, json_object *obj,
                     enum write_mode mode, int reply_code);
/* Same, with `old` (stolen; may be NULL: parsed from old_rec) the tree of
 * old_rec with its resourceVersion set, sharing nothing with obj. */
void as_write_update_old(struct req *r, const kube_kind_t *k,
                         const kube_store_record_t *old_rec, json_object *old,
                         json_object *obj, enum write_mode mode,
                         int reply_code);
void as_write_create(struct req *r, const kube_kind_t *k, json_object *obj);
void as_handle_patch_mode(struct req *r, enum write_mode mode);
bool as_dry_run(const struct req *r);
json_object *as_patch_apply_body(struct req *r, const kube_kind_t *k,
                                 json_object *orig, kube_error_t *err);
/* Asynchronous internal store writes not bound to a request. */
void as_internal_delete(kube_apiserver_t *srv, const char *key, int64_t rev);
void as_internal_update(kube_apiserver_t *srv, const char *key,
                        json_object *obj, int64_t rev);

/* ---- handlers-delete.c ---- */
void as_handle_delete(struct req *r);
void as_handle_deletecollection(struct req *r);
/* DeleteOptions: the query's and the body's, or an Eviction's. */
struct as_delete_opts {
  bool has_grace;
  int64_t grace;
  char *propagation; /* owned, or NULL */
  char *pre_uid;     /* preconditions (owned, or NULL) */
  char *pre_rv;
  bool dry_run;
  /* A pod goes by eviction: condition DisruptionTarget True. */
  bool disruption_target;
  /* orphanDependents: false -- an object not removed at once is answered
   * 202 Accepted (the DELETE handler's legacy rule). */
  bool orphan_false;
};
/* Add what the DeleteOptions object `b` (borrowed; NULL: nothing) sets to
 * *o.  BadRequest when it is not an object. */
int as_delete_opts_json(struct as_delete_opts *o, json_object *b,
                        kube_error_t *err);
void as_delete_opts_clear(struct as_delete_opts *o);
/* What deleting `obj` (borrowed; edited in place: deletionTimestamp,
 * deletionGracePeriodSeconds) does, as the apiserver's BeforeDelete
 * decides: `graceful` for kinds with graceful deletion (pods, whose node's
 * agent ends it with a grace-0 DELETE); `o` may be NULL (the defaults). */
enum as_delete_plan {
  AS_DELETE_NOW,     /* remove the object */
  AS_DELETE_MARK,    /* write the marked object: finalizers or a grace period */
  AS_DELETE_PENDING, /* a graceful deletion already runs: nothing changes */
};
enum as_delete_plan as_delete_plan(json_object *obj, bool graceful,
                                   const struct as_delete_opts *o);
/* Delete one stored object (`rec`, borrowed) of kind k as `o` says
 * (preconditions, graceful deletion, finalizers, namespace termination)
 * and reply to r with `code` and the object (through r->reply_transform
 * when set), or with the error. */
void as_delete_record(struct req *r, const kube_kind_t *k,
                      const kube_store_record_t *rec, struct as_delete_opts *o,
                      int code);

/* ---- eviction.c ---- */
/* POST pods/NAME/eviction: policy/v1 (or v1beta1) Eviction, checked
 * against the PodDisruptionBudgets that cover the pod. */
void as_handle_eviction(struct req *r);
/* Set condition DisruptionTarget True (EvictionByEvictionAPI) on a pod
 * tree. */
void as_pod_disruption_target(json_object *pod);

/* ---- namespaces.c ---- */
void as_bootstrap_start(kube_apiserver_t *srv);
void as_namespace_start_cleanup(kube_apiserver_t *srv, const char *ns);
/* Delete every object stored under `prefix` (those with finalizers are
 * marked for deletion instead); returns how many were found (1 when the
 * list failed: try again). */
size_t as_delete_under(kube_apiserver_t *srv, const char *prefix);
void as_ns_cleanups_free(kube_apiserver_t *srv);
/* Create `obj` (stolen) with server-set metadata, if absent; async. */
int as_apiserver_internal_create(kube_apiserver_t *srv, const kube_kind_t *k,
                                 json_object *obj);
/* Same, counted by bootstrap (/readyz waits for it). */
int as_internal_create_bootstrap(kube_apiserver_t *srv, const kube_kind_t *k,
                                 json_object *obj);
/* Forbidden/NotFound when objects cannot be created in ns. */
int as_namespace_check_active(kube_apiserver_t *srv, const char *ns,
                              kube_error_t *err);

/* ---- fields.c ---- */
enum as_field_validation { AS_FV_WARN, AS_FV_IGNORE, AS_FV_STRICT };
/* The request's fieldValidation directive; BadRequest when unknown. */
int as_field_validation(const struct req *r, kube_error_t *err);
/* Check a write's object against its kind's schema: type errors fail
 * (BadRequest), unknown fields are dropped and reported as the
 * directive says (Strict fails, Warn adds warnings), as are the body's
 * duplicate fields.  obj NULL: the body's duplicate fields alone (a
 * subresource's body that is not of the kind, as a pod's Binding). */
int as_check_fields(struct req *r, const kube_kind_t *k, json_object *obj,
                    kube_error_t *err);
/* Add a `Warning: 299 - "<text>"` header to the reply. */
KUBE_PRINTF(2, 3) void as_req_warn(struct req *r, const char *fmt, ...);
void as_req_warnings_clear(struct req *r);

/* ---- registry.c ---- */
/* A kind's steps that need server state; every hook may be NULL. */
struct as_kind_hooks {
  /* Create (old NULL) or update, after defaulting, before validation
   * (allocations). */
  int (*prepare)(kube_apiserver_t *srv, const kube_kind_t *k, json_object *obj,
                 json_object *old, const char *key, kube_error_t *err);
  /* Whether obj may be created now (Forbidden, MethodNotAllowed...). */
  int (*admit_create)(kube_apiserver_t *srv, const kube_kind_t *k,
                      json_object *obj, kube_error_t *err);
  /* A delete request: mark what keeps obj (spec finalizers, a Terminating
   * phase or condition).  `already`: it was being deleted before. */
  void (*mark_deleting)(kube_apiserver_t *srv, const kube_kind_t *k,
                        json_object *obj, bool already);
  /* obj's marked deletion was written: start what ends it. */
  void (*deleting)(kube_apiserver_t *srv, const kube_kind_t *k,
                   const char *name);
  /* Warnings about a write's object (as_req_warn), once it is checked. */
  void (*warnings)(struct req *r, const kube_kind_t *k, json_object *obj);
  /* A write of the kind succeeded (before the reply). */
  void (*written)(kube_apiserver_t *srv, const kube_kind_t *k,
                  const kube_store_record_t *rec);
};
const struct as_kind_hooks *as_kind_hooks(const kube_kind_t *k);
/* The hooks of custom resources and of their definitions
 * (crd-registry.c). */
const struct as_kind_hooks *as_cr_hooks(void);
const struct as_kind_hooks *as_crd_hooks(void);

/* ---- crd-registry.c ---- */
/* Every kind the server serves: the built-in ones, then those of its
 * CustomResourceDefinitions (valid until the next change of those). */
size_t as_kinds_count(kube_apiserver_t *srv);
const kube_kind_t *as_kinds_at(kube_apiserver_t *srv, size_t i);
/* Changes at every registration change (caches of discovery, OpenAPI). */
uint64_t as_crds_generation(const kube_apiserver_t *srv);
/* A custom kind served at group/version/resource (version NULL: any);
 * borrowed (api_kind_ref to keep it). */
const kube_kind_t *as_crds_lookup(kube_apiserver_t *srv, const char *group,
                                  const char *version, const char *resource);
/* Read the definitions from the store, register them, watch for more. */
void as_crds_start(kube_apiserver_t *srv);
void as_crds_free(kube_apiserver_t *srv);
/* Register (or update) the definition `crd` as stored at `key` (NULL:
 * leave its status alone), and forget one (uid: unless the registered
 * definition of that name is another, newer one). */
void as_crd_sync(kube_apiserver_t *srv, json_object *crd, const char *key,
                 int64_t rev);
void as_crd_forget(kube_apiserver_t *srv, const char *name, const char *uid);

/* ---- services.c ---- */
int as_services_prepare(kube_apiserver_t *srv, const kube_kind_t *k,
                        json_object *svc, json_object *old, const char *key,
                        kube_error_t *err);

/* ---- subresources.c ---- */
void as_handle_subresource(struct req *r);

/* ---- events.c ---- */
void as_event_record(kube_apiserver_t *srv, json_object *involved,
                     const kube_kind_t *k, const char *type, const char *reason,
                     const char *message);

#endif /* KUBE_APISERVER_INTERNAL_H */
