/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Endpoints controller (kube-controller-manager's endpoints-controller):
 * for every Service with a selector, an Endpoints object of the same name
 * whose subsets list the selected pods' addresses (ready ones in
 * addresses, the others in notReadyAddresses unless
 * publishNotReadyAddresses) with the ports the Service's target ports
 * resolve to on each pod (named ports looked up in the pod), repacked so
 * that pods serving the same ports share a subset.  At most 1000
 * addresses: beyond, the over-capacity annotation says "truncated".
 */
#include <math.h>

#include "controller/endpoints.h"

#define MAX_CAPACITY 1000
#define OVER_CAPACITY "endpoints.kubernetes.io/over-capacity"
#define TRIGGER_TIME "endpoints.kubernetes.io/last-change-trigger-time"
#define HEADLESS_LABEL "service.kubernetes.io/headless"

struct epc {
  struct ctl_base b;
  const kube_kind_t *ekind;
  struct ep_services svcs;
  kube_informer_t *einf;
  struct ctl_podstore *pods;
};

/* ------------------------------------------------------------------------ */
/* Building subsets                                                          */
/* ------------------------------------------------------------------------ */

/* One address offering one port (port NULL: a headless Service without
 * ports). */
struct entry {
  const struct ctl_pod *p;
  const char *ip;
  bool ready;
  json_object *port; /* EndpointPort tree, borrowed from `ports` */
};

static json_object *address_of(const struct entry *e, json_object *svc) {
  json_object *a = json_object_new_object();
  cj_set(a, "ip", json_object_new_string(e->ip));
  if (ctl_ep_set_hostname(e->p, svc))
    cj_set(a, "hostname", json_object_new_string(e->p->hostname));
  if (e->p->node)
    cj_set(a, "nodeName", json_object_new_string(e->p->node));
  json_object *ref = json_object_new_object();
  cj_set(ref, "kind", json_object_new_string("Pod"));
  cj_set(ref, "namespace", json_object_new_string(e->p->ns));
  cj_set(ref, "name", json_object_new_string(e->p->name));
  cj_set(ref, "uid", json_object_new_string(e->p->uid));
  cj_set(a, "targetRef", ref);
  return a;
}

static const char *port_key(json_object *port, char *buf, size_t len) {
  if (!port)
    return "-";
  snprintf(buf, len, "%s|%lld|%s|%s", cj_str0(port, "name"),
           (long long)cj_int(port, "port", 0), cj_str0(port, "protocol"),
           cj_str0(port, "appProtocol"));
  return buf;
}

static int cmp_entry_addr(const struct entry *a, const struct entry *b) {
  int c = strcmp(a->ip, b->ip);
  return c ? c : strcmp(a->p->uid, b->p->uid);
}

static int cmp_port(json_object *a, json_object *b) {
  int c = strcmp(cj_str0(a, "name"), cj_str0(b, "name"));
  if (c)
    return c;
  int64_t pa = cj_int(a, "port", 0), pb = cj_int(b, "port", 0);
  if (pa != pb)
    return pa < pb ? -1 : 1;
  return strcmp(cj_str0(a, "protocol"), cj_str0(b, "protocol"));
}

/* RepackSubsets: addresses grouped by the set of ports they offer (ready
 * wins over not ready for the same address and port), in a stable order. */
static json_object *repack(struct entry *v, size_t n, json_object *svc) {
  /* address key -> ports it offers with readiness, as text */
  struct strmap offers = {0};
  struct strmap first = {0}; /* address key -> entry index */
  char buf[512];
  for (size_t i = 0; i < n; i++) {
    char akey[300];
    snprintf(akey, sizeof akey, "%s|%s", v[i].ip, v[i].p->uid);
    if (!strmap_find(&first, akey))
      strmap_put(&first, akey, (void *)(uintptr_t)(i + 1), NULL);
  }
  /* port key -> per-address readiness ('r'/'n'), via a map per port */
  struct strmap ports = {0}; /* port key -> struct strmap* (addr->ready) */
  struct strmap port_obj = {0};
  for (size_t i = 0; i < n; i++) {
    const char *pk = port_key(v[i].port, buf, sizeof buf);
    struct strmap *m = strmap_get(&ports, pk);
    if (!m) {
      m = calloc(1, sizeof *m);
      if (!m)
        continue;
      strmap_put(&ports, pk, m, NULL);
      strmap_put(&port_obj, pk, v[i].port, NULL);
    }
    char akey[300];
    snprintf(akey, sizeof akey, "%s|%s", v[i].ip, v[i].p->uid);
    uintptr_t cur = (uintptr_t)strmap_get(m, akey);
    if (!cur || (cur == 1 && v[i].ready))
      strmap_put(m, akey, (void *)(uintptr_t)(v[i].ready ? 2 : 1), NULL);
  }
  /* address-set signature -> list of port keys */
  json_object *subsets = json_object_new_array();
  struct strmap sets = {0}; /* signature -> json subset */
  STRMAP_FOREACH(&ports, i, pe) {
    struct strmap *m = pe->value;
    /* the signature: sorted "addr=r|n" */
    size_t k = 0;
    const char **keys = calloc(m->n + 1, sizeof *keys);
    STRMAP_FOREACH(m, j, ae) {
      if (keys)
        keys[k++] = ae->key;
    }
    kube_strbuf_t sig = KUBE_STRBUF_INIT;
    if (keys) {
      for (size_t a = 1; a < k; a++)
        for (size_t b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) {
          const char *t = keys[b];
          keys[b] = keys[b - 1];
          keys[b - 1] = t;
        }
      for (size_t a = 0; a < k; a++)
        kube_strbuf_printf(&sig, "%s=%c;", keys[a],
                           (uintptr_t)strmap_get(m, keys[a]) == 2 ? 'r' : 'n');
    }
    json_object *ss = sig.data ? strmap_get(&sets, sig.data) : NULL;
    if (!ss && sig.data) {
      ss = json_object_new_object();
      json_object *ready = json_object_new_array();
      json_object *notready = json_object_new_array();
      /* addresses in IP order */
      struct entry *es = calloc(k + 1, sizeof *es);
      size_t ne = 0;
      for (size_t a = 0; es && a < k; a++) {
        size_t idx = (uintptr_t)strmap_get(&first, keys[a]) - 1;
        es[ne] = v[idx];
        es[ne++].ready = (uintptr_t)strmap_get(m, keys[a]) == 2;
      }
      for (size_t a = 1; a < ne; a++)
        for (size_t b = a; b > 0 && cmp_entry_addr(&es[b - 1], &es[b]) > 0;
             b--) {
          struct entry t = es[b];
          es[b] = es[b - 1];
          es[b - 1] = t;
        }
      for (size_t a = 0; a < ne; a++)
        json_object_array_add(es[a].ready ? ready : notready,
                              address_of(&es[a], svc));
      free(es);
      if (json_object_array_length(ready))
        cj_set(ss, "addresses", ready);
      else
        json_object_put(ready);
      if (json_object_array_length(notready))
        cj_set(ss, "notReadyAddresses", notready);
      else
        json_object_put(notready);
      strmap_put(&sets, sig.data, ss, NULL);
      json_object_array_add(subsets, ss);
    }
    kube_strbuf_clear(&sig);
    free(keys);
    json_object *port = strmap_get(&port_obj, pe->key);
    if (ss && port) {
      json_object *pl = cj_arr(ss, "ports");
      if (!pl) {
        pl = json_object_new_array();
        cj_set(ss, "ports", pl);
      }
      json_object_array_add(pl, ctl_json_copy(port));
    }
  }
  /* ports sorted in each subset, subsets by their first address */
  for (size_t i = 0; i < cj_len(subsets); i++) {
    json_object *pl = cj_arr(cj_at(subsets, i), "ports");
    size_t np = cj_len(pl);
    for (size_t a = 1; a < np; a++)
      for (size_t b = a; b > 0 && cmp_port(cj_at(pl, b - 1), cj_at(pl, b)) > 0;
           b--) {
        json_object *x = json_object_get(cj_at(pl, b));
        json_object *y = json_object_get(cj_at(pl, b - 1));
        json_object_array_put_idx(pl, b, y);
        json_object_array_put_idx(pl, b - 1, x);
      }
  }
  STRMAP_FOREACH(&ports, i2, pe2) {
    strmap_clear(pe2->value, NULL);
    free(pe2->value);
  }
  strmap_clear(&ports, NULL);
  strmap_clear(&port_obj, NULL);
  strmap_clear(&first, NULL);
  strmap_clear(&offers, NULL);
  strmap_clear(&sets, NULL);
  return subsets;
}

static const char *first_ip(json_object *ss) {
  json_object *a = cj_arr(ss, "addresses");
  if (!cj_len(a))
    a = cj_arr(ss, "notReadyAddresses");
  return cj_len(a) ? cj_str0(cj_at(a, 0), "ip") : "";
}

static int cmp_subset(const void *pa, const void *pb) {
  json_object *a = *(json_object *const *)pa, *b = *(json_object *const *)pb;
  int c = strcmp(first_ip(a), first_ip(b));
  if (c)
    return c;
  json_object *x = cj_at(cj_arr(a, "ports"), 0),
              *y = cj_at(cj_arr(b, "ports"), 0);
  return x && y ? cmp_port(x, y) : (x ? 1 : y ? -1 : 0);
}

static json_object *sorted_subsets(json_object *subsets) {
  size_t n = cj_len(subsets);
  json_object **v = calloc(n + 1, sizeof *v);
  json_object *out = json_object_new_array();
  if (!v || !out) {
    free(v);
    json_object_put(out);
    return subsets;
  }
  for (size_t i = 0; i < n; i++)
    v[i] = json_object_get(cj_at(subsets, i));
  qsort(v, n, sizeof *v, cmp_subset);
  for (size_t i = 0; i < n; i++)
    json_object_array_add(out, v[i]);
  free(v);
  json_object_put(subsets);
  return out;
}

/* truncateEndpoints: at most MAX_CAPACITY addresses, ready ones first. */
static bool truncate_endpoints(json_object *subsets) {
  size_t ready = 0, notready = 0;
  for (size_t i = 0; i < cj_len(subsets); i++) {
    ready += cj_len(cj_arr(cj_at(subsets, i), "addresses"));
    notready += cj_len(cj_arr(cj_at(subsets, i), "notReadyAddresses"));
  }
  if (ready + notready <= MAX_CAPACITY)
    return false;
  bool trunc_ready = ready > MAX_CAPACITY;
  size_t max = trunc_ready ? MAX_CAPACITY : MAX_CAPACITY - ready;
  size_t total = trunc_ready ? ready : notready;
  size_t can = max;
  for (size_t i = 0; i < cj_len(subsets); i++) {
    json_object *ss = cj_at(subsets, i);
    const char *which = trunc_ready ? "addresses" : "notReadyAddresses";
    json_object *list = cj_arr(ss, which);
    size_t in = cj_len(list);
    size_t add = (size_t)ceil((double)in / (double)total * (double)max);
    if (add > can)
      add = can;
    if (list && in > add)
      json_object_array_del_idx(list, add, in - add);
    if (trunc_ready)
      json_object_object_del(ss, "notReadyAddresses");
    can -= cj_len(cj_arr(ss, which));
  }
  return true;
}

/* ------------------------------------------------------------------------ */
/* The sync                                                                  */
/* ------------------------------------------------------------------------ */

static void written(struct ctl_op *op, const kube_object_t *res,
                    const kube_error_t *err) {
  struct epc *e = op->data;
  if (!err)
    return;
  if (err->message && strstr(err->message, "because it is being terminated"))
    return;
  op->sync->result = -1;
  char ns[256];
  const char *name;
  ctl_split_key(op->sync->key, ns, sizeof ns, &name);
  kube_event_ref_t ref = {
      .kind = "Endpoints", .api_version = "v1", .namespace_ = ns, .name = name};
  char msg[1024];
  bool create = op->tag && streq(op->tag, "create");
  snprintf(msg, sizeof msg,
           create ? "Failed to create endpoint for service %s/%s: %s"
                  : "Failed to update endpoint %s/%s: %s",
           ns, name, err->message);
  kube_event_recorder_record(
      e->b.rec, &ref, "Warning",
      create ? "FailedToCreateEndpoint" : "FailedToUpdateEndpoint", NULL, msg);
}

static void deleted(struct ctl_op *op, const kube_object_t *res,
                    const kube_error_t *err) {
  if (err && err->reason != KUBE_REASON_NOT_FOUND)
    op->sync->result = -1;
}

static bool labels_equal_ignoring(json_object *a, json_object *b,
                                  const char *ignore) {
  size_t na = 0, nb = 0;
  if (a) {
    json_object_object_foreach(a, ka, va) {
      if (streq(ka, ignore))
        continue;
      na++;
      const char *x = json_object_get_string(va), *y = cj_str(b, ka);
      if (!y || !x || !streq(x, y))
        return false;
    }
  }
  if (b) {
    json_object_object_foreach(b, kb, vb) {
      (void)vb;
      if (!streq(kb, ignore))
        nb++;
    }
  }
  return na == nb;
}

static int ep_sync(kube_controller_t *c, const char *key, void *arg) {
  struct epc *e = arg;
  char ns[256];
  const char *name;
  ctl_split_key(key, ns, sizeof ns, &name);
  const kube_object_t *so = kube_informer_get(e->svcs.inf, key);
  const kube_object_t *cur = kube_informer_get(e->einf, key);
  struct ctl_sync *s = ctl_sync_new(&e->b, key);
  if (!s)
    return -1;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (!so) {
    /* The Service is gone: so are its Endpoints. */
    if (cur) {
      struct ctl_op *op = ctl_op_new(&e->b, s, deleted, NULL);
      if (!op ||
          ctl_op_started(op, kube_writer_delete(e->b.w, e->ekind, ns, name,
                                                NULL, ctl_op_cb, op, &err)) < 0)
        s->result = -1;
    }
    ctl_ep_services_forget(&e->svcs, key);
    return ctl_sync_finish(s);
  }
  json_object *svc = kube_object_json(so);
  const kube_selector_t *sel = ctl_ep_service_selector(&e->svcs, key, svc);
  if (!sel)
    return ctl_sync_finish(s);
  json_object *spec = cj_obj(svc, "spec");
  bool publish = cj_bool(spec, "publishNotReadyAddresses", false);
  json_object *sports = cj_arr(spec, "ports");
  bool headless = !ctl_ep_service_ip_set(svc);
  const struct ctl_podlist *pl = ctl_podstore_in_ns(e->pods, ns);
  size_t cap = pl->n * (cj_len(sports) ? cj_len(sports) : 1) + 1;
  struct entry *v = calloc(cap, sizeof *v);
  json_object *portobjs = json_object_new_array();
  if (!v || !portobjs) {
    free(v);
    json_object_put(portobjs);
    s->result = -1;
    return ctl_sync_finish(s);
  }
  size_t n = 0;
  for (size_t i = 0; i < pl->n; i++) {
    const struct ctl_pod *p = pl->v[i];
    if (!ctl_selector_matches_pairs(sel, p->labels) ||
        !ctl_ep_pod_included(p, publish))
      continue;
    const char *ip = ctl_ep_pod_ip(p, svc);
    if (!ip)
      continue;
    bool ready = publish || p->ready;
    if (!cj_len(sports)) {
      if (headless)
        v[n++] = (struct entry){p, ip, ready, NULL};
      continue;
    }
    for (size_t k = 0; k < cj_len(sports); k++) {
      json_object *sp = cj_at(sports, k);
      int32_t num = ctl_ep_find_port(p, sp);
      if (num < 0)
        continue;
      json_object *port = json_object_new_object();
      if (cj_str(sp, "name") && *cj_str(sp, "name"))
        cj_set(port, "name", json_object_new_string(cj_str(sp, "name")));
      cj_set(port, "port", json_object_new_int64(num));
      cj_set(port, "protocol",
             json_object_new_string(cj_str(sp, "protocol") ?: "TCP"));
      if (cj_str(sp, "appProtocol"))
        cj_set(port, "appProtocol",
               json_object_new_string(cj_str(sp, "appProtocol")));
      json_object_array_add(portobjs, port);
      v[n++] = (struct entry){p, ip, ready, port};
    }
  }
  json_object *subsets = sorted_subsets(repack(v, n, svc));
  free(v);
  json_object *cobj = cur ? kube_object_json(cur) : NULL;
  json_object *cmeta = cj_obj(cobj, "metadata");
  json_object *slabels = cj_obj(cj_obj(svc, "metadata"), "labels");
  json_object *cann = cj_obj(cmeta, "annotations");
  bool over = truncate_endpoints(subsets);
  bool cap_ok = over == (cj_str(cann, OVER_CAPACITY) != NULL);
  json_object *csub = cj_arr(cobj, "subsets");
  bool same_subsets = (cj_len(csub) == 0 && cj_len(subsets) == 0) ||
                      (csub && json_object_equal(csub, subsets));
  bool same_labels =
      labels_equal_ignoring(cj_obj(cmeta, "labels"), slabels, HEADLESS_LABEL);
  bool headless_ok =
      !!cj_str(cj_obj(cmeta, "labels"), HEADLESS_LABEL) == headless;
  if (cur && same_subsets && same_labels && cap_ok && headless_ok) {
    json_object_put(subsets);
    json_object_put(portobjs);
    return ctl_sync_finish(s);
  }
  json_object *eobj = cobj ? ctl_json_copy(cobj) : json_object_new_object();
  json_object *meta = ctl_json_ensure(eobj, "metadata");
  if (!cur) {
    cj_set(eobj, "apiVersion", json_object_new_string("v1"));
    cj_set(eobj, "kind", json_object_new_string("Endpoints"));
    cj_set(meta, "name", json_object_new_string(name));
    cj_set(meta, "namespace", json_object_new_string(ns));
  }
  json_object *labels =
      slabels ? ctl_json_copy(slabels) : json_object_new_object();
  json_object_object_del(labels, HEADLESS_LABEL);
  if (headless)
    cj_set(labels, HEADLESS_LABEL, json_object_new_string(""));
  cj_set(meta, "labels", labels);
  json_object *ann = ctl_json_ensure(meta, "annotations");
  char now[40];
  cj_set(ann, TRIGGER_TIME,
         json_object_new_string(ctl_now_rfc3339(now, sizeof now)));
  if (over)
    cj_set(ann, OVER_CAPACITY, json_object_new_string("truncated"));
  else
    json_object_object_del(ann, OVER_CAPACITY);
  if (cj_len(subsets))
    cj_set(eobj, "subsets", subsets);
  else {
    json_object_put(subsets);
    json_object_object_del(eobj, "subsets");
  }
  json_object_put(portobjs);
  kube_object_t *o = kube_object_wrap(eobj);
  struct ctl_op *op =
      o ? ctl_op_new(&e->b, s, written, cur ? "update" : "create") : NULL;
  if (op)
    op->data = e;
  int rc = !op   ? -1
           : cur ? kube_writer_update(e->b.w, e->ekind, ns, o, NULL, ctl_op_cb,
                                      op, &err)
                 : kube_writer_create(e->b.w, e->ekind, ns, o, NULL, ctl_op_cb,
                                      op, &err);
  if (!op || ctl_op_started(op, rc) < 0)
    s->result = -1;
  kube_object_free(o);
  return ctl_sync_finish(s);
}

/* ------------------------------------------------------------------------ */
/* Events                                                                    */
/* ------------------------------------------------------------------------ */

static void pod_changed(const struct ctl_pod *old, const struct ctl_pod *cur,
                        void *arg) {
  struct epc *e = arg;
  const struct ctl_pod *p = cur ? cur : old;
  ctl_ep_pod_enqueue(&e->svcs, e->b.c, old, cur,
                     ctl_podstore_in_ns(e->pods, p->ns)->n);
}

static void *ep_create(kube_controller_manager_t *m, kube_error_t *err) {
  struct epc *e = calloc(1, sizeof *e);
  if (!e) {
    kube_make_oom(err);
    return NULL;
  }
  e->ekind = kube_kind_by_resource("", "v1", "endpoints");
  if (!e->ekind || ctl_base_init(&e->b, m, "endpoint", "endpoint-controller",
                                 ep_sync, e, err) < 0) {
    free(e);
    return NULL;
  }
  if (ctl_ep_services_init(&e->svcs, m, err) < 0 ||
      !(e->einf = ctl_manager_informer(m, "/api/v1/endpoints", err)) ||
      !(e->pods = ctl_manager_pods(m, err)) ||
      kube_controller_watch(e->b.c, e->svcs.inf, NULL, NULL, err) < 0 ||
      /* An Endpoints object changed or deleted by someone else is looked
       * at again. */
      kube_controller_watch(e->b.c, e->einf, NULL, NULL, err) < 0 ||
      kube_controller_watch(e->b.c, ctl_podstore_informer(e->pods),
                            ctl_map_nothing, NULL, err) < 0 ||
      ctl_podstore_listen(e->pods, pod_changed, NULL, e, err) < 0) {
    ctl_podstore_unlisten(e->pods, e);
    ctl_ep_services_clear(&e->svcs);
    ctl_base_clear(&e->b);
    free(e);
    return NULL;
  }
  return e;
}

static int ep_start(void *impl, kube_error_t *err) {
  return kube_controller_start(((struct epc *)impl)->b.c, err);
}

static void ep_free(void *impl) {
  struct epc *e = impl;
  if (!e)
    return;
  ctl_podstore_unlisten(e->pods, e);
  ctl_base_clear(&e->b);
  ctl_ep_services_clear(&e->svcs);
  free(e);
}

static kube_controller_t *ep_controller(void *impl) {
  return ((struct epc *)impl)->b.c;
}

const struct ctl_impl_ops ctl_endpoints_ops = {
    .create = ep_create,
    .start = ep_start,
    .free = ep_free,
    .controller = ep_controller,
};
