/* SPDX-License-Identifier: Apache-2.0 */
/* The API server's extension points over real sockets: path,
 * group-version and subresource handlers run after authentication with
 * the authenticated user, the group appears in discovery, a subresource
 * handler can upgrade the connection, and in-process requests reach the
 * handlers too. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>
#include <openssl/ssl.h>

#include <libkube/apiserver.h>

#include "../http/test-client.h"
#include "core/util.h"

#define TOKEN "ext-token"

struct fx {
  kube_loop_t *loop;
  kube_store_t *store;
  kube_apiserver_t *srv;
  pthread_t th;
  int port;
  char dir[64], sock[100];
};

static void reply_text(kube_http_request_t *r, const char *fmt, ...)
    KUBE_PRINTF(2, 3);
static void reply_text(kube_http_request_t *r, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  kube_http_reply(r, 200, "text/plain", buf, (size_t)n);
}

static void ui(const kube_apiserver_handler_ctx_t *c, void *arg) {
  reply_text(c->request, "ui user=%s group0=%s path=%s", c->user->name,
             c->user->groups[0], kube_http_request_path(c->request));
}

static void metrics(const kube_apiserver_handler_ctx_t *c, void *arg) {
  reply_text(c->request, "metrics path=%s", kube_http_request_path(c->request));
}

static void echo_read(kube_http_conn_t *c, const void *d, size_t n, void *a) {
  kube_http_conn_write(c, "echo:", 5);
  kube_http_conn_write(c, d, n);
}

static void echo_closed(kube_http_conn_t *c, void *a) {
  kube_http_conn_close(c);
}

static const kube_http_conn_callbacks_t echo_cbs = {
    .version = KUBE_HTTP_CONN_CALLBACKS_VERSION,
    .read = echo_read,
    .closed = echo_closed,
};

static void exec_sub(const kube_apiserver_handler_ctx_t *c, void *arg) {
  const char *up = kube_http_request_upgrade(c->request);
  if (!up) {
    reply_text(c->request, "exec ns=%s name=%s sub=%s user=%s cmd=%s",
               c->namespace_, c->name, c->subresource, c->user->name,
               kube_http_request_query_param(c->request, "command"));
    return;
  }
  kube_http_response_add_header(c->request, "Connection", "Upgrade", NULL);
  kube_http_response_add_header(c->request, "Upgrade", up, NULL);
  kube_http_conn_t *conn = kube_http_upgrade(c->request, NULL);
  if (conn)
    kube_http_conn_set_callbacks(conn, &echo_cbs, 0, NULL);
}

static void node_proxy(const kube_apiserver_handler_ctx_t *c, void *arg) {
  reply_text(c->request, "proxy name=%s ns=%s path=%s", c->name,
             c->namespace_ ? c->namespace_ : "-",
             kube_http_request_path(c->request));
}

static void *loop_main(void *arg) {
  struct fx *f = arg;
  kube_loop_run(f->loop, NULL);
  return NULL;
}

static void fx_init(struct fx *f) {
  memset(f, 0, sizeof *f);
  kube_error_t err = KUBE_ERROR_INIT;
  f->loop = kube_loop_new(&err);
  kube_store_options_t so = {.struct_size = sizeof so, .backend = "memory"};
  f->store = kube_store_open(f->loop, &so, &err);
  assert_non_null(f->store);
  kube_apiserver_options_t ao = {.struct_size = sizeof ao, .token = TOKEN};
  f->srv = kube_apiserver_new(f->loop, f->store, &ao, &err);
  assert_non_null(f->srv);
  assert_int_equal(kube_apiserver_listen(f->srv, "tcp:127.0.0.1:0", &err), 0);
  f->port = kube_apiserver_port(f->srv);
  snprintf(f->dir, sizeof f->dir, "/tmp/test-ext-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->sock, sizeof f->sock, "%s/s.sock", f->dir);
  char spec[160];
  snprintf(spec, sizeof spec, "unix:%s", f->sock);
  assert_int_equal(kube_apiserver_listen(f->srv, spec, &err), 0);
  assert_int_equal(kube_apiserver_handle_path(f->srv, "/ui/", ui, NULL, &err),
                   0);
  assert_int_equal(
      kube_apiserver_handle_public_path(f->srv, "/pub/", ui, NULL, &err), 0);
  assert_int_equal(
      kube_apiserver_handle_group_version(
          f->srv, "metrics.k8s.io", "v1beta1",
          "[{\"name\":\"pods\",\"singularName\":\"\",\"namespaced\":true,"
          "\"kind\":\"PodMetrics\",\"verbs\":[\"get\",\"list\"]}]",
          metrics, NULL, &err),
      0);
  assert_int_equal(kube_apiserver_handle_subresource(f->srv, "", "pods", "exec",
                                                     exec_sub, NULL, &err),
                   0);
  assert_int_equal(kube_apiserver_handle_subresource(
                       f->srv, "", "nodes", "proxy", node_proxy, NULL, &err),
                   0);
  /* What registration refuses. */
  assert_int_equal(
      kube_apiserver_handle_path(f->srv, "/apis/x", ui, NULL, NULL), -1);
  assert_int_equal(kube_apiserver_handle_group_version(
                       f->srv, "apps", "v1", NULL, metrics, NULL, NULL),
                   -1);
}

static void fx_free(struct fx *f) {
  kube_apiserver_free(f->srv);
  for (int i = 0; i < 3; i++)
    kube_loop_iterate(f->loop, 0);
  kube_store_close(f->store);
  kube_loop_free(f->loop);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  if (system(cmd) != 0)
    fprintf(stderr, "cleanup of %s failed\n", f->dir);
}

static char *get(int fd, const char *req, const char *until) {
  static char buf[1 << 16];
  SEND(fd, req);
  read_until(fd, buf, sizeof buf, until, 5000);
  return buf;
}

static void test_network(void **state) {
  struct fx f;
  fx_init(&f);
  assert_int_equal(pthread_create(&f.th, NULL, loop_main, &f), 0);
  int fd = tcp_connect(f.port);
  /* Authentication runs before any handler. */
  char *r = get(fd, "GET /ui/x HTTP/1.1\r\n\r\n", "}");
  assert_non_null(strstr(r, "HTTP/1.1 401"));
  assert_non_null(strstr(r, "\"kind\":\"Status\""));
  r = get(fd, "GET /ui/x HTTP/1.1\r\nAuthorization: Bearer " TOKEN "\r\n\r\n",
          "path=/ui/x");
  assert_non_null(strstr(r, "ui user=admin group0=system:masters path=/ui/x"));
  /* A public path: anonymous without credentials, the user with them, and
   * a bad token is still refused. */
  r = get(fd, "GET /pub/a HTTP/1.1\r\n\r\n", "path=/pub/a");
  assert_non_null(
      strstr(r, "ui user=system:anonymous group0=system:unauthenticated"));
  r = get(fd, "GET /pub/b HTTP/1.1\r\nAuthorization: Bearer " TOKEN "\r\n\r\n",
          "path=/pub/b");
  assert_non_null(strstr(r, "ui user=admin group0=system:masters path=/pub/b"));
  r = get(fd, "GET /pub/c HTTP/1.1\r\nAuthorization: Bearer nope\r\n\r\n",
          "}");
  assert_non_null(strstr(r, "HTTP/1.1 401"));
  close(fd);
  fd = tcp_connect(f.port);
  /* Outside the public prefix nothing changed. */
  r = get(fd, "GET /pubx HTTP/1.1\r\n\r\n", "}");
  assert_non_null(strstr(r, "HTTP/1.1 401"));
  close(fd);
  fd = unix_connect(f.sock);
  r = get(fd, "GET /ui/ HTTP/1.1\r\n\r\n", "path=/ui/");
  assert_non_null(strstr(r, "ui user=system:admin"));
  /* Discovery lists the group; its resource list comes from the
   * registration; everything below goes to the handler. */
  r = get(fd, "GET /apis HTTP/1.1\r\n\r\n", "metrics.k8s.io/v1beta1");
  assert_non_null(strstr(r, "\"name\":\"metrics.k8s.io\""));
  r = get(
      fd,
      "GET /apis HTTP/1.1\r\nAccept: application/json;g=apidiscovery.k8s.io;"
      "v=v2;as=APIGroupDiscoveryList\r\n\r\n",
      "PodMetrics");
  assert_non_null(strstr(r, "APIGroupDiscoveryList"));
  assert_non_null(strstr(r, "\"kind\":\"PodMetrics\""));
  r = get(fd, "GET /apis/metrics.k8s.io HTTP/1.1\r\n\r\n", "preferredVersion");
  assert_non_null(strstr(r, "\"kind\":\"APIGroup\""));
  r = get(fd, "GET /apis/metrics.k8s.io/v1beta1 HTTP/1.1\r\n\r\n", "]}");
  assert_non_null(strstr(r, "APIResourceList"));
  assert_non_null(strstr(r, "PodMetrics"));
  r = get(fd,
          "GET /apis/metrics.k8s.io/v1beta1/namespaces/a/pods HTTP/1.1\r\n\r\n",
          "pods");
  assert_non_null(
      strstr(r, "metrics path=/apis/metrics.k8s.io/v1beta1/namespaces/a/pods"));
  /* Subresources: parsed route; node proxy with a deeper path. */
  r = get(fd,
          "GET /api/v1/namespaces/ns1/pods/p1/exec?command=ls HTTP/1.1\r\n\r\n",
          "cmd=ls");
  assert_non_null(
      strstr(r, "exec ns=ns1 name=p1 sub=exec user=system:admin cmd=ls"));
  r = get(fd, "GET /api/v1/nodes/n1/proxy/stats/summary HTTP/1.1\r\n\r\n",
          "summary");
  assert_non_null(strstr(
      r, "proxy name=n1 ns=- path=/api/v1/nodes/n1/proxy/stats/summary"));
  /* The API itself still answers on the same connection. */
  r = get(fd, "GET /api/v1/namespaces HTTP/1.1\r\n\r\n", "NamespaceList");
  assert_non_null(strstr(r, "HTTP/1.1 200"));
  close(fd);
  /* A subresource handler upgrades the connection (exec over SPDY). */
  fd = tcp_connect(f.port);
  r = get(fd,
          "POST /api/v1/namespaces/ns1/pods/p1/exec?command=sh HTTP/1.1\r\n"
          "Authorization: Bearer " TOKEN "\r\nConnection: Upgrade\r\n"
          "Upgrade: SPDY/3.1\r\nContent-Length: 0\r\n\r\n",
          "\r\n\r\n");
  assert_non_null(strstr(r, "HTTP/1.1 101"));
  r = get(fd, "stdin-bytes", "echo:stdin-bytes");
  assert_non_null(strstr(r, "echo:stdin-bytes"));
  close(fd);
  kube_loop_quit(f.loop);
  pthread_join(f.th, NULL);
  fx_free(&f);
}

struct result {
  int status;
  kube_strbuf_t body;
  bool done;
};

static void inproc_cb(int status, const char *ctype, const char *data,
                      size_t len, bool done, void *arg) {
  struct result *res = arg;
  res->status = status;
  kube_strbuf_append_len(&res->body, data, len);
  res->done = done;
}

static void test_in_process(void **state) {
  struct fx f;
  fx_init(&f);
  struct result res = {0};
  kube_apiserver_request_t rq = {
      .struct_size = sizeof rq, .method = "GET", .path = "/ui/inproc?x=1"};
  assert_non_null(kube_apiserver_request(f.srv, &rq, inproc_cb, &res, NULL));
  for (int i = 0; i < 100 && !res.done; i++)
    kube_loop_iterate(f.loop, 10);
  assert_true(res.done);
  assert_int_equal(res.status, 200);
  assert_non_null(strstr(res.body.data, "ui user=system:apiserver"));
  assert_non_null(strstr(res.body.data, "path=/ui/inproc"));
  kube_strbuf_clear(&res.body);
  /* Subresource handlers get the parsed route in-process too. */
  memset(&res, 0, sizeof res);
  rq.path = "/api/v1/namespaces/a/pods/b/exec?command=x";
  assert_non_null(kube_apiserver_request(f.srv, &rq, inproc_cb, &res, NULL));
  for (int i = 0; i < 100 && !res.done; i++)
    kube_loop_iterate(f.loop, 10);
  assert_true(res.done);
  assert_non_null(strstr(res.body.data, "exec ns=a name=b sub=exec"));
  kube_strbuf_clear(&res.body);
  fx_free(&f);
}

/* Embedders' admission functions: a mutating one changes the object
 * before it is validated and stored, a validating one denies with its own
 * Status and adds warnings; both see the operation, the old object on
 * update, the user and dry-run. */
struct adm_seen {
  int calls_mut, calls_val, updates;
  bool saw_old, dry_run;
  char user[64];
};

static int adm_mutate(const kube_apiserver_admission_attrs_t *a, void *arg,
                      kube_error_t *err) {
  struct adm_seen *s = arg;
  s->calls_mut++;
  return kube_object_set_label(a->object, "admitted-by", "test", err);
}

static int adm_validate(const kube_apiserver_admission_attrs_t *a, void *arg,
                        kube_error_t *err) {
  struct adm_seen *s = arg;
  s->calls_val++;
  if (a->operation == KUBE_ADMISSION_UPDATE) {
    s->updates++;
    s->saw_old = a->old_object != NULL;
  }
  s->dry_run = a->dry_run;
  snprintf(s->user, sizeof s->user, "%s", a->user ? a->user->name : "");
  /* The mutating phase ran first. */
  const char *l = kube_object_label(a->object, "admitted-by");
  if (!l || strcmp(l, "test") != 0)
    return kube_error_set(err, KUBE_REASON_INTERNAL, 0, "not mutated first");
  kube_apiserver_admission_warn(a, "checked by %s", "test-admission");
  if (a->name && strncmp(a->name, "denied", 6) == 0)
    return kube_error_set(err, KUBE_REASON_UNKNOWN, 0,
                          "namespaces \"%s\" is forbidden: not today", a->name);
  return 0;
}

static struct result *inproc(struct fx *f, const char *method, const char *path,
                             const char *body, struct result *res) {
  memset(res, 0, sizeof *res);
  kube_apiserver_request_t rq = {.struct_size = sizeof rq,
                                 .method = method,
                                 .path = path,
                                 .body = body,
                                 .body_len = body ? strlen(body) : 0};
  assert_non_null(kube_apiserver_request(f->srv, &rq, inproc_cb, res, NULL));
  for (int i = 0; i < 200 && !res->done; i++)
    kube_loop_iterate(f->loop, 10);
  assert_true(res->done);
  return res;
}

static void test_admission(void **state) {
  struct fx f;
  fx_init(&f);
  struct adm_seen seen = {0};
  static const char *const nss[] = {"namespaces", NULL};
  kube_error_t err = KUBE_ERROR_INIT;
  kube_apiserver_admission_t mut = {.struct_size = sizeof mut,
                                    .name = "test-mutate",
                                    .mutating = true,
                                    .resources = nss,
                                    .fn = adm_mutate,
                                    .arg = &seen};
  kube_apiserver_admission_t val = {.struct_size = sizeof val,
                                    .name = "test-validate",
                                    .resources = nss,
                                    .fn = adm_validate,
                                    .arg = &seen};
  assert_int_equal(kube_apiserver_add_admission(f.srv, &mut, &err), 0);
  assert_int_equal(kube_apiserver_add_admission(f.srv, &val, &err), 0);
  kube_apiserver_admission_t bad = {.struct_size = sizeof bad, .name = "x"};
  assert_int_equal(kube_apiserver_add_admission(f.srv, &bad, &err), -1);
  kube_error_clear(&err);
  struct result res;
  inproc(&f, "POST", "/api/v1/namespaces",
         "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
         "\"metadata\":{\"name\":\"ok\"}}",
         &res);
  assert_int_equal(res.status, 201);
  assert_non_null(strstr(res.body.data, "\"admitted-by\":\"test\""));
  assert_string_equal(seen.user, "system:apiserver");
  assert_false(seen.dry_run);
  kube_strbuf_clear(&res.body);
  inproc(&f, "POST", "/api/v1/namespaces",
         "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
         "\"metadata\":{\"name\":\"denied-1\"}}",
         &res);
  assert_int_equal(res.status, 403);
  assert_non_null(strstr(res.body.data, "\"reason\":\"Forbidden\""));
  assert_non_null(strstr(res.body.data,
                         "namespaces \\\"denied-1\\\" is forbidden: "
                         "not today"));
  kube_strbuf_clear(&res.body);
  /* Denied: nothing stored. */
  inproc(&f, "GET", "/api/v1/namespaces/denied-1", NULL, &res);
  assert_int_equal(res.status, 404);
  kube_strbuf_clear(&res.body);
  inproc(&f, "POST", "/api/v1/namespaces?dryRun=All",
         "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
         "\"metadata\":{\"name\":\"dry\"}}",
         &res);
  assert_int_equal(res.status, 201);
  assert_true(seen.dry_run);
  kube_strbuf_clear(&res.body);
  inproc(&f, "PUT", "/api/v1/namespaces/ok",
         "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
         "\"metadata\":{\"name\":\"ok\",\"labels\":{\"a\":\"b\"}}}",
         &res);
  assert_int_equal(res.status, 200);
  assert_int_equal(seen.updates, 1);
  assert_true(seen.saw_old);
  assert_non_null(strstr(res.body.data, "\"admitted-by\":\"test\""));
  kube_strbuf_clear(&res.body);
  assert_int_equal(seen.calls_mut, 4);
  assert_int_equal(seen.calls_val, 4);
  /* Other resources are not theirs. */
  inproc(&f, "POST", "/api/v1/namespaces/ok/configmaps",
         "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
         "\"metadata\":{\"name\":\"denied\"}}",
         &res);
  assert_int_equal(res.status, 201);
  assert_int_equal(seen.calls_val, 4);
  kube_strbuf_clear(&res.body);
  fx_free(&f);
}

/* pods/binding goes through admission as kube-apiserver's BindingREST:
 * a CREATE of the subresource whose object is the Binding (what a
 * mutating function adds to its annotations lands on the pod), and no
 * UPDATE of the pod. */
struct bind_seen {
  int creates, pod_updates;
  char kind[32], sub[32], name[64], target[64];
};

static int bind_mutate(const kube_apiserver_admission_attrs_t *a, void *arg,
                       kube_error_t *err) {
  (void)arg;
  return kube_object_set_annotation(a->object, "admitted-by", "binder", err);
}

static int bind_validate(const kube_apiserver_admission_attrs_t *a, void *arg,
                         kube_error_t *err) {
  struct bind_seen *s = arg;
  if (a->operation != KUBE_ADMISSION_CREATE || a->old_object)
    return kube_error_set(err, KUBE_REASON_INTERNAL, 0, "not a create");
  s->creates++;
  snprintf(s->kind, sizeof s->kind, "%s", a->kind ? a->kind : "");
  snprintf(s->sub, sizeof s->sub, "%s", a->subresource ? a->subresource : "");
  snprintf(s->name, sizeof s->name, "%s", a->name ? a->name : "");
  const char *t = kube_object_get_string(a->object, "target.name");
  snprintf(s->target, sizeof s->target, "%s", t ? t : "");
  if (t && strcmp(t, "forbidden-node") == 0)
    return kube_error_set(err, KUBE_REASON_FORBIDDEN, 0,
                          "pods \"%s\" is forbidden: not that node", a->name);
  return 0;
}

static int bind_pod_update(const kube_apiserver_admission_attrs_t *a, void *arg,
                           kube_error_t *err) {
  (void)a;
  (void)err;
  ((struct bind_seen *)arg)->pod_updates++;
  return 0;
}

/* POST pods/binding of pod bt/b to `node`. */
static struct result *post_binding(struct fx *f, const char *node,
                                   struct result *res) {
  char body[256];
  snprintf(body, sizeof body,
           "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{"
           "\"name\":\"b\"},\"target\":{\"kind\":\"Node\",\"name\":\"%s\"}}",
           node);
  return inproc(f, "POST", "/api/v1/namespaces/bt/pods/b/binding", body, res);
}

static void test_binding_admission(void **state) {
  struct fx f;
  fx_init(&f);
  struct bind_seen seen = {0};
  static const char *const binding[] = {"pods/binding", NULL};
  static const char *const pods[] = {"pods", NULL};
  kube_error_t err = KUBE_ERROR_INIT;
  kube_apiserver_admission_t adms[] = {
      {.struct_size = sizeof adms[0],
       .name = "bind-mutate",
       .mutating = true,
       .operations = KUBE_ADMISSION_CREATE | KUBE_ADMISSION_UPDATE,
       .resources = binding,
       .fn = bind_mutate},
      {.struct_size = sizeof adms[0],
       .name = "bind-validate",
       .operations = KUBE_ADMISSION_CREATE | KUBE_ADMISSION_UPDATE,
       .resources = binding,
       .fn = bind_validate,
       .arg = &seen},
      {.struct_size = sizeof adms[0],
       .name = "pod-update",
       .operations = KUBE_ADMISSION_UPDATE,
       .resources = pods,
       .fn = bind_pod_update,
       .arg = &seen},
  };
  for (size_t i = 0; i < sizeof adms / sizeof adms[0]; i++)
    assert_int_equal(kube_apiserver_add_admission(f.srv, &adms[i], &err), 0);
  struct result res;
  inproc(&f, "POST", "/api/v1/namespaces",
         "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
         "\"metadata\":{\"name\":\"bt\"}}",
         &res);
  assert_int_equal(res.status, 201);
  kube_strbuf_clear(&res.body);
  inproc(&f, "POST", "/api/v1/namespaces/bt/pods",
         "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
         "\"b\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}",
         &res);
  assert_int_equal(res.status, 201);
  kube_strbuf_clear(&res.body);
  assert_int_equal(post_binding(&f, "forbidden-node", &res)->status, 403);
  assert_non_null(strstr(res.body.data, "not that node"));
  kube_strbuf_clear(&res.body);
  assert_int_equal(post_binding(&f, "n1", &res)->status, 201);
  kube_strbuf_clear(&res.body);
  assert_int_equal(seen.creates, 2);
  assert_string_equal(seen.kind, "Binding");
  assert_string_equal(seen.sub, "binding");
  assert_string_equal(seen.name, "b");
  assert_string_equal(seen.target, "n1");
  assert_int_equal(seen.pod_updates, 0);
  inproc(&f, "GET", "/api/v1/namespaces/bt/pods/b", NULL, &res);
  assert_int_equal(res.status, 200);
  assert_non_null(strstr(res.body.data, "\"nodeName\":\"n1\""));
  assert_non_null(strstr(res.body.data, "\"admitted-by\":\"binder\""));
  kube_strbuf_clear(&res.body);
  fx_free(&f);
}

/* A client certificate signed by the configured CA authenticates its CN
 * as the user and its O values as groups; without one the bearer token
 * still works on the same listener. */
static void test_client_cert(void **state) {
  char dir[] = "/tmp/test-ext-cert-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char cert[128], key[128];
  snprintf(cert, sizeof cert, "%s/c.crt", dir);
  snprintf(key, sizeof key, "%s/c.key", dir);
  assert_int_equal(kube_apiserver_generate_cert(cert, key, NULL, NULL), 0);
  kube_loop_t *loop = kube_loop_new(NULL);
  kube_store_options_t so = {.struct_size = sizeof so, .backend = "memory"};
  kube_store_t *store = kube_store_open(loop, &so, NULL);
  kube_apiserver_options_t ao = {.struct_size = sizeof ao,
                                 .token = TOKEN,
                                 .tls_cert_file = cert,
                                 .tls_key_file = key,
                                 .tls_client_ca_file = cert,
                                 /* Authentication is under test here:
                                  * the certificate's user has no role. */
                                 .always_allow = true};
  kube_apiserver_t *srv = kube_apiserver_new(loop, store, &ao, NULL);
  assert_non_null(srv);
  assert_int_equal(kube_apiserver_listen(srv, "tcp:127.0.0.1:0", NULL), 0);
  assert_int_equal(kube_apiserver_handle_path(srv, "/ui/", ui, NULL, NULL), 0);
  struct fx f = {.loop = loop};
  assert_int_equal(pthread_create(&f.th, NULL, loop_main, &f), 0);
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  assert_int_equal(SSL_CTX_load_verify_locations(ctx, cert, NULL), 1);
  char buf[4096];
  for (int with_cert = 1; with_cert >= 0; with_cert--) {
    if (with_cert) {
      assert_int_equal(SSL_CTX_use_certificate_chain_file(ctx, cert), 1);
      assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM),
                       1);
    }
    SSL_CTX *use = with_cert ? ctx : SSL_CTX_new(TLS_client_method());
    int fd = tcp_connect(kube_apiserver_port(srv));
    SSL *ssl = SSL_new(use);
    SSL_set_fd(ssl, fd);
    assert_int_equal(SSL_connect(ssl), 1);
    const char *req = with_cert
                          ? "GET /ui/c HTTP/1.1\r\n\r\n"
                          : "GET /ui/c HTTP/1.1\r\nAuthorization: Bearer " TOKEN
                            "\r\n\r\n";
    assert_true(SSL_write(ssl, req, (int)strlen(req)) > 0);
    size_t len = 0;
    buf[0] = '\0';
    while (len < sizeof buf - 1 && !strstr(buf, "path=/ui/c")) {
      int n = SSL_read(ssl, buf + len, (int)(sizeof buf - 1 - len));
      if (n <= 0)
        break;
      len += (size_t)n;
      buf[len] = '\0';
    }
    assert_non_null(strstr(buf, with_cert ? "ui user=kubed group0=libkube"
                                          : "ui user=admin"));
    SSL_free(ssl);
    close(fd);
    if (!with_cert)
      SSL_CTX_free(use);
  }
  SSL_CTX_free(ctx);
  kube_loop_quit(loop);
  pthread_join(f.th, NULL);
  kube_apiserver_free(srv);
  for (int i = 0; i < 3; i++)
    kube_loop_iterate(loop, 0);
  kube_store_close(store);
  kube_loop_free(loop);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "cleanup of %s failed\n", dir);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_network),
      cmocka_unit_test(test_in_process),
      cmocka_unit_test(test_admission),
      cmocka_unit_test(test_binding_admission),
      cmocka_unit_test(test_client_cert),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
