/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Label and field selectors: parsing, canonical strings and matching, with
 * cases from apimachinery's labels/selector_test.go and
 * fields/selector_test.go.
 */
#include "test-core.h"

#include <stdlib.h>
#include <string.h>

#include <libkube/core.h>

/* A lookup over a NULL-terminated array of key, value pairs. */
static const char *kv_lookup(void *ctx, const char *key) {
  const char *const *kv = ctx;
  for (; kv[0]; kv += 2)
    if (strcmp(kv[0], key) == 0)
      return kv[1];
  return NULL;
}

static void test_label_parse_canonical(void **state) {
  static const struct {
    const char *in, *out;
  } table[] = {
      {"", ""},
      {"   ", ""},
      {"x=a", "x=a"},
      {"x==a", "x=a"},
      {"x!=a", "x!=a"},
      {"x=a,y=b,z=c", "x=a,y=b,z=c"},
      {"z=c,y=b,x=a", "x=a,y=b,z=c"},
      {" x = a , y != b ", "x=a,y!=b"},
      {"x\t=\na", "x=a"},
      {"x=", "x="},
      {"x!=", "x!="},
      {"x", "x"},
      {"!x", "!x"},
      {" ! x ", "!x"},
      {"x>1", "x>1"},
      {"x<10", "x<10"},
      {"x in (a,b)", "x in (a,b)"},
      {"x in (b,a)", "x in (a,b)"},
      {"x in (a,a,b)", "x in (a,b)"},
      {"x in(a)", "x in (a)"},
      {"x notin (b,a)", "x notin (a,b)"},
      {"x in ()", "x in ()"},
      {"x in (,a)", "x in (,a)"},
      {"x in (a,)", "x in (,a)"},
      {"x in (a,,b)", "x in (,a,b)"},
      {"x notin (in,notin)", "x notin (in,notin)"},
      {"x=in", "x=in"},
      {"in", "in"},
      {"notin=notin", "notin=notin"},
      {"x in (foo,,baz),y,z notin ()", "x in (,baz,foo),y,z notin ()"},
      {"a=b,c!=d,e in (x,y),f notin (z),g,!h",
       "a=b,c!=d,e in (x,y),f notin (z),g,!h"},
      {"!h,g,f notin (z),e in (y,x),c!=d,a=b",
       "a=b,c!=d,e in (x,y),f notin (z),g,!h"},
      {"example.com/app=web,app.kubernetes.io/name=x",
       "app.kubernetes.io/name=x,example.com/app=web"},
      {"x=a,x!=b", "x=a,x!=b"},
      {"x!=b,x=a", "x!=b,x=a"},
      {"MyKey=My_Value-1.2", "MyKey=My_Value-1.2"},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    kube_error_t err = KUBE_ERROR_INIT;
    kube_selector_t *sel = kube_label_selector_parse(table[i].in, &err);
    if (!sel)
      fail_msg("\"%s\": %s", table[i].in, err.message);
    assert_false(sel->field_selector);
    char *s = kube_selector_to_string(sel);
    if (strcmp(s, table[i].out) != 0)
      fail_msg("\"%s\": got \"%s\", want \"%s\"", table[i].in, s, table[i].out);
    assert_int_equal(kube_selector_empty(sel), table[i].out[0] == '\0');
    /* The canonical form is a fixed point. */
    kube_selector_t *again = kube_label_selector_parse(s, NULL);
    assert_non_null(again);
    char *s2 = kube_selector_to_string(again);
    assert_string_equal(s, s2);
    free(s2);
    kube_selector_free(again);
    free(s);
    kube_selector_free(sel);
  }
  kube_selector_t *sel = kube_label_selector_parse(NULL, NULL);
  assert_non_null(sel);
  assert_true(kube_selector_empty(sel));
  kube_selector_free(sel);
  assert_true(kube_selector_empty(NULL));
}

static void test_label_parse_structure(void **state) {
  kube_selector_t *sel =
      kube_label_selector_parse("z notin (b,a),!w,y>3,x==1,v", NULL);
  assert_non_null(sel);
  assert_int_equal(sel->n, 5);
  assert_string_equal(sel->reqs[0].key, "v");
  assert_int_equal(sel->reqs[0].op, KUBE_SELECTOR_EXISTS);
  assert_int_equal(sel->reqs[0].n_values, 0);
  assert_string_equal(sel->reqs[1].key, "w");
  assert_int_equal(sel->reqs[1].op, KUBE_SELECTOR_DOES_NOT_EXIST);
  assert_string_equal(sel->reqs[2].key, "x");
  assert_int_equal(sel->reqs[2].op, KUBE_SELECTOR_EQUALS);
  assert_int_equal(sel->reqs[2].n_values, 1);
  assert_string_equal(sel->reqs[2].values[0], "1");
  assert_string_equal(sel->reqs[3].key, "y");
  assert_int_equal(sel->reqs[3].op, KUBE_SELECTOR_GT);
  assert_string_equal(sel->reqs[3].values[0], "3");
  assert_string_equal(sel->reqs[4].key, "z");
  assert_int_equal(sel->reqs[4].op, KUBE_SELECTOR_NOT_IN);
  assert_int_equal(sel->reqs[4].n_values, 2);
  assert_string_equal(sel->reqs[4].values[0], "a");
  assert_string_equal(sel->reqs[4].values[1], "b");
  kube_selector_free(sel);
  kube_selector_free(NULL);
}

static void test_label_parse_errors(void **state) {
  static const struct {
    const char *in;
    const char *msg; /* substring of the message, or NULL */
  } table[] = {
      {"x=a||y=b", NULL},
      {"x=a,,y=b", "found ',', expected: identifier after ','"},
      {"x,", "found '', expected: identifier after ','"},
      {",x", "found ',', expected: !, identifier, or 'end of string'"},
      {"x=a b", "found 'b', expected: ',' or 'end of string'"},
      {"x a", "found 'a', expected: in, notin, =, ==, !=, gt, lt"},
      {"x in a", "found 'a' expected: '('"},
      {"x in (a", "found '', expected: ',' or ')'"},
      {"x in (a b)", "found 'b', expected: ',' or ')'"},
      {"x in (=)", "found '=', expected: ',', ')' or identifier"},
      {"x in", NULL},
      {"x notin", NULL},
      {"x=(", "found '(', expected: identifier"},
      {"x==,", NULL},
      {"!x=a", "found '=', expected: ',' or 'end of string'"},
      {"!", "found '', expected: identifier"},
      {"!!x", "found '!', expected: identifier"},
      {"(x)", NULL},
      {"=a", NULL},
      {"x>a", "for 'Gt', 'Lt' operators, the value must be an integer"},
      {"x<1.5", "the value must be an integer"},
      {"x>-1", "Invalid value: \"-1\": a valid label must be"},
      {"x>99999999999999999999", "the value must be an integer"},
      {"-x=a", "<nil>: Invalid value: \"-x\": name part must consist of"},
      {"x/y/z=a", "a qualified name must consist of"},
      {"Example.com/x=a", "prefix part a lowercase RFC 1123 subdomain"},
      {"x=-a", "Invalid value: \"-a\": a valid label must be an empty string"},
      {"x in (a,-b)", "Invalid value: \"-b\""},
      {"x=a\xff", "a valid label must be"},
      {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
       "name part must be no more than 63 characters"},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    kube_error_t err = KUBE_ERROR_INIT;
    kube_selector_t *sel = kube_label_selector_parse(table[i].in, &err);
    if (sel) {
      char *s = kube_selector_to_string(sel);
      fail_msg("\"%s\" parsed as \"%s\"", table[i].in, s);
    }
    assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
    if (table[i].msg && !strstr(err.message, table[i].msg))
      fail_msg("\"%s\": message \"%s\" lacks \"%s\"", table[i].in, err.message,
               table[i].msg);
    kube_error_clear(&err);
  }
  assert_null(kube_label_selector_parse("x in", NULL));
}

static void test_label_matches(void **state) {
  const char *const labels[] = {"app", "web",   "tier", "frontend", "n",
                                "5",   "empty", "",     NULL};
  static const struct {
    const char *sel;
    bool want;
  } table[] = {
      {"", true},
      {"app=web", true},
      {"app==web", true},
      {"app=db", false},
      {"app!=web", false},
      {"app!=db", true},
      {"missing=x", false},
      {"missing!=x", true},
      {"missing=", false},
      {"empty=", true},
      {"empty!=", false},
      {"app in (web,db)", true},
      {"app in (db)", false},
      {"missing in (a)", false},
      {"app notin (web)", false},
      {"app notin (db,cache)", true},
      {"missing notin (a)", true},
      {"app", true},
      {"missing", false},
      {"empty", true},
      {"!app", false},
      {"!missing", true},
      {"n>4", true},
      {"n>5", false},
      {"n<6", true},
      {"n<5", false},
      {"n>0", true},
      {"app>1", false},
      {"missing>1", false},
      {"missing<1", false},
      {"tier=frontend,app=web", true},
      {"tier=frontend,app=db", false},
      {"app=web,!missing,n in (4,5),tier notin (backend)", true},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    kube_error_t err = KUBE_ERROR_INIT;
    kube_selector_t *sel = kube_label_selector_parse(table[i].sel, &err);
    if (!sel)
      fail_msg("\"%s\": %s", table[i].sel, err.message);
    if (kube_selector_matches(sel, kv_lookup, (void *)labels) != table[i].want)
      fail_msg("\"%s\" should %smatch", table[i].sel,
               table[i].want ? "" : "not ");
    kube_selector_free(sel);
  }
  /* NULL selector matches everything; a NULL lookup sees no keys. */
  assert_true(kube_selector_matches(NULL, kv_lookup, (void *)labels));
  kube_selector_t *sel = kube_label_selector_parse("!a,b notin (c)", NULL);
  assert_true(kube_selector_matches(sel, NULL, NULL));
  kube_selector_free(sel);
}

static void test_selector_add(void **state) {
  kube_selector_t *sel = kube_selector_new();
  kube_error_t err = KUBE_ERROR_INIT;
  assert_non_null(sel);
  assert_true(kube_selector_empty(sel));
  const char *b1[] = {"1"}, *in[] = {"y", "x"}, *gt[] = {"10"};
  assert_int_equal(
      kube_selector_add(sel, "b", KUBE_SELECTOR_EQUALS, b1, 1, &err), 0);
  assert_int_equal(kube_selector_add(sel, "a", KUBE_SELECTOR_IN, in, 2, &err),
                   0);
  assert_int_equal(
      kube_selector_add(sel, "c", KUBE_SELECTOR_EXISTS, NULL, 0, &err), 0);
  assert_int_equal(kube_selector_add(sel, "a", KUBE_SELECTOR_GT, gt, 1, &err),
                   0);
  assert_int_equal(sel->n, 4);
  /* Values are stored as given, printed sorted; keys sorted, stable. */
  assert_string_equal(sel->reqs[0].values[0], "y");
  char *s = kube_selector_to_string(sel);
  assert_string_equal(s, "a in (x,y),a>10,b=1,c");
  free(s);
  const char *labels[] = {"a", "x", "b", "1", "c", "", NULL};
  assert_false(kube_selector_matches(sel, kv_lookup, labels));
  const char *labels2[] = {"a", "11", "b", "1", "c", "", NULL};
  assert_false(kube_selector_matches(sel, kv_lookup, labels2));
  kube_selector_free(sel);

  static const struct {
    const char *key;
    kube_selector_op_t op;
    size_t n;
    const char *msg;
  } bad[] = {
      {"-a", KUBE_SELECTOR_EXISTS, 0, "name part must consist of"},
      {"a", KUBE_SELECTOR_IN, 0, "values set can't be empty"},
      {"a", KUBE_SELECTOR_NOT_IN, 0, "values set can't be empty"},
      {"a", KUBE_SELECTOR_EQUALS, 2, "exact-match compatibility"},
      {"a", KUBE_SELECTOR_NOT_EQUALS, 0, "exact-match compatibility"},
      {"a", KUBE_SELECTOR_EXISTS, 1, "values set must be empty"},
      {"a", KUBE_SELECTOR_DOES_NOT_EXIST, 1, "values set must be empty"},
      {"a", KUBE_SELECTOR_GT, 2, "exactly one value is required"},
      {"a", KUBE_SELECTOR_LT, 1, "the value must be an integer"},
      {"a", KUBE_SELECTOR_EQUALS, 1, "a valid label must be"},
      {"a", (kube_selector_op_t)99, 0, "Unsupported value"},
  };
  const char *vals[] = {"not an int", "x"};
  sel = kube_selector_new();
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (kube_selector_add(sel, bad[i].key, bad[i].op, vals, bad[i].n, &err) ==
        0)
      fail_msg("case %zu accepted", i);
    assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
    if (!strstr(err.message, bad[i].msg))
      fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.message, bad[i].msg);
    kube_error_clear(&err);
  }
  assert_int_equal(sel->n, 0);
  assert_int_equal(
      kube_selector_add(NULL, "a", KUBE_SELECTOR_EXISTS, NULL, 0, NULL), -1);
  kube_selector_free(sel);
}

static void test_field_parse(void **state) {
  static const struct {
    const char *in, *out;
  } table[] = {
      {"", ""},
      {"metadata.name=x", "metadata.name=x"},
      {"metadata.name==x", "metadata.name=x"},
      {"spec.nodeName!=", "spec.nodeName!="},
      {"status.phase==Running", "status.phase=Running"},
      {"b=2,a=1", "a=1,b=2"},
      {",a=1,,", "a=1"},
      {"a=x\\,y", "a=x\\,y"},
      {"a=x\\=y", "a=x\\=y"},
      {"a=x\\\\", "a=x\\\\"},
      {"a=x y", "a=x y"},
      {"=x", "=x"},
      {"a!=b=", NULL}, /* error below */
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    if (!table[i].out)
      continue;
    kube_error_t err = KUBE_ERROR_INIT;
    kube_selector_t *sel = kube_field_selector_parse(table[i].in, &err);
    if (!sel)
      fail_msg("\"%s\": %s", table[i].in, err.message);
    assert_true(sel->field_selector);
    char *s = kube_selector_to_string(sel);
    if (strcmp(s, table[i].out) != 0)
      fail_msg("\"%s\": got \"%s\", want \"%s\"", table[i].in, s, table[i].out);
    kube_selector_t *again = kube_field_selector_parse(s, NULL);
    char *s2 = kube_selector_to_string(again);
    assert_string_equal(s, s2);
    free(s2);
    kube_selector_free(again);
    free(s);
    kube_selector_free(sel);
  }
  kube_selector_t *sel =
      kube_field_selector_parse("spec.nodeName!=,metadata.name=a\\,b", NULL);
  assert_int_equal(sel->n, 2);
  assert_string_equal(sel->reqs[0].key, "metadata.name");
  assert_int_equal(sel->reqs[0].op, KUBE_SELECTOR_EQUALS);
  assert_string_equal(sel->reqs[0].values[0], "a,b");
  assert_string_equal(sel->reqs[1].key, "spec.nodeName");
  assert_int_equal(sel->reqs[1].op, KUBE_SELECTOR_NOT_EQUALS);
  assert_string_equal(sel->reqs[1].values[0], "");
  kube_selector_free(sel);

  static const struct {
    const char *in, *msg;
  } bad[] = {
      {"abc", "invalid selector: 'abc'; can't understand 'abc'"},
      {"a=1,b", "can't understand 'b'"},
      {"a=b=c", "unescaped character in value: ="},
      {"a==b=c", "unescaped character in value: ="},
      {"a!=b=", "unescaped character in value: ="},
      {"a=b\\c", "invalid escape sequence: \\c"},
      {"a=b\\", "invalid escape sequence: \\"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    kube_error_t err = KUBE_ERROR_INIT;
    if (kube_field_selector_parse(bad[i].in, &err))
      fail_msg("\"%s\" parsed", bad[i].in);
    assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
    if (!strstr(err.message, bad[i].msg))
      fail_msg("\"%s\": \"%s\" lacks \"%s\"", bad[i].in, err.message,
               bad[i].msg);
    kube_error_clear(&err);
  }
}

static void test_field_matches(void **state) {
  const char *const fields[] = {
      "metadata.name", "web-1", "status.phase", "Running", "metadata.namespace",
      "a,b",           NULL};
  static const struct {
    const char *sel;
    bool want;
  } table[] = {
      {"", true},
      {"metadata.name=web-1", true},
      {"metadata.name==web-1", true},
      {"metadata.name!=web-1", false},
      {"metadata.name=web-2", false},
      /* a missing field reads as "" (fields.Fields.Get) */
      {"spec.nodeName=", true},
      {"spec.nodeName!=", false},
      {"spec.nodeName=node-1", false},
      {"spec.nodeName!=node-1", true},
      {"metadata.namespace=a\\,b", true},
      {"status.phase=Running,metadata.name=web-1", true},
      {"status.phase=Running,metadata.name!=web-1", false},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    kube_selector_t *sel = kube_field_selector_parse(table[i].sel, NULL);
    assert_non_null(sel);
    if (kube_selector_matches(sel, kv_lookup, (void *)fields) != table[i].want)
      fail_msg("\"%s\" should %smatch", table[i].sel,
               table[i].want ? "" : "not ");
    kube_selector_free(sel);
  }
  /* Adding to a field selector: =/!= with one value, no label rules. */
  kube_selector_t *sel = kube_field_selector_parse("", NULL);
  const char *v[] = {"Node 1"};
  assert_int_equal(kube_selector_add(sel, "spec.nodeName",
                                     KUBE_SELECTOR_NOT_EQUALS, v, 1, NULL),
                   0);
  assert_int_equal(kube_selector_add(sel, "x", KUBE_SELECTOR_IN, v, 1, NULL),
                   -1);
  char *s = kube_selector_to_string(sel);
  assert_string_equal(s, "spec.nodeName!=Node 1");
  free(s);
  kube_selector_free(sel);
}

int run_selector_tests(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_label_parse_canonical),
      cmocka_unit_test(test_label_parse_structure),
      cmocka_unit_test(test_label_parse_errors),
      cmocka_unit_test(test_label_matches),
      cmocka_unit_test(test_selector_add),
      cmocka_unit_test(test_field_parse),
      cmocka_unit_test(test_field_matches),
  };
  return cmocka_run_group_tests_name("core-selector", tests, NULL, NULL);
}
