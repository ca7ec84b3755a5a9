/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Node-pressure eviction (the kubelet's eviction manager): every 10 s a
 * worker observes the signals and the usage of the pods; on the loop the
 * thresholds met (hard at once, soft after their grace period, both held
 * until minimum reclaim is met) set the pressure conditions, which stay
 * on for the pressure transition period after the last observation, and
 * one pod is evicted per interval (disk: unused images first).  An
 * evicted pod's containers are stopped and its status is phase Failed,
 * reason Evicted, with the kubelet's message; an Evicted event.
 */
#include <ftw.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>

#include "node/agent.h"
#include "node/internal.h"
#include "node/eviction.h"

#define EV_INTERVAL_MS 10000
#define HARD_GRACE_S 1 /* immediateEvictionGracePeriodSeconds */

enum { P_MEMORY = 0, P_DISK, P_PID, P__COUNT };

static const struct {
  const char *type, *reason_on, *msg_on, *reason_off, *msg_off, *ev_on,
      *ev_off;
} conds[P__COUNT] = {
    {"MemoryPressure", "KubeletHasInsufficientMemory",
     "kubelet has insufficient memory available", "KubeletHasSufficientMemory",
     "kubelet has sufficient memory available", "NodeHasInsufficientMemory",
     "NodeHasSufficientMemory"},
    {"DiskPressure", "KubeletHasDiskPressure", "kubelet has disk pressure",
     "KubeletHasNoDiskPressure", "kubelet has no disk pressure",
     "NodeHasDiskPressure", "NodeHasNoDiskPressure"},
    {"PIDPressure", "KubeletHasInsufficientPID",
     "kubelet has insufficient PID available", "KubeletHasSufficientPID",
     "kubelet has sufficient PID available", "NodeHasInsufficientPID",
     "NodeHasSufficientPID"},
};

static int pressure_of(enum nd_ev_signal s) {
  return s == ND_EV_MEMORY ? P_MEMORY : s == ND_EV_PID ? P_PID : P_DISK;
}

struct ev_ctr {
  char *name, *id;
  int64_t mem_req, disk_req;
  int64_t mem_use; /* working set */
};

struct ev_pod {
  char *uid, *dir, *log_dir, *cgroup;
  int32_t priority;
  int64_t grace_s;
  struct ev_ctr *ctrs;
  size_t n_ctrs;
  int64_t disk_use, pids;
};

struct ev_obs {
  int64_t avail[ND_EV__COUNT], cap[ND_EV__COUNT];
  bool have[ND_EV__COUNT];
  struct ev_pod *pods;
  size_t n_pods;
  bool reclaim_images; /* disk: prune unused images first */
  int64_t reclaimed;
};

struct nd_ev_state {
  struct nd_ev_config cfg;
  kube_timer_t *timer;
  bool running;
  int64_t soft_since[ND_EV__COUNT]; /* soft: first observed (0: not) */
  bool met[ND_EV__COUNT];           /* last decision, for min reclaim */
  bool pressure[P__COUNT];
  int64_t last_seen_ms[P__COUNT];
  time_t changed[P__COUNT];
  bool disk_reclaim_next;
};

/* ---- observation (worker) ---------------------------------------------- */

static int64_t meminfo(const char *key) {
  FILE *f = fopen("/proc/meminfo", "re");
  if (!f)
    return -1;
  char line[256];
  long long kb = -1;
  size_t n = strlen(key);
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, key, n) && line[n] == ':') {
      sscanf(line + n + 1, "%lld", &kb);
      break;
    }
  fclose(f);
  return kb < 0 ? -1 : (int64_t)kb * 1024;
}

/* The root cgroup's working set (usage - inactive_file), as cAdvisor
 * gives the kubelet; cgroup v1 memory controller, else v2's memory.stat
 * (anon + file - inactive_file), else MemTotal - MemAvailable. */
static int64_t root_working_set(int64_t total) {
  cleanup_free char *usage =
      core_read_file("/sys/fs/cgroup/memory/memory.usage_in_bytes", NULL);
  cleanup_free char *stat =
      core_read_file("/sys/fs/cgroup/memory/memory.stat", NULL);
  if (usage && stat) {
    long long u = atoll(usage), inactive = 0;
    char *p = strstr(stat, "total_inactive_file ");
    if (p)
      inactive = atoll(p + 20);
    long long ws = u - inactive;
    return ws < 0 ? 0 : ws;
  }
  int64_t avail = meminfo("MemAvailable");
  return avail < 0 ? 0 : total - avail;
}

static void fs_signals(struct ev_obs *o, const char *path, int bytes_sig,
                       int inodes_sig) {
  struct statvfs sv;
  if (statvfs(path, &sv) < 0)
    return;
  o->avail[bytes_sig] = (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
  o->cap[bytes_sig] = (int64_t)sv.f_blocks * (int64_t)sv.f_frsize;
  o->have[bytes_sig] = true;
  if (sv.f_files > 0) {
    o->avail[inodes_sig] = (int64_t)sv.f_ffree;
    o->cap[inodes_sig] = (int64_t)sv.f_files;
    o->have[inodes_sig] = true;
  }
}

static __thread int64_t du_total;
static int du_fn(const char *path, const struct stat *st, int flag,
                 struct FTW *ftw) {
  (void)path, (void)flag, (void)ftw;
  du_total += (int64_t)st->st_blocks * 512;
  return 0;
}
static int64_t du(const char *path) {
  du_total = 0;
  if (path)
    nftw(path, du_fn, 16, FTW_PHYS | FTW_MOUNT);
  return du_total;
}

static void observe_work(nd_job_t *j, kube_runtime_t *rt) {
  struct ev_obs *o = j->data;
  kube_node_agent_t *a = j->a;
  /* disk pressure: reclaim first (unused images), then measure */
  if (o->reclaim_images && a->images) {
    kube_image_prune_options_t po = {.struct_size = sizeof po, .all = true};
    kube_image_prune_result_t res = {0};
    if (kube_image_prune(a->images, &po, &res, NULL) == 0)
      o->reclaimed = res.bytes_freed;
  }
  int64_t total = meminfo("MemTotal");
  if (total > 0) {
    o->cap[ND_EV_MEMORY] = total;
    o->avail[ND_EV_MEMORY] = total - root_working_set(total);
    o->have[ND_EV_MEMORY] = true;
  }
  fs_signals(o, a->cfg.data_dir, ND_EV_NODEFS, ND_EV_NODEFS_INODES);
  cleanup_free char *images = NULL;
  if (asprintf(&images, "%s/images", a->cfg.data_dir) < 0)
    images = NULL;
  if (images && access(images, F_OK) == 0)
    fs_signals(o, images, ND_EV_IMAGEFS, ND_EV_IMAGEFS_INODES);
  else
    fs_signals(o, a->cfg.data_dir, ND_EV_IMAGEFS, ND_EV_IMAGEFS_INODES);
  cleanup_free char *pid_max = core_read_file("/proc/sys/kernel/pid_max", NULL);
  cleanup_free char *thr_max =
      core_read_file("/proc/sys/kernel/threads-max", NULL);
  struct sysinfo si;
  if (pid_max && sysinfo(&si) == 0) {
    int64_t cap = atoll(pid_max);
    if (thr_max && atoll(thr_max) < cap)
      cap = atoll(thr_max);
    o->cap[ND_EV_PID] = cap;
    o->avail[ND_EV_PID] = cap - si.procs;
    o->have[ND_EV_PID] = true;
  }
  for (size_t i = 0; i < o->n_pods; i++) {
    struct ev_pod *p = &o->pods[i];
    for (size_t k = 0; rt && k < p->n_ctrs; k++) {
      kube_rt_stats_t st;
      if (p->ctrs[k].id && kube_runtime_stats(rt, p->ctrs[k].id, &st, NULL) == 0)
        p->ctrs[k].mem_use = (int64_t)st.memory_working_set_bytes;
    }
    p->disk_use = du(p->dir) + du(p->log_dir);
    kube_rt_stats_t ps;
    if (rt && p->cgroup &&
        kube_runtime_pod_cgroup_stats(rt, p->cgroup, &ps, NULL) == 0)
      p->pids = (int64_t)ps.pids_current;
  }
}

static void obs_free(nd_job_t *j) {
  struct ev_obs *o = j->data;
  for (size_t i = 0; i < o->n_pods; i++) {
    struct ev_pod *p = &o->pods[i];
    free(p->uid);
    free(p->dir);
    free(p->log_dir);
    free(p->cgroup);
    for (size_t k = 0; k < p->n_ctrs; k++) {
      free(p->ctrs[k].name);
      free(p->ctrs[k].id);
    }
    free(p->ctrs);
  }
  free(o->pods);
  free(o);
}

/* ---- decisions (loop) --------------------------------------------------- */

/* A signal's value as the kubelet prints it: bytes BinarySI, counts
 * (inodes, pids) DecimalSI. */
static char *fmt_value(enum nd_ev_signal s, int64_t v, char *buf, size_t len) {
  bool count = s == ND_EV_PID || s == ND_EV_NODEFS_INODES ||
               s == ND_EV_IMAGEFS_INODES;
  kube_quantity_t q = {.nano = (__int128)v * 1000000000,
                       .format = count ? KUBE_QUANTITY_DECIMAL_SI
                                       : KUBE_QUANTITY_BINARY_SI};
  return kube_quantity_format(&q, buf, len);
}

static const char *resource_of(enum nd_ev_signal s) {
  return s == ND_EV_MEMORY ? "memory"
         : s == ND_EV_PID  ? "pids"
         : s == ND_EV_NODEFS_INODES || s == ND_EV_IMAGEFS_INODES
             ? "inodes"
             : "ephemeral-storage";
}

static void evict(kube_node_agent_t *a, struct ev_obs *o, enum nd_ev_signal s,
                  int64_t threshold, bool soft) {
  size_t n = 0;
  struct nd_ev_candidate *v = calloc(o->n_pods ? o->n_pods : 1, sizeof *v);
  if (!v)
    return;
  for (size_t i = 0; i < o->n_pods; i++) {
    struct ev_pod *p = &o->pods[i];
    if (nd_ev_critical(p->priority))
      continue; /* the kubelet never evicts a critical pod */
    struct nd_ev_candidate *c = &v[n++];
    c->idx = i;
    c->priority = p->priority;
    for (size_t k = 0; k < p->n_ctrs; k++) {
      if (s == ND_EV_MEMORY) {
        c->usage += p->ctrs[k].mem_use;
        c->request += p->ctrs[k].mem_req;
      } else if (s != ND_EV_PID) {
        c->request += p->ctrs[k].disk_req;
      }
    }
    if (s == ND_EV_PID)
      c->usage = p->pids;
    else if (s != ND_EV_MEMORY)
      c->usage = p->disk_use;
  }
  nd_ev_rank(v, n);
  for (size_t r = 0; r < n; r++) {
    struct ev_pod *ep = &o->pods[v[r].idx];
    struct nd_pod *p = nd_pod_find(a, ep->uid);
    if (!p || p->rejected || p->finished || p->term != ND_TERM_NONE)
      continue;
    char q[64], av[64];
    cleanup_free char *msg = NULL;
    const char *res = resource_of(s);
    if (asprintf(&msg,
                 "The node was low on resource: %s. Threshold quantity: %s, "
                 "available: %s. ",
                 res, fmt_value(s, threshold, q, sizeof q),
                 fmt_value(s, o->avail[s], av, sizeof av)) < 0)
      break;
    for (size_t k = 0; s == ND_EV_MEMORY && k < ep->n_ctrs; k++) {
      struct ev_ctr *c = &ep->ctrs[k];
      if (c->mem_use <= c->mem_req)
        continue;
      char u[64], rq[64];
      char *more = NULL;
      if (asprintf(&more,
                   "%sContainer %s was using %s, request is %s, has larger "
                   "consumption of %s. ",
                   msg, c->name, fmt_value(s, c->mem_use, u, sizeof u),
                   fmt_value(s, c->mem_req, rq, sizeof rq), res) < 0)
        break;
      free(msg);
      msg = more;
    }
    log_warn("node %s: evicting pod %s/%s: %s", a->cfg.node_name, p->ns,
             p->name, msg);
    p->rejected = true;
    p->admitted = true;
    p->finished = true;
    free(p->reject_reason);
    p->reject_reason = strdup("Evicted");
    free(p->reject_message);
    p->reject_message = strdup(msg);
    int64_t grace = soft ? ep->grace_s : HARD_GRACE_S;
    p->term_grace_s = grace;
    nd_pod_event(a, p, "Warning", "Evicted", NULL, "%s", msg);
    nd_pod_enqueue(a, p, 0);
    break;
  }
  free(v);
}

static void arm(kube_node_agent_t *a) {
  if (a->ev && a->ev->timer && !a->draining)
    kube_timer_arm(a->ev->timer, EV_INTERVAL_MS);
}

static void observe_done(nd_job_t *j) {
  kube_node_agent_t *a = j->a;
  struct nd_ev_state *ev = a->ev;
  struct ev_obs *o = j->data;
  if (!ev)
    return;
  ev->running = false;
  if (a->draining || !ev->timer)
    return; /* draining or being freed: decide nothing */
  int64_t now = nd_now_ms();
  bool any_met = false, changed = false;
  enum nd_ev_signal first = ND_EV__COUNT;
  bool first_soft = false;
  int64_t first_value = 0;
  bool seen[P__COUNT] = {0};
  for (int s = 0; s < ND_EV__COUNT; s++) {
    if (!o->have[s])
      continue;
    const struct nd_ev_threshold *h = &ev->cfg.hard[s], *so = &ev->cfg.soft[s];
    int64_t reclaim = ev->met[s] ? nd_ev_threshold_value(
                                       &ev->cfg.min_reclaim[s], o->cap[s])
                                 : 0;
    bool hard_met = false, soft_met = false;
    int64_t hv = 0, sv = 0;
    if (h->set) {
      hv = nd_ev_threshold_value(h, o->cap[s]);
      hard_met = o->avail[s] < hv + reclaim;
    }
    if (so->set) {
      sv = nd_ev_threshold_value(so, o->cap[s]);
      if (o->avail[s] < sv + reclaim) {
        if (!ev->soft_since[s])
          ev->soft_since[s] = now;
        soft_met = now - ev->soft_since[s] >= so->grace_ms;
        seen[pressure_of(s)] = true; /* observed, grace or not */
      } else {
        ev->soft_since[s] = 0;
      }
    }
    ev->met[s] = hard_met || soft_met;
    if (hard_met)
      seen[pressure_of(s)] = true;
    if (ev->met[s] && first == ND_EV__COUNT) {
      first = s;
      first_soft = !hard_met;
      first_value = hard_met ? hv : sv;
    }
    any_met |= ev->met[s];
  }
  for (int p = 0; p < P__COUNT; p++) {
    if (seen[p])
      ev->last_seen_ms[p] = now;
    bool on = seen[p] || (ev->last_seen_ms[p] &&
                          now - ev->last_seen_ms[p] < ev->cfg.transition_ms);
    if (on != ev->pressure[p]) {
      ev->pressure[p] = on;
      ev->changed[p] = time(NULL);
      changed = true;
      char msg[256];
      snprintf(msg, sizeof msg, "Node %s status is now: %s", a->cfg.node_name,
               on ? conds[p].ev_on : conds[p].ev_off);
      kube_event_ref_t ref = {.kind = "Node",
                              .api_version = "v1",
                              .name = a->cfg.node_name,
                              .uid = a->cfg.node_name};
      kube_event_recorder_record(a->recorder, &ref, "Normal",
                                 on ? conds[p].ev_on : conds[p].ev_off, NULL,
                                 msg);
      log_info("node %s: %s %s", a->cfg.node_name, conds[p].type,
               on ? "True" : "False");
    }
  }
  if (changed)
    nd_node_poke(a);
  if (any_met && first != ND_EV__COUNT) {
    bool disk = pressure_of(first) == P_DISK;
    if (disk && a->images && !o->reclaim_images) {
      /* reclaim node-level resources first: look again after the GC */
      ev->disk_reclaim_next = true;
    } else {
      ev->disk_reclaim_next = false;
      if (o->reclaimed > 0)
        log_info("node %s: image garbage collection freed %lld bytes",
                 a->cfg.node_name, (long long)o->reclaimed);
      evict(a, o, first, first_value, first_soft);
    }
  } else {
    ev->disk_reclaim_next = false;
  }
}

static void observe(void *arg) {
  kube_node_agent_t *a = arg;
  struct nd_ev_state *ev = a->ev;
  arm(a);
  if (ev->running || a->draining || !a->workers)
    return;
  struct ev_obs *o = calloc(1, sizeof *o);
  if (!o)
    return;
  o->reclaim_images = ev->disk_reclaim_next;
  o->pods = calloc(a->n_pods ? a->n_pods : 1, sizeof *o->pods);
  if (!o->pods) {
    free(o);
    return;
  }
  for (size_t i = 0; i < a->n_pods; i++) {
    struct nd_pod *p = a->pods_v[i];
    const kube_object_t *obj = nd_pod_object(a, p);
    if (!obj || !p->admitted || p->rejected || p->finished ||
        p->term != ND_TERM_NONE)
      continue;
    json_object *spec = nd_spec(obj);
    struct ev_pod *ep = &o->pods[o->n_pods++];
    ep->uid = strdup(p->uid);
    ep->dir = p->dir ? strdup(p->dir) : NULL;
    ep->log_dir = p->log_dir ? strdup(p->log_dir) : NULL;
    ep->cgroup = p->cgroup ? strdup(p->cgroup) : NULL;
    ep->priority = nd_ev_pod_priority(spec);
    ep->grace_s = nd_grace_seconds(obj);
    ep->ctrs = calloc(p->n_ctrs ? p->n_ctrs : 1, sizeof *ep->ctrs);
    for (size_t k = 0; ep->ctrs && k < p->n_ctrs; k++) {
      struct nd_ctr *c = &p->ctrs[k];
      struct ev_ctr *ec = &ep->ctrs[ep->n_ctrs++];
      ec->name = strdup(c->name);
      if (c->has_cur && c->cur.id && c->cur.state == ND_RUNNING)
        ec->id = strdup(c->cur.id);
      json_object *cs = nd_spec_container(spec, c->name, NULL);
      const char *mr = kube_json_get_string(cs, "resources.requests.memory");
      const char *dr =
          kube_json_get_string(cs, "resources.requests.ephemeral-storage");
      if (mr)
        ec->mem_req = kube_quantity_parse_value(mr, NULL);
      if (dr)
        ec->disk_req = kube_quantity_parse_value(dr, NULL);
      if (ec->mem_req < 0)
        ec->mem_req = 0;
      if (ec->disk_req < 0)
        ec->disk_req = 0;
    }
  }
  nd_job_t *j = nd_job_new(a, NULL, observe_work, observe_done, o, obs_free);
  if (!j) {
    nd_job_t tmp = {.data = o};
    obs_free(&tmp);
    return;
  }
  ev->running = true;
  if (nd_job_submit(j, NULL) < 0)
    ev->running = false;
}

/* ---- the agent's hooks -------------------------------------------------- */

int nd_ev_new(kube_node_agent_t *a, const kube_node_agent_options_t *o,
              kube_error_t *err) {
  struct nd_ev_state *ev = calloc(1, sizeof *ev);
  if (!ev)
    return kube_make_oom(err);
  a->ev = ev;
  if (nd_ev_config_parse(&ev->cfg, o->eviction_hard, o->eviction_soft,
                         o->eviction_soft_grace_period,
                         o->eviction_minimum_reclaim,
                         o->eviction_pressure_transition_period, err) < 0)
    return -1;
  time_t t = time(NULL);
  for (int p = 0; p < P__COUNT; p++)
    ev->changed[p] = t;
  return 0;
}

void nd_ev_start(kube_node_agent_t *a) {
  struct nd_ev_state *ev = a->ev;
  if (!ev || ev->timer)
    return;
  ev->timer = kube_timer_new(a->loop, observe, a, NULL);
  if (ev->timer)
    kube_timer_arm(ev->timer, 1000);
}

void nd_ev_stop(kube_node_agent_t *a) {
  if (!a->ev)
    return;
  kube_timer_free(a->ev->timer);
  a->ev->timer = NULL;
}

void nd_ev_free(kube_node_agent_t *a) {
  if (!a->ev)
    return;
  nd_ev_stop(a);
  free(a->ev);
  a->ev = NULL;
}

void nd_ev_conditions(kube_node_agent_t *a, json_object *arr, const char *now) {
  for (int p = 0; p < P__COUNT; p++) {
    bool on = a->ev && a->ev->pressure[p];
    char since[40];
    kube_time_format(a->ev ? a->ev->changed[p] : time(NULL), since,
                     sizeof since);
    nd_node_condition(arr, conds[p].type, on ? "True" : "False",
                      on ? conds[p].reason_on : conds[p].reason_off,
                      on ? conds[p].msg_on : conds[p].msg_off, now, since);
  }
}

void nd_ev_keep_terminal(kube_node_agent_t *a, struct nd_pod *p,
                         const kube_object_t *pod) {
  (void)a;
  if (p->admitted || !pod)
    return;
  const char *phase = kube_object_get_string(pod, "status.phase");
  const char *reason = kube_object_get_string(pod, "status.reason");
  if (!phase || !streq(phase, "Failed") || !reason || !*reason)
    return;
  const char *msg = kube_object_get_string(pod, "status.message");
  p->rejected = p->admitted = p->finished = true;
  free(p->reject_reason);
  p->reject_reason = strdup(reason);
  free(p->reject_message);
  p->reject_message = strdup(msg ? msg : "");
}

static bool tolerates_memory_pressure(json_object *spec) {
  json_object *tols = kube_json_get(spec, "tolerations");
  for (size_t i = 0; tols && json_object_is_type(tols, json_type_array) &&
                     i < json_object_array_length(tols);
       i++) {
    json_object *t = json_object_array_get_idx(tols, i);
    const char *key = kube_json_get_string(t, "key");
    const char *op = kube_json_get_string(t, "operator");
    const char *val = kube_json_get_string(t, "value");
    const char *eff = kube_json_get_string(t, "effect");
    if (eff && *eff && !streq(eff, "NoSchedule"))
      continue;
    bool exists = op && streq(op, "Exists");
    if (!key || !*key) {
      if (exists)
        return true; /* an empty key with Exists tolerates everything */
      continue;
    }
    if (!streq(key, "node.kubernetes.io/memory-pressure"))
      continue;
    if (exists || !val || !*val)
      return true;
  }
  return false;
}

bool nd_ev_admit(kube_node_agent_t *a, json_object *spec, char **msg) {
  struct nd_ev_state *ev = a->ev;
  *msg = NULL;
  if (!ev || (!ev->pressure[P_MEMORY] && !ev->pressure[P_DISK] &&
              !ev->pressure[P_PID]))
    return true;
  if (nd_ev_critical(nd_ev_pod_priority(spec)))
    return true;
  if (ev->pressure[P_MEMORY] && !ev->pressure[P_DISK] && !ev->pressure[P_PID] &&
      (!streq(nd_qos_class(spec), "BestEffort") ||
       tolerates_memory_pressure(spec)))
    return true;
  char list[96] = "";
  for (int p = 0; p < P__COUNT; p++)
    if (ev->pressure[p]) {
      if (*list)
        strcat(list, " ");
      strcat(list, conds[p].type);
    }
  if (asprintf(msg, "The node had condition: [%s]. ", list) < 0)
    *msg = NULL;
  return false;
}

void nd_ev_pod_conditions(const struct nd_pod *p, json_object *old_conds,
                          json_object *out, const char *now) {
  if (!p->rejected || !p->reject_reason || !streq(p->reject_reason, "Evicted") ||
      !p->reject_message ||
      !str_has_prefix(p->reject_message, "The node was low on resource"))
    return;
  for (size_t i = 0; old_conds && i < json_object_array_length(old_conds); i++) {
    const char *t = kube_json_get_string(
        json_object_array_get_idx(old_conds, i), "type");
    if (t && streq(t, "DisruptionTarget"))
      return; /* kept as it was */
  }
  json_object *c = json_object_new_object();
  json_object_object_add(c, "type", json_object_new_string("DisruptionTarget"));
  json_object_object_add(c, "status", json_object_new_string("True"));
  json_object_object_add(c, "lastProbeTime", NULL);
  json_object_object_add(c, "lastTransitionTime", json_object_new_string(now));
  json_object_object_add(c, "reason",
                         json_object_new_string("TerminationByKubelet"));
  json_object_object_add(c, "message",
                         json_object_new_string(p->reject_message));
  json_object_array_add(out, c);
}
