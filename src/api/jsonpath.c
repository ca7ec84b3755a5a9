/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kubectl's JSONPath templates (a practical subset): text with {expr}
 * blocks; expressions .a.b, ['a.b'], [n], [a:b], [*], ..name, filters
 * [?(@.x=="v")] / [?(@.x)], {range expr}...{end}, string literals
 * {"\n"}.  Missing keys print nothing, as with `kubectl get -o jsonpath`.
 * The client prints with it (kube_jsonpath_eval); the API server fills
 * the additionalPrinterColumns of custom resources with it.
 */
#include <ctype.h>
#include <limits.h>
#include <json-c/json.h>

#include "api/internal.h"

/* A list of borrowed nodes. */
struct nodes {
  json_object **v;
  size_t n, cap;
  bool oom;
};

static void nodes_push(struct nodes *ns, json_object *o) {
  if (ns->n == ns->cap) {
    size_t nc = ns->cap ? ns->cap * 2 : 8;
    json_object **nv = realloc(ns->v, nc * sizeof *nv);
    if (!nv) {
      ns->oom = true;
      return;
    }
    ns->v = nv;
    ns->cap = nc;
  }
  ns->v[ns->n++] = o;
}

static void nodes_free(struct nodes *ns) {
  free(ns->v);
  memset(ns, 0, sizeof *ns);
}

static int syntax_error(kube_error_t *err, const char *expr, const char *why) {
  return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                        "error parsing jsonpath %s, %s", expr, why);
}

static void recurse_collect(json_object *o, const char *name, size_t nlen,
                            struct nodes *out) {
  if (json_object_is_type(o, json_type_object)) {
    json_object_object_foreach(o, key, val) {
      if (strlen(key) == nlen && memcmp(key, name, nlen) == 0)
        nodes_push(out, val);
      recurse_collect(val, name, nlen, out);
    }
  } else if (json_object_is_type(o, json_type_array)) {
    for (size_t i = 0; i < json_object_array_length(o); i++)
      recurse_collect(json_object_array_get_idx(o, i), name, nlen, out);
  }
}

static int eval_path(const char *expr, size_t len, json_object *cur,
                     json_object *root, struct nodes *out, kube_error_t *err);

/* Compare a filter operand with a literal: strings by text, numbers by value.
 */
static bool filter_match(json_object *v, const char *op, const char *lit,
                         size_t lit_len, bool lit_quoted) {
  bool eq;
  if (!v)
    return streq(op, "!=");
  if (lit_quoted || (!json_object_is_type(v, json_type_int) &&
                     !json_object_is_type(v, json_type_double))) {
    const char *s = json_object_get_string(v);
    eq = strlen(s) == lit_len && memcmp(s, lit, lit_len) == 0;
  } else {
    char buf[64];
    snprintf(buf, sizeof buf, "%.*s", (int)lit_len, lit);
    eq = json_object_get_double(v) == strtod(buf, NULL);
  }
  return streq(op, "==") ? eq : !eq;
}

/* Evaluate "[?(...)]" body (between the parentheses) over the elements of
 * arrays in `in`. */
static int apply_filter(const char *f, size_t flen, struct nodes *in,
                        json_object *root, struct nodes *out,
                        kube_error_t *err) {
  /* Split "@.path OP literal" or "@.path". */
  const char *op = NULL;
  size_t oplen = 0;
  bool in_quote = false;
  for (size_t i = 0; i + 1 < flen; i++) {
    if (f[i] == '"' || f[i] == '\'')
      in_quote = !in_quote;
    if (!in_quote && (f[i] == '=' || f[i] == '!') && f[i + 1] == '=') {
      op = f + i;
      oplen = 2;
      break;
    }
  }
  size_t lhs_len = op ? (size_t)(op - f) : flen;
  while (lhs_len > 0 && isspace((unsigned char)f[lhs_len - 1]))
    lhs_len--;
  const char *lit = NULL;
  size_t lit_len = 0;
  bool quoted = false;
  char opbuf[3] = "";
  if (op) {
    memcpy(opbuf, op, oplen);
    lit = op + oplen;
    lit_len = flen - (size_t)(lit - f);
    while (lit_len > 0 && isspace((unsigned char)*lit))
      lit++, lit_len--;
    while (lit_len > 0 && isspace((unsigned char)lit[lit_len - 1]))
      lit_len--;
    if (lit_len >= 2 && (lit[0] == '"' || lit[0] == '\'') &&
        lit[lit_len - 1] == lit[0]) {
      lit++;
      lit_len -= 2;
      quoted = true;
    }
  }
  for (size_t i = 0; i < in->n; i++) {
    json_object *arr = in->v[i];
    if (!json_object_is_type(arr, json_type_array))
      continue;
    for (size_t k = 0; k < json_object_array_length(arr); k++) {
      json_object *el = json_object_array_get_idx(arr, k);
      struct nodes r = {0};
      if (eval_path(f, lhs_len, el, root, &r, err) < 0) {
        nodes_free(&r);
        return -1;
      }
      bool keep;
      if (!op)
        keep = r.n > 0 && r.v[0] != NULL;
      else
        keep = filter_match(r.n ? r.v[0] : NULL, opbuf, lit, lit_len, quoted);
      nodes_free(&r);
      if (keep)
        nodes_push(out, el);
    }
  }
  return 0;
}

/* Every member of the objects and every element of the arrays in `in`
 * (".*" and "[*]"). */
static void children_collect(const struct nodes *in, struct nodes *out) {
  for (size_t k = 0; k < in->n; k++) {
    json_object *o = in->v[k];
    if (json_object_is_type(o, json_type_object)) {
      json_object_object_foreach(o, key, val) {
        (void)key;
        nodes_push(out, val);
      }
    } else if (json_object_is_type(o, json_type_array)) {
      for (size_t e = 0; e < json_object_array_length(o); e++)
        nodes_push(out, json_object_array_get_idx(o, e));
    }
  }
}

/* The member `name` (nlen bytes) of every object in `in`. */
static int member_collect(const struct nodes *in, const char *name, size_t nlen,
                          struct nodes *out, kube_error_t *err) {
  cleanup_free char *key = strndup(name, nlen);
  if (!key)
    return kube_make_oom(err);
  for (size_t k = 0; k < in->n; k++) {
    json_object *v;
    if (json_object_is_type(in->v[k], json_type_object) &&
        json_object_object_get_ex(in->v[k], key, &v))
      nodes_push(out, v);
  }
  return 0;
}

static bool is_name_char(char c) {
  return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '/' ||
         c == '$' || (unsigned char)c >= 0x80;
}

static int eval_path(const char *expr, size_t len, json_object *cur,
                     json_object *root, struct nodes *out, kube_error_t *err) {
  struct nodes a = {0}, b = {0};
  size_t i = 0;
  while (i < len && isspace((unsigned char)expr[i]))
    i++;
  if (i < len && expr[i] == '$') {
    nodes_push(&a, root);
    i++;
  } else {
    if (i < len && expr[i] == '@')
      i++;
    nodes_push(&a, cur);
  }
  int r = 0;
  while (i < len && r == 0) {
    char c = expr[i];
    b.n = 0;
    if (c == '.' && i + 1 < len && expr[i + 1] == '.') {
      i += 2;
      size_t s = i;
      while (i < len && is_name_char(expr[i]))
        i++;
      for (size_t k = 0; k < a.n; k++)
        recurse_collect(a.v[k], expr + s, i - s, &b);
    } else if (c == '.') {
      i++;
      size_t s = i;
      if (i < len && expr[i] == '*') {
        i++;
        children_collect(&a, &b);
      } else {
        /* A name; "\." (or any "\c") is the character itself, as in
         * kubectl's {.metadata.annotations.kubernetes\.io/name}. */
        bool escaped = false;
        while (i < len && (is_name_char(expr[i]) ||
                           (expr[i] == '\\' && i + 1 < len))) {
          if (expr[i] == '\\') {
            escaped = true;
            i++;
          }
          i++;
        }
        if (i == s) {
          /* A lone "." (or "{.}") is the current node. */
          for (size_t k = 0; k < a.n; k++)
            nodes_push(&b, a.v[k]);
        } else if (escaped) {
          cleanup_free char *name = malloc(i - s);
          size_t n = 0;
          for (size_t k = s; name && k < i; k++)
            name[n++] = expr[k] == '\\' ? expr[++k] : expr[k];
          r = name ? member_collect(&a, name, n, &b, err) : kube_make_oom(err);
        } else {
          r = member_collect(&a, expr + s, i - s, &b, err);
        }
      }
    } else if (c == '[') {
      /* Find the matching ']' (quotes and nested brackets aware). */
      size_t s = i + 1, depth = 1, e = s;
      char q = 0;
      for (; e < len; e++) {
        if (q) {
          if (expr[e] == q)
            q = 0;
        } else if (expr[e] == '"' || expr[e] == '\'') {
          q = expr[e];
        } else if (expr[e] == '[') {
          depth++;
        } else if (expr[e] == ']' && --depth == 0) {
          break;
        }
      }
      if (e >= len) {
        r = syntax_error(err, expr, "unterminated array");
        break;
      }
      const char *in = expr + s;
      size_t ilen = e - s;
      i = e + 1;
      if (ilen >= 1 && in[0] == '?') {
        if (ilen < 3 || in[1] != '(' || in[ilen - 1] != ')') {
          r = syntax_error(err, expr, "malformed filter");
          break;
        }
        r = apply_filter(in + 2, ilen - 3, &a, root, &b, err);
      } else if (ilen == 1 && in[0] == '*') {
        children_collect(&a, &b);
      } else if (ilen >= 2 && (in[0] == '\'' || in[0] == '"') &&
                 in[ilen - 1] == in[0]) {
        r = member_collect(&a, in + 1, ilen - 2, &b, err);
      } else {
        char buf[64];
        if (ilen >= sizeof buf) {
          r = syntax_error(err, expr, "bad array index");
          break;
        }
        memcpy(buf, in, ilen);
        buf[ilen] = '\0';
        char *colon = strchr(buf, ':');
        char *end;
        long from = 0, to = 0;
        bool has_to = false;
        if (colon) {
          *colon = '\0';
          from = *buf ? strtol(buf, &end, 10) : 0;
          if (*buf && *end) {
            r = syntax_error(err, expr, "bad slice");
            break;
          }
          if (colon[1]) {
            to = strtol(colon + 1, &end, 10);
            if (*end) {
              r = syntax_error(err, expr, "bad slice");
              break;
            }
            has_to = true;
          }
        } else {
          from = strtol(buf, &end, 10);
          if (!*buf || *end) {
            r = syntax_error(err, expr, "bad array index");
            break;
          }
          if (from == LONG_MAX) { /* strtol saturates; no such index */
            r = syntax_error(err, expr, "array index out of range");
            break;
          }
          to = from + 1;
          has_to = true;
          if (from == -1)
            to = 0, has_to = false;
        }
        for (size_t k = 0; k < a.n; k++) {
          json_object *o = a.v[k];
          if (!json_object_is_type(o, json_type_array))
            continue;
          long n = (long)json_object_array_length(o);
          long f = from < 0 ? n + from : from;
          long t = has_to ? (to < 0 ? n + to : to) : n;
          if (f < 0)
            f = 0;
          if (t > n)
            t = n;
          for (long x = f; x < t; x++)
            nodes_push(&b, json_object_array_get_idx(o, (size_t)x));
        }
      }
    } else if (isspace((unsigned char)c)) {
      i++;
      continue;
    } else {
      r = syntax_error(err, expr, "unrecognized character");
      break;
    }
    struct nodes t = a;
    a = b;
    b = t;
    if (a.oom || b.oom)
      r = kube_make_oom(err);
  }
  for (size_t k = 0; r == 0 && k < a.n; k++)
    nodes_push(out, a.v[k]);
  nodes_free(&a);
  nodes_free(&b);
  return out->oom ? kube_make_oom(err) : r;
}

static void print_value(kube_strbuf_t *sb, json_object *v) {
  if (!v)
    return;
  switch (json_object_get_type(v)) {
  case json_type_string:
    kube_strbuf_append(sb, json_object_get_string(v));
    break;
  case json_type_object:
  case json_type_array:
    kube_strbuf_append(
        sb, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
    break;
  default:
    kube_strbuf_append(sb, json_object_get_string(v));
  }
}

/* A parsed template piece. */
enum tok_kind { TOK_TEXT, TOK_EXPR, TOK_RANGE, TOK_END };
struct tok {
  enum tok_kind kind;
  char *text; /* literal text or the expression */
};

static void toks_free(struct tok *t, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(t[i].text);
  free(t);
}

static char *unescape_literal(const char *s, size_t n) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "");
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\\' && i + 1 < n) {
      i++;
      switch (s[i]) {
      case 'n':
        kube_strbuf_append_char(&sb, '\n');
        break;
      case 't':
        kube_strbuf_append_char(&sb, '\t');
        break;
      case 'r':
        kube_strbuf_append_char(&sb, '\r');
        break;
      default:
        kube_strbuf_append_char(&sb, s[i]);
      }
    } else {
      kube_strbuf_append_char(&sb, s[i]);
    }
  }
  return kube_strbuf_steal(&sb);
}

static int tokenize(const char *tmpl, struct tok **out, size_t *n_out,
                    kube_error_t *err) {
  size_t cap = 8, n = 0;
  struct tok *t = calloc(cap, sizeof *t);
  if (!t)
    return kube_make_oom(err);
  const char *p = tmpl;
  while (*p) {
    if (n + 1 >= cap) {
      struct tok *nt = realloc(t, cap * 2 * sizeof *t);
      if (!nt) {
        toks_free(t, n);
        return kube_make_oom(err);
      }
      t = nt;
      cap *= 2;
    }
    if (*p != '{') {
      const char *s = p;
      while (*p && *p != '{')
        p++;
      t[n].kind = TOK_TEXT;
      t[n++].text = unescape_literal(s, (size_t)(p - s));
      if (!t[n - 1].text)
        goto oom;
      continue;
    }
    /* Find the closing brace outside quotes. */
    const char *s = ++p;
    char q = 0;
    for (; *p; p++) {
      if (q) {
        if (*p == '\\' && p[1])
          p++;
        else if (*p == q)
          q = 0;
      } else if (*p == '"' || *p == '\'') {
        q = *p;
      } else if (*p == '}') {
        break;
      }
    }
    if (!*p) {
      toks_free(t, n);
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "error parsing jsonpath %s, unclosed action", tmpl);
    }
    const char *e = p++;
    while (s < e && isspace((unsigned char)*s))
      s++;
    while (e > s && isspace((unsigned char)e[-1]))
      e--;
    size_t len = (size_t)(e - s);
    if (len >= 2 && (*s == '"' || *s == '\'') && e[-1] == *s) {
      t[n].kind = TOK_TEXT;
      t[n].text = unescape_literal(s + 1, len - 2);
    } else if (len == 3 && memcmp(s, "end", 3) == 0) {
      t[n].kind = TOK_END;
      t[n].text = strdup("");
    } else if (len > 6 && memcmp(s, "range", 5) == 0 &&
               isspace((unsigned char)s[5])) {
      t[n].kind = TOK_RANGE;
      t[n].text = strndup(s + 6, len - 6);
    } else {
      t[n].kind = TOK_EXPR;
      t[n].text = strndup(s, len);
    }
    if (!t[n++].text)
      goto oom;
  }
  *out = t;
  *n_out = n;
  return 0;
oom:
  toks_free(t, n);
  return kube_make_oom(err);
}

/* Index of the END matching the RANGE at `i`, or n. */
static size_t matching_end(const struct tok *t, size_t n, size_t i) {
  int depth = 0;
  for (size_t k = i; k < n; k++) {
    if (t[k].kind == TOK_RANGE)
      depth++;
    else if (t[k].kind == TOK_END && --depth == 0)
      return k;
  }
  return n;
}

static int run(const struct tok *t, size_t from, size_t to, json_object *cur,
               json_object *root, kube_strbuf_t *sb, kube_error_t *err) {
  for (size_t i = from; i < to; i++) {
    if (t[i].kind == TOK_TEXT) {
      kube_strbuf_append(sb, t[i].text);
    } else if (t[i].kind == TOK_EXPR) {
      struct nodes r = {0};
      if (eval_path(t[i].text, strlen(t[i].text), cur, root, &r, err) < 0) {
        nodes_free(&r);
        return -1;
      }
      for (size_t k = 0; k < r.n; k++) {
        if (k)
          kube_strbuf_append_char(sb, ' ');
        print_value(sb, r.v[k]);
      }
      nodes_free(&r);
    } else if (t[i].kind == TOK_RANGE) {
      size_t end = matching_end(t, to, i);
      if (end >= to)
        return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                              "error parsing jsonpath: range without end");
      struct nodes r = {0};
      if (eval_path(t[i].text, strlen(t[i].text), cur, root, &r, err) < 0) {
        nodes_free(&r);
        return -1;
      }
      for (size_t k = 0; k < r.n; k++)
        if (run(t, i + 1, end, r.v[k], root, sb, err) < 0) {
          nodes_free(&r);
          return -1;
        }
      nodes_free(&r);
      i = end;
    } else {
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "error parsing jsonpath: unexpected end");
    }
  }
  return 0;
}

char *api_jsonpath_eval(json_object *root, const char *tmpl,
                        kube_error_t *err) {
  struct tok *t = NULL;
  size_t n = 0;
  if (tokenize(tmpl, &t, &n, err) < 0)
    return NULL;
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "");
  int r = run(t, 0, n, root, root, &sb, err);
  toks_free(t, n);
  if (r < 0) {
    kube_strbuf_clear(&sb);
    return NULL;
  }
  char *s = kube_strbuf_steal(&sb);
  if (!s)
    kube_make_oom(err);
  return s;
}

int api_jsonpath_first(json_object *root, const char *expr, json_object **out,
                       kube_error_t *err) {
  struct nodes r = {0};
  const char *e = expr;
  size_t len = strlen(expr);
  /* A printer column's path may come with or without braces. */
  if (len >= 2 && e[0] == '{' && e[len - 1] == '}') {
    e++;
    len -= 2;
  }
  *out = NULL;
  if (eval_path(e, len, root, root, &r, err) < 0) {
    nodes_free(&r);
    return -1;
  }
  if (r.n)
    *out = r.v[0];
  nodes_free(&r);
  return 0;
}
