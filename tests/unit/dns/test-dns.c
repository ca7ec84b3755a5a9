/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dns module's packet codec and records: queries built with libldns
 * go through kube_dns_resolve() against Services, EndpointSlices and
 * Endpoints fed with kube_dns_update(), and the wire answers are parsed
 * back: ClusterIP A/PTR/SRV with additional addresses, headless A per
 * ready endpoint with hostname records, ExternalName CNAME, pod names,
 * NXDOMAIN/NODATA with the SOA, UDP truncation (512 and EDNS0 sizes) vs
 * TCP, BADVERS, FORMERR, malformed and response packets dropped, names
 * outside the domain (SERVFAIL with upstream none, else forwarded), and
 * the records going away with their objects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include <libkube/dns.h>

static kube_loop_t *loop;

static kube_dns_t *new_dns(const char *upstream) {
  kube_dns_options_t o = {
      .struct_size = sizeof o, .upstream = upstream, .dns_ip = "10.96.0.10"};
  kube_error_t err = KUBE_ERROR_INIT;
  kube_dns_t *d = kube_dns_new(loop, &o, &err);
  assert_non_null(d);
  return d;
}

static void feed(kube_dns_t *d, const char *json) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *o = kube_object_from_json(json, strlen(json), &err);
  assert_non_null(o);
  assert_int_equal(kube_dns_update(d, o, &err), 0);
  kube_object_free(o);
}

/* Ask `name` `type` (edns: 0 none, else the UDP size offered); max as
 * kube_dns_resolve takes it.  The parsed answer, or NULL when none. */
static ldns_pkt *ask_full(kube_dns_t *d, const char *name, ldns_rr_type type,
                          uint16_t edns, uint8_t version, size_t max) {
  ldns_pkt *q = ldns_pkt_query_new(ldns_dname_new_frm_str(name), type,
                                   LDNS_RR_CLASS_IN, LDNS_RD);
  assert_non_null(q);
  ldns_pkt_set_id(q, 4242);
  if (edns) {
    ldns_pkt_set_edns_udp_size(q, edns);
    ldns_pkt_set_edns_version(q, version);
  }
  uint8_t *wire, *reply;
  size_t len, rlen;
  assert_int_equal(ldns_pkt2wire(&wire, q, &len), LDNS_STATUS_OK);
  ldns_pkt_free(q);
  kube_error_t err = KUBE_ERROR_INIT;
  int rc = kube_dns_resolve(d, wire, len, max, &reply, &rlen, &err);
  free(wire);
  if (rc == 0)
    return NULL;
  assert_int_equal(rc, 1);
  if (!max)
    assert_true(rlen <= (edns ? (edns > 1232  ? 1232
                                 : edns < 512 ? 512
                                              : edns)
                              : 512));
  ldns_pkt *r = NULL;
  assert_int_equal(ldns_wire2pkt(&r, reply, rlen), LDNS_STATUS_OK);
  free(reply);
  assert_int_equal(ldns_pkt_id(r), 4242);
  assert_true(ldns_pkt_qr(r));
  return r;
}

static ldns_pkt *ask(kube_dns_t *d, const char *name, ldns_rr_type type) {
  return ask_full(d, name, type, 0, 0, 0);
}

/* The text of the rdata of answer i ("10.96.0.1", "0 100 80 x.y."). */
static char *rdata(ldns_pkt *r, ldns_pkt_section sec, size_t i) {
  ldns_rr_list *l = sec == LDNS_SECTION_ANSWER      ? ldns_pkt_answer(r)
                    : sec == LDNS_SECTION_AUTHORITY ? ldns_pkt_authority(r)
                                                    : ldns_pkt_additional(r);
  assert_true(i < ldns_rr_list_rr_count(l));
  ldns_rr *rr = ldns_rr_list_rr(l, i);
  ldns_buffer *b = ldns_buffer_new(256);
  for (size_t k = 0; k < ldns_rr_rd_count(rr); k++) {
    if (k)
      ldns_buffer_printf(b, " ");
    ldns_rdf2buffer_str(b, ldns_rr_rdf(rr, k));
  }
  char *s = ldns_buffer_export2str(b);
  ldns_buffer_free(b);
  return s;
}

static void assert_rdata(ldns_pkt *r, ldns_pkt_section sec, size_t i,
                         const char *want) {
  char *s = rdata(r, sec, i);
  assert_string_equal(s, want);
  free(s);
}

/* Answer rdata sorted and joined with ','. */
static char *answers(ldns_pkt *r) {
  size_t n = ldns_pkt_ancount(r);
  char **v = calloc(n + 1, sizeof *v), *out = calloc(1, 4096);
  for (size_t i = 0; i < n; i++)
    v[i] = rdata(r, LDNS_SECTION_ANSWER, i);
  for (size_t i = 0; i < n; i++)
    for (size_t k = i + 1; k < n; k++)
      if (strcmp(v[k], v[i]) < 0) {
        char *t = v[i];
        v[i] = v[k];
        v[k] = t;
      }
  for (size_t i = 0; i < n; i++) {
    if (i)
      strcat(out, ",");
    strcat(out, v[i]);
    free(v[i]);
  }
  free(v);
  return out;
}

static void assert_answers(kube_dns_t *d, const char *name, ldns_rr_type t,
                           const char *want) {
  ldns_pkt *r = ask(d, name, t);
  assert_non_null(r);
  assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
  char *got = answers(r);
  assert_string_equal(got, want);
  free(got);
  ldns_pkt_free(r);
}

static void assert_negative(kube_dns_t *d, const char *name, ldns_rr_type t,
                            ldns_pkt_rcode rcode) {
  ldns_pkt *r = ask(d, name, t);
  assert_non_null(r);
  assert_int_equal(ldns_pkt_get_rcode(r), rcode);
  assert_int_equal(ldns_pkt_ancount(r), 0);
  assert_int_equal(ldns_pkt_nscount(r), 1);
  ldns_rr *soa = ldns_rr_list_rr(ldns_pkt_authority(r), 0);
  assert_int_equal(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
  assert_true(ldns_pkt_aa(r));
  ldns_pkt_free(r);
}

#define SVC_WEB                                                                \
  "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"        \
  "\"web\",\"namespace\":\"default\"},\"spec\":{\"clusterIP\":"                \
  "\"10.96.0.20\",\"clusterIPs\":[\"10.96.0.20\"],\"ports\":[{\"name\":"       \
  "\"http\",\"port\":80,\"protocol\":\"TCP\"},{\"port\":53,\"protocol\":"      \
  "\"UDP\"}]}}"

static void test_cluster_ip(void **state) {
  kube_dns_t *d = new_dns("none");
  size_t base = kube_dns_name_count(d);
  feed(d, SVC_WEB);
  assert_answers(d, "web.default.svc.cluster.local.", LDNS_RR_TYPE_A,
                 "10.96.0.20");
  /* Case-insensitive; the question's spelling comes back. */
  ldns_pkt *r = ask(d, "WEB.Default.svc.cluster.local.", LDNS_RR_TYPE_A);
  char *owner =
      ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_answer(r), 0)));
  assert_string_equal(owner, "WEB.Default.svc.cluster.local.");
  assert_true(ldns_pkt_aa(r) && ldns_pkt_rd(r) && ldns_pkt_ra(r));
  free(owner);
  ldns_pkt_free(r);
  assert_negative(d, "web.default.svc.cluster.local.", LDNS_RR_TYPE_AAAA,
                  LDNS_RCODE_NOERROR);
  assert_answers(d, "20.0.96.10.in-addr.arpa.", LDNS_RR_TYPE_PTR,
                 "web.default.svc.cluster.local.");
  /* Named port SRV with the address in the additional section; SRV on
   * the service name: every port. */
  r = ask(d, "_http._tcp.web.default.svc.cluster.local.", LDNS_RR_TYPE_SRV);
  assert_int_equal(ldns_pkt_ancount(r), 1);
  assert_rdata(r, LDNS_SECTION_ANSWER, 0,
               "0 100 80 web.default.svc.cluster.local.");
  assert_int_equal(ldns_pkt_arcount(r), 1);
  assert_rdata(r, LDNS_SECTION_ADDITIONAL, 0, "10.96.0.20");
  ldns_pkt_free(r);
  assert_answers(d, "web.default.svc.cluster.local.", LDNS_RR_TYPE_SRV,
                 "0 100 53 web.default.svc.cluster.local.,"
                 "0 100 80 web.default.svc.cluster.local.");
  /* Empty non-terminals: NODATA; missing names: NXDOMAIN. */
  assert_negative(d, "default.svc.cluster.local.", LDNS_RR_TYPE_A,
                  LDNS_RCODE_NOERROR);
  assert_negative(d, "_tcp.web.default.svc.cluster.local.", LDNS_RR_TYPE_A,
                  LDNS_RCODE_NOERROR);
  assert_negative(d, "svc.cluster.local.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR);
  assert_negative(d, "nope.default.svc.cluster.local.", LDNS_RR_TYPE_A,
                  LDNS_RCODE_NXDOMAIN);
  assert_negative(d, "web.other.svc.cluster.local.", LDNS_RR_TYPE_A,
                  LDNS_RCODE_NXDOMAIN);
  assert_negative(d, "_dns._udp.web.default.svc.cluster.local.",
                  LDNS_RR_TYPE_SRV, LDNS_RCODE_NXDOMAIN);
  /* The apex and the records CoreDNS keeps there. */
  assert_answers(d, "cluster.local.", LDNS_RR_TYPE_NS, "ns.dns.cluster.local.");
  assert_answers(d, "ns.dns.cluster.local.", LDNS_RR_TYPE_A, "10.96.0.10");
  assert_answers(d, "dns-version.cluster.local.", LDNS_RR_TYPE_TXT,
                 "\"1.1.0\"");
  /* Deleted: gone, and every name it made is freed. */
  kube_dns_delete(d, "Service", "default", "web");
  assert_negative(d, "web.default.svc.cluster.local.", LDNS_RR_TYPE_A,
                  LDNS_RCODE_NXDOMAIN);
  assert_negative(d, "default.svc.cluster.local.", LDNS_RR_TYPE_A,
                  LDNS_RCODE_NXDOMAIN);
  assert_int_equal(kube_dns_name_count(d), base);
  kube_dns_free(d);
}

#define SVC_HEADLESS                                                           \
  "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"        \
  "\"db\",\"namespace\":\"prod\"},\"spec\":{\"clusterIP\":\"None\","           \
  "\"ports\":[{\"name\":\"pg\",\"port\":5432}]}}"
#define SLICE_DB                                                               \
  "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\","        \
  "\"metadata\":{\"name\":\"db-abc\",\"namespace\":\"prod\",\"labels\":"       \
  "{\"kubernetes.io/service-name\":\"db\"}},\"addressType\":\"IPv4\","         \
  "\"ports\":[{\"name\":\"pg\",\"port\":15432,\"protocol\":\"TCP\"}],"         \
  "\"endpoints\":[{\"addresses\":[\"10.42.0.5\"],\"hostname\":\"db-0\","       \
  "\"conditions\":{\"ready\":true}},{\"addresses\":[\"10.42.0.6\"],"           \
  "\"conditions\":{}},{\"addresses\":[\"10.42.0.7\"],\"conditions\":"          \
  "{\"ready\":false}}]}"

static void test_headless(void **state) {
  kube_dns_t *d = new_dns("none");
  size_t base = kube_dns_name_count(d);
  /* The slice may come before its Service. */
  feed(d, SLICE_DB);
  assert_negative(d, "db.prod.svc.cluster.local.", LDNS_RR_TYPE_A,
                  LDNS_RCODE_NXDOMAIN);
  feed(d, SVC_HEADLESS);
  assert_answers(d, "db.prod.svc.cluster.local.", LDNS_RR_TYPE_A,
                 "10.42.0.5,10.42.0.6");
  assert_answers(d, "db-0.db.prod.svc.cluster.local.", LDNS_RR_TYPE_A,
                 "10.42.0.5");
  assert_answers(d, "10-42-0-6.db.prod.svc.cluster.local.", LDNS_RR_TYPE_A,
                 "10.42.0.6");
  assert_negative(d, "10-42-0-7.db.prod.svc.cluster.local.", LDNS_RR_TYPE_A,
                  LDNS_RCODE_NXDOMAIN);
  assert_answers(d, "5.0.42.10.in-addr.arpa.", LDNS_RR_TYPE_PTR,
                 "db-0.db.prod.svc.cluster.local.");
  ldns_pkt *r = ask(d, "_pg._tcp.db.prod.svc.cluster.local.", LDNS_RR_TYPE_SRV);
  char *got = answers(r);
  assert_string_equal(got, "0 50 15432 10-42-0-6.db.prod.svc.cluster.local.,"
                           "0 50 15432 db-0.db.prod.svc.cluster.local.");
  free(got);
  assert_int_equal(ldns_pkt_arcount(r), 2);
  ldns_pkt_free(r);
  /* The endpoint becomes not ready: its records go. */
  const char *upd = "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":"
                    "\"EndpointSlice\",\"metadata\":{\"name\":\"db-abc\","
                    "\"namespace\":\"prod\",\"labels\":{\"kubernetes.io/"
                    "service-name\":\"db\"}},\"addressType\":\"IPv4\","
                    "\"endpoints\":[{\"addresses\":[\"10.42.0.6\"]}]}";
  feed(d, upd);
  assert_answers(d, "db.prod.svc.cluster.local.", LDNS_RR_TYPE_A, "10.42.0.6");
  assert_negative(d, "db-0.db.prod.svc.cluster.local.", LDNS_RR_TYPE_A,
                  LDNS_RCODE_NXDOMAIN);
  kube_dns_delete(d, "EndpointSlice", "prod", "db-abc");
  assert_negative(d, "db.prod.svc.cluster.local.", LDNS_RR_TYPE_A,
                  LDNS_RCODE_NOERROR);
  kube_dns_delete(d, "Service", "prod", "db");
  assert_int_equal(kube_dns_name_count(d), base);
  /* A slice of no Service publishes nothing. */
  feed(d, "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":"
          "\"EndpointSlice\",\"metadata\":{\"name\":\"stray\","
          "\"namespace\":\"prod\"},\"endpoints\":[{\"addresses\":["
          "\"10.9.9.9\"]}]}");
  assert_int_equal(kube_dns_name_count(d), base);
  kube_dns_free(d);
}

/* A Service without selector whose Endpoints were written by hand. */
static void test_endpoints_fallback(void **state) {
  kube_dns_t *d = new_dns("none");
  feed(d, "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{"
          "\"name\":\"ext\",\"namespace\":\"default\"},\"spec\":{"
          "\"clusterIP\":\"None\"}}");
  feed(d, "{\"apiVersion\":\"v1\",\"kind\":\"Endpoints\",\"metadata\":{"
          "\"name\":\"ext\",\"namespace\":\"default\"},\"subsets\":[{"
          "\"addresses\":[{\"ip\":\"192.0.2.1\",\"hostname\":\"a\"},{\"ip\":"
          "\"192.0.2.2\"}],\"notReadyAddresses\":[{\"ip\":\"192.0.2.3\"}],"
          "\"ports\":[{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"}]}]}");
  assert_answers(d, "ext.default.svc.cluster.local.", LDNS_RR_TYPE_A,
                 "192.0.2.1,192.0.2.2");
  assert_answers(d, "a.ext.default.svc.cluster.local.", LDNS_RR_TYPE_A,
                 "192.0.2.1");
  assert_answers(d, "_dns._udp.ext.default.svc.cluster.local.",
                 LDNS_RR_TYPE_SRV,
                 "0 50 53 192-0-2-2.ext.default.svc.cluster.local.,"
                 "0 50 53 a.ext.default.svc.cluster.local.");
  kube_dns_free(d);
}

static void test_dual_stack(void **state) {
  kube_dns_t *d = new_dns("none");
  feed(d, "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{"
          "\"name\":\"ds\",\"namespace\":\"default\"},\"spec\":{"
          "\"clusterIP\":\"10.96.0.30\",\"clusterIPs\":[\"10.96.0.30\","
          "\"fd00:96::30\"]}}");
  assert_answers(d, "ds.default.svc.cluster.local.", LDNS_RR_TYPE_A,
                 "10.96.0.30");
  assert_answers(d, "ds.default.svc.cluster.local.", LDNS_RR_TYPE_AAAA,
                 "fd00:96::30");
  assert_answers(d, "ds.default.svc.cluster.local.", LDNS_RR_TYPE_ANY,
                 "10.96.0.30,fd00:96::30");
  assert_answers(d,
                 "0.3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.0."
                 "d.f.ip6.arpa.",
                 LDNS_RR_TYPE_PTR, "ds.default.svc.cluster.local.");
  kube_dns_free(d);
}

static void test_external_name_and_pods(void **state) {
  kube_dns_t *d = new_dns("none");
  feed(d, "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{"
          "\"name\":\"mail\",\"namespace\":\"default\"},\"spec\":{\"type\":"
          "\"ExternalName\",\"externalName\":\"Mail.Example.COM\"}}");
  assert_answers(d, "mail.default.svc.cluster.local.", LDNS_RR_TYPE_A,
                 "mail.example.com.");
  ldns_pkt *r = ask(d, "mail.default.svc.cluster.local.", LDNS_RR_TYPE_AAAA);
  assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(r), 0)),
                   LDNS_RR_TYPE_CNAME);
  ldns_pkt_free(r);
  assert_answers(d, "10-42-1-9.default.pod.cluster.local.", LDNS_RR_TYPE_A,
                 "10.42.1.9");
  assert_answers(d, "fd00--1.x.pod.cluster.local.", LDNS_RR_TYPE_AAAA,
                 "fd00::1");
  assert_negative(d, "10-42-1-9.default.pod.cluster.local.", LDNS_RR_TYPE_AAAA,
                  LDNS_RCODE_NOERROR);
  assert_negative(d, "not-an-ip.default.pod.cluster.local.", LDNS_RR_TYPE_A,
                  LDNS_RCODE_NXDOMAIN);
  assert_negative(d, "pod.cluster.local.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR);
  kube_dns_free(d);
}

/* 60 endpoints: 60 A records do not fit in 512 bytes. */
static void test_truncation(void **state) {
  kube_dns_t *d = new_dns("none");
  feed(d, SVC_HEADLESS);
  char slice[8192];
  size_t k = (size_t)snprintf(
      slice, sizeof slice,
      "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\","
      "\"metadata\":{\"name\":\"big\",\"namespace\":\"prod\",\"labels\":{"
      "\"kubernetes.io/service-name\":\"db\"}},\"endpoints\":[");
  for (int i = 0; i < 60; i++)
    k += (size_t)snprintf(slice + k, sizeof slice - k,
                          "%s{\"addresses\":[\"10.1.0.%d\"]}", i ? "," : "",
                          i + 1);
  snprintf(slice + k, sizeof slice - k, "]}");
  feed(d, slice);
  kube_dns_stats_t st;
  ldns_pkt *r = ask(d, "db.prod.svc.cluster.local.", LDNS_RR_TYPE_A);
  assert_true(ldns_pkt_tc(r));
  assert_int_equal(ldns_pkt_ancount(r), 0);
  assert_int_equal(ldns_pkt_qdcount(r), 1);
  ldns_pkt_free(r);
  kube_dns_get_stats(d, &st);
  assert_int_equal(st.truncated, 1);
  /* EDNS0 offering 4096: up to 1232 bytes, and 60 A records fit (with
   * name compression). */
  r = ask_full(d, "db.prod.svc.cluster.local.", LDNS_RR_TYPE_A, 4096, 0, 0);
  assert_false(ldns_pkt_tc(r));
  assert_int_equal(ldns_pkt_ancount(r), 60);
  assert_int_equal(ldns_pkt_edns_udp_size(r), 1232);
  ldns_pkt_free(r);
  /* TCP: everything. */
  r = ask_full(d, "db.prod.svc.cluster.local.", LDNS_RR_TYPE_A, 0, 0, 65535);
  assert_false(ldns_pkt_tc(r));
  assert_int_equal(ldns_pkt_ancount(r), 60);
  ldns_pkt_free(r);
  /* EDNS version 1: BADVERS. */
  r = ask_full(d, "db.prod.svc.cluster.local.", LDNS_RR_TYPE_A, 1232, 1, 0);
  assert_int_equal(ldns_pkt_edns_extended_rcode(r), 1);
  assert_int_equal(ldns_pkt_ancount(r), 0);
  ldns_pkt_free(r);
  kube_dns_free(d);
}

static int resolve_raw(kube_dns_t *d, const uint8_t *w, size_t len,
                       ldns_pkt **out) {
  uint8_t *reply = NULL;
  size_t rlen;
  kube_error_t err = KUBE_ERROR_INIT;
  int rc = kube_dns_resolve(d, w, len, 0, &reply, &rlen, &err);
  if (rc == 1 && out)
    assert_int_equal(ldns_wire2pkt(out, reply, rlen), LDNS_STATUS_OK);
  free(reply);
  return rc;
}

static void test_bad_packets(void **state) {
  kube_dns_t *d = new_dns("none");
  kube_dns_stats_t st;
  /* Too short, a label running past the end, garbage. */
  static const uint8_t shortp[] = {0, 1, 0, 0};
  static const uint8_t overrun[] = {0, 1, 1, 0, 0, 1,   0,  0,
                                    0, 0, 0, 0, 9, 'a', 'b'};
  assert_int_equal(resolve_raw(d, shortp, sizeof shortp, NULL), 0);
  assert_int_equal(resolve_raw(d, overrun, sizeof overrun, NULL), 0);
  uint8_t junk[300];
  for (size_t i = 0; i < sizeof junk; i++)
    junk[i] = (uint8_t)(i * 37 + 11);
  resolve_raw(d, junk, sizeof junk, NULL);
  /* A response (QR set) is never answered. */
  static const uint8_t resp[] = {0, 1, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 0};
  assert_int_equal(resolve_raw(d, resp, sizeof resp, NULL), 0);
  /* No question: FORMERR; an opcode other than QUERY: NOTIMP. */
  static const uint8_t noq[] = {0, 7, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  ldns_pkt *r = NULL;
  assert_int_equal(resolve_raw(d, noq, sizeof noq, &r), 1);
  assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_FORMERR);
  ldns_pkt_free(r);
  static const uint8_t status[] = {0, 7, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  assert_int_equal(resolve_raw(d, status, sizeof status, &r), 1);
  assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_NOTIMPL);
  ldns_pkt_free(r);
  kube_dns_get_stats(d, &st);
  assert_true(st.dropped >= 3);
  kube_dns_free(d);
}

static void test_outside_names(void **state) {
  kube_dns_t *none = new_dns("none");
  const char *names[] = {"example.com.", "9.9.9.9.in-addr.arpa."};
  for (size_t i = 0; i < 2; i++) {
    ldns_pkt *r = ask(none, names[i], LDNS_RR_TYPE_A);
    assert_non_null(r);
    assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_SERVFAIL);
    assert_false(ldns_pkt_aa(r));
    assert_int_equal(ldns_pkt_ancount(r) + ldns_pkt_nscount(r), 0);
    ldns_pkt_free(r);
  }
  kube_dns_free(none);
  /* With an upstream they are not answered here (the listeners forward
   * them); the cluster's names still are. */
  kube_dns_t *fwd = new_dns("127.0.0.1:9,[::1]:53");
  for (size_t i = 0; i < 2; i++)
    assert_null(ask(fwd, names[i], LDNS_RR_TYPE_A));
  assert_answers(fwd, "ns.dns.cluster.local.", LDNS_RR_TYPE_A, "10.96.0.10");
  kube_dns_free(fwd);
  /* An upstream that is the server's own listener is dropped (it would
   * loop): SERVFAIL instead of forwarding. */
  char self[64];
  snprintf(self, sizeof self, "127.0.0.83:%d", 20000 + getpid() % 20000);
  kube_dns_t *loopy = new_dns(self);
  kube_error_t lerr = KUBE_ERROR_INIT;
  if (kube_dns_listen(loopy, self, &lerr) > 0) {
    ldns_pkt *r = ask(loopy, "example.com.", LDNS_RR_TYPE_A);
    assert_non_null(r);
    assert_int_equal(ldns_pkt_get_rcode(r), LDNS_RCODE_SERVFAIL);
    ldns_pkt_free(r);
  }
  kube_error_clear(&lerr);
  kube_dns_free(loopy);
  /* A TCP port taken: no UDP listener stays behind either. */
  int tfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(0x7f000054)};
  socklen_t sl = sizeof sa;
  assert_int_equal(bind(tfd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(listen(tfd, 1), 0);
  getsockname(tfd, (struct sockaddr *)&sa, &sl);
  char busy[64];
  snprintf(busy, sizeof busy, "127.0.0.84:%d", ntohs(sa.sin_port));
  kube_dns_t *half = new_dns("none");
  assert_int_equal(kube_dns_listen(half, busy, &lerr), -1);
  kube_error_clear(&lerr);
  int ufd = socket(AF_INET, SOCK_DGRAM, 0);
  assert_int_equal(bind(ufd, (struct sockaddr *)&sa, sizeof sa), 0);
  close(ufd);
  close(tfd);
  kube_dns_free(half);
  /* Bad options. */
  const char *bad_up[] = {"bogus", "1.2.3.4:99999", ",", "[::1"};
  for (size_t i = 0; i < 4; i++) {
    kube_dns_options_t o = {.struct_size = sizeof o, .upstream = bad_up[i]};
    kube_error_t err = KUBE_ERROR_INIT;
    assert_null(kube_dns_new(loop, &o, &err));
    assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
    kube_error_clear(&err);
  }
  kube_dns_options_t o = {
      .struct_size = sizeof o, .upstream = "none", .domain = "a..b"};
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_dns_options_check(&o, &err), -1);
  kube_error_clear(&err);
  o.domain = "Example.TEST.";
  assert_int_equal(kube_dns_options_check(&o, &err), 0);
}

int main(void) {
  kube_error_t err = KUBE_ERROR_INIT;
  loop = kube_loop_new(&err);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cluster_ip),
      cmocka_unit_test(test_headless),
      cmocka_unit_test(test_endpoints_fallback),
      cmocka_unit_test(test_dual_stack),
      cmocka_unit_test(test_external_name_and_pods),
      cmocka_unit_test(test_truncation),
      cmocka_unit_test(test_bad_packets),
      cmocka_unit_test(test_outside_names),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  kube_loop_free(loop);
  return rc;
}
