/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node's part of the cluster network, from the settings `kubed
 * server` publishes in ConfigMap kube-system/libkube-cluster (one watch of
 * that object: what the Node authorizer lets a node read).  Every key is
 * followed while the agent runs (a server started again with other flags
 * rewrites them; an admin may edit them):
 *  - a route to each other node's pod CIDR via that node's InternalIP
 *    (key podRoutes, one "NAME PODCIDR INTERNALIP" line per Node, kept by
 *    the server from the Node objects), added in the node's network
 *    namespace as Nodes come, change and go, and removed when the node
 *    stops; only the routes this node added are ever removed (a route
 *    somebody else made for a CIDR stays theirs; a node whose address is
 *    this namespace's own shares it, its bridge is here: no route);
 *  - the masquerade rules for traffic leaving the cluster CIDR (key
 *    clusterCIDR; kube_net_masquerade_sync): the chain is rewritten;
 *  - the service proxy (proxy.c) for the service CIDR and node port range
 *    (keys serviceCIDR, serviceNodePortRange): a change starts the proxy
 *    again with the new plan (its programs or table, route and node-port
 *    chain replaced; connections made before keep their backend); in the
 *    mode the options ask (--proxy-mode), reported in the Node's
 *    annotation libkube.io/proxy-mode (patched once the Node exists);
 *  - the pods' cluster DNS address and domain (keys clusterDNS,
 *    clusterDomain): pods whose sandbox is made afterwards get them; a
 *    running pod keeps its resolv.conf until it is made again.
 * What the agent's options give (--cluster-cidr, --cluster-dns,
 * --cluster-domain, --service-node-port-range with --service-cidr: the
 * node inside `kubed server` takes its plan so) is not taken from the
 * settings: changing it needs a restart.  So do the node's own pod CIDR
 * (its Node's spec.podCIDR, immutable), its address (--node-ip) and
 * bridge, and the DNS upstream (`kubed server --dns-upstream`: the
 * server answers cluster DNS).  Keys advertiseAddress and registry are
 * for tools; the agent reaches the server through its kubeconfig.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "node/agent.h"
#include "node/internal.h"
#include "node/proxy.h"

#define SETTINGS_NS_PATH "/api/v1/namespaces/kube-system/configmaps"
#define SETTINGS_SELECTOR "metadata.name=libkube-cluster"
#define ANN_PROXY_MODE "libkube.io/proxy-mode"

struct nd_route {
  char cidr[20], via[16];
};

struct nd_net {
  kube_informer_t *settings;
  kube_informer_registration_t *reg;
  struct nd_proxy *proxy;
  char *proxy_plan;   /* "SERVICE-CIDR NODE-PORTS" last started (or tried) */
  bool static_plan;   /* the options gave the proxy's settings */
  char *node_port_range, *cluster_cidr;
  bool lb_status;
  struct nd_route *routes; /* the routes we added */
  size_t n_routes;
  char masq_chain[32];
  char *masq_key; /* "POD CLUSTER" the chain was written for */
  /* the pods' DNS settings the options left to the cluster's */
  bool dns_given, domain_given;
  char *proxy_mode;      /* asked: auto, ebpf, nftables (NULL: auto) */
  char nft_table[32];    /* libkube-<hash>: the nftables mode's table */
  const char *mode_ann;  /* the annotation to write ("ebpf", "none"...) */
  bool ann_inflight;
  kube_timer_t *ann_timer; /* retries the annotation (Node not there yet) */
};

static char *dup_opt(const char *s) { return s && *s ? strdup(s) : NULL; }

static void annotate(void *arg);

int nd_net_init(kube_node_agent_t *a, const kube_node_agent_options_t *o,
                kube_error_t *err) {
  if (!o->cluster_network)
    return 0;
  struct nd_net *n = calloc(1, sizeof *n);
  if (!n)
    return kube_make_oom(err);
  a->net = n;
  n->lb_status = o->load_balancer_status;
  n->dns_given = o->cluster_dns && *o->cluster_dns;
  n->domain_given = o->cluster_domain && *o->cluster_domain;
  n->static_plan = o->node_port_range && *o->node_port_range;
  if ((o->proxy_mode && *o->proxy_mode &&
       !(n->proxy_mode = strdup(o->proxy_mode))) ||
      (o->node_port_range && !(n->node_port_range = dup_opt(o->node_port_range))) ||
      (o->cluster_cidr && *o->cluster_cidr &&
       !(n->cluster_cidr = strdup(o->cluster_cidr))))
    return kube_make_oom(err);
  char hash[9];
  nd_hash_hex(hash, a->cfg.node_name, a->cfg.data_dir);
  snprintf(n->masq_chain, sizeof n->masq_chain, "KUBE-MASQ-%s", hash);
  snprintf(n->nft_table, sizeof n->nft_table, "libkube-%s", hash);
  for (char *s = n->masq_chain; *s; s++)
    if (*s >= 'a' && *s <= 'z')
      *s = (char)(*s - 'a' + 'A');
  if (!(n->ann_timer = kube_timer_new(a->loop, annotate, a, err)))
    return kube_error_wrap(err, "cluster settings");
  kube_informer_options_t io = {.struct_size = sizeof io,
                                .path = SETTINGS_NS_PATH,
                                .field_selector = SETTINGS_SELECTOR};
  if (!(n->settings = kube_informer_factory_informer(a->factory, &io, err)))
    return kube_error_wrap(err, "cluster settings");
  return 0;
}

static void annotated(const kube_object_t *res, const kube_error_t *e,
                      void *arg) {
  kube_node_agent_t *a = arg;
  struct nd_net *n = a->net;
  if (!n)
    return;
  n->ann_inflight = false;
  if (!e) {
    n->mode_ann = NULL;
    return;
  }
  /* NotFound: the Node is not registered yet */
  log_debug("node %s: annotation %s: %s", a->cfg.node_name, ANN_PROXY_MODE,
            e->message);
  if (n->ann_timer && !kube_timer_pending(n->ann_timer))
    kube_timer_arm(n->ann_timer, 1000);
}

/* The Node says which datapath its Services take. */
static void annotate(void *arg) {
  kube_node_agent_t *a = arg;
  struct nd_net *n = a->net;
  if (!n->mode_ann || n->ann_inflight || a->draining)
    return;
  char patch[256];
  snprintf(patch, sizeof patch,
           "{\"metadata\":{\"annotations\":{\"" ANN_PROXY_MODE
           "\":\"%s\"}}}",
           n->mode_ann);
  kube_error_t e = KUBE_ERROR_INIT;
  if (kube_writer_patch(a->writer, kube_kind_by_kind("v1", "Node"), NULL,
                        a->cfg.node_name, NULL, KUBE_PATCH_MERGE, patch, NULL,
                        annotated, a, &e) == 0)
    n->ann_inflight = true;
  else if (n->ann_timer)
    kube_timer_arm(n->ann_timer, 1000);
  kube_error_clear(&e);
}

/* The service proxy for this plan: started once, and started again (the
 * old one's programs, route and chain gone first) when the cluster's
 * service CIDR or node port range change.  A plan that failed is not
 * tried again until the settings change. */
static void proxy_start(kube_node_agent_t *a, const char *service_cidr,
                        const char *port_range) {
  struct nd_net *n = a->net;
  if (!service_cidr)
    return;
  char *plan = NULL;
  if (asprintf(&plan, "%s %s", service_cidr, port_range ? port_range : "-") <
      0)
    return;
  if (n->proxy_plan && streq(n->proxy_plan, plan)) {
    free(plan);
    return;
  }
  if (n->proxy_plan)
    log_info("node %s: service CIDR and node ports now %s (were %s): the "
             "service proxy starts again",
             a->cfg.node_name, plan, n->proxy_plan);
  free(n->proxy_plan);
  n->proxy_plan = plan;
  nd_proxy_free(n->proxy);
  n->proxy = NULL;
  nd_proxy_options_t po = {.service_cidr = service_cidr,
                           .node_port_range = port_range,
                           .node_ip = a->cfg.node_ip,
                           .node_name = a->cfg.node_name,
                           .cgroup_scope = a->cfg.cgroup_parent,
                           .load_balancer_status = n->lb_status,
                           .workers = a->workers,
                           .mode = n->proxy_mode,
                           .nft_table = n->nft_table};
  kube_error_t e = KUBE_ERROR_INIT;
  if (!(n->proxy = nd_proxy_new(a->loop, &a->tp, a->factory, &po, &e)) ||
      nd_proxy_start(n->proxy, &e) < 0) {
    log_warn("node %s: Services are not load balanced on this node: %s",
             a->cfg.node_name, e.message);
    nd_proxy_free(n->proxy);
    n->proxy = NULL;
    n->mode_ann = "none";
  } else {
    n->mode_ann = nd_proxy_mode(n->proxy);
    log_info("node %s: proxy mode %s (asked: %s)", a->cfg.node_name,
             n->mode_ann, n->proxy_mode ? n->proxy_mode : "auto");
  }
  kube_error_clear(&e);
  annotate(a);
}

static bool route_want(const struct nd_route *want, size_t n,
                       const struct nd_route *r) {
  for (size_t i = 0; i < n; i++)
    if (streq(want[i].cidr, r->cidr) && streq(want[i].via, r->via))
      return true;
  return false;
}

/* Whether `ip` is an address of this network namespace: another node in
 * the same namespace (nodes side by side on one machine share it) has
 * its pod CIDR on its own bridge here already, no route is needed. */
static bool local_address(const char *ip) {
  struct sockaddr_in sa = {.sin_family = AF_INET};
  if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
    return false;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  bool local = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
  close(fd);
  return local;
}

/* Parse podRoutes: the other nodes' (CIDR, via) pairs into *out. */
static size_t routes_parse(const char *text, const char *self,
                           struct nd_route **out) {
  size_t cap = 0, n = 0;
  *out = NULL;
  for (const char *line = text; line && *line;) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    char buf[512], name[256], cidr[64], via[64];
    snprintf(buf, sizeof buf, "%.*s", (int)(len < 511 ? len : 511), line);
    line = end ? end + 1 : NULL;
    uint32_t net, gw;
    int bits;
    if (sscanf(buf, "%255s %63s %63s", name, cidr, via) != 3 ||
        streq(name, self) || core_cidr4_parse(cidr, &net, &bits) < 0 ||
        inet_pton(AF_INET, via, &gw) != 1 || strlen(cidr) >= 20 ||
        strlen(via) >= 16 || local_address(via))
      continue;
    if (n == cap) {
      size_t nc = cap ? cap * 2 : 8;
      struct nd_route *v = realloc(*out, nc * sizeof *v);
      if (!v)
        break;
      *out = v;
      cap = nc;
    }
    snprintf((*out)[n].cidr, sizeof(*out)[n].cidr, "%s", cidr);
    snprintf((*out)[n].via, sizeof(*out)[n].via, "%s", via);
    n++;
  }
  return n;
}

static void routes_sync(kube_node_agent_t *a, const char *text) {
  struct nd_net *n = a->net;
  struct nd_route *want = NULL;
  size_t n_want = routes_parse(text, a->cfg.node_name, &want);
  kube_error_t e = KUBE_ERROR_INIT;
  /* gone or changed: ours go */
  size_t keep = 0;
  for (size_t i = 0; i < n->n_routes; i++) {
    if (route_want(want, n_want, &n->routes[i])) {
      n->routes[keep++] = n->routes[i];
      continue;
    }
    if (kube_net_gateway_route(n->routes[i].cidr, n->routes[i].via, false,
                               &e) < 0)
      log_warn("node %s: %s", a->cfg.node_name, e.message);
    else
      log_info("node %s: route %s via %s removed", a->cfg.node_name,
               n->routes[i].cidr, n->routes[i].via);
    kube_error_clear(&e);
  }
  n->n_routes = keep;
  for (size_t i = 0; i < n_want; i++) {
    if (route_want(n->routes, n->n_routes, &want[i]))
      continue;
    struct nd_route *v = realloc(n->routes, (n->n_routes + 1) * sizeof *v);
    if (!v)
      break;
    n->routes = v;
    int r = kube_net_gateway_route(want[i].cidr, want[i].via, true, &e);
    if (r < 0)
      log_warn("node %s: %s", a->cfg.node_name, e.message);
    else if (r == 0)
      log_warn("node %s: a route for %s exists already: left alone",
               a->cfg.node_name, want[i].cidr);
    else {
      n->routes[n->n_routes++] = want[i];
      log_info("node %s: route %s via %s added", a->cfg.node_name,
               want[i].cidr, want[i].via);
    }
    kube_error_clear(&e);
  }
  free(want);
}

static void masquerade_sync(kube_node_agent_t *a, const char *cluster_cidr) {
  struct nd_net *n = a->net;
  if (!cluster_cidr || !a->pod_cidr)
    return;
  char key[128];
  snprintf(key, sizeof key, "%s %s", a->pod_cidr, cluster_cidr);
  if (n->masq_key && streq(n->masq_key, key))
    return;
  /* The DNAT rule keeps to this node's node ports (their original
   * destination is its address): other nodes may share the namespace. */
  struct in_addr ip;
  const char *node_ip = a->cfg.node_ip && inet_pton(AF_INET, a->cfg.node_ip,
                                                     &ip) == 1
                            ? a->cfg.node_ip
                            : NULL;
  kube_error_t e = KUBE_ERROR_INIT;
  if (kube_net_masquerade_sync(n->masq_chain, a->pod_cidr, cluster_cidr,
                               node_ip, &e) < 0) {
    log_warn("node %s: masquerade rules: %s", a->cfg.node_name, e.message);
    kube_error_clear(&e);
    return;
  }
  free(n->masq_key);
  n->masq_key = strdup(key);
  log_info("node %s: pods of %s masqueraded leaving %s (chain %s)",
           a->cfg.node_name, a->pod_cidr, cluster_cidr, n->masq_chain);
}

/* A setting of the pods the options did not give: the cluster's (read
 * on the loop when a pod's sandbox is prepared). */
static void adopt_setting(kube_node_agent_t *a, char **cur, const char *v,
                          const char *what) {
  if (!v || !*v || streq(*cur, v))
    return;
  char *c = strdup(v);
  if (!c)
    return;
  log_info("node %s: %s %s (cluster settings)", a->cfg.node_name, what, v);
  free(*cur);
  *cur = c;
}

static void settings_changed(kube_node_agent_t *a, const kube_object_t *cm) {
  struct nd_net *n = a->net;
  const char *svc = kube_object_get_string(cm, "data.serviceCIDR");
  const char *np = kube_object_get_string(cm, "data.serviceNodePortRange");
  const char *cc = kube_object_get_string(cm, "data.clusterCIDR");
  if (!n->dns_given)
    adopt_setting(a, &a->cfg.cluster_dns,
                  kube_object_get_string(cm, "data.clusterDNS"),
                  "cluster DNS");
  if (!n->domain_given)
    adopt_setting(a, &a->cfg.cluster_domain,
                  kube_object_get_string(cm, "data.clusterDomain"),
                  "cluster domain");
  if (!n->static_plan)
    proxy_start(a, svc, np);
  masquerade_sync(a, n->cluster_cidr ? n->cluster_cidr : cc);
  routes_sync(a, kube_object_get_string(cm, "data.podRoutes"));
}

static void on_add(const char *key, const kube_object_t *obj, void *arg) {
  settings_changed(arg, obj);
}
static void on_update(const char *key, const kube_object_t *old_obj,
                      const kube_object_t *obj, void *arg) {
  settings_changed(arg, obj);
}

int nd_net_start(kube_node_agent_t *a, kube_error_t *err) {
  struct nd_net *n = a->net;
  if (!n)
    return 0;
  if (n->static_plan)
    proxy_start(a, a->cfg.service_cidr, n->node_port_range);
  if (n->cluster_cidr)
    masquerade_sync(a, n->cluster_cidr);
  kube_informer_handlers_t h = {.struct_size = sizeof h,
                                .on_add = on_add,
                                .on_update = on_update};
  if (!(n->reg = kube_informer_add_handlers(n->settings, &h, a, err)) ||
      (!kube_informer_running(n->settings) &&
       kube_informer_start(n->settings, err) < 0))
    return kube_error_wrap(err, "cluster settings");
  return 0;
}

void nd_net_free(kube_node_agent_t *a) {
  struct nd_net *n = a->net;
  if (!n)
    return;
  if (n->reg)
    kube_informer_remove_handlers(n->settings, n->reg);
  kube_timer_free(n->ann_timer);
  nd_proxy_free(n->proxy);
  kube_error_t e = KUBE_ERROR_INIT;
  for (size_t i = 0; i < n->n_routes; i++) {
    if (kube_net_gateway_route(n->routes[i].cidr, n->routes[i].via, false,
                               &e) < 0)
      log_warn("node %s: %s", a->cfg.node_name, e.message);
    kube_error_clear(&e);
  }
  if (n->masq_key && kube_net_masquerade_remove(n->masq_chain, &e) < 0)
    log_warn("node %s: %s", a->cfg.node_name, e.message);
  kube_error_clear(&e);
  free(n->routes);
  free(n->proxy_plan);
  free(n->masq_key);
  free(n->node_port_range);
  free(n->cluster_cidr);
  free(n->proxy_mode);
  free(n);
  a->net = NULL;
}
