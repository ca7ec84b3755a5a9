/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Node object and its Lease, as the kubelet keeps them: registration
 * (labels, the not-ready taint, spec.podCIDR), a probe every 10 s on a
 * worker (CNI configuration and plugins, capacity, images) whose result
 * becomes the status, written when it changed and at least every 5
 * minutes, and the Lease in kube-node-lease renewed every 10 s.
 */
#include <sys/statvfs.h>
#include <sys/utsname.h>

#include "kube-config.h"
#include "node/agent.h"
#include "node/internal.h"

#define PROBE_MS 10000
#define LEASE_MS 10000
#define REPORT_S 300
#define NOT_READY_TAINT "node.kubernetes.io/not-ready"

struct nd_node_state {
  kube_timer_t *probe_timer, *lease_timer;
  kube_timer_t *lease_retry; /* after a failed create: 1 s, not at once */
  bool registered, registering, stopped;
  bool probe_running, status_inflight, lease_inflight, taint_inflight;
  bool lease_exists;
  time_t last_report;
  char *last_status; /* the status last written, heartbeat times left out */
  bool ready_known, ready;
  /* last probe */
  int64_t cpus, memory, storage;
  char *images_json; /* status.images */
  /* nodeInfo */
  char *machine_id, *system_uuid, *boot_id, *kernel, *os_image, *arch;
  /* conditions: when each last changed */
  time_t ready_since, ready_changed;
  char *ready_message_sent;
  bool probed; /* the status waits for the first probe */
};

static char *read_line(const char *path) {
  char *s = core_read_file(path, NULL);
  if (s)
    s[strcspn(s, "\n")] = '\0';
  return s;
}

static char *os_image(void) {
  cleanup_free char *text = core_read_file("/etc/os-release", NULL);
  if (text) {
    for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n"))
      if (str_has_prefix(l, "PRETTY_NAME=")) {
        char *v = l + 12;
        size_t n = strlen(v);
        if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
          v[n - 1] = '\0';
          v++;
        }
        return strdup(v);
      }
  }
  return strdup("Linux");
}

int nd_node_init(kube_node_agent_t *a, kube_error_t *err) {
  struct nd_node_state *n = calloc(1, sizeof *n);
  if (!n)
    return kube_make_oom(err);
  a->node = n;
  struct utsname u;
  uname(&u);
  n->kernel = strdup(u.release);
  n->arch = strdup(streq(u.machine, "x86_64")    ? "amd64"
                   : streq(u.machine, "aarch64") ? "arm64"
                                                 : u.machine);
  n->machine_id = read_line("/etc/machine-id");
  if (!n->machine_id)
    n->machine_id = strdup("");
  n->system_uuid = read_line("/sys/class/dmi/id/product_uuid");
  if (!n->system_uuid)
    n->system_uuid = strdup(n->machine_id ? n->machine_id : "");
  n->boot_id = read_line("/proc/sys/kernel/random/boot_id");
  if (!n->boot_id)
    n->boot_id = strdup("");
  n->os_image = os_image();
  return n->kernel && n->arch && n->machine_id && n->system_uuid &&
                 n->boot_id && n->os_image
             ? 0
             : kube_make_oom(err);
}

bool nd_node_ready(const kube_node_agent_t *a) {
  return a->node && a->node->ready;
}

void nd_node_event(kube_node_agent_t *a, const char *type, const char *reason,
                   const char *msg) {
  /* The kubelet names its node by name in the UID field, too. */
  kube_event_ref_t ref = {.kind = "Node",
                          .api_version = "v1",
                          .name = a->cfg.node_name,
                          .uid = a->cfg.node_name};
  kube_event_recorder_record(a->recorder, &ref, type, reason, NULL, msg);
}

/* ---- the probe (worker) ------------------------------------------------- */

struct probe {
  char *conf_path, *conflist; /* our network, written when missing/changed */
  bool network_ok;
  char *network_error;
  int64_t cpus, memory, storage;
  char *images_json;
};

static int64_t mem_total(void) {
  FILE *f = fopen("/proc/meminfo", "re");
  if (!f)
    return 0;
  char line[256];
  long long kb = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "MemTotal: %lld kB", &kb) == 1)
      break;
  fclose(f);
  return (int64_t)kb * 1024;
}

static char *images_json(kube_image_store_t *store) {
  kube_image_info_t *imgs = NULL;
  size_t n = 0;
  if (!store || kube_image_list(store, &imgs, &n, NULL) < 0)
    return NULL;
  json_object *arr = json_object_new_array();
  for (size_t i = 0; i < n && i < 50; i++) {
    json_object *o = json_object_new_object();
    json_object *names = json_object_new_array();
    if (imgs[i].repo_digest)
      json_object_array_add(names, json_object_new_string(imgs[i].repo_digest));
    for (size_t k = 0; k < imgs[i].n_names; k++)
      json_object_array_add(names, json_object_new_string(imgs[i].names[k]));
    json_object_object_add(o, "names", names);
    json_object_object_add(o, "sizeBytes", json_object_new_int64(imgs[i].size));
    json_object_array_add(arr, o);
  }
  kube_image_info_free_array(imgs, n);
  char *s = strdup(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
  json_object_put(arr);
  return s;
}

static void probe_work(nd_job_t *j, kube_runtime_t *rt) {
  struct probe *pr = j->data;
  kube_node_agent_t *a = j->a;
  kube_error_t e = KUBE_ERROR_INIT;
  if (core_mkdir_p(a->cfg.cni_conf_dir, 0755, &e) == 0 && pr->conflist)
    kube_cni_write_conf(pr->conf_path, pr->conflist, &e);
  kube_error_clear(&e);
  pr->network_ok = a->cni && kube_cni_status(a->cni, NULL, &e) == 0;
  if (!pr->network_ok)
    pr->network_error =
        strdup(e.message ? e.message : "cni plugin not initialized");
  kube_error_clear(&e);
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  pr->cpus = cpus > 0 ? cpus : 1;
  pr->memory = mem_total();
  struct statvfs sv;
  if (statvfs(a->cfg.data_dir, &sv) == 0)
    pr->storage = (int64_t)sv.f_blocks * (int64_t)sv.f_frsize;
  pr->images_json = images_json(a->images);
}

static void probe_free(nd_job_t *j) {
  struct probe *pr = j->data;
  free(pr->conf_path);
  free(pr->conflist);
  free(pr->network_error);
  free(pr->images_json);
  free(pr);
}

static void status_write(kube_node_agent_t *a);
static void taint_check(kube_node_agent_t *a);

static void probe_done(nd_job_t *j) {
  kube_node_agent_t *a = j->a;
  struct nd_node_state *n = a->node;
  struct probe *pr = j->data;
  n->probe_running = false;
  n->probed = true;
  bool was = a->network_ok;
  a->network_ok = pr->network_ok;
  if (!a->runtime_ok) {
    /* keeps the runtime's message */
  } else if (!pr->network_ok) {
    free(a->not_ready_message);
    if (asprintf(&a->not_ready_message,
                 "container runtime network not ready: NetworkReady=false "
                 "reason:NetworkPluginNotReady message:Network plugin returns "
                 "error: %s",
                 pr->network_error) < 0)
      a->not_ready_message = NULL;
  } else if (!a->cfg.node_ip) {
    free(a->not_ready_message);
    a->not_ready_message =
        strdup("node IP unknown: no IPv4 address on an interface that is up "
               "(set --node-ip)");
  }
  n->cpus = pr->cpus;
  n->memory = pr->memory;
  n->storage = pr->storage;
  if (pr->images_json) {
    free(n->images_json);
    n->images_json = steal_pointer(&pr->images_json);
  }
  if (!was && a->network_ok) {
    /* pods waiting for the network may go on now */
    for (size_t i = 0; i < a->n_pods; i++)
      nd_pod_enqueue(a, a->pods_v[i], 0);
  }
  status_write(a);
  taint_check(a);
}

static void probe(kube_node_agent_t *a) {
  struct nd_node_state *n = a->node;
  if (n->probe_running || a->draining || !a->workers)
    return;
  struct probe *pr = calloc(1, sizeof *pr);
  if (!pr)
    return;
  kube_cni_bridge_options_t bo = {.struct_size = sizeof bo,
                                  .bridge = a->cfg.cni_bridge,
                                  .subnet = a->pod_cidr,
                                  .ipam_dir = a->cfg.ipam_dir};
  pr->conflist = kube_cni_bridge_conflist(&bo, NULL);
  if (asprintf(&pr->conf_path, "%s/10-libkube.conflist", a->cfg.cni_conf_dir) <
      0)
    pr->conf_path = NULL;
  if (!pr->conf_path) {
    free(pr->conflist);
    pr->conflist = NULL;
  }
  nd_job_t *j = nd_job_new(a, NULL, probe_work, probe_done, pr, probe_free);
  if (!j) {
    free(pr->conflist);
    free(pr->conf_path);
    free(pr);
    return;
  }
  n->probe_running = true;
  if (nd_job_submit(j, NULL) < 0)
    n->probe_running = false;
}

/* ---- the Node object ---------------------------------------------------- */

static void add_str(json_object *o, const char *k, const char *v) {
  json_object_object_add(o, k, json_object_new_string(v ? v : ""));
}

void nd_node_condition(json_object *arr, const char *type,
                       const char *status, const char *reason,
                       const char *message, const char *heartbeat,
                       const char *transition) {
  json_object *c = json_object_new_object();
  add_str(c, "type", type);
  add_str(c, "status", status);
  add_str(c, "lastHeartbeatTime", heartbeat);
  add_str(c, "lastTransitionTime", transition);
  add_str(c, "reason", reason);
  add_str(c, "message", message);
  json_object_array_add(arr, c);
}

static json_object *resources(kube_node_agent_t *a, bool allocatable) {
  struct nd_node_state *n = a->node;
  json_object *r = json_object_new_object();
  char buf[64];
  snprintf(buf, sizeof buf, "%lld", (long long)(n->cpus ? n->cpus : 1));
  add_str(r, "cpu", buf);
  int64_t storage = allocatable ? n->storage / 10 * 9 : n->storage;
  if (allocatable)
    snprintf(buf, sizeof buf, "%lld", (long long)storage);
  else
    snprintf(buf, sizeof buf, "%lldKi", (long long)(storage / 1024));
  add_str(r, "ephemeral-storage", buf);
  add_str(r, "hugepages-1Gi", "0");
  add_str(r, "hugepages-2Mi", "0");
  /* the kubelet's default hard eviction threshold, memory.available 100Mi,
   * is kept out of allocatable */
  int64_t mem = n->memory - (allocatable ? 100 << 20 : 0);
  snprintf(buf, sizeof buf, "%lldKi", (long long)((mem > 0 ? mem : 0) / 1024));
  add_str(r, "memory", buf);
  snprintf(buf, sizeof buf, "%d", a->cfg.max_pods);
  add_str(r, "pods", buf);
  return r;
}

static json_object *node_status(kube_node_agent_t *a, const char *now,
                                bool *ready_out) {
  struct nd_node_state *n = a->node;
  bool ready = a->runtime_ok && a->network_ok && a->cfg.node_ip;
  *ready_out = ready;
  const char *msg = ready                  ? "kubelet is posting ready status"
                    : a->not_ready_message ? a->not_ready_message
                                           : "node is starting";
  if (!n->ready_known || ready != n->ready || !n->ready_message_sent ||
      !streq(n->ready_message_sent, msg)) {
    if (!n->ready_known || ready != n->ready)
      n->ready_changed = time(NULL);
    free(n->ready_message_sent);
    n->ready_message_sent = strdup(msg);
  }
  char transition[40];
  kube_time_format(n->ready_changed, transition, sizeof transition);
  json_object *st = json_object_new_object();
  json_object_object_add(st, "capacity", resources(a, false));
  json_object_object_add(st, "allocatable", resources(a, true));
  json_object *conds = json_object_new_array();
  nd_ev_conditions(a, conds, now); /* MemoryPressure, DiskPressure, PID */
  nd_node_condition(conds, "Ready", ready ? "True" : "False",
                    ready ? "KubeletReady" : "KubeletNotReady", msg, now,
                    transition);
  json_object_object_add(st, "conditions", conds);
  json_object *addrs = json_object_new_array();
  if (a->cfg.node_ip) {
    json_object *ip = json_object_new_object();
    add_str(ip, "type", "InternalIP");
    add_str(ip, "address", a->cfg.node_ip);
    json_object_array_add(addrs, ip);
  }
  json_object *hn = json_object_new_object();
  add_str(hn, "type", "Hostname");
  add_str(hn, "address", a->cfg.node_name);
  json_object_array_add(addrs, hn);
  json_object_object_add(st, "addresses", addrs);
  json_object *de = json_object_new_object(), *ke = json_object_new_object();
  json_object_object_add(ke, "Port", json_object_new_int(a->cfg.kubelet_port));
  json_object_object_add(de, "kubeletEndpoint", ke);
  json_object_object_add(st, "daemonEndpoints", de);
  json_object *ni = json_object_new_object();
  add_str(ni, "machineID", n->machine_id);
  add_str(ni, "systemUUID", n->system_uuid);
  add_str(ni, "bootID", n->boot_id);
  add_str(ni, "kernelVersion", n->kernel);
  add_str(ni, "osImage", n->os_image);
  add_str(ni, "containerRuntimeVersion", ND_RUNTIME_PREFIX KUBE_VERSION);
  add_str(ni, "kubeletVersion", "v1.32.0");
  add_str(ni, "kubeProxyVersion", "v1.32.0");
  add_str(ni, "operatingSystem", "linux");
  add_str(ni, "architecture", n->arch);
  json_object_object_add(st, "nodeInfo", ni);
  if (n->images_json) {
    json_object *imgs = json_tokener_parse(n->images_json);
    if (imgs)
      json_object_object_add(st, "images", imgs);
  }
  return st;
}

/* The status without heartbeat times, to tell a change from a heartbeat. */
static char *status_key(json_object *st) {
  json_object *copy = NULL;
  if (json_object_deep_copy(st, &copy, NULL) < 0)
    return NULL;
  json_object *conds = kube_json_get(copy, "conditions");
  for (size_t i = 0; conds && i < json_object_array_length(conds); i++)
    json_object_object_del(json_object_array_get_idx(conds, i),
                           "lastHeartbeatTime");
  char *s =
      strdup(json_object_to_json_string_ext(copy, JSON_C_TO_STRING_PLAIN));
  json_object_put(copy);
  return s;
}

static void taint_check(kube_node_agent_t *a);

static void status_written(const kube_object_t *res, const kube_error_t *err,
                           void *arg) {
  kube_node_agent_t *a = arg;
  struct nd_node_state *n = a->node;
  n->status_inflight = false;
  if (err) {
    log_warn("node %s: status update failed: %s", a->cfg.node_name,
             err->message);
    free(n->last_status); /* write again at the next probe */
    n->last_status = NULL;
    if (err->reason == KUBE_REASON_NOT_FOUND) {
      n->registered = false; /* someone deleted the Node: register again */
      nd_node_poke(a);
    }
    return;
  }
  n->last_report = time(NULL);
  taint_check(a);
}

static void status_write(kube_node_agent_t *a) {
  struct nd_node_state *n = a->node;
  if (!n->registered || n->status_inflight || !n->probed)
    return;
  char now[40];
  kube_time_format(time(NULL), now, sizeof now);
  bool ready;
  json_object *st = node_status(a, now, &ready);
  bool changed_ready = !n->ready_known || ready != n->ready;
  cleanup_free char *key = status_key(st);
  bool due = time(NULL) - n->last_report >= REPORT_S;
  if (!changed_ready && !due && key && n->last_status &&
      streq(key, n->last_status)) {
    json_object_put(st);
    return;
  }
  if (changed_ready) {
    char msg[512];
    snprintf(msg, sizeof msg, "Node %s status is now: %s", a->cfg.node_name,
             ready ? "NodeReady" : "NodeNotReady");
    nd_node_event(a, "Normal", ready ? "NodeReady" : "NodeNotReady", msg);
    if (ready)
      log_info("node %s: Ready", a->cfg.node_name);
    else
      log_warn("node %s: NotReady: %s", a->cfg.node_name,
               a->not_ready_message ? a->not_ready_message : "");
  }
  n->ready_known = true;
  n->ready = ready;
  json_object *patch = json_object_new_object();
  json_object_object_add(patch, "status", st);
  const char *text =
      json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN);
  free(n->last_status);
  n->last_status = steal_pointer(&key);
  n->status_inflight =
      kube_writer_patch(a->writer, kube_kind_by_kind("v1", "Node"), NULL,
                        a->cfg.node_name, "status", KUBE_PATCH_MERGE, text,
                        NULL, status_written, a, NULL) == 0;
  json_object_put(patch);
}

/* The not-ready taint goes once the node is Ready (the node lifecycle
 * controller's job in Kubernetes; nobody else removes it here yet). */
static void taint_written(const kube_object_t *res, const kube_error_t *err,
                          void *arg) {
  kube_node_agent_t *a = arg;
  a->node->taint_inflight = false;
  if (err) {
    /* a stale cache (Conflict): look again once it caught up */
    log_debug("node %s: taint update: %s", a->cfg.node_name, err->message);
    nd_node_poke(a);
  }
}

static void taint_check(kube_node_agent_t *a) {
  struct nd_node_state *n = a->node;
  if (!n->ready || n->taint_inflight)
    return;
  const kube_object_t *node = kube_informer_get(a->nodes, a->cfg.node_name);
  if (!node)
    return;
  json_object *taints = kube_json_get(kube_object_json(node), "spec.taints");
  if (!taints || !json_object_is_type(taints, json_type_array))
    return;
  json_object *keep = json_object_new_array();
  bool found = false;
  for (size_t i = 0; i < json_object_array_length(taints); i++) {
    json_object *t = json_object_array_get_idx(taints, i);
    const char *k = kube_json_get_string(t, "key");
    if (k && streq(k, NOT_READY_TAINT))
      found = true;
    else
      json_object_array_add(keep, json_object_get(t));
  }
  if (!found) {
    json_object_put(keep);
    return;
  }
  json_object *patch = json_object_new_object();
  json_object *meta = json_object_new_object();
  json_object *spec = json_object_new_object();
  add_str(meta, "resourceVersion", kube_object_resource_version(node));
  json_object_object_add(patch, "metadata", meta);
  if (json_object_array_length(keep) == 0) {
    json_object_put(keep);
    keep = NULL; /* null removes the field */
  }
  json_object_object_add(spec, "taints", keep);
  json_object_object_add(patch, "spec", spec);
  n->taint_inflight =
      kube_writer_patch(
          a->writer, kube_kind_by_kind("v1", "Node"), NULL, a->cfg.node_name,
          NULL, KUBE_PATCH_MERGE,
          json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN), NULL,
          taint_written, a, NULL) == 0;
  json_object_put(patch);
}

static json_object *labels(kube_node_agent_t *a) {
  json_object *l = json_object_new_object();
  add_str(l, "kubernetes.io/hostname", a->cfg.node_name);
  add_str(l, "kubernetes.io/os", "linux");
  add_str(l, "kubernetes.io/arch", a->node->arch);
  add_str(l, "beta.kubernetes.io/os", "linux");
  add_str(l, "beta.kubernetes.io/arch", a->node->arch);
  for (size_t i = 0; a->cfg.labels[i]; i++) {
    const char *eq = strchr(a->cfg.labels[i], '=');
    char key[320];
    if (!eq || (size_t)(eq - a->cfg.labels[i]) >= sizeof key)
      continue;
    snprintf(key, sizeof key, "%.*s", (int)(eq - a->cfg.labels[i]),
             a->cfg.labels[i]);
    add_str(l, key, eq + 1);
  }
  return l;
}

static void register_node(kube_node_agent_t *a);

static void labels_patched(const kube_object_t *res, const kube_error_t *err,
                           void *arg) {
  kube_node_agent_t *a = arg;
  struct nd_node_state *n = a->node;
  n->registering = false;
  if (err) {
    log_warn("node %s: cannot update labels: %s", a->cfg.node_name,
             err->message);
    if (err->reason == KUBE_REASON_NOT_FOUND) {
      register_node(a);
      return;
    }
  }
  n->registered = true;
  status_write(a);
}

static void registered(const kube_object_t *res, const kube_error_t *err,
                       void *arg) {
  kube_node_agent_t *a = arg;
  struct nd_node_state *n = a->node;
  if (err && err->reason == KUBE_REASON_ALREADY_EXISTS) {
    /* A Node of this name exists (our own, from before a restart): make
     * its labels ours, as the kubelet's reconcileExtendedResource/labels
     * do, and take over its status. */
    json_object *patch = json_object_new_object(),
                *meta = json_object_new_object();
    json_object_object_add(meta, "labels", labels(a));
    json_object_object_add(patch, "metadata", meta);
    if (kube_writer_patch(
            a->writer, kube_kind_by_kind("v1", "Node"), NULL, a->cfg.node_name,
            NULL, KUBE_PATCH_MERGE,
            json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN), NULL,
            labels_patched, a, NULL) < 0)
      n->registering = false;
    json_object_put(patch);
    return;
  }
  n->registering = false;
  if (err) {
    log_warn("node %s: registration failed (retrying): %s", a->cfg.node_name,
             err->message);
    return;
  }
  log_info("node %s: registered", a->cfg.node_name);
  n->registered = true;
  status_write(a);
}

static void register_node(kube_node_agent_t *a) {
  struct nd_node_state *n = a->node;
  if (n->registered || n->registering || a->draining)
    return;
  json_object *node = json_object_new_object();
  add_str(node, "apiVersion", "v1");
  add_str(node, "kind", "Node");
  json_object *meta = json_object_new_object();
  add_str(meta, "name", a->cfg.node_name);
  json_object_object_add(meta, "labels", labels(a));
  json_object *ann = json_object_new_object();
  add_str(ann, "node.alpha.kubernetes.io/ttl", "0");
  add_str(ann, "volumes.kubernetes.io/controller-managed-attach-detach",
          "true");
  json_object_object_add(meta, "annotations", ann);
  json_object_object_add(node, "metadata", meta);
  json_object *spec = json_object_new_object();
  add_str(spec, "podCIDR", a->pod_cidr);
  json_object *cidrs = json_object_new_array();
  json_object_array_add(cidrs, json_object_new_string(a->pod_cidr));
  json_object_object_add(spec, "podCIDRs", cidrs);
  json_object *taints = json_object_new_array(), *t = json_object_new_object();
  add_str(t, "key", NOT_READY_TAINT);
  add_str(t, "effect", "NoSchedule");
  json_object_array_add(taints, t);
  json_object_object_add(spec, "taints", taints);
  json_object_object_add(node, "spec", spec);
  kube_object_t *obj = kube_object_wrap(node);
  n->registering = obj && kube_writer_create(a->writer, NULL, NULL, obj, NULL,
                                             registered, a, NULL) == 0;
  kube_object_free(obj);
}

/* ---- the Lease ---------------------------------------------------------- */

static void lease_tick(void *arg);

static json_object *lease_object(kube_node_agent_t *a, const char *now) {
  json_object *l = json_object_new_object();
  add_str(l, "apiVersion", "coordination.k8s.io/v1");
  add_str(l, "kind", "Lease");
  json_object *meta = json_object_new_object();
  add_str(meta, "name", a->cfg.node_name);
  add_str(meta, "namespace", "kube-node-lease");
  const kube_object_t *node = kube_informer_get(a->nodes, a->cfg.node_name);
  if (node && kube_object_uid(node)) {
    json_object *refs = json_object_new_array(), *r = json_object_new_object();
    add_str(r, "apiVersion", "v1");
    add_str(r, "kind", "Node");
    add_str(r, "name", a->cfg.node_name);
    add_str(r, "uid", kube_object_uid(node));
    json_object_array_add(refs, r);
    json_object_object_add(meta, "ownerReferences", refs);
  }
  json_object_object_add(l, "metadata", meta);
  json_object *spec = json_object_new_object();
  add_str(spec, "holderIdentity", a->cfg.node_name);
  json_object_object_add(spec, "leaseDurationSeconds", json_object_new_int(40));
  add_str(spec, "renewTime", now);
  json_object_object_add(l, "spec", spec);
  return l;
}

static void lease_written(const kube_object_t *res, const kube_error_t *err,
                          void *arg) {
  kube_node_agent_t *a = arg;
  struct nd_node_state *n = a->node;
  n->lease_inflight = false;
  if (!err) {
    n->lease_exists = true;
    return;
  }
  if (err->reason == KUBE_REASON_NOT_FOUND && n->lease_exists) {
    n->lease_exists = false;
    lease_tick(a); /* the patch found no Lease: create it now */
  } else if (err->reason == KUBE_REASON_NOT_FOUND) {
    /* The create itself failed: kube-node-lease does not exist yet (the
     * API server bootstraps it on the same loop).  Retrying at once would
     * spin the loop and starve that bootstrap. */
    log_debug("node %s: lease: %s", a->cfg.node_name, err->message);
    if (n->lease_retry && !kube_timer_pending(n->lease_retry))
      kube_timer_arm(n->lease_retry, 1000);
  } else if (err->reason == KUBE_REASON_ALREADY_EXISTS) {
    n->lease_exists = true;
    lease_tick(a);
  } else {
    log_debug("node %s: lease: %s", a->cfg.node_name, err->message);
  }
}

static void lease_tick(void *arg) {
  kube_node_agent_t *a = arg;
  struct nd_node_state *n = a->node;
  if (n->lease_inflight || a->draining)
    return;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char now[40];
  kube_time_format_micro(&ts, now, sizeof now);
  const kube_kind_t *k = kube_kind_by_kind("coordination.k8s.io/v1", "Lease");
  int rc;
  if (n->lease_exists) {
    char patch[200];
    snprintf(patch, sizeof patch,
             "{\"spec\":{\"holderIdentity\":\"%s\",\"renewTime\":\"%s\"}}",
             a->cfg.node_name, now);
    rc = kube_writer_patch(a->writer, k, "kube-node-lease", a->cfg.node_name,
                           NULL, KUBE_PATCH_MERGE, patch, NULL, lease_written,
                           a, NULL);
  } else {
    kube_object_t *obj = kube_object_wrap(lease_object(a, now));
    rc = obj ? kube_writer_create(a->writer, k, "kube-node-lease", obj, NULL,
                                  lease_written, a, NULL)
             : -1;
    kube_object_free(obj);
  }
  n->lease_inflight = rc == 0;
}

/* ---- timers ------------------------------------------------------------- */

static void probe_tick(void *arg) {
  kube_node_agent_t *a = arg;
  struct nd_node_state *n = a->node;
  /* the pod CIDR the Node was given wins over the flag */
  const kube_object_t *node = kube_informer_get(a->nodes, a->cfg.node_name);
  const char *cidr = node ? kube_object_get_string(node, "spec.podCIDR") : NULL;
  if (cidr && *cidr && !streq(cidr, a->pod_cidr)) {
    char *c = strdup(cidr);
    if (c) {
      log_info("node %s: pod CIDR %s (was %s)", a->cfg.node_name, c,
               a->pod_cidr);
      free(a->pod_cidr);
      a->pod_cidr = c;
    }
  }
  if (!n->registered)
    register_node(a);
  probe(a);
  kube_timer_arm(n->probe_timer, PROBE_MS);
}

void nd_node_poke(kube_node_agent_t *a) {
  struct nd_node_state *n = a->node;
  if (n && n->probe_timer && !a->draining)
    kube_timer_arm(n->probe_timer, 200);
}

void nd_node_start(kube_node_agent_t *a) {
  struct nd_node_state *n = a->node;
  n->ready_since = n->ready_changed = time(NULL);
  n->probe_timer = kube_timer_new(a->loop, probe_tick, a, NULL);
  n->lease_timer = kube_timer_new(a->loop, lease_tick, a, NULL);
  n->lease_retry = kube_timer_new(a->loop, lease_tick, a, NULL);
  if (n->probe_timer)
    kube_timer_arm(n->probe_timer, PROBE_MS);
  if (n->lease_timer)
    kube_timer_arm_periodic(n->lease_timer, LEASE_MS);
  nd_node_event(a, "Normal", "Starting", "Starting kubelet.");
  register_node(a);
  probe(a);
  lease_tick(a);
}

void nd_node_stop(kube_node_agent_t *a) {
  struct nd_node_state *n = a->node;
  if (!n)
    return;
  kube_timer_free(n->probe_timer);
  kube_timer_free(n->lease_timer);
  kube_timer_free(n->lease_retry);
  n->probe_timer = n->lease_timer = n->lease_retry = NULL;
}

void nd_node_free(kube_node_agent_t *a) {
  struct nd_node_state *n = a->node;
  if (!n)
    return;
  nd_node_stop(a);
  free(n->last_status);
  free(n->images_json);
  free(n->machine_id);
  free(n->system_uuid);
  free(n->boot_id);
  free(n->kernel);
  free(n->os_image);
  free(n->arch);
  free(n->ready_message_sent);
  free(n);
  a->node = NULL;
}
