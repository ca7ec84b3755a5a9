/* SPDX-License-Identifier: Apache-2.0 */
/*
 * YAML and JSON streams in (libyaml events -> json-c trees, resolving plain
 * scalars the way sigs.k8s.io/yaml (go-yaml v2, YAML 1.1) does), and YAML
 * out in kubectl's `-o yaml` layout (libyaml's emitter, which go-yaml
 * ports: indentless sequences in mappings, {} and [] for empty
 * collections, keys in go-yaml's order, strings quoted only when needed).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <yaml.h>

#include "api/internal.h"

/* Limits against hostile input (alias bombs, deep nesting). */
#define MAX_NODES 2000000
#define MAX_ANCHORS 10000

/* ---- YAML 1.1 scalar resolution (go-yaml v2 resolve.go) ---------------- */

static bool in_list(const char *s, const char *const *list) {
  for (; *list; list++)
    if (streq(s, *list))
      return true;
  return false;
}

static const char *const null_words[] = {"", "~", "null", "Null", "NULL", NULL};
static const char *const true_words[] = {"y",   "Y",    "yes",  "Yes",
                                         "YES", "true", "True", "TRUE",
                                         "on",  "On",   "ON",   NULL};
static const char *const false_words[] = {"n",   "N",     "no",    "No",
                                          "NO",  "false", "False", "FALSE",
                                          "off", "Off",   "OFF",   NULL};

/* Copy s without underscores into buf (go-yaml strips them before parsing
 * numbers).  False when it does not fit. */
static bool strip_underscores(const char *s, char *buf, size_t len) {
  size_t j = 0;
  for (size_t i = 0; s[i]; i++) {
    if (s[i] == '_')
      continue;
    if (j + 1 >= len)
      return false;
    buf[j++] = s[i];
  }
  buf[j] = '\0';
  return true;
}

static bool all_in(const char *s, const char *set) {
  if (!*s)
    return false;
  for (; *s; s++)
    if (!strchr(set, *s))
      return false;
  return true;
}

/* Go strconv.ParseInt/ParseUint with base 0 (sign handled by the caller):
 * "0x1f", "0o17", "017", "0b101", "123".  Fills *v; false when not an
 * integer or out of range. */
static bool parse_go_uint(const char *s, unsigned __int128 *v) {
  int base = 10;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s += 2;
    if (!all_in(s, "0123456789abcdefABCDEF"))
      return false;
  } else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
    base = 8;
    s += 2;
    if (!all_in(s, "01234567"))
      return false;
  } else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
    base = 2;
    s += 2;
    if (!all_in(s, "01"))
      return false;
  } else if (s[0] == '0' && s[1]) {
    base = 8;
    s += 1;
    if (!all_in(s, "01234567"))
      return false;
  } else if (!all_in(s, "0123456789")) {
    return false;
  }
  unsigned __int128 acc = 0;
  for (; *s; s++) {
    int d = isdigit((unsigned char)*s)
                ? *s - '0'
                : (tolower((unsigned char)*s) - 'a' + 10);
    acc = acc * (unsigned)base + (unsigned)d;
    if (acc > (unsigned __int128)UINT64_MAX)
      return false;
  }
  *v = acc;
  return true;
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool yaml_float_syntax(const char *s) {
  if (*s == '-' || *s == '+')
    s++;
  if (*s == '.') {
    s++;
    if (!isdigit((unsigned char)*s))
      return false;
    while (isdigit((unsigned char)*s))
      s++;
  } else {
    if (!isdigit((unsigned char)*s))
      return false;
    while (isdigit((unsigned char)*s))
      s++;
    if (*s == '.') {
      s++;
      while (isdigit((unsigned char)*s))
        s++;
    }
  }
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '-' || *s == '+')
      s++;
    if (!isdigit((unsigned char)*s))
      return false;
    while (isdigit((unsigned char)*s))
      s++;
  }
  return *s == '\0';
}

enum scalar_kind { SC_STR, SC_NULL, SC_BOOL, SC_INT, SC_UINT, SC_FLOAT };

struct scalar {
  enum scalar_kind kind;
  bool b;
  int64_t i;
  uint64_t u;
  double d;
};

/* Resolve a plain scalar as go-yaml v2 does. */
static enum scalar_kind resolve_plain(const char *s, struct scalar *out) {
  if (in_list(s, null_words))
    return out->kind = SC_NULL;
  if (in_list(s, true_words)) {
    out->b = true;
    return out->kind = SC_BOOL;
  }
  if (in_list(s, false_words)) {
    out->b = false;
    return out->kind = SC_BOOL;
  }
  if (!strchr("+-.0123456789", s[0]))
    return out->kind = SC_STR;
  if (streq(s, ".inf") || streq(s, ".Inf") || streq(s, ".INF") ||
      streq(s, "+.inf") || streq(s, "+.Inf") || streq(s, "+.INF")) {
    out->d = INFINITY;
    return out->kind = SC_FLOAT;
  }
  if (streq(s, "-.inf") || streq(s, "-.Inf") || streq(s, "-.INF")) {
    out->d = -INFINITY;
    return out->kind = SC_FLOAT;
  }
  if (streq(s, ".nan") || streq(s, ".NaN") || streq(s, ".NAN")) {
    out->d = NAN;
    return out->kind = SC_FLOAT;
  }
  char buf[128];
  if (!strip_underscores(s, buf, sizeof(buf)))
    return out->kind = SC_STR;
  const char *p = buf;
  bool neg = false;
  if (*p == '-' || *p == '+') {
    neg = *p == '-';
    p++;
  }
  unsigned __int128 v;
  if (*p && parse_go_uint(p, &v)) {
    if (!neg && v <= (unsigned __int128)INT64_MAX) {
      out->i = (int64_t)v;
      return out->kind = SC_INT;
    }
    if (neg && v <= (unsigned __int128)INT64_MAX + 1) {
      out->i = v == (unsigned __int128)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
      return out->kind = SC_INT;
    }
    if (!neg) {
      out->u = (uint64_t)v;
      return out->kind = SC_UINT;
    }
  }
  if (yaml_float_syntax(buf)) {
    errno = 0;
    out->d = strtod(buf, NULL);
    return out->kind = SC_FLOAT;
  }
  return out->kind = SC_STR;
}

/* The shortest %g text that reads back as d (Go's FormatFloat 'g', -1). */
static void format_double(double d, char *buf, size_t len) {
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, len, "%.*g", prec, d);
    if (strtod(buf, NULL) == d)
      return;
  }
}

static json_object *scalar_to_json(const struct scalar *sc, const char *text,
                                   size_t text_len, kube_error_t *err,
                                   const yaml_mark_t *mark) {
  switch (sc->kind) {
  case SC_NULL:
    return NULL;
  case SC_BOOL:
    return json_object_new_boolean(sc->b);
  case SC_INT:
    return json_object_new_int64(sc->i);
  case SC_UINT:
    return json_object_new_uint64(sc->u);
  case SC_FLOAT: {
    if (!isfinite(sc->d)) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "yaml: line %zu: unsupported value: %s (JSON cannot "
                     "represent it)",
                     (size_t)mark->line + 1, text);
      return NULL;
    }
    /* As JSON (Go float64 round trip), integral floats print as integers. */
    if (sc->d == floor(sc->d) && fabs(sc->d) < 9.007199254740992e15)
      return json_object_new_int64((int64_t)sc->d);
    char buf[64];
    format_double(sc->d, buf, sizeof(buf));
    return json_object_new_double_s(sc->d, buf);
  }
  case SC_STR:
  default:
    return json_object_new_string_len(text, (int)text_len);
  }
}

/* ---- event-driven loader ---------------------------------------------- */

struct anchor {
  char *name;
  json_object *value; /* owned ref (NULL for a null value) */
  size_t nodes;       /* size of the value, charged on every alias */
};

struct frame {
  json_object *container; /* owned until delivered */
  bool is_map;
  char *key; /* pending key of a mapping (owned) */
  bool have_key;
  bool key_is_merge;
  json_object *merges; /* array of values of "<<" keys */
  char *anchor;        /* anchor of the container itself */
  size_t nodes_at_start;
};

struct loader {
  /* A little deeper than JSON allows, so any tree we emit reads back. */
  struct frame stack[KUBE_JSON_MAX_DEPTH + 16];
  size_t depth;
  struct anchor *anchors;
  size_t n_anchors;
  size_t nodes;
  json_object *doc_root;
  bool doc_has_root;
  kube_error_t *err;
};

static size_t count_nodes(json_object *v) {
  size_t n = 1;
  if (json_object_is_type(v, json_type_object)) {
    json_object_object_foreach(v, k, child) {
      (void)k;
      n += count_nodes(child);
    }
  } else if (json_object_is_type(v, json_type_array)) {
    size_t len = json_object_array_length(v);
    for (size_t i = 0; i < len; i++)
      n += count_nodes(json_object_array_get_idx(v, i));
  }
  return n;
}

static void anchors_clear(struct loader *l) {
  for (size_t i = 0; i < l->n_anchors; i++) {
    free(l->anchors[i].name);
    json_object_put(l->anchors[i].value);
  }
  free(l->anchors);
  l->anchors = NULL;
  l->n_anchors = 0;
}

static void frames_clear(struct loader *l) {
  while (l->depth > 0) {
    struct frame *f = &l->stack[--l->depth];
    json_object_put(f->container);
    json_object_put(f->merges);
    free(f->key);
    free(f->anchor);
  }
}

static int loader_error(struct loader *l, const yaml_mark_t *m,
                        const char *msg) {
  return kube_error_set(l->err, KUBE_REASON_BAD_REQUEST, 0,
                        "yaml: line %zu, column %zu: %s", (size_t)m->line + 1,
                        (size_t)m->column + 1, msg);
}

static int register_anchor(struct loader *l, const char *name,
                           json_object *value, const yaml_mark_t *m) {
  if (!name)
    return 0;
  /* A redefined anchor replaces the old one for later aliases. */
  for (size_t i = 0; i < l->n_anchors; i++) {
    if (streq(l->anchors[i].name, name)) {
      json_object_put(l->anchors[i].value);
      l->anchors[i].value = json_object_get(value);
      l->anchors[i].nodes = value ? count_nodes(value) : 1;
      return 0;
    }
  }
  if (l->n_anchors >= MAX_ANCHORS)
    return loader_error(l, m, "too many anchors");
  struct anchor *a =
      realloc(l->anchors, (l->n_anchors + 1) * sizeof(*l->anchors));
  if (!a)
    return kube_make_oom(l->err);
  l->anchors = a;
  char *dup = strdup(name);
  if (!dup)
    return kube_make_oom(l->err);
  a[l->n_anchors].name = dup;
  a[l->n_anchors].value = json_object_get(value);
  a[l->n_anchors].nodes = value ? count_nodes(value) : 1;
  l->n_anchors++;
  return 0;
}

static int set_key(struct loader *l, struct frame *f, const char *key,
                   bool merge) {
  f->key = strdup(key);
  if (!f->key)
    return kube_make_oom(l->err);
  f->have_key = true;
  f->key_is_merge = merge;
  return 0;
}

/* Give a finished value (stolen, may be NULL for null) to the parent. */
static int deliver(struct loader *l, json_object *value, const yaml_mark_t *m) {
  if (l->depth == 0) {
    l->doc_root = value;
    l->doc_has_root = true;
    return 0;
  }
  struct frame *f = &l->stack[l->depth - 1];
  if (!f->is_map) {
    if (json_object_array_add(f->container, value) < 0) {
      json_object_put(value);
      return kube_make_oom(l->err);
    }
    return 0;
  }
  if (!f->have_key) {
    /* A mapping or sequence used as a key: JSON cannot express it. */
    json_object_put(value);
    return loader_error(l, m, "unsupported complex mapping key");
  }
  int r = 0;
  if (f->key_is_merge) {
    if (!f->merges)
      f->merges = json_object_new_array();
    if (!f->merges || json_object_array_add(f->merges, value) < 0) {
      json_object_put(value);
      r = kube_make_oom(l->err);
    }
  } else if (json_object_object_add(f->container, f->key, value) < 0) {
    json_object_put(value);
    r = kube_make_oom(l->err);
  }
  free(f->key);
  f->key = NULL;
  f->have_key = false;
  f->key_is_merge = false;
  return r;
}

/* Apply "<<" merge keys: keys already present win (YAML merge spec). */
static int apply_merges(struct loader *l, struct frame *f,
                        const yaml_mark_t *m) {
  size_t n = jarr_len(f->merges);
  for (size_t i = 0; i < n; i++) {
    json_object *src = json_object_array_get_idx(f->merges, i);
    json_object *list = src;
    size_t cnt = 1;
    bool is_list = json_object_is_type(src, json_type_array);
    if (is_list)
      cnt = json_object_array_length(src);
    for (size_t j = 0; j < cnt; j++) {
      json_object *one = is_list ? json_object_array_get_idx(list, j) : src;
      if (!json_object_is_type(one, json_type_object))
        return loader_error(l, m,
                            "map merge requires map or sequence of maps as "
                            "the value");
      json_object_object_foreach(one, k, v) {
        if (json_object_object_get_ex(f->container, k, NULL))
          continue;
        if (json_object_object_add(f->container, k, json_object_get(v)) < 0)
          return kube_make_oom(l->err);
      }
    }
  }
  return 0;
}

static int charge(struct loader *l, size_t n, const yaml_mark_t *m) {
  l->nodes += n;
  if (l->nodes > MAX_NODES)
    return loader_error(l, m, "document too large (alias expansion limit)");
  return 0;
}

/* A key scalar as sigs.k8s.io/yaml turns it into a JSON key. */
static int scalar_key(struct loader *l, struct frame *f,
                      const yaml_event_t *ev) {
  const char *text = (const char *)ev->data.scalar.value;
  bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
               ev->data.scalar.plain_implicit;
  if (!plain)
    return set_key(l, f, text, false);
  if (streq(text, "<<"))
    return set_key(l, f, text, true);
  struct scalar sc;
  char buf[64];
  switch (resolve_plain(text, &sc)) {
  case SC_BOOL:
    return set_key(l, f, sc.b ? "true" : "false", false);
  case SC_NULL:
    return set_key(l, f, "null", false);
  case SC_INT:
    snprintf(buf, sizeof(buf), "%" PRId64, sc.i);
    return set_key(l, f, buf, false);
  case SC_UINT:
    snprintf(buf, sizeof(buf), "%" PRIu64, sc.u);
    return set_key(l, f, buf, false);
  case SC_FLOAT:
    if (isfinite(sc.d)) {
      format_double(sc.d, buf, sizeof(buf));
      return set_key(l, f, buf, false);
    }
    return set_key(l, f, text, false);
  default:
    return set_key(l, f, text, false);
  }
}

static int on_scalar(struct loader *l, const yaml_event_t *ev) {
  const yaml_mark_t *m = &ev->start_mark;
  const char *text = (const char *)ev->data.scalar.value;
  size_t len = ev->data.scalar.length;
  if (charge(l, 1, m) < 0)
    return -1;
  /* A NUL ("\0" in a double-quoted scalar) would cut names, keys and
   * values short: refused, as in JSON. */
  if (memchr(text, '\0', len))
    return loader_error(l, m, "NUL character in a scalar");
  if (l->depth > 0) {
    struct frame *f = &l->stack[l->depth - 1];
    if (f->is_map && !f->have_key) {
      if (ev->data.scalar.anchor) {
        /* Keep the key text for aliases used as keys. */
        json_object *ks = json_object_new_string_len(text, (int)len);
        if (!ks)
          return kube_make_oom(l->err);
        int r = register_anchor(l, (const char *)ev->data.scalar.anchor, ks, m);
        json_object_put(ks);
        if (r < 0)
          return -1;
      }
      return scalar_key(l, f, ev);
    }
  }
  struct scalar sc = {.kind = SC_STR};
  const char *tag = (const char *)ev->data.scalar.tag;
  bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
  if (tag && (streq(tag, YAML_STR_TAG) || streq(tag, "!"))) {
    sc.kind = SC_STR;
  } else if (tag && (streq(tag, YAML_NULL_TAG) || streq(tag, YAML_BOOL_TAG) ||
                     streq(tag, YAML_INT_TAG) || streq(tag, YAML_FLOAT_TAG))) {
    resolve_plain(text, &sc);
  } else if (plain && !tag && len == strlen(text)) {
    resolve_plain(text, &sc);
  }
  kube_error_t *err = l->err;
  json_object *v = scalar_to_json(&sc, text, len, err, m);
  if (!v && sc.kind != SC_NULL) {
    if (!err || !kube_error_is_set(err))
      kube_make_oom(err);
    return -1;
  }
  if (ev->data.scalar.anchor &&
      register_anchor(l, (const char *)ev->data.scalar.anchor, v, m) < 0) {
    json_object_put(v);
    return -1;
  }
  return deliver(l, v, m);
}

static int on_alias(struct loader *l, const yaml_event_t *ev) {
  const yaml_mark_t *m = &ev->start_mark;
  const char *name = (const char *)ev->data.alias.anchor;
  struct anchor *a = NULL;
  for (size_t i = 0; i < l->n_anchors; i++)
    if (streq(l->anchors[i].name, name))
      a = &l->anchors[i];
  if (!a) {
    char msg[160];
    snprintf(msg, sizeof(msg), "unknown anchor '%.100s' referenced", name);
    return loader_error(l, m, msg);
  }
  if (charge(l, a->nodes, m) < 0)
    return -1;
  if (l->depth > 0) {
    struct frame *f = &l->stack[l->depth - 1];
    if (f->is_map && !f->have_key) {
      switch (json_object_get_type(a->value)) {
      case json_type_string:
        return set_key(l, f, json_object_get_string(a->value), false);
      case json_type_null:
        return set_key(l, f, "null", false);
      case json_type_boolean:
      case json_type_int:
      case json_type_double:
        /* a scalar anchored as a value, reused as a key: its JSON text */
        return set_key(
            l, f,
            json_object_to_json_string_ext(a->value, JSON_C_TO_STRING_PLAIN),
            false);
      default:
        return loader_error(l, m, "unsupported complex mapping key");
      }
    }
  }
  json_object *copy = NULL;
  if (a->value && json_object_deep_copy(a->value, &copy, NULL) < 0)
    return kube_make_oom(l->err);
  return deliver(l, copy, m);
}

static int on_start(struct loader *l, const yaml_event_t *ev, bool is_map) {
  const yaml_mark_t *m = &ev->start_mark;
  if (charge(l, 1, m) < 0)
    return -1;
  if (l->depth > 0) {
    struct frame *p = &l->stack[l->depth - 1];
    if (p->is_map && !p->have_key)
      return loader_error(l, m, "unsupported complex mapping key");
  }
  if (l->depth >= ARRAY_SIZE(l->stack))
    return loader_error(l, m, "document nested too deeply");
  const yaml_char_t *anchor =
      is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
  struct frame *f = &l->stack[l->depth];
  memset(f, 0, sizeof(*f));
  f->is_map = is_map;
  f->container = is_map ? json_object_new_object() : json_object_new_array();
  if (!f->container)
    return kube_make_oom(l->err);
  if (anchor) {
    f->anchor = strdup((const char *)anchor);
    if (!f->anchor) {
      json_object_put(f->container);
      return kube_make_oom(l->err);
    }
  }
  l->depth++;
  return 0;
}

static int on_end(struct loader *l, const yaml_event_t *ev) {
  const yaml_mark_t *m = &ev->start_mark;
  struct frame *f = &l->stack[l->depth - 1];
  if (f->is_map && apply_merges(l, f, m) < 0)
    return -1;
  json_object *v = f->container;
  f->container = NULL;
  json_object_put(f->merges);
  free(f->key);
  char *anchor = f->anchor;
  l->depth--;
  int r = register_anchor(l, anchor, v, m);
  free(anchor);
  if (r < 0) {
    json_object_put(v);
    return -1;
  }
  return deliver(l, v, m);
}

/* Append one decoded document (stolen) to out, flattening lists. */
static int add_document(json_object *out, json_object *doc, size_t index,
                        kube_error_t *err) {
  if (!doc)
    return 0; /* empty document */
  if (!json_object_is_type(doc, json_type_object)) {
    json_object_put(doc);
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "document %zu: expected an object (a mapping), not "
                          "a %s",
                          index + 1,
                          json_type_to_name(json_object_get_type(doc)));
  }
  const char *kind = jget_str(doc, "kind");
  json_object *items = jget_arr(doc, "items");
  if (kind &&
      (streq(kind, "List") || (str_has_suffix(kind, "List") && items))) {
    size_t n = jarr_len(items);
    for (size_t i = 0; i < n; i++) {
      json_object *it = json_object_array_get_idx(items, i);
      if (!json_object_is_type(it, json_type_object)) {
        json_object_put(doc);
        return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                              "document %zu: items[%zu] is not an object",
                              index + 1, i);
      }
      if (json_object_array_add(out, json_object_get(it)) < 0) {
        json_object_put(doc);
        return kube_make_oom(err);
      }
    }
    json_object_put(doc);
    return 0;
  }
  if (json_object_array_add(out, doc) < 0) {
    json_object_put(doc);
    return kube_make_oom(err);
  }
  return 0;
}

static json_object *decode_yaml(const char *data, size_t len,
                                kube_error_t *err) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) {
    kube_make_oom(err);
    return NULL;
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
  json_object *out = json_object_new_array();
  struct loader *l = calloc(1, sizeof(*l));
  if (!out || !l) {
    json_object_put(out);
    free(l);
    yaml_parser_delete(&parser);
    kube_make_oom(err);
    return NULL;
  }
  l->err = err;
  size_t doc_index = 0;
  bool done = false, failed = false;
  while (!done && !failed) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&parser, &ev)) {
      const char *problem = parser.problem ? parser.problem : "syntax error";
      kube_strbuf_t sb = KUBE_STRBUF_INIT;
      if (parser.context)
        kube_strbuf_printf(&sb, "%s ", parser.context);
      kube_strbuf_append(&sb, problem);
      yaml_mark_t mk = parser.problem_mark;
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "yaml: line %zu, column %zu: %s", (size_t)mk.line + 1,
                     (size_t)mk.column + 1, sb.data ? sb.data : problem);
      kube_strbuf_clear(&sb);
      failed = true;
      break;
    }
    int r = 0;
    switch (ev.type) {
    case YAML_STREAM_END_EVENT:
      done = true;
      break;
    case YAML_DOCUMENT_START_EVENT:
      l->doc_root = NULL;
      l->doc_has_root = false;
      break;
    case YAML_DOCUMENT_END_EVENT: {
      json_object *doc = l->doc_root;
      l->doc_root = NULL;
      anchors_clear(l);
      r = add_document(out, doc, doc_index++, err);
      break;
    }
    case YAML_MAPPING_START_EVENT:
      r = on_start(l, &ev, true);
      break;
    case YAML_SEQUENCE_START_EVENT:
      r = on_start(l, &ev, false);
      break;
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
      r = on_end(l, &ev);
      break;
    case YAML_SCALAR_EVENT:
      r = on_scalar(l, &ev);
      break;
    case YAML_ALIAS_EVENT:
      r = on_alias(l, &ev);
      break;
    default:
      break;
    }
    yaml_event_delete(&ev);
    if (r < 0)
      failed = true;
  }
  frames_clear(l);
  anchors_clear(l);
  json_object_put(l->doc_root);
  free(l);
  yaml_parser_delete(&parser);
  if (failed) {
    if (err && !kube_error_is_set(err))
      kube_make_oom(err);
    json_object_put(out);
    return NULL;
  }
  return out;
}

/* A stream of JSON objects ("{...}{...}" or one per line). */
static json_object *decode_json_stream(const char *data, size_t len,
                                       kube_error_t *err) {
  json_object *out = json_object_new_array();
  if (!out) {
    kube_make_oom(err);
    return NULL;
  }
  size_t off = 0, index = 0;
  for (;;) {
    while (off < len && isspace((unsigned char)data[off]))
      off++;
    if (off >= len)
      break;
    size_t end = api_json_value_extent(data + off, len - off);
    kube_error_t sub = KUBE_ERROR_INIT;
    json_object *v = kube_json_parse(data + off, end, &sub);
    if (!v) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "document %zu (at offset %zu): %s", index + 1, off,
                     sub.message ? sub.message : "invalid JSON");
      kube_error_clear(&sub);
      json_object_put(out);
      return NULL;
    }
    if (add_document(out, v, index++, err) < 0) {
      json_object_put(out);
      return NULL;
    }
    off += end;
  }
  return out;
}

json_object *kube_json_decode_stream(const char *data, size_t len,
                                     kube_error_t *err) {
  if (!data)
    len = 0;
  size_t i = 0;
  /* Skip a UTF-8 BOM and leading whitespace to sniff the format. */
  if (len >= 3 && (unsigned char)data[0] == 0xEF &&
      (unsigned char)data[1] == 0xBB && (unsigned char)data[2] == 0xBF)
    i = 3;
  while (i < len && isspace((unsigned char)data[i]))
    i++;
  if (i < len && data[i] == '{') {
    /* JSON, as Kubernetes sniffs it; flow-style YAML ("{kind: Pod}") also
     * starts with '{', so fall back to YAML before reporting the JSON
     * error. */
    kube_error_t jerr = KUBE_ERROR_INIT;
    json_object *out = decode_json_stream(data + i, len - i, &jerr);
    if (out)
      return out;
    out = decode_yaml(data, len, NULL);
    if (out) {
      kube_error_clear(&jerr);
      return out;
    }
    if (err)
      kube_error_move(err, &jerr);
    kube_error_clear(&jerr);
    return NULL;
  }
  return decode_yaml(data, len, err);
}

/* ---- YAML output ----------------------------------------------------------
 */

/* go-yaml v2's keyList.Less: letters before digits compare by rune,
 * non-letters sort before letters, digit runs compare numerically. */
static bool is_letter(unsigned char c) {
  return isalpha(c) || c >= 0x80;
}

static int key_cmp(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  for (size_t i = 0; i < la && i < lb; i++) {
    unsigned char ca = (unsigned char)a[i], cb = (unsigned char)b[i];
    if (ca == cb)
      continue;
    bool al = is_letter(ca), bl = is_letter(cb);
    if (al && bl)
      return ca < cb ? -1 : 1;
    if (al || bl)
      return bl ? -1 : 1;
    int64_t an = 0, bn = 0;
    if (ca == '0' || cb == '0') {
      for (size_t j = i; j-- > 0 && isdigit((unsigned char)a[j]);) {
        if (a[j] != '0') {
          an = 1;
          bn = 1;
          break;
        }
      }
    }
    size_t ai, bi;
    for (ai = i; ai < la && isdigit((unsigned char)a[ai]); ai++)
      an = an * 10 + (a[ai] - '0');
    for (bi = i; bi < lb && isdigit((unsigned char)b[bi]); bi++)
      bn = bn * 10 + (b[bi] - '0');
    if (an != bn)
      return an < bn ? -1 : 1;
    if (ai != bi)
      return ai < bi ? -1 : 1;
    return ca < cb ? -1 : 1;
  }
  return la < lb ? -1 : la > lb ? 1 : 0;
}

static int key_qsort_cmp(const void *a, const void *b) {
  return key_cmp(*(const char *const *)a, *(const char *const *)b);
}

/* go-yaml's isBase60Float: ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$
 */
static bool is_base60_float(const char *s) {
  if (*s == '-' || *s == '+')
    s++;
  if (!isdigit((unsigned char)*s))
    return false;
  while (isdigit((unsigned char)*s) || *s == '_')
    s++;
  int groups = 0;
  while (*s == ':') {
    s++;
    if (!isdigit((unsigned char)*s))
      return false;
    if (isdigit((unsigned char)s[1])) {
      if (*s > '5')
        return false;
      s += 2;
    } else {
      s++;
    }
    groups++;
  }
  if (groups == 0)
    return false;
  if (*s == '.') {
    s++;
    while (isdigit((unsigned char)*s) || *s == '_')
      s++;
  }
  return *s == '\0';
}

/* YYYY-M-D, optionally followed by a time, as go-yaml's parseTimestamp. */
static bool looks_like_timestamp(const char *s) {
  int i = 0;
  for (; i < 4; i++)
    if (!isdigit((unsigned char)s[i]))
      return false;
  if (s[i++] != '-')
    return false;
  if (!isdigit((unsigned char)s[i++]))
    return false;
  if (isdigit((unsigned char)s[i]))
    i++;
  if (s[i++] != '-')
    return false;
  if (!isdigit((unsigned char)s[i++]))
    return false;
  if (isdigit((unsigned char)s[i]))
    i++;
  return s[i] == '\0' || s[i] == 'T' || s[i] == 't' || s[i] == ' ';
}

/* True when a plain `s` would read back as something other than a string. */
static bool needs_quotes(const char *s) {
  struct scalar sc;
  if (resolve_plain(s, &sc) != SC_STR)
    return true;
  if (streq(s, "<<"))
    return true;
  return is_base60_float(s) || looks_like_timestamp(s);
}

struct emit {
  yaml_emitter_t em;
  kube_strbuf_t sb;
  bool failed;
};

static int write_handler(void *data, unsigned char *buffer, size_t size) {
  struct emit *e = data;
  kube_strbuf_append_len(&e->sb, (const char *)buffer, size);
  return e->sb.oom ? 0 : 1;
}

static bool emit_scalar(struct emit *e, const char *s, size_t len,
                        yaml_scalar_style_t style) {
  yaml_event_t ev;
  if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)len,
                                    1, 1, style))
    return false;
  return yaml_emitter_emit(&e->em, &ev);
}

static bool emit_string(struct emit *e, const char *s, size_t len) {
  yaml_scalar_style_t style;
  if (memchr(s, '\n', len))
    style = YAML_LITERAL_SCALAR_STYLE;
  else if (strlen(s) != len || needs_quotes(s))
    style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
  else
    style = YAML_PLAIN_SCALAR_STYLE;
  return emit_scalar(e, s, len, style);
}

static bool emit_node(struct emit *e, json_object *v, int depth) {
  yaml_event_t ev;
  if (depth > KUBE_JSON_MAX_DEPTH * 2)
    return false;
  switch (json_object_get_type(v)) {
  case json_type_object: {
    size_t n = (size_t)json_object_object_length(v);
    const char **keys = calloc(n ? n : 1, sizeof(*keys));
    if (!keys)
      return false;
    size_t i = 0;
    json_object_object_foreach(v, k, val) {
      (void)val;
      keys[i++] = k;
    }
    qsort(keys, n, sizeof(*keys), key_qsort_cmp);
    bool ok = yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                                  YAML_BLOCK_MAPPING_STYLE) &&
              yaml_emitter_emit(&e->em, &ev);
    for (i = 0; ok && i < n; i++) {
      ok = emit_string(e, keys[i], strlen(keys[i])) &&
           emit_node(e, jget(v, keys[i]), depth + 1);
    }
    free(keys);
    return ok && yaml_mapping_end_event_initialize(&ev) &&
           yaml_emitter_emit(&e->em, &ev);
  }
  case json_type_array: {
    size_t n = json_object_array_length(v);
    bool ok = yaml_sequence_start_event_initialize(
                  &ev, NULL, NULL, 1,
                  n ? YAML_BLOCK_SEQUENCE_STYLE : YAML_FLOW_SEQUENCE_STYLE) &&
              yaml_emitter_emit(&e->em, &ev);
    for (size_t i = 0; ok && i < n; i++)
      ok = emit_node(e, json_object_array_get_idx(v, i), depth + 1);
    return ok && yaml_sequence_end_event_initialize(&ev) &&
           yaml_emitter_emit(&e->em, &ev);
  }
  case json_type_string:
    return emit_string(e, json_object_get_string(v),
                       (size_t)json_object_get_string_len(v));
  case json_type_null:
    return emit_scalar(e, "null", 4, YAML_PLAIN_SCALAR_STYLE);
  case json_type_boolean:
    return json_object_get_boolean(v)
               ? emit_scalar(e, "true", 4, YAML_PLAIN_SCALAR_STYLE)
               : emit_scalar(e, "false", 5, YAML_PLAIN_SCALAR_STYLE);
  case json_type_double: {
    char buf[64];
    double d = json_object_get_double(v);
    if (isnan(d))
      snprintf(buf, sizeof(buf), ".nan");
    else if (isinf(d))
      snprintf(buf, sizeof(buf), d > 0 ? ".inf" : "-.inf");
    else
      format_double(d, buf, sizeof(buf));
    return emit_scalar(e, buf, strlen(buf), YAML_PLAIN_SCALAR_STYLE);
  }
  case json_type_int:
  default: {
    const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
    return emit_scalar(e, s, strlen(s), YAML_PLAIN_SCALAR_STYLE);
  }
  }
}

char *kube_json_to_yaml(json_object *obj) {
  struct emit e = {.sb = KUBE_STRBUF_INIT};
  yaml_event_t ev;
  if (!yaml_emitter_initialize(&e.em))
    return NULL;
  yaml_emitter_set_output(&e.em, write_handler, &e);
  yaml_emitter_set_unicode(&e.em, 1);
  yaml_emitter_set_width(&e.em, 80);
  yaml_emitter_set_indent(&e.em, 2);
  bool ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
            yaml_emitter_emit(&e.em, &ev) &&
            yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
            yaml_emitter_emit(&e.em, &ev) && emit_node(&e, obj, 0) &&
            yaml_document_end_event_initialize(&ev, 1) &&
            yaml_emitter_emit(&e.em, &ev) &&
            yaml_stream_end_event_initialize(&ev) &&
            yaml_emitter_emit(&e.em, &ev) && yaml_emitter_flush(&e.em);
  yaml_emitter_delete(&e.em);
  if (!ok) {
    kube_strbuf_clear(&e.sb);
    return NULL;
  }
  return kube_strbuf_steal(&e.sb);
}
