/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runtime schemas (src/api/schema.h) as OpenAPI v2 schema objects: the
 * definitions of /openapi/v2.  A built-in type becomes a definition of its
 * own ("io.k8s.api.core.v1.PodSpec") referred to by $ref; a custom
 * resource's schema is inlined as apiextensions-apiserver publishes it for
 * v2 (nullable dropped, nodes that preserve unknown fields published
 * without type and properties, so that client-side validation in older
 * kubectls does not reject what the server keeps).
 */
#include "apiserver/internal.h"
#include "api/types/decl.h"

static json_object *jstr(const char *s) {
  return json_object_new_string(s);
}

static void set_description(json_object *o, const char *d) {
  if (d && *d)
    json_object_object_add(o, "description", jstr(d));
}

void as_openapi_def_name(const api_type_t *t, char *buf, size_t len) {
  snprintf(buf, len, "%s.%s", t->pkg ? t->pkg : "io.k8s.api", t->name);
}

static json_object *emit(const api_schema_t *s, json_object *defs, int depth);

/* The definition of a built-in type, added to defs once. */
static json_object *type_ref(const api_schema_t *s, json_object *defs,
                             int depth) {
  char name[256];
  as_openapi_def_name(s->src, name, sizeof name);
  if (!json_object_object_get_ex(defs, name, NULL)) {
    /* Placeholder first: types refer to themselves (JSONSchemaProps). */
    json_object_object_add(defs, name, json_object_new_object());
    api_schema_t copy = *s;
    copy.src = NULL;
    json_object *d = emit(&copy, defs, depth + 1);
    json_object_object_add(defs, name, d);
  }
  return as_openapi_ref(name);
}

static void add_number(json_object *o, const char *key, double d) {
  if (d == (double)(int64_t)d)
    json_object_object_add(o, key, json_object_new_int64((int64_t)d));
  else
    json_object_object_add(o, key, json_object_new_double(d));
}

/* x-kubernetes-patch-strategy and -merge-key of a built-in field, as
 * kube-apiserver publishes its patchStrategy / patchMergeKey tags (what
 * kubectl's strategic merge patches follow). */
static void patch_meta(json_object *o, const api_schema_t *s) {
  if (!(s->flags & API_SF_GO))
    return;
  bool merge = s->type == API_S_ARRAY && s->list != API_LIST_NONE &&
               !(s->mflags & API_M_SSA_ONLY);
  bool retain = s->mflags & API_M_RETAIN_KEYS;
  if (!merge && !retain)
    return;
  json_object_object_add(o, "x-kubernetes-patch-strategy",
                         jstr(merge && retain ? "merge,retainKeys"
                              : merge         ? "merge"
                                              : "retainKeys"));
  if (merge && s->list == API_LIST_MAP && s->keys[0])
    json_object_object_add(o, "x-kubernetes-patch-merge-key", jstr(s->keys[0]));
}

static json_object *emit(const api_schema_t *s, json_object *defs, int depth) {
  if (!s || depth > 64)
    return json_object_new_object();
  if (s->src) {
    json_object *r = type_ref(s, defs, depth);
    patch_meta(r, s);
    return r;
  }
  json_object *o = json_object_new_object();
  set_description(o, s->description);
  bool preserve = s->flags & API_SF_PRESERVE_UNKNOWN;
  if (s->flags & API_SF_INT_OR_STRING) {
    if (s->format == API_FMT_QUANTITY) {
      /* resource.Quantity: a string on the wire of the spec. */
      json_object_object_add(o, "type", jstr("string"));
    } else {
      json_object_object_add(o, "format", jstr("int-or-string"));
      json_object_object_add(o, "x-kubernetes-int-or-string",
                             json_object_new_boolean(true));
    }
    return o;
  }
  if (preserve)
    json_object_object_add(o, "x-kubernetes-preserve-unknown-fields",
                           json_object_new_boolean(true));
  const char *t = api_schema_type_name(s->type);
  if (t && !(preserve && s->type == API_S_OBJECT))
    json_object_object_add(o, "type", jstr(t));
  if (s->format_name && *s->format_name && s->format != API_FMT_QUANTITY)
    json_object_object_add(o, "format", jstr(s->format_name));
  if (s->type == API_S_OBJECT && !preserve) {
    json_object *props = NULL;
    if (s->n_props) {
      props = json_object_new_object();
      for (size_t i = 0; i < s->n_props; i++) {
        json_object *pv = emit(s->props[i].schema, defs, depth + 1);
        /* The field's own description; next to a $ref as kube-apiserver
         * publishes it in v2. */
        if (s->props[i].description &&
            !json_object_object_get_ex(pv, "description", NULL))
          set_description(pv, s->props[i].description);
        json_object_object_add(props, s->props[i].name, pv);
      }
    }
    if (s->flags & API_SF_EMBEDDED) {
      /* An embedded object (a custom resource's root too) has the fields
       * of every object besides those its schema gives. */
      if (!props)
        props = json_object_new_object();
      json_object *av = json_object_new_object();
      json_object_object_add(av, "type", jstr("string"));
      set_description(av, "APIVersion defines the versioned schema of this "
                          "representation of an object.");
      json_object_object_add(props, "apiVersion", av);
      json_object *kd = json_object_new_object();
      json_object_object_add(kd, "type", jstr("string"));
      set_description(kd, "Kind is a string value representing the REST "
                          "resource this object represents.");
      json_object_object_add(props, "kind", kd);
      json_object_object_add(
          props, "metadata",
          emit(api_schema_of_type(&api_t_ObjectMeta), defs, depth + 1));
    }
    if (props)
      json_object_object_add(o, "properties", props);
    if (s->additional)
      json_object_object_add(o, "additionalProperties",
                             emit(s->additional, defs, depth + 1));
  }
  if (s->type == API_S_ARRAY && s->items)
    json_object_object_add(o, "items", emit(s->items, defs, depth + 1));
  if (s->n_required) {
    json_object *req = json_object_new_array();
    for (size_t i = 0; i < s->n_required; i++)
      json_object_array_add(req, jstr(s->required[i]));
    json_object_object_add(o, "required", req);
  }
  if (s->enum_values)
    json_object_object_add(o, "enum", json_object_get(s->enum_values));
  if (s->default_value)
    json_object_object_add(o, "default", json_object_get(s->default_value));
  if (s->example)
    json_object_object_add(o, "example", json_object_get(s->example));
  if (s->flags & API_SF_MINIMUM)
    add_number(o, "minimum", s->minimum);
  if (s->flags & API_SF_MAXIMUM)
    add_number(o, "maximum", s->maximum);
  if (s->flags & API_SF_EXCL_MIN)
    json_object_object_add(o, "exclusiveMinimum",
                           json_object_new_boolean(true));
  if (s->flags & API_SF_EXCL_MAX)
    json_object_object_add(o, "exclusiveMaximum",
                           json_object_new_boolean(true));
  if (s->flags & API_SF_MULTIPLE)
    add_number(o, "multipleOf", s->multiple_of);
  static const struct {
    const char *key;
    size_t off;
  } ints[] = {
      {"minLength", offsetof(api_schema_t, min_length)},
      {"maxLength", offsetof(api_schema_t, max_length)},
      {"minItems", offsetof(api_schema_t, min_items)},
      {"maxItems", offsetof(api_schema_t, max_items)},
      {"minProperties", offsetof(api_schema_t, min_props)},
      {"maxProperties", offsetof(api_schema_t, max_props)},
  };
  for (size_t i = 0; i < ARRAY_SIZE(ints); i++) {
    int64_t v = *(const int64_t *)((const char *)s + ints[i].off);
    if (v >= 0)
      json_object_object_add(o, ints[i].key, json_object_new_int64(v));
  }
  if (s->pattern)
    json_object_object_add(o, "pattern", jstr(s->pattern));
  if (s->flags & API_SF_UNIQUE)
    json_object_object_add(o, "uniqueItems", json_object_new_boolean(true));
  if (s->flags & API_SF_EMBEDDED)
    json_object_object_add(o, "x-kubernetes-embedded-resource",
                           json_object_new_boolean(true));
  if (s->type == API_S_ARRAY && s->list != API_LIST_NONE) {
    json_object_object_add(o, "x-kubernetes-list-type",
                           jstr(s->list == API_LIST_MAP ? "map" : "set"));
    if (s->list == API_LIST_MAP) {
      json_object *keys = json_object_new_array();
      for (size_t i = 0; i < API_MAX_KEYS && s->keys[i]; i++)
        json_object_array_add(keys, jstr(s->keys[i]));
      json_object_object_add(o, "x-kubernetes-list-map-keys", keys);
    }
  }
  patch_meta(o, s);
  if ((s->mflags & API_M_ATOMIC) && s->type == API_S_OBJECT)
    json_object_object_add(o, "x-kubernetes-map-type", jstr("atomic"));
  if (s->validations)
    json_object_object_add(o, "x-kubernetes-validations",
                           json_object_get(s->validations));
  return o;
}

json_object *as_openapi_schema(const api_schema_t *s, json_object *defs) {
  return emit(s, defs, 0);
}

/* The definition of a custom resource kind: its schema (whose root is
 * an embedded object: apiVersion, kind and metadata come with it). */
json_object *as_openapi_cr_definition(const kube_kind_t *k, json_object *defs) {
  const api_schema_t *root = api_kind_schema(k);
  if (!root) {
    json_object *d = json_object_new_object();
    json_object_object_add(d, "x-kubernetes-preserve-unknown-fields",
                           json_object_new_boolean(true));
    return d;
  }
  return emit(root, defs, 0);
}
