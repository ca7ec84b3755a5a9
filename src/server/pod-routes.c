/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pod routes of the cluster as a server component: from the Node
 * objects (the shared informer), one line "NAME PODCIDR INTERNALIP" per
 * Node with both, sorted, published as key podRoutes of ConfigMap
 * kube-system/libkube-cluster (a merge patch of that key alone, shortly
 * after a burst of Node changes; again a second later while the
 * ConfigMap is not there yet).  Each Node's line is made when the Node
 * changes (from the object its handler gets) and kept by key, so a
 * publication joins lines and parses no Node, and a change that leaves
 * the line as it was (a status heartbeat) publishes nothing.  Every node
 * of the cluster reads it there
 * (the Node authorizer lets a node read that ConfigMap, not the other
 * Nodes) and routes each other node's pod CIDR via its address
 * (src/node/cluster-net.c).
 */
#include <json-c/json.h>

#include <libkube/kit.h>

#include "api/api-private.h"
#include "client/client-private.h"
#include "server/internal.h"

struct pod_routes {
  kube_server_t *srv;
  kube_informer_t *nodes;
  kube_informer_registration_t *reg;
  kube_writer_t *writer;
  kube_timer_t *timer;
  struct strmap lines; /* informer key -> the Node's line (owned) */
  char *published; /* the text last written */
  char *writing;   /* the text of the write in flight */
  bool in_flight;
};

void *srv_pod_routes_new(kube_error_t *err) {
  struct pod_routes *c = calloc(1, sizeof *c);
  if (!c)
    kube_make_oom(err);
  return c;
}

/* The line of a Node: "NAME PODCIDR INTERNALIP\n", NULL without both
 * (or on out-of-memory).  Owned. */
static char *node_line(const kube_object_t *node) {
  const char *cidr = kube_object_get_string(node, "spec.podCIDR");
  const char *ip = NULL;
  for (int i = 0; i < 16; i++) {
    char p[64];
    snprintf(p, sizeof p, "status.addresses.%d.type", i);
    const char *t = kube_object_get_string(node, p);
    if (!t)
      break;
    if (streq(t, "InternalIP")) {
      snprintf(p, sizeof p, "status.addresses.%d.address", i);
      ip = kube_object_get_string(node, p);
      if (ip && !strchr(ip, ':'))
        break;
      ip = NULL;
    }
  }
  const char *name = kube_object_name(node);
  char *line = NULL;
  if (!cidr || !*cidr || strchr(cidr, ':') || !ip || !name ||
      asprintf(&line, "%s %s %s\n", name, cidr, ip) < 0)
    return NULL;
  return line;
}

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void flush(void *arg);

static void written(const kube_object_t *res, const kube_error_t *e,
                    void *arg) {
  struct pod_routes *c = arg;
  c->in_flight = false;
  if (e) {
    /* the settings component has not made the ConfigMap yet */
    if (e->reason != KUBE_REASON_NOT_FOUND)
      log_warn("kubed: publishing the pod routes: %s", e->message);
    free(c->writing);
    c->writing = NULL;
    if (c->timer)
      kube_timer_arm(c->timer, 1000);
    return;
  }
  free(c->published);
  c->published = c->writing;
  c->writing = NULL;
}

static void flush(void *arg) {
  struct pod_routes *c = arg;
  if (c->in_flight || !c->nodes || !kube_informer_synced(c->nodes)) {
    if (c->timer && !kube_timer_pending(c->timer))
      kube_timer_arm(c->timer, 100);
    return;
  }
  const char **v = malloc((c->lines.n + 1) * sizeof *v);
  if (!v) {
    kube_timer_arm(c->timer, 1000);
    return;
  }
  size_t n = 0;
  STRMAP_FOREACH(&c->lines, i, e)
  v[n++] = e->value;
  qsort(v, n, sizeof *v, cmp);
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "");
  for (size_t i = 0; i < n; i++)
    kube_strbuf_append(&sb, v[i]);
  free(v);
  if (sb.oom || (c->published && streq(c->published, sb.data))) {
    kube_strbuf_clear(&sb);
    return;
  }
  json_object *patch = json_object_new_object(), *data = json_object_new_object();
  json_object_object_add(data, "podRoutes", json_object_new_string(sb.data));
  json_object_object_add(patch, "data", data);
  c->writing = strdup(sb.data);
  kube_strbuf_clear(&sb);
  kube_error_t err = KUBE_ERROR_INIT;
  if (!c->writing ||
      kube_writer_patch(c->writer, kube_kind_by_resource("", "v1", "configmaps"),
                        "kube-system", "libkube-cluster", NULL,
                        KUBE_PATCH_MERGE,
                        json_object_to_json_string_ext(patch,
                                                       JSON_C_TO_STRING_PLAIN),
                        NULL, written, c, &err) < 0) {
    log_warn("kubed: publishing the pod routes: %s",
             err.message ? err.message : "out of memory");
    free(c->writing);
    c->writing = NULL;
    kube_timer_arm(c->timer, 1000);
  } else {
    c->in_flight = true;
  }
  kube_error_clear(&err);
  json_object_put(patch);
}

static void changed(struct pod_routes *c) {
  if (c->timer && !kube_timer_pending(c->timer))
    kube_timer_arm(c->timer, 50);
}

/* Keep key's line (owned; NULL: none); publish soon when it changed. */
static void set_line(struct pod_routes *c, const char *key, char *line) {
  const char *old = strmap_get(&c->lines, key);
  if (old && line && streq(old, line)) {
    free(line);
    return;
  }
  if (!old && !line)
    return;
  if (line) {
    void *prev = NULL;
    if (!strmap_put(&c->lines, key, line, &prev)) {
      free(line); /* out of memory: the next flush misses this node */
      line = NULL;
    }
    free(prev);
  } else {
    free(strmap_remove(&c->lines, key));
  }
  changed(c);
}

static void on_add(const char *key, const kube_object_t *o, void *arg) {
  set_line(arg, key, node_line(o));
}
static void on_update(const char *key, const kube_object_t *old,
                      const kube_object_t *o, void *arg) {
  set_line(arg, key, node_line(o));
}
static void on_delete(const char *key, const kube_object_t *o, void *arg) {
  set_line(arg, key, NULL);
}
static void on_synced(void *arg) { changed(arg); }

static int routes_init(void *impl, kube_server_t *srv, kube_error_t *err) {
  struct pod_routes *c = impl;
  c->srv = srv;
  kube_informer_factory_t *f = kube_server_informers(srv, err);
  kube_transport_t tp;
  kube_server_transport(srv, &tp);
  tp.user_agent = CORE_USER_AGENT("kubed"); /* no kube counterpart */
  kube_informer_options_t io = {.struct_size = sizeof io,
                                .path = "/api/v1/nodes"};
  if (!f || !(c->nodes = kube_informer_factory_informer(f, &io, err)) ||
      !(c->writer = kube_writer_new(kube_server_loop(srv), &tp, err)) ||
      !(c->timer = kube_timer_new(kube_server_loop(srv), flush, c, err)))
    return kube_error_wrap(err, "pod routes");
  return 0;
}

static int routes_start(void *impl, kube_error_t *err) {
  struct pod_routes *c = impl;
  kube_informer_handlers_t h = {.struct_size = sizeof h,
                                .on_add = on_add,
                                .on_update = on_update,
                                .on_delete = on_delete,
                                .on_synced = on_synced};
  if (!(c->reg = kube_informer_add_handlers(c->nodes, &h, c, err)) ||
      (!kube_informer_running(c->nodes) &&
       kube_informer_start(c->nodes, err) < 0))
    return kube_error_wrap(err, "pod routes");
  return 0;
}

static void routes_stop(void *impl) {
  struct pod_routes *c = impl;
  if (c->nodes && c->reg)
    kube_informer_remove_handlers(c->nodes, c->reg);
  c->reg = NULL;
  c->nodes = NULL;
  strmap_clear(&c->lines, free);
  kube_timer_free(c->timer);
  c->timer = NULL;
  kube_writer_free(c->writer);
  c->writer = NULL;
}

static void routes_free(void *impl) {
  struct pod_routes *c = impl;
  if (!c)
    return;
  routes_stop(c);
  strmap_clear(&c->lines, free);
  free(c->published);
  free(c->writing);
  free(c);
}

const kube_component_ops_t srv_pod_routes_ops = {
    .version = KUBE_COMPONENT_OPS_VERSION,
    .name = "pod-routes",
    .init = routes_init,
    .start = routes_start,
    .stop = routes_stop,
    .free = routes_free,
};
