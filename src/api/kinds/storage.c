/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Storage and policy kinds of core/v1: PersistentVolume,
 * PersistentVolumeClaim, LimitRange, ResourceQuota: columns and cells,
 * defaults, validation.
 */
#include "api/kinds/kind.h"

static const char *const access_mode_values[] = {
    "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod", NULL};

static const char *const pv_sources[] = {"hostPath",
                                         "gcePersistentDisk",
                                         "awsElasticBlockStore",
                                         "nfs",
                                         "iscsi",
                                         "glusterfs",
                                         "rbd",
                                         "flexVolume",
                                         "cinder",
                                         "cephfs",
                                         "flocker",
                                         "fc",
                                         "azureFile",
                                         "vsphereVolume",
                                         "quobyte",
                                         "azureDisk",
                                         "photonPersistentDisk",
                                         "portworxVolume",
                                         "scaleIO",
                                         "local",
                                         "storageos",
                                         "csi",
                                         NULL};
static const char *const reclaim_policies[] = {"Delete", "Recycle", "Retain",
                                               NULL};

static const char *const limit_types[] = {"Container", "PersistentVolumeClaim",
                                          "Pod", NULL};

static const char *const quota_scopes[] = {"BestEffort",
                                           "CrossNamespacePodAffinity",
                                           "NotBestEffort",
                                           "NotTerminating",
                                           "PriorityClass",
                                           "Terminating",
                                           NULL};

static const kube_kind_column_t pv_columns[] = {
    COL_NAME,
    COL("CAPACITY", "string",
        "capacity is the description of the persistent volume's resources "
        "and capacity."),
    COL("ACCESS MODES", "string",
        "accessModes contains all ways the volume can be mounted."),
    COL("RECLAIM POLICY", "string",
        "persistentVolumeReclaimPolicy defines what happens to a persistent "
        "volume when released from its claim."),
    COL("STATUS", "string",
        "phase indicates if a volume is available, bound to a claim, or "
        "released by a claim."),
    COL("CLAIM", "string",
        "claimRef is part of a bi-directional binding between "
        "PersistentVolume and PersistentVolumeClaim."),
    COL("STORAGECLASS", "string", "StorageClass of the pv"),
    COL("VOLUMEATTRIBUTESCLASS", "string", "VolumeAttributesClass of the pv"),
    COL("REASON", "string",
        "reason is a brief CamelCase string that describes any failure and "
        "is meant for machine parsing and tidy display in the CLI."),
    COL_AGE,
    COLW("VOLUMEMODE", "string",
         "volumeMode defines if a volume is intended to be used with a "
         "formatted filesystem or to remain in raw block state."),
    COL_END};

static const kube_kind_column_t pvc_columns[] = {
    COL_NAME,
    COL("STATUS", "string",
        "phase represents the current phase of PersistentVolumeClaim."),
    COL("VOLUME", "string",
        "volumeName is the binding reference to the PersistentVolume backing "
        "this claim."),
    COL("CAPACITY", "string",
        "capacity represents the actual resources of the underlying "
        "volume."),
    COL("ACCESS MODES", "string",
        "accessModes contains the actual access modes the volume backing the "
        "PVC has."),
    COL("STORAGECLASS", "string", "StorageClass of the pvc"),
    COL("VOLUMEATTRIBUTESCLASS", "string", "VolumeAttributesClass of the pvc"),
    COL_AGE,
    COLW("VOLUMEMODE", "string",
         "volumeMode defines what type of volume is required by the claim."),
    COL_END};

static const kube_kind_column_t limitrange_columns[] = {
    COL_NAME, COL("CREATED AT", "date", DESC_AGE), COL_END};

static const kube_kind_column_t quota_columns[] = {
    COL_NAME, COL_AGE,
    COL("REQUEST", "string",
        "Request represents a minimum amount of cpu/memory that a container "
        "may consume."),
    COL("LIMIT", "string",
        "Limits control the maximum amount of cpu/memory that a container "
        "may use independent of contention on the node."),
    COL_END};

static void access_modes(kube_strbuf_t *sb, json_object *modes) {
  static const struct {
    const char *mode, *abbr;
  } table[] = {{"ReadWriteOnce", "RWO"},
               {"ReadOnlyMany", "ROX"},
               {"ReadWriteMany", "RWX"},
               {"ReadWriteOncePod", "RWOP"}};
  for (size_t t = 0; t < ARRAY_SIZE(table); t++) {
    for (size_t i = 0; i < jarr_len(modes); i++) {
      const char *m = json_object_get_string(jarr_at(modes, i));
      if (m && streq(m, table[t].mode)) {
        if (sb->len)
          kube_strbuf_append_char(sb, ',');
        kube_strbuf_append(sb, table[t].abbr);
        break;
      }
    }
  }
}

static const char *storage_class(json_object *obj) {
  const char *sc = jget_str(jget_obj(obj, "spec"), "storageClassName");
  if (sc)
    return sc;
  sc = jget_str(jget_obj(jget_obj(obj, "metadata"), "annotations"),
                "volume.beta.kubernetes.io/storage-class");
  return sc ? sc : "";
}

static void pv_cells(json_object *cells, json_object *obj, time_t now,
                     const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec"), *st = jget_obj(obj, "status");
  api_cell_str(cells, api_name_of(obj));
  const char *cap = jget_str(jget_obj(spec, "capacity"), "storage");
  api_cell_str(cells, cap ? cap : "0");
  kube_strbuf_t modes = KUBE_STRBUF_INIT;
  access_modes(&modes, jget_arr(spec, "accessModes"));
  api_cell_sb(cells, &modes);
  api_cell_str(cells, jget_str0(spec, "persistentVolumeReclaimPolicy"));
  api_cell_str(cells,
               api_has_deletion(obj) ? "Terminating" : jget_str0(st, "phase"));
  json_object *claim = jget_obj(spec, "claimRef");
  kube_strbuf_t cr = KUBE_STRBUF_INIT;
  if (claim)
    kube_strbuf_printf(&cr, "%s/%s", jget_str0(claim, "namespace"),
                       jget_str0(claim, "name"));
  api_cell_sb(cells, &cr);
  api_cell_str(cells, storage_class(obj));
  const char *vac = jget_str(spec, "volumeAttributesClassName");
  api_cell_str(cells, vac ? vac : "<unset>");
  api_cell_str(cells, jget_str0(st, "reason"));
  api_cell_age(cells, obj, now);
  const char *vm = jget_str(spec, "volumeMode");
  api_cell_str(cells, vm ? vm : "<unset>");
}

static void pvc_cells(json_object *cells, json_object *obj, time_t now,
                      const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec"), *st = jget_obj(obj, "status");
  api_cell_str(cells, api_name_of(obj));
  api_cell_str(cells,
               api_has_deletion(obj) ? "Terminating" : jget_str0(st, "phase"));
  const char *vol = jget_str0(spec, "volumeName");
  api_cell_str(cells, vol);
  kube_strbuf_t modes = KUBE_STRBUF_INIT;
  const char *cap = "";
  if (*vol) {
    access_modes(&modes, jget_arr(st, "accessModes"));
    cap = jget_str(jget_obj(st, "capacity"), "storage");
    if (!cap)
      cap = "0";
  }
  api_cell_str(cells, cap);
  api_cell_sb(cells, &modes);
  api_cell_str(cells, storage_class(obj));
  const char *vac = jget_str(st, "currentVolumeAttributesClassName");
  api_cell_str(cells, vac ? vac : "<unset>");
  api_cell_age(cells, obj, now);
  const char *vm = jget_str(spec, "volumeMode");
  api_cell_str(cells, vm ? vm : "<unset>");
}

static void limitrange_cells(json_object *cells, json_object *obj, time_t now,
                             const kube_kind_t *kind) {
  api_cell_str(cells, api_name_of(obj));
  time_t t;
  char buf[32];
  if (api_jget_time(jget_obj(obj, "metadata"), "creationTimestamp", &t))
    api_cell_str(cells, kube_time_format(t, buf, sizeof(buf)));
  else
    api_cell_str(cells, "0001-01-01T00:00:00Z");
}

static void quota_cells(json_object *cells, json_object *obj, time_t now,
                        const kube_kind_t *kind) {
  json_object *hard = jget_obj(jget_obj(obj, "spec"), "hard");
  json_object *st = jget_obj(obj, "status");
  json_object *used = jget_obj(st, "used"), *shard = jget_obj(st, "hard");
  size_t n = hard ? (size_t)json_object_object_length(hard) : 0, i = 0;
  const char **keys = calloc(n ? n : 1, sizeof(*keys));
  if (keys && hard) {
    json_object_object_foreach(hard, k, v) {
      (void)v;
      keys[i++] = k;
    }
    qsort(keys, i, sizeof(*keys), api_str_ptr_cmp);
  }
  kube_strbuf_t req = KUBE_STRBUF_INIT, lim = KUBE_STRBUF_INIT;
  for (size_t j = 0; j < i; j++) {
    kube_strbuf_t *w = str_has_prefix(keys[j], "limits.") ? &lim : &req;
    const char *u = jget_str(used, keys[j]);
    const char *h = jget_str(shard, keys[j]);
    if (w->len)
      kube_strbuf_append(w, ", ");
    kube_strbuf_printf(w, "%s: %s/%s", keys[j], u ? u : "0", h ? h : "0");
  }
  free(keys);
  api_cell_str(cells, api_name_of(obj));
  api_cell_age(cells, obj, now);
  api_cell_sb(cells, &req);
  api_cell_sb(cells, &lim);
}

static void pv_defaults(json_object *obj, const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec");
  if (spec) {
    if (empty_str(spec, "persistentVolumeReclaimPolicy"))
      api_jset(spec, "persistentVolumeReclaimPolicy", jstr("Retain"));
    if (empty_str(spec, "volumeMode"))
      api_jset(spec, "volumeMode", jstr("Filesystem"));
  }
  json_object *status = api_jensure_obj(obj, "status");
  if (status && empty_str(status, "phase"))
    api_jset(status, "phase", jstr("Pending"));
}

static void pvc_defaults(json_object *obj, const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec");
  if (spec && empty_str(spec, "volumeMode"))
    api_jset(spec, "volumeMode", jstr("Filesystem"));
  json_object *status = api_jensure_obj(obj, "status");
  if (status && empty_str(status, "phase"))
    api_jset(status, "phase", jstr("Pending"));
}

static void copy_missing(json_object *dst_parent, const char *dst_key,
                         json_object *src) {
  if (!src || json_object_object_length(src) == 0)
    return;
  json_object *dst = api_jensure_obj(dst_parent, dst_key);
  json_object_object_foreach(src, k, v) {
    if (dst && absent(dst, k))
      api_jset(dst, k, json_object_get(v));
  }
}

/* SetDefaults_LimitRangeItem: default limits from max, default requests
 * from the default limits (or max). */
static void limitrange_defaults(json_object *obj, const kube_kind_t *kind) {
  json_object *limits = jget_arr(jget_obj(obj, "spec"), "limits");
  for (size_t i = 0; i < jarr_len(limits); i++) {
    json_object *item = jarr_at(limits, i);
    if (!streq(jget_str0(item, "type"), "Container"))
      continue;
    copy_missing(item, "default", jget_obj(item, "max"));
    copy_missing(item, "defaultRequest", jget_obj(item, "default"));
    copy_missing(item, "defaultRequest", jget_obj(item, "min"));
  }
}

static void validate_access_modes(verrs_t *v, json_object *spec) {
  json_object *modes = jget_arr(spec, "accessModes");
  char f[FP_MAX];
  if (jarr_len(modes) == 0)
    api_v_required(v, "spec.accessModes", "at least 1 access mode is required");
  for (size_t i = 0; i < jarr_len(modes); i++) {
    const char *m = json_object_get_string(jarr_at(modes, i));
    if (!api_in_set(m, access_mode_values))
      api_v_unsupported(v, api_fp(f, "spec.accessModes[%zu]", i), m ? m : "",
                        access_mode_values);
  }
}

static void validate_pv(verrs_t *v, json_object *obj, json_object *old,
                        const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec");
  validate_access_modes(v, spec);
  json_object *cap = jget_obj(spec, "capacity");
  if (!cap || !jget(cap, "storage")) {
    api_v_required(v, "spec.capacity", NULL);
  } else {
    json_object_object_foreach(cap, k, val) {
      char f[FP_MAX];
      if (!streq(k, "storage")) {
        api_v_unsupported(v, "spec.capacity", k,
                          (const char *const[]){"storage", NULL});
        continue;
      }
      api_validate_quantity(v, val, api_fp(f, "spec.capacity[%s]", k), true,
                            NULL, NULL);
    }
  }
  size_t sources = 0;
  for (const char *const *s = pv_sources; *s; s++)
    if (jget(spec, *s))
      sources++;
  if (sources == 0)
    api_v_required(v, "spec", "must specify a volume type");
  else if (sources > 1)
    api_v_forbidden(v, "spec", "may not specify more than 1 volume type");
  const char *rp = jget_str0(spec, "persistentVolumeReclaimPolicy");
  if (*rp && !api_in_set(rp, reclaim_policies))
    api_v_unsupported(v, "spec.persistentVolumeReclaimPolicy", rp,
                      reclaim_policies);
  json_object *hp = jget_obj(spec, "hostPath");
  if (hp && !*jget_str0(hp, "path"))
    api_v_required(v, "spec.hostPath.path", NULL);
}

static void validate_pvc(verrs_t *v, json_object *obj, json_object *old,
                         const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec");
  validate_access_modes(v, spec);
  json_object *req = jget_obj(jget_obj(spec, "resources"), "requests");
  json_object *st = jget(req, "storage");
  if (!st)
    api_v_required(v, "spec.resources[storage]", NULL);
  else
    api_validate_quantity(v, st, "spec.resources[storage]", true, NULL, NULL);
  if (old) {
    /* Only the storage request (expansion) and volumeName binding may
     * change after creation. */
    json_object *a = NULL, *b = NULL;
    if (json_object_deep_copy(spec, &a, NULL) == 0 &&
        json_object_deep_copy(jget_obj(old, "spec"), &b, NULL) == 0 && a && b) {
      json_object_object_del(a, "resources");
      json_object_object_del(b, "resources");
      json_object_object_del(a, "volumeAttributesClassName");
      json_object_object_del(b, "volumeAttributesClassName");
      if (!*jget_str0(b, "volumeName"))
        json_object_object_del(a, "volumeName"),
            json_object_object_del(b, "volumeName");
      /* A claim without a class may get one (the default class assigned
       * retroactively, Kubernetes 1.28+). */
      if (!jget(b, "storageClassName") ||
          json_object_is_type(jget(b, "storageClassName"), json_type_null))
        json_object_object_del(a, "storageClassName"),
            json_object_object_del(b, "storageClassName");
      if (!json_object_equal(a, b))
        api_v_forbidden(v, "spec",
                        "spec is immutable after creation except "
                        "resources.requests and volumeAttributesClassName for "
                        "bound claims");
    }
    json_object_put(a);
    json_object_put(b);
  }
}

static void validate_limitrange(verrs_t *v, json_object *obj, json_object *old,
                                const kube_kind_t *kind) {
  json_object *limits = jget_arr(jget_obj(obj, "spec"), "limits");
  char f[FP_MAX], g[FP_MAX];
  static const char *const lists[] = {"max", "min", "default", "defaultRequest",
                                      "maxLimitRequestRatio"};
  for (size_t i = 0; i < jarr_len(limits); i++) {
    json_object *item = jarr_at(limits, i);
    api_fp(f, "spec.limits[%zu]", i);
    const char *type = jget_str0(item, "type");
    if (!api_in_set(type, limit_types))
      api_v_unsupported(v, api_fp(g, "%s.type", f), type, limit_types);
    for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
      json_object *m = jget_obj(item, lists[l]);
      if (!m)
        continue;
      json_object_object_foreach(m, k, val) api_validate_quantity(
          v, val, api_fp(g, "%s.%s[%s]", f, lists[l], k), true, NULL, NULL);
    }
    json_object *min = jget_obj(item, "min"), *max = jget_obj(item, "max");
    if (min && max) {
      json_object_object_foreach(min, k, val) {
        json_object *mx = jget(max, k);
        kube_quantity_t a, b;
        if (mx && json_object_is_type(val, json_type_string) &&
            json_object_is_type(mx, json_type_string) &&
            kube_quantity_parse(json_object_get_string(val), &a, NULL) == 0 &&
            kube_quantity_parse(json_object_get_string(mx), &b, NULL) == 0 &&
            kube_quantity_cmp(&a, &b) > 0) {
          char msg[160];
          snprintf(msg, sizeof(msg),
                   "min value %s is greater than max value %s",
                   json_object_get_string(val), json_object_get_string(mx));
          api_v_invalid(v, api_fp(g, "%s.min[%s]", f, k),
                        json_object_get_string(val), msg);
        }
      }
    }
  }
}

static void validate_quota(verrs_t *v, json_object *obj, json_object *old,
                           const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec");
  json_object *hard = jget_obj(spec, "hard");
  char f[FP_MAX];
  if (hard) {
    json_object_object_foreach(hard, k, val) api_validate_quantity(
        v, val, api_fp(f, "spec.hard[%s]", k), true, NULL, NULL);
  }
  json_object *scopes = jget_arr(spec, "scopes");
  for (size_t i = 0; i < jarr_len(scopes); i++) {
    const char *s = json_object_get_string(jarr_at(scopes, i));
    if (!api_in_set(s, quota_scopes))
      api_v_unsupported(v, api_fp(f, "spec.scopes[%zu]", i), s ? s : "",
                        quota_scopes);
  }
}

/* ---- strategies ------------------------------------------------------------
 */

static const struct kube_kind_strategy pvc_strategy = {
    .type = &api_t_PersistentVolumeClaim,
    .validate = validate_pvc,
    .defaults = pvc_defaults,
    .cells = pvc_cells,
};
static const struct kube_kind_strategy pv_strategy = {
    .type = &api_t_PersistentVolume,
    .validate = validate_pv,
    .defaults = pv_defaults,
    .cells = pv_cells,
};
static const struct kube_kind_strategy limitrange_strategy = {
    .type = &api_t_LimitRange,
    .validate = validate_limitrange,
    .defaults = limitrange_defaults,
    .cells = limitrange_cells,
};
static const struct kube_kind_strategy quota_strategy = {
    .type = &api_t_ResourceQuota,
    .validate = validate_quota,
    .cells = quota_cells,
};

const kube_kind_t api_kind_pvc =
    KIND("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims",
         "persistentvolumeclaim", true, NAMES("pvc"), api_verbs_all, NULL,
         api_sub_status, pvc_columns, NULL, &pvc_strategy);
const kube_kind_t api_kind_pv =
    KIND("", "v1", "PersistentVolume", "persistentvolumes", "persistentvolume",
         false, NAMES("pv"), api_verbs_all, NULL, api_sub_status, pv_columns,
         NULL, &pv_strategy);
const kube_kind_t api_kind_limitrange = KIND(
    "", "v1", "LimitRange", "limitranges", "limitrange", true, NAMES("limits"),
    api_verbs_all, NULL, NULL, limitrange_columns, NULL, &limitrange_strategy);
const kube_kind_t api_kind_resourcequota =
    KIND("", "v1", "ResourceQuota", "resourcequotas", "resourcequota", true,
         NAMES("quota"), api_verbs_all, NULL, api_sub_status, quota_columns,
         NULL, &quota_strategy);
