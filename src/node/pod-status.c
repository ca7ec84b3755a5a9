/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pod status as the kubelet reports it (phase from getPhase, conditions,
 * container statuses with state, lastState, restartCount, ids and images;
 * IPs; startTime; qosClass), written as a merge patch of pods/status only
 * when it differs from what the API holds.  One write per pod is in
 * flight; a change meanwhile is written after it.  A Conflict (the API
 * server answers one when a merge patch races another write) is retried:
 * the next attempt recomputes from the cache.
 */
#include "kube-config.h"
#include "node/agent.h"

static const char *const own_conditions[] = {
    "PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready"};

static bool ctr_ready(const struct nd_ctr *c) {
  return nd_ctr_ready(c); /* probe.c: running, started, readiness */
}

bool nd_ctr_restarting(const struct nd_pod *p, json_object *spec,
                       const struct nd_ctr *c) {
  if (c->kind == ND_EPHEMERAL || !c->has_cur || c->cur.state != ND_EXITED ||
      p->term != ND_TERM_NONE || !c->waiting_reason ||
      !(streq(c->waiting_reason, "CrashLoopBackOff") ||
        streq(c->waiting_reason, "RunContainerError")))
    return false;
  const char *policy = nd_restart_policy(spec);
  return c->kind == ND_SIDECAR || streq(policy, "Always") ||
         (streq(policy, "OnFailure") && c->cur.exit_code != 0);
}

const struct nd_instance *nd_ctr_last_terminated(const struct nd_pod *p,
                                                 json_object *spec,
                                                 const struct nd_ctr *c) {
  if (nd_ctr_restarting(p, spec, c))
    return &c->cur;
  return c->has_prev && c->prev.state == ND_EXITED ? &c->prev : NULL;
}

/* kubelet's getPhase. */
const char *nd_pod_phase(kube_node_agent_t *a, struct nd_pod *p,
                         json_object *spec) {
  if (p->rejected)
    return "Failed";
  const char *policy = nd_restart_policy(spec);
  bool terminal = p->term != ND_TERM_NONE;
  int pending_init = 0, failed_init = 0;
  int running = 0, waiting = 0, stopped = 0, succeeded = 0, n_app = 0;
  for (size_t i = 0; i < p->n_ctrs; i++) {
    const struct nd_ctr *c = &p->ctrs[i];
    bool has = c->has_cur;
    bool run = has && c->cur.state == ND_RUNNING;
    bool ex = has && c->cur.state == ND_EXITED;
    if (c->kind == ND_EPHEMERAL)
      continue; /* getPhase counts the pod's own containers */
    if (c->kind == ND_SIDECAR) {
      if (!run && !terminal)
        pending_init++;
      continue;
    }
    if (c->kind == ND_INIT) {
      if (ex && c->cur.exit_code == 0)
        continue;
      if (ex && (streq(policy, "Never") || terminal))
        failed_init++;
      else
        pending_init++;
      continue;
    }
    n_app++;
    if (run)
      running++;
    else if (!has)
      waiting++;
    else {
      stopped++;
      if (c->cur.exit_code == 0)
        succeeded++;
    }
  }
  if (failed_init)
    return "Failed";
  if (pending_init && !terminal)
    return "Pending";
  if (terminal && !running) {
    /* a pod stopped by its deletion ends by how its containers ended */
    return stopped && succeeded == stopped && !waiting ? "Succeeded" : "Failed";
  }
  if (waiting)
    return "Pending";
  if (running)
    return "Running";
  if (stopped && n_app) {
    if (streq(policy, "Always"))
      return "Running";
    if (succeeded == stopped)
      return "Succeeded";
    return streq(policy, "Never") ? "Failed" : "Running";
  }
  return "Pending";
}

static void add_str(json_object *o, const char *k, const char *v) {
  json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static void add_time(json_object *o, const char *k, const struct timespec *t) {
  char buf[40];
  add_str(o, k,
          t->tv_sec ? kube_time_format(t->tv_sec, buf, sizeof buf) : NULL);
}

static json_object *terminated(const struct nd_instance *in) {
  json_object *t = json_object_new_object();
  json_object_object_add(t, "exitCode", json_object_new_int(in->exit_code));
  if (in->signal)
    json_object_object_add(t, "signal", json_object_new_int(in->signal));
  add_str(t, "reason", in->reason ? in->reason : "Error");
  if (in->message && *in->message)
    add_str(t, "message", in->message);
  if (!in->started.tv_sec && in->reason && streq(in->reason, "StartError"))
    add_str(t, "startedAt", "1970-01-01T00:00:00Z"); /* as the kubelet */
  else
    add_time(t, "startedAt", &in->started);
  add_time(t, "finishedAt", &in->finished);
  if (in->id) {
    char id[128];
    snprintf(id, sizeof id, ND_RUNTIME_PREFIX "%s", in->id);
    add_str(t, "containerID", id);
  }
  return t;
}

/* The waiting reason of a container with no instance yet (the kubelet's
 * default state: an ephemeral container's is PodInitializing whenever the
 * pod has init containers). */
static const char *default_waiting(json_object *spec, const struct nd_ctr *c,
                                   bool initialized) {
  if (c->kind == ND_EPHEMERAL) {
    json_object *ics = kube_json_get(spec, "initContainers");
    return ics && json_object_array_length(ics) ? "PodInitializing"
                                                : "ContainerCreating";
  }
  return c->kind == ND_APP && !initialized ? "PodInitializing"
                                           : "ContainerCreating";
}

static json_object *ctr_status(kube_node_agent_t *a, struct nd_pod *p,
                               json_object *spec, const struct nd_ctr *c,
                               bool initialized) {
  json_object *ctr = nd_spec_container(spec, c->name, NULL);
  const char *image = ctr ? kube_json_get_string(ctr, "image") : NULL;
  json_object *s = json_object_new_object();
  add_str(s, "name", c->name);
  cleanup_free char *norm =
      image ? kube_image_ref_normalize(image, NULL) : NULL;
  add_str(s, "image", norm ? norm : image ? image : "");
  const struct nd_instance *in = c->has_cur ? &c->cur : NULL;
  add_str(s, "imageID",
          in && in->image_ref  ? in->image_ref
          : in && in->image_id ? in->image_id
                               : "");
  if (in && in->id) {
    char id[128];
    snprintf(id, sizeof id, ND_RUNTIME_PREFIX "%s", in->id);
    add_str(s, "containerID", id);
  }
  json_object *state = json_object_new_object();
  json_object *last = json_object_new_object();
  /* while postStart runs the container is still being created (the
   * kubelet's sync is blocked in the hook) */
  bool run = in && in->state == ND_RUNNING && !c->post_start_running;
  bool ex = in && in->state == ND_EXITED;
  bool restarting = ex && nd_ctr_restarting(p, spec, c);
  if (run) {
    json_object *r = json_object_new_object();
    add_time(r, "startedAt", &in->started);
    json_object_object_add(state, "running", r);
  } else if (ex && !restarting) {
    json_object_object_add(state, "terminated", terminated(in));
  } else {
    json_object *w = json_object_new_object();
    const char *reason = c->waiting_reason
                             ? c->waiting_reason
                             : default_waiting(spec, c, initialized);
    add_str(w, "reason", reason);
    if (c->waiting_message && *c->waiting_message)
      add_str(w, "message", c->waiting_message);
    json_object_object_add(state, "waiting", w);
  }
  const struct nd_instance *lt = nd_ctr_last_terminated(p, spec, c);
  if (lt)
    json_object_object_add(last, "terminated", terminated(lt));
  json_object_object_add(s, "state", state);
  json_object_object_add(s, "lastState", last);
  /* readiness is the prober's, which never looks at ephemeral ones */
  json_object_object_add(
      s, "ready",
      json_object_new_boolean(c->kind != ND_EPHEMERAL && ctr_ready(c)));
  json_object_object_add(s, "restartCount", json_object_new_int(c->restarts));
  /* the prober reports `started` of the pod's own containers only */
  if (c->kind != ND_EPHEMERAL)
    json_object_object_add(s, "started",
                           json_object_new_boolean(nd_ctr_started(c)));
  return s;
}

static json_object *condition(json_object *old_conds, const char *type, bool ok,
                              const char *reason, const char *msg,
                              const char *now) {
  const char *status = ok ? "True" : "False";
  const char *since = now;
  for (size_t i = 0; old_conds && i < json_object_array_length(old_conds);
       i++) {
    json_object *c = json_object_array_get_idx(old_conds, i);
    const char *t = kube_json_get_string(c, "type");
    const char *s = kube_json_get_string(c, "status");
    const char *ltt = kube_json_get_string(c, "lastTransitionTime");
    if (t && s && ltt && streq(t, type) && streq(s, status))
      since = ltt;
  }
  json_object *c = json_object_new_object();
  add_str(c, "type", type);
  add_str(c, "status", status);
  json_object_object_add(c, "lastProbeTime", NULL);
  add_str(c, "lastTransitionTime", since);
  if (reason)
    add_str(c, "reason", reason);
  if (msg)
    add_str(c, "message", msg);
  return c;
}

/* init: the init containers (sidecars done once started); else the
 * containers whose readiness counts for ContainersReady: the sidecars
 * (first, as the kubelet lists them) and the pod's containers. */
static char *names_of(const struct nd_pod *p, bool init, bool unready) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  bool any = false;
  kube_strbuf_printf(&sb, "[");
  for (size_t i = 0; i < p->n_ctrs; i++) {
    const struct nd_ctr *c = &p->ctrs[i];
    bool counted = c->kind != ND_EPHEMERAL &&
                   (init ? c->kind != ND_APP : c->kind != ND_INIT);
    if (!counted)
      continue;
    bool done = init ? (c->kind == ND_SIDECAR
                            ? nd_ctr_started(c)
                            : c->has_cur && c->cur.state == ND_EXITED &&
                                  c->cur.exit_code == 0)
                     : ctr_ready(c);
    if (unready && done)
      continue;
    kube_strbuf_printf(&sb, "%s%s", any ? " " : "", c->name);
    any = true;
  }
  kube_strbuf_printf(&sb, "]");
  if (!any) {
    kube_strbuf_clear(&sb);
    return NULL;
  }
  return kube_strbuf_steal(&sb);
}

static json_object *ips_array(char *const *ips, size_t n) {
  json_object *arr = json_object_new_array();
  for (size_t i = 0; i < n; i++) {
    json_object *o = json_object_new_object();
    add_str(o, "ip", ips[i]);
    json_object_array_add(arr, o);
  }
  return arr;
}

/* The status the kubelet owns (everything it writes). */
static json_object *compute(kube_node_agent_t *a, struct nd_pod *p,
                            const kube_object_t *pod) {
  json_object *spec = nd_spec(pod);
  json_object *old = kube_json_get(kube_object_json(pod), "status");
  json_object *old_conds = old ? kube_json_get(old, "conditions") : NULL;
  char now[40];
  kube_time_format(time(NULL), now, sizeof now);
  const char *phase = nd_pod_phase(a, p, spec);
  json_object *st = json_object_new_object();
  add_str(st, "phase", phase);
  if (p->rejected) {
    add_str(st, "reason", p->reject_reason);
    add_str(st, "message", p->reject_message);
  } else {
    /* clear what a rejection wrote (not expected to happen) */
    if (old && kube_json_get(old, "reason"))
      json_object_object_add(st, "reason", NULL);
    if (old && kube_json_get(old, "message"))
      json_object_object_add(st, "message", NULL);
  }
  bool succeeded = streq(phase, "Succeeded");
  bool initialized = true;
  for (size_t i = 0; i < p->n_ctrs; i++) {
    const struct nd_ctr *c = &p->ctrs[i];
    if (c->kind == ND_INIT &&
        !(c->has_cur && c->cur.state == ND_EXITED && c->cur.exit_code == 0))
      initialized = false;
    if (c->kind == ND_SIDECAR && !nd_ctr_started(c) &&
        p->term == ND_TERM_NONE && !p->finished)
      initialized = false;
  }
  /* sidecars' readiness counts too (GenerateContainersReadyCondition) */
  bool all_ready = !p->rejected && p->term == ND_TERM_NONE;
  for (size_t i = 0; i < p->n_ctrs; i++)
    if (p->ctrs[i].kind != ND_INIT && p->ctrs[i].kind != ND_EPHEMERAL &&
        !ctr_ready(&p->ctrs[i]))
      all_ready = false;
  /* conditions: ours, then the others as they were (PodScheduled, ...) */
  json_object *conds = json_object_new_array();
  for (size_t i = 0; old_conds && i < json_object_array_length(old_conds);
       i++) {
    json_object *c = json_object_array_get_idx(old_conds, i);
    const char *t = kube_json_get_string(c, "type");
    bool mine = false;
    for (size_t k = 0; t && k < ARRAY_SIZE(own_conditions); k++)
      mine = mine || streq(t, own_conditions[k]);
    if (!mine)
      json_object_array_add(conds, json_object_get(c));
  }
  nd_ev_pod_conditions(p, old_conds, conds, now); /* evicted */
  bool sandbox_ok = p->sandbox == ND_SB_READY;
  json_object_array_add(conds, condition(old_conds, "PodReadyToStartContainers",
                                         sandbox_ok, NULL, NULL, now));
  cleanup_free char *init_names = names_of(p, true, true);
  json_object_array_add(
      conds, condition(old_conds, "Initialized", initialized || succeeded,
                       succeeded     ? "PodCompleted"
                       : initialized ? NULL
                                     : "ContainersNotInitialized",
                       initialized || succeeded ? NULL : "", now));
  if (!initialized && !succeeded && init_names) {
    json_object *c =
        json_object_array_get_idx(conds, json_object_array_length(conds) - 1);
    char msg[1024];
    snprintf(msg, sizeof msg, "containers with incomplete status: %s",
             init_names);
    add_str(c, "message", msg);
  }
  cleanup_free char *unready = names_of(p, false, true);
  char msg[1024];
  snprintf(msg, sizeof msg, "containers with unready status: %s",
           unready ? unready : "[]");
  const char *why = succeeded ? "PodCompleted" : "ContainersNotReady";
  json_object_array_add(conds,
                        condition(old_conds, "ContainersReady", all_ready,
                                  all_ready ? NULL : why,
                                  all_ready || succeeded ? NULL : msg, now));
  json_object_array_add(
      conds, condition(old_conds, "Ready", all_ready, all_ready ? NULL : why,
                       all_ready || succeeded ? NULL : msg, now));
  json_object_object_add(st, "conditions", conds);
  if (a->cfg.node_ip) {
    add_str(st, "hostIP", a->cfg.node_ip);
    json_object_object_add(st, "hostIPs", ips_array(&a->cfg.node_ip, 1));
  }
  if (p->host_network && a->cfg.node_ip && p->sandbox == ND_SB_READY) {
    add_str(st, "podIP", a->cfg.node_ip);
    json_object_object_add(st, "podIPs", ips_array(&a->cfg.node_ip, 1));
  } else if (p->n_ips) {
    add_str(st, "podIP", p->ips[0]);
    json_object_object_add(st, "podIPs", ips_array(p->ips, p->n_ips));
  } else if (old && kube_json_get(old, "podIP") && p->term == ND_TERM_NONE &&
             !p->finished) {
    /* keep an address the API knows until the pod finishes */
  }
  if (p->start_time) {
    char buf[40];
    add_str(st, "startTime", kube_time_format(p->start_time, buf, sizeof buf));
  }
  json_object *ics = json_object_new_array(), *cs = json_object_new_array();
  json_object *ecs = json_object_new_array();
  for (size_t i = 0; i < p->n_ctrs; i++) {
    enum nd_kind k = p->ctrs[i].kind;
    json_object_array_add(k == ND_APP         ? cs
                          : k == ND_EPHEMERAL ? ecs
                                              : ics,
                          ctr_status(a, p, spec, &p->ctrs[i], initialized));
  }
  if (json_object_array_length(ics))
    json_object_object_add(st, "initContainerStatuses", ics);
  else
    json_object_put(ics);
  json_object_object_add(st, "containerStatuses", cs);
  if (json_object_array_length(ecs))
    json_object_object_add(st, "ephemeralContainerStatuses", ecs);
  else
    json_object_put(ecs);
  add_str(st, "qosClass", nd_qos_class(spec));
  return st;
}

/* True when every field of `mine` already holds in `old`. */
static bool same(json_object *mine, json_object *old) {
  if (!old)
    return false;
  json_object_object_foreach(mine, k, v) {
    json_object *o = NULL;
    bool has = json_object_object_get_ex(old, k, &o);
    if (!v) {
      if (has && o)
        return false;
      continue;
    }
    if (!has || !json_object_equal(v, o))
      return false;
  }
  return true;
}

static void status_written(const kube_object_t *res, const kube_error_t *err,
                           void *arg);

struct status_write {
  kube_node_agent_t *a;
  char *uid;
  char *text;
  bool finish; /* then delete the object */
};

static void send_status(kube_node_agent_t *a, struct nd_pod *p, json_object *st,
                        bool finish) {
  json_object *patch = json_object_new_object();
  json_object_object_add(patch, "status", st);
  struct status_write *w = calloc(1, sizeof *w);
  if (w) {
    w->a = a;
    w->uid = strdup(p->uid);
    w->text =
        strdup(json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN));
    w->finish = finish;
  }
  json_object_put(patch);
  if (!w || !w->uid || !w->text ||
      kube_writer_patch(a->writer, kube_kind_by_kind("v1", "Pod"), p->ns,
                        p->name, "status", KUBE_PATCH_MERGE, w->text, NULL,
                        status_written, w, NULL) < 0) {
    if (w) {
      free(w->uid);
      free(w->text);
      free(w);
    }
    nd_pod_enqueue(a, p, 1000);
    return;
  }
  p->status_inflight = true;
  p->status_dirty = false;
  a->stats.status_writes++;
  if (!p->t_running_sent && p->t_seen && kube_log_get_level() >= KUBE_LOG_DEBUG &&
      strstr(w->text, "\"phase\":\"Running\"")) {
    p->t_running_sent = nd_now_us();
    log_debug("pod %s: Running status sent %lldus after its first sync",
              p->uid, (long long)(p->t_running_sent - p->t_seen));
  }
}

struct del_arg {
  kube_node_agent_t *a;
  char *uid;
};

/* The object is gone (or another one took the name: the UID precondition
 * failed): the pod is done either way. */
static void deleted(const kube_object_t *res, const kube_error_t *err,
                    void *arg) {
  struct del_arg *d = arg;
  struct nd_pod *p = nd_pod_find(d->a, d->uid);
  if (p) {
    p->status_inflight = false;
    if (err && err->reason != KUBE_REASON_NOT_FOUND &&
        err->reason != KUBE_REASON_CONFLICT) {
      log_warn("pod %s/%s: delete failed: %s", p->ns, p->name, err->message);
      p->delete_sent = false;
      p->term = ND_TERM_TORN_DOWN; /* try again */
      nd_pod_enqueue(d->a, p, 1000);
    } else {
      p->term = ND_TERM_DONE;
      nd_pod_enqueue(d->a, p, 0);
    }
  }
  free(d->uid);
  free(d);
}

static void delete_object(kube_node_agent_t *a, struct nd_pod *p) {
  kube_client_write_options_t wo = {
      .struct_size = sizeof wo, .grace_period = 0, .precondition_uid = p->uid};
  struct del_arg *d = calloc(1, sizeof *d);
  if (d) {
    d->a = a;
    d->uid = strdup(p->uid);
  }
  if (!d || !d->uid ||
      kube_writer_delete(a->writer, kube_kind_by_kind("v1", "Pod"), p->ns,
                         p->name, &wo, deleted, d, NULL) < 0) {
    if (d)
      free(d->uid);
    free(d);
    p->term = ND_TERM_DONE;
    nd_pod_enqueue(a, p, 0);
    return;
  }
  p->status_inflight = true;
  p->delete_sent = true;
}

static void status_written(const kube_object_t *res, const kube_error_t *err,
                           void *arg) {
  struct status_write *w = arg;
  kube_node_agent_t *a = w->a;
  struct nd_pod *p = nd_pod_find(a, w->uid);
  if (p && p->t_running_sent > 0 && !err) {
    log_debug("pod %s: Running status written %lldus after sent", p->uid,
              (long long)(nd_now_us() - p->t_running_sent));
    p->t_running_sent = -1;
  }
  if (p) {
    p->status_inflight = false;
    if (!err) {
      free(p->status_sent);
      p->status_sent = steal_pointer(&w->text);
      if (w->finish) {
        const kube_object_t *pod = nd_pod_object(a, p);
        if (pod && kube_object_get_string(pod, "metadata.deletionTimestamp"))
          delete_object(a, p);
        else {
          p->term = ND_TERM_DONE;
          nd_pod_enqueue(a, p, 0);
        }
      } else if (p->status_dirty) {
        nd_pod_enqueue(a, p, 0);
      }
    } else if (err->reason == KUBE_REASON_NOT_FOUND) {
      /* the object is gone: nothing more to write */
      if (w->finish) {
        p->term = ND_TERM_DONE;
      }
      nd_pod_enqueue(a, p, 0);
    } else {
      if (err->reason == KUBE_REASON_CONFLICT)
        a->stats.status_conflicts++;
      else
        log_warn("pod %s/%s: status update failed: %s", p->ns, p->name,
                 err->message);
      /* retried: the next sync recomputes from the cache */
      free(p->status_sent);
      p->status_sent = NULL;
      p->status_dirty = true;
      nd_pod_enqueue(a, p, err->reason == KUBE_REASON_CONFLICT ? 20 : 1000);
    }
  }
  free(w->uid);
  free(w->text);
  free(w);
}

void nd_status_update(kube_node_agent_t *a, struct nd_pod *p) {
  const kube_object_t *pod = nd_pod_object(a, p);
  if (!pod)
    return;
  if (p->status_inflight) {
    p->status_dirty = true;
    return;
  }
  const kube_object_t *target = pod;
  if (p->is_static) {
    /* a static pod's status lives in its mirror pod; a mirror created
     * later (static.c) syncs the pod again */
    target = nd_static_mirror(a, p);
    if (!target)
      return;
  }
  json_object *st = compute(a, p, pod);
  json_object *old = kube_json_get(kube_object_json(target), "status");
  if (same(st, old)) {
    json_object_put(st);
    return;
  }
  /* the cache may still show the state before our last write */
  if (p->status_sent) {
    json_object *sent = json_tokener_parse(p->status_sent);
    json_object *sst = sent ? kube_json_get(sent, "status") : NULL;
    bool dup = sst && json_object_equal(st, sst);
    json_object_put(sent);
    if (dup) {
      json_object_put(st);
      return;
    }
  }
  send_status(a, p, st, false);
}

/* The final status, then the deletion of the object (deleted() ends it). */
void nd_status_finish(kube_node_agent_t *a, struct nd_pod *p) {
  if (p->status_inflight)
    return;
  const kube_object_t *pod = nd_pod_object(a, p);
  if (!pod) {
    p->term = ND_TERM_DONE;
    nd_pod_enqueue(a, p, 0);
    return;
  }
  send_status(a, p, compute(a, p, pod), true);
}
