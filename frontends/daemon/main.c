/* SPDX-License-Identifier: Apache-2.0 */
/* kubed: the libkube daemon.  `kubed server` runs the API server over a
 * store on one event loop; everything else lives in the library. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include <libkube/apiserver.h>
#include <libkube/client.h>
#include <libkube/core.h>
#include <libkube/scheduler.h>
#include <libkube/store.h>

#include "kube-config.h"

#define MAX_LISTEN 8

struct server_opts {
  const char *data_dir;
  const char *listen[MAX_LISTEN];
  int n_listen;
  const char *store;
  const char *etcd_endpoints;
  const char *token;
  size_t max_body;
  bool plain_http;
  bool disable_scheduler;
  const char *scheduler_config;
};

/* A wildcard bind address is reached through loopback. */
static bool streq_any_wildcard(const char *h) {
  return !*h || strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0 ||
         strcmp(h, "[::]") == 0;
}

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: kubed server [options]\n"
      "       kubed --version\n\n"
      "server options:\n"
      "  --data-dir DIR          state directory (default %s)\n"
      "  --listen unix:PATH      serve on a unix socket (mode 0600)\n"
      "  --listen tcp:ADDR:PORT  serve HTTPS (self-signed DIR/tls.crt) on TCP;\n"
      "                          needs the bearer token\n"
      "                          (default unix:%s and tcp:127.0.0.1:6443)\n"
      "  --store sqlite|etcd|memory   object store (default sqlite)\n"
      "  --etcd-endpoints URLS   etcd v3 endpoints for --store etcd\n"
      "  --token TOKEN           bearer token (default: generated, kept in\n"
      "                          DIR/token)\n"
      "  --max-body-bytes N      largest request body (default 3 MiB)\n"
      "  --plain-http            TCP without TLS (kubectl then sends no\n"
      "                          token: for debugging only)\n"
      "  --disable-scheduler     do not run the scheduler (pods stay\n"
      "                          Pending unless something else binds them)\n"
      "  --scheduler-config FILE scheduler settings (strategy, weights, ...)\n"
      "  --log-level LEVEL       error|warning|info|debug\n",
      KUBE_DEFAULT_DATA_DIR, KUBE_DEFAULT_SOCKET);
}

static int mkdir_p(const char *path, mode_t mode) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
    return -1;
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(buf, 0755) < 0 && errno != EEXIST)
      return -1;
    *p = '/';
  }
  if (mkdir(buf, mode) < 0 && errno != EEXIST)
    return -1;
  return 0;
}

static int write_file(const char *path, const char *data, mode_t mode) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    return -1;
  size_t len = strlen(data), off = 0;
  while (off < len) {
    ssize_t n = write(fd, data + off, len - off);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      close(fd);
      unlink(tmp);
      return -1;
    }
    off += (size_t)n;
  }
  if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
    unlink(tmp);
    return -1;
  }
  return 0;
}

/* The token: given, or kept in DIR/token, or generated there. */
static char *load_token(const char *dir, const char *given) {
  char path[4096];
  snprintf(path, sizeof path, "%s/token", dir);
  if (given)
    return strdup(given);
  FILE *f = fopen(path, "re");
  if (f) {
    char buf[256] = "";
    if (fgets(buf, sizeof buf, f)) {
      buf[strcspn(buf, "\r\n")] = '\0';
      fclose(f);
      if (buf[0])
        return strdup(buf);
    } else {
      fclose(f);
    }
  }
  unsigned char rnd[24];
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read(fd, rnd, sizeof rnd) != (ssize_t)sizeof rnd) {
    if (fd >= 0)
      close(fd);
    return NULL;
  }
  close(fd);
  char hex[sizeof rnd * 2 + 2];
  for (size_t i = 0; i < sizeof rnd; i++)
    snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
  char line[sizeof hex + 2];
  snprintf(line, sizeof line, "%s\n", hex);
  if (write_file(path, line, 0600) < 0)
    return NULL;
  return strdup(hex);
}

struct daemon {
  kube_loop_t *loop;
  struct event_base *base;
  kube_apiserver_t *srv;
  kube_scheduler_loop_t *sched;
  bool stopping;
};

static void drained(kube_apiserver_t *srv, void *arg) {
  struct daemon *d = arg;
  kube_log(KUBE_LOG_INFO, "kubed: requests drained, stopping");
  event_base_loopexit(d->base, NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
  struct daemon *d = arg;
  if (d->stopping) {
    kube_log(KUBE_LOG_WARNING, "kubed: second signal, exiting now");
    event_base_loopbreak(d->base);
    return;
  }
  d->stopping = true;
  kube_log(KUBE_LOG_INFO, "kubed: %s received, shutting down",
           sig == SIGTERM ? "SIGTERM" : "SIGINT");
  /* The scheduler's watches would keep the drain waiting. */
  kube_scheduler_loop_free(d->sched);
  d->sched = NULL;
  kube_apiserver_shutdown(d->srv, drained, d);
}

static int cmd_server(int argc, char **argv) {
  struct server_opts o = {
      .data_dir = KUBE_DEFAULT_DATA_DIR,
      .store = "sqlite",
  };
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
    O_SCHED_CONFIG
  };
  static const struct option longopts[] = {
      {"data-dir", required_argument, NULL, O_DATA},
      {"listen", required_argument, NULL, O_LISTEN},
      {"store", required_argument, NULL, O_STORE},
      {"etcd-endpoints", required_argument, NULL, O_ETCD},
      {"log-level", required_argument, NULL, O_LOG},
      {"token", required_argument, NULL, O_TOKEN},
      {"max-body-bytes", required_argument, NULL, O_MAXBODY},
      {"plain-http", no_argument, NULL, O_PLAIN},
      {"disable-scheduler", no_argument, NULL, O_NO_SCHED},
      {"scheduler-config", required_argument, NULL, O_SCHED_CONFIG},
      {"help", no_argument, NULL, O_HELP},
      {NULL, 0, NULL, 0},
  };
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
    case O_DATA:
      o.data_dir = optarg;
      break;
    case O_LISTEN:
      if (o.n_listen == MAX_LISTEN) {
        fprintf(stderr, "kubed: too many --listen\n");
        return 2;
      }
      o.listen[o.n_listen++] = optarg;
      break;
    case O_STORE:
      o.store = optarg;
      break;
    case O_ETCD:
      o.etcd_endpoints = optarg;
      break;
    case O_LOG: {
      int l = kube_log_level_parse(optarg);
      if (l < 0) {
        fprintf(stderr, "kubed: bad --log-level %s\n", optarg);
        return 2;
      }
      kube_log_set_level((kube_log_level_t)l);
      break;
    }
    case O_TOKEN:
      o.token = optarg;
      break;
    case O_MAXBODY: {
      char *end;
      unsigned long long v = strtoull(optarg, &end, 10);
      if (*end || v == 0) {
        fprintf(stderr, "kubed: bad --max-body-bytes %s\n", optarg);
        return 2;
      }
      o.max_body = (size_t)v;
      break;
    }
    case O_PLAIN:
      o.plain_http = true;
      break;
    case O_NO_SCHED:
      o.disable_scheduler = true;
      break;
    case O_SCHED_CONFIG:
      o.scheduler_config = optarg;
      break;
    case O_HELP:
    case 'h':
      usage(stdout);
      return 0;
    default:
      usage(stderr);
      return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "kubed server: unexpected argument %s\n", argv[optind]);
    return 2;
  }
  if (o.n_listen == 0) {
    static char unix_spec[4200];
    snprintf(unix_spec, sizeof unix_spec, "unix:%s", KUBE_DEFAULT_SOCKET);
    o.listen[o.n_listen++] = unix_spec;
    o.listen[o.n_listen++] = "tcp:127.0.0.1:6443";
  }
  if (mkdir_p(o.data_dir, 0700) < 0) {
    kube_log(KUBE_LOG_ERROR, "kubed: cannot create %s: %s", o.data_dir,
             strerror(errno));
    return 1;
  }
  char *token = load_token(o.data_dir, o.token);
  if (!token) {
    kube_log(KUBE_LOG_ERROR, "kubed: cannot create a token in %s: %s",
             o.data_dir, strerror(errno));
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  /* Every watcher holds a connection: allow as many as the hard limit. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  int rc = 1;
  struct daemon d = {0};
  kube_store_t *store = NULL;
  struct event *sigterm = NULL, *sigint = NULL;
  kube_error_t err = KUBE_ERROR_INIT;
  d.loop = kube_loop_new(NULL);
  d.base = kube_loop_base(d.loop);
  if (!d.base) {
    kube_log(KUBE_LOG_ERROR, "kubed: cannot create the event loop");
    goto out;
  }
  char dbpath[4200];
  snprintf(dbpath, sizeof dbpath, "%s/store.db", o.data_dir);
  kube_store_options_t so = {
      .struct_size = sizeof so,
      .backend = o.store,
      .path = dbpath,
      .etcd_endpoints = o.etcd_endpoints,
      /* The apiserver's keys already start with /registry, as Kubernetes
       * lays them out in etcd; add nothing in front. */
      .etcd_prefix = "",
  };
  store = kube_store_open(d.loop, &so, &err);
  if (!store) {
    kube_log(KUBE_LOG_ERROR, "kubed: open %s store: %s", o.store, err.message);
    goto out;
  }
  char cert[4200], key[4200];
  snprintf(cert, sizeof cert, "%s/tls.crt", o.data_dir);
  snprintf(key, sizeof key, "%s/tls.key", o.data_dir);
  if (!o.plain_http && (access(cert, R_OK) < 0 || access(key, R_OK) < 0)) {
    if (kube_apiserver_generate_cert(cert, key, NULL, &err) < 0) {
      kube_log(KUBE_LOG_ERROR, "kubed: serving certificate: %s", err.message);
      goto out;
    }
    kube_log(KUBE_LOG_INFO, "kubed: generated serving certificate %s", cert);
  }
  kube_apiserver_options_t ao = {
      .struct_size = sizeof ao,
      .token = token,
      .max_body_bytes = o.max_body,
      .bootstrap = true,
      .tls_cert_file = o.plain_http ? NULL : cert,
      .tls_key_file = o.plain_http ? NULL : key,
  };
  /* The advertised port is the first TCP listener's. */
  for (int i = 0; i < o.n_listen; i++) {
    const char *colon = strrchr(o.listen[i], ':');
    if (strncmp(o.listen[i], "tcp:", 4) == 0 && colon) {
      ao.advertise_port = atoi(colon + 1);
      break;
    }
  }
  d.srv = kube_apiserver_new(d.loop, store, &ao, &err);
  if (!d.srv) {
    kube_log(KUBE_LOG_ERROR, "kubed: apiserver: %s", err.message);
    goto out;
  }
  char server_url[300] = "";
  for (int i = 0; i < o.n_listen; i++) {
    if (strncmp(o.listen[i], "unix:", 5) == 0) {
      const char *path = o.listen[i] + 5;
      char *dir = strdup(path);
      char *slash = dir ? strrchr(dir, '/') : NULL;
      if (slash && slash != dir) {
        *slash = '\0';
        mkdir_p(dir, 0755);
      }
      free(dir);
    }
    int before = kube_apiserver_port(d.srv);
    if (kube_apiserver_listen(d.srv, o.listen[i], &err) < 0) {
      kube_log(KUBE_LOG_ERROR, "kubed: %s", err.message);
      goto out;
    }
    int port = kube_apiserver_port(d.srv);
    if (strncmp(o.listen[i], "tcp:", 4) == 0 && port != before) {
      char host[256];
      const char *hp = o.listen[i] + 4;
      const char *colon = strrchr(hp, ':');
      snprintf(host, sizeof host, "%.*s", (int)(colon - hp), hp);
      if (streq_any_wildcard(host))
        snprintf(host, sizeof host, "127.0.0.1");
      const char *scheme = o.plain_http ? "http" : "https";
      if (!server_url[0])
        snprintf(server_url, sizeof server_url, "%s://%s:%d", scheme, host,
                 port);
      printf("kubed: listening on %s://%s:%d (bearer token required)\n", scheme,
             host, port);
    } else {
      printf("kubed: listening on %s\n", o.listen[i]);
    }
  }
  if (server_url[0]) {
    char kc[4200];
    snprintf(kc, sizeof kc, "%s/kubeconfig.yaml", o.data_dir);
    if (kube_apiserver_write_kubeconfig(
            kc, server_url, o.plain_http ? NULL : cert, token, &err) < 0) {
      kube_log(KUBE_LOG_ERROR, "kubed: kubeconfig: %s", err.message);
      goto out;
    }
    printf("kubed: kubeconfig written to %s/kubeconfig.yaml\n", o.data_dir);
  }
  if (!o.disable_scheduler) {
    kube_scheduler_config_t sc;
    kube_scheduler_config_init(&sc);
    if (o.scheduler_config &&
        kube_scheduler_config_load(&sc, o.scheduler_config, &err) < 0) {
      kube_log(KUBE_LOG_ERROR, "kubed: scheduler config: %s", err.message);
      goto out;
    }
    kube_transport_t tp;
    kube_apiserver_transport(d.srv, &tp);
    kube_scheduler_loop_options_t lo = {.struct_size = sizeof lo,
                                        .config = &sc};
    d.sched = kube_scheduler_loop_new(d.loop, &tp, &lo, &err);
    if (!d.sched || kube_scheduler_loop_start(d.sched, &err) < 0) {
      kube_log(KUBE_LOG_ERROR, "kubed: scheduler: %s", err.message);
      goto out;
    }
  }
  fflush(stdout);
  kube_log(KUBE_LOG_INFO, "kubed: serving with the %s store",
           kube_store_backend(store));
  sigterm = evsignal_new(d.base, SIGTERM, on_signal, &d);
  sigint = evsignal_new(d.base, SIGINT, on_signal, &d);
  if (!sigterm || !sigint || evsignal_add(sigterm, NULL) < 0 ||
      evsignal_add(sigint, NULL) < 0) {
    kube_log(KUBE_LOG_ERROR, "kubed: cannot install signal handlers");
    goto out;
  }
  if (event_base_dispatch(d.base) < 0) {
    kube_log(KUBE_LOG_ERROR, "kubed: event loop failed");
    goto out;
  }
  rc = 0;
out:
  if (sigterm)
    event_free(sigterm);
  if (sigint)
    event_free(sigint);
  kube_scheduler_loop_free(d.sched);
  kube_apiserver_free(d.srv);
  kube_store_close(store); /* finishes writes still queued */
  kube_loop_free(d.loop);
  kube_error_clear(&err);
  free(token);
  if (rc == 0)
    kube_log(KUBE_LOG_INFO, "kubed: stopped");
  return rc;
}

int main(int argc, char **argv) {
  if (argc > 1 &&
      (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
    printf("kubed v%s (Kubernetes API v1.32)\n", KUBE_VERSION);
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "server") == 0)
    return cmd_server(argc - 1, argv + 1);
  if (argc > 1 &&
      (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
       strcmp(argv[1], "help") == 0)) {
    usage(stdout);
    return 0;
  }
  usage(stderr);
  return 2;
}
