/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runtime schemas: the arena that owns them, the compilation of the static
 * type tables of the built-in kinds (once per process) and the lookups the
 * patch engines and checkers use.
 */
#include <pthread.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "api/kinds/kind.h"
#include "api/types/docs.h"

/* ---- arena --------------------------------------------------------------- */

struct api_arena {
  void **ptrs; /* malloc'ed blocks */
  size_t n, cap;
  pcre2_code **res; /* compiled patterns */
  size_t n_res, cap_res;
  json_object **jsons; /* owned references */
  size_t n_jsons, cap_jsons;
};

api_arena_t *api_arena_new(void) {
  return calloc(1, sizeof(api_arena_t));
}

void api_arena_free(api_arena_t *a) {
  if (!a)
    return;
  for (size_t i = 0; i < a->n; i++)
    free(a->ptrs[i]);
  for (size_t i = 0; i < a->n_res; i++)
    pcre2_code_free(a->res[i]);
  for (size_t i = 0; i < a->n_jsons; i++)
    json_object_put(a->jsons[i]);
  free(a->ptrs);
  free(a->res);
  free(a->jsons);
  free(a);
}

static bool grow(void ***v, size_t *n, size_t *cap) {
  if (*n < *cap)
    return true;
  size_t c = *cap ? *cap * 2 : 64;
  void **nv = realloc(*v, c * sizeof(**v));
  if (!nv)
    return false;
  *v = nv;
  *cap = c;
  return true;
}

/* A zeroed block owned by the arena; NULL on out-of-memory. */
void *api_arena_alloc(api_arena_t *a, size_t size) {
  if (!a || !grow(&a->ptrs, &a->n, &a->cap))
    return NULL;
  void *p = calloc(1, size ? size : 1);
  if (p)
    a->ptrs[a->n++] = p;
  return p;
}

api_schema_t *api_arena_node(api_arena_t *a) {
  api_schema_t *s = api_arena_alloc(a, sizeof(*s));
  if (s) {
    s->min_length = s->max_length = -1;
    s->min_items = s->max_items = -1;
    s->min_props = s->max_props = -1;
  }
  return s;
}

char *api_arena_strdup(api_arena_t *a, const char *str) {
  if (!str)
    return NULL;
  size_t n = strlen(str) + 1;
  char *p = api_arena_alloc(a, n);
  if (p)
    memcpy(p, str, n);
  return p;
}

void api_arena_regex(api_arena_t *a, void *re) {
  if (!re)
    return;
  if (!grow((void ***)&a->res, &a->n_res, &a->cap_res)) {
    pcre2_code_free(re);
    return;
  }
  a->res[a->n_res++] = re;
}

json_object *api_arena_json(api_arena_t *a, json_object *v) {
  if (!v)
    return NULL;
  if (!grow((void ***)&a->jsons, &a->n_jsons, &a->cap_jsons)) {
    json_object_put(v);
    return NULL;
  }
  a->jsons[a->n_jsons++] = v;
  return v;
}

/* ---- lookups ------------------------------------------------------------- */

const char *api_schema_type_name(int type) {
  switch (type) {
  case API_S_OBJECT:
    return "object";
  case API_S_ARRAY:
    return "array";
  case API_S_STRING:
    return "string";
  case API_S_INTEGER:
    return "integer";
  case API_S_NUMBER:
    return "number";
  case API_S_BOOLEAN:
    return "boolean";
  default:
    return NULL;
  }
}

static int prop_cmp(const void *key, const void *elem) {
  return strcmp(key, ((const api_schema_prop_t *)elem)->name);
}

const api_schema_t *api_schema_prop(const api_schema_t *s, const char *name) {
  if (!s || !name)
    return NULL;
  if (s->n_props) {
    const api_schema_prop_t *p =
        bsearch(name, s->props, s->n_props, sizeof(*s->props), prop_cmp);
    if (p)
      return p->schema;
  }
  return s->additional;
}

static int prop_sort_cmp(const void *a, const void *b) {
  return strcmp(((const api_schema_prop_t *)a)->name,
                ((const api_schema_prop_t *)b)->name);
}

void api_schema_sort_props(api_schema_t *s) {
  if (s->n_props > 1)
    qsort(s->props, s->n_props, sizeof(*s->props), prop_sort_cmp);
}

/* ---- compiling the static tables ----------------------------------------- */

/* Built-in schemas live for the process: one arena, one memo of compiled
 * types (a type is compiled once and shared wherever it is used). */
static api_arena_t *builtin_arena;
static struct memo {
  const api_type_t *type;
  api_schema_t *node;
} * memo; /* open addressing by the type's address; cap_memo a power of 2 */
static size_t n_memo, cap_memo;
static pthread_mutex_t builtin_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t memo_slot(const api_type_t *t, size_t cap) {
  uint64_t h = (uint64_t)(uintptr_t)t * 0x9E3779B97F4A7C15ull;
  return (size_t)(h >> 32) & (cap - 1);
}

static api_schema_t *memo_find(const api_type_t *t) {
  if (!cap_memo)
    return NULL;
  for (size_t i = memo_slot(t, cap_memo);; i = (i + 1) & (cap_memo - 1)) {
    if (memo[i].type == t)
      return memo[i].node;
    if (!memo[i].type)
      return NULL;
  }
}

static void memo_put(struct memo *m, size_t cap, const api_type_t *t,
                     api_schema_t *node) {
  size_t i = memo_slot(t, cap);
  while (m[i].type)
    i = (i + 1) & (cap - 1);
  m[i] = (struct memo){t, node};
}

static bool memo_add(const api_type_t *t, api_schema_t *node) {
  if ((n_memo + 1) * 2 > cap_memo) { /* at most half full */
    size_t c = cap_memo ? cap_memo * 2 : 512;
    struct memo *m = calloc(c, sizeof(*m));
    if (!m)
      return false;
    for (size_t i = 0; i < cap_memo; i++)
      if (memo[i].type)
        memo_put(m, c, memo[i].type, memo[i].node);
    free(memo);
    memo = m;
    cap_memo = c;
  }
  memo_put(memo, cap_memo, t, node);
  n_memo++;
  return true;
}

static api_schema_t *compile_type(const api_type_t *t);

static api_schema_t *scalar(uint8_t type, uint8_t format, const char *fname) {
  api_schema_t *s = api_arena_node(builtin_arena);
  if (!s)
    return NULL;
  s->type = type;
  s->format = format;
  s->format_name = fname;
  s->flags = API_SF_GO;
  return s;
}

/* The schema of one value of field f (an element when f is repeated). */
static api_schema_t *value_schema(const api_field_t *f) {
  api_schema_t *s = NULL, *v;
  switch (f->kind) {
  case API_T_STRING:
    return scalar(API_S_STRING, API_FMT_NONE, NULL);
  case API_T_BYTES:
    return scalar(API_S_STRING, API_FMT_BYTE, "byte");
  case API_T_BOOL:
    return scalar(API_S_BOOLEAN, API_FMT_NONE, NULL);
  case API_T_INT32:
    return scalar(API_S_INTEGER, API_FMT_INT32, "int32");
  case API_T_INT64:
    return scalar(API_S_INTEGER, API_FMT_INT64, "int64");
  case API_T_DOUBLE:
    return scalar(API_S_NUMBER, API_FMT_DOUBLE, "double");
  case API_T_TIME:
  case API_T_MICROTIME:
    s = scalar(API_S_STRING, API_FMT_DATE_TIME, "date-time");
    if (s)
      s->flags |= API_SF_NULLABLE;
    return s;
  case API_T_QTY:
    s = scalar(API_S_ANY, API_FMT_QUANTITY, NULL);
    if (s)
      s->flags |= API_SF_INT_OR_STRING;
    return s;
  case API_T_INTSTR:
    s = scalar(API_S_ANY, API_FMT_NONE, "int-or-string");
    if (s)
      s->flags |= API_SF_INT_OR_STRING;
    return s;
  case API_T_RAWJSON:
    s = scalar(API_S_ANY, API_FMT_NONE, NULL);
    if (s)
      s->flags |= API_SF_PRESERVE_UNKNOWN;
    return s;
  case API_T_MSG:
    return compile_type(f->type);
  case API_T_MAP_STR:
  case API_T_MAP_BYTES:
  case API_T_MAP_QTY:
  case API_T_MAP_MSG:
    s = scalar(API_S_OBJECT, API_FMT_NONE, NULL);
    if (!s)
      return NULL;
    if (f->kind == API_T_MAP_STR)
      v = scalar(API_S_STRING, API_FMT_NONE, NULL);
    else if (f->kind == API_T_MAP_BYTES)
      v = scalar(API_S_STRING, API_FMT_BYTE, "byte");
    else if (f->kind == API_T_MAP_QTY) {
      v = scalar(API_S_ANY, API_FMT_QUANTITY, NULL);
      if (v)
        v->flags |= API_SF_INT_OR_STRING;
    } else
      v = compile_type(f->type);
    s->additional = v;
    return v ? s : NULL;
  default:
    return scalar(API_S_ANY, API_FMT_NONE, NULL);
  }
}

/* The schema of field f's value as its parent holds it, with the field's
 * own merge annotations (a shared type node is copied when the field adds
 * some). */
static api_schema_t *field_schema(const api_field_t *f) {
  api_schema_t *v = value_schema(f);
  if (!v)
    return NULL;
  if (f->flags & API_F_REP) {
    api_schema_t *a = scalar(API_S_ARRAY, API_FMT_NONE, NULL);
    if (!a)
      return NULL;
    a->items = v;
    v = a;
  } else if (f->mflags && v->src) {
    api_schema_t *c = api_arena_node(builtin_arena);
    if (!c)
      return NULL;
    *c = *v;
    v = c;
  }
  v->list = f->list;
  v->mflags |= f->mflags;
  for (size_t i = 0; i < API_MAX_KEYS; i++)
    v->keys[i] = f->keys[i];
  return v;
}

static size_t count_fields(const api_type_t *t) {
  size_t n = 0;
  for (const api_field_t *f = t->fields; f->kind != API_T_END; f++)
    n += f->kind == API_T_INLINE ? count_fields(f->type) : 1;
  return n;
}

/* Fields of t (and of the types it inlines) as properties of s, with
 * the descriptions of the definition named `def`. */
static bool add_fields(api_schema_t *s, const api_type_t *t, const char *def) {
  for (const api_field_t *f = t->fields; f->kind != API_T_END; f++) {
    if (f->kind == API_T_INLINE) {
      if (!add_fields(s, f->type, def))
        return false;
      continue;
    }
    api_schema_t *fs = field_schema(f);
    if (!fs)
      return false;
    s->props[s->n_props++] =
        (api_schema_prop_t){f->json, fs, api_field_doc(def, f->json)};
  }
  return true;
}

static api_schema_t *compile_type(const api_type_t *t) {
  api_schema_t *s = memo_find(t);
  if (s)
    return s;
  s = scalar(API_S_OBJECT, API_FMT_NONE, NULL);
  if (!s || !memo_add(t, s))
    return NULL;
  s->src = t;
  if (t->flags & API_TYPE_OPEN)
    s->flags |= API_SF_PRESERVE_UNKNOWN;
  if (t->flags & API_TYPE_ATOMIC)
    s->mflags |= API_M_ATOMIC;
  size_t n = count_fields(t);
  s->props = api_arena_alloc(builtin_arena, n * sizeof(*s->props));
  char def[256];
  snprintf(def, sizeof def, "%s.%s", t->pkg ? t->pkg : "io.k8s.api", t->name);
  if (!s->props || !add_fields(s, t, def))
    return NULL;
  api_schema_sort_props(s);
  return s;
}

const api_schema_t *api_schema_of_type(const api_type_t *t) {
  if (!t)
    return NULL;
  pthread_mutex_lock(&builtin_lock);
  api_schema_t *s = NULL;
  if (!builtin_arena)
    builtin_arena = api_arena_new();
  if (builtin_arena)
    s = compile_type(t);
  pthread_mutex_unlock(&builtin_lock);
  return s;
}

const api_type_t *api_kind_type(const kube_kind_t *k) {
  return k ? api_kind_strategy(k)->type : NULL;
}

const api_schema_t *api_kind_schema(const kube_kind_t *k) {
  if (!k)
    return NULL;
  const struct kube_kind_strategy *st = api_kind_strategy(k);
  if (st->schema)
    return st->schema(k);
  return api_schema_of_type(st->type);
}
