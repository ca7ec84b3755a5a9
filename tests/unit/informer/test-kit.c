/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the controller kit over the fake transport of tests/lib:
 * the shared informer factory (sharing, late handlers, indexes, resync
 * after 410, relist diffs, managedFields), the writer (every verb, error
 * mapping), the event recorder (counting, aggregation, spam filter, series,
 * re-creation) and the controller skeleton (cache sync, backoff, no key
 * synced twice at once, pending syncs, owners). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libkube/kit.h>

#include "client/internal.h"
#include "kube-test.h"

#define streq(a, b) (strcmp((a), (b)) == 0)

struct env {
  kube_loop_t *loop;
  kt_fake_t *f;
  kube_transport_t tp;
};

static void env_init(struct env *e) {
  e->loop = kube_loop_new(NULL);
  assert_non_null(e->loop);
  e->f = kt_fake_new(e->loop);
  kt_fake_transport(e->f, &e->tp);
}

static void env_free(struct env *e) {
  kt_fake_free(e->f);
  kube_loop_free(e->loop);
}

/* A pod in namespace ns, on node (NULL: none), owned by a ReplicaSet
 * (NULL: none), with label app=app. */
static void add_pod(struct env *e, const char *ns, const char *name,
                    const char *node, const char *rs, const char *app) {
  char json[1024];
  char owner[256] = "", spec[128] = "";
  if (rs)
    snprintf(owner, sizeof owner,
             ",\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":"
             "\"ReplicaSet\",\"name\":\"%s\",\"uid\":\"uid-%s\","
             "\"controller\":true}]",
             rs, rs);
  if (node)
    snprintf(spec, sizeof spec, "\"nodeName\":\"%s\",", node);
  snprintf(json, sizeof json,
           "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
           "\"%s\",\"namespace\":\"%s\",\"labels\":{\"app\":\"%s\"}%s},"
           "\"spec\":{%s\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}",
           name, ns, app, owner, spec);
  assert_true(kt_fake_add(e->f, json) > 0);
}

/* ------------------------------------------------------------------------ */
/* Factory                                                                   */
/* ------------------------------------------------------------------------ */

struct rec {
  char log[8192];
  int synced;
  int adds, updates, deletes;
  kube_informer_t *inf;
  kube_informer_registration_t *self; /* removed from inside a handler */
  bool remove_self;
};

static void logf_(struct rec *r, const char *fmt, ...) {
  size_t l = strlen(r->log);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->log + l, sizeof r->log - l, fmt, ap);
  va_end(ap);
}

static void r_add(const char *key, const kube_object_t *obj, void *arg) {
  struct rec *r = arg;
  r->adds++;
  logf_(r, "add %s;", key);
}
static void r_update(const char *key, const kube_object_t *o,
                     const kube_object_t *n, void *arg) {
  struct rec *r = arg;
  r->updates++;
  logf_(r, "update %s;", key);
  if (r->remove_self)
    kube_informer_remove_handlers(r->inf, r->self);
}
static void r_delete(const char *key, const kube_object_t *obj, void *arg) {
  struct rec *r = arg;
  r->deletes++;
  logf_(r, "delete %s;", key);
}
static void r_synced(void *arg) {
  ((struct rec *)arg)->synced++;
}

static void r_synced_marked(void *arg) {
  struct rec *r = arg;
  r->synced++;
  logf_(r, "synced;");
}

static const kube_informer_handlers_t rec_handlers = {
    .struct_size = sizeof(kube_informer_handlers_t),
    .on_add = r_add,
    .on_update = r_update,
    .on_delete = r_delete,
    .on_synced = r_synced,
};

static bool flag_set(void *arg) {
  return *(int *)arg != 0;
}

static void count_cb(void *arg) {
  (*(int *)arg)++;
}

static size_t lists_of(kt_fake_t *f, const char *path) {
  size_t n = 0;
  for (size_t i = 0; i < kt_fake_n_actions(f); i++) {
    const kt_action_t *a = kt_fake_action(f, i);
    if (streq(a->method, "GET") && streq(a->path, path) &&
        !strstr(a->query, "watch="))
      n++;
  }
  return n;
}

static void test_factory_sharing_and_late_handlers(void **state) {
  struct env e;
  env_init(&e);
  add_pod(&e, "a", "p1", NULL, NULL, "web");
  add_pod(&e, "b", "p2", NULL, NULL, "db");
  kube_informer_factory_t *fac = kube_informer_factory_new(e.loop, &e.tp, NULL);
  assert_non_null(fac);
  kube_informer_options_t po = {.struct_size = sizeof po,
                                .path = "/api/v1/pods"};
  kube_informer_t *p1 = kube_informer_factory_informer(fac, &po, NULL);
  kube_informer_t *p2 = kube_informer_factory_informer(fac, &po, NULL);
  assert_non_null(p1);
  assert_ptr_equal(p1, p2); /* one informer per collection */
  kube_informer_options_t wo = {.struct_size = sizeof wo,
                                .path = "/api/v1/pods",
                                .label_selector = "app=web"};
  kube_informer_t *web = kube_informer_factory_informer(fac, &wo, NULL);
  assert_ptr_not_equal(web, p1); /* other selector, other informer */
  assert_int_equal(kube_informer_factory_count(fac), 2);
  kube_informer_options_t bad = {.struct_size = sizeof bad};
  kube_error_t err = KUBE_ERROR_INIT;
  assert_null(kube_informer_factory_informer(fac, &bad, &err));
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);

  struct rec early = {0}, late = {0};
  assert_non_null(kube_informer_add_handlers(p1, &rec_handlers, &early, NULL));
  int all_synced = 0;
  assert_int_equal(
      kube_informer_factory_on_synced(fac, count_cb, &all_synced, NULL), 0);
  assert_false(kube_informer_factory_synced(fac));
  assert_int_equal(kube_informer_factory_start(fac, NULL), 0);
  assert_true(kt_run_until(e.loop, flag_set, &all_synced, 5000));
  assert_int_equal(all_synced, 1);
  assert_true(kube_informer_factory_synced(fac));
  assert_int_equal(early.synced, 1);
  assert_string_equal(early.log, "add a/p1;add b/p2;");
  assert_int_equal(kube_informer_count(web), 1);
  /* Each collection listed once, whoever asked. */
  assert_int_equal(lists_of(e.f, "/api/v1/pods"), 2);

  /* A late registration: its adds come from the loop, never inside the
   * call, then its on_synced. */
  kube_informer_registration_t *lr =
      kube_informer_add_handlers(p1, &rec_handlers, &late, NULL);
  assert_non_null(lr);
  assert_int_equal(late.adds, 0);
  assert_false(kube_informer_registration_synced(lr));
  assert_true(kt_run_until(e.loop, flag_set, &late.synced, 5000));
  assert_int_equal(late.adds, 2);
  assert_true(kube_informer_registration_synced(lr));
  /* A change right after a late registration: the adds come first. */
  struct rec later = {0};
  kube_informer_add_handlers(p1, &rec_handlers, &later, NULL);
  add_pod(&e, "a", "p3", NULL, NULL, "web");
  kt_run_for(e.loop, 10);
  assert_int_equal(later.adds, 3);
  assert_null(strstr(later.log, "update"));
  /* Both see a change; after removal only one does. */
  early.log[0] = late.log[0] = '\0';
  add_pod(&e, "a", "p1", "n1", NULL, "web");
  kt_run_for(e.loop, 10);
  assert_string_equal(early.log, "update a/p1;");
  assert_string_equal(late.log, "update a/p1;");
  kube_informer_remove_handlers(p1, lr);
  kt_fake_delete(e.f, "v1", "Pod", "b", "p2");
  kt_run_for(e.loop, 10);
  assert_string_equal(early.log, "update a/p1;delete b/p2;");
  assert_string_equal(late.log, "update a/p1;");
  /* A handler removing itself while handlers run. */
  struct rec selfish = {0};
  selfish.inf = p1;
  selfish.remove_self = true;
  selfish.self = kube_informer_add_handlers(p1, &rec_handlers, &selfish, NULL);
  kt_run_for(e.loop, 10);
  add_pod(&e, "a", "p1", "n2", NULL, "web");
  add_pod(&e, "a", "p3", "n2", NULL, "web");
  kt_run_for(e.loop, 10);
  assert_int_equal(selfish.updates, 1);
  /* on_synced of a factory already synced: from the loop, once. */
  int again = 0;
  kube_informer_factory_on_synced(fac, count_cb, &again, NULL);
  assert_int_equal(again, 0);
  kt_run_for(e.loop, 5);
  assert_int_equal(again, 1);
  /* Informers asked for after start start at once. */
  kube_informer_options_t no = {.struct_size = sizeof no,
                                .path = "/api/v1/nodes"};
  kube_informer_t *nodes = kube_informer_factory_informer(fac, &no, NULL);
  assert_true(kube_informer_running(nodes));
  kube_informer_factory_stop(fac);
  assert_false(kube_informer_running(p1));
  assert_true(kube_informer_count(p1) > 0); /* the cache stays readable */
  kube_informer_free(p1); /* refused: it belongs to the factory */
  kube_informer_factory_free(fac);
  env_free(&e);
}

/* ------------------------------------------------------------------------ */
/* Indexes                                                                   */
/* ------------------------------------------------------------------------ */

static void by_first_letter(const kube_object_t *obj, kube_index_values_t *out,
                            void *arg) {
  char v[2] = {kube_object_name(obj)[0], 0};
  kube_index_values_add(out, v);
}

static void other_fn(const kube_object_t *obj, kube_index_values_t *out,
                     void *arg) {}

static void collect_keys(const char *key, const kube_object_t *obj, void *arg) {
  char *buf = arg;
  strcat(buf, key);
  strcat(buf, ";");
}

static char *keys_of(kube_informer_t *inf, const char *index,
                     const char *value) {
  size_t n = 0;
  const char **keys = kube_informer_index_keys(inf, index, value, &n, NULL);
  assert_non_null(keys);
  assert_null(keys[n]);
  /* Sorted, so tests do not depend on bucket order. */
  for (size_t i = 0; i + 1 < n; i++)
    for (size_t j = i + 1; j < n; j++)
      if (strcmp(keys[i], keys[j]) > 0) {
        const char *t = keys[i];
        keys[i] = keys[j];
        keys[j] = t;
      }
  static char buf[1024];
  buf[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    strcat(buf, keys[i]);
    strcat(buf, ";");
  }
  free(keys);
  return buf;
}

static void test_indexes(void **state) {
  struct env e;
  env_init(&e);
  add_pod(&e, "a", "p1", "n1", "rs1", "web");
  add_pod(&e, "a", "p2", "n1", "rs1", "web");
  add_pod(&e, "b", "p3", "n2", NULL, "db");
  add_pod(&e, "b", "q4", NULL, "rs2", "web");
  kube_informer_factory_t *fac = kube_informer_factory_new(e.loop, &e.tp, NULL);
  kube_informer_options_t po = {.struct_size = sizeof po,
                                .path = "/api/v1/pods"};
  kube_informer_t *inf = kube_informer_factory_informer(fac, &po, NULL);
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_informer_add_index(inf, KUBE_INDEX_NAMESPACE,
                                           kube_index_namespace, NULL, NULL),
                   0);
  assert_int_equal(kube_informer_add_index(inf, KUBE_INDEX_NODE_NAME,
                                           kube_index_node_name, NULL, NULL),
                   0);
  assert_int_equal(kube_informer_add_index(inf, KUBE_INDEX_CONTROLLER_UID,
                                           kube_index_controller_uid, NULL,
                                           NULL),
                   0);
  /* Components sharing an informer may all ask: the same fn is fine,
   * another under the same name is not. */
  assert_int_equal(kube_informer_add_index(inf, KUBE_INDEX_NODE_NAME,
                                           kube_index_node_name, NULL, NULL),
                   0);
  assert_int_equal(
      kube_informer_add_index(inf, KUBE_INDEX_NODE_NAME, other_fn, NULL, &err),
      -1);
  assert_int_equal(err.reason, KUBE_REASON_ALREADY_EXISTS);
  kube_error_clear(&err);
  kube_informer_factory_start(fac, NULL);
  assert_true(
      kt_run_until(e.loop, (bool (*)(void *))kube_informer_synced, inf, 5000));
  assert_string_equal(keys_of(inf, KUBE_INDEX_NAMESPACE, "a"), "a/p1;a/p2;");
  assert_string_equal(keys_of(inf, KUBE_INDEX_NAMESPACE, "b"), "b/p3;b/q4;");
  assert_string_equal(keys_of(inf, KUBE_INDEX_NODE_NAME, "n1"), "a/p1;a/p2;");
  assert_string_equal(keys_of(inf, KUBE_INDEX_CONTROLLER_UID, "uid-rs1"),
                      "a/p1;a/p2;");
  assert_string_equal(keys_of(inf, KUBE_INDEX_NODE_NAME, "nowhere"), "");
  assert_int_equal(kube_informer_index_count(inf, KUBE_INDEX_NODE_NAME, "n2"),
                   1);
  /* Indexes added once the cache is full index what is there. */
  assert_int_equal(kube_informer_add_index(inf, KUBE_INDEX_LABEL,
                                           kube_index_labels, NULL, NULL),
                   0);
  assert_int_equal(
      kube_informer_add_index(inf, "letter", by_first_letter, NULL, NULL), 0);
  assert_string_equal(keys_of(inf, KUBE_INDEX_LABEL, "app=web"),
                      "a/p1;a/p2;b/q4;");
  assert_string_equal(keys_of(inf, "letter", "q"), "b/q4;");
  char buf[256] = "";
  assert_int_equal(kube_informer_index_foreach(inf, KUBE_INDEX_LABEL, "app=db",
                                               collect_keys, buf),
                   1);
  assert_string_equal(buf, "b/p3;");
  /* Changes move objects between buckets. */
  add_pod(&e, "a", "p1", "n2", "rs1", "db"); /* n1 -> n2, web -> db */
  kt_fake_delete(e.f, "v1", "Pod", "a", "p2");
  add_pod(&e, "c", "p5", "n1", NULL, "web");
  kt_run_for(e.loop, 20);
  assert_string_equal(keys_of(inf, KUBE_INDEX_NODE_NAME, "n1"), "c/p5;");
  assert_string_equal(keys_of(inf, KUBE_INDEX_NODE_NAME, "n2"), "a/p1;b/p3;");
  assert_string_equal(keys_of(inf, KUBE_INDEX_LABEL, "app=web"), "b/q4;c/p5;");
  assert_string_equal(keys_of(inf, KUBE_INDEX_CONTROLLER_UID, "uid-rs1"),
                      "a/p1;");
  assert_string_equal(keys_of(inf, KUBE_INDEX_NAMESPACE, "c"), "c/p5;");
  assert_false(kube_informer_has_index(inf, "nope"));
  assert_null(kube_informer_index_keys(inf, "nope", "x", NULL, &err));
  assert_int_equal(err.reason, KUBE_REASON_NOT_FOUND);
  kube_error_clear(&err);
  assert_int_equal(kube_informer_index_count(inf, "nope", "x"), 0);

  /* Resync after 410: changes made while no watch was open, history
   * compacted; the informer re-lists and its indexes follow the diff. */
  kt_fake_end_watches(e.f, "/api/v1/pods");
  add_pod(&e, "a", "p6", "n1", NULL, "web");
  kt_fake_delete(e.f, "v1", "Pod", "c", "p5");
  add_pod(&e, "b", "p3", "n1", NULL, "db");
  kt_fake_compact(e.f);
  kt_fake_clear_actions(e.f);
  uint64_t lists = kube_informer_list_count(inf);
  struct rec r = {0};
  /* Registered now: owed adds for the cache as it is, then on_synced, then
   * the diff. */
  kube_informer_handlers_t marked = rec_handlers;
  marked.on_synced = r_synced_marked;
  kube_informer_add_handlers(inf, &marked, &r, NULL);
  while (kube_informer_list_count(inf) == lists)
    kt_run_for(e.loop, 5);
  kt_run_for(e.loop, 20);
  assert_non_null(strstr(r.log, "add a/p1;")); /* its late adds */
  assert_non_null(strstr(r.log, "add c/p5;")); /* still cached then */
  const char *diff = strstr(r.log, "synced;");
  assert_non_null(diff);
  assert_non_null(strstr(diff, "add a/p6;"));
  assert_non_null(strstr(r.log, "update b/p3;"));
  assert_non_null(strstr(r.log, "delete c/p5;"));
  assert_null(strstr(diff, "a/p1")); /* unchanged: no event */
  assert_string_equal(keys_of(inf, KUBE_INDEX_NODE_NAME, "n1"), "a/p6;b/p3;");
  assert_string_equal(keys_of(inf, KUBE_INDEX_NAMESPACE, "c"), "");
  assert_true(kube_informer_cache_bytes(inf) > 0);
  kube_informer_factory_free(fac);
  env_free(&e);
}

/* managedFields leave the cache unless asked for, whether the object came
 * from a LIST or a watch line; the text scanner copes with them anywhere. */
static void test_managed_fields(void **state) {
  struct env e;
  env_init(&e);
  const char *mf =
      "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
      "\"%s\",\"namespace\":\"default\",\"managedFields\":[{\"manager\":"
      "\"kube\",\"fieldsV1\":{\"f:data\":{\"f:k\":{}}},\"note\":\"a ] } "
      "\\\" tricky string\"}],\"labels\":{\"x\":\"y\"}},\"data\":{"
      "\"managedFields\":\"not metadata\"}}";
  char json[1024];
  snprintf(json, sizeof json, mf, "listed");
  kt_fake_add(e.f, json);
  kube_informer_options_t o = {.struct_size = sizeof o,
                               .path = "/api/v1/configmaps"};
  kube_informer_t *inf = kube_informer_new(e.loop, &e.tp, &o, NULL, NULL, NULL);
  o.keep_managed_fields = true;
  kube_informer_t *keep =
      kube_informer_new(e.loop, &e.tp, &o, NULL, NULL, NULL);
  kube_informer_start(inf, NULL);
  kube_informer_start(keep, NULL);
  assert_true(
      kt_run_until(e.loop, (bool (*)(void *))kube_informer_synced, keep, 5000));
  assert_true(
      kt_run_until(e.loop, (bool (*)(void *))kube_informer_synced, inf, 5000));
  kt_run_for(e.loop, 10); /* the watches open */
  snprintf(json, sizeof json, mf, "watched");
  kt_fake_add(e.f, json);
  kt_run_for(e.loop, 10);
  const char *keys[] = {"default/listed", "default/watched"};
  for (int i = 0; i < 2; i++) {
    const kube_object_t *a = kube_informer_get(inf, keys[i]);
    assert_non_null(a);
    char *s = kube_object_to_json(a, KUBE_JSON_COMPACT);
    assert_null(strstr(s, "\"manager\""));
    assert_non_null(strstr(s, "\"labels\":{\"x\":\"y\"}"));
    assert_non_null(strstr(s, "not metadata"));
    free(s);
    const kube_object_t *b = kube_informer_get(keep, keys[i]);
    s = kube_object_to_json(b, KUBE_JSON_COMPACT);
    assert_non_null(strstr(s, "\"manager\":\"kube\""));
    free(s);
  }
  assert_true(kube_informer_cache_bytes(inf) < kube_informer_cache_bytes(keep));
  /* The scanner on its own: one pass finds name, namespace, rv and the
   * managedFields span (strings in strings and brackets in strings do not
   * fool it). */
  const char *t = "{\"a\":\"}\",\"metadata\":{\"resourceVersion\":\"42\","
                  "\"managedFields\":[1,{\"b\":\"]\\\"\"}],\"name\":\"x\"},"
                  "\"name\":\"not this\"}";
  struct client_json_meta m;
  client_json_scan_meta(t, strlen(t), &m);
  assert_true(m.found);
  assert_int_equal(m.rv_len, 2);
  assert_memory_equal(m.rv, "42", 2);
  assert_int_equal(m.name_len, 1);
  assert_memory_equal(m.name, "x", 1);
  assert_null(m.ns);
  assert_non_null(m.mf_start);
  char cut[256];
  snprintf(cut, sizeof cut, "%.*s%s", (int)(m.mf_start - t), t, m.mf_end);
  assert_string_equal(cut, "{\"a\":\"}\",\"metadata\":{\"resourceVersion\":"
                           "\"42\",\"name\":\"x\"},\"name\":\"not this\"}");
  /* managedFields last in metadata: the comma before it goes. */
  const char *t2 = "{\"metadata\":{\"name\":\"y\",\"managedFields\":[]}}";
  client_json_scan_meta(t2, strlen(t2), &m);
  snprintf(cut, sizeof cut, "%.*s%s", (int)(m.mf_start - t2), t2, m.mf_end);
  assert_string_equal(cut, "{\"metadata\":{\"name\":\"y\"}}");
  /* Escapes: the name is left to the parser. */
  const char *t3 = "{\"metadata\":{\"name\":\"a\\u0062\"}}";
  client_json_scan_meta(t3, strlen(t3), &m);
  assert_true(m.found);
  assert_null(m.name);
  /* The quick variant (watch events) agrees with the scan. */
  struct client_json_meta q;
  client_json_scan_meta(t2, strlen(t2), &m);
  assert_int_equal(client_json_quick_meta(t2, strlen(t2), NULL, &q), 0);
  assert_ptr_equal(q.mf_start, m.mf_start);
  assert_ptr_equal(q.mf_end, m.mf_end);
  client_json_scan_meta(t, strlen(t), &m);
  assert_int_equal(client_json_quick_meta(t, strlen(t), "42", &q), 0);
  assert_ptr_equal(q.rv, m.rv);
  assert_int_equal(q.rv_len, 2);
  assert_ptr_equal(q.mf_start, m.mf_start);
  assert_ptr_equal(q.mf_end, m.mf_end);
  /* Two keys of that name: it gives up (the scan decides). */
  const char *t4 = "{\"metadata\":{\"managedFields\":[]},\"data\":{"
                   "\"managedFields\":\"x\"}}";
  assert_int_equal(client_json_quick_meta(t4, strlen(t4), NULL, &q), -1);
  /* A resourceVersion not in the text: gives up too. */
  assert_int_equal(client_json_quick_meta(t, strlen(t), "7", &q), -1);
  /* Broken text: not found. */
  client_json_scan_meta("{\"metadata\":{\"name\":", 20, &m);
  assert_false(m.found);
  assert_false(client_json_is_value("{\"a\":[1,2}", 11));
  assert_true(client_json_is_value(" {\"a\":[1,2]} ", 13));
  kube_informer_free(inf);
  kube_informer_free(keep);
  env_free(&e);
}

struct list_count {
  kube_informer_t *inf;
  uint64_t n;
};
static bool lists_reached(void *arg) {
  struct list_count *c = arg;
  return kube_informer_list_count(c->inf) >= c->n;
}

/* Malformed lists: nothing applied is lost, nothing deleted, the informer
 * tries again; "items": null is an empty list. */
static void test_bad_lists(void **state) {
  struct env e;
  env_init(&e);
  add_pod(&e, "a", "p1", NULL, NULL, "web");
  /* Cut short: nothing applied. */
  kt_fake_reply(e.f, "GET", "/api/v1/pods", 200,
                "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":"
                "\"9\"},\"items\":[{\"metadata\":{\"name\":\"x\",\"namespace\""
                ":\"a\",\"resourceVersion\":\"3\"}},{\"metadata\":",
                1);
  /* Then an item that is not an object: what came before it stays. */
  kt_fake_reply(e.f, "GET", "/api/v1/pods", 200,
                "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":"
                "\"9\"},\"items\":[{\"metadata\":{\"name\":\"x\",\"namespace\""
                ":\"a\",\"resourceVersion\":\"3\"}},42]}",
                1);
  kube_informer_options_t o = {.struct_size = sizeof o, .path = "/api/v1/pods"};
  struct rec r = {0};
  kube_informer_t *inf =
      kube_informer_new(e.loop, &e.tp, &o, &rec_handlers, &r, NULL);
  kube_informer_start(inf, NULL);
  kt_run_for(e.loop, 20);
  assert_false(kube_informer_synced(inf));
  assert_string_equal(r.log, "");
  struct list_count lc = {inf, 2};
  assert_true(kt_run_until(e.loop, lists_reached, &lc, 5000));
  kt_run_for(e.loop, 5);
  assert_false(kube_informer_synced(inf));
  assert_string_equal(r.log, "add a/x;");
  /* After the backoff, the real list: x goes, p1 comes. */
  assert_true(
      kt_run_until(e.loop, (bool (*)(void *))kube_informer_synced, inf, 5000));
  assert_string_equal(r.log, "add a/x;add a/p1;delete a/x;");
  kube_informer_stop(inf);
  kt_fake_reply(e.f, "GET", "/api/v1/pods", 200,
                "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":"
                "\"12\"},\"items\":null}",
                1);
  kube_informer_start(inf, NULL);
  kt_run_for(e.loop, 20);
  assert_string_equal(r.log, "add a/x;add a/p1;delete a/x;delete a/p1;");
  assert_string_equal(kube_informer_resource_version(inf), "12");
  assert_int_equal(r.synced, 1);
  kube_informer_free(inf);
  env_free(&e);
}

/* ------------------------------------------------------------------------ */
/* Writer                                                                    */
/* ------------------------------------------------------------------------ */

struct wres {
  bool done;
  bool ok;
  kube_reason_t reason;
  char message[512];
  char result[2048];
  size_t n_causes;
};

static void w_cb(const kube_object_t *res, const kube_error_t *err, void *arg) {
  struct wres *w = arg;
  w->done = true;
  w->ok = err == NULL;
  w->reason = err ? err->reason : KUBE_REASON_UNKNOWN;
  w->n_causes = err ? err->n_causes : 0;
  snprintf(w->message, sizeof w->message, "%s",
           err && err->message ? err->message : "");
  w->result[0] = '\0';
  if (res) {
    char *s = kube_object_to_json(res, KUBE_JSON_COMPACT);
    snprintf(w->result, sizeof w->result, "%s", s);
    free(s);
  }
}

static bool w_done(void *arg) {
  return ((struct wres *)arg)->done;
}

static void wait_w(struct env *e, struct wres *w) {
  assert_true(kt_run_until(e->loop, w_done, w, 5000));
}

static kube_object_t *obj(const char *json) {
  kube_object_t *o = kube_object_from_json(json, strlen(json), NULL);
  assert_non_null(o);
  return o;
}

static void test_writer_verbs(void **state) {
  struct env e;
  env_init(&e);
  kube_writer_t *w = kube_writer_new(e.loop, &e.tp, NULL);
  assert_non_null(w);
  const kube_kind_t *cm = kube_kind_by_resource("", "v1", "configmaps");
  struct wres r = {0};
  kube_error_t err = KUBE_ERROR_INIT;

  /* create: kind from the object, namespace from the object. */
  kube_object_t *o = obj("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
                         "\"metadata\":{\"name\":\"c1\",\"namespace\":\"ns\"},"
                         "\"data\":{\"k\":\"v\"}}");
  kube_client_write_options_t fm = {
      .struct_size = sizeof fm, .field_manager = "ctl", .grace_period = -1};
  assert_int_equal(kube_writer_create(w, NULL, NULL, o, &fm, w_cb, &r, NULL),
                   0);
  assert_false(r.done); /* never inside the call */
  assert_int_equal(kube_writer_in_flight(w), 1);
  wait_w(&e, &r);
  assert_true(r.ok);
  assert_non_null(strstr(r.result, "\"resourceVersion\":\"1\""));
  const kt_action_t *a = kt_fake_action(e.f, 0);
  assert_string_equal(a->method, "POST");
  assert_string_equal(a->path, "/api/v1/namespaces/ns/configmaps");
  assert_string_equal(a->query, "fieldManager=ctl");
  /* create again: AlreadyExists */
  memset(&r, 0, sizeof r);
  kube_writer_create(w, cm, "ns", o, NULL, w_cb, &r, NULL);
  wait_w(&e, &r);
  assert_false(r.ok);
  assert_int_equal(r.reason, KUBE_REASON_ALREADY_EXISTS);
  kube_object_free(o);

  /* update with a stale resourceVersion: Conflict; with the right one: ok */
  o = obj("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
          "\"name\":\"c1\",\"namespace\":\"ns\",\"resourceVersion\":\"0\"},"
          "\"data\":{\"k\":\"w\"}}");
  memset(&r, 0, sizeof r);
  kube_writer_update(w, cm, NULL, o, NULL, w_cb, &r, NULL);
  wait_w(&e, &r);
  assert_int_equal(r.reason, KUBE_REASON_CONFLICT);
  assert_non_null(strstr(r.message, "has been modified"));
  kube_object_set_string(o, "metadata.resourceVersion", "1", NULL);
  memset(&r, 0, sizeof r);
  kube_writer_update(w, cm, NULL, o, NULL, w_cb, &r, NULL);
  wait_w(&e, &r);
  assert_true(r.ok);
  assert_non_null(strstr(r.result, "\"k\":\"w\""));
  assert_string_equal(kt_fake_find(e.f, "PUT", "/")->path,
                      "/api/v1/namespaces/ns/configmaps/c1");
  kube_object_free(o);
  /* update without a name: refused at once, no callback */
  o = obj("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{}}");
  assert_int_equal(kube_writer_update(w, cm, "ns", o, NULL, w_cb, &r, &err),
                   -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  kube_object_free(o);

  /* patch: merge applies; json patch is refused by the fake (415) */
  memset(&r, 0, sizeof r);
  kube_writer_patch(w, cm, "ns", "c1", NULL, KUBE_PATCH_MERGE,
                    "{\"data\":{\"n\":\"1\"}}", NULL, w_cb, &r, NULL);
  wait_w(&e, &r);
  assert_true(r.ok);
  assert_non_null(strstr(r.result, "\"n\":\"1\""));
  a = kt_fake_find(e.f, "PATCH", "/");
  assert_string_equal(a->content_type, "application/merge-patch+json");
  /* the same patch with no result wanted: done, the reply not parsed */
  memset(&r, 0, sizeof r);
  assert_int_equal(client_writer_patch(w, cm, "ns", "c1", NULL,
                                       KUBE_PATCH_MERGE,
                                       "{\"data\":{\"n\":\"2\"}}", NULL,
                                       CLIENT_RESULT_NONE, w_cb, &r, NULL),
                   0);
  wait_w(&e, &r);
  assert_true(r.ok);
  assert_string_equal(r.result, "");
  /* a failure still says why */
  memset(&r, 0, sizeof r);
  client_writer_patch(w, cm, "ns", "nosuch", NULL, KUBE_PATCH_MERGE, "{}",
                      NULL, CLIENT_RESULT_NONE, w_cb, &r, NULL);
  wait_w(&e, &r);
  assert_int_equal(r.reason, KUBE_REASON_NOT_FOUND);
  /* the metadata alone: name, namespace and resourceVersion, no data */
  memset(&r, 0, sizeof r);
  client_writer_patch(w, cm, "ns", "c1", NULL, KUBE_PATCH_MERGE,
                      "{\"data\":{\"n\":\"3\"}}", NULL, CLIENT_RESULT_META,
                      w_cb, &r, NULL);
  wait_w(&e, &r);
  assert_true(r.ok);
  assert_non_null(strstr(r.result, "\"name\":\"c1\""));
  assert_non_null(strstr(r.result, "\"namespace\":\"ns\""));
  assert_non_null(strstr(r.result, "\"resourceVersion\":\""));
  assert_null(strstr(r.result, "\"data\""));
  memset(&r, 0, sizeof r);
  kube_writer_patch(w, cm, "ns", "c1", NULL, KUBE_PATCH_JSON, "[]", NULL, w_cb,
                    &r, NULL);
  wait_w(&e, &r);
  assert_int_equal(r.reason, KUBE_REASON_UNSUPPORTED_MEDIA_TYPE);
  /* apply: fieldManager defaults to kube, force goes in the query */
  kt_fake_reply(e.f, "PATCH", "/api/v1/namespaces/ns/configmaps/c1", 200,
                "{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{"
                "\"name\":\"c1\"}}",
                1);
  kube_client_write_options_t force = {
      .struct_size = sizeof force, .force = true, .grace_period = -1};
  memset(&r, 0, sizeof r);
  kube_writer_patch(w, cm, "ns", "c1", NULL, KUBE_PATCH_APPLY, "{}", &force,
                    w_cb, &r, NULL);
  wait_w(&e, &r);
  assert_true(r.ok);
  a = kt_fake_find(e.f, "PATCH", "/");
  assert_string_equal(a->query, "fieldManager=kube&force=true");
  assert_string_equal(a->content_type, "application/apply-patch+yaml");

  /* pods: status update, binding, conflicting binding, eviction */
  add_pod(&e, "default", "p", NULL, NULL, "web");
  o = obj("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
          "\"p\"},\"status\":{\"phase\":\"Running\"}}");
  memset(&r, 0, sizeof r);
  kube_writer_update_status(w, NULL, NULL, o, NULL, w_cb, &r, NULL);
  wait_w(&e, &r);
  assert_true(r.ok);
  assert_string_equal(kt_fake_find(e.f, "PUT", "/")->path,
                      "/api/v1/namespaces/default/pods/p/status");
  assert_non_null(strstr(r.result, "\"phase\":\"Running\""));
  kube_object_free(o);
  memset(&r, 0, sizeof r);
  kube_writer_bind(w, NULL, "p", NULL, "n1", NULL, w_cb, &r, NULL);
  wait_w(&e, &r);
  assert_true(r.ok);
  assert_string_equal(r.result, ""); /* a Status saying Success: not parsed */
  a = kt_fake_find(e.f, "POST", "/api/v1/namespaces/default/pods/p/binding");
  assert_non_null(a);
  assert_non_null(strstr(a->body, "\"target\":{\"apiVersion\":\"v1\","
                                  "\"kind\":\"Node\",\"name\":\"n1\"}"));
  char *pod = kt_fake_get(e.f, "v1", "Pod", "default", "p");
  assert_non_null(strstr(pod, "\"nodeName\":\"n1\""));
  free(pod);
  memset(&r, 0, sizeof r);
  kube_writer_bind(w, "default", "p", NULL, "n2", NULL, w_cb, &r, NULL);
  wait_w(&e, &r);
  assert_int_equal(r.reason, KUBE_REASON_CONFLICT);
  memset(&r, 0, sizeof r);
  kube_writer_evict(w, "default", "p", NULL, w_cb, &r, NULL);
  wait_w(&e, &r);
  assert_true(r.ok);
  a = kt_fake_find(e.f, "POST", "/api/v1/namespaces/default/pods/p/eviction");
  assert_non_null(strstr(a->body, "\"kind\":\"Eviction\""));
  assert_int_equal(kt_fake_count(e.f, "v1", "Pod", NULL), 0);
  /* A disruption budget refusing: TooManyRequests */
  add_pod(&e, "default", "p", NULL, NULL, "web");
  kt_fake_reply(e.f, "POST", "/api/v1/namespaces/default/pods/p/eviction", 429,
                NULL, 1);
  memset(&r, 0, sizeof r);
  kube_writer_evict(w, "default", "p", NULL, w_cb, &r, NULL);
  wait_w(&e, &r);
  assert_int_equal(r.reason, KUBE_REASON_TOO_MANY_REQUESTS);

  /* delete: preconditions and propagation in DeleteOptions */
  kube_client_write_options_t del = {.struct_size = sizeof del,
                                     .grace_period = 0,
                                     .propagation = "Foreground",
                                     .precondition_uid = "wrong"};
  memset(&r, 0, sizeof r);
  kube_writer_delete(w, cm, "ns", "c1", &del, w_cb, &r, NULL);
  wait_w(&e, &r);
  assert_int_equal(r.reason, KUBE_REASON_CONFLICT);
  a = kt_fake_find(e.f, "DELETE", "/");
  assert_string_equal(a->body,
                      "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\","
                      "\"gracePeriodSeconds\":0,\"propagationPolicy\":"
                      "\"Foreground\",\"preconditions\":{\"uid\":\"wrong\"}}");
  /* c1 is at resourceVersion 5 (created, updated, merge-patched three
   * times). */
  char *c1 = kt_fake_get(e.f, "v1", "ConfigMap", "ns", "c1");
  assert_non_null(strstr(c1, "\"resourceVersion\":\"5\""));
  free(c1);
  del.precondition_uid = NULL;
  del.precondition_resource_version = "2";
  memset(&r, 0, sizeof r);
  kube_writer_delete(w, cm, "ns", "c1", &del, w_cb, &r, NULL);
  wait_w(&e, &r);
  assert_int_equal(r.reason, KUBE_REASON_CONFLICT);
  del.precondition_resource_version = "5";
  memset(&r, 0, sizeof r);
  kube_writer_delete(w, cm, "ns", "c1", &del, w_cb, &r, NULL);
  wait_w(&e, &r);
  assert_true(r.ok);
  memset(&r, 0, sizeof r);
  kube_writer_delete(w, cm, "ns", "c1", NULL, w_cb, &r, NULL);
  wait_w(&e, &r);
  assert_int_equal(r.reason, KUBE_REASON_NOT_FOUND);
  /* dry run */
  kube_client_write_options_t dry = {
      .struct_size = sizeof dry, .dry_run = true, .grace_period = -1};
  memset(&r, 0, sizeof r);
  kube_writer_delete(w, cm, "ns", "gone", &dry, w_cb, &r, NULL);
  wait_w(&e, &r);
  assert_string_equal(kt_fake_find(e.f, "DELETE", "/")->query, "dryRun=All");

  /* error mapping: Invalid with causes, no reply at all */
  kt_fake_reply(e.f, "POST", "/api/v1/namespaces/ns/configmaps", 422,
                "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":"
                "\"Failure\",\"message\":\"ConfigMap \\\"x\\\" is invalid\","
                "\"reason\":\"Invalid\",\"details\":{\"causes\":[{\"field\":"
                "\"metadata.name\",\"reason\":\"FieldValueRequired\","
                "\"message\":\"Required value\"}]},\"code\":422}",
                1);
  o = obj("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
          "\"name\":\"x\"}}");
  memset(&r, 0, sizeof r);
  kube_writer_create(w, NULL, "ns", o, NULL, w_cb, &r, NULL);
  wait_w(&e, &r);
  assert_int_equal(r.reason, KUBE_REASON_INVALID);
  assert_int_equal(r.n_causes, 1);
  kt_fake_fail(e.f, "POST", "/api/v1/namespaces/ns/configmaps", 1);
  memset(&r, 0, sizeof r);
  kube_writer_create(w, NULL, "ns", o, NULL, w_cb, &r, NULL);
  wait_w(&e, &r);
  assert_int_equal(r.reason, KUBE_REASON_SERVICE_UNAVAILABLE);
  /* a 500 without a Status body */
  kt_fake_reply(e.f, "POST", "/api/v1/namespaces/ns/configmaps", 500, "oops",
                1);
  memset(&r, 0, sizeof r);
  kube_writer_create(w, NULL, "ns", o, NULL, w_cb, &r, NULL);
  wait_w(&e, &r);
  assert_false(r.ok);
  assert_non_null(strstr(r.message, "oops"));
  /* unknown kind */
  kube_object_t *u = obj("{\"apiVersion\":\"x/v9\",\"kind\":\"Nope\","
                         "\"metadata\":{\"name\":\"n\"}}");
  assert_int_equal(kube_writer_create(w, NULL, NULL, u, NULL, w_cb, &r, &err),
                   -1);
  assert_int_equal(err.reason, KUBE_REASON_NOT_FOUND);
  kube_error_clear(&err);
  kube_object_free(u);
  /* raw send */
  memset(&r, 0, sizeof r);
  assert_int_equal(kube_writer_send(w, "GET",
                                    "/api/v1/namespaces/ns/"
                                    "configmaps",
                                    NULL, NULL, 0, w_cb, &r, NULL),
                   0);
  wait_w(&e, &r);
  assert_true(r.ok);
  assert_non_null(strstr(r.result, "ConfigMapList"));
  /* freeing with writes in flight: their callbacks never run */
  kt_fake_hold(e.f, true);
  memset(&r, 0, sizeof r);
  kube_writer_create(w, NULL, "ns", o, NULL, w_cb, &r, NULL);
  kt_run_for(e.loop, 5);
  assert_int_equal(kt_fake_held(e.f), 1);
  assert_int_equal(kube_writer_in_flight(w), 1);
  kube_writer_free(w);
  assert_int_equal(kt_fake_held(e.f), 0);
  kt_fake_hold(e.f, false);
  kt_run_for(e.loop, 5);
  assert_false(r.done);
  kube_object_free(o);
  env_free(&e);
}

/* ------------------------------------------------------------------------ */
/* Event recorder                                                            */
/* ------------------------------------------------------------------------ */

static int64_t fake_now;
static int64_t fake_clock(void *arg) {
  return fake_now;
}

static kube_event_recorder_t *recorder(struct env *e,
                                       const kube_event_recorder_options_t *o) {
  kube_event_recorder_options_t d = {.struct_size = sizeof d,
                                     .component = "test-controller",
                                     .host = "node-a"};
  kube_event_recorder_t *r =
      kube_event_recorder_new(e->loop, &e->tp, o ? o : &d, NULL);
  assert_non_null(r);
  fake_now = 1000000000LL;
  client_recorder_set_clock(r, fake_clock, NULL);
  return r;
}

static kube_object_t *pod_obj(const char *name) {
  char json[512];
  snprintf(json, sizeof json,
           "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
           "\"%s\",\"namespace\":\"default\",\"uid\":\"u-%s\","
           "\"resourceVersion\":\"7\"}}",
           name, name);
  return obj(json);
}

struct rq_wait {
  kube_event_recorder_t *r;
};
static bool recorder_idle(void *arg) {
  kube_event_recorder_stats_t st;
  kube_event_recorder_get_stats(arg, &st);
  return st.in_flight == 0 && st.queued == 0;
}

static void settle(struct env *e, kube_event_recorder_t *r) {
  assert_true(kt_run_until(e->loop, recorder_idle, r, 5000));
}

static void test_recorder_counts_repeats(void **state) {
  struct env e;
  env_init(&e);
  kube_event_recorder_t *r = recorder(&e, NULL);
  kube_object_t *p = pod_obj("web-1");
  kube_event_recorder_event(r, p, "Warning", "BackOff", "Back-off restarting");
  settle(&e, r);
  assert_int_equal(kt_fake_n_actions(e.f), 1);
  const kt_action_t *a = kt_fake_action(e.f, 0);
  assert_string_equal(a->method, "POST");
  assert_string_equal(a->path, "/api/v1/namespaces/default/events");
  assert_non_null(strstr(a->body, "\"involvedObject\":{\"kind\":\"Pod\","
                                  "\"namespace\":\"default\",\"name\":"
                                  "\"web-1\",\"uid\":\"u-web-1\","
                                  "\"apiVersion\":\"v1\",\"resourceVersion\":"
                                  "\"7\"}"));
  assert_non_null(strstr(a->body, "\"source\":{\"component\":"
                                  "\"test-controller\",\"host\":\"node-a\"}"));
  assert_non_null(strstr(a->body, "\"count\":1,"));
  assert_non_null(strstr(a->body, "\"reportingInstance\":\"node-a\""));
  assert_null(strstr(a->body, "series"));
  assert_int_equal(kt_fake_count(e.f, "v1", "Event", "default"), 1);
  /* The same again: a PATCH of count, lastTimestamp and series. */
  kube_event_recorder_event(r, p, "Warning", "BackOff", "Back-off restarting");
  settle(&e, r);
  a = kt_fake_action(e.f, 1);
  assert_string_equal(a->method, "PATCH");
  assert_true(
      strncmp(a->path, "/api/v1/namespaces/default/events/web-1.", 40) == 0);
  assert_string_equal(a->content_type,
                      "application/strategic-merge-patch+json");
  assert_non_null(strstr(a->body, "\"count\":2,"));
  assert_non_null(strstr(a->body, "\"series\":{\"count\":2,"));
  char *ev = NULL;
  {
    const char *slash = strrchr(a->path, '/');
    ev = kt_fake_get(e.f, "v1", "Event", "default", slash + 1);
  }
  assert_non_null(ev);
  assert_non_null(strstr(ev, "\"count\":2"));
  free(ev);
  /* Repeats while a write is on its way fold into it: held POST of a new
   * event, then 4 repeats -> the POST, then one PATCH with count 5. */
  kt_fake_clear_actions(e.f);
  kt_fake_hold(e.f, true);
  kube_event_recorder_event(r, p, "Normal", "Pulled", "image pulled");
  kt_run_for(e.loop, 5);
  for (int i = 0; i < 4; i++)
    kube_event_recorder_event(r, p, "Normal", "Pulled", "image pulled");
  kt_fake_hold(e.f, false);
  kt_fake_release(e.f);
  settle(&e, r);
  char *got = kt_fake_actions_string(e.f, 0);
  assert_true(strncmp(got,
                      "POST /api/v1/namespaces/default/events\nPATCH "
                      "/api/v1/namespaces/default/events/web-1.",
                      84) == 0);
  free(got);
  assert_int_equal(kt_fake_n_actions(e.f), 2);
  assert_non_null(strstr(kt_fake_action(e.f, 1)->body, "\"count\":5,"));
  kube_event_recorder_stats_t st;
  kube_event_recorder_get_stats(r, &st);
  assert_int_equal(st.created, 2);
  assert_int_equal(st.patched, 2);
  assert_int_equal(st.merged, 4);
  /* The Event vanished (TTL): the next PATCH gets 404 and the recorder
   * creates it again with the count so far. */
  kt_fake_clear_actions(e.f);
  kt_fake_reply(e.f, "PATCH", "/api/v1/namespaces/default/events/", 404, NULL,
                1);
  kube_event_recorder_event(r, p, "Normal", "Pulled", "image pulled");
  settle(&e, r);
  got = kt_fake_actions_string(e.f, 0);
  assert_true(
      strncmp(got, "PATCH /api/v1/namespaces/default/events/web-1.", 46) == 0);
  assert_non_null(strstr(got, "\nPOST /api/v1/namespaces/default/events\n"));
  free(got);
  assert_non_null(strstr(kt_fake_action(e.f, 1)->body, "\"count\":6,"));
  /* Cluster-scoped objects: events go to "default". */
  kube_object_t *node = obj("{\"apiVersion\":\"v1\",\"kind\":\"Node\","
                            "\"metadata\":{\"name\":\"n1\",\"uid\":\"n\"}}");
  kt_fake_clear_actions(e.f);
  kube_event_recorder_eventf(r, node, "Normal", "NodeReady", "node %s is %s",
                             "n1", "ready");
  settle(&e, r);
  a = kt_fake_action(e.f, 0);
  assert_string_equal(a->path, "/api/v1/namespaces/default/events");
  assert_non_null(strstr(a->body, "\"message\":\"node n1 is ready\""));
  assert_null(strstr(a->body, "\"involvedObject\":{\"kind\":\"Node\","
                              "\"namespace\""));
  kube_object_free(node);
  /* Objects without a kind are refused (counted). */
  kube_object_t *bare = obj("{\"metadata\":{\"name\":\"x\"}}");
  kube_event_recorder_event(r, bare, "Normal", "X", "y");
  kube_event_recorder_get_stats(r, &st);
  assert_int_equal(st.failed, 1);
  kube_object_free(bare);
  kube_object_free(p);
  kube_event_recorder_free(r);
  env_free(&e);
}

static void test_recorder_aggregates(void **state) {
  struct env e;
  env_init(&e);
  kube_event_recorder_t *r = recorder(&e, NULL);
  kube_object_t *p = pod_obj("agg");
  /* Ten different messages for one reason within 10 minutes: the tenth
   * becomes the aggregate event. */
  for (int i = 0; i < 10; i++) {
    char msg[64];
    snprintf(msg, sizeof msg, "failed attempt %d", i);
    kube_event_recorder_event(r, p, "Warning", "FailedMount", msg);
    fake_now += 1000000000LL;
  }
  settle(&e, r);
  assert_int_equal(kt_fake_count_actions(e.f, "POST", "/"), 10);
  const kt_action_t *a = kt_fake_action(e.f, 9);
  assert_non_null(strstr(a->body, "\"message\":\"(combined from similar "
                                  "events): failed attempt 9\""));
  assert_null(strstr(kt_fake_action(e.f, 8)->body, "combined"));
  /* The next different message updates the aggregate: a PATCH, count 2. */
  kube_event_recorder_event(r, p, "Warning", "FailedMount", "failed again");
  settle(&e, r);
  a = kt_fake_action(e.f, 10);
  assert_string_equal(a->method, "PATCH");
  assert_non_null(strstr(a->body, "\"count\":2,"));
  assert_non_null(strstr(a->body, "(combined from similar events): failed "
                                  "again"));
  /* Another reason is not aggregated with them. */
  kube_event_recorder_event(r, p, "Warning", "FailedSync", "x");
  settle(&e, r);
  assert_null(strstr(kt_fake_action(e.f, 11)->body, "combined"));
  /* After the interval the similar set starts over. */
  fake_now += 601LL * 1000000000LL;
  kube_event_recorder_event(r, p, "Warning", "FailedMount", "fresh");
  settle(&e, r);
  a = kt_fake_action(e.f, 12);
  assert_string_equal(a->method, "POST");
  assert_non_null(strstr(a->body, "\"message\":\"fresh\""));
  kube_object_free(p);
  kube_event_recorder_free(r);
  env_free(&e);
}

static void test_recorder_spam_filter(void **state) {
  struct env e;
  env_init(&e);
  kube_event_recorder_t *r = recorder(&e, NULL);
  kube_object_t *p = pod_obj("noisy"), *q = pod_obj("quiet");
  /* 30 events with different reasons about one object: a burst of 25
   * passes, 5 are dropped. */
  for (int i = 0; i < 30; i++) {
    char reason[32];
    snprintf(reason, sizeof reason, "Reason%d", i);
    kube_event_recorder_event(r, p, "Normal", reason, "m");
  }
  settle(&e, r);
  kube_event_recorder_stats_t st;
  kube_event_recorder_get_stats(r, &st);
  assert_int_equal(st.recorded, 25);
  assert_int_equal(st.dropped_spam, 5);
  assert_int_equal(kt_fake_n_actions(e.f), 25);
  /* Another object has its own bucket. */
  kube_event_recorder_event(r, q, "Normal", "Reason0", "m");
  settle(&e, r);
  assert_int_equal(kt_fake_n_actions(e.f), 26);
  /* One token comes back every 5 minutes. */
  kube_event_recorder_event(r, p, "Normal", "Late", "m");
  fake_now += 299LL * 1000000000LL;
  kube_event_recorder_event(r, p, "Normal", "Late", "m");
  kube_event_recorder_get_stats(r, &st);
  assert_int_equal(st.dropped_spam, 7);
  fake_now += 2LL * 1000000000LL;
  kube_event_recorder_event(r, p, "Normal", "Late", "m");
  settle(&e, r);
  kube_event_recorder_get_stats(r, &st);
  assert_int_equal(st.dropped_spam, 7);
  assert_int_equal(st.recorded, 27);
  /* The dropped ones still counted: the Event that passed says 3. */
  const kt_action_t *a = kt_fake_action(e.f, kt_fake_n_actions(e.f) - 1);
  assert_non_null(strstr(a->body, "\"count\":3"));
  kube_object_free(p);
  kube_object_free(q);
  kube_event_recorder_free(r);
  env_free(&e);
}

static void test_recorder_queue_limits(void **state) {
  struct env e;
  env_init(&e);
  kube_event_recorder_options_t o = {.struct_size = sizeof o,
                                     .component = "c",
                                     .instance = "i",
                                     .max_in_flight = 2,
                                     .max_queued = 3,
                                     .spam_burst = 100};
  kube_event_recorder_t *r = recorder(&e, &o);
  kt_fake_hold(e.f, true);
  for (int i = 0; i < 8; i++) {
    char name[16];
    snprintf(name, sizeof name, "p%d", i);
    kube_object_t *p = pod_obj(name);
    kube_event_recorder_event(r, p, "Normal", "R", "m");
    kube_object_free(p);
  }
  kube_event_recorder_stats_t st;
  kube_event_recorder_get_stats(r, &st);
  assert_int_equal(st.in_flight, 2);
  assert_int_equal(st.queued, 3);
  assert_int_equal(st.dropped_queue, 3);
  kt_fake_hold(e.f, false);
  kt_fake_release(e.f);
  settle(&e, r);
  kube_event_recorder_get_stats(r, &st);
  assert_int_equal(st.created, 5);
  assert_int_equal(kt_fake_count(e.f, "v1", "Event", "default"), 5);
  /* Failures are counted, the caller never sees them. */
  kt_fake_reply(e.f, "POST", "/api/v1/namespaces/default/events", 403, NULL, 0);
  kube_object_t *p = pod_obj("forbidden");
  kube_event_recorder_event(r, p, "Normal", "R", "m");
  settle(&e, r);
  kube_event_recorder_get_stats(r, &st);
  assert_int_equal(st.failed, 1);
  /* Free with writes in flight and queued. */
  kt_fake_hold(e.f, true);
  for (int i = 0; i < 4; i++) {
    char reason[16];
    snprintf(reason, sizeof reason, "Q%d", i);
    kube_event_recorder_event(r, p, "Normal", reason, "m");
  }
  kube_object_free(p);
  kube_event_recorder_free(r);
  assert_int_equal(kt_fake_held(e.f), 0);
  assert_null(kube_event_recorder_new(e.loop, &e.tp, NULL, NULL));
  env_free(&e);
}

/* ------------------------------------------------------------------------ */
/* Controller skeleton                                                       */
/* ------------------------------------------------------------------------ */

struct ctl {
  kube_controller_t *c;
  kube_informer_t *inf;
  kube_writer_t *w;
  char log[4096];
  int syncs;
  int fail_left; /* fail this many syncs of fail_key */
  const char *fail_key;
  bool pending; /* return KUBE_SYNC_PENDING */
  char pending_keys[16][64];
  int n_pending;
  int concurrent, max_concurrent;
  bool write_status; /* sample-controller: write status, async */
};

static int ctl_sync(kube_controller_t *c, const char *key, void *arg) {
  struct ctl *x = arg;
  x->syncs++;
  size_t l = strlen(x->log);
  snprintf(x->log + l, sizeof x->log - l, "%s;", key);
  if (x->fail_key && streq(key, x->fail_key) && x->fail_left > 0) {
    x->fail_left--;
    return -1;
  }
  if (x->pending) {
    x->concurrent++;
    if (x->concurrent > x->max_concurrent)
      x->max_concurrent = x->concurrent;
    snprintf(x->pending_keys[x->n_pending++ % 16], 64, "%s", key);
    return KUBE_SYNC_PENDING;
  }
  return 0;
}

static void finish_pending(struct ctl *x, int rc) {
  int n = x->n_pending;
  x->n_pending = 0;
  for (int i = 0; i < n; i++) {
    x->concurrent--;
    kube_controller_sync_done(x->c, x->pending_keys[i], rc);
  }
}

struct syncs_wait {
  struct ctl *x;
  int n;
};
static bool syncs_reached(void *arg) {
  struct syncs_wait *w = arg;
  return w->x->syncs >= w->n;
}

static kube_controller_t *controller(struct env *e, struct ctl *x,
                                     const kube_controller_options_t *o) {
  kube_controller_options_t d = {.struct_size = sizeof d,
                                 .name = "test",
                                 .base_delay_ms = 1,
                                 .max_delay_ms = 8};
  x->c = kube_controller_new(e->loop, o ? o : &d, ctl_sync, x, NULL);
  assert_non_null(x->c);
  return x->c;
}

static void test_controller_waits_and_syncs(void **state) {
  struct env e;
  env_init(&e);
  add_pod(&e, "default", "a", NULL, NULL, "web");
  add_pod(&e, "default", "b", NULL, NULL, "web");
  struct ctl x = {0};
  kube_informer_options_t po = {.struct_size = sizeof po,
                                .path = "/api/v1/pods"};
  x.inf = kube_informer_new(e.loop, &e.tp, &po, NULL, NULL, NULL);
  controller(&e, &x, NULL);
  assert_int_equal(kube_controller_watch(x.c, x.inf, NULL, NULL, NULL), 0);
  assert_int_equal(kube_controller_start(x.c, NULL), 0);
  /* Caches not synced: no sync runs (the LIST is held). */
  kt_fake_hold(e.f, true);
  kube_informer_start(x.inf, NULL);
  kt_run_for(e.loop, 20);
  assert_int_equal(x.syncs, 0);
  assert_false(kube_controller_ready(x.c));
  kt_fake_hold(e.f, false);
  kt_fake_release(e.f);
  struct syncs_wait w = {&x, 2};
  assert_true(kt_run_until(e.loop, syncs_reached, &w, 5000));
  assert_true(kube_controller_ready(x.c));
  kt_run_for(e.loop, 10);
  assert_string_equal(x.log, "default/a;default/b;");
  /* A change syncs its key again; a delete too. */
  x.log[0] = '\0';
  add_pod(&e, "default", "a", "n1", NULL, "web");
  kt_fake_delete(e.f, "v1", "Pod", "default", "b");
  w.n = 4;
  assert_true(kt_run_until(e.loop, syncs_reached, &w, 5000));
  assert_string_equal(x.log, "default/a;default/b;");
  kube_controller_stats_t st;
  kube_controller_get_stats(x.c, &st);
  assert_int_equal(st.syncs, 4);
  assert_int_equal(st.failures, 0);
  kube_controller_free(x.c);
  kube_informer_free(x.inf);
  env_free(&e);
}

static void test_controller_backoff(void **state) {
  struct env e;
  env_init(&e);
  struct ctl x = {.fail_key = "k", .fail_left = 3};
  controller(&e, &x, NULL);
  kube_controller_start(x.c, NULL); /* no informers: ready at once */
  assert_true(kube_controller_ready(x.c));
  kube_controller_enqueue(x.c, "k", NULL);
  kube_controller_enqueue(x.c, "other", NULL);
  /* k: 3 failures (requeued after 1, 2, 4 ms), then success. */
  struct syncs_wait w = {&x, 5};
  assert_true(kt_run_until(e.loop, syncs_reached, &w, 5000));
  kt_run_for(e.loop, 20);
  assert_string_equal(x.log, "k;other;k;k;k;");
  kube_workqueue_t *q = kube_controller_queue(x.c);
  assert_int_equal(kube_workqueue_failures(q, "k"), 0); /* forgotten */
  kube_controller_stats_t st;
  kube_controller_get_stats(x.c, &st);
  assert_int_equal(st.failures, 3);
  /* Twice more: two failures counted, then success forgets them. */
  x.fail_left = 2;
  x.log[0] = '\0';
  w.n = x.syncs + 3;
  kube_controller_enqueue(x.c, "k", NULL);
  assert_true(kt_run_until(e.loop, syncs_reached, &w, 5000));
  kt_run_for(e.loop, 20);
  assert_string_equal(x.log, "k;k;k;");
  kube_controller_get_stats(x.c, &st);
  assert_int_equal(st.failures, 5);
  assert_int_equal(kube_workqueue_failures(q, "k"), 0);
  kube_controller_free(x.c);
  /* max_retries: given up after 2 failures. */
  struct ctl y = {.fail_key = "k", .fail_left = 100};
  kube_controller_options_t o = {
      .struct_size = sizeof o, .base_delay_ms = 1, .max_retries = 2};
  controller(&e, &y, &o);
  kube_controller_start(y.c, NULL);
  kube_controller_enqueue(y.c, "k", NULL);
  kt_run_for(e.loop, 50);
  assert_int_equal(y.syncs, 2);
  kube_controller_get_stats(y.c, &st);
  assert_int_equal(st.dropped, 1);
  assert_int_equal(kube_workqueue_delayed(kube_controller_queue(y.c)), 0);
  kube_controller_free(y.c);
  env_free(&e);
}

static void test_controller_one_key_at_once(void **state) {
  struct env e;
  env_init(&e);
  struct ctl x = {.pending = true};
  kube_controller_options_t o = {
      .struct_size = sizeof o, .base_delay_ms = 1, .max_in_flight = 2};
  controller(&e, &x, &o);
  kube_controller_start(x.c, NULL);
  kube_controller_enqueue(x.c, "k", NULL);
  kt_run_for(e.loop, 5);
  assert_int_equal(x.syncs, 1);
  /* Changes while k's sync is pending: not synced again meanwhile... */
  kube_controller_enqueue(x.c, "k", NULL);
  kube_controller_enqueue(x.c, "k", NULL);
  kt_run_for(e.loop, 5);
  assert_int_equal(x.syncs, 1);
  /* ...but once, after it finished. */
  finish_pending(&x, 0);
  kt_run_for(e.loop, 5);
  assert_int_equal(x.syncs, 2);
  finish_pending(&x, 0);
  kt_run_for(e.loop, 5);
  assert_int_equal(x.syncs, 2);
  /* max_in_flight: 5 keys, 2 pending at most. */
  x.log[0] = '\0';
  for (int i = 0; i < 5; i++) {
    char k[8];
    snprintf(k, sizeof k, "k%d", i);
    kube_controller_enqueue(x.c, k, NULL);
  }
  kt_run_for(e.loop, 5);
  assert_int_equal(x.syncs, 4);
  kube_controller_stats_t st;
  kube_controller_get_stats(x.c, &st);
  assert_int_equal(st.pending, 2);
  while (x.syncs < 7) {
    finish_pending(&x, 0);
    kt_run_for(e.loop, 5);
  }
  finish_pending(&x, 0);
  kt_run_for(e.loop, 5);
  assert_string_equal(x.log, "k0;k1;k2;k3;k4;");
  assert_int_equal(x.max_concurrent, 2);
  /* A pending sync that fails is retried; unknown keys are ignored. */
  kube_controller_sync_done(x.c, "never-seen", 0);
  kube_controller_enqueue(x.c, "f", NULL);
  kt_run_for(e.loop, 5);
  int before = x.syncs;
  finish_pending(&x, -1);
  kt_run_for(e.loop, 20);
  assert_int_equal(x.syncs, before + 1);
  finish_pending(&x, 0);
  kube_controller_free(x.c);
  env_free(&e);
}

/* The sample-controller way: the controller of ReplicaSets counts the pods
 * it owns (through the controllerUID index) and writes
 * status.replicas with an asynchronous PATCH; the test prefills the fake,
 * runs the sync and compares the recorded writes. */
struct rsctl {
  kube_controller_t *c;
  kube_informer_t *rs, *pods;
  kube_writer_t *w;
};

struct pending_write {
  struct rsctl *x;
  char key[128];
};

static void rs_written(const kube_object_t *res, const kube_error_t *err,
                       void *arg) {
  struct pending_write *p = arg;
  kube_controller_sync_done(p->x->c, p->key, err ? -1 : 0);
  free(p);
}

static int rs_sync(kube_controller_t *c, const char *key, void *arg) {
  struct rsctl *x = arg;
  const kube_object_t *rs = kube_informer_get(x->rs, key);
  if (!rs)
    return 0;
  size_t n = kube_informer_index_count(x->pods, KUBE_INDEX_CONTROLLER_UID,
                                       kube_object_uid(rs));
  const char *have = kube_object_get_string(rs, "status.replicas");
  char want[32];
  snprintf(want, sizeof want, "%zu", n);
  if (have && streq(have, want))
    return 0;
  char patch[96];
  snprintf(patch, sizeof patch, "{\"status\":{\"replicas\":\"%zu\"}}", n);
  struct pending_write *p = calloc(1, sizeof *p);
  p->x = x;
  snprintf(p->key, sizeof p->key, "%s", key);
  const kube_kind_t *k = kube_kind_by_resource("apps", "v1", "replicasets");
  if (kube_writer_patch(x->w, k, kube_object_namespace(rs),
                        kube_object_name(rs), "status", KUBE_PATCH_MERGE, patch,
                        NULL, rs_written, p, NULL) < 0) {
    free(p);
    return -1;
  }
  return KUBE_SYNC_PENDING;
}

static bool queue_idle(void *arg) {
  struct rsctl *x = arg;
  kube_controller_stats_t st;
  kube_controller_get_stats(x->c, &st);
  kube_workqueue_t *q = kube_controller_queue(x->c);
  return kube_controller_ready(x->c) && st.pending == 0 &&
         kube_workqueue_ready(q) == 0 && kube_workqueue_processing(q) == 0;
}

static void test_controller_sample(void **state) {
  struct env e;
  env_init(&e);
  assert_true(kt_fake_add(e.f, "{\"apiVersion\":\"apps/v1\",\"kind\":"
                               "\"ReplicaSet\",\"metadata\":{\"name\":\"rs1\","
                               "\"namespace\":\"default\",\"uid\":"
                               "\"uid-rs1\"},\"spec\":{\"replicas\":2}}") > 0);
  add_pod(&e, "default", "rs1-a", NULL, "rs1", "web");
  add_pod(&e, "default", "rs1-b", NULL, "rs1", "web");
  add_pod(&e, "default", "lonely", NULL, NULL, "web");
  kube_informer_factory_t *fac = kube_informer_factory_new(e.loop, &e.tp, NULL);
  struct rsctl x = {0};
  kube_informer_options_t ro = {.struct_size = sizeof ro,
                                .path = "/apis/apps/v1/replicasets"};
  kube_informer_options_t po = {.struct_size = sizeof po,
                                .path = "/api/v1/pods"};
  x.rs = kube_informer_factory_informer(fac, &ro, NULL);
  x.pods = kube_informer_factory_informer(fac, &po, NULL);
  kube_informer_add_index(x.pods, KUBE_INDEX_CONTROLLER_UID,
                          kube_index_controller_uid, NULL, NULL);
  x.w = kube_writer_new(e.loop, &e.tp, NULL);
  kube_controller_options_t co = {
      .struct_size = sizeof co, .name = "replicaset", .base_delay_ms = 1};
  x.c = kube_controller_new(e.loop, &co, rs_sync, &x, NULL);
  assert_int_equal(kube_controller_watch(x.c, x.rs, NULL, NULL, NULL), 0);
  assert_int_equal(kube_controller_watch_owned(x.c, x.pods, "ReplicaSet", NULL),
                   0);
  kube_controller_start(x.c, NULL);
  kube_informer_factory_start(fac, NULL);
  assert_true(kt_run_until(e.loop, queue_idle, &x, 5000));
  kt_run_for(e.loop, 10);
  char *got = kt_fake_actions_string(e.f, KT_WRITES);
  assert_string_equal(got, "PATCH /apis/apps/v1/namespaces/default/"
                           "replicasets/rs1/status\n");
  free(got);
  assert_string_equal(kt_fake_find(e.f, "PATCH", "/")->body,
                      "{\"status\":{\"replicas\":\"2\"}}");
  /* Idempotent: the status change comes back through the informer, the
   * sync runs again and writes nothing. */
  kt_fake_clear_actions(e.f);
  add_pod(&e, "default", "lonely", "n1", NULL, "web"); /* no owner: no key */
  kt_run_for(e.loop, 20);
  assert_true(kt_run_until(e.loop, queue_idle, &x, 5000));
  got = kt_fake_actions_string(e.f, KT_WRITES);
  assert_string_equal(got, "");
  free(got);
  /* A pod of rs1 goes: rs1 syncs and writes 1. */
  kt_fake_delete(e.f, "v1", "Pod", "default", "rs1-b");
  kt_run_for(e.loop, 20);
  assert_true(kt_run_until(e.loop, queue_idle, &x, 5000));
  assert_string_equal(kt_fake_find(e.f, "PATCH", "/")->body,
                      "{\"status\":{\"replicas\":\"1\"}}");
  /* A write failing (Conflict) is retried with backoff until it works. */
  kt_fake_clear_actions(e.f);
  kt_fake_reply(e.f, "PATCH", "/apis/apps/v1/", 409, NULL, 2);
  add_pod(&e, "default", "rs1-c", NULL, "rs1", "web");
  kt_run_for(e.loop, 100);
  assert_true(kt_run_until(e.loop, queue_idle, &x, 5000));
  assert_int_equal(kt_fake_count_actions(e.f, "PATCH", "/"), 3);
  char *rs = kt_fake_get(e.f, "apps/v1", "ReplicaSet", "default", "rs1");
  assert_non_null(strstr(rs, "\"replicas\":\"2\""));
  free(rs);
  kube_writer_free(x.w);
  kube_controller_free(x.c);
  kube_informer_factory_free(fac);
  env_free(&e);
}

int main(void) {
  kube_log_set_level(KUBE_LOG_ERROR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_factory_sharing_and_late_handlers),
      cmocka_unit_test(test_indexes),
      cmocka_unit_test(test_managed_fields),
      cmocka_unit_test(test_bad_lists),
      cmocka_unit_test(test_writer_verbs),
      cmocka_unit_test(test_recorder_counts_repeats),
      cmocka_unit_test(test_recorder_aggregates),
      cmocka_unit_test(test_recorder_spam_filter),
      cmocka_unit_test(test_recorder_queue_limits),
      cmocka_unit_test(test_controller_waits_and_syncs),
      cmocka_unit_test(test_controller_backoff),
      cmocka_unit_test(test_controller_one_key_at_once),
      cmocka_unit_test(test_controller_sample),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
