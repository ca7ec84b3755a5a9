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

KUBE_EXPORT int kube_net_nodeport_nat_sync(const char *chain,
                                           const char *node_ip,
                                           const kube_net_nodeport_t *np,
                                           size_t n, kube_error_t *err) {
  if (!net_chain_ok(chain) || !node_ip)
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
  char *const restore[] = {NET_IPTABLES_RESTORE, "-w", "5", "--noflush", NULL};
  int rc = net_iptables_run(restore, sb.data, false, err);
  kube_strbuf_clear(&sb);
  if (rc < 0)
    return -1;
  return net_nat_jump_ensure("PREROUTING", true, chain, err);
}

KUBE_EXPORT int kube_net_nodeport_nat_remove(const char *chain,
                                             kube_error_t *err) {
  if (!net_chain_ok(chain))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid node port chain \"%s\"",
                          chain ? chain : "");
  return net_nat_chain_remove("PREROUTING", true, chain, err);
}
