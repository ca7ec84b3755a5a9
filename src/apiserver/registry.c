/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the API server does for a kind beyond the api module's strategy:
 * the steps that need server state, as kube-apiserver's registries do
 * them (a Service's cluster IP and node ports, a Namespace's termination).
 * Kinds without an entry need nothing here.
 */
#include "apiserver/authz.h"

/* ---- services --------------------------------------------------------------
 */

static int service_prepare(kube_apiserver_t *srv, const kube_kind_t *k,
                           json_object *obj, json_object *old, const char *key,
                           kube_error_t *err) {
  return as_services_prepare(srv, k, obj, old, key, err);
}

static const struct as_kind_hooks service_hooks = {
    .prepare = service_prepare,
};

/* ---- namespaces ------------------------------------------------------------
 */

/* spec.finalizers "kubernetes" holds the namespace until the cleanup
 * removed its content (and then the finalizer); the phase says so. */
static void namespace_mark_deleting(kube_apiserver_t *srv, const kube_kind_t *k,
                                    json_object *obj, bool already) {
  json_object *spec = kube_json_get(obj, "spec");
  if (!spec || !json_object_is_type(spec, json_type_object)) {
    spec = json_object_new_object();
    json_object_object_add(obj, "spec", spec);
  }
  json_object *sf = kube_json_get(spec, "finalizers");
  bool have = false;
  for (size_t i = 0; sf && json_object_is_type(sf, json_type_array) &&
                     i < json_object_array_length(sf);
       i++)
    if (streq(json_object_get_string(json_object_array_get_idx(sf, i)),
              "kubernetes"))
      have = true;
  if (!have && !already) {
    if (!sf || !json_object_is_type(sf, json_type_array)) {
      sf = json_object_new_array();
      json_object_object_add(spec, "finalizers", sf);
    }
    json_object_array_add(sf, json_object_new_string("kubernetes"));
  }
  json_object *st = NULL;
  if (!json_object_object_get_ex(obj, "status", &st) ||
      !json_object_is_type(st, json_type_object)) {
    st = json_object_new_object();
    json_object_object_add(obj, "status", st);
  }
  json_object_object_add(st, "phase", json_object_new_string("Terminating"));
}

static void namespace_deleting(kube_apiserver_t *srv, const kube_kind_t *k,
                               const char *name) {
  as_namespace_start_cleanup(srv, name);
}

static const struct as_kind_hooks namespace_hooks = {
    .mark_deleting = namespace_mark_deleting,
    .deleting = namespace_deleting,
};

/* ---- the table -------------------------------------------------------------
 */

static const struct {
  const char *group, *resource;
  const struct as_kind_hooks *hooks;
} table[] = {
    {"", "services", &service_hooks},
    {"", "namespaces", &namespace_hooks},
    {"", "nodes", &as_node_hooks},
    {"", "pods", &as_pod_node_hooks},
    {"rbac.authorization.k8s.io", "roles", &as_role_hooks},
    {"rbac.authorization.k8s.io", "clusterroles", &as_role_hooks},
    {"rbac.authorization.k8s.io", "rolebindings", &as_binding_hooks},
    {"rbac.authorization.k8s.io", "clusterrolebindings", &as_binding_hooks},
    {"apiextensions.k8s.io", "customresourcedefinitions", NULL},
};

static const struct as_kind_hooks no_hooks;

const struct as_kind_hooks *as_kind_hooks(const kube_kind_t *k) {
  if (!k)
    return &no_hooks;
  if (api_kind_strategy(k)->flags & API_KIND_CUSTOM)
    return as_cr_hooks();
  if (streq(k->group, "certificates.k8s.io"))
    return as_csr_hooks();
  for (size_t i = 0; i < ARRAY_SIZE(table); i++)
    if (streq(table[i].group, k->group) &&
        streq(table[i].resource, k->resource))
      return table[i].hooks ? table[i].hooks : as_crd_hooks();
  return &no_hooks;
}
