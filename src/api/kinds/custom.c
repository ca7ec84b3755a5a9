/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Custom resources: the kinds a CustomResourceDefinition serves, one per
 * served version, built at run time from the definition and owned by the
 * API server that registered it (refcounted: requests and watches keep
 * the kind they started with).  One strategy serves them all: structural
 * schema validation, pruning and defaulting (schema-check.c), the table
 * columns of additionalPrinterColumns (JSONPath), the status and scale
 * subresources.  Versions convert with strategy None: only apiVersion
 * changes.
 */
#include <stdatomic.h>

#include "api/kinds/kind.h"

typedef struct cr_kind {
  kube_kind_t kind; /* first: a cr_kind is a kube_kind_t */
  atomic_int refs;
  api_arena_t *arena;    /* every string, array and schema below */
  api_schema_t *schema;  /* root of this version's schema */
  const char **col_path; /* JSONPath per column (NULL for NAME) */
  api_scale_t scale;
  bool has_scale;
  bool status_sub;
  const char *crd_name;        /* "crontabs.stable.example.com" */
  const char *storage_version; /* "stable.example.com/v1" */
  const char *deprecation;     /* warning for a deprecated version */
  size_t n_versions;           /* versions the CRD defines */
} cr_kind_t;

static const struct kube_kind_strategy cr_strategy;

static const cr_kind_t *cr_of(const kube_kind_t *k) {
  return k && k->strategy == &cr_strategy ? (const cr_kind_t *)k : NULL;
}

bool api_kind_is_custom(const kube_kind_t *k) {
  return cr_of(k) != NULL;
}

const kube_kind_t *api_kind_ref(const kube_kind_t *k) {
  const cr_kind_t *c = cr_of(k);
  if (c)
    atomic_fetch_add(&((cr_kind_t *)c)->refs, 1);
  return k;
}

void api_kind_unref(const kube_kind_t *k) {
  cr_kind_t *c = (cr_kind_t *)cr_of(k);
  if (c && atomic_fetch_sub(&c->refs, 1) == 1) {
    api_arena_free(c->arena);
    free(c);
  }
}

const char *api_cr_crd_name(const kube_kind_t *k) {
  const cr_kind_t *c = cr_of(k);
  return c ? c->crd_name : NULL;
}

const char *api_cr_storage_api_version(const kube_kind_t *k) {
  const cr_kind_t *c = cr_of(k);
  return c ? c->storage_version : NULL;
}

const char *api_cr_deprecation(const kube_kind_t *k) {
  const cr_kind_t *c = cr_of(k);
  return c ? c->deprecation : NULL;
}

/* ---- strategy --------------------------------------------------------------
 */

static void cr_validate(verrs_t *v, json_object *obj, json_object *old,
                        const kube_kind_t *k) {
  const cr_kind_t *c = cr_of(k);
  if (!c || !c->schema)
    return;
  api_check_t chk = {.flags = API_CHECK_VALIDATE, .errs = v};
  api_schema_check(obj, c->schema, &chk);
  if (chk.oom)
    v->oom = true;
  api_check_clear(&chk);
}

static void cr_defaults(json_object *obj, const kube_kind_t *k) {
  const cr_kind_t *c = cr_of(k);
  if (c && c->schema)
    api_schema_default(obj, c->schema);
}

/* cellForJSONValue of apiextensions' table convertor. */
static void cell_of(json_object *cells, const kube_kind_column_t *col,
                    json_object *v, time_t now) {
  if (!v) {
    json_object_array_add(cells, NULL);
    return;
  }
  const char *type = col->type ? col->type : "string";
  if (streq(type, "integer")) {
    if (json_object_is_type(v, json_type_int) ||
        json_object_is_type(v, json_type_double))
      json_object_array_add(cells,
                            json_object_new_int64(json_object_get_int64(v)));
    else
      json_object_array_add(cells, NULL);
  } else if (streq(type, "number")) {
    if (json_object_is_type(v, json_type_int) ||
        json_object_is_type(v, json_type_double))
      json_object_array_add(cells,
                            json_object_new_double(json_object_get_double(v)));
    else
      json_object_array_add(cells, NULL);
  } else if (streq(type, "boolean")) {
    if (json_object_is_type(v, json_type_boolean))
      json_object_array_add(cells, json_object_get(v));
    else
      json_object_array_add(cells, NULL);
  } else if (streq(type, "date")) {
    struct timespec ts;
    const char *s = json_object_get_string(v);
    char age[32];
    if (json_object_is_type(v, json_type_string) &&
        kube_time_parse(s, &ts, NULL) == 0) {
      kube_time_age(ts.tv_sec, now, age, sizeof age);
      api_cell_str(cells, age);
    } else {
      json_object_array_add(cells, NULL);
    }
  } else if (json_object_is_type(v, json_type_string)) {
    api_cell_str(cells, json_object_get_string(v));
  } else {
    api_cell_str(cells,
                 json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
  }
}

static void cr_cells(json_object *cells, json_object *obj, time_t now,
                     const kube_kind_t *k) {
  const cr_kind_t *c = cr_of(k);
  api_cell_str(cells, api_name_of(obj));
  for (size_t i = 1; c && k->columns[i].name; i++) {
    json_object *v = NULL;
    if (c->col_path[i])
      api_jsonpath_first(obj, c->col_path[i], &v, NULL);
    cell_of(cells, &k->columns[i], v, now);
  }
}

/* Create cannot set status when the status subresource owns it. */
static void cr_prepare_create(json_object *obj, const kube_kind_t *k) {
  const cr_kind_t *c = cr_of(k);
  if (c && c->status_sub)
    json_object_object_del(obj, "status");
}

static const api_scale_t *cr_scale(const kube_kind_t *k) {
  const cr_kind_t *c = cr_of(k);
  return c && c->has_scale ? &c->scale : NULL;
}

static const api_schema_t *cr_schema(const kube_kind_t *k) {
  const cr_kind_t *c = cr_of(k);
  return c ? c->schema : NULL;
}

static const struct kube_kind_strategy cr_strategy = {
    .flags = API_KIND_CUSTOM | API_KIND_GENERATION_ALWAYS,
    .validate = cr_validate,
    .defaults = cr_defaults,
    .cells = cr_cells,
    .prepare_create = cr_prepare_create,
    .scale = cr_scale,
    .schema = cr_schema,
};

/* ---- building the kinds of a definition ---------------------------------- */

static const char *const cr_subresources_status[] = {"status", NULL};
static const char *const cr_subresources_scale[] = {"scale", NULL};
static const char *const cr_subresources_both[] = {"scale", "status", NULL};

static const char **strv(api_arena_t *a, json_object *arr) {
  size_t n = jarr_len(arr);
  if (!n)
    return NULL;
  const char **v = api_arena_alloc(a, (n + 1) * sizeof(*v));
  for (size_t i = 0, j = 0; v && i < n; i++) {
    const char *s = json_object_get_string(jarr_at(arr, i));
    if (s)
      v[j++] = api_arena_strdup(a, s);
  }
  return v;
}

/* A dotted path from a JSON path of the scale subresource (".spec.x"). */
static const char *dotted(api_arena_t *a, const char *jp) {
  if (!jp)
    return NULL;
  return api_arena_strdup(a, jp[0] == '.' ? jp + 1 : jp);
}

static int build_columns(cr_kind_t *c, json_object *ver) {
  api_arena_t *a = c->arena;
  json_object *cols = jget_arr(ver, "additionalPrinterColumns");
  size_t n = jarr_len(cols);
  size_t total = 1 + (n ? n : 1);
  kube_kind_column_t *out = api_arena_alloc(a, (total + 1) * sizeof(*out));
  c->col_path = api_arena_alloc(a, (total + 1) * sizeof(*c->col_path));
  if (!out || !c->col_path)
    return -1;
  out[0] = (kube_kind_column_t)COL_NAME;
  if (n == 0) {
    /* No columns given: Age, as apiextensions-apiserver adds it. */
    out[1] = (kube_kind_column_t){"AGE", "date", "", DESC_AGE, 0};
    c->col_path[1] = ".metadata.creationTimestamp";
  }
  for (size_t i = 0; i < n; i++) {
    json_object *col = jarr_at(cols, i);
    out[i + 1] =
        (kube_kind_column_t){api_arena_strdup(a, jget_str0(col, "name")),
                             api_arena_strdup(a, jget_str0(col, "type")),
                             api_arena_strdup(a, jget_str0(col, "format")),
                             api_arena_strdup(a, jget_str0(col, "description")),
                             (int)jget_int(col, "priority", 0)};
    c->col_path[i + 1] = api_arena_strdup(a, jget_str0(col, "jsonPath"));
  }
  c->kind.columns = out;
  return 0;
}

/* The implicit fields of the root: metadata is always ObjectMeta (a CRD
 * may constrain name, not replace the type). */
static void fix_root(api_arena_t *a, api_schema_t *root) {
  root->flags |= API_SF_EMBEDDED;
  for (size_t i = 0; i < root->n_props; i++)
    if (streq(root->props[i].name, "metadata"))
      root->props[i].schema =
          (api_schema_t *)api_schema_of_type(&api_t_ObjectMeta);
}

static cr_kind_t *build_version(json_object *crd, json_object *ver,
                                const char *storage, size_t n_versions,
                                kube_error_t *err) {
  json_object *spec = jget_obj(crd, "spec");
  json_object *names = jget_obj(spec, "names");
  cr_kind_t *c = calloc(1, sizeof(*c));
  if (!c || !(c->arena = api_arena_new())) {
    free(c);
    kube_make_oom(err);
    return NULL;
  }
  atomic_init(&c->refs, 1);
  api_arena_t *a = c->arena;
  kube_kind_t *k = &c->kind;
  const char *group = jget_str0(spec, "group");
  const char *kind = jget_str0(names, "kind");
  const char *list = jget_str(names, "listKind");
  char buf[512];
  k->group = api_arena_strdup(a, group);
  k->version = api_arena_strdup(a, jget_str0(ver, "name"));
  k->kind = api_arena_strdup(a, kind);
  k->resource = api_arena_strdup(a, jget_str0(names, "plural"));
  const char *singular = jget_str(names, "singular");
  if (!singular || !*singular) {
    snprintf(buf, sizeof buf, "%s", kind);
    for (char *p = buf; *p; p++)
      *p = (char)tolower((unsigned char)*p);
    singular = buf;
  }
  k->singular = api_arena_strdup(a, singular);
  snprintf(buf, sizeof buf, "%sList", kind);
  k->list_kind = api_arena_strdup(a, list && *list ? list : buf);
  k->namespaced = streq(jget_str0(spec, "scope"), "Namespaced");
  k->short_names = strv(a, jget_arr(names, "shortNames"));
  k->verbs = api_verbs_all;
  k->categories = strv(a, jget_arr(names, "categories"));
  json_object *subs = jget_obj(ver, "subresources");
  json_object *scale = jget_obj(subs, "scale");
  c->status_sub = jget(subs, "status") != NULL;
  c->has_scale = scale != NULL;
  k->subresources = c->status_sub && c->has_scale ? cr_subresources_both
                    : c->status_sub               ? cr_subresources_status
                    : c->has_scale                ? cr_subresources_scale
                                                  : NULL;
  if (c->has_scale) {
    c->scale.spec_replicas = dotted(a, jget_str(scale, "specReplicasPath"));
    c->scale.status_replicas = dotted(a, jget_str(scale, "statusReplicasPath"));
    c->scale.selector = dotted(a, jget_str(scale, "labelSelectorPath"));
    c->scale.selector_form =
        c->scale.selector ? API_SCALE_SELECTOR_STRING : API_SCALE_SELECTOR_NONE;
  }
  k->strategy = &cr_strategy;
  snprintf(buf, sizeof buf, "%s.%s", k->resource, group);
  c->crd_name = api_arena_strdup(a, buf);
  snprintf(buf, sizeof buf, "%s/%s", group, storage);
  c->storage_version = api_arena_strdup(a, buf);
  c->n_versions = n_versions;
  if (jget_bool(ver, "deprecated", false)) {
    const char *w = jget_str(ver, "deprecationWarning");
    snprintf(buf, sizeof buf, "%s/%s %s is deprecated", group, k->version,
             kind);
    c->deprecation = api_arena_strdup(a, w ? w : buf);
  }
  json_object *schema = jget_obj(jget_obj(ver, "schema"), "openAPIV3Schema");
  if (schema) {
    c->schema = api_crd_schema_build(a, schema, NULL, "");
    if (c->schema)
      fix_root(a, c->schema);
  }
  if (build_columns(c, ver) < 0 || !k->group || !k->version || !k->kind ||
      !k->resource || !k->singular || !k->list_kind) {
    api_kind_unref(k);
    kube_make_oom(err);
    return NULL;
  }
  return c;
}

int api_crd_build_kinds(json_object *crd, kube_kind_t ***out, size_t *n,
                        kube_error_t *err) {
  json_object *versions = jget_arr(jget_obj(crd, "spec"), "versions");
  size_t nv = jarr_len(versions);
  const char *storage = NULL;
  for (size_t i = 0; i < nv; i++)
    if (jget_bool(jarr_at(versions, i), "storage", false))
      storage = jget_str(jarr_at(versions, i), "name");
  *out = NULL;
  *n = 0;
  if (!storage)
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "the definition has no storage version");
  kube_kind_t **kinds = calloc(nv ? nv : 1, sizeof(*kinds));
  if (!kinds)
    return kube_make_oom(err);
  size_t count = 0;
  for (size_t i = 0; i < nv; i++) {
    json_object *ver = jarr_at(versions, i);
    if (!jget_bool(ver, "served", false))
      continue;
    cr_kind_t *c = build_version(crd, ver, storage, nv, err);
    if (!c) {
      for (size_t j = 0; j < count; j++)
        api_kind_unref(kinds[j]);
      free(kinds);
      return -1;
    }
    kinds[count++] = &c->kind;
  }
  *out = kinds;
  *n = count;
  return 0;
}
