/* SPDX-License-Identifier: Apache-2.0 */
/* Bootstrap objects, namespace lifecycle (creation checks, termination
 * that removes the namespace's objects). */
#include <time.h>

#include "apiserver/authz.h"
#include "apiserver/patch.h"

/* ------------------------------------------------------------------------ */
/* Internal creates                                                          */
/* ------------------------------------------------------------------------ */

struct icreate {
  kube_apiserver_t *srv;
  char *key;
  bool counts_for_bootstrap;
};

static void bootstrap_step_done(kube_apiserver_t *srv) {
  if (--srv->bootstrap_pending == 0) {
    srv->ready = true;
    log_info("apiserver: bootstrap objects in place");
  }
}

static void icreate_done(const kube_store_record_t *rec,
                         const kube_error_t *err, void *arg) {
  struct icreate *c = arg;
  if (err && err->reason != KUBE_REASON_ALREADY_EXISTS)
    log_warn("apiserver: create %s: %s", c->key, err->message);
  kube_apiserver_t *srv = c->srv;
  if (c->counts_for_bootstrap && !srv->zombie)
    bootstrap_step_done(srv);
  free(c->key);
  free(c);
  /* A server freed while its writes were queued lives until they are
   * answered (kube_server_new failing after the bootstrap started). */
  srv->icreates_pending--;
  as_server_maybe_release(srv);
}

/* Fill server-set metadata and write `obj` (stolen) if absent. */
static int internal_create(kube_apiserver_t *srv, const kube_kind_t *k,
                           json_object *obj, bool bootstrap) {
  char apiv[128], uid[40], ts[40];
  kube_kind_api_version(k, apiv, sizeof apiv);
  json_object_object_add(obj, "apiVersion", json_object_new_string(apiv));
  json_object_object_add(obj, "kind", json_object_new_string(k->kind));
  json_object *meta = as_meta_of(obj);
  kube_error_t err = KUBE_ERROR_INIT;
  if (kube_json_default(obj, k, &err) < 0) {
    log_debug("apiserver: defaulting %s: %s", k->kind, err.message);
    kube_error_clear(&err);
  }
  json_object_object_add(
      meta, "uid", json_object_new_string(kube_uuid_generate(uid, sizeof uid)));
  json_object_object_add(meta, "creationTimestamp",
                         json_object_new_string(as_now_rfc3339(ts, sizeof ts)));
  /* Only objects with a desired state track its generation. */
  if (json_object_object_get_ex(obj, "spec", NULL))
    json_object_object_add(meta, "generation", json_object_new_int64(1));
  /* Written by kube-apiserver itself, as its managedFields say on kube. */
  if (kube_managed_fields_update(obj, NULL, "kube-apiserver", &err) < 0) {
    log_debug("apiserver: managedFields of %s: %s", k->kind, err.message);
    kube_error_clear(&err);
  }
  const char *ns = kube_json_get_string(obj, "metadata.namespace");
  const char *name = kube_json_get_string(obj, "metadata.name");
  char *key = as_store_key(k, ns, name ? name : "");
  size_t vlen = 0;
  char *val = as_tree_to_stored(obj, &vlen);
  json_object_put(obj);
  struct icreate *c = calloc(1, sizeof(*c));
  if (!key || !val || !c) {
    free(key);
    free(val);
    free(c);
    return -1;
  }
  c->srv = srv;
  c->key = key;
  c->counts_for_bootstrap = bootstrap;
  if (bootstrap)
    srv->bootstrap_pending++;
  srv->icreates_pending++;
  int rc = kube_store_create(srv->store, key, val, vlen, icreate_done, c, &err);
  free(val);
  if (rc < 0) {
    log_warn("apiserver: create %s: %s", key, err.message);
    kube_error_clear(&err);
    if (bootstrap)
      srv->bootstrap_pending--;
    srv->icreates_pending--;
    free(c->key);
    free(c);
    return -1;
  }
  return 0;
}

int as_apiserver_internal_create(kube_apiserver_t *srv, const kube_kind_t *k,
                                 json_object *obj) {
  return internal_create(srv, k, obj, false);
}

int as_internal_create_bootstrap(kube_apiserver_t *srv, const kube_kind_t *k,
                                 json_object *obj) {
  return internal_create(srv, k, obj, true);
}

/* ------------------------------------------------------------------------ */
/* Bootstrap                                                                 */
/* ------------------------------------------------------------------------ */

static bool exists(kube_apiserver_t *srv, const kube_kind_t *k, const char *ns,
                   const char *name) {
  char *key = as_store_key(k, ns, name);
  if (!key)
    return false;
  kube_store_record_t *rec = kube_store_get(srv->store, key, NULL);
  free(key);
  kube_store_record_unref(rec);
  return rec != NULL;
}

static void resume_terminations(kube_apiserver_t *srv) {
  const kube_kind_t *nsk = kube_kind_by_resource("", "v1", "namespaces");
  kube_store_list_t l = {0};
  char *prefix = nsk ? as_store_prefix(nsk, NULL) : NULL;
  if (prefix && kube_store_list(srv->store, prefix, NULL, 0, &l, NULL) == 0) {
    for (size_t i = 0; i < l.n; i++) {
      json_object *o = as_record_to_tree(l.items[i], NULL);
      if (o && kube_json_get_string(o, "metadata.deletionTimestamp"))
        as_namespace_start_cleanup(srv,
                                   kube_json_get_string(o, "metadata.name"));
      if (o)
        json_object_put(o);
    }
    kube_store_list_clear(&l);
  }
  free(prefix);
}

void as_bootstrap_start(kube_apiserver_t *srv) {
  const kube_kind_t *nsk = kube_kind_by_resource("", "v1", "namespaces");
  const kube_kind_t *svck = kube_kind_by_resource("", "v1", "services");
  const kube_kind_t *epk = kube_kind_by_resource("", "v1", "endpoints");
  srv->bootstrap_pending = 1; /* held until every create is queued */
  static const char *const namespaces[] = {
      "default", "kube-system", "kube-public", "kube-node-lease", NULL};
  for (size_t i = 0; nsk && namespaces[i]; i++) {
    if (exists(srv, nsk, NULL, namespaces[i]))
      continue;
    json_object *o = json_object_new_object();
    json_object *m = json_object_new_object();
    json_object_object_add(m, "name", json_object_new_string(namespaces[i]));
    json_object *labels = json_object_new_object();
    json_object_object_add(labels, "kubernetes.io/metadata.name",
                           json_object_new_string(namespaces[i]));
    json_object_object_add(m, "labels", labels);
    json_object_object_add(o, "metadata", m);
    json_object *spec = json_object_new_object();
    json_object *fin = json_object_new_array();
    json_object_array_add(fin, json_object_new_string("kubernetes"));
    json_object_object_add(spec, "finalizers", fin);
    json_object_object_add(o, "spec", spec);
    json_object *st = json_object_new_object();
    json_object_object_add(st, "phase", json_object_new_string("Active"));
    json_object_object_add(o, "status", st);
    internal_create(srv, nsk, o, true);
  }
  if (svck && !exists(srv, svck, "default", "kubernetes")) {
    /* The first address of the service CIDR, as kube-apiserver's. */
    char ip[16], svc_json[1024];
    core_ipv4_format(srv->svc_net + 1, ip);
    snprintf(
        svc_json, sizeof svc_json,
        "{\"metadata\":{\"name\":\"kubernetes\",\"namespace\":\"default\","
        "\"labels\":{\"component\":\"apiserver\",\"provider\":\"kubernetes\"}},"
        "\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"%s\","
        "\"clusterIPs\":[\"%s\"],\"sessionAffinity\":\"None\","
        "\"ipFamilies\":[\"IPv4\"],\"ipFamilyPolicy\":\"SingleStack\","
        "\"internalTrafficPolicy\":\"Cluster\","
        "\"ports\":[{\"name\":\"https\",\"port\":443,\"protocol\":\"TCP\","
        "\"targetPort\":0}]},\"status\":{\"loadBalancer\":{}}}",
        ip, ip);
    json_object *o = kube_json_parse(svc_json, strlen(svc_json), NULL);
    if (o) {
      json_object *port =
          json_object_array_get_idx(kube_json_get(o, "spec.ports"), 0);
      json_object_object_add(port, "targetPort",
                             json_object_new_int(srv->advertise_port));
      internal_create(srv, svck, o, true);
    }
  }
  if (epk && !exists(srv, epk, "default", "kubernetes")) {
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"kubernetes\",\"namespace\":\"default\","
             "\"labels\":{\"endpointslice.kubernetes.io/skip-mirror\":\"true\"}"
             "},\"subsets\":[{\"addresses\":[{\"ip\":\"%s\"}],"
             "\"ports\":[{\"name\":\"https\",\"port\":%d,\"protocol\":\"TCP\"}"
             "]}]}",
             srv->advertise_address, srv->advertise_port);
    json_object *o = kube_json_parse(buf, strlen(buf), NULL);
    if (o)
      internal_create(srv, epk, o, true);
  }
  as_auth_bootstrap(srv);
  resume_terminations(srv);
  bootstrap_step_done(srv);
}

/* ------------------------------------------------------------------------ */
/* Namespaces                                                                */
/* ------------------------------------------------------------------------ */

int as_namespace_check_active(kube_apiserver_t *srv, const char *ns,
                              kube_error_t *err) {
  const kube_kind_t *nsk = kube_kind_by_resource("", "v1", "namespaces");
  if (!nsk)
    return 0;
  cleanup_free char *key = as_store_key(nsk, NULL, ns);
  if (!key)
    return kube_make_oom(err);
  kube_store_record_t *rec = kube_store_get(srv->store, key, NULL);
  if (!rec) {
    as_error_not_found(err, nsk, ns);
    return -1;
  }
  if (srv->ns_active_rev == rec->mod_revision && streq(srv->ns_active, ns)) {
    kube_store_record_unref(rec);
    return 0;
  }
  json_object *o = as_record_to_tree(rec, NULL);
  bool terminating = o && kube_json_get_string(o, "metadata.deletionTimestamp");
  if (o && !terminating && strlen(ns) < sizeof srv->ns_active) {
    strcpy(srv->ns_active, ns);
    srv->ns_active_rev = rec->mod_revision;
  }
  kube_store_record_unref(rec);
  if (o)
    json_object_put(o);
  if (terminating)
    return kube_error_set(err, KUBE_REASON_FORBIDDEN, 0,
                          "unable to create new content in namespace %s "
                          "because it is being terminated",
                          ns);
  return 0;
}

size_t as_delete_under(kube_apiserver_t *srv, const char *prefix) {
  kube_store_list_t l = {0};
  if (kube_store_list(srv->store, prefix, NULL, 0, &l, NULL) < 0)
    return 1;
  size_t remaining = l.n;
  bool pods = str_has_prefix(prefix, "/registry/core/pods/");
  for (size_t j = 0; j < l.n; j++) {
    const kube_store_record_t *rec = l.items[j];
    json_object *o = as_record_to_tree(rec, NULL);
    if (!o)
      continue;
    /* As the namespace controller's deletecollection: a pod on a node
     * gets its grace period and goes when its node's agent confirms;
     * an object with someone else's finalizer is marked and waits. */
    bool marked = kube_json_get_string(o, "metadata.deletionTimestamp");
    switch (as_delete_plan(o, pods, NULL)) {
    case AS_DELETE_NOW:
      as_internal_delete(srv, rec->key, rec->mod_revision);
      break;
    case AS_DELETE_MARK:
      if (!marked)
        as_internal_update(srv, rec->key, o, rec->mod_revision);
      break;
    case AS_DELETE_PENDING:
      break;
    }
    json_object_put(o);
  }
  kube_store_list_clear(&l);
  return remaining;
}

struct ns_cleanup {
  kube_apiserver_t *srv;
  char *name;
  struct event *ev;
  struct ns_cleanup *next;
};

static void ns_cleanup_free(struct ns_cleanup *c) {
  if (c->ev)
    event_free(c->ev);
  free(c->name);
  free(c);
}

static void ns_cleanup_unlink(struct ns_cleanup *c) {
  for (struct ns_cleanup **p = &c->srv->ns_cleanups; *p; p = &(*p)->next)
    if (*p == c) {
      *p = c->next;
      return;
    }
}

/* Remove the namespace itself once it is empty. */
static bool finish_namespace(struct ns_cleanup *c) {
  const kube_kind_t *nsk = kube_kind_by_resource("", "v1", "namespaces");
  cleanup_free char *key = as_store_key(nsk, NULL, c->name);
  kube_store_record_t *rec =
      key ? kube_store_get(c->srv->store, key, NULL) : NULL;
  if (!rec)
    return true;
  json_object *o = as_record_to_tree(rec, NULL);
  if (!o) {
    kube_store_record_unref(rec);
    return true;
  }
  /* Drop our own finalizers ("kubernetes" in metadata and spec). */
  json_object *fin = kube_json_get(o, "metadata.finalizers");
  if (fin && json_object_is_type(fin, json_type_array)) {
    json_object *keep = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(fin); i++) {
      json_object *f = json_object_array_get_idx(fin, i);
      if (!streq(json_object_get_string(f), "kubernetes"))
        json_object_array_add(keep, json_object_get(f));
    }
    if (json_object_array_length(keep))
      json_object_object_add(as_meta_of(o), "finalizers", keep);
    else {
      json_object_put(keep);
      json_object_object_del(as_meta_of(o), "finalizers");
    }
  }
  json_object *spec = kube_json_get(o, "spec");
  if (spec && json_object_is_type(spec, json_type_object))
    json_object_object_del(spec, "finalizers");
  bool done = true;
  if (as_has_finalizers(o)) {
    as_internal_update(c->srv, key, o, rec->mod_revision);
    done = false; /* someone else's finalizer: wait for it */
  } else {
    as_internal_delete(c->srv, key, rec->mod_revision);
  }
  json_object_put(o);
  kube_store_record_unref(rec);
  return done;
}

static void ns_cleanup_cb(evutil_socket_t fd, short what, void *arg) {
  struct ns_cleanup *c = arg;
  kube_apiserver_t *srv = c->srv;
  size_t remaining = 0;
  /* Every namespaced kind, custom resources too; versions of one
   * resource share its objects, so each prefix is listed once. */
  for (size_t i = 0; i < as_kinds_count(srv); i++) {
    const kube_kind_t *k = as_kinds_at(srv, i);
    if (!k->namespaced)
      continue;
    bool seen = false;
    for (size_t j = 0; j < i && !seen; j++) {
      const kube_kind_t *kj = as_kinds_at(srv, j);
      seen = streq(kj->group, k->group) && streq(kj->resource, k->resource);
    }
    if (seen)
      continue;
    char *prefix = as_store_prefix(k, c->name);
    remaining += prefix ? as_delete_under(srv, prefix) : 1;
    free(prefix);
  }
  if (remaining == 0 && finish_namespace(c)) {
    log_info("apiserver: namespace %s deleted", c->name);
    ns_cleanup_unlink(c);
    ns_cleanup_free(c);
    return;
  }
  struct timeval tv = {.tv_sec = 0, .tv_usec = remaining ? 200000 : 500000};
  evtimer_add(c->ev, &tv);
}

void as_namespace_start_cleanup(kube_apiserver_t *srv, const char *ns) {
  if (!ns)
    return;
  for (struct ns_cleanup *c = srv->ns_cleanups; c; c = c->next)
    if (streq(c->name, ns))
      return;
  struct ns_cleanup *c = calloc(1, sizeof(*c));
  if (!c)
    return;
  c->srv = srv;
  c->name = strdup(ns);
  c->ev = evtimer_new(srv->base, ns_cleanup_cb, c);
  if (!c->name || !c->ev) {
    ns_cleanup_free(c);
    return;
  }
  c->next = srv->ns_cleanups;
  srv->ns_cleanups = c;
  /* Let the namespace's own update land first. */
  struct timeval tv = {.tv_sec = 0, .tv_usec = 1000};
  evtimer_add(c->ev, &tv);
  log_info("apiserver: terminating namespace %s", ns);
}

void as_ns_cleanups_free(kube_apiserver_t *srv) {
  while (srv->ns_cleanups) {
    struct ns_cleanup *c = srv->ns_cleanups;
    srv->ns_cleanups = c->next;
    ns_cleanup_free(c);
  }
}
