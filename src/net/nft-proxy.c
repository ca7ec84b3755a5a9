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
 * one netlink batch): the Service chains that changed are flushed and
 * written again, endpoint chains and affinity sets that went are deleted,
 * map elements are replaced.  A commit that fails makes the next one
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

/* The commands taking the kernel from `h` to `p` for one Service port. */
static void ent_diff(kube_nftlb_t *lb, kube_strbuf_t *sb,
                     const struct nft_ent *e, const struct nft_state *h,
                     const struct nft_state *p) {
  const char *t = lb->table;
  char key[64], name[160], set[192], ip[INET_ADDRSTRLEN];
  ent_key(key, sizeof key, e);
  const char *map = e->kind == 'n' ? "nodeports" : "services";
  const char *noep =
      e->kind == 'n' ? "no-endpoint-nodeports" : "no-endpoint-services";
  /* the element stays while the port keeps (or keeps lacking) endpoints:
   * an endpoint change rewrites chains only */
  bool same_elem = h->on && p->on && !h->n == !p->n;
  if (h->on && !same_elem)
    kube_strbuf_printf(sb, "delete element ip %s %s { %s }\n", t,
                       h->n ? map : noep, key);
  bool chains = p->on && p->n;
  if (chains) {
    for (size_t i = 0; i < p->n; i++) {
      const struct nft_be *b = &p->b[i];
      /* an endpoint kept with the same affinity: its chain is as wanted */
      if (h->on && h->affinity == p->affinity && has_be(h, b))
        continue;
      ep_chain(name, sizeof name, e, b);
      inet_ntop(AF_INET, &b->ip, ip, sizeof ip);
      if (p->affinity) {
        ep_set(set, sizeof set, e, b, p->affinity);
        kube_strbuf_printf(sb,
                           "add set ip %s %s { type ipv4_addr; flags "
                           "dynamic,timeout; timeout %ds; }\n",
                           t, set, p->affinity);
      }
      kube_strbuf_printf(sb,
                         "add chain ip %s %s\nflush chain ip %s %s\n"
                         "add rule ip %s %s ip saddr %s meta mark set meta "
                         "mark | " MASQ_BIT "\n",
                         t, name, t, name, t, name, ip);
      if (p->affinity)
        kube_strbuf_printf(sb, "add rule ip %s %s update @%s { ip saddr }\n",
                           t, name, set);
      kube_strbuf_printf(sb, "add rule ip %s %s meta l4proto %s dnat to %s:%d\n",
                         t, name, proto_name(e->proto), ip, b->port);
    }
    kube_strbuf_printf(sb, "add chain ip %s %s\nflush chain ip %s %s\n", t,
                       e->name, t, e->name);
    if (e->kind == 'n')
      kube_strbuf_printf(sb,
                         "add rule ip %s %s ip saddr 127.0.0.0/8 meta mark "
                         "set meta mark | " MASQ_BIT "\n",
                         t, e->name);
    for (size_t i = 0; p->affinity && i < p->n; i++) {
      ep_chain(name, sizeof name, e, &p->b[i]);
      ep_set(set, sizeof set, e, &p->b[i], p->affinity);
      kube_strbuf_printf(sb, "add rule ip %s %s ip saddr @%s goto %s\n", t,
                         e->name, set, name);
    }
    kube_strbuf_printf(sb, "add rule ip %s %s numgen random mod %zu vmap { ",
                       t, e->name, p->n);
    for (size_t i = 0; i < p->n; i++) {
      ep_chain(name, sizeof name, e, &p->b[i]);
      kube_strbuf_printf(sb, "%s%zu : goto %s", i ? ", " : "", i, name);
    }
    kube_strbuf_printf(sb, " }\n");
  }
  if (h->on && h->n) {
    if (!chains)
      kube_strbuf_printf(sb, "flush chain ip %s %s\n", t, e->name);
    for (size_t i = 0; i < h->n; i++) {
      const struct nft_be *b = &h->b[i];
      bool keep = chains && has_be(p, b);
      if (!keep) {
        ep_chain(name, sizeof name, e, b);
        kube_strbuf_printf(sb, "flush chain ip %s %s\ndelete chain ip %s %s\n",
                           t, name, t, name);
      }
      /* a kept endpoint's chain was rewritten above: its old set is free */
      if (h->affinity && !(keep && p->affinity == h->affinity)) {
        ep_set(set, sizeof set, e, b, h->affinity);
        kube_strbuf_printf(sb, "delete set ip %s %s\n", t, set);
      }
    }
    if (!chains)
      kube_strbuf_printf(sb, "delete chain ip %s %s\n", t, e->name);
  }
  if (p->on && !same_elem) {
    if (p->n)
      kube_strbuf_printf(sb, "add element ip %s %s { %s : goto %s }\n", t, map,
                         key, e->name);
    else
      kube_strbuf_printf(sb, "add element ip %s %s { %s }\n", t, noep, key);
  }
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

/* Drop entries that are neither wanted nor programmed (under mu). */
static void ent_reap(kube_nftlb_t *lb, struct nft_ent *e) {
  if (e->dirty || e->want.on || e->have.on)
    return;
  struct nft_ent **pp = ent_slot(lb, e->ip, e->port, e->proto);
  if (*pp == e)
    *pp = e->next;
  state_clear(&e->want);
  state_clear(&e->have);
  state_clear(&e->pend);
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
  for (size_t i = 0; i < n; i++) {
    struct nft_ent *e = list[i];
    e->dirty = false;
    if (state_copy(&e->pend, &e->want) < 0) {
      oom = true;
      continue;
    }
    struct nft_state none = {0};
    ent_diff(lb, &sb, e, full ? &none : &e->have, &e->pend);
  }
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
        size_t cap = cap_gone ? cap_gone * 2 : 16;
        net_ct_flow_t *g = realloc(gone, cap * sizeof *g);
        if (!g)
          break;
        gone = g;
        cap_gone = cap;
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
