/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Selector string parsers.  The label parser is a transcription of
 * labels.Parse (lexer, recursive descent, error texts, sorted result); the
 * field parser of fields.ParseSelector (splitTerms/splitTerm/UnescapeValue).
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "core/util.h"

/* ------------------------------------------------------------------------ */
/* Label selector lexer                                                      */
/* ------------------------------------------------------------------------ */

enum token {
  TOK_ERROR = 0,
  TOK_END,
  TOK_CLOSE_PAR,
  TOK_COMMA,
  TOK_NOT,
  TOK_DOUBLE_EQUALS,
  TOK_EQUALS,
  TOK_GT,
  TOK_ID,
  TOK_IN,
  TOK_LT,
  TOK_NOT_EQUALS,
  TOK_NOT_IN,
  TOK_OPEN_PAR,
};

struct item {
  enum token tok;
  const char *lit; /* into the input */
  size_t len;
};

struct parser {
  const char *s;
  size_t pos; /* lexer position */
  struct item *items;
  size_t n_items, cur;
  kube_error_t *err;
};

static bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_special(char c) {
  switch (c) {
  case '=':
  case '!':
  case '(':
  case ')':
  case ',':
  case '>':
  case '<':
    return true;
  }
  return false;
}

static enum token symbol_token(const char *s, size_t len) {
  static const struct {
    const char *s;
    enum token tok;
  } syms[] = {{")", TOK_CLOSE_PAR}, {",", TOK_COMMA},
              {"!", TOK_NOT},       {"==", TOK_DOUBLE_EQUALS},
              {"=", TOK_EQUALS},    {">", TOK_GT},
              {"<", TOK_LT},        {"!=", TOK_NOT_EQUALS},
              {"(", TOK_OPEN_PAR}};
  for (size_t i = 0; i < ARRAY_SIZE(syms); i++)
    if (strlen(syms[i].s) == len && memcmp(syms[i].s, s, len) == 0)
      return syms[i].tok;
  return TOK_ERROR;
}

static struct item lex(struct parser *p) {
  const char *s = p->s;
  while (is_ws(s[p->pos]))
    p->pos++;
  size_t start = p->pos;
  if (s[start] == '\0')
    return (struct item){TOK_END, s + start, 0};
  if (is_special(s[start])) {
    /* Longest run of special characters that still forms a token. */
    enum token last = TOK_ERROR;
    size_t last_len = 0, len = 0;
    while (is_special(s[start + len])) {
      len++;
      enum token t = symbol_token(s + start, len);
      if (t != TOK_ERROR) {
        last = t;
        last_len = len;
      } else if (last != TOK_ERROR) {
        break;
      }
    }
    p->pos = start + last_len;
    return (struct item){last, s + start, last_len};
  }
  while (s[p->pos] && !is_special(s[p->pos]) && !is_ws(s[p->pos]))
    p->pos++;
  size_t len = p->pos - start;
  enum token t = TOK_ID;
  if (len == 2 && memcmp(s + start, "in", 2) == 0)
    t = TOK_IN;
  else if (len == 5 && memcmp(s + start, "notin", 5) == 0)
    t = TOK_NOT_IN;
  return (struct item){t, s + start, len};
}

static int scan(struct parser *p) {
  size_t cap = 0;
  for (;;) {
    if (p->n_items == cap) {
      cap = cap ? cap * 2 : 16;
      struct item *n = realloc(p->items, cap * sizeof(*n));
      if (!n)
        return kube_make_oom(p->err);
      p->items = n;
    }
    struct item it = lex(p);
    p->items[p->n_items++] = it;
    if (it.tok == TOK_END)
      return 0;
  }
}

/* In the values context the keywords in/notin are plain identifiers. */
static struct item lookahead(struct parser *p, bool values) {
  struct item it = p->items[p->cur];
  if (values && (it.tok == TOK_IN || it.tok == TOK_NOT_IN))
    it.tok = TOK_ID;
  return it;
}

static struct item consume(struct parser *p, bool values) {
  struct item it = lookahead(p, values);
  if (p->items[p->cur].tok != TOK_END)
    p->cur++;
  return it;
}

#define found_error(p, it, expected)                                           \
  kube_error_set((p)->err, KUBE_REASON_BAD_REQUEST, EINVAL,                    \
                 "unable to parse requirement: found '%.*s', expected: %s",    \
                 (int)(it).len, (it).lit, expected)

/* A set of values: sorted and unique, like sets.String.List(). */
struct valset {
  char **v;
  size_t n;
};

static void valset_free(struct valset *vs) {
  for (size_t i = 0; i < vs->n; i++)
    free(vs->v[i]);
  free(vs->v);
  vs->v = NULL;
  vs->n = 0;
}

static int valset_insert(struct parser *p, struct valset *vs, const char *s,
                         size_t len) {
  size_t lo = 0, hi = vs->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    size_t ml = strlen(vs->v[mid]);
    int c = memcmp(vs->v[mid], s, ml < len ? ml : len);
    if (c == 0)
      c = ml < len ? -1 : ml > len ? 1 : 0;
    if (c == 0)
      return 0;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  char *copy = strndup(s, len);
  char **n = realloc(vs->v, (vs->n + 1) * sizeof(*n));
  if (!copy || !n) {
    free(copy);
    if (n)
      vs->v = n;
    return kube_make_oom(p->err);
  }
  vs->v = n;
  memmove(n + lo + 1, n + lo, (vs->n - lo) * sizeof(*n));
  n[lo] = copy;
  vs->n++;
  return 0;
}

static int parse_identifiers_list(struct parser *p, struct valset *vs) {
  for (;;) {
    struct item it = consume(p, true);
    if (it.tok == TOK_ID) {
      if (valset_insert(p, vs, it.lit, it.len) < 0)
        return -1;
      struct item t2 = lookahead(p, true);
      if (t2.tok == TOK_COMMA)
        continue;
      if (t2.tok == TOK_CLOSE_PAR)
        return 0;
      return found_error(p, t2, "',' or ')'");
    } else if (it.tok == TOK_COMMA) {
      /* "(,", ",)" and ",," each stand for the empty value. */
      if (vs->n == 0 && valset_insert(p, vs, "", 0) < 0)
        return -1;
      struct item t2 = lookahead(p, true);
      if (t2.tok == TOK_CLOSE_PAR)
        return valset_insert(p, vs, "", 0);
      if (t2.tok == TOK_COMMA) {
        consume(p, true);
        if (valset_insert(p, vs, "", 0) < 0)
          return -1;
      }
    } else {
      return found_error(p, it, "',', or identifier");
    }
  }
}

static int parse_values(struct parser *p, struct valset *vs) {
  struct item it = consume(p, true);
  if (it.tok != TOK_OPEN_PAR)
    return kube_error_set(p->err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "unable to parse requirement: found '%.*s' "
                          "expected: '('",
                          (int)it.len, it.lit);
  it = lookahead(p, true);
  switch (it.tok) {
  case TOK_ID:
  case TOK_COMMA:
    if (parse_identifiers_list(p, vs) < 0)
      return -1;
    if (consume(p, true).tok != TOK_CLOSE_PAR)
      return found_error(p, it, "')'");
    return 0;
  case TOK_CLOSE_PAR:
    consume(p, true);
    return valset_insert(p, vs, "", 0);
  default:
    return found_error(p, it, "',', ')' or identifier");
  }
}

static int parse_exact_value(struct parser *p, struct valset *vs) {
  struct item it = lookahead(p, true);
  if (it.tok == TOK_END || it.tok == TOK_COMMA)
    return valset_insert(p, vs, "", 0);
  it = consume(p, true);
  if (it.tok == TOK_ID)
    return valset_insert(p, vs, it.lit, it.len);
  return found_error(p, it, "identifier");
}

static int parse_requirement(struct parser *p, kube_selector_t *sel) {
  /* parseKeyAndInferOperator */
  bool have_op = false;
  kube_selector_op_t op = KUBE_SELECTOR_EXISTS;
  struct item it = consume(p, true);
  if (it.tok == TOK_NOT) {
    op = KUBE_SELECTOR_DOES_NOT_EXIST;
    have_op = true;
    it = consume(p, true);
  }
  if (it.tok != TOK_ID)
    return found_error(p, it, "identifier");
  cleanup_free char *key = strndup(it.lit, it.len);
  if (!key)
    return kube_make_oom(p->err);
  const char *msg = kube_validate_label_key(key);
  if (msg)
    return kube_error_set(p->err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "unable to parse requirement: <nil>: Invalid "
                          "value: \"%s\": %s",
                          key, msg);
  enum token next = lookahead(p, true).tok;
  if (next == TOK_END || next == TOK_COMMA)
    have_op = true; /* Exists, unless '!' made it DoesNotExist */

  struct valset vs = {0};
  if (!have_op) {
    /* parseOperator */
    it = consume(p, false);
    switch (it.tok) {
    case TOK_IN:
      op = KUBE_SELECTOR_IN;
      break;
    case TOK_EQUALS:
    case TOK_DOUBLE_EQUALS:
      op = KUBE_SELECTOR_EQUALS;
      break;
    case TOK_GT:
      op = KUBE_SELECTOR_GT;
      break;
    case TOK_LT:
      op = KUBE_SELECTOR_LT;
      break;
    case TOK_NOT_IN:
      op = KUBE_SELECTOR_NOT_IN;
      break;
    case TOK_NOT_EQUALS:
      op = KUBE_SELECTOR_NOT_EQUALS;
      break;
    default:
      return found_error(p, it, "in, notin, =, ==, !=, gt, lt");
    }
    int r = op == KUBE_SELECTOR_IN || op == KUBE_SELECTOR_NOT_IN
                ? parse_values(p, &vs)
                : parse_exact_value(p, &vs);
    if (r < 0) {
      valset_free(&vs);
      return -1;
    }
  }
  kube_selector_requirement_t req;
  int r = core_selector_check_requirement(key, op, (const char *const *)vs.v,
                                          vs.n, "<nil>", p->err);
  if (r < 0) {
    kube_error_wrap(p->err, "unable to parse requirement");
  } else if ((r = core_selector_req_init(&req, key, strlen(key), op,
                                         (const char *const *)vs.v, vs.n,
                                         p->err)) == 0) {
    /* Kept sorted by key, equal keys in input order (labels.Parse). */
    r = core_selector_insert(sel, &req, true, p->err);
    if (r < 0)
      core_selector_req_clear(&req);
  }
  valset_free(&vs);
  return r;
}

static int parse_label(struct parser *p, kube_selector_t *sel) {
  if (scan(p) < 0)
    return -1;
  for (;;) {
    struct item it = lookahead(p, true);
    if (it.tok == TOK_END)
      return 0;
    if (it.tok != TOK_ID && it.tok != TOK_NOT)
      return kube_error_set(p->err, KUBE_REASON_BAD_REQUEST, EINVAL,
                            "found '%.*s', expected: !, identifier, or 'end "
                            "of string'",
                            (int)it.len, it.lit);
    if (parse_requirement(p, sel) < 0)
      return -1;
    it = consume(p, true);
    if (it.tok == TOK_END)
      return 0;
    if (it.tok != TOK_COMMA)
      return kube_error_set(p->err, KUBE_REASON_BAD_REQUEST, EINVAL,
                            "found '%.*s', expected: ',' or 'end of string'",
                            (int)it.len, it.lit);
    struct item t2 = lookahead(p, true);
    if (t2.tok != TOK_ID && t2.tok != TOK_NOT)
      return kube_error_set(p->err, KUBE_REASON_BAD_REQUEST, EINVAL,
                            "found '%.*s', expected: identifier after ','",
                            (int)t2.len, t2.lit);
  }
}

KUBE_EXPORT kube_selector_t *kube_label_selector_parse(const char *s,
                                                       kube_error_t *err) {
  kube_selector_t *sel = kube_selector_new();
  if (!sel) {
    kube_make_oom(err);
    return NULL;
  }
  struct parser p = {.s = s ? s : "", .err = err};
  int r = parse_label(&p, sel);
  free(p.items);
  if (r < 0) {
    kube_selector_free(sel);
    return NULL;
  }
  return sel;
}

/* ------------------------------------------------------------------------ */
/* Field selectors                                                           */
/* ------------------------------------------------------------------------ */

struct term {
  const char *s;
  size_t len;
};

static int cmp_term(const void *a, const void *b) {
  const struct term *x = a, *y = b;
  int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
  if (c)
    return c;
  return x->len < y->len ? -1 : x->len > y->len;
}

/* fields.UnescapeValue into a new string. */
static char *unescape_value(const char *s, size_t len, kube_error_t *err) {
  char *out = malloc(len + 1), *o = out;
  if (!out) {
    kube_make_oom(err);
    return NULL;
  }
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == '\\') {
      if (i + 1 == len) {
        free(out);
        kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                       "invalid field selector: invalid escape sequence: \\");
        return NULL;
      }
      c = s[++i];
      if (c != '\\' && c != ',' && c != '=') {
        free(out);
        kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                       "invalid field selector: invalid escape sequence: "
                       "\\%c",
                       c);
        return NULL;
      }
    } else if (c == ',' || c == '=') {
      free(out);
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                     "invalid field selector: unescaped character in value: "
                     "%c",
                     c);
      return NULL;
    }
    *o++ = c;
  }
  *o = '\0';
  return out;
}

static int parse_field_term(kube_selector_t *sel, const char *selector,
                            const struct term *t, kube_error_t *err) {
  /* splitTerm: the first "!=", "==" or "=", tried in that order. */
  size_t i, oplen = 0;
  kube_selector_op_t op = KUBE_SELECTOR_EQUALS;
  for (i = 0; i < t->len; i++) {
    const char *r = t->s + i;
    size_t left = t->len - i;
    if (left >= 2 && r[0] == '!' && r[1] == '=') {
      op = KUBE_SELECTOR_NOT_EQUALS, oplen = 2;
      break;
    }
    if (left >= 2 && r[0] == '=' && r[1] == '=') {
      oplen = 2;
      break;
    }
    if (r[0] == '=') {
      oplen = 1;
      break;
    }
  }
  if (oplen == 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "invalid selector: '%s'; can't understand '%.*s'",
                          selector, (int)t->len, t->s);
  cleanup_free char *value =
      unescape_value(t->s + i + oplen, t->len - i - oplen, err);
  if (!value)
    return -1;
  const char *values[] = {value};
  kube_selector_requirement_t req;
  if (core_selector_req_init(&req, t->s, i, op, values, 1, err) < 0)
    return -1;
  if (core_selector_insert(sel, &req, false, err) < 0) {
    core_selector_req_clear(&req);
    return -1;
  }
  return 0;
}

KUBE_EXPORT kube_selector_t *kube_field_selector_parse(const char *s,
                                                       kube_error_t *err) {
  if (!s)
    s = "";
  kube_selector_t *sel = kube_selector_new();
  if (!sel) {
    kube_make_oom(err);
    return NULL;
  }
  sel->field_selector = true;
  if (!*s)
    return sel;
  /* splitTerms: commas split terms unless backslash-escaped. */
  size_t n = 1;
  for (const char *c = s; *c; c++) {
    if (*c == '\\' && c[1])
      c++;
    else if (*c == ',')
      n++;
  }
  struct term *terms = calloc(n, sizeof(*terms));
  if (!terms) {
    kube_selector_free(sel);
    kube_make_oom(err);
    return NULL;
  }
  size_t k = 0;
  const char *start = s;
  for (const char *c = s;; c++) {
    if (*c == '\\' && c[1]) {
      c++;
    } else if (*c == ',' || *c == '\0') {
      terms[k++] = (struct term){start, (size_t)(c - start)};
      start = c + 1;
      if (!*c)
        break;
    }
  }
  qsort(terms, k, sizeof(*terms), cmp_term);
  for (size_t i = 0; i < k; i++) {
    if (terms[i].len == 0)
      continue;
    if (parse_field_term(sel, s, &terms[i], err) < 0) {
      free(terms);
      kube_selector_free(sel);
      return NULL;
    }
  }
  free(terms);
  return sel;
}
