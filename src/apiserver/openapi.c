/* SPDX-License-Identifier: Apache-2.0 */
/* /openapi/v2, generated from the kinds table.
 *
 * Clients that accept JSON get a Swagger 2.0 document: a definition per
 * kind (with x-kubernetes-group-version-kind), its REST paths, and on every
 * operation its query parameters and x-kubernetes-group-version-kind /
 * x-kubernetes-action, as kube-apiserver publishes them.
 *
 * kubectl asks for the protobuf encoding (gnostic's openapi_v2.Document,
 * Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf) and
 * refuses JSON, so everything else gets the same paths encoded as that
 * protobuf: swagger, info, and paths with their operations (operationId,
 * non-body parameters as path/query sub-schemas, response descriptions,
 * vendor extensions as NamedAny with the value in Any.yaml).  kubectl 1.20
 * decides whether a kind supports --dry-run=server by finding the PATCH
 * operation whose x-kubernetes-group-version-kind matches and looking for a
 * `dryRun` query parameter on it (k8s.io/kubectl/pkg/util/openapi
 * SupportsDryRun); newer kubectls look for `fieldValidation` the same way,
 * which kubed does not implement and so does not advertise.
 * The protobuf form leaves the definitions out on purpose: kubectl looks
 * kinds up in them (by x-kubernetes-group-version-kind) for client-side
 * validation and for computing apply patches, and these schemas are too
 * loose for either (a ConfigMap's `data` would be an unknown field), so
 * without them kubectl keeps its built-in types as before.  The body is
 * built once per process and served as application/octet-stream.  /openapi/v3
 * answers 404 (kubectl falls back to v2). */
#include <pthread.h>
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

static json_object *ref(const char *name);

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
    json_object_object_add(b, "schema", ref(body_ref));
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
  if (streq(action, "post") || streq(action, "put") || streq(action, "patch"))
    json_object_array_add(
        a, param("fieldManager", "query", "string", false, field_manager_desc));
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
  const char *body = NULL;
  if (streq(action, "post") || streq(action, "put"))
    body = resp_def;
  else if (streq(action, "patch"))
    body = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
  json_object_object_add(op, "parameters", parameters(action, body));
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
  json_object_object_add(op, "x-kubernetes-group-version-kind", gvk_object(k));
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
  /* The body of a PATCH: any of the patch types. */
  json_object *patch = json_object_new_object();
  json_object_object_add(
      patch, "description",
      json_object_new_string("Patch is provided to give a concrete name and "
                             "type to the Kubernetes PATCH request body."));
  json_object_object_add(patch, "type", json_object_new_string("object"));
  json_object_object_add(defs, "io.k8s.apimachinery.pkg.apis.meta.v1.Patch",
                         patch);
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

/* ---- protobuf (gnostic openapi_v2) ----------------------------------- */

enum { PB_VARINT = 0, PB_LEN = 2 };

static void pb_varint(kube_strbuf_t *sb, uint64_t v) {
  char b[10];
  size_t n = 0;
  do {
    b[n++] = (char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v);
  kube_strbuf_append_len(sb, b, n);
}

static void pb_bytes(kube_strbuf_t *sb, unsigned field, const char *s,
                     size_t len) {
  pb_varint(sb, (uint64_t)field << 3 | PB_LEN);
  pb_varint(sb, len);
  kube_strbuf_append_len(sb, s, len);
}

/* proto3: empty strings and false are left out. */
static void pb_string(kube_strbuf_t *sb, unsigned field, const char *s) {
  if (s && *s)
    pb_bytes(sb, field, s, strlen(s));
}

static void pb_bool(kube_strbuf_t *sb, unsigned field, bool v) {
  if (v) {
    pb_varint(sb, (uint64_t)field << 3 | PB_VARINT);
    pb_varint(sb, 1);
  }
}

/* Append sub as a length-delimited field and empty it. */
static void pb_msg(kube_strbuf_t *sb, unsigned field, kube_strbuf_t *sub) {
  pb_bytes(sb, field, sub->data ? sub->data : "", sub->len);
  kube_strbuf_reset(sub);
}

static const char *jstr(json_object *o, const char *key) {
  json_object *v;
  if (!json_object_object_get_ex(o, key, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

static bool jbool(json_object *o, const char *key) {
  json_object *v;
  return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

/* NamedAny{name, Any{yaml}}: JSON is YAML (flow style), which is what
 * kubectl unmarshals x-kubernetes-group-version-kind from. */
static void pb_vendor_extension(kube_strbuf_t *sb, unsigned field,
                                const char *name, json_object *v) {
  cleanup_strbuf kube_strbuf_t any = KUBE_STRBUF_INIT;
  cleanup_strbuf kube_strbuf_t named = KUBE_STRBUF_INIT;
  size_t n = 0;
  const char *y = json_object_to_json_string_length(
      v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
  kube_strbuf_t yaml = KUBE_STRBUF_INIT;
  kube_strbuf_append_len(&yaml, y, n);
  kube_strbuf_append_char(&yaml, '\n');
  pb_bytes(&any, 2, yaml.data ? yaml.data : "", yaml.len);
  kube_strbuf_clear(&yaml);
  pb_string(&named, 1, name);
  pb_msg(&named, 2, &any);
  pb_msg(sb, field, &named);
}

/* ParametersItem{parameter: Parameter{non_body_parameter: ...}} for path
 * and query parameters; body parameters are left out with the
 * definitions they refer to. */
static void pb_parameters(kube_strbuf_t *sb, unsigned field, json_object *a) {
  if (!a)
    return;
  cleanup_strbuf kube_strbuf_t sub = KUBE_STRBUF_INIT;
  cleanup_strbuf kube_strbuf_t nb = KUBE_STRBUF_INIT;
  cleanup_strbuf kube_strbuf_t par = KUBE_STRBUF_INIT;
  cleanup_strbuf kube_strbuf_t item = KUBE_STRBUF_INIT;
  for (size_t i = 0; i < json_object_array_length(a); i++) {
    json_object *p = json_object_array_get_idx(a, i);
    const char *in = jstr(p, "in");
    unsigned which; /* NonBodyParameter oneof field */
    if (in && streq(in, "query"))
      which = 3;
    else if (in && streq(in, "path"))
      which = 4;
    else
      continue;
    /* Query: required 1, in 2, description 3, name 4, type 6;
     * path: the same but type 5. */
    pb_bool(&sub, 1, jbool(p, "required"));
    pb_string(&sub, 2, in);
    pb_string(&sub, 3, jstr(p, "description"));
    pb_string(&sub, 4, jstr(p, "name"));
    pb_string(&sub, which == 3 ? 6 : 5, jstr(p, "type"));
    pb_msg(&nb, which, &sub);
    pb_msg(&par, 2, &nb);
    pb_msg(&item, 1, &par);
    pb_msg(sb, field, &item);
  }
}

static void pb_operation(kube_strbuf_t *sb, json_object *op) {
  pb_string(sb, 3, jstr(op, "description"));
  pb_string(sb, 5, jstr(op, "operationId"));
  json_object *v;
  if (json_object_object_get_ex(op, "parameters", &v))
    pb_parameters(sb, 8, v);
  if (json_object_object_get_ex(op, "responses", &v)) {
    /* Responses{response_code: NamedResponseValue{name,
     * ResponseValue{response: Response{description}}}} */
    cleanup_strbuf kube_strbuf_t resps = KUBE_STRBUF_INIT;
    cleanup_strbuf kube_strbuf_t named = KUBE_STRBUF_INIT;
    cleanup_strbuf kube_strbuf_t rv = KUBE_STRBUF_INIT;
    cleanup_strbuf kube_strbuf_t resp = KUBE_STRBUF_INIT;
    json_object_object_foreach(v, code, r) {
      pb_string(&resp, 1, jstr(r, "description"));
      pb_msg(&rv, 1, &resp);
      pb_string(&named, 1, code);
      pb_msg(&named, 2, &rv);
      pb_msg(&resps, 1, &named);
    }
    pb_msg(sb, 9, &resps);
  }
  json_object_object_foreach(op, key, val) {
    if (strncmp(key, "x-", 2) == 0)
      pb_vendor_extension(sb, 13, key, val);
  }
}

static void pb_path_item(kube_strbuf_t *sb, json_object *pi) {
  static const struct {
    const char *method;
    unsigned field;
  } ops[] = {{"get", 2}, {"put", 3}, {"post", 4}, {"delete", 5}, {"patch", 8}};
  cleanup_strbuf kube_strbuf_t op = KUBE_STRBUF_INIT;
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
    json_object *o;
    if (!json_object_object_get_ex(pi, ops[i].method, &o))
      continue;
    pb_operation(&op, o);
    pb_msg(sb, ops[i].field, &op);
  }
  json_object *v;
  if (json_object_object_get_ex(pi, "parameters", &v))
    pb_parameters(sb, 9, v);
}

/* Document{swagger 1, info 2 {title 1, version 2}, paths 8 {path 2:
 * NamedPathItem{name 1, value 2}}}.  NULL on allocation failure. */
static char *pb_document(json_object *doc, size_t *len) {
  kube_strbuf_t out = KUBE_STRBUF_INIT;
  cleanup_strbuf kube_strbuf_t sub = KUBE_STRBUF_INIT;
  cleanup_strbuf kube_strbuf_t paths = KUBE_STRBUF_INIT;
  cleanup_strbuf kube_strbuf_t named = KUBE_STRBUF_INIT;
  kube_strbuf_append(&out, "");
  pb_string(&out, 1, jstr(doc, "swagger"));
  json_object *v;
  if (json_object_object_get_ex(doc, "info", &v)) {
    pb_string(&sub, 1, jstr(v, "title"));
    pb_string(&sub, 2, jstr(v, "version"));
    pb_msg(&out, 2, &sub);
  }
  if (json_object_object_get_ex(doc, "paths", &v)) {
    json_object_object_foreach(v, path, item) {
      pb_path_item(&sub, item);
      pb_string(&named, 1, path);
      pb_msg(&named, 2, &sub);
      pb_msg(&paths, 2, &named);
    }
    pb_msg(&out, 8, &paths);
  }
  bool oom = out.oom || sub.oom || paths.oom || named.oom;
  *len = out.len;
  char *s = kube_strbuf_steal(&out);
  if (oom) {
    free(s);
    return NULL;
  }
  return s;
}

/* Both encodings depend only on the static kinds table: built once per
 * process. */
static pthread_once_t pb_once = PTHREAD_ONCE_INIT;
static char *pb_doc;
static size_t pb_doc_len;

static void pb_build(void) {
  json_object *doc = build();
  pb_doc = pb_document(doc, &pb_doc_len);
  json_object_put(doc);
}

void as_openapi_serve(struct req *r) {
  if (r->method != M_GET && r->method != M_HEAD) {
    as_reply_status(r, KUBE_REASON_METHOD_NOT_ALLOWED,
                    "method %s is not allowed on /openapi/v2", r->method_str);
    return;
  }
  if (r->done)
    return;
  bool json =
      r->accept && strstr(r->accept, "json") && !strstr(r->accept, "protobuf");
  if (!json) {
    pthread_once(&pb_once, pb_build);
    if (!pb_doc) {
      as_reply_status(r, KUBE_REASON_INTERNAL, "out of memory");
      return;
    }
    r->done = true;
    r->tp->reply(r, 200, "application/octet-stream", pb_doc, pb_doc_len);
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
      as_reply_status(r, KUBE_REASON_INTERNAL, "out of memory");
      return;
    }
  }
  as_reply_json_str(r, 200, srv->openapi, srv->openapi_len);
}
