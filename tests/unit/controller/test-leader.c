/* SPDX-License-Identifier: Apache-2.0 */
/* Leader election on a Lease over the fake transport: acquiring a free
 * lease, waiting for a held one, taking over an expired one (transitions
 * counted), release on stop, losing a lease that cannot be renewed. */
#include "test-controller.h"

#define LEASES "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"

struct cand {
  kube_leader_elector_t *e;
  int started, stopped;
  char leader[128];
};

static void started(void *arg) {
  ((struct cand *)arg)->started++;
}
static void stopped(void *arg) {
  ((struct cand *)arg)->stopped++;
}
static void new_leader(const char *id, void *arg) {
  snprintf(((struct cand *)arg)->leader, sizeof((struct cand *)arg)->leader,
           "%s", id);
}

static void cand_new(struct h *h, struct cand *c, const char *id) {
  memset(c, 0, sizeof *c);
  kube_leader_elector_options_t o = {
      .struct_size = sizeof o,
      .lease_name = "test-lease",
      .identity = id,
      .lease_duration_ms = 1000,
      .renew_deadline_ms = 600,
      .retry_period_ms = 200,
  };
  kube_leader_elector_callbacks_t cb = {
      .struct_size = sizeof cb,
      .on_started_leading = started,
      .on_stopped_leading = stopped,
      .on_new_leader = new_leader,
  };
  kube_error_t err = KUBE_ERROR_INIT;
  c->e = kube_leader_elector_new(h->loop, &h->tp, &o, &cb, c, &err);
  assert_non_null(c->e);
  assert_int_equal(kube_leader_elector_start(c->e, &err), 0);
}

static bool leading(void *arg) {
  return ((struct cand *)arg)->started > 0;
}
static bool lost(void *arg) {
  return ((struct cand *)arg)->stopped > 0;
}

static const char *lease_name = "test-lease";

static const char *holder(struct h *h, json_object **keep) {
  *keep =
      h_get(h, "coordination.k8s.io/v1", "Lease", "kube-system", lease_name);
  return *keep ? kube_json_get_string(*keep, "spec.holderIdentity") : NULL;
}

static void test_acquire_and_release(void **state) {
  struct h h;
  h_init(&h);
  struct cand a, b;
  cand_new(&h, &a, "a");
  h_until(&h, leading, &a);
  assert_true(kube_leader_elector_is_leader(a.e));
  assert_string_equal(kube_leader_elector_identity(a.e), "a");
  json_object *l;
  assert_string_equal(holder(&h, &l), "a");
  assert_int_equal(
      json_object_get_int64(kube_json_get(l, "spec.leaseDurationSeconds")), 1);
  assert_int_equal(
      json_object_get_int64(kube_json_get(l, "spec.leaseTransitions")), 0);
  assert_non_null(kube_json_get_string(l, "spec.acquireTime"));
  json_object_put(l);
  assert_int_equal(h_count(&h, "POST", LEASES), 0); /* leases are not counted */
  assert_non_null(kt_fake_find(h.f, "POST", LEASES));

  /* A second candidate waits while the first renews. */
  cand_new(&h, &b, "b");
  kt_run_for(h.loop, 1500);
  assert_int_equal(b.started, 0);
  assert_string_equal(b.leader, "a");
  assert_string_equal(kube_leader_elector_leader(b.e), "a");
  assert_true(kt_fake_count_actions(h.f, "PUT", LEASES) >= 3); /* renewals */

  /* Stopping the leader hands the lease back: the other takes it. */
  kube_leader_elector_stop(a.e, NULL, NULL);
  assert_false(kube_leader_elector_is_leader(a.e));
  h_until(&h, leading, &b);
  assert_string_equal(holder(&h, &l), "b");
  assert_int_equal(
      json_object_get_int64(kube_json_get(l, "spec.leaseTransitions")), 1);
  json_object_put(l);
  assert_int_equal(a.stopped, 0); /* stop is not losing */
  kube_leader_elector_free(a.e);
  kube_leader_elector_free(b.e);
  h_free(&h);
}

static void test_takeover_after_expiry(void **state) {
  struct h h;
  h_init(&h);
  struct cand a, b;
  cand_new(&h, &a, "a");
  h_until(&h, leading, &a);
  cand_new(&h, &b, "b");
  kt_run_for(h.loop, 300);
  /* The leader dies without a word: the lease expires on the other's
   * clock, a lease duration after it last changed. */
  kube_leader_elector_free(a.e);
  h_until(&h, leading, &b);
  json_object *l;
  assert_string_equal(holder(&h, &l), "b");
  assert_int_equal(
      json_object_get_int64(kube_json_get(l, "spec.leaseTransitions")), 1);
  json_object_put(l);
  kube_leader_elector_free(b.e);
  h_free(&h);
}

static void test_renew_failure(void **state) {
  struct h h;
  h_init(&h);
  struct cand a;
  cand_new(&h, &a, "a");
  h_until(&h, leading, &a);
  /* Every write fails from now on: no renewal within the deadline. */
  kt_fake_fail(h.f, "PUT", LEASES, 0);
  kt_fake_fail(h.f, "GET", LEASES, 0);
  h_until(&h, lost, &a);
  assert_false(kube_leader_elector_is_leader(a.e));
  kube_leader_elector_free(a.e);
  h_free(&h);
}

static void test_bad_options(void **state) {
  struct h h;
  h_init(&h);
  kube_error_t err = KUBE_ERROR_INIT;
  kube_leader_elector_options_t o = {.struct_size = sizeof o};
  assert_null(kube_leader_elector_new(h.loop, &h.tp, &o, NULL, NULL, &err));
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  o.lease_name = "x";
  o.lease_duration_ms = 5000;
  o.renew_deadline_ms = 6000;
  assert_null(kube_leader_elector_new(h.loop, &h.tp, &o, NULL, NULL, &err));
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  h_free(&h);
}

/* --controllers as kube-controller-manager reads it. */
static void test_controller_names(void **state) {
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_controller_manager_check("*", &err), 0);
  assert_int_equal(kube_controller_manager_check("*,-nodelifecycle", &err), 0);
  assert_int_equal(
      kube_controller_manager_check("replicaset-controller,deployment", &err),
      0);
  assert_int_equal(kube_controller_manager_check("*,-bogus", &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  assert_non_null(strstr(err.message, "\"bogus\""));
  kube_error_clear(&err);
  struct h h;
  h_init(&h);
  kube_controller_manager_options_t o = {.struct_size = sizeof o,
                                         .controllers = "*,-deployment"};
  kube_controller_manager_t *m =
      kube_controller_manager_new(h.loop, &h.tp, &o, &err);
  assert_non_null(m);
  bool rs = false, dep = false, boot = false;
  for (const char *const *n = kube_controller_manager_enabled(m); *n; n++) {
    rs = rs || streq(*n, "replicaset-controller");
    dep = dep || streq(*n, "deployment-controller");
    boot = boot || streq(*n, "bootstrap-signer-controller");
  }
  assert_true(rs);
  assert_false(dep);
  assert_false(boot); /* off by default */
  kube_controller_manager_free(m);
  o.controllers = "bootstrapsigner";
  m = kube_controller_manager_new(h.loop, &h.tp, &o, &err);
  assert_string_equal(kube_controller_manager_enabled(m)[0],
                      "bootstrap-signer-controller");
  assert_null(kube_controller_manager_enabled(m)[1]);
  kube_controller_manager_free(m);
  h_free(&h);
}

static bool manager_running(void *arg) {
  return kube_controller_manager_running(arg);
}

static bool released(void *arg) {
  struct h *h = arg;
  json_object *l;
  const char *id = holder(h, &l);
  bool r = id && !*id;
  json_object_put(l);
  return r;
}

/* The manager behind the election: controllers only while leading. */
static void test_manager_elected(void **state) {
  struct h h;
  h_init(&h);
  kube_error_t err = KUBE_ERROR_INIT;
  kube_controller_manager_options_t o = {
      .struct_size = sizeof o,
      .controllers = "replicaset",
      .leader_elect = true,
      .leader_identity = "me",
      .lease_duration_ms = 1000,
      .renew_deadline_ms = 600,
      .retry_period_ms = 200,
  };
  lease_name = "kube-controller-manager"; /* the default */
  h.m = kube_controller_manager_new(h.loop, &h.tp, &o, &err);
  assert_non_null(h.m);
  assert_false(kube_controller_manager_running(h.m));
  assert_int_equal(kube_controller_manager_start(h.m, &err), 0);
  h_until(&h, manager_running, h.m);
  assert_non_null(kube_controller_manager_elector(h.m));
  json_object *l;
  assert_string_equal(holder(&h, &l), "me");
  json_object_put(l);
  kube_controller_manager_stop(h.m, NULL, NULL);
  assert_false(kube_controller_manager_running(h.m));
  h_until(&h, released, &h);
  lease_name = "test-lease";
  h_free(&h);
}

int run_leader_tests(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_acquire_and_release),
      cmocka_unit_test(test_takeover_after_expiry),
      cmocka_unit_test(test_renew_failure),
      cmocka_unit_test(test_bad_options),
      cmocka_unit_test(test_controller_names),
      cmocka_unit_test(test_manager_elected),
  };
  return cmocka_run_group_tests_name("controller-leader", tests, NULL, NULL);
}
