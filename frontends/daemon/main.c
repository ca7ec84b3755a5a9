/* SPDX-License-Identifier: Apache-2.0 */
/* kubed: the libkube daemon.  Flag parsing; kube_server_t (libkube/server.h)
 * does the rest. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <libkube/server.h>

#include "agent.h"
#include "kube-config.h"
#include "memory.h"
#include "node-flags.h"

#define MAX_LISTEN 16

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: kubed server [options]\n"
      "       kubed agent --server URL --token TOKEN [options]"
      " (kubed agent --help)\n"
      "       kubed --version\n\n"
      "server options:\n"
      "  --data-dir DIR          state directory (default %s)\n"
      "  --listen unix:PATH      serve on a unix socket (mode 0600)\n"
      "  --listen tcp:ADDR:PORT  serve HTTPS (DIR/tls.crt, signed by DIR/ca.crt) on "
      "TCP;\n"
      "                          needs the bearer token\n"
      "                          (default unix:%s and tcp:127.0.0.1:6443)\n"
      "  --store sqlite|etcd|memory   object store (default sqlite)\n"
      "  --etcd-endpoints URLS   etcd v3 endpoints for --store etcd\n"
      "  --token TOKEN           bearer token (default: generated, kept in\n"
      "                          DIR/token)\n"
      "  --max-body-bytes N      largest request body (default 3 MiB)\n"
      "  --restore FILE          restore a snapshot (`kube backup FILE`)\n"
      "                          into a fresh data directory first\n"
      "  --watch-budget-bytes N  bytes all watch streams may hold queued\n"
      "                          for slow clients; past it the furthest\n"
      "                          behind are ended (default 256 MiB)\n"
      "  --plain-http            TCP without TLS (kubectl then sends no\n"
      "                          token: for debugging only)\n"
      "  --no-scheduler          do not run the scheduler (pods stay Pending\n"
      "                          unless something else binds them; alias\n"
      "                          --disable-scheduler)\n"
      "  --scheduler-config FILE scheduler settings (strategy, weights, ...)\n"
      "  --controllers LIST      controllers to run, as "
      "kube-controller-manager's\n"
      "                          flag: '*' (default), names or aliases, "
      "'-name'\n"
      "                          to turn one off (\"*,-nodelifecycle\")\n"
      "  --no-controllers        run no controller\n"
      "  --node-monitor-grace-period DURATION\n"
      "                          a node silent this long is Ready=Unknown and\n"
      "                          tainted (default 40s; 500ms, 2m, ...)\n"
      "  --horizontal-pod-autoscaler-sync-period DURATION\n"
      "                          how often each HPA is reconciled (default\n"
      "                          15s)\n"
      "  --cluster-cidr CIDR     range of the nodes' pod CIDRs (default\n"
      "                          10.42.0.0/16)\n"
      "  --node-cidr-mask-size N size of each node's pod CIDR (default 24)\n"
      "  --cluster-signing-duration DURATION  how long the certificates it\n"
      "                          signs for CSRs last (default 8760h)\n"
      "  --event-ttl DURATION    Events are deleted this long after their\n"
      "                          last write (default 1h; 0: never)\n"
      "  --etcd-compaction-interval DURATION  how often the store's watch\n"
      "                          history is compacted (default 5m; 0: never)\n"
      "  --service-cidr CIDR     Services' cluster IPs (default "
      "10.96.0.0/12)\n"
      "  --service-node-port-range A-B  node ports (default 30000-32767)\n"
      "  --cluster-domain NAME   the cluster's DNS domain (default\n"
      "                          cluster.local)\n"
      "  --cluster-dns ADDRS     the cluster DNS Service's address, pods'\n"
      "                          name server (default: the 10th address of\n"
      "                          the service CIDR, 10.96.0.10)\n"
      "  --advertise-address IP  where pods reach the API server (the\n"
      "                          kubernetes Service's endpoints; kubed\n"
      "                          listens there too; default: the node IP,\n"
      "                          127.0.0.1 with --no-node)\n"
      "  --leader-elect=false    schedule and reconcile without taking the\n"
      "                          kube-scheduler / kube-controller-manager\n"
      "                          Leases (default true)\n"
      "  --registry-listen tcp:ADDR:PORT  serve the built-in OCI registry\n"
      "                          there (repeatable; default "
      "tcp:127.0.0.1:5000;\n"
      "                          plain HTTP on loopback, else TLS + token)\n"
      "  --no-registry           do not run the built-in registry\n"
      "  --no-dashboard          do not serve the web dashboard at /ui/\n"
      "  --kubelet-client-certificate FILE, --kubelet-client-key FILE\n"
      "                          client certificate (PEM) for the kubelet\n"
      "                          ports of nodes in other processes (logs,\n"
      "                          exec, attach, port-forward)\n"
      "  --kubelet-certificate-authority FILE\n"
      "                          CA of the kubelets' serving certificates\n"
      "                          (default: the cluster CA)\n"
      "  --token-auth-file FILE  static bearer tokens, CSV lines\n"
      "                          token,user,uid[,\"group1,group2\"]\n"
      "  --audit-log-path FILE   JSON lines audit log of writes\n"
      "                          (audit.k8s.io/v1 Events; alias --audit-log)\n"
      "  --audit-log-maxsize MB  rotate the audit log to FILE.1 past this\n"
      "                          size (default 100)\n"
      "  --cluster-dns-listen ADDR:PORT  where the cluster DNS listens (UDP\n"
      "                          and TCP; default the node IP, or 127.0.0.1\n"
      "                          with --no-node, port 53)\n"
      "  --dns-upstream none|ADDR[:PORT][,...]  where other names go (default\n"
      "                          the nameservers of /etc/resolv.conf; none:\n"
      "                          SERVFAIL)\n"
      "  --no-dns                do not run the cluster DNS\n"
      "  --hollow-nodes N        also run N hollow nodes (hollow-node-0 ..):\n"
      "                          Nodes with Leases whose pods go Running\n"
      "                          without containers (as kubemark's); each\n"
      "                          needs a pod CIDR: more than 256 need a\n"
      "                          larger --cluster-cidr\n"
      "  --hollow-node-size SPEC their capacity, cpu=4,memory=16Gi,pods=110,\n"
      "                          ephemeral-storage=100Gi (default)\n"
      "  --log-level LEVEL       error|warning|info|debug\n",
      KUBE_DEFAULT_DATA_DIR, KUBE_DEFAULT_SOCKET);
  kubed_node_usage(f);
}

enum {
  O_DATA = 1,
  O_LISTEN,
  O_STORE,
  O_ETCD,
  O_LOG,
  O_TOKEN,
  O_MAXBODY,
  O_PLAIN,
  O_HELP,
  O_NO_SCHED,
  O_SCHED_CONFIG,
  O_REG_LISTEN,
  O_NO_REG,
  O_KUBELET_CERT,
  O_KUBELET_KEY,
  O_KUBELET_CA,
  O_CONTROLLERS,
  O_NO_CONTROLLERS,
  O_LEADER_ELECT,
  O_WATCH_BUDGET,
  O_RESTORE,
  O_TOKEN_FILE,
  O_AUDIT,
  O_AUDIT_MAX,
  O_GRACE,
  O_HPA_SYNC,
  O_CLUSTER_CIDR,
  O_NODE_MASK,
  O_SIGNING_DURATION,
  O_EVENT_TTL,
  O_COMPACTION,
  O_SERVICE_CIDR,
  O_NODE_PORT_RANGE,
  O_CLUSTER_DOMAIN,
  O_CLUSTER_DNS,
  O_ADVERTISE,
  O_NO_DASHBOARD,
  O_DNS_LISTEN,
  O_DNS_UPSTREAM,
  O_NO_DNS,
  O_HOLLOW_NODES,
  O_HOLLOW_SIZE,
};

static const struct option server_longopts[] = {
    {"data-dir", required_argument, NULL, O_DATA},
    {"listen", required_argument, NULL, O_LISTEN},
    {"store", required_argument, NULL, O_STORE},
    {"etcd-endpoints", required_argument, NULL, O_ETCD},
    {"log-level", required_argument, NULL, O_LOG},
    {"token", required_argument, NULL, O_TOKEN},
    {"max-body-bytes", required_argument, NULL, O_MAXBODY},
    {"watch-budget-bytes", required_argument, NULL, O_WATCH_BUDGET},
    {"restore", required_argument, NULL, O_RESTORE},
    {"plain-http", no_argument, NULL, O_PLAIN},
    {"no-scheduler", no_argument, NULL, O_NO_SCHED},
    {"disable-scheduler", no_argument, NULL, O_NO_SCHED},
    {"scheduler-config", required_argument, NULL, O_SCHED_CONFIG},
    {"registry-listen", required_argument, NULL, O_REG_LISTEN},
    {"no-registry", no_argument, NULL, O_NO_REG},
    {"no-dashboard", no_argument, NULL, O_NO_DASHBOARD},
    {"kubelet-client-certificate", required_argument, NULL, O_KUBELET_CERT},
    {"kubelet-client-key", required_argument, NULL, O_KUBELET_KEY},
    {"kubelet-certificate-authority", required_argument, NULL, O_KUBELET_CA},
    {"controllers", required_argument, NULL, O_CONTROLLERS},
    {"no-controllers", no_argument, NULL, O_NO_CONTROLLERS},
    {"leader-elect", optional_argument, NULL, O_LEADER_ELECT},
    {"token-auth-file", required_argument, NULL, O_TOKEN_FILE},
    {"audit-log-path", required_argument, NULL, O_AUDIT},
    {"audit-log", required_argument, NULL, O_AUDIT},
    {"audit-log-maxsize", required_argument, NULL, O_AUDIT_MAX},
    {"node-monitor-grace-period", required_argument, NULL, O_GRACE},
    {"horizontal-pod-autoscaler-sync-period", required_argument, NULL,
     O_HPA_SYNC},
    {"cluster-cidr", required_argument, NULL, O_CLUSTER_CIDR},
    {"node-cidr-mask-size", required_argument, NULL, O_NODE_MASK},
    {"cluster-signing-duration", required_argument, NULL, O_SIGNING_DURATION},
    {"event-ttl", required_argument, NULL, O_EVENT_TTL},
    {"etcd-compaction-interval", required_argument, NULL, O_COMPACTION},
    {"service-cidr", required_argument, NULL, O_SERVICE_CIDR},
    {"service-node-port-range", required_argument, NULL, O_NODE_PORT_RANGE},
    {"cluster-domain", required_argument, NULL, O_CLUSTER_DOMAIN},
    {"cluster-dns", required_argument, NULL, O_CLUSTER_DNS},
    {"advertise-address", required_argument, NULL, O_ADVERTISE},
    {"cluster-dns-listen", required_argument, NULL, O_DNS_LISTEN},
    {"dns-upstream", required_argument, NULL, O_DNS_UPSTREAM},
    {"no-dns", no_argument, NULL, O_NO_DNS},
    {"hollow-nodes", required_argument, NULL, O_HOLLOW_NODES},
    {"hollow-node-size", required_argument, NULL, O_HOLLOW_SIZE},
    {"help", no_argument, NULL, O_HELP},
};

/* A Go-style duration ("40s", "500ms", "2m", "1h"; a bare number is
 * seconds) in milliseconds; -1 when malformed or not positive. */
static int64_t parse_duration_ms(const char *s) {
  char *end;
  double v = strtod(s, &end);
  double mult = !strcmp(end, "ms")           ? 1
                : !strcmp(end, "s") || !*end ? 1000
                : !strcmp(end, "m")          ? 60000
                : !strcmp(end, "h")          ? 3600000
                                             : -1;
  if (end == s || mult < 0 || !(v > 0) || v * mult > 1e15)
    return -1;
  return (int64_t)(v * mult + 0.5) ? (int64_t)(v * mult + 0.5) : 1;
}
#define N_SERVER_OPTS (sizeof server_longopts / sizeof server_longopts[0])

/* Fill *o from argv; 0, or an exit code (the help was printed: -1). */
static int parse_server(int argc, char **argv, kube_server_options_t *o,
                        const char **listen, const char **reg_listen,
                        struct kubed_node_flags *node,
                        kube_node_hollow_options_t *hollow) {
  int c, n_listen = 0, n_reg = 0;
  char *end;
  struct option opts[N_SERVER_OPTS + 32];
  kubed_node_longopts_merge(opts, server_longopts, N_SERVER_OPTS);
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (c >= KUBED_NODE_OPT_BASE) {
      if (kubed_node_flag(node, c, optarg))
        return 2;
      continue;
    }
    switch (c) {
    case O_DATA:
      o->data_dir = optarg;
      break;
    case O_LISTEN:
      if (n_listen == MAX_LISTEN - 1) {
        fprintf(stderr, "kubed: too many --listen\n");
        return 2;
      }
      listen[n_listen++] = optarg;
      o->listen = listen;
      break;
    case O_STORE:
      o->store = optarg;
      break;
    case O_ETCD:
      o->etcd_endpoints = optarg;
      break;
    case O_LOG:
      if (kubed_log_level_flag(optarg))
        return 2;
      break;
    case O_TOKEN:
      o->token = optarg;
      break;
    case O_MAXBODY:
      o->max_body_bytes = (size_t)strtoull(optarg, &end, 10);
      if (*end || !o->max_body_bytes) {
        fprintf(stderr, "kubed: bad --max-body-bytes %s\n", optarg);
        return 2;
      }
      break;
    case O_WATCH_BUDGET:
      o->watch_budget_bytes = (size_t)strtoull(optarg, &end, 10);
      if (*end || !o->watch_budget_bytes) {
        fprintf(stderr, "kubed: bad --watch-budget-bytes %s\n", optarg);
        return 2;
      }
      break;
    case O_RESTORE:
      o->restore_from = optarg;
      break;
    case O_PLAIN:
      o->plain_http = true;
      break;
    case O_NO_SCHED:
      o->no_scheduler = true;
      break;
    case O_SCHED_CONFIG:
      o->scheduler_config = optarg;
      break;
    case O_REG_LISTEN:
      if (strncmp(optarg, "tcp:", 4) != 0 || !strrchr(optarg + 4, ':')) {
        fprintf(stderr,
                "kubed: bad --registry-listen %s (want tcp:ADDR:PORT)\n",
                optarg);
        return 2;
      }
      if (n_reg == MAX_LISTEN - 1) {
        fprintf(stderr, "kubed: too many --registry-listen\n");
        return 2;
      }
      reg_listen[n_reg++] = optarg;
      o->registry_listen = reg_listen;
      break;
    case O_NO_REG:
      o->no_registry = true;
      break;
    case O_NO_DASHBOARD:
      o->no_dashboard = true;
      break;
    case O_KUBELET_CERT:
      o->kubelet_client_cert_file = optarg;
      break;
    case O_KUBELET_KEY:
      o->kubelet_client_key_file = optarg;
      break;
    case O_KUBELET_CA:
      o->kubelet_ca_file = optarg;
      break;
    case O_CONTROLLERS:
      o->controllers = optarg;
      break;
    case O_NO_CONTROLLERS:
      o->no_controllers = true;
      break;
    case O_LEADER_ELECT:
      if (optarg && strcmp(optarg, "true") && strcmp(optarg, "false")) {
        fprintf(stderr, "kubed: bad --leader-elect %s (true or false)\n",
                optarg);
        return 2;
      }
      o->no_leader_elect = optarg && !strcmp(optarg, "false");
      break;
    case O_TOKEN_FILE:
      o->token_auth_file = optarg;
      break;
    case O_AUDIT:
      o->audit_log = optarg;
      break;
    case O_AUDIT_MAX:
      o->audit_log_max_bytes = (size_t)strtoull(optarg, &end, 10) << 20;
      if (*end || !o->audit_log_max_bytes) {
        fprintf(stderr, "kubed: bad --audit-log-maxsize %s\n", optarg);
        return 2;
      }
      break;
    case O_GRACE:
      if ((o->node_monitor_grace_period_ms = parse_duration_ms(optarg)) < 0) {
        fprintf(stderr, "kubed: bad --node-monitor-grace-period %s\n", optarg);
        return 2;
      }
      break;
    case O_HPA_SYNC:
      if ((o->hpa_sync_period_ms = parse_duration_ms(optarg)) <= 0) {
        fprintf(stderr,
                "kubed: bad --horizontal-pod-autoscaler-sync-period %s\n",
                optarg);
        return 2;
      }
      break;
    case O_CLUSTER_CIDR:
      o->cluster_cidr = optarg;
      break;
    case O_NODE_MASK:
      o->node_cidr_mask_size = (int)strtol(optarg, &end, 10);
      if (*end || o->node_cidr_mask_size <= 0) {
        fprintf(stderr, "kubed: bad --node-cidr-mask-size %s\n", optarg);
        return 2;
      }
      break;
    case O_SIGNING_DURATION:
      o->cluster_signing_duration = optarg;
      break;
    case O_EVENT_TTL:
      o->event_ttl = optarg;
      break;
    case O_COMPACTION:
      o->compaction_interval = optarg;
      break;
    case O_SERVICE_CIDR:
      o->service_cidr = optarg;
      break;
    case O_NODE_PORT_RANGE:
      o->service_node_port_range = optarg;
      break;
    case O_CLUSTER_DOMAIN:
      o->cluster_domain = optarg;
      break;
    case O_CLUSTER_DNS:
      o->cluster_dns = optarg;
      break;
    case O_ADVERTISE:
      o->advertise_address = optarg;
      break;
    case O_DNS_LISTEN:
      o->dns_listen = optarg;
      break;
    case O_DNS_UPSTREAM:
      o->dns_upstream = optarg;
      break;
    case O_NO_DNS:
      o->no_dns = true;
      break;
    case O_HOLLOW_NODES: {
      unsigned long v = strtoul(optarg, &end, 10);
      if (*end || end == optarg || v < 1 || v > 100000) {
        fprintf(stderr, "kubed: bad --hollow-nodes %s (1-100000)\n", optarg);
        return 2;
      }
      hollow->count = (unsigned)v;
      o->hollow = hollow;
      break;
    }
    case O_HOLLOW_SIZE:
      hollow->size = optarg;
      break;
    case O_HELP:
    case 'h':
      usage(stdout);
      return -1;
    default:
      usage(stderr);
      return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "kubed server: unexpected argument %s\n", argv[optind]);
    return 2;
  }
  return 0;
}

/* Start again on the store a migration moved to (DATA/store.conf): the
 * same command line without --store and --restore, which named the old
 * one.  Only returns when exec fails. */
static void reexec(int argc, char **argv) {
  char **v = calloc((size_t)argc + 2, sizeof *v);
  if (!v)
    return;
  int n = 0;
  v[n++] = "kubed";
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--store") || !strcmp(argv[i], "--restore")) {
      i++;
      continue;
    }
    if (!strncmp(argv[i], "--store=", 8) || !strncmp(argv[i], "--restore=", 10))
      continue;
    v[n++] = argv[i];
  }
  kube_log(KUBE_LOG_INFO, "kubed: restarting on the new store");
  fflush(NULL);
  execv("/proc/self/exe", v);
  kube_log(KUBE_LOG_ERROR, "kubed: restart: %s", strerror(errno));
  free(v);
}

static int cmd_server(int argc, char **argv) {
  const char *listen[MAX_LISTEN] = {0}, *reg_listen[MAX_LISTEN] = {0};
  kube_server_options_t o = {.struct_size = sizeof o, .handle_signals = true};
  struct kubed_node_flags node;
  kubed_node_flags_init(&node);
  kube_node_hollow_options_t hollow = {.struct_size = sizeof hollow};
  int rc = parse_server(argc, argv, &o, listen, reg_listen, &node, &hollow);
  if (rc)
    return rc < 0 ? 0 : rc;
  if (!node.no_node)
    o.node = &node.o;
  o.node_kubelet_listen = node.kubelet_listen;
  signal(SIGPIPE, SIG_IGN);
  /* Every watcher holds a connection: allow as many as the hard limit. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  kube_error_t err = KUBE_ERROR_INIT;
  kube_server_t *srv = kube_server_new(&o, &err);
  if (!srv) {
    kube_log(KUBE_LOG_ERROR, "kubed: %s", err.message);
    kube_error_clear(&err);
    return 1;
  }
  /* Tests and scripts read these lines to find the server. */
  for (size_t i = 0; o.listen && o.listen[i]; i++)
    if (strncmp(o.listen[i], "unix:", 5) == 0)
      printf("kubed: listening on %s\n", o.listen[i]);
  if (kube_server_url(srv))
    printf("kubed: listening on %s (bearer token required)\n",
           kube_server_url(srv));
  if (kube_server_kubeconfig(srv))
    printf("kubed: kubeconfig written to %s\n", kube_server_kubeconfig(srv));
  fflush(stdout);
  kube_timer_t *trim = kubed_memory_trim_start(kube_server_loop(srv));
  rc = kube_server_run(srv, &err) < 0 ? 1 : 0;
  kube_timer_free(trim);
  if (rc)
    kube_log(KUBE_LOG_ERROR, "kubed: %s", err.message);
  bool restart = !rc && kube_server_restart_requested(srv);
  kube_server_free(srv);
  kube_error_clear(&err);
  if (restart)
    reexec(argc, argv);
  return rc;
}

int main(int argc, char **argv) {
  kubed_memory_init();
  const char *cmd = argc > 1 ? argv[1] : "";
  if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
    printf("kubed v%s (Kubernetes API v1.32)\n", KUBE_VERSION);
    return 0;
  }
  if (!strcmp(cmd, "server"))
    return cmd_server(argc - 1, argv + 1);
  if (!strcmp(cmd, "agent"))
    return kubed_agent_main(argc - 1, argv + 1);
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    usage(stdout);
    return 0;
  }
  usage(stderr);
  return 2;
}
