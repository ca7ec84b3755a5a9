/* SPDX-License-Identifier: Apache-2.0 */
/* Shared inside the dns module only (prefix dns_). */
#ifndef KUBE_DNS_INTERNAL_H
#define KUBE_DNS_INTERNAL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include <libkube/dns.h>

#include "client/client-private.h"
#include "core/util.h"

/* ---- table.c: names -> records ---- */

struct dns_rec {
  ldns_rr *rr;       /* owner: the node's name; NULL: marks that the
                      * name exists without records */
  const void *owner; /* what put it there (a service) */
};
struct dns_node {
  struct dns_rec *recs;
  size_t n, cap;
  size_t below; /* names below this one that exist (empty non-terminal) */
};
struct dns_table {
  struct strmap names; /* lowercase name without the final dot */
  char **stops;        /* zones whose ancestors are not counted */
  uint64_t gen;        /* bumped by every change */
};
/* Add a record (rr stolen, freed on failure; NULL: a mark); -1 on
 * out-of-memory. */
int dns_table_add(struct dns_table *t, const char *name, ldns_rr *rr,
                  const void *owner);
/* Remove every record of `owner` at `name`. */
void dns_table_remove(struct dns_table *t, const char *name, const void *owner);
const struct dns_node *dns_table_find(const struct dns_table *t,
                                      const char *name);
void dns_table_clear(struct dns_table *t);

/* ---- records.c: Services and endpoints -> records ---- */

struct dns_index;
struct dns_index *dns_index_new(struct dns_table *t, const char *domain,
                                uint32_t ttl);
void dns_index_free(struct dns_index *x);
/* kind: "Service", "EndpointSlice", "Endpoints".  obj NULL: deleted.
 * -1 on out-of-memory. */
int dns_index_set(struct dns_index *x, const char *kind, const char *ns,
                  const char *name, const kube_object_t *obj);
/* Records helpers (rr owned, NULL on out-of-memory or a bad name). */
ldns_rr *dns_rr_addr(const char *owner, uint32_t ttl, int family,
                     const void *addr);
ldns_rr *dns_rr_name(const char *owner, uint32_t ttl, ldns_rr_type type,
                     const char *target);
ldns_rr *dns_rr_srv(const char *owner, uint32_t ttl, uint16_t prio,
                    uint16_t weight, uint16_t port, const char *target);
/* The reverse name of an address ("4.3.2.1.in-addr.arpa"). */
void dns_reverse_name(int family, const void *addr, char *out, size_t len);

/* ---- answer.c: a query -> a response ---- */

struct dns_answerer {
  const char *domain; /* lowercase, no final dot */
  struct dns_table *table;
  bool forward; /* upstream servers exist ("none": SERVFAIL) */
  uint32_t ttl;
  kube_dns_stats_t *stats;
  struct dns_cache *cache; /* may be NULL */
};
enum dns_verdict { DNS_DROP, DNS_REPLY, DNS_FORWARD };
/* Parse `wire`; DNS_REPLY with *out (owned) and *out_len fitting in max
 * bytes (TC set when the answer did not fit); DNS_FORWARD; DNS_DROP
 * (malformed, a response, out-of-memory). */
enum dns_verdict dns_answer(const struct dns_answerer *a, const uint8_t *wire,
                            size_t len, size_t max, uint8_t **out,
                            size_t *out_len);
/* SERVFAIL for a query the upstream servers did not answer (owned wire
 * or NULL). */
uint8_t *dns_servfail(const uint8_t *wire, size_t len, size_t *out_len);
/* The lowercase text of a wire name without the final dot into out
 * (false: does not fit). */
bool dns_name_key(const ldns_rdf *dname, char *out, size_t len);
/* The UDP size a query allows for its answer. */
size_t dns_udp_limit(const ldns_pkt *q);

/* ---- cache.c: answers of identical queries, until the records change ---- */

struct dns_cache;
struct dns_cache *dns_cache_new(void);
void dns_cache_free(struct dns_cache *c);
/* dns_answer through the cache (c may be NULL: none). */
enum dns_verdict dns_answer_cached(struct dns_cache *c,
                                   const struct dns_answerer *a,
                                   const uint8_t *wire, size_t len, size_t max,
                                   uint8_t **out, size_t *out_len);

/* ---- net.c: listeners and the forwarder ---- */

struct dns_net;
struct dns_net *dns_net_new(kube_loop_t *loop, struct dns_answerer *a,
                            const struct sockaddr_storage *upstreams,
                            size_t n_upstreams, kube_error_t *err);
int dns_net_listen(struct dns_net *n, const struct sockaddr_storage *addr,
                   kube_error_t *err);
void dns_net_free(struct dns_net *n);
/* "ADDR[:PORT]" / "[v6]:PORT" -> sockaddr (port default_port). */
int dns_parse_addr(const char *s, int default_port,
                   struct sockaddr_storage *out);

#endif /* KUBE_DNS_INTERNAL_H */
