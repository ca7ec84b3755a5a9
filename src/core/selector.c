/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Label selectors (k8s.io/apimachinery/pkg/labels: the same lexer, parser,
 * validation, sorting and error texts) and field selectors
 * (k8s.io/apimachinery/pkg/fields: comma terms with backslash escapes).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "core/util.h"

/* ------------------------------------------------------------------------ */
/* Requirements and the selector container                                  */
/* ------------------------------------------------------------------------ */

void core_selector_req_clear(kube_selector_requirement_t *r) {
  free(r->key);
  for (size_t i = 0; i < r->n_values; i++)
    free(r->values[i]);
  free(r->values);
  memset(r, 0, sizeof(*r));
}

KUBE_EXPORT kube_selector_t *kube_selector_new(void) {
  return calloc(1, sizeof(kube_selector_t));
}

KUBE_EXPORT void kube_selector_free(kube_selector_t *sel) {
  if (!sel)
    return;
  for (size_t i = 0; i < sel->n; i++)
    core_selector_req_clear(&sel->reqs[i]);
  free(sel->reqs);
  free(sel);
}

KUBE_EXPORT bool kube_selector_empty(const kube_selector_t *sel) {
  return !sel || sel->n == 0;
}

/* Insert r (moved in) after every requirement whose key sorts <= r's key:
 * Kubernetes sorts requirements by key; keeping equal keys in insertion
 * order makes the result deterministic. */
int core_selector_insert(kube_selector_t *sel, kube_selector_requirement_t *r,
                         bool sorted, kube_error_t *err) {
  kube_selector_requirement_t *reqs =
      realloc(sel->reqs, (sel->n + 1) * sizeof(*reqs));
  if (!reqs)
    return kube_make_oom(err);
  sel->reqs = reqs;
  size_t at = sel->n;
  if (sorted)
    while (at > 0 && strcmp(reqs[at - 1].key, r->key) > 0)
      at--;
  memmove(reqs + at + 1, reqs + at, (sel->n - at) * sizeof(*reqs));
  reqs[at] = *r;
  memset(r, 0, sizeof(*r));
  sel->n++;
  return 0;
}

/* strconv.ParseInt(s, 10, 64) */
bool core_parse_int64(const char *s, int64_t *out) {
  bool neg = false;
  if (*s == '+' || *s == '-')
    neg = *s++ == '-';
  if (!*s)
    return false;
  uint64_t v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9')
      return false;
    unsigned d = (unsigned)(*s - '0');
    if (v > (UINT64_MAX - d) / 10)
      return false;
    v = v * 10 + d;
  }
  if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
    return false;
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return true;
}

static const char *op_name(kube_selector_op_t op) {
  switch (op) {
  case KUBE_SELECTOR_IN:
    return "in";
  case KUBE_SELECTOR_NOT_IN:
    return "notin";
  case KUBE_SELECTOR_EQUALS:
    return "=";
  case KUBE_SELECTOR_NOT_EQUALS:
    return "!=";
  case KUBE_SELECTOR_EXISTS:
    return "exists";
  case KUBE_SELECTOR_DOES_NOT_EXIST:
    return "!";
  case KUBE_SELECTOR_GT:
    return "gt";
  case KUBE_SELECTOR_LT:
    return "lt";
  }
  return "?";
}

/* labels.NewRequirement's checks, with field.Invalid's wording (the parser
 * has no field path, which Kubernetes prints as "<nil>"). */
int core_selector_check_requirement(const char *key, kube_selector_op_t op,
                                    const char *const *values, size_t n,
                                    const char *key_path, kube_error_t *err) {
  const char *msg = kube_validate_label_key(key);
  if (msg)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "%s: Invalid value: \"%s\": %s", key_path, key, msg);
  switch (op) {
  case KUBE_SELECTOR_IN:
  case KUBE_SELECTOR_NOT_IN:
    if (n == 0)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                            "values: Invalid value: []: for 'in', 'notin' "
                            "operators, values set can't be empty");
    break;
  case KUBE_SELECTOR_EQUALS:
  case KUBE_SELECTOR_NOT_EQUALS:
    if (n != 1)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                            "values: Invalid value: %zu values: exact-match "
                            "compatibility requires one single value",
                            n);
    break;
  case KUBE_SELECTOR_EXISTS:
  case KUBE_SELECTOR_DOES_NOT_EXIST:
    if (n != 0)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                            "values: Invalid value: %zu values: values set "
                            "must be empty for exists and does not exist",
                            n);
    break;
  case KUBE_SELECTOR_GT:
  case KUBE_SELECTOR_LT:
    if (n != 1)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                            "values: Invalid value: %zu values: for 'Gt', "
                            "'Lt' operators, exactly one value is required",
                            n);
    for (size_t i = 0; i < n; i++) {
      int64_t v;
      if (!values[i] || !core_parse_int64(values[i], &v))
        return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                              "values[%zu]: Invalid value: \"%s\": for 'Gt', "
                              "'Lt' operators, the value must be an integer",
                              i, values[i] ? values[i] : "");
    }
    break;
  default:
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "operator: Unsupported value: %d", (int)op);
  }
  for (size_t i = 0; i < n; i++) {
    const char *v = values[i] ? values[i] : "";
    msg = kube_validate_label_value(v);
    if (msg)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                            "values[%zu][%s]: Invalid value: \"%s\": %s", i,
                            key, v, msg);
  }
  return 0;
}

/* Build a requirement owning copies of key and values. */
int core_selector_req_init(kube_selector_requirement_t *r, const char *key,
                           size_t key_len, kube_selector_op_t op,
                           const char *const *values, size_t n,
                           kube_error_t *err) {
  memset(r, 0, sizeof(*r));
  r->op = op;
  r->key = strndup(key, key_len);
  if (!r->key)
    return kube_make_oom(err);
  if (n) {
    r->values = calloc(n, sizeof(char *));
    if (!r->values) {
      core_selector_req_clear(r);
      return kube_make_oom(err);
    }
    for (size_t i = 0; i < n; i++) {
      r->values[i] = strdup(values[i] ? values[i] : "");
      if (!r->values[i]) {
        r->n_values = i;
        core_selector_req_clear(r);
        return kube_make_oom(err);
      }
    }
  }
  r->n_values = n;
  return 0;
}

KUBE_EXPORT int kube_selector_add(kube_selector_t *sel, const char *key,
                                  kube_selector_op_t op,
                                  const char *const *values, size_t n_values,
                                  kube_error_t *err) {
  if (!sel || !key || (n_values && !values))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "invalid selector requirement");
  if (sel->field_selector) {
    if ((op != KUBE_SELECTOR_EQUALS && op != KUBE_SELECTOR_NOT_EQUALS) ||
        n_values != 1)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                            "field selectors support only one value with "
                            "=, == and != (got '%s' with %zu values)",
                            op_name(op), n_values);
  } else if (core_selector_check_requirement(key, op, values, n_values, "key",
                                             err) < 0) {
    return -1;
  }
  kube_selector_requirement_t r;
  if (core_selector_req_init(&r, key, strlen(key), op, values, n_values, err) <
      0)
    return -1;
  if (core_selector_insert(sel, &r, true, err) < 0) {
    core_selector_req_clear(&r);
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Matching and printing                                                     */
/* ------------------------------------------------------------------------ */

static bool has_value(const kube_selector_requirement_t *r, const char *v) {
  for (size_t i = 0; i < r->n_values; i++)
    if (strcmp(r->values[i], v) == 0)
      return true;
  return false;
}

static bool req_matches(const kube_selector_requirement_t *r, const char *v) {
  switch (r->op) {
  case KUBE_SELECTOR_EQUALS:
  case KUBE_SELECTOR_IN:
    return v && has_value(r, v);
  case KUBE_SELECTOR_NOT_EQUALS:
  case KUBE_SELECTOR_NOT_IN:
    return !v || !has_value(r, v);
  case KUBE_SELECTOR_EXISTS:
    return v != NULL;
  case KUBE_SELECTOR_DOES_NOT_EXIST:
    return v == NULL;
  case KUBE_SELECTOR_GT:
  case KUBE_SELECTOR_LT: {
    int64_t have, want;
    if (!v || r->n_values != 1 || !core_parse_int64(v, &have) ||
        !core_parse_int64(r->values[0], &want))
      return false;
    return r->op == KUBE_SELECTOR_GT ? have > want : have < want;
  }
  }
  return false;
}

KUBE_EXPORT bool kube_selector_matches(const kube_selector_t *sel,
                                       kube_selector_lookup_fn lookup,
                                       void *ctx) {
  if (!sel)
    return true;
  for (size_t i = 0; i < sel->n; i++) {
    const kube_selector_requirement_t *r = &sel->reqs[i];
    const char *v = lookup ? lookup(ctx, r->key) : NULL;
    /* fields.Fields.Get reads a missing field as "". */
    if (!v && sel->field_selector)
      v = "";
    if (!req_matches(r, v))
      return false;
  }
  return true;
}

static int cmp_strp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* fields.EscapeValue: \ , and = get a backslash. */
static void append_escaped(kube_strbuf_t *sb, const char *s) {
  for (; *s; s++) {
    if (*s == '\\' || *s == ',' || *s == '=')
      kube_strbuf_append_char(sb, '\\');
    kube_strbuf_append_char(sb, *s);
  }
}

static void append_label_req(kube_strbuf_t *sb,
                             const kube_selector_requirement_t *r) {
  if (r->op == KUBE_SELECTOR_DOES_NOT_EXIST)
    kube_strbuf_append_char(sb, '!');
  kube_strbuf_append(sb, r->key);
  switch (r->op) {
  case KUBE_SELECTOR_EXISTS:
  case KUBE_SELECTOR_DOES_NOT_EXIST:
    return;
  case KUBE_SELECTOR_EQUALS:
    kube_strbuf_append(sb, "=");
    break;
  case KUBE_SELECTOR_NOT_EQUALS:
    kube_strbuf_append(sb, "!=");
    break;
  case KUBE_SELECTOR_IN:
    kube_strbuf_append(sb, " in (");
    break;
  case KUBE_SELECTOR_NOT_IN:
    kube_strbuf_append(sb, " notin (");
    break;
  case KUBE_SELECTOR_GT:
    kube_strbuf_append(sb, ">");
    break;
  case KUBE_SELECTOR_LT:
    kube_strbuf_append(sb, "<");
    break;
  }
  /* Values print sorted without touching the selector (safeSort). */
  const char **sorted = NULL;
  if (r->n_values > 1) {
    sorted = malloc(r->n_values * sizeof(*sorted));
    if (!sorted) {
      sb->oom = true;
      return;
    }
    memcpy(sorted, r->values, r->n_values * sizeof(*sorted));
    qsort(sorted, r->n_values, sizeof(*sorted), cmp_strp);
  }
  for (size_t i = 0; i < r->n_values; i++) {
    if (i)
      kube_strbuf_append_char(sb, ',');
    kube_strbuf_append(sb, sorted ? sorted[i] : r->values[i]);
  }
  free(sorted);
  if (r->op == KUBE_SELECTOR_IN || r->op == KUBE_SELECTOR_NOT_IN)
    kube_strbuf_append_char(sb, ')');
}

KUBE_EXPORT char *kube_selector_to_string(const kube_selector_t *sel) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  for (size_t i = 0; sel && i < sel->n; i++) {
    const kube_selector_requirement_t *r = &sel->reqs[i];
    if (i)
      kube_strbuf_append_char(&sb, ',');
    if (sel->field_selector) {
      kube_strbuf_append(&sb, r->key);
      kube_strbuf_append(&sb, r->op == KUBE_SELECTOR_NOT_EQUALS ? "!=" : "=");
      append_escaped(&sb, r->n_values ? r->values[0] : "");
    } else {
      append_label_req(&sb, r);
    }
  }
  return kube_strbuf_steal(&sb);
}
