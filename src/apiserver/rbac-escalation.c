/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RBAC's escalation prevention (kube-apiserver's rbac registry): a user
 * may write a Role or ClusterRole only with rules it holds itself (or
 * with the `escalate` verb on it), and bind a role only when it holds
 * every rule of that role in the binding's scope (or has the `bind` verb
 * on it).  So the admin of a namespace cannot make itself cluster-admin.
 * A requested rule is held when every verb x group x resource (x name) it
 * spells out, wildcards as literal "*", is allowed to the user.
 */
#include "apiserver/authz.h"

static size_t len_of(char *const *v) {
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

/* Whether u holds rule r in namespace ns (NULL: cluster-wide). */
static bool holds(kube_apiserver_t *srv, const kube_apiserver_user_t *u,
                  const struct as_rule *r, const char *ns) {
  char *none[] = {NULL};
  char *const *names = r->names && r->names[0] ? r->names : none;
  size_t n_names = r->names && r->names[0] ? len_of(r->names) : 1;
  for (size_t v = 0; r->verbs && r->verbs[v]; v++) {
    if (r->urls) {
      for (size_t i = 0; r->urls[i]; i++) {
        struct as_attrs a = {
            .user = u, .verb = r->verbs[v], .path = r->urls[i]};
        char *reason = NULL;
        bool ok = as_authorize(srv, &a, &reason);
        free(reason);
        if (!ok)
          return false;
      }
      continue;
    }
    for (size_t g = 0; r->groups && r->groups[g]; g++)
      for (size_t res = 0; r->resources && r->resources[res]; res++)
        for (size_t n = 0; n < n_names; n++) {
          char resource[300];
          snprintf(resource, sizeof resource, "%s", r->resources[res]);
          char *slash = strchr(resource, '/');
          if (slash)
            *slash++ = '\0';
          struct as_attrs a = {.user = u,
                               .verb = r->verbs[v],
                               .resource = true,
                               .group = r->groups[g],
                               .resource_name = resource,
                               .sub = slash,
                               .ns = ns,
                               .name = names[n]};
          char *reason = NULL;
          bool ok = as_authorize(srv, &a, &reason);
          free(reason);
          if (!ok)
            return false;
        }
  }
  return true;
}

static bool has_verb(kube_apiserver_t *srv, const kube_apiserver_user_t *u,
                     const char *verb, const char *resource, const char *ns,
                     const char *name) {
  struct as_attrs a = {.user = u,
                       .verb = verb,
                       .resource = true,
                       .group = "rbac.authorization.k8s.io",
                       .resource_name = resource,
                       .ns = ns,
                       .name = name};
  char *reason = NULL;
  bool ok = as_authorize(srv, &a, &reason);
  free(reason);
  return ok;
}

static int refuse(const kube_kind_t *k, const char *name,
                  const kube_apiserver_user_t *u, const char *what,
                  kube_error_t *err) {
  kube_strbuf_t g = KUBE_STRBUF_INIT;
  for (size_t i = 0; u->groups && u->groups[i]; i++)
    kube_strbuf_printf(&g, "%s\"%s\"", i ? " " : "", u->groups[i]);
  kube_error_set(err, KUBE_REASON_FORBIDDEN, 0,
                 "%s.%s \"%s\" is forbidden: user \"%s\" (groups=[%s]) is "
                 "attempting to grant RBAC permissions not currently held: "
                 "%s",
                 k->resource, k->group, name ? name : "", u->name,
                 g.data ? g.data : "", what);
  kube_strbuf_clear(&g);
  return -1;
}

static bool escalation_checked(kube_apiserver_t *srv,
                               const kube_apiserver_user_t *u) {
  return u && srv->auth && srv->auth->enabled &&
         !as_user_in_group(u, "system:masters");
}

/* Roles and ClusterRoles: every rule held (or `escalate`). */
static int role_prepare(kube_apiserver_t *srv, const kube_kind_t *k,
                        json_object *obj, json_object *old, const char *key,
                        kube_error_t *err) {
  const kube_apiserver_user_t *u = srv->req_user;
  if (!escalation_checked(srv, u))
    return 0;
  bool cluster = streq(k->resource, "clusterroles");
  const char *ns =
      cluster ? NULL : kube_json_get_string(obj, "metadata.namespace");
  const char *name = kube_json_get_string(obj, "metadata.name");
  if (has_verb(srv, u, "escalate", k->resource, ns, name))
    return 0;
  json_object *rules = kube_json_get(obj, "rules");
  size_t n = json_object_is_type(rules, json_type_array)
                 ? json_object_array_length(rules)
                 : 0;
  for (size_t i = 0; i < n; i++) {
    json_object *rj = json_object_array_get_idx(rules, i);
    struct as_rule r;
    if (as_rule_parse(rj, &r) < 0)
      continue;
    bool ok = holds(srv, u, &r, ns);
    as_rule_clear(&r);
    if (!ok)
      return refuse(k, name, u,
                    json_object_to_json_string_ext(rj, JSON_C_TO_STRING_PLAIN),
                    err);
  }
  return 0;
}

/* Bindings: the referenced role's rules held in the binding's scope (or
 * `bind` on that role). */
static int binding_prepare(kube_apiserver_t *srv, const kube_kind_t *k,
                           json_object *obj, json_object *old, const char *key,
                           kube_error_t *err) {
  const kube_apiserver_user_t *u = srv->req_user;
  if (!escalation_checked(srv, u))
    return 0;
  bool cluster = streq(k->resource, "clusterrolebindings");
  const char *ns =
      cluster ? NULL : kube_json_get_string(obj, "metadata.namespace");
  const char *rk = kube_json_get_string(obj, "roleRef.kind") ?: "";
  const char *rn = kube_json_get_string(obj, "roleRef.name") ?: "";
  bool is_role = streq(rk, "Role");
  if (has_verb(srv, u, "bind", is_role ? "roles" : "clusterroles",
               is_role ? ns : NULL, rn))
    return 0;
  size_t n = 0;
  const struct as_rule **rules = NULL;
  if (as_rbac_role_rules(srv, is_role ? ns : NULL, rn, &rules, &n) < 0) {
    /* A role that does not exist (yet) grants nothing. */
    return 0;
  }
  for (size_t i = 0; i < n; i++)
    if (!holds(srv, u, rules[i], ns)) {
      json_object *j = as_rule_to_json(rules[i]);
      int rc = refuse(
          k, kube_json_get_string(obj, "metadata.name"), u,
          j ? json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN) : "?",
          err);
      if (j)
        json_object_put(j);
      return rc;
    }
  return 0;
}

const struct as_kind_hooks as_role_hooks = {.prepare = role_prepare};
const struct as_kind_hooks as_binding_hooks = {.prepare = binding_prepare};
