/* SPDX-License-Identifier: Apache-2.0 */
/* kube_client_new_transport: the synchronous client over the in-process
 * transport of a kube_server_t that runs on its own thread — every verb,
 * Status errors, several threads at once, watches delivered to the calling
 * thread, timeouts, calls on the loop thread, and shutdown. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <libkube/api.h>
#include <libkube/kit.h>
#include <libkube/server.h>

static const char *const no_listen[] = {NULL};

struct running {
  kube_server_t *srv;
  kube_loop_t *loop;
  pthread_t thread;
  kube_client_t *c;
};

static void *run_server(void *arg) {
  struct running *r = arg;
  kube_error_t err = KUBE_ERROR_INIT;
  int rc = kube_server_run(r->srv, &err);
  if (rc < 0)
    fprintf(stderr, "server: %s\n", err.message);
  kube_error_clear(&err);
  return NULL;
}

static void start(struct running *r, int timeout_ms) {
  kube_server_options_t o = {.struct_size = sizeof o,
                             .store = "memory",
                             .listen = no_listen,
                             .no_scheduler = true};
  kube_error_t err = KUBE_ERROR_INIT;
  r->srv = kube_server_new(&o, &err);
  assert_non_null(r->srv);
  r->loop = kube_server_loop(r->srv);
  assert_int_equal(kube_server_start(r->srv, &err), 0);
  kube_transport_t tp;
  kube_server_transport(r->srv, &tp);
  kube_client_options_t co = {.struct_size = sizeof co,
                              .timeout_ms = timeout_ms};
  r->c = kube_client_new_transport(r->loop, &tp, &co, &err);
  assert_non_null(r->c);
  assert_string_equal(kube_client_server(r->c), "in-process");
  assert_string_equal(kube_client_namespace(r->c), "default");
  /* Before any thread runs the loop a call would wait forever: it fails. */
  assert_null(kube_client_get(r->c, kube_kind_by_kind("v1", "ConfigMap"), NULL,
                              "x", &err));
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  assert_int_equal(pthread_create(&r->thread, NULL, run_server, r), 0);
  while (kube_loop_in_thread(r->loop))
    usleep(1000);
}

static void stop(struct running *r) {
  kube_server_stop(r->srv);
  pthread_join(r->thread, NULL);
  kube_client_free(r->c);
  kube_server_free(r->srv);
}

static kube_object_t *configmap(const char *name, const char *value) {
  char json[512];
  snprintf(json, sizeof json,
           "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
           "{\"name\":\"%s\",\"labels\":{\"app\":\"t\"}},\"data\":{\"k\":"
           "\"%s\"}}",
           name, value);
  kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *o = kube_object_from_json(json, strlen(json), &err);
  assert_non_null(o);
  return o;
}

static const kube_kind_t *cm_kind(void) {
  return kube_kind_by_kind("v1", "ConfigMap");
}

/* Every verb of the typed helpers, and the Status errors they return. */
static void test_verbs(void **state) {
  struct running r;
  start(&r, 0);
  kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *cm = configmap("one", "1");
  kube_object_t *created = kube_client_create(r.c, NULL, NULL, cm, NULL, &err);
  assert_non_null(created);
  assert_int_equal(kube_client_last_status(r.c), 201);
  assert_non_null(kube_object_uid(created));
  /* Create again: AlreadyExists with details. */
  assert_null(kube_client_create(r.c, NULL, NULL, cm, NULL, &err));
  assert_int_equal(err.reason, KUBE_REASON_ALREADY_EXISTS);
  assert_int_equal(kube_client_last_status(r.c), 409);
  assert_string_equal(err.details_name, "one");
  kube_error_clear(&err);

  kube_object_t *got = kube_client_get(r.c, cm_kind(), NULL, "one", &err);
  assert_non_null(got);
  assert_string_equal(kube_object_get_string(got, "data.k"), "1");
  assert_string_equal(kube_object_resource_version(got),
                      kube_object_resource_version(created));

  /* Replace with the current resourceVersion, then with the stale one. */
  assert_int_equal(kube_object_set_string(got, "data.k", "2", &err), 0);
  kube_object_t *replaced =
      kube_client_replace(r.c, NULL, NULL, got, NULL, &err);
  assert_non_null(replaced);
  assert_string_equal(kube_object_get_string(replaced, "data.k"), "2");
  assert_null(kube_client_replace(r.c, NULL, NULL, got, NULL, &err));
  assert_int_equal(err.reason, KUBE_REASON_CONFLICT);
  kube_error_clear(&err);

  kube_object_t *patched =
      kube_client_patch(r.c, cm_kind(), NULL, "one", NULL, KUBE_PATCH_MERGE,
                        "{\"data\":{\"p\":\"yes\"}}", NULL, &err);
  assert_non_null(patched);
  assert_string_equal(kube_object_get_string(patched, "data.p"), "yes");

  kube_object_t *two = configmap("two", "applied");
  kube_client_write_options_t wo = {.struct_size = sizeof wo,
                                    .field_manager = "test"};
  kube_object_t *applied = kube_client_apply(r.c, two, &wo, &err);
  assert_non_null(applied);
  assert_string_equal(kube_object_get_string(applied, "data.k"), "applied");

  kube_client_list_options_t lo = {.struct_size = sizeof lo,
                                   .label_selector = "app=t"};
  kube_object_t *list = kube_client_list(r.c, cm_kind(), "default", &lo, &err);
  assert_non_null(list);
  assert_string_equal(kube_object_kind(list), "ConfigMapList");
  assert_non_null(kube_object_get_string(list, "items.1.metadata.name"));
  assert_null(kube_object_get_string(list, "items.2.metadata.name"));

  assert_int_equal(
      kube_client_delete(r.c, cm_kind(), NULL, "one", NULL, NULL, &err), 0);
  assert_null(kube_client_get(r.c, cm_kind(), NULL, "one", &err));
  assert_int_equal(err.reason, KUBE_REASON_NOT_FOUND);
  assert_int_equal(kube_client_last_status(r.c), 404);
  kube_error_clear(&err);

  /* Invalid: a Status with causes. */
  kube_object_t *bad = configmap("Not_A_Name", "x");
  assert_null(kube_client_create(r.c, NULL, NULL, bad, NULL, &err));
  assert_int_equal(err.reason, KUBE_REASON_INVALID);
  assert_true(err.n_causes >= 1);
  kube_error_clear(&err);

  /* The raw request API works too. */
  kube_client_request_t rq = {
      .struct_size = sizeof rq, .method = "GET", .path = "/version"};
  kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
  assert_int_equal(kube_client_request(r.c, &rq, &resp, &err), 0);
  assert_int_equal(resp.status, 200);
  assert_non_null(strstr(resp.body, "gitVersion"));
  kube_client_response_clear(&resp);

  kube_object_free(bad);
  kube_object_free(list);
  kube_object_free(applied);
  kube_object_free(two);
  kube_object_free(patched);
  kube_object_free(replaced);
  kube_object_free(got);
  kube_object_free(created);
  kube_object_free(cm);
  stop(&r);
}

/* ---- several threads on one client ---- */

#define THREADS 4
#define PER_THREAD 150

struct worker {
  kube_client_t *c;
  int id;
  int failures;
};

static void *work(void *arg) {
  struct worker *w = arg;
  for (int i = 0; i < PER_THREAD; i++) {
    char name[64];
    snprintf(name, sizeof name, "w%d-%d", w->id, i);
    kube_error_t err = KUBE_ERROR_INIT;
    kube_object_t *cm = configmap(name, name);
    kube_object_t *made = kube_client_create(w->c, NULL, NULL, cm, NULL, &err);
    kube_object_t *got =
        made ? kube_client_get(w->c, cm_kind(), NULL, name, &err) : NULL;
    if (!got || strcmp(kube_object_get_string(got, "data.k"), name) != 0)
      w->failures++;
    kube_error_clear(&err);
    kube_object_free(got);
    kube_object_free(made);
    kube_object_free(cm);
  }
  return NULL;
}

static void test_threads(void **state) {
  struct running r;
  start(&r, 0);
  pthread_t th[THREADS];
  struct worker w[THREADS];
  for (int i = 0; i < THREADS; i++) {
    w[i] = (struct worker){r.c, i, 0};
    assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(w[i].failures, 0);
  }
  kube_error_t err = KUBE_ERROR_INIT;
  /* In "default": the server's own ConfigMaps (kube-system's cluster
   * settings, kube-root-ca.crt) come and go in other namespaces. */
  kube_object_t *list =
      kube_client_list(r.c, cm_kind(), "default", NULL, &err);
  assert_non_null(list);
  char path[64];
  snprintf(path, sizeof path, "items.%d.metadata.name",
           THREADS * PER_THREAD - 1);
  assert_non_null(kube_object_get_string(list, path));
  snprintf(path, sizeof path, "items.%d.metadata.name", THREADS * PER_THREAD);
  assert_null(kube_object_get_string(list, path));
  kube_object_free(list);
  stop(&r);
}

/* ---- watches ---- */

struct watcher {
  kube_client_t *c;
  pthread_t self;
  int added;
  int want;
  bool wrong_thread;
  int rc;
  kube_error_t err;
  const char *resource_version;
};

static int on_event(const char *type, const kube_object_t *obj, void *arg) {
  struct watcher *w = arg;
  if (!pthread_equal(pthread_self(), w->self))
    w->wrong_thread = true;
  if (strcmp(type, "ADDED") == 0)
    w->added++;
  return w->want > 0 && w->added >= w->want;
}

static void *watch_thread(void *arg) {
  struct watcher *w = arg;
  w->self = pthread_self();
  kube_client_list_options_t lo = {.struct_size = sizeof lo,
                                   .resource_version = w->resource_version};
  w->rc =
      kube_client_watch(w->c, cm_kind(), "default", &lo, on_event, w, &w->err);
  return NULL;
}

static void test_watch(void **state) {
  struct running r;
  start(&r, 0);
  kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *list = kube_client_list(r.c, cm_kind(), NULL, NULL, &err);
  assert_non_null(list);
  struct watcher w = {.c = r.c, .want = 20};
  w.resource_version = kube_object_get_string(list, "metadata.resourceVersion");
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, watch_thread, &w), 0);
  for (int i = 0; i < 25; i++) {
    char name[32];
    snprintf(name, sizeof name, "watched-%d", i);
    kube_object_t *cm = configmap(name, "v");
    kube_object_t *made = kube_client_create(r.c, NULL, NULL, cm, NULL, &err);
    assert_non_null(made);
    kube_object_free(made);
    kube_object_free(cm);
  }
  /* The callback stopped the watch after 20 events, on the watch's own
   * thread. */
  pthread_join(th, NULL);
  assert_int_equal(w.rc, 0);
  assert_int_equal(w.added, 20);
  assert_false(w.wrong_thread);

  /* A watch of a gone resourceVersion is an error, not a hang. */
  struct watcher bad = {.c = r.c, .resource_version = "not-a-number"};
  watch_thread(&bad);
  assert_int_equal(bad.rc, -1);
  assert_true(bad.err.reason == KUBE_REASON_BAD_REQUEST ||
              bad.err.reason == KUBE_REASON_EXPIRED ||
              bad.err.reason == KUBE_REASON_GONE);
  kube_error_clear(&bad.err);

  /* Shutdown ends a watch that waits for events. */
  struct watcher idle = {.c = r.c, .want = 0};
  assert_int_equal(pthread_create(&th, NULL, watch_thread, &idle), 0);
  while (kube_client_last_status(r.c) != 200)
    usleep(1000);
  kube_server_stop(r.srv);
  pthread_join(th, NULL);
  assert_int_equal(idle.rc, 0);
  pthread_join(r.thread, NULL);
  /* The loop stopped: a call fails at once instead of waiting. */
  assert_null(kube_client_get(r.c, cm_kind(), NULL, "x", &err));
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  kube_object_free(list);
  kube_client_free(r.c);
  kube_server_free(r.srv);
}

/* A watch stopped by its callback leaves a cancellation on its way to the
 * loop; freeing the client at once must not leave it a dangling pointer
 * (run under valgrind / MALLOC_PERTURB_). */
static void test_free_after_watch_stop(void **state) {
  struct running r;
  start(&r, 0);
  kube_transport_t tp;
  kube_server_transport(r.srv, &tp);
  kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *cm = configmap("present", "x");
  kube_object_t *made = kube_client_create(r.c, NULL, NULL, cm, NULL, &err);
  assert_non_null(made);
  kube_object_free(made);
  kube_object_free(cm);
  for (int i = 0; i < 20; i++) {
    kube_client_t *c = kube_client_new_transport(r.loop, &tp, NULL, &err);
    assert_non_null(c);
    struct watcher w = {.c = c, .want = 1};
    watch_thread(&w); /* the existing objects come as ADDED first */
    assert_int_equal(w.rc, 0);
    kube_client_free(c);
  }
  /* The loop ran every cancellation: the server still answers. */
  kube_object_t *list = kube_client_list(r.c, cm_kind(), NULL, NULL, &err);
  assert_non_null(list);
  kube_object_free(list);
  stop(&r);
}

/* ---- timeouts and the loop's own thread ---- */

struct on_loop {
  kube_client_t *c;
  kube_error_t err;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool ran;
};

static void get_on_loop(void *arg) {
  struct on_loop *o = arg;
  kube_object_t *obj = kube_client_get(o->c, cm_kind(), NULL, "x", &o->err);
  kube_object_free(obj);
  pthread_mutex_lock(&o->mu);
  o->ran = true;
  pthread_cond_signal(&o->cv);
  pthread_mutex_unlock(&o->mu);
}

static void test_timeout_and_loop_thread(void **state) {
  struct running r;
  start(&r, 200);
  kube_error_t err = KUBE_ERROR_INIT;
  /* A watch asked for as a plain request never completes: it times out
   * and is cancelled on the loop. */
  kube_client_request_t rq = {.struct_size = sizeof rq,
                              .method = "GET",
                              .path = "/api/v1/configmaps",
                              .query = "watch=true"};
  kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
  assert_int_equal(kube_client_request(r.c, &rq, &resp, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_TIMEOUT);
  kube_error_clear(&err);
  /* The client still works afterwards. */
  kube_object_t *cm = configmap("after-timeout", "x");
  kube_object_t *made = kube_client_create(r.c, NULL, NULL, cm, NULL, &err);
  assert_non_null(made);
  kube_object_free(made);
  kube_object_free(cm);

  struct on_loop o = {.c = r.c};
  pthread_mutex_init(&o.mu, NULL);
  pthread_cond_init(&o.cv, NULL);
  assert_int_equal(kube_loop_invoke(r.loop, get_on_loop, &o, NULL), 0);
  pthread_mutex_lock(&o.mu);
  while (!o.ran)
    pthread_cond_wait(&o.cv, &o.mu);
  pthread_mutex_unlock(&o.mu);
  assert_int_equal(o.err.reason, KUBE_REASON_BAD_REQUEST);
  assert_non_null(strstr(o.err.message, "loop"));
  kube_error_clear(&o.err);
  stop(&r);
}

static void test_bad_arguments(void **state) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_transport_t tp = {0};
  assert_null(kube_client_new_transport(NULL, &tp, NULL, &err));
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  kube_loop_t *loop = kube_loop_new(&err);
  assert_non_null(loop);
  assert_null(kube_client_new_transport(loop, &tp, NULL, &err));
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  kube_loop_free(loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_verbs),
      cmocka_unit_test(test_threads),
      cmocka_unit_test(test_watch),
      cmocka_unit_test(test_free_after_watch_stop),
      cmocka_unit_test(test_timeout_and_loop_thread),
      cmocka_unit_test(test_bad_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
