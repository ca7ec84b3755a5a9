/* SPDX-License-Identifier: Apache-2.0 */
/* kube api-resources: the server's discovery documents as kubectl lists them.
 */
#include <stdio.h>
#include <stdlib.h>

#include "api/api-private.h"
#include "cli.h"
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

struct res {
  const char *group, *gv;
  json_object *r; /* borrowed APIResource */
};

static int cmp_res(const void *a, const void *b) {
  const struct res *x = a, *y = b;
  int c = strcmp(x->group, y->group);
  if (c)
    return c;
  return strcmp(kube_json_get_string(x->r, "name"),
                kube_json_get_string(y->r, "name"));
}

static char *join(json_object *arr, const char *sep) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "");
  for (size_t i = 0; arr && i < json_object_array_length(arr); i++)
    kube_strbuf_printf(
        &sb, "%s%s", i ? sep : "",
        json_object_get_string(json_object_array_get_idx(arr, i)));
  return kube_strbuf_steal(&sb);
}

int cmd_api_resources(int argc, char **argv) {
  const char *output = NULL, *namespaced_s = NULL, *api_group = NULL;
  bool no_headers = false, namespaced_set = false;
  const struct cli_flag flags[] = {
      {"output", 'o', CLI_STRING, &output, NULL},
      {"namespaced", 0, CLI_STRING, &namespaced_s, &namespaced_set},
      {"api-group", 0, CLI_STRING, &api_group, NULL},
      {"no-headers", 0, CLI_BOOL, &no_headers, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    return 1;
  free(pos);
  if (output && !streq(output, "wide") && !streq(output, "name"))
    return cli_fail("--output %s is not available", output);
  kube_client_t *c = cli_client();
  if (!c)
    return 1;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  /* Group versions: core v1, then each group's preferred version. */
  json_object *docs = json_object_new_array();
  json_object *core = get_json(c, "/api/v1", &err);
  if (!core) {
    json_object_put(docs);
    return cli_report(&err);
  }
  json_object_array_add(docs, core);
  json_object *groups = get_json(c, "/apis", &err);
  json_object *gl = groups ? kube_json_get(groups, "groups") : NULL;
  for (size_t i = 0; gl && i < json_object_array_length(gl); i++) {
    const char *gv = kube_json_get_string(json_object_array_get_idx(gl, i),
                                          "preferredVersion.groupVersion");
    cleanup_free char *path = NULL;
    if (!gv || asprintf(&path, "/apis/%s", gv) < 0)
      continue;
    cleanup_error kube_error_t gerr = KUBE_ERROR_INIT;
    json_object *doc = get_json(c, path, &gerr);
    if (doc)
      json_object_array_add(docs, doc);
    else
      fprintf(stderr,
              "error: unable to retrieve the complete list of server "
              "APIs: %s: %s\n",
              gv, gerr.message);
  }
  json_object_put(groups);
  size_t n = 0, cap = 64;
  struct res *rs = calloc(cap, sizeof *rs);
  for (size_t d = 0; rs && d < json_object_array_length(docs); d++) {
    json_object *doc = json_object_array_get_idx(docs, d);
    const char *gv = kube_json_get_string(doc, "groupVersion");
    json_object *list = kube_json_get(doc, "resources");
    if (!gv)
      continue;
    const char *slash = strchr(gv, '/');
    for (size_t i = 0; list && i < json_object_array_length(list); i++) {
      json_object *r = json_object_array_get_idx(list, i);
      const char *name = kube_json_get_string(r, "name");
      if (!name || strchr(name, '/'))
        continue;
      json_object *nsd = kube_json_get(r, "namespaced");
      bool is_ns = nsd && json_object_get_boolean(nsd);
      if (namespaced_set &&
          is_ns != (!namespaced_s || streq(namespaced_s, "true")))
        continue;
      if (api_group) {
        size_t glen = slash ? (size_t)(slash - gv) : 0;
        if (strlen(api_group) != glen || strncmp(api_group, gv, glen) != 0)
          continue;
      }
      if (n == cap) {
        struct res *nr = realloc(rs, cap * 2 * sizeof *rs);
        if (!nr)
          break;
        rs = nr;
        cap *= 2;
      }
      /* Sorted by group/version: one (preferred) version per group. */
      rs[n++] = (struct res){slash ? gv : "", gv, r};
    }
  }
  qsort(rs, n, sizeof *rs, cmp_res);
  if (output && streq(output, "name")) {
    for (size_t i = 0; i < n; i++) {
      const char *slash = strchr(rs[i].gv, '/');
      if (slash)
        printf("%s.%.*s\n", kube_json_get_string(rs[i].r, "name"),
               (int)(slash - rs[i].gv), rs[i].gv);
      else
        printf("%s\n", kube_json_get_string(rs[i].r, "name"));
    }
  } else {
    /* Build a Table so the shared printer aligns it as kubectl does. */
    bool wide = output && streq(output, "wide");
    json_object *t = json_object_new_object(), *defs = json_object_new_array(),
                *rows = json_object_new_array();
    const char *cols[] = {"NAME",
                          "SHORTNAMES",
                          "APIVERSION",
                          "NAMESPACED",
                          "KIND",
                          wide ? "VERBS" : NULL,
                          wide ? "CATEGORIES" : NULL};
    for (size_t i = 0; i < 7 && cols[i]; i++) {
      json_object *d = json_object_new_object();
      json_object_object_add(d, "name", json_object_new_string(cols[i]));
      json_object_object_add(d, "type", json_object_new_string("string"));
      json_object_array_add(defs, d);
    }
    for (size_t i = 0; i < n; i++) {
      json_object *r = rs[i].r, *row = json_object_new_object(),
                  *cells = json_object_new_array();
      json_object *nsd = kube_json_get(r, "namespaced");
      char *sn = join(kube_json_get(r, "shortNames"), ",");
      json_object_array_add(
          cells, json_object_new_string(kube_json_get_string(r, "name")));
      json_object_array_add(cells, json_object_new_string(sn ? sn : ""));
      json_object_array_add(cells, json_object_new_string(rs[i].gv));
      json_object_array_add(
          cells, json_object_new_string(
                     nsd && json_object_get_boolean(nsd) ? "true" : "false"));
      const char *kind = kube_json_get_string(r, "kind");
      json_object_array_add(cells, json_object_new_string(kind ? kind : ""));
      free(sn);
      if (wide) {
        char *verbs = join(kube_json_get(r, "verbs"), ",");
        char *cats = join(kube_json_get(r, "categories"), ",");
        /* kubectl 1.2x+ lists them comma-separated, unbracketed. */
        json_object_array_add(cells, json_object_new_string(verbs ? verbs : ""));
        json_object_array_add(cells, json_object_new_string(cats ? cats : ""));
        free(verbs);
        free(cats);
      }
      json_object_object_add(row, "cells", cells);
      json_object_array_add(rows, row);
    }
    json_object_object_add(t, "kind", json_object_new_string("Table"));
    json_object_object_add(t, "apiVersion",
                           json_object_new_string("meta.k8s.io/v1"));
    json_object_object_add(t, "columnDefinitions", defs);
    json_object_object_add(t, "rows", rows);
    kube_object_t *to = kube_object_wrap(t);
    kube_table_printer_t *p =
        kube_table_printer_new(no_headers ? KUBE_TABLE_NO_HEADERS : 0);
    if (to && p && kube_table_printer_add(p, to, NULL, &err) == 0) {
      char *s = kube_table_printer_render(p);
      if (s)
        fputs(s, stdout);
      free(s);
    }
    kube_table_printer_free(p);
    kube_object_free(to);
  }
  free(rs);
  json_object_put(docs);
  return 0;
}
