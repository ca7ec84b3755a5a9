/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libkube net: pod networking.
 *
 * Sections:
 *  - CNI: the Container Network Interface (spec 1.0.0, and the 0.3/0.4
 *    configurations plugins still ship), invoking real plugin binaries
 *    (Debian's containernetworking-plugins: bridge, host-local, portmap,
 *    ...) the way libcni does: the network configuration list is the first
 *    file of the configuration directory by name (*.conflist, *.conf,
 *    *.json), plugins are chained (ADD in order with prevResult, DEL in
 *    reverse), runtimeConfig carries the capabilities a plugin declares
 *    (portMappings), and every ADD's result is cached with the
 *    configuration it used, so DEL and CHECK work after a restart and
 *    after the configuration changed.
 *  - The bridge network a node agent writes for its pod CIDR.
 *  - Service load balancing at the socket (kube_svclb_t): eBPF cgroup
 *    programs that send a connect() or sendmsg() to a Service's address
 *    straight to one of its backends (no per-packet NAT).
 *
 * Threads: a kube_cni_t may be used from any number of threads at once
 * (each call reads the configuration afresh and spawns its own plugin
 * processes); the calls block while plugins run, so call them from worker
 * threads (kube_workers_t), never on an event loop.
 *
 * Errors: kube_error_t *err last.  A plugin's error result ({"code",
 * "msg", "details"}) becomes the message "plugin type=\"bridge\" name=\"N\"
 * failed (add): <msg>: <details>"; a missing configuration or plugin is
 * ServiceUnavailable (the network is not ready), bad configuration files
 * BadRequest, a plugin that outlives the timeout Timeout.
 */
#ifndef LIBKUBE_NET_H
#define LIBKUBE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libkube/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================== */
/* CNI                                                                      */
/* ======================================================================== */

typedef struct kube_cni kube_cni_t;

typedef struct kube_cni_options {
  size_t struct_size; /* sizeof(kube_cni_options_t) */
  /* Directory of network configurations (borrowed, copied).  Required. */
  const char *conf_dir;
  /* Colon-separated directories of plugin binaries (CNI_PATH); NULL:
   * "/usr/lib/cni:/opt/cni/bin". */
  const char *bin_dirs;
  /* Where the results of ADD are kept (created).  Required. */
  const char *cache_dir;
  /* Kill a plugin that runs longer (0: 60 s).  Milliseconds. */
  int timeout_ms;
} kube_cni_options_t;

/* Owned: free with kube_cni_free.  BadRequest without conf_dir or
 * cache_dir; the cache directory is created (0700). */
kube_cni_t *kube_cni_new(const kube_cni_options_t *opts, kube_error_t *err);
void kube_cni_free(kube_cni_t *cni); /* accepts NULL */

/* Whether pods can be networked now: a valid configuration exists and
 * every plugin it names is found.  0 with *name_out (may be NULL) the
 * network's name (owned, free()), or -1 with err: ServiceUnavailable
 * "no networks found in DIR", "failed to find plugin \"x\" in path
 * [DIRS]", or BadRequest naming a broken file. */
int kube_cni_status(kube_cni_t *cni, char **name_out, kube_error_t *err);

/* One hostPort of a pod (the portMappings capability). */
typedef struct kube_cni_port_mapping {
  int32_t host_port;
  int32_t container_port;
  const char *protocol; /* "tcp", "udp", "sctp" (lower case; NULL: tcp) */
  const char *host_ip;  /* NULL or "": every address */
} kube_cni_port_mapping_t;

/* One attachment of a sandbox to the network.  Strings borrowed. */
typedef struct kube_cni_attachment {
  size_t struct_size;       /* sizeof(kube_cni_attachment_t) */
  const char *container_id; /* CNI_CONTAINERID ([A-Za-z0-9_.-]); required */
  const char *netns;        /* CNI_NETNS (a path); required for ADD/CHECK */
  const char *ifname;       /* CNI_IFNAME; NULL: "eth0" */
  /* CNI_ARGS K8S_POD_NAMESPACE, K8S_POD_NAME, K8S_POD_UID (may be NULL);
   * K8S_POD_INFRA_CONTAINER_ID is the container id; IgnoreUnknown=1. */
  const char *pod_namespace;
  const char *pod_name;
  const char *pod_uid;
  const kube_cni_port_mapping_t *port_mappings;
  size_t n_port_mappings;
} kube_cni_attachment_t;

typedef struct kube_cni_interface {
  char *name;
  char *mac;
  char *sandbox; /* the netns path for interfaces inside it, else NULL */
} kube_cni_interface_t;

typedef struct kube_cni_ip {
  char *address; /* CIDR, "10.42.0.5/24" */
  char *gateway; /* NULL when absent */
  int interface; /* index into interfaces, -1 when absent */
  bool ipv6;
} kube_cni_ip_t;

typedef struct kube_cni_route {
  char *dst; /* "0.0.0.0/0" */
  char *gw;  /* NULL when absent */
} kube_cni_route_t;

/* A parsed result (the last plugin's).  Every string is owned. */
typedef struct kube_cni_result {
  char *cni_version;
  size_t n_interfaces;
  kube_cni_interface_t *interfaces;
  size_t n_ips;
  kube_cni_ip_t *ips;
  size_t n_routes;
  kube_cni_route_t *routes;
  char **dns_nameservers; /* NULL-terminated; NULL when none */
  size_t n_dns_nameservers;
  char *dns_domain;
  char **dns_search; /* NULL-terminated; NULL when none */
  size_t n_dns_search;
  char *json; /* the result as the plugin printed it, compact */
} kube_cni_result_t;

/* Parse a result document (any supported version) into *out (cleared
 * with kube_cni_result_clear).  BadRequest on malformed input. */
int kube_cni_result_parse(const char *json, size_t len, kube_cni_result_t *out,
                          kube_error_t *err);
void kube_cni_result_clear(kube_cni_result_t *r); /* zeroes; accepts NULL */
/* The address of ips[i] without its prefix length ("10.42.0.5") into
 * buf (>= 46 bytes); NULL when i is out of range.  Returns buf. */
char *kube_cni_result_ip(const kube_cni_result_t *r, size_t i, char *buf,
                         size_t len);

/* ADD: run the network's plugins in order; the last result goes to *out
 * (may be NULL) and to the cache.  On failure the plugins that ran are
 * asked to DEL again (best effort), so nothing is left allocated. */
int kube_cni_add(kube_cni_t *cni, const kube_cni_attachment_t *a,
                 kube_cni_result_t *out, kube_error_t *err);
/* CHECK (configurations 0.4.0 and later; older ones: 0 at once) with the
 * cached result.  NotFound when nothing is cached. */
int kube_cni_check(kube_cni_t *cni, const kube_cni_attachment_t *a,
                   kube_error_t *err);
/* DEL: run the plugins in reverse with the cached configuration and
 * result (when there is none: the current configuration), then drop the
 * cache entry.  Idempotent: a DEL of an attachment that does not exist
 * succeeds (as the plugins' own DEL does).  a->netns may be NULL or a path
 * that is gone. */
int kube_cni_del(kube_cni_t *cni, const kube_cni_attachment_t *a,
                 kube_error_t *err);
/* The cached result of an earlier ADD of (container_id, ifname NULL:
 * "eth0"): for an agent adopting its pods after a restart.  NotFound when
 * nothing is cached. */
int kube_cni_cached_result(kube_cni_t *cni, const char *container_id,
                           const char *ifname, kube_cni_result_t *out,
                           kube_error_t *err);
/* The container ids with a cached attachment (owned NULL-terminated array
 * of owned strings; free each and the array): to find attachments whose
 * sandbox is gone. */
int kube_cni_cached_ids(kube_cni_t *cni, char ***ids_out, size_t *n_out,
                        kube_error_t *err);

/* ---- the node's bridge network ---- */

typedef struct kube_cni_bridge_options {
  size_t struct_size;   /* sizeof(kube_cni_bridge_options_t) */
  const char *name;     /* the network's name; NULL: "libkube" */
  const char *bridge;   /* the Linux bridge (<= 15 bytes); required */
  const char *subnet;   /* the node's pod CIDR ("10.42.0.0/24"); required */
  const char *ipam_dir; /* host-local's dataDir; NULL: its default */
  bool ip_masq;         /* masquerade traffic leaving the subnet */
  int mtu;              /* 0: the plugin's default */
} kube_cni_bridge_options_t;

/* The configuration list of the node's network: bridge (gateway on the
 * bridge, hairpin mode, host-local addresses of `subnet` with a default
 * route) and portmap (hostPort).  Owned JSON text, free(); NULL with err
 * (BadRequest: a bad subnet or bridge name). */
char *kube_cni_bridge_conflist(const kube_cni_bridge_options_t *o,
                               kube_error_t *err);
/* Write `json` to path atomically (temporary file + rename) unless the
 * file already holds exactly that text.  1 when written, 0 when unchanged,
 * -1 with err. */
int kube_cni_write_conf(const char *path, const char *json, kube_error_t *err);

/* ---- addresses ---- */

/* The IPv4 address of the interface that holds the default route (what
 * the kubelet picks for a node), else the first global IPv4 address of an
 * interface that is up.  buf >= 16 bytes.  NotFound when there is none. */
int kube_net_default_ipv4(char *buf, size_t len, kube_error_t *err);

/* Add (or delete) an unreachable route for `cidr` in the calling thread's
 * network namespace (`ip route add unreachable CIDR`): the node's service
 * CIDR, so an untranslated packet to a Service address dies here.  1 when
 * added/deleted, 0 when it was there already/was not there, -1 with err
 * (BadRequest: a bad CIDR; Forbidden without CAP_NET_ADMIN). */
int kube_net_unreachable_route(const char *cidr, bool add, kube_error_t *err);

/* Add (or delete) the route `cidr` via `gateway` (IPv4) in the calling
 * thread's network namespace (`ip route add CIDR via GW proto static`):
 * another node's pod CIDR via that node's address.  A delete names the
 * gateway, so a route somebody else made for the CIDR via another address
 * stays.  1 when added/deleted, 0 when a route for CIDR was there
 * already/no such route was there, -1 with err (BadRequest; Forbidden
 * without CAP_NET_ADMIN; the kernel's error, e.g. a gateway that is on
 * no link). */
int kube_net_gateway_route(const char *cidr, const char *gateway, bool add,
                           kube_error_t *err);

/* The node's masquerade rules, in chain `chain` of the nat table (A-Z 0-9
 * - _, at most 28; one per node) jumped to from POSTROUTING, in the
 * calling thread's network namespace: traffic from `pod_cidr` (the
 * node's) to outside `cluster_cidr` takes the node's address (pods of
 * other nodes see a pod's own address), and so does DNATed traffic (node
 * ports) to an endpoint outside `pod_cidr` whose original destination was
 * `node_ip` (the node's node-port rules'; NULL: any DNATed traffic, for a
 * node alone in its namespace).  Each sync replaces the chain whole.
 * Blocks while iptables runs.  0, or -1 with err. */
int kube_net_masquerade_sync(const char *chain, const char *pod_cidr,
                             const char *cluster_cidr, const char *node_ip,
                             kube_error_t *err);
/* Remove the chain and its jump (0 also when there was none). */
int kube_net_masquerade_remove(const char *chain, kube_error_t *err);

/* ======================================================================== */
/* Service load balancing (eBPF, cgroup sock_addr programs)                 */
/* ======================================================================== */

/* connect4 and sendmsg4 send a socket that asks for a Service's address
 * (ClusterIP:port in the service CIDR from any namespace; in the node's
 * own network namespace also a node IP on a LoadBalancer Service's port,
 * or a node IP or 127.0.0.1 on a node port: from elsewhere those arrive
 * as packets, for kube_net_nodeport_nat_sync's rules) to one of its
 * backends,
 * chosen at random per connection (per datagram for unconnected UDP);
 * recvmsg4 and getpeername4 show the Service's address again.  A Service
 * with no backends refuses: connect() fails with ECONNREFUSED.  Addresses
 * of the service CIDR that are no Service's are left alone (another
 * cluster with the same CIDR may own them; kube_net_unreachable_route
 * ends them on the node).
 *
 * The programs are attached (bpf_link, which is multi-attach: every
 * program at a cgroup runs, as with BPF_F_ALLOW_MULTI) at the root of
 * the cgroup v2 hierarchy, so host processes and pods alike are balanced.
 * Each kube_svclb_t has its own programs and maps and translates only its
 * service CIDR and node ports (and, with cgroup_scope, only its node's
 * sockets), so several clusters, and several nodes of one cluster, on one
 * machine leave each other alone; nothing is pinned: the programs go with
 * kube_svclb_free or with the process.
 *
 * Threading: one thread at a time (map updates are system calls, a few
 * microseconds each). */

typedef struct kube_svclb kube_svclb_t;

typedef struct kube_svclb_options {
  size_t struct_size; /* sizeof(kube_svclb_options_t) */
  /* The cluster's service CIDR ("10.96.0.0/12").  Required. */
  const char *service_cidr;
  /* Node ports (0, 0: none) and the node's IPv4 addresses they answer on
   * (NULL-terminated; may be NULL). */
  int node_port_min, node_port_max;
  const char *const *node_ips;
  /* Where to attach: a cgroup v2 directory.  NULL: the root of the
   * cgroup2 mount found in /proc/self/mountinfo (/sys/fs/cgroup, or
   * /sys/fs/cgroup/unified on hybrid hosts). */
  const char *cgroup_path;
  /* Which sockets this instance translates.  NULL: every socket of the
   * machine.  Else a cgroup v2 directory relative to the root of the
   * hierarchy (a node's cgroup parent; created when missing): only sockets
   * of the creating process's network namespace (the node's own
   * processes) and of tasks below that cgroup (its pods).  Several nodes
   * of one cluster on one machine then each translate their own sockets:
   * the programs all run (multi-attach) but never translate a socket
   * twice, and a node's view (internalTrafficPolicy Local, its node
   * ports) applies to its own clients only. */
  const char *cgroup_scope;
} kube_svclb_options_t;

/* Load and attach.  Owned: free with kube_svclb_free.  NULL with err:
 * BadRequest (options), ServiceUnavailable (no cgroup v2, a kernel or
 * build without BPF: the message says which), Forbidden (not permitted). */
kube_svclb_t *kube_svclb_new(const kube_svclb_options_t *opts,
                             kube_error_t *err);
/* Detach the programs and free the maps.  Accepts NULL. */
void kube_svclb_free(kube_svclb_t *lb);

typedef struct kube_svclb_backend {
  const char *ip; /* IPv4 */
  int port;
} kube_svclb_backend_t;

/* Set the backends of a Service port: `ip` its ClusterIP, a node IP (a
 * LoadBalancer Service's port on the node, as k3s's ServiceLB), or NULL
 * or "" (a node port), `protocol` "TCP" or "UDP".  Connections already
 * made keep their backend.  n == 0: the Service refuses.  affinity_s > 0:
 * sessionAffinity ClientIP for that many seconds (the client is the
 * socket's network namespace: a pod, or the node's own processes).  0, or
 * -1 with err (BadRequest for a bad address, protocol or timeout, the
 * map's error when full). */
int kube_svclb_set(kube_svclb_t *lb, const char *ip, int port,
                   const char *protocol, const kube_svclb_backend_t *b,
                   size_t n, int affinity_s, kube_error_t *err);
/* Node ports for clients outside the node (the socket programs see only
 * this machine's sockets): iptables DNAT rules in the nat table, in the
 * calling thread's network namespace, in chain `chain` (A-Z 0-9 - _, at
 * most 28; one per node) jumped to from PREROUTING for local addresses;
 * each sync replaces the chain's rules whole (iptables-restore
 * --noflush).  Blocks while iptables runs (milliseconds).  0, or -1 with
 * err (BadRequest: the chain name; the tool's error). */
typedef struct kube_net_nodeport {
  const char *protocol; /* "TCP", "UDP" */
  int node_port;
  const kube_svclb_backend_t *backends;
  size_t n; /* 0: no rule (the port is closed) */
} kube_net_nodeport_t;
int kube_net_nodeport_nat_sync(const char *chain, const char *node_ip,
                               const kube_net_nodeport_t *np, size_t n,
                               kube_error_t *err);
/* Remove the chain and its jump (0 also when there was none). */
int kube_net_nodeport_nat_remove(const char *chain, kube_error_t *err);

/* Forget a Service port (0 also when it was not set). */
int kube_svclb_delete(kube_svclb_t *lb, const char *ip, int port,
                      const char *protocol, kube_error_t *err);
/* The cgroup the programs are attached to, and their kernel ids
 * (connect4, sendmsg4, recvmsg4, getpeername4): what `bpftool cgroup
 * show` lists. */
const char *kube_svclb_cgroup(const kube_svclb_t *lb);
void kube_svclb_program_ids(const kube_svclb_t *lb, uint32_t ids[4]);

/* ======================================================================== */
/* Service load balancing (nftables): the fallback without cgroup v2 / BPF  */
/* ======================================================================== */

/* The same Service ports as kube_svclb_t, as kube-proxy's nftables mode
 * programs them: packets to a ClusterIP, a load-balancer address or a node
 * port (on the node's addresses and 127.0.0.1) are DNATed to a backend
 * chosen at random per connection (`numgen random mod N`), with
 * sessionAffinity ClientIP by the client's source address (per-endpoint
 * sets with a timeout); a Service port without backends rejects
 * (connection refused), the rest of the service CIDR is host-unreachable.
 * A pod reaching itself through a Service, and node-port traffic from
 * 127.0.0.1, are masqueraded (net.ipv4.conf.all.route_localnet is set to
 * 1, as kube-proxy does).  Everything lives in one nftables table of the
 * calling thread's network namespace, `ip TABLE` (one per node), made by
 * kube_nftlb_new (replacing a table of that name a killed process left)
 * and deleted by kube_nftlb_free; no other table is touched.  Packets of
 * the node's own processes to the service CIDR need a route to leave
 * the routing decision before the DNAT: kube_net_service_route.
 *
 * ip semantics of kube_nftlb_set/delete: NULL or "" a node port, an
 * address of the service CIDR a ClusterIP, any other address a
 * load-balancer (external) address.
 *
 * Threading: set and delete only record what is wanted (a mutex; any
 * thread); kube_nftlb_commit writes every change since the last commit in
 * one nftables transaction (libnftables; blocks for its netlink batch:
 * call it from a worker thread).  A failed commit makes the next one
 * rebuild the table whole. */

typedef struct kube_nftlb kube_nftlb_t;

typedef struct kube_nftlb_options {
  size_t struct_size; /* sizeof(kube_nftlb_options_t) */
  /* The table's name: a letter, then letters, digits, - and _ (<= 64).
   * Required. */
  const char *table;
  /* The cluster's service CIDR.  Required. */
  const char *service_cidr;
  /* The node's IPv4 addresses node ports answer on besides 127.0.0.1
   * (NULL-terminated; may be NULL). */
  const char *const *node_ips;
} kube_nftlb_options_t;

/* Make the table.  Owned: free with kube_nftlb_free.  NULL with err:
 * BadRequest (options), ServiceUnavailable (no nftables in this kernel or
 * build: the message says which), Forbidden (not permitted). */
kube_nftlb_t *kube_nftlb_new(const kube_nftlb_options_t *opts,
                             kube_error_t *err);
/* Delete the table.  Accepts NULL. */
void kube_nftlb_free(kube_nftlb_t *lb);
/* As kube_svclb_set / kube_svclb_delete, written at the next commit. */
int kube_nftlb_set(kube_nftlb_t *lb, const char *ip, int port,
                   const char *protocol, const kube_svclb_backend_t *b,
                   size_t n, int affinity_s, kube_error_t *err);
int kube_nftlb_delete(kube_nftlb_t *lb, const char *ip, int port,
                      const char *protocol, kube_error_t *err);
/* One transaction with every change since the last commit: the number of
 * Service ports written (0: nothing to do), or -1 with err (nft's
 * message). */
int kube_nftlb_commit(kube_nftlb_t *lb, kube_error_t *err);
/* The table's name (borrowed). */
const char *kube_nftlb_table(const kube_nftlb_t *lb);

/* Add (or delete) the route of the service CIDR the nftables mode needs
 * in the calling thread's network namespace: `ip route add CIDR dev DEV
 * src SRC proto static`, DEV the interface holding SRC (the node's
 * address; lo when SRC is NULL or on no interface), so a connect() of the
 * node's own processes to a Service address passes the routing decision
 * and reaches the DNAT (the table rejects what it does not translate:
 * nothing is sent; on lo the kernel would not answer a reject's ICMP
 * error).  Delete with the same SRC.  1 when added/deleted, 0 when a
 * route for CIDR was there already/was not there, -1 with err. */
int kube_net_service_route(const char *cidr, const char *src, bool add,
                           kube_error_t *err);

/* ======================================================================== */
/* NetworkPolicy (eBPF tc programs on the pods' veths)                      */
/* ======================================================================== */

/* Two tc programs on the host side of every pod veth of one bridge check
 * what a pod sends (its egress) and receives (its ingress).  A pod marked
 * isolated in a direction gets only the peers and ports allowed for it;
 * replies of an allowed flow always pass (the programs track flows); the
 * node's own addresses reach its pods always (probes).  Each kube_netpol_t
 * has its own programs and maps and touches only its bridge's ports, so
 * several clusters on one machine leave each other alone; nothing is
 * pinned: kube_netpol_free removes the programs from every veth.
 *
 * Threading: one thread at a time; calls are system calls (the map writes
 * of a sync, a netlink dump for attach). */

typedef struct kube_netpol kube_netpol_t;

typedef struct kube_netpol_options {
  size_t struct_size; /* sizeof(kube_netpol_options_t) */
  const char *bridge; /* the node's pod bridge (borrowed).  Required. */
} kube_netpol_options_t;

/* Load the programs.  Owned: free with kube_netpol_free.  NULL with err:
 * BadRequest (options), ServiceUnavailable (a kernel or build without
 * BPF), Forbidden (not permitted). */
kube_netpol_t *kube_netpol_new(const kube_netpol_options_t *opts,
                               kube_error_t *err);
/* Detach from every veth and free the maps.  Accepts NULL. */
void kube_netpol_free(kube_netpol_t *np);
/* Attach the programs to every port of the bridge that lacks them (call
 * when pods got their network).  The number attached now, or -1 with err
 * (the first failure; the other ports are attached anyway). */
int kube_netpol_attach(kube_netpol_t *np, kube_error_t *err);
/* The node's IPv4 addresses (NULL-terminated; replaces the last set):
 * they reach isolated pods anyway.  0, or -1 with err (BadRequest). */
int kube_netpol_set_hosts(kube_netpol_t *np, const char *const *ips,
                          kube_error_t *err);
/* Ports with the programs, entries in the rules map (for tests). */
size_t kube_netpol_attached(const kube_netpol_t *np);
size_t kube_netpol_rule_count(const kube_netpol_t *np);

/* One local pod's isolation (from the policies that select it). */
typedef struct kube_netpol_pod {
  const char *ip; /* IPv4 */
  bool isolated_ingress, isolated_egress;
} kube_netpol_pod_t;

typedef struct kube_netpol_range {
  int protocol; /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP */
  int lo, hi;   /* ports, inclusive */
} kube_netpol_range_t;

/* What an isolated pod may exchange with peers in `cidr` (not in any of
 * `except`): every protocol and port, or the ranges (the destination
 * port: the pod's own for ingress, the peer's for egress).  Strings and
 * arrays borrowed. */
typedef struct kube_netpol_allow {
  const char *pod_ip; /* the local pod (IPv4) */
  bool egress;        /* false: ingress */
  const char *cidr;   /* "10.0.0.0/8"; a bare address is /32 */
  const char *const *except;
  size_t n_except;
  bool all_ports;
  const kube_netpol_range_t *ranges;
  size_t n_ranges;
} kube_netpol_allow_t;

/* Make the maps say exactly this (pods not listed are not isolated);
 * writes only what changed.  0, or -1 with err (BadRequest for a bad
 * address; the map's error). */
int kube_netpol_sync(kube_netpol_t *np, const kube_netpol_pod_t *pods,
                     size_t n_pods, const kube_netpol_allow_t *allow,
                     size_t n_allow, kube_error_t *err);

#ifdef __cplusplus
}
#endif
#endif /* LIBKUBE_NET_H */
