/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The controller manager: kube-controller-manager's table of controllers
 * (names, aliases, on by default or not), the --controllers choice, the
 * shared informers and pod store the controllers use, and leader election
 * around them (controllers run only while the Lease is held).
 */
#include <unistd.h>

#include "controller/internal.h"

/* kube-controller-manager 1.32's controllers (names/controller_names.go),
 * with the short names it still accepts.  `ops` NULL: known, not built
 * (yet) by libkube; choosing it is not an error. */
struct ctl_def {
  const char *name;
  const char *alias;
  bool off_by_default;
  const struct ctl_impl_ops *ops;
};

static const struct ctl_def defs[] = {
    {"bootstrap-signer-controller", "bootstrapsigner", true, NULL},
    {"certificatesigningrequest-approving-controller", "csrapproving", false,
     NULL},
    {"certificatesigningrequest-cleaner-controller", "csrcleaner", false, NULL},
    {"certificatesigningrequest-signing-controller", "csrsigning", false, NULL},
    {"cloud-node-lifecycle-controller", "cloud-node-lifecycle", false, NULL},
    {"clusterrole-aggregation-controller", "clusterrole-aggregation", false,
     NULL},
    {"cronjob-controller", "cronjob", false, &api_cronjob_ops},
    {"daemonset-controller", "daemonset", false, &ctl_daemonset_ops},
    {"deployment-controller", "deployment", false, &ctl_deployment_ops},
    {"disruption-controller", "disruption", false, &ctl_disruption_ops},
    {"endpoints-controller", "endpoint", false, &ctl_endpoints_ops},
    {"endpointslice-controller", "endpointslice", false,
     &ctl_endpointslice_ops},
    {"endpointslice-mirroring-controller", "endpointslicemirroring", false,
     NULL},
    {"ephemeral-volume-controller", "ephemeral-volume", false, NULL},
    {"garbage-collector-controller", "garbagecollector", false, &ctl_gc_ops},
    {"horizontal-pod-autoscaler-controller", "horizontalpodautoscaling", false,
     &ctl_hpa_ops},
    {"job-controller", "job", false, &ctl_job_ops},
    {"legacy-serviceaccount-token-cleaner-controller",
     "legacy-service-account-token-cleaner", false, NULL},
    {"namespace-controller", "namespace", false, NULL},
    {"node-ipam-controller", "nodeipam", false, &ctl_nodeipam_ops},
    {"node-lifecycle-controller", "nodelifecycle", false,
     &ctl_nodelifecycle_ops},
    {"node-route-controller", "route", false, NULL},
    {"persistentvolume-attach-detach-controller", "attachdetach", false, NULL},
    {"persistentvolume-binder-controller", "persistentvolume-binder", false,
     &ctl_pvbinder_ops},
    {"persistentvolume-expander-controller", "persistentvolume-expander", false,
     NULL},
    {"persistentvolume-protection-controller", "pv-protection", false, NULL},
    {"persistentvolumeclaim-protection-controller", "pvc-protection", false,
     NULL},
    {"pod-garbage-collector-controller", "podgc", false, &ctl_podgc_ops},
    {"replicaset-controller", "replicaset", false, &ctl_replicaset_ops},
    {"replicationcontroller-controller", "replicationcontroller", false,
     &ctl_replication_ops},
    {"resourceclaim-controller", "resource-claim-controller", false, NULL},
    {"resourcequota-controller", "resourcequota", false, NULL},
    {"root-ca-certificate-publisher-controller", "root-ca-cert-publisher",
     false, &ctl_rootca_ops},
    {"service-cidr-controller", NULL, false, NULL},
    {"service-lb-controller", "service", false, NULL},
    {"serviceaccount-controller", "serviceaccount", false,
     &ctl_serviceaccount_ops},
    {"serviceaccount-token-controller", "serviceaccount-token", false, NULL},
    {"statefulset-controller", "statefulset", false, &ctl_statefulset_ops},
    {"storage-version-migrator-controller", NULL, false, NULL},
    {"storageversion-garbage-collector-controller", "storage-version-gc", false,
     NULL},
    {"taint-eviction-controller", NULL, false, &ctl_taint_eviction_ops},
    {"token-cleaner-controller", "tokencleaner", true, NULL},
    {"ttl-after-finished-controller", "ttl-after-finished", false, NULL},
    {"ttl-controller", "ttl", false, NULL},
    {"validatingadmissionpolicy-status-controller", NULL, false, NULL},
};
#define N_DEFS ARRAY_SIZE(defs)

struct running {
  const struct ctl_def *def;
  void *impl;
};

struct kube_controller_manager {
  kube_loop_t *loop;
  kube_transport_t tp;
  kube_informer_factory_t *factory;
  bool own_factory;
  struct ctl_podstore *pods;
  bool enabled[N_DEFS];
  const char *enabled_names[N_DEFS + 1];
  struct running run[N_DEFS];
  size_t n_run;
  bool running;
  unsigned workers;
  kube_leader_elector_t *elector;
  /* The options with defaults filled in; strings owned (below). */
  kube_controller_manager_options_t opts;
  char *cluster_cidr, *root_ca_pem, *storage_dir;
  void (*stop_done)(void *);
  void *stop_arg;
};

static int def_index(const char *name) {
  for (size_t i = 0; i < N_DEFS; i++)
    if (streq(defs[i].name, name) ||
        (defs[i].alias && streq(defs[i].alias, name)))
      return (int)i;
  return -1;
}

/* --controllers: "*" turns on the default set, "name" one, "-name" off
 * (an explicit name wins over "*", as in kube-controller-manager). */
static int parse_spec(const char *spec, bool *on, kube_error_t *err) {
  bool star = false, explicit_on[N_DEFS] = {0}, explicit_off[N_DEFS] = {0};
  cleanup_free char *copy = strdup(spec && *spec ? spec : "*");
  if (!copy)
    return kube_make_oom(err);
  char *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok;
       tok = strtok_r(NULL, ",", &save)) {
    while (*tok == ' ')
      tok++;
    size_t l = strlen(tok);
    while (l && tok[l - 1] == ' ')
      tok[--l] = '\0';
    if (!*tok)
      continue;
    if (streq(tok, "*")) {
      star = true;
      continue;
    }
    bool off = tok[0] == '-';
    int i = def_index(off ? tok + 1 : tok);
    if (i < 0)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "\"%s\" is not in the list of known controllers",
                            off ? tok + 1 : tok);
    if (off)
      explicit_off[i] = true;
    else
      explicit_on[i] = true;
  }
  for (size_t i = 0; i < N_DEFS; i++)
    on[i] = !explicit_off[i] &&
            (explicit_on[i] || (star && !defs[i].off_by_default));
  return 0;
}

KUBE_EXPORT int kube_controller_manager_check(const char *controllers,
                                              kube_error_t *err) {
  bool on[N_DEFS];
  return parse_spec(controllers, on, err);
}

KUBE_EXPORT int kube_controller_manager_check_cidr(const char *cluster_cidr,
                                                   int node_cidr_mask_size,
                                                   kube_error_t *err) {
  uint32_t base, n;
  return ctl_cidr_parse(cluster_cidr ? cluster_cidr : "10.42.0.0/16",
                        node_cidr_mask_size ? node_cidr_mask_size : 24, &base,
                        &n, err);
}

/* ---- what controllers use ---- */

kube_loop_t *ctl_manager_loop(kube_controller_manager_t *m) {
  return m->loop;
}
const kube_transport_t *ctl_manager_transport(kube_controller_manager_t *m) {
  return &m->tp;
}
kube_informer_factory_t *ctl_manager_informers(kube_controller_manager_t *m) {
  return m->factory;
}
unsigned ctl_manager_workers(kube_controller_manager_t *m) {
  return m->workers;
}
const kube_controller_manager_options_t *
ctl_manager_options(kube_controller_manager_t *m) {
  return &m->opts;
}

struct ctl_podstore *ctl_manager_pods(kube_controller_manager_t *m,
                                      kube_error_t *err) {
  if (!m->pods)
    m->pods = ctl_podstore_new(m->factory, err);
  return m->pods;
}

kube_informer_t *ctl_manager_informer(kube_controller_manager_t *m,
                                      const char *path, kube_error_t *err) {
  kube_informer_options_t io = {.struct_size = sizeof io, .path = path};
  return kube_informer_factory_informer(m->factory, &io, err);
}

/* ---- running the controllers ---- */

static void stop_controllers(kube_controller_manager_t *m) {
  for (size_t i = m->n_run; i-- > 0;)
    m->run[i].def->ops->free(m->run[i].impl);
  m->n_run = 0;
  /* The pod store goes with its listeners; a new term builds it again. */
  ctl_podstore_free(m->pods);
  m->pods = NULL;
  if (m->running)
    log_info("controller-manager: controllers stopped");
  m->running = false;
}

static int start_controllers(kube_controller_manager_t *m, kube_error_t *err) {
  for (size_t i = 0; i < N_DEFS; i++) {
    if (!m->enabled[i])
      continue;
    if (defs[i].ops == &ctl_rootca_ops && !m->opts.root_ca_pem) {
      log_info("controller-manager: no cluster CA, %s skipped", defs[i].name);
      continue;
    }
    if (!defs[i].ops) {
      log_debug("controller-manager: %s is not implemented, skipped",
                defs[i].name);
      continue;
    }
    void *impl = defs[i].ops->create(m, err);
    if (!impl) {
      kube_error_wrap(err, "%s", defs[i].name);
      goto fail;
    }
    m->run[m->n_run++] = (struct running){&defs[i], impl};
  }
  for (size_t i = 0; i < m->n_run; i++)
    if (m->run[i].def->ops->start(m->run[i].impl, err) < 0) {
      kube_error_wrap(err, "%s", m->run[i].def->name);
      goto fail;
    }
  /* Controllers created their informers; start those not running. */
  if (kube_informer_factory_start(m->factory, err) < 0)
    goto fail;
  m->running = true;
  log_info("controller-manager: %zu controllers started", m->n_run);
  return 0;
fail:
  stop_controllers(m);
  return -1;
}

static void on_started_leading(void *arg) {
  kube_controller_manager_t *m = arg;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (start_controllers(m, &err) < 0)
    log_error("controller-manager: cannot start the controllers: %s",
              err.message);
}

static void on_stopped_leading(void *arg) {
  kube_controller_manager_t *m = arg;
  log_warn("controller-manager: leaderelection lost");
  stop_controllers(m);
}

/* ---- public ---- */

KUBE_EXPORT kube_controller_manager_t *
kube_controller_manager_new(kube_loop_t *loop, const kube_transport_t *tp,
                            const kube_controller_manager_options_t *opts,
                            kube_error_t *err) {
  kube_controller_manager_options_t o = {0};
  if (opts)
    memcpy(&o, opts,
           opts->struct_size && opts->struct_size < sizeof o ? opts->struct_size
                                                             : sizeof o);
  if (!kube_loop_base(loop) || !tp || !tp->ops) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "the controller manager needs a loop and a transport");
    return NULL;
  }
  /* Requests go out as kube-controller-manager's (a caller's own User-Agent
   * wins). */
  kube_transport_t tp_ua = *tp;
  if (!tp_ua.user_agent)
    tp_ua.user_agent = CORE_USER_AGENT("kube-controller-manager");
  tp = &tp_ua;
  kube_controller_manager_t *m = calloc(1, sizeof *m);
  if (!m) {
    kube_make_oom(err);
    return NULL;
  }
  m->loop = loop;
  m->tp = *tp;
  m->workers = o.concurrent_syncs ? o.concurrent_syncs : 64;
  if (!o.node_monitor_grace_period_ms)
    o.node_monitor_grace_period_ms = 40000;
  if (!o.node_monitor_period_ms)
    o.node_monitor_period_ms = 5000;
  if (!o.cluster_cidr)
    o.cluster_cidr = "10.42.0.0/16";
  if (!o.node_cidr_mask_size)
    o.node_cidr_mask_size = 24;
  if ((o.cluster_cidr && !(m->cluster_cidr = strdup(o.cluster_cidr))) ||
      (o.root_ca_pem && !(m->root_ca_pem = strdup(o.root_ca_pem))) ||
      (o.storage_dir && !(m->storage_dir = strdup(o.storage_dir)))) {
    kube_make_oom(err);
    goto fail;
  }
  o.cluster_cidr = m->cluster_cidr;
  o.root_ca_pem = m->root_ca_pem;
  o.storage_dir = m->storage_dir;
  m->opts = o;
  m->opts.informers = NULL;
  m->opts.controllers = NULL;
  m->opts.leader_identity = m->opts.lease_namespace = m->opts.lease_name =
      m->opts.host = NULL;
  if (o.node_monitor_grace_period_ms < 0 || o.node_monitor_period_ms < 0) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "node monitor periods must not be negative");
    goto fail;
  }
  if (kube_controller_manager_check_cidr(o.cluster_cidr, o.node_cidr_mask_size,
                                         err) < 0)
    goto fail;
  if (parse_spec(o.controllers, m->enabled, err) < 0)
    goto fail;
  size_t n = 0;
  for (size_t i = 0; i < N_DEFS; i++)
    if (m->enabled[i])
      m->enabled_names[n++] = defs[i].name;
  m->factory = o.informers;
  if (!m->factory) {
    if (!(m->factory = kube_informer_factory_new(loop, tp, err)))
      goto fail;
    m->own_factory = true;
  }
  if (o.leader_elect) {
    kube_leader_elector_options_t eo = {
        .struct_size = sizeof eo,
        .lease_namespace = o.lease_namespace,
        .lease_name = o.lease_name ? o.lease_name : "kube-controller-manager",
        .identity = o.leader_identity,
        .lease_duration_ms = o.lease_duration_ms,
        .renew_deadline_ms = o.renew_deadline_ms,
        .retry_period_ms = o.retry_period_ms,
    };
    kube_leader_elector_callbacks_t cb = {
        .struct_size = sizeof cb,
        .on_started_leading = on_started_leading,
        .on_stopped_leading = on_stopped_leading,
    };
    if (!(m->elector = kube_leader_elector_new(loop, tp, &eo, &cb, m, err)))
      goto fail;
  }
  return m;
fail:
  kube_controller_manager_free(m);
  return NULL;
}

KUBE_EXPORT int kube_controller_manager_start(kube_controller_manager_t *m,
                                              kube_error_t *err) {
  if (m->elector)
    return kube_leader_elector_start(m->elector, err);
  return start_controllers(m, err);
}

KUBE_EXPORT void kube_controller_manager_stop(kube_controller_manager_t *m,
                                              void (*done)(void *), void *arg) {
  stop_controllers(m);
  if (m->elector) {
    kube_leader_elector_stop(m->elector, done, arg);
    return;
  }
  if (done)
    done(arg);
}

KUBE_EXPORT bool
kube_controller_manager_running(const kube_controller_manager_t *m) {
  return m->running;
}

KUBE_EXPORT kube_leader_elector_t *
kube_controller_manager_elector(kube_controller_manager_t *m) {
  return m->elector;
}

KUBE_EXPORT const char *const *
kube_controller_manager_enabled(const kube_controller_manager_t *m) {
  return m->enabled_names;
}

KUBE_EXPORT kube_controller_t *
kube_controller_manager_controller(kube_controller_manager_t *m,
                                   const char *name) {
  int d = def_index(name);
  for (size_t i = 0; d >= 0 && i < m->n_run; i++)
    if (m->run[i].def == &defs[d])
      return m->run[i].def->ops->controller(m->run[i].impl);
  return NULL;
}

KUBE_EXPORT void kube_controller_manager_free(kube_controller_manager_t *m) {
  if (!m)
    return;
  stop_controllers(m);
  kube_leader_elector_free(m->elector);
  if (m->own_factory)
    kube_informer_factory_free(m->factory);
  free(m->cluster_cidr);
  free(m->root_ca_pem);
  free(m->storage_dir);
  free(m);
}
