/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libkube kit: what components running on an event loop use to talk to the
 * API — the controller kit, after client-go.
 *
 * - kube_transport_t: asynchronous requests behind a table of functions (the
 *   in-process transport of an API server, or the HTTP transport below).
 * - Informers keep a cache of one collection current (LIST + WATCH), with
 *   indexes and any number of handler registrations; the informer factory
 *   hands out one informer per collection per process, so the scheduler,
 *   the controllers and the node agent share one cache of 150,000 pods.
 * - Work queues: rate-limited queues of keys.
 * - kube_writer_t: typed writes (create, update, patch, status, delete,
 *   binding, eviction) with completion callbacks.
 * - kube_event_recorder_t: Events with client-go's correlation (counting
 *   repeats, aggregating similar events, a spam filter).
 * - kube_controller_t: the sample-controller skeleton (informers -> keys ->
 *   rate-limited queue -> idempotent sync(key)).
 *
 * Threading: everything here belongs to one kube_loop_t and is used only on
 * that loop's thread; every callback runs there.  A callback never runs
 * inside the call that started the work it reports on.
 *
 * Errors: fallible functions take `kube_error_t *err` last and return < 0 or
 * NULL; a request that could not be *started* fails that way (and its
 * callback never runs); a request that was started reports its outcome only
 * through its callback.
 *
 * Ownership: as everywhere in libkube, every pointer is borrowed unless a
 * comment says owned (free with X) or stolen.
 *
 * A controller, start to end (error handling trimmed):
 *
 *   struct ctl { kube_informer_t *rs; kube_writer_t *w;
 *                kube_controller_t *c; };
 *
 *   // sync(key): read the cache, compute, write.  Idempotent: it may run
 *   // again for the same key at any time.  0 = done (the key's backoff is
 *   // forgotten), < 0 = failed (retried after a per-key backoff),
 *   // KUBE_SYNC_PENDING = an asynchronous write finishes it later.
 *   static void written(const kube_object_t *res, const kube_error_t *e,
 *                       void *arg) {
 *     struct pending *p = arg;   // holds ctl and a copy of the key
 *     kube_controller_sync_done(p->ctl->c, p->key, e ? -1 : 0);
 *     free_pending(p);
 *   }
 *   static int sync(kube_controller_t *c, const char *key, void *arg) {
 *     struct ctl *x = arg;
 *     const kube_object_t *rs = kube_informer_get(x->rs, key);
 *     if (!rs)
 *       return 0;                // deleted meanwhile: nothing to do
 *     if (already_as_wanted(rs))
 *       return 0;
 *     if (kube_writer_patch(x->w, kind, ns, name, "status",
 *                           KUBE_PATCH_MERGE, patch, NULL, written,
 *                           new_pending(x, key), NULL) < 0)
 *       return -1;
 *     return KUBE_SYNC_PENDING;
 *   }
 *
 *   kube_informer_factory_t *f = kube_informer_factory_new(loop, &tp, &err);
 *   kube_informer_options_t io = {.struct_size = sizeof io,
 *                                 .path = "/apis/apps/v1/replicasets"};
 *   x.rs = kube_informer_factory_informer(f, &io, &err);
 *   kube_informer_options_t po = {.struct_size = sizeof po,
 *                                 .path = "/api/v1/pods"};
 *   kube_informer_t *pods = kube_informer_factory_informer(f, &po, &err);
 *   kube_informer_add_index(pods, KUBE_INDEX_CONTROLLER_UID,
 *                           kube_index_controller_uid, NULL, &err);
 *   x.w = kube_writer_new(loop, &tp, &err);
 *   x.c = kube_controller_new(loop, &(kube_controller_options_t){
 *             .struct_size = sizeof(kube_controller_options_t),
 *             .name = "replicaset"}, sync, &x, &err);
 *   kube_controller_watch(x.c, x.rs, NULL, NULL, &err);   // own keys
 *   kube_controller_watch_owned(x.c, pods, "ReplicaSet", &err);
 *   kube_controller_start(x.c, &err);  // syncs begin once caches synced
 *   kube_informer_factory_start(f, &err);
 *   kube_loop_run(loop, &err);
 *
 * Tests drive the same code over the fake transport of tests/lib
 * (kt_fake_*): prefill the fake's objects, run one sync, compare the
 * recorded actions.
 */
#ifndef LIBKUBE_KIT_H
#define LIBKUBE_KIT_H

#include <libkube/api.h>
#include <libkube/client.h>
#include <libkube/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Asynchronous transport                                                    */
/* ------------------------------------------------------------------------ */

/* Asynchronous requests on a loop, behind a table of function pointers
 * chosen once: the in-process transport of an API server
 * (kube_apiserver_transport() in <libkube/apiserver.h>), the HTTP transport
 * below, or a test's fake.  Everything else in this header uses only this
 * interface.
 *
 * Contract of an implementation:
 * - request() starts a request and returns a handle (borrowed, valid until
 *   the done callback ran or the call was cancelled), or NULL with err.
 *   The callback never runs inside request().
 * - A plain reply arrives in one callback with done = true.  A streamed
 *   reply (watch) arrives as callbacks with done = false (the first carries
 *   status and content type; each later one a piece of the body, usually
 *   one watch line) and a last one with done = true and len 0.
 * - A failure before any reply is reported with status 0.
 * - cancel() stops the callbacks of a call (they never run again); a write
 *   already sent may still take effect.
 * - Every call and callback happens on the loop's thread. */

typedef struct kube_transport_call kube_transport_call_t;

/* `content_type` and `data` are borrowed for the call. */
typedef void (*kube_transport_reply_cb)(int status, const char *content_type,
                                        const char *data, size_t len, bool done,
                                        void *arg);

/* A watch event handed over as an object (kube_transport_request_t's
 * event_cb): `type` "ADDED", "MODIFIED" or "DELETED"; `obj` the event's
 * object without metadata.managedFields, shared by every in-process
 * receiver of the event and never changed (borrowed for the call: keep a
 * copy, or, inside libkube, a reference to its tree, and never change it);
 * `line` and `len` the event's line as the reply callback would have had
 * it (borrowed for the call). */
typedef void (*kube_transport_event_cb)(const char *type,
                                        const kube_object_t *obj,
                                        const char *line, size_t len,
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
  /* Optional, for watches: a transport that has an event at hand as an
   * object (the in-process transport of an API server, for objects the
   * write itself left it) may call this, with the callback's `arg`, in
   * place of the reply callback for that event's line, so the receiver
   * need not parse the line again.  Other lines (BOOKMARK, ERROR, events
   * without an object at hand) still come to the reply callback, all in
   * order. */
  kube_transport_event_cb event_cb;
  /* The caller's User-Agent ("kube-scheduler/v1.32.0 (linux/amd64) ..."):
   * the API server names the request's managedFields manager after its
   * first path segment and records it in the audit log.  NULL: the
   * transport's own (the HTTP transport's client's; none in-process). */
  const char *user_agent;
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
  /* The User-Agent every request over this transport sends unless it
   * names its own (kube_transport_request() fills kube_transport_request_t's
   * user_agent from it): borrowed, must outlive every user of the transport (a
   * string literal).  The functions that fill a transport set it to NULL;
   * a component sets its own on its copy (the controller manager
   * "kube-controller-manager/...", the scheduler "kube-scheduler/...", the
   * node agent "kubelet/...", when it was NULL). */
  const char *user_agent;
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

kube_http_transport_t *
kube_http_transport_new(kube_loop_t *loop, const kube_client_options_t *opts,
                        kube_error_t *err);
/* Read the credentials of `opts` again (a renewed client certificate):
 * connections made from now on use them; the kept-alive ones are replaced
 * before their next request, streams (watches) go on on theirs.  Same
 * server required.  On the loop's thread.  0 or -1 with err (the old
 * credentials stay). */
int kube_http_transport_reload(kube_http_transport_t *t,
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
 *
 * Handlers are told about every change after the cache holds it, in the
 * order of their registration (during a LIST, item by item as the cache
 * takes them, the deletes last).  Any number of handler sets may be
 * registered, at any time: a set registered after objects were cached
 * first gets an add for every cached object (from the loop, never inside
 * kube_informer_add_handlers) and then its on_synced.
 *
 * The cache keeps each object as compact JSON text (without
 * metadata.managedFields unless the options keep them) and parses it only
 * while a handler runs or when kube_informer_get() hands it out: a tree
 * costs ten to twenty times the text.  Over a transport that hands events
 * over as objects (event_cb: the in-process transport of an API server)
 * no parse happens: handlers and kube_informer_get() get the write's own
 * object, shared by every informer of the process, so objects an informer
 * hands out must never be changed (they are const; copy to edit).
 *
 * Keys are "namespace/name" for namespaced objects, "name" otherwise.
 * Threading: one event loop; handlers run on it.  A handler may read the
 * informer, add or remove registrations (its own included) and indexes,
 * but must not free the informer. */

typedef struct kube_informer kube_informer_t;
typedef struct kube_informer_registration kube_informer_registration_t;

/* Objects are borrowed for the call (copy them to keep them).  Any member
 * may be NULL. */
typedef struct kube_informer_handlers {
  size_t struct_size; /* sizeof(kube_informer_handlers_t) */
  void (*on_add)(const char *key, const kube_object_t *obj, void *arg);
  void (*on_update)(const char *key, const kube_object_t *old_obj,
                    const kube_object_t *obj, void *arg);
  /* `obj` is the last state known (for a delete noticed by a re-list, the
   * cached one). */
  void (*on_delete)(const char *key, const kube_object_t *obj, void *arg);
  /* Once per registration, after the first LIST (or, for a registration
   * made later, after its initial adds) was delivered. */
  void (*on_synced)(void *arg);
} kube_informer_handlers_t;

typedef struct kube_informer_options {
  size_t struct_size; /* sizeof(kube_informer_options_t) */
  /* Collection path, without a query: "/api/v1/pods",
   * "/apis/apps/v1/namespaces/default/deployments".  Required. */
  const char *path;
  const char *label_selector; /* may be NULL */
  const char *field_selector; /* may be NULL */
  /* Keep metadata.managedFields in the cache (dropped by default, as
   * kube-scheduler and kube-controller-manager drop them). */
  bool keep_managed_fields;
} kube_informer_options_t;

/* Create an informer over `tp` (copied; its impl must outlive the
 * informer) on `loop` (borrowed).  `handlers` (may be NULL) is the first
 * registration, with `arg`.  Does not start: call kube_informer_start().
 * Owned: free with kube_informer_free.  Informers of a factory belong to
 * the factory instead. */
kube_informer_t *kube_informer_new(kube_loop_t *loop,
                                   const kube_transport_t *tp,
                                   const kube_informer_options_t *opts,
                                   const kube_informer_handlers_t *handlers,
                                   void *arg, kube_error_t *err);
/* Issue the first LIST (after a stop: a new LIST whose differences are
 * delivered).  -1 with err when the request cannot be started or the
 * informer runs already. */
int kube_informer_start(kube_informer_t *inf, kube_error_t *err);
/* Cancel the requests in flight; the cache and registrations stay (and may
 * be read) until the informer is freed or started again. */
void kube_informer_stop(kube_informer_t *inf);
bool kube_informer_running(const kube_informer_t *inf);
/* True once the first LIST reached the cache. */
bool kube_informer_synced(const kube_informer_t *inf);

/* Register a set of handlers (copied) with `arg`.  Returns the
 * registration (borrowed: valid until removed or the informer is freed),
 * NULL with err on out-of-memory. */
kube_informer_registration_t *
kube_informer_add_handlers(kube_informer_t *inf,
                           const kube_informer_handlers_t *handlers, void *arg,
                           kube_error_t *err);
/* Remove a registration: none of its handlers runs after this call.
 * Accepts NULL. */
void kube_informer_remove_handlers(kube_informer_t *inf,
                                   kube_informer_registration_t *reg);
/* True once the registration's on_synced was (or would have been)
 * called. */
bool kube_informer_registration_synced(const kube_informer_registration_t *reg);

/* The cached object of a key ("ns/name" or "name"); borrowed, valid until
 * that key changes; NULL when absent (or on out-of-memory).  The first get
 * of a key parses its text and keeps the tree until the key changes. */
const kube_object_t *kube_informer_get(const kube_informer_t *inf,
                                       const char *key);
/* The cached object of a key as the caller's own reference (free with
 * kube_object_free; never change it: it may be the tree other readers
 * share), NULL when absent or on out-of-memory.  Unlike
 * kube_informer_get, the informer keeps no tree for it: the tree goes when
 * the caller frees it.  For reads that need the object only for the call,
 * over collections too large for a tree of each to stay (a sync of every
 * pod). */
kube_object_t *kube_informer_ref(const kube_informer_t *inf, const char *key);
/* True when the key is cached (no parsing). */
bool kube_informer_has(const kube_informer_t *inf, const char *key);
size_t kube_informer_count(const kube_informer_t *inf);
/* The resourceVersion the cache is current at ("" before the first LIST).
 * Borrowed. */
const char *kube_informer_resource_version(const kube_informer_t *inf);
/* The collection path and selectors (borrowed). */
const char *kube_informer_path(const kube_informer_t *inf);
/* Call fn for every cached object (unspecified order; objects borrowed
 * for the call).  fn must not change the informer.  Returns the number of
 * objects visited. */
size_t kube_informer_foreach(const kube_informer_t *inf,
                             void (*fn)(const char *key,
                                        const kube_object_t *obj, void *arg),
                             void *arg);
/* Number of LISTs issued so far (1 after a start without failures). */
uint64_t kube_informer_list_count(const kube_informer_t *inf);
/* Bytes the cache holds (texts, keys, entries and indexes; parsed trees
 * not counted). */
size_t kube_informer_cache_bytes(const kube_informer_t *inf);
/* Cancel the requests in flight and free the cache and registrations.  No
 * handler runs after or inside this call.  Must not be called from a
 * handler of this informer, nor for an informer of a factory.  Accepts
 * NULL. */
void kube_informer_free(kube_informer_t *inf);

/* ---- indexes ----
 *
 * An index maps values computed from each object (its namespace, its
 * spec.nodeName, the UID of its controller, each of its labels, or what a
 * custom function says) to the keys having them, kept up to date with the
 * cache, so a lookup by value touches only the matching objects. */

/* Collects the values of one object for an index (opaque). */
typedef struct kube_index_values kube_index_values_t;
/* Add a value (copied; duplicates are ignored).  -1 on out-of-memory. */
int kube_index_values_add(kube_index_values_t *out, const char *value);

/* Computes an object's values: call kube_index_values_add for each (none:
 * the object is not in the index).  `obj` borrowed for the call; must not
 * touch the informer. */
typedef void (*kube_index_fn)(const kube_object_t *obj,
                              kube_index_values_t *out, void *arg);

/* Standard index functions and the names conventionally used for them. */
#define KUBE_INDEX_NAMESPACE "namespace"
#define KUBE_INDEX_NODE_NAME "spec.nodeName"
#define KUBE_INDEX_CONTROLLER_UID "controllerUID"
#define KUBE_INDEX_LABEL "label"
/* metadata.namespace (cluster-scoped objects: none). */
void kube_index_namespace(const kube_object_t *obj, kube_index_values_t *out,
                          void *arg);
/* spec.nodeName when set and not empty. */
void kube_index_node_name(const kube_object_t *obj, kube_index_values_t *out,
                          void *arg);
/* The uid of the ownerReference with controller: true. */
void kube_index_controller_uid(const kube_object_t *obj,
                               kube_index_values_t *out, void *arg);
/* "key=value" for each label. */
void kube_index_labels(const kube_object_t *obj, kube_index_values_t *out,
                       void *arg);

/* Add an index named `name` (copied) computed by fn(obj, out, arg).  The
 * objects already cached are indexed at once.  Adding a name again with
 * the same fn and arg does nothing (components sharing an informer may all
 * ask for it); with another fn: AlreadyExists. */
int kube_informer_add_index(kube_informer_t *inf, const char *name,
                            kube_index_fn fn, void *arg, kube_error_t *err);
bool kube_informer_has_index(const kube_informer_t *inf, const char *name);
/* Number of objects with `value` in index `name` (0 when the index does
 * not exist). */
size_t kube_informer_index_count(const kube_informer_t *inf, const char *name,
                                 const char *value);
/* The keys with `value` in index `name`: an owned, NULL-terminated array
 * (free() it; the keys it points to are borrowed, valid until the cache
 * changes), its length in *n (may be NULL).  NotFound when the index does
 * not exist. */
const char **kube_informer_index_keys(const kube_informer_t *inf,
                                      const char *name, const char *value,
                                      size_t *n, kube_error_t *err);
/* Call fn for every object with `value` in index `name` (objects parsed
 * for the call, borrowed).  fn must not change the informer.  Returns the
 * number of objects visited. */
size_t kube_informer_index_foreach(
    const kube_informer_t *inf, const char *name, const char *value,
    void (*fn)(const char *key, const kube_object_t *obj, void *arg),
    void *arg);

/* ------------------------------------------------------------------------ */
/* Shared informer factory                                                   */
/* ------------------------------------------------------------------------ */

/* One informer per collection (path + selectors + managedFields choice)
 * per factory: every component of a process asks the same factory, adds
 * its own handler registration and the indexes it needs, and the objects
 * are cached once. */

typedef struct kube_informer_factory kube_informer_factory_t;

/* A factory on `loop` (borrowed) over `tp` (copied; its impl must outlive
 * the factory).  Owned: free with kube_informer_factory_free. */
kube_informer_factory_t *kube_informer_factory_new(kube_loop_t *loop,
                                                   const kube_transport_t *tp,
                                                   kube_error_t *err);
/* The informer of a collection, created on first request (borrowed: it
 * belongs to the factory).  When the factory was started, a new informer
 * starts at once.  -> NULL with err (BadRequest without a path). */
kube_informer_t *
kube_informer_factory_informer(kube_informer_factory_t *f,
                               const kube_informer_options_t *opts,
                               kube_error_t *err);
/* Start every informer not running (and, from now on, each new one). */
int kube_informer_factory_start(kube_informer_factory_t *f, kube_error_t *err);
/* Stop every informer (caches stay readable). */
void kube_informer_factory_stop(kube_informer_factory_t *f);
/* True when every informer of the factory is synced (and there is one). */
bool kube_informer_factory_synced(const kube_informer_factory_t *f);
/* Call fn(arg) once, from the loop, as soon as every informer the factory
 * has at that moment is synced (client-go's WaitForCacheSync, without
 * blocking).  -1 on out-of-memory. */
int kube_informer_factory_on_synced(kube_informer_factory_t *f,
                                    void (*fn)(void *arg), void *arg,
                                    kube_error_t *err);
size_t kube_informer_factory_count(const kube_informer_factory_t *f);
/* Stop and free every informer, then the factory.  Components using its
 * informers must have removed their registrations (or be freed) first.
 * Accepts NULL. */
void kube_informer_factory_free(kube_informer_factory_t *f);

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
/* True while `key` is handed out (between the process callback and done). */
bool kube_workqueue_is_processing(const kube_workqueue_t *q, const char *key);
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

/* ------------------------------------------------------------------------ */
/* Typed writes                                                              */
/* ------------------------------------------------------------------------ */

/* Writes over a transport with a completion callback each.  A writer keeps
 * track of its requests in flight, so freeing it cancels them (their
 * callbacks never run; writes already sent may still take effect).
 *
 * Paths come from the kinds table (kube_client_path); `ns` NULL or "" for
 * a namespaced kind means the object's own namespace, else "default".
 * Options (NULL: defaults) are the synchronous client's write options:
 * dry_run, field_manager, force (apply), grace_period (< 0: unset),
 * propagation ("Background" | "Foreground" | "Orphan") and the delete
 * preconditions.
 *
 * Every function returns 0 when the request was sent and -1 with err when
 * it could not be (bad arguments, out-of-memory, transport refused); the
 * callback then never runs. */

typedef struct kube_writer kube_writer_t;

/* Completion.  On success err is NULL and `result` is what the server
 * returned, parsed (the stored object; a Status for some deletes; NULL for
 * bindings and evictions, whose Status says only Success); on failure
 * `result` is NULL and err carries the reason
 * from the server's Status (Conflict, NotFound, AlreadyExists, Invalid
 * with causes, ...) or ServiceUnavailable when no reply came (status 0).
 * Both borrowed for the call (kube_object_copy to keep the object). */
typedef void (*kube_writer_cb)(const kube_object_t *result,
                               const kube_error_t *err, void *arg);

/* Owned: free with kube_writer_free.  `tp` is copied (its impl must
 * outlive the writer). */
kube_writer_t *kube_writer_new(kube_loop_t *loop, const kube_transport_t *tp,
                               kube_error_t *err);
/* Cancel every request in flight (no callback runs) and free.  Accepts
 * NULL; must not be called from one of its callbacks. */
void kube_writer_free(kube_writer_t *w);
/* Requests sent and not answered yet. */
size_t kube_writer_in_flight(const kube_writer_t *w);

/* POST `obj` (borrowed, serialised now).  `kind` NULL: from the object's
 * apiVersion/kind (NotFound for an unknown kind). */
int kube_writer_create(kube_writer_t *w, const kube_kind_t *kind,
                       const char *ns, const kube_object_t *obj,
                       const kube_client_write_options_t *opts,
                       kube_writer_cb cb, void *arg, kube_error_t *err);
/* PUT `obj`; its metadata.resourceVersion guards the update (Conflict when
 * stale).  BadRequest without a name. */
int kube_writer_update(kube_writer_t *w, const kube_kind_t *kind,
                       const char *ns, const kube_object_t *obj,
                       const kube_client_write_options_t *opts,
                       kube_writer_cb cb, void *arg, kube_error_t *err);
/* PUT `obj` to its status subresource. */
int kube_writer_update_status(kube_writer_t *w, const kube_kind_t *kind,
                              const char *ns, const kube_object_t *obj,
                              const kube_client_write_options_t *opts,
                              kube_writer_cb cb, void *arg, kube_error_t *err);
/* PATCH object `name` (or its subresource `sub`, may be NULL) with `patch`
 * (borrowed text) of `type`; apply patches get fieldManager "kube" unless
 * opts names one. */
int kube_writer_patch(kube_writer_t *w, const kube_kind_t *kind, const char *ns,
                      const char *name, const char *sub, kube_patch_type_t type,
                      const char *patch,
                      const kube_client_write_options_t *opts,
                      kube_writer_cb cb, void *arg, kube_error_t *err);
/* DELETE with DeleteOptions (grace period, propagation, preconditions,
 * dry run) from opts. */
int kube_writer_delete(kube_writer_t *w, const kube_kind_t *kind,
                       const char *ns, const char *name,
                       const kube_client_write_options_t *opts,
                       kube_writer_cb cb, void *arg, kube_error_t *err);
/* POST pods/NAME/binding: bind pod ns/name (uid: a precondition, may be
 * NULL) to `node`. */
int kube_writer_bind(kube_writer_t *w, const char *ns, const char *name,
                     const char *uid, const char *node,
                     const kube_client_write_options_t *opts, kube_writer_cb cb,
                     void *arg, kube_error_t *err);
/* POST pods/NAME/eviction (a policy/v1 Eviction whose deleteOptions come
 * from opts).  TooManyRequests when a disruption budget forbids it. */
int kube_writer_evict(kube_writer_t *w, const char *ns, const char *name,
                      const kube_client_write_options_t *opts,
                      kube_writer_cb cb, void *arg, kube_error_t *err);
/* Any request: `path` with its query, `body` (borrowed, may be NULL) of
 * `content_type` (NULL: application/json). */
int kube_writer_send(kube_writer_t *w, const char *method, const char *path,
                     const char *content_type, const char *body, size_t len,
                     kube_writer_cb cb, void *arg, kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* Event recorder                                                            */
/* ------------------------------------------------------------------------ */

/* Records core/v1 Events about objects, as client-go's EventRecorder with
 * its EventCorrelator does:
 * - an event identical to one recorded before (same source, object, type,
 *   reason and message) is not created again: the existing Event's count,
 *   lastTimestamp and series {count, lastObservedTime} are patched;
 * - similar events (same source, object, type and reason) with more than
 *   aggregate_max different messages within aggregate_interval become one
 *   Event whose message starts with "(combined from similar events): ";
 * - a spam filter allows each source + object a burst of spam_burst events,
 *   refilled at spam_qps (25 and one per 5 minutes by default); events
 *   beyond are dropped.
 * Writes go through the transport asynchronously: recording never blocks
 * and never fails for the caller (a write that fails is logged and counted;
 * a patch of an Event that vanished re-creates it).  At most max_in_flight
 * writes are outstanding; up to max_queued more wait (repeats of a waiting
 * event merge into it); beyond that events are dropped and counted. */

typedef struct kube_event_recorder kube_event_recorder_t;

typedef struct kube_event_recorder_options {
  size_t struct_size;     /* sizeof(kube_event_recorder_options_t) */
  const char *component;  /* source.component, reportingComponent; required */
  const char *host;       /* source.host; NULL: none */
  const char *instance;   /* reportingInstance; NULL: host, else hostname */
  unsigned spam_burst;    /* 0: 25 */
  double spam_qps;        /* 0: 1/300 */
  unsigned aggregate_max; /* 0: 10 */
  int64_t aggregate_interval_ms; /* 0: 600 s */
  size_t cache_size;    /* entries of each correlation cache; 0: 4096 */
  size_t max_in_flight; /* 0: 256 */
  size_t max_queued;    /* 0: 8192 */
} kube_event_recorder_options_t;

/* The object an event is about.  Strings borrowed for the call. */
typedef struct kube_event_ref {
  const char *kind;             /* "Pod"; required */
  const char *api_version;      /* "v1"; required */
  const char *namespace_;       /* NULL/"" for cluster-scoped objects */
  const char *name;             /* required */
  const char *uid;              /* may be NULL */
  const char *resource_version; /* may be NULL */
  const char *field_path;       /* "spec.containers{c}"; may be NULL */
} kube_event_ref_t;

typedef struct kube_event_recorder_stats {
  uint64_t recorded;      /* calls that passed the spam filter */
  uint64_t created;       /* Events POSTed (successfully) */
  uint64_t patched;       /* repeats PATCHed (successfully) */
  uint64_t merged;        /* repeats folded into a waiting write */
  uint64_t dropped_spam;  /* dropped by the spam filter */
  uint64_t dropped_queue; /* dropped because the queue was full */
  uint64_t failed;        /* writes that failed */
  size_t in_flight, queued;
} kube_event_recorder_stats_t;

/* Owned: free with kube_event_recorder_free.  BadRequest without a
 * component. */
kube_event_recorder_t *
kube_event_recorder_new(kube_loop_t *loop, const kube_transport_t *tp,
                        const kube_event_recorder_options_t *opts,
                        kube_error_t *err);
/* An event about `obj` (its kind, apiVersion, namespace, name, uid and
 * resourceVersion).  `type` "Normal" | "Warning".  Dropped (and counted as
 * failed) when the object has no kind or name. */
void kube_event_recorder_event(kube_event_recorder_t *r,
                               const kube_object_t *obj, const char *type,
                               const char *reason, const char *message);
KUBE_PRINTF(5, 6)
void kube_event_recorder_eventf(kube_event_recorder_t *r,
                                const kube_object_t *obj, const char *type,
                                const char *reason, const char *fmt, ...);
/* An event about a referenced object, with an `action` (may be NULL). */
void kube_event_recorder_record(kube_event_recorder_t *r,
                                const kube_event_ref_t *ref, const char *type,
                                const char *reason, const char *action,
                                const char *message);
void kube_event_recorder_get_stats(const kube_event_recorder_t *r,
                                   kube_event_recorder_stats_t *out);
/* Cancel the writes in flight, drop the queued ones, free.  Accepts NULL. */
void kube_event_recorder_free(kube_event_recorder_t *r);

/* ------------------------------------------------------------------------ */
/* Controller skeleton                                                       */
/* ------------------------------------------------------------------------ */

/* client-go's sample-controller in a struct: informer handlers enqueue
 * "namespace/name" keys into a rate-limited work queue; sync(key) runs for
 * each key once every informer it watches is synced; success forgets the
 * key's backoff, failure requeues it after a per-key exponential backoff;
 * a key is never synced twice at once (a change meanwhile queues it once
 * more for after).  sync must be idempotent: it reads the informers'
 * caches, compares with what should be, and writes the difference.
 *
 * A sync that starts an asynchronous write returns KUBE_SYNC_PENDING and
 * calls kube_controller_sync_done() with the outcome when the write
 * completes; the key stays "being synced" until then.  At most
 * max_in_flight keys are pending at once. */

typedef struct kube_controller kube_controller_t;

#define KUBE_SYNC_PENDING 1

/* 0: success; < 0: failure (requeued with backoff); KUBE_SYNC_PENDING.
 * `key` is borrowed, valid until the key's sync is over (for a pending
 * sync: until kube_controller_sync_done). */
typedef int (*kube_controller_sync_fn)(kube_controller_t *c, const char *key,
                                       void *arg);

/* Maps a changed object to the keys to sync: call kube_controller_enqueue
 * (or kube_controller_enqueue_owner) for each.  `key` and `obj` borrowed
 * for the call. */
typedef void (*kube_controller_map_fn)(kube_controller_t *c, const char *key,
                                       const kube_object_t *obj, void *arg);

typedef struct kube_controller_options {
  size_t struct_size;    /* sizeof(kube_controller_options_t) */
  const char *name;      /* for logs (copied); NULL: "controller" */
  size_t max_in_flight;  /* keys pending at once; 0: 16 */
  int64_t base_delay_ms; /* first retry delay; 0: 5 ms */
  int64_t max_delay_ms;  /* retry delay cap; 0: 1000 s (client-go's) */
  unsigned max_retries;  /* failures before a key is dropped; 0: never */
  /* Keys synced per turn of the loop; 0: 64.  With one key per turn a
   * controller with many keys (a hollow node's pods, a node agent's) synced
   * a key per pass of the loop's whole queue of other events on a busy
   * loop; keys beyond max_in_flight wait in the queue either way. */
  size_t max_batch;
} kube_controller_options_t;

typedef struct kube_controller_stats {
  uint64_t syncs;    /* syncs finished */
  uint64_t failures; /* of which failed */
  uint64_t dropped;  /* keys given up after max_retries */
  size_t pending;    /* syncs pending now */
} kube_controller_stats_t;

/* Owned: free with kube_controller_free.  `opts` may be NULL. */
kube_controller_t *kube_controller_new(kube_loop_t *loop,
                                       const kube_controller_options_t *opts,
                                       kube_controller_sync_fn sync, void *arg,
                                       kube_error_t *err);
/* Enqueue keys for every add, update and delete of `inf`'s objects: the
 * object's own key when `map` is NULL, else what map(obj) enqueues (for an
 * update, map runs for the old and the new object).  Syncs wait until this
 * registration is synced.  `inf` must outlive the controller. */
int kube_controller_watch(kube_controller_t *c, kube_informer_t *inf,
                          kube_controller_map_fn map, void *map_arg,
                          kube_error_t *err);
/* Enqueue the key of the controller owner (ownerReference with controller:
 * true) of kind `owner_kind` ("ReplicaSet"; copied) of each changed object:
 * sample-controller's handleObject. */
int kube_controller_watch_owned(kube_controller_t *c, kube_informer_t *inf,
                                const char *owner_kind, kube_error_t *err);
/* Queue a key now / after delay_ms.  -1 on out-of-memory. */
int kube_controller_enqueue(kube_controller_t *c, const char *key,
                            kube_error_t *err);
int kube_controller_enqueue_after(kube_controller_t *c, const char *key,
                                  int64_t delay_ms, kube_error_t *err);
/* Enqueue "namespace/name" of obj's controller owner when its kind is
 * owner_kind.  Returns 1 when a key was queued, 0 when there is no such
 * owner, -1 on out-of-memory. */
int kube_controller_enqueue_owner(kube_controller_t *c,
                                  const kube_object_t *obj,
                                  const char *owner_kind, kube_error_t *err);
/* Begin syncing (as soon as every watched informer is synced). */
int kube_controller_start(kube_controller_t *c, kube_error_t *err);
/* True once started and every watched informer is synced. */
bool kube_controller_ready(const kube_controller_t *c);
/* Finish a sync that returned KUBE_SYNC_PENDING with its outcome (0 or
 * < 0).  `key` may be a copy.  Unknown keys are ignored. */
void kube_controller_sync_done(kube_controller_t *c, const char *key,
                               int result);
/* The controller's queue (borrowed), for its counters. */
kube_workqueue_t *kube_controller_queue(kube_controller_t *c);
void kube_controller_get_stats(const kube_controller_t *c,
                               kube_controller_stats_t *out);
/* Remove the handler registrations and free the queue; pending syncs are
 * forgotten.  Free the writers whose callbacks call
 * kube_controller_sync_done first (freeing a writer cancels its
 * callbacks).  Accepts NULL. */
void kube_controller_free(kube_controller_t *c);

#ifdef __cplusplus
}
#endif
#endif /* LIBKUBE_KIT_H */
