/* SPDX-License-Identifier: Apache-2.0 */
/* kube top nodes|pods: resource usage from metrics.k8s.io, in kubectl
 * top's table (tab-aligned, padding 3). */
#include <stdio.h>

#include <json-c/json.h>

#include "cli.h"

#define MX "/apis/metrics.k8s.io/v1beta1"

struct top_table {
  size_t cols, n; /* cells in rows of `cols` */
  char **cells;
};

static void top_add(struct top_table *t, const char *s) {
  char **c = realloc(t->cells, (t->n + 1) * sizeof *c);
  if (!c)
    return;
  t->cells = c;
  t->cells[t->n++] = strdup(s ? s : "");
}

static void top_print(struct top_table *t) {
  size_t *w = calloc(t->cols, sizeof *w);
  for (size_t i = 0; w && i < t->n; i++) {
    size_t l = t->cells[i] ? strlen(t->cells[i]) + 3 : 3;
    if (l > w[i % t->cols])
      w[i % t->cols] = l;
  }
  for (size_t i = 0; w && i < t->n; i++) {
    printf("%-*s", (int)w[i % t->cols], t->cells[i] ? t->cells[i] : "");
    if (i % t->cols == t->cols - 1)
      putchar('\n');
  }
  for (size_t i = 0; i < t->n; i++)
    free(t->cells[i]);
  free(t->cells);
  free(w);
}

/* GET path (query may be NULL) as JSON; NULL after printing the error. */
static json_object *get_json(kube_client_t *c, const char *path,
                             const char *query) {
  kube_client_request_t req = {
      .struct_size = sizeof req, .method = "GET", .path = path, .query = query};
  kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  json_object *o = NULL;
  if (kube_client_request(c, &req, &resp, &err) == 0 &&
      kube_client_check(&resp, &err) == 0)
    o = json_tokener_parse(resp.body);
  kube_client_response_clear(&resp);
  if (!o && err.reason == KUBE_REASON_NOT_FOUND &&
      strstr(err.message ? err.message : "", "the server could not find"))
    cli_fail("Metrics API not available");
  else if (!o)
    cli_print_error(&err);
  return o;
}

static const char *str_at(json_object *o, const char *k1, const char *k2) {
  json_object *v = NULL;
  if (!json_object_object_get_ex(o, k1, &v))
    return NULL;
  if (k2 && !json_object_object_get_ex(v, k2, &v))
    return NULL;
  return json_object_get_string(v);
}

/* "123m" (millicores rounded up) and "45Mi" of a usage object. */
static void usage_cells(json_object *usage, int64_t *milli, int64_t *bytes) {
  const char *cpu = str_at(usage, "cpu", NULL);
  const char *mem = str_at(usage, "memory", NULL);
  *milli = cpu ? kube_quantity_parse_milli(cpu, NULL) : 0;
  *bytes = mem ? kube_quantity_parse_value(mem, NULL) : 0;
  if (*milli < 0)
    *milli = 0;
  if (*bytes < 0)
    *bytes = 0;
}

static char *selector_query(const char *sel) {
  cleanup_free char *e = kube_client_query_escape(sel);
  char *q = NULL;
  return e && asprintf(&q, "labelSelector=%s", e) >= 0 ? q : NULL;
}

static int by_name(const void *a, const void *b) {
  json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b;
  const char *nx = str_at(x, "metadata", "namespace");
  const char *ny = str_at(y, "metadata", "namespace");
  int r = strcmp(nx ? nx : "", ny ? ny : "");
  if (r)
    return r;
  nx = str_at(x, "metadata", "name");
  ny = str_at(y, "metadata", "name");
  return strcmp(nx ? nx : "", ny ? ny : "");
}

/* The items of a list (or the one object of a get), sorted by name. */
static json_object **items_of(json_object *o, size_t *n) {
  json_object *items = NULL;
  bool list = json_object_object_get_ex(o, "items", &items);
  *n = list ? json_object_array_length(items) : 1;
  json_object **v = calloc(*n + 1, sizeof *v);
  for (size_t i = 0; v && i < *n; i++)
    v[i] = list ? json_object_array_get_idx(items, i) : o;
  if (v)
    qsort(v, *n, sizeof *v, by_name);
  return v;
}

/* GET the metrics at path (with the selector), sorted items into *v;
 * NULL after printing the error. */
static json_object *fetch(kube_client_t *c, const char *path, const char *sel,
                          json_object ***v, size_t *n) {
  cleanup_free char *query = NULL;
  if (sel && !(query = selector_query(sel)))
    return NULL;
  json_object *o = get_json(c, path, query);
  if (o && !(*v = items_of(o, n))) {
    json_object_put(o);
    return NULL;
  }
  return o;
}

static int top_nodes(kube_client_t *c, const char *name, const char *sel,
                     bool headers) {
  cleanup_free char *path = NULL;
  if (asprintf(&path, MX "/nodes%s%s", name ? "/" : "", name ? name : "") < 0)
    return 1;
  size_t n;
  json_object **v = NULL;
  json_object *o = fetch(c, path, sel, &v, &n);
  if (!o)
    return 1;
  if (!n) {
    fprintf(stderr, "No resources found\n");
    json_object_put(o);
    free(v);
    return 0;
  }
  struct top_table t = {.cols = 5};
  if (headers) {
    top_add(&t, "NAME");
    top_add(&t, "CPU(cores)");
    top_add(&t, "CPU(%)");
    top_add(&t, "MEMORY(bytes)");
    top_add(&t, "MEMORY(%)");
  }
  for (size_t i = 0; v && i < n; i++) {
    const char *nn = str_at(v[i], "metadata", "name");
    json_object *usage = NULL;
    json_object_object_get_ex(v[i], "usage", &usage);
    int64_t milli, bytes;
    usage_cells(usage, &milli, &bytes);
    /* the percentages of the node's allocatable */
    cleanup_free char *npath = NULL;
    json_object *node = NULL;
    if (nn && asprintf(&npath, "/api/v1/nodes/%s", nn) >= 0) {
      kube_client_request_t req = {
          .struct_size = sizeof req, .method = "GET", .path = npath};
      kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
      if (kube_client_request(c, &req, &resp, NULL) == 0 && resp.status == 200)
        node = json_tokener_parse(resp.body);
      kube_client_response_clear(&resp);
    }
    json_object *st = NULL, *alloc = NULL;
    if (node && json_object_object_get_ex(node, "status", &st))
      json_object_object_get_ex(st, "allocatable", &alloc);
    int64_t acpu, amem;
    usage_cells(alloc, &acpu, &amem);
    char buf[64];
    top_add(&t, nn);
    snprintf(buf, sizeof buf, "%lldm", (long long)milli);
    top_add(&t, buf);
    if (acpu > 0)
      snprintf(buf, sizeof buf, "%lld%%", (long long)(milli * 100 / acpu));
    top_add(&t, acpu > 0 ? buf : "<unknown>");
    snprintf(buf, sizeof buf, "%lldMi", (long long)(bytes / (1024 * 1024)));
    top_add(&t, buf);
    if (amem > 0)
      snprintf(buf, sizeof buf, "%lld%%", (long long)(bytes * 100 / amem));
    top_add(&t, amem > 0 ? buf : "<unknown>");
    if (node)
      json_object_put(node);
  }
  top_print(&t);
  free(v);
  json_object_put(o);
  return 0;
}

static int top_pods(kube_client_t *c, const char *name, const char *sel,
                    bool all_ns, bool containers, bool headers) {
  const char *ns = cli_namespace();
  cleanup_free char *path = NULL;
  int r = all_ns && !name ? asprintf(&path, MX "/pods")
                          : asprintf(&path, MX "/namespaces/%s/pods%s%s", ns,
                                     name ? "/" : "", name ? name : "");
  size_t n;
  json_object **v = NULL;
  json_object *o = r < 0 ? NULL : fetch(c, path, sel, &v, &n);
  if (!o)
    return 1;
  if (!n) {
    if (all_ns)
      fprintf(stderr, "No resources found\n");
    else
      fprintf(stderr, "No resources found in %s namespace.\n", ns);
    json_object_put(o);
    free(v);
    return 0;
  }
  struct top_table t = {.cols = 3 + (all_ns ? 1 : 0) + (containers ? 1 : 0)};
  if (headers) {
    if (all_ns)
      top_add(&t, "NAMESPACE");
    top_add(&t, containers ? "POD" : "NAME");
    if (containers)
      top_add(&t, "NAME");
    top_add(&t, "CPU(cores)");
    top_add(&t, "MEMORY(bytes)");
  }
  for (size_t i = 0; v && i < n; i++) {
    json_object *ctrs = NULL;
    json_object_object_get_ex(v[i], "containers", &ctrs);
    size_t nc = ctrs ? json_object_array_length(ctrs) : 0;
    int64_t tm = 0, tb = 0;
    char buf[64];
    for (size_t k = 0; k < nc; k++) {
      json_object *cu = NULL, *co = json_object_array_get_idx(ctrs, k);
      json_object_object_get_ex(co, "usage", &cu);
      int64_t m, b;
      usage_cells(cu, &m, &b);
      tm += m;
      tb += b;
      if (!containers)
        continue;
      if (all_ns)
        top_add(&t, str_at(v[i], "metadata", "namespace"));
      top_add(&t, str_at(v[i], "metadata", "name"));
      top_add(&t, str_at(co, "name", NULL));
      snprintf(buf, sizeof buf, "%lldm", (long long)m);
      top_add(&t, buf);
      snprintf(buf, sizeof buf, "%lldMi", (long long)(b / (1024 * 1024)));
      top_add(&t, buf);
    }
    if (containers)
      continue;
    if (all_ns)
      top_add(&t, str_at(v[i], "metadata", "namespace"));
    top_add(&t, str_at(v[i], "metadata", "name"));
    snprintf(buf, sizeof buf, "%lldm", (long long)tm);
    top_add(&t, buf);
    snprintf(buf, sizeof buf, "%lldMi", (long long)(tb / (1024 * 1024)));
    top_add(&t, buf);
  }
  top_print(&t);
  free(v);
  json_object_put(o);
  return 0;
}

int cmd_top(int argc, char **argv) {
  const char *selector = NULL;
  bool all_ns = false, containers = false, no_headers = false;
  const struct cli_flag flags[] = {
      {"selector", 'l', CLI_STRING, &selector, NULL},
      {"all-namespaces", 'A', CLI_BOOL, &all_ns, NULL},
      {"containers", 0, CLI_BOOL, &containers, NULL},
      {"no-headers", 0, CLI_BOOL, &no_headers, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, rc = 1;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    goto out;
  const char *what = npos > 0 ? pos[0] : NULL;
  const char *name = npos > 1 ? pos[1] : NULL;
  bool nodes = what && (streq(what, "nodes") || streq(what, "node") ||
                        streq(what, "no"));
  bool pods =
      what && (streq(what, "pods") || streq(what, "pod") || streq(what, "po"));
  if ((!nodes && !pods) || npos > 2) {
    rc = cli_fail("usage: kube top nodes|pods [NAME] [-l SELECTOR] [-A] "
                  "[--containers] [--no-headers]");
    goto out;
  }
  if (name && selector) {
    rc = cli_fail("only one of NAME or --selector can be provided");
    goto out;
  }
  kube_client_t *c = cli_client();
  if (!c)
    goto out;
  rc = nodes ? top_nodes(c, name, selector, !no_headers)
             : top_pods(c, name, selector, all_ns, containers, !no_headers);
out:
  free(pos);
  return rc;
}
