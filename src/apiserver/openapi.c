/* SPDX-License-Identifier: Apache-2.0 */
/* /openapi/v2.  kubectl asks for the protobuf encoding of the document and
 * refuses a JSON one; an empty protobuf document (an empty body) means "no
 * schema", which turns client-side validation off while every command
 * keeps working.  Clients that accept JSON get a Swagger 2.0 document
 * generated from the kinds table: a definition per kind (with
 * x-kubernetes-group-version-kind) and its REST paths.  /openapi/v3
 * answers 404 (kubectl falls back to v2). */
#include <strings.h>

#include "apiserver/internal.h"

static void def_name(const kube_kind_t *k, const char *kind, char *buf,
                     size_t len) {
  const char *g = k->group[0] ? k->group : "core";
  /* io.k8s.api.apps.v1.Deployment, as the real document names them. */
  char gbuf[128];
  snprintf(gbuf, sizeof gbuf, "%s", g);
  char *dot = strchr(gbuf, '.');
  if (dot)
    *dot = '\0';
  snprintf(buf, len, "io.k8s.api.%s.%s.%s", gbuf, k->version, kind);
}

static json_object *gvk(const kube_kind_t *k, const char *kind) {
  json_object *a = json_object_new_array();
  json_object *e = json_object_new_object();
  json_object_object_add(e, "group", json_object_new_string(k->group));
  json_object_object_add(e, "version", json_object_new_string(k->version));
  json_object_object_add(e, "kind", json_object_new_string(kind));
  json_object_array_add(a, e);
  return a;
}

static json_object *prop(const char *type, const char *desc) {
  json_object *p = json_object_new_object();
  json_object_object_add(p, "type", json_object_new_string(type));
  if (desc)
    json_object_object_add(p, "description", json_object_new_string(desc));
  return p;
}

static json_object *ref(const char *name) {
  char buf[320];
  snprintf(buf, sizeof buf, "#/definitions/%s", name);
  json_object *r = json_object_new_object();
  json_object_object_add(r, "$ref", json_object_new_string(buf));
  return r;
}

static json_object *definition(const kube_kind_t *k, bool list) {
  json_object *d = json_object_new_object();
  json_object_object_add(d, "type", json_object_new_string("object"));
  if (list) {
    char desc[256];
    snprintf(desc, sizeof desc, "%s is a list of %s.", k->list_kind, k->kind);
    json_object_object_add(d, "description", json_object_new_string(desc));
  }
  json_object *p = json_object_new_object();
  json_object_object_add(p, "apiVersion",
                         prop("string", "APIVersion defines the versioned "
                                        "schema of this representation."));
  json_object_object_add(p, "kind",
                         prop("string", "Kind is a string value representing "
                                        "the REST resource."));
  if (list) {
    char item[256];
    def_name(k, k->kind, item, sizeof item);
    json_object *items = prop("array", "List of objects.");
    json_object_object_add(items, "items", ref(item));
    json_object_object_add(p, "items", items);
    json_object_object_add(
        p, "metadata", ref("io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"));
    json_object *req = json_object_new_array();
    json_object_array_add(req, json_object_new_string("items"));
    json_object_object_add(d, "required", req);
  } else {
    json_object_object_add(
        p, "metadata", ref("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
    json_object_object_add(p, "spec", prop("object", NULL));
    json_object_object_add(p, "status", prop("object", NULL));
  }
  json_object_object_add(d, "properties", p);
  json_object_object_add(d, "x-kubernetes-group-version-kind",
                         gvk(k, list ? k->list_kind : k->kind));
  return d;
}

static json_object *operation(const kube_kind_t *k, const char *action,
                              const char *verb_id, const char *resp_def) {
  json_object *op = json_object_new_object();
  char id[256];
  snprintf(id, sizeof id, "%s%s%s%s", verb_id,
           k->namespaced ? "Namespaced" : "", k->kind,
           streq(action, "list") || streq(action, "deletecollection") ? "List"
                                                                      : "");
  json_object_object_add(op, "operationId", json_object_new_string(id));
  json_object *resp = json_object_new_object();
  json_object *ok = json_object_new_object();
  json_object_object_add(ok, "description", json_object_new_string("OK"));
  json_object_object_add(ok, "schema", ref(resp_def));
  json_object_object_add(resp, streq(action, "post") ? "201" : "200", ok);
  json_object *unauth = json_object_new_object();
  json_object_object_add(unauth, "description",
                         json_object_new_string("Unauthorized"));
  json_object_object_add(resp, "401", unauth);
  json_object_object_add(op, "responses", resp);
  json_object_object_add(op, "x-kubernetes-action",
                         json_object_new_string(action));
  json_object_object_add(op, "x-kubernetes-group-version-kind",
                         gvk(k, k->kind));
  return op;
}

static bool has_verb(const kube_kind_t *k, const char *v) {
  for (size_t i = 0; k->verbs && k->verbs[i]; i++)
    if (streq(k->verbs[i], v))
      return true;
  return false;
}

static json_object *build(void) {
  json_object *doc = json_object_new_object();
  json_object_object_add(doc, "swagger", json_object_new_string("2.0"));
  json_object *info = json_object_new_object();
  json_object_object_add(info, "title", json_object_new_string("Kubernetes"));
  json_object_object_add(info, "version",
                         json_object_new_string("v1." KUBE_SERVER_MINOR ".0"));
  json_object_object_add(doc, "info", info);
  json_object *paths = json_object_new_object();
  json_object *defs = json_object_new_object();
  json_object *om = json_object_new_object();
  json_object_object_add(om, "type", json_object_new_string("object"));
  json_object *omp = json_object_new_object();
  static const char *const meta_strings[] = {"name",
                                             "namespace",
                                             "generateName",
                                             "uid",
                                             "resourceVersion",
                                             "creationTimestamp",
                                             "deletionTimestamp",
                                             NULL};
  for (size_t i = 0; meta_strings[i]; i++)
    json_object_object_add(omp, meta_strings[i], prop("string", NULL));
  json_object_object_add(omp, "labels", prop("object", NULL));
  json_object_object_add(omp, "annotations", prop("object", NULL));
  json_object_object_add(omp, "finalizers", prop("array", NULL));
  json_object_object_add(omp, "generation", prop("integer", NULL));
  json_object_object_add(om, "properties", omp);
  json_object_object_add(defs,
                         "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", om);
  json_object *lm = json_object_new_object();
  json_object_object_add(lm, "type", json_object_new_string("object"));
  json_object *lmp = json_object_new_object();
  json_object_object_add(lmp, "resourceVersion", prop("string", NULL));
  json_object_object_add(lmp, "continue", prop("string", NULL));
  json_object_object_add(lmp, "remainingItemCount", prop("integer", NULL));
  json_object_object_add(lm, "properties", lmp);
  json_object_object_add(defs, "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta",
                         lm);
  for (size_t i = 0; i < kube_kinds_count(); i++) {
    const kube_kind_t *k = kube_kinds_at(i);
    char dn[256], ln[256];
    def_name(k, k->kind, dn, sizeof dn);
    def_name(k, k->list_kind, ln, sizeof ln);
    json_object_object_add(defs, dn, definition(k, false));
    json_object_object_add(defs, ln, definition(k, true));
    char base[256], coll[512], item[600];
    if (k->group[0])
      snprintf(base, sizeof base, "/apis/%s/%s", k->group, k->version);
    else
      snprintf(base, sizeof base, "/api/%s", k->version);
    snprintf(coll, sizeof coll, "%s%s/%s", base,
             k->namespaced ? "/namespaces/{namespace}" : "", k->resource);
    snprintf(item, sizeof item, "%s/{name}", coll);
    json_object *cp = json_object_new_object();
    if (has_verb(k, "list"))
      json_object_object_add(cp, "get", operation(k, "list", "list", ln));
    if (has_verb(k, "create"))
      json_object_object_add(cp, "post", operation(k, "post", "create", dn));
    if (has_verb(k, "deletecollection"))
      json_object_object_add(
          cp, "delete",
          operation(k, "deletecollection", "deleteCollection", ln));
    json_object_object_add(paths, coll, cp);
    json_object *ip = json_object_new_object();
    if (has_verb(k, "get"))
      json_object_object_add(ip, "get", operation(k, "get", "read", dn));
    if (has_verb(k, "update"))
      json_object_object_add(ip, "put", operation(k, "put", "replace", dn));
    if (has_verb(k, "patch"))
      json_object_object_add(ip, "patch", operation(k, "patch", "patch", dn));
    if (has_verb(k, "delete"))
      json_object_object_add(ip, "delete",
                             operation(k, "delete", "delete", dn));
    json_object_object_add(paths, item, ip);
  }
  json_object_object_add(doc, "paths", paths);
  json_object_object_add(doc, "definitions", defs);
  return doc;
}

void openapi_serve(struct req *r) {
  if (r->method != M_GET && r->method != M_HEAD) {
    reply_status(r, KUBE_REASON_METHOD_NOT_ALLOWED,
                 "method %s is not allowed on /openapi/v2", r->method_str);
    return;
  }
  if (r->done)
    return;
  bool json =
      r->accept && strstr(r->accept, "json") && !strstr(r->accept, "protobuf");
  if (!json) {
    r->done = true;
    r->tp->reply(r, 200, "application/octet-stream", "", 0);
    return;
  }
  kube_apiserver_t *srv = r->srv;
  if (!srv->openapi) {
    json_object *doc = build();
    size_t len = 0;
    const char *s = json_object_to_json_string_length(
        doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    srv->openapi = s ? strndup(s, len) : NULL;
    srv->openapi_len = len;
    json_object_put(doc);
    if (!srv->openapi) {
      reply_status(r, KUBE_REASON_INTERNAL, "out of memory");
      return;
    }
  }
  reply_json_str(r, 200, srv->openapi, srv->openapi_len);
}
