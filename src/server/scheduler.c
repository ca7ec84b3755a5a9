/* SPDX-License-Identifier: Apache-2.0 */
/* The scheduler as a server component: kube_scheduler_loop over the
 * server's in-process transport and shared informers, running while this
 * server holds the Lease kube-system/kube-scheduler (when elected). */
#include <libkube/controller.h>
#include <libkube/kit.h>
#include <libkube/scheduler.h>

#include "server/internal.h"

struct sched_component {
  kube_scheduler_config_t config;
  kube_server_t *srv;
  kube_scheduler_loop_t *loop;
  bool leader_elect;
  kube_leader_elector_t *elector;
  kube_component_drained_fn drained;
  void *token;
};

void *srv_scheduler_new(const char *config_file, bool leader_elect,
                        kube_error_t *err) {
  struct sched_component *c = calloc(1, sizeof *c);
  if (!c) {
    kube_make_oom(err);
    return NULL;
  }
  c->leader_elect = leader_elect;
  kube_scheduler_config_init(&c->config);
  if (config_file &&
      kube_scheduler_config_load(&c->config, config_file, err) < 0) {
    kube_error_wrap(err, "scheduler config");
    free(c);
    return NULL;
  }
  return c;
}

static int loop_start(struct sched_component *c, kube_error_t *err) {
  kube_transport_t tp;
  kube_server_transport(c->srv, &tp);
  kube_scheduler_loop_options_t lo = {.struct_size = sizeof lo,
                                      .config = &c->config,
                                      .informers =
                                          kube_server_informers(c->srv, err)};
  if (!lo.informers)
    return kube_error_wrap(err, "scheduler");
  c->loop = kube_scheduler_loop_new(kube_server_loop(c->srv), &tp, &lo, err);
  if (!c->loop || kube_scheduler_loop_start(c->loop, err) < 0) {
    kube_scheduler_loop_free(c->loop);
    c->loop = NULL;
    return kube_error_wrap(err, "scheduler");
  }
  return 0;
}

static void started_leading(void *arg) {
  struct sched_component *c = arg;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (loop_start(c, &err) < 0)
    log_error("scheduler: %s", err.message);
}

static void stopped_leading(void *arg) {
  struct sched_component *c = arg;
  log_warn("scheduler: leaderelection lost, scheduling stops");
  kube_scheduler_loop_free(c->loop);
  c->loop = NULL;
}

static int sched_init(void *impl, kube_server_t *srv, kube_error_t *err) {
  struct sched_component *c = impl;
  c->srv = srv;
  if (!c->leader_elect)
    return 0;
  cleanup_free char *identity =
      srv_load_identity(kube_server_data_dir(srv), err);
  if (!identity)
    return kube_error_wrap(err, "scheduler");
  kube_transport_t tp;
  kube_server_transport(srv, &tp);
  tp.user_agent = CORE_USER_AGENT("kube-scheduler"); /* the Lease's writer */
  kube_leader_elector_options_t eo = {.struct_size = sizeof eo,
                                      .lease_name = "kube-scheduler",
                                      .identity = identity};
  kube_leader_elector_callbacks_t cb = {
      .struct_size = sizeof cb,
      .on_started_leading = started_leading,
      .on_stopped_leading = stopped_leading,
  };
  c->elector =
      kube_leader_elector_new(kube_server_loop(srv), &tp, &eo, &cb, c, err);
  return c->elector ? 0 : kube_error_wrap(err, "scheduler");
}

static int sched_start(void *impl, kube_error_t *err) {
  struct sched_component *c = impl;
  if (c->elector)
    return kube_leader_elector_start(c->elector, err) < 0
               ? kube_error_wrap(err, "scheduler")
               : 0;
  return loop_start(c, err);
}

static void released(void *arg) {
  struct sched_component *c = arg;
  kube_component_drained_fn d = c->drained;
  c->drained = NULL;
  if (d)
    d(c->token);
}

/* The loop's informers hold watches, which would keep the API server's
 * drain waiting: the scheduler ends them when it drains, and hands the
 * Lease back. */
static void sched_drain(void *impl, kube_component_drained_fn drained,
                        void *token) {
  struct sched_component *c = impl;
  kube_scheduler_loop_free(c->loop);
  c->loop = NULL;
  if (!c->elector) {
    drained(token);
    return;
  }
  c->drained = drained;
  c->token = token;
  kube_leader_elector_stop(c->elector, released, c);
}

void srv_scheduler_metrics(void *impl, kube_strbuf_t *out) {
  struct sched_component *c = impl;
  if (c->loop)
    kube_scheduler_loop_metrics_write(c->loop, out);
}

static void sched_free(void *impl) {
  struct sched_component *c = impl;
  kube_scheduler_loop_free(c->loop);
  kube_leader_elector_free(c->elector);
  free(c);
}

const kube_component_ops_t srv_scheduler_ops = {
    .version = KUBE_COMPONENT_OPS_VERSION,
    .name = "scheduler",
    .init = sched_init,
    .start = sched_start,
    .drain = sched_drain,
    .free = sched_free,
};
