/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-controllers' node failure case (node_failure_recovery_s): what
 * kube-controller-manager's node lifecycle controller and taint manager
 * do when a kubelet dies, end to end.
 *
 * kubed server over HTTPS (the hollow agents want it) with every
 * controller; `kubed agent --hollow 1 --name-prefix victim-` registers
 * victim-0, alone, so that all pods of a Deployment of 100 replicas
 * (tolerating node.kubernetes.io/unreachable and not-ready NoExecute for
 * 10 s) land there; then `kubed agent --hollow N` registers the others.
 * Once they are Ready the victim's process is killed with SIGKILL: its
 * Lease is no longer renewed, the node lifecycle controller marks the Node
 * Ready=Unknown after --node-monitor-grace-period (40 s by default) and
 * taints it, the taint manager deletes its pods 10 s later, the ReplicaSet
 * creates replacements, the scheduler binds them to the living nodes and
 * their hollow kubelets start them.
 *     node_failure_recovery_s = kill -> 100 pods Running, not being
 *     deleted, on other nodes
 * with the steps' times (Node not Ready, tainted, first eviction, all
 * replacements bound) beside it.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include <libkube/kit.h>

#include "api/api-private.h"

#include "bench-controllers.h"

#define VICTIM "victim-0"
#define DEPLOY "failover"

enum fphase { F_VICTIM, F_PLACE, F_SURVIVORS, F_RECOVER, F_DONE, F_FAILED };

struct fcase {
  kube_loop_t *loop;
  kube_http_transport_t *ht;
  kube_transport_t tp;
  kube_writer_t *w;
  kube_informer_factory_t *f;
  kube_informer_t *pods, *nodes;
  kube_timer_t *tick;
  const struct kubed *k;
  const char *bin;
  int n_nodes;
  enum fphase phase;
  pid_t victim, survivors;
  json_object *ready; /* names of the Ready nodes */
  int64_t deadline, t_kill, t_not_ready, t_tainted, t_evicted, t_bound,
      t_running;
};

static const char *DEPLOY_JSON =
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{"
    "\"name\":\"" DEPLOY "\",\"namespace\":\"" NS "\"},\"spec\":{"
    "\"replicas\":%d,\"selector\":{\"matchLabels\":{\"app\":\"" DEPLOY "\"}},"
    "\"template\":{\"metadata\":{\"labels\":{\"app\":\"" DEPLOY "\"}},"
    "\"spec\":{\"tolerations\":["
    "{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\","
    "\"effect\":\"NoExecute\",\"tolerationSeconds\":%d},"
    "{\"key\":\"node.kubernetes.io/not-ready\",\"operator\":\"Exists\","
    "\"effect\":\"NoExecute\",\"tolerationSeconds\":%d}],"
    "\"containers\":[{\"name\":\"app\",\"image\":\"registry.k8s.io/pause:3.10\","
    "\"resources\":{\"requests\":{\"cpu\":\"10m\",\"memory\":\"16Mi\"}}}]}}}}";

static void ffail(struct fcase *c, const char *what) {
  fprintf(stderr, "bench-controllers: node failure: %s\n", what);
  c->phase = F_FAILED;
  kube_loop_quit(c->loop);
}

/* `kubed agent --hollow n --name-prefix prefix` against the server, its
 * log in the case's directory. */
static pid_t agent_start(struct fcase *c, int n, const char *prefix) {
  char count[16], log[400];
  snprintf(count, sizeof count, "%d", n);
  snprintf(log, sizeof log, "%s/agent-%s.log", c->k->dir, prefix);
  pid_t pid = fork();
  if (pid != 0)
    return pid;
  int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    dup2(fd, 1);
    dup2(fd, 2);
  }
  const char *level = getenv("BENCH_KUBED_LOG_LEVEL");
  const char *argv[] = {c->bin,
                        "agent",
                        "--hollow",
                        count,
                        "--server",
                        c->k->url,
                        "--token",
                        TOKEN,
                        "--certificate-authority",
                        c->k->ca,
                        "--name-prefix",
                        prefix,
                        "--log-level",
                        level ? level : "warning",
                        NULL};
  execv(c->bin, (char *const *)argv);
  _exit(127);
}

static void agent_stop(pid_t *pid) {
  if (*pid > 0) {
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
  }
  *pid = -1;
}

static void created(const kube_object_t *res, const kube_error_t *e,
                    void *arg) {
  if (e)
    ffail(arg, e->message ? e->message : "deployment create");
}

static void create_deployment(struct fcase *c) {
  char body[2048];
  snprintf(body, sizeof body, DEPLOY_JSON, NODE_FAILURE_PODS,
           NODE_FAILURE_TOLERATION_S, NODE_FAILURE_TOLERATION_S);
  kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *d = kube_object_from_json(body, strlen(body), &err);
  c->phase = F_PLACE;
  if (!d ||
      kube_writer_create(c->w, NULL, NS, d, NULL, created, c, &err) < 0)
    ffail(c, err.message ? err.message : "deployment");
  kube_object_free(d);
  kube_error_clear(&err);
}

/* ---- the pods ---- */

struct counts {
  int on_victim, running_victim;
  int bound_elsewhere, running_elsewhere;
  bool evicted; /* a pod of the victim's is being deleted */
};

static void count_pod(const char *key, const kube_object_t *pod, void *arg) {
  struct counts *n = arg;
  const char *node = kube_object_get_string(pod, "spec.nodeName");
  const char *phase = kube_object_get_string(pod, "status.phase");
  bool running = phase && strcmp(phase, "Running") == 0;
  bool deleting = kube_object_get_string(pod, "metadata.deletionTimestamp");
  if (!node || !*node)
    return;
  if (strcmp(node, VICTIM) == 0) {
    n->on_victim++;
    n->running_victim += running && !deleting;
    n->evicted = n->evicted || deleting;
    return;
  }
  if (deleting)
    return;
  n->bound_elsewhere++;
  n->running_elsewhere += running;
}

static void pods_changed(struct fcase *c) {
  struct counts n = {0};
  kube_informer_foreach(c->pods, count_pod, &n);
  int64_t t = now_ns();
  if (c->phase == F_PLACE && n.running_victim >= NODE_FAILURE_PODS) {
    /* All on the victim: the other nodes come. */
    c->phase = F_SURVIVORS;
    c->survivors = agent_start(c, c->n_nodes, "hollow-node-");
    if (c->survivors < 0)
      ffail(c, "cannot start the other nodes' agent");
    return;
  }
  if (c->phase != F_RECOVER)
    return;
  if (n.evicted && !c->t_evicted)
    c->t_evicted = t;
  if (n.bound_elsewhere >= NODE_FAILURE_PODS && !c->t_bound)
    c->t_bound = t;
  if (n.running_elsewhere >= NODE_FAILURE_PODS) {
    c->t_running = t;
    c->phase = F_DONE;
    kube_loop_quit(c->loop);
  }
}

static void pod_add(const char *key, const kube_object_t *obj, void *arg) {
  pods_changed(arg);
}

static void pod_update(const char *key, const kube_object_t *old,
                       const kube_object_t *obj, void *arg) {
  pods_changed(arg);
}

/* ---- the nodes ---- */

static bool node_ready(const kube_object_t *node) {
  json_object *conds =
      kube_json_get(kube_object_json(node), "status.conditions");
  for (size_t i = 0; conds && i < json_object_array_length(conds); i++) {
    json_object *cd = json_object_array_get_idx(conds, i);
    const char *type = kube_json_get_string(cd, "type");
    const char *st = kube_json_get_string(cd, "status");
    if (type && st && strcmp(type, "Ready") == 0)
      return strcmp(st, "True") == 0;
  }
  return false;
}

static bool node_unreachable(const kube_object_t *node) {
  json_object *taints = kube_json_get(kube_object_json(node), "spec.taints");
  for (size_t i = 0; taints && i < json_object_array_length(taints); i++) {
    json_object *t = json_object_array_get_idx(taints, i);
    const char *key = kube_json_get_string(t, "key");
    const char *effect = kube_json_get_string(t, "effect");
    if (key && effect && strcmp(key, "node.kubernetes.io/unreachable") == 0 &&
        strcmp(effect, "NoExecute") == 0)
      return true;
  }
  return false;
}

static void node_seen(const char *key, const kube_object_t *node, void *arg) {
  struct fcase *c = arg;
  bool ready = node_ready(node);
  int64_t t = now_ns();
  if (ready)
    json_object_object_add(c->ready, key, NULL);
  else
    json_object_object_del(c->ready, key);
  bool victim = strcmp(key, VICTIM) == 0;
  if (c->phase == F_VICTIM && victim && ready) {
    create_deployment(c);
  } else if (c->phase == F_SURVIVORS &&
             json_object_object_length(c->ready) >= c->n_nodes + 1) {
    /* Every node Ready: the victim dies. */
    agent_stop(&c->victim);
    c->t_kill = now_ns();
    c->phase = F_RECOVER;
  } else if (c->phase == F_RECOVER && victim) {
    if (!ready && !c->t_not_ready)
      c->t_not_ready = t;
    if (node_unreachable(node) && !c->t_tainted)
      c->t_tainted = t;
  }
}

static void node_add(const char *key, const kube_object_t *obj, void *arg) {
  node_seen(key, obj, arg);
}

static void node_update(const char *key, const kube_object_t *old,
                        const kube_object_t *obj, void *arg) {
  node_seen(key, obj, arg);
}

static void on_tick(void *arg) {
  struct fcase *c = arg;
  if (now_ns() > c->deadline) {
    ffail(c, c->phase == F_VICTIM      ? "timed out (victim node not Ready)"
             : c->phase == F_PLACE     ? "timed out (pods on the victim)"
             : c->phase == F_SURVIVORS ? "timed out (other nodes not Ready)"
                                       : "timed out (recovery)");
    return;
  }
  /* An agent that exits by itself ends the case. */
  int st;
  pid_t *agents[] = {&c->victim, &c->survivors};
  for (size_t i = 0; i < 2; i++)
    if (*agents[i] > 0 && waitpid(*agents[i], &st, WNOHANG) == *agents[i]) {
      *agents[i] = -1;
      ffail(c, "a kubed agent --hollow exited (see its log in the case's "
               "directory)");
      return;
    }
}

static int start_informers(struct fcase *c, kube_error_t *err) {
  c->f = kube_informer_factory_new(c->loop, &c->tp, err);
  if (!c->f)
    return -1;
  kube_informer_options_t po = {.struct_size = sizeof po,
                                .path = "/api/v1/namespaces/" NS "/pods"};
  kube_informer_options_t no = {.struct_size = sizeof no,
                                .path = "/api/v1/nodes"};
  kube_informer_handlers_t ph = {
      .struct_size = sizeof ph, .on_add = pod_add, .on_update = pod_update};
  kube_informer_handlers_t nh = {
      .struct_size = sizeof nh, .on_add = node_add, .on_update = node_update};
  if (!(c->pods = kube_informer_factory_informer(c->f, &po, err)) ||
      !(c->nodes = kube_informer_factory_informer(c->f, &no, err)) ||
      !kube_informer_add_handlers(c->pods, &ph, c, err) ||
      !kube_informer_add_handlers(c->nodes, &nh, c, err))
    return -1;
  return kube_informer_factory_start(c->f, err);
}

static int create_namespace(const kube_client_options_t *o,
                            kube_error_t *err) {
  kube_client_t *cl = kube_client_new(o, err);
  if (!cl)
    return -1;
  const char *nsb = "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
                    "\"metadata\":{\"name\":\"" NS "\"}}";
  kube_client_request_t req = {.struct_size = sizeof req,
                               .method = "POST",
                               .path = "/api/v1/namespaces",
                               .content_type = "application/json",
                               .body = nsb,
                               .body_len = strlen(nsb)};
  kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
  int st = kube_client_request(cl, &req, &resp, err);
  st = st < 0 ? st : resp.status;
  kube_client_response_clear(&resp);
  kube_client_free(cl);
  return st == 201 ? 0 : -1;
}

static int run(struct fcase *c, kube_error_t *err) {
  kube_client_options_t o = {.struct_size = sizeof o,
                             .server = c->k->url,
                             .token = TOKEN,
                             .certificate_authority = c->k->ca};
  if (!(c->loop = kube_loop_new(err)) ||
      !(c->ht = kube_http_transport_new(c->loop, &o, err)))
    return -1;
  kube_http_transport_get(c->ht, &c->tp);
  if (!(c->w = kube_writer_new(c->loop, &c->tp, err)) ||
      !(c->tick = kube_timer_new(c->loop, on_tick, c, err)) ||
      create_namespace(&o, err) < 0 || start_informers(c, err) < 0)
    return -1;
  c->victim = agent_start(c, 1, "victim-");
  if (c->victim < 0)
    return -1;
  /* Registration, 100 pods, N nodes, 40 s of grace, 10 s of toleration
   * and the replacements: generous for a loaded machine. */
  c->deadline = now_ns() + (int64_t)(240 + c->n_nodes / 5) * 1000000000;
  kube_timer_arm_periodic(c->tick, 200);
  if (kube_loop_run(c->loop, err) < 0)
    return -1;
  return c->phase == F_DONE ? 0 : -1;
}

int node_failure_case(const char *kubed_bin, const char *store, int nodes,
                      bool keep, struct node_failure *out) {
  struct kubed k = {.agents = true, .tls = true};
  struct fcase c = {.k = &k,
                    .bin = kubed_bin,
                    .n_nodes = nodes,
                    .victim = -1,
                    .survivors = -1,
                    .ready = json_object_new_object()};
  kube_error_t err = KUBE_ERROR_INIT;
  int rc = -1;
  if (kubed_start(&k, kubed_bin, store) == 0)
    rc = run(&c, &err);
  if (err.message)
    fprintf(stderr, "bench-controllers: node failure: %s\n", err.message);
  kube_error_clear(&err);
  agent_stop(&c.victim);
  agent_stop(&c.survivors);
  kube_timer_free(c.tick);
  kube_informer_factory_free(c.f);
  kube_writer_free(c.w);
  kube_http_transport_free(c.ht);
  kube_loop_free(c.loop);
  json_object_put(c.ready);
  if (rc == 0) {
    double s = 1e9;
    out->recovery_s = (double)(c.t_running - c.t_kill) / s;
    out->not_ready_s = c.t_not_ready ? (double)(c.t_not_ready - c.t_kill) / s : -1;
    out->tainted_s = c.t_tainted ? (double)(c.t_tainted - c.t_kill) / s : -1;
    out->evicted_s = c.t_evicted ? (double)(c.t_evicted - c.t_kill) / s : -1;
    out->rescheduled_s = c.t_bound ? (double)(c.t_bound - c.t_kill) / s : -1;
  } else {
    fprintf(stderr, "bench-controllers: node failure case failed (%s)\n",
            k.dir);
  }
  kubed_stop(&k, keep || rc != 0);
  return rc;
}
