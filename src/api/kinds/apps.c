/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Workloads of apps/v1 and core/v1 ReplicationController: Deployment,
 * ReplicaSet, DaemonSet, StatefulSet, ReplicationController, and the
 * ControllerRevisions DaemonSets and StatefulSets keep their history in.
 * Columns and cells of the real printers, SetDefaults_*, validation (selectors
 * that must match template labels, strategies, immutable fields) and the scale
 * subresource.
 */
#include <ctype.h>

#include "api/kinds/kind.h"

static const kube_kind_column_t rc_columns[] = {
    COL_NAME,
    COL("DESIRED", "integer", "Replicas is the number of desired replicas."),
    COL("CURRENT", "integer",
        "Replicas is the most recently observed number of replicas."),
    COL("READY", "integer",
        "The number of ready replicas for this replication controller."),
    COL_AGE,
    COLW("CONTAINERS", "string", DESC_CONTAINERS),
    COLW("IMAGES", "string", DESC_IMAGES),
    COLW("SELECTOR", "string",
         "Selector is a label query over pods that should match the Replicas "
         "count."),
    COL_END};

static const kube_kind_column_t rs_columns[] = {
    COL_NAME,
    COL("DESIRED", "integer", "Replicas is the number of desired replicas."),
    COL("CURRENT", "integer",
        "Replicas is the most recently observed number of replicas."),
    COL("READY", "integer",
        "The number of ready replicas for this replica set."),
    COL_AGE,
    COLW("CONTAINERS", "string", DESC_CONTAINERS),
    COLW("IMAGES", "string", DESC_IMAGES),
    COLW("SELECTOR", "string",
         "Selector is a label query over pods that should match the replica "
         "count."),
    COL_END};

static const kube_kind_column_t ds_columns[] = {
    COL_NAME,
    COL("DESIRED", "integer",
        "The total number of nodes that should be running the daemon pod."),
    COL("CURRENT", "integer",
        "The number of nodes that are running at least 1 daemon pod and are "
        "supposed to run the daemon pod."),
    COL("READY", "integer",
        "The number of nodes that should be running the daemon pod and have "
        "one or more of the daemon pod running and ready."),
    COL("UP-TO-DATE", "integer",
        "The total number of nodes that are running updated daemon pod"),
    COL("AVAILABLE", "integer",
        "The number of nodes that should be running the daemon pod and have "
        "one or more of the daemon pod running and available."),
    COL("NODE SELECTOR", "string",
        "NodeSelector is a selector which must be true for the pod to fit on "
        "a node."),
    COL_AGE,
    COLW("CONTAINERS", "string", DESC_CONTAINERS),
    COLW("IMAGES", "string", DESC_IMAGES),
    COLW("SELECTOR", "string",
         "A label query over pods that are managed by the daemon set."),
    COL_END};

static const kube_kind_column_t sts_columns[] = {
    COL_NAME,
    COL("READY", "string", "Number of the pod with ready state"),
    COL_AGE,
    COLW("CONTAINERS", "string", DESC_CONTAINERS),
    COLW("IMAGES", "string", DESC_IMAGES),
    COL_END};

static const kube_kind_column_t deployment_columns[] = {
    COL_NAME,
    COL("READY", "string", "Number of the pod with ready state"),
    COL("UP-TO-DATE", "string",
        "Total number of non-terminated pods targeted by this deployment "
        "that have the desired template spec."),
    COL("AVAILABLE", "string",
        "Total number of available pods (ready for at least minReadySeconds) "
        "targeted by this deployment."),
    COL_AGE,
    COLW("CONTAINERS", "string", DESC_CONTAINERS),
    COLW("IMAGES", "string", DESC_IMAGES),
    COLW("SELECTOR", "string",
         "Label selector for pods. Existing ReplicaSets whose pods are "
         "selected by this will be the ones affected by this deployment."),
    COL_END};

static const kube_kind_column_t cr_columns[] = {
    COL_NAME, COL("CONTROLLER", "string", "Controller of the object"),
    COL("REVISION", "string",
        "Revision indicates the revision of the state represented by Data."),
    COL_AGE, COL_END};

static const char *const sel_replicas[] = {"status.replicas", NULL};

static void rc_cells(json_object *cells, json_object *obj, time_t now,
                     const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec"), *st = jget_obj(obj, "status");
  api_cell_str(cells, api_name_of(obj));
  api_cell_int(cells, jget_int(spec, "replicas", 0));
  api_cell_int(cells, jget_int(st, "replicas", 0));
  api_cell_int(cells, jget_int(st, "readyReplicas", 0));
  api_cell_age(cells, obj, now);
  api_cell_containers(cells, api_template_spec(obj));
  api_cell_labels(cells, jget_obj(spec, "selector"));
}

static void rs_cells(json_object *cells, json_object *obj, time_t now,
                     const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec"), *st = jget_obj(obj, "status");
  api_cell_str(cells, api_name_of(obj));
  api_cell_int(cells, jget_int(spec, "replicas", 0));
  api_cell_int(cells, jget_int(st, "replicas", 0));
  api_cell_int(cells, jget_int(st, "readyReplicas", 0));
  api_cell_age(cells, obj, now);
  api_cell_containers(cells, api_template_spec(obj));
  api_cell_selector(cells, jget_obj(spec, "selector"));
}

static void deployment_cells(json_object *cells, json_object *obj, time_t now,
                             const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec"), *st = jget_obj(obj, "status");
  char buf[64];
  api_cell_str(cells, api_name_of(obj));
  snprintf(buf, sizeof(buf), "%" PRId64 "/%" PRId64,
           jget_int(st, "readyReplicas", 0), jget_int(spec, "replicas", 0));
  api_cell_str(cells, buf);
  api_cell_int(cells, jget_int(st, "updatedReplicas", 0));
  api_cell_int(cells, jget_int(st, "availableReplicas", 0));
  api_cell_age(cells, obj, now);
  api_cell_containers(cells, api_template_spec(obj));
  api_cell_selector(cells, jget_obj(spec, "selector"));
}

static void ds_cells(json_object *cells, json_object *obj, time_t now,
                     const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec"), *st = jget_obj(obj, "status");
  api_cell_str(cells, api_name_of(obj));
  api_cell_int(cells, jget_int(st, "desiredNumberScheduled", 0));
  api_cell_int(cells, jget_int(st, "currentNumberScheduled", 0));
  api_cell_int(cells, jget_int(st, "numberReady", 0));
  api_cell_int(cells, jget_int(st, "updatedNumberScheduled", 0));
  api_cell_int(cells, jget_int(st, "numberAvailable", 0));
  api_cell_labels(cells, jget_obj(api_template_spec(obj), "nodeSelector"));
  api_cell_age(cells, obj, now);
  api_cell_containers(cells, api_template_spec(obj));
  api_cell_selector(cells, jget_obj(spec, "selector"));
}

static void sts_cells(json_object *cells, json_object *obj, time_t now,
                      const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec"), *st = jget_obj(obj, "status");
  char buf[64];
  api_cell_str(cells, api_name_of(obj));
  snprintf(buf, sizeof(buf), "%" PRId64 "/%" PRId64,
           jget_int(st, "readyReplicas", 0), jget_int(spec, "replicas", 0));
  api_cell_str(cells, buf);
  api_cell_age(cells, obj, now);
  api_cell_containers(cells, api_template_spec(obj));
}

/* printControllerRevision: the controller as formatResourceName with its
 * kind ("daemonset.apps/x"), "<none>" without one. */
static void cr_cells(json_object *cells, json_object *obj, time_t now,
                     const kube_kind_t *kind) {
  json_object *refs = jget_arr(jget_obj(obj, "metadata"), "ownerReferences");
  json_object *ctrl = NULL;
  for (size_t i = 0; !ctrl && i < jarr_len(refs); i++) {
    json_object *r = jarr_at(refs, i);
    if (jget_bool(r, "controller", false))
      ctrl = r;
  }
  api_cell_str(cells, api_name_of(obj));
  if (!ctrl) {
    api_cell_str(cells, "<none>");
  } else {
    const char *av = jget_str0(ctrl, "apiVersion");
    const char *slash = strchr(av, '/');
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    for (const char *k = jget_str0(ctrl, "kind"); *k; k++)
      kube_strbuf_append_char(&sb, (char)tolower((unsigned char)*k));
    if (slash)
      kube_strbuf_printf(&sb, ".%.*s", (int)(slash - av), av);
    kube_strbuf_printf(&sb, "/%s", jget_str0(ctrl, "name"));
    api_cell_sb(cells, &sb);
  }
  api_cell_int(cells, jget_int(obj, "revision", 0));
  api_cell_age(cells, obj, now);
}

/* spec[key].type defaults to RollingUpdate; the strategy's rollingUpdate
 * (created) when that is its type, else NULL. */
static json_object *default_rolling_update(json_object *spec, const char *key) {
  json_object *strategy = api_jensure_obj(spec, key);
  if (!strategy)
    return NULL;
  if (empty_str(strategy, "type"))
    api_jset(strategy, "type", jstr("RollingUpdate"));
  if (!streq(jget_str0(strategy, "type"), "RollingUpdate"))
    return NULL;
  return api_jensure_obj(strategy, "rollingUpdate");
}

static void deployment_defaults(json_object *obj, const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec)
    return;
  api_jdefault(spec, "replicas", jint(1));
  json_object *ru = default_rolling_update(spec, "strategy");
  api_jdefault(ru, "maxUnavailable", jstr("25%"));
  api_jdefault(ru, "maxSurge", jstr("25%"));
  api_jdefault(spec, "revisionHistoryLimit", jint(10));
  api_jdefault(spec, "progressDeadlineSeconds", jint(600));
  api_default_template(spec);
}

static void replicaset_defaults(json_object *obj, const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec)
    return;
  api_jdefault(spec, "replicas", jint(1));
  api_default_template(spec);
}

static void rc_defaults(json_object *obj, const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec)
    return;
  json_object *tmpl = api_template_of(spec);
  json_object *tl = jget_obj(jget_obj(tmpl, "metadata"), "labels");
  json_object *sel = jget_obj(spec, "selector");
  if (tl && json_object_object_length(tl) > 0 &&
      (!sel || json_object_object_length(sel) == 0)) {
    json_object *copy = NULL;
    if (json_object_deep_copy(tl, &copy, NULL) == 0)
      api_jset(spec, "selector", copy);
  }
  api_labels_from_template(obj, tmpl);
  api_jdefault(spec, "replicas", jint(1));
  api_default_template(spec);
}

static void daemonset_defaults(json_object *obj, const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec)
    return;
  json_object *ru = default_rolling_update(spec, "updateStrategy");
  api_jdefault(ru, "maxUnavailable", jint(1));
  api_jdefault(ru, "maxSurge", jint(0));
  api_jdefault(spec, "revisionHistoryLimit", jint(10));
  api_default_template(spec);
}

static void statefulset_defaults(json_object *obj, const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec)
    return;
  if (empty_str(spec, "podManagementPolicy"))
    api_jset(spec, "podManagementPolicy", jstr("OrderedReady"));
  api_jdefault(default_rolling_update(spec, "updateStrategy"), "partition",
               jint(0));
  json_object *pr =
      api_jensure_obj(spec, "persistentVolumeClaimRetentionPolicy");
  if (pr) {
    if (empty_str(pr, "whenDeleted"))
      api_jset(pr, "whenDeleted", jstr("Retain"));
    if (empty_str(pr, "whenScaled"))
      api_jset(pr, "whenScaled", jstr("Retain"));
  }
  api_jdefault(spec, "replicas", jint(1));
  api_jdefault(spec, "revisionHistoryLimit", jint(10));
  api_default_template(spec);
}

/* revision is an int64 without omitempty: 0 when absent. */
static void cr_defaults(json_object *obj, const kube_kind_t *kind) {
  api_jdefault(obj, "revision", jint(0));
}

/* ValidateControllerRevision(Update): data is mandatory and, once stored,
 * immutable; revision is not negative (the controllers raise it when a
 * template comes back, so it may change). */
static void validate_cr(verrs_t *v, json_object *obj, json_object *old,
                        const kube_kind_t *kind) {
  json_object *data = jget(obj, "data");
  if (!data)
    api_v_required(v, "data", "data is mandatory");
  api_validate_nonneg(v, obj, "revision", "revision");
  if (old)
    api_validate_immutable(v, data, jget(old, "data"), "data");
}

/* spec.selector of an apps/v1 workload cannot change once set. */
static void validate_selector_unchanged(verrs_t *v, json_object *spec,
                                        json_object *old) {
  json_object *os = jget_obj(jget_obj(old, "spec"), "selector");
  if (os)
    api_validate_immutable(v, jget(spec, "selector"), os, "spec.selector");
}

static const char *const always_only[] = {"Always", NULL};

static const char *const deploy_strategies[] = {"Recreate", "RollingUpdate",
                                                NULL};

static void validate_deployment(verrs_t *v, json_object *obj, json_object *old,
                                const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec) {
    api_v_required(v, "spec", NULL);
    return;
  }
  api_validate_nonneg(v, spec, "replicas", "spec.replicas");
  api_validate_selector_template(v, spec, "deployment");
  api_validate_pod_template(v, jget_obj(spec, "template"), "spec.template",
                            always_only, "Deployment");
  json_object *strategy = jget_obj(spec, "strategy");
  const char *type = jget_str0(strategy, "type");
  if (!api_in_set(type, deploy_strategies)) {
    api_v_unsupported(v, "spec.strategy.type", type, deploy_strategies);
  } else if (streq(type, "Recreate") && jget_obj(strategy, "rollingUpdate")) {
    api_v_forbidden(v, "spec.strategy.rollingUpdate",
                    "may not be specified when strategy `type` is 'Recreate'");
  } else if (streq(type, "RollingUpdate")) {
    api_validate_rolling_update(v, jget_obj(strategy, "rollingUpdate"),
                                "spec.strategy.rollingUpdate", true);
  }
  api_validate_nonneg(v, spec, "minReadySeconds", "spec.minReadySeconds");
  api_validate_nonneg(v, spec, "revisionHistoryLimit",
                      "spec.revisionHistoryLimit");
  json_object *pds = jget(spec, "progressDeadlineSeconds");
  if (jis_int(pds)) {
    int64_t p = json_object_get_int64(pds);
    if (p <= jget_int(spec, "minReadySeconds", 0))
      api_v_invalid_int(v, "spec.progressDeadlineSeconds", p,
                        "must be greater than minReadySeconds");
  }
  validate_selector_unchanged(v, spec, old);
}

static void validate_replicaset(verrs_t *v, json_object *obj, json_object *old,
                                const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec) {
    api_v_required(v, "spec", NULL);
    return;
  }
  api_validate_nonneg(v, spec, "replicas", "spec.replicas");
  api_validate_nonneg(v, spec, "minReadySeconds", "spec.minReadySeconds");
  api_validate_selector_template(v, spec, "deployment");
  api_validate_pod_template(v, jget_obj(spec, "template"), "spec.template",
                            always_only, "ReplicaSet");
  validate_selector_unchanged(v, spec, old);
}

static void validate_rc(verrs_t *v, json_object *obj, json_object *old,
                        const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec) {
    api_v_required(v, "spec", NULL);
    return;
  }
  api_validate_nonneg(v, spec, "replicas", "spec.replicas");
  api_validate_nonneg(v, spec, "minReadySeconds", "spec.minReadySeconds");
  json_object *sel = jget_obj(spec, "selector");
  json_object *tmpl = jget_obj(spec, "template");
  if (!sel || json_object_object_length(sel) == 0) {
    api_v_required(v, "spec.selector", NULL);
  } else {
    api_validate_labels(v, sel, "spec.selector");
    json_object *labels = jget_obj(jget_obj(tmpl, "metadata"), "labels");
    bool match = true;
    json_object_object_foreach(sel, k, val) {
      const char *have = jget_str(labels, k);
      const char *want = json_object_get_string(val);
      if (!have || !want || !streq(have, want))
        match = false;
    }
    if (tmpl && !match)
      api_v_template_labels(v, labels);
  }
  if (!tmpl)
    api_v_required(v, "spec.template", NULL);
  else
    api_validate_pod_template(v, tmpl, "spec.template", always_only,
                              "ReplicationController");
}

static const char *const ds_strategies[] = {"OnDelete", "RollingUpdate", NULL};

static void validate_daemonset(verrs_t *v, json_object *obj, json_object *old,
                               const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec) {
    api_v_required(v, "spec", NULL);
    return;
  }
  api_validate_selector_template(v, spec, "daemonset");
  api_validate_pod_template(v, jget_obj(spec, "template"), "spec.template",
                            always_only, "DaemonSet");
  json_object *us = jget_obj(spec, "updateStrategy");
  const char *type = jget_str0(us, "type");
  if (!api_in_set(type, ds_strategies))
    api_v_unsupported(v, "spec.updateStrategy.type", type, ds_strategies);
  else if (streq(type, "RollingUpdate"))
    api_validate_rolling_update(v, jget_obj(us, "rollingUpdate"),
                                "spec.updateStrategy.rollingUpdate", true);
  api_validate_nonneg(v, spec, "minReadySeconds", "spec.minReadySeconds");
  api_validate_nonneg(v, spec, "revisionHistoryLimit",
                      "spec.revisionHistoryLimit");
  validate_selector_unchanged(v, spec, old);
}

static const char *const pod_mgmt[] = {"OrderedReady", "Parallel", NULL};

static void validate_statefulset(verrs_t *v, json_object *obj, json_object *old,
                                 const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec) {
    api_v_required(v, "spec", NULL);
    return;
  }
  api_validate_nonneg(v, spec, "replicas", "spec.replicas");
  api_validate_selector_template(v, spec, "statefulset");
  /* Claim templates become volumes of every pod: mounts may name them. */
  json_object *tmpl = NULL;
  json_object *claims = jget_arr(spec, "volumeClaimTemplates");
  if (jget_obj(spec, "template") &&
      json_object_deep_copy(jget_obj(spec, "template"), &tmpl, NULL) == 0 &&
      tmpl) {
    json_object *pspec = jget_obj(tmpl, "spec");
    json_object *vols = jget_arr(pspec, "volumes");
    if (pspec && !vols && jarr_len(claims) > 0) {
      vols = json_object_new_array();
      if (api_jset(pspec, "volumes", vols) < 0)
        vols = NULL;
    }
    for (size_t i = 0; vols && i < jarr_len(claims); i++) {
      const char *cn =
          jget_str0(jget_obj(jarr_at(claims, i), "metadata"), "name");
      json_object *vol = json_object_new_object();
      json_object *pvc = json_object_new_object();
      if (!vol || !pvc) {
        json_object_put(vol);
        json_object_put(pvc);
        break;
      }
      api_jset(pvc, "claimName", json_object_new_string(cn));
      api_jset(vol, "name", json_object_new_string(cn));
      api_jset(vol, "persistentVolumeClaim", pvc);
      json_object_array_add(vols, vol);
    }
  }
  api_validate_pod_template(v, tmpl, "spec.template", always_only,
                            "StatefulSet");
  json_object_put(tmpl);
  char f[FP_MAX];
  for (size_t i = 0; i < jarr_len(claims); i++) {
    json_object *c = jarr_at(claims, i);
    const char *cn = jget_str0(jget_obj(c, "metadata"), "name");
    if (!*cn)
      api_v_required(
          v, api_fp(f, "spec.volumeClaimTemplates[%zu].metadata.name", i),
          NULL);
    else
      api_validate_dns_subdomain(
          v, cn, api_fp(f, "spec.volumeClaimTemplates[%zu].metadata.name", i));
    if (jarr_len(jget_arr(jget_obj(c, "spec"), "accessModes")) == 0)
      api_v_required(
          v, api_fp(f, "spec.volumeClaimTemplates[%zu].spec.accessModes", i),
          "at least 1 access mode is required");
  }
  const char *pm = jget_str0(spec, "podManagementPolicy");
  if (!api_in_set(pm, pod_mgmt))
    api_v_unsupported(v, "spec.podManagementPolicy", pm, pod_mgmt);
  json_object *us = jget_obj(spec, "updateStrategy");
  const char *type = jget_str0(us, "type");
  if (!api_in_set(type, ds_strategies))
    api_v_unsupported(v, "spec.updateStrategy.type", type, ds_strategies);
  api_validate_nonneg(v, jget_obj(us, "rollingUpdate"), "partition",
                      "spec.updateStrategy.rollingUpdate.partition");
  if (old) {
    json_object *a = NULL, *b = NULL;
    if (json_object_deep_copy(spec, &a, NULL) == 0 &&
        json_object_deep_copy(jget_obj(old, "spec"), &b, NULL) == 0 && a && b) {
      static const char *const mutable[] = {
          "replicas",
          "ordinals",
          "template",
          "updateStrategy",
          "persistentVolumeClaimRetentionPolicy",
          "minReadySeconds"};
      for (size_t i = 0; i < ARRAY_SIZE(mutable); i++) {
        json_object_object_del(a, mutable[i]);
        json_object_object_del(b, mutable[i]);
      }
      if (!json_object_equal(a, b))
        api_v_forbidden(v, "spec",
                        "updates to statefulset spec for fields other than "
                        "'replicas', 'ordinals', 'template', 'updateStrategy', "
                        "'persistentVolumeClaimRetentionPolicy' and "
                        "'minReadySeconds' are forbidden");
    }
    json_object_put(a);
    json_object_put(b);
  }
}

/* ---- strategies ------------------------------------------------------------
 */

static const api_field_path_t replica_paths[] = {
    {"status.replicas", NULL, "0"},
    {NULL, NULL, NULL},
};

static const api_scale_t scale_selector = {"spec.replicas", "status.replicas",
                                           "spec.selector",
                                           API_SCALE_SELECTOR_LABEL_SELECTOR};
static const api_scale_t scale_map = {"spec.replicas", "status.replicas",
                                      "spec.selector", API_SCALE_SELECTOR_MAP};

static const api_scale_t *scale_label_selector(const kube_kind_t *k) {
  return &scale_selector;
}
static const api_scale_t *scale_rc(const kube_kind_t *k) {
  return &scale_map;
}

static const struct kube_kind_strategy cr_strategy = {
    .type = &api_t_ControllerRevision,
    .validate = validate_cr,
    .defaults = cr_defaults,
    .cells = cr_cells,
};
static const struct kube_kind_strategy rc_strategy = {
    .type = &api_t_ReplicationController,
    .validate = validate_rc,
    .defaults = rc_defaults,
    .cells = rc_cells,
    .field_paths = replica_paths,
    .scale = scale_rc,
};
static const struct kube_kind_strategy deployment_strategy = {
    .type = &api_t_Deployment,
    .validate = validate_deployment,
    .defaults = deployment_defaults,
    .cells = deployment_cells,
    .scale = scale_label_selector,
};
static const struct kube_kind_strategy replicaset_strategy = {
    .type = &api_t_ReplicaSet,
    .validate = validate_replicaset,
    .defaults = replicaset_defaults,
    .cells = rs_cells,
    .field_paths = replica_paths,
    .scale = scale_label_selector,
};
static const struct kube_kind_strategy daemonset_strategy = {
    .type = &api_t_DaemonSet,
    .validate = validate_daemonset,
    .defaults = daemonset_defaults,
    .cells = ds_cells,
};
static const struct kube_kind_strategy statefulset_strategy = {
    .type = &api_t_StatefulSet,
    .validate = validate_statefulset,
    .defaults = statefulset_defaults,
    .cells = sts_cells,
    .scale = scale_label_selector,
};

const kube_kind_t api_kind_rc =
    KIND("", "v1", "ReplicationController", "replicationcontrollers",
         "replicationcontroller", true, NAMES("rc"), api_verbs_all,
         api_categories_all, api_sub_status_scale, rc_columns, sel_replicas,
         &rc_strategy);
const kube_kind_t api_kind_deployment =
    KIND("apps", "v1", "Deployment", "deployments", "deployment", true,
         NAMES("deploy"), api_verbs_all, api_categories_all,
         api_sub_status_scale, deployment_columns, NULL, &deployment_strategy);
const kube_kind_t api_kind_replicaset =
    KIND("apps", "v1", "ReplicaSet", "replicasets", "replicaset", true,
         NAMES("rs"), api_verbs_all, api_categories_all, api_sub_status_scale,
         rs_columns, sel_replicas, &replicaset_strategy);
const kube_kind_t api_kind_daemonset =
    KIND("apps", "v1", "DaemonSet", "daemonsets", "daemonset", true,
         NAMES("ds"), api_verbs_all, api_categories_all, api_sub_status,
         ds_columns, NULL, &daemonset_strategy);
const kube_kind_t api_kind_statefulset =
    KIND("apps", "v1", "StatefulSet", "statefulsets", "statefulset", true,
         NAMES("sts"), api_verbs_all, api_categories_all, api_sub_status_scale,
         sts_columns, NULL, &statefulset_strategy);
const kube_kind_t api_kind_controllerrevision =
    KIND("apps", "v1", "ControllerRevision", "controllerrevisions",
         "controllerrevision", true, NULL, api_verbs_all, NULL, NULL,
         cr_columns, NULL, &cr_strategy);
