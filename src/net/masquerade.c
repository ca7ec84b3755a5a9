/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The iptables helpers of the module (net_iptables_run, net_chain_ok) and
 * the node's masquerade rules: pods reach each other across nodes with
 * their own addresses (routes, no NAT), so only traffic that leaves the
 * cluster CIDR takes the node's address (flannel's and k3s's rule), and
 * so does a node port connection DNATed to an endpoint on another node
 * (kube-proxy masquerades it: the endpoint's reply must come back through
 * this node to be un-DNATed).  That rule takes only connections whose
 * original destination was this node's address (its own node-port
 * rules'): nodes side by side in one network namespace each keep to
 * their own DNAT, so one node never hides the client's address from
 * another node's pod.  Traffic to the node's own pods is never
 * masqueraded, even when the node's pod CIDR lies outside the cluster
 * CIDR: with br_netfilter loaded, bridged pod-to-pod packets cross
 * POSTROUTING too, and NetworkPolicy must see the real source.
 *
 * Each node has its own chain in the nat table, jumped to from
 * POSTROUTING and replaced whole with iptables-restore --noflush, so
 * chains of CNI plugins, of other nodes and of other clusters are never
 * touched.
 */
#include <arpa/inet.h>
#include <stdio.h>

#include "net/internal.h"

int net_iptables_run(char *const *argv, const char *input, bool quiet,
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

bool net_chain_ok(const char *chain) {
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

/* iptables -t nat OP HOOK [-m addrtype --dst-type LOCAL] -j CHAIN */
static int nat_jump(const char *op, const char *hook, bool local,
                    const char *chain, bool quiet, kube_error_t *err) {
  char *argv[16] = {NET_IPTABLES, "-w", "5", "-t", "nat", (char *)op,
                    (char *)hook};
  size_t n = 7;
  if (local) {
    argv[n++] = "-m";
    argv[n++] = "addrtype";
    argv[n++] = "--dst-type";
    argv[n++] = "LOCAL";
  }
  argv[n++] = "-j";
  argv[n++] = (char *)chain;
  argv[n] = NULL;
  return net_iptables_run(argv, NULL, quiet, err);
}

int net_nat_jump_ensure(const char *hook, bool local, const char *chain,
                        kube_error_t *err) {
  if (nat_jump("-C", hook, local, chain, true, NULL) == 0)
    return 0;
  return nat_jump("-A", hook, local, chain, false, err);
}

int net_nat_chain_remove(const char *hook, bool local, const char *chain,
                         kube_error_t *err) {
  while (nat_jump("-D", hook, local, chain, true, NULL) == 0)
    ;
  char *const flush[] = {NET_IPTABLES, "-w", "5", "-t", "nat", "-F",
                         (char *)chain, NULL};
  char *const drop[] = {NET_IPTABLES, "-w", "5", "-t", "nat", "-X",
                        (char *)chain, NULL};
  if (net_iptables_run(flush, NULL, true, NULL) < 0)
    return 0; /* no such chain */
  return net_iptables_run(drop, NULL, false, err);
}

static bool cidr_ok(const char *cidr) {
  uint32_t net;
  int bits;
  return cidr && core_cidr4_parse(cidr, &net, &bits) == 0;
}

KUBE_EXPORT int kube_net_masquerade_sync(const char *chain,
                                         const char *pod_cidr,
                                         const char *cluster_cidr,
                                         const char *node_ip,
                                         kube_error_t *err) {
  if (!net_chain_ok(chain))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid masquerade chain \"%s\"",
                          chain ? chain : "");
  if (!cidr_ok(pod_cidr) || !cidr_ok(cluster_cidr))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid pod CIDR \"%s\" or cluster CIDR \"%s\"",
                          pod_cidr ? pod_cidr : "",
                          cluster_cidr ? cluster_cidr : "");
  struct in_addr ip;
  if (node_ip && inet_pton(AF_INET, node_ip, &ip) != 1)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid node address \"%s\"", node_ip);
  char orig[64] = "";
  if (node_ip)
    snprintf(orig, sizeof orig, " --ctorigdst %s/32", node_ip);
  char rules[1024];
  snprintf(rules, sizeof rules,
           "*nat\n:%s - [0:0]\n"
           "-A %s -d %s -j RETURN\n"
           "-A %s -s %s ! -d %s -j MASQUERADE\n"
           "-A %s -m conntrack --ctstate DNAT%s ! -s %s ! -d %s -j "
           "MASQUERADE\n"
           "COMMIT\n",
           chain, chain, pod_cidr, chain, pod_cidr, cluster_cidr, chain, orig,
           pod_cidr, pod_cidr);
  char *const restore[] = {NET_IPTABLES_RESTORE, "-w", "5", "--noflush",
                           NULL};
  if (net_iptables_run(restore, rules, false, err) < 0)
    return -1;
  return net_nat_jump_ensure("POSTROUTING", false, chain, err);
}

KUBE_EXPORT int kube_net_masquerade_remove(const char *chain,
                                           kube_error_t *err) {
  if (!net_chain_ok(chain))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid masquerade chain \"%s\"",
                          chain ? chain : "");
  return net_nat_chain_remove("POSTROUTING", false, chain, err);
}
