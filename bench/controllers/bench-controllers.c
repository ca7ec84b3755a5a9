/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-controllers: the controller manager measured end to end against
 * `kubed server` (its controllers and scheduler; --no-node when this kubed
 * has it), each case on a fresh kubed with N nodes: hollow nodes inside
 * kubed (`--hollow-nodes N --cluster-cidr 10.0.0.0/8`, Leases renewed, bound
 * pods go Running without containers) when kubed has them, else (or with
 * --stand-in) N Ready Node objects created through the API and the bench
 * as a stand-in kubelet (one status PATCH per bound pod, the DELETE that
 * ends a graceful deletion).
 *
 * - deployment: one Deployment of P replicas on N nodes; the Deployment
 *   and ReplicaSet controllers create the pods, the scheduler binds them,
 *   the nodes start them.
 *     deployment_10000_pods_per_s = P / (last pod seen Running - create)
 *     kubed_cpu_ms_per_pod = kubed's utime+stime over that time / P
 *     api_writes_per_pod = kubed's API writes over that time / P (by verb
 *     and resource from its /metrics: in-process requests included)
 *   then (unless --no-scale) scaled to P/2 and back to P, each timed from
 *   the patch until the Deployment reports that many replicas, all
 *   updated and available (scale_down_half_s, scale_up_double_s); the
 *   scale up also waits for its new pods to be seen Running
 *   (scale_up_pods_running_s) and prints the slowest new pod's wait from
 *   first seen to bound and to Running.
 *   A GET every 500 ms meanwhile: api_probe_max_ms, the slowest answer
 *   (a stalled event loop shows there), and leader_leases_lost, the
 *   "lost lease" / "failed to renew lease" lines of kubed's log.
 * - rolling update: a Deployment of R replicas rolled out, then given a
 *   new image (default strategy: maxSurge 25%, maxUnavailable 25%).
 *     rolling_update_1000_s = time from the image change until the
 *     Deployment reports R updated, available replicas and no old ones
 *
 * - node failure (node-failure.c): a node holding the 100 pods of a
 *   Deployment (tolerationSeconds 10 for unreachable / not-ready) is
 *   killed among N others, each a `kubed agent --hollow` process:
 *     node_failure_recovery_s = time from the SIGKILL until all 100 are
 *     Running again on other nodes (with the node monitor grace period,
 *     40 s by default, in it)
 *
 * Default size: 200 nodes, 2,000 pods, rolling update of 1,000 (a few
 * minutes on a loaded 2-core machine); --full is the size, 1,000
 * nodes and 10,000 pods.
 *
 * Both watch through libkube's informers over the HTTP transport.  Prints
 * a table; with --json one JSON object on its last line.
 *
 * usage: bench-controllers [--kubed PATH] [--store sqlite|memory] [--full]
 *                          [--nodes N] [--pods P] [--rolling R]
 *                          [--only deployment|rolling|node-failure]
 *                          [--stand-in]
 *                          [--no-scale] [--keep] [--json]
 */
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <libkube/kit.h>

#include "api/api-private.h"

#include "../bench-util.h" /* bench_default_kubed */
#include "bench-controllers.h"

int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- kubed ---- */

/* The loopback port kubed listens on (it prints it on stdout). */
static int read_port(int fd, bool tls, int64_t deadline) {
  const char *line = tls ? "listening on https://127.0.0.1:"
                         : "listening on http://127.0.0.1:";
  char buf[4096];
  size_t len = 0;
  while (now_ns() < deadline && len < sizeof buf - 1) {
    ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
    if (r <= 0)
      return -1;
    len += (size_t)r;
    buf[len] = '\0';
    const char *p = strstr(buf, line);
    if (p && strchr(p, '\n'))
      return atoi(p + strlen(line));
  }
  return -1;
}

bool kubed_has_flag(const char *bin, const char *command, const char *flag) {
  char cmd[4400];
  snprintf(cmd, sizeof cmd, "'%s' %s --help 2>&1", bin, command);
  FILE *f = popen(cmd, "r");
  char line[512];
  bool found = false;
  while (f && fgets(line, sizeof line, f))
    found = found || strstr(line, flag) != NULL;
  if (f)
    pclose(f);
  return found;
}

kube_client_t *kubed_client(const struct kubed *k, int timeout_ms,
                           kube_error_t *err) {
  kube_client_options_t o = {.struct_size = sizeof o,
                             .server = k->url,
                             .token = TOKEN,
                             .certificate_authority = k->tls ? k->ca : NULL,
                             .timeout_ms = timeout_ms};
  return kube_client_new(&o, err);
}

int kubed_start(struct kubed *k, const char *bin, const char *store) {
  const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(k->dir, sizeof k->dir, "%s/bench-controllers-XXXXXX", tmp);
  if (!mkdtemp(k->dir))
    return -1;
  bool no_node = kubed_has_flag(bin, "server", "--no-node");
  char data[300], sock[300], log[300];
  snprintf(data, sizeof data, "%s/data", k->dir);
  snprintf(sock, sizeof sock, "unix:%s/kubed.sock", k->dir);
  snprintf(log, sizeof log, "%s/kubed.log", k->dir);
  int out[2];
  if (pipe(out) < 0)
    return -1;
  k->pid = fork();
  if (k->pid < 0)
    return -1;
  if (k->pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    int lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (lfd >= 0)
      dup2(lfd, 2);
    const char *level = getenv("BENCH_KUBED_LOG_LEVEL");
    char hollow[16];
    snprintf(hollow, sizeof hollow, "%d", k->hollow);
    const char *argv[48] = {bin,
                            "server",
                            "--data-dir",
                            data,
                            "--listen",
                            "tcp:127.0.0.1:0",
                            "--listen",
                            sock,
                            "--store",
                            store,
                            "--token",
                            TOKEN,
                            "--no-registry",
                            "--log-level",
                            level ? level : "warning",
                            /* The stand-in kubelet renews no node Lease:
                             * the node lifecycle controller would find
                             * every node silent after 40 s.  Hollow nodes
                             * renew theirs. */
                            "--controllers",
                            k->hollow || k->agents ? "*" : "*,-nodelifecycle"};
    size_t n = 17;
    if (!k->tls)
      argv[n++] = "--plain-http";
    if (k->agents) {
      /* The nodes are `kubed agent --hollow` processes: they ask the node
       * IPAM for pod CIDRs. */
      argv[n++] = "--cluster-cidr";
      argv[n++] = "10.0.0.0/8";
    }
    if (no_node)
      argv[n++] = "--no-node";
    if (k->hollow) {
      argv[n++] = "--hollow-nodes";
      argv[n++] = hollow;
      argv[n++] = "--cluster-cidr";
      argv[n++] = "10.0.0.0/8";
    }
    /* BENCH_KUBED_FLAGS: more flags, split at spaces (a kubed under
     * valgrind wants --leader-elect=false: its loop stalls). */
    char *extra = getenv("BENCH_KUBED_FLAGS") ? strdup(getenv("BENCH_KUBED_FLAGS"))
                                              : NULL;
    char *save = NULL;
    for (char *f = extra ? strtok_r(extra, " ", &save) : NULL;
         f && n < sizeof argv / sizeof *argv - 1; f = strtok_r(NULL, " ", &save))
      argv[n++] = f;
    execv(bin, (char *const *)argv);
    _exit(127);
  }
  close(out[1]);
  k->port = read_port(out[0], k->tls, now_ns() + 20 * (int64_t)1000000000);
  /* kubed keeps writing to stdout: drain it from a child of ours so that
   * it never blocks on a full pipe. */
  if (fork() == 0) {
    char sink[4096];
    while (read(out[0], sink, sizeof sink) > 0)
      ;
    _exit(0);
  }
  close(out[0]);
  if (k->port <= 0)
    return -1;
  snprintf(k->url, sizeof k->url, "%s://127.0.0.1:%d",
           k->tls ? "https" : "http", k->port);
  snprintf(k->ca, sizeof k->ca, "%s/ca.crt", data);
  kube_error_t err = KUBE_ERROR_INIT;
  kube_client_t *c = kubed_client(k, 2000, &err);
  if (!c)
    return -1;
  int rc = -1;
  for (int i = 0; i < 400 && rc < 0; i++) {
    kube_client_request_t req = {
        .struct_size = sizeof req, .method = "GET", .path = "/readyz"};
    kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
    kube_error_clear(&err);
    if (kube_client_request(c, &req, &resp, &err) == 0 && resp.status == 200)
      rc = 0;
    kube_client_response_clear(&resp);
    if (rc < 0)
      usleep(50000);
  }
  kube_error_clear(&err);
  kube_client_free(c);
  return rc;
}

void kubed_stop(struct kubed *k, bool keep) {
  if (k->pid > 0) {
    kill(k->pid, SIGTERM);
    waitpid(k->pid, NULL, 0);
  }
  while (waitpid(-1, NULL, WNOHANG) > 0) /* the stdout drain */
    ;
  k->pid = -1;
  if (keep) {
    fprintf(stderr, "bench-controllers: kept %s\n", k->dir);
    return;
  }
  pid_t p = fork();
  if (p == 0) {
    execl("/bin/rm", "rm", "-rf", k->dir, (char *)NULL);
    _exit(127);
  }
  if (p > 0)
    waitpid(p, NULL, 0);
}

/* Lines of kubed's log holding `what`. */
int log_count(const struct kubed *k, const char *what) {
  char path[300], line[2048];
  snprintf(path, sizeof path, "%s/kubed.log", k->dir);
  FILE *f = fopen(path, "r");
  int n = 0;
  while (f && fgets(line, sizeof line, f))
    n += strstr(line, what) != NULL;
  if (f)
    fclose(f);
  return n;
}

/* ---- one run on the loop ---- */

enum phase {
  P_NODES,
  P_CREATE,
  P_AVAILABLE,
  P_ROLLING,
  P_SCALE_DOWN,
  P_SCALE_UP,
  P_DONE,
  P_FAILED
};

struct run {
  kube_loop_t *loop;
  kube_http_transport_t *ht;
  kube_transport_t tp;
  kube_writer_t *w;
  kube_informer_factory_t *f;
  kube_informer_t *pods, *deploys, *node_inf;
  kube_timer_t *tick;
  int nodes, replicas;
  bool rolling; /* the rolling-update case */
  bool hollow;  /* kubed runs the nodes: no stand-in kubelet */
  bool scale;   /* after the create: scale to half, then back */
  pid_t kubed_pid;
  const struct kubed *k;
  int64_t log_checked;
  json_object *ready_nodes;
  /* kubed's CPU time (utime + stime, ns) at the create and when done */
  int64_t cpu_create, cpu_running;
  /* kubed's API writes (writes.c) at the create and when done */
  json_object *writes_create, *writes_running;
  /* an API read every 500 ms: the slowest answer shows a stalled loop */
  int64_t probe_sent, probe_next, probe_max;
  int64_t scale_generation, t_scaled, t_down, t_up;
  /* the scale up's new pods (first seen after its patch) and how many of
   * them were seen Running; when the last was (0: not yet) */
  json_object *up_new; /* uid -> when first seen (ns) */
  int up_running;
  int64_t t_up_running, up_max_wait; /* the longest seen -> Running */
  int64_t up_max_bind;               /* the longest seen -> bound */
  char up_slowest[160];              /* the pod that waited longest */
  enum phase phase;
  int nodes_left, write_errors, retries;
  /* uids seen: created, bound, marked ready, deleted, seen Running */
  json_object *seen, *bound, *readied, *deleted, *running;
  int64_t t_create, t_last_created, t_last_bound, t_last_running, t_roll,
      t_rolled, deadline;
  int64_t roll_generation;
};

static const char *NODE_FMT =
    "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":"
    "\"node-%d\",\"labels\":{\"kubernetes.io/hostname\":\"node-%d\","
    "\"topology.kubernetes.io/zone\":\"zone-%d\"}},\"spec\":{},\"status\":{"
    "\"capacity\":{\"cpu\":\"16\",\"memory\":\"64Gi\",\"pods\":\"110\"},"
    "\"allocatable\":{\"cpu\":\"16\",\"memory\":\"64Gi\",\"pods\":\"110\"},"
    "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}";

static const char *DEPLOY_FMT =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{"
    "\"name\":\"web\",\"namespace\":\"" NS "\"},\"spec\":{\"replicas\":%d,"
    "\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{"
    "\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{"
    "\"name\":\"app\",\"image\":\"registry.k8s.io/pause:3.10\","
    "\"resources\":{\"requests\":{\"cpu\":\"10m\",\"memory\":\"16Mi\"}}}]}}}}";

static bool in_set(json_object *set, const char *uid) {
  return json_object_object_get_ex(set, uid, NULL);
}

static void add_set(json_object *set, const char *uid) {
  json_object_object_add(set, uid, NULL);
}

static void fail(struct run *r, const char *what) {
  fprintf(stderr, "bench-controllers: %s\n", what);
  r->phase = P_FAILED;
  kube_loop_quit(r->loop);
}

static void write_done(const kube_object_t *res, const kube_error_t *e,
                       void *arg) {
  struct run *r = arg;
  if (e && e->reason != KUBE_REASON_NOT_FOUND &&
      e->reason != KUBE_REASON_CONFLICT && r->write_errors++ < 3)
    fprintf(stderr, "bench-controllers: write failed: %s\n", e->message);
}

/* A kubelet write, sent again when it failed (NotFound and Conflict
 * excepted: the pod is gone or another). */
struct kwrite {
  struct run *r;
  char name[128], uid[64];
  char *patch; /* NULL: the DELETE */
  int tries;
};

static void kwrite_send(struct kwrite *k);

static void kwrite_done(const kube_object_t *res, const kube_error_t *e,
                        void *arg) {
  struct kwrite *k = arg;
  if (e && e->reason != KUBE_REASON_NOT_FOUND &&
      e->reason != KUBE_REASON_CONFLICT && k->tries < 5) {
    k->r->retries++;
    kwrite_send(k);
    return;
  }
  write_done(res, e, k->r);
  free(k->patch);
  free(k);
}

static void kwrite_send(struct kwrite *k) {
  kube_error_t err = KUBE_ERROR_INIT;
  const kube_kind_t *pod = kube_kind_by_kind("v1", "Pod");
  kube_client_write_options_t o = {
      .struct_size = sizeof o, .grace_period = 0, .precondition_uid = k->uid};
  k->tries++;
  int rc = k->patch ? kube_writer_patch(k->r->w, pod, NS, k->name, "status",
                                        KUBE_PATCH_MERGE, k->patch, NULL,
                                        kwrite_done, k, &err)
                    : kube_writer_delete(k->r->w, pod, NS, k->name, &o,
                                         kwrite_done, k, &err);
  if (rc < 0) {
    k->r->write_errors++;
    free(k->patch);
    free(k);
  }
  kube_error_clear(&err);
}

static void kwrite(struct run *r, const char *name, const char *uid,
                   const char *patch) {
  struct kwrite *k = calloc(1, sizeof *k);
  if (!k || (patch && !(k->patch = strdup(patch)))) {
    free(k);
    r->write_errors++;
    return;
  }
  k->r = r;
  snprintf(k->name, sizeof k->name, "%s", name);
  snprintf(k->uid, sizeof k->uid, "%s", uid);
  kwrite_send(k);
}

/* utime + stime of a process, in ns (-1: unknown). */
static int64_t cpu_of(pid_t pid) {
  char path[64], buf[2048];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  const char *p = strrchr(buf, ')');
  unsigned long long ut = 0, st = 0;
  /* after the name: state and 10 fields, then utime and stime */
  if (!p || sscanf(p + 1,
                   " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                   &ut, &st) != 2)
    return -1;
  long hz = sysconf(_SC_CLK_TCK);
  return (int64_t)(ut + st) * (1000000000 / (hz > 0 ? hz : 100));
}

static void start_deployment(struct run *r) {
  char body[1024];
  r->writes_create = writes_read(r->k);
  r->cpu_create = cpu_of(r->kubed_pid);
  snprintf(body, sizeof body, DEPLOY_FMT, r->replicas);
  kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *d = kube_object_from_json(body, strlen(body), &err);
  r->phase = P_CREATE;
  r->t_create = now_ns();
  /* For `perf record -k mono` and `perf script --time`: the case's window
   * on CLOCK_MONOTONIC. */
  fprintf(stderr, "bench-controllers: create at %.6f (CLOCK_MONOTONIC)\n",
          (double)r->t_create / 1e9);
  if (!d ||
      kube_writer_create(r->w, NULL, NS, d, NULL, write_done, r, &err) < 0)
    fail(r, err.message ? err.message : "deployment");
  kube_object_free(d);
  kube_error_clear(&err);
}

static void node_created(const kube_object_t *res, const kube_error_t *e,
                         void *arg) {
  struct run *r = arg;
  if (e && r->write_errors++ < 3)
    fprintf(stderr, "bench-controllers: node: %s\n", e->message);
  if (--r->nodes_left == 0)
    start_deployment(r);
}

/* The bench's kubelet: mark a bound pod Running and Ready; end the
 * graceful deletion of a bound pod. */
static void kubelet(struct run *r, const kube_object_t *pod, const char *uid) {
  if (r->hollow)
    return; /* kubed's hollow nodes run the pods */
  json_object *p = kube_object_json(pod);
  const char *name = kube_object_name(pod);
  if (kube_object_get_string(pod, "metadata.deletionTimestamp")) {
    if (!in_set(r->deleted, uid)) {
      add_set(r->deleted, uid);
      kwrite(r, name, uid, NULL);
    }
    return;
  }
  if (in_set(r->readied, uid))
    return;
  json_object *st = NULL, *conds = NULL;
  if (json_object_object_get_ex(p, "status", &st) &&
      json_object_object_get_ex(st, "conditions", &conds))
    for (size_t i = 0; i < json_object_array_length(conds); i++) {
      json_object *c = json_object_array_get_idx(conds, i), *v;
      if (json_object_object_get_ex(c, "type", &v) &&
          strcmp(json_object_get_string(v), "Ready") == 0 &&
          json_object_object_get_ex(c, "status", &v) &&
          strcmp(json_object_get_string(v), "True") == 0)
        return;
    }
  add_set(r->readied, uid);
  size_t n = json_object_object_length(r->readied);
  char patch[768], ts[32];
  time_t t = time(NULL);
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
  snprintf(patch, sizeof patch,
           "{\"status\":{\"phase\":\"Running\",\"podIP\":\"10.%zu.%zu.%zu\","
           "\"startTime\":\"%s\",\"conditions\":["
           "{\"type\":\"PodScheduled\",\"status\":\"True\"},"
           "{\"type\":\"ContainersReady\",\"status\":\"True\","
           "\"lastTransitionTime\":\"%s\"},"
           "{\"type\":\"Ready\",\"status\":\"True\","
           "\"lastTransitionTime\":\"%s\"}]}}",
           64 + n / 65536, n / 256 % 256, n % 256, ts, ts, ts);
  kwrite(r, name, uid, patch);
}

static int64_t jint(json_object *o, const char *a, const char *b) {
  json_object *x = NULL, *y = NULL;
  if (!json_object_object_get_ex(o, a, &x) ||
      !json_object_object_get_ex(x, b, &y))
    return -1;
  return json_object_get_int64(y);
}

/* Deployment spec.replicas to n (generation: the one before the patch). */
static void scale_to(struct run *r, int n, int64_t generation) {
  char patch[64];
  snprintf(patch, sizeof patch, "{\"spec\":{\"replicas\":%d}}", n);
  r->scale_generation = generation + 1;
  r->t_scaled = now_ns();
  kube_error_t err = KUBE_ERROR_INIT;
  if (kube_writer_patch(r->w, kube_kind_by_kind("apps/v1", "Deployment"), NS,
                        "web", NULL, KUBE_PATCH_MERGE, patch, NULL, write_done,
                        r, &err) < 0)
    fail(r, "scale patch");
  kube_error_clear(&err);
}

static void created_done(struct run *r) {
  r->cpu_running = cpu_of(r->kubed_pid);
  fprintf(stderr, "bench-controllers: all Running at %.6f (CLOCK_MONOTONIC)\n",
          (double)now_ns() / 1e9);
  r->writes_running = writes_read(r->k);
  if (!r->scale) {
    r->phase = P_DONE;
    kube_loop_quit(r->loop);
    return;
  }
  r->phase = P_SCALE_DOWN;
  const kube_object_t *d = kube_informer_get(r->deploys, NS "/web");
  scale_to(r, r->replicas / 2,
           d ? jint(kube_object_json(d), "metadata", "generation") : 1);
}

/* The scale up ends when the Deployment reports it (status_ns) and its
 * new pods were all seen Running (running_ns); 0: not this one. */
static void scaled_up(struct run *r, int64_t status_ns, int64_t running_ns) {
  if (status_ns)
    r->t_up = status_ns;
  if (running_ns)
    r->t_up_running = running_ns;
  if (r->t_up && r->t_up_running) {
    r->phase = P_DONE;
    kube_loop_quit(r->loop);
  }
}

static void pod_seen(const char *key, const kube_object_t *pod, void *arg) {
  struct run *r = arg;
  const char *uid = kube_object_uid(pod);
  if (!uid)
    return;
  int64_t t = now_ns();
  /* The create case's figures: not the pods of a later scale up. */
  bool creating = r->phase <= P_ROLLING;
  if (!in_set(r->seen, uid)) {
    add_set(r->seen, uid);
    if (creating)
      r->t_last_created = t;
    else if (r->phase == P_SCALE_UP)
      json_object_object_add(r->up_new, uid, json_object_new_int64(t));
  }
  const char *node = kube_object_get_string(pod, "spec.nodeName");
  if (!node || !*node)
    return;
  if (!in_set(r->bound, uid)) {
    add_set(r->bound, uid);
    json_object *seen_at = NULL;
    if (r->phase == P_SCALE_UP &&
        json_object_object_get_ex(r->up_new, uid, &seen_at) &&
        t - json_object_get_int64(seen_at) > r->up_max_bind)
      r->up_max_bind = t - json_object_get_int64(seen_at);
    if (creating)
      r->t_last_bound = t;
  }
  const char *phase = kube_object_get_string(pod, "status.phase");
  if (phase && strcmp(phase, "Running") == 0 && !in_set(r->running, uid)) {
    add_set(r->running, uid);
    if (creating)
      r->t_last_running = t;
    json_object *since = NULL;
    if (r->phase == P_SCALE_UP &&
        json_object_object_get_ex(r->up_new, uid, &since)) {
      if (t - json_object_get_int64(since) > r->up_max_wait) {
        r->up_max_wait = t - json_object_get_int64(since);
        snprintf(r->up_slowest, sizeof r->up_slowest, "%s", key);
      }
      if (++r->up_running == r->replicas - r->replicas / 2)
        scaled_up(r, 0, t - r->t_scaled);
    }
    if (!r->rolling && r->phase == P_CREATE &&
        (int)json_object_object_length(r->running) >= r->replicas)
      created_done(r);
  }
  kubelet(r, pod, uid);
}

static void pod_add(const char *key, const kube_object_t *obj, void *arg) {
  pod_seen(key, obj, arg);
}

static void pod_update(const char *key, const kube_object_t *old,
                       const kube_object_t *obj, void *arg) {
  pod_seen(key, obj, arg);
}

/* The Deployment reports every replica updated and available for its
 * current generation. */
static bool rolled_out(const kube_object_t *d, int replicas) {
  json_object *o = kube_object_json(d);
  int64_t gen = jint(o, "metadata", "generation");
  return jint(o, "status", "observedGeneration") == gen &&
         jint(o, "status", "updatedReplicas") == replicas &&
         jint(o, "status", "replicas") == replicas &&
         jint(o, "status", "availableReplicas") == replicas;
}

/* A scale to n done: the generation of the scale observed, n replicas,
 * all updated and available. */
static bool scaled(const kube_object_t *d, int n, int64_t generation) {
  json_object *o = kube_object_json(d);
  return jint(o, "status", "observedGeneration") >= generation &&
         jint(o, "status", "replicas") == n &&
         jint(o, "status", "updatedReplicas") == n &&
         jint(o, "status", "availableReplicas") == n;
}

static void deploy_seen(const kube_object_t *d, struct run *r) {
  if (r->phase == P_SCALE_DOWN &&
      scaled(d, r->replicas / 2, r->scale_generation)) {
    r->t_down = now_ns() - r->t_scaled;
    r->phase = P_SCALE_UP;
    scale_to(r, r->replicas,
             jint(kube_object_json(d), "metadata", "generation"));
    return;
  }
  if (r->phase == P_SCALE_UP && !r->t_up &&
      scaled(d, r->replicas, r->scale_generation)) {
    scaled_up(r, now_ns() - r->t_scaled, 0);
    return;
  }
  if (!r->rolling || !rolled_out(d, r->replicas))
    return;
  if (r->phase == P_CREATE) {
    /* Rolled out: change the image, the rolling update begins. */
    r->phase = P_ROLLING;
    r->t_roll = now_ns();
    r->roll_generation = jint(kube_object_json(d), "metadata", "generation");
    kube_error_t err = KUBE_ERROR_INIT;
    if (kube_writer_patch(
            r->w, kube_kind_by_kind("apps/v1", "Deployment"), NS, "web", NULL,
            KUBE_PATCH_STRATEGIC,
            "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":"
            "\"app\",\"image\":\"registry.k8s.io/pause:3.9\"}]}}}}",
            NULL, write_done, r, &err) < 0)
      fail(r, "image patch");
    kube_error_clear(&err);
  } else if (r->phase == P_ROLLING && jint(kube_object_json(d), "metadata",
                                           "generation") > r->roll_generation) {
    r->t_rolled = now_ns();
    r->phase = P_DONE;
    kube_loop_quit(r->loop);
  }
}

static void deploy_add(const char *key, const kube_object_t *obj, void *arg) {
  deploy_seen(obj, arg);
}

static void deploy_update(const char *key, const kube_object_t *old,
                          const kube_object_t *obj, void *arg) {
  deploy_seen(obj, arg);
}

/* Hollow nodes: the Deployment starts when all of them are Ready. */
static void node_seen(const char *key, const kube_object_t *obj, void *arg) {
  struct run *r = arg;
  json_object *conds = kube_json_get(kube_object_json(obj), "status.conditions");
  for (size_t i = 0; conds && i < json_object_array_length(conds); i++) {
    json_object *c = json_object_array_get_idx(conds, i), *v;
    if (json_object_object_get_ex(c, "type", &v) &&
        strcmp(json_object_get_string(v), "Ready") == 0 &&
        json_object_object_get_ex(c, "status", &v) &&
        strcmp(json_object_get_string(v), "True") == 0 &&
        !in_set(r->ready_nodes, key)) {
      add_set(r->ready_nodes, key);
      if (r->phase == P_NODES &&
          (int)json_object_object_length(r->ready_nodes) >= r->nodes)
        start_deployment(r);
    }
  }
}

static void node_add(const char *key, const kube_object_t *obj, void *arg) {
  node_seen(key, obj, arg);
}

static void node_update(const char *key, const kube_object_t *old,
                        const kube_object_t *obj, void *arg) {
  node_seen(key, obj, arg);
}

static void create_nodes(void *arg) {
  struct run *r = arg;
  if (r->hollow)
    return; /* kubed registers them */
  kube_error_t err = KUBE_ERROR_INIT;
  r->nodes_left = r->nodes;
  for (int i = 0; i < r->nodes; i++) {
    char body[1024];
    snprintf(body, sizeof body, NODE_FMT, i, i, i % 10);
    kube_object_t *n = kube_object_from_json(body, strlen(body), &err);
    if (!n || kube_writer_create(r->w, NULL, NULL, n, NULL, node_created, r,
                                 &err) < 0) {
      kube_object_free(n);
      fail(r, "node create");
      break;
    }
    kube_object_free(n);
  }
  kube_error_clear(&err);
}

static void probed(const kube_object_t *res, const kube_error_t *e,
                   void *arg) {
  struct run *r = arg;
  int64_t t = now_ns(), lat = t - r->probe_sent;
  if (lat > r->probe_max)
    r->probe_max = lat;
  r->probe_sent = 0;
  r->probe_next = t + 500 * (int64_t)1000000;
}

static void on_tick(void *arg) {
  struct run *r = arg;
  int64_t t = now_ns();
  if (t > r->deadline) {
    fail(r, "timed out");
    return;
  }
  if (t - r->log_checked > 5 * (int64_t)1000000000) {
    r->log_checked = t;
    /* A controller manager or scheduler without its lease stops: the case
     * cannot end. */
    if (log_count(r->k, "lost lease") > 0) {
      fail(r, "kubed lost a leader lease (its loop stalled)");
      return;
    }
  }
  if (r->phase < P_CREATE || r->probe_sent || t < r->probe_next)
    return;
  kube_error_t err = KUBE_ERROR_INIT;
  r->probe_sent = t;
  if (kube_writer_send(r->w, "GET", "/api/v1/namespaces/" NS, NULL, NULL, 0,
                       probed, r, &err) < 0)
    r->probe_sent = 0;
  kube_error_clear(&err);
}

static int informers(struct run *r, kube_error_t *err) {
  r->f = kube_informer_factory_new(r->loop, &r->tp, err);
  if (!r->f)
    return -1;
  kube_informer_options_t po = {.struct_size = sizeof po,
                                .path = "/api/v1/namespaces/" NS "/pods"};
  kube_informer_options_t dopt = {.struct_size = sizeof dopt,
                                  .path = "/apis/apps/v1/namespaces/" NS
                                          "/deployments"};
  r->pods = kube_informer_factory_informer(r->f, &po, err);
  r->deploys = kube_informer_factory_informer(r->f, &dopt, err);
  if (!r->pods || !r->deploys)
    return -1;
  kube_informer_handlers_t ph = {
      .struct_size = sizeof ph, .on_add = pod_add, .on_update = pod_update};
  kube_informer_handlers_t dh = {.struct_size = sizeof dh,
                                 .on_add = deploy_add,
                                 .on_update = deploy_update};
  if (!kube_informer_add_handlers(r->pods, &ph, r, err) ||
      !kube_informer_add_handlers(r->deploys, &dh, r, err))
    return -1;
  if (r->hollow) {
    kube_informer_options_t no = {.struct_size = sizeof no,
                                  .path = "/api/v1/nodes"};
    kube_informer_handlers_t nh = {.struct_size = sizeof nh,
                                   .on_add = node_add,
                                   .on_update = node_update};
    if (!(r->node_inf = kube_informer_factory_informer(r->f, &no, err)) ||
        !kube_informer_add_handlers(r->node_inf, &nh, r, err))
      return -1;
  }
  return kube_informer_factory_start(r->f, err);
}

/* One case on a fresh kubed: 0 when it completed. */
static int run_case(struct run *r, struct kubed *k, int timeout_s) {
  kube_error_t err = KUBE_ERROR_INIT;
  int rc = -1;
  r->seen = json_object_new_object();
  r->bound = json_object_new_object();
  r->readied = json_object_new_object();
  r->deleted = json_object_new_object();
  r->running = json_object_new_object();
  r->up_new = json_object_new_object();
  r->ready_nodes = json_object_new_object();
  r->kubed_pid = k->pid;
  r->k = k;
  r->loop = kube_loop_new(&err);
  kube_client_options_t o = {
      .struct_size = sizeof o, .server = k->url, .token = TOKEN};
  if (!r->loop || !(r->ht = kube_http_transport_new(r->loop, &o, &err)))
    goto out;
  kube_http_transport_get(r->ht, &r->tp);
  if (!(r->w = kube_writer_new(r->loop, &r->tp, &err)) ||
      !(r->tick = kube_timer_new(r->loop, on_tick, r, &err)))
    goto out;
  /* The namespace, synchronously: the informers list it next. */
  kube_client_t *c = kube_client_new(&o, &err);
  if (!c)
    goto out;
  const char *nsb = "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
                    "\"metadata\":{\"name\":\"" NS "\"}}";
  kube_client_request_t req = {.struct_size = sizeof req,
                               .method = "POST",
                               .path = "/api/v1/namespaces",
                               .content_type = "application/json",
                               .body = nsb,
                               .body_len = strlen(nsb)};
  kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
  int st = kube_client_request(c, &req, &resp, &err);
  st = st < 0 ? st : resp.status;
  kube_client_response_clear(&resp);
  kube_client_free(c);
  if (st != 201)
    goto out;
  if (informers(r, &err) < 0)
    goto out;
  r->deadline = now_ns() + (int64_t)timeout_s * 1000000000;
  kube_timer_arm_periodic(r->tick, 200);
  r->phase = P_NODES;
  if (kube_loop_invoke(r->loop, create_nodes, r, &err) < 0 ||
      kube_loop_run(r->loop, &err) < 0)
    goto out;
  rc = r->phase == P_DONE ? 0 : -1;
out:
  if (err.message)
    fprintf(stderr, "bench-controllers: %s\n", err.message);
  kube_error_clear(&err);
  kube_timer_free(r->tick);
  kube_informer_factory_free(r->f);
  kube_writer_free(r->w);
  kube_http_transport_free(r->ht);
  kube_loop_free(r->loop);
  json_object_put(r->seen);
  json_object_put(r->bound);
  json_object_put(r->readied);
  json_object_put(r->deleted);
  json_object_put(r->running);
  json_object_put(r->up_new);
  json_object_put(r->ready_nodes);
  return rc;
}

/* ---- main ---- */

static void usage(FILE *f) {
  fprintf(f, "usage: bench-controllers [--kubed PATH] [--store sqlite|memory]"
             " [--full] [--nodes N] [--pods P] [--rolling R]"
             " [--only deployment|rolling|node-failure] [--stand-in] [--no-scale]"
             " [--keep]"
             " [--json]\n");
}

static int intarg(const char *v) {
  return v ? atoi(v) : -1;
}

/* A number printed with fmt in the JSON line. */
static void jnum(json_object *j, const char *key, const char *fmt, double v) {
  char text[64];
  snprintf(text, sizeof text, fmt, v);
  json_object_object_add(j, key, json_object_new_double_s(v, text));
}

/* A case's time limit: generous for the machine, but the bench ends. */
static int case_timeout_s(int nodes, int pods) {
  return 120 + nodes / 10 + pods / 20;
}

int main(int argc, char **argv) {
  char kubed_path[4200] = "";
  const char *store = "sqlite", *only = NULL;
  int nodes = -1, pods = -1, rolling = 1000;
  bool json = false, keep = false, full = false, stand_in = false;
  bool scale = true;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--json") == 0) {
      json = true;
    } else if (strcmp(a, "--keep") == 0) {
      keep = true;
    } else if (strcmp(a, "--full") == 0) {
      full = true;
    } else if (strcmp(a, "--stand-in") == 0) {
      stand_in = true;
    } else if (strcmp(a, "--no-scale") == 0) {
      scale = false;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (!v) {
      usage(stderr);
      return 2;
    } else if (strcmp(a, "--kubed") == 0) {
      snprintf(kubed_path, sizeof kubed_path, "%s", v);
      i++;
    } else if (strcmp(a, "--store") == 0) {
      store = argv[++i];
    } else if (strcmp(a, "--only") == 0) {
      only = argv[++i];
    } else if (strcmp(a, "--nodes") == 0) {
      nodes = intarg(argv[++i]);
      if (nodes < 1)
        nodes = 0;
    } else if (strcmp(a, "--pods") == 0) {
      pods = intarg(argv[++i]);
      if (pods < 1)
        pods = 0;
    } else if (strcmp(a, "--rolling") == 0) {
      rolling = intarg(argv[++i]);
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (nodes < 0)
    nodes = full ? 1000 : 200;
  if (pods < 0)
    pods = full ? 10000 : 2000;
  if (nodes < 1 || pods < 1 || rolling < 1 ||
      (strcmp(store, "sqlite") && strcmp(store, "memory")) ||
      (only && strcmp(only, "deployment") && strcmp(only, "rolling") &&
       strcmp(only, "node-failure"))) {
    usage(stderr);
    return 2;
  }
  if (!kubed_path[0])
    bench_default_kubed(kubed_path, sizeof kubed_path);
  if (access(kubed_path, X_OK) < 0) {
    fprintf(stderr, "bench-controllers: no kubed at %s (use --kubed)\n",
            kubed_path);
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  bool hollow = !stand_in && kubed_has_flag(kubed_path, "server", "--hollow-nodes");
  bool hollow_agent = kubed_has_flag(kubed_path, "agent", "--hollow");
  int rc = 0;
  double deploy_rate = 0, deploy_s = 0, created_s = 0, bound_s = 0;
  double roll_s = 0, cpu_ms_pod = -1, down_s = 0, up_s = 0, probe_ms = -1;
  double up_running_s = 0, writes_pod = -1;
  int leases_lost = -1;
  bool only_failure = only && strcmp(only, "node-failure") == 0;
  printf("bench-controllers: kubed server (%s store; scheduler and "
         "controllers), %d %s\n",
         store, nodes,
         only_failure ? "hollow nodes in kubed agent --hollow processes"
         : hollow     ? "hollow nodes inside kubed (--hollow-nodes)"
                      : "Ready Node objects");
  if (!hollow && !only_failure)
    printf("  STAND-IN KUBELET: the bench itself marks bound pods "
           "Running/Ready and ends their deletions\n");
  if (!only_failure && (pods != 10000 || nodes != 1000))
    printf("  size: %d pods on %d nodes (the issue's size is 10,000 on "
           "1,000: --full)\n",
           pods, nodes);
  if (!only || strcmp(only, "deployment") == 0) {
    struct kubed k = {.hollow = hollow ? nodes : 0};
    struct run r = {
        .nodes = nodes, .replicas = pods, .hollow = hollow, .scale = scale};
    if (kubed_start(&k, kubed_path, store) < 0 ||
        run_case(&r, &k, case_timeout_s(nodes, pods) * (scale ? 2 : 1)) < 0) {
      fprintf(stderr, "bench-controllers: deployment case failed (%s)\n",
              k.dir);
      rc = 1;
      keep = true;
      probe_ms = (double)r.probe_max / 1e6;
      printf("  %-44s %10.0f ms  (a GET every 500 ms; the case failed)\n",
             "slowest API answer during the case", probe_ms);
    } else {
      created_s = (double)(r.t_last_created - r.t_create) / 1e9;
      bound_s = (double)(r.t_last_bound - r.t_create) / 1e9;
      deploy_s = (double)(r.t_last_running - r.t_create) / 1e9;
      deploy_rate = deploy_s > 0 ? pods / deploy_s : 0;
      if (r.cpu_create >= 0 && r.cpu_running >= 0)
        cpu_ms_pod = (double)(r.cpu_running - r.cpu_create) / 1e6 / pods;
      down_s = (double)r.t_down / 1e9;
      up_s = (double)r.t_up / 1e9;
      up_running_s = (double)r.t_up_running / 1e9;
      probe_ms = (double)r.probe_max / 1e6;
      printf("  %-44s %10.2f s\n", "Deployment create -> all pods created",
             created_s);
      printf("  %-44s %10.2f s\n", "Deployment create -> all pods bound",
             bound_s);
      printf("  %-44s %10.2f s\n", "Deployment create -> all pods Running",
             deploy_s);
      printf("  %-44s %10.0f pods/s  (%d pods, %d nodes)\n",
             "created, bound and Running per second", deploy_rate, pods, nodes);
      if (cpu_ms_pod >= 0)
        printf("  %-44s %10.3f ms  (create -> all Running)\n",
               "kubed CPU per pod", cpu_ms_pod);
      writes_pod = writes_print(r.writes_create, r.writes_running, pods);
      if (scale) {
        printf("  %-44s %10.2f s  (%d -> %d, all available)\n",
               "scale down", down_s, pods, pods / 2);
        printf("  %-44s %10.2f s  (%d -> %d, all available)\n", "scale up",
               up_s, pods / 2, pods);
        printf("    %-42s %10.2f s  (as the bench's pod watch saw them)\n",
               "scale up: its new pods all Running",
               (double)r.t_up_running / 1e9);
        printf("    %-42s %10.2f s  (-> bound: %.2f s; %s)\n",
               "scale up: slowest new pod seen -> Running",
               (double)r.up_max_wait / 1e9, (double)r.up_max_bind / 1e9,
               r.up_slowest);
      }
      printf("  %-44s %10.0f ms  (a GET every 500 ms)\n",
             "slowest API answer during the case", probe_ms);
      if (r.retries)
        printf("  %-44s %10d\n", "kubelet writes sent again", r.retries);
    }
    leases_lost = log_count(&k, "lost lease") +
                  log_count(&k, "failed to renew lease");
    printf("  %-44s %10d\n", "leader leases lost or renewals late",
           leases_lost);
    kubed_stop(&k, keep);
    json_object_put(r.writes_create);
    json_object_put(r.writes_running);
  }
  if (!only || strcmp(only, "rolling") == 0) {
    struct kubed k = {.hollow = hollow ? nodes : 0};
    struct run r = {
        .nodes = nodes, .replicas = rolling, .rolling = true, .hollow = hollow};
    if (kubed_start(&k, kubed_path, store) < 0 ||
        run_case(&r, &k, 2 * case_timeout_s(nodes, rolling)) < 0) {
      fprintf(stderr, "bench-controllers: rolling case failed (%s)\n", k.dir);
      rc = 1;
      keep = true;
    } else {
      roll_s = (double)(r.t_rolled - r.t_roll) / 1e9;
      printf("  %-44s %10.2f s  (%d replicas, 25%% surge/unavailable)\n",
             "rolling update: image change -> done", roll_s, rolling);
      if (r.retries)
        printf("  %-44s %10d\n", "kubelet writes sent again", r.retries);
    }
    kubed_stop(&k, keep);
    json_object_put(r.writes_create);
    json_object_put(r.writes_running);
  }
  struct node_failure nf = {.recovery_s = -1};
  if ((!only || strcmp(only, "node-failure") == 0) && hollow_agent &&
      node_failure_case(kubed_path, store, nodes, keep, &nf) < 0) {
    rc = 1;
    nf.recovery_s = -1;
  }
  if (nf.recovery_s >= 0) {
    printf("  %-44s %10.2f s  (%d pods, tolerationSeconds %d, %d other "
           "nodes)\n",
           "node failure: kill -> all pods Running again", nf.recovery_s,
           NODE_FAILURE_PODS, NODE_FAILURE_TOLERATION_S, nodes);
    printf("    %-42s %10.2f s  (node monitor grace period)\n",
           "kill -> Node not Ready", nf.not_ready_s);
    printf("    %-42s %10.2f s\n", "kill -> unreachable NoExecute taint",
           nf.tainted_s);
    printf("    %-42s %10.2f s  (+ tolerationSeconds)\n",
           "kill -> first pod evicted", nf.evicted_s);
    printf("    %-42s %10.2f s\n", "kill -> all replacements bound",
           nf.rescheduled_s);
  } else if (!hollow_agent && (!only || strcmp(only, "node-failure") == 0)) {
    printf("  %-44s %10s   (this kubed has no agent --hollow)\n",
           "node failure recovery", "-");
  }
  if (json) {
    /* Only what was measured: a failed case leaves its keys out. */
    json_object *j = json_object_new_object();
    json_object_object_add(j, "bench", json_object_new_string("controllers"));
    json_object_object_add(j, "kubelet", json_object_new_string(hollow ? "hollow" : "stand-in"));
    json_object_object_add(j, "store", json_object_new_string(store));
    json_object_object_add(j, "nodes", json_object_new_int(nodes));
    if (deploy_rate > 0) {
      json_object_object_add(j, "deployment_replicas",
                             json_object_new_int(pods));
      jnum(j, "deployment_created_s", "%.3f", created_s);
      jnum(j, "deployment_bound_s", "%.3f", bound_s);
      jnum(j, "deployment_running_s", "%.3f", deploy_s);
      jnum(j, "deployment_10000_pods_per_s", "%.1f", deploy_rate);
      if (cpu_ms_pod >= 0)
        jnum(j, "kubed_cpu_ms_per_pod", "%.3f", cpu_ms_pod);
      if (writes_pod >= 0)
        jnum(j, "api_writes_per_pod", "%.3f", writes_pod);
      if (scale) {
        jnum(j, "scale_down_half_s", "%.3f", down_s);
        jnum(j, "scale_up_double_s", "%.3f", up_s);
        jnum(j, "scale_up_pods_running_s", "%.3f", up_running_s);
      }
    }
    if (probe_ms >= 0)
      jnum(j, "api_probe_max_ms", "%.1f", probe_ms);
    if (leases_lost >= 0)
      json_object_object_add(j, "leader_leases_lost",
                             json_object_new_int(leases_lost));
    if (roll_s > 0) {
      json_object_object_add(j, "rolling_replicas",
                             json_object_new_int(rolling));
      jnum(j, "rolling_update_1000_s", "%.3f", roll_s);
    }
    if (nf.recovery_s >= 0) {
      json_object_object_add(j, "node_failure_pods",
                             json_object_new_int(NODE_FAILURE_PODS));
      jnum(j, "node_failure_recovery_s", "%.3f", nf.recovery_s);
      jnum(j, "node_failure_not_ready_s", "%.3f", nf.not_ready_s);
      jnum(j, "node_failure_evicted_s", "%.3f", nf.evicted_s);
    }
    printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
    json_object_put(j);
  }
  return rc;
}
