/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The client module's interface for later modules (scheduler, controllers,
 * the CLI): a small string-keyed hash map, header-only; kube_read_all(),
 * client_query_escape() and writes whose replies are not parsed, or only
 * scanned for their metadata.
 * Not installed.
 */
#ifndef KUBE_CLIENT_PRIVATE_H
#define KUBE_CLIENT_PRIVATE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libkube/core.h>
#include <libkube/kit.h>

/* Append everything up to EOF on `fd` to `sb` (retrying EINTR).  Returns 0,
 * or -1 with errno set by read(); out of memory shows as sb->oom. */
int kube_read_all(int fd, kube_strbuf_t *sb);

/* Percent-encode a query value (owned; NULL when out of memory). */
char *client_query_escape(const char *s);

/* One entry; `key` is owned by the map, `value` by the user. */
struct strmap_entry {
  char *key;
  void *value;
  uint64_t hash;
  struct strmap_entry *next;
};

/* Chained hash map from strings to pointers.  Zero-initialise to use. */
struct strmap {
  struct strmap_entry **buckets;
  size_t nbuckets; /* power of two, or 0 before the first insert */
  size_t n;
};

static inline uint64_t strmap_hash(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ull;
  }
  return h;
}

static inline struct strmap_entry *
strmap_find_hashed(const struct strmap *m, const char *key, uint64_t h) {
  if (!m->nbuckets)
    return NULL;
  for (struct strmap_entry *e = m->buckets[h & (m->nbuckets - 1)]; e;
       e = e->next)
    if (e->hash == h && strcmp(e->key, key) == 0)
      return e;
  return NULL;
}

static inline struct strmap_entry *strmap_find(const struct strmap *m,
                                               const char *key) {
  return m->nbuckets ? strmap_find_hashed(m, key, strmap_hash(key)) : NULL;
}

static inline void *strmap_get(const struct strmap *m, const char *key) {
  struct strmap_entry *e = strmap_find(m, key);
  return e ? e->value : NULL;
}

static inline int strmap_grow(struct strmap *m) {
  size_t nb = m->nbuckets ? m->nbuckets * 2 : 64;
  struct strmap_entry **b = calloc(nb, sizeof *b);
  if (!b)
    return -1;
  for (size_t i = 0; i < m->nbuckets; i++) {
    struct strmap_entry *e = m->buckets[i], *next;
    for (; e; e = next) {
      next = e->next;
      e->next = b[e->hash & (nb - 1)];
      b[e->hash & (nb - 1)] = e;
    }
  }
  free(m->buckets);
  m->buckets = b;
  m->nbuckets = nb;
  return 0;
}

/* Insert or replace.  Returns the entry (its key copied), NULL on
 * out-of-memory.  *old (may be NULL) receives a replaced value or NULL. */
static inline struct strmap_entry *strmap_put(struct strmap *m, const char *key,
                                              void *value, void **old) {
  uint64_t h = strmap_hash(key); /* once: keys may be long (event keys) */
  struct strmap_entry *e = strmap_find_hashed(m, key, h);
  if (old)
    *old = e ? e->value : NULL;
  if (e) {
    e->value = value;
    return e;
  }
  if (m->n + 1 > m->nbuckets && strmap_grow(m) < 0)
    return NULL;
  e = malloc(sizeof *e);
  if (!e)
    return NULL;
  e->key = strdup(key);
  if (!e->key) {
    free(e);
    return NULL;
  }
  e->value = value;
  e->hash = h;
  e->next = m->buckets[e->hash & (m->nbuckets - 1)];
  m->buckets[e->hash & (m->nbuckets - 1)] = e;
  m->n++;
  return e;
}

/* Remove a key; returns its value (NULL when absent). */
static inline void *strmap_remove(struct strmap *m, const char *key) {
  if (!m->nbuckets)
    return NULL;
  uint64_t h = strmap_hash(key);
  struct strmap_entry **pp = &m->buckets[h & (m->nbuckets - 1)];
  for (; *pp; pp = &(*pp)->next) {
    struct strmap_entry *e = *pp;
    if (e->hash == h && strcmp(e->key, key) == 0) {
      void *v = e->value;
      *pp = e->next;
      free(e->key);
      free(e);
      m->n--;
      return v;
    }
  }
  return NULL;
}

/* Iterate: STRMAP_FOREACH(m, i, e) { ... e->key, e->value ... }, with `i`
 * a fresh index name; do not change m inside. */
#define STRMAP_FOREACH(m, i, e)                                                \
  for (size_t i = 0; i < (m)->nbuckets; i++)                                   \
    for (struct strmap_entry *e = (m)->buckets[i]; e; e = e->next)

/* Free every entry, calling free_value (may be NULL) on each value. */
static inline void strmap_clear(struct strmap *m, void (*free_value)(void *)) {
  for (size_t i = 0; i < m->nbuckets; i++) {
    struct strmap_entry *e = m->buckets[i], *next;
    for (; e; e = next) {
      next = e->next;
      if (free_value)
        free_value(e->value);
      free(e->key);
      free(e);
    }
  }
  free(m->buckets);
  m->buckets = NULL;
  m->nbuckets = 0;
  m->n = 0;
}

/* writer.c */
/* What a write's callback gets as its result on success. */
enum client_result {
  CLIENT_RESULT_NONE,   /* NULL: the reply is not parsed */
  CLIENT_RESULT_OBJECT, /* the reply parsed */
  /* an object holding only the reply's metadata.name, .namespace and
   * .resourceVersion, found by a scan of the text (a writer that needs
   * the name a generateName gave, not the whole object it parsed) */
  CLIENT_RESULT_META,
};
/* Send a request; cb (may be NULL) gets the reply as `result` says. */
int client_writer_send(kube_writer_t *w, const char *method, const char *path,
                       const char *content_type, const char *body, size_t len,
                       enum client_result result, kube_writer_cb cb, void *arg,
                       kube_error_t *err);
/* kube_writer_patch with the result as `result` says (hollow nodes write
 * thousands of status and Lease patches and read none of their replies). */
int client_writer_patch(kube_writer_t *w, const kube_kind_t *kind,
                        const char *ns, const char *name, const char *sub,
                        kube_patch_type_t type, const char *patch,
                        const kube_client_write_options_t *opts,
                        enum client_result result, kube_writer_cb cb,
                        void *arg, kube_error_t *err);

#endif /* KUBE_CLIENT_PRIVATE_H */
