/* SPDX-License-Identifier: Apache-2.0 */
/* The node agent as a server component: kube_node_agent over the
 * server's in-process transport and shared informers, on its data
 * directory (whose image store is the built-in registry's, so the store
 * is every registry's first mirror). */
#include <libkube/apiserver.h>
#include <libkube/kit.h>
#include <libkube/node.h>

#include "server/internal.h"

struct node_component {
  kube_node_agent_options_t o; /* strings owned */
  char **labels, **sysctls;
  kube_node_agent_t *agent;
  kube_server_t *srv;
  kube_apiserver_t *api; /* where the agent is a metrics source */
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
  static size_t offs[] = {offsetof(kube_node_agent_options_t, data_dir),
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
                          offsetof(kube_node_agent_options_t, resolv_conf)};
  static const char **ptrs[ARRAY_SIZE(offs)];
  for (size_t i = 0; i < ARRAY_SIZE(offs); i++)
    ptrs[i] = (const char **)((char *)o + offs[i]);
  *n = ARRAY_SIZE(offs);
  return (const char **)ptrs;
}

static void node_free(void *impl) {
  struct node_component *c = impl;
  if (!c)
    return;
  kube_node_agent_free(c->agent);
  size_t n;
  const char ***s = (const char ***)strings(&c->o, &n);
  for (size_t i = 0; i < n; i++)
    free((char *)*s[i]);
  strv_free(c->labels);
  strv_free(c->sysctls);
  free(c);
}

void *srv_node_new(const kube_node_agent_options_t *opts, kube_error_t *err) {
  struct node_component *c = calloc(1, sizeof *c);
  if (!c) {
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
  return c->agent ? 0 : kube_error_wrap(err, "node agent");
}

/* metrics.k8s.io of this process's API server reads the agent's summary. */
static int node_summary(void *agent, char **json_out, kube_error_t *err) {
  return kube_node_agent_stats_summary(agent, json_out, err);
}

static int node_start(void *impl, kube_error_t *err) {
  struct node_component *c = impl;
  if (kube_node_agent_start(c->agent, err) < 0)
    return kube_error_wrap(err, "node agent");
  c->api = kube_server_apiserver(c->srv);
  if (c->api && kube_apiserver_add_metrics_source(
                    c->api, kube_node_agent_name(c->agent), node_summary,
                    c->agent, err) < 0)
    return kube_error_wrap(err, "node metrics");
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
  if (c->api && c->agent)
    kube_apiserver_remove_metrics_source(c->api,
                                         kube_node_agent_name(c->agent));
  c->api = NULL;
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
