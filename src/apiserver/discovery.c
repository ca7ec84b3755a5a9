/* SPDX-License-Identifier: Apache-2.0 */
/* /version, /api, /apis, /api/v1, /apis/<g>[/<v>], health endpoints: all
 * generated from the kinds table. */
#include "apiserver/internal.h"

static void reply_text(struct req *r, int code, const char *text) {
  if (r->done)
    return;
  r->done = true;
  r->tp->reply(r, code, "text/plain; charset=utf-8", text, strlen(text));
}

json_object *as_str_array(const char *const *v) {
  json_object *a = json_object_new_array();
  for (size_t i = 0; v && v[i]; i++)
    json_object_array_add(a, json_object_new_string(v[i]));
  return a;
}

static void serve_version(struct req *r) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "major", json_object_new_string("1"));
  json_object_object_add(o, "minor", json_object_new_string(KUBE_SERVER_MINOR));
  json_object_object_add(o, "gitVersion",
                         json_object_new_string("v1." KUBE_SERVER_MINOR ".0"));
  json_object_object_add(o, "gitCommit", json_object_new_string("libkube"));
  json_object_object_add(o, "gitTreeState", json_object_new_string("clean"));
  json_object_object_add(o, "buildDate",
                         json_object_new_string("2026-01-01T00:00:00Z"));
  json_object_object_add(o, "goVersion", json_object_new_string("go1.23.0"));
  json_object_object_add(o, "compiler", json_object_new_string("gc"));
  json_object_object_add(o, "platform", json_object_new_string("linux/amd64"));
  as_reply_json(r, 200, o);
}

static json_object *server_cidrs(struct req *r) {
  json_object *a = json_object_new_array();
  json_object *c = json_object_new_object();
  char addr[300];
  snprintf(addr, sizeof addr, "%s:%d", r->srv->advertise_address,
           r->srv->advertise_port);
  json_object_object_add(c, "clientCIDR", json_object_new_string("0.0.0.0/0"));
  json_object_object_add(c, "serverAddress", json_object_new_string(addr));
  json_object_array_add(a, c);
  return a;
}

static void serve_api(struct req *r) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "kind", json_object_new_string("APIVersions"));
  json_object *v = json_object_new_array();
  json_object_array_add(v, json_object_new_string("v1"));
  json_object_object_add(o, "versions", v);
  json_object_object_add(o, "serverAddressByClientCIDRs", server_cidrs(r));
  as_reply_json(r, 200, o);
}

/* Versions of a group in discovery order (first = preferred). */
static size_t group_versions(kube_apiserver_t *srv, const char *group,
                             const char **out, size_t max) {
  size_t n = 0;
  for (size_t i = 0; i < as_kinds_count(srv); i++) {
    const kube_kind_t *k = as_kinds_at(srv, i);
    if (!streq(k->group, group))
      continue;
    bool seen = false;
    for (size_t j = 0; j < n; j++)
      if (streq(out[j], k->version))
        seen = true;
    if (!seen && n < max)
      out[n++] = k->version;
  }
  return n;
}

static json_object *group_object(kube_apiserver_t *srv, const char *group) {
  const char *versions[16];
  size_t nv = group_versions(srv, group, versions, 16);
  if (nv == 0)
    return NULL;
  json_object *g = json_object_new_object();
  json_object_object_add(g, "name", json_object_new_string(group));
  json_object *va = json_object_new_array();
  json_object *pref = NULL;
  for (size_t i = 0; i < nv; i++) {
    char gv[256];
    snprintf(gv, sizeof gv, "%s/%s", group, versions[i]);
    json_object *v = json_object_new_object();
    json_object_object_add(v, "groupVersion", json_object_new_string(gv));
    json_object_object_add(v, "version", json_object_new_string(versions[i]));
    if (!pref)
      pref = json_object_get(v);
    json_object_array_add(va, v);
  }
  json_object_object_add(g, "versions", va);
  json_object_object_add(g, "preferredVersion", pref);
  return g;
}

static void serve_apis(struct req *r) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "kind", json_object_new_string("APIGroupList"));
  json_object_object_add(o, "apiVersion", json_object_new_string("v1"));
  json_object *groups = json_object_new_array();
  for (size_t i = 0; i < as_kinds_count(r->srv); i++) {
    const kube_kind_t *k = as_kinds_at(r->srv, i);
    if (!k->group[0])
      continue;
    bool dup = false;
    for (size_t j = 0; j < i && !dup; j++)
      dup = streq(as_kinds_at(r->srv, j)->group, k->group);
    if (dup)
      continue;
    json_object *g = group_object(r->srv, k->group);
    if (g)
      json_object_array_add(groups, g);
  }
  as_ext_discovery_groups(r->srv, groups);
  as_aggregator_discovery_groups(r->srv, groups);
  json_object_object_add(o, "groups", groups);
  as_reply_json(r, 200, o);
}

static json_object *resource_entry(const char *name, const char *singular,
                                   bool namespaced, const char *group,
                                   const char *version, const char *kind,
                                   const char *const *verbs) {
  json_object *e = json_object_new_object();
  json_object_object_add(e, "name", json_object_new_string(name));
  json_object_object_add(e, "singularName", json_object_new_string(singular));
  json_object_object_add(e, "namespaced", json_object_new_boolean(namespaced));
  if (group)
    json_object_object_add(e, "group", json_object_new_string(group));
  if (version)
    json_object_object_add(e, "version", json_object_new_string(version));
  json_object_object_add(e, "kind", json_object_new_string(kind));
  json_object_object_add(e, "verbs", as_str_array(verbs));
  return e;
}

struct sub_desc as_discovery_subresource(const kube_kind_t *k,
                                         const char *sub) {
  static const char *const status_verbs[] = {"get", "patch", "update", NULL};
  static const char *const get_verbs[] = {"get", NULL};
  static const char *const create_verbs[] = {"create", NULL};
  static const char *const exec_verbs[] = {"create", "get", NULL};
  if (streq(sub, "status") || streq(sub, "ephemeralcontainers"))
    return (struct sub_desc){NULL, NULL, k->kind, status_verbs};
  if (streq(sub, "scale"))
    return (struct sub_desc){"autoscaling", "v1", "Scale", status_verbs};
  if (streq(sub, "binding"))
    return (struct sub_desc){NULL, NULL, "Binding", create_verbs};
  if (streq(sub, "eviction"))
    return (struct sub_desc){"policy", "v1", "Eviction", create_verbs};
  if (streq(sub, "exec"))
    return (struct sub_desc){NULL, NULL, "PodExecOptions", exec_verbs};
  if (streq(sub, "attach"))
    return (struct sub_desc){NULL, NULL, "PodAttachOptions", exec_verbs};
  if (streq(sub, "portforward"))
    return (struct sub_desc){NULL, NULL, "PodPortForwardOptions", exec_verbs};
  return (struct sub_desc){NULL, NULL, k->kind, get_verbs};
}

static void add_subresources(json_object *list, const kube_kind_t *k) {
  for (size_t i = 0; k->subresources && k->subresources[i]; i++) {
    const char *sub = k->subresources[i];
    char name[256];
    snprintf(name, sizeof name, "%s/%s", k->resource, sub);
    struct sub_desc d = as_discovery_subresource(k, sub);
    json_object_array_add(list, resource_entry(name, "", k->namespaced, d.group,
                                               d.version, d.kind, d.verbs));
  }
}

static bool serve_resource_list(struct req *r, const char *group,
                                const char *version) {
  json_object *resources = json_object_new_array();
  size_t found = 0;
  for (size_t i = 0; i < as_kinds_count(r->srv); i++) {
    const kube_kind_t *k = as_kinds_at(r->srv, i);
    if (!streq(k->group, group) || !streq(k->version, version))
      continue;
    found++;
    json_object *e = resource_entry(k->resource, k->singular, k->namespaced,
                                    NULL, NULL, k->kind, k->verbs);
    if (k->short_names && k->short_names[0])
      json_object_object_add(e, "shortNames", as_str_array(k->short_names));
    if (k->categories && k->categories[0])
      json_object_object_add(e, "categories", as_str_array(k->categories));
    json_object_array_add(resources, e);
    add_subresources(resources, k);
  }
  if (!found) {
    json_object_put(resources);
    return false;
  }
  json_object *o = json_object_new_object();
  json_object_object_add(o, "kind", json_object_new_string("APIResourceList"));
  json_object_object_add(o, "apiVersion", json_object_new_string("v1"));
  char gv[256];
  if (group[0])
    snprintf(gv, sizeof gv, "%s/%s", group, version);
  else
    snprintf(gv, sizeof gv, "%s", version);
  json_object_object_add(o, "groupVersion", json_object_new_string(gv));
  json_object_object_add(o, "resources", resources);
  as_reply_json(r, 200, o);
  return true;
}

static bool is_health(const char *path, const char *name) {
  size_t n = strlen(name);
  return strncmp(path, name, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Serve the non-resource paths; false when the path is not one. */
bool as_discovery_serve(struct req *r) {
  const char *p = r->path;
  struct route *rt = &r->rt;
  if (r->method != M_GET && r->method != M_HEAD) {
    if (rt->is_api || streq(p, "/version") || is_health(p, "/healthz")) {
      as_reply_status(r, KUBE_REASON_METHOD_NOT_ALLOWED,
                      "method %s is not allowed on %s", r->method_str, p);
      return true;
    }
    return false;
  }
  if (streq(p, "/version") || streq(p, "/version/")) {
    serve_version(r);
    return true;
  }
  if (is_health(p, "/healthz") || is_health(p, "/livez")) {
    reply_text(r, 200, "ok");
    return true;
  }
  if (is_health(p, "/readyz")) {
    if (r->srv->ready && !r->srv->shutting_down)
      reply_text(r, 200, "ok");
    else
      reply_text(r, 503, "not ready");
    return true;
  }
  if (!rt->is_api)
    return false;
  if (!rt->group || (!rt->group[0] && !rt->version)) {
    bool core = rt->group && !rt->group[0];
    if (as_discovery_wants_aggregated(r))
      as_discovery_serve_aggregated(r, core);
    else if (core)
      serve_api(r);
    else
      serve_apis(r);
    return true;
  }
  if (!rt->version) {
    json_object *g = group_object(r->srv, rt->group);
    if (!g)
      return false;
    json_object_object_add(g, "kind", json_object_new_string("APIGroup"));
    json_object_object_add(g, "apiVersion", json_object_new_string("v1"));
    as_reply_json(r, 200, g);
    return true;
  }
  return serve_resource_list(r, rt->group, rt->version);
}
