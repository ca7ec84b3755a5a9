/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Duplicate keys of JSON objects, found in the text: json-c keeps the last
 * of them silently, Kubernetes' strict decoding reports each
 * (`duplicate field "spec.replicas"`).  One pass over text the parser has
 * already accepted; keys are sorted per object, so a hostile object with
 * many keys costs n log n.
 */
#include "api/internal.h"

struct key {
  const char *p; /* raw key text between the quotes */
  size_t len;
};

struct level {
  bool is_object;
  size_t index;     /* arrays: the current item */
  struct key *keys; /* objects: keys seen */
  size_t n, cap;
  size_t path_mark; /* path length before this level's element */
};

struct scan {
  const char *d;
  size_t len, i;
  struct level *st;
  size_t depth, cap;
  kube_strbuf_t path;
  char ***out;
  size_t *n_out;
  bool oom;
};

static int key_cmp(const void *a, const void *b) {
  const struct key *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->p, y->p, n);
  return c ? c : (x->len > y->len) - (x->len < y->len);
}

static void report(struct scan *s, const struct key *k, const char *prefix,
                   size_t prefix_len) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append_len(&sb, prefix, prefix_len);
  if (prefix_len)
    kube_strbuf_append_char(&sb, '.');
  kube_strbuf_append_len(&sb, k->p, k->len);
  char **v = realloc(*s->out, (*s->n_out + 1) * sizeof(**s->out));
  if (!v || sb.oom) {
    s->oom = true;
    if (v)
      *s->out = v;
    kube_strbuf_clear(&sb);
    return;
  }
  *s->out = v;
  v[(*s->n_out)++] = kube_strbuf_steal(&sb);
}

/* At the end of an object: sort its keys and report repeats. */
static void close_object(struct scan *s, struct level *l) {
  if (l->n > 1) {
    qsort(l->keys, l->n, sizeof(*l->keys), key_cmp);
    for (size_t i = 1; i < l->n; i++)
      if (key_cmp(&l->keys[i - 1], &l->keys[i]) == 0 &&
          (i < 2 || key_cmp(&l->keys[i - 2], &l->keys[i]) != 0))
        report(s, &l->keys[i], s->path.data ? s->path.data : "", l->path_mark);
  }
  free(l->keys);
  l->keys = NULL;
  l->n = l->cap = 0;
}

static size_t string_end(struct scan *s, size_t i) {
  for (i++; i < s->len; i++) {
    if (s->d[i] == '\\')
      i++;
    else if (s->d[i] == '"')
      return i;
  }
  return s->len;
}

static bool push(struct scan *s, bool is_object) {
  if (s->depth == s->cap) {
    size_t c = s->cap ? s->cap * 2 : 16;
    struct level *n = realloc(s->st, c * sizeof(*n));
    if (!n)
      return false;
    s->st = n;
    s->cap = c;
  }
  s->st[s->depth++] =
      (struct level){.is_object = is_object, .path_mark = s->path.len};
  return true;
}

/* Set the path to the element about to be read at the top level. */
static void set_element(struct scan *s, const char *key, size_t klen) {
  struct level *l = &s->st[s->depth - 1];
  s->path.len = l->path_mark;
  if (s->path.data)
    s->path.data[s->path.len] = '\0';
  if (l->is_object) {
    if (s->path.len)
      kube_strbuf_append_char(&s->path, '.');
    kube_strbuf_append_len(&s->path, key, klen);
  } else {
    kube_strbuf_printf(&s->path, "[%zu]", l->index);
  }
}

int api_json_duplicates(const char *data, size_t len, char ***out,
                        size_t *n_out) {
  struct scan s = {.d = data, .len = len, .out = out, .n_out = n_out};
  *out = NULL;
  *n_out = 0;
  bool expect_key = false;
  for (s.i = 0; s.i < len && !s.oom; s.i++) {
    char c = data[s.i];
    if (c == '"') {
      size_t e = string_end(&s, s.i);
      if (expect_key && s.depth) {
        struct level *l = &s.st[s.depth - 1];
        if (l->n == l->cap) {
          size_t cap = l->cap ? l->cap * 2 : 8;
          struct key *k = realloc(l->keys, cap * sizeof(*k));
          if (!k) {
            s.oom = true;
            break;
          }
          l->keys = k;
          l->cap = cap;
        }
        l->keys[l->n++] = (struct key){data + s.i + 1, e - s.i - 1};
        set_element(&s, data + s.i + 1, e - s.i - 1);
        expect_key = false;
      }
      s.i = e;
    } else if (c == '{' || c == '[') {
      if (s.depth && !s.st[s.depth - 1].is_object)
        set_element(&s, NULL, 0);
      if (!push(&s, c == '{')) {
        s.oom = true;
        break;
      }
      expect_key = c == '{';
    } else if (c == '}' || c == ']') {
      if (!s.depth)
        break;
      struct level *l = &s.st[s.depth - 1];
      s.path.len = l->path_mark;
      if (s.path.data)
        s.path.data[s.path.len] = '\0';
      if (l->is_object)
        close_object(&s, l);
      s.depth--;
    } else if (c == ',') {
      if (s.depth && s.st[s.depth - 1].is_object)
        expect_key = true;
      else if (s.depth)
        s.st[s.depth - 1].index++;
    }
  }
  for (size_t i = 0; i < s.depth; i++)
    free(s.st[i].keys);
  free(s.st);
  kube_strbuf_clear(&s.path);
  if (s.oom || s.path.oom) {
    for (size_t i = 0; i < *n_out; i++)
      free((*out)[i]);
    free(*out);
    *out = NULL;
    *n_out = 0;
    return -1;
  }
  return 0;
}
