/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube_server_t: composes the loop, the store, the API server and the
 * components from one options struct, and owns the order in which they
 * start and stop (stated once, in include/libkube/server.h).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <signal.h>
#include <sys/resource.h>

#include <event2/event.h>

#include <libkube/kit.h>
#include <libkube/net.h>

#include "kube-config.h"
#include "server/internal.h"

struct component {
  const kube_component_ops_t *ops;
  void *impl;
  bool inited, started, drained;
};

enum state { S_NEW, S_STARTED, S_DRAINING, S_DONE };

struct kube_server {
  kube_loop_t *loop;
  bool own_loop;
  char *data_dir;
  char *token;
  char *cert, *key;
  char *ca, *ca_key; /* the cluster CA (TLS servers) */
  /* the API server's client certificate for kubelet ports, when the
   * options name none and a cluster CA signs one */
  char *kubelet_cert, *kubelet_key;
  char *join_token;
  char *url;
  char *kubeconfig;
  kube_store_t *store;
  kube_apiserver_t *api;
  kube_workers_t *workers;
  kube_informer_factory_t *informers; /* shared by the components */
  void *sched_impl; /* the built-in scheduler component, for /metrics */
  struct component *comps;
  size_t n_comps;
  enum state state;
  size_t draining; /* components that have not called drained() yet */
  bool handle_signals;
  bool stop_requested;
  struct event *sigterm, *sigint;
  kube_server_done_fn done;
  void *done_arg;
  bool run_quits_loop;  /* kube_server_run waits for the sequence */
  bool restart;         /* stopped to start again (after a migration) */
  char *conf_endpoints; /* from DATA/store.conf */
  srv_cluster_plan_t plan;
};

/* ---- options ---- */

static const char *const default_listen[] = {"unix:" KUBE_DEFAULT_SOCKET,
                                             "tcp:127.0.0.1:6443", NULL};

static bool has_tcp(const char *const *listen) {
  for (size_t i = 0; listen[i]; i++)
    if (str_has_prefix(listen[i], "tcp:"))
      return true;
  return false;
}

/* A wildcard bind address is reached through loopback. */
static bool is_wildcard(const char *h) {
  return !*h || streq(h, "0.0.0.0") || streq(h, "::") || streq(h, "[::]");
}

/* ---- the cluster's address plan ---- */

static int plan_resolve(srv_cluster_plan_t *p, const kube_server_options_t *o,
                        kube_error_t *err) {
  uint32_t net;
  int bits, lo, hi;
  const char *svc = o->service_cidr ? o->service_cidr : "10.96.0.0/12";
  if (core_cidr4_parse(svc, &net, &bits) < 0 || bits > 28)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid --service-cidr \"%s\" (an IPv4 network "
                          "of at least 16 addresses, as 10.96.0.0/12)",
                          svc);
  const char *range =
      o->service_node_port_range ? o->service_node_port_range : "30000-32767";
  if (core_port_range_parse(range, &lo, &hi) < 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid --service-node-port-range \"%s\" (as "
                          "30000-32767)",
                          range);
  const char *domain = o->cluster_domain ? o->cluster_domain : "cluster.local";
  const char *why = kube_validate_dns1123_subdomain(domain);
  if (why)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid --cluster-domain \"%s\": %s", domain, why);
  char buf[16];
  core_ipv4_format(net + 10, buf);
  const char *dns = o->cluster_dns ? o->cluster_dns : buf;
  cleanup_free char *dns_copy = strdup(dns);
  if (!dns_copy)
    return kube_make_oom(err);
  char *save = NULL;
  for (char *a = strtok_r(dns_copy, ",", &save); a;
       a = strtok_r(NULL, ",", &save)) {
    struct in_addr ia;
    if (inet_pton(AF_INET, a, &ia) != 1)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "invalid --cluster-dns \"%s\" (IPv4 addresses, "
                            "comma-separated)",
                            dns);
  }
  char adv[64] = "127.0.0.1";
  if (o->advertise_address) {
    struct in_addr ia;
    if (inet_pton(AF_INET, o->advertise_address, &ia) != 1)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "invalid --advertise-address \"%s\" (an IPv4 "
                            "address)",
                            o->advertise_address);
    snprintf(adv, sizeof adv, "%s", o->advertise_address);
  } else if (o->node && o->node->node_ip && *o->node->node_ip) {
    snprintf(adv, sizeof adv, "%s", o->node->node_ip);
  } else if (o->node && kube_net_default_ipv4(adv, sizeof adv, NULL) < 0) {
    snprintf(adv, sizeof adv, "127.0.0.1");
  }
  p->service_net = net;
  p->service_bits = bits;
  if (!(p->service_cidr = strdup(svc)) ||
      !(p->node_port_range = strdup(range)) ||
      !(p->cluster_domain = strdup(domain)) ||
      !(p->cluster_dns = strdup(dns)) ||
      !(p->advertise_address = strdup(adv)) ||
      !(p->cluster_cidr =
            strdup(o->cluster_cidr ? o->cluster_cidr : "10.42.0.0/16")))
    return kube_make_oom(err);
  return 0;
}

static void plan_clear(srv_cluster_plan_t *p) {
  free(p->service_cidr);
  free(p->node_port_range);
  free(p->cluster_domain);
  free(p->cluster_dns);
  free(p->advertise_address);
  free(p->cluster_cidr);
  memset(p, 0, sizeof *p);
}

const srv_cluster_plan_t *srv_cluster_plan(const kube_server_t *srv) {
  return &srv->plan;
}

/* The serving certificate's names of this cluster: the kubernetes
 * Service's address and full name, the advertised address. */
static char *plan_san(const srv_cluster_plan_t *p) {
  char first[16];
  core_ipv4_format(p->service_net + 1, first);
  char *san = NULL;
  bool loop = streq(p->advertise_address, "127.0.0.1");
  if (asprintf(&san, "IP:%s,DNS:kubernetes.default.svc.%s%s%s", first,
               p->cluster_domain, loop ? "" : ",IP:",
               loop ? "" : p->advertise_address) < 0)
    return NULL;
  return san;
}

/* ---- /metrics ---- */

/* Prometheus text format: the API server's, the store's and the
 * scheduler's figures.  Behind the API server's authentication (the
 * bearer token on TCP), as every non-probe path. */
static void serve_metrics(const kube_apiserver_handler_ctx_t *ctx, void *arg) {
  kube_server_t *srv = arg;
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  if (!streq(kube_http_request_method(ctx->request), "GET")) {
    kube_http_reply_error(ctx->request, 405, "method not allowed");
    return;
  }
  kube_apiserver_metrics_write(srv->api, &sb);
  kube_store_metrics_write(srv->store, &sb);
  if (srv->sched_impl)
    srv_scheduler_metrics(srv->sched_impl, &sb);
  srv_dns_metrics(kube_server_component(srv, "dns"), &sb);
  if (sb.oom) {
    kube_strbuf_clear(&sb);
    kube_http_reply_error(ctx->request, 500, "out of memory");
    return;
  }
  size_t len = sb.len;
  kube_http_reply_take(ctx->request, 200, "text/plain; version=0.0.4",
                       kube_strbuf_steal(&sb), len);
}

/* ---- construction ---- */

static int open_listeners(kube_server_t *srv, const char *const *listen,
                          bool plain, kube_error_t *err) {
  for (size_t i = 0; listen[i]; i++) {
    const char *spec = listen[i];
    if (str_has_prefix(spec, "unix:")) {
      cleanup_free char *dir = strdup(spec + 5);
      char *slash = dir ? strrchr(dir, '/') : NULL;
      if (slash && slash != dir) {
        *slash = '\0';
        if (srv_mkdir_p(dir, 0755, err) < 0)
          return -1;
      }
    }
    int before = kube_apiserver_port(srv->api);
    if (kube_apiserver_listen(srv->api, spec, err) < 0)
      return -1;
    int port = kube_apiserver_port(srv->api);
    if (str_has_prefix(spec, "tcp:") && port != before && !srv->url) {
      const char *hp = spec + 4, *colon = strrchr(hp, ':');
      char host[256];
      snprintf(host, sizeof host, "%.*s", (int)(colon - hp), hp);
      if (is_wildcard(host))
        snprintf(host, sizeof host, "127.0.0.1");
      if (asprintf(&srv->url, "%s://%s:%d", plain ? "http" : "https", host,
                   port) < 0)
        return kube_make_oom(err);
    }
    log_info("kubed: listening on %s", spec);
  }
  return 0;
}

/* Pods reach the API server at the advertised address (the kubernetes
 * Service's endpoints): listen there too, on the first TCP listener's
 * port, unless a listener covers it already.  Not fatal: the address may
 * not be this machine's (a load balancer in front). */
static void listen_advertised(kube_server_t *srv, const char *const *listen) {
  const char *adv = srv->plan.advertise_address;
  int port = kube_apiserver_port(srv->api);
  if (port <= 0 || streq(adv, "127.0.0.1"))
    return;
  for (size_t i = 0; listen[i]; i++) {
    if (!str_has_prefix(listen[i], "tcp:"))
      continue;
    const char *hp = listen[i] + 4, *colon = strrchr(hp, ':');
    char host[256];
    snprintf(host, sizeof host, "%.*s", (int)(colon ? colon - hp : 0), hp);
    if (is_wildcard(host) || streq(host, adv))
      return;
  }
  char spec[128];
  snprintf(spec, sizeof spec, "tcp:%s:%d", adv, port);
  kube_error_t e = KUBE_ERROR_INIT;
  if (kube_apiserver_listen(srv->api, spec, &e) < 0)
    log_warn("kubed: cannot listen on the advertised address %s: %s", spec,
             e.message);
  else
    log_info("kubed: listening on %s (the advertised address)", spec);
  kube_error_clear(&e);
}

static int add_component(kube_server_t *srv, const kube_component_ops_t *ops,
                         void *impl, kube_error_t *err) {
  struct component *c =
      realloc(srv->comps, (srv->n_comps + 1) * sizeof *srv->comps);
  if (!c) {
    if (ops->free)
      ops->free(impl);
    return kube_make_oom(err);
  }
  srv->comps = c;
  srv->comps[srv->n_comps++] = (struct component){.ops = ops, .impl = impl};
  return 0;
}

KUBE_EXPORT kube_server_t *kube_server_new(const kube_server_options_t *opts,
                                           kube_error_t *err) {
  kube_server_options_t o = {0};
  core_opts_copy(&o, opts);
  const char *store = o.store ? o.store : "sqlite";
  const char *const *listen = o.listen ? o.listen : default_listen;
  bool tcp = has_tcp(listen);
  if (!streq(store, "sqlite") && !streq(store, "etcd") &&
      !streq(store, "memory")) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "unknown store %s (sqlite, etcd or memory)", store);
    return NULL;
  }
  /* The controllers' flags are checked before anything is created: a
   * server failing half-built frees its API server before the store has
   * flushed the bootstrap writes that call back into it. */
  if (!o.no_controllers) {
    void *check = srv_controllers_new(&o, err);
    if (!check)
      return NULL;
    srv_controllers_ops.free(check);
  }
  cleanup_free char *dbpath = NULL;
  cleanup_free char *san = NULL;
  kube_server_t *srv = calloc(1, sizeof *srv);
  if (!srv) {
    kube_make_oom(err);
    return NULL;
  }
  srv->handle_signals = o.handle_signals;
  if (plan_resolve(&srv->plan, &o, err) < 0)
    goto fail;
  srv->loop = o.loop;
  if (!srv->loop) {
    if (!(srv->loop = kube_loop_new(err)))
      goto fail;
    srv->own_loop = true;
    /* A stalled loop is how leases get lost: say so in the log. */
    core_loop_watch_stalls(srv->loop, 2000);
  }
  /* The memory store without TCP needs no files (an embedder's or the
   * Python bindings' in-process cluster). */
  bool needs_dir = o.data_dir || !streq(store, "memory") || tcp;
  if (needs_dir) {
    if (!(srv->data_dir =
              strdup(o.data_dir ? o.data_dir : KUBE_DEFAULT_DATA_DIR))) {
      kube_make_oom(err);
      goto fail;
    }
    if (srv_mkdir_p(srv->data_dir, 0700, err) < 0 ||
        srv_private_dir(srv->data_dir, err) < 0)
      goto fail;
    static const char *const files[] = {
        "token",   "identity",        "tls.key",
        "tls.crt", "kubeconfig.yaml", "registries.yaml",
        "ca.key",  "join-token",      "ca.crt", "kubelet.crt", "kubelet.key",
        "kubelet-client.crt", "kubelet-client.key", "tls.san"};
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
      char path[4200];
      snprintf(path, sizeof path, "%s/%s", srv->data_dir, files[i]);
      if (srv_private_file(path, err) < 0)
        goto fail;
    }
  }
  if (tcp || o.token) {
    if (!srv->data_dir && !o.token) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "a TCP listener needs a data directory or a token");
      goto fail;
    }
    if (!(srv->token = srv_load_token(srv->data_dir, o.token, err)))
      goto fail;
  }
  if (!(san = plan_san(&srv->plan))) {
    kube_make_oom(err);
    goto fail;
  }
  if (tcp && !o.plain_http &&
      (srv_ensure_cert(srv->data_dir, san, &srv->cert, &srv->key, err) < 0 ||
       srv_ensure_ca(srv->data_dir, &srv->ca, &srv->ca_key, err) < 0 ||
       !(srv->join_token = srv_load_join_token(srv->data_dir, err))))
    goto fail;

  /* A migration moved the cluster: its store is recorded there. */
  if (srv->data_dir) {
    const char *given = o.store;
    if (srv_store_conf(srv->data_dir, &given, &srv->conf_endpoints, err) < 0)
      goto fail;
    if (srv->conf_endpoints) {
      store = given;
      if (!o.etcd_endpoints)
        o.etcd_endpoints = srv->conf_endpoints;
    }
  }
  if (o.restore_from &&
      (!srv->data_dir ||
       srv_restore(srv->data_dir, store, o.restore_from, err) < 0)) {
    if (!srv->data_dir)
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "--restore needs a data directory");
    goto fail;
  }
  if (srv->data_dir && asprintf(&dbpath, "%s/store.db", srv->data_dir) < 0) {
    kube_make_oom(err);
    goto fail;
  }
  kube_store_options_t so = {
      .struct_size = sizeof so,
      .backend = store,
      .path = dbpath,
      .etcd_endpoints = o.etcd_endpoints,
      /* The apiserver's keys already start with /registry, as Kubernetes
       * lays them out in etcd; add nothing in front. */
      .etcd_prefix = "",
  };
  if (!(srv->store = kube_store_open(srv->loop, &so, err))) {
    kube_error_wrap(err, "open %s store", store);
    goto fail;
  }
  if (srv->ca && !o.kubelet_client_cert_file && !o.kubelet_client_key_file) {
    if (srv_kubelet_client_cert(srv->data_dir, srv->ca, srv->ca_key,
                                &srv->kubelet_cert, &srv->kubelet_key,
                                err) < 0)
      goto fail;
    o.kubelet_client_cert_file = srv->kubelet_cert;
    o.kubelet_client_key_file = srv->kubelet_key;
  }
  /* Before anything is created on disk (a listener's socket directory). */
  int64_t ttl_ns = core_go_duration_ns(o.event_ttl ? o.event_ttl : "1h");
  int64_t cmp_ns = core_go_duration_ns(
      o.compaction_interval ? o.compaction_interval : "5m");
  if (ttl_ns < 0 || cmp_ns < 0) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "invalid %s \"%s\" (a duration such as \"1h\", or \"0\")",
                   ttl_ns < 0 ? "event TTL (--event-ttl)"
                              : "compaction interval (--etcd-compaction-interval)",
                   ttl_ns < 0 ? o.event_ttl : o.compaction_interval);
    goto fail;
  }
  int64_t signing_s = 0;
  if (o.cluster_signing_duration) {
    int64_t ns = core_go_duration_ns(o.cluster_signing_duration);
    if (ns < 60LL * 1000000000LL) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "invalid cluster signing duration \"%s\" (a duration of "
                     "at least 1m, as \"8760h\")",
                     o.cluster_signing_duration);
      goto fail;
    }
    signing_s = ns / 1000000000LL;
  }
  kube_apiserver_options_t ao = {
      .struct_size = sizeof ao,
      .token = srv->token,
      .max_body_bytes = o.max_body_bytes,
      .watch_budget_bytes = o.watch_budget_bytes,
      .bootstrap = true,
      .tls_cert_file = srv->cert,
      .tls_key_file = srv->key,
      .kubelet_client_cert_file = o.kubelet_client_cert_file,
      .kubelet_client_key_file = o.kubelet_client_key_file,
      .kubelet_ca_file = o.kubelet_ca_file,
      .tls_client_ca_file = srv->ca,
      .ca_cert_file = srv->ca,
      .ca_key_file = srv->ca_key,
      .cluster_signing_duration_s = signing_s,
      .join_token = srv->join_token,
      .token_auth_file = o.token_auth_file,
      .audit_log = o.audit_log,
      .audit_log_max_bytes = o.audit_log_max_bytes,
      .service_cidr = srv->plan.service_cidr,
      .service_node_port_range = srv->plan.node_port_range,
      .advertise_address = srv->plan.advertise_address,
  };
  /* The advertised port is the first TCP listener's. */
  for (size_t i = 0; listen[i]; i++) {
    const char *colon = strrchr(listen[i], ':');
    if (str_has_prefix(listen[i], "tcp:") && colon) {
      ao.advertise_port = atoi(colon + 1);
      break;
    }
  }
  if (!(srv->api = kube_apiserver_new(srv->loop, srv->store, &ao, err))) {
    kube_error_wrap(err, "apiserver");
    goto fail;
  }
  if (srv_backup_register(srv, err) < 0 || srv_migrate_register(srv, err) < 0 ||
      open_listeners(srv, listen, o.plain_http, err) < 0)
    goto fail;
  listen_advertised(srv, listen);
  if (srv->url) {
    if (asprintf(&srv->kubeconfig, "%s/kubeconfig.yaml", srv->data_dir) < 0) {
      kube_make_oom(err);
      goto fail;
    }
    if (kube_apiserver_write_kubeconfig(srv->kubeconfig, srv->url,
                                        srv->ca ? srv->ca : srv->cert,
                                        srv->token, err) < 0) {
      kube_error_wrap(err, "kubeconfig");
      goto fail;
    }
  }
  if (!o.no_scheduler) {
    void *impl = srv_scheduler_new(o.scheduler_config, !o.no_leader_elect, err);
    if (!impl || add_component(srv, &srv_scheduler_ops, impl, err) < 0)
      goto fail;
    srv->sched_impl = impl;
  }
  if (!o.no_controllers) {
    void *impl = srv_controllers_new(&o, err);
    if (!impl || add_component(srv, &srv_controllers_ops, impl, err) < 0)
      goto fail;
  }
  /* An embedder's in-memory cluster (no data directory) gets no DNS
   * listener unless it asks for one. */
  if (!o.no_dns && (srv->data_dir || o.dns_listen)) {
    /* the DNS answers for the plan's domain at the plan's address */
    o.cluster_domain = srv->plan.cluster_domain;
    o.cluster_dns = srv->plan.cluster_dns;
    void *impl = srv_dns_new(&o, err);
    if (!impl || add_component(srv, &srv_dns_ops, impl, err) < 0)
      goto fail;
  }
  if (kube_apiserver_handle_path(srv->api, "/metrics", serve_metrics, srv,
                                 err) < 0)
    goto fail;
  /* The registry serves the data directory's image store: none without
   * one (an embedder's in-memory cluster). */
  if (!o.no_registry && srv->data_dir) {
    void *impl = srv_registry_new(o.registry_listen, err);
    if (!impl || add_component(srv, &srv_registry_ops, impl, err) < 0)
      goto fail;
  }
  {
    void *impl = srv_settings_new(err);
    if (!impl || add_component(srv, &srv_settings_ops, impl, err) < 0)
      goto fail;
    impl = srv_pod_routes_new(err);
    if (!impl || add_component(srv, &srv_pod_routes_ops, impl, err) < 0)
      goto fail;
  }
  {
    void *impl = srv_housekeeping_new(ttl_ns / 1000000, cmp_ns / 1000000, err);
    if (!impl || add_component(srv, &srv_housekeeping_ops, impl, err) < 0)
      goto fail;
  }
  if (!o.no_dashboard) {
    void *impl = srv_dashboard_new(err);
    if (!impl || add_component(srv, &srv_dashboard_ops, impl, err) < 0)
      goto fail;
  }
  if (o.node_kubelet_listen && !o.node) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "a kubelet port needs a node");
    goto fail;
  }
  if (o.node) {
    /* The node takes the cluster's plan: one owner of each setting. */
    kube_node_agent_options_t no = {0};
    core_opts_copy(&no, o.node);
    no.struct_size = sizeof no;
    no.service_cidr = srv->plan.service_cidr;
    no.cluster_dns = srv->plan.cluster_dns;
    no.cluster_domain = srv->plan.cluster_domain;
    /* Its routes to the other nodes from the settings it publishes; its
     * service proxy from the plan at once. */
    no.cluster_network = true;
    no.node_port_range = srv->plan.node_port_range;
    no.cluster_cidr = srv->plan.cluster_cidr;
    no.load_balancer_status = true;
    void *impl = srv_node_new(&no, o.node_kubelet_listen, err);
    if (impl && o.node_kubelet_listen && !srv->ca) {
      srv_node_ops.free(impl);
      impl = NULL;
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "a kubelet port needs the cluster CA (a TLS listener)");
    }
    if (!impl || add_component(srv, &srv_node_ops, impl, err) < 0)
      goto fail;
  }
  if (o.hollow) {
    void *impl = srv_hollow_new(o.hollow, err);
    if (!impl || add_component(srv, &srv_hollow_ops, impl, err) < 0)
      goto fail;
  }
  return srv;
fail:
  kube_server_free(srv);
  return NULL;
}

KUBE_EXPORT int kube_server_add_component(kube_server_t *srv,
                                          const kube_component_ops_t *ops,
                                          void *impl, kube_error_t *err) {
  if (!ops || ops->version != KUBE_COMPONENT_OPS_VERSION ||
      srv->state != S_NEW) {
    if (ops && ops->free)
      ops->free(impl);
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "%s",
                          srv->state != S_NEW
                              ? "components are added before the server starts"
                              : "unknown component ops version");
  }
  return add_component(srv, ops, impl, err);
}

/* ---- start ---- */

static void stop_components(kube_server_t *srv) {
  for (size_t i = srv->n_comps; i-- > 0;) {
    struct component *c = &srv->comps[i];
    if (c->inited && c->ops->stop)
      c->ops->stop(c->impl);
    c->started = false;
    c->inited = false;
  }
}

KUBE_EXPORT int kube_server_start(kube_server_t *srv, kube_error_t *err) {
  if (srv->state != S_NEW)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "the server was already started");
  for (size_t i = 0; i < srv->n_comps; i++) {
    struct component *c = &srv->comps[i];
    if (c->ops->init && c->ops->init(c->impl, srv, err) < 0)
      goto fail;
    c->inited = true;
  }
  /* Components start on a bootstrapped API (the namespaces kube-system,
   * kube-public, kube-node-lease and default, the kubernetes Service):
   * their first writes there would otherwise meet 404s.  Pumps the loop
   * (at most 10 s) unless it already runs on this thread (start called
   * from a loop callback: iterating fails, and they start at once). */
  int64_t until = kube_time_mono_ns() + 10 * 1000000000LL;
  while (!kube_apiserver_ready(srv->api) && kube_time_mono_ns() < until)
    if (kube_loop_iterate(srv->loop, 50) < 0)
      break;
  for (size_t i = 0; i < srv->n_comps; i++) {
    struct component *c = &srv->comps[i];
    if (c->ops->start && c->ops->start(c->impl, err) < 0)
      goto fail;
    c->started = true;
  }
  srv->state = S_STARTED;
  log_info("kubed: serving with the %s store", kube_store_backend(srv->store));
  return 0;
fail:
  stop_components(srv);
  return -1;
}

/* ---- shutdown ---- */

static void finish_shutdown(kube_server_t *srv) {
  stop_components(srv);
  srv->state = S_DONE;
  log_info("kubed: stopped");
  if (srv->done)
    srv->done(srv, srv->done_arg);
  if (srv->run_quits_loop)
    kube_loop_quit(srv->loop);
}

static void api_drained(kube_apiserver_t *api, void *arg) {
  kube_server_t *srv = arg;
  log_info("kubed: requests drained, stopping");
  finish_shutdown(srv);
}

/* Drain one component after another, last first: a later component may
 * depend on an earlier one (the node agent on the informers), never the
 * reverse. */
static void drain_next(kube_server_t *srv);

struct drain_token {
  kube_server_t *srv;
  size_t index;
};

static void drained_cb(void *token) {
  struct drain_token *t = token;
  kube_server_t *srv = t->srv;
  srv->comps[t->index].drained = true;
  free(t);
  drain_next(srv);
}

static void drain_next(kube_server_t *srv) {
  for (size_t i = srv->n_comps; i-- > 0;) {
    struct component *c = &srv->comps[i];
    if (c->drained || !c->started)
      continue;
    if (!c->ops->drain) {
      c->drained = true;
      continue;
    }
    struct drain_token *t = malloc(sizeof *t);
    if (!t) {
      c->drained = true; /* cannot wait for it without memory */
      continue;
    }
    *t = (struct drain_token){srv, i};
    c->ops->drain(c->impl, drained_cb, t);
    return; /* drained_cb continues (possibly already did, inline) */
  }
  /* Every component drained: the shared informers' watches would keep the
   * API server's drain waiting; then the API server. */
  kube_informer_factory_stop(srv->informers);
  kube_apiserver_shutdown(srv->api, api_drained, srv);
}

KUBE_EXPORT void kube_server_shutdown(kube_server_t *srv,
                                      kube_server_done_fn done, void *arg) {
  srv->done = done;
  srv->done_arg = arg;
  if (srv->state == S_DRAINING)
    return;
  if (srv->state == S_DONE || srv->state == S_NEW) {
    srv->state = S_DONE;
    if (done)
      done(srv, arg);
    if (srv->run_quits_loop)
      kube_loop_quit(srv->loop);
    return;
  }
  srv->state = S_DRAINING;
  drain_next(srv);
}

static void stop_on_loop(void *arg) {
  kube_server_t *srv = arg;
  if (srv->state == S_DRAINING) {
    /* A second request while draining: stop at once. */
    log_warn("kubed: stopping without waiting for the drain");
    kube_loop_quit(srv->loop);
    return;
  }
  kube_server_shutdown(srv, srv->done, srv->done_arg);
}

KUBE_EXPORT void kube_server_stop(kube_server_t *srv) {
  kube_loop_invoke(srv->loop, stop_on_loop, srv, NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
  kube_server_t *srv = arg;
  log_info("kubed: %s received, shutting down",
           sig == SIGTERM ? "SIGTERM" : "SIGINT");
  stop_on_loop(srv);
}

static int install_signals(kube_server_t *srv, kube_error_t *err) {
  struct event_base *base = kube_loop_base(srv->loop);
  srv->sigterm = evsignal_new(base, SIGTERM, on_signal, srv);
  srv->sigint = evsignal_new(base, SIGINT, on_signal, srv);
  if (!srv->sigterm || !srv->sigint || evsignal_add(srv->sigterm, NULL) < 0 ||
      evsignal_add(srv->sigint, NULL) < 0)
    return kube_make_error(err, errno, "cannot install signal handlers");
  return 0;
}

KUBE_EXPORT int kube_server_run(kube_server_t *srv, kube_error_t *err) {
  if (srv->state == S_NEW && kube_server_start(srv, err) < 0)
    return -1;
  if (srv->handle_signals && install_signals(srv, err) < 0)
    return -1;
  srv->run_quits_loop = true;
  int rc = 0;
  if (srv->state != S_DONE)
    rc = kube_loop_run(srv->loop, err);
  srv->run_quits_loop = false;
  return rc;
}

/* ---- accessors ---- */

KUBE_EXPORT kube_loop_t *kube_server_loop(kube_server_t *srv) {
  return srv->loop;
}
KUBE_EXPORT kube_store_t *kube_server_store(kube_server_t *srv) {
  return srv->store;
}
KUBE_EXPORT kube_apiserver_t *kube_server_apiserver(kube_server_t *srv) {
  return srv->api;
}
void srv_request_restart(kube_server_t *srv) {
  srv->restart = true;
  kube_server_stop(srv);
}

KUBE_EXPORT bool kube_server_restart_requested(const kube_server_t *srv) {
  return srv && srv->restart;
}

KUBE_EXPORT const char *kube_server_data_dir(const kube_server_t *srv) {
  return srv->data_dir;
}
KUBE_EXPORT const char *kube_server_url(const kube_server_t *srv) {
  return srv->url;
}
KUBE_EXPORT const char *kube_server_kubeconfig(const kube_server_t *srv) {
  return srv->kubeconfig;
}
KUBE_EXPORT void kube_server_transport(kube_server_t *srv,
                                       struct kube_transport *out) {
  kube_apiserver_transport(srv->api, out);
}

KUBE_EXPORT kube_workers_t *kube_server_workers(kube_server_t *srv,
                                                kube_error_t *err) {
  if (!srv->workers)
    srv->workers = kube_workers_new(srv->loop, 0, err);
  return srv->workers;
}

KUBE_EXPORT kube_informer_factory_t *kube_server_informers(kube_server_t *srv,
                                                           kube_error_t *err) {
  if (!srv->informers) {
    kube_transport_t tp;
    kube_server_transport(srv, &tp);
    srv->informers = kube_informer_factory_new(srv->loop, &tp, err);
  }
  return srv->informers;
}

const char *srv_token(const kube_server_t *srv) {
  return srv->token;
}

void srv_tls_files(const kube_server_t *srv, const char **cert,
                   const char **key) {
  *cert = srv->cert;
  *key = srv->key;
}

const char *srv_ca_file(const kube_server_t *srv) {
  return srv->ca;
}

const char *srv_ca_key_file(const kube_server_t *srv) {
  return srv->ca_key;
}

KUBE_EXPORT void *kube_server_component(kube_server_t *srv, const char *name) {
  for (size_t i = 0; i < srv->n_comps; i++)
    if (streq(srv->comps[i].ops->name, name))
      return srv->comps[i].impl;
  return NULL;
}

/* ---- free ---- */

KUBE_EXPORT void kube_server_free(kube_server_t *srv) {
  if (!srv)
    return;
  if (srv->state == S_STARTED || srv->state == S_DRAINING) {
    /* Not shut down: stop the components now (their drains are skipped:
     * nothing runs the loop to wait for them). */
    stop_components(srv);
    srv->state = S_DONE;
  }
  /* Completions of blocking work may still reference components' data:
   * the pool finishes (running them) before the components are freed. */
  kube_workers_free(srv->workers);
  for (size_t i = srv->n_comps; i-- > 0;)
    if (srv->comps[i].ops->free)
      srv->comps[i].ops->free(srv->comps[i].impl);
  free(srv->comps);
  /* After the components: they remove their registrations first. */
  kube_informer_factory_free(srv->informers);
  if (srv->sigterm)
    event_free(srv->sigterm);
  if (srv->sigint)
    event_free(srv->sigint);
  kube_apiserver_free(srv->api);
  kube_store_close(srv->store); /* finishes writes still queued */
  if (srv->own_loop)
    kube_loop_free(srv->loop);
  free(srv->data_dir);
  free(srv->conf_endpoints);
  free(srv->token);
  free(srv->cert);
  free(srv->key);
  free(srv->url);
  plan_clear(&srv->plan);
  free(srv->kubeconfig);
  free(srv->ca);
  free(srv->ca_key);
  free(srv->kubelet_cert);
  free(srv->kubelet_key);
  free(srv->join_token);
  free(srv);
}
