/* SPDX-License-Identifier: Apache-2.0 */
/* `kubectl api-resources`: discovery documents read, filtered and listed. */
#include <json-c/json.h>

#include "api/api-private.h"
#include "client/internal.h"
#include "core/util.h"

static json_object *get_json(kube_client_t *c, const char *path,
                             kube_error_t *err) {
  kube_client_request_t req = {
      .struct_size = sizeof req, .method = "GET", .path = path};
  kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
  json_object *o = NULL;
  if (kube_client_request(c, &req, &resp, err) == 0 &&
      kube_client_check(&resp, err) == 0)
    o = kube_json_parse(resp.body, resp.body_len, err);
  kube_client_response_clear(&resp);
  return o;
}

static void strv_free(char **v) {
  for (size_t i = 0; v && v[i]; i++)
    free(v[i]);
  free(v);
}

/* A JSON array of strings as an owned NULL-terminated array (never NULL
 * unless out of memory). */
static char **strv_from(json_object *arr) {
  size_t n = json_object_is_type(arr, json_type_array)
                 ? json_object_array_length(arr)
                 : 0;
  char **v = calloc(n + 1, sizeof *v);
  for (size_t i = 0; v && i < n; i++) {
    const char *s = json_object_get_string(json_object_array_get_idx(arr, i));
    if (!(v[i] = strdup(s ? s : ""))) {
      strv_free(v);
      return NULL;
    }
  }
  return v;
}

static void resource_clear(kube_api_resource_t *r) {
  free(r->name);
  free(r->group);
  free(r->group_version);
  free(r->kind);
  strv_free(r->short_names);
  strv_free(r->verbs);
  strv_free(r->categories);
}

KUBE_EXPORT void kube_api_resource_list_clear(kube_api_resource_list_t *l) {
  if (!l)
    return;
  for (size_t i = 0; i < l->n; i++)
    resource_clear(&l->items[i]);
  free(l->items);
  for (size_t i = 0; i < l->n_failures; i++)
    free(l->failures[i]);
  free(l->failures);
  memset(l, 0, sizeof *l);
}

static int add_failure(kube_api_resource_list_t *l, const char *gv,
                       const char *msg) {
  char **nf = realloc(l->failures, (l->n_failures + 1) * sizeof *nf);
  if (!nf)
    return -1;
  l->failures = nf;
  if (asprintf(&nf[l->n_failures], "%s: %s", gv, msg ? msg : "") < 0)
    return -1;
  l->n_failures++;
  return 0;
}

/* The resources of one group-version document that pass the filter. */
static int add_document(kube_api_resource_list_t *l, size_t *cap,
                        json_object *doc,
                        const kube_api_resources_options_t *o) {
  const char *gv = kube_json_get_string(doc, "groupVersion");
  json_object *list = kube_json_get(doc, "resources");
  if (!gv || !json_object_is_type(list, json_type_array))
    return 0;
  const char *slash = strchr(gv, '/');
  size_t glen = slash ? (size_t)(slash - gv) : 0;
  if (o->api_group &&
      (strlen(o->api_group) != glen || strncmp(o->api_group, gv, glen) != 0))
    return 0;
  for (size_t i = 0; i < json_object_array_length(list); i++) {
    json_object *r = json_object_array_get_idx(list, i);
    const char *name = kube_json_get_string(r, "name");
    if (!name || strchr(name, '/'))
      continue;
    json_object *nsd = kube_json_get(r, "namespaced");
    bool is_ns = nsd && json_object_get_boolean(nsd);
    if (o->namespaced >= 0 && is_ns != (o->namespaced > 0))
      continue;
    if (l->n == *cap) {
      size_t nc = *cap ? *cap * 2 : 64;
      kube_api_resource_t *ni = realloc(l->items, nc * sizeof *ni);
      if (!ni)
        return -1;
      l->items = ni;
      *cap = nc;
    }
    const char *kind = kube_json_get_string(r, "kind");
    kube_api_resource_t *x = &l->items[l->n];
    *x = (kube_api_resource_t){
        .name = strdup(name),
        .group = strndup(gv, glen),
        .group_version = strdup(gv),
        .kind = strdup(kind ? kind : ""),
        .namespaced = is_ns,
        .short_names = strv_from(kube_json_get(r, "shortNames")),
        .verbs = strv_from(kube_json_get(r, "verbs")),
        .categories = strv_from(kube_json_get(r, "categories")),
    };
    if (!x->name || !x->group || !x->group_version || !x->kind ||
        !x->short_names || !x->verbs || !x->categories) {
      resource_clear(x);
      return -1;
    }
    l->n++;
  }
  return 0;
}

/* kubectl sorts by group, then by name (one preferred version per
 * group). */
static int cmp_res(const void *a, const void *b) {
  const kube_api_resource_t *x = a, *y = b;
  int c = strcmp(x->group, y->group);
  return c ? c : strcmp(x->name, y->name);
}

KUBE_EXPORT int
kube_client_api_resources(kube_client_t *c,
                          const kube_api_resources_options_t *opts,
                          kube_api_resource_list_t *out, kube_error_t *err) {
  kube_api_resources_options_t o = {.namespaced = -1};
  core_opts_copy(&o, opts);
  memset(out, 0, sizeof *out);
  size_t cap = 0;
  json_object *core = get_json(c, "/api/v1", err);
  if (!core)
    return -1;
  int rc = add_document(out, &cap, core, &o);
  json_object_put(core);
  /* Without /apis (an old or partial server) the core group is all. */
  cleanup_error kube_error_t gerr = KUBE_ERROR_INIT;
  json_object *groups = rc == 0 ? get_json(c, "/apis", &gerr) : NULL;
  json_object *gl = groups ? kube_json_get(groups, "groups") : NULL;
  for (size_t i = 0; rc == 0 && json_object_is_type(gl, json_type_array) &&
                     i < json_object_array_length(gl);
       i++) {
    const char *gv = kube_json_get_string(json_object_array_get_idx(gl, i),
                                          "preferredVersion.groupVersion");
    cleanup_free char *path = NULL;
    if (!gv || asprintf(&path, "/apis/%s", gv) < 0)
      continue;
    cleanup_error kube_error_t derr = KUBE_ERROR_INIT;
    json_object *doc = get_json(c, path, &derr);
    if (doc)
      rc = add_document(out, &cap, doc, &o);
    else
      rc = add_failure(out, gv, derr.message);
    json_object_put(doc);
  }
  json_object_put(groups);
  if (rc < 0) {
    kube_api_resource_list_clear(out);
    return kube_make_oom(err);
  }
  if (out->n)
    qsort(out->items, out->n, sizeof *out->items, cmp_res);
  return 0;
}

static char *join(char *const *v, const char *sep) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "");
  for (size_t i = 0; v && v[i]; i++)
    kube_strbuf_printf(&sb, "%s%s", i ? sep : "", v[i]);
  return kube_strbuf_steal(&sb);
}

static void add_cell(json_object *cells, char *owned) {
  json_object_array_add(cells, json_object_new_string(owned ? owned : ""));
  free(owned);
}

KUBE_EXPORT kube_object_t *
kube_api_resources_table(const kube_api_resource_list_t *l, bool wide,
                         kube_error_t *err) {
  json_object *t = json_object_new_object(), *defs = json_object_new_array(),
              *rows = json_object_new_array();
  if (!t || !defs || !rows) {
    json_object_put(t);
    json_object_put(defs);
    json_object_put(rows);
    return kube_make_oom(err), NULL;
  }
  static const char *const cols[] = {"NAME",       "SHORTNAMES", "APIVERSION",
                                     "NAMESPACED", "KIND",       "VERBS",
                                     "CATEGORIES"};
  for (size_t i = 0; i < (wide ? 7 : 5); i++) {
    json_object *d = json_object_new_object();
    json_object_object_add(d, "name", json_object_new_string(cols[i]));
    json_object_object_add(d, "type", json_object_new_string("string"));
    json_object_array_add(defs, d);
  }
  for (size_t i = 0; i < l->n; i++) {
    const kube_api_resource_t *r = &l->items[i];
    json_object *row = json_object_new_object(),
                *cells = json_object_new_array();
    json_object_array_add(cells, json_object_new_string(r->name));
    add_cell(cells, join(r->short_names, ","));
    json_object_array_add(cells, json_object_new_string(r->group_version));
    json_object_array_add(
        cells, json_object_new_string(r->namespaced ? "true" : "false"));
    json_object_array_add(cells, json_object_new_string(r->kind));
    if (wide) {
      /* kubectl 1.2x+ lists them comma-separated, unbracketed. */
      add_cell(cells, join(r->verbs, ","));
      add_cell(cells, join(r->categories, ","));
    }
    json_object_object_add(row, "cells", cells);
    json_object_array_add(rows, row);
  }
  json_object_object_add(t, "kind", json_object_new_string("Table"));
  json_object_object_add(t, "apiVersion",
                         json_object_new_string("meta.k8s.io/v1"));
  json_object_object_add(t, "columnDefinitions", defs);
  json_object_object_add(t, "rows", rows);
  kube_object_t *o = kube_object_wrap(t);
  if (!o) {
    json_object_put(t);
    kube_make_oom(err);
  }
  return o;
}
