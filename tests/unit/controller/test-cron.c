/* SPDX-License-Identifier: Apache-2.0 */
/* Cron schedules (fields, names, ranges, steps, macros, time zones, bad
 * input) and the CronJob controller on the fake: a Job per scheduled
 * time, named by it and never twice, Forbid, history limits, suspend. */
#include "api/cron.h"
#include "test-controller.h"

#define JOBS "/apis/batch/v1/namespaces/default/jobs"

/* 2026-03-02 10:07:30 UTC, a Monday. */
static const int64_t T0 = 1772446050;

static int64_t next_of(const char *spec, const char *tz, int64_t after) {
  kube_error_t err = KUBE_ERROR_INIT;
  api_cron_t *c = api_cron_parse(spec, tz, &err);
  if (!c)
    fail_msg("%s: %s", spec, err.message);
  int64_t t = api_cron_next(c, after);
  api_cron_free(c);
  return t;
}

static void test_cron_next(void **state) {
  /* every minute: the next whole minute */
  assert_int_equal(next_of("* * * * *", NULL, T0), T0 + 30);
  /* steps and ranges: 10:10 */
  assert_int_equal(next_of("*/5 * * * *", NULL, T0), T0 + 150);
  assert_int_equal(next_of("0-59/20 * * * *", NULL, T0), T0 + 750);
  /* lists: minute 8 */
  assert_int_equal(next_of("3,8,50 * * * *", NULL, T0), T0 + 30);
  /* @hourly: 11:00 */
  assert_int_equal(next_of("@hourly", NULL, T0), T0 + 52 * 60 + 30);
  /* @daily: tomorrow 00:00 */
  assert_int_equal(next_of("@daily", NULL, T0),
                   T0 - (10 * 3600 + 7 * 60 + 30) + 86400);
  /* names: Wednesday 09:00 (two days on) */
  assert_int_equal(next_of("0 9 * * wed", NULL, T0),
                   T0 - (10 * 3600 + 7 * 60 + 30) + 2 * 86400 + 9 * 3600);
  /* months by name: 1 April 00:00 */
  assert_int_equal(next_of("0 0 1 apr *", NULL, T0), 1775001600);
  /* day of month or day of week when both are restricted: the 3rd
   * (Tuesday) comes before a Sunday */
  assert_int_equal(next_of("0 0 3 * sun", NULL, T0), 1772496000);
  /* a time zone: 09:00 in Paris (UTC+1 in March before the change) */
  assert_int_equal(next_of("0 9 * * *", "Europe/Paris", T0),
                   1772496000 + 8 * 3600);
  assert_int_equal(next_of("CRON_TZ=Europe/Paris 0 9 * * *", NULL, T0),
                   1772496000 + 8 * 3600);
  /* Feb 30 never comes */
  assert_int_equal(next_of("0 0 30 2 *", NULL, T0), -1);
}

static void test_cron_bad(void **state) {
  static const char *const bad[] = {
      "* * * *",   "* * * * * *", "61 * * * *", "* 24 * * *",
      "* * 0 * *", "* * * 13 *",  "* * * * 8",  "*/0 * * * *",
      "a * * * *", "5-1 * * * *", "@every 5m",  "* * * foo *",
      "",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    kube_error_t err = KUBE_ERROR_INIT;
    api_cron_t *c = api_cron_parse(bad[i], NULL, &err);
    if (c)
      fail_msg("accepted \"%s\"", bad[i]);
    assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
    kube_error_clear(&err);
  }
  kube_error_t err = KUBE_ERROR_INIT;
  assert_null(api_cron_parse("* * * * *", "Mars/Olympus", &err));
  kube_error_clear(&err);
  assert_null(api_cron_parse("* * * * *", "../../etc/passwd", &err));
  kube_error_clear(&err);
}

static void add_cj(struct h *h, const char *name, const char *extra,
                   int64_t created) {
  char ts[40];
  time_t t = (time_t)created;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
  h_add(h,
        "{\"apiVersion\":\"batch/v1\",\"kind\":\"CronJob\",\"metadata\":{"
        "\"name\":\"%s\",\"namespace\":\"default\",\"uid\":\"uid-%s\","
        "\"creationTimestamp\":\"%s\"},\"spec\":{%s\"schedule\":\"* * * * *\","
        "\"jobTemplate\":{\"metadata\":{\"labels\":{\"from\":\"cron\"}},"
        "\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"Never\","
        "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}}}}",
        name, name, ts, extra ? extra : "");
}

static void test_cronjob_creates(void **state) {
  struct h h;
  h_init(&h);
  int64_t now = time(NULL);
  add_cj(&h, "tick", NULL, now - 150);
  h_start(&h, "cronjob");
  h_settle(&h);
  /* the most recent minute only (missed ones are not caught up) */
  assert_int_equal(h_count(&h, "POST", JOBS), 1);
  const kt_action_t *a = kt_fake_find(h.f, "POST", JOBS);
  json_object *job = json_tokener_parse(a->body);
  char want[64];
  snprintf(want, sizeof want, "tick-%lld", (long long)(now / 60));
  assert_string_equal(kube_json_get_string(job, "metadata.name"), want);
  assert_string_equal(
      kube_json_get_string(job, "metadata.ownerReferences.0.kind"), "CronJob");
  assert_string_equal(kube_json_get_string(job, "metadata.labels.from"),
                      "cron");
  json_object_put(job);
  json_object *cj = h_get(&h, "batch/v1", "CronJob", "default", "tick");
  assert_non_null(kube_json_get_string(cj, "status.lastScheduleTime"));
  assert_string_equal(kube_json_get_string(cj, "status.active.0.name"), want);
  json_object_put(cj);
  assert_true(h_events(&h, "SuccessfulCreate") >= 1);
  /* a resync creates nothing twice */
  kube_controller_enqueue(kube_controller_manager_controller(h.m, "cronjob"),
                          "default/tick", NULL);
  h_settle(&h);
  assert_int_equal(h_count(&h, "POST", JOBS), 1);
  h_free(&h);
}

static void add_job(struct h *h, const char *cj, const char *name,
                    const char *cond, const char *start) {
  char st[256] = "{}";
  if (cond)
    snprintf(st, sizeof st,
             "{\"startTime\":\"%s\",\"conditions\":[{\"type\":\"%s\","
             "\"status\":\"True\"}]}",
             start, cond);
  h_add(h,
        "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{"
        "\"name\":\"%s\",\"namespace\":\"default\",\"uid\":\"uid-%s\","
        "\"creationTimestamp\":\"%s\",\"ownerReferences\":[{\"apiVersion\":"
        "\"batch/v1\",\"kind\":\"CronJob\",\"name\":\"%s\",\"uid\":\"uid-%s\","
        "\"controller\":true}]},\"spec\":{\"template\":{\"spec\":{"
        "\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}},\"status\":%s}",
        name, name, start, cj, cj, st);
}

static void test_cronjob_forbid_history(void **state) {
  struct h h;
  h_init(&h);
  int64_t now = time(NULL);
  add_cj(&h, "f",
         "\"concurrencyPolicy\":\"Forbid\",\"successfulJobsHistoryLimit\":1,"
         "\"failedJobsHistoryLimit\":0,",
         now - 150);
  add_job(&h, "f", "f-running", NULL, "2026-01-01T00:00:00Z");
  add_job(&h, "f", "f-ok1", "Complete", "2026-01-01T00:00:00Z");
  add_job(&h, "f", "f-ok2", "Complete", "2026-01-02T00:00:00Z");
  add_job(&h, "f", "f-bad", "Failed", "2026-01-01T00:00:00Z");
  h_start(&h, "cronjob");
  h_settle(&h);
  /* Forbid: one runs, none created */
  assert_int_equal(h_count(&h, "POST", JOBS), 0);
  assert_true(h_events(&h, "JobAlreadyActive") >= 1);
  /* history: the older success and the failure go */
  assert_int_equal(h_count(&h, "DELETE", JOBS "/f-ok1"), 1);
  assert_int_equal(h_count(&h, "DELETE", JOBS "/f-bad"), 1);
  assert_int_equal(h_count(&h, "DELETE", JOBS "/f-ok2"), 0);
  json_object *cj = h_get(&h, "batch/v1", "CronJob", "default", "f");
  assert_string_equal(kube_json_get_string(cj, "status.active.0.name"),
                      "f-running");
  json_object_put(cj);
  h_free(&h);
}

static void test_cronjob_suspend(void **state) {
  struct h h;
  h_init(&h);
  add_cj(&h, "s", "\"suspend\":true,", time(NULL) - 150);
  h_start(&h, "cronjob");
  h_settle(&h);
  assert_int_equal(h_count(&h, "POST", JOBS), 0);
  h_free(&h);
}

int run_cron_tests(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cron_next),
      cmocka_unit_test(test_cron_bad),
      cmocka_unit_test(test_cronjob_creates),
      cmocka_unit_test(test_cronjob_forbid_history),
      cmocka_unit_test(test_cronjob_suspend),
  };
  return cmocka_run_group_tests_name("controller-cronjob", tests, NULL, NULL);
}
