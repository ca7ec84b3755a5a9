/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Adoption after a restart: before the first sync, the agent reads what
 * its runtime root and pod directories hold — each pod's record
 * (pod.json), its runtime containers (by their annotations: pod, name,
 * restart count, images) with their state, exits recorded while no agent
 * ran included — and takes it over without touching a running container.
 * Leftovers nothing claims go: containers without a pod, CNI attachments
 * without a pod directory, instances older than the previous one.  Pods
 * the API no longer has are then stopped by the ordinary sync.
 */
#include <dirent.h>

#include "node/agent.h"

struct a_inst {
  char *uid, *name, *kind, *id;
  int attempt;
  kube_rt_state_t st;
};

struct a_pod {
  char *uid, *ns, *name, *state, *cgroup;
  bool host_network;
  char *ips[2];
  size_t n_ips;
  json_object *hostports;
};

struct adopt {
  struct a_inst *inst;
  size_t n_inst;
  struct a_pod *pods;
  size_t n_pods;
};

static const char *ann(const kube_rt_state_t *st, const char *key) {
  for (size_t i = 0; i < st->n_annotations; i++)
    if (streq(st->annotation_keys[i], key))
      return st->annotation_values[i];
  return NULL;
}

static void adopt_free(nd_job_t *j) {
  struct adopt *x = j->data;
  for (size_t i = 0; i < x->n_inst; i++) {
    free(x->inst[i].uid);
    free(x->inst[i].name);
    free(x->inst[i].kind);
    free(x->inst[i].id);
    kube_rt_state_clear(&x->inst[i].st);
  }
  free(x->inst);
  for (size_t i = 0; i < x->n_pods; i++) {
    struct a_pod *p = &x->pods[i];
    free(p->uid);
    free(p->ns);
    free(p->name);
    free(p->state);
    free(p->cgroup);
    for (size_t k = 0; k < p->n_ips; k++)
      free(p->ips[k]);
    json_object_put(p->hostports);
  }
  free(x->pods);
  free(x);
}

static char *dup_str(json_object *o, const char *key) {
  const char *s = kube_json_get_string(o, key);
  return s ? strdup(s) : NULL;
}

static void read_pods(kube_node_agent_t *a, struct adopt *x) {
  DIR *d = opendir(a->cfg.pods_dir);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s/pod.json", a->cfg.pods_dir, de->d_name);
    size_t len = 0;
    cleanup_free char *text = core_read_file(path, &len);
    json_object *o = text ? kube_json_parse(text, len, NULL) : NULL;
    const char *uid = o ? kube_json_get_string(o, "uid") : NULL;
    if (!uid || !streq(uid, de->d_name) ||
        !kube_json_get_string(o, "namespace") ||
        !kube_json_get_string(o, "name")) {
      /* a directory without a valid record: a pod dead before it got one */
      char dir[4200];
      snprintf(dir, sizeof dir, "%s/%s", a->cfg.pods_dir, de->d_name);
      snprintf(path, sizeof path, "%s/ns", dir);
      kube_runtime_sandbox_unpin(nd_worker_runtime(a, NULL), path, NULL);
      nd_remove_tree(dir, NULL);
      json_object_put(o);
      continue;
    }
    struct a_pod *np = realloc(x->pods, (x->n_pods + 1) * sizeof *np);
    if (!np) {
      json_object_put(o);
      break;
    }
    x->pods = np;
    struct a_pod *p = &x->pods[x->n_pods++];
    memset(p, 0, sizeof *p);
    p->uid = dup_str(o, "uid");
    p->ns = dup_str(o, "namespace");
    p->name = dup_str(o, "name");
    p->state = dup_str(o, "state");
    p->cgroup = dup_str(o, "cgroup");
    json_object *hn = kube_json_get(o, "hostNetwork");
    p->host_network = hn && json_object_get_boolean(hn);
    json_object *ips = kube_json_get(o, "ips");
    for (size_t k = 0; ips && k < json_object_array_length(ips) && k < 2; k++)
      p->ips[p->n_ips++] =
          strdup(json_object_get_string(json_object_array_get_idx(ips, k)));
    p->hostports = json_object_get(kube_json_get(o, "hostPorts"));
    json_object_put(o);
  }
  if (d)
    closedir(d);
}

static bool pod_known(const struct adopt *x, const char *uid) {
  for (size_t i = 0; i < x->n_pods; i++)
    if (x->pods[i].uid && streq(x->pods[i].uid, uid))
      return true;
  return false;
}

static void adopt_work(nd_job_t *j, kube_runtime_t *rt) {
  kube_node_agent_t *a = j->a;
  struct adopt *x = j->data;
  read_pods(a, x);
  char **ids = NULL;
  size_t n = 0;
  if (kube_runtime_list(rt, &ids, &n, &j->err) < 0) {
    j->rc = -1;
    return;
  }
  x->inst = calloc(n + 1, sizeof *x->inst);
  for (size_t i = 0; x->inst && i < n; i++) {
    struct a_inst *in = &x->inst[x->n_inst];
    if (kube_runtime_state(rt, ids[i], &in->st, NULL) < 0)
      continue;
    const char *uid = ann(&in->st, ND_ANN_POD_UID);
    const char *name = ann(&in->st, ND_ANN_NAME);
    const char *att = ann(&in->st, ND_ANN_RESTARTS);
    if (!uid || !name || !att || !pod_known(x, uid) ||
        in->st.status == KUBE_RT_CREATED || in->st.status == KUBE_RT_CREATING) {
      /* not ours to keep: no pod claims it, or it never started */
      kube_error_t e = KUBE_ERROR_INIT;
      if (kube_runtime_delete(rt, ids[i], true, &e) < 0)
        log_warn("adopt: delete %s: %s", ids[i], e.message);
      kube_error_clear(&e);
      const char *fs = ann(&in->st, ND_ANN_ROOTFS);
      if (fs && a->images) {
        char dir[4300];
        snprintf(dir, sizeof dir, "%s/fs", fs);
        kube_image_rootfs_release(a->images, dir, NULL);
      }
      kube_rt_state_clear(&in->st);
      continue;
    }
    in->uid = strdup(uid);
    in->name = strdup(name);
    in->kind = strdup(ann(&in->st, ND_ANN_KIND) ?: "app");
    in->id = strdup(ids[i]);
    in->attempt = atoi(att);
    x->n_inst++;
  }
  for (size_t i = 0; i < n; i++)
    free(ids[i]);
  free(ids);
  /* CNI attachments whose pod directory is gone (an agent killed between
   * ADD and its record, or a directory removed by hand) */
  char **cids = NULL;
  size_t nc = 0;
  if (a->cni && kube_cni_cached_ids(a->cni, &cids, &nc, NULL) == 0) {
    for (size_t i = 0; i < nc; i++) {
      if (!pod_known(x, cids[i])) {
        kube_cni_attachment_t at = {.struct_size = sizeof at,
                                    .container_id = cids[i]};
        kube_error_t e = KUBE_ERROR_INIT;
        if (kube_cni_del(a->cni, &at, &e) < 0)
          log_warn("adopt: CNI DEL %s: %s", cids[i], e.message);
        kube_error_clear(&e);
      }
      free(cids[i]);
    }
    free(cids);
  }
}

static void fill_instance(struct nd_instance *in, struct a_inst *ai,
                          const char *pod_dir) {
  kube_rt_state_t *st = &ai->st;
  in->id = steal_pointer(&ai->id);
  in->attempt = ai->attempt;
  in->created = st->created;
  in->started = st->started.tv_sec ? st->started : st->created;
  in->log_path = st->log_path ? strdup(st->log_path) : NULL;
  const char *v;
  if ((v = ann(st, ND_ANN_IMAGE)))
    in->image = strdup(v);
  if ((v = ann(st, ND_ANN_IMAGE_ID)))
    in->image_id = strdup(v);
  if ((v = ann(st, ND_ANN_IMAGE_REF)))
    in->image_ref = strdup(v);
  if ((v = ann(st, ND_ANN_STOP_SIGNAL)))
    in->stop_signal = strdup(v);
  if ((v = ann(st, ND_ANN_ROOTFS)) && asprintf(&in->rootfs_dir, "%s/fs", v) < 0)
    in->rootfs_dir = NULL;
  if (st->status == KUBE_RT_STOPPED) {
    in->state = ND_EXITED;
    if (st->exited) {
      in->exit_code = st->exit.exit_code;
      in->signal = st->exit.signal;
      in->oom = st->exit.oom_killed;
      in->finished = st->exit.finished_at;
      in->reason = strdup(st->exit.reason[0] ? st->exit.reason : "Error");
    } else {
      in->exit_code = 137;
      clock_gettime(CLOCK_REALTIME, &in->finished);
      in->reason = strdup("ContainerStatusUnknown");
    }
  } else {
    in->state = ND_RUNNING;
  }
  (void)pod_dir;
}

static void rebind_hostports(struct nd_pod *p, json_object *hp);

/* The pod's record of container `name`, added with `kind` when missing;
 * NULL without memory. */
static struct nd_ctr *ctr_get(struct nd_pod *p, const char *name,
                              enum nd_kind kind) {
  struct nd_ctr *c = nd_pod_ctr(p, name);
  if (c)
    return c;
  struct nd_ctr *v = realloc(p->ctrs, (p->n_ctrs + 1) * sizeof *v);
  if (!v)
    return NULL;
  p->ctrs = v;
  c = &p->ctrs[p->n_ctrs++];
  memset(c, 0, sizeof *c);
  c->name = strdup(name);
  c->kind = kind;
  return c;
}

static void adopt_done(nd_job_t *j) {
  kube_node_agent_t *a = j->a;
  struct adopt *x = j->data;
  a->adopting = false;
  if (j->rc < 0)
    log_warn("node %s: adoption failed: %s", a->cfg.node_name,
             j->err.message ? j->err.message : "");
  size_t n_running = 0;
  for (size_t i = 0; i < x->n_pods; i++) {
    struct a_pod *ap = &x->pods[i];
    struct nd_pod *p = nd_pod_find(a, ap->uid);
    if (!p && !(p = nd_pod_add(a, ap->uid, ap->ns, ap->name)))
      continue;
    p->adopted = true;
    p->admitted = true;
    p->host_network = ap->host_network;
    free(p->cgroup);
    p->cgroup = ap->cgroup ? strdup(ap->cgroup) : NULL;
    bool ready = ap->state && streq(ap->state, "ready");
    char ns_dir[4200];
    snprintf(ns_dir, sizeof ns_dir, "%s/ns", p->dir);
    if (ready && !ap->host_network &&
        !(kube_runtime_sandbox_pinned(ns_dir) & (1u << KUBE_NS_NETWORK)))
      ready = false;
    /* a shared PID namespace whose pause died takes no process */
    if (ready && (kube_runtime_sandbox_pinned(ns_dir) & (1u << KUBE_NS_PID)) &&
        !kube_runtime_sandbox_pause_alive(ns_dir))
      ready = false;
    /* a sandbox an agent did not finish is made again (after a DEL) */
    p->sandbox = ready ? ND_SB_READY : ND_SB_FAILED;
    p->sandbox_retry_ms = 0;
    for (size_t k = 0; k < ap->n_ips; k++)
      p->ips[p->n_ips++] = steal_pointer(&ap->ips[k]);
    if (!ap->host_network && ap->n_ips == 0 && ready)
      p->sandbox = ND_SB_FAILED;
    free(p->netns);
    p->netns = NULL;
    if (ready && !ap->host_network &&
        asprintf(&p->netns, "%s/ns/net", p->dir) < 0)
      p->netns = NULL;
    rebind_hostports(p, ap->hostports);
  }
  /* instances: per pod and container, the newest is the current one, the
   * one before it the previous one (logs -p); older ones go */
  for (size_t i = 0; i < x->n_inst; i++) {
    struct a_inst *ai = &x->inst[i];
    if (!ai->id)
      continue;
    struct nd_pod *p = nd_pod_find(a, ai->uid);
    if (!p)
      continue;
    struct nd_ctr *c = ctr_get(p, ai->name,
                               streq(ai->kind, "init")        ? ND_INIT
                               : streq(ai->kind, "sidecar")   ? ND_SIDECAR
                               : streq(ai->kind, "ephemeral") ? ND_EPHEMERAL
                                                              : ND_APP);
    if (!c)
      continue;
    if (!c->has_cur || ai->attempt > c->cur.attempt) {
      if (c->has_cur) {
        nd_instance_discard(a, &c->prev);
        c->prev = c->cur;
        c->has_prev = true;
        memset(&c->cur, 0, sizeof c->cur);
      }
      fill_instance(&c->cur, ai, p->dir);
      c->has_cur = true;
      c->restarts = c->cur.attempt;
    } else if (!c->has_prev || ai->attempt > c->prev.attempt) {
      nd_instance_discard(a, &c->prev);
      fill_instance(&c->prev, ai, p->dir);
      c->has_prev = true;
    } else {
      struct nd_instance old = {0};
      fill_instance(&old, ai, p->dir);
      nd_instance_discard(a, &old);
    }
  }
  /* restart counts of attempts that left no container (StartError) */
  for (size_t i = 0; i < a->n_pods; i++) {
    struct nd_pod *p = a->pods_v[i];
    char dir[4300];
    snprintf(dir, sizeof dir, "%s/containers", p->dir);
    DIR *d = p->adopted ? opendir(dir) : NULL;
    struct dirent *de;
    while (d && (de = readdir(d))) {
      if (!str_has_suffix(de->d_name, ".attempt"))
        continue;
      char name[256];
      snprintf(name, sizeof name, "%.*s",
               (int)(strlen(de->d_name) - strlen(".attempt")), de->d_name);
      char path[4600];
      snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
      cleanup_free char *num = core_read_file(path, NULL);
      if (!num || !*name)
        continue;
      /* the spec says what it is at the first sync */
      struct nd_ctr *c = ctr_get(p, name, ND_APP);
      if (!c)
        continue;
      if (atoi(num) > c->restarts)
        c->restarts = atoi(num);
    }
    if (d)
      closedir(d);
  }
  /* the containers keep running: watch their exits */
  for (size_t i = 0; i < a->n_pods; i++) {
    struct nd_pod *p = a->pods_v[i];
    for (size_t k = 0; k < p->n_ctrs; k++) {
      struct nd_instance *in = &p->ctrs[k].cur;
      if (!p->ctrs[k].has_cur || in->state != ND_RUNNING)
        continue;
      pid_t pid = 0;
      for (size_t m = 0; m < x->n_inst; m++)
        if (x->inst[m].st.id && in->id && streq(x->inst[m].st.id, in->id))
          pid = x->inst[m].st.pid;
      nd_watch_exit(a, p, in, pid);
      n_running++;
    }
    nd_pod_enqueue(a, p, 0);
  }
  a->stats.containers_running += n_running;
  if (x->n_pods || x->n_inst)
    log_info("node %s: adopted %zu pods, %zu running containers",
             a->cfg.node_name, x->n_pods, n_running);
  kube_error_t e = KUBE_ERROR_INIT;
  if (a->ctl && kube_controller_start(a->ctl, &e) < 0)
    log_error("node %s: %s", a->cfg.node_name, e.message);
  kube_error_clear(&e);
}

/* The agent that held the pod's hostPort reservations is gone: hold them
 * again (a port somebody took meanwhile stays mapped to the pod). */
static void rebind_hostports(struct nd_pod *p, json_object *hp) {
  size_t n = hp ? json_object_array_length(hp) : 0;
  if (!n || !(p->hostports = calloc(n, sizeof *p->hostports)))
    return;
  for (size_t i = 0; i < n; i++) {
    json_object *o = json_object_array_get_idx(hp, i);
    struct nd_hostport *h = &p->hostports[p->n_hostports];
    h->fd = -1;
    h->port = json_object_get_int(kube_json_get(o, "port"));
    snprintf(h->proto, sizeof h->proto, "%s",
             kube_json_get_string(o, "protocol") ?: "tcp");
    const char *ip = kube_json_get_string(o, "hostIP");
    h->host_ip = ip ? strdup(ip) : NULL;
    kube_error_t e = KUBE_ERROR_INIT;
    if (nd_hostport_reserve(h, &e) < 0)
      log_warn("pod %s/%s: %s", p->ns, p->name, e.message);
    kube_error_clear(&e);
    p->n_hostports++;
  }
}

int nd_adopt_start(kube_node_agent_t *a, kube_error_t *err) {
  struct adopt *x = calloc(1, sizeof *x);
  if (!x)
    return kube_make_oom(err);
  nd_job_t *j = nd_job_new(a, NULL, adopt_work, adopt_done, x, adopt_free);
  if (!j) {
    free(x);
    return kube_make_oom(err);
  }
  return nd_job_submit(j, err);
}
