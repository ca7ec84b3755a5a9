/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The NetworkPolicy datapath (kube_netpol_t) on packets: the real tc
 * programs, loaded and fed by kube_netpol_sync, run on hand-made frames
 * with BPF_PROG_TEST_RUN (no interface needed), so every verdict is the
 * kernel's: unisolated pods pass; an isolated pod gets what its
 * allowances say (CIDR minus excepts, unioned with a more specific pod
 * peer; protocols and port ranges); replies of an allowed flow pass the
 * other direction, and so do ICMP errors quoting a packet of one; later
 * fragments pass on their first's verdict; the node's addresses reach
 * isolated pods; a sync that drops the isolation opens the pod again;
 * a flow established before a sync that denies it is cut, both ways, and
 * passes again after a sync that allows it; bad input is BadRequest.
 * Needs root and BPF: skipped (77) otherwise.
 */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>

#include "net/internal.h"

#define POD "10.0.0.2"
#define HOST "10.0.0.1"

static kube_netpol_t *np;

/* An IPv4 header and the two ports after it at p (28 bytes). */
static void header(unsigned char *p, int proto, const char *from_ip,
                   int sport, const char *to_ip, int dport, int frag_off,
                   int len) {
  struct iphdr *ip = (void *)p;
  ip->version = 4;
  ip->ihl = 5;
  ip->ttl = 64;
  ip->protocol = (uint8_t)proto;
  ip->tot_len = htons((uint16_t)len);
  ip->frag_off = htons((uint16_t)frag_off);
  inet_pton(AF_INET, from_ip, &ip->saddr);
  inet_pton(AF_INET, to_ip, &ip->daddr);
  uint16_t *ports = (void *)(p + 20);
  ports[0] = htons((uint16_t)sport);
  ports[1] = htons((uint16_t)dport);
}

static int run_frame(bool to_pod, unsigned char *pkt, size_t len) {
  ((struct ethhdr *)pkt)->h_proto = htons(ETH_P_IP);
  LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len,
              .repeat = 1);
  int rc = bpf_prog_test_run_opts(net_netpol_prog_fd(np, to_pod), &o);
  assert_int_equal(rc, 0);
  return (int)o.retval;
}

/* Run the program on one IPv4 packet: from_ip:sport -> to_ip:dport.  The
 * verdict (TC_ACT_OK or TC_ACT_SHOT). */
static int run(bool to_pod, int proto, const char *from_ip, int sport,
               const char *to_ip, int dport) {
  unsigned char pkt[14 + 20 + 20] = {0};
  header(pkt + 14, proto, from_ip, sport, to_ip, dport, 0, 40);
  if (proto == IPPROTO_TCP)
    pkt[34 + 12] = 5 << 4; /* data offset */
  return run_frame(to_pod, pkt, sizeof pkt);
}
/* A packet to the pod (its ingress) / from it (its egress). */
#define IN(proto, peer, sport, dport)                                          \
  run(true, proto, peer, sport, POD, dport)
#define OUT(proto, peer, sport, dport)                                         \
  run(false, proto, POD, sport, peer, dport)

static int setup(void **state) {
  if (geteuid() != 0) {
    fprintf(stderr, "SKIP: needs root (BPF programs)\n");
    exit(77);
  }
  kube_error_t err = KUBE_ERROR_INIT;
  kube_netpol_options_t o = {.struct_size = sizeof o,
                             .bridge = "kube-np-unit"};
  if (!(np = kube_netpol_new(&o, &err))) {
    fprintf(stderr, "SKIP: no BPF here: %s\n", err.message);
    kube_error_clear(&err);
    exit(77);
  }
  const char *hosts[] = {HOST, NULL};
  assert_int_equal(kube_netpol_set_hosts(np, hosts, &err), 0);
  return 0;
}

static int teardown(void **state) {
  kube_netpol_free(np);
  return 0;
}

static void test_unisolated(void **state) {
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_netpol_sync(np, NULL, 0, NULL, 0, &err), 0);
  assert_int_equal(IN(IPPROTO_TCP, "10.9.9.9", 1000, 80), TC_ACT_OK);
  assert_int_equal(OUT(IPPROTO_UDP, "10.9.9.9", 1000, 53), TC_ACT_OK);
}

static void test_ingress(void **state) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_netpol_pod_t pod = {.ip = POD, .isolated_ingress = true};
  const char *except[] = {"10.1.2.0/24"};
  kube_netpol_range_t tcp80 = {IPPROTO_TCP, 80, 80};
  kube_netpol_range_t udp_range = {IPPROTO_UDP, 1000, 2000};
  kube_netpol_allow_t allow[] = {
      /* an ipBlock with an except, TCP 80 */
      {.pod_ip = POD, .cidr = "10.1.0.0/16", .except = except, .n_except = 1,
       .ranges = &tcp80, .n_ranges = 1},
      /* a pod peer inside the except: every port */
      {.pod_ip = POD, .cidr = "10.1.2.3", .all_ports = true},
      /* another block, a UDP range (endPort) */
      {.pod_ip = POD, .cidr = "10.2.0.0/16", .ranges = &udp_range,
       .n_ranges = 1},
  };
  assert_int_equal(kube_netpol_sync(np, &pod, 1, allow, 3, &err), 0);
  assert_int_equal(kube_netpol_rule_count(np), 4); /* 3 CIDRs, 1 except */
  assert_int_equal(IN(IPPROTO_TCP, "10.1.5.5", 2001, 80), TC_ACT_OK);
  assert_int_equal(IN(IPPROTO_TCP, "10.1.5.5", 2002, 81), TC_ACT_SHOT);
  assert_int_equal(IN(IPPROTO_UDP, "10.1.5.5", 2003, 80), TC_ACT_SHOT);
  assert_int_equal(IN(IPPROTO_TCP, "10.1.2.7", 2004, 80), TC_ACT_SHOT);
  assert_int_equal(IN(IPPROTO_TCP, "10.1.2.3", 2005, 81), TC_ACT_OK);
  assert_int_equal(IN(IPPROTO_SCTP, "10.1.2.3", 2006, 9), TC_ACT_OK);
  assert_int_equal(IN(IPPROTO_UDP, "10.2.0.9", 2007, 1500), TC_ACT_OK);
  assert_int_equal(IN(IPPROTO_UDP, "10.2.0.9", 2008, 2001), TC_ACT_SHOT);
  assert_int_equal(IN(IPPROTO_TCP, "10.2.0.9", 2009, 1500), TC_ACT_SHOT);
  assert_int_equal(IN(IPPROTO_TCP, "10.9.9.9", 2010, 80), TC_ACT_SHOT);
  /* the node reaches it anyway (probes) */
  assert_int_equal(IN(IPPROTO_TCP, HOST, 2011, 8080), TC_ACT_OK);
  /* egress is not isolated */
  assert_int_equal(OUT(IPPROTO_TCP, "10.9.9.9", 2012, 443), TC_ACT_OK);
}

static void test_stateful(void **state) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_netpol_pod_t pod = {.ip = POD, .isolated_ingress = true,
                           .isolated_egress = true};
  kube_netpol_range_t tcp80 = {IPPROTO_TCP, 80, 80};
  kube_netpol_allow_t allow[] = {
      {.pod_ip = POD, .cidr = "10.3.0.0/16", .ranges = &tcp80, .n_ranges = 1},
      {.pod_ip = POD, .egress = true, .cidr = "10.4.0.0/16", .all_ports = true},
  };
  assert_int_equal(kube_netpol_sync(np, &pod, 1, allow, 2, &err), 0);
  /* in to port 80, the reply out passes; a new connection out does not */
  assert_int_equal(IN(IPPROTO_TCP, "10.3.0.1", 3001, 80), TC_ACT_OK);
  assert_int_equal(OUT(IPPROTO_TCP, "10.3.0.1", 80, 3001), TC_ACT_OK);
  assert_int_equal(OUT(IPPROTO_TCP, "10.3.0.1", 3002, 80), TC_ACT_SHOT);
  /* out to 10.4/16, its reply in passes; a new one in from there not */
  assert_int_equal(OUT(IPPROTO_UDP, "10.4.0.1", 3003, 53), TC_ACT_OK);
  assert_int_equal(IN(IPPROTO_UDP, "10.4.0.1", 53, 3003), TC_ACT_OK);
  assert_int_equal(IN(IPPROTO_UDP, "10.4.0.1", 53, 3004), TC_ACT_SHOT);
  /* the node is no exception for egress */
  assert_int_equal(OUT(IPPROTO_TCP, HOST, 3005, 53), TC_ACT_SHOT);
}

static void test_reopen(void **state) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_netpol_pod_t pod = {.ip = POD, .isolated_ingress = true};
  assert_int_equal(kube_netpol_sync(np, &pod, 1, NULL, 0, &err), 0);
  assert_int_equal(kube_netpol_rule_count(np), 0);
  assert_int_equal(IN(IPPROTO_TCP, "10.5.0.1", 4001, 80), TC_ACT_SHOT);
  assert_int_equal(kube_netpol_sync(np, NULL, 0, NULL, 0, &err), 0);
  assert_int_equal(IN(IPPROTO_TCP, "10.5.0.1", 4002, 80), TC_ACT_OK);
}

/* Established flows are checked again after a sync that changed the
 * policies: a deny cuts them (their replies too, which never turn into
 * new flows of the other side), an allow lets them on. */
static void test_established(void **state) {
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_netpol_sync(np, NULL, 0, NULL, 0, &err), 0);
  assert_int_equal(IN(IPPROTO_TCP, "10.6.0.1", 5001, 80), TC_ACT_OK);
  assert_int_equal(OUT(IPPROTO_TCP, "10.6.0.1", 80, 5001), TC_ACT_OK);
  assert_int_equal(OUT(IPPROTO_UDP, "10.6.0.2", 5002, 53), TC_ACT_OK);
  /* ingress denied: the TCP flow in goes, both ways; the UDP flow out
   * stays (egress is not isolated) and so do its replies */
  kube_netpol_pod_t pod = {.ip = POD, .isolated_ingress = true};
  assert_int_equal(kube_netpol_sync(np, &pod, 1, NULL, 0, &err), 0);
  assert_int_equal(OUT(IPPROTO_TCP, "10.6.0.1", 80, 5001), TC_ACT_SHOT);
  assert_int_equal(IN(IPPROTO_TCP, "10.6.0.1", 5001, 80), TC_ACT_SHOT);
  assert_int_equal(OUT(IPPROTO_TCP, "10.6.0.1", 80, 5001), TC_ACT_SHOT);
  assert_int_equal(IN(IPPROTO_UDP, "10.6.0.2", 53, 5002), TC_ACT_OK);
  /* a sync that changes nothing keeps the verdicts */
  assert_int_equal(kube_netpol_sync(np, &pod, 1, NULL, 0, &err), 0);
  assert_int_equal(IN(IPPROTO_TCP, "10.6.0.1", 5001, 80), TC_ACT_SHOT);
  /* allowed again: the same flow passes */
  kube_netpol_allow_t allow = {.pod_ip = POD, .cidr = "10.6.0.1",
                               .all_ports = true};
  assert_int_equal(kube_netpol_sync(np, &pod, 1, &allow, 1, &err), 0);
  assert_int_equal(IN(IPPROTO_TCP, "10.6.0.1", 5001, 80), TC_ACT_OK);
  assert_int_equal(OUT(IPPROTO_TCP, "10.6.0.1", 80, 5001), TC_ACT_OK);
  /* egress denied: the UDP flow out goes, its replies too */
  pod.isolated_egress = true;
  assert_int_equal(kube_netpol_sync(np, &pod, 1, &allow, 1, &err), 0);
  assert_int_equal(IN(IPPROTO_UDP, "10.6.0.2", 53, 5002), TC_ACT_SHOT);
  assert_int_equal(OUT(IPPROTO_UDP, "10.6.0.2", 5002, 53), TC_ACT_SHOT);
  assert_int_equal(kube_netpol_sync(np, NULL, 0, NULL, 0, &err), 0);
}

/* A later fragment has no ports: it passes (its first fragment was
 * checked); a first fragment is checked as any packet. */
static void test_fragments(void **state) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_netpol_pod_t pod = {.ip = POD, .isolated_ingress = true};
  assert_int_equal(kube_netpol_sync(np, &pod, 1, NULL, 0, &err), 0);
  unsigned char pkt[14 + 28 + 8] = {0};
  header(pkt + 14, IPPROTO_UDP, "10.6.0.1", 5001, POD, 53, 0x2000, 36);
  assert_int_equal(run_frame(true, pkt, sizeof pkt), TC_ACT_SHOT);
  header(pkt + 14, IPPROTO_UDP, "10.6.0.1", 5001, POD, 53, 185, 36);
  assert_int_equal(run_frame(true, pkt, sizeof pkt), TC_ACT_OK);
}

/* ICMP errors about a recorded flow are related and pass; about another,
 * or other ICMP, they are checked (and here refused). */
static void test_icmp_related(void **state) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_netpol_pod_t pod = {.ip = POD, .isolated_ingress = true,
                           .isolated_egress = true};
  kube_netpol_allow_t out = {.pod_ip = POD, .egress = true,
                             .cidr = "10.7.0.0/16", .all_ports = true};
  assert_int_equal(kube_netpol_sync(np, &pod, 1, &out, 1, &err), 0);
  assert_int_equal(OUT(IPPROTO_UDP, "10.7.0.1", 5000, 53), TC_ACT_OK);
  /* port unreachable from 10.7.0.1, quoting the datagram */
  unsigned char pkt[14 + 20 + 8 + 28] = {0};
  header(pkt + 14, IPPROTO_ICMP, "10.7.0.1", 0, POD, 0, 0, 56);
  pkt[34] = 3; /* type: destination unreachable */
  pkt[35] = 3; /* code: port unreachable */
  header(pkt + 42, IPPROTO_UDP, POD, 5000, "10.7.0.1", 53, 0, 28);
  assert_int_equal(run_frame(true, pkt, sizeof pkt), TC_ACT_OK);
  header(pkt + 42, IPPROTO_UDP, POD, 5001, "10.7.0.1", 53, 0, 28);
  assert_int_equal(run_frame(true, pkt, sizeof pkt), TC_ACT_SHOT);
  pkt[34] = 8; /* an echo request */
  pkt[35] = 0;
  assert_int_equal(run_frame(true, pkt, sizeof pkt), TC_ACT_SHOT);
}

/* Many pod peers (a podSelector over a big namespace) and a CIDR over
 * them: one entry each, the right answers at both ends. */
static void test_many_peers(void **state) {
  enum { N = 3000 };
  kube_error_t err = KUBE_ERROR_INIT;
  kube_netpol_pod_t pod = {.ip = POD, .isolated_ingress = true};
  static char ips[N][16];
  static kube_netpol_allow_t allow[N + 1];
  kube_netpol_range_t tcp80 = {IPPROTO_TCP, 80, 80};
  kube_netpol_range_t udp = {IPPROTO_UDP, 0, 65535};
  for (int i = 0; i < N; i++) {
    snprintf(ips[i], sizeof ips[i], "10.8.%d.%d", i / 250, i % 250 + 1);
    allow[i] = (kube_netpol_allow_t){.pod_ip = POD, .cidr = ips[i],
                                     .ranges = &tcp80, .n_ranges = 1};
  }
  allow[N] = (kube_netpol_allow_t){.pod_ip = POD, .cidr = "10.8.0.0/16",
                                   .ranges = &udp, .n_ranges = 1};
  assert_int_equal(kube_netpol_sync(np, &pod, 1, allow, N + 1, &err), 0);
  assert_int_equal(kube_netpol_rule_count(np), N + 1);
  assert_int_equal(IN(IPPROTO_TCP, ips[N - 1], 6001, 80), TC_ACT_OK);
  assert_int_equal(IN(IPPROTO_UDP, ips[N - 1], 6002, 5), TC_ACT_OK);
  assert_int_equal(IN(IPPROTO_TCP, ips[0], 6003, 81), TC_ACT_SHOT);
  assert_int_equal(IN(IPPROTO_TCP, "10.8.200.1", 6004, 80), TC_ACT_SHOT);
  assert_int_equal(IN(IPPROTO_UDP, "10.8.200.1", 6005, 80), TC_ACT_OK);
  /* a second sync with the same picture writes nothing, a smaller one
   * deletes the rest */
  assert_int_equal(kube_netpol_sync(np, &pod, 1, allow, N + 1, &err), 0);
  assert_int_equal(kube_netpol_sync(np, &pod, 1, allow + N - 10, 11, &err), 0);
  assert_int_equal(kube_netpol_rule_count(np), 11);
  assert_int_equal(IN(IPPROTO_TCP, ips[0], 6006, 80), TC_ACT_SHOT);
  assert_int_equal(IN(IPPROTO_TCP, ips[N - 1], 6007, 80), TC_ACT_OK);
}

static void test_bad_input(void **state) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_netpol_allow_t a = {.pod_ip = POD, .cidr = "10.0.0.0/33"};
  assert_int_equal(kube_netpol_sync(np, NULL, 0, &a, 1, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  kube_netpol_range_t r = {IPPROTO_TCP, 90, 80};
  kube_netpol_allow_t b = {.pod_ip = POD, .cidr = "10.0.0.0/8", .ranges = &r,
                           .n_ranges = 1};
  assert_int_equal(kube_netpol_sync(np, NULL, 0, &b, 1, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  kube_netpol_pod_t p = {.ip = "not-an-ip"};
  assert_int_equal(kube_netpol_sync(np, &p, 1, NULL, 0, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  kube_netpol_options_t o = {.struct_size = sizeof o};
  assert_null(kube_netpol_new(&o, &err));
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unisolated), cmocka_unit_test(test_ingress),
      cmocka_unit_test(test_stateful), cmocka_unit_test(test_reopen),
      cmocka_unit_test(test_established),
      cmocka_unit_test(test_fragments), cmocka_unit_test(test_icmp_related),
      cmocka_unit_test(test_many_peers),
      cmocka_unit_test(test_bad_input),
  };
  return cmocka_run_group_tests_name("netpol", tests, setup, teardown);
}
