/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who may do what: rbac.authorization.k8s.io/v1 Role, ClusterRole,
 * RoleBinding, ClusterRoleBinding; certificates.k8s.io/v1
 * CertificateSigningRequest; the create-only reviews of
 * authorization.k8s.io/v1 (answered by the API server, never stored); the
 * body type of serviceaccounts/token (authentication.k8s.io/v1
 * TokenRequest).  Validation follows kube-apiserver's messages for the
 * fields clients get wrong (roleRef, subjects, rules).
 */
#include "api/kinds/kind.h"

static const kube_kind_column_t role_columns[] = {
    COL_NAME,
    COL("CREATED AT", "string",
        "CreationTimestamp is a timestamp representing the server time when "
        "this object was created."),
    COL_END};

static const kube_kind_column_t review_columns[] = {COL_NAME, COL_AGE, COL_END};

static const kube_kind_column_t binding_columns[] = {
    COL_NAME,
    COL("ROLE", "string", "RoleRef can only reference the current namespace."),
    COL_AGE,
    COLW("USERS", "string", "Users in the binding"),
    COLW("GROUPS", "string", "Groups in the binding"),
    COLW("SERVICEACCOUNTS", "string", "ServiceAccounts in the binding"),
    COL_END};

static const kube_kind_column_t csr_columns[] = {
    COL_NAME,
    COL_AGE,
    COL("SIGNERNAME", "string", "Signer name"),
    COL("REQUESTOR", "string", "Request user name"),
    COL("REQUESTEDDURATION", "string", "Requested duration"),
    COL("CONDITION", "string", "Status of the request"),
    COL_END};

static void role_cells(json_object *cells, json_object *obj, time_t now,
                       const kube_kind_t *k) {
  api_cell_str(cells, api_name_of(obj));
  const char *ts = kube_json_get_string(obj, "metadata.creationTimestamp");
  api_cell_str(cells, ts ? ts : "<unknown>");
}

static void subjects_cell(json_object *cells, json_object *subjects,
                          const char *kind) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  size_t n = jarr_len(subjects);
  for (size_t i = 0; i < n; i++) {
    json_object *s = json_object_array_get_idx(subjects, i);
    const char *sk = jget_str0(s, "kind");
    if (!streq(sk, kind))
      continue;
    if (sb.len)
      kube_strbuf_append(&sb, ", ");
    if (streq(kind, "ServiceAccount"))
      kube_strbuf_printf(&sb, "%s/%s", jget_str0(s, "namespace"),
                         jget_str0(s, "name"));
    else
      kube_strbuf_printf(&sb, "%s", jget_str0(s, "name"));
  }
  api_cell_sb(cells, &sb);
}

static void binding_cells(json_object *cells, json_object *obj, time_t now,
                          const kube_kind_t *k) {
  api_cell_str(cells, api_name_of(obj));
  char role[600];
  snprintf(role, sizeof role, "%s/%s",
           kube_json_get_string(obj, "roleRef.kind") ?: "",
           kube_json_get_string(obj, "roleRef.name") ?: "");
  api_cell_str(cells, role);
  api_cell_age(cells, obj, now);
  json_object *subjects = jget_arr(obj, "subjects");
  subjects_cell(cells, subjects, "User");
  subjects_cell(cells, subjects, "Group");
  subjects_cell(cells, subjects, "ServiceAccount");
}

static void csr_cells(json_object *cells, json_object *obj, time_t now,
                      const kube_kind_t *k) {
  api_cell_str(cells, api_name_of(obj));
  api_cell_age(cells, obj, now);
  api_cell_str(cells, kube_json_get_string(obj, "spec.signerName") ?: "");
  api_cell_str(cells, kube_json_get_string(obj, "spec.username") ?: "");
  json_object *es = kube_json_get(obj, "spec.expirationSeconds");
  char dur[32] = "<none>";
  if (es)
    snprintf(dur, sizeof dur, "%" PRId64 "s", json_object_get_int64(es));
  api_cell_str(cells, dur);
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  json_object *conds = kube_json_get(obj, "status.conditions");
  for (size_t i = 0; i < jarr_len(conds); i++) {
    json_object *c = json_object_array_get_idx(conds, i);
    if (!streq(jget_str0(c, "status"), "True") && jget(c, "status") != NULL)
      continue;
    kube_strbuf_printf(&sb, "%s%s", sb.len ? "," : "", jget_str0(c, "type"));
  }
  if (kube_json_get(obj, "status.certificate"))
    kube_strbuf_printf(&sb, "%sIssued", sb.len ? "," : "");
  if (!sb.len)
    kube_strbuf_printf(&sb, "Pending");
  api_cell_sb(cells, &sb);
}

static void validate_rules(verrs_t *v, json_object *obj, bool cluster) {
  json_object *rules = jget(obj, "rules");
  char f[FP_MAX];
  for (size_t i = 0; i < jarr_len(rules); i++) {
    json_object *r = json_object_array_get_idx(rules, i);
    if (jarr_len(jget_arr(r, "verbs")) == 0)
      api_v_required(v, api_fp(f, "rules[%zu].verbs", i),
                     "verbs must contain at least one value");
    bool urls = jarr_len(jget_arr(r, "nonResourceURLs")) > 0;
    if (urls && !cluster)
      api_v_invalid(v, api_fp(f, "rules[%zu].nonResourceURLs", i), "",
                    "namespaced rules cannot apply to non-resource URLs");
    if (urls && (jarr_len(jget_arr(r, "apiGroups")) ||
                 jarr_len(jget_arr(r, "resources"))))
      api_v_invalid(v, api_fp(f, "rules[%zu].nonResourceURLs", i), "",
                    "rules cannot apply to both regular resources and "
                    "non-resource URLs");
    if (!urls && jarr_len(jget_arr(r, "resources")) == 0)
      api_v_required(v, api_fp(f, "rules[%zu].resources", i),
                     "resource rules must supply at least one resource");
    if (!urls && !jget_arr(r, "apiGroups"))
      api_v_required(v, api_fp(f, "rules[%zu].apiGroups", i),
                     "resource rules must supply at least one api group");
  }
}

static void validate_role(verrs_t *v, json_object *obj, json_object *old,
                          const kube_kind_t *k) {
  validate_rules(v, obj, false);
}

static void validate_cluster_role(verrs_t *v, json_object *obj,
                                  json_object *old, const kube_kind_t *k) {
  validate_rules(v, obj, true);
}

static void validate_binding(verrs_t *v, json_object *obj, json_object *old,
                             const kube_kind_t *k) {
  bool cluster = streq(k->kind, "ClusterRoleBinding");
  const char *rk = kube_json_get_string(obj, "roleRef.kind");
  const char *rn = kube_json_get_string(obj, "roleRef.name");
  const char *rg = kube_json_get_string(obj, "roleRef.apiGroup");
  if (!rk || !*rk)
    api_v_required(v, "roleRef.kind", NULL);
  else if (!streq(rk, "ClusterRole") && (cluster || !streq(rk, "Role")))
    api_v_unsupported(v, "roleRef.kind", rk,
                      cluster ? NAMES("ClusterRole")
                              : NAMES("ClusterRole", "Role"));
  if (!rn || !*rn)
    api_v_required(v, "roleRef.name", NULL);
  if (rg && !streq(rg, "rbac.authorization.k8s.io"))
    api_v_unsupported(v, "roleRef.apiGroup", rg,
                      NAMES("rbac.authorization.k8s.io"));
  if (old && !json_object_equal(jget(obj, "roleRef"), jget(old, "roleRef")))
    api_v_invalid_json(v, "roleRef", jget(obj, "roleRef"),
                       "cannot change roleRef");
  json_object *subjects = jget(obj, "subjects");
  char f[FP_MAX];
  for (size_t i = 0; i < jarr_len(subjects); i++) {
    json_object *s = json_object_array_get_idx(subjects, i);
    const char *sk = jget_str0(s, "kind");
    if (!*jget_str0(s, "name"))
      api_v_required(v, api_fp(f, "subjects[%zu].name", i), NULL);
    if (!streq(sk, "User") && !streq(sk, "Group") &&
        !streq(sk, "ServiceAccount"))
      api_v_unsupported(v, api_fp(f, "subjects[%zu].kind", i), sk,
                        NAMES("ServiceAccount", "User", "Group"));
    else if (streq(sk, "ServiceAccount") && cluster &&
             !*jget_str0(s, "namespace"))
      api_v_required(v, api_fp(f, "subjects[%zu].namespace", i), "");
  }
}

/* roleRef.apiGroup and a ServiceAccount subject's namespace default as
 * kube-apiserver defaults them. */
static void binding_defaults(json_object *obj, const kube_kind_t *k) {
  json_object *ref = jget_obj(obj, "roleRef");
  if (ref && empty_str(ref, "apiGroup"))
    api_jset(ref, "apiGroup", jstr("rbac.authorization.k8s.io"));
  json_object *subjects = jget_arr(obj, "subjects");
  for (size_t i = 0; i < jarr_len(subjects); i++) {
    json_object *s = json_object_array_get_idx(subjects, i);
    const char *sk = jget_str0(s, "kind");
    if ((streq(sk, "User") || streq(sk, "Group")) && empty_str(s, "apiGroup"))
      api_jset(s, "apiGroup", jstr("rbac.authorization.k8s.io"));
    if (streq(sk, "ServiceAccount") && empty_str(s, "namespace") &&
        streq(k->kind, "RoleBinding"))
      api_jset(s, "namespace",
               jstr(kube_json_get_string(obj, "metadata.namespace") ?: ""));
  }
}

static void validate_csr(verrs_t *v, json_object *obj, json_object *old,
                         const kube_kind_t *k) {
  if (!*(kube_json_get_string(obj, "spec.request") ?: ""))
    api_v_required(v, "spec.request", NULL);
  if (!*(kube_json_get_string(obj, "spec.signerName") ?: ""))
    api_v_required(v, "spec.signerName", NULL);
  json_object *es = kube_json_get(obj, "spec.expirationSeconds");
  if (es && json_object_get_int64(es) < 600)
    api_v_invalid_int(v, "spec.expirationSeconds", json_object_get_int64(es),
                      "may not specify a duration less than 600 seconds (10 "
                      "minutes)");
  if (old && !json_object_equal(jget(obj, "spec"), jget(old, "spec")))
    api_v_invalid(v, "spec", "", "field is immutable");
}

/* The requester's identity is the server's to set (csr.c), and a new
 * request has no status. */
static void csr_prepare_create(json_object *obj, const kube_kind_t *k) {
  json_object_object_del(obj, "status");
}

static const struct kube_kind_strategy role_strategy = {
    .type = &api_t_Role, .validate = validate_role, .cells = role_cells};
static const struct kube_kind_strategy cluster_role_strategy = {
    .type = &api_t_ClusterRole,
    .validate = validate_cluster_role,
    .cells = role_cells};
static const struct kube_kind_strategy binding_strategy = {
    .type = &api_t_RoleBinding,
    .validate = validate_binding,
    .defaults = binding_defaults,
    .cells = binding_cells};
static const struct kube_kind_strategy cluster_binding_strategy = {
    .type = &api_t_ClusterRoleBinding,
    .validate = validate_binding,
    .defaults = binding_defaults,
    .cells = binding_cells};
static const struct kube_kind_strategy csr_strategy = {
    .type = &api_t_CertificateSigningRequest,
    .validate = validate_csr,
    .cells = csr_cells,
    .prepare_create = csr_prepare_create};
static const struct kube_kind_strategy ssar_strategy = {
    .type = &api_t_SelfSubjectAccessReview};
static const struct kube_kind_strategy sar_strategy = {
    .type = &api_t_SubjectAccessReview};
static const struct kube_kind_strategy ssrr_strategy = {
    .type = &api_t_SelfSubjectRulesReview};

static const struct kube_kind_strategy ssr_strategy = {
    .type = &api_t_SelfSubjectReview};

static const struct kube_kind_strategy tr_strategy = {.type =
                                                          &api_t_TokenReview};

static const char *const verbs_create[] = {"create", NULL};
static const char *const sub_csr[] = {"approval", "status", NULL};

#define RBAC_G "rbac.authorization.k8s.io"
#define AUTHZ_G "authorization.k8s.io"

const kube_kind_t api_kind_role =
    KIND(RBAC_G, "v1", "Role", "roles", "role", true, NULL, api_verbs_all, NULL,
         NULL, role_columns, NULL, &role_strategy);
const kube_kind_t api_kind_clusterrole = KIND(
    RBAC_G, "v1", "ClusterRole", "clusterroles", "clusterrole", false, NULL,
    api_verbs_all, NULL, NULL, role_columns, NULL, &cluster_role_strategy);
const kube_kind_t api_kind_rolebinding =
    KIND(RBAC_G, "v1", "RoleBinding", "rolebindings", "rolebinding", true, NULL,
         api_verbs_all, NULL, NULL, binding_columns, NULL, &binding_strategy);
const kube_kind_t api_kind_clusterrolebinding =
    KIND(RBAC_G, "v1", "ClusterRoleBinding", "clusterrolebindings",
         "clusterrolebinding", false, NULL, api_verbs_all, NULL, NULL,
         binding_columns, NULL, &cluster_binding_strategy);
const kube_kind_t api_kind_csr =
    KIND("certificates.k8s.io", "v1", "CertificateSigningRequest",
         "certificatesigningrequests", "certificatesigningrequest", false,
         NAMES("csr"), api_verbs_all, NULL, sub_csr, csr_columns, NULL,
         &csr_strategy);
const kube_kind_t api_kind_ssar =
    KIND(AUTHZ_G, "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews",
         "", false, NULL, verbs_create, NULL, NULL, review_columns, NULL,
         &ssar_strategy);
const kube_kind_t api_kind_sar = KIND(
    AUTHZ_G, "v1", "SubjectAccessReview", "subjectaccessreviews", "", false,
    NULL, verbs_create, NULL, NULL, review_columns, NULL, &sar_strategy);
const kube_kind_t api_kind_lsar = KIND(
    AUTHZ_G, "v1", "LocalSubjectAccessReview", "localsubjectaccessreviews", "",
    true, NULL, verbs_create, NULL, NULL, review_columns, NULL, &sar_strategy);
const kube_kind_t api_kind_ssrr =
    KIND(AUTHZ_G, "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", "",
         false, NULL, verbs_create, NULL, NULL, review_columns, NULL,
         &ssrr_strategy);

const kube_kind_t api_kind_ssr =
    KIND("authentication.k8s.io", "v1", "SelfSubjectReview",
         "selfsubjectreviews", "", false, NULL, verbs_create, NULL, NULL,
         review_columns, NULL, &ssr_strategy);

const kube_kind_t api_kind_tokenreview = KIND(
    "authentication.k8s.io", "v1", "TokenReview", "tokenreviews", "", false,
    NULL, verbs_create, NULL, NULL, review_columns, NULL, &tr_strategy);

const api_type_t *api_body_type(const char *api_version, const char *kind) {
  if (streq(api_version, "authentication.k8s.io/v1") &&
      streq(kind, "TokenRequest"))
    return &api_t_TokenRequest;
  if ((streq(api_version, "policy/v1") || streq(api_version, "policy/v1beta1")) &&
      streq(kind, "Eviction"))
    return &api_t_Eviction;
  return NULL;
}
