/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pure part of probes and hooks (src/node/probe-state.c): reading
 * probes and handlers from container specs (defaults, named ports, paths,
 * headers, what is refused), the kubelet's threshold state machine
 * (initial results per type, success and failure runs, the hold after a
 * liveness or startup failure, errors thrown away), when a probe may run
 * (initialDelaySeconds, startup gating, deletion, a finished pod), and the
 * kubelet's hook failure message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/agent.h"

static json_object *parse(const char *s) {
  json_object *o = json_tokener_parse(s);
  assert_non_null(o);
  return o;
}

static const char *ctr_json =
    "{\"name\":\"c\",\"ports\":[{\"name\":\"http\",\"containerPort\":8080},"
    "{\"name\":\"grpc\",\"containerPort\":9090}]}";

static void test_spec_defaults(void **state) {
  json_object *ctr = parse(ctr_json);
  json_object *probe =
      parse("{\"httpGet\":{\"path\":\"healthz\",\"port\":\"http\","
            "\"httpHeaders\":[{\"name\":\"X-A\",\"value\":\"1\"}]}}");
  struct nd_probe_spec s;
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(nd_probe_spec_parse(probe, ctr, &s, &err), 0);
  assert_int_equal(s.h.kind, ND_H_HTTP);
  assert_int_equal(s.h.port, 8080); /* the named port */
  assert_string_equal(s.h.path, "/healthz");
  assert_string_equal(s.h.scheme, "HTTP");
  assert_null(s.h.host);
  assert_int_equal(s.h.n_headers, 2);
  assert_string_equal(s.h.headers[0], "X-A");
  assert_string_equal(s.h.headers[1], "1");
  assert_int_equal(s.initial_delay_s, 0);
  assert_int_equal(s.period_s, 10);
  assert_int_equal(s.timeout_s, 1);
  assert_int_equal(s.success_threshold, 1);
  assert_int_equal(s.failure_threshold, 3);
  assert_int_equal(s.grace_s, -1);
  nd_probe_spec_clear(&s);
  json_object_put(probe);

  probe = parse("{\"tcpSocket\":{\"port\":\"nope\"},\"periodSeconds\":2,"
                "\"timeoutSeconds\":5,\"successThreshold\":1,"
                "\"failureThreshold\":7,\"initialDelaySeconds\":4,"
                "\"terminationGracePeriodSeconds\":9}");
  assert_int_equal(nd_probe_spec_parse(probe, ctr, &s, &err), 0);
  assert_int_equal(s.h.kind, ND_H_TCP);
  assert_non_null(s.h.port_error); /* resolved at parse, reported per run */
  assert_non_null(strstr(s.h.port_error, "couldn't find port: nope"));
  assert_int_equal(s.period_s, 2);
  assert_int_equal(s.timeout_s, 5);
  assert_int_equal(s.failure_threshold, 7);
  assert_int_equal(s.initial_delay_s, 4);
  assert_int_equal(s.grace_s, 9);
  nd_probe_spec_clear(&s);
  json_object_put(probe);

  probe = parse("{\"grpc\":{\"port\":9090}}");
  assert_int_equal(nd_probe_spec_parse(probe, ctr, &s, &err), 0);
  assert_int_equal(s.h.kind, ND_H_GRPC);
  assert_string_equal(s.h.service, "");
  assert_int_equal(s.h.port, 9090);
  nd_probe_spec_clear(&s);
  json_object_put(probe);

  probe = parse("{\"exec\":{\"command\":[\"cat\",\"/tmp/x\"]}}");
  assert_int_equal(nd_probe_spec_parse(probe, ctr, &s, &err), 0);
  assert_int_equal(s.h.kind, ND_H_EXEC);
  assert_int_equal(s.h.n_command, 2);
  struct nd_handler copy;
  assert_int_equal(nd_handler_copy(&copy, &s.h), 0);
  assert_string_equal(copy.command[1], "/tmp/x");
  nd_handler_clear(&copy);
  nd_probe_spec_clear(&s);
  json_object_put(probe);
  json_object_put(ctr);
}

static void test_spec_refused(void **state) {
  json_object *ctr = parse(ctr_json);
  const char *bad[] = {
      "{}",                                            /* no handler */
      "{\"sleep\":{\"seconds\":1}}",                   /* probes cannot */
      "{\"exec\":{\"command\":[]}}",                   /* no command */
      "{\"httpGet\":{\"port\":80,\"scheme\":\"FTP\"}}" /* scheme */
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    json_object *probe = parse(bad[i]);
    struct nd_probe_spec s;
    kube_error_t err = KUBE_ERROR_INIT;
    assert_int_equal(nd_probe_spec_parse(probe, ctr, &s, &err), -1);
    assert_non_null(err.message);
    kube_error_clear(&err);
    json_object_put(probe);
  }
  /* hooks may sleep */
  json_object *hook = parse("{\"sleep\":{\"seconds\":3}}");
  struct nd_handler h;
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(nd_handler_parse(hook, ctr, &h, &err), 0);
  assert_int_equal(h.kind, ND_H_SLEEP);
  assert_int_equal(h.sleep_s, 3);
  nd_handler_clear(&h);
  json_object_put(hook);
  json_object_put(ctr);
}

static struct nd_probe_spec spec_of(int success, int failure) {
  struct nd_probe_spec s;
  memset(&s, 0, sizeof s);
  s.period_s = 1;
  s.timeout_s = 1;
  s.success_threshold = success;
  s.failure_threshold = failure;
  s.grace_s = -1;
  return s;
}

static void test_thresholds(void **state) {
  struct nd_probe_state st;
  struct nd_probe_spec sp = spec_of(2, 3);
  /* initial results: readiness Failure, liveness Success, startup Unknown */
  nd_probe_state_reset(&st, ND_PROBE_READINESS);
  assert_int_equal(st.result, ND_PR_FAILURE);
  nd_probe_state_reset(&st, ND_PROBE_LIVENESS);
  assert_int_equal(st.result, ND_PR_SUCCESS);
  nd_probe_state_reset(&st, ND_PROBE_STARTUP);
  assert_int_equal(st.result, ND_PR_UNKNOWN);

  /* readiness: two successes make it ready, three failures unready */
  nd_probe_state_reset(&st, ND_PROBE_READINESS);
  assert_false(
      nd_probe_state_apply(&st, ND_PROBE_READINESS, &sp, ND_PR_SUCCESS));
  assert_int_equal(st.result, ND_PR_FAILURE);
  assert_true(
      nd_probe_state_apply(&st, ND_PROBE_READINESS, &sp, ND_PR_SUCCESS));
  assert_int_equal(st.result, ND_PR_SUCCESS);
  assert_false(
      nd_probe_state_apply(&st, ND_PROBE_READINESS, &sp, ND_PR_FAILURE));
  /* a success in between starts the failure run over */
  assert_false(
      nd_probe_state_apply(&st, ND_PROBE_READINESS, &sp, ND_PR_SUCCESS));
  assert_false(
      nd_probe_state_apply(&st, ND_PROBE_READINESS, &sp, ND_PR_FAILURE));
  assert_false(
      nd_probe_state_apply(&st, ND_PROBE_READINESS, &sp, ND_PR_FAILURE));
  assert_int_equal(st.result, ND_PR_SUCCESS);
  assert_true(
      nd_probe_state_apply(&st, ND_PROBE_READINESS, &sp, ND_PR_FAILURE));
  assert_int_equal(st.result, ND_PR_FAILURE);
  assert_false(st.on_hold); /* readiness never holds */
  /* errors are thrown away; a warning counts as a success */
  int run = st.run;
  assert_false(
      nd_probe_state_apply(&st, ND_PROBE_READINESS, &sp, ND_PR_UNKNOWN));
  assert_int_equal(st.run, run);
  struct nd_probe_spec one = spec_of(1, 1);
  assert_true(
      nd_probe_state_apply(&st, ND_PROBE_READINESS, &one, ND_PR_WARNING));
  assert_int_equal(st.result, ND_PR_SUCCESS);

  /* liveness: the failure threshold puts the probe on hold */
  nd_probe_state_reset(&st, ND_PROBE_LIVENESS);
  struct nd_probe_spec lv = spec_of(1, 2);
  assert_false(
      nd_probe_state_apply(&st, ND_PROBE_LIVENESS, &lv, ND_PR_FAILURE));
  assert_int_equal(st.result, ND_PR_SUCCESS);
  assert_true(nd_probe_state_apply(&st, ND_PROBE_LIVENESS, &lv, ND_PR_FAILURE));
  assert_int_equal(st.result, ND_PR_FAILURE);
  assert_true(st.on_hold);
  assert_int_equal(st.run, 0);
}

static void test_steps(void **state) {
  struct nd_probe_state st;
  struct nd_probe_spec sp = spec_of(1, 3);
  sp.period_s = 5;
  sp.initial_delay_s = 10;
  int64_t wait;
  struct nd_probe_view v = {.has_instance = true,
                            .running = true,
                            .started = true,
                            .running_for_ms = 4000};
  /* initialDelaySeconds: wait what is left of it */
  nd_probe_state_reset(&st, ND_PROBE_READINESS);
  assert_int_equal(nd_probe_step(ND_PROBE_READINESS, &st, &sp, &v, &wait),
                   ND_STEP_WAIT);
  assert_int_equal(wait, 6000);
  v.running_for_ms = 10000;
  assert_int_equal(nd_probe_step(ND_PROBE_READINESS, &st, &sp, &v, &wait),
                   ND_STEP_RUN);
  assert_int_equal(wait, 5000);
  /* started: the startup probe rests; not started: only it runs */
  assert_int_equal(nd_probe_step(ND_PROBE_STARTUP, &st, &sp, &v, &wait),
                   ND_STEP_WAIT);
  v.started = false;
  assert_int_equal(nd_probe_step(ND_PROBE_STARTUP, &st, &sp, &v, &wait),
                   ND_STEP_RUN);
  assert_int_equal(nd_probe_step(ND_PROBE_LIVENESS, &st, &sp, &v, &wait),
                   ND_STEP_WAIT);
  assert_int_equal(nd_probe_step(ND_PROBE_READINESS, &st, &sp, &v, &wait),
                   ND_STEP_WAIT);
  /* deletion: liveness and startup stop as a success; readiness goes on */
  v.started = true;
  v.deleting = true;
  nd_probe_state_reset(&st, ND_PROBE_LIVENESS);
  st.result = ND_PR_FAILURE;
  assert_int_equal(nd_probe_step(ND_PROBE_LIVENESS, &st, &sp, &v, &wait),
                   ND_STEP_STOP);
  assert_int_equal(st.result, ND_PR_SUCCESS);
  nd_probe_state_reset(&st, ND_PROBE_READINESS);
  assert_int_equal(nd_probe_step(ND_PROBE_READINESS, &st, &sp, &v, &wait),
                   ND_STEP_RUN);
  /* a container that stopped is not ready */
  v.deleting = false;
  v.running = false;
  st.result = ND_PR_SUCCESS;
  assert_int_equal(nd_probe_step(ND_PROBE_READINESS, &st, &sp, &v, &wait),
                   ND_STEP_WAIT);
  assert_int_equal(st.result, ND_PR_FAILURE);
  /* on hold: nothing runs until a new instance resets the state */
  v.running = true;
  nd_probe_state_reset(&st, ND_PROBE_LIVENESS);
  st.on_hold = true;
  assert_int_equal(nd_probe_step(ND_PROBE_LIVENESS, &st, &sp, &v, &wait),
                   ND_STEP_WAIT);
  /* a finished pod: stop */
  v.terminal = true;
  assert_int_equal(nd_probe_step(ND_PROBE_READINESS, &st, &sp, &v, &wait),
                   ND_STEP_STOP);
}

static void test_hook_message(void **state) {
  json_object *ctr = parse(ctr_json);
  json_object *hook =
      parse("{\"exec\":{\"command\":[\"sh\",\"-c\",\"exit 1\"]}}");
  struct nd_handler h;
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(nd_handler_parse(hook, ctr, &h, &err), 0);
  struct nd_outcome o = {.result = ND_PR_FAILURE,
                         .output = strdup("oops\n"),
                         .error = strdup("command 'sh -c exit 1' exited "
                                         "with 1: ")};
  char *msg = nd_hook_message(&h, "c", "p_default(u1)", &o);
  assert_string_equal(msg, "Exec lifecycle hook ([sh -c exit 1]) for "
                           "Container \"c\" in Pod \"p_default(u1)\" "
                           "failed - error: command 'sh -c exit 1' exited "
                           "with 1: , message: \"oops\n\"");
  free(msg);
  nd_outcome_clear(&o);
  nd_handler_clear(&h);
  json_object_put(hook);
  hook = parse("{\"httpGet\":{\"path\":\"/x\",\"port\":80}}");
  assert_int_equal(nd_handler_parse(hook, ctr, &h, &err), 0);
  o.error = strdup("Get \"http://10.0.0.1:80/x\": dial tcp 10.0.0.1:80: "
                   "connect: connection refused");
  msg = nd_hook_message(&h, "c", "p_default(u1)", &o);
  assert_string_equal(msg,
                      "HTTP lifecycle hook (/x) for Container \"c\" in Pod "
                      "\"p_default(u1)\" failed - error: Get "
                      "\"http://10.0.0.1:80/x\": dial tcp 10.0.0.1:80: "
                      "connect: connection refused");
  free(msg);
  nd_outcome_clear(&o);
  nd_handler_clear(&h);
  json_object_put(hook);
  json_object_put(ctr);
  assert_string_equal(nd_probe_type_name(ND_PROBE_LIVENESS), "Liveness");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spec_defaults), cmocka_unit_test(test_spec_refused),
      cmocka_unit_test(test_thresholds),    cmocka_unit_test(test_steps),
      cmocka_unit_test(test_hook_message),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
