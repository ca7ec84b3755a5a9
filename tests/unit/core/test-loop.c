/* SPDX-License-Identifier: Apache-2.0 */
/* kube_loop, timers, the worker pool and base64. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/util.h"
#include "test-core.h"

struct counter {
  kube_loop_t *loop;
  int n;
  int want;
  pthread_t loop_thread;
  bool wrong_thread;
};

static void count_and_maybe_quit(void *arg) {
  struct counter *c = arg;
  if (!pthread_equal(pthread_self(), c->loop_thread))
    c->wrong_thread = true;
  if (++c->n == c->want)
    kube_loop_quit(c->loop);
}

static void *invoker(void *arg) {
  struct counter *c = arg;
  for (int i = 0; i < 500; i++)
    assert_int_equal(kube_loop_invoke(c->loop, count_and_maybe_quit, c, NULL),
                     0);
  return NULL;
}

/* Invokes from other threads all run, on the loop's thread, and quit. */
static void test_invoke_from_threads(void **state) {
  kube_loop_t *loop = kube_loop_new(NULL);
  assert_non_null(loop);
  struct counter c = {.loop = loop, .want = 2000,
                      .loop_thread = pthread_self()};
  pthread_t t[4];
  for (int i = 0; i < 4; i++)
    pthread_create(&t[i], NULL, invoker, &c);
  assert_int_equal(kube_loop_run(loop, NULL), 0);
  for (int i = 0; i < 4; i++)
    pthread_join(t[i], NULL);
  assert_int_equal(c.n, 2000);
  assert_false(c.wrong_thread);
  kube_loop_free(loop);
}

/* An invoke never runs inside kube_loop_invoke, and a loop with nothing
 * registered still lets event_base_dispatch return. */
static void test_invoke_deferred(void **state) {
  kube_loop_t *loop = kube_loop_new(NULL);
  struct counter c = {.loop = loop, .want = -1, .loop_thread = pthread_self()};
  kube_loop_invoke(loop, count_and_maybe_quit, &c, NULL);
  assert_int_equal(c.n, 0);
  assert_int_equal(kube_loop_iterate(loop, 0), 0);
  assert_int_equal(c.n, 1);
  /* Nothing pending: dispatch returns at once instead of hanging. */
  assert_int_equal(event_base_dispatch(kube_loop_base(loop)), 1);
  kube_loop_free(loop);
}

static void timer_cb(void *arg) {
  struct counter *c = arg;
  c->n++;
  if (c->n == c->want)
    kube_loop_quit(c->loop);
}

static void test_timers(void **state) {
  kube_loop_t *loop = kube_loop_new(NULL);
  struct counter c = {.loop = loop, .want = 3, .loop_thread = pthread_self()};
  kube_timer_t *t = kube_timer_new(loop, timer_cb, &c, NULL);
  kube_timer_arm_periodic(t, 5);
  assert_true(kube_timer_pending(t));
  kube_loop_run(loop, NULL);
  assert_int_equal(c.n, 3);
  kube_timer_disarm(t);
  assert_false(kube_timer_pending(t));
  /* One-shot: fires once. */
  c.n = 0;
  c.want = 1;
  kube_timer_arm(t, 1);
  kube_loop_run(loop, NULL);
  assert_int_equal(c.n, 1);
  assert_false(kube_timer_pending(t));
  kube_timer_free(t);
  kube_timer_free(NULL);
  kube_loop_free(loop);
}

struct job {
  kube_loop_t *loop;
  pthread_t loop_thread;
  int *done_count;
  int total;
  bool work_on_loop_thread;
  bool done_off_loop_thread;
  int value;
};

static void job_work(void *arg) {
  struct job *j = arg;
  if (pthread_equal(pthread_self(), j->loop_thread))
    j->work_on_loop_thread = true;
  usleep(1000);
  j->value = 42;
}

static void job_done(void *arg) {
  struct job *j = arg;
  if (!pthread_equal(pthread_self(), j->loop_thread))
    j->done_off_loop_thread = true;
  if (++*j->done_count == j->total)
    kube_loop_quit(j->loop);
}

/* Work runs off the loop, completions on it; free waits for stragglers. */
static void test_workers(void **state) {
  kube_loop_t *loop = kube_loop_new(NULL);
  kube_workers_t *w = kube_workers_new(loop, 3, NULL);
  assert_non_null(w);
  enum { N = 64 };
  struct job jobs[N];
  int done = 0;
  for (int i = 0; i < N; i++) {
    jobs[i] = (struct job){.loop = loop, .loop_thread = pthread_self(),
                           .done_count = &done, .total = N};
    assert_int_equal(kube_workers_submit(w, job_work, job_done, &jobs[i], NULL),
                     0);
  }
  kube_loop_run(loop, NULL);
  assert_int_equal(done, N);
  for (int i = 0; i < N; i++) {
    assert_int_equal(jobs[i].value, 42);
    assert_false(jobs[i].work_on_loop_thread);
    assert_false(jobs[i].done_off_loop_thread);
  }
  assert_int_equal(kube_workers_pending(w), 0);
  /* Submitted, never delivered through the loop: free runs the done
   * callbacks itself. */
  done = 0;
  for (int i = 0; i < 8; i++) {
    jobs[i].value = 0;
    jobs[i].total = -1;
    kube_workers_submit(w, job_work, job_done, &jobs[i], NULL);
  }
  kube_workers_free(w);
  assert_int_equal(done, 8);
  for (int i = 0; i < 8; i++)
    assert_int_equal(jobs[i].value, 42);
  /* The loop holds no stale delivery for the freed pool. */
  kube_loop_iterate(loop, 0);
  kube_loop_free(loop);
}

static void test_loop_from_base(void **state) {
  kube_loop_t *own = kube_loop_new(NULL); /* turns pthreads locking on */
  struct event_base *base = event_base_new();
  kube_loop_t *loop = kube_loop_new_from_base(base, NULL);
  assert_non_null(loop);
  assert_ptr_equal(kube_loop_base(loop), base);
  struct counter c = {.loop = loop, .want = 1, .loop_thread = pthread_self()};
  kube_loop_invoke(loop, count_and_maybe_quit, &c, NULL);
  kube_loop_run(loop, NULL);
  assert_int_equal(c.n, 1);
  kube_loop_free(loop);
  event_base_free(base); /* still ours */
  kube_loop_free(own);
  assert_null(kube_loop_new_from_base(NULL, NULL));
  kube_loop_free(NULL);
  kube_workers_free(NULL);
}

static void test_base64(void **state) {
  const struct {
    const char *plain, *enc, *url;
  } cases[] = {
      {"", "", ""},
      {"f", "Zg==", "Zg"},
      {"fo", "Zm8=", "Zm8"},
      {"foo", "Zm9v", "Zm9v"},
      {"foob", "Zm9vYg==", "Zm9vYg"},
      {"\xfb\xff", "+/8=", "-_8"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    cleanup_free char *e = kube_base64_encode(cases[i].plain,
                                              strlen(cases[i].plain));
    assert_string_equal(e, cases[i].enc);
    cleanup_free char *u = kube_base64url_encode(cases[i].plain,
                                                 strlen(cases[i].plain));
    assert_string_equal(u, cases[i].url);
    size_t n = 0;
    cleanup_free unsigned char *d =
        kube_base64_decode(cases[i].enc, strlen(cases[i].enc), &n, NULL);
    assert_non_null(d);
    assert_int_equal(n, strlen(cases[i].plain));
    assert_memory_equal(d, cases[i].plain, n);
    cleanup_free unsigned char *d2 =
        kube_base64_decode(cases[i].url, strlen(cases[i].url), &n, NULL);
    assert_non_null(d2);
    assert_int_equal(n, strlen(cases[i].plain));
  }
  size_t n;
  cleanup_free unsigned char *ws = kube_base64_decode("Zm9v\nYmFy\n", 10, &n,
                                                      NULL);
  assert_string_equal((char *)ws, "foobar");
  const char *bad[] = {"Zm9v!", "Z", "Zm9v=Zg==", "Zg==="};
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    kube_error_t err = KUBE_ERROR_INIT;
    assert_null(kube_base64_decode(bad[i], strlen(bad[i]), &n, &err));
    assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
    kube_error_clear(&err);
  }
}

int run_loop_tests(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_invoke_from_threads),
      cmocka_unit_test(test_invoke_deferred),
      cmocka_unit_test(test_timers),
      cmocka_unit_test(test_workers),
      cmocka_unit_test(test_loop_from_base),
      cmocka_unit_test(test_base64),
  };
  return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
