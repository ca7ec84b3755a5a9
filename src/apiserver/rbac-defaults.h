/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON spelling of the default RBAC objects (rbac-defaults.c,
 * rbac-defaults-components.c): rules as string literals joined at compile
 * time, parsed once at bootstrap.
 */
#ifndef KUBE_APISERVER_RBAC_DEFAULTS_H
#define KUBE_APISERVER_RBAC_DEFAULTS_H

/* A rule over resources, one with resourceNames, one over URLs. */
#define R(verbs, groups, resources)                                            \
  "{\"verbs\":[" verbs "],\"apiGroups\":[" groups                              \
  "],\"resources\":[" resources "]}"
#define RN(verbs, groups, resources, names)                                    \
  "{\"verbs\":[" verbs "],\"apiGroups\":[" groups                              \
  "],\"resources\":[" resources "],\"resourceNames\":[" names "]}"
#define U(verbs, urls) "{\"verbs\":[" verbs "],\"nonResourceURLs\":[" urls "]}"
#define READ "\"get\",\"list\",\"watch\""
#define WRITE "\"create\",\"delete\",\"deletecollection\",\"patch\",\"update\""
#define ALLV READ "," WRITE

/* What kube-apiserver puts on each object it bootstraps. */
#define LABELS(extra)                                                          \
  "\"annotations\":{\"rbac.authorization.kubernetes.io/autoupdate\":"          \
  "\"true\"},"                                                                 \
  "\"labels\":{\"kubernetes.io/bootstrapping\":\"rbac-defaults\"" extra "}"

/* A ClusterRole named `name` with `rules` (R, RN, U joined by ","). */
#define ROLE(name, rules)                                                      \
  "{\"metadata\":{\"name\":\"" name "\"," LABELS("") "},"                      \
                                                     "\"rules\":[" rules "]}"

/* The roles and bindings of the control plane's components, NULL-ended
 * (rbac-defaults-components.c); bindings are {name, role, subjects}. */
extern const char *const as_rbac_component_roles[];
extern const char *const as_rbac_component_bindings[][3];

#endif /* KUBE_APISERVER_RBAC_DEFAULTS_H */
