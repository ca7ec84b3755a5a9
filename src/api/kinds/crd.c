/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CustomResourceDefinition (apiextensions.k8s.io/v1): the kind, its
 * defaults and validation as apiextensions-apiserver's strategy does them
 * (names, scope, versions with one storage version, structural schemas,
 * subresources, printer columns, conversion strategy None), and
 * status.storedVersions kept up to date.  Registering the kinds a
 * definition serves is the API server's business (src/apiserver/crd-*.c).
 */
#include "api/kinds/kind.h"

static const kube_kind_column_t crd_columns[] = {
    COL_NAME,
    {"CREATED AT", "date", "", DESC_AGE, 0},
    COL_END,
};

static void crd_cells(json_object *cells, json_object *obj, time_t now,
                      const kube_kind_t *k) {
  api_cell_str(cells, api_name_of(obj));
  api_cell_str(cells,
               jget_str0(jget_obj(obj, "metadata"), "creationTimestamp"));
}

static void crd_defaults(json_object *obj, const kube_kind_t *k) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec)
    return;
  json_object *conv = api_jensure_obj(spec, "conversion");
  if (conv && empty_str(conv, "strategy"))
    api_jset(conv, "strategy", jstr("None"));
  json_object *names = jget_obj(spec, "names");
  const char *kind = jget_str(names, "kind");
  if (names && kind && *kind) {
    if (empty_str(names, "singular")) {
      char buf[256];
      snprintf(buf, sizeof buf, "%s", kind);
      for (char *p = buf; *p; p++)
        *p = (char)tolower((unsigned char)*p);
      api_jset(names, "singular", jstr(buf));
    }
    if (empty_str(names, "listKind")) {
      char buf[270];
      snprintf(buf, sizeof buf, "%sList", kind);
      api_jset(names, "listKind", jstr(buf));
    }
  }
  api_jdefault(spec, "preserveUnknownFields", jbool(false));
}

/* ---- validation ------------------------------------------------------------
 */

static void dns1035(verrs_t *v, const char *s, const char *field, bool lower) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", s);
  if (lower)
    for (char *p = buf; *p; p++)
      *p = (char)tolower((unsigned char)*p);
  const char *msg = kube_validate_dns1123_label(buf);
  if (!msg && !isalpha((unsigned char)buf[0]))
    msg = "a DNS-1035 label must start with an alphabetic character";
  if (msg)
    api_v_invalid(v, field, s, msg);
}

static void validate_names(verrs_t *v, json_object *names, const char *f) {
  char p[FP_MAX];
  static const char *const single[] = {"plural", "singular", "kind",
                                       "listKind"};
  for (size_t i = 0; i < ARRAY_SIZE(single); i++) {
    const char *s = jget_str(names, single[i]);
    api_fp(p, "%s.%s", f, single[i]);
    if (!s || !*s) {
      if (i != 1) /* singular is defaulted */
        api_v_required(v, p, NULL);
      continue;
    }
    dns1035(v, s, p, i >= 2);
  }
  const char *kind = jget_str0(names, "kind");
  if (*kind && streq(kind, jget_str0(names, "listKind")))
    api_v_invalid(v, api_fp(p, "%s.listKind", f), kind,
                  "kind and listKind may not be the same");
  json_object *sn = jget_arr(names, "shortNames");
  for (size_t i = 0; i < jarr_len(sn); i++)
    dns1035(v, json_object_get_string(jarr_at(sn, i)) ?: "",
            api_fp(p, "%s.shortNames[%zu]", f, i), false);
}

static const char *const column_types[] = {"boolean", "date",   "integer",
                                           "number",  "string", NULL};

static void validate_columns(verrs_t *v, json_object *cols, const char *f) {
  char p[FP_MAX];
  for (size_t i = 0; i < jarr_len(cols); i++) {
    json_object *c = jarr_at(cols, i);
    if (!*jget_str0(c, "name"))
      api_v_required(v, api_fp(p, "%s[%zu].name", f, i), NULL);
    const char *t = jget_str0(c, "type");
    if (!*t)
      api_v_required(v, api_fp(p, "%s[%zu].type", f, i), NULL);
    else if (!api_in_set(t, column_types))
      api_v_unsupported(v, api_fp(p, "%s[%zu].type", f, i), t, column_types);
    const char *jp = jget_str0(c, "jsonPath");
    json_object *empty = json_object_new_object(), *found = NULL;
    kube_error_t e = KUBE_ERROR_INIT;
    if (!*jp)
      api_v_required(v, api_fp(p, "%s[%zu].jsonPath", f, i), NULL);
    else if (empty && api_jsonpath_first(empty, jp, &found, &e) < 0)
      api_v_invalid(v, api_fp(p, "%s[%zu].jsonPath", f, i), jp,
                    e.message ? e.message : "invalid JSONPath");
    json_object_put(empty);
    kube_error_clear(&e);
    if (jget_int(c, "priority", 0) < 0)
      api_v_invalid_int(v, api_fp(p, "%s[%zu].priority", f, i),
                        jget_int(c, "priority", 0),
                        "must be greater than or equal to 0");
  }
}

static void json_path_under(verrs_t *v, const char *path, const char *field,
                            const char *const *roots, const char *detail) {
  if (!path || !*path) {
    api_v_required(v, field, NULL);
    return;
  }
  for (size_t i = 0; roots[i]; i++) {
    size_t n = strlen(roots[i]);
    if (strncmp(path, roots[i], n) == 0 && (path[n] == '.' || !path[n]))
      return;
  }
  api_v_invalid(v, field, path, detail);
}

static void validate_version(verrs_t *v, json_object *ver, size_t i) {
  char p[FP_MAX], q[FP_MAX];
  const char *name = jget_str0(ver, "name");
  if (!*name)
    api_v_required(v, api_fp(p, "spec.versions[%zu].name", i), NULL);
  else
    dns1035(v, name, api_fp(p, "spec.versions[%zu].name", i), false);
  json_object *schema = jget_obj(jget_obj(ver, "schema"), "openAPIV3Schema");
  if (!schema) {
    api_v_required(v, api_fp(p, "spec.versions[%zu].schema.openAPIV3Schema", i),
                   "schemas are required");
  } else {
    api_arena_t *a = api_arena_new();
    if (!a) {
      v->oom = true;
      return;
    }
    api_crd_schema_build(
        a, schema, v,
        api_fp(p, "spec.versions[%zu].schema.openAPIV3Schema", i));
    api_arena_free(a);
  }
  json_object *subs = jget_obj(ver, "subresources");
  json_object *scale = jget_obj(subs, "scale");
  if (scale) {
    static const char *const spec_root[] = {".spec", NULL};
    static const char *const status_root[] = {".status", NULL};
    static const char *const sel_root[] = {".spec", ".status", NULL};
    json_path_under(
        v, jget_str(scale, "specReplicasPath"),
        api_fp(p, "spec.versions[%zu].subresources.scale.specReplicasPath", i),
        spec_root, "should be a json path under .spec");
    json_path_under(
        v, jget_str(scale, "statusReplicasPath"),
        api_fp(q, "spec.versions[%zu].subresources.scale.statusReplicasPath",
               i),
        status_root, "should be a json path under .status");
    const char *sel = jget_str(scale, "labelSelectorPath");
    if (sel)
      json_path_under(
          v, sel,
          api_fp(p, "spec.versions[%zu].subresources.scale.labelSelectorPath",
                 i),
          sel_root, "should be a json path under either .spec or .status");
  }
  validate_columns(v, jget_arr(ver, "additionalPrinterColumns"),
                   api_fp(p, "spec.versions[%zu].additionalPrinterColumns", i));
}

static const char *const scopes[] = {"Cluster", "Namespaced", NULL};
static const char *const conversions[] = {"None", NULL};

static void crd_validate(verrs_t *v, json_object *obj, json_object *old,
                         const kube_kind_t *k) {
  json_object *spec = jget_obj(obj, "spec");
  json_object *names = jget_obj(spec, "names");
  const char *group = jget_str0(spec, "group");
  const char *plural = jget_str0(names, "plural");
  char p[FP_MAX];
  if (!*group) {
    api_v_required(v, "spec.group", NULL);
  } else {
    api_validate_dns_subdomain(v, group, "spec.group");
    if (!strchr(group, '.'))
      api_v_invalid(v, "spec.group", group,
                    "should be a domain with at least one dot");
  }
  const char *name = jget_str0(jget_obj(obj, "metadata"), "name");
  char want[512];
  snprintf(want, sizeof want, "%s.%s", plural, group);
  if (*plural && *group && !streq(name, want))
    api_v_invalid(v, "metadata.name", name,
                  "must be spec.names.plural+\".\"+spec.group");
  if (!names)
    api_v_required(v, "spec.names", NULL);
  else
    validate_names(v, names, "spec.names");
  const char *scope = jget_str0(spec, "scope");
  if (!*scope)
    api_v_required(v, "spec.scope", NULL);
  else if (!api_in_set(scope, scopes))
    api_v_unsupported(v, "spec.scope", scope, scopes);
  json_object *versions = jget_arr(spec, "versions");
  size_t nv = jarr_len(versions), storage = 0, served = 0;
  if (nv == 0)
    api_v_required(v, "spec.versions",
                   "must have exactly one version "
                   "marked as storage version");
  for (size_t i = 0; i < nv; i++) {
    json_object *ver = jarr_at(versions, i);
    storage += jget_bool(ver, "storage", false);
    served += jget_bool(ver, "served", false);
    validate_version(v, ver, i);
    for (size_t j = 0; j < i; j++)
      if (streq(jget_str0(ver, "name"),
                jget_str0(jarr_at(versions, j), "name")))
        api_v_duplicate(v, api_fp(p, "spec.versions[%zu].name", i),
                        jget_str0(ver, "name"));
  }
  if (nv && storage != 1)
    api_v_invalid_int(v, "spec.versions", (int64_t)storage,
                      "must have exactly one version marked as storage "
                      "version");
  if (nv && served == 0)
    api_v_invalid(v, "spec.versions", "",
                  "must have at least one version marked as served");
  const char *conv = jget_str0(jget_obj(spec, "conversion"), "strategy");
  if (*conv && !api_in_set(conv, conversions))
    api_v_unsupported(v, "spec.conversion.strategy", conv, conversions);
  if (jget_bool(spec, "preserveUnknownFields", false))
    api_v_invalid_raw(v, "spec.preserveUnknownFields", "true",
                      "cannot set to true, set x-kubernetes-preserve-unknown-"
                      "fields to true in spec.versions[*].schema instead");
  if (old) {
    json_object *ospec = jget_obj(old, "spec");
    if (!streq(scope, jget_str0(ospec, "scope")) && *scope)
      api_v_invalid(v, "spec.scope", scope, "field is immutable");
  }
}

/* ---- status ----------------------------------------------------------------
 */

/* status.storedVersions lists every version objects were stored in. */
static void add_stored_version(json_object *obj) {
  json_object *versions = jget_arr(jget_obj(obj, "spec"), "versions");
  const char *storage = NULL;
  for (size_t i = 0; i < jarr_len(versions); i++)
    if (jget_bool(jarr_at(versions, i), "storage", false))
      storage = jget_str(jarr_at(versions, i), "name");
  json_object *st = api_jensure_obj(obj, "status");
  if (!st || !storage)
    return;
  json_object *sv = jget_arr(st, "storedVersions");
  for (size_t i = 0; i < jarr_len(sv); i++)
    if (streq(json_object_get_string(jarr_at(sv, i)) ?: "", storage))
      return;
  if (!sv) {
    sv = json_object_new_array();
    if (!sv || api_jset(st, "storedVersions", sv) < 0)
      return;
  }
  json_object_array_add(sv, jstr(storage));
}

/* A new definition's status: no names accepted yet (the API server
 * accepts them once it registered the kinds), its storage version. */
static void crd_prepare_create(json_object *obj, const kube_kind_t *k) {
  json_object *st = json_object_new_object();
  json_object *names = json_object_new_object();
  if (!st || !names || api_jset(obj, "status", st) < 0) {
    json_object_put(names);
    return;
  }
  api_jset(names, "plural", jstr(""));
  api_jset(names, "kind", jstr(""));
  api_jset(st, "acceptedNames", names);
  add_stored_version(obj);
}

static void crd_prepare_update(json_object *obj, json_object *old,
                               enum api_update_mode mode,
                               const kube_kind_t *k) {
  if (mode != API_UPDATE_STATUS)
    add_stored_version(obj);
}

static const struct kube_kind_strategy crd_strategy = {
    .type = &api_t_CustomResourceDefinition,
    .validate = crd_validate,
    .defaults = crd_defaults,
    .cells = crd_cells,
    .prepare_create = crd_prepare_create,
    .prepare_update = crd_prepare_update,
};

const kube_kind_t api_kind_crd =
    KIND("apiextensions.k8s.io", "v1", "CustomResourceDefinition",
         "customresourcedefinitions", "customresourcedefinition", false,
         NAMES("crd", "crds"), api_verbs_all, NAMES("api-extensions"),
         api_sub_status, crd_columns, NULL, &crd_strategy);
