/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A memo of the resolver: a query whose bytes after the ID are those of
 * one answered before, with the same size limit and no change to the
 * records since, gets that answer again with its own ID, without being
 * parsed and encoded anew (libldns's parse, name compression and
 * allocations cost more than the rest of a query together).  Identical
 * bytes make an identical question, flags and EDNS0 options, so the
 * answer is the one the resolver would give.  Direct-mapped: a new
 * answer replaces whatever held its slot.
 */
#include "dns/internal.h"

#define SLOTS 8192 /* power of two */
#define MAX_QUERY 512
#define MAX_REPLY 4096

struct dns_cache_entry {
  uint64_t hash;
  uint64_t gen;
  size_t max;
  uint8_t *q, *r; /* the query after its ID; the answer */
  uint16_t qlen, rlen;
};

struct dns_cache {
  struct dns_cache_entry slots[SLOTS];
};

static uint64_t hash(const uint8_t *p, size_t len, size_t max) {
  uint64_t h = 1469598103934665603ULL ^ max;
  for (size_t i = 0; i < len; i++)
    h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}

struct dns_cache *dns_cache_new(void) {
  return calloc(1, sizeof(struct dns_cache));
}

void dns_cache_free(struct dns_cache *c) {
  if (!c)
    return;
  for (size_t i = 0; i < SLOTS; i++) {
    free(c->slots[i].q);
    free(c->slots[i].r);
  }
  free(c);
}

/* Count a remembered answer as the resolver counted it. */
static void count(kube_dns_stats_t *st, const uint8_t *r) {
  st->queries++;
  unsigned rcode = r[3] & 15;
  if (rcode == LDNS_RCODE_SERVFAIL)
    st->servfail++;
  else if (rcode == LDNS_RCODE_NOERROR || rcode == LDNS_RCODE_NXDOMAIN)
    st->answered++;
  if (rcode == LDNS_RCODE_NXDOMAIN)
    st->nxdomain++;
  if (r[2] & 0x02)
    st->truncated++;
}

enum dns_verdict dns_answer_cached(struct dns_cache *c,
                                   const struct dns_answerer *a,
                                   const uint8_t *wire, size_t len, size_t max,
                                   uint8_t **out, size_t *out_len) {
  if (!c || len < 12 || len > MAX_QUERY)
    return dns_answer(a, wire, len, max, out, out_len);
  uint64_t h = hash(wire + 2, len - 2, max);
  struct dns_cache_entry *e = &c->slots[h & (SLOTS - 1)];
  if (e->r && e->hash == h && e->gen == a->table->gen && e->max == max &&
      e->qlen == len - 2 && !memcmp(e->q, wire + 2, len - 2)) {
    if (!(*out = malloc(e->rlen)))
      return DNS_DROP;
    memcpy(*out, e->r, e->rlen);
    (*out)[0] = wire[0];
    (*out)[1] = wire[1];
    *out_len = e->rlen;
    count(a->stats, e->r);
    return DNS_REPLY;
  }
  enum dns_verdict v = dns_answer(a, wire, len, max, out, out_len);
  if (v != DNS_REPLY || *out_len > MAX_REPLY)
    return v;
  uint8_t *q = malloc(len - 2), *r = malloc(*out_len);
  if (!q || !r) {
    free(q);
    free(r);
    return v;
  }
  memcpy(q, wire + 2, len - 2);
  memcpy(r, *out, *out_len);
  free(e->q);
  free(e->r);
  *e = (struct dns_cache_entry){.hash = h,
                                .gen = a->table->gen,
                                .max = max,
                                .q = q,
                                .r = r,
                                .qlen = (uint16_t)(len - 2),
                                .rlen = (uint16_t)*out_len};
  return v;
}
