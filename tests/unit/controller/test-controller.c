/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the controller module in client-go's sample-controller
 * style: objects prefilled in the fake transport of tests/lib, the
 * controller manager running the controller under test over it, and the
 * writes it recorded compared with what kube-controller-manager does.
 * This file: the harness and main; the tests are in test-*.c.
 */
#include "test-controller.h"

void h_init(struct h *h) {
  memset(h, 0, sizeof *h);
  h->loop = kube_loop_new(NULL);
  assert_non_null(h->loop);
  h->f = kt_fake_new(h->loop);
  kt_fake_transport(h->f, &h->tp);
}

static bool ready(void *arg) {
  struct h *h = arg;
  const char *const *names = kube_controller_manager_enabled(h->m);
  for (size_t i = 0; names[i]; i++) {
    kube_controller_t *c = kube_controller_manager_controller(h->m, names[i]);
    if (c && !kube_controller_ready(c))
      return false;
  }
  return true;
}

void h_start(struct h *h, const char *controllers) {
  kube_controller_manager_options_t o = {.struct_size = sizeof o,
                                         .controllers = controllers};
  h_start_opts(h, &o);
}

void h_start_opts(struct h *h, const kube_controller_manager_options_t *o) {
  kube_error_t err = KUBE_ERROR_INIT;
  h->m = kube_controller_manager_new(h->loop, &h->tp, o, &err);
  assert_non_null(h->m);
  assert_int_equal(kube_controller_manager_start(h->m, &err), 0);
  assert_true(kube_controller_manager_running(h->m));
  assert_true(kt_run_until(h->loop, ready, h, 10000));
}

const char *h_ago(char *buf, size_t len, int seconds) {
  time_t t = time(NULL) - seconds;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void h_free(struct h *h) {
  kube_controller_manager_free(h->m);
  kt_fake_free(h->f);
  kube_loop_free(h->loop);
}

static bool idle(struct h *h) {
  const char *const *names = kube_controller_manager_enabled(h->m);
  for (size_t i = 0; names[i]; i++) {
    kube_controller_t *c = kube_controller_manager_controller(h->m, names[i]);
    if (!c)
      continue;
    kube_controller_stats_t st;
    kube_controller_get_stats(c, &st);
    kube_workqueue_t *q = kube_controller_queue(c);
    if (st.pending || kube_workqueue_ready(q) || kube_workqueue_processing(q))
      return false;
  }
  return kt_fake_held(h->f) == 0;
}

void h_settle(struct h *h) {
  int quiet = 0;
  for (int i = 0; i < 1000; i++) {
    kt_run_for(h->loop, 10);
    quiet = idle(h) ? quiet + 1 : 0;
    if (quiet >= 5)
      return;
  }
  fail_msg("controllers did not settle");
}

void h_until(struct h *h, bool (*cond)(void *), void *arg) {
  assert_true(kt_run_until(h->loop, cond, arg, 10000));
}

long h_add(struct h *h, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *json = NULL;
  assert_true(vasprintf(&json, fmt, ap) >= 0);
  va_end(ap);
  long rv = kt_fake_add(h->f, json);
  if (rv < 0)
    fail_msg("bad object: %s", json);
  free(json);
  return rv;
}

json_object *h_get(struct h *h, const char *av, const char *kind,
                   const char *ns, const char *name) {
  char *text = kt_fake_get(h->f, av, kind, ns, name);
  if (!text)
    return NULL;
  json_object *o = json_tokener_parse(text);
  free(text);
  return o;
}

static bool ignored_path(const char *path) {
  return strstr(path, "/events") || strstr(path, "/leases");
}

size_t h_count(struct h *h, const char *method, const char *prefix) {
  size_t n = 0;
  for (size_t i = 0; i < kt_fake_n_actions(h->f); i++) {
    const kt_action_t *a = kt_fake_action(h->f, i);
    if (streq(a->method, method) && !strncmp(a->path, prefix, strlen(prefix)) &&
        !ignored_path(a->path))
      n++;
  }
  return n;
}

size_t h_objects(struct h *h, const char *av, const char *kind,
                 const char *ns) {
  return kt_fake_count(h->f, av, kind, ns);
}

size_t h_events(struct h *h, const char *reason) {
  char needle[128];
  snprintf(needle, sizeof needle, "\"reason\":\"%s\"", reason);
  size_t n = 0;
  for (size_t i = 0; i < kt_fake_n_actions(h->f); i++) {
    const kt_action_t *a = kt_fake_action(h->f, i);
    if (streq(a->method, "POST") && strstr(a->path, "/events") &&
        strstr(a->body, needle))
      n++;
  }
  return n;
}

struct listing {
  json_object *list;
  bool done;
};

static void listed(int status, const char *ct, const char *data, size_t len,
                   bool done, void *arg) {
  struct listing *l = arg;
  if (!done)
    return;
  l->list = status == 200 ? json_tokener_parse(data) : NULL;
  l->done = true;
}

static bool list_done(void *arg) {
  return ((struct listing *)arg)->done;
}

void h_pods_ready(struct h *h, const char *ns) {
  char path[256];
  snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", ns);
  struct listing l = {0};
  kube_transport_request_t rq = {
      .struct_size = sizeof rq, .method = "GET", .path = path};
  assert_non_null(kube_transport_request(&h->tp, &rq, listed, &l, NULL));
  assert_true(kt_run_until(h->loop, list_done, &l, 5000));
  assert_non_null(l.list);
  json_object *items = kube_json_get(l.list, "items");
  for (size_t i = 0; i < json_object_array_length(items); i++) {
    json_object *p = json_object_array_get_idx(items, i);
    if (kube_json_get(p, "metadata.deletionTimestamp"))
      continue;
    json_object *st = json_object_new_object();
    json_object_object_add(st, "phase", json_object_new_string("Running"));
    char ip[32];
    snprintf(ip, sizeof ip, "10.0.%zu.%zu", i / 250, i % 250 + 1);
    json_object_object_add(st, "podIP", json_object_new_string(ip));
    json_object *conds = json_object_new_array();
    json_object *c = json_object_new_object();
    json_object_object_add(c, "type", json_object_new_string("Ready"));
    json_object_object_add(c, "status", json_object_new_string("True"));
    json_object_object_add(c, "lastTransitionTime",
                           json_object_new_string("2026-01-01T00:00:00Z"));
    json_object_array_add(conds, c);
    json_object_object_add(st, "conditions", conds);
    json_object_object_add(p, "status", st);
    assert_true(kt_fake_add(h->f, json_object_to_json_string(p)) > 0);
  }
  json_object_put(l.list);
}

/* Up to max running/pending pods of ns end in `phase` (a kubelet's
 * status write; the container exits with exit_code).  How many. */
size_t h_pods_finish(struct h *h, const char *ns, const char *phase,
                     int exit_code, size_t max) {
  char path[256];
  snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", ns);
  struct listing l = {0};
  kube_transport_request_t rq = {
      .struct_size = sizeof rq, .method = "GET", .path = path};
  assert_non_null(kube_transport_request(&h->tp, &rq, listed, &l, NULL));
  assert_true(kt_run_until(h->loop, list_done, &l, 5000));
  assert_non_null(l.list);
  json_object *items = kube_json_get(l.list, "items");
  size_t n = 0;
  for (size_t i = 0; i < json_object_array_length(items) && n < max; i++) {
    json_object *p = json_object_array_get_idx(items, i);
    const char *ph = kube_json_get_string(p, "status.phase");
    if (kube_json_get(p, "metadata.deletionTimestamp") ||
        (ph && (streq(ph, "Succeeded") || streq(ph, "Failed"))))
      continue;
    char st[512];
    snprintf(st, sizeof st,
             "{\"phase\":\"%s\",\"containerStatuses\":[{\"name\":\"c\","
             "\"state\":{\"terminated\":{\"exitCode\":%d}}}]}",
             phase, exit_code);
    json_object_object_add(p, "status", json_tokener_parse(st));
    assert_true(kt_fake_add(h->f, json_object_to_json_string(p)) > 0);
    n++;
  }
  json_object_put(l.list);
  return n;
}

int main(void) {
  kube_log_set_level(KUBE_LOG_ERROR);
  int failed = 0;
  failed += run_hash_tests();
  failed += run_leader_tests();
  failed += run_rs_tests();
  failed += run_job_tests();
  failed += run_cron_tests();
  failed += run_ds_tests();
  failed += run_sts_tests();
  failed += run_deploy_tests();
  failed += run_gc_tests();
  failed += run_ep_tests();
  failed += run_node_tests();
  failed += run_pv_tests();
  failed += run_pdb_tests();
  return failed ? 1 : 0;
}
