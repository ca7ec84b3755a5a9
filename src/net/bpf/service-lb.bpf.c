/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0-only) */
/*
 * Service load balancing at the socket (compiled with clang -target bpf and
 * embedded; loaded by src/net/service-lb.c).  Cgroup sock_addr programs:
 * a connect() or sendmsg() to a Service's address (VIP:port, or a node
 * address on a node port) is sent to one of its backends instead, chosen
 * at random, so no packet is ever rewritten; getpeername() and recvmsg()
 * show the Service's address again.  Each loaded instance has its own maps
 * and acts only on its cluster's service CIDR and node ports: several
 * clusters on one machine leave each other's addresses alone.
 */
#include <linux/bpf.h>
#include <linux/in.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define ECONNREFUSED 111

/* Keep in step with src/net/service-lb.c. */
struct svc_key {
  __u32 ip;   /* network order */
  __u16 port; /* network order */
  __u8 proto; /* IPPROTO_TCP, IPPROTO_UDP */
  __u8 pad;
};

struct svc_val {
  __u32 count;    /* backends; 0: refused */
  __u32 id;       /* backends are (id, 0..count-1) */
  __u32 affinity; /* sessionAffinity ClientIP: seconds (0: none) */
};

/* sessionAffinity: ClientIP.  A socket has no source address yet at
 * connect(), so the client is its network namespace (a pod, or the node),
 * as Cilium's socket load balancer does. */
struct aff_key {
  __u64 netns;
  __u32 id; /* the backend set's: a new set forgets the choices */
  __u32 pad;
};

struct aff_val {
  __u64 last_ns;
  __u32 slot;
  __u32 pad;
};

struct be_key {
  __u32 id;
  __u32 slot;
};

struct be_val {
  __u32 ip;   /* network order */
  __u16 port; /* network order */
  __u16 pad;
};

struct rev_key {
  __u64 cookie;
  __u32 ip; /* the backend */
  __u16 port;
  __u16 pad;
};

struct rev_val {
  __u32 ip; /* the Service address the socket asked for */
  __u16 port;
  __u16 pad;
};

struct config {
  __u32 net;  /* service CIDR, network order */
  __u32 mask; /* network order */
  __u16 np_min, np_max; /* node ports, host order (0: none) */
  __u64 netns;          /* the node's network namespace (cookie) */
  __u64 scope_id;       /* the node's pods' cgroup (0: every socket) */
  __u32 scope_level;    /* its depth below the root */
  __u32 pad2;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct config);
} cfg SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 65536);
  __type(key, struct svc_key);
  __type(value, struct svc_val);
} services SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 262144);
  __type(key, struct be_key);
  __type(value, struct be_val);
} backends SEC(".maps");

/* Node addresses: a node port on one of them is a Service too. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u8);
} node_ips SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct aff_key);
  __type(value, struct aff_val);
} affinity SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 131072);
  __type(key, struct rev_key);
  __type(value, struct rev_val);
} revnat SEC(".maps");

/* The Service a socket asks for, or NULL: an address of the service CIDR
 * (one that is no Service's of this cluster is left alone: another
 * cluster with the same CIDR may have it, or the node's unreachable route
 * ends it); and in the node's own network namespace a node address on a
 * LoadBalancer Service's port (k3s's ServiceLB: the node is the load
 * balancer), or a node port on a node address or 127.0.0.1 (as
 * kube-proxy's route_localnet rules). */
static __always_inline struct svc_val *lookup(struct bpf_sock_addr *ctx) {
  __u32 zero = 0;
  struct config *c = bpf_map_lookup_elem(&cfg, &zero);
  if (!c)
    return 0;
  /* Scoped to one node: its network namespace (its own processes) and
   * the tasks below its pods' cgroup.  Nodes of one cluster on one
   * machine each translate their own sockets only, never a socket twice
   * and never with another node's view (internalTrafficPolicy Local). */
  if (c->scope_id && bpf_get_netns_cookie(ctx) != c->netns &&
      bpf_get_current_ancestor_cgroup_id(c->scope_level) != c->scope_id)
    return 0;
  struct svc_key k = {.ip = ctx->user_ip4,
                      .port = (__u16)ctx->user_port,
                      .proto = (__u8)ctx->protocol};
  if (k.proto != IPPROTO_TCP && k.proto != IPPROTO_UDP)
    return 0;
  if (c->mask && (k.ip & c->mask) == c->net)
    return bpf_map_lookup_elem(&services, &k);
  /* Node addresses only from the node's own namespace: other clients
   * (pods, other machines) arrive as packets, which the node's NAT rules
   * take (kube_net_nodeport_nat_sync). */
  if (bpf_get_netns_cookie(ctx) != c->netns)
    return 0;
  int node = bpf_map_lookup_elem(&node_ips, &k.ip) != 0;
  if (!node && (bpf_ntohl(k.ip) >> 24) != 127)
    return 0;
  struct svc_val *s = node ? bpf_map_lookup_elem(&services, &k) : 0;
  __u16 hport = bpf_ntohs(k.port);
  if (s || !c->np_min || hport < c->np_min || hport > c->np_max)
    return s;
  k.ip = 0; /* node ports are keyed without an address */
  return bpf_map_lookup_elem(&services, &k);
}

/* Point the socket at a backend.  1: done or not ours; 0: refused. */
static __always_inline int translate(struct bpf_sock_addr *ctx) {
  struct svc_val *s = lookup(ctx);
  if (!s)
    return 1;
  __u32 count = s->count;
  if (count == 0) {
    bpf_set_retval(-ECONNREFUSED);
    return 0;
  }
  struct be_key bk = {.id = s->id, .slot = bpf_get_prandom_u32() % count};
  if (s->affinity) {
    struct aff_key ak = {.netns = bpf_get_netns_cookie(ctx), .id = s->id};
    struct aff_val *av = bpf_map_lookup_elem(&affinity, &ak);
    __u64 now = bpf_ktime_get_ns();
    if (av && now - av->last_ns < (__u64)s->affinity * 1000000000ull &&
        av->slot < count)
      bk.slot = av->slot;
    struct aff_val nv = {.last_ns = now, .slot = bk.slot};
    bpf_map_update_elem(&affinity, &ak, &nv, BPF_ANY);
  }
  struct be_val *b = bpf_map_lookup_elem(&backends, &bk);
  if (!b) {
    bpf_set_retval(-ECONNREFUSED);
    return 0;
  }
  struct rev_key rk = {.cookie = bpf_get_socket_cookie(ctx),
                       .ip = b->ip,
                       .port = b->port};
  struct rev_val rv = {.ip = ctx->user_ip4, .port = (__u16)ctx->user_port};
  bpf_map_update_elem(&revnat, &rk, &rv, BPF_ANY);
  ctx->user_ip4 = b->ip;
  ctx->user_port = b->port;
  return 1;
}

/* Show the Service's address where the backend's would appear. */
static __always_inline void reverse(struct bpf_sock_addr *ctx) {
  struct rev_key rk = {.cookie = bpf_get_socket_cookie(ctx),
                       .ip = ctx->user_ip4,
                       .port = (__u16)ctx->user_port};
  struct rev_val *rv = bpf_map_lookup_elem(&revnat, &rk);
  if (!rv)
    return;
  ctx->user_ip4 = rv->ip;
  ctx->user_port = rv->port;
}

SEC("cgroup/connect4")
int kube_lb_conn4(struct bpf_sock_addr *ctx) { return translate(ctx); }

SEC("cgroup/sendmsg4")
int kube_lb_send4(struct bpf_sock_addr *ctx) { return translate(ctx); }

SEC("cgroup/recvmsg4")
int kube_lb_recv4(struct bpf_sock_addr *ctx) {
  reverse(ctx);
  return 1;
}

SEC("cgroup/getpeername4")
int kube_lb_peer4(struct bpf_sock_addr *ctx) {
  reverse(ctx);
  return 1;
}

/* The file is dual-licensed: the kernel is told GPL. */
char LICENSE[] SEC("license") = "GPL";
