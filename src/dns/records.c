/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Services and their endpoints -> records, as CoreDNS's kubernetes
 * plugin lays them out.  Every change to a Service, or to an
 * EndpointSlice or Endpoints of it, rebuilds that Service's records
 * (removing the names it had, adding the new ones): a Service's records
 * are small, and rebuilding keeps the rules in one place.
 *
 * A headless Service takes its endpoints from its EndpointSlices; one
 * without slices (a Service without selector whose Endpoints were
 * written by hand, as nothing here mirrors them into slices) from its
 * Endpoints.  Only ready endpoints are published.
 */
#include <arpa/inet.h>
#include <ctype.h>

#include <json-c/json.h>

#include "api/api-private.h"
#include "dns/internal.h"

#define LABEL_SERVICE "kubernetes.io/service-name"

struct port {
  char *name;    /* may be NULL */
  char proto[8]; /* lowercase: tcp, udp, sctp */
  uint16_t port;
};

struct ep {
  int family;
  uint8_t addr[16];
  char *hostname; /* may be NULL */
};

/* One port set with its endpoints: a slice, or a subset of Endpoints. */
struct group {
  struct port *ports;
  size_t np;
  struct ep *eps;
  size_t ne;
};

/* An EndpointSlice or Endpoints object as the index keeps it. */
struct source {
  char *svc_key; /* "ns/name" of its Service */
  bool slice;
  struct group *groups;
  size_t ng;
};

struct svc {
  char *ns, *name;
  bool present; /* the Service object is known */
  enum { SVC_CLUSTER, SVC_HEADLESS, SVC_EXTERNAL } type;
  struct ep ips[2]; /* ClusterIPs (no hostname) */
  size_t nips;
  char *external;
  struct port *ports;
  size_t np;
  struct source **srcs;
  size_t nsrcs;
  struct strmap names; /* where its records are (a set) */
};

struct dns_index {
  struct dns_table *t;
  char *domain;
  uint32_t ttl;
  struct strmap svcs;    /* "ns/name" -> struct svc */
  struct strmap sources; /* "Kind/ns/name" -> struct source */
};

/* ---- records ---- */

static ldns_rr *rr_new(const char *owner, uint32_t ttl, ldns_rr_type type) {
  ldns_rdf *o = ldns_dname_new_frm_str(owner);
  ldns_rr *rr = o ? ldns_rr_new() : NULL;
  if (!rr) {
    ldns_rdf_deep_free(o);
    return NULL;
  }
  ldns_rr_set_owner(rr, o);
  ldns_rr_set_ttl(rr, ttl);
  ldns_rr_set_type(rr, type);
  ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
  return rr;
}

static ldns_rr *push(ldns_rr *rr, ldns_rdf *f) {
  if (!rr || !f || !ldns_rr_push_rdf(rr, f)) {
    ldns_rdf_deep_free(f);
    ldns_rr_free(rr);
    return NULL;
  }
  return rr;
}

ldns_rr *dns_rr_addr(const char *owner, uint32_t ttl, int family,
                     const void *addr) {
  bool v4 = family == AF_INET;
  ldns_rr *rr = rr_new(owner, ttl, v4 ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA);
  if (!rr)
    return NULL;
  return push(rr,
              ldns_rdf_new_frm_data(v4 ? LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA,
                                    v4 ? 4 : 16, addr));
}

ldns_rr *dns_rr_name(const char *owner, uint32_t ttl, ldns_rr_type type,
                     const char *target) {
  ldns_rr *rr = rr_new(owner, ttl, type);
  return rr ? push(rr, ldns_dname_new_frm_str(target)) : NULL;
}

ldns_rr *dns_rr_srv(const char *owner, uint32_t ttl, uint16_t prio,
                    uint16_t weight, uint16_t port, const char *target) {
  ldns_rr *rr = rr_new(owner, ttl, LDNS_RR_TYPE_SRV);
  rr = rr ? push(rr, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, prio)) : NULL;
  rr = rr ? push(rr, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, weight)) : NULL;
  rr = rr ? push(rr, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, port)) : NULL;
  return rr ? push(rr, ldns_dname_new_frm_str(target)) : NULL;
}

void dns_reverse_name(int family, const void *addr, char *out, size_t len) {
  const uint8_t *a = addr;
  if (family == AF_INET) {
    snprintf(out, len, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
    return;
  }
  size_t k = 0;
  for (int i = 15; i >= 0 && k + 4 < len; i--)
    k += (size_t)snprintf(out + k, len - k, "%x.%x.", a[i] & 15, a[i] >> 4);
  snprintf(out + k, len - k, "ip6.arpa");
}

/* "10-0-0-1" for 10.0.0.1; "fd00--1" for fd00::1. */
static void dashed(const struct ep *e, char *out, size_t len) {
  inet_ntop(e->family, e->addr, out, (socklen_t)len);
  for (char *p = out; *p; p++)
    if (*p == '.' || *p == ':')
      *p = '-';
}

/* ---- parsing (what the API server validated; anything odd is skipped) ---- */

static json_object *jget(json_object *o, const char *key) {
  json_object *v = NULL;
  if (o && json_object_is_type(o, json_type_object))
    json_object_object_get_ex(o, key, &v);
  return v;
}

static const char *jstr(json_object *o, const char *key) {
  json_object *v = jget(o, key);
  return json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                  : NULL;
}

static size_t jlen(json_object *a) {
  return json_object_is_type(a, json_type_array) ? json_object_array_length(a)
                                                 : 0;
}

static bool parse_ip(const char *s, struct ep *out) {
  if (!s)
    return false;
  if (inet_pton(AF_INET, s, out->addr) == 1)
    out->family = AF_INET;
  else if (inet_pton(AF_INET6, s, out->addr) == 1)
    out->family = AF_INET6;
  else
    return false;
  return true;
}

static void ports_free(struct port *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(p[i].name);
  free(p);
}

/* Service and EndpointSlice ports: {name, protocol, port}. */
static int parse_ports(json_object *arr, struct port **out, size_t *n) {
  size_t len = jlen(arr);
  *out = calloc(len ? len : 1, sizeof **out);
  *n = 0;
  if (!*out)
    return -1;
  for (size_t i = 0; i < len; i++) {
    json_object *p = json_object_array_get_idx(arr, i);
    int64_t port = json_object_get_int64(jget(p, "port"));
    const char *name = jstr(p, "name"), *proto = jstr(p, "protocol");
    if (port <= 0 || port > 65535)
      continue;
    struct port *d = &(*out)[(*n)++];
    d->port = (uint16_t)port;
    snprintf(d->proto, sizeof d->proto, "%s", proto ? proto : "TCP");
    for (char *c = d->proto; *c; c++)
      *c = (char)tolower((unsigned char)*c);
    if (name && *name && !(d->name = strdup(name)))
      return -1;
  }
  return 0;
}

static void group_clear(struct group *g) {
  ports_free(g->ports, g->np);
  for (size_t i = 0; i < g->ne; i++)
    free(g->eps[i].hostname);
  free(g->eps);
}

static int add_ep(struct group *g, size_t cap, const char *ip,
                  const char *hostname) {
  struct ep e = {0};
  if (g->ne == cap || !parse_ip(ip, &e))
    return 0;
  if (hostname && *hostname && !(e.hostname = strdup(hostname)))
    return -1;
  g->eps[g->ne++] = e;
  return 0;
}

/* An EndpointSlice: ready endpoints (conditions.ready absent means ready),
 * each address of them. */
static int parse_slice(json_object *o, struct group *g) {
  if (parse_ports(jget(o, "ports"), &g->ports, &g->np) < 0)
    return -1;
  json_object *eps = jget(o, "endpoints");
  size_t cap = 0;
  for (size_t i = 0; i < jlen(eps); i++)
    cap += jlen(jget(json_object_array_get_idx(eps, i), "addresses"));
  if (!(g->eps = calloc(cap ? cap : 1, sizeof *g->eps)))
    return -1;
  for (size_t i = 0; i < jlen(eps); i++) {
    json_object *e = json_object_array_get_idx(eps, i);
    json_object *ready = jget(jget(e, "conditions"), "ready");
    if (json_object_is_type(ready, json_type_boolean) &&
        !json_object_get_boolean(ready))
      continue;
    json_object *addrs = jget(e, "addresses");
    for (size_t k = 0; k < jlen(addrs); k++)
      if (add_ep(g, cap,
                 json_object_get_string(json_object_array_get_idx(addrs, k)),
                 jstr(e, "hostname")) < 0)
        return -1;
  }
  return 0;
}

/* An Endpoints subset: its (ready) addresses and ports. */
static int parse_subset(json_object *s, struct group *g) {
  if (parse_ports(jget(s, "ports"), &g->ports, &g->np) < 0)
    return -1;
  json_object *addrs = jget(s, "addresses");
  size_t cap = jlen(addrs);
  if (!(g->eps = calloc(cap ? cap : 1, sizeof *g->eps)))
    return -1;
  for (size_t i = 0; i < cap; i++) {
    json_object *a = json_object_array_get_idx(addrs, i);
    if (add_ep(g, cap, jstr(a, "ip"), jstr(a, "hostname")) < 0)
      return -1;
  }
  return 0;
}

static void source_free(struct source *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->ng; i++)
    group_clear(&s->groups[i]);
  free(s->groups);
  free(s->svc_key);
  free(s);
}

/* NULL on out-of-memory.  `svc`: the name of its Service. */
static struct source *parse_source(bool slice, const char *ns, const char *svc,
                                   json_object *o) {
  struct source *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  s->slice = slice;
  json_object *subsets = jget(o, "subsets");
  size_t ng = slice ? 1 : jlen(subsets);
  if (asprintf(&s->svc_key, "%s/%s", ns, svc) < 0 ||
      !(s->groups = calloc(ng ? ng : 1, sizeof *s->groups))) {
    source_free(s);
    return NULL;
  }
  for (size_t i = 0; i < ng; i++) {
    s->ng++;
    if ((slice ? parse_slice(o, &s->groups[i])
               : parse_subset(json_object_array_get_idx(subsets, i),
                              &s->groups[i])) < 0) {
      source_free(s);
      return NULL;
    }
  }
  return s;
}

static void svc_clear_spec(struct svc *s) {
  free(s->external);
  s->external = NULL;
  ports_free(s->ports, s->np);
  s->ports = NULL;
  s->np = 0;
  s->nips = 0;
}

static int parse_service(json_object *o, struct svc *s) {
  svc_clear_spec(s);
  json_object *spec = jget(o, "spec");
  const char *type = jstr(spec, "type");
  const char *cip = jstr(spec, "clusterIP");
  if (type && streq(type, "ExternalName")) {
    const char *ext = jstr(spec, "externalName");
    s->type = SVC_EXTERNAL;
    if (ext && *ext) {
      if (!(s->external = strdup(ext)))
        return -1;
      for (char *c = s->external; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    }
  } else if (cip && streq(cip, "None")) {
    s->type = SVC_HEADLESS;
  } else {
    s->type = SVC_CLUSTER;
    json_object *ips = jget(spec, "clusterIPs");
    for (size_t i = 0; i < jlen(ips) && s->nips < 2; i++)
      if (parse_ip(json_object_get_string(json_object_array_get_idx(ips, i)),
                   &s->ips[s->nips]))
        s->nips++;
    if (!s->nips && parse_ip(cip, &s->ips[0]))
      s->nips = 1;
  }
  return parse_ports(jget(spec, "ports"), &s->ports, &s->np);
}

/* ---- building a Service's records ---- */

/* Note a name the Service has records at (to remove them later). */
static int remember(struct svc *s, const char *name) {
  return strmap_get(&s->names, name) || strmap_put(&s->names, name, s, NULL)
             ? 0
             : -1;
}

static int add(struct dns_index *x, struct svc *s, const char *name,
               ldns_rr *rr) {
  if (!rr)
    return 0; /* a name ldns refuses (a label over 63 bytes): skipped */
  if (remember(s, name) < 0) {
    ldns_rr_free(rr);
    return -1;
  }
  return dns_table_add(x->t, name, rr, s);
}

static int add_marker(struct dns_index *x, struct svc *s, const char *name) {
  return remember(s, name) < 0 ? -1 : dns_table_add(x->t, name, NULL, s);
}

static void remove_records(struct dns_index *x, struct svc *s) {
  STRMAP_FOREACH(&s->names, i, e)
  dns_table_remove(x->t, e->key, s);
  strmap_clear(&s->names, NULL);
}

static int add_srv(struct dns_index *x, struct svc *s, const char *base,
                   const struct port *p, uint16_t weight, const char *target) {
  char name[600];
  if (add(x, s, base, dns_rr_srv(base, x->ttl, 0, weight, p->port, target)) < 0)
    return -1;
  if (!p->name)
    return 0;
  snprintf(name, sizeof name, "_%s._%s.%s", p->name, p->proto, base);
  for (char *c = name; *c; c++)
    *c = (char)tolower((unsigned char)*c);
  return add(x, s, name, dns_rr_srv(name, x->ttl, 0, weight, p->port, target));
}

static int build_headless(struct dns_index *x, struct svc *s,
                          const char *base) {
  bool any_slice = false;
  size_t total = 0;
  for (size_t i = 0; i < s->nsrcs; i++)
    any_slice |= s->srcs[i]->slice;
  for (size_t i = 0; i < s->nsrcs; i++)
    for (size_t g = 0; g < s->srcs[i]->ng; g++)
      if (s->srcs[i]->slice == any_slice)
        total += s->srcs[i]->groups[g].ne;
  struct strmap done = {0}; /* reverse names of the addresses published */
  uint16_t weight = (uint16_t)(total ? (100 + total - 1) / total : 100);
  int rc = 0;
  for (size_t i = 0; i < s->nsrcs && rc == 0; i++) {
    struct source *src = s->srcs[i];
    if (src->slice != any_slice)
      continue;
    for (size_t g = 0; g < src->ng && rc == 0; g++) {
      struct group *gr = &src->groups[g];
      for (size_t k = 0; k < gr->ne && rc == 0; k++) {
        struct ep *e = &gr->eps[k];
        char label[64], epname[700], rev[80];
        if (e->hostname)
          snprintf(label, sizeof label, "%s", e->hostname);
        else
          dashed(e, label, sizeof label);
        snprintf(epname, sizeof epname, "%s.%s", label, base);
        for (char *c = epname; *c; c++)
          *c = (char)tolower((unsigned char)*c);
        dns_reverse_name(e->family, e->addr, rev, sizeof rev);
        if (!strmap_get(&done, rev)) {
          if (!strmap_put(&done, rev, s, NULL)) {
            rc = -1;
            break;
          }
          rc = add(x, s, base, dns_rr_addr(base, x->ttl, e->family, e->addr));
          if (!rc)
            rc = add(x, s, epname,
                     dns_rr_addr(epname, x->ttl, e->family, e->addr));
          if (!rc)
            rc = add(x, s, rev,
                     dns_rr_name(rev, x->ttl, LDNS_RR_TYPE_PTR, epname));
        }
        for (size_t p = 0; p < gr->np && rc == 0; p++)
          rc = add_srv(x, s, base, &gr->ports[p], weight, epname);
      }
    }
  }
  strmap_clear(&done, NULL);
  return rc;
}

static int build(struct dns_index *x, struct svc *s) {
  remove_records(x, s);
  if (!s->present)
    return 0;
  char base[600], rev[80];
  snprintf(base, sizeof base, "%s.%s.svc.%s", s->name, s->ns, x->domain);
  /* The Service's name exists even without records (a headless one with
   * no ready endpoint): NODATA, as CoreDNS answers, not NXDOMAIN. */
  if (!strchr(s->name, '.') && !strchr(s->ns, '.') &&
      add_marker(x, s, base) < 0)
    return -1;
  if (s->type == SVC_EXTERNAL)
    return s->external
               ? add(x, s, base,
                     dns_rr_name(base, x->ttl, LDNS_RR_TYPE_CNAME, s->external))
               : 0;
  if (s->type == SVC_HEADLESS)
    return build_headless(x, s, base);
  for (size_t i = 0; i < s->nips; i++) {
    dns_reverse_name(s->ips[i].family, s->ips[i].addr, rev, sizeof rev);
    if (add(x, s, base,
            dns_rr_addr(base, x->ttl, s->ips[i].family, s->ips[i].addr)) < 0 ||
        add(x, s, rev, dns_rr_name(rev, x->ttl, LDNS_RR_TYPE_PTR, base)) < 0)
      return -1;
  }
  for (size_t i = 0; s->nips && i < s->np; i++)
    if (add_srv(x, s, base, &s->ports[i], 100, base) < 0)
      return -1;
  return 0;
}

/* ---- the index ---- */

struct dns_index *dns_index_new(struct dns_table *t, const char *domain,
                                uint32_t ttl) {
  struct dns_index *x = calloc(1, sizeof *x);
  if (!x || !(x->domain = strdup(domain))) {
    free(x);
    return NULL;
  }
  x->t = t;
  x->ttl = ttl;
  return x;
}

static struct svc *svc_get(struct dns_index *x, const char *ns,
                           const char *name, bool create) {
  char key[512];
  snprintf(key, sizeof key, "%s/%s", ns, name);
  struct svc *s = strmap_get(&x->svcs, key);
  if (s || !create)
    return s;
  if (!(s = calloc(1, sizeof *s)) || !(s->ns = strdup(ns)) ||
      !(s->name = strdup(name)) || !strmap_put(&x->svcs, key, s, NULL)) {
    if (s) {
      free(s->ns);
      free(s->name);
    }
    free(s);
    return NULL;
  }
  return s;
}

static void svc_free(struct svc *s) {
  svc_clear_spec(s);
  strmap_clear(&s->names, NULL);
  free(s->srcs);
  free(s->ns);
  free(s->name);
  free(s);
}

/* Drop a Service entry nothing refers to any more. */
static void svc_gc(struct dns_index *x, struct svc *s) {
  if (s->present || s->nsrcs)
    return;
  char key[512];
  snprintf(key, sizeof key, "%s/%s", s->ns, s->name);
  strmap_remove(&x->svcs, key);
  svc_free(s);
}

static void detach(struct dns_index *x, struct source *src) {
  const char *slash = strchr(src->svc_key, '/');
  char ns[256];
  snprintf(ns, sizeof ns, "%.*s", (int)(slash - src->svc_key), src->svc_key);
  struct svc *s = svc_get(x, ns, slash + 1, false);
  if (!s)
    return;
  for (size_t i = 0; i < s->nsrcs; i++)
    if (s->srcs[i] == src) {
      s->srcs[i] = s->srcs[--s->nsrcs];
      break;
    }
  build(x, s);
  svc_gc(x, s);
}

static int set_source(struct dns_index *x, bool slice, const char *ns,
                      const char *name, json_object *o) {
  char key[600];
  snprintf(key, sizeof key, "%s/%s/%s", slice ? "slice" : "ep", ns, name);
  struct source *old = strmap_remove(&x->sources, key);
  if (old) {
    detach(x, old);
    source_free(old);
  }
  /* A slice names its Service in a label (none: nothing to publish); an
   * Endpoints object has the Service's name. */
  const char *svcname =
      !o      ? NULL
      : slice ? jstr(jget(jget(o, "metadata"), "labels"), LABEL_SERVICE)
              : name;
  if (!svcname)
    return 0;
  struct source *src = parse_source(slice, ns, svcname, o);
  struct svc *s = src ? svc_get(x, ns, svcname, true) : NULL;
  struct source **v = s ? realloc(s->srcs, (s->nsrcs + 1) * sizeof *v) : NULL;
  if (v)
    s->srcs = v;
  if (!v || !strmap_put(&x->sources, key, src, NULL)) {
    source_free(src);
    if (s)
      svc_gc(x, s);
    return -1;
  }
  s->srcs[s->nsrcs++] = src;
  return build(x, s);
}

int dns_index_set(struct dns_index *x, const char *kind, const char *ns,
                  const char *name, const kube_object_t *obj) {
  json_object *o = obj ? kube_object_json(obj) : NULL;
  if (streq(kind, "EndpointSlice") || streq(kind, "Endpoints"))
    return set_source(x, streq(kind, "EndpointSlice"), ns, name, o);
  if (!streq(kind, "Service"))
    return 0;
  struct svc *s = svc_get(x, ns, name, o != NULL);
  if (!s)
    return o ? -1 : 0;
  s->present = o != NULL;
  int rc = o ? parse_service(o, s) : 0;
  if (rc == 0)
    rc = build(x, s);
  if (!o)
    svc_gc(x, s);
  return rc;
}

static void free_source(void *value) {
  source_free(value);
}

void dns_index_free(struct dns_index *x) {
  if (!x)
    return;
  STRMAP_FOREACH(&x->svcs, i, e) {
    remove_records(x, e->value);
    svc_free(e->value);
  }
  strmap_clear(&x->svcs, NULL);
  strmap_clear(&x->sources, free_source);
  free(x->domain);
  free(x);
}
