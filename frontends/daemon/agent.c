/* SPDX-License-Identifier: Apache-2.0 */
/* kubed agent: a node of another `kubed server`.  The first start joins
 * with the join token (kube_client_node_join: a system:node:NAME client
 * certificate, kept with its kubeconfig in the data directory); later
 * starts reuse it.  Then kube_node_agent runs over the HTTPS transport
 * with its own informers, reading only what the Node authorizer allows.
 * Once its Node has addresses, it asks for the kubelet's serving
 * certificate for them (signer kubernetes.io/kubelet-serving, kept in
 * DATA/kubelet-serving.crt and .key), for the kubelet HTTPS port.  The
 * node's network (routes to the other nodes' pods, masquerade, the
 * service proxy) follows ConfigMap kube-system/libkube-cluster.
 * Its client certificate is renewed through a CSR at a random 70-90 % of
 * its lifetime (the kubelet's certificate manager), the kubeconfig
 * rewritten, and new connections use it; so is the serving certificate
 * (the kubelet port serves the new files from the next handshake).
 * SIGTERM or SIGINT stop it; containers keep running and the next start
 * adopts them, as with the kubelet. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libkube/client.h>
#include <libkube/kit.h>
#include <libkube/node.h>

#include "agent.h"
#include "kube-config.h"
#include "memory.h"
#include "node-flags.h"

#define KUBECONFIG_NAME "kubelet.kubeconfig"

struct agent_flags {
  const char *data_dir, *server, *token, *ca_file;
};

static void usage(FILE *f) {
  fprintf(f,
          "usage: kubed agent --server URL --token TOKEN [options]\n\n"
          "Runs a node of the cluster of `kubed server` at URL.  The first "
          "start joins\n"
          "with the server's join token (its DATA/join-token) and keeps the "
          "node's\n"
          "certificate in DIR/" KUBECONFIG_NAME
          "; later starts reuse it and need\n"
          "neither --server nor --token.\n\n"
          "agent options:\n"
          "  --server URL            the API server (https://ADDR:PORT)\n"
          "  --token TOKEN           the join token\n"
          "  --certificate-authority FILE  the cluster CA (the server's "
          "DATA/ca.crt);\n"
          "                          default: the system's roots\n"
          "  --data-dir DIR          state directory (default %s/agent)\n"
          "  --log-level LEVEL       error|warning|info|debug\n"
          "  --hollow N              run N hollow nodes instead (kubed agent "
          "--hollow 1\n"
          "                          --help)\n",
          KUBE_DEFAULT_DATA_DIR);
  kubed_node_usage(f);
}

enum {
  O_DATA = 1,
  O_SERVER,
  O_TOKEN,
  O_CA,
  O_LOG,
  O_HELP,
};

static const struct option agent_longopts[] = {
    {"data-dir", required_argument, NULL, O_DATA},
    {"server", required_argument, NULL, O_SERVER},
    {"token", required_argument, NULL, O_TOKEN},
    {"certificate-authority", required_argument, NULL, O_CA},
    {"log-level", required_argument, NULL, O_LOG},
    {"help", no_argument, NULL, O_HELP},
};
#define N_AGENT_OPTS (sizeof agent_longopts / sizeof agent_longopts[0])

/* 0, or an exit code (-1: the help was printed). */
static int parse(int argc, char **argv, struct agent_flags *a,
                 struct kubed_node_flags *node) {
  struct option opts[N_AGENT_OPTS + 32];
  kubed_node_longopts_merge(opts, agent_longopts, N_AGENT_OPTS);
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (c >= KUBED_NODE_OPT_BASE) {
      if (kubed_node_flag(node, c, optarg))
        return 2;
      continue;
    }
    switch (c) {
    case O_DATA:
      a->data_dir = optarg;
      break;
    case O_SERVER:
      if (strncmp(optarg, "https://", 8) != 0) {
        fprintf(stderr, "kubed agent: bad --server %s (want https://...)\n",
                optarg);
        return 2;
      }
      a->server = optarg;
      break;
    case O_TOKEN:
      a->token = optarg;
      break;
    case O_CA:
      a->ca_file = optarg;
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
  if (node->no_node) {
    fprintf(stderr, "kubed agent: --no-node: an agent is a node\n");
    return 2;
  }
  return 0;
}

/* Kept credentials the server refuses (another cluster, a certificate it
 * no longer trusts) stop the agent with one line; a server not answering
 * yet does not (the agent retries). */
static int kept_credentials_ok(const char *node, const char *path) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_client_options_t co = {
      .struct_size = sizeof co, .kubeconfig = path, .timeout_ms = 10000};
  kube_client_t *c = kube_client_new(&co, &err);
  const kube_kind_t *k = kube_kind_by_resource("", "v1", "nodes");
  kube_object_t *o = c && k ? kube_client_get(c, k, NULL, node, &err) : NULL;
  int rc = 0;
  if (!c || (!o && (err.reason == KUBE_REASON_UNAUTHORIZED ||
                    err.reason == KUBE_REASON_FORBIDDEN))) {
    fprintf(stderr,
            "kubed agent: the credentials in %s are not accepted%s%s%s: %s "
            "(remove the file to join again)\n",
            path, c ? " by " : "", c ? kube_client_server(c) : "", "",
            err.message ? err.message : "failed");
    rc = 1;
  }
  kube_object_free(o);
  kube_client_free(c);
  kube_error_clear(&err);
  return rc;
}

/* The kubeconfig of the node's certificate: joined now when there is
 * none.  0, or 1 after printing why not. */
/* The cluster CA, kept as DATA/ca.crt: the kubelet port checks the API
 * server's client certificate against it. */
static int copy_ca(const char *ca_file, const char *data_dir) {
  char out[4200];
  snprintf(out, sizeof out, "%s/ca.crt", data_dir);
  FILE *in = fopen(ca_file, "rb"), *o = in ? fopen(out, "wb") : NULL;
  char buf[8192];
  size_t n;
  int rc = in && o ? 0 : -1;
  while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
    if (fwrite(buf, 1, n, o) != n)
      rc = -1;
  if (in && ferror(in))
    rc = -1;
  if (o && fclose(o) != 0)
    rc = -1;
  if (in)
    fclose(in);
  if (rc < 0)
    fprintf(stderr, "kubed agent: cannot keep the CA %s in %s: %s\n", ca_file,
            out, strerror(errno));
  return rc;
}

static int credentials(const struct agent_flags *f, const char *node,
                       const char *path) {
  if (access(path, R_OK) == 0) {
    printf("kubed agent: node %s: using the credentials in %s\n", node, path);
    return kept_credentials_ok(node, path);
  }
  if (!f->server || !f->token) {
    fprintf(stderr,
            "kubed agent: %s does not exist: --server and --token are needed "
            "to join\n",
            path);
    return 1;
  }
  kube_client_join_options_t jo = {.struct_size = sizeof jo,
                                   .server = f->server,
                                   .ca_file = f->ca_file,
                                   .token = f->token,
                                   .node_name = node,
                                   .kubeconfig_out = path};
  kube_error_t err = KUBE_ERROR_INIT;
  if (f->ca_file && copy_ca(f->ca_file, f->data_dir) < 0)
    return 1;
  if (kube_client_node_join(&jo, &err) < 0) {
    /* One line: the message may carry the server's text. */
    for (char *s = err.message; s && *s; s++)
      if (*s == '\n')
        *s = ' ';
    fprintf(stderr, "kubed agent: cannot join %s as node %s: %s\n", f->server,
            node, err.message ? err.message : "failed");
    kube_error_clear(&err);
    return 1;
  }
  printf("kubed agent: node %s joined %s: credentials in %s\n", node, f->server,
         path);
  return 0;
}

/* ---- signals: a thread waits for them and tells the loop ---- */

struct run {
  kube_loop_t *loop;
  kube_node_agent_t *agent;
  sigset_t set;
  bool stopping;
  /* the serving certificate's thread */
  const char *kubeconfig, *node, *data_dir;
  atomic_bool quit;
  /* the kubelet port (--kubelet-listen): opened on the loop once the
   * serving certificate is there */
  kube_node_stream_t *stream;
  char *kubelet_listen; /* "tcp:ADDR:PORT" or NULL */
  /* the client certificate's renewal: the transport reloads it */
  kube_http_transport_t *ht;
};

/* On the loop: serve the node's pods on the kubelet port. */
static void open_kubelet_port(void *arg) {
  struct run *r = arg;
  if (!r->stream || atomic_load(&r->quit))
    return;
  char crt[4200], key[4200], ca[4200];
  snprintf(crt, sizeof crt, "%s/kubelet-serving.crt", r->data_dir);
  snprintf(key, sizeof key, "%s/kubelet-serving.key", r->data_dir);
  snprintf(ca, sizeof ca, "%s/ca.crt", r->data_dir);
  kube_node_stream_listen_options_t lo = {.struct_size = sizeof lo,
                                          .tls_cert_file = crt,
                                          .tls_key_file = key,
                                          .tls_client_ca_file = ca};
  kube_error_t err = KUBE_ERROR_INIT;
  if (kube_node_stream_listen(r->stream, r->kubelet_listen, &lo, &err) < 0)
    kube_log(KUBE_LOG_ERROR, "kubed agent: kubelet port %s: %s",
             r->kubelet_listen + 4, err.message);
  else
    kube_log(KUBE_LOG_INFO, "kubed agent: kubelet port listening on %s",
             r->kubelet_listen + 4);
  kube_error_clear(&err);
}

static void drained(void *arg) {
  struct run *r = arg;
  kube_loop_quit(r->loop);
}

static void on_signal(void *arg) {
  struct run *r = arg;
  if (r->stopping) { /* a second signal: stop without waiting */
    kube_loop_quit(r->loop);
    return;
  }
  r->stopping = true;
  kube_log(KUBE_LOG_INFO, "kubed agent: stopping (containers keep running)");
  kube_node_agent_drain(r->agent, drained, r);
}

static void *signal_thread(void *arg) {
  struct run *r = arg;
  for (;;) {
    int sig = 0;
    if (sigwait(&r->set, &sig) != 0)
      continue;
    kube_loop_invoke(r->loop, on_signal, r, NULL);
  }
  return NULL;
}

/* ---- the kubelet's serving certificate ---- */

/* The Node's addresses once it has some: IPs (InternalIP, ExternalIP) and
 * names (Hostname, InternalDNS, ExternalDNS), at most 8 of each. */
static bool node_addresses(kube_client_t *c, const char *node, char ips[8][256],
                           char names[8][256], size_t *n_ips, size_t *n_names) {
  const kube_kind_t *k = kube_kind_by_resource("", "v1", "nodes");
  kube_object_t *o = k ? kube_client_get(c, k, NULL, node, NULL) : NULL;
  *n_ips = *n_names = 0;
  for (int i = 0; o && i < 16; i++) {
    char p[64];
    snprintf(p, sizeof p, "status.addresses.%d.type", i);
    const char *t = kube_object_get_string(o, p);
    snprintf(p, sizeof p, "status.addresses.%d.address", i);
    const char *v = kube_object_get_string(o, p);
    if (!t || !v)
      break;
    bool ip = !strcmp(t, "InternalIP") || !strcmp(t, "ExternalIP");
    size_t *n = ip ? n_ips : n_names;
    if (*n < 8)
      snprintf((ip ? ips : names)[(*n)++], 256, "%s", v);
  }
  kube_object_free(o);
  return *n_ips + *n_names > 0;
}

/* Sleep until `when` (epoch seconds) or quit; false on quit. */
static bool sleep_until(struct run *r, int64_t when) {
  while (!atomic_load(&r->quit) && (int64_t)time(NULL) < when)
    sleep(1);
  return !atomic_load(&r->quit);
}

/* When to renew a certificate valid from nb to na: at a random 70-90 %
 * of its lifetime (the kubelet's certificate manager). */
static int64_t renewal_deadline(int64_t nb, int64_t na, unsigned *seed) {
  double frac = 0.7 + 0.2 * ((double)rand_r(seed) / RAND_MAX);
  return nb + (int64_t)(frac * (double)(na - nb));
}

/* Ask for the serving certificate for the Node's addresses (blocking):
 * false after saying why, or on quit. */
static bool request_serving(struct run *r, const char *crt, const char *key) {
  char ips[8][256], names[8][256];
  kube_client_t *c = kube_client_new_from_kubeconfig(r->kubeconfig, NULL, NULL);
  size_t n_ips = 0, n_names = 0;
  while (c && !atomic_load(&r->quit) &&
         !node_addresses(c, r->node, ips, names, &n_ips, &n_names))
    sleep(1);
  kube_client_free(c);
  if (atomic_load(&r->quit) || n_ips + n_names == 0)
    return false;
  const char *ipv[9] = {0}, *namev[9] = {0};
  for (size_t i = 0; i < n_ips; i++)
    ipv[i] = ips[i];
  for (size_t i = 0; i < n_names; i++)
    namev[i] = names[i];
  kube_client_serving_options_t so = {.struct_size = sizeof so,
                                      .kubeconfig = r->kubeconfig,
                                      .node_name = r->node,
                                      .ips = ipv,
                                      .dns_names = namev,
                                      .cert_out = crt,
                                      .key_out = key};
  kube_error_t err = KUBE_ERROR_INIT;
  bool ok = kube_client_node_serving_cert(&so, &err) == 0;
  if (!ok)
    kube_log(KUBE_LOG_WARNING, "kubed agent: kubelet serving certificate: %s",
             err.message ? err.message : "failed");
  else
    kube_log(KUBE_LOG_INFO, "kubed agent: kubelet serving certificate in %s",
             crt);
  kube_error_clear(&err);
  return ok;
}

/* The serving certificate: asked for once the Node has addresses, then
 * renewed at 70-90 % of its lifetime (the kubelet port serves the new
 * files from the next handshake on). */
static void *serving_thread(void *arg) {
  struct run *r = arg;
  char crt[4200], key[4200];
  snprintf(crt, sizeof crt, "%s/kubelet-serving.crt", r->data_dir);
  snprintf(key, sizeof key, "%s/kubelet-serving.key", r->data_dir);
  if ((access(crt, R_OK) != 0 || access(key, R_OK) != 0) &&
      !request_serving(r, crt, key))
    return NULL;
  kube_loop_invoke(r->loop, open_kubelet_port, r, NULL);
  unsigned seed = (unsigned)time(NULL) ^ ((unsigned)getpid() << 8);
  for (;;) {
    int64_t nb = 0, na = 0;
    if (kube_client_pem_validity(crt, &nb, &na, NULL) < 0 ||
        !sleep_until(r, renewal_deadline(nb, na, &seed)))
      return NULL;
    while (!request_serving(r, crt, key))
      if (!sleep_until(r, (int64_t)time(NULL) + 10))
        return NULL;
  }
}

/* ---- the client certificate's renewal (the kubelet's certificate
 * manager: at a random 70-90 % of its lifetime) ---- */

/* On the loop: new connections use the renewed certificate. */
static void reload_credentials(void *arg) {
  struct run *r = arg;
  if (atomic_load(&r->quit) || !r->ht)
    return;
  kube_client_options_t co = {.struct_size = sizeof co,
                              .kubeconfig = r->kubeconfig};
  kube_error_t err = KUBE_ERROR_INIT;
  if (kube_http_transport_reload(r->ht, &co, &err) < 0)
    kube_log(KUBE_LOG_WARNING, "kubed agent: renewed certificate: %s",
             err.message);
  kube_error_clear(&err);
}

static void *renew_thread(void *arg) {
  struct run *r = arg;
  unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
  int failures = 0;
  for (;;) {
    int64_t nb = 0, na = 0;
    kube_error_t err = KUBE_ERROR_INIT;
    if (kube_client_cert_validity(r->kubeconfig, &nb, &na, &err) < 0) {
      kube_log(KUBE_LOG_WARNING, "kubed agent: client certificate: %s",
               err.message);
      kube_error_clear(&err);
      return NULL;
    }
    int64_t deadline = renewal_deadline(nb, na, &seed);
    if (failures) /* back off 5 s doubling to 5 min, never past expiry */
      deadline = (int64_t)time(NULL) +
                 (failures > 6 ? 300 : 5 << (failures - 1));
    kube_log(KUBE_LOG_INFO,
             "kubed agent: client certificate valid until %lld, renewal in "
             "%lld s",
             (long long)na, (long long)(deadline - (int64_t)time(NULL)));
    if (!sleep_until(r, deadline))
      return NULL;
    if (kube_client_node_renew(r->kubeconfig, r->node, 60000, &err) < 0) {
      kube_log(KUBE_LOG_WARNING,
               "kubed agent: renewing the client certificate: %s",
               err.message ? err.message : "failed");
      kube_error_clear(&err);
      failures++;
      continue;
    }
    failures = 0;
    kube_log(KUBE_LOG_INFO, "kubed agent: client certificate renewed in %s",
             r->kubeconfig);
    kube_loop_invoke(r->loop, reload_credentials, r, NULL);
  }
}

static int start_thread(void *(*fn)(void *), struct run *r, kube_error_t *err) {
  pthread_t th;
  int e = pthread_create(&th, NULL, fn, r);
  if (e)
    return kube_error_set(err, KUBE_REASON_INTERNAL, e,
                          "cannot start a thread: %s", strerror(e));
  pthread_detach(th);
  return 0;
}

/* GET /stats/summary on the kubelet port. */
static int agent_summary(void *agent, char **json_out, kube_error_t *err) {
  return kube_node_agent_stats_summary(agent, json_out, err);
}

/* The port of "ADDR:PORT" ("tcp:" optional), or -1. */
static int listen_port(const char *spec) {
  const char *colon = strrchr(spec, ':');
  if (!colon || colon == spec ||
      (!strncmp(spec, "tcp:", 4) && colon == spec + 3))
    return -1;
  char *end;
  long port = strtol(colon + 1, &end, 10);
  return *end || end == colon + 1 || port < 1 || port > 65535 ? -1
                                                               : (int)port;
}

static int run_agent(const char *kubeconfig, kube_node_agent_options_t *o,
                     const char *kubelet_listen) {
  /* Static: the serving certificate's thread may outlive this call (until
   * the process exits); so do the strings it reads. */
  static struct run r;
  if (kubelet_listen) {
    char ca[4200];
    snprintf(ca, sizeof ca, "%s/ca.crt", o->data_dir);
    int port = listen_port(kubelet_listen);
    if (port < 0) {
      fprintf(stderr,
              "kubed agent: bad --kubelet-listen %s (ADDR:PORT, PORT "
              "1-65535)\n",
              kubelet_listen);
      return 2;
    }
    if (access(ca, R_OK) != 0) {
      fprintf(stderr,
              "kubed agent: --kubelet-listen needs the cluster CA in %s "
              "(join with --certificate-authority)\n",
              ca);
      return 2;
    }
    if (asprintf(&r.kubelet_listen, "%s%s",
                 strncmp(kubelet_listen, "tcp:", 4) ? "tcp:" : "",
                 kubelet_listen) < 0)
      return 1;
    o->kubelet_port = port;
  }
  r.kubeconfig = kubeconfig;
  r.node = o->node_name;
  r.data_dir = o->data_dir;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_http_transport_t *ht = NULL;
  kube_informer_factory_t *inf = NULL;
  int rc = 1;
  sigemptyset(&r.set);
  sigaddset(&r.set, SIGTERM);
  sigaddset(&r.set, SIGINT);
  /* Blocked before any thread starts, so only the signal thread gets
   * them. */
  pthread_sigmask(SIG_BLOCK, &r.set, NULL);
  kube_client_options_t co = {.struct_size = sizeof co,
                              .kubeconfig = kubeconfig};
  kube_transport_t tp;
  if (!(r.loop = kube_loop_new(&err)) ||
      !(ht = kube_http_transport_new(r.loop, &co, &err)))
    goto out;
  kube_http_transport_get(ht, &tp);
  r.ht = ht;
  if (!(inf = kube_informer_factory_new(r.loop, &tp, &err)) ||
      !(r.agent = kube_node_agent_new(r.loop, &tp, inf, o, &err)) ||
      kube_node_agent_start(r.agent, &err) < 0 ||
      kube_informer_factory_start(inf, &err) < 0)
    goto out;
  if (r.kubelet_listen) {
    kube_node_stream_options_t so = {
        .struct_size = sizeof so,
        .loop = r.loop,
        .runtime_root = kube_node_agent_runtime_root(r.agent),
        .resolve = kube_node_agent_stream_resolve,
        .resolve_arg = r.agent,
    };
    if (!(r.stream = kube_node_stream_new(&so, &err)))
      goto out;
    kube_node_stream_set_summary(r.stream, agent_summary, r.agent);
  }
  if (start_thread(signal_thread, &r, &err) < 0 ||
      start_thread(serving_thread, &r, &err) < 0 ||
      start_thread(renew_thread, &r, &err) < 0)
    goto out;
  printf("kubed agent: node %s running\n", kube_node_agent_name(r.agent));
  fflush(stdout);
  kube_timer_t *trim = kubed_memory_trim_start(r.loop);
  rc = kube_loop_run(r.loop, &err) < 0 ? 1 : 0;
  kube_timer_free(trim);
  atomic_store(&r.quit, true);
out:
  if (rc)
    kube_log(KUBE_LOG_ERROR, "kubed agent: %s",
             err.message ? err.message : "failed");
  /* The streaming server goes before the agent its resolver reads. */
  kube_node_stream_free(r.stream);
  r.stream = NULL;
  kube_node_agent_free(r.agent);
  kube_informer_factory_free(inf);
  r.ht = NULL;
  kube_http_transport_free(ht);
  /* The signal thread may still hold the loop: it lives until exit. */
  kube_error_clear(&err);
  return rc;
}

static int mkdir_p(const char *dir) {
  char p[4096];
  if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) {
    errno = ENAMETOOLONG;
    return -1;
  }
  for (char *s = p + 1; *s; s++)
    if (*s == '/') {
      *s = '\0';
      if (mkdir(p, 0755) < 0 && errno != EEXIST)
        return -1;
      *s = '/';
    }
  return mkdir(p, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

int kubed_agent_main(int argc, char **argv) {
  for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
    if (!strcmp(argv[i], "--hollow") || !strncmp(argv[i], "--hollow=", 9))
      return kubed_hollow_main(argc, argv);
  struct agent_flags f = {.data_dir = KUBE_DEFAULT_DATA_DIR "/agent"};
  struct kubed_node_flags node;
  kubed_node_flags_init(&node);
  int rc = parse(argc, argv, &f, &node);
  if (rc)
    return rc < 0 ? 0 : rc;
  static char host[256], path[4096];
  const char *name = node.o.node_name;
  if (!name || !*name) {
    /* The kubelet's default: the host name, lower case. */
    if (gethostname(host, sizeof host - 1) < 0 || !*host) {
      fprintf(stderr, "kubed agent: no host name: pass --node-name\n");
      return 2;
    }
    for (char *s = host; *s; s++)
      if (*s >= 'A' && *s <= 'Z')
        *s = (char)(*s - 'A' + 'a');
    name = node.o.node_name = host;
  }
  if (mkdir_p(f.data_dir) < 0) {
    fprintf(stderr, "kubed agent: mkdir %s: %s\n", f.data_dir, strerror(errno));
    return 1;
  }
  snprintf(path, sizeof path, "%s/%s", f.data_dir, KUBECONFIG_NAME);
  signal(SIGPIPE, SIG_IGN);
  if (credentials(&f, name, path))
    return 1;
  fflush(stdout);
  node.o.data_dir = f.data_dir;
  node.o.own_pod_informer = true;
  node.o.per_object_reads = true;
  /* routes to the other nodes, masquerade, the service proxy: from the
   * cluster settings the server publishes */
  node.o.cluster_network = true;
  return run_agent(path, &node.o, node.kubelet_listen);
}
