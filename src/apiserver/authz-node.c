/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Node authorizer (kube-apiserver's --authorization-mode=Node, with
 * the ownership checks of the NodeRestriction admission plugin folded
 * in): a user system:node:NAME in group system:nodes may
 *   - write only its own Node (and nodes/status) and its own Lease in
 *     kube-node-lease;
 *   - update the status of, and delete, only pods bound to it;
 *   - read a Secret or ConfigMap (get, or list/watch with a
 *     metadata.name field selector: the kubelet's per-object watches) and
 *     get a PersistentVolumeClaim only when a pod bound to it refers to it
 *     (volumes, projected sources, env, envFrom, imagePullSecrets), and
 *     ask a token only for the ServiceAccount of such a pod;
 *   - read ConfigMap kube-system/libkube-cluster (get, or list/watch
 *     selecting that one name): the cluster settings `kubed server`
 *     publishes for its agents (service CIDR, node ports, the pod routes
 *     of every node), nothing else of kube-system;
 *   - read only its own Node, get only pods bound to it, and list/watch
 *     pods only with the field selector spec.nodeName=NAME (kube-apiserver
 *     1.32's AuthorizeNodeWithSelectors, on by default);
 *   - do what the system:node role's rules allow otherwise (reads of
 *     services, endpoints; events; CSRs).
 * Refused reads have no opinion with kube-apiserver's reason: RBAC may
 * still allow them, and its refusal carries the reason.  Other requests
 * have no opinion here (RBAC decides).
 *
 * The pod -> object relation is a graph kept from the store: built on the
 * first request of a node user (a cluster whose nodes run in-process
 * never pays for it) from one list of the pods and kept in step by a
 * store watch; a check is one hash lookup.
 */
#include <json-c/linkhash.h>

#include "apiserver/authz.h"

#define PODS_PREFIX "/registry/core/pods/"

struct as_node_graph {
  /* "node\x1fkind\x1fns\x1fname" -> count of pods (as a pointer) */
  struct lh_table *edges;
  /* pod store key -> NULL-terminated vector of its edge keys */
  struct lh_table *pods;
  kube_store_watch_t *watch;
};

static void free_strv(char **v) {
  for (size_t i = 0; v && v[i]; i++)
    free(v[i]);
  free(v);
}

static void pod_entry_free(struct lh_entry *e) {
  free(lh_entry_k(e));
  free_strv((char **)lh_entry_v(e));
}

static void edge_entry_free(struct lh_entry *e) {
  free(lh_entry_k(e));
}

struct edges {
  char **v;
  size_t n, cap;
};

static void edge_add(struct edges *ed, const char *node, const char *kind,
                     const char *ns, const char *name) {
  if (!name || !*name)
    return;
  char *k = NULL;
  if (asprintf(&k, "%s\x1f%s\x1f%s\x1f%s", node, kind, ns, name) < 0)
    return;
  for (size_t i = 0; i < ed->n; i++)
    if (streq(ed->v[i], k)) {
      free(k);
      return;
    }
  if (ed->n + 1 >= ed->cap) {
    size_t nc = ed->cap ? ed->cap * 2 : 8;
    char **v = realloc(ed->v, nc * sizeof *v);
    if (!v) {
      free(k);
      return;
    }
    ed->v = v;
    ed->cap = nc;
  }
  ed->v[ed->n++] = k;
  ed->v[ed->n] = NULL;
}

static size_t alen(json_object *a) {
  return json_object_is_type(a, json_type_array) ? json_object_array_length(a)
                                                 : 0;
}

static void container_edges(struct edges *ed, json_object *cs, const char *node,
                            const char *ns) {
  for (size_t i = 0; i < alen(cs); i++) {
    json_object *c = json_object_array_get_idx(cs, i);
    json_object *env = kube_json_get(c, "env");
    for (size_t j = 0; j < alen(env); j++) {
      json_object *e = json_object_array_get_idx(env, j);
      edge_add(ed, node, "secrets", ns,
               kube_json_get_string(e, "valueFrom.secretKeyRef.name"));
      edge_add(ed, node, "configmaps", ns,
               kube_json_get_string(e, "valueFrom.configMapKeyRef.name"));
    }
    json_object *ef = kube_json_get(c, "envFrom");
    for (size_t j = 0; j < alen(ef); j++) {
      json_object *e = json_object_array_get_idx(ef, j);
      edge_add(ed, node, "secrets", ns,
               kube_json_get_string(e, "secretRef.name"));
      edge_add(ed, node, "configmaps", ns,
               kube_json_get_string(e, "configMapRef.name"));
    }
  }
}

/* The edges of one pod (none when it is not bound). */
static char **pod_edges(json_object *pod) {
  const char *node = kube_json_get_string(pod, "spec.nodeName");
  const char *ns = kube_json_get_string(pod, "metadata.namespace");
  if (!node || !*node || !ns)
    return NULL;
  struct edges ed = {0};
  json_object *spec = kube_json_get(pod, "spec");
  json_object *vols = kube_json_get(spec, "volumes");
  for (size_t i = 0; i < alen(vols); i++) {
    json_object *v = json_object_array_get_idx(vols, i);
    edge_add(&ed, node, "secrets", ns,
             kube_json_get_string(v, "secret.secretName"));
    edge_add(&ed, node, "configmaps", ns,
             kube_json_get_string(v, "configMap.name"));
    edge_add(&ed, node, "persistentvolumeclaims", ns,
             kube_json_get_string(v, "persistentVolumeClaim.claimName"));
    json_object *srcs = kube_json_get(v, "projected.sources");
    for (size_t j = 0; j < alen(srcs); j++) {
      json_object *s = json_object_array_get_idx(srcs, j);
      edge_add(&ed, node, "secrets", ns,
               kube_json_get_string(s, "secret.name"));
      edge_add(&ed, node, "configmaps", ns,
               kube_json_get_string(s, "configMap.name"));
    }
  }
  container_edges(&ed, kube_json_get(spec, "containers"), node, ns);
  container_edges(&ed, kube_json_get(spec, "initContainers"), node, ns);
  json_object *ips = kube_json_get(spec, "imagePullSecrets");
  for (size_t i = 0; i < alen(ips); i++)
    edge_add(&ed, node, "secrets", ns,
             kube_json_get_string(json_object_array_get_idx(ips, i), "name"));
  const char *sa = kube_json_get_string(spec, "serviceAccountName");
  edge_add(&ed, node, "serviceaccounts", ns, sa && *sa ? sa : "default");
  return ed.v;
}

static void edges_count(struct as_node_graph *g, char **v, int delta) {
  for (size_t i = 0; v && v[i]; i++) {
    void *cur = NULL;
    bool found = lh_table_lookup_ex(g->edges, v[i], &cur);
    intptr_t n = (found ? (intptr_t)cur : 0) + delta;
    if (found && n <= 0) {
      lh_table_delete(g->edges, v[i]);
    } else if (found) {
      struct lh_entry *e = lh_table_lookup_entry(g->edges, v[i]);
      if (e)
        e->v = (const void *)n;
    } else if (n > 0) {
      char *k = strdup(v[i]);
      if (k)
        lh_table_insert(g->edges, k, (const void *)n);
    }
  }
}

static void pod_apply(struct as_node_graph *g, const char *key,
                      json_object *pod) {
  char **old = NULL;
  if (lh_table_lookup_ex(g->pods, key, (void **)&old)) {
    edges_count(g, old, -1);
    lh_table_delete(g->pods, key);
  }
  char **v = pod ? pod_edges(pod) : NULL;
  if (!v)
    return;
  char *k = strdup(key);
  if (!k) {
    free_strv(v);
    return;
  }
  edges_count(g, v, +1);
  lh_table_insert(g->pods, k, v);
}

static void graph_watch_cb(const kube_store_event_t *ev,
                           const kube_error_t *err, void *arg);

static bool graph_start(kube_apiserver_t *srv) {
  struct as_node_graph *g = srv->auth->graph;
  if (!g && !(g = srv->auth->graph = calloc(1, sizeof *g)))
    return false;
  if (g->edges)
    lh_table_free(g->edges);
  if (g->pods)
    lh_table_free(g->pods);
  g->edges = lh_kchar_table_new(1024, edge_entry_free);
  g->pods = lh_kchar_table_new(1024, pod_entry_free);
  kube_store_list_t l = {0};
  kube_error_t err = KUBE_ERROR_INIT;
  if (kube_store_list(srv->store, PODS_PREFIX, NULL, 0, &l, &err) < 0) {
    log_warn("apiserver: node authorizer cannot read pods: %s", err.message);
    kube_error_clear(&err);
    return false;
  }
  for (size_t i = 0; i < l.n; i++) {
    json_object *o = as_record_parse(l.items[i], NULL);
    pod_apply(g, l.items[i]->key, o);
    if (o)
      json_object_put(o);
  }
  int64_t rev = l.revision;
  kube_store_list_clear(&l);
  g->watch =
      kube_store_watch(srv->store, PODS_PREFIX, rev, graph_watch_cb, srv, &err);
  if (!g->watch) {
    log_warn("apiserver: node authorizer cannot watch pods: %s", err.message);
    kube_error_clear(&err);
    return false;
  }
  return true;
}

static void graph_watch_cb(const kube_store_event_t *ev,
                           const kube_error_t *err, void *arg) {
  kube_apiserver_t *srv = arg;
  struct as_node_graph *g = srv->auth->graph;
  if (!ev) {
    kube_store_watch_cancel(g->watch);
    g->watch = NULL; /* rebuilt on the next node request */
    return;
  }
  if (ev->type == KUBE_STORE_EVENT_DELETE) {
    pod_apply(g, ev->rec->key, NULL);
    return;
  }
  json_object *o = as_record_parse(ev->rec, NULL);
  pod_apply(g, ev->rec->key, o);
  if (o)
    json_object_put(o);
}

static bool related(kube_apiserver_t *srv, const char *node, const char *kind,
                    const char *ns, const char *name) {
  struct as_node_graph *g = srv->auth->graph;
  if ((!g || !g->watch) && !graph_start(srv))
    return false;
  g = srv->auth->graph;
  char key[1200];
  snprintf(key, sizeof key, "%s\x1f%s\x1f%s\x1f%s", node, kind, ns ? ns : "",
           name ? name : "");
  return lh_table_lookup_entry(g->edges, key) != NULL;
}

void as_node_graph_free(kube_apiserver_t *srv) {
  struct as_node_graph *g = srv->auth ? srv->auth->graph : NULL;
  if (!g)
    return;
  kube_store_watch_cancel(g->watch);
  if (g->edges)
    lh_table_free(g->edges);
  if (g->pods)
    lh_table_free(g->pods);
  free(g);
  srv->auth->graph = NULL;
}

/* ---- NodeRestriction ---- */

/* A node creates only its own Node object (the name is in the body, not
 * in the path the authorizer saw). */
static int node_admit_create(kube_apiserver_t *srv, const kube_kind_t *k,
                             json_object *obj, kube_error_t *err) {
  const kube_apiserver_user_t *u = srv->req_user;
  if (!u || !u->name || !str_has_prefix(u->name, "system:node:") ||
      !as_user_in_group(u, "system:nodes") || !srv->auth || !srv->auth->enabled)
    return 0;
  const char *name = kube_json_get_string(obj, "metadata.name") ?: "";
  if (streq(name, u->name + 12))
    return 0;
  return kube_error_set(err, KUBE_REASON_FORBIDDEN, 0,
                        "nodes \"%s\" is forbidden: node \"%s\" is not "
                        "allowed to modify node \"%s\"",
                        name, u->name + 12, name);
}

const struct as_kind_hooks as_node_hooks = {
    .admit_create = node_admit_create,
};

/* A node creates only mirror pods of its static pods, bound to itself and
 * owned by its Node (NodeRestriction's admitPodCreate). */
/* kube-apiserver's admission Forbidden text: pods "NAME" is forbidden: */
static int pod_forbidden(kube_error_t *err, json_object *obj, const char *node,
                         const char *why) {
  const char *name = kube_json_get_string(obj, "metadata.name") ?: "";
  char msg[512];
  snprintf(msg, sizeof msg, why, node);
  return kube_error_set(err, KUBE_REASON_FORBIDDEN, 0,
                        "pods \"%s\" is forbidden: %s", name, msg);
}

static int node_admit_pod(kube_apiserver_t *srv, const kube_kind_t *k,
                          json_object *obj, kube_error_t *err) {
  const kube_apiserver_user_t *u = srv->req_user;
  if (!u || !u->name || !str_has_prefix(u->name, "system:node:") ||
      !as_user_in_group(u, "system:nodes") || !srv->auth || !srv->auth->enabled)
    return 0;
  const char *node = u->name + 12;
  json_object *meta = NULL, *ann = NULL, *m = NULL, *refs = NULL;
  json_object_object_get_ex(obj, "metadata", &meta);
  if (!meta || !json_object_object_get_ex(meta, "annotations", &ann) ||
      !json_object_object_get_ex(ann, "kubernetes.io/config.mirror", &m))
    return pod_forbidden(err, obj, node,
                         "pod does not have \"kubernetes.io/config.mirror\" "
                         "annotation, node \"%s\" can only create mirror "
                         "pods");
  const char *bound = kube_json_get_string(obj, "spec.nodeName");
  if (!bound || !streq(bound, node))
    return pod_forbidden(err, obj, node,
                         "node \"%s\" can only create pods with "
                         "spec.nodeName set to itself");
  json_object_object_get_ex(meta, "ownerReferences", &refs);
  size_t n = json_object_is_type(refs, json_type_array)
                 ? json_object_array_length(refs)
                 : 0;
  if (n > 1)
    return pod_forbidden(err, obj, node,
                         "node \"%s\" can only create pods with a single "
                         "owner reference set to itself");
  json_object *ref = n ? json_object_array_get_idx(refs, 0) : NULL;
  const char *av = ref ? kube_json_get_string(ref, "apiVersion") : NULL;
  const char *kind = ref ? kube_json_get_string(ref, "kind") : NULL;
  const char *name = ref ? kube_json_get_string(ref, "name") : NULL;
  if (!av || !streq(av, "v1") || !kind || !streq(kind, "Node") || !name ||
      !streq(name, node))
    return pod_forbidden(err, obj, node,
                         "node \"%s\" can only create pods with an owner "
                         "reference set to itself");
  json_object *ctl = NULL;
  if (!json_object_object_get_ex(ref, "controller", &ctl) ||
      !json_object_get_boolean(ctl))
    return pod_forbidden(err, obj, node,
                         "node \"%s\" can only create pods with a "
                         "controller owner reference set to itself");
  return 0;
}

const struct as_kind_hooks as_pod_node_hooks = {
    .admit_create = node_admit_pod,
};

/* ---- the decision ---- */

static bool is_write(const char *verb) {
  return !streq(verb, "get") && !streq(verb, "list") && !streq(verb, "watch");
}

static enum as_decision deny(char **reason, const char *fmt, const char *a,
                             const char *b) {
  if (asprintf(reason, fmt, a, b) < 0)
    *reason = NULL;
  return AS_DENY;
}

/* 1 when pod ns/name is bound to node, 0 when it is bound elsewhere (or
 * not at all), -1 when there is no such pod. */
static int pod_on_node(kube_apiserver_t *srv, const char *ns, const char *name,
                       const char *node) {
  char key[700];
  snprintf(key, sizeof key, PODS_PREFIX "%s/%s", ns ? ns : "",
           name ? name : "");
  kube_store_record_t *rec = kube_store_get(srv->store, key, NULL);
  if (!rec)
    return -1;
  json_object *o = as_record_parse(rec, NULL);
  kube_store_record_unref(rec);
  bool ok = o && streq(kube_json_get_string(o, "spec.nodeName") ?: "", node);
  if (o)
    json_object_put(o);
  return ok ? 1 : 0;
}

/* kube-apiserver's reasons for having no opinion: RBAC may still allow
 * (a node has no RBAC binding by default), and its refusal keeps them. */
static enum as_decision no_opinion(char **reason, const char *fmt,
                                   const char *a, const char *b) {
  if (asprintf(reason, fmt, a, b) < 0)
    *reason = NULL;
  return AS_NO_OPINION;
}

static bool read_verb(const char *verb) {
  return streq(verb, "get") || streq(verb, "list") || streq(verb, "watch");
}

/* Secrets and ConfigMaps: get, or list/watch of one object by a
 * metadata.name field selector (the kubelet's per-object watches), when
 * a pod bound to the node refers to it. */
static enum as_decision read_namespaced(kube_apiserver_t *srv,
                                        const struct as_attrs *a,
                                        const char *node, const char *res,
                                        char **reason) {
  const char *name = a->name ? a->name : "";
  if (!read_verb(a->verb))
    return no_opinion(reason, "can only read resources of this type%s%s", "",
                      "");
  if (a->sub && *a->sub)
    return no_opinion(reason, "cannot read subresource%s%s", "", "");
  if (!a->ns || !*a->ns)
    return no_opinion(
        reason, "can only read namespaced object of this type%s%s", "", "");
  if (!*name)
    return no_opinion(reason, "No Object name found%s%s", "", "");
  if (streq(res, "configmaps") && streq(a->ns, "kube-system") &&
      streq(name, "libkube-cluster"))
    return AS_ALLOW;
  if (related(srv, node, res, a->ns, name))
    return AS_ALLOW;
  return no_opinion(reason,
                    "no relationship found between node '%s' and this object%s",
                    node, "");
}

/* Nodes: writes of its own Node only (NodeRestriction, folded in), reads
 * of its own Node only (AuthorizeNodeWithSelectors, on by default since
 * 1.32: a list or watch must select metadata.name=NODE). */
static enum as_decision node_object(const struct as_attrs *a, const char *node,
                                    char **reason) {
  const char *name = a->name ? a->name : "";
  const char *sub = a->sub ? a->sub : "";
  if (is_write(a->verb)) {
    if (streq(name, node) || (streq(a->verb, "create") && !*name))
      return AS_ALLOW;
    return deny(reason, "node '%s' cannot modify node '%s'", node, name);
  }
  if (*sub)
    return AS_NO_OPINION;
  if (streq(name, node))
    return AS_ALLOW;
  if (!*name)
    return no_opinion(reason,
                      "node '%s' cannot read all nodes, only its own Node "
                      "object%s",
                      node, "");
  return no_opinion(reason,
                    "node '%s' cannot read '%s', only its own Node object",
                    node, name);
}

/* Pods: get of a pod bound to it; list and watch only of its own pods
 * (fieldSelector spec.nodeName=NODE) or of one such pod by name. */
static enum as_decision pod_read(kube_apiserver_t *srv,
                                 const struct as_attrs *a, const char *node,
                                 char **reason) {
  const char *name = a->name ? a->name : "";
  char sel[256];
  if (!streq(a->verb, "get") &&
      as_field_selector_value(a->field_selector, "spec.nodeName", sel,
                              sizeof sel) &&
      streq(sel, node))
    return AS_ALLOW;
  if (!streq(a->verb, "get") && !*name)
    return no_opinion(reason,
                      "can only list/watch pods with spec.nodeName field "
                      "selector%s%s",
                      "", "");
  if (!*name)
    return no_opinion(reason, "No Object name found%s%s", "", "");
  if (pod_on_node(srv, a->ns, name, node) == 1)
    return AS_ALLOW;
  return no_opinion(reason,
                    "no relationship found between node '%s' and this object%s",
                    node, "");
}

enum as_decision as_node_authorize(kube_apiserver_t *srv,
                                   const struct as_attrs *a, char **reason) {
  const kube_apiserver_user_t *u = a->user;
  if (!u || !u->name || !str_has_prefix(u->name, "system:node:") ||
      !as_user_in_group(u, "system:nodes") || !a->resource)
    return AS_NO_OPINION;
  const char *node = u->name + 12;
  const char *g = a->group ? a->group : "";
  const char *res = a->resource_name ? a->resource_name : "";
  const char *sub = a->sub ? a->sub : "";
  const char *name = a->name ? a->name : "";
  bool core = !*g;
  if (core && (streq(res, "secrets") || streq(res, "configmaps")))
    return read_namespaced(srv, a, node, res, reason);
  if (core && streq(res, "persistentvolumeclaims") && !*sub) {
    if (!streq(a->verb, "get"))
      return no_opinion(
          reason, "can only get individual resources of this type%s%s", "", "");
    if (related(srv, node, res, a->ns, name))
      return AS_ALLOW;
    return no_opinion(
        reason, "no relationship found between node '%s' and this object%s",
        node, "");
  }
  if (core && streq(res, "serviceaccounts")) {
    if (!streq(a->verb, "create") || !*name)
      return no_opinion(reason,
                        "can only create tokens for individual service "
                        "accounts%s%s",
                        "", "");
    if (!streq(sub, "token"))
      return no_opinion(
          reason, "can only create token subresource of serviceaccount%s%s", "",
          "");
    if (related(srv, node, res, a->ns, name))
      return AS_ALLOW;
    return no_opinion(
        reason, "no relationship found between node '%s' and this object%s",
        node, "");
  }
  if (streq(g, "coordination.k8s.io") && streq(res, "leases")) {
    if (a->ns && streq(a->ns, "kube-node-lease") &&
        (streq(name, node) || streq(a->verb, "create")))
      return AS_ALLOW;
    return deny(reason,
                "can only access node lease with the same name as "
                "the requesting node%s%s",
                "", "");
  }
  if (core && streq(res, "nodes"))
    return node_object(a, node, reason);
  if (core && streq(res, "pods") &&
      (streq(sub, "status") || (!*sub && streq(a->verb, "delete"))) &&
      is_write(a->verb)) {
    /* A pod that is gone gets its 404 from the handler (kube-apiserver's
     * NodeRestriction looks at the pod after the authorizer allowed). */
    if (pod_on_node(srv, a->ns, name, node) != 0)
      return AS_ALLOW;
    return deny(reason, "node '%s' can only modify pods bound to it%s", node,
                "");
  }
  /* mirror pods: NodeRestriction (node_admit_pod) admits them */
  if (core && streq(res, "pods") && !*sub && streq(a->verb, "create"))
    return AS_ALLOW;
  if (core && streq(res, "pods") && !*sub && read_verb(a->verb))
    return pod_read(srv, a, node, reason);
  size_t n = 0;
  const struct as_rule *rules = as_node_rules(&n);
  for (size_t i = 0; i < n; i++)
    if (as_rule_matches(&rules[i], a))
      return AS_ALLOW;
  return AS_NO_OPINION;
}
