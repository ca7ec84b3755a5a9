/* SPDX-License-Identifier: Apache-2.0 */
/* Router extension points: handlers other components register for
 * non-API paths, aggregated-style group-versions and subresources.  They
 * run after authentication and get the HTTP request itself, so they can
 * stream, upgrade (exec/attach/port-forward) or proxy. */
#include "apiserver/internal.h"
#include "http/http-private.h"

enum ext_type { EXT_PATH, EXT_GV, EXT_SUB };

struct as_ext {
  enum ext_type type;
  char *prefix;           /* EXT_PATH */
  bool public_;           /* EXT_PATH: anyone may fetch it */
  char *group;            /* EXT_GV, EXT_SUB */
  char *version;          /* EXT_GV */
  json_object *resources; /* EXT_GV: APIResource array, or NULL */
  char *resource, *sub;   /* EXT_SUB */
  kube_apiserver_handler_fn fn;
  void *arg;
  struct as_ext *next;
};

static void ext_free(struct as_ext *e) {
  free(e->prefix);
  free(e->group);
  free(e->version);
  if (e->resources)
    json_object_put(e->resources);
  free(e->resource);
  free(e->sub);
  free(e);
}

void as_exts_free(kube_apiserver_t *srv) {
  while (srv->exts) {
    struct as_ext *e = srv->exts;
    srv->exts = e->next;
    ext_free(e);
  }
}

static bool is_api_path(const char *p) {
  return streq(p, "/api") || streq(p, "/apis") || str_has_prefix(p, "/api/") ||
         str_has_prefix(p, "/apis/");
}

/* A path segment: non-empty, no '/'. */
static bool segment_ok(const char *s) {
  return s && *s && !strchr(s, '/') && strlen(s) < 254;
}

static struct as_ext *find(kube_apiserver_t *srv, const struct as_ext *like) {
  for (struct as_ext *e = srv->exts; e; e = e->next) {
    if (e->type != like->type)
      continue;
    if (e->type == EXT_PATH && streq(e->prefix, like->prefix))
      return e;
    if (e->type == EXT_GV && streq(e->group, like->group) &&
        streq(e->version, like->version))
      return e;
    if (e->type == EXT_SUB && streq(e->group, like->group) &&
        streq(e->resource, like->resource) && streq(e->sub, like->sub))
      return e;
  }
  return NULL;
}

/* Add e (stolen), replacing an equal registration. */
static int add(kube_apiserver_t *srv, struct as_ext *e, kube_error_t *err) {
  if ((e->type == EXT_PATH && !e->prefix) ||
      (e->type != EXT_PATH && !e->group) ||
      (e->type == EXT_GV && !e->version) ||
      (e->type == EXT_SUB && (!e->resource || !e->sub))) {
    ext_free(e);
    return kube_make_oom(err);
  }
  struct as_ext *old = find(srv, e);
  if (old) {
    old->fn = e->fn;
    old->arg = e->arg;
    old->public_ = e->public_;
    if (e->type == EXT_GV) {
      if (old->resources)
        json_object_put(old->resources);
      old->resources = steal_pointer(&e->resources);
    }
    ext_free(e);
    return 0;
  }
  e->next = srv->exts;
  srv->exts = e;
  return 0;
}

static int handle_path(kube_apiserver_t *srv, const char *prefix, bool public_,
                       kube_apiserver_handler_fn fn, void *arg,
                       kube_error_t *err) {
  if (!srv || !fn || !prefix || prefix[0] != '/' || is_api_path(prefix) ||
      str_has_prefix(prefix, "/apis") || streq(prefix, "/api"))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "a path handler needs a function and a prefix "
                          "starting with / outside /api and /apis");
  struct as_ext *e = calloc(1, sizeof *e);
  if (!e)
    return kube_make_oom(err);
  e->type = EXT_PATH;
  e->prefix = strdup(prefix);
  e->public_ = public_;
  e->fn = fn;
  e->arg = arg;
  return add(srv, e, err);
}

KUBE_EXPORT int kube_apiserver_handle_path(kube_apiserver_t *srv,
                                           const char *prefix,
                                           kube_apiserver_handler_fn fn,
                                           void *arg, kube_error_t *err) {
  return handle_path(srv, prefix, false, fn, arg, err);
}

KUBE_EXPORT int kube_apiserver_handle_public_path(kube_apiserver_t *srv,
                                                  const char *prefix,
                                                  kube_apiserver_handler_fn fn,
                                                  void *arg,
                                                  kube_error_t *err) {
  return handle_path(srv, prefix, true, fn, arg, err);
}

KUBE_EXPORT int kube_apiserver_handle_group_version(
    kube_apiserver_t *srv, const char *group, const char *version,
    const char *resources_json, kube_apiserver_handler_fn fn, void *arg,
    kube_error_t *err) {
  if (!srv || !fn || !segment_ok(group) || !segment_ok(version) ||
      !strchr(group, '.'))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "a group-version handler needs a function, a "
                          "dotted group name and a version");
  for (size_t i = 0; i < kube_kinds_count(); i++)
    if (streq(kube_kinds_at(i)->group, group))
      return kube_error_set(err, KUBE_REASON_ALREADY_EXISTS, EEXIST,
                            "group %s is served by the API server itself",
                            group);
  json_object *res = NULL;
  if (resources_json) {
    res = kube_json_parse(resources_json, strlen(resources_json), err);
    if (!res)
      return -1;
    if (!json_object_is_type(res, json_type_array)) {
      json_object_put(res);
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                            "resources_json must be a JSON array");
    }
  }
  struct as_ext *e = calloc(1, sizeof *e);
  if (!e) {
    if (res)
      json_object_put(res);
    return kube_make_oom(err);
  }
  e->type = EXT_GV;
  e->group = strdup(group);
  e->version = strdup(version);
  e->resources = res;
  e->fn = fn;
  e->arg = arg;
  return add(srv, e, err);
}

KUBE_EXPORT int
kube_apiserver_handle_subresource(kube_apiserver_t *srv, const char *group,
                                  const char *resource, const char *sub,
                                  kube_apiserver_handler_fn fn, void *arg,
                                  kube_error_t *err) {
  if (!srv || !fn || !group || !segment_ok(resource) || !segment_ok(sub))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "a subresource handler needs a function, a group, "
                          "a resource and a subresource");
  struct as_ext *e = calloc(1, sizeof *e);
  if (!e)
    return kube_make_oom(err);
  e->type = EXT_SUB;
  e->group = strdup(group);
  e->resource = strdup(resource);
  e->sub = strdup(sub);
  e->fn = fn;
  e->arg = arg;
  return add(srv, e, err);
}

/* ---- hand-off ---- */

/* In-process requests: the handler's replies come back through the
 * call's transport. */
static void sink_reply(void *arg, int status, const char *ctype,
                       const void *body, size_t len) {
  struct req *r = arg;
  r->ext_local = NULL;
  r->done = true;
  r->tp->reply(r, status, ctype ? ctype : "", body, len);
}

static void sink_begin(void *arg, int status, const char *ctype) {
  struct req *r = arg;
  r->tp->stream_start(r, status, ctype ? ctype : "");
}

static void sink_data(void *arg, const void *data, size_t len) {
  struct req *r = arg;
  r->tp->stream_chunk(r, data, len);
}

static void sink_end(void *arg) {
  struct req *r = arg;
  r->ext_local = NULL;
  r->done = true;
  r->tp->stream_end(r);
}

static const struct http_local_sink local_sink = {
    .reply = sink_reply,
    .stream_begin = sink_begin,
    .stream_data = sink_data,
    .stream_end = sink_end,
};

void as_ext_hand_off(struct req *r, kube_apiserver_handler_fn fn, void *arg,
                     bool with_route) {
  kube_http_request_t *h = r->hreq;
  r->hreq = NULL;
  /* The route moves out of r: an in-process reply may finish r while the
   * handler still reads the context. */
  struct route rt = r->rt;
  memset(&r->rt, 0, sizeof r->rt);
  kube_apiserver_handler_ctx_t ctx = {
      .struct_size = sizeof ctx, .request = h, .user = r->user};
  if (with_route) {
    ctx.group = rt.group ? rt.group : "";
    ctx.version = rt.version;
    ctx.resource = rt.resource;
    ctx.namespace_ = rt.ns;
    ctx.name = rt.name;
    ctx.subresource = rt.sub;
  }
  if (r->tp_ctx) {
    /* In-process: r stays in flight until the handler finishes h. */
    r->ext_local = h;
    http_request_set_local_sink(h, &local_sink, r);
    fn(&ctx, arg);
  } else {
    kube_apiserver_user_t user = *r->user;
    ctx.user = &user;
    r->done = true;
    fn(&ctx, arg);
    as_req_finish(r);
  }
  as_route_clear(&rt);
}

static struct as_ext *match_path(kube_apiserver_t *srv, const char *path) {
  struct as_ext *best = NULL;
  for (struct as_ext *e = srv->exts; e; e = e->next)
    if (e->type == EXT_PATH && str_has_prefix(path, e->prefix) &&
        (!best || strlen(e->prefix) > strlen(best->prefix)))
      best = e;
  return best;
}

static json_object *group_object(kube_apiserver_t *srv, const char *group) {
  json_object *g = NULL, *versions = NULL;
  for (struct as_ext *e = srv->exts; e; e = e->next) {
    if (e->type != EXT_GV || !streq(e->group, group))
      continue;
    if (!g) {
      g = json_object_new_object();
      json_object_object_add(g, "name", json_object_new_string(group));
      versions = json_object_new_array();
      json_object_object_add(g, "versions", versions);
    }
    char gv[512];
    snprintf(gv, sizeof gv, "%s/%s", e->group, e->version);
    json_object *v = json_object_new_object();
    json_object_object_add(v, "groupVersion", json_object_new_string(gv));
    json_object_object_add(v, "version", json_object_new_string(e->version));
    json_object_array_add(versions, v);
    /* Registered last = listed first = preferred. */
    if (!json_object_object_get_ex(g, "preferredVersion", NULL))
      json_object_object_add(g, "preferredVersion", json_object_get(v));
  }
  return g;
}

static void serve_resource_list(struct req *r, const struct as_ext *e) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "kind", json_object_new_string("APIResourceList"));
  json_object_object_add(o, "apiVersion", json_object_new_string("v1"));
  char gv[512];
  snprintf(gv, sizeof gv, "%s/%s", e->group, e->version);
  json_object_object_add(o, "groupVersion", json_object_new_string(gv));
  json_object_object_add(o, "resources", json_object_get(e->resources));
  as_reply_json(r, 200, o);
}

bool as_ext_public_path(kube_apiserver_t *srv, const char *path) {
  if (!path || is_api_path(path))
    return false;
  const struct as_ext *e = match_path(srv, path);
  return e && e->public_;
}

bool as_ext_dispatch_path(struct req *r) {
  kube_apiserver_t *srv = r->srv;
  if (!srv->exts)
    return false;
  const char *p = r->path;
  if (!str_has_prefix(p, "/apis/")) {
    if (is_api_path(p))
      return false;
    struct as_ext *e = match_path(srv, p);
    if (!e)
      return false;
    as_ext_hand_off(r, e->fn, e->arg, false);
    return true;
  }
  /* /apis/<group>[/<version>[/...]] */
  const char *g = p + 6;
  const char *gs = strchr(g, '/');
  size_t gl = gs ? (size_t)(gs - g) : strlen(g);
  const char *v = gs ? gs + 1 : NULL;
  const char *vs = v ? strchr(v, '/') : NULL;
  size_t vl = v ? (vs ? (size_t)(vs - v) : strlen(v)) : 0;
  for (struct as_ext *e = srv->exts; e; e = e->next) {
    if (e->type != EXT_GV || strlen(e->group) != gl ||
        strncmp(e->group, g, gl) != 0)
      continue;
    if (!v || vl == 0) {
      if (r->method != M_GET && r->method != M_HEAD)
        return false;
      json_object *go = group_object(srv, e->group);
      json_object_object_add(go, "kind", json_object_new_string("APIGroup"));
      json_object_object_add(go, "apiVersion", json_object_new_string("v1"));
      as_reply_json(r, 200, go);
      return true;
    }
    if (strlen(e->version) != vl || strncmp(e->version, v, vl) != 0)
      continue;
    bool exact = !vs || vs[1] == '\0';
    if (exact && e->resources && (r->method == M_GET || r->method == M_HEAD)) {
      serve_resource_list(r, e);
      return true;
    }
    as_ext_hand_off(r, e->fn, e->arg, false);
    return true;
  }
  return false;
}

bool as_ext_dispatch_subresource(struct req *r) {
  const struct route *rt = &r->rt;
  if (!rt->sub || !rt->resource)
    return false;
  const char *group = rt->group ? rt->group : "";
  for (struct as_ext *e = r->srv->exts; e; e = e->next)
    if (e->type == EXT_SUB && streq(e->group, group) &&
        streq(e->resource, rt->resource) && streq(e->sub, rt->sub)) {
      as_ext_hand_off(r, e->fn, e->arg, true);
      return true;
    }
  return false;
}

/* Each group once, in registration order. */
static bool first_of_group(kube_apiserver_t *srv, const struct as_ext *e) {
  for (struct as_ext *o = e->next; o; o = o->next)
    if (o->type == EXT_GV && streq(o->group, e->group))
      return false;
  return true;
}

void as_ext_discovery_groups(kube_apiserver_t *srv, json_object *groups) {
  for (struct as_ext *e = srv->exts; e; e = e->next)
    if (e->type == EXT_GV && first_of_group(srv, e))
      json_object_array_add(groups, group_object(srv, e->group));
}

/* APIResource (v1 discovery) -> APIResourceDiscovery (v2). */
static json_object *v2_resource(const struct as_ext *e, json_object *res) {
  json_object *o = json_object_new_object();
  const char *name = kube_json_get_string(res, "name");
  const char *kind = kube_json_get_string(res, "kind");
  json_object *ns = kube_json_get(res, "namespaced");
  json_object_object_add(o, "resource",
                         json_object_new_string(name ? name : ""));
  json_object *rk = json_object_new_object();
  json_object_object_add(rk, "group", json_object_new_string(e->group));
  json_object_object_add(rk, "version", json_object_new_string(e->version));
  json_object_object_add(rk, "kind", json_object_new_string(kind ? kind : ""));
  json_object_object_add(o, "responseKind", rk);
  json_object_object_add(
      o, "scope",
      json_object_new_string(ns && json_object_get_boolean(ns) ? "Namespaced"
                                                               : "Cluster"));
  const char *singular = kube_json_get_string(res, "singularName");
  json_object_object_add(o, "singularResource",
                         json_object_new_string(singular ? singular : ""));
  json_object *verbs = kube_json_get(res, "verbs");
  json_object_object_add(
      o, "verbs", verbs ? json_object_get(verbs) : json_object_new_array());
  return o;
}

void as_ext_discovery_aggregated(kube_apiserver_t *srv, json_object *items) {
  for (struct as_ext *e = srv->exts; e; e = e->next) {
    if (e->type != EXT_GV || !first_of_group(srv, e))
      continue;
    json_object *g = json_object_new_object();
    json_object *meta = json_object_new_object();
    json_object_object_add(meta, "name", json_object_new_string(e->group));
    json_object_object_add(g, "metadata", meta);
    json_object *versions = json_object_new_array();
    for (struct as_ext *o = srv->exts; o; o = o->next) {
      if (o->type != EXT_GV || !streq(o->group, e->group))
        continue;
      json_object *v = json_object_new_object();
      json_object_object_add(v, "version", json_object_new_string(o->version));
      json_object *res = json_object_new_array();
      size_t n = o->resources ? json_object_array_length(o->resources) : 0;
      for (size_t i = 0; i < n; i++)
        json_object_array_add(
            res, v2_resource(o, json_object_array_get_idx(o->resources, i)));
      json_object_object_add(v, "resources", res);
      json_object_object_add(v, "freshness", json_object_new_string("Current"));
      json_object_array_add(versions, v);
    }
    json_object_object_add(g, "versions", versions);
    json_object_array_add(items, g);
  }
}
