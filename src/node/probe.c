/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Probes on the loop, as the kubelet's prober workers: one per container
 * and probe type, ticking every periodSeconds on a timer of the agent's
 * loop; each probe runs as a job on a worker (never on the loop), and its
 * outcome is counted against the thresholds (probe-state.c).  Effects:
 * readiness is the container's `ready` (and the pod's ContainersReady and
 * Ready conditions), the startup probe gates the other two and sets
 * `started`, and a liveness or startup failure asks the pod's sync to
 * kill the container (hooks.c), which its restartPolicy then restarts.
 * Events: Unhealthy ("Liveness probe failed: ..."), ProbeWarning.
 */
#include "node/agent.h"

struct nd_prober {
  kube_node_agent_t *a;
  char *uid, *ctr;
  enum nd_probe_type type;
  struct nd_probe_spec spec;
  struct nd_probe_state st;
  char *instance; /* the container id the state is for */
  kube_timer_t *timer;
  bool inflight;
};

static const char *const probe_fields[] = {"startupProbe", "livenessProbe",
                                           "readinessProbe"};

static int64_t realtime_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void nd_prober_free(struct nd_prober *pr) {
  if (!pr)
    return;
  kube_timer_free(pr->timer);
  nd_probe_spec_clear(&pr->spec);
  free(pr->uid);
  free(pr->ctr);
  free(pr->instance);
  free(pr);
}

/* The prober's result for the container's current instance. */
static enum nd_probe_result current(const struct nd_ctr *c,
                                    enum nd_probe_type t) {
  const struct nd_prober *pr = c->probers[t];
  if (!pr || !c->has_cur || !c->cur.id || !pr->instance ||
      !streq(pr->instance, c->cur.id))
    return t == ND_PROBE_READINESS ? ND_PR_FAILURE : ND_PR_UNKNOWN;
  return pr->st.result;
}

bool nd_ctr_started(const struct nd_ctr *c) {
  if (!c->has_cur || c->cur.state != ND_RUNNING || c->post_start_running)
    return false;
  return !c->probers[ND_PROBE_STARTUP] ||
         current(c, ND_PROBE_STARTUP) == ND_PR_SUCCESS;
}

bool nd_ctr_ready(const struct nd_ctr *c) {
  if (!nd_ctr_started(c))
    return false;
  return !c->probers[ND_PROBE_READINESS] ||
         current(c, ND_PROBE_READINESS) == ND_PR_SUCCESS;
}

char *nd_pod_probe_host(kube_node_agent_t *a, const struct nd_pod *p) {
  if (p->host_network)
    return a->cfg.node_ip ? strdup(a->cfg.node_ip) : NULL;
  return p->n_ips ? strdup(p->ips[0]) : NULL;
}

/* The prober of (uid, container, type) if it is still pr. */
static bool locate(struct nd_prober *pr, struct nd_pod **pp,
                   struct nd_ctr **cp) {
  struct nd_pod *p = nd_pod_find(pr->a, pr->uid);
  struct nd_ctr *c = p ? nd_pod_ctr(p, pr->ctr) : NULL;
  if (!c || c->probers[pr->type] != pr)
    return false;
  *pp = p;
  *cp = c;
  return true;
}

/* ---- effects ------------------------------------------------------------ */

static void request_kill(kube_node_agent_t *a, struct nd_pod *p,
                         struct nd_ctr *c, struct nd_prober *pr) {
  json_object *spec = p->last ? nd_spec(p->last) : NULL;
  const char *policy = spec ? nd_restart_policy(spec) : "Always";
  bool restart = c->kind == ND_SIDECAR || !streq(policy, "Never");
  free(c->kill_message);
  if (asprintf(&c->kill_message,
               "Container %s failed %s probe, will %sbe "
               "restarted",
               c->name, pr->type == ND_PROBE_LIVENESS ? "liveness" : "startup",
               restart ? "" : "not ") < 0)
    c->kill_message = NULL;
  /* the probe's terminationGracePeriodSeconds wins over the pod's */
  c->kill_grace_s = pr->spec.grace_s >= 0 ? pr->spec.grace_s
                    : p->last             ? nd_grace_seconds(p->last)
                                          : 30;
}

static void changed(struct nd_prober *pr, struct nd_pod *p, struct nd_ctr *c) {
  kube_node_agent_t *a = pr->a;
  if (pr->type == ND_PROBE_STARTUP && pr->st.result == ND_PR_SUCCESS) {
    /* started: the other probes run now (the kubelet's manual trigger) */
    for (int t = 0; t < ND_PROBE__COUNT; t++)
      if (c->probers[t] && t != ND_PROBE_STARTUP)
        kube_timer_arm(c->probers[t]->timer, 0);
  }
  if ((pr->type == ND_PROBE_LIVENESS || pr->type == ND_PROBE_STARTUP) &&
      pr->st.result == ND_PR_FAILURE)
    request_kill(a, p, c, pr);
  nd_pod_enqueue(a, p, 0);
}

/* ---- running one probe -------------------------------------------------- */

struct probe_job {
  enum nd_probe_type type;
  char *ctr, *id, *host;
  struct nd_handler h;
  int64_t timeout_ms;
  struct nd_outcome out;
};

/* An error (not a failure) is tried again, at most 3 times in all (the
 * kubelet's runProbeWithRetries). */
static void probe_work(nd_job_t *j, kube_runtime_t *rt) {
  struct probe_job *pj = j->data;
  for (int i = 0; i < 3; i++) {
    nd_outcome_clear(&pj->out);
    nd_handler_run(rt, pj->id, &pj->h, pj->host, pj->timeout_ms, NULL,
                   &pj->out);
    if (pj->out.result != ND_PR_UNKNOWN)
      break;
  }
}

static void probe_free(nd_job_t *j) {
  struct probe_job *pj = j->data;
  free(pj->ctr);
  free(pj->id);
  free(pj->host);
  nd_handler_clear(&pj->h);
  nd_outcome_clear(&pj->out);
  free(pj);
}

static void probe_done(nd_job_t *j) {
  struct probe_job *pj = j->data;
  kube_node_agent_t *a = j->a;
  struct nd_pod *p = nd_pod_find(a, j->uid);
  struct nd_ctr *c = p ? nd_pod_ctr(p, pj->ctr) : NULL;
  struct nd_prober *pr = c ? c->probers[pj->type] : NULL;
  if (!pr)
    return;
  pr->inflight = false;
  if (!pr->instance || !streq(pr->instance, pj->id) || pr->st.on_hold)
    return; /* a new instance meanwhile: the outcome is stale */
  if (p->term != ND_TERM_NONE && pj->type != ND_PROBE_READINESS)
    return;
  const char *name = nd_probe_type_name(pj->type);
  const char *text = pj->out.output ? pj->out.output : "";
  switch (pj->out.result) {
  case ND_PR_FAILURE:
    nd_pod_event(a, p, "Warning", "Unhealthy", c->name, "%s probe failed: %s",
                 name, text);
    break;
  case ND_PR_WARNING:
    nd_pod_event(a, p, "Warning", "ProbeWarning", c->name,
                 "%s probe warning: %s", name, text);
    break;
  case ND_PR_UNKNOWN:
    nd_pod_event(a, p, "Warning", "Unhealthy", c->name, "%s probe errored: %s",
                 name, text);
    break;
  default:
    break;
  }
  if (nd_probe_state_apply(&pr->st, pr->type, &pr->spec, pj->out.result))
    changed(pr, p, c);
}

static void submit(struct nd_prober *pr, struct nd_pod *p, struct nd_ctr *c) {
  kube_node_agent_t *a = pr->a;
  struct probe_job *pj = calloc(1, sizeof *pj);
  if (!pj)
    return;
  pj->type = pr->type;
  pj->ctr = strdup(c->name);
  pj->id = strdup(c->cur.id);
  pj->host = nd_pod_probe_host(a, p);
  pj->timeout_ms = (int64_t)pr->spec.timeout_s * 1000;
  nd_job_t *j = NULL;
  if (!pj->ctr || !pj->id || nd_handler_copy(&pj->h, &pr->spec.h) < 0 ||
      !(j = nd_job_new(a, p->uid, probe_work, probe_done, pj, probe_free))) {
    probe_free(&(nd_job_t){.data = pj});
    return;
  }
  j->exclusive = false; /* probes run beside the pod's own jobs */
  j->probe = true;
  if (nd_job_submit(j, NULL) == 0)
    pr->inflight = true;
}

static void tick(void *arg) {
  struct nd_prober *pr = arg;
  struct nd_pod *p;
  struct nd_ctr *c;
  if (!locate(pr, &p, &c))
    return;
  int64_t period = (int64_t)pr->spec.period_s * 1000;
  if (pr->inflight) {
    kube_timer_arm(pr->timer, period);
    return;
  }
  const char *id = c->has_cur ? c->cur.id : NULL;
  if (id && (!pr->instance || !streq(pr->instance, id))) {
    free(pr->instance);
    pr->instance = strdup(id);
    nd_probe_state_reset(&pr->st, pr->type);
  }
  const kube_object_t *pod = nd_pod_object(pr->a, p);
  struct nd_probe_view v = {
      .terminal = p->finished || p->term >= ND_TERM_STOPPED,
      .has_instance = id != NULL,
      .running =
          c->has_cur && c->cur.state == ND_RUNNING && !c->post_start_running,
      .deleting = p->term != ND_TERM_NONE || !pod ||
                  kube_object_get_string(pod, "metadata.deletionTimestamp"),
  };
  v.started = v.running && (!c->probers[ND_PROBE_STARTUP] ||
                            current(c, ND_PROBE_STARTUP) == ND_PR_SUCCESS);
  if (v.running)
    v.running_for_ms = realtime_ms() - ((int64_t)c->cur.started.tv_sec * 1000 +
                                        c->cur.started.tv_nsec / 1000000);
  enum nd_probe_result before = pr->st.result;
  int64_t wait = period;
  enum nd_probe_step step =
      nd_probe_step(pr->type, &pr->st, &pr->spec, &v, &wait);
  if (pr->st.result != before)
    nd_pod_enqueue(pr->a, p, 0);
  if (step == ND_STEP_STOP)
    return;
  if (step == ND_STEP_RUN)
    submit(pr, p, c);
  kube_timer_arm(pr->timer, wait > 0 ? wait : period);
}

/* ---- the probers of a pod ----------------------------------------------- */

static struct nd_prober *prober_new(kube_node_agent_t *a, struct nd_pod *p,
                                    struct nd_ctr *c, enum nd_probe_type t,
                                    json_object *probe, json_object *ctr) {
  struct nd_prober *pr = calloc(1, sizeof *pr);
  if (!pr)
    return NULL;
  kube_error_t err = KUBE_ERROR_INIT;
  pr->a = a;
  pr->type = t;
  pr->uid = strdup(p->uid);
  pr->ctr = strdup(c->name);
  if (nd_probe_spec_parse(probe, ctr, &pr->spec, &err) < 0) {
    log_warn("pod %s/%s container %s: %s: %s", p->ns, p->name, c->name,
             probe_fields[t], err.message);
    kube_error_clear(&err);
    nd_prober_free(pr);
    return NULL;
  }
  nd_probe_state_reset(&pr->st, t);
  pr->timer = kube_timer_new(a->loop, tick, pr, NULL);
  if (!pr->uid || !pr->ctr || !pr->timer) {
    nd_prober_free(pr);
    return NULL;
  }
  kube_timer_arm(pr->timer, 0);
  return pr;
}

void nd_probes_sync(kube_node_agent_t *a, struct nd_pod *p, json_object *spec) {
  for (size_t i = 0; i < p->n_ctrs; i++) {
    struct nd_ctr *c = &p->ctrs[i];
    json_object *ctr = nd_spec_container(spec, c->name, NULL);
    for (int t = 0; t < ND_PROBE__COUNT; t++) {
      json_object *probe = ctr && c->kind != ND_INIT
                               ? kube_json_get(ctr, probe_fields[t])
                               : NULL;
      if (probe && !c->probers[t])
        c->probers[t] = prober_new(a, p, c, (enum nd_probe_type)t, probe, ctr);
      else if (!probe && c->probers[t]) {
        nd_prober_free(c->probers[t]);
        c->probers[t] = NULL;
      }
      /* a new instance is probed at once (after its initial delay) */
      struct nd_prober *pr = c->probers[t];
      if (pr && c->has_cur && c->cur.id &&
          (!pr->instance || !streq(pr->instance, c->cur.id)) && !pr->inflight)
        kube_timer_arm(pr->timer, 0);
    }
  }
}
