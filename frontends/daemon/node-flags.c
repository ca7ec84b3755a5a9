/* SPDX-License-Identifier: Apache-2.0 */
/* kubed's node agent flags: parsing into kube_node_agent_options_t. */
#include <stdlib.h>
#include <string.h>

#include "node-flags.h"

enum {
  O_NO_NODE = KUBED_NODE_OPT_BASE,
  O_NODE_NAME,
  O_NODE_IP,
  O_CGROUP_PARENT,
  O_RUNTIME_ROOT,
  O_POD_CIDR,
  O_CNI_BRIDGE,
  O_CNI_CONF_DIR,
  O_CNI_BIN_DIR,
  O_RESOLV_CONF,
  O_NODE_LABEL,
  O_MAX_PODS,
  O_POD_MAX_PIDS,
  O_UNSAFE_SYSCTLS,
};

const struct option kubed_node_longopts[] = {
    {"no-node", no_argument, NULL, O_NO_NODE},
    {"node-name", required_argument, NULL, O_NODE_NAME},
    {"node-ip", required_argument, NULL, O_NODE_IP},
    {"cgroup-parent", required_argument, NULL, O_CGROUP_PARENT},
    {"runtime-root", required_argument, NULL, O_RUNTIME_ROOT},
    {"pod-cidr", required_argument, NULL, O_POD_CIDR},
    {"cni-bridge", required_argument, NULL, O_CNI_BRIDGE},
    {"cni-conf-dir", required_argument, NULL, O_CNI_CONF_DIR},
    {"cni-bin-dir", required_argument, NULL, O_CNI_BIN_DIR},
    {"resolv-conf", required_argument, NULL, O_RESOLV_CONF},
    {"node-label", required_argument, NULL, O_NODE_LABEL},
    {"max-pods", required_argument, NULL, O_MAX_PODS},
    {"pod-max-pids", required_argument, NULL, O_POD_MAX_PIDS},
    {"allowed-unsafe-sysctls", required_argument, NULL, O_UNSAFE_SYSCTLS},
    {NULL, 0, NULL, 0},
};

void kubed_node_flags_init(struct kubed_node_flags *f) {
  memset(f, 0, sizeof *f);
  f->o.struct_size = sizeof f->o;
  f->o.labels = f->labels;
  f->o.allowed_unsafe_sysctls = f->sysctls;
}

static int number(const char *flag, const char *arg, long long *out) {
  char *end;
  *out = strtoll(arg, &end, 10);
  if (*end || end == arg || *out <= 0) {
    fprintf(stderr, "kubed: bad --%s %s\n", flag, arg);
    return 2;
  }
  return 0;
}

int kubed_node_flag(struct kubed_node_flags *f, int c, char *arg) {
  kube_node_agent_options_t *o = &f->o;
  long long n;
  switch (c) {
  case O_NO_NODE:
    f->no_node = true;
    return 0;
  case O_NODE_NAME:
    o->node_name = arg;
    return 0;
  case O_NODE_IP:
    o->node_ip = arg;
    return 0;
  case O_CGROUP_PARENT:
    o->cgroup_parent = arg;
    return 0;
  case O_RUNTIME_ROOT:
    o->runtime_root = arg;
    return 0;
  case O_POD_CIDR:
    o->pod_cidr = arg;
    return 0;
  case O_CNI_BRIDGE:
    o->cni_bridge = arg;
    return 0;
  case O_CNI_CONF_DIR:
    o->cni_conf_dir = arg;
    return 0;
  case O_CNI_BIN_DIR:
    o->cni_bin_dir = arg;
    return 0;
  case O_RESOLV_CONF:
    o->resolv_conf = arg;
    return 0;
  case O_NODE_LABEL:
    if (!strchr(arg, '=') || f->n_labels == 32) {
      fprintf(stderr, "kubed: bad --node-label %s (KEY=VALUE)\n", arg);
      return 2;
    }
    f->labels[f->n_labels++] = arg;
    return 0;
  case O_MAX_PODS:
    if (number("max-pods", arg, &n))
      return 2;
    o->max_pods = (int)n;
    return 0;
  case O_POD_MAX_PIDS:
    if (number("pod-max-pids", arg, &n))
      return 2;
    o->pod_pids_limit = n;
    return 0;
  case O_UNSAFE_SYSCTLS:
    for (char *s = strtok(arg, ","); s; s = strtok(NULL, ","))
      if (f->n_sysctls < 32)
        f->sysctls[f->n_sysctls++] = s;
    return 0;
  }
  return 2;
}

void kubed_node_usage(FILE *out) {
  fprintf(
      out,
      "\nnode options (kubed server runs a node agent unless --no-node):\n"
      "  --no-node               do not run a node in this process\n"
      "  --node-name NAME        the Node's name (default: the host name)\n"
      "  --node-ip ADDR          InternalIP (default: the address of the\n"
      "                          interface holding the default route)\n"
      "  --pod-cidr CIDR         pod addresses until the Node's spec.podCIDR\n"
      "                          says otherwise (default 10.42.0.0/24)\n"
      "  --cni-bridge NAME       bridge of the node's CNI network\n"
      "                          (default kube-<hash of data dir and name>)\n"
      "  --cni-conf-dir DIR      CNI configurations (default DIR/cni/net.d;\n"
      "                          the first file by name is the network)\n"
      "  --cni-bin-dir DIRS      CNI plugins (default "
      "/usr/lib/cni:/opt/cni/bin)\n"
      "  --cgroup-parent PATH    parent of the pod cgroups\n"
      "                          (default libkube-<hash>)\n"
      "  --runtime-root DIR      container state (default\n"
      "                          /run/libkube/node-<hash>)\n"
      "  (the node takes --service-cidr, --cluster-dns and --cluster-domain\n"
      "  from the server's options)\n"
      "  --resolv-conf FILE      what dnsPolicy Default pods get\n"
      "                          (default /etc/resolv.conf)\n"
      "  --node-label KEY=VALUE  an extra Node label (repeatable)\n"
      "  --max-pods N            pods the node admits (default 110)\n"
      "  --pod-max-pids N        pids.max of each pod (default unlimited)\n"
      "  --allowed-unsafe-sysctls LIST  sysctls beyond the safe set pods\n"
      "                          may set "
      "(\"kernel.msg*,net.core.somaxconn\")\n");
}
