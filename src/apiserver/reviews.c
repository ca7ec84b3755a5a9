/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Requests answered by the API server rather than stored: the
 * authorization.k8s.io/v1 reviews (SelfSubjectAccessReview for `kubectl
 * auth can-i`, SubjectAccessReview, LocalSubjectAccessReview,
 * SelfSubjectRulesReview for `kubectl auth can-i --list`) and
 * serviceaccounts/<name>/token (authentication.k8s.io/v1 TokenRequest,
 * `kubectl create token`), and authentication.k8s.io/v1 TokenReview and
 * SelfSubjectReview (`kubectl auth whoami`).
 */
#include <time.h>

#include "apiserver/authz.h"

static void set_status(json_object *obj, bool allowed, const char *reason) {
  json_object *st = json_object_new_object();
  json_object_object_add(st, "allowed", json_object_new_boolean(allowed));
  if (reason && *reason)
    json_object_object_add(st, "reason", json_object_new_string(reason));
  json_object_object_add(obj, "status", st);
}

static void reply_created(struct req *r, json_object *obj) {
  json_object *meta = as_meta_of(obj);
  if (!json_object_object_get_ex(meta, "creationTimestamp", NULL))
    json_object_object_add(meta, "creationTimestamp", NULL);
  as_reply_json(r, 201, obj); /* takes obj */
}

/* spec.resourceAttributes / nonResourceAttributes -> attrs. */
static bool attrs_from_spec(json_object *spec, struct as_attrs *a,
                            const char *force_ns) {
  json_object *ra = kube_json_get(spec, "resourceAttributes");
  json_object *na = kube_json_get(spec, "nonResourceAttributes");
  if (ra) {
    a->resource = true;
    a->verb = kube_json_get_string(ra, "verb") ?: "";
    a->group = kube_json_get_string(ra, "group") ?: "";
    a->resource_name = kube_json_get_string(ra, "resource") ?: "";
    a->sub = kube_json_get_string(ra, "subresource");
    a->ns = force_ns ? force_ns : kube_json_get_string(ra, "namespace");
    a->name = kube_json_get_string(ra, "name");
    return true;
  }
  if (na) {
    a->resource = false;
    a->verb = kube_json_get_string(na, "verb") ?: "";
    a->path = kube_json_get_string(na, "path") ?: "";
    return true;
  }
  return false;
}

static void access_review(struct req *r, bool self) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  json_object *obj = as_decode_body(r, &err);
  if (!obj) {
    as_reply_error(r, &err);
    return;
  }
  json_object *spec = kube_json_get(obj, "spec");
  struct as_attrs a = {0};
  bool local = r->rt.ns != NULL;
  if (local) {
    const char *ns = kube_json_get_string(spec, "resourceAttributes.namespace");
    if (ns && *ns && !streq(ns, r->rt.ns)) {
      json_object_put(obj);
      as_reply_status(r, KUBE_REASON_INVALID,
                      "spec.resourceAttributes.namespace: Invalid value: "
                      "\"%s\": must match metadata.namespace",
                      ns);
      return;
    }
  }
  if (!attrs_from_spec(spec, &a, local ? r->rt.ns : NULL)) {
    json_object_put(obj);
    as_reply_status(r, KUBE_REASON_INVALID,
                    "spec.resourceAttributes: Required value: exactly one of "
                    "nonResourceAttributes or resourceAttributes must be "
                    "specified");
    return;
  }
  kube_apiserver_user_t other = {0};
  const char *groups[65] = {0};
  if (self) {
    a.user = r->user;
  } else {
    other.name = kube_json_get_string(spec, "user") ?: "";
    json_object *g = kube_json_get(spec, "groups");
    size_t n = json_object_is_type(g, json_type_array)
                   ? json_object_array_length(g)
                   : 0;
    for (size_t i = 0; i < n && i < 64; i++)
      groups[i] = json_object_get_string(json_object_array_get_idx(g, i));
    other.groups = groups;
    if (!*other.name && !n) {
      json_object_put(obj);
      as_reply_status(r, KUBE_REASON_INVALID,
                      "spec.user: Invalid value: \"\": at least one of user "
                      "or group must be specified");
      return;
    }
    a.user = &other;
  }
  cleanup_free char *reason = NULL;
  bool ok = as_authorize(r->srv, &a, &reason);
  if (ok && !reason && as_user_in_group(a.user, "system:masters"))
    reason = NULL;
  set_status(obj, ok, ok ? NULL : reason);
  reply_created(r, obj);
}

static json_object *strs(const char *const *v) {
  json_object *a = json_object_new_array();
  for (size_t i = 0; v[i]; i++)
    json_object_array_add(a, json_object_new_string(v[i]));
  return a;
}

static void rules_review(struct req *r) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  json_object *obj = as_decode_body(r, &err);
  if (!obj) {
    as_reply_error(r, &err);
    return;
  }
  const char *ns = kube_json_get_string(obj, "spec.namespace");
  json_object *res = json_object_new_array();
  json_object *nonres = json_object_new_array();
  static const char *const star[] = {"*", NULL};
  if (!r->srv->auth || !r->srv->auth->enabled ||
      as_user_in_group(r->user, "system:masters")) {
    json_object *rule = json_object_new_object();
    json_object_object_add(rule, "verbs", strs(star));
    json_object_object_add(rule, "apiGroups", strs(star));
    json_object_object_add(rule, "resources", strs(star));
    json_object_array_add(res, rule);
    rule = json_object_new_object();
    json_object_object_add(rule, "verbs", strs(star));
    json_object_object_add(rule, "nonResourceURLs", strs(star));
    json_object_array_add(nonres, rule);
  }
  if (r->user && str_has_prefix(r->user->name, "system:node:") &&
      as_user_in_group(r->user, "system:nodes")) {
    size_t n = 0;
    const struct as_rule *nr = as_node_rules(&n);
    for (size_t i = 0; i < n; i++)
      json_object_array_add(res, as_rule_to_json(&nr[i]));
  }
  as_rbac_rules_for(r->srv, r->user, ns && *ns ? ns : NULL, res, nonres);
  json_object *st = json_object_new_object();
  json_object_object_add(st, "resourceRules", res);
  json_object_object_add(st, "nonResourceRules", nonres);
  json_object_object_add(st, "incomplete", json_object_new_boolean(false));
  json_object_object_add(obj, "status", st);
  reply_created(r, obj);
}

/* ---- serviceaccounts/<name>/token ---- */

static void token_issued(struct req *r, const char *token,
                         const kube_error_t *err, void *arg) {
  json_object *obj = arg;
  if (!token) {
    json_object_put(obj);
    as_reply_error(r, err);
    return;
  }
  json_object *st = json_object_new_object();
  json_object_object_add(st, "token", json_object_new_string(token));
  int64_t exp =
      json_object_get_int64(kube_json_get(obj, "spec.expirationSeconds"));
  time_t t = time(NULL) + (time_t)exp;
  struct tm tm;
  char ts[40];
  gmtime_r(&t, &tm);
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
  json_object_object_add(st, "expirationTimestamp", json_object_new_string(ts));
  json_object_object_add(obj, "status", st);
  reply_created(r, obj);
}

static kube_store_record_t *get_obj(kube_apiserver_t *srv, const char *res,
                                    const char *ns, const char *name,
                                    json_object **out) {
  char key[700];
  snprintf(key, sizeof key, "/registry/core/%s/%s/%s", res, ns, name);
  kube_store_record_t *rec = kube_store_get(srv->store, key, NULL);
  *out = rec ? as_record_parse(rec, NULL) : NULL;
  return rec;
}

static void token_request(struct req *r) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (r->method != M_POST) {
    as_reply_status(r, KUBE_REASON_METHOD_NOT_ALLOWED,
                    "method %s is not allowed on serviceaccounts/token",
                    r->method_str);
    return;
  }
  json_object *sa = NULL;
  kube_store_record_t *rec =
      get_obj(r->srv, "serviceaccounts", r->rt.ns, r->rt.name, &sa);
  kube_store_record_unref(rec);
  if (!sa) {
    as_error_not_found(&err, r->rt.kind, r->rt.name);
    as_reply_error(r, &err);
    return;
  }
  json_object *obj = as_decode_body(r, &err);
  if (!obj) {
    json_object_put(sa);
    as_reply_error(r, &err);
    return;
  }
  json_object_object_add(obj, "apiVersion",
                         json_object_new_string("authentication.k8s.io/v1"));
  json_object_object_add(obj, "kind", json_object_new_string("TokenRequest"));
  json_object *meta = as_meta_of(obj);
  json_object_object_add(meta, "name", json_object_new_string(r->rt.name));
  json_object_object_add(meta, "namespace", json_object_new_string(r->rt.ns));
  json_object *spec = kube_json_get(obj, "spec");
  if (!json_object_is_type(spec, json_type_object)) {
    spec = json_object_new_object();
    json_object_object_add(obj, "spec", spec);
  }
  json_object *es = kube_json_get(spec, "expirationSeconds");
  int64_t exp = es ? json_object_get_int64(es) : 3600;
  if (exp < 600 || exp > ((int64_t)1 << 32)) {
    json_object_put(obj);
    json_object_put(sa);
    as_reply_status(r, KUBE_REASON_INVALID,
                    "TokenRequest.authentication.k8s.io \"%s\" is invalid: "
                    "spec.expirationSeconds: Invalid value: %" PRId64
                    ": may not specify a duration %s",
                    r->rt.name, exp,
                    exp < 600 ? "less than 10 minutes"
                              : "larger than 2^32 seconds");
    return;
  }
  json_object_object_add(spec, "expirationSeconds", json_object_new_int64(exp));
  json_object *aud = kube_json_get(spec, "audiences");
  const char *auds[33] = {0};
  size_t na = json_object_is_type(aud, json_type_array)
                  ? json_object_array_length(aud)
                  : 0;
  for (size_t i = 0; i < na && i < 32; i++)
    auds[i] = json_object_get_string(json_object_array_get_idx(aud, i));
  if (!na) {
    json_object *a = json_object_new_array();
    json_object_array_add(a, json_object_new_string(AS_SA_ISSUER));
    json_object_object_add(spec, "audiences", a);
  }
  if (!json_object_object_get_ex(spec, "boundObjectRef", NULL))
    json_object_object_add(spec, "boundObjectRef", NULL);
  struct as_sa_claims c = {
      .ns = r->rt.ns,
      .name = r->rt.name,
      .uid = kube_json_get_string(sa, "metadata.uid"),
      .audiences = na ? auds : NULL,
      .iat = (int64_t)time(NULL),
  };
  c.exp = c.iat + exp;
  json_object *bref = kube_json_get(spec, "boundObjectRef");
  json_object *bound = NULL;
  if (json_object_is_type(bref, json_type_object)) {
    const char *bk = kube_json_get_string(bref, "kind") ?: "";
    const char *bn = kube_json_get_string(bref, "name") ?: "";
    if (!streq(bk, "Pod") && !streq(bk, "Secret")) {
      json_object_put(obj);
      json_object_put(sa);
      as_reply_status(r, KUBE_REASON_INVALID,
                      "spec.boundObjectRef.kind: Unsupported value: \"%s\": "
                      "supported values: \"Pod\", \"Secret\"",
                      bk);
      return;
    }
    kube_store_record_unref(get_obj(
        r->srv, streq(bk, "Pod") ? "pods" : "secrets", r->rt.ns, bn, &bound));
    const char *buid =
        bound ? kube_json_get_string(bound, "metadata.uid") : NULL;
    const char *want = kube_json_get_string(bref, "uid");
    if (!bound || (want && *want && !streq(want, buid ?: ""))) {
      json_object_put(obj);
      json_object_put(sa);
      if (bound)
        json_object_put(bound);
      as_reply_status(r, KUBE_REASON_NOT_FOUND, "%s \"%s\" not found",
                      streq(bk, "Pod") ? "pods" : "secrets", bn);
      return;
    }
    json_object_object_add(bref, "uid", json_object_new_string(buid ?: ""));
    c.bound_kind = bk;
    c.bound_name = bn;
    c.bound_uid = buid;
  }
  /* Claims are copied by as_sa_token_issue. */
  as_sa_token_issue(r, &c, token_issued, obj);
  if (bound)
    json_object_put(bound);
  json_object_put(sa);
}

/* authentication.k8s.io/v1 SelfSubjectReview (kubectl auth whoami). */
static void self_review(struct req *r) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  json_object *obj = as_decode_body(r, &err);
  if (!obj) {
    as_reply_error(r, &err);
    return;
  }
  json_object *ui = json_object_new_object();
  json_object_object_add(ui, "username", json_object_new_string(r->user->name));
  json_object *g = json_object_new_array();
  for (size_t i = 0; r->user->groups && r->user->groups[i]; i++)
    json_object_array_add(g, json_object_new_string(r->user->groups[i]));
  json_object_object_add(ui, "groups", g);
  json_object *st = json_object_new_object();
  json_object_object_add(st, "userInfo", ui);
  json_object_object_add(obj, "status", st);
  reply_created(r, obj);
}

/* authentication.k8s.io/v1 TokenReview: what the API server's
 * authenticators make of a bearer token (kubelets and aggregated servers
 * delegate authentication this way). */
static void token_review(struct req *r) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  json_object *obj = as_decode_body(r, &err);
  if (!obj) {
    as_reply_error(r, &err);
    return;
  }
  const char *tok = kube_json_get_string(obj, "spec.token");
  json_object *st = json_object_new_object();
  /* A request of our own, only to run the authenticators on. */
  struct req probe = {.srv = r->srv};
  if (tok && *tok && as_authn_token(r->srv, &probe, tok)) {
    json_object_object_add(st, "authenticated", json_object_new_boolean(true));
    json_object *ui = json_object_new_object();
    json_object_object_add(ui, "username",
                           json_object_new_string(probe.user->name));
    json_object *g = json_object_new_array();
    for (size_t i = 0; probe.user->groups && probe.user->groups[i]; i++)
      json_object_array_add(g, json_object_new_string(probe.user->groups[i]));
    json_object_object_add(ui, "groups", g);
    json_object_object_add(st, "user", ui);
    json_object *aud = json_object_new_array();
    json_object_array_add(aud, json_object_new_string(AS_SA_ISSUER));
    json_object_object_add(st, "audiences", aud);
  } else {
    json_object_object_add(st, "user", json_object_new_object());
    json_object_object_add(st, "error",
                           json_object_new_string("invalid bearer token"));
  }
  for (size_t i = 0; probe.own_groups && probe.own_groups[i]; i++)
    free(probe.own_groups[i]);
  free(probe.own_groups);
  free((char *)probe.own_user.name);
  json_object_object_add(obj, "status", st);
  reply_created(r, obj);
}

bool as_reviews_dispatch(struct req *r) {
  const struct route *rt = &r->rt;
  if (!rt->kind)
    return false;
  if (streq(rt->group, "authentication.k8s.io") &&
      (streq(rt->resource, "selfsubjectreviews") ||
       streq(rt->resource, "tokenreviews"))) {
    if (r->method != M_POST || rt->name)
      as_reply_status(r, KUBE_REASON_METHOD_NOT_ALLOWED,
                      "the server does not allow this method on the "
                      "requested resource");
    else if (streq(rt->resource, "tokenreviews"))
      token_review(r);
    else
      self_review(r);
    return true;
  }
  if (streq(rt->group, "") && streq(rt->resource, "serviceaccounts") &&
      rt->sub && streq(rt->sub, "token") && rt->name && rt->ns) {
    token_request(r);
    return true;
  }
  if (!streq(rt->group, "authorization.k8s.io"))
    return false;
  const char *res = rt->resource;
  bool known = streq(res, "selfsubjectaccessreviews") ||
               streq(res, "subjectaccessreviews") ||
               streq(res, "localsubjectaccessreviews") ||
               streq(res, "selfsubjectrulesreviews");
  if (!known)
    return false;
  if (r->method != M_POST || rt->name) {
    as_reply_status(r, KUBE_REASON_METHOD_NOT_ALLOWED,
                    "the server does not allow this method on the requested "
                    "resource");
    return true;
  }
  if (streq(res, "selfsubjectrulesreviews"))
    rules_review(r);
  else
    access_review(r, streq(res, "selfsubjectaccessreviews"));
  return true;
}
