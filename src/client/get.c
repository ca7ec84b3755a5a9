/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GETs as kubectl makes them: server-side Tables (Accept ...;as=Table),
 * lists followed page by page (--chunk-size), watches of Tables.
 */
#include <json-c/json.h>

#include "api/api-private.h"
#include "client/internal.h"
#include "core/util.h"

static void copy_get_options(kube_get_options_t *dst,
                             const kube_get_options_t *src) {
  memset(dst, 0, sizeof *dst);
  core_opts_copy(dst, src);
}

static char *collection_query(const kube_get_options_t *o, bool table) {
  kube_strbuf_t q = KUBE_STRBUF_INIT;
  kube_strbuf_append(&q, "");
  if (o->label_selector && *o->label_selector)
    client_query_add(&q, "labelSelector", o->label_selector);
  if (o->field_selector && *o->field_selector)
    client_query_add(&q, "fieldSelector", o->field_selector);
  if (o->chunk_size > 0)
    kube_strbuf_printf(&q, "%slimit=%lld", q.len ? "&" : "",
                       (long long)o->chunk_size);
  if (table && o->include_object)
    kube_strbuf_printf(&q, "%sincludeObject=Object", q.len ? "&" : "");
  return kube_strbuf_steal(&q);
}

/* GET path?query with `accept` (NULL: JSON); the decoded object. */
static kube_object_t *fetch(kube_client_t *c, const char *path,
                            const char *query, const char *accept,
                            kube_error_t *err) {
  kube_client_request_t req = {.struct_size = sizeof req,
                               .method = "GET",
                               .path = path,
                               .query = query && *query ? query : NULL,
                               .accept = accept};
  kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
  if (kube_client_request(c, &req, &resp, err) < 0)
    return NULL;
  kube_object_t *obj = NULL;
  if (kube_client_check(&resp, err) == 0)
    obj = kube_object_from_json(resp.body, resp.body_len, err);
  kube_client_response_clear(&resp);
  return obj;
}

/* A collection, its pages followed with continue tokens and merged into
 * the first answer ("rows" of Tables, "items" of lists). */
static kube_object_t *fetch_all(kube_client_t *c, const char *path,
                                const char *query, const char *accept,
                                kube_error_t *err) {
  kube_object_t *first = fetch(c, path, query, accept, err);
  if (!first)
    return NULL;
  json_object *root = kube_object_json(first);
  for (;;) {
    const char *cont = kube_json_get_string(root, "metadata.continue");
    if (!cont || !*cont)
      break;
    /* Tokens are opaque: a real kube-apiserver's hold '=' and '+'. */
    cleanup_free char *esc = client_query_escape(cont);
    cleanup_free char *q = NULL;
    if (!esc || asprintf(&q, "%s%scontinue=%s", query ? query : "",
                         query && *query ? "&" : "", esc) < 0) {
      kube_object_free(first);
      return kube_make_oom(err), NULL;
    }
    kube_object_t *next = fetch(c, path, q, accept, err);
    if (!next) {
      kube_object_free(first);
      return NULL;
    }
    json_object *nr = kube_object_json(next);
    const char *key =
        json_object_object_get_ex(root, "rows", NULL) ? "rows" : "items";
    json_object *dst = kube_json_get(root, key), *src = kube_json_get(nr, key);
    for (size_t i = 0; src && dst && i < json_object_array_length(src); i++)
      json_object_array_add(dst,
                            json_object_get(json_object_array_get_idx(src, i)));
    json_object *meta = kube_json_get(root, "metadata"),
                *nmeta = kube_json_get(nr, "metadata");
    json_object *nc = nmeta ? json_object_object_get(nmeta, "continue") : NULL;
    if (meta) {
      /* The next token, or none: the loop ends. */
      if (nc)
        json_object_object_add(meta, "continue", json_object_get(nc));
      else
        json_object_object_del(meta, "continue");
    }
    kube_object_free(next);
    if (!meta)
      break;
  }
  return first;
}

KUBE_EXPORT kube_object_t *
kube_client_get_table(kube_client_t *c, const kube_kind_t *kind, const char *ns,
                      const char *name, const kube_get_options_t *opts,
                      kube_error_t *err) {
  kube_get_options_t o;
  copy_get_options(&o, opts);
  if (name && *name && (!ns || !*ns))
    ns = kube_client_namespace(c);
  bool one = name && *name;
  cleanup_free char *path = kube_client_path(
      kind, ns, name, one && o.subresource && *o.subresource ? o.subresource
                                                             : NULL);
  if (!path)
    return kube_make_oom(err), NULL;
  if (one)
    return fetch(c, path, NULL, KUBE_TABLE_ACCEPT, err);
  cleanup_free char *query = collection_query(&o, true);
  if (!query)
    return kube_make_oom(err), NULL;
  return fetch_all(c, path, query, KUBE_TABLE_ACCEPT, err);
}

/* Items of a <Kind>List lack apiVersion/kind: fill them in as kubectl does
 * before printing, first in the object like kubectl's. */
static int fill_item_kinds(json_object *list, const kube_kind_t *k) {
  json_object *items = kube_json_get(list, "items");
  char av[64];
  kube_kind_api_version(k, av, sizeof av);
  for (size_t i = 0; items && i < json_object_array_length(items); i++) {
    json_object *it = json_object_array_get_idx(items, i);
    if (json_object_object_get_ex(it, "apiVersion", NULL) &&
        json_object_object_get_ex(it, "kind", NULL))
      continue;
    json_object *n = json_object_new_object();
    if (!n)
      return -1;
    json_object_object_add(n, "apiVersion", json_object_new_string(av));
    json_object_object_add(n, "kind", json_object_new_string(k->kind));
    json_object_object_foreach(it, key, val) {
      if (!streq(key, "apiVersion") && !streq(key, "kind"))
        json_object_object_add(n, key, json_object_get(val));
    }
    json_object_array_put_idx(items, i, n);
  }
  return 0;
}

KUBE_EXPORT kube_object_t *
kube_client_list_all(kube_client_t *c, const kube_kind_t *kind, const char *ns,
                     const kube_get_options_t *opts, kube_error_t *err) {
  kube_get_options_t o;
  copy_get_options(&o, opts);
  cleanup_free char *path = kube_client_path(kind, ns, NULL, NULL);
  cleanup_free char *query = collection_query(&o, false);
  if (!path || !query)
    return kube_make_oom(err), NULL;
  kube_object_t *list = fetch_all(c, path, query, NULL, err);
  if (list && fill_item_kinds(kube_object_json(list), kind) < 0) {
    kube_object_free(list);
    return kube_make_oom(err), NULL;
  }
  return list;
}

KUBE_EXPORT int kube_client_watch_table(kube_client_t *c,
                                        const kube_kind_t *kind, const char *ns,
                                        const kube_client_list_options_t *opts,
                                        kube_client_watch_fn fn, void *userdata,
                                        kube_error_t *err) {
  return client_watch(c, kind, ns, opts, KUBE_TABLE_ACCEPT, true, fn, userdata,
                      err);
}
