/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node's service proxy (what kube-proxy is to a kubelet): Services and EndpointSlices from the shared informers,
 * programmed into the socket load balancer of <libkube/net.h>
 * (kube_svclb_t) as they change.  Each Service port gets the ready
 * endpoints of its slices whose port matches by name and protocol (the
 * slices carry the resolved target port, named ports included), with
 * sessionAffinity ClientIP when asked (per client network namespace); a
 * Service without ready endpoints refuses connections.  NodePort and
 * LoadBalancer Services are also reachable on the node's addresses at
 * their node ports; a LoadBalancer Service also on the node's address at
 * its own port, which its status reports as the load balancer's ingress
 * (k3s's ServiceLB: EXTERNAL-IP is the node's address at once, never
 * <pending>).
 *
 * Node ports also answer clients outside the node through iptables DNAT
 * rules (kube_net_nodeport_nat_sync: one chain per node, rewritten 50 ms
 * after a burst of changes on the node's workers, one rewrite at a time,
 * removed on stop).
 *
 * Runs with a node (it balances that node's sockets: its own network
 * namespace's and its pods', see kube_svclb_options_t.cgroup_scope) and
 * keeps an unreachable route for the service CIDR in the node's
 * namespace.  When the kernel or the build cannot do it, the node runs
 * without and says why.
 *
 * The datapath is behind a small table of operations (struct lb_ops):
 * the eBPF socket load balancer above, or, where the programs cannot be
 * attached (no cgroup v2, no BPF) or when asked (--proxy-mode nftables),
 * an nftables table of the node's (kube_nftlb_t, kube-proxy's nftables
 * mode): the same Service ports are recorded there and written in one
 * nftables transaction per burst of changes (10 ms after the first, on the
 * node's workers, one at a time); node ports from outside are in that
 * table too (no iptables chain), and the service CIDR is routed to the
 * node's interface instead of unreachable, so the node's own connections
 * reach the DNAT.
 */
#include <unistd.h>

#include <libkube/kit.h>
#include <libkube/net.h>

#include "api/api-private.h"
#include "client/client-private.h"
#include "node/internal.h"
#include "node/proxy.h"

#define SLICES_BY_SERVICE "libkube/service"
#define LABEL_SERVICE_NAME "kubernetes.io/service-name"

/* One programmed Service port. */
struct entry {
  char ip[16]; /* "" for a node port */
  int port;
  char proto[4];
};

struct programmed {
  struct entry *e;
  size_t n;
};

/* A Service's node ports with their backends, for the NAT rules that
 * serve clients outside the node. */
struct natport {
  char proto[4];
  int node_port;
  kube_svclb_backend_t *b;
  char (*ips)[16]; /* b[i].ip points here */
  size_t n;
};
struct natsvc {
  struct natport *p;
  size_t n;
};

/* The datapath: eBPF socket load balancing or an nftables table. */
struct lb_ops {
  const char *mode;
  int (*set)(void *lb, const char *ip, int port, const char *proto,
             const kube_svclb_backend_t *b, size_t n, int affinity,
             kube_error_t *err);
  int (*del)(void *lb, const char *ip, int port, const char *proto,
             kube_error_t *err);
  void (*free)(void *lb);
  /* set/del are recorded: kube_nftlb_commit writes them (workers) */
  bool batched;
  /* node ports from outside the node need the iptables NAT chain */
  bool outside_nat;
};

static int ebpf_set(void *lb, const char *ip, int port, const char *proto,
                    const kube_svclb_backend_t *b, size_t n, int affinity,
                    kube_error_t *err) {
  return kube_svclb_set(lb, ip, port, proto, b, n, affinity, err);
}
static int ebpf_del(void *lb, const char *ip, int port, const char *proto,
                    kube_error_t *err) {
  return kube_svclb_delete(lb, ip, port, proto, err);
}
static void ebpf_free(void *lb) { kube_svclb_free(lb); }
static const struct lb_ops ebpf_ops = {.mode = "ebpf",
                                       .set = ebpf_set,
                                       .del = ebpf_del,
                                       .free = ebpf_free,
                                       .outside_nat = true};

static int nft_set(void *lb, const char *ip, int port, const char *proto,
                   const kube_svclb_backend_t *b, size_t n, int affinity,
                   kube_error_t *err) {
  return kube_nftlb_set(lb, ip, port, proto, b, n, affinity, err);
}
static int nft_del(void *lb, const char *ip, int port, const char *proto,
                   kube_error_t *err) {
  return kube_nftlb_delete(lb, ip, port, proto, err);
}
static void nft_free(void *lb) { kube_nftlb_free(lb); }
static const struct lb_ops nft_ops = {.mode = "nftables",
                                      .set = nft_set,
                                      .del = nft_del,
                                      .free = nft_free,
                                      .batched = true};

struct commit_job;

struct nd_proxy {
  kube_loop_t *loop;
  kube_transport_t tp;
  kube_informer_factory_t *factory;
  const struct lb_ops *ops;
  void *lb;
  bool nft_route; /* p->route is the nftables mode's (kube_net_service_route) */
  kube_timer_t *commit_timer; /* nftables: commits shortly after changes */
  struct commit_job *commit_job; /* the commit running on a worker */
  bool commit_dirty;             /* changed while it ran */
  kube_informer_t *services, *slices;
  kube_informer_registration_t *svc_reg, *slice_reg;
  struct strmap done; /* "ns/name" -> struct programmed */
  char *node_ip, *node_name;
  kube_writer_t *writer; /* LoadBalancer status (NULL: not ours to write) */
  char *route;           /* the unreachable route we added (service CIDR) */
  struct strmap nat;     /* "ns/name" -> struct natsvc */
  char nat_chain[32];    /* KUBE-NP-<hash>: this node's */
  bool nat_synced;       /* the chain exists */
  kube_timer_t *nat_timer; /* rewrites the chain shortly after changes */
  kube_workers_t *workers;  /* the rewrites run there (NULL: on the loop) */
  struct nat_job *nat_job; /* the rewrite running on a worker, or NULL */
  bool nat_dirty;          /* changed while it ran: rewrite again after */
};

static void natsvc_free(void *v) {
  struct natsvc *ns = v;
  for (size_t i = 0; ns && i < ns->n; i++) {
    free(ns->p[i].b);
    free(ns->p[i].ips);
  }
  if (ns)
    free(ns->p);
  free(ns);
}

struct nat_all {
  kube_net_nodeport_t *v;
  size_t n, cap;
};

static void nat_collect(struct nat_all *a, const struct natsvc *ns) {
  for (size_t i = 0; i < ns->n; i++) {
    if (a->n == a->cap) {
      size_t cap = a->cap ? a->cap * 2 : 16;
      kube_net_nodeport_t *v = realloc(a->v, cap * sizeof *v);
      if (!v)
        return;
      a->v = v;
      a->cap = cap;
    }
    a->v[a->n++] = (kube_net_nodeport_t){.protocol = ns->p[i].proto,
                                         .node_port = ns->p[i].node_port,
                                         .backends = ns->p[i].b,
                                         .n = ns->p[i].n};
  }
}

/* Rewrite this node's NAT chain from every Service's node ports, on the
 * loop (no worker pool). */
static void nat_flush_here(struct nd_proxy *p) {
  struct nat_all a = {0};
  for (size_t i = 0; i < p->nat.nbuckets; i++)
    for (struct strmap_entry *e = p->nat.buckets[i]; e; e = e->next)
      nat_collect(&a, e->value);
  kube_error_t err = KUBE_ERROR_INIT;
  if (kube_net_nodeport_nat_sync(p->nat_chain, p->node_ip, a.v, a.n, &err) <
      0)
    log_warn("service proxy: node ports for outside clients: %s",
             err.message);
  else
    p->nat_synced = true;
  kube_error_clear(&err);
  free(a.v);
}

/* A rewrite of the chain on a worker thread: iptables-restore and
 * iptables take milliseconds (more while another program holds the xtables
 * lock), which the loop must not wait for.  The job owns a copy of the
 * rules; one runs at a time, so rewrites land in the order they were
 * made, and changes made meanwhile start one more when it is done. */
struct nat_job {
  struct nd_proxy *p; /* NULL once the proxy stopped */
  char chain[32];
  char *node_ip;
  struct nat_all a;
  kube_svclb_backend_t *b; /* every port's backends, copied */
  char (*ips)[16];
  int rc;
  kube_error_t err;
  bool finished; /* set by the worker (atomic) */
};

static void nat_job_free(struct nat_job *j) {
  free(j->node_ip);
  free(j->a.v);
  free(j->b);
  free(j->ips);
  kube_error_clear(&j->err);
  free(j);
}

/* A job with a copy of every Service's node ports (NULL: out of memory). */
static struct nat_job *nat_job_new(struct nd_proxy *p) {
  struct nat_job *j = calloc(1, sizeof *j);
  if (!j || !(j->node_ip = strdup(p->node_ip))) {
    free(j);
    return NULL;
  }
  j->p = p;
  j->err = (kube_error_t)KUBE_ERROR_INIT;
  snprintf(j->chain, sizeof j->chain, "%s", p->nat_chain);
  for (size_t i = 0; i < p->nat.nbuckets; i++)
    for (struct strmap_entry *e = p->nat.buckets[i]; e; e = e->next)
      nat_collect(&j->a, e->value);
  size_t nb = 0;
  for (size_t i = 0; i < j->a.n; i++)
    nb += j->a.v[i].n;
  j->b = calloc(nb ? nb : 1, sizeof *j->b);
  j->ips = calloc(nb ? nb : 1, sizeof *j->ips);
  if (!j->b || !j->ips) {
    nat_job_free(j);
    return NULL;
  }
  size_t k = 0;
  for (size_t i = 0; i < j->a.n; i++) {
    kube_net_nodeport_t *np = &j->a.v[i];
    /* the natport's protocol goes with its Service: a literal instead
     * (kube_net_nodeport_nat_sync tells UDP from the rest, TCP) */
    np->protocol = np->protocol && !strcasecmp(np->protocol, "UDP") ? "UDP"
                                                                    : "TCP";
    for (size_t m = 0; m < np->n; m++) {
      snprintf(j->ips[k + m], sizeof j->ips[k + m], "%s",
               np->backends[m].ip);
      j->b[k + m] = (kube_svclb_backend_t){.ip = j->ips[k + m],
                                           .port = np->backends[m].port};
    }
    np->backends = j->b + k;
    k += np->n;
  }
  return j;
}

static void nat_work(void *arg) {
  struct nat_job *j = arg;
  j->rc = kube_net_nodeport_nat_sync(j->chain, j->node_ip, j->a.v, j->a.n,
                                     &j->err);
  __atomic_store_n(&j->finished, true, __ATOMIC_RELEASE);
}

static void nat_done(void *arg) {
  struct nat_job *j = arg;
  struct nd_proxy *p = j->p;
  if (p) {
    p->nat_job = NULL;
    if (j->rc < 0)
      log_warn("service proxy: node ports for outside clients: %s",
               j->err.message);
    else
      p->nat_synced = true;
    if (p->nat_dirty && p->nat_timer) {
      p->nat_dirty = false;
      kube_timer_arm(p->nat_timer, 0);
    }
  }
  nat_job_free(j);
}

/* Rewrite this node's NAT chain from every Service's node ports. */
static void nat_flush(void *arg) {
  struct nd_proxy *p = arg;
  if (!p->workers) {
    nat_flush_here(p);
    return;
  }
  if (p->nat_job) {
    p->nat_dirty = true;
    return;
  }
  kube_error_t err = KUBE_ERROR_INIT;
  struct nat_job *j = nat_job_new(p);
  if (j && kube_workers_submit(p->workers, nat_work, nat_done, j, &err) == 0) {
    p->nat_job = j;
    return;
  }
  if (j)
    nat_job_free(j);
  log_warn("service proxy: node ports for outside clients: %s",
           err.message ? err.message : "out of memory");
  kube_error_clear(&err);
  /* try again later rather than never */
  if (p->nat_timer)
    kube_timer_arm(p->nat_timer, 1000);
}

/* Stopping: wait for the rewrite in flight (the chain is removed after
 * it, not before) and leave its completion nothing to do. */
static void nat_wait(struct nd_proxy *p) {
  struct nat_job *j = p->nat_job;
  if (!j)
    return;
  while (!__atomic_load_n(&j->finished, __ATOMIC_ACQUIRE))
    usleep(1000);
  if (j->rc == 0)
    p->nat_synced = true;
  j->p = NULL;
  p->nat_job = NULL;
}

/* ---- nftables: one transaction per burst of changes ---- */

/* A commit on a worker thread (libnftables' netlink batch blocks); one
 * at a time, changes made meanwhile start one more when it is done. */
struct commit_job {
  struct nd_proxy *p; /* NULL once the proxy stopped */
  kube_nftlb_t *lb;
  int rc;
  kube_error_t err;
  bool finished; /* set by the worker (atomic) */
};

static void commit_log(struct nd_proxy *p, int rc, const kube_error_t *err) {
  if (rc < 0)
    log_warn("service proxy: nftables: %s (the table is rebuilt at the next "
             "change, or in 1 s)",
             err->message);
  else if (rc > 0)
    log_debug("service proxy: nftables: %d Service ports written", rc);
  if (rc < 0 && p->commit_timer && !kube_timer_pending(p->commit_timer))
    kube_timer_arm(p->commit_timer, 1000);
}

static void commit_work(void *arg) {
  struct commit_job *j = arg;
  j->rc = kube_nftlb_commit(j->lb, &j->err);
  __atomic_store_n(&j->finished, true, __ATOMIC_RELEASE);
}

static void commit_done(void *arg) {
  struct commit_job *j = arg;
  struct nd_proxy *p = j->p;
  if (p) {
    p->commit_job = NULL;
    commit_log(p, j->rc, &j->err);
    if (p->commit_dirty && p->commit_timer) {
      p->commit_dirty = false;
      kube_timer_arm(p->commit_timer, 0);
    }
  }
  kube_error_clear(&j->err);
  free(j);
}

static void commit_flush(void *arg) {
  struct nd_proxy *p = arg;
  if (p->commit_job) {
    p->commit_dirty = true;
    return;
  }
  kube_error_t err = KUBE_ERROR_INIT;
  if (!p->workers) {
    commit_log(p, kube_nftlb_commit(p->lb, &err), &err);
    kube_error_clear(&err);
    return;
  }
  struct commit_job *j = calloc(1, sizeof *j);
  if (j) {
    *j = (struct commit_job){.p = p, .lb = p->lb, .err = KUBE_ERROR_INIT};
    if (kube_workers_submit(p->workers, commit_work, commit_done, j, &err) ==
        0) {
      p->commit_job = j;
      return;
    }
  }
  free(j);
  /* on the loop rather than never */
  kube_error_clear(&err);
  commit_log(p, kube_nftlb_commit(p->lb, &err), &err);
  kube_error_clear(&err);
}

/* Stopping: wait for the commit in flight (the table goes after it). */
static void commit_wait(struct nd_proxy *p) {
  struct commit_job *j = p->commit_job;
  if (!j)
    return;
  while (!__atomic_load_n(&j->finished, __ATOMIC_ACQUIRE))
    usleep(1000);
  j->p = NULL;
  p->commit_job = NULL;
}

static void programmed_free(void *v) {
  struct programmed *pr = v;
  if (pr)
    free(pr->e);
  free(pr);
}

/* The key "ns/name" of a slice's Service; false when it names none. */
static bool service_key_of(const kube_object_t *slice, char key[512]) {
  const char *svc = kube_object_label(slice, LABEL_SERVICE_NAME);
  const char *ns = kube_object_namespace(slice);
  if (!svc || !ns)
    return false;
  snprintf(key, 512, "%s/%s", ns, svc);
  return true;
}

/* Slices are found by their Service. */
static void index_service(const kube_object_t *obj, kube_index_values_t *out,
                          void *arg) {
  char key[512];
  if (service_key_of(obj, key))
    kube_index_values_add(out, key);
}

struct collect {
  const char *port_name, *proto;
  const char *node_name; /* ours: which endpoints are local */
  kube_svclb_backend_t *b;
  char (*ips)[16];
  bool *local;
  size_t n, cap;
};

static bool ready(json_object *ep) {
  json_object *r = kube_json_get(ep, "conditions.ready");
  /* nil ready means ready (discovery/v1); terminating ones say false */
  return !r || json_object_get_boolean(r);
}

static void collect_slice(const char *key, const kube_object_t *obj,
                          void *arg) {
  struct collect *c = arg;
  json_object *s = kube_object_json(obj);
  const char *at = kube_json_get_string(s, "addressType");
  if (at && !streq(at, "IPv4"))
    return;
  json_object *ports = kube_json_get(s, "ports");
  int port = 0;
  for (size_t i = 0; ports && i < json_object_array_length(ports); i++) {
    json_object *sp = json_object_array_get_idx(ports, i);
    const char *name = kube_json_get_string(sp, "name");
    const char *proto = kube_json_get_string(sp, "protocol");
    if (streq(name ? name : "", c->port_name) &&
        streq(proto ? proto : "TCP", c->proto)) {
      json_object *pn = kube_json_get(sp, "port");
      port = pn ? json_object_get_int(pn) : 0;
      break;
    }
  }
  if (port <= 0)
    return;
  json_object *eps = kube_json_get(s, "endpoints");
  for (size_t i = 0; eps && i < json_object_array_length(eps); i++) {
    json_object *ep = json_object_array_get_idx(eps, i);
    const char *ip = kube_json_get_string(ep, "addresses.0");
    if (!ip || !ready(ep) || strlen(ip) > 15)
      continue;
    if (c->n == c->cap) {
      size_t cap = c->cap ? c->cap * 2 : 8;
      kube_svclb_backend_t *nb = realloc(c->b, cap * sizeof *nb);
      if (!nb)
        return;
      c->b = nb;
      char(*ni)[16] = realloc(c->ips, cap * sizeof *ni);
      if (!ni)
        return;
      c->ips = ni;
      bool *nl = realloc(c->local, cap * sizeof *nl);
      if (!nl)
        return;
      c->local = nl;
      c->cap = cap;
    }
    const char *node = kube_json_get_string(ep, "nodeName");
    snprintf(c->ips[c->n], 16, "%s", ip);
    c->b[c->n].port = port;
    c->local[c->n] = node && c->node_name && streq(node, c->node_name);
    c->n++;
  }
}

static bool has_entry(const struct programmed *pr, const struct entry *e) {
  for (size_t i = 0; pr && i < pr->n; i++)
    if (streq(pr->e[i].ip, e->ip) && pr->e[i].port == e->port &&
        streq(pr->e[i].proto, e->proto))
      return true;
  return false;
}

static void status_written(const kube_object_t *res, const kube_error_t *e,
                           void *arg) {
  if (e && e->reason != KUBE_REASON_NOT_FOUND)
    log_warn("service proxy: LoadBalancer status: %s", e->message);
}

/* A LoadBalancer Service's ingress is the node's address. */
static void lb_status(struct nd_proxy *p, json_object *svc) {
  const char *have =
      kube_json_get_string(svc, "status.loadBalancer.ingress.0.ip");
  json_object *ing = kube_json_get(svc, "status.loadBalancer.ingress");
  if (!p->node_ip || !p->writer ||
      (have && streq(have, p->node_ip) && json_object_array_length(ing) == 1))
    return;
  char patch[256];
  snprintf(patch, sizeof patch,
           "{\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"%s\","
           "\"ipMode\":\"VIP\"}]}}}",
           p->node_ip);
  kube_error_t err = KUBE_ERROR_INIT;
  if (kube_writer_patch(p->writer, kube_kind_by_resource("", "v1", "services"),
                        kube_json_get_string(svc, "metadata.namespace"),
                        kube_json_get_string(svc, "metadata.name"), "status",
                        KUBE_PATCH_MERGE, patch, NULL, status_written, p,
                        &err) < 0)
    log_warn("service proxy: LoadBalancer status: %s", err.message);
  kube_error_clear(&err);
}

/* The collected backends, all or the local ones only (Local traffic
 * policies), as a port of the NAT rules (copies).  False on
 * out-of-memory. */
static bool natport_fill(struct natport *q, const struct collect *c,
                         bool local_only) {
  size_t n = 0;
  for (size_t k = 0; k < c->n; k++)
    n += !local_only || c->local[k];
  q->n = 0;
  q->b = n ? calloc(n, sizeof *q->b) : NULL;
  q->ips = n ? calloc(n, sizeof *q->ips) : NULL;
  if (n && (!q->b || !q->ips)) {
    free(q->b);
    free(q->ips);
    q->b = NULL;
    q->ips = NULL;
    return false;
  }
  for (size_t k = 0; k < c->n; k++) {
    if (local_only && !c->local[k])
      continue;
    memcpy(q->ips[q->n], c->ips[k], 16);
    q->b[q->n] = (kube_svclb_backend_t){.ip = q->ips[q->n], .port = c->b[k].port};
    q->n++;
  }
  return true;
}

/* Write one Service port into the maps and remember it in `now`. */
static void program(struct nd_proxy *p, struct programmed *now, const char *key,
                    const char *ip, int port, const char *proto,
                    const struct natport *set, int affinity) {
  struct entry e = {.port = port};
  snprintf(e.ip, sizeof e.ip, "%s", ip ? ip : "");
  snprintf(e.proto, sizeof e.proto, "%s", proto);
  kube_error_t err = KUBE_ERROR_INIT;
  if (p->ops->set(p->lb, e.ip, port, proto, set->b, set->n, affinity, &err) <
      0)
    log_warn("service proxy: %s %s:%d/%s: %s", key, *e.ip ? e.ip : "node port",
             port, proto, err.message);
  else
    now->e[now->n++] = e;
  kube_error_clear(&err);
}

/* Program one Service ("ns/name") as the caches say now. */
static void sync_service(struct nd_proxy *p, const char *key) {
  const kube_object_t *obj = kube_informer_get(p->services, key);
  json_object *svc = obj ? kube_object_json(obj) : NULL;
  const char *type = svc ? kube_json_get_string(svc, "spec.type") : NULL;
  const char *cip = svc ? kube_json_get_string(svc, "spec.clusterIP") : NULL;
  bool active = svc && !(type && streq(type, "ExternalName")) && cip &&
                *cip && !streq(cip, "None");
  struct programmed *now = calloc(1, sizeof *now);
  struct natsvc *nat = calloc(1, sizeof *nat);
  json_object *ports = active ? kube_json_get(svc, "spec.ports") : NULL;
  size_t np = ports && json_object_is_type(ports, json_type_array)
                  ? json_object_array_length(ports)
                  : 0;
  bool lb = active && type && streq(type, "LoadBalancer") && p->node_ip;
  if (!now || !nat || (np && !(now->e = calloc(np * 3, sizeof *now->e))) ||
      (np && !(nat->p = calloc(np * 2, sizeof *nat->p)))) {
    programmed_free(now);
    natsvc_free(nat);
    log_warn("service proxy: out of memory programming %s", key);
    return;
  }
  const char *itp = active ? kube_json_get_string(svc, "spec.internalTrafficPolicy")
                           : NULL;
  const char *etp = active ? kube_json_get_string(svc, "spec.externalTrafficPolicy")
                           : NULL;
  bool itp_local = itp && streq(itp, "Local");
  bool etp_local = etp && streq(etp, "Local");
  int affinity = 0;
  const char *sa = active ? kube_json_get_string(svc, "spec.sessionAffinity")
                          : NULL;
  if (sa && streq(sa, "ClientIP")) {
    json_object *t = kube_json_get(
        svc, "spec.sessionAffinityConfig.clientIP.timeoutSeconds");
    affinity = t ? json_object_get_int(t) : 10800; /* Kubernetes' default */
  }
  for (size_t i = 0; i < np; i++) {
    json_object *sp = json_object_array_get_idx(ports, i);
    const char *name = kube_json_get_string(sp, "name");
    const char *proto = kube_json_get_string(sp, "protocol");
    json_object *pn = kube_json_get(sp, "port");
    json_object *nodep = kube_json_get(sp, "nodePort");
    proto = proto ? proto : "TCP";
    if (!pn || (!streq(proto, "TCP") && !streq(proto, "UDP")))
      continue;
    struct collect c = {.port_name = name ? name : "",
                        .proto = proto,
                        .node_name = p->node_name};
    kube_informer_index_foreach(p->slices, SLICES_BY_SERVICE, key,
                                collect_slice, &c);
    for (size_t k = 0; k < c.n; k++)
      c.b[k].ip = c.ips[k];
    /* internalTrafficPolicy Local: in-cluster clients get this node's
     * endpoints only; externalTrafficPolicy Local: so do node ports and
     * the load balancer (and the client's address is kept: it is). */
    struct natport in = {0}, ext = {0};
    if (!natport_fill(&in, &c, itp_local) || !natport_fill(&ext, &c, etp_local))
      log_warn("service proxy: out of memory programming %s", key);
    int port = json_object_get_int(pn);
    program(p, now, key, cip, port, proto, &in, affinity);
    int node_port = nodep ? json_object_get_int(nodep) : 0;
    if (node_port > 0)
      program(p, now, key, NULL, node_port, proto, &ext, affinity);
    if (lb)
      program(p, now, key, p->node_ip, port, proto, &ext, affinity);
    /* the NAT rules for clients outside the node: node port, LB port */
    for (int k = 0; k < 2; k++) {
      int nport = k == 0 ? node_port : lb ? port : 0;
      if (nport <= 0 || nat->n >= np * 2)
        continue;
      struct natport *q = &nat->p[nat->n];
      if (!natport_fill(q, &c, etp_local))
        continue;
      snprintf(q->proto, sizeof q->proto, "%s", proto);
      q->node_port = nport;
      nat->n++;
    }
    free(in.b);
    free(in.ips);
    free(ext.b);
    free(ext.ips);
    free(c.b);
    free(c.ips);
    free(c.local);
  }
  if (lb)
    lb_status(p, svc);
  /* Outside clients' node ports: the chain is rewritten shortly (one
   * rewrite for a burst of changes). */
  struct natsvc *old_nat = strmap_get(&p->nat, key);
  void *prev_nat = NULL;
  if (old_nat || nat->n) {
    if (!nat->n) {
      natsvc_free(strmap_remove(&p->nat, key));
      natsvc_free(nat);
    } else if (!strmap_put(&p->nat, key, nat, &prev_nat)) {
      natsvc_free(nat);
    } else {
      natsvc_free(prev_nat);
    }
    nat = NULL;
    if (p->ops->outside_nat && p->nat_timer && p->node_ip &&
        !kube_timer_pending(p->nat_timer))
      kube_timer_arm(p->nat_timer, 50);
  }
  natsvc_free(nat);
  struct programmed *old = strmap_get(&p->done, key);
  for (size_t i = 0; old && i < old->n; i++)
    if (!has_entry(now, &old->e[i]))
      p->ops->del(p->lb, old->e[i].ip, old->e[i].port, old->e[i].proto, NULL);
  if (p->ops->batched && p->commit_timer &&
      !kube_timer_pending(p->commit_timer))
    kube_timer_arm(p->commit_timer, 10);
  void *prev = NULL;
  if (!now->n) {
    programmed_free(strmap_remove(&p->done, key));
    programmed_free(now);
  } else if (!strmap_put(&p->done, key, now, &prev)) {
    programmed_free(now);
    log_warn("service proxy: out of memory programming %s", key);
  } else {
    programmed_free(prev);
  }
}

static void svc_changed(const char *key, const kube_object_t *obj, void *arg) {
  sync_service(arg, key);
}
static void svc_updated(const char *key, const kube_object_t *old_obj,
                        const kube_object_t *obj, void *arg) {
  sync_service(arg, key);
}

static void slice_event(struct nd_proxy *p, const kube_object_t *obj) {
  char key[512];
  if (service_key_of(obj, key))
    sync_service(p, key);
}
static void slice_changed(const char *key, const kube_object_t *obj,
                          void *arg) {
  slice_event(arg, obj);
}
static void slice_updated(const char *key, const kube_object_t *old_obj,
                          const kube_object_t *obj, void *arg) {
  /* A slice moved to another Service (it does not; but a label may be
   * edited): both are programmed again. */
  const char *a = kube_object_label(old_obj, LABEL_SERVICE_NAME);
  const char *b = kube_object_label(obj, LABEL_SERVICE_NAME);
  if (a && (!b || !streq(a, b)))
    slice_event(arg, old_obj);
  slice_event(arg, obj);
}

static void proxy_free(struct nd_proxy *p);

struct nd_proxy *nd_proxy_new(kube_loop_t *loop, const kube_transport_t *tp,
                              kube_informer_factory_t *f,
                              const nd_proxy_options_t *o, kube_error_t *err) {
  struct nd_proxy *p = calloc(1, sizeof *p);
  if (!p || (o->node_ip && !(p->node_ip = strdup(o->node_ip))) ||
      (o->node_name && !(p->node_name = strdup(o->node_name)))) {
    proxy_free(p);
    kube_make_oom(err);
    return NULL;
  }
  p->loop = loop;
  p->tp = *tp;
  p->factory = f;
  int lo = 0, hi = 0;
  if (o->node_port_range &&
      core_port_range_parse(o->node_port_range, &lo, &hi) < 0)
    lo = hi = 0;
  const char *node_ips[] = {p->node_ip, NULL};
  const char *mode = o->mode && *o->mode ? o->mode : "auto";
  if (!streq(mode, "auto") && !streq(mode, "ebpf") &&
      !streq(mode, "nftables")) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "unknown proxy mode \"%s\" (auto, ebpf or nftables)", mode);
    proxy_free(p);
    return NULL;
  }
  if (!streq(mode, "nftables")) {
    kube_svclb_options_t so = {.struct_size = sizeof so,
                               .service_cidr = o->service_cidr,
                               .node_port_min = lo,
                               .node_port_max = hi,
                               .node_ips = p->node_ip ? node_ips : NULL,
                               .cgroup_scope = o->cgroup_scope};
    kube_error_t be = KUBE_ERROR_INIT;
    if ((p->lb = kube_svclb_new(&so, &be)))
      p->ops = &ebpf_ops;
    else if (streq(mode, "ebpf")) {
      kube_error_move(err, &be);
      proxy_free(p);
      return NULL;
    } else
      log_info("service proxy: eBPF socket load balancing unavailable (%s): "
               "nftables instead",
               be.message);
    kube_error_clear(&be);
  }
  if (!p->ops) {
    kube_nftlb_options_t no = {.struct_size = sizeof no,
                               .table = o->nft_table,
                               .service_cidr = o->service_cidr,
                               .node_ips = p->node_ip ? node_ips : NULL};
    if (!(p->lb = kube_nftlb_new(&no, err))) {
      proxy_free(p);
      return NULL;
    }
    p->ops = &nft_ops;
  }
  log_info("service proxy: mode %s for %s%s%s", p->ops->mode, o->service_cidr,
           p->ops->batched ? ", nftables table ip " : "",
           p->ops->batched ? o->nft_table : "");
  /* eBPF: what the programs did not translate dies here.  nftables: the
   * node's own connections need a route to reach the DNAT (the table
   * rejects what it does not translate). */
  kube_error_t e = KUBE_ERROR_INIT;
  p->nft_route = p->ops->batched;
  int r = p->nft_route ? kube_net_service_route(o->service_cidr, p->node_ip,
                                               true, &e)
                      : kube_net_unreachable_route(o->service_cidr, true, &e);
  if (r < 0)
    log_warn("node: %s", e.message);
  else if (r > 0 && !(p->route = strdup(o->service_cidr)))
    goto oom;
  kube_error_clear(&e);
  p->workers = o->workers;
  snprintf(p->nat_chain, sizeof p->nat_chain, "KUBE-NP-%08X",
           (unsigned)(strmap_hash(o->service_cidr) ^
                      strmap_hash(p->node_ip ? p->node_ip : "")));
  if (!(p->nat_timer = kube_timer_new(loop, nat_flush, p, err)) ||
      (p->ops->batched &&
       !(p->commit_timer = kube_timer_new(loop, commit_flush, p, err))) ||
      (o->load_balancer_status && !(p->writer = kube_writer_new(loop, tp, err))))
    goto fail;
  kube_informer_options_t sio = {.struct_size = sizeof sio,
                                 .path = "/api/v1/services"};
  kube_informer_options_t eo = {
      .struct_size = sizeof eo,
      .path = "/apis/discovery.k8s.io/v1/endpointslices"};
  if (!(p->services = kube_informer_factory_informer(f, &sio, err)) ||
      !(p->slices = kube_informer_factory_informer(f, &eo, err)) ||
      kube_informer_add_index(p->slices, SLICES_BY_SERVICE, index_service,
                              NULL, err) < 0)
    goto fail;
  return p;
oom:
  kube_make_oom(err);
fail:
  kube_error_wrap(err, "service proxy");
  proxy_free(p);
  return NULL;
}

int nd_proxy_start(struct nd_proxy *p, kube_error_t *err) {
  kube_informer_handlers_t sh = {.struct_size = sizeof sh,
                                 .on_add = svc_changed,
                                 .on_update = svc_updated,
                                 .on_delete = svc_changed};
  kube_informer_handlers_t eh = {.struct_size = sizeof eh,
                                 .on_add = slice_changed,
                                 .on_update = slice_updated,
                                 .on_delete = slice_changed};
  if (!(p->slice_reg = kube_informer_add_handlers(p->slices, &eh, p, err)) ||
      !(p->svc_reg = kube_informer_add_handlers(p->services, &sh, p, err)))
    return kube_error_wrap(err, "service proxy");
  if ((!kube_informer_running(p->slices) &&
       kube_informer_start(p->slices, err) < 0) ||
      (!kube_informer_running(p->services) &&
       kube_informer_start(p->services, err) < 0))
    return kube_error_wrap(err, "service proxy");
  return 0;
}

/* The registrations go before the factory; the programs with the
 * component (a stopping node takes its own programs away, nobody
 * else's). */
static void proxy_stop(struct nd_proxy *p) {
  if (p->services)
    kube_informer_remove_handlers(p->services, p->svc_reg);
  if (p->slices)
    kube_informer_remove_handlers(p->slices, p->slice_reg);
  p->svc_reg = p->slice_reg = NULL;
  p->services = p->slices = NULL;
  kube_writer_free(p->writer);
  p->writer = NULL;
  kube_timer_free(p->nat_timer);
  p->nat_timer = NULL;
  nat_wait(p);
  if (p->nat_synced) {
    kube_error_t e = KUBE_ERROR_INIT;
    if (kube_net_nodeport_nat_remove(p->nat_chain, &e) < 0)
      log_warn("node: %s", e.message);
    kube_error_clear(&e);
    p->nat_synced = false;
  }
  strmap_clear(&p->nat, natsvc_free);
  kube_timer_free(p->commit_timer);
  p->commit_timer = NULL;
  commit_wait(p);
  if (p->lb)
    p->ops->free(p->lb);
  p->lb = NULL;
  if (p->route) {
    kube_error_t e = KUBE_ERROR_INIT;
    if ((p->nft_route ? kube_net_service_route(p->route, p->node_ip, false, &e)
                     : kube_net_unreachable_route(p->route, false, &e)) < 0)
      log_warn("node: %s", e.message);
    kube_error_clear(&e);
    free(p->route);
    p->route = NULL;
  }
  strmap_clear(&p->done, programmed_free);
}

static void proxy_free(struct nd_proxy *p) {
  if (!p)
    return;
  proxy_stop(p);
  free(p->node_ip);
  free(p->node_name);
  free(p);
}

void nd_proxy_free(struct nd_proxy *p) { proxy_free(p); }

const char *nd_proxy_mode(const struct nd_proxy *p) { return p->ops->mode; }
