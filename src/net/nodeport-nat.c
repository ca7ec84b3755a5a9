/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Node ports for clients outside the node: the socket load balancer sees
 * only this machine's sockets, so a connection arriving on the node's
 * address from elsewhere is DNATed to a backend by iptables rules in the
 * nat table (kube-proxy's NodePort rules: one random choice per new
 * connection, conntrack undoes it on the replies, which come back through
 * the node as the pods' gateway; the client's address is kept).
 *
 * Each node has its own chain (the name given; one jump from PREROUTING
 * for packets to a local address), replaced whole with iptables-restore
 * --noflush, so other chains (CNI portmap's, other clusters') are never
 * touched.
 */
#include <stdio.h>

#include "net/internal.h"

#define IPTABLES "/usr/sbin/iptables"
#define IPTABLES_RESTORE "/usr/sbin/iptables-restore"

static int run(char *const *argv, const char *input, bool quiet,
               kube_error_t *err) {
  net_exec_result_t r;
  static char *const env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
  if (net_exec_argv(argv, env, input, input ? strlen(input) : 0, 10000, &r,
                    err) < 0)
    return -1;
  int rc = 0;
  if (r.exit_code != 0) {
    if (!quiet)
      kube_error_set(err, KUBE_REASON_UNKNOWN, 0, "%s failed (%d): %s",
                     argv[0], r.exit_code, r.errout ? r.errout : "");
    rc = -1;
  }
  net_exec_result_clear(&r);
  return rc;
}

static bool chain_ok(const char *chain) {
  size_t n = chain ? strlen(chain) : 0;
  if (n == 0 || n > 28)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!(chain[i] == '-' || chain[i] == '_' ||
          (chain[i] >= 'A' && chain[i] <= 'Z') ||
          (chain[i] >= '0' && chain[i] <= '9')))
      return false;
  return true;
}

KUBE_EXPORT int kube_net_nodeport_nat_sync(const char *chain,
                                           const char *node_ip,
                                           const kube_net_nodeport_t *np,
                                           size_t n, kube_error_t *err) {
  if (!chain_ok(chain) || !node_ip)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid node port chain \"%s\"",
                          chain ? chain : "");
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "*nat\n:%s - [0:0]\n", chain);
  for (size_t i = 0; i < n; i++) {
    const char *proto =
        np[i].protocol && !strcasecmp(np[i].protocol, "UDP") ? "udp" : "tcp";
    for (size_t k = 0; k < np[i].n; k++) {
      kube_strbuf_printf(&sb, "-A %s -d %s/32 -p %s -m %s --dport %d", chain,
                         node_ip, proto, proto, np[i].node_port);
      /* The k-th of n left takes 1/(n-k) of what reaches it: uniform. */
      if (k + 1 < np[i].n)
        kube_strbuf_printf(&sb,
                           " -m statistic --mode random --probability %.5f",
                           1.0 / (double)(np[i].n - k));
      kube_strbuf_printf(&sb, " -j DNAT --to-destination %s:%d\n",
                         np[i].backends[k].ip, np[i].backends[k].port);
    }
  }
  kube_strbuf_printf(&sb, "COMMIT\n");
  if (sb.oom) {
    kube_strbuf_clear(&sb);
    return kube_make_oom(err);
  }
  char *const restore[] = {IPTABLES_RESTORE, "-w", "5", "--noflush", NULL};
  int rc = run(restore, sb.data, false, err);
  kube_strbuf_clear(&sb);
  if (rc < 0)
    return -1;
  char *const check[] = {IPTABLES, "-w", "5", "-t", "nat", "-C", "PREROUTING",
                         "-m", "addrtype", "--dst-type", "LOCAL", "-j",
                         (char *)chain, NULL};
  if (run(check, NULL, true, NULL) == 0)
    return 0;
  char *const add[] = {IPTABLES, "-w", "5", "-t", "nat", "-A", "PREROUTING",
                       "-m", "addrtype", "--dst-type", "LOCAL", "-j",
                       (char *)chain, NULL};
  return run(add, NULL, false, err);
}

KUBE_EXPORT int kube_net_nodeport_nat_remove(const char *chain,
                                             kube_error_t *err) {
  if (!chain_ok(chain))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid node port chain \"%s\"",
                          chain ? chain : "");
  char *const del[] = {IPTABLES, "-w", "5", "-t", "nat", "-D", "PREROUTING",
                       "-m", "addrtype", "--dst-type", "LOCAL", "-j",
                       (char *)chain, NULL};
  while (run(del, NULL, true, NULL) == 0)
    ;
  char *const flush[] = {IPTABLES, "-w", "5", "-t", "nat", "-F",
                         (char *)chain, NULL};
  char *const drop[] = {IPTABLES, "-w", "5", "-t", "nat", "-X",
                        (char *)chain, NULL};
  if (run(flush, NULL, true, NULL) < 0)
    return 0; /* no such chain */
  return run(drop, NULL, false, err);
}
