/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The RBAC authorizer: Roles, ClusterRoles and their bindings, read from
 * the store once and kept in step by one store watch on
 * /registry/rbac.authorization.k8s.io/ (every API server sharing the
 * store sees the same), with an index (subject, namespace) -> bindings
 * ("u:alice" / "g:system:authenticated", "" for ClusterRoleBindings; a
 * ServiceAccount subject is its user name)
 * rebuilt after a change, so a check is a few hash lookups and rule
 * compares, no parse and no store read.  ClusterRole aggregation is
 * resolved in that rebuild (the rules of every ClusterRole whose labels
 * one of its clusterRoleSelectors matches, transitively, as the
 * clusterrole-aggregation controller does; the union is written back into
 * the aggregated role's rules, as that controller writes it).
 */
#include <json-c/linkhash.h>

#include "apiserver/authz.h"

#define RBAC_PREFIX "/registry/rbac.authorization.k8s.io/"

struct rbac_role {
  struct as_rule *rules;
  size_t n_rules;
  json_object *labels;    /* owned ref or NULL */
  json_object *selectors; /* aggregationRule.clusterRoleSelectors, or NULL */
  const struct as_rule **eff; /* own and aggregated rules (rebuild) */
  size_t n_eff;
};

struct rbac_binding {
  char *ns;       /* NULL: a ClusterRoleBinding */
  char *role_key; /* "C/name" or "R/ns/name" */
  char **subjects;
};

struct blist {
  struct rbac_binding **v;
  size_t n, cap;
};

struct as_rbac {
  struct lh_table *roles;    /* "C/name", "R/ns/name" -> rbac_role */
  struct lh_table *bindings; /* store key -> rbac_binding */
  struct lh_table *index;    /* subject -> blist */
  bool dirty;
  kube_store_watch_t *watch;
  kube_apiserver_t *srv;
  struct event *sync_ev; /* writes aggregated rules back, batched */
};

static void role_free(struct rbac_role *r) {
  if (!r)
    return;
  for (size_t i = 0; i < r->n_rules; i++)
    as_rule_clear(&r->rules[i]);
  free(r->rules);
  if (r->labels)
    json_object_put(r->labels);
  if (r->selectors)
    json_object_put(r->selectors);
  free(r->eff);
  free(r);
}

static void binding_free(struct rbac_binding *b) {
  if (!b)
    return;
  free(b->ns);
  free(b->role_key);
  for (size_t i = 0; b->subjects && b->subjects[i]; i++)
    free(b->subjects[i]);
  free(b->subjects);
  free(b);
}

static void role_entry_free(struct lh_entry *e) {
  free(lh_entry_k(e));
  role_free((struct rbac_role *)lh_entry_v(e));
}

static void binding_entry_free(struct lh_entry *e) {
  free(lh_entry_k(e));
  binding_free((struct rbac_binding *)lh_entry_v(e));
}

static void blist_entry_free(struct lh_entry *e) {
  struct blist *l = (struct blist *)lh_entry_v(e);
  free(lh_entry_k(e));
  if (l)
    free(l->v);
  free(l);
}

/* The parts of an RBAC store key: kind ("roles", ...), namespace, name. */
static bool split_key(const char *key, char *kind, char *ns, char *name) {
  const char *p = key + strlen(RBAC_PREFIX);
  const char *s1 = strchr(p, '/');
  if (!s1 || (size_t)(s1 - p) >= 64)
    return false;
  snprintf(kind, 64, "%.*s", (int)(s1 - p), p);
  const char *rest = s1 + 1;
  const char *s2 = strchr(rest, '/');
  if (s2) {
    snprintf(ns, 300, "%.*s", (int)(s2 - rest), rest);
    snprintf(name, 300, "%s", s2 + 1);
  } else {
    ns[0] = 0;
    snprintf(name, 300, "%s", rest);
  }
  return true;
}

static struct rbac_role *role_parse(json_object *o) {
  struct rbac_role *r = calloc(1, sizeof *r);
  if (!r)
    return NULL;
  json_object *rules = kube_json_get(o, "rules");
  size_t n = json_object_is_type(rules, json_type_array)
                 ? json_object_array_length(rules)
                 : 0;
  r->rules = n ? calloc(n, sizeof *r->rules) : NULL;
  for (size_t i = 0; r->rules && i < n; i++)
    if (as_rule_parse(json_object_array_get_idx(rules, i),
                      &r->rules[r->n_rules]) == 0)
      r->n_rules++;
  json_object *labels = kube_json_get(o, "metadata.labels");
  if (labels)
    r->labels = json_object_get(labels);
  json_object *sel = kube_json_get(o, "aggregationRule.clusterRoleSelectors");
  if (json_object_is_type(sel, json_type_array))
    r->selectors = json_object_get(sel);
  return r;
}

static struct rbac_binding *binding_parse(json_object *o, const char *ns) {
  struct rbac_binding *b = calloc(1, sizeof *b);
  if (!b)
    return NULL;
  const char *rk = kube_json_get_string(o, "roleRef.kind");
  const char *rn = kube_json_get_string(o, "roleRef.name");
  if (!rk || !rn) {
    free(b);
    return NULL;
  }
  int rc = streq(rk, "Role") && ns ? asprintf(&b->role_key, "R/%s/%s", ns, rn)
                                   : asprintf(&b->role_key, "C/%s", rn);
  if (rc < 0) {
    free(b);
    return NULL;
  }
  b->ns = ns ? strdup(ns) : NULL;
  json_object *subjects = kube_json_get(o, "subjects");
  size_t n = json_object_is_type(subjects, json_type_array)
                 ? json_object_array_length(subjects)
                 : 0;
  b->subjects = calloc(n + 1, sizeof *b->subjects);
  size_t j = 0;
  for (size_t i = 0; b->subjects && i < n; i++) {
    json_object *s = json_object_array_get_idx(subjects, i);
    const char *k = kube_json_get_string(s, "kind") ?: "";
    const char *name = kube_json_get_string(s, "name") ?: "";
    const char *sns = kube_json_get_string(s, "namespace");
    char *v = NULL;
    if (streq(k, "User"))
      rc = asprintf(&v, "u:%s", name);
    else if (streq(k, "Group"))
      rc = asprintf(&v, "g:%s", name);
    else if (streq(k, "ServiceAccount"))
      rc = asprintf(&v, "u:system:serviceaccount:%s:%s",
                    sns && *sns ? sns : (ns ? ns : ""), name);
    else
      continue;
    if (rc >= 0)
      b->subjects[j++] = v;
  }
  return b;
}

static void apply(struct as_rbac *rb, const char *key, json_object *o) {
  char kind[64], ns[300], name[300], rkey[700];
  if (!split_key(key, kind, ns, name))
    return;
  rb->dirty = true;
  if (streq(kind, "roles") || streq(kind, "clusterroles")) {
    if (streq(kind, "roles"))
      snprintf(rkey, sizeof rkey, "R/%s/%s", ns, name);
    else
      snprintf(rkey, sizeof rkey, "C/%s", name);
    lh_table_delete(rb->roles, rkey);
    struct rbac_role *r = o ? role_parse(o) : NULL;
    char *k = r ? strdup(rkey) : NULL;
    if (k)
      lh_table_insert(rb->roles, k, r);
    else
      role_free(r);
  } else if (streq(kind, "rolebindings") ||
             streq(kind, "clusterrolebindings")) {
    lh_table_delete(rb->bindings, key);
    struct rbac_binding *b =
        o ? binding_parse(o, streq(kind, "rolebindings") ? ns : NULL) : NULL;
    char *k = b ? strdup(key) : NULL;
    if (k)
      lh_table_insert(rb->bindings, k, b);
    else
      binding_free(b);
  }
}

static struct rbac_role *role_get(struct as_rbac *rb, const char *key) {
  struct rbac_role *r = NULL;
  return lh_table_lookup_ex(rb->roles, key, (void **)&r) ? r : NULL;
}

static void eff_add(struct rbac_role *r, const struct as_rule *rule,
                    size_t *cap) {
  for (size_t i = 0; i < r->n_eff; i++)
    if (r->eff[i] == rule)
      return;
  if (r->n_eff == *cap) {
    size_t nc = *cap ? *cap * 2 : 16;
    const struct as_rule **v = realloc(r->eff, nc * sizeof *v);
    if (!v)
      return;
    r->eff = v;
    *cap = nc;
  }
  r->eff[r->n_eff++] = rule;
}

/* The rules of r and, through its selectors, of the ClusterRoles they
 * select (their own aggregated ones too, to a small depth). */
static void aggregate(struct as_rbac *rb, struct rbac_role *target,
                      struct rbac_role *r, size_t *cap, int depth) {
  /* An aggregated ClusterRole's own rules are the controller's copy of
   * what it selects (written back below): not a source. */
  for (size_t i = 0; !r->selectors && i < r->n_rules; i++)
    eff_add(target, &r->rules[i], cap);
  if (!r->selectors || depth > 4)
    return;
  struct lh_entry *e;
  lh_foreach(rb->roles, e) {
    const char *k = (const char *)lh_entry_k(e);
    struct rbac_role *o = (struct rbac_role *)lh_entry_v(e);
    if (k[0] != 'C' || o == r || o == target)
      continue;
    for (size_t i = 0; i < json_object_array_length(r->selectors); i++)
      if (as_label_selector_matches(json_object_array_get_idx(r->selectors, i),
                                    o->labels)) {
        aggregate(rb, target, o, cap, depth + 1);
        break;
      }
  }
}

static void rebuild(struct as_rbac *rb) {
  rb->dirty = false;
  if (rb->index)
    lh_table_free(rb->index);
  rb->index = lh_kchar_table_new(256, blist_entry_free);
  struct lh_entry *e;
  lh_foreach(rb->roles, e) {
    struct rbac_role *r = (struct rbac_role *)lh_entry_v(e);
    free(r->eff);
    r->eff = NULL;
    r->n_eff = 0;
    size_t cap = 0;
    aggregate(rb, r, r, &cap, 0);
  }
  lh_foreach(rb->bindings, e) {
    struct rbac_binding *b = (struct rbac_binding *)lh_entry_v(e);
    for (size_t i = 0; b->subjects && b->subjects[i]; i++) {
      /* Keyed by subject and scope: a check looks at the bindings of its
       * namespace and the cluster's only. */
      char key[900];
      snprintf(key, sizeof key, "%s\x1f%s", b->subjects[i], b->ns ? b->ns : "");
      struct blist *l = NULL;
      if (!lh_table_lookup_ex(rb->index, key, (void **)&l)) {
        l = calloc(1, sizeof *l);
        char *k = l ? strdup(key) : NULL;
        if (!k) {
          free(l);
          continue;
        }
        lh_table_insert(rb->index, k, l);
      }
      if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 4;
        struct rbac_binding **v = realloc(l->v, nc * sizeof *v);
        if (!v)
          continue;
        l->v = v;
        l->cap = nc;
      }
      l->v[l->n++] = b;
    }
  }
}

static struct as_rbac *ready(kube_apiserver_t *srv) {
  struct as_rbac *rb = srv->auth ? srv->auth->rbac : NULL;
  if (rb && rb->dirty)
    rebuild(rb);
  return rb;
}

/* Calls fn for each role that applies to u in namespace ns (NULL: cluster
 * scope only); stops when fn returns true. */
static bool each_role(struct as_rbac *rb, const kube_apiserver_user_t *u,
                      const char *ns,
                      bool (*fn)(struct rbac_role *r, void *arg), void *arg) {
  char key[900];
  for (ssize_t gi = -1; gi < 0 || (u->groups && u->groups[gi]); gi++) {
    const char *subject = gi < 0 ? u->name : u->groups[gi];
    /* The cluster's bindings, then those of the namespace. */
    for (int scope = 0; scope < (ns ? 2 : 1); scope++) {
      snprintf(key, sizeof key, "%c:%s\x1f%s", gi < 0 ? 'u' : 'g', subject,
               scope ? ns : "");
      struct blist *l = NULL;
      if (!lh_table_lookup_ex(rb->index, key, (void **)&l) || !l)
        continue;
      for (size_t i = 0; i < l->n; i++) {
        struct rbac_role *r = role_get(rb, l->v[i]->role_key);
        if (r && fn(r, arg))
          return true;
      }
    }
  }
  return false;
}

static bool role_allows(struct rbac_role *r, void *arg) {
  const struct as_attrs *a = arg;
  for (size_t i = 0; i < r->n_eff; i++)
    if (as_rule_matches(r->eff[i], a))
      return true;
  return false;
}

bool as_rbac_allows(kube_apiserver_t *srv, const struct as_attrs *a) {
  struct as_rbac *rb = ready(srv);
  if (!rb || !a->user)
    return false;
  return each_role(rb, a->user, a->resource && a->ns && *a->ns ? a->ns : NULL,
                   role_allows, (void *)a);
}

int as_rbac_role_rules(kube_apiserver_t *srv, const char *ns, const char *name,
                       const struct as_rule ***rules, size_t *n) {
  struct as_rbac *rb = ready(srv);
  char key[700];
  if (ns)
    snprintf(key, sizeof key, "R/%s/%s", ns, name);
  else
    snprintf(key, sizeof key, "C/%s", name);
  struct rbac_role *r = rb ? role_get(rb, key) : NULL;
  if (!r)
    return -1;
  *rules = r->eff;
  *n = r->n_eff;
  return 0;
}

struct rules_acc {
  json_object *res, *nonres;
};

static bool role_collect(struct rbac_role *r, void *arg) {
  struct rules_acc *acc = arg;
  for (size_t i = 0; i < r->n_eff; i++) {
    json_object *j = as_rule_to_json(r->eff[i]);
    if (j)
      json_object_array_add(r->eff[i]->urls ? acc->nonres : acc->res, j);
  }
  return false;
}

void as_rbac_rules_for(kube_apiserver_t *srv, const kube_apiserver_user_t *u,
                       const char *ns, json_object *res, json_object *nonres) {
  struct as_rbac *rb = ready(srv);
  struct rules_acc acc = {res, nonres};
  if (rb)
    each_role(rb, u, ns, role_collect, &acc);
}

/* ---- aggregation written back ---- */

/* The clusterrole-aggregation controller: an aggregated ClusterRole's
 * stored rules are the union of the rules it selects (so `kubectl get
 * clusterrole admin -o yaml` shows them).  Conflicts with another server
 * doing the same are left to the next change. */
static void sync_cb(evutil_socket_t fd, short what, void *arg) {
  struct as_rbac *rb = arg;
  kube_apiserver_t *srv = rb->srv;
  if (srv->shutting_down)
    return;
  if (rb->dirty)
    rebuild(rb);
  struct lh_entry *e;
  lh_foreach(rb->roles, e) {
    const char *k = (const char *)lh_entry_k(e);
    struct rbac_role *r = (struct rbac_role *)lh_entry_v(e);
    if (k[0] != 'C' || !r->selectors)
      continue;
    json_object *want = json_object_new_array();
    for (size_t i = 0; want && i < r->n_eff; i++) {
      json_object *j = as_rule_to_json(r->eff[i]);
      bool dup = false;
      for (size_t x = 0; j && x < json_object_array_length(want); x++)
        dup = dup || json_object_equal(j, json_object_array_get_idx(want, x));
      if (j && !dup)
        json_object_array_add(want, j);
      else if (j)
        json_object_put(j);
    }
    char key[700];
    snprintf(key, sizeof key, RBAC_PREFIX "clusterroles/%s", k + 2);
    kube_store_record_t *rec = kube_store_get(srv->store, key, NULL);
    json_object *o = rec ? as_record_parse(rec, NULL) : NULL;
    json_object *have = NULL;
    if (o && want &&
        (!json_object_object_get_ex(o, "rules", &have) ||
         !json_object_equal(have, want))) {
      json_object_object_add(o, "rules", json_object_get(want));
      as_internal_update(srv, key, o, rec->mod_revision);
    }
    if (o)
      json_object_put(o);
    if (want)
      json_object_put(want);
    kube_store_record_unref(rec);
  }
}

/* ---- the store watch ---- */

static void watch_cb(const kube_store_event_t *ev, const kube_error_t *err,
                     void *arg) {
  kube_apiserver_t *srv = arg;
  struct as_rbac *rb = srv->auth->rbac;
  if (!ev) {
    /* Ended (history compacted away): read everything again. */
    kube_store_watch_cancel(rb->watch);
    rb->watch = NULL;
    if (!srv->shutting_down)
      as_rbac_start(srv);
    return;
  }
  if (ev->type == KUBE_STORE_EVENT_DELETE) {
    apply(rb, ev->rec->key, NULL);
    if (strstr(ev->rec->key, "/clusterroles/") && rb->sync_ev)
      event_active(rb->sync_ev, 0, 0);
    return;
  }
  json_object *o = as_record_parse(ev->rec, NULL);
  apply(rb, ev->rec->key, o);
  if (o)
    json_object_put(o);
  if (strstr(ev->rec->key, "/clusterroles/") && rb->sync_ev)
    event_active(rb->sync_ev, 0, 0);
}

void as_rbac_start(kube_apiserver_t *srv) {
  if (!srv->auth)
    return;
  struct as_rbac *rb = srv->auth->rbac;
  if (!rb) {
    rb = srv->auth->rbac = calloc(1, sizeof *rb);
    if (!rb)
      return;
    rb->srv = srv;
    rb->sync_ev = event_new(srv->base, -1, 0, sync_cb, rb);
  }
  if (rb->roles)
    lh_table_free(rb->roles);
  if (rb->bindings)
    lh_table_free(rb->bindings);
  rb->roles = lh_kchar_table_new(256, role_entry_free);
  rb->bindings = lh_kchar_table_new(256, binding_entry_free);
  rb->dirty = true;
  kube_store_list_t l = {0};
  kube_error_t err = KUBE_ERROR_INIT;
  if (kube_store_list(srv->store, RBAC_PREFIX, NULL, 0, &l, &err) < 0) {
    log_warn("apiserver: cannot read RBAC objects: %s", err.message);
    kube_error_clear(&err);
    return;
  }
  for (size_t i = 0; i < l.n; i++) {
    json_object *o = as_record_parse(l.items[i], NULL);
    apply(rb, l.items[i]->key, o);
    if (o)
      json_object_put(o);
  }
  int64_t rev = l.revision;
  kube_store_list_clear(&l);
  rb->watch =
      kube_store_watch(srv->store, RBAC_PREFIX, rev, watch_cb, srv, &err);
  if (!rb->watch)
    log_warn("apiserver: cannot watch RBAC objects: %s", err.message);
  kube_error_clear(&err);
}

void as_rbac_free(kube_apiserver_t *srv) {
  struct as_rbac *rb = srv->auth ? srv->auth->rbac : NULL;
  if (!rb)
    return;
  kube_store_watch_cancel(rb->watch);
  if (rb->sync_ev)
    event_free(rb->sync_ev);
  if (rb->index)
    lh_table_free(rb->index);
  if (rb->bindings)
    lh_table_free(rb->bindings);
  if (rb->roles)
    lh_table_free(rb->roles);
  free(rb);
  srv->auth->rbac = NULL;
}
