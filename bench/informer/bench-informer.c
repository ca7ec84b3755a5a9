/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-informer: what a shared pod informer costs with 150,000 pods.
 *
 * The pod text is what kubed's API server stores for a pod as the
 * scheduler benches create it (labels, an owning ReplicaSet, defaults,
 * managedFields, bound to a node with its PodScheduled condition), with
 * names, uids, namespaces (50) and nodes (5,000) varied.  A LIST of N such
 * pods is served by a minimal transport of this program; the informer (from
 * a factory, with the namespace, spec.nodeName, controller-UID and label
 * indexes) caches it.  Reported:
 * - RSS growth for the cache after the list text is freed (malloc_trim),
 *   and the informer's own byte count, per pod;
 * - the same items held as json-c trees (what an informer keeping parsed
 *   objects would hold), measured on --tree-pods of them;
 * - wall time of the first LIST, of a re-LIST with nothing changed, and of
 *   index lookups.
 *
 * usage: bench-informer [--pods N] [--tree-pods M] [--keep-managed-fields]
 *                       [--json]
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <json-c/json.h>

#include <libkube/apiserver.h>
#include <libkube/kit.h>
#include <libkube/store.h>

#include "bench-util.h"

static void die(const char *what) {
  fprintf(stderr, "bench-informer: %s\n", what);
  exit(1);
}

/* ---- a pod as kubed stores it ---- */

struct call_result {
  int status;
  bool done;
  char *body;
};

static void result_cb(int status, const char *ct, const char *data, size_t len,
                      bool done, void *arg) {
  struct call_result *r = arg;
  if (!done)
    return;
  r->status = status;
  r->done = true;
  r->body = strndup(data, len);
}

static char *call(kube_loop_t *loop, kube_apiserver_t *srv, const char *method,
                  const char *path, const char *body, int want) {
  struct call_result r = {0};
  kube_apiserver_request_t rq = {.struct_size = sizeof rq,
                                 .method = method,
                                 .path = path,
                                 .body = body,
                                 .body_len = body ? strlen(body) : 0};
  if (!kube_apiserver_request(srv, &rq, result_cb, &r, NULL))
    die("request failed");
  while (!r.done)
    kube_loop_iterate(loop, 10);
  if (r.status != want) {
    fprintf(stderr, "%s %s: %d %s\n", method, path, r.status, r.body);
    die("unexpected status");
  }
  return r.body;
}

static char *pod_template(void) {
  kube_loop_t *loop = kube_loop_new(NULL);
  kube_store_options_t so = {.struct_size = sizeof so, .backend = "memory"};
  kube_store_t *store = kube_store_open(loop, &so, NULL);
  kube_apiserver_options_t ao = {.struct_size = sizeof ao, .bootstrap = true};
  kube_apiserver_t *srv = kube_apiserver_new(loop, store, &ao, NULL);
  if (!srv)
    die("no API server");
  while (!kube_apiserver_ready(srv))
    kube_loop_iterate(loop, 10);
  free(call(loop, srv, "POST", "/api/v1/nodes",
            "{\"metadata\":{\"name\":\"zznodenamezz\"},\"status\":{"
            "\"allocatable\":{\"cpu\":\"4\",\"memory\":\"32Gi\",\"pods\":"
            "\"110\"}}}",
            201));
  free(call(loop, srv, "POST", "/api/v1/namespaces/default/pods",
            "{\"metadata\":{\"name\":\"zzpodnamezz\",\"labels\":{\"app\":"
            "\"bench\",\"pod-template-hash\":\"5d8f7c9b6\"},"
            "\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":"
            "\"ReplicaSet\",\"name\":\"bench-5d8f7c9b6\",\"uid\":"
            "\"6a1f5c1e-1b0e-4c55-9a58-3f3f1d2b7a10\",\"controller\":true,"
            "\"blockOwnerDeletion\":true}]},\"spec\":{\"containers\":[{"
            "\"name\":\"pause\",\"image\":\"registry.k8s.io/pause:3.9\","
            "\"ports\":[{\"containerPort\":8080}],\"resources\":{"
            "\"requests\":{\"cpu\":\"100m\",\"memory\":\"500Mi\"}}}]}}",
            201));
  free(call(loop, srv, "POST",
            "/api/v1/namespaces/default/pods/zzpodnamezz/binding",
            "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{"
            "\"name\":\"zzpodnamezz\"},\"target\":{\"kind\":\"Node\",\"name\":"
            "\"zznodenamezz\"}}",
            201));
  char *pod = call(loop, srv, "GET",
                   "/api/v1/namespaces/default/pods/zzpodnamezz", NULL, 200);
  kube_apiserver_free(srv);
  kube_store_close(store);
  kube_loop_free(loop);
  return pod;
}

/* Replace every `from` in s (owned) by `to`.  Owned result. */
static char *replace(char *s, const char *from, const char *to) {
  size_t fl = strlen(from), tl = strlen(to), n = 0;
  for (const char *p = s; (p = strstr(p, from)); p += fl)
    n++;
  char *out = malloc(strlen(s) + n * (tl + 1) + 1), *o = out;
  const char *p = s, *q;
  while ((q = strstr(p, from))) {
    memcpy(o, p, (size_t)(q - p));
    o += q - p;
    memcpy(o, to, tl);
    o += tl;
    p = q + fl;
  }
  strcpy(o, p);
  free(s);
  return out;
}

/* ---- a transport serving one LIST body ---- */

struct list_server {
  struct event_base *base;
  const char *body;
  size_t len;
  kube_transport_reply_cb cb;
  void *arg;
  int lists;
};

static void deliver(evutil_socket_t fd, short what, void *arg) {
  struct list_server *s = arg;
  s->cb(200, "application/json", s->body, s->len, true, s->arg);
}

static kube_transport_call_t *ls_request(void *impl,
                                         const kube_transport_request_t *req,
                                         kube_transport_reply_cb cb, void *arg,
                                         kube_error_t *err) {
  struct list_server *s = impl;
  if (strstr(req->path, "watch=1"))
    return (kube_transport_call_t *)s; /* a watch that stays quiet */
  s->cb = cb;
  s->arg = arg;
  s->lists++;
  event_base_once(s->base, -1, EV_TIMEOUT, deliver, s, NULL);
  return (kube_transport_call_t *)s;
}

static void ls_cancel(void *impl, kube_transport_call_t *call) {}

static const kube_transport_ops_t ls_ops = {
    .version = KUBE_TRANSPORT_OPS_VERSION,
    .request = ls_request,
    .cancel = ls_cancel,
};

static bool synced(kube_informer_t *inf) {
  return kube_informer_synced(inf);
}

int main(int argc, char **argv) {
  long n_pods = 150000, n_tree = 15000;
  bool json = false, keep_mf = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--pods") && i + 1 < argc)
      n_pods = atol(argv[++i]);
    else if (!strcmp(argv[i], "--tree-pods") && i + 1 < argc)
      n_tree = atol(argv[++i]);
    else if (!strcmp(argv[i], "--json"))
      json = true;
    else if (!strcmp(argv[i], "--keep-managed-fields"))
      keep_mf = true;
    else {
      fprintf(stderr, "usage: bench-informer [--pods N] [--tree-pods M] "
                      "[--keep-managed-fields] [--json]\n");
      return 2;
    }
  }
  kube_log_set_level(KUBE_LOG_ERROR);
  char *tmpl = pod_template();
  /* Placeholders for what varies per pod. */
  json_object *t = json_tokener_parse(tmpl);
  const char *uid = NULL;
  json_object *meta, *u;
  if (t && json_object_object_get_ex(t, "metadata", &meta) &&
      json_object_object_get_ex(meta, "uid", &u))
    uid = json_object_get_string(u);
  if (!uid)
    die("template pod has no uid");
  tmpl = replace(tmpl, uid, "UIDUIDUID");
  json_object_put(t);
  tmpl = replace(tmpl, "\"namespace\":\"default\"", "\"namespace\":\"NSNS\"");
  size_t pod_len = strlen(tmpl);

  malloc_trim(0);
  long rss_base = rss_kb();

  /* The template in pieces: literal text, then which value follows. */
  static const char *const vars[4] = {"zzpodnamezz", "zznodenamezz", "NSNS",
                                      "UIDUIDUID"};
  struct {
    const char *lit;
    size_t len;
    int var;
  } seg[64];
  size_t n_seg = 0;
  for (const char *p = tmpl; n_seg < 64;) {
    const char *best = NULL;
    int var = -1;
    for (int k = 0; k < 4; k++) {
      const char *q = strstr(p, vars[k]);
      if (q && (!best || q < best))
        best = q, var = k;
    }
    seg[n_seg].lit = p;
    seg[n_seg].len = best ? (size_t)(best - p) : strlen(p);
    seg[n_seg++].var = var;
    if (!best)
      break;
    p = best + strlen(vars[var]);
  }

  /* The LIST body. */
  double t0 = now();
  size_t cap = (size_t)n_pods * (pod_len + 64) + 256, len = 0;
  char *body = malloc(cap);
  if (!body)
    die("out of memory");
  len += (size_t)sprintf(body,
                         "{\"kind\":\"PodList\",\"apiVersion\":\"v1\","
                         "\"metadata\":{\"resourceVersion\":\"%ld\"},"
                         "\"items\":[",
                         n_pods + 10);
  for (long i = 0; i < n_pods; i++) {
    char name[32], node[32], ns[16], id[64];
    snprintf(name, sizeof name, "bench-%07ld", i);
    snprintf(node, sizeof node, "node-%04ld", i % 5000);
    snprintf(ns, sizeof ns, "ns-%02ld", i % 50);
    snprintf(id, sizeof id, "%08lx-0000-4000-8000-%012lx", i, i);
    if (i)
      body[len++] = ',';
    const char *vals[4] = {name, node, ns, id};
    for (size_t k = 0; k < n_seg; k++) {
      memcpy(body + len, seg[k].lit, seg[k].len);
      len += seg[k].len;
      if (seg[k].var >= 0) {
        size_t rl = strlen(vals[seg[k].var]);
        memcpy(body + len, vals[seg[k].var], rl);
        len += rl;
      }
    }
  }
  len += (size_t)sprintf(body + len, "]}");
  double t_build = now() - t0;

  kube_loop_t *loop = kube_loop_new(NULL);
  struct list_server srv = {
      .base = kube_loop_base(loop), .body = body, .len = len};
  kube_transport_t tp = {&ls_ops, &srv};
  kube_informer_factory_t *fac = kube_informer_factory_new(loop, &tp, NULL);
  kube_informer_options_t io = {.struct_size = sizeof io,
                                .path = "/api/v1/pods",
                                .keep_managed_fields = keep_mf};
  kube_informer_t *inf = kube_informer_factory_informer(fac, &io, NULL);
  kube_informer_add_index(inf, KUBE_INDEX_NAMESPACE, kube_index_namespace, NULL,
                          NULL);
  kube_informer_add_index(inf, KUBE_INDEX_NODE_NAME, kube_index_node_name, NULL,
                          NULL);
  kube_informer_add_index(inf, KUBE_INDEX_CONTROLLER_UID,
                          kube_index_controller_uid, NULL, NULL);
  kube_informer_add_index(inf, KUBE_INDEX_LABEL, kube_index_labels, NULL, NULL);
  t0 = now();
  kube_informer_factory_start(fac, NULL);
  while (!synced(inf))
    kube_loop_iterate(loop, 10);
  double t_list = now() - t0;
  if ((long)kube_informer_count(inf) != n_pods)
    die("the informer did not cache every pod");
  /* A re-LIST with nothing changed parses nothing. */
  kube_informer_stop(inf);
  t0 = now();
  kube_informer_start(inf, NULL);
  while (srv.lists < 2)
    kube_loop_iterate(loop, 10);
  kube_loop_iterate(loop, 0);
  kube_loop_iterate(loop, 0);
  double t_relist = now() - t0;
  /* Lookups by node. */
  t0 = now();
  size_t found = 0;
  for (int i = 0; i < 5000; i++) {
    char node[32];
    snprintf(node, sizeof node, "node-%04d", i);
    found += kube_informer_index_count(inf, KUBE_INDEX_NODE_NAME, node);
  }
  double t_lookup = now() - t0;
  if ((long)found != n_pods)
    die("index lookups missed pods");
  free(body);
  malloc_trim(0);
  long rss_cache = rss_kb() - rss_base;
  size_t cache_bytes = kube_informer_cache_bytes(inf);

  /* The same pods as json-c trees, measured on fewer of them. */
  malloc_trim(0);
  long rss_t0 = rss_kb();
  json_object **trees = calloc((size_t)n_tree, sizeof *trees);
  for (long i = 0; i < n_tree; i++) {
    trees[i] = json_tokener_parse(tmpl);
    if (!trees[i])
      die("template does not parse");
  }
  long rss_trees = rss_kb() - rss_t0;
  for (long i = 0; i < n_tree; i++)
    json_object_put(trees[i]);
  free(trees);

  double per_pod_rss = rss_cache * 1024.0 / n_pods;
  double per_pod_tree = n_tree ? rss_trees * 1024.0 / n_tree : 0;
  printf("bench-informer: %ld pods, %s managedFields, 4 indexes\n", n_pods,
         keep_mf ? "keeping" : "dropping");
  printf("  pod text as stored                %8zu B\n", pod_len);
  printf("  informer RSS growth               %8.1f MB  (%.0f B per pod)\n",
         rss_cache / 1024.0, per_pod_rss);
  printf("  informer cache bytes              %8.1f MB  (%.0f B per pod)\n",
         cache_bytes / 1048576.0, (double)cache_bytes / n_pods);
  printf("  as json-c trees                   %8.0f B per pod  (%.1f MB for "
         "%ld pods, %.1fx)\n",
         per_pod_tree, per_pod_tree * n_pods / 1048576.0, n_pods,
         per_pod_rss > 0 ? per_pod_tree / per_pod_rss : 0);
  printf("  first LIST (%5.1f MB)              %8.2f s\n", len / 1048576.0,
         t_list);
  printf("  re-LIST, nothing changed          %8.2f s\n", t_relist);
  printf("  5000 lookups by node              %8.3f ms\n", t_lookup * 1e3);
  printf("  (building the list body           %8.2f s)\n", t_build);
  if (json)
    printf("{\"informer_pods\":%ld,\"informer_rss_mb\":%.1f,"
           "\"informer_rss_bytes_per_pod\":%.0f,"
           "\"informer_cache_bytes_per_pod\":%.0f,"
           "\"json_tree_bytes_per_pod\":%.0f,\"pod_text_bytes\":%zu,"
           "\"informer_list_s\":%.3f,\"informer_relist_unchanged_s\":%.3f,"
           "\"informer_5000_node_lookups_ms\":%.3f}\n",
           n_pods, rss_cache / 1024.0, per_pod_rss,
           (double)cache_bytes / n_pods, per_pod_tree, pod_len, t_list,
           t_relist, t_lookup * 1e3);
  kube_informer_factory_free(fac);
  kube_loop_free(loop);
  free(tmpl);
  return 0;
}
