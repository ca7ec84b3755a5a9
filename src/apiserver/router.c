/* SPDX-License-Identifier: Apache-2.0 */
/* URL -> group/version/namespace/resource/name/subresource, and as_dispatch
 * to the handlers. */
#include "apiserver/authz.h"

void as_route_clear(struct route *rt) {
  api_kind_unref(rt->kind);
  free(rt->group);
  free(rt->version);
  free(rt->ns);
  free(rt->resource);
  free(rt->name);
  free(rt->sub);
  memset(rt, 0, sizeof(*rt));
}

#define MAX_SEGS 12

static int split(const char *path, char **segs, int max) {
  int n = 0;
  const char *p = path;
  while (*p) {
    while (*p == '/')
      p++;
    if (!*p)
      break;
    const char *e = strchr(p, '/');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (n == max)
      return -1;
    segs[n] = strndup(p, len);
    if (!segs[n])
      return -1;
    n++;
    p += len;
  }
  return n;
}

static char *take(char **segs, int i) {
  return steal_pointer(&segs[i]);
}

int as_route_parse(const char *path, struct route *rt, kube_error_t *err) {
  char *segs[MAX_SEGS] = {0};
  memset(rt, 0, sizeof(*rt));
  int n = split(path, segs, MAX_SEGS);
  int rc = 0;
  if (n < 0) {
    rc = kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                        "the server could not find the requested resource");
    goto out;
  }
  int i;
  if (n >= 1 && streq(segs[0], "api")) {
    rt->is_api = true;
    rt->group = strdup("");
    if (n >= 2)
      rt->version = take(segs, 1);
    i = 2;
  } else if (n >= 1 && streq(segs[0], "apis")) {
    rt->is_api = true;
    if (n >= 2)
      rt->group = take(segs, 1);
    if (n >= 3)
      rt->version = take(segs, 2);
    i = 3;
  } else {
    goto out;
  }
  rt->depth = n;
  if (i < n && streq(segs[i], "watch")) {
    rt->legacy_watch = true;
    i++;
  }
  int rest = n - i;
  if (rest <= 0)
    goto out;
  if (streq(segs[i], "namespaces") && rest >= 3 &&
      !(rest == 3 && rt->group && !rt->group[0] &&
        (streq(segs[i + 2], "status") || streq(segs[i + 2], "finalize")))) {
    rt->ns = take(segs, i + 1);
    i += 2;
    rest -= 2;
  }
  /* nodes/N/proxy/<path...>: the rest of the path is the proxied one. */
  if (rest > 3 && !streq(segs[i + 2], "proxy")) {
    rc = kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                        "the server could not find the requested resource");
    goto out;
  }
  rt->resource = take(segs, i);
  if (rest >= 2)
    rt->name = take(segs, i + 1);
  if (rest >= 3)
    rt->sub = take(segs, i + 2);
out:
  for (int j = 0; j < MAX_SEGS; j++)
    free(segs[j]);
  return rc;
}

char *as_store_prefix(const kube_kind_t *k, const char *ns) {
  char *s = NULL;
  const char *g = k->group[0] ? k->group : "core";
  int rc = ns && k->namespaced
               ? asprintf(&s, "/registry/%s/%s/%s/", g, k->resource, ns)
               : asprintf(&s, "/registry/%s/%s/", g, k->resource);
  return rc < 0 ? NULL : s;
}

char *as_store_key(const kube_kind_t *k, const char *ns, const char *name) {
  char *s = NULL;
  const char *g = k->group[0] ? k->group : "core";
  int rc = k->namespaced
               ? asprintf(&s, "/registry/%s/%s/%s/%s", g, k->resource,
                          ns ? ns : "", name)
               : asprintf(&s, "/registry/%s/%s/%s", g, k->resource, name);
  return rc < 0 ? NULL : s;
}

static void not_found(struct req *r) {
  as_reply_status(r, KUBE_REASON_NOT_FOUND,
                  "the server could not find the requested resource");
}

void as_redispatch(struct req *r) {
  as_route_clear(&r->rt);
  r->reply_transform = NULL;
  r->storage_edit = false;
  r->write_tree_ours = false;
  as_dispatch(r);
}

static void dispatch(struct req *r);

void as_dispatch(struct req *r) {
  kube_apiserver_t *srv = r->srv;
  dispatch(r);
  /* r may be gone: the user was for the handler's synchronous part. */
  srv->req_user = NULL;
}

static void dispatch(struct req *r) {
  if (r->method == M_OTHER) {
    if (r->method_str && streq(r->method_str, "TOO_LARGE"))
      as_reply_status(r, KUBE_REASON_TOO_LARGE,
                      "the request body exceeds the limit of %zu bytes",
                      r->srv->max_body);
    else
      as_reply_status(r, KUBE_REASON_METHOD_NOT_ALLOWED,
                      "method %s is not allowed",
                      r->method_str ? r->method_str : "");
    return;
  }
  /* Public paths (a web UI's files) decide for themselves: no
   * authorization, whoever asks. */
  if (as_ext_public_path(r->srv, r->path) && as_ext_dispatch_path(r))
    return;
  kube_error_t err = KUBE_ERROR_INIT;
  if (as_route_parse(r->path, &r->rt, &err) < 0) {
    as_reply_error(r, &err);
    kube_error_clear(&err);
    return;
  }
  /* Authorization before anything tells whether the resource exists. */
  if (!as_authz_request(r))
    return;
  r->srv->req_user = r->user;
  if (as_ext_dispatch_path(r))
    return;
  if (streq(r->path, "/openapi/v2")) {
    as_openapi_serve(r);
    return;
  }
  if (streq(r->path, "/openapi/v3") || str_has_prefix(r->path, "/openapi/v3/")) {
    as_openapi_v3_serve(r);
    return;
  }
  struct route *rt = &r->rt;
  if (!rt->resource) {
    if (!as_discovery_serve(r) && !as_aggregator_dispatch(r))
      not_found(r);
    return;
  }
  rt->kind = kube_kind_by_resource(rt->group, rt->version ? rt->version : "",
                                   rt->resource);
  if (!rt->kind)
    rt->kind = api_kind_ref(as_crds_lookup(
        r->srv, rt->group, rt->version ? rt->version : "", rt->resource));
  const kube_kind_t *k = rt->kind;
  if (!k) {
    if (!as_aggregator_dispatch(r))
      not_found(r);
    return;
  }
  /* A deprecated version of a custom resource says so on every request,
   * as kube-apiserver does. */
  const char *deprecation = api_cr_deprecation(k);
  if (deprecation)
    as_req_warn(r, "%s", deprecation);
  if (rt->ns && !k->namespaced) {
    not_found(r);
    return;
  }
  if (k->namespaced && !rt->ns && rt->name) {
    /* /api/v1/pods/x is not a path Kubernetes serves. */
    not_found(r);
    return;
  }
  if (rt->name && (!rt->name[0] || strchr(rt->name, '/'))) {
    not_found(r);
    return;
  }
  bool watch = rt->legacy_watch || as_req_query_bool(r, "watch");
  if (as_reviews_dispatch(r))
    return;
  if (as_ext_dispatch_subresource(r))
    return;
  if (r->srv->read_only && r->method != M_GET && r->method != M_HEAD) {
    /* Clients retry a 503 (client-go honours Retry-After). */
    if (r->hreq)
      kube_http_response_add_header(r->hreq, "Retry-After", "5", NULL);
    as_reply_status(r, KUBE_REASON_SERVICE_UNAVAILABLE, "%s",
                    r->srv->read_only);
    return;
  }
  if (rt->sub) {
    as_handle_subresource(r);
    return;
  }
  switch (r->method) {
  case M_GET:
  case M_HEAD:
    if (watch)
      as_handle_watch(r);
    else if (rt->name)
      as_handle_get(r);
    else
      as_handle_list(r);
    return;
  case M_POST:
    if (rt->name) {
      as_reply_status(r, KUBE_REASON_METHOD_NOT_ALLOWED,
                      "POST is not allowed on a named %s", k->resource);
      return;
    }
    as_handle_create(r);
    return;
  case M_PUT:
    if (!rt->name) {
      as_reply_status(r, KUBE_REASON_METHOD_NOT_ALLOWED,
                      "PUT needs the name of the %s", k->singular);
      return;
    }
    as_handle_update(r);
    return;
  case M_PATCH:
    if (!rt->name) {
      as_reply_status(r, KUBE_REASON_METHOD_NOT_ALLOWED,
                      "PATCH needs the name of the %s", k->singular);
      return;
    }
    as_handle_patch(r);
    return;
  case M_DELETE:
    if (rt->name)
      as_handle_delete(r);
    else
      as_handle_deletecollection(r);
    return;
  default:
    as_reply_status(r, KUBE_REASON_METHOD_NOT_ALLOWED, "method not allowed");
  }
}
