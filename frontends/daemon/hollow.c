/* SPDX-License-Identifier: Apache-2.0 */
/* kubed agent --hollow N: N hollow nodes (<libkube/node.h>) of the
 * cluster at --server, in this one process over one HTTPS transport and
 * one pod informer.  The nodes share one identity: a bearer token (the
 * server's DATA/token) or a kubeconfig, not a join token, since a node's
 * own certificate (system:node:NAME) covers only that node.  SIGTERM or
 * SIGINT stop it; its Nodes stay and go NotReady as dead kubelets' do. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libkube/client.h>
#include <libkube/kit.h>
#include <libkube/node.h>

#include "agent.h"
#include "node-flags.h"

#define MAX_LABELS 32

static void usage(FILE *f) {
  fprintf(f,
          "usage: kubed agent --hollow N (--server URL --token TOKEN | "
          "--kubeconfig FILE)\n"
          "                   [options]\n\n"
          "Runs N hollow nodes (as kubemark's hollow kubelets): each "
          "registers a Node,\n"
          "renews its Lease and reports the pods bound to it Running "
          "without running\n"
          "containers.  They share one identity that may write every "
          "node's objects:\n"
          "the server's bearer token (its DATA/token) or a kubeconfig.\n\n"
          "hollow options:\n"
          "  --hollow N              number of nodes (1-100000)\n"
          "  --server URL            the API server (https://ADDR:PORT)\n"
          "  --token TOKEN           a bearer token (not a join token)\n"
          "  --certificate-authority FILE  the server's CA (DATA/ca.crt or\n"
          "                          DATA/tls.crt); default: the system's "
          "roots\n"
          "  --kubeconfig FILE       credentials instead of --server/--token\n"
          "  --name-prefix PREFIX    node names PREFIX0, PREFIX1, ... "
          "(default\n"
          "                          hollow-node-)\n"
          "  --first-index I         number of the first node (default 0)\n"
          "  --node-size SPEC        capacity of each node (default\n"
          "                          cpu=4,memory=16Gi,pods=110,\n"
          "                          ephemeral-storage=100Gi)\n"
          "  --node-label KEY=VALUE  an extra label on every node "
          "(repeatable)\n"
          "  --pod-cidr CIDR         give node i block i of CIDR as its pod "
          "CIDR\n"
          "                          (default: the server's node IPAM)\n"
          "  --node-cidr-mask-size N size of those blocks (default 24)\n"
          "  --node-lease-duration-seconds N  the Leases' duration; renewed\n"
          "                          every quarter of it (default 40)\n"
          "  --log-level LEVEL       error|warning|info|debug\n");
}

enum {
  O_HOLLOW = 1,
  O_SERVER,
  O_TOKEN,
  O_CA,
  O_KUBECONFIG,
  O_PREFIX,
  O_FIRST,
  O_SIZE,
  O_LABEL,
  O_POD_CIDR,
  O_MASK,
  O_LEASE,
  O_LOG,
  O_HELP,
};

static const struct option longopts[] = {
    {"hollow", required_argument, NULL, O_HOLLOW},
    {"server", required_argument, NULL, O_SERVER},
    {"token", required_argument, NULL, O_TOKEN},
    {"certificate-authority", required_argument, NULL, O_CA},
    {"kubeconfig", required_argument, NULL, O_KUBECONFIG},
    {"name-prefix", required_argument, NULL, O_PREFIX},
    {"first-index", required_argument, NULL, O_FIRST},
    {"node-size", required_argument, NULL, O_SIZE},
    {"node-label", required_argument, NULL, O_LABEL},
    {"pod-cidr", required_argument, NULL, O_POD_CIDR},
    {"node-cidr-mask-size", required_argument, NULL, O_MASK},
    {"node-lease-duration-seconds", required_argument, NULL, O_LEASE},
    {"log-level", required_argument, NULL, O_LOG},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

struct hollow_flags {
  kube_node_hollow_options_t o;
  kube_client_options_t co;
  const char *labels[MAX_LABELS + 1];
  size_t n_labels;
};

static int number(const char *flag, const char *v, unsigned long lo,
                  unsigned long hi, unsigned long *out) {
  char *end;
  errno = 0;
  unsigned long x = strtoul(v, &end, 10);
  if (errno || *end || end == v || x < lo || x > hi || *v == '-') {
    fprintf(stderr, "kubed agent: bad %s %s (%lu-%lu)\n", flag, v, lo, hi);
    return 2;
  }
  *out = x;
  return 0;
}

/* 0, or an exit code (-1: the help was printed). */
static int parse(int argc, char **argv, struct hollow_flags *f) {
  int c;
  unsigned long v;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
    case O_HOLLOW:
      if (number("--hollow", optarg, 1, 100000, &v))
        return 2;
      f->o.count = (unsigned)v;
      break;
    case O_SERVER:
      if (strncmp(optarg, "https://", 8) != 0) {
        fprintf(stderr, "kubed agent: bad --server %s (want https://...)\n",
                optarg);
        return 2;
      }
      f->co.server = optarg;
      break;
    case O_TOKEN:
      f->co.token = optarg;
      break;
    case O_CA:
      f->co.certificate_authority = optarg;
      break;
    case O_KUBECONFIG:
      f->co.kubeconfig = optarg;
      break;
    case O_PREFIX:
      f->o.name_prefix = optarg;
      break;
    case O_FIRST:
      if (number("--first-index", optarg, 0, 1000000000, &v))
        return 2;
      f->o.first_index = (unsigned)v;
      break;
    case O_SIZE:
      f->o.size = optarg;
      break;
    case O_LABEL:
      if (f->n_labels == MAX_LABELS) {
        fprintf(stderr, "kubed agent: too many --node-label\n");
        return 2;
      }
      f->labels[f->n_labels++] = optarg;
      f->o.labels = f->labels;
      break;
    case O_POD_CIDR:
      f->o.pod_cidr = optarg;
      break;
    case O_MASK:
      if (number("--node-cidr-mask-size", optarg, 1, 30, &v))
        return 2;
      f->o.node_cidr_mask_size = (int)v;
      break;
    case O_LEASE:
      if (number("--node-lease-duration-seconds", optarg, 1, 3600, &v))
        return 2;
      f->o.lease_duration_seconds = (int)v;
      break;
    case O_LOG:
      if (kubed_log_level_flag(optarg))
        return 2;
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
    fprintf(stderr, "kubed agent: unexpected argument %s\n", argv[optind]);
    return 2;
  }
  if (!f->co.kubeconfig && (!f->co.server || !f->co.token)) {
    fprintf(stderr, "kubed agent: --hollow needs --server and --token, or "
                    "--kubeconfig\n");
    return 2;
  }
  return 0;
}

struct run {
  kube_loop_t *loop;
  kube_node_hollow_t *set;
  sigset_t set_sigs;
  bool stopping;
};

static void drained(void *arg) {
  struct run *r = arg;
  kube_loop_quit(r->loop);
}

static void on_signal(void *arg) {
  struct run *r = arg;
  if (r->stopping) {
    kube_loop_quit(r->loop);
    return;
  }
  r->stopping = true;
  kube_log(KUBE_LOG_INFO, "kubed agent: stopping the hollow nodes");
  kube_node_hollow_drain(r->set, drained, r);
}

static void *signal_thread(void *arg) {
  struct run *r = arg;
  for (;;) {
    int sig = 0;
    if (sigwait(&r->set_sigs, &sig) == 0)
      kube_loop_invoke(r->loop, on_signal, r, NULL);
  }
  return NULL;
}

int kubed_hollow_main(int argc, char **argv) {
  static struct hollow_flags f;
  f.o.struct_size = sizeof f.o;
  f.co.struct_size = sizeof f.co;
  int rc = parse(argc, argv, &f);
  if (rc)
    return rc < 0 ? 0 : rc;
  signal(SIGPIPE, SIG_IGN);
  /* Static: the signal thread outlives this call. */
  static struct run r;
  sigemptyset(&r.set_sigs);
  sigaddset(&r.set_sigs, SIGTERM);
  sigaddset(&r.set_sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &r.set_sigs, NULL);
  kube_error_t err = KUBE_ERROR_INIT;
  kube_http_transport_t *ht = NULL;
  kube_informer_factory_t *inf = NULL;
  kube_transport_t tp;
  pthread_t th;
  rc = 1;
  if (!(r.loop = kube_loop_new(&err)) ||
      !(ht = kube_http_transport_new(r.loop, &f.co, &err)))
    goto out;
  kube_http_transport_get(ht, &tp);
  if (!(inf = kube_informer_factory_new(r.loop, &tp, &err)) ||
      !(r.set = kube_node_hollow_new(r.loop, &tp, inf, &f.o, &err)) ||
      kube_node_hollow_start(r.set, &err) < 0 ||
      kube_informer_factory_start(inf, &err) < 0)
    goto out;
  if ((errno = pthread_create(&th, NULL, signal_thread, &r)) != 0) {
    fprintf(stderr, "kubed agent: cannot start a thread: %s\n",
            strerror(errno));
    goto out;
  }
  pthread_detach(th);
  size_t n = kube_node_hollow_count(r.set);
  printf("kubed agent: %zu hollow nodes running (%s .. %s)\n", n,
         kube_node_hollow_name(r.set, 0), kube_node_hollow_name(r.set, n - 1));
  fflush(stdout);
  rc = kube_loop_run(r.loop, &err) < 0 ? 1 : 0;
out:
  if (rc && err.message)
    fprintf(stderr, "kubed agent: %s\n", err.message);
  kube_node_hollow_free(r.set);
  kube_informer_factory_free(inf);
  kube_http_transport_free(ht);
  kube_error_clear(&err);
  return rc;
}
