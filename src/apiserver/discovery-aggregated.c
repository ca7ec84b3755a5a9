/* SPDX-License-Identifier: Apache-2.0 */
/* Aggregated discovery (apidiscovery.k8s.io/v2 APIGroupDiscoveryList) on
 * /api and /apis: one request instead of one per group-version.  Served
 * only when the client asks for it in Accept; the content type of the
 * reply says which form it is, so clients fall back cleanly. */
#include "apiserver/internal.h"

#define AGG_CTYPE                                                              \
  "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

bool as_discovery_wants_aggregated(const struct req *r) {
  return r->accept && strstr(r->accept, "as=APIGroupDiscoveryList") &&
         strstr(r->accept, "g=apidiscovery.k8s.io;v=v2");
}

static json_object *gvk(const char *g, const char *v, const char *k) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "group", json_object_new_string(g));
  json_object_object_add(o, "version", json_object_new_string(v));
  json_object_object_add(o, "kind", json_object_new_string(k));
  return o;
}

static json_object *subresource(const kube_kind_t *k, const char *sub) {
  struct sub_desc d = as_discovery_subresource(k, sub);
  json_object *s = json_object_new_object();
  json_object_object_add(s, "subresource", json_object_new_string(sub));
  json_object_object_add(s, "responseKind",
                         gvk(d.group ? d.group : k->group,
                             d.version ? d.version : k->version, d.kind));
  json_object_object_add(s, "verbs", as_str_array(d.verbs));
  return s;
}

static json_object *resource(const kube_kind_t *k) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "resource", json_object_new_string(k->resource));
  json_object_object_add(o, "responseKind", gvk(k->group, k->version, k->kind));
  json_object_object_add(
      o, "scope",
      json_object_new_string(k->namespaced ? "Namespaced" : "Cluster"));
  json_object_object_add(o, "singularResource",
                         json_object_new_string(k->singular));
  json_object_object_add(o, "verbs", as_str_array(k->verbs));
  if (k->short_names && k->short_names[0])
    json_object_object_add(o, "shortNames", as_str_array(k->short_names));
  if (k->categories && k->categories[0])
    json_object_object_add(o, "categories", as_str_array(k->categories));
  if (k->subresources && k->subresources[0]) {
    json_object *subs = json_object_new_array();
    for (size_t i = 0; k->subresources[i]; i++)
      json_object_array_add(subs, subresource(k, k->subresources[i]));
    json_object_object_add(o, "subresources", subs);
  }
  return o;
}

/* The APIGroupDiscovery of one group: its versions in discovery order. */
static json_object *group(kube_apiserver_t *srv, const char *name) {
  json_object *g = json_object_new_object();
  json_object *meta = json_object_new_object();
  json_object_object_add(meta, "name", json_object_new_string(name));
  json_object_object_add(g, "metadata", meta);
  json_object *versions = json_object_new_array();
  for (size_t i = 0; i < as_kinds_count(srv); i++) {
    const kube_kind_t *k = as_kinds_at(srv, i);
    if (!streq(k->group, name))
      continue;
    bool dup = false;
    for (size_t j = 0; j < i && !dup; j++) {
      const kube_kind_t *kj = as_kinds_at(srv, j);
      dup = streq(kj->group, name) && streq(kj->version, k->version);
    }
    if (dup)
      continue;
    json_object *v = json_object_new_object();
    json_object_object_add(v, "version", json_object_new_string(k->version));
    json_object *res = json_object_new_array();
    for (size_t j = 0; j < as_kinds_count(srv); j++) {
      const kube_kind_t *kk = as_kinds_at(srv, j);
      if (streq(kk->group, name) && streq(kk->version, k->version))
        json_object_array_add(res, resource(kk));
    }
    json_object_object_add(v, "resources", res);
    json_object_object_add(v, "freshness", json_object_new_string("Current"));
    json_object_array_add(versions, v);
  }
  json_object_object_add(g, "versions", versions);
  return g;
}

/* /api (core only) or /apis (every named group). */
void as_discovery_serve_aggregated(struct req *r, bool core) {
  json_object *list = json_object_new_object();
  json_object_object_add(list, "kind",
                         json_object_new_string("APIGroupDiscoveryList"));
  json_object_object_add(list, "apiVersion",
                         json_object_new_string("apidiscovery.k8s.io/v2"));
  json_object_object_add(list, "metadata", json_object_new_object());
  json_object *items = json_object_new_array();
  if (core) {
    json_object_array_add(items, group(r->srv, ""));
  } else {
    for (size_t i = 0; i < as_kinds_count(r->srv); i++) {
      const kube_kind_t *k = as_kinds_at(r->srv, i);
      if (!k->group[0])
        continue;
      bool dup = false;
      for (size_t j = 0; j < i && !dup; j++)
        dup = streq(as_kinds_at(r->srv, j)->group, k->group);
      if (dup)
        continue;
      json_object_array_add(items, group(r->srv, k->group));
    }
    as_ext_discovery_aggregated(r->srv, items);
    as_aggregator_discovery_aggregated(r->srv, items);
  }
  json_object_object_add(list, "items", items);
  size_t len = 0;
  const char *s = json_object_to_json_string_length(
      list, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
  if (!s) {
    json_object_put(list);
    as_reply_status(r, KUBE_REASON_INTERNAL, "out of memory");
    return;
  }
  if (!r->done) {
    r->done = true;
    r->tp->reply(r, 200, AGG_CTYPE, s, len);
  }
  json_object_put(list);
}
