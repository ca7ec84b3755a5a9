/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test-nftlb: the nftables Service datapath (kube_nftlb_t) past the size
 * where a change leaves its leftovers to a later sweep (src/net/nft-proxy.c):
 * 800 Services of 5 endpoints (5,600 objects) in a network namespace of
 * the test's own, on loopback.  Checks, through connect() and `nft list`:
 * an endpoint that went has its chain emptied (not yet deleted) and is
 * never chosen; a deleted Service is unreachable while its map element
 * still leads to its empty chain; a Service without endpoints does not
 * answer, and answers again when they come back (the no-endpoint element
 * left behind does not match); after enough changes one commit deletes
 * every leftover (chains, affinity sets, elements) and the Services still
 * answer; the table goes with kube_nftlb_free.  Needs root and nft
 * (exits 77 without).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <libkube/net.h>

#define TABLE "nftlb-test"
#define CIDR "198.18.0.0/15"
#define SERVICES 800

static int failures;

static void check(bool ok, const char *what, const char *detail) {
  printf("%s - %s\n", ok ? "ok" : "not ok", what);
  if (!ok) {
    failures++;
    if (detail)
      printf("  # %s\n", detail);
  }
}

/* 0 when connect() to ip:port succeeds, else its errno. */
static int try_connect(const char *ip, int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, ip, &a.sin_addr);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct timeval tv = {.tv_sec = 3};
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int rc = connect(s, (struct sockaddr *)&a, sizeof a) == 0 ? 0 : errno;
  close(s);
  return rc;
}

static void vip_of(int i, char out[16]) {
  snprintf(out, 16, "198.18.%d.%d", (i + 1) / 256, (i + 1) % 256);
}

/* The output of an nft command (at most 64 KiB); "" when it fails. */
static char *nft(const char *args) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "nft %s 2>/dev/null", args);
  FILE *p = popen(cmd, "r");
  char *buf = calloc(1, 65536);
  size_t n = 0, r;
  while (p && buf && n < 65535 && (r = fread(buf + n, 1, 65535 - n, p)) > 0)
    n += r;
  int st = p ? pclose(p) : -1;
  if (buf && st != 0)
    buf[0] = 0;
  return buf ? buf : strdup("");
}

static bool nft_has(const char *args, const char *needle) {
  char *out = nft(args);
  bool has = *out && (!needle || strstr(out, needle));
  free(out);
  return has;
}

/* Whether every one of `times` connects to the VIP succeeds. */
static bool vip_answers(int i, int times, char *detail, size_t len) {
  char vip[16];
  vip_of(i, vip);
  for (int k = 0; k < times; k++) {
    int e = try_connect(vip, 80);
    if (e) {
      snprintf(detail, len, "%s:80: %s (attempt %d)", vip, strerror(e), k + 1);
      return false;
    }
  }
  return true;
}

/* Whether a connect() to the VIP fails, as it should (its error in
 * `detail`). */
static bool vip_silent(int i, char *detail, size_t len) {
  char vip[16];
  vip_of(i, vip);
  int e = try_connect(vip, 80);
  snprintf(detail, len, "%s:80: %s", vip, e ? strerror(e) : "connected");
  return e != 0;
}

static int commit(kube_nftlb_t *lb) {
  kube_error_t err = KUBE_ERROR_INIT;
  int rc = kube_nftlb_commit(lb, &err);
  if (rc < 0)
    printf("  # commit: %s\n", err.message);
  kube_error_clear(&err);
  return rc;
}

int main(void) {
  if (geteuid() != 0) {
    printf("SKIP: needs root\n");
    return 77;
  }
  if (system("nft --version >/dev/null 2>&1") != 0) {
    printf("SKIP: nft missing (apt-get install nftables)\n");
    return 77;
  }
  if (unshare(CLONE_NEWNET) < 0 ||
      system("ip link set lo up 2>/dev/null") != 0) {
    printf("SKIP: cannot make a network namespace: %s\n", strerror(errno));
    return 77;
  }
  /* one listener for every endpoint address 127.0.0.1-5, never accepting:
   * the handshake completes into its backlog (the test connects a few
   * hundred times) */
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  socklen_t al = sizeof a;
  if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 4096) < 0 ||
      getsockname(l, (struct sockaddr *)&a, &al) < 0) {
    perror("listener");
    return 1;
  }
  int port = ntohs(a.sin_port);

  kube_error_t err = KUBE_ERROR_INIT;
  kube_nftlb_options_t o = {
      .struct_size = sizeof o, .table = TABLE, .service_cidr = CIDR};
  kube_nftlb_t *lb = kube_nftlb_new(&o, &err);
  if (!lb) {
    printf("SKIP: %s\n", err.message);
    kube_error_clear(&err);
    return 77;
  }
  if (kube_net_service_route(CIDR, "127.0.0.1", true, &err) < 0) {
    printf("not ok - service route: %s\n", err.message);
    kube_error_clear(&err);
    kube_nftlb_free(lb);
    return 1;
  }
  kube_svclb_backend_t be[5];
  char ips[5][16];
  for (int k = 0; k < 5; k++) {
    snprintf(ips[k], sizeof ips[k], "127.0.0.%d", k + 1);
    be[k] = (kube_svclb_backend_t){.ip = ips[k], .port = port};
  }
  for (int i = 0; i < SERVICES; i++) {
    char vip[16];
    vip_of(i, vip);
    /* service 3 with session affinity: its sets are leftovers later */
    if (kube_nftlb_set(lb, vip, 80, "TCP", be, 5, i == 3 ? 60 : 0, &err) < 0) {
      printf("not ok - set %s: %s\n", vip, err.message);
      return 1;
    }
  }
  check(commit(lb) == SERVICES, "800 Services x 5 endpoints in one commit",
        NULL);
  char detail[256] = "", args[256], chain[160];
  check(vip_answers(0, 5, detail, sizeof detail), "ClusterIP answers", detail);

  /* service 0: 127.0.0.5 goes */
  kube_nftlb_set(lb, "198.18.0.1", 80, "TCP", be, 4, 0, NULL);
  commit(lb);
  snprintf(chain, sizeof chain, "service-198.18.0.1-tcp-80__127.0.0.5/%d",
           port);
  snprintf(args, sizeof args, "list chain ip " TABLE " %s", chain);
  char *out = nft(args);
  check(*out && !strstr(out, "dnat"),
        "the chain of the endpoint that went is left empty", out);
  free(out);
  check(nft_has("list chain ip " TABLE " service-198.18.0.1-tcp-80",
                "mod 4 vmap"),
        "the Service's chain picks among 4", NULL);
  check(vip_answers(0, 20, detail, sizeof detail),
        "the Service answers with 4 endpoints", detail);

  /* service 1 deleted: unreachable, its element left to the sweep */
  kube_nftlb_delete(lb, "198.18.0.2", 80, "TCP", NULL);
  commit(lb);
  check(vip_silent(1, detail, sizeof detail),
        "a deleted Service does not answer", detail);
  check(nft_has("list map ip " TABLE " services", "198.18.0.2 . tcp . 80"),
        "its map element is left for the sweep", NULL);

  /* service 2: no endpoints, then back */
  kube_nftlb_set(lb, "198.18.0.3", 80, "TCP", NULL, 0, 0, NULL);
  commit(lb);
  /* (rejected on output: for a local socket a soft error, the SYN is
   * retried until the timeout; from a pod it is a refusal) */
  check(vip_silent(2, detail, sizeof detail),
        "a Service without endpoints does not answer", detail);
  kube_nftlb_set(lb, "198.18.0.3", 80, "TCP", be, 5, 0, NULL);
  commit(lb);
  check(nft_has("list set ip " TABLE " no-endpoint-services",
                "198.18.0.3 . tcp . 80"),
        "its no-endpoint element is left for the sweep", NULL);
  check(vip_answers(2, 20, detail, sizeof detail),
        "with endpoints again it answers (the element left does not match)",
        detail);

  /* service 3 (affinity 60 s): one endpoint goes, then the affinity */
  kube_nftlb_set(lb, "198.18.0.4", 80, "TCP", be, 4, 60, NULL);
  commit(lb);
  kube_nftlb_set(lb, "198.18.0.4", 80, "TCP", be, 4, 30, NULL);
  commit(lb);
  check(vip_answers(3, 10, detail, sizeof detail),
        "a Service whose affinity changed answers", detail);

  /* churn: one endpoint of each other Service goes, 100 per commit; the
   * leftovers reach an eighth of the table on the way: one sweep */
  for (int i = 4; i < SERVICES; i++) {
    char vip[16];
    vip_of(i, vip);
    kube_nftlb_set(lb, vip, 80, "TCP", be, 4, 0, NULL);
    if ((i - 3) % 100 == 0 || i == SERVICES - 1)
      commit(lb);
  }
  snprintf(args, sizeof args, "list chain ip " TABLE " %s", chain);
  check(!nft_has(args, NULL), "the sweep deleted the endpoint chain left",
        chain);
  check(!nft_has("list map ip " TABLE " services", "198.18.0.2 . tcp . 80"),
        "... the deleted Service's map element", NULL);
  check(nft_has("list map ip " TABLE " services", "198.18.0.1 . tcp . 80"),
        "... and kept the live ones", NULL);
  check(!nft_has("list set ip " TABLE " no-endpoint-services",
                 "198.18.0.3 . tcp . 80"),
        "... the no-endpoint element left", NULL);
  check(!nft_has("list chain ip " TABLE " service-198.18.0.2-tcp-80", NULL),
        "... the deleted Service's chain", NULL);
  out = nft("list sets table ip " TABLE);
  check(*out && !strstr(out, "-60 {") && strstr(out, "-30 {"),
        "... the affinity sets of the old timeout, not the new", out);
  free(out);
  out = nft("list chain ip " TABLE " service-198.18.0.4-tcp-80");
  check(*out && strstr(out, "-30 goto") && strstr(out, "mod 4"),
        "the affinity Service's chain uses the new sets", out);
  free(out);
  check(vip_answers(0, 10, detail, sizeof detail) &&
            vip_answers(2, 10, detail, sizeof detail) &&
            vip_answers(3, 10, detail, sizeof detail) &&
            vip_answers(SERVICES - 1, 10, detail, sizeof detail),
        "the Services answer after the sweep", detail);
  check(vip_silent(1, detail, sizeof detail),
        "the deleted Service still does not answer", detail);

  /* service 1 again after the sweep */
  kube_nftlb_set(lb, "198.18.0.2", 80, "TCP", be, 3, 0, NULL);
  commit(lb);
  check(vip_answers(1, 10, detail, sizeof detail),
        "a Service made again answers", detail);

  kube_nftlb_free(lb);
  check(!nft_has("list table ip " TABLE, NULL), "the table goes with free",
        NULL);
  kube_net_service_route(CIDR, "127.0.0.1", false, NULL);
  printf("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
