/* SPDX-License-Identifier: Apache-2.0 */
/* Names -> records.  Each name also counts the existing names below it,
 * so a name that only leads to others ("ns.svc.cluster.local", an empty
 * non-terminal) answers NODATA rather than NXDOMAIN. */
#include "dns/internal.h"

static bool is_stop(const struct dns_table *t, const char *name) {
  for (size_t i = 0; t->stops && t->stops[i]; i++)
    if (streq(t->stops[i], name))
      return true;
  return false;
}

static void node_free(struct dns_node *n) {
  for (size_t i = 0; i < n->n; i++)
    ldns_rr_free(n->recs[i].rr);
  free(n->recs);
  free(n);
}

/* The parent of a name ("a.b.c" -> "b.c"), NULL at a stop or the top. */
static const char *parent(const struct dns_table *t, const char *name) {
  if (is_stop(t, name))
    return NULL;
  const char *dot = strchr(name, '.');
  return dot ? dot + 1 : NULL;
}

static struct dns_node *get_or_add(struct dns_table *t, const char *name);

/* A name began (+1) or ceased (-1) to exist: its parent counts it, and
 * when that changes whether the parent exists, so on upwards. */
static int count_up(struct dns_table *t, const char *name, int delta) {
  for (const char *p = parent(t, name); p; p = parent(t, p)) {
    struct dns_node *n =
        delta > 0 ? get_or_add(t, p) : strmap_get(&t->names, p);
    if (!n)
      return delta > 0 ? -1 : 0;
    bool existed = n->below || n->n;
    n->below += (size_t)(ssize_t)delta;
    bool exists = n->below || n->n;
    if (!exists) {
      strmap_remove(&t->names, p);
      node_free(n);
    }
    if (existed == exists)
      return 0;
  }
  return 0;
}

static struct dns_node *get_or_add(struct dns_table *t, const char *name) {
  struct dns_node *n = strmap_get(&t->names, name);
  if (n)
    return n;
  if (!(n = calloc(1, sizeof *n)) || !strmap_put(&t->names, name, n, NULL)) {
    free(n);
    return NULL;
  }
  return n;
}

/* A node exists while it has records or names below.  The count an
 * ancestor keeps is of its children that exist (a child counts once,
 * however many names lie below it). */
int dns_table_add(struct dns_table *t, const char *name, ldns_rr *rr,
                  const void *owner) {
  struct dns_node *n = strmap_get(&t->names, name);
  bool existed = n != NULL;
  t->gen++;
  if (!n && !(n = get_or_add(t, name))) {
    ldns_rr_free(rr);
    return -1;
  }
  if (n->n == n->cap) {
    size_t cap = n->cap ? n->cap * 2 : 2;
    struct dns_rec *r = realloc(n->recs, cap * sizeof *r);
    if (!r) {
      ldns_rr_free(rr);
      return -1;
    }
    n->recs = r;
    n->cap = cap;
  }
  n->recs[n->n++] = (struct dns_rec){rr, owner};
  if (!existed && count_up(t, name, +1) < 0)
    return -1;
  return 0;
}

void dns_table_remove(struct dns_table *t, const char *name,
                      const void *owner) {
  struct dns_node *n = strmap_get(&t->names, name);
  if (!n)
    return;
  t->gen++;
  size_t k = 0;
  for (size_t i = 0; i < n->n; i++) {
    if (n->recs[i].owner == owner)
      ldns_rr_free(n->recs[i].rr);
    else
      n->recs[k++] = n->recs[i];
  }
  n->n = k;
  if (n->n || n->below)
    return;
  strmap_remove(&t->names, name);
  node_free(n);
  count_up(t, name, -1);
}

const struct dns_node *dns_table_find(const struct dns_table *t,
                                      const char *name) {
  return strmap_get(&t->names, name);
}

static void free_node(void *value) {
  node_free(value);
}

void dns_table_clear(struct dns_table *t) {
  strmap_clear(&t->names, free_node);
}
