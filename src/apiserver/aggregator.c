/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The aggregation layer (kube-aggregator's proxy, in the API server): a
 * request for /apis/<group>/<version>/... that this server does not serve
 * itself goes to the Service of the APIService named <version>.<group>,
 * at an address of its Endpoints (kube-apiserver's
 * --enable-aggregator-routing: no service proxy runs inside the API
 * server), over HTTPS, with the caller's identity in X-Remote-User and
 * X-Remote-Group as the requestheader authenticator of an extension API
 * server reads them.  /apis/<group> is answered here from the group's
 * APIServices.  The APIServices are read from the store on each request,
 * so every server on one store sees the same ones.
 *
 * The backend's certificate is checked against the APIService's caBundle
 * for the name <service>.<namespace>.svc, as kube-aggregator does, unless
 * insecureSkipTLSVerify.  The groups are listed in /apis (APIGroupList);
 * the Available condition and the groups' entries in the aggregated
 * discovery document (apidiscovery.k8s.io/v2) come from
 * aggregator-available.c.  Not done: the proxy client certificate.
 */
#include "apiserver/internal.h"
#include "http/http-private.h"

#define APISERVICES "/registry/apiregistration.k8s.io/apiservices/"

static json_object *store_object(kube_apiserver_t *srv, const char *key) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  kube_store_record_t *rec = kube_store_get(srv->store, key, &err);
  if (!rec)
    return NULL;
  json_object *o = as_record_to_tree(rec, NULL);
  kube_store_record_unref(rec);
  return o;
}

/* The APIGroup of `group` from its APIServices with a service, the
 * highest versionPriority preferred (owned; NULL when there is none). */
static json_object *group_object(json_object **aps, size_t n,
                                 const char *group) {
  json_object *versions = json_object_new_array();
  int64_t best = -1;
  json_object *preferred = NULL;
  for (size_t i = 0; i < n; i++) {
    json_object *spec = kube_json_get(aps[i], "spec");
    const char *g = kube_json_get_string(spec, "group");
    const char *v = kube_json_get_string(spec, "version");
    if (!g || !v || !streq(g, group) || !kube_json_get(spec, "service"))
      continue;
    char gv[512];
    snprintf(gv, sizeof gv, "%s/%s", g, v);
    json_object *e = json_object_new_object();
    json_object_object_add(e, "groupVersion", json_object_new_string(gv));
    json_object_object_add(e, "version", json_object_new_string(v));
    json_object_array_add(versions, e);
    json_object *p = kube_json_get(spec, "versionPriority");
    int64_t prio = p ? json_object_get_int64(p) : 0;
    if (prio > best) {
      best = prio;
      preferred = e;
    }
  }
  if (!preferred) {
    json_object_put(versions);
    return NULL;
  }
  json_object *go = json_object_new_object();
  json_object_object_add(go, "name", json_object_new_string(group));
  json_object_object_add(go, "versions", versions);
  json_object_object_add(go, "preferredVersion", json_object_get(preferred));
  return go;
}

/* Every APIService (owned trees, *n of them; free with free_all). */
static json_object **all_apiservices(kube_apiserver_t *srv, size_t *n) {
  kube_store_list_t l = {0};
  *n = 0;
  if (kube_store_list(srv->store, APISERVICES, NULL, 0, &l, NULL) < 0)
    return NULL;
  json_object **v = calloc(l.n + 1, sizeof *v);
  for (size_t i = 0; v && i < l.n; i++)
    if ((v[*n] = as_record_to_tree(l.items[i], NULL)))
      (*n)++;
  kube_store_list_clear(&l);
  return v;
}

static void free_all(json_object **v, size_t n) {
  for (size_t i = 0; v && i < n; i++)
    json_object_put(v[i]);
  free(v);
}

/* /apis/<group>: false when the group has no APIService. */
static bool serve_group(struct req *r, const char *group) {
  size_t n = 0;
  json_object **aps = all_apiservices(r->srv, &n);
  json_object *go = group_object(aps, n, group);
  free_all(aps, n);
  if (!go)
    return false;
  json_object_object_add(go, "kind", json_object_new_string("APIGroup"));
  json_object_object_add(go, "apiVersion", json_object_new_string("v1"));
  as_reply_json(r, 200, go);
  return true;
}

void as_aggregator_discovery_groups(kube_apiserver_t *srv,
                                    json_object *groups) {
  size_t n = 0;
  json_object **aps = all_apiservices(srv, &n);
  for (size_t i = 0; i < n; i++) {
    const char *g = kube_json_get_string(aps[i], "spec.group");
    bool listed = !g;
    for (size_t k = 0; !listed && k < json_object_array_length(groups); k++)
      listed = streq(kube_json_get_string(
                         json_object_array_get_idx(groups, k), "name") ?: "",
                     g);
    json_object *go = listed ? NULL : group_object(aps, n, g);
    if (go)
      json_object_array_add(groups, go);
  }
  free_all(aps, n);
}

/* The address and port of the APIService's Service (its Endpoints: the
 * first ready address, the port of the Service port's name). */
int as_aggregator_backend(kube_apiserver_t *srv, json_object *svcref,
                          char *host, size_t hlen, int *port,
                          kube_error_t *err) {
  const char *ns = kube_json_get_string(svcref, "namespace");
  const char *name = kube_json_get_string(svcref, "name");
  json_object *p = kube_json_get(svcref, "port");
  int want = p ? json_object_get_int(p) : 443;
  char key[600];
  snprintf(key, sizeof key, "/registry/core/services/%s/%s", ns ? ns : "",
           name ? name : "");
  json_object *svc = store_object(srv, key);
  if (!svc)
    return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                          "service \"%s/%s\" not found", ns ? ns : "",
                          name ? name : "");
  const char *port_name = NULL;
  int target = want;
  json_object *ports = kube_json_get(svc, "spec.ports");
  bool found = false;
  for (size_t i = 0; ports && i < json_object_array_length(ports); i++) {
    json_object *sp = json_object_array_get_idx(ports, i);
    json_object *pp = kube_json_get(sp, "port");
    if (!pp || json_object_get_int(pp) != want)
      continue;
    found = true;
    port_name = kube_json_get_string(sp, "name");
    json_object *tp = kube_json_get(sp, "targetPort");
    if (tp && json_object_is_type(tp, json_type_int))
      target = json_object_get_int(tp);
  }
  char pn[128];
  snprintf(pn, sizeof pn, "%s", port_name ? port_name : "");
  json_object_put(svc);
  if (!found)
    return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                          "no service port %d found for service \"%s\"", want,
                          name ? name : "");
  snprintf(key, sizeof key, "/registry/core/endpoints/%s/%s", ns ? ns : "",
           name ? name : "");
  json_object *ep = store_object(srv, key);
  json_object *subsets = ep ? kube_json_get(ep, "subsets") : NULL;
  *port = 0;
  for (size_t i = 0; subsets && !*port && i < json_object_array_length(subsets);
       i++) {
    json_object *ss = json_object_array_get_idx(subsets, i);
    json_object *addrs = kube_json_get(ss, "addresses");
    json_object *eps = kube_json_get(ss, "ports");
    if (!addrs || !json_object_array_length(addrs))
      continue;
    for (size_t k = 0; eps && k < json_object_array_length(eps); k++) {
      json_object *e = json_object_array_get_idx(eps, k);
      const char *en = kube_json_get_string(e, "name");
      if (streq(en ? en : "", pn) || json_object_array_length(eps) == 1) {
        json_object *ip = kube_json_get(json_object_array_get_idx(addrs, 0),
                                        "ip");
        json_object *epp = kube_json_get(e, "port");
        snprintf(host, hlen, "%s", ip ? json_object_get_string(ip) : "");
        *port = epp ? json_object_get_int(epp) : target;
        break;
      }
    }
  }
  json_object_put(ep);
  if (!*port || !*host)
    return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                          "no endpoints available for service \"%s\"",
                          name ? name : "");
  return 0;
}

void as_aggregator_tls(json_object *as, struct as_agg_tls *t) {
  json_object *skip = kube_json_get(as, "spec.insecureSkipTLSVerify");
  t->insecure = skip && json_object_get_boolean(skip);
  const char *b64 = kube_json_get_string(as, "spec.caBundle");
  t->ca_len = 0;
  t->ca = b64 && *b64 ? kube_base64_decode(b64, strlen(b64), &t->ca_len, NULL)
                      : NULL;
  snprintf(t->server_name, sizeof t->server_name, "%s.%s.svc",
           kube_json_get_string(as, "spec.service.name") ?: "",
           kube_json_get_string(as, "spec.service.namespace") ?: "");
}

struct agg_call {
  const char *url;
  bool insecure;
  kube_loop_t *loop;
  const char *ca; /* PEM */
  size_t ca_len;
  const char *server_name;
};

static void proxy_to(const kube_apiserver_handler_ctx_t *ctx, void *arg) {
  struct agg_call *c = arg;
  const char *headers[2 * 17 + 1] = {0};
  size_t n = 0;
  headers[n++] = "X-Remote-User";
  headers[n++] = ctx->user && ctx->user->name ? ctx->user->name : "";
  for (size_t i = 0; ctx->user && ctx->user->groups &&
                     ctx->user->groups[i] && n + 2 < 2 * 17;
       i++) {
    headers[n++] = "X-Remote-Group";
    headers[n++] = ctx->user->groups[i];
  }
  kube_http_proxy_options_t o = {
      .struct_size = sizeof o,
      .tls_insecure_skip_verify = c->insecure,
      .headers = headers,
      .loop = c->loop,
      .tls_ca_pem = c->ca,
      .tls_ca_pem_len = c->ca_len,
      .tls_server_name = c->server_name,
  };
  kube_http_proxy(ctx->request, c->url, &o, NULL);
}

/* In-process callers (the controllers) take a reply, not a stream: the
 * backend's answer is gathered and given to them whole. */
struct gather {
  struct req *r;
  int status;
  char *ctype;
  kube_strbuf_t body;
};

static void gather_reply(void *arg, int status, const char *ctype,
                         const void *body, size_t len) {
  struct gather *g = arg;
  struct req *r = g->r;
  r->ext_local = NULL;
  r->done = true;
  r->tp->reply(r, status, ctype ? ctype : "", body, len);
  kube_strbuf_clear(&g->body);
  free(g->ctype);
  free(g);
}

static void gather_begin(void *arg, int status, const char *ctype) {
  struct gather *g = arg;
  g->status = status;
  g->ctype = strdup(ctype ? ctype : "");
}

static void gather_data(void *arg, const void *data, size_t len) {
  struct gather *g = arg;
  kube_strbuf_append_len(&g->body, data, len);
}

static void gather_end(void *arg) {
  struct gather *g = arg;
  if (g->body.oom)
    gather_reply(g, 500, "text/plain", "out of memory", 13);
  else
    gather_reply(g, g->status, g->ctype, g->body.data ? g->body.data : "",
                 g->body.len);
}

static const struct http_local_sink gather_sink = {
    .reply = gather_reply,
    .stream_begin = gather_begin,
    .stream_data = gather_data,
    .stream_end = gather_end,
};

static void hand_off(struct req *r, struct agg_call *c) {
  if (!r->tp_ctx) {
    as_ext_hand_off(r, proxy_to, c, false);
    return;
  }
  struct gather *g = calloc(1, sizeof *g);
  if (!g) {
    as_reply_status(r, KUBE_REASON_INTERNAL, "out of memory");
    return;
  }
  g->r = r;
  kube_http_request_t *h = r->hreq;
  r->hreq = NULL;
  r->ext_local = h;
  kube_apiserver_handler_ctx_t ctx = {
      .struct_size = sizeof ctx, .request = h, .user = r->user};
  http_request_set_local_sink(h, &gather_sink, g);
  proxy_to(&ctx, c);
}

bool as_aggregator_dispatch(struct req *r) {
  const char *p = r->path;
  if (!p || !str_has_prefix(p, "/apis/"))
    return false;
  const char *g = p + 6;
  const char *gs = strchr(g, '/');
  char group[256], version[128];
  snprintf(group, sizeof group, "%.*s", (int)(gs ? gs - g : (long)strlen(g)),
           g);
  if (!*group)
    return false;
  const char *v = gs ? gs + 1 : "";
  const char *vs = strchr(v, '/');
  snprintf(version, sizeof version, "%.*s",
           (int)(vs ? vs - v : (long)strlen(v)), v);
  if (!*version)
    return (r->method == M_GET || r->method == M_HEAD) &&
           serve_group(r, group);
  char key[600];
  snprintf(key, sizeof key, APISERVICES "%s.%s", version, group);
  json_object *as = store_object(r->srv, key);
  json_object *svcref = as ? kube_json_get(as, "spec.service") : NULL;
  if (!svcref) { /* none, or Local: this server's own (not found) */
    json_object_put(as);
    return false;
  }
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  char host[128] = "";
  int port = 0;
  struct as_agg_tls tls;
  as_aggregator_tls(as, &tls);
  cleanup_free unsigned char *ca = tls.ca;
  if (!tls.insecure && !ca)
    kube_error_set(&err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                   "%s.%s: no caBundle to verify the service with", version,
                   group);
  else
    as_aggregator_backend(r->srv, svcref, host, sizeof host, &port, &err);
  json_object_put(as);
  if (err.message) {
    as_reply_error(r, &err);
    return true;
  }
  const char *q = r->hreq ? kube_http_request_query(r->hreq) : NULL;
  bool v6 = strchr(host, ':') != NULL;
  cleanup_free char *url = NULL;
  if (asprintf(&url, "https://%s%s%s:%d%s%s%s", v6 ? "[" : "", host,
               v6 ? "]" : "", port, p, q && *q ? "?" : "", q ? q : "") < 0) {
    url = NULL;
    kube_make_oom(&err);
    as_reply_error(r, &err);
    return true;
  }
  struct agg_call c = {url,         tls.insecure, r->srv->loop,
                       (const char *)ca, tls.ca_len, tls.server_name};
  hand_off(r, &c);
  return true;
}
