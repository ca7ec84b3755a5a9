/* SPDX-License-Identifier: Apache-2.0 */
/*
 * apiregistration.k8s.io/v1 APIService: the group-versions another server
 * serves behind this one (custom.metrics.k8s.io, external.metrics.k8s.io,
 * ...).  Columns of kube-aggregator's printer (SERVICE, AVAILABLE), the
 * port's default (443) and ValidateAPIService: the name is
 * <version>.<group>, priorities are positive (group at most 20000), a
 * service has a name and namespace and a port in 1..65535.
 */
#include "api/kinds/kind.h"

static const kube_kind_column_t apiservice_columns[] = {
    COL_NAME,
    COL("SERVICE", "string", "The reference to the service that hosts this API "
                             "endpoint."),
    COL("AVAILABLE", "string", "Whether this service is available."),
    COL_AGE,
    COL_END};

static void apiservice_cells(json_object *cells, json_object *obj, time_t now,
                             const kube_kind_t *kind) {
  json_object *svc = jget_obj(jget_obj(obj, "spec"), "service");
  api_cell_str(cells, api_name_of(obj));
  if (svc) {
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    kube_strbuf_printf(&sb, "%s/%s", jget_str0(svc, "namespace"),
                       jget_str0(svc, "name"));
    api_cell_sb(cells, &sb);
  } else {
    api_cell_str(cells, "Local");
  }
  const char *avail = "Unknown";
  json_object *conds = jget_arr(jget_obj(obj, "status"), "conditions");
  for (size_t i = 0; i < jarr_len(conds); i++) {
    json_object *c = jarr_at(conds, i);
    if (streq(jget_str0(c, "type"), "Available")) {
      avail = jget_str0(c, "status");
      if (!streq(avail, "True") && jget_str(c, "reason")) {
        kube_strbuf_t sb = KUBE_STRBUF_INIT;
        kube_strbuf_printf(&sb, "%s (%s)", avail, jget_str(c, "reason"));
        api_cell_sb(cells, &sb);
        api_cell_age(cells, obj, now);
        return;
      }
    }
  }
  api_cell_str(cells, avail);
  api_cell_age(cells, obj, now);
}

static void apiservice_defaults(json_object *obj, const kube_kind_t *kind) {
  json_object *svc = jget_obj(jget_obj(obj, "spec"), "service");
  if (svc)
    api_jdefault(svc, "port", jint(443));
}

static void validate_apiservice(verrs_t *v, json_object *obj, json_object *old,
                                const kube_kind_t *k) {
  json_object *spec = jget_obj(obj, "spec");
  const char *group = jget_str0(spec, "group");
  const char *version = jget_str0(spec, "version");
  const char *name = api_name_of(obj);
  char want[512];
  snprintf(want, sizeof want, "%s.%s", version, group);
  if (!*version)
    api_v_required(v, "spec.version", NULL);
  if (*version && !streq(name, want)) {
    char detail[600];
    snprintf(detail, sizeof detail, "must be `spec.version+\".\"+spec.group`: "
             "\"%s\"", want);
    api_v_invalid(v, "metadata.name", name, detail);
  }
  int64_t gp = jget_int(spec, "groupPriorityMinimum", 0);
  if (gp <= 0)
    api_v_invalid_int(v, "spec.groupPriorityMinimum", gp,
                      "must be positive and less than 20000");
  else if (gp > 20000)
    api_v_invalid_int(v, "spec.groupPriorityMinimum", gp,
                      "must be positive and less than 20000");
  int64_t vp = jget_int(spec, "versionPriority", 0);
  if (vp <= 0)
    api_v_invalid_int(v, "spec.versionPriority", vp,
                      "must be positive and less than 1000");
  json_object *svc = jget_obj(spec, "service");
  if (!svc)
    return;
  if (!*jget_str0(svc, "namespace"))
    api_v_required(v, "spec.service.namespace", NULL);
  if (!*jget_str0(svc, "name"))
    api_v_required(v, "spec.service.name", NULL);
  int64_t port = jget_int(svc, "port", 443);
  if (port < 1 || port > 65535)
    api_v_invalid_int(v, "spec.service.port", port,
                      "must be a valid port number");
  if (jget_bool(spec, "insecureSkipTLSVerify", false) &&
      *jget_str0(spec, "caBundle"))
    api_v_invalid(v, "spec.insecureSkipTLSVerify", "true",
                  "may not be true if caBundle is present");
}

static const struct kube_kind_strategy apiservice_strategy = {
    .validate = validate_apiservice,
    .defaults = apiservice_defaults,
    .cells = apiservice_cells,
};

const kube_kind_t api_kind_apiservice =
    KIND("apiregistration.k8s.io", "v1", "APIService", "apiservices",
         "apiservice", false, NULL, api_verbs_all, NULL, api_sub_status,
         apiservice_columns, NULL, &apiservice_strategy);
