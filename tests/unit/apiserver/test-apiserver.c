/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the apiserver through its in-process request entry point
 * over a memory store: routing, Status errors, CRUD, conflicts, watches
 * (selectors, 410 after compaction), Table output and shutdown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <unistd.h>
#include <event2/event.h>

#include "apiserver/internal.h"

struct fixture {
  struct event_base *base;
  kube_loop_t *base_loop;
  kube_store_t *store;
  kube_apiserver_t *srv;
};

struct reply {
  int status;
  char ctype[128];
  kube_strbuf_t body;
  int chunks;
  bool done;
  struct event_base *base;
  size_t want_chunks; /* stop the loop after this many streamed chunks */
};

static void reply_cb(int status, const char *ctype, const char *data,
                     size_t len, bool done, void *arg) {
  struct reply *r = arg;
  r->status = status;
  snprintf(r->ctype, sizeof r->ctype, "%s", ctype ? ctype : "");
  if (len) {
    kube_strbuf_append_len(&r->body, data, len);
    r->chunks++;
  }
  if (done) {
    r->done = true;
    event_base_loopbreak(r->base);
  } else if (r->want_chunks && (size_t)r->chunks >= r->want_chunks) {
    event_base_loopbreak(r->base);
  }
}

static kube_apiserver_call_t *start(struct fixture *f, struct reply *rep,
                                    const char *method, const char *path,
                                    const char *ctype, const char *accept,
                                    const char *body) {
  memset(rep, 0, sizeof(*rep));
  rep->base = f->base;
  kube_apiserver_request_t rq = {
      .struct_size = sizeof rq,
      .method = method,
      .path = path,
      .content_type = ctype,
      .accept = accept,
      .body = body,
      .body_len = body ? strlen(body) : 0,
  };
  kube_error_t err = KUBE_ERROR_INIT;
  kube_apiserver_call_t *c =
      kube_apiserver_request(f->srv, &rq, reply_cb, rep, &err);
  assert_non_null(c);
  return c;
}

static void run_until(struct fixture *f, struct reply *rep) {
  for (int i = 0; i < 1000 && !rep->done; i++)
    event_base_loop(f->base, EVLOOP_ONCE);
}

/* Synchronous request; returns the parsed body (owned) or NULL. */
static json_object *call(struct fixture *f, const char *method,
                         const char *path, const char *body, int *status) {
  struct reply rep;
  start(f, &rep, method, path, body ? "application/json" : NULL, NULL, body);
  run_until(f, &rep);
  assert_true(rep.done);
  *status = rep.status;
  json_object *o =
      rep.body.data ? kube_json_parse(rep.body.data, rep.body.len, NULL) : NULL;
  kube_strbuf_clear(&rep.body);
  return o;
}

static int setup_history(void **state, int64_t history) {
  struct fixture *f = calloc(1, sizeof(*f));
  f->base_loop = kube_loop_new(NULL);
  f->base = kube_loop_base(f->base_loop);
  kube_store_options_t so = {
      .struct_size = sizeof so, .backend = "memory", .history = history};
  kube_error_t err = KUBE_ERROR_INIT;
  f->store = kube_store_open(f->base_loop, &so, &err);
  assert_non_null(f->store);
  kube_apiserver_options_t ao = {.struct_size = sizeof ao, .bootstrap = true};
  f->srv = kube_apiserver_new(f->base_loop, f->store, &ao, &err);
  assert_non_null(f->srv);
  for (int i = 0; i < 200 && !kube_apiserver_ready(f->srv); i++)
    event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
  assert_true(kube_apiserver_ready(f->srv));
  *state = f;
  return 0;
}

static int setup(void **state) {
  return setup_history(state, 0);
}
static int setup_small(void **state) {
  return setup_history(state, 5);
}

static int teardown(void **state) {
  struct fixture *f = *state;
  kube_apiserver_free(f->srv);
  kube_store_close(f->store);
  kube_loop_free(f->base_loop);
  free(f);
  return 0;
}

static const char *POD =
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
    "\"labels\":{\"app\":\"%s\"}},\"spec\":{\"containers\":[{\"name\":\"c\","
    "\"image\":\"nginx\"}]}}";

static json_object *create_pod(struct fixture *f, const char *name,
                               const char *app, int *status) {
  char body[512];
  snprintf(body, sizeof body, POD, name, app);
  return call(f, "POST", "/api/v1/namespaces/default/pods", body, status);
}

static void test_route_parse(void **state) {
  struct route rt;
  assert_int_equal(
      as_route_parse("/api/v1/namespaces/ns1/pods/p/status", &rt, NULL), 0);
  assert_string_equal(rt.group, "");
  assert_string_equal(rt.version, "v1");
  assert_string_equal(rt.ns, "ns1");
  assert_string_equal(rt.resource, "pods");
  assert_string_equal(rt.name, "p");
  assert_string_equal(rt.sub, "status");
  as_route_clear(&rt);
  assert_int_equal(as_route_parse("/apis/apps/v1/deployments", &rt, NULL), 0);
  assert_string_equal(rt.group, "apps");
  assert_null(rt.ns);
  assert_string_equal(rt.resource, "deployments");
  as_route_clear(&rt);
  /* namespaces/X/status is the namespace's subresource */
  assert_int_equal(as_route_parse("/api/v1/namespaces/x/status", &rt, NULL), 0);
  assert_string_equal(rt.resource, "namespaces");
  assert_string_equal(rt.name, "x");
  assert_string_equal(rt.sub, "status");
  as_route_clear(&rt);
  assert_int_equal(as_route_parse("/api/v1/watch/namespaces/d/pods", &rt, NULL),
                   0);
  assert_true(rt.legacy_watch);
  assert_string_equal(rt.ns, "d");
  as_route_clear(&rt);
  assert_int_equal(as_route_parse("/api/v1/a/b/c/d/e/f", &rt, NULL), -1);
  as_route_clear(&rt);
}

static void test_status_object(void **state) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_error_set(&err, KUBE_REASON_INVALID, 0, "bad");
  kube_error_set_details(&err, "deployments.apps", "d");
  kube_error_add_cause(&err, "spec.replicas", "FieldValueInvalid", "neg");
  json_object *st = as_status_object(&err);
  assert_string_equal(kube_json_get_string(st, "reason"), "Invalid");
  assert_int_equal(json_object_get_int(kube_json_get(st, "code")), 422);
  assert_string_equal(kube_json_get_string(st, "details.group"), "apps");
  assert_string_equal(kube_json_get_string(st, "details.kind"), "deployments");
  assert_string_equal(kube_json_get_string(st, "details.causes.0.field"),
                      "spec.replicas");
  json_object_put(st);
  kube_error_clear(&err);
}

static void test_crud(void **state) {
  struct fixture *f = *state;
  int st;
  json_object *o = create_pod(f, "a", "x", &st);
  assert_int_equal(st, 201);
  const char *rv = kube_json_get_string(o, "metadata.resourceVersion");
  assert_non_null(rv);
  char rv1[32];
  snprintf(rv1, sizeof rv1, "%s", rv);
  json_object_put(o);
  o = call(f, "GET", "/api/v1/namespaces/default/pods/a", NULL, &st);
  assert_int_equal(st, 200);
  assert_string_equal(kube_json_get_string(o, "metadata.resourceVersion"), rv1);
  json_object_put(o);
  o = create_pod(f, "a", "x", &st);
  assert_int_equal(st, 409);
  assert_string_equal(kube_json_get_string(o, "reason"), "AlreadyExists");
  json_object_put(o);
  /* stale update */
  char body[512];
  snprintf(body, sizeof body,
           "{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1\"},"
           "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}");
  o = call(f, "PUT", "/api/v1/namespaces/default/pods/a", body, &st);
  assert_int_equal(st, 409);
  assert_string_equal(kube_json_get_string(o, "reason"), "Conflict");
  json_object_put(o);
  o = call(f, "DELETE", "/api/v1/namespaces/default/pods/a", NULL, &st);
  assert_int_equal(st, 200);
  json_object_put(o);
  o = call(f, "GET", "/api/v1/namespaces/default/pods/a", NULL, &st);
  assert_int_equal(st, 404);
  assert_string_equal(kube_json_get_string(o, "message"),
                      "pods \"a\" not found");
  json_object_put(o);
}

static void test_errors(void **state) {
  struct fixture *f = *state;
  int st;
  json_object *o =
      call(f, "POST", "/api/v1/namespaces/default/pods", "{x", &st);
  assert_int_equal(st, 400);
  json_object_put(o);
  o = call(f, "GET", "/api/v1/namespaces/default/gizmos", NULL, &st);
  assert_int_equal(st, 404);
  json_object_put(o);
  o = call(f, "PUT", "/api/v1/namespaces/default/pods", "{}", &st);
  assert_int_equal(st, 405);
  assert_string_equal(kube_json_get_string(o, "kind"), "Status");
  json_object_put(o);
  /* a body over the limit (3 MiB) */
  size_t n = 3u * 1024 * 1024 + 10;
  char *big = malloc(n + 1);
  memset(big, ' ', n);
  big[n] = '\0';
  big[0] = '{';
  big[n - 1] = '}';
  o = call(f, "POST", "/api/v1/namespaces/default/pods", big, &st);
  free(big);
  assert_int_equal(st, 413);
  json_object_put(o);
}

static void test_list_selector_table(void **state) {
  struct fixture *f = *state;
  int st;
  json_object_put(create_pod(f, "p1", "web", &st));
  json_object_put(create_pod(f, "p2", "db", &st));
  json_object_put(create_pod(f, "p3", "web", &st));
  json_object *o =
      call(f, "GET", "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb",
           NULL, &st);
  assert_int_equal(st, 200);
  assert_string_equal(kube_json_get_string(o, "kind"), "PodList");
  assert_int_equal(json_object_array_length(kube_json_get(o, "items")), 2);
  json_object_put(o);
  struct reply rep;
  start(f, &rep, "GET", "/api/v1/namespaces/default/pods", NULL,
        "application/json;as=Table;v=v1;g=meta.k8s.io", NULL);
  run_until(f, &rep);
  o = kube_json_parse(rep.body.data, rep.body.len, NULL);
  kube_strbuf_clear(&rep.body);
  assert_string_equal(kube_json_get_string(o, "kind"), "Table");
  assert_int_equal(json_object_array_length(kube_json_get(o, "rows")), 3);
  json_object_put(o);
}

static void test_watch_selector(void **state) {
  struct fixture *f = *state;
  int st;
  json_object *l = call(f, "GET", "/api/v1/namespaces/default/pods", NULL, &st);
  char path[256];
  snprintf(path, sizeof path,
           "/api/v1/namespaces/default/pods?watch=true&resourceVersion=%s"
           "&labelSelector=app%%3Dweb",
           kube_json_get_string(l, "metadata.resourceVersion"));
  json_object_put(l);
  struct reply rep;
  kube_apiserver_call_t *c = start(f, &rep, "GET", path, NULL, NULL, NULL);
  json_object_put(create_pod(f, "w1", "web", &st));
  json_object_put(create_pod(f, "w2", "db", &st));
  json_object_put(
      call(f, "DELETE", "/api/v1/namespaces/default/pods/w1", NULL, &st));
  rep.want_chunks = 2;
  for (int i = 0; i < 100 && rep.chunks < 2; i++)
    event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
  assert_int_equal(rep.chunks, 2);
  assert_non_null(strstr(rep.body.data, "{\"type\":\"ADDED\""));
  assert_non_null(strstr(rep.body.data, "{\"type\":\"DELETED\""));
  assert_null(strstr(rep.body.data, "\"w2\""));
  assert_int_equal(rep.body.data[rep.body.len - 1], '\n');
  kube_apiserver_call_cancel(c);
  kube_strbuf_clear(&rep.body);
}

/* A watch from a revision its kind's hub has passed replays history on a
 * store watch of its own, then moves to the hub: every event still comes
 * once, in order. */
static void test_watch_joins_hub(void **state) {
  struct fixture *f = *state;
  int st;
  struct reply hub_rep;
  kube_apiserver_call_t *a = start(f, &hub_rep, "GET",
                                   "/api/v1/namespaces/default/pods?watch=1"
                                   "&resourceVersion=1",
                                   NULL, NULL, NULL);
  json_object *p1 = create_pod(f, "j1", "x", &st);
  char path[256];
  snprintf(path, sizeof path,
           "/api/v1/namespaces/default/pods?watch=1&resourceVersion=%s",
           kube_json_get_string(p1, "metadata.resourceVersion"));
  json_object_put(p1);
  json_object_put(create_pod(f, "j2", "x", &st));
  for (int i = 0; i < 100 && hub_rep.chunks < 2; i++)
    event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
  assert_int_equal(hub_rep.chunks, 2);
  struct reply rep;
  kube_apiserver_call_t *b = start(f, &rep, "GET", path, NULL, NULL, NULL);
  for (int i = 0; i < 100 && rep.chunks < 1; i++)
    event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
  json_object_put(create_pod(f, "j3", "x", &st));
  json_object_put(create_pod(f, "j4", "x", &st));
  for (int i = 0; i < 200; i++)
    event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
  assert_int_equal(rep.chunks, 3);
  const char *b2 = strstr(rep.body.data, "\"name\":\"j2\"");
  const char *b3 = strstr(rep.body.data, "\"name\":\"j3\"");
  const char *b4 = strstr(rep.body.data, "\"name\":\"j4\"");
  assert_null(strstr(rep.body.data, "\"name\":\"j1\""));
  assert_true(b2 && b3 && b4 && b2 < b3 && b3 < b4);
  assert_null(strstr(b4 + 1, "\"name\":\"j4\""));
  assert_int_equal(hub_rep.chunks, 4);
  kube_apiserver_call_cancel(b);
  kube_apiserver_call_cancel(a);
  kube_strbuf_clear(&rep.body);
  kube_strbuf_clear(&hub_rep.body);
}

/* An in-process watch with an event callback gets the write's object
 * (no managedFields, the event's resourceVersion) with the line it
 * replaces; a Table watch with includeObject=Object and a label selector
 * on the same events still gets whole objects, managedFields included. */
struct obj_events {
  int n;
  char type[16];
  char rv[32];
  bool has_mf;
  kube_strbuf_t lines;
};

static void obj_event_cb(const char *type, const kube_object_t *obj,
                         const char *line, size_t len, void *arg) {
  struct obj_events *e = arg;
  e->n++;
  snprintf(e->type, sizeof e->type, "%s", type);
  snprintf(e->rv, sizeof e->rv, "%s", kube_object_resource_version(obj));
  e->has_mf = kube_json_get(kube_object_json(obj), "metadata.managedFields");
  kube_strbuf_append_len(&e->lines, line, len);
}

static void obj_reply_cb(int status, const char *ctype, const char *data,
                         size_t len, bool done, void *arg) {
  struct obj_events *e = arg;
  kube_strbuf_append_len(&e->lines, data, len);
}

/* An in-process watch of default's pods from the start whose events come
 * as objects to `event_cb`, the stream's lines to `reply_cb`. */
static kube_apiserver_call_t *
watch_pod_objects(struct fixture *f,
                  void (*event_cb)(const char *, const kube_object_t *,
                                   const char *, size_t, void *),
                  kube_apiserver_reply_cb reply_cb, void *arg) {
  kube_apiserver_request_t rq = {
      .struct_size = sizeof rq,
      .method = "GET",
      .path = "/api/v1/namespaces/default/pods?watch=1&resourceVersion=0",
      .event_cb = event_cb,
  };
  kube_apiserver_call_t *a =
      kube_apiserver_request(f->srv, &rq, reply_cb, arg, NULL);
  assert_non_null(a);
  return a;
}

static void test_watch_objects(void **state) {
  struct fixture *f = *state;
  int st;
  struct obj_events ev = {0};
  kube_apiserver_call_t *a =
      watch_pod_objects(f, obj_event_cb, obj_reply_cb, &ev);
  struct reply tab;
  kube_apiserver_call_t *b = start(
      f, &tab, "GET",
      "/api/v1/namespaces/default/pods?watch=1&includeObject=Object"
      "&labelSelector=app%3Dweb",
      NULL, "application/json;as=Table;v=v1;g=meta.k8s.io", NULL);
  for (int i = 0; i < 20; i++)
    event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
  json_object *p = create_pod(f, "o1", "web", &st);
  assert_int_equal(st, 201);
  for (int i = 0; i < 100 && (ev.n < 1 || tab.chunks < 1); i++)
    event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
  assert_int_equal(ev.n, 1);
  assert_string_equal(ev.type, "ADDED");
  assert_string_equal(ev.rv, kube_json_get_string(p, "metadata.resourceVersion"));
  assert_false(ev.has_mf);
  /* The line is the one a plain watch gets: whole, managedFields in. */
  assert_true(str_has_prefix(ev.lines.data, "{\"type\":\"ADDED\""));
  assert_non_null(strstr(ev.lines.data, "\"managedFields\""));
  assert_int_equal(tab.chunks, 1);
  assert_non_null(strstr(tab.body.data, "\"kind\":\"Table\""));
  assert_non_null(strstr(tab.body.data, "\"managedFields\""));
  json_object_put(p);
  kube_apiserver_call_cancel(a);
  kube_apiserver_call_cancel(b);
  kube_strbuf_clear(&ev.lines);
  kube_strbuf_clear(&tab.body);
}

/* The binding edits a pod whose create handed its tree to the in-process
 * watchers (shared below its top level and metadata, watch-trees.c): the
 * object the ADDED event gave stays as it was, the MODIFIED one has the
 * binding's edits. */
struct kept_events {
  int n;
  json_object *obj[2];
  char *text[2]; /* each object encoded when it came */
  kube_strbuf_t lines;
};

static void kept_reply_cb(int status, const char *ctype, const char *data,
                          size_t len, bool done, void *arg) {
  struct kept_events *e = arg;
  kube_strbuf_append_len(&e->lines, data, len);
}

static void kept_event_cb(const char *type, const kube_object_t *obj,
                          const char *line, size_t len, void *arg) {
  struct kept_events *e = arg;
  if (e->n >= 2)
    return;
  json_object *o = kube_object_json(obj);
  e->obj[e->n] = json_object_get(o);
  e->text[e->n] = strdup(json_object_to_json_string(o));
  e->n++;
}

static void test_watch_objects_binding(void **state) {
  struct fixture *f = *state;
  int st;
  struct kept_events ev = {0};
  kube_apiserver_call_t *a =
      watch_pod_objects(f, kept_event_cb, kept_reply_cb, &ev);
  for (int i = 0; i < 20; i++)
    event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
  json_object_put(create_pod(f, "b1", "web", &st));
  assert_int_equal(st, 201);
  for (int i = 0; i < 100 && ev.n < 1; i++)
    event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
  assert_int_equal(ev.n, 1);
  json_object *res =
      call(f, "POST", "/api/v1/namespaces/default/pods/b1/binding",
           "{\"apiVersion\":\"v1\",\"kind\":\"Binding\","
           "\"metadata\":{\"name\":\"b1\"},\"target\":{"
           "\"kind\":\"Node\",\"name\":\"n1\"}}",
           &st);
  assert_int_equal(st, 201);
  json_object_put(res);
  for (int i = 0; i < 100 && ev.n < 2; i++)
    event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
  assert_int_equal(ev.n, 2);
  /* The ADDED object: unchanged by the binding that followed. */
  assert_string_equal(json_object_to_json_string(ev.obj[0]), ev.text[0]);
  assert_null(kube_json_get(ev.obj[0], "spec.nodeName"));
  assert_null(kube_json_get(ev.obj[0], "status.conditions"));
  assert_null(kube_json_get(ev.obj[0], "metadata.managedFields"));
  assert_non_null(kube_json_get(ev.obj[0], "spec.containers"));
  /* The MODIFIED one: bound, PodScheduled=True, the same containers. */
  assert_string_equal(json_object_to_json_string(ev.obj[1]), ev.text[1]);
  assert_string_equal(kube_json_get_string(ev.obj[1], "spec.nodeName"), "n1");
  json_object *c = json_object_array_get_idx(
      kube_json_get(ev.obj[1], "status.conditions"), 0);
  assert_string_equal(kube_json_get_string(c, "type"), "PodScheduled");
  assert_string_equal(kube_json_get_string(c, "status"), "True");
  assert_true(json_object_equal(kube_json_get(ev.obj[0], "spec.containers"),
                                kube_json_get(ev.obj[1], "spec.containers")));
  assert_string_not_equal(
      kube_json_get_string(ev.obj[0], "metadata.resourceVersion"),
      kube_json_get_string(ev.obj[1], "metadata.resourceVersion"));
  /* A second binding is refused: the stored pod is bound. */
  res = call(f, "POST", "/api/v1/namespaces/default/pods/b1/binding",
             "{\"apiVersion\":\"v1\",\"kind\":\"Binding\","
             "\"metadata\":{\"name\":\"b1\"},\"target\":{"
             "\"kind\":\"Node\",\"name\":\"n2\"}}",
             &st);
  assert_int_equal(st, 409);
  json_object_put(res);
  kube_apiserver_call_cancel(a);
  for (int i = 0; i < 2; i++) {
    json_object_put(ev.obj[i]);
    free(ev.text[i]);
  }
  kube_strbuf_clear(&ev.lines);
}

static void test_watch_expired(void **state) {
  struct fixture *f = *state;
  int st;
  for (int i = 0; i < 20; i++) {
    char name[16];
    snprintf(name, sizeof name, "e%d", i);
    json_object_put(create_pod(f, name, "x", &st));
  }
  struct reply rep;
  start(f, &rep, "GET",
        "/api/v1/namespaces/default/pods?watch=1&resourceVersion=2", NULL, NULL,
        NULL);
  run_until(f, &rep);
  assert_true(rep.done);
  assert_non_null(strstr(rep.body.data, "\"type\":\"ERROR\""));
  assert_non_null(strstr(rep.body.data, "\"code\":410"));
  kube_strbuf_clear(&rep.body);
}

struct cancel_in_cb {
  kube_apiserver_call_t *call;
  int calls;
};

static void cancel_cb(int status, const char *ctype, const char *data,
                      size_t len, bool done, void *arg) {
  struct cancel_in_cb *c = arg;
  c->calls++;
  if (len)
    kube_apiserver_call_cancel(c->call); /* inside the watch's delivery */
}

/* Informers cancel a watch from inside its callback. */
static void test_cancel_inside_callback(void **state) {
  struct fixture *f = *state;
  int st;
  json_object_put(create_pod(f, "c1", "x", &st));
  struct cancel_in_cb c = {0};
  kube_apiserver_request_t rq = {.struct_size = sizeof rq,
                                 .method = "GET",
                                 .path = "/api/v1/pods?watch=1"};
  c.call = kube_apiserver_request(f->srv, &rq, cancel_cb, &c, NULL);
  assert_non_null(c.call);
  for (int i = 0; i < 20; i++)
    event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
  /* header call + the first ADDED; nothing after the cancel */
  assert_int_equal(c.calls, 2);
  json_object_put(create_pod(f, "c2", "x", &st));
  for (int i = 0; i < 20; i++)
    event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
  assert_int_equal(c.calls, 2);
}

static void test_shutdown_ends_watch(void **state) {
  struct fixture *f = *state;
  struct reply rep;
  start(f, &rep, "GET", "/api/v1/pods?watch=1", NULL, NULL, NULL);
  for (int i = 0; i < 10; i++)
    event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
  kube_apiserver_shutdown(f->srv, NULL, NULL);
  run_until(f, &rep);
  assert_true(rep.done);
  kube_strbuf_clear(&rep.body);
}

static void ignore_cb(int status, const char *ctype, const char *data,
                      size_t len, bool done, void *arg) {
  (*(int *)arg)++;
}

/* Freeing the server with calls queued, started or not: no callback runs,
 * nothing leaks (valgrind), the store's close finishes the writes. */
static void test_free_with_pending_calls(void **state) {
  struct fixture *f = *state;
  int calls = 0;
  char body[512];
  snprintf(body, sizeof body, POD, "z1", "x");
  kube_apiserver_request_t rq = {.struct_size = sizeof rq,
                                 .method = "POST",
                                 .path = "/api/v1/namespaces/default/pods",
                                 .body = body,
                                 .body_len = strlen(body)};
  assert_non_null(kube_apiserver_request(f->srv, &rq, ignore_cb, &calls, NULL));
  /* run it up to its store write */
  event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
  snprintf(body, sizeof body, POD, "z2", "x");
  assert_non_null(kube_apiserver_request(f->srv, &rq, ignore_cb, &calls, NULL));
  int before = calls; /* the first may have been answered already */
  kube_apiserver_free(f->srv);
  f->srv = NULL;
  kube_store_close(f->store);
  f->store = NULL;
  assert_int_equal(calls, before);
}

/* ---- field validation and CustomResourceDefinitions -----------------------
 */

static void test_field_validation(void **state) {
  struct fixture *f = *state;
  int st;
  const char *cm = "{\"metadata\":{\"name\":\"%s\"},\"data\":{\"a\":\"1\"},"
                   "\"extra\":1,\"extra\":2}";
  char body[256];
  snprintf(body, sizeof body, cm, "strict");
  json_object *o = call(f, "POST",
                        "/api/v1/namespaces/default/configmaps?"
                        "fieldValidation=Strict",
                        body, &st);
  assert_int_equal(st, 400);
  assert_string_equal(kube_json_get_string(o, "message"),
                      "strict decoding error: unknown field \"extra\", "
                      "duplicate field \"extra\"");
  json_object_put(o);
  snprintf(body, sizeof body, cm, "ignored");
  o = call(f, "POST",
           "/api/v1/namespaces/default/configmaps?fieldValidation=Ignore", body,
           &st);
  assert_int_equal(st, 201);
  assert_null(kube_json_get(o, "extra"));
  json_object_put(o);
  o = call(f, "POST",
           "/api/v1/namespaces/default/configmaps?fieldValidation=Loose", body,
           &st);
  assert_int_equal(st, 400);
  json_object_put(o);
  /* A repeat found below the top (colons and escaped quotes in strings
   * are not members), and none where strings only look like members. */
  o = call(f, "POST",
           "/api/v1/namespaces/default/configmaps?fieldValidation=Strict",
           "{\"metadata\":{\"name\":\"dup2\",\"labels\":{\"a:b\":\"c\","
           "\"x\":\"y\",\"a:b\":\"e\"}},\"data\":{\"k\":\"v\\\":\"}}",
           &st);
  assert_int_equal(st, 400);
  assert_string_equal(kube_json_get_string(o, "message"),
                      "strict decoding error: duplicate field "
                      "\"metadata.labels.a:b\"");
  json_object_put(o);
  o = call(f, "POST",
           "/api/v1/namespaces/default/configmaps?fieldValidation=Strict",
           "{\"metadata\":{\"name\":\"nodup\",\"annotations\":{\"a\":"
           "\"x:y\"}},\"data\":{\"k1\":\"v\\\":\",\"k2\":\":\"}}",
           &st);
  assert_int_equal(st, 201);
  assert_string_equal(kube_json_get_string(o, "data.k2"), ":");
  json_object_put(o);
  o = call(f, "POST", "/apis/apps/v1/namespaces/default/deployments",
           "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"replicas\":1e23}}", &st);
  assert_int_equal(st, 400);
  assert_string_equal(
      kube_json_get_string(o, "message"),
      "Deployment in version \"v1\" cannot be handled as a "
      "Deployment: json: cannot unmarshal number 1e23 into Go "
      "struct field DeploymentSpec.spec.replicas of type int32");
  json_object_put(o);
  o = call(f, "POST", "/api/v1/namespaces/default/configmaps",
           "{\"metadata\":{\"name\":\"a\\u0000b\"}}", &st);
  assert_int_equal(st, 400);
  json_object_put(o);
}

static const char *CRD =
    "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":"
    "\"CustomResourceDefinition\",\"metadata\":{\"name\":"
    "\"gizmos.example.com\"},\"spec\":{\"group\":\"example.com\",\"scope\":"
    "\"Namespaced\",\"names\":{\"plural\":\"gizmos\",\"kind\":\"Gizmo\"},"
    "\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,"
    "\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\",\"properties\":{"
    "\"spec\":{\"type\":\"object\",\"properties\":{\"n\":{\"type\":"
    "\"integer\",\"default\":7}}}}}}}]}}";
static const char *GIZMO = "{\"apiVersion\":\"example.com/v1\",\"kind\":"
                           "\"Gizmo\",\"metadata\":{\"name\":\"g\"},"
                           "\"spec\":{\"junk\":true}}";
#define GIZMOS "/apis/example.com/v1/namespaces/default/gizmos"

/* Run the loop until `path` answers `want` (status). */
static bool wait_status(struct fixture *f, const char *path, int want) {
  for (int i = 0; i < 100; i++) {
    int st;
    json_object *o = call(f, "GET", path, NULL, &st);
    json_object_put(o);
    if (st == want)
      return true;
    for (int j = 0; j < 20; j++)
      event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    usleep(5000);
  }
  return false;
}

static void test_crd_lifecycle(void **state) {
  struct fixture *f = *state;
  int st;
  json_object *o = call(f, "POST",
                        "/apis/apiextensions.k8s.io/v1/"
                        "customresourcedefinitions",
                        CRD, &st);
  assert_int_equal(st, 201);
  json_object_put(o);
  /* Served as soon as the definition is acknowledged. */
  o = call(f, "POST", GIZMOS, GIZMO, &st);
  assert_int_equal(st, 201);
  assert_int_equal(json_object_get_int(kube_json_get(o, "spec.n")), 7);
  assert_null(kube_json_get(o, "spec.junk")); /* pruned */
  json_object_put(o);
  /* A second server over another store does not share definitions. */
  struct fixture *g = NULL;
  setup((void **)&g);
  o = call(g, "GET", GIZMOS, NULL, &st);
  assert_int_equal(st, 404);
  json_object_put(o);
  teardown((void **)&g);
  /* Another server over the same store reads the definition back. */
  kube_error_t err = KUBE_ERROR_INIT;
  kube_apiserver_options_t ao = {.struct_size = sizeof ao};
  kube_apiserver_t *again =
      kube_apiserver_new(f->base_loop, f->store, &ao, &err);
  assert_non_null(again);
  kube_apiserver_t *first = f->srv;
  f->srv = again;
  o = call(f, "GET", GIZMOS "/g", NULL, &st);
  assert_int_equal(st, 200);
  json_object_put(o);
  kube_apiserver_free(again);
  f->srv = first;
  /* The definition's status says Established. */
  assert_true(wait_status(f, GIZMOS, 200));
  o = call(f, "GET",
           "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
           "gizmos.example.com",
           NULL, &st);
  json_object *conds = kube_json_get(o, "status.conditions");
  bool established = false;
  for (size_t i = 0; conds && i < json_object_array_length(conds); i++) {
    json_object *c = json_object_array_get_idx(conds, i);
    if (streq(kube_json_get_string(c, "type"), "Established"))
      established = streq(kube_json_get_string(c, "status"), "True");
  }
  assert_true(established);
  json_object_put(o);
  /* Deleting the definition deletes its objects, then itself. */
  o = call(f, "DELETE",
           "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
           "gizmos.example.com",
           NULL, &st);
  assert_int_equal(st, 200);
  assert_non_null(
      strstr(json_object_to_json_string(kube_json_get(o, "metadata")),
             "customresourcecleanup.apiextensions.k8s.io"));
  json_object_put(o);
  assert_true(wait_status(f,
                          "/apis/apiextensions.k8s.io/v1/"
                          "customresourcedefinitions/gizmos.example.com",
                          404));
  assert_true(wait_status(f, GIZMOS, 404));
  kube_store_record_t *rec =
      kube_store_get(f->store, "/registry/example.com/gizmos/default/g", NULL);
  assert_null(rec);
}

/* A definition deleted and created again under the same name, before the
 * watch delivered the deletion: the new one is served and not
 * terminating, and the late deletion of the old one leaves it alone. */
static void test_crd_recreated(void **state) {
  struct fixture *f = *state;
  json_object *old = kube_json_parse(CRD, strlen(CRD), NULL);
  json_object *meta = kube_json_get(old, "metadata");
  json_object_object_add(meta, "uid", json_object_new_string("uid-a"));
  json_object_object_add(meta, "generation", json_object_new_int(1));
  json_object_object_add(meta, "deletionTimestamp",
                         json_object_new_string("2026-01-01T00:00:00Z"));
  json_object *cur = NULL;
  json_object_deep_copy(old, &cur, NULL);
  json_object_object_del(kube_json_get(cur, "metadata"), "deletionTimestamp");
  json_object_object_add(kube_json_get(cur, "metadata"), "uid",
                         json_object_new_string("uid-b"));
  kube_error_t err = KUBE_ERROR_INIT;
  const kube_kind_t *crdk = kube_kind_resolve("crd");
  assert_int_equal(kube_json_default(old, crdk, &err), 0);
  assert_int_equal(kube_json_default(cur, crdk, &err), 0);
  as_crd_sync(f->srv, old, NULL, 1);
  assert_non_null(as_crds_lookup(f->srv, "example.com", "v1", "gizmos"));
  as_crd_sync(f->srv, cur, NULL, 2);
  const kube_kind_t *k = as_crds_lookup(f->srv, "example.com", "v1", "gizmos");
  assert_non_null(k);
  /* Not terminating: objects may be created. */
  const struct as_kind_hooks *hooks = as_kind_hooks(k);
  json_object *g = kube_json_parse(GIZMO, strlen(GIZMO), NULL);
  assert_int_equal(hooks->admit_create(f->srv, k, g, &err), 0);
  json_object_put(g);
  as_crd_forget(f->srv, "gizmos.example.com", "uid-a");
  assert_non_null(as_crds_lookup(f->srv, "example.com", "v1", "gizmos"));
  as_crd_forget(f->srv, "gizmos.example.com", "uid-b");
  assert_null(as_crds_lookup(f->srv, "example.com", "v1", "gizmos"));
  json_object_put(old);
  json_object_put(cur);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_route_parse),
      cmocka_unit_test(test_status_object),
      cmocka_unit_test_setup_teardown(test_crud, setup, teardown),
      cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_list_selector_table, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_watch_selector, setup, teardown),
      cmocka_unit_test_setup_teardown(test_watch_joins_hub, setup, teardown),
      cmocka_unit_test_setup_teardown(test_watch_objects, setup, teardown),
      cmocka_unit_test_setup_teardown(test_watch_objects_binding, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_watch_expired, setup_small,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_cancel_inside_callback, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_shutdown_ends_watch, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_field_validation, setup, teardown),
      cmocka_unit_test_setup_teardown(test_crd_lifecycle, setup, teardown),
      cmocka_unit_test_setup_teardown(test_crd_recreated, setup, teardown),
      cmocka_unit_test_setup_teardown(test_free_with_pending_calls, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
