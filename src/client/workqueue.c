/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A rate-limited work queue on the event loop, after client-go's
 * workqueue: ready keys in FIFO order, a key handed out at most once at a
 * time (adds while it is processed mark it dirty), per-key exponential
 * backoff with one libevent timer per delayed key.
 */
#include <sys/queue.h>

#include <event2/event.h>

#include <libkube/kit.h>

#include "client/client-private.h"
#include "core/util.h"

struct item {
  const char *key; /* the map entry's key */
  kube_workqueue_t *q;
  bool queued;         /* in the ready list */
  bool processing;     /* handed out, done() not called yet */
  bool dirty;          /* added while processing: queue again after done */
  struct event *timer; /* delayed add, or NULL */
  int64_t due_ns;      /* monotonic deadline of the timer */
  unsigned failures;
  TAILQ_ENTRY(item) link;
};
TAILQ_HEAD(item_list, item);

struct kube_workqueue {
  struct event_base *base;
  kube_workqueue_process_fn fn;
  void *arg;
  size_t max_batch;
  int64_t base_delay_ms, max_delay_ms;
  struct strmap items;
  struct item_list ready;
  size_t n_ready, n_delayed, n_processing;
  struct event *run_ev;
  bool paused;
  bool running; /* inside fn */
};

static void schedule_run(kube_workqueue_t *q) {
  if (!q->paused && q->n_ready && !q->running)
    event_active(q->run_ev, 0, 0);
}

/* Drop an item that holds no state any more. */
static void maybe_release(kube_workqueue_t *q, struct item *it) {
  if (it->queued || it->processing || it->timer || it->failures)
    return;
  strmap_remove(&q->items, it->key);
  free(it);
}

static struct item *item_get(kube_workqueue_t *q, const char *key,
                             kube_error_t *err) {
  struct item *it = strmap_get(&q->items, key);
  if (it)
    return it;
  it = calloc(1, sizeof *it);
  struct strmap_entry *e = it ? strmap_put(&q->items, key, it, NULL) : NULL;
  if (!e) {
    free(it);
    kube_make_oom(err);
    return NULL;
  }
  it->key = e->key;
  it->q = q;
  return it;
}

static void cancel_timer(kube_workqueue_t *q, struct item *it) {
  if (it->timer) {
    event_free(it->timer);
    it->timer = NULL;
    q->n_delayed--;
  }
}

static void enqueue(kube_workqueue_t *q, struct item *it) {
  cancel_timer(q, it);
  if (it->processing) {
    it->dirty = true;
    return;
  }
  if (it->queued)
    return;
  it->queued = true;
  TAILQ_INSERT_TAIL(&q->ready, it, link);
  q->n_ready++;
  schedule_run(q);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg) {
  struct item *it = arg;
  kube_workqueue_t *q = it->q;
  event_free(it->timer);
  it->timer = NULL;
  q->n_delayed--;
  enqueue(q, it);
}

static void run_cb(evutil_socket_t fd, short what, void *arg) {
  kube_workqueue_t *q = arg;
  if (q->paused || !q->n_ready)
    return;
  size_t n = q->n_ready < q->max_batch ? q->n_ready : q->max_batch;
  const char *one[1] = {NULL};
  const char **keys = n > 1 ? malloc(n * sizeof *keys) : NULL;
  if (!keys) {
    n = 1; /* a single key, or out of memory: still make progress */
    keys = one;
  }
  for (size_t i = 0; i < n; i++) {
    struct item *it = TAILQ_FIRST(&q->ready);
    TAILQ_REMOVE(&q->ready, it, link);
    q->n_ready--;
    it->queued = false;
    it->processing = true;
    q->n_processing++;
    keys[i] = it->key;
  }
  q->running = true;
  q->fn(q, keys, n, q->arg);
  q->running = false;
  if (keys != one)
    free(keys);
  schedule_run(q);
}

KUBE_EXPORT kube_workqueue_t *
kube_workqueue_new(kube_loop_t *kloop, const kube_workqueue_options_t *opts,
                   kube_workqueue_process_fn fn, void *arg, kube_error_t *err) {
  struct event_base *base = kube_loop_base(kloop);
  if (!base || !fn) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "work queue needs an event loop and a callback");
    return NULL;
  }
  kube_workqueue_t *q = calloc(1, sizeof *q);
  if (!q) {
    kube_make_oom(err);
    return NULL;
  }
  q->base = base;
  q->fn = fn;
  q->arg = arg;
  q->max_batch = opts && opts->max_batch ? opts->max_batch : 1;
  q->base_delay_ms = opts && opts->base_delay_ms > 0 ? opts->base_delay_ms : 5;
  q->max_delay_ms =
      opts && opts->max_delay_ms > 0 ? opts->max_delay_ms : 60 * 1000;
  TAILQ_INIT(&q->ready);
  q->run_ev = event_new(base, -1, 0, run_cb, q);
  if (!q->run_ev) {
    free(q);
    kube_make_oom(err);
    return NULL;
  }
  return q;
}

KUBE_EXPORT int kube_workqueue_add(kube_workqueue_t *q, const char *key,
                                   kube_error_t *err) {
  struct item *it = item_get(q, key, err);
  if (!it)
    return -1;
  enqueue(q, it);
  return 0;
}

KUBE_EXPORT int kube_workqueue_add_after(kube_workqueue_t *q, const char *key,
                                         int64_t delay_ms, kube_error_t *err) {
  if (delay_ms <= 0)
    return kube_workqueue_add(q, key, err);
  struct item *it = item_get(q, key, err);
  if (!it)
    return -1;
  if (it->queued)
    return 0;
  int64_t due = kube_time_mono_ns() + delay_ms * 1000000;
  if (it->timer) {
    if (it->due_ns <= due)
      return 0;
    cancel_timer(q, it);
  }
  it->timer = evtimer_new(q->base, timer_cb, it);
  if (!it->timer) {
    maybe_release(q, it);
    return kube_make_oom(err);
  }
  struct timeval tv = {.tv_sec = delay_ms / 1000,
                       .tv_usec = (delay_ms % 1000) * 1000};
  evtimer_add(it->timer, &tv);
  it->due_ns = due;
  q->n_delayed++;
  return 0;
}

KUBE_EXPORT int kube_workqueue_add_rate_limited(kube_workqueue_t *q,
                                                const char *key,
                                                kube_error_t *err) {
  struct item *it = item_get(q, key, err);
  if (!it)
    return -1;
  int64_t delay = q->base_delay_ms;
  for (unsigned i = 0; i < it->failures && delay < q->max_delay_ms; i++)
    delay *= 2;
  if (delay > q->max_delay_ms)
    delay = q->max_delay_ms;
  it->failures++;
  return kube_workqueue_add_after(q, key, delay, err);
}

KUBE_EXPORT void kube_workqueue_forget(kube_workqueue_t *q, const char *key) {
  struct item *it = strmap_get(&q->items, key);
  if (!it)
    return;
  it->failures = 0;
  maybe_release(q, it);
}

KUBE_EXPORT unsigned kube_workqueue_failures(const kube_workqueue_t *q,
                                             const char *key) {
  struct item *it = strmap_get(&q->items, key);
  return it ? it->failures : 0;
}

KUBE_EXPORT void kube_workqueue_done(kube_workqueue_t *q, const char *key) {
  struct item *it = strmap_get(&q->items, key);
  if (!it || !it->processing)
    return;
  it->processing = false;
  q->n_processing--;
  if (it->dirty) {
    it->dirty = false;
    enqueue(q, it);
    return;
  }
  maybe_release(q, it);
}

KUBE_EXPORT bool kube_workqueue_is_processing(const kube_workqueue_t *q,
                                              const char *key) {
  struct item *it = key ? strmap_get(&q->items, key) : NULL;
  return it && it->processing;
}

KUBE_EXPORT size_t kube_workqueue_flush_delayed(kube_workqueue_t *q) {
  size_t moved = 0;
  if (!q->n_delayed)
    return 0;
  /* Collect first: enqueue() does not change the map, but keep the walk
   * independent of it anyway. */
  struct item **v = malloc(q->n_delayed * sizeof *v);
  size_t nv = 0, cap = q->n_delayed;
  if (!v)
    return 0;
  STRMAP_FOREACH(&q->items, i, e) {
    struct item *it = e->value;
    if (it->timer && nv < cap)
      v[nv++] = it;
  }
  for (size_t i = 0; i < nv; i++) {
    enqueue(q, v[i]);
    moved++;
  }
  free(v);
  return moved;
}

KUBE_EXPORT size_t kube_workqueue_ready(const kube_workqueue_t *q) {
  return q->n_ready;
}
KUBE_EXPORT size_t kube_workqueue_delayed(const kube_workqueue_t *q) {
  return q->n_delayed;
}
KUBE_EXPORT size_t kube_workqueue_processing(const kube_workqueue_t *q) {
  return q->n_processing;
}

KUBE_EXPORT void kube_workqueue_pause(kube_workqueue_t *q, bool paused) {
  q->paused = paused;
  schedule_run(q);
}

static void free_item(void *v) {
  struct item *it = v;
  if (it->timer)
    event_free(it->timer);
  free(it);
}

KUBE_EXPORT void kube_workqueue_free(kube_workqueue_t *q) {
  if (!q)
    return;
  strmap_clear(&q->items, free_item);
  if (q->run_ev)
    event_free(q->run_ev);
  free(q);
}
