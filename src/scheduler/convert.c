/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Node and Pod objects in the scheduler's terms: what the binding loop
 * feeds the scheduler from its informers, and what the object functions
 * of objects.c take from embedders and bindings.  Strings are borrowed
 * from the object; arrays are owned by the conversion.
 */
#include "api/api-private.h"
#include "core/util.h"
#include "scheduler/convert.h"

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

void ks_node_conv_clear(struct ks_node_conv *c) {
  kube_node_clear(&c->view);
  free(c->labels);
  free(c->taints);
  free(c->images);
  free(c->ext);
  memset(c, 0, sizeof *c);
}

int ks_node_convert(const kube_object_t *obj, struct ks_node_conv *c,
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
    ks_node_conv_clear(c);
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

void ks_pod_conv_clear(struct ks_pod_conv *c) {
  kube_pod_spec_clear(&c->spec);
  free(c->mem);
  free(c->spread_mem);
  free(c->ns_mem);
  memset(c, 0, sizeof *c);
}

/* Bump allocator over one block: the pod arrays are sized first. */
struct conv_arena {
  char *p;
  size_t used, cap;
};
static void *arena_take(struct conv_arena *a, size_t n, size_t size) {
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
  /* namespaceSelector {} selects every namespace; a non-empty one too
   * unless resolved to namespaces (ks_pod_resolve_ns, with the loop's
   * namespace labels). */
  out->all_namespaces = t->namespace_selector != NULL;
  out->topology_key = t->topology_key;
}

/* topologySpreadConstraints in the scheduler's terms; matchLabelKeys
 * become equality requirements on the pod's own values (keys the pod
 * does not carry are ignored, as kube-scheduler does). */
static int spread_convert(struct ks_pod_conv *c, json_object *labels) {
  const kube_pod_spec_t *s = &c->spec;
  size_t n_reqs = 0;
  for (size_t i = 0; i < s->n_topology_spread; i++) {
    const kube_topology_spread_constraint_t *t = &s->topology_spread[i];
    n_reqs +=
        (t->label_selector ? t->label_selector->n : 1) + t->n_match_label_keys;
  }
  size_t bytes =
      s->n_topology_spread * sizeof(kube_sched_spread_constraint_t) +
      n_reqs * (sizeof(kube_selector_requirement_t) + sizeof(char *));
  char *m = c->spread_mem = calloc(1, bytes ? bytes : 1);
  if (!m)
    return -1;
  kube_sched_spread_constraint_t *out = (kube_sched_spread_constraint_t *)m;
  kube_selector_requirement_t *reqs =
      (kube_selector_requirement_t *)(out + s->n_topology_spread);
  char **vals = (char **)(reqs + n_reqs);
  for (size_t i = 0; i < s->n_topology_spread; i++) {
    const kube_topology_spread_constraint_t *t = &s->topology_spread[i];
    kube_sched_spread_constraint_t *o = &out[i];
    o->max_skew = t->max_skew > 0 ? t->max_skew : 1;
    o->topology_key = t->topology_key ? t->topology_key : "";
    o->schedule_anyway =
        t->when_unsatisfiable && streq(t->when_unsatisfiable, "ScheduleAnyway");
    o->min_domains = t->min_domains;
    o->ignore_node_affinity =
        t->node_affinity_policy && streq(t->node_affinity_policy, "Ignore");
    o->honor_node_taints =
        t->node_taints_policy && streq(t->node_taints_policy, "Honor");
    o->selector = reqs;
    size_t n = t->label_selector ? t->label_selector->n : 0;
    memcpy(reqs, n ? t->label_selector->reqs : reqs, n * sizeof *reqs);
    if (!t->label_selector) /* no selector matches no pods: a label "" */
      reqs[n++] =
          (kube_selector_requirement_t){"", KUBE_SELECTOR_EXISTS, 0, NULL};
    for (size_t k = 0; k < t->n_match_label_keys; k++) {
      json_object *v = NULL;
      if (!labels ||
          !json_object_object_get_ex(labels, t->match_label_keys[k], &v))
        continue;
      *vals = (char *)json_object_get_string(v);
      reqs[n++] = (kube_selector_requirement_t){t->match_label_keys[k],
                                                KUBE_SELECTOR_EQUALS, 1, vals};
      vals++;
    }
    o->n_selector = n;
    reqs += n;
  }
  c->pod.spread = out;
  c->pod.n_spread = s->n_topology_spread;
  return 0;
}

int ks_pod_convert(const kube_object_t *obj, struct ks_pod_conv *c,
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
  struct conv_arena a = {.p = c->mem = malloc(cap), .cap = cap};
  if (!a.p) {
    ks_pod_conv_clear(c);
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
  if (s->n_topology_spread && spread_convert(c, labels) < 0) {
    ks_pod_conv_clear(c);
    return kube_make_oom(err);
  }
  return 0;
}
