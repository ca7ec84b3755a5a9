/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hollow nodes (kubemark's hollow kubelets): Nodes with Leases and
 * heartbeats whose pods are reported Running without containers.
 *
 * One set shares everything a node would own: one writer, one controller
 * (pod keys, filtered to the set's nodes through the shared pod informer),
 * the shared node informer.  A node is a few hundred bytes, a timer and,
 * once it has something to say, an event recorder (source.host is per
 * node, so recorders cannot be shared).  Pod IPs come from the node's
 * spec.podCIDR, the first 256 addresses of it at most (max_pods is 110 by
 * default), one bit each.
 */
#include <arpa/inet.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "api/api-private.h"
#include "client/client-private.h"
#include "kube-config.h"
#include "node/internal.h"

#define DEFAULT_LEASE_S 40
#define STATUS_REPORT_S 300 /* the kubelet's nodeStatusReportFrequency */
#define LEASE_NS "kube-node-lease"
#define MAX_NODES 100000

struct hnode {
  kube_node_hollow_t *h;
  size_t idx;
  char *name;
  kube_timer_t *timer;
  kube_event_recorder_t *rec; /* created on the first event */
  bool registered, registering, lease_exists, lease_inflight;
  bool status_inflight, down;
  int reported; /* the Ready status last written: 0 none, 1 True, 2 False */
  time_t last_status;
  char *own_cidr;  /* from options.pod_cidr, or NULL */
  uint32_t net;    /* the pod CIDR in use (bits 0: none yet) */
  int bits;
  uint8_t used[32]; /* offsets 0..255 of the pod CIDR */
};

struct kube_node_hollow {
  kube_loop_t *loop;
  kube_transport_t tp;
  kube_informer_factory_t *factory;
  kube_informer_t *pods, *nodes;
  kube_writer_t *w;
  kube_controller_t *ctl;
  struct hnode *v;
  size_t n;
  json_object *by_name; /* node name -> index */
  json_object *ips;     /* pod key -> node index * 256 + offset */
  char *cpu, *memory, *storage, *arch, *kernel;
  char **labels;
  int max_pods;
  int64_t lease_ms; /* renewal interval */
  int lease_s;      /* leaseDurationSeconds */
  bool started, draining;
  void (*drain_done)(void *arg);
  void *drain_arg;
  kube_timer_t *drain_timer;
  int drain_polls;
  kube_node_hollow_stats_t stats;
};

static void add_str(json_object *o, const char *k, const char *v) {
  json_object_object_add(o, k, json_object_new_string(v ? v : ""));
}

static char *json_text(json_object *o) {
  return strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

/* 32 hex digits derived from a string (machine IDs, container IDs). */
static void hex_id(const char *a, const char *b, char *out, size_t len) {
  uint64_t h1 = 1469598103934665603ULL, h2 = 7809847782465536322ULL;
  for (const char *s = a; s && *s; s++)
    h1 = (h1 ^ (unsigned char)*s) * 1099511628211ULL;
  for (const char *s = b; s && *s; s++)
    h2 = (h2 ^ (unsigned char)*s) * 1099511628211ULL;
  h2 ^= h1 >> 7;
  snprintf(out, len, "%016llx%016llx", (unsigned long long)h1,
           (unsigned long long)h2);
}

/* ---- events -------------------------------------------------------------- */

static kube_event_recorder_t *recorder(struct hnode *n) {
  if (!n->rec) {
    kube_event_recorder_options_t o = {.struct_size = sizeof o,
                                       .component = "kubelet",
                                       .host = n->name,
                                       .cache_size = 64,
                                       .max_in_flight = 16};
    n->rec = kube_event_recorder_new(n->h->loop, &n->h->tp, &o, NULL);
  }
  return n->rec;
}

static void node_event(struct hnode *n, const char *reason, const char *msg) {
  kube_event_recorder_t *r = recorder(n);
  kube_event_ref_t ref = {.kind = "Node",
                          .api_version = "v1",
                          .name = n->name,
                          .uid = n->name};
  if (r)
    kube_event_recorder_record(r, &ref, "Normal", reason, NULL, msg);
}

static void pod_event(struct hnode *n, json_object *pod, const char *type,
                      const char *reason, const char *container,
                      const char *msg) {
  kube_event_recorder_t *r = recorder(n);
  char fp[300];
  snprintf(fp, sizeof fp, "spec.containers{%s}", container ? container : "");
  kube_event_ref_t ref = {
      .kind = "Pod",
      .api_version = "v1",
      .namespace_ = kube_json_get_string(pod, "metadata.namespace"),
      .name = kube_json_get_string(pod, "metadata.name"),
      .uid = kube_json_get_string(pod, "metadata.uid"),
      .resource_version =
          kube_json_get_string(pod, "metadata.resourceVersion"),
      .field_path = container ? fp : NULL};
  if (r && ref.name)
    kube_event_recorder_record(r, &ref, type, reason, NULL, msg);
}

/* ---- the Node ------------------------------------------------------------ */

static json_object *resources(kube_node_hollow_t *h) {
  json_object *r = json_object_new_object();
  char pods[16];
  snprintf(pods, sizeof pods, "%d", h->max_pods);
  add_str(r, "cpu", h->cpu);
  add_str(r, "memory", h->memory);
  add_str(r, "ephemeral-storage", h->storage);
  add_str(r, "hugepages-1Gi", "0");
  add_str(r, "hugepages-2Mi", "0");
  add_str(r, "pods", pods);
  return r;
}

static bool node_cidr(struct hnode *n);
static void status_write(struct hnode *n);

#define NETWORK_NOT_READY                                                      \
  "container runtime network not ready: NetworkReady=false "                  \
  "reason:NetworkPluginNotReady message:the node has no pod CIDR "            \
  "(spec.podCIDR) yet"

/* The status patch: what a kubelet reports, Ready once the node has a pod
 * CIDR (before, its network is not ready: pods could get no address). */
static char *status_patch(struct hnode *n, bool ready) {
  kube_node_hollow_t *h = n->h;
  char now[40], id[40];
  kube_time_format(time(NULL), now, sizeof now);
  json_object *st = json_object_new_object();
  json_object_object_add(st, "capacity", resources(h));
  json_object_object_add(st, "allocatable", resources(h));
  json_object *conds = json_object_new_array();
  nd_node_condition(conds, "MemoryPressure", "False",
                    "KubeletHasSufficientMemory",
                    "kubelet has sufficient memory available", now, now);
  nd_node_condition(conds, "DiskPressure", "False", "KubeletHasNoDiskPressure",
                    "kubelet has no disk pressure", now, now);
  nd_node_condition(conds, "PIDPressure", "False", "KubeletHasSufficientPID",
                    "kubelet has sufficient PID available", now, now);
  nd_node_condition(conds, "Ready", ready ? "True" : "False",
                    ready ? "KubeletReady" : "KubeletNotReady",
                    ready ? "kubelet is posting ready status"
                          : NETWORK_NOT_READY,
                    now, now);
  json_object_object_add(st, "conditions", conds);
  json_object *addrs = json_object_new_array(), *hn = json_object_new_object();
  add_str(hn, "type", "Hostname");
  add_str(hn, "address", n->name);
  json_object_array_add(addrs, hn);
  json_object_object_add(st, "addresses", addrs);
  json_object *de = json_object_new_object(), *ke = json_object_new_object();
  json_object_object_add(ke, "Port", json_object_new_int(0));
  json_object_object_add(de, "kubeletEndpoint", ke);
  json_object_object_add(st, "daemonEndpoints", de);
  json_object *ni = json_object_new_object();
  hex_id("machine", n->name, id, sizeof id);
  add_str(ni, "machineID", id);
  hex_id("system", n->name, id, sizeof id);
  add_str(ni, "systemUUID", id);
  hex_id("boot", n->name, id, sizeof id);
  add_str(ni, "bootID", id);
  add_str(ni, "kernelVersion", h->kernel);
  add_str(ni, "osImage", "libkube hollow node");
  add_str(ni, "containerRuntimeVersion", "hollow://" KUBE_VERSION);
  add_str(ni, "kubeletVersion", "v1.32.0");
  add_str(ni, "kubeProxyVersion", "v1.32.0");
  add_str(ni, "operatingSystem", "linux");
  add_str(ni, "architecture", h->arch);
  json_object_object_add(st, "nodeInfo", ni);
  json_object *patch = json_object_new_object();
  json_object_object_add(patch, "status", st);
  char *text = json_text(patch);
  json_object_put(patch);
  return text;
}

struct status_write {
  struct hnode *n;
  bool ready;
};

static void status_written(const kube_object_t *res, const kube_error_t *err,
                           void *arg) {
  struct status_write *w = arg;
  struct hnode *n = w->n;
  bool ready = w->ready;
  free(w);
  n->status_inflight = false;
  if (err) {
    n->h->stats.write_failures++;
    log_debug("hollow node %s: status: %s", n->name, err->message);
    if (err->reason == KUBE_REASON_NOT_FOUND)
      n->registered = false; /* deleted: registered again at the next tick */
    return;
  }
  n->last_status = time(NULL);
  if (n->reported != (ready ? 1 : 2) && (ready || n->reported == 1)) {
    char msg[400];
    snprintf(msg, sizeof msg, "Node %s status is now: %s", n->name,
             ready ? "NodeReady" : "NodeNotReady");
    node_event(n, ready ? "NodeReady" : "NodeNotReady", msg);
  }
  n->reported = ready ? 1 : 2;
  if (ready != node_cidr(n) && !n->down && !n->h->draining)
    status_write(n); /* the pod CIDR came meanwhile */
}

static void status_write(struct hnode *n) {
  if (n->status_inflight || !n->registered)
    return;
  struct status_write *w = calloc(1, sizeof *w);
  if (!w)
    return;
  w->n = n;
  w->ready = node_cidr(n);
  cleanup_free char *patch = status_patch(n, w->ready);
  n->status_inflight =
      patch && client_writer_patch(n->h->w, kube_kind_by_kind("v1", "Node"),
                                   NULL, n->name, "status", KUBE_PATCH_MERGE,
                                   patch, NULL, CLIENT_RESULT_NONE,
                                   status_written, w, NULL) == 0;
  if (!n->status_inflight)
    free(w);
}

static json_object *node_labels(struct hnode *n) {
  json_object *l = json_object_new_object();
  add_str(l, "kubernetes.io/hostname", n->name);
  add_str(l, "kubernetes.io/os", "linux");
  add_str(l, "kubernetes.io/arch", n->h->arch);
  add_str(l, "beta.kubernetes.io/os", "linux");
  add_str(l, "beta.kubernetes.io/arch", n->h->arch);
  add_str(l, "node.libkube.io/hollow", "true");
  for (size_t i = 0; n->h->labels && n->h->labels[i]; i++) {
    const char *eq = strchr(n->h->labels[i], '=');
    cleanup_free char *k = eq ? strndup(n->h->labels[i], eq - n->h->labels[i])
                              : NULL;
    if (k)
      add_str(l, k, eq + 1);
  }
  return l;
}

static void registered(const kube_object_t *res, const kube_error_t *err,
                       void *arg) {
  struct hnode *n = arg;
  n->registering = false;
  if (err && err->reason != KUBE_REASON_ALREADY_EXISTS) {
    n->h->stats.write_failures++;
    log_warn("hollow node %s: registration failed (retrying): %s", n->name,
             err->message);
    return;
  }
  /* AlreadyExists: our own Node from an earlier run; its status is ours
   * from now on. */
  n->registered = true;
  if (!err) {
    log_debug("hollow node %s: registered", n->name);
    node_event(n, "Starting", "Starting kubelet.");
  }
  n->reported = 0;
  status_write(n);
}

static void register_node(struct hnode *n) {
  if (n->registered || n->registering || n->h->draining || n->down)
    return;
  json_object *node = json_object_new_object();
  add_str(node, "apiVersion", "v1");
  add_str(node, "kind", "Node");
  json_object *meta = json_object_new_object();
  add_str(meta, "name", n->name);
  json_object_object_add(meta, "labels", node_labels(n));
  json_object *ann = json_object_new_object();
  add_str(ann, "node.alpha.kubernetes.io/ttl", "0");
  add_str(ann, "volumes.kubernetes.io/controller-managed-attach-detach",
          "true");
  json_object_object_add(meta, "annotations", ann);
  json_object_object_add(node, "metadata", meta);
  json_object *spec = json_object_new_object();
  if (n->own_cidr) {
    add_str(spec, "podCIDR", n->own_cidr);
    json_object *l = json_object_new_array();
    json_object_array_add(l, json_object_new_string(n->own_cidr));
    json_object_object_add(spec, "podCIDRs", l);
  }
  json_object_object_add(node, "spec", spec);
  kube_object_t *obj = kube_object_wrap(node);
  n->registering = obj && kube_writer_create(n->h->w, NULL, NULL, obj, NULL,
                                             registered, n, NULL) == 0;
  kube_object_free(obj);
}

/* ---- the Lease ----------------------------------------------------------- */

static void lease_write(struct hnode *n);

static void lease_written(const kube_object_t *res, const kube_error_t *err,
                          void *arg) {
  struct hnode *n = arg;
  n->lease_inflight = false;
  if (!err) {
    n->lease_exists = true;
    n->h->stats.lease_renewals++;
    return;
  }
  if (err->reason == KUBE_REASON_NOT_FOUND && n->lease_exists) {
    n->lease_exists = false; /* someone deleted it: create it again */
    lease_write(n);
  } else if (err->reason == KUBE_REASON_ALREADY_EXISTS) {
    n->lease_exists = true;
    lease_write(n);
  } else {
    /* kube-node-lease not there yet, or the API is away: next tick */
    n->h->stats.write_failures++;
    log_debug("hollow node %s: lease: %s", n->name, err->message);
  }
}

static void lease_write(struct hnode *n) {
  if (n->lease_inflight || n->down || n->h->draining)
    return;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char now[40];
  kube_time_format_micro(&ts, now, sizeof now);
  const kube_kind_t *k = kube_kind_by_kind("coordination.k8s.io/v1", "Lease");
  int rc = -1;
  if (n->lease_exists) {
    char patch[400];
    snprintf(patch, sizeof patch,
             "{\"spec\":{\"holderIdentity\":\"%s\",\"renewTime\":\"%s\"}}",
             n->name, now);
    rc = client_writer_patch(n->h->w, k, LEASE_NS, n->name, NULL,
                             KUBE_PATCH_MERGE, patch, NULL, CLIENT_RESULT_NONE,
                             lease_written, n, NULL);
  } else {
    json_object *l = json_object_new_object();
    add_str(l, "apiVersion", "coordination.k8s.io/v1");
    add_str(l, "kind", "Lease");
    json_object *meta = json_object_new_object();
    add_str(meta, "name", n->name);
    add_str(meta, "namespace", LEASE_NS);
    const kube_object_t *node = kube_informer_get(n->h->nodes, n->name);
    if (node && kube_object_uid(node)) {
      json_object *refs = json_object_new_array(), *r = json_object_new_object();
      add_str(r, "apiVersion", "v1");
      add_str(r, "kind", "Node");
      add_str(r, "name", n->name);
      add_str(r, "uid", kube_object_uid(node));
      json_object_array_add(refs, r);
      json_object_object_add(meta, "ownerReferences", refs);
    }
    json_object_object_add(l, "metadata", meta);
    json_object *spec = json_object_new_object();
    add_str(spec, "holderIdentity", n->name);
    json_object_object_add(spec, "leaseDurationSeconds",
                           json_object_new_int(n->h->lease_s));
    add_str(spec, "renewTime", now);
    json_object_object_add(l, "spec", spec);
    kube_object_t *obj = kube_object_wrap(l);
    rc = obj ? kube_writer_create(n->h->w, k, LEASE_NS, obj, NULL,
                                  lease_written, n, NULL)
             : -1;
    kube_object_free(obj);
  }
  n->lease_inflight = rc == 0;
}

/* The status of the Ready condition of the API's copy of the Node ("" when
 * none). */
static const char *api_ready(const kube_object_t *node) {
  json_object *conds =
      kube_json_get(kube_object_json(node), "status.conditions");
  for (size_t i = 0; conds && i < json_object_array_length(conds); i++) {
    json_object *c = json_object_array_get_idx(conds, i);
    const char *t = kube_json_get_string(c, "type");
    const char *s = kube_json_get_string(c, "status");
    if (t && s && streq(t, "Ready"))
      return s;
  }
  return "";
}

/* Every lease interval: the Lease; the Node registered again when it was
 * deleted; its status written again when the API's copy is not what this
 * node reports (the node lifecycle controller marked it Unknown), or when
 * the report is due. */
static void tick(void *arg) {
  struct hnode *n = arg;
  kube_node_hollow_t *h = n->h;
  if (n->down || h->draining)
    return;
  kube_timer_arm(n->timer, h->lease_ms);
  if (!n->registered) {
    register_node(n);
    return;
  }
  lease_write(n);
  if (!kube_informer_synced(h->nodes))
    return;
  const kube_object_t *node = kube_informer_get(h->nodes, n->name);
  if (!node) {
    if (!n->status_inflight) {
      n->registered = n->lease_exists = false;
      register_node(n);
    }
    return;
  }
  /* A write's echo may not have reached the cache yet: a second later. */
  const char *want = node_cidr(n) ? "True" : "False";
  if ((!streq(api_ready(node), want) && time(NULL) - n->last_status >= 1) ||
      time(NULL) - n->last_status >= STATUS_REPORT_S)
    status_write(n);
}

/* ---- pod IPs ------------------------------------------------------------- */

static struct hnode *node_by_name(kube_node_hollow_t *h, const char *name) {
  json_object *v;
  if (!name || !json_object_object_get_ex(h->by_name, name, &v))
    return NULL;
  return &h->v[json_object_get_int(v)];
}

/* The addresses a node hands out: offsets 2 .. last of its pod CIDR's
 * first 256 (the .1 is the bridge's on a real node). */
static unsigned cidr_last(const struct hnode *n) {
  uint64_t size = n->bits ? 1ULL << (32 - n->bits) : 0;
  return size > 256 ? 254 : size >= 4 ? (unsigned)size - 2 : 0;
}

static bool used(const struct hnode *n, unsigned off) {
  return n->used[off / 8] & (1u << (off % 8));
}

static void set_used(struct hnode *n, unsigned off, bool on) {
  if (on)
    n->used[off / 8] |= (uint8_t)(1u << (off % 8));
  else
    n->used[off / 8] &= (uint8_t)~(1u << (off % 8));
}

/* Refresh the node's pod CIDR from the Node: false while it has none. */
static bool node_cidr(struct hnode *n) {
  const kube_object_t *node = kube_informer_get(n->h->nodes, n->name);
  const char *cidr =
      node ? kube_object_get_string(node, "spec.podCIDR") : n->own_cidr;
  uint32_t net;
  int bits;
  if (!cidr || core_cidr4_parse(cidr, &net, &bits) < 0)
    return n->bits != 0;
  if (net != n->net || bits != n->bits) {
    n->net = net;
    n->bits = bits;
    memset(n->used, 0, sizeof n->used);
  }
  return true;
}

static void release_ip(kube_node_hollow_t *h, const char *key) {
  json_object *v;
  if (!json_object_object_get_ex(h->ips, key, &v))
    return;
  int x = json_object_get_int(v);
  if ((size_t)(x / 256) < h->n)
    set_used(&h->v[x / 256], (unsigned)(x % 256), false);
  json_object_object_del(h->ips, key);
}

/* The pod's address: the one it has, the one it reported (a set started
 * again), or the next free one.  False when none is free. */
static bool pod_ip(struct hnode *n, const char *key, const char *reported,
                   char out[16]) {
  kube_node_hollow_t *h = n->h;
  json_object *v;
  int off = -1;
  if (json_object_object_get_ex(h->ips, key, &v)) {
    int x = json_object_get_int(v);
    if ((size_t)(x / 256) == n->idx)
      off = x % 256;
    else
      release_ip(h, key);
  }
  unsigned last = cidr_last(n);
  struct in_addr a;
  if (off < 0 && reported && inet_pton(AF_INET, reported, &a) == 1) {
    uint32_t mine = ntohl(a.s_addr);
    if (mine - n->net >= 2 && mine - n->net <= last && !used(n, mine - n->net))
      off = (int)(mine - n->net);
  }
  for (unsigned o = 2; off < 0 && o <= last; o++)
    if (!used(n, o))
      off = (int)o;
  if (off < 0)
    return false;
  set_used(n, (unsigned)off, true);
  json_object_object_add(h->ips, key,
                         json_object_new_int((int)(n->idx * 256 + off)));
  core_ipv4_format(n->net + (uint32_t)off, out);
  return true;
}

/* ---- pods ---------------------------------------------------------------- */

struct pending {
  kube_node_hollow_t *h;
  char *key;
  bool deletion;
};

static struct pending *pending_new(kube_node_hollow_t *h, const char *key,
                                   bool deletion) {
  struct pending *p = calloc(1, sizeof *p);
  if (p && !(p->key = strdup(key))) {
    free(p);
    return NULL;
  }
  if (p) {
    p->h = h;
    p->deletion = deletion;
  }
  return p;
}

static void pending_free(struct pending *p) {
  if (p)
    free(p->key);
  free(p);
}

static void pod_written(const kube_object_t *res, const kube_error_t *err,
                        void *arg) {
  struct pending *p = arg;
  kube_node_hollow_t *h = p->h;
  int rc = 0;
  if (!err)
    p->deletion ? h->stats.deletions++ : h->stats.status_writes++;
  else if (err->reason == KUBE_REASON_NOT_FOUND ||
           (p->deletion && err->reason == KUBE_REASON_CONFLICT))
    rc = 0; /* gone, or another pod of that name now (UID precondition) */
  else {
    h->stats.write_failures++;
    log_debug("hollow: pod %s: %s", p->key, err->message);
    rc = -1;
  }
  kube_controller_sync_done(h->ctl, p->key, rc);
  pending_free(p);
}

/* The kubelet's end of a graceful deletion: its containers stop (Killing
 * events), then the pod goes with gracePeriodSeconds=0 and its UID. */
static int finish_deletion(struct hnode *n, const char *key, json_object *pod) {
  json_object *cs = kube_json_get(pod, "status.containerStatuses");
  for (size_t i = 0; cs && i < json_object_array_length(cs); i++) {
    json_object *c = json_object_array_get_idx(cs, i);
    const char *name = kube_json_get_string(c, "name");
    if (name && kube_json_get(c, "state.running")) {
      char msg[400];
      snprintf(msg, sizeof msg, "Stopping container %s", name);
      pod_event(n, pod, "Normal", "Killing", name, msg);
    }
  }
  kube_client_write_options_t o = {
      .struct_size = sizeof o,
      .grace_period = 0,
      .precondition_uid = kube_json_get_string(pod, "metadata.uid")};
  struct pending *p = pending_new(n->h, key, true);
  if (!p ||
      kube_writer_delete(n->h->w, kube_kind_by_kind("v1", "Pod"),
                         kube_json_get_string(pod, "metadata.namespace"),
                         kube_json_get_string(pod, "metadata.name"), &o,
                         pod_written, p, NULL) < 0) {
    pending_free(p);
    return -1;
  }
  return KUBE_SYNC_PENDING;
}

/* True when the pod reports what this node would write. */
static bool reported_running(json_object *pod) {
  json_object *st = kube_json_get(pod, "status");
  const char *phase = kube_json_get_string(st, "phase");
  json_object *cs = kube_json_get(st, "containerStatuses");
  json_object *spec = kube_json_get(pod, "spec.containers");
  return phase && streq(phase, "Running") && cs && spec &&
         json_object_array_length(cs) == json_object_array_length(spec) &&
         (kube_json_get_string(st, "podIP") ||
          kube_json_get(pod, "spec.hostNetwork"));
}

static json_object *condition(json_object *old, const char *type,
                              const char *now) {
  json_object *c = json_object_new_object();
  add_str(c, "type", type);
  add_str(c, "status", "True");
  json_object_object_add(c, "lastProbeTime", NULL);
  const char *since = now;
  for (size_t i = 0; old && i < json_object_array_length(old); i++) {
    json_object *o = json_object_array_get_idx(old, i);
    const char *t = kube_json_get_string(o, "type");
    const char *s = kube_json_get_string(o, "status");
    if (t && s && streq(t, type) && streq(s, "True") &&
        kube_json_get_string(o, "lastTransitionTime"))
      since = kube_json_get_string(o, "lastTransitionTime");
  }
  add_str(c, "lastTransitionTime", since);
  return c;
}

/* One container status, running since `now` (or terminated Completed:
 * an init container that is no sidecar). */
static json_object *container_status(json_object *pod, json_object *ctr,
                                      const char *now, bool completed) {
  const char *name = kube_json_get_string(ctr, "name");
  const char *image = kube_json_get_string(ctr, "image");
  char id[40], cid[64];
  hex_id(kube_json_get_string(pod, "metadata.uid"), name, id, sizeof id);
  snprintf(cid, sizeof cid, "hollow://%s", id);
  json_object *s = json_object_new_object();
  add_str(s, "name", name);
  add_str(s, "image", image);
  add_str(s, "imageID", image);
  add_str(s, "containerID", cid);
  json_object *state = json_object_new_object(), *x = json_object_new_object();
  if (completed) {
    json_object_object_add(x, "exitCode", json_object_new_int(0));
    add_str(x, "reason", "Completed");
    add_str(x, "startedAt", now);
    add_str(x, "finishedAt", now);
    add_str(x, "containerID", cid);
  } else {
    add_str(x, "startedAt", now);
  }
  json_object_object_add(state, completed ? "terminated" : "running", x);
  json_object_object_add(s, "state", state);
  json_object_object_add(s, "lastState", json_object_new_object());
  json_object_object_add(s, "ready", json_object_new_boolean(!completed));
  json_object_object_add(s, "restartCount", json_object_new_int(0));
  json_object_object_add(s, "started", json_object_new_boolean(!completed));
  return s;
}

static void container_events(struct hnode *n, json_object *pod,
                             json_object *ctr) {
  const char *name = kube_json_get_string(ctr, "name");
  const char *image = kube_json_get_string(ctr, "image");
  char msg[600];
  snprintf(msg, sizeof msg,
           "Container image \"%s\" already present on machine",
           image ? image : "");
  pod_event(n, pod, "Normal", "Pulled", name, msg);
  snprintf(msg, sizeof msg, "Created container: %s", name ? name : "");
  pod_event(n, pod, "Normal", "Created", name, msg);
  snprintf(msg, sizeof msg, "Started container %s", name ? name : "");
  pod_event(n, pod, "Normal", "Started", name, msg);
}

static json_object *ip_list(const char *ip) {
  json_object *l = json_object_new_array(), *o = json_object_new_object();
  add_str(o, "ip", ip);
  json_object_array_add(l, o);
  return l;
}

/* The status of a pod whose containers all started. */
static char *running_patch(struct hnode *n, json_object *pod, const char *ip,
                           bool events) {
  char now[40];
  kube_time_format(time(NULL), now, sizeof now);
  json_object *old = kube_json_get(pod, "status");
  json_object *old_conds = kube_json_get(old, "conditions");
  json_object *st = json_object_new_object();
  add_str(st, "phase", "Running");
  json_object *conds = json_object_new_array();
  static const char *const ours[] = {"PodReadyToStartContainers", "Initialized",
                                     "ContainersReady", "Ready"};
  for (size_t i = 0; i < ARRAY_SIZE(ours); i++)
    json_object_array_add(conds, condition(old_conds, ours[i], now));
  for (size_t i = 0; old_conds && i < json_object_array_length(old_conds);
       i++) {
    json_object *c = json_object_array_get_idx(old_conds, i);
    const char *t = kube_json_get_string(c, "type");
    bool mine = false;
    for (size_t k = 0; t && k < ARRAY_SIZE(ours); k++)
      mine |= streq(t, ours[k]);
    if (t && !mine)
      json_object_array_add(conds, json_object_get(c));
  }
  json_object_object_add(st, "conditions", conds);
  if (ip) {
    add_str(st, "podIP", ip);
    json_object_object_add(st, "podIPs", ip_list(ip));
  }
  const char *start = kube_json_get_string(old, "startTime");
  add_str(st, "startTime", start ? start : now);
  json_object *inits = kube_json_get(pod, "spec.initContainers");
  if (inits && json_object_array_length(inits)) {
    json_object *l = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(inits); i++) {
      json_object *c = json_object_array_get_idx(inits, i);
      const char *rp = kube_json_get_string(c, "restartPolicy");
      bool sidecar = rp && streq(rp, "Always");
      json_object_array_add(l, container_status(pod, c, now, !sidecar));
      if (events)
        container_events(n, pod, c);
    }
    json_object_object_add(st, "initContainerStatuses", l);
  }
  json_object *ctrs = kube_json_get(pod, "spec.containers"),
              *l = json_object_new_array();
  for (size_t i = 0; ctrs && i < json_object_array_length(ctrs); i++) {
    json_object *c = json_object_array_get_idx(ctrs, i);
    json_object_array_add(l, container_status(pod, c, now, false));
    if (events)
      container_events(n, pod, c);
  }
  json_object_object_add(st, "containerStatuses", l);
  json_object *patch = json_object_new_object();
  json_object_object_add(patch, "status", st);
  char *text = json_text(patch);
  json_object_put(patch);
  return text;
}

static int sync_pod_obj(kube_controller_t *c, const char *key,
                        kube_node_hollow_t *h, const kube_object_t *obj) {
  struct hnode *n =
      obj ? node_by_name(h, kube_object_get_string(obj, "spec.nodeName"))
          : NULL;
  if (!n) {
    release_ip(h, key); /* deleted, or not ours */
    return 0;
  }
  if (n->down || h->draining)
    return 0; /* made up again: its pods are queued once more */
  json_object *pod = kube_object_json(obj);
  if (kube_json_get(pod, "metadata.deletionTimestamp"))
    return finish_deletion(n, key, pod);
  const char *phase = kube_json_get_string(pod, "status.phase");
  if (phase && (streq(phase, "Succeeded") || streq(phase, "Failed")))
    return 0;
  bool host_net = kube_json_get(pod, "spec.hostNetwork") &&
                  json_object_get_boolean(kube_json_get(pod, "spec.hostNetwork"));
  const char *reported = kube_json_get_string(pod, "status.podIP");
  char ip[16] = "";
  if (!host_net) {
    if (!node_cidr(n)) {
      /* No spec.podCIDR yet (the node IPAM controller's job): the
       * kubelet's network is not ready either. */
      kube_controller_enqueue_after(c, key, 1000, NULL);
      return 0;
    }
    if (!pod_ip(n, key, reported, ip)) {
      pod_event(n, pod, "Warning", "FailedCreatePodSandBox", NULL,
                "Failed to create pod sandbox: failed to allocate for range "
                "0: no IP addresses available in range set");
      kube_controller_enqueue_after(c, key, 5000, NULL);
      return 0;
    }
  }
  if (reported_running(pod) && (host_net || (reported && streq(reported, ip))))
    return 0;
  cleanup_free char *patch =
      running_patch(n, pod, host_net ? NULL : ip, !reported_running(pod));
  struct pending *p = patch ? pending_new(h, key, false) : NULL;
  /* The reply (the pod) is not read: not parsed either. */
  if (!p || client_writer_patch(h->w, kube_kind_by_kind("v1", "Pod"),
                                kube_json_get_string(pod, "metadata.namespace"),
                                kube_json_get_string(pod, "metadata.name"),
                                "status", KUBE_PATCH_MERGE, patch, NULL,
                                CLIENT_RESULT_NONE, pod_written, p, NULL) < 0) {
    pending_free(p);
    return -1;
  }
  return KUBE_SYNC_PENDING;
}

/* The pod's tree only for the sync (kube_informer_ref): the last sync of
 * a Running pod would otherwise pin a tree of it in the informer for as
 * long as the pod lives, ~20 kB a pod, most of kubed's memory at 150,000
 * pods. */
static int sync_pod(kube_controller_t *c, const char *key, void *arg) {
  kube_node_hollow_t *h = arg;
  kube_object_t *obj = kube_informer_ref(h->pods, key);
  int r = sync_pod_obj(c, key, h, obj);
  kube_object_free(obj);
  return r;
}

/* True when a sync of `pod` (the cached state) would write nothing: it
 * reports Running with the address this node holds for it. */
static bool settled(kube_node_hollow_t *h, const char *key,
                    const kube_object_t *obj) {
  json_object *pod = kube_object_json(obj), *v;
  struct hnode *n = node_by_name(h, kube_object_get_string(obj, "spec.nodeName"));
  if (!n || n->down || h->draining ||
      kube_json_get(pod, "metadata.deletionTimestamp") ||
      !reported_running(pod))
    return false;
  if (json_object_get_boolean(kube_json_get(pod, "spec.hostNetwork")))
    return true;
  const char *reported = kube_json_get_string(pod, "status.podIP");
  if (!reported || !n->bits || !json_object_object_get_ex(h->ips, key, &v))
    return false;
  int x = json_object_get_int(v);
  char ip[16];
  if ((size_t)(x / 256) != n->idx)
    return false;
  core_ipv4_format(n->net + (uint32_t)(x % 256), ip);
  return streq(ip, reported);
}

/* Only the pods of this set's nodes are queued, and of those only the ones
 * a sync would write for: the cached state is what counts (map runs for
 * the old and the new state of an update, and the pod that turned Running
 * was queued by its old state).  That state is parsed already while the
 * informer's handlers run: kube_informer_ref shares it (no parse, no pin). */
static void map_pod(kube_controller_t *c, const char *key,
                    const kube_object_t *obj, void *arg) {
  kube_node_hollow_t *h = arg;
  if (!node_by_name(h, kube_object_get_string(obj, "spec.nodeName")))
    return;
  kube_object_t *cur = kube_informer_ref(h->pods, key);
  bool done = cur && settled(h, key, cur);
  kube_object_free(cur);
  if (!done)
    kube_controller_enqueue(c, key, NULL);
}

static void enqueue_node_pods(struct hnode *n) {
  size_t k = 0;
  const char **keys = kube_informer_index_keys(
      n->h->pods, KUBE_INDEX_NODE_NAME, n->name, &k, NULL);
  for (size_t i = 0; keys && i < k; i++)
    kube_controller_enqueue(n->h->ctl, keys[i], NULL);
  free(keys);
}

/* A node whose spec.podCIDR arrived: Ready now, and its waiting pods go
 * on at once. */
static void map_node(kube_controller_t *c, const char *key,
                     const kube_object_t *obj, void *arg) {
  kube_node_hollow_t *h = arg;
  struct hnode *n = node_by_name(h, key);
  if (n && n->bits == 0 && kube_object_get_string(obj, "spec.podCIDR") &&
      node_cidr(n)) {
    enqueue_node_pods(n);
    if (n->reported != 1 && !n->down && !h->draining)
      status_write(n);
  }
}

/* ---- life cycle ---------------------------------------------------------- */

/* "cpu=8,memory=32Gi,pods=110,ephemeral-storage=100Gi" into vals (pointers
 * into `copy`, a writable copy of the spec) and *pods. */
static int parse_size(char *copy, const char *vals[3], int *pods,
                      kube_error_t *err) {
  static const char *const keys[3] = {"cpu", "memory", "ephemeral-storage"};
  char *save = NULL;
  for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(t, '=');
    bool known = false;
    if (eq) {
      *eq = '\0';
      for (int i = 0; i < 3; i++)
        if (streq(t, keys[i])) {
          vals[i] = eq + 1;
          known = true;
        }
      if (streq(t, "pods")) {
        char *end;
        long v = strtol(eq + 1, &end, 10);
        if (*end || end == eq + 1 || v < 1 || v > 100000)
          return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                                "hollow nodes: bad pods count \"%s\"", eq + 1);
        *pods = (int)v;
        known = true;
      }
    }
    if (!known)
      return kube_error_set(
          err, KUBE_REASON_BAD_REQUEST, 0,
          "hollow nodes: bad node size item \"%s\" (want cpu=, memory=, "
          "pods= or ephemeral-storage=, comma-separated)",
          t);
  }
  return 0;
}

static int copy_options(kube_node_hollow_t *h,
                        const kube_node_hollow_options_t *o,
                        kube_error_t *err) {
  const char *vals[3] = {o->cpu ? o->cpu : "4", o->memory ? o->memory : "16Gi",
                         o->ephemeral_storage ? o->ephemeral_storage
                                              : "100Gi"};
  static const char *const what[3] = {"cpu", "memory", "ephemeral-storage"};
  int pods = o->max_pods;
  cleanup_free char *size = o->size ? strdup(o->size) : NULL;
  if (o->size && !size)
    return kube_make_oom(err);
  if (size && parse_size(size, vals, &pods, err) < 0)
    return -1;
  for (int i = 0; i < 3; i++) {
    kube_quantity_t q;
    if (kube_quantity_parse(vals[i], &q, NULL) < 0 || q.nano <= 0)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "hollow nodes: bad %s quantity \"%s\"", what[i],
                            vals[i]);
  }
  struct utsname u;
  uname(&u);
  if (!(h->cpu = strdup(vals[0])) || !(h->memory = strdup(vals[1])) ||
      !(h->storage = strdup(vals[2])) ||
      !(h->arch = strdup(streq(u.machine, "x86_64")    ? "amd64"
                         : streq(u.machine, "aarch64") ? "arm64"
                                                       : u.machine)) ||
      !(h->kernel = strdup(u.release)))
    return kube_make_oom(err);
  size_t nl = 0;
  while (o->labels && o->labels[nl])
    nl++;
  if (!(h->labels = calloc(nl + 1, sizeof *h->labels)))
    return kube_make_oom(err);
  for (size_t i = 0; i < nl; i++) {
    const char *eq = strchr(o->labels[i], '=');
    if (!eq || eq == o->labels[i])
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "hollow nodes: bad label \"%s\" (want key=value)",
                            o->labels[i]);
    if (!(h->labels[i] = strdup(o->labels[i])))
      return kube_make_oom(err);
  }
  h->max_pods = pods > 0 ? pods : 110;
  h->lease_s = o->lease_duration_seconds > 0 ? o->lease_duration_seconds
                                             : DEFAULT_LEASE_S;
  h->lease_ms = (int64_t)h->lease_s * 250;
  return 0;
}

/* Node i's block of options.pod_cidr. */
static int own_cidrs(kube_node_hollow_t *h, const kube_node_hollow_options_t *o,
                     kube_error_t *err) {
  if (!o->pod_cidr)
    return 0;
  uint32_t net;
  int bits, mask = o->node_cidr_mask_size ? o->node_cidr_mask_size : 24;
  if (core_cidr4_parse(o->pod_cidr, &net, &bits) < 0 || mask < bits ||
      mask > 30)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "hollow nodes: bad pod CIDR %s with node mask /%d",
                          o->pod_cidr, mask);
  uint64_t blocks = 1ULL << (mask - bits);
  if (o->first_index + h->n > blocks)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "hollow nodes: %s has %llu blocks of /%d, not %zu",
                          o->pod_cidr, (unsigned long long)blocks, mask,
                          o->first_index + h->n);
  for (size_t i = 0; i < h->n; i++) {
    char a[16];
    core_ipv4_format(
        net + (uint32_t)((o->first_index + i) << (32 - mask)), a);
    if (asprintf(&h->v[i].own_cidr, "%s/%d", a, mask) < 0) {
      h->v[i].own_cidr = NULL;
      return kube_make_oom(err);
    }
  }
  return 0;
}

static int make_nodes(kube_node_hollow_t *h,
                      const kube_node_hollow_options_t *o, kube_error_t *err) {
  const char *prefix = o->name_prefix ? o->name_prefix : "hollow-node-";
  h->n = o->count ? o->count : 1;
  if (h->n > MAX_NODES)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "hollow nodes: %zu nodes (at most %d)", h->n,
                          MAX_NODES);
  if (!(h->v = calloc(h->n, sizeof *h->v)) ||
      !(h->by_name = json_object_new_object()) ||
      !(h->ips = json_object_new_object()))
    return kube_make_oom(err);
  for (size_t i = 0; i < h->n; i++) {
    struct hnode *n = &h->v[i];
    n->h = h;
    n->idx = i;
    if (asprintf(&n->name, "%s%zu", prefix, o->first_index + i) < 0) {
      n->name = NULL;
      return kube_make_oom(err);
    }
    if (kube_validate_dns1123_subdomain(n->name))
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "hollow nodes: \"%s\" is no valid node name "
                            "(lower case alphanumerics, '-' and '.')",
                            n->name);
    json_object_object_add(h->by_name, n->name,
                           json_object_new_int((int)i));
  }
  return own_cidrs(h, o, err);
}

KUBE_EXPORT kube_node_hollow_t *
kube_node_hollow_new(kube_loop_t *loop, const kube_transport_t *tp,
                     kube_informer_factory_t *informers,
                     const kube_node_hollow_options_t *opts,
                     kube_error_t *err) {
  if (!loop || !tp || !informers || !opts ||
      opts->struct_size < sizeof(kube_node_hollow_options_t)) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "hollow nodes: loop, transport, informers and options "
                   "are required");
    return NULL;
  }
  /* Requests go out as kubelet's (a caller's own User-Agent wins). */
  kube_transport_t tp_ua = *tp;
  if (!tp_ua.user_agent)
    tp_ua.user_agent = CORE_USER_AGENT("kubelet");
  tp = &tp_ua;
  kube_node_hollow_t *h = calloc(1, sizeof *h);
  if (!h) {
    kube_make_oom(err);
    return NULL;
  }
  h->loop = loop;
  h->tp = *tp;
  h->factory = informers;
  kube_informer_options_t po = {.struct_size = sizeof po,
                                .path = "/api/v1/pods"};
  kube_informer_options_t no = {.struct_size = sizeof no,
                                .path = "/api/v1/nodes"};
  kube_controller_options_t co = {.struct_size = sizeof co,
                                  .name = "hollow-nodes",
                                  .max_in_flight = 512,
                                  /* a pod's sync is a patch built: cheap */
                                  .max_batch = 64,
                                  .base_delay_ms = 100,
                                  .max_delay_ms = 10000};
  if (copy_options(h, opts, err) < 0 || make_nodes(h, opts, err) < 0 ||
      !(h->pods = kube_informer_factory_informer(informers, &po, err)) ||
      kube_informer_add_index(h->pods, KUBE_INDEX_NODE_NAME,
                              kube_index_node_name, NULL, err) < 0 ||
      !(h->nodes = kube_informer_factory_informer(informers, &no, err)) ||
      !(h->w = kube_writer_new(loop, &h->tp, err)) ||
      !(h->ctl = kube_controller_new(loop, &co, sync_pod, h, err)) ||
      kube_controller_watch(h->ctl, h->pods, map_pod, h, err) < 0 ||
      kube_controller_watch(h->ctl, h->nodes, map_node, h, err) < 0) {
    kube_node_hollow_free(h);
    return NULL;
  }
  return h;
}

KUBE_EXPORT int kube_node_hollow_start(kube_node_hollow_t *h,
                                       kube_error_t *err) {
  if (h->started)
    return 0;
  for (size_t i = 0; i < h->n; i++) {
    struct hnode *n = &h->v[i];
    if (!(n->timer = kube_timer_new(h->loop, tick, n, err)))
      return -1;
    /* Heartbeats spread over the interval, as kubelets started apart. */
    kube_timer_arm(n->timer, 1 + (int64_t)(h->lease_ms * i / h->n));
    register_node(n);
  }
  h->started = true;
  if ((!kube_informer_running(h->pods) &&
       kube_informer_start(h->pods, err) < 0) ||
      (!kube_informer_running(h->nodes) &&
       kube_informer_start(h->nodes, err) < 0))
    return -1;
  log_info("hollow nodes: %zu (%s .. %s)", h->n, h->v[0].name,
           h->v[h->n - 1].name);
  return kube_controller_start(h->ctl, err);
}

static void drain_poll(void *arg) {
  kube_node_hollow_t *h = arg;
  if (kube_writer_in_flight(h->w) > 0 && h->drain_polls++ < 100) {
    kube_timer_arm(h->drain_timer, 50);
    return;
  }
  void (*done)(void *) = h->drain_done;
  h->drain_done = NULL;
  if (done)
    done(h->drain_arg);
}

KUBE_EXPORT void kube_node_hollow_drain(kube_node_hollow_t *h,
                                        void (*done)(void *arg), void *arg) {
  h->draining = true;
  for (size_t i = 0; i < h->n; i++)
    kube_timer_disarm(h->v[i].timer);
  h->drain_done = done;
  h->drain_arg = arg;
  if (!h->drain_timer &&
      !(h->drain_timer = kube_timer_new(h->loop, drain_poll, h, NULL))) {
    h->drain_done = NULL;
    if (done)
      done(arg);
    return;
  }
  kube_timer_arm(h->drain_timer, 0);
}

KUBE_EXPORT void kube_node_hollow_free(kube_node_hollow_t *h) {
  if (!h)
    return;
  kube_timer_free(h->drain_timer);
  /* The writer first: its callbacks finish controller syncs. */
  kube_writer_free(h->w);
  kube_controller_free(h->ctl);
  for (size_t i = 0; h->v && i < h->n; i++) {
    kube_timer_free(h->v[i].timer);
    kube_event_recorder_free(h->v[i].rec);
    free(h->v[i].name);
    free(h->v[i].own_cidr);
  }
  free(h->v);
  json_object_put(h->by_name);
  json_object_put(h->ips);
  for (size_t i = 0; h->labels && h->labels[i]; i++)
    free(h->labels[i]);
  free(h->labels);
  free(h->cpu);
  free(h->memory);
  free(h->storage);
  free(h->arch);
  free(h->kernel);
  free(h);
}

KUBE_EXPORT size_t kube_node_hollow_count(const kube_node_hollow_t *h) {
  return h ? h->n : 0;
}

KUBE_EXPORT const char *kube_node_hollow_name(const kube_node_hollow_t *h,
                                              size_t i) {
  return h && i < h->n ? h->v[i].name : NULL;
}

KUBE_EXPORT int kube_node_hollow_set_down(kube_node_hollow_t *h,
                                          const char *node, bool down,
                                          kube_error_t *err) {
  struct hnode *n = node_by_name(h, node);
  if (!n)
    return kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                          "hollow node \"%s\" not found", node ? node : "");
  if (n->down == down)
    return 0;
  n->down = down;
  log_info("hollow node %s: %s", n->name,
           down ? "down (no heartbeats, pods left as they are)" : "up again");
  if (down) {
    kube_timer_disarm(n->timer);
    return 0;
  }
  n->reported = 0;
  if (h->started && !h->draining)
    kube_timer_arm(n->timer, 0);
  enqueue_node_pods(n);
  return 0;
}

KUBE_EXPORT void kube_node_hollow_get_stats(const kube_node_hollow_t *h,
                                            kube_node_hollow_stats_t *out) {
  *out = h->stats;
  out->nodes = h->n;
  out->nodes_registered = out->pods = 0;
  for (size_t i = 0; i < h->n; i++) {
    out->nodes_registered += h->v[i].registered;
    out->pods += kube_informer_index_count(h->pods, KUBE_INDEX_NODE_NAME,
                                           h->v[i].name);
  }
  out->pods_running = (size_t)json_object_object_length(h->ips);
}
