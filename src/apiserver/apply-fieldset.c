/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Field sets in the FieldsV1 shape (see apply-internal.h): set algebra,
 * wire conversion, path elements and resolving a path inside an object,
 * following sigs.k8s.io/structured-merge-diff's fieldpath package.
 */
#include "apiserver/apply-internal.h"
#include "core/util.h"

#define MEMBER "."

static const int to_string_flags =
    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;

json_object *as_fs_new(void) {
  return json_object_new_object();
}

/* The sets are kept in normalized FieldsV1 form, so they are written out
 * as they are: below the root, a node is a member when it is empty ({}) or
 * holds "."; every other node has children; "." is never alone. */

static size_t kids(json_object *node) {
  size_t n = (size_t)json_object_object_length(node);
  return json_object_object_get_ex(node, MEMBER, NULL) ? n - 1 : n;
}

static bool has_dot(json_object *node) {
  return json_object_object_get_ex(node, MEMBER, NULL);
}

static bool is_member(json_object *node) {
  return json_object_object_length(node) == 0 || has_dot(node);
}

static json_object *child(json_object *node, const char *el) {
  json_object *c = NULL;
  return json_object_object_get_ex(node, el, &c) ? c : NULL;
}

static int add_dot(json_object *node) {
  if (has_dot(node))
    return 0;
  json_object *m = json_object_new_object();
  if (!m || json_object_object_add(node, MEMBER, m) < 0) {
    json_object_put(m);
    return -1;
  }
  return 0;
}

/* The node at `el` under `node`, created when missing.  An existing member
 * leaf that is about to get children keeps its membership with a ".". */
static json_object *descend(json_object *node, const char *el, bool *fresh) {
  json_object *c = child(node, el);
  *fresh = false;
  if (c)
    return c;
  c = json_object_new_object();
  if (!c || json_object_object_add(node, el, c) < 0) {
    json_object_put(c);
    return NULL;
  }
  *fresh = true;
  return c;
}

int as_fs_add(json_object *set, const fs_path_t *path) {
  json_object *node = set;
  bool fresh = false;
  if (path->n == 0)
    return 0;
  for (size_t i = 0; i < path->n; i++) {
    bool was_fresh = fresh;
    /* A member leaf (not one just created) gaining a child. */
    if (i > 0 && !was_fresh && json_object_object_length(node) == 0 &&
        add_dot(node) < 0)
      return -1;
    if (!(node = descend(node, path->el[i], &fresh)))
      return -1;
  }
  if (fresh || is_member(node))
    return 0;
  return add_dot(node);
}

static json_object *node_at(json_object *set, const fs_path_t *path) {
  json_object *node = set;
  for (size_t i = 0; i < path->n && node; i++)
    node = child(node, path->el[i]);
  return node;
}

bool as_fs_has(json_object *set, const fs_path_t *path) {
  json_object *node = node_at(set, path);
  return node && path->n > 0 && is_member(node);
}

bool as_fs_has_below(json_object *set, const fs_path_t *path) {
  json_object *node = node_at(set, path);
  if (path->n == 0)
    return json_object_object_length(set) > 0;
  return node != NULL; /* every node below the root holds a member */
}

bool as_fs_has_children(json_object *set, const fs_path_t *path) {
  json_object *node = node_at(set, path);
  return node && kids(node) > 0;
}

bool as_fs_empty(json_object *set) {
  return json_object_object_length(set) == 0;
}

static int union_node(json_object *a, json_object *b, bool root) {
  json_object_object_foreach(b, key, bv) {
    if (streq(key, MEMBER))
      continue;
    json_object *ac = child(a, key);
    if (!ac) {
      json_object *c = as_patch_json_copy(bv);
      if (!c || json_object_object_add(a, key, c) < 0) {
        json_object_put(c);
        return -1;
      }
      continue;
    }
    if (json_object_object_length(ac) == 0 && kids(bv) > 0 && add_dot(ac) < 0)
      return -1;
    if (union_node(ac, bv, false) < 0)
      return -1;
  }
  if (!root && is_member(b) && !is_member(a) && add_dot(a) < 0)
    return -1;
  return 0;
}

int as_fs_union(json_object *a, json_object *b) {
  return union_node(a, b, true);
}

static bool intersects(json_object *a, json_object *b, bool root) {
  if (!root && is_member(a) && is_member(b))
    return true;
  json_object_object_foreach(b, key, bv) {
    if (streq(key, MEMBER))
      continue;
    json_object *ac = child(a, key);
    if (ac && intersects(ac, bv, false))
      return true;
  }
  return false;
}

bool as_fs_intersects(json_object *a, json_object *b) {
  return intersects(a, b, true);
}

/* Normalize `a` after its children or membership changed; true when it
 * must be dropped from its parent (no members left). */
static bool settle(json_object *a, bool member) {
  size_t k = kids(a);
  if (k == 0) {
    if (!member)
      return true;
    json_object_object_del(a, MEMBER); /* a member leaf is {} */
    return false;
  }
  if (member) {
    if (add_dot(a) < 0)
      return false; /* out of memory: keep it, over-approximating */
  } else {
    json_object_object_del(a, MEMBER);
  }
  return false;
}

static bool subtract_node(json_object *a, json_object *b, bool root) {
  bool a_member = !root && is_member(a);
  json_object_object_foreach(b, key, bv) {
    if (streq(key, MEMBER))
      continue;
    json_object *ac = child(a, key);
    if (ac && subtract_node(ac, bv, false))
      json_object_object_del(a, key);
  }
  if (root)
    return false;
  if (is_member(b))
    a_member = false;
  return settle(a, a_member);
}

void as_fs_subtract(json_object *a, json_object *b) {
  subtract_node(a, b, true);
}

static bool remove_subtree(json_object *node, const fs_path_t *path, size_t i,
                           bool root) {
  bool member = !root && is_member(node);
  json_object *c = child(node, path->el[i]);
  if (!c)
    return false;
  if (i + 1 == path->n || remove_subtree(c, path, i + 1, false))
    json_object_object_del(node, path->el[i]);
  return root ? false : settle(node, member);
}

void as_fs_remove_subtree(json_object *set, const fs_path_t *path) {
  if (path->n == 0) {
    json_object_object_foreach(set, key, val) {
      (void)val;
      json_object_object_del(set, key);
    }
    return;
  }
  remove_subtree(set, path, 0, true);
}

static int element_rank(const char *el) {
  switch (el[0]) {
  case 'f':
    return 0;
  case 'k':
    return 1;
  case 'v':
    return 2;
  case 'i':
    return 3;
  default:
    return 4;
  }
}

static int element_cmp(const void *a, const void *b) {
  const char *x = *(const char *const *)a, *y = *(const char *const *)b;
  int rx = element_rank(x), ry = element_rank(y);
  if (rx != ry)
    return rx - ry;
  return strcmp(x, y);
}

/* The children of node (without "."), sorted; owned array of borrowed
 * strings, *n its length. */
static const char **sorted_children(json_object *node, size_t *n) {
  size_t len = (size_t)json_object_object_length(node), k = 0;
  const char **keys = calloc(len + 1, sizeof(*keys));
  if (!keys)
    return NULL;
  json_object_object_foreach(node, key, val) {
    (void)val;
    if (!streq(key, MEMBER))
      keys[k++] = key;
  }
  qsort(keys, k, sizeof(*keys), element_cmp);
  *n = k;
  return keys;
}

static int walk(json_object *node, fs_path_t *path, fs_visit_fn fn, void *ctx) {
  int r;
  if (path->n > 0 && is_member(node) && (r = fn(path, ctx)))
    return r;
  if (path->n >= FS_MAX_DEPTH)
    return 0;
  size_t n;
  const char **keys = sorted_children(node, &n);
  if (!keys)
    return -1;
  for (size_t i = 0; i < n; i++) {
    path->el[path->n++] = keys[i];
    r = walk(child(node, keys[i]), path, fn, ctx);
    path->n--;
    if (r) {
      free(keys);
      return r;
    }
  }
  free(keys);
  return 0;
}

int as_fs_walk(json_object *set, fs_visit_fn fn, void *ctx) {
  fs_path_t path = {.n = 0};
  return walk(set, &path, fn, ctx);
}

static bool valid_element(const char *el) {
  return (el[0] == 'f' || el[0] == 'k' || el[0] == 'v' || el[0] == 'i') &&
         el[1] == ':';
}

/* A normalized copy of a FieldsV1 node. */
static json_object *from_wire(json_object *fv1, bool root, bool *bad) {
  if (!json_object_is_type(fv1, json_type_object)) {
    *bad = true;
    return NULL;
  }
  json_object *node = json_object_new_object();
  if (!node)
    return NULL;
  bool member = !root && (json_object_object_length(fv1) == 0 ||
                          json_object_object_get_ex(fv1, MEMBER, NULL));
  json_object_object_foreach(fv1, key, val) {
    if (streq(key, MEMBER))
      continue;
    if (!valid_element(key)) {
      *bad = true;
      goto fail;
    }
    json_object *c = from_wire(val, false, bad);
    if (!c || json_object_object_add(node, key, c) < 0) {
      json_object_put(c);
      goto fail;
    }
  }
  if (!root)
    settle(node, member);
  return node;
fail:
  json_object_put(node);
  return NULL;
}

/* Already valid and normalized (so it can be used as it is)? */
static bool normalized(json_object *node, bool root) {
  if (!json_object_is_type(node, json_type_object))
    return false;
  size_t k = 0;
  json_object_object_foreach(node, key, val) {
    if (streq(key, MEMBER)) {
      if (root || !json_object_is_type(val, json_type_object))
        return false;
      continue;
    }
    if (!valid_element(key) || !normalized(val, false))
      return false;
    k++;
  }
  return root || k > 0 || !has_dot(node);
}

json_object *as_fs_from_fieldsv1(json_object *fv1, bool share, bool *bad) {
  *bad = false;
  if (share && normalized(fv1, true))
    return json_object_get(fv1);
  return from_wire(fv1, true, bad);
}

char *as_fs_field_element(const char *name) {
  size_t n = strlen(name);
  char *s = malloc(n + 3);
  if (!s)
    return NULL;
  s[0] = 'f';
  s[1] = ':';
  memcpy(s + 2, name, n + 1);
  return s;
}

/* JSON text of a scalar for a path element ("x" quoted, 80 bare). */
static void append_json_value(kube_strbuf_t *sb, json_object *v) {
  if (json_object_is_type(v, json_type_string))
    kube_strbuf_append_json_string(sb, json_object_get_string(v));
  else
    kube_strbuf_append(sb, json_object_to_json_string_ext(v, to_string_flags));
}

static int str_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A list-map key field missing from an item: the API defaults protocol to
 * TCP, and apply keys ports by (port, protocol) with that default. */
static const char *key_default(const char *key) {
  return streq(key, "protocol") ? "TCP" : NULL;
}

/* Does item's key field equal want (applying the default above)? */
static bool key_matches(json_object *item, const char *key, json_object *want) {
  json_object *v = NULL;
  if (json_object_object_get_ex(item, key, &v) && v)
    return as_patch_json_equal(v, want);
  const char *def = key_default(key);
  return def && json_object_is_type(want, json_type_string) &&
         streq(json_object_get_string(want), def);
}

char *as_fs_key_element(json_object *item, const patch_field_t *field) {
  const char *keys[4];
  size_t nk = 0;
  if (!json_object_is_type(item, json_type_object))
    return NULL;
  for (size_t i = 0; i < 3 && field->keys[i]; i++)
    keys[nk++] = field->keys[i];
  qsort(keys, nk, sizeof(keys[0]), str_cmp);
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "k:{");
  size_t used = 0;
  for (size_t i = 0; i < nk; i++) {
    json_object *v = NULL;
    bool present = json_object_object_get_ex(item, keys[i], &v) && v;
    const char *def = key_default(keys[i]);
    if (!present && !def)
      continue;
    if (used++)
      kube_strbuf_append_char(&sb, ',');
    kube_strbuf_append_json_string(&sb, keys[i]);
    kube_strbuf_append_char(&sb, ':');
    if (present)
      append_json_value(&sb, v);
    else
      kube_strbuf_append_json_string(&sb, def);
  }
  kube_strbuf_append_char(&sb, '}');
  if (used == 0) {
    kube_strbuf_clear(&sb);
    return NULL;
  }
  return kube_strbuf_steal(&sb);
}

char *as_fs_value_element(json_object *value) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "v:");
  if (value)
    append_json_value(&sb, value);
  else
    kube_strbuf_append(&sb, "null");
  return kube_strbuf_steal(&sb);
}

static json_object *parse_element_json(const char *text) {
  enum json_tokener_error jerr;
  json_object *v = json_tokener_parse_verbose(text, &jerr);
  if (jerr != json_tokener_success)
    return NULL;
  return v;
}

/* Index of the list item addressed by a k:/v:/i: element, or -1. */
/* The key names of a "k:{...}" element, read without a JSON parser (they
 * are plain JSON strings of at most 63 bytes without escapes in every
 * Kubernetes list map).  Returns how many (0 when the element is not of
 * that simple form; the caller then parses it). */
static size_t key_names(const char *el, char names[3][64]) {
  const char *p = el + 2;
  size_t n = 0;
  if (*p++ != '{')
    return 0;
  while (*p == '"' && n < 3) {
    const char *start = ++p;
    while (*p && *p != '"' && *p != '\\')
      p++;
    if (*p != '"' || (size_t)(p - start) >= 64)
      return 0;
    memcpy(names[n], start, (size_t)(p - start));
    names[n][p - start] = '\0';
    n++;
    if (*++p != ':')
      return 0;
    p++;
    if (*p == '"') { /* skip a string value */
      for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && p[1])
          p++;
      if (*p++ != '"')
        return 0;
    } else {
      while (*p && *p != ',' && *p != '}')
        p++;
    }
    if (*p == ',')
      p++;
    else if (*p == '}')
      return p[1] == '\0' ? n : 0;
    else
      return 0;
  }
  return 0;
}

/* Fast path of find_item: encode each item's key (or value) the way
 * as_fs_key_element does and compare the text.  -1 when nothing matched
 * (the caller then compares parsed values, which also catches other
 * encodings of the same key). */
static long find_item_by_text(json_object *list, const char *el) {
  size_t n = json_object_array_length(list);
  char names[3][64];
  size_t nn = 0;
  if (el[0] == 'k' && !(nn = key_names(el, names)))
    return -1;
  for (size_t i = 0; i < n; i++) {
    json_object *item = json_object_array_get_idx(list, i);
    char *text;
    if (el[0] == 'v') {
      text = as_fs_value_element(item);
    } else {
      patch_field_t f = {.list = PATCH_LIST_MAP};
      for (size_t k = 0; k < nn; k++)
        f.keys[k] = names[k];
      text = as_fs_key_element(item, &f);
    }
    bool match = text && streq(text, el);
    free(text);
    if (match)
      return (long)i;
  }
  return -1;
}

static long find_item(json_object *list, const char *el) {
  size_t n = json_object_array_length(list);
  if (el[0] == 'i') {
    char *end;
    long idx = strtol(el + 2, &end, 10);
    if (*end || idx < 0 || (size_t)idx >= n)
      return -1;
    return idx;
  }
  long fast = find_item_by_text(list, el);
  if (fast >= 0)
    return fast;
  json_object *want = parse_element_json(el + 2);
  long found = -1;
  if (el[0] == 'v') {
    for (size_t i = 0; i < n && found < 0; i++)
      if (as_patch_json_equal(json_object_array_get_idx(list, i), want))
        found = (long)i;
  } else if (json_object_is_type(want, json_type_object)) {
    for (size_t i = 0; i < n && found < 0; i++) {
      json_object *item = json_object_array_get_idx(list, i);
      if (!json_object_is_type(item, json_type_object))
        continue;
      bool match = true;
      json_object_object_foreach(want, k, kv) {
        if (!key_matches(item, k, kv)) {
          match = false;
          break;
        }
      }
      if (match)
        found = (long)i;
    }
  }
  json_object_put(want);
  return found;
}

json_object *as_fs_lookup(json_object *obj, const fs_path_t *path,
                          bool *found) {
  json_object *cur = obj;
  *found = false;
  for (size_t i = 0; i < path->n; i++) {
    const char *el = path->el[i];
    if (el[0] == 'f') {
      if (!json_object_is_type(cur, json_type_object) ||
          !json_object_object_get_ex(cur, el + 2, &cur))
        return NULL;
    } else {
      if (!json_object_is_type(cur, json_type_array))
        return NULL;
      long idx = find_item(cur, el);
      if (idx < 0)
        return NULL;
      cur = json_object_array_get_idx(cur, (size_t)idx);
    }
  }
  *found = true;
  return cur;
}

void as_fs_remove_value(json_object *obj, const fs_path_t *path) {
  if (path->n == 0)
    return;
  fs_path_t parent = *path;
  parent.n--;
  bool found;
  json_object *p = as_fs_lookup(obj, &parent, &found);
  const char *el = path->el[path->n - 1];
  if (!found || !p)
    return;
  if (el[0] == 'f') {
    if (json_object_is_type(p, json_type_object))
      json_object_object_del(p, el + 2);
  } else if (json_object_is_type(p, json_type_array)) {
    long idx = find_item(p, el);
    if (idx >= 0)
      json_object_array_del_idx(p, (size_t)idx, 1);
  }
}

char *as_fs_path_string(const fs_path_t *path) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  for (size_t i = 0; i < path->n; i++) {
    const char *el = path->el[i];
    switch (el[0]) {
    case 'f':
      kube_strbuf_printf(&sb, ".%s", el + 2);
      break;
    case 'i':
      kube_strbuf_printf(&sb, "[%s]", el + 2);
      break;
    case 'v':
      kube_strbuf_printf(&sb, "[=%s]", el + 2);
      break;
    case 'k': {
      json_object *key = parse_element_json(el + 2);
      kube_strbuf_append_char(&sb, '[');
      if (json_object_is_type(key, json_type_object)) {
        bool first = true;
        json_object_object_foreach(key, k, v) {
          kube_strbuf_printf(&sb, "%s%s=", first ? "" : ",", k);
          append_json_value(&sb, v);
          first = false;
        }
      }
      kube_strbuf_append_char(&sb, ']');
      json_object_put(key);
      break;
    }
    }
  }
  return kube_strbuf_steal(&sb);
}

bool as_fs_path_ignored(const fs_path_t *path) {
  static const char *const meta[] = {
      "f:name",       "f:namespace",     "f:creationTimestamp",
      "f:selfLink",   "f:uid",           "f:clusterName",
      "f:generation", "f:managedFields", "f:resourceVersion",
  };
  if (path->n == 0)
    return false;
  /* Every element named here is a field ("f:"): others are not looked
   * up (this runs for every member of a created object). */
  const char *e0 = path->el[0];
  if (e0[0] != 'f' || e0[1] != ':')
    return false;
  if (streq(e0, "f:apiVersion") || streq(e0, "f:kind"))
    return true;
  if (!streq(e0, "f:metadata"))
    return false;
  if (path->n == 1)
    return true;
  if (path->el[1][0] != 'f' || path->el[1][1] != ':')
    return false;
  for (size_t i = 0; i < ARRAY_SIZE(meta); i++)
    if (streq(path->el[1], meta[i]))
      return true;
  return false;
}
