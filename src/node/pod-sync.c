/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-pod sync, the kubelet's SyncPod/SyncTerminatingPod in one
 * idempotent function: it compares the pod with what runs and takes the
 * next step — at most one worker job per pod at a time (admission,
 * sandbox, volumes, init containers in order, containers with restarts
 * and back-off; on deletion: stop signals, grace period, SIGKILL,
 * teardown, final status, deletion of the object).  Everything it decides
 * is recomputed from the pod object and the agent's records each time, so
 * running it again is always safe.
 */
#include <signal.h>

#include "node/agent.h"

#define BACKOFF_INITIAL_MS 10000
#define BACKOFF_MAX_MS 300000
#define MIN_GRACE_S 2

static int64_t realtime_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t ts_ms(const struct timespec *ts) {
  return (int64_t)ts->tv_sec * 1000 + ts->tv_nsec / 1000000;
}

static void set_str(char **dst, const char *s) {
  if (*dst && s && streq(*dst, s))
    return;
  free(*dst);
  *dst = s ? strdup(s) : NULL;
}

/* Go's time.Duration.String() for whole seconds: "10s", "1m20s", "5m0s". */
static void go_duration(int64_t ms, char *buf, size_t len) {
  int64_t s = ms / 1000;
  if (s < 60)
    snprintf(buf, len, "%llds", (long long)s);
  else
    snprintf(buf, len, "%lldm%llds", (long long)(s / 60), (long long)(s % 60));
}

/* The kind of the containers of list l (init containers: per their
 * restartPolicy). */
static enum nd_kind list_kind(int l, json_object *c) {
  if (l == 1)
    return ND_APP;
  if (l == 2)
    return ND_EPHEMERAL;
  const char *rp = kube_json_get_string(c, "restartPolicy");
  return rp && streq(rp, "Always") ? ND_SIDECAR : ND_INIT;
}

/* The pod's container records follow its spec: init containers first, in
 * order, then the containers, then the ephemeral ones (records an
 * adoption made are put in their place). */
static int ensure_ctrs(struct nd_pod *p, json_object *spec) {
  json_object *lists[3] = {kube_json_get(spec, "initContainers"),
                           kube_json_get(spec, "containers"),
                           kube_json_get(spec, "ephemeralContainers")};
  size_t want = 0;
  for (int l = 0; l < 3; l++)
    want += lists[l] ? json_object_array_length(lists[l]) : 0;
  if (want == p->n_ctrs) { /* usually: already in order */
    size_t k = 0;
    for (int l = 0; l < 3; l++)
      for (size_t i = 0; lists[l] && i < json_object_array_length(lists[l]);
           i++, k++) {
        json_object *c = json_object_array_get_idx(lists[l], i);
        const char *name = kube_json_get_string(c, "name");
        if (!name || !streq(name, p->ctrs[k].name) ||
            list_kind(l, c) != p->ctrs[k].kind)
          goto reorder;
      }
    return 0;
  }
reorder:;
  struct nd_ctr *v = calloc(want + p->n_ctrs + 1, sizeof *v);
  if (!v)
    return -1;
  size_t n = 0;
  bool *used = calloc(p->n_ctrs + 1, sizeof *used);
  if (!used) {
    free(v);
    return -1;
  }
  for (int l = 0; l < 3; l++)
    for (size_t i = 0; lists[l] && i < json_object_array_length(lists[l]);
         i++) {
      json_object *c = json_object_array_get_idx(lists[l], i);
      const char *name = kube_json_get_string(c, "name");
      if (!name)
        continue;
      enum nd_kind kind = list_kind(l, c);
      size_t k = 0;
      while (k < p->n_ctrs && (used[k] || !streq(p->ctrs[k].name, name)))
        k++;
      if (k < p->n_ctrs) {
        v[n] = p->ctrs[k];
        used[k] = true;
      } else {
        memset(&v[n], 0, sizeof v[n]);
        if (!(v[n].name = strdup(name)))
          continue;
      }
      v[n++].kind = kind;
    }
  /* records the spec does not name (not expected) stay at the end */
  for (size_t k = 0; k < p->n_ctrs; k++)
    if (!used[k])
      v[n++] = p->ctrs[k];
  free(used);
  free(p->ctrs);
  p->ctrs = v;
  p->n_ctrs = n;
  return 0;
}

/* ---- admission ---------------------------------------------------------- */

static size_t active_pods(kube_node_agent_t *a) {
  size_t n = 0;
  for (size_t i = 0; i < a->n_pods; i++)
    if (a->pods_v[i]->admitted && !a->pods_v[i]->rejected &&
        !a->pods_v[i]->finished)
      n++;
  return n;
}

static void reject(kube_node_agent_t *a, struct nd_pod *p, const char *reason,
                   const char *fmt, const char *arg) {
  p->rejected = true;
  p->admitted = true;
  p->finished = true;
  set_str(&p->reject_reason, reason);
  free(p->reject_message);
  if (asprintf(&p->reject_message, fmt, arg) < 0)
    p->reject_message = NULL;
  nd_pod_event(a, p, "Warning", reason, NULL, "%s",
               p->reject_message ? p->reject_message : reason);
}

static void admit(kube_node_agent_t *a, struct nd_pod *p, json_object *spec) {
  if (p->admitted)
    return;
  cleanup_free char *pressure = NULL;
  if (!nd_ev_admit(a, spec, &pressure)) {
    reject(a, p, "Evicted", "%s", pressure ? pressure : "");
    return;
  }
  const char *bad = nd_forbidden_sysctl(a, spec);
  if (bad) {
    reject(a, p, "SysctlForbidden",
           "Pod forbidden sysctl: \"%s\" not allowlisted", bad);
    return;
  }
  if (active_pods(a) >= (size_t)a->cfg.max_pods) {
    char used[64];
    snprintf(used, sizeof used, "%d, capacity: %d", a->cfg.max_pods,
             a->cfg.max_pods);
    reject(a, p, "OutOfpods",
           "Node didn't have enough resource: pods, requested: 1, used: %s",
           used);
    return;
  }
  p->admitted = true;
  if (!p->start_time)
    p->start_time = time(NULL);
}

/* ---- containers --------------------------------------------------------- */

static bool will_restart(const char *policy, const struct nd_ctr *c) {
  if (c->kind == ND_SIDECAR)
    return true;
  if (streq(policy, "Always"))
    return true;
  if (streq(policy, "OnFailure"))
    return c->cur.exit_code != 0;
  return false;
}

/* The kubelet's restart back-off (doBackOff): the first restart is at
 * once; while the last exit is younger than the current back-off the
 * container waits in CrashLoopBackOff; every restart doubles it (10 s to
 * 300 s), and a container that ran fine for 10 minutes starts over. */
static bool in_backoff(kube_node_agent_t *a, struct nd_pod *p, struct nd_ctr *c,
                       int64_t *wake_ms) {
  if (!c->has_cur || c->cur.state != ND_EXITED)
    return false;
  int64_t finished = ts_ms(&c->cur.finished), now = realtime_ms();
  if (c->backoff_ms > 0 && now - finished < c->backoff_ms) {
    int64_t left = c->backoff_ms - (now - finished);
    if (!*wake_ms || left < *wake_ms)
      *wake_ms = left;
    char d[32];
    go_duration(c->backoff_ms, d, sizeof d);
    cleanup_free char *desc = nd_pod_desc(p);
    char msg[1024];
    snprintf(msg, sizeof msg,
             "back-off %s restarting failed container=%s pod=%s", d, c->name,
             desc ? desc : p->name);
    bool first = !c->waiting_reason ||
                 !streq(c->waiting_reason, "CrashLoopBackOff") ||
                 !c->waiting_message || !streq(c->waiting_message, msg);
    set_str(&c->waiting_reason, "CrashLoopBackOff");
    set_str(&c->waiting_message, msg);
    if (first)
      nd_pod_event(a, p, "Warning", "BackOff", c->name,
                   "Back-off restarting failed container %s in pod %s", c->name,
                   desc ? desc : p->name);
    return true;
  }
  /* backOff.Next(key, finishedAt) */
  if (c->backoff_ms == 0 || finished - c->backoff_until_ms > 2 * BACKOFF_MAX_MS)
    c->backoff_ms = BACKOFF_INITIAL_MS;
  else
    c->backoff_ms =
        c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
  c->backoff_until_ms = finished; /* the back-off entry's last update */
  return false;
}

static bool pull_backoff(kube_node_agent_t *a, struct nd_pod *p,
                         struct nd_ctr *c, json_object *spec,
                         int64_t *wake_ms) {
  if (!c->pull_backoff_until_ms)
    return false;
  int64_t left = c->pull_backoff_until_ms - nd_now_ms();
  if (left <= 0)
    return false;
  if (!*wake_ms || left < *wake_ms)
    *wake_ms = left;
  json_object *ctr = nd_spec_container(spec, c->name, NULL);
  const char *image = ctr ? kube_json_get_string(ctr, "image") : "";
  char msg[1024];
  snprintf(msg, sizeof msg, "Back-off pulling image \"%s\"", image ?: "");
  bool first =
      !c->waiting_reason || !streq(c->waiting_reason, "ImagePullBackOff");
  if (c->waiting_reason && streq(c->waiting_reason, "ErrImageNeverPull"))
    return true; /* stays ErrImageNeverPull */
  set_str(&c->waiting_reason, "ImagePullBackOff");
  set_str(&c->waiting_message, msg);
  if (first) {
    nd_pod_event(a, p, "Normal", "BackOff", c->name, "%s", msg);
    nd_pod_event(a, p, "Warning", "Failed", c->name, "Error: ImagePullBackOff");
  }
  return true;
}

/* Whether the container may start now (back-offs), and why not. */
static bool may_start(kube_node_agent_t *a, struct nd_pod *p, struct nd_ctr *c,
                      json_object *spec, int64_t *wake_ms) {
  int64_t left = c->create_retry_ms - nd_now_ms();
  if (left > 0) {
    if (!*wake_ms || left < *wake_ms)
      *wake_ms = left;
    return false;
  }
  if (pull_backoff(a, p, c, spec, wake_ms))
    return false;
  if (in_backoff(a, p, c, wake_ms))
    return false;
  return true;
}

static int add_name(char ***v, size_t *n, const char *name) {
  char **nv = realloc(*v, (*n + 1) * sizeof *nv);
  if (!nv)
    return -1;
  *v = nv;
  nv[(*n)++] = (char *)name;
  return 0;
}

/* What to start now.  *initialized: every init container is done. */
static void plan_containers(kube_node_agent_t *a, struct nd_pod *p,
                            json_object *spec, char ***names, size_t *n,
                            int64_t *wake_ms, bool *initialized) {
  const char *policy = nd_restart_policy(spec);
  *initialized = true;
  /* ephemeral containers start once, initialized or not
   * (computePodActions), and are never restarted: one that exists, even
   * one that failed to start, is done */
  for (size_t i = 0; i < p->n_ctrs; i++) {
    struct nd_ctr *c = &p->ctrs[i];
    if (c->kind == ND_EPHEMERAL && !c->has_cur &&
        may_start(a, p, c, spec, wake_ms))
      add_name(names, n, c->name);
  }
  for (size_t i = 0; i < p->n_ctrs && *initialized; i++) {
    struct nd_ctr *c = &p->ctrs[i];
    if (c->kind == ND_APP || c->kind == ND_EPHEMERAL)
      continue;
    bool running = c->has_cur && c->cur.state == ND_RUNNING;
    bool exited = c->has_cur && c->cur.state == ND_EXITED;
    if (c->kind == ND_SIDECAR) {
      /* the next init container waits until the sidecar started (its
       * startup probe passed) */
      if (running && nd_ctr_started(c))
        continue;
      *initialized = false;
      if (!running && may_start(a, p, c, spec, wake_ms))
        add_name(names, n, c->name);
      break;
    }
    if (exited && c->cur.exit_code == 0)
      continue;
    *initialized = false;
    if (running)
      break;
    if (exited && streq(policy, "Never"))
      break; /* the pod failed */
    if (may_start(a, p, c, spec, wake_ms))
      add_name(names, n, c->name);
    break;
  }
  if (!*initialized)
    return;
  for (size_t i = 0; i < p->n_ctrs; i++) {
    struct nd_ctr *c = &p->ctrs[i];
    bool running = c->has_cur && c->cur.state == ND_RUNNING;
    if (running || c->kind == ND_INIT || c->kind == ND_EPHEMERAL)
      continue;
    if (c->kind == ND_SIDECAR && !c->has_cur)
      continue;
    if (c->has_cur && c->cur.state == ND_EXITED && !will_restart(policy, c))
      continue;
    if (may_start(a, p, c, spec, wake_ms))
      add_name(names, n, c->name);
  }
}

/* ---- termination -------------------------------------------------------- */

/* The pause holding a shareProcessNamespace pod's PID namespace is gone. */
static bool pause_died(struct nd_pod *p, json_object *spec) {
  if (!nd_spec_bool(spec, "shareProcessNamespace") ||
      nd_spec_bool(spec, "hostPID"))
    return false;
  char ns_dir[4200];
  snprintf(ns_dir, sizeof ns_dir, "%s/ns", p->dir);
  return !kube_runtime_sandbox_pause_alive(ns_dir);
}

static bool any_running(const struct nd_pod *p) {
  for (size_t i = 0; i < p->n_ctrs; i++)
    if (p->ctrs[i].has_cur && p->ctrs[i].cur.state == ND_RUNNING)
      return true;
  return false;
}

static int sync_terminating(kube_node_agent_t *a, struct nd_pod *p,
                            const kube_object_t *pod) {
  kube_error_t err = KUBE_ERROR_INIT;
  if (p->term == ND_TERM_NONE) {
    const kube_object_t *o = pod ? pod : p->last;
    /* a pod found only on disk (deleted while no agent ran): at once */
    int64_t grace = o ? nd_grace_seconds(o) : 0;
    if (grace < MIN_GRACE_S)
      grace = MIN_GRACE_S;
    p->term = ND_TERM_STOPPING;
    p->term_grace_s = grace;
    log_debug("pod %s/%s: stopping (grace %llds)", p->ns, p->name,
              (long long)grace);
  }
  if (p->term == ND_TERM_STOPPING && pod) {
    /* the API server shortened the grace period: so does the stop */
    int64_t grace = nd_grace_seconds(pod);
    if (grace < MIN_GRACE_S)
      grace = MIN_GRACE_S;
    if (grace < p->term_grace_s) {
      log_debug("pod %s/%s: grace period shortened to %llds", p->ns, p->name,
                (long long)grace);
      p->term_grace_s = grace;
    }
  }
  if (p->term == ND_TERM_STOPPING) {
    if (any_running(p)) {
      /* each container: Killing, preStop, its stop signal, SIGKILL after
       * the grace period (hooks.c) */
      int64_t wake = 0;
      for (size_t i = 0; i < p->n_ctrs; i++) {
        int64_t w = nd_ctr_stop(a, p, &p->ctrs[i], p->term_grace_s, NULL);
        if (w > 0 && (!wake || w < wake))
          wake = w;
      }
      nd_pod_enqueue(a, p, wake > 0 ? wake : 1000);
      nd_status_update(a, p);
      return 0;
    }
    p->term = ND_TERM_STOPPED;
  }
  if (p->term == ND_TERM_STOPPED) {
    if (nd_sandbox_teardown(a, p, true, &err) < 0) {
      log_warn("pod %s/%s: teardown: %s", p->ns, p->name, err.message);
      kube_error_clear(&err);
      nd_pod_enqueue(a, p, 1000);
      return 0;
    }
    return KUBE_SYNC_PENDING;
  }
  if (p->term == ND_TERM_TORN_DOWN) {
    nd_status_finish(a, p);
    return 0;
  }
  if (p->term == ND_TERM_DONE && !p->status_inflight) {
    log_debug("pod %s/%s: gone", p->ns, p->name);
    nd_pod_remove(a, p);
  }
  return 0;
}

/* ---- the sync ----------------------------------------------------------- */

static void mount_failed(kube_node_agent_t *a, struct nd_pod *p,
                         const char *msg) {
  int64_t now = nd_now_ms();
  bool changed = !p->mount_error || !streq(p->mount_error, msg);
  if (changed || now - p->mount_event_ms > 60000) {
    nd_pod_event(a, p, "Warning", "FailedMount", NULL, "%s", msg);
    p->mount_event_ms = now;
  }
  set_str(&p->mount_error, msg);
}

struct vol_job {
  char *dir;
  nd_volumes_t *v;
  char *digest;
};

static void vol_work(nd_job_t *j, kube_runtime_t *rt) {
  struct vol_job *v = j->data;
  j->rc = nd_volumes_write(v->v, v->dir, &j->err);
}

static void vol_done(nd_job_t *j) {
  struct vol_job *v = j->data;
  struct nd_pod *p = nd_pod_find(j->a, j->uid);
  if (!p)
    return;
  if (j->rc < 0) {
    mount_failed(j->a, p, j->err.message ? j->err.message : "failed");
    nd_pod_enqueue(j->a, p, 5000);
    return;
  }
  set_str(&p->mount_error, NULL);
  free(p->volumes_digest);
  p->volumes_digest = steal_pointer(&v->digest);
}

static void vol_free(nd_job_t *j) {
  struct vol_job *v = j->data;
  free(v->dir);
  nd_volumes_free(v->v);
  free(v->digest);
  free(v);
}

/* Rewrite the volumes when their content changed (configMap and secret
 * updates).  1: a job runs; 0: nothing to do; -1: a source is missing. */
static int sync_volumes(kube_node_agent_t *a, struct nd_pod *p,
                        const kube_object_t *pod) {
  kube_error_t err = KUBE_ERROR_INIT;
  nd_volumes_t *v = nd_volumes_plan(a, p, pod, &err);
  if (!v) {
    mount_failed(a, p, err.message ? err.message : "failed");
    kube_error_clear(&err);
    return -1;
  }
  if (p->volumes_digest && streq(p->volumes_digest, nd_volumes_digest(v))) {
    nd_volumes_free(v);
    return 0;
  }
  struct vol_job *vj = calloc(1, sizeof *vj);
  nd_job_t *j =
      vj ? nd_job_new(a, p->uid, vol_work, vol_done, vj, vol_free) : NULL;
  if (!j) {
    free(vj);
    nd_volumes_free(v);
    return 0;
  }
  vj->dir = strdup(p->dir);
  vj->v = v;
  vj->digest = strdup(nd_volumes_digest(v));
  return nd_job_submit(j, NULL) == 0 ? 1 : 0;
}

static bool node_can_run(kube_node_agent_t *a, struct nd_pod *p,
                         json_object *spec) {
  if (!a->runtime_ok)
    return false;
  /* host-network pods need no pod network, as with the kubelet */
  return nd_spec_bool(spec, "hostNetwork") || a->network_ok;
}

/* The kubelet's container garbage collection with its defaults
 * (MaxPerPodContainer 1, MaxContainers -1, MinAge 0): a container waiting
 * to start again keeps one dead instance, the one lastState and `logs
 * --previous` show; the older one goes with its root file system and its
 * log.  (A running container's last dead instance is its one kept.) */
static void gc_dead_instances(kube_node_agent_t *a, struct nd_pod *p,
                              json_object *spec) {
  for (size_t i = 0; i < p->n_ctrs; i++) {
    struct nd_ctr *c = &p->ctrs[i];
    if (!c->has_prev || !c->has_cur || c->cur.state != ND_EXITED ||
        !nd_ctr_restarting(p, spec, c))
      continue;
    log_debug("pod %s/%s: container %s: removing dead instance %s", p->ns,
              p->name, c->name, c->prev.id ? c->prev.id : "-");
    nd_instance_discard(a, &c->prev);
    c->has_prev = false;
    a->stats.containers_collected++;
  }
}

int nd_sync_pod(kube_node_agent_t *a, struct nd_pod *p) {
  const kube_object_t *pod = nd_pod_object(a, p);
  if (pod) {
    const char *rv = kube_object_resource_version(pod);
    if (!p->last || !rv || !kube_object_resource_version(p->last) ||
        !streq(rv, kube_object_resource_version(p->last))) {
      /* The informer's tree, shared (one more reference, not a deep
       * copy): informer trees are never modified, both references are
       * taken and dropped on the loop, and a deep copy of each pod cost
       * as much as the informer's own tree (1.5 MB with 100 pods). */
      kube_object_t *copy =
          kube_object_wrap(json_object_get(kube_object_json(pod)));
      if (copy) {
        kube_object_free(p->last);
        p->last = copy;
      }
    }
  } else {
    p->api_gone = true;
  }
  if (a->draining)
    return 0;
  bool deleting =
      !pod || kube_object_get_string(pod, "metadata.deletionTimestamp");
  if (deleting || p->term != ND_TERM_NONE)
    return sync_terminating(a, p, pod);

  if (!p->t_seen)
    p->t_seen = nd_now_us();
  json_object *spec = nd_spec(pod);
  if (ensure_ctrs(p, spec) < 0)
    return -1;
  p->host_network = nd_spec_bool(spec, "hostNetwork");
  nd_ev_keep_terminal(a, p, pod);
  admit(a, p, spec);
  if (p->rejected) {
    /* an evicted pod's containers stop (eviction.c) */
    int64_t wake = 0;
    for (size_t i = 0; i < p->n_ctrs; i++) {
      int64_t w = nd_ctr_stop(a, p, &p->ctrs[i], p->term_grace_s, NULL);
      if (w > 0 && (!wake || w < wake))
        wake = w;
    }
    if (wake > 0)
      nd_pod_enqueue(a, p, wake);
    nd_status_update(a, p);
    if (p->sandbox == ND_SB_READY && !any_running(p)) {
      kube_error_t err = KUBE_ERROR_INIT;
      int rc = nd_sandbox_teardown(a, p, false, &err);
      kube_error_clear(&err);
      return rc == 0 ? KUBE_SYNC_PENDING : 0;
    }
    return 0;
  }
  if (!node_can_run(a, p, spec)) {
    nd_status_update(a, p); /* the node says why; the pod waits */
    return 0;
  }
  if (!nd_sources_ready(a, p, spec)) {
    /* a watch's first list syncs the pod again; look anyway later, in
     * case the list keeps failing (the Node authorizer's graph not there
     * yet) and was given up until its backoff */
    nd_status_update(a, p);
    nd_pod_enqueue(a, p, 2000);
    return 0;
  }
  const char *phase = nd_pod_phase(a, p, spec);
  if (streq(phase, "Succeeded") || streq(phase, "Failed")) {
    p->finished = true;
    /* the pod's end is its ephemeral containers' too (the kubelet's
     * SyncTerminatingPod stops whatever still runs) */
    int64_t wake = 0;
    for (size_t i = 0; i < p->n_ctrs; i++) {
      if (p->ctrs[i].kind != ND_EPHEMERAL)
        continue;
      int64_t w = nd_ctr_stop(a, p, &p->ctrs[i], nd_grace_seconds(pod), NULL);
      if (w > 0 && (!wake || w < wake))
        wake = w;
    }
    if (wake > 0)
      nd_pod_enqueue(a, p, wake);
    nd_status_update(a, p);
    /* a finished pod keeps its containers (logs) but not its network */
    if (p->sandbox == ND_SB_READY && !any_running(p)) {
      kube_error_t err = KUBE_ERROR_INIT;
      int rc = nd_sandbox_teardown(a, p, false, &err);
      kube_error_clear(&err);
      return rc == 0 ? KUBE_SYNC_PENDING : 0;
    }
    return 0;
  }
  if (p->sandbox != ND_SB_READY) {
    if (p->sandbox == ND_SB_FAILED && nd_now_ms() < p->sandbox_retry_ms) {
      nd_status_update(a, p);
      nd_pod_enqueue(a, p, p->sandbox_retry_ms - nd_now_ms());
      return 0;
    }
    kube_error_t err = KUBE_ERROR_INIT;
    if (nd_sandbox_create(a, p, pod, &err) < 0) {
      if (err.reason == KUBE_REASON_NOT_FOUND ||
          str_has_prefix(err.message ? err.message : "", "MountVolume"))
        mount_failed(a, p, err.message ? err.message : "failed");
      else
        nd_pod_event(a, p, "Warning", "FailedCreatePodSandBox", NULL,
                     "Failed to create pod sandbox: %s",
                     err.message ? err.message : "failed");
      kube_error_clear(&err);
      nd_status_update(a, p);
      nd_pod_enqueue(a, p, 5000);
      return 0;
    }
    nd_status_update(a, p);
    return KUBE_SYNC_PENDING;
  }
  if (pause_died(p, spec)) {
    /* the namespace takes no process any more and its containers died
     * with the pause: made again, as the kubelet's not-ready sandbox
     * (after a CNI DEL, as for a sandbox an agent left half made) */
    nd_pod_event(a, p, "Normal", "SandboxChanged", NULL,
                 "Pod sandbox changed, it will be killed and re-created.");
    p->sandbox = ND_SB_FAILED;
    p->sandbox_retry_ms = 0;
    p->adopted = true;
    nd_pod_enqueue(a, p, 0);
    return 0;
  }
  int vr = sync_volumes(a, p, pod);
  if (vr > 0)
    return KUBE_SYNC_PENDING;
  if (vr < 0 && !any_running(p)) {
    /* nothing runs yet: the pod waits for its volumes */
    nd_status_update(a, p);
    nd_pod_enqueue(a, p, 5000);
    return 0;
  }
  char **names = NULL;
  size_t n = 0;
  int64_t wake = 0;
  bool initialized;
  nd_probes_sync(a, p, spec);
  /* containers the probes or a failed postStart want killed */
  for (size_t i = 0; i < p->n_ctrs; i++) {
    struct nd_ctr *c = &p->ctrs[i];
    if (!c->kill_message)
      continue;
    int64_t w = nd_ctr_stop(a, p, c, c->kill_grace_s, c->kill_message);
    if (w > 0 && (!wake || w < wake))
      wake = w;
  }
  gc_dead_instances(a, p, spec);
  plan_containers(a, p, spec, &names, &n, &wake, &initialized);
  int rc = 0;
  if (n) {
    kube_error_t err = KUBE_ERROR_INIT;
    /* its network policies hold before anything in it runs */
    nd_netpol_pod_ready(a, p);
    rc = nd_containers_start(a, p, pod, names, n, &err);
    if (rc < 0) {
      log_warn("pod %s/%s: %s", p->ns, p->name, err.message);
      nd_pod_enqueue(a, p, 1000);
      rc = 0;
    }
    kube_error_clear(&err);
  }
  free(names);
  if (wake > 0)
    nd_pod_enqueue(a, p, wake);
  nd_status_update(a, p);
  return rc > 0 ? KUBE_SYNC_PENDING : 0;
}
