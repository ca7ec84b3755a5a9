/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Types of who-may-do-what: rbac.authorization.k8s.io/v1 (Role,
 * ClusterRole, their bindings), authentication.k8s.io/v1 TokenRequest,
 * authorization.k8s.io/v1 access and rules reviews, certificates.k8s.io/v1
 * CertificateSigningRequest.  Transcribed from their generated.proto:
 * kubectl 1.32 sends these as protobuf (create role, create token, auth
 * can-i).
 */
#include "api/types/decl.h"
#include "api/types/tdefs.h"

/* clang-format off */
#define RBAC(name, fl, ...) TYPE_(name, PKG_RBAC, fl, __VA_ARGS__)
#define AUTHN(name, fl, ...) TYPE_(name, PKG_AUTHN, fl, __VA_ARGS__)
#define AUTHZ(name, fl, ...) TYPE_(name, PKG_AUTHZ, fl, __VA_ARGS__)
#define CERTS(name, fl, ...) TYPE_(name, PKG_CERTS, fl, __VA_ARGS__)

/* ---- rbac.authorization.k8s.io/v1 --------------------------------------- */

RBAC(PolicyRule, 0, RSTR(1, "verbs"), RSTR(2, "apiGroups"),
     RSTR(3, "resources"), RSTR(4, "resourceNames"),
     RSTR(5, "nonResourceURLs"));
RBAC(AggregationRule, 0, RMSG(1, "clusterRoleSelectors", LabelSelector));
RBAC(Role, 0, TYPEMETA, MSG(1, "metadata", ObjectMeta),
     RMSG(2, "rules", PolicyRule));
RBAC(ClusterRole, 0, TYPEMETA, MSG(1, "metadata", ObjectMeta),
     RMSG(2, "rules", PolicyRule),
     MSG(3, "aggregationRule", AggregationRule));
RBAC(Subject, 0, STR(1, "kind"), STR(2, "apiGroup"), STR(3, "name"),
     STR(4, "namespace"));
RBAC(RoleRef, 0, STR(1, "apiGroup"), STR(2, "kind"), STR(3, "name"));
RBAC(RoleBinding, 0, TYPEMETA, MSG(1, "metadata", ObjectMeta),
     RMSG(2, "subjects", Subject), MSG(3, "roleRef", RoleRef));
TYPEN_(ClusterRoleBinding, "ClusterRoleBinding", PKG_RBAC, 0, TYPEMETA,
       MSG(1, "metadata", ObjectMeta), RMSG(2, "subjects", Subject),
       MSG(3, "roleRef", RoleRef));

/* ---- authentication.k8s.io/v1 ------------------------------------------- */

AUTHN(BoundObjectReference, 0, STR(1, "kind"), STR(2, "apiVersion"),
      STR(3, "name"), STR(4, "uid"));
AUTHN(TokenRequestSpec, 0, RSTR(1, "audiences"),
      I64K(4, "expirationSeconds"),
      MSG(3, "boundObjectRef", BoundObjectReference));
AUTHN(TokenRequestStatus, 0, STR(1, "token"),
      TIME(2, "expirationTimestamp"));
AUTHN(TokenRequest, 0, TYPEMETA, MSG(1, "metadata", ObjectMeta),
      MSG(2, "spec", TokenRequestSpec), MSG(3, "status", TokenRequestStatus));

AUTHN(UserInfo, API_TYPE_OPEN, STR(1, "username"), STR(2, "uid"),
      RSTR(3, "groups"));
AUTHN(TokenReviewSpec, 0, STR(1, "token"), RSTR(2, "audiences"));
AUTHN(TokenReviewStatus, 0, BOOL(1, "authenticated"),
      MSG(2, "user", UserInfo), RSTR(4, "audiences"), STR(3, "error"));
AUTHN(TokenReview, 0, TYPEMETA, MSG(1, "metadata", ObjectMeta),
      MSG(2, "spec", TokenReviewSpec), MSG(3, "status", TokenReviewStatus));
AUTHN(SelfSubjectReviewStatus, 0, MSG(1, "userInfo", UserInfo));
AUTHN(SelfSubjectReview, 0, TYPEMETA, MSG(1, "metadata", ObjectMeta),
      MSG(2, "status", SelfSubjectReviewStatus));

/* ---- authorization.k8s.io/v1 -------------------------------------------- */

AUTHZ(ResourceAttributes, API_TYPE_OPEN, STR(1, "namespace"), STR(2, "verb"),
      STR(3, "group"), STR(4, "version"), STR(5, "resource"),
      STR(6, "subresource"), STR(7, "name"));
AUTHZ(NonResourceAttributes, 0, STR(1, "path"), STR(2, "verb"));
AUTHZ(SubjectAccessReviewStatus, 0, BOOL(1, "allowed"), BOOL(4, "denied"),
      STR(2, "reason"), STR(3, "evaluationError"));
AUTHZ(SelfSubjectAccessReviewSpec, 0,
      MSG(1, "resourceAttributes", ResourceAttributes),
      MSG(2, "nonResourceAttributes", NonResourceAttributes));
AUTHZ(SelfSubjectAccessReview, 0, TYPEMETA, MSG(1, "metadata", ObjectMeta),
      MSG(2, "spec", SelfSubjectAccessReviewSpec),
      MSG(3, "status", SubjectAccessReviewStatus));
AUTHZ(SubjectAccessReviewSpec, API_TYPE_OPEN,
      MSG(1, "resourceAttributes", ResourceAttributes),
      MSG(2, "nonResourceAttributes", NonResourceAttributes),
      STR(3, "user"), RSTR(4, "groups"), STR(6, "uid"));
AUTHZ(SubjectAccessReview, 0, TYPEMETA, MSG(1, "metadata", ObjectMeta),
      MSG(2, "spec", SubjectAccessReviewSpec),
      MSG(3, "status", SubjectAccessReviewStatus));
AUTHZ(SelfSubjectRulesReviewSpec, 0, STR(1, "namespace"));
AUTHZ(ResourceRule, 0, RSTR(1, "verbs"), RSTR(2, "apiGroups"),
      RSTR(3, "resources"), RSTR(4, "resourceNames"));
AUTHZ(NonResourceRule, 0, RSTR(1, "verbs"), RSTR(2, "nonResourceURLs"));
AUTHZ(SubjectRulesReviewStatus, 0, RMSG(1, "resourceRules", ResourceRule),
      RMSG(2, "nonResourceRules", NonResourceRule), BOOL(3, "incomplete"),
      STR(4, "evaluationError"));
AUTHZ(SelfSubjectRulesReview, 0, TYPEMETA, MSG(1, "metadata", ObjectMeta),
      MSG(2, "spec", SelfSubjectRulesReviewSpec),
      MSG(3, "status", SubjectRulesReviewStatus));

/* ---- certificates.k8s.io/v1 --------------------------------------------- */

CERTS(CertificateSigningRequestSpec, API_TYPE_OPEN, BYTES(1, "request"),
      STR(7, "signerName"), I32K(8, "expirationSeconds"),
      RSTR(5, "usages"), STR(2, "username"), STR(3, "uid"),
      RSTR(4, "groups"));
CERTS(CertificateSigningRequestCondition, 0, STR(1, "type"),
      STR(6, "status"), STR(2, "reason"), STR(3, "message"),
      TIME(4, "lastUpdateTime"), TIME(5, "lastTransitionTime"));
CERTS(CertificateSigningRequestStatus, 0,
      RMSGM(1, "conditions", CertificateSigningRequestCondition, "type"),
      BYTES(2, "certificate"));
CERTS(CertificateSigningRequest, 0, TYPEMETA, MSG(1, "metadata", ObjectMeta),
      MSG(2, "spec", CertificateSigningRequestSpec),
      MSG(3, "status", CertificateSigningRequestStatus));
/* clang-format on */
