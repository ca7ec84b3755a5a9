/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The binding loop: node and pod informers feed the scheduler state,
 * pending pods go through a work queue in batches, placements are assumed
 * at once and bound with POST pods/NAME/binding.
 *
 * Pod conversion borrows strings from the informer's cached objects: a pass
 * runs without returning to the event loop, so the cache cannot change
 * under it.
 */
#include <event2/event.h>

#include <libkube/client.h>
#include <libkube/scheduler.h>

#include "api/api-private.h"
#include "client/client-private.h"
#include "core/util.h"

#define DEFAULT_MAX_BATCH 2048
#define RETRY_BASE_MS 1000
#define RETRY_MAX_MS 10000
/* The same FailedScheduling message is not repeated within this time. */
#define EVENT_REPEAT_NS (60ll * 1000000000ll)

struct last_event {
  char *message;
  int64_t at_ns;
};

struct kube_scheduler_loop {
  struct event_base *base;
  kube_loop_t *kloop;
  kube_transport_t tp;
  kube_scheduler_t *sched;
  kube_informer_t *nodes;
  kube_informer_t *pods;
  kube_workqueue_t *queue;
  char **names; /* scheduler names served, NULL-terminated */
  bool record_scheduled;
  bool set_condition;
  bool running;
  /* Pods assumed on a node whose binding the informer has not shown yet:
   * key -> node name (owned). */
  struct strmap assumed;
  /* Bound pods whose node the scheduler does not know (yet): key -> node
   * name (owned). */
  struct strmap orphans;
  /* key -> struct last_event, for unschedulable pods. */
  struct strmap last_events;
  kube_scheduler_loop_stats_t stats;
  /* Outstanding request contexts, so free can cancel them. */
  struct pending_call *calls;
};

/* A binding (or event/status write) in flight. */
struct pending_call {
  kube_scheduler_loop_t *loop;
  kube_transport_call_t *call;
  char *key;  /* pod key, for bindings */
  char *node; /* bindings */
  bool binding;
  struct pending_call *prev, *next;
};

/* ------------------------------------------------------------------------ */
/* Converting objects                                                        */
/* ------------------------------------------------------------------------ */

static kube_sched_taint_effect_t effect_of(const char *e) {
  if (!e || !*e)
    return KUBE_TAINT_ANY;
  if (streq(e, "PreferNoSchedule"))
    return KUBE_TAINT_PREFER_NO_SCHEDULE;
  if (streq(e, "NoExecute"))
    return KUBE_TAINT_NO_EXECUTE;
  return KUBE_TAINT_NO_SCHEDULE;
}

static void resources_of(const kube_resource_list_t *rl,
                         kube_sched_resources_t *out,
                         kube_sched_resource_t *ext) {
  out->cpu_milli = rl->cpu_milli;
  out->memory = rl->memory;
  out->ephemeral_storage = rl->ephemeral_storage;
  out->pods = rl->pods;
  out->n_extended = rl->n_extended;
  for (size_t i = 0; i < rl->n_extended; i++) {
    ext[i].name = rl->extended[i].name;
    ext[i].value = rl->extended[i].value;
  }
  out->extended = ext;
}

/* A node in the scheduler's terms; everything borrowed from `view` and
 * the object, arrays owned here. */
struct node_conv {
  kube_node_t view;
  kube_sched_node_t node;
  kube_sched_label_t *labels;
  kube_sched_taint_t *taints;
  kube_sched_image_t *images;
  kube_sched_resource_t *ext;
};

static void node_conv_clear(struct node_conv *c) {
  kube_node_free(&c->view);
  free(c->labels);
  free(c->taints);
  free(c->images);
  free(c->ext);
  memset(c, 0, sizeof *c);
}

static int node_convert(const kube_object_t *obj, struct node_conv *c,
                        kube_error_t *err) {
  memset(c, 0, sizeof *c);
  json_object *root = kube_object_json(obj);
  if (kube_node_from_json(root, &c->view, err) < 0)
    return -1;
  kube_node_t *v = &c->view;
  json_object *images = kube_json_get(root, "status.images");
  size_t n_images = images && json_object_is_type(images, json_type_array)
                        ? json_object_array_length(images)
                        : 0;
  c->labels = calloc(v->n_labels + 1, sizeof *c->labels);
  c->taints = calloc(v->n_taints + 1, sizeof *c->taints);
  c->images = calloc(n_images + 1, sizeof *c->images);
  c->ext = calloc(v->allocatable.n_extended + 1, sizeof *c->ext);
  if (!c->labels || !c->taints || !c->images || !c->ext) {
    node_conv_clear(c);
    return kube_make_oom(err);
  }
  for (size_t i = 0; i < v->n_labels; i++)
    c->labels[i] = (kube_sched_label_t){v->labels[i].key, v->labels[i].value};
  for (size_t i = 0; i < v->n_taints; i++) {
    c->taints[i].key = v->taints[i].key;
    c->taints[i].value = v->taints[i].value;
    c->taints[i].effect = effect_of(v->taints[i].effect);
  }
  size_t ni = 0;
  for (size_t i = 0; i < n_images; i++) {
    json_object *im = json_object_array_get_idx(images, i);
    const char *name = kube_json_get_string(im, "names.0");
    json_object *size = kube_json_get(im, "sizeBytes");
    if (name)
      c->images[ni++] =
          (kube_sched_image_t){name, size ? json_object_get_int64(size) : 0};
  }
  c->node.name = v->name;
  resources_of(&v->allocatable, &c->node.allocatable, c->ext);
  c->node.n_labels = v->n_labels;
  c->node.labels = c->labels;
  c->node.n_taints = v->n_taints;
  c->node.taints = c->taints;
  c->node.unschedulable = v->unschedulable;
  c->node.n_images = ni;
  c->node.images = c->images;
  return 0;
}

/* A pod in the scheduler's terms. */
struct pod_conv {
  kube_pod_spec_t spec;
  kube_sched_pod_t pod;
  /* One allocation for every array below. */
  void *mem;
};

static void pod_conv_clear(struct pod_conv *c) {
  kube_pod_spec_free(&c->spec);
  free(c->mem);
  memset(c, 0, sizeof *c);
}

/* Bump allocator over one block: the pod arrays are sized first. */
struct arena {
  char *p;
  size_t used, cap;
};
static void *arena_take(struct arena *a, size_t n, size_t size) {
  size_t bytes = (n * size + 15) & ~(size_t)15;
  if (a->used + bytes > a->cap)
    return NULL;
  void *r = a->p + a->used;
  a->used += bytes;
  return r;
}

static void node_term_of(const kube_node_selector_term_t *t,
                         kube_sched_node_selector_term_t *out) {
  out->n_match_expressions = t->match_expressions ? t->match_expressions->n : 0;
  out->match_expressions =
      t->match_expressions ? t->match_expressions->reqs : NULL;
  out->n_match_fields = t->match_fields ? t->match_fields->n : 0;
  out->match_fields = t->match_fields ? t->match_fields->reqs : NULL;
}

static void pod_term_of(const kube_pod_affinity_term_t *t,
                        kube_sched_pod_affinity_term_t *out) {
  out->n_selector = t->label_selector ? t->label_selector->n : 0;
  out->selector = t->label_selector ? t->label_selector->reqs : NULL;
  out->n_namespaces = t->n_namespaces;
  out->namespaces = (const char *const *)t->namespaces;
  /* namespaceSelector {} selects every namespace; a non-empty one is
   * approximated the same way (namespace labels are not known here). */
  out->all_namespaces = t->namespace_selector != NULL;
  out->topology_key = t->topology_key;
}

static int pod_convert(const kube_object_t *obj, struct pod_conv *c,
                       kube_error_t *err) {
  memset(c, 0, sizeof *c);
  json_object *root = kube_object_json(obj);
  json_object *spec = kube_json_get(root, "spec");
  if (!spec) {
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "pod %s has no spec",
                          kube_object_name(obj));
  }
  if (kube_pod_spec_from_json(spec, &c->spec, err) < 0)
    return -1;
  kube_pod_spec_t *s = &c->spec;
  const kube_affinity_t *af = &s->affinity;
  json_object *labels = kube_json_get(root, "metadata.labels");
  size_t n_labels = labels && json_object_is_type(labels, json_type_object)
                        ? (size_t)json_object_object_length(labels)
                        : 0;
  size_t n_ports = 0, n_images = 0;
  for (size_t i = 0; i < s->n_containers; i++) {
    n_ports += s->containers[i].n_ports;
    if (s->containers[i].image)
      n_images++;
  }
  size_t cap =
      (n_labels + s->n_node_selector) * sizeof(kube_sched_label_t) +
      (af->n_node_required) * sizeof(kube_sched_node_selector_term_t) +
      af->n_node_preferred * sizeof(kube_sched_preferred_term_t) +
      (af->n_pod_affinity_required + af->n_pod_anti_affinity_required) *
          sizeof(kube_sched_pod_affinity_term_t) +
      (af->n_pod_affinity_preferred + af->n_pod_anti_affinity_preferred) *
          sizeof(kube_sched_weighted_pod_affinity_term_t) +
      s->n_tolerations * sizeof(kube_sched_toleration_t) +
      n_ports * sizeof(kube_sched_port_t) + n_images * sizeof(char *) +
      s->requests.n_extended * sizeof(kube_sched_resource_t) + 16 * 16;
  struct arena a = {.p = c->mem = malloc(cap), .cap = cap};
  if (!a.p) {
    pod_conv_clear(c);
    return kube_make_oom(err);
  }
  kube_sched_pod_t *p = &c->pod;
  p->namespace_ = kube_object_namespace(obj);
  p->name = kube_object_name(obj);
  kube_sched_resource_t *ext =
      arena_take(&a, s->requests.n_extended, sizeof *ext);
  resources_of(&s->requests, &p->requests, ext);
  p->requests.pods = 0;
  for (size_t i = 0; i < s->n_containers; i++) {
    p->limits.cpu_milli += s->containers[i].limits.cpu_milli;
    p->limits.memory += s->containers[i].limits.memory;
  }
  p->priority = s->priority;
  p->node_name = s->node_name;
  kube_sched_label_t *lv = arena_take(&a, n_labels, sizeof *lv);
  if (n_labels) {
    size_t i = 0;
    json_object_object_foreach(labels, k, val) {
      lv[i].key = k;
      lv[i].value = json_object_get_string(val);
      i++;
    }
  }
  p->n_labels = n_labels;
  p->labels = lv;
  kube_sched_label_t *ns = arena_take(&a, s->n_node_selector, sizeof *ns);
  for (size_t i = 0; i < s->n_node_selector; i++)
    ns[i] = (kube_sched_label_t){s->node_selector[i].key,
                                 s->node_selector[i].value};
  p->n_node_selector = s->n_node_selector;
  p->node_selector = ns;
  kube_sched_node_selector_term_t *rt =
      arena_take(&a, af->n_node_required, sizeof *rt);
  for (size_t i = 0; i < af->n_node_required; i++)
    node_term_of(&af->node_required[i], &rt[i]);
  p->n_required_terms = af->n_node_required;
  p->required_terms = rt;
  kube_sched_preferred_term_t *pt =
      arena_take(&a, af->n_node_preferred, sizeof *pt);
  for (size_t i = 0; i < af->n_node_preferred; i++) {
    pt[i].weight = af->node_preferred[i].weight;
    node_term_of(&af->node_preferred[i].term, &pt[i].term);
  }
  p->n_preferred_terms = af->n_node_preferred;
  p->preferred_terms = pt;
  kube_sched_pod_affinity_term_t *pa =
      arena_take(&a, af->n_pod_affinity_required, sizeof *pa);
  for (size_t i = 0; i < af->n_pod_affinity_required; i++)
    pod_term_of(&af->pod_affinity_required[i], &pa[i]);
  p->n_pod_affinity = af->n_pod_affinity_required;
  p->pod_affinity = pa;
  kube_sched_pod_affinity_term_t *paa =
      arena_take(&a, af->n_pod_anti_affinity_required, sizeof *paa);
  for (size_t i = 0; i < af->n_pod_anti_affinity_required; i++)
    pod_term_of(&af->pod_anti_affinity_required[i], &paa[i]);
  p->n_pod_anti_affinity = af->n_pod_anti_affinity_required;
  p->pod_anti_affinity = paa;
  kube_sched_weighted_pod_affinity_term_t *wpa =
      arena_take(&a, af->n_pod_affinity_preferred, sizeof *wpa);
  for (size_t i = 0; i < af->n_pod_affinity_preferred; i++) {
    wpa[i].weight = af->pod_affinity_preferred[i].weight;
    pod_term_of(&af->pod_affinity_preferred[i], &wpa[i].term);
  }
  p->n_preferred_pod_affinity = af->n_pod_affinity_preferred;
  p->preferred_pod_affinity = wpa;
  kube_sched_weighted_pod_affinity_term_t *wpaa =
      arena_take(&a, af->n_pod_anti_affinity_preferred, sizeof *wpaa);
  for (size_t i = 0; i < af->n_pod_anti_affinity_preferred; i++) {
    wpaa[i].weight = af->pod_anti_affinity_preferred[i].weight;
    pod_term_of(&af->pod_anti_affinity_preferred[i], &wpaa[i].term);
  }
  p->n_preferred_pod_anti_affinity = af->n_pod_anti_affinity_preferred;
  p->preferred_pod_anti_affinity = wpaa;
  kube_sched_toleration_t *tol = arena_take(&a, s->n_tolerations, sizeof *tol);
  for (size_t i = 0; i < s->n_tolerations; i++) {
    const kube_toleration_t *t = &s->tolerations[i];
    tol[i].key = t->key;
    tol[i].op = t->op && streq(t->op, "Exists") ? KUBE_TOLERATION_EXISTS
                                                : KUBE_TOLERATION_EQUAL;
    tol[i].value = t->value;
    tol[i].effect = effect_of(t->effect);
  }
  p->n_tolerations = s->n_tolerations;
  p->tolerations = tol;
  kube_sched_port_t *ports = arena_take(&a, n_ports, sizeof *ports);
  const char **images = arena_take(&a, n_images, sizeof *images);
  size_t np = 0, nim = 0;
  for (size_t i = 0; i < s->n_containers; i++) {
    const kube_container_t *ct = &s->containers[i];
    for (size_t j = 0; j < ct->n_ports; j++)
      ports[np++] = (kube_sched_port_t){
          ct->ports[j].host_port, ct->ports[j].protocol, ct->ports[j].host_ip};
    if (ct->image)
      images[nim++] = ct->image;
  }
  p->n_ports = np;
  p->ports = ports;
  p->n_images = nim;
  p->images = images;
  const char *pp = kube_json_get_string(spec, "preemptionPolicy");
  p->preemption_never = pp && streq(pp, "Never");
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Classifying pods                                                          */
/* ------------------------------------------------------------------------ */

enum pod_class { POD_IGNORED, POD_PENDING, POD_BOUND, POD_TERMINAL };

static enum pod_class classify(const kube_scheduler_loop_t *loop,
                               const kube_object_t *obj) {
  json_object *root = kube_object_json(obj);
  const char *node = kube_json_get_string(root, "spec.nodeName");
  const char *phase = kube_json_get_string(root, "status.phase");
  bool terminal =
      phase && (streq(phase, "Succeeded") || streq(phase, "Failed"));
  if (node && *node)
    return terminal ? POD_TERMINAL : POD_BOUND;
  if (terminal || kube_json_get(root, "metadata.deletionTimestamp"))
    return POD_IGNORED;
  const char *sn = kube_json_get_string(root, "spec.schedulerName");
  if (!sn || !*sn)
    sn = "default-scheduler";
  for (char **n = loop->names; *n; n++)
    if (streq(*n, sn))
      return POD_PENDING;
  return POD_IGNORED;
}

/* ------------------------------------------------------------------------ */
/* Orphans: bound pods whose node is unknown                                 */
/* ------------------------------------------------------------------------ */

static void orphan_drop(kube_scheduler_loop_t *loop, const char *key) {
  if (loop->orphans.n)
    free(strmap_remove(&loop->orphans, key));
}

static void orphan_add(kube_scheduler_loop_t *loop, const char *key,
                       const char *node) {
  char *n = strdup(node);
  void *old = NULL;
  if (!n || !strmap_put(&loop->orphans, key, n, &old)) {
    free(n);
    return;
  }
  free(old);
}

/* ------------------------------------------------------------------------ */
/* Accounting bound pods                                                     */
/* ------------------------------------------------------------------------ */

static void forget_assumed(kube_scheduler_loop_t *loop, const char *key) {
  free(strmap_remove(&loop->assumed, key));
}

static void split_key(const char *key, char *ns, size_t nslen,
                      const char **name) {
  const char *slash = strchr(key, '/');
  if (!slash) {
    snprintf(ns, nslen, "default");
    *name = key;
    return;
  }
  snprintf(ns, nslen, "%.*s", (int)(slash - key), key);
  *name = slash + 1;
}

static void unaccount(kube_scheduler_loop_t *loop, const char *key) {
  char ns[256];
  const char *name;
  split_key(key, ns, sizeof ns, &name);
  kube_scheduler_remove_pod(loop->sched, ns, name, NULL);
}

static void account_bound(kube_scheduler_loop_t *loop, const char *key,
                          const kube_object_t *obj) {
  forget_assumed(loop, key);
  struct pod_conv pc;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (pod_convert(obj, &pc, &err) < 0) {
    log_warn("scheduler: cannot account pod %s: %s", key, err.message);
    return;
  }
  const char *node = pc.spec.node_name;
  pc.pod.node_name = NULL;
  if (kube_scheduler_update_pod(loop->sched, &pc.pod, node, &err) < 0) {
    if (err.reason == KUBE_REASON_NOT_FOUND)
      orphan_add(loop, key, node);
    else
      log_warn("scheduler: cannot account pod %s: %s", key, err.message);
  } else {
    orphan_drop(loop, key);
  }
  pod_conv_clear(&pc);
}

/* A change that may let waiting pods fit: retry them now. */
static void cluster_changed(kube_scheduler_loop_t *loop) {
  if (loop->running)
    kube_workqueue_flush_delayed(loop->queue);
}

static void enqueue_pending(kube_scheduler_loop_t *loop, const char *key) {
  if (!loop->running)
    return;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (kube_workqueue_add(loop->queue, key, &err) < 0)
    log_warn("scheduler: cannot queue %s: %s", key, err.message);
  /* Keep the parsed object the informer holds during this event: the pass
   * needs it soon (it is dropped when the pod changes, i.e. is bound). */
  if (loop->pods)
    kube_informer_get(loop->pods, key);
}

/* ------------------------------------------------------------------------ */
/* Node informer                                                             */
/* ------------------------------------------------------------------------ */

static void adopt_orphans(kube_scheduler_loop_t *loop, const char *node) {
  /* Collect first: accounting changes the map. */
  size_t n = 0;
  char **keys = calloc(loop->orphans.n, sizeof *keys);
  if (!keys)
    return;
  STRMAP_FOREACH(&loop->orphans, i, e)
  if (streq(e->value, node) && !(keys[n++] = strdup(e->key)))
    n--;
  for (size_t i = 0; i < n; i++) {
    const kube_object_t *obj = kube_informer_get(loop->pods, keys[i]);
    if (obj && classify(loop, obj) == POD_BOUND)
      account_bound(loop, keys[i], obj); /* drops the orphan on success */
    else
      orphan_drop(loop, keys[i]);
    free(keys[i]);
  }
  free(keys);
}

static void node_upsert(kube_scheduler_loop_t *loop, const kube_object_t *obj,
                        bool is_new) {
  struct node_conv nc;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (node_convert(obj, &nc, &err) < 0) {
    log_warn("scheduler: ignoring node %s: %s", kube_object_name(obj),
             err.message);
    return;
  }
  int rc = is_new ? kube_scheduler_add_node(loop->sched, &nc.node, &err)
                  : kube_scheduler_update_node(loop->sched, &nc.node, &err);
  if (rc < 0 && (err.reason == KUBE_REASON_ALREADY_EXISTS ||
                 err.reason == KUBE_REASON_NOT_FOUND)) {
    kube_error_clear(&err);
    rc = is_new ? kube_scheduler_update_node(loop->sched, &nc.node, &err)
                : kube_scheduler_add_node(loop->sched, &nc.node, &err);
  }
  if (rc < 0)
    log_warn("scheduler: node %s: %s", nc.node.name, err.message);
  else if (loop->orphans.n)
    adopt_orphans(loop, nc.node.name);
  node_conv_clear(&nc);
}

static void node_add(const char *key, const kube_object_t *obj, void *arg) {
  kube_scheduler_loop_t *loop = arg;
  node_upsert(loop, obj, true);
  cluster_changed(loop);
}

/* Heartbeats change only conditions: skip what scheduling ignores. */
static bool node_sched_equal(const kube_object_t *a, const kube_object_t *b) {
  json_object *x = kube_object_json(a), *y = kube_object_json(b);
  static const char *const paths[] = {"metadata.labels", "spec",
                                      "status.allocatable", "status.capacity",
                                      "status.images"};
  for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
    if (!json_object_equal(kube_json_get(x, paths[i]),
                           kube_json_get(y, paths[i])))
      return false;
  return true;
}

static void node_update(const char *key, const kube_object_t *old_obj,
                        const kube_object_t *obj, void *arg) {
  kube_scheduler_loop_t *loop = arg;
  if (node_sched_equal(old_obj, obj))
    return;
  node_upsert(loop, obj, false);
  cluster_changed(loop);
}

struct node_gone_ctx {
  kube_scheduler_loop_t *loop;
  const char *node;
};

static void orphan_pods_of(const char *key, const kube_object_t *obj,
                           void *arg) {
  struct node_gone_ctx *c = arg;
  const char *n = kube_object_get_string(obj, "spec.nodeName");
  if (n && streq(n, c->node) && classify(c->loop, obj) == POD_BOUND)
    orphan_add(c->loop, key, n);
}

static void node_delete(const char *key, const kube_object_t *obj, void *arg) {
  kube_scheduler_loop_t *loop = arg;
  /* The scheduler forgets the node's pods; remember them in case the node
   * comes back (a re-registering kubelet). */
  kube_scheduler_remove_node(loop->sched, key, NULL);
  struct node_gone_ctx c = {loop, key};
  if (loop->pods)
    kube_informer_foreach(loop->pods, orphan_pods_of, &c);
}

static void pods_synced(void *arg);
static void pod_add(const char *key, const kube_object_t *obj, void *arg);
static void pod_update(const char *key, const kube_object_t *old_obj,
                       const kube_object_t *obj, void *arg);
static void pod_delete(const char *key, const kube_object_t *obj, void *arg);

static void nodes_synced(void *arg) {
  kube_scheduler_loop_t *loop = arg;
  kube_informer_handlers_t h = {
      .struct_size = sizeof h,
      .on_add = pod_add,
      .on_update = pod_update,
      .on_delete = pod_delete,
      .on_synced = pods_synced,
  };
  kube_informer_options_t o = {.struct_size = sizeof o, .path = "/api/v1/pods"};
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  loop->pods = kube_informer_new(loop->kloop, &loop->tp, &o, &h, loop, &err);
  if (!loop->pods || kube_informer_start(loop->pods, &err) < 0) {
    log_error("scheduler: cannot watch pods: %s", err.message);
    return;
  }
  log_info("scheduler: %zu nodes synced", kube_informer_count(loop->nodes));
}

/* ------------------------------------------------------------------------ */
/* Pod informer                                                              */
/* ------------------------------------------------------------------------ */

static void pod_add(const char *key, const kube_object_t *obj, void *arg) {
  kube_scheduler_loop_t *loop = arg;
  switch (classify(loop, obj)) {
  case POD_BOUND:
    account_bound(loop, key, obj);
    break;
  case POD_PENDING:
    enqueue_pending(loop, key);
    break;
  default:
    break;
  }
}

/* Did anything scheduling looks at change (not just status)? */
static bool pod_sched_equal(const kube_object_t *a, const kube_object_t *b) {
  json_object *x = kube_object_json(a), *y = kube_object_json(b);
  return json_object_equal(kube_json_get(x, "spec"),
                           kube_json_get(y, "spec")) &&
         json_object_equal(kube_json_get(x, "metadata.labels"),
                           kube_json_get(y, "metadata.labels"));
}

static void pod_gone(kube_scheduler_loop_t *loop, const char *key) {
  forget_assumed(loop, key);
  orphan_drop(loop, key);
  unaccount(loop, key);
  cluster_changed(loop);
}

static void pod_update(const char *key, const kube_object_t *old_obj,
                       const kube_object_t *obj, void *arg) {
  kube_scheduler_loop_t *loop = arg;
  enum pod_class was = classify(loop, old_obj), now = classify(loop, obj);
  switch (now) {
  case POD_BOUND: {
    /* Our own binding coming back: the assumption already accounts the
     * pod there (kube-scheduler's assume cache confirms it the same way). */
    const char *assumed = strmap_get(&loop->assumed, key);
    const char *node = kube_object_get_string(obj, "spec.nodeName");
    json_object *x = kube_object_json(old_obj), *y = kube_object_json(obj);
    kube_sched_resources_t r;
    if (was == POD_PENDING && assumed && node && streq(assumed, node) &&
        kube_scheduler_node_requested(loop->sched, node, &r, NULL) == 0 &&
        json_object_equal(kube_json_get(x, "metadata.labels"),
                          kube_json_get(y, "metadata.labels")) &&
        json_object_equal(kube_json_get(x, "spec.containers"),
                          kube_json_get(y, "spec.containers"))) {
      forget_assumed(loop, key);
      break;
    }
    if (was != POD_BOUND || !pod_sched_equal(old_obj, obj) || assumed)
      account_bound(loop, key, obj);
    break;
  }
  case POD_PENDING:
    if (was != POD_PENDING || !pod_sched_equal(old_obj, obj))
      enqueue_pending(loop, key);
    break;
  case POD_TERMINAL:
  case POD_IGNORED:
    if (was == POD_BOUND)
      pod_gone(loop, key);
    else if (was == POD_PENDING)
      kube_workqueue_forget(loop->queue, key);
    break;
  }
}

static void pod_delete(const char *key, const kube_object_t *obj, void *arg) {
  kube_scheduler_loop_t *loop = arg;
  kube_workqueue_forget(loop->queue, key);
  struct last_event *le = strmap_remove(&loop->last_events, key);
  if (le) {
    free(le->message);
    free(le);
  }
  if (classify(loop, obj) == POD_BOUND || strmap_find(&loop->assumed, key))
    pod_gone(loop, key);
}

static void queue_pending(const char *key, const kube_object_t *obj,
                          void *arg) {
  kube_scheduler_loop_t *loop = arg;
  if (classify(loop, obj) == POD_PENDING)
    enqueue_pending(loop, key);
}

static void pods_synced(void *arg) {
  kube_scheduler_loop_t *loop = arg;
  loop->running = true;
  kube_informer_foreach(loop->pods, queue_pending, loop);
  log_info("scheduler: %zu pods synced, %zu pending",
           kube_informer_count(loop->pods), kube_workqueue_ready(loop->queue));
}

/* ------------------------------------------------------------------------ */
/* Requests: bindings, events, status                                        */
/* ------------------------------------------------------------------------ */

static void pending_unlink(kube_scheduler_loop_t *loop,
                           struct pending_call *pc) {
  if (pc->prev)
    pc->prev->next = pc->next;
  else
    loop->calls = pc->next;
  if (pc->next)
    pc->next->prev = pc->prev;
  free(pc->key);
  free(pc->node);
  free(pc);
}

static void write_event(kube_scheduler_loop_t *loop, const kube_object_t *pod,
                        const char *type, const char *reason,
                        const char *message);

static void binding_done(kube_scheduler_loop_t *loop, struct pending_call *pc,
                         int status, const char *data, size_t len) {
  const char *key = pc->key;
  loop->stats.in_flight--;
  if (status == 201 || status == 200) {
    loop->stats.bindings_ok++;
    const kube_object_t *pod = kube_informer_get(loop->pods, key);
    if (pod && loop->record_scheduled) {
      char msg[600];
      snprintf(msg, sizeof msg, "Successfully assigned %s to %s", key,
               pc->node);
      write_event(loop, pod, "Normal", "Scheduled", msg);
    }
    kube_workqueue_forget(loop->queue, key);
    kube_workqueue_done(loop->queue, key);
    return;
  }
  loop->stats.bindings_failed++;
  log_info("scheduler: binding %s to %s failed (%d): %.*s", key, pc->node,
           status, (int)(len > 300 ? 300 : len), data ? data : "");
  const kube_object_t *obj = kube_informer_get(loop->pods, key);
  /* Forget the assumption unless the informer already accounted the pod
   * where it really is. */
  if (strmap_find(&loop->assumed, key)) {
    forget_assumed(loop, key);
    unaccount(loop, key);
    cluster_changed(loop);
  }
  kube_workqueue_done(loop->queue, key);
  if (obj && classify(loop, obj) == POD_PENDING)
    kube_workqueue_add_rate_limited(loop->queue, key, NULL);
}

static void call_reply(int status, const char *ctype, const char *data,
                       size_t len, bool done, void *arg) {
  struct pending_call *pc = arg;
  if (!done)
    return; /* plain replies only */
  kube_scheduler_loop_t *loop = pc->loop;
  pc->call = NULL;
  if (pc->binding)
    binding_done(loop, pc, status, data, len);
  else if (status >= 300)
    log_info("scheduler: write answered %d: %.*s", status,
             (int)(len > 300 ? 300 : len), data ? data : "");
  pending_unlink(loop, pc);
}

static int send_request(kube_scheduler_loop_t *loop, const char *method,
                        const char *path, const char *ctype, const char *body,
                        size_t body_len, const char *key, const char *node,
                        kube_error_t *err) {
  struct pending_call *pc = calloc(1, sizeof *pc);
  if (!pc)
    return kube_make_oom(err);
  pc->loop = loop;
  pc->binding = node != NULL;
  pc->key = key ? strdup(key) : NULL;
  pc->node = node ? strdup(node) : NULL;
  if ((key && !pc->key) || (node && !pc->node)) {
    free(pc->key);
    free(pc->node);
    free(pc);
    return kube_make_oom(err);
  }
  kube_transport_request_t req = {
      .struct_size = sizeof req,
      .method = method,
      .path = path,
      .content_type = ctype,
      .body = body,
      .body_len = body_len,
  };
  pc->call = kube_transport_request(&loop->tp, &req, call_reply, pc, err);
  if (!pc->call) {
    free(pc->key);
    free(pc->node);
    free(pc);
    return -1;
  }
  pc->next = loop->calls;
  if (loop->calls)
    loop->calls->prev = pc;
  loop->calls = pc;
  return 0;
}

static void write_event(kube_scheduler_loop_t *loop, const kube_object_t *pod,
                        const char *type, const char *reason,
                        const char *message) {
  const char *ns = kube_object_namespace(pod), *name = kube_object_name(pod);
  const char *uid = kube_object_uid(pod);
  const char *rv = kube_object_resource_version(pod);
  if (!ns || !*ns)
    ns = "default";
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  char ts[40], micro[40];
  kube_time_format(now.tv_sec, ts, sizeof ts);
  kube_time_format_micro(&now, micro, sizeof micro);
  cleanup_strbuf kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb,
                     "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":"
                     "{\"name\":\"%.200s.%016llx\",\"namespace\":",
                     name,
                     (unsigned long long)now.tv_sec * 1000000000ull +
                         (unsigned long long)now.tv_nsec);
  kube_strbuf_append_json_string(&sb, ns);
  kube_strbuf_append(&sb, "},\"involvedObject\":{\"kind\":\"Pod\","
                          "\"apiVersion\":\"v1\",\"namespace\":");
  kube_strbuf_append_json_string(&sb, ns);
  kube_strbuf_append(&sb, ",\"name\":");
  kube_strbuf_append_json_string(&sb, name);
  if (uid) {
    kube_strbuf_append(&sb, ",\"uid\":");
    kube_strbuf_append_json_string(&sb, uid);
  }
  if (rv) {
    kube_strbuf_append(&sb, ",\"resourceVersion\":");
    kube_strbuf_append_json_string(&sb, rv);
  }
  kube_strbuf_printf(&sb, "},\"reason\":\"%s\",\"message\":", reason);
  kube_strbuf_append_json_string(&sb, message);
  kube_strbuf_printf(&sb,
                     ",\"type\":\"%s\",\"source\":{\"component\":"
                     "\"default-scheduler\"},\"firstTimestamp\":\"%s\","
                     "\"lastTimestamp\":\"%s\",\"eventTime\":\"%s\","
                     "\"count\":1,\"action\":\"%s\",\"reportingComponent\":"
                     "\"default-scheduler\",\"reportingInstance\":\"kubed\"}",
                     type, ts, ts, micro,
                     streq(reason, "Scheduled") ? "Binding" : "Scheduling");
  if (sb.oom)
    return;
  char path[320];
  snprintf(path, sizeof path, "/api/v1/namespaces/%s/events", ns);
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (send_request(loop, "POST", path, NULL, sb.data, sb.len, NULL, NULL,
                   &err) < 0)
    log_warn("scheduler: event for %s/%s: %s", ns, name, err.message);
  else
    loop->stats.events++;
}

/* PodScheduled=False/Unschedulable, as kube-scheduler sets it; only when it
 * is not already there with the same message. */
static void set_unschedulable(kube_scheduler_loop_t *loop,
                              const kube_object_t *pod, const char *message) {
  json_object *conds =
      kube_json_get(kube_object_json(pod), "status.conditions");
  size_t n = conds && json_object_is_type(conds, json_type_array)
                 ? json_object_array_length(conds)
                 : 0;
  for (size_t i = 0; i < n; i++) {
    json_object *c = json_object_array_get_idx(conds, i);
    const char *t = kube_json_get_string(c, "type");
    const char *st = kube_json_get_string(c, "status");
    const char *m = kube_json_get_string(c, "message");
    if (t && streq(t, "PodScheduled") && st && streq(st, "False") && m &&
        streq(m, message))
      return;
  }
  char ts[40];
  kube_time_format(time(NULL), ts, sizeof ts);
  cleanup_strbuf kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb,
                     "{\"status\":{\"conditions\":[{\"type\":\"PodScheduled\","
                     "\"status\":\"False\",\"reason\":\"Unschedulable\","
                     "\"lastProbeTime\":null,\"lastTransitionTime\":\"%s\","
                     "\"message\":",
                     ts);
  kube_strbuf_append_json_string(&sb, message);
  kube_strbuf_append(&sb, "}]}}");
  const char *ns = kube_object_namespace(pod);
  char path[600];
  snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s/status",
           ns && *ns ? ns : "default", kube_object_name(pod));
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (!sb.oom && send_request(loop, "PATCH", path,
                              "application/strategic-merge-patch+json", sb.data,
                              sb.len, NULL, NULL, &err) < 0)
    log_warn("scheduler: status of %s: %s", kube_object_name(pod), err.message);
}

static void report_unschedulable(kube_scheduler_loop_t *loop, const char *key,
                                 const kube_object_t *pod,
                                 const char *message) {
  int64_t now = kube_time_mono_ns();
  struct last_event *le = strmap_get(&loop->last_events, key);
  if (le && le->message && streq(le->message, message) &&
      now - le->at_ns < EVENT_REPEAT_NS)
    return;
  if (!le) {
    le = calloc(1, sizeof *le);
    if (!le || !strmap_put(&loop->last_events, key, le, NULL)) {
      free(le);
      le = NULL;
    }
  }
  if (le) {
    free(le->message);
    le->message = strdup(message);
    le->at_ns = now;
  }
  write_event(loop, pod, "Warning", "FailedScheduling", message);
  if (loop->set_condition)
    set_unschedulable(loop, pod, message);
}

static int post_binding(kube_scheduler_loop_t *loop, const char *key,
                        const kube_object_t *pod, const char *node,
                        kube_error_t *err) {
  const char *ns = kube_object_namespace(pod), *name = kube_object_name(pod);
  const char *uid = kube_object_uid(pod);
  if (!ns || !*ns)
    ns = "default";
  cleanup_strbuf kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "{\"apiVersion\":\"v1\",\"kind\":\"Binding\","
                          "\"metadata\":{\"name\":");
  kube_strbuf_append_json_string(&sb, name);
  kube_strbuf_append(&sb, ",\"namespace\":");
  kube_strbuf_append_json_string(&sb, ns);
  if (uid) {
    kube_strbuf_append(&sb, ",\"uid\":");
    kube_strbuf_append_json_string(&sb, uid);
  }
  kube_strbuf_append(&sb, "},\"target\":{\"apiVersion\":\"v1\",\"kind\":"
                          "\"Node\",\"name\":");
  kube_strbuf_append_json_string(&sb, node);
  kube_strbuf_append(&sb, "}}");
  if (sb.oom)
    return kube_make_oom(err);
  char path[600];
  snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s/binding", ns,
           name);
  return send_request(loop, "POST", path, NULL, sb.data, sb.len, key, node,
                      err);
}

/* ------------------------------------------------------------------------ */
/* A pass                                                                    */
/* ------------------------------------------------------------------------ */

static void place(kube_scheduler_loop_t *loop, const char *key,
                  const kube_object_t *obj, kube_sched_result_t *r) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  loop->stats.attempts++;
  if (!r->node) {
    loop->stats.unschedulable++;
    const char *msg = r->message ? r->message : "0 nodes are available";
    log_debug("scheduler: %s: %s", key, msg);
    report_unschedulable(loop, key, obj, msg);
    /* Backoff first: done() may release the borrowed key. */
    kube_workqueue_add_rate_limited(loop->queue, key, NULL);
    kube_workqueue_done(loop->queue, key);
    return;
  }
  /* Assumed already (schedule_batch committed it). */
  char *node = strdup(r->node);
  void *old = NULL;
  if (!node || !strmap_put(&loop->assumed, key, node, &old)) {
    free(node);
    unaccount(loop, key);
    kube_workqueue_add_rate_limited(loop->queue, key, NULL);
    kube_workqueue_done(loop->queue, key);
    return;
  }
  free(old);
  if (post_binding(loop, key, obj, r->node, &err) < 0) {
    log_warn("scheduler: binding %s: %s", key, err.message);
    forget_assumed(loop, key);
    unaccount(loop, key);
    kube_workqueue_add_rate_limited(loop->queue, key, NULL);
    kube_workqueue_done(loop->queue, key);
    return;
  }
  loop->stats.in_flight++;
}

static void process(kube_workqueue_t *q, const char *const *keys, size_t n,
                    void *arg) {
  kube_scheduler_loop_t *loop = arg;
  /* Declared before any goto: the cleanup runs at every exit. */
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  struct pod_conv *convs = calloc(n, sizeof *convs);
  kube_sched_pod_t *pods = calloc(n, sizeof *pods);
  const char **pkeys = calloc(n, sizeof *pkeys);
  const kube_object_t **objs = calloc(n, sizeof *objs);
  kube_sched_result_t *results = calloc(n, sizeof *results);
  size_t m = 0;
  if (!convs || !pods || !pkeys || !objs || !results) {
    for (size_t i = 0; i < n; i++) {
      kube_workqueue_add_rate_limited(q, keys[i], NULL);
      kube_workqueue_done(q, keys[i]);
    }
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    const kube_object_t *obj = kube_informer_get(loop->pods, keys[i]);
    if (!obj || classify(loop, obj) != POD_PENDING ||
        strmap_find(&loop->assumed, keys[i])) {
      kube_workqueue_done(q, keys[i]);
      continue;
    }
    if (pod_convert(obj, &convs[m], &err) < 0) {
      log_warn("scheduler: cannot schedule %s: %s", keys[i], err.message);
      report_unschedulable(loop, keys[i], obj, err.message);
      kube_error_clear(&err);
      kube_workqueue_done(q, keys[i]);
      continue;
    }
    pods[m] = convs[m].pod;
    pkeys[m] = keys[i];
    objs[m] = obj;
    m++;
  }
  if (!m)
    goto out;
  loop->stats.passes++;
  int64_t placed = kube_scheduler_schedule_batch(
      loop->sched, pods, m, KUBE_SCHED_BATCH_COMMIT, results, &err);
  if (placed < 0) {
    /* Nothing was placed: retry one by one later. */
    log_warn("scheduler: batch of %zu failed: %s", m, err.message);
    for (size_t i = 0; i < m; i++) {
      kube_workqueue_add_rate_limited(q, pkeys[i], NULL);
      kube_workqueue_done(q, pkeys[i]);
    }
    goto out;
  }
  for (size_t i = 0; i < m; i++) {
    place(loop, pkeys[i], objs[i], &results[i]);
    kube_sched_result_clear(&results[i]);
  }
out:
  for (size_t i = 0; convs && i < m; i++)
    pod_conv_clear(&convs[i]);
  free(convs);
  free(pods);
  free(pkeys);
  free(objs);
  free(results);
}

/* ------------------------------------------------------------------------ */
/* Public                                                                    */
/* ------------------------------------------------------------------------ */

KUBE_EXPORT kube_scheduler_loop_t *kube_scheduler_loop_new(
    kube_loop_t *kloop, const struct kube_transport *tp,
    const kube_scheduler_loop_options_t *opts, kube_error_t *err) {
  struct event_base *base = kube_loop_base(kloop);
  if (!base || !tp || !tp->ops) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "scheduler loop needs an event loop and a transport");
    return NULL;
  }
  kube_scheduler_loop_options_t o = {0};
  if (opts)
    memcpy(&o, opts,
           opts->struct_size && opts->struct_size < sizeof o ? opts->struct_size
                                                             : sizeof o);
  kube_scheduler_loop_t *loop = calloc(1, sizeof *loop);
  if (!loop) {
    kube_make_oom(err);
    return NULL;
  }
  loop->base = base;
  loop->kloop = kloop;
  loop->tp = *tp;
  loop->record_scheduled = !o.no_scheduled_events;
  loop->set_condition = !o.no_unschedulable_condition;
  static const char *const default_names[] = {"default-scheduler", "libkube",
                                              NULL};
  const char *const *names =
      o.scheduler_names ? o.scheduler_names : default_names;
  size_t nn = 0;
  while (names[nn])
    nn++;
  loop->names = calloc(nn + 1, sizeof *loop->names);
  for (size_t i = 0; loop->names && i < nn; i++)
    if (!(loop->names[i] = strdup(names[i]))) {
      kube_scheduler_loop_free(loop);
      kube_make_oom(err);
      return NULL;
    }
  if (!loop->names) {
    kube_scheduler_loop_free(loop);
    kube_make_oom(err);
    return NULL;
  }
  loop->sched = kube_scheduler_new(o.config, err);
  if (!loop->sched) {
    kube_scheduler_loop_free(loop);
    return NULL;
  }
  kube_workqueue_options_t qo = {
      .struct_size = sizeof qo,
      .max_batch = o.max_batch ? o.max_batch : DEFAULT_MAX_BATCH,
      .base_delay_ms = RETRY_BASE_MS,
      .max_delay_ms = RETRY_MAX_MS,
  };
  loop->queue = kube_workqueue_new(kloop, &qo, process, loop, err);
  if (!loop->queue) {
    kube_scheduler_loop_free(loop);
    return NULL;
  }
  kube_informer_handlers_t h = {
      .struct_size = sizeof h,
      .on_add = node_add,
      .on_update = node_update,
      .on_delete = node_delete,
      .on_synced = nodes_synced,
  };
  kube_informer_options_t io = {.struct_size = sizeof io,
                                .path = "/api/v1/nodes"};
  loop->nodes = kube_informer_new(kloop, tp, &io, &h, loop, err);
  if (!loop->nodes) {
    kube_scheduler_loop_free(loop);
    return NULL;
  }
  return loop;
}

KUBE_EXPORT int kube_scheduler_loop_start(kube_scheduler_loop_t *loop,
                                          kube_error_t *err) {
  return kube_informer_start(loop->nodes, err);
}

KUBE_EXPORT bool
kube_scheduler_loop_running(const kube_scheduler_loop_t *loop) {
  return loop->running;
}

KUBE_EXPORT void
kube_scheduler_loop_get_stats(const kube_scheduler_loop_t *loop,
                              kube_scheduler_loop_stats_t *out) {
  *out = loop->stats;
  out->pending =
      kube_workqueue_ready(loop->queue) + kube_workqueue_delayed(loop->queue);
}

KUBE_EXPORT const kube_scheduler_t *
kube_scheduler_loop_scheduler(const kube_scheduler_loop_t *loop) {
  return loop->sched;
}

static void free_last_event(void *v) {
  struct last_event *le = v;
  if (le)
    free(le->message);
  free(le);
}

KUBE_EXPORT void kube_scheduler_loop_free(kube_scheduler_loop_t *loop) {
  if (!loop)
    return;
  while (loop->calls) {
    struct pending_call *pc = loop->calls;
    kube_transport_cancel(&loop->tp, pc->call);
    pending_unlink(loop, pc);
  }
  kube_informer_free(loop->pods);
  kube_informer_free(loop->nodes);
  kube_workqueue_free(loop->queue);
  kube_scheduler_free(loop->sched);
  strmap_clear(&loop->assumed, free);
  strmap_clear(&loop->last_events, free_last_event);
  strmap_clear(&loop->orphans, free);
  for (char **n = loop->names; n && *n; n++)
    free(*n);
  free(loop->names);
  free(loop);
}
