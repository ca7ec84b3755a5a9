/* SPDX-License-Identifier: Apache-2.0 */
/* kube get: server-side Tables printed as kubectl does, -o formats, -w. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct get_opts {
  const char *output, *selector, *field_selector;
  bool watch, watch_only, show_labels, all_ns, no_headers, ignore_not_found;
  bool watch_events, recursive, show_managed_fields;
  struct cli_strv files, label_columns;
  int64_t chunk_size;
  kube_output_t out;
  const char *sort_by;       /* --sort-by JSONPath */
  const char *raw;           /* --raw PATH */
  const char *subresource;   /* --subresource status|scale */
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

/* The field selector of a watch: metadata.name=NAME for one object. */
static char *watch_field_selector(const struct get_opts *o, const char *name) {
  char *fs = NULL;
  if (!name)
    return strdup(o->field_selector ? o->field_selector : "");
  if (asprintf(&fs, "metadata.name=%s%s%s", name,
               o->field_selector && *o->field_selector ? "," : "",
               o->field_selector ? o->field_selector : "") < 0)
    return NULL;
  return fs;
}

static kube_get_options_t get_options(const struct get_opts *o) {
  return (kube_get_options_t){.struct_size = sizeof(kube_get_options_t),
                              .label_selector = o->selector,
                              .field_selector = o->field_selector,
                              .chunk_size = o->chunk_size,
                              .include_object = o->sort_by != NULL,
                              .subresource = o->subresource};
}

/* --raw PATH: GET it and copy the body to stdout as it is (kubectl's
 * RawOptions). */
static int get_raw(const char *raw) {
  kube_client_t *c = cli_client();
  if (!c)
    return 1;
  cleanup_free char *path = strdup(raw);
  if (!path)
    return cli_fail("out of memory");
  char *q = strchr(path, '?');
  if (q)
    *q++ = '\0';
  kube_client_request_t req = {.struct_size = sizeof req,
                               .method = "GET",
                               .path = path,
                               .query = q && *q ? q : NULL,
                               .accept = "application/json, */*"};
  kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (kube_client_request(c, &req, &resp, &err) < 0)
    return cli_report(&err);
  int rc = 0;
  if (kube_client_check(&resp, &err) < 0) {
    cli_print_error(&err);
    rc = 1;
  } else {
    fwrite(resp.body, 1, resp.body_len, stdout);
    fflush(stdout);
  }
  kube_client_response_clear(&resp);
  return rc;
}

/* One object's subresource (--subresource) as the server returns it. */
static kube_object_t *get_subresource(kube_client_t *c, const kube_kind_t *k,
                                      const char *ns, const char *name,
                                      const char *sub, kube_error_t *err) {
  cleanup_free char *path = kube_client_path(k, ns, name, sub);
  if (!path) {
    kube_error_set(err, KUBE_REASON_INTERNAL, ENOMEM, "out of memory");
    return NULL;
  }
  kube_client_request_t req = {
      .struct_size = sizeof req, .method = "GET", .path = path};
  kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
  kube_object_t *obj = NULL;
  if (kube_client_request(c, &req, &resp, err) == 0 &&
      kube_client_check(&resp, err) == 0)
    obj = kube_object_from_json(resp.body, resp.body_len, err);
  kube_client_response_clear(&resp);
  return obj;
}

struct watch_state {
  kube_table_printer_t *printer;
  struct get_opts *o;
  bool reported; /* an ERROR event was printed */
};

static int watch_event(const char *type, const kube_object_t *obj, void *ud) {
  struct watch_state *w = ud;
  if (streq(type, "BOOKMARK"))
    return 0;
  if (streq(type, "ERROR")) {
    const char *msg = kube_object_get_string(obj, "message");
    fprintf(stderr, "error: watch: %s\n", msg ? msg : "unknown error");
    w->reported = true;
    return 1;
  }
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (kube_output_is_table(&w->o->out)) {
    const char *k = kube_object_kind(obj);
    if (k && streq(k, "Table") &&
        kube_table_printer_add_event(w->printer, obj, NULL, type, &err) == 0) {
      char *s = kube_table_printer_render_new(w->printer);
      if (s)
        fputs(s, stdout);
      free(s);
    } else {
      cleanup_free char *ref = kube_object_ref(obj);
      printf("%s\n", ref ? ref : "");
    }
  } else if (w->o->watch_events && (w->o->out.format == KUBE_OUTPUT_JSON ||
                                    w->o->out.format == KUBE_OUTPUT_YAML)) {
    kube_object_t *eo = kube_watch_event_new(type, obj, &err);
    if (eo)
      cli_print_object(eo, &w->o->out);
    kube_object_free(eo);
  } else {
    cli_print_object(obj, &w->o->out);
  }
  fflush(stdout);
  return 0;
}

static int do_watch(kube_client_t *c, struct get_opts *o, const struct group *g,
                    const char *ns, const char *rv,
                    kube_table_printer_t *printer) {
  cleanup_free char *fs =
      watch_field_selector(o, g->n_names == 1 ? g->names[0] : NULL);
  if (!fs)
    return cli_fail("out of memory");
  kube_client_list_options_t lo = {.struct_size = sizeof lo,
                                   .label_selector = o->selector,
                                   .field_selector = fs,
                                   .resource_version = rv};
  struct watch_state w = {printer, o, false};
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  int r =
      kube_output_is_table(&o->out)
          ? kube_client_watch_table(c, g->kind, ns, &lo, watch_event, &w, &err)
          : kube_client_watch(c, g->kind, ns, &lo, watch_event, &w, &err);
  /* An ERROR event ends the watch after it was printed. */
  if (r < 0 && !w.reported)
    return cli_report(&err);
  return 0;
}

/* -o custom-columns: a Table built client-side from the items. */
static int print_custom_columns(const kube_object_t *list, const char *spec,
                                bool no_headers) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *t = kube_custom_columns_table(list, spec, &err);
  if (!t)
    return cli_fail("%s", err.message);
  kube_table_printer_t *p =
      kube_table_printer_new(no_headers ? KUBE_TABLE_NO_HEADERS : 0);
  if (p && kube_table_printer_add(p, t, NULL, &err) == 0) {
    char *out = kube_table_printer_render(p);
    if (out)
      fputs(out, stdout);
    free(out);
  }
  kube_table_printer_free(p);
  kube_object_free(t);
  return 0;
}

static void keep_rv(char **rv_out, const kube_object_t *obj) {
  const char *rv = kube_object_resource_version(obj);
  if (rv_out && rv) {
    free(*rv_out);
    *rv_out = strdup(rv);
  }
}

static int print_name(const kube_object_t *item, void *ud) {
  cli_print_object(item, ud);
  return 0;
}

/* Watching prints the listed objects one by one (as ADDED events with
 * --output-watch-events), like the events that follow. */
static int print_added(const kube_object_t *item, void *ud) {
  const struct get_opts *o = ud;
  if (!o->watch_events)
    return cli_print_object(item, &o->out), 0;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *e = kube_watch_event_new("ADDED", item, &err);
  if (e)
    cli_print_object(e, &o->out);
  kube_object_free(e);
  return 0;
}

static int get_objects(kube_client_t *c, struct get_opts *o, struct group *gs,
                       size_t ng, const char *ns, char **rv_out) {
  int rc = 0;
  cleanup_error kube_error_t lerr = KUBE_ERROR_INIT;
  kube_object_t *items = kube_list_new(&lerr);
  if (!items)
    return cli_report(&lerr);
  bool single = ng == 1 && gs[0].n_names == 1 && !o->selector && !o->watch;
  kube_object_t *single_obj = NULL;
  kube_get_options_t go = get_options(o);
  for (size_t gi = 0; gi < ng; gi++) {
    struct group *g = &gs[gi];
    if (g->n_names == 0) {
      cleanup_error kube_error_t err = KUBE_ERROR_INIT;
      kube_object_t *list = kube_client_list_all(c, g->kind, ns, &go, &err);
      if (!list) {
        cli_print_error(&err);
        rc = 1;
        continue;
      }
      keep_rv(rv_out, list);
      if (kube_list_extend(items, list, &err) < 0)
        rc = cli_report(&err);
      continue;
    }
    for (size_t i = 0; i < g->n_names; i++) {
      cleanup_error kube_error_t err = KUBE_ERROR_INIT;
      kube_object_t *obj =
          o->subresource
              ? get_subresource(c, g->kind, ns ? ns : cli_namespace(),
                                g->names[i], o->subresource, &err)
              : kube_client_get(c, g->kind, ns ? ns : cli_namespace(),
                                g->names[i], &err);
      if (!obj) {
        if (!(o->ignore_not_found && err.reason == KUBE_REASON_NOT_FOUND)) {
          cli_print_error(&err);
          rc = 1;
        }
        continue;
      }
      keep_rv(rv_out, obj);
      if (single) {
        single_obj = obj;
        continue;
      }
      if (kube_list_add(items, obj, &err) < 0)
        rc = cli_report(&err);
    }
  }
  if (o->watch_only) {
    kube_object_free(single_obj);
  } else if (o->out.format == KUBE_OUTPUT_CUSTOM_COLUMNS) {
    if (single_obj)
      kube_list_add(items, single_obj, &lerr);
    if (print_custom_columns(items, o->out.arg, o->no_headers))
      rc = 1;
  } else if (single_obj) {
    if (cli_print_object(single_obj, &o->out))
      rc = 1;
    kube_object_free(single_obj);
  } else if (o->sort_by && kube_object_sort_by(items, o->sort_by, &lerr) < 0) {
    rc = cli_fail("%s", lerr.message);
  } else if (o->watch) {
    kube_list_foreach(items, print_added, o);
    /* The listed objects show before the first change arrives. */
    fflush(stdout);
  } else if (o->out.format == KUBE_OUTPUT_NAME) {
    kube_list_foreach(items, print_name, &o->out);
  } else if (cli_print_object(items, &o->out)) {
    rc = 1;
  }
  kube_object_free(items);
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
  if (o->out.format == KUBE_OUTPUT_WIDE)
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
  kube_get_options_t go = get_options(o);
  for (size_t gi = 0; gi < ng; gi++) {
    struct group *g = &gs[gi];
    int f = flags;
    if (!ns && g->kind->namespaced)
      f |= KUBE_TABLE_NAMESPACE;
    if (g->kind->namespaced)
      all_cluster = false;
    kube_table_printer_t *p = kube_table_printer_new(f);
    char kn[128];
    kube_kind_display_name(g->kind, kn, sizeof kn);
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
      cleanup_error kube_error_t err = KUBE_ERROR_INIT;
      table = kube_client_get_table(c, g->kind, ns, NULL, &go, &err);
      if (table && o->sort_by &&
          kube_object_sort_by(table, o->sort_by, &err) < 0) {
        kube_object_free(table);
        kube_table_printer_free(p);
        return cli_fail("%s", err.message);
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
        cleanup_error kube_error_t err = KUBE_ERROR_INIT;
        kube_object_t *t = kube_client_get_table(
            c, g->kind, ns ? ns : cli_namespace(), g->names[i], &go, &err);
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
          watch_rv = kube_object_get_string(
              watch_table, "rows.0.object.metadata.resourceVersion");
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
      {"show-managed-fields", 0, CLI_BOOL, &o.show_managed_fields, NULL},
      {"raw", 0, CLI_STRING, &o.raw, NULL},
      {"subresource", 0, CLI_STRING, &o.subresource, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, rc = 1;
  struct group *gs = NULL;
  size_t ng = 0;
  struct cli_ref *refs = NULL;
  size_t nrefs = 0;
  kube_manifest_t m = KUBE_MANIFEST_INIT;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    goto out;
  if (o.watch_only)
    o.watch = true;
  if (o.raw) {
    /* kubectl's checks, in its order. */
    if (npos > 0 || o.files.n > 0)
      rc = cli_fail("arguments may not be passed when --raw is specified");
    else if (o.watch || (o.selector && *o.selector))
      rc = cli_fail("--raw may not be specified with other flags that filter "
                    "the server request or alter the output");
    else if (o.output && *o.output)
      rc = cli_fail("--raw and --output are mutually exclusive");
    else if (o.raw[0] != '/')
      rc = cli_fail("--raw must be a valid URL path: parse \"%s\": invalid "
                    "URI for request",
                    o.raw);
    else
      rc = get_raw(o.raw);
    goto out;
  }
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
  if (cli_output_parse(o.output, &o.out) < 0)
    goto out;
  o.out.show_managed_fields = o.show_managed_fields;
  if (npos == 0 && o.files.n == 0) {
    fprintf(stderr,
            "You must specify the type of resource to get. Use \"kube "
            "api-resources\" for a complete list of supported resources.\n\n"
            "error: Required resource not specified.\n");
    goto out;
  }
  if (o.files.n > 0) {
    if (cli_read_files(&o.files, o.recursive, &m) < 0)
      goto out;
    for (size_t i = 0; i < m.n; i++) {
      cleanup_error kube_error_t err = KUBE_ERROR_INIT;
      const kube_kind_t *k =
          kube_client_kind_of_object(cli_client(), m.objects[i], &err);
      if (!k) {
        rc = cli_report(&err);
        goto out;
      }
      if (add_group(&gs, &ng, k, kube_object_name(m.objects[i])) < 0)
        goto oom;
    }
  } else {
    if (cli_parse_refs(pos, npos, &refs, &nrefs) < 0)
      goto out;
    for (size_t i = 0; i < nrefs; i++)
      if (add_group(&gs, &ng, refs[i].kind, refs[i].name) < 0)
        goto oom;
  }
  if (o.subresource)
    for (size_t i = 0; i < ng; i++)
      if (gs[i].n_names == 0) {
        rc = cli_fail("subresource cannot be used when bulk resources are "
                      "specified");
        goto out;
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
  if (kube_output_is_table(&o.out))
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
  kube_manifest_clear(&m);
  free(o.files.v);
  free(o.label_columns.v);
  free(o.labels_split);
  free(o.labels_buf);
  free(pos);
  return rc;
}
