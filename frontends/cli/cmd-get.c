/* SPDX-License-Identifier: Apache-2.0 */
/* kube get: server-side Tables printed as kubectl does, -o formats, -w. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-private.h"
#include "cli.h"
#include "client/client-private.h"
#include "core/util.h"

#define TABLE_ACCEPT                                                           \
  "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

struct get_opts {
  const char *output, *selector, *field_selector;
  bool watch, watch_only, show_labels, all_ns, no_headers, ignore_not_found;
  bool watch_events, recursive;
  struct cli_strv files, label_columns;
  int64_t chunk_size;
  enum cli_output fmt;
  const char *fmt_arg;
  const char *sort_by;       /* --sort-by JSONPath */
  const char **labels_split; /* -L keys, comma lists split (owned array) */
  char *labels_buf;          /* their storage */
};

/* One kind with the names asked for (none = list). */
struct group {
  const kube_kind_t *kind;
  const char **names;
  size_t n_names;
};

static int add_group(struct group **gs, size_t *n, const kube_kind_t *k,
                     const char *name) {
  size_t i;
  for (i = 0; i < *n; i++)
    if ((*gs)[i].kind == k)
      break;
  if (i == *n) {
    struct group *ng = realloc(*gs, (*n + 1) * sizeof *ng);
    if (!ng)
      return -1;
    *gs = ng;
    ng[i] = (struct group){k, NULL, 0};
    (*n)++;
  }
  if (name) {
    struct group *g = &(*gs)[i];
    const char **nn = realloc(g->names, (g->n_names + 1) * sizeof *nn);
    if (!nn)
      return -1;
    g->names = nn;
    g->names[g->n_names++] = name;
  }
  return 0;
}

static char *list_query(const struct get_opts *o, const char *name, bool watch,
                        const char *rv) {
  kube_strbuf_t q = KUBE_STRBUF_INIT;
  kube_strbuf_append(&q, "");
  struct {
    const char *k, *v;
  } kv[4] = {{"labelSelector", o->selector},
             {"fieldSelector", o->field_selector},
             {"resourceVersion", rv},
             {NULL, NULL}};
  cleanup_free char *fs = NULL;
  if (name) {
    if (asprintf(&fs, "metadata.name=%s%s%s", name,
                 o->field_selector && *o->field_selector ? "," : "",
                 o->field_selector ? o->field_selector : "") < 0)
      return NULL;
    kv[1].v = fs;
  }
  if (watch)
    kube_strbuf_append(&q, "watch=true");
  for (size_t i = 0; kv[i].k; i++) {
    if (!kv[i].v || !*kv[i].v)
      continue;
    cleanup_free char *esc = client_query_escape(kv[i].v);
    if (!esc) {
      kube_strbuf_free(&q);
      return NULL;
    }
    kube_strbuf_printf(&q, "%s%s=%s", q.len ? "&" : "", kv[i].k, esc);
  }
  if (!watch && !name && o->chunk_size > 0)
    kube_strbuf_printf(&q, "%slimit=%lld", q.len ? "&" : "",
                       (long long)o->chunk_size);
  return kube_strbuf_steal(&q);
}

struct sort_key {
  size_t idx;        /* original position: ties keep server order */
  json_object *elem; /* reference */
  char *key;
  double num;
  bool is_num;
};

static int cmp_sort_key(const void *a, const void *b) {
  const struct sort_key *x = a, *y = b;
  int c;
  if (x->is_num && y->is_num)
    c = x->num < y->num ? -1 : x->num > y->num;
  else
    c = strcmp(x->key, y->key);
  return c ? c : x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* --sort-by: order the elements of `arr` (items, or Table rows whose
 * `object` is evaluated when `in_object`) by a JSONPath.  Numbers compare
 * numerically, everything else as text; the sort is stable. */
static int sort_elements(json_object *arr, const char *expr, bool in_object) {
  size_t n = arr ? json_object_array_length(arr) : 0;
  if (n < 2)
    return 0;
  cleanup_free char *tmpl = NULL;
  if (asprintf(&tmpl, expr[0] == '{' ? "%s" : "{%s}", expr) < 0)
    return cli_fail("out of memory");
  struct sort_key *keys = calloc(n, sizeof *keys);
  if (!keys)
    return cli_fail("out of memory");
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    json_object *e = json_object_array_get_idx(arr, i);
    json_object *target = in_object ? kube_json_get(e, "object") : e;
    kube_object_t *ko = kube_object_wrap(json_object_get(target ? target : e));
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    keys[i].idx = i;
    keys[i].elem = json_object_get(e);
    keys[i].key = ko ? kube_jsonpath_eval(ko, tmpl, &err) : NULL;
    kube_object_free(ko);
    if (!keys[i].key) {
      rc = cli_fail("couldn't sort by %s: %s", expr,
                    err.message ? err.message : "out of memory");
      break;
    }
    char *end;
    keys[i].num = strtod(keys[i].key, &end);
    keys[i].is_num = *keys[i].key && !*end;
  }
  bool found = false;
  for (size_t i = 0; rc == 0 && i < n; i++)
    found = found || *keys[i].key;
  if (rc == 0 && !found)
    rc = cli_fail(
        "couldn't find any field with path \"%s\" in the list of objects",
        tmpl);
  if (rc == 0) {
    qsort(keys, n, sizeof *keys, cmp_sort_key);
    for (size_t i = 0; i < n; i++)
      json_object_array_put_idx(arr, i, json_object_get(keys[i].elem));
  }
  for (size_t i = 0; i < n; i++) {
    json_object_put(keys[i].elem);
    free(keys[i].key);
  }
  free(keys);
  return rc;
}

/* GET path?query with `accept`; returns the decoded object or NULL after
 * reporting (NotFound is reported only when !quiet_not_found). */
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

/* Lists come back as <Kind>List; a paged list is followed with continue. */
static kube_object_t *fetch_all(kube_client_t *c, const char *path,
                                const char *query, const char *accept,
                                kube_error_t *err) {
  kube_object_t *first = fetch(c, path, query, accept, err);
  if (!first)
    return NULL;
  json_object *root = kube_object_json(first);
  for (int guard = 0; guard < 100000; guard++) {
    const char *cont = kube_json_get_string(root, "metadata.continue");
    if (!cont || !*cont)
      break;
    /* Tokens are opaque: a real kube-apiserver's hold '=' and '+'. */
    cleanup_free char *esc = client_query_escape(cont);
    cleanup_free char *q = NULL;
    if (!esc || asprintf(&q, "%s&continue=%s", query ? query : "", esc) < 0)
      break;
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
    if (meta)
      json_object_object_add(meta, "continue", nc ? json_object_get(nc) : NULL);
    kube_object_free(next);
  }
  return first;
}

struct watch_state {
  kube_table_printer_t *printer;
  const char *kind_prefix;
  struct get_opts *o;
};

static int watch_line(const char *line, size_t len, void *ud) {
  struct watch_state *w = ud;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  json_object *ev = kube_json_parse(line, len, &err);
  if (!ev)
    return 0;
  json_object *obj = kube_json_get(ev, "object");
  const char *type = kube_json_get_string(ev, "type");
  if (!obj || !type || streq(type, "BOOKMARK")) {
    json_object_put(ev);
    return 0;
  }
  if (streq(type, "ERROR")) {
    const char *msg = kube_json_get_string(obj, "message");
    fprintf(stderr, "error: watch: %s\n", msg ? msg : "unknown error");
    json_object_put(ev);
    return 1;
  }
  kube_object_t *o = kube_object_wrap(json_object_get(obj));
  if (w->o->fmt == CLI_OUT_DEFAULT || w->o->fmt == CLI_OUT_WIDE) {
    const char *k = kube_object_kind(o);
    if (k && streq(k, "Table") &&
        kube_table_printer_add_event(w->printer, o, w->kind_prefix, type,
                                     &err) == 0) {
      char *s = kube_table_printer_render_new(w->printer);
      if (s)
        fputs(s, stdout);
      free(s);
    } else {
      cleanup_free char *ref = cli_object_ref(o);
      printf("%s\n", ref ? ref : "");
    }
  } else if (w->o->watch_events &&
             (w->o->fmt == CLI_OUT_JSON || w->o->fmt == CLI_OUT_YAML)) {
    json_object *e = json_object_new_object();
    json_object_object_add(e, "type", json_object_new_string(type));
    json_object_object_add(e, "object", json_object_get(obj));
    kube_object_t *eo = kube_object_wrap(e);
    cli_print_object(eo, w->o->fmt, NULL);
    kube_object_free(eo);
  } else {
    cli_print_object(o, w->o->fmt, w->o->fmt_arg);
  }
  fflush(stdout);
  kube_object_free(o);
  json_object_put(ev);
  return 0;
}

static int do_watch(kube_client_t *c, struct get_opts *o, const struct group *g,
                    const char *ns, const char *rv,
                    kube_table_printer_t *printer) {
  cleanup_free char *path = kube_client_path(g->kind, ns, NULL, NULL);
  cleanup_free char *query =
      list_query(o, g->n_names == 1 ? g->names[0] : NULL, true, rv);
  if (!path || !query)
    return cli_fail("out of memory");
  bool table = o->fmt == CLI_OUT_DEFAULT || o->fmt == CLI_OUT_WIDE;
  kube_client_request_t req = {.struct_size = sizeof req,
                               .method = "GET",
                               .path = path,
                               .query = query,
                               .accept = table ? TABLE_ACCEPT : NULL};
  struct watch_state w = {printer, NULL, o};
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (kube_client_stream(c, &req, watch_line, &w, &err) < 0)
    return cli_report(&err);
  return 0;
}

/* Items of a <Kind>List lack apiVersion/kind: fill them in as kubectl does
 * before printing. */
static void fill_item_kinds(json_object *list, const kube_kind_t *k) {
  json_object *items = kube_json_get(list, "items");
  char av[64];
  kube_kind_api_version(k, av, sizeof av);
  for (size_t i = 0; items && i < json_object_array_length(items); i++) {
    json_object *it = json_object_array_get_idx(items, i);
    if (!json_object_object_get_ex(it, "apiVersion", NULL) ||
        !json_object_object_get_ex(it, "kind", NULL)) {
      /* Keep apiVersion and kind first, like kubectl. */
      json_object *n = json_object_new_object();
      json_object_object_add(n, "apiVersion", json_object_new_string(av));
      json_object_object_add(n, "kind", json_object_new_string(k->kind));
      json_object_object_foreach(it, key, val) {
        if (!streq(key, "apiVersion") && !streq(key, "kind"))
          json_object_object_add(n, key, json_object_get(val));
      }
      json_object_array_put_idx(items, i, n);
    }
  }
}

static int print_custom_columns(json_object *items, const char *spec,
                                bool no_headers);

static int get_objects(kube_client_t *c, struct get_opts *o, struct group *gs,
                       size_t ng, const char *ns, char **rv_out) {
  int rc = 0;
  size_t total = 0;
  json_object *items = json_object_new_array();
  bool single = ng == 1 && gs[0].n_names == 1 && !o->selector && !o->watch;
  kube_object_t *single_obj = NULL;
  for (size_t gi = 0; gi < ng; gi++) {
    struct group *g = &gs[gi];
    if (g->n_names == 0) {
      cleanup_free char *path = kube_client_path(g->kind, ns, NULL, NULL);
      cleanup_free char *query = list_query(o, NULL, false, NULL);
      cleanup_error kube_error_t err = KUBE_ERROR_INIT;
      kube_object_t *list = fetch_all(c, path, query, NULL, &err);
      if (!list) {
        cli_print_error(&err);
        rc = 1;
        continue;
      }
      fill_item_kinds(kube_object_json(list), g->kind);
      const char *rv = kube_object_resource_version(list);
      if (rv_out && rv) {
        free(*rv_out);
        *rv_out = strdup(rv);
      }
      json_object *li = kube_json_get(kube_object_json(list), "items");
      for (size_t i = 0; li && i < json_object_array_length(li); i++)
        json_object_array_add(
            items, json_object_get(json_object_array_get_idx(li, i)));
      kube_object_free(list);
      continue;
    }
    for (size_t i = 0; i < g->n_names; i++) {
      cleanup_error kube_error_t err = KUBE_ERROR_INIT;
      kube_object_t *obj = kube_client_get(
          c, g->kind, ns ? ns : cli_namespace(), g->names[i], &err);
      if (!obj) {
        if (!(o->ignore_not_found && err.reason == KUBE_REASON_NOT_FOUND)) {
          cli_print_error(&err);
          rc = 1;
        }
        continue;
      }
      const char *rv = kube_object_resource_version(obj);
      if (rv_out && rv) {
        free(*rv_out);
        *rv_out = strdup(rv);
      }
      if (single) {
        single_obj = obj;
        continue;
      }
      json_object_array_add(items, json_object_get(kube_object_json(obj)));
      kube_object_free(obj);
    }
  }
  if (o->watch_only) {
    kube_object_free(single_obj);
    json_object_put(items);
    return rc;
  }
  if (o->fmt == CLI_OUT_CUSTOM_COLUMNS) {
    if (single_obj)
      json_object_array_add(items,
                            json_object_get(kube_object_json(single_obj)));
    kube_object_free(single_obj);
    if (print_custom_columns(items, o->fmt_arg, o->no_headers))
      rc = 1;
    json_object_put(items);
    return rc;
  }
  if (single_obj) {
    cli_print_object(single_obj, o->fmt, o->fmt_arg);
    kube_object_free(single_obj);
    json_object_put(items);
    return rc;
  }
  if (o->sort_by && sort_elements(items, o->sort_by, false)) {
    kube_object_free(single_obj);
    json_object_put(items);
    return 1;
  }
  total = json_object_array_length(items);
  if (o->watch) {
    /* Watching prints objects one by one (as ADDED events with
     * --output-watch-events), like the events that follow. */
    for (size_t i = 0; i < total; i++) {
      json_object *it = json_object_array_get_idx(items, i), *e = NULL;
      if (o->watch_events) {
        e = json_object_new_object();
        json_object_object_add(e, "type", json_object_new_string("ADDED"));
        json_object_object_add(e, "object", json_object_get(it));
      }
      kube_object_t *ko = kube_object_wrap(e ? e : json_object_get(it));
      cli_print_object(ko, o->fmt, o->fmt_arg);
      kube_object_free(ko);
    }
    json_object_put(items);
    return rc;
  }
  if (o->fmt == CLI_OUT_NAME) {
    for (size_t i = 0; i < total; i++) {
      kube_object_t *it = kube_object_wrap(
          json_object_get(json_object_array_get_idx(items, i)));
      cli_print_object(it, CLI_OUT_NAME, NULL);
      kube_object_free(it);
    }
    json_object_put(items);
    return rc;
  }
  json_object *list = json_object_new_object();
  json_object_object_add(list, "apiVersion", json_object_new_string("v1"));
  json_object_object_add(list, "items", items);
  json_object_object_add(list, "kind", json_object_new_string("List"));
  json_object *meta = json_object_new_object();
  json_object_object_add(meta, "resourceVersion", json_object_new_string(""));
  json_object_object_add(list, "metadata", meta);
  kube_object_t *lo = kube_object_wrap(list);
  if (lo)
    cli_print_object(lo, o->fmt, o->fmt_arg);
  kube_object_free(lo);
  return rc;
}

/* -o custom-columns=HEADER:.json.path,...: a Table built client-side.
 * Several values of one column are joined with ",", as kubectl does. */
static int print_custom_columns(json_object *items, const char *spec,
                                bool no_headers) {
  json_object *t = json_object_new_object(), *defs = json_object_new_array(),
              *rows = json_object_new_array();
  json_object_object_add(t, "kind", json_object_new_string("Table"));
  json_object_object_add(t, "columnDefinitions", defs);
  json_object_object_add(t, "rows", rows);
  kube_object_t *to = kube_object_wrap(t);
  cleanup_free char *copy = strdup(spec);
  char **tmpls = NULL;
  size_t ncols = 0;
  int rc = 0;
  if (!to || !copy)
    rc = cli_fail("out of memory");
  /* Split on commas outside brackets ([*] and filters may hold commas). */
  int depth = 0;
  char *start = copy;
  for (char *q = copy; rc == 0; q++) {
    if (*q == '[')
      depth++;
    else if (*q == ']')
      depth--;
    if (*q && (*q != ',' || depth > 0))
      continue;
    bool last = !*q;
    *q = '\0';
    char *colon = strchr(start, ':');
    if (!colon || colon == start || !colon[1]) {
      if (colon)
        *colon = ':';
      rc = cli_fail("unexpected custom-columns spec: %s, expected "
                    "<header>:<json-path-expr>",
                    start);
      break;
    }
    *colon = '\0';
    const char *expr = colon + 1;
    json_object *d = json_object_new_object();
    json_object_object_add(d, "name", json_object_new_string(start));
    json_object_array_add(defs, d);
    char **nt = realloc(tmpls, (ncols + 1) * sizeof *nt);
    if (!nt) {
      rc = cli_fail("out of memory");
      break;
    }
    tmpls = nt;
    /* {range EXPR}{@}{","}{end} prints every value followed by a comma. */
    bool braced = expr[0] == '{';
    if (asprintf(&tmpls[ncols], "{range %.*s}{@}{\",\"}{end}",
                 (int)(braced ? strlen(expr) - 2 : strlen(expr)),
                 braced ? expr + 1 : expr) < 0) {
      rc = cli_fail("out of memory");
      break;
    }
    ncols++;
    if (last)
      break;
    start = q + 1;
  }
  for (size_t i = 0; rc == 0 && items && i < json_object_array_length(items);
       i++) {
    json_object *it = json_object_array_get_idx(items, i);
    kube_object_t *io = kube_object_wrap(json_object_get(it));
    json_object *row = json_object_new_object(),
                *cells = json_object_new_array();
    json_object_object_add(row, "cells", cells);
    json_object_object_add(row, "object", json_object_get(it));
    json_object_array_add(rows, row);
    for (size_t c = 0; c < ncols; c++) {
      cleanup_error kube_error_t err = KUBE_ERROR_INIT;
      char *v = kube_jsonpath_eval(io, tmpls[c], &err);
      if (!v) {
        rc = cli_fail("%s", err.message);
        break;
      }
      size_t len = strlen(v);
      if (len > 0 && v[len - 1] == ',')
        v[--len] = '\0';
      json_object_array_add(cells, json_object_new_string(len ? v : "<none>"));
      free(v);
    }
    kube_object_free(io);
  }
  if (rc == 0) {
    kube_table_printer_t *p =
        kube_table_printer_new(no_headers ? KUBE_TABLE_NO_HEADERS : 0);
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    if (p && kube_table_printer_add(p, to, NULL, &err) == 0) {
      char *out = kube_table_printer_render(p);
      if (out)
        fputs(out, stdout);
      free(out);
    }
    kube_table_printer_free(p);
  }
  for (size_t i = 0; i < ncols; i++)
    free(tmpls[i]);
  free(tmpls);
  kube_object_free(to);
  return rc;
}

static void no_resources(const char *ns, bool cluster_scoped) {
  if (!ns || cluster_scoped)
    fprintf(stderr, "No resources found\n");
  else
    fprintf(stderr, "No resources found in %s namespace.\n", ns);
}

static int get_tables(kube_client_t *c, struct get_opts *o, struct group *gs,
                      size_t ng, const char *ns) {
  int rc = 0, flags = 0;
  if (o->fmt == CLI_OUT_WIDE)
    flags |= KUBE_TABLE_WIDE;
  if (o->no_headers)
    flags |= KUBE_TABLE_NO_HEADERS;
  if (o->show_labels)
    flags |= KUBE_TABLE_SHOW_LABELS;
  if (ng > 1)
    flags |= KUBE_TABLE_KIND_PREFIX;
  if (o->watch && o->watch_events)
    flags |= KUBE_TABLE_EVENT;
  bool printed_any = false, all_cluster = true;
  kube_table_printer_t *watch_printer = NULL;
  const char *watch_rv = NULL;
  kube_object_t *watch_table = NULL;
  for (size_t gi = 0; gi < ng; gi++) {
    struct group *g = &gs[gi];
    int f = flags;
    if (!ns && g->kind->namespaced)
      f |= KUBE_TABLE_NAMESPACE;
    if (g->kind->namespaced)
      all_cluster = false;
    kube_table_printer_t *p = kube_table_printer_new(f);
    char kn[128];
    cli_kind_name(g->kind, kn, sizeof kn);
    if (!p)
      return cli_fail("out of memory");
    if (o->labels_split) {
      cleanup_error kube_error_t lerr = KUBE_ERROR_INIT;
      if (kube_table_printer_set_label_columns(p, o->labels_split, &lerr) < 0) {
        kube_table_printer_free(p);
        return cli_report(&lerr);
      }
    }
    kube_object_t *table = NULL;
    if (g->n_names == 0) {
      cleanup_free char *path = kube_client_path(g->kind, ns, NULL, NULL);
      cleanup_free char *query = list_query(o, NULL, false, NULL);
      cleanup_error kube_error_t err = KUBE_ERROR_INIT;
      if (o->sort_by && query) {
        /* Rows must carry the whole object to sort by any field. */
        char *q2 = NULL;
        if (asprintf(&q2, "%s%sincludeObject=Object", query,
                     *query ? "&" : "") >= 0) {
          free(query);
          query = q2;
        }
      }
      table = fetch_all(c, path, query, TABLE_ACCEPT, &err);
      if (table && o->sort_by &&
          sort_elements(kube_json_get(kube_object_json(table), "rows"),
                        o->sort_by, true)) {
        kube_object_free(table);
        kube_table_printer_free(p);
        return 1;
      }
      if (!table ||
          (!o->watch_only &&
           kube_table_printer_add_event(
               p, table, kn, o->watch_events ? "ADDED" : "", &err) < 0)) {
        cli_print_error(&err);
        rc = 1;
      }
    } else {
      for (size_t i = 0; i < g->n_names; i++) {
        cleanup_free char *path = kube_client_path(
            g->kind, ns ? ns : cli_namespace(), g->names[i], NULL);
        cleanup_error kube_error_t err = KUBE_ERROR_INIT;
        kube_object_t *t = fetch(c, path, NULL, TABLE_ACCEPT, &err);
        if (!t || (!o->watch_only &&
                   kube_table_printer_add_event(
                       p, t, kn, o->watch_events ? "ADDED" : "", &err) < 0)) {
          if (!(o->ignore_not_found && err.reason == KUBE_REASON_NOT_FOUND)) {
            cli_print_error(&err);
            rc = 1;
          }
        }
        if (t && !table)
          table = t;
        else
          kube_object_free(t);
      }
    }
    if (kube_table_printer_rows(p) > 0) {
      if (printed_any && !o->watch)
        fputc('\n', stdout);
      char *s = o->watch ? kube_table_printer_render_new(p)
                         : kube_table_printer_render(p);
      if (s)
        fputs(s, stdout);
      free(s);
      printed_any = true;
    }
    if (o->watch && gi == 0) {
      watch_printer = p;
      watch_table = table;
      if (watch_table) {
        watch_rv = kube_object_resource_version(watch_table);
        if (!watch_rv || !*watch_rv)
          watch_rv =
              kube_json_get_string(kube_object_json(watch_table),
                                   "rows.0.object.metadata.resourceVersion");
      }
      continue;
    }
    kube_object_free(table);
    kube_table_printer_free(p);
  }
  if (!printed_any && rc == 0 && !(ng > 0 && gs[0].n_names > 0))
    no_resources(ns, all_cluster);
  fflush(stdout);
  if (o->watch) {
    if (ng > 1) {
      rc = cli_fail("you may only specify a single resource type");
    } else if (watch_printer) {
      rc = do_watch(c, o, &gs[0], ns, watch_rv, watch_printer) || rc;
    }
  }
  kube_object_free(watch_table);
  kube_table_printer_free(watch_printer);
  return rc;
}

int cmd_get(int argc, char **argv) {
  struct get_opts o = {0};
  const struct cli_flag flags[] = {
      {"output", 'o', CLI_STRING, &o.output, NULL},
      {"selector", 'l', CLI_STRING, &o.selector, NULL},
      {"field-selector", 0, CLI_STRING, &o.field_selector, NULL},
      {"watch", 'w', CLI_BOOL, &o.watch, NULL},
      {"watch-only", 0, CLI_BOOL, &o.watch_only, NULL},
      {"output-watch-events", 0, CLI_BOOL, &o.watch_events, NULL},
      {"show-labels", 0, CLI_BOOL, &o.show_labels, NULL},
      {"all-namespaces", 'A', CLI_BOOL, &o.all_ns, NULL},
      {"no-headers", 0, CLI_BOOL, &o.no_headers, NULL},
      {"ignore-not-found", 0, CLI_BOOL, &o.ignore_not_found, NULL},
      {"filename", 'f', CLI_STRINGS, &o.files, NULL},
      {"recursive", 'R', CLI_BOOL, &o.recursive, NULL},
      {"chunk-size", 0, CLI_INT, &o.chunk_size, NULL},
      {"label-columns", 'L', CLI_STRINGS, &o.label_columns, NULL},
      {"sort-by", 0, CLI_STRING, &o.sort_by, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, rc = 1;
  struct group *gs = NULL;
  size_t ng = 0;
  struct cli_ref *refs = NULL;
  size_t nrefs = 0;
  kube_object_t **objs = NULL;
  size_t nobjs = 0;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    goto out;
  if (o.watch_only)
    o.watch = true;
  if (o.label_columns.n > 0) {
    /* -L a,b -L c: every key, comma lists split. */
    size_t total = 0, count = 0;
    for (size_t i = 0; i < o.label_columns.n; i++)
      total += strlen(o.label_columns.v[i]) + 1;
    o.labels_buf = malloc(total + 1);
    o.labels_split = calloc(total + 1, sizeof *o.labels_split);
    if (!o.labels_buf || !o.labels_split)
      goto oom;
    char *w = o.labels_buf;
    for (size_t i = 0; i < o.label_columns.n; i++) {
      strcpy(w, o.label_columns.v[i]);
      char *save = NULL;
      for (char *k = strtok_r(w, ",", &save); k; k = strtok_r(NULL, ",", &save))
        o.labels_split[count++] = k;
      w += strlen(o.label_columns.v[i]) + 1;
    }
  }
  if (cli_output_parse(o.output, &o.fmt, &o.fmt_arg) < 0)
    goto out;
  if (npos == 0 && o.files.n == 0) {
    fprintf(stderr,
            "You must specify the type of resource to get. Use \"kube "
            "api-resources\" for a complete list of supported resources.\n\n"
            "error: Required resource not specified.\n");
    goto out;
  }
  if (o.files.n > 0) {
    if (cli_read_files(&o.files, o.recursive, &objs, &nobjs, NULL) < 0)
      goto out;
    for (size_t i = 0; i < nobjs; i++) {
      cleanup_error kube_error_t err = KUBE_ERROR_INIT;
      const kube_kind_t *k = cli_kind_of(objs[i], &err);
      if (!k) {
        rc = cli_report(&err);
        goto out;
      }
      if (add_group(&gs, &ng, k, kube_object_name(objs[i])) < 0)
        goto oom;
    }
  } else {
    if (cli_parse_refs(pos, npos, &refs, &nrefs) < 0)
      goto out;
    for (size_t i = 0; i < nrefs; i++)
      if (add_group(&gs, &ng, refs[i].kind, refs[i].name) < 0)
        goto oom;
  }
  kube_client_t *c = cli_client();
  if (!c)
    goto out;
  if (o.all_ns)
    for (size_t i = 0; i < ng; i++)
      if (gs[i].n_names > 0 && gs[i].kind->namespaced) {
        rc = cli_fail("a resource cannot be retrieved by name across all "
                      "namespaces");
        goto out;
      }
  const char *ns = o.all_ns ? NULL : cli_namespace();
  if (o.fmt == CLI_OUT_DEFAULT || o.fmt == CLI_OUT_WIDE)
    rc = get_tables(c, &o, gs, ng, ns);
  else {
    cleanup_free char *rv = NULL;
    rc = get_objects(c, &o, gs, ng, ns, &rv);
    if (o.watch) {
      if (ng != 1)
        rc = cli_fail("you may only specify a single resource type");
      else
        rc = do_watch(c, &o, &gs[0], ns, rv, NULL) || rc;
    }
  }
  goto out;
oom:
  rc = cli_fail("out of memory");
out:
  for (size_t i = 0; i < ng; i++)
    free(gs[i].names);
  free(gs);
  free(refs);
  kube_object_array_free(objs, nobjs);
  free(o.files.v);
  free(o.label_columns.v);
  free(o.labels_split);
  free(o.labels_buf);
  free(pos);
  return rc;
}
