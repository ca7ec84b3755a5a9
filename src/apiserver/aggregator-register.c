/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Local APIServices (kube-apiserver's autoregister and
 * crdregistration controllers): one for each built-in group-version this
 * server serves, created at start (label
 * kube-aggregator.kubernetes.io/automanaged "onstart", kube's priorities),
 * and one for each served version of a CustomResourceDefinition, created
 * and deleted with the CRDs' versions (automanaged "true",
 * groupPriorityMinimum 1000, versionPriority 100).  An APIService someone
 * else made under such a name is left alone.  aggregator-available.c runs
 * this at each of its syncs (CRD changes arm one) and marks the Local
 * APIServices Available (reason Local).
 */
#include "apiserver/internal.h"

#define APISERVICES "/registry/apiregistration.k8s.io/apiservices/"
#define AUTOMANAGED "kube-aggregator.kubernetes.io/automanaged"

/* kube-apiserver's priorities of its group-versions (an APIService is
 * registered only for a group-version it has a priority for). */
static const struct {
  const char *group, *version;
  int group_prio, version_prio;
} builtin_prio[] = {
    {"", "v1", 18000, 1},
    {"apps", "v1", 17800, 15},
    {"events.k8s.io", "v1", 17750, 15},
    {"events.k8s.io", "v1beta1", 17750, 5},
    {"authentication.k8s.io", "v1", 17700, 15},
    {"authentication.k8s.io", "v1beta1", 17700, 9},
    {"authentication.k8s.io", "v1alpha1", 17700, 1},
    {"authorization.k8s.io", "v1", 17600, 15},
    {"autoscaling", "v1", 17500, 15},
    {"autoscaling", "v2", 17500, 30},
    {"autoscaling", "v2beta1", 17500, 9},
    {"autoscaling", "v2beta2", 17500, 1},
    {"batch", "v1", 17400, 15},
    {"batch", "v1beta1", 17400, 9},
    {"certificates.k8s.io", "v1", 17300, 15},
    {"certificates.k8s.io", "v1beta1", 17300, 9},
    {"certificates.k8s.io", "v1alpha1", 17300, 1},
    {"networking.k8s.io", "v1", 17200, 15},
    {"networking.k8s.io", "v1beta1", 17200, 9},
    {"networking.k8s.io", "v1alpha1", 17200, 1},
    {"policy", "v1", 17100, 15},
    {"policy", "v1beta1", 17100, 9},
    {"rbac.authorization.k8s.io", "v1", 17000, 15},
    {"storage.k8s.io", "v1", 16800, 15},
    {"storage.k8s.io", "v1beta1", 16800, 9},
    {"storage.k8s.io", "v1alpha1", 16800, 1},
    {"apiextensions.k8s.io", "v1", 16700, 15},
    {"admissionregistration.k8s.io", "v1", 16700, 15},
    {"admissionregistration.k8s.io", "v1beta1", 16700, 12},
    {"admissionregistration.k8s.io", "v1alpha1", 16700, 9},
    {"scheduling.k8s.io", "v1", 16600, 15},
    {"coordination.k8s.io", "v1", 16500, 15},
    {"coordination.k8s.io", "v1beta1", 16500, 13},
    {"coordination.k8s.io", "v1alpha2", 16500, 12},
    {"node.k8s.io", "v1", 16300, 15},
    {"discovery.k8s.io", "v1", 16200, 15},
    {"flowcontrol.apiserver.k8s.io", "v1", 16100, 21},
    {"flowcontrol.apiserver.k8s.io", "v1beta3", 16100, 18},
    {"internal.apiserver.k8s.io", "v1alpha1", 16000, 9},
    {"storagemigration.k8s.io", "v1alpha1", 15800, 9},
};

static bool builtin_served(const char *group, const char *version) {
  for (size_t i = 0; i < kube_kinds_count(); i++) {
    const kube_kind_t *k = kube_kinds_at(i);
    if (streq(k->group, group) && streq(k->version, version))
      return true;
  }
  return false;
}

static bool apiservice_exists(kube_apiserver_t *srv, const char *name) {
  char key[600];
  snprintf(key, sizeof key, APISERVICES "%s", name);
  kube_store_record_t *rec = kube_store_get(srv->store, key, NULL);
  kube_store_record_unref(rec);
  return rec != NULL;
}

/* Create the Local APIService version.group, labelled automanaged=how. */
static void create_local(kube_apiserver_t *srv, const char *group,
                         const char *version, int group_prio, int version_prio,
                         const char *how) {
  const kube_kind_t *ak =
      kube_kind_by_resource("apiregistration.k8s.io", "v1", "apiservices");
  char name[300];
  snprintf(name, sizeof name, "%s.%s", version, group);
  if (!ak || apiservice_exists(srv, name))
    return;
  json_object *o = json_object_new_object();
  json_object *m = json_object_new_object();
  json_object_object_add(m, "name", json_object_new_string(name));
  json_object *labels = json_object_new_object();
  json_object_object_add(labels, AUTOMANAGED, json_object_new_string(how));
  json_object_object_add(m, "labels", labels);
  json_object_object_add(o, "metadata", m);
  json_object *spec = json_object_new_object();
  json_object_object_add(spec, "group", json_object_new_string(group));
  json_object_object_add(spec, "version", json_object_new_string(version));
  json_object_object_add(spec, "groupPriorityMinimum",
                         json_object_new_int(group_prio));
  json_object_object_add(spec, "versionPriority",
                         json_object_new_int(version_prio));
  json_object_object_add(o, "spec", spec);
  as_apiserver_internal_create(srv, ak, o);
}

/* At start: every built-in group-version served here that has none.  One
 * deleted afterwards comes back at the next start only. */
static void register_builtin(kube_apiserver_t *srv) {
  for (size_t p = 0; p < ARRAY_SIZE(builtin_prio); p++)
    if (builtin_served(builtin_prio[p].group, builtin_prio[p].version))
      create_local(srv, builtin_prio[p].group, builtin_prio[p].version,
                   builtin_prio[p].group_prio, builtin_prio[p].version_prio,
                   "onstart");
}

/* The CRDs' served group-versions that are not built in, as an object
 * "version.group" -> true (owned), or NULL when the CRDs cannot be read. */
static json_object *crd_group_versions(kube_apiserver_t *srv) {
  const kube_kind_t *ck = kube_kind_by_resource("apiextensions.k8s.io", "v1",
                                                "customresourcedefinitions");
  cleanup_free char *prefix = ck ? as_store_prefix(ck, NULL) : NULL;
  kube_store_list_t l = {0};
  if (!prefix || kube_store_list(srv->store, prefix, NULL, 0, &l, NULL) < 0)
    return NULL;
  json_object *want = json_object_new_object();
  for (size_t i = 0; want && i < l.n; i++) {
    json_object *crd = as_record_to_tree(l.items[i], NULL);
    const char *group = kube_json_get_string(crd, "spec.group");
    json_object *vs = kube_json_get(crd, "spec.versions");
    size_t nv = group && vs && json_object_is_type(vs, json_type_array)
                    ? json_object_array_length(vs)
                    : 0;
    for (size_t j = 0; j < nv; j++) {
      json_object *v = json_object_array_get_idx(vs, j);
      const char *name = kube_json_get_string(v, "name");
      json_object *served = kube_json_get(v, "served");
      if (!name || !served || !json_object_get_boolean(served) ||
          builtin_served(group, name))
        continue;
      char gv[600];
      snprintf(gv, sizeof gv, "%s.%s", name, group);
      json_object_object_add(want, gv, json_object_new_boolean(true));
      create_local(srv, group, name, 1000, 100, "true");
    }
    json_object_put(crd);
  }
  kube_store_list_clear(&l);
  return want;
}

/* The CRDs' APIServices: created for each served version, deleted (those
 * labelled automanaged "true" only) once no CRD serves it. */
static void register_crds(kube_apiserver_t *srv) {
  json_object *want = crd_group_versions(srv);
  kube_store_list_t l = {0};
  if (!want ||
      kube_store_list(srv->store, APISERVICES, NULL, 0, &l, NULL) < 0) {
    json_object_put(want);
    return;
  }
  for (size_t i = 0; i < l.n; i++) {
    json_object *as = as_record_to_tree(l.items[i], NULL);
    const char *name = kube_json_get_string(as, "metadata.name");
    /* The label's name has dots: not a kube_json_get path. */
    json_object *how_j = NULL;
    json_object_object_get_ex(kube_json_get(as, "metadata.labels"), AUTOMANAGED,
                              &how_j);
    const char *how = json_object_get_string(how_j);
    if (name && how && streq(how, "true") &&
        !kube_json_get(as, "spec.service") &&
        !json_object_object_get_ex(want, name, NULL))
      as_internal_delete(srv, l.items[i]->key, l.items[i]->mod_revision);
    json_object_put(as);
  }
  kube_store_list_clear(&l);
  json_object_put(want);
}

void as_apiservices_register(kube_apiserver_t *srv, bool builtin) {
  if (builtin)
    register_builtin(srv);
  register_crds(srv);
}
