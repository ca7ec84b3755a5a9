/* SPDX-License-Identifier: Apache-2.0 */
/* The node's service proxy (proxy.c) and its cluster network
 * (cluster-net.c): internals of the node module. */
#ifndef KUBE_NODE_PROXY_H
#define KUBE_NODE_PROXY_H

#include <libkube/kit.h>
#include <libkube/net.h>

typedef struct nd_proxy_options {
  const char *service_cidr;    /* required */
  const char *node_port_range; /* "30000-32767"; NULL: no node ports */
  const char *node_ip, *node_name; /* may be NULL */
  /* the node's pods' cgroup (kube_svclb_options_t.cgroup_scope) */
  const char *cgroup_scope;
  /* write LoadBalancer Services' status (the server's own node) */
  bool load_balancer_status;
  /* the node's workers: iptables rewrites of the node-port chain and
   * nftables commits run there, not on the loop (NULL: on the loop) */
  kube_workers_t *workers;
  /* "auto" (NULL): eBPF socket load balancing when the programs attach at
   * the cgroup v2 root, else nftables; "ebpf"; "nftables" */
  const char *mode;
  /* the nftables mode's table ("libkube-<hash>": this node's) */
  const char *nft_table;
} nd_proxy_options_t;

struct nd_proxy;
/* Load and attach the socket load balancer (or make the nftables table),
 * add the route of the service CIDR (eBPF: unreachable; nftables: to the
 * node's interface, for the DNAT), take the Services and EndpointSlices informers of `f`
 * (borrowed).  NULL with err (ServiceUnavailable: the mode asked for
 * cannot run here; BadRequest: an unknown mode). */
struct nd_proxy *nd_proxy_new(kube_loop_t *loop, const kube_transport_t *tp,
                              kube_informer_factory_t *f,
                              const nd_proxy_options_t *o, kube_error_t *err);
/* The datapath chosen: "ebpf" or "nftables" (static string). */
const char *nd_proxy_mode(const struct nd_proxy *p);
/* Register the handlers and start the informers. */
int nd_proxy_start(struct nd_proxy *p, kube_error_t *err);
/* Detach the programs (or delete the table), remove the route and the NAT
 * chain.  Accepts NULL. */
void nd_proxy_free(struct nd_proxy *p);

struct kube_node_agent;
/* cluster-net.c: the pod routes to the other nodes, the masquerade rules
 * and (kubed agent) the service proxy from ConfigMap
 * kube-system/libkube-cluster. */
int nd_net_init(struct kube_node_agent *a, const kube_node_agent_options_t *o,
                kube_error_t *err);
int nd_net_start(struct kube_node_agent *a, kube_error_t *err);
void nd_net_free(struct kube_node_agent *a);

#endif
