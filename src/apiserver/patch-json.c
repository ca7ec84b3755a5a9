/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 6902 JSON patch over RFC 6901 JSON pointers. */
#include <ctype.h>

#include "apiserver/patch.h"
#include "apiserver/patch-schema.h"
#include "core/util.h"

/* A parsed JSON pointer: unescaped reference tokens. */
typedef struct pointer {
  char **tok;
  size_t n;
} pointer_t;

static void pointer_free(pointer_t *p) {
  for (size_t i = 0; i < p->n; i++)
    free(p->tok[i]);
  free(p->tok);
  p->tok = NULL;
  p->n = 0;
}

static int pointer_parse(const char *s, pointer_t *p, kube_error_t *err) {
  p->tok = NULL;
  p->n = 0;
  if (*s == '\0')
    return 0; /* the whole document */
  if (*s != '/')
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "invalid JSON pointer %s: must start with /", s);
  size_t count = 0;
  for (const char *c = s; *c; c++)
    count += *c == '/';
  p->tok = calloc(count, sizeof(char *));
  if (!p->tok)
    return kube_make_oom(err);
  const char *c = s + 1;
  for (;;) {
    const char *end = strchr(c, '/');
    size_t len = end ? (size_t)(end - c) : strlen(c);
    char *t = malloc(len + 1), *o = t;
    if (!t) {
      pointer_free(p);
      return kube_make_oom(err);
    }
    p->tok[p->n++] = t;
    for (size_t i = 0; i < len; i++) {
      if (c[i] != '~') {
        *o++ = c[i];
        continue;
      }
      if (i + 1 < len && (c[i + 1] == '0' || c[i + 1] == '1')) {
        *o++ = c[i + 1] == '0' ? '~' : '/';
        i++;
        continue;
      }
      pointer_free(p);
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "invalid JSON pointer %s: bad ~ escape", s);
    }
    *o = '\0';
    if (!end)
      break;
    c = end + 1;
  }
  return 0;
}

/* Array index per RFC 6901: "0" or no leading zero; -1 when not one. */
static long parse_index(const char *t) {
  if (!*t || (t[0] == '0' && t[1]) || strlen(t) > 9)
    return -1;
  for (const char *c = t; *c; c++)
    if (!isdigit((unsigned char)*c))
      return -1;
  return strtol(t, NULL, 10);
}

/* Resolve the first `n` tokens.  Returns 0 with *out (borrowed; may be
 * NULL for a JSON null) or -1 when the location does not exist. */
static int resolve(json_object *doc, const pointer_t *p, size_t n,
                   json_object **out) {
  json_object *cur = doc;
  for (size_t i = 0; i < n; i++) {
    if (json_object_is_type(cur, json_type_object)) {
      if (!json_object_object_get_ex(cur, p->tok[i], &cur))
        return -1;
    } else if (json_object_is_type(cur, json_type_array)) {
      long idx = parse_index(p->tok[i]);
      if (idx < 0 || (size_t)idx >= json_object_array_length(cur))
        return -1;
      cur = json_object_array_get_idx(cur, (size_t)idx);
    } else {
      return -1;
    }
  }
  *out = cur;
  return 0;
}

static int missing(kube_error_t *err, const char *what, const char *path) {
  return kube_error_set(err, KUBE_REASON_INVALID, 0,
                        "doc is missing path: \"%s\": %s", path, what);
}

/* add: `val` is stolen.  *doc may be replaced (path ""). */
static int op_add(json_object **doc, const pointer_t *p, const char *path,
                  json_object *val, kube_error_t *err) {
  if (p->n == 0) {
    json_object_put(*doc);
    *doc = val;
    return 0;
  }
  json_object *parent = NULL;
  if (resolve(*doc, p, p->n - 1, &parent) < 0) {
    json_object_put(val);
    return missing(err, "missing value", path);
  }
  const char *last = p->tok[p->n - 1];
  if (json_object_is_type(parent, json_type_object)) {
    if (as_patch_json_set(parent, last, val) < 0)
      return kube_make_oom(err);
    return 0;
  }
  if (json_object_is_type(parent, json_type_array)) {
    size_t len = json_object_array_length(parent);
    long idx = streq(last, "-") ? (long)len : parse_index(last);
    if (idx < 0 || (size_t)idx > len) {
      json_object_put(val);
      return kube_error_set(err, KUBE_REASON_INVALID, 0,
                            "add operation does not apply: index out of "
                            "bounds in \"%s\"",
                            path);
    }
    if (as_patch_json_array_insert(parent, (size_t)idx, val) < 0)
      return kube_make_oom(err);
    return 0;
  }
  json_object_put(val);
  return missing(err, "parent is not a container", path);
}

/* remove: the removed value is returned in *removed (owned) when asked. */
static int op_remove(json_object **doc, const pointer_t *p, const char *path,
                     json_object **removed, kube_error_t *err) {
  json_object *parent = NULL, *target = NULL;
  if (p->n == 0 || resolve(*doc, p, p->n - 1, &parent) < 0 ||
      resolve(*doc, p, p->n, &target) < 0)
    return missing(err, "unable to remove nonexistent key", path);
  if (removed)
    *removed = json_object_get(target);
  const char *last = p->tok[p->n - 1];
  if (json_object_is_type(parent, json_type_object))
    json_object_object_del(parent, last);
  else
    json_object_array_del_idx(parent, (size_t)parse_index(last), 1);
  return 0;
}

static int op_replace(json_object **doc, const pointer_t *p, const char *path,
                      json_object *val, kube_error_t *err) {
  json_object *target = NULL;
  if (resolve(*doc, p, p->n, &target) < 0) {
    json_object_put(val);
    return missing(err, "replace operation does not apply", path);
  }
  if (p->n == 0) {
    json_object_put(*doc);
    *doc = val;
    return 0;
  }
  json_object *parent = NULL;
  resolve(*doc, p, p->n - 1, &parent);
  const char *last = p->tok[p->n - 1];
  if (json_object_is_type(parent, json_type_object)) {
    if (as_patch_json_set(parent, last, val) < 0)
      return kube_make_oom(err);
  } else if (json_object_array_put_idx(parent, (size_t)parse_index(last), val) <
             0) {
    json_object_put(val);
    return kube_make_oom(err);
  }
  return 0;
}

static const char *op_string(json_object *op, const char *key) {
  json_object *v = NULL;
  if (!json_object_object_get_ex(op, key, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

/* A copy of the op's "value" member (which may be JSON null). */
static int op_value(json_object *op, const char *name, json_object **out,
                    kube_error_t *err) {
  json_object *v = NULL;
  if (!json_object_object_get_ex(op, "value", &v))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "%s operation is missing \"value\"", name);
  *out = NULL;
  if (v && !(*out = as_patch_json_copy(v)))
    return kube_make_oom(err);
  return 0;
}

static int apply_op(json_object **doc, json_object *op, size_t index,
                    kube_error_t *err) {
  if (!json_object_is_type(op, json_type_object))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "json patch operation %zu is not an object", index);
  const char *name = op_string(op, "op");
  const char *path = op_string(op, "path");
  if (!name)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "json patch operation %zu has no \"op\"", index);
  if (!path)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "json patch operation %zu (%s) has no \"path\"",
                          index, name);
  pointer_t p, from_p = {0};
  if (pointer_parse(path, &p, err) < 0)
    return -1;
  int r = -1;
  json_object *val = NULL;
  const char *from = NULL;

  if (streq(name, "add")) {
    if (op_value(op, name, &val, err) == 0)
      r = op_add(doc, &p, path, val, err);
  } else if (streq(name, "remove")) {
    r = op_remove(doc, &p, path, NULL, err);
  } else if (streq(name, "replace")) {
    if (op_value(op, name, &val, err) == 0)
      r = op_replace(doc, &p, path, val, err);
  } else if (streq(name, "test")) {
    json_object *target = NULL;
    if (op_value(op, name, &val, err) < 0)
      goto out;
    if (resolve(*doc, &p, p.n, &target) < 0)
      r = missing(err, "test operation does not apply", path);
    else if (!as_patch_json_equal(target, val))
      r = kube_error_set(err, KUBE_REASON_INVALID, 0,
                         "testing value %s failed: test failed", path);
    else
      r = 0;
    json_object_put(val);
  } else if (streq(name, "move") || streq(name, "copy")) {
    json_object *src = NULL;
    from = op_string(op, "from");
    if (!from) {
      r = kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                         "%s operation is missing \"from\"", name);
      goto out;
    }
    if (pointer_parse(from, &from_p, err) < 0)
      goto out;
    if (resolve(*doc, &from_p, from_p.n, &src) < 0) {
      r = missing(err, "from path does not exist", from);
      goto out;
    }
    if (streq(name, "copy")) {
      json_object *copy = src ? as_patch_json_copy(src) : NULL;
      if (src && !copy)
        r = kube_make_oom(err);
      else
        r = op_add(doc, &p, path, copy, err);
      goto out;
    }
    if (streq(from, path)) {
      r = 0;
      goto out;
    }
    size_t flen = strlen(from);
    if (strncmp(path, from, flen) == 0 && path[flen] == '/') {
      r = kube_error_set(err, KUBE_REASON_INVALID, 0,
                         "move operation cannot move %s into its own "
                         "child %s",
                         from, path);
      goto out;
    }
    json_object *moved = NULL;
    if (op_remove(doc, &from_p, from, &moved, err) == 0)
      r = op_add(doc, &p, path, moved, err);
  } else {
    r = kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                       "unknown json patch operation \"%s\"", name);
  }
out:
  pointer_free(&p);
  pointer_free(&from_p);
  return r;
}

json_object *kube_patch_json(json_object *orig, json_object *ops,
                             kube_error_t *err) {
  if (!json_object_is_type(ops, json_type_array)) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "json patch must be an array of operations, not %s",
                   as_patch_json_type_name(ops));
    return NULL;
  }
  json_object *doc = NULL;
  if (orig && !(doc = as_patch_json_copy(orig))) {
    kube_make_oom(err);
    return NULL;
  }
  size_t n = json_object_array_length(ops);
  for (size_t i = 0; i < n; i++) {
    if (apply_op(&doc, json_object_array_get_idx(ops, i), i, err) < 0) {
      json_object_put(doc);
      return NULL;
    }
  }
  if (!doc) {
    /* The patch replaced the whole document with JSON null. */
    kube_error_set(err, KUBE_REASON_INVALID, 0,
                   "json patch result is null, not an object");
    return NULL;
  }
  return doc;
}
