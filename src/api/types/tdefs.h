/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Macros of the type table files (src/api/types/ *.c): one line per field.
 * Field macros take the protobuf number first (0: JSON only), then the
 * JSON name, then the nested type's name.  Suffixes: K keeps the zero
 * value in protobuf (Go pointer fields), M merges a list by key (the
 * patchMergeKey first, then further apply keys), SET merges a list of
 * scalars as a set, A makes a map or struct atomic for apply, RK is
 * patchStrategy retainKeys.
 */
#ifndef KUBE_API_TYPES_TDEFS_H
#define KUBE_API_TYPES_TDEFS_H

#include <stddef.h>

#include "api/types.h"

/* clang-format off */
#define T(name) api_t_##name
#define END {0, API_T_END, 0, NULL, NULL, 0, 0, {NULL}}
#define STR(n, j) {n, API_T_STRING, 0, j, NULL, 0, 0, {NULL}}
#define STRK(n, j) {n, API_T_STRING, API_F_KEEP, j, NULL, 0, 0, {NULL}}
#define RSTR(n, j) {n, API_T_STRING, API_F_REP, j, NULL, 0, 0, {NULL}}
#define RSTRSET(n, j) {n, API_T_STRING, API_F_REP, j, NULL, API_LIST_SET, 0, {NULL}}
#define BYTES(n, j) {n, API_T_BYTES, 0, j, NULL, 0, 0, {NULL}}
#define I32(n, j) {n, API_T_INT32, 0, j, NULL, 0, 0, {NULL}}
#define I32K(n, j) {n, API_T_INT32, API_F_KEEP, j, NULL, 0, 0, {NULL}}
#define I64(n, j) {n, API_T_INT64, 0, j, NULL, 0, 0, {NULL}}
#define I64K(n, j) {n, API_T_INT64, API_F_KEEP, j, NULL, 0, 0, {NULL}}
#define RI64(n, j) {n, API_T_INT64, API_F_REP, j, NULL, 0, 0, {NULL}}
#define DBL(n, j) {n, API_T_DOUBLE, 0, j, NULL, 0, 0, {NULL}}
#define BOOL(n, j) {n, API_T_BOOL, 0, j, NULL, 0, 0, {NULL}}
#define BOOLK(n, j) {n, API_T_BOOL, API_F_KEEP, j, NULL, 0, 0, {NULL}}
#define MSG(n, j, m) {n, API_T_MSG, 0, j, &T(m), 0, 0, {NULL}}
#define MSGA(n, j, m) {n, API_T_MSG, 0, j, &T(m), 0, API_M_ATOMIC, {NULL}}
#define MSGRK(n, j, m) {n, API_T_MSG, 0, j, &T(m), 0, API_M_RETAIN_KEYS, {NULL}}
#define RMSG(n, j, m) {n, API_T_MSG, API_F_REP, j, &T(m), 0, 0, {NULL}}
#define RMSGM(n, j, m, k) {n, API_T_MSG, API_F_REP, j, &T(m), API_LIST_MAP, 0, {k}}
#define RMSGM2(n, j, m, k1, k2) {n, API_T_MSG, API_F_REP, j, &T(m), API_LIST_MAP, 0, {k1, k2}}
#define RMSGMF(n, j, m, k, fl) {n, API_T_MSG, API_F_REP, j, &T(m), API_LIST_MAP, fl, {k}}
#define INLINE(n, m) {n, API_T_INLINE, 0, NULL, &T(m), 0, 0, {NULL}}
#define MAPSTR(n, j) {n, API_T_MAP_STR, 0, j, NULL, 0, 0, {NULL}}
#define MAPSTRA(n, j) {n, API_T_MAP_STR, 0, j, NULL, 0, API_M_ATOMIC, {NULL}}
#define MAPBYTES(n, j) {n, API_T_MAP_BYTES, 0, j, NULL, 0, 0, {NULL}}
#define MAPQTY(n, j) {n, API_T_MAP_QTY, 0, j, NULL, 0, 0, {NULL}}
#define MAPMSG(j, m) {0, API_T_MAP_MSG, 0, j, &T(m), 0, 0, {NULL}}
#define TIME(n, j) {n, API_T_TIME, 0, j, NULL, 0, 0, {NULL}}
#define MTIME(n, j) {n, API_T_MICROTIME, 0, j, NULL, 0, 0, {NULL}}
#define QTY(n, j) {n, API_T_QTY, 0, j, NULL, 0, 0, {NULL}}
#define INTSTR(n, j) {n, API_T_INTSTR, 0, j, NULL, 0, 0, {NULL}}
#define INTSTRK(n, j) {n, API_T_INTSTR, API_F_KEEP, j, NULL, 0, 0, {NULL}}
/* apiVersion and kind of a top-level type (TypeMeta, JSON only). */
#define TYPEMETA STR(0, "apiVersion"), STR(0, "kind")
#define RAWJSON(n, j) {n, API_T_RAWJSON, 0, j, NULL, 0, 0, {NULL}}

/* A closed type / an open one / an atomic struct, in package `pkg`. */
#define TYPE_(name, pkg, fl, ...)                                              \
  static const api_field_t name##_fields[] = {__VA_ARGS__, END};               \
  const api_type_t T(name) = {#name, pkg, fl, name##_fields}
/* Same, for a C name (api_t_<cname>) other than the Go name. */
#define TYPEN_(cname, goname, pkg, fl, ...)                                    \
  static const api_field_t cname##_fields[] = {__VA_ARGS__, END};              \
  const api_type_t T(cname) = {goname, pkg, fl, cname##_fields}
/* clang-format on */

#define PKG_META "io.k8s.apimachinery.pkg.apis.meta.v1"
#define PKG_CORE "io.k8s.api.core.v1"
#define PKG_APPS "io.k8s.api.apps.v1"
#define PKG_BATCH "io.k8s.api.batch.v1"
#define PKG_AUTOSCALING_V1 "io.k8s.api.autoscaling.v1"
#define PKG_AUTOSCALING_V2 "io.k8s.api.autoscaling.v2"
#define PKG_COORDINATION "io.k8s.api.coordination.v1"
#define PKG_DISCOVERY "io.k8s.api.discovery.v1"
#define PKG_EVENTS "io.k8s.api.events.v1"
#define PKG_RBAC "io.k8s.api.rbac.v1"
#define PKG_AUTHN "io.k8s.api.authentication.v1"
#define PKG_AUTHZ "io.k8s.api.authorization.v1"
#define PKG_CERTS "io.k8s.api.certificates.v1"
#define PKG_STORAGE "io.k8s.api.storage.v1"
#define PKG_POLICY "io.k8s.api.policy.v1"
#define PKG_NETWORKING "io.k8s.api.networking.v1"
#define PKG_APIEXT "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1"

#endif /* KUBE_API_TYPES_TDEFS_H */
