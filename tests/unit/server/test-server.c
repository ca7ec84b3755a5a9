/* SPDX-License-Identifier: Apache-2.0 */
/* kube_server_t: composition order, asynchronous drains, in-process API
 * use by a component, stop from another thread, bad options. */
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

#include <libkube/kit.h>
#include <libkube/server.h>

/* Every call of every test component, in order: "init:a", "drain:b", ... */
static char journal[64][32];
static size_t n_journal;

static void note(const char *what, const char *name) {
  if (n_journal < 64)
    snprintf(journal[n_journal++], sizeof journal[0], "%s:%s", what, name);
}

struct comp {
  const char *name;
  kube_server_t *srv;
  kube_timer_t *timer; /* async drain */
  kube_component_drained_fn drained;
  void *token;
  bool async_drain;
  bool fail_start;
  /* The component writes a ConfigMap through the in-process API on start
   * and records the reply. */
  bool write_on_start;
  int reply_status;
};

static int c_init(void *impl, kube_server_t *srv, kube_error_t *err) {
  struct comp *c = impl;
  c->srv = srv;
  note("init", c->name);
  return 0;
}

static void reply_cb(int status, const char *ctype, const char *data,
                     size_t len, bool done, void *arg) {
  struct comp *c = arg;
  if (done)
    c->reply_status = status;
}

static int c_start(void *impl, kube_error_t *err) {
  struct comp *c = impl;
  note("start", c->name);
  if (c->fail_start)
    return kube_error_set(err, KUBE_REASON_INTERNAL, 0, "%s refuses", c->name);
  if (c->write_on_start) {
    kube_transport_t tp;
    kube_server_transport(c->srv, &tp);
    const char *body = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
                       "\"metadata\":{\"name\":\"from-component\"}}";
    kube_transport_request_t rq = {.struct_size = sizeof rq,
                                   .method = "POST",
                                   .path = "/api/v1/namespaces/default/"
                                           "configmaps",
                                   .body = body,
                                   .body_len = strlen(body)};
    if (!kube_transport_request(&tp, &rq, reply_cb, c, err))
      return -1;
  }
  return 0;
}

static void fire_drained(void *arg) {
  struct comp *c = arg;
  note("drained", c->name);
  c->drained(c->token);
}

static void c_drain(void *impl, kube_component_drained_fn drained,
                    void *token) {
  struct comp *c = impl;
  note("drain", c->name);
  if (!c->async_drain) {
    drained(token);
    return;
  }
  c->drained = drained;
  c->token = token;
  c->timer = kube_timer_new(kube_server_loop(c->srv), fire_drained, c, NULL);
  kube_timer_arm(c->timer, 20);
}

static void c_stop(void *impl) {
  struct comp *c = impl;
  note("stop", c->name);
}

static void c_free(void *impl) {
  struct comp *c = impl;
  note("free", c->name);
  kube_timer_free(c->timer);
  c->timer = NULL;
}

static const kube_component_ops_t ops = {
    .version = KUBE_COMPONENT_OPS_VERSION,
    .name = "test",
    .init = c_init,
    .start = c_start,
    .drain = c_drain,
    .stop = c_stop,
    .free = c_free,
};

static const char *const no_listen[] = {NULL};

static kube_server_t *memory_server(void) {
  kube_server_options_t o = {.struct_size = sizeof o,
                             .store = "memory",
                             .listen = no_listen,
                             .no_scheduler = true};
  kube_error_t err = KUBE_ERROR_INIT;
  kube_server_t *srv = kube_server_new(&o, &err);
  if (!srv)
    fail_msg("server: %s", err.message);
  return srv;
}

static void stop_later(void *arg) {
  kube_server_stop(arg);
}

static void test_order_and_async_drain(void **state) {
  n_journal = 0;
  kube_server_t *srv = memory_server();
  assert_null(kube_server_data_dir(srv));
  assert_null(kube_server_url(srv));
  struct comp a = {.name = "a", .write_on_start = true};
  struct comp b = {.name = "b", .async_drain = true};
  assert_int_equal(kube_server_add_component(srv, &ops, &a, NULL), 0);
  assert_int_equal(kube_server_add_component(srv, &ops, &b, NULL), 0);
  /* The first component found by name. */
  assert_ptr_equal(kube_server_component(srv, "test"), &a);
  assert_null(kube_server_component(srv, "nope"));
  /* Stop once the loop ran a little (the write completes first). */
  kube_timer_t *t =
      kube_timer_new(kube_server_loop(srv), stop_later, srv, NULL);
  kube_timer_arm(t, 50);
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_server_run(srv, &err), 0);
  kube_timer_free(t);
  assert_int_equal(a.reply_status, 201);
  /* Adding after start is refused (and the impl is freed through ops). */
  struct comp late = {.name = "late"};
  assert_int_equal(kube_server_add_component(srv, &ops, &late, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  kube_server_free(srv);
  const char *want[] = {"init:a",  "init:b",    "start:a", "start:b",
                        "drain:b", "drained:b", "drain:a", "stop:b",
                        "stop:a",  "free:late", "free:b",  "free:a"};
  assert_int_equal(n_journal, sizeof want / sizeof want[0]);
  for (size_t i = 0; i < n_journal; i++)
    assert_string_equal(journal[i], want[i]);
}

static void test_start_failure(void **state) {
  n_journal = 0;
  kube_server_t *srv = memory_server();
  struct comp a = {.name = "a"}, b = {.name = "b", .fail_start = true};
  kube_server_add_component(srv, &ops, &a, NULL);
  kube_server_add_component(srv, &ops, &b, NULL);
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_server_start(srv, &err), -1);
  assert_non_null(strstr(err.message, "b refuses"));
  kube_error_clear(&err);
  kube_server_free(srv);
  const char *want[] = {"init:a", "init:b", "start:a", "start:b",
                        "stop:b", "stop:a", "free:b",  "free:a"};
  assert_int_equal(n_journal, sizeof want / sizeof want[0]);
  for (size_t i = 0; i < n_journal; i++)
    assert_string_equal(journal[i], want[i]);
}

static void *stopper(void *arg) {
  usleep(30000);
  kube_server_stop(arg);
  return NULL;
}

/* The scheduler component runs; another thread stops the server. */
static void test_stop_from_thread(void **state) {
  kube_server_options_t o = {
      .struct_size = sizeof o, .store = "memory", .listen = no_listen};
  kube_server_t *srv = kube_server_new(&o, NULL);
  assert_non_null(srv);
  assert_non_null(kube_server_component(srv, "scheduler"));
  pthread_t th;
  pthread_create(&th, NULL, stopper, srv);
  assert_int_equal(kube_server_run(srv, NULL), 0);
  pthread_join(th, NULL);
  /* The scheduler took its informers from the server's shared factory,
   * which the shutdown stopped (the drain could not finish otherwise). */
  kube_informer_factory_t *f = kube_server_informers(srv, NULL);
  assert_non_null(f);
  assert_true(kube_informer_factory_count(f) >= 1);
  kube_server_free(srv);
}

/* Files and a TCP listener: token, certificate, kubeconfig. */
static void test_data_dir(void **state) {
  char dir[] = "/tmp/kube-server-test-XXXXXX";
  assert_non_null(mkdtemp(dir));
  const char *listen[] = {"tcp:127.0.0.1:0", NULL};
  kube_server_options_t o = {.struct_size = sizeof o,
                             .store = "sqlite",
                             .data_dir = dir,
                             .listen = listen,
                             .no_scheduler = true};
  kube_error_t err = KUBE_ERROR_INIT;
  kube_server_t *srv = kube_server_new(&o, &err);
  assert_non_null(srv);
  assert_non_null(kube_server_url(srv));
  assert_true(strncmp(kube_server_url(srv), "https://127.0.0.1:", 18) == 0);
  assert_non_null(kube_server_kubeconfig(srv));
  char path[256];
  snprintf(path, sizeof path, "%s/token", dir);
  assert_int_equal(access(path, R_OK), 0);
  snprintf(path, sizeof path, "%s/tls.crt", dir);
  assert_int_equal(access(path, R_OK), 0);
  kube_workers_t *w = kube_server_workers(srv, NULL);
  assert_non_null(w);
  assert_ptr_equal(kube_server_workers(srv, NULL), w);
  kube_server_free(srv);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

static void test_bad_options(void **state) {
  kube_server_options_t o = {.struct_size = sizeof o, .store = "mongodb"};
  kube_error_t err = KUBE_ERROR_INIT;
  assert_null(kube_server_new(&o, &err));
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  assert_non_null(strstr(err.message, "mongodb"));
  kube_error_clear(&err);
  kube_server_t *srv = memory_server();
  static const kube_component_ops_t bad = {.version = 99, .name = "x"};
  assert_int_equal(kube_server_add_component(srv, &bad, NULL, &err), -1);
  kube_error_clear(&err);
  kube_server_free(srv);
  kube_server_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_order_and_async_drain),
      cmocka_unit_test(test_start_failure),
      cmocka_unit_test(test_stop_from_thread),
      cmocka_unit_test(test_data_dir),
      cmocka_unit_test(test_bad_options),
  };
  return cmocka_run_group_tests_name("server", tests, NULL, NULL);
}
