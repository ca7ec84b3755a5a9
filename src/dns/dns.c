/* SPDX-License-Identifier: Apache-2.0 */
/* kube_dns_t: the records (table + index), the answerer and the sockets,
 * fed by the shared informers of Services, EndpointSlices and
 * Endpoints. */
#include <arpa/inet.h>
#include <ctype.h>
#include <time.h>

#include <libkube/kit.h>

#include "dns/internal.h"

#define MAX_UPSTREAMS 8

struct kube_dns {
  kube_loop_t *loop;
  char *domain;
  uint32_t ttl;
  struct dns_table table;
  struct dns_index *index;
  kube_dns_stats_t stats;
  struct dns_answerer answerer;
  struct sockaddr_storage up[MAX_UPSTREAMS];
  size_t nup;
  struct dns_net *net;
  struct {
    kube_informer_t *inf;
    kube_informer_registration_t *reg;
  } watch[3];
};

static char *const stops_template[] = {NULL, "in-addr.arpa", "ip6.arpa", NULL};

/* "none", "ADDR[:PORT],..." or the nameservers of resolv.conf. */
static int parse_upstreams(kube_dns_t *d, const kube_dns_options_t *o,
                           kube_error_t *err) {
  if (o->upstream && streq(o->upstream, "none"))
    return 0;
  if (o->upstream) {
    cleanup_free char *copy = strdup(o->upstream);
    if (!copy)
      return kube_make_oom(err);
    char *save = NULL;
    for (char *t = strtok_r(copy, ", ", &save); t;
         t = strtok_r(NULL, ", ", &save)) {
      if (d->nup == MAX_UPSTREAMS)
        break;
      if (dns_parse_addr(t, 53, &d->up[d->nup]) < 0)
        return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                              "bad DNS upstream \"%s\" (want ADDR[:PORT], "
                              "[ADDR]:PORT or none)",
                              t);
      d->nup++;
    }
    if (!d->nup)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "no DNS upstream in \"%s\"", o->upstream);
    return 0;
  }
  const char *path = o->resolv_conf ? o->resolv_conf : "/etc/resolv.conf";
  cleanup_fclose FILE *f = fopen(path, "re");
  char line[512];
  while (f && fgets(line, sizeof line, f) && d->nup < MAX_UPSTREAMS) {
    char addr[256];
    if (sscanf(line, " nameserver %255s", addr) == 1 &&
        dns_parse_addr(addr, 53, &d->up[d->nup]) == 0)
      d->nup++;
  }
  if (!d->nup)
    log_warn("dns: no nameserver in %s: names outside the cluster get "
             "SERVFAIL",
             path);
  return 0;
}

static int add_apex(kube_dns_t *d, const char *dns_ip, kube_error_t *err) {
  char ns[300], mbox[300], ver[300];
  snprintf(ns, sizeof ns, "ns.dns.%s", d->domain);
  snprintf(mbox, sizeof mbox, "hostmaster.%s", d->domain);
  snprintf(ver, sizeof ver, "dns-version.%s", d->domain);
  /* CoreDNS's SOA: refresh 7200, retry 1800, expire 86400, minimum = TTL. */
  ldns_rr *soa = ldns_rr_new();
  if (soa) {
    ldns_rr_set_owner(soa, ldns_dname_new_frm_str(d->domain));
    ldns_rr_set_ttl(soa, d->ttl);
    ldns_rr_set_type(soa, LDNS_RR_TYPE_SOA);
    ldns_rr_set_class(soa, LDNS_RR_CLASS_IN);
    ldns_rr_push_rdf(soa, ldns_dname_new_frm_str(ns));
    ldns_rr_push_rdf(soa, ldns_dname_new_frm_str(mbox));
    uint32_t v[] = {(uint32_t)time(NULL), 7200, 1800, 86400, d->ttl};
    for (size_t i = 0; i < ARRAY_SIZE(v); i++)
      ldns_rr_push_rdf(soa, ldns_native2rdf_int32(LDNS_RDF_TYPE_INT32, v[i]));
    if (ldns_rr_rd_count(soa) != 7 || !ldns_rr_owner(soa)) {
      ldns_rr_free(soa);
      soa = NULL;
    }
  }
  ldns_rr *txt = ldns_rr_new();
  if (txt) {
    ldns_rr_set_owner(txt, ldns_dname_new_frm_str(ver));
    ldns_rr_set_ttl(txt, d->ttl);
    ldns_rr_set_type(txt, LDNS_RR_TYPE_TXT);
    ldns_rr_set_class(txt, LDNS_RR_CLASS_IN);
    ldns_rdf *s = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_STR, "1.1.0");
    if (!s || !ldns_rr_owner(txt) || !ldns_rr_push_rdf(txt, s)) {
      ldns_rdf_deep_free(s);
      ldns_rr_free(txt);
      txt = NULL;
    }
  }
  if (!soa || !txt || dns_table_add(&d->table, d->domain, soa, d) < 0 ||
      dns_table_add(&d->table, d->domain,
                    dns_rr_name(d->domain, d->ttl, LDNS_RR_TYPE_NS, ns),
                    d) < 0 ||
      dns_table_add(&d->table, ver, txt, d) < 0) {
    if (!txt)
      ldns_rr_free(soa);
    return kube_make_oom(err);
  }
  uint8_t a[16];
  int fam = dns_ip && inet_pton(AF_INET, dns_ip, a) == 1    ? AF_INET
            : dns_ip && inet_pton(AF_INET6, dns_ip, a) == 1 ? AF_INET6
                                                            : 0;
  if (dns_ip && *dns_ip && !fam)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "bad cluster DNS address \"%s\"", dns_ip);
  if (fam &&
      dns_table_add(&d->table, ns, dns_rr_addr(ns, d->ttl, fam, a), d) < 0)
    return kube_make_oom(err);
  return 0;
}

static kube_dns_t *dns_new(kube_loop_t *loop, const kube_dns_options_t *opts,
                           kube_error_t *err) {
  kube_dns_options_t o = {0};
  core_opts_copy(&o, opts);
  const char *domain = o.domain && *o.domain ? o.domain : "cluster.local";
  kube_dns_t *d = calloc(1, sizeof *d);
  if (!d) {
    kube_make_oom(err);
    return NULL;
  }
  d->loop = loop;
  d->ttl = o.ttl ? o.ttl : 5;
  if (!(d->domain = strdup(domain)) ||
      !(d->table.stops = malloc(sizeof stops_template))) {
    kube_make_oom(err);
    goto fail;
  }
  size_t dl = strlen(d->domain);
  while (dl && d->domain[dl - 1] == '.')
    d->domain[--dl] = '\0';
  for (char *c = d->domain; *c; c++)
    *c = (char)tolower((unsigned char)*c);
  ldns_rdf *check = ldns_dname_new_frm_str(d->domain);
  if (!dl || !check || strchr(d->domain, '/')) {
    ldns_rdf_deep_free(check);
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "bad cluster domain \"%s\"",
                   domain);
    goto fail;
  }
  ldns_rdf_deep_free(check);
  memcpy(d->table.stops, stops_template, sizeof stops_template);
  d->table.stops[0] = d->domain;
  if (parse_upstreams(d, &o, err) < 0 || add_apex(d, o.dns_ip, err) < 0)
    goto fail;
  if (!(d->index = dns_index_new(&d->table, d->domain, d->ttl))) {
    kube_make_oom(err);
    goto fail;
  }
  d->answerer = (struct dns_answerer){.domain = d->domain,
                                      .table = &d->table,
                                      .forward = d->nup > 0,
                                      .ttl = d->ttl,
                                      .stats = &d->stats,
                                      .cache = dns_cache_new()};
  if (!d->answerer.cache) {
    kube_make_oom(err);
    goto fail;
  }
  if (loop && !(d->net = dns_net_new(loop, &d->answerer, d->up, d->nup, err)))
    goto fail;
  return d;
fail:
  kube_dns_free(d);
  return NULL;
}

KUBE_EXPORT kube_dns_t *kube_dns_new(kube_loop_t *loop,
                                     const kube_dns_options_t *opts,
                                     kube_error_t *err) {
  if (!loop) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "no loop");
    return NULL;
  }
  return dns_new(loop, opts, err);
}

KUBE_EXPORT int kube_dns_options_check(const kube_dns_options_t *opts,
                                       kube_error_t *err) {
  kube_dns_t *d = dns_new(NULL, opts, err);
  kube_dns_free(d);
  return d ? 0 : -1;
}

KUBE_EXPORT int kube_dns_listen(kube_dns_t *d, const char *addr_port,
                                kube_error_t *err) {
  struct sockaddr_storage a;
  if (!addr_port || dns_parse_addr(addr_port, 53, &a) < 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "bad DNS listen address \"%s\" (want ADDR:PORT)",
                          addr_port ? addr_port : "");
  int port = dns_net_listen(d->net, &a, err);
  if (port < 0)
    kube_error_wrap(err, "listen on %s", addr_port);
  return port;
}

/* ---- objects ---- */

KUBE_EXPORT int kube_dns_update(kube_dns_t *d, const kube_object_t *obj,
                                kube_error_t *err) {
  const char *kind = kube_object_kind(obj), *ns = kube_object_namespace(obj),
             *name = kube_object_name(obj);
  if (!kind || !ns || !name || !*ns || !*name)
    return 0;
  if (dns_index_set(d->index, kind, ns, name, obj) < 0)
    return kube_make_oom(err);
  return 0;
}

KUBE_EXPORT void kube_dns_delete(kube_dns_t *d, const char *kind,
                                 const char *ns, const char *name) {
  dns_index_set(d->index, kind, ns, name, NULL);
}

static void log_oom(int rc, const char *key) {
  if (rc < 0)
    log_error("dns: out of memory publishing %s", key);
}

/* The informers' objects may lack kind (a list's items): the watch slot
 * says which. */
static const char *const kinds[] = {"Service", "EndpointSlice", "Endpoints"};

static void on_obj(kube_dns_t *d, const char *kind, const char *key,
                   const kube_object_t *obj) {
  log_oom(dns_index_set(d->index, kind, kube_object_namespace(obj),
                        kube_object_name(obj), obj),
          key);
}

#define HANDLERS(i)                                                            \
  static void on_add_##i(const char *key, const kube_object_t *obj,            \
                         void *arg) {                                          \
    on_obj(arg, kinds[i], key, obj);                                           \
  }                                                                            \
  static void on_update_##i(const char *key, const kube_object_t *old,         \
                            const kube_object_t *obj, void *arg) {             \
    on_obj(arg, kinds[i], key, obj);                                           \
  }                                                                            \
  static void on_delete_##i(const char *key, const kube_object_t *obj,         \
                            void *arg) {                                       \
    dns_index_set(((kube_dns_t *)arg)->index, kinds[i],                        \
                  kube_object_namespace(obj), kube_object_name(obj), NULL);    \
  }
HANDLERS(0)
HANDLERS(1)
HANDLERS(2)

KUBE_EXPORT int kube_dns_watch(kube_dns_t *d, struct kube_informer_factory *f,
                               kube_error_t *err) {
  static const char *const paths[] = {
      "/api/v1/services", "/apis/discovery.k8s.io/v1/endpointslices",
      "/api/v1/endpoints"};
  const kube_informer_handlers_t h[] = {
      {sizeof h[0], on_add_0, on_update_0, on_delete_0, NULL},
      {sizeof h[0], on_add_1, on_update_1, on_delete_1, NULL},
      {sizeof h[0], on_add_2, on_update_2, on_delete_2, NULL},
  };
  for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
    kube_informer_options_t io = {.struct_size = sizeof io, .path = paths[i]};
    kube_informer_t *inf = kube_informer_factory_informer(f, &io, err);
    if (!inf)
      goto fail;
    d->watch[i].inf = inf;
    if (!(d->watch[i].reg = kube_informer_add_handlers(inf, &h[i], d, err)))
      goto fail;
  }
  if (kube_informer_factory_start(f, err) < 0)
    goto fail;
  return 0;
fail:
  kube_dns_unwatch(d);
  return kube_error_wrap(err, "dns");
}

KUBE_EXPORT void kube_dns_unwatch(kube_dns_t *d) {
  for (size_t i = 0; d && i < ARRAY_SIZE(d->watch); i++) {
    if (d->watch[i].reg)
      kube_informer_remove_handlers(d->watch[i].inf, d->watch[i].reg);
    d->watch[i].reg = NULL;
    d->watch[i].inf = NULL;
  }
}

/* ---- answering ---- */

KUBE_EXPORT int kube_dns_resolve(kube_dns_t *d, const uint8_t *query,
                                 size_t len, size_t max_size, uint8_t **reply,
                                 size_t *reply_len, kube_error_t *err) {
  *reply = NULL;
  *reply_len = 0;
  if (max_size && max_size < 512)
    max_size = 512;
  return dns_answer_cached(d->answerer.cache, &d->answerer, query, len,
                           max_size, reply, reply_len) == DNS_REPLY
             ? 1
             : 0;
}

KUBE_EXPORT void kube_dns_get_stats(const kube_dns_t *d,
                                    kube_dns_stats_t *out) {
  *out = d->stats;
}

KUBE_EXPORT size_t kube_dns_name_count(const kube_dns_t *d) {
  return d->table.names.n;
}

KUBE_EXPORT void kube_dns_free(kube_dns_t *d) {
  if (!d)
    return;
  kube_dns_unwatch(d);
  dns_net_free(d->net);
  dns_cache_free(d->answerer.cache);
  dns_index_free(d->index);
  dns_table_clear(&d->table);
  free(d->table.stops);
  free(d->domain);
  free(d);
}
