/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NetworkPolicy on this node: the pods, namespaces and NetworkPolicies of
 * the cluster (shared informers) turned into what each local pod may send
 * and receive, and handed to the eBPF datapath of <libkube/net.h>
 * (kube_netpol_t: tc programs on the pods' veths of this node's bridge,
 * its own maps; a stopping agent takes them away).
 *
 * Semantics (networking.k8s.io/v1): a pod selected by a policy of its
 * namespace whose policyTypes has Ingress (Egress) is isolated in that
 * direction and gets the union of the rules of every such policy; a rule
 * with no peers means every peer, with no ports every port; peers are
 * pods chosen by podSelector within the policy's namespace, by
 * namespaceSelector (and podSelector) across namespaces, or an ipBlock
 * minus its excepts; ports are a protocol with a number, a range
 * (endPort) or a name, resolved against the destination pod's container
 * ports (the selected pod for ingress, the peer for egress).  Replies to
 * allowed flows pass; the node's own addresses reach its pods (probes).
 * Nothing else is allowed: DNS included, unless a rule says so.
 *
 * A change that can alter what this node's pods may do re-derives their
 * picture shortly after (one pass for a burst of events: every change of
 * one loop turn and the next 20 ms); the datapath writes only the entries
 * that changed.  The rest is no pass at all: a pod's status churn
 * (conditions, container states) when its namespace, labels, address,
 * node, ports and whether it has finished are as they were, a
 * namespace's when its labels are, any other node's pod's or namespace's
 * while no pod of this node is isolated (only a policy or a pod of its
 * own can isolate one; its own pods' veths get the programs), and then
 * another node's pod's unless a policy's pod or namespace selector takes
 * it as a peer (before or after the change; ipBlock peers are addresses,
 * not pods).
 * A new pod is programmed before its containers start: the pod worker
 * asks for a pass at once when its sandbox has an address the last pass
 * did not know (the API may not show that address yet: the sandbox's is
 * used).
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include "node/agent.h"

struct nd_netpol {
  kube_node_agent_t *a;
  kube_netpol_t *dp;
  kube_informer_t *pods, *namespaces, *policies;
  kube_informer_registration_t *regs[3];
  kube_timer_t *timer;
  /* The local pods' addresses the last pass programmed (network order). */
  uint32_t *local;
  size_t n_local;
  bool isolating; /* the last pass isolated a pod */
  /* events seen, passes run and their CPU time (told when the node stops) */
  uint64_t events, passes, pass_ns;
};

static bool in_values(json_object *values, const char *s) {
  if (!values || !json_object_is_type(values, json_type_array))
    return false;
  for (size_t i = 0; s && i < json_object_array_length(values); i++)
    if (streq(json_object_get_string(json_object_array_get_idx(values, i)), s))
      return true;
  return false;
}

/* ---- the cluster as this pass sees it ------------------------------------ */

struct pod {
  json_object *obj;
  const char *ns, *ip;
  json_object *labels;
  bool local;
};

struct build {
  struct nd_netpol *np;
  struct pod *pods;
  size_t n_pods, cap_pods;
  json_object **policies;
  size_t n_pol, cap_pol;
  kube_netpol_pod_t *iso;
  size_t n_iso, cap_iso;
  kube_netpol_allow_t *allow;
  size_t n_allow, cap_allow;
  void **owned; /* freed after the pass */
  size_t n_owned, cap_owned;
  bool oom;
};

static bool grow(void **v, size_t *cap, size_t n, size_t size) {
  if (n < *cap)
    return true;
  size_t c = *cap ? *cap * 2 : 16;
  void *nv = realloc(*v, c * size);
  if (!nv)
    return false;
  *v = nv;
  *cap = c;
  return true;
}
#define GROW(b, arr, n, cap)                                                   \
  (grow((void **)&(b)->arr, &(b)->cap, (b)->n, sizeof *(b)->arr) ||            \
   ((b)->oom = true, false))

static void *own(struct build *b, void *p) {
  if (!p || !GROW(b, owned, n_owned, cap_owned)) {
    free(p);
    b->oom = true;
    return NULL;
  }
  return b->owned[b->n_owned++] = p;
}

/* The objects are taken with kube_informer_get, which keeps their trees
 * (foreach lends a tree only for the call). */
static void collect_pod(const char *key, const kube_object_t *obj,
                        void *arg) {
  struct build *b = arg;
  obj = kube_informer_get(b->np->pods, key);
  json_object *o = obj ? kube_object_json(obj) : NULL;
  if (!o)
    return;
  const char *ip = kube_json_get_string(o, "status.podIP");
  const char *phase = kube_json_get_string(o, "status.phase");
  const char *node = kube_json_get_string(o, "spec.nodeName");
  bool local = node && streq(node, b->np->a->cfg.node_name);
  if (local && (!ip || !*ip)) {
    /* a sandbox of ours whose address the API does not show yet */
    const char *uid = kube_json_get_string(o, "metadata.uid");
    struct nd_pod *p = uid ? nd_pod_find(b->np->a, uid) : NULL;
    if (p && p->sandbox == ND_SB_READY && p->n_ips)
      ip = p->ips[0];
  }
  json_object *hn = kube_json_get(o, "spec.hostNetwork");
  if (!ip || !*ip || strchr(ip, ':') || (hn && json_object_get_boolean(hn)) ||
      (phase && (streq(phase, "Succeeded") || streq(phase, "Failed"))))
    return;
  if (!GROW(b, pods, n_pods, cap_pods))
    return;
  b->pods[b->n_pods++] = (struct pod){
      .obj = o,
      .ns = kube_json_get_string(o, "metadata.namespace"),
      .ip = ip,
      .labels = kube_json_get(o, "metadata.labels"),
      .local = local};
}

static void collect_policy(const char *key, const kube_object_t *obj,
                           void *arg) {
  struct build *b = arg;
  obj = kube_informer_get(b->np->policies, key);
  if (obj && GROW(b, policies, n_pol, cap_pol))
    b->policies[b->n_pol++] = kube_object_json(obj);
}

static json_object *ns_labels(struct build *b, const char *ns) {
  const kube_object_t *o = kube_informer_get(b->np->namespaces, ns);
  return o ? kube_json_get(kube_object_json(o), "metadata.labels") : NULL;
}

static int proto_num(const char *p) {
  return !p || streq(p, "TCP") ? IPPROTO_TCP
         : streq(p, "UDP")     ? IPPROTO_UDP
         : streq(p, "SCTP")    ? IPPROTO_SCTP
                               : 0;
}

/* The container port named `name` with protocol `proto` of a pod, or 0. */
static int named_port(json_object *pod, const char *name, int proto) {
  json_object *cs = kube_json_get(pod, "spec.containers");
  for (size_t i = 0; cs && i < json_object_array_length(cs); i++) {
    json_object *ps = kube_json_get(json_object_array_get_idx(cs, i), "ports");
    for (size_t k = 0; ps && k < json_object_array_length(ps); k++) {
      json_object *p = json_object_array_get_idx(ps, k);
      const char *n = kube_json_get_string(p, "name");
      if (n && streq(n, name) &&
          proto_num(kube_json_get_string(p, "protocol")) == proto) {
        json_object *cp = kube_json_get(p, "containerPort");
        return cp ? json_object_get_int(cp) : 0;
      }
    }
  }
  return 0;
}

/* A rule's ports as ranges; named ones resolved against `dest` (NULL:
 * dropped, they name no port of a non-pod peer).  *all when the rule has
 * no ports.  Owned by the build; NULL with *n 0 when none. */
static kube_netpol_range_t *ranges_of(struct build *b, json_object *ports,
                                      json_object *dest, size_t *n,
                                      bool *all) {
  size_t np = ports && json_object_is_type(ports, json_type_array)
                  ? json_object_array_length(ports)
                  : 0;
  *n = 0;
  *all = np == 0;
  if (!np)
    return NULL;
  kube_netpol_range_t *r = own(b, calloc(np, sizeof *r));
  if (!r)
    return NULL;
  for (size_t i = 0; i < np; i++) {
    json_object *p = json_object_array_get_idx(ports, i);
    int proto = proto_num(kube_json_get_string(p, "protocol"));
    json_object *port = kube_json_get(p, "port");
    json_object *end = kube_json_get(p, "endPort");
    if (!proto)
      continue;
    int lo = 0, hi = 65535;
    if (port && json_object_is_type(port, json_type_string)) {
      lo = hi = dest ? named_port(dest, json_object_get_string(port), proto)
                     : 0;
      if (lo <= 0)
        continue;
    } else if (port) {
      lo = hi = json_object_get_int(port);
      if (end)
        hi = json_object_get_int(end);
      if (lo < 1 || hi < lo || hi > 65535)
        continue;
    }
    r[(*n)++] = (kube_netpol_range_t){.protocol = proto, .lo = lo, .hi = hi};
  }
  return r;
}

static bool has_named(json_object *ports) {
  for (size_t i = 0; ports && json_object_is_type(ports, json_type_array) &&
                     i < json_object_array_length(ports);
       i++) {
    json_object *p = kube_json_get(json_object_array_get_idx(ports, i), "port");
    if (p && json_object_is_type(p, json_type_string))
      return true;
  }
  return false;
}

static void allow(struct build *b, const struct pod *local, bool egress,
                  const char *cidr, const char *const *except, size_t n_except,
                  json_object *ports, json_object *dest) {
  size_t n;
  bool all;
  kube_netpol_range_t *r = ranges_of(b, ports, dest, &n, &all);
  if (b->oom || !GROW(b, allow, n_allow, cap_allow))
    return;
  b->allow[b->n_allow++] = (kube_netpol_allow_t){.pod_ip = local->ip,
                                                 .egress = egress,
                                                 .cidr = cidr,
                                                 .except = except,
                                                 .n_except = n_except,
                                                 .all_ports = all,
                                                 .ranges = r,
                                                 .n_ranges = n};
}

static bool ipv4_in(const char *ip, const char *cidr) {
  struct in_addr a, net;
  char buf[INET_ADDRSTRLEN];
  const char *slash = strchr(cidr, '/');
  size_t len = slash ? (size_t)(slash - cidr) : strlen(cidr);
  if (len >= sizeof buf)
    return false;
  memcpy(buf, cidr, len);
  buf[len] = '\0';
  int bits = slash ? atoi(slash + 1) : 32;
  if (inet_pton(AF_INET, ip, &a) != 1 || inet_pton(AF_INET, buf, &net) != 1 ||
      bits < 0 || bits > 32)
    return false;
  uint32_t mask = bits ? htonl(~0u << (32 - bits)) : 0;
  return (a.s_addr & mask) == (net.s_addr & mask);
}

/* Egress named ports to peers that are addresses: for each pod there,
 * its own resolution of the names. */
static void named_to_pods(struct build *b, const struct pod *local,
                          const char *cidr, const char *const *except,
                          size_t n_except, json_object *ports) {
  for (size_t i = 0; i < b->n_pods; i++) {
    bool out = !ipv4_in(b->pods[i].ip, cidr);
    for (size_t e = 0; e < n_except && !out; e++)
      out = ipv4_in(b->pods[i].ip, except[e]);
    if (!out)
      allow(b, local, true, b->pods[i].ip, NULL, 0, ports, b->pods[i].obj);
  }
}

static void peer_pods(struct build *b, const struct pod *local, bool egress,
                      json_object *peer, const char *pol_ns,
                      json_object *ports) {
  json_object *ps = kube_json_get(peer, "podSelector");
  json_object *nss = kube_json_get(peer, "namespaceSelector");
  for (size_t i = 0; i < b->n_pods; i++) {
    const struct pod *q = &b->pods[i];
    if (nss ? !api_selector_matches_labels(nss, ns_labels(b, q->ns))
            : !streq(q->ns ? q->ns : "", pol_ns))
      continue;
    if (ps && !api_selector_matches_labels(ps, q->labels))
      continue;
    allow(b, local, egress, q->ip, NULL, 0, ports,
          egress ? q->obj : local->obj);
  }
}

static void rule(struct build *b, const struct pod *local, bool egress,
                 json_object *r, const char *pol_ns) {
  json_object *ports = kube_json_get(r, "ports");
  json_object *peers = kube_json_get(r, egress ? "to" : "from");
  size_t n = peers && json_object_is_type(peers, json_type_array)
                 ? json_object_array_length(peers)
                 : 0;
  bool named = egress && has_named(ports);
  if (n == 0) { /* every peer */
    allow(b, local, egress, "0.0.0.0/0", NULL, 0, ports,
          egress ? NULL : local->obj);
    if (named)
      named_to_pods(b, local, "0.0.0.0/0", NULL, 0, ports);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    json_object *peer = json_object_array_get_idx(peers, i);
    json_object *ipb = kube_json_get(peer, "ipBlock");
    if (!ipb) {
      peer_pods(b, local, egress, peer, pol_ns, ports);
      continue;
    }
    const char *cidr = kube_json_get_string(ipb, "cidr");
    if (!cidr || strchr(cidr, ':')) /* the pod network is IPv4 */
      continue;
    json_object *ex = kube_json_get(ipb, "except");
    size_t ne = ex && json_object_is_type(ex, json_type_array)
                    ? json_object_array_length(ex)
                    : 0;
    const char **except = ne ? own(b, calloc(ne, sizeof *except)) : NULL;
    if (ne && !except)
      return;
    size_t k = 0;
    for (size_t e = 0; e < ne; e++) {
      const char *s = json_object_get_string(json_object_array_get_idx(ex, e));
      if (s && !strchr(s, ':'))
        except[k++] = s;
    }
    allow(b, local, egress, cidr, except, k, ports,
          egress ? NULL : local->obj);
    if (named)
      named_to_pods(b, local, cidr, except, k, ports);
  }
}

static bool has_type(json_object *spec, const char *type) {
  return in_values(kube_json_get(spec, "policyTypes"), type);
}

static void local_pod(struct build *b, const struct pod *p) {
  bool iso[2] = {false, false};
  for (size_t i = 0; i < b->n_pol; i++) {
    json_object *pol = b->policies[i];
    const char *ns = kube_json_get_string(pol, "metadata.namespace");
    json_object *spec = kube_json_get(pol, "spec");
    if (!ns || !p->ns || !streq(ns, p->ns) ||
        !api_selector_matches_labels(kube_json_get(spec, "podSelector"), p->labels))
      continue;
    for (int d = 0; d < 2; d++) {
      if (!has_type(spec, d ? "Egress" : "Ingress"))
        continue;
      iso[d] = true;
      json_object *rules = kube_json_get(spec, d ? "egress" : "ingress");
      for (size_t k = 0; rules && json_object_is_type(rules, json_type_array) &&
                         k < json_object_array_length(rules);
           k++)
        rule(b, p, d, json_object_array_get_idx(rules, k), ns);
    }
  }
  if ((iso[0] || iso[1]) && GROW(b, iso, n_iso, cap_iso))
    b->iso[b->n_iso++] = (kube_netpol_pod_t){
        .ip = p->ip, .isolated_ingress = iso[0], .isolated_egress = iso[1]};
}

/* The node's addresses: its IP and its bridge's (the gateway the agent's
 * probes leave from). */
static void set_hosts(struct nd_netpol *np) {
  kube_node_agent_t *a = np->a;
  char ips[8][INET_ADDRSTRLEN];
  const char *v[9];
  size_t n = 0;
  if (a->cfg.node_ip && *a->cfg.node_ip && !strchr(a->cfg.node_ip, ':'))
    snprintf(ips[n++], INET_ADDRSTRLEN, "%s", a->cfg.node_ip);
  else if (kube_net_default_ipv4(ips[n], INET_ADDRSTRLEN, NULL) == 0)
    n++;
  struct ifaddrs *ifa = NULL;
  if (getifaddrs(&ifa) == 0) {
    for (struct ifaddrs *i = ifa; i && n < 8; i = i->ifa_next)
      if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
          streq(i->ifa_name, a->cfg.cni_bridge))
        inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr,
                  ips[n++], INET_ADDRSTRLEN);
    freeifaddrs(ifa);
  }
  for (size_t i = 0; i < n; i++)
    v[i] = ips[i];
  v[n] = NULL;
  kube_error_t e = KUBE_ERROR_INIT;
  if (kube_netpol_set_hosts(np->dp, v, &e) < 0)
    log_warn("node %s: network policy: %s", a->cfg.node_name, e.message);
  kube_error_clear(&e);
}

static int remember_local(struct nd_netpol *np, const struct build *b) {
  uint32_t *v = calloc(b->n_pods ? b->n_pods : 1, sizeof *v);
  if (!v)
    return -1;
  size_t n = 0;
  for (size_t i = 0; i < b->n_pods; i++)
    if (b->pods[i].local && inet_pton(AF_INET, b->pods[i].ip, &v[n]) == 1)
      n++;
  free(np->local);
  np->local = v;
  np->n_local = n;
  return 0;
}

static uint64_t cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void pass(void *arg) {
  struct nd_netpol *np = arg;
  kube_node_agent_t *a = np->a;
  /* A partial picture (pods without their policies) would open isolated
   * pods: nothing until every informer has listed (on_synced pokes). */
  for (int i = 0; i < 3; i++)
    if (!np->regs[i] || !kube_informer_registration_synced(np->regs[i]))
      return;
  uint64_t t0 = cpu_ns();
  kube_error_t e = KUBE_ERROR_INIT;
  if (kube_netpol_attach(np->dp, &e) < 0)
    log_warn("node %s: network policy: %s", a->cfg.node_name, e.message);
  kube_error_clear(&e);
  set_hosts(np);
  struct build b = {.np = np};
  kube_informer_foreach(np->pods, collect_pod, &b);
  kube_informer_foreach(np->policies, collect_policy, &b);
  for (size_t i = 0; i < b.n_pods && !b.oom; i++)
    if (b.pods[i].local)
      local_pod(&b, &b.pods[i]);
  if (b.oom)
    log_warn("node %s: network policy: out of memory", a->cfg.node_name);
  else if (kube_netpol_sync(np->dp, b.iso, b.n_iso, b.allow, b.n_allow, &e) <
           0)
    log_warn("node %s: network policy: %s", a->cfg.node_name, e.message);
  else if (remember_local(np, &b) < 0)
    b.oom = true;
  else {
    np->isolating = b.n_iso > 0;
    log_debug("node %s: network policy: %zu isolated pods, %zu rules, %zu "
              "veths",
              a->cfg.node_name, b.n_iso, kube_netpol_rule_count(np->dp),
              kube_netpol_attached(np->dp));
  }
  kube_error_clear(&e);
  for (size_t i = 0; i < b.n_owned; i++)
    free(b.owned[i]);
  free(b.owned);
  free(b.pods);
  free(b.policies);
  free(b.iso);
  free(b.allow);
  /* A failed pass (out of memory, a map error) is tried again. */
  if (b.oom && np->timer)
    kube_timer_arm(np->timer, 1000);
  np->passes++;
  np->pass_ns += cpu_ns() - t0;
}

/* ---- the agent's side ---------------------------------------------------- */

void nd_netpol_pod_ready(kube_node_agent_t *a, const struct nd_pod *p) {
  struct nd_netpol *np = a->netpol;
  uint32_t ip;
  if (!np || p->host_network || !p->n_ips ||
      inet_pton(AF_INET, p->ips[0], &ip) != 1)
    return;
  for (size_t i = 0; i < np->n_local; i++)
    if (np->local[i] == ip)
      return; /* programmed already */
  pass(np);
}

void nd_netpol_poke(kube_node_agent_t *a) {
  struct nd_netpol *np = a->netpol;
  if (np && np->timer && !kube_timer_pending(np->timer))
    kube_timer_arm(np->timer, 20);
}

/* ---- which changes matter ------------------------------------------------- */

static bool finished(json_object *pod) {
  const char *phase = kube_json_get_string(pod, "status.phase");
  return phase && (streq(phase, "Succeeded") || streq(phase, "Failed"));
}

/* Whether two versions of a pod look the same to the policies. */
static bool pod_same(json_object *x, json_object *y) {
  static const char *const paths[] = {"metadata.namespace", "metadata.labels",
                                      "status.podIP",       "spec.nodeName",
                                      "spec.hostNetwork",   "spec.containers"};
  for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
    if (!json_object_equal(kube_json_get(x, paths[i]),
                           kube_json_get(y, paths[i])))
      return false;
  return finished(x) == finished(y);
}

static bool pod_local(struct nd_netpol *np, json_object *pod) {
  const char *node = kube_json_get_string(pod, "spec.nodeName");
  return node && streq(node, np->a->cfg.node_name);
}

/* Other nodes' pods and the namespaces matter only as the peers of this
 * node's isolated pods: while it has none, only a policy or one of its
 * own pods can isolate one (a pass pending reads every cache anew). */
static bool peers_matter(struct nd_netpol *np) {
  return np->isolating;
}

/* Whether a policy could take pod `pod` as a peer: a podSelector /
 * namespaceSelector peer that selects it, or an egress rule with named
 * ports (resolved against every pod its peers hold). */
struct peer_check {
  struct nd_netpol *np;
  json_object *pod;
  bool peer;
};

static void peer_of_policy(const char *key, const kube_object_t *obj,
                           void *arg) {
  struct peer_check *c = arg;
  json_object *pol = kube_object_json(obj);
  const char *pns = kube_json_get_string(pol, "metadata.namespace");
  const char *ns = kube_json_get_string(c->pod, "metadata.namespace");
  json_object *labels = kube_json_get(c->pod, "metadata.labels");
  for (int d = 0; d < 2 && !c->peer; d++) {
    json_object *rules =
        kube_json_get(pol, d ? "spec.egress" : "spec.ingress");
    for (size_t k = 0; rules && json_object_is_type(rules, json_type_array) &&
                       k < json_object_array_length(rules) && !c->peer;
         k++) {
      json_object *r = json_object_array_get_idx(rules, k);
      if (d && has_named(kube_json_get(r, "ports"))) {
        c->peer = true;
        break;
      }
      json_object *peers = kube_json_get(r, d ? "to" : "from");
      for (size_t i = 0; peers && json_object_is_type(peers, json_type_array) &&
                         i < json_object_array_length(peers) && !c->peer;
           i++) {
        json_object *peer = json_object_array_get_idx(peers, i);
        json_object *ps = kube_json_get(peer, "podSelector");
        json_object *nss = kube_json_get(peer, "namespaceSelector");
        if (kube_json_get(peer, "ipBlock") || (!ps && !nss))
          continue;
        const kube_object_t *nso =
            nss && ns ? kube_informer_get(c->np->namespaces, ns) : NULL;
        if (nss ? !api_selector_matches_labels(
                      nss, nso ? kube_json_get(kube_object_json(nso),
                                               "metadata.labels")
                               : NULL)
                : !(ns && pns && streq(ns, pns)))
          continue;
        c->peer = !ps || api_selector_matches_labels(ps, labels);
      }
    }
  }
}

static bool pod_peer(struct nd_netpol *np, json_object *pod) {
  struct peer_check c = {.np = np, .pod = pod};
  kube_informer_foreach(np->policies, peer_of_policy, &c);
  return c.peer;
}

static void changed(struct nd_netpol *np, bool matters) {
  np->events++;
  if (matters)
    nd_netpol_poke(np->a);
}

static void on_pod(const char *key, const kube_object_t *obj, void *arg) {
  struct nd_netpol *np = ((kube_node_agent_t *)arg)->netpol;
  if (np)
    changed(np, pod_local(np, kube_object_json(obj)) ||
                    (peers_matter(np) && pod_peer(np, kube_object_json(obj))));
}
static void on_pod_update(const char *key, const kube_object_t *old,
                          const kube_object_t *obj, void *arg) {
  struct nd_netpol *np = ((kube_node_agent_t *)arg)->netpol;
  json_object *x = kube_object_json(old), *y = kube_object_json(obj);
  if (np)
    changed(np, !pod_same(x, y) &&
                    (pod_local(np, x) || pod_local(np, y) ||
                     (peers_matter(np) && (pod_peer(np, x) || pod_peer(np, y)))));
}
static void on_ns(const char *key, const kube_object_t *obj, void *arg) {
  struct nd_netpol *np = ((kube_node_agent_t *)arg)->netpol;
  if (np)
    changed(np, peers_matter(np));
}
static void on_ns_update(const char *key, const kube_object_t *old,
                         const kube_object_t *obj, void *arg) {
  struct nd_netpol *np = ((kube_node_agent_t *)arg)->netpol;
  if (np)
    changed(np, peers_matter(np) &&
                    !json_object_equal(
                        kube_json_get(kube_object_json(old), "metadata.labels"),
                        kube_json_get(kube_object_json(obj), "metadata.labels")));
}
static void on_policy(const char *key, const kube_object_t *obj, void *arg) {
  struct nd_netpol *np = ((kube_node_agent_t *)arg)->netpol;
  if (np)
    changed(np, true);
}
static void on_policy_update(const char *key, const kube_object_t *old,
                             const kube_object_t *obj, void *arg) {
  on_policy(key, obj, arg);
}
static void on_synced(void *arg) {
  nd_netpol_poke(arg);
}

int nd_netpol_init(kube_node_agent_t *a, kube_error_t *err) {
  /* An agent (system:node:NAME) lists every pod, namespace and policy
   * through the default ClusterRole system:libkube:node-network-policy
   * bound to system:nodes (rbac-defaults.c), as calico-node does. */
  if (geteuid() != 0)
    return 0; /* no BPF without root; the agent says it is not ready */
  kube_netpol_options_t o = {.struct_size = sizeof o,
                             .bridge = a->cfg.cni_bridge};
  kube_error_t e = KUBE_ERROR_INIT;
  kube_netpol_t *dp = kube_netpol_new(&o, &e);
  if (!dp) {
    log_warn("node %s: network policies are not enforced: %s",
             a->cfg.node_name, e.message);
    kube_error_clear(&e);
    return 0;
  }
  struct nd_netpol *np = calloc(1, sizeof *np);
  if (!np) {
    kube_netpol_free(dp);
    return kube_make_oom(err);
  }
  np->a = a;
  np->dp = dp;
  a->netpol = np;
  static const char *const paths[3] = {
      "/api/v1/pods", "/api/v1/namespaces",
      "/apis/networking.k8s.io/v1/networkpolicies"};
  kube_informer_t **infs[3] = {&np->pods, &np->namespaces, &np->policies};
  for (int i = 0; i < 3; i++) {
    kube_informer_options_t io = {.struct_size = sizeof io, .path = paths[i]};
    if (!(*infs[i] = kube_informer_factory_informer(a->factory, &io, err)))
      return kube_error_wrap(err, "network policy");
  }
  if (!(np->timer = kube_timer_new(a->loop, pass, np, err)))
    return kube_error_wrap(err, "network policy");
  return 0;
}

int nd_netpol_start(kube_node_agent_t *a, kube_error_t *err) {
  struct nd_netpol *np = a->netpol;
  if (!np)
    return 0;
  kube_informer_handlers_t h[3] = {
      {.struct_size = sizeof h[0],
       .on_add = on_pod,
       .on_update = on_pod_update,
       .on_delete = on_pod,
       .on_synced = on_synced},
      {.struct_size = sizeof h[0],
       .on_add = on_ns,
       .on_update = on_ns_update,
       .on_delete = on_ns,
       .on_synced = on_synced},
      {.struct_size = sizeof h[0],
       .on_add = on_policy,
       .on_update = on_policy_update,
       .on_delete = on_policy,
       .on_synced = on_synced}};
  kube_informer_t *infs[3] = {np->pods, np->namespaces, np->policies};
  for (int i = 0; i < 3; i++) {
    if (!(np->regs[i] = kube_informer_add_handlers(infs[i], &h[i], a, err)) ||
        (!kube_informer_running(infs[i]) &&
         kube_informer_start(infs[i], err) < 0))
      return kube_error_wrap(err, "network policy");
  }
  log_info("node %s: network policies enforced by eBPF on the veths of %s",
           a->cfg.node_name, a->cfg.cni_bridge);
  return 0;
}

/* The programs leave every veth with the datapath. */
void nd_netpol_free(kube_node_agent_t *a) {
  struct nd_netpol *np = a->netpol;
  if (!np)
    return;
  log_info("node %s: network policy: %llu passes (%.1f ms CPU) for %llu "
           "changes of pods, namespaces and policies",
           a->cfg.node_name, (unsigned long long)np->passes,
           (double)np->pass_ns / 1e6, (unsigned long long)np->events);
  kube_informer_t *infs[3] = {np->pods, np->namespaces, np->policies};
  for (int i = 0; i < 3; i++)
    if (infs[i] && np->regs[i])
      kube_informer_remove_handlers(infs[i], np->regs[i]);
  kube_timer_free(np->timer);
  kube_netpol_free(np->dp);
  free(np->local);
  free(np);
  a->netpol = NULL;
}
