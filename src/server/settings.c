/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cluster settings as a server component: the address plan the server
 * owns (service CIDR, node port range, cluster domain and DNS address,
 * cluster CIDR, advertised address) and the built-in registry's address,
 * published in ConfigMap kube-system/libkube-cluster, where agents and
 * tools read them.  Keys someone else wrote there are kept (a merge patch
 * when the ConfigMap exists).
 */
#include <json-c/json.h>

#include <libkube/kit.h>

#include "server/internal.h"

#define CLUSTER_CM_PATH "/api/v1/namespaces/kube-system/configmaps"
#define CLUSTER_CM "libkube-cluster"

struct settings {
  kube_server_t *srv;
  kube_transport_t tp;
  kube_transport_call_t *call; /* the write in flight */
};

void *srv_settings_new(kube_error_t *err) {
  struct settings *c = calloc(1, sizeof *c);
  if (!c)
    kube_make_oom(err);
  return c;
}

static int settings_init(void *impl, kube_server_t *srv, kube_error_t *err) {
  struct settings *c = impl;
  c->srv = srv;
  kube_server_transport(srv, &c->tp);
  return 0;
}

static void settings_reply(int status, const char *ct, const char *data,
                           size_t len, bool done, void *arg);

static void publish(struct settings *c, bool patch) {
  const srv_cluster_plan_t *p = srv_cluster_plan(c->srv);
  json_object *data = json_object_new_object();
  const char *reg = srv_registry_address(kube_server_component(c->srv,
                                                               "registry"));
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
  json_object *o = json_object_new_object();
  if (!patch) {
    json_object *meta = json_object_new_object();
    json_object_object_add(meta, "name", json_object_new_string(CLUSTER_CM));
    json_object_object_add(meta, "namespace",
                           json_object_new_string("kube-system"));
    json_object_object_add(o, "apiVersion", json_object_new_string("v1"));
    json_object_object_add(o, "kind", json_object_new_string("ConfigMap"));
    json_object_object_add(o, "metadata", meta);
  }
  json_object_object_add(o, "data", data);
  const char *body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
  kube_transport_request_t rq = {
      .struct_size = sizeof rq,
      .method = patch ? "PATCH" : "POST",
      .path = patch ? CLUSTER_CM_PATH "/" CLUSTER_CM : CLUSTER_CM_PATH,
      .content_type = patch ? "application/merge-patch+json" : NULL,
      .body = body,
      .body_len = strlen(body)};
  kube_error_t err = KUBE_ERROR_INIT;
  c->call = kube_transport_request(&c->tp, &rq, settings_reply, c, &err);
  if (!c->call)
    log_warn("kubed: cannot publish the cluster settings: %s", err.message);
  kube_error_clear(&err);
  json_object_put(o);
}

static void settings_reply(int status, const char *ct, const char *data,
                           size_t len, bool done, void *arg) {
  struct settings *c = arg;
  if (!done)
    return;
  c->call = NULL;
  if (status == 409) {
    publish(c, true);
    return;
  }
  if (status < 200 || status >= 300)
    log_warn("kubed: publishing the cluster settings failed (%d): %.*s",
             status, (int)(len > 300 ? 300 : len), data ? data : "");
}

static int settings_start(void *impl, kube_error_t *err) {
  publish(impl, false);
  return 0;
}

static void settings_stop(void *impl) {
  struct settings *c = impl;
  if (c->call)
    kube_transport_cancel(&c->tp, c->call);
  c->call = NULL;
}

const kube_component_ops_t srv_settings_ops = {
    .version = KUBE_COMPONENT_OPS_VERSION,
    .name = "cluster-settings",
    .init = settings_init,
    .start = settings_start,
    .stop = settings_stop,
    .free = free,
};
