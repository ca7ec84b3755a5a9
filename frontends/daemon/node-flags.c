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
  O_SERVICE_CIDR,
  O_CLUSTER_DNS,
  O_CLUSTER_DOMAIN,
  O_RESOLV_CONF,
  O_NODE_LABEL,
  O_MAX_PODS,
  O_POD_MAX_PIDS,
  O_UNSAFE_SYSCTLS,
  O_KUBELET_LISTEN,
  O_EVICTION_HARD,
  O_EVICTION_SOFT,
  O_EVICTION_SOFT_GRACE,
  O_EVICTION_MIN_RECLAIM,
  O_EVICTION_TRANSITION,
  O_POD_MANIFEST_PATH,
  O_IMAGE_GC_HIGH,
  O_IMAGE_GC_LOW,
  O_IMAGE_GC_PERIOD,
  O_PROXY_MODE,
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
    {"service-cidr", required_argument, NULL, O_SERVICE_CIDR},
    {"cluster-dns", required_argument, NULL, O_CLUSTER_DNS},
    {"cluster-domain", required_argument, NULL, O_CLUSTER_DOMAIN},
    {"resolv-conf", required_argument, NULL, O_RESOLV_CONF},
    {"node-label", required_argument, NULL, O_NODE_LABEL},
    {"max-pods", required_argument, NULL, O_MAX_PODS},
    {"pod-max-pids", required_argument, NULL, O_POD_MAX_PIDS},
    {"allowed-unsafe-sysctls", required_argument, NULL, O_UNSAFE_SYSCTLS},
    {"kubelet-listen", required_argument, NULL, O_KUBELET_LISTEN},
    {"eviction-hard", required_argument, NULL, O_EVICTION_HARD},
    {"eviction-soft", required_argument, NULL, O_EVICTION_SOFT},
    {"eviction-soft-grace-period", required_argument, NULL,
     O_EVICTION_SOFT_GRACE},
    {"eviction-minimum-reclaim", required_argument, NULL,
     O_EVICTION_MIN_RECLAIM},
    {"eviction-pressure-transition-period", required_argument, NULL,
     O_EVICTION_TRANSITION},
    {"pod-manifest-path", required_argument, NULL, O_POD_MANIFEST_PATH},
    {"image-gc-high-threshold", required_argument, NULL, O_IMAGE_GC_HIGH},
    {"image-gc-low-threshold", required_argument, NULL, O_IMAGE_GC_LOW},
    {"image-gc-period", required_argument, NULL, O_IMAGE_GC_PERIOD},
    {"proxy-mode", required_argument, NULL, O_PROXY_MODE},
    {NULL, 0, NULL, 0},
};

void kubed_node_longopts_merge(struct option *out, const struct option *base,
                               size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    out[k++] = base[i];
  for (size_t i = 0; kubed_node_longopts[i].name; i++)
    out[k++] = kubed_node_longopts[i];
  out[k] = (struct option){NULL, 0, NULL, 0};
}

int kubed_log_level_flag(const char *arg) {
  int l = kube_log_level_parse(arg);
  if (l < 0) {
    fprintf(stderr, "kubed: bad --log-level %s\n", arg);
    return 2;
  }
  kube_log_set_level((kube_log_level_t)l);
  return 0;
}

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
  char *end;
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
  case O_SERVICE_CIDR:
    o->service_cidr = arg;
    return 0;
  case O_CLUSTER_DNS:
    o->cluster_dns = arg;
    return 0;
  case O_CLUSTER_DOMAIN:
    o->cluster_domain = arg;
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
  case O_KUBELET_LISTEN:
    f->kubelet_listen = arg;
    return 0;
  case O_EVICTION_HARD:
    o->eviction_hard = arg;
    return 0;
  case O_EVICTION_SOFT:
    o->eviction_soft = arg;
    return 0;
  case O_EVICTION_SOFT_GRACE:
    o->eviction_soft_grace_period = arg;
    return 0;
  case O_EVICTION_MIN_RECLAIM:
    o->eviction_minimum_reclaim = arg;
    return 0;
  case O_EVICTION_TRANSITION:
    o->eviction_pressure_transition_period = arg;
    return 0;
  case O_POD_MANIFEST_PATH:
    o->pod_manifest_path = arg;
    return 0;
  case O_IMAGE_GC_HIGH:
  case O_IMAGE_GC_LOW:
    n = strtoll(arg, &end, 10);
    if (*end || end == arg || n < 0 || n > 100) {
      fprintf(stderr, "kubed: --%s must be between 0 and 100\n",
              c == O_IMAGE_GC_HIGH ? "image-gc-high-threshold"
                                   : "image-gc-low-threshold");
      return 2;
    }
    /* 0 in the options means the default: -1 asks for 0 % */
    if (c == O_IMAGE_GC_HIGH)
      o->image_gc_high_percent = n ? (int)n : -1;
    else
      o->image_gc_low_percent = n ? (int)n : -1;
    return 0;
  case O_IMAGE_GC_PERIOD:
    if (number("image-gc-period", arg, &n) || n <= 0)
      return 2;
    o->image_gc_period_ms = n * 1000;
    return 0;
  case O_PROXY_MODE:
    if (strcmp(arg, "auto") && strcmp(arg, "ebpf") && strcmp(arg, "nftables")) {
      fprintf(stderr,
              "kubed: bad --proxy-mode %s (auto, ebpf or nftables)\n", arg);
      return 2;
    }
    o->proxy_mode = arg;
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
      "  --cluster-dns ADDRS     name servers of ClusterFirst pods\n"
      "                          (default 10.96.0.10)\n"
      "  --cluster-domain NAME   (default cluster.local)\n"
      "  --service-cidr CIDR     (default 10.96.0.0/12)\n"
      "                          (these three for kubed agent: kubed server's\n"
      "                          node takes the server's own flags)\n"
      "  --resolv-conf FILE      what dnsPolicy Default pods get\n"
      "                          (default /etc/resolv.conf)\n"
      "  --node-label KEY=VALUE  an extra Node label (repeatable)\n"
      "  --max-pods N            pods the node admits (default 110)\n"
      "  --pod-max-pids N        pids.max of each pod (default unlimited)\n"
      "  --allowed-unsafe-sysctls LIST  sysctls beyond the safe set pods\n"
      "                          may set "
      "(\"kernel.msg*,net.core.somaxconn\")\n"
      "  --eviction-hard LIST    hard eviction thresholds, the kubelet's\n"
      "                          syntax (default memory.available<100Mi,\n"
      "                          nodefs.available<10%%,nodefs.inodesFree<5%%,\n"
      "                          imagefs.available<15%%)\n"
      "  --eviction-soft LIST    soft thresholds (each needs a grace period)\n"
      "  --eviction-soft-grace-period LIST  \"memory.available=1m30s,...\"\n"
      "  --eviction-minimum-reclaim LIST    \"nodefs.available=500Mi,...\"\n"
      "  --eviction-pressure-transition-period DURATION  how long a pressure\n"
      "                          condition stays after the signal (default 5m)\n"
      "  --kubelet-listen ADDR:PORT  serve the node's logs, exec, attach and\n"
      "                          port-forward on HTTPS there for API servers\n"
      "                          in other processes (certificate from the\n"
      "                          cluster CA, client certificates required;\n"
      "                          default: none, this process's API server\n"
      "                          reaches its node directly)\n"
      "  --pod-manifest-path DIR static pods: the Pod manifests there "
      "(*.yaml,\n"
      "                          *.yml, *.json) run without the API server "
      "and\n"
      "                          are mirrored into it (default "
      "DATA/manifests;\n"
      "                          \"\" for none)\n"
      "  --image-gc-high-threshold PERCENT  disk usage of the image store's\n"
      "                          file system that starts image GC (default\n"
      "                          85; 100: never)\n"
      "  --image-gc-low-threshold PERCENT  image GC frees down to this\n"
      "                          (default 80)\n"
      "  --image-gc-period SECONDS  how often the node checks (default 300)\n"
      "  --proxy-mode MODE       Services' datapath: ebpf (socket load\n"
      "                          balancing, cgroup v2 + BPF), nftables (a\n"
      "                          DNAT table of the node's, as kube-proxy's\n"
      "                          nftables mode) or auto (default: ebpf when\n"
      "                          its programs attach, else nftables); the\n"
      "                          Node's annotation libkube.io/proxy-mode\n"
      "                          says which\n");
}
