/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the work queue, the informer (over the fake transport of
 * tests/lib and over a real in-process API server), the HTTP transport and
 * the scheduler loop (over the fake, the sample-controller way, and
 * in-process). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include <libkube/apiserver.h>
#include <libkube/kit.h>
#include <libkube/scheduler.h>
#include <libkube/store.h>

#include "kube-test.h"

#define streq(a, b) (strcmp((a), (b)) == 0)

/* Run the loop until cond() holds or timeout_ms passes. */
static bool run_until(struct event_base *base, bool (*cond)(void *), void *arg,
                      int timeout_ms) {
  int64_t end = kube_time_mono_ns() + (int64_t)timeout_ms * 1000000;
  while (!cond(arg)) {
    if (kube_time_mono_ns() > end)
      return false;
    struct timeval tv = {0, 2000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
  }
  return true;
}

static void run_for(struct event_base *base, int ms) {
  struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
  event_base_loopexit(base, &tv);
  event_base_dispatch(base);
}

/* ------------------------------------------------------------------------ */
/* Work queue                                                                */
/* ------------------------------------------------------------------------ */

struct wq_rec {
  char keys[64][32];
  size_t n;
  size_t batches;
  size_t max_batch_seen;
  bool hold; /* do not call done (keys stay processing) */
  bool fail; /* requeue rate-limited */
  int64_t at_ns[64];
};

static void wq_fn(kube_workqueue_t *q, const char *const *keys, size_t n,
                  void *arg) {
  struct wq_rec *r = arg;
  r->batches++;
  if (n > r->max_batch_seen)
    r->max_batch_seen = n;
  for (size_t i = 0; i < n; i++) {
    if (r->n < 64) {
      snprintf(r->keys[r->n], sizeof r->keys[0], "%s", keys[i]);
      r->at_ns[r->n] = kube_time_mono_ns();
      r->n++;
    }
    if (r->hold)
      continue;
    if (r->fail)
      kube_workqueue_add_rate_limited(q, keys[i], NULL);
    kube_workqueue_done(q, keys[i]);
  }
}

static void test_wq_dedupe_and_batch(void **state) {
  kube_loop_t *base_loop = kube_loop_new(NULL);
  struct event_base *base = kube_loop_base(base_loop);
  struct wq_rec r = {0};
  kube_workqueue_options_t o = {.struct_size = sizeof o, .max_batch = 3};
  kube_workqueue_t *q = kube_workqueue_new(base_loop, &o, wq_fn, &r, NULL);
  assert_non_null(q);
  assert_int_equal(kube_workqueue_add(q, "a", NULL), 0);
  assert_int_equal(kube_workqueue_add(q, "b", NULL), 0);
  assert_int_equal(kube_workqueue_add(q, "a", NULL), 0); /* already waiting */
  assert_int_equal(kube_workqueue_add(q, "c", NULL), 0);
  assert_int_equal(kube_workqueue_add(q, "d", NULL), 0);
  assert_int_equal(r.n, 0); /* never inside add */
  assert_int_equal(kube_workqueue_ready(q), 4);
  run_for(base, 10);
  assert_int_equal(r.n, 4);
  assert_string_equal(r.keys[0], "a"); /* FIFO */
  assert_string_equal(r.keys[1], "b");
  assert_string_equal(r.keys[2], "c");
  assert_string_equal(r.keys[3], "d");
  assert_int_equal(r.max_batch_seen, 3);
  assert_int_equal(r.batches, 2);
  assert_int_equal(kube_workqueue_ready(q), 0);
  assert_int_equal(kube_workqueue_processing(q), 0);
  kube_workqueue_free(q);
  kube_loop_free(base_loop);
}

static void test_wq_never_twice_at_once(void **state) {
  kube_loop_t *base_loop = kube_loop_new(NULL);
  struct event_base *base = kube_loop_base(base_loop);
  struct wq_rec r = {.hold = true};
  kube_workqueue_t *q = kube_workqueue_new(base_loop, NULL, wq_fn, &r, NULL);
  kube_workqueue_add(q, "k", NULL);
  run_for(base, 5);
  assert_int_equal(r.n, 1);
  assert_int_equal(kube_workqueue_processing(q), 1);
  /* Added while processing: not handed out again... */
  kube_workqueue_add(q, "k", NULL);
  kube_workqueue_add(q, "k", NULL);
  run_for(base, 5);
  assert_int_equal(r.n, 1);
  assert_int_equal(kube_workqueue_ready(q), 0);
  /* ...but once, right after done. */
  r.hold = false;
  kube_workqueue_done(q, "k");
  assert_int_equal(kube_workqueue_ready(q), 1);
  run_for(base, 5);
  assert_int_equal(r.n, 2);
  assert_int_equal(kube_workqueue_processing(q), 0);
  run_for(base, 5);
  assert_int_equal(r.n, 2);
  kube_workqueue_free(q);
  kube_loop_free(base_loop);
}

static bool have3(void *arg) {
  return ((struct wq_rec *)arg)->n >= 4;
}

static void test_wq_backoff(void **state) {
  kube_loop_t *base_loop = kube_loop_new(NULL);
  struct event_base *base = kube_loop_base(base_loop);
  struct wq_rec r = {.fail = true};
  kube_workqueue_options_t o = {
      .struct_size = sizeof o, .base_delay_ms = 20, .max_delay_ms = 80};
  kube_workqueue_t *q = kube_workqueue_new(base_loop, &o, wq_fn, &r, NULL);
  kube_workqueue_add(q, "x", NULL);
  assert_true(run_until(base, have3, &r, 2000));
  /* Attempts at 0, +20, +40, +80 ms (capped): gaps grow.  libevent
   * measures delays from the loop's cached time, which may be a little
   * older than the callback's clock: allow some slack below. */
  int64_t g1 = r.at_ns[1] - r.at_ns[0], g2 = r.at_ns[2] - r.at_ns[1],
          g3 = r.at_ns[3] - r.at_ns[2];
  assert_true(g1 >= 12 * 1000000LL);
  assert_true(g2 >= 30 * 1000000LL);
  assert_true(g3 >= 65 * 1000000LL);
  assert_true(g3 > g1);
  assert_true(kube_workqueue_failures(q, "x") >= 4);
  assert_int_equal(kube_workqueue_delayed(q), 1);
  /* flush_delayed: waiting keys come back at once. */
  r.fail = false;
  size_t before = r.n;
  assert_int_equal(kube_workqueue_flush_delayed(q), 1);
  assert_int_equal(kube_workqueue_delayed(q), 0);
  run_for(base, 20);
  assert_int_equal(r.n, before + 1);
  kube_workqueue_forget(q, "x");
  assert_int_equal(kube_workqueue_failures(q, "x"), 0);
  /* add_after: a later add_after does not postpone an earlier one. */
  kube_workqueue_add_after(q, "y", 30, NULL);
  kube_workqueue_add_after(q, "y", 5000, NULL);
  before = r.n;
  run_for(base, 200);
  assert_int_equal(r.n, before + 1);
  assert_string_equal(r.keys[r.n - 1], "y");
  kube_workqueue_free(q);
  kube_loop_free(base_loop);
}

static void test_wq_pause(void **state) {
  kube_loop_t *base_loop = kube_loop_new(NULL);
  struct event_base *base = kube_loop_base(base_loop);
  struct wq_rec r = {0};
  kube_workqueue_t *q = kube_workqueue_new(base_loop, NULL, wq_fn, &r, NULL);
  kube_workqueue_pause(q, true);
  kube_workqueue_add(q, "p", NULL);
  run_for(base, 5);
  assert_int_equal(r.n, 0);
  kube_workqueue_pause(q, false);
  run_for(base, 5);
  assert_int_equal(r.n, 1);
  /* free with delayed keys pending releases their timers */
  kube_workqueue_add_after(q, "later", 10000, NULL);
  kube_workqueue_free(q);
  kube_loop_free(base_loop);
}

/* ------------------------------------------------------------------------ */
/* Informer over the fake transport                                          */
/* ------------------------------------------------------------------------ */

struct seen {
  char log[4096];
  int synced;
};

static void seen_add(const char *key, const kube_object_t *obj, void *arg) {
  struct seen *s = arg;
  size_t l = strlen(s->log);
  snprintf(s->log + l, sizeof s->log - l, "add %s %s;", key,
           kube_object_resource_version(obj));
}
static void seen_update(const char *key, const kube_object_t *old_obj,
                        const kube_object_t *obj, void *arg) {
  struct seen *s = arg;
  size_t l = strlen(s->log);
  snprintf(s->log + l, sizeof s->log - l, "update %s %s->%s;", key,
           kube_object_resource_version(old_obj),
           kube_object_resource_version(obj));
}
static void seen_delete(const char *key, const kube_object_t *obj, void *arg) {
  struct seen *s = arg;
  size_t l = strlen(s->log);
  snprintf(s->log + l, sizeof s->log - l, "delete %s;", key);
}
static void seen_synced(void *arg) {
  ((struct seen *)arg)->synced++;
}

#define CM(name, ns, rv)                                                       \
  "{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":"      \
  "\"" name "\",\"namespace\":\"" ns "\",\"resourceVersion\":\"" rv            \
  "\",\"labels\":"                                                             \
  "{\"app\":\"web\"}}}"

struct watching {
  kt_fake_t *f;
  size_t n;
};
static bool watches_open(void *arg) {
  struct watching *w = arg;
  return kt_fake_watches(w->f, "/api/v1/configmaps") == w->n;
}

struct list_wait {
  kube_informer_t *inf;
  uint64_t n;
};
static bool lists_at_least(void *arg) {
  struct list_wait *w = arg;
  return kube_informer_list_count(w->inf) >= w->n;
}

static void test_informer_list_watch_relist(void **state) {
  kube_loop_t *loop = kube_loop_new(NULL);
  kt_fake_t *f = kt_fake_new(loop);
  kube_transport_t tp;
  kt_fake_transport(f, &tp);
  assert_true(kt_fake_add(f, CM("a", "ns1", "")) > 0);
  assert_true(kt_fake_add(f, CM("b", "ns1", "")) > 0);
  /* Filtered out by the label selector. */
  assert_true(kt_fake_add(f, "{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\","
                             "\"metadata\":{\"name\":\"other\",\"namespace\":"
                             "\"ns1\"}}") > 0);
  struct seen s = {0};
  kube_informer_handlers_t h = {.struct_size = sizeof h,
                                .on_add = seen_add,
                                .on_update = seen_update,
                                .on_delete = seen_delete,
                                .on_synced = seen_synced};
  kube_informer_options_t o = {.struct_size = sizeof o,
                               .path = "/api/v1/configmaps",
                               .label_selector = "app=web"};
  kube_informer_t *inf = kube_informer_new(loop, &tp, &o, &h, &s, NULL);
  assert_non_null(inf);
  assert_int_equal(kube_informer_start(inf, NULL), 0);
  assert_int_equal(kt_fake_n_actions(f), 1);
  assert_string_equal(kt_fake_action(f, 0)->path, "/api/v1/configmaps");
  assert_string_equal(kt_fake_action(f, 0)->query, "labelSelector=app%3Dweb");
  assert_int_equal(s.synced, 0); /* never inside the request */
  assert_true(
      kt_run_until(loop, (bool (*)(void *))kube_informer_synced, inf, 5000));
  assert_int_equal(s.synced, 1);
  assert_int_equal(kube_informer_count(inf), 2);
  assert_string_equal(kube_informer_resource_version(inf), "3");
  assert_string_equal(s.log, "add ns1/a 1;add ns1/b 2;");
  assert_non_null(kube_informer_get(inf, "ns1/a"));
  assert_false(kube_informer_has(inf, "ns1/other"));
  /* kube_informer_ref: the caller's own reference, which outlives the
   * key's changes (ns1/b is deleted below). */
  assert_null(kube_informer_ref(inf, "ns1/none"));
  kube_object_t *ref_b = kube_informer_ref(inf, "ns1/b");
  assert_non_null(ref_b);
  assert_string_equal(kube_object_get_string(ref_b, "metadata.resourceVersion"),
                      "2");
  /* Two registrations made late get every object and on_synced (objects
   * delivered to both in one pass). */
  struct seen late1 = {0}, late2 = {0};
  assert_non_null(kube_informer_add_handlers(inf, &h, &late1, NULL));
  assert_non_null(kube_informer_add_handlers(inf, &h, &late2, NULL));
  assert_int_equal(late1.synced + late2.synced, 0); /* from the loop */
  kt_run_for(loop, 3);
  assert_int_equal(late1.synced, 1);
  assert_int_equal(late2.synced, 1);
  assert_true(strstr(late1.log, "add ns1/a 1;") &&
              strstr(late1.log, "add ns1/b 2;"));
  assert_true(strstr(late2.log, "add ns1/a 1;") &&
              strstr(late2.log, "add ns1/b 2;"));
  late1.log[0] = late2.log[0] = '\0';
  /* The watch starts from the loop, from the list's revision. */
  struct watching w = {f, 1};
  assert_true(kt_run_until(loop, watches_open, &w, 5000));
  const kt_action_t *a = kt_fake_find(f, "GET", "/api/v1/configmaps");
  assert_non_null(strstr(a->query, "watch=1"));
  assert_non_null(strstr(a->query, "resourceVersion=3"));
  assert_non_null(strstr(a->query, "labelSelector=app%3Dweb"));
  s.log[0] = '\0';
  /* One line split over two chunks, then two lines in one chunk. */
  kt_fake_push_raw(f, "/api/v1/configmaps",
                   "{\"type\":\"MODIFIED\",\"object\":" CM("a", "ns1", "11"));
  kt_fake_push_raw(f, "/api/v1/configmaps", "}\n");
  kt_fake_push_raw(
      f, "/api/v1/configmaps",
      "{\"type\":\"ADDED\",\"object\":" CM(
          "c", "ns2",
          "12") "}\n{\"type\":\"DELETED\",\"object\":" CM("b", "ns1",
                                                          "13") "}\n");
  kt_run_for(loop, 5);
  assert_string_equal(s.log, "update ns1/a 1->11;add ns2/c 12;delete ns1/b;");
  assert_int_equal(kube_informer_count(inf), 2);
  assert_null(kube_informer_get(inf, "ns1/b"));
  assert_string_equal(kube_object_name(ref_b), "b");
  kube_object_free(ref_b);
  assert_string_equal(late1.log, s.log);
  assert_string_equal(late2.log, s.log);
  assert_string_equal(kube_informer_resource_version(inf), "13");
  kt_fake_push_raw(f, "/api/v1/configmaps",
                   "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"ConfigMap\","
                   "\"metadata\":{\"resourceVersion\":\"20\"}}}\n");
  kt_run_for(loop, 5);
  assert_string_equal(kube_informer_resource_version(inf), "20");
  /* The server ends the stream: watch again from 20, no LIST. */
  kt_fake_clear_actions(f);
  kt_fake_end_watches(f, "/api/v1/configmaps");
  assert_true(kt_run_until(loop, watches_open, &w, 5000));
  a = kt_fake_find(f, "GET", "/api/v1/configmaps");
  assert_non_null(strstr(a->query, "watch=1"));
  assert_non_null(strstr(a->query, "resourceVersion=20"));
  assert_int_equal(kube_informer_list_count(inf), 1);
  /* 410 Expired: the informer re-lists and reports the differences with
   * its cache (a: 11 -> its stored 1; b: back, its delete was only pushed;
   * c: gone; d: new). */
  s.log[0] = '\0';
  kt_fake_push_raw(f, "/api/v1/configmaps",
                   "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
                   "\"code\":410,\"reason\":\"Expired\"}}\n");
  long rv_d = kt_fake_add(f, CM("d", "ns2", ""));
  struct list_wait lw = {inf, 2};
  assert_true(kt_run_until(loop, lists_at_least, &lw, 5000));
  assert_true(kt_run_until(loop, watches_open, &w, 5000));
  char want[64];
  snprintf(want, sizeof want, "add ns2/d %ld;", rv_d);
  assert_non_null(strstr(s.log, want));
  assert_non_null(strstr(s.log, "update ns1/a 11->1;"));
  assert_non_null(strstr(s.log, "add ns1/b 2;"));
  assert_non_null(strstr(s.log, "delete ns2/c;"));
  assert_int_equal(s.synced, 1);
  assert_int_equal(kube_informer_count(inf), 3);
  assert_true(kt_fake_cancelled(f) >= 1); /* the 410 watch */
  /* A watch and a list failing: the informer backs off, re-lists and
   * recovers. */
  kt_fake_reply(f, "GET", "/api/v1/configmaps", 500, NULL, 2);
  kt_fake_end_watches(f, "/api/v1/configmaps");
  lw.n = 4;
  assert_true(kt_run_until(loop, lists_at_least, &lw, 5000));
  assert_true(kt_run_until(loop, watches_open, &w, 5000));
  assert_int_equal(kube_informer_count(inf), 3);
  size_t cancelled = kt_fake_cancelled(f);
  kube_informer_free(inf);
  assert_int_equal(kt_fake_cancelled(f), cancelled + 1);
  kt_fake_free(f);
  kube_loop_free(loop);
}

/* ------------------------------------------------------------------------ */
/* The scheduler loop over the fake: prefill, one pass, recorded actions     */
/* ------------------------------------------------------------------------ */

#define NODE(name, cpu)                                                        \
  "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"" name    \
  "\"},\"status\":{\"allocatable\":{\"cpu\":\"" cpu "\",\"memory\":\"16Gi\","  \
  "\"pods\":\"110\"}}}"
#define POD(name, cpu, node)                                                   \
  "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"" name     \
  "\",\"namespace\":\"default\"},\"spec\":{" node "\"containers\":[{\"name\":" \
  "\"c\",\"image\":\"x\",\"resources\":{\"requests\":{\"cpu\":\"" cpu          \
  "\"}}}]}}"

struct sched_wait {
  kt_fake_t *f;
  size_t writes;
};
static bool writes_seen(void *arg) {
  struct sched_wait *w = arg;
  size_t n = 0;
  for (size_t i = 0; i < kt_fake_n_actions(w->f); i++)
    if (!streq(kt_fake_action(w->f, i)->method, "GET"))
      n++;
  return n >= w->writes;
}

static int cmp_line(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The recorded writes, sorted (one pass writes in an order the batch
 * decides), as "METHOD path reason|nodeName" lines. */
static char *sorted_writes(kt_fake_t *f) {
  char *lines[64];
  size_t n = 0;
  for (size_t i = 0; i < kt_fake_n_actions(f) && n < 64; i++) {
    const kt_action_t *a = kt_fake_action(f, i);
    if (streq(a->method, "GET"))
      continue;
    const char *what = "";
    if (strstr(a->body, "\"reason\":\"Scheduled\""))
      what = " Scheduled";
    else if (strstr(a->body, "\"reason\":\"FailedScheduling\""))
      what = " FailedScheduling";
    else if (strstr(a->body, "\"name\":\"n1\""))
      what = " ->n1";
    else if (strstr(a->body, "Unschedulable"))
      what = " Unschedulable";
    if (asprintf(&lines[n++], "%s %s%s\n", a->method, a->path, what) < 0)
      abort();
  }
  qsort(lines, n, sizeof *lines, cmp_line);
  char *out = calloc(1, 4096);
  for (size_t i = 0; i < n; i++) {
    strncat(out, lines[i], 4095 - strlen(out));
    free(lines[i]);
  }
  return out;
}

static void test_scheduler_loop_fake(void **state) {
  kube_loop_t *loop = kube_loop_new(NULL);
  kt_fake_t *f = kt_fake_new(loop);
  kube_transport_t tp;
  kt_fake_transport(f, &tp);
  assert_true(kt_fake_add(f, NODE("n1", "4")) > 0);
  assert_true(kt_fake_add(f, POD("bound", "3", "\"nodeName\":\"n1\",")) > 0);
  assert_true(kt_fake_add(f, POD("fits", "1", "")) > 0);
  assert_true(kt_fake_add(f, POD("huge", "8", "")) > 0);
  /* Shared factory: another component's registration on the same pods. */
  kube_informer_factory_t *fac = kube_informer_factory_new(loop, &tp, NULL);
  kube_scheduler_loop_options_t o = {.struct_size = sizeof o, .informers = fac};
  kube_scheduler_loop_t *sl = kube_scheduler_loop_new(loop, &tp, &o, NULL);
  assert_non_null(sl);
  assert_int_equal(kube_scheduler_loop_start(sl, NULL), 0);
  /* The pass: a binding, its Scheduled event, and for the pod that fits
   * nowhere an event and the PodScheduled condition (its retry comes 1 s
   * later). */
  struct sched_wait w = {f, 4};
  assert_true(kt_run_until(loop, writes_seen, &w, 5000));
  char *got = sorted_writes(f);
  assert_string_equal(
      got, "PATCH /api/v1/namespaces/default/pods/huge/status "
           "Unschedulable\n"
           "POST /api/v1/namespaces/default/events "
           "FailedScheduling\n"
           "POST /api/v1/namespaces/default/events Scheduled\n"
           "POST /api/v1/namespaces/default/pods/fits/binding ->n1\n");
  free(got);
  const kt_action_t *ev = kt_fake_find(f, "POST",
                                       "/api/v1/namespaces/default/"
                                       "events");
  assert_non_null(strstr(ev->body, "\"component\":\"default-scheduler\""));
  char *fits = kt_fake_get(f, "v1", "Pod", "default", "fits");
  assert_non_null(strstr(fits, "\"nodeName\":\"n1\""));
  free(fits);
  /* One informer per collection: nodes, pods and namespaces (for
   * namespaceSelector terms), each listed once. */
  assert_int_equal(kube_informer_factory_count(fac), 3);
  assert_int_equal(kt_fake_count_actions(f, "GET", "/api/v1/pods"), 2);
  kube_informer_options_t po = {.struct_size = sizeof po,
                                .path = "/api/v1/pods"};
  kube_informer_t *pods = kube_informer_factory_informer(fac, &po, NULL);
  assert_true(kube_informer_has_index(pods, KUBE_INDEX_NODE_NAME));
  assert_int_equal(kube_informer_index_count(pods, KUBE_INDEX_NODE_NAME, "n1"),
                   2);
  /* The node goes: its pods become orphans found through the index, the
   * pending one waits. */
  kt_fake_clear_actions(f);
  assert_int_equal(kt_fake_delete(f, "v1", "Node", NULL, "n1"), 0);
  kt_run_for(loop, 20);
  kube_sched_resources_t used;
  assert_int_equal(kube_scheduler_node_requested(
                       kube_scheduler_loop_scheduler(sl), "n1", &used, NULL),
                   -1);
  /* It comes back: the orphans count on it again (3 + 1 CPUs), so huge
   * still does not fit and nothing is bound twice. */
  assert_true(kt_fake_add(f, NODE("n1", "4")) > 0);
  kt_run_for(loop, 50);
  assert_int_equal(kube_scheduler_node_requested(
                       kube_scheduler_loop_scheduler(sl), "n1", &used, NULL),
                   0);
  assert_int_equal(used.cpu_milli, 4000);
  assert_int_equal(kt_fake_count_actions(f, "POST",
                                         "/api/v1/namespaces/"
                                         "default/pods/fits"),
                   0);
  kube_scheduler_loop_free(sl);
  /* The loop removed its registrations from the shared informers. */
  kube_informer_factory_free(fac);
  kt_fake_free(f);
  kube_loop_free(loop);
}

/* ------------------------------------------------------------------------ */
/* In-process: informer and scheduler loop against a real API server          */
/* ------------------------------------------------------------------------ */

struct env {
  struct event_base *base;
  kube_loop_t *base_loop;
  kube_store_t *store;
  kube_apiserver_t *srv;
  kube_transport_t tp;
};

static void env_init(struct env *e) {
  e->base_loop = kube_loop_new(NULL);
  e->base = kube_loop_base(e->base_loop);
  kube_store_options_t so = {.struct_size = sizeof so, .backend = "memory"};
  e->store = kube_store_open(e->base_loop, &so, NULL);
  assert_non_null(e->store);
  kube_apiserver_options_t ao = {.struct_size = sizeof ao, .bootstrap = true};
  e->srv = kube_apiserver_new(e->base_loop, e->store, &ao, NULL);
  assert_non_null(e->srv);
  kube_apiserver_transport(e->srv, &e->tp);
}

static void env_free(struct env *e) {
  kube_apiserver_free(e->srv);
  kube_store_close(e->store);
  kube_loop_free(e->base_loop);
}

struct done_flag {
  int status;
  bool done;
  char body[8192];
};

static void req_cb(int status, const char *ct, const char *data, size_t len,
                   bool done, void *arg) {
  struct done_flag *d = arg;
  d->status = status;
  d->done = done;
  snprintf(d->body, sizeof d->body, "%.*s", (int)len, data);
}

static bool is_done(void *arg) {
  return ((struct done_flag *)arg)->done;
}

static int call(struct env *e, const char *method, const char *path,
                const char *body, struct done_flag *d) {
  memset(d, 0, sizeof *d);
  kube_transport_request_t rq = {.struct_size = sizeof rq,
                                 .method = method,
                                 .path = path,
                                 .body = body,
                                 .body_len = body ? strlen(body) : 0};
  assert_non_null(kube_transport_request(&e->tp, &rq, req_cb, d, NULL));
  assert_true(run_until(e->base, is_done, d, 5000));
  return d->status;
}

struct count_ctx {
  struct seen *s;
  const char *needle;
};
static bool log_has(void *arg) {
  struct count_ctx *c = arg;
  return strstr(c->s->log, c->needle) != NULL;
}

static void test_informer_inprocess(void **state) {
  struct env e;
  env_init(&e);
  struct done_flag d;
  assert_int_equal(
      call(&e, "POST", "/api/v1/namespaces/default/configmaps",
           "{\"metadata\":{\"name\":\"one\"},\"data\":{\"k\":\"v\"}}", &d),
      201);
  struct seen s = {0};
  kube_informer_handlers_t h = {.struct_size = sizeof h,
                                .on_add = seen_add,
                                .on_update = seen_update,
                                .on_delete = seen_delete,
                                .on_synced = seen_synced};
  kube_informer_options_t o = {.struct_size = sizeof o,
                               .path = "/api/v1/namespaces/default/configmaps"};
  kube_informer_t *inf =
      kube_informer_new(e.base_loop, &e.tp, &o, &h, &s, NULL);
  assert_int_equal(kube_informer_start(inf, NULL), 0);
  struct count_ctx c = {&s, "add default/one"};
  assert_true(run_until(e.base, log_has, &c, 5000));
  assert_int_equal(s.synced, 1);
  assert_int_equal(call(&e, "POST", "/api/v1/namespaces/default/configmaps",
                        "{\"metadata\":{\"name\":\"two\"}}", &d),
                   201);
  c.needle = "add default/two";
  assert_true(run_until(e.base, log_has, &c, 5000));
  assert_int_equal(
      call(&e, "DELETE", "/api/v1/namespaces/default/configmaps/one", NULL, &d),
      200);
  c.needle = "delete default/one";
  assert_true(run_until(e.base, log_has, &c, 5000));
  assert_int_equal(kube_informer_count(inf), 1);
  assert_non_null(kube_informer_get(inf, "default/two"));
  kube_informer_free(inf);
  env_free(&e);
}

/* Two in-process informers get a created pod as one shared object, the
 * write's own (no second parse), as a watch serves it: resourceVersion
 * set, no managedFields.  The binding that follows changes the create's
 * tree (recent.c): the object the informers were given stays as it was. */
struct shared_seen {
  kube_informer_t *inf;
  const char *rv_ptr; /* the ADDED object's resourceVersion string */
  const kube_object_t *pinned;
  int adds, updates;
  char node[64];
};

static void shared_add(const char *key, const kube_object_t *obj, void *arg) {
  struct shared_seen *s = arg;
  s->adds++;
  s->rv_ptr = kube_object_resource_version(obj);
  s->pinned = kube_informer_get(s->inf, key);
}

static void shared_update(const char *key, const kube_object_t *old_obj,
                          const kube_object_t *obj, void *arg) {
  struct shared_seen *s = arg;
  const char *n = kube_object_get_string(obj, "spec.nodeName");
  snprintf(s->node, sizeof s->node, "%s", n ? n : "");
  s->updates++;
}

static bool shared_updated(void *arg) {
  return ((struct shared_seen *)arg)->updates > 0;
}

static bool both_added(void *arg) {
  struct shared_seen *s = arg;
  return s[0].adds && s[1].adds;
}

static void test_informer_inprocess_objects(void **state) {
  struct env e;
  env_init(&e);
  struct shared_seen s[2] = {{0}};
  kube_informer_handlers_t h = {.struct_size = sizeof h,
                                .on_add = shared_add,
                                .on_update = shared_update};
  kube_informer_options_t o = {.struct_size = sizeof o,
                               .path = "/api/v1/namespaces/default/pods"};
  for (int i = 0; i < 2; i++) {
    s[i].inf = kube_informer_new(e.base_loop, &e.tp, &o, &h, &s[i], NULL);
    assert_non_null(s[i].inf);
    assert_int_equal(kube_informer_start(s[i].inf, NULL), 0);
  }
  for (int i = 0; i < 2; i++)
    assert_true(run_until(e.base, (bool (*)(void *))kube_informer_synced,
                          s[i].inf, 5000));
  struct done_flag d;
  assert_int_equal(
      call(&e, "POST", "/api/v1/namespaces/default/pods",
           "{\"metadata\":{\"name\":\"p\",\"labels\":{\"a\":\"b\"}},"
           "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}",
           &d),
      201);
  assert_true(run_until(e.base, both_added, s, 5000));
  /* One object for both, the served one. */
  assert_non_null(s[0].rv_ptr);
  assert_ptr_equal(s[0].rv_ptr, s[1].rv_ptr);
  const kube_object_t *p = s[0].pinned;
  assert_non_null(p);
  char *added = kube_object_to_json(p, KUBE_JSON_COMPACT);
  assert_non_null(added);
  assert_null(strstr(added, "managedFields"));
  assert_null(strstr(added, "nodeName"));
  assert_non_null(strstr(added, "\"a\":\"b\""));
  char rv[32];
  snprintf(rv, sizeof rv, "%s", kube_object_resource_version(p));
  /* informer 0 stops: its pinned object stays readable, unchanged. */
  kube_informer_stop(s[0].inf);
  assert_int_equal(
      call(&e, "POST", "/api/v1/namespaces/default/pods/p/binding",
           "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":"
           "\"p\"},\"target\":{\"kind\":\"Node\",\"name\":\"n1\"}}",
           &d),
      201);
  assert_true(run_until(e.base, shared_updated, &s[1], 5000));
  assert_string_equal(s[1].node, "n1");
  char *after = kube_object_to_json(p, KUBE_JSON_COMPACT);
  assert_string_equal(after, added);
  assert_string_equal(kube_object_resource_version(p), rv);
  /* The cache of informer 1 holds the bound pod without managedFields. */
  const kube_object_t *b = kube_informer_get(s[1].inf, "default/p");
  assert_non_null(b);
  assert_string_equal(kube_object_get_string(b, "spec.nodeName"), "n1");
  char *bound = kube_object_to_json(b, KUBE_JSON_COMPACT);
  assert_null(strstr(bound, "managedFields"));
  assert_string_not_equal(kube_object_resource_version(b), rv);
  free(added);
  free(after);
  free(bound);
  for (int i = 0; i < 2; i++)
    kube_informer_free(s[i].inf);
  env_free(&e);
}

static bool pod_bound(void *arg) {
  struct done_flag *d = arg;
  return strstr(d->body, "\"nodeName\"") != NULL;
}

struct pod_wait {
  struct env *e;
  const char *path;
  struct done_flag d;
};

static bool poll_pod(void *arg) {
  struct pod_wait *w = arg;
  call(w->e, "GET", w->path, NULL, &w->d);
  return pod_bound(&w->d);
}

static bool poll_events(void *arg) {
  struct pod_wait *w = arg;
  call(w->e, "GET", w->path, NULL, &w->d);
  return strstr(w->d.body, "FailedScheduling") != NULL;
}

static void test_scheduler_loop_inprocess(void **state) {
  struct env e;
  env_init(&e);
  struct done_flag d;
  assert_int_equal(
      call(&e, "POST", "/api/v1/nodes",
           "{\"metadata\":{\"name\":\"small\"},\"status\":{\"allocatable\":"
           "{\"cpu\":\"2\",\"memory\":\"4Gi\",\"pods\":\"10\"}}}",
           &d),
      201);
  assert_int_equal(
      call(&e, "POST", "/api/v1/nodes",
           "{\"metadata\":{\"name\":\"large\"},\"status\":{\"allocatable\":"
           "{\"cpu\":\"8\",\"memory\":\"16Gi\",\"pods\":\"10\"}}}",
           &d),
      201);
  kube_scheduler_loop_t *loop =
      kube_scheduler_loop_new(e.base_loop, &e.tp, NULL, NULL);
  assert_non_null(loop);
  assert_int_equal(kube_scheduler_loop_start(loop, NULL), 0);
  /* 1 CPU / 2Gi: "small" ends up fuller (50%) than "large": bin-packing. */
  assert_int_equal(
      call(&e, "POST", "/api/v1/namespaces/default/pods",
           "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"containers\":[{\"name\":"
           "\"c\",\"image\":\"x\",\"resources\":{\"requests\":{\"cpu\":\"1\","
           "\"memory\":\"2Gi\"}}}]}}",
           &d),
      201);
  struct pod_wait w = {&e, "/api/v1/namespaces/default/pods/a"};
  assert_true(run_until(e.base, poll_pod, &w, 5000));
  assert_non_null(strstr(w.d.body, "\"nodeName\":\"small\""));
  const kube_scheduler_t *s = kube_scheduler_loop_scheduler(loop);
  kube_sched_resources_t used;
  assert_int_equal(kube_scheduler_node_requested(s, "small", &used, NULL), 0);
  assert_int_equal(used.cpu_milli, 1000);
  /* Too big for either node: FailedScheduling, stays unbound. */
  assert_int_equal(
      call(&e, "POST", "/api/v1/namespaces/default/pods",
           "{\"metadata\":{\"name\":\"huge\"},\"spec\":{\"containers\":[{"
           "\"name\":\"c\",\"image\":\"x\",\"resources\":{\"requests\":{"
           "\"cpu\":\"64\"}}}]}}",
           &d),
      201);
  struct pod_wait ev = {&e, "/api/v1/namespaces/default/"
                            "events?fieldSelector=involvedObject.name%3Dhuge"};
  assert_true(run_until(e.base, poll_events, &ev, 5000));
  assert_non_null(strstr(ev.d.body, "0/2 nodes are available"));
  kube_scheduler_loop_stats_t st;
  kube_scheduler_loop_get_stats(loop, &st);
  assert_true(st.bindings_ok >= 1);
  assert_true(st.unschedulable >= 1);
  assert_true(kube_scheduler_loop_running(loop));
  kube_scheduler_loop_free(loop);
  env_free(&e);
}

/* ------------------------------------------------------------------------ */
/* The asynchronous HTTP transport against the same server over TCP          */
/* ------------------------------------------------------------------------ */

static void http_roundtrip(bool tls) {
  struct env e = {0};
  e.base_loop = kube_loop_new(NULL);
  e.base = kube_loop_base(e.base_loop);
  kube_store_options_t so = {.struct_size = sizeof so, .backend = "memory"};
  e.store = kube_store_open(e.base_loop, &so, NULL);
  char dir[] = "/tmp/test-informer-XXXXXX", cert[300], key[300];
  assert_non_null(mkdtemp(dir));
  snprintf(cert, sizeof cert, "%s/tls.crt", dir);
  snprintf(key, sizeof key, "%s/tls.key", dir);
  kube_apiserver_options_t ao = {.struct_size = sizeof ao, .bootstrap = true};
  if (tls) {
    assert_int_equal(kube_apiserver_generate_cert(cert, key, NULL, NULL), 0);
    ao.tls_cert_file = cert;
    ao.tls_key_file = key;
    ao.token = "sekret";
  }
  e.srv = kube_apiserver_new(e.base_loop, e.store, &ao, NULL);
  assert_non_null(e.srv);
  assert_int_equal(kube_apiserver_listen(e.srv, "tcp:127.0.0.1:0", NULL), 0);
  char server[100];
  snprintf(server, sizeof server, "%s://127.0.0.1:%d", tls ? "https" : "http",
           kube_apiserver_port(e.srv));
  kube_client_options_t co = {.struct_size = sizeof co,
                              .server = server,
                              .token = tls ? "sekret" : NULL,
                              .certificate_authority = tls ? cert : NULL};
  kube_error_t err = KUBE_ERROR_INIT;
  kube_http_transport_t *ht = kube_http_transport_new(e.base_loop, &co, &err);
  if (!ht)
    fail_msg("http transport: %s", err.message);
  kube_http_transport_get(ht, &e.tp);
  struct done_flag d;
  /* Bootstrap creates the default namespace asynchronously. */
  int64_t end = kube_time_mono_ns() + 5000000000LL;
  while (!kube_apiserver_ready(e.srv) && kube_time_mono_ns() < end)
    run_for(e.base, 5);
  assert_int_equal(call(&e, "GET", "/version", NULL, &d), 200);
  assert_non_null(strstr(d.body, "gitVersion"));
  assert_int_equal(
      call(&e, "GET", "/api/v1/namespaces/default/pods/nope", NULL, &d), 404);
  assert_non_null(strstr(d.body, "NotFound"));
  struct seen s = {0};
  kube_informer_handlers_t h = {.struct_size = sizeof h,
                                .on_add = seen_add,
                                .on_delete = seen_delete,
                                .on_synced = seen_synced};
  kube_informer_options_t o = {.struct_size = sizeof o,
                               .path = "/api/v1/namespaces/default/configmaps"};
  kube_informer_t *inf =
      kube_informer_new(e.base_loop, &e.tp, &o, &h, &s, NULL);
  assert_int_equal(kube_informer_start(inf, NULL), 0);
  struct count_ctx c = {&s, NULL};
  assert_true(
      run_until(e.base, (bool (*)(void *))kube_informer_synced, inf, 5000));
  /* Several writes at once go over the pooled connections. */
  struct done_flag w[6];
  for (int i = 0; i < 6; i++) {
    char body[100];
    snprintf(body, sizeof body, "{\"metadata\":{\"name\":\"cm%d\"}}", i);
    memset(&w[i], 0, sizeof w[i]);
    kube_transport_request_t rq = {.struct_size = sizeof rq,
                                   .method = "POST",
                                   .path =
                                       "/api/v1/namespaces/default/configmaps",
                                   .body = body,
                                   .body_len = strlen(body)};
    assert_non_null(kube_transport_request(&e.tp, &rq, req_cb, &w[i], NULL));
  }
  for (int i = 0; i < 6; i++) {
    assert_true(run_until(e.base, is_done, &w[i], 5000));
    assert_int_equal(w[i].status, 201);
  }
  c.needle = "add default/cm5";
  assert_true(run_until(e.base, log_has, &c, 5000));
  assert_int_equal(kube_informer_count(inf), 6);
  assert_int_equal(
      call(&e, "DELETE", "/api/v1/namespaces/default/configmaps/cm2", NULL, &d),
      200);
  c.needle = "delete default/cm2";
  assert_true(run_until(e.base, log_has, &c, 5000));
  /* A PATCH and a DELETE carry bodies too (libevent sets Content-Length
   * on POST and PUT only); each is followed by a GET on the same pooled
   * connections, which a body sent without its length would garble. */
  const char *patch = "{\"data\":{\"k\":\"patched\"}}";
  const char *delopts = "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\","
                        "\"preconditions\":{\"uid\":\"not-its-uid\"}}";
  for (int i = 0; i < 6; i++) {
    char path[100];
    snprintf(path, sizeof path, "/api/v1/namespaces/default/configmaps/cm%d",
             i == 2 ? 3 : i);
    memset(&d, 0, sizeof d);
    kube_transport_request_t rq = {
        .struct_size = sizeof rq,
        .method = i % 2 ? "DELETE" : "PATCH",
        .path = path,
        .content_type = i % 2 ? NULL : "application/merge-patch+json",
        .body = i % 2 ? delopts : patch,
        .body_len = strlen(i % 2 ? delopts : patch)};
    assert_non_null(kube_transport_request(&e.tp, &rq, req_cb, &d, NULL));
    assert_true(run_until(e.base, is_done, &d, 5000));
    /* The DELETE's precondition names another uid: the server read it. */
    assert_int_equal(d.status, i % 2 ? 409 : 200);
    if (i % 2 == 0)
      assert_non_null(strstr(d.body, "\"patched\""));
    assert_int_equal(call(&e, "GET", path, NULL, &d), 200);
    assert_non_null(strstr(d.body, i % 2 ? "\"name\"" : "\"patched\""));
  }
  kube_informer_free(inf);
  kube_http_transport_free(ht);
  run_for(e.base, 5); /* deferred connection frees */
  env_free(&e);
  unlink(cert);
  unlink(key);
  rmdir(dir);
}

static void test_http_transport_plain(void **state) {
  http_roundtrip(false);
}
static void test_http_transport_tls(void **state) {
  http_roundtrip(true);
}

int main(void) {
  kube_log_set_level(KUBE_LOG_ERROR);
  /* No kubeconfig of the machine may leak into the HTTP transport tests. */
  setenv("KUBECONFIG", "/nonexistent/kubeconfig", 1);
  setenv("HOME", "/nonexistent", 1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wq_dedupe_and_batch),
      cmocka_unit_test(test_wq_never_twice_at_once),
      cmocka_unit_test(test_wq_backoff),
      cmocka_unit_test(test_wq_pause),
      cmocka_unit_test(test_informer_list_watch_relist),
      cmocka_unit_test(test_scheduler_loop_fake),
      cmocka_unit_test(test_informer_inprocess),
      cmocka_unit_test(test_informer_inprocess_objects),
      cmocka_unit_test(test_scheduler_loop_inprocess),
      cmocka_unit_test(test_http_transport_plain),
      cmocka_unit_test(test_http_transport_tls),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
