/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Leader election on a coordination.k8s.io/v1 Lease, after client-go's
 * leaderelection package: tryAcquireOrRenew with its fast path for the
 * leader, lease validity measured on this candidate's clock from when it
 * last saw the record change, a renew deadline after which a leader that
 * could not renew stops leading, jittered retries, release on stop.
 *
 * One request at a time: a tick that finds one in flight waits for the
 * next.
 */
#include <stdlib.h>
#include <unistd.h>

#include "controller/internal.h"

#define LEASES_PATH "/apis/coordination.k8s.io/v1/namespaces/%s/leases"

struct record {
  char *holder;
  int64_t duration_s;
  char *acquire_time; /* MicroTime text, kept as the server had it */
  char *renew_time;
  int64_t transitions;
};

enum state { E_IDLE, E_CANDIDATE, E_LEADER, E_STOPPED };

struct kube_leader_elector {
  kube_loop_t *loop;
  kube_transport_t tp;
  kube_writer_t *w;
  kube_leader_elector_callbacks_t cb;
  void *arg;
  char *ns, *name, *identity;
  int64_t lease_ms, renew_ms, retry_ms;
  enum state state;
  bool busy;
  kube_timer_t *tick, *deadline;
  /* What this candidate last saw of the Lease. */
  struct record obs;
  char *obs_raw;       /* the spec's text, to notice changes */
  int64_t obs_time_ns; /* monotonic: when obs last changed */
  json_object *lease;  /* the last Lease object read or written */
  char *last_leader;   /* reported through on_new_leader */
  bool fast_path;      /* the current attempt is the leader's fast path */
  void (*stop_done)(void *);
  void *stop_arg;
};

static void record_clear(struct record *r) {
  free(r->holder);
  free(r->acquire_time);
  free(r->renew_time);
  memset(r, 0, sizeof *r);
}

static void record_from_spec(struct record *r, json_object *spec) {
  record_clear(r);
  r->holder = strdup(cj_str0(spec, "holderIdentity"));
  r->duration_s = cj_int(spec, "leaseDurationSeconds", 0);
  r->acquire_time = strdup(cj_str0(spec, "acquireTime"));
  r->renew_time = strdup(cj_str0(spec, "renewTime"));
  r->transitions = cj_int(spec, "leaseTransitions", 0);
}

static bool is_leader(const kube_leader_elector_t *e) {
  return e->obs.holder && streq(e->obs.holder, e->identity);
}

static bool lease_valid(const kube_leader_elector_t *e) {
  return e->obs_time_ns + e->obs.duration_s * 1000000000LL >
         kube_time_mono_ns();
}

static void set_observed(kube_leader_elector_t *e, json_object *spec) {
  const char *raw =
      json_object_to_json_string_ext(spec, JSON_C_TO_STRING_PLAIN);
  if (e->obs_raw && raw && streq(e->obs_raw, raw))
    return;
  free(e->obs_raw);
  e->obs_raw = raw ? strdup(raw) : NULL;
  record_from_spec(&e->obs, spec);
  e->obs_time_ns = kube_time_mono_ns();
  const char *holder = e->obs.holder ? e->obs.holder : "";
  if (!e->last_leader || !streq(e->last_leader, holder)) {
    free(e->last_leader);
    e->last_leader = strdup(holder);
    if (e->cb.on_new_leader && e->state != E_STOPPED)
      e->cb.on_new_leader(holder, e->arg);
  }
}

static char *micro_now(char *buf, size_t len) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return kube_time_format_micro(&ts, buf, len);
}

/* The spec this candidate writes. */
static json_object *new_spec(kube_leader_elector_t *e, const char *holder,
                             int64_t duration_s, const char *acquire,
                             int64_t transitions) {
  char now[40];
  micro_now(now, sizeof now);
  json_object *s = json_object_new_object();
  if (!s)
    return NULL;
  cj_set(s, "holderIdentity", json_object_new_string(holder));
  cj_set(s, "leaseDurationSeconds", json_object_new_int64(duration_s));
  cj_set(s, "acquireTime", json_object_new_string(acquire ? acquire : now));
  cj_set(s, "renewTime", json_object_new_string(now));
  cj_set(s, "leaseTransitions", json_object_new_int64(transitions));
  return s;
}

/* ---- state changes ---- */

static void schedule(kube_leader_elector_t *e, int64_t ms) {
  if (e->state != E_STOPPED)
    kube_timer_arm(e->tick, ms);
}

/* wait.JitterUntil with JitterFactor 1.2 while a candidate. */
static int64_t candidate_delay(kube_leader_elector_t *e) {
  return e->retry_ms + (int64_t)(e->retry_ms * 1.2 * drand48());
}

static void became_leader(kube_leader_elector_t *e) {
  e->state = E_LEADER;
  log_info("leaderelection: %s acquired lease %s/%s", e->identity, e->ns,
           e->name);
  if (e->cb.on_started_leading)
    e->cb.on_started_leading(e->arg);
}

static void lost_leadership(kube_leader_elector_t *e) {
  if (e->state != E_LEADER)
    return;
  e->state = E_CANDIDATE;
  kube_timer_disarm(e->deadline);
  log_warn("leaderelection: %s lost lease %s/%s", e->identity, e->ns, e->name);
  if (e->cb.on_stopped_leading)
    e->cb.on_stopped_leading(e->arg);
  schedule(e, candidate_delay(e));
}

/* A renew succeeded: the next must within retry + renew deadline. */
static void renewed(kube_leader_elector_t *e) {
  kube_timer_arm(e->deadline, e->retry_ms + e->renew_ms);
}

static void attempt_done(kube_leader_elector_t *e, bool ok) {
  e->busy = false;
  if (e->state == E_STOPPED)
    return;
  if (e->state == E_CANDIDATE) {
    if (ok && is_leader(e)) {
      renewed(e);
      became_leader(e);
      schedule(e, e->retry_ms);
    } else {
      schedule(e, candidate_delay(e));
    }
    return;
  }
  /* Leader: a failed renew is retried until the deadline timer fires. */
  if (ok && !is_leader(e)) {
    lost_leadership(e); /* someone else holds it now */
    return;
  }
  if (ok)
    renewed(e);
  schedule(e, e->retry_ms);
}

/* ---- requests ---- */

static void try_acquire(kube_leader_elector_t *e);

static int send(kube_leader_elector_t *e, const char *method, bool item,
                json_object *body, kube_writer_cb cb) {
  char path[512];
  int n = snprintf(path, sizeof path, LEASES_PATH "%s%s", e->ns,
                   item ? "/" : "", item ? e->name : "");
  if (n < 0 || (size_t)n >= sizeof path)
    return -1;
  const char *text =
      body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN)
           : NULL;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (kube_writer_send(e->w, method, path, NULL, text, text ? strlen(text) : 0,
                       cb, e, &err) < 0) {
    log_warn("leaderelection: %s %s: %s", method, path, err.message);
    return -1;
  }
  return 0;
}

static void keep_lease(kube_leader_elector_t *e, const kube_object_t *res) {
  json_object *o = res ? kube_object_json(res) : NULL;
  json_object *copy = o ? ctl_json_copy(o) : NULL;
  if (!copy)
    return;
  json_object_put(e->lease);
  e->lease = copy;
}

static void written(const kube_object_t *res, const kube_error_t *err,
                    void *arg) {
  kube_leader_elector_t *e = arg;
  if (err) {
    log_debug("leaderelection: writing lease %s/%s: %s", e->ns, e->name,
              err->message);
    if (e->fast_path) {
      /* Fall back to the slow path at once, as client-go does. */
      e->fast_path = false;
      try_acquire(e);
      return;
    }
    attempt_done(e, false);
    return;
  }
  keep_lease(e, res);
  set_observed(e, cj_obj(e->lease, "spec"));
  attempt_done(e, true);
}

/* Update the Lease we hold in e->lease with `spec` (stolen). */
static void update(kube_leader_elector_t *e, json_object *spec) {
  json_object *body = ctl_json_copy(e->lease);
  if (!body || !spec) {
    json_object_put(body);
    json_object_put(spec);
    attempt_done(e, false);
    return;
  }
  cj_set(body, "spec", spec);
  int rc = send(e, "PUT", true, body, written);
  json_object_put(body);
  if (rc < 0)
    attempt_done(e, false);
}

static void got(const kube_object_t *res, const kube_error_t *err, void *arg) {
  kube_leader_elector_t *e = arg;
  if (err && err->reason == KUBE_REASON_NOT_FOUND) {
    /* No Lease yet: create it, holding it. */
    json_object *body = json_object_new_object();
    json_object *meta = json_object_new_object();
    json_object *spec = new_spec(e, e->identity, e->lease_ms / 1000, NULL, 0);
    if (!body || !meta || !spec) {
      json_object_put(body);
      json_object_put(meta);
      json_object_put(spec);
      attempt_done(e, false);
      return;
    }
    cj_set(body, "apiVersion",
           json_object_new_string("coordination.k8s.io/v1"));
    cj_set(body, "kind", json_object_new_string("Lease"));
    cj_set(meta, "name", json_object_new_string(e->name));
    cj_set(meta, "namespace", json_object_new_string(e->ns));
    cj_set(body, "metadata", meta);
    cj_set(body, "spec", spec);
    int rc = send(e, "POST", false, body, written);
    json_object_put(body);
    if (rc < 0)
      attempt_done(e, false);
    return;
  }
  if (err || !res) {
    log_debug("leaderelection: reading lease %s/%s: %s", e->ns, e->name,
              err ? err->message : "no object");
    attempt_done(e, false);
    return;
  }
  keep_lease(e, res);
  json_object *spec = cj_obj(e->lease, "spec");
  if (!spec) {
    spec = json_object_new_object();
    cj_set(e->lease, "spec", spec);
  }
  set_observed(e, spec);
  if (e->obs.holder && *e->obs.holder && lease_valid(e) && !is_leader(e)) {
    attempt_done(e, true); /* held by someone else, not expired */
    return;
  }
  json_object *ns;
  if (is_leader(e))
    ns = new_spec(e, e->identity, e->lease_ms / 1000, e->obs.acquire_time,
                  e->obs.transitions);
  else
    ns = new_spec(e, e->identity, e->lease_ms / 1000, NULL,
                  e->obs.transitions + 1);
  update(e, ns);
}

static void try_acquire(kube_leader_elector_t *e) {
  if (e->fast_path) {
    json_object *spec = new_spec(e, e->identity, e->lease_ms / 1000,
                                 e->obs.acquire_time, e->obs.transitions);
    update(e, spec);
    return;
  }
  if (send(e, "GET", true, NULL, got) < 0)
    attempt_done(e, false);
}

static void on_tick(void *arg) {
  kube_leader_elector_t *e = arg;
  if (e->busy || e->state == E_STOPPED || e->state == E_IDLE)
    return;
  e->busy = true;
  /* 1. the leader's optimistic update of the record it last saw */
  e->fast_path = is_leader(e) && lease_valid(e) && e->lease;
  try_acquire(e);
}

static void on_deadline(void *arg) {
  kube_leader_elector_t *e = arg;
  if (e->state == E_LEADER) {
    log_warn("leaderelection: failed to renew lease %s/%s within %lld ms",
             e->ns, e->name, (long long)e->renew_ms);
    lost_leadership(e);
  }
}

/* ---- public ---- */

static char *default_identity(void) {
  char host[256] = "localhost", uuid[40];
  gethostname(host, sizeof host - 1);
  host[sizeof host - 1] = '\0';
  kube_uuid_generate(uuid, sizeof uuid);
  char *id = NULL;
  return asprintf(&id, "%s_%s", host, uuid) < 0 ? NULL : id;
}

KUBE_EXPORT kube_leader_elector_t *
kube_leader_elector_new(kube_loop_t *loop, const kube_transport_t *tp,
                        const kube_leader_elector_options_t *opts,
                        const kube_leader_elector_callbacks_t *cbs, void *arg,
                        kube_error_t *err) {
  kube_leader_elector_options_t o = {0};
  if (opts)
    memcpy(&o, opts,
           opts->struct_size && opts->struct_size < sizeof o ? opts->struct_size
                                                             : sizeof o);
  int64_t lease = o.lease_duration_ms > 0 ? o.lease_duration_ms : 15000;
  int64_t renew = o.renew_deadline_ms > 0 ? o.renew_deadline_ms : 10000;
  int64_t retry = o.retry_period_ms > 0 ? o.retry_period_ms : 2000;
  if (!o.lease_name || !*o.lease_name) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "leader election needs a lease name");
    return NULL;
  }
  /* client-go's NewLeaderElector checks. */
  if (lease <= renew || renew <= (int64_t)(1.2 * retry) || lease < 1000) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "leaseDuration must be greater than renewDeadline, and "
                   "renewDeadline must be greater than retryPeriod*1.2");
    return NULL;
  }
  kube_leader_elector_t *e = calloc(1, sizeof *e);
  if (!e) {
    kube_make_oom(err);
    return NULL;
  }
  e->loop = loop;
  e->tp = *tp;
  e->arg = arg;
  if (cbs)
    memcpy(&e->cb, cbs,
           cbs->struct_size && cbs->struct_size < sizeof e->cb
               ? cbs->struct_size
               : sizeof e->cb);
  e->lease_ms = lease;
  e->renew_ms = renew;
  e->retry_ms = retry;
  e->ns = strdup(o.lease_namespace ? o.lease_namespace : "kube-system");
  e->name = strdup(o.lease_name);
  e->identity = o.identity ? strdup(o.identity) : default_identity();
  if (!e->ns || !e->name || !e->identity ||
      !(e->w = kube_writer_new(loop, tp, err)) ||
      !(e->tick = kube_timer_new(loop, on_tick, e, err)) ||
      !(e->deadline = kube_timer_new(loop, on_deadline, e, err))) {
    if (!kube_error_is_set(err))
      kube_make_oom(err);
    kube_leader_elector_free(e);
    return NULL;
  }
  srand48(kube_time_mono_ns() ^ (long)getpid());
  return e;
}

KUBE_EXPORT int kube_leader_elector_start(kube_leader_elector_t *e,
                                          kube_error_t *err) {
  if (e->state != E_IDLE)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "the elector was started already");
  e->state = E_CANDIDATE;
  kube_timer_arm(e->tick, 0);
  return 0;
}

static void released(const kube_object_t *res, const kube_error_t *err,
                     void *arg) {
  kube_leader_elector_t *e = arg;
  if (err)
    log_warn("leaderelection: failed to release lease %s/%s: %s", e->ns,
             e->name, err->message);
  else
    log_info("leaderelection: released lease %s/%s", e->ns, e->name);
  void (*done)(void *) = e->stop_done;
  e->stop_done = NULL;
  if (done)
    done(e->stop_arg);
}

KUBE_EXPORT void kube_leader_elector_stop(kube_leader_elector_t *e,
                                          void (*done)(void *), void *arg) {
  bool leading = e->state == E_LEADER && is_leader(e) && e->lease;
  e->state = E_STOPPED;
  kube_timer_disarm(e->tick);
  kube_timer_disarm(e->deadline);
  /* Drop a request in flight: its callback must not act any more. */
  kube_writer_free(e->w);
  e->w = NULL;
  e->busy = false;
  if (!leading) {
    if (done)
      done(arg);
    return;
  }
  /* release(): holderIdentity "", leaseDurationSeconds 1, so the next
   * candidate takes the Lease at its next try. */
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  json_object *body = ctl_json_copy(e->lease);
  json_object *spec = new_spec(e, "", 1, NULL, e->obs.transitions);
  e->stop_done = done;
  e->stop_arg = arg;
  if (body && spec && (e->w = kube_writer_new(e->loop, &e->tp, &err))) {
    cj_set(body, "spec", spec);
    spec = NULL;
    if (send(e, "PUT", true, body, released) == 0) {
      json_object_put(body);
      return;
    }
  }
  json_object_put(body);
  json_object_put(spec);
  e->stop_done = NULL;
  log_warn("leaderelection: cannot release lease %s/%s", e->ns, e->name);
  if (done)
    done(arg);
}

KUBE_EXPORT bool kube_leader_elector_is_leader(const kube_leader_elector_t *e) {
  return e->state == E_LEADER;
}

KUBE_EXPORT const char *
kube_leader_elector_leader(const kube_leader_elector_t *e) {
  return e->obs.holder ? e->obs.holder : "";
}

KUBE_EXPORT const char *
kube_leader_elector_identity(const kube_leader_elector_t *e) {
  return e->identity;
}

KUBE_EXPORT void kube_leader_elector_free(kube_leader_elector_t *e) {
  if (!e)
    return;
  kube_writer_free(e->w);
  kube_timer_free(e->tick);
  kube_timer_free(e->deadline);
  record_clear(&e->obs);
  free(e->obs_raw);
  json_object_put(e->lease);
  free(e->last_leader);
  free(e->ns);
  free(e->name);
  free(e->identity);
  free(e);
}
