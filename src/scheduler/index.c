/* SPDX-License-Identifier: Apache-2.0 */
/* Small containers of the scheduler: arena, vectors, hash maps, interner. */
#include "scheduler/internal.h"

#define STRMAP_TOMB ((const char *)1)

void *ks_arena_alloc(arena_t *a, size_t size) {
  size = (size + 15) & ~(size_t)15;
  if (size == 0)
    size = 16;
  arena_chunk_t *c = a->head;
  if (!c || c->size - c->used < size) {
    /* The first chunk may have room again after a reset; later chunks are
     * freed by arena_reset, so only the head is ever tried. */
    size_t csz = a->chunk_size ? a->chunk_size : 4096;
    if (csz < size)
      csz = size;
    arena_chunk_t *n = malloc(sizeof(*n) + csz);
    if (!n)
      return NULL;
    n->size = csz;
    n->used = 0;
    n->next = c;
    a->head = c = n;
  }
  void *p = (char *)c->data + c->used;
  c->used += size;
  memset(p, 0, size);
  return p;
}

void *ks_arena_dup(arena_t *a, const void *p, size_t size) {
  void *q = ks_arena_alloc(a, size);
  if (q && size)
    memcpy(q, p, size);
  return q;
}

void ks_arena_reset(arena_t *a) {
  arena_chunk_t *c = a->head;
  if (!c)
    return;
  /* Keep the largest chunk so that steady state allocates nothing. */
  arena_chunk_t *keep = c;
  for (arena_chunk_t *i = c; i; i = i->next)
    if (i->size > keep->size)
      keep = i;
  while (c) {
    arena_chunk_t *next = c->next;
    if (c != keep)
      free(c);
    c = next;
  }
  keep->next = NULL;
  keep->used = 0;
  a->head = keep;
}

void ks_arena_free(arena_t *a) {
  arena_chunk_t *c = a->head;
  while (c) {
    arena_chunk_t *next = c->next;
    free(c);
    c = next;
  }
  a->head = NULL;
}

int ks_vec_reserve(vec_u32_t *vec, uint32_t n) {
  if (n <= vec->cap)
    return 0;
  uint32_t ncap = vec->cap ? vec->cap : 4;
  while (ncap < n)
    ncap *= 2;
  uint32_t *nv = realloc(vec->v, ncap * sizeof(*nv));
  if (!nv)
    return -1;
  vec->v = nv;
  vec->cap = ncap;
  return 0;
}

int ks_vec_push(vec_u32_t *vec, uint32_t x) {
  if (vec->n == vec->cap && ks_vec_reserve(vec, vec->n + 1) < 0)
    return -1;
  vec->v[vec->n++] = x;
  return 0;
}

uint64_t ks_str_hash(const char *s) {
  /* FNV-1a, then a final mix so that the low bits are usable. */
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

static int strmap_grow(strmap_t *m) {
  uint32_t ncap = m->cap ? m->cap * 2 : 16;
  if (m->len * 2 < m->cap)
    ncap = m->cap; /* only tombstones: rehash in place size */
  strmap_ent_t *ne = calloc(ncap, sizeof(*ne));
  if (!ne)
    return -1;
  for (uint32_t i = 0; i < m->cap; i++) {
    strmap_ent_t *e = &m->ents[i];
    if (!e->key || e->key == STRMAP_TOMB)
      continue;
    uint32_t j = (uint32_t)e->hash & (ncap - 1);
    while (ne[j].key)
      j = (j + 1) & (ncap - 1);
    ne[j] = *e;
  }
  free(m->ents);
  m->ents = ne;
  m->cap = ncap;
  m->tomb = 0;
  return 0;
}

int ks_strmap_put(strmap_t *m, const char *key, uint32_t val) {
  if ((m->len + m->tomb + 1) * 4 >= m->cap * 3 && strmap_grow(m) < 0)
    return -1;
  uint64_t h = ks_str_hash(key);
  uint32_t j = (uint32_t)h & (m->cap - 1);
  int64_t tomb = -1;
  while (m->ents[j].key) {
    strmap_ent_t *e = &m->ents[j];
    if (e->key == STRMAP_TOMB) {
      if (tomb < 0)
        tomb = j;
    } else if (e->hash == h && streq(e->key, key)) {
      e->val = val;
      return 0;
    }
    j = (j + 1) & (m->cap - 1);
  }
  if (tomb >= 0) {
    j = (uint32_t)tomb;
    m->tomb--;
  }
  m->ents[j] = (strmap_ent_t){.hash = h, .key = key, .val = val};
  m->len++;
  return 0;
}

static strmap_ent_t *strmap_find(const strmap_t *m, const char *key) {
  if (!m->cap)
    return NULL;
  uint64_t h = ks_str_hash(key);
  uint32_t j = (uint32_t)h & (m->cap - 1);
  while (m->ents[j].key) {
    strmap_ent_t *e = &m->ents[j];
    if (e->key != STRMAP_TOMB && e->hash == h && streq(e->key, key))
      return e;
    j = (j + 1) & (m->cap - 1);
  }
  return NULL;
}

bool ks_strmap_get(const strmap_t *m, const char *key, uint32_t *val) {
  strmap_ent_t *e = strmap_find(m, key);
  if (!e)
    return false;
  *val = e->val;
  return true;
}

bool ks_strmap_del(strmap_t *m, const char *key) {
  strmap_ent_t *e = strmap_find(m, key);
  if (!e)
    return false;
  e->key = STRMAP_TOMB;
  m->len--;
  m->tomb++;
  return true;
}

void ks_strmap_free(strmap_t *m) {
  free(m->ents);
  memset(m, 0, sizeof(*m));
}

static inline uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

static int u64map_grow(u64map_t *m) {
  uint32_t ncap = m->cap ? m->cap * 2 : 16;
  uint64_t *nk = malloc(ncap * sizeof(*nk));
  uint32_t *nv = malloc(ncap * sizeof(*nv));
  uint8_t *nu = calloc(ncap, 1);
  if (!nk || !nv || !nu) {
    free(nk);
    free(nv);
    free(nu);
    return -1;
  }
  for (uint32_t i = 0; i < m->cap; i++) {
    if (!m->used[i])
      continue;
    uint32_t j = (uint32_t)mix64(m->keys[i]) & (ncap - 1);
    while (nu[j])
      j = (j + 1) & (ncap - 1);
    nu[j] = 1;
    nk[j] = m->keys[i];
    nv[j] = m->vals[i];
  }
  free(m->keys);
  free(m->vals);
  free(m->used);
  m->keys = nk;
  m->vals = nv;
  m->used = nu;
  m->cap = ncap;
  return 0;
}

uint32_t *ks_u64map_find(const u64map_t *m, uint64_t key) {
  if (!m->cap)
    return NULL;
  uint32_t j = (uint32_t)mix64(key) & (m->cap - 1);
  while (m->used[j]) {
    if (m->keys[j] == key)
      return &m->vals[j];
    j = (j + 1) & (m->cap - 1);
  }
  return NULL;
}

uint32_t *ks_u64map_upsert(u64map_t *m, uint64_t key, uint32_t init) {
  uint32_t *v = ks_u64map_find(m, key);
  if (v)
    return v;
  if ((m->len + 1) * 4 >= m->cap * 3 && u64map_grow(m) < 0)
    return NULL;
  uint32_t j = (uint32_t)mix64(key) & (m->cap - 1);
  while (m->used[j])
    j = (j + 1) & (m->cap - 1);
  m->used[j] = 1;
  m->keys[j] = key;
  m->vals[j] = init;
  m->len++;
  return &m->vals[j];
}

void ks_u64map_clear(u64map_t *m) {
  if (m->cap)
    memset(m->used, 0, m->cap);
  m->len = 0;
}

void ks_u64map_free(u64map_t *m) {
  free(m->keys);
  free(m->vals);
  free(m->used);
  memset(m, 0, sizeof(*m));
}

uint32_t ks_intern(interner_t *in, const char *s) {
  if (!s)
    s = "";
  uint32_t id;
  if (in->n == 0) {
    /* Reserve id 0 for the empty string. */
    in->n = 0;
    in->cap = 64;
    in->strs = malloc(in->cap * sizeof(char *));
    if (!in->strs)
      return NONE;
    in->strs[0] = strdup("");
    if (!in->strs[0] || ks_strmap_put(&in->map, in->strs[0], 0) < 0)
      return NONE;
    in->n = 1;
  }
  if (ks_strmap_get(&in->map, s, &id))
    return id;
  if (in->n >= ABSENT - 1)
    return NONE;
  if (in->n == in->cap) {
    char **ns = realloc(in->strs, in->cap * 2 * sizeof(char *));
    if (!ns)
      return NONE;
    in->strs = ns;
    in->cap *= 2;
  }
  char *copy = strdup(s);
  if (!copy)
    return NONE;
  if (ks_strmap_put(&in->map, copy, in->n) < 0) {
    free(copy);
    return NONE;
  }
  in->strs[in->n] = copy;
  return in->n++;
}

uint32_t ks_intern_lookup(const interner_t *in, const char *s) {
  if (!s || !*s)
    return 0;
  uint32_t id;
  return ks_strmap_get(&in->map, s, &id) ? id : ABSENT;
}

void ks_interner_free(interner_t *in) {
  for (uint32_t i = 0; i < in->n; i++)
    free(in->strs[i]);
  free(in->strs);
  ks_strmap_free(&in->map);
  memset(in, 0, sizeof(*in));
}
