/* SPDX-License-Identifier: Apache-2.0 */
/*
 * storage.k8s.io/v1 StorageClass: columns and cells (the default class's
 * name shows "(default)", as kube-apiserver prints it), defaults and
 * validation (provisioner, reclaim policy and binding mode, immutable
 * after creation as in Kubernetes).
 */
#include "api/kinds/kind.h"

#define DEFAULT_ANNOTATION "storageclass.kubernetes.io/is-default-class"
#define BETA_DEFAULT_ANNOTATION                                                \
  "storageclass.beta.kubernetes.io/is-default-class"

static const kube_kind_column_t sc_columns[] = {
    COL_NAME,
    COL("PROVISIONER", "string",
        "provisioner indicates the type of the provisioner."),
    COL("RECLAIMPOLICY", "string",
        "reclaimPolicy controls the reclaimPolicy for dynamically "
        "provisioned PersistentVolumes of this storage class."),
    COL("VOLUMEBINDINGMODE", "string",
        "volumeBindingMode indicates how PersistentVolumeClaims should be "
        "provisioned and bound."),
    COL("ALLOWVOLUMEEXPANSION", "string",
        "allowVolumeExpansion shows whether the storage class allow volume "
        "expand."),
    COL_AGE,
    COL_END};

static void sc_cells(json_object *cells, json_object *obj, time_t now,
                     const kube_kind_t *kind) {
  json_object *ann = jget_obj(jget_obj(obj, "metadata"), "annotations");
  const char *name = api_name_of(obj);
  char buf[300];
  if (streq(jget_str0(ann, DEFAULT_ANNOTATION), "true") ||
      streq(jget_str0(ann, BETA_DEFAULT_ANNOTATION), "true")) {
    snprintf(buf, sizeof buf, "%s (default)", name);
    name = buf;
  }
  api_cell_str(cells, name);
  api_cell_str(cells, jget_str0(obj, "provisioner"));
  api_cell_str(cells, jget_str0(obj, "reclaimPolicy"));
  api_cell_str(cells, jget_str0(obj, "volumeBindingMode"));
  json_object *exp = jget(obj, "allowVolumeExpansion");
  api_cell_str(cells, exp && json_object_get_boolean(exp) ? "true" : "false");
  api_cell_age(cells, obj, now);
}

static void sc_defaults(json_object *obj, const kube_kind_t *kind) {
  if (!*jget_str0(obj, "reclaimPolicy"))
    api_jset(obj, "reclaimPolicy", jstr("Delete"));
  if (!*jget_str0(obj, "volumeBindingMode"))
    api_jset(obj, "volumeBindingMode", jstr("Immediate"));
}

static void validate_sc(verrs_t *v, json_object *obj, json_object *old,
                        const kube_kind_t *kind) {
  static const char *const policies[] = {"Delete", "Retain", NULL};
  static const char *const modes[] = {"Immediate", "WaitForFirstConsumer",
                                      NULL};
  const char *prov = jget_str0(obj, "provisioner");
  if (!*prov)
    api_v_required(v, "provisioner", NULL);
  const char *rp = jget_str0(obj, "reclaimPolicy");
  if (*rp && !api_in_set(rp, policies))
    api_v_unsupported(v, "reclaimPolicy", rp, policies);
  const char *bm = jget_str0(obj, "volumeBindingMode");
  if (*bm && !api_in_set(bm, modes))
    api_v_unsupported(v, "volumeBindingMode", bm, modes);
  if (!old)
    return;
  if (!streq(prov, jget_str0(old, "provisioner")))
    api_v_invalid(v, "provisioner", prov,
                  "updates to provisioner are "
                  "forbidden.");
  if (!streq(rp, jget_str0(old, "reclaimPolicy")))
    api_v_forbidden(v, "reclaimPolicy",
                    "updates to reclaimPolicy are "
                    "forbidden.");
  if (!streq(bm, jget_str0(old, "volumeBindingMode")))
    api_v_forbidden(v, "volumeBindingMode", "field is immutable");
  json_object *p = jget(obj, "parameters"), *op = jget(old, "parameters");
  if (!(p == op || (p && op && json_object_equal(p, op))))
    api_v_forbidden(v, "parameters", "updates to parameters are forbidden.");
}

static const struct kube_kind_strategy sc_strategy = {
    .type = &api_t_StorageClass,
    .validate = validate_sc,
    .defaults = sc_defaults,
    .cells = sc_cells,
};

const kube_kind_t api_kind_storageclass =
    KIND("storage.k8s.io", "v1", "StorageClass", "storageclasses",
         "storageclass", false, NAMES("sc"), api_verbs_all, NULL, NULL,
         sc_columns, NULL, &sc_strategy);
