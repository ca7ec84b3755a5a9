/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pods every controller looks at, as compact summaries kept from the
 * shared pod informer: by key, by controller uid, by namespace, the
 * namespace's orphans and by namespace and label (key=value), so that a
 * budget's or an autoscaler's selector walks its own pods, not the
 * namespace's.  A change that keeps a pod's namespace, controller and
 * labels (most: status) swaps the summary in place in its lists.  A ReplicaSet of 10,000 pods syncs over its own
 * list without parsing a single pod; the listeners (the ReplicaSet,
 * Deployment and endpoints controllers) are told of each change once,
 * with the summary before and after.
 */
#include "controller/internal.h"

struct listener {
  ctl_pod_listener_fn fn;
  void (*synced)(void *arg);
  void *arg;
  bool told_synced;
};

struct ctl_podstore {
  kube_informer_t *inf;
  kube_informer_registration_t *reg;
  struct strmap pods;    /* key -> struct ctl_pod */
  struct strmap owned;   /* controller uid -> struct ctl_podlist */
  struct strmap ns;      /* namespace -> struct ctl_podlist */
  struct strmap orphans; /* namespace -> struct ctl_podlist */
  struct strmap labels;  /* "namespace/key=value" -> struct ctl_podlist */
  struct listener *ls;
  size_t n_ls;
  bool synced;
};

static const struct ctl_podlist empty_list;

/* ---- summaries ---- */

static void pod_free(struct ctl_pod *p) {
  if (!p)
    return;
  free(p->key);
  free(p->ns);
  free(p->name);
  free(p->uid);
  free(p->resource_version);
  free(p->ctrl_uid);
  free(p->ctrl_kind);
  free(p->ctrl_name);
  for (size_t i = 0; p->labels && p->labels[i]; i++)
    free(p->labels[i]);
  free(p->labels);
  free(p->node);
  free(p->hostname);
  free(p->subdomain);
  for (size_t i = 0; p->ips && p->ips[i]; i++)
    free(p->ips[i]);
  free(p->ips);
  for (size_t i = 0; i < p->n_ports; i++) {
    free(p->ports[i].name);
    free(p->ports[i].protocol);
  }
  free(p->ports);
  free(p->pos_labels);
  free(p);
}

static char *dup_or_null(const char *s) {
  return s && *s ? strdup(s) : NULL;
}

static enum ctl_phase phase_of(const char *s) {
  if (!s)
    return CTL_PHASE_PENDING;
  if (streq(s, "Running"))
    return CTL_PHASE_RUNNING;
  if (streq(s, "Succeeded"))
    return CTL_PHASE_SUCCEEDED;
  if (streq(s, "Failed"))
    return CTL_PHASE_FAILED;
  if (streq(s, "Unknown"))
    return CTL_PHASE_UNKNOWN;
  return CTL_PHASE_PENDING;
}

static void restarts_of(json_object *statuses, int32_t *max) {
  for (size_t i = 0; i < cj_len(statuses); i++) {
    int64_t r = cj_int(cj_at(statuses, i), "restartCount", 0);
    if (r > *max)
      *max = (int32_t)r;
  }
}

static bool fill_ports(struct ctl_pod *p, json_object *spec) {
  json_object *cs = cj_arr(spec, "containers");
  size_t n = 0;
  for (size_t i = 0; i < cj_len(cs); i++)
    n += cj_len(cj_arr(cj_at(cs, i), "ports"));
  if (!n)
    return true;
  p->ports = calloc(n, sizeof *p->ports);
  if (!p->ports)
    return false;
  for (size_t i = 0; i < cj_len(cs); i++) {
    json_object *ports = cj_arr(cj_at(cs, i), "ports");
    for (size_t k = 0; k < cj_len(ports); k++) {
      json_object *port = cj_at(ports, k);
      struct ctl_port *out = &p->ports[p->n_ports++];
      out->name = dup_or_null(cj_str(port, "name"));
      out->protocol = strdup(cj_str(port, "protocol") ?: "TCP");
      out->port = (int32_t)cj_int(port, "containerPort", 0);
      if (!out->protocol)
        return false;
    }
  }
  return true;
}

static bool fill_labels(struct ctl_pod *p, json_object *labels) {
  size_t n = labels && json_object_is_type(labels, json_type_object)
                 ? (size_t)json_object_object_length(labels)
                 : 0;
  p->labels = calloc(2 * n + 1, sizeof *p->labels);
  p->pos_labels = calloc(n + 1, sizeof *p->pos_labels);
  if (!p->labels || !p->pos_labels)
    return false;
  size_t i = 0;
  if (n) {
    json_object_object_foreach(labels, k, v) {
      const char *val = json_object_get_string(v);
      if (!(p->labels[i] = strdup(k)) ||
          !(p->labels[i + 1] = strdup(val ? val : "")))
        return false;
      i += 2;
    }
  }
  return true;
}

static bool fill_ips(struct ctl_pod *p, json_object *status) {
  json_object *ips = cj_arr(status, "podIPs");
  const char *ip = cj_str(status, "podIP");
  size_t n = cj_len(ips);
  if (!n && !(ip && *ip))
    return true;
  p->ips = calloc((n ? n : 1) + 1, sizeof *p->ips);
  if (!p->ips)
    return false;
  if (!n)
    return (p->ips[0] = strdup(ip)) != NULL;
  for (size_t i = 0; i < n; i++)
    if (!(p->ips[i] = strdup(cj_str0(cj_at(ips, i), "ip"))))
      return false;
  return true;
}

static struct ctl_pod *summarize(const char *key, const kube_object_t *obj) {
  json_object *o = kube_object_json(obj);
  json_object *meta = cj_obj(o, "metadata");
  json_object *spec = cj_obj(o, "spec");
  json_object *status = cj_obj(o, "status");
  struct ctl_pod *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  p->key = strdup(key);
  p->ns = strdup(cj_str0(meta, "namespace"));
  p->name = strdup(cj_str0(meta, "name"));
  p->uid = strdup(cj_str0(meta, "uid"));
  p->resource_version = strdup(cj_str0(meta, "resourceVersion"));
  if (!p->key || !p->ns || !p->name || !p->uid || !p->resource_version)
    goto oom;
  json_object *refs = cj_arr(meta, "ownerReferences");
  for (size_t i = 0; i < cj_len(refs); i++) {
    json_object *r = cj_at(refs, i);
    if (!cj_bool(r, "controller", false))
      continue;
    if (!(p->ctrl_uid = strdup(cj_str0(r, "uid"))) ||
        !(p->ctrl_kind = strdup(cj_str0(r, "kind"))) ||
        !(p->ctrl_name = strdup(cj_str0(r, "name"))))
      goto oom;
    break;
  }
  if (!fill_labels(p, cj_obj(meta, "labels")))
    goto oom;
  p->node = dup_or_null(cj_str(spec, "nodeName"));
  p->hostname = dup_or_null(cj_str(spec, "hostname"));
  p->subdomain = dup_or_null(cj_str(spec, "subdomain"));
  if (!fill_ips(p, status) || !fill_ports(p, spec))
    goto oom;
  p->phase = phase_of(cj_str(status, "phase"));
  p->deleting =
      cj(meta, "deletionTimestamp") != NULL &&
      !json_object_is_type(cj(meta, "deletionTimestamp"), json_type_null);
  p->created_ns = ctl_time_ns(cj_str(meta, "creationTimestamp"));
  json_object *conds = cj_arr(status, "conditions");
  for (size_t i = 0; i < cj_len(conds); i++) {
    json_object *c = cj_at(conds, i);
    if (streq(cj_str0(c, "type"), "Ready")) {
      p->ready = streq(cj_str0(c, "status"), "True");
      p->ready_since_ns = ctl_time_ns(cj_str(c, "lastTransitionTime"));
    } else if (streq(cj_str0(c, "type"), "DisruptionTarget") &&
               streq(cj_str0(c, "status"), "True") &&
               !streq(cj_str0(c, "reason"), "TerminationByKubelet")) {
      /* 1 when the time is unknown: the condition is there all the same. */
      int64_t t = ctl_time_ns(cj_str(c, "lastTransitionTime"));
      p->disruption_since_ns = t ? t : 1;
    }
  }
  restarts_of(cj_arr(status, "containerStatuses"), &p->max_restarts);
  restarts_of(cj_arr(status, "initContainerStatuses"), &p->max_restarts);
  const char *cost = cj_str(cj_obj(meta, "annotations"),
                            "controller.kubernetes.io/pod-deletion-cost");
  if (cost)
    p->deletion_cost = (int32_t)strtol(cost, NULL, 10);
  return p;
oom:
  pod_free(p);
  return NULL;
}

bool ctl_pod_available(const struct ctl_pod *p, int32_t min_ready,
                       int64_t now_ns) {
  if (!p->ready)
    return false;
  if (min_ready <= 0)
    return true;
  /* A Ready condition without a transition time counts as ready long
   * enough (podutil.IsPodAvailable compares against a zero time). */
  return p->ready_since_ns + (int64_t)min_ready * 1000000000 < now_ns;
}

/* ---- lists ---- */

static struct ctl_podlist *list_for(struct strmap *m, const char *key) {
  struct ctl_podlist *l = strmap_get(m, key);
  if (l)
    return l;
  l = calloc(1, sizeof *l);
  if (!l || !strmap_put(m, key, l, NULL)) {
    free(l);
    return NULL;
  }
  return l;
}

static void list_free(void *v) {
  struct ctl_podlist *l = v;
  if (l)
    free(l->v);
  free(l);
}

static bool list_add(struct strmap *m, const char *key, struct ctl_pod *p,
                     size_t *pos) {
  struct ctl_podlist *l = list_for(m, key);
  if (!l)
    return false;
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 8;
    struct ctl_pod **v = realloc(l->v, cap * sizeof *v);
    if (!v)
      return false;
    l->v = v;
    l->cap = cap;
  }
  *pos = l->n;
  l->v[l->n++] = p;
  return true;
}

/* `which` selects the position field of the list kind (W_LABEL + i: the
 * list of label i). */
enum which { W_OWNER, W_NS, W_ORPHAN, W_LABEL };

static size_t *pos_of(struct ctl_pod *p, size_t w) {
  return w == W_OWNER    ? &p->pos_owner
         : w == W_NS     ? &p->pos_ns
         : w == W_ORPHAN ? &p->pos_orphan
                         : &p->pos_labels[w - W_LABEL];
}

/* Which position of pod p belongs to label list lkey ("ns/key=value"): the
 * number of its label `key` (a pod has a handful). */
static size_t label_slot(const struct ctl_pod *p, const char *lkey) {
  const char *slash = strchr(lkey, '/');
  const char *k = slash ? slash + 1 : lkey;
  const char *eq = strchr(k, '=');
  size_t klen = eq ? (size_t)(eq - k) : strlen(k);
  for (size_t i = 0; p->labels && p->labels[i]; i += 2)
    if (strlen(p->labels[i]) == klen && !strncmp(p->labels[i], k, klen))
      return W_LABEL + i / 2;
  return W_LABEL;
}

static void list_remove(struct strmap *m, const char *key, struct ctl_pod *p,
                        size_t w) {
  struct ctl_podlist *l = strmap_get(m, key);
  size_t pos = *pos_of(p, w);
  if (!l || pos >= l->n || l->v[pos] != p)
    return;
  l->v[pos] = l->v[--l->n];
  if (pos < l->n)
    *pos_of(l->v[pos], w >= W_LABEL ? label_slot(l->v[pos], key) : w) = pos;
  if (!l->n)
    list_free(strmap_remove(m, key));
}

/* "namespace/key=value" of label i (of pod p) into buf; false when too
 * long (then not indexed: ctl_podstore_select falls back to the
 * namespace). */
static bool label_key(const struct ctl_pod *p, size_t i, char *buf,
                      size_t len) {
  int n = snprintf(buf, len, "%s/%s=%s", p->ns, p->labels[2 * i],
                   p->labels[2 * i + 1]);
  return n > 0 && (size_t)n < len;
}

static bool index_pod(struct ctl_podstore *ps, struct ctl_pod *p) {
  char lk[600];
  if (!list_add(&ps->ns, p->ns, p, &p->pos_ns))
    return false;
  for (size_t i = 0; p->labels[2 * i]; i++)
    if (label_key(p, i, lk, sizeof lk) &&
        !list_add(&ps->labels, lk, p, &p->pos_labels[i]))
      return false;
  if (p->ctrl_uid)
    return list_add(&ps->owned, p->ctrl_uid, p, &p->pos_owner);
  return list_add(&ps->orphans, p->ns, p, &p->pos_orphan);
}

static void unindex_pod(struct ctl_podstore *ps, struct ctl_pod *p) {
  char lk[600];
  list_remove(&ps->ns, p->ns, p, W_NS);
  for (size_t i = 0; p->labels && p->labels[2 * i]; i++)
    if (label_key(p, i, lk, sizeof lk))
      list_remove(&ps->labels, lk, p, W_LABEL + i);
  if (p->ctrl_uid)
    list_remove(&ps->owned, p->ctrl_uid, p, W_OWNER);
  else
    list_remove(&ps->orphans, p->ns, p, W_ORPHAN);
}

static bool same(const char *a, const char *b) {
  return (!a && !b) || (a && b && streq(a, b));
}

bool ctl_pod_same_place(const struct ctl_pod *a, const struct ctl_pod *b) {
  if (!streq(a->ns, b->ns) || !same(a->ctrl_uid, b->ctrl_uid))
    return false;
  size_t n = 0;
  for (; a->labels[n] && b->labels[n]; n++)
    if (!streq(a->labels[n], b->labels[n]))
      return false;
  return !a->labels[n] && !b->labels[n];
}

/* The new summary takes the old one's places when it belongs in the same
 * lists: no list changes, and most changes are a pod's status.  False
 * when it does not. */
static bool replace_in_place(struct ctl_podstore *ps, struct ctl_pod *old,
                             struct ctl_pod *p) {
  if (!ctl_pod_same_place(old, p))
    return false;
  char lk[600];
  struct ctl_podlist *l;
  p->pos_ns = old->pos_ns;
  if ((l = strmap_get(&ps->ns, p->ns)))
    l->v[p->pos_ns] = p;
  for (size_t i = 0; p->labels[2 * i]; i++) {
    p->pos_labels[i] = old->pos_labels[i];
    if (label_key(p, i, lk, sizeof lk) && (l = strmap_get(&ps->labels, lk)))
      l->v[p->pos_labels[i]] = p;
  }
  if (p->ctrl_uid) {
    p->pos_owner = old->pos_owner;
    if ((l = strmap_get(&ps->owned, p->ctrl_uid)))
      l->v[p->pos_owner] = p;
  } else {
    p->pos_orphan = old->pos_orphan;
    if ((l = strmap_get(&ps->orphans, p->ns)))
      l->v[p->pos_orphan] = p;
  }
  return true;
}

static void tell(struct ctl_podstore *ps, const struct ctl_pod *old,
                 const struct ctl_pod *p) {
  for (size_t i = 0; i < ps->n_ls; i++)
    if (ps->ls[i].fn)
      ps->ls[i].fn(old, p, ps->ls[i].arg);
}

static void put(struct ctl_podstore *ps, const char *key,
                const kube_object_t *obj) {
  struct ctl_pod *p = summarize(key, obj);
  if (!p) {
    log_warn("controller: out of memory summarising pod %s", key);
    return;
  }
  struct ctl_pod *old = strmap_get(&ps->pods, key);
  if (old && replace_in_place(ps, old, p)) {
    if (strmap_put(&ps->pods, key, p, NULL)) {
      tell(ps, old, p);
      pod_free(old);
      return;
    }
    /* out of memory (impossible: the key is there): as below */
  }
  if (old)
    unindex_pod(ps, old);
  if (!strmap_put(&ps->pods, key, p, NULL) || !index_pod(ps, p)) {
    log_warn("controller: out of memory indexing pod %s", key);
    unindex_pod(ps, p);
    strmap_remove(&ps->pods, key);
    pod_free(p);
    if (old)
      tell(ps, old, NULL);
    pod_free(old);
    return;
  }
  tell(ps, old, p);
  pod_free(old);
}

static void on_add(const char *key, const kube_object_t *obj, void *arg) {
  put(arg, key, obj);
}

static void on_update(const char *key, const kube_object_t *old_obj,
                      const kube_object_t *obj, void *arg) {
  put(arg, key, obj);
}

static void on_delete(const char *key, const kube_object_t *obj, void *arg) {
  struct ctl_podstore *ps = arg;
  struct ctl_pod *old = strmap_remove(&ps->pods, key);
  if (!old)
    return;
  unindex_pod(ps, old);
  tell(ps, old, NULL);
  pod_free(old);
}

static void on_synced(void *arg) {
  struct ctl_podstore *ps = arg;
  ps->synced = true;
  for (size_t i = 0; i < ps->n_ls; i++) {
    struct listener *l = &ps->ls[i];
    if (!l->told_synced && l->synced) {
      l->told_synced = true;
      l->synced(l->arg);
    }
  }
}

/* ---- public (module) ---- */

struct ctl_podstore *ctl_podstore_new(kube_informer_factory_t *f,
                                      kube_error_t *err) {
  struct ctl_podstore *ps = calloc(1, sizeof *ps);
  if (!ps) {
    kube_make_oom(err);
    return NULL;
  }
  kube_informer_options_t io = {.struct_size = sizeof io,
                                .path = "/api/v1/pods"};
  kube_informer_handlers_t h = {
      .struct_size = sizeof h,
      .on_add = on_add,
      .on_update = on_update,
      .on_delete = on_delete,
      .on_synced = on_synced,
  };
  if (!(ps->inf = kube_informer_factory_informer(f, &io, err)) ||
      !(ps->reg = kube_informer_add_handlers(ps->inf, &h, ps, err))) {
    free(ps);
    return NULL;
  }
  return ps;
}

static void pod_free_v(void *v) {
  pod_free(v);
}

void ctl_podstore_free(struct ctl_podstore *ps) {
  if (!ps)
    return;
  kube_informer_remove_handlers(ps->inf, ps->reg);
  strmap_clear(&ps->owned, list_free);
  strmap_clear(&ps->ns, list_free);
  strmap_clear(&ps->orphans, list_free);
  strmap_clear(&ps->labels, list_free);
  strmap_clear(&ps->pods, pod_free_v);
  free(ps->ls);
  free(ps);
}

int ctl_podstore_listen(struct ctl_podstore *ps, ctl_pod_listener_fn fn,
                        void (*synced)(void *arg), void *arg,
                        kube_error_t *err) {
  struct listener *ls = realloc(ps->ls, (ps->n_ls + 1) * sizeof *ls);
  if (!ls)
    return kube_make_oom(err);
  ps->ls = ls;
  ls[ps->n_ls++] = (struct listener){fn, synced, arg, false};
  /* A listener joining later is told of the pods already there first. */
  if (fn) {
    STRMAP_FOREACH(&ps->pods, i, e)
    fn(NULL, e->value, arg);
  }
  if (ps->synced && synced) {
    ls[ps->n_ls - 1].told_synced = true;
    synced(arg);
  }
  return 0;
}

void ctl_podstore_unlisten(struct ctl_podstore *ps, void *arg) {
  for (size_t i = 0; ps && i < ps->n_ls; i++)
    if (ps->ls[i].arg == arg) {
      memmove(&ps->ls[i], &ps->ls[i + 1], (ps->n_ls - i - 1) * sizeof *ps->ls);
      ps->n_ls--;
      i--;
    }
}

bool ctl_podstore_synced(const struct ctl_podstore *ps) {
  return ps->synced;
}

kube_informer_t *ctl_podstore_informer(struct ctl_podstore *ps) {
  return ps->inf;
}

const struct ctl_pod *ctl_podstore_get(const struct ctl_podstore *ps,
                                       const char *key) {
  return strmap_get(&ps->pods, key);
}

const struct ctl_podlist *ctl_podstore_owned(const struct ctl_podstore *ps,
                                             const char *uid) {
  const struct ctl_podlist *l = uid ? strmap_get(&ps->owned, uid) : NULL;
  return l ? l : &empty_list;
}

const struct ctl_podlist *ctl_podstore_orphans(const struct ctl_podstore *ps,
                                               const char *ns) {
  const struct ctl_podlist *l = strmap_get(&ps->orphans, ns);
  return l ? l : &empty_list;
}

const struct ctl_podlist *ctl_podstore_in_ns(const struct ctl_podstore *ps,
                                             const char *ns) {
  const struct ctl_podlist *l = strmap_get(&ps->ns, ns);
  return l ? l : &empty_list;
}

const struct ctl_podlist *ctl_podstore_select(const struct ctl_podstore *ps,
                                              const char *ns,
                                              const kube_selector_t *sel) {
  const struct ctl_podlist *best = ctl_podstore_in_ns(ps, ns);
  char lk[600];
  for (size_t i = 0; sel && i < sel->n; i++) {
    const kube_selector_requirement_t *r = &sel->reqs[i];
    if ((r->op != KUBE_SELECTOR_EQUALS && r->op != KUBE_SELECTOR_IN) ||
        r->n_values != 1)
      continue;
    int n = snprintf(lk, sizeof lk, "%s/%s=%s", ns, r->key, r->values[0]);
    if (n <= 0 || (size_t)n >= sizeof lk)
      continue; /* never indexed: the namespace's list holds it */
    const struct ctl_podlist *l = strmap_get(&ps->labels, lk);
    if (!l)
      return &empty_list; /* no pod has that label */
    if (l->n < best->n)
      best = l;
  }
  return best;
}
