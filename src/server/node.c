/* SPDX-License-Identifier: Apache-2.0 */
/* The node agent as a server component: kube_node_agent over the
 * server's in-process transport and shared informers, on its data
 * directory (whose image store is the built-in registry's, so the store
 * is every registry's first mirror), and the node's streaming server over
 * the agent's pods, which the API server of this process calls directly
 * for pods/log, exec, attach and portforward of this node; the agent's
 * stats summary feeds that API server's metrics.k8s.io. */
#include <libkube/apiserver.h>
#include <libkube/kit.h>
#include <libkube/node.h>

#include "server/internal.h"

struct node_component {
  kube_node_agent_options_t o; /* strings owned */
  char **labels, **sysctls;
  kube_node_agent_t *agent;
  kube_node_stream_t *stream;
  kube_server_t *srv;
  kube_apiserver_t *api; /* where the stream is registered (borrowed) */
  bool metrics_source;   /* the agent is api's metrics source */
  char *kubelet_listen;  /* "ADDR:PORT" or NULL */
};

static char **strv_dup(const char *const *v) {
  size_t n = 0;
  while (v && v[n])
    n++;
  char **c = calloc(n + 1, sizeof *c);
  for (size_t i = 0; c && i < n; i++)
    if (!(c[i] = strdup(v[i]))) {
      for (size_t k = 0; k < i; k++)
        free(c[k]);
      free(c);
      return NULL;
    }
  return c;
}

static void strv_free(char **v) {
  for (size_t i = 0; v && v[i]; i++)
    free(v[i]);
  free(v);
}

/* The string members of the options, to copy and free them alike. */
static const char **strings(kube_node_agent_options_t *o, size_t *n) {
  static size_t offs[] = {
      offsetof(kube_node_agent_options_t, data_dir),
      offsetof(kube_node_agent_options_t, node_name),
      offsetof(kube_node_agent_options_t, node_ip),
      offsetof(kube_node_agent_options_t, cgroup_parent),
      offsetof(kube_node_agent_options_t, runtime_root),
      offsetof(kube_node_agent_options_t, pod_cidr),
      offsetof(kube_node_agent_options_t, cni_bridge),
      offsetof(kube_node_agent_options_t, cni_conf_dir),
      offsetof(kube_node_agent_options_t, cni_bin_dir),
      offsetof(kube_node_agent_options_t, service_cidr),
      offsetof(kube_node_agent_options_t, cluster_dns),
      offsetof(kube_node_agent_options_t, cluster_domain),
      offsetof(kube_node_agent_options_t, resolv_conf),
      offsetof(kube_node_agent_options_t, pod_manifest_path),
      offsetof(kube_node_agent_options_t, node_port_range),
      offsetof(kube_node_agent_options_t, cluster_cidr),
      offsetof(kube_node_agent_options_t, proxy_mode)};
  static const char **ptrs[ARRAY_SIZE(offs)];
  for (size_t i = 0; i < ARRAY_SIZE(offs); i++)
    ptrs[i] = (const char **)((char *)o + offs[i]);
  *n = ARRAY_SIZE(offs);
  return (const char **)ptrs;
}

/* The streaming server goes before the agent its resolver reads. */
static void stream_stop(struct node_component *c) {
  if (c->api && c->agent)
    kube_apiserver_remove_node(c->api, kube_node_agent_name(c->agent));
  c->api = NULL;
  kube_node_stream_free(c->stream);
  c->stream = NULL;
}

static void node_free(void *impl) {
  struct node_component *c = impl;
  if (!c)
    return;
  stream_stop(c);
  kube_node_agent_free(c->agent);
  size_t n;
  const char ***s = (const char ***)strings(&c->o, &n);
  for (size_t i = 0; i < n; i++)
    free((char *)*s[i]);
  strv_free(c->labels);
  strv_free(c->sysctls);
  free(c->kubelet_listen);
  free(c);
}

/* The port of "ADDR:PORT" ("tcp:" optional; [v6]:PORT), or -1. */
static int listen_port(const char *spec) {
  const char *colon = strrchr(spec, ':');
  if (!colon || colon == spec ||
      (str_has_prefix(spec, "tcp:") && colon == spec + 3))
    return -1;
  char *end;
  long port = strtol(colon + 1, &end, 10);
  return *end || end == colon + 1 || port < 1 || port > 65535 ? -1 : (int)port;
}

void *srv_node_new(const kube_node_agent_options_t *opts,
                   const char *kubelet_listen, kube_error_t *err) {
  int port = kubelet_listen ? listen_port(kubelet_listen) : 0;
  if (port < 0) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "bad kubelet address %s (ADDR:PORT, PORT 1-65535)",
                   kubelet_listen);
    return NULL;
  }
  struct node_component *c = calloc(1, sizeof *c);
  if (!c) {
    kube_make_oom(err);
    return NULL;
  }
  if (kubelet_listen &&
      asprintf(&c->kubelet_listen, "%s%s",
               str_has_prefix(kubelet_listen, "tcp:") ? "" : "tcp:",
               kubelet_listen) < 0) {
    free(c);
    kube_make_oom(err);
    return NULL;
  }
  core_opts_copy(&c->o, opts);
  c->o.struct_size = sizeof c->o;
  size_t n;
  const char ***s = (const char ***)strings(&c->o, &n);
  bool oom = false;
  for (size_t i = 0; i < n; i++)
    if (*s[i] && !(*s[i] = strdup(*s[i]))) {
      oom = true;
      for (size_t k = i + 1; k < n; k++)
        *s[k] = NULL;
      break;
    }
  if (port)
    c->o.kubelet_port = port;
  c->labels = strv_dup(c->o.labels);
  c->sysctls = strv_dup(c->o.allowed_unsafe_sysctls);
  c->o.labels = (const char *const *)c->labels;
  c->o.allowed_unsafe_sysctls = (const char *const *)c->sysctls;
  if (oom || !c->labels || !c->sysctls) {
    node_free(c);
    kube_make_oom(err);
    return NULL;
  }
  return c;
}

/* The kubelet port: HTTPS with a serving certificate from the cluster CA,
 * client certificates from that CA required. */
static int kubelet_port(struct node_component *c, kube_server_t *srv,
                        kube_error_t *err) {
  const char *ca = srv_ca_file(srv), *ca_key = srv_ca_key_file(srv);
  cleanup_free char *cert = NULL;
  cleanup_free char *key = NULL;
  if (srv_kubelet_serving_cert(
          c->o.data_dir, ca, ca_key, kube_node_agent_name(c->agent),
          kube_node_agent_node_ip(c->agent), &cert, &key, err) < 0)
    return -1;
  kube_node_stream_listen_options_t lo = {
      .struct_size = sizeof lo,
      .tls_cert_file = cert,
      .tls_key_file = key,
      .tls_client_ca_file = ca,
  };
  if (kube_node_stream_listen(c->stream, c->kubelet_listen, &lo, err) < 0)
    return kube_error_wrap(err, "kubelet port %s", c->kubelet_listen + 4);
  log_info("node %s: kubelet port listening on %s",
           kube_node_agent_name(c->agent), c->kubelet_listen + 4);
  return 0;
}

/* The agent's stats summary: metrics.k8s.io of this process's API server
 * and GET /stats/summary on the kubelet port read it. */
static int node_summary(void *agent, char **json_out, kube_error_t *err) {
  return kube_node_agent_stats_summary(agent, json_out, err);
}

static int stream_init(struct node_component *c, kube_server_t *srv,
                       kube_error_t *err) {
  kube_node_stream_options_t so = {
      .struct_size = sizeof so,
      .loop = kube_server_loop(srv),
      .runtime_root = kube_node_agent_runtime_root(c->agent),
      .resolve = kube_node_agent_stream_resolve,
      .resolve_arg = c->agent,
  };
  if (!(c->stream = kube_node_stream_new(&so, err)))
    return kube_error_wrap(err, "node streaming server");
  kube_node_stream_set_summary(c->stream, node_summary, c->agent);
  kube_apiserver_t *api = kube_server_apiserver(srv);
  if (api &&
      kube_apiserver_add_node(api, kube_node_agent_name(c->agent),
                              kube_node_stream_serve_pod, c->stream, err) < 0)
    return kube_error_wrap(err, "node streaming server");
  c->api = api;
  return c->kubelet_listen ? kubelet_port(c, srv, err) : 0;
}

static int node_init(void *impl, kube_server_t *srv, kube_error_t *err) {
  struct node_component *c = impl;
  c->srv = srv;
  if (!c->o.data_dir) {
    const char *dd = kube_server_data_dir(srv);
    if (!dd)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "the node agent needs a data directory");
    if (!(c->o.data_dir = strdup(dd)))
      return kube_make_oom(err);
  }
  c->o.images_local_mirror = true;
  kube_transport_t tp;
  kube_server_transport(srv, &tp);
  kube_informer_factory_t *inf = kube_server_informers(srv, err);
  if (!inf)
    return kube_error_wrap(err, "node agent");
  c->agent = kube_node_agent_new(kube_server_loop(srv), &tp, inf, &c->o, err);
  if (!c->agent)
    return kube_error_wrap(err, "node agent");
  return stream_init(c, srv, err);
}

static int node_start(void *impl, kube_error_t *err) {
  struct node_component *c = impl;
  if (kube_node_agent_start(c->agent, err) < 0)
    return kube_error_wrap(err, "node agent");
  if (c->api) {
    if (kube_apiserver_add_metrics_source(c->api, kube_node_agent_name(c->agent),
                                          node_summary, c->agent, err) < 0)
      return kube_error_wrap(err, "node metrics");
    c->metrics_source = true;
  }
  return 0;
}

static void node_drain(void *impl, kube_component_drained_fn drained,
                       void *token) {
  struct node_component *c = impl;
  kube_node_agent_drain(c->agent, drained, token);
}

/* The agent's informer registrations must go before the factory. */
static void node_stop(void *impl) {
  struct node_component *c = impl;
  if (c->metrics_source)
    kube_apiserver_remove_metrics_source(c->api,
                                         kube_node_agent_name(c->agent));
  c->metrics_source = false;
  stream_stop(c);
  kube_node_agent_free(c->agent);
  c->agent = NULL;
}

const kube_component_ops_t srv_node_ops = {
    .version = KUBE_COMPONENT_OPS_VERSION,
    .name = "node",
    .init = node_init,
    .start = node_start,
    .drain = node_drain,
    .stop = node_stop,
    .free = node_free,
};
