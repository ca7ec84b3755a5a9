/* SPDX-License-Identifier: Apache-2.0 */
/*
 * certificates.k8s.io/v1 CertificateSigningRequests: the requester's
 * identity stamped on create (spec.username, groups, as kube-apiserver's
 * strategy does), the built-in approver of kube-controller-manager's
 * csrapproving controller for node client certificates (signer
 * kubernetes.io/kube-apiserver-client-kubelet, CN system:node:NAME, O
 * system:nodes, asked by a bootstrap token or by that node itself), and
 * the approval asks whether the requester may create
 * certificatesigningrequests/nodeclient (selfnodeclient for a renewal),
 * granted by default to system:bootstrappers and system:nodes), and
 * the signer of approved requests of the kubelet-client and
 * kube-apiserver-client signers with the cluster CA.  Kubelet serving
 * certificates (signer kubernetes.io/kubelet-serving, CN system:node:NAME,
 * O system:nodes, usages within digital signature, key encipherment and
 * server auth) are approved when that node asks for one naming only its
 * own addresses (the IPs and DNS names of its Node's status.addresses, or
 * its name), and signed with those subjectAltNames; other requests of
 * that signer wait for `kubectl certificate approve`.  The approval
 * subresource (`kubectl certificate approve|deny`) writes the conditions.
 */
#include <time.h>

#include "apiserver/authz.h"

#define SIGNER_KUBELET "kubernetes.io/kube-apiserver-client-kubelet"
#define SIGNER_CLIENT "kubernetes.io/kube-apiserver-client"
#define SIGNER_SERVING "kubernetes.io/kubelet-serving"

static int csr_admit_create(kube_apiserver_t *srv, const kube_kind_t *k,
                            json_object *obj, kube_error_t *err) {
  const kube_apiserver_user_t *u = srv->req_user;
  json_object *spec = kube_json_get(obj, "spec");
  if (!u || !json_object_is_type(spec, json_type_object))
    return 0;
  json_object_object_add(spec, "username", json_object_new_string(u->name));
  json_object *g = json_object_new_array();
  for (size_t i = 0; u->groups && u->groups[i]; i++)
    json_object_array_add(g, json_object_new_string(u->groups[i]));
  json_object_object_add(spec, "groups", g);
  json_object_object_del(spec, "uid");
  json_object_object_del(spec, "extra");
  return 0;
}

static bool has_condition(json_object *obj, const char *type) {
  json_object *conds = kube_json_get(obj, "status.conditions");
  for (size_t i = 0; json_object_is_type(conds, json_type_array) &&
                     i < json_object_array_length(conds);
       i++) {
    json_object *c = json_object_array_get_idx(conds, i);
    if (streq(kube_json_get_string(c, "type") ?: "", type) &&
        !streq(kube_json_get_string(c, "status") ?: "True", "False"))
      return true;
  }
  return false;
}

static bool in_groups(json_object *spec, const char *group) {
  json_object *g = kube_json_get(spec, "groups");
  for (size_t i = 0; json_object_is_type(g, json_type_array) &&
                     i < json_object_array_length(g);
       i++)
    if (streq(json_object_get_string(json_object_array_get_idx(g, i)) ?: "",
              group))
      return true;
  return false;
}

/* The requester may ask for this kind of node certificate (kube-
 * controller-manager's approver asks a SubjectAccessReview of
 * certificatesigningrequests/nodeclient or /selfnodeclient). */
static bool requester_may(kube_apiserver_t *srv, json_object *spec,
                          const char *sub) {
  const char *groups[65] = {0};
  json_object *g = kube_json_get(spec, "groups");
  size_t n =
      json_object_is_type(g, json_type_array) ? json_object_array_length(g) : 0;
  for (size_t i = 0; i < n && i < 64; i++)
    groups[i] = json_object_get_string(json_object_array_get_idx(g, i));
  kube_apiserver_user_t u = {kube_json_get_string(spec, "username") ?: "",
                             groups};
  struct as_attrs a = {.user = &u,
                       .verb = "create",
                       .resource = true,
                       .group = "certificates.k8s.io",
                       .resource_name = "certificatesigningrequests",
                       .sub = sub};
  char *reason = NULL;
  bool ok = as_authorize(srv, &a, &reason);
  free(reason);
  return ok;
}

static json_object *status_of(json_object *obj) {
  json_object *st = kube_json_get(obj, "status");
  if (!json_object_is_type(st, json_type_object)) {
    st = json_object_new_object();
    json_object_object_add(obj, "status", st);
  }
  return st;
}

static void add_condition(json_object *obj, const char *type,
                          const char *reason, const char *message) {
  json_object *st = status_of(obj);
  json_object *conds = kube_json_get(st, "conditions");
  if (!json_object_is_type(conds, json_type_array)) {
    conds = json_object_new_array();
    json_object_object_add(st, "conditions", conds);
  }
  char ts[40];
  as_now_rfc3339(ts, sizeof ts);
  json_object *c = json_object_new_object();
  json_object_object_add(c, "type", json_object_new_string(type));
  json_object_object_add(c, "status", json_object_new_string("True"));
  json_object_object_add(c, "reason", json_object_new_string(reason));
  json_object_object_add(c, "message", json_object_new_string(message));
  json_object_object_add(c, "lastUpdateTime", json_object_new_string(ts));
  json_object_object_add(c, "lastTransitionTime", json_object_new_string(ts));
  json_object_array_add(conds, c);
}

/* The PEM request of spec.request (base64 in JSON). */
static char *request_pem(json_object *spec) {
  const char *b64 = kube_json_get_string(spec, "request");
  if (!b64)
    return NULL;
  size_t n = 0;
  unsigned char *raw = kube_base64_decode(b64, strlen(b64), &n, NULL);
  return (char *)raw;
}

static bool usages_within(json_object *spec, const char *const *allowed) {
  json_object *u = kube_json_get(spec, "usages");
  size_t n =
      json_object_is_type(u, json_type_array) ? json_object_array_length(u) : 0;
  for (size_t i = 0; i < n; i++) {
    const char *s = json_object_get_string(json_object_array_get_idx(u, i));
    bool ok = false;
    for (size_t k = 0; allowed[k] && !ok; k++)
      ok = s && streq(s, allowed[k]);
    if (!ok)
      return false;
  }
  return n > 0;
}

/* Each of "IP:a,DNS:b" is an address of the requesting node's Node (or
 * its name). */
static bool node_owns_sans(kube_apiserver_t *srv, const char *node,
                           const char *sans) {
  const kube_kind_t *k = kube_kind_by_resource("", "v1", "nodes");
  cleanup_free char *key = k ? as_store_key(k, NULL, node) : NULL;
  kube_store_record_t *rec = key ? kube_store_get(srv->store, key, NULL) : NULL;
  json_object *o = rec ? as_record_parse(rec, NULL) : NULL;
  kube_store_record_unref(rec);
  json_object *addrs = o ? kube_json_get(o, "status.addresses") : NULL;
  size_t n = json_object_is_type(addrs, json_type_array)
                 ? json_object_array_length(addrs)
                 : 0;
  bool all = o && *sans;
  cleanup_free char *copy = strdup(sans);
  char *save = NULL;
  for (char *s = copy ? strtok_r(copy, ",", &save) : NULL; s && all;
       s = strtok_r(NULL, ",", &save)) {
    bool ip = str_has_prefix(s, "IP:");
    const char *v = s + (ip ? 3 : 4);
    bool found = !ip && streq(v, node);
    for (size_t i = 0; i < n && !found; i++) {
      json_object *a = json_object_array_get_idx(addrs, i);
      const char *t = kube_json_get_string(a, "type") ?: "";
      bool host_type = streq(t, "Hostname") || streq(t, "InternalDNS") ||
                       streq(t, "ExternalDNS");
      found =
          ip != host_type && streq(kube_json_get_string(a, "address") ?: "", v);
    }
    all = found;
  }
  if (o)
    json_object_put(o);
  return all;
}

/* A node asking for a serving certificate of its own addresses. */
static bool serving_approvable(kube_apiserver_t *srv, json_object *spec,
                               const char *pem) {
  static const char *const usages[] = {"digital signature", "key encipherment",
                                       "server auth", NULL};
  const char *user = kube_json_get_string(spec, "username") ?: "";
  if (!str_has_prefix(user, "system:node:") || !user[12] ||
      !in_groups(spec, "system:nodes") || !usages_within(spec, usages))
    return false;
  kube_error_t e = KUBE_ERROR_INIT;
  char *probe = NULL, *sans = NULL;
  bool ok = as_ca_sign_request(srv->auth->ca, srv->auth->ca_key, pem, user,
                               "system:nodes", true, 3600, &probe, &e) == 0 &&
            (sans = as_ca_request_sans(pem, &e)) &&
            node_owns_sans(srv, user + 12, sans);
  free(probe);
  free(sans);
  kube_error_clear(&e);
  return ok;
}

static void csr_written(kube_apiserver_t *srv, const kube_kind_t *k,
                        const kube_store_record_t *rec) {
  struct as_auth *a = srv->auth;
  if (!a || !a->ca)
    return;
  json_object *obj = as_record_parse(rec, NULL);
  if (!obj)
    return;
  json_object *spec = kube_json_get(obj, "spec");
  const char *signer = kube_json_get_string(spec, "signerName") ?: "";
  bool kubelet = streq(signer, SIGNER_KUBELET);
  bool serving = streq(signer, SIGNER_SERVING);
  bool changed = false;
  char *pem = NULL;
  if (kube_json_get(obj, "status.certificate") ||
      has_condition(obj, "Denied") || has_condition(obj, "Failed") ||
      (!kubelet && !serving && !streq(signer, SIGNER_CLIENT)))
    goto out;
  pem = request_pem(spec);
  const char *user = kube_json_get_string(spec, "username") ?: "";
  if (!has_condition(obj, "Approved") && serving) {
    if (!pem || !serving_approvable(srv, spec, pem))
      goto out;
    add_condition(obj, "Approved", "AutoApproved",
                  "Auto approving kubelet serving certificate for the node's "
                  "own addresses.");
    changed = true;
  } else if (!has_condition(obj, "Approved")) {
    /* The csrapproving controller: a bootstrap token asking for a node
     * client certificate, or a node renewing its own. */
    if (!kubelet || !pem)
      goto out;
    kube_error_t e = KUBE_ERROR_INIT;
    char *probe = NULL;
    bool self = in_groups(spec, "system:nodes") &&
                str_has_prefix(user, "system:node:") &&
                requester_may(srv, spec, "selfnodeclient");
    bool bootstrapper = !self && requester_may(srv, spec, "nodeclient");
    int rc =
        (bootstrapper || self)
            ? as_ca_sign_request(a->ca, a->ca_key, pem,
                                 self ? user : "system:node:", "system:nodes",
                                 false, 3600, &probe, &e)
            : -1;
    free(probe);
    kube_error_clear(&e);
    if (rc < 0)
      goto out;
    add_condition(obj, "Approved", "AutoApproved",
                  self ? "Auto approving self kubelet client certificate "
                         "after SubjectAccessReview."
                       : "Auto approving kubelet client certificate after "
                         "SubjectAccessReview.");
    changed = true;
  }
  if (!pem)
    goto out;
  /* kube-controller-manager's signer: the request's expirationSeconds
   * when shorter than --cluster-signing-duration (at least 10 minutes) */
  json_object *es = kube_json_get(spec, "expirationSeconds");
  int64_t secs = a->signing_s > 0 ? a->signing_s : 365 * 86400;
  if (es && json_object_get_int64(es) >= 600 &&
      json_object_get_int64(es) < secs)
    secs = json_object_get_int64(es);
  char *cert = NULL;
  kube_error_t e = KUBE_ERROR_INIT;
  bool node_cert = kubelet || serving;
  if (as_ca_sign_request(a->ca, a->ca_key, pem,
                         node_cert ? "system:node:" : NULL,
                         node_cert ? "system:nodes" : NULL, serving,
                         (long)secs, &cert, &e) < 0) {
    add_condition(obj, "Failed", "SignerValidationFailure",
                  e.message ? e.message : "invalid request");
    kube_error_clear(&e);
  } else {
    char *b64 = kube_base64_encode(cert, strlen(cert));
    if (b64)
      json_object_object_add(status_of(obj), "certificate",
                             json_object_new_string(b64));
    free(b64);
    free(cert);
  }
  changed = true;
out:
  if (changed)
    as_internal_update(srv, rec->key, obj, rec->mod_revision);
  free(pem);
  json_object_put(obj);
}

static const struct as_kind_hooks csr_hooks = {
    .admit_create = csr_admit_create,
    .written = csr_written,
};

const struct as_kind_hooks *as_csr_hooks(void) {
  return &csr_hooks;
}
