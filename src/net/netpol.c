/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NetworkPolicy datapath: loads the tc programs of bpf/netpol.bpf.c
 * (built with the library and embedded), attaches them to the host side
 * of every pod veth on the node's bridge, and keeps their maps equal to
 * what the caller wants.
 *
 * The caller speaks in allowances (this pod, this direction, peers in
 * this CIDR but not in these excepts, these ports); the programs look up
 * one longest-prefix match per new flow.  So each sync folds the
 * allowances of one (pod, direction) into LPM entries: every CIDR and
 * except is a key, and a key's value is the union of the ports of every
 * allowance whose CIDR holds the key and no except of which does.  For an
 * address the longest key holding it is then the answer: all the CIDRs
 * and excepts holding one address are nested, so an allowance holds the
 * address exactly when it holds that key.
 *
 * Map writes are incremental: a sync writes only entries that changed and
 * deletes only the ones gone, rules before isolation when a pod becomes
 * isolated and after it when it stops being, so a pod never sees a
 * moment with isolation and without its rules.  A sync that changed
 * anything then bumps the policy generation (map `gen`): the programs
 * check every established flow again at its next packet, so a flow the
 * policies deny now is cut rather than kept until idle.
 */
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "net/internal.h"

#ifdef KUBE_HAVE_BPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

extern const unsigned char net_netpol_bpf_obj[];
extern const size_t net_netpol_bpf_obj_len;

#define MAX_RANGES 16
#define ALL_PORTS 0xffffffffu
/* tc filter handle and priority of our programs on a veth. */
#define TC_HANDLE 0x4b4e
#define TC_PRIO 1

/* Keep in step with bpf/netpol.bpf.c. */
struct pod_val {
  uint8_t isolated[2];
  uint8_t pad[2];
};
struct rule_key {
  uint32_t prefixlen;
  uint32_t pod;
  uint32_t dir;
  uint32_t peer;
};
struct range {
  uint16_t lo, hi;
  uint8_t proto;
  uint8_t pad[3];
};
struct rule_val {
  uint32_t n;
  uint32_t pad;
  struct range r[MAX_RANGES];
};

struct rule_ent {
  struct rule_key k;
  struct rule_val v;
};
struct pod_ent {
  uint32_t ip;
  struct pod_val v;
};

struct kube_netpol {
  struct bpf_object *obj;
  int from_fd, to_fd; /* programs */
  int pods_fd, rules_fd, hosts_fd, gen_fd;
  uint32_t gen; /* the policy generation written */
  char *bridge;
  int *attached; /* ifindexes */
  size_t n_attached;
  struct rule_ent *rules; /* as written, sorted by key */
  size_t n_rules;
  struct pod_ent *pods; /* as written, sorted by ip */
  size_t n_pods;
  uint32_t hosts[64]; /* as written */
  size_t n_hosts;
};

static int sys_error(kube_error_t *err, int e, const char *what) {
  kube_reason_t r = e == EPERM || e == EACCES ? KUBE_REASON_FORBIDDEN
                    : e == ENOSYS || e == EINVAL || e == EOPNOTSUPP
                        ? KUBE_REASON_SERVICE_UNAVAILABLE
                        : KUBE_REASON_UNKNOWN;
  return kube_error_set(err, r, e, "network policy: %s: %s", what,
                        strerror(e));
}

/* "a.b.c.d/n" (host bits may be set: they are cleared, as Go's
 * ParseCIDRSloppy callers mask them) or "a.b.c.d" (/32); host order. */
static bool parse_cidr4(const char *s, uint32_t *net, int *bits) {
  char buf[INET_ADDRSTRLEN];
  const char *slash = s ? strchr(s, '/') : NULL;
  size_t len = slash ? (size_t)(slash - s) : (s ? strlen(s) : 0);
  if (!len || len >= sizeof buf)
    return false;
  memcpy(buf, s, len);
  buf[len] = '\0';
  struct in_addr a;
  if (inet_pton(AF_INET, buf, &a) != 1)
    return false;
  long b = 32;
  if (slash) {
    char *end;
    b = strtol(slash + 1, &end, 10);
    if (*end || end == slash + 1 || b < 0 || b > 32)
      return false;
  }
  uint32_t mask = b ? ~0u << (32 - b) : 0;
  *net = ntohl(a.s_addr) & mask;
  *bits = (int)b;
  return true;
}

static bool inside(uint32_t net, int bits, uint32_t in_net, int in_bits) {
  uint32_t mask = in_bits ? ~0u << (32 - in_bits) : 0;
  return bits >= in_bits && (net & mask) == in_net;
}

/* ---- attaching ------------------------------------------------------------ */

/* The interfaces whose master is `master` (owned array, *n). */
static int bridge_ports(int master, int **out, size_t *n, kube_error_t *err) {
  *out = NULL;
  *n = 0;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0)
    return sys_error(err, errno, "netlink");
  struct {
    struct nlmsghdr nh;
    struct ifinfomsg ifi;
  } req = {.nh = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
                  .nlmsg_type = RTM_GETLINK,
                  .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
                  .nlmsg_seq = 1},
           .ifi = {.ifi_family = AF_UNSPEC}};
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&kernel,
             sizeof kernel) < 0) {
    int e = errno;
    close(fd);
    return sys_error(err, e, "netlink");
  }
  size_t cap = 0;
  int rc = 0;
  char *buf = malloc(32768);
  if (!buf) {
    close(fd);
    return kube_make_oom(err);
  }
  for (bool done = false; !done;) {
    ssize_t len = recv(fd, buf, 32768, 0);
    if (len < 0) {
      rc = sys_error(err, errno, "netlink");
      break;
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
         h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
        done = true;
        break;
      }
      if (h->nlmsg_type != RTM_NEWLINK)
        continue;
      struct ifinfomsg *ifi = NLMSG_DATA(h);
      int alen = (int)IFLA_PAYLOAD(h);
      for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, alen);
           a = RTA_NEXT(a, alen)) {
        if (a->rta_type != IFLA_MASTER || *(int *)RTA_DATA(a) != master)
          continue;
        if (*n == cap) {
          cap = cap ? cap * 2 : 16;
          int *v = realloc(*out, cap * sizeof *v);
          if (!v) {
            rc = kube_make_oom(err);
            done = true;
            break;
          }
          *out = v;
        }
        (*out)[(*n)++] = ifi->ifi_index;
      }
    }
  }
  free(buf);
  close(fd);
  if (rc < 0) {
    free(*out);
    *out = NULL;
    *n = 0;
  }
  return rc;
}

static int tc_attach(kube_netpol_t *np, int ifindex, kube_error_t *err) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
              .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
  int r = bpf_tc_hook_create(&hook);
  if (r < 0 && r != -EEXIST)
    return sys_error(err, -r, "create the clsact qdisc");
  for (int i = 0; i < 2; i++) {
    hook.attach_point = i == 0 ? BPF_TC_INGRESS : BPF_TC_EGRESS;
    LIBBPF_OPTS(bpf_tc_opts, o, .handle = TC_HANDLE, .priority = TC_PRIO,
                .prog_fd = i == 0 ? np->from_fd : np->to_fd,
                .flags = BPF_TC_F_REPLACE);
    if ((r = bpf_tc_attach(&hook, &o)) < 0)
      return sys_error(err, -r, "attach to a pod's veth");
  }
  return 0;
}

static void tc_detach(int ifindex) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
              .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
  /* The clsact qdisc is ours (made for the programs): it goes with its
   * filters. */
  bpf_tc_hook_destroy(&hook);
}

KUBE_EXPORT int kube_netpol_attach(kube_netpol_t *np, kube_error_t *err) {
  int master = (int)if_nametoindex(np->bridge);
  if (!master) /* no pod has been networked yet */
    return 0;
  int *ports;
  size_t n;
  if (bridge_ports(master, &ports, &n, err) < 0)
    return -1;
  int added = 0, rc = 0;
  int *now = calloc(n ? n : 1, sizeof *now);
  size_t k = 0;
  if (!now) {
    free(ports);
    return kube_make_oom(err);
  }
  for (size_t i = 0; i < n; i++) {
    bool had = false;
    for (size_t j = 0; j < np->n_attached && !had; j++)
      had = np->attached[j] == ports[i];
    if (!had) {
      kube_error_t e = KUBE_ERROR_INIT;
      if (tc_attach(np, ports[i], &e) < 0) {
        /* The veth may be going away; the first error is reported. */
        if (rc == 0)
          rc = kube_error_set(err, e.reason, e.errnum, "%s", e.message);
        kube_error_clear(&e);
        continue;
      }
      added++;
    }
    now[k++] = ports[i];
  }
  free(ports);
  free(np->attached);
  np->attached = now;
  np->n_attached = k;
  return rc < 0 ? rc : added;
}

/* ---- life ---------------------------------------------------------------- */

static int map_fd(struct bpf_object *obj, const char *name) {
  struct bpf_map *m = bpf_object__find_map_by_name(obj, name);
  return m ? bpf_map__fd(m) : -1;
}
static int prog_fd(struct bpf_object *obj, const char *name) {
  struct bpf_program *p = bpf_object__find_program_by_name(obj, name);
  return p ? bpf_program__fd(p) : -1;
}

KUBE_EXPORT kube_netpol_t *kube_netpol_new(const kube_netpol_options_t *opts,
                                           kube_error_t *err) {
  kube_netpol_options_t o = {0};
  core_opts_copy(&o, opts);
  if (!o.bridge || !*o.bridge || strlen(o.bridge) >= IF_NAMESIZE) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "network policy needs the node's bridge");
    return NULL;
  }
  kube_netpol_t *np = calloc(1, sizeof *np);
  if (!np || !(np->bridge = strdup(o.bridge))) {
    free(np);
    kube_make_oom(err);
    return NULL;
  }
  LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "kube_netpol");
  np->obj =
      bpf_object__open_mem(net_netpol_bpf_obj, net_netpol_bpf_obj_len, &oo);
  if (!np->obj) {
    sys_error(err, errno, "open the BPF object");
    goto fail;
  }
  if (bpf_object__load(np->obj) < 0) {
    sys_error(err, errno, "load the BPF programs");
    goto fail;
  }
  np->from_fd = prog_fd(np->obj, "kube_np_from_pod");
  np->to_fd = prog_fd(np->obj, "kube_np_to_pod");
  np->pods_fd = map_fd(np->obj, "pods");
  np->rules_fd = map_fd(np->obj, "rules");
  np->hosts_fd = map_fd(np->obj, "hosts");
  np->gen_fd = map_fd(np->obj, "gen");
  if (np->from_fd < 0 || np->to_fd < 0 || np->pods_fd < 0 ||
      np->rules_fd < 0 || np->hosts_fd < 0 || np->gen_fd < 0) {
    sys_error(err, ENOENT, "the BPF object lacks a program or map");
    goto fail;
  }
  return np;
fail:
  kube_netpol_free(np);
  return NULL;
}

KUBE_EXPORT void kube_netpol_free(kube_netpol_t *np) {
  if (!np)
    return;
  for (size_t i = 0; i < np->n_attached; i++)
    tc_detach(np->attached[i]);
  free(np->attached);
  bpf_object__close(np->obj);
  free(np->rules);
  free(np->pods);
  free(np->bridge);
  free(np);
}

/* After a change of the maps: established flows are checked again. */
static int bump_gen(kube_netpol_t *np, kube_error_t *err) {
  uint32_t zero = 0, g = np->gen + 1;
  if (bpf_map_update_elem(np->gen_fd, &zero, &g, BPF_ANY) < 0)
    return sys_error(err, errno, "write the policy generation");
  np->gen = g;
  return 0;
}

KUBE_EXPORT int kube_netpol_set_hosts(kube_netpol_t *np,
                                      const char *const *ips,
                                      kube_error_t *err) {
  uint32_t v[64];
  size_t n = 0;
  for (; ips && ips[n]; n++) {
    struct in_addr a;
    if (n == 64 || inet_pton(AF_INET, ips[n], &a) != 1)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "network policy: invalid node address \"%s\"",
                            ips[n]);
    v[n] = a.s_addr;
  }
  uint8_t one = 1;
  bool changed = n != np->n_hosts;
  for (size_t i = 0; i < n; i++) {
    bool had = false;
    for (size_t k = 0; k < np->n_hosts && !had; k++)
      had = np->hosts[k] == v[i];
    if (had)
      continue;
    changed = true;
    if (bpf_map_update_elem(np->hosts_fd, &v[i], &one, BPF_ANY) < 0)
      return sys_error(err, errno, "node addresses");
  }
  for (size_t i = 0; i < np->n_hosts; i++) {
    bool keep = false;
    for (size_t k = 0; k < n && !keep; k++)
      keep = v[k] == np->hosts[i];
    if (!keep)
      bpf_map_delete_elem(np->hosts_fd, &np->hosts[i]);
  }
  memcpy(np->hosts, v, n * sizeof *v);
  np->n_hosts = n;
  return changed ? bump_gen(np, err) : 0;
}

KUBE_EXPORT size_t kube_netpol_attached(const kube_netpol_t *np) {
  return np ? np->n_attached : 0;
}

/* ---- folding allowances into LPM entries --------------------------------- */

struct item {
  uint32_t pod;
  uint32_t dir;
  uint32_t net;
  int bits;
  const kube_netpol_allow_t *a;
  uint32_t *ex_net; /* excepts, host order */
  int *ex_bits;
  size_t n_ex;
};

static int item_cmp(const void *x, const void *y) {
  const struct item *a = x, *b = y;
  if (a->pod != b->pod)
    return a->pod < b->pod ? -1 : 1;
  return a->dir < b->dir ? -1 : a->dir > b->dir;
}

static int key_cmp(const void *x, const void *y) {
  return memcmp(&((const struct rule_ent *)x)->k,
                &((const struct rule_ent *)y)->k, sizeof(struct rule_key));
}

static int pod_cmp(const void *x, const void *y) {
  uint32_t a = ((const struct pod_ent *)x)->ip, b = ((const struct pod_ent *)y)->ip;
  return a < b ? -1 : a > b;
}

static void add_range(struct rule_val *v, uint8_t proto, uint16_t lo,
                      uint16_t hi, bool *overflow) {
  if (v->n == ALL_PORTS)
    return;
  for (uint32_t i = 0; i < v->n; i++)
    if (v->r[i].proto == proto && v->r[i].lo <= lo && v->r[i].hi >= hi)
      return;
  if (v->n == MAX_RANGES) {
    *overflow = true;
    return;
  }
  v->r[v->n++] = (struct range){.lo = lo, .hi = hi, .proto = proto};
}

static void merge_ports(struct rule_val *v, const kube_netpol_allow_t *a,
                        bool *overflow) {
  if (a->all_ports) {
    v->n = ALL_PORTS;
    return;
  }
  for (size_t i = 0; i < a->n_ranges; i++)
    add_range(v, (uint8_t)a->ranges[i].protocol, (uint16_t)a->ranges[i].lo,
              (uint16_t)a->ranges[i].hi, overflow);
}

struct prefix {
  uint32_t net;
  int bits;
};

static int prefix_cmp(const void *x, const void *y) {
  const struct prefix *a = x, *b = y;
  if (a->net != b->net)
    return a->net < b->net ? -1 : 1;
  return a->bits - b->bits;
}

/* The entries of items[0..n) (one pod and direction) appended to *out.
 * The keys sorted and unique; an item of one address without excepts (a
 * pod peer: the common case) adds its ports to its own key only (found by
 * bisection), a wider one to every key it holds: O(keys * wide items). */
static int fold(struct item *it, size_t n, struct rule_ent **out, size_t *nout,
                size_t *cap, bool *overflow) {
  size_t np = 0;
  for (size_t i = 0; i < n; i++)
    np += 1 + it[i].n_ex;
  struct prefix *p = calloc(np ? np : 1, sizeof *p);
  if (!p)
    return -1;
  np = 0;
  for (size_t i = 0; i < n; i++) {
    p[np++] = (struct prefix){it[i].net, it[i].bits};
    for (size_t e = 0; e < it[i].n_ex; e++)
      p[np++] = (struct prefix){it[i].ex_net[e], it[i].ex_bits[e]};
  }
  qsort(p, np, sizeof *p, prefix_cmp);
  size_t u = 0;
  for (size_t j = 0; j < np; j++)
    if (u == 0 || prefix_cmp(&p[u - 1], &p[j]) != 0)
      p[u++] = p[j];
  np = u;
  if (*nout + np > *cap) {
    size_t c = *cap ? *cap : 64;
    while (c < *nout + np)
      c *= 2;
    struct rule_ent *q = realloc(*out, c * sizeof *q);
    if (!q) {
      free(p);
      return -1;
    }
    *out = q;
    *cap = c;
  }
  struct rule_ent *r = *out + *nout;
  memset(r, 0, np * sizeof *r);
  for (size_t j = 0; j < np; j++) {
    r[j].k.prefixlen = 64 + (uint32_t)p[j].bits;
    r[j].k.pod = htonl(it[0].pod);
    r[j].k.dir = it[0].dir;
    r[j].k.peer = htonl(p[j].net);
  }
  for (size_t i = 0; i < n; i++) {
    if (it[i].bits == 32 && it[i].n_ex == 0) {
      struct prefix key = {it[i].net, 32};
      struct prefix *hit = bsearch(&key, p, np, sizeof *p, prefix_cmp);
      merge_ports(&r[hit - p].v, it[i].a, overflow);
      continue;
    }
    for (size_t j = 0; j < np; j++) {
      if (!inside(p[j].net, p[j].bits, it[i].net, it[i].bits))
        continue;
      bool excepted = false;
      for (size_t e = 0; e < it[i].n_ex && !excepted; e++)
        excepted = inside(p[j].net, p[j].bits, it[i].ex_net[e],
                          it[i].ex_bits[e]);
      if (!excepted)
        merge_ports(&r[j].v, it[i].a, overflow);
    }
  }
  *nout += np;
  free(p);
  return 0;
}

static void items_free(struct item *it, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(it[i].ex_net);
    free(it[i].ex_bits);
  }
  free(it);
}

static int parse_items(const kube_netpol_allow_t *allow, size_t n,
                       struct item **out, kube_error_t *err) {
  struct item *it = calloc(n ? n : 1, sizeof *it);
  if (!it)
    return kube_make_oom(err);
  for (size_t i = 0; i < n; i++) {
    const kube_netpol_allow_t *a = &allow[i];
    int bits;
    it[i].a = a;
    it[i].dir = a->egress ? 1 : 0;
    if (!parse_cidr4(a->pod_ip, &it[i].pod, &bits) || bits != 32 ||
        !parse_cidr4(a->cidr, &it[i].net, &it[i].bits))
      goto bad;
    if (a->n_except &&
        (!(it[i].ex_net = calloc(a->n_except, sizeof *it[i].ex_net)) ||
         !(it[i].ex_bits = calloc(a->n_except, sizeof *it[i].ex_bits)))) {
      items_free(it, n);
      return kube_make_oom(err);
    }
    for (size_t e = 0; e < a->n_except; e++)
      if (!parse_cidr4(a->except[e], &it[i].ex_net[e], &it[i].ex_bits[e]))
        goto bad;
    it[i].n_ex = a->n_except;
    for (size_t r = 0; r < a->n_ranges; r++)
      if (a->ranges[r].lo < 0 || a->ranges[r].hi > 65535 ||
          a->ranges[r].lo > a->ranges[r].hi || a->ranges[r].protocol <= 0 ||
          a->ranges[r].protocol > 255)
        goto bad;
    continue;
  bad:
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "network policy: invalid allowance for pod \"%s\" peer "
                   "\"%s\"",
                   a->pod_ip ? a->pod_ip : "", a->cidr ? a->cidr : "");
    items_free(it, n);
    return -1;
  }
  qsort(it, n, sizeof *it, item_cmp);
  *out = it;
  return 0;
}

KUBE_EXPORT int kube_netpol_sync(kube_netpol_t *np,
                                 const kube_netpol_pod_t *pods, size_t n_pods,
                                 const kube_netpol_allow_t *allow,
                                 size_t n_allow, kube_error_t *err) {
  struct item *it = NULL;
  if (parse_items(allow, n_allow, &it, err) < 0)
    return -1;
  struct rule_ent *want = NULL;
  size_t n_want = 0, cap = 0;
  bool overflow = false;
  for (size_t i = 0; i < n_allow;) {
    size_t j = i + 1;
    while (j < n_allow && item_cmp(&it[i], &it[j]) == 0)
      j++;
    if (fold(&it[i], j - i, &want, &n_want, &cap, &overflow) < 0) {
      items_free(it, n_allow);
      free(want);
      return kube_make_oom(err);
    }
    i = j;
  }
  items_free(it, n_allow);
  if (overflow)
    kube_log(KUBE_LOG_WARNING,
             "net: network policy: more than %d port ranges for one peer "
             "of a pod; the rest are not allowed",
             MAX_RANGES);
  qsort(want, n_want, sizeof *want, key_cmp);
  struct pod_ent *wp = calloc(n_pods ? n_pods : 1, sizeof *wp);
  if (!wp) {
    free(want);
    return kube_make_oom(err);
  }
  for (size_t i = 0; i < n_pods; i++) {
    struct in_addr a;
    if (!pods[i].ip || inet_pton(AF_INET, pods[i].ip, &a) != 1) {
      free(want);
      free(wp);
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "network policy: invalid pod address \"%s\"",
                            pods[i].ip ? pods[i].ip : "");
    }
    wp[i].ip = a.s_addr;
    wp[i].v.isolated[0] = pods[i].isolated_ingress;
    wp[i].v.isolated[1] = pods[i].isolated_egress;
  }
  qsort(wp, n_pods, sizeof *wp, pod_cmp);
  int rc = 0;
  bool changed = false;
  /* 1. rules that are new or changed */
  for (size_t i = 0; i < n_want && rc == 0; i++) {
    struct rule_ent *old =
        bsearch(&want[i], np->rules, np->n_rules, sizeof *old, key_cmp);
    if (old && !memcmp(&old->v, &want[i].v, sizeof old->v))
      continue;
    changed = true;
    if (bpf_map_update_elem(np->rules_fd, &want[i].k, &want[i].v, BPF_ANY) <
        0)
      rc = sys_error(err, errno, "write a rule");
  }
  /* 2. isolation */
  for (size_t i = 0; i < n_pods && rc == 0; i++) {
    struct pod_ent *old =
        bsearch(&wp[i], np->pods, np->n_pods, sizeof *old, pod_cmp);
    if (old && !memcmp(&old->v, &wp[i].v, sizeof old->v))
      continue;
    changed = true;
    if (bpf_map_update_elem(np->pods_fd, &wp[i].ip, &wp[i].v, BPF_ANY) < 0)
      rc = sys_error(err, errno, "write a pod");
  }
  if (rc < 0) {
    /* What was written stays; the next sync writes it all again. */
    free(np->rules);
    free(np->pods);
    np->rules = NULL;
    np->pods = NULL;
    np->n_rules = np->n_pods = 0;
    free(want);
    free(wp);
    bump_gen(np, NULL);
    return rc;
  }
  /* 3. pods gone, then 4. rules gone */
  for (size_t i = 0; i < np->n_pods; i++)
    if (!bsearch(&np->pods[i], wp, n_pods, sizeof *wp, pod_cmp)) {
      bpf_map_delete_elem(np->pods_fd, &np->pods[i].ip);
      changed = true;
    }
  for (size_t i = 0; i < np->n_rules; i++)
    if (!bsearch(&np->rules[i], want, n_want, sizeof *want, key_cmp)) {
      bpf_map_delete_elem(np->rules_fd, &np->rules[i].k);
      changed = true;
    }
  if (changed && bump_gen(np, err) < 0)
    rc = -1;
  free(np->rules);
  free(np->pods);
  np->rules = want;
  np->n_rules = n_want;
  np->pods = wp;
  np->n_pods = n_pods;
  return rc;
}

KUBE_EXPORT size_t kube_netpol_rule_count(const kube_netpol_t *np) {
  return np ? np->n_rules : 0;
}

int net_netpol_prog_fd(const kube_netpol_t *np, bool to_pod) {
  return to_pod ? np->to_fd : np->from_fd;
}

#else /* !KUBE_HAVE_BPF */

KUBE_EXPORT kube_netpol_t *kube_netpol_new(const kube_netpol_options_t *opts,
                                           kube_error_t *err) {
  kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                 "network policy: this build has no libbpf");
  return NULL;
}
KUBE_EXPORT void kube_netpol_free(kube_netpol_t *np) {}
KUBE_EXPORT int kube_netpol_attach(kube_netpol_t *np, kube_error_t *err) {
  return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                        "network policy: this build has no libbpf");
}
KUBE_EXPORT int kube_netpol_sync(kube_netpol_t *np,
                                 const kube_netpol_pod_t *pods, size_t n_pods,
                                 const kube_netpol_allow_t *allow,
                                 size_t n_allow, kube_error_t *err) {
  return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                        "network policy: this build has no libbpf");
}

KUBE_EXPORT int kube_netpol_set_hosts(kube_netpol_t *np,
                                      const char *const *ips,
                                      kube_error_t *err) {
  return 0;
}
KUBE_EXPORT size_t kube_netpol_attached(const kube_netpol_t *np) {
  return 0;
}
KUBE_EXPORT size_t kube_netpol_rule_count(const kube_netpol_t *np) {
  return 0;
}
int net_netpol_prog_fd(const kube_netpol_t *np, bool to_pod) {
  return -1;
}
#endif
