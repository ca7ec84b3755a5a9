/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cluster DNS as a server component: kube_dns_t over the shared
 * informers, listening where pods reach it (the node IP, port 53, unless
 * told otherwise), and the Service kube-system/kube-dns whose ClusterIP
 * is the cluster DNS address, with Endpoints (and an EndpointSlice, for
 * proxies that read slices: nothing mirrors hand-written Endpoints) that
 * point at that listener.
 */
#include <arpa/inet.h>

#include <json-c/json.h>

#include <libkube/dns.h>
#include <libkube/kit.h>
#include <libkube/net.h>

#include "server/internal.h"

#define MANAGER "kubed"

struct dns_component;
struct write_ctx {
  struct dns_component *c;
  const char *what; /* static */
};

struct dns_component {
  char *listen;        /* "ADDR:PORT" */
  bool default_listen; /* not asked for: a busy port is not fatal */
  char *domain, *dns_ip, *upstream;
  kube_server_t *srv;
  kube_dns_t *dns;
  kube_writer_t *writer;
  kube_timer_t *retry; /* publish again after a failed write */
  unsigned failures;
  struct write_ctx ctx[3]; /* Service, Endpoints, EndpointSlice */
  int port;                /* where it listens, 0 when it does not */
};

static void dns_free_impl(void *impl) {
  struct dns_component *c = impl;
  if (!c)
    return;
  kube_writer_free(c->writer);
  kube_timer_free(c->retry);
  kube_dns_free(c->dns);
  free(c->listen);
  free(c->domain);
  free(c->dns_ip);
  free(c->upstream);
  free(c);
}

/* The first address of a comma-separated list (--cluster-dns). */
static char *first_addr(const char *list) {
  size_t n = strcspn(list, ", ");
  return strndup(list, n);
}

void *srv_dns_new(const kube_server_options_t *o, kube_error_t *err) {
  struct dns_component *c = calloc(1, sizeof *c);
  if (!c) {
    kube_make_oom(err);
    return NULL;
  }
  const kube_node_agent_options_t *node = o->node;
  const char *domain = o->cluster_domain              ? o->cluster_domain
                       : node && node->cluster_domain ? node->cluster_domain
                                                      : "cluster.local";
  const char *dns = o->cluster_dns              ? o->cluster_dns
                    : node && node->cluster_dns ? node->cluster_dns
                                                : "10.96.0.10";
  c->default_listen = !o->dns_listen;
  if (o->dns_listen) {
    c->listen = strdup(o->dns_listen);
  } else {
    /* Where pods reach it: the node IP (the kube-dns Service's endpoint);
     * without a node, loopback. */
    char ip[64] = "127.0.0.1";
    if (node && node->node_ip && *node->node_ip)
      snprintf(ip, sizeof ip, "%s", node->node_ip);
    else if (node)
      kube_net_default_ipv4(ip, sizeof ip, NULL);
    if (asprintf(&c->listen, strchr(ip, ':') ? "[%s]:53" : "%s:53", ip) < 0)
      c->listen = NULL;
  }
  c->domain = strdup(domain);
  c->dns_ip = first_addr(dns);
  c->upstream = o->dns_upstream ? strdup(o->dns_upstream) : NULL;
  if (!c->listen || !c->domain || !c->dns_ip ||
      (o->dns_upstream && !c->upstream)) {
    dns_free_impl(c);
    kube_make_oom(err);
    return NULL;
  }
  /* Bad flags fail kube_server_new, not the start. */
  kube_dns_options_t d = {.struct_size = sizeof d,
                          .domain = c->domain,
                          .upstream = c->upstream,
                          .dns_ip = c->dns_ip};
  if (kube_dns_options_check(&d, err) < 0) {
    dns_free_impl(c);
    kube_error_wrap(err, "cluster DNS");
    return NULL;
  }
  return c;
}

static void retry_publish(void *arg);
static void publish_endpoints(struct dns_component *c);

static int dns_init(void *impl, kube_server_t *srv, kube_error_t *err) {
  struct dns_component *c = impl;
  c->srv = srv;
  kube_dns_options_t d = {.struct_size = sizeof d,
                          .domain = c->domain,
                          .upstream = c->upstream,
                          .dns_ip = c->dns_ip};
  kube_transport_t tp;
  kube_server_transport(srv, &tp);
  static const char *const what[] = {"Service kube-dns", "Endpoints kube-dns",
                                     "EndpointSlice kube-dns-kubed"};
  for (int i = 0; i < 3; i++)
    c->ctx[i] = (struct write_ctx){c, what[i]};
  if (!(c->dns = kube_dns_new(kube_server_loop(srv), &d, err)) ||
      !(c->writer = kube_writer_new(kube_server_loop(srv), &tp, err)) ||
      !(c->retry =
            kube_timer_new(kube_server_loop(srv), retry_publish, c, err)))
    return kube_error_wrap(err, "cluster DNS");
  return 0;
}

/* A failed write (kube-system not bootstrapped yet on a fresh store, a
 * conflict) is tried again in a second from the Service on: the writes
 * are idempotent. */
static void written(const kube_object_t *result, const kube_error_t *err,
                    void *arg) {
  struct dns_component *c = ((struct write_ctx *)arg)->c;
  const char *what = ((struct write_ctx *)arg)->what;
  if (!err) {
    if (arg == &c->ctx[0])
      publish_endpoints(c);
    else
      c->failures = 0;
    return;
  }
  /* 1 s while kube-system is bootstrapped, doubling up to a minute for a
   * lasting refusal (a --cluster-dns outside the Service CIDR), which is
   * logged from the fifth failure on. */
  c->failures++;
  if (c->failures >= 5)
    log_warn("dns: cannot write %s (retrying): %s", what, err->message);
  else
    log_debug("dns: cannot write %s (retrying): %s", what, err->message);
  if (c->retry && !kube_timer_pending(c->retry)) {
    unsigned shift = c->failures < 7 ? c->failures - 1 : 6;
    kube_timer_arm(c->retry, 1000LL << shift);
  }
}

/* The listener's address as an endpoint: a wildcard one is reached on
 * loopback. */
static void endpoint_ip(const struct dns_component *c, char *out, size_t len) {
  const char *l = c->listen;
  size_t n = l[0] == '[' ? strcspn(l + 1, "]") : strcspn(l, ":");
  snprintf(out, len, "%.*s", (int)n, l[0] == '[' ? l + 1 : l);
  if (streq(out, "0.0.0.0") || !*out)
    snprintf(out, len, "127.0.0.1");
  else if (streq(out, "::"))
    snprintf(out, len, "::1");
}

static json_object *ports(int port, bool service) {
  json_object *a = json_object_new_array();
  static const char *const names[] = {"dns", "dns-tcp"}, *const protos[] = {
                                                             "UDP", "TCP"};
  for (int i = 0; i < 2; i++) {
    json_object *p = json_object_new_object();
    json_object_object_add(p, "name", json_object_new_string(names[i]));
    json_object_object_add(p, "protocol", json_object_new_string(protos[i]));
    json_object_object_add(p, "port", json_object_new_int(service ? 53 : port));
    if (service)
      json_object_object_add(p, "targetPort", json_object_new_int(port));
    json_object_array_add(a, p);
  }
  return a;
}

static json_object *meta(const char *name, bool labels) {
  json_object *m = json_object_new_object();
  json_object_object_add(m, "name", json_object_new_string(name));
  json_object_object_add(m, "namespace", json_object_new_string("kube-system"));
  if (labels) {
    json_object *l = json_object_new_object();
    json_object_object_add(l, "k8s-app", json_object_new_string("kube-dns"));
    json_object_object_add(l, "kubernetes.io/name",
                           json_object_new_string("CoreDNS"));
    json_object_object_add(m, "labels", l);
  }
  return m;
}

static void apply(struct dns_component *c, int i, const kube_kind_t *kind,
                  const char *name, json_object *obj) {
  kube_client_write_options_t wo = {.struct_size = sizeof wo,
                                    .field_manager = MANAGER,
                                    .force = true,
                                    .grace_period = -1};
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  const char *text =
      json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
  if (!kind || !text ||
      kube_writer_patch(c->writer, kind, "kube-system", name, NULL,
                        KUBE_PATCH_APPLY, text, &wo, written, &c->ctx[i],
                        &err) < 0)
    log_warn("dns: cannot write %s: %s", name,
             err.message ? err.message : "no such kind");
  json_object_put(obj);
}

/* Service kube-dns (ClusterIP = the cluster DNS address) with Endpoints
 * and an EndpointSlice at the listener. */
static void publish(struct dns_component *c) {
  json_object *svc = json_object_new_object();
  json_object_object_add(svc, "apiVersion", json_object_new_string("v1"));
  json_object_object_add(svc, "kind", json_object_new_string("Service"));
  json_object *m = meta("kube-dns", true);
  json_object_object_add(json_object_object_get(m, "labels"),
                         "kubernetes.io/cluster-service",
                         json_object_new_string("true"));
  json_object_object_add(svc, "metadata", m);
  json_object *spec = json_object_new_object();
  json_object_object_add(spec, "clusterIP", json_object_new_string(c->dns_ip));
  json_object_object_add(spec, "ports", ports(c->port, true));
  json_object_object_add(svc, "spec", spec);
  apply(c, 0, kube_kind_by_kind("v1", "Service"), "kube-dns", svc);
}

/* Endpoints and EndpointSlice once the Service exists: the endpoints
 * controller deletes the Endpoints of a Service it does not know. */
static void publish_endpoints(struct dns_component *c) {
  char ip[64];
  endpoint_ip(c, ip, sizeof ip);
  bool v6 = strchr(ip, ':') != NULL;
  json_object *m;

  json_object *ep = json_object_new_object();
  json_object_object_add(ep, "apiVersion", json_object_new_string("v1"));
  json_object_object_add(ep, "kind", json_object_new_string("Endpoints"));
  json_object_object_add(ep, "metadata", meta("kube-dns", true));
  json_object *subset = json_object_new_object(),
              *addr = json_object_new_object();
  json_object_object_add(addr, "ip", json_object_new_string(ip));
  json_object *addrs = json_object_new_array();
  json_object_array_add(addrs, addr);
  json_object_object_add(subset, "addresses", addrs);
  json_object_object_add(subset, "ports", ports(c->port, false));
  json_object *subsets = json_object_new_array();
  json_object_array_add(subsets, subset);
  json_object_object_add(ep, "subsets", subsets);
  apply(c, 1, kube_kind_by_kind("v1", "Endpoints"), "kube-dns", ep);

  json_object *sl = json_object_new_object();
  json_object_object_add(sl, "apiVersion",
                         json_object_new_string("discovery.k8s.io/v1"));
  json_object_object_add(sl, "kind", json_object_new_string("EndpointSlice"));
  m = meta("kube-dns-kubed", false);
  json_object *l = json_object_new_object();
  json_object_object_add(l, "kubernetes.io/service-name",
                         json_object_new_string("kube-dns"));
  json_object_object_add(l, "endpointslice.kubernetes.io/managed-by",
                         json_object_new_string(MANAGER));
  json_object_object_add(m, "labels", l);
  json_object_object_add(sl, "metadata", m);
  json_object_object_add(sl, "addressType",
                         json_object_new_string(v6 ? "IPv6" : "IPv4"));
  json_object *e = json_object_new_object(), *cond = json_object_new_object();
  addrs = json_object_new_array();
  json_object_array_add(addrs, json_object_new_string(ip));
  json_object_object_add(e, "addresses", addrs);
  json_object_object_add(cond, "ready", json_object_new_boolean(true));
  json_object_object_add(e, "conditions", cond);
  json_object *eps = json_object_new_array();
  json_object_array_add(eps, e);
  json_object_object_add(sl, "endpoints", eps);
  json_object_object_add(sl, "ports", ports(c->port, false));
  apply(c, 2, kube_kind_by_kind("discovery.k8s.io/v1", "EndpointSlice"),
        "kube-dns-kubed", sl);
}

static void retry_publish(void *arg) {
  publish(arg);
}

static int dns_start(void *impl, kube_error_t *err) {
  struct dns_component *c = impl;
  kube_informer_factory_t *f = kube_server_informers(c->srv, err);
  if (!f || kube_dns_watch(c->dns, f, err) < 0)
    return kube_error_wrap(err, "cluster DNS");
  kube_error_t e = KUBE_ERROR_INIT;
  int port = kube_dns_listen(c->dns, c->listen, &e);
  if (port < 0 && c->default_listen) {
    log_warn("dns: not serving: %s (--cluster-dns-listen picks another "
             "address, --no-dns turns it off)",
             e.message);
    kube_error_clear(&e);
    return 0;
  }
  if (port < 0) {
    kube_error_move(err, &e);
    return kube_error_wrap(err, "cluster DNS");
  }
  c->port = port;
  log_info("kubed: cluster DNS for %s listening on %s (port %d)", c->domain,
           c->listen, port);
  publish(c);
  return 0;
}

/* The informer registrations go before the server stops the informers
 * and frees the factory; the listeners stay until the free. */
static void dns_drain(void *impl, kube_component_drained_fn drained,
                      void *token) {
  struct dns_component *c = impl;
  kube_dns_unwatch(c->dns);
  kube_timer_free(c->retry);
  c->retry = NULL;
  kube_writer_free(c->writer);
  c->writer = NULL;
  drained(token);
}

static void dns_stop(void *impl) {
  struct dns_component *c = impl;
  kube_dns_unwatch(c->dns);
}

void srv_dns_metrics(void *impl, kube_strbuf_t *out) {
  struct dns_component *c = impl;
  if (!c || !c->dns)
    return;
  kube_dns_stats_t st;
  kube_dns_get_stats(c->dns, &st);
  const struct {
    const char *name, *help;
    uint64_t v;
  } m[] = {
      {"queries", "Well-formed DNS queries received.", st.queries},
      {"answered", "Queries answered from the cluster's records.", st.answered},
      {"nxdomain", "Answers with NXDOMAIN.", st.nxdomain},
      {"forwarded", "Queries sent to the upstream servers.", st.forwarded},
      {"servfail", "SERVFAIL answers (no upstream, or it stayed silent).",
       st.servfail},
      {"dropped", "Malformed packets, responses and overload dropped.",
       st.dropped},
      {"truncated", "UDP answers sent empty with TC set.", st.truncated},
  };
  for (size_t i = 0; i < ARRAY_SIZE(m); i++)
    kube_strbuf_printf(out,
                       "# HELP kubed_dns_%s_total %s\n"
                       "# TYPE kubed_dns_%s_total counter\n"
                       "kubed_dns_%s_total %llu\n",
                       m[i].name, m[i].help, m[i].name, m[i].name,
                       (unsigned long long)m[i].v);
  kube_strbuf_printf(out,
                     "# HELP kubed_dns_names Names with records.\n"
                     "# TYPE kubed_dns_names gauge\nkubed_dns_names %zu\n",
                     kube_dns_name_count(c->dns));
}

int srv_dns_port(void *impl) {
  struct dns_component *c = impl;
  return c ? c->port : 0;
}

const kube_component_ops_t srv_dns_ops = {
    .version = KUBE_COMPONENT_OPS_VERSION,
    .name = "dns",
    .init = dns_init,
    .start = dns_start,
    .drain = dns_drain,
    .stop = dns_stop,
    .free = dns_free_impl,
};
