/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node agent's life cycle: options, the informers it reads, the pod
 * work queue (the controller kit's, keyed by pod UID), worker jobs and the
 * mailbox through which worker threads hand events to the loop.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <event2/event.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "kube-config.h"
#include "node/agent.h"
#include "node/proxy.h"

#define DEFAULT_POD_CIDR "10.42.0.0/24"
#define DEFAULT_SERVICE_CIDR "10.96.0.0/12"
#define DEFAULT_CLUSTER_DNS "10.96.0.10"
#define DEFAULT_CLUSTER_DOMAIN "cluster.local"
#define PROBE_WORKERS 16

int64_t nd_now_ms(void) {
  return kube_time_mono_ns() / 1000000;
}

/* ---- configuration ------------------------------------------------------ */

static char **strv_copy(const char *const *v) {
  size_t n = 0;
  while (v && v[n])
    n++;
  char **c = calloc(n + 1, sizeof *c);
  for (size_t i = 0; c && i < n; i++)
    c[i] = strdup(v[i]);
  return c;
}

static void strv_free(char **v) {
  for (size_t i = 0; v && v[i]; i++)
    free(v[i]);
  free(v);
}

void nd_config_clear(struct nd_config *c) {
  char **strs[] = {&c->data_dir,      &c->node_name,     &c->node_ip,
                   &c->hostname,      &c->cgroup_parent, &c->runtime_root,
                   &c->pod_cidr_flag, &c->cni_bridge,    &c->cni_conf_dir,
                   &c->cni_bin_dir,   &c->cni_cache_dir, &c->ipam_dir,
                   &c->service_cidr,  &c->cluster_dns,   &c->cluster_domain,
                   &c->resolv_conf,   &c->pods_dir,      &c->logs_dir,
                   &c->seccomp_dir,   &c->manifest_dir};
  for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
    free(*strs[i]);
    *strs[i] = NULL;
  }
  strv_free(c->labels);
  strv_free(c->unsafe_sysctls);
  c->labels = c->unsafe_sysctls = NULL;
}

static char *dup_or(const char *s, const char *def) {
  return strdup(s && *s ? s : def);
}

static char *path_join(const char *a, const char *b) {
  char *p = NULL;
  return asprintf(&p, "%s/%s", a, b) < 0 ? NULL : p;
}

int nd_config_init(struct nd_config *c, const kube_node_agent_options_t *o,
                   kube_error_t *err) {
  memset(c, 0, sizeof *c);
  if (!o || !o->data_dir || !*o->data_dir)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "the node agent needs a data directory");
  char host[256] = "";
  if (gethostname(host, sizeof host - 1) < 0 || !*host)
    snprintf(host, sizeof host, "localhost");
  for (char *h = host; *h; h++)
    *h = (char)tolower((unsigned char)*h);
  c->hostname = strdup(host);
  c->node_name = dup_or(o->node_name, host);
  if (!c->node_name || !c->hostname)
    return kube_make_oom(err);
  const char *bad = kube_validate_dns1123_subdomain(c->node_name);
  if (bad)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid node name \"%s\": %s", c->node_name, bad);
  c->data_dir = strdup(o->data_dir);
  char hash[9];
  nd_hash_hex(hash, o->data_dir, c->node_name);
  char buf[128];
  snprintf(buf, sizeof buf, "libkube-%s", hash);
  c->cgroup_parent = dup_or(o->cgroup_parent, buf);
  snprintf(buf, sizeof buf, "/run/libkube/node-%s", hash);
  c->runtime_root = dup_or(o->runtime_root, buf);
  snprintf(buf, sizeof buf, "kube-%.6s", hash);
  c->cni_bridge = dup_or(o->cni_bridge, buf);
  c->pod_cidr_flag = dup_or(o->pod_cidr, DEFAULT_POD_CIDR);
  c->cni_conf_dir = o->cni_conf_dir && *o->cni_conf_dir
                        ? strdup(o->cni_conf_dir)
                        : path_join(o->data_dir, "cni/net.d");
  c->cni_bin_dir = dup_or(o->cni_bin_dir, "/usr/lib/cni:/opt/cni/bin");
  c->cni_cache_dir = path_join(o->data_dir, "cni/cache");
  c->ipam_dir = path_join(o->data_dir, "cni/networks");
  c->service_cidr = dup_or(o->service_cidr, DEFAULT_SERVICE_CIDR);
  c->cluster_dns = dup_or(o->cluster_dns, DEFAULT_CLUSTER_DNS);
  c->cluster_domain = dup_or(o->cluster_domain, DEFAULT_CLUSTER_DOMAIN);
  c->resolv_conf = dup_or(o->resolv_conf, "/etc/resolv.conf");
  c->pods_dir = path_join(o->data_dir, "pods");
  c->logs_dir = path_join(o->data_dir, "logs/pods");
  c->seccomp_dir = path_join(o->data_dir, "seccomp");
  /* options: 0 the default, -1 zero per cent */
  c->image_gc_high = o->image_gc_high_percent < 0 ? 0
                     : o->image_gc_high_percent   ? o->image_gc_high_percent
                                                  : 85;
  c->image_gc_low = o->image_gc_low_percent < 0 ? 0
                    : o->image_gc_low_percent   ? o->image_gc_low_percent
                                                : 80;
  c->image_gc_period_ms =
      o->image_gc_period_ms > 0 ? o->image_gc_period_ms : 5 * 60 * 1000;
  if (c->image_gc_high < 0 || c->image_gc_high > 100 || c->image_gc_low < 0 ||
      c->image_gc_low > 100)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid configuration: imageGCHighThresholdPercent "
                          "(--image-gc-high-threshold) and "
                          "imageGCLowThresholdPercent "
                          "(--image-gc-low-threshold) must be between 0 and "
                          "100");
  if (c->image_gc_low >= c->image_gc_high)
    return kube_error_set(
        err, KUBE_REASON_BAD_REQUEST, 0,
        "invalid configuration: imageGCLowThresholdPercent "
        "(--image-gc-low-threshold) %d must be less than "
        "imageGCHighThresholdPercent (--image-gc-high-threshold) %d",
        c->image_gc_low, c->image_gc_high);
  c->manifest_default = !o->pod_manifest_path;
  if (!o->pod_manifest_path)
    c->manifest_dir = path_join(o->data_dir, "manifests");
  else if (*o->pod_manifest_path)
    c->manifest_dir = strdup(o->pod_manifest_path);
  c->labels = strv_copy(o->labels);
  c->unsafe_sysctls = strv_copy(o->allowed_unsafe_sysctls);
  c->max_pods = o->max_pods > 0 ? o->max_pods : 110;
  c->pod_pids_limit = o->pod_pids_limit > 0 ? o->pod_pids_limit : -1;
  c->workers = o->workers ? o->workers : 8;
  c->kubelet_port = o->kubelet_port;
  c->own_pod_informer = o->own_pod_informer;
  c->images_local_mirror = o->images_local_mirror;
  c->per_object_reads = o->per_object_reads;
  if (c->per_object_reads)
    c->own_pod_informer = true;
  if (o->node_ip && *o->node_ip) {
    unsigned char a4[16];
    if (inet_pton(AF_INET, o->node_ip, a4) != 1 &&
        inet_pton(AF_INET6, o->node_ip, a4) != 1)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "invalid node IP \"%s\"", o->node_ip);
    c->node_ip = strdup(o->node_ip);
  } else {
    char ip[64];
    if (kube_net_default_ipv4(ip, sizeof ip, NULL) == 0)
      c->node_ip = strdup(ip);
  }
  if (!c->data_dir || !c->cgroup_parent || !c->runtime_root || !c->cni_bridge ||
      !c->pod_cidr_flag || !c->cni_conf_dir || !c->cni_bin_dir ||
      !c->cni_cache_dir || !c->ipam_dir || !c->service_cidr ||
      !c->cluster_dns || !c->cluster_domain || !c->resolv_conf ||
      !c->pods_dir || !c->logs_dir || !c->seccomp_dir || !c->labels ||
      !c->unsafe_sysctls)
    return kube_make_oom(err);
  kube_cni_bridge_options_t bo = {.struct_size = sizeof bo,
                                  .bridge = c->cni_bridge,
                                  .subnet = c->pod_cidr_flag};
  char *probe = kube_cni_bridge_conflist(&bo, err);
  if (!probe)
    return -1;
  free(probe);
  return 0;
}

/* ---- pods --------------------------------------------------------------- */

struct nd_pod *nd_pod_find(kube_node_agent_t *a, const char *uid) {
  for (size_t i = 0; uid && i < a->n_pods; i++)
    if (streq(a->pods_v[i]->uid, uid))
      return a->pods_v[i];
  return NULL;
}

struct nd_pod *nd_pod_add(kube_node_agent_t *a, const char *uid, const char *ns,
                          const char *name) {
  if (a->n_pods == a->cap_pods) {
    size_t cap = a->cap_pods ? a->cap_pods * 2 : 32;
    struct nd_pod **v = realloc(a->pods_v, cap * sizeof *v);
    if (!v)
      return NULL;
    a->pods_v = v;
    a->cap_pods = cap;
  }
  struct nd_pod *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  p->uid = strdup(uid);
  p->ns = strdup(ns);
  p->name = strdup(name);
  if (asprintf(&p->key, "%s/%s", ns, name) < 0)
    p->key = NULL;
  if (asprintf(&p->dir, "%s/%s", a->cfg.pods_dir, uid) < 0)
    p->dir = NULL;
  if (asprintf(&p->log_dir, "%s/%s_%s_%s", a->cfg.logs_dir, ns, name, uid) < 0)
    p->log_dir = NULL;
  if (!p->uid || !p->ns || !p->name || !p->key || !p->dir || !p->log_dir) {
    free(p->uid);
    free(p->ns);
    free(p->name);
    free(p->key);
    free(p->dir);
    free(p->log_dir);
    free(p);
    return NULL;
  }
  a->pods_v[a->n_pods++] = p;
  return p;
}

void nd_instance_clear(kube_node_agent_t *a, struct nd_instance *in) {
  nd_exit_watch_free(in->watch);
  free(in->id);
  free(in->reason);
  free(in->message);
  free(in->image);
  free(in->image_id);
  free(in->image_ref);
  free(in->log_path);
  free(in->rootfs_dir);
  free(in->stop_signal);
  memset(in, 0, sizeof *in);
}

void nd_ctr_clear(kube_node_agent_t *a, struct nd_ctr *c) {
  for (int t = 0; t < ND_PROBE__COUNT; t++)
    nd_prober_free(c->probers[t]);
  if (c->hook_cancel) /* the hook's job outlives the record: end its wait */
    __atomic_store_n(c->hook_cancel, 1, __ATOMIC_RELEASE);
  free(c->stop_id);
  free(c->kill_message);
  free(c->post_start_id);
  nd_instance_clear(a, &c->cur);
  nd_instance_clear(a, &c->prev);
  free(c->name);
  free(c->waiting_reason);
  free(c->waiting_message);
  free(c->pull_error);
  memset(c, 0, sizeof *c);
}

struct nd_ctr *nd_pod_ctr(struct nd_pod *p, const char *name) {
  for (size_t i = 0; i < p->n_ctrs; i++)
    if (streq(p->ctrs[i].name, name))
      return &p->ctrs[i];
  return NULL;
}

void nd_pod_remove(kube_node_agent_t *a, struct nd_pod *p) {
  for (size_t i = 0; i < a->n_pods; i++)
    if (a->pods_v[i] == p) {
      a->pods_v[i] = a->pods_v[--a->n_pods];
      break;
    }
  for (size_t i = 0; i < p->n_ctrs; i++)
    nd_ctr_clear(a, &p->ctrs[i]);
  free(p->ctrs);
  nd_hostports_close(p);
  free(p->hostports);
  for (size_t i = 0; i < p->n_ips; i++)
    free(p->ips[i]);
  for (size_t i = 0; i < p->n_refs; i++)
    free(p->refs[i]);
  free(p->refs);
  nd_sources_release(a, p);
  kube_object_free(p->last);
  kube_object_free(p->static_obj);
  free(p->mirror_uid);
  free(p->uid);
  free(p->ns);
  free(p->name);
  free(p->key);
  free(p->dir);
  free(p->netns);
  free(p->cgroup);
  free(p->log_dir);
  free(p->sandbox_error);
  free(p->volumes_digest);
  free(p->mount_error);
  free(p->reject_reason);
  free(p->reject_message);
  free(p->status_sent);
  free(p);
}

const kube_object_t *nd_pod_object(kube_node_agent_t *a, struct nd_pod *p) {
  if (p->api_gone)
    return NULL;
  if (p->is_static)
    return p->static_obj;
  const kube_object_t *o = kube_informer_get(a->pods, p->key);
  if (!o || !kube_object_uid(o) || !streq(kube_object_uid(o), p->uid))
    return NULL;
  return o;
}

void nd_pod_enqueue(kube_node_agent_t *a, const struct nd_pod *p,
                    int64_t after_ms) {
  if (!a->ctl)
    return;
  if (after_ms > 0)
    kube_controller_enqueue_after(a->ctl, p->uid, after_ms, NULL);
  else
    kube_controller_enqueue(a->ctl, p->uid, NULL);
}

static void pod_eventv(kube_node_agent_t *a, struct nd_pod *p, const char *type,
                       const char *reason, const char *container,
                       const char *msg) {
  if (!a->recorder)
    return;
  char fp[512] = "";
  if (container) {
    struct nd_ctr *c = nd_pod_ctr(p, container);
    snprintf(fp, sizeof fp, "spec.%s{%s}",
             !c || c->kind == ND_APP       ? "containers"
             : c->kind == ND_EPHEMERAL ? "ephemeralContainers"
                                       : "initContainers",
             container);
  }
  kube_event_ref_t ref = {
      .kind = "Pod",
      .api_version = "v1",
      .namespace_ = p->ns,
      .name = p->name,
      .uid = p->uid,
      .resource_version =
          p->last ? kube_object_resource_version(p->last) : NULL,
      .field_path = container ? fp : NULL,
  };
  kube_event_recorder_record(a->recorder, &ref, type, reason, NULL, msg);
}

void nd_pod_event(kube_node_agent_t *a, struct nd_pod *p, const char *type,
                  const char *reason, const char *container, const char *fmt,
                  ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = NULL;
  va_end(ap);
  if (msg)
    pod_eventv(a, p, type, reason, container, msg);
  free(msg);
}

/* ---- the mailbox: events from worker threads ---------------------------- */

struct mail {
  struct mail *next;
  char *uid;
  struct nd_job_event ev;
};

struct nd_mailbox {
  pthread_mutex_t lock;
  int refs;
  kube_node_agent_t *a; /* NULL once the agent is gone */
  kube_loop_t *loop;
  struct mail *head, *tail;
  bool scheduled;
};

static void job_event_clear(struct nd_job_event *e) {
  free(e->type);
  free(e->reason);
  free(e->message);
  free(e->container);
}

static void mailbox_unref(struct nd_mailbox *mb) {
  pthread_mutex_lock(&mb->lock);
  bool last = --mb->refs == 0;
  pthread_mutex_unlock(&mb->lock);
  if (!last)
    return;
  for (struct mail *m = mb->head, *n; m; m = n) {
    n = m->next;
    job_event_clear(&m->ev);
    free(m->uid);
    free(m);
  }
  pthread_mutex_destroy(&mb->lock);
  free(mb);
}

static void mailbox_flush(void *arg) {
  struct nd_mailbox *mb = arg;
  pthread_mutex_lock(&mb->lock);
  struct mail *list = mb->head;
  mb->head = mb->tail = NULL;
  mb->scheduled = false;
  kube_node_agent_t *a = mb->a;
  pthread_mutex_unlock(&mb->lock);
  for (struct mail *m = list, *n; m; m = n) {
    n = m->next;
    struct nd_pod *p = a ? nd_pod_find(a, m->uid) : NULL;
    if (p)
      pod_eventv(a, p, m->ev.type, m->ev.reason, m->ev.container,
                 m->ev.message);
    job_event_clear(&m->ev);
    free(m->uid);
    free(m);
  }
  mailbox_unref(mb);
}

void nd_post_event(kube_node_agent_t *a, const char *uid, const char *type,
                   const char *reason, const char *container, const char *fmt,
                   ...) {
  struct mail *m = calloc(1, sizeof *m);
  if (!m)
    return;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&m->ev.message, fmt, ap) < 0)
    m->ev.message = NULL;
  va_end(ap);
  m->uid = strdup(uid);
  m->ev.type = strdup(type);
  m->ev.reason = strdup(reason);
  m->ev.container = container ? strdup(container) : NULL;
  if (!m->ev.message || !m->uid || !m->ev.type || !m->ev.reason) {
    job_event_clear(&m->ev);
    free(m->uid);
    free(m);
    return;
  }
  struct nd_mailbox *mb = a->mailbox;
  pthread_mutex_lock(&mb->lock);
  if (mb->tail)
    mb->tail->next = m;
  else
    mb->head = m;
  mb->tail = m;
  bool schedule = !mb->scheduled;
  if (schedule) {
    mb->scheduled = true;
    mb->refs++;
  }
  pthread_mutex_unlock(&mb->lock);
  if (schedule && kube_loop_invoke(mb->loop, mailbox_flush, mb, NULL) < 0) {
    pthread_mutex_lock(&mb->lock);
    mb->scheduled = false;
    pthread_mutex_unlock(&mb->lock);
    mailbox_unref(mb);
  }
}

/* ---- jobs --------------------------------------------------------------- */

static void rt_key_destroy(void *p) {
  kube_runtime_free(p);
}

kube_runtime_t *nd_worker_runtime(kube_node_agent_t *a, kube_error_t *err) {
  kube_runtime_t *rt = pthread_getspecific(a->rt_key);
  if (rt)
    return rt;
  rt = kube_runtime_new(a->cfg.runtime_root, err);
  if (rt && pthread_setspecific(a->rt_key, rt) != 0) {
    kube_runtime_free(rt);
    kube_make_oom(err);
    return NULL;
  }
  return rt;
}

nd_job_t *nd_job_new(kube_node_agent_t *a, const char *uid,
                     void (*work)(nd_job_t *, kube_runtime_t *),
                     void (*done)(nd_job_t *), void *data,
                     void (*free_data)(nd_job_t *)) {
  nd_job_t *j = calloc(1, sizeof *j);
  if (!j)
    return NULL;
  j->a = a;
  j->uid = uid ? strdup(uid) : NULL;
  j->work = work;
  j->done = done;
  j->data = data;
  j->free = free_data;
  j->exclusive = uid != NULL;
  if (uid && !j->uid) {
    free(j);
    return NULL;
  }
  return j;
}

static void job_free(nd_job_t *j) {
  if (j->free)
    j->free(j);
  for (size_t i = 0; i < j->n_events; i++)
    job_event_clear(&j->events[i]);
  free(j->events);
  kube_error_clear(&j->err);
  free(j->uid);
  free(j);
}

void nd_job_event(nd_job_t *j, const char *type, const char *reason,
                  const char *container, const char *fmt, ...) {
  struct nd_job_event *v = realloc(j->events, (j->n_events + 1) * sizeof *v);
  if (!v)
    return;
  j->events = v;
  struct nd_job_event *e = &v[j->n_events];
  memset(e, 0, sizeof *e);
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&e->message, fmt, ap) < 0)
    e->message = NULL;
  va_end(ap);
  e->type = strdup(type);
  e->reason = strdup(reason);
  e->container = container ? strdup(container) : NULL;
  if (e->message && e->type && e->reason)
    j->n_events++;
  else
    job_event_clear(e);
}

int64_t nd_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void nd_job_mark(nd_job_t *j, const char *name) {
  if (j->n_stages < sizeof j->stage_us / sizeof j->stage_us[0]) {
    j->stage_name[j->n_stages] = name;
    j->stage_us[j->n_stages++] = nd_now_us();
  }
}

/* One debug line per pod job: queue wait, each stage, run, done latency. */
static void job_log_timing(const nd_job_t *j) {
  if (!j->uid || kube_log_get_level() < KUBE_LOG_DEBUG)
    return;
  char buf[512];
  int off = snprintf(buf, sizeof buf, "queued %lldus",
                     (long long)(j->t_start - j->t_submit));
  int64_t prev = j->t_start;
  for (unsigned i = 0; i < j->n_stages && off < (int)sizeof buf; i++) {
    off += snprintf(buf + off, sizeof buf - (size_t)off, " %s %lldus",
                    j->stage_name[i], (long long)(j->stage_us[i] - prev));
    prev = j->stage_us[i];
  }
  if (off < (int)sizeof buf)
    snprintf(buf + off, sizeof buf - (size_t)off,
             " ran %lldus to-loop %lldus",
             (long long)(j->t_end - j->t_start),
             (long long)(nd_now_us() - j->t_end));
  log_debug("pod %s: job timing: %s", j->uid, buf);
}

static void job_work(void *arg) {
  nd_job_t *j = arg;
  j->t_start = nd_now_us();
  kube_runtime_t *rt = nd_worker_runtime(j->a, &j->err);
  if (!rt) {
    j->rc = -1;
    j->t_end = nd_now_us();
    return;
  }
  j->work(j, rt);
  j->t_end = nd_now_us();
}

static void job_done(void *arg) {
  nd_job_t *j = arg;
  kube_node_agent_t *a = j->a;
  a->stats.jobs++;
  job_log_timing(j);
  struct nd_pod *p = j->uid ? nd_pod_find(a, j->uid) : NULL;
  if (p)
    for (size_t i = 0; i < j->n_events; i++)
      pod_eventv(a, p, j->events[i].type, j->events[i].reason,
                 j->events[i].container, j->events[i].message);
  if (j->done)
    j->done(j);
  if (p && j->exclusive) {
    p->job_running = false;
    if (a->ctl) {
      kube_controller_sync_done(a->ctl, p->uid, 0);
      nd_pod_enqueue(a, p, 0);
    }
  }
  job_free(j);
  if (a->draining && a->drain_timer)
    kube_timer_arm(a->drain_timer, 0);
}

int nd_job_submit(nd_job_t *j, kube_error_t *err) {
  kube_node_agent_t *a = j->a;
  struct nd_pod *p = j->uid ? nd_pod_find(a, j->uid) : NULL;
  /* the probe pool starts with the first probe or hook */
  if (j->probe && !a->probe_workers && a->workers &&
      !(a->probe_workers = kube_workers_new(a->loop, PROBE_WORKERS, err))) {
    job_free(j);
    return -1;
  }
  kube_workers_t *pool = j->probe ? a->probe_workers : a->workers;
  if (!pool) { /* the agent is being freed */
    job_free(j);
    return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                          "the node agent is stopping");
  }
  j->t_submit = nd_now_us();
  if (kube_workers_submit(pool, job_work, job_done, j, err) < 0) {
    job_free(j);
    return -1;
  }
  if (p && j->exclusive)
    p->job_running = true;
  return 0;
}

/* ---- container exits ---------------------------------------------------- */

/* A watch on an instance's init: the pidfd becomes readable when it
 * exits; then a job collects the exit the monitor recorded.  Found again
 * by pod uid and container id (container arrays move). */
struct nd_exit_watch {
  kube_node_agent_t *a;
  char *uid, *id;
  struct event *ev;
  int pidfd;
};

void nd_exit_watch_free(struct nd_exit_watch *w) {
  if (!w)
    return;
  if (w->ev)
    event_free(w->ev);
  if (w->pidfd >= 0)
    close(w->pidfd);
  free(w->uid);
  free(w->id);
  free(w);
}

struct exit_job {
  char *id;
  kube_rt_exit_t exit;
  bool have;
};

static void exit_work(nd_job_t *j, kube_runtime_t *rt) {
  struct exit_job *x = j->data;
  /* The init is gone; the monitor records the exit a moment later. */
  if (kube_runtime_wait(rt, x->id, 10000, &x->exit, &j->err) == 0)
    x->have = true;
  else
    j->rc = -1;
}

static void exit_free(nd_job_t *j) {
  struct exit_job *x = j->data;
  free(x->id);
  free(x);
}

/* On the loop: find the instance by id (it may have been replaced or
 * removed meanwhile). */
static void exit_apply(nd_job_t *j) {
  struct exit_job *x = j->data;
  kube_node_agent_t *a = j->a;
  struct nd_pod *p = nd_pod_find(a, j->uid);
  for (size_t i = 0; p && i < p->n_ctrs; i++) {
    struct nd_instance *in = &p->ctrs[i].cur;
    if (!p->ctrs[i].has_cur || !in->id || !streq(in->id, x->id) ||
        in->state == ND_EXITED)
      continue;
    in->state = ND_EXITED;
    free(in->reason);
    if (x->have) {
      in->exit_code = x->exit.exit_code;
      in->signal = x->exit.signal;
      in->oom = x->exit.oom_killed;
      in->finished = x->exit.finished_at;
      in->reason = strdup(x->exit.reason[0] ? x->exit.reason : "Error");
    } else {
      in->exit_code = 137;
      clock_gettime(CLOCK_REALTIME, &in->finished);
      in->reason = strdup("ContainerStatusUnknown");
      free(in->message);
      in->message = strdup("The container could not be located when the pod "
                           "was terminated");
    }
    if (a->stats.containers_running)
      a->stats.containers_running--;
    nd_pod_enqueue(a, p, 0);
  }
}

static void on_exit_fd(evutil_socket_t fd, short what, void *arg) {
  struct nd_exit_watch *w = arg;
  kube_node_agent_t *a = w->a;
  struct nd_pod *p = nd_pod_find(a, w->uid);
  for (size_t i = 0; p && i < p->n_ctrs; i++)
    if (p->ctrs[i].cur.watch == w)
      p->ctrs[i].cur.watch = NULL;
  struct exit_job *x = calloc(1, sizeof *x);
  nd_job_t *j =
      x ? nd_job_new(a, NULL, exit_work, exit_apply, x, exit_free) : NULL;
  if (j) {
    /* not the pod's exclusive job: it only reads the runtime state */
    j->uid = steal_pointer(&w->uid);
    x->id = steal_pointer(&w->id);
    nd_job_submit(j, NULL);
  } else {
    free(x);
    if (p)
      nd_pod_enqueue(a, p, 1000);
  }
  nd_exit_watch_free(w);
}

void nd_watch_exit(kube_node_agent_t *a, struct nd_pod *p,
                   struct nd_instance *in, pid_t pid) {
  if (in->watch || !in->id)
    return;
  struct nd_exit_watch *w = calloc(1, sizeof *w);
  if (!w) {
    nd_pod_enqueue(a, p, 1000);
    return;
  }
  w->a = a;
  w->pidfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
  w->uid = strdup(p->uid);
  w->id = strdup(in->id);
  w->ev = event_new(kube_loop_base(a->loop), w->pidfd,
                    w->pidfd >= 0 ? EV_READ : 0, on_exit_fd, w);
  if (!w->uid || !w->id || !w->ev) {
    nd_exit_watch_free(w);
    nd_pod_enqueue(a, p, 1000);
    return;
  }
  in->watch = w;
  if (w->pidfd >= 0)
    event_add(w->ev, NULL);
  else /* already gone (or pidfd_open refused): collect at once */
    event_active(w->ev, EV_READ, 0);
}

/* ---- informers and the work queue --------------------------------------- */

static void map_pod(kube_controller_t *c, const char *key,
                    const kube_object_t *obj, void *arg) {
  kube_node_agent_t *a = arg;
  const char *node = kube_object_get_string(obj, "spec.nodeName");
  const char *uid = kube_object_uid(obj);
  if (!node || !uid || !streq(node, a->cfg.node_name))
    return;
  if (obj && kube_object_annotation(obj, ND_ANN_CONFIG_MIRROR)) {
    /* a mirror of a static pod: not a pod to run (static.c keeps it) */
    nd_static_mirror_changed(a);
    return;
  }
  struct nd_pod *p = nd_pod_find(a, uid);
  if (!p) {
    if (!kube_informer_has(a->pods, key))
      return; /* deleted before we ever ran it: nothing to stop */
    p = nd_pod_add(a, uid, kube_object_namespace(obj) ?: "default",
                   kube_object_name(obj) ?: "");
    if (!p)
      return;
  }
  kube_controller_enqueue(c, uid, NULL);
}

static void map_configmap(kube_controller_t *c, const char *key,
                          const kube_object_t *obj, void *arg) {
  nd_sources_changed(arg, false, kube_object_namespace(obj),
                     kube_object_name(obj));
}

static void map_secret(kube_controller_t *c, const char *key,
                       const kube_object_t *obj, void *arg) {
  nd_sources_changed(arg, true, kube_object_namespace(obj),
                     kube_object_name(obj));
}

static void map_node(kube_controller_t *c, const char *key,
                     const kube_object_t *obj, void *arg) {
  kube_node_agent_t *a = arg;
  if (streq(key, a->cfg.node_name))
    nd_node_poke(a);
}

static void map_nothing(kube_controller_t *c, const char *key,
                        const kube_object_t *obj, void *arg) {}

static int sync_key(kube_controller_t *c, const char *key, void *arg) {
  kube_node_agent_t *a = arg;
  struct nd_pod *p = nd_pod_find(a, key);
  if (!p || p->job_running)
    return 0; /* a finished job enqueues it again */
  int rc = nd_sync_pod(a, p);
  a->stats.syncs++;
  return rc;
}

static kube_informer_t *informer(kube_node_agent_t *a, const char *path,
                                 const char *field_selector,
                                 kube_error_t *err) {
  kube_informer_options_t io = {
      .struct_size = sizeof io, .path = path, .field_selector = field_selector};
  return kube_informer_factory_informer(a->factory, &io, err);
}

static int setup_informers(kube_node_agent_t *a, kube_error_t *err) {
  cleanup_free char *fs = NULL, *own = NULL;
  if (a->cfg.own_pod_informer &&
      asprintf(&fs, "spec.nodeName=%s", a->cfg.node_name) < 0)
    return kube_make_oom(err);
  /* Per-object reads: what the Node authorizer lets a node read, its own
   * Node by name and configMaps and Secrets one watch each (sources.c). */
  bool shared = !a->cfg.per_object_reads;
  if (!shared && asprintf(&own, "metadata.name=%s", a->cfg.node_name) < 0)
    return kube_make_oom(err);
  if (!(a->pods = informer(a, "/api/v1/pods", fs, err)) ||
      kube_informer_add_index(a->pods, KUBE_INDEX_NODE_NAME,
                              kube_index_node_name, NULL, err) < 0 ||
      !(a->nodes = informer(a, "/api/v1/nodes", own, err)) ||
      (shared &&
       !(a->configmaps = informer(a, "/api/v1/configmaps", NULL, err))) ||
      (shared && !(a->secrets = informer(a, "/api/v1/secrets", NULL, err))) ||
      !(a->services = informer(a, "/api/v1/services", NULL, err)))
    return -1;
  kube_controller_options_t co = {.struct_size = sizeof co,
                                  .name = "node-agent",
                                  .max_in_flight = 4096,
                                  .base_delay_ms = 100,
                                  .max_delay_ms = 10000};
  if (!(a->ctl = kube_controller_new(a->loop, &co, sync_key, a, err)))
    return -1;
  if (kube_controller_watch(a->ctl, a->pods, map_pod, a, err) < 0 ||
      (shared && kube_controller_watch(a->ctl, a->configmaps, map_configmap, a,
                                       err) < 0) ||
      (shared &&
       kube_controller_watch(a->ctl, a->secrets, map_secret, a, err) < 0) ||
      kube_controller_watch(a->ctl, a->services, map_nothing, a, err) < 0 ||
      kube_controller_watch(a->ctl, a->nodes, map_node, a, err) < 0)
    return -1;
  return 0;
}

/* ---- life cycle --------------------------------------------------------- */

static void set_not_ready(kube_node_agent_t *a, const char *fmt,
                          const char *detail) {
  free(a->not_ready_message);
  if (asprintf(&a->not_ready_message, fmt, detail ? detail : "") < 0)
    a->not_ready_message = NULL;
}

KUBE_EXPORT kube_node_agent_t *
kube_node_agent_new(kube_loop_t *loop, const kube_transport_t *tp,
                    kube_informer_factory_t *informers,
                    const kube_node_agent_options_t *opts, kube_error_t *err) {
  if (!loop || !tp || !informers) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "the node agent needs a loop, a transport and informers");
    return NULL;
  }
  /* Requests go out as kubelet's (a caller's own User-Agent wins). */
  kube_transport_t tp_ua = *tp;
  if (!tp_ua.user_agent)
    tp_ua.user_agent = CORE_USER_AGENT("kubelet");
  tp = &tp_ua;
  kube_node_agent_options_t o = {0};
  core_opts_copy(&o, opts);
  kube_node_agent_t *a = calloc(1, sizeof *a);
  if (!a) {
    kube_make_oom(err);
    return NULL;
  }
  a->loop = loop;
  a->tp = *tp;
  a->factory = informers;
  a->adopting = true;
  if (nd_config_init(&a->cfg, &o, err) < 0)
    goto fail;
  if (!(a->pod_cidr = strdup(a->cfg.pod_cidr_flag)))
    goto oom;
  if (!(a->mailbox = calloc(1, sizeof *a->mailbox)))
    goto oom;
  pthread_mutex_init(&a->mailbox->lock, NULL);
  a->mailbox->refs = 1;
  a->mailbox->a = a;
  a->mailbox->loop = loop;
  if (pthread_key_create(&a->rt_key, rt_key_destroy) != 0)
    goto oom;
  a->rt_key_ok = true;
  if (core_mkdir_p(a->cfg.data_dir, 0700, err) < 0 ||
      core_mkdir_p(a->cfg.pods_dir, 0750, err) < 0 ||
      core_mkdir_p(a->cfg.logs_dir, 0755, err) < 0)
    goto fail;
  /* What the node needs to run pods; failures make it NotReady, never
   * fail the process it runs in. */
  kube_error_t e = KUBE_ERROR_INIT;
  a->runtime_ok = true;
  if (geteuid() != 0) {
    a->runtime_ok = false;
    set_not_ready(a, "container runtime is down: the node agent needs root%s",
                  NULL);
  } else if (!(a->rt = kube_runtime_new(a->cfg.runtime_root, &e))) {
    a->runtime_ok = false;
    set_not_ready(a, "container runtime is down: %s", e.message);
  }
  kube_error_clear(&e);
  kube_image_store_options_t so = {.struct_size = sizeof so,
                                   .data_dir = a->cfg.data_dir,
                                   .local_is_mirror =
                                       a->cfg.images_local_mirror};
  if (a->runtime_ok && !(a->images = kube_image_store_open(&so, &e))) {
    a->runtime_ok = false;
    set_not_ready(a, "container runtime is down: image store: %s", e.message);
  }
  kube_error_clear(&e);
  kube_cni_options_t cno = {.struct_size = sizeof cno,
                            .conf_dir = a->cfg.cni_conf_dir,
                            .bin_dirs = a->cfg.cni_bin_dir,
                            .cache_dir = a->cfg.cni_cache_dir};
  if (!(a->cni = kube_cni_new(&cno, &e))) {
    a->network_ok = false;
    set_not_ready(a,
                  "container runtime network not ready: NetworkReady=false "
                  "reason:NetworkPluginNotReady message:%s",
                  e.message);
  }
  kube_error_clear(&e);
  if (!(a->workers = kube_workers_new(loop, a->cfg.workers, err)) ||
      !(a->writer = kube_writer_new(loop, tp, err)))
    goto fail;
  kube_event_recorder_options_t ro = {.struct_size = sizeof ro,
                                      .component = "kubelet",
                                      .host = a->cfg.node_name};
  if (!(a->recorder = kube_event_recorder_new(loop, tp, &ro, err)) ||
      setup_informers(a, err) < 0 || nd_netpol_init(a, err) < 0 ||
      nd_node_init(a, err) < 0 || nd_ev_new(a, &o, err) < 0 ||
      nd_net_init(a, &o, err) < 0)
    goto fail;
  return a;
oom:
  kube_make_oom(err);
fail:
  kube_node_agent_free(a);
  return NULL;
}

static int start_informer(kube_informer_t *inf, kube_error_t *err) {
  return !inf || kube_informer_running(inf) ? 0 : kube_informer_start(inf, err);
}

KUBE_EXPORT int kube_node_agent_start(kube_node_agent_t *a, kube_error_t *err) {
  if (a->started)
    return 0;
  a->started = true;
  log_info("node %s: agent starting (runtime %s, pod CIDR %s, bridge %s)",
           a->cfg.node_name, a->cfg.runtime_root, a->pod_cidr,
           a->cfg.cni_bridge);
  if (start_informer(a->pods, err) < 0 || start_informer(a->nodes, err) < 0 ||
      start_informer(a->configmaps, err) < 0 ||
      start_informer(a->secrets, err) < 0 ||
      start_informer(a->services, err) < 0)
    return -1;
  nd_node_start(a);
  if (nd_netpol_start(a, err) < 0 || nd_stats_start(a, err) < 0 ||
      nd_net_start(a, err) < 0)
    return -1;
  nd_ev_start(a);
  kube_error_t se = KUBE_ERROR_INIT;
  if (nd_static_start(a, &se) < 0) /* before the adoption: it finds them */
    log_warn("node %s: static pods: %s", a->cfg.node_name, se.message);
  kube_error_clear(&se);
  if (nd_image_gc_start(a, &se) < 0)
    log_warn("node %s: image GC: %s", a->cfg.node_name, se.message);
  kube_error_clear(&se);
  if (!a->runtime_ok || nd_adopt_start(a, NULL) < 0) {
    a->adopting = false;
    return kube_controller_start(a->ctl, err);
  }
  return 0;
}

static void drain_check(void *arg) {
  kube_node_agent_t *a = arg;
  if (!a->drain_done)
    return;
  bool idle = kube_workers_pending(a->workers) == 0 &&
              kube_writer_in_flight(a->writer) == 0;
  if (!idle) {
    kube_timer_arm(a->drain_timer, 50);
    return;
  }
  void (*done)(void *) = a->drain_done;
  a->drain_done = NULL;
  done(a->drain_arg);
}

KUBE_EXPORT void kube_node_agent_drain(kube_node_agent_t *a,
                                       void (*done)(void *arg), void *arg) {
  a->draining = true;
  nd_node_stop(a);
  nd_stats_stop(a);
  nd_ev_stop(a);
  a->drain_done = done;
  a->drain_arg = arg;
  if (!a->drain_timer)
    a->drain_timer = kube_timer_new(a->loop, drain_check, a, NULL);
  if (a->drain_timer)
    kube_timer_arm(a->drain_timer, 0);
  else {
    a->drain_done = NULL;
    done(arg);
  }
}

KUBE_EXPORT void kube_node_agent_free(kube_node_agent_t *a) {
  if (!a)
    return;
  kube_controller_free(a->ctl);
  a->ctl = NULL;
  nd_netpol_free(a);
  nd_net_free(a);
  nd_static_free(a);
  nd_image_gc_free(a);
  nd_node_stop(a);
  nd_ev_stop(a);
  /* hooks wait for nothing more (the pool's free joins its threads) */
  for (size_t i = 0; i < a->n_pods; i++)
    for (size_t k = 0; k < a->pods_v[i]->n_ctrs; k++)
      if (a->pods_v[i]->ctrs[k].hook_cancel)
        __atomic_store_n(a->pods_v[i]->ctrs[k].hook_cancel, 1,
                         __ATOMIC_RELEASE);
  kube_workers_free(a->probe_workers);
  a->probe_workers = NULL;
  nd_stats_stop(a);
  kube_workers_free(a->workers); /* runs the done callbacks of its jobs */
  a->workers = NULL;
  nd_stats_free(a);
  kube_writer_free(a->writer);
  a->writer = NULL;
  kube_event_recorder_free(a->recorder);
  a->recorder = NULL;
  while (a->n_pods)
    nd_pod_remove(a, a->pods_v[a->n_pods - 1]);
  free(a->pods_v);
  nd_sources_free(a);
  nd_node_free(a);
  nd_ev_free(a);
  kube_timer_free(a->drain_timer);
  if (a->mailbox) {
    pthread_mutex_lock(&a->mailbox->lock);
    a->mailbox->a = NULL;
    pthread_mutex_unlock(&a->mailbox->lock);
    mailbox_unref(a->mailbox);
  }
  if (a->rt_key_ok)
    pthread_key_delete(a->rt_key);
  kube_runtime_free(a->rt);
  kube_image_store_free(a->images);
  kube_cni_free(a->cni);
  free(a->not_ready_message);
  free(a->pod_cidr);
  nd_config_clear(&a->cfg);
  free(a);
}

KUBE_EXPORT const char *kube_node_agent_name(const kube_node_agent_t *a) {
  return a->cfg.node_name;
}

KUBE_EXPORT void kube_node_agent_get_stats(const kube_node_agent_t *a,
                                           kube_node_agent_stats_t *out) {
  *out = a->stats;
  out->pods = a->n_pods;
  out->ready = nd_node_ready(a);
}

/* ---- dead instances ----------------------------------------------------- */

/* Instances older than a container's previous one go: their runtime
 * container, root file system and log (the kubelet keeps one dead
 * container per container for `logs --previous` and lastState). */
struct gc_item {
  char *id, *rootfs, *log;
};

struct gc_job {
  struct gc_item *items;
  size_t n;
};

static void gc_work(nd_job_t *j, kube_runtime_t *rt) {
  struct gc_job *g = j->data;
  for (size_t i = 0; i < g->n; i++) {
    kube_error_t e = KUBE_ERROR_INIT;
    if (g->items[i].id &&
        kube_runtime_delete(rt, g->items[i].id, true, &e) < 0 &&
        e.reason != KUBE_REASON_NOT_FOUND)
      log_warn("delete container %s: %s", g->items[i].id, e.message);
    kube_error_clear(&e);
    if (g->items[i].rootfs && j->a->images)
      kube_image_rootfs_release(j->a->images, g->items[i].rootfs, NULL);
    if (g->items[i].rootfs) {
      /* DATA/pods/<uid>/containers/<id>/fs: the container's directory */
      char *dir = strdup(g->items[i].rootfs);
      char *slash = dir ? strrchr(dir, '/') : NULL;
      if (slash) {
        *slash = '\0';
        nd_remove_tree(dir, NULL);
      }
      free(dir);
    }
    if (g->items[i].log)
      unlink(g->items[i].log);
  }
}

static void gc_free(nd_job_t *j) {
  struct gc_job *g = j->data;
  for (size_t i = 0; i < g->n; i++) {
    free(g->items[i].id);
    free(g->items[i].rootfs);
    free(g->items[i].log);
  }
  free(g->items);
  free(g);
}

void nd_instance_discard(kube_node_agent_t *a, struct nd_instance *in) {
  if (in->id || in->rootfs_dir || in->log_path) {
    struct gc_job *g = calloc(1, sizeof *g);
    nd_job_t *j = g ? nd_job_new(a, NULL, gc_work, NULL, g, gc_free) : NULL;
    if (j && (g->items = calloc(1, sizeof *g->items))) {
      g->items[0].id = steal_pointer(&in->id);
      g->items[0].rootfs = steal_pointer(&in->rootfs_dir);
      g->items[0].log = steal_pointer(&in->log_path);
      g->n = 1;
      nd_job_submit(j, NULL);
    } else if (j) {
      nd_job_submit(j, NULL);
    } else {
      free(g);
    }
  }
  nd_instance_clear(a, in);
}
