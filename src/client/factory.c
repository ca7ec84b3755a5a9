/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shared informer factory: one informer per collection (path +
 * selectors + managedFields choice), handed to every component that asks,
 * started together, with "all synced" callbacks.
 */
#include <event2/event.h>

#include "client/internal.h"
#include "core/util.h"

struct synced_waiter {
  void (*fn)(void *arg);
  void *arg;
  struct synced_waiter *next;
};

struct kube_informer_factory {
  kube_loop_t *loop;
  struct event_base *base;
  kube_transport_t tp;
  kube_informer_t **informers;
  size_t n, cap;
  bool started;
  struct synced_waiter *waiters;
  struct event *check_ev; /* runs waiters from the loop */
};

static bool all_synced(const kube_informer_factory_t *f) {
  if (!f->n)
    return false;
  for (size_t i = 0; i < f->n; i++)
    if (!kube_informer_synced(f->informers[i]))
      return false;
  return true;
}

static void check_cb(evutil_socket_t fd, short what, void *arg) {
  kube_informer_factory_t *f = arg;
  /* A waiter may add informers or waiters: take the list first and run
   * only what was due. */
  while (f->waiters && all_synced(f)) {
    struct synced_waiter *w = f->waiters;
    f->waiters = w->next;
    void (*fn)(void *) = w->fn;
    void *warg = w->arg;
    free(w);
    fn(warg);
  }
}

static void informer_synced(void *arg) {
  kube_informer_factory_t *f = arg;
  if (f->waiters)
    event_active(f->check_ev, 0, 0);
}

KUBE_EXPORT kube_informer_factory_t *
kube_informer_factory_new(kube_loop_t *loop, const kube_transport_t *tp,
                          kube_error_t *err) {
  struct event_base *base = kube_loop_base(loop);
  if (!base || !tp || !tp->ops) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "informer factory needs an event loop and a transport");
    return NULL;
  }
  kube_informer_factory_t *f = calloc(1, sizeof *f);
  if (!f || !(f->check_ev = event_new(base, -1, 0, check_cb, f))) {
    free(f);
    kube_make_oom(err);
    return NULL;
  }
  f->loop = loop;
  f->base = base;
  f->tp = *tp;
  return f;
}

static bool str0eq(const char *a, const char *b) {
  return streq(a ? a : "", b ? b : "");
}

KUBE_EXPORT kube_informer_t *
kube_informer_factory_informer(kube_informer_factory_t *f,
                               const kube_informer_options_t *opts,
                               kube_error_t *err) {
  if (!opts || !opts->path || !*opts->path) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                   "an informer needs a collection path");
    return NULL;
  }
  kube_informer_options_t o = {0};
  core_opts_copy(&o, opts);
  for (size_t i = 0; i < f->n; i++) {
    kube_informer_t *inf = f->informers[i];
    if (streq(inf->path, o.path) &&
        str0eq(inf->label_selector, o.label_selector) &&
        str0eq(inf->field_selector, o.field_selector) &&
        inf->keep_managed_fields == o.keep_managed_fields)
      return inf;
  }
  if (f->n == f->cap) {
    size_t nc = f->cap ? f->cap * 2 : 8;
    kube_informer_t **v = realloc(f->informers, nc * sizeof *v);
    if (!v) {
      kube_make_oom(err);
      return NULL;
    }
    f->informers = v;
    f->cap = nc;
  }
  o.struct_size = sizeof o;
  kube_informer_t *inf =
      kube_informer_new(f->loop, &f->tp, &o, NULL, NULL, err);
  if (!inf)
    return NULL;
  inf->owned_by_factory = true;
  inf->synced_hook = informer_synced;
  inf->synced_hook_arg = f;
  if (f->started && kube_informer_start(inf, err) < 0) {
    client_informer_free_owned(inf);
    return NULL;
  }
  f->informers[f->n++] = inf;
  return inf;
}

KUBE_EXPORT int kube_informer_factory_start(kube_informer_factory_t *f,
                                            kube_error_t *err) {
  f->started = true;
  for (size_t i = 0; i < f->n; i++)
    if (!kube_informer_running(f->informers[i]) &&
        kube_informer_start(f->informers[i], err) < 0)
      return -1;
  return 0;
}

KUBE_EXPORT void kube_informer_factory_stop(kube_informer_factory_t *f) {
  if (!f)
    return;
  f->started = false;
  for (size_t i = 0; i < f->n; i++)
    kube_informer_stop(f->informers[i]);
}

KUBE_EXPORT bool
kube_informer_factory_synced(const kube_informer_factory_t *f) {
  return all_synced(f);
}

KUBE_EXPORT int kube_informer_factory_on_synced(kube_informer_factory_t *f,
                                                void (*fn)(void *arg),
                                                void *arg, kube_error_t *err) {
  struct synced_waiter *w = calloc(1, sizeof *w);
  if (!w)
    return kube_make_oom(err);
  w->fn = fn;
  w->arg = arg;
  struct synced_waiter **pp = &f->waiters;
  while (*pp)
    pp = &(*pp)->next;
  *pp = w;
  if (all_synced(f))
    event_active(f->check_ev, 0, 0);
  return 0;
}

KUBE_EXPORT size_t
kube_informer_factory_count(const kube_informer_factory_t *f) {
  return f->n;
}

KUBE_EXPORT void kube_informer_factory_free(kube_informer_factory_t *f) {
  if (!f)
    return;
  for (size_t i = 0; i < f->n; i++)
    client_informer_free_owned(f->informers[i]);
  free(f->informers);
  for (struct synced_waiter *w = f->waiters, *next; w; w = next) {
    next = w->next;
    free(w);
  }
  if (f->check_ev)
    event_free(f->check_ev);
  free(f);
}
