/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The controller skeleton: informer registrations that enqueue keys, a
 * rate-limited work queue handing out one key at a time, sync(key), and
 * the bookkeeping of syncs finished later by an asynchronous write.
 *
 * The queue stays paused until the controller is started and every
 * informer it watches is synced (sample-controller's WaitForCacheSync),
 * and while max_in_flight syncs are pending.  Keys are handed out up to
 * max_batch (default CONTROLLER_BATCH) per turn of the loop: one per turn let a controller
 * with thousands of keys (hollow nodes' pods, a node agent's) fall
 * seconds behind a busy loop, one key per round of every other callback.
 */
#include "api/api-private.h"
#include "client/internal.h"
#include "core/util.h"

#define CONTROLLER_BATCH 64

struct watch {
  kube_controller_t *c;
  kube_informer_t *inf;
  kube_informer_registration_t *reg;
  kube_controller_map_fn map;
  void *map_arg;
  char *owner_kind; /* watch_owned */
  struct watch *next;
};

struct kube_controller {
  char *name;
  kube_controller_sync_fn sync;
  void *arg;
  kube_workqueue_t *q;
  size_t max_in_flight;
  unsigned max_retries;
  struct watch *watches;
  bool started, ready;
  struct strmap pending; /* keys whose sync is pending (values unused) */
  kube_controller_stats_t st;
};

static void update_pause(kube_controller_t *c) {
  kube_workqueue_pause(c->q, !c->ready || c->pending.n >= c->max_in_flight);
}

static void check_ready(kube_controller_t *c) {
  if (c->ready || !c->started)
    return;
  for (struct watch *w = c->watches; w; w = w->next)
    if (!kube_informer_registration_synced(w->reg))
      return;
  c->ready = true;
  log_debug("controller %s: caches synced, %zu keys queued", c->name,
            kube_workqueue_ready(c->q));
  update_pause(c);
}

/* The outcome of a key's sync; `key` may be the queue's own copy, which
 * done() frees: done comes last. */
static void finish(kube_controller_t *c, const char *key, int rc) {
  c->st.syncs++;
  if (rc >= 0) {
    kube_workqueue_forget(c->q, key);
    kube_workqueue_done(c->q, key);
    return;
  }
  c->st.failures++;
  if (c->max_retries &&
      kube_workqueue_failures(c->q, key) + 1 >= c->max_retries) {
    log_warn("controller %s: dropping %s after %u failures", c->name, key,
             c->max_retries);
    c->st.dropped++;
    kube_workqueue_forget(c->q, key);
  } else {
    kube_workqueue_add_rate_limited(c->q, key, NULL);
  }
  kube_workqueue_done(c->q, key);
}

static void process(kube_workqueue_t *q, const char *const *keys, size_t n,
                    void *arg) {
  kube_controller_t *c = arg;
  for (size_t i = 0; i < n; i++) {
    const char *key = keys[i];
    if (c->pending.n >= c->max_in_flight) {
      /* Full: the rest of the batch goes back to the queue (marked dirty
       * while processing, queued again by done). */
      kube_workqueue_add(q, key, NULL);
      kube_workqueue_done(q, key);
      continue;
    }
    int rc = c->sync(c, key, c->arg);
    if (rc == KUBE_SYNC_PENDING) {
      if (strmap_put(&c->pending, key, NULL, NULL)) {
        c->st.pending = c->pending.n;
        continue;
      }
      log_warn("controller %s: out of memory tracking %s", c->name, key);
      rc = -1;
    }
    finish(c, key, rc < 0 ? -1 : 0);
  }
  update_pause(c);
}

KUBE_EXPORT void kube_controller_sync_done(kube_controller_t *c,
                                           const char *key, int result) {
  if (!c || !key || !strmap_find(&c->pending, key))
    return;
  /* The queue's copy of the key outlives the pending set's. */
  strmap_remove(&c->pending, key);
  c->st.pending = c->pending.n;
  if (kube_workqueue_is_processing(c->q, key))
    finish(c, key, result < 0 ? -1 : 0);
  update_pause(c);
}

/* ---- handlers ---- */

static void enqueue_for(struct watch *w, const char *key,
                        const kube_object_t *obj) {
  if (w->owner_kind) {
    kube_controller_enqueue_owner(w->c, obj, w->owner_kind, NULL);
  } else if (w->map) {
    w->map(w->c, key, obj, w->map_arg);
  } else {
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    if (kube_controller_enqueue(w->c, key, &err) < 0)
      log_warn("controller %s: %s", w->c->name, err.message);
  }
}

static void on_add(const char *key, const kube_object_t *obj, void *arg) {
  enqueue_for(arg, key, obj);
}

static void on_update(const char *key, const kube_object_t *old_obj,
                      const kube_object_t *obj, void *arg) {
  struct watch *w = arg;
  /* Owner or mapping may have changed: both sides sync (the queue folds
   * the same key). */
  if (w->map || w->owner_kind)
    enqueue_for(w, key, old_obj);
  enqueue_for(w, key, obj);
}

static void on_delete(const char *key, const kube_object_t *obj, void *arg) {
  enqueue_for(arg, key, obj);
}

static void on_synced(void *arg) {
  struct watch *w = arg;
  check_ready(w->c);
}

static int add_watch(kube_controller_t *c, kube_informer_t *inf,
                     kube_controller_map_fn map, void *map_arg,
                     const char *owner_kind, kube_error_t *err) {
  if (!c || !inf)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "watch needs a controller and an informer");
  struct watch *w = calloc(1, sizeof *w);
  if (!w || (owner_kind && !(w->owner_kind = strdup(owner_kind)))) {
    free(w);
    return kube_make_oom(err);
  }
  w->c = c;
  w->inf = inf;
  w->map = map;
  w->map_arg = map_arg;
  kube_informer_handlers_t h = {
      .struct_size = sizeof h,
      .on_add = on_add,
      .on_update = on_update,
      .on_delete = on_delete,
      .on_synced = on_synced,
  };
  w->reg = kube_informer_add_handlers(inf, &h, w, err);
  if (!w->reg) {
    free(w->owner_kind);
    free(w);
    return -1;
  }
  w->next = c->watches;
  c->watches = w;
  if (c->ready) {
    /* Watching more later: wait for this one too. */
    c->ready = false;
    update_pause(c);
  }
  return 0;
}

/* ---- public ---- */

KUBE_EXPORT kube_controller_t *
kube_controller_new(kube_loop_t *loop, const kube_controller_options_t *opts,
                    kube_controller_sync_fn sync, void *arg,
                    kube_error_t *err) {
  kube_controller_options_t o = {0};
  core_opts_copy(&o, opts);
  if (!sync) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "a controller needs a sync function");
    return NULL;
  }
  kube_controller_t *c = calloc(1, sizeof *c);
  if (!c || !(c->name = strdup(o.name ? o.name : "controller"))) {
    free(c);
    kube_make_oom(err);
    return NULL;
  }
  c->sync = sync;
  c->arg = arg;
  c->max_in_flight = o.max_in_flight ? o.max_in_flight : 16;
  c->max_retries = o.max_retries;
  kube_workqueue_options_t qo = {
      .struct_size = sizeof qo,
      .max_batch = o.max_batch ? o.max_batch : CONTROLLER_BATCH,
      .base_delay_ms = o.base_delay_ms > 0 ? o.base_delay_ms : 5,
      .max_delay_ms = o.max_delay_ms > 0 ? o.max_delay_ms : 1000 * 1000,
  };
  c->q = kube_workqueue_new(loop, &qo, process, c, err);
  if (!c->q) {
    kube_controller_free(c);
    return NULL;
  }
  kube_workqueue_pause(c->q, true);
  return c;
}

KUBE_EXPORT int kube_controller_watch(kube_controller_t *c,
                                      kube_informer_t *inf,
                                      kube_controller_map_fn map, void *map_arg,
                                      kube_error_t *err) {
  return add_watch(c, inf, map, map_arg, NULL, err);
}

KUBE_EXPORT int kube_controller_watch_owned(kube_controller_t *c,
                                            kube_informer_t *inf,
                                            const char *owner_kind,
                                            kube_error_t *err) {
  if (!owner_kind || !*owner_kind)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "watch_owned needs an owner kind");
  return add_watch(c, inf, NULL, NULL, owner_kind, err);
}

KUBE_EXPORT int kube_controller_enqueue(kube_controller_t *c, const char *key,
                                        kube_error_t *err) {
  return kube_workqueue_add(c->q, key, err);
}

KUBE_EXPORT int kube_controller_enqueue_after(kube_controller_t *c,
                                              const char *key, int64_t delay_ms,
                                              kube_error_t *err) {
  return kube_workqueue_add_after(c->q, key, delay_ms, err);
}

KUBE_EXPORT int kube_controller_enqueue_owner(kube_controller_t *c,
                                              const kube_object_t *obj,
                                              const char *owner_kind,
                                              kube_error_t *err) {
  json_object *ref = client_controller_ref(obj);
  const char *kind = kube_json_get_string(ref, "kind");
  const char *name = kube_json_get_string(ref, "name");
  if (!kind || !name || !owner_kind || !streq(kind, owner_kind))
    return 0;
  const char *ns = kube_object_namespace(obj);
  cleanup_free char *key = NULL;
  if (ns && *ns ? asprintf(&key, "%s/%s", ns, name) < 0
                : !(key = strdup(name))) {
    key = NULL;
    return kube_make_oom(err);
  }
  return kube_workqueue_add(c->q, key, err) < 0 ? -1 : 1;
}

KUBE_EXPORT int kube_controller_start(kube_controller_t *c, kube_error_t *err) {
  c->started = true;
  check_ready(c);
  return 0;
}

KUBE_EXPORT bool kube_controller_ready(const kube_controller_t *c) {
  return c->ready;
}

KUBE_EXPORT kube_workqueue_t *kube_controller_queue(kube_controller_t *c) {
  return c->q;
}

KUBE_EXPORT void kube_controller_get_stats(const kube_controller_t *c,
                                           kube_controller_stats_t *out) {
  *out = c->st;
  out->pending = c->pending.n;
}

KUBE_EXPORT void kube_controller_free(kube_controller_t *c) {
  if (!c)
    return;
  for (struct watch *w = c->watches, *next; w; w = next) {
    next = w->next;
    kube_informer_remove_handlers(w->inf, w->reg);
    free(w->owner_kind);
    free(w);
  }
  kube_workqueue_free(c->q);
  strmap_clear(&c->pending, NULL);
  free(c->name);
  free(c);
}
