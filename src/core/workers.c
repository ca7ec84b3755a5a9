/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube_workers: threads that run blocking work for a loop.  Jobs wait in a
 * FIFO; a finished job goes to a completion list that the loop drains
 * through one kube_loop_invoke per batch, so a burst of short jobs costs
 * one wake-up of the loop, not one per job.
 */
#include <pthread.h>
#include <sys/sysinfo.h>

#include "core/internal.h"
#include "core/util.h"

struct job {
  kube_work_fn work;
  kube_work_done_fn done;
  void *arg;
  struct job *next;
};

struct kube_workers {
  kube_loop_t *loop;
  pthread_mutex_t lock;
  pthread_cond_t cond;      /* work queued, or stopping */
  pthread_cond_t idle_cond; /* a job finished (for free) */
  struct job *head, *tail;  /* queued */
  struct job *done_head, *done_tail; /* finished, done() not yet run */
  bool delivery_pending;    /* an invoke is on its way to the loop */
  bool stopping;
  size_t pending; /* submitted, done() not yet run */
  size_t running;
  unsigned n_threads;
  pthread_t *threads;
};

static void deliver(void *arg);

static void job_finished(kube_workers_t *w, struct job *j) {
  /* Called with the lock held. */
  j->next = NULL;
  if (w->done_tail)
    w->done_tail->next = j;
  else
    w->done_head = j;
  w->done_tail = j;
  w->running--;
  pthread_cond_broadcast(&w->idle_cond);
  if (!w->delivery_pending && !w->stopping) {
    w->delivery_pending = true;
    if (kube_loop_invoke(w->loop, deliver, w, NULL) < 0)
      w->delivery_pending = false; /* out of memory: free() delivers */
  }
}

static void *worker_main(void *arg) {
  kube_workers_t *w = arg;
  pthread_mutex_lock(&w->lock);
  for (;;) {
    while (!w->head && !w->stopping)
      pthread_cond_wait(&w->cond, &w->lock);
    if (!w->head)
      break; /* stopping and nothing left */
    struct job *j = w->head;
    w->head = j->next;
    if (!w->head)
      w->tail = NULL;
    w->running++;
    pthread_mutex_unlock(&w->lock);
    j->work(j->arg);
    pthread_mutex_lock(&w->lock);
    job_finished(w, j);
  }
  pthread_mutex_unlock(&w->lock);
  return NULL;
}

/* On the loop: run the done callbacks of finished jobs. */
static size_t run_done(kube_workers_t *w) {
  pthread_mutex_lock(&w->lock);
  struct job *list = w->done_head;
  w->done_head = w->done_tail = NULL;
  w->delivery_pending = false;
  pthread_mutex_unlock(&w->lock);
  size_t n = 0;
  while (list) {
    struct job *next = list->next;
    if (list->done)
      list->done(list->arg);
    free(list);
    list = next;
    n++;
  }
  if (n) {
    pthread_mutex_lock(&w->lock);
    w->pending -= n;
    pthread_mutex_unlock(&w->lock);
  }
  return n;
}

static void deliver(void *arg) { run_done(arg); }

KUBE_EXPORT kube_workers_t *kube_workers_new(kube_loop_t *loop,
                                             unsigned threads,
                                             kube_error_t *err) {
  if (threads == 0) {
    int n = get_nprocs();
    threads = n < 2 ? 2 : (unsigned)n;
  }
  kube_workers_t *w = calloc(1, sizeof *w);
  if (!w || !(w->threads = calloc(threads, sizeof *w->threads))) {
    free(w);
    kube_make_oom(err);
    return NULL;
  }
  w->loop = loop;
  pthread_mutex_init(&w->lock, NULL);
  pthread_cond_init(&w->cond, NULL);
  pthread_cond_init(&w->idle_cond, NULL);
  for (unsigned i = 0; i < threads; i++) {
    int rc = pthread_create(&w->threads[i], NULL, worker_main, w);
    if (rc != 0) {
      kube_make_error(err, rc, "cannot start a worker thread: %s",
                      strerror(rc));
      kube_workers_free(w);
      return NULL;
    }
    w->n_threads++;
  }
  return w;
}

KUBE_EXPORT int kube_workers_submit(kube_workers_t *w, kube_work_fn work,
                                    kube_work_done_fn done, void *arg,
                                    kube_error_t *err) {
  struct job *j = malloc(sizeof *j);
  if (!j)
    return kube_make_oom(err);
  *j = (struct job){.work = work, .done = done, .arg = arg};
  pthread_mutex_lock(&w->lock);
  if (w->stopping) {
    pthread_mutex_unlock(&w->lock);
    free(j);
    return kube_error_set(err, KUBE_REASON_SERVICE_UNAVAILABLE, 0,
                          "the worker pool is stopping");
  }
  if (w->tail)
    w->tail->next = j;
  else
    w->head = j;
  w->tail = j;
  w->pending++;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->lock);
  return 0;
}

KUBE_EXPORT size_t kube_workers_pending(const kube_workers_t *w) {
  kube_workers_t *mw = (kube_workers_t *)w;
  pthread_mutex_lock(&mw->lock);
  size_t n = mw->pending;
  pthread_mutex_unlock(&mw->lock);
  return n;
}

KUBE_EXPORT void kube_workers_free(kube_workers_t *w) {
  if (!w)
    return;
  pthread_mutex_lock(&w->lock);
  /* Finish what was submitted: workers drain the queue before exiting. */
  while (w->head || w->running)
    pthread_cond_wait(&w->idle_cond, &w->lock);
  w->stopping = true;
  pthread_cond_broadcast(&w->cond);
  pthread_mutex_unlock(&w->lock);
  for (unsigned i = 0; i < w->n_threads; i++)
    pthread_join(w->threads[i], NULL);
  /* A delivery may still be queued on the loop: drop it and deliver the
   * completions here instead. */
  core_loop_drop_invokes(w->loop, deliver, w);
  run_done(w);
  pthread_cond_destroy(&w->cond);
  pthread_cond_destroy(&w->idle_cond);
  pthread_mutex_destroy(&w->lock);
  free(w->threads);
  free(w);
}
