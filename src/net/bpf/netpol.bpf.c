/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0-only) */
/*
 * NetworkPolicy enforcement (compiled with clang -target bpf and embedded;
 * loaded by src/net/netpol.c).  Two tc programs on the host side of each
 * pod's veth: kube_np_from_pod (tc ingress: what the pod sends, its
 * egress) and kube_np_to_pod (tc egress: what the pod receives, its
 * ingress).  A pod the `pods` map marks isolated in a direction gets only
 * what `rules` allows: an LPM trie keyed by (pod, direction, peer prefix)
 * whose longest match holds the protocols and port ranges allowed with
 * that peer (user space has already folded every policy, ipBlock
 * `except` and named port into it).  Stateful: an allowed packet records
 * its flow for that pod and direction in `flows`, and the replies of a
 * recorded flow pass the other direction's check, as conntrack would;
 * so do ICMP errors quoting a packet of one ("related").  A later
 * fragment (no ports) passes: its first fragment was checked.
 * A recorded flow holds the policy generation (`gen`, bumped by user
 * space whenever the pods or rules change) its verdict was taken at: when
 * the policies change, the next packet of an established flow, either
 * way, is checked again and the flow is cut if they deny it now (as
 * Cilium and Calico do), or let through again once they allow it.  The
 * denied flow stays recorded, so its replies never pass as new flows of
 * the other side.
 * Each loaded instance has its own maps: several clusters on one machine
 * never see each other's pods.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define DIR_INGRESS 0
#define DIR_EGRESS 1
#define MAX_RANGES 16
#define ALL_PORTS 0xffffffffu

/* Keep in step with src/net/netpol.c. */
struct pod_val {
  __u8 isolated[2]; /* [DIR_INGRESS], [DIR_EGRESS] */
  __u8 pad[2];
};

struct rule_key {
  __u32 prefixlen; /* 64 + the peer's prefix length */
  __u32 pod;       /* network order */
  __u32 dir;
  __u32 peer; /* network order */
};

struct range {
  __u16 lo, hi; /* host order, inclusive */
  __u8 proto;
  __u8 pad[3];
};

struct rule_val {
  __u32 n; /* ranges used; ALL_PORTS: every protocol and port */
  __u32 pad;
  struct range r[MAX_RANGES];
};

struct flow_key {
  __u32 saddr, daddr;
  __u16 sport, dport;
  __u8 proto;
  __u8 dir; /* the direction of the pod whose check allowed it */
  __u8 pad[2];
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);
  __type(value, struct pod_val);
} pods SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 262144); /* not preallocated */
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct rule_key);
  __type(value, struct rule_val);
} rules SEC(".maps");

/* Addresses of the node itself: they reach its pods always (the kubelet's
 * probes), as Kubernetes asks of every implementation. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u8);
} hosts SEC(".maps");

struct flow_val {
  __u64 last; /* last seen, ns */
  __u32 gen;  /* the policy generation of the verdict */
  __u8 denied;
  __u8 pad[3];
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct flow_key);
  __type(value, struct flow_val);
} flows SEC(".maps");

/* [0]: the policy generation, bumped by user space on every change. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} gen SEC(".maps");

/* An idle flow is forgotten: a later one with the same addresses and
 * ports is checked again. */
#define TCP_IDLE_NS (3600ull * 1000000000ull)
#define OTHER_IDLE_NS (120ull * 1000000000ull)

static __always_inline int fresh(const struct flow_val *v, __u8 proto,
                                 __u64 now) {
  __u64 idle = proto == IPPROTO_TCP ? TCP_IDLE_NS : OTHER_IDLE_NS;
  return v && now - v->last < idle;
}

static __always_inline int ports_allow(const struct rule_val *v, __u8 proto,
                                       __u16 port) {
  if (v->n == ALL_PORTS)
    return 1;
  for (int i = 0; i < MAX_RANGES; i++) {
    if ((__u32)i >= v->n)
      break;
    if (v->r[i].proto == proto && port >= v->r[i].lo && port <= v->r[i].hi)
      return 1;
  }
  return 0;
}

/* An ICMP error (unreachable, time exceeded, parameter problem) about a
 * packet of a recorded flow: "related", as conntrack says.  The packet it
 * quotes went the other way, recorded by the other direction's check. */
static __always_inline int related_error(struct __sk_buff *skb, __u32 l4,
                                         __u32 dir) {
  __u8 type;
  if (bpf_skb_load_bytes(skb, l4, &type, 1) < 0 ||
      (type != 3 && type != 11 && type != 12))
    return 0;
  struct iphdr in;
  __u16 ports[2] = {0, 0};
  if (bpf_skb_load_bytes(skb, l4 + 8, &in, sizeof in) < 0 || in.ihl < 5)
    return 0;
  if (bpf_skb_load_bytes(skb, l4 + 8 + in.ihl * 4, ports, sizeof ports) < 0)
    return 0;
  struct flow_key q = {.saddr = in.saddr,
                       .daddr = in.daddr,
                       .sport = bpf_ntohs(ports[0]),
                       .dport = bpf_ntohs(ports[1]),
                       .proto = in.protocol,
                       .dir = (__u8)(dir ^ 1)};
  struct flow_val *v = bpf_map_lookup_elem(&flows, &q);
  return v && !v->denied;
}

/* Whether the policies let flow f in: the check of the pod at its end
 * named by f->dir. */
static __always_inline int allowed(const struct flow_key *f) {
  __u32 dir = f->dir & 1;
  __u32 local = dir == DIR_EGRESS ? f->saddr : f->daddr;
  __u32 peer = dir == DIR_EGRESS ? f->daddr : f->saddr;
  struct pod_val *pv = bpf_map_lookup_elem(&pods, &local);
  if (!pv || !pv->isolated[dir] ||
      (dir == DIR_INGRESS && bpf_map_lookup_elem(&hosts, &peer)))
    return 1;
  struct rule_key k = {.prefixlen = 96, .pod = local, .dir = dir, .peer = peer};
  struct rule_val *v = bpf_map_lookup_elem(&rules, &k);
  return v && ports_allow(v, f->proto, f->dport);
}

/* The verdict on a packet of recorded flow f (value v): taken again when
 * the policies changed since it was. */
static __always_inline int recorded_allows(const struct flow_key *f,
                                           struct flow_val *v, __u32 g,
                                           __u64 now) {
  if (v->gen != g) {
    v->denied = !allowed(f);
    v->gen = g;
  }
  v->last = now;
  return !v->denied;
}

static __always_inline int check(struct __sk_buff *skb, __u32 dir) {
  void *data = (void *)(long)skb->data;
  void *end = (void *)(long)skb->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end)
    return TC_ACT_OK;
  if (eth->h_proto != bpf_htons(ETH_P_IP))
    return TC_ACT_OK;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > end)
    return TC_ACT_OK;
  struct flow_key f = {.saddr = ip->saddr,
                       .daddr = ip->daddr,
                       .proto = ip->protocol,
                       .dir = (__u8)dir};
  /* A later fragment carries no ports: its first fragment was checked,
   * and without that one the datagram is never put together. */
  if (ip->frag_off & bpf_htons(0x1fff))
    return TC_ACT_OK;
  __u32 l4 = sizeof(struct ethhdr) + ip->ihl * 4;
  if (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP ||
      ip->protocol == IPPROTO_SCTP) {
    /* TCP, UDP and SCTP all start with the two ports (read with a helper:
     * they need not be in the linear part of the buffer). */
    __u16 ports[2];
    if (bpf_skb_load_bytes(skb, l4, ports, sizeof ports) < 0)
      return TC_ACT_SHOT;
    f.sport = bpf_ntohs(ports[0]);
    f.dport = bpf_ntohs(ports[1]);
  } else if (ip->protocol == IPPROTO_ICMP && related_error(skb, l4, dir)) {
    return TC_ACT_OK;
  }
  __u64 now = bpf_ktime_get_ns();
  __u32 zero = 0;
  __u32 *gp = bpf_map_lookup_elem(&gen, &zero);
  __u32 g = gp ? *gp : 0;
  struct flow_val *v = bpf_map_lookup_elem(&flows, &f);
  if (fresh(v, f.proto, now))
    return recorded_allows(&f, v, g, now) ? TC_ACT_OK : TC_ACT_SHOT;
  struct flow_key rev = {.saddr = f.daddr,
                         .daddr = f.saddr,
                         .sport = f.dport,
                         .dport = f.sport,
                         .proto = f.proto,
                         .dir = (__u8)(dir ^ 1)};
  v = bpf_map_lookup_elem(&flows, &rev);
  if (fresh(v, f.proto, now))
    return recorded_allows(&rev, v, g, now) ? TC_ACT_OK : TC_ACT_SHOT;
  if (!allowed(&f))
    return TC_ACT_SHOT;
  struct flow_val nv = {.last = now, .gen = g};
  bpf_map_update_elem(&flows, &f, &nv, BPF_ANY);
  return TC_ACT_OK;
}

SEC("tc")
int kube_np_from_pod(struct __sk_buff *skb) {
  return check(skb, DIR_EGRESS);
}

SEC("tc")
int kube_np_to_pod(struct __sk_buff *skb) {
  return check(skb, DIR_INGRESS);
}

char LICENSE[] SEC("license") = "GPL";
