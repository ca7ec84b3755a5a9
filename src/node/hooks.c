/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Lifecycle hooks and the stop of one container, as the kubelet's
 * killContainer: a Killing event, the preStop hook (exec, httpGet, sleep)
 * within the grace period, then the stop signal (the image's STOPSIGNAL,
 * else SIGTERM) with what is left of the grace period (never under 2 s),
 * then SIGKILL to every process of the container.  postStart runs as a
 * job once the container started; until it is done the container is not
 * started (status waiting, no probes); a failure records
 * FailedPostStartHook and kills the container.  Hooks run on workers,
 * their waits bounded and cancellable from the loop.
 */
#include <signal.h>

#include "node/agent.h"

#define MIN_GRACE_MS 2000

enum hook_kind { HOOK_POST_START, HOOK_PRE_STOP };

struct hook_job {
  enum hook_kind kind;
  char *ctr, *id, *host;
  struct nd_handler h;
  int64_t timeout_ms;
  volatile int cancel;
  struct nd_outcome out;
};

static void hook_work(nd_job_t *j, kube_runtime_t *rt) {
  struct hook_job *hj = j->data;
  nd_handler_run(rt, hj->id, &hj->h, hj->host, hj->timeout_ms, &hj->cancel,
                 &hj->out);
}

static void hook_free(nd_job_t *j) {
  struct hook_job *hj = j->data;
  free(hj->ctr);
  free(hj->id);
  free(hj->host);
  nd_handler_clear(&hj->h);
  nd_outcome_clear(&hj->out);
  free(hj);
}

char *nd_hook_message(const struct nd_handler *h, const char *ctr,
                      const char *pod_desc, const struct nd_outcome *o) {
  char *s = NULL;
  const char *err = o->error ? o->error : o->output ? o->output : "";
  if (h->kind == ND_H_EXEC) {
    cleanup_free char *cmd = nd_go_strv(h->command, h->n_command, " ", true);
    if (asprintf(&s,
                 "Exec lifecycle hook (%s) for Container \"%s\" in Pod \"%s\" "
                 "failed - error: %s, message: \"%s\"",
                 cmd ? cmd : "[]", ctr, pod_desc, err,
                 o->output ? o->output : "") < 0)
      s = NULL;
  } else if (h->kind == ND_H_HTTP) {
    if (asprintf(&s,
                 "HTTP lifecycle hook (%s) for Container \"%s\" in Pod \"%s\" "
                 "failed - error: %s",
                 h->path ? h->path : "", ctr, pod_desc, err) < 0)
      s = NULL;
  } else {
    if (asprintf(&s,
                 "Lifecycle hook for Container \"%s\" in Pod \"%s\" failed - "
                 "error: %s",
                 ctr, pod_desc, err) < 0)
      s = NULL;
  }
  return s;
}

/* The hook handler of the container's lifecycle (field "postStart" or
 * "preStop"), read into *h; false when there is none. */
static bool hook_of(struct nd_pod *p, struct nd_ctr *c, const char *field,
                    struct nd_handler *h) {
  json_object *spec = p->last ? nd_spec(p->last) : NULL;
  json_object *ctr = spec ? nd_spec_container(spec, c->name, NULL) : NULL;
  char path[64];
  snprintf(path, sizeof path, "lifecycle.%s", field);
  json_object *obj = ctr ? kube_json_get(ctr, path) : NULL;
  if (!obj)
    return false;
  kube_error_t err = KUBE_ERROR_INIT;
  if (nd_handler_parse(obj, ctr, h, &err) < 0) {
    log_warn("pod %s/%s container %s: %s: %s", p->ns, p->name, c->name, path,
             err.message);
    kube_error_clear(&err);
    nd_handler_clear(h);
    return false;
  }
  return true;
}

static void hook_done(nd_job_t *j);

static int hook_submit(kube_node_agent_t *a, struct nd_pod *p, struct nd_ctr *c,
                       enum hook_kind kind, struct nd_handler *h,
                       int64_t timeout_ms) {
  struct hook_job *hj = calloc(1, sizeof *hj);
  if (!hj) {
    nd_handler_clear(h);
    return -1;
  }
  hj->kind = kind;
  hj->h = *h;
  memset(h, 0, sizeof *h);
  hj->ctr = strdup(c->name);
  hj->id = strdup(c->cur.id);
  hj->host = nd_pod_probe_host(a, p);
  hj->timeout_ms = timeout_ms;
  nd_job_t *j = NULL;
  if (!hj->ctr || !hj->id ||
      !(j = nd_job_new(a, p->uid, hook_work, hook_done, hj, hook_free))) {
    hook_free(&(nd_job_t){.data = hj});
    return -1;
  }
  j->exclusive = false; /* the pod's sync goes on (deadlines, deletion) */
  j->probe = true;
  volatile int *cancel = &hj->cancel;
  if (nd_job_submit(j, NULL) < 0)
    return -1;
  c->hook_cancel = cancel;
  return 0;
}

void nd_post_start(kube_node_agent_t *a, struct nd_pod *p, struct nd_ctr *c) {
  if (!c->has_cur || c->cur.state != ND_RUNNING || !c->cur.id)
    return;
  if (c->post_start_id && streq(c->post_start_id, c->cur.id))
    return;
  free(c->post_start_id);
  c->post_start_id = strdup(c->cur.id);
  c->post_start_running = false;
  struct nd_handler h;
  if (!hook_of(p, c, "postStart", &h))
    return;
  /* no deadline (the kubelet has none); a stop of the container or the
   * pod cancels it */
  if (hook_submit(a, p, c, HOOK_POST_START, &h, 0) == 0)
    c->post_start_running = true;
}

static void hook_done(nd_job_t *j) {
  struct hook_job *hj = j->data;
  kube_node_agent_t *a = j->a;
  struct nd_pod *p = nd_pod_find(a, j->uid);
  struct nd_ctr *c = p ? nd_pod_ctr(p, hj->ctr) : NULL;
  if (!c)
    return;
  if (c->hook_cancel == &hj->cancel)
    c->hook_cancel = NULL;
  bool failed = hj->out.result != ND_PR_SUCCESS;
  if (hj->kind == HOOK_POST_START) {
    if (!c->post_start_id || !streq(c->post_start_id, hj->id))
      return;
    c->post_start_running = false;
    if (failed && !hj->cancel && c->has_cur && c->cur.id &&
        streq(c->cur.id, hj->id)) {
      cleanup_free char *desc = nd_pod_desc(p);
      cleanup_free char *msg =
          nd_hook_message(&hj->h, c->name, desc ? desc : p->name, &hj->out);
      log_info("pod %s/%s: %s", p->ns, p->name, msg ? msg : "postStart failed");
      nd_pod_event(a, p, "Warning", "FailedPostStartHook", c->name, "%s",
                   msg ? msg : "");
      free(c->kill_message);
      c->kill_message = strdup("FailedPostStartHook");
      c->kill_grace_s = p->last ? nd_grace_seconds(p->last) : 30;
    }
  } else {
    if (failed && !hj->cancel) {
      /* the kubelet keeps the handler's text out of the event (secrets) */
      cleanup_free char *desc = nd_pod_desc(p);
      cleanup_free char *msg =
          nd_hook_message(&hj->h, c->name, desc ? desc : p->name, &hj->out);
      log_info("pod %s/%s: PreStop hook failed: %s", p->ns, p->name,
               msg ? msg : "");
      nd_pod_event(a, p, "Warning", "FailedPreStopHook", c->name,
                   "PreStopHook failed");
    }
    if (c->stop == ND_STOP_PRESTOP && c->stop_id && streq(c->stop_id, hj->id))
      c->stop = ND_STOP_PRESTOP_DONE;
  }
  nd_pod_enqueue(a, p, 0);
}

/* ---- stopping one container --------------------------------------------- */

static int64_t send_stop_signal(kube_node_agent_t *a, struct nd_pod *p,
                                struct nd_ctr *c, int64_t now) {
  /* what is left of the grace period, at least 2 s */
  if (c->stop_deadline_ms < now + MIN_GRACE_MS)
    c->stop_deadline_ms = now + MIN_GRACE_MS;
  c->stop = ND_STOP_SIGNALED;
  kube_error_t err = KUBE_ERROR_INIT;
  if (nd_ctr_signal(a, p, c, nd_signal_parse(c->cur.stop_signal), false, &err) <
      0)
    log_warn("pod %s/%s: stop %s: %s", p->ns, p->name, c->name, err.message);
  kube_error_clear(&err);
  return c->stop_deadline_ms - now;
}

int64_t nd_ctr_stop(kube_node_agent_t *a, struct nd_pod *p, struct nd_ctr *c,
                    int64_t grace_s, const char *message) {
  if (!c->has_cur || !c->cur.id || c->cur.state != ND_RUNNING)
    return 0;
  int64_t now = nd_now_ms();
  if (!c->stop_id || !streq(c->stop_id, c->cur.id)) {
    free(c->stop_id);
    c->stop_id = strdup(c->cur.id);
    c->stop = ND_STOP_NONE;
  }
  if (grace_s < 0)
    grace_s = 0;
  /* a shorter grace period (a second DELETE) brings the kill forward */
  if (c->stop != ND_STOP_NONE && grace_s < c->stop_grace_s) {
    if (now + grace_s * 1000 < c->stop_deadline_ms)
      c->stop_deadline_ms = now + grace_s * 1000;
    c->stop_grace_s = grace_s;
  }
  switch (c->stop) {
  case ND_STOP_NONE: {
    if (message)
      nd_pod_event(a, p, "Normal", "Killing", c->name, "%s", message);
    else
      nd_pod_event(a, p, "Normal", "Killing", c->name, "Stopping container %s",
                   c->name);
    c->stop_grace_s = grace_s;
    c->stop_deadline_ms = now + grace_s * 1000;
    if (c->hook_cancel && c->post_start_running)
      __atomic_store_n(c->hook_cancel, 1, __ATOMIC_RELEASE);
    struct nd_handler h;
    if (grace_s > 0 && hook_of(p, c, "preStop", &h) &&
        hook_submit(a, p, c, HOOK_PRE_STOP, &h, grace_s * 1000) == 0) {
      c->stop = ND_STOP_PRESTOP;
      return grace_s * 1000;
    }
    return send_stop_signal(a, p, c, now);
  }
  case ND_STOP_PRESTOP:
    if (now < c->stop_deadline_ms)
      return c->stop_deadline_ms - now;
    /* the hook did not finish within the grace period */
    if (c->hook_cancel)
      __atomic_store_n(c->hook_cancel, 1, __ATOMIC_RELEASE);
    return send_stop_signal(a, p, c, now);
  case ND_STOP_PRESTOP_DONE:
    return send_stop_signal(a, p, c, now);
  case ND_STOP_SIGNALED:
    if (now < c->stop_deadline_ms)
      return c->stop_deadline_ms - now;
    c->stop = ND_STOP_KILLED;
    kube_error_t err = KUBE_ERROR_INIT;
    if (nd_ctr_signal(a, p, c, SIGKILL, true, &err) < 0)
      log_warn("pod %s/%s: kill %s: %s", p->ns, p->name, c->name, err.message);
    kube_error_clear(&err);
    return 0;
  case ND_STOP_KILLED:
    return 0;
  }
  return 0;
}
