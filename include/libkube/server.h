/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libkube server: a whole control plane (and later a node) composed in one
 * process from one options struct: the event loop, the object store, the
 * API server with its listeners, and components — the scheduler and the
 * built-in registry today; controllers, the node agent and the dashboard
 * plug in the same way, and so do an embedder's own components.
 *
 * A component is an implementation pointer plus a table of operations
 * (kube_component_ops_t).  The server calls them in a fixed order:
 *
 *   start:    init (composition order)  ->  start (composition order)
 *   shutdown: drain (reverse order, each may finish asynchronously)
 *             -> the API server drains its requests
 *             -> stop (reverse order) -> free (reverse order)
 *             -> the store finishes queued writes and closes.
 *
 * So a component may still use the API while it drains (a node agent
 * finishing a status write) and never sees the API vanish under it.
 *
 * Keeping the data: GET /libkube/v1/backup (group system:masters only)
 * answers a consistent snapshot of the store taken while serving (a SQLite
 * database; see kube_store_snapshot_begin); restore_from restores one
 * into a fresh data directory.  POST /libkube/v1/migrate?to=etcd&
 * etcdEndpoints=URL (same) moves a running sqlite cluster to etcd, records
 * it in DATA/store.conf (read by kube_server_new) and stops the server
 * for a restart (kube_server_restart_requested).
 *
 * Threading: every function runs on the server's loop thread, except
 * kube_server_stop(), which any thread (or a signal handler's loop
 * callback) may call.
 */
#ifndef LIBKUBE_SERVER_H
#define LIBKUBE_SERVER_H

#include <libkube/apiserver.h>
#include <libkube/core.h>
#include <libkube/node.h>
#include <libkube/store.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kube_server kube_server_t;

/* ------------------------------------------------------------------------ */
/* Components                                                                */
/* ------------------------------------------------------------------------ */

#define KUBE_COMPONENT_OPS_VERSION 1

/* Tells the server a component finished draining.  Call it exactly once,
 * on the loop thread, inline or later. */
typedef void (*kube_component_drained_fn)(void *token);

typedef struct kube_component_ops {
  uint32_t version; /* KUBE_COMPONENT_OPS_VERSION */
  const char *name; /* "scheduler", "node", ...: for logs and lookups */
  /* Once, after the store and the API server exist and before any
   * component starts: look up what it needs (kube_server_loop,
   * kube_server_transport, ...).  May be NULL.  -1 with err aborts the
   * server's start. */
  int (*init)(void *impl, kube_server_t *srv, kube_error_t *err);
  /* Begin work (watches, timers, listeners).  May be NULL. */
  int (*start)(void *impl, kube_error_t *err);
  /* Stop taking new work and finish what is in flight, then call
   * drained(token).  May be NULL (drained at once). */
  void (*drain)(void *impl, kube_component_drained_fn drained, void *token);
  /* Release watches, timers and connections; the loop still runs.  May
   * be NULL. */
  void (*stop)(void *impl);
  /* Free impl.  May be NULL (the server does not own impl then). */
  void (*free)(void *impl);
} kube_component_ops_t;

/* ------------------------------------------------------------------------ */
/* Options                                                                   */
/* ------------------------------------------------------------------------ */

/* A zeroed struct (with struct_size set) is a working server with the
 * defaults of `kubed server`, except the node agent, which an embedder asks
 * for with `node` (kubed runs one unless --no-node).  Strings are borrowed
 * for kube_server_new() only (they are copied). */
typedef struct kube_server_options {
  size_t struct_size; /* sizeof(kube_server_options_t) */
  /* The loop to run on (borrowed; must outlive the server).  NULL: the
   * server creates one and frees it. */
  kube_loop_t *loop;
  /* State directory (store.db, token, ca.*, tls.*, join-token,
   * kubeconfig.yaml), created
   * with mode 0700.  NULL: the build's default (/var/lib/libkube), except
   * for the memory store with no TCP listener, which needs none. */
  const char *data_dir;
  /* NULL-terminated listen specs ("unix:PATH", "tcp:ADDR:PORT").  NULL:
   * the unix socket /run/libkube/kubed.sock and tcp:127.0.0.1:6443.  An
   * empty array ({NULL}): no listener; in-process clients only. */
  const char *const *listen;
  const char *store;          /* "sqlite" (default), "etcd", "memory" */
  const char *etcd_endpoints; /* for "etcd": "http://127.0.0.1:2379,..." */
  /* Bearer token TCP clients must send.  NULL: kept in DATA/token,
   * generated on first start. */
  const char *token;
  size_t max_body_bytes;        /* 0: the API server's default (3 MiB) */
  bool plain_http;              /* TCP without TLS (debugging only) */
  bool no_scheduler;            /* do not run the scheduler */
  const char *scheduler_config; /* file with scheduler settings, or NULL */
  /* The controller manager (component "controller-manager", after the
   * scheduler): kube-controller-manager's --controllers list
   * ("*,-nodelifecycle"; NULL: "*"; see <libkube/controller.h>).
   * BadRequest for an unknown controller name. */
  const char *controllers;
  bool no_controllers; /* do not run any controller */
  /* The scheduler and the controller manager take a Lease each
   * (kube-system/kube-scheduler, kube-system/kube-controller-manager) and
   * work only while they hold it, so several servers on one store
   * schedule and reconcile once.  A single server takes them at once (its
   * identity is kept in DATA/identity).  Set to work without Leases. */
  bool no_leader_elect;
  /* The built-in OCI registry serving DATA/images: NULL-terminated
   * "tcp:ADDR:PORT" specs (NULL: tcp:127.0.0.1:5000; later also the node
   * IP).  Loopback listeners are plain HTTP; others TLS with the token.
   * Its address goes to ConfigMap kube-system/libkube-cluster (key
   * "registry", other keys kept) and, unless the operator wrote one, to
   * DATA/registries.yaml as the mirror of every registry.  No registry
   * without a data directory. */
  const char *const *registry_listen;
  bool no_registry;
  /* Install SIGTERM/SIGINT handlers on the loop while kube_server_run
   * runs: the first signal stops gracefully, the second at once. */
  bool handle_signals;
  /* How the API server reaches kubelet ports for pods on nodes in other
   * processes (see kube_apiserver_options_t): PEM client certificate and
   * key (both NULL: with a cluster CA, DATA/kubelet-client.crt and .key,
   * CN kube-apiserver-kubelet-client, O system:masters, signed by it at
   * each start, which kubelet ports of this cluster accept), and the CA
   * of the kubelets' serving certificates (NULL: the cluster CA, which
   * signs them). */
  const char *kubelet_client_cert_file;
  const char *kubelet_client_key_file;
  const char *kubelet_ca_file;
  /* All watch streams' queued bytes (see kube_apiserver_options_t); 0:
   * 256 MiB. */
  size_t watch_budget_bytes;
  /* A snapshot (GET /libkube/v1/backup, `kube backup FILE`) to restore
   * into the data directory before starting: sqlite store only, and only
   * into a data directory without a store.db (AlreadyExists). */
  const char *restore_from;
  /* Who may do what (see kube_apiserver_options_t): a static token file
   * (--token-auth-file) and the audit log of writes.  With TLS the server
   * keeps a cluster CA in DATA/ca.crt and ca.key (it signs the serving
   * certificate, user certificates from `kube config new-user` and
   * approved CertificateSigningRequests) and a node join token in
   * DATA/join-token (a bootstrap token; not the admin token). */
  const char *token_auth_file;
  const char *audit_log;
  size_t audit_log_max_bytes; /* 0: 100 MiB */
  /* node-lifecycle-controller: a Node whose Lease and status heartbeats
   * stopped for this long goes Ready=Unknown and is tainted
   * (--node-monitor-grace-period; 0: 40000). */
  int64_t node_monitor_grace_period_ms;
  /* node-ipam-controller: the range Nodes' spec.podCIDR blocks come from
   * (--cluster-cidr; NULL: "10.42.0.0/16") and the block size
   * (--node-cidr-mask-size; 0: 24).  BadRequest when malformed. */
  const char *cluster_cidr;
  int node_cidr_mask_size;
  /* kube-controller-manager's --cluster-signing-duration: how long the
   * certificates signed for CertificateSigningRequests last (node client
   * and serving certificates), a Go duration ("8760h", "20m"; at least
   * 1m).  NULL: 8760h.  BadRequest when malformed. */
  const char *cluster_signing_duration;
  /* The rest of the cluster's address plan, owned by the server: the
   * in-process node agent takes these (its own service_cidr, cluster_dns
   * and cluster_domain are overridden) and they are published with the
   * registry's address in ConfigMap kube-system/libkube-cluster (keys
   * serviceCIDR, clusterCIDR, serviceNodePortRange, clusterDomain,
   * clusterDNS, advertiseAddress, registry), where other agents read them.
   *  - service_cidr: Services' cluster IPs (--service-cidr; NULL:
   *    "10.96.0.0/12"; the kubernetes Service has its first address).
   *  - service_node_port_range: (--service-node-port-range; NULL:
   *    "30000-32767").
   *  - cluster_domain: (--cluster-domain; NULL: "cluster.local").
   *  - cluster_dns: the cluster DNS Service's address (--cluster-dns;
   *    NULL: the 10th address of the service CIDR, 10.96.0.10).
   *  - advertise_address: where pods reach the API server: the
   *    `kubernetes` Service's endpoints, the serving certificate's SANs,
   *    and a listener on the first TCP listener's port (--advertise-
   *    address; NULL: the node's IP with a node, else 127.0.0.1).
   * BadRequest when malformed. */
  const char *service_cidr;
  const char *service_node_port_range;
  const char *cluster_domain;
  const char *cluster_dns;
  const char *advertise_address;
  /* The cluster DNS (component "dns", after the controllers; see
   * <libkube/dns.h>) answers for cluster_domain and is the
   * kube-system/kube-dns Service at cluster_dns.  It listens (UDP and
   * TCP) on dns_listen "ADDR:PORT" (NULL: the node IP, or 127.0.0.1
   * without a node, port 53; a busy default port only logs a warning),
   * forwards other names to dns_upstream ("none", "ADDR[:PORT],...";
   * NULL: the host's /etc/resolv.conf), and keeps Service
   * kube-system/kube-dns with Endpoints and an EndpointSlice pointing at
   * the listener.  A server without a data directory runs it only when
   * dns_listen is set. */
  const char *dns_listen;
  const char *dns_upstream;
  bool no_dns;
  /* Run a node agent in this process with these options (borrowed for
   * kube_server_new; copied): component "node", after the scheduler.
   * Its data_dir defaults to the server's.  NULL: no node. */
  const kube_node_agent_options_t *node;
  /* The web dashboard at /ui/ on the API server's listeners (component
   * "dashboard"): its files are public, everything it shows comes from
   * the API with the user's bearer token (RBAC applies); POST
   * /ui/login/codes gives an authenticated caller a one-time login code
   * for /ui/#code=CODE (`kube dashboard`).  Set to serve no /ui/. */
  bool no_dashboard;
  /* The node's kubelet port, for API servers in other processes:
   * "ADDR:PORT" (PORT 1-65535) where the node's streaming server listens
   * on HTTPS with a serving certificate signed by the cluster CA for the
   * node's name and IP (DATA/kubelet.crt, kubelet.key), requiring a
   * client certificate signed by that CA (as the kubelet with
   * --client-ca-file); the port goes to the Node's
   * daemonEndpoints.kubeletEndpoint.Port.  Needs `node` and the cluster
   * CA (a TLS listener); BadRequest otherwise.  NULL: no port (the API
   * server of this process serves its node's pods directly). */
  const char *node_kubelet_listen;
  /* horizontal-pod-autoscaler-controller: how often each HPA is
   * reconciled (--horizontal-pod-autoscaler-sync-period; 0: 15000). */
  int64_t hpa_sync_period_ms;
  /* Hollow nodes in this process (component "hollow", after the node),
   * over the in-process transport and the shared informers (borrowed for
   * kube_server_new; copied).  NULL: none. */
  const kube_node_hollow_options_t *hollow;
  /* kube-apiserver's --event-ttl: Events are deleted this long after their
   * last write (a Go duration; NULL: "1h"; "0": never). */
  const char *event_ttl;
  /* kube-apiserver's --etcd-compaction-interval: the store's watch history
   * (and etcd's) is compacted this often to the revision of one interval
   * before (NULL: "5m"; "0": never). */
  const char *compaction_interval;
} kube_server_options_t;

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */
/* ------------------------------------------------------------------------ */

/* Create the server: data directory, token, serving certificate, store,
 * API server and its listeners, kubeconfig (DATA/kubeconfig.yaml when a
 * TCP listener exists), and the built-in components the options ask for.
 * Nothing runs until kube_server_start/run.  Owned: free with
 * kube_server_free.  NULL with err (BadRequest for bad options, the
 * store's or listener's error otherwise). */
kube_server_t *kube_server_new(const kube_server_options_t *opts,
                               kube_error_t *err);

/* Add a component after the built-in ones (before kube_server_start).
 * `ops` is borrowed (usually static) and must outlive the server; `impl`
 * is passed to every operation and freed through ops->free, also when
 * this call fails.  -1 with err (BadRequest: unknown ops version, or the
 * server already started). */
int kube_server_add_component(kube_server_t *srv,
                              const kube_component_ops_t *ops, void *impl,
                              kube_error_t *err);

/* Init and start every component.  0, or -1 with err (components started
 * so far are stopped again). */
int kube_server_start(kube_server_t *srv, kube_error_t *err);

/* Start (if not started) and run the loop until kube_server_stop() (or a
 * signal, with handle_signals) and the shutdown sequence finished.  0, or
 * -1 with err.  When the server runs on an embedder's loop, prefer
 * kube_server_start + kube_server_shutdown. */
int kube_server_run(kube_server_t *srv, kube_error_t *err);

/* Ask a running server to shut down (the sequence at the top of this
 * header).  Any thread.  Idempotent. */
void kube_server_stop(kube_server_t *srv);

/* Called once the shutdown sequence finished. */
typedef void (*kube_server_done_fn)(kube_server_t *srv, void *arg);
/* Run the shutdown sequence on the loop (for servers on an embedder's
 * loop); `done` (may be NULL) runs when it finished.  Loop thread. */
void kube_server_shutdown(kube_server_t *srv, kube_server_done_fn done,
                          void *arg);

/* Free everything the server created (running the shutdown sequence
 * synchronously first if it did not run).  Accepts NULL. */
void kube_server_free(kube_server_t *srv);

/* ------------------------------------------------------------------------ */
/* What components use                                                       */
/* ------------------------------------------------------------------------ */

/* All borrowed, valid until kube_server_free. */
kube_loop_t *kube_server_loop(kube_server_t *srv);
kube_store_t *kube_server_store(kube_server_t *srv);
kube_apiserver_t *kube_server_apiserver(kube_server_t *srv);
/* Worker threads for blocking work (created on first use).  NULL with err
 * when threads cannot start. */
kube_workers_t *kube_server_workers(kube_server_t *srv, kube_error_t *err);
/* The data directory, or NULL when the server has none. */
const char *kube_server_data_dir(const kube_server_t *srv);
/* True when the server stopped to be started again with the same options
 * (a migration moved its store: DATA/store.conf names the new one).  The
 * frontend frees it and starts it again (kubed execs itself). */
bool kube_server_restart_requested(const kube_server_t *srv);
/* The in-process transport (no socket) to the server's API (see
 * <libkube/kit.h>; it is valid until kube_server_free). */
struct kube_transport;
void kube_server_transport(kube_server_t *srv, struct kube_transport *out);
/* The process's shared informer factory (<libkube/kit.h>) over the
 * in-process transport, created on first use: components take their
 * informers from it, so each collection (150,000 pods) is cached once.  A
 * component starts the informers it needs (or the factory); the server
 * stops them once every component drained (their watches would hold the
 * API server's drain) and frees the factory after the components, which
 * must have removed their handler registrations.  NULL with err on
 * out-of-memory. */
struct kube_informer_factory;
struct kube_informer_factory *kube_server_informers(kube_server_t *srv,
                                                    kube_error_t *err);
/* The URL of the first TCP listener ("https://127.0.0.1:6443"), or NULL. */
const char *kube_server_url(const kube_server_t *srv);
/* DATA/kubeconfig.yaml when it was written, else NULL. */
const char *kube_server_kubeconfig(const kube_server_t *srv);
/* The implementation of the component named `name`, or NULL. */
void *kube_server_component(kube_server_t *srv, const char *name);

#ifdef __cplusplus
}
#endif
#endif /* LIBKUBE_SERVER_H */
