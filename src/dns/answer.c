/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One query -> one response, with libldns for the wire format: what is
 * in the cluster domain (and the reverse names of cluster addresses) is
 * answered from the table, the rest is for the upstream servers.
 */
#include <arpa/inet.h>
#include <ctype.h>

#include "dns/internal.h"

/* Our EDNS0 buffer size: the DNS flag day 2020 value, which no path MTU
 * fragments. */
#define EDNS_SIZE 1232

bool dns_name_key(const ldns_rdf *dname, char *out, size_t len) {
  const uint8_t *p = ldns_rdf_data(dname);
  size_t n = ldns_rdf_size(dname), i = 0, k = 0;
  while (i < n && p[i]) {
    size_t l = p[i++];
    if (i + l > n || k + l + 2 > len)
      return false;
    if (k)
      out[k++] = '.';
    for (size_t j = 0; j < l; j++) {
      unsigned char c = p[i + j];
      /* A byte no key holds: such a name matches nothing. */
      out[k++] = c == '.' || c < 0x21 || c > 0x7e ? '?' : (char)tolower(c);
    }
    i += l;
  }
  out[k] = '\0';
  return true;
}

size_t dns_udp_limit(const ldns_pkt *q) {
  if (!ldns_pkt_edns(q))
    return 512;
  size_t s = ldns_pkt_edns_udp_size(q);
  return s < 512 ? 512 : s > EDNS_SIZE ? EDNS_SIZE : s;
}

/* The header and question of the response to q. */
static ldns_pkt *base(const ldns_pkt *q, uint8_t rcode) {
  ldns_pkt *r = ldns_pkt_new();
  if (!r)
    return NULL;
  ldns_pkt_set_id(r, ldns_pkt_id(q));
  ldns_pkt_set_qr(r, true);
  ldns_pkt_set_opcode(r, ldns_pkt_get_opcode(q));
  ldns_pkt_set_rd(r, ldns_pkt_rd(q));
  ldns_pkt_set_cd(r, ldns_pkt_cd(q));
  ldns_pkt_set_ra(r, true);
  ldns_pkt_set_rcode(r, rcode);
  ldns_rr_list *qs = ldns_pkt_question(q);
  if (ldns_rr_list_rr_count(qs) == 1) {
    ldns_rr *c = ldns_rr_clone(ldns_rr_list_rr(qs, 0));
    if (!c || !ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, c)) {
      ldns_rr_free(c);
      ldns_pkt_free(r);
      return NULL;
    }
  }
  if (ldns_pkt_edns(q)) {
    ldns_pkt_set_edns_udp_size(r, EDNS_SIZE);
    if (ldns_pkt_edns_version(q) > 0) {
      /* BADVERS (16): extended rcode 1, header rcode 0. */
      ldns_pkt_set_edns_extended_rcode(r, 1);
      ldns_pkt_set_rcode(r, 0);
    }
  }
  return r;
}

static bool push_copy(ldns_pkt *r, ldns_pkt_section sec, const ldns_rr *rr,
                      const ldns_rdf *owner) {
  ldns_rr *c = ldns_rr_clone(rr);
  if (!c)
    return false;
  if (owner) {
    ldns_rdf *o = ldns_rdf_clone(owner);
    if (!o) {
      ldns_rr_free(c);
      return false;
    }
    ldns_rdf_deep_free(ldns_rr_owner(c));
    ldns_rr_set_owner(c, o);
  }
  if (!ldns_pkt_push_rr(r, sec, c)) {
    ldns_rr_free(c);
    return false;
  }
  return true;
}

static bool add_soa(const struct dns_answerer *a, ldns_pkt *r) {
  const struct dns_node *apex = dns_table_find(a->table, a->domain);
  for (size_t i = 0; apex && i < apex->n; i++)
    if (apex->recs[i].rr &&
        ldns_rr_get_type(apex->recs[i].rr) == LDNS_RR_TYPE_SOA)
      return push_copy(r, LDNS_SECTION_AUTHORITY, apex->recs[i].rr, NULL);
  return true;
}

/* The addresses of SRV/NS targets we hold, in the additional section. */
static bool add_targets(const struct dns_answerer *a, ldns_pkt *r) {
  ldns_rr_list *ans = ldns_pkt_answer(r);
  for (size_t i = 0; i < ldns_rr_list_rr_count(ans); i++) {
    ldns_rr *rr = ldns_rr_list_rr(ans, i);
    ldns_rr_type t = ldns_rr_get_type(rr);
    const ldns_rdf *target = t == LDNS_RR_TYPE_SRV  ? ldns_rr_rdf(rr, 3)
                             : t == LDNS_RR_TYPE_NS ? ldns_rr_rdf(rr, 0)
                                                    : NULL;
    char key[LDNS_MAX_DOMAINLEN + 2];
    if (!target || !dns_name_key(target, key, sizeof key))
      continue;
    /* Several SRV records share a target (one per port). */
    bool dup = false;
    for (size_t k = 0; k < i && !dup; k++) {
      ldns_rr *o = ldns_rr_list_rr(ans, k);
      dup = ldns_rr_get_type(o) == t &&
            ldns_dname_compare(t == LDNS_RR_TYPE_SRV ? ldns_rr_rdf(o, 3)
                                                     : ldns_rr_rdf(o, 0),
                               target) == 0;
    }
    const struct dns_node *n = dup ? NULL : dns_table_find(a->table, key);
    for (size_t k = 0; n && k < n->n; k++) {
      if (!n->recs[k].rr)
        continue;
      ldns_rr_type rt = ldns_rr_get_type(n->recs[k].rr);
      if ((rt == LDNS_RR_TYPE_A || rt == LDNS_RR_TYPE_AAAA) &&
          !push_copy(r, LDNS_SECTION_ADDITIONAL, n->recs[k].rr, NULL))
        return false;
    }
  }
  return true;
}

/* "a-b-c-d.ns.pod.DOMAIN": the address in the first label (CoreDNS's
 * "pods insecure": any such name answers). */
static bool pod_addr(const struct dns_answerer *a, const char *key, int *family,
                     uint8_t addr[16]) {
  const char *dot = strchr(key, '.');
  if (!dot || dot - key > 63)
    return false;
  const char *ns = dot + 1, *rest = strchr(ns, '.');
  if (!rest || rest == ns || strncmp(rest, ".pod.", 5) != 0 ||
      !streq(rest + 5, a->domain))
    return false;
  char ip[64];
  snprintf(ip, sizeof ip, "%.*s", (int)(dot - key), key);
  for (char *p = ip; *p; p++)
    if (*p == '-')
      *p = '.';
  if (inet_pton(AF_INET, ip, addr) == 1) {
    *family = AF_INET;
    return true;
  }
  for (char *p = ip; *p; p++)
    if (*p == '.')
      *p = ':';
  if (inet_pton(AF_INET6, ip, addr) == 1) {
    *family = AF_INET6;
    return true;
  }
  return false;
}

static bool in_zone(const struct dns_answerer *a, const char *key) {
  size_t kl = strlen(key), dl = strlen(a->domain);
  return streq(key, a->domain) || (kl > dl && key[kl - dl - 1] == '.' &&
                                   streq(key + kl - dl, a->domain));
}

/* Fill r for a name we are authoritative for (or hold records of);
 * false on out-of-memory. */
static bool lookup(const struct dns_answerer *a, ldns_pkt *r, const char *key,
                   const ldns_rr *q, const struct dns_node *n) {
  ldns_rr_type qt = ldns_rr_get_type(q);
  const ldns_rdf *owner = ldns_rr_owner(q);
  size_t found = 0;
  bool exists = n != NULL;
  for (size_t i = 0; n && i < n->n; i++) {
    if (!n->recs[i].rr)
      continue; /* the mark of a name without records */
    ldns_rr_type t = ldns_rr_get_type(n->recs[i].rr);
    if (t == qt || qt == LDNS_RR_TYPE_ANY ||
        (t == LDNS_RR_TYPE_CNAME && qt != LDNS_RR_TYPE_CNAME)) {
      if (!push_copy(r, LDNS_SECTION_ANSWER, n->recs[i].rr, owner))
        return false;
      found++;
    }
  }
  int family;
  uint8_t addr[16];
  if (!n && pod_addr(a, key, &family, addr)) {
    if ((family == AF_INET &&
         (qt == LDNS_RR_TYPE_A || qt == LDNS_RR_TYPE_ANY)) ||
        (family == AF_INET6 &&
         (qt == LDNS_RR_TYPE_AAAA || qt == LDNS_RR_TYPE_ANY))) {
      ldns_rr *rr = dns_rr_addr(key, a->ttl, family, addr);
      bool ok = rr && push_copy(r, LDNS_SECTION_ANSWER, rr, owner);
      ldns_rr_free(rr);
      if (!ok)
        return false;
      found++;
    }
    exists = true;
  }
  if (found)
    return add_targets(a, r);
  /* svc.D and pod.D exist even with nothing below them. */
  size_t dl = strlen(a->domain);
  if (strlen(key) == dl + 4 &&
      (!strncmp(key, "svc.", 4) || !strncmp(key, "pod.", 4)))
    exists = true;
  if (!exists) {
    ldns_pkt_set_rcode(r, LDNS_RCODE_NXDOMAIN);
    a->stats->nxdomain++;
  }
  return add_soa(a, r);
}

/* Name compression keyed by the names' bytes: libldns's own tree compares
 * names label by label, allocating each label, which was a fifth of a
 * query's cost.  An exact-bytes order finds the same names (ours and the
 * question's spelling both as they are). */
static int name_cmp(const void *a, const void *b) {
  const ldns_rdf *x = a, *y = b;
  size_t xl = ldns_rdf_size(x), yl = ldns_rdf_size(y);
  if (xl != yl)
    return xl < yl ? -1 : 1;
  return memcmp(ldns_rdf_data(x), ldns_rdf_data(y), xl);
}

/* The tree's nodes and their keys are what libldns allocated while
 * compressing (a node and a copy of the name each). */
static void node_free(ldns_rbnode_t *node, void *arg) {
  ldns_rdf_deep_free((ldns_rdf *)node->key);
  free(node);
}

/* Compression costs allocations for every suffix of every name: a small
 * answer goes without it, a large one is compressed before it is cut. */
static ldns_status to_wire(const ldns_pkt *p, uint8_t **out, size_t *len,
                           bool compress) {
  ldns_buffer *b = ldns_buffer_new(512);
  ldns_rbtree_t *tree = compress ? ldns_rbtree_create(name_cmp) : NULL;
  ldns_status st = LDNS_STATUS_MEM_ERR;
  *out = NULL;
  if (b && (tree || !compress) &&
      (st = ldns_pkt2buffer_wire_compress(b, p, tree)) == LDNS_STATUS_OK) {
    *len = ldns_buffer_position(b);
    *out = ldns_buffer_export(b);
  }
  if (tree) {
    ldns_traverse_postorder(tree, node_free, NULL);
    ldns_rbtree_free(tree);
  }
  ldns_buffer_free(b);
  return *out ? st : (st == LDNS_STATUS_OK ? LDNS_STATUS_MEM_ERR : st);
}

static enum dns_verdict encode(const struct dns_answerer *a, const ldns_pkt *q,
                               ldns_pkt *r, size_t max, uint8_t **out,
                               size_t *out_len) {
  if (!max)
    max = dns_udp_limit(q);
  ldns_status st = to_wire(r, out, out_len, false);
  if (st == LDNS_STATUS_OK && *out_len > max) {
    free(*out);
    st = to_wire(r, out, out_len, true);
  }
  if (st == LDNS_STATUS_OK && *out_len > max) {
    /* Too large for this transport: header and question with TC set, and
     * the client asks again over TCP. */
    free(*out);
    *out = NULL;
    ldns_pkt *t = base(q, ldns_pkt_get_rcode(r));
    if (t) {
      ldns_pkt_set_aa(t, ldns_pkt_aa(r));
      ldns_pkt_set_tc(t, true);
      st = to_wire(t, out, out_len, true);
      ldns_pkt_free(t);
      a->stats->truncated++;
    } else {
      st = LDNS_STATUS_MEM_ERR;
    }
  }
  ldns_pkt_free(r);
  if (st != LDNS_STATUS_OK) {
    free(*out);
    *out = NULL;
    return DNS_DROP;
  }
  return DNS_REPLY;
}

enum dns_verdict dns_answer(const struct dns_answerer *a, const uint8_t *wire,
                            size_t len, size_t max, uint8_t **out,
                            size_t *out_len) {
  ldns_pkt *q = NULL;
  *out = NULL;
  if (len < 12 || ldns_wire2pkt(&q, wire, len) != LDNS_STATUS_OK ||
      ldns_pkt_qr(q)) {
    ldns_pkt_free(q);
    a->stats->dropped++;
    return DNS_DROP;
  }
  a->stats->queries++;
  ldns_rr_list *qs = ldns_pkt_question(q);
  uint8_t rcode = ldns_pkt_get_opcode(q) != LDNS_PACKET_QUERY
                      ? LDNS_RCODE_NOTIMPL
                  : ldns_rr_list_rr_count(qs) != 1 ? LDNS_RCODE_FORMERR
                                                   : LDNS_RCODE_NOERROR;
  ldns_pkt *r = base(q, rcode);
  enum dns_verdict v = DNS_DROP;
  if (!r)
    goto out;
  if (rcode != LDNS_RCODE_NOERROR || ldns_pkt_edns_extended_rcode(r)) {
    v = encode(a, q, r, max, out, out_len);
    goto out;
  }
  const ldns_rr *qrr = ldns_rr_list_rr(qs, 0);
  char key[LDNS_MAX_DOMAINLEN + 2];
  if (!dns_name_key(ldns_rr_owner(qrr), key, sizeof key))
    key[0] = '\0';
  bool zone = in_zone(a, key);
  const struct dns_node *n = dns_table_find(a->table, key);
  if (!zone && (!n || !n->n)) {
    /* Not ours (a reverse name of an address we do not hold goes on as
     * CoreDNS's fallthrough does). */
    if (a->forward) {
      ldns_pkt_free(r);
      v = DNS_FORWARD;
      goto out;
    }
    ldns_pkt_set_rcode(r, LDNS_RCODE_SERVFAIL);
    a->stats->servfail++;
  } else if (ldns_rr_get_class(qrr) != LDNS_RR_CLASS_IN &&
             ldns_rr_get_class(qrr) != LDNS_RR_CLASS_ANY) {
    ldns_pkt_set_rcode(r, LDNS_RCODE_REFUSED);
  } else {
    ldns_pkt_set_aa(r, true);
    a->stats->answered++;
    if (!lookup(a, r, key, qrr, n)) {
      ldns_pkt_free(r);
      goto out;
    }
  }
  v = encode(a, q, r, max, out, out_len);
out:
  ldns_pkt_free(q);
  return v;
}

uint8_t *dns_servfail(const uint8_t *wire, size_t len, size_t *out_len) {
  ldns_pkt *q = NULL;
  uint8_t *out = NULL;
  if (ldns_wire2pkt(&q, wire, len) == LDNS_STATUS_OK) {
    ldns_pkt *r = base(q, LDNS_RCODE_SERVFAIL);
    if (r && to_wire(r, &out, out_len, false) != LDNS_STATUS_OK) {
      free(out);
      out = NULL;
    }
    ldns_pkt_free(r);
  }
  ldns_pkt_free(q);
  return out;
}
