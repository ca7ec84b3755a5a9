/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A pod's sandbox and its teardown.  The sandbox is what outlives its
 * containers: namespaces pinned under DATA/pods/<uid>/ns (net, ipc, uts;
 * those the pod shares with the host are left out; pid, held by a pause
 * process in <pod cgroup>/pause, for shareProcessNamespace), the network
 * through CNI with hostPorts reserved on the node (bound sockets, as the
 * kubelet's hostport manager held them, so a port some process already holds
 * fails the sandbox instead of stealing its traffic), the pod cgroup with the
 * pod's limits, /etc/hosts, /etc/hostname, /etc/resolv.conf and the
 * volumes.  pod.json records it all for an agent adopting it later.
 */
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "node/agent.h"

/* ---- pod.json ----------------------------------------------------------- */

int nd_pod_record_write(const struct nd_pod *p, const char *state,
                        kube_error_t *err) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "uid", json_object_new_string(p->uid));
  json_object_object_add(o, "namespace", json_object_new_string(p->ns));
  json_object_object_add(o, "name", json_object_new_string(p->name));
  json_object_object_add(o, "state", json_object_new_string(state));
  json_object_object_add(o, "hostNetwork",
                         json_object_new_boolean(p->host_network));
  if (p->cgroup)
    json_object_object_add(o, "cgroup", json_object_new_string(p->cgroup));
  json_object *ips = json_object_new_array();
  for (size_t i = 0; i < p->n_ips; i++)
    json_object_array_add(ips, json_object_new_string(p->ips[i]));
  json_object_object_add(o, "ips", ips);
  json_object *hp = json_object_new_array();
  for (size_t i = 0; i < p->n_hostports; i++) {
    json_object *h = json_object_new_object();
    json_object_object_add(h, "port",
                           json_object_new_int(p->hostports[i].port));
    json_object_object_add(h, "protocol",
                           json_object_new_string(p->hostports[i].proto));
    if (p->hostports[i].host_ip)
      json_object_object_add(h, "hostIP",
                             json_object_new_string(p->hostports[i].host_ip));
    json_object_array_add(hp, h);
  }
  json_object_object_add(o, "hostPorts", hp);
  const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
  char path[4200];
  snprintf(path, sizeof path, "%s/pod.json", p->dir);
  int rc = core_write_file(path, text, strlen(text), 0600, err);
  json_object_put(o);
  return rc;
}

/* ---- hostPorts ---------------------------------------------------------- */

void nd_hostports_close(struct nd_pod *p) {
  for (size_t i = 0; i < p->n_hostports; i++) {
    if (p->hostports[i].fd >= 0)
      close(p->hostports[i].fd);
    p->hostports[i].fd = -1;
    free(p->hostports[i].host_ip);
    p->hostports[i].host_ip = NULL;
  }
  p->n_hostports = 0;
}

/* Bind (and for TCP listen on) hostIP:port; -1 with the kubelet's words. */
int nd_hostport_reserve(struct nd_hostport *h, kube_error_t *err) {
  bool udp = streq(h->proto, "udp");
  bool v6 = h->host_ip && strchr(h->host_ip, ':');
  int fd = socket(v6 ? AF_INET6 : AF_INET,
                  (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return kube_make_error(err, errno, "socket: %s", strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len;
  if (v6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)h->port);
    inet_pton(AF_INET6, h->host_ip, &s6->sin6_addr);
    len = sizeof *s6;
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)h->port);
    if (h->host_ip && *h->host_ip &&
        inet_pton(AF_INET, h->host_ip, &s4->sin_addr) != 1) {
      close(fd);
      return kube_error_set(err, KUBE_REASON_INVALID, 0, "invalid hostIP %s",
                            h->host_ip);
    }
    len = sizeof *s4;
  }
  if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
      (!udp && listen(fd, 1) < 0)) {
    int e = errno;
    close(fd);
    return kube_error_set(err, KUBE_REASON_CONFLICT, e,
                          "cannot open hostport %d for pod: listen %s4 %s:%d: "
                          "bind: %s",
                          h->port, udp ? "udp" : "tcp",
                          h->host_ip ? h->host_ip : "", h->port, strerror(e));
  }
  h->fd = fd;
  return 0;
}

/* ---- the sandbox job ---------------------------------------------------- */

struct sb_job {
  /* in */
  struct nd_pod snap; /* uid, ns, name, dir, host_network (strings borrowed
                         from the copies below) */
  char *uid, *ns, *name, *dir, *cgroup, *hostname;
  char *hosts_head, *hosts_line, *hosts_tail; /* IP inserted on the worker */
  char *hosts_full;                           /* host network */
  char *resolv;
  unsigned mask;
  char **sysctl_keys, **sysctl_values;
  size_t n_sysctl;
  kube_rt_resources_t res;
  int64_t pids;
  struct nd_hostport *ports;
  size_t n_ports;
  kube_cni_port_mapping_t *maps;
  size_t n_maps;
  nd_volumes_t *volumes;
  bool redo; /* an adopted sandbox an agent did not finish: DEL first */
  /* out */
  kube_cni_result_t result;
  bool netns_done;
};

static void sb_free(nd_job_t *j) {
  struct sb_job *s = j->data;
  free(s->uid);
  free(s->ns);
  free(s->name);
  free(s->dir);
  free(s->cgroup);
  free(s->hostname);
  free(s->hosts_head);
  free(s->hosts_line);
  free(s->hosts_tail);
  free(s->hosts_full);
  free(s->resolv);
  for (size_t i = 0; i < s->n_sysctl; i++) {
    free(s->sysctl_keys[i]);
    free(s->sysctl_values[i]);
  }
  free(s->sysctl_keys);
  free(s->sysctl_values);
  for (size_t i = 0; i < s->n_ports; i++) {
    if (s->ports[i].fd >= 0)
      close(s->ports[i].fd);
    free(s->ports[i].host_ip);
  }
  free(s->ports);
  free(s->maps);
  nd_volumes_free(s->volumes);
  kube_cni_result_clear(&s->result);
  free(s);
}

static int write_pod_file(const char *dir, const char *name, const char *text,
                          kube_error_t *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return core_write_file(path, text, strlen(text), 0644, err);
}

static void sb_undo(nd_job_t *j, kube_runtime_t *rt) {
  struct sb_job *s = j->data;
  kube_node_agent_t *a = j->a;
  char ns_dir[4200];
  snprintf(ns_dir, sizeof ns_dir, "%s/ns", s->dir);
  if (!s->snap.host_network && a->cni) {
    char netns[4300];
    snprintf(netns, sizeof netns, "%s/net", ns_dir);
    kube_cni_attachment_t at = {.struct_size = sizeof at,
                                .container_id = s->uid,
                                .netns = netns,
                                .pod_namespace = s->ns,
                                .pod_name = s->name,
                                .pod_uid = s->uid,
                                .port_mappings = s->maps,
                                .n_port_mappings = s->n_maps};
    kube_cni_del(a->cni, &at, NULL);
  }
  kube_runtime_sandbox_unpin(rt, ns_dir, NULL);
  if (s->cgroup)
    kube_runtime_pod_cgroup_remove(rt, s->cgroup, 2000, NULL);
  for (size_t i = 0; i < s->n_ports; i++)
    if (s->ports[i].fd >= 0) {
      close(s->ports[i].fd);
      s->ports[i].fd = -1;
    }
}

static void sb_work(nd_job_t *j, kube_runtime_t *rt) {
  struct sb_job *s = j->data;
  kube_node_agent_t *a = j->a;
  kube_error_t *err = &j->err;
  char ns_dir[4200];
  cleanup_free char *made = NULL; /* before any goto: its cleanup runs */
  snprintf(ns_dir, sizeof ns_dir, "%s/ns", s->dir);
  j->rc = -1;
  if (core_mkdir_p(s->dir, 0750, err) < 0 ||
      nd_pod_record_write(&s->snap, "creating", err) < 0)
    return;
  nd_job_mark(j, "record");
  /* whatever a killed agent left half made goes first */
  if (s->redo)
    sb_undo(j, rt);
  if (kube_runtime_sandbox_pinned(ns_dir))
    kube_runtime_sandbox_unpin(rt, ns_dir, NULL);
  for (size_t i = 0; i < s->n_ports; i++)
    if (nd_hostport_reserve(&s->ports[i], err) < 0)
      goto undo;
  if (kube_runtime_pod_cgroup_create(rt, s->cgroup, &s->res, err) < 0) {
    kube_error_wrap(err, "pod cgroup %s", s->cgroup);
    goto undo;
  }
  nd_job_mark(j, "cgroup");
  if (s->pids > 0) {
    kube_rt_resources_t pr = {.memory_limit = -1,
                              .memory_swap = -1,
                              .cpu_shares = -1,
                              .cpu_quota = -1,
                              .cpu_period = -1,
                              .pids_limit = s->pids};
    kube_runtime_pod_cgroup_update(rt, s->cgroup, &pr, NULL);
  }
  if (s->mask) {
    char pause_cg[4200];
    snprintf(pause_cg, sizeof pause_cg, "%s/pause", s->cgroup ? s->cgroup : "");
    kube_sandbox_options_t so = {
        .struct_size = sizeof so,
        .namespaces = s->mask,
        .hostname = (s->mask & (1u << KUBE_NS_UTS)) ? s->hostname : NULL,
        .sysctl_keys = s->sysctl_keys,
        .sysctl_values = s->sysctl_values,
        .n_sysctl = s->n_sysctl,
        .pause_cgroup = s->cgroup ? pause_cg : NULL};
    if (kube_runtime_sandbox_pin(rt, ns_dir, &so, err) < 0)
      goto undo;
  }
  nd_job_mark(j, "pin");
  char ip[64] = "";
  if (!s->snap.host_network) {
    char netns[4300];
    snprintf(netns, sizeof netns, "%s/net", ns_dir);
    kube_cni_attachment_t at = {.struct_size = sizeof at,
                                .container_id = s->uid,
                                .netns = netns,
                                .pod_namespace = s->ns,
                                .pod_name = s->name,
                                .pod_uid = s->uid,
                                .port_mappings = s->maps,
                                .n_port_mappings = s->n_maps};
    if (!a->cni) {
      kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                     "cni plugin not initialized");
      goto undo;
    }
    if (kube_cni_add(a->cni, &at, &s->result, err) < 0) {
      kube_error_wrap(err, "failed to set up network for sandbox of pod %s_%s",
                      s->name, s->ns);
      goto undo;
    }
    s->netns_done = true;
    nd_job_mark(j, "cni");
    if (!kube_cni_result_ip(&s->result, 0, ip, sizeof ip)) {
      kube_error_set(err, KUBE_REASON_INTERNAL, 0,
                     "the network of pod %s_%s has no address", s->name, s->ns);
      goto undo;
    }
  }
  char *hosts = s->hosts_full;
  if (!hosts && asprintf(&made, "%s%s\t%s\n%s", s->hosts_head, ip,
                         s->hosts_line, s->hosts_tail) >= 0)
    hosts = made;
  char hn[300];
  snprintf(hn, sizeof hn, "%s\n", s->hostname);
  if (!hosts || write_pod_file(s->dir, "etc-hosts", hosts, err) < 0 ||
      write_pod_file(s->dir, "hostname", hn, err) < 0 ||
      write_pod_file(s->dir, "resolv.conf", s->resolv, err) < 0)
    goto undo;
  if (s->volumes && nd_volumes_write(s->volumes, s->dir, err) < 0)
    goto undo;
  nd_job_mark(j, "files");
  j->rc = 0;
  return;
undo:
  sb_undo(j, rt);
}

static void sb_done(nd_job_t *j) {
  struct sb_job *s = j->data;
  kube_node_agent_t *a = j->a;
  struct nd_pod *p = nd_pod_find(a, s->uid);
  if (!p) {
    /* Nothing keeps this sandbox any more: a later sweep (adoption)
     * would find it; undo now to leave nothing. */
    return;
  }
  if (j->rc < 0) {
    p->sandbox = ND_SB_FAILED;
    free(p->sandbox_error);
    p->sandbox_error = strdup(j->err.message ? j->err.message : "failed");
    p->sandbox_backoff_ms =
        p->sandbox_backoff_ms
            ? (p->sandbox_backoff_ms * 2 > 60000 ? 60000
                                                 : p->sandbox_backoff_ms * 2)
            : 1000;
    p->sandbox_retry_ms = nd_now_ms() + p->sandbox_backoff_ms;
    nd_pod_event(a, p, "Warning", "FailedCreatePodSandBox", NULL,
                 "Failed to create pod sandbox: %s", p->sandbox_error);
    return;
  }
  p->sandbox = ND_SB_READY;
  p->sandbox_backoff_ms = 0;
  free(p->sandbox_error);
  p->sandbox_error = NULL;
  free(p->netns);
  p->netns = NULL;
  if (!p->host_network && asprintf(&p->netns, "%s/ns/net", p->dir) < 0)
    p->netns = NULL;
  for (size_t i = 0; i < p->n_ips; i++)
    free(p->ips[i]);
  p->n_ips = 0;
  /* one address of each family, the first one first (status.podIPs) */
  bool have4 = false, have6 = false;
  for (size_t i = 0; i < s->result.n_ips && p->n_ips < 2; i++) {
    char ip[64];
    bool v6 = s->result.ips[i].ipv6;
    if ((v6 && have6) || (!v6 && have4) ||
        !kube_cni_result_ip(&s->result, i, ip, sizeof ip))
      continue;
    if (v6)
      have6 = true;
    else
      have4 = true;
    p->ips[p->n_ips++] = strdup(ip);
  }
  /* the reservations move to the pod */
  nd_hostports_close(p);
  free(p->hostports);
  p->hostports = steal_pointer(&s->ports);
  p->n_hostports = s->n_ports;
  s->n_ports = 0;
  free(p->volumes_digest);
  p->volumes_digest = s->volumes ? strdup(nd_volumes_digest(s->volumes)) : NULL;
  free(p->mount_error);
  p->mount_error = NULL;
  nd_pod_record_write(p, "ready", NULL);
}

/* The namespaced sysctls a pod may set: the safe set, and the unsafe ones
 * the node allows.  Returns the forbidden name, or NULL. */
static const char *const safe_sysctls[] = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
};

static bool sysctl_allowed(kube_node_agent_t *a, const char *name) {
  for (size_t i = 0; i < ARRAY_SIZE(safe_sysctls); i++)
    if (streq(name, safe_sysctls[i]))
      return true;
  for (size_t i = 0; a->cfg.unsafe_sysctls[i]; i++) {
    const char *pat = a->cfg.unsafe_sysctls[i];
    size_t n = strlen(pat);
    if (n && pat[n - 1] == '*' ? strncmp(name, pat, n - 1) == 0
                               : streq(name, pat))
      return true;
  }
  return false;
}

const char *nd_forbidden_sysctl(kube_node_agent_t *a, json_object *spec) {
  json_object *sc = kube_json_get(spec, "securityContext.sysctls");
  for (size_t i = 0; sc && i < json_object_array_length(sc); i++) {
    const char *name =
        kube_json_get_string(json_object_array_get_idx(sc, i), "name");
    if (name && !sysctl_allowed(a, name))
      return name;
  }
  return NULL;
}

int nd_sandbox_create(kube_node_agent_t *a, struct nd_pod *p,
                      const kube_object_t *pod, kube_error_t *err) {
  json_object *spec = nd_spec(pod);
  struct sb_job *s = calloc(1, sizeof *s);
  if (!s)
    return kube_make_oom(err);
  p->host_network = nd_spec_bool(spec, "hostNetwork");
  s->uid = strdup(p->uid);
  s->ns = strdup(p->ns);
  s->name = strdup(p->name);
  s->dir = strdup(p->dir);
  s->hostname = nd_pod_hostname(pod);
  s->redo = p->adopted;
  free(p->cgroup);
  p->cgroup = kube_pod_cgroup_path(a->cfg.cgroup_parent, nd_qos(spec), p->uid);
  s->cgroup = p->cgroup ? strdup(p->cgroup) : NULL;
  s->snap = (struct nd_pod){.uid = s->uid,
                            .ns = s->ns,
                            .name = s->name,
                            .dir = s->dir,
                            .cgroup = s->cgroup,
                            .host_network = p->host_network};
  s->mask = 0;
  if (!p->host_network)
    s->mask |= 1u << KUBE_NS_NETWORK | 1u << KUBE_NS_UTS;
  if (!nd_spec_bool(spec, "hostIPC"))
    s->mask |= 1u << KUBE_NS_IPC;
  /* shareProcessNamespace: one PID namespace, a pause process its PID 1 */
  if (nd_spec_bool(spec, "shareProcessNamespace") &&
      !nd_spec_bool(spec, "hostPID"))
    s->mask |= 1u << KUBE_NS_PID;
  nd_pod_resources(spec, &s->res);
  s->pids = a->cfg.pod_pids_limit;
  kube_error_t e = KUBE_ERROR_INIT;
  s->resolv = nd_resolv_conf(a, pod, &e);
  if (!s->resolv) {
    kube_error_move(err, &e);
    sb_free(&(nd_job_t){.data = s});
    return -1;
  }
  if (p->host_network) {
    s->hosts_full = nd_hosts_file(a, pod, NULL, true);
  } else {
    /* the pod's own line gets its address on the worker */
    char *head = nd_hosts_file(a, pod, NULL, false);
    char *mark = head ? strstr(head, "fe00::2\tip6-allrouters\n") : NULL;
    if (mark) {
      mark += strlen("fe00::2\tip6-allrouters\n");
      s->hosts_tail = strdup(mark);
      *mark = '\0';
    }
    s->hosts_head = head;
    cleanup_free char *hn = nd_pod_hostname(pod);
    const char *sub = kube_json_get_string(spec, "subdomain");
    if (sub && *sub) {
      if (asprintf(&s->hosts_line, "%s.%s.%s.svc.%s\t%s", hn, sub, p->ns,
                   a->cfg.cluster_domain, hn) < 0)
        s->hosts_line = NULL;
    } else {
      s->hosts_line = hn ? strdup(hn) : NULL;
    }
  }
  json_object *sysctls = kube_json_get(spec, "securityContext.sysctls");
  size_t ns = sysctls ? json_object_array_length(sysctls) : 0;
  s->sysctl_keys = calloc(ns + 1, sizeof(char *));
  s->sysctl_values = calloc(ns + 1, sizeof(char *));
  for (size_t i = 0; s->sysctl_keys && s->sysctl_values && i < ns; i++) {
    json_object *x = json_object_array_get_idx(sysctls, i);
    s->sysctl_keys[s->n_sysctl] = strdup(kube_json_get_string(x, "name") ?: "");
    s->sysctl_values[s->n_sysctl++] =
        strdup(kube_json_get_string(x, "value") ?: "");
  }
  /* hostPorts of every container (init containers too) */
  const char *lists[] = {"initContainers", "containers"};
  for (size_t l = 0; l < 2; l++) {
    json_object *cs = kube_json_get(spec, lists[l]);
    for (size_t i = 0; cs && i < json_object_array_length(cs); i++) {
      json_object *ports =
          kube_json_get(json_object_array_get_idx(cs, i), "ports");
      for (size_t k = 0; ports && k < json_object_array_length(ports); k++) {
        json_object *pt = json_object_array_get_idx(ports, k);
        json_object *hp = kube_json_get(pt, "hostPort");
        json_object *cp = kube_json_get(pt, "containerPort");
        if (!hp || json_object_get_int(hp) <= 0 || !cp)
          continue;
        const char *proto = kube_json_get_string(pt, "protocol") ?: "TCP";
        const char *hip = kube_json_get_string(pt, "hostIP");
        struct nd_hostport *np =
            realloc(s->ports, (s->n_ports + 1) * sizeof *np);
        kube_cni_port_mapping_t *nm =
            realloc(s->maps, (s->n_maps + 1) * sizeof *nm);
        if (np)
          s->ports = np;
        if (nm)
          s->maps = nm;
        if (!np || !nm)
          continue;
        struct nd_hostport *h = &s->ports[s->n_ports++];
        memset(h, 0, sizeof *h);
        h->fd = -1;
        h->port = json_object_get_int(hp);
        snprintf(h->proto, sizeof h->proto, "%s",
                 streq(proto, "UDP")    ? "udp"
                 : streq(proto, "SCTP") ? "sctp"
                                        : "tcp");
        h->host_ip = hip && *hip ? strdup(hip) : NULL;
        s->maps[s->n_maps++] =
            (kube_cni_port_mapping_t){.host_port = h->port,
                                      .container_port = json_object_get_int(cp),
                                      .protocol = h->proto,
                                      .host_ip = h->host_ip};
      }
    }
  }
  if (p->host_network) {
    /* the container binds the port itself; nothing to reserve or map */
    for (size_t i = 0; i < s->n_ports; i++)
      free(s->ports[i].host_ip);
    s->n_ports = s->n_maps = 0;
  }
  s->volumes = nd_volumes_plan(a, p, pod, &e);
  if (!s->volumes) {
    kube_error_move(err, &e);
    sb_free(&(nd_job_t){.data = s});
    return -1;
  }
  if (!s->uid || !s->ns || !s->name || !s->dir || !s->cgroup || !s->hostname ||
      !s->resolv ||
      (!p->host_network &&
       (!s->hosts_head || !s->hosts_line || !s->hosts_tail)) ||
      (p->host_network && !s->hosts_full)) {
    sb_free(&(nd_job_t){.data = s});
    return kube_make_oom(err);
  }
  nd_job_t *j = nd_job_new(a, p->uid, sb_work, sb_done, s, sb_free);
  if (!j) {
    sb_free(&(nd_job_t){.data = s});
    return kube_make_oom(err);
  }
  return nd_job_submit(j, err);
}

/* ---- teardown ----------------------------------------------------------- */

struct td_job {
  char *uid, *ns, *name, *dir, *cgroup, *log_dir;
  bool host_network, remove_dir;
  char **ids;      /* runtime containers to delete */
  char **rootfses; /* their root file system directories */
  size_t n;
};

static void td_free(nd_job_t *j) {
  struct td_job *t = j->data;
  free(t->uid);
  free(t->ns);
  free(t->name);
  free(t->dir);
  free(t->cgroup);
  free(t->log_dir);
  for (size_t i = 0; i < t->n; i++) {
    free(t->ids[i]);
    free(t->rootfses[i]);
  }
  free(t->ids);
  free(t->rootfses);
  free(t);
}

static void td_work(nd_job_t *j, kube_runtime_t *rt) {
  struct td_job *t = j->data;
  kube_node_agent_t *a = j->a;
  kube_error_t e = KUBE_ERROR_INIT;
  for (size_t i = 0; t->remove_dir && i < t->n; i++) {
    if (t->ids[i] && kube_runtime_delete(rt, t->ids[i], true, &e) < 0 &&
        e.reason != KUBE_REASON_NOT_FOUND)
      log_warn("pod %s/%s: delete container %s: %s", t->ns, t->name, t->ids[i],
               e.message);
    kube_error_clear(&e);
    if (t->rootfses[i] && a->images &&
        kube_image_rootfs_release(a->images, t->rootfses[i], &e) < 0)
      log_warn("pod %s/%s: release %s: %s", t->ns, t->name, t->rootfses[i],
               e.message);
    kube_error_clear(&e);
  }
  char ns_dir[4200];
  snprintf(ns_dir, sizeof ns_dir, "%s/ns", t->dir);
  if (!t->host_network && a->cni) {
    char netns[4300];
    snprintf(netns, sizeof netns, "%s/net", ns_dir);
    kube_cni_attachment_t at = {.struct_size = sizeof at,
                                .container_id = t->uid,
                                .netns = netns,
                                .pod_namespace = t->ns,
                                .pod_name = t->name,
                                .pod_uid = t->uid};
    if (kube_cni_del(a->cni, &at, &e) < 0) {
      log_warn("pod %s/%s: CNI DEL: %s", t->ns, t->name, e.message);
      kube_error_move(&j->err, &e);
      j->rc = -1;
    }
    kube_error_clear(&e);
  }
  if (kube_runtime_sandbox_unpin(rt, ns_dir, &e) < 0) {
    log_warn("pod %s/%s: unpin: %s", t->ns, t->name, e.message);
    if (j->rc == 0) {
      kube_error_move(&j->err, &e);
      j->rc = -1;
    }
  }
  kube_error_clear(&e);
  if (!t->remove_dir)
    return;
  if (t->cgroup && kube_runtime_pod_cgroup_remove(rt, t->cgroup, -1, &e) < 0) {
    log_warn("pod %s/%s: cgroup %s: %s", t->ns, t->name, t->cgroup, e.message);
    if (j->rc == 0) {
      kube_error_move(&j->err, &e);
      j->rc = -1;
    }
  }
  kube_error_clear(&e);
  if (j->rc == 0 && nd_remove_tree(t->dir, &e) < 0) {
    log_warn("pod %s/%s: %s", t->ns, t->name, e.message);
    kube_error_move(&j->err, &e);
    j->rc = -1;
  }
  kube_error_clear(&e);
  if (t->log_dir)
    nd_remove_tree(t->log_dir, NULL);
}

static void td_done(nd_job_t *j) {
  struct td_job *t = j->data;
  struct nd_pod *p = nd_pod_find(j->a, t->uid);
  if (!p)
    return;
  if (j->rc < 0) {
    /* retried by the next sync, a little later */
    nd_pod_enqueue(j->a, p, 1000);
    return;
  }
  p->sandbox = ND_SB_NONE;
  for (size_t i = 0; i < p->n_ips && t->remove_dir; i++) {
    free(p->ips[i]);
    p->ips[i] = NULL;
  }
  if (t->remove_dir) {
    p->n_ips = 0;
    p->term = ND_TERM_TORN_DOWN;
    for (size_t i = 0; i < p->n_ctrs; i++) {
      /* the runtime containers are gone: forget their ids, keep the
       * statuses for the final status write */
      free(p->ctrs[i].cur.rootfs_dir);
      p->ctrs[i].cur.rootfs_dir = NULL;
      free(p->ctrs[i].prev.rootfs_dir);
      p->ctrs[i].prev.rootfs_dir = NULL;
    }
  }
}

static void add_instance(struct td_job *t, struct nd_instance *in) {
  if (!in->id && !in->rootfs_dir)
    return;
  t->ids[t->n] = in->id ? strdup(in->id) : NULL;
  t->rootfses[t->n] = in->rootfs_dir ? strdup(in->rootfs_dir) : NULL;
  t->n++;
}

int nd_sandbox_teardown(kube_node_agent_t *a, struct nd_pod *p, bool remove_dir,
                        kube_error_t *err) {
  struct td_job *t = calloc(1, sizeof *t);
  if (!t)
    return kube_make_oom(err);
  t->uid = strdup(p->uid);
  t->ns = strdup(p->ns);
  t->name = strdup(p->name);
  t->dir = strdup(p->dir);
  t->cgroup = p->cgroup ? strdup(p->cgroup) : NULL;
  t->log_dir = remove_dir ? strdup(p->log_dir) : NULL;
  t->host_network = p->host_network;
  t->remove_dir = remove_dir;
  t->ids = calloc(2 * p->n_ctrs + 1, sizeof(char *));
  t->rootfses = calloc(2 * p->n_ctrs + 1, sizeof(char *));
  if (!t->uid || !t->ns || !t->name || !t->dir || !t->ids || !t->rootfses) {
    td_free(&(nd_job_t){.data = t});
    return kube_make_oom(err);
  }
  for (size_t i = 0; i < p->n_ctrs; i++) {
    if (p->ctrs[i].has_cur)
      add_instance(t, &p->ctrs[i].cur);
    if (p->ctrs[i].has_prev)
      add_instance(t, &p->ctrs[i].prev);
  }
  if (remove_dir)
    nd_hostports_close(p);
  nd_job_t *j = nd_job_new(a, p->uid, td_work, td_done, t, td_free);
  if (!j) {
    td_free(&(nd_job_t){.data = t});
    return kube_make_oom(err);
  }
  return nd_job_submit(j, err);
}
