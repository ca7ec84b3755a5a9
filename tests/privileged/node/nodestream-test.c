/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The test harness of the node's streaming server, over the public API
 * only (it stands in for the node agent, which does not exist yet):
 *
 *   nodestream-test start RUNTIME_ROOT ROOTFS ID [--sandbox DIR] [--log F]
 *       [--tty] [--stdin] [--stdin-once] [--log-max-size N]
 *       [--log-max-files N] -- ARGS...
 *     create and start a container (busybox rootfs, read-only, tmpfs
 *     /tmp), joining the pod sandbox DIR (pinned on first use); the
 *     monitor keeps its stdio (CRI log, attach), so this exits at once.
 *   nodestream-test wait RUNTIME_ROOT ID     wait for the container to exit
 *   nodestream-test cleanup RUNTIME_ROOT [SANDBOX...]
 *     force-delete every container, unpin the sandboxes.
 *   nodestream-test server DATA_DIR NODE RUNTIME_ROOT MAP [KUBELET_CERT
 *       KUBELET_KEY [KUBELET_CA]]
 *     kubed's control plane (memory store, no scheduler) on
 *     tcp:127.0.0.1:0, serving the pods of NODE in-process through the
 *     streaming server, and other nodes' pods through their kubelet ports
 *     with the client certificate.  Prints "URL <url>" and "KUBECONFIG
 *     <path>", runs until SIGTERM.
 *   nodestream-test agent RUNTIME_ROOT MAP CERT KEY CLIENT_CA
 *     only the streaming server on its own HTTPS port (a node agent in
 *     another process); prints "PORT <n>".
 *
 * MAP is the resolver's table, read on each request, one container a line:
 *   NS POD CONTAINER ID LOG PREVIOUS_LOG NETNS UID   ("-" for none)
 *   NS POD CONTAINER waiting REASON
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libkube/apiserver.h>
#include <libkube/node.h>
#include <libkube/runtime.h>
#include <libkube/server.h>

static int fail(const char *what, kube_error_t *err) {
  fprintf(stderr, "nodestream-test: %s: %s\n", what,
          err && err->message ? err->message : "failed");
  kube_error_clear(err);
  return 1;
}

/* ---- containers ---- */

static char **strv_dup(char **v, int n) {
  char **out = calloc((size_t)n + 1, sizeof *out);
  for (int i = 0; i < n; i++)
    out[i] = strdup(v[i]);
  return out;
}

static int cmd_start(int argc, char **argv) {
  if (argc < 4)
    return 2;
  const char *root = argv[1], *rootfs = argv[2], *id = argv[3];
  const char *sandbox = NULL, *log = NULL;
  bool tty = false, in = false, once = false;
  long long max_size = 0;
  int max_files = 0, i = 4;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    if (!strcmp(argv[i], "--sandbox") && i + 1 < argc)
      sandbox = argv[++i];
    else if (!strcmp(argv[i], "--log") && i + 1 < argc)
      log = argv[++i];
    else if (!strcmp(argv[i], "--tty"))
      tty = true;
    else if (!strcmp(argv[i], "--stdin"))
      in = true;
    else if (!strcmp(argv[i], "--stdin-once"))
      once = true;
    else if (!strcmp(argv[i], "--log-max-size") && i + 1 < argc)
      max_size = atoll(argv[++i]);
    else if (!strcmp(argv[i], "--log-max-files") && i + 1 < argc)
      max_files = atoi(argv[++i]);
    else
      return 2;
  }
  if (i + 1 >= argc)
    return 2;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_runtime_t *rt = kube_runtime_new(root, &err);
  if (!rt)
    return fail("runtime", &err);
  kube_rt_config_t *c = kube_rt_config_new_default(&err);
  if (!c)
    return fail("config", &err);
  free(c->root_path);
  c->root_path = strdup(rootfs);
  c->root_readonly = true;
  for (size_t k = 0; k < c->n_args; k++)
    free(c->args[k]);
  free(c->args);
  c->n_args = (size_t)(argc - i - 1);
  c->args = strv_dup(argv + i + 1, argc - i - 1);
  c->terminal = tty;
  /* A writable /tmp on the read-only rootfs (kubectl cp writes there). */
  kube_rt_mount_t *m =
      realloc(c->mounts, (c->n_mounts + 1) * sizeof *c->mounts);
  c->mounts = m;
  memset(&m[c->n_mounts], 0, sizeof *m);
  m[c->n_mounts].destination = strdup("/tmp");
  m[c->n_mounts].type = strdup("tmpfs");
  m[c->n_mounts].source = strdup("tmpfs");
  m[c->n_mounts].options = calloc(3, sizeof(char *));
  m[c->n_mounts].options[0] = strdup("nosuid");
  m[c->n_mounts].options[1] = strdup("mode=1777");
  m[c->n_mounts].n_options = 2;
  c->n_mounts++;
  if (sandbox) {
    if (!kube_runtime_sandbox_pinned(sandbox)) {
      kube_sandbox_options_t so = {.struct_size = sizeof so,
                                   .hostname = "nodestream"};
      if (kube_runtime_sandbox_pin(rt, sandbox, &so, &err) < 0)
        return fail("sandbox", &err);
    }
    if (kube_rt_config_join_sandbox(c, sandbox, &err) < 0)
      return fail("join sandbox", &err);
  }
  kube_rt_io_t io = KUBE_RT_IO_NULL;
  io.log_path = log;
  io.open_stdin = in;
  io.stdin_once = once;
  io.attachable = true;
  io.log_max_size = max_size;
  io.log_max_files = max_files;
  if (kube_runtime_create_ex(rt, id, c, &io, KUBE_RT_START, &err) < 0)
    return fail("create", &err);
  kube_rt_config_free(c);
  kube_runtime_free(rt);
  return 0;
}

static int cmd_wait(int argc, char **argv) {
  if (argc < 3)
    return 2;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_runtime_t *rt = kube_runtime_new(argv[1], &err);
  kube_rt_exit_t ex;
  if (!rt || kube_runtime_wait(rt, argv[2], 60000, &ex, &err) < 0)
    return fail("wait", &err);
  printf("%d\n", ex.exit_code);
  kube_runtime_free(rt);
  return 0;
}

static int cmd_cleanup(int argc, char **argv) {
  if (argc < 2)
    return 2;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_runtime_t *rt = kube_runtime_new(argv[1], &err);
  if (!rt)
    return fail("runtime", &err);
  char **ids = NULL;
  size_t n = 0;
  int rc = 0;
  if (kube_runtime_list(rt, &ids, &n, &err) == 0) {
    for (size_t i = 0; i < n; i++) {
      if (kube_runtime_delete(rt, ids[i], true, &err) < 0) {
        fprintf(stderr, "delete %s: %s\n", ids[i], err.message);
        kube_error_clear(&err);
        rc = 1;
      }
      free(ids[i]);
    }
    free(ids);
  }
  for (int i = 2; i < argc; i++)
    if (kube_runtime_sandbox_unpin(rt, argv[i], &err) < 0) {
      fprintf(stderr, "unpin %s: %s\n", argv[i], err.message);
      kube_error_clear(&err);
      rc = 1;
    }
  kube_runtime_free(rt);
  return rc;
}

/* ---- the resolver over MAP ---- */

static char *dup_field(const char *s) {
  return s && strcmp(s, "-") != 0 ? strdup(s) : NULL;
}

static int resolve(void *arg, const kube_node_stream_query_t *q,
                   kube_node_stream_target_t *out, kube_error_t *err) {
  FILE *f = fopen(arg, "re");
  if (!f)
    return kube_error_set(err, KUBE_REASON_INTERNAL, 0, "no map");
  char line[4096];
  bool pod_found = false;
  int rc = 1;
  while (rc == 1 && fgets(line, sizeof line, f)) {
    char *fld[8] = {0};
    int n = 0;
    for (char *save = NULL, *t = strtok_r(line, " \t\n", &save); t && n < 8;
         t = strtok_r(NULL, " \t\n", &save))
      fld[n++] = t;
    if (n < 5 || strcmp(fld[0], q->namespace_) || strcmp(fld[1], q->pod))
      continue;
    pod_found = true;
    if (q->container && strcmp(fld[2], q->container))
      continue;
    if (!strcmp(fld[3], "waiting")) {
      if (q->op == KUBE_NODE_STREAM_LOGS && !q->previous)
        rc = kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "container \"%s\" in pod \"%s\" is waiting to "
                            "start: %s",
                            fld[2], q->pod, fld[4]);
      else
        rc = 0; /* nothing to give: the server answers for it */
      continue;
    }
    if (n < 8)
      continue;
    out->container_id = dup_field(fld[3]);
    out->log_path = dup_field(fld[4]);
    out->previous_log_path = dup_field(fld[5]);
    out->netns_path = dup_field(fld[6]);
    out->pod_uid = dup_field(fld[7]);
    rc = 0;
  }
  fclose(f);
  if (rc == 1 && !pod_found)
    rc = kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                        q->op == KUBE_NODE_STREAM_LOGS
                            ? "pod \"%s\" does not exist"
                            : "pod does not exist%.0s",
                        q->pod);
  else if (rc == 1)
    rc = kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                        "container \"%s\" not found in pod \"%s\"",
                        q->container, q->pod);
  return rc;
}

/* ---- server and agent ---- */

static kube_loop_t *agent_loop;

static void on_term(int sig) {
  kube_loop_quit(agent_loop);
}

static int cmd_agent(int argc, char **argv) {
  if (argc < 6)
    return 2;
  kube_error_t err = KUBE_ERROR_INIT;
  signal(SIGPIPE, SIG_IGN);
  if (!(agent_loop = kube_loop_new(&err)))
    return fail("loop", &err);
  kube_node_stream_options_t so = {.struct_size = sizeof so,
                                   .loop = agent_loop,
                                   .runtime_root = argv[1],
                                   .resolve = resolve,
                                   .resolve_arg = argv[2]};
  kube_node_stream_t *s = kube_node_stream_new(&so, &err);
  kube_node_stream_listen_options_t lo = {.struct_size = sizeof lo,
                                          .tls_cert_file = argv[3],
                                          .tls_key_file = argv[4],
                                          .tls_client_ca_file = argv[5]};
  if (!s || kube_node_stream_listen(s, "tcp:127.0.0.1:0", &lo, &err) < 0)
    return fail("agent", &err);
  printf("PORT %d\n", kube_node_stream_port(s));
  fflush(stdout);
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  int rc = kube_loop_run(agent_loop, &err) < 0 ? fail("loop", &err) : 0;
  kube_node_stream_free(s);
  kube_loop_free(agent_loop);
  return rc;
}

static int cmd_server(int argc, char **argv) {
  if (argc < 5)
    return 2;
  kube_error_t err = KUBE_ERROR_INIT;
  signal(SIGPIPE, SIG_IGN);
  const char *listen[] = {"tcp:127.0.0.1:0", NULL};
  kube_server_options_t o = {.struct_size = sizeof o,
                             .data_dir = argv[1],
                             .listen = listen,
                             .store = "memory",
                             .no_scheduler = true,
                             .handle_signals = true};
  if (argc >= 7) {
    o.kubelet_client_cert_file = argv[5];
    o.kubelet_client_key_file = argv[6];
  }
  /* the CA of the kubelets' serving certificates (the test's own, not the
   * cluster CA the server would verify them against otherwise) */
  if (argc >= 8)
    o.kubelet_ca_file = argv[7];
  kube_server_t *srv = kube_server_new(&o, &err);
  if (!srv)
    return fail("server", &err);
  kube_node_stream_options_t so = {.struct_size = sizeof so,
                                   .loop = kube_server_loop(srv),
                                   .runtime_root = argv[3],
                                   .resolve = resolve,
                                   .resolve_arg = argv[4]};
  kube_node_stream_t *s = kube_node_stream_new(&so, &err);
  if (!s || kube_apiserver_add_node(kube_server_apiserver(srv), argv[2],
                                    kube_node_stream_serve_pod, s, &err) < 0)
    return fail("node streaming", &err);
  printf("URL %s\nKUBECONFIG %s\n", kube_server_url(srv),
         kube_server_kubeconfig(srv));
  fflush(stdout);
  int rc = kube_server_run(srv, &err) < 0 ? fail("run", &err) : 0;
  kube_apiserver_remove_node(kube_server_apiserver(srv), argv[2]);
  kube_node_stream_free(s);
  kube_server_free(srv);
  return rc;
}

int main(int argc, char **argv) {
  const char *cmd = argc > 1 ? argv[1] : "";
  int rc = 2;
  if (!strcmp(cmd, "start"))
    rc = cmd_start(argc - 1, argv + 1);
  else if (!strcmp(cmd, "wait"))
    rc = cmd_wait(argc - 1, argv + 1);
  else if (!strcmp(cmd, "cleanup"))
    rc = cmd_cleanup(argc - 1, argv + 1);
  else if (!strcmp(cmd, "server"))
    rc = cmd_server(argc - 1, argv + 1);
  else if (!strcmp(cmd, "agent"))
    rc = cmd_agent(argc - 1, argv + 1);
  if (rc == 2)
    fprintf(stderr, "usage: see the top of nodestream-test.c\n");
  return rc;
}
