/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Service load balancing with nftables (kube_nftlb_t): the fallback of
 * the socket load balancer (service-lb.c) for kernels without cgroup v2
 * or BPF, laid out as kube-proxy's nftables mode lays out its table.
 *
 * One table (`ip <name>`, one per node: nobody else's is touched) holds
 *  - verdict maps from "address . protocol . port" (ClusterIPs and
 *    load-balancer addresses) and "protocol . port" (node ports, on the
 *    node's addresses and 127.0.0.1) to a chain per Service port, which
 *    picks an endpoint chain with `numgen random mod N vmap { ... }`
 *    (before that, with sessionAffinity ClientIP, a client found in an
 *    endpoint's affinity set goes to that endpoint); the endpoint chain
 *    records the client in its set (timeout: the affinity's) and DNATs;
 *  - sets of the Service ports that have no endpoints: rejected (TCP:
 *    connection refused), and the rest of the service CIDR: rejected as
 *    host-unreachable (what the eBPF mode's unreachable route answers);
 *  - UDP flows DNATed to an endpoint that went are deleted from conntrack
 *    after the commit (conntrack.c), as kube-proxy does;
 *  - masquerade of hairpin traffic (a pod reaching itself through a
 *    Service; not what is delivered on this host, through lo: an endpoint
 *    at a local address), marked by the endpoint chain, and of node-port
 *    traffic from 127.0.0.1 (needs route_localnet, which kube_nftlb_new sets, as
 *    kube-proxy does).  Traffic leaving the cluster CIDR is the node's
 *    masquerade chain's (kube_net_masquerade_sync), in both modes.
 *
 * kube_nftlb_set/delete only record what is wanted; kube_nftlb_commit
 * writes every change since the last commit in one transaction (libnftables,
 * one netlink batch), and only that: a change costs O(that Service port),
 * not O(all of them).  libnftables reads the table's chains and sets back
 * from the kernel before a batch holding "add rule", "add element" or any
 * "delete" (its cache: 60,000 chains at 10,000 Services), so a change is
 * written with the commands that need only the table: rules inside
 * "add chain NAME { ... }" (a chain changed is flushed first), elements
 * inside "add map/set NAME { ...; elements = { ... } }", the affinity sets
 * a rule names declared again in the batch.  What a change leaves behind
 * (the chain of an endpoint that went, its affinity set, a map element of
 * a Service port deleted or without endpoints) is flushed or left
 * harmless at once (an element leads to an empty chain; a no-endpoint
 * element never matches a packet that was DNATed) and deleted by a sweep:
 * the deletes appended to a commit once the leftovers are an eighth of
 * the table's objects (at once while the table is small), as kube-proxy
 * deletes stale chains later.  A commit that fails makes the next one
 * rebuild the table whole (delete + add in one transaction).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>

#include "net/internal.h"

#ifdef KUBE_HAVE_NFTABLES
#include <nftables/libnftables.h>

#define NFT_BUCKETS 4096u
/* Sweep the leftovers at once while the table has at most this many
 * objects, and beyond that once they are 1/NFT_SWEEP_RATIO of them. */
#define NFT_SWEEP_SMALL 4096u
#define NFT_SWEEP_RATIO 8u
#define MASQ_BIT "0x00004000"

struct nft_be {
  uint32_t ip; /* network order */
  int port;
};

/* One Service port: what is wanted, what the kernel has, what the commit
 * in flight writes. */
struct nft_state {
  struct nft_be *b;
  size_t n;
  int affinity;
  bool on;
};

/* An endpoint chain or affinity set of a Service port in the kernel. */
struct nft_kobj {
  struct nft_be be;
  int aff;   /* chain: the affinity its rules were written for, -1 flushed;
                set: its timeout */
  char what; /* 'c' chain, 's' set */
  bool dead; /* set: no endpoint uses it */
};

struct nft_ent {
  struct nft_ent *next;  /* bucket */
  struct nft_ent *dnext; /* dirty list */
  uint32_t ip;           /* network order; 0 for a node port */
  int port;
  uint8_t proto;
  char kind;      /* 'c' ClusterIP, 'x' external (load balancer), 'n' */
  char name[64];  /* the Service port's chain */
  struct nft_state want, have, pend;
  bool dirty;
  /* What the kernel has (after the batch being written): */
  struct nft_kobj *ko;
  size_t n_ko, cap_ko;
  bool k_map;   /* the map element (leading to the chain) */
  bool k_noep;  /* the no-endpoint set element */
  char k_chain; /* the Service port's chain: 0 none, 1 empty, 2 rules */
  bool w_live, w_noep; /* written: with endpoints; without any */
  size_t nobj, ngarb;  /* objects, leftovers: counted in the table's */
};

struct kube_nftlb {
  struct nft_ctx *ctx;
  char *table;
  char cidr[20];
  char **node_ips;
  pthread_mutex_t mu;     /* entries, dirty list, full */
  pthread_mutex_t commit; /* one commit at a time */
  struct nft_ent **buckets;
  struct nft_ent *dirty;
  size_t n_ents;
  size_t nobj, garbage; /* objects of the Service ports, leftovers */
  bool full; /* the next commit rebuilds the table */
};

static const char *proto_name(uint8_t p) {
  return p == IPPROTO_UDP ? "udp" : "tcp";
}

static uint32_t ent_hash(uint32_t ip, int port, uint8_t proto) {
  uint32_t h = 2166136261u;
  uint32_t v[3] = {ip, (uint32_t)port, proto};
  for (size_t i = 0; i < 3; i++)
    h = (h ^ v[i]) * 16777619u;
  return h % NFT_BUCKETS;
}

static int nft_error(kube_error_t *err, const char *what, const char *msg) {
  size_t n = msg ? strlen(msg) : 0;
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
    n--;
  bool perm = msg && (strstr(msg, "Operation not permitted") ||
                      strstr(msg, "Permission denied"));
  return kube_error_set(err,
                        perm ? KUBE_REASON_FORBIDDEN : KUBE_REASON_UNKNOWN, 0,
                        "nftables: %s: %.*s", what, (int)(n > 2000 ? 2000 : n),
                        msg ? msg : "");
}

/* Run a batch; 0 or -1 with err (nft's own message). */
static int nft_run(kube_nftlb_t *lb, const char *text, const char *what,
                   kube_error_t *err) {
  int rc = nft_run_cmd_from_buffer(lb->ctx, text);
  const char *e = nft_ctx_get_error_buffer(lb->ctx);
  if (rc != 0)
    return nft_error(err, what, e && *e ? e : "failed");
  return 0;
}

static bool table_name_ok(const char *t) {
  size_t n = t ? strlen(t) : 0;
  if (n == 0 || n > 64 ||
      !((t[0] >= 'a' && t[0] <= 'z') || (t[0] >= 'A' && t[0] <= 'Z')))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
          (t[i] >= '0' && t[i] <= '9') || t[i] == '-' || t[i] == '_'))
      return false;
  return true;
}

/* The fixed part of the table: hooks, maps, sets, checks. */
static void skeleton(kube_nftlb_t *lb, kube_strbuf_t *sb) {
  const char *t = lb->table;
  kube_strbuf_printf(
      sb,
      "add table ip %s\n"
      "add map ip %s services { type ipv4_addr . inet_proto . inet_service "
      ": verdict; }\n"
      "add map ip %s nodeports { type inet_proto . inet_service : verdict; "
      "}\n"
      "add set ip %s no-endpoint-services { type ipv4_addr . inet_proto . "
      "inet_service; }\n"
      "add set ip %s no-endpoint-nodeports { type inet_proto . inet_service; "
      "}\n"
      "add set ip %s node-ips { type ipv4_addr; }\n",
      t, t, t, t, t, t);
  kube_strbuf_printf(sb, "add element ip %s node-ips { 127.0.0.1", t);
  for (size_t i = 0; lb->node_ips && lb->node_ips[i]; i++)
    kube_strbuf_printf(sb, ", %s", lb->node_ips[i]);
  kube_strbuf_printf(sb, " }\n");
  kube_strbuf_printf(
      sb,
      "add chain ip %s services\n"
      "add rule ip %s services ip daddr . meta l4proto . th dport vmap "
      "@services\n"
      "add rule ip %s services ip daddr @node-ips meta l4proto . th dport "
      "vmap @nodeports\n"
      "add chain ip %s masquerading\n"
      "add rule ip %s masquerading meta mark & " MASQ_BIT " == 0 return\n"
      "add rule ip %s masquerading oif lo return\n"
      "add rule ip %s masquerading meta mark set meta mark ^ " MASQ_BIT "\n"
      "add rule ip %s masquerading masquerade fully-random\n"
      "add chain ip %s endpoints-check\n"
      "add rule ip %s endpoints-check ip daddr . meta l4proto . th dport "
      "@no-endpoint-services reject\n"
      "add rule ip %s endpoints-check ip daddr @node-ips meta l4proto . th "
      "dport @no-endpoint-nodeports reject\n"
      "add chain ip %s cluster-ips-check\n"
      "add rule ip %s cluster-ips-check ip daddr %s reject with icmp type "
      "host-unreachable\n",
      t, t, t, t, t, t, t, t, t, t, t, t, t, lb->cidr);
  kube_strbuf_printf(
      sb,
      "add chain ip %s nat-prerouting { type nat hook prerouting priority "
      "dstnat; policy accept; }\n"
      "add rule ip %s nat-prerouting jump services\n"
      "add chain ip %s nat-output { type nat hook output priority -100; "
      "policy accept; }\n"
      "add rule ip %s nat-output jump services\n"
      "add chain ip %s nat-postrouting { type nat hook postrouting priority "
      "srcnat; policy accept; }\n"
      "add rule ip %s nat-postrouting jump masquerading\n"
      "add chain ip %s filter-input { type filter hook input priority "
      "filter; policy accept; }\n"
      "add rule ip %s filter-input ct state new jump endpoints-check\n"
      "add chain ip %s filter-forward { type filter hook forward priority "
      "filter; policy accept; }\n"
      "add rule ip %s filter-forward ct state new jump endpoints-check\n"
      "add rule ip %s filter-forward ct state new jump cluster-ips-check\n"
      "add chain ip %s filter-output { type filter hook output priority "
      "filter; policy accept; }\n"
      "add rule ip %s filter-output ct state new jump endpoints-check\n"
      "add rule ip %s filter-output ct state new jump cluster-ips-check\n",
      t, t, t, t, t, t, t, t, t, t, t, t, t, t);
}

/* Names of an endpoint's chain and affinity set. */
static void ep_chain(char *out, size_t len, const struct nft_ent *e,
                     const struct nft_be *b) {
  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &b->ip, ip, sizeof ip);
  snprintf(out, len, "%s__%s/%d", e->name, ip, b->port);
}
static void ep_set(char *out, size_t len, const struct nft_ent *e,
                   const struct nft_be *b, int affinity) {
  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &b->ip, ip, sizeof ip);
  snprintf(out, len, "affinity-%s__%s/%d-%d", e->name, ip, b->port, affinity);
}

static bool has_be(const struct nft_state *s, const struct nft_be *b) {
  for (size_t i = 0; i < s->n; i++)
    if (s->b[i].ip == b->ip && s->b[i].port == b->port)
      return true;
  return false;
}

/* The map (or no-endpoint set) key of a Service port. */
static void ent_key(char *out, size_t len, const struct nft_ent *e) {
  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &e->ip, ip, sizeof ip);
  if (e->kind == 'n')
    snprintf(out, len, "%s . %d", proto_name(e->proto), e->port);
  else
    snprintf(out, len, "%s . %s . %d", ip, proto_name(e->proto), e->port);
}

/* The type of a Service port's map / no-endpoint set key. */
static const char *ent_type(const struct nft_ent *e) {
  return e->kind == 'n' ? "inet_proto . inet_service"
                        : "ipv4_addr . inet_proto . inet_service";
}

static struct nft_kobj *ko_find(struct nft_ent *e, char what,
                                const struct nft_be *b, int aff) {
  for (size_t i = 0; i < e->n_ko; i++) {
    struct nft_kobj *k = &e->ko[i];
    if (k->what == what && k->be.ip == b->ip && k->be.port == b->port &&
        (what == 'c' || k->aff == aff))
      return k;
  }
  return NULL;
}

static struct nft_kobj *ko_add(struct nft_ent *e, char what,
                               const struct nft_be *b, int aff) {
  if (e->n_ko == e->cap_ko) {
    size_t cap = e->cap_ko ? e->cap_ko * 2 : 8;
    struct nft_kobj *k = realloc(e->ko, cap * sizeof *k);
    if (!k)
      return NULL;
    e->ko = k;
    e->cap_ko = cap;
  }
  e->ko[e->n_ko] = (struct nft_kobj){.be = *b, .aff = aff, .what = what};
  return &e->ko[e->n_ko++];
}

static bool ko_garbage(const struct nft_kobj *k) {
  return k->what == 'c' ? k->aff < 0 : k->dead;
}

/* Count a Service port's objects and leftovers into the table's. */
static void ent_count(kube_nftlb_t *lb, struct nft_ent *e) {
  size_t nobj = (e->k_chain != 0) + e->k_map + e->k_noep + e->n_ko;
  size_t g = (e->k_chain && !e->w_live) + (e->k_map && !e->w_live) +
             (e->k_noep && !e->w_noep);
  for (size_t i = 0; i < e->n_ko; i++)
    g += ko_garbage(&e->ko[i]);
  lb->nobj = lb->nobj - e->nobj + nobj;
  lb->garbage = lb->garbage - e->ngarb + g;
  e->nobj = nobj;
  e->ngarb = g;
}

/* Forget what the kernel has of a Service port (the table goes whole). */
static void ent_forget(kube_nftlb_t *lb, struct nft_ent *e) {
  free(e->ko);
  e->ko = NULL;
  e->n_ko = e->cap_ko = 0;
  e->k_map = e->k_noep = false;
  e->k_chain = 0;
  e->w_live = e->w_noep = false;
  ent_count(lb, e);
}

/* The commands taking the kernel to `p` for one Service port, with no
 * command that makes libnftables read the table back (see the top);
 * -1 when out of memory. */
static int ent_write(kube_nftlb_t *lb, kube_strbuf_t *sb, struct nft_ent *e,
                     const struct nft_state *p) {
  const char *t = lb->table;
  char key[64], name[160], set[192], ip[INET_ADDRSTRLEN];
  ent_key(key, sizeof key, e);
  bool live = p->on && p->n;
  for (size_t i = 0; i < e->n_ko; i++)
    if (e->ko[i].what == 's')
      e->ko[i].dead = true;
  for (size_t i = 0; live && i < p->n; i++) {
    const struct nft_be *b = &p->b[i];
    ep_chain(name, sizeof name, e, b);
    inet_ntop(AF_INET, &b->ip, ip, sizeof ip);
    if (p->affinity) {
      ep_set(set, sizeof set, e, b, p->affinity);
      /* declared in each batch naming it: the cache has the table only */
      kube_strbuf_printf(sb,
                         "add set ip %s %s { type ipv4_addr; flags "
                         "dynamic,timeout; timeout %ds; }\n",
                         t, set, p->affinity);
      struct nft_kobj *k = ko_find(e, 's', b, p->affinity);
      if (!k && !(k = ko_add(e, 's', b, p->affinity)))
        return -1;
      k->dead = false;
    }
    struct nft_kobj *c = ko_find(e, 'c', b, 0);
    if (c && c->aff == p->affinity)
      continue; /* kept with the same affinity: as wanted */
    if (c && c->aff >= 0)
      kube_strbuf_printf(sb, "flush chain ip %s %s\n", t, name);
    if (!c && !(c = ko_add(e, 'c', b, -1)))
      return -1;
    kube_strbuf_printf(sb,
                       "add chain ip %s %s { ip saddr %s meta mark set meta "
                       "mark | " MASQ_BIT "; ",
                       t, name, ip);
    if (p->affinity)
      kube_strbuf_printf(sb, "update @%s { ip saddr }; ", set);
    kube_strbuf_printf(sb, "meta l4proto %s dnat to %s:%d; }\n",
                       proto_name(e->proto), ip, b->port);
    c->aff = p->affinity;
  }
  if (live) {
    if (e->k_chain == 2)
      kube_strbuf_printf(sb, "flush chain ip %s %s\n", t, e->name);
    kube_strbuf_printf(sb, "add chain ip %s %s { ", t, e->name);
    if (e->kind == 'n')
      kube_strbuf_printf(sb,
                         "ip saddr 127.0.0.0/8 meta mark set meta mark | "
                         MASQ_BIT "; ");
    for (size_t i = 0; p->affinity && i < p->n; i++) {
      ep_chain(name, sizeof name, e, &p->b[i]);
      ep_set(set, sizeof set, e, &p->b[i], p->affinity);
      kube_strbuf_printf(sb, "ip saddr @%s goto %s; ", set, name);
    }
    kube_strbuf_printf(sb, "numgen random mod %zu vmap { ", p->n);
    for (size_t i = 0; i < p->n; i++) {
      ep_chain(name, sizeof name, e, &p->b[i]);
      kube_strbuf_printf(sb, "%s%zu : goto %s", i ? ", " : "", i, name);
    }
    kube_strbuf_printf(sb, " }; }\n");
    e->k_chain = 2;
  } else if (e->k_chain == 2) {
    kube_strbuf_printf(sb, "flush chain ip %s %s\n", t, e->name);
    e->k_chain = 1;
  }
  /* the chains of endpoints that went: emptied now, deleted by a sweep */
  for (size_t i = 0; i < e->n_ko; i++) {
    struct nft_kobj *k = &e->ko[i];
    if (k->what != 'c' || k->aff < 0 || (live && has_be(p, &k->be)))
      continue;
    ep_chain(name, sizeof name, e, &k->be);
    kube_strbuf_printf(sb, "flush chain ip %s %s\n", t, name);
    k->aff = -1;
  }
  if (live && !e->k_map) {
    kube_strbuf_printf(sb,
                       "add map ip %s %s { type %s : verdict; elements = { "
                       "%s : goto %s }; }\n",
                       t, e->kind == 'n' ? "nodeports" : "services",
                       ent_type(e), key, e->name);
    e->k_map = true;
  }
  if (p->on && !p->n && !e->k_noep) {
    kube_strbuf_printf(sb, "add set ip %s %s { type %s; elements = { %s }; }\n",
                       t,
                       e->kind == 'n' ? "no-endpoint-nodeports"
                                      : "no-endpoint-services",
                       ent_type(e), key);
    e->k_noep = true;
  }
  e->w_live = live;
  e->w_noep = p->on && !p->n;
  ent_count(lb, e);
  return 0;
}

/* The deletes of a Service port's leftovers (elements first: the chains
 * they lead to go after them). */
static void ent_sweep(kube_nftlb_t *lb, kube_strbuf_t *sb, struct nft_ent *e) {
  const char *t = lb->table;
  char key[64], name[192];
  if (!e->ngarb)
    return;
  ent_key(key, sizeof key, e);
  if (e->k_map && !e->w_live) {
    kube_strbuf_printf(sb, "delete element ip %s %s { %s }\n", t,
                       e->kind == 'n' ? "nodeports" : "services", key);
    e->k_map = false;
  }
  if (e->k_noep && !e->w_noep) {
    kube_strbuf_printf(sb, "delete element ip %s %s { %s }\n", t,
                       e->kind == 'n' ? "no-endpoint-nodeports"
                                      : "no-endpoint-services",
                       key);
    e->k_noep = false;
  }
  if (e->k_chain && !e->w_live) {
    kube_strbuf_printf(sb, "delete chain ip %s %s\n", t, e->name);
    e->k_chain = 0;
  }
  size_t n = 0;
  for (size_t i = 0; i < e->n_ko; i++) {
    struct nft_kobj *k = &e->ko[i];
    if (!ko_garbage(k)) {
      e->ko[n++] = *k;
      continue;
    }
    if (k->what == 'c') {
      ep_chain(name, sizeof name, e, &k->be);
      kube_strbuf_printf(sb, "delete chain ip %s %s\n", t, name);
    } else {
      ep_set(name, sizeof name, e, &k->be, k->aff);
      kube_strbuf_printf(sb, "delete set ip %s %s\n", t, name);
    }
  }
  e->n_ko = n;
  ent_count(lb, e);
}

static void state_clear(struct nft_state *s) {
  free(s->b);
  *s = (struct nft_state){0};
}

static int state_copy(struct nft_state *dst, const struct nft_state *src) {
  struct nft_be *b = NULL;
  if (src->n && !(b = malloc(src->n * sizeof *b)))
    return -1;
  if (src->n)
    memcpy(b, src->b, src->n * sizeof *b);
  free(dst->b);
  *dst = *src;
  dst->b = b;
  return 0;
}

static struct nft_ent **ent_slot(kube_nftlb_t *lb, uint32_t ip, int port,
                                 uint8_t proto) {
  struct nft_ent **pp = &lb->buckets[ent_hash(ip, port, proto)];
  while (*pp && !((*pp)->ip == ip && (*pp)->port == port &&
                  (*pp)->proto == proto))
    pp = &(*pp)->next;
  return pp;
}

static void mark_dirty(kube_nftlb_t *lb, struct nft_ent *e) {
  if (e->dirty)
    return;
  e->dirty = true;
  e->dnext = lb->dirty;
  lb->dirty = e;
}

static int parse_port(const char *ip, int port, const char *protocol,
                      uint32_t *addr, uint8_t *proto, kube_error_t *err) {
  *addr = 0;
  if (ip && *ip && inet_pton(AF_INET, ip, addr) != 1)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid IPv4 address \"%s\"", ip);
  if (port < 1 || port > 65535)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "invalid port %d",
                          port);
  if (!protocol || !strcasecmp(protocol, "TCP"))
    *proto = IPPROTO_TCP;
  else if (!strcasecmp(protocol, "UDP"))
    *proto = IPPROTO_UDP;
  else
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "unsupported protocol \"%s\" (TCP or UDP)", protocol);
  return 0;
}

/* Whether `ip` lies in the service CIDR. */
static bool in_cidr(const char *cidr, uint32_t ip) {
  uint32_t net;
  int bits;
  if (core_cidr4_parse(cidr, &net, &bits) < 0)
    return false;
  uint32_t mask = bits ? ~0u << (32 - bits) : 0;
  return (ntohl(ip) & mask) == (net & mask);
}

KUBE_EXPORT int kube_nftlb_set(kube_nftlb_t *lb, const char *ip, int port,
                               const char *protocol,
                               const kube_svclb_backend_t *b, size_t n,
                               int affinity_s, kube_error_t *err) {
  uint32_t addr;
  uint8_t proto;
  if (parse_port(ip, port, protocol, &addr, &proto, err) < 0)
    return -1;
  if (affinity_s < 0 || affinity_s > 86400)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid session affinity timeout %d s (0-86400)",
                          affinity_s);
  struct nft_be *v = calloc(n ? n : 1, sizeof *v);
  if (!v)
    return kube_make_oom(err);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    struct nft_be be = {.port = b[i].port};
    if (!b[i].ip || inet_pton(AF_INET, b[i].ip, &be.ip) != 1 ||
        b[i].port < 1 || b[i].port > 65535) {
      free(v);
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "invalid backend %s:%d", b[i].ip ? b[i].ip : "",
                            b[i].port);
    }
    struct nft_state seen = {.b = v, .n = k};
    if (!has_be(&seen, &be)) /* one chain per endpoint */
      v[k++] = be;
  }
  pthread_mutex_lock(&lb->mu);
  struct nft_ent **pp = ent_slot(lb, addr, port, proto);
  struct nft_ent *e = *pp;
  if (!e) {
    if (!(e = calloc(1, sizeof *e))) {
      pthread_mutex_unlock(&lb->mu);
      free(v);
      return kube_make_oom(err);
    }
    e->ip = addr;
    e->port = port;
    e->proto = proto;
    e->kind = !addr ? 'n' : in_cidr(lb->cidr, addr) ? 'c' : 'x';
    char a[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &addr, a, sizeof a);
    if (e->kind == 'n')
      snprintf(e->name, sizeof e->name, "nodeport-%s-%d", proto_name(proto),
               port);
    else
      snprintf(e->name, sizeof e->name, "%s-%s-%s-%d",
               e->kind == 'c' ? "service" : "external", a, proto_name(proto),
               port);
    *pp = e;
    lb->n_ents++;
  }
  if (e->want.on && e->want.n == k && e->want.affinity == affinity_s &&
      (!k || !memcmp(e->want.b, v, k * sizeof *v))) {
    pthread_mutex_unlock(&lb->mu); /* as wanted already: nothing to write */
    free(v);
    return 0;
  }
  free(e->want.b);
  e->want = (struct nft_state){.b = v, .n = k, .affinity = affinity_s,
                               .on = true};
  mark_dirty(lb, e);
  pthread_mutex_unlock(&lb->mu);
  return 0;
}

KUBE_EXPORT int kube_nftlb_delete(kube_nftlb_t *lb, const char *ip, int port,
                                  const char *protocol, kube_error_t *err) {
  uint32_t addr;
  uint8_t proto;
  if (parse_port(ip, port, protocol, &addr, &proto, err) < 0)
    return -1;
  pthread_mutex_lock(&lb->mu);
  struct nft_ent *e = *ent_slot(lb, addr, port, proto);
  if (e && e->want.on) {
    state_clear(&e->want);
    mark_dirty(lb, e);
  }
  pthread_mutex_unlock(&lb->mu);
  return 0;
}

/* Drop entries that are neither wanted nor programmed, nor left in the
 * kernel to sweep (under mu). */
static void ent_reap(kube_nftlb_t *lb, struct nft_ent *e) {
  if (e->dirty || e->want.on || e->have.on || e->nobj)
    return;
  struct nft_ent **pp = ent_slot(lb, e->ip, e->port, e->proto);
  if (*pp == e)
    *pp = e->next;
  state_clear(&e->want);
  state_clear(&e->have);
  state_clear(&e->pend);
  free(e->ko);
  free(e);
  lb->n_ents--;
}

KUBE_EXPORT int kube_nftlb_commit(kube_nftlb_t *lb, kube_error_t *err) {
  pthread_mutex_lock(&lb->commit);
  pthread_mutex_lock(&lb->mu);
  bool full = lb->full;
  /* The Service ports this commit writes, their wanted state copied. */
  size_t n = 0, cap = full ? lb->n_ents : 0;
  for (struct nft_ent *e = lb->dirty; !full && e; e = e->dnext)
    cap++;
  struct nft_ent **list = calloc(cap ? cap : 1, sizeof *list);
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  if (!list) {
    pthread_mutex_unlock(&lb->mu);
    pthread_mutex_unlock(&lb->commit);
    return kube_make_oom(err);
  }
  if (full) {
    kube_strbuf_printf(&sb, "add table ip %s\ndelete table ip %s\n", lb->table,
                       lb->table);
    skeleton(lb, &sb);
    for (size_t i = 0; i < NFT_BUCKETS; i++)
      for (struct nft_ent *e = lb->buckets[i]; e; e = e->next)
        list[n++] = e;
  } else {
    for (struct nft_ent *e = lb->dirty; e; e = e->dnext)
      list[n++] = e;
  }
  lb->dirty = NULL;
  bool oom = false;
  for (size_t i = 0; full && i < n; i++)
    ent_forget(lb, list[i]);
  for (size_t i = 0; i < n; i++) {
    struct nft_ent *e = list[i];
    e->dirty = false;
    if (state_copy(&e->pend, &e->want) < 0 ||
        ent_write(lb, &sb, e, &e->pend) < 0)
      oom = true;
  }
  /* the leftovers' deletes: this batch has libnftables read the table */
  bool sweep = lb->garbage && (lb->nobj <= NFT_SWEEP_SMALL ||
                               lb->garbage * NFT_SWEEP_RATIO >= lb->nobj);
  for (size_t i = 0; sweep && i < NFT_BUCKETS; i++)
    for (struct nft_ent *e = lb->buckets[i]; e; e = e->next)
      ent_sweep(lb, &sb, e);
  pthread_mutex_unlock(&lb->mu);
  int rc = 0;
  if (oom || sb.oom)
    rc = kube_make_oom(err);
  else if (sb.len)
    rc = nft_run(lb, sb.data, "commit", err);
  pthread_mutex_lock(&lb->mu);
  net_ct_flow_t *gone = NULL; /* UDP endpoints that went */
  size_t n_gone = 0, cap_gone = 0;
  for (size_t i = 0; i < n; i++) {
    struct nft_ent *e = list[i];
    for (size_t k = 0; rc == 0 && e->proto == IPPROTO_UDP && k < e->have.n;
         k++) {
      const struct nft_be *b = &e->have.b[k];
      if (e->pend.on && has_be(&e->pend, b))
        continue;
      if (n_gone == cap_gone) {
        size_t grow = cap_gone ? cap_gone * 2 : 16;
        net_ct_flow_t *g = realloc(gone, grow * sizeof *g);
        if (!g)
          break;
        gone = g;
        cap_gone = grow;
      }
      gone[n_gone++] = (net_ct_flow_t){.dst = e->kind == 'n' ? 0 : e->ip,
                                       .dport = htons((uint16_t)e->port),
                                       .ep = b->ip,
                                       .ep_port = htons((uint16_t)b->port)};
    }
    if (rc == 0) {
      state_clear(&e->have);
      e->have = e->pend;
      e->pend = (struct nft_state){0};
    } else {
      state_clear(&e->pend);
      mark_dirty(lb, e);
    }
  }
  if (rc == 0) {
    lb->full = false;
    for (size_t i = 0; i < n; i++)
      ent_reap(lb, list[i]);
    /* entries whose last leftovers the sweep deleted */
    for (size_t i = 0; sweep && i < NFT_BUCKETS; i++)
      for (struct nft_ent *e = lb->buckets[i], *next; e; e = next) {
        next = e->next;
        ent_reap(lb, e);
      }
  } else {
    lb->full = true; /* the table is rebuilt whole next time */
  }
  pthread_mutex_unlock(&lb->mu);
  if (n_gone) {
    kube_error_t e = KUBE_ERROR_INIT;
    int d = net_conntrack_clear_udp(gone, n_gone, &e);
    if (d < 0)
      kube_log(KUBE_LOG_WARNING, "net: stale UDP flows: %s", e.message);
    else if (d > 0)
      kube_log(KUBE_LOG_DEBUG, "net: %d stale UDP flows deleted", d);
    kube_error_clear(&e);
  }
  free(gone);
  pthread_mutex_unlock(&lb->commit);
  kube_strbuf_clear(&sb);
  free(list);
  return rc < 0 ? -1 : (int)n;
}

/* net.ipv4.conf.all.route_localnet = 1: node ports on 127.0.0.1 are
 * DNATed to pods (kube-proxy sets it too). */
static void route_localnet(void) {
  FILE *f = fopen("/proc/sys/net/ipv4/conf/all/route_localnet", "we");
  if (!f) {
    kube_log(KUBE_LOG_WARNING,
             "net: route_localnet: %s (node ports on 127.0.0.1 will not "
             "answer)",
             strerror(errno));
    return;
  }
  fputs("1\n", f);
  if (fclose(f) != 0)
    kube_log(KUBE_LOG_WARNING, "net: route_localnet: %s", strerror(errno));
}

KUBE_EXPORT kube_nftlb_t *kube_nftlb_new(const kube_nftlb_options_t *opts,
                                         kube_error_t *err) {
  kube_nftlb_options_t o = {0};
  core_opts_copy(&o, opts);
  uint32_t net;
  int bits;
  if (!o.service_cidr || core_cidr4_parse(o.service_cidr, &net, &bits) < 0 ||
      strlen(o.service_cidr) >= 20) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "invalid service CIDR \"%s\"",
                   o.service_cidr ? o.service_cidr : "");
    return NULL;
  }
  if (!table_name_ok(o.table)) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "invalid nftables table name \"%s\"",
                   o.table ? o.table : "");
    return NULL;
  }
  for (size_t i = 0; o.node_ips && o.node_ips[i]; i++) {
    uint32_t a;
    if (inet_pton(AF_INET, o.node_ips[i], &a) != 1) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "invalid node IP \"%s\"", o.node_ips[i]);
      return NULL;
    }
  }
  kube_nftlb_t *lb = calloc(1, sizeof *lb);
  if (!lb) {
    kube_make_oom(err);
    return NULL;
  }
  pthread_mutex_init(&lb->mu, NULL);
  pthread_mutex_init(&lb->commit, NULL);
  /* the network address, whatever host bits the flag had */
  uint32_t mask = bits ? ~0u << (32 - bits) : 0, nnet = htonl(net & mask);
  char a[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &nnet, a, sizeof a);
  snprintf(lb->cidr, sizeof lb->cidr, "%s/%d", a, bits);
  size_t nips = 0;
  while (o.node_ips && o.node_ips[nips])
    nips++;
  lb->table = strdup(o.table);
  lb->node_ips = calloc(nips + 1, sizeof *lb->node_ips);
  lb->buckets = calloc(NFT_BUCKETS, sizeof *lb->buckets);
  if (!lb->table || !lb->node_ips || !lb->buckets) {
    kube_make_oom(err);
    goto fail;
  }
  for (size_t i = 0; i < nips; i++)
    if (!(lb->node_ips[i] = strdup(o.node_ips[i]))) {
      kube_make_oom(err);
      goto fail;
    }
  if (!(lb->ctx = nft_ctx_new(NFT_CTX_DEFAULT))) {
    kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                   "nftables: cannot make a libnftables context");
    goto fail;
  }
  nft_ctx_buffer_output(lb->ctx);
  nft_ctx_buffer_error(lb->ctx);
  /* A table of the same name left by a kubed that was killed goes. */
  lb->full = true;
  if (kube_nftlb_commit(lb, err) < 0) {
    /* one transaction: nothing was made, nothing of ours to delete */
    if (err && err->reason == KUBE_REASON_UNKNOWN)
      err->reason = KUBE_REASON_SERVICE_UNAVAILABLE;
    nft_ctx_free(lb->ctx);
    lb->ctx = NULL;
    goto fail;
  }
  route_localnet();
  kube_log(KUBE_LOG_INFO,
           "net: service load balancing for %s in nftables table ip %s", lb->cidr,
           lb->table);
  return lb;
fail:
  kube_nftlb_free(lb);
  return NULL;
}

KUBE_EXPORT void kube_nftlb_free(kube_nftlb_t *lb) {
  if (!lb)
    return;
  if (lb->ctx) {
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    kube_error_t e = KUBE_ERROR_INIT;
    kube_strbuf_printf(&sb, "delete table ip %s\n", lb->table);
    if (!sb.oom && nft_run(lb, sb.data, "remove the table", &e) < 0)
      kube_log(KUBE_LOG_WARNING, "net: %s", e.message);
    kube_error_clear(&e);
    kube_strbuf_clear(&sb);
    nft_ctx_free(lb->ctx);
  }
  for (size_t i = 0; lb->buckets && i < NFT_BUCKETS; i++)
    for (struct nft_ent *e = lb->buckets[i], *next; e; e = next) {
      next = e->next;
      state_clear(&e->want);
      state_clear(&e->have);
      state_clear(&e->pend);
      free(e->ko);
      free(e);
    }
  free(lb->buckets);
  for (size_t i = 0; lb->node_ips && lb->node_ips[i]; i++)
    free(lb->node_ips[i]);
  free(lb->node_ips);
  free(lb->table);
  pthread_mutex_destroy(&lb->mu);
  pthread_mutex_destroy(&lb->commit);
  free(lb);
}

KUBE_EXPORT const char *kube_nftlb_table(const kube_nftlb_t *lb) {
  return lb->table;
}

#else /* !KUBE_HAVE_NFTABLES */

KUBE_EXPORT kube_nftlb_t *kube_nftlb_new(const kube_nftlb_options_t *opts,
                                         kube_error_t *err) {
  kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                 "service load balancing: this build has no libnftables");
  return NULL;
}
KUBE_EXPORT void kube_nftlb_free(kube_nftlb_t *lb) {}
KUBE_EXPORT int kube_nftlb_set(kube_nftlb_t *lb, const char *ip, int port,
                               const char *protocol,
                               const kube_svclb_backend_t *b, size_t n,
                               int affinity_s, kube_error_t *err) {
  return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                        "this build has no libnftables");
}
KUBE_EXPORT int kube_nftlb_delete(kube_nftlb_t *lb, const char *ip, int port,
                                  const char *protocol, kube_error_t *err) {
  return 0;
}
KUBE_EXPORT int kube_nftlb_commit(kube_nftlb_t *lb, kube_error_t *err) {
  return 0;
}
KUBE_EXPORT const char *kube_nftlb_table(const kube_nftlb_t *lb) {
  return NULL;
}
#endif
