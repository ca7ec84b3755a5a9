/* SPDX-License-Identifier: Apache-2.0 */
/* /openapi/v3: a discovery document naming one OpenAPI 3.0 document per
 * group-version ({"paths": {"api/v1": {"serverRelativeURL":
 * "/openapi/v3/api/v1?hash=..."}, "apis/apps/v1": ...}}), and those
 * documents, as kube-apiserver serves them.  Each is cut from the v2
 * document of openapi.c: the paths of the group-version with their
 * operations in OpenAPI 3 form, and under components.schemas the
 * definitions of its kinds (built-in ones named as upstream,
 * "io.k8s.api.core.v1.Pod", custom resources from their CRD's schema)
 * with every definition they refer to, $refs pointing at
 * #/components/schemas/.  `kubectl explain` reads these (kubectl 1.32
 * asks for v3 first).
 *
 * The PATCH operations list the JSON, merge and apply patch bodies but not
 * the strategic merge one: kubectl builds its strategic merge patches from
 * an OpenAPI v3 document only for kinds whose PATCH operation accepts
 * application/strategic-merge-patch+json, and otherwise from /openapi/v2,
 * which carries the same definitions in the form kubectl 1.20 reads too.
 * The documents are built with the v2 ones and rebuilt when the
 * CustomResourceDefinitions change. */
#include "apiserver/internal.h"

#define V3_REF_PREFIX "#/components/schemas/"

/* Rewrite every "#/definitions/X" $ref under v to "#/components/schemas/X";
 * a $ref with siblings (a field's description) goes into a one-element
 * allOf, as kube-apiserver publishes v3 (siblings of $ref are ignored
 * there). */
static void rewrite_refs(json_object *v) {
  if (json_object_is_type(v, json_type_array)) {
    for (size_t i = 0; i < json_object_array_length(v); i++)
      rewrite_refs(json_object_array_get_idx(v, i));
    return;
  }
  if (!json_object_is_type(v, json_type_object))
    return;
  json_object *ref = NULL;
  if (json_object_object_length(v) > 1 &&
      json_object_object_get_ex(v, "$ref", &ref)) {
    json_object *one = json_object_new_object();
    json_object_object_add(one, "$ref", json_object_get(ref));
    json_object_object_del(v, "$ref");
    json_object *all = json_object_new_array();
    json_object_array_add(all, one);
    json_object_object_add(v, "allOf", all);
  }
  json_object_object_foreach(v, key, val) {
    const char *s;
    if (streq(key, "$ref") && json_object_is_type(val, json_type_string) &&
        (s = json_object_get_string(val)) &&
        str_has_prefix(s, "#/definitions/")) {
      char buf[400];
      snprintf(buf, sizeof buf, V3_REF_PREFIX "%s",
               s + strlen("#/definitions/"));
      json_object_object_add(v, key, json_object_new_string(buf));
    } else {
      rewrite_refs(val);
    }
  }
}

/* Add `name` and the definitions it refers to (from defs) to schemas. */
static void add_schema(json_object *schemas, json_object *defs,
                       const char *name);

static void add_refs(json_object *schemas, json_object *defs, json_object *v) {
  if (json_object_is_type(v, json_type_array)) {
    for (size_t i = 0; i < json_object_array_length(v); i++)
      add_refs(schemas, defs, json_object_array_get_idx(v, i));
    return;
  }
  if (!json_object_is_type(v, json_type_object))
    return;
  json_object_object_foreach(v, key, val) {
    const char *s;
    if (streq(key, "$ref") && json_object_is_type(val, json_type_string) &&
        (s = json_object_get_string(val)) &&
        str_has_prefix(s, "#/definitions/"))
      add_schema(schemas, defs, s + strlen("#/definitions/"));
    else
      add_refs(schemas, defs, val);
  }
}

static void add_schema(json_object *schemas, json_object *defs,
                       const char *name) {
  json_object *d = NULL, *copy = NULL;
  if (json_object_object_get_ex(schemas, name, NULL) ||
      !json_object_object_get_ex(defs, name, &d))
    return;
  if (json_object_deep_copy(d, &copy, NULL) < 0 || !copy)
    return;
  json_object_object_add(schemas, name, copy);
  add_refs(schemas, defs, d);
  rewrite_refs(copy);
}

/* "/apis/apps/v1/namespaces/{namespace}/deployments" -> its group-version
 * key "apis/apps/v1" in buf; false for other paths. */
static bool path_gv(const char *path, char *buf, size_t len) {
  const char *p = path;
  int parts;
  if (str_has_prefix(p, "/api/"))
    parts = 2;
  else if (str_has_prefix(p, "/apis/"))
    parts = 3;
  else
    return false;
  p++;
  const char *e = p;
  for (int i = 0; i < parts; i++) {
    e = strchr(e, '/');
    if (!e) {
      if (i == parts - 1) {
        e = p + strlen(p);
        break;
      }
      return false;
    }
    if (i < parts - 1)
      e++;
  }
  snprintf(buf, len, "%.*s", (int)(e - p), p);
  return true;
}

static json_object *media(const char *const *types, json_object *schema) {
  json_object *c = json_object_new_object();
  for (size_t i = 0; types[i]; i++) {
    json_object *m = json_object_new_object();
    json_object_object_add(m, "schema", json_object_get(schema));
    json_object_object_add(c, types[i], m);
  }
  json_object_put(schema);
  return c;
}

static const char *const resp_types[] = {
    "application/json", "application/yaml",
    "application/vnd.kubernetes.protobuf", NULL};
static const char *const patch_types[] = {
    "application/apply-patch+yaml", "application/json-patch+json",
    "application/merge-patch+json", NULL};
static const char *const body_types[] = {"*/*", NULL};

/* A v2 parameter {in, name, type, ...} in v3 form ({schema: {type}}). */
static json_object *parameter(json_object *p) {
  json_object *o = json_object_new_object();
  json_object_object_foreach(p, key, val) {
    if (streq(key, "type")) {
      json_object *s = json_object_new_object();
      json_object_object_add(s, "type", json_object_get(val));
      if (streq(json_object_get_string(val), "string"))
        json_object_object_add(s, "uniqueItems",
                               json_object_new_boolean(true));
      json_object_object_add(o, "schema", s);
    } else {
      json_object_object_add(o, key, json_object_get(val));
    }
  }
  return o;
}

static json_object *operation(json_object *op) {
  json_object *o = json_object_new_object();
  json_object *action = NULL;
  json_object_object_get_ex(op, "x-kubernetes-action", &action);
  const char *act = action ? json_object_get_string(action) : "";
  json_object_object_foreach(op, key, val) {
    if (streq(key, "parameters")) {
      json_object *params = json_object_new_array();
      for (size_t i = 0; i < json_object_array_length(val); i++) {
        json_object *p = json_object_array_get_idx(val, i), *in = NULL,
                    *schema = NULL, *copy = NULL;
        if (json_object_object_get_ex(p, "in", &in) &&
            streq(json_object_get_string(in), "body")) {
          json_object_object_get_ex(p, "schema", &schema);
          json_object_deep_copy(schema, &copy, NULL);
          rewrite_refs(copy);
          json_object *rb = json_object_new_object();
          json_object_object_add(
              rb, "content",
              media(streq(act, "patch") ? patch_types : body_types, copy));
          json_object_object_add(rb, "required",
                                 json_object_new_boolean(true));
          json_object_object_add(o, "requestBody", rb);
        } else {
          json_object_array_add(params, parameter(p));
        }
      }
      json_object_object_add(o, "parameters", params);
    } else if (streq(key, "responses")) {
      json_object *resps = json_object_new_object();
      json_object_object_foreach(val, code, resp) {
        json_object *r = json_object_new_object(), *d = NULL, *s = NULL,
                    *copy = NULL;
        if (json_object_object_get_ex(resp, "description", &d))
          json_object_object_add(r, "description", json_object_get(d));
        if (json_object_object_get_ex(resp, "schema", &s) &&
            json_object_deep_copy(s, &copy, NULL) == 0) {
          rewrite_refs(copy);
          json_object_object_add(r, "content", media(resp_types, copy));
        }
        json_object_object_add(resps, code, r);
      }
      json_object_object_add(o, "responses", resps);
    } else {
      json_object_object_add(o, key, json_object_get(val));
    }
  }
  return o;
}

static json_object *path_item(json_object *item) {
  json_object *o = json_object_new_object();
  json_object_object_foreach(item, key, val) {
    if (streq(key, "parameters")) {
      json_object *params = json_object_new_array();
      for (size_t i = 0; i < json_object_array_length(val); i++)
        json_object_array_add(params,
                              parameter(json_object_array_get_idx(val, i)));
      json_object_object_add(o, key, params);
    } else {
      json_object_object_add(o, key, operation(val));
    }
  }
  return o;
}

/* The document of one group-version (owned), its schemas seeded with the
 * definitions of its kinds. */
static json_object *gv_doc(void) {
  json_object *doc = json_object_new_object();
  json_object_object_add(doc, "openapi", json_object_new_string("3.0.0"));
  json_object *info = json_object_new_object();
  json_object_object_add(info, "title", json_object_new_string("Kubernetes"));
  json_object_object_add(info, "version",
                         json_object_new_string("v1." KUBE_SERVER_MINOR ".0"));
  json_object_object_add(doc, "info", info);
  json_object_object_add(doc, "paths", json_object_new_object());
  json_object *comp = json_object_new_object();
  json_object_object_add(comp, "schemas", json_object_new_object());
  json_object_object_add(doc, "components", comp);
  return doc;
}

static uint64_t fnv1a(const char *s, size_t n, uint64_t h) {
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ull;
  }
  return h;
}

int as_openapi_v3_build(kube_apiserver_t *srv, json_object *v2) {
  json_object *paths = NULL, *defs = NULL;
  json_object_object_get_ex(v2, "paths", &paths);
  json_object_object_get_ex(v2, "definitions", &defs);
  json_object *docs = json_object_new_object();
  if (!docs)
    return -1;
  /* Each kind's definitions go to its group-version's document. */
  json_object_object_foreach(defs, name, def) {
    json_object *gvks = NULL;
    if (!json_object_object_get_ex(def, "x-kubernetes-group-version-kind",
                                   &gvks) ||
        !json_object_is_type(gvks, json_type_array))
      continue;
    for (size_t i = 0; i < json_object_array_length(gvks); i++) {
      json_object *g = json_object_array_get_idx(gvks, i), *gr = NULL,
                  *ve = NULL;
      json_object_object_get_ex(g, "group", &gr);
      json_object_object_get_ex(g, "version", &ve);
      const char *group = gr ? json_object_get_string(gr) : "";
      char key[300];
      if (*group)
        snprintf(key, sizeof key, "apis/%s/%s", group,
                 ve ? json_object_get_string(ve) : "");
      else
        snprintf(key, sizeof key, "api/%s",
                 ve ? json_object_get_string(ve) : "");
      json_object *doc = NULL, *comp = NULL, *schemas = NULL;
      if (!json_object_object_get_ex(docs, key, &doc)) {
        doc = gv_doc();
        json_object_object_add(docs, key, doc);
      }
      json_object_object_get_ex(doc, "components", &comp);
      json_object_object_get_ex(comp, "schemas", &schemas);
      add_schema(schemas, defs, name);
    }
  }
  json_object_object_foreach(paths, path, item) {
    char key[300];
    json_object *doc = NULL, *dp = NULL;
    if (!path_gv(path, key, sizeof key) ||
        !json_object_object_get_ex(docs, key, &doc))
      continue;
    json_object_object_get_ex(doc, "paths", &dp);
    json_object_object_add(dp, path, path_item(item));
  }
  /* Serialized once: name -> {"doc": text, "hash": hex}. */
  json_object *out = json_object_new_object();
  json_object_object_foreach(docs, gv, doc) {
    size_t len = 0;
    const char *s = json_object_to_json_string_length(
        doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    if (!s) {
      json_object_put(out);
      json_object_put(docs);
      return -1;
    }
    uint64_t h1 = fnv1a(s, len, 14695981039346656037ull);
    uint64_t h2 = fnv1a(s, len, h1 ^ 0x9e3779b97f4a7c15ull);
    char hex[40];
    snprintf(hex, sizeof hex, "%016" PRIX64 "%016" PRIX64, h1, h2);
    json_object *e = json_object_new_object();
    json_object_object_add(e, "doc", json_object_new_string_len(s, (int)len));
    json_object_object_add(e, "hash", json_object_new_string(hex));
    json_object_object_add(out, gv, e);
  }
  json_object_put(docs);
  json_object_put(srv->openapi_v3);
  srv->openapi_v3 = out;
  return 0;
}

void as_openapi_v3_serve(struct req *r) {
  if (r->method != M_GET && r->method != M_HEAD) {
    as_reply_status(r, KUBE_REASON_METHOD_NOT_ALLOWED,
                    "method %s is not allowed on %s", r->method_str, r->path);
    return;
  }
  if (r->done)
    return;
  if (as_openapi_refresh(r->srv) < 0) {
    as_reply_status(r, KUBE_REASON_INTERNAL, "out of memory");
    return;
  }
  json_object *all = r->srv->openapi_v3;
  const char *rest = r->path + strlen("/openapi/v3");
  while (*rest == '/')
    rest++;
  if (!*rest) {
    json_object *d = json_object_new_object();
    json_object *paths = json_object_new_object();
    json_object_object_foreach(all, gv, e) {
      json_object *h = NULL;
      json_object_object_get_ex(e, "hash", &h);
      char url[400];
      snprintf(url, sizeof url, "/openapi/v3/%s?hash=%s", gv,
               json_object_get_string(h));
      json_object *p = json_object_new_object();
      json_object_object_add(p, "serverRelativeURL",
                             json_object_new_string(url));
      json_object_object_add(paths, gv, p);
    }
    json_object_object_add(d, "paths", paths);
    as_reply_json(r, 200, d); /* takes d */
    return;
  }
  char key[300];
  snprintf(key, sizeof key, "%s", rest);
  size_t n = strlen(key);
  while (n > 0 && key[n - 1] == '/')
    key[--n] = '\0';
  json_object *e = NULL, *doc = NULL;
  if (!json_object_object_get_ex(all, key, &e) ||
      !json_object_object_get_ex(e, "doc", &doc)) {
    as_reply_status(r, KUBE_REASON_NOT_FOUND,
                    "the server could not find the requested resource");
    return;
  }
  as_reply_json_str(r, 200, json_object_get_string(doc),
                    (size_t)json_object_get_string_len(doc));
}
