/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-net: the Service datapath (kube_svclb_t, eBPF cgroup socket load
 * balancing) against iptables DNAT rules doing the same work in the same
 * run.  Everything happens in a network namespace of the bench's own, on
 * loopback; the service CIDR is 198.18.0.0/15 (the benchmarking range).
 *
 *  - programming: 10,000 Services of 5 endpoints each (50,000) written
 *    into the maps, then 1,000 endpoint changes of one Service, each
 *    timed (svc_programming_p99_ms_10k: the map writes until the
 *    datapath has it, not the API -> informer -> proxy path before); the
 *    peer is kube-proxy's iptables mode, which rewrites the whole nat
 *    table with iptables-restore for a change: that restore timed
 *    (iptables_restore_ms_10k) and ratio_svc_programming_vs_iptables.
 *  - connect(): to a Service's VIP vs to its backend directly, alternating
 *    (medians; ratio_vip_vs_direct_connect, goal <= 1.05).
 *  - the nftables mode (kube_nftlb_t, --proxy-mode nftables) doing the
 *    same: the 10,000 Services in one transaction (nft_fill_ms_10k), the
 *    endpoint changes (1,000, -e) each committed alone: wall clock
 *    (nft_programming_p50/p99_ms_10k) and the CPU time of the committing
 *    thread, the kernel's part included (nft_programming_cpu_p50/p99_ms_10k:
 *    what a loaded machine does not blur; the kernel's part alone:
 *    nft_programming_sys_p50/p99_ms_10k), and connect() through its DNAT
 *    (ratio_nft_vip_vs_direct_connect).
 *
 *   bench-net [--json] [-n SERVICES] [-c CONNECTS] [-e NFT_CHANGES]
 *
 * Needs root (exits 77 without it or without cgroup v2 / BPF).  With
 * --json the last line is one JSON object.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libkube/net.h>

#include "../bench-util.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p) {
  qsort(v, n, sizeof *v, cmp_double);
  size_t i = (size_t)(p * (double)(n - 1) + 0.5);
  return v[i < n ? i : n - 1];
}

static int lo_up(void) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct ifreq ifr = {0};
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
  int rc = fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0 ? -1 : 0;
  ifr.ifr_flags |= IFF_UP;
  if (!rc)
    rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
  if (fd >= 0)
    close(fd);
  return rc;
}

static void *acceptor(void *arg) {
  int l = *(int *)arg;
  for (;;) {
    int c = accept(l, NULL, NULL);
    if (c >= 0)
      close(c);
  }
  return NULL;
}

static double connect_us(const char *ip, int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, ip, &a.sin_addr);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  double t = now();
  int rc = connect(s, (struct sockaddr *)&a, sizeof a);
  t = now() - t;
  close(s);
  return rc == 0 ? t * 1e6 : -1;
}

static void vip_of(int i, char out[16]) {
  uint32_t ip = (198u << 24) | (18u << 16) | (uint32_t)(i + 1);
  snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
           ip & 255);
}

/* The iptables peer: kube-proxy's shape (a chain per Service, a rule per
 * endpoint with the statistic match) for n Services, restored at once. */
static double iptables_restore_ms(int n) {
  char path[] = "/tmp/bench-net-rules-XXXXXX";
  int fd = mkstemp(path);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f)
    return -1;
  fprintf(f, "*nat\n:BENCH-SERVICES - [0:0]\n");
  for (int i = 0; i < n; i++)
    fprintf(f, ":BENCH-SVC-%d - [0:0]\n", i);
  for (int i = 0; i < n; i++) {
    char vip[16];
    vip_of(i, vip);
    fprintf(f, "-A BENCH-SERVICES -d %s/32 -p tcp -m tcp --dport 80 -j "
               "BENCH-SVC-%d\n",
            vip, i);
    for (int k = 0; k < 5; k++) {
      fprintf(f, "-A BENCH-SVC-%d", i);
      if (k < 4)
        fprintf(f, " -m statistic --mode random --probability %.5f",
                1.0 / (5 - k));
      fprintf(f, " -p tcp -j DNAT --to-destination 127.0.0.%d:8080\n", k + 1);
    }
  }
  fprintf(f, "COMMIT\n");
  fclose(f);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "iptables-restore -w 5 %s 2>/dev/null", path);
  double t = now();
  int rc = system(cmd);
  t = now() - t;
  unlink(path);
  return rc == 0 ? t * 1000 : -1;
}

/* CPU seconds of the calling thread (user + kernel), and of the kernel. */
static double thread_cpu(double *sys) {
  struct rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  *sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
  return *sys + (double)ru.ru_utime.tv_sec +
         (double)ru.ru_utime.tv_usec / 1e6;
}

/* The nftables mode on the same work. */
struct nft_figures {
  bool ok;
  double fill_ms, p50, p99, max, cpu_p50, cpu_p99, sys_p50, sys_p99, vip_us,
      direct_us;
};

static void nft_bench(int n, int port, int connects, int changes,
                      const kube_svclb_backend_t *be, struct nft_figures *f) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_nftlb_options_t o = {.struct_size = sizeof o,
                            .table = "bench-net",
                            .service_cidr = "198.18.0.0/15"};
  kube_nftlb_t *lb = kube_nftlb_new(&o, &err);
  if (!lb || kube_net_service_route("198.18.0.0/15", "127.0.0.1", true, &err) < 0) {
    printf("nftables: skipped: %s\n", err.message);
    kube_error_clear(&err);
    kube_nftlb_free(lb);
    return;
  }
  double t0 = now();
  for (int i = 0; i < n; i++) {
    char vip[16];
    vip_of(i, vip);
    kube_nftlb_set(lb, vip, 80, "TCP", be, 5, 0, NULL);
  }
  if (kube_nftlb_commit(lb, &err) < 0) {
    printf("nftables: %s\n", err.message);
    goto out;
  }
  f->fill_ms = (now() - t0) * 1000;
  double *ch = calloc((size_t)changes, sizeof *ch);
  double *cpu = calloc((size_t)changes, sizeof *cpu);
  double *sys = calloc((size_t)changes, sizeof *sys);
  for (int i = 0; ch && cpu && sys && i < changes; i++) {
    char vip[16];
    vip_of(i % n, vip);
    double s0, s1, t = now(), c = thread_cpu(&s0);
    /* a real change each time (a set as it is writes nothing) */
    kube_nftlb_set(lb, vip, 80, "TCP", be, (i / n) % 2 ? 5 : 4, 0, NULL);
    kube_nftlb_commit(lb, NULL);
    cpu[i] = (thread_cpu(&s1) - c) * 1000;
    sys[i] = (s1 - s0) * 1000;
    ch[i] = (now() - t) * 1000;
  }
  if (ch && cpu && sys) {
    f->p50 = pct(ch, (size_t)changes, 0.5);
    f->p99 = pct(ch, (size_t)changes, 0.99);
    f->max = ch[changes - 1];
    f->cpu_p50 = pct(cpu, (size_t)changes, 0.5);
    f->cpu_p99 = pct(cpu, (size_t)changes, 0.99);
    f->sys_p50 = pct(sys, (size_t)changes, 0.5);
    f->sys_p99 = pct(sys, (size_t)changes, 0.99);
  }
  free(ch);
  free(cpu);
  free(sys);
  kube_svclb_backend_t one = {.ip = "127.0.0.1", .port = port};
  kube_nftlb_set(lb, "198.19.255.254", 80, "TCP", &one, 1, 0, NULL);
  kube_nftlb_commit(lb, NULL);
  double *cv = calloc((size_t)connects, sizeof *cv);
  double *cd = calloc((size_t)connects, sizeof *cd);
  size_t nv = 0, nd = 0;
  for (int i = 0; cv && cd && i < 2 * connects; i++) {
    double us = i % 2 ? connect_us("198.19.255.254", 80)
                      : connect_us("127.0.0.1", port);
    if (us >= 0 && i % 2)
      cv[nv++] = us;
    else if (us >= 0)
      cd[nd++] = us;
  }
  if (nv >= 10 && nd >= 10) {
    f->vip_us = pct(cv, nv, 0.5);
    f->direct_us = pct(cd, nd, 0.5);
    f->ok = true;
  } else {
    printf("nftables: connects failed (%zu VIP, %zu direct)\n", nv, nd);
  }
  free(cv);
  free(cd);
out:
  kube_error_clear(&err);
  kube_nftlb_free(lb);
  kube_net_service_route("198.18.0.0/15", "127.0.0.1", false, NULL);
}

int main(int argc, char **argv) {
  bool json = false;
  int n = 10000, connects = 20000, changes = 1000;
  const char *usage = "usage: bench-net [--json] [-n SERVICES] [-c CONNECTS] "
                      "[-e NFT_CHANGES]\n";
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      printf("%s  the Service datapath, eBPF and nftables modes, with -n "
             "Services (default 10000) of 5 endpoints: the time to program "
             "them, an endpoint change (p50/p99; nftables: -e changes, "
             "default 1000, each one commit), connect() through a VIP; "
             "needs root\n",
             usage);
      return 0;
    }
    if (!strcmp(argv[i], "--json"))
      json = true;
    else if (!strcmp(argv[i], "-e") && i + 1 < argc)
      changes = atoi(argv[++i]);
    else if (!strcmp(argv[i], "-n") && i + 1 < argc)
      n = atoi(argv[++i]);
    else if (!strcmp(argv[i], "-c") && i + 1 < argc)
      connects = atoi(argv[++i]);
  }
  if (n < 1 || n > 60000 || connects < 10 || changes < 1 ||
      changes > 100000) {
    fputs(usage, stderr);
    return 2;
  }
  if (geteuid() != 0) {
    printf("SKIP: bench-net needs root\n");
    return 77;
  }
  if (unshare(CLONE_NEWNET) < 0 || lo_up() < 0) {
    printf("SKIP: cannot make a network namespace\n");
    return 77;
  }
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 4096) < 0 ||
      getsockname(l, (struct sockaddr *)&a, &al) < 0)
    return 1;
  int port = ntohs(a.sin_port);
  pthread_t th;
  pthread_create(&th, NULL, acceptor, &l);

  kube_error_t err = KUBE_ERROR_INIT;
  kube_svclb_options_t o = {.struct_size = sizeof o,
                            .service_cidr = "198.18.0.0/15"};
  kube_svclb_t *lb = kube_svclb_new(&o, &err);
  if (!lb) {
    printf("SKIP: %s\n", err.message);
    kube_error_clear(&err);
    return 77;
  }
  /* 10,000 Services x 5 endpoints */
  kube_svclb_backend_t be[5];
  char ips[5][16];
  for (int k = 0; k < 5; k++) {
    snprintf(ips[k], sizeof ips[k], "127.0.0.%d", k + 1);
    be[k] = (kube_svclb_backend_t){.ip = ips[k], .port = 8080};
  }
  double t0 = now();
  for (int i = 0; i < n; i++) {
    char vip[16];
    vip_of(i, vip);
    if (kube_svclb_set(lb, vip, 80, "TCP", be, 5, 0, &err) < 0) {
      fprintf(stderr, "bench-net: %s\n", err.message);
      return 1;
    }
  }
  double fill_ms = (now() - t0) * 1000;
  /* endpoint changes of one Service: 5 -> 4 -> 5 ... */
  enum { CHANGES = 1000 };
  double *ch = calloc(CHANGES, sizeof *ch);
  for (int i = 0; i < CHANGES; i++) {
    char vip[16];
    vip_of(i % n, vip);
    double t = now();
    kube_svclb_set(lb, vip, 80, "TCP", be, i % 2 ? 5 : 4, 0, NULL);
    ch[i] = (now() - t) * 1000;
  }
  double ch_p50 = pct(ch, CHANGES, 0.5), ch_p99 = pct(ch, CHANGES, 0.99);
  /* connect(): a VIP whose one backend is the listener, vs the listener */
  char vip[16] = "198.19.255.254";
  kube_svclb_backend_t one = {.ip = "127.0.0.1", .port = port};
  kube_svclb_set(lb, vip, 80, "TCP", &one, 1, 0, NULL);
  double *cv = calloc((size_t)connects, sizeof *cv);
  double *cd = calloc((size_t)connects, sizeof *cd);
  size_t nv = 0, nd = 0;
  for (int i = 0; i < 1000; i++)
    connect_us(i % 2 ? vip : "127.0.0.1", i % 2 ? 80 : port);
  for (int i = 0; i < 2 * connects; i++) {
    double us = i % 2 ? connect_us(vip, 80) : connect_us("127.0.0.1", port);
    if (us < 0)
      continue;
    if (i % 2)
      cv[nv++] = us;
    else
      cd[nd++] = us;
  }
  kube_svclb_free(lb);
  if (nv < 10 || nd < 10) {
    fprintf(stderr, "bench-net: connects failed (%zu VIP, %zu direct)\n", nv,
            nd);
    return 1;
  }
  double v50 = pct(cv, nv, 0.5), d50 = pct(cd, nd, 0.5);
  struct nft_figures nf = {0};
  nft_bench(n, port, connects / 4 > 10 ? connects / 4 : 10, changes, be, &nf);
  double ipt = iptables_restore_ms(n);
  printf("programming: %d Services x 5 endpoints written in %.0f ms; an "
         "endpoint change p50 %.3f ms, p99 %.3f ms\n",
         n, fill_ms, ch_p50, ch_p99);
  if (ipt >= 0)
    printf("iptables peer: one iptables-restore of the same %d Services: "
           "%.0f ms (%.0fx the p99)\n",
           n, ipt, ipt / ch_p99);
  else
    printf("iptables peer: iptables-restore failed\n");
  printf("connect(): VIP %.1f us, backend directly %.1f us (median, %zu "
         "each), ratio %.3f\n",
         v50, d50, nv, v50 / d50);
  if (nf.ok)
    printf("nftables mode: %d Services x 5 endpoints in one transaction in "
           "%.0f ms; an endpoint change (one transaction, %d of them) p50 "
           "%.3f ms, p99 %.3f ms, max %.3f ms (CPU p50 %.3f ms, p99 %.3f "
           "ms, of which the kernel's p50 %.3f ms, p99 %.3f ms); connect() "
           "through its DNAT %.1f us vs %.1f us directly\n",
           n, nf.fill_ms, changes, nf.p50, nf.p99, nf.max, nf.cpu_p50,
           nf.cpu_p99, nf.sys_p50, nf.sys_p99, nf.vip_us, nf.direct_us);
  if (json) {
    /* the keys carry the Service count actually run: _10k by default */
    char sz[16] = "10k";
    if (n != 10000)
      snprintf(sz, sizeof sz, "%d", n);
    printf("{\"services\": %d, \"endpoints\": %d, \"svc_fill_ms\": %.1f, "
           "\"svc_programming_p50_ms_%s\": %.4f, "
           "\"svc_programming_p99_ms_%s\": %.4f, ",
           n, n * 5, fill_ms, sz, ch_p50, sz, ch_p99);
    if (ipt >= 0)
      printf("\"iptables_restore_ms_%s\": %.1f, "
             "\"ratio_svc_programming_vs_iptables\": %.5f, ",
             sz, ipt, ch_p99 / ipt);
    else
      printf("\"iptables_restore_ms_%s\": null, "
             "\"ratio_svc_programming_vs_iptables\": null, ",
             sz);
    if (nf.ok)
      printf("\"nft_fill_ms_%s\": %.1f, \"nft_programming_p50_ms_%s\": "
             "%.4f, \"nft_programming_p99_ms_%s\": %.4f, "
             "\"nft_programming_cpu_p50_ms_%s\": %.4f, "
             "\"nft_programming_cpu_p99_ms_%s\": %.4f, "
             "\"nft_programming_sys_p50_ms_%s\": %.4f, "
             "\"nft_programming_sys_p99_ms_%s\": %.4f, "
             "\"ratio_nft_vip_vs_direct_connect\": %.4f, ",
             sz, nf.fill_ms, sz, nf.p50, sz, nf.p99, sz, nf.cpu_p50, sz,
             nf.cpu_p99, sz, nf.sys_p50, sz, nf.sys_p99,
             nf.vip_us / nf.direct_us);
    else
      printf("\"nft_fill_ms_%s\": null, \"nft_programming_p50_ms_%s\": "
             "null, \"nft_programming_p99_ms_%s\": null, "
             "\"nft_programming_cpu_p50_ms_%s\": null, "
             "\"nft_programming_cpu_p99_ms_%s\": null, "
             "\"nft_programming_sys_p50_ms_%s\": null, "
             "\"nft_programming_sys_p99_ms_%s\": null, "
             "\"ratio_nft_vip_vs_direct_connect\": null, ",
             sz, sz, sz, sz, sz, sz, sz);
    printf("\"vip_connect_us\": %.2f, \"direct_connect_us\": %.2f, "
           "\"ratio_vip_vs_direct_connect\": %.4f}\n",
           v50, d50, v50 / d50);
  }
  return 0;
}
