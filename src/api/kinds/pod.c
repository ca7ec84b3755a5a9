/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Pod kind (core/v1): columns and cells of the real API server's pod
 * printer, admission-time defaults, the Pending status of a new pod.  The
 * pod spec itself is validated in validate-pod.c and defaulted in
 * defaults.c (workloads share both).
 */
#include <inttypes.h>

#include "api/kinds/kind.h"

static const kube_kind_column_t pod_columns[] = {
    COL_NAME,
    COL("READY", "string",
        "The aggregate readiness state of this pod for accepting traffic."),
    COL("STATUS", "string",
        "The aggregate status of the containers in this pod."),
    COL("RESTARTS", "string",
        "The number of times the containers in this pod have been restarted "
        "and when the last container in this pod has restarted."),
    COL_AGE,
    COLW("IP", "string",
         "podIP address allocated to the pod. Routable at least within the "
         "cluster. Empty if not yet allocated."),
    COLW("NODE", "string",
         "NodeName indicates in which node this pod is scheduled."),
    COLW("NOMINATED NODE", "string",
         "nominatedNodeName is set only when this pod preempts other pods on "
         "the node, but it cannot be scheduled right away as preemption "
         "victims receive their graceful termination periods."),
    COLW("READINESS GATES", "string",
         "If specified, all readiness gates will be evaluated for pod "
         "readiness."),
    COL_END};

static const char *const sub_pods[] = {
    "attach", "binding", "ephemeralcontainers", "eviction",
    "exec",   "log",     "portforward",         "proxy",
    "status", NULL};

static const char *const sel_pods[] = {"spec.nodeName",
                                       "spec.restartPolicy",
                                       "spec.schedulerName",
                                       "spec.serviceAccountName",
                                       "spec.hostNetwork",
                                       "status.phase",
                                       "status.podIP",
                                       "status.podIPs",
                                       "status.nominatedNodeName",
                                       NULL};

static bool restartable_init(json_object *spec, const char *name) {
  json_object *ics = jget_arr(spec, "initContainers");
  for (size_t i = 0; i < jarr_len(ics); i++) {
    json_object *c = jarr_at(ics, i);
    if (streq(jget_str0(c, "name"), name ? name : ""))
      return streq(jget_str0(c, "restartPolicy"), "Always");
  }
  return false;
}

static void note_last_restart(json_object *cs, time_t *last) {
  json_object *term = jget_obj(jget_obj(cs, "lastState"), "terminated");
  time_t t;
  if (term && api_jget_time(term, "finishedAt", &t) && t > *last)
    *last = t;
}

static void pod_cells(json_object *cells, json_object *obj, time_t now) {
  json_object *spec = jget_obj(obj, "spec");
  json_object *status = jget_obj(obj, "status");
  int64_t restarts = 0, init_restarts = 0;
  size_t total = jarr_len(jget_arr(spec, "containers"));
  size_t ready = 0;
  time_t last_restart = 0, init_last_restart = 0;
  char buf[64];

  const char *phase = jget_str0(status, "phase");
  char reason[160];
  snprintf(reason, sizeof(reason), "%s", phase);
  if (jget_str(status, "reason") && *jget_str(status, "reason"))
    snprintf(reason, sizeof(reason), "%s", jget_str(status, "reason"));
  json_object *conds = jget_arr(status, "conditions");
  for (size_t i = 0; i < jarr_len(conds); i++) {
    json_object *c = jarr_at(conds, i);
    if (streq(jget_str0(c, "type"), "PodScheduled") &&
        streq(jget_str0(c, "reason"), "SchedulingGated"))
      snprintf(reason, sizeof(reason), "SchedulingGated");
  }

  json_object *ics = jget_arr(spec, "initContainers");
  for (size_t i = 0; i < jarr_len(ics); i++)
    if (streq(jget_str0(jarr_at(ics, i), "restartPolicy"), "Always"))
      total++;

  bool initializing = false;
  json_object *iss = jget_arr(status, "initContainerStatuses");
  for (size_t i = 0; i < jarr_len(iss); i++) {
    json_object *cs = jarr_at(iss, i);
    const char *cname = jget_str0(cs, "name");
    bool restartable = restartable_init(spec, cname);
    restarts += jget_int(cs, "restartCount", 0);
    note_last_restart(cs, &last_restart);
    if (restartable) {
      init_restarts += jget_int(cs, "restartCount", 0);
      note_last_restart(cs, &init_last_restart);
    }
    json_object *state = jget_obj(cs, "state");
    json_object *term = jget_obj(state, "terminated");
    json_object *wait = jget_obj(state, "waiting");
    if (term && jget_int(term, "exitCode", 0) == 0)
      continue;
    if (restartable && jget_bool(cs, "started", false)) {
      if (jget_bool(cs, "ready", false))
        ready++;
      continue;
    }
    if (term) {
      const char *r = jget_str0(term, "reason");
      if (!*r) {
        if (jget_int(term, "signal", 0) != 0)
          snprintf(reason, sizeof(reason), "Init:Signal:%" PRId64,
                   jget_int(term, "signal", 0));
        else
          snprintf(reason, sizeof(reason), "Init:ExitCode:%" PRId64,
                   jget_int(term, "exitCode", 0));
      } else {
        snprintf(reason, sizeof(reason), "Init:%s", r);
      }
    } else if (wait && *jget_str0(wait, "reason") &&
               !streq(jget_str0(wait, "reason"), "PodInitializing")) {
      snprintf(reason, sizeof(reason), "Init:%s", jget_str0(wait, "reason"));
    } else {
      snprintf(reason, sizeof(reason), "Init:%zu/%zu", i, jarr_len(ics));
    }
    initializing = true;
    break;
  }

  if (!initializing || api_condition_true(status, "Initialized")) {
    restarts = init_restarts;
    last_restart = init_last_restart;
    bool has_running = false;
    json_object *css = jget_arr(status, "containerStatuses");
    for (size_t n = jarr_len(css); n-- > 0;) {
      json_object *cs = jarr_at(css, n);
      restarts += jget_int(cs, "restartCount", 0);
      note_last_restart(cs, &last_restart);
      json_object *state = jget_obj(cs, "state");
      json_object *term = jget_obj(state, "terminated");
      json_object *wait = jget_obj(state, "waiting");
      if (wait && *jget_str0(wait, "reason")) {
        snprintf(reason, sizeof(reason), "%s", jget_str0(wait, "reason"));
      } else if (term && *jget_str0(term, "reason")) {
        snprintf(reason, sizeof(reason), "%s", jget_str0(term, "reason"));
      } else if (term) {
        if (jget_int(term, "signal", 0) != 0)
          snprintf(reason, sizeof(reason), "Signal:%" PRId64,
                   jget_int(term, "signal", 0));
        else
          snprintf(reason, sizeof(reason), "ExitCode:%" PRId64,
                   jget_int(term, "exitCode", 0));
      } else if (jget_bool(cs, "ready", false) && jget_obj(state, "running")) {
        has_running = true;
        ready++;
      }
    }
    if (streq(reason, "Completed") && has_running)
      snprintf(reason, sizeof(reason), "%s",
               api_condition_true(status, "Ready") ? "Running" : "NotReady");
  }

  if (api_has_deletion(obj) && streq(jget_str0(status, "reason"), "NodeLost"))
    snprintf(reason, sizeof(reason), "Unknown");
  else if (api_has_deletion(obj) && !streq(phase, "Succeeded") &&
           !streq(phase, "Failed"))
    snprintf(reason, sizeof(reason), "Terminating");

  api_cell_str(cells, api_name_of(obj));
  snprintf(buf, sizeof(buf), "%zu/%zu", ready, total);
  api_cell_str(cells, buf);
  api_cell_str(cells, reason);
  if (restarts != 0 && last_restart != 0) {
    char age[32];
    kube_time_age(last_restart, now, age, sizeof(age));
    snprintf(buf, sizeof(buf), "%" PRId64 " (%s ago)", restarts, age);
  } else {
    snprintf(buf, sizeof(buf), "%" PRId64, restarts);
  }
  api_cell_str(cells, buf);
  api_cell_age(cells, obj, now);

  const char *ip = NULL;
  json_object *ips = jget_arr(status, "podIPs");
  if (jarr_len(ips) > 0)
    ip = jget_str(jarr_at(ips, 0), "ip");
  if (!ip || !*ip)
    ip = jget_str(status, "podIP");
  const char *node = jget_str(spec, "nodeName");
  const char *nominated = jget_str(status, "nominatedNodeName");
  api_cell_str(cells, ip && *ip ? ip : "<none>");
  api_cell_str(cells, node && *node ? node : "<none>");
  api_cell_str(cells, nominated && *nominated ? nominated : "<none>");
  json_object *gates = jget_arr(spec, "readinessGates");
  if (jarr_len(gates) == 0) {
    api_cell_str(cells, "<none>");
  } else {
    size_t ok = 0;
    for (size_t i = 0; i < jarr_len(gates); i++) {
      const char *type = jget_str0(jarr_at(gates, i), "conditionType");
      for (size_t j = 0; j < jarr_len(conds); j++) {
        json_object *c = jarr_at(conds, j);
        if (streq(jget_str0(c, "type"), type)) {
          if (streq(jget_str0(c, "status"), "True"))
            ok++;
          break;
        }
      }
    }
    snprintf(buf, sizeof(buf), "%zu/%zu", ok, jarr_len(gates));
    api_cell_str(cells, buf);
  }
}

static void add_toleration(json_object *spec, const char *key) {
  json_object *tols = jget_arr(spec, "tolerations");
  for (size_t i = 0; i < jarr_len(tols); i++) {
    json_object *t = jarr_at(tols, i);
    const char *k = jget_str0(t, "key");
    const char *eff = jget_str0(t, "effect");
    if ((streq(k, key) || (!*k && streq(jget_str0(t, "operator"), "Exists"))) &&
        (!*eff || streq(eff, "NoExecute")))
      return; /* DefaultTolerationSeconds leaves user tolerations alone */
  }
  if (!tols) {
    tols = json_object_new_array();
    if (api_jset(spec, "tolerations", tols) < 0)
      return;
  }
  json_object *t = json_object_new_object();
  if (!t)
    return;
  api_jset(t, "key", jstr(key));
  api_jset(t, "operator", jstr("Exists"));
  api_jset(t, "effect", jstr("NoExecute"));
  api_jset(t, "tolerationSeconds", jint(300));
  if (json_object_array_add(tols, t) < 0)
    json_object_put(t);
}

/* A PodCondition's times are metav1.Time values, which kube-apiserver
 * always encodes (null when unset): a patch's null removes the key, the
 * typed round trip puts it back. */
static void condition_times(json_object *status) {
  json_object *conds = NULL;
  if (!json_object_object_get_ex(status, "conditions", &conds) ||
      !json_object_is_type(conds, json_type_array))
    return;
  for (size_t i = 0; i < json_object_array_length(conds); i++) {
    json_object *c = json_object_array_get_idx(conds, i);
    if (!json_object_is_type(c, json_type_object))
      continue;
    if (!json_object_object_get_ex(c, "lastProbeTime", NULL))
      json_object_object_add(c, "lastProbeTime", NULL);
    if (!json_object_object_get_ex(c, "lastTransitionTime", NULL))
      json_object_object_add(c, "lastTransitionTime", NULL);
  }
}

static void pod_defaults(json_object *obj) {
  json_object *spec = jget_obj(obj, "spec");
  if (!spec)
    return;
  api_default_pod_spec(spec);
  /* What admission does on a real cluster. */
  if (empty_str(spec, "serviceAccountName"))
    api_jset(spec, "serviceAccountName", jstr("default"));
  if (empty_str(spec, "serviceAccount"))
    api_jset(spec, "serviceAccount",
             jstr(jget_str0(spec, "serviceAccountName")));
  if (empty_str(spec, "priorityClassName"))
    api_jdefault(spec, "priority", jint(0));
  if (empty_str(spec, "preemptionPolicy"))
    api_jset(spec, "preemptionPolicy", jstr("PreemptLowerPriority"));
  add_toleration(spec, "node.kubernetes.io/not-ready");
  add_toleration(spec, "node.kubernetes.io/unreachable");
  json_object *status = api_jensure_obj(obj, "status");
  if (status) {
    if (empty_str(status, "phase"))
      api_jset(status, "phase", jstr("Pending"));
    if (empty_str(status, "qosClass"))
      api_jset(status, "qosClass", jstr(api_pod_qos_class(spec)));
    condition_times(status);
  }
}

/* ---- strategy ---------------------------------------------------------------
 */

static void cells(json_object *c, json_object *obj, time_t now,
                  const kube_kind_t *kind) {
  pod_cells(c, obj, now);
}

static void defaults(json_object *obj, const kube_kind_t *kind) {
  pod_defaults(obj);
}

static void validate(verrs_t *v, json_object *obj, json_object *old,
                     const kube_kind_t *k) {
  api_validate_pod(v, obj, old);
}

static void validate_ephemeral(verrs_t *v, json_object *obj, json_object *old,
                               const kube_kind_t *k) {
  api_validate_pod_ephemeral(v, obj, old);
}

/* What the registry's PrepareForCreate does: a new pod is Pending. */
static void prepare_create(json_object *obj, const kube_kind_t *kind) {
  json_object *st = api_jensure_obj(obj, "status");
  if (st && !jget_str(st, "phase"))
    api_jset(st, "phase", jstr("Pending"));
}

static const api_field_path_t field_paths[] = {
    {"spec.hostNetwork", NULL, "false"},
    {"status.podIPs", "status.podIPs.0.ip", NULL},
    {NULL, NULL, NULL},
};

static const struct kube_kind_strategy strategy = {
    .flags = API_KIND_GRACEFUL_DELETE,
    .type = &api_t_Pod,
    .validate = validate,
    .validate_ephemeral = validate_ephemeral,
    .defaults = defaults,
    .cells = cells,
    .prepare_create = prepare_create,
    .field_paths = field_paths,
};

const kube_kind_t api_kind_pod =
    KIND("", "v1", "Pod", "pods", "pod", true, NAMES("po"), api_verbs_all,
         api_categories_all, sub_pods, pod_columns, sel_pods, &strategy);
