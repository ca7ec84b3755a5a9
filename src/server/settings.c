/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cluster settings as a server component:
 *  - the address plan the server owns (service CIDR, node port range,
 *    cluster domain and DNS address, cluster CIDR, advertised address) and
 *    the built-in registry's address, published in ConfigMap
 *    kube-system/libkube-cluster, where agents and tools read them (keys
 *    someone else wrote there are kept: a merge patch when it exists);
 *  - the `kubernetes` Service's Endpoints and EndpointSlice, as
 *    kube-apiserver's endpoint reconciler keeps them: the advertised
 *    address and the port the API server really listens on (a listener
 *    asked for on port 0 gets one only when it binds).
 * Each write is retried every second while the bootstrap has not made
 * its namespace yet.
 */
#include <json-c/json.h>

#include <libkube/kit.h>

#include "api/api-private.h"
#include "server/internal.h"

#define CLUSTER_CM_PATH "/api/v1/namespaces/kube-system/configmaps"
#define CLUSTER_CM "libkube-cluster"
#define APPLY "?fieldManager=kube-apiserver&force=true"

enum step { ST_CONFIGMAP, ST_CONFIGMAP_PATCH, ST_ENDPOINTS, ST_SLICE, ST_DONE };

struct settings {
  kube_server_t *srv;
  kube_transport_t tp;
  kube_transport_call_t *call; /* the write in flight */
  kube_timer_t *retry;         /* after a failure (bootstrap not done) */
  enum step step;
};

void *srv_settings_new(kube_error_t *err) {
  struct settings *c = calloc(1, sizeof *c);
  if (!c)
    kube_make_oom(err);
  return c;
}

static void run_step(struct settings *c);
static void retry_cb(void *arg) { run_step(arg); }

static int settings_init(void *impl, kube_server_t *srv, kube_error_t *err) {
  struct settings *c = impl;
  c->srv = srv;
  kube_server_transport(srv, &c->tp);
  if (!(c->retry = kube_timer_new(kube_server_loop(srv), retry_cb, c, err)))
    return -1;
  return 0;
}

static void settings_reply(int status, const char *ct, const char *data,
                           size_t len, bool done, void *arg);

static void send_json(struct settings *c, const char *method, const char *path,
                      const char *ctype, json_object *o) {
  const char *body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
  kube_transport_request_t rq = {.struct_size = sizeof rq,
                                 .method = method,
                                 .path = path,
                                 .content_type = ctype,
                                 .body = body,
                                 .body_len = strlen(body),
                                 .user_agent = CORE_USER_AGENT("kubed")};
  kube_error_t err = KUBE_ERROR_INIT;
  c->call = kube_transport_request(&c->tp, &rq, settings_reply, c, &err);
  if (!c->call)
    log_warn("kubed: cannot publish the cluster settings: %s", err.message);
  kube_error_clear(&err);
  json_object_put(o);
}

static json_object *object(const char *api_version, const char *kind,
                           const char *ns, const char *name) {
  json_object *o = json_object_new_object();
  json_object *meta = json_object_new_object();
  json_object_object_add(meta, "name", json_object_new_string(name));
  json_object_object_add(meta, "namespace", json_object_new_string(ns));
  json_object_object_add(o, "apiVersion", json_object_new_string(api_version));
  json_object_object_add(o, "kind", json_object_new_string(kind));
  json_object_object_add(o, "metadata", meta);
  return o;
}

static void publish_configmap(struct settings *c, bool patch) {
  const srv_cluster_plan_t *p = srv_cluster_plan(c->srv);
  json_object *data = json_object_new_object();
  const char *reg =
      srv_registry_address(kube_server_component(c->srv, "registry"));
  const struct {
    const char *key, *value;
  } kv[] = {{"serviceCIDR", p->service_cidr},
            {"clusterCIDR", p->cluster_cidr},
            {"serviceNodePortRange", p->node_port_range},
            {"clusterDomain", p->cluster_domain},
            {"clusterDNS", p->cluster_dns},
            {"advertiseAddress", p->advertise_address},
            {"registry", reg}};
  for (size_t i = 0; i < ARRAY_SIZE(kv); i++)
    if (kv[i].value)
      json_object_object_add(data, kv[i].key,
                             json_object_new_string(kv[i].value));
  json_object *o = patch ? json_object_new_object()
                         : object("v1", "ConfigMap", "kube-system", CLUSTER_CM);
  json_object_object_add(o, "data", data);
  if (patch)
    send_json(c, "PATCH", CLUSTER_CM_PATH "/" CLUSTER_CM,
              "application/merge-patch+json", o);
  else
    send_json(c, "POST", CLUSTER_CM_PATH, NULL, o);
}

static json_object *port_object(int port) {
  json_object *p = json_object_new_object();
  json_object_object_add(p, "name", json_object_new_string("https"));
  json_object_object_add(p, "port", json_object_new_int(port));
  json_object_object_add(p, "protocol", json_object_new_string("TCP"));
  return p;
}

static void publish_endpoints(struct settings *c, bool slice) {
  const char *addr = srv_cluster_plan(c->srv)->advertise_address;
  int port = kube_apiserver_port(kube_server_apiserver(c->srv));
  if (port <= 0) {
    c->step = ST_DONE; /* no TCP listener: nothing to reach */
    return;
  }
  json_object *ports = json_object_new_array();
  json_object_array_add(ports, port_object(port));
  json_object *o;
  if (!slice) {
    o = object("v1", "Endpoints", "default", "kubernetes");
    json_object *a = json_object_new_object();
    json_object_object_add(a, "ip", json_object_new_string(addr));
    json_object *addrs = json_object_new_array();
    json_object_array_add(addrs, a);
    json_object *subset = json_object_new_object();
    json_object_object_add(subset, "addresses", addrs);
    json_object_object_add(subset, "ports", ports);
    json_object *subsets = json_object_new_array();
    json_object_array_add(subsets, subset);
    json_object_object_add(o, "subsets", subsets);
    send_json(c, "PATCH", "/api/v1/namespaces/default/endpoints/kubernetes" APPLY,
              "application/apply-patch+yaml", o);
    return;
  }
  o = object("discovery.k8s.io/v1", "EndpointSlice", "default", "kubernetes");
  json_object *labels = json_object_new_object();
  json_object_object_add(labels, "kubernetes.io/service-name",
                         json_object_new_string("kubernetes"));
  json_object_object_add(labels, "endpointslice.kubernetes.io/managed-by",
                         json_object_new_string("endpointslice.kubernetes.io"));
  json_object_object_add(kube_json_get(o, "metadata"), "labels", labels);
  json_object_object_add(o, "addressType", json_object_new_string("IPv4"));
  json_object *ep = json_object_new_object();
  json_object *addrs = json_object_new_array();
  json_object_array_add(addrs, json_object_new_string(addr));
  json_object_object_add(ep, "addresses", addrs);
  json_object *cond = json_object_new_object();
  json_object_object_add(cond, "ready", json_object_new_boolean(true));
  json_object_object_add(ep, "conditions", cond);
  json_object *eps = json_object_new_array();
  json_object_array_add(eps, ep);
  json_object_object_add(o, "endpoints", eps);
  json_object_object_add(o, "ports", ports);
  send_json(c, "PATCH",
            "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/"
            "kubernetes" APPLY,
            "application/apply-patch+yaml", o);
}

static void run_step(struct settings *c) {
  switch (c->step) {
  case ST_CONFIGMAP:
  case ST_CONFIGMAP_PATCH:
    publish_configmap(c, c->step == ST_CONFIGMAP_PATCH);
    break;
  case ST_ENDPOINTS:
  case ST_SLICE:
    publish_endpoints(c, c->step == ST_SLICE);
    break;
  case ST_DONE:
    break;
  }
}

static void settings_reply(int status, const char *ct, const char *data,
                           size_t len, bool done, void *arg) {
  struct settings *c = arg;
  if (!done)
    return;
  c->call = NULL;
  if (c->step == ST_CONFIGMAP && status == 409) {
    c->step = ST_CONFIGMAP_PATCH;
    run_step(c);
    return;
  }
  if (status == 404 || status == 0 || status >= 500) {
    /* The namespace is not bootstrapped yet (or the server is busy):
     * again in a second. */
    log_debug("kubed: publishing the cluster settings: %d, again in 1 s",
              status);
    kube_timer_arm(c->retry, 1000);
    return;
  }
  if (status < 200 || status >= 300)
    log_warn("kubed: publishing the cluster settings failed (%d): %.*s",
             status, (int)(len > 300 ? 300 : len), data ? data : "");
  c->step = c->step == ST_CONFIGMAP || c->step == ST_CONFIGMAP_PATCH
                ? ST_ENDPOINTS
                : c->step + 1;
  run_step(c);
}

static int settings_start(void *impl, kube_error_t *err) {
  run_step(impl);
  return 0;
}

static void settings_stop(void *impl) {
  struct settings *c = impl;
  kube_timer_free(c->retry);
  c->retry = NULL;
  if (c->call)
    kube_transport_cancel(&c->tp, c->call);
  c->call = NULL;
}

static void settings_free(void *impl) {
  settings_stop(impl);
  free(impl);
}

const kube_component_ops_t srv_settings_ops = {
    .version = KUBE_COMPONENT_OPS_VERSION,
    .name = "cluster-settings",
    .init = settings_init,
    .start = settings_start,
    .stop = settings_stop,
    .free = settings_free,
};
