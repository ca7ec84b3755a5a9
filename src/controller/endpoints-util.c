/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Services and the pods they select, for the Endpoints and EndpointSlice
 * controllers: a cache of compiled selectors per Service (parsing them on
 * every pod event would cost more than the events), and the pod rules of
 * endpointutil (which pods are in, their address, hostname and ports).
 */
#include "controller/endpoints.h"

struct ep_sel {
  char *rv;
  kube_selector_t *sel; /* NULL: no selector / not managed */
};

static void sel_free(void *v) {
  struct ep_sel *s = v;
  if (!s)
    return;
  free(s->rv);
  kube_selector_free(s->sel);
  free(s);
}

int ctl_ep_services_init(struct ep_services *es, kube_controller_manager_t *m,
                         kube_error_t *err) {
  memset(es, 0, sizeof *es);
  if (!(es->inf = ctl_manager_informer(m, "/api/v1/services", err)) ||
      kube_informer_add_index(es->inf, KUBE_INDEX_NAMESPACE,
                              kube_index_namespace, NULL, err) < 0)
    return -1;
  return 0;
}

void ctl_ep_services_clear(struct ep_services *es) {
  strmap_clear(&es->sel, sel_free);
}

void ctl_ep_services_forget(struct ep_services *es, const char *key) {
  sel_free(strmap_remove(&es->sel, key));
}

const kube_selector_t *ctl_ep_service_selector(struct ep_services *es,
                                               const char *key,
                                               json_object *svc) {
  const char *rv = cj_str0(cj_obj(svc, "metadata"), "resourceVersion");
  struct ep_sel *s = strmap_get(&es->sel, key);
  if (s && streq(s->rv, rv))
    return s->sel;
  struct ep_sel *n = calloc(1, sizeof *n);
  if (!n || !(n->rv = strdup(rv))) {
    free(n);
    return NULL;
  }
  json_object *spec = cj_obj(svc, "spec");
  json_object *selector = cj_obj(spec, "selector");
  /* Services without a selector have their endpoints written by someone
   * else; ExternalName services have none. */
  if (selector && !streq(cj_str0(spec, "type"), "ExternalName"))
    n->sel = kube_json_map_selector(selector, NULL);
  void *old = NULL;
  if (!strmap_put(&es->sel, key, n, &old)) {
    sel_free(n);
    return NULL;
  }
  sel_free(old);
  return n->sel;
}

struct match_ctx {
  struct ep_services *es;
  char *const *labels;
  void (*fn)(const char *key, void *arg);
  void *arg;
};

static void match_one(const char *key, const kube_object_t *obj, void *arg) {
  struct match_ctx *m = arg;
  const kube_selector_t *sel =
      ctl_ep_service_selector(m->es, key, kube_object_json(obj));
  if (sel && ctl_selector_matches_pairs(sel, m->labels))
    m->fn(key, m->arg);
}

void ctl_ep_services_matching(struct ep_services *es, const char *ns,
                              char *const *labels,
                              void (*fn)(const char *key, void *arg),
                              void *arg) {
  struct match_ctx m = {es, labels, fn, arg};
  kube_informer_index_foreach(es->inf, KUBE_INDEX_NAMESPACE, ns, match_one, &m);
}

static bool strs_equal(const char *a, const char *b) {
  return (!a && !b) || (a && b && streq(a, b));
}

static bool strv_equal(char *const *a, char *const *b) {
  size_t i = 0;
  for (; a && b && a[i] && b[i]; i++)
    if (!streq(a[i], b[i]))
      return false;
  return (!a || !a[i]) && (!b || !b[i]);
}

bool ctl_ep_pod_changed(const struct ctl_pod *a, const struct ctl_pod *b) {
  if (a->deleting != b->deleting || a->ready != b->ready ||
      a->phase != b->phase || !strs_equal(a->node, b->node) ||
      !strs_equal(a->hostname, b->hostname) ||
      !strs_equal(a->subdomain, b->subdomain) || !strv_equal(a->ips, b->ips) ||
      !strv_equal(a->labels, b->labels) || a->n_ports != b->n_ports)
    return true;
  for (size_t i = 0; i < a->n_ports; i++)
    if (a->ports[i].port != b->ports[i].port ||
        !strs_equal(a->ports[i].name, b->ports[i].name))
      return true;
  return false;
}

struct enqueue_ctx {
  kube_controller_t *c;
  int64_t ms;
};

static void enqueue_key(const char *key, void *arg) {
  struct enqueue_ctx *q = arg;
  if (q->ms > 0)
    kube_controller_enqueue_after(q->c, key, q->ms, NULL);
  else
    kube_controller_enqueue(q->c, key, NULL);
}

void ctl_ep_pod_enqueue(struct ep_services *es, kube_controller_t *c,
                        const struct ctl_pod *old, const struct ctl_pod *cur,
                        size_t ns_pods) {
  if (old && cur && !ctl_ep_pod_changed(old, cur))
    return;
  struct enqueue_ctx q = {c, 0};
  if (old && cur && old->deleting == cur->deleting && ns_pods >= 1000) {
    q.ms = (int64_t)ns_pods / 100;
    if (q.ms > EP_COALESCE_MAX_MS)
      q.ms = EP_COALESCE_MAX_MS;
  }
  if (old)
    ctl_ep_services_matching(es, old->ns, old->labels, enqueue_key, &q);
  if (cur)
    ctl_ep_services_matching(es, cur->ns, cur->labels, enqueue_key, &q);
}

bool ctl_ep_pod_included(const struct ctl_pod *p, bool include_terminating) {
  if (p->phase == CTL_PHASE_SUCCEEDED || p->phase == CTL_PHASE_FAILED)
    return false;
  if (!p->ips || !p->ips[0])
    return false;
  return include_terminating || !p->deleting;
}

bool ctl_ep_set_hostname(const struct ctl_pod *p, json_object *svc) {
  json_object *meta = cj_obj(svc, "metadata");
  return p->hostname && *p->hostname && p->subdomain &&
         streq(p->subdomain, cj_str0(meta, "name")) &&
         streq(p->ns, cj_str0(meta, "namespace"));
}

const char *ctl_ep_pod_ip(const struct ctl_pod *p, json_object *svc) {
  json_object *fams = cj_arr(cj_obj(svc, "spec"), "ipFamilies");
  bool v6 = cj_len(fams) &&
            streq(json_object_get_string(cj_at(fams, 0)) ?: "", "IPv6");
  for (size_t i = 0; p->ips && p->ips[i]; i++)
    if (!!strchr(p->ips[i], ':') == v6)
      return p->ips[i];
  return NULL;
}

int32_t ctl_ep_find_port(const struct ctl_pod *p, json_object *svc_port) {
  json_object *tp = cj(svc_port, "targetPort");
  const char *proto = cj_str(svc_port, "protocol");
  if (!proto)
    proto = "TCP";
  if (json_object_is_type(tp, json_type_string)) {
    const char *name = json_object_get_string(tp);
    char *end;
    long n = strtol(name, &end, 10);
    if (*name && !*end)
      return (int32_t)n;
    for (size_t i = 0; i < p->n_ports; i++)
      if (p->ports[i].name && streq(p->ports[i].name, name) &&
          streq(p->ports[i].protocol, proto))
        return p->ports[i].port;
    return -1;
  }
  int64_t v =
      json_object_is_type(tp, json_type_int) ? json_object_get_int64(tp) : 0;
  return (int32_t)(v ? v : cj_int(svc_port, "port", 0));
}

bool ctl_ep_service_ip_set(json_object *svc) {
  const char *ip = cj_str(cj_obj(svc, "spec"), "clusterIP");
  return ip && *ip && !streq(ip, "None");
}
