/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resource quantities.  Expected values follow apimachinery's
 * quantity_test.go (TestQuantityParse, TestQuantityString,
 * TestQuantityParseEmit) and the canonicalisation rules of quantity.go.
 */
#include "test-core.h"

#include <stdio.h>
#include <string.h>

#include <libkube/core.h>

static void test_quantity_parse_format(void **state) {
  static const struct {
    const char *in;
    const char *canonical;
    kube_quantity_format_t format;
  } table[] = {
      /* zeros keep the format of their suffix but always print "0" */
      {"0", "0", KUBE_QUANTITY_DECIMAL_SI},
      {"0n", "0", KUBE_QUANTITY_DECIMAL_SI},
      {"0m", "0", KUBE_QUANTITY_DECIMAL_SI},
      {"0Ki", "0", KUBE_QUANTITY_BINARY_SI},
      {"0Ti", "0", KUBE_QUANTITY_BINARY_SI},
      {"0e3", "0", KUBE_QUANTITY_DECIMAL_EXPONENT},
      {"-0", "0", KUBE_QUANTITY_DECIMAL_SI},
      {"000", "0", KUBE_QUANTITY_DECIMAL_SI},
      {".", "0", KUBE_QUANTITY_DECIMAL_SI},
      {"-.", "0", KUBE_QUANTITY_DECIMAL_SI},
      {"1", "1", KUBE_QUANTITY_DECIMAL_SI},
      {"+1", "1", KUBE_QUANTITY_DECIMAL_SI},
      {"-1", "-1", KUBE_QUANTITY_DECIMAL_SI},
      {"007", "7", KUBE_QUANTITY_DECIMAL_SI},
      /* binary suffixes */
      {"1Ki", "1Ki", KUBE_QUANTITY_BINARY_SI},
      {"8Ki", "8Ki", KUBE_QUANTITY_BINARY_SI},
      {"7Mi", "7Mi", KUBE_QUANTITY_BINARY_SI},
      {"6Gi", "6Gi", KUBE_QUANTITY_BINARY_SI},
      {"5Ti", "5Ti", KUBE_QUANTITY_BINARY_SI},
      {"4Pi", "4Pi", KUBE_QUANTITY_BINARY_SI},
      {"3Ei", "3Ei", KUBE_QUANTITY_BINARY_SI},
      {"10Ti", "10Ti", KUBE_QUANTITY_BINARY_SI},
      {"100Ti", "100Ti", KUBE_QUANTITY_BINARY_SI},
      {"128Mi", "128Mi", KUBE_QUANTITY_BINARY_SI},
      {"1024Mi", "1Gi", KUBE_QUANTITY_BINARY_SI},
      {"1025Ki", "1025Ki", KUBE_QUANTITY_BINARY_SI},
      {"1.5Gi", "1536Mi", KUBE_QUANTITY_BINARY_SI},
      {"0.5Mi", "512Ki", KUBE_QUANTITY_BINARY_SI},
      {"0.5Ki", "512", KUBE_QUANTITY_BINARY_SI},
      {"-1.5Gi", "-1536Mi", KUBE_QUANTITY_BINARY_SI},
      {"100.035Ki", "102435840m", KUBE_QUANTITY_BINARY_SI},
      {"0.05Gi", "53687091200m", KUBE_QUANTITY_BINARY_SI},
      {"0.025Ti", "27487790694400m", KUBE_QUANTITY_BINARY_SI},
      {".001Ki", "1024m", KUBE_QUANTITY_BINARY_SI},
      {".000001Ki", "1024u", KUBE_QUANTITY_DECIMAL_SI},
      {".000000001Ki", "1024n", KUBE_QUANTITY_DECIMAL_SI},
      {".000000000001Ki", "2n", KUBE_QUANTITY_DECIMAL_SI},
      {"0.000000000001Ki", "2n", KUBE_QUANTITY_DECIMAL_SI},
      /* BinarySI is capped at 2^63-1 */
      {"9Ei", "9223372036854775807", KUBE_QUANTITY_BINARY_SI},
      {"8Ei", "9223372036854775807", KUBE_QUANTITY_BINARY_SI},
      {"9223372036854775807Ki", "9223372036854775807", KUBE_QUANTITY_BINARY_SI},
      {"-9Ei", "-9223372036854775807", KUBE_QUANTITY_BINARY_SI},
      {"7.99999Ei", "9223360507639729739530240u", KUBE_QUANTITY_BINARY_SI},
      /* decimal suffixes */
      {"5n", "5n", KUBE_QUANTITY_DECIMAL_SI},
      {"1n", "1n", KUBE_QUANTITY_DECIMAL_SI},
      {"4u", "4u", KUBE_QUANTITY_DECIMAL_SI},
      {"1u", "1u", KUBE_QUANTITY_DECIMAL_SI},
      {"3m", "3m", KUBE_QUANTITY_DECIMAL_SI},
      {"100m", "100m", KUBE_QUANTITY_DECIMAL_SI},
      {"-100m", "-100m", KUBE_QUANTITY_DECIMAL_SI},
      {"9", "9", KUBE_QUANTITY_DECIMAL_SI},
      {"8k", "8k", KUBE_QUANTITY_DECIMAL_SI},
      {"2k", "2k", KUBE_QUANTITY_DECIMAL_SI},
      {"50k", "50k", KUBE_QUANTITY_DECIMAL_SI},
      {"7M", "7M", KUBE_QUANTITY_DECIMAL_SI},
      {"6G", "6G", KUBE_QUANTITY_DECIMAL_SI},
      {"5T", "5T", KUBE_QUANTITY_DECIMAL_SI},
      {"40T", "40T", KUBE_QUANTITY_DECIMAL_SI},
      {"300T", "300T", KUBE_QUANTITY_DECIMAL_SI},
      {"2P", "2P", KUBE_QUANTITY_DECIMAL_SI},
      {"1E", "1E", KUBE_QUANTITY_DECIMAL_SI},
      {"12E", "12E", KUBE_QUANTITY_DECIMAL_SI},
      {"1000", "1k", KUBE_QUANTITY_DECIMAL_SI},
      {"1000M", "1G", KUBE_QUANTITY_DECIMAL_SI},
      {"1000E", "1e21", KUBE_QUANTITY_DECIMAL_SI},
      {"5000E", "5e21", KUBE_QUANTITY_DECIMAL_SI},
      {"100000000000000000000000000000", "100e27", KUBE_QUANTITY_DECIMAL_SI},
      {"1025", "1025", KUBE_QUANTITY_DECIMAL_SI},
      /* decimal exponents stay exponents */
      {"1E-3", "1e-3", KUBE_QUANTITY_DECIMAL_EXPONENT},
      {"5E-3", "5e-3", KUBE_QUANTITY_DECIMAL_EXPONENT},
      {"1e3", "1e3", KUBE_QUANTITY_DECIMAL_EXPONENT},
      {"1E6", "1e6", KUBE_QUANTITY_DECIMAL_EXPONENT},
      {"1e9", "1e9", KUBE_QUANTITY_DECIMAL_EXPONENT},
      {"1E12", "1e12", KUBE_QUANTITY_DECIMAL_EXPONENT},
      {"1e15", "1e15", KUBE_QUANTITY_DECIMAL_EXPONENT},
      {"1E18", "1e18", KUBE_QUANTITY_DECIMAL_EXPONENT},
      {"1e14", "100e12", KUBE_QUANTITY_DECIMAL_EXPONENT},
      {"1e13", "10e12", KUBE_QUANTITY_DECIMAL_EXPONENT},
      {"1e+3", "1e3", KUBE_QUANTITY_DECIMAL_EXPONENT},
      {"1.2e3", "1200", KUBE_QUANTITY_DECIMAL_EXPONENT},
      {"1.3E+6", "1300e3", KUBE_QUANTITY_DECIMAL_EXPONENT},
      {"1.40e9", "1400e6", KUBE_QUANTITY_DECIMAL_EXPONENT},
      {"1.53E12", "1530e9", KUBE_QUANTITY_DECIMAL_EXPONENT},
      {"0.5e0", "500e-3", KUBE_QUANTITY_DECIMAL_EXPONENT},
      {"0.5e-1", "50e-3", KUBE_QUANTITY_DECIMAL_EXPONENT},
      {"0.5e-2", "5e-3", KUBE_QUANTITY_DECIMAL_EXPONENT},
      {"1.1E-9", "2e-9", KUBE_QUANTITY_DECIMAL_EXPONENT},
      {"0.5e-9", "1e-9", KUBE_QUANTITY_DECIMAL_EXPONENT},
      {"1e-99999", "1e-9", KUBE_QUANTITY_DECIMAL_EXPONENT},
      {"-1e-99999", "-1e-9", KUBE_QUANTITY_DECIMAL_EXPONENT},
      {"3e21", "3e21", KUBE_QUANTITY_DECIMAL_EXPONENT},
      /* things that look like floating point */
      {"0.001", "1m", KUBE_QUANTITY_DECIMAL_SI},
      {"0.0005k", "500m", KUBE_QUANTITY_DECIMAL_SI},
      {"0.005", "5m", KUBE_QUANTITY_DECIMAL_SI},
      {"0.05", "50m", KUBE_QUANTITY_DECIMAL_SI},
      {"0.5", "500m", KUBE_QUANTITY_DECIMAL_SI},
      {"0.00050k", "500m", KUBE_QUANTITY_DECIMAL_SI},
      {"0.50000", "500m", KUBE_QUANTITY_DECIMAL_SI},
      {"1.5", "1500m", KUBE_QUANTITY_DECIMAL_SI},
      {"9.01", "9010m", KUBE_QUANTITY_DECIMAL_SI},
      {"-9.01", "-9010m", KUBE_QUANTITY_DECIMAL_SI},
      {"1.08", "1080m", KUBE_QUANTITY_DECIMAL_SI},
      {"8.1k", "8100", KUBE_QUANTITY_DECIMAL_SI},
      {"100.035k", "100035", KUBE_QUANTITY_DECIMAL_SI},
      {"10.035M", "10035k", KUBE_QUANTITY_DECIMAL_SI},
      {"7.123456M", "7123456", KUBE_QUANTITY_DECIMAL_SI},
      {"6.987654321G", "6987654321", KUBE_QUANTITY_DECIMAL_SI},
      {"5.444T", "5444G", KUBE_QUANTITY_DECIMAL_SI},
      {"40.1T", "40100G", KUBE_QUANTITY_DECIMAL_SI},
      {"300.2T", "300200G", KUBE_QUANTITY_DECIMAL_SI},
      {"2.5P", "2500T", KUBE_QUANTITY_DECIMAL_SI},
      {"1.01E", "1010P", KUBE_QUANTITY_DECIMAL_SI},
      {".001", "1m", KUBE_QUANTITY_DECIMAL_SI},
      {".5", "500m", KUBE_QUANTITY_DECIMAL_SI},
      {".0001k", "100m", KUBE_QUANTITY_DECIMAL_SI},
      {"1.", "1", KUBE_QUANTITY_DECIMAL_SI},
      {"1.G", "1G", KUBE_QUANTITY_DECIMAL_SI},
      /* rounding away from zero to 1n */
      {"3.001n", "4n", KUBE_QUANTITY_DECIMAL_SI},
      {"-3.001n", "-4n", KUBE_QUANTITY_DECIMAL_SI},
      {"0.0000000001", "1n", KUBE_QUANTITY_DECIMAL_SI},
      {"0.0000000005", "1n", KUBE_QUANTITY_DECIMAL_SI},
      {"0.00000000050", "1n", KUBE_QUANTITY_DECIMAL_SI},
      {"0.9n", "1n", KUBE_QUANTITY_DECIMAL_SI},
      {"0.00000012345", "124n", KUBE_QUANTITY_DECIMAL_SI},
      {"0.00000012354", "124n", KUBE_QUANTITY_DECIMAL_SI},
      {"1.2345", "1234500u", KUBE_QUANTITY_DECIMAL_SI},
      {"1.000000000000000000000000000000000000000000000001", "1000000001n",
       KUBE_QUANTITY_DECIMAL_SI},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    kube_quantity_t q;
    kube_error_t err = KUBE_ERROR_INIT;
    char buf[48];
    if (kube_quantity_parse(table[i].in, &q, &err) < 0)
      fail_msg("%s: %s", table[i].in, err.message);
    kube_quantity_format(&q, buf, sizeof buf);
    if (strcmp(buf, table[i].canonical) != 0)
      fail_msg("%s: got %s, want %s", table[i].in, buf, table[i].canonical);
    if (q.format != table[i].format)
      fail_msg("%s: format %d, want %d", table[i].in, q.format,
               table[i].format);
    /* The canonical form parses back to the same value and text. */
    kube_quantity_t back;
    char buf2[48];
    assert_int_equal(kube_quantity_parse(buf, &back, NULL), 0);
    assert_int_equal(kube_quantity_cmp(&q, &back), 0);
    kube_quantity_format(&back, buf2, sizeof buf2);
    assert_string_equal(buf, buf2);
  }
}

static void test_quantity_invalid(void **state) {
  static const char *const bad[] = {
      "",
      "abc",
      "aoeu",
      "1.2.3",
      "1.1.M",
      "1+1.0M",
      "5Mx",
      "0.1mi",
      "0.1am",
      ".5i",
      "1i",
      "-3.01i",
      "-3.01e-",
      "1e",
      "1e+",
      "1ee3",
      "1Ee3",
      "1EE",
      " 1",
      "1 ",
      "--1",
      "+-1",
      "1Kii",
      "1kb",
      "1KiB",
      "1 Ki",
      "1e3.5",
      "0x10",
      "1,5",
      "∞",
      /* out of range for a 128-bit nano count */
      "1e30",
      "1e1000",
      "-1e1000",
      "1000000000000000000000000000000",
      "170141183460469231731687303715884105728",
      "1e99999999999999999999",
      "1e9223372036854775808",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    kube_quantity_t q = {.nano = 77};
    kube_error_t err = KUBE_ERROR_INIT;
    if (kube_quantity_parse(bad[i], &q, &err) == 0)
      fail_msg("\"%s\" parsed", bad[i]);
    assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
    assert_non_null(err.message);
    assert_true(q.nano == 77);
    kube_error_clear(&err);
  }
  assert_int_equal(kube_quantity_parse(NULL, NULL, NULL), -1);
  kube_error_t err = KUBE_ERROR_INIT;
  kube_quantity_parse("1x", NULL, &err);
  assert_string_equal(err.message,
                      "quantities must match the regular expression "
                      "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
  kube_quantity_parse("1mi", NULL, &err);
  assert_string_equal(err.message, "unable to parse quantity's suffix");
  kube_error_clear(&err);
}

static void test_quantity_values(void **state) {
  static const struct {
    const char *in;
    int64_t milli, value;
  } table[] = {
      {"0", 0, 0},
      {"100m", 100, 1},
      {"1", 1000, 1},
      {"0.5", 500, 1},
      {"1.5", 1500, 2},
      {"-1.5", -1500, -2},
      {"-100m", -100, -1},
      {"1n", 1, 1},
      {"-1n", -1, -1},
      {"1Ki", 1024000, 1024},
      {"128Mi", 134217728000, 134217728},
      {"2k", 2000000, 2000},
      {"1e3", 1000000, 1000},
      {"9223372036854775807", INT64_MAX, INT64_MAX},
      {"9Ei", INT64_MAX, INT64_MAX},
      {"-9Ei", INT64_MIN, -INT64_MAX},
      {"1e20", INT64_MAX, INT64_MAX},
      {"-1e20", INT64_MIN, INT64_MIN},
      {"9223372036854775.807", INT64_MAX, 9223372036854776},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    kube_quantity_t q;
    assert_int_equal(kube_quantity_parse(table[i].in, &q, NULL), 0);
    if (kube_quantity_milli(&q) != table[i].milli)
      fail_msg("%s: milli %lld, want %lld", table[i].in,
               (long long)kube_quantity_milli(&q), (long long)table[i].milli);
    if (kube_quantity_value(&q) != table[i].value)
      fail_msg("%s: value %lld, want %lld", table[i].in,
               (long long)kube_quantity_value(&q), (long long)table[i].value);
    assert_int_equal(kube_quantity_parse_milli(table[i].in, NULL),
                     table[i].milli);
    assert_int_equal(kube_quantity_parse_value(table[i].in, NULL),
                     table[i].value);
  }
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_quantity_parse_milli("lots", &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  assert_int_equal(kube_quantity_parse_value("1 Gi", &err), -1);
  assert_true(kube_error_is_set(&err));
  kube_error_clear(&err);
}

static void parse_ok(const char *s, kube_quantity_t *q) {
  kube_error_t err = KUBE_ERROR_INIT;
  if (kube_quantity_parse(s, q, &err) < 0)
    fail_msg("%s: %s", s, err.message);
}

static void test_quantity_cmp(void **state) {
  static const struct {
    const char *a, *b;
    int want;
  } table[] = {
      {"0", "0", 0},          {"100m", "50m", 1},  {"50m", "100m", -1},
      {"10000T", "100Gi", 1}, {"1", "1000m", 0},   {"1Ki", "1024", 0},
      {"1k", "1Ki", -1},      {"-1", "0", -1},     {"1e3", "1k", 0},
      {"0.5Gi", "512Mi", 0},  {"1n", "0", 1},      {"-1n", "-2n", 1},
      {"9Ei", "8Ei", 0},      {"1e27", "1e26", 1},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    kube_quantity_t a, b;
    parse_ok(table[i].a, &a);
    parse_ok(table[i].b, &b);
    if (kube_quantity_cmp(&a, &b) != table[i].want ||
        kube_quantity_cmp(&b, &a) != -table[i].want)
      fail_msg("cmp(%s, %s) != %d", table[i].a, table[i].b, table[i].want);
  }
}

static void test_quantity_add(void **state) {
  static const struct {
    const char *a, *b, *sum;
  } table[] = {
      {"100m", "1", "1100m"},
      {"0", "1Gi", "1Gi"}, /* zero takes the other's format */
      {"1Gi", "0", "1Gi"},
      {"0", "100m", "100m"},
      {"1Gi", "512Mi", "1536Mi"},
      {"1Gi", "1", "1073741825"},
      {"1e3", "1", "1001"},
      {"1e3", "1e3", "2e3"},
      {"500m", "500m", "1"},
      {"1", "-1", "0"},
      {"-1Gi", "-1Gi", "-2Gi"},
      {"250m", "-1", "-750m"},
      {"1n", "1", "1000000001n"},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    kube_quantity_t a, b, sum;
    char buf[48];
    parse_ok(table[i].a, &a);
    parse_ok(table[i].b, &b);
    assert_int_equal(kube_quantity_add(&a, &b, &sum, NULL), 0);
    kube_quantity_format(&sum, buf, sizeof buf);
    if (strcmp(buf, table[i].sum) != 0)
      fail_msg("%s + %s: got %s, want %s", table[i].a, table[i].b, buf,
               table[i].sum);
  }
  /* The sum may be one of the operands. */
  kube_quantity_t acc, one;
  char buf[48];
  parse_ok("0", &acc);
  parse_ok("250m", &one);
  for (int i = 0; i < 10; i++)
    assert_int_equal(kube_quantity_add(&acc, &one, &acc, NULL), 0);
  assert_string_equal(kube_quantity_format(&acc, buf, sizeof buf), "2500m");
  /* Overflow is an error, and out is untouched. */
  kube_quantity_t big, sum = {.nano = 5};
  kube_error_t err = KUBE_ERROR_INIT;
  parse_ok("100e27", &big);
  assert_int_equal(kube_quantity_add(&big, &big, &sum, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  assert_true(sum.nano == 5);
  kube_error_clear(&err);
  kube_quantity_t neg;
  parse_ok("-100e27", &neg);
  assert_int_equal(kube_quantity_add(&neg, &neg, &sum, &err), -1);
  kube_error_clear(&err);
  assert_int_equal(kube_quantity_add(&big, &neg, &sum, &err), 0);
  assert_string_equal(kube_quantity_format(&sum, buf, sizeof buf), "0");
}

static void test_quantity_format_edges(void **state) {
  char buf[48];
  /* The largest magnitudes fit the documented 48-byte buffer. */
  kube_quantity_t q = {.nano =
                           -(((__int128)1 << 126) - 1 + ((__int128)1 << 126)),
                       .format = KUBE_QUANTITY_DECIMAL_EXPONENT};
  kube_quantity_format(&q, buf, sizeof buf);
  assert_string_equal(buf, "-170141183460469231731687303715884105727e-9");
  q.format = KUBE_QUANTITY_BINARY_SI;
  kube_quantity_format(&q, buf, sizeof buf);
  assert_string_equal(buf, "-170141183460469231731687303715884105727n");
  /* BinarySI sums beyond Ei keep the Ei suffix. */
  q.nano = (__int128)1000000000 << 70;
  kube_quantity_format(&q, buf, sizeof buf);
  assert_string_equal(buf, "1024Ei");
  /* Unknown formats print as exponents, as Kubernetes does. */
  q.nano = 1000000000000000;
  q.format = (kube_quantity_format_t)42;
  kube_quantity_format(&q, buf, sizeof buf);
  assert_string_equal(buf, "1e6");
  /* Truncation never overruns a short buffer. */
  q.format = KUBE_QUANTITY_DECIMAL_SI;
  memset(buf, 'x', sizeof buf);
  kube_quantity_format(&q, buf, 2);
  assert_string_equal(buf, "1");
  assert_int_equal(buf[2], 'x');
  assert_string_equal(kube_quantity_format(NULL, buf, sizeof buf), "0");
}

int run_quantity_tests(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_quantity_parse_format),
      cmocka_unit_test(test_quantity_invalid),
      cmocka_unit_test(test_quantity_values),
      cmocka_unit_test(test_quantity_cmp),
      cmocka_unit_test(test_quantity_add),
      cmocka_unit_test(test_quantity_format_edges),
  };
  return cmocka_run_group_tests_name("core-quantity", tests, NULL, NULL);
}
