/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A custom platform on libkube in one process, without HTTP: an API server
 * on the memory store, the scheduler, and a controller of our own
 * ("greeter": a ConfigMap labelled greeter=yes with data.name gets a
 * <name>-greeting ConfigMap saying hello).  The main thread runs the
 * server's loop; a second thread plays the user through a synchronous
 * client over the in-process transport.
 *
 *   cc -o platform platform.c $(pkg-config --cflags --libs libkube) -pthread
 */
#include <libkube/libkube.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the greeter: informer -> work queue -> reconcile, on the loop ---- */

static struct {
  kube_transport_t tp;
  kube_loop_t *loop;
  kube_informer_t *configmaps;
  kube_workqueue_t *queue;
} g;

static void written(int status, const char *ctype, const char *data, size_t len,
                    bool done, void *key) {
  if (!done)
    return;
  kube_workqueue_done(g.queue, key);
  if (status >= 200 && status < 300)
    kube_workqueue_forget(g.queue, key);
  else /* retried with exponential backoff */
    kube_workqueue_add_rate_limited(g.queue, key, NULL);
  free(key);
}

static void reconcile(kube_workqueue_t *q, const char *const *keys, size_t n,
                      void *arg) {
  for (size_t i = 0; i < n; i++) {
    const kube_object_t *cm = kube_informer_get(g.configmaps, keys[i]);
    const char *who = cm ? kube_object_get_string(cm, "data.name") : NULL;
    if (!who) { /* gone, or nobody to greet */
      kube_workqueue_done(q, keys[i]);
      continue;
    }
    kube_strbuf_t path = KUBE_STRBUF_INIT, body = KUBE_STRBUF_INIT,
                  hello = KUBE_STRBUF_INIT;
    kube_strbuf_printf(&path,
                       "/api/v1/namespaces/%s/configmaps/%s-greeting"
                       "?fieldManager=greeter&force=true",
                       kube_object_namespace(cm), kube_object_name(cm));
    kube_strbuf_printf(&hello, "Hello, %s!", who);
    kube_strbuf_printf(&body,
                       "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
                       "\"metadata\":{\"name\":\"%s-greeting\"},"
                       "\"data\":{\"greeting\":",
                       kube_object_name(cm));
    kube_strbuf_append_json_string(&body, hello.data);
    kube_strbuf_append(&body, "}}");
    kube_transport_request_t rq = {
        .struct_size = sizeof rq,
        .method = "PATCH",
        .path = path.data,
        .content_type = "application/apply-patch+yaml", /* server-side apply */
        .body = body.data,
        .body_len = body.len};
    char *key = strdup(keys[i]);
    if (!kube_transport_request(&g.tp, &rq, written, key, NULL))
      written(0, NULL, NULL, 0, true, key);
    kube_strbuf_clear(&path);
    kube_strbuf_clear(&body);
    kube_strbuf_clear(&hello);
  }
}

static void added(const char *key, const kube_object_t *obj, void *arg) {
  kube_workqueue_add(g.queue, key, NULL);
}
static void updated(const char *key, const kube_object_t *old,
                    const kube_object_t *obj, void *arg) {
  kube_workqueue_add(g.queue, key, NULL);
}

static int greeter_start(void *impl, kube_error_t *err) {
  kube_informer_options_t io = {.struct_size = sizeof io,
                                .path = "/api/v1/configmaps",
                                .label_selector = "greeter=yes"};
  kube_informer_handlers_t h = {
      .struct_size = sizeof h, .on_add = added, .on_update = updated};
  if (!(g.queue = kube_workqueue_new(g.loop, NULL, reconcile, NULL, err)) ||
      !(g.configmaps = kube_informer_new(g.loop, &g.tp, &io, &h, NULL, err)))
    return -1;
  return kube_informer_start(g.configmaps, err);
}

static void greeter_stop(void *impl) {
  kube_informer_free(g.configmaps);
  kube_workqueue_free(g.queue);
}

static const kube_component_ops_t greeter = {.version =
                                                 KUBE_COMPONENT_OPS_VERSION,
                                             .name = "greeter",
                                             .start = greeter_start,
                                             .stop = greeter_stop};

/* ---- the user, on a thread of its own ---- */

static const char *const objects[] = {
    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
    "\"alice\",\"labels\":{\"greeter\":\"yes\"}},\"data\":{\"name\":\"Alice\"}"
    "}",
    "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node-"
    "1\"},"
    "\"status\":{\"allocatable\":{\"cpu\":\"4\",\"memory\":\"8Gi\"}}}",
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\"},"
    "\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\"}]}}"};

/* Poll (for brevity; kube_client_watch would do) until a field is set. */
static int await(kube_client_t *c, const char *kind, const char *name,
                 const char *field) {
  for (int i = 0; i < 500; i++, nanosleep(&(struct timespec){0, 10000000}, 0)) {
    kube_object_t *o = kube_client_get(c, kube_kind_by_kind("v1", kind),
                                       "default", name, NULL);
    const char *v = o ? kube_object_get_string(o, field) : NULL;
    if (v)
      printf("%s %s: %s = %s\n", kind, name, field, v);
    kube_object_free(o);
    if (v)
      return 0;
  }
  return fprintf(stderr, "%s %s never got %s\n", kind, name, field), 1;
}

static void *user(void *srv) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_client_t *c = kube_client_new_transport(g.loop, &g.tp, NULL, &err);
  int rc = !c;
  for (size_t i = 0; !rc && i < 3; i++) {
    kube_object_t *o =
        kube_object_from_json(objects[i], strlen(objects[i]), &err);
    kube_object_t *made = kube_client_create(c, NULL, NULL, o, NULL, &err);
    if (!made)
      rc = fprintf(stderr, "create: %s\n", err.message) > 0;
    kube_object_free(made);
    kube_object_free(o);
  }
  rc = rc || await(c, "ConfigMap", "alice-greeting", "data.greeting") ||
       await(c, "Pod", "web", "spec.nodeName");
  kube_error_clear(&err);
  kube_client_free(c);
  kube_server_stop(srv);
  return (void *)(intptr_t)rc;
}

/* Runs on the loop once kube_server_run turns it: the user's synchronous
 * calls need a thread running the loop to answer them. */
static pthread_t th;
static bool user_started;
static void start_user(void *srv) {
  user_started = pthread_create(&th, NULL, user, srv) == 0;
  if (!user_started)
    kube_server_stop(srv);
}

int main(void) {
  static const char *const no_listeners[] = {NULL};
  kube_server_options_t o = {
      .struct_size = sizeof o, .store = "memory", .listen = no_listeners};
  kube_error_t err = KUBE_ERROR_INIT;
  void *rc = (void *)1;
  kube_log_set_level(KUBE_LOG_WARNING);
  kube_server_t *srv = kube_server_new(&o, &err);
  if (srv && kube_server_add_component(srv, &greeter, NULL, &err) == 0) {
    g.loop = kube_server_loop(srv);
    kube_server_transport(srv, &g.tp);
    if (kube_server_start(srv, &err) == 0 &&
        kube_loop_invoke(g.loop, start_user, srv, &err) == 0) {
      kube_server_run(srv, &err); /* until the user thread stops it */
      if (user_started)
        pthread_join(th, &rc);
    }
  }
  if (kube_error_is_set(&err))
    fprintf(stderr, "platform: %s\n", err.message);
  kube_server_free(srv);
  return (int)(intptr_t)rc;
}
