/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.k8s.io/v1beta1 (NodeMetrics, PodMetrics), what metrics-server
 * serves through the aggregator, fed by the Summary API documents of the
 * node agents of this process (kube_apiserver_add_metrics_source): the
 * usage of a node is its cpu.usageNanoCores and memory.workingSetBytes,
 * a pod's the same of each of its containers.  As metrics-server, a node
 * or pod whose CPU rate is not known yet (one sample only) is left out,
 * and so are pods and nodes the store no longer holds; the labels come
 * from the objects (label selectors filter on them).
 */
#include "apiserver/internal.h"

#define MX_GROUP "metrics.k8s.io"
#define MX_VERSION "v1beta1"
#define MX_API_VERSION MX_GROUP "/" MX_VERSION

struct as_metrics_source {
  char *node;
  kube_apiserver_summary_fn fn;
  void *arg;
  struct as_metrics_source *next;
};

static const char mx_resources[] =
    "[{\"name\":\"nodes\",\"singularName\":\"\",\"namespaced\":false,"
    "\"kind\":\"NodeMetrics\",\"verbs\":[\"get\",\"list\"]},"
    "{\"name\":\"pods\",\"singularName\":\"\",\"namespaced\":true,"
    "\"kind\":\"PodMetrics\",\"verbs\":[\"get\",\"list\"]}]";

/* ---- quantities --------------------------------------------------------- */

static json_object *quantity(uint64_t v, bool nano, kube_quantity_format_t f) {
  kube_quantity_t q = {.nano = (__int128)v * (nano ? 1 : 1000000000),
                       .format = f};
  char buf[64];
  return json_object_new_string(kube_quantity_format(&q, buf, sizeof buf));
}

/* {"cpu": "<n>n", "memory": "<bytes>Ki"} from a summary's cpu and memory,
 * or NULL when the CPU rate is missing. */
static json_object *usage_of(json_object *stats_owner) {
  json_object *cpu = kube_json_get(stats_owner, "cpu");
  json_object *mem = kube_json_get(stats_owner, "memory");
  json_object *nc = kube_json_get(cpu, "usageNanoCores");
  json_object *ws = kube_json_get(mem, "workingSetBytes");
  if (!nc || !ws)
    return NULL;
  json_object *u = json_object_new_object();
  json_object_object_add(
      u, "cpu",
      quantity(json_object_get_uint64(nc), true, KUBE_QUANTITY_DECIMAL_SI));
  json_object_object_add(
      u, "memory",
      quantity(json_object_get_uint64(ws), false, KUBE_QUANTITY_BINARY_SI));
  return u;
}

/* ---- reading the sources ------------------------------------------------ */

/* The summaries of every source, as an array (owned). */
static json_object *summaries(kube_apiserver_t *srv) {
  json_object *all = json_object_new_array();
  for (struct as_metrics_source *s = srv->metrics_sources; s; s = s->next) {
    char *text = NULL;
    kube_error_t e = KUBE_ERROR_INIT;
    if (s->fn(s->arg, &text, &e) == 0 && text) {
      json_object *doc = kube_json_parse(text, strlen(text), &e);
      if (doc && json_object_is_type(doc, json_type_object))
        json_object_array_add(all, doc);
      else if (doc)
        json_object_put(doc);
    }
    free(text);
    kube_error_clear(&e);
  }
  as_scrape_add_docs(srv, all);
  return all;
}

static json_object *stored(kube_apiserver_t *srv, const char *kind,
                           const char *ns, const char *name) {
  const kube_kind_t *k = kube_kind_by_kind("v1", kind);
  cleanup_free char *key = k ? as_store_key(k, ns, name) : NULL;
  if (!key)
    return NULL;
  kube_store_record_t *rec = kube_store_get(srv->store, key, NULL);
  if (!rec)
    return NULL;
  json_object *obj = as_record_to_tree(rec, NULL);
  kube_store_record_unref(rec);
  return obj;
}

static const char *label_lookup(void *ctx, const char *key) {
  json_object *v = json_object_object_get(ctx, key);
  return v ? json_object_get_string(v) : NULL;
}

/* The metadata of a metrics object: the name (and namespace), the
 * object's labels, now as the creation time.  NULL when the object is
 * gone or its labels do not match. */
static json_object *meta_of(kube_apiserver_t *srv, const char *kind,
                            const char *ns, const char *name,
                            const kube_selector_t *sel) {
  json_object *obj = stored(srv, kind, ns, name);
  if (!obj)
    return NULL;
  json_object *labels = kube_json_get(obj, "metadata.labels");
  json_object *empty = json_object_new_object();
  bool ok = kube_selector_matches(sel, label_lookup, labels ? labels : empty);
  json_object *m = NULL;
  if (ok) {
    m = json_object_new_object();
    json_object_object_add(m, "name", json_object_new_string(name));
    if (ns)
      json_object_object_add(m, "namespace", json_object_new_string(ns));
    char buf[32];
    json_object_object_add(
        m, "creationTimestamp",
        json_object_new_string(kube_time_format(time(NULL), buf, sizeof buf)));
    if (labels)
      json_object_object_add(m, "labels", json_object_get(labels));
  }
  json_object_put(empty);
  json_object_put(obj);
  return m;
}

static void add_window(json_object *o, json_object *stats_owner) {
  const char *t = kube_json_get_string(stats_owner, "cpu.time");
  json_object_object_add(o, "timestamp", json_object_new_string(t ? t : ""));
  json_object_object_add(o, "window", json_object_new_string("10s"));
}

/* A NodeMetrics or PodMetrics object around meta (stolen), its time from
 * the CPU stats of stats_owner. */
static json_object *metrics_object(const char *kind, json_object *meta,
                                   json_object *stats_owner) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "kind", json_object_new_string(kind));
  json_object_object_add(o, "apiVersion",
                         json_object_new_string(MX_API_VERSION));
  json_object_object_add(o, "metadata", meta);
  add_window(o, stats_owner);
  return o;
}

/* NodeMetrics of a summary's node, or NULL. */
static json_object *node_metrics(kube_apiserver_t *srv, json_object *summary,
                                 const char *want, const kube_selector_t *sel) {
  json_object *node = kube_json_get(summary, "node");
  const char *name = kube_json_get_string(node, "nodeName");
  if (!name || (want && !streq(want, name)))
    return NULL;
  json_object *usage = usage_of(node);
  if (!usage)
    return NULL;
  json_object *meta = meta_of(srv, "Node", NULL, name, sel);
  if (!meta) {
    json_object_put(usage);
    return NULL;
  }
  json_object *o = metrics_object("NodeMetrics", meta, node);
  json_object_object_add(o, "usage", usage);
  return o;
}

/* PodMetrics of a summary's pod entry, or NULL. */
static json_object *pod_metrics(kube_apiserver_t *srv, json_object *pod,
                                const char *want_ns, const char *want,
                                const kube_selector_t *sel) {
  const char *ns = kube_json_get_string(pod, "podRef.namespace");
  const char *name = kube_json_get_string(pod, "podRef.name");
  if (!ns || !name || (want_ns && !streq(want_ns, ns)) ||
      (want && !streq(want, name)))
    return NULL;
  json_object *ctrs = kube_json_get(pod, "containers");
  size_t n = ctrs && json_object_is_type(ctrs, json_type_array)
                 ? json_object_array_length(ctrs)
                 : 0;
  if (!n)
    return NULL;
  json_object *out = json_object_new_array();
  for (size_t i = 0; i < n; i++) {
    json_object *c = json_object_array_get_idx(ctrs, i);
    const char *cn = kube_json_get_string(c, "name");
    json_object *usage = cn ? usage_of(c) : NULL;
    if (!usage) { /* as metrics-server: all containers or none */
      json_object_put(out);
      return NULL;
    }
    json_object *co = json_object_new_object();
    json_object_object_add(co, "name", json_object_new_string(cn));
    json_object_object_add(co, "usage", usage);
    json_object_array_add(out, co);
  }
  json_object *meta = meta_of(srv, "Pod", ns, name, sel);
  if (!meta) {
    json_object_put(out);
    return NULL;
  }
  json_object *o =
      metrics_object("PodMetrics", meta, json_object_array_get_idx(ctrs, 0));
  json_object_object_add(o, "containers", out);
  return o;
}

/* ---- serving ------------------------------------------------------------ */

static void reply_json(kube_http_request_t *req, int code, json_object *o) {
  const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
  kube_http_reply(req, code, "application/json", s, strlen(s));
  json_object_put(o);
}

static void reply_error(kube_http_request_t *req, kube_error_t *err) {
  json_object *st = as_status_object(err);
  reply_json(req, kube_reason_http_code(err->reason), st);
  kube_error_clear(err);
}

static void reply_not_found(kube_http_request_t *req, const char *resource,
                            const char *ns, const char *name) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_error_set(&err, KUBE_REASON_NOT_FOUND, 0,
                 "%s.metrics.k8s.io \"%s%s%s\" not found", resource,
                 ns ? ns : "", ns ? "/" : "", name);
  json_object *st = as_status_object(&err);
  json_object *d = json_object_new_object();
  json_object_object_add(d, "name", json_object_new_string(name));
  json_object_object_add(d, "group", json_object_new_string(MX_GROUP));
  json_object_object_add(d, "kind", json_object_new_string(resource));
  json_object_object_add(st, "details", d);
  reply_json(req, 404, st);
  kube_error_clear(&err);
}

/* Sum of the usage of `res` over an item's containers (PodMetrics) or its
 * usage (NodeMetrics), in canonical form. */
static json_object *usage_sum(json_object *item, const char *res) {
  json_object *ctrs = kube_json_get(item, "containers");
  size_t n = ctrs ? json_object_array_length(ctrs) : 1;
  kube_quantity_t sum = {0};
  for (size_t i = 0; i < n; i++) {
    json_object *u = kube_json_get(
        ctrs ? json_object_array_get_idx(ctrs, i) : item, "usage");
    const char *s = kube_json_get_string(u, res);
    kube_quantity_t q;
    if (s && kube_quantity_parse(s, &q, NULL) == 0)
      kube_quantity_add(&sum, &q, &sum, NULL);
  }
  char buf[64];
  return json_object_new_string(kube_quantity_format(&sum, buf, sizeof buf));
}

static json_object *column(const char *name, const char *format,
                           const char *desc) {
  json_object *c = json_object_new_object();
  json_object_object_add(c, "name", json_object_new_string(name));
  json_object_object_add(c, "type", json_object_new_string("string"));
  json_object_object_add(c, "format", json_object_new_string(format));
  json_object_object_add(c, "description", json_object_new_string(desc));
  json_object_object_add(c, "priority", json_object_new_int(0));
  return c;
}

/* metrics-server's Table: Name, cpu, memory, Window; each row with the
 * item's metadata as PartialObjectMetadata.  items is stolen. */
static json_object *as_table(json_object *items) {
  json_object *t = json_object_new_object();
  json_object_object_add(t, "kind", json_object_new_string("Table"));
  json_object_object_add(t, "apiVersion",
                         json_object_new_string("meta.k8s.io/v1"));
  json_object_object_add(t, "metadata", json_object_new_object());
  json_object *cols = json_object_new_array();
  json_object_array_add(cols, column("Name", "name", "Name of the resource"));
  json_object_array_add(cols, column("cpu", "quantity", ""));
  json_object_array_add(cols, column("memory", "quantity", ""));
  json_object_array_add(cols, column("Window", "duration", ""));
  json_object_object_add(t, "columnDefinitions", cols);
  json_object *rows = json_object_new_array();
  for (size_t i = 0; i < json_object_array_length(items); i++) {
    json_object *it = json_object_array_get_idx(items, i);
    json_object *cells = json_object_new_array();
    json_object_array_add(cells,
                          json_object_new_string(
                              kube_json_get_string(it, "metadata.name") ?: ""));
    json_object_array_add(cells, usage_sum(it, "cpu"));
    json_object_array_add(cells, usage_sum(it, "memory"));
    json_object_array_add(cells, json_object_new_string(
                                     kube_json_get_string(it, "window") ?: ""));
    json_object *obj = json_object_new_object();
    json_object_object_add(obj, "kind",
                           json_object_new_string("PartialObjectMetadata"));
    json_object_object_add(obj, "apiVersion",
                           json_object_new_string("meta.k8s.io/v1"));
    json_object_object_add(obj, "metadata",
                           json_object_get(kube_json_get(it, "metadata")));
    json_object *row = json_object_new_object();
    json_object_object_add(row, "cells", cells);
    json_object_object_add(row, "object", obj);
    json_object_array_add(rows, row);
  }
  json_object_object_add(t, "rows", rows);
  json_object_put(items);
  return t;
}

/* The path below /apis/metrics.k8s.io/v1beta1/: nodes[/N], pods,
 * namespaces/NS/pods[/N]. */
static void mx_serve(const kube_apiserver_handler_ctx_t *ctx, void *arg) {
  kube_apiserver_t *srv = arg;
  kube_http_request_t *req = ctx->request;
  const char *m = kube_http_request_method(req);
  kube_error_t err = KUBE_ERROR_INIT;
  if (!streq(m, "GET") && !streq(m, "HEAD")) {
    kube_error_set(&err, KUBE_REASON_METHOD_NOT_ALLOWED, 0,
                   "the server does not allow this method on the requested "
                   "resource");
    reply_error(req, &err);
    return;
  }
  const char *path = kube_http_request_path(req) +
                     strlen("/apis/" MX_GROUP "/" MX_VERSION "/");
  cleanup_free char *copy = strdup(path);
  char *seg[5] = {0};
  int n = 0;
  for (char *save = NULL, *t = copy ? strtok_r(copy, "/", &save) : NULL; t;
       t = strtok_r(NULL, "/", &save)) {
    if (n == 5) {
      n = 6;
      break;
    }
    seg[n++] = t;
  }
  const char *ns = NULL, *resource = NULL, *name = NULL;
  if (n >= 1 && n <= 2 && (streq(seg[0], "nodes") || streq(seg[0], "pods"))) {
    resource = seg[0];
    name = n == 2 ? seg[1] : NULL;
  } else if ((n == 3 || n == 4) && streq(seg[0], "namespaces") &&
             streq(seg[2], "pods")) {
    ns = seg[1];
    resource = "pods";
    name = n == 4 ? seg[3] : NULL;
  } else {
    kube_error_set(&err, KUBE_REASON_NOT_FOUND, 0,
                   "the server could not find the requested resource");
    reply_error(req, &err);
    return;
  }
  kube_selector_t *sel = kube_label_selector_parse(
      kube_http_request_query_param(req, "labelSelector"), &err);
  if (!sel) {
    reply_error(req, &err);
    return;
  }
  bool nodes = streq(resource, "nodes");
  json_object *docs = summaries(srv);
  json_object *items = json_object_new_array();
  for (size_t i = 0; i < json_object_array_length(docs); i++) {
    json_object *doc = json_object_array_get_idx(docs, i);
    if (nodes) {
      json_object *o = node_metrics(srv, doc, name, sel);
      if (o)
        json_object_array_add(items, o);
      continue;
    }
    json_object *pods = kube_json_get(doc, "pods");
    size_t np = pods && json_object_is_type(pods, json_type_array)
                    ? json_object_array_length(pods)
                    : 0;
    for (size_t k = 0; k < np; k++) {
      json_object *o =
          pod_metrics(srv, json_object_array_get_idx(pods, k), ns, name, sel);
      if (o)
        json_object_array_add(items, o);
    }
  }
  json_object_put(docs);
  kube_selector_free(sel);
  const char *accept = kube_http_request_header(req, "Accept");
  bool table = accept && strstr(accept, "as=Table");
  if (table && (!name || json_object_array_length(items) > 0)) {
    reply_json(req, 200, as_table(items));
    return;
  }
  if (name) {
    if (json_object_array_length(items) == 0)
      reply_not_found(req, nodes ? "nodemetrics" : "podmetrics", ns, name);
    else
      reply_json(req, 200,
                 json_object_get(json_object_array_get_idx(items, 0)));
    json_object_put(items);
    return;
  }
  json_object *list = json_object_new_object();
  json_object_object_add(
      list, "kind",
      json_object_new_string(nodes ? "NodeMetricsList" : "PodMetricsList"));
  json_object_object_add(list, "apiVersion",
                         json_object_new_string(MX_API_VERSION));
  json_object_object_add(list, "metadata", json_object_new_object());
  json_object_object_add(list, "items", items);
  reply_json(req, 200, list);
}

/* ---- sources ------------------------------------------------------------ */

int as_metrics_serve(kube_apiserver_t *srv, kube_error_t *err) {
  if (srv->metrics_served)
    return 0;
  if (kube_apiserver_handle_group_version(srv, MX_GROUP, MX_VERSION,
                                          mx_resources, mx_serve, srv, err) < 0)
    return -1;
  srv->metrics_served = true;
  return 0;
}

bool as_metrics_source_exists(kube_apiserver_t *srv, const char *name) {
  for (struct as_metrics_source *s = srv->metrics_sources; s; s = s->next)
    if (streq(s->node, name))
      return true;
  return false;
}

KUBE_EXPORT int kube_apiserver_add_metrics_source(kube_apiserver_t *srv,
                                                  const char *node,
                                                  kube_apiserver_summary_fn fn,
                                                  void *arg,
                                                  kube_error_t *err) {
  if (!srv || !node || !*node || !fn)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "a metrics source needs a node name and a function");
  if (as_metrics_serve(srv, err) < 0)
    return -1;
  for (struct as_metrics_source *s = srv->metrics_sources; s; s = s->next)
    if (streq(s->node, node)) {
      s->fn = fn;
      s->arg = arg;
      return 0;
    }
  struct as_metrics_source *s = calloc(1, sizeof *s);
  if (!s || !(s->node = strdup(node))) {
    free(s);
    return kube_make_oom(err);
  }
  s->fn = fn;
  s->arg = arg;
  s->next = srv->metrics_sources;
  srv->metrics_sources = s;
  return 0;
}

KUBE_EXPORT void kube_apiserver_remove_metrics_source(kube_apiserver_t *srv,
                                                      const char *node) {
  if (!srv || !node)
    return;
  for (struct as_metrics_source **pp = &srv->metrics_sources; *pp;
       pp = &(*pp)->next)
    if (streq((*pp)->node, node)) {
      struct as_metrics_source *s = *pp;
      *pp = s->next;
      free(s->node);
      free(s);
      return;
    }
}

void as_metrics_sources_free(kube_apiserver_t *srv) {
  while (srv->metrics_sources) {
    struct as_metrics_source *s = srv->metrics_sources;
    srv->metrics_sources = s->next;
    free(s->node);
    free(s);
  }
}
