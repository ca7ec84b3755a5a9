/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The EndpointSlice controller (kube-controller-manager's
 * endpointslice-controller): for every Service with a selector,
 * EndpointSlices (discovery.k8s.io/v1, owned by the Service, labelled
 * kubernetes.io/service-name and endpointslice.kubernetes.io/managed-by)
 * holding one endpoint per selected pod with an address of the Service's
 * family: conditions ready (serving and not terminating, or
 * publishNotReadyAddresses), serving, terminating; hostname, nodeName,
 * zone, targetRef.  Pods resolving the Service's ports differently (named
 * ports) go to slices of their own port set.  At most 100 endpoints per
 * slice; changes touch as few slices as they can (existing endpoints stay
 * where they are, new ones fill the slices being updated first); a
 * Service without endpoints keeps one empty placeholder slice.
 */
#include "controller/endpoints.h"

#define MAX_PER_SLICE 100
#define LABEL_SERVICE "kubernetes.io/service-name"
#define LABEL_MANAGED_BY "endpointslice.kubernetes.io/managed-by"
#define MANAGED_BY "endpointslice-controller.k8s.io"
#define HEADLESS_LABEL "service.kubernetes.io/headless"
#define TRIGGER_TIME "endpoints.kubernetes.io/last-change-trigger-time"

struct epsc {
  struct ctl_base b;
  const kube_kind_t *skind;
  struct ep_services svcs;
  kube_informer_t *sinf, *ninf;
  struct ctl_podstore *pods;
  struct ctl_expectations exp;
};

/* ------------------------------------------------------------------------ */
/* Desired endpoints, grouped by port set                                   */
/* ------------------------------------------------------------------------ */

struct group {
  char *key;          /* the ports as text */
  json_object *ports; /* array (owned) */
  json_object *eps;   /* desired endpoints not placed yet: key -> endpoint */
  size_t n_left;
};

struct desired {
  struct group *g;
  size_t n;
};

static void desired_clear(struct desired *d) {
  for (size_t i = 0; i < d->n; i++) {
    free(d->g[i].key);
    json_object_put(d->g[i].ports);
    json_object_put(d->g[i].eps);
  }
  free(d->g);
}

static struct group *group_for(struct desired *d, json_object *ports) {
  const char *key =
      json_object_to_json_string_ext(ports, JSON_C_TO_STRING_PLAIN);
  for (size_t i = 0; i < d->n; i++)
    if (streq(d->g[i].key, key))
      return &d->g[i];
  struct group *g = realloc(d->g, (d->n + 1) * sizeof *g);
  if (!g)
    return NULL;
  d->g = g;
  g = &d->g[d->n];
  memset(g, 0, sizeof *g);
  g->key = strdup(key);
  g->ports = json_object_get(ports);
  g->eps = json_object_new_object();
  if (!g->key || !g->eps) {
    free(g->key);
    json_object_put(g->ports);
    json_object_put(g->eps);
    return NULL;
  }
  d->n++;
  return g;
}

static const char *ep_key(json_object *ep, char *buf, size_t len) {
  snprintf(buf, len, "%s|%s", cj_str0(cj_obj(ep, "targetRef"), "uid"),
           json_object_get_string(cj_at(cj_arr(ep, "addresses"), 0)) ?: "");
  return buf;
}

static json_object *endpoint_of(struct epsc *e, const struct ctl_pod *p,
                                const char *ip, json_object *svc) {
  bool publish =
      cj_bool(cj_obj(svc, "spec"), "publishNotReadyAddresses", false);
  bool serving = p->ready, terminating = p->deleting;
  bool ready = publish || (serving && !terminating);
  json_object *ep = json_object_new_object();
  json_object *addrs = json_object_new_array();
  json_object_array_add(addrs, json_object_new_string(ip));
  cj_set(ep, "addresses", addrs);
  json_object *c = json_object_new_object();
  cj_set(c, "ready", json_object_new_boolean(ready));
  cj_set(c, "serving", json_object_new_boolean(serving));
  cj_set(c, "terminating", json_object_new_boolean(terminating));
  cj_set(ep, "conditions", c);
  if (ctl_ep_set_hostname(p, svc))
    cj_set(ep, "hostname", json_object_new_string(p->hostname));
  json_object *ref = json_object_new_object();
  cj_set(ref, "kind", json_object_new_string("Pod"));
  cj_set(ref, "namespace", json_object_new_string(p->ns));
  cj_set(ref, "name", json_object_new_string(p->name));
  cj_set(ref, "uid", json_object_new_string(p->uid));
  cj_set(ep, "targetRef", ref);
  if (p->node) {
    cj_set(ep, "nodeName", json_object_new_string(p->node));
    const kube_object_t *node = kube_informer_get(e->ninf, p->node);
    const char *zone =
        node ? kube_object_label(node, "topology.kubernetes.io/zone") : NULL;
    if (zone && *zone)
      cj_set(ep, "zone", json_object_new_string(zone));
  }
  return ep;
}

static json_object *ports_of(const struct ctl_pod *p, json_object *sports) {
  json_object *ports = json_object_new_array();
  for (size_t k = 0; k < cj_len(sports); k++) {
    json_object *sp = cj_at(sports, k);
    int32_t num = ctl_ep_find_port(p, sp);
    if (num < 0)
      continue;
    json_object *port = json_object_new_object();
    cj_set(port, "name", json_object_new_string(cj_str0(sp, "name")));
    cj_set(port, "protocol",
           json_object_new_string(cj_str(sp, "protocol") ?: "TCP"));
    cj_set(port, "port", json_object_new_int64(num));
    if (cj_str(sp, "appProtocol"))
      cj_set(port, "appProtocol",
             json_object_new_string(cj_str(sp, "appProtocol")));
    json_object_array_add(ports, port);
  }
  return ports;
}

static int build_desired(struct epsc *e, json_object *svc,
                         const kube_selector_t *sel, const char *ns,
                         struct desired *d, size_t *total) {
  json_object *sports = cj_arr(cj_obj(svc, "spec"), "ports");
  const struct ctl_podlist *pl = ctl_podstore_in_ns(e->pods, ns);
  *total = 0;
  for (size_t i = 0; i < pl->n; i++) {
    const struct ctl_pod *p = pl->v[i];
    if (!ctl_selector_matches_pairs(sel, p->labels) ||
        !ctl_ep_pod_included(p, true))
      continue;
    const char *ip = ctl_ep_pod_ip(p, svc);
    if (!ip)
      continue;
    json_object *ports = ports_of(p, sports);
    struct group *g = ports ? group_for(d, ports) : NULL;
    json_object_put(ports);
    json_object *ep = g ? endpoint_of(e, p, ip, svc) : NULL;
    if (!ep)
      return -1;
    char kb[300];
    cj_set(g->eps, ep_key(ep, kb, sizeof kb), ep);
    g->n_left++;
    (*total)++;
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* The sync                                                                  */
/* ------------------------------------------------------------------------ */

static json_object *slice_labels(json_object *svc) {
  json_object *l = json_object_new_object();
  json_object *sl = cj_obj(cj_obj(svc, "metadata"), "labels");
  if (sl) {
    json_object_object_foreach(sl, k, v) {
      if (streq(k, LABEL_SERVICE) || streq(k, LABEL_MANAGED_BY) ||
          streq(k, HEADLESS_LABEL))
        continue;
      cj_set(l, k, json_object_get(v));
    }
  }
  if (!ctl_ep_service_ip_set(svc))
    cj_set(l, HEADLESS_LABEL, json_object_new_string(""));
  cj_set(l, LABEL_SERVICE,
         json_object_new_string(cj_str0(cj_obj(svc, "metadata"), "name")));
  cj_set(l, LABEL_MANAGED_BY, json_object_new_string(MANAGED_BY));
  return l;
}

static const char *address_type(json_object *svc) {
  json_object *fams = cj_arr(cj_obj(svc, "spec"), "ipFamilies");
  return cj_len(fams) &&
                 streq(json_object_get_string(cj_at(fams, 0)) ?: "", "IPv6")
             ? "IPv6"
             : "IPv4";
}

static void slice_done(struct ctl_op *op, const kube_object_t *res,
                       const kube_error_t *err) {
  struct epsc *e = op->data;
  if (!err)
    return;
  if (op->tag && streq(op->tag, "create"))
    ctl_creation_observed(&e->exp, op->sync->key);
  else if (op->tag && str_has_prefix(op->tag, "delete:"))
    ctl_deletion_observed(&e->exp, op->sync->key, op->tag + 7);
  if (err->reason == KUBE_REASON_NOT_FOUND && op->tag &&
      str_has_prefix(op->tag, "delete:"))
    return;
  if (err->message && strstr(err->message, "because it is being terminated"))
    return;
  log_debug("endpointslice: %s: %s", op->sync->key, err->message);
  op->sync->result = -1;
}

static void write_slice(struct epsc *e, struct ctl_sync *s, json_object *slice,
                        bool create, const char *ns) {
  char now[40];
  json_object *ann =
      ctl_json_ensure(ctl_json_ensure(slice, "metadata"), "annotations");
  cj_set(ann, TRIGGER_TIME,
         json_object_new_string(ctl_now_rfc3339(now, sizeof now)));
  kube_object_t *o = kube_object_wrap(json_object_get(slice));
  struct ctl_op *op =
      o ? ctl_op_new(&e->b, s, slice_done, create ? "create" : "update") : NULL;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (op)
    op->data = e;
  int rc = !op      ? -1
           : create ? kube_writer_create(e->b.w, e->skind, ns, o, NULL,
                                         ctl_op_cb, op, &err)
                    : kube_writer_update(e->b.w, e->skind, ns, o, NULL,
                                         ctl_op_cb, op, &err);
  if (!op || ctl_op_started(op, rc) < 0) {
    if (create)
      ctl_creation_observed(&e->exp, s->key);
    s->result = -1;
  }
  kube_object_free(o);
}

static void delete_slice(struct epsc *e, struct ctl_sync *s, const char *ns,
                         const char *name, const char *slice_key) {
  char tag[600];
  snprintf(tag, sizeof tag, "delete:%s", slice_key);
  struct ctl_op *op = ctl_op_new(&e->b, s, slice_done, tag);
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (op)
    op->data = e;
  if (!op ||
      ctl_op_started(op, kube_writer_delete(e->b.w, e->skind, ns, name, NULL,
                                            ctl_op_cb, op, &err)) < 0) {
    ctl_deletion_observed(&e->exp, s->key, slice_key);
    s->result = -1;
  }
}

static json_object *new_slice(json_object *svc, const char *ns,
                              json_object *ports) {
  json_object *sl = json_object_new_object();
  json_object *meta = json_object_new_object();
  const char *name = cj_str0(cj_obj(svc, "metadata"), "name");
  char prefix[300];
  snprintf(prefix, sizeof prefix, "%s-", name);
  if (strlen(prefix) > 253 - 5)
    snprintf(prefix, sizeof prefix, "%s", name);
  cj_set(sl, "apiVersion", json_object_new_string("discovery.k8s.io/v1"));
  cj_set(sl, "kind", json_object_new_string("EndpointSlice"));
  cj_set(meta, "generateName", json_object_new_string(prefix));
  cj_set(meta, "namespace", json_object_new_string(ns));
  cj_set(meta, "labels", slice_labels(svc));
  json_object *refs = json_object_new_array();
  json_object_array_add(
      refs, ctl_controller_ref("v1", "Service", name,
                               cj_str0(cj_obj(svc, "metadata"), "uid")));
  cj_set(meta, "ownerReferences", refs);
  cj_set(sl, "metadata", meta);
  cj_set(sl, "addressType", json_object_new_string(address_type(svc)));
  if (ports && json_object_array_length(ports))
    cj_set(sl, "ports", json_object_get(ports));
  cj_set(sl, "endpoints", json_object_new_array());
  return sl;
}

/* A slice of ours as the sync reworks it. */
struct eslice {
  json_object *obj; /* owned copy */
  char *key;
  struct group *g; /* NULL: no desired port set (stale) */
  bool changed;
};

struct collect {
  struct epsc *e;
  const char *ns;
  const char *svc_uid;
  struct eslice *v;
  size_t n, cap;
};

static void collect_one(const char *key, const kube_object_t *obj, void *arg) {
  struct collect *c = arg;
  json_object *o = kube_object_json(obj);
  json_object *meta = cj_obj(o, "metadata");
  if (!streq(cj_str0(meta, "namespace"), c->ns) ||
      !streq(cj_str0(cj_obj(meta, "labels"), LABEL_MANAGED_BY), MANAGED_BY))
    return;
  if (c->n == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 8;
    struct eslice *v = realloc(c->v, cap * sizeof *v);
    if (!v)
      return;
    c->v = v;
    c->cap = cap;
  }
  c->v[c->n++] = (struct eslice){ctl_json_copy(o), strdup(key), NULL, false};
}

static bool labels_ok(json_object *slice, json_object *want) {
  json_object *have = cj_obj(cj_obj(slice, "metadata"), "labels");
  return have && json_object_equal(have, want);
}

static int eps_sync(kube_controller_t *c, const char *key, void *arg) {
  struct epsc *e = arg;
  char ns[256];
  const char *name;
  ctl_split_key(key, ns, sizeof ns, &name);
  if (!ctl_expectations_satisfied(&e->exp, key))
    return -1; /* the slice cache is behind our own writes: later */
  const kube_object_t *so = kube_informer_get(e->svcs.inf, key);
  if (!so) {
    ctl_ep_services_forget(&e->svcs, key);
    ctl_expectations_delete(&e->exp, key);
    return 0; /* the garbage collector takes the slices it owned */
  }
  json_object *svc = kube_object_json(so);
  const kube_selector_t *sel = ctl_ep_service_selector(&e->svcs, key, svc);
  if (!sel)
    return 0;
  struct ctl_sync *s = ctl_sync_new(&e->b, key);
  if (!s)
    return -1;
  struct desired d = {0};
  size_t total;
  struct collect col = {.e = e, .ns = ns};
  char lv[400];
  snprintf(lv, sizeof lv, "%s=%s", LABEL_SERVICE, name);
  json_object *want_labels = slice_labels(svc);
  const char *atype = address_type(svc);
  if (build_desired(e, svc, sel, ns, &d, &total) < 0)
    goto fail;
  kube_informer_index_foreach(e->sinf, KUBE_INDEX_LABEL, lv, collect_one, &col);
  size_t creates = 0;
  const char **deletes = calloc(col.n + 1, sizeof *deletes);
  size_t n_del = 0;
  if (!deletes)
    goto fail;
  /* Existing slices: keep what is still wanted where it is. */
  for (size_t i = 0; i < col.n; i++) {
    struct eslice *es = &col.v[i];
    if (!es->obj || !streq(cj_str0(es->obj, "addressType"), atype)) {
      deletes[n_del++] = es->key;
      continue;
    }
    json_object *ports = cj_arr(es->obj, "ports");
    json_object *p = ports ? ports : json_object_new_array();
    const char *pk = json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN);
    for (size_t k = 0; k < d.n; k++)
      if (streq(d.g[k].key, pk))
        es->g = &d.g[k];
    if (!ports)
      json_object_put(p);
    json_object *eps = cj_arr(es->obj, "endpoints");
    json_object *keep = json_object_new_array();
    for (size_t k = 0; k < cj_len(eps); k++) {
      char kb[300];
      json_object *ep = cj_at(eps, k);
      const char *ek = ep_key(ep, kb, sizeof kb);
      json_object *want = es->g ? cj(es->g->eps, ek) : NULL;
      if (!want) {
        es->changed = true;
        continue;
      }
      if (!json_object_equal(want, ep))
        es->changed = true;
      json_object_array_add(keep, json_object_get(want));
      json_object_object_del(es->g->eps, ek);
      es->g->n_left--;
    }
    cj_set(es->obj, "endpoints", keep);
    if (!labels_ok(es->obj, want_labels)) {
      cj_set(cj_obj(es->obj, "metadata"), "labels", ctl_json_copy(want_labels));
      es->changed = true;
    }
  }
  /* New endpoints: into the slices being updated first, then into an
   * unchanged one that takes them all, then into new slices. */
  for (size_t k = 0; k < d.n; k++) {
    struct group *g = &d.g[k];
    for (int pass = 0; pass < 2 && g->n_left; pass++) {
      for (size_t i = 0; i < col.n && g->n_left; i++) {
        struct eslice *es = &col.v[i];
        if (es->g != g || !es->obj)
          continue;
        json_object *eps = cj_arr(es->obj, "endpoints");
        size_t room = MAX_PER_SLICE - cj_len(eps);
        if (pass == 0 ? !es->changed : (es->changed || room < g->n_left))
          continue;
        json_object_object_foreach(g->eps, ek, ep) {
          if (!room)
            break;
          json_object_array_add(eps, json_object_get(ep));
          json_object_object_del(g->eps, ek);
          g->n_left--;
          room--;
          es->changed = true;
        }
      }
    }
    while (g->n_left) {
      json_object *sl = new_slice(svc, ns, g->ports);
      json_object *eps = cj_arr(sl, "endpoints");
      size_t room = MAX_PER_SLICE;
      json_object_object_foreach(g->eps, ek, ep) {
        if (!room)
          break;
        json_object_array_add(eps, json_object_get(ep));
        json_object_object_del(g->eps, ek);
        g->n_left--;
        room--;
      }
      write_slice(e, s, sl, true, ns);
      creates++;
      json_object_put(sl);
    }
  }
  /* Slices left empty go; with no endpoints at all one placeholder (no
   * ports, no endpoints) stays. */
  bool placeholder = false;
  for (size_t i = 0; i < col.n; i++) {
    struct eslice *es = &col.v[i];
    if (!es->obj || !streq(cj_str0(es->obj, "addressType"), atype))
      continue;
    size_t n = cj_len(cj_arr(es->obj, "endpoints"));
    bool is_placeholder = !n && !cj_len(cj_arr(es->obj, "ports"));
    if (!total && is_placeholder && !placeholder) {
      placeholder = true;
      if (es->changed)
        write_slice(e, s, es->obj, false, ns);
      continue;
    }
    if (!n) {
      deletes[n_del++] = es->key;
      continue;
    }
    if (es->changed)
      write_slice(e, s, es->obj, false, ns);
  }
  if (!total && !placeholder) {
    json_object *sl = new_slice(svc, ns, NULL);
    write_slice(e, s, sl, true, ns);
    creates++;
    json_object_put(sl);
  }
  if (creates || n_del)
    ctl_expect(&e->exp, key, (int64_t)creates, deletes, n_del);
  for (size_t i = 0; i < n_del; i++) {
    char sns[256];
    const char *sname;
    ctl_split_key(deletes[i], sns, sizeof sns, &sname);
    delete_slice(e, s, sns, sname, deletes[i]);
  }
  free(deletes);
  for (size_t i = 0; i < col.n; i++) {
    json_object_put(col.v[i].obj);
    free(col.v[i].key);
  }
  free(col.v);
  json_object_put(want_labels);
  desired_clear(&d);
  return ctl_sync_finish(s);
fail:
  for (size_t i = 0; i < col.n; i++) {
    json_object_put(col.v[i].obj);
    free(col.v[i].key);
  }
  free(col.v);
  json_object_put(want_labels);
  desired_clear(&d);
  s->result = -1;
  return ctl_sync_finish(s);
}

/* ------------------------------------------------------------------------ */
/* Events                                                                    */
/* ------------------------------------------------------------------------ */

/* The Service a slice of ours belongs to (its key, owned), or NULL. */
static char *service_of(json_object *o) {
  json_object *meta = cj_obj(o, "metadata");
  json_object *labels = cj_obj(meta, "labels");
  const char *svc = cj_str(labels, LABEL_SERVICE);
  if (!svc || !streq(cj_str0(labels, LABEL_MANAGED_BY), MANAGED_BY))
    return NULL;
  return ctl_key(cj_str0(meta, "namespace"), svc);
}

static void slice_map(kube_controller_t *c, const char *key,
                      const kube_object_t *obj, void *arg) {
  cleanup_free char *svc = service_of(kube_object_json(obj));
  if (svc)
    kube_controller_enqueue(c, svc, NULL);
}

static void slice_added(const char *key, const kube_object_t *obj, void *arg) {
  struct epsc *e = arg;
  cleanup_free char *svc = service_of(kube_object_json(obj));
  if (svc)
    ctl_creation_observed(&e->exp, svc);
}

static void slice_deleted(const char *key, const kube_object_t *obj,
                          void *arg) {
  struct epsc *e = arg;
  cleanup_free char *svc = service_of(kube_object_json(obj));
  if (svc)
    ctl_deletion_observed(&e->exp, svc, key);
}

static void pod_changed(const struct ctl_pod *old, const struct ctl_pod *cur,
                        void *arg) {
  struct epsc *e = arg;
  const struct ctl_pod *p = cur ? cur : old;
  ctl_ep_pod_enqueue(&e->svcs, e->b.c, old, cur,
                     ctl_podstore_in_ns(e->pods, p->ns)->n);
}

struct eps_impl {
  struct epsc e;
  kube_informer_registration_t *reg;
};

static void *eps_create(kube_controller_manager_t *m, kube_error_t *err) {
  struct eps_impl *x = calloc(1, sizeof *x);
  if (!x) {
    kube_make_oom(err);
    return NULL;
  }
  struct epsc *e = &x->e;
  e->skind = kube_kind_by_resource("discovery.k8s.io", "v1", "endpointslices");
  if (!e->skind ||
      ctl_base_init(&e->b, m, "endpointslice", "endpoint-slice-controller",
                    eps_sync, e, err) < 0) {
    free(x);
    return NULL;
  }
  kube_informer_handlers_t h = {.struct_size = sizeof h,
                                .on_add = slice_added,
                                .on_delete = slice_deleted};
  if (ctl_ep_services_init(&e->svcs, m, err) < 0 ||
      !(e->sinf = ctl_manager_informer(
            m, "/apis/discovery.k8s.io/v1/endpointslices", err)) ||
      kube_informer_add_index(e->sinf, KUBE_INDEX_LABEL, kube_index_labels,
                              NULL, err) < 0 ||
      !(e->ninf = ctl_manager_informer(m, "/api/v1/nodes", err)) ||
      !(x->reg = kube_informer_add_handlers(e->sinf, &h, e, err)) ||
      !(e->pods = ctl_manager_pods(m, err)) ||
      kube_controller_watch(e->b.c, e->svcs.inf, NULL, NULL, err) < 0 ||
      kube_controller_watch(e->b.c, e->sinf, slice_map, NULL, err) < 0 ||
      kube_controller_watch(e->b.c, e->ninf, ctl_map_nothing, NULL, err) < 0 ||
      kube_controller_watch(e->b.c, ctl_podstore_informer(e->pods),
                            ctl_map_nothing, NULL, err) < 0 ||
      ctl_podstore_listen(e->pods, pod_changed, NULL, e, err) < 0) {
    ctl_podstore_unlisten(e->pods, e);
    if (x->reg)
      kube_informer_remove_handlers(e->sinf, x->reg);
    ctl_ep_services_clear(&e->svcs);
    ctl_base_clear(&e->b);
    free(x);
    return NULL;
  }
  return x;
}

static int eps_start(void *impl, kube_error_t *err) {
  return kube_controller_start(((struct eps_impl *)impl)->e.b.c, err);
}

static void eps_free(void *impl) {
  struct eps_impl *x = impl;
  if (!x)
    return;
  struct epsc *e = &x->e;
  ctl_podstore_unlisten(e->pods, e);
  kube_informer_remove_handlers(e->sinf, x->reg);
  ctl_base_clear(&e->b);
  ctl_ep_services_clear(&e->svcs);
  ctl_expectations_clear(&e->exp);
  free(x);
}

static kube_controller_t *eps_controller(void *impl) {
  return ((struct eps_impl *)impl)->e.b.c;
}

const struct ctl_impl_ops ctl_endpointslice_ops = {
    .create = eps_create,
    .start = eps_start,
    .free = eps_free,
    .controller = eps_controller,
};
