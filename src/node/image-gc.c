/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kubelet's image garbage collection (image_gc_manager.go): every
 * ImageGCPeriod the usage of the image store's file system is checked;
 * at or above --image-gc-high-threshold, unused images go, least recently
 * used first, until it is below --image-gc-low-threshold.  An image a pod
 * of the node names (running, waiting or stopped) or a container holds
 * is never removed.  Freeing less than needed records FreeDiskSpaceFailed
 * on the Node; a second failure in a row records ImageGCFailed, as the
 * kubelet does.  The check and the removal run on a worker.
 */
#include <sys/statvfs.h>

#include "node/agent.h"

int64_t nd_image_gc_amount(uint64_t capacity, uint64_t available, int high,
                           int low) {
  if (capacity == 0 || high >= 100 || available > capacity)
    return 0;
  int usage = 100 - (int)(available * 100 / capacity);
  if (usage < high)
    return 0;
  int64_t amount =
      (int64_t)(capacity * (uint64_t)(100 - low) / 100) - (int64_t)available;
  return amount > 0 ? amount : 0;
}

/* The bytes of the images of `before` that `after` no longer has (the
 * kubelet counts what it freed in image sizes). */
static int64_t images_gone(const kube_image_info_t *before, size_t nb,
                           const kube_image_info_t *after, size_t na) {
  int64_t sum = 0;
  for (size_t i = 0; i < nb; i++) {
    bool kept = false;
    for (size_t k = 0; k < na && !kept; k++)
      kept = streq(before[i].id, after[k].id);
    if (!kept)
      sum += before[i].size;
  }
  return sum;
}

struct igc_job {
  char **refs; /* images the node's pods name */
  size_t n_refs;
  int high, low;
  int64_t to_free, freed;
  size_t removed;
  char *error; /* GarbageCollect's error (the event text) */
  bool insufficient;
};

static void igc_work(nd_job_t *j, kube_runtime_t *rt) {
  struct igc_job *g = j->data;
  kube_image_store_t *store = j->a->images;
  struct statvfs v;
  if (statvfs(kube_image_store_path(store), &v) < 0) {
    if (asprintf(&g->error, "failed to get imageFs info: %s", strerror(errno)) <
        0)
      g->error = NULL;
    return;
  }
  uint64_t capacity = (uint64_t)v.f_blocks * v.f_frsize;
  uint64_t available = (uint64_t)v.f_bavail * v.f_frsize;
  g->to_free = nd_image_gc_amount(capacity, available, g->high, g->low);
  if (g->to_free <= 0)
    return;
  /* the manifests the pods' images resolve to are kept */
  const char **keep = calloc(g->n_refs + 1, sizeof *keep);
  kube_image_info_t *infos = calloc(g->n_refs + 1, sizeof *infos);
  size_t nk = 0;
  for (size_t i = 0; keep && infos && i < g->n_refs; i++) {
    kube_error_t e = KUBE_ERROR_INIT;
    if (kube_image_inspect(store, g->refs[i], &infos[nk], &e) == 0 &&
        infos[nk].manifest_digest)
      keep[nk] = infos[nk].manifest_digest, nk++;
    kube_error_clear(&e);
  }
  kube_image_prune_options_t o = {.struct_size = sizeof o,
                                  .high_percent = g->high,
                                  .low_percent = g->low,
                                  .keep = keep};
  kube_image_prune_result_t r = {0};
  kube_error_t e = KUBE_ERROR_INIT;
  kube_image_info_t *before = NULL, *after = NULL;
  size_t nb = 0, na = 0;
  if (!keep || !infos) {
    kube_make_oom(&e);
  } else if (kube_image_list(store, &before, &nb, &e) == 0 &&
             kube_image_prune(store, &o, &r, &e) == 0 &&
             kube_image_list(store, &after, &na, &e) == 0) {
    g->freed = images_gone(before, nb, after, na);
    g->removed = r.images_removed;
    if (g->freed < g->to_free) {
      g->insufficient = true;
      if (asprintf(&g->error,
                   "Failed to garbage collect required amount of images. "
                   "Attempted to free %lld bytes, but only found %lld bytes "
                   "eligible to free.",
                   (long long)g->to_free, (long long)g->freed) < 0)
        g->error = NULL;
    }
  }
  if (e.message && asprintf(&g->error, "%s", e.message) < 0)
    g->error = NULL;
  kube_error_clear(&e);
  kube_image_info_free_array(before, nb);
  kube_image_info_free_array(after, na);
  for (size_t i = 0; infos && i < nk; i++)
    kube_image_info_clear(&infos[i]);
  free(infos);
  free(keep);
}

static void igc_done(nd_job_t *j) {
  struct igc_job *g = j->data;
  kube_node_agent_t *a = j->a;
  a->image_gc_running = false;
  a->stats.images_collected += g->removed;
  if (g->to_free > 0)
    log_info("node %s: image GC: %zu images removed, %lld bytes freed "
             "(%lld wanted)",
             a->cfg.node_name, g->removed, (long long)g->freed,
             (long long)g->to_free);
  if (!g->error) {
    a->image_gc_failed_before = false;
    return;
  }
  if (g->insufficient)
    nd_node_event(a, "Warning", "FreeDiskSpaceFailed", g->error);
  if (a->image_gc_failed_before) {
    log_warn("node %s: image garbage collection failed multiple times in a "
             "row: %s",
             a->cfg.node_name, g->error);
    nd_node_event(a, "Warning", "ImageGCFailed", g->error);
  } else {
    log_warn("node %s: image garbage collection failed once: %s",
             a->cfg.node_name, g->error);
  }
  a->image_gc_failed_before = true;
}

static void igc_free(nd_job_t *j) {
  struct igc_job *g = j->data;
  for (size_t i = 0; i < g->n_refs; i++)
    free(g->refs[i]);
  free(g->refs);
  free(g->error);
  free(g);
}

static void add_ref(struct igc_job *g, const char *ref) {
  if (!ref || !*ref)
    return;
  for (size_t i = 0; i < g->n_refs; i++)
    if (streq(g->refs[i], ref))
      return;
  char **v = realloc(g->refs, (g->n_refs + 1) * sizeof *v);
  if (!v)
    return;
  g->refs = v;
  if ((g->refs[g->n_refs] = strdup(ref)))
    g->n_refs++;
}

static void add_pod_images(struct igc_job *g, json_object *spec) {
  static const char *const lists[] = {"initContainers", "containers",
                                      "ephemeralContainers"};
  for (size_t l = 0; spec && l < ARRAY_SIZE(lists); l++) {
    json_object *arr = NULL;
    if (!json_object_object_get_ex(spec, lists[l], &arr) ||
        !json_object_is_type(arr, json_type_array))
      continue;
    for (size_t i = 0; i < json_object_array_length(arr); i++)
      add_ref(g,
              kube_json_get_string(json_object_array_get_idx(arr, i), "image"));
  }
}

static void igc_tick(void *arg) {
  kube_node_agent_t *a = arg;
  if (a->image_gc_running || a->draining || !a->images)
    return;
  struct igc_job *g = calloc(1, sizeof *g);
  if (!g)
    return;
  g->high = a->cfg.image_gc_high;
  g->low = a->cfg.image_gc_low;
  for (size_t i = 0; i < a->n_pods; i++) {
    struct nd_pod *p = a->pods_v[i];
    const kube_object_t *o = nd_pod_object(a, p);
    if (!o)
      o = p->last;
    if (o)
      add_pod_images(g, nd_spec(o));
    for (size_t c = 0; c < p->n_ctrs; c++) {
      add_ref(g, p->ctrs[c].cur.image_ref);
      add_ref(g, p->ctrs[c].prev.image_ref);
    }
  }
  nd_job_t *j = nd_job_new(a, NULL, igc_work, igc_done, g, igc_free);
  if (!j) {
    g->refs ? igc_free(&(nd_job_t){.data = g}) : free(g);
    return;
  }
  if (nd_job_submit(j, NULL) == 0)
    a->image_gc_running = true;
}

int nd_image_gc_start(kube_node_agent_t *a, kube_error_t *err) {
  if (a->cfg.image_gc_high >= 100 || !a->images || a->image_gc_timer)
    return 0;
  if (!(a->image_gc_timer = kube_timer_new(a->loop, igc_tick, a, err)))
    return -1;
  kube_timer_arm_periodic(a->image_gc_timer, a->cfg.image_gc_period_ms);
  return 0;
}

void nd_image_gc_free(kube_node_agent_t *a) {
  kube_timer_free(a->image_gc_timer);
  a->image_gc_timer = NULL;
}
