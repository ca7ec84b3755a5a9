/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the core module: errors, strbuf, logging, time, UUIDs and
 * name validation here; quantities and selectors in their own files.
 */
#include "test-core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libkube/core.h>

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

static void test_error_set_wrap_clear(void **state) {
  kube_error_t err = KUBE_ERROR_INIT;
  assert_false(kube_error_is_set(&err));
  assert_int_equal(kube_error_set(&err, KUBE_REASON_NOT_FOUND, ENOENT,
                                  "pod %s not found", "x"),
                   -1);
  assert_true(kube_error_is_set(&err));
  assert_int_equal(err.reason, KUBE_REASON_NOT_FOUND);
  assert_int_equal(err.errnum, ENOENT);
  assert_string_equal(err.message, "pod x not found");
  assert_int_equal(kube_error_wrap(&err, "get %s", "pods"), -1);
  assert_string_equal(err.message, "get pods: pod x not found");
  assert_int_equal(err.reason, KUBE_REASON_NOT_FOUND);
  /* Setting again replaces the old error. */
  kube_error_set(&err, KUBE_REASON_CONFLICT, 0, "stale");
  assert_string_equal(err.message, "stale");
  assert_int_equal(err.reason, KUBE_REASON_CONFLICT);
  kube_error_clear(&err);
  assert_false(kube_error_is_set(&err));
  assert_null(err.message);
  kube_error_clear(NULL);
  /* A NULL err is allowed everywhere. */
  assert_int_equal(kube_error_set(NULL, KUBE_REASON_INTERNAL, 0, "x"), -1);
  assert_int_equal(kube_error_wrap(NULL, "x"), -1);
  assert_false(kube_error_is_set(NULL));
  /* Wrapping an empty error leaves it empty. */
  assert_int_equal(kube_error_wrap(&err, "ctx"), -1);
  assert_false(kube_error_is_set(&err));
}

static void test_error_causes_details_move(void **state) {
  kube_error_t err = KUBE_ERROR_INIT, dst = KUBE_ERROR_INIT;
  kube_error_set(&err, KUBE_REASON_INVALID, 0, "Pod \"x\" is invalid");
  kube_error_add_cause(&err, "spec.containers[0].image", "FieldValueRequired",
                       "Required value");
  kube_error_add_cause(&err, "metadata.name", "FieldValueInvalid", NULL);
  kube_error_set_details(&err, "pods", "x");
  assert_int_equal(err.n_causes, 2);
  assert_string_equal(err.causes[0].field, "spec.containers[0].image");
  assert_string_equal(err.causes[0].type, "FieldValueRequired");
  assert_string_equal(err.causes[0].message, "Required value");
  assert_null(err.causes[1].message);
  assert_string_equal(err.details_kind, "pods");
  assert_string_equal(err.details_name, "x");
  kube_error_set(&dst, KUBE_REASON_INTERNAL, 0, "old");
  kube_error_move(&dst, &err);
  assert_false(kube_error_is_set(&err));
  assert_int_equal(err.n_causes, 0);
  assert_int_equal(dst.reason, KUBE_REASON_INVALID);
  assert_int_equal(dst.n_causes, 2);
  assert_string_equal(dst.details_name, "x");
  kube_error_clear(&dst);
  assert_int_equal(dst.n_causes, 0);
  assert_null(dst.details_kind);
}

static void test_reasons(void **state) {
  static const struct {
    kube_reason_t reason;
    const char *name;
    int code;
  } table[] = {
      {KUBE_REASON_UNKNOWN, "", 500},
      {KUBE_REASON_BAD_REQUEST, "BadRequest", 400},
      {KUBE_REASON_UNAUTHORIZED, "Unauthorized", 401},
      {KUBE_REASON_FORBIDDEN, "Forbidden", 403},
      {KUBE_REASON_NOT_FOUND, "NotFound", 404},
      {KUBE_REASON_METHOD_NOT_ALLOWED, "MethodNotAllowed", 405},
      {KUBE_REASON_NOT_ACCEPTABLE, "NotAcceptable", 406},
      {KUBE_REASON_ALREADY_EXISTS, "AlreadyExists", 409},
      {KUBE_REASON_CONFLICT, "Conflict", 409},
      {KUBE_REASON_GONE, "Gone", 410},
      {KUBE_REASON_EXPIRED, "Expired", 410},
      {KUBE_REASON_TOO_LARGE, "RequestEntityTooLarge", 413},
      {KUBE_REASON_UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType", 415},
      {KUBE_REASON_INVALID, "Invalid", 422},
      {KUBE_REASON_TOO_MANY_REQUESTS, "TooManyRequests", 429},
      {KUBE_REASON_INTERNAL, "InternalError", 500},
      {KUBE_REASON_SERVICE_UNAVAILABLE, "ServiceUnavailable", 503},
      {KUBE_REASON_TIMEOUT, "Timeout", 504},
  };
  assert_int_equal(sizeof table / sizeof table[0], KUBE_REASON__COUNT);
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    assert_string_equal(kube_reason_string(table[i].reason), table[i].name);
    assert_int_equal(kube_reason_http_code(table[i].reason), table[i].code);
    assert_int_equal(kube_reason_from_string(table[i].name), table[i].reason);
  }
  assert_int_equal(kube_reason_from_string("NoSuchReason"),
                   KUBE_REASON_UNKNOWN);
  assert_int_equal(kube_reason_from_string(NULL), KUBE_REASON_UNKNOWN);
  assert_string_equal(kube_reason_string((kube_reason_t)999), "");
  assert_int_equal(kube_reason_http_code((kube_reason_t)999), 500);
  assert_int_equal(kube_reason_from_http_code(404), KUBE_REASON_NOT_FOUND);
  assert_int_equal(kube_reason_from_http_code(409), KUBE_REASON_CONFLICT);
  assert_int_equal(kube_reason_from_http_code(422), KUBE_REASON_INVALID);
  assert_int_equal(kube_reason_from_http_code(502), KUBE_REASON_INTERNAL);
  assert_int_equal(kube_reason_from_http_code(418), KUBE_REASON_UNKNOWN);
}

/* ------------------------------------------------------------------------ */
/* Strings                                                                   */
/* ------------------------------------------------------------------------ */

static void test_strbuf(void **state) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  char *s = kube_strbuf_steal(&sb);
  assert_non_null(s);
  assert_string_equal(s, "");
  free(s);
  kube_strbuf_append(&sb, "hello");
  kube_strbuf_append_char(&sb, ' ');
  kube_strbuf_append_len(&sb, "world!!", 5);
  kube_strbuf_printf(&sb, " %d-%s", 42, "x");
  assert_string_equal(sb.data, "hello world 42-x");
  assert_int_equal(sb.len, strlen("hello world 42-x"));
  kube_strbuf_reset(&sb);
  assert_int_equal(sb.len, 0);
  assert_string_equal(sb.data, "");
  /* Growth well past the first allocation. */
  for (int i = 0; i < 1000; i++)
    kube_strbuf_printf(&sb, "%04d", i);
  assert_int_equal(sb.len, 4000);
  assert_memory_equal(sb.data + 3996, "0999", 4);
  assert_false(sb.oom);
  kube_strbuf_reset(&sb);
  kube_strbuf_append_json_string(&sb, "a\"b\\c\n\t\x01\x1f/é");
  assert_string_equal(sb.data, "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f/é\"");
  s = kube_strbuf_steal(&sb);
  assert_null(sb.data);
  assert_int_equal(sb.len, 0);
  assert_string_equal(s, "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f/é\"");
  free(s);
  kube_strbuf_append(&sb, "x");
  kube_strbuf_clear(&sb);
  assert_null(sb.data);
  assert_int_equal(sb.cap, 0);
}

/* ------------------------------------------------------------------------ */
/* Logging                                                                   */
/* ------------------------------------------------------------------------ */

struct captured {
  int calls;
  kube_log_level_t level;
  char msg[256];
};

static void capture_handler(kube_log_level_t level, const char *msg,
                            void *userdata) {
  struct captured *c = userdata;
  c->calls++;
  c->level = level;
  snprintf(c->msg, sizeof c->msg, "%s", msg);
}

static void test_log_handler_and_level(void **state) {
  struct captured c = {0};
  kube_log_level_t saved = kube_log_get_level();
  kube_log_set_handler(capture_handler, &c);
  kube_log_set_level(KUBE_LOG_INFO);
  kube_log(KUBE_LOG_INFO, "started %d workers", 3);
  assert_int_equal(c.calls, 1);
  assert_int_equal(c.level, KUBE_LOG_INFO);
  assert_string_equal(c.msg, "started 3 workers");
  kube_log(KUBE_LOG_DEBUG, "dropped");
  assert_int_equal(c.calls, 1);
  kube_log(KUBE_LOG_ERROR, "bad %s", "thing");
  assert_int_equal(c.calls, 2);
  assert_int_equal(c.level, KUBE_LOG_ERROR);
  kube_log_set_level(KUBE_LOG_DEBUG);
  assert_int_equal(kube_log_get_level(), KUBE_LOG_DEBUG);
  kube_log(KUBE_LOG_DEBUG, "kept");
  assert_int_equal(c.calls, 3);
  assert_string_equal(c.msg, "kept");
  kube_log_set_level(KUBE_LOG_ERROR);
  kube_log(KUBE_LOG_WARNING, "dropped too");
  assert_int_equal(c.calls, 3);
  kube_log_set_handler(NULL, NULL);
  kube_log_set_level(saved);
}

/* The default handler writes "<RFC 3339 with millis>Z <LEVEL> <msg>\n" to
 * stderr in one write; capture it through a pipe. */
static void test_log_default_handler(void **state) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  int saved_fd = dup(STDERR_FILENO);
  assert_true(saved_fd >= 0);
  kube_log_level_t saved = kube_log_get_level();
  kube_log_set_handler(NULL, NULL);
  kube_log_set_level(KUBE_LOG_INFO);
  assert_int_equal(dup2(fds[1], STDERR_FILENO), STDERR_FILENO);
  kube_log(KUBE_LOG_WARNING, "disk %d%% full", 93);
  kube_log(KUBE_LOG_DEBUG, "not shown");
  assert_int_equal(dup2(saved_fd, STDERR_FILENO), STDERR_FILENO);
  close(saved_fd);
  close(fds[1]);
  char line[256] = {0};
  ssize_t n = read(fds[0], line, sizeof line - 1);
  close(fds[0]);
  kube_log_set_level(saved);
  assert_true(n > 0);
  /* 2026-11-27T05:26:16.123Z WARNING disk 93% full */
  assert_int_equal(line[4], '-');
  assert_int_equal(line[10], 'T');
  assert_int_equal(line[19], '.');
  assert_int_equal(line[23], 'Z');
  assert_string_equal(line + 24, " WARNING disk 93% full\n");
  char stamp[32];
  memcpy(stamp, line, 24);
  stamp[24] = '\0';
  struct timespec ts;
  assert_int_equal(kube_time_parse(stamp, &ts, NULL), 0);
  assert_true(labs((long)(ts.tv_sec - time(NULL))) < 60);
}

static void test_log_level_parse(void **state) {
  assert_int_equal(kube_log_level_parse("error"), KUBE_LOG_ERROR);
  assert_int_equal(kube_log_level_parse("WARNING"), KUBE_LOG_WARNING);
  assert_int_equal(kube_log_level_parse("warn"), KUBE_LOG_WARNING);
  assert_int_equal(kube_log_level_parse("info"), KUBE_LOG_INFO);
  assert_int_equal(kube_log_level_parse("debug"), KUBE_LOG_DEBUG);
  assert_int_equal(kube_log_level_parse("2"), KUBE_LOG_INFO);
  assert_int_equal(kube_log_level_parse("4"), -1);
  assert_int_equal(kube_log_level_parse("verbose"), -1);
  assert_int_equal(kube_log_level_parse(NULL), -1);
}

/* ------------------------------------------------------------------------ */
/* Time                                                                      */
/* ------------------------------------------------------------------------ */

static void test_time_format(void **state) {
  char buf[64];
  assert_string_equal(kube_time_format(0, buf, sizeof buf),
                      "1970-01-01T00:00:00Z");
  assert_string_equal(kube_time_format(1795757176, buf, sizeof buf),
                      "2026-11-27T05:26:16Z");
  assert_string_equal(kube_time_format(1709164800, buf, 21),
                      "2024-02-29T00:00:00Z");
  assert_int_equal(strlen(buf), 20);
  struct timespec ts = {1795757176, 123456789};
  assert_string_equal(kube_time_format_micro(&ts, buf, 28),
                      "2026-11-27T05:26:16.123456Z");
  ts.tv_nsec = 0;
  assert_string_equal(kube_time_format_micro(&ts, buf, sizeof buf),
                      "2026-11-27T05:26:16.000000Z");
  /* The second's text is kept for the next call: the same second again,
   * cut short, then another second and back. */
  assert_string_equal(kube_time_format(1795757176, buf, 11), "2026-11-27");
  ts.tv_nsec = 999999999;
  assert_string_equal(kube_time_format_micro(&ts, buf, 25),
                      "2026-11-27T05:26:16.9999");
  assert_string_equal(kube_time_format(1795757177, buf, sizeof buf),
                      "2026-11-27T05:26:17Z");
  ts.tv_nsec = 1000;
  assert_string_equal(kube_time_format_micro(&ts, buf, sizeof buf),
                      "2026-11-27T05:26:16.000001Z");
}

static void test_time_parse(void **state) {
  static const struct {
    const char *in;
    time_t sec;
    long nsec;
  } ok[] = {
      {"1970-01-01T00:00:00Z", 0, 0},
      {"2026-11-27T05:26:16Z", 1795757176, 0},
      {"2026-11-27T06:26:16+01:00", 1795757176, 0},
      {"2026-11-26T23:56:16-05:30", 1795757176, 0},
      {"2026-11-27T05:26:16+00:00", 1795757176, 0},
      {"2026-11-27T05:26:16.5Z", 1795757176, 500000000},
      {"2026-11-27T05:26:16.123456Z", 1795757176, 123456000},
      {"2026-11-27T05:26:16.123456789123Z", 1795757176, 123456789},
      {"2026-11-27T07:26:16.000001+02:00", 1795757176, 1000},
      {"2024-02-29T00:00:00Z", 1709164800, 0},
      {"1969-12-31T23:59:59Z", -1, 0},
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    struct timespec ts = {0};
    kube_error_t err = KUBE_ERROR_INIT;
    if (kube_time_parse(ok[i].in, &ts, &err) < 0)
      fail_msg("%s: %s", ok[i].in, err.message);
    assert_int_equal(ts.tv_sec, ok[i].sec);
    assert_int_equal(ts.tv_nsec, ok[i].nsec);
  }
  static const char *const bad[] = {
      "",
      "2026-11-27",
      "2026-11-27T05:26:16",
      "2026-11-27 05:26:16Z",
      "2026-11-27t05:26:16Z",
      "2026-11-27T05:26:16z",
      "2026-11-27T05:26:16.Z",
      "2026-11-27T05:26:16+0100",
      "2026-11-27T05:26:16+01",
      "2026-11-27T05:26:16Zjunk",
      "2026-1-27T05:26:16Z",
      "2026-13-01T00:00:00Z",
      "2026-00-01T00:00:00Z",
      "2023-02-29T00:00:00Z",
      "2026-04-31T00:00:00Z",
      "2026-11-27T24:00:00Z",
      "2026-11-27T05:60:00Z",
      "2026-11-27T05:26:60Z",
      "2026-11-27T05:26:16+24:00",
      " 2026-11-27T05:26:16Z",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct timespec ts = {7, 7};
    kube_error_t err = KUBE_ERROR_INIT;
    if (kube_time_parse(bad[i], &ts, &err) == 0)
      fail_msg("\"%s\" parsed", bad[i]);
    assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
    assert_non_null(strstr(err.message, "RFC 3339"));
    assert_int_equal(ts.tv_sec, 7);
    kube_error_clear(&err);
  }
  assert_int_equal(kube_time_parse(NULL, NULL, NULL), -1);
  /* Round trip through both formats. */
  char buf[64];
  struct timespec in = {1795757176, 987654000}, out;
  assert_int_equal(
      kube_time_parse(kube_time_format_micro(&in, buf, sizeof buf), &out, NULL),
      0);
  assert_int_equal(out.tv_sec, in.tv_sec);
  assert_int_equal(out.tv_nsec, in.tv_nsec);
  assert_int_equal(
      kube_time_parse(kube_time_format(in.tv_sec, buf, sizeof buf), &out, NULL),
      0);
  assert_int_equal(out.tv_sec, in.tv_sec);
  assert_int_equal(out.tv_nsec, 0);
}

static void test_time_age(void **state) {
  /* duration_test.go of apimachinery plus the boundaries of each branch. */
  static const struct {
    int64_t secs;
    const char *want;
  } table[] = {
      {-5, "<invalid>"},
      {-2, "<invalid>"},
      {-1, "0s"},
      {0, "0s"},
      {1, "1s"},
      {5, "5s"},
      {70, "70s"},
      {119, "119s"},
      {120, "2m"},
      {190, "3m10s"},
      {200, "3m20s"},
      {599, "9m59s"},
      {600, "10m"},
      {70 * 60, "70m"},
      {3 * 3600 - 1, "179m"},
      {3 * 3600, "3h"},
      {3 * 3600 + 30 * 60, "3h30m"},
      {8 * 3600 - 1, "7h59m"},
      {8 * 3600, "8h"},
      {47 * 3600, "47h"},
      {48 * 3600 - 1, "47h"},
      {48 * 3600, "2d"},
      {49 * 3600, "2d1h"},
      {52 * 3600, "2d4h"},
      {(8 * 24 + 2) * 3600, "8d"},
      {45 * 86400, "45d"},
      {367 * 86400, "367d"},
      {(365 * 2 * 24 + 25) * 3600ll, "2y1d"},
      {365 * 2 * 86400ll, "2y"},
      {(365 * 8 * 24 + 2) * 3600ll, "8y"},
      {365 * 100 * 86400ll, "100y"},
  };
  char buf[16];
  const time_t now = 1795757176;
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    kube_time_age(now - (time_t)table[i].secs, now, buf, sizeof buf);
    if (strcmp(buf, table[i].want) != 0)
      fail_msg("age of %lld s: got %s, want %s", (long long)table[i].secs, buf,
               table[i].want);
  }
}

static void test_time_mono(void **state) {
  int64_t a = kube_time_mono_ns();
  struct timespec d = {0, 1000000};
  nanosleep(&d, NULL);
  int64_t b = kube_time_mono_ns();
  assert_true(a > 0);
  assert_true(b - a >= 1000000);
}

/* ------------------------------------------------------------------------ */
/* UUIDs                                                                     */
/* ------------------------------------------------------------------------ */

static void check_uuid(const char *u) {
  assert_int_equal(strlen(u), 36);
  for (int i = 0; i < 36; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23)
      assert_int_equal(u[i], '-');
    else
      assert_non_null(strchr("0123456789abcdef", u[i]));
  }
  assert_int_equal(u[14], '4');
  assert_non_null(strchr("89ab", u[19]));
}

static void test_uuid(void **state) {
  char a[37], b[64], small[36];
  assert_ptr_equal(kube_uuid_generate(a, sizeof a), a);
  assert_ptr_equal(kube_uuid_generate(b, sizeof b), b);
  check_uuid(a);
  check_uuid(b);
  assert_string_not_equal(a, b);
  assert_null(kube_uuid_generate(small, sizeof small));
  assert_null(kube_uuid_generate(NULL, 64));
  /* 256 in a row, all distinct, with both variant nibble values seen. */
  static char many[256][37];
  bool seen_variant[4] = {false};
  for (int i = 0; i < 256; i++) {
    kube_uuid_generate(many[i], sizeof many[i]);
    check_uuid(many[i]);
    seen_variant[strchr("89ab", many[i][19]) - "89ab"] = true;
    for (int j = 0; j < i; j++)
      assert_string_not_equal(many[i], many[j]);
  }
  assert_true(seen_variant[0] || seen_variant[1] || seen_variant[2] ||
              seen_variant[3]);
}

/* ------------------------------------------------------------------------ */
/* Validation                                                                */
/* ------------------------------------------------------------------------ */

#define DNS_LABEL_MSG                                                          \
  "a lowercase RFC 1123 label must consist of lower case alphanumeric "        \
  "characters or '-', and must start and end with an alphanumeric "            \
  "character (e.g. 'my-name',  or '123-abc', regex used for validation is "    \
  "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define DNS_SUBDOMAIN_MSG                                                      \
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "    \
  "characters, '-' or '.', and must start and end with an alphanumeric "       \
  "character (e.g. 'example.com', regex used for validation is "               \
  "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define QNAME_MSG                                                              \
  "must consist of alphanumeric characters, '-', '_' or '.', and must start "  \
  "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  "    \
  "or '123-abc', regex used for validation is "                                \
  "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define LABEL_VALUE_MSG                                                        \
  "a valid label must be an empty string or consist of alphanumeric "          \
  "characters, '-', '_' or '.', and must start and end with an alphanumeric "  \
  "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "    \
  "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

struct vcase {
  const char *in;
  const char *want; /* NULL: valid */
};

static void run_vcases(const char *(*fn)(const char *),
                       const struct vcase *cases, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const char *got = fn(cases[i].in);
    if (!cases[i].want && got)
      fail_msg("\"%s\" rejected: %s", cases[i].in, got);
    if (cases[i].want && (!got || strcmp(got, cases[i].want) != 0))
      fail_msg("\"%s\": got %s, want %s", cases[i].in, got ? got : "(valid)",
               cases[i].want);
  }
}

static char long63[64], long64[65], long253[254], long254[255];

static void fill_long_names(void) {
  memset(long63, 'a', 63);
  memset(long64, 'a', 64);
  /* 63 + '.' + 63 + '.' + 63 + '.' + 61 = 253 */
  memset(long253, 'b', 253);
  long253[63] = long253[127] = long253[191] = '.';
  memcpy(long254, long253, 253);
  long254[253] = 'c';
}

static void test_validate_dns1123(void **state) {
  fill_long_names();
  const struct vcase labels[] = {
      {"my-name", NULL},
      {"123-abc", NULL},
      {"a", NULL},
      {"0", NULL},
      {"a--b", NULL},
      {long63, NULL},
      {long64, "must be no more than 63 characters"},
      {"", DNS_LABEL_MSG},
      {"-a", DNS_LABEL_MSG},
      {"a-", DNS_LABEL_MSG},
      {"A", DNS_LABEL_MSG},
      {"my_name", DNS_LABEL_MSG},
      {"a b", DNS_LABEL_MSG},
      {"a.b", "must not contain dots"},
      {"a..b", DNS_LABEL_MSG},
  };
  run_vcases(kube_validate_dns1123_label, labels,
             sizeof labels / sizeof labels[0]);
  const struct vcase subdomains[] = {
      {"example.com", NULL},
      {"a", NULL},
      {"a-b.c-d.e", NULL},
      {"1.2.3.4", NULL},
      {long253, NULL},
      {long254, "must be no more than 253 characters"},
      {"", DNS_SUBDOMAIN_MSG},
      {"Example.com", DNS_SUBDOMAIN_MSG},
      {"a..b", DNS_SUBDOMAIN_MSG},
      {".a", DNS_SUBDOMAIN_MSG},
      {"a.", DNS_SUBDOMAIN_MSG},
      {"a.-b", DNS_SUBDOMAIN_MSG},
      {"a_b.com", DNS_SUBDOMAIN_MSG},
  };
  run_vcases(kube_validate_dns1123_subdomain, subdomains,
             sizeof subdomains / sizeof subdomains[0]);
}

static void test_validate_labels(void **state) {
  fill_long_names();
  static char prefixed64[80], prefixed_long[300];
  snprintf(prefixed64, sizeof prefixed64, "example.com/%s", long64);
  snprintf(prefixed_long, sizeof prefixed_long, "%s/a", long254);
  const struct vcase keys[] = {
      {"app", NULL},
      {"MyName", NULL},
      {"my.name", NULL},
      {"123-abc", NULL},
      {"a_b.c-d", NULL},
      {"example.com/app", NULL},
      {"kubernetes.io/hostname", NULL},
      {long63, NULL},
      {"", "name part must be non-empty"},
      {"a/", "name part must be non-empty"},
      {"/a", "prefix part must be non-empty"},
      {long64, "name part must be no more than 63 characters"},
      {prefixed64, "name part must be no more than 63 characters"},
      {prefixed_long, "prefix part must be no more than 253 characters"},
      {"-a", "name part " QNAME_MSG},
      {"a b", "name part " QNAME_MSG},
      {"a=b", "name part " QNAME_MSG},
      {"Example.com/a", "prefix part " DNS_SUBDOMAIN_MSG},
      {"a/b/c", "a qualified name " QNAME_MSG
                " with an optional DNS subdomain prefix and '/' (e.g. "
                "'example.com/MyName')"},
  };
  run_vcases(kube_validate_label_key, keys, sizeof keys / sizeof keys[0]);
  const struct vcase values[] = {
      {"", NULL},
      {"MyValue", NULL},
      {"my_value", NULL},
      {"12345", NULL},
      {"a.b-c_d", NULL},
      {long63, NULL},
      {long64, "must be no more than 63 characters"},
      {"-a", LABEL_VALUE_MSG},
      {"a-", LABEL_VALUE_MSG},
      {"a b", LABEL_VALUE_MSG},
      {"a/b", LABEL_VALUE_MSG},
      {"é", LABEL_VALUE_MSG},
  };
  run_vcases(kube_validate_label_value, values,
             sizeof values / sizeof values[0]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_error_set_wrap_clear),
      cmocka_unit_test(test_error_causes_details_move),
      cmocka_unit_test(test_reasons),
      cmocka_unit_test(test_strbuf),
      cmocka_unit_test(test_log_handler_and_level),
      cmocka_unit_test(test_log_default_handler),
      cmocka_unit_test(test_log_level_parse),
      cmocka_unit_test(test_time_format),
      cmocka_unit_test(test_time_parse),
      cmocka_unit_test(test_time_age),
      cmocka_unit_test(test_time_mono),
      cmocka_unit_test(test_uuid),
      cmocka_unit_test(test_validate_dns1123),
      cmocka_unit_test(test_validate_labels),
  };
  int failed = cmocka_run_group_tests_name("core", tests, NULL, NULL);
  failed += run_quantity_tests();
  failed += run_selector_tests();
  failed += run_loop_tests();
  return failed ? 1 : 0;
}
