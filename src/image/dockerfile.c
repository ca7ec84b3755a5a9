/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Dockerfile syntax as BuildKit's parser reads it: parser directives at
 * the top (`# escape=`, `# syntax=`), comments, line continuations with
 * the escape character (comment and empty lines inside a continuation are
 * skipped), `--flag=value` options, JSON (exec) and shell forms; and the
 * shell-like word processing of ENV, LABEL, ARG, COPY, WORKDIR, ... with
 * $VAR, ${VAR}, ${VAR:-x}, ${VAR:+x}, quotes and escapes.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "image/internal.h"

void img_df_instr_clear(img_df_instr_t *in) {
  if (!in)
    return;
  free(in->cmd);
  free(in->original);
  for (size_t i = 0; i < in->n_flags; i++) {
    free(in->flags[i].name);
    free(in->flags[i].value);
  }
  free(in->flags);
  img_strv_free(in->args);
  free(in->rest);
  memset(in, 0, sizeof *in);
}

void img_dockerfile_clear(img_dockerfile_t *df) {
  if (!df)
    return;
  for (size_t i = 0; i < df->n; i++)
    img_df_instr_clear(&df->instrs[i]);
  free(df->instrs);
  memset(df, 0, sizeof *df);
}

static int perr(kube_error_t *err, int line, const char *fmt, const char *a) {
  return kube_error_set(err, KUBE_REASON_INVALID, 0, "Dockerfile:%d: %s%s",
                        line, fmt, a ? a : "");
}

/* ---- words and variables ------------------------------------------------- */

static int push_word(char ***v, size_t *n, size_t *cap, char *w) {
  if (!w)
    return -1;
  if (*n + 1 >= *cap) {
    size_t c = *cap ? 2 * *cap : 8;
    char **nv = realloc(*v, c * sizeof *nv);
    if (!nv) {
      free(w);
      return -1;
    }
    *v = nv;
    *cap = c;
  }
  (*v)[(*n)++] = w;
  (*v)[*n] = NULL;
  return 0;
}

/* BuildKit's parseWords: split at unquoted whitespace, quotes and escapes
 * kept in the words. */
static char **split_raw(const char *s, char escape, size_t *n_out) {
  char **v = NULL;
  size_t n = 0, cap = 0;
  kube_strbuf_t w = KUBE_STRBUF_INIT;
  char quote = 0;
  bool in_word = false;
  for (const char *p = s; *p; p++) {
    char c = *p;
    if (!quote && isspace((unsigned char)c)) {
      if (in_word) {
        if (push_word(&v, &n, &cap, kube_strbuf_steal(&w)) < 0)
          goto oom;
        in_word = false;
      }
      continue;
    }
    in_word = true;
    kube_strbuf_append_char(&w, c);
    if (c == escape && p[1] && quote != '\'') {
      kube_strbuf_append_char(&w, *++p);
      continue;
    }
    if (quote && c == quote)
      quote = 0;
    else if (!quote && (c == '"' || c == '\''))
      quote = c;
  }
  if (in_word && push_word(&v, &n, &cap, kube_strbuf_steal(&w)) < 0)
    goto oom;
  if (!v)
    v = calloc(1, sizeof *v);
  *n_out = n;
  return v;
oom:
  kube_strbuf_clear(&w);
  img_strv_free(v);
  return NULL;
}

/* An unquoted variable's value splits into words at its spaces, as
 * BuildKit's ProcessWords does. */
static int add_split(kube_strbuf_t *w, bool *have, char ***v, size_t *n,
                     size_t *cap, const char *val) {
  for (const char *p = val; *p; p++) {
    if (isspace((unsigned char)*p)) {
      if (*have && w->len && push_word(v, n, cap, kube_strbuf_steal(w)) < 0)
        return -1;
      *have = false;
      continue;
    }
    *have = true;
    kube_strbuf_append_char(w, *p);
  }
  return 0;
}

static bool is_name_char(char c) {
  return isalnum((unsigned char)c) || c == '_';
}

/* Expand one word: variables, quotes removed, escapes resolved.  With
 * `split`, unquoted whitespace separates words (ProcessWords). */
static char **expand(const char *s, char escape, img_df_lookup_fn lookup,
                     void *ctx, bool split, size_t *n_out, kube_error_t *err) {
  char **v = NULL;
  size_t n = 0, cap = 0;
  kube_strbuf_t w = KUBE_STRBUF_INIT;
  bool have = false; /* a word (maybe empty "") is in progress */
  char quote = 0;
  for (const char *p = s; *p; p++) {
    char c = *p;
    if (split && !quote && isspace((unsigned char)c)) {
      if (have && push_word(&v, &n, &cap,
                            w.data ? kube_strbuf_steal(&w) : strdup("")) < 0)
        goto oom;
      have = false;
      continue;
    }
    have = true;
    if (quote == '\'') {
      if (c == '\'')
        quote = 0;
      else
        kube_strbuf_append_char(&w, c);
      continue;
    }
    if (c == escape && p[1]) {
      p++;
      /* inside double quotes only $, ", the escape and newlines are
       * special: a backslash before anything else stays */
      if (quote == '"' && *p != '$' && *p != '"' && *p != escape)
        kube_strbuf_append_char(&w, c);
      kube_strbuf_append_char(&w, *p);
      continue;
    }
    if (c == '"') {
      quote = quote ? 0 : '"';
      continue;
    }
    if (c == '\'' && !quote) {
      quote = '\'';
      continue;
    }
    if (c != '$') {
      kube_strbuf_append_char(&w, c);
      continue;
    }
    /* $NAME or ${NAME[op word]} */
    if (p[1] == '{') {
      const char *q = p + 2;
      const char *name = q;
      while (is_name_char(*q))
        q++;
      size_t nl = (size_t)(q - name);
      if (nl == 0) {
        kube_error_set(err, KUBE_REASON_INVALID, 0,
                       "bad substitution in \"%s\"", s);
        goto fail;
      }
      char op[3] = "";
      if (*q == ':' && (q[1] == '-' || q[1] == '+' || q[1] == '?')) {
        op[0] = ':';
        op[1] = q[1];
        q += 2;
      } else if (*q == '-' || *q == '+' || *q == '?') {
        op[0] = *q;
        q++;
      }
      /* the word runs to the matching brace (nested ${} allowed) */
      const char *wstart = q;
      int depth = 1;
      while (*q && depth) {
        if (*q == escape && q[1])
          q++;
        else if (*q == '{')
          depth++;
        else if (*q == '}')
          depth--;
        if (depth)
          q++;
      }
      if (*q != '}') {
        kube_error_set(err, KUBE_REASON_INVALID, 0, "missing '}' in \"%s\"", s);
        goto fail;
      }
      cleanup_free char *nm = strndup(name, nl);
      cleanup_free char *word = strndup(wstart, (size_t)(q - wstart));
      if (!nm || !word)
        goto oom;
      const char *val = lookup ? lookup(ctx, nm) : NULL;
      bool colon = op[0] == ':';
      char o = colon ? op[1] : op[0];
      bool unset = !val || (colon && !*val);
      const char *use = val;
      cleanup_free char *exp = NULL;
      if (o == '-' || o == '+' || o == '?') {
        bool take_word = o == '-' ? unset : o == '+' ? !unset : false;
        if (o == '?' && unset) {
          kube_error_set(err, KUBE_REASON_INVALID, 0, "%s: %s", nm,
                         *word ? word : "is not allowed to be unset");
          goto fail;
        }
        if (o == '+' && unset)
          use = "";
        if (take_word) {
          size_t en = 0;
          char **ev = expand(word, escape, lookup, ctx, false, &en, err);
          if (!ev)
            goto fail;
          exp = en ? strdup(ev[0]) : strdup("");
          img_strv_free(ev);
          use = exp;
        }
      }
      if (use && split && !quote) {
        if (add_split(&w, &have, &v, &n, &cap, use) < 0)
          goto oom;
      } else if (use)
        kube_strbuf_append(&w, use);
      p = q;
      continue;
    }
    if (is_name_char(p[1])) {
      const char *q = p + 1;
      while (is_name_char(*q))
        q++;
      cleanup_free char *nm = strndup(p + 1, (size_t)(q - p - 1));
      if (!nm)
        goto oom;
      const char *val = lookup ? lookup(ctx, nm) : NULL;
      if (val && split && !quote) {
        if (add_split(&w, &have, &v, &n, &cap, val) < 0)
          goto oom;
      } else if (val)
        kube_strbuf_append(&w, val);
      p = q - 1;
      continue;
    }
    kube_strbuf_append_char(&w, '$');
  }
  if (quote) {
    kube_error_set(err, KUBE_REASON_INVALID, 0,
                   "unexpected end of statement "
                   "while looking for matching %c in \"%s\"",
                   quote, s);
    goto fail;
  }
  if ((have || !split) &&
      push_word(&v, &n, &cap, w.data ? kube_strbuf_steal(&w) : strdup("")) < 0)
    goto oom;
  if (!v)
    v = calloc(1, sizeof *v);
  kube_strbuf_clear(&w);
  *n_out = n;
  return v;
oom:
  kube_make_oom(err);
fail:
  kube_strbuf_clear(&w);
  img_strv_free(v);
  return NULL;
}

char *img_df_expand(const char *word, char escape, img_df_lookup_fn lookup,
                    void *ctx, kube_error_t *err) {
  size_t n = 0;
  char **v = expand(word, escape, lookup, ctx, false, &n, err);
  if (!v)
    return NULL;
  char *r = n ? steal_pointer(&v[0]) : strdup("");
  img_strv_free(v);
  return r;
}

char **img_df_words(const char *text, char escape, img_df_lookup_fn lookup,
                    void *ctx, size_t *n, kube_error_t *err) {
  return expand(text, escape, lookup, ctx, true, n, err);
}

/* ---- lines --------------------------------------------------------------- */

static const char *skip_ws(const char *s) {
  while (*s == ' ' || *s == '\t')
    s++;
  return s;
}

/* Strip "<escape>[ \t]*" at the end; true when the line ends there. */
static bool trim_continuation(kube_strbuf_t *line, char escape) {
  size_t n = line->len;
  while (n && (line->data[n - 1] == ' ' || line->data[n - 1] == '\t' ||
               line->data[n - 1] == '\r'))
    n--;
  if (n && line->data[n - 1] == escape) {
    line->len = n - 1;
    line->data[line->len] = '\0';
    return false;
  }
  return true;
}

static bool is_known(const char *cmd) {
  static const char *const known[] = {
      "add",    "arg",   "cmd",         "copy",  "entrypoint", "env",
      "expose", "from",  "healthcheck", "label", "maintainer", "onbuild",
      "run",    "shell", "stopsignal",  "user",  "volume",     "workdir"};
  for (size_t i = 0; i < ARRAY_SIZE(known); i++)
    if (streq(cmd, known[i]))
      return true;
  return false;
}

static int parse_instruction(const char *line, int lineno, char escape,
                             img_df_instr_t *out, kube_error_t *err) {
  memset(out, 0, sizeof *out);
  out->line = lineno;
  const char *p = skip_ws(line);
  const char *ce = p;
  while (*ce && !isspace((unsigned char)*ce))
    ce++;
  out->cmd = strndup(p, (size_t)(ce - p));
  out->original = strdup(p);
  if (!out->cmd || !out->original)
    return kube_make_oom(err);
  for (char *c = out->cmd; *c; c++)
    *c = (char)tolower((unsigned char)*c);
  if (!is_known(out->cmd)) {
    int r = perr(err, lineno, "unknown instruction: ", out->cmd);
    return r;
  }
  p = skip_ws(ce);
  /* --flag[=value] options before the arguments */
  while (p[0] == '-' && p[1] == '-' && p[2] && !isspace((unsigned char)p[2])) {
    const char *e = p + 2;
    while (*e && !isspace((unsigned char)*e))
      e++;
    const char *eq = memchr(p, '=', (size_t)(e - p));
    img_df_flag_t *nf =
        realloc(out->flags, (out->n_flags + 1) * sizeof *out->flags);
    if (!nf)
      return kube_make_oom(err);
    out->flags = nf;
    img_df_flag_t *f = &out->flags[out->n_flags++];
    f->name = strndup(p + 2, (size_t)((eq ? eq : e) - (p + 2)));
    f->value = eq ? strndup(eq + 1, (size_t)(e - eq - 1)) : NULL;
    if (!f->name || (eq && !f->value))
      return kube_make_oom(err);
    p = skip_ws(e);
  }
  out->rest = strdup(p);
  if (!out->rest)
    return kube_make_oom(err);
  /* trailing whitespace is not part of the arguments */
  size_t rl = strlen(out->rest);
  while (rl && isspace((unsigned char)out->rest[rl - 1]))
    out->rest[--rl] = '\0';
  /* JSON (exec) form: an array of strings, nothing else */
  if (out->rest[0] == '[') {
    json_tokener *tok = json_tokener_new();
    json_object *o =
        tok ? json_tokener_parse_ex(tok, out->rest, (int)rl) : NULL;
    bool ok = o && json_tokener_get_error(tok) == json_tokener_success &&
              (size_t)tok->char_offset == rl &&
              json_object_is_type(o, json_type_array);
    for (size_t i = 0; ok && i < json_object_array_length(o); i++)
      ok = json_object_is_type(json_object_array_get_idx(o, i),
                               json_type_string);
    if (ok) {
      out->json = true;
      out->args = img_json_strv(o, &out->n_args);
    }
    json_object_put(o);
    if (tok)
      json_tokener_free(tok);
    if (ok && !out->args)
      return kube_make_oom(err);
  }
  if (!out->json) {
    out->args = split_raw(out->rest, escape, &out->n_args);
    if (!out->args)
      return kube_make_oom(err);
  }
  return 0;
}

int img_dockerfile_parse_line(const char *line, char escape,
                              img_df_instr_t *out, kube_error_t *err) {
  int r = parse_instruction(line, 1, escape, out, err);
  if (r < 0)
    img_df_instr_clear(out);
  return r;
}

static bool is_comment(const char *s) {
  return *skip_ws(s) == '#';
}

static bool blank(const char *s) {
  for (; *s; s++)
    if (!isspace((unsigned char)*s))
      return false;
  return true;
}

int img_dockerfile_parse(const char *text, size_t len, img_dockerfile_t *out,
                         kube_error_t *err) {
  memset(out, 0, sizeof *out);
  out->escape = '\\';
  /* split into physical lines (a UTF-8 BOM first is dropped) */
  const char *p = text, *end = text + len;
  if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
    p += 3;
  if (memchr(text, '\0', len))
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "Dockerfile: contains a NUL byte");
  size_t nlines = 0, cap = 0;
  char **lines = NULL;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
    if (nlines == cap) {
      cap = cap ? 2 * cap : 64;
      char **n = realloc(lines, cap * sizeof *n);
      if (!n)
        goto oom;
      lines = n;
    }
    lines[nlines] = strndup(p, l);
    if (!lines[nlines])
      goto oom;
    if (l && lines[nlines][l - 1] == '\r')
      lines[nlines][l - 1] = '\0';
    nlines++;
    p = nl ? nl + 1 : end;
  }
  size_t i = 0;
  /* parser directives: "# key=value" lines at the very top */
  for (; i < nlines; i++) {
    const char *s = skip_ws(lines[i]);
    if (*s != '#')
      break;
    s = skip_ws(s + 1);
    const char *k = s;
    while (isalnum((unsigned char)*s))
      s++;
    size_t kl = (size_t)(s - k);
    s = skip_ws(s);
    if (!kl || *s != '=')
      break;
    s = skip_ws(s + 1);
    char val[64];
    snprintf(val, sizeof val, "%s", s);
    size_t vl = strlen(val);
    while (vl && isspace((unsigned char)val[vl - 1]))
      val[--vl] = '\0';
    if (kl == 6 && strncasecmp(k, "escape", 6) == 0) {
      if (!(streq(val, "\\") || streq(val, "`"))) {
        kube_error_set(err, KUBE_REASON_INVALID, 0,
                       "Dockerfile:%zu: invalid escape token '%s' does not "
                       "match ` or \\",
                       i + 1, val);
        goto fail;
      }
      out->escape = val[0];
    }
  }
  for (; i < nlines; i++) {
    if (is_comment(lines[i]) || blank(lines[i]))
      continue;
    int start = (int)i + 1;
    kube_strbuf_t line = KUBE_STRBUF_INIT;
    kube_strbuf_append(&line, skip_ws(lines[i]));
    bool done = trim_continuation(&line, out->escape);
    while (!done && i + 1 < nlines) {
      i++;
      if (is_comment(lines[i]) || blank(lines[i]))
        continue;
      kube_strbuf_append(&line, lines[i]);
      done = trim_continuation(&line, out->escape);
    }
    if (line.oom)
      goto oom;
    if (blank(line.data ? line.data : "")) {
      kube_strbuf_clear(&line);
      continue;
    }
    img_df_instr_t *n =
        realloc(out->instrs, (out->n + 1) * sizeof *out->instrs);
    if (!n) {
      kube_strbuf_clear(&line);
      goto oom;
    }
    out->instrs = n;
    int r = parse_instruction(line.data, start, out->escape,
                              &out->instrs[out->n], err);
    kube_strbuf_clear(&line);
    if (r < 0) {
      img_df_instr_clear(&out->instrs[out->n]);
      goto fail;
    }
    out->n++;
  }
  for (size_t k = 0; k < nlines; k++)
    free(lines[k]);
  free(lines);
  if (out->n == 0) {
    img_dockerfile_clear(out);
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "Dockerfile: the file has no instructions");
  }
  return 0;
oom:
  kube_make_oom(err);
fail:
  for (size_t k = 0; k < nlines; k++)
    free(lines[k]);
  free(lines);
  img_dockerfile_clear(out);
  return -1;
}

/* ---- config instructions ------------------------------------------------- */

static json_object *obj_child(json_object *o, const char *key) {
  json_object *c = NULL;
  if (!json_object_object_get_ex(o, key, &c) ||
      !json_object_is_type(c, json_type_object)) {
    c = json_object_new_object();
    json_object_object_add(o, key, c);
  }
  return c;
}

/* "K=V" into the Env array, replacing K. */
static void env_set(json_object *config, const char *k, const char *v) {
  json_object *env = NULL;
  if (!json_object_object_get_ex(config, "Env", &env) ||
      !json_object_is_type(env, json_type_array)) {
    env = json_object_new_array();
    json_object_object_add(config, "Env", env);
  }
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_printf(&sb, "%s=%s", k, v);
  size_t kl = strlen(k);
  for (size_t i = 0; i < json_object_array_length(env); i++) {
    const char *e = json_object_get_string(json_object_array_get_idx(env, i));
    if (e && strncmp(e, k, kl) == 0 && e[kl] == '=') {
      json_object_array_put_idx(env, i, json_object_new_string(sb.data));
      kube_strbuf_clear(&sb);
      return;
    }
  }
  json_object_array_add(env, json_object_new_string(sb.data));
  kube_strbuf_clear(&sb);
}

/* Parse ENV/LABEL arguments into key/value pairs (expanded). */
static int name_vals(const img_df_instr_t *in, char escape,
                     img_df_lookup_fn lookup, void *ctx, char ***keys,
                     char ***vals, size_t *n, kube_error_t *err) {
  *keys = *vals = NULL;
  *n = 0;
  if (in->n_args == 0)
    return perr(err, in->line, in->cmd, " requires at least one argument");
  size_t cap = in->n_args + 1;
  char **k = calloc(cap, sizeof *k), **v = calloc(cap, sizeof *v);
  if (!k || !v) {
    free(k);
    free(v);
    return kube_make_oom(err);
  }
  size_t m = 0;
  int rc = 0;
  if (!strchr(in->args[0], '=')) {
    /* legacy "ENV key value with spaces" */
    if (in->n_args < 2) {
      rc = kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "Dockerfile:%d: %s must have two arguments", in->line,
                          in->cmd);
      goto out;
    }
    const char *rest = skip_ws(in->rest + strlen(in->args[0]));
    k[0] = img_df_expand(in->args[0], escape, lookup, ctx, err);
    v[0] = img_df_expand(rest, escape, lookup, ctx, err);
    if (!k[0] || !v[0]) {
      rc = -1;
      goto out;
    }
    m = 1;
  } else {
    for (size_t i = 0; i < in->n_args; i++) {
      const char *eq = strchr(in->args[i], '=');
      if (!eq) {
        rc = kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "Dockerfile:%d: Syntax error - can't find = in "
                            "\"%s\". Must be of the form: name=value",
                            in->line, in->args[i]);
        goto out;
      }
      cleanup_free char *kr = strndup(in->args[i], (size_t)(eq - in->args[i]));
      k[m] = kr ? img_df_expand(kr, escape, lookup, ctx, err) : NULL;
      v[m] = img_df_expand(eq + 1, escape, lookup, ctx, err);
      if (!k[m] || !v[m]) {
        m++;
        rc = -1;
        goto out;
      }
      if (!*k[m]) {
        m++;
        rc = kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "Dockerfile:%d: %s names can not be blank",
                            in->line, in->cmd);
        goto out;
      }
      m++;
    }
  }
out:
  if (rc < 0) {
    for (size_t i = 0; i < cap; i++) {
      free(k[i]);
      free(v[i]);
    }
    free(k);
    free(v);
    return -1;
  }
  *keys = k;
  *vals = v;
  *n = m;
  return 0;
}

/* Exec form as is; shell form wrapped in the image's SHELL. */
static json_object *command(json_object *config, const img_df_instr_t *in) {
  if (in->json)
    return img_strv_to_json(in->args);
  json_object *a = json_object_new_array();
  json_object *shell = NULL;
  if (json_object_object_get_ex(config, "Shell", &shell) &&
      json_object_is_type(shell, json_type_array) &&
      json_object_array_length(shell) > 0) {
    for (size_t i = 0; i < json_object_array_length(shell); i++)
      json_object_array_add(
          a, json_object_get(json_object_array_get_idx(shell, i)));
  } else {
    json_object_array_add(a, json_object_new_string("/bin/sh"));
    json_object_array_add(a, json_object_new_string("-c"));
  }
  json_object_array_add(a, json_object_new_string(in->rest));
  return a;
}


static const char *flag(const img_df_instr_t *in, const char *name) {
  for (size_t i = 0; i < in->n_flags; i++)
    if (streq(in->flags[i].name, name))
      return in->flags[i].value ? in->flags[i].value : "";
  return NULL;
}

static int check_flags(const img_df_instr_t *in, const char *const *allowed,
                       kube_error_t *err) {
  for (size_t i = 0; i < in->n_flags; i++) {
    bool ok = false;
    for (size_t k = 0; allowed && allowed[k]; k++)
      ok = ok || streq(allowed[k], in->flags[i].name);
    if (!ok)
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "Dockerfile:%d: unknown flag: --%s", in->line,
                            in->flags[i].name);
  }
  return 0;
}

static int healthcheck(json_object *config, const img_df_instr_t *in,
                       kube_error_t *err) {
  static const char *const ok[] = {"interval",       "timeout", "start-period",
                                   "start-interval", "retries", NULL};
  if (check_flags(in, ok, err) < 0)
    return -1;
  json_object *hc = json_object_new_object();
  json_object *test = json_object_new_array();
  const char *typ = in->json ? NULL : in->args[0];
  if (in->json || !typ)
    goto bad;
  if (strcasecmp(typ, "NONE") == 0) {
    if (in->n_args != 1)
      goto bad;
    json_object_array_add(test, json_object_new_string("NONE"));
  } else if (strcasecmp(typ, "CMD") == 0 && in->n_args >= 2) {
    const char *rest = skip_ws(in->rest + 3);
    img_df_instr_t sub;
    cleanup_free char *line = NULL;
    if (asprintf(&line, "CMD %s", rest) < 0)
      goto oom;
    if (img_dockerfile_parse_line(line, '\\', &sub, err) < 0)
      goto fail;
    if (sub.json) {
      json_object_array_add(test, json_object_new_string("CMD"));
      for (size_t i = 0; i < sub.n_args; i++)
        json_object_array_add(test, json_object_new_string(sub.args[i]));
    } else {
      json_object_array_add(test, json_object_new_string("CMD-SHELL"));
      json_object_array_add(test, json_object_new_string(sub.rest));
    }
    img_df_instr_clear(&sub);
  } else
    goto bad;
  json_object_object_add(hc, "Test", test);
  test = NULL;
  static const char *const durs[][2] = {{"interval", "Interval"},
                                        {"timeout", "Timeout"},
                                        {"start-period", "StartPeriod"},
                                        {"start-interval", "StartInterval"}};
  for (size_t i = 0; i < ARRAY_SIZE(durs); i++) {
    const char *v = flag(in, durs[i][0]);
    if (!v)
      continue;
    int64_t d = core_go_duration_ns(v);
    if (d < 0) {
      kube_error_set(err, KUBE_REASON_INVALID, 0,
                     "Dockerfile:%d: HEALTHCHECK --%s: bad duration \"%s\"",
                     in->line, durs[i][0], v);
      goto fail;
    }
    json_object_object_add(hc, durs[i][1], json_object_new_int64(d));
  }
  const char *r = flag(in, "retries");
  if (r) {
    char *e;
    long n = strtol(r, &e, 10);
    if (*e || n < 0) {
      kube_error_set(err, KUBE_REASON_INVALID, 0,
                     "Dockerfile:%d: HEALTHCHECK --retries: bad number",
                     in->line);
      goto fail;
    }
    json_object_object_add(hc, "Retries", json_object_new_int64(n));
  }
  json_object_object_add(config, "Healthcheck", hc);
  return 0;
bad:
  kube_error_set(err, KUBE_REASON_INVALID, 0,
                 "Dockerfile:%d: HEALTHCHECK wants NONE or CMD <command>",
                 in->line);
  goto fail;
oom:
  kube_make_oom(err);
fail:
  json_object_put(test);
  json_object_put(hc);
  return -1;
}

int img_df_apply_config(json_object *config, const img_df_instr_t *in,
                        char escape, img_df_lookup_fn lookup, void *ctx,
                        kube_error_t *err) {
  const char *c = in->cmd;
  if (!streq(c, "healthcheck") && check_flags(in, NULL, err) < 0)
    return -1;
  if (streq(c, "env") || streq(c, "label")) {
    char **k, **v;
    size_t n;
    if (name_vals(in, escape, lookup, ctx, &k, &v, &n, err) < 0)
      return -1;
    json_object *labels =
        streq(c, "label") ? obj_child(config, "Labels") : NULL;
    for (size_t i = 0; i < n; i++) {
      if (labels)
        json_object_object_add(labels, k[i], json_object_new_string(v[i]));
      else
        env_set(config, k[i], v[i]);
      free(k[i]);
      free(v[i]);
    }
    free(k);
    free(v);
    return 0;
  }
  if (streq(c, "cmd") || streq(c, "entrypoint")) {
    json_object_object_add(config, streq(c, "cmd") ? "Cmd" : "Entrypoint",
                           command(config, in));
    /* ENTRYPOINT resets a CMD inherited from the base image */
    if (streq(c, "entrypoint"))
      json_object_object_del(config, "Cmd");
    return 0;
  }
  if (streq(c, "shell")) {
    if (!in->json || in->n_args == 0)
      return perr(err, in->line,
                  "SHELL requires the arguments to be in JSON form", NULL);
    json_object_object_add(config, "Shell", img_strv_to_json(in->args));
    return 0;
  }
  if (streq(c, "healthcheck"))
    return healthcheck(config, in, err);
  if (streq(c, "onbuild")) {
    if (!*in->rest)
      return perr(err, in->line, "ONBUILD requires at least one argument",
                  NULL);
    img_df_instr_t sub;
    if (img_dockerfile_parse_line(in->rest, escape, &sub, err) < 0)
      return kube_error_wrap(err, "Dockerfile:%d: ONBUILD", in->line);
    bool bad = streq(sub.cmd, "onbuild") || streq(sub.cmd, "from") ||
               streq(sub.cmd, "maintainer");
    img_df_instr_clear(&sub);
    if (bad)
      return perr(err, in->line,
                  "ONBUILD does not allow FROM, MAINTAINER or ONBUILD", NULL);
    json_object *ob = NULL;
    if (!json_object_object_get_ex(config, "OnBuild", &ob) ||
        !json_object_is_type(ob, json_type_array)) {
      ob = json_object_new_array();
      json_object_object_add(config, "OnBuild", ob);
    }
    json_object_array_add(ob, json_object_new_string(in->rest));
    return 0;
  }
  /* the rest take words, expanded */
  size_t n = 0;
  char **w = NULL;
  if (in->json) {
    w = calloc(in->n_args + 1, sizeof *w);
    if (!w)
      return kube_make_oom(err);
    for (size_t i = 0; i < in->n_args; i++) {
      /* A failed expansion (bad ${...}) ends the instruction: no NULL
       * word may reach the handlers below. */
      if (!(w[n] = img_df_expand(in->args[i], escape, lookup, ctx, err))) {
        img_strv_free(w);
        return -1;
      }
      n++;
    }
  } else
    w = img_df_words(in->rest, escape, lookup, ctx, &n, err);
  if (!w)
    return -1;
  int rc = 0;
  if (streq(c, "workdir") || streq(c, "user") || streq(c, "stopsignal")) {
    if (n != 1) {
      rc = kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "Dockerfile:%d: %s requires exactly one argument",
                          in->line, in->cmd);
    } else if (streq(c, "workdir")) {
      /* relative WORKDIR is relative to the previous one */
      const char *prev = img_json_str(config, "WorkingDir");
      kube_strbuf_t sb = KUBE_STRBUF_INIT;
      if (w[0][0] != '/')
        kube_strbuf_printf(&sb, "%s/", prev && *prev ? prev : "");
      kube_strbuf_append(&sb, w[0]);
      cleanup_free char *joined = kube_strbuf_steal(&sb);
      cleanup_free char *clean = joined ? img_clean_path(joined) : NULL;
      kube_strbuf_printf(&sb, "/%s", clean ? clean : "");
      cleanup_free char *abs = kube_strbuf_steal(&sb);
      json_object_object_add(config, "WorkingDir",
                             json_object_new_string(abs ? abs : "/"));
    } else if (streq(c, "user"))
      json_object_object_add(config, "User", json_object_new_string(w[0]));
    else
      json_object_object_add(config, "StopSignal",
                             json_object_new_string(w[0]));
  } else if (streq(c, "expose")) {
    json_object *ports = obj_child(config, "ExposedPorts");
    for (size_t i = 0; i < n; i++) {
      char *slash = strchr(w[i], '/');
      char *e;
      long port = strtol(w[i], &e, 10);
      if (e == w[i] || (e != slash && *e) || port <= 0 || port > 65535 ||
          (slash && strcasecmp(slash + 1, "tcp") &&
           strcasecmp(slash + 1, "udp") && strcasecmp(slash + 1, "sctp"))) {
        rc = kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "Dockerfile:%d: invalid port \"%s\"", in->line,
                            w[i]);
        break;
      }
      char key[32];
      snprintf(key, sizeof key, "%ld/%s", port, slash ? slash + 1 : "tcp");
      for (char *q = key; *q; q++)
        *q = (char)tolower((unsigned char)*q);
      json_object_object_add(ports, key, json_object_new_object());
    }
  } else if (streq(c, "volume")) {
    json_object *vols = obj_child(config, "Volumes");
    if (n == 0)
      rc = perr(err, in->line, "VOLUME specified can not be an empty string",
                NULL);
    for (size_t i = 0; rc == 0 && i < n; i++)
      json_object_object_add(vols, w[i], json_object_new_object());
  } else if (streq(c, "maintainer")) {
    /* deprecated; docker keeps it as the Author field, not in config */
  } else
    rc = kube_error_set(err, KUBE_REASON_INVALID, 0,
                        "Dockerfile:%d: %s cannot be applied here", in->line,
                        in->cmd);
  img_strv_free(w);
  return rc;
}
