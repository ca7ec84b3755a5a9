/* SPDX-License-Identifier: Apache-2.0 */
/* /openapi/v2, generated from the kinds a server serves (the built-in
 * ones and those of its CustomResourceDefinitions).
 *
 * Clients that accept JSON get a Swagger 2.0 document: a definition per
 * kind (with x-kubernetes-group-version-kind; the built-in ones compiled
 * from the type tables, custom resources from their schemas), its REST
 * paths, and on every operation its query parameters and
 * x-kubernetes-group-version-kind / x-kubernetes-action, as kube-apiserver
 * publishes them.
 *
 * kubectl asks for the protobuf encoding (gnostic's openapi_v2.Document,
 * Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf) and
 * refuses JSON, so everything else gets that protobuf: swagger, info, the
 * paths with their operations (operationId, non-body parameters as
 * path/query sub-schemas, response descriptions, vendor extensions as
 * NamedAny with the value in Any.yaml), and the definitions of custom
 * resources with the meta/v1 types they refer to.  kubectl 1.20 decides
 * whether a kind supports --dry-run=server by finding the PATCH operation
 * whose x-kubernetes-group-version-kind matches and looking for a `dryRun`
 * query parameter on it (k8s.io/kubectl/pkg/util/openapi SupportsDryRun);
 * newer kubectls look for `fieldValidation` the same way before leaving
 * validation to the server.  The definitions are those of the JSON
 * document, built-in kinds included (with their fields' descriptions and
 * x-kubernetes-patch-strategy / -merge-key, which kubectl 1.20's apply
 * builds its strategic merge patches from): kubectl 1.20's `kubectl
 * explain` reads them here, kubectl 1.32 reads /openapi/v3, cut from this
 * document by openapi-v3.c.  Both encodings are built once per server
 * (about 0.5 MB of JSON, 0.4 MB of protobuf) and rebuilt when its
 * CustomResourceDefinitions change. */
#include <strings.h>

#include "apiserver/internal.h"
#include "api/types/decl.h"

static void def_name(const kube_kind_t *k, const char *kind, char *buf,
                     size_t len) {
  if (api_kind_is_custom(k)) {
    /* com.example.stable.v1.CronTab: the group reversed, as
     * apiextensions-apiserver names custom resource definitions. */
    char rev[256] = "";
    const char *g = k->group;
    size_t n = strlen(g), used = 0;
    while (n > 0 && used < sizeof rev - 2) {
      size_t end = n;
      while (n > 0 && g[n - 1] != '.')
        n--;
      used += (size_t)snprintf(rev + used, sizeof rev - used, "%s%.*s",
                               used ? "." : "", (int)(end - n), g + n);
      if (n > 0)
        n--;
    }
    snprintf(buf, len, "%s.%s.%s", rev, k->version, kind);
    return;
  }
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

/* Operations carry one GVK object, definitions a list of them. */
static json_object *gvk_object(const kube_kind_t *k) {
  json_object *e = json_object_new_object();
  json_object_object_add(e, "group", json_object_new_string(k->group));
  json_object_object_add(e, "kind", json_object_new_string(k->kind));
  json_object_object_add(e, "version", json_object_new_string(k->version));
  return e;
}

static json_object *param(const char *name, const char *in, const char *type,
                          bool required, const char *desc) {
  json_object *p = json_object_new_object();
  json_object_object_add(p, "description", json_object_new_string(desc));
  json_object_object_add(p, "in", json_object_new_string(in));
  json_object_object_add(p, "name", json_object_new_string(name));
  if (required)
    json_object_object_add(p, "required", json_object_new_boolean(true));
  json_object_object_add(p, "type", json_object_new_string(type));
  return p;
}

static const char dry_run_desc[] =
    "When present, indicates that modifications should not be persisted. "
    "Valid values are: - All: all dry run stages will be processed";
static const char field_validation_desc[] =
    "fieldValidation instructs the server on how to handle objects in the "
    "request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid "
    "values are: - Ignore - Warn (the default) - Strict";
static const char field_manager_desc[] =
    "fieldManager is a name associated with the actor or entity that is "
    "making these changes.";

/* The query parameters kubed honours for an action. */
static json_object *parameters(const char *action, const char *body_ref) {
  json_object *a = json_object_new_array();
  if (body_ref) {
    json_object *b = json_object_new_object();
    json_object_object_add(b, "in", json_object_new_string("body"));
    json_object_object_add(b, "name", json_object_new_string("body"));
    json_object_object_add(b, "required", json_object_new_boolean(true));
    json_object_object_add(b, "schema", as_openapi_ref(body_ref));
    json_object_array_add(a, b);
  }
  if (streq(action, "list") || streq(action, "deletecollection")) {
    json_object_array_add(
        a, param("fieldSelector", "query", "string", false,
                 "A selector to restrict the list of returned objects by "
                 "their fields."));
    json_object_array_add(
        a, param("labelSelector", "query", "string", false,
                 "A selector to restrict the list of returned objects by "
                 "their labels."));
  }
  if (streq(action, "list")) {
    json_object_array_add(
        a, param("allowWatchBookmarks", "query", "boolean", false,
                 "allowWatchBookmarks requests watch events with type "
                 "BOOKMARK."));
    json_object_array_add(a, param("continue", "query", "string", false,
                                   "The continue option from a previous "
                                   "paged list."));
    json_object_array_add(a, param("limit", "query", "integer", false,
                                   "The maximum number of responses to "
                                   "return for a list call."));
    json_object_array_add(a, param("resourceVersion", "query", "string", false,
                                   "Where to start a list or watch."));
    json_object_array_add(a, param("timeoutSeconds", "query", "integer", false,
                                   "Timeout for the list/watch call."));
    json_object_array_add(a, param("watch", "query", "boolean", false,
                                   "Watch for changes to the described "
                                   "resources."));
  }
  if (streq(action, "post") || streq(action, "put") || streq(action, "patch") ||
      streq(action, "delete") || streq(action, "deletecollection"))
    json_object_array_add(
        a, param("dryRun", "query", "string", false, dry_run_desc));
  if (streq(action, "post") || streq(action, "put") || streq(action, "patch")) {
    json_object_array_add(
        a, param("fieldManager", "query", "string", false, field_manager_desc));
    json_object_array_add(a, param("fieldValidation", "query", "string", false,
                                   field_validation_desc));
  }
  if (streq(action, "patch"))
    json_object_array_add(a,
                          param("force", "query", "boolean", false,
                                "Force is going to \"force\" Apply requests."));
  if (streq(action, "delete") || streq(action, "deletecollection")) {
    json_object_array_add(
        a, param("gracePeriodSeconds", "query", "integer", false,
                 "The duration in seconds before the object should be "
                 "deleted."));
    json_object_array_add(
        a, param("propagationPolicy", "query", "string", false,
                 "Whether and how garbage collection will be performed."));
  }
  return a;
}

/* name and namespace, shared by a path's operations. */
static json_object *path_parameters(const kube_kind_t *k, bool item) {
  json_object *a = json_object_new_array();
  if (item) {
    char desc[160];
    snprintf(desc, sizeof desc, "name of the %s", k->kind);
    json_object_array_add(a, param("name", "path", "string", true, desc));
  }
  if (k->namespaced)
    json_object_array_add(
        a, param("namespace", "path", "string", true,
                 "object name and auth scope, such as for teams and "
                 "projects"));
  return a;
}

static json_object *prop(const char *type, const char *desc) {
  json_object *p = json_object_new_object();
  json_object_object_add(p, "type", json_object_new_string(type));
  if (desc)
    json_object_object_add(p, "description", json_object_new_string(desc));
  return p;
}

json_object *as_openapi_ref(const char *name) {
  char buf[320];
  snprintf(buf, sizeof buf, "#/definitions/%s", name);
  json_object *r = json_object_new_object();
  json_object_object_add(r, "$ref", json_object_new_string(buf));
  return r;
}

static json_object *definition(const kube_kind_t *k, bool list,
                               json_object *defs) {
  if (!list && api_kind_is_custom(k)) {
    json_object *d = as_openapi_cr_definition(k, defs);
    json_object_object_add(d, "x-kubernetes-group-version-kind",
                           gvk(k, k->kind));
    return d;
  }
  if (!list && api_kind_type(k)) {
    /* The compiled type, with the kind's GVK on its own copy. */
    json_object *r = as_openapi_schema(api_kind_schema(k), defs);
    json_object *ref = NULL, *src = NULL, *d = NULL;
    char name[256];
    if (json_object_object_get_ex(r, "$ref", &ref) &&
        sscanf(json_object_get_string(ref), "#/definitions/%255s", name) == 1 &&
        json_object_object_get_ex(defs, name, &src))
      json_object_deep_copy(src, &d, NULL);
    json_object_put(r);
    if (d) {
      json_object_object_add(d, "x-kubernetes-group-version-kind",
                             gvk(k, k->kind));
      return d;
    }
  }
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
    json_object_object_add(items, "items", as_openapi_ref(item));
    json_object_object_add(p, "items", items);
    json_object_object_add(
        p, "metadata",
        as_openapi_ref("io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"));
    json_object *req = json_object_new_array();
    json_object_array_add(req, json_object_new_string("items"));
    json_object_object_add(d, "required", req);
  } else {
    json_object_object_add(
        p, "metadata",
        as_openapi_ref("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
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
  const char *body = NULL;
  if (streq(action, "post") || streq(action, "put"))
    body = resp_def;
  else if (streq(action, "patch"))
    body = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
  json_object_object_add(op, "parameters", parameters(action, body));
  json_object *resp = json_object_new_object();
  json_object *ok = json_object_new_object();
  json_object_object_add(ok, "description", json_object_new_string("OK"));
  json_object_object_add(ok, "schema", as_openapi_ref(resp_def));
  json_object_object_add(resp, streq(action, "post") ? "201" : "200", ok);
  json_object *unauth = json_object_new_object();
  json_object_object_add(unauth, "description",
                         json_object_new_string("Unauthorized"));
  json_object_object_add(resp, "401", unauth);
  json_object_object_add(op, "responses", resp);
  json_object_object_add(op, "x-kubernetes-action",
                         json_object_new_string(action));
  json_object_object_add(op, "x-kubernetes-group-version-kind", gvk_object(k));
  return op;
}

static bool has_verb(const kube_kind_t *k, const char *v) {
  for (size_t i = 0; k->verbs && k->verbs[i]; i++)
    if (streq(k->verbs[i], v))
      return true;
  return false;
}

static json_object *build(kube_apiserver_t *srv, json_object *pb_defs) {
  json_object *doc = json_object_new_object();
  json_object_object_add(doc, "swagger", json_object_new_string("2.0"));
  json_object *info = json_object_new_object();
  json_object_object_add(info, "title", json_object_new_string("Kubernetes"));
  json_object_object_add(info, "version",
                         json_object_new_string("v1." KUBE_SERVER_MINOR ".0"));
  json_object_object_add(doc, "info", info);
  json_object *paths = json_object_new_object();
  json_object *defs = json_object_new_object();
  /* ObjectMeta and what it holds, from the type tables. */
  json_object_put(
      as_openapi_schema(api_schema_of_type(&api_t_ObjectMeta), defs));
  json_object *lm = json_object_new_object();
  json_object_object_add(lm, "type", json_object_new_string("object"));
  json_object *lmp = json_object_new_object();
  json_object_object_add(lmp, "resourceVersion", prop("string", NULL));
  json_object_object_add(lmp, "continue", prop("string", NULL));
  json_object_object_add(lmp, "remainingItemCount", prop("integer", NULL));
  json_object_object_add(lmp, "selfLink", prop("string", NULL));
  json_object_object_add(lm, "properties", lmp);
  json_object_object_add(defs, "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta",
                         lm);
  /* The body of a PATCH: any of the patch types. */
  json_object *patch = json_object_new_object();
  json_object_object_add(
      patch, "description",
      json_object_new_string("Patch is provided to give a concrete name and "
                             "type to the Kubernetes PATCH request body."));
  json_object_object_add(patch, "type", json_object_new_string("object"));
  json_object_object_add(defs, "io.k8s.apimachinery.pkg.apis.meta.v1.Patch",
                         patch);
  for (size_t i = 0; i < as_kinds_count(srv); i++) {
    const kube_kind_t *k = as_kinds_at(srv, i);
    char dn[256], ln[256];
    def_name(k, k->kind, dn, sizeof dn);
    def_name(k, k->list_kind, ln, sizeof ln);
    json_object_object_add(defs, dn, definition(k, false, defs));
    json_object_object_add(defs, ln, definition(k, true, defs));
    json_object_object_add(pb_defs, dn, NULL);
    json_object_object_add(pb_defs, ln, NULL);
    char base[256], coll[512], item[600];
    if (k->group[0])
      snprintf(base, sizeof base, "/apis/%s/%s", k->group, k->version);
    else
      snprintf(base, sizeof base, "/api/%s", k->version);
    snprintf(coll, sizeof coll, "%s%s/%s", base,
             k->namespaced ? "/namespaces/{namespace}" : "", k->resource);
    snprintf(item, sizeof item, "%s/{name}", coll);
    json_object *cp = json_object_new_object();
    json_object_object_add(cp, "parameters", path_parameters(k, false));
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
    json_object_object_add(ip, "parameters", path_parameters(k, true));
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

/* Add to `set` every definition the definitions in it refer to. */
static void collect_refs(json_object *v, json_object *defs, json_object *set) {
  if (json_object_is_type(v, json_type_array)) {
    for (size_t i = 0; i < json_object_array_length(v); i++)
      collect_refs(json_object_array_get_idx(v, i), defs, set);
    return;
  }
  if (!json_object_is_type(v, json_type_object))
    return;
  json_object_object_foreach(v, key, val) {
    const char *name;
    if (streq(key, "$ref") && json_object_is_type(val, json_type_string) &&
        (name = json_object_get_string(val)) &&
        str_has_prefix(name, "#/definitions/")) {
      name += strlen("#/definitions/");
      json_object *d = NULL;
      if (!json_object_object_get_ex(set, name, NULL) &&
          json_object_object_get_ex(defs, name, &d)) {
        json_object_object_add(set, name, NULL);
        collect_refs(d, defs, set);
      }
    } else {
      collect_refs(val, defs, set);
    }
  }
}

/* Build both documents for the server's current kinds. */
static int rebuild(kube_apiserver_t *srv) {
  json_object *pb_defs = json_object_new_object();
  json_object *doc = pb_defs ? build(srv, pb_defs) : NULL;
  if (!doc) {
    json_object_put(pb_defs);
    return -1;
  }
  json_object *defs = NULL;
  json_object_object_get_ex(doc, "definitions", &defs);
  json_object *roots = NULL;
  json_object_deep_copy(pb_defs, &roots, NULL);
  json_object_object_foreach(roots, name, unused) {
    (void)unused;
    json_object *d = NULL;
    if (json_object_object_get_ex(defs, name, &d))
      collect_refs(d, defs, pb_defs);
  }
  json_object_put(roots);
  size_t len = 0, pb_len = 0;
  const char *s = json_object_to_json_string_length(
      doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
  char *json = s ? strndup(s, len) : NULL;
  char *pb = as_openapi_pb_document(doc, pb_defs, &pb_len);
  int v3 = as_openapi_v3_build(srv, doc);
  json_object_put(doc);
  json_object_put(pb_defs);
  if (!json || !pb || v3 < 0) {
    free(json);
    free(pb);
    return -1;
  }
  free(srv->openapi);
  free(srv->openapi_pb);
  srv->openapi = json;
  srv->openapi_len = len;
  srv->openapi_pb = pb;
  srv->openapi_pb_len = pb_len;
  srv->openapi_gen = as_crds_generation(srv);
  return 0;
}

int as_openapi_refresh(kube_apiserver_t *srv) {
  if (srv->openapi && srv->openapi_gen == as_crds_generation(srv))
    return 0;
  return rebuild(srv);
}

void as_openapi_serve(struct req *r) {
  if (r->method != M_GET && r->method != M_HEAD) {
    as_reply_status(r, KUBE_REASON_METHOD_NOT_ALLOWED,
                    "method %s is not allowed on /openapi/v2", r->method_str);
    return;
  }
  if (r->done)
    return;
  kube_apiserver_t *srv = r->srv;
  if (as_openapi_refresh(srv) < 0) {
    as_reply_status(r, KUBE_REASON_INTERNAL, "out of memory");
    return;
  }
  bool json =
      r->accept && strstr(r->accept, "json") && !strstr(r->accept, "protobuf");
  if (!json) {
    r->done = true;
    r->tp->reply(r, 200, "application/octet-stream", srv->openapi_pb,
                 srv->openapi_pb_len);
    return;
  }
  as_reply_json_str(r, 200, srv->openapi, srv->openapi_len);
}
