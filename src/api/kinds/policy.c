/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy/v1 PodDisruptionBudget: columns and cells of kube-apiserver's
 * printer (MIN AVAILABLE, MAX UNAVAILABLE, ALLOWED DISRUPTIONS), the status
 * a new budget starts with (PrepareForCreate: zero counts), and
 * ValidatePodDisruptionBudget: minAvailable and maxUnavailable exclusive,
 * each a non-negative integer or a percent up to 100%, the selector, the
 * unhealthy pod eviction policy, non-negative status counts.  The spec may
 * change (policy/v1 made it mutable); the disruption controller follows.
 */
#include "api/kinds/kind.h"

static const kube_kind_column_t pdb_columns[] = {
    COL_NAME,
    COL("MIN AVAILABLE", "string",
        "The minimum number of pods that must be available."),
    COL("MAX UNAVAILABLE", "string",
        "The maximum number of pods that may be unavailable."),
    COL("ALLOWED DISRUPTIONS", "integer",
        "Calculated number of pods that may be disrupted at this time."),
    COL_AGE,
    COL_END};

/* IntOrString.String(): the number, or the string as it is; "N/A" when
 * unset. */
static void intstr_cell(json_object *cells, json_object *v) {
  char buf[32];
  if (jis_int(v)) {
    snprintf(buf, sizeof buf, "%" PRId64, json_object_get_int64(v));
    api_cell_str(cells, buf);
  } else if (json_object_is_type(v, json_type_string)) {
    api_cell_str(cells, json_object_get_string(v));
  } else {
    api_cell_str(cells, "N/A");
  }
}

static void pdb_cells(json_object *cells, json_object *obj, time_t now,
                      const kube_kind_t *kind) {
  json_object *spec = jget_obj(obj, "spec");
  api_cell_str(cells, api_name_of(obj));
  intstr_cell(cells, jget(spec, "minAvailable"));
  intstr_cell(cells, jget(spec, "maxUnavailable"));
  api_cell_int(cells, jget_int(jget_obj(obj, "status"), "disruptionsAllowed",
                               0));
  api_cell_age(cells, obj, now);
}

/* PrepareForCreate: the status is the controller's to fill; the four
 * counts have no omitempty, so a new budget shows them as 0. */
static void pdb_prepare_create(json_object *obj, const kube_kind_t *k) {
  json_object *st = json_object_new_object();
  if (!st)
    return;
  api_jset(st, "disruptionsAllowed", jint(0));
  api_jset(st, "currentHealthy", jint(0));
  api_jset(st, "desiredHealthy", jint(0));
  api_jset(st, "expectedPods", jint(0));
  api_jset(obj, "status", st);
}

static void validate_status(verrs_t *v, json_object *st) {
  static const char *const counts[] = {"disruptionsAllowed", "currentHealthy",
                                       "desiredHealthy", "expectedPods", NULL};
  char f[FP_MAX];
  for (size_t i = 0; counts[i]; i++)
    api_validate_nonneg(v, st, counts[i],
                        api_fp(f, "status.%s", counts[i]));
}

static void validate_pdb(verrs_t *v, json_object *obj, json_object *old,
                         const kube_kind_t *k) {
  static const char *const policies[] = {"AlwaysAllow", "IfHealthyBudget",
                                         NULL};
  json_object *spec = jget_obj(obj, "spec");
  json_object *min = jget(spec, "minAvailable");
  json_object *max = jget(spec, "maxUnavailable");
  int64_t value;
  bool pct;
  if (min && max)
    api_v_invalid_raw(v, "spec", "policy.PodDisruptionBudgetSpec{...}",
                      "minAvailable and maxUnavailable cannot be both set");
  api_int_or_percent(v, min, "spec.minAvailable", &value, &pct);
  api_int_or_percent(v, max, "spec.maxUnavailable", &value, &pct);
  api_validate_label_selector(v, jget_obj(spec, "selector"), "spec.selector");
  const char *upe = jget_str(spec, "unhealthyPodEvictionPolicy");
  if (upe && !api_in_set(upe, policies))
    api_v_unsupported(v, "spec.unhealthyPodEvictionPolicy", upe, policies);
  validate_status(v, jget_obj(obj, "status"));
}

static const struct kube_kind_strategy pdb_strategy = {
    .type = &api_t_PodDisruptionBudget,
    .validate = validate_pdb,
    .cells = pdb_cells,
    .prepare_create = pdb_prepare_create,
};

const kube_kind_t api_kind_pdb =
    KIND("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets",
         "poddisruptionbudget", true, NAMES("pdb"), api_verbs_all, NULL,
         api_sub_status, pdb_columns, NULL, &pdb_strategy);
