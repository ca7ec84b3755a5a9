/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube_loop: the event loop every libkube object runs on, over libevent.
 *
 * Other threads reach the loop through kube_loop_invoke(): a mutex-guarded
 * FIFO of calls and one event that is never added, only activated.  An
 * active-only event does not keep event_base_dispatch() running when
 * nothing else is registered (an eventfd watched forever would), and
 * libevent's own notification wakes the loop, which needs its pthreads
 * locking: kube_loop_new turns it on once per process.
 */
#include <pthread.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "core/internal.h"
#include "core/util.h"

struct invoke {
  void (*fn)(void *);
  void *arg;
  struct invoke *next;
};

struct kube_loop {
  struct event_base *base;
  bool own_base;
  struct event *wake; /* never added; event_active() by kube_loop_invoke */
  pthread_mutex_t lock;
  struct invoke *head, *tail; /* guarded by lock */
  pthread_t thread;           /* valid while running */
  bool running;
  struct event *watchdog; /* a persistent timer: how late it fires */
  int64_t watchdog_due_ns;
  int64_t stall_warn_ms; /* 0: no watchdog */
};

/* The watchdog's period.  A turn of the loop longer than the warning
 * threshold delays every timer (leader election renewals included) and
 * every reply. */
#define LOOP_WATCHDOG_MS 500

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void watchdog_cb(evutil_socket_t fd, short what, void *arg) {
  kube_loop_t *loop = arg;
  int64_t now = mono_ns(), late = (now - loop->watchdog_due_ns) / 1000000;
  if (late >= loop->stall_warn_ms)
    log_warn("event loop: busy for %lld ms without a turn (timers and "
             "replies waited)",
             (long long)late);
  loop->watchdog_due_ns = now + (int64_t)LOOP_WATCHDOG_MS * 1000000;
}

static void run_invokes(evutil_socket_t fd, short what, void *arg) {
  kube_loop_t *loop = arg;
  pthread_mutex_lock(&loop->lock);
  struct invoke *list = loop->head;
  loop->head = loop->tail = NULL;
  pthread_mutex_unlock(&loop->lock);
  while (list) {
    struct invoke *next = list->next;
    list->fn(list->arg);
    free(list);
    list = next;
  }
}

static kube_loop_t *loop_init(struct event_base *base, bool own,
                              kube_error_t *err) {
  kube_loop_t *loop = calloc(1, sizeof *loop);
  if (!loop) {
    if (own)
      event_base_free(base);
    kube_make_oom(err);
    return NULL;
  }
  loop->base = base;
  loop->own_base = own;
  pthread_mutex_init(&loop->lock, NULL);
  if (evthread_make_base_notifiable(base) < 0) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "the event base cannot be woken from other threads: "
                   "create it after evthread_use_pthreads()");
    kube_loop_free(loop);
    return NULL;
  }
  loop->wake = event_new(base, -1, 0, run_invokes, loop);
  if (!loop->wake) {
    kube_make_oom(err);
    kube_loop_free(loop);
    return NULL;
  }
  return loop;
}

void core_loop_watch_stalls(kube_loop_t *loop, int64_t warn_ms) {
  loop->stall_warn_ms = warn_ms;
}

static pthread_once_t threads_once = PTHREAD_ONCE_INIT;
static int threads_rc;
static void threads_init(void) { threads_rc = evthread_use_pthreads(); }

void core_loop_threads_init(void) { pthread_once(&threads_once, threads_init); }

KUBE_EXPORT kube_loop_t *kube_loop_new(kube_error_t *err) {
  core_loop_threads_init();
  if (threads_rc < 0) {
    kube_make_error(err, 0, "libevent has no pthreads support");
    return NULL;
  }
  /* Bounded turns: after 64 callbacks or 10 ms the loop polls again and
   * runs its due timers, so that a burst of in-process requests (each
   * activating the next) cannot keep a lease renewal waiting for
   * seconds.  libevent otherwise runs every event activated meanwhile in
   * the same turn. */
  struct event_config *cfg = event_config_new();
  struct timeval max_turn = {0, 10000};
  if (cfg)
    event_config_set_max_dispatch_interval(cfg, &max_turn, 64, 0);
  struct event_base *base =
      cfg ? event_base_new_with_config(cfg) : event_base_new();
  if (cfg)
    event_config_free(cfg);
  if (!base) {
    kube_make_error(err, errno, "cannot create an event loop");
    return NULL;
  }
  return loop_init(base, true, err);
}

KUBE_EXPORT kube_loop_t *kube_loop_new_from_base(struct event_base *base,
                                                 kube_error_t *err) {
  if (!base) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL, "no event base");
    return NULL;
  }
  return loop_init(base, false, err);
}

KUBE_EXPORT void kube_loop_free(kube_loop_t *loop) {
  if (!loop)
    return;
  if (loop->wake)
    event_free(loop->wake);
  if (loop->watchdog)
    event_free(loop->watchdog);
  for (struct invoke *i = loop->head, *next; i; i = next) {
    next = i->next;
    free(i);
  }
  pthread_mutex_destroy(&loop->lock);
  if (loop->own_base)
    event_base_free(loop->base);
  free(loop);
}

KUBE_EXPORT struct event_base *kube_loop_base(kube_loop_t *loop) {
  return loop ? loop->base : NULL;
}

KUBE_EXPORT int kube_loop_run(kube_loop_t *loop, kube_error_t *err) {
  loop->thread = pthread_self();
  if (!loop->watchdog && loop->stall_warn_ms > 0)
    loop->watchdog = event_new(loop->base, -1, EV_PERSIST, watchdog_cb, loop);
  if (loop->watchdog) {
    struct timeval tv = {0, LOOP_WATCHDOG_MS * 1000};
    loop->watchdog_due_ns = mono_ns() + (int64_t)LOOP_WATCHDOG_MS * 1000000;
    event_add(loop->watchdog, &tv);
  }
  __atomic_store_n(&loop->running, true, __ATOMIC_RELEASE);
  /* EVLOOP_NO_EXIT_ON_EMPTY: the loop waits for invokes even when no
   * other event is registered. */
  int rc = event_base_loop(loop->base, EVLOOP_NO_EXIT_ON_EMPTY);
  __atomic_store_n(&loop->running, false, __ATOMIC_RELEASE);
  if (loop->watchdog)
    event_del(loop->watchdog);
  if (rc < 0)
    return kube_make_error(err, errno, "event loop failed");
  return 0;
}

static void noop_cb(evutil_socket_t fd, short what, void *arg) {}

KUBE_EXPORT int kube_loop_iterate(kube_loop_t *loop, int timeout_ms) {
  if (timeout_ms == 0)
    return event_base_loop(loop->base, EVLOOP_NONBLOCK | EVLOOP_ONCE) < 0 ? -1
                                                                          : 0;
  struct event *tmo = NULL;
  if (timeout_ms > 0) {
    /* A timer bounds the wait; event_base_loopexit would also end the
     * callbacks of this pass early. */
    tmo = event_new(loop->base, -1, 0, noop_cb, NULL);
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    if (!tmo || event_add(tmo, &tv) < 0) {
      if (tmo)
        event_free(tmo);
      return -1;
    }
  }
  int rc = event_base_loop(loop->base, EVLOOP_ONCE);
  if (tmo)
    event_free(tmo);
  return rc < 0 ? -1 : 0;
}

KUBE_EXPORT void kube_loop_quit(kube_loop_t *loop) {
  /* With pthreads locking on, loopbreak is safe from any thread and wakes
   * a loop waiting in epoll. */
  event_base_loopbreak(loop->base);
}

KUBE_EXPORT int kube_loop_invoke(kube_loop_t *loop, void (*fn)(void *),
                                 void *arg, kube_error_t *err) {
  struct invoke *i = malloc(sizeof *i);
  if (!i)
    return kube_make_oom(err);
  i->fn = fn;
  i->arg = arg;
  i->next = NULL;
  pthread_mutex_lock(&loop->lock);
  bool was_empty = !loop->head;
  if (loop->tail)
    loop->tail->next = i;
  else
    loop->head = i;
  loop->tail = i;
  pthread_mutex_unlock(&loop->lock);
  if (was_empty)
    event_active(loop->wake, EV_TIMEOUT, 0);
  return 0;
}

KUBE_EXPORT bool kube_loop_in_thread(const kube_loop_t *loop) {
  if (!__atomic_load_n(&loop->running, __ATOMIC_ACQUIRE))
    return true;
  return pthread_equal(loop->thread, pthread_self());
}

/* ---- timers ---- */

struct kube_timer {
  struct event *ev;
  void (*fn)(void *);
  void *arg;
  int64_t period_ms; /* > 0: periodic */
};

static void timer_fire(evutil_socket_t fd, short what, void *arg) {
  kube_timer_t *t = arg;
  t->fn(t->arg);
}

KUBE_EXPORT kube_timer_t *kube_timer_new(kube_loop_t *loop,
                                         void (*fn)(void *), void *arg,
                                         kube_error_t *err) {
  kube_timer_t *t = calloc(1, sizeof *t);
  if (!t) {
    kube_make_oom(err);
    return NULL;
  }
  t->fn = fn;
  t->arg = arg;
  t->ev = event_new(loop->base, -1, 0, timer_fire, t);
  if (!t->ev) {
    free(t);
    kube_make_oom(err);
    return NULL;
  }
  return t;
}

static void timer_add(kube_timer_t *t, int64_t ms, bool periodic) {
  event_del(t->ev);
  event_assign(t->ev, event_get_base(t->ev), -1, periodic ? EV_PERSIST : 0,
               timer_fire, t);
  if (ms < 0)
    ms = 0;
  struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
  event_add(t->ev, &tv);
}

KUBE_EXPORT void kube_timer_arm(kube_timer_t *t, int64_t ms) {
  t->period_ms = 0;
  timer_add(t, ms, false);
}

KUBE_EXPORT void kube_timer_arm_periodic(kube_timer_t *t, int64_t ms) {
  t->period_ms = ms;
  timer_add(t, ms, true);
}

KUBE_EXPORT void kube_timer_disarm(kube_timer_t *t) {
  if (t)
    event_del(t->ev);
}

KUBE_EXPORT bool kube_timer_pending(const kube_timer_t *t) {
  return t && event_pending(t->ev, EV_TIMEOUT, NULL);
}

KUBE_EXPORT void kube_timer_free(kube_timer_t *t) {
  if (!t)
    return;
  event_free(t->ev);
  free(t);
}

void core_loop_drop_invokes(kube_loop_t *loop, void (*fn)(void *), void *arg) {
  pthread_mutex_lock(&loop->lock);
  struct invoke **pp = &loop->head, *last = NULL;
  while (*pp) {
    struct invoke *i = *pp;
    if (i->fn == fn && i->arg == arg) {
      *pp = i->next;
      free(i);
      continue;
    }
    last = i;
    pp = &i->next;
  }
  loop->tail = last;
  pthread_mutex_unlock(&loop->lock);
}
