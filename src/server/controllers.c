/* SPDX-License-Identifier: Apache-2.0 */
/* The controller manager as a server component: kube-controller-manager's
 * controllers over the server's in-process transport and shared informers,
 * behind the Lease kube-system/kube-controller-manager. */
#include <libkube/controller.h>
#include <libkube/kit.h>

#include "server/internal.h"

struct ctl_component {
  char *controllers;
  char *cluster_cidr;
  bool leader_elect;
  int64_t grace_ms, hpa_sync_ms;
  int mask;
  kube_controller_manager_t *m;
  kube_component_drained_fn drained;
  void *token;
};

void *srv_controllers_new(const kube_server_options_t *o, kube_error_t *err) {
  if (kube_controller_manager_check(o->controllers, err) < 0) {
    kube_error_wrap(err, "--controllers");
    return NULL;
  }
  if (kube_controller_manager_check_cidr(o->cluster_cidr,
                                         o->node_cidr_mask_size, err) < 0)
    return NULL;
  if (o->node_monitor_grace_period_ms < 0) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "--node-monitor-grace-period must not be negative");
    return NULL;
  }
  struct ctl_component *c = calloc(1, sizeof *c);
  if (!c || (o->controllers && !(c->controllers = strdup(o->controllers))) ||
      (o->cluster_cidr && !(c->cluster_cidr = strdup(o->cluster_cidr)))) {
    if (c)
      free(c->controllers);
    free(c);
    kube_make_oom(err);
    return NULL;
  }
  c->leader_elect = !o->no_leader_elect;
  c->grace_ms = o->node_monitor_grace_period_ms;
  c->hpa_sync_ms = o->hpa_sync_period_ms;
  c->mask = o->node_cidr_mask_size;
  return c;
}

/* The cluster CA published as kube-root-ca.crt (DATA/ca.crt, which signs
 * the serving certificate).  NULL (nothing published) without TLS. */
static char *root_ca(kube_server_t *srv) {
  const char *cert = srv_ca_file(srv);
  FILE *f = cert ? fopen(cert, "re") : NULL;
  if (!f)
    return NULL;
  char *buf = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&buf, &len);
  char chunk[4096];
  size_t r;
  while (mem && (r = fread(chunk, 1, sizeof chunk, f)) > 0)
    fwrite(chunk, 1, r, mem);
  fclose(f);
  if (mem)
    fclose(mem);
  return buf;
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
  cleanup_free char *ca = root_ca(srv);
  /* The local-path provisioner's volumes live in DATA/storage. */
  cleanup_free char *storage = NULL;
  if (kube_server_data_dir(srv) &&
      asprintf(&storage, "%s/storage", kube_server_data_dir(srv)) < 0)
    return kube_make_oom(err);
  kube_controller_manager_options_t o = {
      .struct_size = sizeof o,
      .informers = kube_server_informers(srv, err),
      .controllers = c->controllers,
      .leader_elect = c->leader_elect,
      .leader_identity = identity,
      .node_monitor_grace_period_ms = c->grace_ms,
      .cluster_cidr = c->cluster_cidr,
      .node_cidr_mask_size = c->mask,
      .root_ca_pem = ca,
      .storage_dir = storage,
      .hpa_sync_period_ms = c->hpa_sync_ms,
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
  free(c->cluster_cidr);
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
