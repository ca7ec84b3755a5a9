/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ordered map behind reads: an AVL tree keyed by record key (byte order,
 * as etcd orders keys) where every node also counts its subtree, so counting
 * the keys under a prefix costs O(log n) and a LIST walks only the keys it
 * returns.  Kubernetes keys are ranges of prefixes ("/registry/pods/ns/"),
 * which is exactly a contiguous interval of this order.
 */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

struct cache_node {
  struct cache_node *l, *r;
  struct rec *rec;
  size_t size;
  int h;
};

static inline int height(const struct cache_node *n) {
  return n ? n->h : 0;
}
static inline size_t nsize(const struct cache_node *n) {
  return n ? n->size : 0;
}
static inline const char *nkey(const struct cache_node *n) {
  return n->rec->pub.key;
}

static void fix(struct cache_node *n) {
  int hl = height(n->l), hr = height(n->r);
  n->h = (hl > hr ? hl : hr) + 1;
  n->size = nsize(n->l) + nsize(n->r) + 1;
}

static struct cache_node *rot_right(struct cache_node *n) {
  struct cache_node *l = n->l;
  n->l = l->r;
  l->r = n;
  fix(n);
  fix(l);
  return l;
}

static struct cache_node *rot_left(struct cache_node *n) {
  struct cache_node *r = n->r;
  n->r = r->l;
  r->l = n;
  fix(n);
  fix(r);
  return r;
}

static struct cache_node *balance(struct cache_node *n) {
  fix(n);
  int bf = height(n->l) - height(n->r);
  if (bf > 1) {
    if (height(n->l->l) < height(n->l->r))
      n->l = rot_left(n->l);
    return rot_right(n);
  }
  if (bf < -1) {
    if (height(n->r->r) < height(n->r->l))
      n->r = rot_right(n->r);
    return rot_left(n);
  }
  return n;
}

struct rec *store_cache_find(const struct cache *c, const char *key) {
  const struct cache_node *n = c->root;
  while (n) {
    int cmp = strcmp(key, nkey(n));
    if (cmp == 0)
      return n->rec;
    n = cmp < 0 ? n->l : n->r;
  }
  return NULL;
}

/* Insert below n; *replaced receives the old record when the key existed,
 * *fresh the node to use for a new key (consumed when used). */
static struct cache_node *insert(struct cache_node *n, struct rec *r,
                                 struct rec **replaced,
                                 struct cache_node **fresh) {
  if (!n) {
    struct cache_node *f = *fresh;
    *fresh = NULL;
    f->l = f->r = NULL;
    f->rec = r;
    f->size = 1;
    f->h = 1;
    return f;
  }
  int cmp = strcmp(r->pub.key, nkey(n));
  if (cmp == 0) {
    *replaced = n->rec;
    n->rec = r;
    return n;
  }
  if (cmp < 0)
    n->l = insert(n->l, r, replaced, fresh);
  else
    n->r = insert(n->r, r, replaced, fresh);
  if (*replaced)
    return n; /* shape unchanged */
  return balance(n);
}

struct rec *store_cache_put(struct cache *c, struct rec *r, bool *oom) {
  struct cache_node *fresh = malloc(sizeof(*fresh));
  struct rec *replaced = NULL;
  *oom = false;
  if (!fresh) {
    /* A replacement needs no node; only fail when one is needed. */
    struct cache_node *n = c->root;
    while (n) {
      int cmp = strcmp(r->pub.key, nkey(n));
      if (cmp == 0) {
        replaced = n->rec;
        n->rec = r;
        return replaced;
      }
      n = cmp < 0 ? n->l : n->r;
    }
    *oom = true;
    return NULL;
  }
  c->root = insert(c->root, r, &replaced, &fresh);
  free(fresh); /* unused when the key existed */
  return replaced;
}

static struct cache_node *remove_min(struct cache_node *n,
                                     struct cache_node **min) {
  if (!n->l) {
    *min = n;
    return n->r;
  }
  n->l = remove_min(n->l, min);
  return balance(n);
}

static struct cache_node *remove_key(struct cache_node *n, const char *key,
                                     struct rec **removed) {
  if (!n)
    return NULL;
  int cmp = strcmp(key, nkey(n));
  if (cmp < 0) {
    n->l = remove_key(n->l, key, removed);
  } else if (cmp > 0) {
    n->r = remove_key(n->r, key, removed);
  } else {
    struct cache_node *l = n->l, *r = n->r, *min;
    *removed = n->rec;
    free(n);
    if (!r)
      return l;
    r = remove_min(r, &min);
    min->l = l;
    min->r = r;
    return balance(min);
  }
  if (!*removed)
    return n;
  return balance(n);
}

struct rec *store_cache_remove(struct cache *c, const char *key) {
  struct rec *removed = NULL;
  c->root = remove_key(c->root, key, &removed);
  return removed;
}

size_t store_cache_size(const struct cache *c) {
  return nsize(c->root);
}

static void free_nodes(struct cache_node *n) {
  while (n) {
    free_nodes(n->l);
    struct cache_node *r = n->r;
    store_rec_unref(n->rec);
    free(n);
    n = r;
  }
}

void store_cache_clear(struct cache *c) {
  free_nodes(c->root);
  c->root = NULL;
}

/* Perfectly balanced tree over sorted records (the load at open). */
static struct cache_node *build(struct rec **recs, struct cache_node **nodes,
                                size_t lo, size_t hi) {
  if (lo >= hi)
    return NULL;
  size_t mid = lo + (hi - lo) / 2;
  struct cache_node *n = nodes[mid];
  n->rec = recs[mid];
  n->l = build(recs, nodes, lo, mid);
  n->r = build(recs, nodes, mid + 1, hi);
  fix(n);
  return n;
}

int store_cache_build_sorted(struct cache *c, struct rec **recs, size_t n) {
  /* Nodes are freed one by one later, so each is its own block. */
  struct cache_node **nodes = calloc(n ? n : 1, sizeof(*nodes));
  if (!nodes)
    return -1;
  for (size_t i = 0; i < n; i++) {
    nodes[i] = malloc(sizeof(struct cache_node));
    if (!nodes[i]) {
      for (size_t j = 0; j < i; j++)
        free(nodes[j]);
      free(nodes);
      return -1;
    }
  }
  store_cache_clear(c);
  c->root = build(recs, nodes, 0, n);
  free(nodes);
  return 0;
}

/* Keys k with k < prefix, or k starting with prefix, form a prefix of the
 * order (down-set); count them. */
static size_t rank_through_prefix(const struct cache_node *n,
                                  const char *prefix, size_t plen) {
  size_t count = 0;
  while (n) {
    const char *k = nkey(n);
    if (strncmp(k, prefix, plen) <= 0) {
      /* k < prefix or k has the prefix: n and its left side are inside. */
      count += nsize(n->l) + 1;
      n = n->r;
    } else {
      n = n->l;
    }
  }
  return count;
}

/* Number of keys < key (or <= key when `inclusive`). */
static size_t rank_of(const struct cache_node *n, const char *key,
                      bool inclusive) {
  size_t count = 0;
  while (n) {
    int cmp = strcmp(nkey(n), key);
    if (cmp < 0 || (inclusive && cmp == 0)) {
      count += nsize(n->l) + 1;
      n = n->r;
    } else {
      n = n->l;
    }
  }
  return count;
}

size_t store_cache_count_prefix_after(const struct cache *c, const char *prefix,
                                      const char *after) {
  const char *p = prefix ? prefix : "";
  size_t end =
      *p ? rank_through_prefix(c->root, p, strlen(p)) : store_cache_size(c);
  size_t start = rank_of(c->root, p, false);
  if (after && strcmp(after, p) >= 0)
    start = rank_of(c->root, after, true);
  return end > start ? end - start : 0;
}

size_t store_cache_count_prefix(const struct cache *c, const char *prefix) {
  return store_cache_count_prefix_after(c, prefix, NULL);
}

void store_cache_iter_seek(struct cache_iter *it, const struct cache *c,
                           const char *key, bool exclusive) {
  it->depth = 0;
  struct cache_node *n = c->root;
  while (n) {
    int cmp = strcmp(nkey(n), key);
    if (cmp > 0 || (cmp == 0 && !exclusive)) {
      /* n qualifies; remember it and look for a smaller one on the left. */
      it->stack[it->depth++] = n;
      n = n->l;
    } else {
      n = n->r;
    }
  }
}

struct rec *store_cache_iter_next(struct cache_iter *it) {
  if (it->depth == 0)
    return NULL;
  struct cache_node *n = it->stack[--it->depth];
  for (struct cache_node *m = n->r; m; m = m->l)
    it->stack[it->depth++] = m;
  return n->rec;
}
