/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The default roles and bindings kube-apiserver bootstraps (its
 * plugin/pkg/auth/authorizer/rbac/bootstrappolicy), reduced to the
 * resources libkube serves: cluster-admin, admin, edit and view (built by
 * aggregation from system:aggregate-to-*), system:basic-user,
 * system:discovery, system:public-info-viewer, system:node (the Node
 * authorizer's base rules), system:node-bootstrapper, the CSR
 * approval roles and system:libkube:node-network-policy (the reads a
 * node's NetworkPolicy enforcement needs, bound to system:nodes); the
 * control plane's components' roles are in rbac-defaults-components.c.
 * Created when missing, at bootstrap, labelled
 * kubernetes.io/bootstrapping=rbac-defaults; changes an operator made are
 * kept.
 */
#include <openssl/crypto.h>

#include "apiserver/authz.h"
#include "apiserver/rbac-defaults.h"

#define VIEW_RES                                                               \
  "\"pods\",\"pods/log\",\"pods/status\",\"services\",\"services/status\","    \
  "\"endpoints\",\"configmaps\",\"persistentvolumeclaims\","                   \
  "\"persistentvolumeclaims/status\",\"replicationcontrollers\","              \
  "\"replicationcontrollers/scale\",\"replicationcontrollers/status\","        \
  "\"serviceaccounts\",\"events\",\"limitranges\",\"resourcequotas\","         \
  "\"resourcequotas/status\",\"namespaces\",\"namespaces/status\""
#define APPS_RES                                                               \
  "\"deployments\",\"deployments/scale\",\"deployments/status\","              \
  "\"replicasets\",\"replicasets/scale\",\"replicasets/status\","              \
  "\"statefulsets\",\"statefulsets/scale\",\"statefulsets/status\","           \
  "\"daemonsets\",\"daemonsets/status\",\"controllerrevisions\""
#define BATCH_RES "\"jobs\",\"jobs/status\",\"cronjobs\",\"cronjobs/status\""
#define HPA_RES                                                                \
  "\"horizontalpodautoscalers\",\"horizontalpodautoscalers/status\""
#define PDB_VIEW_RES                                                           \
  "\"poddisruptionbudgets\",\"poddisruptionbudgets/status\""
/* pods/eviction is create only (kube-apiserver's aggregate-to-edit). */
#define EDIT_RES                                                               \
  "\"pods\",\"pods/attach\",\"pods/exec\",\"pods/portforward\","               \
  "\"pods/proxy\",\"configmaps\",\"endpoints\","                              \
  "\"persistentvolumeclaims\",\"replicationcontrollers\","                     \
  "\"replicationcontrollers/scale\",\"secrets\",\"serviceaccounts\","          \
  "\"services\",\"services/proxy\""

#define AGG(name)                                                              \
  ",\"rbac.authorization.k8s.io/aggregate-to-" name "\":\"true\""

static const char *const cluster_roles[] = {
    "{\"metadata\":{\"name\":\"cluster-admin\"," LABELS("") "},\"rules\":[" R(
        "\"*\"", "\"*\"", "\"*\"") "," U("\"*\"", "\"*\"") "]}",
    "{\"metadata\":{\"name\":\"system:aggregate-to-view\"," LABELS(AGG("view")) "},\"rules\":[" R(READ, "\"\"", VIEW_RES) "," R(
        READ, "\"apps\"",
        APPS_RES) "," R(READ, "\"batch\"",
                        BATCH_RES) "," R(READ, "\"autoscaling\"",
                                         HPA_RES) "," R(READ,
                                                        "\"disc"
                                                        "overy."
                                                        "k8s."
                                                        "io\"",
                                                        "\"endp"
                                                        "ointsl"
                                                        "ices"
                                                        "\"") "," R(READ,
                                                                    "\"coordina"
                                                                    "tion.k8s."
                                                                    "io\"",
                                                                    "\"leases"
                                                                    "\"") "," R(READ,
                                                                                "\"events.k8s.io\"",
                                                                                "\"events\"") "," R(READ, "\"policy\"", PDB_VIEW_RES) "," R(READ, "\"networking.k8s.io\"", "\"networkpolicies\"") "]}",
    "{\"metadata\":{\"name\":\"system:aggregate-to-edit\"," LABELS(AGG("edit")) "},\"rules\":[" R(
        ALLV, "\"\"",
        EDIT_RES) "," R(ALLV, "\"apps\"",
                        APPS_RES) "," R(ALLV, "\"batch\"",
                                        BATCH_RES) "," R(ALLV,
                                                         "\"autoscaling\"",
                                                         HPA_RES) "," R("\"crea"
                                                                        "te\"",
                                                                        "\"\"",
                                                                        "\"serv"
                                                                        "iceacc"
                                                                        "ounts/"
                                                                        "token"
                                                                        "\"") "," R("\"imp"
                                                                                    "erson"
                                                                                    "ate"
                                                                                    "\"",
                                                                                    "\"\"",
                                                                                    "\"ser"
                                                                                    "vicea"
                                                                                    "ccoun"
                                                                                    "ts\"") "," R(ALLV,
                                                                                                  "\"discovery.k8s.io\"",
                                                                                                  "\"endpointslices\"") "," R(ALLV, "\"policy\"", "\"poddisruptionbudgets\"") "," R(ALLV, "\"networking.k8s.io\"", "\"networkpolicies\"") "," R("\"create\"", "\"\"", "\"pods/eviction\"") "]}",
    "{\"metadata\":{\"name\":\"system:aggregate-to-admin\"," LABELS(AGG(
        "admin")) "},\"rules\":[" R(ALLV, "\"rbac.authorization.k8s.io\"",
                                    "\"roles\",\"rolebindings\"") "," R("\"crea"
                                                                        "te\"",
                                                                        "\"auth"
                                                                        "orizat"
                                                                        "ion."
                                                                        "k8s."
                                                                        "io\"",
                                                                        "\"loca"
                                                                        "lsubje"
                                                                        "ctacce"
                                                                        "ssrevi"
                                                                        "ews\"") "]}",
    "{\"metadata\":{\"name\":\"view\"," LABELS(
        AGG("edit")) "},\"aggregationRule\":{\"clusterRoleSelectors\":[{"
                     "\"matchLabels\":{\"rbac.authorization.k8s.io/"
                     "aggregate-to-view\":\"true\"}}]},\"rules\":[]}",
    "{\"metadata\":{\"name\":\"edit\"," LABELS(
        AGG("admin")) "},\"aggregationRule\":{\"clusterRoleSelectors\":[{"
                      "\"matchLabels\":{\"rbac.authorization.k8s.io/"
                      "aggregate-to-edit\":\"true\"}}]},\"rules\":[]}",
    "{\"metadata\":{\"name\":\"admin\"," LABELS(
        "") "},\"aggregationRule\":{\"clusterRoleSelectors\":[{"
            "\"matchLabels\":{\"rbac.authorization.k8s.io/"
            "aggregate-to-admin\":\"true\"}}]},\"rules\":[]}",
    "{\"metadata\":{\"name\":\"system:basic-user\"," LABELS(
        "") "},\"rules\":[" R("\"create\"", "\"authorization.k8s.io\"",
                              "\"selfsubjectaccessreviews\","
                              "\"selfsubjectrulesreviews\"") "," R("\"create\"",
                                                                   "\"authentic"
                                                                   "ation.k8s."
                                                                   "io\"",
                                                                   "\"selfsubje"
                                                                   "ctreviews"
                                                                   "\"") "]}",
    "{\"metadata\":{\"name\":\"system:discovery\"," LABELS(
        "") "},\"rules\":[" U("\"get\"",
                              "\"/api\",\"/api/*\",\"/apis\",\"/apis/*\","
                              "\"/healthz\",\"/livez\",\"/openapi\","
                              "\"/openapi/*\",\"/readyz\",\"/version\","
                              "\"/version/\"") "]}",
    "{\"metadata\":{\"name\":\"system:public-info-viewer\"," LABELS(
        "") "},\"rules\":[" U("\"get\"", "\"/healthz\",\"/livez\",\"/readyz\","
                                         "\"/version\",\"/version/\"") "]}",
    "{\"metadata\":{\"name\":\"system:auth-delegator\"," LABELS(
        "") "},\"rules\":[" R("\"create\"", "\"authentication.k8s.io\"",
                              "\"tokenreviews\"") "," R("\"create\"",
                                                        "\"authorization.k8s."
                                                        "io\"",
                                                        "\"subjectaccessreviews"
                                                        "\"") "]}",
    "{\"metadata\":{\"name\":\"system:node-bootstrapper\"," LABELS(
        "") "},\"rules\":[" R("\"create\",\"get\",\"list\",\"watch\"",
                              "\"certificates.k8s.io\"",
                              "\"certificatesigningrequests\"") "]}",
    "{\"metadata\":{\"name\":\"system:certificates.k8s.io:"
    "certificatesigningrequests:nodeclient\"," LABELS("") "},\"rules\":[" R(
        "\"create\"", "\"certificates.k8s.io\"",
        "\"certificatesigningrequests/nodeclient\"") "]}",
    "{\"metadata\":{\"name\":\"system:certificates.k8s.io:"
    "certificatesigningrequests:selfnodeclient\"," LABELS("") "},\"rules\":[" R(
        "\"create\"", "\"certificates.k8s.io\"",
        "\"certificatesigningrequests/"
        "selfnodeclient\"") "]}",
    /* What a network policy agent reads (calico-node's ClusterRole, cut to
     * kubed's needs): every pod, namespace and NetworkPolicy, read only.
     * Bound to system:nodes so agents enforce NetworkPolicy; the Node
     * authorizer still refuses other Nodes, unrelated Secrets and
     * ConfigMaps, and writes to pods bound elsewhere. */
    "{\"metadata\":{\"name\":\"system:libkube:node-network-policy\"," LABELS(
        "") "},\"rules\":[" R(READ, "\"\"",
                              "\"namespaces\",\"pods\"") "," R(READ,
                                                               "\"networking."
                                                               "k8s.io\"",
                                                               "\"networkpol"
                                                               "icies\"") "]}",
    NULL,
};

/* The rules of system:node: the Node authorizer grants them to every
 * node (the ownership checks come first, authz-node.c). */
/* clang-format off */
#define NODE_RULES                                                             \
  "["                                                                          \
  R(READ ",\"create\",\"update\",\"patch\"", "\"\"",                             \
    "\"nodes\",\"nodes/status\"") ","                                          \
  R(READ, "\"\"", "\"pods\",\"pods/status\",\"services\",\"endpoints\","         \
                  "\"namespaces\"") ","                                         \
  R("\"create\"", "\"\"", "\"pods/eviction\",\"pods/binding\"") ","              \
  R("\"create\",\"update\",\"patch\"", "\"\"", "\"events\"") ","                 \
  R("\"create\",\"update\",\"patch\"", "\"events.k8s.io\"", "\"events\"") ","    \
  R(READ, "\"discovery.k8s.io\"", "\"endpointslices\"") ","                     \
  R("\"create\",\"get\",\"list\",\"watch\"", "\"certificates.k8s.io\"",          \
    "\"certificatesigningrequests\"") ","                                       \
  R("\"create\"", "\"certificates.k8s.io\"",                                    \
    "\"certificatesigningrequests/selfnodeclient\"") ","                        \
  R("\"create\"", "\"authorization.k8s.io\"",                                   \
    "\"selfsubjectaccessreviews\",\"subjectaccessreviews\"") ","                \
  R("\"create\"", "\"authentication.k8s.io\"", "\"tokenreviews\"") ","          \
  R(READ, "\"\"", "\"persistentvolumes\"")                                      \
  "]"
/* clang-format on */
static const char node_rules_json[] = NODE_RULES;
/* The ClusterRole kube-apiserver shows for them. */
static const char node_role_json[] =
    "{\"metadata\":{\"name\":\"system:node\"," LABELS(
        "") "},\"rules\":" NODE_RULES "}";

static const char *const cluster_bindings[][3] = {
    /* name, role, subjects */
    {"cluster-admin", "cluster-admin",
     "{\"kind\":\"Group\",\"name\":\"system:masters\"}"},
    {"system:basic-user", "system:basic-user",
     "{\"kind\":\"Group\",\"name\":\"system:authenticated\"}"},
    {"system:discovery", "system:discovery",
     "{\"kind\":\"Group\",\"name\":\"system:authenticated\"}"},
    {"system:public-info-viewer", "system:public-info-viewer",
     "{\"kind\":\"Group\",\"name\":\"system:authenticated\"},"
     "{\"kind\":\"Group\",\"name\":\"system:unauthenticated\"}"},
    {"system:node-bootstrapper", "system:node-bootstrapper",
     "{\"kind\":\"Group\",\"name\":\"system:bootstrappers\"}"},
    {"system:certificates.k8s.io:certificatesigningrequests:nodeclient",
     "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
     "{\"kind\":\"Group\",\"name\":\"system:bootstrappers\"}"},
    {"system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
     "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
     "{\"kind\":\"Group\",\"name\":\"system:nodes\"}"},
    {"system:libkube:node-network-policy",
     "system:libkube:node-network-policy",
     "{\"kind\":\"Group\",\"name\":\"system:nodes\"}"},
    {NULL, NULL, NULL},
};

static struct as_rule *node_rules;
static size_t n_node_rules;

const struct as_rule *as_node_rules(size_t *n) {
  /* Parsed once per process: the loop thread is the only caller. */
  if (!node_rules) {
    json_object *arr =
        kube_json_parse(node_rules_json, strlen(node_rules_json), NULL);
    size_t len = arr ? json_object_array_length(arr) : 0;
    struct as_rule *v = len ? calloc(len, sizeof *v) : NULL;
    for (size_t i = 0; v && i < len; i++)
      as_rule_parse(json_object_array_get_idx(arr, i), &v[n_node_rules++]);
    if (arr)
      json_object_put(arr);
    node_rules = v;
  }
  *n = n_node_rules;
  return node_rules;
}

static bool exists(kube_apiserver_t *srv, const kube_kind_t *k,
                   const char *name) {
  cleanup_free char *key = as_store_key(k, NULL, name);
  kube_store_record_t *rec = key ? kube_store_get(srv->store, key, NULL) : NULL;
  kube_store_record_unref(rec);
  return rec != NULL;
}

static void create_role(kube_apiserver_t *srv, const kube_kind_t *crk,
                        const char *json) {
  json_object *o = kube_json_parse(json, strlen(json), NULL);
  if (!o) {
    log_warn("apiserver: bad default role %.60s", json);
    return;
  }
  if (exists(srv, crk, kube_json_get_string(o, "metadata.name")))
    json_object_put(o);
  else
    as_internal_create_bootstrap(srv, crk, o);
}

static void create_binding(kube_apiserver_t *srv, const kube_kind_t *crbk,
                           const char *const b[3]) {
  if (exists(srv, crbk, b[0]))
    return;
  char buf[2048];
  snprintf(buf, sizeof buf,
           "{\"metadata\":{\"name\":\"%s\"," LABELS(
               "") "},\"roleRef\":{\"apiGroup\":"
                   "\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\","
                   "\"name\":\"%s\"},\"subjects\":[%s]}",
           b[0], b[1], b[2]);
  json_object *o = kube_json_parse(buf, strlen(buf), NULL);
  if (o)
    as_internal_create_bootstrap(srv, crbk, o);
}

void as_rbac_bootstrap(kube_apiserver_t *srv) {
  const kube_kind_t *crk =
      kube_kind_by_resource("rbac.authorization.k8s.io", "v1", "clusterroles");
  const kube_kind_t *crbk = kube_kind_by_resource("rbac.authorization.k8s.io",
                                                  "v1", "clusterrolebindings");
  for (size_t i = 0; cluster_roles[i]; i++)
    create_role(srv, crk, cluster_roles[i]);
  create_role(srv, crk, node_role_json);
  for (size_t i = 0; as_rbac_component_roles[i]; i++)
    create_role(srv, crk, as_rbac_component_roles[i]);
  for (size_t i = 0; cluster_bindings[i][0]; i++)
    create_binding(srv, crbk, cluster_bindings[i]);
  for (size_t i = 0; as_rbac_component_bindings[i][0]; i++)
    create_binding(srv, crbk, as_rbac_component_bindings[i]);
}

/* The join token's Secret (kube-system/bootstrap-token-ID), as `kubeadm
 * token create` writes it: nodes authenticate with it to ask for their
 * client certificate.  Recreated when missing; never overwritten. */
static void join_token_secret(kube_apiserver_t *srv, const char *tok) {
  const kube_kind_t *sk = kube_kind_by_resource("", "v1", "secrets");
  char name[64];
  snprintf(name, sizeof name, "bootstrap-token-%.6s", tok);
  cleanup_free char *key = as_store_key(sk, "kube-system", name);
  kube_store_record_t *rec = key ? kube_store_get(srv->store, key, NULL) : NULL;
  if (rec || !key) {
    kube_store_record_unref(rec);
    return;
  }
  char id[7], secret[17];
  snprintf(id, sizeof id, "%.6s", tok);
  snprintf(secret, sizeof secret, "%.16s", tok + 7);
  cleanup_free char *id64 = kube_base64_encode(id, 6);
  cleanup_free char *sec64 = kube_base64_encode(secret, 16);
  cleanup_free char *t64 = kube_base64_encode("true", 4);
  cleanup_free char *g64 =
      kube_base64_encode("system:bootstrappers:libkube:default-node-token", 47);
  cleanup_free char *d64 =
      kube_base64_encode("libkube join token for nodes", 28);
  if (!id64 || !sec64 || !t64 || !g64 || !d64)
    return;
  char buf[1024];
  snprintf(buf, sizeof buf,
           "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"kube-system\"},"
           "\"type\":\"bootstrap.kubernetes.io/token\",\"data\":{"
           "\"token-id\":\"%s\",\"token-secret\":\"%s\","
           "\"usage-bootstrap-authentication\":\"%s\","
           "\"usage-bootstrap-signing\":\"%s\","
           "\"auth-extra-groups\":\"%s\",\"description\":\"%s\"}}",
           name, id64, sec64, t64, t64, g64, d64);
  OPENSSL_cleanse(secret, sizeof secret);
  json_object *o = kube_json_parse(buf, strlen(buf), NULL);
  OPENSSL_cleanse(buf, sizeof buf);
  if (o)
    as_internal_create_bootstrap(srv, sk, o);
}

void as_auth_bootstrap(kube_apiserver_t *srv) {
  if (!srv->auth || !srv->auth->enabled)
    return;
  as_rbac_bootstrap(srv);
  if (srv->auth->join_token)
    join_token_secret(srv, srv->auth->join_token);
}
