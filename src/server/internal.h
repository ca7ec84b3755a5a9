/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared inside the server module only (prefix srv_). */
#ifndef KUBE_SERVER_INTERNAL_H
#define KUBE_SERVER_INTERNAL_H

#include <sys/types.h>

#include <libkube/server.h>

#include "core/util.h"

/* files.c */
int srv_mkdir_p(const char *path, mode_t mode, kube_error_t *err);
/* Write `data` to path atomically (temp file, fsync, rename) with mode. */
int srv_write_file(const char *path, const char *data, mode_t mode,
                   kube_error_t *err);
/* Make the data directory private (0700), or refuse it (see files.c). */
int srv_private_dir(const char *path, kube_error_t *err);
/* chmod go-rwx a regular file left open to others (logged). */
int srv_private_file(const char *path, kube_error_t *err);
/* The bearer token: `given`, or DIR/token, or a new one written there.
 * Owned. */
char *srv_load_token(const char *dir, const char *given, kube_error_t *err);
/* The leader-election identity "<hostname>_<uuid>", kept in DIR/identity
 * (dir NULL: a new one each time).  Owned. */
char *srv_load_identity(const char *dir, kube_error_t *err);
/* DIR/tls.crt and DIR/tls.key, generated when missing (owned paths). */
/* DATA/ca.crt and ca.key, created when missing: 1 when created now, 0
 * when they existed, -1 with err.  Paths owned. */
int srv_ensure_ca(const char *dir, char **ca_out, char **ca_key_out,
                  kube_error_t *err);
/* DATA/join-token, generated on first start (owned). */
char *srv_load_join_token(const char *dir, kube_error_t *err);
/* DATA/kubelet-client.crt and .key: the API server's client certificate
 * for kubelet ports (CN kube-apiserver-kubelet-client, O system:masters,
 * as kubeadm's apiserver-kubelet-client), signed by the cluster CA anew at
 * each start.  Paths owned (free). */
int srv_kubelet_client_cert(const char *dir, const char *ca,
                            const char *ca_key, char **cert_out,
                            char **key_out, kube_error_t *err);
/* DATA/kubelet.crt and .key: the node's kubelet serving certificate for
 * its name and IP (may be NULL), signed by the cluster CA anew at each
 * start.  Paths owned (free). */
int srv_kubelet_serving_cert(const char *dir, const char *ca,
                             const char *ca_key, const char *node_name,
                             const char *node_ip, char **cert_out,
                             char **key_out, kube_error_t *err);

/* DATA/tls.crt and tls.key signed by the cluster CA for the names `san`
 * adds (see kube_apiserver_generate_cert; NULL: the default cluster's);
 * made again when the CA is new or the names changed (DATA/tls.san keeps
 * the ones it was made for).  Paths owned. */
int srv_ensure_cert(const char *dir, const char *san, char **cert_out,
                    char **key_out, kube_error_t *err);

/* backup.c: GET /libkube/v1/backup (admins only), and --restore. */
int srv_backup_register(kube_server_t *srv, kube_error_t *err);
int srv_restore(const char *data_dir, const char *store, const char *file,
                kube_error_t *err);
/* A Status reply with `code`, `reason` and `message`. */
void srv_reply_status(kube_http_request_t *req, int code, const char *reason,
                      const char *message);
/* In group system:masters. */
bool srv_user_is_admin(const kube_apiserver_user_t *u);

/* migrate.c: POST /libkube/v1/migrate; DATA/store.conf (the store a
 * migration moved to: *store and an owned *endpoints; refuses a
 * contradicting --store). */
int srv_migrate_register(kube_server_t *srv, kube_error_t *err);
int srv_store_conf(const char *data_dir, const char **store,
                   char **endpoints, kube_error_t *err);
/* server.c: stop and ask the frontend to start again (same command line). */
void srv_request_restart(kube_server_t *srv);

/* Built-in components (one file each). */
extern const kube_component_ops_t srv_scheduler_ops;
/* leader_elect: schedule only while holding kube-system/kube-scheduler. */
void *srv_scheduler_new(const char *config_file, bool leader_elect,
                        kube_error_t *err);
/* The controller manager (controllers.c) with the options' controllers
 * (kube-controller-manager's --controllers; NULL: "*"), leader election
 * and controller settings (copied). */
extern const kube_component_ops_t srv_controllers_ops;
void *srv_controllers_new(const kube_server_options_t *o, kube_error_t *err);
/* Its /metrics lines (nothing once it drained). */
void srv_scheduler_metrics(void *impl, kube_strbuf_t *out);
/* The built-in registry (registry.c): listen specs NULL-terminated (NULL
 * or empty: tcp:127.0.0.1:5000). */
extern const kube_component_ops_t srv_registry_ops;
void *srv_registry_new(const char *const *listen, kube_error_t *err);
/* Hook for the node agent: once it knows the node's IP, the registry
 * listens there too (TLS + token; the port of the first listener). */
int srv_registry_listen_node(void *impl, const char *node_ip,
                             kube_error_t *err);
/* "HOST:PORT" clients use (borrowed), NULL before the start. */
const char *srv_registry_address(void *impl);

/* server.c: what built-in components need of the server's own state
 * (borrowed; NULL when absent). */
const char *srv_token(const kube_server_t *srv);
void srv_tls_files(const kube_server_t *srv, const char **cert,
                   const char **key);
/* DATA/ca.crt and ca.key, the cluster CA (TLS servers). */
const char *srv_ca_file(const kube_server_t *srv);
const char *srv_ca_key_file(const kube_server_t *srv);

/* The web dashboard at /ui/ (dashboard.c). */
extern const kube_component_ops_t srv_dashboard_ops;
void *srv_dashboard_new(kube_error_t *err);
/* The cluster DNS (dns.c) from the options' DNS settings (copied);
 * BadRequest for a bad domain, address or upstream. */
extern const kube_component_ops_t srv_dns_ops;
void *srv_dns_new(const kube_server_options_t *o, kube_error_t *err);
/* The port it listens on (0: none). */
int srv_dns_port(void *impl);
/* Its /metrics lines (kubed_dns_*). */
void srv_dns_metrics(void *impl, kube_strbuf_t *out);

/* The cluster's address plan (server.c), resolved from the options:
 * every string set. */
typedef struct srv_cluster_plan {
  char *service_cidr;
  uint32_t service_net; /* host order */
  int service_bits;
  char *node_port_range;
  char *cluster_domain;
  char *cluster_dns;
  char *advertise_address;
  char *cluster_cidr;
} srv_cluster_plan_t;
const srv_cluster_plan_t *srv_cluster_plan(const kube_server_t *srv);

/* settings.c: publishes the plan and the registry's address in ConfigMap
 * kube-system/libkube-cluster (component "cluster-settings", after the
 * registry). */
extern const kube_component_ops_t srv_settings_ops;
void *srv_settings_new(kube_error_t *err);
/* pod-routes.c: every Node's pod CIDR and InternalIP as key podRoutes of
 * that ConfigMap, for the nodes' routes (component "pod-routes"). */
extern const kube_component_ops_t srv_pod_routes_ops;
void *srv_pod_routes_new(kube_error_t *err);


extern const kube_component_ops_t srv_node_ops;
/* opts borrowed (copied); kubelet_listen: kube_server_options_t's
 * node_kubelet_listen (copied; may be NULL). */
void *srv_node_new(const struct kube_node_agent_options *opts,
                   const char *kubelet_listen, kube_error_t *err);

/* Event TTL and store compaction (housekeeping.c; component
 * "housekeeping"); a period <= 0 turns that part off. */
extern const kube_component_ops_t srv_housekeeping_ops;
void *srv_housekeeping_new(int64_t event_ttl_ms, int64_t compaction_ms,
                           kube_error_t *err);

/* Hollow nodes (component "hollow"); opts borrowed (copied). */
extern const kube_component_ops_t srv_hollow_ops;
void *srv_hollow_new(const struct kube_node_hollow_options *opts,
                     kube_error_t *err);

#endif /* KUBE_SERVER_INTERNAL_H */
