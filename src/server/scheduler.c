/* SPDX-License-Identifier: Apache-2.0 */
/* The scheduler as a server component: kube_scheduler_loop over the
 * server's in-process transport and shared informers. */
#include <libkube/kit.h>
#include <libkube/scheduler.h>

#include "server/internal.h"

struct sched_component {
  kube_scheduler_config_t config;
  kube_server_t *srv;
  kube_scheduler_loop_t *loop;
};

void *srv_scheduler_new(const char *config_file, kube_error_t *err) {
  struct sched_component *c = calloc(1, sizeof *c);
  if (!c) {
    kube_make_oom(err);
    return NULL;
  }
  kube_scheduler_config_init(&c->config);
  if (config_file &&
      kube_scheduler_config_load(&c->config, config_file, err) < 0) {
    kube_error_wrap(err, "scheduler config");
    free(c);
    return NULL;
  }
  return c;
}

static int sched_init(void *impl, kube_server_t *srv, kube_error_t *err) {
  struct sched_component *c = impl;
  c->srv = srv;
  kube_transport_t tp;
  kube_server_transport(srv, &tp);
  kube_scheduler_loop_options_t lo = {.struct_size = sizeof lo,
                                      .config = &c->config,
                                      .informers =
                                          kube_server_informers(srv, err)};
  if (!lo.informers)
    return kube_error_wrap(err, "scheduler");
  c->loop = kube_scheduler_loop_new(kube_server_loop(srv), &tp, &lo, err);
  return c->loop ? 0 : kube_error_wrap(err, "scheduler");
}

static int sched_start(void *impl, kube_error_t *err) {
  struct sched_component *c = impl;
  if (kube_scheduler_loop_start(c->loop, err) < 0)
    return kube_error_wrap(err, "scheduler");
  return 0;
}

/* The loop's informers hold watches, which would keep the API server's
 * drain waiting: the scheduler ends them when it drains. */
static void sched_drain(void *impl, kube_component_drained_fn drained,
                        void *token) {
  struct sched_component *c = impl;
  kube_scheduler_loop_free(c->loop);
  c->loop = NULL;
  drained(token);
}

static void sched_free(void *impl) {
  struct sched_component *c = impl;
  kube_scheduler_loop_free(c->loop);
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
