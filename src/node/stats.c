/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resource usage of the node and its pods, as the kubelet's Summary API
 * (/stats/summary) reports it: every ~10 s a worker job reads the cgroups
 * of the running pods and containers and the node's /proc/stat and
 * /proc/meminfo; back on the loop, the CPU rate (usageNanoCores) comes
 * from the difference to the previous sample, and the summary document
 * is rebuilt.  Nothing here blocks the loop.
 */
#include <stdio.h>
#include <unistd.h>

#include "node/agent.h"

#define STATS_PERIOD_MS 10000

struct st_ctr {
  char *name, *id;
  struct timespec started;
  kube_rt_stats_t st;
  bool ok;
};

struct st_pod {
  char *uid, *ns, *name, *cgroup;
  time_t start;
  struct st_ctr *ctrs;
  size_t n_ctrs;
  kube_rt_stats_t st;
  bool ok;
};

struct st_sample {
  struct st_pod *pods;
  size_t n_pods;
  struct timespec ts; /* CLOCK_REALTIME of the node's reading */
  int64_t mono_ns;    /* CLOCK_MONOTONIC, for the rates */
  bool node_ok;
  uint64_t cpu_ns; /* busy time of every CPU */
  uint64_t mem_total, mem_free, inactive_file, anon;
};

struct nd_stats {
  kube_timer_t *timer;
  bool running;
  struct st_sample *prev;
  char *summary; /* the last document (JSON) */
  time_t start;
};

static void sample_free(struct st_sample *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->n_pods; i++) {
    struct st_pod *p = &s->pods[i];
    for (size_t k = 0; k < p->n_ctrs; k++) {
      free(p->ctrs[k].name);
      free(p->ctrs[k].id);
    }
    free(p->ctrs);
    free(p->uid);
    free(p->ns);
    free(p->name);
    free(p->cgroup);
  }
  free(s->pods);
  free(s);
}

static int64_t mono_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* ---- the worker: reading ------------------------------------------------ */

static bool read_proc_stat(uint64_t *busy_ns) {
  FILE *f = fopen("/proc/stat", "re");
  if (!f)
    return false;
  unsigned long long v[8] = {0};
  int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
                 &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
  fclose(f);
  long hz = sysconf(_SC_CLK_TCK);
  if (n < 4 || hz <= 0)
    return false;
  /* user nice system (idle iowait) irq softirq steal */
  unsigned long long ticks = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  *busy_ns = (uint64_t)(ticks * (1000000000ULL / (unsigned long long)hz));
  return true;
}

static bool read_meminfo(struct st_sample *s) {
  FILE *f = fopen("/proc/meminfo", "re");
  if (!f)
    return false;
  char line[256];
  int seen = 0;
  while (fgets(line, sizeof line, f)) {
    unsigned long long kb;
    char key[64];
    if (sscanf(line, "%63[^:]: %llu", key, &kb) != 2)
      continue;
    uint64_t b = (uint64_t)kb * 1024;
    if (streq(key, "MemTotal"))
      s->mem_total = b, seen++;
    else if (streq(key, "MemFree"))
      s->mem_free = b, seen++;
    else if (streq(key, "Inactive(file)"))
      s->inactive_file = b;
    else if (streq(key, "AnonPages"))
      s->anon = b;
  }
  fclose(f);
  return seen == 2;
}

static void stats_work(nd_job_t *j, kube_runtime_t *rt) {
  struct st_sample *s = j->data;
  for (size_t i = 0; i < s->n_pods; i++) {
    struct st_pod *p = &s->pods[i];
    kube_error_t e = KUBE_ERROR_INIT;
    p->ok = p->cgroup &&
            kube_runtime_pod_cgroup_stats(rt, p->cgroup, &p->st, &e) == 0;
    kube_error_clear(&e);
    for (size_t k = 0; k < p->n_ctrs; k++) {
      struct st_ctr *c = &p->ctrs[k];
      c->ok = kube_runtime_stats(rt, c->id, &c->st, &e) == 0;
      kube_error_clear(&e);
      clock_gettime(CLOCK_REALTIME, &c->st.timestamp);
    }
  }
  s->node_ok = read_proc_stat(&s->cpu_ns) && read_meminfo(s);
  clock_gettime(CLOCK_REALTIME, &s->ts);
  s->mono_ns = mono_ns();
}

/* ---- the loop: the summary document ------------------------------------- */

static void add_u64(json_object *o, const char *k, uint64_t v) {
  json_object_object_add(o, k, json_object_new_uint64(v));
}

static void add_time(json_object *o, const char *k, time_t t) {
  char buf[32];
  json_object_object_add(
      o, k, json_object_new_string(kube_time_format(t, buf, sizeof buf)));
}

/* CPU stats: the rate when the previous reading of the same counter is
 * known (prev_ns > 0 and not past cur). */
static json_object *cpu_json(time_t t, uint64_t cur, uint64_t prev,
                             int64_t dt_ns) {
  json_object *o = json_object_new_object();
  add_time(o, "time", t);
  if (prev && dt_ns > 0 && cur >= prev)
    add_u64(o, "usageNanoCores",
            (uint64_t)((double)(cur - prev) * 1e9 / (double)dt_ns));
  add_u64(o, "usageCoreNanoSeconds", cur);
  return o;
}

static json_object *mem_json(time_t t, const kube_rt_stats_t *st) {
  json_object *o = json_object_new_object();
  add_time(o, "time", t);
  if (st->memory_limit_bytes)
    add_u64(o, "availableBytes",
            st->memory_limit_bytes > st->memory_working_set_bytes
                ? st->memory_limit_bytes - st->memory_working_set_bytes
                : 0);
  add_u64(o, "usageBytes", st->memory_usage_bytes);
  add_u64(o, "workingSetBytes", st->memory_working_set_bytes);
  add_u64(o, "rssBytes", st->memory_rss_bytes);
  add_u64(o, "pageFaults", 0);
  add_u64(o, "majorPageFaults", 0);
  return o;
}

static const struct st_pod *prev_pod(const struct st_sample *prev,
                                     const char *uid) {
  for (size_t i = 0; prev && i < prev->n_pods; i++)
    if (streq(prev->pods[i].uid, uid))
      return prev->pods[i].ok ? &prev->pods[i] : NULL;
  return NULL;
}

static const struct st_ctr *prev_ctr(const struct st_pod *pp, const char *id) {
  for (size_t i = 0; pp && i < pp->n_ctrs; i++)
    if (streq(pp->ctrs[i].id, id))
      return pp->ctrs[i].ok ? &pp->ctrs[i] : NULL;
  return NULL;
}

static json_object *pod_json(const struct st_pod *p, const struct st_pod *pp,
                             int64_t dt, time_t now) {
  json_object *o = json_object_new_object();
  json_object *ref = json_object_new_object();
  json_object_object_add(ref, "name", json_object_new_string(p->name));
  json_object_object_add(ref, "namespace", json_object_new_string(p->ns));
  json_object_object_add(ref, "uid", json_object_new_string(p->uid));
  json_object_object_add(o, "podRef", ref);
  add_time(o, "startTime", p->start ? p->start : now);
  json_object *ctrs = json_object_new_array();
  for (size_t k = 0; k < p->n_ctrs; k++) {
    const struct st_ctr *c = &p->ctrs[k];
    if (!c->ok)
      continue;
    const struct st_ctr *pc = prev_ctr(pp, c->id);
    json_object *co = json_object_new_object();
    json_object_object_add(co, "name", json_object_new_string(c->name));
    add_time(co, "startTime", c->started.tv_sec ? c->started.tv_sec : now);
    json_object_object_add(
        co, "cpu",
        cpu_json(now, c->st.cpu_usage_ns, pc ? pc->st.cpu_usage_ns : 0, dt));
    json_object_object_add(co, "memory", mem_json(now, &c->st));
    json_object_array_add(ctrs, co);
  }
  json_object_object_add(o, "containers", ctrs);
  json_object_object_add(
      o, "cpu",
      cpu_json(now, p->st.cpu_usage_ns, pp ? pp->st.cpu_usage_ns : 0, dt));
  json_object_object_add(o, "memory", mem_json(now, &p->st));
  return o;
}

static json_object *node_json(kube_node_agent_t *a, const struct st_sample *s,
                              const struct st_sample *prev, int64_t dt) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "nodeName",
                         json_object_new_string(a->cfg.node_name));
  add_time(o, "startTime", a->statsum->start);
  time_t now = s->ts.tv_sec;
  if (!s->node_ok)
    return o;
  json_object_object_add(
      o, "cpu",
      cpu_json(now, s->cpu_ns, prev && prev->node_ok ? prev->cpu_ns : 0, dt));
  uint64_t usage = s->mem_total - s->mem_free;
  kube_rt_stats_t st = {
      .memory_usage_bytes = usage,
      .memory_working_set_bytes =
          usage > s->inactive_file ? usage - s->inactive_file : 0,
      .memory_limit_bytes = s->mem_total,
      .memory_rss_bytes = s->anon,
  };
  json_object_object_add(o, "memory", mem_json(now, &st));
  return o;
}

static void stats_done(nd_job_t *j) {
  kube_node_agent_t *a = j->a;
  struct nd_stats *ss = a->statsum;
  struct st_sample *s = steal_pointer(&j->data);
  if (!ss) {
    sample_free(s);
    return;
  }
  ss->running = false;
  const struct st_sample *prev = ss->prev;
  int64_t dt = prev ? s->mono_ns - prev->mono_ns : 0;
  time_t now = s->ts.tv_sec;
  json_object *doc = json_object_new_object();
  json_object_object_add(doc, "node", node_json(a, s, prev, dt));
  json_object *pods = json_object_new_array();
  for (size_t i = 0; i < s->n_pods; i++)
    if (s->pods[i].ok)
      json_object_array_add(
          pods, pod_json(&s->pods[i], prev_pod(prev, s->pods[i].uid), dt, now));
  json_object_object_add(doc, "pods", pods);
  char *text =
      strdup(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN));
  json_object_put(doc);
  if (text) {
    free(ss->summary);
    ss->summary = text;
  }
  sample_free(ss->prev);
  ss->prev = s;
}

static void stats_job_free(nd_job_t *j) {
  sample_free(j->data);
}

/* What to read: the running containers of the pods with a cgroup. */
static struct st_sample *sample_plan(kube_node_agent_t *a) {
  struct st_sample *s = calloc(1, sizeof *s);
  if (!s || !(s->pods = calloc(a->n_pods + 1, sizeof *s->pods))) {
    free(s);
    return NULL;
  }
  for (size_t i = 0; i < a->n_pods; i++) {
    const struct nd_pod *p = a->pods_v[i];
    if (!p->cgroup || p->term >= ND_TERM_STOPPED || p->finished)
      continue;
    struct st_pod *sp = &s->pods[s->n_pods++];
    sp->uid = strdup(p->uid);
    sp->ns = strdup(p->ns);
    sp->name = strdup(p->name);
    sp->cgroup = strdup(p->cgroup);
    sp->start = p->start_time;
    sp->ctrs = calloc(p->n_ctrs + 1, sizeof *sp->ctrs);
    if (!sp->uid || !sp->ns || !sp->name || !sp->cgroup || !sp->ctrs) {
      sample_free(s);
      return NULL;
    }
    for (size_t k = 0; k < p->n_ctrs; k++) {
      const struct nd_ctr *c = &p->ctrs[k];
      if (!c->has_cur || c->cur.state != ND_RUNNING || !c->cur.id)
        continue;
      struct st_ctr *sc = &sp->ctrs[sp->n_ctrs++];
      sc->name = strdup(c->name);
      sc->id = strdup(c->cur.id);
      sc->started = c->cur.started;
      if (!sc->name || !sc->id) {
        sample_free(s);
        return NULL;
      }
    }
  }
  return s;
}

static void stats_tick(void *arg) {
  kube_node_agent_t *a = arg;
  struct nd_stats *ss = a->statsum;
  if (ss->running || a->draining || !a->workers)
    return;
  struct st_sample *s = sample_plan(a);
  nd_job_t *j =
      s ? nd_job_new(a, NULL, stats_work, stats_done, s, stats_job_free) : NULL;
  if (!j) {
    sample_free(s);
    return;
  }
  ss->running = true;
  if (nd_job_submit(j, NULL) < 0)
    ss->running = false;
}

int nd_stats_start(kube_node_agent_t *a, kube_error_t *err) {
  struct nd_stats *ss = calloc(1, sizeof *ss);
  if (!ss)
    return kube_make_oom(err);
  ss->start = time(NULL);
  if (!(ss->timer = kube_timer_new(a->loop, stats_tick, a, NULL))) {
    free(ss);
    return kube_make_oom(err);
  }
  a->statsum = ss;
  kube_timer_arm_periodic(ss->timer, STATS_PERIOD_MS);
  stats_tick(a);
  return 0;
}

void nd_stats_stop(kube_node_agent_t *a) {
  if (a->statsum) {
    kube_timer_free(a->statsum->timer);
    a->statsum->timer = NULL;
  }
}

void nd_stats_free(kube_node_agent_t *a) {
  struct nd_stats *ss = a->statsum;
  if (!ss)
    return;
  kube_timer_free(ss->timer);
  sample_free(ss->prev);
  free(ss->summary);
  free(ss);
  a->statsum = NULL;
}

KUBE_EXPORT int kube_node_agent_stats_summary(const kube_node_agent_t *a,
                                              char **json_out,
                                              kube_error_t *err) {
  if (!a || !json_out)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "no agent or output");
  *json_out = NULL;
  if (!a->statsum || !a->statsum->summary)
    return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, EAGAIN,
                          "no stats sampled on node %s yet", a->cfg.node_name);
  if (!(*json_out = strdup(a->statsum->summary)))
    return kube_make_oom(err);
  return 0;
}
