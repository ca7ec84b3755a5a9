/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The authorization step of every request: its attributes (verb, API
 * group, resource, subresource, namespace, name, or a non-resource path,
 * as kube-apiserver's RequestInfoFactory finds them), impersonation
 * (Impersonate-User / -Group / -Uid headers, each checked for the
 * `impersonate` verb on users, groups, serviceaccounts and uids), then the
 * authorizers in kube-apiserver's default order: system:masters is always
 * allowed, the Node authorizer for system:node:NAME users, then RBAC.
 * A refusal is kube-apiserver's 403 Status, word for word.
 */
#include <ctype.h>
#include <strings.h>

#include "apiserver/authz.h"

bool as_user_in_group(const kube_apiserver_user_t *u, const char *group) {
  for (size_t i = 0; u && u->groups && u->groups[i]; i++)
    if (streq(u->groups[i], group))
      return true;
  return false;
}

char *as_forbidden_message(const struct as_attrs *a, const char *reason) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  const char *user = a->user && a->user->name ? a->user->name : "";
  if (!a->resource) {
    kube_strbuf_printf(&sb, "forbidden: User \"%s\" cannot %s path \"%s\"",
                       user, a->verb, a->path ? a->path : "");
  } else {
    const char *g = a->group ? a->group : "";
    const char *res = a->resource_name ? a->resource_name : "";
    /* The qualified resource: "pods", "deployments.apps". */
    if (*g)
      kube_strbuf_printf(&sb, "%s.%s", res, g);
    else
      kube_strbuf_printf(&sb, "%s", res);
    if (a->name && *a->name)
      kube_strbuf_printf(&sb, " \"%s\"", a->name);
    kube_strbuf_printf(&sb,
                       " is forbidden: User \"%s\" cannot %s resource \"%s",
                       user, a->verb, res);
    if (a->sub && *a->sub)
      kube_strbuf_printf(&sb, "/%s", a->sub);
    kube_strbuf_printf(&sb, "\" in API group \"%s\"", g);
    if (a->ns && *a->ns)
      kube_strbuf_printf(&sb, " in the namespace \"%s\"", a->ns);
    else
      kube_strbuf_printf(&sb, " at the cluster scope");
  }
  if (reason && *reason)
    kube_strbuf_printf(&sb, ": %s", reason);
  if (sb.oom) {
    kube_strbuf_clear(&sb);
    return NULL;
  }
  return sb.data ? sb.data : strdup("forbidden");
}

bool as_authorize(kube_apiserver_t *srv, const struct as_attrs *a,
                  char **reason) {
  *reason = NULL;
  if (!srv->auth || !srv->auth->enabled)
    return true;
  if (as_user_in_group(a->user, "system:masters"))
    return true;
  enum as_decision d = as_node_authorize(srv, a, reason);
  if (d == AS_ALLOW)
    return true;
  if (d == AS_DENY)
    return false;
  /* No opinion: RBAC decides, and a refusal keeps the Node authorizer's
   * reason (kube-apiserver's union of authorizers does). */
  if (as_rbac_allows(srv, a)) {
    free(*reason);
    *reason = NULL;
    return true;
  }
  return false;
}

bool as_field_selector_value(const char *selector, const char *field, char *buf,
                             size_t len) {
  if (!selector || !*selector)
    return false;
  kube_selector_t *sel = kube_field_selector_parse(selector, NULL);
  bool found = false;
  for (size_t i = 0; sel && i < sel->n && !found; i++) {
    const kube_selector_requirement_t *q = &sel->reqs[i];
    if (q->op == KUBE_SELECTOR_EQUALS && q->n_values == 1 &&
        streq(q->key, field) && strlen(q->values[0]) < len) {
      snprintf(buf, len, "%s", q->values[0]);
      found = true;
    }
  }
  kube_selector_free(sel);
  return found;
}

/* ---- request attributes ---- */

static void lower(char *dst, const char *src, size_t n) {
  size_t i = 0;
  for (; src && src[i] && i + 1 < n; i++)
    dst[i] = (char)tolower((unsigned char)src[i]);
  dst[i] = 0;
}

static void attrs_of(struct req *r, struct as_attrs *a, char *verb,
                     size_t verb_len) {
  memset(a, 0, sizeof *a);
  a->user = r->user;
  a->path = r->path;
  const struct route *rt = &r->rt;
  a->resource = rt->is_api && rt->resource;
  if (!a->resource) {
    lower(verb, r->method == M_HEAD ? "get" : r->method_str, verb_len);
    a->verb = verb;
    return;
  }
  a->group = rt->group ? rt->group : "";
  a->resource_name = rt->resource;
  a->sub = rt->sub;
  a->ns = rt->ns;
  a->name = rt->name;
  /* A namespace's own path names it: /api/v1/namespaces/x is get of
   * namespaces "x" in the namespace "x" (as RequestInfoFactory has it). */
  if (!rt->ns && streq(a->group, "") && streq(rt->resource, "namespaces"))
    a->ns = rt->name;
  const char *v = "";
  bool watch = rt->legacy_watch || as_req_query_bool(r, "watch");
  switch (r->method) {
  case M_GET:
  case M_HEAD:
    v = watch ? "watch" : rt->name ? "get" : "list";
    break;
  case M_POST:
    v = "create";
    break;
  case M_PUT:
    v = "update";
    break;
  case M_PATCH:
    v = "patch";
    break;
  case M_DELETE:
    v = rt->name ? "delete" : "deletecollection";
    break;
  default:
    v = "";
  }
  snprintf(verb, verb_len, "%s", v);
  a->verb = verb;
  if (streq(v, "list") || streq(v, "watch")) {
    a->field_selector = as_req_query(r, "fieldSelector");
    /* A valid path segment name only, as RequestInfoFactory checks it. */
    if (as_field_selector_value(a->field_selector, "metadata.name", a->name_buf,
                                sizeof a->name_buf) &&
        *a->name_buf && !strchr(a->name_buf, '/') && !streq(a->name_buf, ".") &&
        !streq(a->name_buf, "..") && !strchr(a->name_buf, '%'))
      a->name = a->name_buf;
  }
}

static void reply_forbidden(struct req *r, const struct as_attrs *a,
                            const char *reason) {
  cleanup_free char *msg = as_forbidden_message(a, reason);
  json_object *st = json_object_new_object();
  if (!st || !msg) {
    if (st)
      json_object_put(st);
    as_reply_status(r, KUBE_REASON_FORBIDDEN, "forbidden");
    return;
  }
  json_object_object_add(st, "kind", json_object_new_string("Status"));
  json_object_object_add(st, "apiVersion", json_object_new_string("v1"));
  json_object_object_add(st, "metadata", json_object_new_object());
  json_object_object_add(st, "status", json_object_new_string("Failure"));
  json_object_object_add(st, "message", json_object_new_string(msg));
  json_object_object_add(st, "reason", json_object_new_string("Forbidden"));
  json_object *d = json_object_new_object();
  if (a->resource) {
    if (a->name && *a->name)
      json_object_object_add(d, "name", json_object_new_string(a->name));
    if (a->group && *a->group)
      json_object_object_add(d, "group", json_object_new_string(a->group));
    json_object_object_add(d, "kind", json_object_new_string(a->resource_name));
  }
  json_object_object_add(st, "details", d);
  json_object_object_add(st, "code", json_object_new_int(403));
  as_reply_json(r, 403, st); /* takes st */
}

/* ---- impersonation ---- */

static bool may_impersonate(struct req *r, const char *resource, const char *ns,
                            const char *name, const char *group) {
  struct as_attrs a = {.user = r->user,
                       .verb = "impersonate",
                       .resource = true,
                       .group = group,
                       .resource_name = resource,
                       .ns = ns,
                       .name = name};
  cleanup_free char *reason = NULL;
  if (as_authorize(r->srv, &a, &reason))
    return true;
  reply_forbidden(r, &a, reason);
  return false;
}

/* Impersonate-* headers: false when a reply was sent. */
static bool impersonate(struct req *r) {
  kube_http_request_t *h = r->hreq;
  if (!h || !r->srv->auth || !r->srv->auth->enabled)
    return true;
  const char *user = kube_http_request_header(h, "Impersonate-User");
  const char *groups[33] = {0};
  size_t ng = 0;
  const char *name, *value;
  bool any = user != NULL;
  for (size_t i = 0; kube_http_request_header_at(h, i, &name, &value); i++) {
    if (strcasecmp(name, "Impersonate-Group") == 0) {
      any = true;
      if (ng < 32)
        groups[ng++] = value;
    } else if (strncasecmp(name, "Impersonate-", 12) == 0) {
      any = true;
    }
  }
  if (!any)
    return true;
  if (!user || !*user) {
    as_reply_status(r, KUBE_REASON_INTERNAL,
                    "requested [%s] without impersonating a user",
                    ng ? "Impersonate-Group" : "Impersonate-Extra");
    return false;
  }
  /* A ServiceAccount user is impersonated as the serviceaccount it is. */
  char sa_ns[256], sa_name[256];
  bool is_sa = str_has_prefix(user, "system:serviceaccount:") &&
               sscanf(user + 22, "%255[^:]:%255s", sa_ns, sa_name) == 2;
  if (is_sa ? !may_impersonate(r, "serviceaccounts", sa_ns, sa_name, "")
            : !may_impersonate(r, "users", NULL, user, ""))
    return false;
  for (size_t i = 0; i < ng; i++)
    if (!may_impersonate(r, "groups", NULL, groups[i], ""))
      return false;
  const char *uid = kube_http_request_header(h, "Impersonate-Uid");
  if (uid && !may_impersonate(r, "uids", NULL, uid, "authentication.k8s.io"))
    return false;
  /* The impersonated user's groups are the ones asked for (plus what
   * kube-apiserver adds: system:authenticated; a ServiceAccount's own
   * groups). */
  char g1[300];
  if (is_sa && ng + 2 < 33) {
    groups[ng++] = "system:serviceaccounts";
    snprintf(g1, sizeof g1, "system:serviceaccounts:%s", sa_ns);
    groups[ng++] = g1;
  }
  groups[ng] = NULL;
  bool anon = streq(user, "system:anonymous");
  if (as_req_set_user(r, user, groups, !anon) < 0) {
    as_reply_status(r, KUBE_REASON_INTERNAL, "out of memory");
    return false;
  }
  return true;
}

bool as_authz_request(struct req *r) {
  if (r->authorized)
    return true;
  r->authorized = true;
  if (!impersonate(r))
    return false;
  struct as_attrs a;
  char verb[32];
  attrs_of(r, &a, verb, sizeof verb);
  cleanup_free char *reason = NULL;
  if (as_authorize(r->srv, &a, &reason))
    return true;
  reply_forbidden(r, &a, reason);
  return false;
}
