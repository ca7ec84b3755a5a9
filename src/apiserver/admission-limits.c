/* SPDX-License-Identifier: Apache-2.0 */
/* LimitRanger and ResourceQuota admission, as kube-apiserver's plugins of
 * those names: a namespace's LimitRanges default a new pod's container
 * requests and limits and bound them (min, max, maxLimitRequestRatio per
 * Container and per Pod); its ResourceQuotas bound what the namespace
 * holds (pods and their compute requests/limits, object counts, storage
 * requests), counted at admission from the store plus the creates
 * admitted and not yet stored.  The quota's status (status.used) is the
 * quota controller's to write, not admission's: deletes and pods turning
 * terminal never pass admission, so counts kept here would drift.
 * Scoped quotas (spec.scopes, spec.scopeSelector) are not enforced. */
#include <stdarg.h>
#include <time.h>

#include "api/api-private.h"
#include "apiserver/internal.h"

/* ---- resource lists ---- */

/* A quantity from a resource list value (string or number). */
static bool quantity_of(json_object *v, kube_quantity_t *q) {
  if (!v)
    return false;
  const char *s = json_object_get_string(v);
  return s && kube_quantity_parse(s, q, NULL) == 0;
}

static bool list_get(json_object *list, const char *key, kube_quantity_t *q) {
  json_object *v = NULL;
  return list && json_object_object_get_ex(list, key, &v) && quantity_of(v, q);
}

static const char *fmt_q(const kube_quantity_t *q, char *buf, size_t len) {
  return kube_quantity_format(q, buf, len);
}

static json_object *list_of(json_object *obj, const char *key) {
  json_object *l = NULL;
  if (!json_object_object_get_ex(obj, key, &l) ||
      !json_object_is_type(l, json_type_object))
    return NULL;
  return l;
}

/* obj[key], created as an empty object when missing. */
static json_object *list_ensure(json_object *obj, const char *key) {
  json_object *l = list_of(obj, key);
  if (!l) {
    l = json_object_new_object();
    json_object_object_add(obj, key, l);
  }
  return l;
}

static const kube_kind_t *core_kind(const char *resource) {
  return kube_kind_by_resource("", "v1", resource);
}

/* The objects of a kind in a namespace, as trees (owned array). */
static json_object **list_ns(kube_apiserver_t *srv, const kube_kind_t *k,
                             const char *ns, size_t *n) {
  *n = 0;
  cleanup_free char *prefix = k && ns ? as_store_prefix(k, ns) : NULL;
  kube_store_list_t l = {0};
  if (!prefix || kube_store_list(srv->store, prefix, NULL, 0, &l, NULL) < 0)
    return NULL;
  json_object **v = l.n ? calloc(l.n, sizeof *v) : NULL;
  for (size_t i = 0; v && i < l.n; i++)
    if ((v[*n] = as_record_to_tree(l.items[i], NULL)))
      (*n)++;
  kube_store_list_clear(&l);
  return v;
}

static void trees_free(json_object **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    json_object_put(v[i]);
  free(v);
}

/* ---- LimitRanger ---- */

/* Each container of a pod (init containers too), with its prefix in the
 * annotation. */
typedef void (*each_fn)(json_object *c, const char *what, void *arg);

static void each_container(json_object *spec, each_fn fn, void *arg) {
  static const char *const lists[] = {"initContainers", "containers"};
  static const char *const what[] = {"init container", "container"};
  for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
    json_object *a = NULL;
    if (!json_object_object_get_ex(spec, lists[i], &a) ||
        !json_object_is_type(a, json_type_array))
      continue;
    for (size_t j = 0; j < json_object_array_length(a); j++)
      fn(json_object_array_get_idx(a, j), what[i], arg);
  }
}

/* Effective defaults of a Container item, as the LimitRange defaulting
 * of Kubernetes computes them: default limit <- max; default request <-
 * default limit, then min. */
static void item_defaults(json_object *item, json_object *limits,
                          json_object *requests) {
  json_object *def = list_of(item, "default"), *max = list_of(item, "max");
  json_object *dreq = list_of(item, "defaultRequest"),
              *min = list_of(item, "min");
  json_object *srcs_l[] = {def, max}, *srcs_r[] = {dreq, def, max, min};
  for (size_t s = 0; s < ARRAY_SIZE(srcs_l); s++) {
    if (!srcs_l[s])
      continue;
    json_object_object_foreach(srcs_l[s], key, val) {
      if (!json_object_object_get_ex(limits, key, NULL))
        json_object_object_add(limits, key, json_object_get(val));
    }
  }
  for (size_t s = 0; s < ARRAY_SIZE(srcs_r); s++) {
    if (!srcs_r[s])
      continue;
    /* max is a source of the default limit only, which then defaults the
     * request: take it through `limits`. */
    json_object *src = srcs_r[s] == max ? limits : srcs_r[s];
    json_object_object_foreach(src, key, val) {
      if (!json_object_object_get_ex(requests, key, NULL))
        json_object_object_add(requests, key, json_object_get(val));
    }
  }
}

struct mutate_ctx {
  json_object *spec;
  json_object *limits, *requests; /* defaults */
  kube_strbuf_t note;
};

static void append_set(kube_strbuf_t *note, json_object *defaults,
                       json_object *have, const char *kind, const char *what,
                       const char *name) {
  kube_strbuf_t keys = KUBE_STRBUF_INIT;
  /* Sorted, as kube-apiserver sorts them. */
  const char *names[64];
  size_t n = 0;
  json_object_object_foreach(defaults, key, val) {
    if (json_object_object_get_ex(have, key, NULL) || n == ARRAY_SIZE(names))
      continue;
    json_object_object_add(have, key, json_object_get(val));
    names[n++] = key;
  }
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
      const char *t = names[j];
      names[j] = names[j - 1];
      names[j - 1] = t;
    }
  for (size_t i = 0; i < n; i++)
    kube_strbuf_printf(&keys, "%s%s", i ? ", " : "", names[i]);
  if (n)
    kube_strbuf_printf(note, "%s%s %s for %s %s", note->len ? "; " : "",
                       keys.data, kind, what, name);
  kube_strbuf_clear(&keys);
}

static void mutate_container(json_object *c, const char *what, void *arg) {
  struct mutate_ctx *x = arg;
  const char *name = kube_json_get_string(c, "name");
  json_object *res = list_ensure(c, "resources");
  json_object *req = list_ensure(res, "requests");
  json_object *lim = list_ensure(res, "limits");
  append_set(&x->note, x->requests, req, "request", what, name ? name : "");
  append_set(&x->note, x->limits, lim, "limit", what, name ? name : "");
  if (!json_object_object_length(req))
    json_object_object_del(res, "requests");
  if (!json_object_object_length(lim))
    json_object_object_del(res, "limits");
}

static bool is_type(json_object *item, const char *type) {
  const char *t = kube_json_get_string(item, "type");
  return t && streq(t, type);
}

/* fn for every spec.limits item of the namespace's LimitRanges. */
static void each_limit_item(kube_apiserver_t *srv, const char *ns,
                            void (*fn)(json_object *item, void *arg),
                            void *arg) {
  size_t n = 0;
  json_object **lrs = list_ns(srv, core_kind("limitranges"), ns, &n);
  for (size_t i = 0; i < n; i++) {
    json_object *items = kube_json_get(lrs[i], "spec.limits");
    for (size_t j = 0; items && json_object_is_type(items, json_type_array) &&
                       j < json_object_array_length(items);
         j++)
      fn(json_object_array_get_idx(items, j), arg);
  }
  trees_free(lrs, n);
}

static void mutate_item(json_object *item, void *arg) {
  struct mutate_ctx *x = arg;
  if (!is_type(item, "Container"))
    return;
  x->limits = json_object_new_object();
  x->requests = json_object_new_object();
  item_defaults(item, x->limits, x->requests);
  each_container(x->spec, mutate_container, x);
  json_object_put(x->limits);
  json_object_put(x->requests);
}

int as_limitranger_mutate(const kube_apiserver_admission_attrs_t *a, void *arg,
                          kube_error_t *err) {
  json_object *pod = kube_object_json(a->object);
  struct mutate_ctx x = {.note = KUBE_STRBUF_INIT,
                         .spec = kube_json_get(pod, "spec")};
  if (x.spec)
    each_limit_item(arg, a->namespace_, mutate_item, &x);
  if (x.note.len) {
    kube_strbuf_t v = KUBE_STRBUF_INIT;
    kube_strbuf_printf(&v, "LimitRanger plugin set: %s", x.note.data);
    json_object *ann = list_ensure(as_meta_of(pod), "annotations");
    json_object_object_add(ann, "kubernetes.io/limit-ranger",
                           json_object_new_string(v.data ? v.data : ""));
    kube_strbuf_clear(&v);
  }
  kube_strbuf_clear(&x.note);
  return 0;
}

/* One violation list, printed as Go's aggregate error prints it. */
struct problems {
  kube_strbuf_t sb;
  size_t n;
};

KUBE_PRINTF(2, 3)
static void problem(struct problems *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (p->n++)
    kube_strbuf_append(&p->sb, ", ");
  kube_strbuf_vprintf(&p->sb, fmt, ap);
  va_end(ap);
}

/* min / max / maxLimitRequestRatio of one resource for one Container (or
 * the Pod's sums): `req`/`lim` NULL when not specified. */
static void check_bounds(struct problems *p, json_object *item,
                         const char *scope, const char *res,
                         const kube_quantity_t *req,
                         const kube_quantity_t *lim) {
  kube_quantity_t b;
  char x[64], y[64];
  if (list_get(list_of(item, "min"), res, &b)) {
    if (!req)
      problem(p, "minimum %s usage per %s is %s.  No request is specified", res,
              scope, fmt_q(&b, x, sizeof x));
    else if (kube_quantity_cmp(req, &b) < 0)
      problem(p, "minimum %s usage per %s is %s, but request is %s", res, scope,
              fmt_q(&b, x, sizeof x), fmt_q(req, y, sizeof y));
  }
  if (list_get(list_of(item, "max"), res, &b)) {
    if (!lim)
      problem(p, "maximum %s usage per %s is %s.  No limit is specified", res,
              scope, fmt_q(&b, x, sizeof x));
    else if (kube_quantity_cmp(lim, &b) > 0)
      problem(p, "maximum %s usage per %s is %s, but limit is %s", res, scope,
              fmt_q(&b, x, sizeof x), fmt_q(lim, y, sizeof y));
  }
  if (list_get(list_of(item, "maxLimitRequestRatio"), res, &b)) {
    if (!req || req->nano == 0)
      problem(p,
              "%s max limit to request ratio per %s is %s, but no request "
              "is specified or request is 0",
              res, scope, fmt_q(&b, x, sizeof x));
    else if (!lim)
      problem(p,
              "%s max limit to request ratio per %s is %s, but no limit "
              "is specified",
              res, scope, fmt_q(&b, x, sizeof x));
    else {
      double ratio = (double)lim->nano / (double)req->nano;
      if (ratio * 1e9 > (double)b.nano)
        problem(p,
                "%s max limit to request ratio per %s is %s, but "
                "provided ratio is %f",
                res, scope, fmt_q(&b, x, sizeof x), ratio);
    }
  }
}

/* Every resource an item bounds. */
static void item_resources(json_object *item, const char **names, size_t *n,
                           size_t cap) {
  static const char *const keys[] = {"min", "max", "maxLimitRequestRatio"};
  for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
    json_object *l = list_of(item, keys[k]);
    if (!l)
      continue;
    json_object_object_foreach(l, key, val) {
      (void)val;
      bool seen = false;
      for (size_t i = 0; i < *n; i++)
        seen |= streq(names[i], key);
      if (!seen && *n < cap)
        names[(*n)++] = key;
    }
  }
}

struct validate_ctx {
  json_object *item;
  struct problems *p;
  const char **res;
  size_t n_res;
  kube_quantity_t req_sum[16], lim_sum[16];
  bool req_any[16], lim_any[16];
};

static void validate_container(json_object *c, const char *what, void *arg) {
  struct validate_ctx *x = arg;
  json_object *req = kube_json_get(c, "resources.requests");
  json_object *lim = kube_json_get(c, "resources.limits");
  for (size_t i = 0; i < x->n_res; i++) {
    kube_quantity_t rq, lq;
    bool hr = list_get(req, x->res[i], &rq), hl = list_get(lim, x->res[i], &lq);
    if (x->item)
      check_bounds(x->p, x->item, "Container", x->res[i], hr ? &rq : NULL,
                   hl ? &lq : NULL);
    if (hr && kube_quantity_add(&x->req_sum[i], &rq, &x->req_sum[i], NULL) == 0)
      x->req_any[i] = true;
    if (hl && kube_quantity_add(&x->lim_sum[i], &lq, &x->lim_sum[i], NULL) == 0)
      x->lim_any[i] = true;
  }
}

struct validate_all {
  json_object *spec;
  struct problems *p;
};

static void validate_item(json_object *item, void *arg) {
  struct validate_all *v = arg;
  bool container = is_type(item, "Container"), pod = is_type(item, "Pod");
  if (!container && !pod)
    return;
  const char *res[16];
  struct validate_ctx x = {
      .item = container ? item : NULL, .p = v->p, .res = res};
  item_resources(item, res, &x.n_res, ARRAY_SIZE(res));
  each_container(v->spec, validate_container, &x);
  for (size_t r = 0; pod && r < x.n_res; r++)
    check_bounds(v->p, item, "Pod", res[r], x.req_any[r] ? &x.req_sum[r] : NULL,
                 x.lim_any[r] ? &x.lim_sum[r] : NULL);
}

int as_limitranger_validate(const kube_apiserver_admission_attrs_t *a,
                            void *arg, kube_error_t *err) {
  struct problems p = {.sb = KUBE_STRBUF_INIT};
  struct validate_all v = {
      .spec = kube_json_get(kube_object_json(a->object), "spec"), .p = &p};
  if (v.spec)
    each_limit_item(arg, a->namespace_, validate_item, &v);
  int rc = 0;
  if (p.n)
    rc = kube_error_set(err, KUBE_REASON_FORBIDDEN, 0,
                        "pods \"%s\" is forbidden: %s%s%s",
                        a->name ? a->name : "", p.n > 1 ? "[" : "", p.sb.data,
                        p.n > 1 ? "]" : "");
  kube_strbuf_clear(&p.sb);
  return rc;
}

/* ---- ResourceQuota ---- */

/* What one object counts for, by quota resource name: a JSON object of
 * name -> canonical quantity (owned). */
static void usage_add(json_object *u, const char *name,
                      const kube_quantity_t *q) {
  kube_quantity_t sum = {0};
  json_object *v = NULL;
  if (json_object_object_get_ex(u, name, &v))
    quantity_of(v, &sum);
  if (kube_quantity_add(&sum, q, &sum, NULL) < 0)
    return;
  char buf[64];
  json_object_object_add(u, name,
                         json_object_new_string(fmt_q(&sum, buf, sizeof buf)));
}

static void usage_one(json_object *u, const char *name) {
  kube_quantity_t one = {.nano = 1000000000};
  usage_add(u, name, &one);
}

struct pod_sums {
  kube_quantity_t req[3], lim[3];
  bool missing_req[3], missing_lim[3];
};

static const char *const compute[] = {"cpu", "memory", "ephemeral-storage"};

static void pod_container(json_object *c, const char *what, void *arg) {
  struct pod_sums *s = arg;
  /* Init containers run one at a time: Kubernetes counts the larger of
   * their maximum and the sum of the others; counting them summed is a
   * little stricter and never lets a pod past the quota. */
  json_object *req = kube_json_get(c, "resources.requests");
  json_object *lim = kube_json_get(c, "resources.limits");
  for (size_t i = 0; i < ARRAY_SIZE(compute); i++) {
    kube_quantity_t q;
    if (list_get(req, compute[i], &q))
      kube_quantity_add(&s->req[i], &q, &s->req[i], NULL);
    else
      s->missing_req[i] = true;
    if (list_get(lim, compute[i], &q))
      kube_quantity_add(&s->lim[i], &q, &s->lim[i], NULL);
    else
      s->missing_lim[i] = true;
  }
}

static bool pod_terminal(json_object *pod) {
  const char *phase = kube_json_get_string(pod, "status.phase");
  return phase && (streq(phase, "Succeeded") || streq(phase, "Failed"));
}

/* The usage of one object of kind k; `missing` (may be NULL) receives the
 * compute resources a pod does not specify (quota names). */
static json_object *usage_of(const kube_kind_t *k, json_object *obj,
                             struct pod_sums *sums_out) {
  json_object *u = json_object_new_object();
  char name[300];
  if (*k->group)
    snprintf(name, sizeof name, "count/%s.%s", k->resource, k->group);
  else
    snprintf(name, sizeof name, "count/%s", k->resource);
  usage_one(u, name);
  static const char *const legacy[] = {
      "pods",    "services",   "replicationcontrollers", "resourcequotas",
      "secrets", "configmaps", "persistentvolumeclaims"};
  for (size_t i = 0; !*k->group && i < ARRAY_SIZE(legacy); i++)
    if (streq(k->resource, legacy[i]))
      usage_one(u, legacy[i]);
  if (!*k->group && streq(k->resource, "pods")) {
    struct pod_sums s = {0};
    json_object *spec = kube_json_get(obj, "spec");
    if (spec)
      each_container(spec, pod_container, &s);
    for (size_t i = 0; i < ARRAY_SIZE(compute); i++) {
      char key[64];
      snprintf(key, sizeof key, "requests.%s", compute[i]);
      usage_add(u, key, &s.req[i]);
      usage_add(u, compute[i], &s.req[i]);
      snprintf(key, sizeof key, "limits.%s", compute[i]);
      usage_add(u, key, &s.lim[i]);
    }
    if (sums_out)
      *sums_out = s;
  }
  if (!*k->group && streq(k->resource, "persistentvolumeclaims")) {
    kube_quantity_t q;
    if (list_get(kube_json_get(obj, "spec.resources.requests"), "storage", &q))
      usage_add(u, "requests.storage", &q);
  }
  if (!*k->group && streq(k->resource, "services")) {
    const char *type = kube_json_get_string(obj, "spec.type");
    if (type && streq(type, "LoadBalancer"))
      usage_one(u, "services.loadbalancers");
  }
  return u;
}

/* Creates admitted and not stored yet: counted, or two racing creates
 * would both fit where one does. */
struct as_quota_pending {
  char *key;
  char *ns;
  const kube_kind_t *k;
  json_object *usage;
  int64_t at_ns;
  struct as_quota_pending *next;
};

#define PENDING_TTL_NS (60LL * 1000000000LL)

static void pending_free(struct as_quota_pending *p) {
  json_object_put(p->usage);
  free(p->key);
  free(p->ns);
  free(p);
}

void as_quota_pending_free(kube_apiserver_t *srv) {
  while (srv->quota_pending) {
    struct as_quota_pending *p = srv->quota_pending;
    srv->quota_pending = p->next;
    pending_free(p);
  }
}

void as_quota_settled(kube_apiserver_t *srv, const kube_kind_t *k,
                      json_object *obj) {
  if (!srv->quota_pending)
    return;
  const char *ns = kube_json_get_string(obj, "metadata.namespace");
  const char *name = kube_json_get_string(obj, "metadata.name");
  cleanup_free char *key = name ? as_store_key(k, ns, name) : NULL;
  int64_t now = kube_time_mono_ns();
  for (struct as_quota_pending **p = &srv->quota_pending; *p;) {
    struct as_quota_pending *e = *p;
    if ((key && streq(e->key, key)) || now - e->at_ns > PENDING_TTL_NS) {
      *p = e->next;
      pending_free(e);
    } else {
      p = &e->next;
    }
  }
}

/* The namespace's usage of every resource in `hard`. */
static json_object *namespace_usage(kube_apiserver_t *srv, const char *ns,
                                    const kube_kind_t *k) {
  json_object *total = json_object_new_object();
  size_t n = 0;
  json_object **objs = list_ns(srv, k, ns, &n);
  bool pods = !*k->group && streq(k->resource, "pods");
  for (size_t i = 0; i < n; i++) {
    if (pods && pod_terminal(objs[i]))
      continue;
    json_object *u = usage_of(k, objs[i], NULL);
    json_object_object_foreach(u, key, val) {
      kube_quantity_t q;
      if (quantity_of(val, &q))
        usage_add(total, key, &q);
    }
    json_object_put(u);
  }
  trees_free(objs, n);
  for (struct as_quota_pending *p = srv->quota_pending; p; p = p->next) {
    if (p->k != k || !streq(p->ns, ns))
      continue;
    kube_store_record_t *rec = kube_store_get(srv->store, p->key, NULL);
    kube_store_record_unref(rec);
    if (rec)
      continue; /* stored: counted above */
    json_object_object_foreach(p->usage, key, val) {
      kube_quantity_t q;
      if (quantity_of(val, &q))
        usage_add(total, key, &q);
    }
  }
  return total;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int as_quota_admit(const kube_apiserver_admission_attrs_t *a, void *arg,
                   kube_error_t *err) {
  kube_apiserver_t *srv = arg;
  if (!a->namespace_)
    return 0;
  const kube_kind_t *k =
      kube_kind_by_resource(a->group, a->version, a->resource);
  if (!k)
    return 0;
  size_t n = 0;
  json_object **quotas =
      list_ns(srv, core_kind("resourcequotas"), a->namespace_, &n);
  if (!n) {
    free(quotas);
    return 0;
  }
  json_object *obj = kube_object_json(a->object);
  struct pod_sums sums = {0};
  json_object *req = usage_of(k, obj, &sums);
  json_object *used = NULL;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    json_object *hard = kube_json_get(quotas[i], "spec.hard");
    const char *qname = kube_json_get_string(quotas[i], "metadata.name");
    if (!hard || !json_object_is_type(hard, json_type_object) ||
        kube_json_get(quotas[i], "spec.scopes") ||
        kube_json_get(quotas[i], "spec.scopeSelector"))
      continue;
    /* A pod must state what the quota limits. */
    const char *missing[8];
    size_t n_missing = 0;
    for (size_t c = 0; c < ARRAY_SIZE(compute); c++) {
      char rk[64], lk[64];
      snprintf(rk, sizeof rk, "requests.%s", compute[c]);
      snprintf(lk, sizeof lk, "limits.%s", compute[c]);
      if (!*k->group && streq(k->resource, "pods")) {
        if (sums.missing_req[c] &&
            (json_object_object_get_ex(hard, rk, NULL) ||
             json_object_object_get_ex(hard, compute[c], NULL)))
          missing[n_missing++] = json_object_object_get_ex(hard, rk, NULL)
                                     ? strdup(rk)
                                     : strdup(compute[c]);
        if (sums.missing_lim[c] && json_object_object_get_ex(hard, lk, NULL))
          missing[n_missing++] = strdup(lk);
      }
    }
    if (n_missing) {
      qsort(missing, n_missing, sizeof *missing, cmp_str);
      kube_strbuf_t m = KUBE_STRBUF_INIT;
      for (size_t j = 0; j < n_missing; j++) {
        kube_strbuf_printf(&m, "%s%s", j ? "," : "",
                           missing[j] ? missing[j] : "");
        free((char *)missing[j]);
      }
      rc = kube_error_set(err, KUBE_REASON_FORBIDDEN, 0,
                          "%s \"%s\" is forbidden: failed quota: %s: must "
                          "specify %s",
                          a->resource, a->name ? a->name : "",
                          qname ? qname : "", m.data);
      kube_strbuf_clear(&m);
      break;
    }
    bool relevant = false;
    json_object_object_foreach(hard, hk, hv) {
      (void)hv;
      kube_quantity_t r = {0};
      relevant |= list_get(req, hk, &r) && r.nano != 0;
    }
    if (!relevant)
      continue;
    if (!used)
      used = namespace_usage(srv, a->namespace_, k);
    const char *over[32];
    size_t n_over = 0;
    json_object_object_foreach(hard, key, limit) {
      kube_quantity_t h, r = {0}, u = {0}, sum;
      if (!list_get(req, key, &r) || r.nano == 0 || !quantity_of(limit, &h))
        continue;
      list_get(used, key, &u);
      if (kube_quantity_add(&u, &r, &sum, NULL) < 0 ||
          kube_quantity_cmp(&sum, &h) > 0) {
        if (n_over < ARRAY_SIZE(over))
          over[n_over++] = key;
      }
    }
    if (!n_over)
      continue;
    qsort(over, n_over, sizeof *over, cmp_str);
    kube_strbuf_t rq = KUBE_STRBUF_INIT, us = KUBE_STRBUF_INIT,
                  li = KUBE_STRBUF_INIT;
    for (size_t j = 0; j < n_over; j++) {
      kube_quantity_t q = {0};
      char buf[64];
      list_get(req, over[j], &q);
      kube_strbuf_printf(&rq, "%s%s=%s", j ? "," : "", over[j],
                         fmt_q(&q, buf, sizeof buf));
      q = (kube_quantity_t){0};
      list_get(used, over[j], &q);
      kube_strbuf_printf(&us, "%s%s=%s", j ? "," : "", over[j],
                         fmt_q(&q, buf, sizeof buf));
      q = (kube_quantity_t){0};
      list_get(hard, over[j], &q);
      kube_strbuf_printf(&li, "%s%s=%s", j ? "," : "", over[j],
                         fmt_q(&q, buf, sizeof buf));
    }
    rc = kube_error_set(err, KUBE_REASON_FORBIDDEN, 0,
                        "%s \"%s\" is forbidden: exceeded quota: %s, "
                        "requested: %s, used: %s, limited: %s",
                        a->resource, a->name ? a->name : "", qname ? qname : "",
                        rq.data, us.data, li.data);
    kube_strbuf_clear(&rq);
    kube_strbuf_clear(&us);
    kube_strbuf_clear(&li);
  }
  if (rc == 0 && !a->dry_run && used) {
    /* Admitted: counted until the store has it. */
    struct as_quota_pending *p = calloc(1, sizeof *p);
    const char *name = a->name;
    if (p && name && (p->key = as_store_key(k, a->namespace_, name)) &&
        (p->ns = strdup(a->namespace_))) {
      p->k = k;
      p->usage = json_object_get(req);
      p->at_ns = kube_time_mono_ns();
      p->next = srv->quota_pending;
      srv->quota_pending = p;
    } else if (p) {
      free(p->key);
      free(p);
    }
  }
  if (used)
    json_object_put(used);
  json_object_put(req);
  trees_free(quotas, n);
  return rc;
}
