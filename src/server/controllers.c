/* SPDX-License-Identifier: Apache-2.0 */
/* The controller manager as a server component: kube-controller-manager's
 * controllers over the server's in-process transport and shared informers,
 * behind the Lease kube-system/kube-controller-manager. */
#include <libkube/controller.h>
#include <libkube/kit.h>

#include "server/internal.h"

struct ctl_component {
  char *controllers;
  bool leader_elect;
  kube_controller_manager_t *m;
  kube_component_drained_fn drained;
  void *token;
};

void *srv_controllers_new(const char *controllers, bool leader_elect,
                          kube_error_t *err) {
  if (kube_controller_manager_check(controllers, err) < 0) {
    kube_error_wrap(err, "--controllers");
    return NULL;
  }
  struct ctl_component *c = calloc(1, sizeof *c);
  if (!c || (controllers && !(c->controllers = strdup(controllers)))) {
    free(c);
    kube_make_oom(err);
    return NULL;
  }
  c->leader_elect = leader_elect;
  return c;
}

static int ctl_init(void *impl, kube_server_t *srv, kube_error_t *err) {
  struct ctl_component *c = impl;
  kube_transport_t tp;
  kube_server_transport(srv, &tp);
  cleanup_free char *identity =
      c->leader_elect ? srv_load_identity(kube_server_data_dir(srv), err)
                      : NULL;
  if (c->leader_elect && !identity)
    return kube_error_wrap(err, "controller-manager");
  kube_controller_manager_options_t o = {
      .struct_size = sizeof o,
      .informers = kube_server_informers(srv, err),
      .controllers = c->controllers,
      .leader_elect = c->leader_elect,
      .leader_identity = identity,
  };
  if (!o.informers)
    return kube_error_wrap(err, "controller-manager");
  c->m = kube_controller_manager_new(kube_server_loop(srv), &tp, &o, err);
  return c->m ? 0 : kube_error_wrap(err, "controller-manager");
}

static int ctl_start(void *impl, kube_error_t *err) {
  struct ctl_component *c = impl;
  if (kube_controller_manager_start(c->m, err) < 0)
    return kube_error_wrap(err, "controller-manager");
  return 0;
}

static void released(void *arg) {
  struct ctl_component *c = arg;
  kube_component_drained_fn d = c->drained;
  c->drained = NULL;
  if (d)
    d(c->token);
}

/* Controllers hold watches and writes: they stop when the server drains,
 * and the Lease is released for the next server. */
static void ctl_drain(void *impl, kube_component_drained_fn drained,
                      void *token) {
  struct ctl_component *c = impl;
  c->drained = drained;
  c->token = token;
  kube_controller_manager_stop(c->m, released, c);
}

static void ctl_free(void *impl) {
  struct ctl_component *c = impl;
  kube_controller_manager_free(c->m);
  free(c->controllers);
  free(c);
}

const kube_component_ops_t srv_controllers_ops = {
    .version = KUBE_COMPONENT_OPS_VERSION,
    .name = "controller-manager",
    .init = ctl_init,
    .start = ctl_start,
    .drain = ctl_drain,
    .free = ctl_free,
};
