/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ClusterRoles and ClusterRoleBindings kube-apiserver bootstraps for
 * the control plane's components and add-ons (bootstrappolicy's
 * ClusterRoles() and ClusterRoleBindings() of Kubernetes 1.32): the
 * scheduler, the controller manager, kube-proxy, the volume scheduler,
 * monitoring, the CSR signers' approvers and the rest, with kube's rules,
 * so `kubectl get clusterroles` lists kube's names and an identity such as
 * system:kube-scheduler is allowed what it is on kube.  system:node's
 * rules are the Node authorizer's (rbac-defaults.c).  Created by
 * as_rbac_bootstrap() when missing.
 */
#include "apiserver/rbac-defaults.h"

#include <stddef.h>

/* One rule a line, as kube's policy reads. */
/* clang-format off */
#define CPU "\"create\",\"patch\",\"update\""
#define EVENTS R(CPU, "\"\",\"events.k8s.io\"", "\"events\"")
#define LEASE_OF(name)                                                         \
  R("\"create\"", "\"coordination.k8s.io\"", "\"leases\"") ","                \
  RN("\"get\",\"update\"", "\"coordination.k8s.io\"", "\"leases\"",           \
     "\"" name "\"")
#define DELEGATED                                                              \
  R("\"create\"", "\"authentication.k8s.io\"", "\"tokenreviews\"") ","       \
  R("\"create\"", "\"authorization.k8s.io\"", "\"subjectaccessreviews\"")
#define APPROVER(signer)                                                       \
  ROLE("system:certificates.k8s.io:" signer "-approver",                       \
       RN("\"approve\"", "\"certificates.k8s.io\"", "\"signers\"",             \
          "\"kubernetes.io/" signer "\""))

const char *const as_rbac_component_roles[] = {
    APPROVER("kube-apiserver-client"),
    APPROVER("kube-apiserver-client-kubelet"),
    APPROVER("kubelet-serving"),
    APPROVER("legacy-unknown"),
    ROLE("system:heapster",
         R(READ, "\"\"", "\"events\",\"namespaces\",\"nodes\",\"pods\"") ","
         R(READ, "\"extensions\"", "\"deployments\"")),
    ROLE("system:kube-aggregator",
         R(READ, "\"\"", "\"endpoints\",\"services\"")),
    ROLE("system:kube-controller-manager",
         EVENTS ","
         LEASE_OF("kube-controller-manager") ","
         R("\"create\"", "\"\"", "\"secrets\",\"serviceaccounts\"") ","
         R("\"delete\"", "\"\"", "\"secrets\"") ","
         R("\"get\"", "\"\"",
           "\"configmaps\",\"namespaces\",\"secrets\",\"serviceaccounts\"") ","
         R("\"update\"", "\"\"", "\"secrets\",\"serviceaccounts\"") ","
         DELEGATED ","
         R("\"list\",\"watch\"", "\"*\"", "\"*\"") ","
         R("\"create\"", "\"\"", "\"serviceaccounts/token\"")),
    ROLE("system:kube-dns",
         R("\"list\",\"watch\"", "\"\"", "\"endpoints\",\"services\"")),
    ROLE("system:kube-scheduler",
         EVENTS ","
         LEASE_OF("kube-scheduler") ","
         R(READ, "\"\"", "\"nodes\"") ","
         R("\"delete\"," READ, "\"\"", "\"pods\"") ","
         R("\"create\"", "\"\"", "\"bindings\",\"pods/binding\"") ","
         R("\"patch\",\"update\"", "\"\"", "\"pods/status\"") ","
         R(READ, "\"\"", "\"replicationcontrollers\",\"services\"") ","
         R(READ, "\"apps\",\"extensions\"", "\"replicasets\"") ","
         R(READ, "\"apps\"", "\"statefulsets\"") ","
         R(READ, "\"policy\"", "\"poddisruptionbudgets\"") ","
         R(READ, "\"\"", "\"persistentvolumeclaims\",\"persistentvolumes\"") ","
         DELEGATED ","
         R(READ, "\"storage.k8s.io\"", "\"csinodes\"") ","
         R(READ, "\"\"", "\"namespaces\"") ","
         R(READ, "\"storage.k8s.io\"", "\"csidrivers\"") ","
         R(READ, "\"storage.k8s.io\"", "\"csistoragecapacities\"")),
    ROLE("system:kubelet-api-admin",
         R(READ, "\"\"", "\"nodes\"") ","
         R("\"proxy\"", "\"\"", "\"nodes\"") ","
         R("\"*\"", "\"\"",
           "\"nodes/log\",\"nodes/metrics\",\"nodes/proxy\",\"nodes/stats\"")),
    ROLE("system:monitoring",
         U("\"get\"", "\"/healthz\",\"/healthz/*\",\"/livez\",\"/livez/*\","
                      "\"/metrics\",\"/metrics/slis\",\"/readyz\","
                      "\"/readyz/*\"")),
    ROLE("system:node-problem-detector",
         R("\"get\"", "\"\"", "\"nodes\"") ","
         R("\"patch\"", "\"\"", "\"nodes/status\"") ","
         EVENTS),
    ROLE("system:node-proxier",
         R("\"list\",\"watch\"", "\"\"", "\"endpoints\",\"services\"") ","
         R(READ, "\"\"", "\"nodes\"") ","
         EVENTS ","
         R("\"list\",\"watch\"", "\"discovery.k8s.io\"", "\"endpointslices\"")),
    ROLE("system:persistent-volume-provisioner",
         R("\"create\",\"delete\"," READ, "\"\"", "\"persistentvolumes\"") ","
         R("\"update\"," READ, "\"\"", "\"persistentvolumeclaims\"") ","
         R(READ, "\"storage.k8s.io\"", "\"storageclasses\"") ","
         R("\"watch\"", "\"\"", "\"events\"") ","
         EVENTS),
    ROLE("system:service-account-issuer-discovery",
         U("\"get\"", "\"/.well-known/openid-configuration\","
                      "\"/openid/v1/jwks\"")),
    ROLE("system:volume-scheduler",
         R("\"patch\",\"update\"," READ, "\"\"", "\"persistentvolumes\"") ","
         R(READ, "\"storage.k8s.io\"", "\"storageclasses\"") ","
         R("\"patch\",\"update\"," READ, "\"\"",
           "\"persistentvolumeclaims\"")),
    NULL,
};

#define USER(name)                                                             \
  "{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"User\","             \
  "\"name\":\"" name "\"}"
#define GROUP(name)                                                            \
  "{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Group\","            \
  "\"name\":\"" name "\"}"

const char *const as_rbac_component_bindings[][3] = {
    /* name (the role's), role, subjects */
    {"system:kube-controller-manager", "system:kube-controller-manager",
     USER("system:kube-controller-manager")},
    {"system:kube-dns", "system:kube-dns",
     "{\"kind\":\"ServiceAccount\",\"name\":\"kube-dns\","
     "\"namespace\":\"kube-system\"}"},
    {"system:kube-scheduler", "system:kube-scheduler",
     USER("system:kube-scheduler")},
    {"system:monitoring", "system:monitoring", GROUP("system:monitoring")},
    /* Nodes are authorized by the Node authorizer, not by this binding
     * (kube keeps it without subjects since 1.8). */
    {"system:node", "system:node", ""},
    {"system:node-proxier", "system:node-proxier", USER("system:kube-proxy")},
    {"system:service-account-issuer-discovery",
     "system:service-account-issuer-discovery",
     GROUP("system:serviceaccounts")},
    {"system:volume-scheduler", "system:volume-scheduler",
     USER("system:kube-scheduler")},
    {NULL, NULL, NULL},
};
/* clang-format on */
