/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who may do what, inside the apiserver module: the cluster CA (ca.c),
 * authentication (authn.c: admin token, token file, client certificates,
 * ServiceAccount JWTs of sa-token.c, bootstrap tokens), impersonation and
 * the authorization step (authz.c), RBAC (rbac.c, rbac-match.c,
 * rbac-defaults.c), the Node authorizer (authz-node.c), the reviews and
 * TokenRequest (reviews.c), CertificateSigningRequests (csr.c) and the
 * audit log (audit.c).
 *
 * The request pipeline: authenticate (server.c calls as_authn_request) ->
 * impersonate -> authorize (router.c calls as_authz_request before the
 * handlers) -> handler.
 */
#ifndef KUBE_APISERVER_AUTHZ_H
#define KUBE_APISERVER_AUTHZ_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include "apiserver/internal.h"

/* ---- ca.c ---- */
/* Write a key, or a certificate followed by `chain` (may be NULL). */
int as_pem_write(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert,
                 X509 *chain, kube_error_t *err);
X509 *as_cert_build(EVP_PKEY *pub, const char *cn, const char *const *orgs,
                    const char *san, bool is_ca, bool server, long seconds,
                    X509 *issuer, EVP_PKEY *issuer_key, kube_error_t *err);
int as_ca_load(const char *cert_path, const char *key_path, X509 **cert,
               EVP_PKEY **key, kube_error_t *err);
/* Sign the PEM CSR: its CN must start with want_cn (when set), its only O
 * be want_org (when set); a serving certificate (serverAuth) carries the
 * request's IP and DNS subjectAltNames.  *cert_pem owned. */
int as_ca_sign_request(X509 *ca, EVP_PKEY *ca_key, const char *csr_pem,
                       const char *want_cn, const char *want_org, bool serving,
                       long seconds, char **cert_pem, kube_error_t *err);
/* The PEM CSR's subjectAltNames as "IP:a,DNS:b" (owned; "" when none);
 * NULL with err when it is no request or names other kinds. */
char *as_ca_request_sans(const char *csr_pem, kube_error_t *err);

/* ---- request attributes ---- */
struct as_attrs {
  const kube_apiserver_user_t *user;
  const char *verb; /* get list watch create update patch delete ... */
  bool resource;    /* a resource request (else: path) */
  const char *group, *resource_name, *sub, *ns, *name; /* "" or NULL */
  const char *path;
  /* list/watch: the fieldSelector of the query (NULL: none).  A list or
   * watch selecting metadata.name=X has name X, as RequestInfoFactory
   * has it (the name is copied into name_buf). */
  const char *field_selector;
  char name_buf[256];
};

/* The value a field selector requires for `field` (field=value or
 * field==value), copied into buf; false when it requires none. */
bool as_field_selector_value(const char *selector, const char *field, char *buf,
                             size_t len);

enum as_decision { AS_NO_OPINION = 0, AS_ALLOW, AS_DENY };

/* The kube-apiserver wording of a refusal ("pods is forbidden: User ...");
 * reason appended when set.  Owned. */
char *as_forbidden_message(const struct as_attrs *a, const char *reason);
bool as_user_in_group(const kube_apiserver_user_t *u, const char *group);

struct as_rule;

/* ---- state ---- */
struct as_static_user; /* a --token-auth-file line */
struct as_rbac;
struct as_node_graph;

struct as_auth {
  bool enabled; /* authorization applies (else everyone may do anything) */
  /* token file: token -> struct as_static_user */
  struct lh_table *static_tokens;
  /* the cluster signing CA (CSR signer), loaded when configured */
  X509 *ca;
  EVP_PKEY *ca_key;
  /* how long signed certificates last (--cluster-signing-duration) */
  int64_t signing_s;
  /* ServiceAccount token signing key, as read from the store */
  EVP_PKEY *sa_key;
  int64_t sa_key_rev;
  char *join_token; /* "id.secret" ensured as a bootstrap token Secret */
  struct as_rbac *rbac;
  struct as_node_graph *graph;
  /* audit log */
  char *audit_path;
  int audit_fd;
  size_t audit_max, audit_size;
};

int as_auth_init(kube_apiserver_t *srv, const kube_apiserver_options_t *o,
                 kube_error_t *err);
void as_auth_free(kube_apiserver_t *srv);
/* At bootstrap: default roles and bindings, the join token's Secret. */
void as_auth_bootstrap(kube_apiserver_t *srv);

/* ---- authn.c ---- */
/* Give r its user (owned copies in r->own_*). */
int as_req_set_user(struct req *r, const char *name, const char *const *groups,
                    bool authenticated);
/* Authenticate a network request: false when it must get 401. */
bool as_authn_request(kube_apiserver_t *srv, struct req *r);
/* Bearer token -> user (static tokens, bootstrap tokens, SA JWTs); false
 * when no authenticator knows it. */
bool as_authn_token(kube_apiserver_t *srv, struct req *r, const char *token);

/* ---- sa-token.c ---- */
/* Issue a ServiceAccount token (JWT) asynchronously: cb runs with the
 * token (or NULL and err) once the signing key is there. */
typedef void (*as_sa_token_cb)(struct req *r, const char *token,
                               const kube_error_t *err, void *arg);
struct as_sa_claims {
  const char *ns, *name, *uid;
  const char *const *audiences; /* NULL: the API server's */
  int64_t iat, exp;
  const char *bound_kind, *bound_name, *bound_uid; /* may be NULL */
};
void as_sa_token_issue(struct req *r, const struct as_sa_claims *c,
                       as_sa_token_cb cb, void *arg);
/* Validate a JWT: 1 and *ns,*name set (owned) when it is a valid
 * ServiceAccount token of a ServiceAccount that exists, 0 when it is no
 * JWT of ours, -1 when it is ours but invalid (401). */
int as_sa_token_validate(kube_apiserver_t *srv, const char *token, char **ns,
                         char **name);
#define AS_SA_ISSUER "https://kubernetes.default.svc.cluster.local"
void as_sa_free(kube_apiserver_t *srv);

/* ---- authz.c ---- */
/* Authorize r (impersonation first): true to go on, false when a 403 (or
 * 401) was sent. */
bool as_authz_request(struct req *r);
/* The decision for a set of attributes (reviews use it too). */
bool as_authorize(kube_apiserver_t *srv, const struct as_attrs *a,
                  char **reason);

/* ---- rbac.c ---- */
void as_rbac_start(kube_apiserver_t *srv);
void as_rbac_free(kube_apiserver_t *srv);
bool as_rbac_allows(kube_apiserver_t *srv, const struct as_attrs *a);
/* The rules that apply to user u in namespace ns, appended to two JSON
 * arrays (SelfSubjectRulesReview). */
void as_rbac_rules_for(kube_apiserver_t *srv, const kube_apiserver_user_t *u,
                       const char *ns, json_object *res, json_object *nonres);

/* The effective rules of Role ns/name (ns NULL: ClusterRole name),
 * borrowed until the next store event; -1 when there is no such role. */
int as_rbac_role_rules(kube_apiserver_t *srv, const char *ns, const char *name,
                       const struct as_rule ***rules, size_t *n);

/* ---- rbac-escalation.c ---- */
/* Writes of roles and bindings: no grant beyond what the writer holds. */
extern const struct as_kind_hooks as_role_hooks, as_binding_hooks;

/* ---- rbac-match.c (pure, unit-tested) ---- */
struct as_rule {
  char **verbs, **groups, **resources, **names, **urls; /* NULL-ended */
};
int as_rule_parse(json_object *rule, struct as_rule *out);
void as_rule_clear(struct as_rule *r);
bool as_rule_matches(const struct as_rule *r, const struct as_attrs *a);
/* A metav1.LabelSelector against a label map (both may be NULL: an empty
 * selector matches everything, a NULL selector nothing). */
bool as_label_selector_matches(json_object *sel, json_object *labels);
json_object *as_rule_to_json(const struct as_rule *r);

/* ---- rbac-defaults.c ---- */
void as_rbac_bootstrap(kube_apiserver_t *srv);
/* The rules of the system:node role (the Node authorizer's base). */
const struct as_rule *as_node_rules(size_t *n);

/* ---- authz-node.c ---- */
enum as_decision as_node_authorize(kube_apiserver_t *srv,
                                   const struct as_attrs *a, char **reason);
void as_node_graph_free(kube_apiserver_t *srv);
/* Nodes' admission: a node creates only its own Node. */
extern const struct as_kind_hooks as_node_hooks;
extern const struct as_kind_hooks as_pod_node_hooks; /* mirror pods */

/* ---- reviews.c ---- */
/* Serve the authorization reviews and serviceaccounts/token: true when
 * r was one of them. */
bool as_reviews_dispatch(struct req *r);

/* ---- csr.c ---- */
const struct as_kind_hooks *as_csr_hooks(void);

/* ---- audit.c ---- */
void as_audit_request(struct req *r, int code);

#endif /* KUBE_APISERVER_AUTHZ_H */
